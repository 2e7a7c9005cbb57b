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

static void
refuse_port (const char  *text,
             GError     **error)
{
  g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_INVALID_ADDRESS,
               _("“%s” does not have a valid port number: use a number from 1 to 65535, as in srv01:5986."),
               text);
}

static void
refuse_host (const char  *text,
             GError     **error)
{
  g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_INVALID_ADDRESS,
               _("“%s” is not a host name or address: type a name such as srv01.corp.example, an address such as 192.0.2.10, or https://srv01."),
               text);
}

/* What a URL may hold but a WinRM address must not: refused here, before
 * GUri, which would otherwise quietly encode a space or keep a fragment
 * that the request line would then differ by. */
static gboolean
check_controls (const char  *text,
                GError     **error)
{
  for (const char *p = text; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      {
        /* Printed escaped: a line break in an error message would itself
         * be a way to forge output. */
        g_autofree char *shown = g_strescape (text, NULL);

        g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_INVALID_ADDRESS,
                     _("The address “%s” contains a control character (a line break, tab or the like): type the address alone on one line, such as https://srv01.corp.example:5986/wsman."),
                     shown);
        return FALSE;
      }
  return TRUE;
}

static gboolean
check_shape (const char  *text,
             GError     **error)
{
  if (strchr (text, ' ') != NULL)
    g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_INVALID_ADDRESS,
                 _("“%s” contains a space, which no WinRM address has: type a host name such as srv01.corp.example, or a URL such as https://srv01:5986/wsman."),
                 text);
  else if (strchr (text, '#') != NULL)
    g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_INVALID_ADDRESS,
                 _("“%s” ends with a fragment (“#…”), which means nothing to WinRM: remove it, as in https://srv01:5986/wsman."),
                 text);
  else if (strchr (text, '?') != NULL)
    g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_INVALID_ADDRESS,
                 _("“%s” has a query (“?…”), which WinRM does not take: remove it, as in https://srv01:5986/wsman."),
                 text);
  else
    return TRUE;
  return FALSE;
}

/* The authority as GUri takes it: a bare IPv6 address gets its brackets,
 * and a zone typed as "%eth0" is written "%25eth0" (RFC 6874). */
static char *
normalise_authority (const char *authority)
{
  g_autofree char *bracketed = NULL;
  const char *colon = strchr (authority, ':');
  char *zone;

  if (authority[0] != '[' && colon != NULL && strchr (colon + 1, ':') != NULL)
    bracketed = g_strdup_printf ("[%s]", authority);
  else
    bracketed = g_strdup (authority);

  zone = bracketed[0] == '[' ? strchr (bracketed, '%') : NULL;
  if (zone != NULL && !g_str_has_prefix (zone, "%25"))
    {
      *zone = '\0';
      return g_strconcat (bracketed, "%25", zone + 1, NULL);
    }
  return g_steal_pointer (&bracketed);
}

static void
set_uri (CastellanEndpoint *self,
         GUri              *uri)
{
  g_clear_pointer (&self->uri, g_uri_unref);
  g_clear_pointer (&self->host, g_free);
  g_clear_pointer (&self->path, g_free);
  self->uri = uri;
  self->host = g_strdup (g_uri_get_host (uri));
  self->port = (guint16) g_uri_get_port (uri);
  self->https = g_str_equal (g_uri_get_scheme (uri), "https");
  self->path = g_strdup (g_uri_get_path (uri));
}

/**
 * castellan_endpoint_parse:
 * @text: what the user typed
 * @https_by_default: the transport when @text names none
 *
 * The address is read by GUri once; the URL requests go to is the one
 * it parsed, never a string put together again.
 *
 * Returns: (transfer full): the endpoint, or %NULL with @error set to
 *   %CASTELLAN_ERROR_INVALID_ADDRESS and a message saying what to type.
 */
CastellanEndpoint *
castellan_endpoint_parse (const char  *text,
                          gboolean     https_by_default,
                          GError     **error)
{
  g_autoptr(CastellanEndpoint) self = NULL;
  g_autofree char *trimmed = NULL;
  g_autofree char *authority = NULL;
  g_autofree char *normalised = NULL;
  g_autofree char *url = NULL;
  g_autoptr(GUri) parsed = NULL;
  g_autoptr(GError) local = NULL;
  const char *scheme = https_by_default ? "https" : "http";
  const char *rest;
  const char *slash;
  const char *path;
  int port;

  g_return_val_if_fail (text != NULL, NULL);

  if (!check_controls (text, error))
    return NULL;
  /* Only spaces can be left around it, and they are harmless. */
  trimmed = g_strstrip (g_strdup (text));
  if (!check_shape (trimmed, error))
    return NULL;
  rest = trimmed;

  if (strstr (rest, "://") != NULL)
    {
      if (g_ascii_strncasecmp (rest, "https://", 8) == 0)
        {
          scheme = "https";
          rest += 8;
        }
      else if (g_ascii_strncasecmp (rest, "http://", 7) == 0)
        {
          scheme = "http";
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
  if (strchr (authority, '@') != NULL)
    {
      g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_INVALID_ADDRESS,
                   _("“%s” names a user inside the address: remove the “user@” part and give the user name on its own (--user, or the host’s User field)."),
                   trimmed);
      return NULL;
    }
  if (*authority == '\0')
    {
      refuse_host (trimmed, error);
      return NULL;
    }

  normalised = normalise_authority (authority);
  url = g_strconcat (scheme, "://", normalised, slash ? slash : "", NULL);
  /* The path stays as written (percent-encoded): it is what goes on the
   * request line. */
  parsed = g_uri_parse (url, G_URI_FLAGS_ENCODED_PATH, &local);
  if (parsed == NULL)
    {
      if (g_error_matches (local, G_URI_ERROR, G_URI_ERROR_BAD_PORT))
        refuse_port (trimmed, error);
      else
        refuse_host (trimmed, error);
      return NULL;
    }
  if (!valid_host (g_uri_get_host (parsed)))
    {
      refuse_host (trimmed, error);
      return NULL;
    }
  port = g_uri_get_port (parsed);
  if (port == 0)
    {
      refuse_port (trimmed, error);
      return NULL;
    }
  if (port < 0)
    port = g_str_equal (scheme, "https") ? CASTELLAN_HTTPS_PORT : CASTELLAN_HTTP_PORT;
  path = g_uri_get_path (parsed);
  if (*path == '\0' || g_str_equal (path, "/"))
    path = "/wsman";

  self = g_new0 (CastellanEndpoint, 1);
  set_uri (self, g_uri_build (G_URI_FLAGS_ENCODED_PATH, scheme, NULL, g_uri_get_host (parsed),
                              port, path, NULL, NULL));
  return g_steal_pointer (&self);
}

/* The same URL on another port (a host saved with its own port). */
void
castellan_endpoint_set_port (CastellanEndpoint *self,
                             guint16            port)
{
  g_return_if_fail (self != NULL && self->uri != NULL && port != 0);

  set_uri (self, g_uri_build (G_URI_FLAGS_ENCODED_PATH, g_uri_get_scheme (self->uri), NULL,
                              g_uri_get_host (self->uri), port, g_uri_get_path (self->uri),
                              NULL, NULL));
}

CastellanEndpoint *
castellan_endpoint_copy (const CastellanEndpoint *self)
{
  CastellanEndpoint *copy;

  g_return_val_if_fail (self != NULL, NULL);

  copy = g_new0 (CastellanEndpoint, 1);
  set_uri (copy, g_uri_ref (self->uri));
  return copy;
}

void
castellan_endpoint_free (CastellanEndpoint *self)
{
  if (self == NULL)
    return;
  g_free (self->host);
  g_free (self->path);
  g_clear_pointer (&self->uri, g_uri_unref);
  g_free (self);
}

char *
castellan_endpoint_to_url (const CastellanEndpoint *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return g_uri_to_string (self->uri);
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
