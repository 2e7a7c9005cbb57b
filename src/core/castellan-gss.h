/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "castellan-gss-credentials.h"
#include "castellan-verdict.h"

G_BEGIN_DECLS

typedef struct
{
  CastellanAuthRequest auth;   /* negotiate, kerberos or ntlm */
  const char *service;         /* the SPN service, "HTTP" by default */
  const char *host;
  const char *user;            /* NULL: the default Kerberos credentials */
  const char *password;        /* NULL: the credential cache */
  gboolean delegate;           /* where the KDC marks the host ok-as-delegate */
  gboolean delegate_always;    /* whatever the KDC says of the host */
  gboolean ntlm_allowed;       /* may Negotiate end in NTLM? */
  GBytes *channel_binding;     /* "tls-server-end-point:…" over HTTPS */
  CastellanGssCredentials *credentials; /* where credentials from a password are kept */
} CastellanGssOptions;

/* One GSS-API security context: the 401 exchange, then MS-WSMV sealing. */
typedef struct _CastellanGss CastellanGss;

CastellanGss       *castellan_gss_new            (const CastellanGssOptions *options,
                                                  GError                   **error);
void                castellan_gss_free           (CastellanGss              *self);
gboolean            castellan_gss_step           (CastellanGss              *self,
                                                  const guint8              *in_token,
                                                  gsize                      in_length,
                                                  GBytes                   **out_token,
                                                  GError                   **error);
gboolean            castellan_gss_is_complete    (CastellanGss              *self);
gboolean            castellan_gss_sent_ticket    (CastellanGss              *self);
gboolean            castellan_gss_needs_mutual   (CastellanGss              *self);
const char         *castellan_gss_http_scheme    (CastellanGss              *self);
const char         *castellan_gss_protocol       (CastellanGss              *self);
CastellanAuthMethod castellan_gss_get_method     (CastellanGss              *self);
char               *castellan_gss_get_encryption (CastellanGss              *self);
char               *castellan_gss_get_user       (CastellanGss              *self);
gboolean            castellan_gss_get_delegated  (CastellanGss              *self);
const char         *castellan_gss_get_delegation_reason (CastellanGss       *self);
char               *castellan_gss_get_server_principal  (CastellanGss       *self);
gboolean            castellan_gss_check_target   (CastellanGss              *self,
                                                  GError                   **error);
void                castellan_gss_describe       (CastellanGss              *self,
                                                  CastellanVerdict          *verdict);
gboolean            castellan_gss_seal_padding   (CastellanGss              *self,
                                                  gsize                      length,
                                                  gsize                     *padding,
                                                  GError                   **error);
gboolean            castellan_gss_seal           (CastellanGss              *self,
                                                  const guint8              *data,
                                                  gsize                      length,
                                                  GByteArray                *body,
                                                  gsize                     *padding,
                                                  GError                   **error);
GBytes             *castellan_gss_unseal         (CastellanGss              *self,
                                                  GBytes                    *body,
                                                  gsize                      offset,
                                                  gsize                      signature_length,
                                                  gsize                      sealed_length,
                                                  gsize                     *padding,
                                                  GError                   **error);
const char         *castellan_kerberos_etype_name (int                       etype);
int                 castellan_kerberos_etype_from_oid (const guint8         *oid,
                                                       gsize                 length);
gboolean            castellan_kerberos_padding   (const guint8              *data,
                                                  gsize                      length,
                                                  gsize                     *padding);
gboolean            castellan_kerberos_principal_matches (const char        *principal,
                                                          const char        *service,
                                                          const char        *host);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CastellanGss, castellan_gss_free)

G_END_DECLS
