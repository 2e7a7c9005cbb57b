/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "castellan-gss.h"

G_BEGIN_DECLS

/* Where the pieces of an MS-WSMV encrypted body lie. */
typedef struct
{
  char *protocol;          /* application/HTTP-SPNEGO-session-encrypted, … */
  gsize original_length;   /* Length= of OriginalContent */
  gsize signature_offset;
  gsize signature_length;
  gsize sealed_length;     /* the sealed data directly follows the signature */
} CastellanSealedParts;

GBytes  *castellan_sealing_seal          (CastellanGss         *gss,
                                          const guint8         *plaintext,
                                          gsize                 length,
                                          GError              **error);
char    *castellan_sealing_content_type  (CastellanGss         *gss);
char    *castellan_sealing_boundary      (const char           *content_type);
gboolean castellan_sealing_parse         (const guint8         *body,
                                          gsize                 length,
                                          const char           *boundary,
                                          CastellanSealedParts *parts,
                                          GError              **error);
GBytes  *castellan_sealing_unseal        (CastellanGss         *gss,
                                          GBytes               *body,
                                          const char           *content_type,
                                          GError              **error);
GBytes  *castellan_sealing_unseal_in_place (CastellanGss      *gss,
                                            GBytes            *body,
                                            const char        *content_type,
                                            GError           **error);
void     castellan_sealed_parts_clear    (CastellanSealedParts *parts);

G_END_DECLS
