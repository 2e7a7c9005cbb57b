/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The benchmarks' WinRM peer: a WS-Management listener that answers as
 * tests/peer/winrm_peer.py does (Negotiate/Kerberos with MS-WSMV sealing
 * over HTTP, Basic over HTTPS, the cmd shell's lab-echo and lab-stream),
 * at a small fraction of its cost, so that a client benchmark measures the
 * client and not the peer.
 *
 *   castellan-bench-peer --ports-file FILE --user USER --password-file FILE
 *       --cert CERT.pem --key KEY.pem [--verbose]
 *
 * Kerberos keys come from KRB5_KTNAME, NTLM accounts from NTLM_USER_FILE
 * (gss-ntlmssp); Basic is checked against --user and the first line of
 * --password-file. Ports are chosen by the OS and written to the ports
 * file as {"http": N, "https": M} once both listeners accept connections.
 * One thread per connection with blocking I/O; every response is built in
 * one buffer, head included, and goes out in one send() (over TLS, in one
 * gnutls_record_send() per record). */
/* memmem, accept4 */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench-pattern.h"
#include "castellan-ntlm-seal.h"

#define NS_SHELL "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
#define NS_FAULT "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"
#define RESOURCE_CMD NS_SHELL "/cmd"
#define CONFIG_URI "http://schemas.microsoft.com/wbem/wsman/1/config"
#define ANONYMOUS "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
#define ACTION_CREATE "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create"
#define ACTION_DELETE "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete"
#define ACTION_GET "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get"
#define ACTION_COMMAND NS_SHELL "/Command"
#define ACTION_RECEIVE NS_SHELL "/Receive"
#define ACTION_SEND NS_SHELL "/Send"
#define ACTION_SIGNAL NS_SHELL "/Signal"
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

#define BOUNDARY "--Encrypted Boundary\r\n"
#define BOUNDARY_END "--Encrypted Boundary--\r\n"
#define OCTET_STREAM "\tContent-Type: application/octet-stream\r\n"
#define PROTOCOL_SPNEGO "application/HTTP-SPNEGO-session-encrypted"
#define PROTOCOL_KERBEROS "application/HTTP-Kerberos-session-encrypted"
#define SOAP_TYPE "application/soap+xml;charset=UTF-8"

#define MACHINE "127.0.0.1"
#define DEFAULT_MAX_ENVELOPE 153600
#define MAX_HEAD (64 * 1024)
#define MAX_BODY (16 * 1024 * 1024)
/* Room left in front of every response body for its head, so that both
 * go out from one buffer without moving the body. */
#define HEAD_ROOM 4096
/* As the Python peer's socket timeout: an idle connection is dropped. */
#define IDLE_SECONDS 120

#define CODE_INVALID_SELECTORS G_GUINT64_CONSTANT (2150858843)
#define CODE_BAD_REQUEST G_GUINT64_CONSTANT (2150858778)
#define CODE_ACTION_NOT_SUPPORTED G_GUINT64_CONSTANT (2150858791)
#define CODE_INVALID_RESOURCE_URI G_GUINT64_CONSTANT (2150858770)
#define CODE_SCHEMA_VALIDATION G_GUINT64_CONSTANT (2150858817)

/* gss-ntlmssp's mechanism, 1.3.6.1.4.1.311.2.2.10 */
static gss_OID_desc ntlm_oid = { 10, (void *) "\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a" };

typedef struct
{
  const char *p;
  gsize len;
} Span;

typedef enum
{
  COMMAND_ECHO,
  COMMAND_STREAM,
  COMMAND_UNSUPPORTED,
} CommandKind;

typedef struct
{
  char *id;                 /* as the client or the peer named it */
  CommandKind kind;
  char *echo;               /* lab-echo: the whole output */
  guint64 size;             /* lab-stream: bytes to send in all */
  guint64 sent;
  gboolean reported;        /* echo and unsupported: the output went out */
} Command;

typedef struct
{
  char *id;
  GHashTable *commands;     /* upper-case CommandId -> Command */
} Shell;

typedef struct
{
  int fd;
  gnutls_session_t tls;     /* NULL over plain HTTP */
  gboolean https;
  guint16 port;             /* the listener's */
  char client_ip[INET6_ADDRSTRLEN];
  gss_ctx_id_t gss;
  gboolean gss_complete;
  gboolean gss_iov;         /* Kerberos: wrap_iov; NTLM has no IOV */
  gboolean kerberos_scheme; /* names the sealing protocol */
  /* NTLM sealed by the core's castellan-ntlm-seal.c once its first message
   * each way matched gss-ntlmssp's (which costs more per message than the
   * rest of a request). */
  CastellanNtlmSeal *ntlm;
  int ntlm_in, ntlm_out;    /* 0 unchecked, 1 own, -1 the mechanism's */
  char *user;
  char *basic_ok;           /* the Basic credentials last accepted */
  guint8 *in;               /* what was read and not yet handled */
  gsize in_len;
  gsize in_size;
  GString *out;             /* the response: HEAD_ROOM, then the body */
  GString *soap;            /* the SOAP response before sealing */
  GString *plain;           /* the SOAP request, NUL-terminated */
  GString *head;
  GRand *rand;
  time_t date_second;
  char date[64];
  gboolean close;
} Conn;

typedef struct
{
  Span method;
  Span path;
  Span authorization;
  Span content_type;
  guint64 content_length;
  gboolean close;
  guint8 *body;
} HttpRequest;

typedef struct
{
  const char *xml;
  const char *end;
  Span action;
  Span message_id;
  Span resource_uri;
  guint max_envelope;
} Soap;

static struct
{
  char *user;
  char *password;
  gboolean verbose;
  gnutls_certificate_credentials_t tls_cred;
  GBytes *pattern;
} peer;

static GMutex shells_lock;
static GHashTable *shells;  /* upper-case ShellId -> Shell */

/* ---- small helpers ------------------------------------------------------ */

static gboolean
span_is (Span        s,
         const char *text)
{
  gsize n = strlen (text);

  return s.len == n && g_ascii_strncasecmp (s.p, text, n) == 0;
}

static gboolean
span_has_prefix (Span        s,
                 const char *prefix)
{
  gsize n = strlen (prefix);

  return s.len >= n && g_ascii_strncasecmp (s.p, prefix, n) == 0;
}

static Span
span_trim (Span s)
{
  while (s.len > 0 && g_ascii_isspace (s.p[0]))
    {
      s.p++;
      s.len--;
    }
  while (s.len > 0 && g_ascii_isspace (s.p[s.len - 1]))
    s.len--;
  return s;
}

static gboolean
span_equal_text (Span        s,
                 const char *text)
{
  gsize n = strlen (text);

  return s.len == n && memcmp (s.p, text, n) == 0;
}

static void
append_escaped (GString    *out,
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
static char *
xml_decode (Span s)
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
static gboolean
find_element (const char **cursor,
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

static gboolean
find_attribute (Span        attrs,
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
static Span
element_text (const Soap *r,
              const char *local)
{
  const char *cursor = r->xml;
  Span attrs, text = { "", 0 };

  if (!find_element (&cursor, r->end, local, &attrs, &text))
    return (Span) { "", 0 };
  return span_trim (text);
}

/* An attribute of the first element named @local, decoded, or NULL. */
static char *
element_attribute (const Soap *r,
                   const char *local,
                   const char *name)
{
  const char *cursor = r->xml;
  Span attrs, text, value;

  if (!find_element (&cursor, r->end, local, &attrs, &text) ||
      !find_attribute (attrs, name, &value))
    return NULL;
  return xml_decode (value);
}

/* Plain appends, not printf: these run for every request. */
static void
append_uint (GString *out,
             guint64  value)
{
  char digits[24];
  int i = sizeof digits;

  do
    digits[--i] = '0' + value % 10;
  while ((value /= 10) != 0);
  g_string_append_len (out, digits + i, sizeof digits - i);
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

static char *
new_uuid (Conn *c)
{
  GString *s = g_string_sized_new (40);

  append_uuid (c, s);
  return g_string_free (s, FALSE);
}

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

/* ---- shells ----------------------------------------------------------- */

static void
command_free (gpointer data)
{
  Command *cmd = data;

  g_free (cmd->id);
  g_free (cmd->echo);
  g_free (cmd);
}

static void
shell_free (gpointer data)
{
  Shell *shell = data;

  g_hash_table_unref (shell->commands);
  g_free (shell->id);
  g_free (shell);
}

/* Called with shells_lock held. */
static Shell *
lookup_shell (const char *shell_id)
{
  g_autofree char *key = g_ascii_strup (shell_id, -1);

  return g_hash_table_lookup (shells, key);
}

/* ---- I/O ---------------------------------------------------------------- */

static gboolean
conn_write (Conn       *c,
            const char *data,
            gsize       len)
{
  while (len > 0)
    {
      gssize n;

      /* GnuTLS sends at most one record per call: the loop goes on for a
       * body larger than that, a plain socket takes it all at once. */
      if (c->tls != NULL)
        n = gnutls_record_send (c->tls, data, len);
      else
        n = send (c->fd, data, len, MSG_NOSIGNAL);
      if (n < 0)
        {
          if (c->tls != NULL ? n == GNUTLS_E_INTERRUPTED || n == GNUTLS_E_AGAIN : errno == EINTR)
            continue;
          return FALSE;
        }
      data += n;
      len -= n;
    }
  return TRUE;
}

/* Reads more into c->in; FALSE at the end of the connection. */
static gboolean
conn_read (Conn *c)
{
  if (c->in_size - c->in_len < 16384)
    {
      c->in_size = MAX (c->in_size * 2, c->in_len + 65536);
      c->in = g_realloc (c->in, c->in_size);
    }
  for (;;)
    {
      gssize n;

      if (c->tls != NULL)
        {
          n = gnutls_record_recv (c->tls, c->in + c->in_len, c->in_size - c->in_len);
          if (n == GNUTLS_E_INTERRUPTED)
            continue;
        }
      else
        {
          n = recv (c->fd, c->in + c->in_len, c->in_size - c->in_len, 0);
          if (n < 0 && errno == EINTR)
            continue;
        }
      if (n <= 0)
        return FALSE;
      c->in_len += n;
      return TRUE;
    }
}

static const char *
reason_phrase (int status)
{
  switch (status)
    {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Request Entity Too Large";
    case 500:
      return "Internal Server Error";
    default:
      return "Error";
    }
}

/* HTTP.sys dates every response; strftime only once a second. */
static void
update_date (Conn *c)
{
  time_t now = time (NULL);
  struct tm tm;

  if (now == c->date_second)
    return;
  c->date_second = now;
  gmtime_r (&now, &tm);
  strftime (c->date, sizeof c->date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* Sends c->out (HEAD_ROOM bytes, then the body) with its head in front. */
static void
reply (Conn       *c,
       int         status,
       const char *content_type,
       const char *extra)
{
  GString *h = c->head;
  gsize body_len = c->out->len - HEAD_ROOM;
  char *start;

  update_date (c);
  g_string_truncate (h, 0);
  g_string_append (h, "HTTP/1.1 ");
  append_uint (h, status);
  g_string_append_c (h, ' ');
  g_string_append (h, reason_phrase (status));
  g_string_append (h, "\r\nServer: Microsoft-HTTPAPI/2.0\r\nDate: ");
  g_string_append (h, c->date);
  g_string_append (h, "\r\n");
  if (content_type != NULL)
    {
      g_string_append (h, "Content-Type: ");
      g_string_append (h, content_type);
      g_string_append (h, "\r\n");
    }
  if (extra != NULL)
    g_string_append (h, extra);
  g_string_append (h, "Content-Length: ");
  append_uint (h, body_len);
  g_string_append (h, "\r\n\r\n");
  if (h->len > HEAD_ROOM)
    {
      g_string_erase (c->out, 0, HEAD_ROOM);
      g_string_prepend_len (c->out, h->str, h->len);
      start = c->out->str;
    }
  else
    {
      start = c->out->str + HEAD_ROOM - h->len;
      memcpy (start, h->str, h->len);
    }
  if (!conn_write (c, start, h->len + body_len))
    c->close = TRUE;
}

static void
reply_empty (Conn       *c,
             int         status,
             const char *extra)
{
  g_string_set_size (c->out, HEAD_ROOM);
  reply (c, status, NULL, extra);
}

static void
reply_offers (Conn *c)
{
  reply_empty (c, 401, c->https
                       ? "WWW-Authenticate: Negotiate\r\nWWW-Authenticate: Kerberos\r\n"
                         "WWW-Authenticate: Basic realm=\"WSMAN\"\r\n"
                       : "WWW-Authenticate: Negotiate\r\nWWW-Authenticate: Kerberos\r\n");
}

/* ---- authentication ----------------------------------------------------- */

static void
gss_reset (Conn *c)
{
  OM_uint32 minor;

  if (c->gss != GSS_C_NO_CONTEXT)
    gss_delete_sec_context (&minor, &c->gss, GSS_C_NO_BUFFER);
  c->gss = GSS_C_NO_CONTEXT;
  c->gss_complete = FALSE;
  g_clear_pointer (&c->ntlm, castellan_ntlm_seal_free);
  c->ntlm_in = c->ntlm_out = 0;
}

/* Whether the core's NTLM sealing agrees with the mechanism's first
 * message this way (see castellan_ntlm_seal_check_wrap()). */
static int
check_ntlm (Conn         *c,
            gboolean      outgoing,
            const guint8 *wrapped,
            gsize         wrapped_length,
            const guint8 *plaintext,
            gsize         length)
{
  gboolean same;

  if (c->ntlm == NULL)
    c->ntlm = castellan_ntlm_seal_from_context (c->gss, TRUE);
  same = c->ntlm != NULL &&
         (outgoing ? castellan_ntlm_seal_check_wrap (c->ntlm, plaintext, length, wrapped, wrapped_length)
                   : castellan_ntlm_seal_check_unwrap (c->ntlm, wrapped, wrapped_length, plaintext, length));
  return same ? 1 : -1;
}

static void
log_gss_error (const char *what,
               OM_uint32   major,
               OM_uint32   minor)
{
  OM_uint32 codes[2] = { major, minor };
  int types[2] = { GSS_C_GSS_CODE, GSS_C_MECH_CODE };

  if (!peer.verbose)
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
  if (g_ascii_strcasecmp (user, peer.user) != 0 ||
      (gsize) (len - (colon + 1 - (const char *) raw)) != strlen (peer.password) ||
      memcmp (colon + 1, peer.password, strlen (peer.password)) != 0)
    return FALSE;
  g_free (c->basic_ok);
  c->basic_ok = g_steal_pointer (&text);
  g_free (c->user);
  c->user = g_steal_pointer (&user);
  return TRUE;
}

/* One leg of the 401 exchange. TRUE when the request may be served, with
 * the mechanism's last token, if any, in @extra; else the 401 is sent. */
static gboolean
authenticate (Conn              *c,
              const HttpRequest *req,
              GString           *extra)
{
  Span scheme, value;
  const char *space;

  if (req->authorization.p == NULL)
    {
      if (c->gss_complete)
        return TRUE;
      reply_offers (c);
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
        gss_reset (c);
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
          gss_reset (c);
          reply_offers (c);
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
          reply_empty (c, 401, extra->len ? extra->str : NULL);
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
        c->user = g_strdup (peer.user);
      if (peer.verbose)
        g_printerr ("castellan-bench-peer: %s authenticated %s (%s)\n", c->client_ip, c->user,
                    c->gss_iov ? "kerberos" : "ntlm");
      return TRUE;
    }
  if (span_is (scheme, "Basic") && c->https)
    {
      if (!check_basic (c, value))
        {
          if (peer.verbose)
            g_printerr ("castellan-bench-peer: %s: Basic authentication failed\n", c->client_ip);
          reply_offers (c);
          return FALSE;
        }
      gss_reset (c);
      return TRUE;
    }
  reply_offers (c);
  return FALSE;
}

/* ---- sealing (MS-WSMV 2.2.9.1) -------------------------------------------- */

/* Opens a sealed body into c->plain. */
static gboolean
unseal (Conn   *c,
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

      major = gss_unwrap_iov (&minor, c->gss, &conf, NULL, iov, 2);
      if (!GSS_ERROR (major))
        g_string_append_len (c->plain, iov[1].buffer.value, iov[1].buffer.length);
    }
  else if (c->ntlm_in > 0)
    {
      guint8 *signature = (guint8 *) payload + 4;
      gsize sealed = payload_len - 4 - sig_len;

      major = GSS_S_BAD_SIG;
      if (sig_len == CASTELLAN_NTLM_SIGNATURE_SIZE &&
          castellan_ntlm_seal_unwrap (c->ntlm, signature, signature + sig_len, sealed))
        {
          g_string_append_len (c->plain, (const char *) signature + sig_len, sealed);
          major = GSS_S_COMPLETE;
          conf = 1;
        }
      minor = 0;
    }
  else
    {
      /* gss-ntlmssp: the signature and the sealed data are one token. */
      gss_buffer_desc in = { payload_len - 4, (void *) (payload + 4) };
      gss_buffer_desc out = GSS_C_EMPTY_BUFFER;

      major = gss_unwrap (&minor, c->gss, &in, &out, &conf, NULL);
      if (!GSS_ERROR (major))
        {
          if (c->ntlm_in == 0 && sig_len == CASTELLAN_NTLM_SIGNATURE_SIZE)
            c->ntlm_in = check_ntlm (c, FALSE, in.value, in.length, out.value, out.length);
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
static gboolean
seal (Conn *c)
{
  GString *out = c->out;
  const char *protocol = c->kerberos_scheme ? PROTOCOL_KERBEROS : PROTOCOL_SPNEGO;
  OM_uint32 major, minor;
  int conf = 0;
  guint32 sig_len;

  g_string_set_size (out, HEAD_ROOM);
  g_string_append (out, BOUNDARY "\tContent-Type: ");
  g_string_append (out, protocol);
  g_string_append (out, "\r\n\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=");
  append_uint (out, c->soap->len);
  g_string_append (out, "\r\n" BOUNDARY OCTET_STREAM);
  if (c->gss_iov)
    {
      gss_iov_buffer_desc iov[3] = {
        { GSS_IOV_BUFFER_TYPE_HEADER, GSS_C_EMPTY_BUFFER },
        { GSS_IOV_BUFFER_TYPE_DATA, { c->soap->len, NULL } },
        { GSS_IOV_BUFFER_TYPE_PADDING, GSS_C_EMPTY_BUFFER },
      };
      gsize start = out->len;

      major = gss_wrap_iov_length (&minor, c->gss, 1, GSS_C_QOP_DEFAULT, &conf, iov, 3);
      if (GSS_ERROR (major))
        goto failed;
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
  else if (c->ntlm_out > 0)
    {
      gsize start;

      sig_len = GUINT32_TO_LE (CASTELLAN_NTLM_SIGNATURE_SIZE);
      g_string_append_len (out, (const char *) &sig_len, 4);
      start = out->len;
      g_string_set_size (out, start + CASTELLAN_NTLM_SIGNATURE_SIZE);
      g_string_append_len (out, c->soap->str, c->soap->len);
      castellan_ntlm_seal_wrap (c->ntlm, (guint8 *) out->str + start + CASTELLAN_NTLM_SIGNATURE_SIZE,
                                c->soap->len, (guint8 *) out->str + start);
      conf = 1;
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
      if (c->ntlm_out == 0)
        c->ntlm_out = check_ntlm (c, TRUE, wrapped.value, wrapped.length,
                                  (const guint8 *) c->soap->str, c->soap->len);
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

/* ---- WS-Management -------------------------------------------------------- */

static void
begin_envelope (Conn       *c,
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

static void
end_envelope (Conn *c)
{
  g_string_append (c->soap, "</s:Body></s:Envelope>");
}

static int
fault (Conn       *c,
       const Soap *r,
       const char *code,
       const char *subcode,
       const char *reason,
       guint64     wsman_code,
       const char *detail)
{
  GString *s = c->soap;

  begin_envelope (c, ACTION_FAULT, r);
  g_string_append_printf (s, "<s:Fault><s:Code><s:Value>s:%s</s:Value><s:Subcode><s:Value>w:%s"
                          "</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang=\"en-US\">",
                          code, subcode);
  append_escaped (s, reason);
  g_string_append (s, " </s:Text></s:Reason><s:Detail>");
  g_string_append (s, detail);
  g_string_append_printf (s, "<f:WSManFault xmlns:f=\"" NS_FAULT "\" Code=\"%" G_GUINT64_FORMAT
                          "\" Machine=\"" MACHINE "\"><f:Message>", wsman_code);
  append_escaped (s, reason);
  g_string_append (s, " </f:Message></f:WSManFault></s:Detail></s:Fault>");
  end_envelope (c);
  return 500;
}

static int
shell_not_found (Conn       *c,
                 const Soap *r,
                 const char *shell_id)
{
  g_autofree char *reason =
    g_strdup_printf ("The request for the Windows Remote Shell with ShellId %s failed because the "
                     "shell was not found on the server. Possible causes are: the specified ShellId "
                     "is incorrect or the shell no longer exists on the server. Provide the correct "
                     "ShellId or create a new shell and retry the operation.", shell_id);

  return fault (c, r, "Sender", "InvalidSelectors", reason, CODE_INVALID_SELECTORS,
                "<w:FaultDetail>http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/"
                "InvalidValue</w:FaultDetail>");
}

static int
command_not_found (Conn       *c,
                   const Soap *r)
{
  return fault (c, r, "Sender", "InvalidSelectors",
                "The Windows Remote Shell received a request to perform an operation on a command "
                "identifier that does not exist. Either the command has completed execution or the "
                "client specified an invalid command identifier.",
                CODE_INVALID_SELECTORS,
                "<w:FaultDetail>http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/"
                "UnexpectedSelectors</w:FaultDetail>");
}

static int
invalid_resource_uri (Conn       *c,
                      const Soap *r)
{
  return fault (c, r, "Sender", "InvalidResourceURI", "The resource URI is not supported.",
                CODE_INVALID_RESOURCE_URI, "");
}

/* The ShellId selector's value, decoded ("" without one). */
static char *
selector_shell_id (const Soap *r)
{
  const char *cursor = r->xml;
  Span attrs, text, name;

  while (find_element (&cursor, r->end, "Selector", &attrs, &text))
    if (find_attribute (attrs, "Name", &name) && span_equal_text (name, "ShellId"))
      return xml_decode (text);
  return g_strdup ("");
}

static int
do_get_config (Conn       *c,
               const Soap *r)
{
  Span uri = r->resource_uri;

  while (uri.len > 0 && uri.p[uri.len - 1] == '/')
    uri.len--;
  if (!span_equal_text (uri, CONFIG_URI))
    return invalid_resource_uri (c, r);
  begin_envelope (c, ACTION_GET "Response", r);
  g_string_append (c->soap,
                   "<cfg:Config xmlns:cfg=\"" CONFIG_URI "\">"
                   "<cfg:MaxEnvelopeSizekb>500</cfg:MaxEnvelopeSizekb>"
                   "<cfg:MaxTimeoutms>60000</cfg:MaxTimeoutms>"
                   "<cfg:MaxBatchItems>32000</cfg:MaxBatchItems>"
                   "<cfg:Service>"
                   "<cfg:MaxConcurrentOperationsPerUser>1500</cfg:MaxConcurrentOperationsPerUser>"
                   "<cfg:AllowUnencrypted>false</cfg:AllowUnencrypted>"
                   "<cfg:Auth><cfg:Basic>true</cfg:Basic><cfg:Kerberos>true</cfg:Kerberos>"
                   "<cfg:Negotiate>true</cfg:Negotiate><cfg:Certificate>false</cfg:Certificate>"
                   "<cfg:CredSSP>false</cfg:CredSSP><cfg:CbtHardeningLevel>Relaxed</cfg:CbtHardeningLevel>"
                   "</cfg:Auth></cfg:Service>"
                   "<cfg:Winrs><cfg:AllowRemoteShellAccess>true</cfg:AllowRemoteShellAccess>"
                   "<cfg:MaxShellsPerUser>5</cfg:MaxShellsPerUser></cfg:Winrs>"
                   "</cfg:Config>");
  end_envelope (c);
  return 200;
}

static int
do_create (Conn       *c,
           const Soap *r)
{
  const char *cursor = r->xml;
  Span attrs, text;
  Shell *shell;
  GString *s = c->soap;

  if (r->resource_uri.len < 10 ||
      memcmp (r->resource_uri.p + r->resource_uri.len - 10, "/shell/cmd", 10) != 0 ||
      !find_element (&cursor, r->end, "Shell", &attrs, &text))
    return invalid_resource_uri (c, r);
  shell = g_new0 (Shell, 1);
  shell->id = new_uuid (c);
  shell->commands = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, command_free);
  g_mutex_lock (&shells_lock);
  g_hash_table_replace (shells, shell->id, shell);
  g_mutex_unlock (&shells_lock);

  begin_envelope (c, ACTION_CREATE "Response", r);
  g_string_append_printf (s, "<x:ResourceCreated><a:Address>%s://" MACHINE ":%u/wsman</a:Address>"
                          "<a:ReferenceParameters><w:ResourceURI>" RESOURCE_CMD "</w:ResourceURI>"
                          "<w:SelectorSet><w:Selector Name=\"ShellId\">%s</w:Selector></w:SelectorSet>"
                          "</a:ReferenceParameters></x:ResourceCreated>"
                          "<rsp:Shell xmlns:rsp=\"" NS_SHELL "\"><rsp:ShellId>%s</rsp:ShellId>"
                          "<rsp:ResourceUri>" RESOURCE_CMD "</rsp:ResourceUri><rsp:Owner>",
                          c->https ? "https" : "http", c->port, shell->id, shell->id);
  append_escaped (s, c->user ? c->user : peer.user);
  g_string_append (s, "</rsp:Owner><rsp:ClientIP>");
  append_escaped (s, c->client_ip);
  g_string_append (s, "</rsp:ClientIP><rsp:IdleTimeOut>PT7200.000S</rsp:IdleTimeOut>"
                      "<rsp:InputStreams>stdin</rsp:InputStreams>"
                      "<rsp:OutputStreams>stdout stderr</rsp:OutputStreams>"
                      "<rsp:ShellRunTime>P0DT0H0M0S</rsp:ShellRunTime>"
                      "<rsp:ShellInactivity>P0DT0H0M0S</rsp:ShellInactivity></rsp:Shell>");
  end_envelope (c);
  return 200;
}

static int
do_delete (Conn       *c,
           const Soap *r)
{
  g_autofree char *shell_id = selector_shell_id (r);
  g_autofree char *key = g_ascii_strup (shell_id, -1);
  gboolean found;

  g_mutex_lock (&shells_lock);
  found = g_hash_table_remove (shells, key);
  g_mutex_unlock (&shells_lock);
  if (!found)
    return shell_not_found (c, r, shell_id);
  begin_envelope (c, ACTION_DELETE "Response", r);
  end_envelope (c);
  return 200;
}

/* The command line as the Python peer reads it: Command and Arguments
 * joined by spaces, then split into words. */
static Command *
parse_command_line (const Soap *r,
                    const char *from)
{
  const char *cursor = from;
  Span attrs, text;
  GString *line = g_string_new (NULL);
  g_auto(GStrv) words = NULL;
  GPtrArray *list = g_ptr_array_new ();
  Command *cmd = g_new0 (Command, 1);

  if (find_element (&cursor, r->end, "Command", &attrs, &text))
    {
      g_autofree char *part = xml_decode (text);

      g_string_append (line, part);
    }
  cursor = from;
  while (find_element (&cursor, r->end, "Arguments", &attrs, &text))
    {
      g_autofree char *part = xml_decode (text);

      if (part[0] == '\0')
        continue;
      if (line->len > 0)
        g_string_append_c (line, ' ');
      g_string_append (line, part);
    }
  words = g_strsplit_set (line->str, " \t\r\n\f\v", -1);
  for (guint i = 0; words[i] != NULL; i++)
    if (words[i][0] != '\0')
      g_ptr_array_add (list, words[i]);

  cmd->kind = COMMAND_UNSUPPORTED;
  if (list->len == 2 && g_str_equal (list->pdata[0], "lab-stream"))
    {
      const char *n = list->pdata[1];
      char *stop = NULL;

      cmd->size = g_ascii_strtoull (n, &stop, 10);
      if (g_ascii_isdigit (n[0]) && *stop == '\0')
        cmd->kind = COMMAND_STREAM;
    }
  else if (list->len >= 1 && g_str_equal (list->pdata[0], "lab-echo"))
    {
      GString *echo = g_string_new (NULL);

      for (guint i = 1; i < list->len; i++)
        {
          if (i > 1)
            g_string_append_c (echo, ' ');
          g_string_append (echo, list->pdata[i]);
        }
      g_string_append_c (echo, '\n');
      cmd->kind = COMMAND_ECHO;
      cmd->echo = g_string_free (echo, FALSE);
    }
  g_ptr_array_unref (list);
  g_string_free (line, TRUE);
  return cmd;
}

static int
do_command (Conn       *c,
            const Soap *r)
{
  g_autofree char *shell_id = selector_shell_id (r);
  g_autofree char *command_id = NULL;
  const char *cursor = r->xml;
  Span attrs, text, value;
  Command *cmd;
  Shell *shell;
  GString *s = c->soap;

  if (!find_element (&cursor, r->end, "CommandLine", &attrs, &text))
    return fault (c, r, "Sender", "SchemaValidationError",
                  "The SOAP XML in the message does not match the corresponding XML schema "
                  "definition.", CODE_SCHEMA_VALIDATION, "");
  cmd = parse_command_line (r, cursor);
  /* Since WinRM 2.2 a client may name the command itself. */
  if (find_attribute (attrs, "CommandId", &value) && value.len > 0)
    cmd->id = xml_decode (value);
  else
    cmd->id = new_uuid (c);
  /* Once in the table, cmd is another thread's to free. */
  command_id = g_strdup (cmd->id);

  g_mutex_lock (&shells_lock);
  shell = lookup_shell (shell_id);
  if (shell != NULL)
    g_hash_table_replace (shell->commands, g_ascii_strup (cmd->id, -1), cmd);
  g_mutex_unlock (&shells_lock);
  if (shell == NULL)
    {
      command_free (cmd);
      return shell_not_found (c, r, shell_id);
    }

  begin_envelope (c, ACTION_COMMAND "Response", r);
  g_string_append (s, "<rsp:CommandResponse><rsp:CommandId>");
  append_escaped (s, command_id);
  g_string_append (s, "</rsp:CommandId></rsp:CommandResponse>");
  end_envelope (c);
  return 200;
}

static void
append_stream (GString      *s,
               const char   *name,
               const char   *command_id,
               const guint8 *data,
               gsize         len,
               gboolean      end)
{
  g_string_append (s, "<rsp:Stream Name=\"");
  g_string_append (s, name);
  g_string_append (s, "\" CommandId=\"");
  append_escaped (s, command_id);
  g_string_append (s, end ? "\" End=\"true\">" : "\">");
  if (len > 0)
    {
      gsize at = s->len;
      int state = 0;
      int save = 0;
      gsize n;

      g_string_set_size (s, at + (len / 3 + 1) * 4 + 4);
      n = g_base64_encode_step (data, len, FALSE, s->str + at, &state, &save);
      n += g_base64_encode_close (FALSE, s->str + at + n, &state, &save);
      g_string_set_size (s, at + n);
    }
  g_string_append (s, "</rsp:Stream>");
}

/* lab-stream's bytes [offset, offset + len): the pattern block repeated,
 * base64-encoded straight into the envelope. */
static void
append_pattern_stream (GString    *s,
                       const char *command_id,
                       guint64     offset,
                       gsize       len,
                       gboolean    end)
{
  gsize block_size;
  const guint8 *block = g_bytes_get_data (peer.pattern, &block_size);
  gsize at;
  int state = 0;
  int save = 0;
  gsize n = 0;

  g_string_append (s, "<rsp:Stream Name=\"stdout\" CommandId=\"");
  append_escaped (s, command_id);
  g_string_append (s, end ? "\" End=\"true\">" : "\">");
  at = s->len;
  g_string_set_size (s, at + (len / 3 + 1) * 4 + 8);
  while (len > 0)
    {
      gsize from = offset % block_size;
      gsize take = MIN (len, block_size - from);

      n += g_base64_encode_step (block + from, take, FALSE, s->str + at + n, &state, &save);
      offset += take;
      len -= take;
    }
  n += g_base64_encode_close (FALSE, s->str + at + n, &state, &save);
  g_string_set_size (s, at + n);
  g_string_append (s, "</rsp:Stream>");
}

static int
do_receive (Conn       *c,
            const Soap *r)
{
  static const char unsupported[] = "not supported by the bench peer\n";
  g_autofree char *shell_id = selector_shell_id (r);
  g_autofree char *command_id = element_attribute (r, "DesiredStream", "CommandId");
  g_autofree char *echo = NULL;
  /* Room for the envelope around the streams; base64 grows data by 4/3. */
  gsize budget = MAX (512, ((gssize) r->max_envelope - 2048) * 3 / 4);
  CommandKind kind = COMMAND_UNSUPPORTED;
  gboolean first = FALSE;
  guint64 offset = 0;
  gsize take = 0;
  gboolean done = TRUE;
  Shell *shell;
  Command *cmd = NULL;
  GString *s = c->soap;

  g_mutex_lock (&shells_lock);
  shell = lookup_shell (shell_id);
  if (shell != NULL && command_id != NULL)
    {
      g_autofree char *key = g_ascii_strup (command_id, -1);

      cmd = g_hash_table_lookup (shell->commands, key);
    }
  if (cmd != NULL)
    {
      /* Claim this reply's share under the lock; encode it outside. */
      kind = cmd->kind;
      first = !cmd->reported;
      cmd->reported = TRUE;
      if (kind == COMMAND_ECHO && first)
        echo = g_strdup (cmd->echo);
      else if (kind == COMMAND_STREAM)
        {
          offset = cmd->sent;
          take = MIN (budget, cmd->size - cmd->sent);
          cmd->sent += take;
          done = cmd->sent == cmd->size;
        }
    }
  g_mutex_unlock (&shells_lock);
  if (shell == NULL)
    return shell_not_found (c, r, shell_id);
  if (cmd == NULL)
    return command_not_found (c, r);

  begin_envelope (c, ACTION_RECEIVE "Response", r);
  g_string_append (s, "<rsp:ReceiveResponse>");
  switch (kind)
    {
    case COMMAND_ECHO:
      append_stream (s, "stdout", command_id, (const guint8 *) echo, echo ? strlen (echo) : 0, TRUE);
      append_stream (s, "stderr", command_id, NULL, 0, TRUE);
      break;
    case COMMAND_STREAM:
      if (take > 0)
        append_pattern_stream (s, command_id, offset, take, done);
      else
        append_stream (s, "stdout", command_id, NULL, 0, TRUE);
      if (done)
        append_stream (s, "stderr", command_id, NULL, 0, TRUE);
      break;
    case COMMAND_UNSUPPORTED:
    default:
      /* In the Python peer's order: streams with data first. */
      append_stream (s, "stderr", command_id, (const guint8 *) unsupported,
                     first ? sizeof unsupported - 1 : 0, TRUE);
      append_stream (s, "stdout", command_id, NULL, 0, TRUE);
      break;
    }
  g_string_append (s, "<rsp:CommandState CommandId=\"");
  append_escaped (s, command_id);
  if (done)
    g_string_append (s, kind == COMMAND_UNSUPPORTED
                        ? "\" State=\"" NS_SHELL "/CommandState/Done\"><rsp:ExitCode>1</rsp:ExitCode></rsp:CommandState>"
                        : "\" State=\"" NS_SHELL "/CommandState/Done\"><rsp:ExitCode>0</rsp:ExitCode></rsp:CommandState>");
  else
    g_string_append (s, "\" State=\"" NS_SHELL "/CommandState/Running\"></rsp:CommandState>");
  g_string_append (s, "</rsp:ReceiveResponse>");
  end_envelope (c);
  return 200;
}

/* The shell and command a Send or Signal names; a fault when either is
 * missing. */
static int
find_command (Conn       *c,
              const Soap *r,
              const char *element,
              gboolean    forget)
{
  g_autofree char *shell_id = selector_shell_id (r);
  g_autofree char *command_id = element_attribute (r, element, "CommandId");
  gboolean found = FALSE;
  Shell *shell;

  g_mutex_lock (&shells_lock);
  shell = lookup_shell (shell_id);
  if (shell != NULL && command_id != NULL)
    {
      g_autofree char *key = g_ascii_strup (command_id, -1);

      found = forget ? g_hash_table_remove (shell->commands, key)
                     : g_hash_table_contains (shell->commands, key);
    }
  g_mutex_unlock (&shells_lock);
  if (shell == NULL)
    return shell_not_found (c, r, shell_id);
  if (!found)
    return command_not_found (c, r);
  return 200;
}

static int
do_signal (Conn       *c,
           const Soap *r)
{
  Span code = element_text (r, "Code");
  const char *slash = g_strrstr_len (code.p, code.len, "/");
  g_autofree char *name = NULL;
  int status;

  if (slash != NULL)
    {
      code.len -= slash + 1 - code.p;
      code.p = slash + 1;
    }
  name = g_ascii_strdown (code.p, code.len);
  if (!g_str_equal (name, "ctrl_c") && !g_str_equal (name, "ctrl_break") &&
      !g_str_equal (name, "terminate"))
    {
      g_autofree char *reason = g_strdup_printf ("The signal code %s is not supported.", name);

      return fault (c, r, "Sender", "InvalidParameter", reason, CODE_INVALID_SELECTORS, "");
    }
  status = find_command (c, r, "Signal", g_str_equal (name, "terminate"));
  if (status != 200)
    return status;
  begin_envelope (c, ACTION_SIGNAL "Response", r);
  g_string_append (c->soap, "<rsp:SignalResponse/>");
  end_envelope (c);
  return 200;
}

/* No process reads stdin here: the input is taken and dropped. */
static int
do_send (Conn       *c,
         const Soap *r)
{
  int status = find_command (c, r, "Stream", FALSE);

  if (status != 200)
    return status;
  begin_envelope (c, ACTION_SEND "Response", r);
  g_string_append (c->soap, "<rsp:SendResponse/>");
  end_envelope (c);
  return 200;
}

/* Answers the SOAP request in c->plain into c->soap; the HTTP status. */
static int
dispatch (Conn *c)
{
  Soap r = { c->plain->str, c->plain->str + c->plain->len, { "", 0 }, { "", 0 }, { "", 0 }, 0 };
  Span max;
  guint64 value;

  r.action = element_text (&r, "Action");
  r.message_id = element_text (&r, "MessageID");
  r.resource_uri = element_text (&r, "ResourceURI");
  max = element_text (&r, "MaxEnvelopeSize");
  if (max.len > 0)
    {
      g_autofree char *digits = g_strndup (max.p, max.len);

      value = g_ascii_strtoull (digits, NULL, 10);
    }
  else
    value = 0;
  r.max_envelope = value > 0 && value < G_MAXINT ? (guint) value : DEFAULT_MAX_ENVELOPE;

  if (r.action.len == 0)
    {
      fault (c, &r, "Sender", "InvalidMessageInformationHeader",
             "not a SOAP envelope with an Action", CODE_BAD_REQUEST, "");
      return 400;
    }
  if (span_equal_text (r.action, ACTION_RECEIVE))
    return do_receive (c, &r);
  if (span_equal_text (r.action, ACTION_COMMAND))
    return do_command (c, &r);
  if (span_equal_text (r.action, ACTION_SIGNAL))
    return do_signal (c, &r);
  if (span_equal_text (r.action, ACTION_CREATE))
    return do_create (c, &r);
  if (span_equal_text (r.action, ACTION_DELETE))
    return do_delete (c, &r);
  if (span_equal_text (r.action, ACTION_GET))
    return do_get_config (c, &r);
  if (span_equal_text (r.action, ACTION_SEND))
    return do_send (c, &r);
  return fault (c, &r, "Sender", "ActionNotSupported",
                "The WS-Management service cannot process the request because the action is not "
                "supported for this resource.", CODE_ACTION_NOT_SUPPORTED, "");
}

/* ---- HTTP ------------------------------------------------------------------- */

/* The request line and the headers this peer reads; FALSE if malformed. */
static gboolean
parse_head (guint8      *buf,
            gsize        head_len,
            HttpRequest *req)
{
  const char *p = (const char *) buf;
  const char *end = p + head_len - 2;   /* the blank line's CRLF */
  const char *eol = memmem (p, end - p, "\r\n", 2);
  const char *sp1;
  const char *sp2;

  memset (req, 0, sizeof *req);
  if (eol == NULL)
    return FALSE;
  sp1 = memchr (p, ' ', eol - p);
  sp2 = sp1 ? memchr (sp1 + 1, ' ', eol - sp1 - 1) : NULL;
  if (sp2 == NULL)
    return FALSE;
  req->method = (Span) { p, sp1 - p };
  req->path = (Span) { sp1 + 1, sp2 - sp1 - 1 };
  for (p = eol + 2; p < end; p = eol + 2)
    {
      const char *colon;
      Span name, value;

      eol = memmem (p, end - p + 2, "\r\n", 2);
      if (eol == NULL)
        return FALSE;
      colon = memchr (p, ':', eol - p);
      if (colon == NULL)
        continue;
      name = (Span) { p, colon - p };
      value = span_trim ((Span) { colon + 1, eol - colon - 1 });
      if (span_is (name, "Content-Length"))
        {
          g_autofree char *digits = g_strndup (value.p, value.len);
          char *stop = NULL;

          req->content_length = g_ascii_strtoull (digits, &stop, 10);
          if (stop == digits || *stop != '\0')
            return FALSE;
        }
      else if (span_is (name, "Authorization"))
        req->authorization = value;
      else if (span_is (name, "Content-Type"))
        req->content_type = value;
      else if (span_is (name, "Connection"))
        req->close = span_is (value, "close");
      else if (span_is (name, "Transfer-Encoding"))
        return FALSE;   /* clients of this peer always send a length */
    }
  return TRUE;
}

/* Reads one whole request into c->in; *used: its size there. */
static gboolean
read_request (Conn        *c,
              HttpRequest *req,
              gsize       *used)
{
  gsize scanned = 0;
  gsize head_len;
  const guint8 *blank;
  guint8 *before;

  for (;;)
    {
      gsize from = scanned > 3 ? scanned - 3 : 0;

      blank = c->in_len > from ? memmem (c->in + from, c->in_len - from, "\r\n\r\n", 4) : NULL;
      if (blank != NULL)
        break;
      scanned = c->in_len;
      if (c->in_len > MAX_HEAD || !conn_read (c))
        return FALSE;
    }
  head_len = blank + 4 - c->in;
  if (!parse_head (c->in, head_len, req))
    return FALSE;
  if (req->content_length > MAX_BODY)
    {
      reply_empty (c, 413, "Connection: close\r\n");
      return FALSE;
    }
  /* Room for the whole body at once, and the head's spans re-read if
   * the buffer moved. */
  before = c->in;
  if (c->in_size < head_len + req->content_length + 1)
    {
      c->in_size = head_len + req->content_length + 16384;
      c->in = g_realloc (c->in, c->in_size);
    }
  while (c->in_len < head_len + req->content_length)
    if (!conn_read (c))
      return FALSE;
  if (c->in != before)
    parse_head (c->in, head_len, req);
  req->body = c->in + head_len;
  *used = head_len + req->content_length;
  return TRUE;
}

static void
serve_wsman (Conn              *c,
             const HttpRequest *req,
             const char        *extra)
{
  gboolean sealed;
  int status;

  if (req->content_length == 0)
    {
      reply_empty (c, 200, extra);
      return;
    }
  sealed = span_has_prefix (req->content_type, "multipart/encrypted");
  if (sealed)
    {
      if (!c->gss_complete)
        {
          reply_empty (c, 400, extra);
          return;
        }
      if (!unseal (c, req->body, req->content_length))
        {
          if (peer.verbose)
            g_printerr ("castellan-bench-peer: %s: refused a sealed request\n", c->client_ip);
          c->close = TRUE;
          reply_empty (c, 400, extra);
          return;
        }
    }
  else if (!c->https)
    {
      /* AllowUnencrypted=false: plaintext over HTTP is refused, and the
       * connection's context forgotten. */
      gss_reset (c);
      reply_offers (c);
      return;
    }
  else
    {
      g_string_truncate (c->plain, 0);
      g_string_append_len (c->plain, (const char *) req->body, req->content_length);
    }

  if (sealed)
    {
      g_string_truncate (c->soap, 0);
      status = dispatch (c);
      if (!seal (c))
        {
          c->close = TRUE;
          reply_empty (c, 500, extra);
          return;
        }
      reply (c, status,
             c->kerberos_scheme
             ? "multipart/encrypted;protocol=\"" PROTOCOL_KERBEROS "\";boundary=\"Encrypted Boundary\""
             : "multipart/encrypted;protocol=\"" PROTOCOL_SPNEGO "\";boundary=\"Encrypted Boundary\"",
             extra);
    }
  else
    {
      GString *t;

      /* Built right after the head's room: the envelope is the body. */
      g_string_set_size (c->soap, HEAD_ROOM);
      status = dispatch (c);
      t = c->out;
      c->out = c->soap;
      c->soap = t;
      reply (c, status, SOAP_TYPE, extra);
    }
}

static void
handle_request (Conn              *c,
                const HttpRequest *req)
{
  g_autoptr(GString) extra = NULL;
  Span path = req->path;
  const char *query = memchr (path.p, '?', path.len);

  if (req->close)
    c->close = TRUE;
  if (!span_is (req->method, "POST"))
    {
      reply_empty (c, 405, NULL);
      return;
    }
  if (query != NULL)
    path.len = query - path.p;
  if (!span_is (path, "/wsman"))
    {
      reply_empty (c, 404, NULL);
      return;
    }
  extra = g_string_new (NULL);
  if (!authenticate (c, req, extra))
    return;
  serve_wsman (c, req, extra->len ? extra->str : NULL);
}

static void
conn_free (Conn *c)
{
  gss_reset (c);
  if (c->tls != NULL)
    gnutls_deinit (c->tls);
  close (c->fd);
  g_free (c->user);
  g_free (c->basic_ok);
  g_free (c->in);
  g_string_free (c->out, TRUE);
  g_string_free (c->soap, TRUE);
  g_string_free (c->plain, TRUE);
  g_string_free (c->head, TRUE);
  g_rand_free (c->rand);
  g_free (c);
}

static gboolean
tls_handshake (Conn *c)
{
  int ret;

  if (gnutls_init (&c->tls, GNUTLS_SERVER | GNUTLS_NO_SIGNAL) < 0)
    {
      c->tls = NULL;
      return FALSE;
    }
  gnutls_set_default_priority (c->tls);
  gnutls_credentials_set (c->tls, GNUTLS_CRD_CERTIFICATE, peer.tls_cred);
  gnutls_certificate_server_set_request (c->tls, GNUTLS_CERT_IGNORE);
  gnutls_transport_set_int (c->tls, c->fd);
  gnutls_handshake_set_timeout (c->tls, GNUTLS_DEFAULT_HANDSHAKE_TIMEOUT);
  do
    ret = gnutls_handshake (c->tls);
  while (ret < 0 && gnutls_error_is_fatal (ret) == 0);
  if (ret < 0 && peer.verbose)
    g_printerr ("castellan-bench-peer: %s: TLS handshake failed: %s\n", c->client_ip,
                gnutls_strerror (ret));
  return ret >= 0;
}

static gpointer
serve_connection (gpointer data)
{
  Conn *c = data;

  if (!c->https || tls_handshake (c))
    while (!c->close)
      {
        HttpRequest req;
        gsize used = 0;

        if (!read_request (c, &req, &used))
          break;
        handle_request (c, &req);
        /* A pipelined request stays for the next round. */
        memmove (c->in, c->in + used, c->in_len - used);
        c->in_len -= used;
      }
  conn_free (c);
  return NULL;
}

/* ---- listeners and main ------------------------------------------------------ */

static int
listen_on (int       family,
           guint16   port,
           guint16  *bound)
{
  int fd = socket (family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  struct sockaddr_storage ss;
  socklen_t len;

  if (fd < 0)
    return -1;
  setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  memset (&ss, 0, sizeof ss);
  if (family == AF_INET6)
    {
      struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) &ss;

      setsockopt (fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
      sin6->sin6_family = AF_INET6;
      sin6->sin6_addr = in6addr_loopback;
      sin6->sin6_port = htons (port);
      len = sizeof *sin6;
    }
  else
    {
      struct sockaddr_in *sin = (struct sockaddr_in *) &ss;

      sin->sin_family = AF_INET;
      sin->sin_addr.s_addr = htonl (INADDR_LOOPBACK);
      sin->sin_port = htons (port);
      len = sizeof *sin;
    }
  if (bind (fd, (struct sockaddr *) &ss, len) < 0 || listen (fd, 128) < 0 ||
      getsockname (fd, (struct sockaddr *) &ss, &len) < 0)
    {
      close (fd);
      return -1;
    }
  *bound = ntohs (family == AF_INET6 ? ((struct sockaddr_in6 *) &ss)->sin6_port
                                     : ((struct sockaddr_in *) &ss)->sin_port);
  return fd;
}

static void
accept_one (int      listener,
            gboolean https,
            guint16  port)
{
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  int one = 1;
  struct timeval idle = { IDLE_SECONDS, 0 };
  int fd = accept4 (listener, (struct sockaddr *) &ss, &len, SOCK_CLOEXEC);
  g_autoptr(GError) error = NULL;
  GThread *thread;
  Conn *c;

  if (fd < 0)
    return;
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof idle);
  c = g_new0 (Conn, 1);
  c->fd = fd;
  c->https = https;
  c->port = port;
  if (ss.ss_family == AF_INET6)
    inet_ntop (AF_INET6, &((struct sockaddr_in6 *) &ss)->sin6_addr, c->client_ip, sizeof c->client_ip);
  else
    inet_ntop (AF_INET, &((struct sockaddr_in *) &ss)->sin_addr, c->client_ip, sizeof c->client_ip);
  c->in_size = 65536;
  c->in = g_malloc (c->in_size);
  c->out = g_string_sized_new (HEAD_ROOM + 65536);
  c->soap = g_string_sized_new (HEAD_ROOM + 65536);
  c->plain = g_string_sized_new (8192);
  c->head = g_string_sized_new (512);
  c->rand = g_rand_new ();
  c->date_second = -1;
  thread = g_thread_try_new ("peer-connection", serve_connection, c, &error);
  if (thread == NULL)
    {
      g_printerr ("castellan-bench-peer: %s\n", error->message);
      conn_free (c);
      return;
    }
  g_thread_unref (thread);
}

static gboolean
write_ports (const char *path,
             guint16     http_port,
             guint16     https_port,
             GError    **error)
{
  g_autofree char *tmp = g_strconcat (path, ".tmp", NULL);
  g_autofree char *text = g_strdup_printf ("{\"http\": %u, \"https\": %u}\n", http_port, https_port);

  if (!g_file_set_contents (tmp, text, -1, error))
    return FALSE;
  if (rename (tmp, path) < 0)
    {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno), "rename %s: %s", tmp,
                   g_strerror (errno));
      return FALSE;
    }
  return TRUE;
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *ports_file = NULL;
  g_autofree char *password_file = NULL;
  g_autofree char *cert = NULL;
  g_autofree char *key = NULL;
  g_autofree char *password = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GOptionContext) context = g_option_context_new ("- the benchmarks' WinRM peer");
  GOptionEntry entries[] = {
    { "ports-file", 0, 0, G_OPTION_ARG_FILENAME, &ports_file, "Where to write the ports (JSON)", "FILE" },
    { "user", 0, 0, G_OPTION_ARG_STRING, &peer.user, "The Basic user", "USER" },
    { "password-file", 0, 0, G_OPTION_ARG_FILENAME, &password_file, "Its password (first line)", "FILE" },
    { "cert", 0, 0, G_OPTION_ARG_FILENAME, &cert, "The HTTPS certificate (PEM)", "CERT" },
    { "key", 0, 0, G_OPTION_ARG_FILENAME, &key, "Its private key (PEM)", "KEY" },
    { "verbose", 0, 0, G_OPTION_ARG_NONE, &peer.verbose, "Say on stderr what fails", NULL },
    { NULL },
  };
  struct { int fd; gboolean https; guint16 port; } listeners[4];
  guint n_listeners = 0;
  guint16 http_port = 0, https_port = 0, port6;
  struct pollfd fds[5];
  sigset_t mask;
  int sfd;
  int ret;
  char *eol;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("castellan-bench-peer: %s\n", error->message);
      return 2;
    }
  if (ports_file == NULL || peer.user == NULL || password_file == NULL || cert == NULL || key == NULL)
    {
      g_printerr ("castellan-bench-peer: --ports-file, --user, --password-file, --cert and --key are needed\n");
      return 2;
    }
  if (!g_file_get_contents (password_file, &password, NULL, &error))
    {
      g_printerr ("castellan-bench-peer: %s\n", error->message);
      return 1;
    }
  eol = strpbrk (password, "\r\n");
  if (eol != NULL)
    *eol = '\0';
  peer.password = password;

  gnutls_certificate_allocate_credentials (&peer.tls_cred);
  ret = gnutls_certificate_set_x509_key_file (peer.tls_cred, cert, key, GNUTLS_X509_FMT_PEM);
  if (ret < 0)
    {
      g_printerr ("castellan-bench-peer: %s, %s: %s\n", cert, key, gnutls_strerror (ret));
      return 1;
    }
  peer.pattern = bench_pattern_block ();
  shells = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, shell_free);

  /* Every thread inherits the mask: the signals wait for the main loop's
   * signalfd. */
  signal (SIGPIPE, SIG_IGN);
  sigemptyset (&mask);
  sigaddset (&mask, SIGTERM);
  sigaddset (&mask, SIGINT);
  pthread_sigmask (SIG_BLOCK, &mask, NULL);
  sfd = signalfd (-1, &mask, SFD_CLOEXEC);

  listeners[0].fd = listen_on (AF_INET, 0, &http_port);
  listeners[1].fd = listen_on (AF_INET, 0, &https_port);
  if (sfd < 0 || listeners[0].fd < 0 || listeners[1].fd < 0)
    {
      g_printerr ("castellan-bench-peer: cannot listen on 127.0.0.1: %s\n", g_strerror (errno));
      return 1;
    }
  listeners[0].https = FALSE;
  listeners[0].port = http_port;
  listeners[1].https = TRUE;
  listeners[1].port = https_port;
  n_listeners = 2;
  /* ::1 on the same ports, best effort, so that "localhost" is served
   * whichever address a client tries first. */
  for (guint i = 0; i < 2; i++)
    {
      int fd = listen_on (AF_INET6, listeners[i].port, &port6);

      if (fd >= 0)
        {
          listeners[n_listeners].fd = fd;
          listeners[n_listeners].https = listeners[i].https;
          listeners[n_listeners].port = listeners[i].port;
          n_listeners++;
        }
    }
  if (!write_ports (ports_file, http_port, https_port, &error))
    {
      g_printerr ("castellan-bench-peer: %s\n", error->message);
      return 1;
    }
  if (peer.verbose)
    g_printerr ("castellan-bench-peer: http %u, https %u\n", http_port, https_port);

  for (guint i = 0; i < n_listeners; i++)
    fds[i] = (struct pollfd) { listeners[i].fd, POLLIN, 0 };
  fds[n_listeners] = (struct pollfd) { sfd, POLLIN, 0 };
  for (;;)
    {
      if (poll (fds, n_listeners + 1, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          g_printerr ("castellan-bench-peer: poll: %s\n", g_strerror (errno));
          return 1;
        }
      if (fds[n_listeners].revents)
        break;
      for (guint i = 0; i < n_listeners; i++)
        if (fds[i].revents & POLLIN)
          accept_one (listeners[i].fd, listeners[i].https, listeners[i].port);
    }
  if (peer.verbose)
    g_printerr ("castellan-bench-peer: stopped\n");
  /* Connection threads may be inside GnuTLS or the GSSAPI: leave without
   * running the libraries' destructors under them. */
  _exit (0);
}
