/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <libsoup/soup.h>

#include "castellan-connection.h"
#include "castellan-gss.h"
#include "castellan-http1.h"
#include "castellan-policy.h"

G_BEGIN_DECLS

/* Shared by the parts of CastellanConnection: castellan-connection.c (the
 * object, opening, requests), -exchange.c (one HTTP exchange through
 * libsoup, bounded in time), -direct.c (the same on the authenticated
 * connection itself) and -auth.c (the 401 exchange). */

#define SOAP_CONTENT_TYPE "application/soap+xml;charset=UTF-8"

/* One authenticated WinRM session with one host. The GSS context belongs
 * to one TCP connection, so the libsoup session keeps exactly one, and
 * requests go one at a time; a lost connection is authenticated anew. */
struct _CastellanConnection
{
  GObject parent_instance;

  CastellanConnectOptions *options;
  char *url;
  SoupSession *session;
  CastellanPolicyDecision decision;

  CastellanGss *gss;
  char *basic_header;             /* "Basic …", wiped on dispose */
  guint64 auth_connection_id;     /* the TCP connection the context is bound to */
  gboolean authenticated;
  guint auth_count;

  GTlsCertificate *peer_certificate;
  GTlsCertificateFlags tls_errors;
  GTlsProtocolVersion tls_version;
  char *tls_cipher_suite;

  CastellanVerdict *verdict;
  guint max_envelope;

  GQueue pending;                 /* GTask: requests waiting their turn */
  gboolean busy;
  guint held;                     /* castellan_connection_hold() */
  guint held_queued;              /* requests queued while held */

  GIOStream *lane;                /* the connection libsoup opened last */
  guint64 lane_connection_id;
  gboolean lane_proxied;
  gboolean lane_settled;          /* libsoup is done with its last message */
  GByteArray *lane_buffer;        /* requests written, reply heads read */
  char *host_header;              /* "host:port" */
  GSource *lane_watch;            /* the lane's socket, while it lives */
  GTask *lane_waiting;            /* the exchange waiting for its reply */
  GByteArray *lane_carry;         /* read past the last reply: the next one's */
  guint lane_unread;              /* replies written for and not yet read */

  GByteArray *spare_body;         /* a reply buffer to read into again */
  GTask *deferred_task;           /* a reply to parse, its follow-up sent */
  GBytes *deferred_plain;
  guint deferred_idle;
};

/* One HTTP exchange, through libsoup or on the direct lane. */
typedef struct
{
  CastellanConnection *self;
  SoupMessage *msg;               /* NULL on the direct lane */
  GCancellable *cancellable;      /* ours: cancelled on timeout or by the caller */
  GCancellable *caller;
  gulong caller_handler;
  GSource *timeout;
  gboolean timed_out;
  guint timeout_seconds;
  GInputStream *stream;           /* the reply body, read into body */
  GByteArray *body;
  gsize body_length;
  gsize body_limit;
  CastellanHttp1Head head;

  /* The direct lane */
  GIOStream *lane;
  GByteArray *buffer;             /* the request, then the reply head */
  gsize done;                     /* bytes written, or read into buffer */
  gboolean answered;              /* a byte of the reply has come */
  gboolean stale;                 /* the connection was closed before that */
  gboolean wipe;                  /* the request carries a password */
  gulong cancel_handler;
  CastellanHttp1Chunks chunks;
  gsize raw;                      /* chunked: undecoded bytes after body_length */
} CastellanExchange;

void
castellan_connection_wipe (char **str);

GTask *
castellan_connection_exchange_new (CastellanConnection *self,
                                   guint                timeout_seconds,
                                   GCancellable        *caller,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data);

void
castellan_connection_exchange_return (GTask  *task,
                                      GBytes *body,
                                      GError *error);

void
castellan_connection_exchange_take_body (CastellanExchange *ex,
                                         gsize              expected);

void
castellan_connection_exchange_body_complete (GTask *task);

gboolean
castellan_connection_exchange_over_limit (GTask *task);

gboolean
castellan_connection_direct_usable (CastellanConnection *self);

void
castellan_connection_direct_close (CastellanConnection *self);

void
castellan_connection_direct_unwatch (CastellanConnection *self);

void
castellan_connection_direct_exchange_async (CastellanConnection *self,
                                            GBytes              *body,
                                            GBytes              *then,
                                            const char          *content_type,
                                            const char          *authorization,
                                            guint                timeout_seconds,
                                            GCancellable        *caller,
                                            GAsyncReadyCallback  callback,
                                            gpointer             user_data);

void
castellan_connection_direct_read_async (CastellanConnection *self,
                                        guint                timeout_seconds,
                                        GCancellable        *caller,
                                        GAsyncReadyCallback  callback,
                                        gpointer             user_data);

gboolean
castellan_connection_exchange_was_stale (GAsyncResult *result);

void
castellan_connection_exchange_async (CastellanConnection *self,
                                     SoupMessage         *msg,
                                     guint                timeout_seconds,
                                     GCancellable        *caller,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data);

GBytes *
castellan_connection_exchange_finish (CastellanConnection  *self,
                                      GAsyncResult         *result,
                                      SoupMessage         **msg,
                                      CastellanHttp1Head   *head,
                                      GError              **error);

SoupMessage *
castellan_connection_new_message (CastellanConnection *self,
                                  GBytes              *body,
                                  const char          *content_type,
                                  const char          *authorization);

void
castellan_connection_authenticate_async (CastellanConnection *self,
                                         GCancellable        *cancellable,
                                         GAsyncReadyCallback  callback,
                                         gpointer             user_data);

gboolean
castellan_connection_authenticate_finish (CastellanConnection  *self,
                                          GAsyncResult         *result,
                                          GError              **error);

G_END_DECLS
