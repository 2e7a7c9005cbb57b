/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "castellan-fanout.h"
#include "cli-common.h"

/* Several hosts: every output line prefixed with its host, then a summary.
 * Exit status 0 when every command exited 0, 1 when some did not, 255
 * when some host could not be reached or refused us. */
typedef struct
{
  char *host;
  GString *partial[2];
  int exit_code;
  GError *error;
  CastellanVerdict *verdict;
} HostResult;

typedef struct
{
  GMainLoop *loop;
  HostResult *hosts;
} Many;

static void
write_line (const char  *host,
            int          fd,
            const char  *line,
            gsize        length)
{
  g_autoptr(GString) out = g_string_new (host);

  g_string_append (out, ": ");
  g_string_append_len (out, line, length);
  g_string_append_c (out, '\n');
  cli_write_all (fd, (const guint8 *) out->str, out->len);
}

static void
on_output (guint            index,
           CastellanStream  stream,
           const guint8    *data,
           gsize            length,
           gpointer         user_data)
{
  Many *m = user_data;
  HostResult *h = &m->hosts[index];
  GString *buf = h->partial[stream];
  int fd = stream == CASTELLAN_STREAM_STDOUT ? STDOUT_FILENO : STDERR_FILENO;
  const char *nl;
  gsize start = 0;

  g_string_append_len (buf, (const char *) data, length);
  while ((nl = memchr (buf->str + start, '\n', buf->len - start)) != NULL)
    {
      gsize end = nl - buf->str;
      gsize len = end - start;

      if (len > 0 && buf->str[end - 1] == '\r')
        len--;
      write_line (h->host, fd, buf->str + start, len);
      start = end + 1;
    }
  g_string_erase (buf, 0, start);
}

static void
on_host_done (guint             index,
              CastellanOneshot *oneshot,
              int               exit_code,
              const GError     *error,
              gpointer          user_data)
{
  Many *m = user_data;
  HostResult *h = &m->hosts[index];
  const CastellanVerdict *verdict = castellan_oneshot_get_verdict (oneshot);

  for (int s = 0; s < 2; s++)
    if (h->partial[s]->len > 0)
      {
        write_line (h->host, s == 0 ? STDOUT_FILENO : STDERR_FILENO,
                    h->partial[s]->str, h->partial[s]->len);
        g_string_truncate (h->partial[s], 0);
      }
  h->exit_code = exit_code;
  if (error != NULL)
    {
      g_autofree char *msg = g_strdup_printf ("%s: %s", h->host, error->message);

      h->error = g_error_copy (error);
      cli_fail (msg);
    }
  if (verdict != NULL)
    {
      h->verdict = castellan_verdict_copy (verdict);
      cli_print_delegation_note (verdict);
    }
}

static void
fanout_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Many *m = user_data;

  castellan_fanout_run_finish (result, NULL);
  g_main_loop_quit (m->loop);
}

int
cli_run_many (GPtrArray    *options,
              const CliRun *run)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GPtrArray) oneshots = g_ptr_array_new_with_free_func ((GDestroyNotify) castellan_oneshot_free);
  g_autoptr(GString) report = g_string_new ("[");
  Many m = { loop, g_new0 (HostResult, options->len) };
  guint failed = 0, nonzero = 0;
  int status;

  for (guint i = 0; i < options->len; i++)
    {
      const CastellanConnectOptions *o = g_ptr_array_index (options, i);

      m.hosts[i].host = g_strdup (o->endpoint->host);
      m.hosts[i].partial[0] = g_string_new (NULL);
      m.hosts[i].partial[1] = g_string_new (NULL);
      g_ptr_array_add (oneshots, castellan_oneshot_new (o, &run->shell, run->command[0],
                                                        (const char *const *) run->command + 1));
    }

  castellan_fanout_run_async (oneshots, run->throttle, on_output, on_host_done, &m, NULL,
                              fanout_done, &m);
  g_main_loop_run (loop);

  printf ("\n%s\n", _("Summary:"));
  for (guint i = 0; i < options->len; i++)
    {
      HostResult *h = &m.hosts[i];
      g_autofree char *json = NULL;

      if (h->error != NULL)
        {
          failed++;
          printf ("  %-24s %-8s %s\n", h->host, _("failed"), h->error->message);
          json = cli_error_json (h->host, h->error);
        }
      else
        {
          CastellanLevel level = castellan_verdict_get_level (h->verdict);

          if (h->exit_code != 0)
            nonzero++;
          printf ("  %-24s exit %-3d %s (%s, %s, %s)\n", h->host, h->exit_code,
                  castellan_verdict_level_title (level),
                  castellan_server_identity_to_string (h->verdict->identity),
                  castellan_auth_method_to_string (h->verdict->auth), h->verdict->encryption);
          json = castellan_verdict_to_json (h->verdict, h->exit_code);
        }
      g_strchomp (json);
      g_string_append_printf (report, "%s%s", i ? "," : "", json);

      g_string_free (h->partial[0], TRUE);
      g_string_free (h->partial[1], TRUE);
      g_clear_error (&h->error);
      castellan_verdict_free (h->verdict);
      g_free (h->host);
    }
  printf (_("  %u hosts: %u exited 0, %u exited non-zero, %u failed\n"), options->len,
          options->len - nonzero - failed, nonzero, failed);
  fflush (stdout);
  g_free (m.hosts);
  g_string_append (report, "]\n");

  status = failed ? CLI_EXIT_FAILURE : (nonzero ? 1 : 0);
  if (run->report_path != NULL)
    {
      g_autoptr(GError) error = NULL;

      if (!cli_write_report (run->report_path, report->str, &error))
        {
          cli_fail (error->message);
          status = CLI_EXIT_FAILURE;
        }
    }
  return status;
}
