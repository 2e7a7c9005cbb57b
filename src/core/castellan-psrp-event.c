/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "castellan-error.h"
#include "castellan-psrp-event.h"

static const char *const pool_state_names[] = {
  "BeforeOpen", "Opening", "Opened", "Closed", "Closing", "Broken",
  "Disconnecting", "Disconnected", "Connecting",
};

static const char *const invocation_state_names[] = {
  "NotStarted", "Running", "Stopping", "Stopped", "Completed", "Failed", "Disconnected",
};

const char *
castellan_psrp_pool_state_name (CastellanPsrpPoolState state)
{
  if ((guint) state >= G_N_ELEMENTS (pool_state_names))
    return "Unknown";
  return pool_state_names[state];
}

const char *
castellan_psrp_invocation_state_name (CastellanPsrpInvocationState state)
{
  if ((guint) state >= G_N_ELEMENTS (invocation_state_names))
    return "Unknown";
  return invocation_state_names[state];
}

gboolean
castellan_psrp_invocation_state_is_final (CastellanPsrpInvocationState state)
{
  return state == CASTELLAN_PSRP_PIPELINE_STOPPED ||
         state == CASTELLAN_PSRP_PIPELINE_COMPLETED ||
         state == CASTELLAN_PSRP_PIPELINE_FAILED;
}

void
castellan_psrp_event_free (CastellanPsrpEvent *event)
{
  if (event == NULL)
    return;
  g_free (event->text);
  g_clear_pointer (&event->value, castellan_clixml_value_unref);
  g_clear_pointer (&event->record, castellan_clixml_value_unref);
  g_clear_pointer (&event->call, castellan_psrp_host_call_free);
  g_free (event);
}

static char *
property_text (const CastellanClixmlValue *record,
               const char                 *name)
{
  CastellanClixmlValue *v = castellan_clixml_value_get_property (record, name);

  if (v == NULL || v->kind == CASTELLAN_CLIXML_NULL)
    return NULL;
  return castellan_clixml_value_text (v);
}

char *
castellan_psrp_record_text (const CastellanClixmlValue *record)
{
  char *text;
  CastellanClixmlValue *data;

  if (record == NULL)
    return NULL;
  /* ErrorRecord: the details' message replaces the exception's. */
  if ((text = property_text (record, "ErrorDetails_Message")) != NULL && *text != '\0')
    return text;
  g_free (text);
  if ((text = property_text (record, "InformationalRecord_Message")) != NULL)
    return text;
  data = castellan_clixml_value_get_property (record, "MessageData");
  if (data != NULL)
    {
      /* Write-Host sends a HostInformationMessage: its Message is the text. */
      if ((text = property_text (data, "Message")) != NULL)
        return text;
      return castellan_clixml_value_text (data);
    }
  if (record->kind == CASTELLAN_CLIXML_OBJECT && record->to_string != NULL)
    return g_strdup (record->to_string);
  if ((data = castellan_clixml_value_get_property (record, "Exception")) != NULL &&
      (text = property_text (data, "Message")) != NULL)
    return text;
  return castellan_clixml_value_text (record);
}

gboolean
castellan_psrp_wrong_state (GError     **error,
                            const char  *action,
                            const char  *current,
                            const char  *expected)
{
  g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_FAILED,
               _("PowerShell cannot %s now: it is %s, and must be %s."), action, current, expected);
  return FALSE;
}

static gboolean
state_of (const CastellanClixmlValue *value,
          const char                 *name,
          int                        *state)
{
  CastellanClixmlValue *v = castellan_clixml_value_get_property (value, name);

  if (v != NULL && v->kind == CASTELLAN_CLIXML_OBJECT && v->inner != NULL)
    v = v->inner;
  if (v == NULL || v->kind != CASTELLAN_CLIXML_INT32)
    return FALSE;
  *state = (int) v->integer;
  return TRUE;
}

static CastellanClixmlValue *
ref_record (const CastellanClixmlValue *value)
{
  CastellanClixmlValue *r = castellan_clixml_value_get_property (value, "ExceptionAsErrorRecord");

  return r != NULL && r->kind == CASTELLAN_CLIXML_OBJECT ? castellan_clixml_value_ref (r) : NULL;
}

/* APPLICATION_PRIVATE_DATA: ApplicationPrivateData → PSVersionTable → PSVersion. */
static char *
powershell_version (const CastellanClixmlValue *value)
{
  CastellanClixmlValue *data = castellan_clixml_value_get_property (value, "ApplicationPrivateData");
  CastellanClixmlValue *table = castellan_clixml_value_lookup (data, "PSVersionTable");

  return castellan_clixml_value_text (castellan_clixml_value_lookup (table, "PSVersion"));
}

static CastellanPsrpEventType
record_event_type (CastellanPsrpMessageType type)
{
  switch (type)
    {
    case CASTELLAN_PSRP_MESSAGE_PIPELINE_OUTPUT:
      return CASTELLAN_PSRP_EVENT_OUTPUT;
    case CASTELLAN_PSRP_MESSAGE_ERROR_RECORD:
      return CASTELLAN_PSRP_EVENT_ERROR;
    case CASTELLAN_PSRP_MESSAGE_WARNING_RECORD:
      return CASTELLAN_PSRP_EVENT_WARNING;
    case CASTELLAN_PSRP_MESSAGE_VERBOSE_RECORD:
      return CASTELLAN_PSRP_EVENT_VERBOSE;
    case CASTELLAN_PSRP_MESSAGE_DEBUG_RECORD:
      return CASTELLAN_PSRP_EVENT_DEBUG;
    case CASTELLAN_PSRP_MESSAGE_INFORMATION_RECORD:
      return CASTELLAN_PSRP_EVENT_INFORMATION;
    case CASTELLAN_PSRP_MESSAGE_PROGRESS_RECORD:
      return CASTELLAN_PSRP_EVENT_PROGRESS;
    case CASTELLAN_PSRP_MESSAGE_PIPELINE_STATE:
      return CASTELLAN_PSRP_EVENT_PIPELINE_STATE;
    case CASTELLAN_PSRP_MESSAGE_RUNSPACEPOOL_STATE:
      return CASTELLAN_PSRP_EVENT_POOL_STATE;
    case CASTELLAN_PSRP_MESSAGE_SESSION_CAPABILITY:
      return CASTELLAN_PSRP_EVENT_SESSION_CAPABILITY;
    case CASTELLAN_PSRP_MESSAGE_APPLICATION_PRIVATE_DATA:
      return CASTELLAN_PSRP_EVENT_APPLICATION_DATA;
    case CASTELLAN_PSRP_MESSAGE_ENCRYPTED_SESSION_KEY:
      return CASTELLAN_PSRP_EVENT_SESSION_KEY;
    case CASTELLAN_PSRP_MESSAGE_PUBLIC_KEY_REQUEST:
      return CASTELLAN_PSRP_EVENT_KEY_REQUESTED;
    case CASTELLAN_PSRP_MESSAGE_RUNSPACEPOOL_HOST_CALL:
    case CASTELLAN_PSRP_MESSAGE_PIPELINE_HOST_CALL:
      return CASTELLAN_PSRP_EVENT_HOST_CALL;
    default:
      return CASTELLAN_PSRP_EVENT_OTHER;
    }
}

/**
 * castellan_psrp_event_from_message:
 *
 * Reads a message for the client into its event. The CLIXML is read
 * under @limits; what a state or host call must carry is checked here,
 * so that the layers above act on typed fields.
 */
CastellanPsrpEvent *
castellan_psrp_event_from_message (const CastellanPsrpMessage  *message,
                                   const CastellanClixmlLimits *limits,
                                   GError                     **error)
{
  g_autoptr(CastellanPsrpEvent) event = g_new0 (CastellanPsrpEvent, 1);
  gsize length = 0;
  const char *data = message->data ? g_bytes_get_data (message->data, &length) : NULL;

  if (message->destination != CASTELLAN_PSRP_DESTINATION_CLIENT)
    {
      castellan_set_psrp_malformed (error, _("a message is addressed to the server"));
      return NULL;
    }
  event->message_type = message->type;
  event->type = record_event_type (message->type);
  event->pipeline = message->pid;
  event->for_pipeline = !castellan_psrp_guid_is_zero (&message->pid);
  if (length > 0)
    {
      event->value = castellan_clixml_read (data, length, limits, error);
      if (event->value == NULL)
        return NULL;
    }
  else if (message->type == CASTELLAN_PSRP_MESSAGE_PIPELINE_OUTPUT)
    {
      /* PowerShell writes no bytes for a null output object (the script
       * `$null`): it is $null, not a damaged message. */
      event->value = castellan_clixml_value_new (CASTELLAN_CLIXML_NULL);
    }
  else if (message->type != CASTELLAN_PSRP_MESSAGE_END_OF_PIPELINE_INPUT &&
           event->type != CASTELLAN_PSRP_EVENT_OTHER)
    {
      castellan_set_psrp_malformed (error, _("a message has no data"));
      return NULL;
    }

  switch (event->type)
    {
    case CASTELLAN_PSRP_EVENT_POOL_STATE:
      if (!state_of (event->value, "RunspaceState", &event->state))
        {
          castellan_set_psrp_malformed (error, _("a runspace pool state without its value"));
          return NULL;
        }
      event->record = ref_record (event->value);
      break;
    case CASTELLAN_PSRP_EVENT_PIPELINE_STATE:
      if (!state_of (event->value, "PipelineState", &event->state))
        {
          castellan_set_psrp_malformed (error, _("a pipeline state without its value"));
          return NULL;
        }
      event->record = ref_record (event->value);
      break;
    case CASTELLAN_PSRP_EVENT_SESSION_CAPABILITY:
      event->text = castellan_clixml_value_text (castellan_clixml_value_get_property (event->value,
                                                                                    "protocolversion"));
      break;
    case CASTELLAN_PSRP_EVENT_APPLICATION_DATA:
      event->text = powershell_version (event->value);
      break;
    case CASTELLAN_PSRP_EVENT_SESSION_KEY:
      event->text = castellan_clixml_value_text (castellan_clixml_value_get_property (event->value,
                                                                                    "EncryptedSessionKey"));
      if (event->text == NULL)
        {
          castellan_set_psrp_malformed (error, _("a session key message without the key"));
          return NULL;
        }
      break;
    case CASTELLAN_PSRP_EVENT_HOST_CALL:
      event->call = castellan_psrp_host_call_parse (event->value, error);
      if (event->call == NULL)
        return NULL;
      break;
    case CASTELLAN_PSRP_EVENT_WARNING:
    case CASTELLAN_PSRP_EVENT_VERBOSE:
    case CASTELLAN_PSRP_EVENT_DEBUG:
    case CASTELLAN_PSRP_EVENT_INFORMATION:
    case CASTELLAN_PSRP_EVENT_ERROR:
      event->text = castellan_psrp_record_text (event->value);
      break;
    case CASTELLAN_PSRP_EVENT_OUTPUT:
    case CASTELLAN_PSRP_EVENT_PROGRESS:
    case CASTELLAN_PSRP_EVENT_KEY_REQUESTED:
    case CASTELLAN_PSRP_EVENT_OTHER:
    default:
      break;
    }
  return g_steal_pointer (&event);
}
