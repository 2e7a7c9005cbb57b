/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: what a hostile server could send an opened runspace
 * pool and one of its pipelines. The input is a list of records:
 *
 *   kind (1 byte) | length (2 bytes, big-endian) | body
 *
 * kind bit 0: the pipeline's Receive rather than the pool's;
 * kind bit 1: body is raw payload bytes (fragments) rather than a message
 *   this target packs: type (4 bytes, little-endian), then CLIXML;
 * kind bit 2: the packed message names no pipeline (else the pipeline,
 *   or with bit 3 another pool);
 * kind bit 4: the packed message is split in two fragments and a BOM
 *   put before its data; bit 5: it is addressed to the server.
 *
 * After each record the events are drained and checked, host calls are
 * answered and every queue is emptied within a small budget. */
#include <string.h>

#include "castellan-error.h"
#include "castellan-psrp-fragment.h"
#include "castellan-psrp-pool.h"
#include "fuzz.h"

#define BUDGET 512

static const CastellanPsrpHostDefaults host = { 7, 0, 120, 50, 120, 50, "fuzz" };

static void
check_event (CastellanPsrpPool     *pool,
             CastellanPsrpPipeline *pipeline,
             CastellanPsrpEvent    *event)
{
  g_assert_true (event->for_pipeline == !castellan_psrp_guid_is_zero (&event->pipeline));
  switch (event->type)
    {
    case CASTELLAN_PSRP_EVENT_HOST_CALL:
      g_assert_nonnull (event->call);
      if (event->call->call_id != CASTELLAN_PSRP_HOST_CALL_VOID)
        {
          /* Answers may be refused by state, never crash. */
          if (event->for_pipeline && pipeline != NULL)
            castellan_psrp_pipeline_host_response (pipeline, event->call->call_id, event->call->method,
                                                   castellan_clixml_value_new_string ("answer"), NULL, NULL);
          else
            castellan_psrp_pool_host_response (pool, event->call->call_id, event->call->method, NULL,
                                               castellan_psrp_error_record_new ("no", "NoHost", 0), NULL);
        }
      break;
    case CASTELLAN_PSRP_EVENT_SESSION_KEY:
      g_assert_nonnull (event->text);
      break;
    case CASTELLAN_PSRP_EVENT_POOL_STATE:
      g_assert_cmpint (event->state, >=, CASTELLAN_PSRP_POOL_BEFORE_OPEN);
      g_assert_cmpint (event->state, <=, CASTELLAN_PSRP_POOL_CONNECTING);
      g_free (castellan_psrp_record_text (event->record));
      break;
    case CASTELLAN_PSRP_EVENT_PIPELINE_STATE:
      g_assert_true (event->for_pipeline);
      g_free (castellan_psrp_record_text (event->record));
      break;
    default:
      g_free (castellan_psrp_record_text (event->value));
      g_free (castellan_clixml_value_text (event->value));
      break;
    }
}

static void
drain_sends (CastellanPsrpPool       *pool,
             const CastellanPsrpGuid *pid)
{
  for (int stream = CASTELLAN_PSRP_STREAM_INPUT; stream <= CASTELLAN_PSRP_STREAM_PROMPT_RESPONSE; stream++)
    {
      GBytes *payload;

      while ((payload = castellan_psrp_pool_data_to_send (pool, pid, stream, BUDGET)) != NULL)
        {
          g_assert_cmpuint (g_bytes_get_size (payload), <=, BUDGET);
          g_bytes_unref (payload);
        }
      g_assert_false (castellan_psrp_pool_has_data (pool, pid, stream));
    }
}

static void
pack (GByteArray              *out,
      guint64                  object_id,
      guint8                   kind,
      const CastellanPsrpGuid *rpid,
      const CastellanPsrpGuid *pid,
      const guint8            *body,
      gsize                    length)
{
  static const CastellanPsrpGuid zero = { { 0 } };
  static const CastellanPsrpGuid other = { { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 } };
  g_autoptr(GBytes) data = NULL;
  g_autoptr(CastellanPsrpMessage) m = NULL;
  g_autoptr(GBytes) packed = NULL;
  guint32 type;
  gsize size;
  const guint8 *bytes;

  if (length < 4)
    return;
  type = (guint32) body[0] | (guint32) body[1] << 8 | (guint32) body[2] << 16 | (guint32) body[3] << 24;
  data = g_bytes_new (body + 4, length - 4);
  m = castellan_psrp_message_new (kind & 0x20 ? CASTELLAN_PSRP_DESTINATION_SERVER : CASTELLAN_PSRP_DESTINATION_CLIENT,
                                  type, kind & 0x08 ? &other : rpid, kind & 0x04 ? &zero : pid, data);
  packed = castellan_psrp_message_pack (m, (kind & 0x10) != 0);
  bytes = g_bytes_get_data (packed, &size);
  if (kind & 0x10)
    {
      castellan_psrp_fragment_write (out, object_id, 0, CASTELLAN_PSRP_FRAGMENT_START, bytes, size / 2);
      castellan_psrp_fragment_write (out, object_id, 1, CASTELLAN_PSRP_FRAGMENT_END, bytes + size / 2,
                                     size - size / 2);
    }
  else
    castellan_psrp_fragment_write (out, object_id, 0, CASTELLAN_PSRP_FRAGMENT_START | CASTELLAN_PSRP_FRAGMENT_END,
                                   bytes, size);
}

/* The server's answer to open, so that a pipeline can be created. */
static void
open_pool (CastellanPsrpPool *pool)
{
  static const char state[] = "<Obj RefId=\"0\"><MS><I32 N=\"RunspaceState\">2</I32></MS></Obj>";
  static const CastellanPsrpGuid zero = { { 0 } };
  g_autoptr(GByteArray) payload = g_byte_array_new ();
  g_autoptr(GByteArray) body = g_byte_array_new ();
  guint8 type[4] = { 0x05, 0x10, 0x02, 0x00 };     /* RUNSPACEPOOL_STATE */
  CastellanPsrpEvent *event;

  g_assert_true (castellan_psrp_pool_open (pool, NULL));
  drain_sends (pool, NULL);
  g_byte_array_append (body, type, 4);
  g_byte_array_append (body, (const guint8 *) state, sizeof state - 1);
  pack (payload, 1, 0x04, castellan_psrp_pool_get_id (pool), &zero, body->data, body->len);
  g_assert_true (castellan_psrp_pool_receive (pool, NULL, payload->data, payload->len, NULL));
  g_assert_cmpint (castellan_psrp_pool_get_state (pool), ==, CASTELLAN_PSRP_POOL_OPENED);
  while ((event = castellan_psrp_pool_next_event (pool)) != NULL)
    castellan_psrp_event_free (event);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  CastellanPsrpGuid rpid = { { 0x8a, 0x8a, 0x1d, 0x5e, 0x3c, 0x1f, 0x4c, 0x2b,
                               0x9d, 0x7e, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab } };
  CastellanPsrpPoolOptions options = { .min_runspaces = 1, .max_runspaces = 1, .host = &host };
  g_autoptr(CastellanPsrpPool) pool = castellan_psrp_pool_new (&rpid, &options);
  g_autoptr(CastellanPsrpPipelineSpec) spec = castellan_psrp_pipeline_spec_new ();
  CastellanPsrpPipeline *pipeline;
  CastellanPsrpGuid pid;
  gboolean failed = FALSE;
  guint64 object_id = 2;
  gsize at = 0;

  open_pool (pool);
  castellan_psrp_pipeline_spec_add (spec, castellan_psrp_command_new ("Get-Thing", FALSE));
  spec->no_input = FALSE;
  spec->host = &host;
  pipeline = castellan_psrp_pool_create_pipeline (pool, spec, NULL);
  g_assert_nonnull (pipeline);
  pid = *castellan_psrp_pipeline_get_id (pipeline);

  while (at + 3 <= size)
    {
      guint8 kind = data[at];
      gsize length = MIN ((gsize) data[at + 1] << 8 | data[at + 2], size - at - 3);
      const guint8 *body = data + at + 3;
      const CastellanPsrpGuid *stream = kind & 0x01 ? &pid : NULL;
      g_autoptr(GByteArray) payload = g_byte_array_new ();
      g_autoptr(GError) error = NULL;
      CastellanPsrpEvent *event;
      gboolean ok;

      at += 3 + length;
      if (kind & 0x02)
        g_byte_array_append (payload, body, length);
      else
        pack (payload, object_id++, kind, &rpid, &pid, body, length);
      ok = castellan_psrp_pool_receive (pool, stream, payload->data, payload->len, &error);
      g_assert_true (ok == (error == NULL));
      /* Once the stream is broken, nothing more is taken. */
      g_assert_true (!failed || !ok);
      if (!ok)
        {
          g_assert_true (error->domain == CASTELLAN_ERROR);
          failed = TRUE;
        }
      while ((event = castellan_psrp_pool_next_event (pool)) != NULL)
        {
          check_event (pool, castellan_psrp_pool_get_pipeline (pool, &pid), event);
          castellan_psrp_event_free (event);
        }
      pipeline = castellan_psrp_pool_get_pipeline (pool, &pid);
      if (pipeline != NULL && castellan_psrp_pipeline_accepts_input (pipeline) && (kind & 0x40))
        g_assert_true (castellan_psrp_pipeline_send_input (pipeline, castellan_clixml_value_new_string ("in"), NULL));
      if (pipeline != NULL && (kind & 0x80))
        castellan_psrp_pool_forget_pipeline (pool, &pid);
      drain_sends (pool, NULL);
      drain_sends (pool, &pid);
    }
  return 0;
}
