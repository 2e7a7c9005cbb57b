/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <libsoup/soup.h>

#include "castellan-error.h"
#include "castellan-net-error.h"

static char *
describe_certificate (GTlsCertificateFlags flags)
{
  if (flags & G_TLS_CERTIFICATE_EXPIRED)
    return g_strdup (_("its certificate has expired"));
  if (flags & G_TLS_CERTIFICATE_NOT_ACTIVATED)
    return g_strdup (_("its certificate is not valid yet (check this computer’s clock)"));
  if (flags & G_TLS_CERTIFICATE_BAD_IDENTITY)
    return g_strdup (_("its certificate was issued for another name"));
  if (flags & G_TLS_CERTIFICATE_UNKNOWN_CA)
    return g_strdup (_("its certificate is not signed by an authority this computer trusts"));
  if (flags & G_TLS_CERTIFICATE_REVOKED)
    return g_strdup (_("its certificate has been revoked"));
  if (flags & G_TLS_CERTIFICATE_INSECURE)
    return g_strdup (_("its certificate uses an insecure algorithm"));
  return g_strdup (_("its certificate could not be verified"));
}

/**
 * castellan_net_error_translate:
 * @error: an error from GIO, GnuTLS or libsoup
 * @endpoint: where the connection went
 * @tls_errors: the certificate errors seen, or 0
 *
 * Returns: (transfer full): a %CASTELLAN_ERROR that says what happened and
 *   what the user can do about it.
 */
GError *
castellan_net_error_translate (const GError            *error,
                               const CastellanEndpoint *endpoint,
                               GTlsCertificateFlags     tls_errors)
{
  const char *host = endpoint->host;
  guint port = endpoint->port;

  if (error->domain == CASTELLAN_ERROR)
    return g_error_copy (error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return g_error_new (CASTELLAN_ERROR, CASTELLAN_ERROR_CANCELLED,
                        _("Cancelled."));

  if (tls_errors != 0 || g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE))
    {
      g_autofree char *why = describe_certificate (tls_errors);

      return g_error_new (CASTELLAN_ERROR, CASTELLAN_ERROR_BAD_CERTIFICATE,
                          _("The identity of %s cannot be verified: %s. Install the issuing CA (--ca-file), pin the certificate, or ask the host’s administrator for a valid certificate."),
                          host, why);
    }

  if (error->domain == G_TLS_ERROR)
    return g_error_new (CASTELLAN_ERROR, CASTELLAN_ERROR_UNREACHABLE,
                        _("The TLS handshake with %s:%u failed (%s). Check that the port serves WinRM over HTTPS."),
                        host, port, error->message);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
    return g_error_new (CASTELLAN_ERROR, CASTELLAN_ERROR_UNREACHABLE,
                        _("%s refused the connection on port %u. Check that WinRM is running there (winrm quickconfig) and listens on %s, and that the firewall allows the port."),
                        host, port, endpoint->https ? "HTTPS" : "HTTP");

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    return g_error_new (CASTELLAN_ERROR, CASTELLAN_ERROR_TIMED_OUT,
                        _("%s did not answer on port %u in time. A firewall may be dropping the traffic (Windows allows WinRM only from the local subnet on public networks), or the host is down."),
                        host, port);

  if (g_error_matches (error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND) ||
      g_error_matches (error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_TEMPORARY_FAILURE))
    return g_error_new (CASTELLAN_ERROR, CASTELLAN_ERROR_UNREACHABLE,
                        _("The name %s cannot be resolved. Check the spelling, or use the host’s full DNS name."),
                        host);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_HOST_UNREACHABLE) ||
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE))
    return g_error_new (CASTELLAN_ERROR, CASTELLAN_ERROR_UNREACHABLE,
                        _("%s cannot be reached from this computer (%s). Check the network or VPN connection."),
                        host, error->message);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED) ||
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE) ||
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT) ||
      g_error_matches (error, SOUP_SESSION_ERROR, SOUP_SESSION_ERROR_PARSING))
    return g_error_new (CASTELLAN_ERROR, CASTELLAN_ERROR_CONNECTION_LOST,
                        _("The connection to %s was closed in the middle of a reply. Try again; if it keeps happening, something between here and the host drops the connection."),
                        host);

  return g_error_new (CASTELLAN_ERROR, CASTELLAN_ERROR_UNREACHABLE,
                      _("Could not talk to %s:%u: %s."), host, port, error->message);
}
