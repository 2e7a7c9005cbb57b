/* SPDX-License-Identifier: GPL-3.0-or-later */
/* One HTTP exchange through libsoup, bounded in time and in size, its
 * reply body read as it arrives into a reused buffer. It watches the
 * message's network events: every TCP connection libsoup opens for it is
 * limited to HTTP/1.1 and described (certificate, TLS version and suite,
 * channel binding) to the caller, who may refuse it before the request is
 * written on it. */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "castellan-error.h"
#include "castellan-exchange.h"
#include "castellan-net-error.h"
#include "castellan-tls.h"

/* Read at most this much per main-loop dispatch: a host that sends fast
 * cannot starve the rest of the program. */
#define READ_BUDGET (4 * 1024 * 1024)
/* Informational (1xx) heads before the real one: an honest host sends
 * one at most. */
#define MAX_INFORMATIONAL 4

/* ---- links -------------------------------------------------------------- */

CastellanLink *
castellan_link_copy (const CastellanLink *link)
{
  CastellanLink *copy = g_new0 (CastellanLink, 1);

  copy->id = link->id;
  g_set_object (&copy->certificate, link->certificate);
  copy->tls_version = link->tls_version;
  copy->tls_cipher_suite = g_strdup (link->tls_cipher_suite);
  copy->channel_binding = link->channel_binding ? g_bytes_ref (link->channel_binding) : NULL;
  return copy;
}

static void
link_clear (CastellanLink *link)
{
  g_clear_object (&link->certificate);
  g_clear_pointer (&link->tls_cipher_suite, g_free);
  g_clear_pointer (&link->channel_binding, g_bytes_unref);
}

void
castellan_link_free (CastellanLink *link)
{
  if (link == NULL)
    return;
  link_clear (link);
  g_free (link);
}

/* ---- the buffer shelf ---------------------------------------------------- */

struct _CastellanBufferShelf
{
  gatomicrefcount ref;
  GByteArray *spare;
};

CastellanBufferShelf *
castellan_buffer_shelf_new (void)
{
  CastellanBufferShelf *shelf = g_new0 (CastellanBufferShelf, 1);

  g_atomic_ref_count_init (&shelf->ref);
  return shelf;
}

CastellanBufferShelf *
castellan_buffer_shelf_ref (CastellanBufferShelf *shelf)
{
  g_atomic_ref_count_inc (&shelf->ref);
  return shelf;
}

void
castellan_buffer_shelf_unref (CastellanBufferShelf *shelf)
{
  if (shelf != NULL && g_atomic_ref_count_dec (&shelf->ref))
    {
      g_clear_pointer (&shelf->spare, g_byte_array_unref);
      g_free (shelf);
    }
}

static GByteArray *
shelf_take (CastellanBufferShelf *shelf)
{
  GByteArray *buffer = shelf ? g_steal_pointer (&shelf->spare) : NULL;

  return buffer ? buffer : g_byte_array_new ();
}

typedef struct
{
  CastellanBufferShelf *shelf;
  GByteArray *buffer;
} LentBody;

/* The body's bytes are released: its buffer goes back on the shelf. */
static void
body_returned (gpointer data)
{
  LentBody *lent = data;

  if (lent->shelf != NULL && lent->shelf->spare == NULL)
    lent->shelf->spare = g_steal_pointer (&lent->buffer);
  g_clear_pointer (&lent->buffer, g_byte_array_unref);
  castellan_buffer_shelf_unref (lent->shelf);
  g_free (lent);
}

/* ---- the exchange -------------------------------------------------------- */

typedef struct
{
  SoupMessage *msg;
  CastellanEndpoint *endpoint;
  char *pin;
  guint timeout_seconds;
  gsize body_limit;
  gboolean reconnecting;
  CastellanBufferShelf *shelf;
  CastellanAdmitFunc admit;
  gpointer admit_data;

  GCancellable *cancellable;      /* ours: cancelled on timeout, refusal or by the caller */
  GCancellable *caller;
  gulong caller_handler;
  GSource *timeout;
  gboolean timed_out;
  GError *refusal;                /* why a new connection was refused */
  GError *protocol_error;         /* what the reply broke */
  GTlsCertificateFlags tls_errors;
  gboolean pin_mismatch;
  gboolean sent;                  /* the whole request went out */
  gboolean answered;              /* a reply's head came back */
  gboolean new_connection;
  guint informational;
  CastellanLink link;             /* the connection being opened */

  GInputStream *stream;
  GByteArray *body;
  gsize body_length;
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
  if (ex->msg != NULL)
    g_signal_handlers_disconnect_by_data (ex->msg, ex);
  g_clear_object (&ex->msg);
  g_clear_object (&ex->cancellable);
  g_clear_object (&ex->stream);
  g_clear_pointer (&ex->body, g_byte_array_unref);
  g_clear_error (&ex->refusal);
  g_clear_error (&ex->protocol_error);
  castellan_buffer_shelf_unref (ex->shelf);
  castellan_endpoint_free (ex->endpoint);
  g_free (ex->pin);
  link_clear (&ex->link);
  g_free (ex);
}

void
castellan_exchange_reply_free (CastellanExchangeReply *reply)
{
  if (reply == NULL)
    return;
  g_free (reply->reason);
  g_free (reply->content_type);
  g_free (reply->date);
  g_free (reply->www_authenticate);
  g_clear_pointer (&reply->body, g_bytes_unref);
  g_free (reply);
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

/* Fails the exchange when the reply breaks a rule: later, from the read
 * that notices the cancellation. */
static void
break_off (Exchange *ex,
           GError   *error)
{
  if (ex->protocol_error == NULL)
    ex->protocol_error = error;
  else
    g_error_free (error);
  g_cancellable_cancel (ex->cancellable);
}

static gboolean
on_accept_certificate (SoupMessage          *msg,
                       GTlsCertificate      *certificate,
                       GTlsCertificateFlags  errors,
                       gpointer              user_data)
{
  Exchange *ex = user_data;

  /* Validation (against the pin, when there is one: see
   * castellan-pin-database.c) has failed: never accepted. */
  ex->tls_errors = errors;
  ex->pin_mismatch = ex->pin != NULL && !castellan_tls_pin_matches (certificate, ex->pin);
  return FALSE;
}

static GBytes *
channel_binding (GTlsConnection *tls)
{
  g_autoptr(GByteArray) data = g_byte_array_new ();

  /* GLib gives tls-server-end-point from the handshake itself; the
   * certificate's hash is the same thing where the backend cannot. */
  if (g_tls_connection_get_channel_binding_data (tls, G_TLS_CHANNEL_BINDING_TLS_SERVER_END_POINT,
                                                 data, NULL))
    {
      static const char prefix[] = "tls-server-end-point:";

      g_byte_array_prepend (data, (const guint8 *) prefix, sizeof prefix - 1);
      return g_byte_array_free_to_bytes (g_steal_pointer (&data));
    }
  return castellan_tls_channel_binding (g_tls_connection_get_peer_certificate (tls));
}

static void
offer_http1_only (SoupMessage        *msg,
                  GSocketClientEvent  event,
                  GIOStream          *connection,
                  gpointer            user_data)
{
  static const char *const http1[] = { "http/1.1", NULL };

  /* WinRM's security contexts belong to a connection, and libsoup would
   * otherwise offer h2 in ALPN, which HTTP.sys accepts. libsoup reports
   * the handshake before it starts it. */
  if (event == G_SOCKET_CLIENT_TLS_HANDSHAKING && G_IS_TLS_CONNECTION (connection))
    g_tls_connection_set_advertised_protocols (G_TLS_CONNECTION (connection), http1);
}

/**
 * castellan_exchange_offer_http1_only:
 *
 * Every TLS connection libsoup opens for @msg offers HTTP/1.1 alone.
 */
void
castellan_exchange_offer_http1_only (SoupMessage *msg)
{
  g_signal_connect (msg, "network-event", G_CALLBACK (offer_http1_only), NULL);
}

static void
on_network_event (SoupMessage        *msg,
                  GSocketClientEvent  event,
                  GIOStream          *connection,
                  gpointer            user_data)
{
  Exchange *ex = user_data;

  offer_http1_only (msg, event, connection, NULL);
  switch (event)
    {
    case G_SOCKET_CLIENT_CONNECTED:
      ex->new_connection = TRUE;
      link_clear (&ex->link);
      break;

    case G_SOCKET_CLIENT_TLS_HANDSHAKED:
      if (G_IS_TLS_CONNECTION (connection))
        {
          GTlsConnection *tls = G_TLS_CONNECTION (connection);

          g_set_object (&ex->link.certificate, g_tls_connection_get_peer_certificate (tls));
          ex->link.tls_version = g_tls_connection_get_protocol_version (tls);
          g_free (ex->link.tls_cipher_suite);
          ex->link.tls_cipher_suite = g_tls_connection_get_ciphersuite_name (tls);
          g_clear_pointer (&ex->link.channel_binding, g_bytes_unref);
          ex->link.channel_binding = channel_binding (tls);
          if (g_strcmp0 (g_tls_connection_get_negotiated_protocol (tls), "h2") == 0)
            break_off (ex, g_error_new (CASTELLAN_ERROR, CASTELLAN_ERROR_MALFORMED_REPLY,
                                        _("%s chose HTTP/2, which was not offered. Nothing was sent."),
                                        ex->endpoint->host));
        }
      break;

    case G_SOCKET_CLIENT_COMPLETE:
      if (!ex->new_connection || ex->refusal != NULL || ex->protocol_error != NULL)
        break;
      ex->link.id = soup_message_get_connection_id (msg);
      if (ex->admit != NULL && !ex->admit (&ex->link, ex->admit_data, &ex->refusal))
        {
          g_debug ("exchange: connection %" G_GUINT64_FORMAT " refused: %s", ex->link.id,
                   ex->refusal->message);
          g_cancellable_cancel (ex->cancellable);
        }
      break;

    case G_SOCKET_CLIENT_TLS_HANDSHAKING:
    case G_SOCKET_CLIENT_RESOLVING:
    case G_SOCKET_CLIENT_RESOLVED:
    case G_SOCKET_CLIENT_CONNECTING:
    case G_SOCKET_CLIENT_PROXY_NEGOTIATING:
    case G_SOCKET_CLIENT_PROXY_NEGOTIATED:
    default:
      break;
    }
}

static void
on_wrote_body (SoupMessage *msg,
               gpointer     user_data)
{
  Exchange *ex = user_data;

  ex->sent = TRUE;
}

static void
on_got_informational (SoupMessage *msg,
                      gpointer     user_data)
{
  Exchange *ex = user_data;

  if (++ex->informational > MAX_INFORMATIONAL)
    break_off (ex, g_error_new (CASTELLAN_ERROR, CASTELLAN_ERROR_MALFORMED_REPLY,
                                _("%s sent more than %u interim (1xx) replies before its answer. The reply was discarded."),
                                ex->endpoint->host, MAX_INFORMATIONAL));
}

static GError *
coding_error (Exchange   *ex,
              const char *coding)
{
  return g_error_new (CASTELLAN_ERROR, CASTELLAN_ERROR_MALFORMED_REPLY,
                      _("%s framed its reply with the transfer coding “%s”, which WinRM never uses. The reply was discarded."),
                      ex->endpoint->host, coding ? coding : "?");
}

static const char *
transfer_coding (SoupMessage *msg)
{
  return soup_message_headers_get_list (soup_message_get_response_headers (msg), "Transfer-Encoding");
}

static void
on_got_headers (SoupMessage *msg,
                gpointer     user_data)
{
  Exchange *ex = user_data;
  const char *coding = transfer_coding (msg);

  ex->answered = TRUE;
  /* Chunked, or none: anything else (a list, gzip) frames the body in a
   * way that another reader of the same bytes could take differently. */
  if (coding != NULL && g_ascii_strcasecmp (coding, "chunked") != 0)
    break_off (ex, coding_error (ex, coding));
}

/* The error to report, said in words the user can act on. */
static GError *
explain (Exchange *ex,
         GError   *error)
{
  g_autoptr(GError) owned = error;

  if (ex->refusal != NULL)
    return g_steal_pointer (&ex->refusal);
  if (ex->protocol_error != NULL)
    return g_steal_pointer (&ex->protocol_error);
  if (ex->timed_out)
    return g_error_new (CASTELLAN_ERROR, CASTELLAN_ERROR_TIMED_OUT,
                        _("%s did not answer within %u seconds. The host may be overloaded or hung, or a firewall drops the traffic."),
                        ex->endpoint->host, ex->timeout_seconds);
  if (ex->caller != NULL && g_cancellable_is_cancelled (ex->caller))
    return g_error_new_literal (CASTELLAN_ERROR, CASTELLAN_ERROR_CANCELLED, _("Cancelled."));
  /* libsoup refuses a coding it does not know before it says it has the
   * headers. */
  if (g_error_matches (owned, SOUP_SESSION_ERROR, SOUP_SESSION_ERROR_ENCODING))
    return coding_error (ex, transfer_coding (ex->msg));
  if (ex->pin_mismatch)
    return g_error_new (CASTELLAN_ERROR, CASTELLAN_ERROR_BAD_CERTIFICATE,
                        _("The certificate of %s is not the one you pinned: it has changed, or another server answers. Nothing was sent. Check the new certificate with the host’s administrator before you pin it."),
                        ex->endpoint->host);
  if (ex->reconnecting && g_error_matches (owned, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
    return g_error_new (CASTELLAN_ERROR, CASTELLAN_ERROR_CONNECTION_LOST,
                        _("The connection to %s was lost, and the host now refuses new connections on port %u: WinRM has stopped there, or the host is restarting. Check the host, then try again."),
                        ex->endpoint->host, ex->endpoint->port);
  return castellan_net_error_translate (owned, ex->endpoint, ex->tls_errors);
}

static void
fail (GTask  *task,
      GError *error)
{
  Exchange *ex = g_task_get_task_data (task);

  g_task_return_error (task, explain (ex, error));
  g_object_unref (task);
}

static void
complete (GTask *task)
{
  Exchange *ex = g_task_get_task_data (task);
  SoupMessageHeaders *headers = soup_message_get_response_headers (ex->msg);
  CastellanExchangeReply *reply = g_new0 (CastellanExchangeReply, 1);
  LentBody *lent = g_new0 (LentBody, 1);

  reply->status = soup_message_get_status (ex->msg);
  reply->reason = g_strdup (soup_message_get_reason_phrase (ex->msg));
  reply->content_type = g_strdup (soup_message_headers_get_one (headers, "Content-Type"));
  reply->date = g_strdup (soup_message_headers_get_one (headers, "Date"));
  reply->www_authenticate = g_strdup (soup_message_headers_get_list (headers, "WWW-Authenticate"));
  reply->connection_id = soup_message_get_connection_id (ex->msg);
  reply->new_connection = ex->new_connection;
  lent->shelf = ex->shelf ? castellan_buffer_shelf_ref (ex->shelf) : NULL;
  lent->buffer = g_steal_pointer (&ex->body);
  reply->body = g_bytes_new_with_free_func (lent->buffer->data, ex->body_length, body_returned, lent);
  g_task_return_pointer (task, reply, (GDestroyNotify) castellan_exchange_reply_free);
  g_object_unref (task);
}

/* Takes one read's result: FALSE when the exchange is over. */
static gboolean
body_data (GTask  *task,
           gssize  n,
           GError *error)
{
  Exchange *ex = g_task_get_task_data (task);

  if (n < 0)
    {
      fail (task, error);
      return FALSE;
    }
  if (n == 0)
    {
      /* Read to the end, the connection can carry the next request. */
      g_input_stream_close (ex->stream, NULL, NULL);
      complete (task);
      return FALSE;
    }
  ex->body_length += n;
  if (ex->body_length <= ex->body_limit)
    return TRUE;
  /* Dropped unread past this point (the same words as
   * castellan_wsman_reply_parse(), where honest hosts' replies are
   * checked). */
  fail (task, g_error_new (CASTELLAN_ERROR, CASTELLAN_ERROR_ENVELOPE_TOO_LARGE,
                           _("%s sent a reply of %lu bytes, more than the %lu bytes asked for (MaxEnvelopeSize). It was discarded."),
                           ex->endpoint->host, (unsigned long) ex->body_length,
                           (unsigned long) ((ex->body_limit - 65536) / 2)));
  return FALSE;
}

static void read_body (GTask *task);

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
  gsize budget = READ_BUDGET;

  for (;;)
    {
      GError *error = NULL;
      gssize n;

      /* Read as much as has arrived, not a few kilobytes at a time. */
      if (ex->body->len < ex->body_length + 16384)
        g_byte_array_set_size (ex->body, MAX (ex->body->len * 2, ex->body_length + 65536));
      /* What has arrived is taken at once, up to the budget; only then is
       * a wait set up. */
      if (!pollable || budget == 0)
        break;
      n = g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (ex->stream),
                                                    ex->body->data + ex->body_length,
                                                    MIN (ex->body->len - ex->body_length, budget),
                                                    ex->cancellable, &error);
      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          g_error_free (error);
          break;
        }
      if (!body_data (task, n, error))
        return;
      budget -= MIN ((gsize) n, budget);
    }
  g_input_stream_read_async (ex->stream, ex->body->data + ex->body_length,
                             ex->body->len - ex->body_length, G_PRIORITY_DEFAULT, ex->cancellable,
                             body_read, task);
}

static void
sent_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  GTask *task = user_data;
  Exchange *ex = g_task_get_task_data (task);
  SoupMessageHeaders *headers;
  GError *error = NULL;
  goffset expected = 0;

  ex->stream = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  if (ex->stream == NULL)
    {
      fail (task, error);
      return;
    }
  if (ex->protocol_error != NULL)
    {
      fail (task, NULL);
      return;
    }
  headers = soup_message_get_response_headers (ex->msg);
  if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH)
    expected = soup_message_headers_get_content_length (headers);
  ex->body = shelf_take (ex->shelf);
  if (expected > 0 && (gsize) expected <= ex->body_limit && ex->body->len < expected + 16384)
    g_byte_array_set_size (ex->body, (guint) expected + 16384);
  read_body (task);
}

/**
 * castellan_exchange_send_async:
 *
 * Sends @msg and reads its whole reply body. The result is the reply; a
 * failure says in words what happened. Whether the request went out
 * whole (and may have been acted on) is told by the finish function.
 */
void
castellan_exchange_send_async (SoupSession                    *session,
                               SoupMessage                    *msg,
                               const CastellanExchangeOptions *options,
                               GCancellable                   *cancellable,
                               GAsyncReadyCallback             callback,
                               gpointer                        user_data)
{
  GTask *task = g_task_new (session, NULL, callback, user_data);
  Exchange *ex = g_new0 (Exchange, 1);

  g_task_set_source_tag (task, castellan_exchange_send_async);
  ex->msg = g_object_ref (msg);
  ex->endpoint = castellan_endpoint_copy (options->endpoint);
  ex->pin = g_strdup (options->pinned_sha256);
  ex->timeout_seconds = options->timeout_seconds;
  ex->body_limit = options->body_limit;
  ex->reconnecting = options->reconnecting;
  ex->shelf = options->shelf ? castellan_buffer_shelf_ref (options->shelf) : NULL;
  ex->admit = options->admit;
  ex->admit_data = options->admit_data;
  ex->cancellable = g_cancellable_new ();
  if (cancellable != NULL)
    {
      ex->caller = g_object_ref (cancellable);
      ex->caller_handler = g_cancellable_connect (cancellable, G_CALLBACK (caller_cancelled),
                                                  ex->cancellable, NULL);
    }
  ex->timeout = g_timeout_source_new_seconds (options->timeout_seconds);
  g_source_set_callback (ex->timeout, exchange_timed_out, ex, NULL);
  g_source_attach (ex->timeout, g_main_context_get_thread_default ());
  g_task_set_task_data (task, ex, (GDestroyNotify) exchange_free);

  if (options->endpoint->https)
    g_signal_connect (msg, "accept-certificate", G_CALLBACK (on_accept_certificate), ex);
  g_signal_connect (msg, "network-event", G_CALLBACK (on_network_event), ex);
  g_signal_connect (msg, "wrote-body", G_CALLBACK (on_wrote_body), ex);
  g_signal_connect (msg, "got-informational", G_CALLBACK (on_got_informational), ex);
  g_signal_connect (msg, "got-headers", G_CALLBACK (on_got_headers), ex);
  soup_session_send_async (session, msg, G_PRIORITY_DEFAULT, ex->cancellable, sent_cb, task);
}

/**
 * castellan_exchange_send_finish:
 * @sent: (out) (optional): whether the whole request went out, so that
 *   the host may have acted on it even though the exchange failed
 * @answered: (out) (optional): whether a reply began to come back
 */
CastellanExchangeReply *
castellan_exchange_send_finish (GAsyncResult  *result,
                                gboolean      *sent,
                                gboolean      *answered,
                                GError       **error)
{
  Exchange *ex = g_task_get_task_data (G_TASK (result));

  if (sent != NULL)
    *sent = ex->sent;
  if (answered != NULL)
    *answered = ex->answered;
  return g_task_propagate_pointer (G_TASK (result), error);
}
