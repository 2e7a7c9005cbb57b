/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <gio/gio.h>
#include <string.h>

#include "castellan-http1.h"

static void
test_request_head (void)
{
  g_autoptr(GString) out = g_string_new ("");

  castellan_http1_append_request (out, "[::1]:5985", "/wsman", "Castellan/1",
                                  "application/soap+xml;charset=UTF-8", 42, NULL);
  g_assert_cmpstr (out->str, ==,
                   "POST /wsman HTTP/1.1\r\nHost: [::1]:5985\r\nUser-Agent: Castellan/1\r\n"
                   "Content-Type: application/soap+xml;charset=UTF-8\r\nContent-Length: 42\r\n"
                   "Connection: Keep-Alive\r\n\r\n");
  g_string_truncate (out, 0);
  castellan_http1_append_request (out, "h:1", "/x", "A", "t", 0, "Basic YTpi");
  g_assert_true (g_str_has_suffix (out->str, "Authorization: Basic YTpi\r\n\r\n"));
}

static void
test_head_complete (void)
{
  const char *reply = "HTTP/1.1 200 OK\r\nServer: Microsoft-HTTPAPI/2.0\r\n"
                      "Content-Type: multipart/encrypted;protocol=\"application/HTTP-SPNEGO-session-encrypted\"\r\n"
                      "content-length:  1234 \r\nDate: Tue, 24 Nov 2026 06:00:00 GMT\r\n\r\nBODY";
  g_auto(CastellanHttp1Head) head = { 0 };
  g_autoptr(GError) error = NULL;
  gssize n = castellan_http1_parse_head (reply, strlen (reply), &head, &error);

  g_assert_no_error (error);
  g_assert_cmpint (n, ==, strlen (reply) - 4);
  g_assert_cmpuint (head.status, ==, 200);
  g_assert_cmpstr (head.reason, ==, "OK");
  g_assert_cmpint (head.content_length, ==, 1234);
  g_assert_true (g_str_has_prefix (head.content_type, "multipart/encrypted"));
  g_assert_cmpstr (head.date, ==, "Tue, 24 Nov 2026 06:00:00 GMT");
  g_assert_false (head.chunked);
  g_assert_false (head.close);

  /* Every prefix of the head is incomplete, not an error. */
  for (gsize i = 0; i < (gsize) n; i++)
    {
      g_auto(CastellanHttp1Head) part = { 0 };

      g_assert_cmpint (castellan_http1_parse_head (reply, i, &part, &error), ==, 0);
      g_assert_no_error (error);
    }
}

static void
test_head_variants (void)
{
  struct { const char *text; guint status; gint64 length; gboolean chunked, close; } ok[] = {
    { "HTTP/1.1 401 \r\nWWW-Authenticate: Negotiate\r\nContent-Length: 0\r\n\r\n", 401, 0, FALSE, FALSE },
    { "HTTP/1.1 500 Internal Server Error\nContent-Length: 7\nConnection: close\n\n", 500, 7, FALSE, TRUE },
    { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 200, -1, TRUE, FALSE },
    { "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\n", 200, 3, FALSE, TRUE },
    { "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 3\r\n\r\n", 200, 3, FALSE, FALSE },
    { "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", 200, 5, FALSE, FALSE },
    { "HTTP/1.1 100 Continue\r\n\r\n", 100, -1, FALSE, FALSE },
  };
  const char *bad[] = {
    "HTTP/2 200 OK\r\n\r\n",
    "HTTP/1.1 2000 OK\r\n\r\n",
    "HTTP/1.1 abc OK\r\n\r\n",
    "ICY 200 OK\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
    "HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n",
    "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
  };

  for (guint i = 0; i < G_N_ELEMENTS (ok); i++)
    {
      g_auto(CastellanHttp1Head) head = { 0 };
      g_autoptr(GError) error = NULL;

      g_assert_cmpint (castellan_http1_parse_head (ok[i].text, strlen (ok[i].text), &head, &error), ==,
                       strlen (ok[i].text));
      g_assert_no_error (error);
      g_assert_cmpuint (head.status, ==, ok[i].status);
      g_assert_cmpint (head.content_length, ==, ok[i].length);
      g_assert_cmpint (head.chunked, ==, ok[i].chunked);
      g_assert_cmpint (head.close, ==, ok[i].close);
    }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_auto(CastellanHttp1Head) head = { 0 };
      g_autoptr(GError) error = NULL;

      g_assert_cmpint (castellan_http1_parse_head (bad[i], strlen (bad[i]), &head, &error), ==, -1);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
    }
}

static void
test_head_too_long (void)
{
  g_autoptr(GString) reply = g_string_new ("HTTP/1.1 200 OK\r\n");
  g_auto(CastellanHttp1Head) head = { 0 };
  g_autoptr(GError) error = NULL;

  while (reply->len < CASTELLAN_HTTP1_MAX_HEAD + 100)
    g_string_append (reply, "X-Filler: 0123456789abcdef\r\n");
  g_assert_cmpint (castellan_http1_parse_head (reply->str, reply->len, &head, &error), ==, -1);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
}

/* Feeds raw in pieces of @step bytes, as reads would bring it. */
static GString *
dechunk_in_steps (const char *raw,
                  gsize       step,
                  gsize      *leftover,
                  GError    **error)
{
  GString *out = g_string_new ("");
  CastellanHttp1Chunks chunks = { 0 };
  g_autoptr(GByteArray) buffer = g_byte_array_new ();
  gsize length = strlen (raw);
  gsize pos = 0;
  gboolean done = FALSE;

  while (!done && pos < length)
    {
      gsize n = MIN (step, length - pos);
      gsize consumed = 0;
      gsize decoded;

      g_byte_array_append (buffer, (const guint8 *) raw + pos, n);
      pos += n;
      decoded = castellan_http1_dechunk (&chunks, buffer->data, buffer->len, &consumed, &done, error);
      if (*error != NULL)
        break;
      g_string_append_len (out, (const char *) buffer->data, decoded);
      g_byte_array_remove_range (buffer, 0, consumed);
      if (!done)
        g_assert_cmpuint (buffer->len, ==, 0);
    }
  *leftover = buffer->len + (length - pos);
  if (!done && *error == NULL)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT, "unfinished");
  return out;
}

static void
test_dechunk (void)
{
  const char *raw = "5\r\nhello\r\n1a;name=value\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: 1\r\n\r\nNEXT";
  gsize steps[] = { 1, 2, 3, 7, 64, 4096 };

  for (guint i = 0; i < G_N_ELEMENTS (steps); i++)
    {
      g_autoptr(GError) error = NULL;
      gsize leftover = 0;
      g_autoptr(GString) out = dechunk_in_steps (raw, steps[i], &leftover, &error);

      g_assert_no_error (error);
      g_assert_cmpstr (out->str, ==, "helloabcdefghijklmnopqrstuvwxyz");
      g_assert_cmpuint (leftover, ==, 4);
    }
}

static void
test_dechunk_bad (void)
{
  const char *bad[] = {
    "zz\r\nhello\r\n0\r\n\r\n",
    "\r\nhello\r\n0\r\n\r\n",
    "3\r\nhello\r\n0\r\n\r\n",
    "fffffffffffff\r\n",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      gsize leftover = 0;
      GString *out = dechunk_in_steps (bad[i], 4096, &leftover, &error);

      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
      g_string_free (out, TRUE);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/http1/request-head", test_request_head);
  g_test_add_func ("/http1/head-complete", test_head_complete);
  g_test_add_func ("/http1/head-variants", test_head_variants);
  g_test_add_func ("/http1/head-too-long", test_head_too_long);
  g_test_add_func ("/http1/dechunk", test_dechunk);
  g_test_add_func ("/http1/dechunk-bad", test_dechunk_bad);
  return g_test_run ();
}
