/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: TrustedHosts values and the matcher. Serialising what
 * was parsed and parsing it again must give the same list. */
#include <string.h>

#include "castellan-trusted-hosts.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = g_strndup ((const char *) data, size);
  char *sep = strchr (text, '\n');
  const char *host = "srv01.corp.example";
  g_autoptr(CastellanTrustedHosts) list = NULL;
  g_autoptr(CastellanTrustedHosts) again = NULL;
  g_autofree char *once = NULL;
  g_autofree char *twice = NULL;

  if (sep != NULL)
    {
      *sep = '\0';
      host = sep + 1;
    }
  list = castellan_trusted_hosts_parse (text);
  once = castellan_trusted_hosts_to_string (list);
  again = castellan_trusted_hosts_parse (once);
  twice = castellan_trusted_hosts_to_string (again);
  g_assert_cmpstr (once, ==, twice);
  castellan_trusted_hosts_match (list, host);
  for (guint i = 0; i < castellan_trusted_hosts_get_n_entries (list); i++)
    castellan_trust_entry_risk (castellan_trusted_hosts_get_entry (list, i));
  return 0;
}
