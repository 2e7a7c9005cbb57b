/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "castellan-trust-dialogs.h"
#include "castellan-trusted-hosts.h"

typedef struct
{
  CastellanTrustAnswer answer;
  gpointer user_data;
} Pending;

static void
on_response (AdwMessageDialog *dialog,
             const char       *response,
             Pending          *pending)
{
  pending->answer (response, pending->user_data);
  g_free (pending);
}

static void
present (AdwMessageDialog     *dialog,
         CastellanTrustAnswer  answer,
         gpointer              user_data)
{
  Pending *pending = g_new0 (Pending, 1);

  pending->answer = answer;
  pending->user_data = user_data;
  g_signal_connect (dialog, "response", G_CALLBACK (on_response), pending);
  gtk_window_present (GTK_WINDOW (dialog));
}

void
castellan_trust_confirm_add (GtkWindow            *parent,
                             const char           *entry,
                             CastellanTrustAnswer  answer,
                             gpointer              user_data)
{
  CastellanTrustRisk risk = castellan_trust_entry_risk (entry);
  const char *scope;
  g_autofree char *heading = NULL;
  g_autofree char *body = NULL;
  g_autofree char *reach = NULL;
  AdwMessageDialog *dialog;

  scope = risk == CASTELLAN_TRUST_RISK_CRITICAL
            ? _("“*” covers every host you will ever connect to: for all of them, Castellan will stop refusing connections whose server cannot be verified.")
          : risk == CASTELLAN_TRUST_RISK_BROAD
            ? _("This entry covers many hosts, including ones that do not exist yet.")
            : _("This entry covers this one host.");
  heading = g_strdup_printf (_("Add “%s” to TrustedHosts?"), entry);
  if (strchr (entry, ',') == NULL)
    reach = castellan_trust_entry_describe_reach (entry);
  body = g_strdup_printf (_("TrustedHosts only silences the “server identity cannot be verified” refusal. It says nothing about whether a host is trustworthy: a machine that takes over the address would receive your sign-in and your commands, and NTLM traffic is sealed with a weak cipher. %s%s%s\n\nPrefer HTTPS with a valid certificate, or Kerberos by host name, which prove the server."),
                          scope, reach ? " " : "", reach ? reach : "");
  dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (parent, heading, body));
  adw_message_dialog_add_responses (dialog, "cancel", _("_Cancel"), "add", _("_Add Anyway"), NULL);
  adw_message_dialog_set_response_appearance (dialog, "add", ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (dialog, "cancel");
  adw_message_dialog_set_close_response (dialog, "cancel");
  present (dialog, answer, user_data);
}

void
castellan_trust_refused (GtkWindow            *parent,
                         const char           *host,
                         const char           *message,
                         gboolean              trust_helps,
                         CastellanTrustAnswer  answer,
                         gpointer              user_data)
{
  g_autofree char *heading = g_strdup_printf (_("Connection to %s Refused"), host);
  AdwMessageDialog *dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (parent, heading, message));

  adw_message_dialog_add_responses (dialog,
                                    "cancel", _("_Cancel"),
                                    "https", _("Use _HTTPS…"),
                                    NULL);
  /* TrustedHosts only ever allows NTLM; it cannot help Basic or Kerberos. */
  if (trust_helps)
    adw_message_dialog_add_response (dialog, "trust", _("Add to _TrustedHosts…"));
  adw_message_dialog_set_response_appearance (dialog, "https", ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (dialog, "https");
  adw_message_dialog_set_close_response (dialog, "cancel");
  present (dialog, answer, user_data);
}

gboolean
castellan_trust_save_entry (const char  *entry,
                            GError     **error)
{
  g_autofree char *path = castellan_trusted_hosts_default_path ();
  g_autoptr(CastellanTrustedHosts) list = castellan_trusted_hosts_load (path, error);

  if (list == NULL)
    return FALSE;
  castellan_trusted_hosts_add (list, entry);
  return castellan_trusted_hosts_save (list, path, error);
}
