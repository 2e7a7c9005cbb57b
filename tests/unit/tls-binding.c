/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A bridge for the channel-binding test: prints, in hex, the RFC 5929
 * tls-server-end-point binding the core computes for a PEM certificate,
 * then its SHA-256 fingerprint. */
#include <stdio.h>

#include "castellan-tls.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GTlsCertificate) certificate = NULL;
  g_autoptr(GBytes) binding = NULL;
  g_autofree char *fingerprint = NULL;
  const guint8 *data;
  gsize length;

  if (argc != 2)
    {
      fprintf (stderr, "usage: tls-binding CERT.pem\n");
      return 2;
    }
  certificate = g_tls_certificate_new_from_file (argv[1], &error);
  if (certificate == NULL)
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  binding = castellan_tls_channel_binding (certificate);
  if (binding == NULL)
    return 1;
  data = g_bytes_get_data (binding, &length);
  for (gsize i = 0; i < length; i++)
    printf ("%02x", data[i]);
  fingerprint = castellan_tls_fingerprint (certificate);
  printf ("\n%s\n", fingerprint);
  return 0;
}
