/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The Castellan side of ./dev bench's PowerShell round trip, on the real
 * core:
 *   castellan-psrp-bench roundtrip N URL [USER PASSWORD-FILE [TRUSTED]]
 * opens one runspace pool on the host's Microsoft.PowerShell endpoint and
 * runs the pipeline `$null` in it N times, one after the other, each to
 * its last state (Completed). The pool's opening and closing are not in
 * the measured loop.
 * Prints one JSON line, as castellan-bench does: loop_cpu_s is this
 * process's CPU over the loop alone, run_s its wall time. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench-measure.h"
#include "castellan-connect-options.h"
#include "castellan-psrp-session.h"

typedef struct
{
  GMainLoop *loop;
  GError *error;
  gboolean ok;
  CastellanPsrpSession *session;
  CastellanPsrpPipelineSpec *spec;
  guint64 left;          /* pipelines still to run after this one */
  guint64 completed;
  guint64 events;
} Wait;

static void
opened (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Wait *w = user_data;

  if (CASTELLAN_IS_CONNECTION (source))
    w->ok = castellan_connection_open_finish (CASTELLAN_CONNECTION (source), result, &w->error);
  else
    w->ok = castellan_psrp_session_open_finish (CASTELLAN_PSRP_SESSION (source), result, &w->error);
  g_main_loop_quit (w->loop);
}

static void
on_event (CastellanPsrpSession *session,
          CastellanPsrpEvent   *event,
          gpointer              user_data)
{
  Wait *w = user_data;

  w->events++;
  castellan_psrp_event_free (event);
}

static void
ran (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Wait *w = user_data;
  CastellanPsrpInvocationState state;

  state = castellan_psrp_session_run_finish (CASTELLAN_PSRP_SESSION (source), result, NULL, &w->error);
  w->ok = w->error == NULL;
  if (w->ok && state == CASTELLAN_PSRP_PIPELINE_COMPLETED)
    w->completed++;
  /* The next pipeline starts from here, as in a program that runs a
   * list of them, without a turn of the main loop in between. */
  if (w->ok && w->left > 0)
    {
      w->left--;
      castellan_psrp_session_run_async (w->session, w->spec, on_event, w, NULL, ran, w);
      return;
    }
  g_main_loop_quit (w->loop);
}

static void
closed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Wait *w = user_data;

  w->ok = castellan_psrp_session_close_finish (CASTELLAN_PSRP_SESSION (source), result, &w->error);
  g_main_loop_quit (w->loop);
}

static void
check (Wait *w)
{
  g_main_loop_run (w->loop);
  if (!w->ok)
    {
      fprintf (stderr, "castellan-psrp-bench: %s\n", w->error ? w->error->message : "failed");
      exit (1);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(CastellanEndpoint) endpoint = NULL;
  g_autoptr(CastellanConnectOptions) options = NULL;
  g_autoptr(CastellanConnection) connection = NULL;
  g_autoptr(CastellanPsrpSession) session = NULL;
  g_autoptr(CastellanPsrpPipelineSpec) spec = castellan_psrp_pipeline_spec_new ();
  Wait w = { loop, NULL, FALSE, NULL, NULL, 0, 0, 0 };
  /* castellan-run's console when stdout is not a terminal. */
  CastellanPsrpHostDefaults host = { 7, 0, 120, 9999, 120, 50, "castellan-psrp-bench" };
  guint64 n;
  gint64 t0, t1;
  double cpu0, cpu1;

  if (argc < 4 || !g_str_equal (argv[1], "roundtrip"))
    {
      fprintf (stderr, "usage: castellan-psrp-bench roundtrip N URL [USER PASSWORD-FILE [TRUSTED]]\n");
      return 2;
    }
  /* As castellan-run does (see there). */
  mallopt (M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  mallopt (M_TRIM_THRESHOLD, 64 * 1024 * 1024);
  n = MAX (g_ascii_strtoull (argv[2], NULL, 10), 1);
  endpoint = castellan_endpoint_parse (argv[3], FALSE, NULL);
  if (endpoint == NULL)
    {
      fprintf (stderr, "castellan-psrp-bench: %s is not a URL\n", argv[3]);
      return 2;
    }
  options = castellan_connect_options_new (endpoint);
  if (argc >= 6)
    {
      g_autofree char *pw = NULL;

      if (!g_file_get_contents (argv[5], &pw, NULL, NULL))
        {
          fprintf (stderr, "castellan-psrp-bench: %s is not readable\n", argv[5]);
          return 2;
        }
      options->user = g_strdup (argv[4]);
      castellan_connect_options_set_password (options, g_strchomp (pw));
    }
  if (argc >= 7)
    castellan_connect_options_set_trusted_hosts (options, argv[6]);

  connection = castellan_connection_new (options);
  castellan_connection_open_async (connection, NULL, opened, &w);
  check (&w);
  session = castellan_psrp_session_new (connection, NULL, &host);
  castellan_psrp_session_open_async (session, NULL, opened, &w);
  check (&w);

  castellan_psrp_pipeline_spec_add (spec, castellan_psrp_command_new ("$null", TRUE));
  spec->no_input = TRUE;
  spec->host = castellan_psrp_session_get_host (session);
  w.session = session;
  w.spec = spec;
  w.left = n - 1;
  t0 = g_get_monotonic_time ();
  cpu0 = bench_cpu_seconds ();
  castellan_psrp_session_run_async (session, spec, on_event, &w, NULL, ran, &w);
  check (&w);
  cpu1 = bench_cpu_seconds ();
  t1 = g_get_monotonic_time ();
  castellan_psrp_session_close_async (session, NULL, closed, &w);
  check (&w);

  printf ("{\"mode\":\"roundtrip\",\"n\":%" G_GUINT64_FORMAT ",\"bytes\":0,\"exact\":%s"
          ",\"completed\":%" G_GUINT64_FORMAT ",\"events\":%" G_GUINT64_FORMAT
          ",\"run_s\":%.6f,\"loop_cpu_s\":%.6f,\"peak_rss_kib\":%" G_GUINT64_FORMAT
          ",\"connections\":%u,\"encryption\":\"%s\",\"powershell_version\":\"%s\"}\n",
          n, w.completed == n ? "true" : "false", w.completed, w.events, (t1 - t0) / 1e6,
          cpu1 - cpu0, bench_peak_rss_kib (), castellan_connection_get_auth_count (connection),
          castellan_connection_get_verdict (connection)->encryption,
          castellan_psrp_session_get_powershell_version (session));
  return 0;
}
