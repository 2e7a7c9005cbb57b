/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The user's Kerberos ticket-granting ticket in the default cache. */
typedef struct
{
  char *principal;
  gint64 expires;       /* Unix time */
} CastellanTicket;

CastellanTicket *castellan_ticket_read          (GError             **error);
void             castellan_ticket_free          (CastellanTicket     *self);
void             castellan_ticket_sign_in_async (const char          *principal,
                                                 const char          *password,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
gboolean         castellan_ticket_sign_out      (GError            **error);
gboolean         castellan_ticket_sign_in_finish (GAsyncResult       *result,
                                                  GError            **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CastellanTicket, castellan_ticket_free)

G_END_DECLS
