/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <string.h>

#include "castellan-endpoint.h"
#include "castellan-error.h"

typedef struct
{
  const char *input;
  gboolean https_default;
  const char *url;     /* NULL: must be refused */
  gboolean is_ip;
} Case;

static const Case cases[] = {
  { "srv01", FALSE, "http://srv01:5985/wsman", FALSE },
  { "srv01", TRUE, "https://srv01:5986/wsman", FALSE },
  { "  SRV01.corp.example  ", FALSE, "http://SRV01.corp.example:5985/wsman", FALSE },
  { "srv01:8080", FALSE, "http://srv01:8080/wsman", FALSE },
  { "https://srv01", FALSE, "https://srv01:5986/wsman", FALSE },
  { "HTTP://srv01", TRUE, "http://srv01:5985/wsman", FALSE },
  { "https://srv01:443/custom", FALSE, "https://srv01:443/custom", FALSE },
  { "https://srv01/", FALSE, "https://srv01:5986/wsman", FALSE },
  { "192.0.2.10", FALSE, "http://192.0.2.10:5985/wsman", TRUE },
  { "192.0.2.10:5986", TRUE, "https://192.0.2.10:5986/wsman", TRUE },
  { "::1", FALSE, "http://[::1]:5985/wsman", TRUE },
  { "[::1]", TRUE, "https://[::1]:5986/wsman", TRUE },
  /* A zone as typed, and as RFC 6874 writes it in a URL. */
  { "[fe80::1%eth0]:5985", FALSE, "http://[fe80::1%25eth0]:5985/wsman", TRUE },
  { "http://[fe80::1%25eth0]:5985/wsman", FALSE, "http://[fe80::1%25eth0]:5985/wsman", TRUE },
  /* The path goes on the request line as written, percent-encoded. */
  { "http://srv01/custom%20path", FALSE, "http://srv01:5985/custom%20path", FALSE },
  { "http://srv01/a%0D%0Ab", FALSE, "http://srv01:5985/a%0D%0Ab", FALSE },
  { "https://[2001:db8::5]:5986/wsman", FALSE, "https://[2001:db8::5]:5986/wsman", TRUE },
  { "", FALSE, NULL, FALSE },
  { "   ", FALSE, NULL, FALSE },
  { "ftp://srv01", FALSE, NULL, FALSE },
  { "srv01:0", FALSE, NULL, FALSE },
  { "srv01:65536", FALSE, NULL, FALSE },
  { "srv01:http", FALSE, NULL, FALSE },
  { "srv 01", FALSE, NULL, FALSE },
  { "[::1", FALSE, NULL, FALSE },
  { "[::1]x", FALSE, NULL, FALSE },
  { "-srv", FALSE, NULL, FALSE },
  { "srv01;rm", FALSE, NULL, FALSE },
  /* Found by the fuzzer: a zone that would break out of the brackets. */
  { "::%)]\xa0u55", FALSE, NULL, FALSE },
  { "[fe80::1%eth0]]", FALSE, NULL, FALSE },
  { "::2%v2]-ss", FALSE, NULL, FALSE },
  /* Control characters, spaces, fragments, queries and user names: a
   * header smuggled after the path, or a URL that would differ from the
   * one Castellan shows. */
  { "http://srv01:5985/wsman\r\nX-Injected: yes", FALSE, NULL, FALSE },
  { "http://srv01:5985/wsman\nX-Injected:yes", FALSE, NULL, FALSE },
  { "http://srv01:5985/ws\rman", FALSE, NULL, FALSE },
  { "srv01\t", FALSE, NULL, FALSE },
  { "\tsrv01", FALSE, NULL, FALSE },
  { "srv01\n", FALSE, NULL, FALSE },
  { "srv\x01", FALSE, NULL, FALSE },
  { "srv01\x7f", FALSE, NULL, FALSE },
  { "http://srv01/ws man", FALSE, NULL, FALSE },
  { "http://srv01/wsman#frag", FALSE, NULL, FALSE },
  { "http://srv01#", FALSE, NULL, FALSE },
  { "http://srv01/wsman?x=1", FALSE, NULL, FALSE },
  { "http://user@srv01/wsman", FALSE, NULL, FALSE },
  { "http://srv%0D%0A01/wsman", FALSE, NULL, FALSE },
  { "http:///wsman", FALSE, NULL, FALSE },
};

/* The message says what is wrong without repeating a line break. */
static void
test_endpoint_control_message (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CastellanEndpoint) ep = castellan_endpoint_parse ("http://srv01/wsman\r\nX-Injected: yes",
                                                              FALSE, &error);

  g_assert_null (ep);
  g_assert_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_INVALID_ADDRESS);
  g_assert_null (strpbrk (error->message, "\r\n"));
  g_assert_nonnull (strstr (error->message, "control character"));
  g_assert_nonnull (strstr (error->message, "\\r\\n"));
}

/* A port set afterwards (a saved host's own port) changes the URL. */
static void
test_endpoint_set_port (void)
{
  g_autoptr(CastellanEndpoint) ep = castellan_endpoint_parse ("https://[::1]/custom", FALSE, NULL);
  g_autoptr(CastellanEndpoint) copy = NULL;
  g_autofree char *url = NULL;
  g_autofree char *copied = NULL;

  castellan_endpoint_set_port (ep, 8443);
  url = castellan_endpoint_to_url (ep);
  g_assert_cmpstr (url, ==, "https://[::1]:8443/custom");
  g_assert_cmpuint (ep->port, ==, 8443);
  copy = castellan_endpoint_copy (ep);
  copied = castellan_endpoint_to_url (copy);
  g_assert_cmpstr (copied, ==, url);
  g_assert_cmpstr (copy->path, ==, "/custom");
}

static void
test_endpoint_parse (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const Case *c = &cases[i];
      g_autoptr(GError) error = NULL;
      g_autoptr(CastellanEndpoint) ep = castellan_endpoint_parse (c->input, c->https_default, &error);

      g_autofree char *shown = g_strescape (c->input, NULL);

      g_test_message ("input “%s”", shown);
      if (c->url == NULL)
        {
          g_assert_null (ep);
          g_assert_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_INVALID_ADDRESS);
          g_assert_nonnull (error->message);
        }
      else
        {
          g_autofree char *url = NULL;
          g_autoptr(CastellanEndpoint) copy = NULL;

          g_assert_no_error (error);
          url = castellan_endpoint_to_url (ep);
          g_assert_cmpstr (url, ==, c->url);
          g_assert_cmpint (castellan_endpoint_is_ip (ep), ==, c->is_ip);
          copy = castellan_endpoint_copy (ep);
          g_assert_cmpstr (copy->host, ==, ep->host);
          g_assert_cmpuint (copy->port, ==, ep->port);
          g_assert_cmpstr (copy->path, ==, ep->path);
          /* What the direct lane puts on the request line. */
          g_assert_true (g_str_has_suffix (url, ep->path));
          g_assert_null (strpbrk (ep->path, " \r\n\t#?"));
        }
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/endpoint/parse", test_endpoint_parse);
  g_test_add_func ("/endpoint/control-message", test_endpoint_control_message);
  g_test_add_func ("/endpoint/set-port", test_endpoint_set_port);
  return g_test_run ();
}
