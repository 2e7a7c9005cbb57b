/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <libsecret/secret.h>
#include <string.h>

#include "castellan-secrets.h"

static const SecretSchema *
password_schema (void)
{
  static const SecretSchema schema = {
    "io.github.castellan.Castellan.Password", SECRET_SCHEMA_NONE,
    {
      { "host-id", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { "user", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { NULL, 0 },
    }
  };

  return &schema;
}

void
castellan_secrets_lookup_async (const char          *host_id,
                                const char          *user,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  secret_password_lookup (password_schema (), cancellable, callback, user_data,
                          "host-id", host_id, "user", user, NULL);
}

/* Returns: (transfer full) (nullable): the password, to be wiped with
 * castellan_secrets_wipe(); NULL when none is stored. */
char *
castellan_secrets_lookup_finish (GAsyncResult  *result,
                                 GError       **error)
{
  char *secret = secret_password_lookup_finish (result, error);
  char *copy;

  if (secret == NULL)
    return NULL;
  copy = g_strdup (secret);
  secret_password_free (secret);
  return copy;
}

void
castellan_secrets_store_async (const char          *host_id,
                               const char          *user,
                               const char          *label,
                               const char          *password,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  secret_password_store (password_schema (), SECRET_COLLECTION_DEFAULT, label, password,
                         cancellable, callback, user_data,
                         "host-id", host_id, "user", user, NULL);
}

gboolean
castellan_secrets_store_finish (GAsyncResult  *result,
                                GError       **error)
{
  return secret_password_store_finish (result, error);
}

void
castellan_secrets_clear_async (const char          *host_id,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  secret_password_clear (password_schema (), cancellable, callback, user_data,
                         "host-id", host_id, NULL);
}

gboolean
castellan_secrets_clear_finish (GAsyncResult  *result,
                                GError       **error)
{
  return secret_password_clear_finish (result, error);
}

void
castellan_secrets_wipe (char *password)
{
  if (password == NULL)
    return;
  explicit_bzero (password, strlen (password));
  g_free (password);
}
