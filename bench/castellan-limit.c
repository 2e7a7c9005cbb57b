/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The ceiling of ./dev bench's stream case: in one process, with no
 * network and no peer, the client's unavoidable work on sealed Receive
 * replies — GSS unwrap, XML parse, base64 decode, write — on the bytes the
 * lab peer would send.
 *
 *   castellan-limit ntlm|kerberos BYTES [PAYLOAD [limit|castellan [psrp]]]
 *
 * A GSS context pair is made in-process (NTLM: the lab's account through
 * gss-ntlmssp, NTLM_USER_FILE; Kerberos: the lab's ticket and keytab,
 * KRB5_KTNAME). The acceptor seals envelopes shaped like the peer's, PAYLOAD
 * output bytes each (untimed); the initiator opens them (timed):
 *   limit      unwrap in place where the mechanism allows, one SAX pass
 *              that decodes each stream's base64 as it is read, write(2)
 *   castellan  Castellan's own castellan_sealing_unseal_in_place() and
 *              castellan_wsman_reply_parse() on the same framed bodies
 * The output goes to /dev/null and is checked byte for byte. Prints one
 * JSON line; CPU time counts the timed work only.
 *
 * With psrp (limit path only), the replies are those of a PowerShell
 * pipeline whose Out-Default writes BYTES / 1 MiB lines of 1 MiB of "x":
 * one PIPELINE_HOST_CALL (WriteLine2) message per line, as PowerShell 7
 * writes it, cut into PowerShell's 32 KiB fragments, PAYLOAD fragment bytes
 * per Receive (a fragment that does not fit is split, as the lab peer and
 * a WinRM host do), one rsp:Stream per fragment. The timed work adds to
 * unwrap, XML parse and base64 decode: defragmenting, a SAX pass over each
 * message's CLIXML that takes the line's text, _xHHHH_ escapes looked
 * for, and one write per line. */
#include <fcntl.h>
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <libxml/parser.h>
#include <libxml/SAX2.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench-pattern.h"
#include "castellan-gss.h"
#include "castellan-sealing.h"
#include "castellan-soap.h"
#include "castellan-wsman-reply.h"

#define BATCH 24

static gss_OID_desc ntlm_oid = { 10, (void *) "\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a" };
static gss_OID_desc krb5_oid = { 9, (void *) "\x2a\x86\x48\x86\xf7\x12\x01\x02\x02" };

static G_NORETURN void
die (const char *what,
     OM_uint32   major,
     OM_uint32   minor)
{
  fprintf (stderr, "castellan-limit: %s failed (major %u, minor %u)\n", what, major, minor);
  exit (1);
}

static double
cpu_now (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- the context pair ------------------------------------------------- */

typedef struct
{
  gboolean kerberos;
  gss_ctx_id_t acceptor;
  gss_ctx_id_t initiator;     /* limit path */
  CastellanGss *gss;          /* castellan path */
} Pair;

static GBytes *
accept_token (Pair         *pair,
              const guint8 *data,
              gsize         length)
{
  gss_buffer_desc in = { length, (void *) data };
  gss_buffer_desc out = GSS_C_EMPTY_BUFFER;
  OM_uint32 major, minor;
  GBytes *token = NULL;

  major = gss_accept_sec_context (&minor, &pair->acceptor, GSS_C_NO_CREDENTIAL, &in,
                                  GSS_C_NO_CHANNEL_BINDINGS, NULL, NULL, &out, NULL, NULL, NULL);
  if (GSS_ERROR (major))
    die ("gss_accept_sec_context", major, minor);
  if (out.length > 0)
    token = g_bytes_new (out.value, out.length);
  gss_release_buffer (&minor, &out);
  return token;
}

static char *
read_password (void)
{
  const char *path = g_getenv ("LAB_PASSWORD_FILE");
  char *pw = NULL;

  if (path == NULL || !g_file_get_contents (path, &pw, NULL, NULL))
    {
      fprintf (stderr, "castellan-limit: LAB_PASSWORD_FILE is not readable\n");
      exit (2);
    }
  return g_strchomp (pw);
}

/* Raw GSS-API initiator: NTLM with the lab password, or Kerberos with the
 * lab's ticket. */
static void
establish_raw (Pair *pair)
{
  OM_uint32 major, minor, flags = GSS_C_MUTUAL_FLAG | GSS_C_CONF_FLAG | GSS_C_INTEG_FLAG |
                                  GSS_C_SEQUENCE_FLAG | GSS_C_REPLAY_FLAG;
  gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
  gss_name_t target = GSS_C_NO_NAME;
  gss_OID mech = pair->kerberos ? &krb5_oid : &ntlm_oid;
  const char *service = pair->kerberos ? "HTTP@localhost" : "HTTP@127.0.0.1";
  gss_buffer_desc name_buf = { strlen (service), (void *) service };
  g_autoptr(GBytes) reply = NULL;

  major = gss_import_name (&minor, &name_buf, GSS_C_NT_HOSTBASED_SERVICE, &target);
  if (GSS_ERROR (major))
    die ("gss_import_name", major, minor);
  if (!pair->kerberos)
    {
      g_autofree char *pw = read_password ();
      const char *user = g_getenv ("LAB_NTLM_USER");
      gss_buffer_desc ubuf = { strlen (user), (void *) user };
      gss_buffer_desc pbuf = { strlen (pw), pw };
      gss_OID_set_desc mechs = { 1, &ntlm_oid };
      gss_name_t uname;

      major = gss_import_name (&minor, &ubuf, GSS_C_NT_USER_NAME, &uname);
      if (GSS_ERROR (major))
        die ("gss_import_name (user)", major, minor);
      major = gss_acquire_cred_with_password (&minor, uname, &pbuf, GSS_C_INDEFINITE, &mechs,
                                              GSS_C_INITIATE, &cred, NULL, NULL);
      gss_release_name (&minor, &uname);
      if (GSS_ERROR (major))
        die ("gss_acquire_cred_with_password", major, minor);
    }

  for (;;)
    {
      gss_buffer_desc in = GSS_C_EMPTY_BUFFER;
      gss_buffer_desc out = GSS_C_EMPTY_BUFFER;
      g_autoptr(GBytes) token = NULL;

      if (reply != NULL)
        in.value = (void *) g_bytes_get_data (reply, &in.length);
      major = gss_init_sec_context (&minor, cred, &pair->initiator, target, mech, flags,
                                    GSS_C_INDEFINITE, GSS_C_NO_CHANNEL_BINDINGS,
                                    reply ? &in : GSS_C_NO_BUFFER, NULL, &out, NULL, NULL);
      if (GSS_ERROR (major))
        die ("gss_init_sec_context", major, minor);
      if (out.length > 0)
        token = g_bytes_new (out.value, out.length);
      gss_release_buffer (&minor, &out);
      g_clear_pointer (&reply, g_bytes_unref);
      if (token == NULL)
        break;
      reply = accept_token (pair, g_bytes_get_data (token, NULL), g_bytes_get_size (token));
      if (reply == NULL && major == GSS_S_COMPLETE)
        break;
    }
  gss_release_name (&minor, &target);
  if (cred != GSS_C_NO_CREDENTIAL)
    gss_release_cred (&minor, &cred);
}

/* Castellan's initiator, as the client makes it (Negotiate). */
static void
establish_castellan (Pair *pair)
{
  g_autofree char *pw = pair->kerberos ? NULL : read_password ();
  CastellanGssOptions options = {
    .auth = CASTELLAN_AUTH_REQUEST_NEGOTIATE,
    .host = pair->kerberos ? "localhost" : "127.0.0.1",
    .user = pair->kerberos ? NULL : g_getenv ("LAB_NTLM_USER"),
    .password = pw,
    .ntlm_allowed = !pair->kerberos,
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) token = NULL;

  pair->gss = castellan_gss_new (&options, &error);
  if (pair->gss == NULL || !castellan_gss_step (pair->gss, NULL, 0, &token, &error))
    {
      fprintf (stderr, "castellan-limit: %s\n", error->message);
      exit (1);
    }
  while (token != NULL)
    {
      g_autoptr(GBytes) reply = accept_token (pair, g_bytes_get_data (token, NULL),
                                              g_bytes_get_size (token));

      g_clear_pointer (&token, g_bytes_unref);
      if (reply == NULL || castellan_gss_is_complete (pair->gss))
        break;
      if (!castellan_gss_step (pair->gss, g_bytes_get_data (reply, NULL),
                               g_bytes_get_size (reply), &token, &error))
        {
          fprintf (stderr, "castellan-limit: %s\n", error->message);
          exit (1);
        }
    }
  if (!castellan_gss_is_complete (pair->gss))
    {
      fprintf (stderr, "castellan-limit: the context did not complete\n");
      exit (1);
    }
}

/* ---- what the peer sends ---------------------------------------------- */

static const char *
protocol (Pair *pair)
{
  /* Negotiate, as the bench's clients use it. */
  return "application/HTTP-SPNEGO-session-encrypted";
}

static GByteArray *
envelope (const guint8 *data,
          gsize         length,
          gboolean      last)
{
  static const char command_id[] = "1F7A3E4C-0B1D-4B7E-9C55-3A2B1C0D9E8F";
  g_autofree char *b64 = g_base64_encode (data, length);
  g_autofree char *msg_id = g_uuid_string_random ();
  g_autofree char *text = g_strdup_printf (
    "<s:Envelope xml:lang=\"en-US\" xmlns:s=\"" CASTELLAN_NS_SOAP "\" "
    "xmlns:a=\"" CASTELLAN_NS_ADDRESSING "\" "
    "xmlns:x=\"http://schemas.xmlsoap.org/ws/2004/09/transfer\" "
    "xmlns:w=\"" CASTELLAN_NS_WSMAN "\" xmlns:rsp=\"" CASTELLAN_NS_SHELL "\" "
    "xmlns:p=\"" CASTELLAN_NS_WSMV "\"><s:Header>"
    "<a:Action>" CASTELLAN_NS_SHELL "/ReceiveResponse</a:Action>"
    "<a:MessageID>uuid:%s</a:MessageID>"
    "<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>"
    "<a:RelatesTo>uuid:%s</a:RelatesTo></s:Header><s:Body><rsp:ReceiveResponse>"
    "<rsp:Stream Name=\"stdout\" CommandId=\"%s\"%s>%s</rsp:Stream>"
    "<rsp:CommandState CommandId=\"%s\" State=\"" CASTELLAN_NS_SHELL "/CommandState/%s\">%s"
    "</rsp:CommandState></rsp:ReceiveResponse></s:Body></s:Envelope>",
    msg_id, msg_id, command_id, last ? " End=\"true\"" : "", b64, command_id,
    last ? "Done" : "Running", last ? "<rsp:ExitCode>0</rsp:ExitCode>" : "");
  gsize len = strlen (text);
  GByteArray *out = g_byte_array_sized_new (len);

  g_byte_array_append (out, (const guint8 *) text, len);
  return out;
}

/* Sealed by the acceptor and framed as MS-WSMV multipart/encrypted. */
static GBytes *
seal_and_frame (Pair       *pair,
                GByteArray *plain)
{
  OM_uint32 major, minor;
  int conf = 0;
  GByteArray *body = g_byte_array_sized_new (plain->len + 512);
  g_autofree char *head = g_strdup_printf ("--Encrypted Boundary\r\n"
                                           "\tContent-Type: %s\r\n"
                                           "\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=%u\r\n"
                                           "--Encrypted Boundary\r\n"
                                           "\tContent-Type: application/octet-stream\r\n",
                                           protocol (pair), plain->len);
  static const char tail[] = "--Encrypted Boundary--\r\n";
  guint32 sig_len;

  g_byte_array_append (body, (const guint8 *) head, strlen (head));
  if (pair->kerberos)
    {
      gss_iov_buffer_desc iov[3] = {
        { GSS_IOV_BUFFER_TYPE_HEADER | GSS_IOV_BUFFER_FLAG_ALLOCATE, GSS_C_EMPTY_BUFFER },
        { GSS_IOV_BUFFER_TYPE_DATA, { plain->len, plain->data } },
        { GSS_IOV_BUFFER_TYPE_PADDING | GSS_IOV_BUFFER_FLAG_ALLOCATE, GSS_C_EMPTY_BUFFER },
      };

      major = gss_wrap_iov (&minor, pair->acceptor, 1, GSS_C_QOP_DEFAULT, &conf, iov, 3);
      if (GSS_ERROR (major) || !conf)
        die ("gss_wrap_iov", major, minor);
      sig_len = GUINT32_TO_LE ((guint32) iov[0].buffer.length);
      g_byte_array_append (body, (const guint8 *) &sig_len, 4);
      g_byte_array_append (body, iov[0].buffer.value, iov[0].buffer.length);
      g_byte_array_append (body, plain->data, plain->len);
      g_byte_array_append (body, iov[2].buffer.value, iov[2].buffer.length);
      gss_release_iov_buffer (&minor, iov, 3);
    }
  else
    {
      gss_buffer_desc in = { plain->len, plain->data };
      gss_buffer_desc out = GSS_C_EMPTY_BUFFER;

      major = gss_wrap (&minor, pair->acceptor, 1, GSS_C_QOP_DEFAULT, &in, &conf, &out);
      if (GSS_ERROR (major) || !conf)
        die ("gss_wrap", major, minor);
      sig_len = GUINT32_TO_LE (16);
      g_byte_array_append (body, (const guint8 *) &sig_len, 4);
      g_byte_array_append (body, out.value, out.length);
      gss_release_buffer (&minor, &out);
    }
  g_byte_array_append (body, (const guint8 *) tail, sizeof tail - 1);
  return g_byte_array_free_to_bytes (body);
}


/* ---- a PowerShell pipeline's replies (psrp) --------------------------- */

#define PS_FRAGMENT 32768        /* PowerShell's fragment, header included */
#define PS_STREAM_OVERHEAD 96    /* the lab peer's allowance per rsp:Stream */
#define PS_LINE (1024 * 1024)

typedef struct
{
  GBytes *message;              /* one WriteLine2 host call, as sent */
  guint lines_left;             /* messages not yet begun */
  gsize at;                     /* bytes of the current message sent */
  gsize fragment_left;          /* of PowerShell's current fragment */
  guint64 object_id;
  guint64 fragment_id;
  gboolean in_message;
} PsGen;

static GBytes *
ps_message (void)
{
  static const guint8 rpid[16] = { 0x6a, 0x1d, 0x2b, 0x9e, 0x10, 0x4c, 0x4e, 0x85,
                                   0x9a, 0x11, 0x07, 0x3c, 0x21, 0x5e, 0x90, 0x42 };
  static const guint8 pid[16] = { 0xb6, 0x7d, 0x41, 0x66, 0xb5, 0x33, 0x79, 0x42,
                                  0xbb, 0x63, 0x18, 0x3e, 0x64, 0x29, 0x7f, 0x10 };
  static const char head[] =
    "\xef\xbb\xbf<Obj RefId=\"0\"><MS><I64 N=\"ci\">-100</I64><Obj N=\"mi\" RefId=\"1\">"
    "<TN RefId=\"0\"><T>System.Management.Automation.Remoting.RemoteHostMethodId</T>"
    "<T>System.Enum</T><T>System.ValueType</T><T>System.Object</T></TN>"
    "<ToString>WriteLine2</ToString><I32>16</I32></Obj><Obj N=\"mp\" RefId=\"2\">"
    "<TN RefId=\"1\"><T>System.Collections.ArrayList</T><T>System.Object</T></TN><LST><S>";
  static const char tail[] = "</S></LST></Obj></MS></Obj>";
  GByteArray *m = g_byte_array_sized_new (40 + sizeof head + PS_LINE + sizeof tail);
  guint32 word;

  word = GUINT32_TO_LE (1);                     /* to the client */
  g_byte_array_append (m, (const guint8 *) &word, 4);
  word = GUINT32_TO_LE (0x00041100);            /* PIPELINE_HOST_CALL */
  g_byte_array_append (m, (const guint8 *) &word, 4);
  g_byte_array_append (m, rpid, 16);
  g_byte_array_append (m, pid, 16);
  g_byte_array_append (m, (const guint8 *) head, sizeof head - 1);
  g_byte_array_set_size (m, m->len + PS_LINE);
  memset (m->data + m->len - PS_LINE, 'x', PS_LINE);
  g_byte_array_append (m, (const guint8 *) tail, sizeof tail - 1);
  return g_byte_array_free_to_bytes (m);
}

static void
ps_fragment (PsGen      *gen,
             GString    *xml,
             gsize       blob_length)
{
  static const char command_id[] = "66417DB6-33B5-4279-BB63-183E64297F10";
  gsize size;
  const guint8 *data = g_bytes_get_data (gen->message, &size);
  g_autoptr(GByteArray) fragment = g_byte_array_sized_new (21 + blob_length);
  guint8 flags = 0;
  g_autofree char *b64 = NULL;

  if (gen->at == 0)
    flags |= 0x1;
  if (gen->at + blob_length == size)
    flags |= 0x2;
  {
    guint64 oid = GUINT64_TO_BE (gen->object_id);
    guint64 fid = GUINT64_TO_BE (gen->fragment_id);
    guint32 len = GUINT32_TO_BE ((guint32) blob_length);

    g_byte_array_append (fragment, (const guint8 *) &oid, 8);
    g_byte_array_append (fragment, (const guint8 *) &fid, 8);
    g_byte_array_append (fragment, &flags, 1);
    g_byte_array_append (fragment, (const guint8 *) &len, 4);
  }
  g_byte_array_append (fragment, data + gen->at, blob_length);
  b64 = g_base64_encode (fragment->data, fragment->len);
  g_string_append_printf (xml, "<rsp:Stream Name=\"stdout\" CommandId=\"%s\">%s</rsp:Stream>",
                          command_id, b64);
  gen->at += blob_length;
  gen->fragment_left -= blob_length;
  gen->fragment_id++;
  if (flags & 0x2)
    gen->in_message = FALSE;
}

/* The next Receive reply, or NULL when every line has gone. */
static GByteArray *
ps_envelope (PsGen *gen,
             gsize  budget)
{
  gsize size = g_bytes_get_size (gen->message);
  gsize used = 0;
  guint taken = 0;
  g_autofree char *msg_id = g_uuid_string_random ();
  GString *xml;

  if (!gen->in_message && gen->lines_left == 0)
    return NULL;
  xml = g_string_sized_new (budget * 4 / 3 + 2048);
  g_string_append_printf (xml,
    "<s:Envelope xml:lang=\"en-US\" xmlns:s=\"" CASTELLAN_NS_SOAP "\" "
    "xmlns:a=\"" CASTELLAN_NS_ADDRESSING "\" "
    "xmlns:x=\"http://schemas.xmlsoap.org/ws/2004/09/transfer\" "
    "xmlns:w=\"" CASTELLAN_NS_WSMAN "\" xmlns:rsp=\"" CASTELLAN_NS_SHELL "\" "
    "xmlns:p=\"" CASTELLAN_NS_WSMV "\"><s:Header>"
    "<a:Action>" CASTELLAN_NS_SHELL "/ReceiveResponse</a:Action>"
    "<a:MessageID>uuid:%s</a:MessageID>"
    "<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>"
    "<a:RelatesTo>uuid:%s</a:RelatesTo></s:Header><s:Body><rsp:ReceiveResponse>",
    msg_id, msg_id);
  for (;;)
    {
      gsize length;

      if (!gen->in_message)
        {
          if (gen->lines_left == 0)
            break;
          gen->lines_left--;
          gen->in_message = TRUE;
          gen->at = 0;
          gen->fragment_left = 0;
          gen->object_id++;
          gen->fragment_id = 0;
        }
      if (gen->fragment_left == 0)
        gen->fragment_left = MIN (PS_FRAGMENT - 21, size - gen->at);
      length = 21 + gen->fragment_left;
      if (length + PS_STREAM_OVERHEAD <= budget - used)
        {
          ps_fragment (gen, xml, gen->fragment_left);
          used += length + PS_STREAM_OVERHEAD;
          taken++;
          continue;
        }
      /* The rest of the fragment goes in the next reply. */
      if (budget - used < PS_STREAM_OVERHEAD + 21 + 1024)
        break;
      ps_fragment (gen, xml, budget - used - PS_STREAM_OVERHEAD - 21);
      break;
    }
  g_string_append (xml,
    "<rsp:CommandState CommandId=\"66417DB6-33B5-4279-BB63-183E64297F10\" "
    "State=\"" CASTELLAN_NS_SHELL "/CommandState/Running\"></rsp:CommandState>"
    "</rsp:ReceiveResponse></s:Body></s:Envelope>");
  {
    GByteArray *out = g_byte_array_new_take ((guint8 *) xml->str, xml->len);

    g_string_free (xml, FALSE);
    return out;
  }
}

/* ---- the receiving side ----------------------------------------------- */

typedef struct
{
  int fd;
  GBytes *pattern;
  guint64 offset;
  gboolean ok;
  /* limit path: one stream element at a time */
  gboolean in_stream;
  int state;
  guint save;
  GByteArray *out;
  /* psrp: the message being put together, the line in it */
  gboolean psrp;
  GByteArray *message;
  GByteArray *line;
  gboolean in_text;
  guint64 lines;
} Sink;

static void
sink_write (Sink         *sink,
            const guint8 *data,
            gsize         length)
{
  if (!bench_pattern_check (sink->pattern, &sink->offset, data, length))
    sink->ok = FALSE;
  while (length > 0)
    {
      gssize n = write (sink->fd, data, length);

      if (n <= 0)
        {
          sink->ok = FALSE;
          return;
        }
      data += n;
      length -= n;
    }
}


static void
ps_start (void           *ctx,
          const xmlChar  *localname,
          const xmlChar  *prefix,
          const xmlChar  *uri,
          int             nb_namespaces,
          const xmlChar **namespaces,
          int             nb_attributes,
          int             nb_defaulted,
          const xmlChar **attributes)
{
  Sink *sink = ctx;

  if (strcmp ((const char *) localname, "S") == 0)
    {
      sink->in_text = TRUE;
      g_byte_array_set_size (sink->line, 0);
    }
}

static void
ps_characters (void          *ctx,
               const xmlChar *ch,
               int            len)
{
  Sink *sink = ctx;

  if (sink->in_text)
    g_byte_array_append (sink->line, ch, len);
}

static void
ps_end (void          *ctx,
        const xmlChar *localname,
        const xmlChar *prefix,
        const xmlChar *uri)
{
  Sink *sink = ctx;

  if (sink->in_text && strcmp ((const char *) localname, "S") == 0)
    sink->in_text = FALSE;
}

/* Decodes _xHHHH_ escapes (BMP only: the limit's text has none) in
 * place; returns the new length. */
static gsize
ps_unescape (guint8 *text,
             gsize   length)
{
  guint8 *read = text, *write = text, *end = text + length;

  for (;;)
    {
      guint8 *us = memchr (read, '_', end - read);
      gsize run = (us ? us : end) - read;
      int unit = 0;

      memmove (write, read, run);
      write += run;
      read += run;
      if (us == NULL)
        break;
      if (end - us >= 7 && us[1] == 'x' && us[6] == '_' && g_ascii_isxdigit (us[2]) &&
          g_ascii_isxdigit (us[3]) && g_ascii_isxdigit (us[4]) && g_ascii_isxdigit (us[5]))
        {
          for (int i = 2; i < 6; i++)
            unit = unit << 4 | g_ascii_xdigit_value (us[i]);
          write += g_unichar_to_utf8 (unit, (char *) write);
          read = us + 7;
        }
      else
        *write++ = *read++;
    }
  return write - text;
}

/* A whole message: its CLIXML read for the line, the line written. */
static void
ps_message_done (Sink *sink)
{
  static xmlSAXHandler sax;
  const guint8 *clixml = sink->message->data + 40;
  gsize length = sink->message->len - 40;
  guint32 type = 0;
  gsize n;

  if (sax.initialized == 0)
    {
      sax.initialized = XML_SAX2_MAGIC;
      sax.startElementNs = ps_start;
      sax.endElementNs = ps_end;
      sax.characters = ps_characters;
    }
  if (sink->message->len >= 40)
    memcpy (&type, sink->message->data + 4, sizeof type);
  if (sink->message->len < 40 || GUINT32_FROM_LE (type) != 0x00041100)
    die ("PSRP message", 0, 0);
  if (length >= 3 && memcmp (clixml, "\xef\xbb\xbf", 3) == 0)
    {
      clixml += 3;
      length -= 3;
    }
  if (xmlSAXUserParseMemory (&sax, sink, (const char *) clixml, (int) length) != 0)
    die ("CLIXML parse", 0, 0);
  n = ps_unescape (sink->line->data, sink->line->len);
  g_byte_array_set_size (sink->line, n);
  g_byte_array_append (sink->line, (const guint8 *) "\n", 1);
  if (n != PS_LINE || memchr (sink->line->data, 'y', n) != NULL ||
      sink->line->data[0] != 'x' || sink->line->data[n - 1] != 'x')
    sink->ok = FALSE;
  if (write (sink->fd, sink->line->data, sink->line->len) != (gssize) sink->line->len)
    sink->ok = FALSE;
  sink->offset += n;
  sink->lines++;
}

/* One fragment (one rsp:Stream's bytes). */
static void
ps_fragment_in (Sink         *sink,
                const guint8 *data,
                gsize         length)
{
  guint32 blob;
  guint8 flags;

  if (length < 21)
    die ("fragment", 0, 0);
  flags = data[16];
  memcpy (&blob, data + 17, 4);
  blob = GUINT32_FROM_BE (blob);
  if (blob != length - 21)
    die ("fragment length", 0, 0);
  if (flags & 0x1)
    g_byte_array_set_size (sink->message, 0);
  g_byte_array_append (sink->message, data + 21, blob);
  if (flags & 0x2)
    ps_message_done (sink);
}

static void
sax_start (void           *ctx,
           const xmlChar  *localname,
           const xmlChar  *prefix,
           const xmlChar  *uri,
           int             nb_namespaces,
           const xmlChar **namespaces,
           int             nb_attributes,
           int             nb_defaulted,
           const xmlChar **attributes)
{
  Sink *sink = ctx;

  if (uri != NULL && strcmp ((const char *) localname, "Stream") == 0 &&
      strcmp ((const char *) uri, CASTELLAN_NS_SHELL) == 0)
    {
      sink->in_stream = TRUE;
      sink->state = 0;
      sink->save = 0;
      g_byte_array_set_size (sink->out, 0);
    }
}

static void
sax_characters (void          *ctx,
                const xmlChar *ch,
                int            len)
{
  Sink *sink = ctx;
  guint at;

  if (!sink->in_stream)
    return;
  at = sink->out->len;
  g_byte_array_set_size (sink->out, at + (len / 4) * 3 + 3);
  at += g_base64_decode_step ((const char *) ch, len, sink->out->data + at, &sink->state,
                              &sink->save);
  g_byte_array_set_size (sink->out, at);
}

static void
sax_end (void          *ctx,
         const xmlChar *localname,
         const xmlChar *prefix,
         const xmlChar *uri)
{
  Sink *sink = ctx;

  if (sink->in_stream && strcmp ((const char *) localname, "Stream") == 0)
    {
      sink->in_stream = FALSE;
      if (sink->psrp)
        ps_fragment_in (sink, sink->out->data, sink->out->len);
      else
        sink_write (sink, sink->out->data, sink->out->len);
    }
}

static void
on_stream (CastellanStream  stream,
           const guint8    *data,
           gsize            length,
           gpointer         user_data)
{
  sink_write (user_data, data, length);
}

typedef struct
{
  double unwrap_s;
  double parse_s;
} Split;

static void
open_limit (Pair   *pair,
            Sink   *sink,
            GBytes *framed,
            Split  *split)
{
  static xmlSAXHandler sax;
  gsize len;
  guint8 *body = (guint8 *) g_bytes_get_data (framed, &len);  /* ours, opened in place */
  CastellanSealedParts parts;
  OM_uint32 major, minor;
  int conf = 0;
  gss_buffer_desc out = GSS_C_EMPTY_BUFFER;
  const guint8 *plain;
  gsize plain_len;
  double t0 = cpu_now (), t1;

  if (sax.initialized == 0)
    {
      sax.initialized = XML_SAX2_MAGIC;
      sax.startElementNs = sax_start;
      sax.endElementNs = sax_end;
      sax.characters = sax_characters;
    }
  if (!castellan_sealing_parse (body, len, "Encrypted Boundary", &parts, NULL))
    die ("framing", 0, 0);
  castellan_sealed_parts_clear (&parts);
  if (pair->kerberos)
    {
      gss_iov_buffer_desc iov[2] = {
        { GSS_IOV_BUFFER_TYPE_HEADER, { parts.signature_length, body + parts.signature_offset } },
        { GSS_IOV_BUFFER_TYPE_DATA, { parts.sealed_length, body + parts.signature_offset + parts.signature_length } },
      };

      major = gss_unwrap_iov (&minor, pair->initiator, &conf, NULL, iov, 2);
      plain = iov[1].buffer.value;
      plain_len = iov[1].buffer.length;
    }
  else
    {
      gss_buffer_desc in = { parts.signature_length + parts.sealed_length, body + parts.signature_offset };

      major = gss_unwrap (&minor, pair->initiator, &in, &out, &conf, NULL);
      plain = out.value;
      plain_len = out.length;
    }
  if (GSS_ERROR (major) || !conf || plain_len != parts.original_length)
    die ("unwrap", major, minor);
  t1 = cpu_now ();
  split->unwrap_s += t1 - t0;
  if (xmlSAXUserParseMemory (&sax, sink, (const char *) plain, (int) plain_len) != 0)
    die ("SAX parse", 0, 0);
  split->parse_s += cpu_now () - t1;
  gss_release_buffer (&minor, &out);
}

static void
open_castellan (Pair   *pair,
                Sink   *sink,
                GBytes *framed)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) plain = NULL;
  g_autoptr(CastellanWsmanReply) reply = NULL;

  plain = castellan_sealing_unseal_in_place (pair->gss, framed,
                                    "multipart/encrypted;protocol=\"application/HTTP-SPNEGO-session-encrypted\";boundary=\"Encrypted Boundary\"",
                                    &error);
  if (plain != NULL)
    reply = castellan_wsman_reply_parse (g_bytes_get_data (plain, NULL), g_bytes_get_size (plain),
                                         16 * 1024 * 1024, "localhost", on_stream, sink, &error);
  if (reply == NULL)
    {
      fprintf (stderr, "castellan-limit: %s\n", error->message);
      exit (1);
    }
}

int
main (int   argc,
      char *argv[])
{
  Pair pair = { 0 };
  Sink sink = { 0 };
  Split split = { 0, 0 };
  guint64 total, payload, sent = 0;
  gboolean castellan;
  double cpu = 0, wall = 0;
  guint envelopes = 0;
  gsize block_size;
  const guint8 *block;

  if (argc < 3)
    {
      fprintf (stderr, "usage: castellan-limit ntlm|kerberos BYTES [PAYLOAD [limit|castellan [psrp]]]\n");
      return 2;
    }
  /* The heap as castellan-run sets it. */
  mallopt (M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  mallopt (M_TRIM_THRESHOLD, 64 * 1024 * 1024);
  pair.kerberos = g_str_equal (argv[1], "kerberos");
  total = g_ascii_strtoull (argv[2], NULL, 10);
  payload = argc > 3 ? g_ascii_strtoull (argv[3], NULL, 10) : (CASTELLAN_DEFAULT_MAX_ENVELOPE - 2048) * 3 / 4;
  castellan = argc > 4 && g_str_equal (argv[4], "castellan");
  sink.psrp = argc > 5 && g_str_equal (argv[5], "psrp");
  if (sink.psrp && castellan)
    {
      fprintf (stderr, "castellan-limit: psrp has the limit path only\n");
      return 2;
    }
  if (payload == 0)
    payload = 1;

  pair.acceptor = GSS_C_NO_CONTEXT;
  pair.initiator = GSS_C_NO_CONTEXT;
  if (castellan)
    establish_castellan (&pair);
  else
    establish_raw (&pair);

  sink.fd = open ("/dev/null", O_WRONLY | O_CLOEXEC);
  sink.pattern = bench_pattern_block ();
  sink.ok = TRUE;
  sink.out = g_byte_array_new ();
  block = g_bytes_get_data (sink.pattern, &block_size);

  if (sink.psrp)
    {
      PsGen gen = { ps_message (), (guint) (total / PS_LINE), 0, 0, 0, 0, FALSE };
      gboolean more = TRUE;

      total = (total / PS_LINE) * PS_LINE;
      sink.message = g_byte_array_new ();
      sink.line = g_byte_array_new ();
      while (more)
        {
          GBytes *batch[BATCH];
          guint n = 0;
          double c0, w0;

          for (; n < BATCH; n++)
            {
              g_autoptr(GByteArray) plain = ps_envelope (&gen, payload);

              if (plain == NULL)
                {
                  more = FALSE;
                  break;
                }
              batch[n] = seal_and_frame (&pair, plain);
            }
          c0 = cpu_now ();
          w0 = g_get_monotonic_time () / 1e6;
          for (guint i = 0; i < n; i++)
            open_limit (&pair, &sink, batch[i], &split);
          cpu += cpu_now () - c0;
          wall += g_get_monotonic_time () / 1e6 - w0;
          envelopes += n;
          for (guint i = 0; i < n; i++)
            g_bytes_unref (batch[i]);
        }
      g_bytes_unref (gen.message);
      g_byte_array_unref (sink.message);
      g_byte_array_unref (sink.line);
      sent = total;
    }
  /* Sealed in batches (untimed), opened in the same order (timed): the
   * contexts' sequence numbers must match. */
  while (sent < total)
    {
      GBytes *batch[BATCH];
      guint n = 0;
      double c0, w0;

      for (; n < BATCH && sent < total; n++)
        {
          gsize len = MIN (payload, total - sent);
          g_autofree guint8 *data = g_malloc (len);
          g_autoptr(GByteArray) plain = NULL;

          for (gsize done = 0; done < len;)
            {
              gsize at = (sent + done) % block_size;
              gsize k = MIN (len - done, block_size - at);

              memcpy (data + done, block + at, k);
              done += k;
            }
          sent += len;
          plain = envelope (data, len, sent == total);
          batch[n] = seal_and_frame (&pair, plain);
        }
      c0 = cpu_now ();
      w0 = g_get_monotonic_time () / 1e6;
      for (guint i = 0; i < n; i++)
        {
          if (castellan)
            open_castellan (&pair, &sink, batch[i]);
          else
            open_limit (&pair, &sink, batch[i], &split);
        }
      cpu += cpu_now () - c0;
      wall += g_get_monotonic_time () / 1e6 - w0;
      envelopes += n;
      for (guint i = 0; i < n; i++)
        g_bytes_unref (batch[i]);
    }

  if (!sink.ok || sink.offset != total)
    {
      fprintf (stderr, "castellan-limit: the output is not the %" G_GUINT64_FORMAT " bytes sent\n", total);
      return 1;
    }
  printf ("{\"mech\":\"%s\",\"path\":\"%s%s\",\"bytes\":%" G_GUINT64_FORMAT ",\"payload\":%" G_GUINT64_FORMAT
          ",\"envelopes\":%u,\"cpu_s\":%.6f,\"wall_s\":%.6f,\"unwrap_s\":%.6f,\"parse_decode_write_s\":%.6f}\n",
          pair.kerberos ? "kerberos" : "ntlm", castellan ? "castellan" : "limit",
          sink.psrp ? "-psrp" : "", total, payload,
          envelopes, cpu, wall, split.unwrap_s, split.parse_s);
  g_clear_pointer (&pair.gss, castellan_gss_free);
  {
    OM_uint32 minor;

    if (pair.initiator != GSS_C_NO_CONTEXT)
      gss_delete_sec_context (&minor, &pair.initiator, GSS_C_NO_BUFFER);
    gss_delete_sec_context (&minor, &pair.acceptor, GSS_C_NO_BUFFER);
  }
  g_byte_array_unref (sink.out);
  g_bytes_unref (sink.pattern);
  close (sink.fd);
  return 0;
}
