/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "castellan-inventory.h"

G_BEGIN_DECLS

typedef void (*CastellanTrustAnswer) (const char *response,
                                      gpointer    user_data);

/* The ways past a refusal, safest first. */
typedef enum
{
  CASTELLAN_TRUST_WAY_HTTPS = 1 << 0,  /* the certificate proves the server */
  CASTELLAN_TRUST_WAY_NAME  = 1 << 1,  /* Kerberos proves it by name */
  CASTELLAN_TRUST_WAY_TRUST = 1 << 2,  /* TrustedHosts: stop asking */
} CastellanTrustWays;

/* Asks before entries join TrustedHosts, each entry classified on its
 * own with the saved hosts it covers; a "*" anywhere is called out as
 * every host. Answers "add" or "cancel". */
void     castellan_trust_confirm_add (GtkWindow            *parent,
                                      const char           *entries,
                                      CastellanInventory   *inventory,
                                      CastellanTrustAnswer  answer,
                                      gpointer              user_data);
/* After the policy refused a connection: the ways forward. Answers
 * "https", "name", "trust" (each only when offered) or "cancel". */
void     castellan_trust_refused     (GtkWindow            *parent,
                                      const char           *host,
                                      const char           *message,
                                      CastellanTrustWays    ways,
                                      CastellanTrustAnswer  answer,
                                      gpointer              user_data);
gboolean castellan_trust_save_entry  (const char           *entry,
                                      GError              **error);
const char *castellan_trust_entry_class (const char         *entry,
                                         CastellanInventory *inventory,
                                         const char        **style);
char    *castellan_trust_entry_covered (const char         *entry,
                                        CastellanInventory *inventory);

G_END_DECLS
