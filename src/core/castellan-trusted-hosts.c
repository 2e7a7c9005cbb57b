/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gi18n-lib.h>
#include <string.h>

#include "castellan-trusted-hosts.h"

/* The WinRM client's TrustedHosts value: entries separated by commas,
 * spaces around them ignored, matched case-insensitively against the name
 * or address the user connects to (never a resolved address). */
struct _CastellanTrustedHosts
{
  GPtrArray *entries;  /* as written, trimmed */
};

CastellanTrustedHosts *
castellan_trusted_hosts_parse (const char *value)
{
  CastellanTrustedHosts *self = g_new0 (CastellanTrustedHosts, 1);
  g_auto(GStrv) parts = NULL;

  self->entries = g_ptr_array_new_with_free_func (g_free);
  if (value == NULL)
    return self;

  parts = g_strsplit (value, ",", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      char *entry = g_strstrip (parts[i]);

      if (*entry != '\0')
        castellan_trusted_hosts_add (self, entry);
    }
  return self;
}

void
castellan_trusted_hosts_free (CastellanTrustedHosts *self)
{
  if (self == NULL)
    return;
  g_ptr_array_unref (self->entries);
  g_free (self);
}

guint
castellan_trusted_hosts_get_n_entries (const CastellanTrustedHosts *self)
{
  return self->entries->len;
}

const char *
castellan_trusted_hosts_get_entry (const CastellanTrustedHosts *self,
                                   guint                        index)
{
  g_return_val_if_fail (index < self->entries->len, NULL);
  return g_ptr_array_index (self->entries, index);
}

char *
castellan_trusted_hosts_to_string (const CastellanTrustedHosts *self)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < self->entries->len; i++)
    {
      if (i > 0)
        g_string_append_c (out, ',');
      g_string_append (out, g_ptr_array_index (self->entries, i));
    }
  return g_string_free (out, FALSE);
}

static int
find_entry (const CastellanTrustedHosts *self,
            const char                  *entry)
{
  for (guint i = 0; i < self->entries->len; i++)
    if (g_ascii_strcasecmp (g_ptr_array_index (self->entries, i), entry) == 0)
      return (int) i;
  return -1;
}

/* Returns FALSE when the entry was there already (in any case) or is
 * empty; the list never holds an entry twice. */
gboolean
castellan_trusted_hosts_add (CastellanTrustedHosts *self,
                             const char            *entry)
{
  g_autofree char *clean = g_strstrip (g_strdup (entry));

  if (*clean == '\0' || strchr (clean, ',') != NULL || find_entry (self, clean) >= 0)
    return FALSE;
  g_ptr_array_add (self->entries, g_steal_pointer (&clean));
  return TRUE;
}

gboolean
castellan_trusted_hosts_remove (CastellanTrustedHosts *self,
                                const char            *entry)
{
  int i = find_entry (self, entry);

  if (i < 0)
    return FALSE;
  g_ptr_array_remove_index (self->entries, (guint) i);
  return TRUE;
}

static char *
strip_brackets (const char *host)
{
  gsize len = strlen (host);

  if (len >= 2 && host[0] == '[' && host[len - 1] == ']')
    return g_strndup (host + 1, len - 2);
  return g_strdup (host);
}

static gboolean
is_ip (const char *host)
{
  g_autofree char *address = g_strndup (host, strcspn (host, "%"));

  return g_hostname_is_ip_address (address);
}

/* '*' matches any run of characters, dots included; case is ignored. */
static gboolean
glob_match (const char *pattern,
            const char *text)
{
  const char *star = NULL;
  const char *resume = NULL;

  while (*text != '\0')
    {
      if (*pattern == '*')
        {
          star = pattern++;
          resume = text;
        }
      else if (g_ascii_tolower (*pattern) == g_ascii_tolower (*text))
        {
          pattern++;
          text++;
        }
      else if (star != NULL)
        {
          pattern = star + 1;
          text = ++resume;
        }
      else
        {
          return FALSE;
        }
    }
  while (*pattern == '*')
    pattern++;
  return *pattern == '\0';
}

/* A pattern written like an address ("10.0.0.*", "192.168.*", "fe80::*"):
 * it means addresses, so it never matches a name that merely starts with
 * those characters ("10.0.0.evil.example"). */
static gboolean
ip_shaped (const char *pattern)
{
  gboolean digit = FALSE;
  gboolean colon = strchr (pattern, ':') != NULL;

  for (const char *p = pattern; *p != '\0'; p++)
    {
      if (g_ascii_isdigit (*p))
        digit = TRUE;
      else if (colon && (g_ascii_isxdigit (*p) || *p == ':'))
        digit = TRUE;
      else if (*p != '.' && *p != '*')
        return FALSE;
    }
  return digit;
}

static gboolean
same_address (const char *a,
              const char *b)
{
  g_autoptr(GInetAddress) ia = g_inet_address_new_from_string (a);
  g_autoptr(GInetAddress) ib = g_inet_address_new_from_string (b);

  return ia != NULL && ib != NULL && g_inet_address_equal (ia, ib);
}

gboolean
castellan_trust_entry_matches (const char *entry,
                               const char *host)
{
  g_autofree char *e = strip_brackets (entry);
  g_autofree char *h = strip_brackets (host);

  if (g_strcmp0 (e, "*") == 0)
    return TRUE;
  if (g_ascii_strcasecmp (e, "<local>") == 0)
    return strchr (h, '.') == NULL && !is_ip (h);
  if (strchr (e, '*') != NULL)
    return (!ip_shaped (e) || is_ip (h)) && glob_match (e, h);
  if (g_ascii_strcasecmp (e, h) == 0)
    return TRUE;
  /* "fe80::0001" and "fe80::1" are the same address. */
  return is_ip (e) && is_ip (h) && same_address (e, h);
}

/**
 * castellan_trusted_hosts_match:
 * @host: the name or address as the user gave it
 *
 * Returns: (nullable): the first entry that covers @host, as written.
 */
const char *
castellan_trusted_hosts_match (const CastellanTrustedHosts *self,
                               const char                  *host)
{
  g_return_val_if_fail (host != NULL, NULL);

  if (self == NULL)
    return NULL;
  for (guint i = 0; i < self->entries->len; i++)
    {
      const char *entry = g_ptr_array_index (self->entries, i);

      if (castellan_trust_entry_matches (entry, host))
        return entry;
    }
  return NULL;
}

CastellanTrustRisk
castellan_trust_entry_risk (const char *entry)
{
  g_autofree char *e = strip_brackets (entry);

  if (g_strcmp0 (e, "*") == 0)
    return CASTELLAN_TRUST_RISK_CRITICAL;
  if (strchr (e, '*') != NULL || g_ascii_strcasecmp (e, "<local>") == 0)
    return CASTELLAN_TRUST_RISK_BROAD;
  return CASTELLAN_TRUST_RISK_NARROW;
}

/**
 * castellan_trust_entry_describe_reach:
 *
 * Returns: (transfer full): which hosts @entry covers, in a sentence.
 */
char *
castellan_trust_entry_describe_reach (const char *entry)
{
  g_autofree char *e = strip_brackets (entry);

  if (g_strcmp0 (e, "*") == 0)
    return g_strdup (_("Covers every host you will ever connect to, by name or by address."));
  if (g_ascii_strcasecmp (e, "<local>") == 0)
    return g_strdup (_("Covers every host typed as a single name without dots (srv01), never an address."));
  if (strchr (e, '*') != NULL && ip_shaped (e))
    return g_strdup_printf (_("Covers every IP address typed as %s, where * stands for any part of the address; never a host name, even one that starts the same way."),
                            e);
  if (strchr (e, '*') != NULL)
    return g_strdup_printf (_("Covers every host name or address typed as %s, where * stands for any characters, dots included, and hosts that do not exist yet."),
                            e);
  if (is_ip (e))
    return g_strdup_printf (_("Covers the address %s only, when typed as an address."), e);
  return g_strdup_printf (_("Covers the host %s only, when typed exactly so (not its address, nor a longer name)."), e);
}

const char *
castellan_trust_risk_to_string (CastellanTrustRisk risk)
{
  switch (risk)
    {
    case CASTELLAN_TRUST_RISK_NARROW:
      return "narrow";
    case CASTELLAN_TRUST_RISK_BROAD:
      return "broad";
    case CASTELLAN_TRUST_RISK_CRITICAL:
      return "critical";
    default:
      g_return_val_if_reached ("critical");
    }
}

char *
castellan_trusted_hosts_default_path (void)
{
  return g_build_filename (g_get_user_config_dir (), "castellan", "trusted-hosts", NULL);
}

/* The file holds the exact WinRM string on one line, so that it can be
 * pasted into Set-Item WSMan:\localhost\Client\TrustedHosts and back. A
 * missing file is an empty list. */
CastellanTrustedHosts *
castellan_trusted_hosts_load (const char  *path,
                              GError     **error)
{
  g_autofree char *contents = NULL;
  g_autoptr(GError) local_error = NULL;

  if (!g_file_get_contents (path, &contents, NULL, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return castellan_trusted_hosts_parse (NULL);
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                  _("Cannot read the TrustedHosts list %s: "), path);
      return NULL;
    }
  return castellan_trusted_hosts_parse (g_strdelimit (contents, "\r\n", ','));
}

gboolean
castellan_trusted_hosts_save (const CastellanTrustedHosts *self,
                              const char                  *path,
                              GError                     **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *value = castellan_trusted_hosts_to_string (self);
  g_autofree char *line = g_strconcat (value, "\n", NULL);

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   _("Cannot create %s: %s"), dir, g_strerror (saved_errno));
      return FALSE;
    }
  /* g_file_set_contents() writes a temporary file, syncs and renames. */
  return g_file_set_contents_full (path, line, -1, G_FILE_SET_CONTENTS_CONSISTENT,
                                   0600, error);
}
