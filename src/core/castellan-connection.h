/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "castellan-connect-options.h"
#include "castellan-verdict.h"
#include "castellan-wsman-reply.h"

G_BEGIN_DECLS

/* What may be done with a request whose reply was lost. */
typedef enum
{
  CASTELLAN_REQUEST_NONE = 0,
  /* It may run twice without harm (Receive, Get, Delete): sent again on a
   * new connection when its reply is lost. */
  CASTELLAN_REQUEST_RESENDABLE = 1 << 0,
  /* Its reply carries output the host gives once (a PowerShell Receive):
   * once a reply has begun, a lost one is not asked for again, and the
   * error says so; with no reply at all it goes out again. */
  CASTELLAN_REQUEST_OUTPUT = 1 << 1,
} CastellanRequestFlags;

#define CASTELLAN_TYPE_CONNECTION (castellan_connection_get_type ())

G_DECLARE_FINAL_TYPE (CastellanConnection, castellan_connection, CASTELLAN, CONNECTION, GObject)

CastellanConnection    *castellan_connection_new            (const CastellanConnectOptions *options);
const CastellanConnectOptions *castellan_connection_get_options (CastellanConnection   *self);
void                    castellan_connection_open_async     (CastellanConnection   *self,
                                                             GCancellable          *cancellable,
                                                             GAsyncReadyCallback    callback,
                                                             gpointer               user_data);
gboolean                castellan_connection_open_finish    (CastellanConnection   *self,
                                                             GAsyncResult          *result,
                                                             GError               **error);
void                    castellan_connection_request_async  (CastellanConnection   *self,
                                                             GBytes                *envelope,
                                                             CastellanRequestFlags  flags,
                                                             guint                  timeout_seconds,
                                                             CastellanStreamFunc    on_stream,
                                                             gpointer               stream_data,
                                                             GCancellable          *cancellable,
                                                             GAsyncReadyCallback    callback,
                                                             gpointer               user_data);
/* Given the plaintext of a reply before it is parsed: the request to send
 * next, at once, or NULL. Called first with NULL plaintext as soon as a
 * reply has arrived, before it is decrypted: a request returned then goes
 * out while this reply is opened (and the call with the plaintext is not
 * made). */
typedef GBytes *(*CastellanFollowUp) (const guint8 *plaintext,
                                      gsize         length,
                                      gpointer      user_data);

void                    castellan_connection_request_follow_async (CastellanConnection *self,
                                                             GBytes                *envelope,
                                                             CastellanRequestFlags  flags,
                                                             guint                  timeout_seconds,
                                                             CastellanStreamFunc    on_stream,
                                                             gpointer               stream_data,
                                                             CastellanFollowUp      follow_up,
                                                             GCancellable          *cancellable,
                                                             GAsyncReadyCallback    callback,
                                                             gpointer               user_data);
void                    castellan_connection_hold        (CastellanConnection   *self);
void                    castellan_connection_release     (CastellanConnection   *self);
CastellanWsmanReply    *castellan_connection_request_finish (CastellanConnection   *self,
                                                             GAsyncResult          *result,
                                                             GError               **error);
const CastellanVerdict *castellan_connection_get_verdict    (CastellanConnection   *self);
guint                   castellan_connection_get_max_envelope (CastellanConnection *self);
void                    castellan_connection_set_max_envelope (CastellanConnection *self,
                                                               guint                bytes);
const char             *castellan_connection_get_url        (CastellanConnection   *self);
guint                   castellan_connection_get_auth_count (CastellanConnection   *self);

G_END_DECLS
