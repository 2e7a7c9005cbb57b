/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "castellan-connection.h"
#include "castellan-psrp-event.h"
#include "castellan-psrp-host.h"
#include "castellan-psrp-pipeline.h"

G_BEGIN_DECLS

#define CASTELLAN_PSRP_DEFAULT_CONFIGURATION "Microsoft.PowerShell"

#define CASTELLAN_TYPE_PSRP_SESSION (castellan_psrp_session_get_type ())

G_DECLARE_FINAL_TYPE (CastellanPsrpSession, castellan_psrp_session, CASTELLAN, PSRP_SESSION, GObject)

/* A pipeline's events as they come: output, the record streams, state,
 * and host calls, which are answered with
 * castellan_psrp_session_host_response(), now or later. The callback
 * owns @event. */
typedef void (*CastellanPsrpEventFunc) (CastellanPsrpSession *session,
                                        CastellanPsrpEvent   *event,
                                        gpointer              user_data);

CastellanPsrpSession *castellan_psrp_session_new (CastellanConnection             *connection,
                                                  const char                      *configuration,
                                                  const CastellanPsrpHostDefaults *host);
const char           *castellan_psrp_session_get_configuration (CastellanPsrpSession *self);
/* PSVersionTable.PSVersion, once open. */
const char           *castellan_psrp_session_get_powershell_version (CastellanPsrpSession *self);
const CastellanPsrpHostDefaults *castellan_psrp_session_get_host (CastellanPsrpSession *self);

void     castellan_psrp_session_open_async  (CastellanPsrpSession *self,
                                             GCancellable         *cancellable,
                                             GAsyncReadyCallback   callback,
                                             gpointer              user_data);
gboolean castellan_psrp_session_open_finish (CastellanPsrpSession *self,
                                             GAsyncResult         *result,
                                             GError              **error);

/* Runs one pipeline to its last state; one at a time. */
void     castellan_psrp_session_run_async   (CastellanPsrpSession            *self,
                                             const CastellanPsrpPipelineSpec *spec,
                                             CastellanPsrpEventFunc           on_event,
                                             gpointer                         event_data,
                                             GCancellable                    *cancellable,
                                             GAsyncReadyCallback              callback,
                                             gpointer                         user_data);
/* Returns the pipeline's last state; @record: its terminating error. */
CastellanPsrpInvocationState castellan_psrp_session_run_finish (CastellanPsrpSession  *self,
                                                                GAsyncResult          *result,
                                                                CastellanClixmlValue **record,
                                                                GError               **error);

/* Input to the running pipeline (created with no_input FALSE). */
gboolean castellan_psrp_session_send_input    (CastellanPsrpSession  *self,
                                               CastellanClixmlValue  *value,
                                               GError               **error);
gboolean castellan_psrp_session_end_input     (CastellanPsrpSession  *self,
                                               GError               **error);
/* Answers @event (a host call); takes ownership of @result and
 * @error_record. Void calls need no answer. */
gboolean castellan_psrp_session_host_response (CastellanPsrpSession      *self,
                                               const CastellanPsrpEvent  *event,
                                               CastellanClixmlValue      *result,
                                               CastellanClixmlValue      *error_record,
                                               GError                   **error);
/* PowerShell's stop: the pipeline ends Stopped. */
void     castellan_psrp_session_stop          (CastellanPsrpSession  *self);

/* The session key (MS-PSRP 3.2.5.4.3), exchanged once, before the first
 * SecureString goes either way. */
void     castellan_psrp_session_prepare_key_async  (CastellanPsrpSession *self,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
gboolean castellan_psrp_session_prepare_key_finish (CastellanPsrpSession *self,
                                                    GAsyncResult         *result,
                                                    GError              **error);
/* A SecureString's bytes for @text, under the session key. */
GBytes  *castellan_psrp_session_encrypt (CastellanPsrpSession *self,
                                         const char           *text,
                                         GError              **error);

void     castellan_psrp_session_close_async  (CastellanPsrpSession *self,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
gboolean castellan_psrp_session_close_finish (CastellanPsrpSession *self,
                                              GAsyncResult         *result,
                                              GError              **error);

G_END_DECLS
