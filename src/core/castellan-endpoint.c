/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <gio/gio.h>
#include <glib/gi18n-lib.h>
#include <string.h>

#include "castellan-endpoint.h"
#include "castellan-error.h"

static gboolean
host_char_ok (char c)
{
  return g_ascii_isalnum (c) || c == '.' || c == '-' || c == '_';
}

static gboolean
valid_host (const char *host)
{
  if (host == NULL || *host == '\0' || strlen (host) > 253)
    return FALSE;

  /* GLib accepts any scope ID after '%'; ours must fit inside URL
   * brackets, so it is checked below. */
  if (strchr (host, '%') == NULL && g_hostname_is_ip_address (host))
    return TRUE;

  /* An IPv6 address with a zone ("fe80::1%eth0") is not accepted by
   * g_hostname_is_ip_address(); check the address part alone. */
  if (strchr (host, ':') != NULL)
    {
      g_autofree char *addr = g_strdup (host);
      char *zone = strchr (addr, '%');

      if (zone == NULL || zone[1] == '\0')
        return FALSE;
      /* An interface name or number, nothing that could end the brackets
       * of a URL. */
      for (const char *p = zone + 1; *p != '\0'; p++)
        if (!host_char_ok (*p))
          return FALSE;
      *zone = '\0';
      return g_hostname_is_ip_address (addr);
    }

  for (const char *p = host; *p != '\0'; p++)
    if (!host_char_ok (*p))
      return FALSE;

  return host[0] != '.' && host[0] != '-';
}

static gboolean
parse_port (const char  *text,
            guint16     *port,
            GError     **error)
{
  guint64 value = 0;

  if (!g_ascii_string_to_unsigned (text, 10, 1, G_MAXUINT16, &value, NULL))
    {
      g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_INVALID_ADDRESS,
                   _("“%s” is not a port number: use a number from 1 to 65535."),
                   text);
      return FALSE;
    }

  *port = (guint16) value;
  return TRUE;
}

/* Splits "host", "host:port", "[v6]", "[v6]:port" or a bare IPv6 address. */
static gboolean
split_host_port (const char  *text,
                 char       **host,
                 char       **port)
{
  const char *colon;

  if (text[0] == '[')
    {
      const char *close = strchr (text, ']');

      if (close == NULL)
        return FALSE;
      *host = g_strndup (text + 1, close - text - 1);
      if (close[1] == '\0')
        *port = NULL;
      else if (close[1] == ':')
        *port = g_strdup (close + 2);
      else
        return FALSE;
      return TRUE;
    }

  colon = strchr (text, ':');
  if (colon != NULL && strchr (colon + 1, ':') != NULL)
    {
      /* More than one colon and no brackets: an IPv6 address alone. */
      *host = g_strdup (text);
      *port = NULL;
      return TRUE;
    }

  if (colon != NULL)
    {
      *host = g_strndup (text, colon - text);
      *port = g_strdup (colon + 1);
    }
  else
    {
      *host = g_strdup (text);
      *port = NULL;
    }
  return TRUE;
}

/**
 * castellan_endpoint_parse:
 * @text: what the user typed
 * @https_by_default: the transport when @text names none
 *
 * Returns: (transfer full): the endpoint, or %NULL with @error set to
 *   %CASTELLAN_ERROR_INVALID_ADDRESS and a message saying what to type.
 */
CastellanEndpoint *
castellan_endpoint_parse (const char  *text,
                          gboolean     https_by_default,
                          GError     **error)
{
  g_autoptr(CastellanEndpoint) self = g_new0 (CastellanEndpoint, 1);
  g_autofree char *trimmed = NULL;
  g_autofree char *authority = NULL;
  g_autofree char *port = NULL;
  const char *rest;
  const char *slash;

  g_return_val_if_fail (text != NULL, NULL);

  trimmed = g_strstrip (g_strdup (text));
  rest = trimmed;
  self->https = https_by_default;

  if (strstr (rest, "://") != NULL)
    {
      if (g_ascii_strncasecmp (rest, "https://", 8) == 0)
        {
          self->https = TRUE;
          rest += 8;
        }
      else if (g_ascii_strncasecmp (rest, "http://", 7) == 0)
        {
          self->https = FALSE;
          rest += 7;
        }
      else
        {
          g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_INVALID_ADDRESS,
                       _("“%s” is not a WinRM address: use http:// or https://, or just a host name."),
                       trimmed);
          return NULL;
        }
    }

  slash = strchr (rest, '/');
  authority = slash ? g_strndup (rest, slash - rest) : g_strdup (rest);
  self->path = g_strdup (slash && slash[1] != '\0' ? slash : "/wsman");

  if (!split_host_port (authority, &self->host, &port) || !valid_host (self->host))
    {
      g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_INVALID_ADDRESS,
                   _("“%s” is not a host name or address: type a name such as srv01.corp.example, an address such as 192.0.2.10, or https://srv01."),
                   trimmed);
      return NULL;
    }

  if (port != NULL)
    {
      if (!parse_port (port, &self->port, error))
        return NULL;
    }
  else
    {
      self->port = self->https ? CASTELLAN_HTTPS_PORT : CASTELLAN_HTTP_PORT;
    }

  return g_steal_pointer (&self);
}

CastellanEndpoint *
castellan_endpoint_copy (const CastellanEndpoint *self)
{
  CastellanEndpoint *copy;

  g_return_val_if_fail (self != NULL, NULL);

  copy = g_new0 (CastellanEndpoint, 1);
  copy->host = g_strdup (self->host);
  copy->port = self->port;
  copy->https = self->https;
  copy->path = g_strdup (self->path);
  return copy;
}

void
castellan_endpoint_free (CastellanEndpoint *self)
{
  if (self == NULL)
    return;
  g_free (self->host);
  g_free (self->path);
  g_free (self);
}

char *
castellan_endpoint_to_url (const CastellanEndpoint *self)
{
  gboolean v6;

  g_return_val_if_fail (self != NULL, NULL);

  v6 = strchr (self->host, ':') != NULL;
  return g_strdup_printf ("%s://%s%s%s:%u%s",
                          self->https ? "https" : "http",
                          v6 ? "[" : "", self->host, v6 ? "]" : "",
                          self->port, self->path);
}

/* Kerberos cannot name a service by address: this tells the policy that
 * connecting to this endpoint can only ever prove the user, not the
 * server, unless TLS proves it. */
gboolean
castellan_endpoint_is_ip (const CastellanEndpoint *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return strchr (self->host, ':') != NULL || g_hostname_is_ip_address (self->host);
}
