/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "castellan-error.h"
#include "castellan-session.h"

struct _CastellanSession
{
  GObject parent_instance;

  CastellanConnectOptions *options;
  CastellanInterpreter interpreter;
  CastellanConnection *connection;
  CastellanShell *shell;
  GCancellable *cancellable;

  char *command_id;
  char *marker;
  GString *partial;         /* stdout not yet known to be a marker or not */
  guint pending;            /* lines sent whose marker has not come back */
  gint64 started;
  CastellanSessionState state;
  GError *error;
  GArray *done;             /* exit codes whose report waits for the reply's end */
  gint64 done_at;
  guint done_source;
};

G_DEFINE_FINAL_TYPE (CastellanSession, castellan_session, G_TYPE_OBJECT)

enum
{
  SIGNAL_OUTPUT,
  SIGNAL_COMMAND_DONE,
  SIGNAL_STATE_CHANGED,
  SIGNAL_CLOSED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
castellan_session_dispose (GObject *object)
{
  CastellanSession *self = CASTELLAN_SESSION (object);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_handle_id (&self->done_source, g_source_remove);
  g_clear_object (&self->shell);
  g_clear_object (&self->connection);
  G_OBJECT_CLASS (castellan_session_parent_class)->dispose (object);
}

static void
castellan_session_finalize (GObject *object)
{
  CastellanSession *self = CASTELLAN_SESSION (object);

  castellan_connect_options_free (self->options);
  g_free (self->command_id);
  g_free (self->marker);
  g_string_free (self->partial, TRUE);
  g_clear_error (&self->error);
  g_array_unref (self->done);
  G_OBJECT_CLASS (castellan_session_parent_class)->finalize (object);
}

static void
castellan_session_class_init (CastellanSessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = castellan_session_dispose;
  object_class->finalize = castellan_session_finalize;

  signals[SIGNAL_OUTPUT] = g_signal_new ("output", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                         0, NULL, NULL, NULL, G_TYPE_NONE, 2,
                                         G_TYPE_INT, G_TYPE_BYTES);
  signals[SIGNAL_COMMAND_DONE] = g_signal_new ("command-done", G_TYPE_FROM_CLASS (klass),
                                               G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                               G_TYPE_NONE, 2, G_TYPE_INT, G_TYPE_DOUBLE);
  signals[SIGNAL_STATE_CHANGED] = g_signal_new ("state-changed", G_TYPE_FROM_CLASS (klass),
                                                G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                G_TYPE_NONE, 0);
  signals[SIGNAL_CLOSED] = g_signal_new ("closed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                         0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
}

static void
castellan_session_init (CastellanSession *self)
{
  g_autofree char *uuid = g_uuid_string_random ();

  self->partial = g_string_new (NULL);
  self->done = g_array_new (FALSE, FALSE, sizeof (int));
  self->cancellable = g_cancellable_new ();
  /* Letters and digits only, so that no shell treats it specially. */
  g_strdelimit (uuid, "-", 'x');
  self->marker = g_strdup_printf ("CASTELLANx%sx", uuid);
}

CastellanSession *
castellan_session_new (const CastellanConnectOptions *options,
                       CastellanInterpreter           interpreter)
{
  CastellanSession *self = g_object_new (CASTELLAN_TYPE_SESSION, NULL);

  self->options = castellan_connect_options_copy (options);
  self->interpreter = interpreter;
  return self;
}

CastellanSessionState
castellan_session_get_state (CastellanSession *self)
{
  return self->state;
}

const CastellanVerdict *
castellan_session_get_verdict (CastellanSession *self)
{
  return self->connection ? castellan_connection_get_verdict (self->connection) : NULL;
}

const GError *
castellan_session_get_error (CastellanSession *self)
{
  return self->error;
}

static void
set_state (CastellanSession      *self,
           CastellanSessionState  state)
{
  if (self->state == state)
    return;
  self->state = state;
  g_signal_emit (self, signals[SIGNAL_STATE_CHANGED], 0);
}

static void
finish (CastellanSession *self,
        GError           *error)
{
  if (self->state == CASTELLAN_SESSION_CLOSED)
    {
      g_clear_error (&error);
      return;
    }
  g_clear_error (&self->error);
  self->error = error;
  set_state (self, CASTELLAN_SESSION_CLOSED);
  g_signal_emit (self, signals[SIGNAL_CLOSED], 0, self->error);
}

static void
emit_output (CastellanSession *self,
             CastellanStream   stream,
             const char       *data,
             gsize             length)
{
  g_autoptr(GBytes) bytes = NULL;

  if (length == 0)
    return;
  bytes = g_bytes_new (data, length);
  g_signal_emit (self, signals[SIGNAL_OUTPUT], 0, (int) stream, bytes);
}

/* Reports finished lines once the reply that ended them is read, so that
 * stderr from the same reply comes before the line's exit code. */
static gboolean
report_done (gpointer data)
{
  CastellanSession *self = data;
  double seconds = (self->done_at - self->started) / 1e6;

  self->done_source = 0;
  for (guint i = 0; i < self->done->len; i++)
    {
      if (self->pending > 0)
        self->pending--;
      g_signal_emit (self, signals[SIGNAL_COMMAND_DONE], 0, g_array_index (self->done, int, i), seconds);
    }
  g_array_set_size (self->done, 0);
  self->started = g_get_monotonic_time ();
  if (self->pending == 0 && self->state == CASTELLAN_SESSION_BUSY)
    set_state (self, CASTELLAN_SESSION_READY);
  return G_SOURCE_REMOVE;
}

/* A marker line ends one typed line: strip it, note the exit code. */
static gboolean
take_marker (CastellanSession *self,
             const char       *line,
             gsize             length)
{
  gsize mlen = strlen (self->marker);
  const char *m = g_strstr_len (line, length, self->marker);
  g_autofree char *digits = NULL;
  gint64 code = 0;
  int exit_code;

  if (m == NULL)
    return FALSE;
  digits = g_strstrip (g_strndup (m + mlen, length - (m - line) - mlen));
  g_ascii_string_to_signed (digits, 10, G_MININT32, G_MAXINT32, &code, NULL);
  /* Text before the marker on the same line is output without newline. */
  emit_output (self, CASTELLAN_STREAM_STDOUT, line, m - line);
  exit_code = (int) code;
  g_array_append_val (self->done, exit_code);
  self->done_at = g_get_monotonic_time ();
  if (self->done_source == 0)
    /* Default priority: an idle one can starve behind redraws. */
    self->done_source = g_idle_add_full (G_PRIORITY_DEFAULT, report_done, self, NULL);
  return TRUE;
}

static gboolean
could_become_marker (CastellanSession *self)
{
  /* Whether the line so far may still turn out to hold the marker. */
  gsize mlen = strlen (self->marker);
  gsize tail = MIN (self->partial->len, mlen);

  for (gsize start = self->partial->len - tail; start < self->partial->len; start++)
    if (strncmp (self->partial->str + start, self->marker, self->partial->len - start) == 0)
      return TRUE;
  return g_strstr_len (self->partial->str, self->partial->len, self->marker) != NULL;
}

static void
on_stream (CastellanStream  stream,
           const guint8    *data,
           gsize            length,
           gpointer         user_data)
{
  CastellanSession *self = user_data;
  const char *nl;
  gsize start = 0;

  if (stream == CASTELLAN_STREAM_STDERR)
    {
      emit_output (self, stream, (const char *) data, length);
      return;
    }

  g_string_append_len (self->partial, (const char *) data, length);
  while ((nl = memchr (self->partial->str + start, '\n', self->partial->len - start)) != NULL)
    {
      gsize end = nl - self->partial->str + 1;

      if (!take_marker (self, self->partial->str + start, end - start))
        emit_output (self, stream, self->partial->str + start, end - start);
      start = end;
    }
  g_string_erase (self->partial, 0, start);
  if (self->partial->len > 0 && !could_become_marker (self))
    {
      emit_output (self, stream, self->partial->str, self->partial->len);
      g_string_truncate (self->partial, 0);
    }
}

static void
on_started (const char *command_id,
            gpointer    user_data)
{
  CastellanSession *self = user_data;

  self->command_id = g_strdup (command_id);
  set_state (self, CASTELLAN_SESSION_READY);
}

static void
interpreter_ended (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(CastellanSession) self = user_data;
  GError *error = NULL;
  int code = 0;

  if (!castellan_shell_run_finish (CASTELLAN_SHELL (source), result, &code, &error))
    {
      finish (self, error);
      /* The interpreter is lost to us, not to the host: its shell (and
       * the user's quota of shells there) is released if the host can
       * still be reached. */
      castellan_shell_close_async (self->shell, NULL, NULL, NULL);
      return;
    }
  if (self->partial->len > 0)
    emit_output (self, CASTELLAN_STREAM_STDOUT, self->partial->str, self->partial->len);
  finish (self, NULL);
  castellan_shell_close_async (self->shell, NULL, NULL, NULL);
}

static void
shell_created (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(CastellanSession) self = user_data;
  GError *error = NULL;
  static const char *cmd_args[] = { "/Q", "/K", NULL };
  static const char *ps_args[] = { "-NoLogo", "-NoProfile", "-Command", "-", NULL };
  gboolean ps = self->interpreter == CASTELLAN_INTERPRETER_POWERSHELL;

  if (!castellan_shell_create_finish (CASTELLAN_SHELL (source), result, &error))
    {
      finish (self, error);
      return;
    }
  castellan_shell_run_async (self->shell, ps ? "powershell.exe" : "cmd.exe",
                             ps ? ps_args : cmd_args, on_started, on_stream, self,
                             self->cancellable, interpreter_ended, g_object_ref (self));
}

static void
connected (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(CastellanSession) self = user_data;
  GError *error = NULL;

  if (!castellan_connection_open_finish (self->connection, result, &error))
    {
      finish (self, error);
      return;
    }
  self->shell = castellan_shell_new (self->connection, NULL);
  castellan_shell_set_interactive (self->shell, TRUE);
  castellan_shell_create_async (self->shell, TRUE, self->cancellable, shell_created,
                                g_object_ref (self));
}

/* Connects, opens a shell and starts the interpreter; ::state-changed
 * says when lines can be sent, ::closed when it failed or ended. */
void
castellan_session_open (CastellanSession *self)
{
  g_return_if_fail (self->connection == NULL);

  set_state (self, CASTELLAN_SESSION_CONNECTING);
  self->connection = castellan_connection_new (self->options);
  castellan_connection_open_async (self->connection, self->cancellable, connected,
                                   g_object_ref (self));
}

static void
line_sent (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(CastellanSession) self = user_data;
  GError *error = NULL;

  if (!castellan_shell_send_finish (CASTELLAN_SHELL (source), result, &error))
    finish (self, error);
}

void
castellan_session_send_line (CastellanSession *self,
                             const char       *line)
{
  g_autofree char *data = NULL;
  g_autoptr(GBytes) bytes = NULL;
  gsize len;

  g_return_if_fail (self->state == CASTELLAN_SESSION_READY || self->state == CASTELLAN_SESSION_BUSY);

  if (self->interpreter == CASTELLAN_INTERPRETER_POWERSHELL)
    data = g_strdup_printf ("%s\r\nWrite-Output \"%s$(if ($?) { 0 } elseif ($LASTEXITCODE) { $LASTEXITCODE } else { 1 })\"\r\n",
                            line, self->marker);
  else
    data = g_strdup_printf ("%s\r\necho %s%%ERRORLEVEL%%\r\n", line, self->marker);
  len = strlen (data);
  bytes = g_bytes_new_take (g_steal_pointer (&data), len);

  if (self->pending++ == 0)
    self->started = g_get_monotonic_time ();
  set_state (self, CASTELLAN_SESSION_BUSY);
  castellan_shell_send_async (self->shell, self->command_id, bytes, FALSE, self->cancellable,
                              line_sent, g_object_ref (self));
}

static void
interrupted (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  castellan_shell_signal_finish (CASTELLAN_SHELL (source), result, &error);
}

/* Ctrl+C: the running line stops; the interpreter stays. */
void
castellan_session_interrupt (CastellanSession *self)
{
  if (self->command_id == NULL || self->state == CASTELLAN_SESSION_CLOSED)
    return;
  castellan_shell_signal_async (self->shell, self->command_id, "ctrl_c", NULL, interrupted, NULL);
}

void
castellan_session_close (CastellanSession *self)
{
  if (self->state == CASTELLAN_SESSION_CLOSED)
    return;
  g_cancellable_cancel (self->cancellable);
  if (self->shell != NULL)
    {
      /* A held Receive goes, cancelled, and lets go of the shell. */
      castellan_shell_set_paused (self->shell, FALSE);
      castellan_shell_close_async (self->shell, NULL, NULL, NULL);
    }
  finish (self, NULL);
}

/* While the console cannot keep up with the output: see
 * castellan_shell_set_paused(). */
void
castellan_session_set_paused (CastellanSession *self,
                              gboolean          paused)
{
  if (self->shell != NULL)
    castellan_shell_set_paused (self->shell, paused);
}
