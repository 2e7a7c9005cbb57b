/* SPDX-License-Identifier: GPL-3.0-or-later */
/* MS-PSRP fragments (2.2.4) and the message header (2.2.1), byte for
 * byte. */
#include <string.h>

#include "castellan-error.h"
#include "castellan-psrp-event.h"
#include "castellan-psrp-fragment.h"
#include "castellan-psrp-message.h"

static void
assert_bytes (GBytes       *bytes,
              const guint8 *want,
              gsize         length)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (bytes, &size);

  g_assert_cmpmem (data, size, want, length);
}

static GBytes *
filled (gsize  length,
        guint8 first)
{
  guint8 *data = g_malloc (length);

  for (gsize i = 0; i < length; i++)
    data[i] = (guint8) (first + i);
  return g_bytes_new_take (data, length);
}

static void
test_write (void)
{
  static const guint8 want[] = {
    0, 0, 0, 0, 0, 0, 0, 1,            /* ObjectId */
    0, 0, 0, 0, 0, 0, 0, 0,            /* FragmentId */
    0x03,                              /* start and end */
    0, 0, 0, 3,                        /* BlobLength */
    'a', 'b', 'c',
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
    0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80,
    0x02,
    0, 0, 0, 0,
  };
  g_autoptr(GByteArray) out = g_byte_array_new ();

  castellan_psrp_fragment_write (out, 1, 0, 3, (const guint8 *) "abc", 3);
  castellan_psrp_fragment_write (out, 0x0102030405060708, 0x1020304050607080, 2, NULL, 0);
  g_assert_cmpmem (out->data, out->len, want, sizeof want);
}

static void
test_split_into_budget (void)
{
  g_autoptr(CastellanPsrpFragmenter) f = castellan_psrp_fragmenter_new ();
  g_autoptr(GBytes) message = filled (50, 0);
  g_autoptr(GBytes) p1 = NULL;
  g_autoptr(GBytes) p2 = NULL;
  g_autoptr(GBytes) p3 = NULL;
  const guint8 *d;
  gsize size;

  g_assert_cmpuint (castellan_psrp_fragmenter_queue (f, message), ==, 1);
  g_assert_null (castellan_psrp_fragmenter_next_payload (f, 21));
  p1 = castellan_psrp_fragmenter_next_payload (f, 41);
  p2 = castellan_psrp_fragmenter_next_payload (f, 41);
  g_assert_true (castellan_psrp_fragmenter_pending (f));
  p3 = castellan_psrp_fragmenter_next_payload (f, 41);
  g_assert_false (castellan_psrp_fragmenter_pending (f));
  g_assert_null (castellan_psrp_fragmenter_next_payload (f, 41));

  d = g_bytes_get_data (p1, &size);
  g_assert_cmpuint (size, ==, 41);
  g_assert_cmpuint (d[7], ==, 1);
  g_assert_cmpuint (d[15], ==, 0);
  g_assert_cmpuint (d[16], ==, CASTELLAN_PSRP_FRAGMENT_START);
  g_assert_cmpuint (d[20], ==, 20);
  g_assert_cmpuint (d[21], ==, 0);
  d = g_bytes_get_data (p2, &size);
  g_assert_cmpuint (size, ==, 41);
  g_assert_cmpuint (d[15], ==, 1);
  g_assert_cmpuint (d[16], ==, 0);
  g_assert_cmpuint (d[21], ==, 20);
  d = g_bytes_get_data (p3, &size);
  g_assert_cmpuint (size, ==, 31);
  g_assert_cmpuint (d[15], ==, 2);
  g_assert_cmpuint (d[16], ==, CASTELLAN_PSRP_FRAGMENT_END);
  g_assert_cmpuint (d[20], ==, 10);
  g_assert_cmpuint (d[30], ==, 49);
}

static void
test_several_per_payload (void)
{
  static const guint8 want[] = {
    0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 2, 'h', 'i',
    0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 3, 'o', 'n', 'e',
  };
  static const guint8 rest[] = {
    0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 2, ' ', '2',
    0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0,
  };
  g_autoptr(CastellanPsrpFragmenter) f = castellan_psrp_fragmenter_new ();
  g_autoptr(GBytes) a = g_bytes_new_static ("hi", 2);
  g_autoptr(GBytes) b = g_bytes_new_static ("one 2", 5);
  g_autoptr(GBytes) empty = g_bytes_new_static ("", 0);
  g_autoptr(GBytes) p1 = NULL;
  g_autoptr(GBytes) p2 = NULL;

  castellan_psrp_fragmenter_queue (f, a);
  castellan_psrp_fragmenter_queue (f, b);
  castellan_psrp_fragmenter_queue (f, empty);
  /* Room for the first whole and three bytes of the second. */
  p1 = castellan_psrp_fragmenter_next_payload (f, 23 + 24);
  assert_bytes (p1, want, sizeof want);
  p2 = castellan_psrp_fragmenter_next_payload (f, 1000);
  assert_bytes (p2, rest, sizeof rest);
}

static void
test_round_trip_budgets (void)
{
  for (gsize budget = 22; budget < 120; budget += 7)
    {
      g_autoptr(CastellanPsrpFragmenter) f = castellan_psrp_fragmenter_new ();
      g_autoptr(CastellanPsrpDefragmenter) d = castellan_psrp_defragmenter_new (4096, 4);
      GBytes *payload;
      guint count = 0;

      for (guint i = 0; i < 6; i++)
        {
          g_autoptr(GBytes) message = filled (i * 37, (guint8) i);

          castellan_psrp_fragmenter_queue (f, message);
        }
      while ((payload = castellan_psrp_fragmenter_next_payload (f, budget)) != NULL)
        {
          g_autoptr(GError) error = NULL;
          gsize size;
          const guint8 *data = g_bytes_get_data (payload, &size);
          GBytes *message;
          guint64 id;

          g_assert_cmpuint (size, <=, budget);
          g_assert_true (castellan_psrp_defragmenter_feed (d, data, size, &error));
          g_assert_no_error (error);
          g_bytes_unref (payload);
          while ((message = castellan_psrp_defragmenter_next (d, &id)) != NULL)
            {
              g_autoptr(GBytes) want = filled (count * 37, (guint8) count);

              g_assert_cmpuint (id, ==, count + 1);
              g_assert_true (g_bytes_equal (message, want));
              g_bytes_unref (message);
              count++;
            }
        }
      g_assert_cmpuint (count, ==, 6);
      g_assert_cmpuint (castellan_psrp_defragmenter_partial_count (d), ==, 0);
    }
}

static void
feed_ok (CastellanPsrpDefragmenter *d,
         GByteArray                *payload)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (castellan_psrp_defragmenter_feed (d, payload->data, payload->len, &error));
  g_assert_no_error (error);
  g_byte_array_set_size (payload, 0);
}

static void
test_interleaved (void)
{
  g_autoptr(CastellanPsrpDefragmenter) d = castellan_psrp_defragmenter_new (100, 2);
  g_autoptr(GByteArray) p = g_byte_array_new ();
  g_autoptr(GBytes) first = NULL;
  g_autoptr(GBytes) second = NULL;
  guint64 id = 0;

  castellan_psrp_fragment_write (p, 7, 0, 1, (const guint8 *) "ab", 2);
  castellan_psrp_fragment_write (p, 8, 0, 1, (const guint8 *) "XY", 2);
  feed_ok (d, p);
  g_assert_null (castellan_psrp_defragmenter_next (d, NULL));
  g_assert_cmpuint (castellan_psrp_defragmenter_partial_count (d), ==, 2);
  castellan_psrp_fragment_write (p, 8, 1, 2, (const guint8 *) "Z", 1);
  castellan_psrp_fragment_write (p, 7, 1, 0, (const guint8 *) "cd", 2);
  feed_ok (d, p);
  second = castellan_psrp_defragmenter_next (d, &id);
  g_assert_cmpuint (id, ==, 8);
  g_assert_cmpmem (g_bytes_get_data (second, NULL), g_bytes_get_size (second), "XYZ", 3);
  castellan_psrp_fragment_write (p, 7, 2, 2, (const guint8 *) "e", 1);
  feed_ok (d, p);
  first = castellan_psrp_defragmenter_next (d, &id);
  g_assert_cmpuint (id, ==, 7);
  g_assert_cmpmem (g_bytes_get_data (first, NULL), g_bytes_get_size (first), "abcde", 5);
  g_assert_cmpuint (castellan_psrp_defragmenter_partial_count (d), ==, 0);
}

typedef struct
{
  const char *name;
  int code;
  const char *detail;   /* in the message */
  /* fragments: object, fragment, flags, blob length */
  struct { guint64 object; guint64 fragment; guint8 flags; guint32 length; } fragments[4];
  guint count;
  gint cut;             /* bytes to drop from the end */
} Fault;

static const Fault FAULTS[] = {
  { "flags", CASTELLAN_ERROR_PSRP_MALFORMED, "unknown flags 0x07", { { 1, 0, 7, 1 } }, 1, 0 },
  { "no-start", CASTELLAN_ERROR_PSRP_MALFORMED, "without having started", { { 1, 1, 2, 1 } }, 1, 0 },
  { "start-not-zero", CASTELLAN_ERROR_PSRP_MALFORMED, "instead of 0", { { 1, 3, 3, 1 } }, 1, 0 },
  { "start-twice", CASTELLAN_ERROR_PSRP_MALFORMED, "starts twice", { { 1, 0, 1, 1 }, { 1, 0, 1, 1 } }, 2, 0 },
  { "gap", CASTELLAN_ERROR_PSRP_MALFORMED, "came before fragment 1", { { 1, 0, 1, 1 }, { 1, 2, 2, 1 } }, 2, 0 },
  { "duplicate", CASTELLAN_ERROR_PSRP_MALFORMED, "came twice",
    { { 1, 0, 1, 1 }, { 1, 1, 0, 1 }, { 1, 1, 0, 1 } }, 3, 0 },
  { "short-header", CASTELLAN_ERROR_PSRP_MALFORMED, "cut short", { { 1, 0, 3, 0 } }, 1, 5 },
  { "short-blob", CASTELLAN_ERROR_PSRP_MALFORMED, "cut short", { { 1, 0, 3, 4 } }, 1, 1 },
  { "oversize-single", CASTELLAN_ERROR_PSRP_LIMIT, "larger than 10", { { 1, 0, 3, 11 } }, 1, 0 },
  { "oversize-sum", CASTELLAN_ERROR_PSRP_LIMIT, "larger than 10",
    { { 1, 0, 1, 6 }, { 1, 1, 0, 5 } }, 2, 0 },
  { "partial", CASTELLAN_ERROR_PSRP_LIMIT, "more than 2 unfinished",
    { { 1, 0, 1, 1 }, { 2, 0, 1, 1 }, { 3, 0, 1, 1 } }, 3, 0 },
};

static void
test_fault (gconstpointer data)
{
  const Fault *fault = data;
  g_autoptr(CastellanPsrpDefragmenter) d = castellan_psrp_defragmenter_new (10, 2);
  g_autoptr(GByteArray) p = g_byte_array_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) again = NULL;
  guint8 blob[16] = { 0 };

  for (guint i = 0; i < fault->count; i++)
    castellan_psrp_fragment_write (p, fault->fragments[i].object, fault->fragments[i].fragment,
                                   fault->fragments[i].flags, blob, fault->fragments[i].length);
  g_assert_false (castellan_psrp_defragmenter_feed (d, p->data, p->len - fault->cut, &error));
  g_assert_error (error, CASTELLAN_ERROR, fault->code);
  g_assert_nonnull (strstr (error->message, fault->detail));
  /* A broken stream stays broken. */
  g_byte_array_set_size (p, 0);
  castellan_psrp_fragment_write (p, 9, 0, 3, blob, 1);
  g_assert_false (castellan_psrp_defragmenter_feed (d, p->data, p->len, &again));
  g_assert_error (again, CASTELLAN_ERROR, CASTELLAN_ERROR_PSRP_MALFORMED);
}

static void
test_message_pack (void)
{
  static const guint8 want[] = {
    0x02, 0, 0, 0,                     /* to the server */
    0x04, 0x10, 0x04, 0x00,            /* PIPELINE_OUTPUT, little-endian */
    0x84, 0x6a, 0x05, 0x76, 0xdc, 0x51, 0x24, 0x4f, 0x92, 0x62, 0xca, 0x2a, 0x55, 0x46, 0x4b, 0x2b,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
    0xef, 0xbb, 0xbf, '<', 'S', '/', '>',
  };
  CastellanPsrpGuid rpid, pid = { { 0 } };
  g_autoptr(GBytes) data = g_bytes_new_static ("<S/>", 4);
  g_autoptr(CastellanPsrpMessage) message = NULL;
  g_autoptr(CastellanPsrpMessage) back = NULL;
  g_autoptr(GBytes) packed = NULL;
  g_autoptr(GBytes) bare = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  g_assert_true (castellan_psrp_guid_parse ("76056A84-51DC-4F24-9262-CA2A55464B2B", &rpid));
  pid.bytes[15] = 1;
  message = castellan_psrp_message_new (CASTELLAN_PSRP_DESTINATION_SERVER,
                                        CASTELLAN_PSRP_MESSAGE_PIPELINE_OUTPUT, &rpid, &pid, data);
  packed = castellan_psrp_message_pack (message, TRUE);
  assert_bytes (packed, want, sizeof want);
  bare = castellan_psrp_message_pack (message, FALSE);
  g_assert_cmpuint (g_bytes_get_size (bare), ==, sizeof want - 3);

  back = castellan_psrp_message_unpack (packed, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (back->destination, ==, CASTELLAN_PSRP_DESTINATION_SERVER);
  g_assert_cmpuint (back->type, ==, CASTELLAN_PSRP_MESSAGE_PIPELINE_OUTPUT);
  text = castellan_psrp_guid_to_string (&back->rpid);
  g_assert_cmpstr (text, ==, "76056a84-51dc-4f24-9262-ca2a55464b2b");
  g_assert_cmpmem (back->pid.bytes, 16, pid.bytes, 16);
  /* The byte order mark is gone, with or without it on the wire. */
  g_assert_true (g_bytes_equal (back->data, data));
  g_clear_pointer (&back, castellan_psrp_message_free);
  back = castellan_psrp_message_unpack (bare, &error);
  g_assert_true (g_bytes_equal (back->data, data));
  g_assert_cmpstr (castellan_psrp_message_type_name (back->type), ==, "PIPELINE_OUTPUT");
  g_assert_null (castellan_psrp_message_type_name (0x00041012));
  g_assert_false (castellan_psrp_guid_parse ("76056A84-51DC-4F24-9262-CA2A55464B2", &rpid));
  g_assert_false (castellan_psrp_guid_parse ("76056A84x51DC-4F24-9262-CA2A55464B2B", &rpid));
}

static void
test_message_faults (void)
{
  static const guint8 bad_destination[40] = { 3 };
  g_autoptr(GBytes) shorter = g_bytes_new_static (bad_destination, 39);
  g_autoptr(GBytes) unknown = g_bytes_new_static (bad_destination, 40);
  g_autoptr(GError) error = NULL;

  g_assert_null (castellan_psrp_message_unpack (shorter, &error));
  g_assert_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_PSRP_MALFORMED);
  g_clear_error (&error);
  g_assert_null (castellan_psrp_message_unpack (unknown, &error));
  g_assert_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_PSRP_MALFORMED);
}

/* PowerShell writes no bytes for a null output object: that is $null;
 * a state without its data is still damaged. */
static void
test_message_null_output (void)
{
  CastellanPsrpGuid rpid, pid = { { 0 } };
  g_autoptr(GBytes) empty = g_bytes_new_static ("", 0);
  g_autoptr(CastellanPsrpMessage) output = NULL;
  g_autoptr(CastellanPsrpMessage) state = NULL;
  g_autoptr(CastellanPsrpEvent) event = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (castellan_psrp_guid_parse ("76056A84-51DC-4F24-9262-CA2A55464B2B", &rpid));
  pid.bytes[15] = 1;
  output = castellan_psrp_message_new (CASTELLAN_PSRP_DESTINATION_CLIENT,
                                       CASTELLAN_PSRP_MESSAGE_PIPELINE_OUTPUT, &rpid, &pid, empty);
  event = castellan_psrp_event_from_message (output, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (event->type, ==, CASTELLAN_PSRP_EVENT_OUTPUT);
  g_assert_nonnull (event->value);
  g_assert_cmpint (event->value->kind, ==, CASTELLAN_CLIXML_NULL);

  state = castellan_psrp_message_new (CASTELLAN_PSRP_DESTINATION_CLIENT,
                                      CASTELLAN_PSRP_MESSAGE_PIPELINE_STATE, &rpid, &pid, empty);
  g_clear_pointer (&event, castellan_psrp_event_free);
  event = castellan_psrp_event_from_message (state, NULL, &error);
  g_assert_null (event);
  g_assert_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_PSRP_MALFORMED);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/psrp/fragment/write", test_write);
  g_test_add_func ("/psrp/fragment/split-into-budget", test_split_into_budget);
  g_test_add_func ("/psrp/fragment/several-per-payload", test_several_per_payload);
  g_test_add_func ("/psrp/fragment/round-trip-budgets", test_round_trip_budgets);
  g_test_add_func ("/psrp/fragment/interleaved", test_interleaved);
  for (gsize i = 0; i < G_N_ELEMENTS (FAULTS); i++)
    {
      g_autofree char *path = g_strdup_printf ("/psrp/fragment/fault/%s", FAULTS[i].name);

      g_test_add_data_func (path, &FAULTS[i], test_fault);
    }
  g_test_add_func ("/psrp/message/pack", test_message_pack);
  g_test_add_func ("/psrp/message/faults", test_message_faults);
  g_test_add_func ("/psrp/message/null-output", test_message_null_output);
  return g_test_run ();
}
