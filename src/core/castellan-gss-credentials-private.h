/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gssapi/gssapi.h>

#include "castellan-gss-credentials.h"

G_BEGIN_DECLS

void          castellan_gss_credentials_lock   (CastellanGssCredentials *self);
void          castellan_gss_credentials_unlock (CastellanGssCredentials *self);
gss_cred_id_t castellan_gss_credentials_lookup (CastellanGssCredentials *self,
                                                const char              *key);
void          castellan_gss_credentials_store  (CastellanGssCredentials *self,
                                                const char              *key,
                                                gss_cred_id_t            cred);

G_END_DECLS
