/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "castellan-password-entry.h"

/* A password field: a GtkEntry over GTK's password buffer (kept out of
 * swap where the platform allows, and wiped when freed), hidden, with a
 * button to show it. Not GtkPasswordEntry: GTK 4.8's leaves its handler
 * of the keyboard's Caps Lock state connected after the entry is freed,
 * so a key pressed after a password dialog closed reaches freed memory. */

static void
peek_pressed (GtkEntry             *entry,
              GtkEntryIconPosition  position,
              gpointer              user_data)
{
  gboolean shown = !gtk_entry_get_visibility (entry);

  gtk_entry_set_visibility (entry, shown);
  gtk_entry_set_icon_from_icon_name (entry, GTK_ENTRY_ICON_SECONDARY,
                                     shown ? "view-conceal-symbolic" : "view-reveal-symbolic");
  gtk_entry_set_icon_tooltip_text (entry, GTK_ENTRY_ICON_SECONDARY,
                                   shown ? _("Hide Text") : _("Show Text"));
}

GtkWidget *
castellan_password_entry_new (const char *accessible_label)
{
  g_autoptr(GtkEntryBuffer) buffer = gtk_password_entry_buffer_new ();
  GtkWidget *entry = gtk_entry_new_with_buffer (buffer);

  gtk_entry_set_visibility (GTK_ENTRY (entry), FALSE);
  gtk_entry_set_input_purpose (GTK_ENTRY (entry), GTK_INPUT_PURPOSE_PASSWORD);
  gtk_entry_set_activates_default (GTK_ENTRY (entry), TRUE);
  gtk_entry_set_icon_from_icon_name (GTK_ENTRY (entry), GTK_ENTRY_ICON_SECONDARY,
                                     "view-reveal-symbolic");
  gtk_entry_set_icon_tooltip_text (GTK_ENTRY (entry), GTK_ENTRY_ICON_SECONDARY, _("Show Text"));
  g_signal_connect (entry, "icon-press", G_CALLBACK (peek_pressed), NULL);
  gtk_accessible_update_property (GTK_ACCESSIBLE (entry), GTK_ACCESSIBLE_PROPERTY_LABEL, accessible_label, -1);
  return entry;
}
