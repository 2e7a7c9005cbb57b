/* SPDX-License-Identifier: GPL-3.0-or-later */
/* HTTP/1.1 framing for the requests of an authenticated connection (see
 * castellan-connection-direct.c): the request head, the response head and
 * chunked bodies. No I/O here, so the parsers can be fuzzed alone. */
#include "config.h"

#include <gio/gio.h>
#include <string.h>

#include "castellan-http1.h"

enum
{
  CHUNK_SIZE,
  CHUNK_EXTENSION,
  CHUNK_DATA,
  CHUNK_DATA_END,
  CHUNK_TRAILER,
  CHUNK_DONE,
};

void
castellan_http1_head_clear (CastellanHttp1Head *head)
{
  g_clear_pointer (&head->reason, g_free);
  g_clear_pointer (&head->content_type, g_free);
  g_clear_pointer (&head->date, g_free);
  head->status = 0;
  head->content_length = -1;
  head->chunked = FALSE;
  head->close = FALSE;
}

/* The whole head goes out in the same write as the body: one segment for
 * a small request, so neither side waits on the other's delayed ACK. */
void
castellan_http1_append_request (GString    *out,
                                const char *host_port,
                                const char *path,
                                const char *user_agent,
                                const char *content_type,
                                gsize       content_length,
                                const char *authorization)
{
  g_string_append_printf (out,
                          "POST %s HTTP/1.1\r\n"
                          "Host: %s\r\n"
                          "User-Agent: %s\r\n"
                          "Content-Type: %s\r\n"
                          "Content-Length: %" G_GSIZE_FORMAT "\r\n"
                          "Connection: Keep-Alive\r\n",
                          path, host_port, user_agent, content_type, content_length);
  if (authorization != NULL)
    {
      g_string_append (out, "Authorization: ");
      g_string_append (out, authorization);
      g_string_append (out, "\r\n");
    }
  g_string_append (out, "\r\n");
}

static gboolean
invalid (GError    **error,
         const char *what)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "invalid HTTP response: %s", what);
  return FALSE;
}

static gboolean
header_has_token (const char *value,
                  const char *token)
{
  g_auto(GStrv) items = g_strsplit (value, ",", -1);

  for (guint i = 0; items[i] != NULL; i++)
    if (g_ascii_strcasecmp (g_strstrip (items[i]), token) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
parse_header (CastellanHttp1Head  *head,
              const char          *line,
              gsize                length,
              gboolean            *keep_alive,
              GError             **error)
{
  const char *colon = memchr (line, ':', length);
  g_autofree char *name = NULL;
  g_autofree char *value = NULL;

  if (colon == NULL || colon == line)
    return invalid (error, "header without a name");
  name = g_strndup (line, colon - line);
  if (strpbrk (name, " \t") != NULL)
    return invalid (error, "space in a header name");
  value = g_strstrip (g_strndup (colon + 1, line + length - colon - 1));

  if (g_ascii_strcasecmp (name, "Content-Length") == 0)
    {
      guint64 n;

      if (!g_ascii_string_to_unsigned (value, 10, 0, G_MAXINT64, &n, NULL) ||
          (head->content_length >= 0 && (guint64) head->content_length != n))
        return invalid (error, "bad Content-Length");
      head->content_length = n;
    }
  else if (g_ascii_strcasecmp (name, "Transfer-Encoding") == 0)
    {
      const char *last = strrchr (value, ',');

      last = last != NULL ? last + 1 : value;
      while (*last == ' ' || *last == '\t')
        last++;
      if (g_ascii_strcasecmp (last, "chunked") != 0)
        return invalid (error, "unsupported Transfer-Encoding");
      head->chunked = TRUE;
    }
  else if (g_ascii_strcasecmp (name, "Connection") == 0)
    {
      if (header_has_token (value, "close"))
        head->close = TRUE;
      if (header_has_token (value, "keep-alive"))
        *keep_alive = TRUE;
    }
  else if (g_ascii_strcasecmp (name, "Content-Type") == 0 && head->content_type == NULL)
    {
      head->content_type = g_steal_pointer (&value);
    }
  else if (g_ascii_strcasecmp (name, "Date") == 0 && head->date == NULL)
    {
      head->date = g_steal_pointer (&value);
    }
  return TRUE;
}

static gboolean
parse_status_line (CastellanHttp1Head  *head,
                   const char          *line,
                   gsize                length,
                   gboolean            *http10,
                   GError             **error)
{
  guint64 status;
  char digits[4];

  if (length < 12 || strncmp (line, "HTTP/1.", 7) != 0 || (line[7] != '0' && line[7] != '1') ||
      line[8] != ' ' || (length > 12 && line[12] != ' '))
    return invalid (error, "bad status line");
  memcpy (digits, line + 9, 3);
  digits[3] = '\0';
  if (!g_ascii_string_to_unsigned (digits, 10, 100, 999, &status, NULL))
    return invalid (error, "bad status code");
  head->status = status;
  head->reason = length > 13 ? g_strndup (line + 13, length - 13) : g_strdup ("");
  *http10 = line[7] == '0';
  return TRUE;
}

/**
 * castellan_http1_parse_head:
 * @head: cleared, then filled in
 *
 * Returns: the length of the head (its blank line included), 0 when more
 *   bytes are needed, -1 on an error.
 */
gssize
castellan_http1_parse_head (const char         *data,
                            gsize               length,
                            CastellanHttp1Head *head,
                            GError            **error)
{
  gsize pos = 0;
  gboolean http10 = FALSE;
  gboolean keep_alive = FALSE;
  gboolean first = TRUE;

  castellan_http1_head_clear (head);
  for (;;)
    {
      const char *nl = memchr (data + pos, '\n', length - pos);
      gsize line_length;

      if (nl == NULL)
        {
          if (length >= CASTELLAN_HTTP1_MAX_HEAD)
            {
              invalid (error, "head too long");
              return -1;
            }
          return 0;
        }
      line_length = nl - (data + pos);
      if (line_length > 0 && data[pos + line_length - 1] == '\r')
        line_length--;
      if (memchr (data + pos, '\0', line_length) != NULL)
        {
          invalid (error, "NUL in the head");
          return -1;
        }
      if (first)
        {
          if (!parse_status_line (head, data + pos, line_length, &http10, error))
            return -1;
          first = FALSE;
        }
      else if (line_length == 0)
        {
          pos = nl - data + 1;
          break;
        }
      else if (!parse_header (head, data + pos, line_length, &keep_alive, error))
        {
          return -1;
        }
      pos = nl - data + 1;
      if (pos > CASTELLAN_HTTP1_MAX_HEAD)
        {
          invalid (error, "head too long");
          return -1;
        }
    }
  if (head->chunked)
    head->content_length = -1;
  if (http10 && !keep_alive)
    head->close = TRUE;
  return pos;
}

/**
 * castellan_http1_dechunk:
 * @data: raw bytes of a chunked body; decoded in place
 * @consumed: (out): raw bytes taken (all of them, unless @done)
 * @done: (out): the last chunk and the trailer have been read
 *
 * Returns: how many decoded bytes are now at the start of @data.
 */
gsize
castellan_http1_dechunk (CastellanHttp1Chunks *chunks,
                         guint8               *data,
                         gsize                 length,
                         gsize                *consumed,
                         gboolean             *done,
                         GError              **error)
{
  gsize in = 0, out = 0;

  *done = FALSE;
  while (in < length && chunks->state != CHUNK_DONE)
    {
      guint8 c = data[in];

      switch (chunks->state)
        {
        case CHUNK_SIZE:
          in++;
          if (g_ascii_isxdigit (c))
            {
              if (chunks->left > G_MAXUINT32)
                {
                  invalid (error, "chunk too large");
                  return 0;
                }
              chunks->left = chunks->left * 16 + g_ascii_xdigit_value (c);
              chunks->line++;
            }
          else if (c == ';' || c == ' ' || c == '\t' || c == '\r' || c == '\n')
            {
              if (chunks->line == 0)
                {
                  invalid (error, "chunk without a size");
                  return 0;
                }
              chunks->state = CHUNK_EXTENSION;
              in--;
            }
          else
            {
              invalid (error, "bad chunk size");
              return 0;
            }
          break;

        case CHUNK_EXTENSION:
          in++;
          if (c == '\n')
            {
              chunks->line = 0;
              chunks->state = chunks->left > 0 ? CHUNK_DATA : CHUNK_TRAILER;
            }
          else if (++chunks->line > 4096)
            {
              invalid (error, "chunk extension too long");
              return 0;
            }
          break;

        case CHUNK_DATA:
          {
            gsize n = MIN (chunks->left, length - in);

            memmove (data + out, data + in, n);
            out += n;
            in += n;
            chunks->left -= n;
            if (chunks->left == 0)
              chunks->state = CHUNK_DATA_END;
          }
          break;

        case CHUNK_DATA_END:
          in++;
          if (c == '\n')
            chunks->state = CHUNK_SIZE;
          else if (c != '\r')
            {
              invalid (error, "chunk longer than its size");
              return 0;
            }
          break;

        case CHUNK_TRAILER:
          in++;
          if (c == '\n')
            {
              if (chunks->line == 0)
                chunks->state = CHUNK_DONE;
              chunks->line = 0;
            }
          else if (c != '\r' && ++chunks->line > 8192)
            {
              invalid (error, "trailer too long");
              return 0;
            }
          break;

        default:
          g_assert_not_reached ();
        }
    }
  *consumed = in;
  *done = chunks->state == CHUNK_DONE;
  return out;
}
