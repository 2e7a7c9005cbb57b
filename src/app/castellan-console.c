/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>
#include <vte/vte.h>

#include "castellan-banner.h"
#include "castellan-bench-probe.h"
#include "castellan-console.h"
#include "castellan-password-entry.h"
#include "castellan-terminal-feed.h"
#include "castellan-error.h"
#include "castellan-security.h"

#define SCROLLBACK_LINES 10000
#define HISTORY_MAX 500
#define LAST_OUTPUT_MAX (16 * 1024)
/* VTE takes PCRE2 compile flags; PCRE2_CASELESS | PCRE2_MULTILINE. */
#define SEARCH_CASELESS (0x00000008u | 0x00000400u)

struct _CastellanConsole
{
  GtkWidget parent_instance;

  /* Template widgets */
  GtkSearchBar *search_bar;
  GtkSearchEntry *search_entry;
  CastellanBanner *banner;
  VteTerminal *terminal;
  GtkSpinner *spinner;
  GtkLabel *status_label;
  GtkEntry *input;
  GtkToggleButton *broadcast_toggle;
  GtkMenuButton *security_button;
  GtkImage *security_icon;
  GtkLabel *security_label;
  GtkButton *reconnect_button;

  /* Owned references */
  CastellanHost *host;
  CastellanConnectOptions *options;
  CastellanSession *session;
  CastellanVerdict *verdict;
  GPtrArray *history;
  GString *last_output;     /* for screen readers: the last command's output */
  CastellanTerminalFeed *feed;
  gboolean feed_full;       /* the terminal is behind: the host is held back */
  char *failure;            /* a few words on why the session failed, or NULL */
  char *failure_message;
  gboolean wants_account;   /* the failure is one another account may help with */
  char *downgrade;          /* what is weaker than last time, or NULL */
  char *trust_removed;      /* the TrustedHosts entry behind this session is gone */
  gboolean broadcast_setting; /* the toggle is set by the program, not the user */
  gboolean broadcast_chosen;  /* the user chose whether this tab receives */
  CastellanInterpreter interpreter;
  int history_pos;
};

G_DEFINE_FINAL_TYPE (CastellanConsole, castellan_console, GTK_TYPE_WIDGET)

enum
{
  SIGNAL_SECURITY_CHANGED,
  SIGNAL_FAILED,
  SIGNAL_LINE_ENTERED,
  SIGNAL_BROADCAST_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* Everything shown goes one way, in order: through the terminal feed. */
static void
feed (CastellanConsole *self,
      const char       *data,
      gsize             length,
      const char       *style)
{
  if (style != NULL)
    castellan_terminal_feed_write (self->feed, style, strlen (style));
  castellan_terminal_feed_write (self->feed, data, length);
  if (style != NULL)
    castellan_terminal_feed_write (self->feed, "\033[0m", 4);
}

static void
on_feed_pressure (gboolean full,
                  gpointer user_data)
{
  CastellanConsole *self = user_data;

  self->feed_full = full;
  if (self->session != NULL)
    castellan_session_set_paused (self->session, full);
}

static void
feed_line (CastellanConsole *self,
           const char       *text,
           const char       *style)
{
  g_autofree char *line = g_strconcat (text, "\n", NULL);

  feed (self, line, strlen (line), style);
}

static void
set_status (CastellanConsole *self,
            const char       *text,
            gboolean          busy)
{
  gtk_label_set_label (self->status_label, text);
  gtk_spinner_set_spinning (self->spinner, busy);
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), busy);
}

/* The one line above the output: a failure first, then a downgrade, then
 * a server that is not proven or traffic that is not encrypted. */
static void
update_banner (CastellanConsole *self)
{
  CastellanLevel level = self->verdict ? castellan_verdict_get_level (self->verdict) : CASTELLAN_LEVEL_VERIFIED;

  if (self->failure != NULL)
    {
      g_autofree char *title = g_strdup_printf ("%s: %s", self->failure, self->failure_message);

      castellan_banner_show (self->banner, title,
                             self->wants_account ? _("Use Another _Account…") : _("_Reconnect"));
    }
  else if (self->downgrade != NULL)
    castellan_banner_show (self->banner, _("Less protected than last time"), _("_Details"));
  else if (self->trust_removed != NULL)
    castellan_banner_show (self->banner, _("Its TrustedHosts entry was removed: a new connection will be refused"),
                           _("_Details"));
  else if (self->verdict != NULL && level == CASTELLAN_LEVEL_UNVERIFIED)
    castellan_banner_show (self->banner, _("Server not verified: its identity is not proven"), _("_Details"));
  else if (self->verdict != NULL && level == CASTELLAN_LEVEL_UNPROTECTED)
    castellan_banner_show (self->banner, _("Not encrypted: the network can read this session"), _("_Details"));
  else
    castellan_banner_hide (self->banner);
}

static GtkWidget *
failure_details (CastellanConsole *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 8);
  GtkWidget *grid = castellan_security_grid_new ();

  gtk_widget_set_margin_top (box, 6);
  gtk_widget_set_margin_bottom (box, 6);
  gtk_widget_set_margin_start (box, 6);
  gtk_widget_set_margin_end (box, 6);
  gtk_box_append (GTK_BOX (box), castellan_security_heading ("dialog-error-symbolic", "error", self->failure));
  castellan_security_add_row (grid, _("Session"), _("not connected"));
  castellan_security_add_row (grid, _("Reason"), self->failure_message);
  gtk_box_append (GTK_BOX (box), grid);
  return box;
}

/* The site-information button: quiet (its icon only) when the host is
 * verified, in words and in colour when it is not, and never claiming
 * a session that failed. */
static void
show_verdict (CastellanConsole *self)
{
  const CastellanVerdict *v = self->verdict;
  const char *level = v ? castellan_verdict_level_id (castellan_verdict_get_level (v)) : NULL;
  gboolean quiet = self->failure == NULL && g_strcmp0 (level, "verified") == 0;
  GtkWidget *popover = gtk_popover_new ();
  g_autofree char *description = NULL;
  const char *title;

  if (self->failure != NULL)
    {
      description = g_strdup_printf ("%s: %s", self->failure, self->failure_message);
      title = self->failure;
      gtk_image_set_from_icon_name (self->security_icon, "dialog-error-symbolic");
      castellan_security_apply_style (GTK_WIDGET (self->security_icon), NULL);
      castellan_security_apply_style (GTK_WIDGET (self->security_button), "error");
      gtk_popover_set_child (GTK_POPOVER (popover), failure_details (self));
    }
  else
    {
      title = v ? castellan_security_title (level)
                : castellan_console_is_connecting (self) ? _("Connecting…") : _("Not connected");
      description = v ? castellan_security_describe (v) : g_strdup (title);
      gtk_image_set_from_icon_name (self->security_icon, castellan_security_icon_name (level));
      /* Quiet, yet in its colour: the icon alone carries "verified". */
      castellan_security_apply_style (GTK_WIDGET (self->security_icon), quiet ? "success" : NULL);
      castellan_security_apply_style (GTK_WIDGET (self->security_button),
                                      quiet ? NULL : castellan_security_style (level));
      if (v != NULL)
        {
          GtkWidget *details = castellan_security_details (v);

          if (self->downgrade != NULL || self->trust_removed != NULL)
            {
              GtkWidget *grid = castellan_security_grid_new ();

              if (self->downgrade != NULL)
                castellan_security_add_row (grid, _("Compared with last time"), self->downgrade);
              if (self->trust_removed != NULL)
                castellan_security_add_row (grid, _("TrustedHosts"), self->trust_removed);
              gtk_box_insert_child_after (GTK_BOX (details), grid, gtk_widget_get_first_child (details));
            }
          gtk_popover_set_child (GTK_POPOVER (popover), details);
        }
      else
        {
          GtkWidget *label = gtk_label_new (title);

          gtk_widget_add_css_class (label, "dim-label");
          gtk_popover_set_child (GTK_POPOVER (popover), label);
        }
    }
  gtk_label_set_label (self->security_label, title);
  gtk_widget_set_visible (GTK_WIDGET (self->security_label), !quiet);
  if (quiet)
    gtk_widget_add_css_class (GTK_WIDGET (self->security_button), "flat");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->security_button), "flat");
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->security_button), description);
  castellan_security_set_accessible (GTK_WIDGET (self->security_button), _("Connection security"),
                                     description);
  gtk_menu_button_set_popover (self->security_button, popover);
  update_banner (self);
  g_signal_emit (self, signals[SIGNAL_SECURITY_CHANGED], 0);
}

/* Broadcast typing reaches verified consoles by default; one whose server
 * is not proven, or not connected, only when the user chooses it. */
static void
update_broadcast_default (CastellanConsole *self)
{
  gboolean trusted = self->failure == NULL && self->verdict != NULL &&
                     castellan_verdict_get_level (self->verdict) >= CASTELLAN_LEVEL_CAVEATS;

  if (self->broadcast_chosen)
    return;
  self->broadcast_setting = TRUE;
  gtk_toggle_button_set_active (self->broadcast_toggle, trusted);
  self->broadcast_setting = FALSE;
}

static void
on_broadcast_toggle (GtkToggleButton  *button,
                     CastellanConsole *self)
{
  if (!self->broadcast_setting)
    self->broadcast_chosen = TRUE;
  g_signal_emit (self, signals[SIGNAL_BROADCAST_CHANGED], 0);
}

/* Delegation asked for and not done (or forced): said where the session
 * starts, whatever the level. */
static void
note_delegation (CastellanConsole *self)
{
  g_autofree char *delegation = castellan_verdict_delegation_note (self->verdict);

  if (delegation != NULL)
    feed_line (self, delegation, "\033[33m");
}

static void
on_output (CastellanSession *session,
           int               stream,
           GBytes           *bytes,
           CastellanConsole *self)
{
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);

  /* stderr in red, so it reads apart from stdout at a glance. */
  feed (self, data, len, stream == CASTELLAN_STREAM_STDERR ? "\033[31m" : NULL);
  if (self->last_output->len < LAST_OUTPUT_MAX)
    g_string_append_len (self->last_output, data, MIN (len, LAST_OUTPUT_MAX - self->last_output->len));
}

static void
on_command_done (CastellanSession *session,
                 int               exit_code,
                 double            seconds,
                 CastellanConsole *self)
{
  g_autofree char *line = g_strdup_printf (_("── exit %d · %.2f s"), exit_code, seconds);
  g_autofree char *status = g_strdup_printf (_("Exit %d · %.2f s"), exit_code, seconds);
  g_autofree char *output = g_utf8_make_valid (self->last_output->str, self->last_output->len);

  feed_line (self, line, exit_code == 0 ? "\033[2;32m" : "\033[1;31m");
  castellan_bench_report ("command-seconds", seconds, "s");
  castellan_bench_report ("command-worst-stall", castellan_bench_stall_max (), "ms");
  /* The status says how the command ended; its description carries the
   * output, so that a screen reader can read both. */
  gtk_label_set_label (self->status_label, status);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->status_label),
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, output, -1);
  g_string_truncate (self->last_output, 0);
}

static void
on_state_changed (CastellanSession *session,
                  CastellanConsole *self)
{
  switch (castellan_session_get_state (session))
    {
    case CASTELLAN_SESSION_CONNECTING:
      set_status (self, _("Connecting…"), TRUE);
      break;
    case CASTELLAN_SESSION_READY:
      gtk_widget_set_sensitive (GTK_WIDGET (self->input), TRUE);
      if (self->verdict != NULL)
        {
          /* The status keeps the last command's exit code. */
          gtk_spinner_set_spinning (self->spinner, FALSE);
          gtk_widget_set_visible (GTK_WIDGET (self->spinner), FALSE);
          break;
        }
      self->verdict = castellan_verdict_copy (castellan_session_get_verdict (session));
      update_broadcast_default (self);
      show_verdict (self);
      note_delegation (self);
      feed_line (self, _("Connected. Type a command below; Ctrl+C interrupts it."), "\033[2m");
      castellan_console_focus_input (self);
      set_status (self, _("Ready"), FALSE);
      break;
    case CASTELLAN_SESSION_BUSY:
      /* No spinner here: its animation would redraw the window for as long
       * as a command runs, and starve the terminal of the time it needs
       * to show the command's output. */
      set_status (self, _("Running…"), FALSE);
      break;
    case CASTELLAN_SESSION_CLOSED:
    default:
      break;
    }
}

/* A few words for the status and the indicator, and whether signing in
 * as someone else is what helps. */
static const char *
failure_words (const GError *error,
               gboolean     *wants_account)
{
  *wants_account = FALSE;
  if (error->domain != CASTELLAN_ERROR)
    return _("Disconnected");
  switch (error->code)
    {
    case CASTELLAN_ERROR_ACCESS_DENIED:
      *wants_account = TRUE;
      return _("Access denied");
    case CASTELLAN_ERROR_CREDENTIALS_REJECTED:
    case CASTELLAN_ERROR_AUTH_FAILED:
    case CASTELLAN_ERROR_NO_CREDENTIALS:
      *wants_account = TRUE;
      return _("Sign-in rejected");
    case CASTELLAN_ERROR_POLICY_REFUSED:
      return _("Refused by policy");
    default:
      return _("Disconnected");
    }
}

static void
on_closed (CastellanSession *session,
           const GError     *error,
           CastellanConsole *self)
{
  gtk_widget_set_sensitive (GTK_WIDGET (self->input), FALSE);
  /* Signed in, then refused (Access Denied, quota): the connection's
   * security was established, and stays in the details; the indicator
   * says the session failed. */
  if (self->verdict == NULL && castellan_session_get_verdict (session) != NULL)
    self->verdict = castellan_verdict_copy (castellan_session_get_verdict (session));
  if (error != NULL)
    {
      const char *words = failure_words (error, &self->wants_account);

      g_free (self->failure);
      g_free (self->failure_message);
      self->failure = g_strdup (words);
      self->failure_message = g_strdup (error->message);
      feed_line (self, error->message, "\033[1;31m");
      set_status (self, words, FALSE);
      /* Read out with the status, as a command's output is. */
      gtk_accessible_update_property (GTK_ACCESSIBLE (self->status_label),
                                      GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, error->message, -1);
      update_broadcast_default (self);
      show_verdict (self);
      g_signal_emit (self, signals[SIGNAL_FAILED], 0, error);
    }
  else
    {
      gtk_widget_set_visible (GTK_WIDGET (self->reconnect_button), TRUE);
      feed_line (self, _("The remote session ended."), "\033[2m");
      set_status (self, _("Session ended"), FALSE);
      show_verdict (self);
    }
}

static void
drop_session (CastellanConsole *self)
{
  if (self->session == NULL)
    return;
  g_signal_handlers_disconnect_by_data (self->session, self);
  castellan_session_close (self->session);
  g_clear_object (&self->session);
}

/* Connects (again): the scrollback stays, the verdict is taken anew. */
void
castellan_console_connect (CastellanConsole *self)
{
  g_autofree char *line = NULL;
  g_autofree char *url = castellan_endpoint_to_url (self->options->endpoint);

  drop_session (self);
  g_clear_pointer (&self->verdict, castellan_verdict_free);
  g_clear_pointer (&self->failure, g_free);
  g_clear_pointer (&self->failure_message, g_free);
  g_clear_pointer (&self->downgrade, g_free);
  g_clear_pointer (&self->trust_removed, g_free);
  update_broadcast_default (self);
  gtk_widget_set_visible (GTK_WIDGET (self->reconnect_button), FALSE);
  gtk_widget_set_sensitive (GTK_WIDGET (self->input), FALSE);
  line = g_strdup_printf (_("Connecting to %s…"), url);
  feed_line (self, line, "\033[2m");

  self->session = castellan_session_new (self->options, self->interpreter);
  castellan_session_set_paused (self->session, self->feed_full);
  g_signal_connect (self->session, "output", G_CALLBACK (on_output), self);
  g_signal_connect (self->session, "command-done", G_CALLBACK (on_command_done), self);
  g_signal_connect (self->session, "state-changed", G_CALLBACK (on_state_changed), self);
  g_signal_connect (self->session, "closed", G_CALLBACK (on_closed), self);
  castellan_session_open (self->session);
  show_verdict (self);
}

void
castellan_console_send_line (CastellanConsole *self,
                             const char       *line)
{
  CastellanSessionState state;

  if (self->session == NULL || castellan_console_is_held (self))
    return;
  state = castellan_session_get_state (self->session);
  if (state != CASTELLAN_SESSION_READY && state != CASTELLAN_SESSION_BUSY)
    return;
  feed_line (self, line, "\033[1m› ");
  castellan_bench_stall_reset ();
  castellan_session_send_line (self->session, line);
}

static void
on_input_activate (GtkEntry         *entry,
                   CastellanConsole *self)
{
  g_autofree char *line = g_strdup (gtk_editable_get_text (GTK_EDITABLE (entry)));

  if (*line == '\0')
    return;
  if (self->history->len == 0 ||
      !g_str_equal (g_ptr_array_index (self->history, self->history->len - 1), line))
    {
      g_ptr_array_add (self->history, g_strdup (line));
      if (self->history->len > HISTORY_MAX)
        g_ptr_array_remove_index (self->history, 0);
    }
  self->history_pos = self->history->len;
  gtk_editable_set_text (GTK_EDITABLE (entry), "");
  castellan_console_send_line (self, line);
  g_signal_emit (self, signals[SIGNAL_LINE_ENTERED], 0, line);
}

static gboolean
on_input_key (GtkEventControllerKey *controller,
              guint                  keyval,
              guint                  keycode,
              GdkModifierType        state,
              CastellanConsole      *self)
{
  int delta = 0;

  if ((state & GDK_CONTROL_MASK) && (keyval == GDK_KEY_c || keyval == GDK_KEY_C) &&
      !gtk_editable_get_selection_bounds (GTK_EDITABLE (self->input), NULL, NULL))
    {
      if (self->session != NULL)
        castellan_session_interrupt (self->session);
      feed_line (self, "^C", "\033[2m");
      return TRUE;
    }
  if (keyval == GDK_KEY_Up)
    delta = -1;
  else if (keyval == GDK_KEY_Down)
    delta = 1;
  if (delta == 0 || self->history->len == 0)
    return FALSE;
  self->history_pos = CLAMP (self->history_pos + delta, 0, (int) self->history->len);
  gtk_editable_set_text (GTK_EDITABLE (self->input),
                         self->history_pos < (int) self->history->len
                           ? g_ptr_array_index (self->history, self->history_pos) : "");
  gtk_editable_set_position (GTK_EDITABLE (self->input), -1);
  return TRUE;
}

static void
on_search (GtkSearchEntry   *entry,
           CastellanConsole *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (entry));
  g_autofree char *escaped = g_regex_escape_string (text, -1);
  g_autoptr(GError) error = NULL;
  VteRegex *regex;

  if (*text == '\0')
    {
      vte_terminal_search_set_regex (self->terminal, NULL, 0);
      return;
    }
  regex = vte_regex_new_for_search (escaped, -1, SEARCH_CASELESS, &error);
  if (regex == NULL)
    return;
  vte_terminal_search_set_regex (self->terminal, regex, 0);
  vte_regex_unref (regex);
  vte_terminal_search_find_previous (self->terminal);
}

static void
on_reconnect (GtkButton        *button,
              CastellanConsole *self)
{
  castellan_console_connect (self);
}

typedef struct
{
  CastellanConsole *self;
  GtkEditable *user;
  GtkEditable *password;
} AccountPrompt;

static void
account_answered (AdwMessageDialog *dialog,
                  const char       *response,
                  AccountPrompt    *p)
{
  if (g_str_equal (response, "connect"))
    {
      /* For this console only: the saved host keeps its account. */
      g_free (p->self->options->user);
      p->self->options->user = g_strdup (gtk_editable_get_text (p->user));
      castellan_connect_options_set_password (p->self->options, gtk_editable_get_text (p->password));
      castellan_console_connect (p->self);
    }
  gtk_editable_set_text (p->password, "");
  g_object_unref (p->self);
  g_free (p);
}

/* Access denied or a rejected sign-in: another account is what helps. */
static void
ask_account (CastellanConsole *self)
{
  AccountPrompt *p = g_new0 (AccountPrompt, 1);
  g_autofree char *name = castellan_console_dup_title (self);
  GtkWidget *dialog = adw_message_dialog_new (GTK_WINDOW (gtk_widget_get_root (GTK_WIDGET (self))),
                                              _("Use Another Account"), name);
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *user = gtk_entry_new ();
  GtkWidget *password = castellan_password_entry_new (_("Password"));

  p->self = g_object_ref (self);
  p->user = GTK_EDITABLE (user);
  p->password = GTK_EDITABLE (password);
  gtk_entry_set_placeholder_text (GTK_ENTRY (user), _("DOMAIN\\user or user@REALM"));
  gtk_editable_set_text (p->user, self->options->user ? self->options->user : "");
  gtk_accessible_update_property (GTK_ACCESSIBLE (user), GTK_ACCESSIBLE_PROPERTY_LABEL, _("User"), -1);
  gtk_box_append (GTK_BOX (box), user);
  gtk_box_append (GTK_BOX (box), password);
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), box);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog), "cancel", _("_Cancel"), "connect", _("C_onnect"), NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "connect", ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "connect");
  g_signal_connect (dialog, "response", G_CALLBACK (account_answered), p);
  gtk_window_present (GTK_WINDOW (dialog));
  gtk_widget_grab_focus (password);
}

static void
on_banner_button (CastellanBanner  *banner,
                  CastellanConsole *self)
{
  if (self->failure != NULL && self->wants_account)
    ask_account (self);
  else if (self->failure != NULL)
    castellan_console_connect (self);
  else
    gtk_menu_button_popup (self->security_button);
}

/* Colours that follow the light or dark style of the desktop. */
static void
update_colors (CastellanConsole *self)
{
  gboolean dark = adw_style_manager_get_dark (adw_style_manager_get_default ());
  GdkRGBA fg, bg;

  gdk_rgba_parse (&fg, dark ? "#ffffff" : "#241f31");
  gdk_rgba_parse (&bg, dark ? "#1e1e1e" : "#ffffff");
  vte_terminal_set_colors (self->terminal, &fg, &bg, NULL, 0);
}

static void
castellan_console_dispose (GObject *object)
{
  CastellanConsole *self = CASTELLAN_CONSOLE (object);

  GtkWidget *child;

  drop_session (self);
  g_clear_pointer (&self->feed, castellan_terminal_feed_free);
  gtk_widget_dispose_template (GTK_WIDGET (self), CASTELLAN_TYPE_CONSOLE);
  /* The template's children without an ID, too. */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);
  G_OBJECT_CLASS (castellan_console_parent_class)->dispose (object);
}

static void
castellan_console_finalize (GObject *object)
{
  CastellanConsole *self = CASTELLAN_CONSOLE (object);

  g_clear_object (&self->host);
  castellan_connect_options_free (self->options);
  castellan_verdict_free (self->verdict);
  g_free (self->failure);
  g_free (self->failure_message);
  g_free (self->downgrade);
  g_free (self->trust_removed);
  g_ptr_array_unref (self->history);
  g_string_free (self->last_output, TRUE);
  G_OBJECT_CLASS (castellan_console_parent_class)->finalize (object);
}

static void
castellan_console_class_init (CastellanConsoleClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = castellan_console_dispose;
  object_class->finalize = castellan_console_finalize;

  signals[SIGNAL_SECURITY_CHANGED] = g_signal_new ("security-changed", G_TYPE_FROM_CLASS (klass),
                                                   G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                   G_TYPE_NONE, 0);
  signals[SIGNAL_FAILED] = g_signal_new ("failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                         0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
  signals[SIGNAL_LINE_ENTERED] = g_signal_new ("line-entered", G_TYPE_FROM_CLASS (klass),
                                               G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                               G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[SIGNAL_BROADCAST_CHANGED] = g_signal_new ("broadcast-changed", G_TYPE_FROM_CLASS (klass),
                                                    G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                    G_TYPE_NONE, 0);

  g_type_ensure (VTE_TYPE_TERMINAL);
  g_type_ensure (CASTELLAN_TYPE_BANNER);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/castellan/Castellan/ui/castellan-console.ui");
  gtk_widget_class_bind_template_child (widget_class, CastellanConsole, search_bar);
  gtk_widget_class_bind_template_child (widget_class, CastellanConsole, search_entry);
  gtk_widget_class_bind_template_child (widget_class, CastellanConsole, banner);
  gtk_widget_class_bind_template_child (widget_class, CastellanConsole, terminal);
  gtk_widget_class_bind_template_child (widget_class, CastellanConsole, spinner);
  gtk_widget_class_bind_template_child (widget_class, CastellanConsole, status_label);
  gtk_widget_class_bind_template_child (widget_class, CastellanConsole, input);
  gtk_widget_class_bind_template_child (widget_class, CastellanConsole, broadcast_toggle);
  gtk_widget_class_bind_template_child (widget_class, CastellanConsole, security_button);
  gtk_widget_class_bind_template_child (widget_class, CastellanConsole, security_icon);
  gtk_widget_class_bind_template_child (widget_class, CastellanConsole, security_label);
  gtk_widget_class_bind_template_child (widget_class, CastellanConsole, reconnect_button);
  gtk_widget_class_bind_template_callback (widget_class, on_input_activate);
  gtk_widget_class_bind_template_callback (widget_class, on_input_key);
  gtk_widget_class_bind_template_callback (widget_class, on_search);
  gtk_widget_class_bind_template_callback (widget_class, on_reconnect);
  gtk_widget_class_bind_template_callback (widget_class, on_banner_button);
  gtk_widget_class_bind_template_callback (widget_class, on_broadcast_toggle);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BOX_LAYOUT);
}

static void
castellan_console_init (CastellanConsole *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_orientable_set_orientation (GTK_ORIENTABLE (gtk_widget_get_layout_manager (GTK_WIDGET (self))),
                                  GTK_ORIENTATION_VERTICAL);
  self->history = g_ptr_array_new_with_free_func (g_free);
  self->last_output = g_string_new (NULL);
  vte_terminal_set_scrollback_lines (self->terminal, SCROLLBACK_LINES);
  vte_terminal_set_input_enabled (self->terminal, FALSE);
  self->feed = castellan_terminal_feed_new (self->terminal, on_feed_pressure, self);
  gtk_search_bar_connect_entry (self->search_bar, GTK_EDITABLE (self->search_entry));
  update_colors (self);
  g_signal_connect_object (adw_style_manager_get_default (), "notify::dark",
                           G_CALLBACK (update_colors), self, G_CONNECT_SWAPPED);
}

CastellanConsole *
castellan_console_new (CastellanHost                 *host,
                       const CastellanConnectOptions *options,
                       CastellanInterpreter           interpreter)
{
  CastellanConsole *self = g_object_new (CASTELLAN_TYPE_CONSOLE, NULL);
  g_autofree char *title = NULL;

  self->host = g_object_ref (host);
  self->options = castellan_connect_options_copy (options);
  self->interpreter = interpreter;
  title = castellan_console_dup_title (self);
  /* Named after its host, so that a screen reader says whose console it is. */
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL, title, -1);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->terminal),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Remote output"), -1);
  show_verdict (self);
  return self;
}

gboolean
castellan_console_is_connecting (CastellanConsole *self)
{
  return self->session != NULL &&
         castellan_session_get_state (self->session) == CASTELLAN_SESSION_CONNECTING;
}

CastellanHost *
castellan_console_get_host (CastellanConsole *self)
{
  return self->host;
}

const CastellanVerdict *
castellan_console_get_verdict (CastellanConsole *self)
{
  return self->verdict;
}

char *
castellan_console_dup_title (CastellanConsole *self)
{
  return castellan_host_dup_display_name (self->host);
}

/* Whether typing broadcast from another tab reaches this one. */
gboolean
castellan_console_get_broadcast (CastellanConsole *self)
{
  return castellan_console_is_open (self) && gtk_toggle_button_get_active (self->broadcast_toggle);
}

/* Broadcast on: the toggle shows on every tab that receives typing, and a
 * tab can opt out with it. */
void
castellan_console_set_broadcast_active (CastellanConsole *self,
                                        gboolean          active)
{
  gtk_widget_set_visible (GTK_WIDGET (self->broadcast_toggle), active);
}

void
castellan_console_focus_input (CastellanConsole *self)
{
  gtk_widget_grab_focus (GTK_WIDGET (self->input));
}

void
castellan_console_find (CastellanConsole *self)
{
  gtk_search_bar_set_search_mode (self->search_bar, TRUE);
  gtk_widget_grab_focus (GTK_WIDGET (self->search_entry));
}

/* Weaker than last time: a line in the banner, the comparison in the
 * details, and the tab asks for attention. */
void
castellan_console_note_downgrade (CastellanConsole *self,
                                  const char       *message)
{
  g_free (self->downgrade);
  self->downgrade = g_strdup (message);
  feed_line (self, message, "\033[1;33m");
  show_verdict (self);
}

gboolean
castellan_console_is_downgraded (CastellanConsole *self)
{
  return self->downgrade != NULL;
}

const char *
castellan_console_get_failure (CastellanConsole *self)
{
  return self->failure;
}

/* Connected and ready for a line, or running one. */
gboolean
castellan_console_is_open (CastellanConsole *self)
{
  CastellanSessionState state = self->session ? castellan_session_get_state (self->session)
                                               : CASTELLAN_SESSION_CLOSED;

  return self->failure == NULL && (state == CASTELLAN_SESSION_READY || state == CASTELLAN_SESSION_BUSY);
}

gboolean
castellan_console_is_busy (CastellanConsole *self)
{
  return self->session != NULL && castellan_session_get_state (self->session) == CASTELLAN_SESSION_BUSY;
}

static void
transcript_chosen (GtkNativeDialog  *dialog,
                   int               response,
                   CastellanConsole *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autoptr(GError) error = NULL;
      g_autoptr(GFileOutputStream) out = g_file_replace (file, NULL, FALSE,
                                                          G_FILE_CREATE_PRIVATE, NULL, &error);

      if (out == NULL ||
          !vte_terminal_write_contents_sync (self->terminal, G_OUTPUT_STREAM (out),
                                             VTE_WRITE_DEFAULT, NULL, &error) ||
          !g_output_stream_close (G_OUTPUT_STREAM (out), NULL, &error))
        feed_line (self, error->message, "\033[1;31m");
    }
  g_object_unref (dialog);
  g_object_unref (self);
}

void
castellan_console_save_transcript (CastellanConsole *self)
{
  GtkFileChooserNative *dialog;
  g_autofree char *name = castellan_console_dup_title (self);
  g_autofree char *file = g_strdup_printf ("%s.txt", name);

  dialog = gtk_file_chooser_native_new (_("Save Transcript"),
                                        GTK_WINDOW (gtk_widget_get_root (GTK_WIDGET (self))),
                                        GTK_FILE_CHOOSER_ACTION_SAVE, _("_Save"), _("_Cancel"));
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (dialog), file);
  g_signal_connect (dialog, "response", G_CALLBACK (transcript_chosen), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void
on_font_changed (GSettings        *settings,
                 const char       *key,
                 CastellanConsole *self)
{
  g_autofree char *font = g_settings_get_string (settings, "font");
  PangoFontDescription *desc = pango_font_description_from_string (font);

  vte_terminal_set_font (self->terminal, desc);
  pango_font_description_free (desc);
}

/* Scrollback and font follow the preferences, live. */
void
castellan_console_bind_settings (CastellanConsole *self,
                                 GSettings        *settings)
{
  if (settings == NULL)
    return;
  g_settings_bind (settings, "scrollback-lines", self->terminal, "scrollback-lines", G_SETTINGS_BIND_GET);
  on_font_changed (settings, "font", self);
  g_signal_connect_object (settings, "changed::font", G_CALLBACK (on_font_changed), self, 0);
}

/* The selected output, or all of it when nothing is selected. */
void
castellan_console_copy (CastellanConsole *self)
{
  gboolean selected = vte_terminal_get_has_selection (self->terminal);

  if (!selected)
    vte_terminal_select_all (self->terminal);
  vte_terminal_copy_clipboard_format (self->terminal, VTE_FORMAT_TEXT);
  if (!selected)
    vte_terminal_unselect_all (self->terminal);
}

void
castellan_console_close (CastellanConsole *self)
{
  drop_session (self);
}

/* A connection less protected than expected: nothing leaves this console,
 * typed or broadcast, until the user has decided. */
void
castellan_console_set_held (CastellanConsole *self,
                            gboolean          held)
{
  gboolean ready = self->session != NULL &&
                   castellan_session_get_state (self->session) == CASTELLAN_SESSION_READY;

  g_object_set_data (G_OBJECT (self), "castellan-held", GINT_TO_POINTER (held));
  gtk_widget_set_sensitive (GTK_WIDGET (self->input), ready && !held);
  if (ready && !held)
    castellan_console_focus_input (self);
}

gboolean
castellan_console_is_held (CastellanConsole *self)
{
  return g_object_get_data (G_OBJECT (self), "castellan-held") != NULL;
}

/* The TrustedHosts entry that allowed this connection was removed: the
 * session stays, but no longer cites it, and says what that means. Not
 * a downgrade: this session is as protected as it was. */
void
castellan_console_trusted_entry_removed (CastellanConsole *self)
{
  if (self->verdict == NULL || self->verdict->trusted_hosts_entry == NULL)
    return;
  g_free (self->trust_removed);
  self->trust_removed = g_strdup_printf (_("The TrustedHosts entry “%s” that allowed this connection was removed: this session goes on, but a new connection to this host will be refused."),
                                         self->verdict->trusted_hosts_entry);
  g_clear_pointer (&self->verdict->trusted_hosts_entry, g_free);
  feed_line (self, self->trust_removed, "\033[1;33m");
  show_verdict (self);
}
