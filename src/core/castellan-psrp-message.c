/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "castellan-error.h"
#include "castellan-psrp-fragment.h"
#include "castellan-psrp-message.h"

static const guint8 BOM[] = { 0xef, 0xbb, 0xbf };

static const struct
{
  CastellanPsrpMessageType type;
  const char *name;
} TYPES[] = {
  { CASTELLAN_PSRP_MESSAGE_SESSION_CAPABILITY, "SESSION_CAPABILITY" },
  { CASTELLAN_PSRP_MESSAGE_INIT_RUNSPACEPOOL, "INIT_RUNSPACEPOOL" },
  { CASTELLAN_PSRP_MESSAGE_PUBLIC_KEY, "PUBLIC_KEY" },
  { CASTELLAN_PSRP_MESSAGE_ENCRYPTED_SESSION_KEY, "ENCRYPTED_SESSION_KEY" },
  { CASTELLAN_PSRP_MESSAGE_PUBLIC_KEY_REQUEST, "PUBLIC_KEY_REQUEST" },
  { CASTELLAN_PSRP_MESSAGE_CONNECT_RUNSPACEPOOL, "CONNECT_RUNSPACEPOOL" },
  { CASTELLAN_PSRP_MESSAGE_SET_MAX_RUNSPACES, "SET_MAX_RUNSPACES" },
  { CASTELLAN_PSRP_MESSAGE_SET_MIN_RUNSPACES, "SET_MIN_RUNSPACES" },
  { CASTELLAN_PSRP_MESSAGE_RUNSPACE_AVAILABILITY, "RUNSPACE_AVAILABILITY" },
  { CASTELLAN_PSRP_MESSAGE_RUNSPACEPOOL_STATE, "RUNSPACEPOOL_STATE" },
  { CASTELLAN_PSRP_MESSAGE_CREATE_PIPELINE, "CREATE_PIPELINE" },
  { CASTELLAN_PSRP_MESSAGE_GET_AVAILABLE_RUNSPACES, "GET_AVAILABLE_RUNSPACES" },
  { CASTELLAN_PSRP_MESSAGE_USER_EVENT, "USER_EVENT" },
  { CASTELLAN_PSRP_MESSAGE_APPLICATION_PRIVATE_DATA, "APPLICATION_PRIVATE_DATA" },
  { CASTELLAN_PSRP_MESSAGE_GET_COMMAND_METADATA, "GET_COMMAND_METADATA" },
  { CASTELLAN_PSRP_MESSAGE_RUNSPACEPOOL_INIT_DATA, "RUNSPACEPOOL_INIT_DATA" },
  { CASTELLAN_PSRP_MESSAGE_RESET_RUNSPACE_STATE, "RESET_RUNSPACE_STATE" },
  { CASTELLAN_PSRP_MESSAGE_RUNSPACEPOOL_HOST_CALL, "RUNSPACEPOOL_HOST_CALL" },
  { CASTELLAN_PSRP_MESSAGE_RUNSPACEPOOL_HOST_RESPONSE, "RUNSPACEPOOL_HOST_RESPONSE" },
  { CASTELLAN_PSRP_MESSAGE_PIPELINE_INPUT, "PIPELINE_INPUT" },
  { CASTELLAN_PSRP_MESSAGE_END_OF_PIPELINE_INPUT, "END_OF_PIPELINE_INPUT" },
  { CASTELLAN_PSRP_MESSAGE_PIPELINE_OUTPUT, "PIPELINE_OUTPUT" },
  { CASTELLAN_PSRP_MESSAGE_ERROR_RECORD, "ERROR_RECORD" },
  { CASTELLAN_PSRP_MESSAGE_PIPELINE_STATE, "PIPELINE_STATE" },
  { CASTELLAN_PSRP_MESSAGE_DEBUG_RECORD, "DEBUG_RECORD" },
  { CASTELLAN_PSRP_MESSAGE_VERBOSE_RECORD, "VERBOSE_RECORD" },
  { CASTELLAN_PSRP_MESSAGE_WARNING_RECORD, "WARNING_RECORD" },
  { CASTELLAN_PSRP_MESSAGE_PROGRESS_RECORD, "PROGRESS_RECORD" },
  { CASTELLAN_PSRP_MESSAGE_INFORMATION_RECORD, "INFORMATION_RECORD" },
  { CASTELLAN_PSRP_MESSAGE_PIPELINE_HOST_CALL, "PIPELINE_HOST_CALL" },
  { CASTELLAN_PSRP_MESSAGE_PIPELINE_HOST_RESPONSE, "PIPELINE_HOST_RESPONSE" },
};

/* Returns: (nullable): the MS-PSRP name, or %NULL for a value it does not
 * define */
const char *
castellan_psrp_message_type_name (CastellanPsrpMessageType type)
{
  for (gsize i = 0; i < G_N_ELEMENTS (TYPES); i++)
    if (TYPES[i].type == type)
      return TYPES[i].name;
  return NULL;
}

CastellanPsrpMessage *
castellan_psrp_message_new (CastellanPsrpDestination  destination,
                            CastellanPsrpMessageType  type,
                            const CastellanPsrpGuid  *rpid,
                            const CastellanPsrpGuid  *pid,
                            GBytes                   *data)
{
  CastellanPsrpMessage *message = g_new0 (CastellanPsrpMessage, 1);

  message->destination = destination;
  message->type = type;
  if (rpid != NULL)
    message->rpid = *rpid;
  if (pid != NULL)
    message->pid = *pid;
  message->data = data != NULL ? g_bytes_ref (data) : g_bytes_new (NULL, 0);
  return message;
}

void
castellan_psrp_message_free (CastellanPsrpMessage *message)
{
  if (message == NULL)
    return;
  g_clear_pointer (&message->data, g_bytes_unref);
  g_free (message);
}

/* .NET writes Data1 (u32), Data2 and Data3 (u16) little-endian, the last
 * eight bytes as they are. */
void
castellan_psrp_guid_to_wire (const CastellanPsrpGuid *guid,
                             guint8                   wire[16])
{
  static const guint8 order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };

  for (int i = 0; i < 16; i++)
    wire[i] = guid->bytes[order[i]];
}

void
castellan_psrp_guid_from_wire (const guint8       wire[16],
                               CastellanPsrpGuid *guid)
{
  /* The swap is its own inverse. */
  castellan_psrp_guid_to_wire ((const CastellanPsrpGuid *) wire, guid->bytes);
}

gboolean
castellan_psrp_guid_is_zero (const CastellanPsrpGuid *guid)
{
  for (int i = 0; i < 16; i++)
    if (guid->bytes[i] != 0)
      return FALSE;
  return TRUE;
}

/* Accepts xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx in either case. */
gboolean
castellan_psrp_guid_parse (const char        *text,
                           CastellanPsrpGuid *guid)
{
  int n = 0;

  if (text == NULL || strlen (text) != 36)
    return FALSE;
  for (int i = 0; i < 36; i++)
    {
      int hi, lo;

      if (i == 8 || i == 13 || i == 18 || i == 23)
        {
          if (text[i] != '-')
            return FALSE;
          continue;
        }
      hi = g_ascii_xdigit_value (text[i]);
      lo = g_ascii_xdigit_value (text[i + 1]);
      if (hi < 0 || lo < 0)
        return FALSE;
      guid->bytes[n++] = (guint8) (hi << 4 | lo);
      i++;
    }
  return n == 16;
}

char *
castellan_psrp_guid_to_string (const CastellanPsrpGuid *guid)
{
  const guint8 *b = guid->bytes;

  return g_strdup_printf ("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
                          "%02x%02x%02x%02x%02x%02x",
                          b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
                          b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

static void
put_le32 (guint8  *at,
          guint32  value)
{
  at[0] = value & 0xff;
  at[1] = (value >> 8) & 0xff;
  at[2] = (value >> 16) & 0xff;
  at[3] = (value >> 24) & 0xff;
}

static guint32
get_le32 (const guint8 *at)
{
  return (guint32) at[0] | (guint32) at[1] << 8 | (guint32) at[2] << 16 | (guint32) at[3] << 24;
}

/**
 * castellan_psrp_message_pack:
 * @with_bom: whether to start the data with a UTF-8 byte order mark, as
 *   Windows does; an empty data stays empty
 */
GBytes *
castellan_psrp_message_pack (const CastellanPsrpMessage *message,
                             gboolean                    with_bom)
{
  gsize size = 0;
  const guint8 *data = message->data != NULL ? g_bytes_get_data (message->data, &size) : NULL;
  GByteArray *out = g_byte_array_sized_new (CASTELLAN_PSRP_MESSAGE_HEADER_SIZE + 3 + size);
  guint8 header[CASTELLAN_PSRP_MESSAGE_HEADER_SIZE];

  put_le32 (header, message->destination);
  put_le32 (header + 4, message->type);
  castellan_psrp_guid_to_wire (&message->rpid, header + 8);
  castellan_psrp_guid_to_wire (&message->pid, header + 24);
  g_byte_array_append (out, header, sizeof header);
  if (with_bom && size > 0)
    g_byte_array_append (out, BOM, sizeof BOM);
  if (size > 0)
    g_byte_array_append (out, data, (guint) size);
  return g_byte_array_free_to_bytes (out);
}

static CastellanPsrpMessage *
malformed (GError     **error,
           const char  *why)
{
  castellan_set_psrp_malformed (error, why);
  return NULL;
}

/**
 * castellan_psrp_message_unpack:
 *
 * Reads a message header; an unknown message type is kept as it came, for
 * the layer above to refuse or ignore, but the destination must be one
 * MS-PSRP defines.
 *
 * Returns: (nullable): the message, its data without a byte order mark
 */
CastellanPsrpMessage *
castellan_psrp_message_unpack (GBytes  *bytes,
                               GError **error)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (bytes, &size);
  CastellanPsrpMessage *message;
  gsize skip = CASTELLAN_PSRP_MESSAGE_HEADER_SIZE;
  guint32 destination;

  if (size < CASTELLAN_PSRP_MESSAGE_HEADER_SIZE)
    return malformed (error, _("a message is shorter than its header"));
  destination = get_le32 (data);
  if (destination != CASTELLAN_PSRP_DESTINATION_CLIENT &&
      destination != CASTELLAN_PSRP_DESTINATION_SERVER)
    return malformed (error, _("a message has an unknown destination"));
  message = g_new0 (CastellanPsrpMessage, 1);
  message->destination = destination;
  message->type = get_le32 (data + 4);
  castellan_psrp_guid_from_wire (data + 8, &message->rpid);
  castellan_psrp_guid_from_wire (data + 24, &message->pid);
  if (size - skip >= sizeof BOM && memcmp (data + skip, BOM, sizeof BOM) == 0)
    skip += sizeof BOM;
  message->data = g_bytes_new_from_bytes (bytes, skip, size - skip);
  return message;
}

GBytes *
castellan_psrp_message_data (const CastellanClixmlValue *value)
{
  char *xml;

  if (value == NULL)
    return g_bytes_new (NULL, 0);
  xml = castellan_clixml_write (value);
  return g_bytes_new_take (xml, strlen (xml));
}

/* A client's message, packed (without a byte order mark, as pypsrp and
 * PowerShell's own client send them) and queued for @fragmenter under
 * @object_id. */
void
castellan_psrp_message_enqueue (CastellanPsrpFragmenter    *fragmenter,
                                const CastellanPsrpGuid    *rpid,
                                const CastellanPsrpGuid    *pid,
                                CastellanPsrpMessageType    type,
                                const CastellanClixmlValue *value,
                                guint64                     object_id)
{
  static const CastellanPsrpGuid none = { { 0 } };
  g_autoptr(GBytes) data = castellan_psrp_message_data (value);
  g_autoptr(CastellanPsrpMessage) message =
    castellan_psrp_message_new (CASTELLAN_PSRP_DESTINATION_SERVER, type, rpid, pid ? pid : &none, data);
  g_autoptr(GBytes) packed = castellan_psrp_message_pack (message, FALSE);

  castellan_psrp_fragmenter_queue_with_id (fragmenter, packed, object_id);
}
