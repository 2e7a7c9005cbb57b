/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <libsoup/soup.h>
#include <string.h>

#include "castellan-connection-private.h"
#include "castellan-error.h"
#include "castellan-gss.h"
#include "castellan-pin-database.h"
#include "castellan-policy.h"
#include "castellan-sealing.h"
#include "castellan-soap.h"
#include "castellan-tls.h"
#include "castellan-trust-database.h"

/* How often one request may go out again on a new connection, when that
 * is safe (see request_failed()). */
#define MAX_ATTEMPTS 3

G_DEFINE_FINAL_TYPE (CastellanConnection, castellan_connection, G_TYPE_OBJECT)

static void run_next_request (CastellanConnection *self);

void
castellan_connection_wipe (char **str)
{
  if (*str != NULL)
    explicit_bzero (*str, strlen (*str));
  g_clear_pointer (str, g_free);
}

static void
castellan_connection_dispose (GObject *object)
{
  CastellanConnection *self = CASTELLAN_CONNECTION (object);

  if (self->session != NULL)
    soup_session_abort (self->session);
  g_clear_object (&self->session);
  G_OBJECT_CLASS (castellan_connection_parent_class)->dispose (object);
}

static void
castellan_connection_finalize (GObject *object)
{
  CastellanConnection *self = CASTELLAN_CONNECTION (object);

  g_assert (g_queue_is_empty (&self->pending));
  castellan_connection_wipe (&self->basic_header);
  g_clear_pointer (&self->gss, castellan_gss_free);
  castellan_policy_decision_clear (&self->decision);
  castellan_connect_options_free (self->options);
  castellan_verdict_free (self->verdict);
  g_hash_table_unref (self->links);
  castellan_buffer_shelf_unref (self->shelf);
  g_free (self->url);
  G_OBJECT_CLASS (castellan_connection_parent_class)->finalize (object);
}

static void
castellan_connection_class_init (CastellanConnectionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = castellan_connection_dispose;
  object_class->finalize = castellan_connection_finalize;
}

static void
castellan_connection_init (CastellanConnection *self)
{
  g_queue_init (&self->pending);
  self->max_envelope = CASTELLAN_DEFAULT_MAX_ENVELOPE;
  self->links = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL,
                                       (GDestroyNotify) castellan_link_free);
  self->shelf = castellan_buffer_shelf_new ();
}

CastellanConnection *
castellan_connection_new (const CastellanConnectOptions *options)
{
  CastellanConnection *self;

  g_return_val_if_fail (options != NULL && options->endpoint != NULL, NULL);

  self = g_object_new (CASTELLAN_TYPE_CONNECTION, NULL);
  self->options = castellan_connect_options_copy (options);
  self->url = castellan_endpoint_to_url (options->endpoint);
  self->session = soup_session_new_with_options ("max-conns", 1,
                                                 "max-conns-per-host", 1,
                                                 "timeout", 0,
                                                 "idle-timeout", 0,
                                                 "user-agent", "Castellan/" PACKAGE_VERSION,
                                                 NULL);
  /* The 401 exchange is ours: libsoup must neither answer it nor decode
   * anything behind our back. */
  soup_session_remove_feature_by_type (self->session, SOUP_TYPE_AUTH_MANAGER);
  soup_session_remove_feature_by_type (self->session, SOUP_TYPE_CONTENT_DECODER);
  /* No proxy unless the user chose one, as the Windows client does: the
   * security context belongs to a TCP connection to the host. */
  if (options->proxy != NULL)
    {
      g_autoptr(GProxyResolver) resolver = g_simple_proxy_resolver_new (options->proxy, NULL);

      soup_session_set_proxy_resolver (self->session, resolver);
    }
  else
    {
      soup_session_set_proxy_resolver (self->session, NULL);
    }
  /* A pinned certificate is the only one trusted, on every connection. */
  if (options->pinned_sha256 != NULL)
    {
      g_autoptr(GTlsDatabase) pins = castellan_pin_database_new (options->pinned_sha256);

      soup_session_set_tls_database (self->session, pins);
    }
  else if (options->tls_database != NULL)
    {
      soup_session_set_tls_database (self->session, options->tls_database);
    }
  else if (options->endpoint->https)
    {
      /* The process's one copy of the system's anchors, read when the
       * first HTTPS connection needs it, rather than once per connection
       * (see castellan-trust-database.c). */
      soup_session_set_tls_database (self->session, castellan_trust_database_get_default ());
    }
  return self;
}

const CastellanConnectOptions *
castellan_connection_get_options (CastellanConnection *self)
{
  return self->options;
}

const CastellanVerdict *
castellan_connection_get_verdict (CastellanConnection *self)
{
  g_return_val_if_fail (CASTELLAN_IS_CONNECTION (self), NULL);
  return self->verdict;
}

guint
castellan_connection_get_max_envelope (CastellanConnection *self)
{
  return self->max_envelope;
}

void
castellan_connection_set_max_envelope (CastellanConnection *self,
                                       guint                bytes)
{
  self->max_envelope = CLAMP (bytes, 8192, 16 * 1024 * 1024);
}

const char *
castellan_connection_get_url (CastellanConnection *self)
{
  return self->url;
}

/* How often this connection had to authenticate: once, plus once per
 * TCP connection the host (or the network) dropped. */
guint
castellan_connection_get_auth_count (CastellanConnection *self)
{
  return self->auth_count;
}

/* ---- HTTP ---------------------------------------------------------------- */

SoupMessage *
castellan_connection_new_message (CastellanConnection *self,
                                  GBytes              *body,
                                  const char          *content_type,
                                  const char          *authorization)
{
  /* The endpoint's own parsed URL: what was checked is what is sent. */
  SoupMessage *msg = soup_message_new_from_uri ("POST", self->options->endpoint->uri);
  SoupMessageHeaders *headers = soup_message_get_request_headers (msg);

  soup_message_set_request_body_from_bytes (msg, content_type, body);
  /* libsoup opens a new connection for every POST unless told it may
   * reuse one; the security context lives on the connection. libsoup never
   * sends a POST twice by itself (it resends only idempotent methods). */
  soup_message_add_flags (msg, SOUP_MESSAGE_IDEMPOTENT);
  if (authorization != NULL)
    soup_message_headers_replace (headers, "Authorization", authorization);
  soup_message_headers_replace (headers, "Connection", "Keep-Alive");
  return msg;
}

void
castellan_connection_exchange_options (CastellanConnection      *self,
                                       guint                     timeout_seconds,
                                       CastellanExchangeOptions *options)
{
  memset (options, 0, sizeof *options);
  options->endpoint = self->options->endpoint;
  options->pinned_sha256 = self->options->pinned_sha256;
  options->timeout_seconds = timeout_seconds;
  /* A reply is at most the envelope size asked for, plus the framing of
   * its encryption; twice that is room enough for any honest host. */
  options->body_limit = (gsize) self->max_envelope * 2 + 65536;
  options->reconnecting = self->auth_count > 0;
  options->shelf = self->shelf;
}

/* Remembers what libsoup said of a connection it opened, once: its id
 * is never used for another. The link returned lives as long as @self. */
const CastellanLink *
castellan_connection_note_link (CastellanConnection *self,
                                const CastellanLink *link)
{
  CastellanLink *known = g_hash_table_lookup (self->links, &link->id);

  if (known == NULL)
    {
      known = castellan_link_copy (link);
      g_hash_table_insert (self->links, &known->id, known);
    }
  return known;
}

/* ---- The verdict ------------------------------------------------------ */

/* The verdict of the connection @link describes, with the context now in
 * force. */
CastellanVerdict *
castellan_connection_compute_verdict (CastellanConnection  *self,
                                      const CastellanLink  *link,
                                      GError              **error)
{
  g_autoptr(CastellanVerdict) v = castellan_verdict_new ();
  CastellanConnectOptions *o = self->options;

  v->host = g_strdup (o->endpoint->host);
  if (self->gss != NULL)
    {
      castellan_gss_describe (self->gss, v);
    }
  else
    {
      v->auth = CASTELLAN_AUTH_BASIC;
      v->user = g_strdup (o->user);
    }

  g_free (v->encryption);
  if (o->endpoint->https)
    {
      v->identity = o->pinned_sha256 ? CASTELLAN_IDENTITY_TLS_PINNED : CASTELLAN_IDENTITY_TLS;
      v->encryption = g_strdup (castellan_tls_version_id (link ? link->tls_version : G_TLS_PROTOCOL_VERSION_UNKNOWN));
      v->tls_cipher_suite = g_strdup (link ? link->tls_cipher_suite : NULL);
      return g_steal_pointer (&v);
    }

  if (self->gss == NULL)
    {
      v->identity = CASTELLAN_IDENTITY_NONE;
      v->encryption = g_strdup ("none");
      return g_steal_pointer (&v);
    }

  v->encryption = castellan_gss_get_encryption (self->gss);
  if (v->auth == CASTELLAN_AUTH_KERBEROS)
    {
      v->identity = CASTELLAN_IDENTITY_KERBEROS;
      return g_steal_pointer (&v);
    }

  /* NTLM over HTTP: allowed only where TrustedHosts said so. */
  if (!self->decision.ntlm_allowed)
    {
      g_autofree char *forward = castellan_policy_ways_forward (o->endpoint);

      g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_POLICY_REFUSED,
                   _("%s could only be reached with NTLM, which cannot prove its identity, and it is not on TrustedHosts. %s"),
                   o->endpoint->host, forward);
      return NULL;
    }
  v->identity = CASTELLAN_IDENTITY_NONE;
  v->trusted_hosts_entry = g_strdup (self->decision.trusted_hosts_entry);
  return g_steal_pointer (&v);
}

static GError *
weaker_error (CastellanConnection *self)
{
  return g_error_new (CASTELLAN_ERROR, CASTELLAN_ERROR_POLICY_REFUSED,
                      _("After the connection to %s dropped, the new one is less protected than before; it was not used."),
                      self->options->endpoint->host);
}

/* A verdict for a new connection, which may not be weaker than that of
 * the connection it replaces. */
static gboolean
adopt_verdict (CastellanConnection  *self,
               CastellanVerdict     *verdict,
               GError              **error)
{
  if (self->verdict != NULL && castellan_verdict_is_weaker_than (verdict, self->verdict))
    {
      castellan_verdict_free (verdict);
      g_propagate_error (error, weaker_error (self));
      return FALSE;
    }
  castellan_verdict_free (self->verdict);
  self->verdict = verdict;
  return TRUE;
}

/* ---- open ------------------------------------------------------------- */

static gboolean
adopt_authentication (CastellanConnection  *self,
                      GAsyncResult         *result,
                      GError              **error)
{
  CastellanVerdict *verdict;

  if (!castellan_connection_authenticate_finish (self, result, error))
    return FALSE;
  verdict = castellan_connection_compute_verdict (self, self->link, error);
  if (verdict == NULL)
    return FALSE;
  return adopt_verdict (self, verdict, error);
}

static void
open_authenticated (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  CastellanConnection *self = CASTELLAN_CONNECTION (source);
  GError *error = NULL;

  if (!adopt_authentication (self, result, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
  run_next_request (self);
}

/* A user's proxy carries a TLS tunnel (CONNECT) and nothing else: a
 * forward proxy would see the requests, and a security context bound to a
 * connection cannot cross it. */
static gboolean
check_proxy (CastellanConnection  *self,
             GError              **error)
{
  const CastellanConnectOptions *o = self->options;

  if (o->proxy == NULL || o->endpoint->https)
    return TRUE;
  g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_POLICY_REFUSED,
               _("A proxy (%s) is set for %s, but a proxy can only carry HTTPS, through a tunnel: over HTTP it would see the requests, and Kerberos and NTLM cannot work through it. Nothing was sent. Use HTTPS (port 5986), or remove the proxy."),
               o->proxy, o->endpoint->host);
  return FALSE;
}

/**
 * castellan_connection_open_async:
 *
 * Applies the policy (nothing is sent when it refuses), authenticates and
 * computes the security verdict from what happened on the wire.
 */
void
castellan_connection_open_async (CastellanConnection *self,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  GError *error = NULL;

  g_return_if_fail (CASTELLAN_IS_CONNECTION (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, castellan_connection_open_async);

  castellan_policy_decision_clear (&self->decision);
  if (!check_proxy (self, &error) ||
      !castellan_policy_decide (self->options->endpoint, self->options->auth,
                                self->options->trusted_hosts, self->options->allow_unencrypted,
                                &self->decision, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  castellan_connection_authenticate_async (self, cancellable, open_authenticated, g_steal_pointer (&task));
}

gboolean
castellan_connection_open_finish (CastellanConnection  *self,
                                  GAsyncResult         *result,
                                  GError              **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- requests ----------------------------------------------------------- */

typedef struct
{
  GBytes *envelope;
  CastellanRequestFlags flags;
  guint timeout;
  CastellanStreamFunc on_stream;
  gpointer stream_data;
  CastellanFollowUp follow_up;
  GAsyncReadyCallback callback;   /* of the request, for its follow-up */
  gpointer user_data;
  gboolean sealed;
  guint attempts;
  gboolean pipelined;             /* may go out before the reply ahead of it */
  gboolean needs_context;         /* refused on a connection without one */
  gboolean followed;              /* its follow-up is on its way */
} RequestData;

static void
request_data_free (RequestData *data)
{
  g_bytes_unref (data->envelope);
  g_free (data);
}

static void send_request (GTask *task);
static void defer (CastellanConnection *self, GTask *task, CastellanExchangeReply *reply,
                   GBytes *plain);

static GTask *new_request (CastellanConnection *self, GBytes *envelope, CastellanRequestFlags flags,
                           guint timeout_seconds, CastellanStreamFunc on_stream,
                           gpointer stream_data, CastellanFollowUp follow_up,
                           GCancellable *cancellable, GAsyncReadyCallback callback,
                           gpointer user_data);

static void
request_return_error (GTask  *task,
                      GError *error)
{
  CastellanConnection *self = g_task_get_source_object (task);

  g_object_ref (self);
  g_task_return_error (task, error);
  g_object_unref (task);
  run_next_request (self);
  g_object_unref (self);
}

/* Pipelining: once a reply is in, the request that comes next (the next
 * Receive of a running command) goes to libsoup before this reply is
 * parsed, or even opened when the caller can tell without its plaintext,
 * so that the host prepares its answer while this one is decoded. */
static gboolean
send_follow_up (CastellanConnection *self,
                GTask               *task,
                GBytes              *plain)
{
  RequestData *data = g_task_get_task_data (task);
  g_autoptr(GBytes) next = NULL;
  gsize len = 0;
  const guint8 *bytes = plain != NULL ? g_bytes_get_data (plain, &len) : NULL;

  if (data->follow_up == NULL || data->followed ||
      g_cancellable_is_cancelled (g_task_get_cancellable (task)) ||
      (next = data->follow_up (bytes, len, data->user_data)) == NULL)
    return data->followed;
  data->followed = TRUE;
  g_queue_push_head (&self->pending,
                     new_request (self, next, data->flags, data->timeout, data->on_stream,
                                  data->stream_data, data->follow_up,
                                  g_task_get_cancellable (task), data->callback, data->user_data));
  run_next_request (self);
  return TRUE;
}

static void
request_reauthenticated (GObject      *source,
                         GAsyncResult *result,
                         gpointer      user_data)
{
  GTask *task = user_data;
  GError *error = NULL;

  if (!adopt_authentication (CASTELLAN_CONNECTION (source), result, &error))
    {
      request_return_error (task, error);
      return;
    }
  send_request (task);
  run_next_request (CASTELLAN_CONNECTION (source));
}

static GBytes *
open_reply (CastellanConnection  *self,
            const char           *ctype,
            GBytes               *body,
            gboolean              sealed,
            GError              **error)
{
  gboolean encrypted = ctype != NULL && g_ascii_strncasecmp (ctype, "multipart/encrypted", 19) == 0;

  if (sealed)
    {
      if (!encrypted)
        {
          /* A downgrade: never accept plaintext once sealing is in force. */
          self->authenticated = FALSE;
          g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_SEALING_FAILED,
                       _("%s answered in plaintext while encryption is in force. The reply was discarded: something on the way may be tampering with the connection."),
                       self->options->endpoint->host);
          return NULL;
        }
      /* The body is a reply buffer nothing else reads: decrypted in
       * place. */
      return castellan_sealing_unseal_in_place (self->gss, body, ctype, error);
    }
  if (encrypted)
    {
      g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_MALFORMED_REPLY,
                   _("%s sent an encrypted reply to a plaintext request."),
                   self->options->endpoint->host);
      return NULL;
    }
  return g_bytes_ref (body);
}

/* Parses a reply (handing its output over) and completes its request. */
static void
complete_reply (CastellanConnection *self,
                GTask               *task,
                GBytes              *plain)
{
  RequestData *data = g_task_get_task_data (task);
  CastellanWsmanReply *reply;
  GError *error = NULL;

  reply = castellan_wsman_reply_parse (g_bytes_get_data (plain, NULL), g_bytes_get_size (plain),
                                       self->max_envelope, self->options->endpoint->host,
                                       data->on_stream, data->stream_data, &error);
  /* Done with the reply's bytes: the buffer is free for the next one. */
  g_bytes_unref (plain);
  if (reply == NULL)
    {
      request_return_error (task, error);
      return;
    }
  g_object_ref (self);
  g_task_return_pointer (task, reply, (GDestroyNotify) castellan_wsman_reply_free);
  g_object_unref (task);
  run_next_request (self);
  g_object_unref (self);
}

/* Opens a reply (its follow-up sent once its plaintext says so), then
 * parses it and completes its request. */
static void
open_and_complete (CastellanConnection    *self,
                   GTask                  *task,
                   CastellanExchangeReply *reply_in)
{
  g_autoptr(CastellanExchangeReply) reply = reply_in;
  RequestData *data = g_task_get_task_data (task);
  g_autoptr(GBytes) plain = NULL;
  GError *error = NULL;

  plain = open_reply (self, reply->content_type, reply->body, data->sealed, &error);
  if (plain == NULL)
    {
      /* After a failed unseal the context's sequence is unknown. */
      self->authenticated = FALSE;
      request_return_error (task, error);
      return;
    }
  g_clear_pointer (&reply->body, g_bytes_unref);
  if (reply->status == SOUP_STATUS_OK && !data->followed && send_follow_up (self, task, plain))
    {
      defer (self, task, NULL, g_steal_pointer (&plain));
      return;
    }
  complete_reply (self, task, g_steal_pointer (&plain));
}

/* The reply whose handling waits (see defer()): handled now. */
static void
finish_deferred_reply (CastellanConnection *self)
{
  GTask *task = g_steal_pointer (&self->deferred_task);
  CastellanExchangeReply *reply = g_steal_pointer (&self->deferred_reply);
  GBytes *plain = g_steal_pointer (&self->deferred_plain);

  if (task == NULL)
    return;
  g_clear_handle_id (&self->deferred_idle, g_source_remove);
  if (reply != NULL)
    open_and_complete (self, task, reply);
  else
    complete_reply (self, task, plain);
}

static gboolean
deferred_reply_idle (gpointer user_data)
{
  CastellanConnection *self = user_data;

  self->deferred_idle = 0;
  finish_deferred_reply (self);
  return G_SOURCE_REMOVE;
}

/* A follow-up is on its way: libsoup sends it at the default priority.
 * This reply (to open, or to parse) waits until the main loop has nothing
 * more urgent, or until the next reply comes, whichever is first, so that
 * the host prepares its next answer meanwhile. */
static void
defer (CastellanConnection    *self,
       GTask                  *task,
       CastellanExchangeReply *reply,
       GBytes                 *plain)
{
  g_assert (self->deferred_task == NULL);
  self->deferred_task = task;
  self->deferred_reply = reply;
  self->deferred_plain = plain;
  self->deferred_idle = g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, deferred_reply_idle,
                                         g_object_ref (self), g_object_unref);
}

/* A new connection libsoup opened for a request, before the request goes
 * out on it. A security context belongs to the connection it was made on:
 * the request waits, the new connection is authenticated afresh, and the
 * request is sealed anew. Basic credentials travel with every request:
 * the new connection's TLS must be as good as the old one's. */
static gboolean
admit_request (const CastellanLink  *link,
               gpointer              user_data,
               GError              **error)
{
  GTask *task = user_data;
  CastellanConnection *self = g_task_get_source_object (task);
  RequestData *data = g_task_get_task_data (task);
  const CastellanLink *noted = castellan_connection_note_link (self, link);
  CastellanVerdict *verdict;

  if (self->gss != NULL)
    {
      data->needs_context = TRUE;
      g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_CONNECTION_LOST,
                   _("The connection to %s was closed; the new one is not authenticated yet."),
                   self->options->endpoint->host);
      return FALSE;
    }
  verdict = castellan_connection_compute_verdict (self, noted, error);
  if (verdict == NULL || !adopt_verdict (self, verdict, error))
    return FALSE;
  self->link = noted;
  self->auth_count++;
  g_debug ("request: new connection %" G_GUINT64_FORMAT " admitted (Basic)", link->id);
  return TRUE;
}

/* A request failed. It goes out again, on a new connection authenticated
 * afresh, only when that cannot run anything twice: it never went out
 * whole, or it is one that may be repeated (Receive, Get, Delete), or it
 * asks for output and no reply began (the connection had been closed
 * while idle: the host never took the request). */
static void
request_failed (CastellanConnection *self,
                GTask               *task,
                GError              *error,
                gboolean             sent,
                gboolean             answered)
{
  RequestData *data = g_task_get_task_data (task);
  gboolean lost = g_error_matches (error, CASTELLAN_ERROR, CASTELLAN_ERROR_CONNECTION_LOST) ||
                  g_error_matches (error, CASTELLAN_ERROR, CASTELLAN_ERROR_UNREACHABLE);

  /* Whatever was on that connection, its context is gone. */
  self->authenticated = FALSE;
  if (lost && ++data->attempts < MAX_ATTEMPTS &&
      (data->needs_context || !sent || (data->flags & CASTELLAN_REQUEST_RESENDABLE) ||
       ((data->flags & CASTELLAN_REQUEST_OUTPUT) && !answered)))
    {
      g_debug ("request: %s; sending it again on a new connection", error->message);
      g_error_free (error);
      data->needs_context = FALSE;
      send_request (task);
      return;
    }
  if (lost && sent && (data->flags & CASTELLAN_REQUEST_OUTPUT))
    {
      g_error_free (error);
      error = g_error_new (CASTELLAN_ERROR, CASTELLAN_ERROR_CONNECTION_LOST,
                           _("The connection to %s was lost while output was on its way. That output cannot be asked for again, and the command may still be running there."),
                           self->options->endpoint->host);
    }
  else if (lost && sent && !(data->flags & CASTELLAN_REQUEST_RESENDABLE))
    {
      g_error_free (error);
      error = g_error_new (CASTELLAN_ERROR, CASTELLAN_ERROR_CONNECTION_LOST,
                           _("The connection was lost after the command was sent; it may or may not have started on %s. Check there before you run it again."),
                           self->options->endpoint->host);
    }
  request_return_error (task, error);
}

static void
request_response (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  GTask *task = user_data;
  CastellanConnection *self = g_task_get_source_object (task);
  RequestData *data = g_task_get_task_data (task);
  const char *host = self->options->endpoint->host;
  g_autoptr(CastellanExchangeReply) reply = NULL;
  GError *error = NULL;
  gboolean sent = FALSE;
  gboolean answered = FALSE;

  self->in_flight--;
  /* Replies are handed over in order: the one before first. */
  finish_deferred_reply (self);
  reply = castellan_exchange_send_finish (result, &sent, &answered, &error);
  if (reply == NULL)
    {
      request_failed (self, task, error, sent, answered);
      return;
    }
  g_debug ("request: HTTP %u on connection %" G_GUINT64_FORMAT, reply->status, reply->connection_id);

  if (reply->status == SOUP_STATUS_UNAUTHORIZED)
    {
      /* New connections are authenticated before a request goes out on
       * them: a 401 is the host turning the context down. */
      self->authenticated = FALSE;
      request_return_error (task, g_error_new (CASTELLAN_ERROR,
                                               data->sealed || self->options->endpoint->https
                                                 ? CASTELLAN_ERROR_AUTH_FAILED
                                                 : CASTELLAN_ERROR_UNENCRYPTED_REFUSED,
                                               data->sealed || self->options->endpoint->https
                                                 ? _("%s no longer accepts this session’s authentication. Connect again.")
                                                 : _("%s refuses unencrypted requests (AllowUnencrypted is off, as it should be). Use HTTPS, or Kerberos or Negotiate, which encrypt."),
                                               host));
      return;
    }

  if (reply->status != SOUP_STATUS_OK && reply->status != SOUP_STATUS_INTERNAL_SERVER_ERROR &&
      reply->status != SOUP_STATUS_BAD_REQUEST)
    {
      request_return_error (task, g_error_new (CASTELLAN_ERROR, CASTELLAN_ERROR_HTTP_STATUS,
                                               _("%s answered with HTTP %u %s."), host, reply->status,
                                               reply->reason ? reply->reason : ""));
      return;
    }
  if (reply->status == SOUP_STATUS_BAD_REQUEST && g_bytes_get_size (reply->body) == 0)
    {
      self->authenticated = FALSE;
      request_return_error (task, g_error_new (CASTELLAN_ERROR, CASTELLAN_ERROR_HTTP_STATUS,
                                               _("%s could not read the request (HTTP 400)."), host));
      return;
    }

  if (reply->status == SOUP_STATUS_OK && send_follow_up (self, task, NULL))
    {
      /* The follow-up went before this reply was opened: open it once
       * libsoup has sent that (see defer()). */
      defer (self, task, g_steal_pointer (&reply), NULL);
      return;
    }
  open_and_complete (self, task, g_steal_pointer (&reply));
}

static void
send_request (GTask *task)
{
  CastellanConnection *self = g_task_get_source_object (task);
  RequestData *data = g_task_get_task_data (task);
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autofree char *ctype = NULL;
  CastellanExchangeOptions options;
  GError *error = NULL;

  if (!self->authenticated && self->authenticating)
    {
      /* Another request is authenticating the new connection: after it. */
      g_queue_push_head (&self->pending, task);
      return;
    }
  if (!self->authenticated)
    {
      castellan_connection_authenticate_async (self, g_task_get_cancellable (task),
                                               request_reauthenticated, task);
      return;
    }

  data->sealed = !self->options->endpoint->https && self->gss != NULL;
  if (data->sealed)
    {
      gsize len;
      const guint8 *plain = g_bytes_get_data (data->envelope, &len);

      body = castellan_sealing_seal (self->gss, plain, len, &error);
      if (body == NULL)
        {
          request_return_error (task, error);
          return;
        }
      ctype = castellan_sealing_content_type (self->gss);
    }
  else
    {
      body = g_bytes_ref (data->envelope);
      ctype = g_strdup (SOAP_CONTENT_TYPE);
    }

  msg = castellan_connection_new_message (self, body, ctype,
                                          self->gss == NULL ? self->basic_header : NULL);
  castellan_connection_exchange_options (self, data->timeout, &options);
  options.admit = admit_request;
  options.admit_data = task;
  self->in_flight++;
  castellan_exchange_send_async (self->session, msg, &options, g_task_get_cancellable (task),
                                 request_response, task);
}

static void
run_next_request (CastellanConnection *self)
{
  GTask *task;

  while (self->held == 0 && !self->authenticating &&
         (task = g_queue_peek_head (&self->pending)) != NULL)
    {
      RequestData *data = g_task_get_task_data (task);

      if (g_task_return_error_if_cancelled (task))
        {
          g_queue_pop_head (&self->pending);
          g_object_unref (task);
          continue;
        }
      /* One at a time, but for a request that may go out behind the one
       * ahead of it on an authenticated connection: libsoup sends it as
       * soon as the connection is free, in order, so sealing now keeps
       * the sequence. */
      if (self->in_flight > 0 && (!data->pipelined || !self->authenticated))
        break;
      g_queue_pop_head (&self->pending);
      send_request (task);
    }
}

/**
 * castellan_connection_request_async:
 * @envelope: the SOAP request, in plaintext
 * @flags: %CASTELLAN_REQUEST_RESENDABLE for a request that may run twice
 * @timeout_seconds: how long the reply may take
 * @on_stream: (nullable): receives decoded output as the reply is read
 *
 * Sends one WS-Man request after those already queued; seals it over
 * HTTP. A request that never went out whole is sent again on a new,
 * freshly authenticated connection; one that went out goes again only
 * when resendable.
 */
void
castellan_connection_request_async (CastellanConnection   *self,
                                    GBytes                *envelope,
                                    CastellanRequestFlags  flags,
                                    guint                  timeout_seconds,
                                    CastellanStreamFunc    on_stream,
                                    gpointer               stream_data,
                                    GCancellable          *cancellable,
                                    GAsyncReadyCallback    callback,
                                    gpointer               user_data)
{
  castellan_connection_request_follow_async (self, envelope, flags, timeout_seconds, on_stream,
                                             stream_data, NULL, cancellable, callback, user_data);
}

/**
 * castellan_connection_request_follow_async:
 * @follow_up: given each reply's plaintext before it is parsed, returns
 *   the request to send next, at once (or %NULL); its result goes to
 *   @callback with @user_data as well, after this one's
 *
 * castellan_connection_request_async() with pipelining: the next request
 * is on its way while this reply is parsed and its output handed over.
 */
void
castellan_connection_request_follow_async (CastellanConnection   *self,
                                           GBytes                *envelope,
                                           CastellanRequestFlags  flags,
                                           guint                  timeout_seconds,
                                           CastellanStreamFunc    on_stream,
                                           gpointer               stream_data,
                                           CastellanFollowUp      follow_up,
                                           GCancellable          *cancellable,
                                           GAsyncReadyCallback    callback,
                                           gpointer               user_data)
{
  g_return_if_fail (CASTELLAN_IS_CONNECTION (self));
  g_return_if_fail (envelope != NULL);

  g_queue_push_tail (&self->pending,
                     new_request (self, envelope, flags, timeout_seconds, on_stream, stream_data,
                                  follow_up, cancellable, callback, user_data));
  run_next_request (self);
}

/**
 * castellan_connection_hold:
 *
 * Requests queued from now on wait until castellan_connection_release(),
 * and then go to libsoup together, each after the first sent as soon as
 * the connection is free rather than after its reply has been handled
 * (the first Receive of a command whose identifier the client chose).
 * Replies are still handed over in order.
 */
void
castellan_connection_hold (CastellanConnection *self)
{
  g_return_if_fail (CASTELLAN_IS_CONNECTION (self));
  if (self->held++ == 0)
    self->held_queued = 0;
}

void
castellan_connection_release (CastellanConnection *self)
{
  g_return_if_fail (CASTELLAN_IS_CONNECTION (self));
  g_return_if_fail (self->held > 0);
  if (--self->held == 0)
    run_next_request (self);
}

static GTask *
new_request (CastellanConnection   *self,
             GBytes                *envelope,
             CastellanRequestFlags  flags,
             guint                  timeout_seconds,
             CastellanStreamFunc    on_stream,
             gpointer               stream_data,
             CastellanFollowUp      follow_up,
             GCancellable          *cancellable,
             GAsyncReadyCallback    callback,
             gpointer               user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  RequestData *data = g_new0 (RequestData, 1);

  g_task_set_source_tag (task, castellan_connection_request_async);
  data->envelope = g_bytes_ref (envelope);
  data->flags = flags;
  data->timeout = timeout_seconds ? timeout_seconds : self->options->request_timeout;
  data->on_stream = on_stream;
  data->stream_data = stream_data;
  data->follow_up = follow_up;
  data->callback = callback;
  data->user_data = user_data;
  data->pipelined = self->held > 0 && self->held_queued++ > 0;
  g_task_set_task_data (task, data, (GDestroyNotify) request_data_free);
  return task;
}

CastellanWsmanReply *
castellan_connection_request_finish (CastellanConnection  *self,
                                     GAsyncResult         *result,
                                     GError              **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
