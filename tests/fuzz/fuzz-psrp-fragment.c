/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: PSRP payloads as a hostile server could send them,
 * reassembled and read as message headers. */
#include "castellan-psrp-fragment.h"
#include "castellan-psrp-message.h"
#include "fuzz.h"

#define MAX_MESSAGE 4096

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(CastellanPsrpDefragmenter) d = castellan_psrp_defragmenter_new (MAX_MESSAGE, 4);
  gsize at = 0;

  /* Two big-endian bytes say how long the next payload is. */
  while (at + 2 <= size)
    {
      gsize length = MIN ((gsize) data[at] << 8 | data[at + 1], size - at - 2);
      g_autoptr(GError) error = NULL;
      GBytes *message;

      if (!castellan_psrp_defragmenter_feed (d, data + at + 2, length, &error))
        g_assert_nonnull (error);
      while ((message = castellan_psrp_defragmenter_next (d, NULL)) != NULL)
        {
          g_autoptr(CastellanPsrpMessage) m = NULL;
          g_autoptr(GError) bad = NULL;

          g_assert_cmpuint (g_bytes_get_size (message), <=, MAX_MESSAGE);
          m = castellan_psrp_message_unpack (message, &bad);
          g_assert_true ((m == NULL) == (bad != NULL));
          if (m != NULL)
            {
              g_autoptr(GBytes) again = castellan_psrp_message_pack (m, FALSE);

              g_assert_cmpuint (g_bytes_get_size (again), <=, g_bytes_get_size (message));
            }
          g_bytes_unref (message);
        }
      g_assert_cmpuint (castellan_psrp_defragmenter_partial_count (d), <=, 4);
      at += 2 + length;
    }
  return 0;
}
