/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A bridge for the fixture tests: `parse` reads framed replies on stdin
 * ("<length>\n<bytes>") and prints one JSON line per reply with what the
 * core made of it; `build ACTION …` prints the request the core sends. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "castellan-error.h"
#include "castellan-json.h"
#include "castellan-soap.h"
#include "castellan-wsman-reply.h"

typedef struct
{
  GString *out;
  GString *err;
} Streams;

static void
on_stream (CastellanStream  stream,
           const guint8    *data,
           gsize            length,
           gpointer         user_data)
{
  Streams *s = user_data;

  g_string_append_len (stream == CASTELLAN_STREAM_STDOUT ? s->out : s->err,
                       (const char *) data, length);
}

static int
parse_all (void)
{
  char header[64];

  while (fgets (header, sizeof header, stdin) != NULL)
    {
      gsize len = strtoul (header, NULL, 10);
      g_autofree char *xml = g_malloc (len + 1);
      g_autoptr(GError) error = NULL;
      g_autoptr(CastellanWsmanReply) reply = NULL;
      g_autoptr(GString) line = g_string_new ("{");
      Streams s = { g_string_new (NULL), g_string_new (NULL) };

      if (fread (xml, 1, len, stdin) != len)
        return 1;
      reply = castellan_wsman_reply_parse (xml, len, 0, "host", on_stream, &s, &error);
      if (reply == NULL)
        {
          g_string_append_printf (line, "\"ok\":false,\"code\":%d", error->code);
          castellan_json_member (line, "message", error->message, TRUE);
        }
      else
        {
          g_autofree char *out64 = g_base64_encode ((const guchar *) s.out->str, s.out->len);
          g_autofree char *err64 = g_base64_encode ((const guchar *) s.err->str, s.err->len);

          g_string_append (line, "\"ok\":true");
          castellan_json_member (line, "action", reply->action, TRUE);
          castellan_json_member (line, "shell_id", reply->shell_id, TRUE);
          castellan_json_member (line, "command_id", reply->command_id, TRUE);
          castellan_json_member (line, "stdout", out64, TRUE);
          castellan_json_member (line, "stderr", err64, TRUE);
          g_string_append_printf (line, ",\"done\":%s,\"exit_code\":%d,\"max_envelope_kb\":%u",
                                  reply->done ? "true" : "false", reply->exit_code,
                                  reply->max_envelope_kb);
        }
      g_string_append (line, "}\n");
      fputs (line->str, stdout);
      g_string_free (s.out, TRUE);
      g_string_free (s.err, TRUE);
    }
  return 0;
}

static int
build (int    argc,
       char **argv)
{
  CastellanSoapContext ctx = { argv[2], 153600, 20, "uuid:00000000-0000-0000-0000-000000000000", "en-US" };
  const char *action = argv[1];
  g_autoptr(GBytes) xml = NULL;

  if (g_str_equal (action, "create"))
    {
      CastellanShellOptions options = { 65001, FALSE, NULL, NULL };
      xml = castellan_soap_create_shell (&ctx, &options);
    }
  else if (g_str_equal (action, "command") && argc >= 5)
    xml = castellan_soap_command (&ctx, argv[3], argv[4], (const char *const *) argv + 5, FALSE, NULL);
  else if (g_str_equal (action, "receive") && argc == 5)
    xml = castellan_soap_receive (&ctx, argv[3], argv[4]);
  else if (g_str_equal (action, "send") && argc == 6)
    xml = castellan_soap_send (&ctx, argv[3], argv[4], (const guint8 *) argv[5], strlen (argv[5]), TRUE);
  else if (g_str_equal (action, "signal") && argc == 6)
    xml = castellan_soap_signal (&ctx, argv[3], argv[4], argv[5]);
  else if (g_str_equal (action, "delete") && argc == 4)
    xml = castellan_soap_delete_shell (&ctx, argv[3]);
  else if (g_str_equal (action, "get"))
    xml = castellan_soap_get_config (&ctx);
  else
    return 2;
  fwrite (g_bytes_get_data (xml, NULL), 1, g_bytes_get_size (xml), stdout);
  return 0;
}

int
main (int   argc,
      char *argv[])
{
  if (argc >= 2 && g_str_equal (argv[1], "parse"))
    return parse_all ();
  if (argc >= 3 && g_str_equal (argv[1], "build"))
    return build (argc - 1, argv + 1);
  fprintf (stderr, "usage: wsman-replay parse | build ACTION URL …\n");
  return 2;
}
