/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "castellan-json.h"
#include "cli-common.h"

void
cli_fail (const char *message)
{
  g_autofree char *line = g_strdup (message);

  /* Always exactly one line, so scripts can rely on it. */
  g_strdelimit (line, "\r\n", ' ');
  fprintf (stderr, "castellan-run: %s\n", line);
}

gboolean
cli_write_all (int           fd,
               const guint8 *data,
               gsize         length)
{
  while (length > 0)
    {
      gssize n = write (fd, data, length);

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return FALSE;
        }
      data += n;
      length -= (gsize) n;
    }
  return TRUE;
}

gboolean
cli_write_report (const char  *path,
                  const char  *json,
                  GError     **error)
{
  return g_file_set_contents_full (path, json, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644, error);
}

void
cli_print_verdict (const CastellanVerdict *verdict)
{
  CastellanLevel level = castellan_verdict_get_level (verdict);
  g_auto(GStrv) explain = castellan_verdict_explain (verdict);
  g_auto(GStrv) better = castellan_verdict_improvements (verdict);

  fprintf (stderr, "castellan-run: %s: %s (%s, %s, %s)\n", verdict->host,
           castellan_verdict_level_title (level),
           castellan_server_identity_to_string (verdict->identity),
           castellan_auth_method_to_string (verdict->auth), verdict->encryption);
  for (guint i = 0; explain[i] != NULL; i++)
    fprintf (stderr, "  • %s\n", explain[i]);
  for (guint i = 0; better[i] != NULL; i++)
    fprintf (stderr, "  → %s\n", better[i]);
}

/* Delegation asked for and not done is said even without --verbose: a
 * second hop would fail later, far from its cause. */
void
cli_print_delegation_note (const CastellanVerdict *verdict)
{
  g_autofree char *note = castellan_verdict_delegation_note (verdict);

  if (note != NULL)
    fprintf (stderr, "castellan-run: %s: %s\n", verdict->host, note);
}

char *
cli_error_json (const char   *host,
                const GError *error)
{
  GString *out = g_string_new ("{");

  castellan_json_member (out, "host", host, FALSE);
  castellan_json_member (out, "error", error->message, TRUE);
  g_string_append_printf (out, ",\"error_code\":%d,\"exit_code\":%d}\n", error->code, CLI_EXIT_FAILURE);
  return g_string_free (out, FALSE);
}

/* Text for a file or a pipe: the colours and cursor moves that
 * PowerShell writes for a console (ESC [ … final, ESC ] … BEL or ESC \\)
 * are left out. */
void
cli_strip_escapes (GString *text)
{
  gsize i = 0, kept = 0;
  const char *t = text->str;
  gsize length = text->len;

  if (memchr (t, '\033', length) == NULL)
    return;
  while (i < length)
    {
      if (t[i] != '\033' || i + 1 == length)
        {
          text->str[kept++] = t[i++];
          continue;
        }
      if (t[i + 1] == '[')
        {
          i += 2;
          while (i < length && !(t[i] >= 0x40 && t[i] <= 0x7e))
            i++;
          i++;
        }
      else if (t[i + 1] == ']')
        {
          i += 2;
          while (i < length && t[i] != '\a' && !(t[i] == '\033' && i + 1 < length && t[i + 1] == '\\'))
            i++;
          i += i < length && t[i] == '\033' ? 2 : 1;
        }
      else
        {
          i += 2;
        }
    }
  g_string_truncate (text, MIN (kept, length));
}

void
cli_write_plain (int         fd,
                 const char *text,
                 gsize       length)
{
  g_autoptr(GString) out = NULL;

  if (memchr (text, '\033', length) == NULL)
    {
      cli_write_all (fd, (const guint8 *) text, length);
      return;
    }
  out = g_string_new_len (text, length);
  cli_strip_escapes (out);
  cli_write_all (fd, (const guint8 *) out->str, out->len);
}
