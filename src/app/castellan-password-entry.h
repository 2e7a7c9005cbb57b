/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

GtkWidget *castellan_password_entry_new (const char *accessible_label);

G_END_DECLS
