/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define CASTELLAN_TYPE_TRUST_DATABASE (castellan_trust_database_get_type ())

G_DECLARE_FINAL_TYPE (CastellanTrustDatabase, castellan_trust_database, CASTELLAN, TRUST_DATABASE, GTlsDatabase)

GTlsDatabase *castellan_trust_database_get_default (void);
GTlsDatabase *castellan_trust_database_new         (const char  *ca_file,
                                                    GError     **error);

G_END_DECLS
