/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "castellan-trust-dialogs.h"
#include "castellan-trusted-hosts.h"

typedef struct
{
  CastellanTrustAnswer answer;
  gpointer user_data;
} Pending;

static void
on_response (AdwMessageDialog *dialog,
             const char       *response,
             Pending          *pending)
{
  pending->answer (response, pending->user_data);
  g_free (pending);
}

static void
present (AdwMessageDialog     *dialog,
         CastellanTrustAnswer  answer,
         gpointer              user_data)
{
  Pending *pending = g_new0 (Pending, 1);

  pending->answer = answer;
  pending->user_data = user_data;
  g_signal_connect (dialog, "response", G_CALLBACK (on_response), pending);
  gtk_window_present (GTK_WINDOW (dialog));
}

/**
 * castellan_trust_entry_covered:
 *
 * Returns: (transfer full): which saved hosts @entry covers, in a phrase.
 */
char *
castellan_trust_entry_covered (const char         *entry,
                               CastellanInventory *inventory)
{
  GListModel *hosts = castellan_inventory_get_hosts (inventory);
  guint n = g_list_model_get_n_items (hosts);
  g_autoptr(GString) names = g_string_new (NULL);
  guint count = 0;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(CastellanHost) host = g_list_model_get_item (hosts, i);
      const char *address = castellan_host_get_address (host);

      g_autofree char *name = NULL;

      if (address == NULL || !castellan_trust_entry_matches (entry, address))
        continue;
      /* By their names: several may share one address. */
      name = castellan_host_dup_display_name (host);
      if (count++ < 5)
        g_string_append_printf (names, "%s%s", names->len ? ", " : "", name);
    }
  if (count == 0)
    return g_strdup (_("Covers no saved host"));
  if (count > 5)
    g_string_append_printf (names, _(" and %u more"), count - 5);
  return g_strdup_printf (ngettext ("Covers %u saved host: %s", "Covers %u saved hosts: %s", count),
                          count, names->str);
}

static guint
count_covered (const char         *entry,
               CastellanInventory *inventory)
{
  GListModel *hosts = castellan_inventory_get_hosts (inventory);
  guint n = g_list_model_get_n_items (hosts);
  guint count = 0;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(CastellanHost) host = g_list_model_get_item (hosts, i);
      const char *address = castellan_host_get_address (host);

      if (address != NULL && castellan_trust_entry_matches (entry, address))
        count++;
    }
  return count;
}

static const char *
risk_words (CastellanTrustRisk risk,
            guint              covered)
{
  if (risk == CASTELLAN_TRUST_RISK_CRITICAL)
    return _("Every host");
  if (risk == CASTELLAN_TRUST_RISK_BROAD)
    return _("Many hosts");
  /* One name, and yet several saved hosts are typed that way. */
  return covered > 1 ? _("One name, several saved hosts") : _("One host");
}

/**
 * castellan_trust_entry_class:
 *
 * Returns: the class of @entry in a few words ("Every host", "Many hosts",
 *   "One host"), counting the saved hosts it covers; @style is the CSS
 *   class that goes with it.
 */
const char *
castellan_trust_entry_class (const char         *entry,
                             CastellanInventory *inventory,
                             const char        **style)
{
  CastellanTrustRisk risk = castellan_trust_entry_risk (entry);
  guint covered = count_covered (entry, inventory);

  if (style != NULL)
    *style = risk == CASTELLAN_TRUST_RISK_CRITICAL ? "error"
           : risk == CASTELLAN_TRUST_RISK_BROAD || covered > 1 ? "warning"
           : "dim-label";
  return risk_words (risk, covered);
}

/* One row per entry: the entry, its class, what it reaches and the saved
 * hosts it covers. */
static GtkWidget *
entry_rows (char              **entries,
            CastellanInventory *inventory)
{
  GtkWidget *list = gtk_list_box_new ();

  gtk_list_box_set_selection_mode (GTK_LIST_BOX (list), GTK_SELECTION_NONE);
  gtk_widget_add_css_class (list, "boxed-list");
  for (guint i = 0; entries[i] != NULL; i++)
    {
      const char *entry = entries[i];
      const char *style = NULL;
      const char *words = castellan_trust_entry_class (entry, inventory, &style);
      g_autofree char *reach = castellan_trust_entry_describe_reach (entry);
      g_autofree char *covers = castellan_trust_entry_covered (entry, inventory);
      g_autofree char *subtitle = g_strdup_printf ("%s\n%s", reach, covers);
      g_autofree char *description = g_strdup_printf ("%s. %s %s", words, reach, covers);
      GtkWidget *row = adw_action_row_new ();
      GtkWidget *badge = gtk_label_new (words);

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), entry);
      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
      gtk_widget_add_css_class (badge, style);
      gtk_widget_set_valign (badge, GTK_ALIGN_CENTER);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), badge);
      gtk_accessible_update_property (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, description, -1);
      gtk_list_box_append (GTK_LIST_BOX (list), row);
    }
  return list;
}

void
castellan_trust_confirm_add (GtkWindow            *parent,
                             const char           *value,
                             CastellanInventory   *inventory,
                             CastellanTrustAnswer  answer,
                             gpointer              user_data)
{
  g_autoptr(CastellanTrustedHosts) list = castellan_trusted_hosts_parse (value);
  guint n = castellan_trusted_hosts_get_n_entries (list);
  g_autoptr(GPtrArray) entries = g_ptr_array_new ();
  CastellanTrustRisk worst = CASTELLAN_TRUST_RISK_NARROW;
  guint covered = 0;
  const char *scope;
  g_autofree char *heading = NULL;
  g_autofree char *body = NULL;
  AdwMessageDialog *dialog;

  /* Riskiest first: a "*" pasted at the end is read at the top. */
  for (int risk = CASTELLAN_TRUST_RISK_CRITICAL; risk >= CASTELLAN_TRUST_RISK_NARROW; risk--)
    for (guint i = 0; i < n; i++)
      {
        const char *entry = castellan_trusted_hosts_get_entry (list, i);

        if ((int) castellan_trust_entry_risk (entry) != risk)
          continue;
        g_ptr_array_add (entries, (gpointer) entry);
        worst = MAX (worst, castellan_trust_entry_risk (entry));
        covered += count_covered (entry, inventory);
      }
  g_ptr_array_add (entries, NULL);

  /* Said of the whole value: a "*" among other entries still covers every
   * host. */
  scope = worst == CASTELLAN_TRUST_RISK_CRITICAL
            ? _("“*” covers every host you will ever connect to: for all of them, Castellan will stop refusing connections whose server cannot be verified.")
          : worst == CASTELLAN_TRUST_RISK_BROAD
            ? _("This covers many hosts, including ones that do not exist yet.")
          : covered > 1
            ? _("This covers several of your saved hosts: each is listed below.")
            : n > 1 ? _("Each entry covers one host.") : _("This entry covers this one host.");
  if (n == 1)
    heading = g_strdup_printf (_("Add “%s” to TrustedHosts?"), castellan_trusted_hosts_get_entry (list, 0));
  else
    heading = g_strdup_printf (ngettext ("Add %u Entry to TrustedHosts?", "Add %u Entries to TrustedHosts?", n), n);
  body = g_strdup_printf (_("TrustedHosts only silences the “server identity cannot be verified” refusal. It says nothing about whether a host is trustworthy: a machine that takes over the address would receive your sign-in and your commands, and NTLM traffic is sealed with a weak cipher. %s\n\nPrefer HTTPS with a valid certificate, or Kerberos by host name, which prove the server."),
                          scope);
  dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (parent, heading, body));
  adw_message_dialog_set_extra_child (dialog, entry_rows ((char **) entries->pdata, inventory));
  adw_message_dialog_add_responses (dialog, "cancel", _("_Cancel"), "add", _("_Add Anyway"), NULL);
  adw_message_dialog_set_response_appearance (dialog, "add", ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (dialog, "cancel");
  adw_message_dialog_set_close_response (dialog, "cancel");
  present (dialog, answer, user_data);
}

/* The responses are added riskiest first: libadwaita puts the last one
 * where the eye lands first (rightmost, or on top when stacked), so the
 * ways read safest first. */
void
castellan_trust_refused (GtkWindow            *parent,
                         const char           *host,
                         const char           *message,
                         CastellanTrustWays    ways,
                         CastellanTrustAnswer  answer,
                         gpointer              user_data)
{
  g_autofree char *heading = g_strdup_printf (_("Connection to %s Refused"), host);
  AdwMessageDialog *dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (parent, heading, message));
  const char *best = NULL;

  adw_message_dialog_add_response (dialog, "cancel", _("_Cancel"));
  if (ways & CASTELLAN_TRUST_WAY_TRUST)
    {
      adw_message_dialog_add_response (dialog, "trust", _("Add to _TrustedHosts…"));
      adw_message_dialog_set_response_appearance (dialog, "trust", ADW_RESPONSE_DESTRUCTIVE);
    }
  if (ways & CASTELLAN_TRUST_WAY_NAME)
    {
      adw_message_dialog_add_response (dialog, "name", _("Connect by _Name…"));
      best = "name";
    }
  if (ways & CASTELLAN_TRUST_WAY_HTTPS)
    {
      adw_message_dialog_add_response (dialog, "https", _("Use _HTTPS…"));
      best = "https";
    }
  if (best != NULL)
    {
      adw_message_dialog_set_response_appearance (dialog, best, ADW_RESPONSE_SUGGESTED);
      adw_message_dialog_set_default_response (dialog, best);
    }
  else
    adw_message_dialog_set_default_response (dialog, "cancel");
  adw_message_dialog_set_close_response (dialog, "cancel");
  present (dialog, answer, user_data);
}

gboolean
castellan_trust_save_entry (const char  *entry,
                            GError     **error)
{
  g_autofree char *path = castellan_trusted_hosts_default_path ();
  g_autoptr(CastellanTrustedHosts) list = castellan_trusted_hosts_load (path, error);

  if (list == NULL)
    return FALSE;
  castellan_trusted_hosts_add (list, entry);
  return castellan_trusted_hosts_save (list, path, error);
}
