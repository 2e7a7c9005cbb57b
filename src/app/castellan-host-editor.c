/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "castellan-host-editor.h"

static const char *auth_ids[] = { "negotiate", "kerberos", "ntlm", "basic" };
static const char *shell_ids[] = { NULL, "cmd", "powershell" };

struct _CastellanHostEditor
{
  AdwWindow parent_instance;

  /* Template widgets */
  AdwEntryRow *name_row;
  AdwEntryRow *address_row;
  AdwEntryRow *port_row;
  AdwComboRow *transport_row;
  AdwComboRow *auth_row;
  AdwEntryRow *user_row;
  AdwComboRow *shell_row;
  AdwEntryRow *spn_row;
  AdwEntryRow *proxy_row;
  AdwEntryRow *group_row;
  AdwEntryRow *tags_row;
  AdwEntryRow *notes_row;
  GtkSwitch *delegation_switch;
  AdwEntryRow *ca_file_row;
  AdwEntryRow *pin_row;
  GtkLabel *error_label;

  /* Owned references */
  CastellanHost *host;
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

static void
load (CastellanHostEditor *self)
{
  CastellanHost *h = self->host;
  guint port = castellan_host_get_port (h);
  g_autofree char *port_text = port ? g_strdup_printf ("%u", port) : g_strdup ("");

  set_text (self->name_row, h, "name");
  set_text (self->address_row, h, "address");
  gtk_editable_set_text (GTK_EDITABLE (self->port_row), port_text);
  adw_combo_row_set_selected (self->transport_row, castellan_host_get_https (h) ? 1 : 0);
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
  set_text (self->ca_file_row, h, "ca-file");
  set_text (self->pin_row, h, "pin-sha256");
}

/* Applies the fields to a scratch copy, checks it, then to the host. */
static gboolean
store (CastellanHostEditor *self,
       CastellanHost       *h,
       GError             **error)
{
  const char *port_text = gtk_editable_get_text (GTK_EDITABLE (self->port_row));
  g_autoptr(CastellanConnectOptions) check = NULL;
  guint64 port = 0;

  if (*port_text && !g_ascii_string_to_unsigned (port_text, 10, 1, G_MAXUINT16, &port, NULL))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("“%s” is not a port: use a number from 1 to 65535, or leave it empty for the default."),
                   port_text);
      return FALSE;
    }
  get_text (self->name_row, h, "name");
  get_text (self->address_row, h, "address");
  g_object_set (h, "port", (guint) port,
                "https", adw_combo_row_get_selected (self->transport_row) == 1,
                "auth", auth_ids[MIN (adw_combo_row_get_selected (self->auth_row), 3)],
                "delegation", gtk_switch_get_active (self->delegation_switch),
                "shell", shell_ids[MIN (adw_combo_row_get_selected (self->shell_row), 2)],
                NULL);
  get_text (self->user_row, h, "user");
  get_text (self->spn_row, h, "spn-service");
  get_text (self->proxy_row, h, "proxy");
  get_text (self->group_row, h, "group");
  get_text (self->tags_row, h, "tags");
  get_text (self->notes_row, h, "notes");
  get_text (self->ca_file_row, h, "ca-file");
  get_text (self->pin_row, h, "pin-sha256");
  check = castellan_host_to_options (h, error);
  return check != NULL;
}

static void
on_save (GtkButton           *button,
         CastellanHostEditor *self)
{
  g_autoptr(CastellanHost) scratch = castellan_host_new ();
  g_autoptr(GError) error = NULL;

  if (!store (self, scratch, &error))
    {
      gtk_label_set_label (self->error_label, error->message);
      gtk_widget_set_visible (GTK_WIDGET (self->error_label), TRUE);
      return;
    }
  store (self, self->host, NULL);
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

  if (!state || castellan_host_get_delegation (self->host))
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

static void
castellan_host_editor_dispose (GObject *object)
{
  CastellanHostEditor *self = CASTELLAN_HOST_EDITOR (object);

  g_clear_object (&self->host);
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
  gtk_widget_class_bind_template_child (widget_class, CastellanHostEditor, name_row);
  gtk_widget_class_bind_template_child (widget_class, CastellanHostEditor, address_row);
  gtk_widget_class_bind_template_child (widget_class, CastellanHostEditor, port_row);
  gtk_widget_class_bind_template_child (widget_class, CastellanHostEditor, transport_row);
  gtk_widget_class_bind_template_child (widget_class, CastellanHostEditor, auth_row);
  gtk_widget_class_bind_template_child (widget_class, CastellanHostEditor, user_row);
  gtk_widget_class_bind_template_child (widget_class, CastellanHostEditor, spn_row);
  gtk_widget_class_bind_template_child (widget_class, CastellanHostEditor, proxy_row);
  gtk_widget_class_bind_template_child (widget_class, CastellanHostEditor, shell_row);
  gtk_widget_class_bind_template_child (widget_class, CastellanHostEditor, group_row);
  gtk_widget_class_bind_template_child (widget_class, CastellanHostEditor, tags_row);
  gtk_widget_class_bind_template_child (widget_class, CastellanHostEditor, notes_row);
  gtk_widget_class_bind_template_child (widget_class, CastellanHostEditor, delegation_switch);
  gtk_widget_class_bind_template_child (widget_class, CastellanHostEditor, ca_file_row);
  gtk_widget_class_bind_template_child (widget_class, CastellanHostEditor, pin_row);
  gtk_widget_class_bind_template_child (widget_class, CastellanHostEditor, error_label);
  gtk_widget_class_bind_template_callback (widget_class, on_save);
  gtk_widget_class_bind_template_callback (widget_class, on_cancel);
  gtk_widget_class_bind_template_callback (widget_class, on_delegation_set);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
castellan_host_editor_init (CastellanHostEditor *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
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

  self->host = g_object_ref (host);
  load (self);
  return self;
}
