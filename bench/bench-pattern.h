/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The output of the lab peer's `lab-stream N`: the block below repeated
 * and cut at N bytes (tests/peer/peer_shell.py, PATTERN_BLOCK). */
#pragma once

#include <glib.h>
#include <stdio.h>
#include <string.h>

#define BENCH_PATTERN_LINES 16384
#define BENCH_PATTERN_LINE 66

static inline GBytes *
bench_pattern_block (void)
{
  gsize size = BENCH_PATTERN_LINES * BENCH_PATTERN_LINE;
  char *block = g_malloc (size + 1);

  for (guint i = 0; i < BENCH_PATTERN_LINES; i++)
    snprintf (block + i * BENCH_PATTERN_LINE, BENCH_PATTERN_LINE + 1,
              "%07u castellan lab stream 0123456789abcdefghijklmnopqrstuvwxyz\n", i);
  return g_bytes_new_take (block, size);
}

/* Checks the next length bytes of the stream at *offset. */
static inline gboolean
bench_pattern_check (GBytes       *block,
                     guint64      *offset,
                     const guint8 *data,
                     gsize         length)
{
  gsize size;
  const guint8 *p = g_bytes_get_data (block, &size);

  while (length > 0)
    {
      gsize at = *offset % size;
      gsize n = MIN (length, size - at);

      if (memcmp (p + at, data, n) != 0)
        return FALSE;
      data += n;
      length -= n;
      *offset += n;
    }
  return TRUE;
}
