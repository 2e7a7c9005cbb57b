/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "castellan-connect-options.h"
#include "castellan-verdict.h"

G_BEGIN_DECLS

/* What a connection will be, known before it is made: the policy and the
 * saved settings decide it, so the user can be told before a password is
 * typed or a credential used. Where the settings leave a choice to the
 * server (Negotiate may end in NTLM, the KDC may allow delegation), the
 * best and the worst outcome are both kept. */
typedef struct
{
  gboolean refused;               /* the policy will refuse it */
  gboolean trust_helps;           /* a TrustedHosts entry would allow it */
  char *refusal;                  /* the policy's words, when refused */
  CastellanLevel level;           /* the best it can be, as if allowed */
  CastellanLevel floor;           /* the worst the settings allow */
  CastellanServerIdentity identity; /* who proves the server, at best */
  CastellanAuthMethod auth;       /* how the user signs in, at best */
  gboolean by_address;
  gboolean https;
  gboolean ntlm_fallback;         /* Negotiate may end in NTLM */
  gboolean delegation_possible;
  gboolean delegation_forced;
  char *host;
  char *trusted_hosts_entry;      /* the entry that allows NTLM, if any */
} CastellanExpectation;

CastellanExpectation *castellan_expectation_compute  (const CastellanConnectOptions *options);
void                  castellan_expectation_free     (CastellanExpectation         *self);
char                 *castellan_expectation_summary  (const CastellanExpectation   *self);
char                **castellan_expectation_explain  (const CastellanExpectation   *self);
gboolean              castellan_expectation_is_below (const CastellanExpectation   *self,
                                                      const CastellanVerdict       *last);
gboolean              castellan_expectation_is_broken_by (const CastellanExpectation *self,
                                                          const CastellanVerdict     *verdict);
char                 *castellan_expectation_describe_change (const CastellanExpectation *self,
                                                             const CastellanVerdict     *last);
char                 *castellan_expectation_describe_verdict_change (const CastellanExpectation *self,
                                                                     const CastellanVerdict     *verdict,
                                                                     const CastellanVerdict     *last);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CastellanExpectation, castellan_expectation_free)

G_END_DECLS
