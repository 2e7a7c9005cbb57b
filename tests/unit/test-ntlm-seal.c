/* SPDX-License-Identifier: GPL-3.0-or-later */
/* castellan-ntlm-seal.c between its two roles. That it agrees with
 * gss-ntlmssp is checked on every connection (castellan-gss.c) and by the
 * lab tests, against gss-ntlmssp and pywinrm. */
#include <string.h>

#include "castellan-ntlm-seal.h"

static const guint8 key[16] = { 0x55, 0x72, 0xb3, 0x04, 0x9e, 0x11, 0x6a, 0xc0,
                                0x2d, 0xf8, 0x47, 0x93, 0x0b, 0xe6, 0x31, 0xaa };

static void
test_round_trip (void)
{
  g_autoptr(CastellanNtlmSeal) client = castellan_ntlm_seal_new (key, sizeof key, FALSE);
  g_autoptr(CastellanNtlmSeal) server = castellan_ntlm_seal_new (key, sizeof key, TRUE);
  gsize sizes[] = { 0, 1, 7, 8, 9, 4095, 4096, 4097, 110000 };

  for (guint round = 0; round < 3; round++)
    for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
      {
        gsize n = sizes[i];
        g_autofree guint8 *plain = g_malloc (n + 1);
        g_autofree guint8 *data = NULL;
        guint8 signature[CASTELLAN_NTLM_SIGNATURE_SIZE];
        guint32 seq;

        for (gsize k = 0; k < n; k++)
          plain[k] = (guint8) (k * 31 + i + round);
        data = g_memdup2 (plain, n + 1);

        /* client to server */
        castellan_ntlm_seal_wrap (client, data, n, signature);
        g_assert_true (n < 16 || memcmp (data, plain, n) != 0);
        g_assert_cmpuint (signature[0], ==, 1);
        memcpy (&seq, signature + 12, 4);
        g_assert_cmpuint (GUINT32_FROM_LE (seq), ==, round * G_N_ELEMENTS (sizes) + i);
        g_assert_true (castellan_ntlm_seal_unwrap (server, signature, data, n));
        g_assert_true (memcmp (data, plain, n) == 0);

        /* server to client: another key stream */
        castellan_ntlm_seal_wrap (server, data, n, signature);
        g_assert_true (castellan_ntlm_seal_unwrap (client, signature, data, n));
        g_assert_true (memcmp (data, plain, n) == 0);
      }
}

static void
test_tampering (void)
{
  const char *text = "<s:Envelope>the reply</s:Envelope>";
  gsize n = strlen (text);
  guint8 signature[CASTELLAN_NTLM_SIGNATURE_SIZE];

  for (guint what = 0; what < 3; what++)
    {
      g_autoptr(CastellanNtlmSeal) client = castellan_ntlm_seal_new (key, sizeof key, FALSE);
      g_autoptr(CastellanNtlmSeal) server = castellan_ntlm_seal_new (key, sizeof key, TRUE);
      g_autofree guint8 *data = g_memdup2 (text, n);

      castellan_ntlm_seal_wrap (server, data, n, signature);
      if (what == 0)
        data[n / 2] ^= 0x01;            /* a bit of the message */
      else if (what == 1)
        signature[5] ^= 0x80;           /* the checksum */
      else
        signature[12] ^= 0x01;          /* the sequence number: a replay */
      g_assert_false (castellan_ntlm_seal_unwrap (client, signature, data, n));
    }
}

static void
test_wrong_role (void)
{
  g_autoptr(CastellanNtlmSeal) a = castellan_ntlm_seal_new (key, sizeof key, FALSE);
  g_autoptr(CastellanNtlmSeal) b = castellan_ntlm_seal_new (key, sizeof key, FALSE);
  guint8 data[64] = { 0 };
  guint8 signature[CASTELLAN_NTLM_SIGNATURE_SIZE];

  /* A client's own message does not open as one from the server. */
  castellan_ntlm_seal_wrap (a, data, sizeof data, signature);
  g_assert_false (castellan_ntlm_seal_unwrap (b, signature, data, sizeof data));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ntlm-seal/round-trip", test_round_trip);
  g_test_add_func ("/ntlm-seal/tampering", test_tampering);
  g_test_add_func ("/ntlm-seal/wrong-role", test_wrong_role);
  return g_test_run ();
}
