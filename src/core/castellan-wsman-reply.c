/* SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE /* memmem */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <string.h>

#include "castellan-error.h"
#include "castellan-soap.h"
#include "castellan-wsman-reply.h"
#include "castellan-xml.h"

#define FAULT_TIMED_OUT 2150858793u
#define FAULT_INVALID_SELECTORS 2150858843u
#define FAULT_SHELL_QUOTA 2150859173u
#define FAULT_ACCESS_DENIED 5u
#define FAULT_ENVELOPE_TOO_LARGE 2150858817u

void
castellan_wsman_reply_free (CastellanWsmanReply *self)
{
  if (self == NULL)
    return;
  g_free (self->action);
  g_free (self->shell_id);
  g_free (self->command_id);
  g_free (self);
}

static const char *
local_name (const char *qname)
{
  const char *colon = qname ? strrchr (qname, ':') : NULL;

  return colon ? colon + 1 : qname;
}

/* The innermost WSManFault message: provider faults nest the real one. */
static char *
fault_message (xmlNode *detail,
               guint64 *code)
{
  xmlNode *wf = castellan_xml_find (detail, CASTELLAN_NS_FAULT, "WSManFault");
  char *message = NULL;

  while (wf != NULL)
    {
      g_autofree char *code_text = castellan_xml_attribute (wf, "Code");
      xmlNode *msg = castellan_xml_child (wf, CASTELLAN_NS_FAULT, "Message");
      xmlNode *inner;

      if (code_text != NULL)
        g_ascii_string_to_unsigned (code_text, 10, 0, G_MAXUINT64, code, NULL);
      g_free (message);
      message = castellan_xml_text (msg);
      inner = msg ? castellan_xml_find (msg->children, CASTELLAN_NS_FAULT, "WSManFault") : NULL;
      wf = inner;
    }
  return message;
}

static void
set_fault_error (xmlNode     *fault,
                 const char  *host,
                 GError     **error)
{
  xmlNode *code_node = castellan_xml_child (fault, CASTELLAN_NS_SOAP, "Code");
  g_autofree char *subcode = castellan_xml_text (
    castellan_xml_child (castellan_xml_child (code_node, CASTELLAN_NS_SOAP, "Subcode"),
                         CASTELLAN_NS_SOAP, "Value"));
  g_autofree char *reason = castellan_xml_text (
    castellan_xml_child (castellan_xml_child (fault, CASTELLAN_NS_SOAP, "Reason"),
                         CASTELLAN_NS_SOAP, "Text"));
  guint64 code = 0;
  g_autofree char *detail = fault_message (castellan_xml_child (fault, CASTELLAN_NS_SOAP, "Detail"), &code);
  const char *sub = local_name (subcode);
  const char *text = detail && *detail ? detail : (reason && *reason ? reason : _("no reason given"));

  if (g_strcmp0 (sub, "TimedOut") == 0 || code == FAULT_TIMED_OUT)
    g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_OPERATION_TIMEOUT,
                 _("No output within the operation timeout."));
  else if (g_strcmp0 (sub, "AccessDenied") == 0 || code == FAULT_ACCESS_DENIED)
    g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_ACCESS_DENIED,
                 _("Access is denied on %s: this account may not use WinRM there. By default only members of Administrators (and Remote Management Users) may connect; use such an account, or ask the host’s administrator to grant access."),
                 host);
  else if (g_strcmp0 (sub, "QuotaLimit") == 0 || code == FAULT_SHELL_QUOTA)
    g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_QUOTA_EXCEEDED,
                 _("%s refused a new session: %s Close other sessions to this host, or ask its administrator to raise the quota (MaxShellsPerUser)."),
                 host, text);
  else if (g_strcmp0 (sub, "InvalidSelectors") == 0 || code == FAULT_INVALID_SELECTORS)
    {
      gboolean command = strstr (text, "command") != NULL;

      g_set_error (error, CASTELLAN_ERROR,
                   command ? CASTELLAN_ERROR_UNKNOWN_COMMAND : CASTELLAN_ERROR_UNKNOWN_SHELL,
                   command ? _("%s no longer knows this command: %s")
                           : _("%s no longer knows this session (it may have been closed or the service restarted): %s Open a new one."),
                   host, text);
    }
  else if (g_strcmp0 (sub, "EncodingLimit") == 0 || code == FAULT_ENVELOPE_TOO_LARGE)
    g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_ENVELOPE_TOO_LARGE,
                 _("%s refused a request as too large: %s"), host, text);
  else
    g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_WSMAN_FAULT,
                 _("%s refused the request: %s (WS-Management fault %s, code %llu)."),
                 host, text, sub ? sub : "?", (unsigned long long) code);
}

static void
read_receive (xmlNode             *response,
              CastellanWsmanReply *reply,
              CastellanStreamFunc  on_stream,
              gpointer             user_data)
{
  for (xmlNode *n = response->children; n != NULL; n = n->next)
    {
      if (castellan_xml_is (n, CASTELLAN_NS_SHELL, "Stream") && on_stream != NULL)
        {
          g_autofree char *name = castellan_xml_attribute (n, "Name");
          xmlChar *content = xmlNodeGetContent (n);
          gsize len = 0;

          if (content != NULL && content[0] != '\0')
            {
              guchar *data = g_base64_decode_inplace ((char *) content, &len);

              if (len > 0)
                on_stream (g_strcmp0 (name, "stderr") == 0 ? CASTELLAN_STREAM_STDERR
                                                           : CASTELLAN_STREAM_STDOUT,
                           data, len, user_data);
            }
          xmlFree (content);
        }
      else if (castellan_xml_is (n, CASTELLAN_NS_SHELL, "CommandState"))
        {
          g_autofree char *state = castellan_xml_attribute (n, "State");
          g_autofree char *exit_code = castellan_xml_child_text (n, CASTELLAN_NS_SHELL, "ExitCode");
          gint64 value = 0;

          reply->done = state != NULL && g_str_has_suffix (state, "/CommandState/Done");
          if (exit_code != NULL && g_ascii_string_to_signed (exit_code, 10, G_MININT64, G_MAXINT64, &value, NULL))
            reply->exit_code = (int) value;
        }
    }
}

/* ---- Receive and Command replies without a tree -------------------------
 *
 * A ReceiveResponse is mostly one large base64 text. Building a tree for
 * it copies that text twice (into the node, then out of it) before it is
 * decoded; this reader decodes it as libxml2 reads it, into a buffer kept
 * for the thread. It handles the usual shape only, an Envelope whose Body
 * holds one ReceiveResponse (or one CommandResponse, the other reply of
 * every command); anything else (a fault, an unexpected element,
 * a DTD, a document that is not well-formed) makes it give up, and the
 * tree reader below, which stays the reference, reads the reply instead.
 * Output is handed over only once the whole document has been read, as
 * the tree reader does. */

typedef enum
{
  COLLECT_NONE,
  COLLECT_STREAM,
  COLLECT_ACTION,
  COLLECT_EXIT_CODE,
  COLLECT_COMMAND_ID,
} Collect;

typedef struct
{
  CastellanStream stream;
  gsize offset;
  gsize length;
} Segment;

typedef struct
{
  GByteArray *out;          /* decoded output of every stream */
  GArray *segments;         /* Segment, in document order */
  GString *text;            /* Action or ExitCode being read */
} Scratch;

static void
scratch_free (gpointer data)
{
  Scratch *scratch = data;

  g_byte_array_unref (scratch->out);
  g_array_unref (scratch->segments);
  g_string_free (scratch->text, TRUE);
  g_free (scratch);
}

static GPrivate scratch_key = G_PRIVATE_INIT (scratch_free);

/* Buffers larger than the largest envelope Castellan asks for are not
 * kept between replies. */
#define SCRATCH_KEEP (16 * 1024 * 1024)

typedef struct
{
  xmlParserCtxtPtr ctxt;
  Scratch *scratch;
  guint depth;
  gboolean give_up;
  gboolean seen_header, seen_body, seen_response, seen_action;
  gboolean in_header, in_body, in_response, in_state, seen_exit_code;
  gboolean command_response, seen_command_id;
  Collect collect;
  Segment segment;
  int b64_state;
  guint b64_save;
  /* what the reply says */
  char *action;
  char *command_id;
  gboolean done;
  int exit_code;
} FastReceive;

static void
give_up (FastReceive *fr)
{
  fr->give_up = TRUE;
  xmlStopParser (fr->ctxt);
}

static gboolean
is (const xmlChar *uri,
    const xmlChar *localname,
    const char    *ns,
    const char    *name)
{
  return uri != NULL && strcmp ((const char *) localname, name) == 0 &&
         strcmp ((const char *) uri, ns) == 0;
}

/* The first attribute named name, whatever its namespace (as xmlGetProp). */
static gboolean
attribute_is (const xmlChar **attributes,
              int             count,
              const char     *name,
              const char     *value)
{
  for (int i = 0; i < count; i++)
    {
      const xmlChar **a = attributes + 5 * i;

      if (strcmp ((const char *) a[0], name) == 0)
        return (gsize) (a[4] - a[3]) == strlen (value) && memcmp (a[3], value, a[4] - a[3]) == 0;
    }
  return FALSE;
}

static gboolean
attribute_ends_with (const xmlChar **attributes,
                     int             count,
                     const char     *name,
                     const char     *suffix)
{
  gsize slen = strlen (suffix);

  for (int i = 0; i < count; i++)
    {
      const xmlChar **a = attributes + 5 * i;

      if (strcmp ((const char *) a[0], name) == 0)
        return (gsize) (a[4] - a[3]) >= slen && memcmp (a[4] - slen, suffix, slen) == 0;
    }
  return FALSE;
}

static void
fast_start (void           *ctx,
            const xmlChar  *localname,
            const xmlChar  *prefix,
            const xmlChar  *uri,
            int             nb_namespaces,
            const xmlChar **namespaces,
            int             nb_attributes,
            int             nb_defaulted,
            const xmlChar **attributes)
{
  FastReceive *fr = ctx;
  guint level = fr->depth++;

  if (fr->give_up)
    return;
  /* Text is read from elements without children only. */
  if (fr->collect != COLLECT_NONE || (fr->in_body && is (uri, localname, CASTELLAN_NS_WSMAN, "Selector")))
    {
      give_up (fr);
      return;
    }
  switch (level)
    {
    case 0:
      if (!is (uri, localname, CASTELLAN_NS_SOAP, "Envelope"))
        give_up (fr);
      break;
    case 1:
      if (!fr->seen_header && is (uri, localname, CASTELLAN_NS_SOAP, "Header"))
        fr->seen_header = fr->in_header = TRUE;
      else if (!fr->seen_body && is (uri, localname, CASTELLAN_NS_SOAP, "Body"))
        fr->seen_body = fr->in_body = TRUE;
      else
        give_up (fr);
      break;
    case 2:
      if (fr->in_header)
        {
          if (!fr->seen_action && is (uri, localname, CASTELLAN_NS_ADDRESSING, "Action"))
            {
              fr->seen_action = TRUE;
              fr->collect = COLLECT_ACTION;
              g_string_truncate (fr->scratch->text, 0);
            }
        }
      else if (!fr->seen_response && is (uri, localname, CASTELLAN_NS_SHELL, "ReceiveResponse"))
        fr->seen_response = fr->in_response = TRUE;
      else if (!fr->seen_response && is (uri, localname, CASTELLAN_NS_SHELL, "CommandResponse"))
        fr->seen_response = fr->in_response = fr->command_response = TRUE;
      else
        give_up (fr);
      break;
    case 3:
      if (!fr->in_response)
        break;
      if (fr->command_response)
        {
          if (!fr->seen_command_id && is (uri, localname, CASTELLAN_NS_SHELL, "CommandId"))
            {
              fr->seen_command_id = TRUE;
              fr->collect = COLLECT_COMMAND_ID;
              g_string_truncate (fr->scratch->text, 0);
            }
          break;
        }
      if (is (uri, localname, CASTELLAN_NS_SHELL, "Stream"))
        {
          fr->collect = COLLECT_STREAM;
          fr->segment.stream = attribute_is (attributes, nb_attributes, "Name", "stderr")
                                 ? CASTELLAN_STREAM_STDERR : CASTELLAN_STREAM_STDOUT;
          fr->segment.offset = fr->scratch->out->len;
          fr->b64_state = 0;
          fr->b64_save = 0;
        }
      else if (is (uri, localname, CASTELLAN_NS_SHELL, "CommandState"))
        {
          fr->in_state = TRUE;
          fr->seen_exit_code = FALSE;
          fr->done = attribute_ends_with (attributes, nb_attributes, "State", "/CommandState/Done");
        }
      break;
    case 4:
      if (fr->in_state && !fr->seen_exit_code && is (uri, localname, CASTELLAN_NS_SHELL, "ExitCode"))
        {
          fr->seen_exit_code = TRUE;
          fr->collect = COLLECT_EXIT_CODE;
          g_string_truncate (fr->scratch->text, 0);
        }
      break;
    default:
      break;
    }
}

static void
fast_end (void          *ctx,
          const xmlChar *localname,
          const xmlChar *prefix,
          const xmlChar *uri)
{
  FastReceive *fr = ctx;
  guint level = --fr->depth;

  if (fr->give_up)
    return;
  switch (fr->collect)
    {
    case COLLECT_STREAM:
      fr->segment.length = fr->scratch->out->len - fr->segment.offset;
      if (fr->segment.length > 0)
        g_array_append_val (fr->scratch->segments, fr->segment);
      break;
    case COLLECT_ACTION:
      fr->action = g_strstrip (g_strdup (fr->scratch->text->str));
      break;
    case COLLECT_COMMAND_ID:
      fr->command_id = g_strstrip (g_strdup (fr->scratch->text->str));
      break;
    case COLLECT_EXIT_CODE:
      {
        gint64 value;

        if (g_ascii_string_to_signed (g_strstrip (fr->scratch->text->str), 10, G_MININT64,
                                      G_MAXINT64, &value, NULL))
          fr->exit_code = (int) value;
      }
      break;
    case COLLECT_NONE:
    default:
      if (level == 1)
        fr->in_header = fr->in_body = FALSE;
      else if (level == 2)
        fr->in_response = FALSE;
      else if (level == 3)
        fr->in_state = FALSE;
      break;
    }
  fr->collect = COLLECT_NONE;
}

static void
fast_characters (void          *ctx,
                 const xmlChar *ch,
                 int            len)
{
  FastReceive *fr = ctx;
  GByteArray *out = fr->scratch->out;
  guint at;

  if (fr->give_up || len <= 0)
    return;
  switch (fr->collect)
    {
    case COLLECT_STREAM:
      at = out->len;
      g_byte_array_set_size (out, at + (len / 4) * 3 + 3);
      at += g_base64_decode_step ((const char *) ch, len, out->data + at, &fr->b64_state,
                                  &fr->b64_save);
      g_byte_array_set_size (out, at);
      break;
    case COLLECT_ACTION:
    case COLLECT_EXIT_CODE:
    case COLLECT_COMMAND_ID:
      g_string_append_len (fr->scratch->text, (const char *) ch, len);
      break;
    case COLLECT_NONE:
    default:
      break;
    }
}

/* No DTD in a reply, as castellan_xml_parse() says. */
static void
fast_subset (void          *ctx,
             const xmlChar *name,
             const xmlChar *external_id,
             const xmlChar *system_id)
{
  give_up (ctx);
}

/* TRUE when the reply was read here; FALSE leaves it to the tree reader,
 * with nothing handed over yet. */
static gboolean
read_receive_fast (const char           *xml,
                   gsize                 length,
                   CastellanWsmanReply  *reply,
                   CastellanStreamFunc   on_stream,
                   gpointer              user_data)
{
  xmlSAXHandler sax = { 0 };
  FastReceive fr = { 0 };
  xmlSAXHandlerPtr saved;
  Scratch *scratch = g_private_get (&scratch_key);
  gboolean ok;

  /* Receive and Command replies name their action in the header; other
   * replies go straight to the tree reader. An empty body may come as
   * NULL (g_bytes_get_data() of empty bytes). */
  if (xml == NULL || length == 0 || length > G_MAXINT ||
      (memmem (xml, MIN (length, 8192), "ReceiveResponse", 15) == NULL &&
       memmem (xml, MIN (length, 8192), "CommandResponse", 15) == NULL))
    return FALSE;
  if (scratch == NULL)
    {
      scratch = g_new0 (Scratch, 1);
      scratch->out = g_byte_array_new ();
      scratch->segments = g_array_new (FALSE, FALSE, sizeof (Segment));
      scratch->text = g_string_new (NULL);
      g_private_set (&scratch_key, scratch);
    }
  g_byte_array_set_size (scratch->out, 0);
  g_array_set_size (scratch->segments, 0);

  sax.initialized = XML_SAX2_MAGIC;
  sax.startElementNs = fast_start;
  sax.endElementNs = fast_end;
  sax.characters = fast_characters;
  sax.ignorableWhitespace = fast_characters;
  sax.cdataBlock = fast_characters;
  sax.internalSubset = fast_subset;
  sax.externalSubset = fast_subset;

  fr.ctxt = xmlCreateMemoryParserCtxt (xml, (int) length);
  if (fr.ctxt == NULL)
    return FALSE;
  fr.scratch = scratch;
  saved = fr.ctxt->sax;
  fr.ctxt->sax = &sax;
  fr.ctxt->userData = &fr;
  xmlCtxtUseOptions (fr.ctxt, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  xmlParseDocument (fr.ctxt);
  ok = fr.ctxt->wellFormed && !fr.give_up && fr.seen_body && fr.seen_response;
  fr.ctxt->sax = saved;
  xmlFreeParserCtxt (fr.ctxt);

  if (ok)
    {
      reply->action = g_steal_pointer (&fr.action);
      reply->command_id = g_steal_pointer (&fr.command_id);
      reply->done = fr.done;
      reply->exit_code = fr.exit_code;
      for (guint i = 0; on_stream != NULL && i < scratch->segments->len; i++)
        {
          Segment *seg = &g_array_index (scratch->segments, Segment, i);

          on_stream (seg->stream, scratch->out->data + seg->offset, seg->length, user_data);
        }
    }
  g_free (fr.action);
  g_free (fr.command_id);
  if (scratch->out->len > SCRATCH_KEEP)
    {
      g_byte_array_unref (scratch->out);
      scratch->out = g_byte_array_new ();
    }
  return ok;
}

/**
 * castellan_wsman_reply_parse:
 * @max_length: the MaxEnvelopeSize the request asked for
 * @on_stream: (nullable): called for each decoded output chunk, in order
 *
 * Reads a reply; a WS-Man fault becomes a %CASTELLAN_ERROR with a code the
 * caller can act on (%CASTELLAN_ERROR_OPERATION_TIMEOUT means "no output
 * yet").
 */
CastellanWsmanReply *
castellan_wsman_reply_parse (const char           *xml,
                             gsize                 length,
                             gsize                 max_length,
                             const char           *host,
                             CastellanStreamFunc   on_stream,
                             gpointer              user_data,
                             GError              **error)
{
  g_autoptr(CastellanWsmanReply) reply = NULL;
  g_autoptr(xmlDoc) doc = NULL;
  xmlNode *root, *header, *body, *n;

  if (max_length > 0 && length > max_length)
    {
      g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_ENVELOPE_TOO_LARGE,
                   _("%s sent a reply of %lu bytes, more than the %lu bytes asked for (MaxEnvelopeSize). It was discarded."),
                   host, (unsigned long) length, (unsigned long) max_length);
      return NULL;
    }

  reply = g_new0 (CastellanWsmanReply, 1);
  if (read_receive_fast (xml, length, reply, on_stream, user_data))
    return g_steal_pointer (&reply);
  g_clear_pointer (&reply, castellan_wsman_reply_free);

  doc = castellan_xml_parse (xml, length);
  root = doc ? xmlDocGetRootElement (doc) : NULL;
  if (!castellan_xml_is (root, CASTELLAN_NS_SOAP, "Envelope"))
    {
      g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_MALFORMED_REPLY,
                   _("%s sent a reply that is not a well-formed SOAP envelope. The service may be misbehaving, or something on the way altered the reply."),
                   host);
      return NULL;
    }
  header = castellan_xml_child (root, CASTELLAN_NS_SOAP, "Header");
  body = castellan_xml_child (root, CASTELLAN_NS_SOAP, "Body");
  if (body == NULL)
    {
      g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_MALFORMED_REPLY,
                   _("%s sent a SOAP envelope without a body."), host);
      return NULL;
    }

  n = castellan_xml_child (body, CASTELLAN_NS_SOAP, "Fault");
  if (n != NULL)
    {
      set_fault_error (n, host, error);
      return NULL;
    }

  reply = g_new0 (CastellanWsmanReply, 1);
  reply->action = castellan_xml_child_text (header, CASTELLAN_NS_ADDRESSING, "Action");

  if ((n = castellan_xml_child (body, CASTELLAN_NS_SHELL, "ReceiveResponse")) != NULL)
    read_receive (n, reply, on_stream, user_data);
  else if ((n = castellan_xml_child (body, CASTELLAN_NS_SHELL, "CommandResponse")) != NULL)
    reply->command_id = castellan_xml_child_text (n, CASTELLAN_NS_SHELL, "CommandId");
  else if ((n = castellan_xml_child (body, CASTELLAN_NS_SHELL, "Shell")) != NULL)
    reply->shell_id = castellan_xml_child_text (n, CASTELLAN_NS_SHELL, "ShellId");
  else if ((n = castellan_xml_child (body, CASTELLAN_NS_CONFIG, "Config")) != NULL)
    {
      g_autofree char *kb = castellan_xml_child_text (n, CASTELLAN_NS_CONFIG, "MaxEnvelopeSizekb");
      guint64 value = 0;

      if (kb != NULL && g_ascii_string_to_unsigned (kb, 10, 1, 1024 * 1024, &value, NULL))
        reply->max_envelope_kb = (guint) value;
    }

  if (reply->shell_id == NULL && (n = castellan_xml_find (body->children, CASTELLAN_NS_WSMAN, "Selector")) != NULL)
    {
      g_autofree char *name = castellan_xml_attribute (n, "Name");

      if (g_strcmp0 (name, "ShellId") == 0)
        reply->shell_id = castellan_xml_text (n);
    }

  return g_steal_pointer (&reply);
}
