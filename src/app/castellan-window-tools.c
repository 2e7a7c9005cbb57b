/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

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

static void
trusted_hosts_action (GtkWidget  *widget,
                      const char *action,
                      GVariant   *param)
{
  CastellanWindow *self = CASTELLAN_WINDOW (widget);
  GtkWindow *window = castellan_trusted_hosts_window_new (GTK_WINDOW (self),
                                                          castellan_application_get_inventory (self->app));

  gtk_window_present (window);
}

void
castellan_window_class_init_extras (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "win.import-csv", NULL, csv_action);
  gtk_widget_class_install_action (widget_class, "win.export-csv", NULL, csv_action);
  gtk_widget_class_install_action (widget_class, "win.trusted-hosts", NULL, trusted_hosts_action);
}

void
castellan_window_setup_extras (CastellanWindow *self)
{
}
