/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "castellan-trust-database.h"

/* The system's trust anchors plus those of one PEM file: a chain is good
 * if either vouches for it. (A GTlsFileDatabase alone would drop the
 * system's authorities.) */
struct _CastellanTrustDatabase
{
  GTlsDatabase parent_instance;

  GTlsDatabase *extra;
  GTlsDatabase *system;
};

G_DEFINE_FINAL_TYPE (CastellanTrustDatabase, castellan_trust_database, G_TYPE_TLS_DATABASE)

static GTlsCertificateFlags
castellan_trust_database_verify_chain (GTlsDatabase             *database,
                                       GTlsCertificate          *chain,
                                       const char               *purpose,
                                       GSocketConnectable       *identity,
                                       GTlsInteraction          *interaction,
                                       GTlsDatabaseVerifyFlags   flags,
                                       GCancellable             *cancellable,
                                       GError                  **error)
{
  CastellanTrustDatabase *self = CASTELLAN_TRUST_DATABASE (database);
  GTlsCertificateFlags result;

  result = g_tls_database_verify_chain (self->extra, chain, purpose, identity, interaction,
                                        flags, cancellable, error);
  if ((result & G_TLS_CERTIFICATE_UNKNOWN_CA) && self->system != NULL &&
      (error == NULL || *error == NULL))
    {
      GTlsCertificateFlags by_system;

      by_system = g_tls_database_verify_chain (self->system, chain, purpose, identity,
                                               interaction, flags, cancellable, error);
      if (!(by_system & G_TLS_CERTIFICATE_UNKNOWN_CA))
        result = by_system;
    }
  return result;
}

static void
castellan_trust_database_finalize (GObject *object)
{
  CastellanTrustDatabase *self = CASTELLAN_TRUST_DATABASE (object);

  g_clear_object (&self->extra);
  g_clear_object (&self->system);
  G_OBJECT_CLASS (castellan_trust_database_parent_class)->finalize (object);
}

static void
castellan_trust_database_class_init (CastellanTrustDatabaseClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = castellan_trust_database_finalize;
  G_TLS_DATABASE_CLASS (klass)->verify_chain = castellan_trust_database_verify_chain;
}

static void
castellan_trust_database_init (CastellanTrustDatabase *self)
{
}

GTlsDatabase *
castellan_trust_database_new (const char  *ca_file,
                              GError     **error)
{
  g_autoptr(CastellanTrustDatabase) self = NULL;
  GTlsDatabase *extra = g_tls_file_database_new (ca_file, error);

  if (extra == NULL)
    return NULL;
  self = g_object_new (CASTELLAN_TYPE_TRUST_DATABASE, NULL);
  self->extra = extra;
  self->system = g_tls_backend_get_default_database (g_tls_backend_get_default ());
  return G_TLS_DATABASE (g_steal_pointer (&self));
}
