/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Who the client is (Basic over HTTPS, Negotiate and Kerberos through the
 * GSSAPI), and the MS-WSMV sealing of bodies with the context it set up. */
/* memmem */
#define _GNU_SOURCE

#include <gssapi/gssapi_ext.h>
#include <string.h>

#include "bench-peer.h"
#include "castellan-gss.h"

#define BOUNDARY "--Encrypted Boundary\r\n"
#define BOUNDARY_END "--Encrypted Boundary--\r\n"
#define OCTET_STREAM "\tContent-Type: application/octet-stream\r\n"

/* gss-ntlmssp's mechanism, 1.3.6.1.4.1.311.2.2.10 */
static gss_OID_desc ntlm_oid = { 10, (void *) "\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a" };

/* admin@TEST.LOCAL, TEST\admin, admin@TEST -> admin */
static char *
short_user (const char *name,
            gsize       len)
{
  const char *slash;
  const char *at;

  while (len > 0 && name[len - 1] == '\0')
    len--;
  slash = memchr (name, '\\', len);
  if (slash != NULL)
    {
      len -= slash + 1 - name;
      name = slash + 1;
    }
  at = memchr (name, '@', len);
  if (at != NULL)
    len = at - name;
  return g_ascii_strdown (name, len);
}

/* ---- authentication ----------------------------------------------------- */

void
bench_peer_gss_reset (Conn *c)
{
  OM_uint32 minor;

  if (c->gss != GSS_C_NO_CONTEXT)
    gss_delete_sec_context (&minor, &c->gss, GSS_C_NO_BUFFER);
  c->gss = GSS_C_NO_CONTEXT;
  c->gss_complete = FALSE;
}

static void
log_gss_error (const char *what,
               OM_uint32   major,
               OM_uint32   minor)
{
  OM_uint32 codes[2] = { major, minor };
  int types[2] = { GSS_C_GSS_CODE, GSS_C_MECH_CODE };

  if (!bench_peer.verbose)
    return;
  g_printerr ("castellan-bench-peer: %s:", what);
  for (guint i = 0; i < 2; i++)
    {
      OM_uint32 ctx = 0;
      OM_uint32 ignored;

      do
        {
          gss_buffer_desc text = GSS_C_EMPTY_BUFFER;

          if (GSS_ERROR (gss_display_status (&ignored, codes[i], types[i], GSS_C_NO_OID, &ctx, &text)))
            break;
          g_printerr (" %.*s;", (int) text.length, (const char *) text.value);
          gss_release_buffer (&ignored, &text);
        }
      while (ctx != 0);
    }
  g_printerr ("\n");
}

static gboolean
check_basic (Conn *c,
             Span  value)
{
  g_autofree char *text = g_strndup (value.p, value.len);
  g_autofree guchar *raw = NULL;
  g_autofree char *user = NULL;
  gsize len = 0;
  const char *colon;

  if (c->basic_ok != NULL && strcmp (c->basic_ok, text) == 0)
    return TRUE;
  raw = g_base64_decode (text, &len);
  colon = raw ? memchr (raw, ':', len) : NULL;
  if (colon == NULL)
    return FALSE;
  user = short_user ((const char *) raw, colon - (const char *) raw);
  if (g_ascii_strcasecmp (user, bench_peer.user) != 0 ||
      (gsize) (len - (colon + 1 - (const char *) raw)) != strlen (bench_peer.password) ||
      memcmp (colon + 1, bench_peer.password, strlen (bench_peer.password)) != 0)
    return FALSE;
  g_free (c->basic_ok);
  c->basic_ok = g_steal_pointer (&text);
  g_free (c->user);
  c->user = g_steal_pointer (&user);
  return TRUE;
}

/* One leg of the 401 exchange. TRUE when the request may be served, with
 * the mechanism's last token, if any, in @extra; else the 401 is sent. */
gboolean
bench_peer_authenticate (Conn              *c,
                         const HttpRequest *req,
                         GString           *extra)
{
  Span scheme, value;
  const char *space;

  if (req->authorization.p == NULL)
    {
      if (c->gss_complete)
        return TRUE;
      bench_peer_reply_offers (c);
      return FALSE;
    }

  space = memchr (req->authorization.p, ' ', req->authorization.len);
  scheme.p = req->authorization.p;
  scheme.len = space ? (gsize) (space - scheme.p) : req->authorization.len;
  value.p = scheme.p + scheme.len;
  value.len = req->authorization.len - scheme.len;
  value = span_trim (value);

  if (span_is (scheme, "Negotiate") || span_is (scheme, "Kerberos"))
    {
      g_autofree char *b64 = g_strndup (value.p, value.len);
      gss_buffer_desc in = GSS_C_EMPTY_BUFFER;
      gss_buffer_desc out = GSS_C_EMPTY_BUFFER;
      gss_name_t name = GSS_C_NO_NAME;
      gss_OID mech = GSS_C_NO_OID;
      OM_uint32 major, minor;
      gsize len = 0;
      guchar *token;

      if (c->gss_complete)
        bench_peer_gss_reset (c);
      token = g_base64_decode (b64, &len);
      in.value = token;
      in.length = len;
      major = len == 0 ? GSS_S_DEFECTIVE_TOKEN
                       : gss_accept_sec_context (&minor, &c->gss, GSS_C_NO_CREDENTIAL, &in,
                                                 GSS_C_NO_CHANNEL_BINDINGS, &name, &mech, &out,
                                                 NULL, NULL, NULL);
      g_free (token);
      if (GSS_ERROR (major))
        {
          log_gss_error ("authentication failed", major, len == 0 ? 0 : minor);
          gss_release_buffer (&minor, &out);
          bench_peer_gss_reset (c);
          bench_peer_reply_offers (c);
          return FALSE;
        }
      if (out.length > 0)
        {
          g_autofree char *encoded = g_base64_encode (out.value, out.length);

          g_string_append (extra, "WWW-Authenticate: ");
          g_string_append_len (extra, scheme.p, scheme.len);
          g_string_append_c (extra, ' ');
          g_string_append (extra, encoded);
          g_string_append (extra, "\r\n");
        }
      gss_release_buffer (&minor, &out);
      if (major & GSS_S_CONTINUE_NEEDED)
        {
          bench_peer_reply_empty (c, 401, extra->len ? extra->str : NULL);
          return FALSE;
        }
      c->gss_complete = TRUE;
      c->kerberos_scheme = span_is (scheme, "Kerberos");
      /* SPNEGO hands back the mechanism it settled on; anything but NTLM
       * is Kerberos (whichever of its OIDs the client used). */
      c->gss_iov = !(mech != GSS_C_NO_OID && mech->length == ntlm_oid.length &&
                     memcmp (mech->elements, ntlm_oid.elements, ntlm_oid.length) == 0);
      g_clear_pointer (&c->user, g_free);
      if (name != GSS_C_NO_NAME)
        {
          gss_buffer_desc text = GSS_C_EMPTY_BUFFER;

          if (!GSS_ERROR (gss_display_name (&minor, name, &text, NULL)))
            c->user = short_user (text.value, text.length);
          gss_release_buffer (&minor, &text);
          gss_release_name (&minor, &name);
        }
      if (c->user == NULL)
        c->user = g_strdup (bench_peer.user);
      if (bench_peer.verbose)
        g_printerr ("castellan-bench-peer: %s authenticated %s (%s)\n", c->client_ip, c->user,
                    c->gss_iov ? "kerberos" : "ntlm");
      return TRUE;
    }
  if (span_is (scheme, "Basic") && c->https)
    {
      if (!check_basic (c, value))
        {
          if (bench_peer.verbose)
            g_printerr ("castellan-bench-peer: %s: Basic authentication failed\n", c->client_ip);
          bench_peer_reply_offers (c);
          return FALSE;
        }
      bench_peer_gss_reset (c);
      return TRUE;
    }
  bench_peer_reply_offers (c);
  return FALSE;
}

/* ---- sealing (MS-WSMV 2.2.9.1) -------------------------------------------- */

/* Opens a sealed body into c->plain. */
gboolean
bench_peer_unseal (Conn   *c,
                   guint8 *body,
                   gsize   len)
{
  static const char first[] = BOUNDARY;
  static const char last[] = BOUNDARY_END;
  static const char marker[] = OCTET_STREAM;
  const gsize first_len = sizeof first - 1;
  const gsize last_len = sizeof last - 1;
  const gsize marker_len = sizeof marker - 1;
  const char *text = (const char *) body;
  const char *second;
  const char *line;
  const char *payload;
  gsize payload_len;
  Span protocol = { NULL, 0 };
  gboolean have_length = FALSE;
  guint64 length = 0;
  guint32 sig_len;
  OM_uint32 major, minor;
  int conf = 0;

  if (len < first_len + last_len || memcmp (text, first, first_len) != 0 ||
      memcmp (text + len - last_len, last, last_len) != 0)
    return FALSE;
  second = memmem (text + first_len, len - first_len - last_len, first, first_len);
  if (second == NULL)
    return FALSE;
  for (line = text + first_len; line < second;)
    {
      const char *eol = memmem (line, second - line, "\r\n", 2);
      Span l;

      l.p = line;
      l.len = (eol ? eol : second) - line;
      l = span_trim (l);
      line = eol ? eol + 2 : second;
      if (span_has_prefix (l, "content-type:"))
        {
          protocol.p = l.p + 13;
          protocol.len = l.len - 13;
          protocol = span_trim (protocol);
        }
      else if (span_has_prefix (l, "originalcontent:"))
        {
          const char *p = l.p + 16;
          const char *end = l.p + l.len;

          while (p < end)
            {
              const char *semi = memchr (p, ';', end - p);
              Span part = { p, (semi ? semi : end) - p };

              part = span_trim (part);
              if (span_has_prefix (part, "length="))
                {
                  g_autofree char *digits = g_strndup (part.p + 7, part.len - 7);
                  char *stop = NULL;

                  length = g_ascii_strtoull (digits, &stop, 10);
                  have_length = stop != digits && *stop == '\0';
                }
              p = semi ? semi + 1 : end;
            }
        }
    }
  if (protocol.p == NULL || !have_length ||
      !span_is (protocol, c->kerberos_scheme ? PROTOCOL_KERBEROS : PROTOCOL_SPNEGO))
    return FALSE;
  payload = second + first_len;
  if ((gsize) (text + len - last_len - payload) < marker_len ||
      memcmp (payload, marker, marker_len) != 0)
    return FALSE;
  payload += marker_len;
  payload_len = text + len - last_len - payload;
  if (payload_len < 4)
    return FALSE;
  memcpy (&sig_len, payload, 4);
  sig_len = GUINT32_FROM_LE (sig_len);
  if (sig_len > payload_len - 4)
    return FALSE;

  g_string_truncate (c->plain, 0);
  if (c->gss_iov)
    {
      /* Decrypted in place, in the request buffer. */
      gss_iov_buffer_desc iov[2] = {
        { GSS_IOV_BUFFER_TYPE_HEADER, { sig_len, (void *) (payload + 4) } },
        { GSS_IOV_BUFFER_TYPE_DATA, { payload_len - 4 - sig_len, (void *) (payload + 4 + sig_len) } },
      };

      gsize padding = 0;

      /* An RFC 1964 token (RC4-HMAC, DES3) leaves its padding at the end
       * of the data; Length counts it. */
      major = gss_unwrap_iov (&minor, c->gss, &conf, NULL, iov, 2);
      if (!GSS_ERROR (major) && sig_len > 0 && payload[4] == 0x60 &&
          !castellan_kerberos_padding (iov[1].buffer.value, iov[1].buffer.length, &padding))
        major = GSS_S_BAD_SIG;
      if (!GSS_ERROR (major))
        {
          g_string_append_len (c->plain, iov[1].buffer.value, iov[1].buffer.length - padding);
          if (c->plain->len + padding == length)
            length = c->plain->len;
        }
    }
  else
    {
      /* gss-ntlmssp: the signature and the sealed data are one token. */
      gss_buffer_desc in = { payload_len - 4, (void *) (payload + 4) };
      gss_buffer_desc out = GSS_C_EMPTY_BUFFER;

      major = gss_unwrap (&minor, c->gss, &in, &out, &conf, NULL);
      if (!GSS_ERROR (major))
        {
          g_string_append_len (c->plain, out.value, out.length);
        }
      gss_release_buffer (&minor, &out);
    }
  if (GSS_ERROR (major))
    {
      log_gss_error ("unwrap failed", major, minor);
      return FALSE;
    }
  /* Signed but not sealed is refused, as AllowUnencrypted=false does. */
  return conf != 0 && c->plain->len == length;
}

/* Seals c->soap into c->out, after the room for the head. */
gboolean
bench_peer_seal (Conn *c)
{
  GString *out = c->out;
  const char *protocol = c->kerberos_scheme ? PROTOCOL_KERBEROS : PROTOCOL_SPNEGO;
  OM_uint32 major, minor;
  int conf = 0;
  guint32 sig_len;

  gss_iov_buffer_desc iov[3] = {
    { GSS_IOV_BUFFER_TYPE_HEADER, GSS_C_EMPTY_BUFFER },
    { GSS_IOV_BUFFER_TYPE_DATA, { c->soap->len, NULL } },
    { GSS_IOV_BUFFER_TYPE_PADDING, GSS_C_EMPTY_BUFFER },
  };

  /* Length counts the padding of an RC4-HMAC or DES3 token, as Windows
   * does. */
  if (c->gss_iov)
    {
      major = gss_wrap_iov_length (&minor, c->gss, 1, GSS_C_QOP_DEFAULT, &conf, iov, 3);
      if (GSS_ERROR (major))
        goto failed;
    }
  g_string_set_size (out, HEAD_ROOM);
  g_string_append (out, BOUNDARY "\tContent-Type: ");
  g_string_append (out, protocol);
  g_string_append (out, "\r\n\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=");
  append_uint (out, c->soap->len + (c->gss_iov ? iov[2].buffer.length : 0));
  g_string_append (out, "\r\n" BOUNDARY OCTET_STREAM);
  if (c->gss_iov)
    {
      gsize start = out->len;

      g_string_set_size (out, start + 4 + iov[0].buffer.length + c->soap->len + iov[2].buffer.length);
      iov[0].buffer.value = out->str + start + 4;
      iov[1].buffer.value = out->str + start + 4 + iov[0].buffer.length;
      iov[2].buffer.value = out->str + start + 4 + iov[0].buffer.length + c->soap->len;
      memcpy (iov[1].buffer.value, c->soap->str, c->soap->len);
      major = gss_wrap_iov (&minor, c->gss, 1, GSS_C_QOP_DEFAULT, &conf, iov, 3);
      if (GSS_ERROR (major))
        goto failed;
      sig_len = GUINT32_TO_LE ((guint32) iov[0].buffer.length);
      memcpy (out->str + start, &sig_len, 4);
      /* The padding may come out shorter than its bound. */
      g_string_set_size (out, start + 4 + iov[0].buffer.length + c->soap->len + iov[2].buffer.length);
    }
  else
    {
      gss_buffer_desc in = { c->soap->len, c->soap->str };
      gss_buffer_desc wrapped = GSS_C_EMPTY_BUFFER;

      major = gss_wrap (&minor, c->gss, 1, GSS_C_QOP_DEFAULT, &in, &conf, &wrapped);
      if (GSS_ERROR (major) || wrapped.length < 16)
        {
          gss_release_buffer (&minor, &wrapped);
          goto failed;
        }
      /* Its first 16 bytes are the signature. */
      sig_len = GUINT32_TO_LE (16);
      g_string_append_len (out, (const char *) &sig_len, 4);
      g_string_append_len (out, wrapped.value, wrapped.length);
      gss_release_buffer (&minor, &wrapped);
    }
  g_string_append (out, BOUNDARY_END);
  return conf != 0;

failed:
  log_gss_error ("wrap failed", major, minor);
  return FALSE;
}
