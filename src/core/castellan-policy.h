/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "castellan-endpoint.h"
#include "castellan-trusted-hosts.h"
#include "castellan-verdict.h"

G_BEGIN_DECLS

/* The decision taken before any credential leaves this computer, as the
 * Windows client takes it. */
typedef struct
{
  gboolean allowed;
  gboolean ntlm_allowed;        /* may Negotiate fall back to NTLM? */
  char *trusted_hosts_entry;    /* the entry that allowed NTLM, if any */
} CastellanPolicyDecision;

gboolean castellan_policy_decide (const CastellanEndpoint     *endpoint,
                                  CastellanAuthRequest         auth,
                                  const CastellanTrustedHosts *trusted_hosts,
                                  gboolean                     allow_unencrypted,
                                  CastellanPolicyDecision     *decision,
                                  GError                     **error);
void     castellan_policy_decision_clear (CastellanPolicyDecision *decision);
char    *castellan_policy_ways_forward   (const CastellanEndpoint *endpoint);

G_END_DECLS
