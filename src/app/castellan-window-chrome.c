/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "castellan-host-row.h"
#include "castellan-security.h"
#include "castellan-window-private.h"

static CastellanConsole *
console_of (AdwTabPage *page)
{
  GtkWidget *child = page ? adw_tab_page_get_child (page) : NULL;

  return child && CASTELLAN_IS_CONSOLE (child) ? CASTELLAN_CONSOLE (child) : NULL;
}

/* ---- tabs ------------------------------------------------------------------ */

/* A tab shows an icon only when its console is less than verified, and
 * asks for attention when it was downgraded, lost or failed. */
void
castellan_window_update_tab (CastellanWindow  *self,
                             CastellanConsole *console)
{
  AdwTabPage *page = adw_tab_view_get_page (self->tab_view, GTK_WIDGET (console));
  const CastellanVerdict *verdict = castellan_console_get_verdict (console);
  const char *failure = castellan_console_get_failure (console);
  gboolean connecting = castellan_console_is_connecting (console);
  CastellanLevel level = verdict ? castellan_verdict_get_level (verdict) : CASTELLAN_LEVEL_VERIFIED;
  g_autoptr(GIcon) icon = NULL;
  g_autofree char *tooltip = NULL;

  if (page == NULL)
    return;
  if (failure != NULL)
    {
      icon = g_themed_icon_new ("dialog-error-symbolic");
      tooltip = g_strdup (failure);
    }
  else if (verdict != NULL && level < CASTELLAN_LEVEL_VERIFIED)
    {
      icon = g_themed_icon_new (castellan_security_icon_name (castellan_verdict_level_id (level)));
      tooltip = castellan_security_describe (verdict);
    }
  adw_tab_page_set_indicator_icon (page, icon);
  adw_tab_page_set_indicator_tooltip (page, tooltip ? tooltip : "");
  adw_tab_page_set_loading (page, connecting);
  adw_tab_page_set_needs_attention (page, failure != NULL || castellan_console_is_downgraded (console) ||
                                          (!connecting && !castellan_console_is_open (console)));
}

/* ---- banners --------------------------------------------------------------- */

/* Broadcast on: one line says how many consoles the typing reaches, and
 * how many were left out because their server is not verified. */
void
castellan_window_update_broadcast (CastellanWindow *self)
{
  gboolean active;
  guint n, reached = 0, left_out = 0;
  g_autofree char *title = NULL;

  /* Pages leave while the window is torn down, after its widgets. */
  if (self->broadcast_button == NULL || self->tab_view == NULL || self->broadcast_banner == NULL)
    return;
  active = gtk_toggle_button_get_active (self->broadcast_button);
  n = adw_tab_view_get_n_pages (self->tab_view);

  for (guint i = 0; i < n; i++)
    {
      CastellanConsole *console = console_of (adw_tab_view_get_nth_page (self->tab_view, i));

      if (console == NULL)
        continue;
      castellan_console_set_broadcast_active (console, active);
      if (castellan_console_get_broadcast (console))
        reached++;
      else if (castellan_console_is_open (console))
        left_out++;
    }
  if (!active)
    {
      castellan_banner_hide (self->broadcast_banner);
      return;
    }
  if (left_out > 0)
    title = g_strdup_printf (ngettext ("Typing goes to %u console; %u not verified left out",
                                       "Typing goes to %u consoles; %u not verified left out", reached),
                             reached, left_out);
  else
    title = g_strdup_printf (ngettext ("Typing goes to %u console", "Typing goes to %u consoles", reached),
                             reached);
  castellan_banner_show (self->broadcast_banner, title, _("_Stop"));
}

static void
on_broadcast_stop (CastellanWindow *self)
{
  gtk_toggle_button_set_active (self->broadcast_button, FALSE);
}

/* An entry of "*" lets every host sign in unverified: said while it is
 * there, whoever wrote it. */
static void
check_trusted_hosts (CastellanWindow *self)
{
  g_autofree char *path = castellan_trusted_hosts_default_path ();
  g_autoptr(CastellanTrustedHosts) trusted = castellan_trusted_hosts_load (path, NULL);
  guint n = trusted ? castellan_trusted_hosts_get_n_entries (trusted) : 0;
  gboolean every = FALSE;

  for (guint i = 0; i < n && !every; i++)
    every = g_strcmp0 (castellan_trusted_hosts_get_entry (trusted, i), "*") == 0;
  if (every)
    castellan_banner_show (self->trust_banner, _("TrustedHosts lets every host (*) sign in unverified"),
                           _("_Review…"));
  else
    castellan_banner_hide (self->trust_banner);
}

static void
on_trust_review (CastellanWindow *self)
{
  gtk_widget_activate_action (GTK_WIDGET (self), "win.trusted-hosts", NULL);
}

/* ---- the empty window ------------------------------------------------------- */

/* One status page: with no hosts it offers to add one; with hosts, it says
 * how to open a console. */
void
castellan_window_update_empty (CastellanWindow *self)
{
  CastellanInventory *inventory = castellan_application_get_inventory (self->app);
  gboolean none = g_list_model_get_n_items (castellan_inventory_get_hosts (inventory)) == 0;

  adw_status_page_set_title (self->empty_page, none ? _("No Hosts") : _("No Console Open"));
  adw_status_page_set_description (self->empty_page,
                                   none ? _("Add the Windows hosts you manage, or import them from a CSV file in the main menu. An address typed above connects at once.")
                                        : _("Double-click a host, or type an address above. Castellan shows for every connection how the host’s identity is proven and how the traffic is encrypted."));
  gtk_widget_set_visible (self->empty_add_button, none);
}

/* ---- the layout --------------------------------------------------------------- */

/* The library's split view where it has one (1.4), the leaflet of
 * libadwaita 1.2 otherwise; both fold below the same width. */
#define NARROW_WIDTH 620

G_GNUC_BEGIN_IGNORE_DEPRECATIONS

gboolean
castellan_window_is_narrow (CastellanWindow *self)
{
#if ADW_CHECK_VERSION (1, 4, 0)
  if (self->split_view != NULL)
    return adw_navigation_split_view_get_collapsed (ADW_NAVIGATION_SPLIT_VIEW (self->split_view));
#endif
  return self->leaflet != NULL && adw_leaflet_get_folded (self->leaflet);
}

void
castellan_window_show_content (CastellanWindow *self)
{
#if ADW_CHECK_VERSION (1, 4, 0)
  if (self->split_view != NULL)
    {
      adw_navigation_split_view_set_show_content (ADW_NAVIGATION_SPLIT_VIEW (self->split_view), TRUE);
      return;
    }
#endif
  adw_leaflet_set_visible_child_name (self->leaflet, "content");
}

static void
on_back (CastellanWindow *self)
{
  adw_leaflet_set_visible_child_name (self->leaflet, "sidebar");
}

/* Folded, the list and the consoles take turns; the window's buttons
 * stay on whichever is shown, and the ticket shows its icon only. */
static void
on_folded (CastellanWindow *self)
{
  gboolean folded = castellan_window_is_narrow (self);

  /* The split view brings its own back button. */
  gtk_widget_set_visible (GTK_WIDGET (self->back_button), folded && self->split_view == NULL);
  adw_header_bar_set_show_end_title_buttons (self->sidebar_header, folded);
  gtk_widget_set_visible (GTK_WIDGET (self->ticket_label),
                          !folded && *gtk_label_get_label (self->ticket_label) != '\0');
}

#if ADW_CHECK_VERSION (1, 4, 0)
/* The leaflet's two pages move into a navigation split view that a
 * breakpoint collapses. */
static void
use_split_view (CastellanWindow *self)
{
  AdwNavigationSplitView *split = ADW_NAVIGATION_SPLIT_VIEW (adw_navigation_split_view_new ());
  g_autofree char *condition = g_strdup_printf ("max-width: %dpx", NARROW_WIDTH);
  AdwBreakpoint *narrow = adw_breakpoint_new (adw_breakpoint_condition_parse (condition));
  GtkWidget *sidebar = g_object_ref (adw_leaflet_get_child_by_name (self->leaflet, "sidebar"));
  GtkWidget *content = g_object_ref (adw_leaflet_get_child_by_name (self->leaflet, "content"));
  GValue collapsed = G_VALUE_INIT;

  self->old_layout = g_object_ref (GTK_WIDGET (self->leaflet));
  adw_leaflet_remove (self->leaflet, sidebar);
  adw_leaflet_remove (self->leaflet, content);
  adw_navigation_split_view_set_min_sidebar_width (split, 260);
  adw_navigation_split_view_set_sidebar (split, adw_navigation_page_new (sidebar, _("Hosts")));
  adw_navigation_split_view_set_content (split, adw_navigation_page_new (content, _("Consoles")));
  g_object_unref (sidebar);
  g_object_unref (content);
  adw_toast_overlay_set_child (self->toasts, GTK_WIDGET (split));
  self->split_view = GTK_WIDGET (split);
  g_value_init (&collapsed, G_TYPE_BOOLEAN);
  g_value_set_boolean (&collapsed, TRUE);
  adw_breakpoint_add_setter (narrow, G_OBJECT (split), "collapsed", &collapsed);
  adw_application_window_add_breakpoint (ADW_APPLICATION_WINDOW (self), narrow);
  /* With breakpoints the window's smallest size is said, not measured. */
  gtk_widget_set_size_request (GTK_WIDGET (self), 360, 360);
  g_signal_connect_object (split, "notify::collapsed", G_CALLBACK (on_folded), self, G_CONNECT_SWAPPED);
}
#endif

G_GNUC_END_IGNORE_DEPRECATIONS

/* ---- the host list's keyboard ------------------------------------------------ */

static CastellanHostRow *
focused_row (CastellanWindow *self)
{
  GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (self));

  for (; focus != NULL && focus != GTK_WIDGET (self->host_list); focus = gtk_widget_get_parent (focus))
    {
      GtkWidget *child = gtk_widget_get_first_child (focus);

      if (CASTELLAN_IS_HOST_ROW (focus))
        return CASTELLAN_HOST_ROW (focus);
      if (child != NULL && CASTELLAN_IS_HOST_ROW (child))
        return CASTELLAN_HOST_ROW (child);
    }
  return NULL;
}

static gboolean
on_list_key (GtkEventControllerKey *controller,
             guint                  keyval,
             guint                  keycode,
             GdkModifierType        state,
             CastellanWindow       *self)
{
  CastellanHostRow *row;

  state &= gtk_accelerator_get_default_mod_mask ();
  if (keyval == GDK_KEY_Menu || (keyval == GDK_KEY_F10 && state == GDK_SHIFT_MASK))
    {
      row = focused_row (self);
      if (row != NULL)
        castellan_host_row_popup_menu (row);
      return row != NULL;
    }
  if ((keyval == GDK_KEY_Delete || keyval == GDK_KEY_KP_Delete) && state == 0)
    return gtk_widget_activate_action (GTK_WIDGET (self), "win.delete-selected", NULL);
  if ((keyval == GDK_KEY_e || keyval == GDK_KEY_E) && state == GDK_CONTROL_MASK)
    return gtk_widget_activate_action (GTK_WIDGET (self), "win.edit-selected", NULL);
  return FALSE;
}

static void
on_selection_changed (CastellanWindow *self)
{
  g_autoptr(GtkBitset) set = gtk_selection_model_get_selection (GTK_SELECTION_MODEL (self->selection));

  gtk_action_bar_set_revealed (self->action_bar, !gtk_bitset_is_empty (set));
}

/* ---- closing what still runs -------------------------------------------------- */

static void
close_page_answered (AdwMessageDialog *dialog,
                     const char       *response,
                     CastellanWindow  *self)
{
  AdwTabPage *page = g_object_get_data (G_OBJECT (dialog), "page");
  gboolean close = g_str_equal (response, "close");
  CastellanConsole *console = console_of (page);

  if (close && console != NULL)
    castellan_console_close (console);
  adw_tab_view_close_page_finish (self->tab_view, page, close);
}

/* Closing a console whose command still runs asks first: the command
 * stops and the scrollback is lost. */
void
castellan_window_close_page (CastellanWindow *self,
                             AdwTabPage      *page)
{
  CastellanConsole *console = console_of (page);
  g_autofree char *name = NULL;
  g_autofree char *body = NULL;
  GtkWidget *dialog;

  if (console == NULL || !castellan_console_is_busy (console))
    {
      if (console != NULL)
        castellan_console_close (console);
      adw_tab_view_close_page_finish (self->tab_view, page, TRUE);
      return;
    }
  name = castellan_console_dup_title (console);
  body = g_strdup_printf (_("A command is still running on %s. Closing the console stops it, and its output is lost."),
                          name);
  dialog = adw_message_dialog_new (GTK_WINDOW (self), _("Close Console?"), body);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog), "cancel", _("_Cancel"),
                                    "close", _("C_lose Console"), NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "close", ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_object_set_data_full (G_OBJECT (dialog), "page", g_object_ref (page), g_object_unref);
  g_signal_connect_object (dialog, "response", G_CALLBACK (close_page_answered), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static guint
count_busy (CastellanWindow *self)
{
  guint n = adw_tab_view_get_n_pages (self->tab_view);
  guint busy = 0;

  for (guint i = 0; i < n; i++)
    {
      CastellanConsole *console = console_of (adw_tab_view_get_nth_page (self->tab_view, i));

      if (console != NULL && castellan_console_is_busy (console))
        busy++;
    }
  return busy;
}

static void
close_window_answered (AdwMessageDialog *dialog,
                       const char       *response,
                       CastellanWindow  *self)
{
  gboolean quit = g_object_get_data (G_OBJECT (dialog), "quit") != NULL;
  GApplication *app = G_APPLICATION (self->app);

  if (!g_str_equal (response, "close"))
    return;
  self->close_confirmed = TRUE;
  gtk_window_destroy (GTK_WINDOW (self));
  if (quit)
    g_application_quit (app);
}

static void
ask_before_closing (CastellanWindow *self,
                    guint            busy,
                    gboolean         quit)
{
  g_autofree char *body = g_strdup_printf (ngettext ("A command is still running in %u console. Closing the window stops it, and its output is lost.",
                                                     "Commands are still running in %u consoles. Closing the window stops them, and their output is lost.",
                                                     busy), busy);
  GtkWidget *dialog = adw_message_dialog_new (GTK_WINDOW (self), quit ? _("Quit Castellan?") : _("Close Window?"), body);

  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog), "cancel", _("_Cancel"),
                                    "close", quit ? _("_Quit") : _("C_lose Window"), NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "close", ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  if (quit)
    g_object_set_data (G_OBJECT (dialog), "quit", GINT_TO_POINTER (1));
  g_signal_connect_object (dialog, "response", G_CALLBACK (close_window_answered), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static gboolean
on_close_request (CastellanWindow *self)
{
  guint busy = self->close_confirmed ? 0 : count_busy (self);

  if (busy == 0)
    return FALSE;
  ask_before_closing (self, busy, FALSE);
  return TRUE;
}

/* Quitting asks in the first window whose commands still run; it quits
 * from there once the user agrees. */
gboolean
castellan_window_ask_before_quit (CastellanWindow *self)
{
  guint busy = count_busy (self);

  if (busy == 0)
    return FALSE;
  gtk_window_present (GTK_WINDOW (self));
  ask_before_closing (self, busy, TRUE);
  return TRUE;
}

/* ---- setup --------------------------------------------------------------------- */

void
castellan_window_chrome_class_init (GtkWidgetClass *widget_class)
{
  gtk_widget_class_bind_template_child (widget_class, CastellanWindow, ticket_icon);
  gtk_widget_class_bind_template_child (widget_class, CastellanWindow, ticket_label);
  gtk_widget_class_bind_template_child (widget_class, CastellanWindow, leaflet);
  gtk_widget_class_bind_template_child (widget_class, CastellanWindow, sidebar_header);
  gtk_widget_class_bind_template_child (widget_class, CastellanWindow, action_bar);
  gtk_widget_class_bind_template_child (widget_class, CastellanWindow, content_box);
  gtk_widget_class_bind_template_child (widget_class, CastellanWindow, content_header);
  gtk_widget_class_bind_template_child (widget_class, CastellanWindow, back_button);
  gtk_widget_class_bind_template_child (widget_class, CastellanWindow, broadcast_banner);
  gtk_widget_class_bind_template_child (widget_class, CastellanWindow, trust_banner);
  gtk_widget_class_bind_template_child (widget_class, CastellanWindow, tab_bar);
  gtk_widget_class_bind_template_child (widget_class, CastellanWindow, empty_page);
  gtk_widget_class_bind_template_child (widget_class, CastellanWindow, empty_add_button);
  gtk_widget_class_bind_template_callback (widget_class, on_back);
  gtk_widget_class_bind_template_callback (widget_class, on_broadcast_stop);
  gtk_widget_class_bind_template_callback (widget_class, on_trust_review);
  g_type_ensure (CASTELLAN_TYPE_BANNER);
}

#if ADW_CHECK_VERSION (1, 3, 0)
G_GNUC_BEGIN_IGNORE_DEPRECATIONS
static void
open_overview (AdwTabOverview *overview)
{
  adw_tab_overview_set_open (overview, TRUE);
}

/* Many consoles at a glance, where the library has the overview. */
static void
add_tab_overview (CastellanWindow *self)
{
  AdwTabOverview *overview = ADW_TAB_OVERVIEW (adw_tab_overview_new ());
  AdwTabButton *button = ADW_TAB_BUTTON (adw_tab_button_new ());
  GtkWidget *stack = g_object_ref (GTK_WIDGET (self->main_stack));

  adw_tab_overview_set_view (overview, self->tab_view);
  gtk_box_remove (self->content_box, stack);
  adw_tab_overview_set_child (overview, stack);
  g_object_unref (stack);
  gtk_widget_set_vexpand (GTK_WIDGET (overview), TRUE);
  gtk_box_append (self->content_box, GTK_WIDGET (overview));
  adw_tab_button_set_view (button, self->tab_view);
  g_signal_connect_swapped (button, "clicked", G_CALLBACK (open_overview), overview);
  adw_header_bar_pack_end (self->content_header, GTK_WIDGET (button));
}
G_GNUC_END_IGNORE_DEPRECATIONS
#endif

void
castellan_window_chrome_setup (CastellanWindow *self)
{
  GtkEventController *keys = gtk_event_controller_key_new ();
  g_autofree char *path = castellan_trusted_hosts_default_path ();
  g_autoptr(GFile) file = g_file_new_for_path (path);

#if ADW_CHECK_VERSION (1, 4, 0)
  use_split_view (self);
#else
  g_signal_connect_object (self->leaflet, "notify::folded", G_CALLBACK (on_folded), self, G_CONNECT_SWAPPED);
#endif
  on_folded (self);
  gtk_event_controller_set_propagation_phase (keys, GTK_PHASE_CAPTURE);
  g_signal_connect (keys, "key-pressed", G_CALLBACK (on_list_key), self);
  gtk_widget_add_controller (GTK_WIDGET (self->host_list), keys);
  g_signal_connect_object (self->selection, "selection-changed", G_CALLBACK (on_selection_changed), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_swapped (self, "close-request", G_CALLBACK (on_close_request), self);
  self->trust_monitor = g_file_monitor_file (file, G_FILE_MONITOR_NONE, NULL, NULL);
  if (self->trust_monitor != NULL)
    g_signal_connect_object (self->trust_monitor, "changed", G_CALLBACK (check_trusted_hosts), self,
                             G_CONNECT_SWAPPED);
  check_trusted_hosts (self);
  castellan_window_update_empty (self);
#if ADW_CHECK_VERSION (1, 3, 0)
  add_tab_overview (self);
#endif
}

void
castellan_window_chrome_teardown (CastellanWindow *self)
{
  if (self->trust_monitor != NULL)
    g_file_monitor_cancel (self->trust_monitor);
  g_clear_object (&self->trust_monitor);
  g_clear_object (&self->old_layout);
}
