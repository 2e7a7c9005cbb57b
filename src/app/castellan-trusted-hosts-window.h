/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "castellan-inventory.h"

G_BEGIN_DECLS

/* @changed is called after every save, so that what cites an entry can
 * check that it is still there. */
GtkWindow *castellan_trusted_hosts_window_new (GtkWindow          *parent,
                                               CastellanInventory *inventory,
                                               GCallback           changed,
                                               gpointer            data);

G_END_DECLS
