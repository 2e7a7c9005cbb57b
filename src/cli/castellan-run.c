/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>
#include <stdio.h>

#include "castellan-endpoint.h"
#include "castellan-error.h"
#include "castellan-identify.h"

#define EXIT_CONNECTION_FAILURE 255

typedef struct
{
  GMainLoop *loop;
  CastellanIdentity *identity;
  GError *error;
} ProbeState;

static void
fail (const char *message)
{
  fprintf (stderr, "castellan-run: %s\n", message);
}

static void
probe_done (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  ProbeState *state = user_data;

  state->identity = castellan_identify_finish (result, &state->error);
  g_main_loop_quit (state->loop);
}

static int
run_probe (const CastellanEndpoint *endpoint,
           const char              *ca_file)
{
  g_autoptr(GTlsDatabase) database = NULL;
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GError) error = NULL;
  g_autofree char *url = castellan_endpoint_to_url (endpoint);
  g_autofree char *schemes = NULL;
  ProbeState state = { loop, NULL, NULL };

  if (ca_file != NULL)
    {
      database = g_tls_file_database_new (ca_file, &error);
      if (database == NULL)
        {
          g_autofree char *msg = g_strdup_printf (_("cannot read the CA file %s: %s"),
                                                  ca_file, error->message);
          fail (msg);
          return EXIT_CONNECTION_FAILURE;
        }
    }

  castellan_identify_async (endpoint, database, NULL, probe_done, &state);
  g_main_loop_run (loop);

  if (state.identity == NULL)
    {
      fail (state.error->message);
      g_clear_error (&state.error);
      return EXIT_CONNECTION_FAILURE;
    }

  schemes = g_strjoinv (", ", state.identity->auth_schemes);
  printf ("%-18s %s\n", _("Endpoint:"), url);
  printf ("%-18s %s\n", _("Protocol:"), state.identity->protocol_version ?: "?");
  printf ("%-18s %s\n", _("Vendor:"), state.identity->product_vendor ?: "?");
  printf ("%-18s %s\n", _("Version:"), state.identity->product_version ?: "?");
  printf ("%-18s %s\n", _("Authentication:"), *schemes ? schemes : _("none offered"));
  printf ("%-18s %s\n", _("Transport:"),
          state.identity->tls_protocol ?: _("HTTP (messages are sealed by the authentication)"));
  castellan_identity_free (state.identity);
  return 0;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(CastellanEndpoint) endpoint = NULL;
  g_autofree char *ca_file = NULL;
  gboolean https = FALSE;
  gboolean probe = FALSE;
  gboolean version = FALSE;
  int port = 0;
  GOptionEntry entries[] = {
    { "port", 0, 0, G_OPTION_ARG_INT, &port, N_("TCP port (default 5985, or 5986 with --https)"), N_("N") },
    { "https", 0, 0, G_OPTION_ARG_NONE, &https, N_("Use HTTPS"), NULL },
    { "ca-file", 0, 0, G_OPTION_ARG_FILENAME, &ca_file, N_("PEM trust anchors added for HTTPS"), N_("FILE") },
    { "probe", 0, 0, G_OPTION_ARG_NONE, &probe, N_("Ask the host what it offers (Identify), without credentials"), NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, N_("Print the version"), NULL },
    { NULL }
  };

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  context = g_option_context_new (_("HOST -- COMMAND [ARG…]"));
  g_option_context_set_summary (context, _("Run a command on a Windows host over WinRM."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fail (error->message);
      return EXIT_CONNECTION_FAILURE;
    }

  if (version)
    {
      printf ("castellan-run %s\n", PACKAGE_VERSION);
      return 0;
    }

  if (argc < 2)
    {
      fail (_("no host given; see castellan-run --help"));
      return EXIT_CONNECTION_FAILURE;
    }

  endpoint = castellan_endpoint_parse (argv[1], https, &error);
  if (endpoint == NULL)
    {
      fail (error->message);
      return EXIT_CONNECTION_FAILURE;
    }
  if (port < 0 || port > G_MAXUINT16)
    {
      fail (_("--port takes a number from 1 to 65535"));
      return EXIT_CONNECTION_FAILURE;
    }
  if (port > 0)
    endpoint->port = (guint16) port;

  if (probe)
    return run_probe (endpoint, ca_file);

  fail (_("only --probe is available in this version"));
  return EXIT_CONNECTION_FAILURE;
}
