/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "castellan-application.h"
#include "castellan-bench-probe.h"
#include "castellan-window.h"

/* One instance (GApplication); every window shares one inventory, so two
 * windows never overwrite each other's edits. */
struct _CastellanApplication
{
  AdwApplication parent_instance;

  CastellanInventory *inventory;
  GError *load_error;
  GSettings *settings;
  GStrv connect;            /* --connect: hosts to open at start */
};

G_DEFINE_FINAL_TYPE (CastellanApplication, castellan_application, ADW_TYPE_APPLICATION)

CastellanInventory *
castellan_application_get_inventory (CastellanApplication *self)
{
  return self->inventory;
}

/* NULL when the schema is not installed (a binary run by hand): then the
 * defaults apply. */
GSettings *
castellan_application_get_settings (CastellanApplication *self)
{
  return self->settings;
}

const GError *
castellan_application_get_load_error (CastellanApplication *self)
{
  return self->load_error;
}

/* Saves at once; a failure is said in a dialog and the edits stay. */
void
castellan_application_save_inventory (CastellanApplication *self,
                                      GtkWindow            *parent)
{
  g_autoptr(GError) error = NULL;

  if (!castellan_inventory_save (self->inventory, &error))
    {
      /* DAMAGED: saved, but the file found in its place was kept aside. */
      gboolean saved = g_error_matches (error, CASTELLAN_INVENTORY_ERROR,
                                        CASTELLAN_INVENTORY_ERROR_DAMAGED);
      GtkWidget *dialog = adw_message_dialog_new (parent,
                                                  saved ? _("Damaged Host File Kept Aside")
                                                        : _("Hosts Not Saved"),
                                                  error->message);

      adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "ok", _("_OK"));
      gtk_window_present (GTK_WINDOW (dialog));
    }
}

static void
connect_requested (CastellanApplication *self,
                   CastellanWindow      *window)
{
  GListModel *hosts = castellan_inventory_get_hosts (self->inventory);
  guint n = g_list_model_get_n_items (hosts);

  for (guint c = 0; self->connect && self->connect[c]; c++)
    {
      gboolean found = FALSE;

      for (guint i = 0; i < n; i++)
        {
          g_autoptr(CastellanHost) host = g_list_model_get_item (hosts, i);

          if (g_strcmp0 (castellan_host_get_name (host), self->connect[c]) == 0 ||
              g_strcmp0 (castellan_host_get_address (host), self->connect[c]) == 0)
            {
              castellan_window_open_console (window, host);
              found = TRUE;
              break;
            }
        }
      if (!found)
        {
          g_autofree char *msg = g_strdup_printf (_("No saved host is named “%s”."), self->connect[c]);

          castellan_window_toast (window, msg);
        }
    }
  g_clear_pointer (&self->connect, g_strfreev);
}

static void
castellan_application_activate (GApplication *app)
{
  CastellanApplication *self = CASTELLAN_APPLICATION (app);
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (app));

  if (window == NULL)
    window = GTK_WINDOW (castellan_window_new (self));
  gtk_window_present (window);
  connect_requested (self, CASTELLAN_WINDOW (window));
}

static int
castellan_application_handle_local_options (GApplication *app,
                                            GVariantDict *options)
{
  CastellanApplication *self = CASTELLAN_APPLICATION (app);

  g_variant_dict_lookup (options, "connect", "^as", &self->connect);
  return -1;
}

static void
quit_action (GSimpleAction *action,
             GVariant      *parameter,
             gpointer       user_data)
{
  GList *windows = gtk_application_get_windows (GTK_APPLICATION (user_data));

  /* A window whose commands still run asks first, and quits if agreed. */
  for (GList *l = windows; l != NULL; l = l->next)
    if (CASTELLAN_IS_WINDOW (l->data) && castellan_window_ask_before_quit (CASTELLAN_WINDOW (l->data)))
      return;
  g_application_quit (G_APPLICATION (user_data));
}

static void
about_action (GSimpleAction *action,
              GVariant      *parameter,
              gpointer       user_data)
{
  GtkApplication *app = GTK_APPLICATION (user_data);
  const char *developers[] = { "The Castellan developers", NULL };

  adw_show_about_window (gtk_application_get_active_window (app),
                         "application-name", "Castellan",
                         "application-icon", APPLICATION_ID,
                         "developer-name", "The Castellan developers",
                         "version", PACKAGE_VERSION,
                         "comments", _("Manage Windows hosts over WinRM, with the security of every connection in plain sight."),
                         "license-type", GTK_LICENSE_GPL_3_0,
                         "developers", developers,
                         NULL);
}

static const GActionEntry app_actions[] = {
  { "quit", quit_action },
  { "about", about_action },
};

static void
castellan_application_startup (GApplication *app)
{
  CastellanApplication *self = CASTELLAN_APPLICATION (app);
  static const struct { const char *action; const char *accels[3]; } accels[] = {
    { "app.quit", { "<Control>q", NULL } },
    { "win.quick-connect", { "<Control>l", NULL } },
    { "win.add-host", { "<Control>n", NULL } },
    { "win.connect-selected", { "<Control>Return", NULL } },
    { "win.run-on-selected", { "<Control><Shift>Return", NULL } },
    { "win.close-tab", { "<Control>w", NULL } },
    { "win.next-tab", { "<Control>Page_Down", NULL } },
    { "win.previous-tab", { "<Control>Page_Up", NULL } },
    { "win.find", { "<Control>f", NULL } },
    { "win.save-transcript", { "<Control><Shift>s", NULL } },
    { "win.copy", { "<Control><Shift>c", NULL } },
    { "win.trusted-hosts", { "<Control><Shift>t", NULL } },
    { "win.preferences", { "<Control>comma", NULL } },
    { "win.show-help-overlay", { "<Control>question", NULL } },
  };

  G_APPLICATION_CLASS (castellan_application_parent_class)->startup (app);

  g_action_map_add_action_entries (G_ACTION_MAP (app), app_actions, G_N_ELEMENTS (app_actions), app);
  for (guint i = 0; i < G_N_ELEMENTS (accels); i++)
    gtk_application_set_accels_for_action (GTK_APPLICATION (app), accels[i].action, accels[i].accels);

  {
    GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
    g_autoptr(GSettingsSchema) schema = source ? g_settings_schema_source_lookup (source, APPLICATION_ID, TRUE) : NULL;

    if (schema != NULL)
      self->settings = g_settings_new (APPLICATION_ID);
  }
  self->inventory = castellan_inventory_new (NULL);
  {
    gint64 start = g_get_monotonic_time ();

    castellan_inventory_load (self->inventory, &self->load_error);
    castellan_inventory_watch (self->inventory);
    castellan_bench_report ("inventory-load", (g_get_monotonic_time () - start) / 1000.0, "ms");
  }
}

static void
castellan_application_finalize (GObject *object)
{
  CastellanApplication *self = CASTELLAN_APPLICATION (object);

  g_clear_object (&self->inventory);
  g_clear_object (&self->settings);
  g_strfreev (self->connect);
  g_clear_error (&self->load_error);
  G_OBJECT_CLASS (castellan_application_parent_class)->finalize (object);
}

static void
castellan_application_class_init (CastellanApplicationClass *klass)
{
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = castellan_application_finalize;
  app_class->activate = castellan_application_activate;
  app_class->handle_local_options = castellan_application_handle_local_options;
  app_class->startup = castellan_application_startup;
}

static void
castellan_application_init (CastellanApplication *self)
{
}

CastellanApplication *
castellan_application_new (void)
{
  static const GOptionEntry entries[] = {
    { "connect", 'c', 0, G_OPTION_ARG_STRING_ARRAY, NULL,
      N_("Open a console to this saved host (its name or address); may be repeated"), N_("HOST") },
    { NULL }
  };
  CastellanApplication *self = g_object_new (CASTELLAN_TYPE_APPLICATION,
                       "application-id", APPLICATION_ID,
                       "flags", G_APPLICATION_DEFAULT_FLAGS,
                       "resource-base-path", "/io/github/castellan/Castellan",
                       NULL);

  g_application_add_main_option_entries (G_APPLICATION (self), entries);
  return self;
}
