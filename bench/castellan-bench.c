/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The Castellan side of ./dev bench, on the real core:
 *   castellan-bench commands N URL [USER PASSWORD-FILE [TRUSTED]]
 *   castellan-bench stream BYTES URL [USER PASSWORD-FILE [TRUSTED]]
 *   castellan-bench connect 1 URL [USER PASSWORD-FILE [TRUSTED]]
 * commands runs N short commands in one shell, stream one `lab-stream
 * BYTES` (checked byte for byte against the peer's pattern and written to
 * /dev/null), connect one short command in a new process. The short
 * command is `lab-echo hi` (BENCH_ECHO overrides `lab-echo`), which the lab
 * peer answers without starting a process.
 * Prints one JSON line: the harness measures CPU and memory from outside;
 * loop_cpu_s is this process's CPU over the measured loop alone, and
 * first_byte_mono the CLOCK_MONOTONIC time of the first output byte. */
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench-measure.h"
#include "bench-pattern.h"
#include "castellan-connect-options.h"
#include "castellan-shell.h"
#include "castellan-trust-database.h"

typedef struct
{
  GMainLoop *loop;
  GError *error;
  gboolean ok;
  int exit_code;
  guint64 bytes;
  gint64 first_byte_us;
  GBytes *pattern;      /* stream: what the bytes must be */
  gboolean exact;
  int sink;
  guint64 left;         /* commands still to run after this one */
  const char *echo;
} Wait;

static void
on_output (CastellanStream  stream,
           const guint8    *data,
           gsize            length,
           gpointer         user_data)
{
  Wait *w = user_data;

  if (w->first_byte_us == 0)
    w->first_byte_us = g_get_monotonic_time ();
  if (w->pattern != NULL)
    {
      guint64 offset = w->bytes;

      if (stream != CASTELLAN_STREAM_STDOUT || !bench_pattern_check (w->pattern, &offset, data, length))
        w->exact = FALSE;
      while (length > 0)
        {
          gssize n = write (w->sink, data, length);

          if (n <= 0)
            {
              w->exact = FALSE;
              break;
            }
          w->bytes += n;
          data += n;
          length -= n;
        }
      return;
    }
  w->bytes += length;
}

static void
opened (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Wait *w = user_data;

  w->ok = castellan_connection_open_finish (CASTELLAN_CONNECTION (source), result, &w->error);
  g_main_loop_quit (w->loop);
}

static void
created (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Wait *w = user_data;

  w->ok = castellan_shell_create_finish (CASTELLAN_SHELL (source), result, &w->error);
  g_main_loop_quit (w->loop);
}

static void
ran (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Wait *w = user_data;

  w->ok = castellan_shell_run_finish (CASTELLAN_SHELL (source), result, &w->exit_code, &w->error);
  /* The next command starts from here, as in a program that runs a list
   * of commands, without a turn of the main loop in between. */
  if (w->ok && w->left > 0)
    {
      const char *args[] = { "hi", NULL };

      w->left--;
      castellan_shell_run_async (CASTELLAN_SHELL (source), w->echo, args, NULL, on_output, w, NULL, ran, w);
      return;
    }
  g_main_loop_quit (w->loop);
}

static void
closed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Wait *w = user_data;

  w->ok = castellan_shell_close_finish (CASTELLAN_SHELL (source), result, &w->error);
  g_main_loop_quit (w->loop);
}

static void
check (Wait *w)
{
  g_main_loop_run (w->loop);
  if (!w->ok)
    {
      fprintf (stderr, "castellan-bench: %s\n", w->error->message);
      exit (1);
    }
}

int
main (int   argc,
      char *argv[])
{
  gint64 start = g_get_monotonic_time ();
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(CastellanEndpoint) endpoint = NULL;
  g_autoptr(CastellanConnectOptions) options = NULL;
  g_autoptr(CastellanConnection) connection = NULL;
  g_autoptr(CastellanShell) shell = NULL;
  Wait w = { loop, NULL, FALSE, 0, 0, 0, NULL, TRUE, -1, 0, NULL };
  const char *echo = g_getenv ("BENCH_ECHO") ? g_getenv ("BENCH_ECHO") : "lab-echo";
  const char *mode;
  guint64 n;
  gint64 t0, t1;
  double cpu0, cpu1;

  if (argc < 4)
    {
      fprintf (stderr, "usage: castellan-bench commands|stream|connect N URL [USER PASSWORD-FILE [TRUSTED]]\n");
      return 2;
    }
  /* As castellan-run does (see there). */
  mallopt (M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  mallopt (M_TRIM_THRESHOLD, 64 * 1024 * 1024);
  mode = argv[1];
  n = g_ascii_strtoull (argv[2], NULL, 10);
  endpoint = castellan_endpoint_parse (argv[3], FALSE, NULL);
  options = castellan_connect_options_new (endpoint);
  if (argc >= 6)
    {
      g_autofree char *pw = NULL;

      g_file_get_contents (argv[5], &pw, NULL, NULL);
      options->user = g_strdup (argv[4]);
      castellan_connect_options_set_password (options, g_strchomp (pw));
    }
  if (argc >= 7)
    castellan_connect_options_set_trusted_hosts (options, argv[6]);
  if (endpoint->https && g_getenv ("LAB_CA_FILE"))
    options->tls_database = castellan_trust_database_new (g_getenv ("LAB_CA_FILE"), NULL);
  if (argc >= 6 && endpoint->https)
    options->auth = CASTELLAN_AUTH_REQUEST_BASIC;

  connection = castellan_connection_new (options);
  castellan_connection_open_async (connection, NULL, opened, &w);
  check (&w);
  shell = castellan_shell_new (connection, NULL);
  castellan_shell_create_async (shell, TRUE, NULL, created, &w);
  check (&w);

  t0 = g_get_monotonic_time ();
  cpu0 = bench_cpu_seconds ();
  if (g_str_equal (mode, "commands") || g_str_equal (mode, "connect"))
    {
      const char *args[] = { "hi", NULL };

      if (g_str_equal (mode, "connect"))
        n = 1;
      w.left = n - 1;
      w.echo = echo;
      castellan_shell_run_async (shell, echo, args, NULL, on_output, &w, NULL, ran, &w);
      check (&w);
    }
  else
    {
      g_autofree char *cmd = g_strdup_printf ("lab-stream %" G_GUINT64_FORMAT, n);

      w.pattern = bench_pattern_block ();
      w.sink = open ("/dev/null", O_WRONLY | O_CLOEXEC);
      castellan_shell_run_async (shell, cmd, NULL, NULL, on_output, &w, NULL, ran, &w);
      check (&w);
      w.exact = w.exact && w.bytes == n;
      g_clear_pointer (&w.pattern, g_bytes_unref);
      close (w.sink);
    }
  cpu1 = bench_cpu_seconds ();
  t1 = g_get_monotonic_time ();
  castellan_shell_close_async (shell, NULL, closed, &w);
  check (&w);

  printf ("{\"mode\":\"%s\",\"n\":%" G_GUINT64_FORMAT ",\"bytes\":%" G_GUINT64_FORMAT
          ",\"exact\":%s,\"run_s\":%.6f,\"loop_cpu_s\":%.6f,\"first_byte_s\":%.6f"
          ",\"first_byte_mono\":%.6f,\"peak_rss_kib\":%" G_GUINT64_FORMAT
          ",\"connections\":%u,\"encryption\":\"%s\"}\n",
          mode, n, w.bytes, w.exact ? "true" : "false", (t1 - t0) / 1e6, cpu1 - cpu0,
          (w.first_byte_us - start) / 1e6, w.first_byte_us / 1e6, bench_peak_rss_kib (),
          castellan_connection_get_auth_count (connection),
          castellan_connection_get_verdict (connection)->encryption);
  return 0;
}
