/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: what users type as an address. A parsed endpoint's URL
 * must parse back to the same endpoint. */
#include "castellan-endpoint.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = g_strndup ((const char *) data, size);
  g_autoptr(GError) error = NULL;
  g_autoptr(CastellanEndpoint) ep = castellan_endpoint_parse (text, size % 2, &error);

  if (ep != NULL)
    {
      g_autofree char *url = castellan_endpoint_to_url (ep);
      g_autoptr(CastellanEndpoint) back = castellan_endpoint_parse (url, FALSE, NULL);

      g_assert_nonnull (back);
      g_assert_cmpuint (back->port, ==, ep->port);
      g_assert_cmpint (back->https, ==, ep->https);
    }
  return 0;
}
