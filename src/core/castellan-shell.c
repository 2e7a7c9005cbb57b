/* SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE /* memmem */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "castellan-envelope-size.h"
#include "castellan-error.h"
#include "castellan-lane.h"
#include "castellan-shell.h"

/* Seconds a Receive may take beyond its OperationTimeout before the
 * host counts as hung. */
#define RECEIVE_GRACE 30

/* A WinRS cmd shell. Receive long-polls its connection for up to the
 * OperationTimeout, so stdin and signals sent meanwhile travel on a second,
 * separately authenticated connection: the control lane. */
struct _CastellanShell
{
  GObject parent_instance;

  CastellanConnection *connection;
  CastellanLane *lane;

  guint codepage;
  gboolean no_profile;
  char *working_directory;
  GStrv environment;

  char *session_id;
  char *shell_id;
  guint receiving;
  gboolean input_first;           /* see CastellanShellOptions */
  gboolean interactive;           /* yield to the user between Receives */
  gboolean paused;                /* the reader wants no more output for now */
  GTask *held;                    /* the run whose next Receive waits for it */
};

G_DEFINE_FINAL_TYPE (CastellanShell, castellan_shell, G_TYPE_OBJECT)

static void
castellan_shell_finalize (GObject *object)
{
  CastellanShell *self = CASTELLAN_SHELL (object);

  g_clear_object (&self->connection);
  if (self->lane != NULL)
    castellan_lane_close (self->lane);
  g_clear_object (&self->lane);
  g_free (self->working_directory);
  g_strfreev (self->environment);
  g_free (self->session_id);
  g_free (self->shell_id);
  G_OBJECT_CLASS (castellan_shell_parent_class)->finalize (object);
}

static void
castellan_shell_class_init (CastellanShellClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = castellan_shell_finalize;
}

static void
castellan_shell_init (CastellanShell *self)
{
  g_autofree char *uuid = castellan_soap_new_uuid ();

  self->session_id = g_strconcat ("uuid:", uuid, NULL);
  self->codepage = 65001;
}

CastellanShell *
castellan_shell_new (CastellanConnection         *connection,
                     const CastellanShellOptions *options)
{
  CastellanShell *self;

  g_return_val_if_fail (CASTELLAN_IS_CONNECTION (connection), NULL);

  self = g_object_new (CASTELLAN_TYPE_SHELL, NULL);
  self->connection = g_object_ref (connection);
  self->lane = castellan_lane_new (connection);
  if (options != NULL)
    {
      if (options->codepage)
        self->codepage = options->codepage;
      self->no_profile = options->no_profile;
      self->input_first = options->input_first;
      self->working_directory = g_strdup (options->working_directory);
      self->environment = g_strdupv ((GStrv) options->environment);
    }
  return self;
}

CastellanConnection *
castellan_shell_get_connection (CastellanShell *self)
{
  return self->connection;
}

static gboolean resume_receive (gpointer task);

/* See resume_receive(). */
void
castellan_shell_set_interactive (CastellanShell *self,
                                 gboolean        interactive)
{
  self->interactive = interactive;
}

/**
 * castellan_shell_set_paused:
 *
 * For an interactive shell: while paused, no new Receive is sent, so the
 * host holds the command's output (and the command waits) until whoever
 * shows it has caught up.
 */
void
castellan_shell_set_paused (CastellanShell *self,
                            gboolean        paused)
{
  self->paused = paused;
  if (!paused && self->held != NULL)
    g_idle_add_full (G_PRIORITY_DEFAULT, resume_receive, g_steal_pointer (&self->held), NULL);
}

const char *
castellan_shell_get_id (CastellanShell *self)
{
  return self->shell_id;
}

static void
fill_context (CastellanShell       *self,
              CastellanConnection  *lane,
              CastellanSoapContext *ctx)
{
  const CastellanConnectOptions *o = castellan_connection_get_options (lane);

  ctx->to = castellan_connection_get_url (lane);
  ctx->max_envelope = castellan_connection_get_max_envelope (self->connection);
  ctx->operation_timeout = o->operation_timeout;
  ctx->session_id = self->session_id;
  ctx->locale = "en-US";
  ctx->resource_uri = NULL;
}

static guint
request_timeout (CastellanConnection *lane)
{
  return castellan_connection_get_options (lane)->request_timeout;
}

static gboolean
check_shell (CastellanShell  *self,
             GError         **error)
{
  if (self->shell_id != NULL)
    return TRUE;
  g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_UNKNOWN_SHELL,
               _("The session is not open (or already closed)."));
  return FALSE;
}

/* The reply of a request, or NULL once the task has the error. */
static CastellanWsmanReply *
reply_or_return (GTask        *task,
                 GObject      *source,
                 GAsyncResult *result)
{
  GError *error = NULL;
  CastellanWsmanReply *reply;

  reply = castellan_connection_request_finish (CASTELLAN_CONNECTION (source), result, &error);
  if (reply == NULL)
    g_task_return_error (task, error);
  return reply;
}

static void
return_missing (GTask      *task,
                const char *what)
{
  g_task_return_new_error (task, CASTELLAN_ERROR, CASTELLAN_ERROR_MALFORMED_REPLY,
                           _("The host’s reply lacks the %s."), what);
}

/* ---- create ------------------------------------------------------------- */

static void
created (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  CastellanShell *self = g_task_get_source_object (task);
  g_autoptr(CastellanWsmanReply) reply = reply_or_return (task, source, result);

  if (reply == NULL)
    return;
  if (reply->shell_id == NULL)
    {
      return_missing (task, _("session (shell) identifier"));
      return;
    }
  self->shell_id = g_steal_pointer (&reply->shell_id);
  g_task_return_boolean (task, TRUE);
}

static void
send_create (GTask *task)
{
  CastellanShell *self = g_task_get_source_object (task);
  CastellanSoapContext ctx;
  CastellanShellOptions options = {
    self->codepage, self->no_profile, self->working_directory,
    (const char *const *) self->environment,
  };
  g_autoptr(GBytes) envelope = NULL;

  fill_context (self, self->connection, &ctx);
  envelope = castellan_soap_create_shell (&ctx, &options);
  castellan_connection_request_async (self->connection, envelope, CASTELLAN_REQUEST_NONE,
                                      request_timeout (self->connection),
                                      NULL, NULL, g_task_get_cancellable (task), created, task);
}

static void
config_read (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (!castellan_envelope_size_read_finish (CASTELLAN_CONNECTION (source), result, NULL, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  send_create (g_steal_pointer (&task));
}

/**
 * castellan_shell_create_async:
 * @read_max_envelope: read the host's MaxEnvelopeSizekb first, to use
 *   larger envelopes where the host allows them
 */
void
castellan_shell_create_async (CastellanShell      *self,
                              gboolean             read_max_envelope,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, castellan_shell_create_async);
  if (read_max_envelope)
    {
      CastellanSoapContext ctx;

      fill_context (self, self->connection, &ctx);
      castellan_envelope_size_read_async (self->connection, &ctx, cancellable, config_read, task);
      return;
    }
  send_create (task);
}

gboolean
castellan_shell_create_finish (CastellanShell  *self,
                               GAsyncResult    *result,
                               GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- run: Command, then Receive until Done ---------------------------- */

typedef struct
{
  char *command_id;
  gboolean early_stale;           /* the host chose another identifier */
  CastellanCommandStarted on_started;
  CastellanStreamFunc on_stream;
  gpointer stream_data;
  guint in_flight;               /* Receives sent and not yet answered */
  gboolean streaming;             /* the last reply was full: more is coming */
  gboolean finished;              /* the task has its result */
} RunData;

static void
run_data_free (RunData *data)
{
  g_free (data->command_id);
  g_free (data);
}

static void send_receive (GTask *task);

/* In a desktop console, the next Receive waits its turn behind the events
 * already queued (input, redraws of other consoles, accessibility
 * queries), so that many streaming consoles cannot crowd out the window. */
static gboolean
resume_receive (gpointer task)
{
  send_receive (task);
  return G_SOURCE_REMOVE;
}

static void
received (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  CastellanShell *self = g_task_get_source_object (task);
  RunData *data = g_task_get_task_data (task);
  g_autoptr(CastellanWsmanReply) reply = NULL;
  GError *error = NULL;

  self->receiving--;
  data->in_flight--;
  reply = castellan_connection_request_finish (CASTELLAN_CONNECTION (source), result, &error);
  /* A Receive sent ahead (next_receive()) can come back after the command
   * is over, or after a failure: nothing more to say then. */
  if (data->finished)
    {
      g_clear_error (&error);
      return;
    }
  if (reply == NULL)
    {
      if (g_error_matches (error, CASTELLAN_ERROR, CASTELLAN_ERROR_OPERATION_TIMEOUT))
        {
          /* No output yet: ask again. */
          g_clear_error (&error);
          if (data->in_flight == 0)
            send_receive (g_steal_pointer (&task));
          return;
        }
      data->finished = TRUE;
      g_task_return_error (task, error);
      return;
    }
  if (reply->done)
    {
      data->finished = TRUE;
      g_task_return_int (task, reply->exit_code);
      return;
    }
  /* The next Receive is already on its way. */
  if (data->in_flight > 0)
    return;
  if (self->interactive && self->paused)
    g_set_object (&self->held, task);
  else if (self->interactive)
    g_idle_add_full (G_PRIORITY_DEFAULT, resume_receive, g_steal_pointer (&task), NULL);
  else
    send_receive (g_steal_pointer (&task));
}

#define STATE_RUNNING "State=\"" CASTELLAN_NS_SHELL "/CommandState/Running\""

/* Given a Receive reply, decrypted but not yet parsed: when it says the
 * command still runs, the next Receive goes out at once, and the host
 * prepares more output while this reply is decoded. The CommandState comes
 * last, after the output; and base64 has no quotes, so output cannot pass
 * for it. Wrongly sent, a Receive is merely answered and ignored.
 *
 * Asked before the reply is decrypted (@plaintext NULL): while the
 * command streams (the reply before said Running and was at least half
 * an envelope), the next Receive goes out before this reply is even
 * opened. Should this reply say Done, that Receive's answer (a fault: no
 * such command) comes after the run's result, and is ignored. */
static GBytes *
next_receive (const guint8 *plaintext,
              gsize         length,
              gpointer      user_data)
{
  GTask *task = user_data;
  CastellanShell *self = g_task_get_source_object (task);
  RunData *data = g_task_get_task_data (task);
  CastellanSoapContext ctx;

  if (data->finished || self->shell_id == NULL)
    return NULL;
  fill_context (self, self->connection, &ctx);
  if (plaintext == NULL)
    {
      if (!data->streaming)
        return NULL;
    }
  else
    {
      gsize tail = MIN (length, 2048);
      gboolean running = memmem (plaintext + length - tail, tail, STATE_RUNNING,
                                 strlen (STATE_RUNNING)) != NULL;

      data->streaming = running && length >= ctx.max_envelope / 2;
      if (!running)
        return NULL;
    }
  self->receiving++;
  data->in_flight++;
  g_object_ref (task);  /* for received() of this Receive */
  return castellan_soap_receive (&ctx, self->shell_id, data->command_id);
}

/* Queues a Receive for the run's command, its reply to @done; takes the
 * reference to @task. */
static void
queue_receive (CastellanShell      *self,
               GTask               *task,
               GAsyncReadyCallback  done)
{
  RunData *data = g_task_get_task_data (task);
  CastellanSoapContext ctx;
  g_autoptr(GBytes) envelope = NULL;

  fill_context (self, self->connection, &ctx);
  envelope = castellan_soap_receive (&ctx, self->shell_id, data->command_id);
  self->receiving++;
  data->in_flight++;
  /* A desktop console yields to the window between Receives instead. */
  castellan_connection_request_follow_async (self->connection, envelope,
                                             CASTELLAN_REQUEST_RESENDABLE,
                                             ctx.operation_timeout + RECEIVE_GRACE,
                                             data->on_stream, data->stream_data,
                                             self->interactive ? NULL : next_receive,
                                             g_task_get_cancellable (task), done, task);
}

static void
send_receive (GTask *task)
{
  CastellanShell *self = g_task_get_source_object (task);
  RunData *data = g_task_get_task_data (task);

  /* The shell may have been closed, or the run cancelled, since the last
   * reply (a console yields to the window before it asks again). */
  if (self->shell_id == NULL)
    {
      data->finished = TRUE;
      g_task_return_new_error (task, CASTELLAN_ERROR, CASTELLAN_ERROR_UNKNOWN_SHELL,
                               _("The session was closed."));
      g_object_unref (task);
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    {
      data->finished = TRUE;
      g_object_unref (task);
      return;
    }
  queue_receive (self, task, received);
}

static void
command_started (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  CastellanShell *self = g_task_get_source_object (task);
  RunData *data = g_task_get_task_data (task);
  g_autoptr(CastellanWsmanReply) reply = reply_or_return (task, source, result);

  if (reply == NULL)
    {
      data->finished = TRUE;
      return;
    }
  if (reply->command_id == NULL)
    {
      data->finished = TRUE;
      return_missing (task, _("command identifier"));
      return;
    }
  if (g_ascii_strcasecmp (reply->command_id, data->command_id) == 0 && !self->input_first)
    {
      /* The first Receive is already on its way. */
      if (data->on_started != NULL)
        data->on_started (data->command_id, data->stream_data);
      return;
    }
  /* A host that chose the identifier itself: the Receive sent ahead (if
   * any) asked for another command and is ignored; a new one asks for
   * this one. */
  data->early_stale = !self->input_first;
  g_free (data->command_id);
  data->command_id = g_steal_pointer (&reply->command_id);
  if (data->on_started != NULL)
    data->on_started (data->command_id, data->stream_data);
  send_receive (g_steal_pointer (&task));
}

static void
early_received (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  GTask *task = user_data;
  RunData *data = g_task_get_task_data (task);

  if (data->early_stale)
    {
      CastellanShell *self = g_task_get_source_object (task);
      castellan_wsman_reply_free (castellan_connection_request_finish (CASTELLAN_CONNECTION (source), result, NULL));
      self->receiving--;
      data->in_flight--;
      g_object_unref (task);
      return;
    }
  received (source, result, user_data);
}

/**
 * castellan_shell_run_async:
 * @on_started: (nullable): told the command's identifier, for stdin and
 *   signals
 * @on_stream: (nullable): receives stdout and stderr bytes as they come
 *
 * Runs one command in the shell and completes with its exit code.
 */
void
castellan_shell_run_async (CastellanShell          *self,
                           const char              *command,
                           const char *const       *arguments,
                           CastellanCommandStarted  on_started,
                           CastellanStreamFunc      on_stream,
                           gpointer                 stream_data,
                           GCancellable            *cancellable,
                           GAsyncReadyCallback      callback,
                           gpointer                 user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  RunData *data = g_new0 (RunData, 1);
  CastellanSoapContext ctx;
  g_autoptr(GBytes) envelope = NULL;
  GError *error = NULL;

  g_task_set_source_tag (task, castellan_shell_run_async);
  data->on_started = on_started;
  data->on_stream = on_stream;
  data->stream_data = stream_data;
  g_task_set_task_data (task, data, (GDestroyNotify) run_data_free);

  if (!check_shell (self, &error))
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  fill_context (self, self->connection, &ctx);
  data->command_id = castellan_soap_new_uuid ();
  envelope = castellan_soap_command (&ctx, self->shell_id, command, arguments, FALSE, data->command_id);
  if (self->input_first)
    {
      /* The first Send takes the connection between the Command and the
       * first Receive, rather than a second connection of its own. */
      castellan_connection_request_async (self->connection, envelope, CASTELLAN_REQUEST_NONE,
                                          request_timeout (self->connection),
                                          NULL, NULL, cancellable, command_started, task);
      return;
    }
  /* The Command and its first Receive go out together; the Receive's
   * reply comes once the Command's has been handed over. */
  castellan_connection_hold (self->connection);
  castellan_connection_request_async (self->connection, envelope, CASTELLAN_REQUEST_NONE,
                                      request_timeout (self->connection),
                                      NULL, NULL, cancellable, command_started, task);
  queue_receive (self, g_object_ref (task), early_received);
  castellan_connection_release (self->connection);
}

gboolean
castellan_shell_run_finish (CastellanShell  *self,
                            GAsyncResult    *result,
                            int             *exit_code,
                            GError         **error)
{
  GError *local_error = NULL;
  gssize code;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  code = g_task_propagate_int (G_TASK (result), &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return FALSE;
    }
  if (exit_code != NULL)
    *exit_code = (int) code;
  return TRUE;
}

/* ---- the control lane: Send and Signal ---------------------------------- */

static void
lane_request_done (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(CastellanWsmanReply) reply = NULL;
  GError *error = NULL;

  reply = castellan_lane_request_finish (CASTELLAN_LANE (source), result, &error);
  if (reply == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

/* On the main connection when no Receive waits there, else on the
 * control lane. */
static void
lane_request (CastellanShell *self,
              GTask          *task,
              GBytes         *envelope)
{
  g_autoptr(GBytes) owned = envelope;

  castellan_lane_request_async (self->lane, self->receiving == 0, owned, CASTELLAN_REQUEST_NONE,
                                NULL, NULL, g_task_get_cancellable (task), lane_request_done, task);
}

gsize
castellan_shell_send_capacity (CastellanShell *self)
{
  CastellanSoapContext ctx;

  fill_context (self, self->connection, &ctx);
  return castellan_soap_send_capacity (&ctx);
}

/**
 * castellan_shell_send_async:
 * @data: at most castellan_shell_send_capacity() bytes for stdin
 * @end: whether stdin ends after them
 */
void
castellan_shell_send_async (CastellanShell      *self,
                            const char          *command_id,
                            GBytes              *data,
                            gboolean             end,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  CastellanSoapContext ctx;
  GError *error = NULL;
  gsize len = 0;
  const guint8 *bytes = data ? g_bytes_get_data (data, &len) : NULL;

  g_task_set_source_tag (task, castellan_shell_send_async);
  if (!check_shell (self, &error))
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  fill_context (self, self->connection, &ctx);
  lane_request (self, task, castellan_soap_send (&ctx, self->shell_id, command_id,
                                                 bytes, len, end));
}

gboolean
castellan_shell_send_finish (CastellanShell  *self,
                             GAsyncResult    *result,
                             GError         **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * castellan_shell_signal_async:
 * @code: "ctrl_c", "ctrl_break" or "terminate"
 */
void
castellan_shell_signal_async (CastellanShell      *self,
                              const char          *command_id,
                              const char          *code,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  CastellanSoapContext ctx;
  GError *error = NULL;

  g_task_set_source_tag (task, castellan_shell_signal_async);
  if (!check_shell (self, &error))
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  fill_context (self, self->connection, &ctx);
  lane_request (self, task, castellan_soap_signal (&ctx, self->shell_id, command_id, code));
}

gboolean
castellan_shell_signal_finish (CastellanShell  *self,
                               GAsyncResult    *result,
                               GError         **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- close -------------------------------------------------------------- */

static void
closed (GObject      *source,
        GAsyncResult *result,
        gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  CastellanShell *self = g_task_get_source_object (task);
  GError *error = NULL;

  g_clear_pointer (&self->shell_id, g_free);
  if (!castellan_lane_delete_finish (CASTELLAN_LANE (source), result, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

void
castellan_shell_close_async (CastellanShell      *self,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  CastellanSoapContext ctx;
  g_autoptr(GBytes) envelope = NULL;

  g_task_set_source_tag (task, castellan_shell_close_async);
  if (self->shell_id == NULL)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  fill_context (self, self->connection, &ctx);
  envelope = castellan_soap_delete_shell (&ctx, self->shell_id);
  castellan_lane_delete_async (self->lane, envelope, cancellable, closed, task);
}

gboolean
castellan_shell_close_finish (CastellanShell  *self,
                              GAsyncResult    *result,
                              GError         **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}
