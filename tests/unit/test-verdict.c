/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <string.h>

#include "castellan-verdict.h"

static CastellanVerdict *
make (const char             *host,
      CastellanServerIdentity identity,
      CastellanAuthMethod     auth,
      const char             *encryption)
{
  CastellanVerdict *v = castellan_verdict_new ();

  v->host = g_strdup (host);
  v->identity = identity;
  v->auth = auth;
  g_free (v->encryption);
  v->encryption = g_strdup (encryption);
  return v;
}

static gboolean
any_contains (char      **lines,
              const char *needle)
{
  for (guint i = 0; lines[i] != NULL; i++)
    if (strstr (lines[i], needle) != NULL)
      return TRUE;
  return FALSE;
}

static void
test_levels (void)
{
  g_autoptr(CastellanVerdict) krb = make ("srv01", CASTELLAN_IDENTITY_KERBEROS, CASTELLAN_AUTH_KERBEROS, "kerberos-aes256-cts-hmac-sha1-96");
  g_autoptr(CastellanVerdict) ntlm = make ("192.0.2.1", CASTELLAN_IDENTITY_NONE, CASTELLAN_AUTH_NTLM, "ntlm-rc4-128");
  g_autoptr(CastellanVerdict) tls = make ("srv01", CASTELLAN_IDENTITY_TLS, CASTELLAN_AUTH_NTLM, "tls-1.3");
  g_autoptr(CastellanVerdict) basic = make ("srv01", CASTELLAN_IDENTITY_TLS, CASTELLAN_AUTH_BASIC, "tls-1.3");
  g_autoptr(CastellanVerdict) plain = make ("srv01", CASTELLAN_IDENTITY_NONE, CASTELLAN_AUTH_BASIC, "none");
  g_auto(GStrv) explain = NULL;
  g_auto(GStrv) better = NULL;

  g_assert_cmpint (castellan_verdict_get_level (krb), ==, CASTELLAN_LEVEL_VERIFIED);
  g_assert_cmpint (castellan_verdict_get_level (ntlm), ==, CASTELLAN_LEVEL_UNVERIFIED);
  g_assert_cmpint (castellan_verdict_get_level (tls), ==, CASTELLAN_LEVEL_VERIFIED);
  g_assert_cmpint (castellan_verdict_get_level (basic), ==, CASTELLAN_LEVEL_CAVEATS);
  g_assert_cmpint (castellan_verdict_get_level (plain), ==, CASTELLAN_LEVEL_UNPROTECTED);

  krb->delegation = TRUE;
  g_assert_cmpint (castellan_verdict_get_level (krb), ==, CASTELLAN_LEVEL_CAVEATS);
  explain = castellan_verdict_explain (krb);
  g_assert_true (any_contains (explain, "Delegation is on"));
  g_assert_true (any_contains (explain, "mutual authentication"));
  g_assert_true (any_contains (explain, "AES-256"));

  ntlm->trusted_hosts_entry = g_strdup ("192.0.2.*");
  g_clear_pointer (&explain, g_strfreev);
  explain = castellan_verdict_explain (ntlm);
  g_assert_true (any_contains (explain, "not proven"));
  g_assert_true (any_contains (explain, "RC4"));
  g_assert_true (any_contains (explain, "“192.0.2.*”"));
  better = castellan_verdict_improvements (ntlm);
  g_assert_true (any_contains (better, "DNS name"));
  g_assert_true (any_contains (better, "HTTPS"));
}

static void
test_downgrade (void)
{
  g_autoptr(CastellanVerdict) krb256 = make ("srv01", CASTELLAN_IDENTITY_KERBEROS, CASTELLAN_AUTH_KERBEROS, "kerberos-aes256-cts-hmac-sha1-96");
  g_autoptr(CastellanVerdict) krb128 = make ("srv01", CASTELLAN_IDENTITY_KERBEROS, CASTELLAN_AUTH_KERBEROS, "kerberos-aes128-cts-hmac-sha1-96");
  g_autoptr(CastellanVerdict) ntlm = make ("srv01", CASTELLAN_IDENTITY_NONE, CASTELLAN_AUTH_NTLM, "ntlm-rc4-128");

  g_assert_true (castellan_verdict_is_weaker_than (ntlm, krb256));
  g_assert_true (castellan_verdict_is_weaker_than (krb128, krb256));
  g_assert_false (castellan_verdict_is_weaker_than (krb256, krb128));
  g_assert_false (castellan_verdict_is_weaker_than (krb256, krb256));
  g_assert_false (castellan_verdict_is_weaker_than (ntlm, NULL));
}

static void
test_json (void)
{
  g_autoptr(CastellanVerdict) v = make ("192.0.2.1", CASTELLAN_IDENTITY_NONE, CASTELLAN_AUTH_NTLM, "ntlm-rc4-128");
  g_autofree char *json = NULL;

  v->trusted_hosts_entry = g_strdup ("192.0.2.\"*\"");
  json = castellan_verdict_to_json (v, 3);
  g_assert_cmpstr (json, ==,
                   "{\"host\":\"192.0.2.1\",\"server_identity\":\"none\",\"auth\":\"ntlm\","
                   "\"encryption\":\"ntlm-rc4-128\",\"tls_cipher_suite\":null,"
                   "\"trusted_hosts_entry\":\"192.0.2.\\\"*\\\"\",\"server_principal\":null,"
                   "\"delegation\":false,\"delegation_requested\":false,\"delegation_forced\":false,"
                   "\"delegation_reason\":null,"
                   "\"level\":\"unverified\",\"exit_code\":3}\n");
}

static void
test_kerberos_json (void)
{
  g_autoptr(CastellanVerdict) v = make ("srv01.example.com", CASTELLAN_IDENTITY_KERBEROS, CASTELLAN_AUTH_KERBEROS, "kerberos-rc4-hmac");
  g_autoptr(CastellanVerdict) copy = NULL;
  g_autofree char *json = NULL;
  g_auto(GStrv) explain = NULL;

  v->server_principal = g_strdup ("HTTP/srv01.example.com@EXAMPLE.COM");
  v->delegation_requested = TRUE;
  v->delegation_reason = g_strdup ("not-forwardable");
  copy = castellan_verdict_copy (v);
  g_clear_pointer (&v, castellan_verdict_free);
  json = castellan_verdict_to_json (copy, 0);
  g_assert_cmpstr (json, ==,
                   "{\"host\":\"srv01.example.com\",\"server_identity\":\"kerberos\",\"auth\":\"kerberos\","
                   "\"encryption\":\"kerberos-rc4-hmac\",\"tls_cipher_suite\":null,"
                   "\"trusted_hosts_entry\":null,\"server_principal\":\"HTTP/srv01.example.com@EXAMPLE.COM\","
                   "\"delegation\":false,\"delegation_requested\":true,\"delegation_forced\":false,"
                   "\"delegation_reason\":\"not-forwardable\","
                   "\"level\":\"caveats\",\"exit_code\":0}\n");
  explain = castellan_verdict_explain (copy);
  g_assert_true (any_contains (explain, "HTTP/srv01.example.com@EXAMPLE.COM"));
  g_assert_true (any_contains (explain, "not forwardable"));
  g_assert_true (any_contains (explain, "rc4-hmac, a weak cipher"));
}

static void
test_delegation (void)
{
  g_autoptr(CastellanVerdict) v = make ("srv01", CASTELLAN_IDENTITY_KERBEROS, CASTELLAN_AUTH_KERBEROS, "kerberos-aes256-cts-hmac-sha1-96");
  struct { const char *reason; const char *says; } notes[] = {
    { "not-forwardable", "kinit -f" },
    { "not-ok-as-delegate", "ok-as-delegate" },
    { "ntlm", "NTLM cannot delegate" },
    { "declined", "did not hand" },
  };
  g_autofree char *none = NULL;

  /* Not asked for: nothing to say, and the level stays. */
  none = castellan_verdict_delegation_note (v);
  g_assert_null (none);
  g_assert_cmpint (castellan_verdict_get_level (v), ==, CASTELLAN_LEVEL_VERIFIED);

  v->delegation_requested = TRUE;
  for (guint i = 0; i < G_N_ELEMENTS (notes); i++)
    {
      g_autofree char *note = NULL;

      g_free (v->delegation_reason);
      v->delegation_reason = g_strdup (notes[i].reason);
      note = castellan_verdict_delegation_note (v);
      g_assert_nonnull (strstr (note, notes[i].says));
      g_assert_cmpint (castellan_verdict_get_level (v), ==, CASTELLAN_LEVEL_VERIFIED);
    }

  /* Done: no note; forced: a caveat of its own, said in the explanation. */
  v->delegation = TRUE;
  v->delegation_forced = TRUE;
  g_clear_pointer (&v->delegation_reason, g_free);
  {
    g_autofree char *note = castellan_verdict_delegation_note (v);
    g_auto(GStrv) explain = castellan_verdict_explain (v);
    g_auto(GStrv) better = castellan_verdict_improvements (v);

    g_assert_null (note);
    g_assert_true (any_contains (explain, "Delegation was forced"));
    g_assert_true (any_contains (better, "Do not force delegation"));
    g_assert_cmpint (castellan_verdict_get_level (v), ==, CASTELLAN_LEVEL_CAVEATS);
  }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/verdict/levels", test_levels);
  g_test_add_func ("/verdict/downgrade", test_downgrade);
  g_test_add_func ("/verdict/json", test_json);
  g_test_add_func ("/verdict/kerberos-json", test_kerberos_json);
  g_test_add_func ("/verdict/delegation", test_delegation);
  return g_test_run ();
}
