/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "castellan-error.h"
#include "castellan-sealing.h"

/* MS-WSMV 2.2.9.1: a two-part multipart/encrypted body, its header lines
 * indented by a tab, the second part's payload a little-endian signature
 * length, the signature and the sealed SOAP. */
#define BOUNDARY "Encrypted Boundary"
#define MAX_SIGNATURE 1024

static char *
sealed_head (CastellanGss *gss,
             gsize         length)
{
  return g_strdup_printf ("--" BOUNDARY "\r\n"
                          "\tContent-Type: %s\r\n"
                          "\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=%" G_GSIZE_FORMAT "\r\n"
                          "--" BOUNDARY "\r\n"
                          "\tContent-Type: application/octet-stream\r\n",
                          castellan_gss_protocol (gss), length);
}

/* Length counts the padding of the Kerberos token, as Windows does (the
 * RC4-HMAC and DES3 tokens pad; AES tokens do not). */
GBytes *
castellan_sealing_seal (CastellanGss  *gss,
                        const guint8  *plaintext,
                        gsize          length,
                        GError       **error)
{
  GByteArray *body = g_byte_array_sized_new (length + 256);
  g_autofree char *head = NULL;
  static const char tail[] = "--" BOUNDARY "--\r\n";
  gsize padding, sealed_padding;
  gsize head_length;

  if (!castellan_gss_seal_padding (gss, length, &padding, error))
    {
      g_byte_array_unref (body);
      return NULL;
    }
  head = sealed_head (gss, length + padding);
  head_length = strlen (head);
  g_byte_array_append (body, (const guint8 *) head, head_length);
  if (!castellan_gss_seal (gss, plaintext, length, body, &sealed_padding, error))
    {
      g_byte_array_unref (body);
      return NULL;
    }
  if (sealed_padding != padding)
    {
      /* Less padding than its bound: the head is written again. */
      g_autofree char *right = sealed_head (gss, length + sealed_padding);

      g_byte_array_remove_range (body, 0, head_length);
      g_byte_array_prepend (body, (const guint8 *) right, strlen (right));
    }
  g_byte_array_append (body, (const guint8 *) tail, sizeof tail - 1);
  return g_byte_array_free_to_bytes (body);
}

char *
castellan_sealing_content_type (CastellanGss *gss)
{
  return g_strdup_printf ("multipart/encrypted;protocol=\"%s\";boundary=\"" BOUNDARY "\"",
                          castellan_gss_protocol (gss));
}

/* The boundary parameter of a Content-Type, unquoted. */
char *
castellan_sealing_boundary (const char *content_type)
{
  const char *p;
  const char *end;

  if (content_type == NULL)
    return NULL;
  for (p = content_type; (p = strchr (p, ';')) != NULL; p++)
    {
      const char *param = p + 1;

      while (*param == ' ' || *param == '\t')
        param++;
      if (g_ascii_strncasecmp (param, "boundary=", 9) != 0)
        continue;
      param += 9;
      if (*param == '"')
        {
          end = strchr (++param, '"');
          return end ? g_strndup (param, end - param) : NULL;
        }
      end = param + strcspn (param, ";");
      return g_strstrip (g_strndup (param, end - param));
    }
  return NULL;
}

static gboolean
fail (GError     **error,
      const char  *why)
{
  g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_SEALING_FAILED,
               _("The encrypted reply is malformed (%s). It was discarded."), why);
  return FALSE;
}

/* Matches "--" BOUNDARY at p, allowing one space after the dashes (seen
 * from Exchange and openwsman); returns the length matched or 0. */
static gsize
match_delimiter (const guint8 *p,
                 const guint8 *end,
                 const char   *boundary)
{
  gsize blen = strlen (boundary);
  gsize n = 2;

  if (end - p < 2 || p[0] != '-' || p[1] != '-')
    return 0;
  if (p + n < end && p[n] == ' ')
    n++;
  if ((gsize) (end - p) < n + blen || memcmp (p + n, boundary, blen) != 0)
    return 0;
  return n + blen;
}

static const guint8 *
find_line_end (const guint8 *p,
               const guint8 *end)
{
  for (; p + 1 < end; p++)
    if (p[0] == '\r' && p[1] == '\n')
      return p;
  return NULL;
}

gboolean
castellan_sealing_parse (const guint8         *body,
                         gsize                 length,
                         const char           *boundary,
                         CastellanSealedParts *parts,
                         GError              **error)
{
  const guint8 *p = body;
  const guint8 *end = body + length;
  const guint8 *payload;
  const guint8 *payload_end;
  gboolean have_length = FALSE;
  guint32 sig_len;
  gsize n;

  memset (parts, 0, sizeof *parts);
  if (boundary == NULL || *boundary == '\0')
    return fail (error, _("no boundary"));

  /* First part: header lines only. */
  n = match_delimiter (p, end, boundary);
  if (n == 0 || end - p < (gssize) n + 2 || p[n] != '\r' || p[n + 1] != '\n')
    return fail (error, _("it does not start with the boundary"));
  p += n + 2;
  for (;;)
    {
      const guint8 *eol = find_line_end (p, end);
      g_autofree char *line = NULL;
      char *text;

      if (eol == NULL)
        return fail (error, _("the first part never ends"));
      if (match_delimiter (p, eol, boundary) != 0)
        {
          p = eol + 2;
          break;
        }
      line = g_strndup ((const char *) p, eol - p);
      text = g_strstrip (line);
      if (g_ascii_strncasecmp (text, "Content-Type:", 13) == 0)
        {
          g_free (parts->protocol);
          parts->protocol = g_strstrip (g_strdup (text + 13));
        }
      else if (g_ascii_strncasecmp (text, "OriginalContent:", 16) == 0)
        {
          g_auto(GStrv) params = g_strsplit (text + 16, ";", -1);

          for (guint i = 0; params[i] != NULL; i++)
            {
              char *param = g_strstrip (params[i]);
              guint64 value;

              if (g_ascii_strncasecmp (param, "Length=", 7) == 0 &&
                  g_ascii_string_to_unsigned (param + 7, 10, 0, G_MAXSIZE, &value, NULL))
                {
                  parts->original_length = value;
                  have_length = TRUE;
                }
            }
        }
      p = eol + 2;
    }
  if (parts->protocol == NULL || !have_length)
    return fail (error, _("OriginalContent or its Length is missing"));

  /* Second part: one header line, then the binary payload. */
  {
    const guint8 *eol = find_line_end (p, end);
    g_autofree char *line = eol ? g_strndup ((const char *) p, eol - p) : NULL;

    if (line == NULL || g_ascii_strncasecmp (g_strstrip (line), "Content-Type: application/octet-stream", 38) != 0)
      return fail (error, _("the octet-stream part is missing"));
    payload = eol + 2;
  }

  /* The payload runs up to the closing delimiter at the very end. */
  payload_end = end;
  if (payload_end - payload >= 2 && payload_end[-2] == '\r' && payload_end[-1] == '\n')
    payload_end -= 2;
  if (payload_end - payload < 2 || payload_end[-1] != '-' || payload_end[-2] != '-')
    return fail (error, _("the closing boundary is missing"));
  payload_end -= 2;
  {
    gsize blen = strlen (boundary);
    const guint8 *delim = payload_end - blen;

    if (payload_end - payload < (gssize) blen || memcmp (delim, boundary, blen) != 0)
      return fail (error, _("the closing boundary is missing"));
    if (delim - payload >= 1 && delim[-1] == ' ')
      delim--;
    if (delim - payload < 2 || delim[-1] != '-' || delim[-2] != '-')
      return fail (error, _("the closing boundary is missing"));
    payload_end = delim - 2;
  }

  if (payload_end - payload < 4)
    return fail (error, _("the payload is too short"));
  memcpy (&sig_len, payload, 4);
  sig_len = GUINT32_FROM_LE (sig_len);
  if (sig_len == 0 || sig_len > MAX_SIGNATURE || sig_len > (gsize) (payload_end - payload - 4))
    return fail (error, _("the signature length is out of range"));

  parts->signature_offset = (payload + 4) - body;
  parts->signature_length = sig_len;
  parts->sealed_length = (payload_end - payload) - 4 - sig_len;
  return TRUE;
}

void
castellan_sealed_parts_clear (CastellanSealedParts *parts)
{
  g_clear_pointer (&parts->protocol, g_free);
}

/**
 * castellan_sealing_unseal:
 * @body: (transfer none): the HTTP body; decrypted in a private copy
 *
 * Opens an encrypted reply and checks it against its own framing: the
 * protocol must be the context's and the plaintext exactly Length bytes.
 */
GBytes *
castellan_sealing_unseal (CastellanGss  *gss,
                          GBytes        *body,
                          const char    *content_type,
                          GError       **error)
{
  gsize len = g_bytes_get_size (body);
  g_autoptr(GBytes) copy = g_bytes_new_take (g_memdup2 (g_bytes_get_data (body, NULL), len), len);

  return castellan_sealing_unseal_in_place (gss, copy, content_type, error);
}

/**
 * castellan_sealing_unseal_in_place:
 * @body: the HTTP body, lent by a caller that owns its bytes: the sealed
 *   data is decrypted where it lies
 *
 * castellan_sealing_unseal() without a copy; the result may be a slice of
 * @body.
 */
GBytes *
castellan_sealing_unseal_in_place (CastellanGss  *gss,
                                   GBytes        *body,
                                   const char    *content_type,
                                   GError       **error)
{
  g_autofree char *boundary = castellan_sealing_boundary (content_type);
  CastellanSealedParts parts;
  g_autoptr(GBytes) plain = NULL;
  gsize len, padding = 0;
  const guint8 *data = g_bytes_get_data (body, &len);

  if (!castellan_sealing_parse (data, len, boundary, &parts, error))
    {
      castellan_sealed_parts_clear (&parts);
      return NULL;
    }
  if (g_ascii_strcasecmp (parts.protocol, castellan_gss_protocol (gss)) != 0)
    {
      g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_SEALING_FAILED,
                   _("The reply is encrypted for “%s”, not for this connection’s “%s”. It was discarded."),
                   parts.protocol, castellan_gss_protocol (gss));
      castellan_sealed_parts_clear (&parts);
      return NULL;
    }

  plain = castellan_gss_unseal (gss, body, parts.signature_offset, parts.signature_length,
                                parts.sealed_length, &padding, error);
  /* Windows counts the padding in Length; the plaintext alone is taken
   * too, from a sender that leaves it out. */
  if (plain != NULL && g_bytes_get_size (plain) + padding != parts.original_length &&
      g_bytes_get_size (plain) != parts.original_length)
    {
      g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_SEALING_FAILED,
                   _("The decrypted reply has %lu bytes where its header announced %lu. It was discarded."),
                   (unsigned long) g_bytes_get_size (plain), (unsigned long) parts.original_length);
      g_clear_pointer (&plain, g_bytes_unref);
    }
  castellan_sealed_parts_clear (&parts);
  return g_steal_pointer (&plain);
}
