/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "castellan-error.h"
#include "castellan-policy.h"

char *
castellan_policy_ways_forward (const CastellanEndpoint *endpoint)
{
  return g_strdup_printf (_("Ways forward: use HTTPS, so that the host’s certificate proves it; connect by the host’s DNS name, so that Kerberos proves it; or, if you accept that its identity cannot be verified, add “%s” to TrustedHosts."),
                          endpoint->host);
}

static gboolean
refuse (const CastellanEndpoint  *endpoint,
        const char               *why,
        GError                  **error)
{
  g_autofree char *forward = castellan_policy_ways_forward (endpoint);

  g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_POLICY_REFUSED,
               _("Refused before any credential was sent: %s %s"), why, forward);
  return FALSE;
}

/**
 * castellan_policy_decide:
 *
 * Kerberos over HTTP is allowed to a host name; NTLM (and Negotiate that
 * would end in NTLM) over HTTP only to a host TrustedHosts covers; Basic
 * over HTTP never, unless @allow_unencrypted; anything over HTTPS, whose
 * certificate is checked during the handshake.
 */
gboolean
castellan_policy_decide (const CastellanEndpoint     *endpoint,
                         CastellanAuthRequest         auth,
                         const CastellanTrustedHosts *trusted_hosts,
                         gboolean                     allow_unencrypted,
                         CastellanPolicyDecision     *decision,
                         GError                     **error)
{
  const char *entry;
  gboolean by_address;
  g_autofree char *why = NULL;

  g_return_val_if_fail (endpoint != NULL, FALSE);
  g_return_val_if_fail (decision != NULL, FALSE);

  memset (decision, 0, sizeof *decision);

  if (endpoint->https)
    {
      decision->allowed = TRUE;
      decision->ntlm_allowed = TRUE;
      return TRUE;
    }

  entry = castellan_trusted_hosts_match (trusted_hosts, endpoint->host);
  by_address = castellan_endpoint_is_ip (endpoint);

  switch (auth)
    {
    case CASTELLAN_AUTH_REQUEST_BASIC:
      if (!allow_unencrypted)
        {
          g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_POLICY_REFUSED,
                       _("Refused before any credential was sent: Basic authentication over HTTP would send your password, and every command, unencrypted. Use HTTPS, or Kerberos or Negotiate, which encrypt the traffic."));
          return FALSE;
        }
      decision->allowed = TRUE;
      return TRUE;

    case CASTELLAN_AUTH_REQUEST_KERBEROS:
      if (by_address)
        {
          why = g_strdup_printf (_("Kerberos cannot be used with an address (%s): it needs the host’s name to find its service principal."),
                                 endpoint->host);
          return refuse (endpoint, why, error);
        }
      decision->allowed = TRUE;
      return TRUE;

    case CASTELLAN_AUTH_REQUEST_NTLM:
    case CASTELLAN_AUTH_REQUEST_NEGOTIATE:
      if (entry != NULL)
        {
          decision->allowed = TRUE;
          decision->ntlm_allowed = TRUE;
          decision->trusted_hosts_entry = g_strdup (entry);
          return TRUE;
        }
      if (auth == CASTELLAN_AUTH_REQUEST_NEGOTIATE && !by_address)
        {
          /* Negotiate by name may use Kerberos only. */
          decision->allowed = TRUE;
          return TRUE;
        }
      why = g_strdup_printf (_("NTLM over HTTP cannot prove the server’s identity, and %s is not on TrustedHosts."),
                             endpoint->host);
      return refuse (endpoint, why, error);

    default:
      g_return_val_if_reached (FALSE);
    }
}

void
castellan_policy_decision_clear (CastellanPolicyDecision *decision)
{
  g_clear_pointer (&decision->trusted_hosts_entry, g_free);
}
