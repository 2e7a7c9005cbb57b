/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "castellan-endpoint.h"

G_BEGIN_DECLS

GError *castellan_net_error_translate (const GError             *error,
                                       const CastellanEndpoint  *endpoint,
                                       GTlsCertificateFlags      tls_errors);

G_END_DECLS
