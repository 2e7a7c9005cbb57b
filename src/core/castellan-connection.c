/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <libsoup/soup.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#include "castellan-connection-private.h"
#include "castellan-error.h"
#include "castellan-gss.h"
#include "castellan-net-error.h"
#include "castellan-policy.h"
#include "castellan-sealing.h"
#include "castellan-soap.h"
#include "castellan-tls.h"

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

  castellan_connection_direct_close (self);
  g_clear_pointer (&self->lane_buffer, g_byte_array_unref);
  g_clear_pointer (&self->lane_carry, g_byte_array_unref);
  if (self->session != NULL)
    soup_session_abort (self->session);
  g_clear_object (&self->session);
  g_clear_object (&self->peer_certificate);
  g_clear_pointer (&self->spare_body, g_byte_array_unref);
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
  g_free (self->tls_cipher_suite);
  g_free (self->host_header);
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
  if (options->tls_database != NULL)
    soup_session_set_tls_database (self->session, options->tls_database);
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

/* ---- The verdict ------------------------------------------------------ */

static CastellanVerdict *
compute_verdict (CastellanConnection  *self,
                 GError              **error)
{
  g_autoptr(CastellanVerdict) v = castellan_verdict_new ();
  CastellanConnectOptions *o = self->options;

  v->host = g_strdup (o->endpoint->host);
  if (self->gss != NULL)
    {
      v->auth = castellan_gss_get_method (self->gss);
      v->delegation = castellan_gss_get_delegated (self->gss);
      v->user = castellan_gss_get_user (self->gss);
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
      v->encryption = g_strdup (castellan_tls_version_id (self->tls_version));
      v->tls_cipher_suite = g_strdup (self->tls_cipher_suite);
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

/* ---- open ------------------------------------------------------------- */

/* After authentication: the verdict of what happened, which may not be
 * weaker than that of a connection this one replaces. */
static gboolean
adopt_authentication (CastellanConnection  *self,
                      GAsyncResult         *result,
                      GError              **error)
{
  CastellanVerdict *verdict;

  if (!castellan_connection_authenticate_finish (self, result, error))
    return FALSE;
  verdict = compute_verdict (self, error);
  if (verdict == NULL)
    return FALSE;
  if (self->verdict != NULL && castellan_verdict_is_weaker_than (verdict, self->verdict))
    {
      castellan_verdict_free (verdict);
      g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_POLICY_REFUSED,
                   _("After the connection to %s dropped, the new one is less protected than before; it was not used."),
                   self->options->endpoint->host);
      return FALSE;
    }
  castellan_verdict_free (self->verdict);
  self->verdict = verdict;
  return TRUE;
}

static void
open_authenticated (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (!adopt_authentication (CASTELLAN_CONNECTION (source), result, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
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
  if (!castellan_policy_decide (self->options->endpoint, self->options->auth,
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
  guint timeout;
  CastellanStreamFunc on_stream;
  gpointer stream_data;
  CastellanFollowUp follow_up;
  GAsyncReadyCallback callback;   /* of the request, for its follow-up */
  gpointer user_data;
  gboolean sealed;
  gboolean retried;
  gboolean released;              /* the connection went to a follow-up */
  gboolean pipelined;             /* may go out before the reply ahead of it */
  GIOStream *written_on;          /* went out with the request ahead of it */
} RequestData;

static void
request_data_free (RequestData *data)
{
  g_clear_object (&data->written_on);
  g_bytes_unref (data->envelope);
  g_free (data);
}

static void send_request (GTask *task);
static gboolean send_request_later (gpointer task);

static void
request_complete (GTask *task)
{
  CastellanConnection *self = g_task_get_source_object (task);
  RequestData *data = g_task_get_task_data (task);

  if (data->released)
    return;
  self->busy = FALSE;
  run_next_request (self);
}

static GTask *new_request (CastellanConnection *self, GBytes *envelope, guint timeout_seconds,
                           CastellanStreamFunc on_stream, gpointer stream_data,
                           CastellanFollowUp follow_up, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data);

/* Pipelining: once a reply is in and decrypted, the request that comes
 * next (the next Receive of a running command) goes out before this reply
 * is parsed, so that the host prepares its answer while this one is
 * decoded. The connection is handed to it at once. */
static void
send_follow_up (CastellanConnection *self,
                GTask               *task,
                GBytes              *plain)
{
  RequestData *data = g_task_get_task_data (task);
  g_autoptr(GBytes) next = NULL;
  gsize len;
  const guint8 *bytes = g_bytes_get_data (plain, &len);

  if (data->follow_up == NULL || g_cancellable_is_cancelled (g_task_get_cancellable (task)) ||
      (next = data->follow_up (bytes, len, data->user_data)) == NULL)
    return;
  g_queue_push_head (&self->pending,
                     new_request (self, next, data->timeout, data->on_stream, data->stream_data,
                                  data->follow_up, g_task_get_cancellable (task), data->callback,
                                  data->user_data));
  data->released = TRUE;
  self->busy = FALSE;
  run_next_request (self);
}

static void
request_return_error (GTask  *task,
                      GError *error)
{
  g_object_ref (task);
  g_task_return_error (task, error);
  request_complete (task);
  g_object_unref (task);
}

static void
request_reauthenticated (GObject      *source,
                         GAsyncResult *result,
                         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (!adopt_authentication (CASTELLAN_CONNECTION (source), result, &error))
    {
      request_return_error (task, error);
      return;
    }
  send_request (g_steal_pointer (&task));
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
      /* The body is this connection's own reply buffer (see LentBody),
       * which nothing else reads: it is decrypted in place. */
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
  g_object_ref (task);
  g_task_return_pointer (task, reply, (GDestroyNotify) castellan_wsman_reply_free);
  request_complete (task);
  g_object_unref (task);
}

/* The reply whose parse waits (see request_response()): parsed now. */
static void
finish_deferred_reply (CastellanConnection *self)
{
  g_autoptr(GTask) task = g_steal_pointer (&self->deferred_task);

  if (task == NULL)
    return;
  g_clear_handle_id (&self->deferred_idle, g_source_remove);
  complete_reply (self, task, g_steal_pointer (&self->deferred_plain));
}

static gboolean
deferred_reply_idle (gpointer user_data)
{
  CastellanConnection *self = user_data;

  self->deferred_idle = 0;
  finish_deferred_reply (self);
  return G_SOURCE_REMOVE;
}

static void
request_response (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  CastellanConnection *self = CASTELLAN_CONNECTION (source);
  RequestData *data = g_task_get_task_data (task);
  const char *host = self->options->endpoint->host;
  g_autoptr(SoupMessage) msg = NULL;
  g_auto(CastellanHttp1Head) head = { 0 };
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GBytes) plain = NULL;
  GError *error = NULL;
  guint status;

  /* Replies are handed over in order: the one before first. */
  finish_deferred_reply (self);
  body = castellan_connection_exchange_finish (self, result, &msg, &head, &error);
  if (body == NULL)
    {
      if (castellan_connection_exchange_was_stale (result) && !data->retried)
        {
          /* The host had closed the kept-alive connection: the request
           * goes again on a new one, authenticated anew. */
          GCancellable *cancellable = g_task_get_cancellable (task);

          g_clear_error (&error);
          data->retried = TRUE;
          castellan_connection_authenticate_async (self, cancellable, request_reauthenticated, g_steal_pointer (&task));
          return;
        }
      request_return_error (task, error);
      return;
    }
  status = head.status;
  g_debug ("request: HTTP %u on connection %" G_GUINT64_FORMAT " (%s)", status,
           msg != NULL ? soup_message_get_connection_id (msg) : self->lane_connection_id,
           msg != NULL ? "through libsoup" : "direct");

  if (status == SOUP_STATUS_UNAUTHORIZED)
    {
      /* libsoup opens a new connection by itself when the kept-alive one
       * turns out closed; the direct lane never does. */
      gboolean new_connection = msg != NULL && soup_message_get_connection_id (msg) != self->auth_connection_id;

      self->authenticated = FALSE;
      if (self->gss != NULL && new_connection && !data->retried)
        {
          /* The connection the context belonged to is gone: authenticate
           * on the new one and send the request again, sealed anew. */
          GCancellable *cancellable = g_task_get_cancellable (task);

          data->retried = TRUE;
          castellan_connection_authenticate_async (self, cancellable, request_reauthenticated, g_steal_pointer (&task));
          return;
        }
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

  if (status != SOUP_STATUS_OK && status != SOUP_STATUS_INTERNAL_SERVER_ERROR &&
      status != SOUP_STATUS_BAD_REQUEST)
    {
      request_return_error (task, g_error_new (CASTELLAN_ERROR, CASTELLAN_ERROR_HTTP_STATUS,
                                               _("%s answered with HTTP %u %s."), host, status,
                                               head.reason));
      return;
    }
  if (status == SOUP_STATUS_BAD_REQUEST && g_bytes_get_size (body) == 0)
    {
      self->authenticated = FALSE;
      request_return_error (task, g_error_new (CASTELLAN_ERROR, CASTELLAN_ERROR_HTTP_STATUS,
                                               _("%s could not read the request (HTTP 400)."), host));
      return;
    }

  plain = open_reply (self, head.content_type, body, data->sealed, &error);
  if (plain == NULL)
    {
      /* After a failed unseal the context's sequence is unknown. */
      self->authenticated = FALSE;
      request_return_error (task, error);
      return;
    }
  if (status == SOUP_STATUS_OK)
    send_follow_up (self, task, plain);
  g_clear_pointer (&body, g_bytes_unref);
  if (data->released)
    {
      /* Let libsoup send the follow-up first: parse when the main loop
       * has nothing more urgent, or before the next reply, whichever
       * comes first. */
      self->deferred_task = g_steal_pointer (&task);
      self->deferred_plain = g_steal_pointer (&plain);
      self->deferred_idle = g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, deferred_reply_idle,
                                             g_object_ref (self), g_object_unref);
      return;
    }
  complete_reply (self, task, g_steal_pointer (&plain));
}

/* HTTP pipelining: the request queued next goes out in the same write
 * when it allows it (the Receive of a command just started, say) and this
 * one has no follow-up of its own to slip in between. Sealed now, in
 * order, it is marked as written on this connection. */
static GBytes *
pipeline_next (CastellanConnection *self,
               RequestData         *data)
{
  GTask *next = g_queue_peek_head (&self->pending);
  RequestData *next_data;
  GError *error = NULL;
  GBytes *body;

  if (next == NULL || data->follow_up != NULL)
    return NULL;
  next_data = g_task_get_task_data (next);
  if (!next_data->pipelined || g_cancellable_is_cancelled (g_task_get_cancellable (next)))
    return NULL;
  next_data->sealed = data->sealed;
  if (data->sealed)
    {
      gsize len;
      const guint8 *plain = g_bytes_get_data (next_data->envelope, &len);

      body = castellan_sealing_seal (self->gss, plain, len, &error);
      if (body == NULL)
        {
          /* It goes on its own, and fails there if it must. */
          g_debug ("pipelining: %s", error->message);
          g_error_free (error);
          return NULL;
        }
    }
  else
    {
      body = g_bytes_ref (next_data->envelope);
    }
  next_data->written_on = g_object_ref (self->lane);
  return body;
}

static gboolean
send_request_later (gpointer task)
{
  send_request (task);
  return G_SOURCE_REMOVE;
}

static void
send_request (GTask *task)
{
  CastellanConnection *self = g_task_get_source_object (task);
  RequestData *data = g_task_get_task_data (task);
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autofree char *ctype = NULL;
  const char *authorization;
  GError *error = NULL;

  if (data->written_on != NULL)
    {
      /* It went out with the request ahead of it: its reply is next on
       * that connection, if the connection is still the one in use. */
      if (self->authenticated && data->written_on == self->lane &&
          castellan_connection_direct_usable (self))
        {
          castellan_connection_direct_read_async (self, data->timeout, g_task_get_cancellable (task),
                                                  request_response, task);
          return;
        }
      g_clear_object (&data->written_on);
    }

  if (!self->authenticated)
    {
      castellan_connection_authenticate_async (self, g_task_get_cancellable (task), request_reauthenticated, task);
      return;
    }

  /* Before sealing: a sealed message takes its sequence number. */
  if (castellan_connection_direct_usable (self) && !self->lane_settled)
    {
      /* libsoup finishes with the authenticating message in its own
       * time, and then checks its idle connection by reading a byte from
       * it: that byte must not be the start of a reply on the direct lane.
       * Its work is done at the default priority, so the first request
       * waits until nothing more urgent is left. */
      self->lane_settled = TRUE;
      g_idle_add_full (G_PRIORITY_LOW, send_request_later, task, NULL);
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

  authorization = self->gss == NULL ? self->basic_header : NULL;
  if (castellan_connection_direct_usable (self))
    {
      g_autoptr(GBytes) then = pipeline_next (self, data);

      castellan_connection_direct_exchange_async (self, body, then, ctype, authorization, data->timeout,
                                                  g_task_get_cancellable (task), request_response, task);
      return;
    }
  msg = castellan_connection_new_message (self, body, ctype, authorization);
  castellan_connection_exchange_async (self, msg, data->timeout, g_task_get_cancellable (task), request_response, task);
}

static void
run_next_request (CastellanConnection *self)
{
  GTask *task;

  while (!self->busy && self->held == 0 && (task = g_queue_pop_head (&self->pending)) != NULL)
    {
      if (g_task_return_error_if_cancelled (task))
        {
          RequestData *data = g_task_get_task_data (task);

          /* Its reply would be taken for the next request's. */
          if (data->written_on != NULL && data->written_on == self->lane)
            castellan_connection_direct_close (self);
          g_object_unref (task);
          continue;
        }
      self->busy = TRUE;
      send_request (task);
    }
}

/**
 * castellan_connection_request_async:
 * @envelope: the SOAP request, in plaintext
 * @timeout_seconds: how long the reply may take
 * @on_stream: (nullable): receives decoded output as the reply is read
 *
 * Sends one WS-Man request after those already queued; seals it over
 * HTTP. A dropped connection is authenticated anew, once.
 */
void
castellan_connection_request_async (CastellanConnection *self,
                                    GBytes              *envelope,
                                    guint                timeout_seconds,
                                    CastellanStreamFunc  on_stream,
                                    gpointer             stream_data,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  castellan_connection_request_follow_async (self, envelope, timeout_seconds, on_stream, stream_data,
                                             NULL, cancellable, callback, user_data);
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
castellan_connection_request_follow_async (CastellanConnection *self,
                                           GBytes              *envelope,
                                           guint                timeout_seconds,
                                           CastellanStreamFunc  on_stream,
                                           gpointer             stream_data,
                                           CastellanFollowUp    follow_up,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data)
{
  g_return_if_fail (CASTELLAN_IS_CONNECTION (self));
  g_return_if_fail (envelope != NULL);

  g_queue_push_tail (&self->pending,
                     new_request (self, envelope, timeout_seconds, on_stream, stream_data,
                                  follow_up, cancellable, callback, user_data));
  run_next_request (self);
}

/**
 * castellan_connection_hold:
 *
 * Requests queued from now on wait until castellan_connection_release(),
 * and go out together: each after the first may be written before the
 * reply to the one ahead of it has come (HTTP pipelining), as the first
 * Receive of a command whose identifier the client chose. Replies are
 * still handed over in order.
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
new_request (CastellanConnection *self,
             GBytes              *envelope,
             guint                timeout_seconds,
             CastellanStreamFunc  on_stream,
             gpointer             stream_data,
             CastellanFollowUp    follow_up,
             GCancellable        *cancellable,
             GAsyncReadyCallback  callback,
             gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  RequestData *data = g_new0 (RequestData, 1);

  g_task_set_source_tag (task, castellan_connection_request_async);
  data->envelope = g_bytes_ref (envelope);
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
