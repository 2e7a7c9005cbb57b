/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CASTELLAN_NS_SOAP "http://www.w3.org/2003/05/soap-envelope"
#define CASTELLAN_NS_ADDRESSING "http://schemas.xmlsoap.org/ws/2004/08/addressing"
#define CASTELLAN_NS_WSMAN "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
#define CASTELLAN_NS_WSMV "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"
#define CASTELLAN_NS_SHELL "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
#define CASTELLAN_NS_FAULT "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"
#define CASTELLAN_NS_CONFIG "http://schemas.microsoft.com/wbem/wsman/1/config"
#define CASTELLAN_DEFAULT_MAX_ENVELOPE 153600

/* What every request of one session shares. */
typedef struct
{
  const char *to;               /* the listener's URL */
  guint max_envelope;           /* bytes */
  guint operation_timeout;      /* seconds */
  const char *session_id;       /* "uuid:…" */
  const char *locale;           /* "en-US" */
  const char *resource_uri;     /* a shell's resource: NULL for WinRS cmd */
} CastellanSoapContext;

typedef struct
{
  guint codepage;               /* 65001 (UTF-8) unless told otherwise */
  gboolean no_profile;
  const char *working_directory;
  const char *const *environment; /* NAME=VALUE strings */
  /* The caller sends stdin as soon as a command starts: its first Receive
   * waits for that instead of going out with the Command. */
  gboolean input_first;
} CastellanShellOptions;

char   *castellan_soap_new_uuid     (void);
GBytes *castellan_soap_create_shell (const CastellanSoapContext    *ctx,
                                     const CastellanShellOptions   *options);
GBytes *castellan_soap_command      (const CastellanSoapContext    *ctx,
                                     const char                    *shell_id,
                                     const char                    *command,
                                     const char *const             *arguments,
                                     gboolean                       skip_cmd_shell,
                                     const char                    *command_id);
GBytes *castellan_soap_receive      (const CastellanSoapContext    *ctx,
                                     const char                    *shell_id,
                                     const char                    *command_id);
GBytes *castellan_soap_receive_streams (const CastellanSoapContext *ctx,
                                        const char                 *shell_id,
                                        const char                 *command_id,
                                        const char                 *streams);
GBytes *castellan_soap_send_stream  (const CastellanSoapContext    *ctx,
                                     const char                    *shell_id,
                                     const char                    *command_id,
                                     const char                    *stream,
                                     const guint8                  *data,
                                     gsize                          length,
                                     gboolean                       end);
GBytes *castellan_soap_create_pool  (const CastellanSoapContext    *ctx,
                                     const char                    *shell_id,
                                     const char                    *protocol_version,
                                     const char                    *creation_base64);
GBytes *castellan_soap_create_pipeline (const CastellanSoapContext *ctx,
                                        const char                 *shell_id,
                                        const char                 *command_id,
                                        const char                 *arguments_base64);
GBytes *castellan_soap_send         (const CastellanSoapContext    *ctx,
                                     const char                    *shell_id,
                                     const char                    *command_id,
                                     const guint8                  *data,
                                     gsize                          length,
                                     gboolean                       end);
GBytes *castellan_soap_signal       (const CastellanSoapContext    *ctx,
                                     const char                    *shell_id,
                                     const char                    *command_id,
                                     const char                    *code);
GBytes *castellan_soap_delete_shell (const CastellanSoapContext    *ctx,
                                     const char                    *shell_id);
GBytes *castellan_soap_get_config   (const CastellanSoapContext    *ctx);
gsize   castellan_soap_send_capacity (const CastellanSoapContext   *ctx);

G_END_DECLS
