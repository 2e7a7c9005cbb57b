/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "castellan-connection.h"

G_BEGIN_DECLS

#define CASTELLAN_TYPE_LANE (castellan_lane_get_type ())

G_DECLARE_FINAL_TYPE (CastellanLane, castellan_lane, CASTELLAN, LANE, GObject)

/* Requests that must not wait behind a long-polling Receive (input,
 * answers to prompts, signals) go on a second connection to the same
 * host, authenticated on its own and refused when it is less protected
 * than the first: the control lane. It is opened when first needed. */
CastellanLane       *castellan_lane_new            (CastellanConnection  *first);
/* @first_is_free: the first connection has nothing outstanding, so the
 * request may go there instead. */
void                 castellan_lane_request_async  (CastellanLane        *self,
                                                    gboolean              first_is_free,
                                                    GBytes               *envelope,
                                                    CastellanRequestFlags flags,
                                                    CastellanStreamFunc   on_stream,
                                                    gpointer              stream_data,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
CastellanWsmanReply *castellan_lane_request_finish (CastellanLane        *self,
                                                    GAsyncResult         *result,
                                                    GError              **error);
void                 castellan_lane_delete_async   (CastellanLane        *self,
                                                    GBytes               *envelope,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
gboolean             castellan_lane_delete_finish  (CastellanLane        *self,
                                                    GAsyncResult         *result,
                                                    GError              **error);
/* The session is over: the second connection is let go, and requests
 * waiting for it fail. */
void                 castellan_lane_close          (CastellanLane        *self);

G_END_DECLS
