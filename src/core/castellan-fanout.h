/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "castellan-oneshot.h"

G_BEGIN_DECLS

#define CASTELLAN_DEFAULT_THROTTLE 32

typedef void (*CastellanFanoutOutput)   (guint             index,
                                         CastellanStream   stream,
                                         const guint8     *data,
                                         gsize             length,
                                         gpointer          user_data);
typedef void (*CastellanFanoutHostDone) (guint             index,
                                         CastellanOneshot *oneshot,
                                         int               exit_code,
                                         const GError     *error,
                                         gpointer          user_data);

void     castellan_fanout_run_async  (GPtrArray               *oneshots,
                                      guint                    throttle,
                                      CastellanFanoutOutput    on_output,
                                      CastellanFanoutHostDone  on_host_done,
                                      gpointer                 user_data,
                                      GCancellable            *cancellable,
                                      GAsyncReadyCallback      callback,
                                      gpointer                 callback_data);
gboolean castellan_fanout_run_finish (GAsyncResult            *result,
                                      GError                 **error);

G_END_DECLS
