/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "castellan-psrp-event.h"
#include "castellan-psrp-host.h"
#include "castellan-psrp-pipeline.h"

G_BEGIN_DECLS

/* The protocol version announced: 2.3 is the last with the session-key
 * exchange that SecureStrings need. */
#define CASTELLAN_PSRP_PROTOCOL_VERSION "2.3"

typedef struct
{
  int min_runspaces;
  int max_runspaces;
  const CastellanPsrpHostDefaults *host;    /* NULL: no host */
  CastellanClixmlValue *application_arguments; /* borrowed; NULL for none */
  CastellanClixmlLimits limits;             /* zeros: the defaults */
} CastellanPsrpPoolOptions;

/* A runspace pool, client side, without IO (MS-PSRP 3.1): payloads the
 * transport received go in, events and payloads to send come out. The
 * transport says which pipeline a payload came for (NULL: the pool's own
 * Receive), and asks for payloads by pipeline and stream within a byte
 * budget it computes from the envelope size. */
typedef struct _CastellanPsrpPool CastellanPsrpPool;

CastellanPsrpPool     *castellan_psrp_pool_new       (const CastellanPsrpGuid        *rpid,
                                                      const CastellanPsrpPoolOptions *options);
void                   castellan_psrp_pool_free      (CastellanPsrpPool              *pool);
const CastellanPsrpGuid *castellan_psrp_pool_get_id  (CastellanPsrpPool              *pool);
CastellanPsrpPoolState castellan_psrp_pool_get_state (CastellanPsrpPool              *pool);
/* The server's protocol version, once known, else NULL. */
const char            *castellan_psrp_pool_get_server_protocol (CastellanPsrpPool    *pool);

/* BeforeOpen -> Opening: SESSION_CAPABILITY and INIT_RUNSPACEPOOL queued
 * on the pool's input (the first payload goes in creationXml). */
gboolean castellan_psrp_pool_open            (CastellanPsrpPool  *pool,
                                              GError            **error);
gboolean castellan_psrp_pool_closing         (CastellanPsrpPool  *pool);
/* PUBLIC_KEY, queued on the pool's input. */
gboolean castellan_psrp_pool_send_public_key (CastellanPsrpPool  *pool,
                                              const char         *public_key_base64,
                                              GError            **error);
/* RUNSPACEPOOL_HOST_RESPONSE; takes ownership of @result and @error_record. */
gboolean castellan_psrp_pool_host_response   (CastellanPsrpPool        *pool,
                                              gint64                    call_id,
                                              CastellanPsrpHostMethod   method,
                                              CastellanClixmlValue     *result,
                                              CastellanClixmlValue     *error_record,
                                              GError                  **error);

/* A new pipeline in the Opened pool, owned by the pool until forgotten. */
CastellanPsrpPipeline *castellan_psrp_pool_create_pipeline (CastellanPsrpPool               *pool,
                                                            const CastellanPsrpPipelineSpec *spec,
                                                            GError                         **error);
CastellanPsrpPipeline *castellan_psrp_pool_get_pipeline    (CastellanPsrpPool               *pool,
                                                            const CastellanPsrpGuid         *pid);
void                   castellan_psrp_pool_forget_pipeline (CastellanPsrpPool               *pool,
                                                            const CastellanPsrpGuid         *pid);

/* @pid: the pipeline the payloads are for, or NULL for the pool's own. */
gboolean  castellan_psrp_pool_has_data     (CastellanPsrpPool       *pool,
                                            const CastellanPsrpGuid *pid,
                                            CastellanPsrpStream      stream);
GBytes   *castellan_psrp_pool_data_to_send (CastellanPsrpPool       *pool,
                                            const CastellanPsrpGuid *pid,
                                            CastellanPsrpStream      stream,
                                            gsize                    budget);
/* A received payload (fragments); the events it completes queue up. */
gboolean  castellan_psrp_pool_receive      (CastellanPsrpPool       *pool,
                                            const CastellanPsrpGuid *pid,
                                            const guint8            *data,
                                            gsize                    length,
                                            GError                 **error);
CastellanPsrpEvent *castellan_psrp_pool_next_event (CastellanPsrpPool *pool);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CastellanPsrpPool, castellan_psrp_pool_free)

G_END_DECLS
