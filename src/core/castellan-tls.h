/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

GBytes     *castellan_tls_channel_binding (GTlsCertificate     *certificate);
char       *castellan_tls_fingerprint     (GTlsCertificate     *certificate);
gboolean    castellan_tls_pin_matches     (GTlsCertificate     *certificate,
                                           const char          *pin);
const char *castellan_tls_version_id      (GTlsProtocolVersion  version);

G_END_DECLS
