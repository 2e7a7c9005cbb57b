/* SPDX-License-Identifier: GPL-3.0-or-later */
/* SOAP for the peer: reading the few values a WS-Man request carries,
 * writing envelopes and faults as Windows does. */

#include "bench-peer.h"

#define NS_FAULT "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"
#define ANONYMOUS "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
#define ACTION_FAULT "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"

/* The prefixes Windows uses (and the Python peer copies). */
#define ENVELOPE_OPEN \
  "<s:Envelope xml:lang=\"en-US\" " \
  "xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" " \
  "xmlns:a=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\" " \
  "xmlns:x=\"http://schemas.xmlsoap.org/ws/2004/09/transfer\" " \
  "xmlns:w=\"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd\" " \
  "xmlns:rsp=\"http://schemas.microsoft.com/wbem/wsman/1/windows/shell\" " \
  "xmlns:p=\"http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd\">"

void
bench_peer_append_escaped (GString    *out,
                           const char *text)
{
  for (; *text; text++)
    switch (*text)
      {
      case '&':
        g_string_append (out, "&amp;");
        break;
      case '<':
        g_string_append (out, "&lt;");
        break;
      case '>':
        g_string_append (out, "&gt;");
        break;
      case '"':
        g_string_append (out, "&quot;");
        break;
      default:
        g_string_append_c (out, *text);
        break;
      }
}

/* XML character data with its entities decoded. */
char *
bench_peer_xml_decode (Span s)
{
  static const struct { const char *name; char c; } entities[] = {
    { "amp;", '&' }, { "lt;", '<' }, { "gt;", '>' }, { "quot;", '"' }, { "apos;", '\'' },
  };
  GString *out = g_string_sized_new (s.len + 1);
  const char *p = s.p;
  const char *end = s.p + s.len;

  while (p < end)
    {
      const char *amp = memchr (p, '&', end - p);
      gboolean known = FALSE;

      if (amp == NULL)
        {
          g_string_append_len (out, p, end - p);
          break;
        }
      g_string_append_len (out, p, amp - p);
      p = amp + 1;
      for (guint i = 0; i < G_N_ELEMENTS (entities) && !known; i++)
        {
          gsize n = strlen (entities[i].name);

          if ((gsize) (end - p) >= n && memcmp (p, entities[i].name, n) == 0)
            {
              g_string_append_c (out, entities[i].c);
              p += n;
              known = TRUE;
            }
        }
      if (!known && p < end && *p == '#')
        {
          const char *semi = memchr (p, ';', end - p);
          gboolean hex = p + 1 < end && (p[1] == 'x' || p[1] == 'X');
          char *stop = NULL;
          guint64 value = semi ? g_ascii_strtoull (p + (hex ? 2 : 1), &stop, hex ? 16 : 10) : 0;

          if (semi != NULL && stop == semi && value > 0 && value <= 0x10FFFF)
            {
              g_string_append_unichar (out, (gunichar) value);
              p = semi + 1;
              known = TRUE;
            }
        }
      if (!known)
        g_string_append_c (out, '&');
    }
  return g_string_free (out, FALSE);
}

/* The next element whose local name is @local, whatever its prefix, from
 * *@cursor on: its attributes (between the name and the '>') and its text
 * (up to the next tag). Enough for the leaf values a WS-Man request
 * carries; this is a benchmark peer, not an XML parser. */
gboolean
bench_peer_find_element (const char **cursor,
                         const char  *end,
                         const char  *local,
                         Span        *attrs,
                         Span        *text)
{
  gsize n = strlen (local);
  const char *p = *cursor;

  while (p < end && (p = memchr (p, '<', end - p)) != NULL)
    {
      const char *name = ++p;
      const char *colon = NULL;
      const char *gt;

      if (p < end && (*p == '/' || *p == '?' || *p == '!'))
        continue;
      while (p < end && !g_ascii_isspace (*p) && *p != '>' && *p != '/')
        {
          if (*p == ':')
            colon = p;
          p++;
        }
      if (colon != NULL)
        name = colon + 1;
      if ((gsize) (p - name) != n || memcmp (name, local, n) != 0)
        continue;
      gt = memchr (p, '>', end - p);
      if (gt == NULL)
        return FALSE;
      attrs->p = p;
      attrs->len = gt - p;
      if (gt > p && gt[-1] == '/')
        {
          attrs->len--;
          text->p = gt + 1;
          text->len = 0;
        }
      else
        {
          const char *lt = memchr (gt + 1, '<', end - gt - 1);

          text->p = gt + 1;
          text->len = (lt ? lt : end) - text->p;
        }
      *cursor = gt + 1;
      return TRUE;
    }
  *cursor = end;
  return FALSE;
}

gboolean
bench_peer_find_attribute (Span        attrs,
                           const char *name,
                           Span       *value)
{
  gsize n = strlen (name);
  const char *p = attrs.p;
  const char *end = attrs.p + attrs.len;

  while (p < end)
    {
      const char *name_start;
      const char *name_end;
      const char *close;
      char quote;

      while (p < end && g_ascii_isspace (*p))
        p++;
      name_start = p;
      while (p < end && *p != '=' && !g_ascii_isspace (*p))
        p++;
      name_end = p;
      while (p < end && g_ascii_isspace (*p))
        p++;
      if (p >= end || *p != '=')
        return FALSE;
      p++;
      while (p < end && g_ascii_isspace (*p))
        p++;
      if (p >= end || (*p != '"' && *p != '\''))
        return FALSE;
      quote = *p++;
      close = memchr (p, quote, end - p);
      if (close == NULL)
        return FALSE;
      if ((gsize) (name_end - name_start) == n && memcmp (name_start, name, n) == 0)
        {
          value->p = p;
          value->len = close - p;
          return TRUE;
        }
      p = close + 1;
    }
  return FALSE;
}

/* The trimmed text of the first element named @local, or an empty span. */
Span
bench_peer_element_text (const Soap *r,
                         const char *local)
{
  const char *cursor = r->xml;
  Span attrs, text = { "", 0 };

  if (!bench_peer_find_element (&cursor, r->end, local, &attrs, &text))
    return (Span) { "", 0 };
  return span_trim (text);
}

/* An attribute of the first element named @local, decoded, or NULL. */
char *
bench_peer_element_attribute (const Soap *r,
                              const char *local,
                              const char *name)
{
  const char *cursor = r->xml;
  Span attrs, text, value;

  if (!bench_peer_find_element (&cursor, r->end, local, &attrs, &text) ||
      !bench_peer_find_attribute (attrs, name, &value))
    return NULL;
  return bench_peer_xml_decode (value);
}

/* A random (version 4) UUID in upper case, as Windows writes its GUIDs. */
static void
append_uuid (Conn    *c,
             GString *out)
{
  static const char hex[] = "0123456789ABCDEF";
  guint8 bytes[16];
  char text[36];
  int at = 0;

  for (guint i = 0; i < 16; i += 4)
    {
      guint32 r = g_rand_int (c->rand);

      memcpy (bytes + i, &r, 4);
    }
  bytes[6] = 0x40 | (bytes[6] & 0x0F);
  bytes[8] = 0x80 | (bytes[8] & 0x3F);
  for (guint i = 0; i < 16; i++)
    {
      if (i == 4 || i == 6 || i == 8 || i == 10)
        text[at++] = '-';
      text[at++] = hex[bytes[i] >> 4];
      text[at++] = hex[bytes[i] & 0xF];
    }
  g_string_append_len (out, text, sizeof text);
}

char *
bench_peer_new_uuid (Conn *c)
{
  GString *s = g_string_sized_new (40);

  append_uuid (c, s);
  return g_string_free (s, FALSE);
}

void
bench_peer_begin_envelope (Conn       *c,
                           const char *action,
                           const Soap *r)
{
  GString *s = c->soap;

  g_string_append (s, ENVELOPE_OPEN "<s:Header><a:Action>");
  g_string_append (s, action);
  g_string_append (s, "</a:Action><a:MessageID>uuid:");
  append_uuid (c, s);
  g_string_append (s, "</a:MessageID><a:To>" ANONYMOUS "</a:To><a:RelatesTo>");
  /* Already escaped as the request carried it. */
  g_string_append_len (s, r->message_id.p, r->message_id.len);
  g_string_append (s, "</a:RelatesTo></s:Header><s:Body>");
}

void
bench_peer_end_envelope (Conn *c)
{
  g_string_append (c->soap, "</s:Body></s:Envelope>");
}

int
bench_peer_fault (Conn       *c,
                  const Soap *r,
                  const char *code,
                  const char *subcode,
                  const char *reason,
                  guint64     wsman_code,
                  const char *detail)
{
  GString *s = c->soap;

  bench_peer_begin_envelope (c, ACTION_FAULT, r);
  g_string_append_printf (s, "<s:Fault><s:Code><s:Value>s:%s</s:Value><s:Subcode><s:Value>w:%s"
                          "</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang=\"en-US\">",
                          code, subcode);
  bench_peer_append_escaped (s, reason);
  g_string_append (s, " </s:Text></s:Reason><s:Detail>");
  g_string_append (s, detail);
  g_string_append_printf (s, "<f:WSManFault xmlns:f=\"" NS_FAULT "\" Code=\"%" G_GUINT64_FORMAT
                          "\" Machine=\"" MACHINE "\"><f:Message>", wsman_code);
  bench_peer_append_escaped (s, reason);
  g_string_append (s, " </f:Message></f:WSManFault></s:Detail></s:Fault>");
  bench_peer_end_envelope (c);
  return 500;
}
