/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "castellan-bench-probe.h"
#include "castellan-connect-flow.h"
#include "castellan-console.h"
#include "castellan-error.h"
#include "castellan-host-editor.h"
#include "castellan-host-row.h"
#include "castellan-policy.h"
#include "castellan-secrets.h"
#include "castellan-security.h"
#include "castellan-trust-dialogs.h"
#include "castellan-window.h"
#include "castellan-window-private.h"

G_DEFINE_FINAL_TYPE (CastellanWindow, castellan_window, ADW_TYPE_APPLICATION_WINDOW)

static CastellanInventory *
inventory (CastellanWindow *self)
{
  return castellan_application_get_inventory (self->app);
}

static void
save_inventory (CastellanWindow *self)
{
  castellan_application_save_inventory (self->app, GTK_WINDOW (self));
}

void
castellan_window_toast (CastellanWindow *self,
                        const char      *message)
{
  AdwToast *toast = adw_toast_new (message);

  adw_toast_set_timeout (toast, 6);
  adw_toast_overlay_add_toast (self->toasts, toast);
}

/* ---- the host list ------------------------------------------------------ */

static gboolean
host_matches (gpointer item,
              gpointer user_data)
{
  CastellanWindow *self = user_data;

  if (self->search == NULL || *self->search == '\0')
    return TRUE;
  return strstr (castellan_host_get_search_text (CASTELLAN_HOST (item)), self->search) != NULL;
}

static int
host_order (gconstpointer a,
            gconstpointer b,
            gpointer      user_data)
{
  return strcmp (castellan_host_get_sort_key ((CastellanHost *) a),
                 castellan_host_get_sort_key ((CastellanHost *) b));
}

static void
on_search_changed (CastellanWindow *self,
                   GtkSearchEntry  *entry)
{
  gint64 start = g_get_monotonic_time ();
  g_autofree char *previous = g_steal_pointer (&self->search);
  GtkFilterChange change = GTK_FILTER_CHANGE_DIFFERENT;

  self->search = g_utf8_casefold (gtk_editable_get_text (GTK_EDITABLE (entry)), -1);
  /* Typing on narrows what is shown, deleting widens it: the model then
   * only looks at the hosts that may change. */
  if (previous != NULL && strstr (self->search, previous) != NULL)
    change = GTK_FILTER_CHANGE_MORE_STRICT;
  else if (previous != NULL && strstr (previous, self->search) != NULL)
    change = GTK_FILTER_CHANGE_LESS_STRICT;
  gtk_filter_changed (GTK_FILTER (self->filter), change);
  castellan_bench_report ("filter", (g_get_monotonic_time () - start) / 1000.0, "ms");
}

static void
update_sidebar (CastellanWindow *self)
{
  guint n = g_list_model_get_n_items (castellan_inventory_get_hosts (inventory (self)));

  gtk_stack_set_visible_child_name (self->sidebar_stack, n > 0 ? "list" : "empty");
  castellan_window_update_empty (self);
}

static void
setup_row (GtkSignalListItemFactory *factory,
           GtkListItem              *item,
           gpointer                  user_data)
{
  gtk_list_item_set_child (item, castellan_host_row_new ());
}

static void
bind_row (GtkSignalListItemFactory *factory,
          GtkListItem              *item,
          gpointer                  user_data)
{
  castellan_host_row_set_host (CASTELLAN_HOST_ROW (gtk_list_item_get_child (item)),
                               gtk_list_item_get_item (item));
}

static void
unbind_row (GtkSignalListItemFactory *factory,
            GtkListItem              *item,
            gpointer                  user_data)
{
  castellan_host_row_set_host (CASTELLAN_HOST_ROW (gtk_list_item_get_child (item)), NULL);
}

/* The hosts the menu and the keyboard act on: the selection, or the host
 * whose context menu is open. */
GPtrArray *
castellan_window_selected_hosts (CastellanWindow *self)
{
  GPtrArray *hosts = g_ptr_array_new_with_free_func (g_object_unref);
  GListModel *model = G_LIST_MODEL (self->selection);
  g_autoptr(GtkBitset) set = gtk_selection_model_get_selection (GTK_SELECTION_MODEL (self->selection));
  GtkBitsetIter iter;
  guint pos;

  if (gtk_bitset_iter_init_first (&iter, set, &pos))
    do
      g_ptr_array_add (hosts, g_list_model_get_item (model, pos));
    while (gtk_bitset_iter_next (&iter, &pos));
  return hosts;
}

static CastellanHost *
selected_host (CastellanWindow *self)
{
  g_autoptr(GPtrArray) hosts = castellan_window_selected_hosts (self);

  return hosts->len > 0 ? g_object_ref (g_ptr_array_index (hosts, 0)) : NULL;
}

static void
select_host_action (GtkWidget  *widget,
                    const char *action,
                    GVariant   *param)
{
  CastellanWindow *self = CASTELLAN_WINDOW (widget);
  const char *id = g_variant_get_string (param, NULL);
  GListModel *model = G_LIST_MODEL (self->selection);
  guint n = g_list_model_get_n_items (model);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(CastellanHost) host = g_list_model_get_item (model, i);

      if (g_str_equal (castellan_host_get_id (host), id))
        {
          if (!gtk_selection_model_is_selected (GTK_SELECTION_MODEL (self->selection), i))
            gtk_selection_model_select_item (GTK_SELECTION_MODEL (self->selection), i, TRUE);
          return;
        }
    }
}

/* ---- editing hosts ---------------------------------------------------------- */

static void
editor_saved (CastellanHostEditor *editor,
              CastellanWindow     *self)
{
  CastellanHost *host = g_object_get_data (G_OBJECT (editor), "host");

  if (g_object_get_data (G_OBJECT (editor), "is-new") != NULL)
    castellan_inventory_add (inventory (self), host);
  save_inventory (self);
  update_sidebar (self);
}

CastellanHostEditor *
castellan_window_edit_host (CastellanWindow *self,
                            CastellanHost   *host,
                            gboolean         is_new)
{
  CastellanHostEditor *editor = castellan_host_editor_new (GTK_WINDOW (self), host, is_new);

  g_object_set_data_full (G_OBJECT (editor), "host", g_object_ref (host), g_object_unref);
  if (is_new)
    g_object_set_data (G_OBJECT (editor), "is-new", GINT_TO_POINTER (1));
  g_signal_connect_object (editor, "saved", G_CALLBACK (editor_saved), self, 0);
  gtk_window_present (GTK_WINDOW (editor));
  return editor;
}

static void
add_host_action (GtkWidget  *widget,
                 const char *action,
                 GVariant   *param)
{
  CastellanWindow *self = CASTELLAN_WINDOW (widget);
  GSettings *settings = castellan_application_get_settings (self->app);
  g_autoptr(CastellanHost) host = castellan_host_new ();

  if (settings != NULL)
    {
      g_autofree char *auth = g_settings_get_string (settings, "default-auth");

      g_object_set (host, "https", g_settings_get_boolean (settings, "default-https"), "auth", auth, NULL);
    }
  castellan_window_edit_host (self, host, TRUE);
}

static void
edit_selected_action (GtkWidget  *widget,
                      const char *action,
                      GVariant   *param)
{
  CastellanWindow *self = CASTELLAN_WINDOW (widget);
  g_autoptr(CastellanHost) host = selected_host (self);

  if (host != NULL)
    castellan_window_edit_host (self, host, FALSE);
}

static void
duplicate_selected_action (GtkWidget  *widget,
                           const char *action,
                           GVariant   *param)
{
  CastellanWindow *self = CASTELLAN_WINDOW (widget);
  g_autoptr(CastellanHost) host = selected_host (self);
  g_autoptr(CastellanHost) copy = NULL;

  if (host == NULL)
    return;
  copy = castellan_host_duplicate (host);
  castellan_window_edit_host (self, copy, TRUE);
}

/* The last verdict of a host, in full, from its page in the list. */
static void
security_selected_action (GtkWidget  *widget,
                          const char *action,
                          GVariant   *param)
{
  CastellanWindow *self = CASTELLAN_WINDOW (widget);
  g_autoptr(CastellanHost) host = selected_host (self);
  g_autoptr(CastellanVerdict) verdict = NULL;
  g_autofree char *name = NULL;
  g_autofree char *expected = NULL;
  GtkWidget *dialog;

  if (host == NULL)
    return;
  name = castellan_host_dup_display_name (host);
  verdict = castellan_host_dup_last_verdict (host);
  expected = verdict ? NULL : castellan_connect_flow_describe_expected (host);
  dialog = adw_message_dialog_new (GTK_WINDOW (self), name, expected);
  if (verdict != NULL)
    adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), castellan_security_details (verdict));
  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "close", _("_Close"));
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
delete_answered (AdwMessageDialog *dialog,
                 const char       *response,
                 CastellanWindow  *self)
{
  GPtrArray *hosts = g_object_get_data (G_OBJECT (dialog), "hosts");

  if (!g_str_equal (response, "delete"))
    return;
  for (guint i = 0; i < hosts->len; i++)
    {
      CastellanHost *host = g_ptr_array_index (hosts, i);

      castellan_secrets_clear_async (castellan_host_get_id (host), NULL, NULL, NULL);
      castellan_inventory_remove (inventory (self), host);
    }
  save_inventory (self);
  update_sidebar (self);
}

static void
delete_selected_action (GtkWidget  *widget,
                        const char *action,
                        GVariant   *param)
{
  CastellanWindow *self = CASTELLAN_WINDOW (widget);
  GPtrArray *hosts = castellan_window_selected_hosts (self);
  g_autofree char *heading = NULL;
  GtkWidget *dialog;

  if (hosts->len == 0)
    {
      g_ptr_array_unref (hosts);
      return;
    }
  if (hosts->len == 1)
    {
      g_autofree char *name = castellan_host_dup_display_name (g_ptr_array_index (hosts, 0));

      heading = g_strdup_printf (_("Delete “%s”?"), name);
    }
  else
    heading = g_strdup_printf (ngettext ("Delete %u Host?", "Delete %u Hosts?", hosts->len), hosts->len);
  dialog = adw_message_dialog_new (GTK_WINDOW (self), heading,
                                   _("The host is removed from the inventory, and its remembered password from the keyring."));
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog), "cancel", _("_Cancel"), "delete", _("_Delete"), NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "delete", ADW_RESPONSE_DESTRUCTIVE);
  g_object_set_data_full (G_OBJECT (dialog), "hosts", hosts, (GDestroyNotify) g_ptr_array_unref);
  g_signal_connect (dialog, "response", G_CALLBACK (delete_answered), self);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* ---- consoles ---------------------------------------------------------------- */

static void on_console_failed (CastellanConsole *console, const GError *error, CastellanWindow *self);
static CastellanConsole *console_at (CastellanWindow *self, AdwTabPage *page);

static void
on_console_security (CastellanConsole *console,
                     CastellanWindow  *self)
{
  AdwTabPage *page = adw_tab_view_get_page (self->tab_view, GTK_WIDGET (console));
  const CastellanVerdict *verdict = castellan_console_get_verdict (console);
  CastellanHost *host = castellan_console_get_host (console);

  if (page == NULL)
    return;
  castellan_window_update_tab (self, console);
  castellan_window_update_broadcast (self);
  if (verdict == NULL || castellan_console_is_downgraded (console))
    return;

  /* Never downgraded silently: below what was expected or than last
   * time, nothing is sent until the user decides. */
  if (castellan_connect_flow_check_verdict (self, console))
    return;
  castellan_host_set_verdict (host, verdict);
  if (castellan_inventory_find (inventory (self), castellan_host_get_id (host)) != NULL)
    save_inventory (self);
}

static void
on_line_entered (CastellanConsole *console,
                 const char       *line,
                 CastellanWindow  *self)
{
  guint n;

  /* Typed into a console left out of the broadcast: it stays there. */
  if (!gtk_toggle_button_get_active (self->broadcast_button) || !castellan_console_get_broadcast (console))
    return;
  n = adw_tab_view_get_n_pages (self->tab_view);
  for (guint i = 0; i < n; i++)
    {
      CastellanConsole *other = console_at (self, adw_tab_view_get_nth_page (self->tab_view, i));

      if (other != NULL && other != console && castellan_console_get_broadcast (other))
        castellan_console_send_line (other, line);
    }
}

CastellanConsole *
castellan_window_start_console (CastellanWindow               *self,
                                CastellanHost                 *host,
                                const CastellanConnectOptions *options)
{
  GSettings *settings = castellan_application_get_settings (self->app);
  const char *shell = castellan_host_get_shell (host);
  g_autofree char *preferred = settings ? g_settings_get_string (settings, "interpreter") : NULL;
  CastellanInterpreter interpreter = g_strcmp0 (shell ? shell : preferred, "powershell") == 0
                                       ? CASTELLAN_INTERPRETER_POWERSHELL : CASTELLAN_INTERPRETER_CMD;
  CastellanConsole *console = castellan_console_new (host, options, interpreter);
  g_autofree char *title = castellan_console_dup_title (console);
  AdwTabPage *page;

  castellan_console_bind_settings (console, settings);

  g_signal_connect_object (console, "security-changed", G_CALLBACK (on_console_security), self, 0);
  g_signal_connect_object (console, "failed", G_CALLBACK (on_console_failed), self, 0);
  g_signal_connect_object (console, "line-entered", G_CALLBACK (on_line_entered), self, 0);
  g_signal_connect_object (console, "broadcast-changed", G_CALLBACK (castellan_window_update_broadcast),
                           self, G_CONNECT_SWAPPED);
  page = adw_tab_view_append (self->tab_view, GTK_WIDGET (console));
  adw_tab_page_set_title (page, title);
  adw_tab_view_set_selected_page (self->tab_view, page);
  castellan_window_show_content (self);
  on_console_security (console, self);
  castellan_console_connect (console);
  castellan_console_focus_input (console);
  return console;
}

CastellanConnectOptions *
castellan_window_options_for (CastellanWindow *self,
                              CastellanHost   *host)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = castellan_trusted_hosts_default_path ();
  CastellanConnectOptions *options = castellan_host_to_options (host, &error);
  CastellanTrustedHosts *trusted;

  if (options == NULL)
    {
      castellan_window_toast (self, error->message);
      return NULL;
    }
  if (castellan_application_get_settings (self->app) != NULL)
    options->operation_timeout = g_settings_get_uint (castellan_application_get_settings (self->app),
                                                      "operation-timeout");
  trusted = castellan_trusted_hosts_load (path, &error);
  if (trusted != NULL)
    {
      castellan_trusted_hosts_free (options->trusted_hosts);
      options->trusted_hosts = trusted;
    }
  else
    castellan_window_toast (self, error->message);
  return options;
}

static void
on_console_failed (CastellanConsole *console,
                   const GError     *error,
                   CastellanWindow  *self)
{
  if (g_error_matches (error, CASTELLAN_ERROR, CASTELLAN_ERROR_POLICY_REFUSED))
    castellan_connect_flow_refused (self, castellan_console_get_host (console),
                                    adw_tab_view_get_page (self->tab_view, GTK_WIDGET (console)), error);
  else if (!g_error_matches (error, CASTELLAN_ERROR, CASTELLAN_ERROR_CANCELLED))
    castellan_window_note_problem (self, castellan_console_get_host (console), error);
}

static void
on_host_activated (CastellanWindow *self,
                   guint            position)
{
  g_autoptr(CastellanHost) host = g_list_model_get_item (G_LIST_MODEL (self->selection), position);

  castellan_window_open_console (self, host);
}

static void
connect_selected_action (GtkWidget  *widget,
                         const char *action,
                         GVariant   *param)
{
  CastellanWindow *self = CASTELLAN_WINDOW (widget);
  g_autoptr(GPtrArray) hosts = castellan_window_selected_hosts (self);

  for (guint i = 0; i < hosts->len; i++)
    castellan_window_open_console (self, g_ptr_array_index (hosts, i));
}

/* Quick connect: a known host by its address, else a host for this once. */
static void
on_quick_connect (CastellanWindow *self,
                  GtkEntry        *entry)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (entry));
  g_autoptr(GError) error = NULL;
  g_autoptr(CastellanEndpoint) endpoint = castellan_endpoint_parse (text, FALSE, &error);
  GListModel *hosts = castellan_inventory_get_hosts (inventory (self));
  g_autoptr(CastellanHost) host = NULL;
  guint n = g_list_model_get_n_items (hosts);

  if (endpoint == NULL)
    {
      castellan_window_toast (self, error->message);
      return;
    }
  for (guint i = 0; i < n && host == NULL; i++)
    {
      g_autoptr(CastellanHost) h = g_list_model_get_item (hosts, i);

      if (g_ascii_strcasecmp (castellan_host_get_address (h) ?: "", endpoint->host) == 0 &&
          castellan_host_get_https (h) == endpoint->https)
        host = g_steal_pointer (&h);
    }
  if (host == NULL)
    {
      host = castellan_host_new ();
      g_object_set (host, "address", endpoint->host, "https", endpoint->https,
                    "port", (guint) endpoint->port, NULL);
    }
  gtk_editable_set_text (GTK_EDITABLE (entry), "");
  castellan_window_open_console (self, host);
}

static void
quick_connect_action (GtkWidget  *widget,
                      const char *action,
                      GVariant   *param)
{
  gtk_widget_grab_focus (GTK_WIDGET (CASTELLAN_WINDOW (widget)->quick_connect));
}

/* ---- tabs ------------------------------------------------------------------------ */

/* The console in tab n, or NULL for another kind of tab (results). */
static CastellanConsole *
console_at (CastellanWindow *self,
            AdwTabPage      *page)
{
  GtkWidget *child = page ? adw_tab_page_get_child (page) : NULL;

  return child && CASTELLAN_IS_CONSOLE (child) ? CASTELLAN_CONSOLE (child) : NULL;
}

static CastellanConsole *
current_console (CastellanWindow *self)
{
  return console_at (self, adw_tab_view_get_selected_page (self->tab_view));
}

static void
on_pages_changed (CastellanWindow *self)
{
  gboolean any = adw_tab_view_get_n_pages (self->tab_view) > 0;

  gtk_stack_set_visible_child_name (self->main_stack, any ? "tabs" : "empty");
  castellan_window_update_broadcast (self);
}

static gboolean
on_close_page (CastellanWindow *self,
               AdwTabPage      *page)
{
  castellan_window_close_page (self, page);
  return GDK_EVENT_STOP;
}

static AdwTabView *
on_create_window (CastellanWindow *self)
{
  CastellanWindow *window = castellan_window_new (self->app);

  gtk_window_present (GTK_WINDOW (window));
  return window->tab_view;
}

static void
on_broadcast_toggled (CastellanWindow *self,
                      GtkToggleButton *button)
{
  castellan_window_update_broadcast (self);
}

static void
tab_action (GtkWidget  *widget,
            const char *action,
            GVariant   *param)
{
  CastellanWindow *self = CASTELLAN_WINDOW (widget);
  AdwTabPage *page = adw_tab_view_get_selected_page (self->tab_view);
  CastellanConsole *console = current_console (self);

  if (g_str_equal (action, "win.close-tab") && page != NULL)
    adw_tab_view_close_page (self->tab_view, page);
  else if (g_str_equal (action, "win.next-tab"))
    adw_tab_view_select_next_page (self->tab_view);
  else if (g_str_equal (action, "win.previous-tab"))
    adw_tab_view_select_previous_page (self->tab_view);
  else if (g_str_equal (action, "win.find") && console != NULL)
    castellan_console_find (console);
  else if (g_str_equal (action, "win.save-transcript") && console != NULL)
    castellan_console_save_transcript (console);
  else if (g_str_equal (action, "win.copy") && console != NULL)
    castellan_console_copy (console);
}

/* ---- setup ------------------------------------------------------------------------ */

static void
castellan_window_dispose (GObject *object)
{
  CastellanWindow *self = CASTELLAN_WINDOW (object);

  castellan_window_teardown_extras (self);
  castellan_window_chrome_teardown (self);
  gtk_widget_dispose_template (GTK_WIDGET (self), CASTELLAN_TYPE_WINDOW);
  g_clear_object (&self->selection);
  G_OBJECT_CLASS (castellan_window_parent_class)->dispose (object);
}

static void
castellan_window_finalize (GObject *object)
{
  CastellanWindow *self = CASTELLAN_WINDOW (object);

  g_free (self->search);
  G_OBJECT_CLASS (castellan_window_parent_class)->finalize (object);
}

static void
castellan_window_class_init (CastellanWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = castellan_window_dispose;
  object_class->finalize = castellan_window_finalize;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/castellan/Castellan/ui/castellan-window.ui");
  gtk_widget_class_bind_template_child (widget_class, CastellanWindow, toasts);
  gtk_widget_class_bind_template_child (widget_class, CastellanWindow, search_entry);
  gtk_widget_class_bind_template_child (widget_class, CastellanWindow, sidebar_stack);
  gtk_widget_class_bind_template_child (widget_class, CastellanWindow, host_list);
  gtk_widget_class_bind_template_child (widget_class, CastellanWindow, quick_connect);
  gtk_widget_class_bind_template_child (widget_class, CastellanWindow, broadcast_button);
  gtk_widget_class_bind_template_child (widget_class, CastellanWindow, ticket_button);
  gtk_widget_class_bind_template_child (widget_class, CastellanWindow, tab_view);
  gtk_widget_class_bind_template_child (widget_class, CastellanWindow, main_stack);
  gtk_widget_class_bind_template_callback (widget_class, on_search_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_host_activated);
  gtk_widget_class_bind_template_callback (widget_class, on_quick_connect);
  gtk_widget_class_bind_template_callback (widget_class, on_broadcast_toggled);
  gtk_widget_class_bind_template_callback (widget_class, on_pages_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_close_page);
  gtk_widget_class_bind_template_callback (widget_class, on_create_window);

  gtk_widget_class_install_action (widget_class, "win.add-host", NULL, add_host_action);
  gtk_widget_class_install_action (widget_class, "win.edit-selected", NULL, edit_selected_action);
  gtk_widget_class_install_action (widget_class, "win.duplicate-selected", NULL, duplicate_selected_action);
  gtk_widget_class_install_action (widget_class, "win.delete-selected", NULL, delete_selected_action);
  gtk_widget_class_install_action (widget_class, "win.security-selected", NULL, security_selected_action);
  gtk_widget_class_install_action (widget_class, "win.copy", NULL, tab_action);
  gtk_widget_class_install_action (widget_class, "win.connect-selected", NULL, connect_selected_action);
  gtk_widget_class_install_action (widget_class, "win.select-host", "s", select_host_action);
  gtk_widget_class_install_action (widget_class, "win.quick-connect", NULL, quick_connect_action);
  gtk_widget_class_install_action (widget_class, "win.close-tab", NULL, tab_action);
  gtk_widget_class_install_action (widget_class, "win.next-tab", NULL, tab_action);
  gtk_widget_class_install_action (widget_class, "win.previous-tab", NULL, tab_action);
  gtk_widget_class_install_action (widget_class, "win.find", NULL, tab_action);
  gtk_widget_class_install_action (widget_class, "win.save-transcript", NULL, tab_action);
  castellan_window_class_init_extras (widget_class);
  castellan_window_chrome_class_init (widget_class);
}

static void
castellan_window_init (CastellanWindow *self)
{
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();

  gtk_widget_init_template (GTK_WIDGET (self));
  g_signal_connect (factory, "setup", G_CALLBACK (setup_row), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_row), NULL);
  g_signal_connect (factory, "unbind", G_CALLBACK (unbind_row), NULL);
  gtk_list_view_set_factory (self->host_list, factory);
  g_object_unref (factory);
}

CastellanWindow *
castellan_window_new (CastellanApplication *application)
{
  CastellanWindow *self = g_object_new (CASTELLAN_TYPE_WINDOW, "application", application, NULL);
  GListModel *hosts;
  GtkFilterListModel *filtered;
  GtkSortListModel *sorted;
  const GError *load_error;

  self->app = application;
  hosts = castellan_inventory_get_hosts (inventory (self));
  /* Sorted once, then filtered: a keystroke in the search never re-sorts,
   * and the filter works in chunks, so thousands of hosts never stall. */
  self->filter = gtk_custom_filter_new (host_matches, self, NULL);
  sorted = gtk_sort_list_model_new (g_object_ref (hosts),
                                    GTK_SORTER (gtk_custom_sorter_new (host_order, NULL, NULL)));
  filtered = gtk_filter_list_model_new (G_LIST_MODEL (sorted), GTK_FILTER (self->filter));
  gtk_filter_list_model_set_incremental (filtered, TRUE);
  self->selection = gtk_multi_selection_new (G_LIST_MODEL (filtered));
  gtk_list_view_set_model (self->host_list, GTK_SELECTION_MODEL (self->selection));
  g_signal_connect_object (hosts, "items-changed", G_CALLBACK (update_sidebar), self, G_CONNECT_SWAPPED);
  update_sidebar (self);
  /* Typing in the host list searches it. */
  gtk_search_entry_set_key_capture_widget (self->search_entry, GTK_WIDGET (self->host_list));
  if (g_list_model_get_n_items (hosts) > 0)
    gtk_window_set_focus (GTK_WINDOW (self), GTK_WIDGET (self->host_list));
  castellan_window_setup_extras (self);
  castellan_window_chrome_setup (self);
  castellan_bench_watch_window (GTK_WIDGET (self));

  load_error = castellan_application_get_load_error (application);
  if (load_error != NULL)
    {
      GtkWidget *dialog = adw_message_dialog_new (GTK_WINDOW (self), _("Host Inventory Damaged"),
                                                  load_error->message);

      adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "ok", _("_OK"));
      gtk_window_present (GTK_WINDOW (dialog));
    }
  return self;
}
