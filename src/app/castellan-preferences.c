/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "castellan-preferences.h"

/* Combo rows show a list; the settings hold enum nicks. */
static gboolean
nick_to_index (GValue   *value,
               GVariant *variant,
               gpointer  user_data)
{
  const char *const *nicks = user_data;
  const char *nick = g_variant_get_string (variant, NULL);

  for (guint i = 0; nicks[i] != NULL; i++)
    if (g_str_equal (nicks[i], nick))
      {
        g_value_set_uint (value, i);
        return TRUE;
      }
  return FALSE;
}

static GVariant *
index_to_nick (const GValue       *value,
               const GVariantType *type,
               gpointer            user_data)
{
  const char *const *nicks = user_data;
  guint index = g_value_get_uint (value);

  if (index >= g_strv_length ((GStrv) nicks))
    return NULL;
  return g_variant_new_string (nicks[index]);
}

static gboolean
bool_to_index (GValue   *value,
               GVariant *variant,
               gpointer  user_data)
{
  g_value_set_uint (value, g_variant_get_boolean (variant) ? 1 : 0);
  return TRUE;
}

static GVariant *
index_to_bool (const GValue       *value,
               const GVariantType *type,
               gpointer            user_data)
{
  return g_variant_new_boolean (g_value_get_uint (value) == 1);
}

static GtkWidget *
combo_row (GSettings         *settings,
           const char        *key,
           const char        *title,
           const char *const *labels,
           const char *const *nicks)
{
  GtkWidget *row = adw_combo_row_new ();
  GtkStringList *model = gtk_string_list_new (labels);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_combo_row_set_model (ADW_COMBO_ROW (row), G_LIST_MODEL (model));
  g_object_unref (model);
  g_settings_bind_with_mapping (settings, key, row, "selected", G_SETTINGS_BIND_DEFAULT,
                                nick_to_index, index_to_nick, (gpointer) nicks, NULL);
  return row;
}

static GtkWidget *
spin_row (GSettings  *settings,
          const char *key,
          const char *title,
          const char *subtitle,
          double      min,
          double      max,
          double      step)
{
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *spin = gtk_spin_button_new_with_range (min, max, step);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  gtk_widget_set_valign (spin, GTK_ALIGN_CENTER);
  gtk_accessible_update_property (GTK_ACCESSIBLE (spin), GTK_ACCESSIBLE_PROPERTY_LABEL, title, -1);
  g_settings_bind (settings, key, spin, "value", G_SETTINGS_BIND_DEFAULT);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), spin);
  return row;
}

GtkWindow *
castellan_preferences_new (GtkWindow *parent,
                           GSettings *settings)
{
  static const char *auth_nicks[] = { "negotiate", "kerberos", "ntlm", "basic", NULL };
  static const char *shell_nicks[] = { "cmd", "powershell", NULL };
  const char *t[] = { _("HTTP (sealed by the sign-in)"), _("HTTPS"), NULL };
  const char *a[] = { _("Negotiate"), _("Kerberos"), _("NTLM"), _("Basic (HTTPS only)"), NULL };
  const char *sh[] = { _("cmd"), _("PowerShell"), NULL };
  GtkWidget *window = adw_preferences_window_new ();
  GtkWidget *page = adw_preferences_page_new ();
  GtkWidget *hosts = adw_preferences_group_new ();
  GtkWidget *consoles = adw_preferences_group_new ();
  GtkWidget *transport = adw_combo_row_new ();
  GtkWidget *font_row = adw_action_row_new ();
  GtkWidget *font = gtk_font_button_new ();
  GtkStringList *model;

  gtk_window_set_transient_for (GTK_WINDOW (window), parent);
  gtk_window_set_modal (GTK_WINDOW (window), TRUE);

  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (hosts), _("New Hosts"));
  model = gtk_string_list_new (t);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (transport), _("Transport"));
  adw_combo_row_set_model (ADW_COMBO_ROW (transport), G_LIST_MODEL (model));
  g_object_unref (model);
  g_settings_bind_with_mapping (settings, "default-https", transport, "selected", G_SETTINGS_BIND_DEFAULT,
                                bool_to_index, index_to_bool, NULL, NULL);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (hosts), transport);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (hosts),
                             combo_row (settings, "default-auth", _("Sign-in Method"), a, auth_nicks));
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (hosts),
                             combo_row (settings, "interpreter", _("Interpreter"), sh, shell_nicks));

  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (consoles), _("Consoles"));
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (consoles),
                             spin_row (settings, "operation-timeout", _("Operation Timeout"),
                                       _("Seconds a host may wait for output per request"), 5, 600, 5));
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (consoles),
                             spin_row (settings, "scrollback-lines", _("Scrollback"),
                                       _("Lines of output each console keeps"), 100, 1000000, 1000));
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (font_row), _("Font"));
  gtk_widget_set_valign (font, GTK_ALIGN_CENTER);
  g_settings_bind (settings, "font", font, "font", G_SETTINGS_BIND_DEFAULT);
  adw_action_row_add_suffix (ADW_ACTION_ROW (font_row), font);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (consoles), font_row);

  adw_preferences_page_add (ADW_PREFERENCES_PAGE (page), ADW_PREFERENCES_GROUP (hosts));
  adw_preferences_page_add (ADW_PREFERENCES_PAGE (page), ADW_PREFERENCES_GROUP (consoles));
  adw_preferences_window_add (ADW_PREFERENCES_WINDOW (window), ADW_PREFERENCES_PAGE (page));
  return GTK_WINDOW (window);
}
