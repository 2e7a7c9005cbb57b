/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>
#include <gssapi/gssapi.h>

G_BEGIN_DECLS

#define CASTELLAN_NTLM_SIGNATURE_SIZE 16

/* NTLM sealing (MS-NLMP 3.4, extended session security, 128-bit keys,
 * key exchange) from the session key of an established context. */
typedef struct _CastellanNtlmSeal CastellanNtlmSeal;

CastellanNtlmSeal *castellan_ntlm_seal_new    (const guint8      *session_key,
                                               gsize              length,
                                               gboolean           acceptor);
gboolean           castellan_ntlm_seal_check_first  (CastellanNtlmSeal **self,
                                                     gss_ctx_id_t       ctx,
                                                     gboolean           acceptor,
                                                     gboolean           outgoing,
                                                     const guint8      *wrapped,
                                                     gsize              wrapped_length,
                                                     const guint8      *plaintext,
                                                     gsize              length);
void               castellan_ntlm_seal_free   (CastellanNtlmSeal *self);

void               castellan_ntlm_seal_wrap   (CastellanNtlmSeal *self,
                                               guint8            *data,
                                               gsize              length,
                                               guint8             signature[CASTELLAN_NTLM_SIGNATURE_SIZE]);
gboolean           castellan_ntlm_seal_unwrap (CastellanNtlmSeal *self,
                                               const guint8       signature[CASTELLAN_NTLM_SIGNATURE_SIZE],
                                               guint8            *data,
                                               gsize              length);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CastellanNtlmSeal, castellan_ntlm_seal_free)

G_END_DECLS
