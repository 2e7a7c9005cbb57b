/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* MS-PSRP 2.2.4: every message travels as one or more fragments, each a
 * 21-byte big-endian header and a blob. */
#define CASTELLAN_PSRP_FRAGMENT_HEADER_SIZE 21

typedef enum
{
  CASTELLAN_PSRP_FRAGMENT_START = 0x1,
  CASTELLAN_PSRP_FRAGMENT_END = 0x2,
} CastellanPsrpFragmentFlags;

void     castellan_psrp_fragment_write (GByteArray   *out,
                                        guint64       object_id,
                                        guint64       fragment_id,
                                        guint8        flags,
                                        const guint8 *blob,
                                        gsize         blob_length);

/* Outgoing: messages queued whole, taken out as payloads that fit a byte
 * budget (what one WS-Man Send or creationXml may carry, before base64).
 * Object ids start at 1 and increase per message. */
typedef struct _CastellanPsrpFragmenter CastellanPsrpFragmenter;

CastellanPsrpFragmenter *castellan_psrp_fragmenter_new          (void);
void                     castellan_psrp_fragmenter_free         (CastellanPsrpFragmenter *fragmenter);
guint64                  castellan_psrp_fragmenter_queue        (CastellanPsrpFragmenter *fragmenter,
                                                                 GBytes                  *message);
void                     castellan_psrp_fragmenter_queue_with_id (CastellanPsrpFragmenter *fragmenter,
                                                                 GBytes                  *message,
                                                                 guint64                  object_id);
gboolean                 castellan_psrp_fragmenter_pending      (CastellanPsrpFragmenter *fragmenter);
GBytes                  *castellan_psrp_fragmenter_next_payload (CastellanPsrpFragmenter *fragmenter,
                                                                 gsize                    budget);

/* Incoming: whole fragments from successive payloads, any number per
 * payload, objects split across payloads and interleaved; complete
 * messages come out in the order they completed. After an error the
 * stream cannot be trusted and every later feed fails. */
typedef struct _CastellanPsrpDefragmenter CastellanPsrpDefragmenter;

#define CASTELLAN_PSRP_DEFAULT_MAX_MESSAGE (64 * 1024 * 1024)
#define CASTELLAN_PSRP_DEFAULT_MAX_PARTIAL 64

CastellanPsrpDefragmenter *castellan_psrp_defragmenter_new  (gsize                      max_message,
                                                             guint                      max_partial);
void                       castellan_psrp_defragmenter_free (CastellanPsrpDefragmenter *defragmenter);
gboolean                   castellan_psrp_defragmenter_feed (CastellanPsrpDefragmenter *defragmenter,
                                                             const guint8              *data,
                                                             gsize                      length,
                                                             GError                   **error);
GBytes                    *castellan_psrp_defragmenter_next (CastellanPsrpDefragmenter *defragmenter,
                                                             guint64                   *object_id);
guint                      castellan_psrp_defragmenter_partial_count (CastellanPsrpDefragmenter *defragmenter);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CastellanPsrpFragmenter, castellan_psrp_fragmenter_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CastellanPsrpDefragmenter, castellan_psrp_defragmenter_free)

G_END_DECLS
