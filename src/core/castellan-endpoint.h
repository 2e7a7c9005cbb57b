/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define CASTELLAN_HTTP_PORT 5985
#define CASTELLAN_HTTPS_PORT 5986

/* Where a WinRM listener is: what a user types in the quick-connect entry
 * or on the command line ("srv01", "srv01:5986", "https://srv01",
 * "[fe80::1]:5985") made explicit. */
typedef struct
{
  char *host;    /* without brackets, as the user wrote it (case kept) */
  guint16 port;
  gboolean https;
  char *path;    /* "/wsman" unless the URL named another; percent-encoded */
  GUri *uri;     /* the URL all of the above came from: what is sent */
} CastellanEndpoint;

CastellanEndpoint *castellan_endpoint_parse   (const char              *text,
                                               gboolean                 https_by_default,
                                               GError                 **error);
CastellanEndpoint *castellan_endpoint_copy    (const CastellanEndpoint *self);
void               castellan_endpoint_free    (CastellanEndpoint       *self);
char              *castellan_endpoint_to_url  (const CastellanEndpoint *self);
void               castellan_endpoint_set_port (CastellanEndpoint      *self,
                                                guint16                 port);
gboolean           castellan_endpoint_is_ip   (const CastellanEndpoint *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CastellanEndpoint, castellan_endpoint_free)

G_END_DECLS
