/* SPDX-License-Identifier: GPL-3.0-or-later */
/* MS-PSRP session key (2.2.2.3-5) and SecureString (2.2.5.1.24): the blobs
 * byte for byte, a whole exchange with GnuTLS playing the server, and
 * vectors made once with OpenSSL. */
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <string.h>

#include "castellan-error.h"
#include "castellan-psrp-key.h"

/* A key made with `openssl genpkey -algorithm RSA -pkeyopt
 * rsa_keygen_bits:2048` for this test alone. */
static const char KAT_PRIVATE_KEY[] =
  "-----BEGIN RSA PRIVATE KEY-----\n"
  "MIIEogIBAAKCAQEAjhXoY5AJLir9WR6MklwO+Qu/oIQC5+6NTXK/TwxFollCCTEy\n"
  "k8JuU2+ZnN3RYh+8rXVpUibXh/3h6tfw0sKUfl8HSwQdxR9vHuM3pOBfSS2XGXKt\n"
  "bNgOlNYhyt/6r5wAG7i7zxbzM38qnVgW2RwvamlcdOoZQ9uOPAbAe6NQxhF6OOmu\n"
  "1+gwAsKO6mbHzl88IyxcrOqSRlG0jxPJOfPixt2cv93CiVB1y5qbPupbqnY2tqo9\n"
  "7meKHx3Mqr8/gMCQqyShYL9apuJ+R1MIxnSoxrX04/W2mDkIJ2cGrVT4K1XSKnz+\n"
  "H69/nZLCrjGYZIDKHvaNORoCTI9eb4cef6CxjwIDAQABAoIBAEK1e3WfTwgbi/Y3\n"
  "FxWyXh9EilRBFqIxCKuXl8VzxA/Mq2nobNAd5bGLwIn7RQ62St3/tZKqBOBm7RZX\n"
  "C0zQqWpJkIGCbb26m+/bCymAZIxVeM8sXcswB2yOuq/nB+pCKnTZf2fj5QxFBMt5\n"
  "68REbOifjhagQHtxDi8VlnKWA1ryb4JNTALgcIAPpneZ/QcsqMRbtc61sjGNwR6Y\n"
  "Zz7mt8CHuYy0ONXzClgvbiBNJyxfdaKSlC9oAafIhegfMcbTQ/qTv1f/l1deS9vC\n"
  "A+LZPas8XI2qmMZfaPnEGSA5SVq1VO38PLjHe2KJl7rD6/3JXcTnhoHVZKoMTuIp\n"
  "sQVJx4UCgYEAxg3wBLEEBIM+nQCD/OsqtAqMLrCgRBgRke9xrt29QgAsCccvqLlb\n"
  "FN+b4YPfRps1D2UX7lRTfNCys9miEyjFxpP4ncMhfw8j64cC0SuCv76JaWdTTYIq\n"
  "fbXgCHnkHh15/TNYBtyORAp2F5/1LUE8nAYEU1U8zd8b2yP4Xj9ppFsCgYEAt6f2\n"
  "hXJ2K0TxHmtBydNLwufL1ko8R191jDipVISj5YJYe9FQ9XthEKydnexrc8LNNP8P\n"
  "n6CQ94OW6ppEpeB4y90tDgWZgO5LpOAwI3a+cFwiYTJJSsXTgg0lk2qJPsIyHNBM\n"
  "GeCMqZOPuwXRs2lGic5Fu+YAzTcVuzFcmNCGnd0CgYBbmcCj+tcX2zfPV5i0FnQ2\n"
  "txYk1g4Z0GP38h3LOcU5zGiR0S1KxQfKPK2U/O/8cPZ2e1Q5J4lBlijAo+yhHd9z\n"
  "O6bmGITahj8fxN7ZrV0Yn+Bf/qj5lTVf1QmcAfwurYVpRSD2c3XdJFWAEbxMxPpq\n"
  "UyIXBLpNoV352cYamQucNwKBgEoh/HqFZ3mzzHhw5w9mwRAdrMQFFyvgNnyxanh5\n"
  "SgcchEcGiN1uPhIS+1SB2CXUHi0kP9Q5ZgrjDQoJ12f1ogz4bHVagUnv5ozZCdVm\n"
  "2xxTtHTzbW5HSEcYs3A78sZocP38fpt7bowMylm90ZXQCu8ZWkCsaOptL9Jt7Giq\n"
  "04vpAoGAH+uBK2Hbx8XruGSMot7UyIf8wA2oX1YFJCykbF3JL39q/yeydr2STaYt\n"
  "K/pPPROEHG6Q+2ymF1cMlJsH/K9s333v5kWuyBppTxbvsexxom69KU9WsGGx9Sf9\n"
  "ox9GVV6AHS7DoKcdbiKi3cDswqLTY7jci+lXX5xZKm6v+H1OOTQ=\n"
  "-----END RSA PRIVATE KEY-----\n";

/* Its PUBLICKEYBLOB, assembled from `openssl rsa -noout -modulus`. */
static const char KAT_PUBLIC_KEY[] =
  "BgIAAACkAABSU0ExAAgAAAEAAQCPsaB/HodvXo9MAho5jfYeyoBkmDGuwpKdf68f"
  "/nwq0lUr+FStBmcnCDmYtvXj9LXGqHTGCFNHfuKmWr9goSSrkMCAP7+qzB0fimfu"
  "Paq2NnaqW+o+m5rLdVCJwt2/nN3G4vM5yROPtFFGkuqsXCwjPF/Ox2bqjsICMOjX"
  "ruk4ehHGUKN7wAY8jttDGep0XGlqLxzZFlidKn8z8xbPu7gbAJyv+t/KIdaUDths"
  "rXIZly1JX+CkN+Mebx/FHQRLB19+lMLS8Nfq4f2H1yZSaXWtvB9i0d2cmW9TbsKT"
  "MjEJQlmiRQxPv3JNje7nAoSgvwv5DlySjB5Z/SouCZBj6BWO";

/* The session key 00 01 .. 1f under it, from `openssl pkeyutl -encrypt
 * -pkeyopt rsa_padding_mode:pkcs1`, reversed after the SIMPLEBLOB
 * header. */
static const char KAT_ENCRYPTED_SESSION_KEY[] =
  "AQIAABBmAAAApAAAk1c3P7/jUH29FduKNqyXHI1b0fuIL5HofztIXPtW8U/Rse74"
  "/jTTG1cWEoDtR/I5Qubgwr+okisMzzkzISGD8FboV7vQ5UcRsJQY+m43kniFkgse"
  "Xc8AD4Qiii0+7RX2wA6zugdrbB+gmIsOPs6PoeI5b7og4wkldROUgNw4xB/lyaRG"
  "C0fAdCy1d3dMAbMijpH/d0g2Ef/6ooG+sdMC2EnVEmRFWAIHd2jhukddEbrsofNw"
  "ALr2sYgjdRV5N8FHS/WKJMGbVtvZvV6LirtvLBeV3AHmstixYOalz7q66KmL6Oy3"
  "lPJVtH6o2WEjfJpHmKczMKGezWP68qSK2dn8KQ==";

/* "pässwörd ✓ 𝄞" (the last a surrogate pair in UTF-16) */
static const char PASSWORD[] = "p\xc3\xa4ssw\xc3\xb6rd \xe2\x9c\x93 \xf0\x9d\x84\x9e";

static const guint8 PASSWORD_UTF16LE[] = {
  0x70, 0x00, 0xe4, 0x00, 0x73, 0x00, 0x73, 0x00, 0x77, 0x00, 0xf6, 0x00,
  0x72, 0x00, 0x64, 0x00, 0x20, 0x00, 0x13, 0x27, 0x20, 0x00, 0x34, 0xd8,
  0x1e, 0xdd,
};

/* PASSWORD_UTF16LE under the session key 00 01 .. 1f, from `openssl enc
 * -aes-256-cbc -K 000102..1f -iv 00..00`. */
static const guint8 PASSWORD_SECURE_STRING[] = {
  0x74, 0x2e, 0x44, 0xe8, 0x4f, 0x5a, 0xed, 0x26, 0xb3, 0x1a, 0x8a, 0x4e,
  0x8e, 0x7c, 0xf5, 0xb2, 0xc5, 0x92, 0x8c, 0x57, 0x24, 0x0c, 0xcc, 0x06,
  0x91, 0x3c, 0x35, 0xb5, 0x8e, 0x9d, 0x19, 0x01,
};

static const guint8 PUBLIC_HEADER[] = {
  0x06, 0x02, 0x00, 0x00, 0x00, 0xa4, 0x00, 0x00, 'R', 'S', 'A', '1',
  0x00, 0x08, 0x00, 0x00,
};

static const guint8 SESSION_HEADER[] = {
  0x01, 0x02, 0x00, 0x00, 0x10, 0x66, 0x00, 0x00, 0x00, 0xa4, 0x00, 0x00,
};

static void
counting_key (guint8 key[32])
{
  for (guint i = 0; i < 32; i++)
    key[i] = (guint8) i;
}

static CastellanPsrpKey *
kat_key (void)
{
  gnutls_privkey_t privkey = NULL;
  gnutls_datum_t pem = { (unsigned char *) KAT_PRIVATE_KEY, sizeof KAT_PRIVATE_KEY - 1 };
  g_autoptr(GError) error = NULL;
  CastellanPsrpKey *key;

  g_assert_cmpint (gnutls_privkey_init (&privkey), ==, 0);
  g_assert_cmpint (gnutls_privkey_import_x509_raw (privkey, &pem, GNUTLS_X509_FMT_PEM, NULL, 0), ==, 0);
  key = castellan_psrp_key_new_for_privkey (privkey, &error);
  g_assert_no_error (error);
  g_assert_nonnull (key);
  return key;
}

static CastellanPsrpKey *
kat_key_with_session (void)
{
  CastellanPsrpKey *key = kat_key ();
  g_autoptr(GError) error = NULL;

  g_assert_true (castellan_psrp_key_accept_session_key (key, KAT_ENCRYPTED_SESSION_KEY, &error));
  g_assert_no_error (error);
  return key;
}

/* What a server makes of PUBLIC_KEY: the blob read back into a GnuTLS
 * public key, checking its fixed fields on the way. */
static gnutls_pubkey_t
server_reads_blob (GBytes *blob)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (blob, &size);
  guint8 modulus[256];
  guint8 exponent[4];
  gnutls_datum_t m = { modulus, sizeof modulus };
  gnutls_datum_t e = { exponent, sizeof exponent };
  gnutls_pubkey_t pubkey = NULL;

  g_assert_cmpuint (size, ==, CASTELLAN_PSRP_PUBLIC_BLOB_SIZE);
  g_assert_cmpmem (data, sizeof PUBLIC_HEADER, PUBLIC_HEADER, sizeof PUBLIC_HEADER);
  for (guint i = 0; i < 4; i++)
    exponent[i] = data[16 + 3 - i];
  for (guint i = 0; i < 256; i++)
    modulus[i] = data[20 + 255 - i];
  g_assert_cmpint (gnutls_pubkey_init (&pubkey), ==, 0);
  g_assert_cmpint (gnutls_pubkey_import_rsa_raw (pubkey, &m, &e), ==, 0);
  return pubkey;
}

/* What a server sends back: the key under RSA PKCS#1 v1.5, reversed, after
 * the SIMPLEBLOB header. */
static char *
server_wraps_key (gnutls_pubkey_t  pubkey,
                  const guint8    *secret,
                  gsize            secret_length)
{
  gnutls_datum_t plain = { (unsigned char *) secret, secret_length };
  gnutls_datum_t ciphertext = { NULL, 0 };
  g_autoptr(GByteArray) blob = g_byte_array_new ();

  g_assert_cmpint (gnutls_pubkey_encrypt_data (pubkey, 0, &plain, &ciphertext), ==, 0);
  g_assert_cmpuint (ciphertext.size, ==, 256);
  g_byte_array_append (blob, SESSION_HEADER, sizeof SESSION_HEADER);
  for (guint i = 0; i < ciphertext.size; i++)
    g_byte_array_append (blob, &ciphertext.data[ciphertext.size - 1 - i], 1);
  gnutls_free (ciphertext.data);
  return g_base64_encode (blob->data, blob->len);
}

/* AES-256-CBC with a zero IV and no padding, in place, to make ciphertexts
 * whose plaintext the test chooses byte for byte. */
static void
raw_aes (const guint8 key[32],
         guint8       *data,
         gsize         length,
         gboolean      encrypt)
{
  guint8 iv[16] = { 0 };
  gnutls_datum_t k = { (unsigned char *) key, 32 };
  gnutls_datum_t v = { iv, sizeof iv };
  gnutls_cipher_hd_t cipher;

  g_assert_cmpint (gnutls_cipher_init (&cipher, GNUTLS_CIPHER_AES_256_CBC, &k, &v), ==, 0);
  if (encrypt)
    g_assert_cmpint (gnutls_cipher_encrypt (cipher, data, length), ==, 0);
  else
    g_assert_cmpint (gnutls_cipher_decrypt (cipher, data, length), ==, 0);
  gnutls_cipher_deinit (cipher);
}

static void
test_public_blob_known (void)
{
  g_autoptr(CastellanPsrpKey) key = kat_key ();
  g_autofree char *text = castellan_psrp_key_get_public_key_base64 (key);
  g_autoptr(GBytes) blob = castellan_psrp_key_get_public_blob (key);
  g_autofree guint8 *decoded = NULL;
  gsize size;

  g_assert_cmpstr (text, ==, KAT_PUBLIC_KEY);
  decoded = g_base64_decode (text, &size);
  g_assert_cmpmem (decoded, size, g_bytes_get_data (blob, NULL), g_bytes_get_size (blob));
  g_assert_false (castellan_psrp_key_has_session_key (key));
}

static void
test_public_blob_generated (void)
{
  gnutls_privkey_t privkey = NULL;
  gnutls_datum_t m = { NULL, 0 };
  gnutls_datum_t e = { NULL, 0 };
  g_autoptr(CastellanPsrpKey) key = NULL;
  g_autoptr(GBytes) blob = NULL;
  g_autoptr(GError) error = NULL;
  const guint8 *data;
  gsize size;
  guint32 exponent = 0;

  g_assert_cmpint (gnutls_privkey_init (&privkey), ==, 0);
  g_assert_cmpint (gnutls_privkey_generate (privkey, GNUTLS_PK_RSA, 2048, 0), ==, 0);
  g_assert_cmpint (gnutls_privkey_export_rsa_raw2 (privkey, &m, &e, NULL, NULL, NULL, NULL,
                                                   NULL, NULL, GNUTLS_EXPORT_FLAG_NO_LZ), ==, 0);
  key = castellan_psrp_key_new_for_privkey (privkey, &error);
  g_assert_no_error (error);

  blob = castellan_psrp_key_get_public_blob (key);
  data = g_bytes_get_data (blob, &size);
  g_assert_cmpuint (size, ==, 276);
  g_assert_cmpmem (data, 8, "\x06\x02\x00\x00\x00\xa4\x00\x00", 8);
  g_assert_cmpmem (data + 8, 4, "RSA1", 4);
  g_assert_cmpuint (data[12] | data[13] << 8 | data[14] << 16 | (guint32) data[15] << 24, ==, 2048);
  for (guint i = 0; i < e.size; i++)
    exponent = (exponent << 8) | e.data[i];
  g_assert_cmpuint (exponent, ==, 65537);
  g_assert_cmpuint (data[16] | data[17] << 8 | data[18] << 16 | (guint32) data[19] << 24, ==, exponent);
  g_assert_cmpuint (m.size, ==, 256);
  for (guint i = 0; i < 256; i++)
    g_assert_cmpuint (data[20 + i], ==, m.data[255 - i]);
  gnutls_free (m.data);
  gnutls_free (e.data);
}

static void
test_refuses_other_keys (void)
{
  gnutls_privkey_t privkey = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (gnutls_privkey_init (&privkey), ==, 0);
  g_assert_cmpint (gnutls_privkey_generate (privkey, GNUTLS_PK_RSA, 1024, 0), ==, 0);
  g_assert_null (castellan_psrp_key_new_for_privkey (privkey, &error));
  g_assert_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_FAILED);
}

static void
test_exchange (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CastellanPsrpKey) key = castellan_psrp_key_new (&error);
  g_autoptr(GBytes) blob = NULL;
  g_autoptr(GBytes) secure = NULL;
  g_autofree char *wrapped = NULL;
  g_autofree char *public_text = NULL;
  g_autofree guint8 *decoded = NULL;
  g_autofree guint8 *plain = NULL;
  gnutls_pubkey_t pubkey;
  guint8 session_key[32];
  char *text;
  gsize size, length = 0;

  g_assert_no_error (error);
  g_assert_nonnull (key);
  blob = castellan_psrp_key_get_public_blob (key);
  public_text = castellan_psrp_key_get_public_key_base64 (key);
  decoded = g_base64_decode (public_text, &size);
  g_assert_cmpmem (decoded, size, g_bytes_get_data (blob, NULL), g_bytes_get_size (blob));

  pubkey = server_reads_blob (blob);
  for (guint i = 0; i < 32; i++)
    session_key[i] = (guint8) (0xa5 ^ (i * 7));
  wrapped = server_wraps_key (pubkey, session_key, sizeof session_key);
  gnutls_pubkey_deinit (pubkey);

  g_assert_true (castellan_psrp_key_accept_session_key (key, wrapped, &error));
  g_assert_no_error (error);
  g_assert_true (castellan_psrp_key_has_session_key (key));

  secure = castellan_psrp_key_encrypt (key, PASSWORD, strlen (PASSWORD), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (secure), ==, 32);

  /* The server's view: the key it chose opens the UTF-16LE text. */
  plain = g_memdup2 (g_bytes_get_data (secure, NULL), 32);
  raw_aes (session_key, plain, 32, FALSE);
  g_assert_cmpmem (plain, sizeof PASSWORD_UTF16LE, PASSWORD_UTF16LE, sizeof PASSWORD_UTF16LE);
  for (gsize i = sizeof PASSWORD_UTF16LE; i < 32; i++)
    g_assert_cmpuint (plain[i], ==, 32 - sizeof PASSWORD_UTF16LE);

  text = castellan_psrp_key_decrypt (key, g_bytes_get_data (secure, NULL), g_bytes_get_size (secure),
                                     &length, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (text, ==, PASSWORD);
  g_assert_cmpuint (length, ==, strlen (PASSWORD));
  castellan_psrp_secret_free (text);

  /* The private key is gone: a second key cannot be taken. */
  g_assert_false (castellan_psrp_key_accept_session_key (key, wrapped, &error));
  g_assert_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_PSRP_MALFORMED);
  g_assert_true (castellan_psrp_key_has_session_key (key));
}

static void
test_known_answer (void)
{
  g_autoptr(CastellanPsrpKey) key = kat_key_with_session ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) secure = NULL;
  char *text;
  gsize length = 0;

  secure = castellan_psrp_key_encrypt (key, PASSWORD, strlen (PASSWORD), &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (secure, NULL), g_bytes_get_size (secure),
                   PASSWORD_SECURE_STRING, sizeof PASSWORD_SECURE_STRING);

  text = castellan_psrp_key_decrypt (key, PASSWORD_SECURE_STRING, sizeof PASSWORD_SECURE_STRING,
                                     &length, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (text, ==, PASSWORD);
  g_assert_cmpuint (length, ==, strlen (PASSWORD));
  castellan_psrp_secret_free (text);
}

static void
test_empty_and_whole_block (void)
{
  g_autoptr(CastellanPsrpKey) key = kat_key_with_session ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) empty = NULL;
  g_autoptr(GBytes) eight = NULL;
  guint8 session_key[32];
  guint8 plain[32];
  char *text;
  gsize length = 99;

  counting_key (session_key);
  empty = castellan_psrp_key_encrypt (key, NULL, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (empty), ==, 16);
  memcpy (plain, g_bytes_get_data (empty, NULL), 16);
  raw_aes (session_key, plain, 16, FALSE);
  for (guint i = 0; i < 16; i++)
    g_assert_cmpuint (plain[i], ==, 16);
  text = castellan_psrp_key_decrypt (key, g_bytes_get_data (empty, NULL), 16, &length, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (text, ==, "");
  g_assert_cmpuint (length, ==, 0);
  castellan_psrp_secret_free (text);

  /* Eight units fill a block: a whole block of padding follows. */
  eight = castellan_psrp_key_encrypt (key, "abcdefgh", 8, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (eight), ==, 32);
  memcpy (plain, g_bytes_get_data (eight, NULL), 32);
  raw_aes (session_key, plain, 32, FALSE);
  g_assert_cmpmem (plain, 16, "a\0b\0c\0d\0e\0f\0g\0h\0", 16);
  for (guint i = 16; i < 32; i++)
    g_assert_cmpuint (plain[i], ==, 16);
  text = castellan_psrp_key_decrypt (key, g_bytes_get_data (eight, NULL), 32, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (text, ==, "abcdefgh");
  castellan_psrp_secret_free (text);
}

static void
test_no_session_key_yet (void)
{
  g_autoptr(CastellanPsrpKey) key = kat_key ();
  g_autoptr(GError) error = NULL;

  g_assert_null (castellan_psrp_key_encrypt (key, "secret", 6, &error));
  g_assert_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_FAILED);
  g_clear_error (&error);
  g_assert_null (castellan_psrp_key_decrypt (key, PASSWORD_SECURE_STRING,
                                             sizeof PASSWORD_SECURE_STRING, NULL, &error));
  g_assert_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_PSRP_MALFORMED);
  g_assert_false (castellan_psrp_key_has_session_key (key));
}

static void
test_not_utf8 (void)
{
  g_autoptr(CastellanPsrpKey) key = kat_key_with_session ();
  g_autoptr(GError) error = NULL;

  g_assert_null (castellan_psrp_key_encrypt (key, "ab\xff", 3, &error));
  g_assert_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_FAILED);
  g_clear_error (&error);
  g_assert_null (castellan_psrp_key_encrypt (key, "ab\0cd", 5, &error));
  g_assert_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_FAILED);
}

static char *
kat_blob_edited (gsize  keep,
                 gssize flip_at,
                 gsize  extra)
{
  gsize size;
  g_autofree guint8 *blob = g_base64_decode (KAT_ENCRYPTED_SESSION_KEY, &size);
  g_autofree guint8 *edited = g_malloc0 (size + extra);

  g_assert_cmpuint (size, ==, 268);
  memcpy (edited, blob, MIN (keep, size));
  if (flip_at >= 0)
    edited[flip_at] ^= 0x01;
  return g_base64_encode (edited, MIN (keep, size) + extra);
}

static void
assert_session_key_refused (CastellanPsrpKey *key,
                            const char       *text)
{
  g_autoptr(GError) error = NULL;

  g_assert_false (castellan_psrp_key_accept_session_key (key, text, &error));
  g_assert_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_PSRP_MALFORMED);
  g_assert_false (castellan_psrp_key_has_session_key (key));
}

static void
test_session_key_malformed (void)
{
  static const char *const not_base64[] = {
    "", "QQ", "QQ=", "Q===", "====", "QQ==QQ==", "QUJD RA==", "QUJD\nRA==", "QUJ!", "QUJDRA=A",
  };
  static const char *const inserts[] = { "    ", "!!!!", "\r\n\r\n", "====" };
  static const gssize header_bytes[] = { 0, 1, 2, 4, 5, 8, 9, 11 };
  g_autoptr(CastellanPsrpKey) key = kat_key ();
  g_autoptr(GError) error = NULL;
  gsize size;
  g_autofree guint8 *blob = g_base64_decode (KAT_ENCRYPTED_SESSION_KEY, &size);
  g_autofree char *wrong_key_length = NULL;
  g_autoptr(GBytes) public_blob = castellan_psrp_key_get_public_blob (key);
  gnutls_pubkey_t pubkey;

  for (gsize i = 0; i < G_N_ELEMENTS (not_base64); i++)
    assert_session_key_refused (key, not_base64[i]);
  /* What g_base64_decode() would skip over: the real key around it. */
  for (gsize i = 0; i < G_N_ELEMENTS (inserts); i++)
    {
      g_autoptr(GString) text = g_string_new (KAT_ENCRYPTED_SESSION_KEY);

      g_string_insert (text, 100, inserts[i]);
      assert_session_key_refused (key, text->str);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (header_bytes); i++)
    {
      g_autofree char *text = kat_blob_edited (268, header_bytes[i], 0);

      assert_session_key_refused (key, text);
    }
  for (gsize keep = 0; keep < 268; keep += 67)
    {
      g_autofree char *text = kat_blob_edited (keep, -1, 0);

      assert_session_key_refused (key, text);
    }
  {
    g_autofree char *one_short = kat_blob_edited (267, -1, 0);
    g_autofree char *one_long = kat_blob_edited (268, -1, 1);
    g_autofree char *header_only = kat_blob_edited (12, -1, 0);
    g_autofree char *tampered = kat_blob_edited (268, 12 + 100, 0);

    assert_session_key_refused (key, one_short);
    assert_session_key_refused (key, one_long);
    assert_session_key_refused (key, header_only);
    assert_session_key_refused (key, tampered);
  }

  /* Good padding around a key of the wrong size. */
  pubkey = server_reads_blob (public_blob);
  wrong_key_length = server_wraps_key (pubkey, blob + 12, 16);
  gnutls_pubkey_deinit (pubkey);
  assert_session_key_refused (key, wrong_key_length);

  /* None of that cost the private key: the real one still opens. */
  g_assert_true (castellan_psrp_key_accept_session_key (key, KAT_ENCRYPTED_SESSION_KEY, &error));
  g_assert_no_error (error);
}

typedef struct
{
  const char *name;
  gsize length;
  guint8 plain[32];
} BadPlain;

/* Plaintexts (after AES) that no SecureString may decrypt to. */
static const BadPlain BAD_PLAINS[] = {
  { "pad-zero", 16, { 'a', 0, 'b', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 } },
  { "pad-seventeen", 16, { 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17 } },
  { "pad-ff", 16, { [15] = 0xff } },
  { "pad-mixed", 16, { 'a', 0, 'b', 0, 'c', 0, 'd', 0, 'e', 0, 'f', 0, 3, 4, 4, 4 } },
  { "pad-mixed-first", 32, { 'a', 0, 'b', 0, 'c', 0, 'd', 0, 'e', 0, 'f', 0, 'g', 0, 'h', 0,
                             'i', 0, 13, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14 } },
  { "pad-sixteen-short", 32, { 'a', 0, 'b', 0, 'c', 0, 'd', 0, 'e', 0, 'f', 0, 'g', 0, 'h', 0,
                               15, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16 } },
  { "pad-eighteen", 32, { 'a', 0, 'b', 0, 'c', 0, 'd', 0, 'e', 0, 'f', 0, 'g', 0, 18, 18,
                          18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18 } },
  { "odd-length", 16, { 'a', 0, 'b', 0, 'c', 0, 'd', 0, 'e', 0, 'f', 0, 'g', 0, 'h', 1 } },
  { "lone-surrogate", 16, { 0x00, 0xd8, 'a', 0, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12 } },
  { "nul-unit", 16, { 'a', 0, 0, 0, 'b', 0, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10 } },
};

static void
test_secure_string_bad_plain (gconstpointer data)
{
  const BadPlain *bad = data;
  g_autoptr(CastellanPsrpKey) key = kat_key_with_session ();
  g_autoptr(GError) error = NULL;
  guint8 session_key[32];
  guint8 ciphertext[32];

  counting_key (session_key);
  memcpy (ciphertext, bad->plain, bad->length);
  raw_aes (session_key, ciphertext, bad->length, TRUE);
  g_assert_null (castellan_psrp_key_decrypt (key, ciphertext, bad->length, NULL, &error));
  g_assert_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_PSRP_MALFORMED);
}

static void
test_secure_string_good_plain (void)
{
  /* The same shapes as above, made right: what the refusals hinge on. */
  static const guint8 plain[32] = {
    'a', 0, 'b', 0, 'c', 0, 'd', 0, 'e', 0, 'f', 0, 'g', 0, 0x13, 0x27,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
  };
  g_autoptr(CastellanPsrpKey) key = kat_key_with_session ();
  g_autoptr(GError) error = NULL;
  guint8 session_key[32];
  guint8 ciphertext[32];
  char *text;

  counting_key (session_key);
  memcpy (ciphertext, plain, sizeof plain);
  raw_aes (session_key, ciphertext, sizeof ciphertext, TRUE);
  text = castellan_psrp_key_decrypt (key, ciphertext, sizeof ciphertext, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (text, ==, "abcdefg\xe2\x9c\x93");
  castellan_psrp_secret_free (text);
}

static void
test_secure_string_bad_length (void)
{
  g_autoptr(CastellanPsrpKey) key = kat_key_with_session ();
  static const gsize lengths[] = { 0, 1, 15, 17, 31 };

  for (gsize i = 0; i < G_N_ELEMENTS (lengths); i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_null (castellan_psrp_key_decrypt (key, PASSWORD_SECURE_STRING, lengths[i],
                                                 NULL, &error));
      g_assert_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_PSRP_MALFORMED);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/psrp/key/public-blob/known", test_public_blob_known);
  g_test_add_func ("/psrp/key/public-blob/generated", test_public_blob_generated);
  g_test_add_func ("/psrp/key/refuses-other-keys", test_refuses_other_keys);
  g_test_add_func ("/psrp/key/exchange", test_exchange);
  g_test_add_func ("/psrp/key/known-answer", test_known_answer);
  g_test_add_func ("/psrp/key/empty-and-whole-block", test_empty_and_whole_block);
  g_test_add_func ("/psrp/key/no-session-key-yet", test_no_session_key_yet);
  g_test_add_func ("/psrp/key/not-utf8", test_not_utf8);
  g_test_add_func ("/psrp/key/session-key-malformed", test_session_key_malformed);
  for (gsize i = 0; i < G_N_ELEMENTS (BAD_PLAINS); i++)
    {
      g_autofree char *path = g_strdup_printf ("/psrp/key/secure-string/%s", BAD_PLAINS[i].name);

      g_test_add_data_func (path, &BAD_PLAINS[i], test_secure_string_bad_plain);
    }
  g_test_add_func ("/psrp/key/secure-string/good-plain", test_secure_string_good_plain);
  g_test_add_func ("/psrp/key/secure-string/bad-length", test_secure_string_bad_length);
  return g_test_run ();
}
