/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The peer's side of one connection: HTTP requests in, each reply out
 * in one send, TLS for HTTPS, and the way of a POST to /wsman. */
/* memmem */
#define _GNU_SOURCE

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench-peer.h"

#define MAX_HEAD (64 * 1024)
#define MAX_BODY (16 * 1024 * 1024)
#define SOAP_TYPE "application/soap+xml;charset=UTF-8"

/* ---- I/O ---------------------------------------------------------------- */

static gboolean
conn_write (Conn       *c,
            const char *data,
            gsize       len)
{
  while (len > 0)
    {
      gssize n;

      /* GnuTLS sends at most one record per call: the loop goes on for a
       * body larger than that, a plain socket takes it all at once. */
      if (c->tls != NULL)
        n = gnutls_record_send (c->tls, data, len);
      else
        n = send (c->fd, data, len, MSG_NOSIGNAL);
      if (n < 0)
        {
          if (c->tls != NULL ? n == GNUTLS_E_INTERRUPTED || n == GNUTLS_E_AGAIN : errno == EINTR)
            continue;
          return FALSE;
        }
      data += n;
      len -= n;
    }
  return TRUE;
}

/* Reads more into c->in; FALSE at the end of the connection. */
static gboolean
conn_read (Conn *c)
{
  if (c->in_size - c->in_len < 16384)
    {
      c->in_size = MAX (c->in_size * 2, c->in_len + 65536);
      c->in = g_realloc (c->in, c->in_size);
    }
  for (;;)
    {
      gssize n;

      if (c->tls != NULL)
        {
          n = gnutls_record_recv (c->tls, c->in + c->in_len, c->in_size - c->in_len);
          if (n == GNUTLS_E_INTERRUPTED)
            continue;
        }
      else
        {
          n = recv (c->fd, c->in + c->in_len, c->in_size - c->in_len, 0);
          if (n < 0 && errno == EINTR)
            continue;
        }
      if (n <= 0)
        return FALSE;
      c->in_len += n;
      return TRUE;
    }
}

static const char *
reason_phrase (int status)
{
  switch (status)
    {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Request Entity Too Large";
    case 500:
      return "Internal Server Error";
    default:
      return "Error";
    }
}

/* HTTP.sys dates every response; strftime only once a second. */
static void
update_date (Conn *c)
{
  time_t now = time (NULL);
  struct tm tm;

  if (now == c->date_second)
    return;
  c->date_second = now;
  gmtime_r (&now, &tm);
  strftime (c->date, sizeof c->date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* Sends c->out (HEAD_ROOM bytes, then the body) with its head in front. */
void
bench_peer_reply (Conn       *c,
                  int         status,
                  const char *content_type,
                  const char *extra)
{
  GString *h = c->head;
  gsize body_len = c->out->len - HEAD_ROOM;
  char *start;

  update_date (c);
  g_string_truncate (h, 0);
  g_string_append (h, "HTTP/1.1 ");
  append_uint (h, status);
  g_string_append_c (h, ' ');
  g_string_append (h, reason_phrase (status));
  g_string_append (h, "\r\nServer: Microsoft-HTTPAPI/2.0\r\nDate: ");
  g_string_append (h, c->date);
  g_string_append (h, "\r\n");
  if (content_type != NULL)
    {
      g_string_append (h, "Content-Type: ");
      g_string_append (h, content_type);
      g_string_append (h, "\r\n");
    }
  if (extra != NULL)
    g_string_append (h, extra);
  g_string_append (h, "Content-Length: ");
  append_uint (h, body_len);
  g_string_append (h, "\r\n\r\n");
  if (h->len > HEAD_ROOM)
    {
      g_string_erase (c->out, 0, HEAD_ROOM);
      g_string_prepend_len (c->out, h->str, h->len);
      start = c->out->str;
    }
  else
    {
      start = c->out->str + HEAD_ROOM - h->len;
      memcpy (start, h->str, h->len);
    }
  if (!conn_write (c, start, h->len + body_len))
    c->close = TRUE;
}

void
bench_peer_reply_empty (Conn       *c,
                        int         status,
                        const char *extra)
{
  g_string_set_size (c->out, HEAD_ROOM);
  bench_peer_reply (c, status, NULL, extra);
}

void
bench_peer_reply_offers (Conn *c)
{
  bench_peer_reply_empty (c, 401, c->https
                                  ? "WWW-Authenticate: Negotiate\r\nWWW-Authenticate: Kerberos\r\n"
                                    "WWW-Authenticate: Basic realm=\"WSMAN\"\r\n"
                                  : "WWW-Authenticate: Negotiate\r\nWWW-Authenticate: Kerberos\r\n");
}

/* ---- HTTP ------------------------------------------------------------------- */

/* The request line and the headers this peer reads; FALSE if malformed. */
static gboolean
parse_head (guint8      *buf,
            gsize        head_len,
            HttpRequest *req)
{
  const char *p = (const char *) buf;
  const char *end = p + head_len - 2;   /* the blank line's CRLF */
  const char *eol = memmem (p, end - p, "\r\n", 2);
  const char *sp1;
  const char *sp2;

  memset (req, 0, sizeof *req);
  if (eol == NULL)
    return FALSE;
  sp1 = memchr (p, ' ', eol - p);
  sp2 = sp1 ? memchr (sp1 + 1, ' ', eol - sp1 - 1) : NULL;
  if (sp2 == NULL)
    return FALSE;
  req->method = (Span) { p, sp1 - p };
  req->path = (Span) { sp1 + 1, sp2 - sp1 - 1 };
  for (p = eol + 2; p < end; p = eol + 2)
    {
      const char *colon;
      Span name, value;

      eol = memmem (p, end - p + 2, "\r\n", 2);
      if (eol == NULL)
        return FALSE;
      colon = memchr (p, ':', eol - p);
      if (colon == NULL)
        continue;
      name = (Span) { p, colon - p };
      value = span_trim ((Span) { colon + 1, eol - colon - 1 });
      if (span_is (name, "Content-Length"))
        {
          g_autofree char *digits = g_strndup (value.p, value.len);
          char *stop = NULL;

          req->content_length = g_ascii_strtoull (digits, &stop, 10);
          if (stop == digits || *stop != '\0')
            return FALSE;
        }
      else if (span_is (name, "Authorization"))
        req->authorization = value;
      else if (span_is (name, "Content-Type"))
        req->content_type = value;
      else if (span_is (name, "Connection"))
        req->close = span_is (value, "close");
      else if (span_is (name, "Transfer-Encoding"))
        return FALSE;   /* clients of this peer always send a length */
    }
  return TRUE;
}

/* Reads one whole request into c->in; *used: its size there. */
static gboolean
read_request (Conn        *c,
              HttpRequest *req,
              gsize       *used)
{
  gsize scanned = 0;
  gsize head_len;
  const guint8 *blank;
  guint8 *before;

  for (;;)
    {
      gsize from = scanned > 3 ? scanned - 3 : 0;

      blank = c->in_len > from ? memmem (c->in + from, c->in_len - from, "\r\n\r\n", 4) : NULL;
      if (blank != NULL)
        break;
      scanned = c->in_len;
      if (c->in_len > MAX_HEAD || !conn_read (c))
        return FALSE;
    }
  head_len = blank + 4 - c->in;
  if (!parse_head (c->in, head_len, req))
    return FALSE;
  if (req->content_length > MAX_BODY)
    {
      bench_peer_reply_empty (c, 413, "Connection: close\r\n");
      return FALSE;
    }
  /* Room for the whole body at once, and the head's spans re-read if
   * the buffer moved. */
  before = c->in;
  if (c->in_size < head_len + req->content_length + 1)
    {
      c->in_size = head_len + req->content_length + 16384;
      c->in = g_realloc (c->in, c->in_size);
    }
  while (c->in_len < head_len + req->content_length)
    if (!conn_read (c))
      return FALSE;
  if (c->in != before)
    parse_head (c->in, head_len, req);
  req->body = c->in + head_len;
  *used = head_len + req->content_length;
  return TRUE;
}

static void
serve_wsman (Conn              *c,
             const HttpRequest *req,
             const char        *extra)
{
  gboolean sealed;
  int status;

  if (req->content_length == 0)
    {
      bench_peer_reply_empty (c, 200, extra);
      return;
    }
  sealed = span_has_prefix (req->content_type, "multipart/encrypted");
  if (sealed)
    {
      if (!c->gss_complete)
        {
          bench_peer_reply_empty (c, 400, extra);
          return;
        }
      if (!bench_peer_unseal (c, req->body, req->content_length))
        {
          if (bench_peer.verbose)
            g_printerr ("castellan-bench-peer: %s: refused a sealed request\n", c->client_ip);
          c->close = TRUE;
          bench_peer_reply_empty (c, 400, extra);
          return;
        }
    }
  else if (!c->https)
    {
      /* AllowUnencrypted=false: plaintext over HTTP is refused, and the
       * connection's context forgotten. */
      bench_peer_gss_reset (c);
      bench_peer_reply_offers (c);
      return;
    }
  else
    {
      g_string_truncate (c->plain, 0);
      g_string_append_len (c->plain, (const char *) req->body, req->content_length);
    }

  if (sealed)
    {
      g_string_truncate (c->soap, 0);
      status = bench_peer_dispatch (c);
      if (!bench_peer_seal (c))
        {
          c->close = TRUE;
          bench_peer_reply_empty (c, 500, extra);
          return;
        }
      bench_peer_reply (c, status,
                        c->kerberos_scheme
                        ? "multipart/encrypted;protocol=\"" PROTOCOL_KERBEROS "\";boundary=\"Encrypted Boundary\""
                        : "multipart/encrypted;protocol=\"" PROTOCOL_SPNEGO "\";boundary=\"Encrypted Boundary\"",
                        extra);
    }
  else
    {
      GString *t;

      /* Built right after the head's room: the envelope is the body. */
      g_string_set_size (c->soap, HEAD_ROOM);
      status = bench_peer_dispatch (c);
      t = c->out;
      c->out = c->soap;
      c->soap = t;
      bench_peer_reply (c, status, SOAP_TYPE, extra);
    }
}

static void
handle_request (Conn              *c,
                const HttpRequest *req)
{
  g_autoptr(GString) extra = NULL;
  Span path = req->path;
  const char *query = memchr (path.p, '?', path.len);

  if (req->close)
    c->close = TRUE;
  if (!span_is (req->method, "POST"))
    {
      bench_peer_reply_empty (c, 405, NULL);
      return;
    }
  if (query != NULL)
    path.len = query - path.p;
  if (!span_is (path, "/wsman"))
    {
      bench_peer_reply_empty (c, 404, NULL);
      return;
    }
  extra = g_string_new (NULL);
  if (!bench_peer_authenticate (c, req, extra))
    return;
  serve_wsman (c, req, extra->len ? extra->str : NULL);
}

void
bench_peer_conn_free (Conn *c)
{
  bench_peer_gss_reset (c);
  if (c->tls != NULL)
    gnutls_deinit (c->tls);
  close (c->fd);
  g_free (c->user);
  g_free (c->basic_ok);
  g_free (c->in);
  g_string_free (c->out, TRUE);
  g_string_free (c->soap, TRUE);
  g_string_free (c->plain, TRUE);
  g_string_free (c->head, TRUE);
  g_rand_free (c->rand);
  g_free (c);
}

static gboolean
tls_handshake (Conn *c)
{
  int ret;

  if (gnutls_init (&c->tls, GNUTLS_SERVER | GNUTLS_NO_SIGNAL) < 0)
    {
      c->tls = NULL;
      return FALSE;
    }
  gnutls_set_default_priority (c->tls);
  gnutls_credentials_set (c->tls, GNUTLS_CRD_CERTIFICATE, bench_peer.tls_cred);
  gnutls_certificate_server_set_request (c->tls, GNUTLS_CERT_IGNORE);
  gnutls_transport_set_int (c->tls, c->fd);
  gnutls_handshake_set_timeout (c->tls, GNUTLS_DEFAULT_HANDSHAKE_TIMEOUT);
  do
    ret = gnutls_handshake (c->tls);
  while (ret < 0 && gnutls_error_is_fatal (ret) == 0);
  if (ret < 0 && bench_peer.verbose)
    g_printerr ("castellan-bench-peer: %s: TLS handshake failed: %s\n", c->client_ip,
                gnutls_strerror (ret));
  return ret >= 0;
}

gpointer
bench_peer_serve_connection (gpointer data)
{
  Conn *c = data;

  if (!c->https || tls_handshake (c))
    while (!c->close)
      {
        HttpRequest req;
        gsize used = 0;

        if (!read_request (c, &req, &used))
          break;
        handle_request (c, &req);
        /* A pipelined request stays for the next round. */
        memmove (c->in, c->in + used, c->in_len - used);
        c->in_len -= used;
      }
  bench_peer_conn_free (c);
  return NULL;
}
