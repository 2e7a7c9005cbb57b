/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

#include "castellan-connect-options.h"
#include "castellan-verdict.h"

G_BEGIN_DECLS

#define CASTELLAN_TYPE_HOST (castellan_host_get_type ())

G_DECLARE_FINAL_TYPE (CastellanHost, castellan_host, CASTELLAN, HOST, GObject)

/* One saved host. Every field is a property, so rows, editors and the
 * file format share one description. No secret is ever stored here. */
CastellanHost *castellan_host_new              (void);
CastellanHost *castellan_host_duplicate        (CastellanHost *self);
const char    *castellan_host_get_id           (CastellanHost *self);
const char    *castellan_host_get_name         (CastellanHost *self);
const char    *castellan_host_get_address      (CastellanHost *self);
guint          castellan_host_get_port         (CastellanHost *self);
gboolean       castellan_host_get_https        (CastellanHost *self);
const char    *castellan_host_get_auth         (CastellanHost *self);
const char    *castellan_host_get_user         (CastellanHost *self);
const char    *castellan_host_get_group        (CastellanHost *self);
const char    *castellan_host_get_tags         (CastellanHost *self);
gboolean       castellan_host_get_delegation   (CastellanHost *self);
const char    *castellan_host_get_last_level   (CastellanHost *self);
const char    *castellan_host_get_shell        (CastellanHost *self);
const char    *castellan_host_get_last_problem (CastellanHost *self);
char          *castellan_host_dup_display_name (CastellanHost *self);
const char    *castellan_host_get_search_text  (CastellanHost *self);
const char    *castellan_host_get_sort_key     (CastellanHost *self);
const char    *castellan_host_find_control     (CastellanHost *self);
gboolean       castellan_host_key_is_single_line (const char  *key);
gboolean       castellan_host_text_has_control (const char    *text);
CastellanConnectOptions *castellan_host_to_options (CastellanHost  *self,
                                                    GError        **error);
void           castellan_host_set_verdict      (CastellanHost          *self,
                                                const CastellanVerdict *verdict);
CastellanVerdict *castellan_host_dup_last_verdict (CastellanHost *self);

/* The saved fields, in file order: name, type and key in the file. */
typedef struct
{
  const char *key;
  GType type;
} CastellanHostField;

const CastellanHostField *castellan_host_fields (guint *n_fields);

G_END_DECLS
