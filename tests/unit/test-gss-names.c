/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Known answers for what castellan-gss.c computes itself: the session
 * key's enctype from MIT's OID, the principal check, and the padding of
 * RFC 1964 style tokens. */
#include <string.h>

#include "castellan-gss.h"

/* 1.2.840.113554.1.2.2.4, MIT's GSS_KRB5_SESSION_KEY_ENCTYPE_OID */
#define ENCTYPE_OID "\x2a\x86\x48\x86\xf7\x12\x01\x02\x02\x04"

static void
test_etype_oid (void)
{
  struct { const char *oid; gsize length; int etype; } cases[] = {
    /* As MIT returns them with GSS_C_INQ_SSPI_SESSION_KEY (seen in the lab). */
    { ENCTYPE_OID "\x12", 11, 18 },
    { ENCTYPE_OID "\x11", 11, 17 },
    { ENCTYPE_OID "\x17", 11, 23 },
    { ENCTYPE_OID "\x10", 11, 16 },
    { ENCTYPE_OID "\x1a", 11, 26 },
    /* Arcs of 128 and more take continuation bytes: 200 = 0x81 0x48. */
    { ENCTYPE_OID "\x81\x48", 12, 200 },
    { ENCTYPE_OID "\x7f", 11, 127 },
    /* Malformed or foreign. */
    { ENCTYPE_OID, 10, -1 },                               /* no arc */
    { ENCTYPE_OID "\x81", 11, -1 },                        /* unfinished arc */
    { ENCTYPE_OID "\x80\x12", 12, -1 },                    /* leading 0x80 */
    { ENCTYPE_OID "\x12\x12", 12, -1 },                    /* two arcs */
    { "\x2a\x86\x48\x86\xf7\x12\x01\x02\x02\x05\x12", 11, -1 }, /* another OID */
    { ENCTYPE_OID "\x8f\xff\xff\xff\x7f", 15, -1 },        /* beyond an int */
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    g_assert_cmpint (castellan_kerberos_etype_from_oid ((const guint8 *) cases[i].oid, cases[i].length),
                     ==, cases[i].etype);
  g_assert_cmpint (castellan_kerberos_etype_from_oid (NULL, 0), ==, -1);

  g_assert_cmpstr (castellan_kerberos_etype_name (18), ==, "aes256-cts-hmac-sha1-96");
  g_assert_cmpstr (castellan_kerberos_etype_name (23), ==, "rc4-hmac");
  g_assert_cmpstr (castellan_kerberos_etype_name (16), ==, "des3-cbc-sha1");
  g_assert_null (castellan_kerberos_etype_name (-1));
}

static void
test_principal_matches (void)
{
  struct { const char *principal, *service, *host; gboolean match; } cases[] = {
    { "HTTP/srv01.example.com@EXAMPLE.COM", "HTTP", "srv01.example.com", TRUE },
    { "http/SRV01.Example.COM@EXAMPLE.COM", "HTTP", "srv01.example.com", TRUE },
    { "HTTP/srv01.example.com@EXAMPLE.COM", "HTTP", "srv01.example.com.", TRUE },
    { "HTTP/srv01.example.com.@EXAMPLE.COM", "HTTP", "srv01.example.com", TRUE },
    { "HTTP/srv01.example.com@OTHER.REALM", "HTTP", "srv01.example.com", TRUE },
    { "HTTP/srv01.example.com", "HTTP", "srv01.example.com", TRUE },
    { "WSMAN/localhost@TEST.LOCAL", "WSMAN", "localhost", TRUE },
    /* What DNS canonicalisation makes of a name. */
    { "HTTP/localhost@TEST.LOCAL", "HTTP", "castellan-alias", FALSE },
    { "HTTP/srv01.example.com@EXAMPLE.COM", "HTTP", "srv01", FALSE },
    { "HTTP/srv01.example.com@EXAMPLE.COM", "WSMAN", "srv01.example.com", FALSE },
    { "HTTPS/srv01.example.com@EXAMPLE.COM", "HTTP", "srv01.example.com", FALSE },
    { "HTTP/srv01.example.com/extra@EXAMPLE.COM", "HTTP", "srv01.example.com", FALSE },
    { "HTTP@srv01.example.com", "HTTP", "srv01.example.com", FALSE },
    { "HTTP/@EXAMPLE.COM", "HTTP", "", FALSE },
    { "HTTP/srv01\\@x@EXAMPLE.COM", "HTTP", "srv01", FALSE },
    { NULL, "HTTP", "srv01", FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("%s for %s/%s", cases[i].principal, cases[i].service, cases[i].host);
      g_assert_cmpint (castellan_kerberos_principal_matches (cases[i].principal, cases[i].service,
                                                             cases[i].host), ==, cases[i].match);
    }
}

static void
test_padding (void)
{
  gsize padding = 99;

  /* RC4-HMAC (RFC 4757): one byte of 1. */
  g_assert_true (castellan_kerberos_padding ((const guint8 *) "<x/>\x01", 5, &padding));
  g_assert_cmpuint (padding, ==, 1);
  /* DES3 (RFC 1964): up to a block of 8, each byte the count. */
  g_assert_true (castellan_kerberos_padding ((const guint8 *) "<x/>\x04\x04\x04\x04", 8, &padding));
  g_assert_cmpuint (padding, ==, 4);
  g_assert_true (castellan_kerberos_padding ((const guint8 *) "\x08\x08\x08\x08\x08\x08\x08\x08", 8, &padding));
  g_assert_cmpuint (padding, ==, 8);
  /* Malformed: none, too long, uneven, longer than the data. */
  g_assert_false (castellan_kerberos_padding ((const guint8 *) "<x/>\x00", 5, &padding));
  g_assert_cmpuint (padding, ==, 0);
  g_assert_false (castellan_kerberos_padding ((const guint8 *) "<x/>>", 5, &padding));
  g_assert_false (castellan_kerberos_padding ((const guint8 *) "<x/>\x03\x02\x03", 7, &padding));
  g_assert_false (castellan_kerberos_padding ((const guint8 *) "\x03\x03", 2, &padding));
  g_assert_false (castellan_kerberos_padding ((const guint8 *) "", 0, &padding));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/gss/etype-oid", test_etype_oid);
  g_test_add_func ("/gss/principal-matches", test_principal_matches);
  g_test_add_func ("/gss/padding", test_padding);
  return g_test_run ();
}
