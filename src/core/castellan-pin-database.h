/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define CASTELLAN_TYPE_PIN_DATABASE (castellan_pin_database_get_type ())

G_DECLARE_FINAL_TYPE (CastellanPinDatabase, castellan_pin_database, CASTELLAN, PIN_DATABASE, GTlsDatabase)

GTlsDatabase *castellan_pin_database_new (const char *pinned_sha256);

G_END_DECLS
