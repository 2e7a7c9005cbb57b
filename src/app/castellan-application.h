/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "castellan-inventory.h"

G_BEGIN_DECLS

#define CASTELLAN_TYPE_APPLICATION (castellan_application_get_type ())

G_DECLARE_FINAL_TYPE (CastellanApplication, castellan_application, CASTELLAN, APPLICATION, AdwApplication)

CastellanApplication *castellan_application_new            (void);
CastellanInventory   *castellan_application_get_inventory  (CastellanApplication *self);
void                  castellan_application_save_inventory (CastellanApplication *self,
                                                            GtkWindow            *parent);
const GError         *castellan_application_get_load_error (CastellanApplication *self);
GSettings            *castellan_application_get_settings   (CastellanApplication *self);

G_END_DECLS
