/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: CLIXML as a hostile server could send it. Whatever
 * the reader accepts, the writer must write so that it reads back the
 * same. */
#include <string.h>

#include "castellan-clixml.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  CastellanClixmlLimits limits = { 32, 64 * 1024, 1000, 20000 };
  g_autoptr(GError) error = NULL;
  g_autoptr(CastellanClixmlValue) value = NULL;
  g_autoptr(CastellanClixmlValue) again = NULL;
  g_autofree char *written = NULL;

  value = castellan_clixml_read ((const char *) data, size, &limits, &error);
  if (value == NULL)
    {
      g_assert_nonnull (error);
      return 0;
    }
  g_assert_cmpuint (value->weight, <=, limits.max_nodes);
  written = castellan_clixml_write (value);
  /* The writer's output is bounded by what was read, not the wire. */
  limits.max_size = G_MAXSIZE;
  again = castellan_clixml_read (written, strlen (written), &limits, &error);
  g_assert_no_error (error);
  g_assert_true (castellan_clixml_value_equal (value, again));
  return 0;
}
