/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "castellan-trust-database.h"

/* The system's trust anchors plus, optionally, those of one PEM file: a
 * chain is good if either vouches for it. (A GTlsFileDatabase alone would
 * drop the system's authorities.)
 *
 * It is also what keeps the system's store read once per process. A TLS
 * connection whose database is one of glib-networking's own (its default,
 * or a GTlsFileDatabase) gets a trust list built afresh from the system
 * store, some 13 ms of CPU per host, even when libsoup then gives it
 * another database. This database is not one of those, and it is made the
 * process's default: every chain is checked by the two databases made
 * once, and no connection reads the store again. */
struct _CastellanTrustDatabase
{
  GTlsDatabase parent_instance;

  GTlsDatabase *extra;     /* NULL: the system's anchors alone */
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

  if (self->extra == NULL)
    {
      if (self->system == NULL)
        return G_TLS_CERTIFICATE_UNKNOWN_CA;
      return g_tls_database_verify_chain (self->system, chain, purpose, identity, interaction,
                                          flags, cancellable, error);
    }
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

/**
 * castellan_trust_database_get_default:
 *
 * The system's trust anchors, one database for the whole process, which
 * becomes the TLS backend's default as well.
 *
 * Returns: (transfer none): the database
 */
GTlsDatabase *
castellan_trust_database_get_default (void)
{
  static GTlsDatabase *database;

  if (g_once_init_enter (&database))
    {
      GTlsBackend *backend = g_tls_backend_get_default ();
      CastellanTrustDatabase *self = g_object_new (CASTELLAN_TYPE_TRUST_DATABASE, NULL);

      self->system = g_tls_backend_get_default_database (backend);
      g_tls_backend_set_default_database (backend, G_TLS_DATABASE (self));
      g_once_init_leave (&database, G_TLS_DATABASE (self));
    }
  return database;
}

/**
 * castellan_trust_database_new:
 * @ca_file: an absolute path to PEM trust anchors, added to the system's
 *
 * Returns: (transfer full): the database, or %NULL with @error set.
 */
GTlsDatabase *
castellan_trust_database_new (const char  *ca_file,
                              GError     **error)
{
  g_autoptr(CastellanTrustDatabase) self = NULL;
  GTlsDatabase *extra;

  g_return_val_if_fail (ca_file != NULL, NULL);

  /* glib-networking takes absolute paths only (and warns otherwise). */
  if (!g_path_is_absolute (ca_file))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_FILENAME,
                   _("“%s” is not an absolute path: give the CA file’s full path, such as /etc/pki/corp-ca.pem."),
                   ca_file);
      return NULL;
    }
  extra = g_tls_file_database_new (ca_file, error);
  if (extra == NULL)
    return NULL;
  self = g_object_new (CASTELLAN_TYPE_TRUST_DATABASE, NULL);
  self->extra = extra;
  self->system = g_object_ref (castellan_trust_database_get_default ());
  return G_TLS_DATABASE (g_steal_pointer (&self));
}
