/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "castellan-host.h"

G_BEGIN_DECLS

#define CASTELLAN_TYPE_HOST_ROW (castellan_host_row_get_type ())

G_DECLARE_FINAL_TYPE (CastellanHostRow, castellan_host_row, CASTELLAN, HOST_ROW, GtkWidget)

GtkWidget     *castellan_host_row_new      (void);
void           castellan_host_row_set_host (CastellanHostRow *self,
                                            CastellanHost    *host);
CastellanHost *castellan_host_row_get_host (CastellanHostRow *self);
void           castellan_host_row_popup_menu (CastellanHostRow *self);

G_END_DECLS
