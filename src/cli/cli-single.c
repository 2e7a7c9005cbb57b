/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <gio/gunixinputstream.h>
#include <glib-unix.h>
#include <glib/gi18n.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "castellan-error.h"
#include "castellan-oneshot.h"
#include "cli-common.h"

/* One host: the remote command's stdout and stderr go byte for byte to
 * ours, our stdin to its stdin until EOF, Ctrl+C to it as ctrl_c. */
typedef struct
{
  GMainLoop *loop;
  CastellanOneshot *oneshot;
  GCancellable *cancellable;
  char *command_id;
  GInputStream *input;
  GCancellable *input_cancellable;
  guint8 *buffer;
  gsize capacity;
  guint interrupts;
  int exit_code;
  GError *error;
} Single;

static void read_stdin (Single *s);

static void
on_output (CastellanStream  stream,
           const guint8    *data,
           gsize            length,
           gpointer         user_data)
{
  cli_write_all (stream == CASTELLAN_STREAM_STDOUT ? STDOUT_FILENO : STDERR_FILENO, data, length);
}

static void
stdin_sent (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Single *s = user_data;
  g_autoptr(GError) error = NULL;

  /* A command that no longer reads (it ended) is not an error of ours;
   * after the last chunk (input cleared) there is nothing more to read. */
  if (!castellan_shell_send_finish (CASTELLAN_SHELL (source), result, &error))
    return;
  read_stdin (s);
}

static void
send_stdin (Single   *s,
            GBytes   *data,
            gboolean  end)
{
  CastellanShell *shell = castellan_oneshot_get_shell (s->oneshot);

  if (end)
    g_clear_object (&s->input);
  castellan_shell_send_async (shell, s->command_id, data, end, s->input_cancellable,
                              stdin_sent, s);
}

static void
stdin_read (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Single *s = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) data = NULL;
  gssize n;

  n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);
  if (n < 0)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      n = 0;  /* an unreadable stdin ends like an empty one */
    }
  data = g_bytes_new (s->buffer, (gsize) n);
  send_stdin (s, data, n == 0);
}

static void
read_stdin (Single *s)
{
  if (s->input == NULL)
    return;
  g_input_stream_read_async (s->input, s->buffer, s->capacity, G_PRIORITY_DEFAULT,
                             s->input_cancellable, stdin_read, s);
}

/* Whether reading stdin now would not wait: a file, /dev/null, or a pipe
 * that already holds data or its end. */
static gboolean
stdin_is_immediate (void)
{
  struct stat st;
  struct pollfd pfd = { STDIN_FILENO, POLLIN, 0 };

  if (fstat (STDIN_FILENO, &st) != 0)
    return TRUE;
  if (S_ISREG (st.st_mode) || (S_ISCHR (st.st_mode) && !isatty (STDIN_FILENO)))
    return TRUE;
  return poll (&pfd, 1, 0) > 0;
}

static void
on_started (CastellanOneshot *oneshot,
            const char       *command_id,
            gpointer          user_data)
{
  Single *s = user_data;

  s->command_id = g_strdup (command_id);
  s->capacity = castellan_shell_send_capacity (castellan_oneshot_get_shell (oneshot));
  s->buffer = g_malloc (s->capacity);
  s->input = g_unix_input_stream_new (STDIN_FILENO, FALSE);
  if (stdin_is_immediate ())
    {
      /* A file or /dev/null: its first chunk (often all of it, or just
       * EOF) goes out now, before the first Receive, on the same
       * connection; no second connection is needed for it. */
      gssize n = read (STDIN_FILENO, s->buffer, s->capacity);
      g_autoptr(GBytes) data = g_bytes_new (s->buffer, MAX (n, 0));

      send_stdin (s, data, n <= 0);
      return;
    }
  read_stdin (s);
}

static void
signal_sent (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  if (!castellan_shell_signal_finish (CASTELLAN_SHELL (source), result, &error) &&
      !g_error_matches (error, CASTELLAN_ERROR, CASTELLAN_ERROR_UNKNOWN_COMMAND))
    cli_fail (error->message);
}

static gboolean
on_sigint (gpointer user_data)
{
  Single *s = user_data;
  CastellanShell *shell = castellan_oneshot_get_shell (s->oneshot);

  s->interrupts++;
  if (s->command_id == NULL || shell == NULL || s->interrupts > 2)
    {
      g_cancellable_cancel (s->cancellable);
      return G_SOURCE_CONTINUE;
    }
  castellan_shell_signal_async (shell, s->command_id, s->interrupts == 1 ? "ctrl_c" : "terminate",
                                NULL, signal_sent, s);
  return G_SOURCE_CONTINUE;
}

static void
run_done (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  Single *s = user_data;

  castellan_oneshot_run_finish (s->oneshot, result, &s->exit_code, &s->error);
  g_main_loop_quit (s->loop);
}

int
cli_run_single (const CastellanConnectOptions *options,
                const CliRun                  *run)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(CastellanOneshot) oneshot = castellan_oneshot_new (options, &run->shell, run->command[0],
                                                               (const char *const *) run->command + 1);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GCancellable) input_cancellable = g_cancellable_new ();
  g_autofree char *json = NULL;
  const CastellanVerdict *verdict;
  Single s = { loop, oneshot, cancellable, NULL, NULL, input_cancellable, NULL, 0, 0, 0, NULL };
  guint sigint;
  int status;

  castellan_oneshot_set_handlers (oneshot, on_started, on_output, &s);
  sigint = g_unix_signal_add (SIGINT, on_sigint, &s);
  castellan_oneshot_run_async (oneshot, cancellable, run_done, &s);
  g_main_loop_run (loop);
  g_source_remove (sigint);

  /* Let a pending stdin read or send wind down. */
  g_cancellable_cancel (input_cancellable);
  while (g_main_context_iteration (NULL, FALSE))
    ;

  verdict = castellan_oneshot_get_verdict (oneshot);
  if (run->verbose && verdict != NULL)
    cli_print_verdict (verdict);
  else if (verdict != NULL)
    cli_print_delegation_note (verdict);

  if (s.error != NULL)
    {
      if (g_error_matches (s.error, CASTELLAN_ERROR, CASTELLAN_ERROR_CANCELLED) && s.interrupts > 0)
        status = 130;
      else
        {
          cli_fail (s.error->message);
          status = CLI_EXIT_FAILURE;
        }
      json = cli_error_json (options->endpoint->host, s.error);
    }
  else
    {
      status = s.exit_code & 0xff;
      json = castellan_verdict_to_json (verdict, s.exit_code);
    }

  if (run->report_path != NULL)
    {
      g_autoptr(GError) error = NULL;

      if (!cli_write_report (run->report_path, json, &error))
        {
          cli_fail (error->message);
          status = CLI_EXIT_FAILURE;
        }
    }

  g_clear_error (&s.error);
  g_clear_object (&s.input);
  g_free (s.buffer);
  g_free (s.command_id);
  return status;
}
