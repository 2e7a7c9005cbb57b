/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <libsoup/soup.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#include "castellan-connection.h"
#include "castellan-error.h"
#include "castellan-gss.h"
#include "castellan-net-error.h"
#include "castellan-policy.h"
#include "castellan-sealing.h"
#include "castellan-soap.h"
#include "castellan-tls.h"

#define SOAP_CONTENT_TYPE "application/soap+xml;charset=UTF-8"

/* Kerberos's usual limit (Windows: MaxClockSkew), in microseconds. */
#define KERBEROS_MAX_SKEW (5 * G_TIME_SPAN_MINUTE)

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

G_DEFINE_FINAL_TYPE (CastellanConnection, castellan_connection, G_TYPE_OBJECT)

static void authenticate_async (CastellanConnection *self, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data);
static gboolean authenticate_finish (CastellanConnection *self, GAsyncResult *result,
                                     GError **error);
static void run_next_request (CastellanConnection *self);

static void
wipe_and_free (char **str)
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
  g_clear_object (&self->peer_certificate);
  g_clear_pointer (&self->spare_body, g_byte_array_unref);
  G_OBJECT_CLASS (castellan_connection_parent_class)->dispose (object);
}

static void
castellan_connection_finalize (GObject *object)
{
  CastellanConnection *self = CASTELLAN_CONNECTION (object);

  g_assert (g_queue_is_empty (&self->pending));
  wipe_and_free (&self->basic_header);
  g_clear_pointer (&self->gss, castellan_gss_free);
  castellan_policy_decision_clear (&self->decision);
  castellan_connect_options_free (self->options);
  castellan_verdict_free (self->verdict);
  g_free (self->tls_cipher_suite);
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

/* ---- One HTTP exchange, bounded in time ------------------------------ */

typedef struct
{
  CastellanConnection *self;
  SoupMessage *msg;
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
} Exchange;

static void
exchange_free (Exchange *ex)
{
  if (ex->timeout != NULL)
    {
      g_source_destroy (ex->timeout);
      g_source_unref (ex->timeout);
    }
  if (ex->caller != NULL)
    {
      g_cancellable_disconnect (ex->caller, ex->caller_handler);
      g_object_unref (ex->caller);
    }
  g_clear_object (&ex->cancellable);
  g_clear_object (&ex->stream);
  g_clear_pointer (&ex->body, g_byte_array_unref);
  g_clear_object (&ex->msg);
  g_clear_object (&ex->self);
  g_free (ex);
}

static gboolean
exchange_timed_out (gpointer data)
{
  Exchange *ex = data;

  ex->timed_out = TRUE;
  g_cancellable_cancel (ex->cancellable);
  return G_SOURCE_REMOVE;
}

static void
caller_cancelled (GCancellable *caller,
                  gpointer      data)
{
  g_cancellable_cancel (G_CANCELLABLE (data));
}

static gboolean
on_accept_certificate (SoupMessage          *msg,
                       GTlsCertificate      *certificate,
                       GTlsCertificateFlags  errors,
                       gpointer              user_data)
{
  CastellanConnection *self = user_data;

  /* A pinned certificate is accepted for itself, whoever signed it. */
  if (self->options->pinned_sha256 != NULL &&
      castellan_tls_pin_matches (certificate, self->options->pinned_sha256))
    return TRUE;
  self->tls_errors = errors;
  return FALSE;
}

static void
on_network_event (SoupMessage        *msg,
                  GSocketClientEvent  event,
                  GIOStream          *connection,
                  gpointer            user_data)
{
  /* Requests are small and answered at once: no Nagle delays. */
  if (event == G_SOCKET_CLIENT_CONNECTED && G_IS_SOCKET_CONNECTION (connection))
    {
      GSocket *socket = g_socket_connection_get_socket (G_SOCKET_CONNECTION (connection));

      g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
    }
}

static void
unref_closure_data (gpointer  data,
                    GClosure *closure)
{
  g_object_unref (data);
}

static SoupMessage *
new_message (CastellanConnection *self,
             GBytes              *body,
             const char          *content_type,
             const char          *authorization)
{
  SoupMessage *msg = soup_message_new ("POST", self->url);
  SoupMessageHeaders *headers = soup_message_get_request_headers (msg);

  soup_message_set_request_body_from_bytes (msg, content_type, body);
  /* libsoup opens a new connection for every POST unless told it may
   * reuse one; the security context lives on the connection. A stale
   * connection is noticed (401 on another connection) and handled. */
  soup_message_add_flags (msg, SOUP_MESSAGE_IDEMPOTENT);
  if (authorization != NULL)
    soup_message_headers_replace (headers, "Authorization", authorization);
  soup_message_headers_replace (headers, "Connection", "Keep-Alive");
  /* Only HTTPS has certificates. The message holds a reference rather
   * than watching the connection (g_signal_connect_object), which costs
   * more on every request. */
  if (self->options->endpoint->https)
    g_signal_connect_data (msg, "accept-certificate", G_CALLBACK (on_accept_certificate),
                           g_object_ref (self), unref_closure_data, 0);
  g_signal_connect (msg, "network-event", G_CALLBACK (on_network_event), NULL);
  return msg;
}

/* Reply bodies are read into a buffer the connection keeps: a stream of
 * Receive replies reuses one allocation instead of growing a new one (and
 * faulting its pages in) for every reply. The GBytes handed out gives the
 * buffer back when it is released. */
typedef struct
{
  CastellanConnection *self;
  GByteArray *buffer;
} LentBody;

static void
body_returned (gpointer data)
{
  LentBody *lent = data;

  if (lent->self->spare_body == NULL && lent->self->session != NULL)
    lent->self->spare_body = lent->buffer;
  else
    g_byte_array_unref (lent->buffer);
  g_object_unref (lent->self);
  g_free (lent);
}

/* Completes the exchange with the body, or with the error explained. */
static void
exchange_return (GTask  *task_in,
                 GBytes *body,
                 GError *error_in)
{
  g_autoptr(GTask) task = task_in;
  Exchange *ex = g_task_get_task_data (task);
  g_autoptr(GError) error = error_in;

  if (body == NULL)
    {
      CastellanConnection *self = ex->self;

      /* Whatever was on that connection, its context is gone. */
      self->authenticated = FALSE;
      if (ex->timed_out)
        g_task_return_new_error (task, CASTELLAN_ERROR, CASTELLAN_ERROR_TIMED_OUT,
                                 _("%s did not answer within %u seconds. The host may be overloaded or hung, or a firewall drops the traffic."),
                                 self->options->endpoint->host, ex->timeout_seconds);
      else if (g_cancellable_is_cancelled (ex->caller))
        g_task_return_new_error (task, CASTELLAN_ERROR, CASTELLAN_ERROR_CANCELLED, _("Cancelled."));
      else if (self->auth_count > 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
        /* libsoup reconnects once when a kept-alive connection turns out
         * closed: refused then means the session's host went away. */
        g_task_return_new_error (task, CASTELLAN_ERROR, CASTELLAN_ERROR_CONNECTION_LOST,
                                 _("The connection to %s was lost, and the host now refuses new connections on port %u: WinRM has stopped there, or the host is restarting. Check the host, then try again."),
                                 self->options->endpoint->host, self->options->endpoint->port);
      else
        g_task_return_error (task, castellan_net_error_translate (error, self->options->endpoint,
                                                                  self->tls_errors));
      return;
    }
  g_task_return_pointer (task, body, (GDestroyNotify) g_bytes_unref);
}

static void read_body (GTask *task);

static void
body_complete (GTask *task)
{
  Exchange *ex = g_task_get_task_data (task);
  LentBody *lent = g_new0 (LentBody, 1);
  GBytes *body;

  lent->self = g_object_ref (ex->self);
  lent->buffer = g_steal_pointer (&ex->body);
  body = g_bytes_new_with_free_func (lent->buffer->data, ex->body_length, body_returned, lent);
  exchange_return (task, body, NULL);
}

/* Takes one read's result: FALSE when the exchange is over (at the end of
 * the body, or failed). */
static gboolean
body_data (GTask  *task,
           gssize  n,
           GError *error)
{
  Exchange *ex = g_task_get_task_data (task);

  if (n < 0)
    {
      exchange_return (task, NULL, error);
      return FALSE;
    }
  if (n == 0)
    {
      /* Read to the end and closed (which, at the end, does not block),
       * the connection can carry the next request. A failure to close
       * changes nothing of the body. */
      g_input_stream_close (ex->stream, NULL, NULL);
      body_complete (task);
      return FALSE;
    }
  ex->body_length += n;
  if (ex->body_length > ex->body_limit)
    {
      /* The reply is dropped unread past this point (the same words as
       * castellan_wsman_reply_parse(), where honest hosts' replies are
       * checked). */
      exchange_return (task, NULL,
                       g_error_new (CASTELLAN_ERROR, CASTELLAN_ERROR_ENVELOPE_TOO_LARGE,
                                    _("%s sent a reply of %lu bytes, more than the %lu bytes asked for (MaxEnvelopeSize). It was discarded."),
                                    ex->self->options->endpoint->host, (unsigned long) ex->body_length,
                                    (unsigned long) ex->self->max_envelope));
      return FALSE;
    }
  return TRUE;
}

static void
body_read (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  GTask *task = user_data;
  GError *error = NULL;
  gssize n;

  n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);
  if (body_data (task, n, error))
    read_body (task);
}

static void
read_body (GTask *task)
{
  Exchange *ex = g_task_get_task_data (task);
  gboolean pollable = G_IS_POLLABLE_INPUT_STREAM (ex->stream) &&
                      g_pollable_input_stream_can_poll (G_POLLABLE_INPUT_STREAM (ex->stream));

  for (;;)
    {
      GError *error = NULL;
      gssize n;

      /* Read as much as has arrived, not a few kilobytes at a time. */
      if (ex->body->len < ex->body_length + 16384)
        g_byte_array_set_size (ex->body, MAX (ex->body->len * 2, ex->body_length + 65536));
      /* What has arrived is taken at once; only then is a wait set up. */
      if (!pollable)
        break;
      n = g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (ex->stream),
                                                    ex->body->data + ex->body_length,
                                                    ex->body->len - ex->body_length,
                                                    ex->cancellable, &error);
      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          g_error_free (error);
          break;
        }
      if (!body_data (task, n, error))
        return;
    }
  g_input_stream_read_async (ex->stream, ex->body->data + ex->body_length,
                             ex->body->len - ex->body_length, G_PRIORITY_DEFAULT, ex->cancellable,
                             body_read, task);
}

static void
exchange_sent (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  GTask *task = user_data;
  Exchange *ex = g_task_get_task_data (task);
  CastellanConnection *self = ex->self;
  SoupMessageHeaders *headers;
  GError *error = NULL;
  goffset length = 0;

  ex->stream = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  if (ex->stream == NULL)
    {
      exchange_return (task, NULL, error);
      return;
    }
  /* A reply is at most the envelope size asked for, plus the framing of
   * its encryption; twice that is room enough for any honest host. */
  ex->body_limit = (gsize) self->max_envelope * 2 + 65536;
  ex->body = g_steal_pointer (&self->spare_body);
  if (ex->body == NULL)
    ex->body = g_byte_array_new ();
  headers = soup_message_get_response_headers (ex->msg);
  if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH)
    length = soup_message_headers_get_content_length (headers);
  if (length > 0 && (guint64) length <= ex->body_limit && ex->body->len < (gsize) length + 16384)
    g_byte_array_set_size (ex->body, (guint) length + 16384);
  read_body (task);
}

/* Sends msg; the task's result is the body, the message stays in the
 * task data for its status and headers. */
static void
exchange_async (CastellanConnection *self,
                SoupMessage         *msg,
                guint                timeout_seconds,
                GCancellable        *caller,
                GAsyncReadyCallback  callback,
                gpointer             user_data)
{
  GTask *task = g_task_new (self, caller, callback, user_data);
  Exchange *ex = g_new0 (Exchange, 1);

  g_task_set_source_tag (task, exchange_async);
  ex->self = g_object_ref (self);
  ex->msg = g_object_ref (msg);
  ex->cancellable = g_cancellable_new ();
  ex->timeout_seconds = timeout_seconds;
  if (caller != NULL)
    {
      ex->caller = g_object_ref (caller);
      ex->caller_handler = g_cancellable_connect (caller, G_CALLBACK (caller_cancelled),
                                                  ex->cancellable, NULL);
    }
  ex->timeout = g_timeout_source_new_seconds (timeout_seconds);
  g_source_set_callback (ex->timeout, exchange_timed_out, ex, NULL);
  g_source_attach (ex->timeout, g_main_context_get_thread_default ());
  g_task_set_task_data (task, ex, (GDestroyNotify) exchange_free);

  self->tls_errors = 0;
  soup_session_send_async (self->session, msg, G_PRIORITY_DEFAULT, ex->cancellable,
                           exchange_sent, task);
}

static GBytes *
exchange_finish (CastellanConnection  *self,
                 GAsyncResult         *result,
                 SoupMessage         **msg,
                 GError              **error)
{
  Exchange *ex = g_task_get_task_data (G_TASK (result));

  *msg = g_object_ref (ex->msg);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- Authentication -------------------------------------------------- */

typedef struct
{
  GBytes *empty;
} AuthData;

static void
auth_data_free (AuthData *data)
{
  g_clear_pointer (&data->empty, g_bytes_unref);
  g_free (data);
}

static void send_auth_token (GTask *task, GBytes *token);

/* The parameters of the WWW-Authenticate challenge for scheme ("" when it
 * has none), or NULL when the response does not offer the scheme. */
static char *
find_challenge (SoupMessage *msg,
                const char  *scheme)
{
  const char *value = soup_message_headers_get_list (soup_message_get_response_headers (msg),
                                                     "WWW-Authenticate");
  g_auto(GStrv) parts = value ? g_strsplit (value, ",", -1) : NULL;
  gsize slen = strlen (scheme);

  for (guint i = 0; parts && parts[i] != NULL; i++)
    {
      char *part = g_strstrip (parts[i]);

      if (g_ascii_strncasecmp (part, scheme, slen) == 0 && (part[slen] == '\0' || part[slen] == ' '))
        return g_strdup (g_strchug (part + slen));
    }
  return NULL;
}

static char *
response_token (SoupMessage *msg,
                const char  *scheme,
                gsize       *length)
{
  g_autofree char *challenge = find_challenge (msg, scheme);

  *length = 0;
  if (challenge == NULL || *challenge == '\0')
    return NULL;
  return (char *) g_base64_decode (challenge, length);
}

static gboolean
offers_scheme (SoupMessage *msg,
               const char  *scheme)
{
  g_autofree char *challenge = find_challenge (msg, scheme);

  return challenge != NULL;
}

static void
authenticated (GTask       *task,
               SoupMessage *msg)
{
  CastellanConnection *self = g_task_get_source_object (task);

  self->authenticated = TRUE;
  self->auth_connection_id = soup_message_get_connection_id (msg);
  self->auth_count++;
  g_task_return_boolean (task, TRUE);
}

/* A host that rejects a Kerberos ticket answers a plain 401. Its clock
 * (the Date header) tells the most common cause apart. */
static GError *
ticket_rejected (CastellanConnection *self,
                 SoupMessage         *msg)
{
  const char *host = self->options->endpoint->host;
  const char *date = soup_message_headers_get_one (soup_message_get_response_headers (msg), "Date");
  g_autoptr(GDateTime) theirs = date ? soup_date_time_new_from_http_string (date) : NULL;
  g_autoptr(GDateTime) ours = g_date_time_new_now_utc ();
  GTimeSpan skew = theirs ? g_date_time_difference (theirs, ours) : 0;

  if (ABS (skew) > KERBEROS_MAX_SKEW)
    {
      gulong minutes = (gulong) ((ABS (skew) + G_TIME_SPAN_MINUTE / 2) / G_TIME_SPAN_MINUTE);

      return g_error_new (CASTELLAN_ERROR, CASTELLAN_ERROR_CLOCK_SKEW,
                          g_dngettext (GETTEXT_PACKAGE,
                                       "The clocks of %s and of this computer differ by %lu minute, more than Kerberos allows (usually 5), so the host rejected the ticket. Synchronise both with the domain’s time (NTP) and try again.",
                                       "The clocks of %s and of this computer differ by %lu minutes, more than Kerberos allows (usually 5), so the host rejected the ticket. Synchronise both with the domain’s time (NTP) and try again.",
                                       minutes),
                          host, minutes);
    }
  return g_error_new (CASTELLAN_ERROR, CASTELLAN_ERROR_AUTH_FAILED,
                      _("%s rejected the Kerberos ticket. Check that its clock and the domain controllers’ agree within 5 minutes (NTP); otherwise its service key may not match the KDC’s (a host rejoined to the domain?), or the SPN belongs to another machine."),
                      host);
}

static void
gss_token_response (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  CastellanConnection *self = CASTELLAN_CONNECTION (source);
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *token = NULL;
  const char *scheme = castellan_gss_http_scheme (self->gss);
  const char *host = self->options->endpoint->host;
  gsize token_len;
  guint status;

  body = exchange_finish (self, result, &msg, &error);
  if (body == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  status = soup_message_get_status (msg);
  token = response_token (msg, scheme, &token_len);

  if (status == SOUP_STATUS_UNAUTHORIZED && token != NULL && !castellan_gss_is_complete (self->gss))
    {
      if (!castellan_gss_step (self->gss, (const guint8 *) token, token_len, &out, &error))
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
      if (out != NULL)
        {
          send_auth_token (g_steal_pointer (&task), out);
          return;
        }
    }

  if (status == SOUP_STATUS_UNAUTHORIZED)
    {
      if (!offers_scheme (msg, scheme))
        g_task_return_new_error (task, CASTELLAN_ERROR, CASTELLAN_ERROR_AUTH_FAILED,
                                 _("%s does not offer %s authentication. Choose a method it offers (castellan-run --probe lists them)."),
                                 host, scheme);
      /* A ticket the KDC issued proves the password right: the host
       * refused the ticket for another reason. */
      else if (castellan_gss_sent_ticket (self->gss))
        g_task_return_error (task, ticket_rejected (self, msg));
      else
        g_task_return_new_error (task, CASTELLAN_ERROR, CASTELLAN_ERROR_CREDENTIALS_REJECTED,
                                 _("%s rejected the credentials%s%s. Check the user name (DOMAIN\\user or user@REALM) and the password."),
                                 host, self->options->user ? _(" of ") : "",
                                 self->options->user ? self->options->user : "");
      return;
    }

  if (status != SOUP_STATUS_OK)
    {
      g_task_return_new_error (task, CASTELLAN_ERROR, CASTELLAN_ERROR_HTTP_STATUS,
                               _("%s answered authentication with HTTP %u %s."), host, status,
                               soup_message_get_reason_phrase (msg));
      return;
    }

  /* 200: Kerberos must now prove the server with its final token. */
  if (!castellan_gss_is_complete (self->gss))
    {
      if (token == NULL)
        {
          g_task_return_new_error (task, CASTELLAN_ERROR, CASTELLAN_ERROR_MUTUAL_AUTH_FAILED,
                                   _("%s accepted the login but sent no proof of its own identity (the Kerberos mutual-authentication token is missing). Nothing was sent; the server is not proven. This can be an impostor."),
                                   host);
          return;
        }
      if (!castellan_gss_step (self->gss, (const guint8 *) token, token_len, &out, &error) ||
          !castellan_gss_is_complete (self->gss))
        {
          g_task_return_new_error (task, CASTELLAN_ERROR, CASTELLAN_ERROR_MUTUAL_AUTH_FAILED,
                                   _("The proof of identity sent by %s is not valid (%s). Nothing was sent; the server is not proven. This can be an impostor."),
                                   host, error ? error->message : _("incomplete"));
          return;
        }
    }
  if (castellan_gss_needs_mutual (self->gss))
    {
      g_task_return_new_error (task, CASTELLAN_ERROR, CASTELLAN_ERROR_MUTUAL_AUTH_FAILED,
                               _("Kerberos did not prove the identity of %s (no mutual authentication). Nothing was sent."),
                               host);
      return;
    }
  authenticated (task, msg);
}

static void
send_auth_token (GTask  *task,
                 GBytes *token)
{
  CastellanConnection *self = g_task_get_source_object (task);
  AuthData *data = g_task_get_task_data (task);
  g_autofree char *b64 = g_base64_encode (g_bytes_get_data (token, NULL), g_bytes_get_size (token));
  g_autofree char *header = g_strdup_printf ("%s %s", castellan_gss_http_scheme (self->gss), b64);
  g_autoptr(SoupMessage) msg = new_message (self, data->empty, SOAP_CONTENT_TYPE, header);

  exchange_async (self, msg, self->options->request_timeout, g_task_get_cancellable (task),
                  gss_token_response, task);
}

static void
basic_response (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  CastellanConnection *self = CASTELLAN_CONNECTION (source);
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) body = NULL;
  GError *error = NULL;
  guint status;

  body = exchange_finish (self, result, &msg, &error);
  if (body == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  status = soup_message_get_status (msg);
  if (status == SOUP_STATUS_UNAUTHORIZED)
    g_task_return_new_error (task, CASTELLAN_ERROR, CASTELLAN_ERROR_CREDENTIALS_REJECTED,
                             offers_scheme (msg, "Basic")
                               ? _("%s rejected the user name or password. Basic authentication works with local accounts only.")
                               : _("%s does not accept Basic authentication. Use Negotiate or Kerberos."),
                             self->options->endpoint->host);
  else if (status != SOUP_STATUS_OK)
    g_task_return_new_error (task, CASTELLAN_ERROR, CASTELLAN_ERROR_HTTP_STATUS,
                             _("%s answered authentication with HTTP %u %s."),
                             self->options->endpoint->host, status, soup_message_get_reason_phrase (msg));
  else
    authenticated (task, msg);
}

/* The first token may need the KDC (a ticket, or a sign-in with a
 * password), which may take long to answer or not answer at all: it is
 * made in a worker thread, so that the caller's main loop (a window) never
 * waits on it. */
typedef struct
{
  CastellanGssOptions options;   /* strings below are copies */
  CastellanGss *gss;
  GBytes *token;
} FirstStep;

static void
first_step_free (FirstStep *step)
{
  g_free ((char *) step->options.service);
  g_free ((char *) step->options.host);
  g_free ((char *) step->options.user);
  if (step->options.password != NULL)
    explicit_bzero ((char *) step->options.password, strlen (step->options.password));
  g_free ((char *) step->options.password);
  g_clear_pointer (&step->options.channel_binding, g_bytes_unref);
  g_clear_pointer (&step->options.credentials, castellan_gss_credentials_unref);
  g_clear_pointer (&step->gss, castellan_gss_free);
  g_clear_pointer (&step->token, g_bytes_unref);
  g_free (step);
}

static void
first_step_thread (GTask        *step_task,
                   gpointer      source,
                   gpointer      task_data,
                   GCancellable *cancellable)
{
  FirstStep *step = task_data;
  GError *error = NULL;

  step->gss = castellan_gss_new (&step->options, &error);
  if (step->gss == NULL || !castellan_gss_step (step->gss, NULL, 0, &step->token, &error))
    g_task_return_error (step_task, error);
  else
    g_task_return_boolean (step_task, TRUE);
}

static void
first_step_done (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  CastellanConnection *self = CASTELLAN_CONNECTION (source);
  FirstStep *step = g_task_get_task_data (G_TASK (result));
  GError *error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_task_return_error (task, error);
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    return;
  if (step->token == NULL)
    {
      g_task_return_new_error (task, CASTELLAN_ERROR, CASTELLAN_ERROR_AUTH_FAILED,
                               _("The security mechanism produced no token to send."));
      return;
    }
  g_clear_pointer (&self->gss, castellan_gss_free);
  self->gss = g_steal_pointer (&step->gss);
  send_auth_token (g_steal_pointer (&task), step->token);
}

static void
first_step_async (CastellanConnection       *self,
                  const CastellanGssOptions *options,
                  GTask                     *task)
{
  g_autoptr(GTask) step_task = g_task_new (self, g_task_get_cancellable (task),
                                           first_step_done, g_object_ref (task));
  FirstStep *step = g_new0 (FirstStep, 1);

  step->options = *options;
  step->options.service = g_strdup (options->service);
  step->options.host = g_strdup (options->host);
  step->options.user = g_strdup (options->user);
  step->options.password = g_strdup (options->password);
  if (options->channel_binding != NULL)
    step->options.channel_binding = g_bytes_ref (options->channel_binding);
  if (options->credentials != NULL)
    step->options.credentials = castellan_gss_credentials_ref (options->credentials);
  g_task_set_task_data (step_task, step, (GDestroyNotify) first_step_free);
  g_task_run_in_thread (step_task, first_step_thread);
}

static gboolean
start_authentication (GTask   *task,
                      GError **error)
{
  CastellanConnection *self = g_task_get_source_object (task);
  CastellanConnectOptions *o = self->options;
  AuthData *data = g_task_get_task_data (task);
  g_autoptr(GBytes) binding = NULL;
  CastellanGssOptions gss_options = { 0 };

  if (o->auth == CASTELLAN_AUTH_REQUEST_BASIC)
    {
      g_autofree char *pair = NULL;
      g_autofree char *b64 = NULL;
      g_autoptr(SoupMessage) msg = NULL;

      if (o->user == NULL || o->password == NULL)
        {
          g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_NO_CREDENTIALS,
                       _("Basic authentication needs a user name and a password."));
          return FALSE;
        }
      pair = g_strconcat (o->user, ":", o->password, NULL);
      b64 = g_base64_encode ((const guchar *) pair, strlen (pair));
      explicit_bzero (pair, strlen (pair));
      wipe_and_free (&self->basic_header);
      self->basic_header = g_strconcat ("Basic ", b64, NULL);
      explicit_bzero (b64, strlen (b64));
      msg = new_message (self, data->empty, SOAP_CONTENT_TYPE, self->basic_header);
      exchange_async (self, msg, o->request_timeout, g_task_get_cancellable (task),
                      basic_response, g_object_ref (task));
      return TRUE;
    }

  if (o->endpoint->https && self->peer_certificate != NULL)
    binding = castellan_tls_channel_binding (self->peer_certificate);

  gss_options.auth = o->auth;
  gss_options.service = o->spn_service;
  gss_options.host = o->endpoint->host;
  gss_options.user = o->user;
  gss_options.password = o->password;
  gss_options.delegate = o->delegate;
  gss_options.ntlm_allowed = self->decision.ntlm_allowed;
  gss_options.channel_binding = binding;
  gss_options.credentials = o->credentials;

  g_clear_pointer (&self->gss, castellan_gss_free);
  first_step_async (self, &gss_options, task);
  return TRUE;
}

static void
record_tls (CastellanConnection *self,
            SoupMessage         *msg)
{
  GTlsCertificate *cert = soup_message_get_tls_peer_certificate (msg);

  g_set_object (&self->peer_certificate, cert);
  self->tls_version = soup_message_get_tls_protocol_version (msg);
  g_free (self->tls_cipher_suite);
  self->tls_cipher_suite = g_strdup (soup_message_get_tls_ciphersuite_name (msg));
}

static gboolean
check_pin (CastellanConnection  *self,
           GError              **error)
{
  const char *pin = self->options->pinned_sha256;

  if (pin == NULL || self->peer_certificate == NULL ||
      castellan_tls_pin_matches (self->peer_certificate, pin))
    return TRUE;
  g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_BAD_CERTIFICATE,
               _("The certificate of %s is not the one you pinned: it has changed, or another server answers. Nothing was sent. Check the new certificate with the host’s administrator before you pin it."),
               self->options->endpoint->host);
  return FALSE;
}

static void
probe_response (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  CastellanConnection *self = CASTELLAN_CONNECTION (source);
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) body = NULL;
  GError *error = NULL;

  body = exchange_finish (self, result, &msg, &error);
  if (body == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  record_tls (self, msg);
  if (!check_pin (self, &error) || !start_authentication (task, &error))
    g_task_return_error (task, error);
}

/* Over HTTPS the certificate is needed before the first token, for the
 * channel binding: an empty request without credentials fetches it (and
 * fails on a certificate that does not validate). */
static void
authenticate_async (CastellanConnection *self,
                    GCancellable        *cancellable,
                    GAsyncReadyCallback  callback,
                    gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  AuthData *data = g_new0 (AuthData, 1);
  GError *error = NULL;

  g_task_set_source_tag (task, authenticate_async);
  data->empty = g_bytes_new_static ("", 0);
  g_task_set_task_data (task, data, (GDestroyNotify) auth_data_free);
  self->authenticated = FALSE;

  if (self->options->endpoint->https)
    {
      g_autoptr(SoupMessage) msg = new_message (self, data->empty, SOAP_CONTENT_TYPE, NULL);

      exchange_async (self, msg, self->options->request_timeout, cancellable,
                      probe_response, g_steal_pointer (&task));
      return;
    }
  if (!start_authentication (task, &error))
    g_task_return_error (task, error);
}

static gboolean
authenticate_finish (CastellanConnection  *self,
                     GAsyncResult         *result,
                     GError              **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
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

  if (!authenticate_finish (self, result, error))
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
  authenticate_async (self, cancellable, open_authenticated, g_steal_pointer (&task));
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
} RequestData;

static void
request_data_free (RequestData *data)
{
  g_bytes_unref (data->envelope);
  g_free (data);
}

static void send_request (GTask *task);

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
            SoupMessage          *msg,
            GBytes               *body,
            gboolean              sealed,
            GError              **error)
{
  const char *ctype = soup_message_headers_get_one (soup_message_get_response_headers (msg),
                                                    "Content-Type");
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
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GBytes) plain = NULL;
  GError *error = NULL;
  guint status;

  /* Replies are handed over in order: the one before first. */
  finish_deferred_reply (self);
  body = exchange_finish (self, result, &msg, &error);
  if (body == NULL)
    {
      request_return_error (task, error);
      return;
    }
  status = soup_message_get_status (msg);
  g_debug ("request: HTTP %u on connection %" G_GUINT64_FORMAT " (authenticated on %" G_GUINT64_FORMAT ")",
           status, soup_message_get_connection_id (msg), self->auth_connection_id);

  if (status == SOUP_STATUS_UNAUTHORIZED)
    {
      gboolean new_connection = soup_message_get_connection_id (msg) != self->auth_connection_id;

      self->authenticated = FALSE;
      if (self->gss != NULL && new_connection && !data->retried)
        {
          /* The connection the context belonged to is gone: authenticate
           * on the new one and send the request again, sealed anew. */
          GCancellable *cancellable = g_task_get_cancellable (task);

          data->retried = TRUE;
          authenticate_async (self, cancellable, request_reauthenticated, g_steal_pointer (&task));
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
                                               soup_message_get_reason_phrase (msg)));
      return;
    }
  if (status == SOUP_STATUS_BAD_REQUEST && g_bytes_get_size (body) == 0)
    {
      self->authenticated = FALSE;
      request_return_error (task, g_error_new (CASTELLAN_ERROR, CASTELLAN_ERROR_HTTP_STATUS,
                                               _("%s could not read the request (HTTP 400)."), host));
      return;
    }

  plain = open_reply (self, msg, body, data->sealed, &error);
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

static void
send_request (GTask *task)
{
  CastellanConnection *self = g_task_get_source_object (task);
  RequestData *data = g_task_get_task_data (task);
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autofree char *ctype = NULL;
  GError *error = NULL;

  if (!self->authenticated)
    {
      authenticate_async (self, g_task_get_cancellable (task), request_reauthenticated, task);
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

  msg = new_message (self, body, ctype, self->gss == NULL ? self->basic_header : NULL);
  exchange_async (self, msg, data->timeout, g_task_get_cancellable (task), request_response, task);
}

static void
run_next_request (CastellanConnection *self)
{
  GTask *task;

  while (!self->busy && (task = g_queue_pop_head (&self->pending)) != NULL)
    {
      if (g_task_return_error_if_cancelled (task))
        {
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
  g_return_if_fail (CASTELLAN_IS_CONNECTION (self));
  g_return_if_fail (envelope != NULL);

  g_queue_push_tail (&self->pending,
                     new_request (self, envelope, timeout_seconds, on_stream, stream_data, NULL,
                                  cancellable, callback, user_data));
  run_next_request (self);
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
