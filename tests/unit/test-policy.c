/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <string.h>
#include "castellan-error.h"
#include "castellan-policy.h"

/* The matrix: transport × auth × host form × TrustedHosts. */
typedef struct
{
  const char *target;
  CastellanAuthRequest auth;
  const char *trusted;
  gboolean allow_unencrypted;
  gboolean allowed;
  gboolean ntlm_allowed;
  const char *entry;
} PolicyCase;

#define NEG CASTELLAN_AUTH_REQUEST_NEGOTIATE
#define KRB CASTELLAN_AUTH_REQUEST_KERBEROS
#define NTLM CASTELLAN_AUTH_REQUEST_NTLM
#define BASIC CASTELLAN_AUTH_REQUEST_BASIC

static const PolicyCase cases[] = {
  /* HTTP, by name */
  { "srv01.corp.example", NEG, "", FALSE, TRUE, FALSE, NULL },
  { "srv01.corp.example", NEG, "*.corp.example", FALSE, TRUE, TRUE, "*.corp.example" },
  { "srv01.corp.example", KRB, "", FALSE, TRUE, FALSE, NULL },
  { "srv01.corp.example", NTLM, "", FALSE, FALSE, FALSE, NULL },
  { "srv01.corp.example", NTLM, "srv01.corp.example", FALSE, TRUE, TRUE, "srv01.corp.example" },
  { "srv01.corp.example", BASIC, "*", FALSE, FALSE, FALSE, NULL },
  { "srv01.corp.example", BASIC, "", TRUE, TRUE, FALSE, NULL },
  /* HTTP, by address */
  { "192.0.2.10", NEG, "", FALSE, FALSE, FALSE, NULL },
  { "192.0.2.10", NEG, "192.0.2.*", FALSE, TRUE, TRUE, "192.0.2.*" },
  { "192.0.2.10", NTLM, "", FALSE, FALSE, FALSE, NULL },
  { "192.0.2.10", NTLM, "192.0.2.10", FALSE, TRUE, TRUE, "192.0.2.10" },
  { "192.0.2.10", NTLM, "192.0.2.11", FALSE, FALSE, FALSE, NULL },
  { "192.0.2.10", KRB, "*", FALSE, FALSE, FALSE, NULL },
  { "[fe80::1]", NEG, "fe80::1", FALSE, TRUE, TRUE, "fe80::1" },
  { "[fe80::1]", NTLM, "", FALSE, FALSE, FALSE, NULL },
  /* HTTPS: the certificate proves the server */
  { "https://192.0.2.10", NTLM, "", FALSE, TRUE, TRUE, NULL },
  { "https://192.0.2.10", BASIC, "", FALSE, TRUE, TRUE, NULL },
  { "https://srv01", NEG, "", FALSE, TRUE, TRUE, NULL },
  { "https://srv01", KRB, "", FALSE, TRUE, TRUE, NULL },
};

static void
test_matrix (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const PolicyCase *c = &cases[i];
      g_autoptr(CastellanEndpoint) ep = castellan_endpoint_parse (c->target, FALSE, NULL);
      g_autoptr(CastellanTrustedHosts) th = castellan_trusted_hosts_parse (c->trusted);
      g_autoptr(GError) error = NULL;
      CastellanPolicyDecision d;
      gboolean ok;

      g_test_message ("%s %s trusted=“%s”", c->target,
                      castellan_auth_request_to_string (c->auth), c->trusted);
      ok = castellan_policy_decide (ep, c->auth, th, c->allow_unencrypted, &d, &error);
      g_assert_cmpint (ok, ==, c->allowed);
      if (ok)
        {
          g_assert_no_error (error);
          g_assert_cmpint (d.ntlm_allowed, ==, c->ntlm_allowed);
          g_assert_cmpstr (d.trusted_hosts_entry, ==, c->entry);
        }
      else
        {
          g_assert_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_POLICY_REFUSED);
          g_assert_true (g_str_has_prefix (error->message, "Refused before any credential was sent"));
          if (c->auth != BASIC)
            {
              /* Each refusal names the three ways forward. */
              g_assert_nonnull (strstr (error->message, "use HTTPS"));
              g_assert_nonnull (strstr (error->message, "DNS name"));
              g_assert_nonnull (strstr (error->message, "TrustedHosts"));
            }
        }
      castellan_policy_decision_clear (&d);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/policy/matrix", test_matrix);
  return g_test_run ();
}
