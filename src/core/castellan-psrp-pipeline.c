/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "castellan-error.h"
#include "castellan-psrp-fragment.h"
#include "castellan-psrp-pipeline.h"

/* ---- what a pipeline runs ------------------------------------------------ */

CastellanPsrpCommand *
castellan_psrp_command_new (const char *text,
                            gboolean    is_script)
{
  CastellanPsrpCommand *c = g_new0 (CastellanPsrpCommand, 1);

  c->text = g_strdup (text);
  c->is_script = is_script;
  c->use_local_scope = FALSE;
  c->names = g_ptr_array_new_with_free_func (g_free);
  c->values = g_ptr_array_new_with_free_func ((GDestroyNotify) castellan_clixml_value_unref);
  return c;
}

void
castellan_psrp_command_free (CastellanPsrpCommand *command)
{
  if (command == NULL)
    return;
  g_free (command->text);
  g_ptr_array_unref (command->names);
  g_ptr_array_unref (command->values);
  g_free (command);
}

void
castellan_psrp_command_add_argument (CastellanPsrpCommand *command,
                                     const char           *name,
                                     CastellanClixmlValue *value)
{
  g_ptr_array_add (command->names, g_strdup (name));
  g_ptr_array_add (command->values, value ? value : castellan_clixml_value_new (CASTELLAN_CLIXML_NULL));
}

CastellanPsrpPipelineSpec *
castellan_psrp_pipeline_spec_new (void)
{
  CastellanPsrpPipelineSpec *spec = g_new0 (CastellanPsrpPipelineSpec, 1);

  spec->commands = g_ptr_array_new_with_free_func ((GDestroyNotify) castellan_psrp_command_free);
  spec->no_input = TRUE;
  return spec;
}

void
castellan_psrp_pipeline_spec_free (CastellanPsrpPipelineSpec *spec)
{
  if (spec == NULL)
    return;
  g_ptr_array_unref (spec->commands);
  g_free (spec);
}

void
castellan_psrp_pipeline_spec_add (CastellanPsrpPipelineSpec *spec,
                                  CastellanPsrpCommand      *command)
{
  g_ptr_array_add (spec->commands, command);
}

#define PSOBJECT_LIST "System.Collections.Generic.List`1[[System.Management.Automation.PSObject, " \
  "System.Management.Automation, Version=1.0.0.0, Culture=neutral, PublicKeyToken=31bf3856ad364e35]]"
#define RESULT_TYPES "System.Management.Automation.Runspaces.PipelineResultTypes"

static CastellanClixmlValue *
new_list (void)
{
  const char *types[] = { PSOBJECT_LIST, "System.Object", NULL };

  return castellan_clixml_value_new_object (types, CASTELLAN_CLIXML_CONTAINER_LIST);
}

static CastellanClixmlValue *
result_types (int value)
{
  static const char *const names[] = { "None", "Output", "Error" };

  return castellan_clixml_value_new_enum (RESULT_TYPES, names[CLAMP (value, 0, 2)], value);
}

static void
add (CastellanClixmlValue *object,
     const char           *name,
     CastellanClixmlValue *value)
{
  castellan_clixml_value_add_property (object, TRUE, name, value);
}

static CastellanClixmlValue *
command_value (const CastellanPsrpCommand *c)
{
  CastellanClixmlValue *v = castellan_clixml_value_new_object (NULL, CASTELLAN_CLIXML_CONTAINER_NONE);
  CastellanClixmlValue *args = new_list ();
  const char *stream_merges[] = { "MergeError", "MergeWarning", "MergeVerbose", "MergeDebug",
                                  "MergeInformation" };

  add (v, "Cmd", castellan_clixml_value_new_string (c->text));
  add (v, "IsScript", castellan_clixml_value_new_bool (c->is_script));
  add (v, "UseLocalScope", c->use_local_scope ? castellan_clixml_value_new_bool (TRUE)
                                              : castellan_clixml_value_new (CASTELLAN_CLIXML_NULL));
  /* Errors merged into output: MergeMyResult Error, MergeToResult Output. */
  add (v, "MergeMyResult", result_types (c->merge_errors ? 2 : 0));
  add (v, "MergeToResult", result_types (c->merge_errors ? 1 : 0));
  add (v, "MergePreviousResults", result_types (0));
  for (guint i = 0; i < c->values->len; i++)
    {
      CastellanClixmlValue *arg = castellan_clixml_value_new_object (NULL, CASTELLAN_CLIXML_CONTAINER_NONE);
      const char *name = g_ptr_array_index (c->names, i);

      add (arg, "N", name ? castellan_clixml_value_new_string (name)
                          : castellan_clixml_value_new (CASTELLAN_CLIXML_NULL));
      add (arg, "V", castellan_clixml_value_ref (g_ptr_array_index (c->values, i)));
      castellan_clixml_value_add_item (args, arg);
    }
  add (v, "Args", args);
  for (guint i = 0; i < G_N_ELEMENTS (stream_merges); i++)
    add (v, stream_merges[i], result_types (c->merge_errors && i == 0 ? 1 : 0));
  return v;
}

/* MS-PSRP 2.2.2.10, in the order Windows' own client writes it. */
CastellanClixmlValue *
castellan_psrp_create_pipeline_new (const CastellanPsrpPipelineSpec *spec)
{
  CastellanClixmlValue *v = castellan_clixml_value_new_object (NULL, CASTELLAN_CLIXML_CONTAINER_NONE);
  CastellanClixmlValue *powershell = castellan_clixml_value_new_object (NULL, CASTELLAN_CLIXML_CONTAINER_NONE);
  CastellanClixmlValue *cmds = new_list ();

  add (v, "NoInput", castellan_clixml_value_new_bool (spec->no_input));
  add (v, "ApartmentState", castellan_clixml_value_new_enum ("System.Management.Automation.Runspaces.ApartmentState",
                                                             "UNKNOWN", 2));
  add (v, "RemoteStreamOptions",
       castellan_clixml_value_new_enum ("System.Management.Automation.Runspaces.RemoteStreamOptions",
                                        "AddInvocationInfo", 15));
  add (v, "AddToHistory", castellan_clixml_value_new_bool (spec->add_to_history));
  add (v, "HostInfo", castellan_psrp_host_info_new (spec->host));
  for (guint i = 0; i < spec->commands->len; i++)
    castellan_clixml_value_add_item (cmds, command_value (g_ptr_array_index (spec->commands, i)));
  add (powershell, "IsNested", castellan_clixml_value_new_bool (FALSE));
  add (powershell, "ExtraCmds", castellan_clixml_value_new (CASTELLAN_CLIXML_NULL));
  add (powershell, "Cmds", cmds);
  add (powershell, "History", castellan_clixml_value_new (CASTELLAN_CLIXML_NULL));
  add (powershell, "RedirectShellErrorOutputPipe", castellan_clixml_value_new_bool (FALSE));
  add (v, "PowerShell", powershell);
  add (v, "IsNested", castellan_clixml_value_new_bool (FALSE));
  return v;
}

/* ---- the pipeline's state machine ---------------------------------------- */

struct _CastellanPsrpPipeline
{
  CastellanPsrpGuid rpid;
  CastellanPsrpGuid pid;
  CastellanPsrpInvocationState state;
  gboolean input_open;            /* PIPELINE_INPUT may still be sent */
  guint64 *object_ids;            /* the pool's counter */
  CastellanPsrpFragmenter *input;
  CastellanPsrpFragmenter *responses;
};

static void
set_state (CastellanPsrpPipeline       *self,
           CastellanPsrpInvocationState state)
{
  if (self->state == state)
    return;
  g_debug ("PSRP pipeline: %s -> %s", castellan_psrp_invocation_state_name (self->state),
           castellan_psrp_invocation_state_name (state));
  self->state = state;
}

static void
queue (CastellanPsrpPipeline    *self,
       CastellanPsrpFragmenter  *fragmenter,
       CastellanPsrpMessageType  type,
       CastellanClixmlValue     *value)
{
  castellan_psrp_message_enqueue (fragmenter, &self->rpid, &self->pid, type, value, (*self->object_ids)++);
}

/**
 * castellan_psrp_pipeline_new:
 *
 * The pipeline is Running from here: its CREATE_PIPELINE is queued on
 * the input stream, the first payload of which goes in the WS-Man
 * Command.
 */
CastellanPsrpPipeline *
castellan_psrp_pipeline_new (const CastellanPsrpGuid         *rpid,
                             const CastellanPsrpGuid         *pid,
                             const CastellanPsrpPipelineSpec *spec,
                             guint64                         *object_ids)
{
  CastellanPsrpPipeline *self = g_new0 (CastellanPsrpPipeline, 1);
  g_autoptr(CastellanClixmlValue) create = castellan_psrp_create_pipeline_new (spec);

  self->rpid = *rpid;
  self->pid = *pid;
  self->object_ids = object_ids;
  self->input = castellan_psrp_fragmenter_new ();
  self->responses = castellan_psrp_fragmenter_new ();
  self->input_open = !spec->no_input;
  queue (self, self->input, CASTELLAN_PSRP_MESSAGE_CREATE_PIPELINE, create);
  set_state (self, CASTELLAN_PSRP_PIPELINE_RUNNING);
  return self;
}

void
castellan_psrp_pipeline_free (CastellanPsrpPipeline *pipeline)
{
  if (pipeline == NULL)
    return;
  castellan_psrp_fragmenter_free (pipeline->input);
  castellan_psrp_fragmenter_free (pipeline->responses);
  g_free (pipeline);
}

const CastellanPsrpGuid *
castellan_psrp_pipeline_get_id (CastellanPsrpPipeline *pipeline)
{
  return &pipeline->pid;
}

CastellanPsrpInvocationState
castellan_psrp_pipeline_get_state (CastellanPsrpPipeline *pipeline)
{
  return pipeline->state;
}

gboolean
castellan_psrp_pipeline_accepts_input (CastellanPsrpPipeline *pipeline)
{
  return pipeline->input_open && pipeline->state == CASTELLAN_PSRP_PIPELINE_RUNNING;
}

static gboolean
check_input (CastellanPsrpPipeline  *self,
             const char             *action,
             GError                **error)
{
  if (self->state != CASTELLAN_PSRP_PIPELINE_RUNNING)
    return castellan_psrp_wrong_state (error, action, castellan_psrp_invocation_state_name (self->state),
                                       castellan_psrp_invocation_state_name (CASTELLAN_PSRP_PIPELINE_RUNNING));
  if (!self->input_open)
    return castellan_psrp_wrong_state (error, action, _("past the end of its input"),
                                       castellan_psrp_invocation_state_name (CASTELLAN_PSRP_PIPELINE_RUNNING));
  return TRUE;
}

gboolean
castellan_psrp_pipeline_send_input (CastellanPsrpPipeline  *pipeline,
                                    CastellanClixmlValue   *value,
                                    GError                **error)
{
  g_autoptr(CastellanClixmlValue) owned = value;

  if (!check_input (pipeline, _("take input"), error))
    return FALSE;
  queue (pipeline, pipeline->input, CASTELLAN_PSRP_MESSAGE_PIPELINE_INPUT, owned);
  return TRUE;
}

gboolean
castellan_psrp_pipeline_end_input (CastellanPsrpPipeline  *pipeline,
                                   GError                **error)
{
  if (!check_input (pipeline, _("end the input"), error))
    return FALSE;
  queue (pipeline, pipeline->input, CASTELLAN_PSRP_MESSAGE_END_OF_PIPELINE_INPUT, NULL);
  pipeline->input_open = FALSE;
  return TRUE;
}

gboolean
castellan_psrp_pipeline_host_response (CastellanPsrpPipeline    *pipeline,
                                       gint64                    call_id,
                                       CastellanPsrpHostMethod   method,
                                       CastellanClixmlValue     *result,
                                       CastellanClixmlValue     *error_record,
                                       GError                  **error)
{
  g_autoptr(CastellanClixmlValue) response = castellan_psrp_host_response_new (call_id, method, result,
                                                                               error_record);

  if (castellan_psrp_invocation_state_is_final (pipeline->state))
    return castellan_psrp_wrong_state (error, _("answer a host call"),
                                       castellan_psrp_invocation_state_name (pipeline->state),
                                       castellan_psrp_invocation_state_name (CASTELLAN_PSRP_PIPELINE_RUNNING));
  queue (pipeline, pipeline->responses, CASTELLAN_PSRP_MESSAGE_PIPELINE_HOST_RESPONSE, response);
  return TRUE;
}

gboolean
castellan_psrp_pipeline_stopping (CastellanPsrpPipeline  *pipeline,
                                  GError                **error)
{
  if (pipeline->state == CASTELLAN_PSRP_PIPELINE_STOPPING)
    return TRUE;
  if (pipeline->state != CASTELLAN_PSRP_PIPELINE_RUNNING)
    return castellan_psrp_wrong_state (error, _("stop the pipeline"),
                                       castellan_psrp_invocation_state_name (pipeline->state),
                                       castellan_psrp_invocation_state_name (CASTELLAN_PSRP_PIPELINE_RUNNING));
  set_state (pipeline, CASTELLAN_PSRP_PIPELINE_STOPPING);
  return TRUE;
}

static CastellanPsrpFragmenter *
fragmenter_for (CastellanPsrpPipeline *pipeline,
                CastellanPsrpStream    stream)
{
  return stream == CASTELLAN_PSRP_STREAM_PROMPT_RESPONSE ? pipeline->responses : pipeline->input;
}

gboolean
castellan_psrp_pipeline_has_data (CastellanPsrpPipeline *pipeline,
                                  CastellanPsrpStream    stream)
{
  return castellan_psrp_fragmenter_pending (fragmenter_for (pipeline, stream));
}

GBytes *
castellan_psrp_pipeline_data_to_send (CastellanPsrpPipeline *pipeline,
                                      CastellanPsrpStream    stream,
                                      gsize                  budget)
{
  return castellan_psrp_fragmenter_next_payload (fragmenter_for (pipeline, stream), budget);
}

/**
 * castellan_psrp_pipeline_process:
 *
 * Nothing arrives after the pipeline's last state: a message then is
 * refused, as is a state that goes back to Running.
 */
CastellanPsrpEvent *
castellan_psrp_pipeline_process (CastellanPsrpPipeline       *pipeline,
                                 const CastellanPsrpMessage  *message,
                                 const CastellanClixmlLimits *limits,
                                 GError                     **error)
{
  g_autoptr(CastellanPsrpEvent) event = NULL;

  if (castellan_psrp_invocation_state_is_final (pipeline->state))
    {
      castellan_set_psrp_malformed (error, _("a pipeline sent more after its last state"));
      return NULL;
    }
  event = castellan_psrp_event_from_message (message, limits, error);
  if (event == NULL)
    return NULL;
  if (event->type == CASTELLAN_PSRP_EVENT_PIPELINE_STATE)
    {
      CastellanPsrpInvocationState state = event->state;

      if (state == CASTELLAN_PSRP_PIPELINE_NOT_STARTED || state > CASTELLAN_PSRP_PIPELINE_DISCONNECTED)
        {
          castellan_set_psrp_malformed (error, _("a pipeline state out of order"));
          return NULL;
        }
      set_state (pipeline, state);
      if (castellan_psrp_invocation_state_is_final (state))
        pipeline->input_open = FALSE;
    }
  return g_steal_pointer (&event);
}
