/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "castellan-inventory.h"

/* CSV (RFC 4180) with a header row naming the columns; the columns are the
 * host's settings (no identity, no history). */
static const char *csv_columns[] = {
  "name", "address", "port", "https", "auth", "user", "spn-service", "group",
  "tags", "notes", "delegation", "ca-file", "pin-sha256", "shell", "proxy",
};

static void
append_cell (GString    *out,
             const char *value)
{
  if (value == NULL)
    return;
  if (strpbrk (value, ",\"\r\n") == NULL)
    {
      g_string_append (out, value);
      return;
    }
  g_string_append_c (out, '"');
  for (const char *p = value; *p != '\0'; p++)
    {
      if (*p == '"')
        g_string_append_c (out, '"');
      g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
}

static char *
cell_text (CastellanHost *host,
           const char    *key)
{
  GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (host), key);
  g_auto(GValue) value = G_VALUE_INIT;

  g_value_init (&value, pspec->value_type);
  g_object_get_property (G_OBJECT (host), key, &value);
  if (pspec->value_type == G_TYPE_BOOLEAN)
    return g_strdup (g_value_get_boolean (&value) ? "true" : "false");
  if (pspec->value_type == G_TYPE_UINT)
    return g_value_get_uint (&value) ? g_strdup_printf ("%u", g_value_get_uint (&value)) : NULL;
  return g_value_dup_string (&value);
}

char *
castellan_inventory_to_csv (CastellanInventory *self)
{
  GListModel *hosts = castellan_inventory_get_hosts (self);
  GString *out = g_string_new (NULL);
  guint n = g_list_model_get_n_items (hosts);

  for (guint c = 0; c < G_N_ELEMENTS (csv_columns); c++)
    g_string_append_printf (out, "%s%s", c ? "," : "", csv_columns[c]);
  g_string_append (out, "\r\n");
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(CastellanHost) host = g_list_model_get_item (hosts, i);

      for (guint c = 0; c < G_N_ELEMENTS (csv_columns); c++)
        {
          g_autofree char *text = cell_text (host, csv_columns[c]);

          if (c)
            g_string_append_c (out, ',');
          append_cell (out, text);
        }
      g_string_append (out, "\r\n");
    }
  return g_string_free (out, FALSE);
}

/* Splits CSV text into rows of cells, with the line each row starts on
 * in row_lines; NULL with *bad_line set on a quote that never closes. */
static GPtrArray *
parse_csv (const char *text,
           GArray     *row_lines,
           guint      *bad_line)
{
  guint row_line = 1;
  GPtrArray *rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  GPtrArray *row = g_ptr_array_new_with_free_func (g_free);
  GString *cell = g_string_new (NULL);
  gboolean quoted = FALSE;
  guint line = 1;
  const char *p = text;

  for (;; p++)
    {
      char c = *p;

      if (quoted)
        {
          if (c == '\0')
            {
              *bad_line = line;
              g_ptr_array_unref (row);
              g_ptr_array_unref (rows);
              g_string_free (cell, TRUE);
              return NULL;
            }
          if (c == '"' && p[1] == '"')
            {
              g_string_append_c (cell, '"');
              p++;
            }
          else if (c == '"')
            quoted = FALSE;
          else
            {
              if (c == '\n')
                line++;
              g_string_append_c (cell, c);
            }
          continue;
        }
      if (c == '"' && cell->len == 0)
        quoted = TRUE;
      else if (c == ',')
        {
          g_ptr_array_add (row, g_strdup (cell->str));
          g_string_truncate (cell, 0);
        }
      else if (c == '\r' && p[1] == '\n')
        continue;                       /* a CR alone is kept, and refused */
      else if (c == '\n' || c == '\0')
        {
          if (row->len > 0 || cell->len > 0)
            {
              g_ptr_array_add (row, g_strdup (cell->str));
              g_ptr_array_add (rows, row);
              g_array_append_val (row_lines, row_line);
              row = g_ptr_array_new_with_free_func (g_free);
            }
          g_string_truncate (cell, 0);
          line++;
          row_line = line;
          if (c == '\0')
            break;
        }
      else
        g_string_append_c (cell, c);
    }
  g_ptr_array_unref (row);
  g_string_free (cell, TRUE);
  return rows;
}

static int
column_index (const char *name)
{
  for (guint c = 0; c < G_N_ELEMENTS (csv_columns); c++)
    if (g_ascii_strcasecmp (csv_columns[c], name) == 0)
      return (int) c;
  return -1;
}

/**
 * castellan_inventory_import_csv:
 *
 * Adds one new host per row. Nothing is added unless every row is good:
 * the error names the first bad line.
 *
 * Returns: how many hosts were added.
 */
guint
castellan_inventory_import_csv (CastellanInventory  *self,
                                const char          *csv,
                                GError             **error)
{
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GPtrArray) hosts = g_ptr_array_new_with_free_func (g_object_unref);
  g_autofree int *map = NULL;
  g_autoptr(GArray) row_lines = g_array_new (FALSE, FALSE, sizeof (guint));
  GPtrArray *header;
  guint bad_line = 0;

  rows = parse_csv (csv, row_lines, &bad_line);
  if (rows == NULL || rows->len == 0)
    {
      g_set_error (error, CASTELLAN_INVENTORY_ERROR, CASTELLAN_INVENTORY_ERROR_CSV,
                   rows == NULL ? _("Line %u: a quoted cell never ends.")
                                : _("The file is empty: the first line must name the columns (name, address, …)."),
                   bad_line);
      return 0;
    }
  header = g_ptr_array_index (rows, 0);
  map = g_new (int, header->len);
  for (guint c = 0; c < header->len; c++)
    {
      const char *name = g_strstrip ((char *) g_ptr_array_index (header, c));

      map[c] = column_index (name);
      if (map[c] < 0)
        {
          g_set_error (error, CASTELLAN_INVENTORY_ERROR, CASTELLAN_INVENTORY_ERROR_CSV,
                       _("Unknown column “%s”. The columns are: name, address, port, https, auth, user, spn-service, group, tags, notes, delegation, ca-file, pin-sha256, shell, proxy."),
                       name);
          return 0;
        }
    }

  for (guint r = 1; r < rows->len; r++)
    {
      GPtrArray *row = g_ptr_array_index (rows, r);
      guint line = g_array_index (row_lines, guint, r);
      g_autoptr(CastellanHost) host = castellan_host_new ();
      g_autoptr(GError) local = NULL;
      g_autoptr(CastellanConnectOptions) check = NULL;

      for (guint c = 0; c < row->len && c < header->len; c++)
        {
          const char *key = csv_columns[map[c]];
          const char *cell = g_ptr_array_index (row, c);
          GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (host), key);

          if (castellan_host_key_is_single_line (key) && castellan_host_text_has_control (cell))
            {
              g_set_error (error, CASTELLAN_INVENTORY_ERROR, CASTELLAN_INVENTORY_ERROR_CSV,
                           _("Line %u: the “%s” cell of host %u holds a line break or another control character. Put it on one line; nothing was imported."),
                           line, key, r);
              return 0;
            }
          if (pspec->value_type == G_TYPE_BOOLEAN)
            g_object_set (host, key, g_ascii_strcasecmp (cell, "true") == 0 || g_str_equal (cell, "1"), NULL);
          else if (pspec->value_type == G_TYPE_UINT)
            {
              guint64 port = 0;

              if (*cell && !g_ascii_string_to_unsigned (cell, 10, 1, G_MAXUINT16, &port, NULL))
                {
                  g_set_error (error, CASTELLAN_INVENTORY_ERROR, CASTELLAN_INVENTORY_ERROR_CSV,
                               _("Line %u: “%s” is not a port number."), line, cell);
                  return 0;
                }
              g_object_set (host, key, (guint) port, NULL);
            }
          else
            g_object_set (host, key, *cell ? cell : NULL, NULL);
        }
      check = castellan_host_to_options (host, &local);
      if (check == NULL)
        {
          g_set_error (error, CASTELLAN_INVENTORY_ERROR, CASTELLAN_INVENTORY_ERROR_CSV,
                       _("Line %u: %s"), line, local->message);
          return 0;
        }
      g_ptr_array_add (hosts, g_steal_pointer (&host));
    }

  for (guint i = 0; i < hosts->len; i++)
    castellan_inventory_add (self, g_ptr_array_index (hosts, i));
  return hosts->len;
}
