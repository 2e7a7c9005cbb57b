/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>

#include "castellan-security.h"

typedef struct
{
  const char *id;
  const char *icon;
  const char *title;
} LevelInfo;

/* Shapes that differ: a shield with a check, a shield, an open shield,
 * a warning sign; "never connected" is a plain circle. */
static const LevelInfo levels[] = {
  { "verified", "castellan-level-verified-symbolic", N_("Verified and encrypted") },
  { "caveats", "castellan-level-caveats-symbolic", N_("Verified, with caveats") },
  { "unverified", "castellan-level-unverified-symbolic", N_("Server not verified") },
  { "unprotected", "castellan-level-unprotected-symbolic", N_("Not encrypted") },
};

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
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 50);
  if (css_class)
    gtk_widget_add_css_class (label, css_class);
  return label;
}

/* The details shown in the popover and the host dialog. */
GtkWidget *
castellan_security_details (const CastellanVerdict *verdict)
{
  CastellanLevel level = castellan_verdict_get_level (verdict);
  const char *id = castellan_verdict_level_id (level);
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *head = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  g_auto(GStrv) explain = castellan_verdict_explain (verdict);
  g_auto(GStrv) better = castellan_verdict_improvements (verdict);
  g_autofree char *facts = NULL;

  gtk_widget_set_margin_top (box, 6);
  gtk_widget_set_margin_bottom (box, 6);
  gtk_widget_set_margin_start (box, 6);
  gtk_widget_set_margin_end (box, 6);
  gtk_box_append (GTK_BOX (head), gtk_image_new_from_icon_name (castellan_security_icon_name (id)));
  gtk_box_append (GTK_BOX (head), wrapped_label (castellan_verdict_level_title (level), "heading"));
  gtk_box_append (GTK_BOX (box), head);

  facts = g_strdup_printf (_("Server identity: %s%s%s\nSign-in: %s%s%s\nEncryption: %s%s%s\nTrustedHosts entry: %s\nDelegation: %s"),
                           identity_label (verdict->identity),
                           verdict->server_principal ? _(", principal ") : "",
                           verdict->server_principal ? verdict->server_principal : "",
                           auth_label (verdict->auth),
                           verdict->user ? _(" as ") : "", verdict->user ? verdict->user : "",
                           encryption_label (verdict->encryption),
                           verdict->tls_cipher_suite ? ", " : "",
                           verdict->tls_cipher_suite ? verdict->tls_cipher_suite : "",
                           verdict->trusted_hosts_entry ? verdict->trusted_hosts_entry : _("none"),
                           verdict->delegation ? (verdict->delegation_forced ? _("on, forced") : _("on"))
                                               : verdict->delegation_requested ? _("asked for, not done") : _("off"));
  gtk_box_append (GTK_BOX (box), wrapped_label (facts, "monospace"));
  for (guint i = 0; explain[i] != NULL; i++)
    gtk_box_append (GTK_BOX (box), wrapped_label (explain[i], NULL));
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
