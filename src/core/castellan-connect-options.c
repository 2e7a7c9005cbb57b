/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "castellan-connect-options.h"
#include "castellan-trust-database.h"

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
  /* The process's one copy of the system's anchors, rather than one read
   * per connection (see castellan-trust-database.c). */
  self->tls_database = g_object_ref (castellan_trust_database_get_default ());
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
