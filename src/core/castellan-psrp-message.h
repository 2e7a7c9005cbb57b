/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "castellan-clixml.h"
#include "castellan-psrp-fragment.h"

G_BEGIN_DECLS

/* MS-PSRP 2.2.1: the message inside the fragments. */
#define CASTELLAN_PSRP_MESSAGE_HEADER_SIZE 40

typedef enum
{
  CASTELLAN_PSRP_DESTINATION_CLIENT = 0x1,
  CASTELLAN_PSRP_DESTINATION_SERVER = 0x2,
} CastellanPsrpDestination;

/* MS-PSRP 2.2.1 and 2.2.2.x */
typedef enum
{
  CASTELLAN_PSRP_MESSAGE_SESSION_CAPABILITY = 0x00010002,
  CASTELLAN_PSRP_MESSAGE_INIT_RUNSPACEPOOL = 0x00010004,
  CASTELLAN_PSRP_MESSAGE_PUBLIC_KEY = 0x00010005,
  CASTELLAN_PSRP_MESSAGE_ENCRYPTED_SESSION_KEY = 0x00010006,
  CASTELLAN_PSRP_MESSAGE_PUBLIC_KEY_REQUEST = 0x00010007,
  CASTELLAN_PSRP_MESSAGE_CONNECT_RUNSPACEPOOL = 0x00010008,
  CASTELLAN_PSRP_MESSAGE_SET_MAX_RUNSPACES = 0x00021002,
  CASTELLAN_PSRP_MESSAGE_SET_MIN_RUNSPACES = 0x00021003,
  CASTELLAN_PSRP_MESSAGE_RUNSPACE_AVAILABILITY = 0x00021004,
  CASTELLAN_PSRP_MESSAGE_RUNSPACEPOOL_STATE = 0x00021005,
  CASTELLAN_PSRP_MESSAGE_CREATE_PIPELINE = 0x00021006,
  CASTELLAN_PSRP_MESSAGE_GET_AVAILABLE_RUNSPACES = 0x00021007,
  CASTELLAN_PSRP_MESSAGE_USER_EVENT = 0x00021008,
  CASTELLAN_PSRP_MESSAGE_APPLICATION_PRIVATE_DATA = 0x00021009,
  CASTELLAN_PSRP_MESSAGE_GET_COMMAND_METADATA = 0x0002100A,
  CASTELLAN_PSRP_MESSAGE_RUNSPACEPOOL_INIT_DATA = 0x0002100B,
  CASTELLAN_PSRP_MESSAGE_RESET_RUNSPACE_STATE = 0x0002100C,
  CASTELLAN_PSRP_MESSAGE_RUNSPACEPOOL_HOST_CALL = 0x00021100,
  CASTELLAN_PSRP_MESSAGE_RUNSPACEPOOL_HOST_RESPONSE = 0x00021101,
  CASTELLAN_PSRP_MESSAGE_PIPELINE_INPUT = 0x00041002,
  CASTELLAN_PSRP_MESSAGE_END_OF_PIPELINE_INPUT = 0x00041003,
  CASTELLAN_PSRP_MESSAGE_PIPELINE_OUTPUT = 0x00041004,
  CASTELLAN_PSRP_MESSAGE_ERROR_RECORD = 0x00041005,
  CASTELLAN_PSRP_MESSAGE_PIPELINE_STATE = 0x00041006,
  CASTELLAN_PSRP_MESSAGE_DEBUG_RECORD = 0x00041007,
  CASTELLAN_PSRP_MESSAGE_VERBOSE_RECORD = 0x00041008,
  CASTELLAN_PSRP_MESSAGE_WARNING_RECORD = 0x00041009,
  CASTELLAN_PSRP_MESSAGE_PROGRESS_RECORD = 0x00041010,
  CASTELLAN_PSRP_MESSAGE_INFORMATION_RECORD = 0x00041011,
  CASTELLAN_PSRP_MESSAGE_PIPELINE_HOST_CALL = 0x00041100,
  CASTELLAN_PSRP_MESSAGE_PIPELINE_HOST_RESPONSE = 0x00041101,
} CastellanPsrpMessageType;

/* A GUID in the order it is written as text (RFC 4122); the wire uses
 * the .NET order, its first three fields little-endian. */
typedef struct
{
  guint8 bytes[16];
} CastellanPsrpGuid;

typedef struct
{
  CastellanPsrpDestination destination;
  CastellanPsrpMessageType type;
  CastellanPsrpGuid rpid;
  CastellanPsrpGuid pid;      /* all zero for pool messages */
  GBytes *data;               /* UTF-8 CLIXML, any byte order mark removed */
} CastellanPsrpMessage;

CastellanPsrpMessage *castellan_psrp_message_new    (CastellanPsrpDestination  destination,
                                                     CastellanPsrpMessageType  type,
                                                     const CastellanPsrpGuid  *rpid,
                                                     const CastellanPsrpGuid  *pid,
                                                     GBytes                   *data);
void                  castellan_psrp_message_free   (CastellanPsrpMessage     *message);
GBytes               *castellan_psrp_message_pack   (const CastellanPsrpMessage *message,
                                                     gboolean                  with_bom);
CastellanPsrpMessage *castellan_psrp_message_unpack (GBytes                   *bytes,
                                                     GError                  **error);

/* A value written as a message's data; NULL gives empty data. */
GBytes     *castellan_psrp_message_data      (const CastellanClixmlValue *value);

void        castellan_psrp_message_enqueue   (CastellanPsrpFragmenter    *fragmenter,
                                              const CastellanPsrpGuid    *rpid,
                                              const CastellanPsrpGuid    *pid,
                                              CastellanPsrpMessageType    type,
                                              const CastellanClixmlValue *value,
                                              guint64                     object_id);

const char *castellan_psrp_message_type_name (CastellanPsrpMessageType type);

gboolean castellan_psrp_guid_parse     (const char        *text,
                                        CastellanPsrpGuid *guid);
char    *castellan_psrp_guid_to_string (const CastellanPsrpGuid *guid);
gboolean castellan_psrp_guid_is_zero   (const CastellanPsrpGuid *guid);
void     castellan_psrp_guid_to_wire   (const CastellanPsrpGuid *guid,
                                        guint8                   wire[16]);
void     castellan_psrp_guid_from_wire (const guint8             wire[16],
                                        CastellanPsrpGuid       *guid);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CastellanPsrpMessage, castellan_psrp_message_free)

G_END_DECLS
