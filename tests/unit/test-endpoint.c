/* SPDX-License-Identifier: GPL-3.0-or-later */
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
  { "[fe80::1%eth0]:5985", FALSE, "http://[fe80::1%eth0]:5985/wsman", TRUE },
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
};

static void
test_endpoint_parse (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const Case *c = &cases[i];
      g_autoptr(GError) error = NULL;
      g_autoptr(CastellanEndpoint) ep = castellan_endpoint_parse (c->input, c->https_default, &error);

      g_test_message ("input “%s”", c->input);
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
        }
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/endpoint/parse", test_endpoint_parse);
  return g_test_run ();
}
