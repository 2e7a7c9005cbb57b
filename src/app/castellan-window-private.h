/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "castellan-banner.h"
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
  GtkImage *ticket_icon;
  GtkLabel *ticket_label;
  AdwTabView *tab_view;
  GtkStack *main_stack;
  AdwLeaflet *leaflet;
  AdwHeaderBar *sidebar_header;
  GtkActionBar *action_bar;
  GtkBox *content_box;
  AdwHeaderBar *content_header;
  GtkButton *back_button;
  CastellanBanner *broadcast_banner;
  CastellanBanner *trust_banner;
  AdwTabBar *tab_bar;
  AdwStatusPage *empty_page;
  GtkWidget *empty_add_button;
  GtkWidget *list_menu;

  /* Owned references */
  GtkMultiSelection *selection;
  GtkCustomFilter *filter;
  char *search;
  guint ticket_timer;
  GFileMonitor *trust_monitor;
  gboolean close_confirmed;
  GtkWidget *split_view;   /* AdwNavigationSplitView where the library has it */
  GtkWidget *old_layout;   /* the template's leaflet, kept until dispose */

  /* Borrowed */
  CastellanApplication *app;
};

/* castellan-window-tools.c: the menu's tools (CSV, TrustedHosts, the
 * Kerberos ticket). */
void castellan_window_class_init_extras (GtkWidgetClass  *widget_class);
void castellan_window_setup_extras      (CastellanWindow *self);
void castellan_window_teardown_extras   (CastellanWindow *self);

/* castellan-window-chrome.c: the window's frame: the layout that folds
 * for narrow windows, the banners, the host list's keyboard and action
 * bar, and the questions before closing what is still running. */
void castellan_window_chrome_class_init   (GtkWidgetClass  *widget_class);
void castellan_window_chrome_setup        (CastellanWindow *self);
void castellan_window_chrome_teardown     (CastellanWindow *self);
void castellan_window_update_broadcast    (CastellanWindow *self);
void castellan_window_update_empty        (CastellanWindow *self);
void castellan_window_update_tab          (CastellanWindow  *self,
                                           CastellanConsole *console);
void castellan_window_show_content        (CastellanWindow *self);
gboolean castellan_window_is_narrow       (CastellanWindow *self);
void castellan_window_close_page          (CastellanWindow *self,
                                           AdwTabPage      *page);

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
