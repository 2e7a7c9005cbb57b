/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

typedef void (*CastellanTrustAnswer) (const char *response,
                                      gpointer    user_data);

/* Asks before an entry joins TrustedHosts, saying plainly what it does and
 * does not mean; "*" and wildcards are called out. Answers "add" or
 * "cancel". */
void     castellan_trust_confirm_add (GtkWindow            *parent,
                                      const char           *entry,
                                      CastellanTrustAnswer  answer,
                                      gpointer              user_data);
/* After the policy refused a connection: the ways forward. Answers
 * "https", "trust" (offered only when TrustedHosts would help) or
 * "cancel". */
void     castellan_trust_refused     (GtkWindow            *parent,
                                      const char           *host,
                                      const char           *message,
                                      gboolean              trust_helps,
                                      CastellanTrustAnswer  answer,
                                      gpointer              user_data);
gboolean castellan_trust_save_entry  (const char           *entry,
                                      GError              **error);

G_END_DECLS
