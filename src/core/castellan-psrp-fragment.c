/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "castellan-error.h"
#include "castellan-psrp-fragment.h"

#define FLAGS_KNOWN (CASTELLAN_PSRP_FRAGMENT_START | CASTELLAN_PSRP_FRAGMENT_END)

static void
put_be64 (guint8  *at,
          guint64  value)
{
  for (int i = 7; i >= 0; i--, value >>= 8)
    at[i] = value & 0xff;
}

static guint64
get_be64 (const guint8 *at)
{
  guint64 value = 0;

  for (int i = 0; i < 8; i++)
    value = (value << 8) | at[i];
  return value;
}

void
castellan_psrp_fragment_write (GByteArray   *out,
                               guint64       object_id,
                               guint64       fragment_id,
                               guint8        flags,
                               const guint8 *blob,
                               gsize         blob_length)
{
  guint8 header[CASTELLAN_PSRP_FRAGMENT_HEADER_SIZE];

  g_return_if_fail (blob_length <= G_MAXUINT32);
  put_be64 (header, object_id);
  put_be64 (header + 8, fragment_id);
  header[16] = flags;
  header[17] = (blob_length >> 24) & 0xff;
  header[18] = (blob_length >> 16) & 0xff;
  header[19] = (blob_length >> 8) & 0xff;
  header[20] = blob_length & 0xff;
  g_byte_array_append (out, header, sizeof header);
  if (blob_length > 0)
    g_byte_array_append (out, blob, (guint) blob_length);
}

/* Outgoing */

typedef struct
{
  GBytes *message;
  guint64 object_id;
} Queued;

struct _CastellanPsrpFragmenter
{
  GQueue queue;          /* of Queued */
  guint64 next_object_id;
  guint64 fragment_id;   /* of the head message's next fragment */
  gsize offset;          /* into the head message */
};

CastellanPsrpFragmenter *
castellan_psrp_fragmenter_new (void)
{
  CastellanPsrpFragmenter *f = g_new0 (CastellanPsrpFragmenter, 1);

  g_queue_init (&f->queue);
  f->next_object_id = 1;
  return f;
}

static void
queued_free (gpointer data)
{
  Queued *q = data;

  g_bytes_unref (q->message);
  g_free (q);
}

void
castellan_psrp_fragmenter_free (CastellanPsrpFragmenter *fragmenter)
{
  if (fragmenter == NULL)
    return;
  g_queue_clear_full (&fragmenter->queue, queued_free);
  g_free (fragmenter);
}

guint64
castellan_psrp_fragmenter_queue (CastellanPsrpFragmenter *fragmenter,
                                 GBytes                  *message)
{
  Queued *q = g_new0 (Queued, 1);

  q->message = g_bytes_ref (message);
  q->object_id = fragmenter->next_object_id++;
  g_queue_push_tail (&fragmenter->queue, q);
  return q->object_id;
}

/* For a sender with several queues (a pool's input and prompt responses,
 * each pipeline's): the object id comes from the sender's one counter. */
void
castellan_psrp_fragmenter_queue_with_id (CastellanPsrpFragmenter *fragmenter,
                                         GBytes                  *message,
                                         guint64                  object_id)
{
  Queued *q = g_new0 (Queued, 1);

  q->message = g_bytes_ref (message);
  q->object_id = object_id;
  g_queue_push_tail (&fragmenter->queue, q);
}

gboolean
castellan_psrp_fragmenter_pending (CastellanPsrpFragmenter *fragmenter)
{
  return !g_queue_is_empty (&fragmenter->queue);
}

/**
 * castellan_psrp_fragmenter_next_payload:
 * @budget: the most bytes the payload may hold, headers included
 *
 * Fills one payload with as many fragments as fit: the rest of the
 * message begun earlier, then further messages. A fragment is cut so that
 * it ends exactly at the budget; a fragment needs room for its header and
 * at least one byte of blob (or an empty message), else the payload ends.
 *
 * Returns: (nullable): the payload, or %NULL when nothing is queued or
 *   the budget cannot hold a single fragment
 */
GBytes *
castellan_psrp_fragmenter_next_payload (CastellanPsrpFragmenter *fragmenter,
                                        gsize                    budget)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();

  while (!g_queue_is_empty (&fragmenter->queue))
    {
      Queued *q = g_queue_peek_head (&fragmenter->queue);
      gsize size;
      const guint8 *data = g_bytes_get_data (q->message, &size);
      gsize left = size - fragmenter->offset;
      gsize space = budget > out->len ? budget - out->len : 0;
      gsize room, take;
      guint8 flags = 0;

      /* An empty message still fits in a bare header. */
      if (space < CASTELLAN_PSRP_FRAGMENT_HEADER_SIZE ||
          (space == CASTELLAN_PSRP_FRAGMENT_HEADER_SIZE && left > 0))
        break;
      room = space - CASTELLAN_PSRP_FRAGMENT_HEADER_SIZE;
      take = MIN (MIN (left, room), G_MAXUINT32);
      if (fragmenter->fragment_id == 0)
        flags |= CASTELLAN_PSRP_FRAGMENT_START;
      if (take == left)
        flags |= CASTELLAN_PSRP_FRAGMENT_END;
      castellan_psrp_fragment_write (out, q->object_id, fragmenter->fragment_id, flags,
                                     take > 0 ? data + fragmenter->offset : NULL, take);
      fragmenter->offset += take;
      fragmenter->fragment_id++;
      if (flags & CASTELLAN_PSRP_FRAGMENT_END)
        {
          queued_free (g_queue_pop_head (&fragmenter->queue));
          fragmenter->offset = 0;
          fragmenter->fragment_id = 0;
        }
    }
  if (out->len == 0)
    return NULL;
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

/* Incoming */

typedef struct
{
  guint64 object_id;
  guint64 next_fragment;
  GByteArray *data;
} Partial;

typedef struct
{
  guint64 object_id;
  GBytes *message;
} Complete;

struct _CastellanPsrpDefragmenter
{
  gsize max_message;
  guint max_partial;
  GPtrArray *partial;    /* of Partial, few: searched linearly */
  GQueue complete;       /* of Complete */
  gboolean failed;
};

static void
partial_free (gpointer data)
{
  Partial *p = data;

  g_clear_pointer (&p->data, g_byte_array_unref);
  g_free (p);
}

static void
complete_free (gpointer data)
{
  Complete *c = data;

  g_bytes_unref (c->message);
  g_free (c);
}

/**
 * castellan_psrp_defragmenter_new:
 * @max_message: the largest message accepted, in bytes
 * @max_partial: how many messages may be unfinished at once
 */
CastellanPsrpDefragmenter *
castellan_psrp_defragmenter_new (gsize max_message,
                                 guint max_partial)
{
  CastellanPsrpDefragmenter *d = g_new0 (CastellanPsrpDefragmenter, 1);

  d->max_message = max_message;
  d->max_partial = MAX (max_partial, 1);
  d->partial = g_ptr_array_new_with_free_func (partial_free);
  g_queue_init (&d->complete);
  return d;
}

void
castellan_psrp_defragmenter_free (CastellanPsrpDefragmenter *defragmenter)
{
  if (defragmenter == NULL)
    return;
  g_ptr_array_unref (defragmenter->partial);
  g_queue_clear_full (&defragmenter->complete, complete_free);
  g_free (defragmenter);
}

guint
castellan_psrp_defragmenter_partial_count (CastellanPsrpDefragmenter *defragmenter)
{
  return defragmenter->partial->len;
}

static gboolean
malformed (CastellanPsrpDefragmenter  *d,
           GError                    **error,
           const char                 *why)
{
  d->failed = TRUE;
  castellan_set_psrp_malformed (error, why);
  return FALSE;
}

static gboolean
too_large (CastellanPsrpDefragmenter  *d,
           GError                    **error)
{
  g_autofree char *limit = g_format_size (d->max_message);

  d->failed = TRUE;
  g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_PSRP_LIMIT,
               _("A PowerShell message from the server is larger than %s, the most "
                 "accepted. Have the command return less at once, for example "
                 "fewer properties or smaller pieces."), limit);
  return FALSE;
}

static Partial *
find_partial (CastellanPsrpDefragmenter *d,
              guint64                    object_id,
              guint                     *index)
{
  for (guint i = 0; i < d->partial->len; i++)
    {
      Partial *p = g_ptr_array_index (d->partial, i);

      if (p->object_id == object_id)
        {
          *index = i;
          return p;
        }
    }
  return NULL;
}

static void
push_complete (CastellanPsrpDefragmenter *d,
               guint64                    object_id,
               GBytes                    *message)
{
  Complete *c = g_new0 (Complete, 1);

  c->object_id = object_id;
  c->message = message;
  g_queue_push_tail (&d->complete, c);
}

static gboolean
take_fragment (CastellanPsrpDefragmenter  *d,
               guint64                    object_id,
               guint64                    fragment_id,
               guint8                     flags,
               const guint8              *blob,
               guint32                    blob_length,
               GError                   **error)
{
  guint index = 0;
  Partial *p = find_partial (d, object_id, &index);
  g_autofree char *why = NULL;

  if (flags & ~FLAGS_KNOWN)
    {
      why = g_strdup_printf (_("object %llu has a fragment with unknown flags 0x%02x"),
                             (unsigned long long) object_id, flags);
      return malformed (d, error, why);
    }
  if (flags & CASTELLAN_PSRP_FRAGMENT_START)
    {
      if (p != NULL)
        {
          why = g_strdup_printf (_("object %llu starts twice"), (unsigned long long) object_id);
          return malformed (d, error, why);
        }
      if (fragment_id != 0)
        {
          why = g_strdup_printf (_("object %llu starts at fragment %llu instead of 0"),
                                 (unsigned long long) object_id,
                                 (unsigned long long) fragment_id);
          return malformed (d, error, why);
        }
      if (blob_length > d->max_message)
        return too_large (d, error);
      if (flags & CASTELLAN_PSRP_FRAGMENT_END)
        {
          push_complete (d, object_id, g_bytes_new (blob, blob_length));
          return TRUE;
        }
      if (d->partial->len >= d->max_partial)
        {
          d->failed = TRUE;
          g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_PSRP_LIMIT,
                       _("The server sent more than %u unfinished PowerShell messages at "
                         "once, the most accepted. Open the session again."),
                       d->max_partial);
          return FALSE;
        }
      p = g_new0 (Partial, 1);
      p->object_id = object_id;
      p->next_fragment = 1;
      p->data = g_byte_array_sized_new (blob_length);
      g_byte_array_append (p->data, blob, blob_length);
      g_ptr_array_add (d->partial, p);
      return TRUE;
    }
  if (p == NULL)
    {
      why = g_strdup_printf (_("object %llu continues without having started"),
                             (unsigned long long) object_id);
      return malformed (d, error, why);
    }
  if (fragment_id < p->next_fragment)
    {
      why = g_strdup_printf (_("fragment %llu of object %llu came twice"),
                             (unsigned long long) fragment_id, (unsigned long long) object_id);
      return malformed (d, error, why);
    }
  if (fragment_id > p->next_fragment)
    {
      why = g_strdup_printf (_("fragment %llu of object %llu came before fragment %llu"),
                             (unsigned long long) fragment_id, (unsigned long long) object_id,
                             (unsigned long long) p->next_fragment);
      return malformed (d, error, why);
    }
  if (blob_length > d->max_message - p->data->len)
    return too_large (d, error);
  g_byte_array_append (p->data, blob, blob_length);
  p->next_fragment++;
  if (flags & CASTELLAN_PSRP_FRAGMENT_END)
    {
      GByteArray *whole = g_steal_pointer (&p->data);

      g_ptr_array_remove_index (d->partial, index);
      push_complete (d, object_id, g_byte_array_free_to_bytes (whole));
    }
  return TRUE;
}

/**
 * castellan_psrp_defragmenter_feed:
 * @data: one payload: whole fragments only, as MS-PSRP 2.2.4 requires
 *   (a fragment is never split across two WS-Man messages)
 *
 * Returns: %FALSE, with @error set, when the payload breaks the framing
 *   or a limit; messages completed before the fault stay available
 */
gboolean
castellan_psrp_defragmenter_feed (CastellanPsrpDefragmenter  *defragmenter,
                                  const guint8               *data,
                                  gsize                       length,
                                  GError                    **error)
{
  gsize at = 0;

  if (defragmenter->failed)
    return malformed (defragmenter, error, _("an earlier fault broke the stream"));
  while (at < length)
    {
      const guint8 *header = data + at;
      guint32 blob_length;

      if (length - at < CASTELLAN_PSRP_FRAGMENT_HEADER_SIZE)
        return malformed (defragmenter, error, _("a fragment is cut short"));
      blob_length = ((guint32) header[17] << 24) | ((guint32) header[18] << 16) |
                    ((guint32) header[19] << 8) | header[20];
      if (length - at - CASTELLAN_PSRP_FRAGMENT_HEADER_SIZE < blob_length)
        return malformed (defragmenter, error, _("a fragment is cut short"));
      if (!take_fragment (defragmenter, get_be64 (header), get_be64 (header + 8), header[16],
                          header + CASTELLAN_PSRP_FRAGMENT_HEADER_SIZE, blob_length, error))
        return FALSE;
      at += CASTELLAN_PSRP_FRAGMENT_HEADER_SIZE + blob_length;
    }
  return TRUE;
}

/**
 * castellan_psrp_defragmenter_next:
 * @object_id: (out) (optional): the message's object id
 *
 * Returns: (transfer full) (nullable): the next complete message, or %NULL
 */
GBytes *
castellan_psrp_defragmenter_next (CastellanPsrpDefragmenter *defragmenter,
                                  guint64                   *object_id)
{
  Complete *c = g_queue_pop_head (&defragmenter->complete);
  GBytes *message;

  if (c == NULL)
    return NULL;
  if (object_id != NULL)
    *object_id = c->object_id;
  message = g_steal_pointer (&c->message);
  g_free (c);
  return message;
}
