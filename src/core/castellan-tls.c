/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <string.h>

#include "castellan-tls.h"

static GBytes *
certificate_der (GTlsCertificate *certificate)
{
  g_autoptr(GByteArray) der = NULL;

  g_object_get (certificate, "certificate", &der, NULL);
  return der ? g_byte_array_free_to_bytes (g_steal_pointer (&der)) : NULL;
}

/* RFC 5929 tls-server-end-point: the certificate hashed with its own
 * signature's hash, SHA-256 when that is MD5 or SHA-1. */
GBytes *
castellan_tls_channel_binding (GTlsCertificate *certificate)
{
  g_autoptr(GBytes) der = certificate_der (certificate);
  gnutls_x509_crt_t crt = NULL;
  gnutls_datum_t datum;
  gnutls_digest_algorithm_t hash = GNUTLS_DIG_SHA256;
  guint8 digest[64];
  static const char prefix[] = "tls-server-end-point:";
  GByteArray *out;
  int sign;
  gsize size;

  if (der == NULL)
    return NULL;
  datum.data = (unsigned char *) g_bytes_get_data (der, &size);
  datum.size = size;
  if (gnutls_x509_crt_init (&crt) < 0)
    return NULL;
  if (gnutls_x509_crt_import (crt, &datum, GNUTLS_X509_FMT_DER) >= 0 &&
      (sign = gnutls_x509_crt_get_signature_algorithm (crt)) >= 0)
    {
      gnutls_digest_algorithm_t sig_hash = gnutls_sign_get_hash_algorithm (sign);

      if (sig_hash != GNUTLS_DIG_UNKNOWN && sig_hash != GNUTLS_DIG_MD5 && sig_hash != GNUTLS_DIG_SHA1)
        hash = sig_hash;
    }
  gnutls_x509_crt_deinit (crt);

  if (gnutls_hash_fast (hash, datum.data, datum.size, digest) < 0)
    return NULL;
  out = g_byte_array_new ();
  g_byte_array_append (out, (const guint8 *) prefix, sizeof prefix - 1);
  g_byte_array_append (out, digest, gnutls_hash_get_len (hash));
  return g_byte_array_free_to_bytes (out);
}

/* Lower-case hex SHA-256 of the DER certificate. */
char *
castellan_tls_fingerprint (GTlsCertificate *certificate)
{
  g_autoptr(GBytes) der = certificate_der (certificate);

  if (der == NULL)
    return NULL;
  return g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, der);
}

/* A pin may be written with colons and in either case, as tools print it. */
gboolean
castellan_tls_pin_matches (GTlsCertificate *certificate,
                           const char      *pin)
{
  g_autofree char *fingerprint = castellan_tls_fingerprint (certificate);
  g_autoptr(GString) clean = g_string_new (NULL);

  if (fingerprint == NULL || pin == NULL)
    return FALSE;
  for (const char *p = pin; *p != '\0'; p++)
    if (g_ascii_isxdigit (*p))
      g_string_append_c (clean, g_ascii_tolower (*p));
  return g_str_equal (clean->str, fingerprint);
}

const char *
castellan_tls_version_id (GTlsProtocolVersion version)
{
  switch (version)
    {
    case G_TLS_PROTOCOL_VERSION_TLS_1_0:
      return "tls-1.0";
    case G_TLS_PROTOCOL_VERSION_TLS_1_1:
      return "tls-1.1";
    case G_TLS_PROTOCOL_VERSION_TLS_1_2:
      return "tls-1.2";
    case G_TLS_PROTOCOL_VERSION_TLS_1_3:
      return "tls-1.3";
    case G_TLS_PROTOCOL_VERSION_UNKNOWN:
    case G_TLS_PROTOCOL_VERSION_SSL_3_0:
    case G_TLS_PROTOCOL_VERSION_DTLS_1_0:
    case G_TLS_PROTOCOL_VERSION_DTLS_1_2:
    default:
      return "tls";
    }
}
