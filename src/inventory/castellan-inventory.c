/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

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
 * that cannot be read is renamed aside, reported, and never overwritten.
 *
 * Another instance (another Castellan, or a text editor) may change the
 * file meanwhile: saving merges host by host against the file as it was
 * last read or written (the baseline), so that an edit made elsewhere is
 * kept unless this instance changed the same host, and a watch on the file
 * brings such edits into the list as they happen. */
#define FORMAT_VERSION 1
#define HOST_GROUP_PREFIX "host "

struct _CastellanInventory
{
  GObject parent_instance;

  char *path;
  GListStore *hosts;
  GHashTable *baseline;    /* host ID → its text as last read or written */
  GKeyFile *loaded;        /* the file as loaded, until the baseline is needed */
  char *written;           /* the file as this instance last wrote it */
  GFileMonitor *monitor;
  guint reread_source;
};

G_DEFINE_FINAL_TYPE (CastellanInventory, castellan_inventory, G_TYPE_OBJECT)
G_DEFINE_QUARK (castellan-inventory-error-quark, castellan_inventory_error)

static void
castellan_inventory_finalize (GObject *object)
{
  CastellanInventory *self = CASTELLAN_INVENTORY (object);

  g_clear_handle_id (&self->reread_source, g_source_remove);
  if (self->monitor != NULL)
    g_signal_handlers_disconnect_by_data (self->monitor, self);
  g_clear_object (&self->monitor);
  g_free (self->path);
  g_free (self->written);
  g_clear_pointer (&self->baseline, g_hash_table_unref);
  g_clear_pointer (&self->loaded, g_key_file_unref);
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
  self->baseline = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
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

/* One host as text, to tell whether it changed. */
static char *
host_text (CastellanHost *host)
{
  g_autoptr(GKeyFile) file = g_key_file_new ();

  host_to_group (host, file);
  return g_key_file_to_data (file, NULL, NULL);
}

static void
copy_host (CastellanHost *to,
           CastellanHost *from)
{
  guint n;
  const CastellanHostField *fields = castellan_host_fields (&n);

  for (guint i = 1; i < n; i++)
    {
      g_auto(GValue) value = G_VALUE_INIT;

      g_value_init (&value, fields[i].type);
      g_object_get_property (G_OBJECT (from), fields[i].key, &value);
      g_object_set_property (G_OBJECT (to), fields[i].key, &value);
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

/* The line of the file where a group's key is set, counted from 1. */
static guint
line_of (const char *contents,
         const char *group,
         const char *key)
{
  g_autofree char *header = g_strdup_printf ("[%s]", group);
  g_auto(GStrv) lines = g_strsplit (contents, "\n", -1);
  gboolean in_group = FALSE;
  gsize key_len = strlen (key);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *l = lines[i];

      while (*l == ' ' || *l == '\t')
        l++;
      if (*l == '[')
        in_group = g_str_has_prefix (l, header);
      else if (in_group && strncmp (l, key, key_len) == 0 &&
               (l[key_len] == '=' || l[key_len] == ' '))
        return i + 1;
    }
  return 0;
}

/* A host whose one-line fields hold a line break (written "\\n" in the
 * file by hand or by another program) would smuggle it into a request:
 * the file is then treated as damaged, kept whole and reported. */
static gboolean
check_hosts (GKeyFile    *file,
             const char  *contents,
             GError     **error)
{
  g_auto(GStrv) groups = g_key_file_get_groups (file, NULL);

  for (guint i = 0; groups[i] != NULL; i++)
    {
      g_auto(GStrv) keys = NULL;

      if (!g_str_has_prefix (groups[i], HOST_GROUP_PREFIX))
        continue;
      keys = g_key_file_get_keys (file, groups[i], NULL, NULL);
      for (guint k = 0; keys != NULL && keys[k] != NULL; k++)
        {
          g_autofree char *value = NULL;
          g_autofree char *raw = NULL;
          g_autofree char *name = NULL;

          if (!castellan_host_key_is_single_line (keys[k]))
            continue;
          value = g_key_file_get_string (file, groups[i], keys[k], NULL);
          if (!castellan_host_text_has_control (value))
            continue;
          raw = g_key_file_get_string (file, groups[i], "name", NULL);
          name = g_strescape (raw ? raw : groups[i] + strlen (HOST_GROUP_PREFIX), NULL);
          g_set_error (error, CASTELLAN_INVENTORY_ERROR, CASTELLAN_INVENTORY_ERROR_DAMAGED,
                       _("line %u, the “%s” of host “%s” holds a line break or another control character"),
                       line_of (contents, groups[i], keys[k]), keys[k], name);
          return FALSE;
        }
    }
  return TRUE;
}

/* Reads the file. A missing file gives an empty key file; a damaged one
 * is moved aside and reported (DAMAGED), and NULL is returned. */
static GKeyFile *
read_file (CastellanInventory  *self,
           gboolean             saving,
           GError             **error)
{
  g_autoptr(GKeyFile) file = g_key_file_new ();
  g_autoptr(GError) local = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *aside = NULL;
  gsize length = 0;
  int version;

  if (!g_file_get_contents (self->path, &contents, &length, &local))
    {
      if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return g_key_file_new ();
      g_set_error (error, CASTELLAN_INVENTORY_ERROR, CASTELLAN_INVENTORY_ERROR_IO,
                   _("The host inventory %s cannot be read: %s"), self->path, local->message);
      return NULL;
    }
  if (g_key_file_load_from_data (file, contents, length, G_KEY_FILE_KEEP_COMMENTS, &local) &&
      check_hosts (file, contents, &local))
    {
      version = g_key_file_get_integer (file, "castellan", "version", NULL);
      if (version > FORMAT_VERSION)
        {
          g_set_error (error, CASTELLAN_INVENTORY_ERROR, CASTELLAN_INVENTORY_ERROR_IO,
                       _("The host inventory %s was written by a newer Castellan (format %d). It was left untouched; update Castellan to use it."),
                       self->path, version);
          return NULL;
        }
      return g_steal_pointer (&file);
    }
  aside = keep_aside (self->path, error);
  if (aside == NULL)
    return NULL;
  if (saving)
    g_set_error (error, CASTELLAN_INVENTORY_ERROR, CASTELLAN_INVENTORY_ERROR_DAMAGED,
                 _("The host inventory had been damaged by another program (%s). It was kept as %s, and the hosts in this window were saved in its place."),
                 local->message, aside);
  else
    g_set_error (error, CASTELLAN_INVENTORY_ERROR, CASTELLAN_INVENTORY_ERROR_DAMAGED,
                 _("The host inventory was damaged (%s). It was kept as %s, and Castellan starts with an empty inventory; you can repair the copy or import hosts again."),
                 local->message, aside);
  return NULL;
}

/* The file's hosts, by ID. */
static GHashTable *
hosts_of_file (GKeyFile *file)
{
  GHashTable *hosts = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_object_unref);
  g_auto(GStrv) groups = g_key_file_get_groups (file, NULL);

  for (guint i = 0; groups[i] != NULL; i++)
    {
      CastellanHost *host;

      if (!g_str_has_prefix (groups[i], HOST_GROUP_PREFIX))
        continue;
      host = castellan_host_new ();
      g_object_set (host, "id", groups[i] + strlen (HOST_GROUP_PREFIX), NULL);
      host_from_group (host, file, groups[i]);
      g_hash_table_replace (hosts, (gpointer) castellan_host_get_id (host), host);
    }
  return hosts;
}

/* The baseline: each host as the file last read or written holds it. */
static void
remember_host (CastellanInventory *self,
               CastellanHost      *host)
{
  g_hash_table_insert (self->baseline, g_strdup (castellan_host_get_id (host)), host_text (host));
}

static void
remember (CastellanInventory *self,
          GHashTable         *hosts)
{
  GHashTableIter iter;
  gpointer host;

  g_hash_table_remove_all (self->baseline);
  g_hash_table_iter_init (&iter, hosts);
  while (g_hash_table_iter_next (&iter, NULL, &host))
    remember_host (self, host);
}

static void
remember_list (CastellanInventory *self)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->hosts));

  g_hash_table_remove_all (self->baseline);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(CastellanHost) host = g_list_model_get_item (G_LIST_MODEL (self->hosts), i);

      remember_host (self, host);
    }
}

/* The baseline of a freshly loaded inventory is made when first needed
 * (the first save, or another instance's): loading stays quick. */
static void
ensure_baseline (CastellanInventory *self)
{
  g_autoptr(GHashTable) hosts = NULL;

  if (self->loaded == NULL)
    return;
  hosts = hosts_of_file (self->loaded);
  remember (self, hosts);
  g_clear_pointer (&self->loaded, g_key_file_unref);
}

/* Takes in what changed in the file since the baseline, host by host,
 * except where this instance changed the same host. */
static void
merge (CastellanInventory *self,
       GHashTable         *on_disk)
{
  g_autoptr(GHashTable) here = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) added = g_ptr_array_new ();
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->hosts));
  GHashTableIter iter;
  gpointer id, disk_host;

  ensure_baseline (self);
  for (guint i = n; i-- > 0;)
    {
      g_autoptr(CastellanHost) host = g_list_model_get_item (G_LIST_MODEL (self->hosts), i);
      const char *host_id = castellan_host_get_id (host);
      const char *base = g_hash_table_lookup (self->baseline, host_id);
      g_autofree char *text = NULL;
      g_autofree char *theirs = NULL;
      CastellanHost *other;

      g_hash_table_add (here, (gpointer) host_id);
      if (base == NULL)
        continue;                       /* added here */
      text = host_text (host);
      if (!g_str_equal (text, base))
        continue;                       /* changed here: this edit wins */
      other = g_hash_table_lookup (on_disk, host_id);
      if (other == NULL)
        {
          g_list_store_remove (self->hosts, i);   /* deleted elsewhere */
          continue;
        }
      theirs = host_text (other);
      if (!g_str_equal (theirs, base))
        copy_host (host, other);        /* changed elsewhere */
    }

  g_hash_table_iter_init (&iter, on_disk);
  while (g_hash_table_iter_next (&iter, &id, &disk_host))
    if (!g_hash_table_contains (here, id) && !g_hash_table_contains (self->baseline, id))
      g_ptr_array_add (added, disk_host);  /* added elsewhere */
  if (added->len > 0)
    g_list_store_splice (self->hosts, g_list_model_get_n_items (G_LIST_MODEL (self->hosts)), 0,
                         added->pdata, added->len);
}

/* Temporary files left by a save that was cut short (a crash, a power
 * cut) long enough ago that no save can still be writing them. */
static void
remove_stale_temporaries (const char *path)
{
  g_autofree char *dir_name = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autoptr(GDir) dir = g_dir_open (dir_name, 0, NULL);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *full = NULL;
      GStatBuf st;

      if (!g_str_has_prefix (name, base) || strlen (name) != strlen (base) + 7 ||
          name[strlen (base)] != '.')
        continue;
      full = g_build_filename (dir_name, name, NULL);
      if (g_stat (full, &st) == 0 && S_ISREG (st.st_mode) && now - st.st_mtime > 600)
        g_unlink (full);
    }
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
  g_autoptr(GKeyFile) file = NULL;
  g_autoptr(GHashTable) on_disk = NULL;
  g_autoptr(GPtrArray) loaded = g_ptr_array_new ();
  g_auto(GStrv) groups = NULL;

  g_list_store_remove_all (self->hosts);
  g_hash_table_remove_all (self->baseline);
  g_clear_pointer (&self->loaded, g_key_file_unref);
  remove_stale_temporaries (self->path);
  file = read_file (self, FALSE, error);
  if (file == NULL)
    return FALSE;

  /* In the file's order. */
  on_disk = hosts_of_file (file);
  groups = g_key_file_get_groups (file, NULL);
  for (guint i = 0; groups[i] != NULL; i++)
    {
      CastellanHost *host;

      if (!g_str_has_prefix (groups[i], HOST_GROUP_PREFIX))
        continue;
      host = g_hash_table_lookup (on_disk, groups[i] + strlen (HOST_GROUP_PREFIX));
      if (host != NULL)
        g_ptr_array_add (loaded, host);
    }
  g_list_store_splice (self->hosts, 0, 0, loaded->pdata, loaded->len);
  g_clear_pointer (&self->loaded, g_key_file_unref);
  self->loaded = g_key_file_ref (file);
  return TRUE;
}

/**
 * castellan_inventory_save:
 *
 * Merges what another instance wrote meanwhile (see above), then writes
 * the whole file atomically: a temporary file, synced, renamed over.
 */
gboolean
castellan_inventory_save (CastellanInventory  *self,
                          GError             **error)
{
  g_autoptr(GKeyFile) file = g_key_file_new ();
  g_autoptr(GKeyFile) current = NULL;
  g_autofree char *dir = g_path_get_dirname (self->path);
  g_autofree char *data = NULL;
  g_autoptr(GError) local = NULL;
  g_autoptr(GError) damaged = NULL;
  guint n;
  gsize len;

  /* Checked before anything is read or written: such a file would be
   * refused when loaded again. */
  n = g_list_model_get_n_items (G_LIST_MODEL (self->hosts));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(CastellanHost) host = g_list_model_get_item (G_LIST_MODEL (self->hosts), i);
      const char *key = castellan_host_find_control (host);
      g_autofree char *name = NULL;

      if (key == NULL)
        continue;
      name = g_strescape (castellan_host_get_name (host) ?: castellan_host_get_id (host), NULL);
      g_set_error (error, CASTELLAN_INVENTORY_ERROR, CASTELLAN_INVENTORY_ERROR_INVALID,
                   _("The host inventory was not saved: the “%s” of host “%s” holds a line break or another control character. Correct it in the host’s settings; the file on disk is unchanged."),
                   key, name);
      return FALSE;
    }

  current = read_file (self, TRUE, &damaged);
  if (current != NULL)
    {
      g_autoptr(GHashTable) on_disk = hosts_of_file (current);

      merge (self, on_disk);
    }
  else if (!g_error_matches (damaged, CASTELLAN_INVENTORY_ERROR, CASTELLAN_INVENTORY_ERROR_DAMAGED))
    {
      g_propagate_error (error, g_steal_pointer (&damaged));
      return FALSE;
    }

  g_key_file_set_comment (file, NULL, NULL,
                          " Castellan host inventory: one [host ID] group per host. Secrets never go here; they live in the keyring.",
                          NULL);
  g_key_file_set_integer (file, "castellan", "version", FORMAT_VERSION);
  n = g_list_model_get_n_items (G_LIST_MODEL (self->hosts));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(CastellanHost) host = g_list_model_get_item (G_LIST_MODEL (self->hosts), i);

      host_to_group (host, file);
    }
  data = g_key_file_to_data (file, &len, NULL);

  if (g_mkdir_with_parents (dir, 0700) != 0 ||
      !g_file_set_contents_full (self->path, data, len,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                 0600, &local))
    {
      g_set_error (error, CASTELLAN_INVENTORY_ERROR, CASTELLAN_INVENTORY_ERROR_IO,
                   _("The host inventory could not be saved to %s (%s). Your changes are still in this window; free some space or fix the folder’s permissions, then change anything to save again."),
                   self->path, local ? local->message : g_strerror (errno));
      return FALSE;
    }
  g_free (self->written);
  self->written = g_steal_pointer (&data);
  remember_list (self);
  if (damaged != NULL)
    {
      /* Saved; the damaged file found in its place is kept and said. */
      g_propagate_error (error, g_steal_pointer (&damaged));
      return FALSE;
    }
  return TRUE;
}

static gboolean
reread (gpointer user_data)
{
  CastellanInventory *self = user_data;
  g_autofree char *contents = NULL;
  g_autoptr(GKeyFile) file = g_key_file_new ();
  g_autoptr(GHashTable) on_disk = NULL;

  self->reread_source = 0;
  if (!g_file_get_contents (self->path, &contents, NULL, NULL) ||
      g_strcmp0 (contents, self->written) == 0)
    return G_SOURCE_REMOVE;          /* gone (kept as it is here), or our own */
  if (!g_key_file_load_from_data (file, contents, -1, G_KEY_FILE_KEEP_COMMENTS, NULL) ||
      !check_hosts (file, contents, NULL) ||
      g_key_file_get_integer (file, "castellan", "version", NULL) > FORMAT_VERSION)
    return G_SOURCE_REMOVE;          /* half-edited by hand: the next save says it */
  on_disk = hosts_of_file (file);
  merge (self, on_disk);
  remember (self, on_disk);
  return G_SOURCE_REMOVE;
}

static void
file_changed (CastellanInventory *self,
              GFile              *file,
              GFile              *other,
              GFileMonitorEvent   event)
{
  if (event == G_FILE_MONITOR_EVENT_DELETED || event == G_FILE_MONITOR_EVENT_ATTRIBUTE_CHANGED)
    return;
  /* A save is a burst of events; read once it has settled. */
  g_clear_handle_id (&self->reread_source, g_source_remove);
  self->reread_source = g_timeout_add (150, reread, self);
}

/**
 * castellan_inventory_watch:
 *
 * Follows the file: hosts another instance adds, changes or deletes show
 * up here (this instance's unsaved changes to the same host win).
 */
void
castellan_inventory_watch (CastellanInventory *self)
{
  g_autoptr(GFile) file = NULL;

  if (self->monitor != NULL)
    return;
  file = g_file_new_for_path (self->path);
  self->monitor = g_file_monitor_file (file, G_FILE_MONITOR_WATCH_MOVES, NULL, NULL);
  if (self->monitor != NULL)
    g_signal_connect_swapped (self->monitor, "changed", G_CALLBACK (file_changed), self);
}
