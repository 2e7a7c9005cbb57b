/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "castellan-envelope-size.h"
#include "castellan-error.h"
#include "castellan-lane.h"
#include "castellan-psrp-key.h"
#include "castellan-psrp-pool.h"
#include "castellan-psrp-session.h"
#include "castellan-soap.h"

#define PSRP_RESOURCE_PREFIX "http://schemas.microsoft.com/powershell/"
#define PSRP_SIGNAL_STOP PSRP_RESOURCE_PREFIX "signal/crtl_c"
/* MS-PSRP 3.1.4.1.7: a protocol 2.2 or later server takes 500 KiB. */
#define ENVELOPE_PROTOCOL_2_2 512000
/* Receives of the pool's output without the session key coming. */
#define KEY_RECEIVES 6

/* PowerShell Remoting over WS-Man (MS-PSRP 3.1.5): the pool's core
 * without IO, driven by requests on the connection. Receives long-poll
 * the first connection; what must not wait behind them (the rest of a
 * pipeline's creation, input, answers to prompts, the stop signal, the
 * session-key exchange) goes on the control lane. */
struct _CastellanPsrpSession
{
  GObject parent_instance;

  /* Owned references */
  CastellanConnection *connection;
  CastellanLane *lane;
  CastellanPsrpPool *pool;
  CastellanPsrpKey *key;

  char *configuration;
  char *resource_uri;
  char *session_id;
  char *shell_id;                 /* the pool's id, once created */
  CastellanPsrpHostDefaults host;
  char *window_title;
  char *powershell_version;
  CastellanClixmlValue *pool_record; /* why the pool broke */
  gboolean envelope_read;         /* the host's own MaxEnvelopeSize is in use */

  /* The pipeline running, with its task */
  GTask *run;
  CastellanPsrpPipeline *pipeline;
  char *command_id;
  gboolean command_created;       /* the host knows the pipeline */
  CastellanPsrpEventFunc on_event;
  gpointer event_data;
  guint receiving;                /* Receives on the first connection */
  gboolean sending;               /* one Send at a time keeps fragments in order */
  gboolean stop_sent;

  /* The session-key exchange */
  GQueue key_waiting;             /* GTask */
  gboolean key_exchanging;
  guint key_receives;
};

G_DEFINE_FINAL_TYPE (CastellanPsrpSession, castellan_psrp_session, G_TYPE_OBJECT)

static void
castellan_psrp_session_dispose (GObject *object)
{
  CastellanPsrpSession *self = CASTELLAN_PSRP_SESSION (object);

  if (self->lane != NULL)
    castellan_lane_close (self->lane);
  g_clear_object (&self->lane);
  g_clear_object (&self->connection);
  G_OBJECT_CLASS (castellan_psrp_session_parent_class)->dispose (object);
}

static void
castellan_psrp_session_finalize (GObject *object)
{
  CastellanPsrpSession *self = CASTELLAN_PSRP_SESSION (object);

  g_assert (self->run == NULL);
  g_clear_pointer (&self->pool, castellan_psrp_pool_free);
  g_clear_pointer (&self->key, castellan_psrp_key_free);
  g_free (self->configuration);
  g_free (self->resource_uri);
  g_free (self->session_id);
  g_free (self->shell_id);
  g_free (self->window_title);
  g_free (self->powershell_version);
  g_clear_pointer (&self->pool_record, castellan_clixml_value_unref);
  g_free (self->command_id);
  G_OBJECT_CLASS (castellan_psrp_session_parent_class)->finalize (object);
}

static void
castellan_psrp_session_class_init (CastellanPsrpSessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = castellan_psrp_session_dispose;
  object_class->finalize = castellan_psrp_session_finalize;
}

static void
castellan_psrp_session_init (CastellanPsrpSession *self)
{
  g_autofree char *uuid = castellan_soap_new_uuid ();

  self->session_id = g_strconcat ("uuid:", uuid, NULL);
  g_queue_init (&self->key_waiting);
}

/**
 * castellan_psrp_session_new:
 * @configuration: (nullable): the endpoint, Microsoft.PowerShell if %NULL
 * @host: (nullable): the console the server formats for and calls
 *   back; %NULL declares no host, so prompts fail at once
 */
CastellanPsrpSession *
castellan_psrp_session_new (CastellanConnection             *connection,
                            const char                      *configuration,
                            const CastellanPsrpHostDefaults *host)
{
  CastellanPsrpSession *self;
  CastellanPsrpPoolOptions options = { 0 };
  CastellanPsrpGuid rpid;
  g_autofree char *uuid = castellan_soap_new_uuid ();

  g_return_val_if_fail (CASTELLAN_IS_CONNECTION (connection), NULL);

  self = g_object_new (CASTELLAN_TYPE_PSRP_SESSION, NULL);
  self->connection = g_object_ref (connection);
  self->lane = castellan_lane_new (connection);
  self->configuration = g_strdup (configuration ? configuration : CASTELLAN_PSRP_DEFAULT_CONFIGURATION);
  self->resource_uri = g_strconcat (PSRP_RESOURCE_PREFIX, self->configuration, NULL);
  if (host != NULL)
    {
      self->host = *host;
      self->window_title = g_strdup (host->window_title);
      self->host.window_title = self->window_title;
    }
  options.host = host != NULL ? &self->host : NULL;
  castellan_psrp_guid_parse (uuid, &rpid);
  self->pool = castellan_psrp_pool_new (&rpid, &options);
  return self;
}

const char *
castellan_psrp_session_get_configuration (CastellanPsrpSession *self)
{
  return self->configuration;
}

const char *
castellan_psrp_session_get_powershell_version (CastellanPsrpSession *self)
{
  return self->powershell_version;
}

const CastellanPsrpHostDefaults *
castellan_psrp_session_get_host (CastellanPsrpSession *self)
{
  return self->host.buffer_width > 0 ? &self->host : NULL;
}

static void
fill_context (CastellanPsrpSession *self,
              CastellanSoapContext *ctx)
{
  const CastellanConnectOptions *o = castellan_connection_get_options (self->connection);

  ctx->to = castellan_connection_get_url (self->connection);
  ctx->max_envelope = castellan_connection_get_max_envelope (self->connection);
  ctx->operation_timeout = o->operation_timeout;
  ctx->session_id = self->session_id;
  ctx->locale = "en-US";
  ctx->resource_uri = self->resource_uri;
}

/* A request on the first connection, with its usual time limit. */
static void
request (CastellanPsrpSession  *self,
         GBytes                *envelope,
         CastellanRequestFlags  flags,
         CastellanStreamFunc    on_stream,
         gpointer               stream_data,
         GCancellable          *cancellable,
         GAsyncReadyCallback    callback,
         gpointer               user_data)
{
  castellan_connection_request_async (self->connection, envelope, flags,
                                      castellan_connection_get_options (self->connection)->request_timeout,
                                      on_stream, stream_data, cancellable, callback, user_data);
}

/* Raw bytes of fragments one request may carry. */
static gsize
budget (CastellanPsrpSession *self)
{
  CastellanSoapContext ctx;

  fill_context (self, &ctx);
  return castellan_soap_send_capacity (&ctx);
}

static void
on_received (CastellanStream  stream,
             const guint8    *data,
             gsize            length,
             gpointer         user_data);

/* ---- events ------------------------------------------------------------- */

static void run_return (CastellanPsrpSession *self,
                        GError               *error);
static void key_return (CastellanPsrpSession *self,
                        GError               *error);

/* Data that came for the pool or a pipeline goes into the core; what it
 * made is dealt with after the reply is read, in dispatch(). */
typedef struct
{
  CastellanPsrpSession *self;
  gboolean for_pipeline;
  CastellanPsrpGuid pid;
  GError *error;
} Feed;

static void
on_received (CastellanStream  stream,
             const guint8    *data,
             gsize            length,
             gpointer         user_data)
{
  Feed *feed = user_data;

  if (feed->error != NULL)
    return;
  castellan_psrp_pool_receive (feed->self->pool, feed->for_pipeline ? &feed->pid : NULL,
                               data, length, &feed->error);
}

static void
handle_pool_event (CastellanPsrpSession *self,
                   CastellanPsrpEvent   *event)
{
  g_autoptr(GError) error = NULL;

  switch (event->type)
    {
    case CASTELLAN_PSRP_EVENT_POOL_STATE:
      if (event->record != NULL)
        {
          g_clear_pointer (&self->pool_record, castellan_clixml_value_unref);
          self->pool_record = castellan_clixml_value_ref (event->record);
        }
      break;
    case CASTELLAN_PSRP_EVENT_SESSION_CAPABILITY:
      /* Protocol 2.2 and later servers take larger envelopes. */
      if (!self->envelope_read && event->text != NULL && strcmp (event->text, "2.2") >= 0 &&
          castellan_connection_get_max_envelope (self->connection) < ENVELOPE_PROTOCOL_2_2)
        castellan_connection_set_max_envelope (self->connection, ENVELOPE_PROTOCOL_2_2);
      break;
    case CASTELLAN_PSRP_EVENT_APPLICATION_DATA:
      g_free (self->powershell_version);
      self->powershell_version = g_strdup (event->text);
      break;
    case CASTELLAN_PSRP_EVENT_SESSION_KEY:
      if (self->key == NULL || !castellan_psrp_key_accept_session_key (self->key, event->text, &error))
        {
          if (error == NULL)
            castellan_set_psrp_malformed (&error, _("a session key that was not asked for"));
          key_return (self, g_steal_pointer (&error));
        }
      else
        {
          key_return (self, NULL);
        }
      break;
    case CASTELLAN_PSRP_EVENT_HOST_CALL:
      /* This client gives each pipeline its own host, so the pool's host
       * is not called; should it be, the call fails rather than hangs. */
      if (event->call->call_id != CASTELLAN_PSRP_HOST_CALL_VOID)
        castellan_psrp_pool_host_response (self->pool, event->call->call_id, event->call->method, NULL,
                                           castellan_psrp_error_record_new (
                                             _("This client answers host calls only for pipelines."),
                                             "NotImplemented", 0),
                                           NULL);
      break;
    default:
      break;
    }
}

static void flush (CastellanPsrpSession *self);

typedef struct
{
  CastellanPsrpInvocationState state;
  CastellanClixmlValue *record;
} RunResult;

static void
run_result_free (RunResult *r)
{
  g_clear_pointer (&r->record, castellan_clixml_value_unref);
  g_free (r);
}

/* Deals with every event the core has made. */
static void
dispatch (CastellanPsrpSession *self)
{
  CastellanPsrpEvent *event;
  gboolean final;

  g_object_ref (self);
  while ((event = castellan_psrp_pool_next_event (self->pool)) != NULL)
    {
      g_autoptr(CastellanPsrpEvent) owned = event;

      if (!event->for_pipeline)
        {
          handle_pool_event (self, event);
          continue;
        }
      if (self->pipeline == NULL ||
          memcmp (&event->pipeline, castellan_psrp_pipeline_get_id (self->pipeline), sizeof event->pipeline) != 0)
        continue;
      final = event->type == CASTELLAN_PSRP_EVENT_PIPELINE_STATE &&
              castellan_psrp_invocation_state_is_final (event->state) && self->run != NULL;
      if (final)
        {
          RunResult *r = g_task_get_task_data (self->run);

          r->state = event->state;
          r->record = event->record ? castellan_clixml_value_ref (event->record) : NULL;
        }
      if (self->on_event != NULL)
        self->on_event (self, g_steal_pointer (&owned), self->event_data);
      if (final)
        run_return (self, NULL);
    }
  flush (self);
  g_object_unref (self);
}

/* ---- sending: the pool's and the pipeline's fragments, in order -------- */

static void
sent (GObject      *source,
      GAsyncResult *result,
      gpointer      user_data)
{
  g_autoptr(CastellanPsrpSession) self = user_data;
  g_autoptr(CastellanWsmanReply) reply = NULL;
  g_autoptr(GError) error = NULL;

  self->sending = FALSE;
  reply = castellan_lane_request_finish (CASTELLAN_LANE (source), result, &error);
  if (reply == NULL)
    {
      if (self->key_exchanging)
        key_return (self, g_error_copy (error));
      if (self->run != NULL)
        run_return (self, g_steal_pointer (&error));
      return;
    }
  flush (self);
}

/* The next payload to send, answers to host calls first. */
static GBytes *
next_payload (CastellanPsrpSession  *self,
              const char           **stream,
              const char           **command_id)
{
  const CastellanPsrpGuid *pid = NULL;
  gsize room = budget (self);
  GBytes *payload;

  if (self->pipeline != NULL && self->command_created)
    pid = castellan_psrp_pipeline_get_id (self->pipeline);
  *command_id = NULL;
  *stream = "pr";
  if ((payload = castellan_psrp_pool_data_to_send (self->pool, NULL, CASTELLAN_PSRP_STREAM_PROMPT_RESPONSE, room)))
    return payload;
  if (pid != NULL &&
      (payload = castellan_psrp_pool_data_to_send (self->pool, pid, CASTELLAN_PSRP_STREAM_PROMPT_RESPONSE, room)))
    {
      *command_id = self->command_id;
      return payload;
    }
  *stream = "stdin";
  if ((payload = castellan_psrp_pool_data_to_send (self->pool, NULL, CASTELLAN_PSRP_STREAM_INPUT, room)))
    return payload;
  if (pid != NULL &&
      (payload = castellan_psrp_pool_data_to_send (self->pool, pid, CASTELLAN_PSRP_STREAM_INPUT, room)))
    {
      *command_id = self->command_id;
      return payload;
    }
  return NULL;
}

static void
flush (CastellanPsrpSession *self)
{
  CastellanSoapContext ctx;
  g_autoptr(GBytes) payload = NULL;
  g_autoptr(GBytes) envelope = NULL;
  const char *stream, *command_id;
  gsize length;
  const guint8 *data;

  if (self->sending || self->shell_id == NULL)
    return;
  payload = next_payload (self, &stream, &command_id);
  if (payload == NULL)
    return;
  data = g_bytes_get_data (payload, &length);
  fill_context (self, &ctx);
  envelope = castellan_soap_send_stream (&ctx, self->shell_id, command_id, stream, data, length, FALSE);
  self->sending = TRUE;
  castellan_lane_request_async (self->lane, self->receiving == 0, envelope, CASTELLAN_REQUEST_NONE,
                                NULL, NULL, NULL, sent, g_object_ref (self));
}

/* ---- open ------------------------------------------------------------- */

static void pool_receive (GTask *task);

static gboolean
return_if_failed (GTask  *task,
                  GError *error)
{
  if (error == NULL)
    return FALSE;
  g_task_return_error (task, error);
  return TRUE;
}

static GError *
pool_failed (CastellanPsrpSession *self,
             CastellanClixmlValue *record)
{
  g_autofree char *why = castellan_psrp_record_text (record);
  const char *host = castellan_connection_get_options (self->connection)->endpoint->host;

  return g_error_new (CASTELLAN_ERROR, CASTELLAN_ERROR_FAILED,
                      _("PowerShell on %s could not open the “%s” session: %s"),
                      host, self->configuration,
                      why && *why ? why : _("the runspace pool was closed"));
}

static void
pool_received (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  CastellanPsrpSession *self = g_task_get_source_object (task);
  Feed *feed = g_object_get_data (G_OBJECT (task), "feed");
  g_autoptr(CastellanWsmanReply) reply = NULL;
  GError *error = NULL;
  CastellanPsrpPoolState state;

  self->receiving--;
  reply = castellan_connection_request_finish (CASTELLAN_CONNECTION (source), result, &error);
  if (reply == NULL && g_error_matches (error, CASTELLAN_ERROR, CASTELLAN_ERROR_OPERATION_TIMEOUT))
    {
      g_clear_error (&error);
      pool_receive (g_steal_pointer (&task));
      return;
    }
  if (error == NULL && feed->error != NULL)
    error = g_steal_pointer (&feed->error);
  if (return_if_failed (task, error))
    return;
  dispatch (self);
  state = castellan_psrp_pool_get_state (self->pool);
  if (state == CASTELLAN_PSRP_POOL_OPENED)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  if (state == CASTELLAN_PSRP_POOL_BROKEN || state == CASTELLAN_PSRP_POOL_CLOSED)
    {
      g_task_return_error (task, pool_failed (self, self->pool_record));
      return;
    }
  pool_receive (g_steal_pointer (&task));
}

static void
pool_receive (GTask *task)
{
  CastellanPsrpSession *self = g_task_get_source_object (task);
  CastellanSoapContext ctx;
  g_autoptr(GBytes) envelope = NULL;
  Feed *feed = g_object_get_data (G_OBJECT (task), "feed");

  fill_context (self, &ctx);
  envelope = castellan_soap_receive_streams (&ctx, self->shell_id, NULL, "stdout");
  self->receiving++;
  request (self, envelope, CASTELLAN_REQUEST_OUTPUT, on_received, feed, g_task_get_cancellable (task), pool_received, task);
}

static void
pool_created (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  CastellanPsrpSession *self = g_task_get_source_object (task);
  g_autoptr(CastellanWsmanReply) reply = NULL;
  GError *error = NULL;

  reply = castellan_connection_request_finish (CASTELLAN_CONNECTION (source), result, &error);
  if (return_if_failed (task, error))
    return;
  if (reply->shell_id != NULL && g_ascii_strcasecmp (reply->shell_id, self->shell_id) != 0)
    {
      g_free (self->shell_id);
      self->shell_id = g_steal_pointer (&reply->shell_id);
    }
  /* Whatever did not fit in creationXml goes on the pool's input. */
  flush (self);
  pool_receive (g_steal_pointer (&task));
}

static void
send_create (GTask *task)
{
  CastellanPsrpSession *self = g_task_get_source_object (task);
  CastellanSoapContext ctx;
  g_autoptr(GBytes) first = NULL;
  g_autoptr(GBytes) envelope = NULL;
  g_autofree char *creation = NULL;
  g_autofree char *rpid = NULL;
  GError *error = NULL;
  gsize length;
  const guint8 *data;

  if (!castellan_psrp_pool_open (self->pool, &error))
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  first = castellan_psrp_pool_data_to_send (self->pool, NULL, CASTELLAN_PSRP_STREAM_INPUT, budget (self));
  data = g_bytes_get_data (first, &length);
  creation = g_base64_encode (data, length);
  rpid = castellan_psrp_guid_to_string (castellan_psrp_pool_get_id (self->pool));
  self->shell_id = g_ascii_strup (rpid, -1);
  fill_context (self, &ctx);
  envelope = castellan_soap_create_pool (&ctx, self->shell_id, CASTELLAN_PSRP_PROTOCOL_VERSION, creation);
  request (self, envelope, CASTELLAN_REQUEST_NONE, NULL, NULL, g_task_get_cancellable (task), pool_created, task);
}

static void
config_read (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  CastellanPsrpSession *self = g_task_get_source_object (task);
  GError *error = NULL;

  if (!castellan_envelope_size_read_finish (CASTELLAN_CONNECTION (source), result, &self->envelope_read, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  /* Otherwise the default stays until the protocol version is known. */
  send_create (g_steal_pointer (&task));
}

/**
 * castellan_psrp_session_open_async:
 *
 * Reads the host's envelope size where allowed, creates the runspace
 * pool and waits until it is Opened.
 */
void
castellan_psrp_session_open_async (CastellanPsrpSession *self,
                                   GCancellable         *cancellable,
                                   GAsyncReadyCallback   callback,
                                   gpointer              user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  Feed *feed = g_new0 (Feed, 1);
  CastellanSoapContext ctx;

  g_task_set_source_tag (task, castellan_psrp_session_open_async);
  feed->self = self;
  g_object_set_data_full (G_OBJECT (task), "feed", feed, g_free);
  fill_context (self, &ctx);
  castellan_envelope_size_read_async (self->connection, &ctx, cancellable, config_read, task);
}

gboolean
castellan_psrp_session_open_finish (CastellanPsrpSession *self,
                                    GAsyncResult         *result,
                                    GError              **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- run ------------------------------------------------------------- */

static void
run_return (CastellanPsrpSession *self,
            GError               *error)
{
  g_autoptr(GTask) task = g_steal_pointer (&self->run);

  if (task == NULL)
    {
      g_clear_error (&error);
      return;
    }
  if (self->pipeline != NULL)
    castellan_psrp_pool_forget_pipeline (self->pool, castellan_psrp_pipeline_get_id (self->pipeline));
  self->pipeline = NULL;
  self->command_created = FALSE;
  self->on_event = NULL;
  self->stop_sent = FALSE;
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void pipeline_receive (CastellanPsrpSession *self);

/* Whether the pipeline @pid is the one running. */
static gboolean
is_running (CastellanPsrpSession    *self,
            const CastellanPsrpGuid *pid)
{
  return self->run != NULL && self->pipeline != NULL &&
         memcmp (pid, castellan_psrp_pipeline_get_id (self->pipeline), sizeof *pid) == 0;
}

static void
pipeline_received (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  Feed *feed = user_data;
  g_autoptr(CastellanPsrpSession) self = feed->self;
  g_autoptr(CastellanWsmanReply) reply = NULL;
  GError *error = NULL;
  CastellanPsrpGuid pid = feed->pid;

  self->receiving--;
  reply = castellan_connection_request_finish (CASTELLAN_CONNECTION (source), result, &error);
  if (error == NULL && feed->error != NULL)
    error = g_steal_pointer (&feed->error);
  g_free (feed);
  if (!is_running (self, &pid))
    {
      g_clear_error (&error);
      return;
    }
  if (error != NULL && g_error_matches (error, CASTELLAN_ERROR, CASTELLAN_ERROR_OPERATION_TIMEOUT))
    {
      g_clear_error (&error);
      pipeline_receive (self);
      return;
    }
  if (error != NULL)
    {
      run_return (self, error);
      return;
    }
  dispatch (self);
  /* The next pipeline may have started from the callback of this one:
   * it has its own Receive loop, begun once it was created. */
  if (is_running (self, &pid))
    pipeline_receive (self);
}

static void
pipeline_receive (CastellanPsrpSession *self)
{
  CastellanSoapContext ctx;
  g_autoptr(GBytes) envelope = NULL;
  Feed *feed = g_new0 (Feed, 1);

  feed->self = g_object_ref (self);
  feed->for_pipeline = TRUE;
  feed->pid = *castellan_psrp_pipeline_get_id (self->pipeline);
  fill_context (self, &ctx);
  envelope = castellan_soap_receive_streams (&ctx, self->shell_id, self->command_id, "stdout");
  self->receiving++;
  request (self, envelope, CASTELLAN_REQUEST_OUTPUT, on_received, feed, g_task_get_cancellable (self->run),
                                      pipeline_received, feed);
}

static void
pipeline_created (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(CastellanPsrpSession) self = user_data;
  g_autoptr(CastellanWsmanReply) reply = NULL;
  GError *error = NULL;

  reply = castellan_connection_request_finish (CASTELLAN_CONNECTION (source), result, &error);
  if (self->run == NULL)
    {
      g_clear_error (&error);
      return;
    }
  if (error != NULL)
    {
      run_return (self, error);
      return;
    }
  if (reply->command_id != NULL && g_ascii_strcasecmp (reply->command_id, self->command_id) != 0)
    {
      g_free (self->command_id);
      self->command_id = g_steal_pointer (&reply->command_id);
    }
  self->command_created = TRUE;
  flush (self);
  pipeline_receive (self);
}

void
castellan_psrp_session_run_async (CastellanPsrpSession            *self,
                                  const CastellanPsrpPipelineSpec *spec,
                                  CastellanPsrpEventFunc           on_event,
                                  gpointer                         event_data,
                                  GCancellable                    *cancellable,
                                  GAsyncReadyCallback              callback,
                                  gpointer                         user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  CastellanSoapContext ctx;
  g_autoptr(GBytes) first = NULL;
  g_autoptr(GBytes) envelope = NULL;
  g_autofree char *arguments = NULL;
  g_autofree char *pid = NULL;
  GError *error = NULL;
  const guint8 *data;
  gsize length;

  g_task_set_source_tag (task, castellan_psrp_session_run_async);
  if (self->run != NULL)
    {
      g_task_return_new_error (task, CASTELLAN_ERROR, CASTELLAN_ERROR_FAILED,
                               _("A pipeline is already running in this session."));
      g_object_unref (task);
      return;
    }
  self->pipeline = castellan_psrp_pool_create_pipeline (self->pool, spec, &error);
  if (self->pipeline == NULL)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  {
    RunResult *r = g_new0 (RunResult, 1);

    r->state = CASTELLAN_PSRP_PIPELINE_FAILED;
    g_task_set_task_data (task, r, (GDestroyNotify) run_result_free);
  }
  self->run = task;
  self->on_event = on_event;
  self->event_data = event_data;
  pid = castellan_psrp_guid_to_string (castellan_psrp_pipeline_get_id (self->pipeline));
  g_free (self->command_id);
  self->command_id = g_ascii_strup (pid, -1);
  first = castellan_psrp_pool_data_to_send (self->pool, castellan_psrp_pipeline_get_id (self->pipeline),
                                            CASTELLAN_PSRP_STREAM_INPUT, budget (self));
  data = g_bytes_get_data (first, &length);
  arguments = g_base64_encode (data, length);
  fill_context (self, &ctx);
  envelope = castellan_soap_create_pipeline (&ctx, self->shell_id, self->command_id, arguments);
  /* A Command whose reply is lost is not sent again: it may have run. */
  request (self, envelope, CASTELLAN_REQUEST_NONE, NULL, NULL, cancellable, pipeline_created, g_object_ref (self));
}

CastellanPsrpInvocationState
castellan_psrp_session_run_finish (CastellanPsrpSession  *self,
                                   GAsyncResult          *result,
                                   CastellanClixmlValue **record,
                                   GError               **error)
{
  RunResult *r;

  g_return_val_if_fail (g_task_is_valid (result, self), CASTELLAN_PSRP_PIPELINE_FAILED);
  r = g_task_get_task_data (G_TASK (result));
  if (record != NULL)
    *record = r->record ? castellan_clixml_value_ref (r->record) : NULL;
  if (!g_task_propagate_boolean (G_TASK (result), error))
    return CASTELLAN_PSRP_PIPELINE_FAILED;
  return r->state;
}

static gboolean
check_pipeline (CastellanPsrpSession  *self,
                GError               **error)
{
  if (self->pipeline != NULL)
    return TRUE;
  g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_UNKNOWN_COMMAND, _("No pipeline is running."));
  return FALSE;
}

gboolean
castellan_psrp_session_send_input (CastellanPsrpSession  *self,
                                   CastellanClixmlValue  *value,
                                   GError               **error)
{
  if (!check_pipeline (self, error))
    {
      castellan_clixml_value_unref (value);
      return FALSE;
    }
  if (!castellan_psrp_pipeline_send_input (self->pipeline, value, error))
    return FALSE;
  flush (self);
  return TRUE;
}

gboolean
castellan_psrp_session_end_input (CastellanPsrpSession  *self,
                                  GError               **error)
{
  if (!check_pipeline (self, error) || !castellan_psrp_pipeline_end_input (self->pipeline, error))
    return FALSE;
  flush (self);
  return TRUE;
}

gboolean
castellan_psrp_session_host_response (CastellanPsrpSession      *self,
                                      const CastellanPsrpEvent  *event,
                                      CastellanClixmlValue      *result,
                                      CastellanClixmlValue      *error_record,
                                      GError                   **error)
{
  gboolean ok;

  g_return_val_if_fail (event->type == CASTELLAN_PSRP_EVENT_HOST_CALL, FALSE);
  if (event->call->call_id == CASTELLAN_PSRP_HOST_CALL_VOID)
    {
      g_clear_pointer (&result, castellan_clixml_value_unref);
      g_clear_pointer (&error_record, castellan_clixml_value_unref);
      return TRUE;
    }
  if (!event->for_pipeline)
    {
      ok = castellan_psrp_pool_host_response (self->pool, event->call->call_id, event->call->method,
                                              result, error_record, error);
    }
  else
    {
      CastellanPsrpPipeline *pipeline = castellan_psrp_pool_get_pipeline (self->pool, &event->pipeline);

      if (pipeline == NULL)
        {
          g_clear_pointer (&result, castellan_clixml_value_unref);
          g_clear_pointer (&error_record, castellan_clixml_value_unref);
          return check_pipeline (self, error);
        }
      ok = castellan_psrp_pipeline_host_response (pipeline, event->call->call_id, event->call->method,
                                                  result, error_record, error);
    }
  if (ok)
    flush (self);
  return ok;
}

static void
signalled (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(CastellanPsrpSession) self = user_data;
  g_autoptr(CastellanWsmanReply) reply = NULL;
  g_autoptr(GError) error = NULL;

  reply = castellan_lane_request_finish (CASTELLAN_LANE (source), result, &error);
  /* A pipeline that ended meanwhile has no command left to stop. */
  if (reply == NULL && self->run != NULL &&
      !g_error_matches (error, CASTELLAN_ERROR, CASTELLAN_ERROR_UNKNOWN_COMMAND))
    run_return (self, g_steal_pointer (&error));
}

void
castellan_psrp_session_stop (CastellanPsrpSession *self)
{
  CastellanSoapContext ctx;
  g_autoptr(GBytes) envelope = NULL;

  if (self->pipeline == NULL || !self->command_created || self->stop_sent)
    return;
  if (!castellan_psrp_pipeline_stopping (self->pipeline, NULL))
    return;
  self->stop_sent = TRUE;
  fill_context (self, &ctx);
  envelope = castellan_soap_signal (&ctx, self->shell_id, self->command_id, PSRP_SIGNAL_STOP);
  castellan_lane_request_async (self->lane, self->receiving == 0, envelope, CASTELLAN_REQUEST_NONE,
                                NULL, NULL, NULL, signalled, g_object_ref (self));
}

/* ---- the session key ------------------------------------------------- */

static void key_receive (CastellanPsrpSession *self);

static void
key_return (CastellanPsrpSession *self,
            GError               *error)
{
  GTask *task;

  if (!self->key_exchanging)
    {
      g_clear_error (&error);
      return;
    }
  self->key_exchanging = FALSE;
  while ((task = g_queue_pop_head (&self->key_waiting)) != NULL)
    {
      if (error != NULL)
        g_task_return_error (task, g_error_copy (error));
      else
        g_task_return_boolean (task, TRUE);
      g_object_unref (task);
    }
  g_clear_error (&error);
}

static void
key_received (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Feed *feed = user_data;
  g_autoptr(CastellanPsrpSession) self = feed->self;
  g_autoptr(CastellanWsmanReply) reply = NULL;
  GError *error = NULL;

  reply = castellan_lane_request_finish (CASTELLAN_LANE (source), result, &error);
  if (error == NULL && feed->error != NULL)
    error = g_steal_pointer (&feed->error);
  g_free (feed);
  if (error != NULL && g_error_matches (error, CASTELLAN_ERROR, CASTELLAN_ERROR_OPERATION_TIMEOUT) &&
      ++self->key_receives < KEY_RECEIVES)
    {
      g_clear_error (&error);
      key_receive (self);
      return;
    }
  if (error != NULL)
    {
      key_return (self, error);
      return;
    }
  dispatch (self);
  if (self->key_exchanging)
    key_receive (self);
}

static void
key_receive (CastellanPsrpSession *self)
{
  CastellanSoapContext ctx;
  g_autoptr(GBytes) envelope = NULL;
  Feed *feed = g_new0 (Feed, 1);

  feed->self = g_object_ref (self);
  fill_context (self, &ctx);
  envelope = castellan_soap_receive_streams (&ctx, self->shell_id, NULL, "stdout");
  castellan_lane_request_async (self->lane, FALSE, envelope, CASTELLAN_REQUEST_OUTPUT,
                                on_received, feed, NULL, key_received, feed);
}

void
castellan_psrp_session_prepare_key_async (CastellanPsrpSession *self,
                                          GCancellable         *cancellable,
                                          GAsyncReadyCallback   callback,
                                          gpointer              user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  g_autofree char *public_key = NULL;
  GError *error = NULL;

  g_task_set_source_tag (task, castellan_psrp_session_prepare_key_async);
  if (self->key != NULL && castellan_psrp_key_has_session_key (self->key))
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  g_queue_push_tail (&self->key_waiting, task);
  if (self->key_exchanging)
    return;
  self->key_exchanging = TRUE;
  self->key_receives = 0;
  g_clear_pointer (&self->key, castellan_psrp_key_free);
  self->key = castellan_psrp_key_new (&error);
  if (self->key != NULL)
    public_key = castellan_psrp_key_get_public_key_base64 (self->key);
  if (self->key == NULL || !castellan_psrp_pool_send_public_key (self->pool, public_key, &error))
    {
      key_return (self, error);
      return;
    }
  flush (self);
  key_receive (self);
}

gboolean
castellan_psrp_session_prepare_key_finish (CastellanPsrpSession *self,
                                           GAsyncResult         *result,
                                           GError              **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

GBytes *
castellan_psrp_session_encrypt (CastellanPsrpSession *self,
                                const char           *text,
                                GError              **error)
{
  if (self->key == NULL || !castellan_psrp_key_has_session_key (self->key))
    {
      g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_FAILED,
                   _("The session key has not been exchanged yet."));
      return NULL;
    }
  return castellan_psrp_key_encrypt (self->key, text, strlen (text), error);
}

/* ---- close ------------------------------------------------------------ */

static void
closed (GObject      *source,
        GAsyncResult *result,
        gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  CastellanPsrpSession *self = g_task_get_source_object (task);
  GError *error = NULL;

  g_clear_pointer (&self->shell_id, g_free);
  if (!castellan_lane_delete_finish (CASTELLAN_LANE (source), result, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

void
castellan_psrp_session_close_async (CastellanPsrpSession *self,
                                    GCancellable         *cancellable,
                                    GAsyncReadyCallback   callback,
                                    gpointer              user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  CastellanSoapContext ctx;
  g_autoptr(GBytes) envelope = NULL;

  g_task_set_source_tag (task, castellan_psrp_session_close_async);
  if (self->shell_id == NULL)
    {
      castellan_lane_close (self->lane);
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  castellan_psrp_pool_closing (self->pool);
  fill_context (self, &ctx);
  envelope = castellan_soap_delete_shell (&ctx, self->shell_id);
  castellan_lane_delete_async (self->lane, envelope, cancellable, closed, task);
}

gboolean
castellan_psrp_session_close_finish (CastellanPsrpSession *self,
                                     GAsyncResult         *result,
                                     GError              **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
