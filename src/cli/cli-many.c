/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib-unix.h>
#include <glib/gi18n.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "castellan-fanout.h"
#include "cli-common.h"
#include "cli-powershell.h"

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
  char *report;          /* its JSON, when not the verdict's alone */
} HostResult;

typedef struct
{
  GMainLoop *loop;
  HostResult *hosts;
  /* --powershell */
  const CliRun *run;
  GPtrArray *options;
  CliPsJob **jobs;
  struct _PsSlot *slots;
  guint next;
  guint running;
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

/* Output of one host, in pieces: written a whole line at a time. */
static void
host_output (HostResult   *h,
             int           fd,
             const guint8 *data,
             gsize         length)
{
  GString *buf = h->partial[fd == STDERR_FILENO];
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
flush_partial (HostResult *h)
{
  for (int s = 0; s < 2; s++)
    if (h->partial[s]->len > 0)
      {
        write_line (h->host, s == 0 ? STDOUT_FILENO : STDERR_FILENO,
                    h->partial[s]->str, h->partial[s]->len);
        g_string_truncate (h->partial[s], 0);
      }
}

static void
on_output (guint            index,
           CastellanStream  stream,
           const guint8    *data,
           gsize            length,
           gpointer         user_data)
{
  Many *m = user_data;

  host_output (&m->hosts[index], stream == CASTELLAN_STREAM_STDOUT ? STDOUT_FILENO : STDERR_FILENO,
               data, length);
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

  flush_partial (h);
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

static void
hosts_init (Many      *m,
            GPtrArray *options)
{
  m->hosts = g_new0 (HostResult, options->len);
  for (guint i = 0; i < options->len; i++)
    {
      const CastellanConnectOptions *o = g_ptr_array_index (options, i);

      m->hosts[i].host = g_strdup (o->endpoint->host);
      m->hosts[i].partial[0] = g_string_new (NULL);
      m->hosts[i].partial[1] = g_string_new (NULL);
    }
}

/* The summary, the report, and the exit status: 0 when every host's
 * command exited 0, 1 when some did not, 255 when a host failed. */
static int
summarize (Many         *m,
           guint         n,
           const CliRun *run)
{
  g_autoptr(GString) report = g_string_new ("[");
  guint failed = 0, nonzero = 0;
  int status;

  printf ("\n%s\n", _("Summary:"));
  for (guint i = 0; i < n; i++)
    {
      HostResult *h = &m->hosts[i];
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
      if (h->report != NULL)
        {
          g_free (json);
          json = g_strdup (h->report);
        }
      g_strchomp (json);
      g_string_append_printf (report, "%s%s", i ? "," : "", json);

      g_string_free (h->partial[0], TRUE);
      g_string_free (h->partial[1], TRUE);
      g_clear_error (&h->error);
      g_clear_pointer (&h->verdict, castellan_verdict_free);
      g_free (h->report);
      g_free (h->host);
    }
  printf (_("  %u hosts: %u exited 0, %u exited non-zero, %u failed\n"), n,
          n - nonzero - failed, nonzero, failed);
  fflush (stdout);
  g_clear_pointer (&m->hosts, g_free);
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

int
cli_run_many (GPtrArray    *options,
              const CliRun *run)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GPtrArray) oneshots = g_ptr_array_new_with_free_func ((GDestroyNotify) castellan_oneshot_free);
  Many m = { loop, NULL };

  hosts_init (&m, options);
  for (guint i = 0; i < options->len; i++)
    g_ptr_array_add (oneshots, castellan_oneshot_new (g_ptr_array_index (options, i), &run->shell,
                                                      run->command[0],
                                                      (const char *const *) run->command + 1));

  castellan_fanout_run_async (oneshots, run->throttle, on_output, on_host_done, &m, NULL,
                              fanout_done, &m);
  g_main_loop_run (loop);
  return summarize (&m, options->len, run);
}

/* ---- --powershell on several hosts ------------------------------------- */

typedef struct _PsSlot
{
  Many *many;
  guint index;
  CliRun run;            /* the job's: its text goes through ps_write() */
} PsSlot;

static void
ps_write (int         fd,
          const char *text,
          gsize       length,
          gpointer    user_data)
{
  PsSlot *slot = user_data;
  HostResult *h = &slot->many->hosts[slot->index];
  g_autoptr(GString) plain = g_string_new_len (text, length);

  cli_strip_escapes (plain);
  host_output (h, fd, (const guint8 *) plain->str, plain->len);
}

static void ps_start_next (Many *m);

static void
ps_done (CliPsJob *job,
         gpointer  user_data)
{
  struct _PsSlot *slot = user_data;
  Many *m = slot->many;
  HostResult *h = &m->hosts[slot->index];
  const CastellanVerdict *verdict = cli_ps_job_get_verdict (job);
  const GError *error = cli_ps_job_get_error (job);
  g_autofree char *failure = cli_ps_job_failure_text (job);

  if (failure != NULL)
    {
      host_output (h, STDERR_FILENO, (const guint8 *) failure, strlen (failure));
      host_output (h, STDERR_FILENO, (const guint8 *) "\n", 1);
    }
  flush_partial (h);
  h->exit_code = cli_ps_job_exit_status (job);
  if (error != NULL)
    {
      g_autofree char *msg = g_strdup_printf ("%s: %s", h->host, error->message);

      h->error = g_error_copy (error);
      cli_fail (msg);
    }
  else if (verdict != NULL)
    {
      h->verdict = castellan_verdict_copy (verdict);
      cli_print_delegation_note (verdict);
    }
  h->report = cli_ps_job_report (job);
  m->running--;
  ps_start_next (m);
  if (m->running == 0 && m->next == m->options->len)
    g_main_loop_quit (m->loop);
}

static void
ps_start_next (Many *m)
{
  while (m->next < m->options->len && m->running < m->run->throttle)
    {
      guint i = m->next++;
      PsSlot *slot = &m->slots[i];

      slot->many = m;
      slot->index = i;
      slot->run = *m->run;
      slot->run.write = ps_write;
      slot->run.write_data = slot;
      slot->run.progress = FALSE;
      m->running++;
      m->jobs[i] = cli_ps_job_new (g_ptr_array_index (m->options, i), &slot->run, FALSE, ps_done, slot);
      cli_ps_job_start (m->jobs[i]);
    }
}

static gboolean
ps_interrupt (gpointer user_data)
{
  Many *m = user_data;

  for (guint i = 0; i < m->next; i++)
    cli_ps_job_interrupt (m->jobs[i]);
  return G_SOURCE_CONTINUE;
}

int
cli_run_powershell_many (GPtrArray    *options,
                         const CliRun *run)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  Many m = { loop, NULL };
  guint sigint;
  int status;

  hosts_init (&m, options);
  m.run = run;
  m.options = options;
  m.jobs = g_new0 (CliPsJob *, options->len);
  m.slots = g_new0 (PsSlot, options->len);
  sigint = g_unix_signal_add (SIGINT, ps_interrupt, &m);
  ps_start_next (&m);
  g_main_loop_run (loop);
  g_source_remove (sigint);
  status = summarize (&m, options->len, run);
  for (guint i = 0; i < options->len; i++)
    cli_ps_job_free (m.jobs[i]);
  g_free (m.jobs);
  g_free (m.slots);
  return status;
}
