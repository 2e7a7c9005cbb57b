/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "castellan-connect-options.h"
#include "castellan-shell.h"

G_BEGIN_DECLS

/* One command on one host, start to finish: connect, open a shell, run,
 * close the shell. What the command-line tool and the fan-out use. */
typedef struct _CastellanOneshot CastellanOneshot;

typedef void (*CastellanOneshotStarted) (CastellanOneshot *oneshot,
                                         const char       *command_id,
                                         gpointer          user_data);

CastellanOneshot       *castellan_oneshot_new         (const CastellanConnectOptions *options,
                                                       const CastellanShellOptions   *shell_options,
                                                       const char                    *command,
                                                       const char *const             *arguments);
void                    castellan_oneshot_free        (CastellanOneshot        *self);
void                    castellan_oneshot_set_handlers (CastellanOneshot       *self,
                                                        CastellanOneshotStarted on_started,
                                                        CastellanStreamFunc     on_stream,
                                                        gpointer                user_data);
void                    castellan_oneshot_run_async   (CastellanOneshot        *self,
                                                       GCancellable            *cancellable,
                                                       GAsyncReadyCallback      callback,
                                                       gpointer                 user_data);
gboolean                castellan_oneshot_run_finish  (CastellanOneshot        *self,
                                                       GAsyncResult            *result,
                                                       int                     *exit_code,
                                                       GError                 **error);
CastellanShell         *castellan_oneshot_get_shell   (CastellanOneshot        *self);
const CastellanVerdict *castellan_oneshot_get_verdict (CastellanOneshot        *self);
const char             *castellan_oneshot_get_host    (CastellanOneshot        *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CastellanOneshot, castellan_oneshot_free)

G_END_DECLS
