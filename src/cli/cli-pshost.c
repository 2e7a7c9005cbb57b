/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>
#include <unistd.h>

#include "castellan-error.h"
#include "cli-pshost.h"

/* One host call being answered through the terminal. */
typedef struct
{
  CliPsHost *host;
  CastellanPsrpEvent *event;
  GPtrArray *fields;             /* of CastellanPsrpField */
  guint index;
  gboolean asking_user;          /* a credential's user name comes first */
  char *user;
  CastellanClixmlValue *answers; /* Prompt: name -> value */
  /* PromptForChoice */
  GPtrArray *choices;            /* of char*, labels with their & */
  int default_choice;
} Asking;

struct _CliPsHost
{
  CastellanPsrpSession *session;
  CliTty *tty;
  gboolean progress;
  gboolean progress_shown;
  CliPsWrite write;
  void (*flush) (gpointer write_data);
  gpointer write_data;
  int exit_request;
  guint errors;
  Asking *asking;
};

CliPsHost *
cli_pshost_new (CastellanPsrpSession *session,
                CliTty               *tty,
                gboolean              progress,
                CliPsWrite            write,
                void                (*flush) (gpointer write_data),
                gpointer              write_data)
{
  CliPsHost *host = g_new0 (CliPsHost, 1);

  host->session = g_object_ref (session);
  host->tty = tty;
  host->progress = progress;
  host->write = write;
  host->flush = flush;
  host->write_data = write_data;
  host->exit_request = -1;
  return host;
}

static void
asking_free (Asking *a)
{
  castellan_psrp_event_free (a->event);
  g_clear_pointer (&a->fields, g_ptr_array_unref);
  g_clear_pointer (&a->choices, g_ptr_array_unref);
  cli_tty_secret_free (a->user);
  g_clear_pointer (&a->answers, castellan_clixml_value_unref);
  g_free (a);
}

void
cli_pshost_free (CliPsHost *host)
{
  if (host == NULL)
    return;
  g_clear_pointer (&host->asking, asking_free);
  g_object_unref (host->session);
  g_free (host);
}

int
cli_pshost_exit_request (CliPsHost *host)
{
  return host->exit_request;
}

guint
cli_pshost_error_count (CliPsHost *host)
{
  return host->errors;
}

/* ---- writing -------------------------------------------------------------- */

static void
clear_progress (CliPsHost *host)
{
  if (!host->progress_shown)
    return;
  host->progress_shown = FALSE;
  host->write (STDERR_FILENO, "\r\033[K", 4, host->write_data);
}

void
cli_pshost_finish (CliPsHost *host)
{
  clear_progress (host);
}

static void
put (CliPsHost  *host,
     int         fd,
     const char *prefix,
     const char *text,
     gboolean    newline)
{
  clear_progress (host);
  if (prefix != NULL)
    host->write (fd, prefix, strlen (prefix), host->write_data);
  if (text != NULL)
    host->write (fd, text, strlen (text), host->write_data);
  if (newline)
    host->write (fd, "\n", 1, host->write_data);
}

/* A Write call's text, without a copy: a string parameter as it came. */
static void
put_parameter (CliPsHost                *host,
               int                       fd,
               const CastellanPsrpEvent *event,
               guint                     index,
               gboolean                  newline)
{
  CastellanClixmlValue *v = castellan_psrp_host_call_parameter (event->call, index);

  if (v != NULL && v->kind == CASTELLAN_CLIXML_STRING)
    {
      clear_progress (host);
      host->write (fd, v->text, v->text_length, host->write_data);
      if (newline)
        host->write (fd, "\n", 1, host->write_data);
      return;
    }
  {
    g_autofree char *text = castellan_psrp_host_call_text (event->call, index);

    put (host, fd, NULL, text, newline);
  }
}

/* One line on stderr that the next progress or output replaces. */
static void
show_progress (CliPsHost                  *host,
               const CastellanClixmlValue *record)
{
  CastellanPsrpProgress progress;
  g_autoptr(GString) line = NULL;
  int columns;

  if (!host->progress || !castellan_psrp_progress_read (record, &progress))
    return;
  if (progress.completed)
    {
      castellan_psrp_progress_clear (&progress);
      clear_progress (host);
      return;
    }
  line = g_string_new ("\r\033[K");
  g_string_append (line, progress.activity ? progress.activity : "");
  if (progress.status != NULL && *g_strstrip (progress.status) != '\0')
    g_string_append_printf (line, ": %s", progress.status);
  if (progress.percent >= 0)
    g_string_append_printf (line, " %d%%", progress.percent);
  castellan_psrp_progress_clear (&progress);
  columns = cli_tty_columns (STDERR_FILENO);
  if (columns > 1 && g_utf8_strlen (line->str + 4, -1) >= columns)
    {
      const char *end = g_utf8_offset_to_pointer (line->str + 4, columns - 1);

      g_string_truncate (line, end - line->str);
    }
  host->write (STDERR_FILENO, line->str, line->len, host->write_data);
  host->progress_shown = TRUE;
}

/* ---- answering ------------------------------------------------------------ */

static void
respond (CliPsHost            *host,
         CastellanPsrpEvent   *event,
         CastellanClixmlValue *result,
         CastellanClixmlValue *error_record)
{
  g_autoptr(GError) error = NULL;

  if (!castellan_psrp_session_host_response (host->session, event, result, error_record, &error))
    g_debug ("host response: %s", error->message);
  castellan_psrp_event_free (event);
}

static void
refuse (CliPsHost          *host,
        CastellanPsrpEvent *event,
        const char         *message,
        const char         *error_id)
{
  respond (host, event, NULL, castellan_psrp_error_record_new (message, error_id, 0));
}

static const char *
no_terminal (void)
{
  return _("castellan-run cannot ask for input here: it has no terminal. Run it in a terminal, or give the script what it asks for in another way.");
}

static CastellanClixmlValue *
secure_string (CliPsHost  *host,
               const char *text,
               GError    **error)
{
  g_autoptr(GBytes) bytes = castellan_psrp_session_encrypt (host->session, text, error);

  return bytes ? castellan_clixml_value_new_bytes (CASTELLAN_CLIXML_SECURE_STRING, bytes) : NULL;
}

/* A choice's label as shown, without the '&' that marks its hot key. */
static char *
plain_label (const char *label)
{
  char *plain = g_strdup (label);
  char *p;

  while ((p = strchr (plain, '&')) != NULL)
    memmove (p, p + 1, strlen (p));
  return plain;
}

/* "[Y] Yes  [N] No  (default is “Yes”): ", as PowerShell's console asks. */
static char *
choice_prompt (Asking *a)
{
  GString *line = g_string_sized_new (64);

  for (guint i = 0; i < a->choices->len; i++)
    {
      const char *label = g_ptr_array_index (a->choices, i);
      const char *amp = strchr (label, '&');
      g_autofree char *plain = plain_label (label);

      if (amp != NULL && amp[1] != '\0')
        g_string_append_printf (line, "[%.*s] %s  ", (int) (g_utf8_next_char (amp + 1) - (amp + 1)),
                                amp + 1, plain);
      else
        g_string_append_printf (line, "[%u] %s  ", i, plain);
    }
  if (a->default_choice >= 0 && (guint) a->default_choice < a->choices->len)
    {
      g_autofree char *plain = plain_label (g_ptr_array_index (a->choices, a->default_choice));

      g_string_append_printf (line, _("(default is “%s”): "), plain);
    }
  else
    {
      g_string_append (line, ": ");
    }
  return g_string_free (line, FALSE);
}

static void ask_next (Asking *a);

static void
asking_done (Asking               *a,
             CastellanClixmlValue *result,
             CastellanClixmlValue *error_record)
{
  CliPsHost *host = a->host;

  respond (host, g_steal_pointer (&a->event), result, error_record);
  g_clear_pointer (&host->asking, asking_free);
}

static void
asking_failed (Asking     *a,
               const char *message)
{
  asking_done (a, NULL, castellan_psrp_error_record_new (message, "PromptFailed", 0));
}

static CastellanClixmlValue *
credential (CliPsHost  *host,
            const char *user,
            const char *password,
            GError    **error)
{
  g_autoptr(GBytes) bytes = castellan_psrp_session_encrypt (host->session, password, error);

  return bytes ? castellan_psrp_credential_new (user, bytes) : NULL;
}

static void
answered (char     *line,
          gpointer  user_data)
{
  Asking *a = user_data;
  CliPsHost *host = a->host;
  CastellanPsrpHostMethod method = a->event->call->method;
  g_autoptr(GError) error = NULL;
  CastellanClixmlValue *value = NULL;
  CastellanPsrpField *field;

  if (line == NULL)
    {
      asking_failed (a, _("The prompt was cancelled."));
      return;
    }
  if (method == CASTELLAN_PSRP_HOST_READ_LINE)
    {
      asking_done (a, castellan_clixml_value_new_string (line), NULL);
      g_free (line);
      return;
    }
  if (method == CASTELLAN_PSRP_HOST_READ_LINE_AS_SECURE_STRING)
    {
      value = secure_string (host, line, &error);
      cli_tty_secret_free (line);
      if (value == NULL)
        asking_failed (a, error->message);
      else
        asking_done (a, value, NULL);
      return;
    }
  if (a->choices != NULL)
    {
      int chosen = -1;

      g_strstrip (line);
      if (*line == '\0')
        chosen = a->default_choice;
      for (guint i = 0; chosen < 0 && i < a->choices->len; i++)
        {
          const char *label = g_ptr_array_index (a->choices, i);
          const char *amp = strchr (label, '&');
          g_autofree char *plain = plain_label (label);

          if (g_ascii_strcasecmp (line, plain) == 0 ||
              (amp != NULL && amp[1] != '\0' && g_utf8_strlen (line, -1) == 1 &&
               g_unichar_toupper (g_utf8_get_char (line)) == g_unichar_toupper (g_utf8_get_char (amp + 1))))
            chosen = (int) i;
        }
      g_free (line);
      if (chosen < 0)
        {
          ask_next (a);
          return;
        }
      if (method == CASTELLAN_PSRP_HOST_PROMPT_FOR_CHOICE_MULTIPLE_SELECTION)
        {
          CastellanClixmlValue *list = castellan_clixml_value_new_object (NULL, CASTELLAN_CLIXML_CONTAINER_LIST);

          castellan_clixml_value_add_item (list, castellan_clixml_value_new_signed (CASTELLAN_CLIXML_INT32, chosen));
          asking_done (a, list, NULL);
        }
      else
        {
          asking_done (a, castellan_clixml_value_new_signed (CASTELLAN_CLIXML_INT32, chosen), NULL);
        }
      return;
    }

  /* Prompt and PromptForCredential: field by field. */
  field = g_ptr_array_index (a->fields, a->index);
  if (field->kind == CASTELLAN_PSRP_FIELD_CREDENTIAL && a->asking_user)
    {
      a->user = line;
      a->asking_user = FALSE;
      ask_next (a);
      return;
    }
  if (field->kind == CASTELLAN_PSRP_FIELD_CREDENTIAL)
    value = credential (host, a->user, line, &error);
  else if (field->kind == CASTELLAN_PSRP_FIELD_SECRET)
    value = secure_string (host, line, &error);
  else
    value = castellan_clixml_value_new_string (line);
  cli_tty_secret_free (line);
  if (value == NULL)
    {
      asking_failed (a, error->message);
      return;
    }
  if (method != CASTELLAN_PSRP_HOST_PROMPT)
    {
      asking_done (a, value, NULL);
      return;
    }
  castellan_clixml_value_add_entry (a->answers, castellan_clixml_value_new_string (field->name), value);
  cli_tty_secret_free (g_steal_pointer (&a->user));
  a->index++;
  if (a->index < a->fields->len)
    {
      ask_next (a);
      return;
    }
  asking_done (a, castellan_clixml_value_ref (a->answers), NULL);
}

static void
ask_next (Asking *a)
{
  CliTty *tty = a->host->tty;
  CastellanPsrpHostMethod method = a->event->call->method;
  g_autofree char *prompt = NULL;
  CastellanPsrpField *field;

  if (method == CASTELLAN_PSRP_HOST_READ_LINE)
    {
      cli_tty_ask (tty, "", FALSE, answered, a);
      return;
    }
  if (method == CASTELLAN_PSRP_HOST_READ_LINE_AS_SECURE_STRING)
    {
      cli_tty_ask (tty, "", TRUE, answered, a);
      return;
    }
  if (a->choices != NULL)
    {
      g_autofree char *line = choice_prompt (a);

      cli_tty_ask (tty, line, FALSE, answered, a);
      return;
    }
  field = g_ptr_array_index (a->fields, a->index);
  if (field->kind == CASTELLAN_PSRP_FIELD_CREDENTIAL && a->asking_user)
    {
      cli_tty_ask (tty, _("User: "), FALSE, answered, a);
      return;
    }
  if (field->kind == CASTELLAN_PSRP_FIELD_CREDENTIAL)
    prompt = g_strdup_printf (_("Password for user %s: "), a->user);
  else
    prompt = g_strdup_printf ("%s: ", field->label);
  cli_tty_ask (tty, prompt, field->kind != CASTELLAN_PSRP_FIELD_TEXT, answered, a);
}

static void
key_ready (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Asking *a = user_data;
  g_autoptr(GError) error = NULL;

  if (!castellan_psrp_session_prepare_key_finish (CASTELLAN_PSRP_SESSION (source), result, &error))
    {
      asking_failed (a, error->message);
      return;
    }
  ask_next (a);
}

static void
print_heading (CliPsHost                *host,
               const CastellanPsrpEvent *event)
{
  g_autofree char *caption = castellan_psrp_host_call_text (event->call, 0);
  g_autofree char *message = castellan_psrp_host_call_text (event->call, 1);

  if (caption != NULL && *caption != '\0')
    {
      g_autofree char *line = g_strconcat (caption, "\n", NULL);

      cli_tty_write (host->tty, line);
    }
  if (message != NULL && *message != '\0')
    {
      g_autofree char *line = g_strconcat (message, "\n", NULL);

      cli_tty_write (host->tty, line);
    }
}

/* Starts asking; the answer goes back when the last question is answered. */
static void
ask (CliPsHost          *host,
     CastellanPsrpEvent *event)
{
  Asking *a;
  CastellanPsrpHostMethod method = event->call->method;
  gboolean secret = method == CASTELLAN_PSRP_HOST_READ_LINE_AS_SECURE_STRING;

  if (host->tty == NULL)
    {
      refuse (host, event, no_terminal (), "NoTerminal");
      return;
    }
  if (host->asking != NULL)
    {
      refuse (host, event, _("Another prompt is waiting for an answer."), "PromptBusy");
      return;
    }
  a = g_new0 (Asking, 1);
  a->host = host;
  a->event = event;
  a->fields = g_ptr_array_new_with_free_func ((GDestroyNotify) castellan_psrp_field_free);
  host->asking = a;
  clear_progress (host);
  /* What the script wrote before it asked is on the screen first. */
  if (host->flush != NULL)
    host->flush (host->write_data);

  switch ((int) method)
    {
    case CASTELLAN_PSRP_HOST_PROMPT:
      {
        const char *hashtable[] = { "System.Collections.Hashtable", "System.Object", NULL };

        print_heading (host, event);
        a->answers = castellan_clixml_value_new_object (hashtable, CASTELLAN_CLIXML_CONTAINER_DICTIONARY);
        g_ptr_array_unref (a->fields);
        a->fields = castellan_psrp_host_call_fields (event->call);
        for (guint i = 0; i < a->fields->len; i++)
          secret |= ((CastellanPsrpField *) g_ptr_array_index (a->fields, i))->kind != CASTELLAN_PSRP_FIELD_TEXT;
        if (a->fields->len == 0)
          {
            asking_done (a, castellan_clixml_value_ref (a->answers), NULL);
            return;
          }
        a->asking_user = ((CastellanPsrpField *) g_ptr_array_index (a->fields, 0))->kind == CASTELLAN_PSRP_FIELD_CREDENTIAL;
        break;
      }
    case CASTELLAN_PSRP_HOST_PROMPT_FOR_CREDENTIAL1:
    case CASTELLAN_PSRP_HOST_PROMPT_FOR_CREDENTIAL2:
      {
        g_autofree char *user = castellan_psrp_host_call_text (event->call, 2);
        CastellanPsrpField *field = g_new0 (CastellanPsrpField, 1);

        print_heading (host, event);
        field->name = g_strdup ("Credential");
        field->label = g_strdup ("Credential");
        field->kind = CASTELLAN_PSRP_FIELD_CREDENTIAL;
        g_ptr_array_add (a->fields, field);
        if (user != NULL && *user != '\0')
          a->user = g_steal_pointer (&user);
        else
          a->asking_user = TRUE;
        secret = TRUE;
        break;
      }
    case CASTELLAN_PSRP_HOST_PROMPT_FOR_CHOICE:
    case CASTELLAN_PSRP_HOST_PROMPT_FOR_CHOICE_MULTIPLE_SELECTION:
      print_heading (host, event);
      a->choices = castellan_psrp_host_call_choices (event->call, &a->default_choice);
      if (a->choices->len == 0)
        {
          asking_failed (a, _("The prompt offers no choices."));
          return;
        }
      break;
    default:
      break;
    }
  if (secret)
    {
      castellan_psrp_session_prepare_key_async (host->session, NULL, key_ready, a);
      return;
    }
  ask_next (a);
}

void
cli_pshost_interrupt (CliPsHost *host)
{
  if (host->tty != NULL)
    cli_tty_cancel (host->tty);
}

/* The host's answers that need no one at the terminal. */
static CastellanClixmlValue *
raw_ui (CliPsHost               *host,
        CastellanPsrpHostMethod  method)
{
  const CastellanPsrpHostDefaults *d = castellan_psrp_session_get_host (host->session);
  int width = d ? d->buffer_width : 120;
  int height = d ? d->buffer_height : 50;

  switch ((int) method)
    {
    case CASTELLAN_PSRP_HOST_GET_NAME:
      return castellan_clixml_value_new_string ("castellan-run");
    case CASTELLAN_PSRP_HOST_GET_VERSION:
      return castellan_clixml_value_new_text (CASTELLAN_CLIXML_VERSION, "1.0");
    case CASTELLAN_PSRP_HOST_GET_FOREGROUND_COLOR:
      return castellan_clixml_value_new_enum ("System.ConsoleColor", "Gray", d ? d->foreground : 7);
    case CASTELLAN_PSRP_HOST_GET_BACKGROUND_COLOR:
      return castellan_clixml_value_new_enum ("System.ConsoleColor", "Black", d ? d->background : 0);
    case CASTELLAN_PSRP_HOST_GET_CURSOR_POSITION:
    case CASTELLAN_PSRP_HOST_GET_WINDOW_POSITION:
      return castellan_psrp_coordinates_new (0, 0);
    case CASTELLAN_PSRP_HOST_GET_CURSOR_SIZE:
      return castellan_clixml_value_new_signed (CASTELLAN_CLIXML_INT32, 25);
    case CASTELLAN_PSRP_HOST_GET_BUFFER_SIZE:
    case CASTELLAN_PSRP_HOST_GET_WINDOW_SIZE:
    case CASTELLAN_PSRP_HOST_GET_MAX_WINDOW_SIZE:
    case CASTELLAN_PSRP_HOST_GET_MAX_PHYSICAL_WINDOW_SIZE:
      return castellan_psrp_size_new (width, height);
    case CASTELLAN_PSRP_HOST_GET_WINDOW_TITLE:
      return castellan_clixml_value_new_string (d && d->window_title ? d->window_title : "");
    case CASTELLAN_PSRP_HOST_GET_KEY_AVAILABLE:
      return castellan_clixml_value_new_bool (FALSE);
    default:
      return NULL;
    }
}

static void
host_call (CliPsHost          *host,
           CastellanPsrpEvent *event)
{
  CastellanPsrpHostCall *call = event->call;
  g_autofree char *text = NULL;
  CastellanClixmlValue *answer;

  switch ((int) call->method)
    {
    case CASTELLAN_PSRP_HOST_WRITE1:
    case CASTELLAN_PSRP_HOST_WRITE2:
      put_parameter (host, STDOUT_FILENO, event, call->method == CASTELLAN_PSRP_HOST_WRITE1 ? 0 : 2, FALSE);
      break;
    case CASTELLAN_PSRP_HOST_WRITE_LINE1:
      put (host, STDOUT_FILENO, NULL, NULL, TRUE);
      break;
    case CASTELLAN_PSRP_HOST_WRITE_LINE2:
    case CASTELLAN_PSRP_HOST_WRITE_LINE3:
      put_parameter (host, STDOUT_FILENO, event, call->method == CASTELLAN_PSRP_HOST_WRITE_LINE2 ? 0 : 2, TRUE);
      break;
    case CASTELLAN_PSRP_HOST_WRITE_ERROR_LINE:
      text = castellan_psrp_host_call_text (event->call, 0);
      put (host, STDERR_FILENO, NULL, text, TRUE);
      break;
    case CASTELLAN_PSRP_HOST_WRITE_DEBUG_LINE:
      text = castellan_psrp_host_call_text (event->call, 0);
      put (host, STDERR_FILENO, "DEBUG: ", text, TRUE);
      break;
    case CASTELLAN_PSRP_HOST_WRITE_VERBOSE_LINE:
      text = castellan_psrp_host_call_text (event->call, 0);
      put (host, STDERR_FILENO, "VERBOSE: ", text, TRUE);
      break;
    case CASTELLAN_PSRP_HOST_WRITE_WARNING_LINE:
      text = castellan_psrp_host_call_text (event->call, 0);
      put (host, STDERR_FILENO, "WARNING: ", text, TRUE);
      break;
    case CASTELLAN_PSRP_HOST_WRITE_PROGRESS:
      show_progress (host, castellan_psrp_host_call_parameter (call, 1));
      break;
    case CASTELLAN_PSRP_HOST_SET_SHOULD_EXIT:
      {
        CastellanClixmlValue *code = castellan_psrp_host_call_parameter (call, 0);

        if (code != NULL && code->kind == CASTELLAN_CLIXML_INT32)
          host->exit_request = (int) (code->integer & 0xff);
        break;
      }
    case CASTELLAN_PSRP_HOST_READ_LINE:
    case CASTELLAN_PSRP_HOST_READ_LINE_AS_SECURE_STRING:
    case CASTELLAN_PSRP_HOST_PROMPT:
    case CASTELLAN_PSRP_HOST_PROMPT_FOR_CREDENTIAL1:
    case CASTELLAN_PSRP_HOST_PROMPT_FOR_CREDENTIAL2:
    case CASTELLAN_PSRP_HOST_PROMPT_FOR_CHOICE:
    case CASTELLAN_PSRP_HOST_PROMPT_FOR_CHOICE_MULTIPLE_SELECTION:
      ask (host, event);
      return;
    default:
      if (call->call_id == CASTELLAN_PSRP_HOST_CALL_VOID)
        break;
      answer = raw_ui (host, call->method);
      if (answer != NULL)
        {
          respond (host, event, answer, NULL);
          return;
        }
      {
        const char *name = castellan_psrp_host_method_name (call->method);
        g_autofree char *message = g_strdup_printf (_("castellan-run does not implement the host method %s."),
                                                    name ? name : "?");

        refuse (host, event, message, "NotImplemented");
      }
      return;
    }
  castellan_psrp_event_free (event);
}

void
cli_pshost_handle (CastellanPsrpSession *session,
                   CastellanPsrpEvent   *event,
                   gpointer              user_data)
{
  CliPsHost *host = user_data;
  g_autofree char *text = NULL;

  switch (event->type)
    {
    case CASTELLAN_PSRP_EVENT_HOST_CALL:
      host_call (host, event);
      return;
    case CASTELLAN_PSRP_EVENT_OUTPUT:
      text = castellan_clixml_value_text (event->value);
      put (host, STDOUT_FILENO, NULL, text ? text : "", TRUE);
      break;
    case CASTELLAN_PSRP_EVENT_ERROR:
      host->errors++;
      put (host, STDERR_FILENO, NULL, event->text, TRUE);
      break;
    case CASTELLAN_PSRP_EVENT_WARNING:
    case CASTELLAN_PSRP_EVENT_VERBOSE:
    case CASTELLAN_PSRP_EVENT_DEBUG:
    case CASTELLAN_PSRP_EVENT_INFORMATION:
      /* With a host, what these streams show on a console reaches it as
       * host calls too (WriteWarningLine, WriteLine for Write-Host …);
       * the records are for a caller that keeps the streams apart. */
      break;
    case CASTELLAN_PSRP_EVENT_PROGRESS:
      /* As the streams above: shown through WriteProgress. */
      break;
    default:
      break;
    }
  castellan_psrp_event_free (event);
}
