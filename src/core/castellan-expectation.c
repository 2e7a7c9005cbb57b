/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "castellan-expectation.h"
#include "castellan-policy.h"

/**
 * castellan_expectation_compute:
 *
 * The verdict @options will earn, from the policy and the settings alone:
 * nothing is sent and nothing is looked up. HTTPS is proven by its
 * certificate (a failed check stops the connection); Kerberos proves a
 * host by name; NTLM proves nothing, and over HTTP is allowed only to a
 * host TrustedHosts covers.
 */
CastellanExpectation *
castellan_expectation_compute (const CastellanConnectOptions *options)
{
  CastellanExpectation *self;
  const CastellanEndpoint *endpoint;
  CastellanPolicyDecision decision;
  g_autoptr(GError) error = NULL;
  gboolean kerberos_possible;

  g_return_val_if_fail (options != NULL && options->endpoint != NULL, NULL);

  endpoint = options->endpoint;
  self = g_new0 (CastellanExpectation, 1);
  self->host = g_strdup (endpoint->host);
  self->https = endpoint->https;
  self->by_address = castellan_endpoint_is_ip (endpoint);
  self->trusted_hosts_entry = g_strdup (castellan_trusted_hosts_match (options->trusted_hosts, endpoint->host));

  if (!castellan_policy_decide (endpoint, options->auth, options->trusted_hosts,
                                options->allow_unencrypted, &decision, &error))
    {
      self->refused = TRUE;
      self->refusal = g_strdup (error->message);
      /* TrustedHosts only ever allows NTLM. */
      self->trust_helps = !self->https &&
                          (options->auth == CASTELLAN_AUTH_REQUEST_NTLM ||
                           options->auth == CASTELLAN_AUTH_REQUEST_NEGOTIATE);
    }
  castellan_policy_decision_clear (&decision);

  switch (options->auth)
    {
    case CASTELLAN_AUTH_REQUEST_BASIC:
      self->auth = CASTELLAN_AUTH_BASIC;
      kerberos_possible = FALSE;
      break;
    case CASTELLAN_AUTH_REQUEST_NTLM:
      self->auth = CASTELLAN_AUTH_NTLM;
      kerberos_possible = FALSE;
      break;
    case CASTELLAN_AUTH_REQUEST_KERBEROS:
      self->auth = CASTELLAN_AUTH_KERBEROS;
      kerberos_possible = TRUE;
      break;
    case CASTELLAN_AUTH_REQUEST_NEGOTIATE:
    default:
      /* Kerberos needs a name to find the service principal; by address
       * Negotiate can only end in NTLM. */
      kerberos_possible = !self->by_address;
      self->auth = kerberos_possible ? CASTELLAN_AUTH_KERBEROS : CASTELLAN_AUTH_NTLM;
      self->ntlm_fallback = kerberos_possible &&
                            (self->https || self->trusted_hosts_entry != NULL);
      break;
    }

  if (self->https)
    self->identity = options->pinned_sha256 != NULL ? CASTELLAN_IDENTITY_TLS_PINNED : CASTELLAN_IDENTITY_TLS;
  else if (self->auth == CASTELLAN_AUTH_KERBEROS)
    self->identity = CASTELLAN_IDENTITY_KERBEROS;
  else
    self->identity = CASTELLAN_IDENTITY_NONE;

  self->delegation_forced = kerberos_possible && options->delegate_always;
  self->delegation_possible = kerberos_possible && (options->delegate || options->delegate_always);

  if (!self->https && self->auth == CASTELLAN_AUTH_BASIC)
    self->level = CASTELLAN_LEVEL_UNPROTECTED;
  else if (self->identity == CASTELLAN_IDENTITY_NONE)
    self->level = CASTELLAN_LEVEL_UNVERIFIED;
  else if (self->auth == CASTELLAN_AUTH_BASIC || self->delegation_forced)
    self->level = CASTELLAN_LEVEL_CAVEATS;
  else
    self->level = CASTELLAN_LEVEL_VERIFIED;

  self->floor = self->level;
  /* NTLM over HTTP proves nothing; over HTTPS the certificate still does. */
  if (self->ntlm_fallback && !self->https)
    self->floor = CASTELLAN_LEVEL_UNVERIFIED;
  /* Delegation happens when the KDC allows it: a caveat at worst. */
  if (self->delegation_possible && self->floor > CASTELLAN_LEVEL_CAVEATS)
    self->floor = CASTELLAN_LEVEL_CAVEATS;
  return self;
}

void
castellan_expectation_free (CastellanExpectation *self)
{
  if (self == NULL)
    return;
  g_free (self->refusal);
  g_free (self->host);
  g_free (self->trusted_hosts_entry);
  g_free (self);
}

/**
 * castellan_expectation_summary:
 *
 * Returns: (transfer full): one line: the level in the words the consoles
 *   use, and what it depends on ("Server not verified — refused unless on
 *   TrustedHosts").
 */
char *
castellan_expectation_summary (const CastellanExpectation *self)
{
  const char *title = castellan_verdict_level_title (self->level);

  if (self->refused && self->trust_helps)
    return g_strdup_printf (_("%s — refused unless on TrustedHosts"), title);
  if (self->refused && !self->https && self->auth == CASTELLAN_AUTH_BASIC)
    return g_strdup (_("Refused — Basic over HTTP would send everything unencrypted"));
  if (self->refused)
    return g_strdup (_("Refused — Kerberos needs the host’s name, not its address"));
  if (self->floor < self->level && self->ntlm_fallback && !self->https)
    return g_strdup_printf (_("%s, or %s if Negotiate ends in NTLM (TrustedHosts entry “%s”)"),
                            title, castellan_verdict_level_title (self->floor), self->trusted_hosts_entry);
  if (self->floor < self->level)
    return g_strdup_printf (_("%s, or %s if the host receives delegation"),
                            title, castellan_verdict_level_title (self->floor));
  if (self->trusted_hosts_entry != NULL && self->identity == CASTELLAN_IDENTITY_NONE)
    return g_strdup_printf (_("%s — allowed by the TrustedHosts entry “%s”"), title, self->trusted_hosts_entry);
  return g_strdup (title);
}

/**
 * castellan_expectation_explain:
 *
 * Returns: (transfer full): short sentences, as a verdict's explanation
 *   has them, in the future tense: who will prove the server, how the user
 *   will sign in, how the traffic will be protected, what allows it.
 */
char **
castellan_expectation_explain (const CastellanExpectation *self)
{
  GPtrArray *lines = g_ptr_array_new ();

  if (self->refused)
    g_ptr_array_add (lines, g_strdup (self->refusal));

  switch (self->identity)
    {
    case CASTELLAN_IDENTITY_KERBEROS:
      g_ptr_array_add (lines, g_strdup_printf (_("Kerberos mutual authentication will prove the server: only the real %s holds the key of its service principal."), self->host));
      break;
    case CASTELLAN_IDENTITY_TLS:
      g_ptr_array_add (lines, g_strdup_printf (_("Its TLS certificate will prove the server: it must be issued for %s by an authority this computer trusts, or the connection stops."), self->host));
      break;
    case CASTELLAN_IDENTITY_TLS_PINNED:
      g_ptr_array_add (lines, g_strdup_printf (_("Its TLS certificate will prove the server: it must be the one you pinned for %s, or the connection stops."), self->host));
      break;
    case CASTELLAN_IDENTITY_NONE:
    default:
      if (self->by_address && self->auth != CASTELLAN_AUTH_BASIC)
        g_ptr_array_add (lines, g_strdup_printf (_("The server’s identity will not be proven: by address (%s) Kerberos cannot be used, and NTLM proves only who you are."), self->host));
      else
        g_ptr_array_add (lines, g_strdup (_("The server’s identity will not be proven: NTLM and Basic prove only who you are.")));
      break;
    }

  if (self->ntlm_fallback && !self->https)
    g_ptr_array_add (lines, g_strdup_printf (_("If Kerberos fails, Negotiate may end in NTLM, which the TrustedHosts entry “%s” allows: the server would then not be verified."), self->trusted_hosts_entry));

  if (self->https)
    g_ptr_array_add (lines, g_strdup (_("The traffic will be encrypted by TLS.")));
  else if (self->auth == CASTELLAN_AUTH_KERBEROS)
    g_ptr_array_add (lines, g_strdup (_("The traffic will be sealed with the Kerberos session key.")));
  else if (self->auth == CASTELLAN_AUTH_NTLM)
    g_ptr_array_add (lines, g_strdup (_("The traffic will be sealed by NTLM with RC4, a weak cipher.")));
  else
    g_ptr_array_add (lines, g_strdup (_("The traffic will not be encrypted: anyone on the network path could read it, and change it.")));

  if (self->auth == CASTELLAN_AUTH_BASIC)
    g_ptr_array_add (lines, g_strdup (_("Basic sends your password itself to the server.")));
  if (self->identity == CASTELLAN_IDENTITY_NONE && self->trusted_hosts_entry != NULL && !self->refused)
    g_ptr_array_add (lines, g_strdup_printf (_("Allowed because the TrustedHosts entry “%s” covers this host: you accepted that its identity cannot be verified."), self->trusted_hosts_entry));
  if (self->delegation_forced)
    g_ptr_array_add (lines, g_strdup (_("Delegation is forced: your ticket-granting ticket will go to the host whatever the KDC says of it.")));
  else if (self->delegation_possible)
    g_ptr_array_add (lines, g_strdup (_("Delegation is on: if the KDC trusts the host for delegation, it will receive a credential it can use as you.")));

  g_ptr_array_add (lines, NULL);
  return (char **) g_ptr_array_free (lines, FALSE);
}

/**
 * castellan_expectation_is_below:
 *
 * Whether even the best this connection can be is less than @last, the
 * host's last verdict: known before any credential is used.
 */
gboolean
castellan_expectation_is_below (const CastellanExpectation *self,
                                const CastellanVerdict     *last)
{
  if (last == NULL)
    return FALSE;
  return self->level < castellan_verdict_get_level (last);
}

/**
 * castellan_expectation_is_broken_by:
 *
 * Whether @verdict, the connection's real one, is below the worst the
 * settings allowed.
 */
gboolean
castellan_expectation_is_broken_by (const CastellanExpectation *self,
                                    const CastellanVerdict     *verdict)
{
  return castellan_verdict_get_level (verdict) < self->floor;
}

static char *
describe_last (const CastellanVerdict *last)
{
  const char *title = castellan_verdict_level_title (castellan_verdict_get_level (last));

  switch (last->identity)
    {
    case CASTELLAN_IDENTITY_KERBEROS:
      return g_strdup_printf (_("Last time: “%s”, the server proven by Kerberos, the traffic protected by %s."), title, last->encryption);
    case CASTELLAN_IDENTITY_TLS:
    case CASTELLAN_IDENTITY_TLS_PINNED:
      return g_strdup_printf (_("Last time: “%s”, the server proven by its TLS certificate, the traffic protected by %s."), title, last->encryption);
    case CASTELLAN_IDENTITY_NONE:
    default:
      return g_strdup_printf (_("Last time: “%s”, the traffic protected by %s."), title, last->encryption);
    }
}

/* What in the settings takes the connection below @last. */
static char *
describe_cause (const CastellanExpectation *self,
                const CastellanVerdict     *last)
{
  gboolean was_tls = last->identity == CASTELLAN_IDENTITY_TLS || last->identity == CASTELLAN_IDENTITY_TLS_PINNED;

  if (!self->https && self->auth == CASTELLAN_AUTH_BASIC)
    return g_strdup (_("Basic over HTTP: your password and every command would cross the network unencrypted."));
  if (was_tls && !self->https)
    return g_strdup (_("HTTPS is now off: no certificate will prove the server."));
  if (last->identity == CASTELLAN_IDENTITY_KERBEROS && self->identity == CASTELLAN_IDENTITY_NONE && self->by_address)
    return g_strdup_printf (_("The host is now reached by its address, %s: Kerberos needs its name, and NTLM cannot prove the server."), self->host);
  if (last->identity != CASTELLAN_IDENTITY_NONE && self->identity == CASTELLAN_IDENTITY_NONE)
    return g_strdup (_("The sign-in method is now NTLM, which cannot prove the server."));
  if (self->auth == CASTELLAN_AUTH_BASIC && last->auth != CASTELLAN_AUTH_BASIC)
    return g_strdup (_("The sign-in method is now Basic: your password itself would be sent."));
  if (self->delegation_forced)
    return g_strdup (_("Delegation is now forced: your ticket-granting ticket would go to the host."));
  return g_strdup (_("The host’s settings changed."));
}

/**
 * castellan_expectation_describe_change:
 *
 * Returns: (transfer full): what the last connection was, what this one
 *   will be, and why, for the alert shown before connecting.
 */
char *
castellan_expectation_describe_change (const CastellanExpectation *self,
                                       const CastellanVerdict     *last)
{
  g_autofree char *before = describe_last (last);
  g_autofree char *cause = describe_cause (self, last);
  g_autofree char *summary = castellan_expectation_summary (self);

  return g_strdup_printf (_("%s\nThis time: “%s”. %s"), before, summary, cause);
}

/**
 * castellan_expectation_describe_verdict_change:
 *
 * Returns: (transfer full): what the connection turned out to be against
 *   what was expected (and what the last one was), for the alert shown
 *   after signing in, before any command.
 */
char *
castellan_expectation_describe_verdict_change (const CastellanExpectation *self,
                                               const CastellanVerdict     *verdict,
                                               const CastellanVerdict     *last)
{
  const char *now = castellan_verdict_level_title (castellan_verdict_get_level (verdict));
  g_autofree char *expected = castellan_expectation_summary (self);
  g_autofree char *before = last ? describe_last (last) : NULL;
  g_autofree char *why = NULL;

  if (verdict->identity == CASTELLAN_IDENTITY_NONE && self->identity != CASTELLAN_IDENTITY_NONE)
    why = g_strdup_printf (_("The server signed you in with %s, which cannot prove it, instead of %s."),
                           castellan_auth_method_to_string (verdict->auth),
                           self->https ? "TLS" : castellan_auth_method_to_string (self->auth));
  else if (verdict->delegation || verdict->delegation_forced)
    why = g_strdup (_("The host received a delegated credential."));
  else
    why = g_strdup_printf (_("The traffic is protected by %s."), verdict->encryption);
  if (before != NULL)
    return g_strdup_printf (_("%s\nThis time: “%s” (expected: “%s”). %s"), before, now, expected, why);
  return g_strdup_printf (_("This connection is “%s”, expected: “%s”. %s"), now, expected, why);
}
