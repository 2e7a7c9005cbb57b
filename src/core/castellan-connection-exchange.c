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

/* ---- One HTTP exchange, bounded in time ------------------------------ */


static void
exchange_free (CastellanExchange *ex)
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
  if (ex->cancel_handler != 0)
    g_cancellable_disconnect (ex->cancellable, ex->cancel_handler);
  g_clear_object (&ex->cancellable);
  g_clear_object (&ex->stream);
  g_clear_pointer (&ex->body, g_byte_array_unref);
  castellan_http1_head_clear (&ex->head);
  g_clear_object (&ex->msg);
  g_clear_object (&ex->lane);
  if (ex->buffer != NULL && ex->self->lane_buffer == NULL)
    ex->self->lane_buffer = g_steal_pointer (&ex->buffer);
  g_clear_pointer (&ex->buffer, g_byte_array_unref);
  g_clear_object (&ex->self);
  g_free (ex);
}

static gboolean
exchange_timed_out (gpointer data)
{
  CastellanExchange *ex = data;

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
  CastellanConnection *self = user_data;

  /* Requests are small and answered at once: no Nagle delays. */
  if (event == G_SOCKET_CLIENT_CONNECTED && G_IS_SOCKET_CONNECTION (connection))
    {
      GSocket *socket = g_socket_connection_get_socket (G_SOCKET_CONNECTION (connection));

      g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
      castellan_connection_direct_close (self);
      self->lane_proxied = FALSE;
    }
  else if (event == G_SOCKET_CLIENT_PROXY_NEGOTIATING)
    {
      self->lane_proxied = TRUE;
    }
  else if (event == G_SOCKET_CLIENT_COMPLETE && connection != NULL)
    {
      /* Once authenticated, requests go on this connection directly. */
      g_set_object (&self->lane, connection);
      self->lane_connection_id = soup_message_get_connection_id (msg);
    }
}

static void
unref_closure_data (gpointer  data,
                    GClosure *closure)
{
  g_object_unref (data);
}

SoupMessage *
castellan_connection_new_message (CastellanConnection *self,
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
  g_signal_connect_data (msg, "network-event", G_CALLBACK (on_network_event),
                         g_object_ref (self), unref_closure_data, 0);
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
void
castellan_connection_exchange_return (GTask  *task_in,
                                      GBytes *body,
                                      GError *error_in)
{
  g_autoptr(GTask) task = task_in;
  CastellanExchange *ex = g_task_get_task_data (task);
  g_autoptr(GError) error = error_in;

  if (body == NULL)
    {
      CastellanConnection *self = ex->self;

      /* Whatever was on that connection, its context is gone. */
      self->authenticated = FALSE;
      castellan_connection_direct_close (self);
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

void
castellan_connection_exchange_body_complete (GTask *task)
{
  CastellanExchange *ex = g_task_get_task_data (task);
  LentBody *lent = g_new0 (LentBody, 1);
  GBytes *body;

  lent->self = g_object_ref (ex->self);
  lent->buffer = g_steal_pointer (&ex->body);
  body = g_bytes_new_with_free_func (lent->buffer->data, ex->body_length, body_returned, lent);
  castellan_connection_exchange_return (task, body, NULL);
}

/* Takes one read's result: FALSE when the exchange is over (at the end of
 * the body, or failed). */
static gboolean
body_data (GTask  *task,
           gssize  n,
           GError *error)
{
  CastellanExchange *ex = g_task_get_task_data (task);

  if (n < 0)
    {
      castellan_connection_exchange_return (task, NULL, error);
      return FALSE;
    }
  if (n == 0)
    {
      /* Read to the end and closed (which, at the end, does not block),
       * the connection can carry the next request. A failure to close
       * changes nothing of the body. */
      g_input_stream_close (ex->stream, NULL, NULL);
      castellan_connection_exchange_body_complete (task);
      return FALSE;
    }
  ex->body_length += n;
  return !castellan_connection_exchange_over_limit (task);
}

/* TRUE, and the exchange failed, when the body has grown past the limit. */
gboolean
castellan_connection_exchange_over_limit (GTask *task)
{
  CastellanExchange *ex = g_task_get_task_data (task);

  if (ex->body_length <= ex->body_limit)
    return FALSE;
  /* The reply is dropped unread past this point (the same words as
   * castellan_wsman_reply_parse(), where honest hosts' replies are
   * checked). */
  castellan_connection_exchange_return (task, NULL,
                                        g_error_new (CASTELLAN_ERROR, CASTELLAN_ERROR_ENVELOPE_TOO_LARGE,
                                                     _("%s sent a reply of %lu bytes, more than the %lu bytes asked for (MaxEnvelopeSize). It was discarded."),
                                                     ex->self->options->endpoint->host, (unsigned long) ex->body_length,
                                                     (unsigned long) ex->self->max_envelope));
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
  CastellanExchange *ex = g_task_get_task_data (task);
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
  CastellanExchange *ex = g_task_get_task_data (task);
  SoupMessageHeaders *headers;
  GError *error = NULL;
  goffset length = 0;

  ex->stream = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  if (ex->stream == NULL)
    {
      castellan_connection_exchange_return (task, NULL, error);
      return;
    }
  headers = soup_message_get_response_headers (ex->msg);
  ex->head.status = soup_message_get_status (ex->msg);
  ex->head.reason = g_strdup (soup_message_get_reason_phrase (ex->msg));
  ex->head.content_type = g_strdup (soup_message_headers_get_one (headers, "Content-Type"));
  ex->head.date = g_strdup (soup_message_headers_get_one (headers, "Date"));
  if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH)
    length = soup_message_headers_get_content_length (headers);
  castellan_connection_exchange_take_body (ex, length);
  read_body (task);
}

/* Takes the connection's reply buffer, with room for @expected bytes. */
void
castellan_connection_exchange_take_body (CastellanExchange *ex,
                                         gsize              expected)
{
  CastellanConnection *self = ex->self;

  /* A reply is at most the envelope size asked for, plus the framing of
   * its encryption; twice that is room enough for any honest host. */
  ex->body_limit = (gsize) self->max_envelope * 2 + 65536;
  ex->body = g_steal_pointer (&self->spare_body);
  if (ex->body == NULL)
    ex->body = g_byte_array_new ();
  if (expected > 0 && expected <= ex->body_limit && ex->body->len < expected + 16384)
    g_byte_array_set_size (ex->body, (guint) expected + 16384);
}

/* Sends msg; the task's result is the body, the message stays in the
 * task data for its status and headers. */
void
castellan_connection_exchange_async (CastellanConnection *self,
                                     SoupMessage         *msg,
                                     guint                timeout_seconds,
                                     GCancellable        *caller,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  GTask *task = castellan_connection_exchange_new (self, timeout_seconds, caller, callback, user_data);
  CastellanExchange *ex = g_task_get_task_data (task);

  ex->msg = g_object_ref (msg);
  soup_session_send_async (self->session, msg, G_PRIORITY_DEFAULT, ex->cancellable,
                           exchange_sent, task);
}

/* A task for one exchange, its timeout running. */
GTask *
castellan_connection_exchange_new (CastellanConnection *self,
                                   guint                timeout_seconds,
                                   GCancellable        *caller,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  GTask *task = g_task_new (self, caller, callback, user_data);
  CastellanExchange *ex = g_new0 (CastellanExchange, 1);

  g_task_set_source_tag (task, castellan_connection_exchange_async);
  ex->self = g_object_ref (self);
  ex->head.content_length = -1;
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
  return task;
}

/* @msg: (out) (nullable): NULL from the direct lane
 * @head: (out caller-allocates) (optional): the response's status and
 *   headers, to be cleared */
GBytes *
castellan_connection_exchange_finish (CastellanConnection  *self,
                                      GAsyncResult         *result,
                                      SoupMessage         **msg,
                                      CastellanHttp1Head   *head,
                                      GError              **error)
{
  CastellanExchange *ex = g_task_get_task_data (G_TASK (result));

  *msg = ex->msg != NULL ? g_object_ref (ex->msg) : NULL;
  if (head != NULL)
    {
      *head = ex->head;
      memset (&ex->head, 0, sizeof ex->head);
    }
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* TRUE when the exchange failed because the kept-alive connection had
 * been closed before any of the reply came: the request can be sent
 * again on a new connection, as libsoup does for its own. */
gboolean
castellan_connection_exchange_was_stale (GAsyncResult *result)
{
  CastellanExchange *ex = g_task_get_task_data (G_TASK (result));

  return ex->stale;
}

