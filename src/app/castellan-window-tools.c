/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "castellan-connect-flow.h"
#include "castellan-password-entry.h"
#include "castellan-preferences.h"
#include "castellan-results.h"
#include "castellan-secrets.h"
#include "castellan-security.h"
#include "castellan-ticket.h"
#include "castellan-trusted-hosts-window.h"
#include "castellan-window-private.h"

/* ---- CSV import and export ---------------------------------------------- */

static void
import_chosen (GtkNativeDialog *dialog,
               int              response,
               CastellanWindow *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autoptr(GError) error = NULL;
      g_autofree char *contents = NULL;
      CastellanInventory *inv = castellan_application_get_inventory (self->app);
      guint added;

      if (!g_file_load_contents (file, NULL, &contents, NULL, NULL, &error))
        castellan_window_toast (self, error->message);
      else if ((added = castellan_inventory_import_csv (inv, contents, &error)) == 0 && error != NULL)
        castellan_window_toast (self, error->message);
      else
        {
          g_autofree char *msg = g_strdup_printf (ngettext ("%u host imported", "%u hosts imported", added), added);

          castellan_application_save_inventory (self->app, GTK_WINDOW (self));
          castellan_window_toast (self, msg);
        }
    }
  g_object_unref (dialog);
}

static void
export_chosen (GtkNativeDialog *dialog,
               int              response,
               CastellanWindow *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autoptr(GError) error = NULL;
      g_autofree char *csv = castellan_inventory_to_csv (castellan_application_get_inventory (self->app));

      if (!g_file_replace_contents (file, csv, strlen (csv), NULL, FALSE, G_FILE_CREATE_NONE,
                                    NULL, NULL, &error))
        castellan_window_toast (self, error->message);
      else
        castellan_window_toast (self, _("Hosts exported"));
    }
  g_object_unref (dialog);
}

static void
csv_action (GtkWidget  *widget,
            const char *action,
            GVariant   *param)
{
  CastellanWindow *self = CASTELLAN_WINDOW (widget);
  gboolean import = g_str_equal (action, "win.import-csv");
  GtkFileChooserNative *dialog;

  dialog = gtk_file_chooser_native_new (import ? _("Import Hosts") : _("Export Hosts"),
                                        GTK_WINDOW (self),
                                        import ? GTK_FILE_CHOOSER_ACTION_OPEN : GTK_FILE_CHOOSER_ACTION_SAVE,
                                        import ? _("_Import") : _("_Export"), _("_Cancel"));
  if (!import)
    gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (dialog), "castellan-hosts.csv");
  g_signal_connect (dialog, "response", G_CALLBACK (import ? import_chosen : export_chosen), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

/* ---- TrustedHosts ----------------------------------------------------------- */

static gboolean
still_listed (const CastellanTrustedHosts *list,
              const char                  *entry)
{
  guint n = castellan_trusted_hosts_get_n_entries (list);

  for (guint i = 0; i < n; i++)
    if (g_ascii_strcasecmp (castellan_trusted_hosts_get_entry (list, i), entry) == 0)
      return TRUE;
  return FALSE;
}

/* A console allowed by an entry that is gone says so. */
static void
trusted_hosts_changed (gpointer data)
{
  CastellanWindow *self = data;
  g_autofree char *path = castellan_trusted_hosts_default_path ();
  g_autoptr(CastellanTrustedHosts) list = castellan_trusted_hosts_load (path, NULL);
  guint n = adw_tab_view_get_n_pages (self->tab_view);

  if (list == NULL)
    return;
  for (guint i = 0; i < n; i++)
    {
      GtkWidget *child = adw_tab_page_get_child (adw_tab_view_get_nth_page (self->tab_view, i));
      const CastellanVerdict *verdict;

      if (!CASTELLAN_IS_CONSOLE (child))
        continue;
      verdict = castellan_console_get_verdict (CASTELLAN_CONSOLE (child));
      if (verdict != NULL && verdict->trusted_hosts_entry != NULL &&
          !still_listed (list, verdict->trusted_hosts_entry))
        castellan_console_trusted_entry_removed (CASTELLAN_CONSOLE (child));
    }
}

static void
trusted_hosts_action (GtkWidget  *widget,
                      const char *action,
                      GVariant   *param)
{
  CastellanWindow *self = CASTELLAN_WINDOW (widget);
  GtkWindow *window = castellan_trusted_hosts_window_new (GTK_WINDOW (self),
                                                          castellan_application_get_inventory (self->app),
                                                          G_CALLBACK (trusted_hosts_changed), self);

  gtk_window_present (window);
}

/* ---- the Kerberos ticket ------------------------------------------------------ */

#define TICKET_WARNING_SECONDS (15 * 60)

static void refresh_ticket (CastellanWindow *self);

typedef struct
{
  CastellanWindow *self;
  GtkEntry *principal;
  GtkWidget *password;
} SignInDialog;

static void
signed_in (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(CastellanWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!castellan_ticket_sign_in_finish (result, &error))
    castellan_window_toast (self, error->message);
  refresh_ticket (self);
}

static void
sign_in_answered (AdwMessageDialog *dialog,
                  const char       *response,
                  SignInDialog     *d)
{
  if (g_str_equal (response, "sign-in"))
    castellan_ticket_sign_in_async (gtk_editable_get_text (GTK_EDITABLE (d->principal)),
                                    gtk_editable_get_text (GTK_EDITABLE (d->password)),
                                    NULL, signed_in, g_object_ref (d->self));
  gtk_editable_set_text (GTK_EDITABLE (d->password), "");
  g_free (d);
}

static void
on_sign_in (GtkButton       *button,
            CastellanWindow *self)
{
  g_autoptr(CastellanTicket) ticket = castellan_ticket_read (NULL);
  SignInDialog *d = g_new0 (SignInDialog, 1);
  GtkWidget *dialog = adw_message_dialog_new (GTK_WINDOW (self), _("Kerberos Sign-in"),
                                              _("Get a Kerberos ticket, so that hosts in your realm can be reached by name without a password, and prove themselves."));
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);

  gtk_menu_button_popdown (self->ticket_button);
  d->self = self;
  d->principal = GTK_ENTRY (gtk_entry_new ());
  gtk_entry_set_placeholder_text (d->principal, _("user@REALM"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (d->principal), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Principal"), -1);
  if (ticket != NULL)
    gtk_editable_set_text (GTK_EDITABLE (d->principal), ticket->principal);
  d->password = castellan_password_entry_new (_("Password"));
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (d->principal));
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (d->password));
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), box);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog), "cancel", _("_Cancel"), "sign-in", _("_Sign In"), NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "sign-in", ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "sign-in");
  g_signal_connect (dialog, "response", G_CALLBACK (sign_in_answered), d);
  gtk_window_present (GTK_WINDOW (dialog));
}

static char *
describe_left (gint64 seconds)
{
  if (seconds <= 0)
    return g_strdup (_("expired"));
  if (seconds < 3600)
    return g_strdup_printf (ngettext ("%d minute left", "%d minutes left", (int) (seconds / 60)), (int) (seconds / 60));
  return g_strdup_printf (ngettext ("%d hour left", "%d hours left", (int) (seconds / 3600)), (int) (seconds / 3600));
}

static void
on_sign_out (GtkButton       *button,
             CastellanWindow *self)
{
  g_autoptr(GError) error = NULL;

  gtk_menu_button_popdown (self->ticket_button);
  if (!castellan_ticket_sign_out (&error))
    castellan_window_toast (self, error->message);
  refresh_ticket (self);
}

/* The ticket is a key with its principal and the time left, not a
 * padlock: it says who you are to Kerberos, not how safe a connection is. */
static void
refresh_ticket (CastellanWindow *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CastellanTicket) ticket = castellan_ticket_read (&error);
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 8);
  GtkWidget *buttons = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *popover = gtk_popover_new ();
  GtkWidget *sign_in;
  g_autofree char *text = NULL;
  g_autofree char *left = NULL;
  g_autofree char *short_label = NULL;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  gboolean valid = ticket != NULL && ticket->expires > now;
  gboolean expiring = valid && ticket->expires - now < TICKET_WARNING_SECONDS;

  if (ticket == NULL)
    {
      text = g_strdup (error->message);
      gtk_box_append (GTK_BOX (box), castellan_security_heading ("castellan-key-symbolic", "dim-label",
                                                                 _("No Kerberos ticket")));
      gtk_box_append (GTK_BOX (box), gtk_label_new (text));
      gtk_label_set_wrap (GTK_LABEL (gtk_widget_get_last_child (box)), TRUE);
      gtk_label_set_max_width_chars (GTK_LABEL (gtk_widget_get_last_child (box)), 40);
    }
  else
    {
      g_autoptr(GDateTime) until = g_date_time_new_from_unix_local (ticket->expires);
      g_autofree char *when = g_date_time_format (until, "%x %X");
      g_auto(GStrv) parts = g_strsplit (ticket->principal, "@", 2);
      GtkWidget *grid = castellan_security_grid_new ();

      left = describe_left (ticket->expires - now);
      text = g_strdup_printf (_("Signed in as %s, valid until %s (%s)"), ticket->principal, when, left);
      short_label = ticket->expires <= now ? g_strdup_printf (_("%s · expired"), parts[0])
                    : ticket->expires - now < 3600 ? g_strdup_printf (_("%s · %d min"), parts[0], (int) ((ticket->expires - now) / 60))
                    : g_strdup_printf (_("%s · %d h"), parts[0], (int) ((ticket->expires - now) / 3600));
      gtk_box_append (GTK_BOX (box), castellan_security_heading ("castellan-key-symbolic",
                                                                 valid ? (expiring ? "warning" : NULL) : "error",
                                                                 _("Kerberos Ticket")));
      castellan_security_add_row (grid, _("Principal"), ticket->principal);
      castellan_security_add_row (grid, _("Valid until"), when);
      castellan_security_add_row (grid, _("Time left"), left);
      gtk_box_append (GTK_BOX (box), grid);
      if (expiring && ticket->expires != (gint64) GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (self), "warned")))
        {
          g_autofree char *warn = g_strdup_printf (_("Your Kerberos ticket expires soon (%s): sign in again to keep working."), left);

          g_object_set_data (G_OBJECT (self), "warned", GSIZE_TO_POINTER ((gsize) ticket->expires));
          castellan_window_toast (self, warn);
        }
    }
  sign_in = gtk_button_new_with_mnemonic (ticket != NULL ? _("_Renew…") : _("_Sign In…"));
  gtk_widget_set_hexpand (sign_in, TRUE);
  g_signal_connect (sign_in, "clicked", G_CALLBACK (on_sign_in), self);
  gtk_box_append (GTK_BOX (buttons), sign_in);
  if (ticket != NULL)
    {
      GtkWidget *sign_out = gtk_button_new_with_mnemonic (_("Sign _Out"));

      gtk_widget_set_hexpand (sign_out, TRUE);
      g_signal_connect (sign_out, "clicked", G_CALLBACK (on_sign_out), self);
      gtk_box_append (GTK_BOX (buttons), sign_out);
    }
  gtk_box_append (GTK_BOX (box), buttons);
  gtk_popover_set_child (GTK_POPOVER (popover), box);
  gtk_menu_button_set_popover (self->ticket_button, popover);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->ticket_button), text);
  gtk_label_set_label (self->ticket_label, short_label ? short_label : "");
  gtk_widget_set_visible (GTK_WIDGET (self->ticket_label),
                          short_label != NULL && !castellan_window_is_narrow (self));
  castellan_security_apply_style (GTK_WIDGET (self->ticket_button),
                                  ticket == NULL ? "dim-label" : !valid ? "error" : expiring ? "warning" : NULL);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->ticket_button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Kerberos ticket"),
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, text, -1);
}

static gboolean
ticket_tick (gpointer data)
{
  refresh_ticket (CASTELLAN_WINDOW (data));
  return G_SOURCE_CONTINUE;
}

/* ---- one command on the selected hosts ---------------------------------------- */

typedef struct
{
  CastellanWindow *self;
  GPtrArray *hosts;
  GPtrArray *options;
  GPtrArray *missing;     /* per host: the password entry to fill, or NULL */
  AdwMessageDialog *dialog;
  GtkEditable *command;
  guint waiting;
} FanoutStart;

static void
unref_entry (gpointer entry)
{
  if (entry != NULL)
    g_object_unref (entry);
}

static void
fanout_start_free (FanoutStart *f)
{
  g_object_unref (f->self);
  g_ptr_array_unref (f->hosts);
  g_ptr_array_unref (f->options);
  g_ptr_array_unref (f->missing);
  g_free (f);
}

static void
on_open_consoles (CastellanResults *results,
                  GPtrArray        *hosts,
                  CastellanWindow  *self)
{
  for (guint i = 0; i < hosts->len; i++)
    castellan_window_open_console (self, g_ptr_array_index (hosts, i));
}

static void
start_results (FanoutStart *f,
               const char  *command)
{
  CastellanResults *results = castellan_results_new (f->hosts, f->options, command);
  AdwTabPage *page = adw_tab_view_append (f->self->tab_view, GTK_WIDGET (results));
  g_autofree char *title = g_strdup_printf (_("%s on %u hosts"), command, f->hosts->len);

  adw_tab_page_set_title (page, title);
  adw_tab_view_set_selected_page (f->self->tab_view, page);
  castellan_window_show_content (f->self);
  g_signal_connect_object (results, "open-consoles", G_CALLBACK (on_open_consoles), f->self, 0);
}

/* Run only with a command and every password that is needed. */
static void
update_run_enabled (FanoutStart *f)
{
  g_autofree char *command = g_strstrip (g_strdup (gtk_editable_get_text (f->command)));
  gboolean ready = *command != '\0';

  for (guint i = 0; i < f->missing->len && ready; i++)
    {
      GtkEditable *entry = g_ptr_array_index (f->missing, i);

      ready = entry == NULL || *gtk_editable_get_text (entry) != '\0';
    }
  adw_message_dialog_set_response_enabled (f->dialog, "run", ready);
}

static void
run_answered (AdwMessageDialog *dialog,
              const char       *response,
              FanoutStart      *f)
{
  g_autofree char *command = g_strstrip (g_strdup (gtk_editable_get_text (f->command)));

  if (g_str_equal (response, "run") && *command != '\0')
    {
      for (guint i = 0; i < f->hosts->len; i++)
        {
          GtkEditable *entry = g_ptr_array_index (f->missing, i);

          if (entry != NULL)
            castellan_connect_options_set_password (g_ptr_array_index (f->options, i),
                                                    gtk_editable_get_text (entry));
        }
      start_results (f, command);
    }
  for (guint i = 0; i < f->missing->len; i++)
    if (g_ptr_array_index (f->missing, i) != NULL)
      gtk_editable_set_text (g_ptr_array_index (f->missing, i), "");
  fanout_start_free (f);
}

/* The targets, each with the level the policy and its settings promise
 * (the worst of it, where the server has a say), a password field where the keyring had none, and a word on
 * those whose server is not proven. Enter alone never runs it. */
static void
show_run_dialog (FanoutStart *f)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  GtkWidget *list = gtk_list_box_new ();
  GtkWidget *scroller = gtk_scrolled_window_new ();
  GtkWidget *entry = gtk_entry_new ();
  g_autofree char *heading = g_strdup_printf (ngettext ("Run on %u Host", "Run on %u Hosts", f->hosts->len),
                                              f->hosts->len);
  GtkWidget *dialog = adw_message_dialog_new (GTK_WINDOW (f->self), heading,
                                              _("Each host keeps its own security verdict; 32 run at a time at most."));
  guint unproven = 0;

  gtk_list_box_set_selection_mode (GTK_LIST_BOX (list), GTK_SELECTION_NONE);
  gtk_widget_add_css_class (list, "boxed-list");
  gtk_accessible_update_property (GTK_ACCESSIBLE (list), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Target hosts"), -1);
  for (guint i = 0; i < f->hosts->len; i++)
    {
      CastellanHost *host = g_ptr_array_index (f->hosts, i);
      g_autoptr(CastellanExpectation) expectation = castellan_connect_flow_expect (host);
      g_autofree char *summary = expectation ? castellan_expectation_summary (expectation) : NULL;
      const char *level = expectation && !expectation->refused
                          ? castellan_verdict_level_id (expectation->floor)
                          : castellan_host_get_last_level (host);
      g_autofree char *name = castellan_host_dup_display_name (host);
      g_autofree char *words = summary ? g_strdup_printf (_("Expected: %s"), summary)
                                       : g_strdup (level ? castellan_security_title (level) : _("Never connected"));
      GtkWidget *row = adw_action_row_new ();
      g_autofree char *description = g_strdup_printf ("%s: %s", name, words);

      if (g_strcmp0 (level, "verified") != 0 && g_strcmp0 (level, "caveats") != 0)
        unproven++;
      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), name);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), words);
      adw_action_row_add_prefix (ADW_ACTION_ROW (row), castellan_security_level_image (level));
      gtk_accessible_update_property (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, description, -1);
      gtk_list_box_append (GTK_LIST_BOX (list), row);
      if (g_ptr_array_index (f->missing, i) != NULL)
        {
          GtkWidget *password = g_ptr_array_index (f->missing, i);
          g_autofree char *title = g_strdup_printf (_("Password of %s"), castellan_host_get_user (host));

          adw_preferences_row_set_title (ADW_PREFERENCES_ROW (password), title);
          g_signal_connect_swapped (password, "changed", G_CALLBACK (update_run_enabled), f);
          gtk_list_box_append (GTK_LIST_BOX (list), password);
        }
    }
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scroller), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_propagate_natural_height (GTK_SCROLLED_WINDOW (scroller), TRUE);
  gtk_scrolled_window_set_max_content_height (GTK_SCROLLED_WINDOW (scroller), 260);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroller), list);
  gtk_box_append (GTK_BOX (box), scroller);
  if (unproven > 0)
    {
      g_autofree char *text = g_strdup_printf (ngettext ("%u host is not verified: the command reaches it without proof of who it is.",
                                                         "%u hosts are not verified: the command reaches them without proof of who they are.",
                                                         unproven), unproven);
      GtkWidget *warning = gtk_label_new (text);

      gtk_label_set_wrap (GTK_LABEL (warning), TRUE);
      gtk_label_set_xalign (GTK_LABEL (warning), 0);
      gtk_widget_add_css_class (warning, "warning");
      gtk_box_append (GTK_BOX (box), warning);
    }
  gtk_entry_set_placeholder_text (GTK_ENTRY (entry), _("Command, for example: hostname"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (entry), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Command to run"), -1);
  gtk_box_append (GTK_BOX (box), entry);
  f->command = GTK_EDITABLE (entry);
  f->dialog = ADW_MESSAGE_DIALOG (dialog);
  g_signal_connect_swapped (entry, "changed", G_CALLBACK (update_run_enabled), f);
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), box);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog), "cancel", _("_Cancel"), "run", _("_Run"), NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog),
                                              "run", unproven > 0 ? ADW_RESPONSE_DESTRUCTIVE : ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  update_run_enabled (f);
  g_signal_connect (dialog, "response", G_CALLBACK (run_answered), f);
  gtk_window_present (GTK_WINDOW (dialog));
  gtk_widget_grab_focus (entry);
}

typedef struct
{
  FanoutStart *fanout;
  guint index;
} Lookup;

static void
lookup_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Lookup *l = user_data;
  FanoutStart *f = l->fanout;
  char *password = castellan_secrets_lookup_finish (result, NULL);

  /* No password in the keyring: asked for in the dialog, never sent empty. */
  if (password != NULL)
    castellan_connect_options_set_password (g_ptr_array_index (f->options, l->index), password);
  else
    g_ptr_array_index (f->missing, l->index) = g_object_ref_sink (adw_password_entry_row_new ());
  castellan_secrets_wipe (password);
  if (--f->waiting == 0)
    show_run_dialog (f);
  g_free (l);
}

static void
run_on_selected_action (GtkWidget  *widget,
                        const char *action,
                        GVariant   *param)
{
  CastellanWindow *self = CASTELLAN_WINDOW (widget);
  g_autoptr(GPtrArray) hosts = castellan_window_selected_hosts (self);
  FanoutStart *f;

  if (hosts->len == 0)
    {
      castellan_window_toast (self, _("Select the hosts first (Ctrl+click or Shift+click in the list)."));
      return;
    }
  f = g_new0 (FanoutStart, 1);
  f->self = g_object_ref (self);
  f->hosts = g_ptr_array_new_with_free_func (g_object_unref);
  f->options = g_ptr_array_new_with_free_func ((GDestroyNotify) castellan_connect_options_free);
  f->missing = g_ptr_array_new_with_free_func (unref_entry);
  f->waiting = 1;
  for (guint i = 0; i < hosts->len; i++)
    {
      CastellanHost *host = g_ptr_array_index (hosts, i);
      CastellanConnectOptions *options = castellan_window_options_for (self, host);
      const char *user = castellan_host_get_user (host);

      /* Its settings are wrong; the toast said why. */
      if (options == NULL)
        continue;
      g_ptr_array_add (f->hosts, g_object_ref (host));
      g_ptr_array_add (f->options, options);
      g_ptr_array_add (f->missing, NULL);
      if (user != NULL && *user != '\0')
        {
          Lookup *l = g_new0 (Lookup, 1);

          l->fanout = f;
          l->index = f->hosts->len - 1;
          f->waiting++;
          castellan_secrets_lookup_async (castellan_host_get_id (host), user, NULL, lookup_done, l);
        }
    }
  if (f->hosts->len == 0)
    fanout_start_free (f);
  else if (--f->waiting == 0)
    show_run_dialog (f);
}

static void
preferences_action (GtkWidget  *widget,
                    const char *action,
                    GVariant   *param)
{
  CastellanWindow *self = CASTELLAN_WINDOW (widget);
  GSettings *settings = castellan_application_get_settings (self->app);

  if (settings == NULL)
    {
      castellan_window_toast (self, _("Preferences are unavailable: the settings schema is not installed."));
      return;
    }
  gtk_window_present (castellan_preferences_new (GTK_WINDOW (self), settings));
}

void
castellan_window_class_init_extras (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "win.preferences", NULL, preferences_action);
  gtk_widget_class_install_action (widget_class, "win.run-on-selected", NULL, run_on_selected_action);
  gtk_widget_class_install_action (widget_class, "win.import-csv", NULL, csv_action);
  gtk_widget_class_install_action (widget_class, "win.export-csv", NULL, csv_action);
  gtk_widget_class_install_action (widget_class, "win.trusted-hosts", NULL, trusted_hosts_action);
}

void
castellan_window_setup_extras (CastellanWindow *self)
{
  refresh_ticket (self);
  self->ticket_timer = g_timeout_add_seconds (60, ticket_tick, self);
}

void
castellan_window_teardown_extras (CastellanWindow *self)
{
  g_clear_handle_id (&self->ticket_timer, g_source_remove);
}
