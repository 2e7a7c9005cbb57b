/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The shell table and the WS-Man actions on it (Create, Command, Receive,
 * Signal, Send, Delete) and Get of the config. */

#include "bench-peer.h"

#define NS_SHELL "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
#define RESOURCE_CMD NS_SHELL "/cmd"
#define CONFIG_URI "http://schemas.microsoft.com/wbem/wsman/1/config"
#define ACTION_CREATE "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create"
#define ACTION_DELETE "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete"
#define ACTION_GET "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get"
#define ACTION_COMMAND NS_SHELL "/Command"
#define ACTION_RECEIVE NS_SHELL "/Receive"
#define ACTION_SEND NS_SHELL "/Send"
#define ACTION_SIGNAL NS_SHELL "/Signal"

#define DEFAULT_MAX_ENVELOPE 153600

#define CODE_INVALID_SELECTORS G_GUINT64_CONSTANT (2150858843)
#define CODE_BAD_REQUEST G_GUINT64_CONSTANT (2150858778)
#define CODE_ACTION_NOT_SUPPORTED G_GUINT64_CONSTANT (2150858791)
#define CODE_INVALID_RESOURCE_URI G_GUINT64_CONSTANT (2150858770)
#define CODE_SCHEMA_VALIDATION G_GUINT64_CONSTANT (2150858817)

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

static GMutex shells_lock;
static GHashTable *shells;  /* upper-case ShellId -> Shell */

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

void
bench_peer_shells_init (void)
{
  shells = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, shell_free);
}

/* ---- WS-Management -------------------------------------------------------- */

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

  return bench_peer_fault (c, r, "Sender", "InvalidSelectors", reason, CODE_INVALID_SELECTORS,
                           "<w:FaultDetail>http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/"
                           "InvalidValue</w:FaultDetail>");
}

static int
command_not_found (Conn       *c,
                   const Soap *r)
{
  return bench_peer_fault (c, r, "Sender", "InvalidSelectors",
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
  return bench_peer_fault (c, r, "Sender", "InvalidResourceURI", "The resource URI is not supported.",
                           CODE_INVALID_RESOURCE_URI, "");
}

/* The ShellId selector's value, decoded ("" without one). */
static char *
selector_shell_id (const Soap *r)
{
  const char *cursor = r->xml;
  Span attrs, text, name;

  while (bench_peer_find_element (&cursor, r->end, "Selector", &attrs, &text))
    if (bench_peer_find_attribute (attrs, "Name", &name) && span_equal_text (name, "ShellId"))
      return bench_peer_xml_decode (text);
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
  bench_peer_begin_envelope (c, ACTION_GET "Response", r);
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
  bench_peer_end_envelope (c);
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
      !bench_peer_find_element (&cursor, r->end, "Shell", &attrs, &text))
    return invalid_resource_uri (c, r);
  shell = g_new0 (Shell, 1);
  shell->id = bench_peer_new_uuid (c);
  shell->commands = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, command_free);
  g_mutex_lock (&shells_lock);
  g_hash_table_replace (shells, shell->id, shell);
  g_mutex_unlock (&shells_lock);

  bench_peer_begin_envelope (c, ACTION_CREATE "Response", r);
  g_string_append_printf (s, "<x:ResourceCreated><a:Address>%s://" MACHINE ":%u/wsman</a:Address>"
                          "<a:ReferenceParameters><w:ResourceURI>" RESOURCE_CMD "</w:ResourceURI>"
                          "<w:SelectorSet><w:Selector Name=\"ShellId\">%s</w:Selector></w:SelectorSet>"
                          "</a:ReferenceParameters></x:ResourceCreated>"
                          "<rsp:Shell xmlns:rsp=\"" NS_SHELL "\"><rsp:ShellId>%s</rsp:ShellId>"
                          "<rsp:ResourceUri>" RESOURCE_CMD "</rsp:ResourceUri><rsp:Owner>",
                          c->https ? "https" : "http", c->port, shell->id, shell->id);
  bench_peer_append_escaped (s, c->user ? c->user : bench_peer.user);
  g_string_append (s, "</rsp:Owner><rsp:ClientIP>");
  bench_peer_append_escaped (s, c->client_ip);
  g_string_append (s, "</rsp:ClientIP><rsp:IdleTimeOut>PT7200.000S</rsp:IdleTimeOut>"
                      "<rsp:InputStreams>stdin</rsp:InputStreams>"
                      "<rsp:OutputStreams>stdout stderr</rsp:OutputStreams>"
                      "<rsp:ShellRunTime>P0DT0H0M0S</rsp:ShellRunTime>"
                      "<rsp:ShellInactivity>P0DT0H0M0S</rsp:ShellInactivity></rsp:Shell>");
  bench_peer_end_envelope (c);
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
  bench_peer_begin_envelope (c, ACTION_DELETE "Response", r);
  bench_peer_end_envelope (c);
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

  if (bench_peer_find_element (&cursor, r->end, "Command", &attrs, &text))
    {
      g_autofree char *part = bench_peer_xml_decode (text);

      g_string_append (line, part);
    }
  cursor = from;
  while (bench_peer_find_element (&cursor, r->end, "Arguments", &attrs, &text))
    {
      g_autofree char *part = bench_peer_xml_decode (text);

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

  if (!bench_peer_find_element (&cursor, r->end, "CommandLine", &attrs, &text))
    return bench_peer_fault (c, r, "Sender", "SchemaValidationError",
                             "The SOAP XML in the message does not match the corresponding XML schema "
                             "definition.", CODE_SCHEMA_VALIDATION, "");
  cmd = parse_command_line (r, cursor);
  /* Since WinRM 2.2 a client may name the command itself. */
  if (bench_peer_find_attribute (attrs, "CommandId", &value) && value.len > 0)
    cmd->id = bench_peer_xml_decode (value);
  else
    cmd->id = bench_peer_new_uuid (c);
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

  bench_peer_begin_envelope (c, ACTION_COMMAND "Response", r);
  g_string_append (s, "<rsp:CommandResponse><rsp:CommandId>");
  bench_peer_append_escaped (s, command_id);
  g_string_append (s, "</rsp:CommandId></rsp:CommandResponse>");
  bench_peer_end_envelope (c);
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
  bench_peer_append_escaped (s, command_id);
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
  const guint8 *block = g_bytes_get_data (bench_peer.pattern, &block_size);
  gsize at;
  int state = 0;
  int save = 0;
  gsize n = 0;

  g_string_append (s, "<rsp:Stream Name=\"stdout\" CommandId=\"");
  bench_peer_append_escaped (s, command_id);
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
  g_autofree char *command_id = bench_peer_element_attribute (r, "DesiredStream", "CommandId");
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

  bench_peer_begin_envelope (c, ACTION_RECEIVE "Response", r);
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
  bench_peer_append_escaped (s, command_id);
  if (done)
    g_string_append (s, kind == COMMAND_UNSUPPORTED
                        ? "\" State=\"" NS_SHELL "/CommandState/Done\"><rsp:ExitCode>1</rsp:ExitCode></rsp:CommandState>"
                        : "\" State=\"" NS_SHELL "/CommandState/Done\"><rsp:ExitCode>0</rsp:ExitCode></rsp:CommandState>");
  else
    g_string_append (s, "\" State=\"" NS_SHELL "/CommandState/Running\"></rsp:CommandState>");
  g_string_append (s, "</rsp:ReceiveResponse>");
  bench_peer_end_envelope (c);
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
  g_autofree char *command_id = bench_peer_element_attribute (r, element, "CommandId");
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
  Span code = bench_peer_element_text (r, "Code");
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

      return bench_peer_fault (c, r, "Sender", "InvalidParameter", reason, CODE_INVALID_SELECTORS, "");
    }
  status = find_command (c, r, "Signal", g_str_equal (name, "terminate"));
  if (status != 200)
    return status;
  bench_peer_begin_envelope (c, ACTION_SIGNAL "Response", r);
  g_string_append (c->soap, "<rsp:SignalResponse/>");
  bench_peer_end_envelope (c);
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
  bench_peer_begin_envelope (c, ACTION_SEND "Response", r);
  g_string_append (c->soap, "<rsp:SendResponse/>");
  bench_peer_end_envelope (c);
  return 200;
}

/* Answers the SOAP request in c->plain into c->soap; the HTTP status. */
int
bench_peer_dispatch (Conn *c)
{
  Soap r = { c->plain->str, c->plain->str + c->plain->len, { "", 0 }, { "", 0 }, { "", 0 }, 0 };
  Span max;
  guint64 value;

  r.action = bench_peer_element_text (&r, "Action");
  r.message_id = bench_peer_element_text (&r, "MessageID");
  r.resource_uri = bench_peer_element_text (&r, "ResourceURI");
  max = bench_peer_element_text (&r, "MaxEnvelopeSize");
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
      bench_peer_fault (c, &r, "Sender", "InvalidMessageInformationHeader",
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
  return bench_peer_fault (c, &r, "Sender", "ActionNotSupported",
                           "The WS-Management service cannot process the request because the action is not "
                           "supported for this resource.", CODE_ACTION_NOT_SUPPORTED, "");
}
