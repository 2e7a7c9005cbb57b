/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "castellan-console.h"
#include "castellan-host-editor.h"
#include "castellan-window.h"

G_BEGIN_DECLS

struct _CastellanWindow
{
  AdwApplicationWindow parent_instance;

  /* Template widgets */
  AdwToastOverlay *toasts;
  GtkSearchEntry *search_entry;
  GtkStack *sidebar_stack;
  GtkListView *host_list;
  GtkEntry *quick_connect;
  GtkToggleButton *broadcast_button;
  GtkMenuButton *ticket_button;
  AdwTabView *tab_view;
  GtkStack *main_stack;

  /* Owned references */
  GtkMultiSelection *selection;
  GtkCustomFilter *filter;
  char *search;
  guint ticket_timer;

  /* Borrowed */
  CastellanApplication *app;
};

/* castellan-window-tools.c: the menu's tools (CSV, TrustedHosts, the
 * Kerberos ticket). */
void castellan_window_class_init_extras (GtkWidgetClass  *widget_class);
void castellan_window_setup_extras      (CastellanWindow *self);
void castellan_window_teardown_extras   (CastellanWindow *self);

/* castellan-window.c */
GPtrArray               *castellan_window_selected_hosts (CastellanWindow *self);
CastellanConnectOptions *castellan_window_options_for    (CastellanWindow *self,
                                                          CastellanHost   *host);
CastellanConsole        *castellan_window_start_console  (CastellanWindow               *self,
                                                          CastellanHost                 *host,
                                                          const CastellanConnectOptions *options);
CastellanHostEditor     *castellan_window_edit_host      (CastellanWindow *self,
                                                          CastellanHost   *host,
                                                          gboolean         is_new);

/* castellan-connect-flow.c */
void                     castellan_window_note_problem   (CastellanWindow *self,
                                                          CastellanHost   *host,
                                                          const GError    *error);

G_END_DECLS
