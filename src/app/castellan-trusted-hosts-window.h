/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "castellan-inventory.h"

G_BEGIN_DECLS

GtkWindow *castellan_trusted_hosts_window_new (GtkWindow          *parent,
                                               CastellanInventory *inventory);

G_END_DECLS
