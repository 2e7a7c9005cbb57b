/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <string.h>

#include "castellan-error.h"
#include "castellan-psrp-key.h"

#define RSA_BITS 2048
#define MODULUS_SIZE (RSA_BITS / 8)
#define AES_BLOCK 16

/* PUBLICKEYBLOB: bType 6, bVersion 2, reserved, aiKeyAlg CALG_RSA_KEYX,
 * then RSAPUBKEY's magic. */
static const guint8 public_blob_header[] = {
  0x06, 0x02, 0x00, 0x00, 0x00, 0xa4, 0x00, 0x00, 'R', 'S', 'A', '1',
};

/* SIMPLEBLOB: bType 1, bVersion 2, reserved, aiKeyAlg CALG_AES_256, then
 * the algorithm that wrapped it, CALG_RSA_KEYX. */
static const guint8 session_blob_header[CASTELLAN_PSRP_SESSION_BLOB_HEADER_SIZE] = {
  0x01, 0x02, 0x00, 0x00, 0x10, 0x66, 0x00, 0x00, 0x00, 0xa4, 0x00, 0x00,
};

struct _CastellanPsrpKey
{
  gnutls_privkey_t privkey;   /* until the session key is in */
  GBytes *public_blob;
  gboolean has_session_key;
  guint8 session_key[CASTELLAN_PSRP_SESSION_KEY_SIZE];
};

static void
wipe_free (gpointer data,
           gsize    size)
{
  if (data == NULL)
    return;
  gnutls_memset (data, 0, size);
  g_free (data);
}

static gboolean
malformed (GError     **error,
           const char  *why)
{
  castellan_set_psrp_malformed (error, why);
  return FALSE;
}

static gboolean
key_pair_failed (GError     **error,
                 const char  *why)
{
  g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_FAILED,
               _("Castellan could not prepare the key pair for the PowerShell session key (%s)."),
               why);
  return FALSE;
}

static void
put_le32 (guint8  *at,
          guint32  value)
{
  for (int i = 0; i < 4; i++, value >>= 8)
    at[i] = value & 0xff;
}

/* The blob carries the exponent and the modulus little-endian; GnuTLS
 * exports them big-endian without a leading zero. */
static GBytes *
make_public_blob (gnutls_privkey_t   privkey,
                  GError           **error)
{
  gnutls_pubkey_t pubkey = NULL;
  gnutls_datum_t m = { NULL, 0 };
  gnutls_datum_t e = { NULL, 0 };
  guint8 *blob = NULL;
  guint32 exponent = 0;
  int ret;

  ret = gnutls_pubkey_init (&pubkey);
  if (ret >= 0)
    ret = gnutls_pubkey_import_privkey (pubkey, privkey, 0, 0);
  if (ret >= 0)
    ret = gnutls_pubkey_export_rsa_raw2 (pubkey, &m, &e, GNUTLS_EXPORT_FLAG_NO_LZ);
  if (ret < 0)
    {
      key_pair_failed (error, gnutls_strerror (ret));
      goto out;
    }
  if (m.size != MODULUS_SIZE || e.size == 0 || e.size > 4)
    {
      key_pair_failed (error, _("it is not an RSA key of 2048 bits"));
      goto out;
    }
  for (guint i = 0; i < e.size; i++)
    exponent = (exponent << 8) | e.data[i];

  blob = g_malloc (CASTELLAN_PSRP_PUBLIC_BLOB_SIZE);
  memcpy (blob, public_blob_header, sizeof public_blob_header);
  put_le32 (blob + 12, RSA_BITS);
  put_le32 (blob + 16, exponent);
  for (guint i = 0; i < MODULUS_SIZE; i++)
    blob[20 + i] = m.data[MODULUS_SIZE - 1 - i];

out:
  gnutls_free (m.data);
  gnutls_free (e.data);
  if (pubkey != NULL)
    gnutls_pubkey_deinit (pubkey);
  return blob ? g_bytes_new_take (blob, CASTELLAN_PSRP_PUBLIC_BLOB_SIZE) : NULL;
}

/**
 * castellan_psrp_key_new_for_privkey:
 * @privkey: (transfer full): an RSA key of 2048 bits
 *
 * Returns: (nullable): the key pair, or %NULL with @error set (@privkey is
 *   released either way)
 */
CastellanPsrpKey *
castellan_psrp_key_new_for_privkey (gnutls_privkey_t   privkey,
                                    GError           **error)
{
  CastellanPsrpKey *key;
  unsigned int bits = 0;
  GBytes *blob;

  g_return_val_if_fail (privkey != NULL, NULL);

  if (gnutls_privkey_get_pk_algorithm (privkey, &bits) != GNUTLS_PK_RSA || bits != RSA_BITS)
    {
      gnutls_privkey_deinit (privkey);
      key_pair_failed (error, _("it is not an RSA key of 2048 bits"));
      return NULL;
    }
  blob = make_public_blob (privkey, error);
  if (blob == NULL)
    {
      gnutls_privkey_deinit (privkey);
      return NULL;
    }
  key = g_new0 (CastellanPsrpKey, 1);
  key->privkey = privkey;
  key->public_blob = blob;
  return key;
}

/**
 * castellan_psrp_key_new:
 *
 * Makes a fresh RSA-2048 key pair for one runspace pool's key exchange.
 *
 * Returns: (nullable): the key pair, or %NULL with @error set
 */
CastellanPsrpKey *
castellan_psrp_key_new (GError **error)
{
  gnutls_privkey_t privkey = NULL;
  int ret;

  ret = gnutls_privkey_init (&privkey);
  if (ret >= 0)
    ret = gnutls_privkey_generate (privkey, GNUTLS_PK_RSA, RSA_BITS, 0);
  if (ret < 0)
    {
      if (privkey != NULL)
        gnutls_privkey_deinit (privkey);
      key_pair_failed (error, gnutls_strerror (ret));
      return NULL;
    }
  return castellan_psrp_key_new_for_privkey (privkey, error);
}

void
castellan_psrp_key_free (CastellanPsrpKey *key)
{
  if (key == NULL)
    return;
  if (key->privkey != NULL)
    gnutls_privkey_deinit (key->privkey);
  g_clear_pointer (&key->public_blob, g_bytes_unref);
  gnutls_memset (key->session_key, 0, sizeof key->session_key);
  g_free (key);
}

/**
 * castellan_psrp_key_get_public_blob:
 *
 * Returns: (transfer full): the PUBLICKEYBLOB, 276 bytes
 */
GBytes *
castellan_psrp_key_get_public_blob (CastellanPsrpKey *key)
{
  g_return_val_if_fail (key != NULL, NULL);
  return g_bytes_ref (key->public_blob);
}

/**
 * castellan_psrp_key_get_public_key_base64:
 *
 * Returns: (transfer full): the text of PUBLIC_KEY's PublicKey property
 */
char *
castellan_psrp_key_get_public_key_base64 (CastellanPsrpKey *key)
{
  gsize size;
  const guint8 *data;

  g_return_val_if_fail (key != NULL, NULL);
  data = g_bytes_get_data (key->public_blob, &size);
  return g_base64_encode (data, size);
}

/* g_base64_decode() skips what is not base64; a damaged key must not
 * decode to something else quietly. */
static gboolean
is_base64 (const char *text)
{
  gsize length = strlen (text);
  gsize pad = 0;

  if (length == 0 || length % 4 != 0)
    return FALSE;
  if (text[length - 1] == '=')
    pad = text[length - 2] == '=' ? 2 : 1;
  for (gsize i = 0; i < length - pad; i++)
    if (!g_ascii_isalnum (text[i]) && text[i] != '+' && text[i] != '/')
      return FALSE;
  return TRUE;
}

/**
 * castellan_psrp_key_accept_session_key:
 * @encrypted_base64: ENCRYPTED_SESSION_KEY's EncryptedSessionKey
 *
 * Unwraps the server's AES-256 key with the private key, which is then no
 * longer needed and is released.
 */
gboolean
castellan_psrp_key_accept_session_key (CastellanPsrpKey  *key,
                                       const char        *encrypted_base64,
                                       GError           **error)
{
  g_autofree guint8 *blob = NULL;
  guint8 ciphertext[MODULUS_SIZE];
  gnutls_datum_t datum = { ciphertext, sizeof ciphertext };
  gsize size;

  g_return_val_if_fail (key != NULL, FALSE);
  g_return_val_if_fail (encrypted_base64 != NULL, FALSE);

  if (key->has_session_key)
    return malformed (error, _("the server sent a session key twice"));
  if (!is_base64 (encrypted_base64))
    return malformed (error, _("the session key is not valid base64"));
  blob = g_base64_decode (encrypted_base64, &size);
  if (size >= sizeof session_blob_header &&
      memcmp (blob, session_blob_header, sizeof session_blob_header) != 0)
    return malformed (error, _("the session key is not an AES-256 key wrapped with RSA"));
  if (size != sizeof session_blob_header + MODULUS_SIZE)
    return malformed (error, _("the session key has the wrong length"));

  /* CryptoAPI keeps the ciphertext little-endian. */
  for (gsize i = 0; i < MODULUS_SIZE; i++)
    ciphertext[i] = blob[size - 1 - i];
  if (gnutls_privkey_decrypt_data2 (key->privkey, 0, &datum,
                                    key->session_key, sizeof key->session_key) < 0)
    {
      gnutls_memset (key->session_key, 0, sizeof key->session_key);
      return malformed (error, _("the session key does not open with the key Castellan sent"));
    }
  key->has_session_key = TRUE;
  g_clear_pointer (&key->privkey, gnutls_privkey_deinit);
  return TRUE;
}

gboolean
castellan_psrp_key_has_session_key (CastellanPsrpKey *key)
{
  g_return_val_if_fail (key != NULL, FALSE);
  return key->has_session_key;
}

/* Every SecureString starts the chain afresh from a zero IV. */
static gnutls_cipher_hd_t
open_cipher (CastellanPsrpKey *key)
{
  gnutls_cipher_hd_t cipher = NULL;
  guint8 iv[AES_BLOCK] = { 0 };
  gnutls_datum_t key_datum = { key->session_key, sizeof key->session_key };
  gnutls_datum_t iv_datum = { iv, sizeof iv };

  if (gnutls_cipher_init (&cipher, GNUTLS_CIPHER_AES_256_CBC, &key_datum, &iv_datum) < 0)
    return NULL;
  return cipher;
}

/**
 * castellan_psrp_key_encrypt:
 * @utf8: the text, @length bytes, no NUL among them
 *
 * Returns: (nullable): the SecureString's ciphertext, AES-256-CBC over the
 *   UTF-16LE text with PKCS#7 padding
 */
GBytes *
castellan_psrp_key_encrypt (CastellanPsrpKey  *key,
                            const char        *utf8,
                            gsize              length,
                            GError           **error)
{
  gunichar2 *units;
  glong n_units = 0;
  gsize plain, padded;
  guint8 *buffer;
  gnutls_cipher_hd_t cipher;
  int ret;

  g_return_val_if_fail (key != NULL, NULL);
  g_return_val_if_fail (utf8 != NULL || length == 0, NULL);
  g_return_val_if_fail (length <= G_MAXLONG / 2, NULL);

  if (!key->has_session_key)
    {
      g_set_error_literal (error, CASTELLAN_ERROR, CASTELLAN_ERROR_FAILED,
                           _("The server has not sent its session key yet, so a secure string "
                             "cannot be sent to it. Open the session again."));
      return NULL;
    }
  if (utf8 == NULL)
    utf8 = "";
  if (!g_utf8_validate_len (utf8, length, NULL))
    {
      g_set_error_literal (error, CASTELLAN_ERROR, CASTELLAN_ERROR_FAILED,
                           _("The text for a secure string is not valid UTF-8 or holds a NUL character."));
      return NULL;
    }
  units = g_utf8_to_utf16 (utf8, (glong) length, NULL, &n_units, NULL);
  g_assert (units != NULL);

  plain = (gsize) n_units * 2;
  padded = plain + AES_BLOCK - plain % AES_BLOCK;
  buffer = g_malloc (padded);
  for (glong i = 0; i < n_units; i++)
    {
      buffer[2 * i] = units[i] & 0xff;
      buffer[2 * i + 1] = units[i] >> 8;
    }
  wipe_free (units, plain);
  memset (buffer + plain, (int) (padded - plain), padded - plain);

  cipher = open_cipher (key);
  ret = cipher ? gnutls_cipher_encrypt (cipher, buffer, padded) : GNUTLS_E_ENCRYPTION_FAILED;
  if (cipher != NULL)
    gnutls_cipher_deinit (cipher);
  if (ret < 0)
    {
      wipe_free (buffer, padded);
      g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_FAILED,
                   _("Castellan could not encrypt a secure string (%s)."), gnutls_strerror (ret));
      return NULL;
    }
  return g_bytes_new_take (buffer, padded);
}

/* The padding length, or 0 when the padding is wrong; the same work is
 * done whatever the bytes, so timing tells nothing about them. */
static guint
pkcs7_unpad_length (const guint8 *data,
                    gsize         length)
{
  guint pad;
  guint bad = 0;
  guint diff = 0;

  g_assert (length >= AES_BLOCK);
  pad = data[length - 1];
  /* A pad of 0 comes out as 0 anyway; one past a block is refused. */
  bad |= ((guint) AES_BLOCK - pad) >> 31;
  for (guint i = 0; i < AES_BLOCK; i++)
    {
      guint in_pad = 0u - ((i - pad) >> 31);

      diff |= in_pad & (data[length - 1 - i] ^ pad);
    }
  bad |= (0u - diff) >> 31;
  return pad & (0u - (bad ^ 1));
}

/**
 * castellan_psrp_key_decrypt:
 * @data: a SecureString's ciphertext
 * @out_length: (out) (optional): the length of the text in bytes
 *
 * Returns: (nullable): the text as UTF-8, to be released with
 *   castellan_psrp_secret_free()
 */
char *
castellan_psrp_key_decrypt (CastellanPsrpKey  *key,
                            const guint8      *data,
                            gsize              length,
                            gsize             *out_length,
                            GError           **error)
{
  gunichar2 *units;
  guint8 *bytes;
  gnutls_cipher_hd_t cipher;
  gsize n_units, plain;
  glong written = 0;
  gboolean has_nul = FALSE;
  guint pad;
  char *text;
  int ret;

  g_return_val_if_fail (key != NULL, NULL);
  g_return_val_if_fail (data != NULL || length == 0, NULL);

  if (!key->has_session_key)
    {
      malformed (error, _("a secure string came before the session key"));
      return NULL;
    }
  if (length == 0 || length % AES_BLOCK != 0 || length / 2 > G_MAXLONG)
    {
      malformed (error, _("a secure string is not a whole number of AES blocks"));
      return NULL;
    }

  /* UTF-16 units from the start, so the text needs no second copy. */
  units = g_new (gunichar2, length / 2);
  bytes = (guint8 *) units;
  cipher = open_cipher (key);
  ret = cipher ? gnutls_cipher_decrypt2 (cipher, data, length, bytes, length)
               : GNUTLS_E_DECRYPTION_FAILED;
  if (cipher != NULL)
    gnutls_cipher_deinit (cipher);
  if (ret < 0)
    {
      wipe_free (units, length);
      g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_FAILED,
                   _("Castellan could not decrypt a secure string (%s)."), gnutls_strerror (ret));
      return NULL;
    }

  pad = pkcs7_unpad_length (bytes, length);
  plain = length - pad;
  if (pad == 0 || plain % 2 != 0)
    {
      wipe_free (units, length);
      malformed (error, _("a secure string has bad padding"));
      return NULL;
    }
  n_units = plain / 2;
  for (gsize i = 0; i < n_units; i++)
    {
      units[i] = GUINT16_FROM_LE (units[i]);
      has_nul |= units[i] == 0;
    }

  /* A NUL would cut the C string short without a word. */
  text = has_nul ? NULL : g_utf16_to_utf8 (units, (glong) n_units, NULL, &written, NULL);
  wipe_free (units, length);
  if (text == NULL)
    {
      malformed (error, _("a secure string does not hold valid UTF-16 text without NUL characters"));
      return NULL;
    }
  if (out_length != NULL)
    *out_length = (gsize) written;
  return text;
}

/**
 * castellan_psrp_secret_free:
 *
 * Wipes and frees a text from castellan_psrp_key_decrypt().
 */
void
castellan_psrp_secret_free (char *text)
{
  if (text == NULL)
    return;
  wipe_free (text, strlen (text));
}
