/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "castellan-fanout.h"

/* One command on many hosts, at most `throttle` at a time. Each host
 * reports on its own; the whole completes when every host has. */
typedef struct
{
  GPtrArray *oneshots;
  guint throttle;
  guint next;
  guint running;
  guint done;
  CastellanFanoutOutput on_output;
  CastellanFanoutHostDone on_host_done;
  gpointer user_data;
} Fanout;

typedef struct
{
  GTask *task;
  guint index;
} HostSlot;

static void start_more (GTask *task);

static void
fanout_free (Fanout *fanout)
{
  g_ptr_array_unref (fanout->oneshots);
  g_free (fanout);
}

static void
slot_output (CastellanStream  stream,
             const guint8    *data,
             gsize            length,
             gpointer         user_data)
{
  HostSlot *slot = user_data;
  Fanout *fanout = g_task_get_task_data (slot->task);

  if (fanout->on_output != NULL)
    fanout->on_output (slot->index, stream, data, length, fanout->user_data);
}

static void
host_done (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  HostSlot *slot = user_data;
  GTask *task = slot->task;
  Fanout *fanout = g_task_get_task_data (task);
  CastellanOneshot *oneshot = g_ptr_array_index (fanout->oneshots, slot->index);
  g_autoptr(GError) error = NULL;
  int exit_code = -1;

  castellan_oneshot_run_finish (oneshot, result, &exit_code, &error);
  if (fanout->on_host_done != NULL)
    fanout->on_host_done (slot->index, oneshot, exit_code, error, fanout->user_data);
  castellan_oneshot_set_handlers (oneshot, NULL, NULL, NULL);
  g_free (slot);
  fanout->running--;
  fanout->done++;
  start_more (task);
}

/* Takes the task's reference when everything is done. */
static void
start_more (GTask *task)
{
  Fanout *fanout = g_task_get_task_data (task);

  if (fanout->done == fanout->oneshots->len)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  while (fanout->running < fanout->throttle && fanout->next < fanout->oneshots->len)
    {
      HostSlot *slot = g_new0 (HostSlot, 1);
      CastellanOneshot *oneshot;

      slot->task = task;
      slot->index = fanout->next++;
      oneshot = g_ptr_array_index (fanout->oneshots, slot->index);
      castellan_oneshot_set_handlers (oneshot, NULL, slot_output, slot);
      fanout->running++;
      castellan_oneshot_run_async (oneshot, g_task_get_cancellable (task), host_done, slot);
    }
}

/**
 * castellan_fanout_run_async:
 * @oneshots: (element-type CastellanOneshot): one per host, not yet run
 * @throttle: how many hosts at once (0: the default, 32)
 */
void
castellan_fanout_run_async (GPtrArray               *oneshots,
                            guint                    throttle,
                            CastellanFanoutOutput    on_output,
                            CastellanFanoutHostDone  on_host_done,
                            gpointer                 user_data,
                            GCancellable            *cancellable,
                            GAsyncReadyCallback      callback,
                            gpointer                 callback_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, callback_data);
  Fanout *fanout = g_new0 (Fanout, 1);

  g_task_set_source_tag (task, castellan_fanout_run_async);
  fanout->oneshots = g_ptr_array_ref (oneshots);
  fanout->throttle = throttle ? throttle : CASTELLAN_DEFAULT_THROTTLE;
  fanout->on_output = on_output;
  fanout->on_host_done = on_host_done;
  fanout->user_data = user_data;
  g_task_set_task_data (task, fanout, (GDestroyNotify) fanout_free);
  start_more (task);
}

gboolean
castellan_fanout_run_finish (GAsyncResult  *result,
                             GError       **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}
