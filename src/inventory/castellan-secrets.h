/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Passwords live in the keyring (Secret Service), one per host and user,
 * and nowhere else. */
void     castellan_secrets_lookup_async  (const char          *host_id,
                                          const char          *user,
                                          GCancellable        *cancellable,
                                          GAsyncReadyCallback  callback,
                                          gpointer             user_data);
char    *castellan_secrets_lookup_finish (GAsyncResult        *result,
                                          GError             **error);
void     castellan_secrets_store_async   (const char          *host_id,
                                          const char          *user,
                                          const char          *label,
                                          const char          *password,
                                          GCancellable        *cancellable,
                                          GAsyncReadyCallback  callback,
                                          gpointer             user_data);
gboolean castellan_secrets_store_finish  (GAsyncResult        *result,
                                          GError             **error);
void     castellan_secrets_clear_async   (const char          *host_id,
                                          GCancellable        *cancellable,
                                          GAsyncReadyCallback  callback,
                                          gpointer             user_data);
gboolean castellan_secrets_clear_finish  (GAsyncResult        *result,
                                          GError             **error);
void     castellan_secrets_wipe          (char                *password);

G_END_DECLS
