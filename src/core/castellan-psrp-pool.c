/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "castellan-error.h"
#include "castellan-psrp-fragment.h"
#include "castellan-psrp-pool.h"

struct _CastellanPsrpPool
{
  CastellanPsrpGuid rpid;
  CastellanPsrpPoolState state;
  CastellanPsrpPoolOptions options;
  CastellanClixmlValue *application_arguments;
  CastellanClixmlValue *host_info;
  char *server_protocol;
  guint64 object_ids;             /* the client's one counter, all streams */
  CastellanPsrpFragmenter *input;
  CastellanPsrpFragmenter *responses;
  CastellanPsrpDefragmenter *received;   /* the pool's own Receive */
  GHashTable *defragmenters;      /* pid -> its Receive's defragmenter */
  GHashTable *pipelines;          /* pid -> CastellanPsrpPipeline */
  GQueue events;
  gboolean failed;                /* the stream cannot be trusted any more */
};

static guint
guid_hash (gconstpointer key)
{
  const CastellanPsrpGuid *g = key;
  guint h = 0;

  for (guint i = 0; i < 16; i++)
    h = h * 31 + g->bytes[i];
  return h;
}

static gboolean
guid_equal (gconstpointer a,
            gconstpointer b)
{
  return memcmp (a, b, sizeof (CastellanPsrpGuid)) == 0;
}

static void
set_state (CastellanPsrpPool      *self,
           CastellanPsrpPoolState  state)
{
  if (self->state == state)
    return;
  g_debug ("PSRP pool: %s -> %s", castellan_psrp_pool_state_name (self->state),
           castellan_psrp_pool_state_name (state));
  self->state = state;
}

CastellanPsrpPool *
castellan_psrp_pool_new (const CastellanPsrpGuid        *rpid,
                         const CastellanPsrpPoolOptions *options)
{
  CastellanPsrpPool *self = g_new0 (CastellanPsrpPool, 1);

  self->rpid = *rpid;
  if (options != NULL)
    self->options = *options;
  if (self->options.min_runspaces <= 0)
    self->options.min_runspaces = 1;
  if (self->options.max_runspaces < self->options.min_runspaces)
    self->options.max_runspaces = self->options.min_runspaces;
  if (self->options.limits.max_depth == 0)
    self->options.limits = (CastellanClixmlLimits) {
      CASTELLAN_CLIXML_DEFAULT_MAX_DEPTH, CASTELLAN_CLIXML_DEFAULT_MAX_SIZE,
      CASTELLAN_CLIXML_DEFAULT_MAX_REFS, CASTELLAN_CLIXML_DEFAULT_MAX_NODES,
    };
  self->options.host = NULL;
  if (options != NULL && options->application_arguments != NULL)
    self->application_arguments = castellan_clixml_value_ref (options->application_arguments);
  self->options.application_arguments = NULL;
  self->object_ids = 1;
  self->input = castellan_psrp_fragmenter_new ();
  self->responses = castellan_psrp_fragmenter_new ();
  self->received = castellan_psrp_defragmenter_new (CASTELLAN_PSRP_DEFAULT_MAX_MESSAGE,
                                                    CASTELLAN_PSRP_DEFAULT_MAX_PARTIAL);
  self->defragmenters = g_hash_table_new_full (guid_hash, guid_equal, g_free,
                                               (GDestroyNotify) castellan_psrp_defragmenter_free);
  self->pipelines = g_hash_table_new_full (guid_hash, guid_equal, g_free,
                                           (GDestroyNotify) castellan_psrp_pipeline_free);
  g_queue_init (&self->events);
  /* The caller's host defaults are written now, not kept. */
  self->host_info = castellan_psrp_host_info_new (options != NULL ? options->host : NULL);
  return self;
}

void
castellan_psrp_pool_free (CastellanPsrpPool *pool)
{
  if (pool == NULL)
    return;
  g_clear_pointer (&pool->application_arguments, castellan_clixml_value_unref);
  g_clear_pointer (&pool->host_info, castellan_clixml_value_unref);
  g_free (pool->server_protocol);
  castellan_psrp_fragmenter_free (pool->input);
  castellan_psrp_fragmenter_free (pool->responses);
  castellan_psrp_defragmenter_free (pool->received);
  g_hash_table_unref (pool->defragmenters);
  g_hash_table_unref (pool->pipelines);
  g_queue_clear_full (&pool->events, (GDestroyNotify) castellan_psrp_event_free);
  g_free (pool);
}

const CastellanPsrpGuid *
castellan_psrp_pool_get_id (CastellanPsrpPool *pool)
{
  return &pool->rpid;
}

CastellanPsrpPoolState
castellan_psrp_pool_get_state (CastellanPsrpPool *pool)
{
  return pool->state;
}

const char *
castellan_psrp_pool_get_server_protocol (CastellanPsrpPool *pool)
{
  return pool->server_protocol;
}

static void
queue (CastellanPsrpPool        *self,
       CastellanPsrpFragmenter  *fragmenter,
       CastellanPsrpMessageType  type,
       CastellanClixmlValue     *value)
{
  castellan_psrp_message_enqueue (fragmenter, &self->rpid, NULL, type, value, self->object_ids++);
}

static void
add (CastellanClixmlValue *object,
     const char           *name,
     CastellanClixmlValue *value)
{
  castellan_clixml_value_add_property (object, TRUE, name, value);
}

/* MS-PSRP 2.2.2.1 */
static CastellanClixmlValue *
session_capability (void)
{
  CastellanClixmlValue *v = castellan_clixml_value_new_object (NULL, CASTELLAN_CLIXML_CONTAINER_NONE);

  add (v, "protocolversion", castellan_clixml_value_new_text (CASTELLAN_CLIXML_VERSION,
                                                              CASTELLAN_PSRP_PROTOCOL_VERSION));
  add (v, "PSVersion", castellan_clixml_value_new_text (CASTELLAN_CLIXML_VERSION, "2.0"));
  add (v, "SerializationVersion", castellan_clixml_value_new_text (CASTELLAN_CLIXML_VERSION, "1.1.0.1"));
  return v;
}

/* MS-PSRP 2.2.2.2 */
static CastellanClixmlValue *
init_runspace_pool (CastellanPsrpPool *self)
{
  CastellanClixmlValue *v = castellan_clixml_value_new_object (NULL, CASTELLAN_CLIXML_CONTAINER_NONE);

  add (v, "MinRunspaces", castellan_clixml_value_new_signed (CASTELLAN_CLIXML_INT32, self->options.min_runspaces));
  add (v, "MaxRunspaces", castellan_clixml_value_new_signed (CASTELLAN_CLIXML_INT32, self->options.max_runspaces));
  add (v, "PSThreadOptions", castellan_clixml_value_new_enum ("System.Management.Automation.Runspaces.PSThreadOptions",
                                                              "Default", 0));
  add (v, "ApartmentState", castellan_clixml_value_new_enum ("System.Management.Automation.Runspaces.ApartmentState",
                                                             "UNKNOWN", 2));
  add (v, "HostInfo", castellan_clixml_value_ref (self->host_info));
  add (v, "ApplicationArguments", self->application_arguments
                                  ? castellan_clixml_value_ref (self->application_arguments)
                                  : castellan_clixml_value_new (CASTELLAN_CLIXML_NULL));
  return v;
}

gboolean
castellan_psrp_pool_open (CastellanPsrpPool  *pool,
                          GError            **error)
{
  g_autoptr(CastellanClixmlValue) capability = NULL;
  g_autoptr(CastellanClixmlValue) init = NULL;

  if (pool->state != CASTELLAN_PSRP_POOL_BEFORE_OPEN)
    return castellan_psrp_wrong_state (error, _("open the runspace pool"),
                                       castellan_psrp_pool_state_name (pool->state),
                                       castellan_psrp_pool_state_name (CASTELLAN_PSRP_POOL_BEFORE_OPEN));
  capability = session_capability ();
  init = init_runspace_pool (pool);
  queue (pool, pool->input, CASTELLAN_PSRP_MESSAGE_SESSION_CAPABILITY, capability);
  queue (pool, pool->input, CASTELLAN_PSRP_MESSAGE_INIT_RUNSPACEPOOL, init);
  set_state (pool, CASTELLAN_PSRP_POOL_OPENING);
  return TRUE;
}

/* The transport sent Delete: whatever comes now is the end. */
gboolean
castellan_psrp_pool_closing (CastellanPsrpPool *pool)
{
  if (pool->state == CASTELLAN_PSRP_POOL_CLOSED || pool->state == CASTELLAN_PSRP_POOL_BROKEN)
    return FALSE;
  set_state (pool, CASTELLAN_PSRP_POOL_CLOSING);
  return TRUE;
}

static gboolean
check_opened (CastellanPsrpPool  *pool,
              const char         *action,
              GError            **error)
{
  if (pool->state == CASTELLAN_PSRP_POOL_OPENED)
    return TRUE;
  return castellan_psrp_wrong_state (error, action, castellan_psrp_pool_state_name (pool->state),
                                     castellan_psrp_pool_state_name (CASTELLAN_PSRP_POOL_OPENED));
}

gboolean
castellan_psrp_pool_send_public_key (CastellanPsrpPool  *pool,
                                     const char         *public_key_base64,
                                     GError            **error)
{
  g_autoptr(CastellanClixmlValue) v = NULL;

  if (!check_opened (pool, _("exchange a session key"), error))
    return FALSE;
  v = castellan_clixml_value_new_object (NULL, CASTELLAN_CLIXML_CONTAINER_NONE);
  add (v, "PublicKey", castellan_clixml_value_new_string (public_key_base64));
  queue (pool, pool->input, CASTELLAN_PSRP_MESSAGE_PUBLIC_KEY, v);
  return TRUE;
}

gboolean
castellan_psrp_pool_host_response (CastellanPsrpPool        *pool,
                                   gint64                    call_id,
                                   CastellanPsrpHostMethod   method,
                                   CastellanClixmlValue     *result,
                                   CastellanClixmlValue     *error_record,
                                   GError                  **error)
{
  g_autoptr(CastellanClixmlValue) response = castellan_psrp_host_response_new (call_id, method, result,
                                                                               error_record);

  if (pool->state != CASTELLAN_PSRP_POOL_OPENED && pool->state != CASTELLAN_PSRP_POOL_OPENING)
    return check_opened (pool, _("answer a host call"), error);
  queue (pool, pool->responses, CASTELLAN_PSRP_MESSAGE_RUNSPACEPOOL_HOST_RESPONSE, response);
  return TRUE;
}

CastellanPsrpPipeline *
castellan_psrp_pool_create_pipeline (CastellanPsrpPool               *pool,
                                     const CastellanPsrpPipelineSpec *spec,
                                     GError                         **error)
{
  CastellanPsrpGuid pid;
  CastellanPsrpPipeline *pipeline;
  g_autofree char *text = NULL;

  if (!check_opened (pool, _("start a pipeline"), error))
    return NULL;
  if (spec->commands->len == 0)
    {
      g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_FAILED, _("The pipeline has no command."));
      return NULL;
    }
  text = g_uuid_string_random ();
  castellan_psrp_guid_parse (text, &pid);
  pipeline = castellan_psrp_pipeline_new (&pool->rpid, &pid, spec, &pool->object_ids);
  g_hash_table_insert (pool->pipelines, g_memdup2 (&pid, sizeof pid), pipeline);
  g_hash_table_insert (pool->defragmenters, g_memdup2 (&pid, sizeof pid),
                       castellan_psrp_defragmenter_new (CASTELLAN_PSRP_DEFAULT_MAX_MESSAGE,
                                                        CASTELLAN_PSRP_DEFAULT_MAX_PARTIAL));
  return pipeline;
}

CastellanPsrpPipeline *
castellan_psrp_pool_get_pipeline (CastellanPsrpPool       *pool,
                                  const CastellanPsrpGuid *pid)
{
  return g_hash_table_lookup (pool->pipelines, pid);
}

void
castellan_psrp_pool_forget_pipeline (CastellanPsrpPool       *pool,
                                     const CastellanPsrpGuid *pid)
{
  /* @pid may be the pipeline's own, gone with it. */
  CastellanPsrpGuid id = *pid;

  g_hash_table_remove (pool->pipelines, &id);
  g_hash_table_remove (pool->defragmenters, &id);
}

static CastellanPsrpFragmenter *
pool_fragmenter (CastellanPsrpPool   *pool,
                 CastellanPsrpStream  stream)
{
  return stream == CASTELLAN_PSRP_STREAM_PROMPT_RESPONSE ? pool->responses : pool->input;
}

gboolean
castellan_psrp_pool_has_data (CastellanPsrpPool       *pool,
                              const CastellanPsrpGuid *pid,
                              CastellanPsrpStream      stream)
{
  CastellanPsrpPipeline *pipeline;

  if (pid == NULL)
    return castellan_psrp_fragmenter_pending (pool_fragmenter (pool, stream));
  pipeline = g_hash_table_lookup (pool->pipelines, pid);
  return pipeline != NULL && castellan_psrp_pipeline_has_data (pipeline, stream);
}

GBytes *
castellan_psrp_pool_data_to_send (CastellanPsrpPool       *pool,
                                  const CastellanPsrpGuid *pid,
                                  CastellanPsrpStream      stream,
                                  gsize                    budget)
{
  CastellanPsrpPipeline *pipeline;

  if (pid == NULL)
    return castellan_psrp_fragmenter_next_payload (pool_fragmenter (pool, stream), budget);
  pipeline = g_hash_table_lookup (pool->pipelines, pid);
  return pipeline != NULL ? castellan_psrp_pipeline_data_to_send (pipeline, stream, budget) : NULL;
}

/* A message for the pool itself: its state moves only forward from
 * Opening, and the server's protocol version is noted. */
static CastellanPsrpEvent *
process_pool_message (CastellanPsrpPool           *self,
                      const CastellanPsrpMessage  *message,
                      GError                     **error)
{
  g_autoptr(CastellanPsrpEvent) event = castellan_psrp_event_from_message (message, &self->options.limits,
                                                                           error);

  if (event == NULL)
    return NULL;
  switch (event->type)
    {
    case CASTELLAN_PSRP_EVENT_POOL_STATE:
      if (event->state < CASTELLAN_PSRP_POOL_BEFORE_OPEN || event->state > CASTELLAN_PSRP_POOL_CONNECTING)
        {
          castellan_set_psrp_malformed (error, _("a runspace pool state out of range"));
          return NULL;
        }
      set_state (self, event->state);
      break;
    case CASTELLAN_PSRP_EVENT_SESSION_CAPABILITY:
      g_free (self->server_protocol);
      self->server_protocol = g_strdup (event->text);
      break;
    case CASTELLAN_PSRP_EVENT_PIPELINE_STATE:
    case CASTELLAN_PSRP_EVENT_OUTPUT:
      castellan_set_psrp_malformed (error, _("a pipeline message without its pipeline"));
      return NULL;
    default:
      break;
    }
  return g_steal_pointer (&event);
}

static gboolean
process (CastellanPsrpPool  *self,
         GBytes             *bytes,
         GError            **error)
{
  g_autoptr(CastellanPsrpMessage) message = castellan_psrp_message_unpack (bytes, error);
  CastellanPsrpEvent *event;

  if (message == NULL)
    return FALSE;
  /* The session's own messages (SESSION_CAPABILITY from PowerShell 7)
   * may name no pool. */
  if (!guid_equal (&message->rpid, &self->rpid) && !castellan_psrp_guid_is_zero (&message->rpid))
    {
      g_autofree char *theirs = castellan_psrp_guid_to_string (&message->rpid);
      g_autofree char *ours = castellan_psrp_guid_to_string (&self->rpid);

      g_debug ("PSRP: a message of type %s for pool %s in pool %s",
               castellan_psrp_message_type_name (message->type), theirs, ours);
      castellan_set_psrp_malformed (error, _("a message for another runspace pool"));
      return FALSE;
    }
  if (castellan_psrp_guid_is_zero (&message->pid))
    {
      event = process_pool_message (self, message, error);
    }
  else
    {
      CastellanPsrpPipeline *pipeline = g_hash_table_lookup (self->pipelines, &message->pid);

      /* A pipeline forgotten here (its last state seen, or given up on)
       * may still have messages on their way: they go unread. */
      if (pipeline == NULL)
        return TRUE;
      event = castellan_psrp_pipeline_process (pipeline, message, &self->options.limits, error);
    }
  if (event == NULL)
    return FALSE;
  g_queue_push_tail (&self->events, event);
  return TRUE;
}

gboolean
castellan_psrp_pool_receive (CastellanPsrpPool       *pool,
                             const CastellanPsrpGuid *pid,
                             const guint8            *data,
                             gsize                    length,
                             GError                 **error)
{
  CastellanPsrpDefragmenter *d = pool->received;
  GBytes *bytes;

  if (pool->failed)
    {
      castellan_set_psrp_malformed (error, _("an earlier fault broke the stream"));
      return FALSE;
    }
  if (pid != NULL)
    {
      d = g_hash_table_lookup (pool->defragmenters, pid);
      if (d == NULL)
        return TRUE;
    }
  if (!castellan_psrp_defragmenter_feed (d, data, length, error))
    {
      pool->failed = TRUE;
      set_state (pool, CASTELLAN_PSRP_POOL_BROKEN);
      return FALSE;
    }
  while ((bytes = castellan_psrp_defragmenter_next (d, NULL)) != NULL)
    {
      gboolean ok = process (pool, bytes, error);

      g_bytes_unref (bytes);
      if (!ok)
        {
          /* The stream cannot be trusted any more. */
          pool->failed = TRUE;
          set_state (pool, CASTELLAN_PSRP_POOL_BROKEN);
          return FALSE;
        }
    }
  return TRUE;
}

CastellanPsrpEvent *
castellan_psrp_pool_next_event (CastellanPsrpPool *pool)
{
  return g_queue_pop_head (&pool->events);
}
