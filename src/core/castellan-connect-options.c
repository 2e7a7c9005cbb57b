/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "castellan-error.h"

#include "castellan-connect-options.h"

CastellanConnectOptions *
castellan_connect_options_new (const CastellanEndpoint *endpoint)
{
  CastellanConnectOptions *self = g_new0 (CastellanConnectOptions, 1);

  self->endpoint = castellan_endpoint_copy (endpoint);
  self->auth = CASTELLAN_AUTH_REQUEST_NEGOTIATE;
  self->operation_timeout = CASTELLAN_DEFAULT_OPERATION_TIMEOUT;
  self->request_timeout = CASTELLAN_DEFAULT_REQUEST_TIMEOUT;
  self->trusted_hosts = castellan_trusted_hosts_parse (NULL);
  self->credentials = castellan_gss_credentials_new ();
  return self;
}

CastellanConnectOptions *
castellan_connect_options_copy (const CastellanConnectOptions *self)
{
  CastellanConnectOptions *copy = g_new0 (CastellanConnectOptions, 1);
  g_autofree char *trusted = castellan_trusted_hosts_to_string (self->trusted_hosts);

  *copy = *self;
  copy->endpoint = castellan_endpoint_copy (self->endpoint);
  copy->user = g_strdup (self->user);
  copy->password = g_strdup (self->password);
  copy->credentials = self->credentials ? castellan_gss_credentials_ref (self->credentials) : NULL;
  copy->spn_service = g_strdup (self->spn_service);
  copy->tls_database = self->tls_database ? g_object_ref (self->tls_database) : NULL;
  copy->pinned_sha256 = g_strdup (self->pinned_sha256);
  copy->proxy = g_strdup (self->proxy);
  copy->trusted_hosts = castellan_trusted_hosts_parse (trusted);
  return copy;
}

static void
wipe_string (char **str)
{
  if (*str != NULL)
    explicit_bzero (*str, strlen (*str));
  g_clear_pointer (str, g_free);
}

void
castellan_connect_options_set_password (CastellanConnectOptions *self,
                                        const char              *password)
{
  wipe_string (&self->password);
  self->password = g_strdup (password);
  /* Credentials from the old password are of no use any more. */
  castellan_gss_credentials_unref (self->credentials);
  self->credentials = castellan_gss_credentials_new ();
}

gboolean
castellan_connect_options_set_trusted_hosts (CastellanConnectOptions *self,
                                             const char              *value)
{
  castellan_trusted_hosts_free (self->trusted_hosts);
  self->trusted_hosts = castellan_trusted_hosts_parse (value);
  return TRUE;
}

/**
 * castellan_connect_options_set_proxy:
 * @url: (nullable): the proxy, as http://HOST:PORT or https://HOST:PORT;
 *   %NULL or "" to connect directly
 *
 * Keeps the URL as GUri read it, or refuses it with an error saying what
 * to write.
 */
gboolean
castellan_connect_options_set_proxy (CastellanConnectOptions  *self,
                                     const char               *url,
                                     GError                  **error)
{
  g_autoptr(GUri) uri = NULL;
  const char *scheme;
  const char *path;

  if (url == NULL || *url == '\0')
    {
      g_clear_pointer (&self->proxy, g_free);
      return TRUE;
    }
  for (const char *p = url; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f || *p == ' ')
      {
        g_autofree char *shown = g_strescape (url, NULL);

        g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_INVALID_ADDRESS,
                     _("The proxy “%s” contains a space or a control character: write it as http://proxy.corp.example:3128."),
                     shown);
        return FALSE;
      }
  uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  scheme = uri ? g_uri_get_scheme (uri) : NULL;
  if (uri == NULL || (g_strcmp0 (scheme, "http") != 0 && g_strcmp0 (scheme, "https") != 0))
    {
      g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_INVALID_ADDRESS,
                   _("The proxy “%s” is not a URL starting with http or https: write it as http://proxy.corp.example:3128."),
                   url);
      return FALSE;
    }
  if (g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0')
    {
      g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_INVALID_ADDRESS,
                   _("The proxy “%s” names no host: write it as http://proxy.corp.example:3128."),
                   url);
      return FALSE;
    }
  if (g_uri_get_port (uri) <= 0)
    {
      g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_INVALID_ADDRESS,
                   _("The proxy “%s” names no port: add it, as in http://proxy.corp.example:3128."),
                   url);
      return FALSE;
    }
  /* A password in a URL would end up in argv or in the inventory file. */
  if (g_uri_get_userinfo (uri) != NULL)
    {
      g_autofree char *shown = g_uri_to_string_partial (uri, G_URI_HIDE_USERINFO);

      g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_INVALID_ADDRESS,
                   _("The proxy URL contains a user name (and maybe a password): write only %s; proxy sign-in is not taken from a URL."),
                   shown);
      return FALSE;
    }
  path = g_uri_get_path (uri);
  if ((*path != '\0' && !g_str_equal (path, "/")) || g_uri_get_query (uri) != NULL ||
      g_uri_get_fragment (uri) != NULL)
    {
      g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_INVALID_ADDRESS,
                   _("The proxy “%s” has a path: a CONNECT proxy is named by host and port alone, as in http://proxy.corp.example:3128."),
                   url);
      return FALSE;
    }
  g_free (self->proxy);
  self->proxy = g_uri_to_string_partial (uri, G_URI_HIDE_USERINFO);
  return TRUE;
}

void
castellan_connect_options_free (CastellanConnectOptions *self)
{
  if (self == NULL)
    return;
  wipe_string (&self->password);
  g_clear_pointer (&self->credentials, castellan_gss_credentials_unref);
  castellan_endpoint_free (self->endpoint);
  g_free (self->user);
  g_free (self->spn_service);
  g_clear_object (&self->tls_database);
  g_free (self->pinned_sha256);
  g_free (self->proxy);
  castellan_trusted_hosts_free (self->trusted_hosts);
  g_free (self);
}
