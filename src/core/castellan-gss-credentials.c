/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "castellan-gss-credentials-private.h"

/* A credential closer to its end than this is acquired again. */
#define MIN_LIFETIME_SECONDS 300

/* Connections authenticate in worker threads, several at once. */
struct _CastellanGssCredentials
{
  gatomicrefcount ref_count;
  GMutex lock;
  GHashTable *creds;        /* "auth:restricted:user" → gss_cred_id_t */
  GPtrArray *retired;       /* replaced, perhaps still in use: kept to the end */
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
  g_mutex_init (&self->lock);
  self->creds = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, release_cred);
  self->retired = g_ptr_array_new_with_free_func (release_cred);
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
  g_ptr_array_unref (self->retired);
  g_mutex_clear (&self->lock);
  g_free (self);
}

void
castellan_gss_credentials_lock (CastellanGssCredentials *self)
{
  g_mutex_lock (&self->lock);
}

void
castellan_gss_credentials_unlock (CastellanGssCredentials *self)
{
  g_mutex_unlock (&self->lock);
}

/* Returns: (transfer none): a credential still valid for a while, or
 * GSS_C_NO_CREDENTIAL. Called with the lock held. */
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
      g_hash_table_steal (self->creds, key);
      g_ptr_array_add (self->retired, cred);
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
