/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "castellan-host.h"
#include "castellan-session.h"

G_BEGIN_DECLS

#define CASTELLAN_TYPE_CONSOLE (castellan_console_get_type ())

G_DECLARE_FINAL_TYPE (CastellanConsole, castellan_console, CASTELLAN, CONSOLE, GtkWidget)

/* A tab: a remote interpreter on one host, its output in a terminal, a
 * line editor with history below, and the connection's security always
 * in sight. Signals: ::security-changed, ::failed (GError*),
 * ::line-entered (char*), ::broadcast-changed. */
CastellanConsole *castellan_console_new            (CastellanHost                 *host,
                                                    const CastellanConnectOptions *options,
                                                    CastellanInterpreter           interpreter);
CastellanHost    *castellan_console_get_host       (CastellanConsole *self);
gboolean          castellan_console_is_connecting  (CastellanConsole *self);
const CastellanVerdict *castellan_console_get_verdict (CastellanConsole *self);
char             *castellan_console_dup_title      (CastellanConsole *self);
void              castellan_console_connect        (CastellanConsole *self);
void              castellan_console_send_line      (CastellanConsole *self,
                                                    const char       *line);
gboolean          castellan_console_get_broadcast  (CastellanConsole *self);
void              castellan_console_set_broadcast_active (CastellanConsole *self,
                                                          gboolean          active);
void              castellan_console_focus_input    (CastellanConsole *self);
void              castellan_console_find           (CastellanConsole *self);
void              castellan_console_save_transcript (CastellanConsole *self);
void              castellan_console_close          (CastellanConsole *self);
void              castellan_console_copy           (CastellanConsole *self);
void              castellan_console_bind_settings  (CastellanConsole *self,
                                                    GSettings        *settings);
void              castellan_console_note_downgrade (CastellanConsole *self,
                                                    const char       *message);
void              castellan_console_set_held       (CastellanConsole *self,
                                                    gboolean          held);
gboolean          castellan_console_is_held        (CastellanConsole *self);
void              castellan_console_trusted_entry_removed (CastellanConsole *self);
gboolean          castellan_console_is_downgraded  (CastellanConsole *self);
const char       *castellan_console_get_failure    (CastellanConsole *self);
gboolean          castellan_console_is_open        (CastellanConsole *self);
gboolean          castellan_console_is_busy        (CastellanConsole *self);

G_END_DECLS
