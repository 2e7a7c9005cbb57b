/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <libsoup/soup.h>

#include "castellan-connection.h"
#include "castellan-gss.h"
#include "castellan-policy.h"

G_BEGIN_DECLS

/* Shared by the parts of CastellanConnection: castellan-connection.c (the
 * object, opening, requests), -exchange.c (one HTTP exchange, bounded in
 * time) and -auth.c (the 401 exchange). */

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

  GByteArray *spare_body;         /* a reply buffer to read into again */
  GTask *deferred_task;           /* a reply to parse, its follow-up sent */
  GBytes *deferred_plain;
  guint deferred_idle;
};

void
castellan_connection_wipe (char **str);

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
