/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <errno.h>
#include <string.h>

#include "castellan-inventory.h"

/* The saved hosts: an INI file (GKeyFile) in $XDG_DATA_HOME/castellan,
 * one group "[host ID]" per host, keys named as the host's properties:
 *
 *   [castellan]
 *   version=1
 *
 *   [host 0b6e…]
 *   name=Web 01
 *   address=web01.corp.example
 *   https=true
 *   …
 *
 * It is written whole to a temporary file, synced and renamed over the old
 * one, so a crash leaves the old or the new file, never half of one. A file
 * that cannot be read is renamed aside, reported, and never overwritten. */
#define FORMAT_VERSION 1
#define HOST_GROUP_PREFIX "host "

struct _CastellanInventory
{
  GObject parent_instance;

  char *path;
  GListStore *hosts;
};

G_DEFINE_FINAL_TYPE (CastellanInventory, castellan_inventory, G_TYPE_OBJECT)
G_DEFINE_QUARK (castellan-inventory-error-quark, castellan_inventory_error)

static void
castellan_inventory_finalize (GObject *object)
{
  CastellanInventory *self = CASTELLAN_INVENTORY (object);

  g_free (self->path);
  g_clear_object (&self->hosts);
  G_OBJECT_CLASS (castellan_inventory_parent_class)->finalize (object);
}

static void
castellan_inventory_class_init (CastellanInventoryClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = castellan_inventory_finalize;
}

static void
castellan_inventory_init (CastellanInventory *self)
{
  self->hosts = g_list_store_new (CASTELLAN_TYPE_HOST);
}

char *
castellan_inventory_default_path (void)
{
  return g_build_filename (g_get_user_data_dir (), "castellan", "inventory.ini", NULL);
}

CastellanInventory *
castellan_inventory_new (const char *path)
{
  CastellanInventory *self = g_object_new (CASTELLAN_TYPE_INVENTORY, NULL);

  self->path = path ? g_strdup (path) : castellan_inventory_default_path ();
  return self;
}

const char *
castellan_inventory_get_path (CastellanInventory *self)
{
  return self->path;
}

GListModel *
castellan_inventory_get_hosts (CastellanInventory *self)
{
  return G_LIST_MODEL (self->hosts);
}

void
castellan_inventory_add (CastellanInventory *self,
                         CastellanHost      *host)
{
  g_list_store_append (self->hosts, host);
}

void
castellan_inventory_remove (CastellanInventory *self,
                            CastellanHost      *host)
{
  guint position;

  if (g_list_store_find (self->hosts, host, &position))
    g_list_store_remove (self->hosts, position);
}

CastellanHost *
castellan_inventory_find (CastellanInventory *self,
                          const char         *id)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->hosts));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(CastellanHost) host = g_list_model_get_item (G_LIST_MODEL (self->hosts), i);

      if (g_strcmp0 (castellan_host_get_id (host), id) == 0)
        return host;
    }
  return NULL;
}

static void
host_from_group (CastellanHost *host,
                 GKeyFile      *file,
                 const char    *group)
{
  guint n;
  const CastellanHostField *fields = castellan_host_fields (&n);

  for (guint i = 0; i < n; i++)
    {
      const CastellanHostField *f = &fields[i];

      if (!g_key_file_has_key (file, group, f->key, NULL))
        continue;
      if (f->type == G_TYPE_STRING)
        {
          g_autofree char *value = g_key_file_get_string (file, group, f->key, NULL);

          g_object_set (host, f->key, value, NULL);
        }
      else if (f->type == G_TYPE_BOOLEAN)
        g_object_set (host, f->key, g_key_file_get_boolean (file, group, f->key, NULL), NULL);
      else
        {
          int value = g_key_file_get_integer (file, group, f->key, NULL);

          g_object_set (host, f->key, (guint) CLAMP (value, 0, G_MAXUINT16), NULL);
        }
    }
}

static void
host_to_group (CastellanHost *host,
               GKeyFile      *file)
{
  g_autofree char *group = g_strconcat (HOST_GROUP_PREFIX, castellan_host_get_id (host), NULL);
  guint n;
  const CastellanHostField *fields = castellan_host_fields (&n);

  for (guint i = 1; i < n; i++)
    {
      const CastellanHostField *f = &fields[i];
      g_auto(GValue) value = G_VALUE_INIT;

      g_value_init (&value, f->type);
      g_object_get_property (G_OBJECT (host), f->key, &value);
      if (f->type == G_TYPE_STRING)
        {
          if (g_value_get_string (&value) != NULL && *g_value_get_string (&value) != '\0')
            g_key_file_set_string (file, group, f->key, g_value_get_string (&value));
        }
      else if (f->type == G_TYPE_BOOLEAN)
        g_key_file_set_boolean (file, group, f->key, g_value_get_boolean (&value));
      else if (g_value_get_uint (&value) != 0)
        g_key_file_set_integer (file, group, f->key, (int) g_value_get_uint (&value));
    }
}

/* Moves a damaged file out of the way, under a name that says so. */
static char *
keep_aside (const char  *path,
            GError     **error)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format (now, "%Y%m%d-%H%M%S");
  g_autofree char *aside = g_strdup_printf ("%s.damaged-%s", path, stamp);

  if (g_rename (path, aside) != 0)
    {
      int saved = errno;

      g_set_error (error, CASTELLAN_INVENTORY_ERROR, CASTELLAN_INVENTORY_ERROR_IO,
                   _("The host inventory %s cannot be read, and could not be moved aside (%s). Nothing was changed; repair or move the file, then start Castellan again."),
                   path, g_strerror (saved));
      return NULL;
    }
  return g_steal_pointer (&aside);
}

/**
 * castellan_inventory_load:
 *
 * Replaces the hosts with those of the file. A missing file is an empty
 * inventory. A file that cannot be parsed is renamed aside and reported
 * with %CASTELLAN_INVENTORY_ERROR_DAMAGED; the inventory is then empty and
 * usable, and the damaged copy stays where the message says.
 */
gboolean
castellan_inventory_load (CastellanInventory  *self,
                          GError             **error)
{
  g_autoptr(GKeyFile) file = g_key_file_new ();
  g_autoptr(GError) local = NULL;
  g_autoptr(GPtrArray) loaded = g_ptr_array_new_with_free_func (g_object_unref);
  g_auto(GStrv) groups = NULL;
  int version;

  g_list_store_remove_all (self->hosts);
  if (!g_key_file_load_from_file (file, self->path, G_KEY_FILE_KEEP_COMMENTS, &local))
    {
      g_autofree char *aside = NULL;

      if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return TRUE;
      if (local->domain == G_FILE_ERROR)
        {
          g_set_error (error, CASTELLAN_INVENTORY_ERROR, CASTELLAN_INVENTORY_ERROR_IO,
                       _("The host inventory %s cannot be read: %s"), self->path, local->message);
          return FALSE;
        }
      aside = keep_aside (self->path, error);
      if (aside == NULL)
        return FALSE;
      g_set_error (error, CASTELLAN_INVENTORY_ERROR, CASTELLAN_INVENTORY_ERROR_DAMAGED,
                   _("The host inventory was damaged (%s). It was kept as %s, and Castellan starts with an empty inventory; you can repair the copy or import hosts again."),
                   local->message, aside);
      return FALSE;
    }

  version = g_key_file_get_integer (file, "castellan", "version", NULL);
  if (version > FORMAT_VERSION)
    {
      g_set_error (error, CASTELLAN_INVENTORY_ERROR, CASTELLAN_INVENTORY_ERROR_IO,
                   _("The host inventory %s was written by a newer Castellan (format %d). It was left untouched; update Castellan to use it."),
                   self->path, version);
      return FALSE;
    }

  groups = g_key_file_get_groups (file, NULL);
  for (guint i = 0; groups[i] != NULL; i++)
    {
      CastellanHost *host;

      if (!g_str_has_prefix (groups[i], HOST_GROUP_PREFIX))
        continue;
      host = castellan_host_new ();
      g_object_set (host, "id", groups[i] + strlen (HOST_GROUP_PREFIX), NULL);
      host_from_group (host, file, groups[i]);
      g_ptr_array_add (loaded, host);
    }
  g_list_store_splice (self->hosts, 0, 0, loaded->pdata, loaded->len);
  return TRUE;
}

gboolean
castellan_inventory_save (CastellanInventory  *self,
                          GError             **error)
{
  g_autoptr(GKeyFile) file = g_key_file_new ();
  g_autofree char *dir = g_path_get_dirname (self->path);
  g_autofree char *data = NULL;
  g_autoptr(GError) local = NULL;
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->hosts));
  gsize len;

  g_key_file_set_comment (file, NULL, NULL,
                          " Castellan host inventory: one [host ID] group per host. Secrets never go here; they live in the keyring.",
                          NULL);
  g_key_file_set_integer (file, "castellan", "version", FORMAT_VERSION);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(CastellanHost) host = g_list_model_get_item (G_LIST_MODEL (self->hosts), i);

      host_to_group (host, file);
    }
  data = g_key_file_to_data (file, &len, NULL);

  if (g_mkdir_with_parents (dir, 0700) != 0 ||
      !g_file_set_contents_full (self->path, data, len, G_FILE_SET_CONTENTS_CONSISTENT,
                                 0600, &local))
    {
      g_set_error (error, CASTELLAN_INVENTORY_ERROR, CASTELLAN_INVENTORY_ERROR_IO,
                   _("The host inventory could not be saved to %s (%s). Your changes are still in this window; free some space or fix the folder’s permissions, then change anything to save again."),
                   self->path, local ? local->message : g_strerror (errno));
      return FALSE;
    }
  return TRUE;
}
