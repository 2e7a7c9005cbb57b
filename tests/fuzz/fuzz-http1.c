/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: the HTTP/1.1 framing of replies on the direct lane. A
 * head is parsed; what follows it is decoded as a chunked body in pieces
 * whose sizes the input chooses, and must decode the same as in one go. */
#include <string.h>

#include "castellan-http1.h"
#include "fuzz.h"

static GByteArray *
dechunk (const uint8_t *data,
         size_t         size,
         size_t         step,
         gboolean      *ok)
{
  GByteArray *out = g_byte_array_new ();
  g_autoptr(GByteArray) buffer = g_byte_array_new ();
  CastellanHttp1Chunks chunks = { 0 };
  gboolean done = FALSE;
  size_t pos = 0;

  *ok = TRUE;
  while (!done && pos < size)
    {
      size_t n = MIN (step, size - pos);
      g_autoptr(GError) error = NULL;
      gsize consumed = 0;
      gsize decoded;

      g_byte_array_append (buffer, data + pos, n);
      pos += n;
      decoded = castellan_http1_dechunk (&chunks, buffer->data, buffer->len, &consumed, &done, &error);
      if (error != NULL)
        {
          *ok = FALSE;
          break;
        }
      g_assert_cmpuint (decoded, <=, consumed);
      g_assert_cmpuint (consumed, <=, buffer->len);
      g_byte_array_append (out, buffer->data, decoded);
      g_byte_array_remove_range (buffer, 0, consumed);
    }
  return out;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_auto(CastellanHttp1Head) head = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GByteArray) whole = NULL;
  g_autoptr(GByteArray) pieces = NULL;
  gboolean ok_whole, ok_pieces;
  size_t step;
  gssize n;

  if (size < 1)
    return 0;
  step = 1 + data[0] % 16;
  data++;
  size--;
  n = castellan_http1_parse_head ((const char *) data, size, &head, &error);
  g_assert_true (n >= -1 && n <= (gssize) size);
  g_assert_true ((n < 0) == (error != NULL));
  if (n > 0)
    {
      g_assert_cmpuint (head.status, >=, 100);
      g_assert_cmpuint (head.status, <=, 999);
      g_assert_true (!head.chunked || head.content_length == -1);
      data += n;
      size -= n;
    }
  whole = dechunk (data, size, size + 1, &ok_whole);
  pieces = dechunk (data, size, step, &ok_pieces);
  g_assert_cmpint (ok_whole, ==, ok_pieces);
  if (ok_whole)
    {
      g_assert_cmpuint (whole->len, ==, pieces->len);
      g_assert_true (whole->len == 0 || memcmp (whole->data, pieces->data, whole->len) == 0);
    }
  return 0;
}
