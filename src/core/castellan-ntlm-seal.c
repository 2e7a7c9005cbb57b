/* SPDX-License-Identifier: GPL-3.0-or-later */
/* NTLM message sealing done here rather than by the mechanism. gss-ntlmssp
 * looks its ciphers and MACs up in OpenSSL's provider tables again for
 * every message, which costs more than sealing a short WS-Man request.
 * castellan-gss.c uses this only after it has seen it produce exactly what
 * the mechanism produces for the same context. */
#include "config.h"

#include <string.h>

#include "castellan-ntlm-seal.h"

/* Words rather than bytes for the state: faster on current CPUs (no
 * partial-register stalls), the same cipher. */
typedef struct
{
  guint32 s[256];
  guint32 i, j;
} Rc4;

typedef struct
{
  guint8 sign_key[16];
  Rc4 rc4;
  guint32 seq;
} Direction;

struct _CastellanNtlmSeal
{
  Direction out;                  /* client to server */
  Direction in;                   /* server to client */
};

static void
rc4_init (Rc4          *rc4,
          const guint8 *key,
          gsize         length)
{
  guint8 j = 0;

  for (guint i = 0; i < 256; i++)
    rc4->s[i] = i;
  for (guint i = 0; i < 256; i++)
    {
      guint32 t = rc4->s[i];

      j += t + key[i % length];
      rc4->s[i] = rc4->s[j];
      rc4->s[j] = t;
    }
  rc4->i = rc4->j = 0;
}

static void
rc4_apply (Rc4    *rc4,
           guint8 *data,
           gsize   length)
{
  guint32 i = rc4->i, j = rc4->j;
  guint32 *s = rc4->s;

  for (gsize n = 0; n < length; n++)
    {
      guint32 t, u;

      i = (i + 1) & 255;
      t = s[i];
      j = (j + t) & 255;
      u = s[j];
      s[i] = u;
      s[j] = t;
      data[n] ^= (guint8) s[(t + u) & 255];
    }
  rc4->i = i;
  rc4->j = j;
}

/* MD5(session key ‖ constant, its NUL included) */
static void
derive (const guint8 *session_key,
        gsize         length,
        const char   *constant,
        guint8        key[16])
{
  g_autoptr(GChecksum) md5 = g_checksum_new (G_CHECKSUM_MD5);
  gsize size = 16;

  g_checksum_update (md5, session_key, length);
  g_checksum_update (md5, (const guchar *) constant, strlen (constant) + 1);
  g_checksum_get_digest (md5, key, &size);
}

static void
direction_init (Direction    *d,
                const guint8 *session_key,
                gsize         length,
                const char   *signing,
                const char   *sealing)
{
  guint8 seal_key[16];

  derive (session_key, length, signing, d->sign_key);
  derive (session_key, length, sealing, seal_key);
  rc4_init (&d->rc4, seal_key, sizeof seal_key);
  explicit_bzero (seal_key, sizeof seal_key);
  d->seq = 0;
}

CastellanNtlmSeal *
castellan_ntlm_seal_new (const guint8 *session_key,
                         gsize         length)
{
  CastellanNtlmSeal *self;

  g_return_val_if_fail (length == 16, NULL);

  self = g_new0 (CastellanNtlmSeal, 1);
  direction_init (&self->out, session_key, length,
                  "session key to client-to-server signing key magic constant",
                  "session key to client-to-server sealing key magic constant");
  direction_init (&self->in, session_key, length,
                  "session key to server-to-client signing key magic constant",
                  "session key to server-to-client sealing key magic constant");
  return self;
}

CastellanNtlmSeal *
castellan_ntlm_seal_copy (const CastellanNtlmSeal *self)
{
  return g_memdup2 (self, sizeof *self);
}

void
castellan_ntlm_seal_free (CastellanNtlmSeal *self)
{
  if (self == NULL)
    return;
  explicit_bzero (self, sizeof *self);
  g_free (self);
}

/* SPNEGO's mechListMIC takes the first sequence number of a context: the
 * sealed messages start after it. */
void
castellan_ntlm_seal_set_sequence (CastellanNtlmSeal *self,
                                  gboolean           outgoing,
                                  guint32            seq)
{
  (outgoing ? &self->out : &self->in)->seq = seq;
}

/* HMAC-MD5(signing key, sequence ‖ plaintext) */
static void
mac (const Direction *d,
     const guint8    *plaintext,
     gsize            length,
     guint8           digest[16])
{
  g_autoptr(GHmac) hmac = g_hmac_new (G_CHECKSUM_MD5, d->sign_key, sizeof d->sign_key);
  guint32 seq = GUINT32_TO_LE (d->seq);
  gsize size = 16;

  g_hmac_update (hmac, (const guchar *) &seq, 4);
  g_hmac_update (hmac, plaintext, length);
  g_hmac_get_digest (hmac, digest, &size);
}

/* The signature: version 1, the first 8 bytes of the MAC passed through
 * the RC4 stream (after the message), the sequence number. */
static void
sign (Direction *d,
      guint8     digest[16],
      guint8     signature[CASTELLAN_NTLM_SIGNATURE_SIZE])
{
  guint32 seq = GUINT32_TO_LE (d->seq);
  guint32 version = GUINT32_TO_LE (1);

  rc4_apply (&d->rc4, digest, 8);
  memcpy (signature, &version, 4);
  memcpy (signature + 4, digest, 8);
  memcpy (signature + 12, &seq, 4);
  d->seq++;
}

/* Seals @data in place and gives its signature. */
void
castellan_ntlm_seal_wrap (CastellanNtlmSeal *self,
                          guint8            *data,
                          gsize              length,
                          guint8             signature[CASTELLAN_NTLM_SIGNATURE_SIZE])
{
  guint8 digest[16];

  mac (&self->out, data, length, digest);
  rc4_apply (&self->out.rc4, data, length);
  sign (&self->out, digest, signature);
}

/* Opens @data in place; FALSE when the signature does not match (the
 * state is then unusable, as the mechanism's would be). */
gboolean
castellan_ntlm_seal_unwrap (CastellanNtlmSeal *self,
                            const guint8       signature[CASTELLAN_NTLM_SIGNATURE_SIZE],
                            guint8            *data,
                            gsize              length)
{
  guint8 expected[CASTELLAN_NTLM_SIGNATURE_SIZE];
  guint8 digest[16];
  guint8 diff = 0;

  rc4_apply (&self->in.rc4, data, length);
  mac (&self->in, data, length, digest);
  sign (&self->in, digest, expected);
  for (guint i = 0; i < sizeof expected; i++)
    diff |= expected[i] ^ signature[i];
  return diff == 0;
}
