/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define CASTELLAN_TYPE_BANNER (castellan_banner_get_type ())

G_DECLARE_FINAL_TYPE (CastellanBanner, castellan_banner, CASTELLAN, BANNER, GtkWidget)

/* One line and one button, above what it is about: AdwBanner where the
 * library has it (1.3), an info bar on libadwaita 1.2.
 * Signal: ::button-clicked. */
GtkWidget  *castellan_banner_new          (void);
void        castellan_banner_show         (CastellanBanner *self,
                                           const char      *title,
                                           const char      *button_label);
void        castellan_banner_hide         (CastellanBanner *self);
gboolean    castellan_banner_get_revealed (CastellanBanner *self);
const char *castellan_banner_get_title    (CastellanBanner *self);

G_END_DECLS
