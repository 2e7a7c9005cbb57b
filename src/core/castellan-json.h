/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

void castellan_json_string (GString    *out,
                            const char *value);
void castellan_json_member (GString    *out,
                            const char *name,
                            const char *value,
                            gboolean    comma);

G_END_DECLS
