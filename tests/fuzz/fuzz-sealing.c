/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: the MS-WSMV multipart framing and the boundary of a
 * Content-Type, as a hostile server could send them. */
#include <string.h>

#include "castellan-sealing.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *header = NULL;
  g_autofree char *boundary = NULL;
  CastellanSealedParts parts;
  const uint8_t *nl = memchr (data, '\n', size);
  gsize head = nl ? (gsize) (nl - data) : 0;

  /* First line: a Content-Type; the rest: the body. */
  header = g_strndup ((const char *) data, head);
  boundary = castellan_sealing_boundary (header);
  if (castellan_sealing_parse (nl ? nl + 1 : data, nl ? size - head - 1 : size,
                               boundary ? boundary : "Encrypted Boundary", &parts, &error))
    {
      g_assert (parts.signature_offset + parts.signature_length + parts.sealed_length <= size);
      g_assert (parts.signature_length > 0);
    }
  castellan_sealed_parts_clear (&parts);
  return 0;
}
