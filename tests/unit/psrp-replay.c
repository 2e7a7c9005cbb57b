/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A bridge for the PSRP fixture tests: reads lines "CHANNEL BASE64" on
 * stdin, one WS-Man payload each (a channel per sender and stream, so
 * object ids never mix), and prints one JSON line per message the core
 * reassembled: header, the CLIXML as JSON, the same after our writer
 * wrote it and our reader read it back, and whether the two are equal.
 * With --ours it prints, in the same form, the INIT_RUNSPACEPOOL and
 * CREATE_PIPELINE messages our pool sends, with and without a host, for
 * comparison with those of the recording client. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "castellan-clixml.h"
#include "castellan-error.h"
#include "castellan-json.h"
#include "castellan-psrp-fragment.h"
#include "castellan-psrp-message.h"
#include "castellan-psrp-pool.h"

/* Text with a length: it may hold U+0000. */
static void
json_text (GString    *out,
           const char *text,
           gsize       length)
{
  const char *p = text;
  const char *end = text + length;

  g_string_append_c (out, '"');
  while (p < end)
    {
      /* GLib refuses U+0000 here; it is a character like any other. */
      gunichar c = *p == '\0' ? 0 : g_utf8_get_char_validated (p, end - p);

      if (c == (gunichar) -1 || c == (gunichar) -2)
        {
          g_string_append (out, "\\ufffd");
          p++;
          continue;
        }
      if (c == '"' || c == '\\')
        g_string_append_printf (out, "\\%c", (char) c);
      else if (c < 0x20)
        g_string_append_printf (out, "\\u%04x", c);
      else
        g_string_append_len (out, p, g_utf8_next_char (p) - p);
      p = g_utf8_next_char (p);
    }
  g_string_append_c (out, '"');
}

static void value_json (GString                    *out,
                        const CastellanClixmlValue *value);

static void
properties_json (GString    *out,
                 const char *member,
                 GPtrArray  *list)
{
  if (list == NULL)
    return;
  g_string_append_printf (out, ",\"%s\":{", member);
  for (guint i = 0; i < list->len; i++)
    {
      CastellanClixmlProperty *p = g_ptr_array_index (list, i);

      if (i > 0)
        g_string_append_c (out, ',');
      castellan_json_string (out, p->name);
      g_string_append_c (out, ':');
      value_json (out, p->value);
    }
  g_string_append_c (out, '}');
}

static void
value_json (GString                    *out,
            const CastellanClixmlValue *value)
{
  const char *element = castellan_clixml_kind_element (value->kind);

  if (value->kind == CASTELLAN_CLIXML_NULL)
    {
      g_string_append (out, "null");
      return;
    }
  g_string_append_printf (out, "{\"t\":\"%s\"", element);
  switch (value->kind)
    {
    case CASTELLAN_CLIXML_BACK_REFERENCE:
      g_string_append_printf (out, ",\"up\":%" G_GUINT64_FORMAT, value->unsigned_integer);
      break;
    case CASTELLAN_CLIXML_BOOL:
      g_string_append_printf (out, ",\"v\":%s", value->integer ? "true" : "false");
      break;
    case CASTELLAN_CLIXML_INT8:
    case CASTELLAN_CLIXML_INT16:
    case CASTELLAN_CLIXML_INT32:
    case CASTELLAN_CLIXML_INT64:
      g_string_append_printf (out, ",\"v\":%" G_GINT64_FORMAT, value->integer);
      break;
    case CASTELLAN_CLIXML_CHAR:
    case CASTELLAN_CLIXML_UINT8:
    case CASTELLAN_CLIXML_UINT16:
    case CASTELLAN_CLIXML_UINT32:
    case CASTELLAN_CLIXML_UINT64:
      g_string_append_printf (out, ",\"v\":%" G_GUINT64_FORMAT, value->unsigned_integer);
      break;
    case CASTELLAN_CLIXML_FLOAT:
    case CASTELLAN_CLIXML_DOUBLE:
      if (isfinite (value->real))
        {
          char buffer[G_ASCII_DTOSTR_BUF_SIZE];

          g_string_append_printf (out, ",\"v\":%s",
                                  g_ascii_dtostr (buffer, sizeof buffer, value->real));
        }
      else
        g_string_append_printf (out, ",\"v\":\"%s\"", isnan (value->real) ? "NaN" : "INF");
      break;
    case CASTELLAN_CLIXML_BYTES:
    case CASTELLAN_CLIXML_SECURE_STRING:
      {
        gsize size;
        const guint8 *data = g_bytes_get_data (value->bytes, &size);
        g_autofree char *encoded = g_base64_encode (data, size);

        g_string_append (out, ",\"v\":");
        castellan_json_string (out, encoded);
      }
      break;
    case CASTELLAN_CLIXML_OBJECT:
      g_string_append (out, ",\"tn\":");
      if (value->type_names == NULL)
        g_string_append (out, "null");
      else
        {
          g_string_append_c (out, '[');
          for (char **t = value->type_names; *t != NULL; t++)
            {
              if (t != value->type_names)
                g_string_append_c (out, ',');
              castellan_json_string (out, *t);
            }
          g_string_append_c (out, ']');
        }
      g_string_append (out, ",\"str\":");
      castellan_json_string (out, value->to_string);
      if (value->inner != NULL)
        {
          g_string_append (out, ",\"inner\":");
          value_json (out, value->inner);
        }
      if (value->items != NULL)
        {
          g_string_append (out, ",\"items\":[");
          for (guint i = 0; i < value->items->len; i++)
            {
              if (i > 0)
                g_string_append_c (out, ',');
              value_json (out, g_ptr_array_index (value->items, i));
            }
          g_string_append_c (out, ']');
        }
      if (value->entries != NULL)
        {
          g_string_append (out, ",\"entries\":[");
          for (guint i = 0; i < value->entries->len; i++)
            {
              CastellanClixmlEntry *e = g_ptr_array_index (value->entries, i);

              g_string_append (out, i > 0 ? ",[" : "[");
              value_json (out, e->key);
              g_string_append_c (out, ',');
              value_json (out, e->value);
              g_string_append_c (out, ']');
            }
          g_string_append_c (out, ']');
        }
      properties_json (out, "props", value->adapted);
      properties_json (out, "ms", value->extended);
      break;
    default:
      g_string_append (out, ",\"v\":");
      json_text (out, value->text, value->text_length);
      break;
    }
  g_string_append_c (out, '}');
}

static void
print_error (GString      *line,
             const GError *error)
{
  g_string_append_printf (line, "\"ok\":false,\"code\":%d", error->code);
  castellan_json_member (line, "message", error->message, TRUE);
}

static void
print_message (const char *channel,
               guint64     object_id,
               GBytes     *bytes)
{
  g_autoptr(GString) line = g_string_new ("{");
  g_autoptr(GError) error = NULL;
  g_autoptr(CastellanPsrpMessage) message = NULL;
  g_autoptr(CastellanClixmlValue) value = NULL;
  g_autoptr(CastellanClixmlValue) again = NULL;
  g_autofree char *rpid = NULL;
  g_autofree char *pid = NULL;
  g_autofree char *written = NULL;
  gsize size;
  const char *data;

  castellan_json_member (line, "channel", channel, FALSE);
  g_string_append_printf (line, ",\"object_id\":%" G_GUINT64_FORMAT ",", object_id);
  message = castellan_psrp_message_unpack (bytes, &error);
  if (message == NULL)
    {
      print_error (line, error);
      goto out;
    }
  rpid = castellan_psrp_guid_to_string (&message->rpid);
  pid = castellan_psrp_guid_to_string (&message->pid);
  g_string_append_printf (line, "\"destination\":%u,\"type_value\":%u",
                          message->destination, message->type);
  castellan_json_member (line, "type", castellan_psrp_message_type_name (message->type), TRUE);
  castellan_json_member (line, "rpid", rpid, TRUE);
  castellan_json_member (line, "pid", pid, TRUE);
  g_string_append_c (line, ',');
  data = g_bytes_get_data (message->data, &size);
  if (size == 0)
    {
      g_string_append (line, "\"ok\":true,\"value\":null,\"rewritten\":null,\"equal\":true");
      goto out;
    }
  value = castellan_clixml_read (data, size, NULL, &error);
  if (value == NULL)
    {
      print_error (line, error);
      goto out;
    }
  written = castellan_clixml_write (value);
  again = castellan_clixml_read (written, strlen (written), NULL, &error);
  g_string_append (line, "\"ok\":true,\"value\":");
  value_json (line, value);
  g_string_append (line, ",\"rewritten\":");
  if (again != NULL)
    value_json (line, again);
  else
    castellan_json_string (line, error->message);
  g_string_append_printf (line, ",\"equal\":%s",
                          castellan_clixml_value_equal (value, again) ? "true" : "false");

out:
  g_string_append (line, "}\n");
  fputs (line->str, stdout);
}

/* Every message of one of our streams, printed. */
static void
print_sent (CastellanPsrpPool       *pool,
            const CastellanPsrpGuid *pid,
            const char              *channel)
{
  g_autoptr(CastellanPsrpDefragmenter) d = castellan_psrp_defragmenter_new (CASTELLAN_PSRP_DEFAULT_MAX_MESSAGE,
                                                                          CASTELLAN_PSRP_DEFAULT_MAX_PARTIAL);
  GBytes *payload;
  GBytes *message;
  guint64 object_id;

  while ((payload = castellan_psrp_pool_data_to_send (pool, pid, CASTELLAN_PSRP_STREAM_INPUT, 1 << 20)) != NULL)
    {
      gboolean ok = castellan_psrp_defragmenter_feed (d, g_bytes_get_data (payload, NULL),
                                                      g_bytes_get_size (payload), NULL);

      g_bytes_unref (payload);
      if (!ok)
        return;
      while ((message = castellan_psrp_defragmenter_next (d, &object_id)) != NULL)
        {
          print_message (channel, object_id, message);
          g_bytes_unref (message);
        }
    }
}

/* A pool opened by the server's RUNSPACEPOOL_STATE, as the server would
 * send it. */
static void
open_pool (CastellanPsrpPool *pool,
           const char        *channel)
{
  static const char state[] = "<Obj RefId=\"0\"><MS><I32 N=\"RunspaceState\">2</I32></MS></Obj>";
  static const CastellanPsrpGuid no_pipeline = { { 0 } };
  g_autoptr(GBytes) data = g_bytes_new_static (state, sizeof state - 1);
  g_autoptr(CastellanPsrpMessage) m =
    castellan_psrp_message_new (CASTELLAN_PSRP_DESTINATION_CLIENT, CASTELLAN_PSRP_MESSAGE_RUNSPACEPOOL_STATE,
                                castellan_psrp_pool_get_id (pool), &no_pipeline, data);
  g_autoptr(GBytes) packed = castellan_psrp_message_pack (m, FALSE);
  g_autoptr(GByteArray) payload = g_byte_array_new ();
  CastellanPsrpEvent *event;

  castellan_psrp_pool_open (pool, NULL);
  print_sent (pool, NULL, channel);
  castellan_psrp_fragment_write (payload, 1, 0, CASTELLAN_PSRP_FRAGMENT_START | CASTELLAN_PSRP_FRAGMENT_END,
                                 g_bytes_get_data (packed, NULL), g_bytes_get_size (packed));
  castellan_psrp_pool_receive (pool, NULL, payload->data, payload->len, NULL);
  while ((event = castellan_psrp_pool_next_event (pool)) != NULL)
    castellan_psrp_event_free (event);
}

static void
print_ours (gboolean with_host)
{
  static const CastellanPsrpHostDefaults host = { 7, 0, 120, 3000, 120, 50, "Castellan" };
  const char *dictionary[] = { "System.Management.Automation.PSPrimitiveDictionary",
                               "System.Collections.Hashtable", "System.Object", NULL };
  const char *channel = with_host ? "ours:host" : "ours:no-host";
  CastellanPsrpGuid rpid;
  g_autoptr(CastellanClixmlValue) arguments =
    castellan_clixml_value_new_object (dictionary, CASTELLAN_CLIXML_CONTAINER_DICTIONARY);
  CastellanPsrpPoolOptions options = { .min_runspaces = 1, .max_runspaces = 1 };
  g_autoptr(CastellanPsrpPool) pool = NULL;
  g_autoptr(CastellanPsrpPipelineSpec) spec = castellan_psrp_pipeline_spec_new ();
  CastellanPsrpCommand *command = castellan_psrp_command_new ("Get-Item", FALSE);
  CastellanPsrpPipeline *pipeline;

  castellan_psrp_guid_parse ("8a8a1d5e-3c1f-4c2b-9d7e-0123456789ab", &rpid);
  castellan_clixml_value_add_entry (arguments, castellan_clixml_value_new_string ("key"),
                                    castellan_clixml_value_new_string ("value"));
  if (with_host)
    {
      options.host = &host;
      options.application_arguments = arguments;
      spec->host = &host;
    }
  pool = castellan_psrp_pool_new (&rpid, &options);
  open_pool (pool, channel);
  castellan_psrp_command_add_argument (command, "Path", castellan_clixml_value_new_string ("C:\\"));
  castellan_psrp_pipeline_spec_add (spec, command);
  pipeline = castellan_psrp_pool_create_pipeline (pool, spec, NULL);
  if (pipeline != NULL)
    print_sent (pool, castellan_psrp_pipeline_get_id (pipeline), channel);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GHashTable) channels = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                          (GDestroyNotify) castellan_psrp_defragmenter_free);
  char *line = NULL;
  size_t capacity = 0;

  if (argc > 1 && g_str_equal (argv[1], "--ours"))
    {
      print_ours (FALSE);
      print_ours (TRUE);
      return 0;
    }
  while (getline (&line, &capacity, stdin) > 0)
    {
      char *space = strchr (g_strchomp (line), ' ');
      CastellanPsrpDefragmenter *defragmenter;
      g_autoptr(GError) error = NULL;
      g_autofree guchar *payload = NULL;
      gsize length = 0;
      GBytes *message;
      guint64 object_id;

      if (space == NULL)
        continue;
      *space = '\0';
      defragmenter = g_hash_table_lookup (channels, line);
      if (defragmenter == NULL)
        {
          defragmenter = castellan_psrp_defragmenter_new (CASTELLAN_PSRP_DEFAULT_MAX_MESSAGE,
                                                          CASTELLAN_PSRP_DEFAULT_MAX_PARTIAL);
          g_hash_table_insert (channels, g_strdup (line), defragmenter);
        }
      payload = g_base64_decode (space + 1, &length);
      if (!castellan_psrp_defragmenter_feed (defragmenter, payload, length, &error))
        {
          GString *out = g_string_new ("{");
          g_autofree char *text = NULL;

          castellan_json_member (out, "channel", line, FALSE);
          g_string_append (out, ",");
          print_error (out, error);
          g_string_append (out, "}\n");
          /* Printed from the freed string's text: GCC 14 takes GLib 2.84's
           * inline NULL checks for a possible NULL string. */
          text = g_string_free (out, FALSE);
          fputs (text, stdout);
        }
      while ((message = castellan_psrp_defragmenter_next (defragmenter, &object_id)) != NULL)
        {
          print_message (line, object_id, message);
          g_bytes_unref (message);
        }
    }
  free (line);
  return 0;
}
