/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "castellan-window.h"

struct _CastellanWindow
{
  AdwApplicationWindow parent_instance;

  /* Template widgets */
  AdwStatusPage *empty_page;
};

G_DEFINE_FINAL_TYPE (CastellanWindow, castellan_window, ADW_TYPE_APPLICATION_WINDOW)

static void
castellan_window_class_init (CastellanWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/castellan/Castellan/ui/castellan-window.ui");
  gtk_widget_class_bind_template_child (widget_class, CastellanWindow, empty_page);
}

static void
castellan_window_init (CastellanWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

CastellanWindow *
castellan_window_new (CastellanApplication *application)
{
  return g_object_new (CASTELLAN_TYPE_WINDOW, "application", application, NULL);
}
