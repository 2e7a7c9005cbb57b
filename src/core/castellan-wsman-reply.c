/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
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
