/* SPDX-License-Identifier: GPL-3.0-or-later */
/* For test_core_load.py: N sequential connect / run / close cycles in one
 * process, with a password, against the lab peer; then a search of the
 * process's own memory for that password.
 *
 *   core-cycles N URL USER PASSWORD-FILE TRUSTED-HOSTS
 *
 * Prints, one per line: "cycle I fds F rss KB" every 10 cycles, then
 * "password-copies C" (0 when every copy was wiped). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "castellan-oneshot.h"

#define MASK 0x5a

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

/* Counts the places in readable memory holding the password, which is
 * known here only masked, so that the search itself adds no copy. */
static guint
count_copies (const guint8 *masked,
              gsize         length)
{
  g_autofree char *maps = NULL;
  g_auto(GStrv) lines = NULL;
  int mem = open ("/proc/self/mem", O_RDONLY | O_CLOEXEC);
  guint copies = 0;
  guint8 *buffer = g_malloc (1 << 20);

  g_file_get_contents ("/proc/self/maps", &maps, NULL, NULL);
  lines = g_strsplit (maps, "\n", -1);
  for (guint i = 0; lines[i] != NULL && lines[i][0] != '\0'; i++)
    {
      guint64 start, end;
      char perms[5] = "";

      /* Not the sanitizers' shadow memory (terabytes, never the heap). */
      if (sscanf (lines[i], "%" G_GINT64_MODIFIER "x-%" G_GINT64_MODIFIER "x %4s", &start, &end, perms) != 3 ||
          perms[0] != 'r' || strstr (lines[i], "[vvar]") != NULL || end - start > ((guint64) 1 << 32))
        continue;
      for (guint64 at = start; at < end; at += (1 << 20) - length)
        {
          gsize want = MIN ((guint64) (1 << 20), end - at);
          ssize_t got = pread (mem, buffer, want, (off_t) at);

          if (got <= 0)
            break;
          for (ssize_t k = 0; k + (ssize_t) length <= got; k++)
            {
              gsize j = 0;

              while (j < length && (buffer[k + j] ^ MASK) == masked[j])
                j++;
              if (j == length)
                copies++;
            }
          if ((gsize) got < want || at + want >= end)
            break;
        }
    }
  close (mem);
  g_free (buffer);
  return copies;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(CastellanEndpoint) endpoint = NULL;
  g_autoptr(CastellanConnectOptions) options = NULL;
  g_autofree guint8 *masked = NULL;
  char *password = NULL;
  gsize length = 0;
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
  masked = g_malloc (length);
  for (gsize i = 0; i < length; i++)
    masked[i] = (guint8) password[i] ^ MASK;
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
  printf ("password-copies %u\n", count_copies (masked, length));
  return 0;
}
