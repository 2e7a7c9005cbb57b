/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <string.h>

#include "castellan-expectation.h"

/* The level each kind of saved host will get, before any connection. */
typedef struct
{
  const char *target;
  CastellanAuthRequest auth;
  const char *trusted;
  gboolean allow_unencrypted;
  gboolean pinned;
  int delegate;  /* 1: to hosts the KDC trusts; 2: always */
  gboolean refused;
  gboolean trust_helps;
  CastellanLevel level;
  CastellanLevel floor;
  CastellanServerIdentity identity;
  const char *summary;
} ExpectCase;

#define NEG CASTELLAN_AUTH_REQUEST_NEGOTIATE
#define KRB CASTELLAN_AUTH_REQUEST_KERBEROS
#define NTLM CASTELLAN_AUTH_REQUEST_NTLM
#define BASIC CASTELLAN_AUTH_REQUEST_BASIC
#define VER CASTELLAN_LEVEL_VERIFIED
#define CAV CASTELLAN_LEVEL_CAVEATS
#define UNV CASTELLAN_LEVEL_UNVERIFIED
#define UNP CASTELLAN_LEVEL_UNPROTECTED
#define ID_NONE CASTELLAN_IDENTITY_NONE
#define ID_KRB CASTELLAN_IDENTITY_KERBEROS
#define ID_TLS CASTELLAN_IDENTITY_TLS
#define ID_PIN CASTELLAN_IDENTITY_TLS_PINNED

static const ExpectCase cases[] = {
  /* HTTP by name: Kerberos proves the server */
  { "srv01.corp.example", NEG, "", FALSE, FALSE, 0, FALSE, FALSE, VER, VER, ID_KRB, "Verified and encrypted" },
  { "srv01.corp.example", KRB, "*", FALSE, FALSE, 0, FALSE, FALSE, VER, VER, ID_KRB, "Verified and encrypted" },
  /* ... unless Negotiate may fall back to NTLM, which TrustedHosts allows */
  { "srv01.corp.example", NEG, "*.corp.example", FALSE, FALSE, 0, FALSE, FALSE, VER, UNV, ID_KRB,
    "Verified and encrypted, or Server not verified if Negotiate ends in NTLM (TrustedHosts entry “*.corp.example”)" },
  { "srv01.corp.example", NTLM, "", FALSE, FALSE, 0, TRUE, TRUE, UNV, UNV, ID_NONE,
    "Server not verified — refused unless on TrustedHosts" },
  { "srv01.corp.example", NTLM, "srv01.corp.example", FALSE, FALSE, 0, FALSE, FALSE, UNV, UNV, ID_NONE,
    "Server not verified — allowed by the TrustedHosts entry “srv01.corp.example”" },
  /* delegation: a caveat when the KDC allows it, always when forced */
  { "srv01.corp.example", NEG, "", FALSE, FALSE, 1, FALSE, FALSE, VER, CAV, ID_KRB,
    "Verified and encrypted, or Verified, with caveats if the host receives delegation" },
  { "srv01.corp.example", KRB, "", FALSE, FALSE, 2, FALSE, FALSE, CAV, CAV, ID_KRB, "Verified, with caveats" },
  /* HTTP by address: NTLM only */
  { "192.0.2.10", NEG, "", FALSE, FALSE, 0, TRUE, TRUE, UNV, UNV, ID_NONE,
    "Server not verified — refused unless on TrustedHosts" },
  { "192.0.2.10", NEG, "192.0.2.*", FALSE, FALSE, 1, FALSE, FALSE, UNV, UNV, ID_NONE,
    "Server not verified — allowed by the TrustedHosts entry “192.0.2.*”" },
  { "192.0.2.10", KRB, "*", FALSE, FALSE, 0, TRUE, FALSE, VER, VER, ID_KRB,
    "Refused — Kerberos needs the host’s name, not its address" },
  /* Basic over HTTP: never, unless asked for */
  { "srv01.corp.example", BASIC, "*", FALSE, FALSE, 0, TRUE, FALSE, UNP, UNP, ID_NONE,
    "Refused — Basic over HTTP would send everything unencrypted" },
  { "srv01.corp.example", BASIC, "", TRUE, FALSE, 0, FALSE, FALSE, UNP, UNP, ID_NONE, "Not encrypted" },
  /* HTTPS: the certificate proves the server, whatever the sign-in */
  { "https://192.0.2.10", NTLM, "", FALSE, FALSE, 0, FALSE, FALSE, VER, VER, ID_TLS, "Verified and encrypted" },
  { "https://srv01", NEG, "", FALSE, FALSE, 0, FALSE, FALSE, VER, VER, ID_TLS, "Verified and encrypted" },
  { "https://srv01", NEG, "", FALSE, TRUE, 0, FALSE, FALSE, VER, VER, ID_PIN, "Verified and encrypted" },
  { "https://srv01", BASIC, "", FALSE, FALSE, 0, FALSE, FALSE, CAV, CAV, ID_TLS, "Verified, with caveats" },
};

static CastellanConnectOptions *
options_for (const char          *target,
             CastellanAuthRequest auth,
             const char          *trusted)
{
  g_autoptr(CastellanEndpoint) ep = castellan_endpoint_parse (target, FALSE, NULL);
  CastellanConnectOptions *options;

  g_assert_nonnull (ep);
  options = castellan_connect_options_new (ep);
  options->auth = auth;
  castellan_connect_options_set_trusted_hosts (options, trusted);
  return options;
}

static void
test_matrix (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const ExpectCase *c = &cases[i];
      g_autoptr(CastellanConnectOptions) options = options_for (c->target, c->auth, c->trusted);
      g_autoptr(CastellanExpectation) e = NULL;
      g_autofree char *summary = NULL;
      g_auto(GStrv) explain = NULL;

      options->allow_unencrypted = c->allow_unencrypted;
      options->pinned_sha256 = c->pinned ? g_strdup ("00") : NULL;
      options->delegate = c->delegate >= 1;
      options->delegate_always = c->delegate == 2;
      g_test_message ("%s %s trusted=“%s”", c->target, castellan_auth_request_to_string (c->auth), c->trusted);
      e = castellan_expectation_compute (options);
      summary = castellan_expectation_summary (e);
      explain = castellan_expectation_explain (e);
      g_assert_cmpint (e->refused, ==, c->refused);
      g_assert_cmpint (e->trust_helps, ==, c->trust_helps);
      g_assert_cmpint (e->level, ==, c->level);
      g_assert_cmpint (e->floor, ==, c->floor);
      g_assert_cmpint (e->identity, ==, c->identity);
      g_assert_cmpstr (summary, ==, c->summary);
      g_assert_nonnull (explain[0]);
      if (c->refused)
        g_assert_true (g_str_has_prefix (explain[0], "Refused before any credential was sent"));
    }
}

static CastellanVerdict *
verdict (CastellanServerIdentity identity,
         CastellanAuthMethod     auth,
         const char             *encryption)
{
  CastellanVerdict *v = castellan_verdict_new ();

  v->host = g_strdup ("srv01.corp.example");
  v->identity = identity;
  v->auth = auth;
  g_free (v->encryption);
  v->encryption = g_strdup (encryption);
  return v;
}

/* A host last proven by Kerberos, now saved by its address: known to be
 * less protected before anything is sent, and said why. */
static void
test_below_last (void)
{
  g_autoptr(CastellanVerdict) kerberos = verdict (ID_KRB, CASTELLAN_AUTH_KERBEROS, "kerberos-aes256-cts-hmac-sha1-96");
  g_autoptr(CastellanVerdict) ntlm = verdict (ID_NONE, CASTELLAN_AUTH_NTLM, "ntlm-rc4-128");
  g_autoptr(CastellanConnectOptions) by_address = options_for ("10.20.30.40", NEG, "10.20.30.*");
  g_autoptr(CastellanConnectOptions) by_name = options_for ("srv01.corp.example", NEG, "");
  g_autoptr(CastellanConnectOptions) http = options_for ("srv01.corp.example", NEG, "");
  g_autoptr(CastellanConnectOptions) https = options_for ("https://srv01.corp.example", NEG, "");
  g_autoptr(CastellanExpectation) a = castellan_expectation_compute (by_address);
  g_autoptr(CastellanExpectation) n = castellan_expectation_compute (by_name);
  g_autoptr(CastellanExpectation) h = castellan_expectation_compute (http);
  g_autoptr(CastellanExpectation) s = castellan_expectation_compute (https);
  g_autoptr(CastellanVerdict) tls = verdict (ID_TLS, CASTELLAN_AUTH_NTLM, "tls-1.3");
  g_autofree char *change = NULL;

  g_assert_true (castellan_expectation_is_below (a, kerberos));
  g_assert_false (castellan_expectation_is_below (a, ntlm));
  g_assert_false (castellan_expectation_is_below (a, NULL));
  g_assert_false (castellan_expectation_is_below (n, kerberos));
  g_assert_false (castellan_expectation_is_below (s, kerberos));
  change = castellan_expectation_describe_change (a, kerberos);
  g_assert_nonnull (strstr (change, "Last time: “Verified and encrypted”, the server proven by Kerberos"));
  g_assert_nonnull (strstr (change, "This time: “Server not verified"));
  g_assert_nonnull (strstr (change, "reached by its address, 10.20.30.40"));
  /* Last time over HTTPS, now HTTP by name: still verified by Kerberos,
   * so not below, though another proof. */
  g_assert_false (castellan_expectation_is_below (h, tls));
}

/* After signing in: a verdict below the worst the settings allowed is
 * broken; a fallback the settings allow is not. */
static void
test_broken_by (void)
{
  g_autoptr(CastellanVerdict) ntlm = verdict (ID_NONE, CASTELLAN_AUTH_NTLM, "ntlm-rc4-128");
  g_autoptr(CastellanVerdict) kerberos = verdict (ID_KRB, CASTELLAN_AUTH_KERBEROS, "kerberos-aes256-cts-hmac-sha1-96");
  g_autoptr(CastellanConnectOptions) strict = options_for ("srv01.corp.example", NEG, "");
  g_autoptr(CastellanConnectOptions) fallback = options_for ("srv01.corp.example", NEG, "*");
  g_autoptr(CastellanExpectation) s = castellan_expectation_compute (strict);
  g_autoptr(CastellanExpectation) f = castellan_expectation_compute (fallback);
  g_autofree char *why = NULL;

  g_assert_true (castellan_expectation_is_broken_by (s, ntlm));
  g_assert_false (castellan_expectation_is_broken_by (s, kerberos));
  g_assert_false (castellan_expectation_is_broken_by (f, ntlm));
  why = castellan_expectation_describe_verdict_change (s, ntlm, kerberos);
  g_assert_nonnull (strstr (why, "This time: “Server not verified” (expected: “Verified and encrypted”)"));
  g_assert_nonnull (strstr (why, "with ntlm, which cannot prove it, instead of kerberos"));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/expectation/matrix", test_matrix);
  g_test_add_func ("/expectation/below-last", test_below_last);
  g_test_add_func ("/expectation/broken-by", test_broken_by);
  return g_test_run ();
}
