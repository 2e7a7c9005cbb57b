/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>

#include "castellan-security.h"

typedef struct
{
  const char *id;
  const char *icon;
  const char *style;
  const char *title;
} LevelInfo;

/* Shapes that differ and colours that agree with them: a shield with a
 * tick, a shield with a dot, a shield with "!", an open padlock; "never
 * connected" is a dim dashed circle, which promises nothing. The style
 * classes exist in every libadwaita from 1.2 on. */
static const LevelInfo levels[] = {
  { "verified", "castellan-level-verified-symbolic", "success", N_("Verified and encrypted") },
  { "caveats", "castellan-level-caveats-symbolic", "warning", N_("Verified, with caveats") },
  { "unverified", "castellan-level-unverified-symbolic", "warning", N_("Server not verified") },
  { "unprotected", "castellan-level-unprotected-symbolic", "error", N_("Not encrypted") },
};

static const char *const level_styles[] = { "success", "warning", "error", "dim-label", NULL };

static const LevelInfo *
find_level (const char *id)
{
  for (guint i = 0; i < G_N_ELEMENTS (levels); i++)
    if (g_strcmp0 (levels[i].id, id) == 0)
      return &levels[i];
  return NULL;
}

const char *
castellan_security_icon_name (const char *level_id)
{
  const LevelInfo *info = find_level (level_id);

  return info ? info->icon : "castellan-level-unknown-symbolic";
}

const char *
castellan_security_style (const char *level_id)
{
  const LevelInfo *info = find_level (level_id);

  return info ? info->style : "dim-label";
}

/* One level's colour on a widget, the others' taken away. */
void
castellan_security_apply_style (GtkWidget  *widget,
                                const char *style)
{
  for (guint i = 0; level_styles[i] != NULL; i++)
    if (g_strcmp0 (level_styles[i], style) != 0)
      gtk_widget_remove_css_class (widget, level_styles[i]);
  if (style != NULL)
    gtk_widget_add_css_class (widget, style);
}

GtkWidget *
castellan_security_level_image (const char *level_id)
{
  GtkWidget *image = gtk_image_new_from_icon_name (castellan_security_icon_name (level_id));

  gtk_widget_add_css_class (image, castellan_security_style (level_id));
  return image;
}

const char *
castellan_security_title (const char *level_id)
{
  const LevelInfo *info = find_level (level_id);

  return info ? _(info->title) : _("Not connected yet");
}

/* Words for the verdict's values; method and cipher names stay as they are. */
static const char *
identity_label (CastellanServerIdentity identity)
{
  switch (identity)
    {
    case CASTELLAN_IDENTITY_KERBEROS:
      return "Kerberos";
    case CASTELLAN_IDENTITY_TLS:
      return _("TLS certificate");
    case CASTELLAN_IDENTITY_TLS_PINNED:
      return _("pinned TLS certificate");
    case CASTELLAN_IDENTITY_NONE:
    default:
      return _("not proven");
    }
}

static const char *
auth_label (CastellanAuthMethod auth)
{
  switch (auth)
    {
    case CASTELLAN_AUTH_KERBEROS:
      return "Kerberos";
    case CASTELLAN_AUTH_NTLM:
      return "NTLM";
    case CASTELLAN_AUTH_BASIC:
    default:
      return "Basic";
    }
}

static const char *
encryption_label (const char *encryption)
{
  return g_strcmp0 (encryption, "none") == 0 ? _("none") : encryption;
}

/* One line for tooltips and accessible descriptions. */
char *
castellan_security_describe (const CastellanVerdict *verdict)
{
  CastellanLevel level = castellan_verdict_get_level (verdict);

  return g_strdup_printf (_("%s: server identity %s, %s sign-in, encryption %s%s%s"),
                          castellan_verdict_level_title (level),
                          identity_label (verdict->identity),
                          auth_label (verdict->auth),
                          encryption_label (verdict->encryption),
                          verdict->trusted_hosts_entry ? _(", allowed by TrustedHosts entry ") : "",
                          verdict->trusted_hosts_entry ? verdict->trusted_hosts_entry : "");
}

static GtkWidget *
wrapped_label (const char *text,
               const char *css_class)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 40);
  if (css_class)
    gtk_widget_add_css_class (label, css_class);
  return label;
}

/* A field and its value, on one row of the details' grid. */
void
castellan_security_add_row (GtkWidget  *grid,
                            const char *field,
                            const char *value)
{
  int row = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (grid), "rows"));
  GtkWidget *name = gtk_label_new (field);
  GtkWidget *text = wrapped_label (value, NULL);

  gtk_label_set_xalign (GTK_LABEL (name), 1);
  gtk_widget_set_valign (name, GTK_ALIGN_START);
  gtk_widget_add_css_class (name, "dim-label");
  gtk_widget_set_hexpand (text, TRUE);
  gtk_accessible_update_relation (GTK_ACCESSIBLE (text), GTK_ACCESSIBLE_RELATION_LABELLED_BY, name, NULL, -1);
  gtk_grid_attach (GTK_GRID (grid), name, 0, row, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), text, 1, row, 1, 1);
  g_object_set_data (G_OBJECT (grid), "rows", GINT_TO_POINTER (row + 1));
}

GtkWidget *
castellan_security_grid_new (void)
{
  GtkWidget *grid = gtk_grid_new ();

  gtk_grid_set_row_spacing (GTK_GRID (grid), 4);
  gtk_grid_set_column_spacing (GTK_GRID (grid), 12);
  return grid;
}

/* A heading with the level's icon, in its colour, and its words. */
GtkWidget *
castellan_security_heading (const char *icon,
                            const char *style,
                            const char *title)
{
  GtkWidget *head = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  GtkWidget *image = gtk_image_new_from_icon_name (icon);

  if (style != NULL)
    gtk_widget_add_css_class (image, style);
  gtk_box_append (GTK_BOX (head), image);
  gtk_box_append (GTK_BOX (head), wrapped_label (title, "heading"));
  return head;
}

/* The details shown in the popover and the host dialog: the level, then
 * the facts as rows of field and value, then what would make it safer. */
GtkWidget *
castellan_security_details (const CastellanVerdict *verdict)
{
  CastellanLevel level = castellan_verdict_get_level (verdict);
  const char *id = castellan_verdict_level_id (level);
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 8);
  GtkWidget *grid = castellan_security_grid_new ();
  g_auto(GStrv) better = castellan_verdict_improvements (verdict);
  g_autofree char *sign_in = NULL;
  g_autofree char *encryption = NULL;

  gtk_widget_set_margin_top (box, 6);
  gtk_widget_set_margin_bottom (box, 6);
  gtk_widget_set_margin_start (box, 6);
  gtk_widget_set_margin_end (box, 6);
  gtk_box_append (GTK_BOX (box), castellan_security_heading (castellan_security_icon_name (id),
                                                             castellan_security_style (id),
                                                             castellan_verdict_level_title (level)));

  castellan_security_add_row (grid, _("Server identity"), identity_label (verdict->identity));
  if (verdict->server_principal != NULL)
    castellan_security_add_row (grid, _("Server principal"), verdict->server_principal);
  sign_in = verdict->user ? g_strdup_printf (_("%s as %s"), auth_label (verdict->auth), verdict->user)
                          : g_strdup (auth_label (verdict->auth));
  castellan_security_add_row (grid, _("Sign-in"), sign_in);
  encryption = verdict->tls_cipher_suite ? g_strdup_printf ("%s, %s", encryption_label (verdict->encryption),
                                                            verdict->tls_cipher_suite)
                                         : g_strdup (encryption_label (verdict->encryption));
  castellan_security_add_row (grid, _("Encryption"), encryption);
  castellan_security_add_row (grid, _("TrustedHosts entry"),
                              verdict->trusted_hosts_entry ? verdict->trusted_hosts_entry : _("none"));
  castellan_security_add_row (grid, _("Delegation"),
                              verdict->delegation ? (verdict->delegation_forced ? _("on, forced") : _("on"))
                              : verdict->delegation_requested ? _("asked for, not done") : _("off"));
  gtk_box_append (GTK_BOX (box), grid);
  if (better[0] != NULL)
    {
      gtk_box_append (GTK_BOX (box), wrapped_label (_("What would make it safer"), "heading"));
      for (guint i = 0; better[i] != NULL; i++)
        {
          g_autofree char *line = g_strdup_printf ("• %s", better[i]);

          gtk_box_append (GTK_BOX (box), wrapped_label (line, NULL));
        }
    }
  return box;
}

void
castellan_security_set_accessible (GtkWidget  *widget,
                                   const char *label,
                                   const char *description)
{
  gtk_accessible_update_property (GTK_ACCESSIBLE (widget),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, label,
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, description,
                                  -1);
}
