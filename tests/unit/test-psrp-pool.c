/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The runspace pool and its pipelines without IO (MS-PSRP 3.1): server
 * messages are packed and fragmented here, fed as payloads, and the
 * state, the events and the payloads to send are checked after each. */
#include <string.h>

#include "castellan-error.h"
#include "castellan-psrp-fragment.h"
#include "castellan-psrp-message.h"
#include "castellan-psrp-pool.h"

#define RPID "8a8a1d5e-3c1f-4c2b-9d7e-0123456789ab"
#define BIG_BUDGET (1024 * 1024)

static const CastellanPsrpGuid zero_guid = { { 0 } };

static CastellanPsrpGuid
guid (const char *text)
{
  CastellanPsrpGuid g;

  g_assert_true (castellan_psrp_guid_parse (text, &g));
  return g;
}

/* A message from the server, packed as on the wire. */
static GBytes *
server_message (CastellanPsrpMessageType  type,
                const CastellanPsrpGuid  *rpid,
                const CastellanPsrpGuid  *pid,
                const char               *clixml,
                gboolean                  with_bom)
{
  g_autoptr(GBytes) data = g_bytes_new (clixml, strlen (clixml));
  g_autoptr(CastellanPsrpMessage) m =
    castellan_psrp_message_new (CASTELLAN_PSRP_DESTINATION_CLIENT, type, rpid, pid, data);

  return castellan_psrp_message_pack (m, with_bom);
}

/* Bytes [from, from + length) of @message as fragment @fragment_id of
 * object @object_id. */
static void
add_part (GByteArray *payload,
          guint64     object_id,
          guint64     fragment_id,
          GBytes     *message,
          gsize       from,
          gsize       length)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (message, &size);
  guint8 flags = 0;

  g_assert_cmpuint (from + length, <=, size);
  if (from == 0)
    flags |= CASTELLAN_PSRP_FRAGMENT_START;
  if (from + length == size)
    flags |= CASTELLAN_PSRP_FRAGMENT_END;
  castellan_psrp_fragment_write (payload, object_id, fragment_id, flags, data + from, length);
}

static void
add_whole (GByteArray *payload,
           guint64     object_id,
           GBytes     *message)
{
  add_part (payload, object_id, 0, message, 0, g_bytes_get_size (message));
}

static guint64 server_object_id = 1000;

/* One message in one payload: it must be taken. */
static void
feed (CastellanPsrpPool        *pool,
      const CastellanPsrpGuid  *stream_pid,
      CastellanPsrpMessageType  type,
      const CastellanPsrpGuid  *pid,
      const char               *clixml)
{
  g_autoptr(GBytes) m = server_message (type, castellan_psrp_pool_get_id (pool), pid, clixml, FALSE);
  g_autoptr(GByteArray) payload = g_byte_array_new ();
  g_autoptr(GError) error = NULL;

  add_whole (payload, server_object_id++, m);
  g_assert_true (castellan_psrp_pool_receive (pool, stream_pid, payload->data, payload->len, &error));
  g_assert_no_error (error);
}

/* One message in one payload: it must be refused as malformed. */
static void
feed_refused (CastellanPsrpPool        *pool,
              const CastellanPsrpGuid  *stream_pid,
              CastellanPsrpMessageType  type,
              const CastellanPsrpGuid  *rpid,
              const CastellanPsrpGuid  *pid,
              const char               *clixml)
{
  g_autoptr(GBytes) m = server_message (type, rpid, pid, clixml, FALSE);
  g_autoptr(GByteArray) payload = g_byte_array_new ();
  g_autoptr(GError) error = NULL;

  add_whole (payload, server_object_id++, m);
  g_assert_false (castellan_psrp_pool_receive (pool, stream_pid, payload->data, payload->len, &error));
  g_assert_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_PSRP_MALFORMED);
}

static CastellanPsrpEvent *
expect_event (CastellanPsrpPool      *pool,
              CastellanPsrpEventType  type)
{
  CastellanPsrpEvent *event = castellan_psrp_pool_next_event (pool);

  g_assert_nonnull (event);
  g_assert_cmpint (event->type, ==, type);
  return event;
}

static void
assert_wrong_state (const GError *error,
                    const char   *current,
                    const char   *expected)
{
  g_assert_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, current));
  g_assert_nonnull (strstr (error->message, expected));
}

#define CAPABILITY \
  "<Obj RefId=\"0\"><MS><Version N=\"protocolversion\">2.3</Version>" \
  "<Version N=\"PSVersion\">2.0</Version><Version N=\"SerializationVersion\">1.1.0.1</Version></MS></Obj>"
#define PRIVATE_DATA \
  "<Obj RefId=\"0\"><MS><Obj N=\"ApplicationPrivateData\" RefId=\"1\"><TN RefId=\"0\">" \
  "<T>System.Management.Automation.PSPrimitiveDictionary</T><T>System.Collections.Hashtable</T>" \
  "<T>System.Object</T></TN><DCT><En><S N=\"Key\">PSVersionTable</S><Obj N=\"Value\" RefId=\"2\">" \
  "<TNRef RefId=\"0\" /><DCT><En><S N=\"Key\">PSEdition</S><S N=\"Value\">Desktop</S></En>" \
  "<En><S N=\"Key\">PSVersion</S><Version N=\"Value\">5.1.17763.592</Version></En></DCT></Obj>" \
  "</En></DCT></Obj></MS></Obj>"
#define POOL_STATE(n) "<Obj RefId=\"0\"><MS><I32 N=\"RunspaceState\">" n "</I32></MS></Obj>"
#define PIPELINE_STATE(n) "<Obj RefId=\"0\"><MS><I32 N=\"PipelineState\">" n "</I32></MS></Obj>"
#define ERROR_RECORD(name, message) \
  "<Obj N=\"" name "\" RefId=\"1\"><TN RefId=\"0\"><T>System.Management.Automation.ErrorRecord</T>" \
  "<T>System.Object</T></TN><MS><Obj N=\"Exception\" RefId=\"2\"><Props><S N=\"Message\">" message \
  "</S></Props></Obj><S N=\"FullyQualifiedErrorId\">Failure</S>" \
  "<I32 N=\"ErrorCategory_Category\">0</I32></MS></Obj>"

static const CastellanPsrpHostDefaults host_defaults = {
  .foreground = 7, .background = 0, .buffer_width = 132, .buffer_height = 50,
  .window_title = "Castellan",
};

static CastellanPsrpPool *
new_pool (void)
{
  CastellanPsrpGuid rpid = guid (RPID);
  CastellanPsrpPoolOptions options = { .min_runspaces = 1, .max_runspaces = 1, .host = &host_defaults };

  return castellan_psrp_pool_new (&rpid, &options);
}

static void
drain_events (CastellanPsrpPool *pool)
{
  CastellanPsrpEvent *event;

  while ((event = castellan_psrp_pool_next_event (pool)) != NULL)
    castellan_psrp_event_free (event);
}

/* A pool the server has opened, its own queue sent. */
static CastellanPsrpPool *
opened_pool (void)
{
  CastellanPsrpPool *pool = new_pool ();
  g_autoptr(GError) error = NULL;
  GBytes *sent;

  g_assert_true (castellan_psrp_pool_open (pool, &error));
  g_assert_no_error (error);
  while ((sent = castellan_psrp_pool_data_to_send (pool, NULL, CASTELLAN_PSRP_STREAM_INPUT, BIG_BUDGET)) != NULL)
    g_bytes_unref (sent);
  feed (pool, NULL, CASTELLAN_PSRP_MESSAGE_SESSION_CAPABILITY, &zero_guid, CAPABILITY);
  feed (pool, NULL, CASTELLAN_PSRP_MESSAGE_RUNSPACEPOOL_STATE, &zero_guid, POOL_STATE ("2"));
  g_assert_cmpint (castellan_psrp_pool_get_state (pool), ==, CASTELLAN_PSRP_POOL_OPENED);
  drain_events (pool);
  return pool;
}

static CastellanPsrpPipeline *
new_pipeline (CastellanPsrpPool *pool,
              const char        *script,
              gboolean           no_input)
{
  g_autoptr(CastellanPsrpPipelineSpec) spec = castellan_psrp_pipeline_spec_new ();
  g_autoptr(GError) error = NULL;
  CastellanPsrpPipeline *pipeline;

  castellan_psrp_pipeline_spec_add (spec, castellan_psrp_command_new (script, TRUE));
  spec->no_input = no_input;
  spec->host = &host_defaults;
  pipeline = castellan_psrp_pool_create_pipeline (pool, spec, &error);
  g_assert_no_error (error);
  g_assert_nonnull (pipeline);
  g_assert_cmpint (castellan_psrp_pipeline_get_state (pipeline), ==, CASTELLAN_PSRP_PIPELINE_RUNNING);
  return pipeline;
}

/* What went out, read back: each message with its object id. */
typedef struct
{
  guint64 object_id;
  CastellanPsrpMessage *message;
  CastellanClixmlValue *value;
} Sent;

static void
sent_free (Sent *s)
{
  castellan_psrp_message_free (s->message);
  g_clear_pointer (&s->value, castellan_clixml_value_unref);
  g_free (s);
}

/* Takes every payload of one stream within @budget, checks each fits, and
 * decodes the messages; @payloads counts the payloads. */
static GPtrArray *
take_sent (CastellanPsrpPool        *pool,
           const CastellanPsrpGuid  *pid,
           CastellanPsrpStream       stream,
           gsize                     budget,
           guint                    *payloads)
{
  g_autoptr(CastellanPsrpDefragmenter) d = castellan_psrp_defragmenter_new (CASTELLAN_PSRP_DEFAULT_MAX_MESSAGE, 4);
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) sent_free);
  GBytes *payload;
  guint count = 0;

  while ((payload = castellan_psrp_pool_data_to_send (pool, pid, stream, budget)) != NULL)
    {
      g_autoptr(GError) error = NULL;
      GBytes *bytes;
      guint64 object_id;

      count++;
      g_assert_cmpuint (g_bytes_get_size (payload), >, 0);
      g_assert_cmpuint (g_bytes_get_size (payload), <=, budget);
      g_assert_true (castellan_psrp_defragmenter_feed (d, g_bytes_get_data (payload, NULL),
                                                       g_bytes_get_size (payload), &error));
      g_assert_no_error (error);
      g_bytes_unref (payload);
      while ((bytes = castellan_psrp_defragmenter_next (d, &object_id)) != NULL)
        {
          Sent *s = g_new0 (Sent, 1);
          gsize size;
          const char *data;

          s->object_id = object_id;
          s->message = castellan_psrp_message_unpack (bytes, &error);
          g_assert_no_error (error);
          g_assert_nonnull (s->message);
          g_assert_cmpint (s->message->destination, ==, CASTELLAN_PSRP_DESTINATION_SERVER);
          g_assert_true (memcmp (&s->message->rpid, castellan_psrp_pool_get_id (pool),
                                 sizeof (CastellanPsrpGuid)) == 0);
          data = g_bytes_get_data (s->message->data, &size);
          if (size > 0)
            {
              s->value = castellan_clixml_read (data, size, NULL, &error);
              g_assert_no_error (error);
            }
          g_ptr_array_add (out, s);
          g_bytes_unref (bytes);
        }
    }
  g_assert_false (castellan_psrp_pool_has_data (pool, pid, stream));
  g_assert_cmpuint (castellan_psrp_defragmenter_partial_count (d), ==, 0);
  if (payloads != NULL)
    *payloads = count;
  return out;
}

static CastellanClixmlValue *
ms (const CastellanClixmlValue *object,
    const char                 *name)
{
  CastellanClixmlValue *v = castellan_clixml_value_get_property (object, name);

  g_assert_nonnull (v);
  return v;
}

static void
assert_text (const CastellanClixmlValue *v,
             CastellanClixmlKind         kind,
             const char                 *text)
{
  g_assert_cmpint (v->kind, ==, kind);
  g_assert_cmpstr (v->text, ==, text);
}

static void
assert_int (const CastellanClixmlValue *v,
            CastellanClixmlKind         kind,
            gint64                      value)
{
  g_assert_cmpint (v->kind, ==, kind);
  g_assert_cmpint (v->integer, ==, value);
}

static void
assert_names (const CastellanClixmlValue *object,
              const char *const          *names)
{
  guint i;

  g_assert_nonnull (object->extended);
  for (i = 0; names[i] != NULL; i++)
    {
      CastellanClixmlProperty *p;

      g_assert_cmpuint (i, <, object->extended->len);
      p = g_ptr_array_index (object->extended, i);
      g_assert_cmpstr (p->name, ==, names[i]);
    }
  g_assert_cmpuint (i, ==, object->extended->len);
}

/* ---- states ------------------------------------------------------------- */

/* The server's first answer as Windows sends it: the session's capability
 * (no pool id, three fragments) and half the private data in one payload;
 * the rest and the state, BOM-prefixed, in the next. */
static void
test_open (void)
{
  g_autoptr(CastellanPsrpPool) pool = new_pool ();
  CastellanPsrpGuid rpid = guid (RPID);
  g_autoptr(GBytes) capability = server_message (CASTELLAN_PSRP_MESSAGE_SESSION_CAPABILITY, &zero_guid,
                                                 &zero_guid, CAPABILITY, FALSE);
  g_autoptr(GBytes) data = server_message (CASTELLAN_PSRP_MESSAGE_APPLICATION_PRIVATE_DATA, &rpid,
                                           &zero_guid, PRIVATE_DATA, FALSE);
  g_autoptr(GBytes) state = server_message (CASTELLAN_PSRP_MESSAGE_RUNSPACEPOOL_STATE, &rpid, &zero_guid,
                                            POOL_STATE ("2"), TRUE);
  g_autoptr(GByteArray) first = g_byte_array_new ();
  g_autoptr(GByteArray) second = g_byte_array_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(CastellanPsrpEvent) e1 = NULL;
  g_autoptr(CastellanPsrpEvent) e2 = NULL;
  g_autoptr(CastellanPsrpEvent) e3 = NULL;
  gsize cap_size = g_bytes_get_size (capability);
  gsize data_size = g_bytes_get_size (data);

  g_assert_cmpint (castellan_psrp_pool_get_state (pool), ==, CASTELLAN_PSRP_POOL_BEFORE_OPEN);
  g_assert_false (castellan_psrp_pool_has_data (pool, NULL, CASTELLAN_PSRP_STREAM_INPUT));
  g_assert_true (castellan_psrp_pool_open (pool, &error));
  g_assert_no_error (error);
  g_assert_cmpint (castellan_psrp_pool_get_state (pool), ==, CASTELLAN_PSRP_POOL_OPENING);
  g_assert_true (castellan_psrp_pool_has_data (pool, NULL, CASTELLAN_PSRP_STREAM_INPUT));
  g_assert_false (castellan_psrp_pool_open (pool, &error));
  assert_wrong_state (error, "Opening", "BeforeOpen");
  g_clear_error (&error);
  g_assert_null (castellan_psrp_pool_get_server_protocol (pool));

  add_part (first, 1, 0, capability, 0, 10);
  add_part (first, 1, 1, capability, 10, 50);
  add_part (first, 1, 2, capability, 60, cap_size - 60);
  add_part (first, 2, 0, data, 0, data_size / 2);
  add_part (second, 2, 1, data, data_size / 2, data_size - data_size / 2);
  add_whole (second, 3, state);

  g_assert_true (castellan_psrp_pool_receive (pool, NULL, first->data, first->len, &error));
  g_assert_no_error (error);
  e1 = expect_event (pool, CASTELLAN_PSRP_EVENT_SESSION_CAPABILITY);
  g_assert_cmpstr (e1->text, ==, "2.3");
  g_assert_false (e1->for_pipeline);
  g_assert_cmpstr (castellan_psrp_pool_get_server_protocol (pool), ==, "2.3");
  g_assert_null (castellan_psrp_pool_next_event (pool));
  g_assert_cmpint (castellan_psrp_pool_get_state (pool), ==, CASTELLAN_PSRP_POOL_OPENING);

  g_assert_true (castellan_psrp_pool_receive (pool, NULL, second->data, second->len, &error));
  g_assert_no_error (error);
  e2 = expect_event (pool, CASTELLAN_PSRP_EVENT_APPLICATION_DATA);
  g_assert_cmpstr (e2->text, ==, "5.1.17763.592");
  e3 = expect_event (pool, CASTELLAN_PSRP_EVENT_POOL_STATE);
  g_assert_cmpint (e3->state, ==, CASTELLAN_PSRP_POOL_OPENED);
  g_assert_null (e3->record);
  g_assert_null (castellan_psrp_pool_next_event (pool));
  g_assert_cmpint (castellan_psrp_pool_get_state (pool), ==, CASTELLAN_PSRP_POOL_OPENED);
}

static void
test_broken (void)
{
  g_autoptr(CastellanPsrpPool) pool = new_pool ();
  g_autoptr(CastellanPsrpPipelineSpec) spec = castellan_psrp_pipeline_spec_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(CastellanPsrpEvent) event = NULL;
  g_autofree char *text = NULL;

  g_assert_true (castellan_psrp_pool_open (pool, &error));
  feed (pool, NULL, CASTELLAN_PSRP_MESSAGE_RUNSPACEPOOL_STATE, &zero_guid,
        "<Obj RefId=\"0\"><MS><I32 N=\"RunspaceState\">5</I32>"
        ERROR_RECORD ("ExceptionAsErrorRecord", "The remote session ended: out of memory.")
        "</MS></Obj>");
  event = expect_event (pool, CASTELLAN_PSRP_EVENT_POOL_STATE);
  g_assert_cmpint (event->state, ==, CASTELLAN_PSRP_POOL_BROKEN);
  g_assert_nonnull (event->record);
  text = castellan_psrp_record_text (event->record);
  g_assert_cmpstr (text, ==, "The remote session ended: out of memory.");
  g_assert_cmpint (castellan_psrp_pool_get_state (pool), ==, CASTELLAN_PSRP_POOL_BROKEN);

  castellan_psrp_pipeline_spec_add (spec, castellan_psrp_command_new ("Get-Date", FALSE));
  g_assert_null (castellan_psrp_pool_create_pipeline (pool, spec, &error));
  assert_wrong_state (error, "Broken", "Opened");
}

/* PowerShell 7 sends its SESSION_CAPABILITY with a zero pool id; any
 * other pool's id breaks the stream for good. */
static void
test_other_pool (void)
{
  g_autoptr(CastellanPsrpPool) pool = new_pool ();
  CastellanPsrpGuid rpid = guid (RPID);
  CastellanPsrpGuid other = guid ("11111111-2222-3333-4444-555555555555");
  g_autoptr(GError) error = NULL;
  g_autoptr(CastellanPsrpEvent) event = NULL;

  g_assert_true (castellan_psrp_pool_open (pool, &error));
  feed (pool, NULL, CASTELLAN_PSRP_MESSAGE_SESSION_CAPABILITY, &zero_guid, CAPABILITY);
  event = expect_event (pool, CASTELLAN_PSRP_EVENT_SESSION_CAPABILITY);
  feed_refused (pool, NULL, CASTELLAN_PSRP_MESSAGE_RUNSPACEPOOL_STATE, &other, &zero_guid, POOL_STATE ("2"));
  /* The stream cannot be trusted: the pool is broken ... */
  g_assert_cmpint (castellan_psrp_pool_get_state (pool), ==, CASTELLAN_PSRP_POOL_BROKEN);
  /* ... and even a good message is refused now. */
  feed_refused (pool, NULL, CASTELLAN_PSRP_MESSAGE_RUNSPACEPOOL_STATE, &rpid, &zero_guid, POOL_STATE ("2"));
  g_assert_cmpint (castellan_psrp_pool_get_state (pool), ==, CASTELLAN_PSRP_POOL_BROKEN);
  g_assert_null (castellan_psrp_pool_next_event (pool));
}

/* A message the client sent, a state out of range, a pipeline's message
 * on the pool: each refused. */
static void
test_refused_pool_messages (void)
{
  CastellanPsrpGuid rpid = guid (RPID);

  {
    g_autoptr(CastellanPsrpPool) pool = new_pool ();
    g_autoptr(GBytes) data = g_bytes_new_static (POOL_STATE ("2"), strlen (POOL_STATE ("2")));
    g_autoptr(CastellanPsrpMessage) m =
      castellan_psrp_message_new (CASTELLAN_PSRP_DESTINATION_SERVER, CASTELLAN_PSRP_MESSAGE_RUNSPACEPOOL_STATE,
                                  &rpid, &zero_guid, data);
    g_autoptr(GBytes) packed = castellan_psrp_message_pack (m, FALSE);
    g_autoptr(GByteArray) payload = g_byte_array_new ();
    g_autoptr(GError) error = NULL;

    g_assert_true (castellan_psrp_pool_open (pool, NULL));
    add_whole (payload, 1, packed);
    g_assert_false (castellan_psrp_pool_receive (pool, NULL, payload->data, payload->len, &error));
    g_assert_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_PSRP_MALFORMED);
    g_assert_cmpint (castellan_psrp_pool_get_state (pool), ==, CASTELLAN_PSRP_POOL_BROKEN);
  }
  {
    g_autoptr(CastellanPsrpPool) pool = new_pool ();

    g_assert_true (castellan_psrp_pool_open (pool, NULL));
    feed_refused (pool, NULL, CASTELLAN_PSRP_MESSAGE_RUNSPACEPOOL_STATE, &rpid, &zero_guid, POOL_STATE ("9"));
    g_assert_cmpint (castellan_psrp_pool_get_state (pool), ==, CASTELLAN_PSRP_POOL_BROKEN);
  }
  {
    g_autoptr(CastellanPsrpPool) pool = new_pool ();

    g_assert_true (castellan_psrp_pool_open (pool, NULL));
    feed_refused (pool, NULL, CASTELLAN_PSRP_MESSAGE_PIPELINE_STATE, &rpid, &zero_guid, PIPELINE_STATE ("4"));
    g_assert_null (castellan_psrp_pool_next_event (pool));
  }
}

static void
test_wrong_state_calls (void)
{
  g_autoptr(CastellanPsrpPool) pool = new_pool ();
  g_autoptr(CastellanPsrpPipelineSpec) spec = castellan_psrp_pipeline_spec_new ();
  g_autoptr(GError) error = NULL;

  castellan_psrp_pipeline_spec_add (spec, castellan_psrp_command_new ("Get-Date", FALSE));
  g_assert_null (castellan_psrp_pool_create_pipeline (pool, spec, &error));
  assert_wrong_state (error, "BeforeOpen", "Opened");
  g_clear_error (&error);
  g_assert_false (castellan_psrp_pool_send_public_key (pool, "AAAA", &error));
  assert_wrong_state (error, "BeforeOpen", "Opened");
  g_clear_error (&error);

  g_assert_true (castellan_psrp_pool_open (pool, &error));
  g_assert_null (castellan_psrp_pool_create_pipeline (pool, spec, &error));
  assert_wrong_state (error, "Opening", "Opened");
  g_clear_error (&error);
  g_assert_false (castellan_psrp_pool_send_public_key (pool, "AAAA", &error));
  assert_wrong_state (error, "Opening", "Opened");
  g_clear_error (&error);
  /* Nothing of the refused calls was queued: SESSION_CAPABILITY and
   * INIT_RUNSPACEPOOL only. */
  {
    g_autoptr(GPtrArray) sent = take_sent (pool, NULL, CASTELLAN_PSRP_STREAM_INPUT, BIG_BUDGET, NULL);

    g_assert_cmpuint (sent->len, ==, 2);
  }
}

static void
test_pipeline_wrong_state_calls (void)
{
  g_autoptr(CastellanPsrpPool) pool = opened_pool ();
  g_autoptr(CastellanPsrpPipelineSpec) empty = castellan_psrp_pipeline_spec_new ();
  CastellanPsrpPipeline *pipeline = new_pipeline (pool, "$input", FALSE);
  CastellanPsrpGuid pid = *castellan_psrp_pipeline_get_id (pipeline);
  g_autoptr(GError) error = NULL;

  g_assert_null (castellan_psrp_pool_create_pipeline (pool, empty, &error));
  g_assert_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_FAILED);
  g_clear_error (&error);

  g_assert_true (castellan_psrp_pipeline_accepts_input (pipeline));
  g_assert_true (castellan_psrp_pipeline_send_input (pipeline, castellan_clixml_value_new_string ("a"), &error));
  g_assert_true (castellan_psrp_pipeline_end_input (pipeline, &error));
  g_assert_no_error (error);
  g_assert_false (castellan_psrp_pipeline_accepts_input (pipeline));
  g_assert_false (castellan_psrp_pipeline_send_input (pipeline, castellan_clixml_value_new_string ("b"), &error));
  g_assert_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_FAILED);
  g_clear_error (&error);
  g_assert_false (castellan_psrp_pipeline_end_input (pipeline, &error));
  g_assert_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_FAILED);
  g_clear_error (&error);
  {
    /* CREATE_PIPELINE, one input, its end: nothing after. */
    g_autoptr(GPtrArray) sent = take_sent (pool, &pid, CASTELLAN_PSRP_STREAM_INPUT, BIG_BUDGET, NULL);

    g_assert_cmpuint (sent->len, ==, 3);
    g_assert_cmpint (((Sent *) sent->pdata[2])->message->type, ==, CASTELLAN_PSRP_MESSAGE_END_OF_PIPELINE_INPUT);
  }

  /* Running: a host call may be answered, and the pipeline stopped. */
  g_assert_true (castellan_psrp_pipeline_host_response (pipeline, 1, CASTELLAN_PSRP_HOST_READ_LINE,
                                                        castellan_clixml_value_new_string ("x"), NULL, &error));
  g_assert_no_error (error);
  g_assert_true (castellan_psrp_pipeline_stopping (pipeline, &error));
  g_assert_cmpint (castellan_psrp_pipeline_get_state (pipeline), ==, CASTELLAN_PSRP_PIPELINE_STOPPING);
  g_assert_true (castellan_psrp_pipeline_stopping (pipeline, &error));
  g_assert_no_error (error);
  feed (pool, &pid, CASTELLAN_PSRP_MESSAGE_PIPELINE_STATE, &pid, PIPELINE_STATE ("3"));
  g_assert_cmpint (castellan_psrp_pipeline_get_state (pipeline), ==, CASTELLAN_PSRP_PIPELINE_STOPPED);
  drain_events (pool);

  g_assert_false (castellan_psrp_pipeline_host_response (pipeline, 2, CASTELLAN_PSRP_HOST_READ_LINE,
                                                         castellan_clixml_value_new_string ("y"), NULL, &error));
  assert_wrong_state (error, "Stopped", "Running");
  g_clear_error (&error);
  g_assert_false (castellan_psrp_pipeline_stopping (pipeline, &error));
  assert_wrong_state (error, "Stopped", "Running");
  g_clear_error (&error);
  g_assert_false (castellan_psrp_pipeline_send_input (pipeline, castellan_clixml_value_new_string ("c"), &error));
  assert_wrong_state (error, "Stopped", "Running");
  g_clear_error (&error);
  {
    /* The one response given while it ran, no more. */
    g_autoptr(GPtrArray) sent = take_sent (pool, &pid, CASTELLAN_PSRP_STREAM_PROMPT_RESPONSE, BIG_BUDGET, NULL);

    g_assert_cmpuint (sent->len, ==, 1);
  }
}

/* ---- what the pool sends ------------------------------------------------ */

static void
test_first_payload (void)
{
  CastellanPsrpGuid rpid = guid (RPID);
  const char *dictionary[] = { "System.Collections.Hashtable", "System.Object", NULL };
  g_autoptr(CastellanClixmlValue) arguments = castellan_clixml_value_new_object (dictionary,
                                                                                CASTELLAN_CLIXML_CONTAINER_DICTIONARY);
  CastellanPsrpPoolOptions options = {
    .min_runspaces = 2, .max_runspaces = 5, .host = &host_defaults, .application_arguments = arguments,
  };
  g_autoptr(CastellanPsrpPool) pool = NULL;
  g_autoptr(GPtrArray) sent = NULL;
  static const char *const init_names[] = {
    "MinRunspaces", "MaxRunspaces", "PSThreadOptions", "ApartmentState", "HostInfo",
    "ApplicationArguments", NULL,
  };
  static const char *const host_names[] = {
    "_hostDefaultData", "_isHostNull", "_isHostUINull", "_isHostRawUINull", "_useRunspaceHost", NULL,
  };
  Sent *cap;
  Sent *init;
  CastellanClixmlValue *host;
  CastellanClixmlValue *data;
  CastellanClixmlValue *args;
  g_autofree char *written = NULL;
  guint payloads = 0;

  castellan_clixml_value_add_entry (arguments, castellan_clixml_value_new_string ("Tool"),
                                    castellan_clixml_value_new_string ("castellan"));
  pool = castellan_psrp_pool_new (&rpid, &options);
  g_assert_true (castellan_psrp_pool_open (pool, NULL));
  sent = take_sent (pool, NULL, CASTELLAN_PSRP_STREAM_INPUT, BIG_BUDGET, &payloads);
  g_assert_cmpuint (payloads, ==, 1);
  g_assert_cmpuint (sent->len, ==, 2);
  cap = sent->pdata[0];
  init = sent->pdata[1];

  g_assert_cmpuint (cap->object_id, ==, 1);
  g_assert_cmpint (cap->message->type, ==, CASTELLAN_PSRP_MESSAGE_SESSION_CAPABILITY);
  g_assert_true (castellan_psrp_guid_is_zero (&cap->message->pid));
  written = castellan_clixml_write (cap->value);
  g_assert_cmpstr (written, ==,
                   "<Obj RefId=\"0\"><MS><Version N=\"protocolversion\">2.3</Version>"
                   "<Version N=\"PSVersion\">2.0</Version>"
                   "<Version N=\"SerializationVersion\">1.1.0.1</Version></MS></Obj>");

  g_assert_cmpuint (init->object_id, ==, 2);
  g_assert_cmpint (init->message->type, ==, CASTELLAN_PSRP_MESSAGE_INIT_RUNSPACEPOOL);
  g_assert_true (castellan_psrp_guid_is_zero (&init->message->pid));
  assert_names (init->value, init_names);
  assert_int (ms (init->value, "MinRunspaces"), CASTELLAN_CLIXML_INT32, 2);
  assert_int (ms (init->value, "MaxRunspaces"), CASTELLAN_CLIXML_INT32, 5);
  g_assert_cmpstr (ms (init->value, "PSThreadOptions")->to_string, ==, "Default");
  assert_int (ms (init->value, "PSThreadOptions")->inner, CASTELLAN_CLIXML_INT32, 0);
  g_assert_cmpstr (ms (init->value, "PSThreadOptions")->type_names[0], ==,
                   "System.Management.Automation.Runspaces.PSThreadOptions");
  g_assert_cmpstr (ms (init->value, "ApartmentState")->to_string, ==, "UNKNOWN");
  assert_int (ms (init->value, "ApartmentState")->inner, CASTELLAN_CLIXML_INT32, 2);

  host = ms (init->value, "HostInfo");
  assert_names (host, host_names);
  g_assert_cmpint (ms (host, "_isHostNull")->integer, ==, 0);
  data = ms (ms (host, "_hostDefaultData"), "data");
  g_assert_cmpint (data->container, ==, CASTELLAN_CLIXML_CONTAINER_DICTIONARY);
  g_assert_cmpuint (data->entries->len, ==, 10);
  for (guint i = 0; i < 10; i++)
    {
      CastellanClixmlEntry *e = g_ptr_array_index (data->entries, i);

      assert_int (e->key, CASTELLAN_CLIXML_INT32, i);
      g_assert_cmpint (ms (e->value, "T")->kind, ==, CASTELLAN_CLIXML_STRING);
      g_assert_nonnull (ms (e->value, "V"));
    }
  {
    CastellanClixmlEntry *buffer = g_ptr_array_index (data->entries, 5);
    CastellanClixmlEntry *title = g_ptr_array_index (data->entries, 9);

    assert_text (ms (buffer->value, "T"), CASTELLAN_CLIXML_STRING, "System.Management.Automation.Host.Size");
    assert_int (ms (ms (buffer->value, "V"), "width"), CASTELLAN_CLIXML_INT32, 132);
    assert_int (ms (ms (buffer->value, "V"), "height"), CASTELLAN_CLIXML_INT32, 50);
    assert_text (ms (title->value, "V"), CASTELLAN_CLIXML_STRING, "Castellan");
  }

  args = ms (init->value, "ApplicationArguments");
  g_assert_cmpint (args->container, ==, CASTELLAN_CLIXML_CONTAINER_DICTIONARY);
  assert_text (castellan_clixml_value_lookup (args, "Tool"), CASTELLAN_CLIXML_STRING, "castellan");
}

/* Without application arguments or a host: Nil, and a null host. */
static void
test_first_payload_without_host (void)
{
  CastellanPsrpGuid rpid = guid (RPID);
  g_autoptr(CastellanPsrpPool) pool = castellan_psrp_pool_new (&rpid, NULL);
  g_autoptr(GPtrArray) sent = NULL;
  CastellanClixmlValue *init;
  CastellanClixmlValue *host;

  g_assert_true (castellan_psrp_pool_open (pool, NULL));
  sent = take_sent (pool, NULL, CASTELLAN_PSRP_STREAM_INPUT, BIG_BUDGET, NULL);
  g_assert_cmpuint (sent->len, ==, 2);
  init = ((Sent *) sent->pdata[1])->value;
  assert_int (ms (init, "MinRunspaces"), CASTELLAN_CLIXML_INT32, 1);
  assert_int (ms (init, "MaxRunspaces"), CASTELLAN_CLIXML_INT32, 1);
  g_assert_cmpint (ms (init, "ApplicationArguments")->kind, ==, CASTELLAN_CLIXML_NULL);
  host = ms (init, "HostInfo");
  g_assert_null (castellan_clixml_value_get_property (host, "_hostDefaultData"));
  g_assert_cmpint (ms (host, "_isHostNull")->integer, ==, 1);
}

/* One counter for every message the pool's client sends, whatever the
 * stream. */
static void
test_object_ids (void)
{
  g_autoptr(CastellanPsrpPool) pool = opened_pool ();   /* ids 1 and 2 */
  g_autoptr(GError) error = NULL;
  CastellanPsrpPipeline *a;
  CastellanPsrpPipeline *b;
  CastellanPsrpGuid pid_a;
  CastellanPsrpGuid pid_b;

  g_assert_true (castellan_psrp_pool_host_response (pool, 4, CASTELLAN_PSRP_HOST_GET_NAME,
                                                    castellan_clixml_value_new_string ("Castellan"), NULL, &error));
  a = new_pipeline (pool, "$input | Write-Output", FALSE);                   /* 4 */
  b = new_pipeline (pool, "Get-Date", TRUE);                                 /* 5 */
  pid_a = *castellan_psrp_pipeline_get_id (a);
  pid_b = *castellan_psrp_pipeline_get_id (b);
  g_assert_false (memcmp (&pid_a, &pid_b, sizeof pid_a) == 0);
  g_assert_true (castellan_psrp_pipeline_send_input (a, castellan_clixml_value_new_string ("one"), &error)); /* 6 */
  g_assert_true (castellan_psrp_pool_send_public_key (pool, "BgIAAACkAABSU0Ex", &error));                 /* 7 */
  g_assert_true (castellan_psrp_pipeline_host_response (b, 9, CASTELLAN_PSRP_HOST_READ_LINE,
                                                        castellan_clixml_value_new_string ("yes"), NULL,
                                                        &error));                                          /* 8 */
  g_assert_true (castellan_psrp_pipeline_end_input (a, &error));                                           /* 9 */
  g_assert_no_error (error);

  {
    g_autoptr(GPtrArray) s = take_sent (pool, NULL, CASTELLAN_PSRP_STREAM_PROMPT_RESPONSE, BIG_BUDGET, NULL);
    Sent *r;

    g_assert_cmpuint (s->len, ==, 1);
    r = s->pdata[0];
    g_assert_cmpuint (r->object_id, ==, 3);
    g_assert_cmpint (r->message->type, ==, CASTELLAN_PSRP_MESSAGE_RUNSPACEPOOL_HOST_RESPONSE);
    assert_int (ms (r->value, "ci"), CASTELLAN_CLIXML_INT64, 4);
    assert_text (ms (r->value, "mr"), CASTELLAN_CLIXML_STRING, "Castellan");
  }
  {
    g_autoptr(GPtrArray) s = take_sent (pool, NULL, CASTELLAN_PSRP_STREAM_INPUT, BIG_BUDGET, NULL);
    Sent *k;

    g_assert_cmpuint (s->len, ==, 1);
    k = s->pdata[0];
    g_assert_cmpuint (k->object_id, ==, 7);
    g_assert_cmpint (k->message->type, ==, CASTELLAN_PSRP_MESSAGE_PUBLIC_KEY);
    assert_text (ms (k->value, "PublicKey"), CASTELLAN_CLIXML_STRING, "BgIAAACkAABSU0Ex");
  }
  {
    g_autoptr(GPtrArray) s = take_sent (pool, &pid_a, CASTELLAN_PSRP_STREAM_INPUT, BIG_BUDGET, NULL);
    static const guint64 ids[] = { 4, 6, 9 };
    static const CastellanPsrpMessageType types[] = {
      CASTELLAN_PSRP_MESSAGE_CREATE_PIPELINE, CASTELLAN_PSRP_MESSAGE_PIPELINE_INPUT,
      CASTELLAN_PSRP_MESSAGE_END_OF_PIPELINE_INPUT,
    };

    g_assert_cmpuint (s->len, ==, 3);
    for (guint i = 0; i < 3; i++)
      {
        Sent *m = s->pdata[i];

        g_assert_cmpuint (m->object_id, ==, ids[i]);
        g_assert_cmpint (m->message->type, ==, types[i]);
        g_assert_true (memcmp (&m->message->pid, &pid_a, sizeof pid_a) == 0);
      }
    assert_text (((Sent *) s->pdata[1])->value, CASTELLAN_CLIXML_STRING, "one");
    g_assert_cmpuint (g_bytes_get_size (((Sent *) s->pdata[2])->message->data), ==, 0);
  }
  {
    g_autoptr(GPtrArray) s = take_sent (pool, &pid_b, CASTELLAN_PSRP_STREAM_INPUT, BIG_BUDGET, NULL);

    g_assert_cmpuint (s->len, ==, 1);
    g_assert_cmpuint (((Sent *) s->pdata[0])->object_id, ==, 5);
    g_assert_true (memcmp (&((Sent *) s->pdata[0])->message->pid, &pid_b, sizeof pid_b) == 0);
  }
  {
    g_autoptr(GPtrArray) s = take_sent (pool, &pid_b, CASTELLAN_PSRP_STREAM_PROMPT_RESPONSE, BIG_BUDGET, NULL);
    Sent *r;

    g_assert_cmpuint (s->len, ==, 1);
    r = s->pdata[0];
    g_assert_cmpuint (r->object_id, ==, 8);
    g_assert_cmpint (r->message->type, ==, CASTELLAN_PSRP_MESSAGE_PIPELINE_HOST_RESPONSE);
    assert_int (ms (r->value, "ci"), CASTELLAN_CLIXML_INT64, 9);
    assert_int (ms (r->value, "mi")->inner, CASTELLAN_CLIXML_INT32, CASTELLAN_PSRP_HOST_READ_LINE);
  }
  g_assert_null (castellan_psrp_pool_data_to_send (pool, &pid_a, CASTELLAN_PSRP_STREAM_PROMPT_RESPONSE,
                                                   BIG_BUDGET));
}

/* A CREATE_PIPELINE larger than a Send may carry goes in several
 * payloads, none over the budget; the first payload of the pool too. */
static void
test_budget (void)
{
  g_autoptr(CastellanPsrpPool) pool = new_pool ();
  g_autoptr(GString) script = g_string_new ("");
  CastellanPsrpPipeline *pipeline;
  CastellanPsrpGuid pid;
  guint payloads = 0;

  g_assert_true (castellan_psrp_pool_open (pool, NULL));
  {
    g_autoptr(GPtrArray) sent = take_sent (pool, NULL, CASTELLAN_PSRP_STREAM_INPUT, 200, &payloads);

    g_assert_cmpuint (sent->len, ==, 2);
    g_assert_cmpuint (payloads, >, 5);
  }
  feed (pool, NULL, CASTELLAN_PSRP_MESSAGE_RUNSPACEPOOL_STATE, &zero_guid, POOL_STATE ("2"));
  drain_events (pool);

  for (guint i = 0; i < 400; i++)
    g_string_append_printf (script, "Write-Output %u\n", i);
  pipeline = new_pipeline (pool, script->str, TRUE);
  pid = *castellan_psrp_pipeline_get_id (pipeline);
  {
    g_autoptr(GPtrArray) sent = take_sent (pool, &pid, CASTELLAN_PSRP_STREAM_INPUT, 1000, &payloads);
    CastellanClixmlValue *cmds;
    CastellanClixmlValue *cmd;

    g_assert_cmpuint (sent->len, ==, 1);
    g_assert_cmpuint (payloads, >=, script->len / 1000);
    g_assert_cmpint (((Sent *) sent->pdata[0])->message->type, ==, CASTELLAN_PSRP_MESSAGE_CREATE_PIPELINE);
    cmds = ms (ms (((Sent *) sent->pdata[0])->value, "PowerShell"), "Cmds");
    g_assert_cmpuint (cmds->items->len, ==, 1);
    cmd = g_ptr_array_index (cmds->items, 0);
    assert_text (ms (cmd, "Cmd"), CASTELLAN_CLIXML_STRING, script->str);
    g_assert_cmpint (ms (cmd, "IsScript")->integer, ==, 1);
  }
}

/* ---- what the server sends a pipeline ----------------------------------- */

#define INFORMATIONAL(message) \
  "<Obj RefId=\"0\"><TN RefId=\"0\"><T>System.Management.Automation.WarningRecord</T>" \
  "<T>System.Management.Automation.InformationalRecord</T><T>System.Object</T></TN>" \
  "<ToString>" message "</ToString><MS><S N=\"InformationalRecord_Message\">" message "</S>" \
  "<B N=\"InformationalRecord_SerializeInvocationInfo\">false</B></MS></Obj>"

static void
test_pipeline_events (void)
{
  g_autoptr(CastellanPsrpPool) pool = opened_pool ();
  CastellanPsrpPipeline *pipeline = new_pipeline (pool, "Get-Thing", TRUE);
  CastellanPsrpGuid pid = *castellan_psrp_pipeline_get_id (pipeline);
  CastellanPsrpGuid rpid = guid (RPID);
  static const struct
  {
    CastellanPsrpMessageType type;
    CastellanPsrpEventType event;
    const char *message;
  } records[] = {
    { CASTELLAN_PSRP_MESSAGE_WARNING_RECORD, CASTELLAN_PSRP_EVENT_WARNING, "careful" },
    { CASTELLAN_PSRP_MESSAGE_VERBOSE_RECORD, CASTELLAN_PSRP_EVENT_VERBOSE, "in detail" },
    { CASTELLAN_PSRP_MESSAGE_DEBUG_RECORD, CASTELLAN_PSRP_EVENT_DEBUG, "for the developer" },
  };

  feed (pool, &pid, CASTELLAN_PSRP_MESSAGE_PIPELINE_OUTPUT, &pid, "<S>hello</S>");
  {
    g_autoptr(CastellanPsrpEvent) e = expect_event (pool, CASTELLAN_PSRP_EVENT_OUTPUT);

    g_assert_true (e->for_pipeline);
    g_assert_true (memcmp (&e->pipeline, &pid, sizeof pid) == 0);
    assert_text (e->value, CASTELLAN_CLIXML_STRING, "hello");
  }
  feed (pool, &pid, CASTELLAN_PSRP_MESSAGE_ERROR_RECORD, &pid,
        "<Obj RefId=\"0\"><TN RefId=\"0\"><T>System.Management.Automation.ErrorRecord</T><T>System.Object</T>"
        "</TN><MS><Obj N=\"Exception\" RefId=\"1\"><Props><S N=\"Message\">Cannot find path.</S></Props>"
        "</Obj><S N=\"FullyQualifiedErrorId\">PathNotFound</S></MS></Obj>");
  {
    g_autoptr(CastellanPsrpEvent) e = expect_event (pool, CASTELLAN_PSRP_EVENT_ERROR);

    g_assert_cmpstr (e->text, ==, "Cannot find path.");
  }
  for (guint i = 0; i < G_N_ELEMENTS (records); i++)
    {
      g_autofree char *xml = g_strdup_printf (INFORMATIONAL ("%s"), records[i].message, records[i].message);
      g_autoptr(CastellanPsrpEvent) e = NULL;

      feed (pool, &pid, records[i].type, &pid, xml);
      e = expect_event (pool, records[i].event);
      g_assert_cmpstr (e->text, ==, records[i].message);
    }
  /* Write-Host: a HostInformationMessage, its Message the text (read
   * from the property, not the ToString, left out here). */
  feed (pool, &pid, CASTELLAN_PSRP_MESSAGE_INFORMATION_RECORD, &pid,
        "<Obj RefId=\"0\"><TN RefId=\"0\"><T>System.Management.Automation.InformationRecord</T>"
        "<T>System.Object</T></TN><MS><Obj N=\"MessageData\" RefId=\"1\"><TN RefId=\"1\">"
        "<T>System.Management.Automation.HostInformationMessage</T><T>System.Object</T></TN>"
        "<Props><S N=\"Message\">from Write-Host</S>"
        "<B N=\"NoNewLine\">false</B></Props></Obj><S N=\"Source\">Write-Host</S></MS></Obj>");
  {
    g_autoptr(CastellanPsrpEvent) e = expect_event (pool, CASTELLAN_PSRP_EVENT_INFORMATION);

    g_assert_cmpstr (e->text, ==, "from Write-Host");
  }
  feed (pool, &pid, CASTELLAN_PSRP_MESSAGE_INFORMATION_RECORD, &pid,
        "<Obj RefId=\"0\"><MS><S N=\"MessageData\">plain information</S></MS></Obj>");
  {
    g_autoptr(CastellanPsrpEvent) e = expect_event (pool, CASTELLAN_PSRP_EVENT_INFORMATION);

    g_assert_cmpstr (e->text, ==, "plain information");
  }
  feed (pool, &pid, CASTELLAN_PSRP_MESSAGE_PROGRESS_RECORD, &pid,
        "<Obj RefId=\"0\"><MS><S N=\"Activity\">Copying</S><I32 N=\"ActivityId\">1</I32>"
        "<I32 N=\"PercentComplete\">40</I32></MS></Obj>");
  {
    g_autoptr(CastellanPsrpEvent) e = expect_event (pool, CASTELLAN_PSRP_EVENT_PROGRESS);

    assert_int (ms (e->value, "PercentComplete"), CASTELLAN_CLIXML_INT32, 40);
  }
  feed (pool, &pid, CASTELLAN_PSRP_MESSAGE_PIPELINE_HOST_CALL, &pid,
        "<Obj RefId=\"0\"><MS><I64 N=\"ci\">5</I64><Obj N=\"mi\" RefId=\"1\"><TN RefId=\"0\">"
        "<T>System.Management.Automation.Remoting.RemoteHostMethodId</T><T>System.Enum</T>"
        "<T>System.ValueType</T><T>System.Object</T></TN><ToString>WriteLine2</ToString><I32>16</I32></Obj>"
        "<Obj N=\"mp\" RefId=\"2\"><TN RefId=\"1\"><T>System.Collections.ArrayList</T><T>System.Object</T>"
        "</TN><LST><I32>14</I32><I32>0</I32><S>coloured</S></LST></Obj></MS></Obj>");
  {
    g_autoptr(CastellanPsrpEvent) e = expect_event (pool, CASTELLAN_PSRP_EVENT_HOST_CALL);

    g_assert_nonnull (e->call);
    g_assert_cmpint (e->call->call_id, ==, 5);
    g_assert_cmpint (e->call->method, ==, CASTELLAN_PSRP_HOST_WRITE_LINE2);
    g_assert_cmpuint (e->call->parameters->len, ==, 3);
    assert_int (castellan_psrp_host_call_parameter (e->call, 0), CASTELLAN_CLIXML_INT32, 14);
    assert_text (castellan_psrp_host_call_parameter (e->call, 2), CASTELLAN_CLIXML_STRING, "coloured");
    g_assert_null (castellan_psrp_host_call_parameter (e->call, 3));
  }
  g_assert_cmpint (castellan_psrp_pipeline_get_state (pipeline), ==, CASTELLAN_PSRP_PIPELINE_RUNNING);
  feed (pool, &pid, CASTELLAN_PSRP_MESSAGE_PIPELINE_STATE, &pid, PIPELINE_STATE ("4"));
  {
    g_autoptr(CastellanPsrpEvent) e = expect_event (pool, CASTELLAN_PSRP_EVENT_PIPELINE_STATE);

    g_assert_cmpint (e->state, ==, CASTELLAN_PSRP_PIPELINE_COMPLETED);
    g_assert_null (e->record);
  }
  g_assert_cmpint (castellan_psrp_pipeline_get_state (pipeline), ==, CASTELLAN_PSRP_PIPELINE_COMPLETED);
  g_assert_null (castellan_psrp_pool_next_event (pool));

  /* Nothing may follow the last state. */
  feed_refused (pool, &pid, CASTELLAN_PSRP_MESSAGE_PIPELINE_OUTPUT, &rpid, &pid, "<S>late</S>");
  g_assert_null (castellan_psrp_pool_next_event (pool));
  g_assert_cmpint (castellan_psrp_pipeline_get_state (pipeline), ==, CASTELLAN_PSRP_PIPELINE_COMPLETED);
}

static void
test_pipeline_failed (void)
{
  g_autoptr(CastellanPsrpPool) pool = opened_pool ();
  CastellanPsrpPipeline *pipeline = new_pipeline (pool, "throw 'no'", TRUE);
  CastellanPsrpGuid pid = *castellan_psrp_pipeline_get_id (pipeline);
  CastellanPsrpGuid rpid = guid (RPID);
  g_autoptr(CastellanPsrpEvent) e = NULL;
  g_autofree char *text = NULL;

  feed (pool, &pid, CASTELLAN_PSRP_MESSAGE_PIPELINE_STATE, &pid,
        "<Obj RefId=\"0\"><MS><I32 N=\"PipelineState\">5</I32>"
        ERROR_RECORD ("ExceptionAsErrorRecord", "no") "</MS></Obj>");
  e = expect_event (pool, CASTELLAN_PSRP_EVENT_PIPELINE_STATE);
  g_assert_cmpint (e->state, ==, CASTELLAN_PSRP_PIPELINE_FAILED);
  g_assert_nonnull (e->record);
  text = castellan_psrp_record_text (e->record);
  g_assert_cmpstr (text, ==, "no");
  g_assert_cmpint (castellan_psrp_pipeline_get_state (pipeline), ==, CASTELLAN_PSRP_PIPELINE_FAILED);
  g_assert_false (castellan_psrp_pipeline_accepts_input (pipeline));
  feed_refused (pool, &pid, CASTELLAN_PSRP_MESSAGE_PIPELINE_STATE, &rpid, &pid, PIPELINE_STATE ("1"));
  g_assert_cmpint (castellan_psrp_pipeline_get_state (pipeline), ==, CASTELLAN_PSRP_PIPELINE_FAILED);
}

/* A state back to NotStarted, or past the last one, is refused. */
static void
test_pipeline_state_out_of_order (void)
{
  static const char *const states[] = { "0", "7", "-1" };

  for (guint i = 0; i < G_N_ELEMENTS (states); i++)
    {
      g_autoptr(CastellanPsrpPool) pool = opened_pool ();
      CastellanPsrpPipeline *pipeline = new_pipeline (pool, "Get-Date", TRUE);
      CastellanPsrpGuid pid = *castellan_psrp_pipeline_get_id (pipeline);
      CastellanPsrpGuid rpid = guid (RPID);
      g_autofree char *xml = g_strdup_printf (PIPELINE_STATE ("%s"), states[i]);

      feed_refused (pool, &pid, CASTELLAN_PSRP_MESSAGE_PIPELINE_STATE, &rpid, &pid, xml);
      g_assert_cmpint (castellan_psrp_pipeline_get_state (pipeline), ==, CASTELLAN_PSRP_PIPELINE_RUNNING);
      g_assert_null (castellan_psrp_pool_next_event (pool));
    }
}

/* What comes for a pipeline the client has forgotten goes unread, on its
 * own stream or the pool's. */
static void
test_forgotten_pipeline (void)
{
  g_autoptr(CastellanPsrpPool) pool = opened_pool ();
  CastellanPsrpPipeline *pipeline = new_pipeline (pool, "Get-Date", TRUE);
  CastellanPsrpGuid pid = *castellan_psrp_pipeline_get_id (pipeline);

  g_assert_true (castellan_psrp_pool_get_pipeline (pool, &pid) == pipeline);
  castellan_psrp_pool_forget_pipeline (pool, &pid);
  g_assert_null (castellan_psrp_pool_get_pipeline (pool, &pid));
  g_assert_false (castellan_psrp_pool_has_data (pool, &pid, CASTELLAN_PSRP_STREAM_INPUT));
  g_assert_null (castellan_psrp_pool_data_to_send (pool, &pid, CASTELLAN_PSRP_STREAM_INPUT, BIG_BUDGET));
  feed (pool, &pid, CASTELLAN_PSRP_MESSAGE_PIPELINE_OUTPUT, &pid, "<S>late</S>");
  feed (pool, NULL, CASTELLAN_PSRP_MESSAGE_PIPELINE_STATE, &pid, PIPELINE_STATE ("4"));
  g_assert_null (castellan_psrp_pool_next_event (pool));
  /* The pool itself still listens. */
  feed (pool, NULL, CASTELLAN_PSRP_MESSAGE_RUNSPACEPOOL_STATE, &zero_guid, POOL_STATE ("3"));
  {
    g_autoptr(CastellanPsrpEvent) e = expect_event (pool, CASTELLAN_PSRP_EVENT_POOL_STATE);

    g_assert_cmpint (e->state, ==, CASTELLAN_PSRP_POOL_CLOSED);
  }
}

/* The key exchange: PUBLIC_KEY_REQUEST, then the session key. */
static void
test_session_key (void)
{
  g_autoptr(CastellanPsrpPool) pool = opened_pool ();
  CastellanPsrpGuid rpid = guid (RPID);

  feed (pool, NULL, CASTELLAN_PSRP_MESSAGE_PUBLIC_KEY_REQUEST, &zero_guid, "<S></S>");
  {
    g_autoptr(CastellanPsrpEvent) e = expect_event (pool, CASTELLAN_PSRP_EVENT_KEY_REQUESTED);

    g_assert_false (e->for_pipeline);
  }
  feed (pool, NULL, CASTELLAN_PSRP_MESSAGE_ENCRYPTED_SESSION_KEY, &zero_guid,
        "<Obj RefId=\"0\"><MS><S N=\"EncryptedSessionKey\">AQIAAAAQAABmZmZm</S></MS></Obj>");
  {
    g_autoptr(CastellanPsrpEvent) e = expect_event (pool, CASTELLAN_PSRP_EVENT_SESSION_KEY);

    g_assert_cmpstr (e->text, ==, "AQIAAAAQAABmZmZm");
  }
  feed_refused (pool, NULL, CASTELLAN_PSRP_MESSAGE_ENCRYPTED_SESSION_KEY, &rpid, &zero_guid,
                "<Obj RefId=\"0\"><MS><S N=\"Other\">x</S></MS></Obj>");
}

/* A pool host call, answered on the pool's prompt-response stream. */
static void
test_pool_host_call (void)
{
  g_autoptr(CastellanPsrpPool) pool = opened_pool ();

  feed (pool, NULL, CASTELLAN_PSRP_MESSAGE_RUNSPACEPOOL_HOST_CALL, &zero_guid,
        "<Obj RefId=\"0\"><MS><I64 N=\"ci\">-100</I64><Obj N=\"mi\" RefId=\"1\"><TN RefId=\"0\">"
        "<T>System.Management.Automation.Remoting.RemoteHostMethodId</T><T>System.Enum</T>"
        "<T>System.ValueType</T><T>System.Object</T></TN><ToString>SetShouldExit</ToString><I32>6</I32>"
        "</Obj><Obj N=\"mp\" RefId=\"2\"><TN RefId=\"1\"><T>System.Collections.ArrayList</T>"
        "<T>System.Object</T></TN><LST><I32>3</I32></LST></Obj></MS></Obj>");
  {
    g_autoptr(CastellanPsrpEvent) e = expect_event (pool, CASTELLAN_PSRP_EVENT_HOST_CALL);

    g_assert_false (e->for_pipeline);
    g_assert_cmpint (e->call->call_id, ==, CASTELLAN_PSRP_HOST_CALL_VOID);
    g_assert_cmpint (e->call->method, ==, CASTELLAN_PSRP_HOST_SET_SHOULD_EXIT);
    assert_int (castellan_psrp_host_call_parameter (e->call, 0), CASTELLAN_CLIXML_INT32, 3);
  }
  /* ci missing: refused. */
  feed_refused (pool, NULL, CASTELLAN_PSRP_MESSAGE_RUNSPACEPOOL_HOST_CALL, castellan_psrp_pool_get_id (pool),
                &zero_guid, "<Obj RefId=\"0\"><MS><I32 N=\"mi\">1</I32></MS></Obj>");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/psrp/pool/open", test_open);
  g_test_add_func ("/psrp/pool/broken", test_broken);
  g_test_add_func ("/psrp/pool/other-pool", test_other_pool);
  g_test_add_func ("/psrp/pool/refused-pool-messages", test_refused_pool_messages);
  g_test_add_func ("/psrp/pool/wrong-state", test_wrong_state_calls);
  g_test_add_func ("/psrp/pool/pipeline-wrong-state", test_pipeline_wrong_state_calls);
  g_test_add_func ("/psrp/pool/first-payload", test_first_payload);
  g_test_add_func ("/psrp/pool/first-payload-without-host", test_first_payload_without_host);
  g_test_add_func ("/psrp/pool/object-ids", test_object_ids);
  g_test_add_func ("/psrp/pool/budget", test_budget);
  g_test_add_func ("/psrp/pool/pipeline-events", test_pipeline_events);
  g_test_add_func ("/psrp/pool/pipeline-failed", test_pipeline_failed);
  g_test_add_func ("/psrp/pool/pipeline-state-out-of-order", test_pipeline_state_out_of_order);
  g_test_add_func ("/psrp/pool/forgotten-pipeline", test_forgotten_pipeline);
  g_test_add_func ("/psrp/pool/session-key", test_session_key);
  g_test_add_func ("/psrp/pool/pool-host-call", test_pool_host_call);
  return g_test_run ();
}
