/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  CASTELLAN_STREAM_STDOUT,
  CASTELLAN_STREAM_STDERR,
} CastellanStream;

typedef void (*CastellanStreamFunc) (CastellanStream  stream,
                                     const guint8    *data,
                                     gsize            length,
                                     gpointer         user_data);

/* What a WS-Man reply says, for the actions the shell uses. */
typedef struct
{
  char *action;
  char *shell_id;        /* CreateResponse */
  char *command_id;      /* CommandResponse */
  gboolean done;         /* ReceiveResponse: CommandState Done */
  int exit_code;
  guint max_envelope_kb; /* GetResponse of the config resource; 0 if absent */
} CastellanWsmanReply;

CastellanWsmanReply *castellan_wsman_reply_parse (const char           *xml,
                                                  gsize                 length,
                                                  gsize                 max_length,
                                                  const char           *host,
                                                  CastellanStreamFunc   on_stream,
                                                  gpointer              user_data,
                                                  GError              **error);
void                 castellan_wsman_reply_free  (CastellanWsmanReply  *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CastellanWsmanReply, castellan_wsman_reply_free)

G_END_DECLS
