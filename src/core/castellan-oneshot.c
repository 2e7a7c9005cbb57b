/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "castellan-oneshot.h"

struct _CastellanOneshot
{
  CastellanConnectOptions *options;
  CastellanShellOptions shell_options;
  char *command;
  GStrv arguments;
  CastellanConnection *connection;
  CastellanShell *shell;
  CastellanOneshotStarted on_started;
  CastellanStreamFunc on_stream;
  gpointer user_data;
  int exit_code;
  GError *error;
  gboolean running;
};

CastellanOneshot *
castellan_oneshot_new (const CastellanConnectOptions *options,
                       const CastellanShellOptions   *shell_options,
                       const char                    *command,
                       const char *const             *arguments)
{
  CastellanOneshot *self = g_new0 (CastellanOneshot, 1);

  self->options = castellan_connect_options_copy (options);
  if (shell_options != NULL)
    self->shell_options = *shell_options;
  self->shell_options.environment = NULL;
  self->shell_options.working_directory = NULL;
  self->command = g_strdup (command);
  self->arguments = g_strdupv ((GStrv) arguments);
  return self;
}

void
castellan_oneshot_free (CastellanOneshot *self)
{
  if (self == NULL)
    return;
  g_return_if_fail (!self->running);
  castellan_connect_options_free (self->options);
  g_free (self->command);
  g_strfreev (self->arguments);
  g_clear_object (&self->shell);
  g_clear_object (&self->connection);
  g_clear_error (&self->error);
  g_free (self);
}

void
castellan_oneshot_set_handlers (CastellanOneshot        *self,
                                CastellanOneshotStarted  on_started,
                                CastellanStreamFunc      on_stream,
                                gpointer                 user_data)
{
  self->on_started = on_started;
  self->on_stream = on_stream;
  self->user_data = user_data;
}

CastellanShell *
castellan_oneshot_get_shell (CastellanOneshot *self)
{
  return self->shell;
}

const CastellanVerdict *
castellan_oneshot_get_verdict (CastellanOneshot *self)
{
  return self->connection ? castellan_connection_get_verdict (self->connection) : NULL;
}

const char *
castellan_oneshot_get_host (CastellanOneshot *self)
{
  return self->options->endpoint->host;
}

static void
finished (GTask *task)
{
  CastellanOneshot *self = g_task_get_task_data (task);

  self->running = FALSE;
  if (self->error != NULL)
    g_task_return_error (task, g_steal_pointer (&self->error));
  else
    g_task_return_int (task, self->exit_code);
  g_object_unref (task);
}

static void
shell_closed (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  GTask *task = user_data;
  CastellanOneshot *self = g_task_get_task_data (task);
  GError *error = NULL;

  /* A failure to close matters only when all else went well. */
  if (!castellan_shell_close_finish (CASTELLAN_SHELL (source), result, &error))
    {
      if (self->error == NULL)
        self->error = error;
      else
        g_error_free (error);
    }
  finished (task);
}

static void
close_shell (GTask *task)
{
  CastellanOneshot *self = g_task_get_task_data (task);

  /* Close even after a failure, on a fresh cancellable: the host's shell
   * quota is small, and a shell left open counts against it. */
  castellan_shell_close_async (self->shell, NULL, shell_closed, task);
}

static void
on_started (const char *command_id,
            gpointer    user_data)
{
  CastellanOneshot *self = user_data;

  if (self->on_started != NULL)
    self->on_started (self, command_id, self->user_data);
}

static void
on_stream (CastellanStream  stream,
           const guint8    *data,
           gsize            length,
           gpointer         user_data)
{
  CastellanOneshot *self = user_data;

  if (self->on_stream != NULL)
    self->on_stream (stream, data, length, self->user_data);
}

static void
command_done (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  GTask *task = user_data;
  CastellanOneshot *self = g_task_get_task_data (task);

  castellan_shell_run_finish (CASTELLAN_SHELL (source), result, &self->exit_code, &self->error);
  close_shell (task);
}

static void
shell_created (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  GTask *task = user_data;
  CastellanOneshot *self = g_task_get_task_data (task);

  if (!castellan_shell_create_finish (CASTELLAN_SHELL (source), result, &self->error))
    {
      finished (task);
      return;
    }
  castellan_shell_run_async (self->shell, self->command, (const char *const *) self->arguments,
                             on_started, on_stream, self, g_task_get_cancellable (task),
                             command_done, task);
}

static void
connected (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  GTask *task = user_data;
  CastellanOneshot *self = g_task_get_task_data (task);

  if (!castellan_connection_open_finish (self->connection, result, &self->error))
    {
      finished (task);
      return;
    }
  self->shell = castellan_shell_new (self->connection, &self->shell_options);
  castellan_shell_create_async (self->shell, TRUE, g_task_get_cancellable (task),
                                shell_created, task);
}

void
castellan_oneshot_run_async (CastellanOneshot    *self,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);

  g_return_if_fail (!self->running);
  g_task_set_source_tag (task, castellan_oneshot_run_async);
  g_task_set_task_data (task, self, NULL);
  self->running = TRUE;
  g_clear_object (&self->connection);
  g_clear_object (&self->shell);
  self->connection = castellan_connection_new (self->options);
  castellan_connection_open_async (self->connection, cancellable, connected, task);
}

gboolean
castellan_oneshot_run_finish (CastellanOneshot  *self,
                              GAsyncResult      *result,
                              int               *exit_code,
                              GError           **error)
{
  GError *local_error = NULL;
  gssize code = g_task_propagate_int (G_TASK (result), &local_error);

  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return FALSE;
    }
  *exit_code = (int) code;
  return TRUE;
}
