/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "castellan-endpoint.h"
#include "castellan-error.h"
#include "castellan-fanout.h"
#include "castellan-trust-database.h"
#include "cli-common.h"

typedef struct
{
  int port;
  gboolean https;
  char *auth;
  char *user;
  char *password_file;
  char *ca_file;
  char *proxy;
  char *trusted_hosts;
  char *report;
  char *hosts;
  int throttle;
  gboolean probe;
  char *spn_service;
  char *pin;
  gboolean delegate;
  gboolean delegate_always;
  gboolean allow_unencrypted;
  int operation_timeout;
  int timeout;
  int codepage;
  gboolean no_profile;
  gboolean verbose;
  gboolean version;
  gboolean powershell;
  char *configuration;
  char *script_file;
} Args;

static void
args_clear (Args *a)
{
  g_free (a->auth);
  g_free (a->user);
  g_free (a->password_file);
  g_free (a->ca_file);
  g_free (a->proxy);
  g_free (a->trusted_hosts);
  g_free (a->report);
  g_free (a->hosts);
  g_free (a->spn_service);
  g_free (a->pin);
  g_free (a->configuration);
  g_free (a->script_file);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Args, args_clear)

/* The first line of the file; the password never comes from argv. */
static char *
read_password (const char  *path,
               GError     **error)
{
  g_autofree char *contents = NULL;
  gsize len = 0;
  char *eol;
  char *password;

  if (!g_file_get_contents (path, &contents, &len, error))
    return NULL;
  eol = strpbrk (contents, "\r\n");
  password = eol ? g_strndup (contents, eol - contents) : g_strdup (contents);
  explicit_bzero (contents, len);
  return password;
}

static gboolean
build_options (const Args               *a,
               CastellanConnectOptions  *o,
               GError                  **error)
{
  if (a->auth != NULL && !castellan_auth_request_from_string (a->auth, &o->auth))
    {
      g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_FAILED,
                   _("--auth takes negotiate, kerberos, ntlm or basic, not “%s”"), a->auth);
      return FALSE;
    }
  o->user = g_strdup (a->user);
  o->spn_service = g_strdup (a->spn_service);
  o->pinned_sha256 = g_strdup (a->pin);
  o->delegate = a->delegate;
  o->delegate_always = a->delegate_always;
  o->allow_unencrypted = a->allow_unencrypted;
  if (a->operation_timeout > 0)
    o->operation_timeout = (guint) a->operation_timeout;
  if (a->timeout > 0)
    o->request_timeout = (guint) a->timeout;

  if (a->password_file != NULL)
    {
      g_autofree char *password = read_password (a->password_file, error);

      if (password == NULL)
        return FALSE;
      castellan_connect_options_set_password (o, password);
      explicit_bzero (password, strlen (password));
    }

  if (a->ca_file != NULL)
    {
      g_autoptr(GError) local = NULL;

      g_clear_object (&o->tls_database);
      o->tls_database = castellan_trust_database_new (a->ca_file, &local);
      if (o->tls_database == NULL)
        {
          g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_BAD_CERTIFICATE,
                       _("Cannot read the CA file %s: %s"), a->ca_file, local->message);
          return FALSE;
        }
    }

  if (a->proxy != NULL)
    {
      g_autoptr(GError) local = NULL;

      if (!castellan_connect_options_set_proxy (o, a->proxy, &local))
        {
          g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_INVALID_ADDRESS,
                       "--proxy: %s", local->message);
          return FALSE;
        }
    }

  if (a->trusted_hosts != NULL)
    castellan_connect_options_set_trusted_hosts (o, a->trusted_hosts);
  else
    {
      g_autofree char *path = castellan_trusted_hosts_default_path ();
      CastellanTrustedHosts *saved = castellan_trusted_hosts_load (path, error);

      if (saved == NULL)
        return FALSE;
      castellan_trusted_hosts_free (o->trusted_hosts);
      o->trusted_hosts = saved;
    }
  return TRUE;
}

static CastellanConnectOptions *
options_for (const Args              *a,
             const CastellanConnectOptions *template,
             const char              *host,
             GError                 **error)
{
  g_autoptr(CastellanEndpoint) endpoint = castellan_endpoint_parse (host, a->https, error);
  CastellanConnectOptions *o;

  if (endpoint == NULL)
    return NULL;
  if (a->port > 0)
    castellan_endpoint_set_port (endpoint, (guint16) a->port);
  o = castellan_connect_options_copy (template);
  castellan_endpoint_free (o->endpoint);
  o->endpoint = g_steal_pointer (&endpoint);
  return o;
}

int
main (int   argc,
      char *argv[])
{
  g_auto(Args) a = { 0 };
  g_autoptr(GOptionContext) context = NULL;
  g_autofree char *summary = NULL;
  g_autofree char *script = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(CastellanEndpoint) placeholder = NULL;
  g_autoptr(CastellanConnectOptions) template = NULL;
  g_autoptr(GPtrArray) targets = g_ptr_array_new_with_free_func ((GDestroyNotify) castellan_connect_options_free);
  CliRun run = { { 65001, FALSE, NULL, NULL }, NULL, NULL, FALSE, CASTELLAN_DEFAULT_THROTTLE,
                 FALSE, NULL, NULL, FALSE, NULL, NULL, NULL };
  GOptionEntry entries[] = {
    { "port", 0, 0, G_OPTION_ARG_INT, &a.port, N_("TCP port (default 5985, or 5986 with --https)"), N_("N") },
    { "https", 0, 0, G_OPTION_ARG_NONE, &a.https, N_("Use HTTPS"), NULL },
    { "auth", 0, 0, G_OPTION_ARG_STRING, &a.auth, N_("negotiate (default), kerberos, ntlm or basic"), N_("METHOD") },
    { "user", 0, 0, G_OPTION_ARG_STRING, &a.user, N_("User name: user@REALM or DOMAIN\\user (default: your Kerberos ticket)"), N_("USER") },
    { "password-file", 0, 0, G_OPTION_ARG_FILENAME, &a.password_file, N_("Read the password from the first line of FILE"), N_("FILE") },
    { "ca-file", 0, 0, G_OPTION_ARG_FILENAME, &a.ca_file, N_("PEM trust anchors added for HTTPS"), N_("FILE") },
    { "pin-sha256", 0, 0, G_OPTION_ARG_STRING, &a.pin, N_("Accept the HTTPS certificate with this SHA-256 fingerprint"), N_("HEX") },
    { "proxy", 0, 0, G_OPTION_ARG_STRING, &a.proxy, N_("Reach the hosts through this HTTPS CONNECT proxy (http://HOST:PORT or https://HOST:PORT)"), N_("URL") },
    { "trusted-hosts", 0, 0, G_OPTION_ARG_STRING, &a.trusted_hosts, N_("TrustedHosts in WinRM syntax (overrides the saved list)"), N_("LIST") },
    { "spn-service", 0, 0, G_OPTION_ARG_STRING, &a.spn_service, N_("Kerberos service of the host’s SPN (default HTTP)"), N_("NAME") },
    { "delegate", 0, 0, G_OPTION_ARG_NONE, &a.delegate, N_("Hand the host a Kerberos credential for a second hop, if the KDC trusts it for delegation"), NULL },
    { "delegate-always", 0, 0, G_OPTION_ARG_NONE, &a.delegate_always, N_("Hand the host your forwardable TGT even if the KDC does not trust it for delegation"), NULL },
    { "allow-unencrypted", 0, 0, G_OPTION_ARG_NONE, &a.allow_unencrypted, N_("Allow Basic over HTTP, unencrypted"), NULL },
    { "report", 0, 0, G_OPTION_ARG_FILENAME, &a.report, N_("Write the connection’s security and exit code as JSON"), N_("FILE") },
    { "hosts", 0, 0, G_OPTION_ARG_STRING, &a.hosts, N_("Run on several hosts at once"), N_("A,B,C") },
    { "throttle", 0, 0, G_OPTION_ARG_INT, &a.throttle, N_("Hosts at once with --hosts (default 32)"), N_("N") },
    { "probe", 0, 0, G_OPTION_ARG_NONE, &a.probe, N_("Ask the host what it offers (Identify), without credentials"), NULL },
    { "operation-timeout", 0, 0, G_OPTION_ARG_INT, &a.operation_timeout, N_("Seconds the host may wait for output per request (default 20)"), N_("S") },
    { "timeout", 0, 0, G_OPTION_ARG_INT, &a.timeout, N_("Seconds any other exchange may take (default 30)"), N_("S") },
    { "codepage", 0, 0, G_OPTION_ARG_INT, &a.codepage, N_("Console code page of the remote shell (default 65001, UTF-8)"), N_("N") },
    { "no-profile", 0, 0, G_OPTION_ARG_NONE, &a.no_profile, N_("Do not load the user profile on the host"), NULL },
    { "powershell", 0, 0, G_OPTION_ARG_NONE, &a.powershell, N_("Run a PowerShell script in a runspace of the host’s PowerShell endpoint (PowerShell Remoting)"), NULL },
    { "configuration", 0, 0, G_OPTION_ARG_STRING, &a.configuration, N_("PowerShell endpoint (session configuration) for --powershell, such as a JEA endpoint (default Microsoft.PowerShell)"), N_("NAME") },
    { "script-file", 0, 0, G_OPTION_ARG_FILENAME, &a.script_file, N_("Run the PowerShell script in FILE, as pwsh -File does (implies --powershell); the words after -- are its arguments"), N_("FILE") },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &a.verbose, N_("Explain the connection’s security on stderr"), NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &a.version, N_("Print the version"), NULL },
    { NULL }
  };
  int first_command;

  /* Replies of up to MaxEnvelopeSize (often 500 KB) are read, decrypted
   * and decoded in a loop, each in buffers of that size: glibc would map
   * and unmap them (or trim the heap) every time, and the pages would be
   * faulted in and zeroed again for each reply. Keep them instead. */
  mallopt (M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  mallopt (M_TRIM_THRESHOLD, 64 * 1024 * 1024);

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  context = g_option_context_new (_("HOST -- COMMAND [ARG…]"));
  summary = g_strconcat (_("Run a command on a Windows host over WinRM, and say how the connection is protected."),
                         "\n\n  castellan-run --powershell [--configuration NAME] [OPTION…] HOST -- SCRIPT [WORD…]\n\n",
                         _("runs a PowerShell script in a runspace of the host’s PowerShell endpoint. Output is\n"
                           "formatted there for the terminal’s width; error, warning, verbose and debug records go to\n"
                           "stderr; lines of stdin are the pipeline’s input. The exit status is N after “exit N”, 1 when\n"
                           "the script failed, 130 after Ctrl+C."),
                         NULL);
  g_option_context_set_summary (context, summary);
  g_option_context_set_description (context,
    _("Remote stdout and stderr are copied byte for byte; stdin is sent to the command until EOF.\n"
      "The exit status is the remote exit code modulo 256, or 255 when the connection, the\n"
      "authentication, the protocol or the policy failed (with one line on stderr that says why).\n"
      "With --hosts, each output line starts with its host, and a summary follows; the exit status\n"
      "is 0 when every command exited 0, 1 when some did not, 255 when a host failed.\n"
      "See castellan-run(1)."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      cli_fail (error->message);
      return CLI_EXIT_FAILURE;
    }

  if (a.version)
    {
      printf ("castellan-run %s\n", PACKAGE_VERSION);
      return 0;
    }

  /* A relative --ca-file means the current directory, as on any command
   * line; it is made absolute now, while that is what it means. */
  if (a.ca_file != NULL && !g_path_is_absolute (a.ca_file))
    {
      char *absolute = g_canonicalize_filename (a.ca_file, NULL);

      g_free (a.ca_file);
      a.ca_file = absolute;
    }

  if (a.port < 0 || a.port > G_MAXUINT16)
    {
      cli_fail (_("--port takes a number from 1 to 65535"));
      return CLI_EXIT_FAILURE;
    }
  if (a.codepage > 0)
    run.shell.codepage = (guint) a.codepage;
  run.shell.no_profile = a.no_profile;
  /* stdin goes to a single host's command; --hosts sends none */
  run.shell.input_first = a.hosts == NULL;
  run.report_path = a.report;
  run.verbose = a.verbose;
  if (a.throttle > 0)
    run.throttle = (guint) a.throttle;

  /* HOST (unless --hosts), then "--" if the parser left it, then COMMAND. */
  first_command = a.hosts ? 1 : 2;
  if (!a.hosts && argc < 2)
    {
      cli_fail (_("no host given; see castellan-run --help"));
      return CLI_EXIT_FAILURE;
    }
  if (argc > first_command && g_str_equal (argv[first_command], "--"))
    first_command++;

  if (a.delegate_always)
    fprintf (stderr, "castellan-run: %s\n",
             _("warning: --delegate-always hands your forwardable ticket-granting ticket to the host even where the KDC does not trust it for delegation (ok-as-delegate): whoever controls the host can act as you anywhere in the realm until the ticket expires"));

  placeholder = castellan_endpoint_parse ("localhost", a.https, NULL);
  template = castellan_connect_options_new (placeholder);
  if (!build_options (&a, template, &error))
    {
      cli_fail (error->message);
      return CLI_EXIT_FAILURE;
    }

  if (a.hosts)
    {
      g_auto(GStrv) hosts = g_strsplit (a.hosts, ",", -1);

      for (guint i = 0; hosts[i] != NULL; i++)
        {
          char *host = g_strstrip (hosts[i]);
          CastellanConnectOptions *o;

          if (*host == '\0')
            continue;
          o = options_for (&a, template, host, &error);
          if (o == NULL)
            {
              cli_fail (error->message);
              return CLI_EXIT_FAILURE;
            }
          g_ptr_array_add (targets, o);
        }
    }
  else
    {
      CastellanConnectOptions *o = options_for (&a, template, argv[1], &error);

      if (o == NULL)
        {
          cli_fail (error->message);
          return CLI_EXIT_FAILURE;
        }
      g_ptr_array_add (targets, o);
    }
  if (targets->len == 0)
    {
      cli_fail (_("--hosts names no host"));
      return CLI_EXIT_FAILURE;
    }

  if (a.probe)
    {
      int status = 0;

      for (guint i = 0; i < targets->len; i++)
        {
          int one = cli_run_probe (g_ptr_array_index (targets, i));

          status = MAX (status, one);
        }
      return status;
    }

  if (a.script_file != NULL)
    {
      /* Read now: a file that cannot be run is said before any host is
       * asked for anything. */
      script = cli_read_script_file (a.script_file, &error);
      if (script == NULL)
        {
          cli_fail (error->message);
          return CLI_EXIT_FAILURE;
        }
      a.powershell = TRUE;
      run.script = script;
    }
  else if (argc <= first_command)
    {
      cli_fail (_("no command given: castellan-run HOST -- COMMAND [ARG…]"));
      return CLI_EXIT_FAILURE;
    }
  run.command = argv + MIN (first_command, argc);

  if (a.configuration != NULL && !a.powershell)
    {
      cli_fail (_("--configuration names a PowerShell endpoint: use it with --powershell"));
      return CLI_EXIT_FAILURE;
    }
  if (a.powershell)
    {
      run.powershell = TRUE;
      run.configuration = a.configuration;
      if (a.hosts)
        return cli_run_powershell_many (targets, &run);
      return cli_run_powershell (g_ptr_array_index (targets, 0), &run);
    }
  if (a.hosts)
    return cli_run_many (targets, &run);
  return cli_run_single (g_ptr_array_index (targets, 0), &run);
}
