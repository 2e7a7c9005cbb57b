/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "castellan-connection.h"
#include "castellan-soap.h"
#include "castellan-wsman-reply.h"

G_BEGIN_DECLS

#define CASTELLAN_TYPE_SHELL (castellan_shell_get_type ())

G_DECLARE_FINAL_TYPE (CastellanShell, castellan_shell, CASTELLAN, SHELL, GObject)

typedef void (*CastellanCommandStarted) (const char *command_id,
                                         gpointer    user_data);

CastellanShell *castellan_shell_new             (CastellanConnection          *connection,
                                                 const CastellanShellOptions  *options);
CastellanConnection *castellan_shell_get_connection (CastellanShell           *self);
const char     *castellan_shell_get_id          (CastellanShell               *self);
void            castellan_shell_set_interactive (CastellanShell               *self,
                                                 gboolean                      interactive);
void            castellan_shell_set_paused      (CastellanShell               *self,
                                                 gboolean                      paused);

void            castellan_shell_create_async    (CastellanShell               *self,
                                                 gboolean                      read_max_envelope,
                                                 GCancellable                 *cancellable,
                                                 GAsyncReadyCallback           callback,
                                                 gpointer                      user_data);
gboolean        castellan_shell_create_finish   (CastellanShell               *self,
                                                 GAsyncResult                 *result,
                                                 GError                      **error);

void            castellan_shell_run_async       (CastellanShell               *self,
                                                 const char                   *command,
                                                 const char *const            *arguments,
                                                 CastellanCommandStarted       on_started,
                                                 CastellanStreamFunc           on_stream,
                                                 gpointer                      stream_data,
                                                 GCancellable                 *cancellable,
                                                 GAsyncReadyCallback           callback,
                                                 gpointer                      user_data);
gboolean        castellan_shell_run_finish      (CastellanShell               *self,
                                                 GAsyncResult                 *result,
                                                 int                          *exit_code,
                                                 GError                      **error);

void            castellan_shell_send_async      (CastellanShell               *self,
                                                 const char                   *command_id,
                                                 GBytes                       *data,
                                                 gboolean                      end,
                                                 GCancellable                 *cancellable,
                                                 GAsyncReadyCallback           callback,
                                                 gpointer                      user_data);
gboolean        castellan_shell_send_finish     (CastellanShell               *self,
                                                 GAsyncResult                 *result,
                                                 GError                      **error);
gsize           castellan_shell_send_capacity   (CastellanShell               *self);

void            castellan_shell_signal_async    (CastellanShell               *self,
                                                 const char                   *command_id,
                                                 const char                   *code,
                                                 GCancellable                 *cancellable,
                                                 GAsyncReadyCallback           callback,
                                                 gpointer                      user_data);
gboolean        castellan_shell_signal_finish   (CastellanShell               *self,
                                                 GAsyncResult                 *result,
                                                 GError                      **error);

void            castellan_shell_close_async     (CastellanShell               *self,
                                                 GCancellable                 *cancellable,
                                                 GAsyncReadyCallback           callback,
                                                 gpointer                      user_data);
gboolean        castellan_shell_close_finish    (CastellanShell               *self,
                                                 GAsyncResult                 *result,
                                                 GError                      **error);

G_END_DECLS
