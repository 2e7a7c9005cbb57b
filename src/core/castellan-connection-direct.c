/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The direct lane: once libsoup has opened a connection (and its TLS) and
 * the 401 exchange has authenticated it, the WS-Man requests of the
 * session are written to that connection and their replies read from it
 * here, one at a time. libsoup's machinery for a message (a dozen objects,
 * a queue, several main-loop wake-ups, the head and the body in separate
 * writes) cost more than the request itself; here a request is one write
 * and its reply as few reads as it takes. libsoup keeps the connection as
 * idle in its pool and is used again only to open and authenticate a new
 * one, after this one has been closed. */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "castellan-connection-private.h"
#include "castellan-error.h"

#define READ_CHUNK 65536

gboolean
castellan_connection_direct_usable (CastellanConnection *self)
{
  /* A plain-HTTP proxy would need absolute request targets: libsoup's. */
  return self->lane != NULL && self->authenticated &&
         self->lane_connection_id == self->auth_connection_id &&
         (!self->lane_proxied || self->options->endpoint->https) &&
         !g_io_stream_is_closed (self->lane);
}

/* Closed, libsoup finds the connection gone when it next looks for one
 * and opens another; the next request authenticates it. */
void
castellan_connection_direct_close (CastellanConnection *self)
{
  g_autoptr(GIOStream) lane = g_steal_pointer (&self->lane);

  if (lane != NULL)
    self->authenticated = FALSE;
  castellan_connection_direct_unwatch (self);
  if (self->lane_carry != NULL)
    g_byte_array_set_size (self->lane_carry, 0);
  self->lane_unread = 0;
  if (lane != NULL && !g_io_stream_is_closed (lane))
    {
      g_debug ("direct lane: closing connection %" G_GUINT64_FORMAT, self->lane_connection_id);
      g_io_stream_close (lane, NULL, NULL);
    }
}

static void read_reply (GTask *task);
static void fail (GTask *task, GError *error);

/* Bytes read past the end of a reply: the start of the next one, when
 * requests went out ahead of their replies. */
static void
keep_for_next (CastellanConnection *self,
               const guint8        *data,
               gsize                length)
{
  if (length == 0)
    return;
  if (self->lane_carry == NULL)
    self->lane_carry = g_byte_array_new ();
  g_byte_array_append (self->lane_carry, data, length);
}

/* The lane's socket is watched by one source for as long as the lane
 * lives: a source made and dropped for every reply adds and removes a
 * file descriptor of the main loop each time, and each of those wakes the
 * loop once more. */
typedef struct
{
  GSource source;
  CastellanConnection *self;      /* not a reference: the source dies first */
} LaneWatch;

static gboolean
lane_watch_dispatch (GSource     *source,
                     GSourceFunc  callback,
                     gpointer     user_data)
{
  CastellanConnection *self = ((LaneWatch *) source)->self;
  GTask *task = g_steal_pointer (&self->lane_waiting);

  g_source_set_ready_time (source, -1);
  if (task != NULL)
    {
      read_reply (task);
    }
  else if (self->lane != NULL && self->lane_unread == 0)
    {
      GInputStream *in = g_io_stream_get_input_stream (self->lane);
      g_autoptr(GError) error = NULL;
      guint8 byte;

      /* Nothing asked, yet something came (TLS records aside): the host
       * closed the idle connection, or talks out of turn. */
      if (g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (in), &byte, 1, NULL, &error) >= 0 ||
          !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        castellan_connection_direct_close (self);
    }
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs lane_watch_funcs = { NULL, NULL, lane_watch_dispatch, NULL, NULL, NULL };

static int
lane_fd (GIOStream *lane)
{
  g_autoptr(GIOStream) base = NULL;

  if (G_IS_TLS_CONNECTION (lane))
    g_object_get (lane, "base-io-stream", &base, NULL);
  else
    base = g_object_ref (lane);
  if (!G_IS_SOCKET_CONNECTION (base))
    return -1;
  return g_socket_get_fd (g_socket_connection_get_socket (G_SOCKET_CONNECTION (base)));
}

/* Drops the lane's watch (before the lane itself is closed). */
void
castellan_connection_direct_unwatch (CastellanConnection *self)
{
  if (self->lane_watch != NULL)
    {
      g_source_destroy (self->lane_watch);
      g_clear_pointer (&self->lane_watch, g_source_unref);
    }
  self->lane_waiting = NULL;
}

static void
exchange_cancelled (GCancellable *cancellable,
                    gpointer      data)
{
  CastellanConnection *self = data;

  /* The waiting read finds the cancellation. */
  if (self->lane_watch != NULL)
    g_source_set_ready_time (self->lane_watch, 0);
}

static void
wait_readable (GTask *task)
{
  CastellanExchange *ex = g_task_get_task_data (task);
  CastellanConnection *self = ex->self;

  if (self->lane_watch == NULL)
    {
      int fd = lane_fd (ex->lane);

      if (fd < 0)
        {
          fail (task, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                                           "the connection has no socket to watch"));
          return;
        }
      self->lane_watch = g_source_new (&lane_watch_funcs, sizeof (LaneWatch));
      ((LaneWatch *) self->lane_watch)->self = self;
      g_source_add_unix_fd (self->lane_watch, fd, G_IO_IN | G_IO_HUP | G_IO_ERR);
      /* GLib takes a source's descriptors out of the main loop while it
       * runs it, and puts them back after, waking the loop each time,
       * unless the source may recurse. Its dispatch copes with that. */
      g_source_set_can_recurse (self->lane_watch, TRUE);
      g_source_attach (self->lane_watch, g_main_context_get_thread_default ());
    }
  if (ex->cancel_handler == 0)
    ex->cancel_handler = g_cancellable_connect (ex->cancellable, G_CALLBACK (exchange_cancelled), self, NULL);
  self->lane_waiting = task;
}

static void
fail (GTask  *task,
      GError *error)
{
  CastellanExchange *ex = g_task_get_task_data (task);

  /* Nothing of the reply came, and nothing says the host acted on the
   * request: a kept-alive connection the host had closed. */
  if (!ex->answered && !ex->timed_out && !g_cancellable_is_cancelled (ex->caller) &&
      (error == NULL || !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)))
    ex->stale = TRUE;
  if (error == NULL)
    error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT,
                                 "the connection was closed during the reply");
  g_debug ("direct lane: %s (%s)", error->message, ex->stale ? "before the reply" : "during the reply");
  castellan_connection_exchange_return (task, NULL, error);
}

static void
malformed (GTask        *task,
           const GError *why)
{
  CastellanExchange *ex = g_task_get_task_data (task);

  g_debug ("direct lane: %s", why->message);
  castellan_connection_exchange_return (task, NULL,
                                        g_error_new (CASTELLAN_ERROR, CASTELLAN_ERROR_MALFORMED_REPLY,
                                                     _("%s sent a reply that is not valid HTTP. The service may be misbehaving, or something on the way altered the reply."),
                                                     ex->self->options->endpoint->host));
}

/* The reply is complete: the connection carries the next request, unless
 * the host said it closes it. */
static void
reply_complete (GTask *task)
{
  CastellanExchange *ex = g_task_get_task_data (task);

  if (ex->self->lane_unread > 0)
    ex->self->lane_unread--;
  if (ex->head.close)
    castellan_connection_direct_close (ex->self);
  castellan_connection_exchange_body_complete (task);
}

/* Takes body bytes just read (at ex->body->data + body_length + raw):
 * FALSE when the exchange is over. */
static gboolean
take_body (GTask *task,
           gsize  n)
{
  CastellanExchange *ex = g_task_get_task_data (task);
  GError *error = NULL;

  if (ex->head.chunked)
    {
      guint8 *raw = ex->body->data + ex->body_length;
      gsize consumed = 0;
      gboolean done = FALSE;
      gsize decoded;

      ex->raw += n;
      decoded = castellan_http1_dechunk (&ex->chunks, raw, ex->raw, &consumed, &done, &error);
      if (error != NULL)
        {
          malformed (task, error);
          g_error_free (error);
          return FALSE;
        }
      ex->raw -= consumed;
      memmove (raw + decoded, raw + consumed, ex->raw);
      ex->body_length += decoded;
      if (castellan_connection_exchange_over_limit (task))
        return FALSE;
      if (done)
        {
          keep_for_next (ex->self, raw + decoded, ex->raw);
          ex->raw = 0;
          reply_complete (task);
          return FALSE;
        }
      return TRUE;
    }
  ex->body_length += n;
  if (castellan_connection_exchange_over_limit (task))
    return FALSE;
  if (ex->head.content_length >= 0 && ex->body_length >= (guint64) ex->head.content_length)
    {
      keep_for_next (ex->self, ex->body->data + ex->head.content_length,
                     ex->body_length - ex->head.content_length);
      ex->body_length = ex->head.content_length;
      reply_complete (task);
      return FALSE;
    }
  return TRUE;
}

/* Once the head is in: its status and headers, and what of the body came
 * with it. */
static gboolean
take_head (GTask *task)
{
  CastellanExchange *ex = g_task_get_task_data (task);
  GError *error = NULL;
  gssize head_length;
  gsize extra;

  head_length = castellan_http1_parse_head ((const char *) ex->buffer->data, ex->done, &ex->head, &error);
  if (head_length < 0)
    {
      malformed (task, error);
      g_error_free (error);
      return FALSE;
    }
  if (head_length == 0)
    return TRUE;
  extra = ex->done - head_length;
  if (ex->head.status < 200)
    {
      /* 100 Continue and the like: the real reply follows. */
      memmove (ex->buffer->data, ex->buffer->data + head_length, extra);
      ex->done = extra;
      return extra == 0 || take_head (task);
    }
  castellan_connection_exchange_take_body (ex, ex->head.content_length > 0 ? ex->head.content_length : 0);
  if (ex->head.content_length == 0 || ex->head.status == 204 || ex->head.status == 304)
    {
      ex->head.content_length = 0;
      keep_for_next (ex->self, ex->buffer->data + head_length, extra);
      reply_complete (task);
      return FALSE;
    }
  ex->done = 0;   /* from now on, reads go to the body */
  if (ex->body->len < extra + READ_CHUNK)
    g_byte_array_set_size (ex->body, extra + READ_CHUNK);
  memcpy (ex->body->data, ex->buffer->data + head_length, extra);
  return extra == 0 || take_body (task, extra);
}

static void
read_reply (GTask *task)
{
  CastellanExchange *ex = g_task_get_task_data (task);
  GPollableInputStream *in = G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (ex->lane));

  for (;;)
    {
      gboolean in_head = ex->body == NULL;
      GByteArray *into = in_head ? ex->buffer : ex->body;
      gsize at = in_head ? ex->done : ex->body_length + ex->raw;
      GError *error = NULL;
      gssize n;

      if (into->len < at + READ_CHUNK / 4)
        g_byte_array_set_size (into, MAX (into->len * 2, at + READ_CHUNK));
      n = g_pollable_input_stream_read_nonblocking (in, into->data + at, into->len - at,
                                                    ex->cancellable, &error);
      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          g_error_free (error);
          wait_readable (task);
          return;
        }
      if (n < 0)
        {
          fail (task, error);
          return;
        }
      if (n == 0)
        {
          /* A body without a length ends with the connection. */
          if (!in_head && !ex->head.chunked && ex->head.content_length < 0)
            {
              ex->head.close = TRUE;
              reply_complete (task);
            }
          else
            {
              fail (task, NULL);
            }
          return;
        }
      ex->answered = TRUE;
      if (in_head)
        {
          ex->done += n;
          if (!take_head (task))
            return;
        }
      else if (!take_body (task, n))
        {
          return;
        }
    }
}

/* What came past the last reply is this one's start; the rest is
 * waited for (the host has barely had the request: a read now would find
 * nothing). */
static void
start_reading (GTask *task)
{
  CastellanExchange *ex = g_task_get_task_data (task);
  GByteArray *carry = ex->self->lane_carry;

  ex->done = 0;
  if (carry == NULL || carry->len == 0)
    {
      wait_readable (task);
      return;
    }
  if (ex->buffer->len < carry->len)
    g_byte_array_set_size (ex->buffer, carry->len);
  memcpy (ex->buffer->data, carry->data, carry->len);
  ex->done = carry->len;
  g_byte_array_set_size (carry, 0);
  ex->answered = TRUE;
  if (take_head (task))
    read_reply (task);
}

static void
read_reply_after_write (GTask *task)
{
  CastellanExchange *ex = g_task_get_task_data (task);

  /* The Authorization header (Basic) is a secret: not left in memory. */
  if (ex->wipe)
    explicit_bzero (ex->buffer->data, ex->buffer->len);
  start_reading (task);
}

static void
request_written (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  GTask *task = user_data;
  GError *error = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      fail (task, error);
      return;
    }
  read_reply_after_write (task);
}

/* An exchange on the lane, with the lane's buffer to write and read in. */
static GTask *
lane_exchange_new (CastellanConnection *self,
                   guint                timeout_seconds,
                   GCancellable        *caller,
                   GAsyncReadyCallback  callback,
                   gpointer             user_data)
{
  GTask *task = castellan_connection_exchange_new (self, timeout_seconds, caller, callback, user_data);
  CastellanExchange *ex = g_task_get_task_data (task);

  ex->lane = g_object_ref (self->lane);
  ex->buffer = g_steal_pointer (&self->lane_buffer);
  if (ex->buffer == NULL)
    ex->buffer = g_byte_array_sized_new (READ_CHUNK);
  return task;
}

/**
 * castellan_connection_direct_exchange_async:
 *
 * @then: (nullable): a second request, written in the same go; its reply
 *   is read by castellan_connection_direct_read_async()
 *
 * castellan_connection_exchange_async() on the authenticated connection
 * itself (see castellan_connection_direct_usable()); the result is taken
 * with castellan_connection_exchange_finish().
 */
void
castellan_connection_direct_exchange_async (CastellanConnection *self,
                                            GBytes              *body,
                                            GBytes              *then,
                                            const char          *content_type,
                                            const char          *authorization,
                                            guint                timeout_seconds,
                                            GCancellable        *caller,
                                            GAsyncReadyCallback  callback,
                                            gpointer             user_data)
{
  GTask *task = lane_exchange_new (self, timeout_seconds, caller, callback, user_data);
  CastellanExchange *ex = g_task_get_task_data (task);
  const CastellanEndpoint *endpoint = self->options->endpoint;
  GPollableOutputStream *out;
  g_autoptr(GString) head = g_string_sized_new (512);
  GBytes *requests[] = { body, then };
  GError *error = NULL;
  gssize n;

  ex->wipe = authorization != NULL;

  /* The Host header, once per connection. An IPv6 zone (fe80::1%eth0)
   * means nothing to the host. */
  if (self->host_header == NULL)
    self->host_header = strchr (endpoint->host, ':') != NULL
                          ? g_strdup_printf ("[%.*s]:%u", (int) strcspn (endpoint->host, "%"),
                                             endpoint->host, endpoint->port)
                          : g_strdup_printf ("%s:%u", endpoint->host, endpoint->port);
  g_byte_array_set_size (ex->buffer, 0);
  for (guint i = 0; i < G_N_ELEMENTS (requests) && requests[i] != NULL; i++)
    {
      gsize length;
      const guint8 *data = g_bytes_get_data (requests[i], &length);

      g_string_truncate (head, 0);
      castellan_http1_append_request (head, self->host_header, endpoint->path, "Castellan/" PACKAGE_VERSION,
                                      content_type, length, authorization);
      g_byte_array_append (ex->buffer, (const guint8 *) head->str, head->len);
      g_byte_array_append (ex->buffer, data, length);
      /* The Authorization header (Basic) is a secret: not left in memory. */
      if (authorization != NULL)
        explicit_bzero (head->str, head->len);
      self->lane_unread++;
    }

  /* One write, taken at once by the socket in all but odd cases. */
  out = G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (ex->lane));
  n = g_pollable_output_stream_write_nonblocking (out, ex->buffer->data, ex->buffer->len,
                                                  ex->cancellable, &error);
  if (n < 0 && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    {
      fail (task, error);
      return;
    }
  g_clear_error (&error);
  n = MAX (n, 0);
  if ((gsize) n < ex->buffer->len)
    {
      g_output_stream_write_all_async (G_OUTPUT_STREAM (out), ex->buffer->data + n,
                                       ex->buffer->len - n, G_PRIORITY_DEFAULT, ex->cancellable,
                                       request_written, task);
      return;
    }
  read_reply_after_write (task);
}

/**
 * castellan_connection_direct_read_async:
 *
 * The reply to a request that went out with the one before it (@then of
 * castellan_connection_direct_exchange_async()).
 */
void
castellan_connection_direct_read_async (CastellanConnection *self,
                                        guint                timeout_seconds,
                                        GCancellable        *caller,
                                        GAsyncReadyCallback  callback,
                                        gpointer             user_data)
{
  GTask *task = lane_exchange_new (self, timeout_seconds, caller, callback, user_data);
  CastellanExchange *ex = g_task_get_task_data (task);

  /* It was written: whatever happens now, it is not a stale connection's. */
  ex->answered = TRUE;
  start_reading (task);
}
