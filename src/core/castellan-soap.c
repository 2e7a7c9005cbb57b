/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "castellan-soap.h"

/* Requests in the shape Windows' own clients send: the same prefixes and
 * header order, so that a listener sees nothing unusual. */

#define ACTION_CREATE "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create"
#define ACTION_DELETE "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete"
#define ACTION_GET "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get"
#define ACTION_COMMAND CASTELLAN_NS_SHELL "/Command"
#define ACTION_RECEIVE CASTELLAN_NS_SHELL "/Receive"
#define ACTION_SEND CASTELLAN_NS_SHELL "/Send"
#define ACTION_SIGNAL CASTELLAN_NS_SHELL "/Signal"
#define RESOURCE_CMD CASTELLAN_NS_SHELL "/cmd"
#define ANONYMOUS "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"

char *
castellan_soap_new_uuid (void)
{
  g_autofree char *uuid = g_uuid_string_random ();

  return g_ascii_strup (uuid, -1);
}

static void
append_escaped (GString    *out,
                const char *text)
{
  for (const char *p = text; *p != '\0'; p++)
    {
      switch (*p)
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
        case '\r':
          g_string_append (out, "&#13;");
          break;
        default:
          g_string_append_c (out, *p);
        }
    }
}

static void
append_uint (GString *out,
             guint    value)
{
  char digits[16];
  int i = sizeof digits;

  do
    digits[--i] = '0' + value % 10;
  while ((value /= 10) != 0);
  g_string_append_len (out, digits + i, sizeof digits - i);
}

static GString *
begin (const CastellanSoapContext *ctx,
       const char                 *action,
       const char                 *resource_uri,
       gboolean                    shell_namespace)
{
  GString *out = g_string_sized_new (2048);
  g_autofree char *message_id = castellan_soap_new_uuid ();
  const char *locale = ctx->locale ? ctx->locale : "en-US";

  /* A PowerShell pool names its configuration instead of cmd. */
  if (ctx->resource_uri != NULL && g_strcmp0 (resource_uri, RESOURCE_CMD) == 0)
    resource_uri = ctx->resource_uri;

  g_string_append (out, "<s:Envelope");
  if (shell_namespace)
    g_string_append (out, " xmlns:rsp=\"" CASTELLAN_NS_SHELL "\"");
  g_string_append (out,
                   " xmlns:s=\"" CASTELLAN_NS_SOAP "\""
                   " xmlns:wsa=\"" CASTELLAN_NS_ADDRESSING "\""
                   " xmlns:wsman=\"" CASTELLAN_NS_WSMAN "\""
                   " xmlns:wsmv=\"" CASTELLAN_NS_WSMV "\">"
                   "<s:Header>");
  /* Plain appends: this runs for every request, printf's parsing is not
   * free. */
  g_string_append (out, "<wsa:Action s:mustUnderstand=\"true\">");
  g_string_append (out, action);
  g_string_append (out, "</wsa:Action><wsmv:DataLocale s:mustUnderstand=\"false\" xml:lang=\"");
  g_string_append (out, locale);
  g_string_append (out, "\" /><wsman:Locale s:mustUnderstand=\"false\" xml:lang=\"");
  g_string_append (out, locale);
  g_string_append (out, "\" /><wsman:MaxEnvelopeSize s:mustUnderstand=\"true\">");
  append_uint (out, ctx->max_envelope ? ctx->max_envelope : CASTELLAN_DEFAULT_MAX_ENVELOPE);
  g_string_append (out, "</wsman:MaxEnvelopeSize><wsa:MessageID>uuid:");
  g_string_append (out, message_id);
  g_string_append (out, "</wsa:MessageID><wsman:OperationTimeout>PT");
  append_uint (out, ctx->operation_timeout ? ctx->operation_timeout : 20);
  g_string_append (out, "S</wsman:OperationTimeout>");
  g_string_append (out, "<wsa:ReplyTo><wsa:Address s:mustUnderstand=\"true\">" ANONYMOUS
                        "</wsa:Address></wsa:ReplyTo>");
  g_string_append (out, "<wsman:ResourceURI s:mustUnderstand=\"true\">");
  g_string_append (out, resource_uri);
  g_string_append (out, "</wsman:ResourceURI>");
  if (ctx->session_id != NULL)
    {
      g_string_append (out, "<wsmv:SessionId s:mustUnderstand=\"false\">");
      g_string_append (out, ctx->session_id);
      g_string_append (out, "</wsmv:SessionId>");
    }
  g_string_append (out, "<wsa:To>");
  append_escaped (out, ctx->to);
  g_string_append (out, "</wsa:To>");
  return out;
}

static void
append_option (GString    *out,
               const char *name,
               const char *value,
               gboolean    must_comply)
{
  g_string_append_printf (out, "<wsman:Option%s Name=\"%s\">%s</wsman:Option>",
                          must_comply ? " MustComply=\"true\"" : "", name, value);
}

static void
append_shell_selector (GString    *out,
                       const char *shell_id)
{
  g_string_append (out, "<wsman:SelectorSet><wsman:Selector Name=\"ShellId\">");
  append_escaped (out, shell_id);
  g_string_append (out, "</wsman:Selector></wsman:SelectorSet>");
}

/* Closes the header: what is appended next is the body. */
static void
begin_body (GString *out)
{
  g_string_append (out, "</s:Header><s:Body>");
}

static GBytes *
finish (GString *out)
{
  g_string_append (out, "</s:Body></s:Envelope>");
  return g_string_free_to_bytes (out);
}

static GBytes *
finish_empty (GString *out)
{
  g_string_append (out, "</s:Header><s:Body /></s:Envelope>");
  return g_string_free_to_bytes (out);
}

GBytes *
castellan_soap_create_shell (const CastellanSoapContext  *ctx,
                             const CastellanShellOptions *options)
{
  GString *out = begin (ctx, ACTION_CREATE, RESOURCE_CMD, TRUE);
  g_autofree char *codepage = g_strdup_printf ("%u", options && options->codepage ? options->codepage : 65001);

  g_string_append (out, "<wsman:OptionSet s:mustUnderstand=\"true\">");
  if (options && options->no_profile)
    append_option (out, "WINRS_NOPROFILE", "TRUE", TRUE);
  append_option (out, "WINRS_CODEPAGE", codepage, FALSE);
  g_string_append (out, "</wsman:OptionSet>");

  begin_body (out);
  g_string_append (out, "<rsp:Shell><rsp:InputStreams>stdin</rsp:InputStreams>"
                        "<rsp:OutputStreams>stdout stderr</rsp:OutputStreams>");
  if (options && options->working_directory)
    {
      g_string_append (out, "<rsp:WorkingDirectory>");
      append_escaped (out, options->working_directory);
      g_string_append (out, "</rsp:WorkingDirectory>");
    }
  if (options && options->environment && options->environment[0])
    {
      g_string_append (out, "<rsp:Environment>");
      for (guint i = 0; options->environment[i] != NULL; i++)
        {
          const char *eq = strchr (options->environment[i], '=');
          g_autofree char *name = NULL;

          if (eq == NULL || eq == options->environment[i])
            continue;
          name = g_strndup (options->environment[i], eq - options->environment[i]);
          g_string_append (out, "<rsp:Variable Name=\"");
          append_escaped (out, name);
          g_string_append (out, "\">");
          append_escaped (out, eq + 1);
          g_string_append (out, "</rsp:Variable>");
        }
      g_string_append (out, "</rsp:Environment>");
    }
  g_string_append (out, "</rsp:Shell>");
  return finish (out);
}

GBytes *
castellan_soap_command (const CastellanSoapContext *ctx,
                        const char                 *shell_id,
                        const char                 *command,
                        const char *const          *arguments,
                        gboolean                    skip_cmd_shell,
                        const char                 *command_id)
{
  GString *out = begin (ctx, ACTION_COMMAND, RESOURCE_CMD, TRUE);

  g_string_append (out, "<wsman:OptionSet s:mustUnderstand=\"true\">");
  append_option (out, "WINRS_SKIP_CMD_SHELL", skip_cmd_shell ? "True" : "False", FALSE);
  g_string_append (out, "</wsman:OptionSet>");
  append_shell_selector (out, shell_id);

  begin_body (out);
  g_string_append (out, "<rsp:CommandLine");
  /* A client-chosen identifier (WinRM 3.0 and later honour it): the first
   * Receive can go out with the Command. */
  if (command_id != NULL)
    {
      g_string_append (out, " CommandId=\"");
      append_escaped (out, command_id);
      g_string_append (out, "\"");
    }
  g_string_append (out, "><rsp:Command>");
  append_escaped (out, command);
  g_string_append (out, "</rsp:Command>");
  for (guint i = 0; arguments && arguments[i] != NULL; i++)
    {
      g_string_append (out, "<rsp:Arguments>");
      append_escaped (out, arguments[i]);
      g_string_append (out, "</rsp:Arguments>");
    }
  g_string_append (out, "</rsp:CommandLine>");
  return finish (out);
}

GBytes *
castellan_soap_receive_streams (const CastellanSoapContext *ctx,
                                const char                 *shell_id,
                                const char                 *command_id,
                                const char                 *streams)
{
  GString *out = begin (ctx, ACTION_RECEIVE, RESOURCE_CMD, TRUE);

  g_string_append (out, "<wsman:OptionSet s:mustUnderstand=\"true\">");
  append_option (out, "WSMAN_CMDSHELL_OPTION_KEEPALIVE", "True", FALSE);
  g_string_append (out, "</wsman:OptionSet>");
  append_shell_selector (out, shell_id);

  begin_body (out);
  g_string_append (out, "<rsp:Receive><rsp:DesiredStream");
  /* Without a command: the shell's own output (a PowerShell pool's). */
  if (command_id != NULL)
    {
      g_string_append (out, " CommandId=\"");
      append_escaped (out, command_id);
      g_string_append (out, "\"");
    }
  g_string_append (out, ">");
  g_string_append (out, streams);
  g_string_append (out, "</rsp:DesiredStream></rsp:Receive>");
  return finish (out);
}

GBytes *
castellan_soap_receive (const CastellanSoapContext *ctx,
                        const char                 *shell_id,
                        const char                 *command_id)
{
  return castellan_soap_receive_streams (ctx, shell_id, command_id, "stdout stderr");
}

/* How many raw stdin bytes fit in one Send: base64 grows them by 4/3,
 * and the envelope around them needs room. */
gsize
castellan_soap_send_capacity (const CastellanSoapContext *ctx)
{
  guint max = ctx->max_envelope ? ctx->max_envelope : CASTELLAN_DEFAULT_MAX_ENVELOPE;

  return max > 4096 ? (max - 4096) / 4 * 3 : 1024;
}

GBytes *
castellan_soap_send_stream (const CastellanSoapContext *ctx,
                            const char                 *shell_id,
                            const char                 *command_id,
                            const char                 *stream,
                            const guint8               *data,
                            gsize                       length,
                            gboolean                    end)
{
  GString *out = begin (ctx, ACTION_SEND, RESOURCE_CMD, TRUE);
  g_autofree char *b64 = g_base64_encode (data, length);

  append_shell_selector (out, shell_id);

  begin_body (out);
  g_string_append (out, "<rsp:Send><rsp:Stream Name=\"");
  g_string_append (out, stream);
  g_string_append (out, "\"");
  if (command_id != NULL)
    {
      g_string_append (out, " CommandId=\"");
      append_escaped (out, command_id);
      g_string_append (out, "\"");
    }
  g_string_append (out, end ? " End=\"true\">" : ">");
  g_string_append (out, b64);
  g_string_append (out, "</rsp:Stream></rsp:Send>");
  return finish (out);
}

GBytes *
castellan_soap_send (const CastellanSoapContext *ctx,
                     const char                 *shell_id,
                     const char                 *command_id,
                     const guint8               *data,
                     gsize                       length,
                     gboolean                    end)
{
  return castellan_soap_send_stream (ctx, shell_id, command_id, "stdin", data, length, end);
}

/* @code: a full signal URI, or a WinRS signal's last part ("ctrl_c"). */
GBytes *
castellan_soap_signal (const CastellanSoapContext *ctx,
                       const char                 *shell_id,
                       const char                 *command_id,
                       const char                 *code)
{
  GString *out = begin (ctx, ACTION_SIGNAL, RESOURCE_CMD, TRUE);

  append_shell_selector (out, shell_id);

  begin_body (out);
  g_string_append (out, "<rsp:Signal CommandId=\"");
  append_escaped (out, command_id);
  g_string_append (out, "\"><rsp:Code>");
  if (!g_str_has_prefix (code, "http"))
    g_string_append (out, CASTELLAN_NS_SHELL "/signal/");
  g_string_append (out, code);
  g_string_append (out, "</rsp:Code></rsp:Signal>");
  return finish (out);
}

GBytes *
castellan_soap_delete_shell (const CastellanSoapContext *ctx,
                             const char                 *shell_id)
{
  GString *out = begin (ctx, ACTION_DELETE, RESOURCE_CMD, FALSE);

  append_shell_selector (out, shell_id);
  return finish_empty (out);
}

/* A PowerShell runspace pool (MS-PSRP 3.1.5.3.1): the shell's id is the
 * pool's, and creationXml carries the first messages. */
GBytes *
castellan_soap_create_pool (const CastellanSoapContext *ctx,
                            const char                 *shell_id,
                            const char                 *protocol_version,
                            const char                 *creation_base64)
{
  GString *out = begin (ctx, ACTION_CREATE, RESOURCE_CMD, TRUE);

  g_string_append (out, "<wsman:OptionSet s:mustUnderstand=\"true\">");
  append_option (out, "protocolversion", protocol_version, TRUE);
  g_string_append (out, "</wsman:OptionSet>");

  begin_body (out);
  g_string_append (out, "<rsp:Shell ShellId=\"");
  append_escaped (out, shell_id);
  g_string_append (out, "\"><rsp:InputStreams>stdin pr</rsp:InputStreams>"
                        "<rsp:OutputStreams>stdout</rsp:OutputStreams>"
                        "<creationXml xmlns=\"http://schemas.microsoft.com/powershell\">");
  g_string_append (out, creation_base64);
  g_string_append (out, "</creationXml></rsp:Shell>");
  return finish (out);
}

/* A pipeline (MS-PSRP 3.1.5.3.3): its id is the CommandId, and its first
 * fragments travel as the Arguments. */
GBytes *
castellan_soap_create_pipeline (const CastellanSoapContext *ctx,
                                const char                 *shell_id,
                                const char                 *command_id,
                                const char                 *arguments_base64)
{
  GString *out = begin (ctx, ACTION_COMMAND, RESOURCE_CMD, TRUE);

  append_shell_selector (out, shell_id);
  begin_body (out);
  g_string_append (out, "<rsp:CommandLine CommandId=\"");
  append_escaped (out, command_id);
  g_string_append (out, "\"><rsp:Command /><rsp:Arguments>");
  g_string_append (out, arguments_base64);
  g_string_append (out, "</rsp:Arguments></rsp:CommandLine>");
  return finish (out);
}

GBytes *
castellan_soap_get_config (const CastellanSoapContext *ctx)
{
  return finish_empty (begin (ctx, ACTION_GET, CASTELLAN_NS_CONFIG, FALSE));
}
