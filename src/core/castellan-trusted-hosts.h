/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* How much an entry silences: TrustedHosts says nothing about whether a
 * host is trustworthy, only for which hosts the user accepts that the
 * server's identity cannot be verified. */
typedef enum
{
  CASTELLAN_TRUST_RISK_NARROW,    /* one host */
  CASTELLAN_TRUST_RISK_BROAD,     /* a wildcard or <local> */
  CASTELLAN_TRUST_RISK_CRITICAL,  /* "*": every host */
} CastellanTrustRisk;

typedef struct _CastellanTrustedHosts CastellanTrustedHosts;

CastellanTrustedHosts *castellan_trusted_hosts_parse     (const char                  *value);
CastellanTrustedHosts *castellan_trusted_hosts_load      (const char                  *path,
                                                          GError                     **error);
gboolean               castellan_trusted_hosts_save      (const CastellanTrustedHosts *self,
                                                          const char                  *path,
                                                          GError                     **error);
char                  *castellan_trusted_hosts_default_path (void);
void                   castellan_trusted_hosts_free      (CastellanTrustedHosts       *self);
guint                  castellan_trusted_hosts_get_n_entries (const CastellanTrustedHosts *self);
const char            *castellan_trusted_hosts_get_entry (const CastellanTrustedHosts *self,
                                                          guint                        index);
char                  *castellan_trusted_hosts_to_string (const CastellanTrustedHosts *self);
const char            *castellan_trusted_hosts_match     (const CastellanTrustedHosts *self,
                                                          const char                  *host);
gboolean               castellan_trusted_hosts_add       (CastellanTrustedHosts       *self,
                                                          const char                  *entry);
gboolean               castellan_trusted_hosts_remove    (CastellanTrustedHosts       *self,
                                                          const char                  *entry);

CastellanTrustRisk     castellan_trust_entry_risk        (const char                  *entry);
gboolean               castellan_trust_entry_matches     (const char                  *entry,
                                                          const char                  *host);
char                  *castellan_trust_entry_describe_reach (const char           *entry);
const char            *castellan_trust_risk_to_string    (CastellanTrustRisk           risk);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CastellanTrustedHosts, castellan_trusted_hosts_free)

G_END_DECLS
