/* SPDX-License-Identifier: GPL-3.0-or-later */
/* For test_kill_during_save.py:
 *
 *   inventory-writer write PATH   saves generation after generation of a
 *                                 500-host inventory until killed
 *   inventory-writer check PATH   loads it; prints the generation, or fails
 *                                 if the file is damaged or mixed */
#include <stdio.h>
#include <string.h>

#include "castellan-inventory.h"

#define HOSTS 500

static int
write_forever (const char *path)
{
  g_autoptr(CastellanInventory) inv = castellan_inventory_new (path);
  g_autoptr(GError) error = NULL;

  if (!castellan_inventory_load (inv, &error))
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  for (guint i = g_list_model_get_n_items (castellan_inventory_get_hosts (inv)); i < HOSTS; i++)
    {
      g_autoptr(CastellanHost) host = castellan_host_new ();
      g_autofree char *name = g_strdup_printf ("srv%04u", i);

      g_object_set (host, "name", name, "address", name, "notes", "generation 0", NULL);
      castellan_inventory_add (inv, host);
    }
  for (guint generation = 1;; generation++)
    {
      GListModel *hosts = castellan_inventory_get_hosts (inv);
      g_autofree char *notes = g_strdup_printf ("generation %u", generation);

      for (guint i = 0; i < HOSTS; i++)
        {
          g_autoptr(CastellanHost) host = g_list_model_get_item (hosts, i);

          g_object_set (host, "notes", notes, NULL);
        }
      if (!castellan_inventory_save (inv, &error))
        {
          fprintf (stderr, "%s\n", error->message);
          return 1;
        }
      printf ("%u\n", generation);
      fflush (stdout);
    }
}

static int
check (const char *path)
{
  g_autoptr(CastellanInventory) inv = castellan_inventory_new (path);
  g_autoptr(GError) error = NULL;
  g_autofree char *first = NULL;
  GListModel *hosts;
  guint n;

  if (!castellan_inventory_load (inv, &error))
    {
      fprintf (stderr, "not loaded: %s\n", error->message);
      return 1;
    }
  hosts = castellan_inventory_get_hosts (inv);
  n = g_list_model_get_n_items (hosts);
  if (n != HOSTS)
    {
      fprintf (stderr, "%u hosts instead of %u\n", n, HOSTS);
      return 1;
    }
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(CastellanHost) host = g_list_model_get_item (hosts, i);
      g_autofree char *notes = NULL;

      g_object_get (host, "notes", &notes, NULL);
      if (first == NULL)
        first = g_strdup (notes);
      else if (g_strcmp0 (first, notes) != 0)
        {
          fprintf (stderr, "mixed: %s and %s\n", first, notes);
          return 1;
        }
    }
  printf ("%s\n", first);
  return 0;
}

int
main (int   argc,
      char *argv[])
{
  if (argc == 3 && strcmp (argv[1], "write") == 0)
    return write_forever (argv[2]);
  if (argc == 3 && strcmp (argv[1], "check") == 0)
    return check (argv[2]);
  fprintf (stderr, "usage: inventory-writer write|check PATH\n");
  return 2;
}
