/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "castellan-trust-dialogs.h"
#include "castellan-trusted-hosts-window.h"
#include "castellan-trusted-hosts.h"

/* The TrustedHosts manager: every entry with its risk and the saved hosts
 * it covers; adding asks first; the exact WinRM string goes both ways. */
typedef struct
{
  GtkWindow *window;
  AdwPreferencesGroup *entries_group;
  GPtrArray *rows;
  AdwActionRow *string_row;
  CastellanInventory *inventory;
  char *path;
  char *unreadable;  /* why the file could not be read: it is then never saved over */
  CastellanTrustedHosts *list;
  char *pending;  /* entries waiting for confirmation */
  void (*changed) (gpointer data);
  gpointer changed_data;
} Manager;

static void rebuild (Manager *m);

static void
manager_free (Manager *m)
{
  g_ptr_array_unref (m->rows);
  g_object_unref (m->inventory);
  castellan_trusted_hosts_free (m->list);
  g_free (m->path);
  g_free (m->unreadable);
  g_free (m->pending);
  g_free (m);
}

static void
save (Manager *m)
{
  g_autoptr(GError) error = NULL;

  /* What this window shows is not what the file holds: writing it would
   * replace entries nobody has seen. */
  if (m->unreadable != NULL)
    {
      adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (m->window), adw_toast_new (m->unreadable));
      return;
    }
  if (!castellan_trusted_hosts_save (m->list, m->path, &error))
    {
      AdwToast *toast = adw_toast_new (error->message);

      adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (m->window), toast);
    }
  rebuild (m);
  if (m->changed != NULL)
    m->changed (m->changed_data);
}

static void
on_remove (GtkButton *button,
           Manager   *m)
{
  castellan_trusted_hosts_remove (m->list, g_object_get_data (G_OBJECT (button), "entry"));
  save (m);
}

static void
rebuild (Manager *m)
{
  guint n = castellan_trusted_hosts_get_n_entries (m->list);
  g_autofree char *value = castellan_trusted_hosts_to_string (m->list);

  for (guint i = 0; i < m->rows->len; i++)
    adw_preferences_group_remove (m->entries_group, g_ptr_array_index (m->rows, i));
  g_ptr_array_set_size (m->rows, 0);

  for (guint i = 0; i < n; i++)
    {
      const char *entry = castellan_trusted_hosts_get_entry (m->list, i);
      CastellanTrustRisk risk = castellan_trust_entry_risk (entry);
      g_autofree char *covers = castellan_trust_entry_covered (entry, m->inventory);
      g_autofree char *reach = castellan_trust_entry_describe_reach (entry);
      g_autofree char *subtitle = g_strdup_printf ("%s\n%s", reach, covers);
      GtkWidget *row = adw_action_row_new ();
      const char *style = NULL;
      GtkWidget *badge = gtk_label_new (castellan_trust_entry_class (entry, m->inventory, &style));
      GtkWidget *remove = gtk_button_new_from_icon_name ("user-trash-symbolic");
      g_autofree char *remove_label = g_strdup_printf (_("Remove %s"), entry);
      g_autofree char *description = g_strdup_printf (_("Risk: %s. %s %s"),
                                                      risk == CASTELLAN_TRUST_RISK_CRITICAL ? _("critical")
                                                      : risk == CASTELLAN_TRUST_RISK_BROAD ? _("broad")
                                                      : _("narrow"), reach, covers);

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), entry);
      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
      gtk_widget_add_css_class (badge, style);
      gtk_widget_set_valign (badge, GTK_ALIGN_CENTER);
      gtk_widget_set_valign (remove, GTK_ALIGN_CENTER);
      gtk_widget_add_css_class (remove, "flat");
      gtk_widget_set_tooltip_text (remove, remove_label);
      gtk_accessible_update_property (GTK_ACCESSIBLE (remove), GTK_ACCESSIBLE_PROPERTY_LABEL, remove_label, -1);
      gtk_accessible_update_property (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, description, -1);
      g_object_set_data_full (G_OBJECT (remove), "entry", g_strdup (entry), g_free);
      g_signal_connect (remove, "clicked", G_CALLBACK (on_remove), m);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), badge);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), remove);
      adw_preferences_group_add (m->entries_group, row);
      g_ptr_array_add (m->rows, row);
    }
  if (n == 0)
    {
      GtkWidget *row = adw_action_row_new ();

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), _("No entries: NTLM over HTTP is refused for every host"));
      adw_preferences_group_add (m->entries_group, row);
      g_ptr_array_add (m->rows, row);
    }
  adw_action_row_set_subtitle (m->string_row, *value ? value : _("(empty)"));
}

static void
add_confirmed (const char *response,
               gpointer    user_data)
{
  Manager *m = user_data;
  g_auto(GStrv) entries = NULL;

  if (g_str_equal (response, "add") && m->pending != NULL)
    {
      entries = g_strsplit (m->pending, ",", -1);
      for (guint i = 0; entries[i] != NULL; i++)
        castellan_trusted_hosts_add (m->list, g_strstrip (entries[i]));
      save (m);
    }
  g_clear_pointer (&m->pending, g_free);
}

/* Adds one entry, or a whole WinRM string (like Set-Item -Concatenate),
 * after the confirmation that says what it means. */
static void
on_add (AdwEntryRow *row,
        Manager     *m)
{
  g_autofree char *text = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (row))));
  g_autoptr(CastellanTrustedHosts) parsed = castellan_trusted_hosts_parse (text);
  g_autofree char *normalised = castellan_trusted_hosts_to_string (parsed);

  if (*normalised == '\0')
    return;
  gtk_editable_set_text (GTK_EDITABLE (row), "");
  g_free (m->pending);
  m->pending = g_steal_pointer (&normalised);
  castellan_trust_confirm_add (m->window, m->pending, m->inventory, add_confirmed, m);
}

static void
on_copy (GtkButton *button,
         Manager   *m)
{
  g_autofree char *value = castellan_trusted_hosts_to_string (m->list);

  gdk_clipboard_set_text (gtk_widget_get_clipboard (GTK_WIDGET (button)), value);
  adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (m->window),
                                    adw_toast_new (_("Copied the WinRM TrustedHosts string")));
}

GtkWindow *
castellan_trusted_hosts_window_new (GtkWindow          *parent,
                                    CastellanInventory *inventory,
                                    GCallback           changed,
                                    gpointer            data)
{
  Manager *m = g_new0 (Manager, 1);
  GtkWidget *page = adw_preferences_page_new ();
  GtkWidget *about = adw_preferences_group_new ();
  GtkWidget *add = adw_entry_row_new ();
  GtkWidget *exchange = adw_preferences_group_new ();
  GtkWidget *copy = gtk_button_new_from_icon_name ("edit-copy-symbolic");
  g_autoptr(GError) error = NULL;

  m->window = GTK_WINDOW (adw_preferences_window_new ());
  gtk_window_set_transient_for (m->window, parent);
  gtk_window_set_modal (m->window, TRUE);
  gtk_window_set_title (m->window, _("TrustedHosts"));
  adw_preferences_window_set_search_enabled (ADW_PREFERENCES_WINDOW (m->window), FALSE);
  m->rows = g_ptr_array_new ();
  m->changed = (void (*) (gpointer)) changed;
  m->changed_data = data;
  m->inventory = g_object_ref (inventory);
  m->path = castellan_trusted_hosts_default_path ();
  m->list = castellan_trusted_hosts_load (m->path, &error);
  if (m->list == NULL)
    {
      m->list = castellan_trusted_hosts_parse (NULL);
      m->unreadable = g_strdup_printf (_("%s Nothing will be saved over it: fix the file’s permissions or move it away, then open this window again."),
                                       error->message);
      gtk_widget_set_sensitive (add, FALSE);
    }

  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (about), _("Hosts Whose Identity Is Not Verified"));
  adw_preferences_group_set_description (ADW_PREFERENCES_GROUP (about),
    _("NTLM over HTTP cannot prove which machine answers. Castellan refuses it, like Windows, except for the hosts listed here. An entry does not make a host trustworthy: it only means you accept not knowing who answers."));
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (add), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (add), _("Add entries (srv01, *.corp.example, 10.0.0.*, <local>)"));
  adw_entry_row_set_show_apply_button (ADW_ENTRY_ROW (add), TRUE);
  g_signal_connect (add, "apply", G_CALLBACK (on_add), m);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (about), add);
  adw_preferences_page_add (ADW_PREFERENCES_PAGE (page), ADW_PREFERENCES_GROUP (about));

  m->entries_group = ADW_PREFERENCES_GROUP (adw_preferences_group_new ());
  adw_preferences_group_set_title (m->entries_group, _("Entries"));
  adw_preferences_page_add (ADW_PREFERENCES_PAGE (page), m->entries_group);

  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (exchange), _("WinRM String"));
  adw_preferences_group_set_description (ADW_PREFERENCES_GROUP (exchange),
    _("The same value as WSMan:\\localhost\\Client\\TrustedHosts. Paste one into the field above to add its entries; copy this one to use it on Windows."));
  m->string_row = ADW_ACTION_ROW (adw_action_row_new ());
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (m->string_row), _("Current value"));
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (m->string_row), FALSE);
  gtk_widget_set_valign (copy, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (copy, "flat");
  gtk_widget_set_tooltip_text (copy, _("Copy"));
  g_signal_connect (copy, "clicked", G_CALLBACK (on_copy), m);
  adw_action_row_add_suffix (m->string_row, copy);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (exchange), GTK_WIDGET (m->string_row));
  adw_preferences_page_add (ADW_PREFERENCES_PAGE (page), ADW_PREFERENCES_GROUP (exchange));

  adw_preferences_window_add (ADW_PREFERENCES_WINDOW (m->window), ADW_PREFERENCES_PAGE (page));
  g_object_set_data_full (G_OBJECT (m->window), "manager", m, (GDestroyNotify) manager_free);
  rebuild (m);
  if (m->unreadable != NULL)
    {
      AdwToast *toast = adw_toast_new (m->unreadable);

      adw_toast_set_timeout (toast, 0);
      adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (m->window), toast);
    }
  return m->window;
}
