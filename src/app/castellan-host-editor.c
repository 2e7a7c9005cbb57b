/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "castellan-endpoint.h"
#include "castellan-error.h"
#include "castellan-expectation.h"
#include "castellan-host-editor.h"
#include "castellan-security.h"
#include "castellan-trust-database.h"

static const char *auth_ids[] = { "negotiate", "kerberos", "ntlm", "basic" };
static const char *shell_ids[] = { NULL, "cmd", "powershell" };

struct _CastellanHostEditor
{
  AdwWindow parent_instance;

  /* Template widgets */
  AdwActionRow *expected_row;
  GtkImage *expected_icon;
  AdwEntryRow *name_row;
  AdwEntryRow *address_row;
  GtkWidget *address_error;
  GtkLabel *address_error_label;
  AdwComboRow *transport_row;
  GtkSpinButton *port_spin;
  AdwComboRow *auth_row;
  AdwEntryRow *user_row;
  GtkWidget *user_error;
  GtkLabel *user_error_label;
  AdwComboRow *shell_row;
  AdwEntryRow *group_row;
  AdwEntryRow *tags_row;
  AdwEntryRow *notes_row;
  AdwExpanderRow *advanced_row;
  GtkSwitch *delegation_switch;
  AdwActionRow *ca_file_row;
  GtkWidget *ca_clear_button;
  GtkWidget *ca_error;
  GtkLabel *ca_error_label;
  AdwEntryRow *pin_row;
  AdwEntryRow *proxy_row;
  GtkWidget *proxy_error;
  GtkLabel *proxy_error_label;
  AdwEntryRow *spn_row;
  GtkWidget *save_button;

  /* Owned references */
  CastellanHost *host;
  CastellanTrustedHosts *trusted_hosts;
  char *ca_file;
  gboolean loading;  /* fields being filled or torn down: no checks */
};

G_DEFINE_FINAL_TYPE (CastellanHostEditor, castellan_host_editor, ADW_TYPE_WINDOW)

enum { SIGNAL_SAVED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void
set_text (AdwEntryRow   *row,
          CastellanHost *host,
          const char    *key)
{
  g_autofree char *value = NULL;

  g_object_get (host, key, &value, NULL);
  gtk_editable_set_text (GTK_EDITABLE (row), value ? value : "");
}

static void
get_text (AdwEntryRow   *row,
          CastellanHost *host,
          const char    *key)
{
  g_autofree char *value = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (row))));

  g_object_set (host, key, *value ? value : NULL, NULL);
}

static gboolean
https_selected (CastellanHostEditor *self)
{
  return adw_combo_row_get_selected (self->transport_row) == 1;
}

static void
show_ca_file (CastellanHostEditor *self)
{
  adw_action_row_set_subtitle (self->ca_file_row, self->ca_file ? self->ca_file : _("None: the system’s authorities only"));
  gtk_widget_set_visible (self->ca_clear_button, self->ca_file != NULL);
}

/* The fields, applied to @h: the editor's copy, or the host on Save. */
static void
store (CastellanHostEditor *self,
       CastellanHost       *h)
{
  guint port = (guint) gtk_spin_button_get_value_as_int (self->port_spin);
  guint standard = https_selected (self) ? CASTELLAN_HTTPS_PORT : CASTELLAN_HTTP_PORT;

  get_text (self->name_row, h, "name");
  get_text (self->address_row, h, "address");
  g_object_set (h, "port", port == standard ? 0u : port,
                "https", https_selected (self),
                "auth", auth_ids[MIN (adw_combo_row_get_selected (self->auth_row), 3)],
                "delegation", gtk_switch_get_active (self->delegation_switch),
                "shell", shell_ids[MIN (adw_combo_row_get_selected (self->shell_row), 2)],
                "ca-file", self->ca_file,
                NULL);
  get_text (self->user_row, h, "user");
  get_text (self->spn_row, h, "spn-service");
  get_text (self->proxy_row, h, "proxy");
  get_text (self->group_row, h, "group");
  get_text (self->tags_row, h, "tags");
  get_text (self->notes_row, h, "notes");
  get_text (self->pin_row, h, "pin-sha256");
}

/* An error belongs to the field that caused it: the row turns red and the
 * message stands under it, until the field is fixed. */
static gboolean
mark (GtkWidget  *row,
      GtkWidget  *message_row,
      GtkLabel   *message_label,
      const char *message)
{
  if (message != NULL)
    {
      gtk_widget_add_css_class (row, "error");
      gtk_label_set_label (message_label, message);
      gtk_accessible_update_property (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, message, -1);
    }
  else
    {
      gtk_widget_remove_css_class (row, "error");
      gtk_accessible_reset_property (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION);
    }
  gtk_widget_set_visible (message_row, message != NULL);
  return message == NULL;
}

static char *
control_message (AdwEntryRow *row)
{
  if (!castellan_host_text_has_control (gtk_editable_get_text (GTK_EDITABLE (row))))
    return NULL;
  return g_strdup (_("This field holds a line break or another control character: type it on one line."));
}

static void
show_expected (CastellanHostEditor           *self,
               const CastellanConnectOptions *options)
{
  g_autoptr(CastellanExpectation) expectation = NULL;
  g_autofree char *summary = NULL;
  g_autofree char *title = NULL;
  g_auto(GStrv) explain = NULL;
  g_autofree char *subtitle = NULL;

  if (options == NULL)
    {
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->expected_row), _("Expected: not known until the address is valid"));
      adw_action_row_set_subtitle (self->expected_row, "");
      gtk_image_set_from_icon_name (self->expected_icon, castellan_security_icon_name (NULL));
      return;
    }
  expectation = castellan_expectation_compute (options);
  summary = castellan_expectation_summary (expectation);
  title = g_strdup_printf (_("Expected: %s"), summary);
  explain = castellan_expectation_explain (expectation);
  /* The title says it is refused; the policy's full message is for the
   * refusal itself. */
  subtitle = g_strjoinv (" ", explain + (expectation->refused ? 1 : 0));
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->expected_row), title);
  adw_action_row_set_subtitle (self->expected_row, subtitle);
  gtk_image_set_from_icon_name (self->expected_icon,
                                castellan_security_icon_name (castellan_verdict_level_id (expectation->level)));
  if (expectation->refused || expectation->floor < CASTELLAN_LEVEL_CAVEATS)
    gtk_widget_add_css_class (GTK_WIDGET (self->expected_row), "warning");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->expected_row), "warning");
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->expected_row),
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, subtitle, -1);
}

/* Checks every field where it is, shows what the host will get, and lets
 * Save through only when all is valid. */
static void
validate (CastellanHostEditor *self)
{
  g_autoptr(CastellanHost) scratch = castellan_host_new ();
  g_autoptr(CastellanEndpoint) endpoint = NULL;
  g_autoptr(CastellanConnectOptions) options = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *message = NULL;
  g_autofree char *text = NULL;
  gboolean ok = TRUE;
  const char *address = gtk_editable_get_text (GTK_EDITABLE (self->address_row));

  if (self->loading)
    return;
  store (self, scratch);

  /* Address */
  message = control_message (self->name_row);
  if (message == NULL)
    message = control_message (self->address_row);
  if (message == NULL && *address != '\0')
    {
      text = g_strstrip (g_strdup (address));
      endpoint = castellan_endpoint_parse (text, https_selected (self), &error);
      if (endpoint == NULL)
        message = g_strdup (error->message);
    }
  ok &= mark (GTK_WIDGET (self->address_row), self->address_error, self->address_error_label, message);
  g_clear_pointer (&message, g_free);
  g_clear_error (&error);
  if (*address == '\0')
    ok = FALSE;

  /* User */
  message = control_message (self->user_row);
  ok &= mark (GTK_WIDGET (self->user_row), self->user_error, self->user_error_label, message);
  g_clear_pointer (&message, g_free);

  /* CA file */
  if (self->ca_file != NULL)
    {
      g_autoptr(GTlsDatabase) database = castellan_trust_database_new (self->ca_file, &error);

      if (database == NULL)
        message = g_strdup (error->message);
      g_clear_error (&error);
    }
  if (!mark (GTK_WIDGET (self->ca_file_row), self->ca_error, self->ca_error_label, message))
    {
      ok = FALSE;
      adw_expander_row_set_expanded (self->advanced_row, TRUE);
    }
  g_clear_pointer (&message, g_free);

  /* Proxy, pin and service principal */
  message = control_message (self->proxy_row);
  if (message == NULL)
    message = control_message (self->pin_row);
  if (message == NULL)
    message = control_message (self->spn_row);
  if (message == NULL)
    {
      g_autoptr(CastellanEndpoint) any = castellan_endpoint_parse ("localhost", FALSE, NULL);
      g_autoptr(CastellanConnectOptions) probe = castellan_connect_options_new (any);
      g_autofree char *proxy = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->proxy_row))));

      if (!castellan_connect_options_set_proxy (probe, *proxy ? proxy : NULL, &error))
        message = g_strdup (error->message);
      g_clear_error (&error);
    }
  if (!mark (GTK_WIDGET (self->proxy_row), self->proxy_error, self->proxy_error_label, message))
    {
      ok = FALSE;
      adw_expander_row_set_expanded (self->advanced_row, TRUE);
    }
  g_clear_pointer (&message, g_free);

  for (AdwEntryRow **row = (AdwEntryRow *[]) { self->group_row, self->tags_row, self->notes_row, NULL }; *row; row++)
    {
      g_autofree char *bad = control_message (*row);

      if (bad != NULL)
        {
          gtk_widget_add_css_class (GTK_WIDGET (*row), "error");
          ok = FALSE;
        }
      else
        gtk_widget_remove_css_class (GTK_WIDGET (*row), "error");
    }

  if (ok)
    {
      options = castellan_host_to_options (scratch, NULL);
      if (options != NULL)
        {
          castellan_trusted_hosts_free (options->trusted_hosts);
          options->trusted_hosts = castellan_trusted_hosts_parse (NULL);
          if (self->trusted_hosts != NULL)
            {
              g_autofree char *value = castellan_trusted_hosts_to_string (self->trusted_hosts);

              castellan_connect_options_set_trusted_hosts (options, value);
            }
        }
      ok = options != NULL;
    }
  show_expected (self, options);
  gtk_widget_set_sensitive (self->save_button, ok);
}

static void
on_transport_changed (CastellanHostEditor *self)
{
  int port = gtk_spin_button_get_value_as_int (self->port_spin);

  /* The standard port follows the transport; a custom one stays. */
  if (https_selected (self) && port == CASTELLAN_HTTP_PORT)
    gtk_spin_button_set_value (self->port_spin, CASTELLAN_HTTPS_PORT);
  else if (!https_selected (self) && port == CASTELLAN_HTTPS_PORT)
    gtk_spin_button_set_value (self->port_spin, CASTELLAN_HTTP_PORT);
  validate (self);
}

static void
load (CastellanHostEditor *self)
{
  CastellanHost *h = self->host;
  guint port = castellan_host_get_port (h);

  self->loading = TRUE;
  set_text (self->name_row, h, "name");
  set_text (self->address_row, h, "address");
  adw_combo_row_set_selected (self->transport_row, castellan_host_get_https (h) ? 1 : 0);
  gtk_spin_button_set_value (self->port_spin, port ? port
                             : castellan_host_get_https (h) ? CASTELLAN_HTTPS_PORT : CASTELLAN_HTTP_PORT);
  for (guint i = 0; i < G_N_ELEMENTS (auth_ids); i++)
    if (g_strcmp0 (castellan_host_get_auth (h), auth_ids[i]) == 0)
      adw_combo_row_set_selected (self->auth_row, i);
  set_text (self->user_row, h, "user");
  adw_combo_row_set_selected (self->shell_row, 0);
  for (guint i = 1; i < G_N_ELEMENTS (shell_ids); i++)
    if (g_strcmp0 (castellan_host_get_shell (h), shell_ids[i]) == 0)
      adw_combo_row_set_selected (self->shell_row, i);
  set_text (self->spn_row, h, "spn-service");
  set_text (self->proxy_row, h, "proxy");
  set_text (self->group_row, h, "group");
  set_text (self->tags_row, h, "tags");
  set_text (self->notes_row, h, "notes");
  gtk_switch_set_active (self->delegation_switch, castellan_host_get_delegation (h));
  g_object_get (h, "ca-file", &self->ca_file, NULL);
  if (self->ca_file != NULL && *self->ca_file == '\0')
    g_clear_pointer (&self->ca_file, g_free);
  show_ca_file (self);
  set_text (self->pin_row, h, "pin-sha256");
  if (self->ca_file != NULL || castellan_host_get_delegation (h) ||
      gtk_editable_get_text (GTK_EDITABLE (self->pin_row))[0] ||
      gtk_editable_get_text (GTK_EDITABLE (self->proxy_row))[0] ||
      gtk_editable_get_text (GTK_EDITABLE (self->spn_row))[0])
    adw_expander_row_set_expanded (self->advanced_row, TRUE);
  self->loading = FALSE;
  validate (self);
}

static void
on_save (GtkButton           *button,
         CastellanHostEditor *self)
{
  validate (self);
  if (!gtk_widget_get_sensitive (self->save_button))
    return;
  store (self, self->host);
  g_signal_emit (self, signals[SIGNAL_SAVED], 0);
  gtk_window_destroy (GTK_WINDOW (self));
}

static void
on_cancel (GtkButton           *button,
           CastellanHostEditor *self)
{
  gtk_window_destroy (GTK_WINDOW (self));
}

static void
ca_chosen (GtkNativeDialog     *dialog,
           int                  response,
           CastellanHostEditor *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));

      g_free (self->ca_file);
      self->ca_file = g_file_get_path (file);
      show_ca_file (self);
      validate (self);
    }
  g_object_unref (dialog);
  g_object_unref (self);
}

static void
on_ca_choose (GtkButton           *button,
              CastellanHostEditor *self)
{
  GtkFileChooserNative *dialog = gtk_file_chooser_native_new (_("Extra CA File"), GTK_WINDOW (self),
                                                              GTK_FILE_CHOOSER_ACTION_OPEN,
                                                              _("_Choose"), _("_Cancel"));
  GtkFileFilter *filter = gtk_file_filter_new ();

  gtk_file_filter_set_name (filter, _("PEM certificates"));
  gtk_file_filter_add_pattern (filter, "*.pem");
  gtk_file_filter_add_pattern (filter, "*.crt");
  gtk_file_filter_add_pattern (filter, "*.cer");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), filter);
  g_object_unref (filter);
  g_signal_connect (dialog, "response", G_CALLBACK (ca_chosen), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void
on_ca_clear (GtkButton           *button,
             CastellanHostEditor *self)
{
  g_clear_pointer (&self->ca_file, g_free);
  show_ca_file (self);
  validate (self);
}

static void
delegation_answered (AdwMessageDialog    *dialog,
                     const char          *response,
                     CastellanHostEditor *self)
{
  if (!g_str_equal (response, "allow"))
    gtk_switch_set_active (self->delegation_switch, FALSE);
}

static gboolean
on_delegation_set (GtkSwitch           *sw,
                   gboolean             state,
                   CastellanHostEditor *self)
{
  AdwMessageDialog *dialog;

  if (!state || castellan_host_get_delegation (self->host) || self->loading)
    return FALSE;
  dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (GTK_WINDOW (self), _("Hand This Host Your Credential?"),
    _("With delegation, the host receives a Kerberos credential it can use to reach other machines as you (the “second hop”). Anyone who controls the host, or its administrator, can then act as you for as long as the ticket lasts. Turn it on only for hosts you trust as much as your own account, and only when commands there must reach file shares or other servers.")));
  adw_message_dialog_add_responses (dialog, "cancel", _("_Keep Off"), "allow", _("_Allow Delegation"), NULL);
  adw_message_dialog_set_response_appearance (dialog, "allow", ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (dialog, "cancel");
  g_signal_connect (dialog, "response", G_CALLBACK (delegation_answered), self);
  gtk_window_present (GTK_WINDOW (dialog));
  return FALSE;
}

/**
 * castellan_host_editor_propose:
 *
 * Puts a way past a refusal into the fields, for the user to review; the
 * host itself changes only on Save.
 */
void
castellan_host_editor_propose (CastellanHostEditor        *self,
                               CastellanHostEditorProposal proposal)
{
  g_return_if_fail (CASTELLAN_IS_HOST_EDITOR (self));

  switch (proposal)
    {
    case CASTELLAN_HOST_EDITOR_PROPOSE_HTTPS:
      adw_combo_row_set_selected (self->transport_row, 1);
      break;
    case CASTELLAN_HOST_EDITOR_PROPOSE_NAME:
      /* NTLM by name would be refused as well. */
      if (adw_combo_row_get_selected (self->auth_row) == 2)
        adw_combo_row_set_selected (self->auth_row, 0);
      mark (GTK_WIDGET (self->address_row), self->address_error, self->address_error_label,
            _("Type the host’s DNS name, so that Kerberos can prove it."));
      gtk_widget_grab_focus (GTK_WIDGET (self->address_row));
      break;
    default:
      g_return_if_reached ();
    }
}

static void
castellan_host_editor_dispose (GObject *object)
{
  CastellanHostEditor *self = CASTELLAN_HOST_EDITOR (object);

  /* Rows being torn down still emit ::changed: nothing is checked now. */
  self->loading = TRUE;
  g_clear_object (&self->host);
  g_clear_pointer (&self->trusted_hosts, castellan_trusted_hosts_free);
  g_clear_pointer (&self->ca_file, g_free);
  G_OBJECT_CLASS (castellan_host_editor_parent_class)->dispose (object);
}

static void
castellan_host_editor_class_init (CastellanHostEditorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = castellan_host_editor_dispose;
  signals[SIGNAL_SAVED] = g_signal_new ("saved", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                        0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/castellan/Castellan/ui/castellan-host-editor.ui");
#define CHILD(name) gtk_widget_class_bind_template_child (widget_class, CastellanHostEditor, name)
  CHILD (expected_row);
  CHILD (expected_icon);
  CHILD (name_row);
  CHILD (address_row);
  CHILD (address_error);
  CHILD (address_error_label);
  CHILD (transport_row);
  CHILD (port_spin);
  CHILD (auth_row);
  CHILD (user_row);
  CHILD (user_error);
  CHILD (user_error_label);
  CHILD (shell_row);
  CHILD (group_row);
  CHILD (tags_row);
  CHILD (notes_row);
  CHILD (advanced_row);
  CHILD (delegation_switch);
  CHILD (ca_file_row);
  CHILD (ca_clear_button);
  CHILD (ca_error);
  CHILD (ca_error_label);
  CHILD (pin_row);
  CHILD (proxy_row);
  CHILD (proxy_error);
  CHILD (proxy_error_label);
  CHILD (spn_row);
  CHILD (save_button);
#undef CHILD
  gtk_widget_class_bind_template_callback (widget_class, on_save);
  gtk_widget_class_bind_template_callback (widget_class, on_cancel);
  gtk_widget_class_bind_template_callback (widget_class, on_delegation_set);
  gtk_widget_class_bind_template_callback (widget_class, on_ca_choose);
  gtk_widget_class_bind_template_callback (widget_class, on_ca_clear);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
castellan_host_editor_init (CastellanHostEditor *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  for (AdwEntryRow **row = (AdwEntryRow *[]) { self->name_row, self->address_row, self->user_row,
                                               self->group_row, self->tags_row, self->notes_row,
                                               self->pin_row, self->proxy_row, self->spn_row, NULL };
       *row; row++)
    g_signal_connect_swapped (*row, "changed", G_CALLBACK (validate), self);
  g_signal_connect_swapped (self->transport_row, "notify::selected", G_CALLBACK (on_transport_changed), self);
  g_signal_connect_swapped (self->auth_row, "notify::selected", G_CALLBACK (validate), self);
  g_signal_connect_swapped (self->port_spin, "value-changed", G_CALLBACK (validate), self);
  g_signal_connect_swapped (self->delegation_switch, "notify::active", G_CALLBACK (validate), self);
}

CastellanHostEditor *
castellan_host_editor_new (GtkWindow     *parent,
                           CastellanHost *host,
                           gboolean       is_new)
{
  CastellanHostEditor *self = g_object_new (CASTELLAN_TYPE_HOST_EDITOR,
                                            "transient-for", parent,
                                            "modal", TRUE,
                                            "title", is_new ? _("Add Host") : _("Edit Host"),
                                            NULL);
  g_autofree char *path = castellan_trusted_hosts_default_path ();

  /* What the policy will say depends on TrustedHosts; unreadable, it
   * allows nothing, as the connection would. */
  self->trusted_hosts = castellan_trusted_hosts_load (path, NULL);
  self->host = g_object_ref (host);
  load (self);
  return self;
}
