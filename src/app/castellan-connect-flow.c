/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "castellan-connect-flow.h"
#include "castellan-password-entry.h"
#include "castellan-error.h"
#include "castellan-expectation.h"
#include "castellan-host-editor.h"
#include "castellan-secrets.h"
#include "castellan-security.h"
#include "castellan-trust-dialogs.h"
#include "castellan-window-private.h"

#define EXPECTATION_KEY "castellan-expectation"
#define ACCEPTED_KEY "castellan-downgrade-accepted"

/* One attempt to open a console, from the click to the first command. */
typedef struct
{
  CastellanWindow *self;
  CastellanHost *host;
  CastellanConnectOptions *options;
  CastellanExpectation *expectation;
  gboolean downgrade_accepted;
  GtkWidget *entry;
  GtkCheckButton *remember;
} Attempt;

static void
attempt_free (Attempt *a)
{
  g_object_unref (a->self);
  g_object_unref (a->host);
  castellan_connect_options_free (a->options);
  castellan_expectation_free (a->expectation);
  g_free (a);
}

static void
save_if_saved (CastellanWindow *self,
               CastellanHost   *host)
{
  if (castellan_inventory_find (castellan_application_get_inventory (self->app),
                                castellan_host_get_id (host)) != NULL)
    castellan_application_save_inventory (self->app, GTK_WINDOW (self));
}

static void
start (Attempt *a)
{
  CastellanConsole *console = castellan_window_start_console (a->self, a->host, a->options);

  g_object_set_data_full (G_OBJECT (console), EXPECTATION_KEY, g_steal_pointer (&a->expectation),
                          (GDestroyNotify) castellan_expectation_free);
  if (a->downgrade_accepted)
    g_object_set_data (G_OBJECT (console), ACCEPTED_KEY, GINT_TO_POINTER (1));
  attempt_free (a);
}

/* "Expected: …" above the password, in words. A lone wrapping label:
 * beside an icon, GTK 4.8 miscounts its height in a message dialog. */
static GtkWidget *
expectation_row (const CastellanExpectation *expectation)
{
  g_autofree char *summary = castellan_expectation_summary (expectation);
  g_autofree char *text = g_strdup_printf (_("Expected: %s"), summary);
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 40);
  gtk_widget_add_css_class (label, expectation->floor < CASTELLAN_LEVEL_CAVEATS ? "warning" : "dim-label");
  gtk_widget_set_margin_bottom (label, 6);
  return label;
}

static void
password_answered (AdwMessageDialog *dialog,
                   const char       *response,
                   Attempt          *a)
{
  if (g_str_equal (response, "connect"))
    {
      const char *password = gtk_editable_get_text (GTK_EDITABLE (a->entry));

      castellan_connect_options_set_password (a->options, password);
      if (gtk_check_button_get_active (a->remember))
        {
          g_autofree char *label = g_strdup_printf (_("WinRM password for %s on %s"),
                                                    castellan_host_get_user (a->host),
                                                    castellan_host_get_address (a->host));

          castellan_secrets_store_async (castellan_host_get_id (a->host), castellan_host_get_user (a->host),
                                         label, password, NULL, NULL, NULL);
        }
      gtk_editable_set_text (GTK_EDITABLE (a->entry), "");
      start (a);
      return;
    }
  gtk_editable_set_text (GTK_EDITABLE (a->entry), "");
  attempt_free (a);
}

static void
ask_password (Attempt *a)
{
  g_autofree char *body = g_strdup_printf (_("Password of %s for %s"), castellan_host_get_user (a->host),
                                           castellan_host_get_address (a->host));
  GtkWidget *dialog = adw_message_dialog_new (GTK_WINDOW (a->self), _("Sign In"), body);
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);

  a->entry = castellan_password_entry_new (_("Password"));
  a->remember = GTK_CHECK_BUTTON (gtk_check_button_new_with_mnemonic (_("_Remember in the keyring")));
  gtk_box_append (GTK_BOX (box), expectation_row (a->expectation));
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (a->entry));
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (a->remember));
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), box);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog), "cancel", _("_Cancel"), "connect", _("C_onnect"), NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "connect", ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "connect");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_signal_connect (dialog, "response", G_CALLBACK (password_answered), a);
  gtk_window_present (GTK_WINDOW (dialog));
  gtk_widget_grab_focus (GTK_WIDGET (a->entry));
}

static void
password_looked_up (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  Attempt *a = user_data;
  char *password = castellan_secrets_lookup_finish (result, NULL);

  if (password != NULL)
    {
      castellan_connect_options_set_password (a->options, password);
      castellan_secrets_wipe (password);
      start (a);
      return;
    }
  ask_password (a);
}

/* A host with a user name needs its password, from the keyring or asked
 * for; without one, the Kerberos ticket is used. */
static void
sign_in (Attempt *a)
{
  const char *user = castellan_host_get_user (a->host);

  if (user == NULL || *user == '\0')
    start (a);
  else
    castellan_secrets_lookup_async (castellan_host_get_id (a->host), user, NULL, password_looked_up, a);
}

/* The alert both before and after signing in: Cancel is the default, and
 * going ahead is the destructive choice. */
static AdwMessageDialog *
less_protected_alert (GtkWindow  *parent,
                      const char *body)
{
  AdwMessageDialog *dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (parent, _("Less Protected Than Last Time"), body));

  adw_message_dialog_add_responses (dialog, "cancel", _("_Cancel"), "connect", _("Connect _Anyway"), NULL);
  adw_message_dialog_set_response_appearance (dialog, "connect", ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (dialog, "cancel");
  adw_message_dialog_set_close_response (dialog, "cancel");
  return dialog;
}

static void
downgrade_answered (AdwMessageDialog *dialog,
                    const char       *response,
                    Attempt          *a)
{
  if (!g_str_equal (response, "connect"))
    {
      attempt_free (a);
      return;
    }
  a->downgrade_accepted = TRUE;
  sign_in (a);
}

/* Opens a console tab. Everything that can be known without the network
 * is decided first: the policy's refusal, then a level below the host's
 * last one, then the password. */
void
castellan_window_open_console (CastellanWindow *self,
                               CastellanHost   *host)
{
  CastellanConnectOptions *options = castellan_window_options_for (self, host);
  g_autoptr(CastellanVerdict) last = NULL;
  Attempt *a;

  if (options == NULL)
    return;
  a = g_new0 (Attempt, 1);
  a->self = g_object_ref (self);
  a->host = g_object_ref (host);
  a->options = options;
  a->expectation = castellan_expectation_compute (options);
  if (a->expectation->refused)
    {
      g_autoptr(GError) refusal = g_error_new_literal (CASTELLAN_ERROR, CASTELLAN_ERROR_POLICY_REFUSED,
                                                       a->expectation->refusal);

      castellan_connect_flow_refused (self, host, NULL, refusal);
      attempt_free (a);
      return;
    }
  last = castellan_host_dup_last_verdict (host);
  if (castellan_expectation_is_below (a->expectation, last))
    {
      g_autofree char *body = castellan_expectation_describe_change (a->expectation, last);
      AdwMessageDialog *dialog = less_protected_alert (GTK_WINDOW (self), body);

      g_signal_connect (dialog, "response", G_CALLBACK (downgrade_answered), a);
      gtk_window_present (GTK_WINDOW (dialog));
      return;
    }
  sign_in (a);
}

/* ---- before any connection ------------------------------------------------ */

/* TrustedHosts as the policy will read it, read again only when the file
 * changed: rows ask for every host they show. */
static CastellanTrustedHosts *
current_trusted_hosts (void)
{
  static CastellanTrustedHosts *cached;
  static guint64 cached_stamp = G_MAXUINT64;
  g_autofree char *path = castellan_trusted_hosts_default_path ();
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileInfo) info = g_file_query_info (file, G_FILE_ATTRIBUTE_TIME_MODIFIED ","
                                                 G_FILE_ATTRIBUTE_TIME_MODIFIED_USEC ","
                                                 G_FILE_ATTRIBUTE_STANDARD_SIZE,
                                                 G_FILE_QUERY_INFO_NONE, NULL, NULL);
  guint64 stamp = 0;

  if (info != NULL)
    stamp = g_file_info_get_attribute_uint64 (info, G_FILE_ATTRIBUTE_TIME_MODIFIED) * G_USEC_PER_SEC +
            g_file_info_get_attribute_uint32 (info, G_FILE_ATTRIBUTE_TIME_MODIFIED_USEC) +
            (guint64) g_file_info_get_size (info);
  if (cached == NULL || stamp != cached_stamp)
    {
      g_clear_pointer (&cached, castellan_trusted_hosts_free);
      cached = castellan_trusted_hosts_load (path, NULL);
      if (cached == NULL)
        cached = castellan_trusted_hosts_parse (NULL);
      cached_stamp = stamp;
    }
  return cached;
}

/**
 * castellan_connect_flow_expect:
 *
 * Returns: (transfer full) (nullable): what connecting to @host will give,
 *   from its settings and TrustedHosts; %NULL when its settings are wrong.
 */
CastellanExpectation *
castellan_connect_flow_expect (CastellanHost *host)
{
  g_autoptr(CastellanConnectOptions) options = castellan_host_to_options (host, NULL);
  g_autofree char *trusted = NULL;

  if (options == NULL)
    return NULL;
  trusted = castellan_trusted_hosts_to_string (current_trusted_hosts ());
  castellan_connect_options_set_trusted_hosts (options, trusted);
  return castellan_expectation_compute (options);
}

/**
 * castellan_connect_flow_describe_expected:
 *
 * Returns: (transfer full): for a host never connected to, what the
 *   policy says the connection will be, in sentences.
 */
char *
castellan_connect_flow_describe_expected (CastellanHost *host)
{
  g_autoptr(CastellanExpectation) expectation = castellan_connect_flow_expect (host);
  g_autofree char *summary = NULL;
  g_autofree char *lines = NULL;
  g_auto(GStrv) explain = NULL;

  if (expectation == NULL)
    return g_strdup (_("Never connected, and its settings are not valid: edit the host to see what to expect."));
  summary = castellan_expectation_summary (expectation);
  explain = castellan_expectation_explain (expectation);
  lines = g_strjoinv ("\n", explain);
  return g_strdup_printf (_("Never connected. Expected: %s\n\n%s"), summary, lines);
}

/* ---- after signing in ---------------------------------------------------- */

static void
record_verdict (CastellanWindow        *self,
                CastellanHost          *host,
                const CastellanVerdict *verdict)
{
  castellan_host_set_verdict (host, verdict);
  save_if_saved (self, host);
}

static char *
downgrade_note (const CastellanVerdict *verdict,
                const CastellanVerdict *previous)
{
  return g_strdup_printf (_("Weaker than last time: this connection is “%s” (%s), the previous one was “%s” (%s)."),
                          castellan_verdict_level_title (castellan_verdict_get_level (verdict)),
                          verdict->encryption,
                          castellan_verdict_level_title (castellan_verdict_get_level (previous)),
                          previous->encryption);
}

typedef struct
{
  CastellanWindow *self;
  CastellanConsole *console;
  CastellanVerdict *verdict;
  CastellanVerdict *previous;
  char *body;                 /* what the alert said */
} Held;

static void
held_answered (AdwMessageDialog *dialog,
               const char       *response,
               Held             *h)
{
  AdwTabPage *page = adw_tab_view_get_page (h->self->tab_view, GTK_WIDGET (h->console));

  if (g_str_equal (response, "connect"))
    {
      /* Accepted, yet still said: the banner and the details keep it. */
      g_autofree char *note = h->previous != NULL && castellan_verdict_is_weaker_than (h->verdict, h->previous)
                              ? downgrade_note (h->verdict, h->previous) : g_strdup (h->body);

      g_object_set_data (G_OBJECT (h->console), ACCEPTED_KEY, GINT_TO_POINTER (1));
      castellan_console_note_downgrade (h->console, note);
      record_verdict (h->self, castellan_console_get_host (h->console), h->verdict);
      castellan_console_set_held (h->console, FALSE);
    }
  else if (page != NULL)
    adw_tab_view_close_page (h->self->tab_view, page);
  g_object_unref (h->self);
  g_object_unref (h->console);
  castellan_verdict_free (h->verdict);
  castellan_verdict_free (h->previous);
  g_free (h->body);
  g_free (h);
}

/**
 * castellan_connect_flow_check_verdict:
 *
 * Called when @console has its verdict, before the host's last verdict is
 * replaced. Below what the settings promised (even after a lower level
 * was accepted before connecting), or below last time when that was not
 * accepted, the console is held (nothing is sent) and the user asked.
 *
 * Returns: %TRUE when the console is held, and the verdict not recorded yet.
 */
gboolean
castellan_connect_flow_check_verdict (CastellanWindow  *self,
                                      CastellanConsole *console)
{
  const CastellanVerdict *verdict = castellan_console_get_verdict (console);
  CastellanHost *host = castellan_console_get_host (console);
  const CastellanExpectation *expectation = g_object_get_data (G_OBJECT (console), EXPECTATION_KEY);
  gboolean accepted = g_object_get_data (G_OBJECT (console), ACCEPTED_KEY) != NULL;
  g_autoptr(CastellanVerdict) previous = NULL;
  g_autofree char *body = NULL;
  gboolean broken, weaker;
  AdwMessageDialog *dialog;
  Held *h;

  if (castellan_console_is_held (console))
    return TRUE;
  previous = castellan_host_dup_last_verdict (host);
  broken = expectation != NULL && castellan_expectation_is_broken_by (expectation, verdict);
  weaker = previous != NULL && castellan_verdict_is_weaker_than (verdict, previous);
  if (!broken && (accepted || !weaker))
    {
      if (weaker)
        {
          g_autofree char *note = downgrade_note (verdict, previous);

          castellan_console_note_downgrade (console, note);
        }
      return FALSE;
    }

  castellan_console_set_held (console, TRUE);
  if (expectation != NULL)
    body = castellan_expectation_describe_verdict_change (expectation, verdict, previous);
  else
    body = downgrade_note (verdict, previous);
  dialog = less_protected_alert (GTK_WINDOW (self), body);
  h = g_new0 (Held, 1);
  h->self = g_object_ref (self);
  h->console = g_object_ref (console);
  h->verdict = castellan_verdict_copy (verdict);
  h->previous = g_steal_pointer (&previous);
  h->body = g_steal_pointer (&body);
  g_signal_connect (dialog, "response", G_CALLBACK (held_answered), h);
  gtk_window_present (GTK_WINDOW (dialog));
  return TRUE;
}

/* ---- refusals ------------------------------------------------------------ */

typedef struct
{
  CastellanWindow *self;
  CastellanHost *host;
  AdwTabPage *page;
} Refusal;

static void
refusal_free (Refusal *r)
{
  g_object_unref (r->self);
  g_object_unref (r->host);
  g_free (r);
}

static void
trust_confirmed (const char *response,
                 gpointer    user_data)
{
  Refusal *r = user_data;
  g_autoptr(GError) error = NULL;

  if (g_str_equal (response, "add"))
    {
      if (!castellan_trust_save_entry (castellan_host_get_address (r->host), &error))
        castellan_window_toast (r->self, error->message);
      else
        {
          if (r->page != NULL)
            adw_tab_view_close_page (r->self->tab_view, r->page);
          castellan_window_open_console (r->self, r->host);
        }
    }
  refusal_free (r);
}

/* The editor works on its own fields: the host changes only on Save, and
 * then the connection is tried again. */
static void
fixed_host_saved (CastellanHostEditor *editor,
                  Refusal             *r)
{
  if (r->page != NULL)
    adw_tab_view_close_page (r->self->tab_view, r->page);
  r->page = NULL;
  castellan_window_open_console (r->self, r->host);
}

static void
refusal_answered (const char *response,
                  gpointer    user_data)
{
  Refusal *r = user_data;
  CastellanHostEditor *editor;
  gboolean is_new;

  if (g_str_equal (response, "trust"))
    {
      castellan_trust_confirm_add (GTK_WINDOW (r->self), castellan_host_get_address (r->host),
                                   castellan_application_get_inventory (r->self->app),
                                   trust_confirmed, r);
      return;
    }
  if (g_str_equal (response, "https") || g_str_equal (response, "name"))
    {
      is_new = castellan_inventory_find (castellan_application_get_inventory (r->self->app),
                                         castellan_host_get_id (r->host)) == NULL;
      editor = castellan_window_edit_host (r->self, r->host, is_new);
      castellan_host_editor_propose (editor, g_str_equal (response, "https")
                                               ? CASTELLAN_HOST_EDITOR_PROPOSE_HTTPS
                                               : CASTELLAN_HOST_EDITOR_PROPOSE_NAME);
      g_signal_connect_data (editor, "saved", G_CALLBACK (fixed_host_saved), r,
                             (GClosureNotify) (void (*) (void)) refusal_free, 0);
      return;
    }
  refusal_free (r);
}

/* What went wrong last time, in a few words for the host's row. */
void
castellan_window_note_problem (CastellanWindow *self,
                               CastellanHost   *host,
                               const GError    *error)
{
  const char *words = g_error_matches (error, CASTELLAN_ERROR, CASTELLAN_ERROR_ACCESS_DENIED) ? _("Access denied")
                    : g_error_matches (error, CASTELLAN_ERROR, CASTELLAN_ERROR_POLICY_REFUSED) ? _("Refused by policy")
                    : g_error_matches (error, CASTELLAN_ERROR, CASTELLAN_ERROR_CREDENTIALS_REJECTED) ? _("Sign-in rejected")
                    : g_error_matches (error, CASTELLAN_ERROR, CASTELLAN_ERROR_BAD_CERTIFICATE) ? _("Certificate not trusted")
                    : _("Connection failed");

  g_object_set (host, "last-problem", words, NULL);
  save_if_saved (self, host);
}

/* The ways forward, safest first: HTTPS and a name prove the server;
 * TrustedHosts only stops asking. */
void
castellan_connect_flow_refused (CastellanWindow *self,
                                CastellanHost   *host,
                                AdwTabPage      *page,
                                const GError    *error)
{
  Refusal *r = g_new0 (Refusal, 1);
  g_autofree char *name = castellan_host_dup_display_name (host);
  const char *auth = castellan_host_get_auth (host);
  g_autoptr(CastellanConnectOptions) options = castellan_host_to_options (host, NULL);
  gboolean https = castellan_host_get_https (host);
  gboolean ntlm_like = auth == NULL || g_str_equal (auth, "negotiate") || g_str_equal (auth, "ntlm");
  CastellanTrustWays ways = 0;

  castellan_window_note_problem (self, host, error);
  if (!https)
    ways |= CASTELLAN_TRUST_WAY_HTTPS;
  if (options != NULL && castellan_endpoint_is_ip (options->endpoint) && g_strcmp0 (auth, "basic") != 0)
    ways |= CASTELLAN_TRUST_WAY_NAME;
  /* TrustedHosts only ever allows NTLM; it cannot help Basic or Kerberos. */
  if (!https && ntlm_like)
    ways |= CASTELLAN_TRUST_WAY_TRUST;
  r->self = g_object_ref (self);
  r->host = g_object_ref (host);
  r->page = page;
  castellan_trust_refused (GTK_WINDOW (self), name, error->message, ways, refusal_answered, r);
}
