/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <libsoup/soup.h>

#include "castellan-endpoint.h"

G_BEGIN_DECLS

/* What is known of one TCP connection libsoup opened: every verdict is
 * about the connection that carries the traffic. */
typedef struct
{
  guint64 id;                     /* libsoup's connection id */
  GTlsCertificate *certificate;   /* HTTPS: the server's */
  GTlsProtocolVersion tls_version;
  char *tls_cipher_suite;
  GBytes *channel_binding;        /* RFC 5929 tls-server-end-point */
} CastellanLink;

CastellanLink *castellan_link_copy (const CastellanLink *link);
void           castellan_link_free (CastellanLink       *link);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CastellanLink, castellan_link_free)

/* Called when libsoup has opened a new connection for a message, before
 * the request is written on it: FALSE (with @error set) and the request
 * is not sent. */
typedef gboolean (*CastellanAdmitFunc) (const CastellanLink  *link,
                                        gpointer              user_data,
                                        GError              **error);

/* One spare reply buffer, to read the next reply into: a stream of
 * Receive replies reuses one allocation. */
typedef struct _CastellanBufferShelf CastellanBufferShelf;

CastellanBufferShelf *castellan_buffer_shelf_new   (void);
CastellanBufferShelf *castellan_buffer_shelf_ref   (CastellanBufferShelf *shelf);
void                  castellan_buffer_shelf_unref (CastellanBufferShelf *shelf);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CastellanBufferShelf, castellan_buffer_shelf_unref)

typedef struct
{
  const CastellanEndpoint *endpoint;  /* for the messages */
  const char *pinned_sha256;
  guint timeout_seconds;
  gsize body_limit;
  gboolean reconnecting;              /* a connection of the session was lost before */
  CastellanBufferShelf *shelf;        /* nullable */
  CastellanAdmitFunc admit;           /* nullable: every new connection admitted */
  gpointer admit_data;
} CastellanExchangeOptions;

typedef struct
{
  guint status;
  char *reason;
  char *content_type;
  char *date;
  char *www_authenticate;             /* the challenges, joined */
  GBytes *body;
  guint64 connection_id;
  gboolean new_connection;            /* opened for this request */
} CastellanExchangeReply;

void                   castellan_exchange_reply_free (CastellanExchangeReply *reply);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CastellanExchangeReply, castellan_exchange_reply_free)

void                   castellan_exchange_offer_http1_only (SoupMessage *msg);

void                   castellan_exchange_send_async  (SoupSession                    *session,
                                                       SoupMessage                    *msg,
                                                       const CastellanExchangeOptions *options,
                                                       GCancellable                   *cancellable,
                                                       GAsyncReadyCallback             callback,
                                                       gpointer                        user_data);
CastellanExchangeReply *castellan_exchange_send_finish (GAsyncResult                  *result,
                                                        gboolean                      *sent,
                                                        gboolean                      *answered,
                                                        GError                       **error);

G_END_DECLS
