/* SPDX-License-Identifier: GPL-3.0-or-later */
/* For test_core_load.py: N sequential connect / run / close cycles in one
 * process, with a password, against the lab peer; then a search of the
 * process's own memory for that password.
 *
 *   core-cycles N URL USER PASSWORD-FILE TRUSTED-HOSTS
 *
 * Prints, one per line: "cycle I fds F rss KB" every 10 cycles, then, with
 * everything released, "released", and waits for its standard input to
 * close: meanwhile the test searches its memory for the password. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "castellan-oneshot.h"

typedef struct
{
  GMainLoop *loop;
  GAsyncResult *result;
} Wait;

static void
done (GObject      *source,
      GAsyncResult *result,
      gpointer      user_data)
{
  Wait *w = user_data;

  w->result = g_object_ref (result);
  g_main_loop_quit (w->loop);
}

static void
discard (CastellanStream stream,
         const guint8   *data,
         gsize           length,
         gpointer        user_data)
{
}

static guint
count_fds (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  guint n = 0;

  while (dir != NULL && g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

static guint64
rss_kb (void)
{
  g_autofree char *status = NULL;
  const char *line;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return 0;
  line = strstr (status, "VmRSS:");
  return line ? g_ascii_strtoull (line + 6, NULL, 10) : 0;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(CastellanEndpoint) endpoint = NULL;
  g_autoptr(CastellanConnectOptions) options = NULL;
  char *password = NULL;
  gsize length = 0;
  char drain[64];
  guint cycles;

  if (argc != 6)
    {
      fprintf (stderr, "usage: core-cycles N URL USER PASSWORD-FILE TRUSTED-HOSTS\n");
      return 2;
    }
  cycles = (guint) g_ascii_strtoull (argv[1], NULL, 10);
  endpoint = castellan_endpoint_parse (argv[2], FALSE, NULL);
  options = castellan_connect_options_new (endpoint);
  options->user = g_strdup (argv[3]);
  castellan_connect_options_set_trusted_hosts (options, argv[5]);
  if (!g_file_get_contents (argv[4], &password, &length, NULL))
    return 2;
  g_strchomp (password);
  length = strlen (password);
  castellan_connect_options_set_password (options, password);
  explicit_bzero (password, length);
  g_free (password);

  for (guint i = 1; i <= cycles; i++)
    {
      const char *args[] = { "cycle", NULL };
      g_autoptr(CastellanOneshot) oneshot = castellan_oneshot_new (options, NULL, "echo", args);
      g_autoptr(GError) error = NULL;
      Wait w = { loop, NULL };
      int exit_code = -1;

      castellan_oneshot_set_handlers (oneshot, NULL, discard, NULL);
      castellan_oneshot_run_async (oneshot, NULL, done, &w);
      g_main_loop_run (loop);
      if (!castellan_oneshot_run_finish (oneshot, w.result, &exit_code, &error) || exit_code != 0)
        {
          fprintf (stderr, "cycle %u: %s\n", i, error ? error->message : "non-zero exit");
          g_clear_object (&w.result);
          return 1;
        }
      g_clear_object (&w.result);
      /* Let the closed connections' sources run out. */
      while (g_main_context_iteration (NULL, FALSE))
        ;
      if (i % 10 == 0)
        printf ("cycle %u fds %u rss %" G_GUINT64_FORMAT "\n", i, count_fds (), rss_kb ());
    }

  g_clear_pointer (&options, castellan_connect_options_free);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  printf ("released\n");
  fflush (stdout);
  while (fread (drain, 1, sizeof drain, stdin) > 0)
    ;
  return 0;
}
