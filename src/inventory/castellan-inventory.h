/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "castellan-host.h"

G_BEGIN_DECLS

#define CASTELLAN_TYPE_INVENTORY (castellan_inventory_get_type ())

G_DECLARE_FINAL_TYPE (CastellanInventory, castellan_inventory, CASTELLAN, INVENTORY, GObject)

#define CASTELLAN_INVENTORY_ERROR (castellan_inventory_error_quark ())

typedef enum
{
  CASTELLAN_INVENTORY_ERROR_DAMAGED,   /* kept aside; the inventory starts empty */
  CASTELLAN_INVENTORY_ERROR_IO,
  CASTELLAN_INVENTORY_ERROR_CSV,
  CASTELLAN_INVENTORY_ERROR_INVALID,   /* a host that cannot be saved as it is */
} CastellanInventoryError;

GQuark              castellan_inventory_error_quark  (void);
char               *castellan_inventory_default_path (void);
CastellanInventory *castellan_inventory_new          (const char          *path);
const char         *castellan_inventory_get_path     (CastellanInventory  *self);
GListModel         *castellan_inventory_get_hosts    (CastellanInventory  *self);
gboolean            castellan_inventory_load         (CastellanInventory  *self,
                                                      GError             **error);
gboolean            castellan_inventory_save         (CastellanInventory  *self,
                                                      GError             **error);
void                castellan_inventory_watch        (CastellanInventory  *self);
void                castellan_inventory_add          (CastellanInventory  *self,
                                                      CastellanHost       *host);
void                castellan_inventory_remove       (CastellanInventory  *self,
                                                      CastellanHost       *host);
CastellanHost      *castellan_inventory_find         (CastellanInventory  *self,
                                                      const char          *id);
char               *castellan_inventory_to_csv       (CastellanInventory  *self);
guint               castellan_inventory_import_csv   (CastellanInventory  *self,
                                                      const char          *csv,
                                                      GError             **error);

G_END_DECLS
