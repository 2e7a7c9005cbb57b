/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "castellan-verdict.h"

G_BEGIN_DECLS

/* Levels read without colour: each has its own icon shape and words. */
const char *castellan_security_icon_name (const char *level_id);
const char *castellan_security_title     (const char *level_id);
const char *castellan_security_style     (const char *level_id);
void        castellan_security_apply_style (GtkWidget  *widget,
                                            const char *style);
GtkWidget  *castellan_security_level_image (const char *level_id);
GtkWidget  *castellan_security_grid_new  (void);
void        castellan_security_add_row   (GtkWidget  *grid,
                                          const char *field,
                                          const char *value);
GtkWidget  *castellan_security_heading   (const char *icon,
                                          const char *style,
                                          const char *title);
char       *castellan_security_describe  (const CastellanVerdict *verdict);
GtkWidget  *castellan_security_details   (const CastellanVerdict *verdict);
void        castellan_security_set_accessible (GtkWidget  *widget,
                                               const char *label,
                                               const char *description);

G_END_DECLS
