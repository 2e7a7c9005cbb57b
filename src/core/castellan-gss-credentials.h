/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The GSS-API credentials acquired from one password, shared by every
 * connection made with the same options: one sign-in (one AS exchange
 * with the KDC, one NTLM key) rather than one per connection. Released,
 * and with them the keys, when the last options holding them are freed. */
typedef struct _CastellanGssCredentials CastellanGssCredentials;

CastellanGssCredentials *castellan_gss_credentials_new   (void);
CastellanGssCredentials *castellan_gss_credentials_ref   (CastellanGssCredentials *self);
void                     castellan_gss_credentials_unref (CastellanGssCredentials *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CastellanGssCredentials, castellan_gss_credentials_unref)

G_END_DECLS
