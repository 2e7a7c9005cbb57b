/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "castellan-json.h"

/* Writes a JSON string (or null); bytes that are not valid UTF-8 become
 * U+FFFD so the output is always valid JSON. */
void
castellan_json_string (GString    *out,
                       const char *value)
{
  g_autofree char *valid = NULL;

  if (value == NULL)
    {
      g_string_append (out, "null");
      return;
    }
  valid = g_utf8_make_valid (value, -1);
  g_string_append_c (out, '"');
  for (const unsigned char *p = (const unsigned char *) valid; *p != '\0'; p++)
    {
      switch (*p)
        {
        case '"':
          g_string_append (out, "\\\"");
          break;
        case '\\':
          g_string_append (out, "\\\\");
          break;
        case '\n':
          g_string_append (out, "\\n");
          break;
        case '\r':
          g_string_append (out, "\\r");
          break;
        case '\t':
          g_string_append (out, "\\t");
          break;
        default:
          if (*p < 0x20)
            g_string_append_printf (out, "\\u%04x", *p);
          else
            g_string_append_c (out, (char) *p);
        }
    }
  g_string_append_c (out, '"');
}

void
castellan_json_member (GString    *out,
                       const char *name,
                       const char *value,
                       gboolean    comma)
{
  if (comma)
    g_string_append_c (out, ',');
  castellan_json_string (out, name);
  g_string_append_c (out, ':');
  castellan_json_string (out, value);
}
