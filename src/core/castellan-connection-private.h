/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <libsoup/soup.h>

#include "castellan-connection.h"
#include "castellan-exchange.h"
#include "castellan-gss.h"
#include "castellan-policy.h"

G_BEGIN_DECLS

/* Shared by castellan-connection.c (the object, requests, the verdict)
 * and castellan-connection-auth.c (the 401 exchange that authenticates a
 * TCP connection). HTTP exchanges themselves are castellan-exchange.c's. */

#define SOAP_CONTENT_TYPE "application/soap+xml;charset=UTF-8"

/* One authenticated WinRM session with one host. The security context
 * belongs to one TCP connection, so the libsoup session keeps exactly one;
 * a connection libsoup opens later is authenticated afresh, and its
 * verdict may not be weaker. */
struct _CastellanConnection
{
  GObject parent_instance;

  CastellanConnectOptions *options;
  char *url;
  SoupSession *session;
  CastellanPolicyDecision decision;
  CastellanBufferShelf *shelf;

  /* The security context and the connection it belongs to */
  CastellanGss *gss;
  char *basic_header;             /* "Basic …", wiped on dispose */
  GHashTable *links;              /* connection id → CastellanLink, as opened */
  const CastellanLink *link;      /* the authenticated connection, in links */
  gboolean authenticated;
  gboolean authenticating;
  guint auth_count;

  CastellanVerdict *verdict;
  guint max_envelope;

  /* Requests */
  GQueue pending;                 /* GTask: requests waiting their turn */
  guint in_flight;                /* handed to libsoup, reply not yet in */
  guint held;                     /* castellan_connection_hold() */
  guint held_queued;              /* requests queued while held */
  GTask *deferred_task;           /* a reply to handle, its follow-up sent */
  CastellanExchangeReply *deferred_reply; /* still to open */
  GBytes *deferred_plain;         /* opened, to parse */
  guint deferred_idle;
};

void
castellan_connection_wipe (char **str);

SoupMessage *
castellan_connection_new_message (CastellanConnection *self,
                                  GBytes              *body,
                                  const char          *content_type,
                                  const char          *authorization);

void
castellan_connection_exchange_options (CastellanConnection      *self,
                                       guint                     timeout_seconds,
                                       CastellanExchangeOptions *options);

const CastellanLink *
castellan_connection_note_link (CastellanConnection *self,
                                const CastellanLink *link);

CastellanVerdict *
castellan_connection_compute_verdict (CastellanConnection  *self,
                                      const CastellanLink  *link,
                                      GError              **error);

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
