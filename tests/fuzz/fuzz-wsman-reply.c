/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: WS-Man replies as the network delivers them. */
#include "castellan-wsman-reply.h"
#include "fuzz.h"

static void
sink (CastellanStream stream, const guint8 *data, gsize length, gpointer user_data)
{
  *(gsize *) user_data += length;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CastellanWsmanReply) reply = NULL;
  gsize total = 0;

  reply = castellan_wsman_reply_parse ((const char *) data, size, 0, "fuzz", sink, &total, &error);
  g_assert ((reply == NULL) == (error != NULL));
  return 0;
}
