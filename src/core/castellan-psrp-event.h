/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "castellan-clixml.h"
#include "castellan-psrp-host.h"
#include "castellan-psrp-message.h"

G_BEGIN_DECLS

/* MS-PSRP 2.2.3.4, numbered as PowerShell's RunspacePoolState. */
typedef enum
{
  CASTELLAN_PSRP_POOL_BEFORE_OPEN = 0,
  CASTELLAN_PSRP_POOL_OPENING = 1,
  CASTELLAN_PSRP_POOL_OPENED = 2,
  CASTELLAN_PSRP_POOL_CLOSED = 3,
  CASTELLAN_PSRP_POOL_CLOSING = 4,
  CASTELLAN_PSRP_POOL_BROKEN = 5,
  CASTELLAN_PSRP_POOL_DISCONNECTING = 6,
  CASTELLAN_PSRP_POOL_DISCONNECTED = 7,
  CASTELLAN_PSRP_POOL_CONNECTING = 8,
} CastellanPsrpPoolState;

/* MS-PSRP 2.2.3.5 */
typedef enum
{
  CASTELLAN_PSRP_PIPELINE_NOT_STARTED = 0,
  CASTELLAN_PSRP_PIPELINE_RUNNING = 1,
  CASTELLAN_PSRP_PIPELINE_STOPPING = 2,
  CASTELLAN_PSRP_PIPELINE_STOPPED = 3,
  CASTELLAN_PSRP_PIPELINE_COMPLETED = 4,
  CASTELLAN_PSRP_PIPELINE_FAILED = 5,
  CASTELLAN_PSRP_PIPELINE_DISCONNECTED = 6,
} CastellanPsrpInvocationState;

const char *castellan_psrp_pool_state_name       (CastellanPsrpPoolState       state);
const char *castellan_psrp_invocation_state_name (CastellanPsrpInvocationState state);
gboolean    castellan_psrp_invocation_state_is_final (CastellanPsrpInvocationState state);

typedef enum
{
  CASTELLAN_PSRP_EVENT_POOL_STATE,          /* state; record: why it broke */
  CASTELLAN_PSRP_EVENT_SESSION_CAPABILITY,  /* text: the server's protocol version */
  CASTELLAN_PSRP_EVENT_APPLICATION_DATA,    /* text: PSVersionTable's PSVersion; value */
  CASTELLAN_PSRP_EVENT_SESSION_KEY,         /* text: EncryptedSessionKey, base64 */
  CASTELLAN_PSRP_EVENT_KEY_REQUESTED,
  CASTELLAN_PSRP_EVENT_OUTPUT,              /* value */
  CASTELLAN_PSRP_EVENT_ERROR,               /* value: an ErrorRecord */
  CASTELLAN_PSRP_EVENT_WARNING,             /* value; text: the message */
  CASTELLAN_PSRP_EVENT_VERBOSE,
  CASTELLAN_PSRP_EVENT_DEBUG,
  CASTELLAN_PSRP_EVENT_INFORMATION,         /* value; text: MessageData as text */
  CASTELLAN_PSRP_EVENT_PROGRESS,            /* value: a ProgressRecord */
  CASTELLAN_PSRP_EVENT_PIPELINE_STATE,      /* state; record: the terminating error */
  CASTELLAN_PSRP_EVENT_HOST_CALL,           /* call */
  CASTELLAN_PSRP_EVENT_OTHER,               /* message_type, value: nothing to act on */
} CastellanPsrpEventType;

typedef struct
{
  CastellanPsrpEventType type;
  CastellanPsrpMessageType message_type;
  gboolean for_pipeline;
  CastellanPsrpGuid pipeline;       /* when for_pipeline */
  int state;
  char *text;
  CastellanClixmlValue *value;      /* the message's data */
  CastellanClixmlValue *record;     /* ExceptionAsErrorRecord, or NULL */
  CastellanPsrpHostCall *call;
} CastellanPsrpEvent;

void castellan_psrp_event_free (CastellanPsrpEvent *event);

/* What a person reads of a record: an ErrorRecord's message, an
 * informational record's, an InformationRecord's MessageData. */
char       *castellan_psrp_record_text  (const CastellanClixmlValue *record);

/* The event a message from the server makes. */
CastellanPsrpEvent *castellan_psrp_event_from_message (const CastellanPsrpMessage  *message,
                                                       const CastellanClixmlLimits *limits,
                                                       GError                     **error);
/* An action the peer's state does not allow now. */
gboolean            castellan_psrp_wrong_state        (GError     **error,
                                                       const char  *action,
                                                       const char  *current,
                                                       const char  *expected);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CastellanPsrpEvent, castellan_psrp_event_free)

G_END_DECLS
