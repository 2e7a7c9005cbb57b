/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <glib/gstdio.h>
#include <string.h>

#include "castellan-trusted-hosts.h"

static void
test_parse_and_serialise (void)
{
  g_autoptr(CastellanTrustedHosts) th =
    castellan_trusted_hosts_parse (" srv01 ,*.Corp.Example,, 10.0.0.*,fe80::1 , <local>,SRV01,* ");
  g_autofree char *text = NULL;

  /* Empty entries and a duplicate in another case are dropped. */
  g_assert_cmpuint (castellan_trusted_hosts_get_n_entries (th), ==, 6);
  text = castellan_trusted_hosts_to_string (th);
  g_assert_cmpstr (text, ==, "srv01,*.Corp.Example,10.0.0.*,fe80::1,<local>,*");

  g_assert_false (castellan_trusted_hosts_add (th, "srv01"));
  g_assert_true (castellan_trusted_hosts_add (th, "srv02"));
  g_assert_false (castellan_trusted_hosts_add (th, "a,b"));
  g_assert_true (castellan_trusted_hosts_remove (th, "SRV02"));
  g_assert_false (castellan_trusted_hosts_remove (th, "srv02"));
}

typedef struct
{
  const char *entry;
  const char *host;
  gboolean match;
} MatchCase;

static const MatchCase match_cases[] = {
  { "srv01", "srv01", TRUE },
  { "srv01", "SRV01", TRUE },
  { "SRV01", "srv01", TRUE },
  { "srv01", "srv01.corp.example", FALSE },
  { "srv01.corp.example", "srv01", FALSE },
  { "*.corp.example", "srv01.corp.example", TRUE },
  { "*.corp.example", "a.b.corp.example", TRUE },
  { "*.corp.example", "corp.example", FALSE },
  { "*.corp.example", "srv01.corp.example.evil", FALSE },
  { "*.CORP.example", "Srv01.Corp.Example", TRUE },
  { "10.0.0.*", "10.0.0.5", TRUE },
  { "10.0.0.*", "10.0.1.5", FALSE },
  { "10.0.0.*", "110.0.0.5", FALSE },
  { "srv*", "srv01", TRUE },
  { "srv*", "web01", FALSE },
  { "*", "anything.example", TRUE },
  { "*", "192.0.2.1", TRUE },
  { "<local>", "srv01", TRUE },
  { "<LOCAL>", "srv01", TRUE },
  { "<local>", "srv01.corp.example", FALSE },
  { "<local>", "192.0.2.1", FALSE },
  { "<local>", "::1", FALSE },
  { "fe80::1", "fe80::1", TRUE },
  { "fe80::1", "FE80::1", TRUE },
  { "fe80::0001", "fe80::1", TRUE },
  { "[fe80::1]", "fe80::1", TRUE },
  { "fe80::1", "[fe80::1]", TRUE },
  { "fe80::1", "fe80::2", FALSE },
  { "192.0.2.1", "192.0.2.1", TRUE },
  { "192.0.2.1", "192.0.2.10", FALSE },
  /* A pattern written like an address covers addresses only, never a
   * name that starts with the same characters. */
  { "10.0.0.*", "10.0.0.evil.example", FALSE },
  { "10.0.0.*", "10.0.0.5.nip.io", FALSE },
  { "192.168.*", "192.168.1.20", TRUE },
  { "192.168.*", "192.168.attacker.example", FALSE },
  { "192.168.*", "192.168.1.20.attacker.example", FALSE },
  { "1*", "10.1.2.3", TRUE },
  { "1*", "1password.example", FALSE },
  { "fe80::*", "fe80::1", TRUE },
  { "fe80::*", "[fe80::1]", TRUE },
  { "fe80::*", "fe80::1%eth0", TRUE },
  { "fe80::*", "fe80-1.example", FALSE },
  /* A pattern with letters is about names, and may also cover addresses
   * (as Windows matches the text). */
  { "srv*", "srv01.corp.example", TRUE },
  { "*.example", "10.0.0.evil.example", TRUE },
};

static void
test_match (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (match_cases); i++)
    {
      const MatchCase *c = &match_cases[i];

      g_test_message ("%s ~ %s", c->entry, c->host);
      g_assert_cmpint (castellan_trust_entry_matches (c->entry, c->host), ==, c->match);
    }
}

static void
test_first_match_named (void)
{
  g_autoptr(CastellanTrustedHosts) th = castellan_trusted_hosts_parse ("web*, 10.0.0.*, *");
  g_autoptr(CastellanTrustedHosts) empty = castellan_trusted_hosts_parse ("");

  g_assert_cmpstr (castellan_trusted_hosts_match (th, "web01"), ==, "web*");
  g_assert_cmpstr (castellan_trusted_hosts_match (th, "10.0.0.9"), ==, "10.0.0.*");
  g_assert_cmpstr (castellan_trusted_hosts_match (th, "db01"), ==, "*");
  g_assert_null (castellan_trusted_hosts_match (empty, "db01"));
  g_assert_null (castellan_trusted_hosts_match (NULL, "db01"));
}

static void
test_risk (void)
{
  g_assert_cmpint (castellan_trust_entry_risk ("*"), ==, CASTELLAN_TRUST_RISK_CRITICAL);
  g_assert_cmpint (castellan_trust_entry_risk ("*.corp.example"), ==, CASTELLAN_TRUST_RISK_BROAD);
  g_assert_cmpint (castellan_trust_entry_risk ("10.0.0.*"), ==, CASTELLAN_TRUST_RISK_BROAD);
  g_assert_cmpint (castellan_trust_entry_risk ("<local>"), ==, CASTELLAN_TRUST_RISK_BROAD);
  g_assert_cmpint (castellan_trust_entry_risk ("srv01"), ==, CASTELLAN_TRUST_RISK_NARROW);
  g_assert_cmpint (castellan_trust_entry_risk ("fe80::1"), ==, CASTELLAN_TRUST_RISK_NARROW);
  g_assert_cmpstr (castellan_trust_risk_to_string (CASTELLAN_TRUST_RISK_CRITICAL), ==, "critical");
}

static void
test_reach (void)
{
  static const struct { const char *entry; const char *words; const char *not_words; } cases[] = {
    { "10.0.0.*", "never a host name", NULL },
    { "192.168.*", "IP address", "host name or address typed" },
    { "*.corp.example", "host name or address", "never a host name" },
    { "*", "every host", NULL },
    { "<local>", "never an address", NULL },
    { "srv01", "host srv01 only", NULL },
    { "192.0.2.1", "address 192.0.2.1 only", NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *reach = castellan_trust_entry_describe_reach (cases[i].entry);

      g_test_message ("%s: %s", cases[i].entry, reach);
      g_assert_nonnull (strstr (reach, cases[i].words));
      if (cases[i].not_words != NULL)
        g_assert_null (strstr (reach, cases[i].not_words));
    }
}

static void
test_save_and_load (void)
{
  g_autofree char *dir = g_dir_make_tmp ("castellan-th-XXXXXX", NULL);
  g_autofree char *sub = g_build_filename (dir, "sub", NULL);
  g_autofree char *path = g_build_filename (sub, "trusted-hosts", NULL);
  g_autoptr(CastellanTrustedHosts) th = castellan_trusted_hosts_parse ("srv01,*.corp.example");
  g_autoptr(CastellanTrustedHosts) back = NULL;
  g_autoptr(CastellanTrustedHosts) missing = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  g_assert_true (castellan_trusted_hosts_save (th, path, &error));
  g_assert_no_error (error);
  back = castellan_trusted_hosts_load (path, &error);
  g_assert_no_error (error);
  text = castellan_trusted_hosts_to_string (back);
  g_assert_cmpstr (text, ==, "srv01,*.corp.example");

  g_unlink (path);
  missing = castellan_trusted_hosts_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (castellan_trusted_hosts_get_n_entries (missing), ==, 0);
  g_rmdir (sub);
  g_rmdir (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/trusted-hosts/parse", test_parse_and_serialise);
  g_test_add_func ("/trusted-hosts/match", test_match);
  g_test_add_func ("/trusted-hosts/first-match", test_first_match_named);
  g_test_add_func ("/trusted-hosts/risk", test_risk);
  g_test_add_func ("/trusted-hosts/reach", test_reach);
  g_test_add_func ("/trusted-hosts/save-load", test_save_and_load);
  return g_test_run ();
}
