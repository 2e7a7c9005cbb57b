/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <gio/gio.h>
#include <glib/gi18n-lib.h>
#include <string.h>

#include "castellan-json.h"
#include "castellan-verdict.h"

CastellanVerdict *
castellan_verdict_new (void)
{
  CastellanVerdict *self = g_new0 (CastellanVerdict, 1);

  self->encryption = g_strdup ("none");
  return self;
}

CastellanVerdict *
castellan_verdict_copy (const CastellanVerdict *self)
{
  CastellanVerdict *copy = g_new0 (CastellanVerdict, 1);

  *copy = *self;
  copy->host = g_strdup (self->host);
  copy->encryption = g_strdup (self->encryption);
  copy->tls_cipher_suite = g_strdup (self->tls_cipher_suite);
  copy->trusted_hosts_entry = g_strdup (self->trusted_hosts_entry);
  copy->user = g_strdup (self->user);
  copy->server_principal = g_strdup (self->server_principal);
  copy->delegation_reason = g_strdup (self->delegation_reason);
  return copy;
}

void
castellan_verdict_free (CastellanVerdict *self)
{
  if (self == NULL)
    return;
  g_free (self->host);
  g_free (self->encryption);
  g_free (self->tls_cipher_suite);
  g_free (self->trusted_hosts_entry);
  g_free (self->user);
  g_free (self->server_principal);
  g_free (self->delegation_reason);
  g_free (self);
}

static gboolean
encryption_is_weak (const char *encryption)
{
  return g_str_has_prefix (encryption, "ntlm-") ||
         strstr (encryption, "rc4") != NULL ||
         strstr (encryption, "des") != NULL ||
         g_str_equal (encryption, "tls-1.0") ||
         g_str_equal (encryption, "tls-1.1");
}

/* A rough order of encryption strength, to notice a downgrade within one
 * level (AES-256 to AES-128, TLS 1.3 to 1.2). */
static int
encryption_rank (const char *encryption)
{
  if (g_str_equal (encryption, "none"))
    return 0;
  if (encryption_is_weak (encryption))
    return 1;
  if (g_str_has_prefix (encryption, "kerberos-aes256") || g_str_equal (encryption, "tls-1.3"))
    return 4;
  if (g_str_has_prefix (encryption, "kerberos-aes128") || g_str_equal (encryption, "tls-1.2"))
    return 3;
  return 2;
}

CastellanLevel
castellan_verdict_get_level (const CastellanVerdict *self)
{
  g_return_val_if_fail (self != NULL, CASTELLAN_LEVEL_UNPROTECTED);

  if (g_str_equal (self->encryption, "none"))
    return CASTELLAN_LEVEL_UNPROTECTED;
  if (self->identity == CASTELLAN_IDENTITY_NONE)
    return CASTELLAN_LEVEL_UNVERIFIED;
  if (encryption_is_weak (self->encryption) ||
      self->auth == CASTELLAN_AUTH_BASIC ||
      self->delegation || self->delegation_forced)
    return CASTELLAN_LEVEL_CAVEATS;
  return CASTELLAN_LEVEL_VERIFIED;
}

const char *
castellan_verdict_level_title (CastellanLevel level)
{
  switch (level)
    {
    case CASTELLAN_LEVEL_VERIFIED:
      return _("Verified and encrypted");
    case CASTELLAN_LEVEL_CAVEATS:
      return _("Verified, with caveats");
    case CASTELLAN_LEVEL_UNVERIFIED:
      return _("Server not verified");
    case CASTELLAN_LEVEL_UNPROTECTED:
      return _("Not encrypted");
    default:
      g_return_val_if_reached (NULL);
    }
}

const char *
castellan_verdict_level_id (CastellanLevel level)
{
  static const char *ids[] = { "unprotected", "unverified", "caveats", "verified" };

  g_return_val_if_fail (level <= CASTELLAN_LEVEL_VERIFIED, "unprotected");
  return ids[level];
}

static char *
describe_encryption (const CastellanVerdict *self)
{
  const char *e = self->encryption;

  if (g_str_equal (e, "none"))
    return g_strdup (_("The traffic is not encrypted: anyone on the network path can read it, and change it."));
  if (g_str_has_prefix (e, "kerberos-aes256"))
    return g_strdup (_("The traffic is sealed with the Kerberos session key (AES-256)."));
  if (g_str_has_prefix (e, "kerberos-aes128"))
    return g_strdup (_("The traffic is sealed with the Kerberos session key (AES-128)."));
  if (g_str_has_prefix (e, "kerberos-"))
    return g_strdup_printf (_("The traffic is sealed with the Kerberos session key (%s, a weak cipher)."),
                            e + strlen ("kerberos-"));
  if (g_str_has_prefix (e, "ntlm-"))
    return g_strdup (_("The traffic is sealed by NTLM with RC4, a weak cipher."));
  if (g_str_has_prefix (e, "tls-"))
    return g_strdup_printf (_("The traffic is encrypted by TLS %s (%s)."), e + strlen ("tls-"),
                            self->tls_cipher_suite ? self->tls_cipher_suite : _("cipher suite unknown"));
  return g_strdup_printf (_("The traffic is encrypted (%s)."), e);
}

/**
 * castellan_verdict_explain:
 *
 * Returns: (transfer full): short sentences, one per aspect: who proved
 *   the server, how the user signed in, how the traffic is protected, what
 *   allowed an unproven server, and delegation.
 */
char **
castellan_verdict_explain (const CastellanVerdict *self)
{
  GPtrArray *lines = g_ptr_array_new ();

  switch (self->identity)
    {
    case CASTELLAN_IDENTITY_KERBEROS:
      if (self->server_principal != NULL)
        g_ptr_array_add (lines, g_strdup_printf (_("The server’s identity is proven by Kerberos mutual authentication: only the real %s holds the key of its service principal, %s."), self->host, self->server_principal));
      else
        g_ptr_array_add (lines, g_strdup_printf (_("The server’s identity is proven by Kerberos mutual authentication: only the real %s holds the key of its service principal."), self->host));
      break;
    case CASTELLAN_IDENTITY_TLS:
      g_ptr_array_add (lines, g_strdup_printf (_("The server’s identity is proven by its TLS certificate, issued for %s by an authority this computer trusts."), self->host));
      break;
    case CASTELLAN_IDENTITY_TLS_PINNED:
      g_ptr_array_add (lines, g_strdup_printf (_("The server’s identity is proven by its TLS certificate, the one you pinned for %s."), self->host));
      break;
    case CASTELLAN_IDENTITY_NONE:
    default:
      g_ptr_array_add (lines, g_strdup (_("The server’s identity is not proven: NTLM proves only who you are, so another machine answering at this address would go unnoticed.")));
      break;
    }

  switch (self->auth)
    {
    case CASTELLAN_AUTH_KERBEROS:
      g_ptr_array_add (lines, g_strdup (_("You signed in with Kerberos; no reusable password was sent.")));
      break;
    case CASTELLAN_AUTH_NTLM:
      g_ptr_array_add (lines, g_strdup (_("You signed in with NTLM; no password was sent, but NTLM cannot prove the server.")));
      break;
    case CASTELLAN_AUTH_BASIC:
    default:
      g_ptr_array_add (lines, g_strdup (_("You signed in with Basic: your password itself was sent to the server.")));
      break;
    }

  g_ptr_array_add (lines, describe_encryption (self));

  if (self->trusted_hosts_entry != NULL)
    g_ptr_array_add (lines, g_strdup_printf (_("Allowed because the TrustedHosts entry “%s” covers this host: you accepted that its identity cannot be verified."), self->trusted_hosts_entry));

  if (self->delegation_forced)
    g_ptr_array_add (lines, g_strdup (_("Delegation was forced: your forwardable ticket-granting ticket goes to the host whether or not the KDC trusts it for delegation (ok-as-delegate).")));
  if (self->delegation)
    g_ptr_array_add (lines, g_strdup (_("Delegation is on: the server holds a credential it can use to reach other machines as you.")));
  else if (self->delegation_requested)
    {
      g_autofree char *note = castellan_verdict_delegation_note (self);

      g_ptr_array_add (lines, g_steal_pointer (&note));
    }

  g_ptr_array_add (lines, NULL);
  return (char **) g_ptr_array_free (lines, FALSE);
}

/**
 * castellan_verdict_delegation_note:
 *
 * Returns: (transfer full) (nullable): why delegation, asked for, did not
 *   happen, and what would make it; %NULL when it was not asked for or
 *   happened.
 */
char *
castellan_verdict_delegation_note (const CastellanVerdict *self)
{
  const char *reason = self->delegation_reason;

  if (!self->delegation_requested || self->delegation)
    return NULL;
  if (g_strcmp0 (reason, "not-forwardable") == 0)
    return g_strdup (_("Delegation was asked for but not done: your ticket-granting ticket is not forwardable. Sign in again with a forwardable ticket (kinit -f, or forwardable = true in krb5.conf)."));
  if (g_strcmp0 (reason, "not-ok-as-delegate") == 0)
    return g_strdup (_("Delegation was asked for but not done: the KDC does not trust this host for delegation (its ticket lacks ok-as-delegate). Have the host trusted for delegation, or force it if you accept the risk."));
  if (g_strcmp0 (reason, "ntlm") == 0)
    return g_strdup (_("Delegation was asked for but not done: NTLM cannot delegate; only Kerberos can."));
  return g_strdup (_("Delegation was asked for but not done: the Kerberos library did not hand the host a credential."));
}

/**
 * castellan_verdict_improvements:
 *
 * Returns: (transfer full): what would raise the assurance, most useful
 *   first; empty when nothing would.
 */
char **
castellan_verdict_improvements (const CastellanVerdict *self)
{
  GPtrArray *lines = g_ptr_array_new ();
  gboolean https = g_str_has_prefix (self->encryption, "tls-");

  if (self->identity == CASTELLAN_IDENTITY_NONE)
    {
      if (self->host != NULL && (g_hostname_is_ip_address (self->host) || strchr (self->host, ':')))
        g_ptr_array_add (lines, g_strdup (_("Connect by the host’s DNS name so Kerberos can prove the server.")));
      else
        g_ptr_array_add (lines, g_strdup (_("Make Kerberos work for this name (the host in the domain, an HTTP/ service principal for it) so it can prove the server.")));
      if (!https)
        g_ptr_array_add (lines, g_strdup (_("Use HTTPS with a certificate from an authority you trust.")));
    }
  if (g_str_equal (self->encryption, "none"))
    g_ptr_array_add (lines, g_strdup (_("Use HTTPS, or Kerberos over HTTP, so that the traffic is encrypted.")));
  if (self->auth == CASTELLAN_AUTH_BASIC)
    g_ptr_array_add (lines, g_strdup (_("Use Kerberos or Negotiate instead of Basic, so that no password is sent.")));
  if (g_str_equal (self->encryption, "tls-1.0") || g_str_equal (self->encryption, "tls-1.1"))
    g_ptr_array_add (lines, g_strdup (_("Enable TLS 1.2 or later on the host.")));
  if (self->delegation_forced)
    g_ptr_array_add (lines, g_strdup (_("Do not force delegation: have the host trusted for delegation in the directory instead.")));
  if (self->delegation)
    g_ptr_array_add (lines, g_strdup (_("Turn delegation off unless this session must reach other machines.")));

  g_ptr_array_add (lines, NULL);
  return (char **) g_ptr_array_free (lines, FALSE);
}

/**
 * castellan_verdict_is_weaker_than:
 *
 * Whether this connection is less protected than @previous, to the same
 * host: a lower level, or weaker encryption at the same level.
 */
gboolean
castellan_verdict_is_weaker_than (const CastellanVerdict *self,
                                  const CastellanVerdict *previous)
{
  CastellanLevel now, before;

  if (previous == NULL)
    return FALSE;
  now = castellan_verdict_get_level (self);
  before = castellan_verdict_get_level (previous);
  if (now != before)
    return now < before;
  if (previous->identity != CASTELLAN_IDENTITY_NONE && self->identity == CASTELLAN_IDENTITY_NONE)
    return TRUE;
  return encryption_rank (self->encryption) < encryption_rank (previous->encryption);
}

const char *
castellan_server_identity_to_string (CastellanServerIdentity identity)
{
  static const char *names[] = { "none", "kerberos", "tls", "tls-pinned" };

  g_return_val_if_fail (identity <= CASTELLAN_IDENTITY_TLS_PINNED, "none");
  return names[identity];
}

const char *
castellan_auth_method_to_string (CastellanAuthMethod auth)
{
  static const char *names[] = { "kerberos", "ntlm", "basic" };

  g_return_val_if_fail (auth <= CASTELLAN_AUTH_BASIC, "basic");
  return names[auth];
}

static const char *auth_request_names[] = { "negotiate", "kerberos", "ntlm", "basic" };

const char *
castellan_auth_request_to_string (CastellanAuthRequest auth)
{
  g_return_val_if_fail (auth <= CASTELLAN_AUTH_REQUEST_BASIC, "negotiate");
  return auth_request_names[auth];
}

gboolean
castellan_auth_request_from_string (const char           *text,
                                    CastellanAuthRequest *auth)
{
  for (guint i = 0; i < G_N_ELEMENTS (auth_request_names); i++)
    if (g_ascii_strcasecmp (text, auth_request_names[i]) == 0)
      {
        *auth = (CastellanAuthRequest) i;
        return TRUE;
      }
  return FALSE;
}

char *
castellan_verdict_to_json (const CastellanVerdict *self,
                           int                     exit_code)
{
  GString *out = g_string_new ("{");
  CastellanLevel level = castellan_verdict_get_level (self);

  castellan_json_member (out, "host", self->host, FALSE);
  castellan_json_member (out, "server_identity", castellan_server_identity_to_string (self->identity), TRUE);
  castellan_json_member (out, "auth", castellan_auth_method_to_string (self->auth), TRUE);
  castellan_json_member (out, "encryption", self->encryption, TRUE);
  castellan_json_member (out, "tls_cipher_suite", self->tls_cipher_suite, TRUE);
  castellan_json_member (out, "trusted_hosts_entry", self->trusted_hosts_entry, TRUE);
  castellan_json_member (out, "server_principal", self->server_principal, TRUE);
  g_string_append_printf (out, ",\"delegation\":%s", self->delegation ? "true" : "false");
  g_string_append_printf (out, ",\"delegation_requested\":%s", self->delegation_requested ? "true" : "false");
  g_string_append_printf (out, ",\"delegation_forced\":%s", self->delegation_forced ? "true" : "false");
  castellan_json_member (out, "delegation_reason", self->delegation_reason, TRUE);
  castellan_json_member (out, "level", castellan_verdict_level_id (level), TRUE);
  g_string_append_printf (out, ",\"exit_code\":%d}\n", exit_code);
  return g_string_free (out, FALSE);
}
