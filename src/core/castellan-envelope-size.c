/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "castellan-envelope-size.h"
#include "castellan-error.h"

static void
config_read (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  CastellanConnection *connection = CASTELLAN_CONNECTION (source);
  g_autoptr(CastellanWsmanReply) reply = NULL;
  g_autoptr(GError) error = NULL;

  reply = castellan_connection_request_finish (connection, result, &error);
  if (reply != NULL && reply->max_envelope_kb > 0)
    {
      castellan_connection_set_max_envelope (connection, reply->max_envelope_kb * 1024);
      g_task_return_int (task, 1);
      return;
    }
  if (g_error_matches (error, CASTELLAN_ERROR, CASTELLAN_ERROR_CANCELLED) ||
      g_error_matches (error, CASTELLAN_ERROR, CASTELLAN_ERROR_CONNECTION_LOST) ||
      g_error_matches (error, CASTELLAN_ERROR, CASTELLAN_ERROR_TIMED_OUT) ||
      g_error_matches (error, CASTELLAN_ERROR, CASTELLAN_ERROR_SEALING_FAILED))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  /* A user who may not read the configuration (no administrator, a JEA
   * endpoint) keeps the size the connection has. */
  g_task_return_int (task, 0);
}

void
castellan_envelope_size_read_async (CastellanConnection        *connection,
                                    const CastellanSoapContext *ctx,
                                    GCancellable               *cancellable,
                                    GAsyncReadyCallback         callback,
                                    gpointer                    user_data)
{
  GTask *task = g_task_new (connection, cancellable, callback, user_data);
  CastellanSoapContext config = *ctx;
  g_autoptr(GBytes) envelope = NULL;

  g_task_set_source_tag (task, castellan_envelope_size_read_async);
  config.resource_uri = NULL;
  envelope = castellan_soap_get_config (&config);
  castellan_connection_request_async (connection, envelope, CASTELLAN_REQUEST_RESENDABLE,
                                      castellan_connection_get_options (connection)->request_timeout,
                                      NULL, NULL, cancellable, config_read, task);
}

gboolean
castellan_envelope_size_read_finish (CastellanConnection  *connection,
                                     GAsyncResult         *result,
                                     gboolean             *applied,
                                     GError              **error)
{
  GError *local = NULL;
  gssize read;

  g_return_val_if_fail (g_task_is_valid (result, connection), FALSE);
  read = g_task_propagate_int (G_TASK (result), &local);
  if (local != NULL)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  if (applied != NULL)
    *applied = read > 0;
  return TRUE;
}
