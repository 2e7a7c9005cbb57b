/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>
#include <gnutls/abstract.h>

G_BEGIN_DECLS

/* MS-PSRP 2.2.2.3-5 and 2.2.5.1.24: the client's RSA key pair, the AES-256
 * session key the server sends under it, and SecureStrings under that.
 * No I/O: the pool carries PUBLIC_KEY and ENCRYPTED_SESSION_KEY. */
typedef struct _CastellanPsrpKey CastellanPsrpKey;

/* A CryptoAPI PUBLICKEYBLOB of an RSA-2048 key, and the SIMPLEBLOB header
 * of an AES-256 key under RSA key exchange. */
#define CASTELLAN_PSRP_PUBLIC_BLOB_SIZE 276
#define CASTELLAN_PSRP_SESSION_BLOB_HEADER_SIZE 12
#define CASTELLAN_PSRP_SESSION_KEY_SIZE 32

CastellanPsrpKey *castellan_psrp_key_new                   (GError           **error);
CastellanPsrpKey *castellan_psrp_key_new_for_privkey       (gnutls_privkey_t   privkey,
                                                            GError           **error);
void              castellan_psrp_key_free                  (CastellanPsrpKey  *key);

GBytes           *castellan_psrp_key_get_public_blob       (CastellanPsrpKey  *key);
char             *castellan_psrp_key_get_public_key_base64 (CastellanPsrpKey  *key);

gboolean          castellan_psrp_key_accept_session_key    (CastellanPsrpKey  *key,
                                                            const char        *encrypted_base64,
                                                            GError           **error);
gboolean          castellan_psrp_key_has_session_key       (CastellanPsrpKey  *key);

GBytes           *castellan_psrp_key_encrypt               (CastellanPsrpKey  *key,
                                                            const char        *utf8,
                                                            gsize              length,
                                                            GError           **error);
char             *castellan_psrp_key_decrypt               (CastellanPsrpKey  *key,
                                                            const guint8      *data,
                                                            gsize              length,
                                                            gsize             *out_length,
                                                            GError           **error);

void              castellan_psrp_secret_free               (char              *text);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CastellanPsrpKey, castellan_psrp_key_free)

G_END_DECLS
