/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: the inventory file and CSV imports, whatever is in
 * them. A damaged file must be kept aside, never lost. */
#include <glib/gstdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "castellan-inventory.h"
#include "fuzz.h"

static char *dir;

/* Each input's files go after it; the folder at the end. */
static void
remove_dir (void)
{
  g_rmdir (dir);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *path = NULL;
  g_autofree char *csv = g_strndup ((const char *) data, size);
  g_autoptr(CastellanInventory) inv = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) listing = NULL;
  const char *name;

  if (dir == NULL)
    {
      dir = g_dir_make_tmp ("castellan-fuzz-XXXXXX", NULL);
      atexit (remove_dir);
    }
  path = g_build_filename (dir, "inventory.ini", NULL);
  g_file_set_contents (path, (const char *) data, size, NULL);
  inv = castellan_inventory_new (path);
  if (!castellan_inventory_load (inv, &error))
    g_assert_true (g_error_matches (error, CASTELLAN_INVENTORY_ERROR, CASTELLAN_INVENTORY_ERROR_DAMAGED) ||
                   g_error_matches (error, CASTELLAN_INVENTORY_ERROR, CASTELLAN_INVENTORY_ERROR_IO));
  g_clear_error (&error);
  castellan_inventory_import_csv (inv, csv, &error);
  /* Clean up what a damaged file left aside. */
  listing = g_dir_open (dir, 0, NULL);
  while (listing && (name = g_dir_read_name (listing)) != NULL)
    {
      g_autofree char *p = g_build_filename (dir, name, NULL);

      g_unlink (p);
    }
  return 0;
}
