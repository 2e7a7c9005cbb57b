/* SPDX-License-Identifier: GPL-3.0-or-later */
/* NTLM message sealing done here rather than by the mechanism. gss-ntlmssp
 * looks its ciphers and MACs up in OpenSSL's provider tables again for
 * every message, which costs more than sealing a short WS-Man request.
 * castellan-gss.c uses this only after it has seen it produce exactly what
 * the mechanism produces for the same context. */
#include "config.h"

#include <gssapi/gssapi_ext.h>
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

#define RC4_STEP(shift) \
  i = (i + 1) & 255; \
  t = s[i]; \
  j = (j + t) & 255; \
  u = s[j]; \
  s[i] = u; \
  s[j] = t; \
  stream |= (guint64) (s[(t + u) & 255] & 255) << (shift);

/* Eight bytes of key stream at a time, applied as one word: a third
 * faster than byte by byte, which matters for long outputs. */
static void
rc4_apply (Rc4    *rc4,
           guint8 *data,
           gsize   length)
{
  guint32 i = rc4->i, j = rc4->j;
  guint32 *s = rc4->s;
  gsize n = 0;

  for (; n + 8 <= length; n += 8)
    {
      guint64 stream = 0, word;
      guint32 t, u;

      RC4_STEP (0) RC4_STEP (8) RC4_STEP (16) RC4_STEP (24)
      RC4_STEP (32) RC4_STEP (40) RC4_STEP (48) RC4_STEP (56)
      memcpy (&word, data + n, 8);
      word ^= GUINT64_TO_LE (stream);
      memcpy (data + n, &word, 8);
    }
  for (; n < length; n++)
    {
      guint64 stream = 0;
      guint32 t, u;

      RC4_STEP (0)
      data[n] ^= (guint8) stream;
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

/* @acceptor: the server's side (what the client seals, it opens) */
CastellanNtlmSeal *
castellan_ntlm_seal_new (const guint8 *session_key,
                         gsize         length,
                         gboolean      acceptor)
{
  CastellanNtlmSeal *self;

  g_return_val_if_fail (length == 16, NULL);

  self = g_new0 (CastellanNtlmSeal, 1);
  direction_init (acceptor ? &self->in : &self->out, session_key, length,
                  "session key to client-to-server signing key magic constant",
                  "session key to client-to-server sealing key magic constant");
  direction_init (acceptor ? &self->out : &self->in, session_key, length,
                  "session key to server-to-client signing key magic constant",
                  "session key to server-to-client sealing key magic constant");
  return self;
}

void
castellan_ntlm_seal_free (CastellanNtlmSeal *self)
{
  if (self == NULL)
    return;
  explicit_bzero (self, sizeof *self);
  g_free (self);
}

/* HMAC-MD5(signing key, sequence ‖ plaintext), with the message run
 * through RC4 (before the MAC reads it when opening, after when sealing)
 * a few kilobytes at a time, while they are in the cache. */
static void
mac_and_crypt (Direction *d,
               guint8    *data,
               gsize      length,
               gboolean   opening,
               guint8     digest[16])
{
  g_autoptr(GHmac) hmac = g_hmac_new (G_CHECKSUM_MD5, d->sign_key, sizeof d->sign_key);
  guint32 seq = GUINT32_TO_LE (d->seq);
  gsize size = 16;

  g_hmac_update (hmac, (const guchar *) &seq, 4);
  for (gsize at = 0; at < length; at += 4096)
    {
      gsize n = MIN (4096, length - at);

      if (opening)
        rc4_apply (&d->rc4, data + at, n);
      g_hmac_update (hmac, data + at, n);
      if (!opening)
        rc4_apply (&d->rc4, data + at, n);
    }
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

/* Sealing for an established NTLM context, from its session key; NULL
 * when the mechanism does not give the key. */
static CastellanNtlmSeal *
from_context (gss_ctx_id_t ctx,
              gboolean     acceptor)
{
  gss_buffer_set_t keys = GSS_C_NO_BUFFER_SET;
  CastellanNtlmSeal *seal = NULL;
  OM_uint32 major, minor;

  major = gss_inquire_sec_context_by_oid (&minor, ctx, GSS_C_INQ_SSPI_SESSION_KEY, &keys);
  if (GSS_ERROR (major) || keys == GSS_C_NO_BUFFER_SET)
    return NULL;
  if (keys->count >= 1 && keys->elements[0].length == 16)
    seal = castellan_ntlm_seal_new (keys->elements[0].value, 16, acceptor);
  for (gsize i = 0; i < keys->count; i++)
    explicit_bzero (keys->elements[i].value, keys->elements[i].length);
  gss_release_buffer_set (&minor, &keys);
  return seal;
}

static guint32
sequence_of (const guint8 *signature)
{
  guint32 seq;

  memcpy (&seq, signature + 12, 4);
  return GUINT32_FROM_LE (seq);
}

/* Seals the same message in step with the mechanism's first one, whose
 * signature and sealed data are @wrapped (from its sequence number on:
 * SPNEGO's mechListMIC may have taken the first). TRUE when both agree to
 * the byte; the state has then sealed that message and goes on from
 * there. */
static gboolean
check_wrap (CastellanNtlmSeal *self,
            const guint8      *plaintext,
            gsize              length,
            const guint8      *wrapped,
            gsize              wrapped_length)
{
  g_autofree guint8 *ours = NULL;
  guint8 signature[CASTELLAN_NTLM_SIGNATURE_SIZE];

  if (wrapped_length != CASTELLAN_NTLM_SIGNATURE_SIZE + length)
    return FALSE;
  ours = g_memdup2 (plaintext, length);
  self->out.seq = sequence_of (wrapped);
  castellan_ntlm_seal_wrap (self, ours, length, signature);
  return memcmp (signature, wrapped, sizeof signature) == 0 &&
         memcmp (ours, wrapped + sizeof signature, length) == 0;
}

/* check_wrap() the other way: @wrapped as received, @plaintext what the
 * mechanism opened it to. */
static gboolean
check_unwrap (CastellanNtlmSeal *self,
              const guint8      *wrapped,
              gsize              wrapped_length,
              const guint8      *plaintext,
              gsize              length)
{
  g_autofree guint8 *ours = NULL;

  if (wrapped_length != CASTELLAN_NTLM_SIGNATURE_SIZE + length)
    return FALSE;
  ours = g_memdup2 (wrapped + CASTELLAN_NTLM_SIGNATURE_SIZE, length);
  self->in.seq = sequence_of (wrapped);
  return castellan_ntlm_seal_unwrap (self, wrapped, ours, length) &&
         memcmp (ours, plaintext, length) == 0;
}

/**
 * castellan_ntlm_seal_check_first:
 * @self: (inout): made from @ctx when %NULL
 * @outgoing: which way the message went
 *
 * Checks the first message one way against what the mechanism made of it
 * (see check_wrap()): %TRUE when this state can take over that way.
 */
gboolean
castellan_ntlm_seal_check_first (CastellanNtlmSeal **self,
                                 gss_ctx_id_t        ctx,
                                 gboolean            acceptor,
                                 gboolean            outgoing,
                                 const guint8       *wrapped,
                                 gsize               wrapped_length,
                                 const guint8       *plaintext,
                                 gsize               length)
{
  if (*self == NULL)
    *self = from_context (ctx, acceptor);
  if (*self == NULL)
    return FALSE;
  return outgoing ? check_wrap (*self, plaintext, length, wrapped, wrapped_length)
                  : check_unwrap (*self, wrapped, wrapped_length, plaintext, length);
}

/* Seals @data in place and gives its signature (the sequence number is
 * this side's next). */
void
castellan_ntlm_seal_wrap (CastellanNtlmSeal *self,
                          guint8            *data,
                          gsize              length,
                          guint8             signature[CASTELLAN_NTLM_SIGNATURE_SIZE])
{
  guint8 digest[16];

  mac_and_crypt (&self->out, data, length, FALSE, digest);
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

  mac_and_crypt (&self->in, data, length, TRUE, digest);
  sign (&self->in, digest, expected);
  for (guint i = 0; i < sizeof expected; i++)
    diff |= expected[i] ^ signature[i];
  return diff == 0;
}
