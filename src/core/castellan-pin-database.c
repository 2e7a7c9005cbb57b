/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "castellan-pin-database.h"
#include "castellan-tls.h"

/* Trust for a host whose certificate the user pinned: the pinned
 * certificate, whoever signed it, and nothing else. Set on the session, it
 * is what every TLS handshake of the session is validated against, so a
 * connection libsoup opens later cannot fall back to the system's
 * authorities (an inspection CA, say) behind the pin's back. */
struct _CastellanPinDatabase
{
  GTlsDatabase parent_instance;

  char *pin;
};

G_DEFINE_FINAL_TYPE (CastellanPinDatabase, castellan_pin_database, G_TYPE_TLS_DATABASE)

static GTlsCertificateFlags
castellan_pin_database_verify_chain (GTlsDatabase             *database,
                                     GTlsCertificate          *chain,
                                     const char               *purpose,
                                     GSocketConnectable       *identity,
                                     GTlsInteraction          *interaction,
                                     GTlsDatabaseVerifyFlags   flags,
                                     GCancellable             *cancellable,
                                     GError                  **error)
{
  CastellanPinDatabase *self = CASTELLAN_PIN_DATABASE (database);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return G_TLS_CERTIFICATE_GENERIC_ERROR;
  if (castellan_tls_pin_matches (chain, self->pin))
    return 0;
  return G_TLS_CERTIFICATE_UNKNOWN_CA;
}

static void
castellan_pin_database_finalize (GObject *object)
{
  CastellanPinDatabase *self = CASTELLAN_PIN_DATABASE (object);

  g_free (self->pin);
  G_OBJECT_CLASS (castellan_pin_database_parent_class)->finalize (object);
}

static void
castellan_pin_database_class_init (CastellanPinDatabaseClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = castellan_pin_database_finalize;
  G_TLS_DATABASE_CLASS (klass)->verify_chain = castellan_pin_database_verify_chain;
}

static void
castellan_pin_database_init (CastellanPinDatabase *self)
{
}

GTlsDatabase *
castellan_pin_database_new (const char *pinned_sha256)
{
  CastellanPinDatabase *self;

  g_return_val_if_fail (pinned_sha256 != NULL, NULL);

  self = g_object_new (CASTELLAN_TYPE_PIN_DATABASE, NULL);
  self->pin = g_strdup (pinned_sha256);
  return G_TLS_DATABASE (self);
}
