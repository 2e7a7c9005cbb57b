/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>

#include "castellan-identify.h"
#include "cli-common.h"

typedef struct
{
  GMainLoop *loop;
  CastellanIdentity *identity;
  GError *error;
} ProbeState;

static void
probe_done (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  ProbeState *state = user_data;

  state->identity = castellan_identify_finish (result, &state->error);
  g_main_loop_quit (state->loop);
}

/* Identify without credentials: is the host there, what does it run, and
 * which schemes does it offer? */
int
cli_run_probe (const CastellanConnectOptions *options)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autofree char *url = castellan_endpoint_to_url (options->endpoint);
  g_autofree char *schemes = NULL;
  ProbeState state = { loop, NULL, NULL };

  castellan_identify_async (options->endpoint, options->tls_database, NULL, probe_done, &state);
  g_main_loop_run (loop);

  if (state.identity == NULL)
    {
      cli_fail (state.error->message);
      g_clear_error (&state.error);
      return CLI_EXIT_FAILURE;
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
