/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "castellan-gss-credentials-private.h"

/* A credential closer to its end than this is acquired again. */
#define MIN_LIFETIME_SECONDS 300

struct _CastellanGssCredentials
{
  gatomicrefcount ref_count;
  GHashTable *creds;        /* "auth:restricted:user" → gss_cred_id_t */
};

static void
release_cred (gpointer cred)
{
  OM_uint32 minor;
  gss_cred_id_t c = cred;

  gss_release_cred (&minor, &c);
}

CastellanGssCredentials *
castellan_gss_credentials_new (void)
{
  CastellanGssCredentials *self = g_new0 (CastellanGssCredentials, 1);

  g_atomic_ref_count_init (&self->ref_count);
  self->creds = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, release_cred);
  return self;
}

CastellanGssCredentials *
castellan_gss_credentials_ref (CastellanGssCredentials *self)
{
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
castellan_gss_credentials_unref (CastellanGssCredentials *self)
{
  if (self == NULL || !g_atomic_ref_count_dec (&self->ref_count))
    return;
  g_hash_table_unref (self->creds);
  g_free (self);
}

/* Returns: (transfer none): a credential still valid for a while, or
 * GSS_C_NO_CREDENTIAL. */
gss_cred_id_t
castellan_gss_credentials_lookup (CastellanGssCredentials *self,
                                  const char              *key)
{
  gss_cred_id_t cred = g_hash_table_lookup (self->creds, key);
  OM_uint32 major, minor, lifetime = 0;

  if (cred == NULL)
    return GSS_C_NO_CREDENTIAL;
  major = gss_inquire_cred (&minor, cred, NULL, &lifetime, NULL, NULL);
  if (GSS_ERROR (major) || lifetime < MIN_LIFETIME_SECONDS)
    {
      g_hash_table_remove (self->creds, key);
      return GSS_C_NO_CREDENTIAL;
    }
  return cred;
}

/* Takes @cred. */
void
castellan_gss_credentials_store (CastellanGssCredentials *self,
                                 const char              *key,
                                 gss_cred_id_t            cred)
{
  g_hash_table_replace (self->creds, g_strdup (key), cred);
}
