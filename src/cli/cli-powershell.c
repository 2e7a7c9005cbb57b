/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <gio/gunixinputstream.h>
#include <glib-unix.h>
#include <glib/gi18n.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "castellan-error.h"
#include "castellan-json.h"
#include "castellan-psrp-session.h"
#include "cli-powershell.h"
#include "cli-pshost.h"

/* Columns when stdout is not a terminal, as PowerShell's own default. */
#define DEFAULT_WIDTH 120

/* What runs, and so what its exit status means. */
typedef enum
{
  /* SCRIPT text; a failed last statement ($? false) reports itself */
  CLI_PS_SCRIPT,
  /* a command alone at a restricted endpoint: an error record fails it */
  CLI_PS_COMMAND,
  /* a script file, as pwsh -File runs one: only exit N or a
   * terminating error fails it */
  CLI_PS_FILE,
} CliPsKind;

struct _CliPsJob
{
  const CastellanConnectOptions *options;
  const CliRun *run;
  CliPsJobDone done;
  gpointer done_data;

  CastellanConnection *connection;
  CastellanPsrpSession *session;
  CastellanPsrpHostDefaults defaults;
  CliPsHost *host;
  CliTty *tty;
  GCancellable *cancellable;
  CastellanPsrpPipelineSpec *spec;
  GDataInputStream *input;
  GCancellable *input_cancellable;
  gboolean take_input;
  CliPsKind kind;

  guint interrupts;
  gboolean finished;
  CastellanPsrpInvocationState state;
  CastellanClixmlValue *record;
  GError *error;
};

static void
finish (CliPsJob *job,
        GError   *error)
{
  if (job->finished)
    {
      g_clear_error (&error);
      return;
    }
  job->finished = TRUE;
  if (error != NULL && job->error == NULL)
    job->error = error;
  else
    g_clear_error (&error);
  g_cancellable_cancel (job->input_cancellable);
  if (job->host != NULL)
    cli_pshost_finish (job->host);
  job->done (job, job->done_data);
}

static void
closed (GObject      *source,
        GAsyncResult *result,
        gpointer      user_data)
{
  CliPsJob *job = user_data;
  g_autoptr(GError) error = NULL;

  /* The pipeline's result stands; a pool that could not be deleted only
   * waits for the host's idle timeout. */
  if (!castellan_psrp_session_close_finish (CASTELLAN_PSRP_SESSION (source), result, &error))
    g_debug ("closing the pool: %s", error->message);
  finish (job, NULL);
}

/* The pool is deleted whatever happened, so that it does not count
 * against the user's quota until the host's idle timeout; @error, if
 * any, is what the job failed with. */
static void
close_then_finish (CliPsJob *job,
                   GError   *error)
{
  if (error != NULL && job->error == NULL)
    job->error = error;
  else
    g_clear_error (&error);
  castellan_psrp_session_close_async (job->session, NULL, closed, job);
}

static void
ran (GObject      *source,
     GAsyncResult *result,
     gpointer      user_data)
{
  CliPsJob *job = user_data;
  GError *error = NULL;

  job->state = castellan_psrp_session_run_finish (job->session, result, &job->record, &error);
  close_then_finish (job, error);
}

/* ---- input: one object per line of stdin ------------------------------- */

static void read_line (CliPsJob *job);
static void run_pipeline (CliPsJob *job);

/* A line of stdin, or NULL at its end; the line has no line break. */
static char *
line_finish (CliPsJob     *job,
             GAsyncResult *result,
             gboolean     *cancelled)
{
  g_autoptr(GError) error = NULL;
  char *line;
  gsize length = 0;

  line = g_data_input_stream_read_line_finish_utf8 (job->input, result, &length, &error);
  *cancelled = g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || job->finished;
  if (*cancelled)
    {
      g_free (line);
      return NULL;
    }
  /* Input that is not UTF-8 ends it, and says so. */
  if (line == NULL && error != NULL)
    {
      g_autofree char *message = g_strdup_printf (_("stdin was not read to its end: %s"), error->message);

      cli_fail (message);
    }
  if (line != NULL && length > 0 && line[length - 1] == '\r')
    line[length - 1] = '\0';
  return line;
}

static gboolean
send_line (CliPsJob *job,
           char     *line)
{
  g_autoptr(GError) error = NULL;

  if (line == NULL)
    {
      castellan_psrp_session_end_input (job->session, &error);
      return FALSE;
    }
  return castellan_psrp_session_send_input (job->session, castellan_clixml_value_new_string (line), &error);
}

static void
line_read (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  CliPsJob *job = user_data;
  gboolean cancelled;
  g_autofree char *line = line_finish (job, result, &cancelled);

  if (!cancelled && send_line (job, line))
    read_line (job);
}

static void
read_line (CliPsJob *job)
{
  g_data_input_stream_read_line_async (job->input, G_PRIORITY_DEFAULT, job->input_cancellable,
                                       line_read, job);
}

/* A command alone, or a script file, takes stdin as its pipeline input,
 * and runs once per object when there is any, else once with none (a
 * process block too): whether there is is known before it starts. */
static void
first_line_read (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  CliPsJob *job = user_data;
  gboolean cancelled;
  g_autofree char *line = line_finish (job, result, &cancelled);

  if (cancelled)
    return;
  job->spec->no_input = line == NULL;
  run_pipeline (job);
  if (line != NULL && send_line (job, line))
    read_line (job);
}

/* ---- the pipeline --------------------------------------------------------- */

/* The script as given, with the WORDs after it. */
static char *
script_text (const CliRun *run)
{
  return g_strjoinv (" ", run->command);
}

/* Appended to a script in a full-language endpoint: a last statement
 * that failed ($? false) makes the exit status 1, through the host, as
 * `exit` does. The line break ends a comment the script may end with. */
#define LAST_STATUS "\nif (-not $?) { $Host.SetShouldExit(1) }"

/* Words as arguments, in the form PowerShell's own client gives a command
 * line it has parsed. A word "-Name" goes as a parameter name with its
 * leading dash and no value; the host's parameter binder, which knows the
 * command, then takes the next word as its value or treats it as a
 * switch, and resolves aliases and abbreviations, exactly as for a
 * command typed there. "-Name:value" carries its value ("-Name: value"
 * too). Other words are positional values. */
static gboolean
is_parameter_word (const char *word)
{
  return word[0] == '-' && (g_ascii_isalpha (word[1]) || word[1] == '_' || word[1] == '?');
}

static void
add_words (CastellanPsrpCommand *command,
           char                **words)
{
  for (guint i = 0; words[i] != NULL; i++)
    {
      const char *word = words[i];
      const char *colon;

      if (!is_parameter_word (word))
        {
          castellan_psrp_command_add_argument (command, NULL, castellan_clixml_value_new_string (word));
          continue;
        }
      colon = strchr (word, ':');
      if (colon == NULL)
        {
          castellan_psrp_command_add_argument (command, word, castellan_clixml_value_new (CASTELLAN_CLIXML_NULL));
        }
      else
        {
          g_autofree char *name = g_strndup (word, colon + 1 - word);
          const char *value = colon + 1;

          if (*value == '\0' && words[i + 1] != NULL)
            value = words[++i];
          castellan_psrp_command_add_argument (command, name, castellan_clixml_value_new_string (value));
        }
    }
}

/* Characters of PowerShell's language: text with any of them is script. */
#define SCRIPT_CHARACTERS "$(){}[];|&@<>`\"',#=\n\r"

/* A restricted endpoint (NoLanguage, as JEA's) runs commands, not
 * script. A SCRIPT given as one word is one command when it is words
 * alone (a command, its parameters and values), split at white space.
 * Given as several words, as a shell splits a command line, each is kept
 * whole, so a quoted value with spaces stays one value; after the
 * command's name they are values, never code, as a script file's
 * arguments are. */
static CastellanPsrpCommand *
command_of_words (char **given)
{
  g_auto(GStrv) split = NULL;
  g_autoptr(GPtrArray) words = g_ptr_array_new ();
  CastellanPsrpCommand *command;

  if (given[0] == NULL)
    return NULL;
  if (given[1] != NULL)
    {
      if (*given[0] == '\0' || strpbrk (given[0], SCRIPT_CHARACTERS " \t") != NULL)
        return NULL;
      command = castellan_psrp_command_new (given[0], FALSE);
      add_words (command, given + 1);
      return command;
    }
  if (strpbrk (given[0], SCRIPT_CHARACTERS) != NULL)
    return NULL;
  split = g_strsplit_set (given[0], " \t", -1);
  for (guint i = 0; split[i] != NULL; i++)
    if (*split[i] != '\0')
      g_ptr_array_add (words, split[i]);
  if (words->len == 0)
    return NULL;
  g_ptr_array_add (words, NULL);
  command = castellan_psrp_command_new (g_ptr_array_index (words, 0), FALSE);
  add_words (command, (char **) words->pdata + 1);
  return command;
}

/* Big enough for any script a person writes, small enough to refuse a
 * file given by mistake. */
#define SCRIPT_FILE_MAX (16 * 1024 * 1024)

char *
cli_read_script_file (const char  *path,
                      GError     **error)
{
  g_autofree char *contents = NULL;
  g_autofree char *shown = g_filename_display_name (path);
  const char *text;
  gsize length;

  if (!g_file_get_contents (path, &contents, &length, error))
    return NULL;
  if (length > SCRIPT_FILE_MAX)
    {
      g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_FAILED,
                   _("The script file %s is larger than 16 MiB."), shown);
      return NULL;
    }
  if (length >= 2 && (((guchar) contents[0] == 0xff && (guchar) contents[1] == 0xfe) ||
                      ((guchar) contents[0] == 0xfe && (guchar) contents[1] == 0xff)))
    {
      const char *from = (guchar) contents[0] == 0xff ? "UTF-16LE" : "UTF-16BE";
      gsize written = 0;
      char *converted = g_convert (contents + 2, length - 2, "UTF-8", from, NULL, &written, NULL);

      /* Not UTF-16 after all, or with a NUL in it. */
      if (converted == NULL || strlen (converted) != written)
        {
          g_free (converted);
          g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_FAILED,
                       _("The script file %s has a UTF-16 byte order mark but is not UTF-16 text: save it again as UTF-8 or UTF-16."),
                       shown);
          return NULL;
        }
      return converted;
    }
  text = contents;
  if (length >= 3 && memcmp (contents, "\xef\xbb\xbf", 3) == 0)
    {
      text += 3;
      length -= 3;
    }
  if (!g_utf8_validate_len (text, length, NULL))
    {
      g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_FAILED,
                   _("The script file %s is not UTF-8 text: save it as UTF-8, or as UTF-16 with a byte order mark."),
                   shown);
      return NULL;
    }
  return g_strndup (text, length);
}

/* Another endpoint than PowerShell's own may well be a restricted one. */
static gboolean
restricted (const CliRun *run)
{
  return run->configuration != NULL &&
         g_strcmp0 (run->configuration, CASTELLAN_PSRP_DEFAULT_CONFIGURATION) != 0;
}

static void
opened (GObject      *source,
        GAsyncResult *result,
        gpointer      user_data)
{
  CliPsJob *job = user_data;
  g_autoptr(CastellanPsrpPipelineSpec) spec = castellan_psrp_pipeline_spec_new ();
  g_autofree char *script = NULL;
  CastellanPsrpCommand *command;
  GError *error = NULL;

  if (!castellan_psrp_session_open_finish (job->session, result, &error))
    {
      close_then_finish (job, error);
      return;
    }
  if (job->run->script != NULL)
    {
      /* As is: a script file may end in named blocks, after which no
       * statement can follow. */
      command = castellan_psrp_command_new (job->run->script, TRUE);
      add_words (command, job->run->command);
      job->kind = CLI_PS_FILE;
      castellan_psrp_pipeline_spec_add (spec, command);
    }
  else
    {
      script = script_text (job->run);
      command = restricted (job->run) ? command_of_words (job->run->command) : NULL;
      if (command != NULL)
        {
          job->kind = CLI_PS_COMMAND;
          castellan_psrp_pipeline_spec_add (spec, command);
        }
      else
        {
          g_autofree char *full = g_strconcat (script, LAST_STATUS, NULL);

          job->kind = CLI_PS_SCRIPT;
          castellan_psrp_pipeline_spec_add (spec, castellan_psrp_command_new (full, TRUE));
        }
    }
  /* Formatting happens on the host, for our width, as in a console. */
  castellan_psrp_pipeline_spec_add (spec, castellan_psrp_command_new ("Out-Default", FALSE));
  spec->no_input = !job->take_input;
  spec->host = &job->defaults;
  job->spec = g_steal_pointer (&spec);
  if (!job->take_input)
    {
      run_pipeline (job);
      return;
    }
  {
    GInputStream *in = g_unix_input_stream_new (STDIN_FILENO, FALSE);

    job->input = g_data_input_stream_new (in);
    g_object_unref (in);
  }
  if (job->kind != CLI_PS_SCRIPT)
    {
      g_data_input_stream_read_line_async (job->input, G_PRIORITY_DEFAULT, job->input_cancellable,
                                           first_line_read, job);
      return;
    }
  /* A script starts at once, and reads $input as it comes. */
  run_pipeline (job);
  read_line (job);
}

static void
run_pipeline (CliPsJob *job)
{
  castellan_psrp_session_run_async (job->session, job->spec, cli_pshost_handle, job->host, job->cancellable,
                                    ran, job);
}

static void
connected (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  CliPsJob *job = user_data;
  GError *error = NULL;

  if (!castellan_connection_open_finish (job->connection, result, &error))
    {
      finish (job, error);
      return;
    }
  job->session = castellan_psrp_session_new (job->connection, job->run->configuration, &job->defaults);
  job->host = cli_pshost_new (job->session, job->tty, job->run->progress, job->run->write, job->run->flush,
                              job->run->write_data);
  castellan_psrp_session_open_async (job->session, job->cancellable, opened, job);
}

/**
 * cli_ps_job_new:
 * @interactive: this job has the terminal and stdin (a single host)
 */
CliPsJob *
cli_ps_job_new (const CastellanConnectOptions *options,
                const CliRun                  *run,
                gboolean                       interactive,
                CliPsJobDone                   done,
                gpointer                       done_data)
{
  CliPsJob *job = g_new0 (CliPsJob, 1);
  int columns = interactive ? cli_tty_columns (STDOUT_FILENO) : 0;

  job->options = options;
  job->run = run;
  job->done = done;
  job->done_data = done_data;
  job->cancellable = g_cancellable_new ();
  job->input_cancellable = g_cancellable_new ();
  job->state = CASTELLAN_PSRP_PIPELINE_FAILED;
  job->defaults.foreground = 7;
  job->defaults.background = 0;
  job->defaults.buffer_width = columns > 0 ? columns : DEFAULT_WIDTH;
  job->defaults.buffer_height = 9999;
  job->defaults.window_width = job->defaults.buffer_width;
  job->defaults.window_height = 50;
  job->defaults.window_title = "castellan-run";
  if (interactive)
    {
      job->tty = cli_tty_open ();
      job->take_input = !isatty (STDIN_FILENO);
    }
  return job;
}

void
cli_ps_job_free (CliPsJob *job)
{
  if (job == NULL)
    return;
  g_cancellable_cancel (job->input_cancellable);
  g_clear_object (&job->input);
  g_clear_pointer (&job->spec, castellan_psrp_pipeline_spec_free);
  g_clear_pointer (&job->host, cli_pshost_free);
  g_clear_object (&job->session);
  g_clear_object (&job->connection);
  g_clear_pointer (&job->tty, cli_tty_free);
  g_clear_object (&job->cancellable);
  g_clear_object (&job->input_cancellable);
  g_clear_pointer (&job->record, castellan_clixml_value_unref);
  g_clear_error (&job->error);
  g_free (job);
}

void
cli_ps_job_start (CliPsJob *job)
{
  job->connection = castellan_connection_new (job->options);
  castellan_connection_open_async (job->connection, job->cancellable, connected, job);
}

/* Ctrl+C: the first stops the pipeline on the host, a third gives up
 * waiting for it. */
void
cli_ps_job_interrupt (CliPsJob *job)
{
  job->interrupts++;
  if (job->session == NULL || job->interrupts > 2)
    {
      g_cancellable_cancel (job->cancellable);
      return;
    }
  /* The stop goes out before a prompt waiting at the terminal is given
   * up, so that the pipeline ends Stopped. */
  castellan_psrp_session_stop (job->session);
  if (job->host != NULL)
    cli_pshost_interrupt (job->host);
}

const CastellanVerdict *
cli_ps_job_get_verdict (CliPsJob *job)
{
  return job->connection ? castellan_connection_get_verdict (job->connection) : NULL;
}

const GError *
cli_ps_job_get_error (CliPsJob *job)
{
  return job->error;
}

/* The exit status of the contract: `exit N`, else 0 or 1 by how the
 * script ended; 130 after Ctrl+C; 255 when no pipeline result came. */
int
cli_ps_job_exit_status (CliPsJob *job)
{
  int requested;

  if (job->error != NULL)
    return job->interrupts > 0 && g_error_matches (job->error, CASTELLAN_ERROR, CASTELLAN_ERROR_CANCELLED)
           ? 130 : CLI_EXIT_FAILURE;
  /* Ctrl+C, whatever the pipeline made of it (a prompt it cancelled may
   * end the script before the stop does). */
  if (job->interrupts > 0)
    return 130;
  requested = job->host ? cli_pshost_exit_request (job->host) : -1;
  if (requested >= 0)
    return requested;
  switch (job->state)
    {
    case CASTELLAN_PSRP_PIPELINE_COMPLETED:
      /* A command alone failed when it wrote an error. */
      if (job->kind == CLI_PS_COMMAND && job->host && cli_pshost_error_count (job->host) > 0)
        return 1;
      return 0;
    case CASTELLAN_PSRP_PIPELINE_STOPPED:
      return 1;
    default:
      return 1;
    }
}

/* The terminating error, for stderr. */
char *
cli_ps_job_failure_text (CliPsJob *job)
{
  if (job->error != NULL || job->state != CASTELLAN_PSRP_PIPELINE_FAILED || job->record == NULL)
    return NULL;
  return castellan_psrp_record_text (job->record);
}

char *
cli_ps_job_report (CliPsJob *job)
{
  const CastellanVerdict *verdict = cli_ps_job_get_verdict (job);
  g_autofree char *json = NULL;
  GString *out;

  if (job->error != NULL || verdict == NULL)
    {
      GError *error = job->error;
      g_autoptr(GError) missing = NULL;

      if (error == NULL)
        error = missing = g_error_new_literal (CASTELLAN_ERROR, CASTELLAN_ERROR_FAILED, _("no connection"));
      return cli_error_json (job->options->endpoint->host, error);
    }
  json = castellan_verdict_to_json (verdict, cli_ps_job_exit_status (job));
  g_strchomp (json);
  out = g_string_new_len (json, strlen (json) - 1);
  castellan_json_member (out, "protocol", "psrp", TRUE);
  castellan_json_member (out, "configuration", castellan_psrp_session_get_configuration (job->session), TRUE);
  castellan_json_member (out, "powershell_version",
                         castellan_psrp_session_get_powershell_version (job->session), TRUE);
  g_string_append (out, "}\n");
  return g_string_free (out, FALSE);
}

/* ---- one host ------------------------------------------------------------- */

typedef struct
{
  GMainLoop *loop;
  CliPsJob *job;
} Single;

static void
single_done (CliPsJob *job,
             gpointer  user_data)
{
  Single *s = user_data;

  g_main_loop_quit (s->loop);
}

static gboolean
on_sigint (gpointer user_data)
{
  Single *s = user_data;

  cli_ps_job_interrupt (s->job);
  return G_SOURCE_CONTINUE;
}

/* Text for stdout and stderr, kept in order and written once the main
 * loop has nothing else to do: a reply of many short lines costs one
 * write, not one per line. */
typedef struct
{
  gboolean terminal[2];
  int fd;
  GString *pending;
  guint idle;
} Output;

static void
output_flush (Output *out)
{
  if (out->pending->len == 0)
    return;
  if (out->terminal[out->fd == STDERR_FILENO])
    cli_write_all (out->fd, (const guint8 *) out->pending->str, out->pending->len);
  else
    cli_write_plain (out->fd, out->pending->str, out->pending->len);
  g_string_truncate (out->pending, 0);
}

static void
output_flush_now (gpointer user_data)
{
  output_flush (user_data);
}

static gboolean
output_idle (gpointer user_data)
{
  Output *out = user_data;

  out->idle = 0;
  output_flush (out);
  return G_SOURCE_REMOVE;
}

static void
write_fd (int         fd,
          const char *text,
          gsize       length,
          gpointer    user_data)
{
  Output *out = user_data;

  if (fd != out->fd || out->pending->len + length > 256 * 1024)
    output_flush (out);
  out->fd = fd;
  /* A long piece goes out as it is, without a copy. */
  if (length > 256 * 1024)
    {
      if (out->terminal[fd == STDERR_FILENO])
        cli_write_all (fd, (const guint8 *) text, length);
      else
        cli_write_plain (fd, text, length);
      return;
    }
  g_string_append_len (out->pending, text, length);
  if (out->idle == 0)
    out->idle = g_idle_add_full (G_PRIORITY_DEFAULT, output_idle, out, NULL);
}

int
cli_run_powershell (const CastellanConnectOptions *options,
                    const CliRun                  *run)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  CliRun mine = *run;
  g_autofree char *json = NULL;
  g_autofree char *failure = NULL;
  const CastellanVerdict *verdict;
  Single s = { loop, NULL };
  Output out = { { isatty (STDOUT_FILENO), isatty (STDERR_FILENO) }, STDOUT_FILENO, g_string_new (NULL), 0 };
  guint sigint;
  int status;

  mine.write = write_fd;
  mine.write_data = &out;
  mine.flush = output_flush_now;
  mine.progress = out.terminal[1];
  s.job = cli_ps_job_new (options, &mine, TRUE, single_done, &s);
  sigint = g_unix_signal_add (SIGINT, on_sigint, &s);
  cli_ps_job_start (s.job);
  g_main_loop_run (loop);
  g_source_remove (sigint);
  g_clear_handle_id (&out.idle, g_source_remove);
  output_flush (&out);
  g_string_free (out.pending, TRUE);

  verdict = cli_ps_job_get_verdict (s.job);
  if (run->verbose && verdict != NULL)
    cli_print_verdict (verdict);
  else if (verdict != NULL)
    cli_print_delegation_note (verdict);

  status = cli_ps_job_exit_status (s.job);
  if (status == CLI_EXIT_FAILURE && cli_ps_job_get_error (s.job) != NULL)
    cli_fail (cli_ps_job_get_error (s.job)->message);
  failure = cli_ps_job_failure_text (s.job);
  if (failure != NULL)
    {
      g_autofree char *line = g_strconcat (failure, "\n", NULL);

      cli_write_all (STDERR_FILENO, (const guint8 *) line, strlen (line));
    }
  json = cli_ps_job_report (s.job);
  if (run->report_path != NULL)
    {
      g_autoptr(GError) error = NULL;

      if (!cli_write_report (run->report_path, json, &error))
        {
          cli_fail (error->message);
          status = CLI_EXIT_FAILURE;
        }
    }
  cli_ps_job_free (s.job);
  return status;
}

