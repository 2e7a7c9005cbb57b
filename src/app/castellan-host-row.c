/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "castellan-connect-flow.h"
#include "castellan-host-row.h"
#include "castellan-security.h"

/* A host in the sidebar: its last security level (icon shape and words
 * in the accessible description), name, address and group. */
struct _CastellanHostRow
{
  GtkWidget parent_instance;

  /* Template widgets */
  GtkImage *level_icon;
  GtkLabel *name_label;
  GtkLabel *detail_label;
  GtkLabel *expected_label;
  GMenuModel *host_menu;
  GtkWidget *context_menu;

  /* Owned references */
  CastellanHost *host;
  gulong notify_handler;
};

G_DEFINE_FINAL_TYPE (CastellanHostRow, castellan_host_row, GTK_TYPE_WIDGET)

static void
update (CastellanHostRow *self)
{
  CastellanHost *host = self->host;
  g_autofree char *name = NULL;
  g_autofree char *detail = NULL;
  g_autofree char *description = NULL;
  g_autofree char *encryption = NULL;
  const char *level;
  const char *problem;
  const char *group;

  if (host == NULL)
    return;
  name = castellan_host_dup_display_name (host);
  group = castellan_host_get_group (host);
  level = castellan_host_get_last_level (host);
  problem = castellan_host_get_last_problem (host);
  /* The level in words too: shape and words, never colour alone; a
   * problem of the last attempt comes first. */
  detail = g_strdup_printf ("%s%s%s%s%s%s", castellan_host_get_address (host) ?: "",
                            castellan_host_get_https (host) ? " · HTTPS" : "",
                            group && *group ? " · " : "", group && *group ? group : "",
                            problem || level ? " · " : "",
                            problem ? problem : level ? castellan_security_title (level) : "");
  g_object_get (host, "last-encryption", &encryption, NULL);
  gtk_label_set_label (self->name_label, name);
  gtk_label_set_label (self->detail_label, detail);
  gtk_image_set_from_icon_name (self->level_icon, castellan_security_icon_name (level));
  castellan_security_apply_style (GTK_WIDGET (self->level_icon), castellan_security_style (level));
  description = g_strdup_printf ("%s%s%s%s%s", castellan_security_title (level),
                                 encryption ? ", " : "", encryption ? encryption : "",
                                 problem ? "; last attempt: " : "", problem ? problem : "");
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->level_icon), description);
  /* Never connected: what the policy says it will be. */
  if (level == NULL)
    {
      g_autoptr(CastellanExpectation) expectation = castellan_connect_flow_expect (host);
      g_autofree char *summary = expectation ? castellan_expectation_summary (expectation) : NULL;
      g_autofree char *expected = summary ? g_strdup_printf (_("Expected: %s"), summary) : NULL;
      g_autofree char *full = NULL;

      gtk_label_set_label (self->expected_label, expected ? expected : "");
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->expected_label), expected);
      if (expected != NULL)
        {
          full = g_strdup_printf ("%s; %s", description, expected);
          g_free (description);
          description = g_steal_pointer (&full);
        }
    }
  gtk_widget_set_visible (GTK_WIDGET (self->expected_label), level == NULL);
  castellan_security_set_accessible (GTK_WIDGET (self), name, description);
}

void
castellan_host_row_set_host (CastellanHostRow *self,
                             CastellanHost    *host)
{
  if (self->host != NULL)
    g_clear_signal_handler (&self->notify_handler, self->host);
  g_set_object (&self->host, host);
  if (host != NULL)
    self->notify_handler = g_signal_connect_object (host, "notify", G_CALLBACK (update), self,
                                                    G_CONNECT_SWAPPED);
  update (self);
}

CastellanHost *
castellan_host_row_get_host (CastellanHostRow *self)
{
  return self->host;
}

static void
on_secondary_click (GtkGestureClick  *gesture,
                    int               n_press,
                    double            x,
                    double            y,
                    CastellanHostRow *self)
{
  GdkRectangle rect = { (int) x, (int) y, 1, 1 };

  if (self->host == NULL)
    return;
  gtk_widget_activate_action (GTK_WIDGET (self), "win.select-host", "s",
                              castellan_host_get_id (self->host));
  gtk_popover_set_pointing_to (GTK_POPOVER (self->context_menu), &rect);
  gtk_popover_popup (GTK_POPOVER (self->context_menu));
}

/* The context menu from the keyboard (Menu, Shift+F10), under the row. */
void
castellan_host_row_popup_menu (CastellanHostRow *self)
{
  GdkRectangle rect = { gtk_widget_get_width (GTK_WIDGET (self)) / 2,
                        gtk_widget_get_height (GTK_WIDGET (self)), 1, 1 };

  if (self->host == NULL)
    return;
  gtk_widget_activate_action (GTK_WIDGET (self), "win.select-host", "s",
                              castellan_host_get_id (self->host));
  gtk_popover_set_pointing_to (GTK_POPOVER (self->context_menu), &rect);
  gtk_popover_popup (GTK_POPOVER (self->context_menu));
}

static void
castellan_host_row_dispose (GObject *object)
{
  CastellanHostRow *self = CASTELLAN_HOST_ROW (object);
  GtkWidget *child;

  if (self->host != NULL)
    g_clear_signal_handler (&self->notify_handler, self->host);
  g_clear_object (&self->host);
  g_clear_pointer (&self->context_menu, gtk_widget_unparent);
  gtk_widget_dispose_template (GTK_WIDGET (self), CASTELLAN_TYPE_HOST_ROW);
  /* The template's children without an ID, too. */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);
  G_OBJECT_CLASS (castellan_host_row_parent_class)->dispose (object);
}

static void
castellan_host_row_class_init (CastellanHostRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = castellan_host_row_dispose;
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/castellan/Castellan/ui/castellan-host-row.ui");
  gtk_widget_class_bind_template_child (widget_class, CastellanHostRow, level_icon);
  gtk_widget_class_bind_template_child (widget_class, CastellanHostRow, name_label);
  gtk_widget_class_bind_template_child (widget_class, CastellanHostRow, detail_label);
  gtk_widget_class_bind_template_child (widget_class, CastellanHostRow, expected_label);
  gtk_widget_class_bind_template_child (widget_class, CastellanHostRow, host_menu);
  gtk_widget_class_bind_template_callback (widget_class, on_secondary_click);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
}

static void
castellan_host_row_init (CastellanHostRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->context_menu = gtk_popover_menu_new_from_model (self->host_menu);
  gtk_popover_set_has_arrow (GTK_POPOVER (self->context_menu), FALSE);
  gtk_widget_set_parent (self->context_menu, GTK_WIDGET (self));
}

GtkWidget *
castellan_host_row_new (void)
{
  return g_object_new (CASTELLAN_TYPE_HOST_ROW, NULL);
}
