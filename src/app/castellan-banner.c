/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <adwaita.h>

#include "castellan-banner.h"

struct _CastellanBanner
{
  GtkWidget parent_instance;

  GtkWidget *child;
#if !ADW_CHECK_VERSION (1, 3, 0)
  GtkRevealer *revealer;
  GtkLabel *label;
  GtkButton *button;
#endif
  char *title;
};

G_DEFINE_FINAL_TYPE (CastellanBanner, castellan_banner, GTK_TYPE_WIDGET)

enum { SIGNAL_BUTTON_CLICKED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void
on_button_clicked (CastellanBanner *self)
{
  g_signal_emit (self, signals[SIGNAL_BUTTON_CLICKED], 0);
}

/* AdwBanner is newer than the API floor; it is used only where the
 * library that builds the app has it. */
G_GNUC_BEGIN_IGNORE_DEPRECATIONS

void
castellan_banner_show (CastellanBanner *self,
                       const char      *title,
                       const char      *button_label)
{
  g_return_if_fail (CASTELLAN_IS_BANNER (self));

  g_free (self->title);
  self->title = g_strdup (title);
  gtk_widget_set_visible (GTK_WIDGET (self), TRUE);
#if ADW_CHECK_VERSION (1, 3, 0)
  adw_banner_set_title (ADW_BANNER (self->child), title);
  adw_banner_set_button_label (ADW_BANNER (self->child), button_label);
  adw_banner_set_revealed (ADW_BANNER (self->child), TRUE);
#else
  gtk_label_set_label (self->label, title);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->label), title);
  gtk_button_set_label (self->button, button_label);
  gtk_widget_set_visible (GTK_WIDGET (self->button), button_label != NULL);
  gtk_revealer_set_reveal_child (self->revealer, TRUE);
#endif
}

void
castellan_banner_hide (CastellanBanner *self)
{
  g_return_if_fail (CASTELLAN_IS_BANNER (self));

  /* Gone at once, for assistive tools as much as for the eye. */
  gtk_widget_set_visible (GTK_WIDGET (self), FALSE);
#if ADW_CHECK_VERSION (1, 3, 0)
  adw_banner_set_revealed (ADW_BANNER (self->child), FALSE);
#else
  gtk_revealer_set_reveal_child (self->revealer, FALSE);
#endif
}

gboolean
castellan_banner_get_revealed (CastellanBanner *self)
{
#if ADW_CHECK_VERSION (1, 3, 0)
  return adw_banner_get_revealed (ADW_BANNER (self->child));
#else
  return gtk_revealer_get_reveal_child (self->revealer);
#endif
}

static void
castellan_banner_init (CastellanBanner *self)
{
#if ADW_CHECK_VERSION (1, 3, 0)
  self->child = adw_banner_new ("");
  g_signal_connect_swapped (self->child, "button-clicked", G_CALLBACK (on_button_clicked), self);
#else
  GtkWidget *bar = gtk_info_bar_new ();
  GtkWidget *button = gtk_button_new ();

  self->label = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_ellipsize (self->label, PANGO_ELLIPSIZE_END);
  gtk_label_set_xalign (self->label, 0);
  gtk_widget_set_hexpand (GTK_WIDGET (self->label), TRUE);
  gtk_info_bar_set_message_type (GTK_INFO_BAR (bar), GTK_MESSAGE_WARNING);
  gtk_info_bar_add_child (GTK_INFO_BAR (bar), GTK_WIDGET (self->label));
  gtk_button_set_use_underline (GTK_BUTTON (button), TRUE);
  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  gtk_info_bar_add_action_widget (GTK_INFO_BAR (bar), button, GTK_RESPONSE_ACCEPT);
  g_signal_connect_swapped (button, "clicked", G_CALLBACK (on_button_clicked), self);
  self->button = GTK_BUTTON (button);
  self->revealer = GTK_REVEALER (gtk_revealer_new ());
  gtk_revealer_set_child (self->revealer, bar);
  self->child = GTK_WIDGET (self->revealer);
#endif
  gtk_widget_set_parent (self->child, GTK_WIDGET (self));
  gtk_widget_set_visible (GTK_WIDGET (self), FALSE);
}

G_GNUC_END_IGNORE_DEPRECATIONS

const char *
castellan_banner_get_title (CastellanBanner *self)
{
  return self->title;
}

static void
castellan_banner_dispose (GObject *object)
{
  CastellanBanner *self = CASTELLAN_BANNER (object);

  g_clear_pointer (&self->child, gtk_widget_unparent);
  G_OBJECT_CLASS (castellan_banner_parent_class)->dispose (object);
}

static void
castellan_banner_finalize (GObject *object)
{
  g_free (CASTELLAN_BANNER (object)->title);
  G_OBJECT_CLASS (castellan_banner_parent_class)->finalize (object);
}

static void
castellan_banner_class_init (CastellanBannerClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = castellan_banner_dispose;
  G_OBJECT_CLASS (klass)->finalize = castellan_banner_finalize;
  gtk_widget_class_set_layout_manager_type (GTK_WIDGET_CLASS (klass), GTK_TYPE_BIN_LAYOUT);
  signals[SIGNAL_BUTTON_CLICKED] = g_signal_new ("button-clicked", G_TYPE_FROM_CLASS (klass),
                                                 G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                 G_TYPE_NONE, 0);
}

GtkWidget *
castellan_banner_new (void)
{
  return g_object_new (CASTELLAN_TYPE_BANNER, NULL);
}
