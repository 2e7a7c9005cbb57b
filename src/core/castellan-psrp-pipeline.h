/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "castellan-clixml.h"
#include "castellan-psrp-event.h"
#include "castellan-psrp-host.h"
#include "castellan-psrp-message.h"

G_BEGIN_DECLS

/* One command of a pipeline (MS-PSRP 2.2.3.12): a command name or, with
 * is_script, script text; arguments by name, or positional (name NULL). */
typedef struct
{
  char *text;
  gboolean is_script;
  gboolean use_local_scope;
  gboolean merge_errors;        /* its errors join its output */
  GPtrArray *names;             /* of char*, NULL for a positional argument */
  GPtrArray *values;            /* of CastellanClixmlValue */
} CastellanPsrpCommand;

CastellanPsrpCommand *castellan_psrp_command_new          (const char           *text,
                                                           gboolean              is_script);
void                  castellan_psrp_command_free         (CastellanPsrpCommand *command);
/* Takes ownership of @value. */
void                  castellan_psrp_command_add_argument (CastellanPsrpCommand *command,
                                                           const char           *name,
                                                           CastellanClixmlValue *value);

typedef struct
{
  GPtrArray *commands;          /* of CastellanPsrpCommand */
  gboolean no_input;            /* nothing will come on PIPELINE_INPUT */
  gboolean add_to_history;
  const CastellanPsrpHostDefaults *host; /* NULL: no host, prompts fail */
} CastellanPsrpPipelineSpec;

CastellanPsrpPipelineSpec *castellan_psrp_pipeline_spec_new  (void);
void                       castellan_psrp_pipeline_spec_free (CastellanPsrpPipelineSpec *spec);
/* Takes ownership of @command. */
void                       castellan_psrp_pipeline_spec_add  (CastellanPsrpPipelineSpec *spec,
                                                              CastellanPsrpCommand      *command);

/* CREATE_PIPELINE's data (MS-PSRP 2.2.2.10). */
CastellanClixmlValue *castellan_psrp_create_pipeline_new (const CastellanPsrpPipelineSpec *spec);

/* Streams a client sends on (MS-PSRP 3.1.5.1.1): input, and the answers to
 * host calls, which may overtake input. */
typedef enum
{
  CASTELLAN_PSRP_STREAM_INPUT,
  CASTELLAN_PSRP_STREAM_PROMPT_RESPONSE,
} CastellanPsrpStream;

/* A pipeline of a pool, without IO: messages in, events and payloads out.
 * Object ids come from the pool's counter, shared by all its senders. */
typedef struct _CastellanPsrpPipeline CastellanPsrpPipeline;

CastellanPsrpPipeline       *castellan_psrp_pipeline_new      (const CastellanPsrpGuid         *rpid,
                                                               const CastellanPsrpGuid         *pid,
                                                               const CastellanPsrpPipelineSpec *spec,
                                                               guint64                         *object_ids);
void                         castellan_psrp_pipeline_free     (CastellanPsrpPipeline *pipeline);
const CastellanPsrpGuid     *castellan_psrp_pipeline_get_id    (CastellanPsrpPipeline *pipeline);
CastellanPsrpInvocationState castellan_psrp_pipeline_get_state (CastellanPsrpPipeline *pipeline);
gboolean                     castellan_psrp_pipeline_accepts_input (CastellanPsrpPipeline *pipeline);

/* Takes ownership of @value. */
gboolean castellan_psrp_pipeline_send_input    (CastellanPsrpPipeline  *pipeline,
                                                CastellanClixmlValue   *value,
                                                GError                **error);
gboolean castellan_psrp_pipeline_end_input     (CastellanPsrpPipeline  *pipeline,
                                                GError                **error);
/* Takes ownership of @result and @error_record; exactly one may be set,
 * or neither for a method that returns nothing. */
gboolean castellan_psrp_pipeline_host_response (CastellanPsrpPipeline    *pipeline,
                                                gint64                    call_id,
                                                CastellanPsrpHostMethod   method,
                                                CastellanClixmlValue     *result,
                                                CastellanClixmlValue     *error_record,
                                                GError                  **error);
/* The stop signal went out: Running -> Stopping. */
gboolean castellan_psrp_pipeline_stopping      (CastellanPsrpPipeline  *pipeline,
                                                GError                **error);

gboolean castellan_psrp_pipeline_has_data      (CastellanPsrpPipeline  *pipeline,
                                                CastellanPsrpStream     stream);
GBytes  *castellan_psrp_pipeline_data_to_send  (CastellanPsrpPipeline  *pipeline,
                                                CastellanPsrpStream     stream,
                                                gsize                   budget);
/* A message from the server for this pipeline: the event it makes. */
CastellanPsrpEvent *castellan_psrp_pipeline_process (CastellanPsrpPipeline       *pipeline,
                                                     const CastellanPsrpMessage  *message,
                                                     const CastellanClixmlLimits *limits,
                                                     GError                     **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CastellanPsrpCommand, castellan_psrp_command_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CastellanPsrpPipelineSpec, castellan_psrp_pipeline_spec_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CastellanPsrpPipeline, castellan_psrp_pipeline_free)

G_END_DECLS
