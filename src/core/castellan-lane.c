/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "castellan-error.h"
#include "castellan-lane.h"

typedef enum
{
  LANE_NONE,
  LANE_OPENING,
  LANE_READY,
  LANE_CLOSED,
} LaneState;

struct _CastellanLane
{
  GObject parent_instance;

  CastellanConnection *first;
  CastellanConnection *second;
  LaneState state;
  GQueue waiting;                 /* GTask waiting for the second connection */
};

G_DEFINE_FINAL_TYPE (CastellanLane, castellan_lane, G_TYPE_OBJECT)

typedef struct
{
  GBytes *envelope;
  CastellanRequestFlags flags;
  CastellanStreamFunc on_stream;
  gpointer stream_data;
} Request;

static void
request_free (Request *r)
{
  g_bytes_unref (r->envelope);
  g_free (r);
}

static void
castellan_lane_dispose (GObject *object)
{
  CastellanLane *self = CASTELLAN_LANE (object);

  castellan_lane_close (self);
  g_clear_object (&self->first);
  G_OBJECT_CLASS (castellan_lane_parent_class)->dispose (object);
}

static void
castellan_lane_class_init (CastellanLaneClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = castellan_lane_dispose;
}

static void
castellan_lane_init (CastellanLane *self)
{
  g_queue_init (&self->waiting);
}

CastellanLane *
castellan_lane_new (CastellanConnection *first)
{
  CastellanLane *self = g_object_new (CASTELLAN_TYPE_LANE, NULL);

  self->first = g_object_ref (first);
  return self;
}

static void
request_done (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;
  CastellanWsmanReply *reply;

  reply = castellan_connection_request_finish (CASTELLAN_CONNECTION (source), result, &error);
  if (reply == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, reply, (GDestroyNotify) castellan_wsman_reply_free);
}

static void
send_on (GTask               *task,
         CastellanConnection *connection)
{
  Request *r = g_task_get_task_data (task);

  castellan_connection_request_async (connection, r->envelope, r->flags,
                                      castellan_connection_get_options (connection)->request_timeout,
                                      r->on_stream, r->stream_data, g_task_get_cancellable (task),
                                      request_done, task);
}

static void
release_waiting (CastellanLane *self,
                 const GError  *error)
{
  GTask *task;

  while ((task = g_queue_pop_head (&self->waiting)) != NULL)
    {
      if (error != NULL)
        {
          g_task_return_error (task, g_error_copy (error));
          g_object_unref (task);
        }
      else
        {
          send_on (task, self->second);
        }
    }
}

static void
second_opened (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(CastellanLane) self = user_data;
  CastellanConnection *second = CASTELLAN_CONNECTION (source);
  g_autoptr(GError) error = NULL;

  if (self->state == LANE_CLOSED || second != self->second)
    return;
  if (castellan_connection_open_finish (second, result, &error) &&
      castellan_verdict_is_weaker_than (castellan_connection_get_verdict (second),
                                        castellan_connection_get_verdict (self->first)))
    g_set_error (&error, CASTELLAN_ERROR, CASTELLAN_ERROR_POLICY_REFUSED,
                 _("The second connection to the host is less protected than the first; it was not used."));
  if (error != NULL)
    {
      g_clear_object (&self->second);
      self->state = LANE_NONE;
      release_waiting (self, error);
      return;
    }
  self->state = LANE_READY;
  release_waiting (self, NULL);
}

void
castellan_lane_request_async (CastellanLane        *self,
                              gboolean              first_is_free,
                              GBytes               *envelope,
                              CastellanRequestFlags flags,
                              CastellanStreamFunc   on_stream,
                              gpointer              stream_data,
                              GCancellable         *cancellable,
                              GAsyncReadyCallback   callback,
                              gpointer              user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  Request *r = g_new0 (Request, 1);

  g_task_set_source_tag (task, castellan_lane_request_async);
  r->envelope = g_bytes_ref (envelope);
  r->flags = flags;
  r->on_stream = on_stream;
  r->stream_data = stream_data;
  g_task_set_task_data (task, r, (GDestroyNotify) request_free);

  if (self->state == LANE_CLOSED)
    {
      g_task_return_new_error (task, CASTELLAN_ERROR, CASTELLAN_ERROR_UNKNOWN_SHELL,
                               _("The session was closed."));
      g_object_unref (task);
      return;
    }
  /* Once the second connection exists, everything short goes there, in
   * order. */
  if (first_is_free && self->state != LANE_READY)
    {
      send_on (task, self->first);
      return;
    }
  if (self->state == LANE_READY)
    {
      send_on (task, self->second);
      return;
    }
  g_queue_push_tail (&self->waiting, task);
  if (self->state == LANE_NONE)
    {
      self->state = LANE_OPENING;
      self->second = castellan_connection_new (castellan_connection_get_options (self->first));
      castellan_connection_set_max_envelope (self->second, castellan_connection_get_max_envelope (self->first));
      castellan_connection_open_async (self->second, NULL, second_opened, g_object_ref (self));
    }
}

CastellanWsmanReply *
castellan_lane_request_finish (CastellanLane  *self,
                               GAsyncResult   *result,
                               GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
castellan_lane_close (CastellanLane *self)
{
  g_autoptr(GError) error = NULL;

  if (self->state == LANE_CLOSED)
    return;
  self->state = LANE_CLOSED;
  g_set_error (&error, CASTELLAN_ERROR, CASTELLAN_ERROR_UNKNOWN_SHELL, _("The session was closed."));
  release_waiting (self, error);
  g_clear_object (&self->second);
}

static void
deleted (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  CastellanLane *self = g_task_get_source_object (task);
  g_autoptr(CastellanWsmanReply) reply = NULL;
  GError *error = NULL;

  reply = castellan_connection_request_finish (CASTELLAN_CONNECTION (source), result, &error);
  /* Requests waiting for the control lane hear that the shell is gone. */
  castellan_lane_close (self);
  if (reply == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

/**
 * castellan_lane_delete_async:
 * @envelope: the shell's Delete
 *
 * Deletes the shell on the first connection (it may go twice: deleting
 * twice does no harm), then closes the lane, whatever the answer.
 */
void
castellan_lane_delete_async (CastellanLane       *self,
                             GBytes              *envelope,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, castellan_lane_delete_async);
  castellan_connection_request_async (self->first, envelope, CASTELLAN_REQUEST_RESENDABLE,
                                      castellan_connection_get_options (self->first)->request_timeout,
                                      NULL, NULL, cancellable, deleted, task);
}

gboolean
castellan_lane_delete_finish (CastellanLane  *self,
                              GAsyncResult   *result,
                              GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
