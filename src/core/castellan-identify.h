/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "castellan-endpoint.h"

G_BEGIN_DECLS

/* What a WinRM listener says about itself before anyone authenticates:
 * the WS-Man Identify answer and the schemes its 401 offers. */
typedef struct
{
  char *protocol_version;
  char *product_vendor;
  char *product_version;
  GStrv auth_schemes;   /* "Negotiate", "Kerberos", "Basic", … in offer order */
  char *tls_protocol;   /* "tls-1.3" over HTTPS, else NULL */
} CastellanIdentity;

void               castellan_identify_async   (const CastellanEndpoint  *endpoint,
                                               GTlsDatabase             *tls_database,
                                               GCancellable             *cancellable,
                                               GAsyncReadyCallback       callback,
                                               gpointer                  user_data);
CastellanIdentity *castellan_identify_finish  (GAsyncResult             *result,
                                               GError                  **error);
CastellanIdentity *castellan_identity_parse   (const char               *xml,
                                               gsize                     length,
                                               GError                  **error);
void               castellan_identity_free    (CastellanIdentity        *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CastellanIdentity, castellan_identity_free)

G_END_DECLS
