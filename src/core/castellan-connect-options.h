/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "castellan-endpoint.h"
#include "castellan-gss-credentials.h"
#include "castellan-trusted-hosts.h"
#include "castellan-verdict.h"

G_BEGIN_DECLS

#define CASTELLAN_DEFAULT_OPERATION_TIMEOUT 20
#define CASTELLAN_DEFAULT_REQUEST_TIMEOUT 30

/* How to reach and prove one host. The password lives only here, in
 * memory, and is wiped when the options are freed. */
typedef struct
{
  CastellanEndpoint *endpoint;
  CastellanAuthRequest auth;
  char *user;
  char *password;
  char *spn_service;              /* NULL: HTTP */
  GTlsDatabase *tls_database;     /* the system's trust anchors unless replaced;
                                   * NULL: glib-networking's default */
  char *pinned_sha256;            /* hex SHA-256 of the certificate, or NULL */
  char *proxy;  /* NULL: connect directly; else the URL of an HTTPS CONNECT proxy */
  CastellanTrustedHosts *trusted_hosts;
  gboolean allow_unencrypted;     /* Basic over HTTP: never by default */
  gboolean delegate;              /* to hosts the KDC marks ok-as-delegate */
  gboolean delegate_always;       /* to any host: forces the TGT on it */
  guint operation_timeout;        /* seconds a Receive may wait for output */
  guint request_timeout;          /* seconds for every other exchange */
  CastellanGssCredentials *credentials; /* acquired from the password, shared by copies */
} CastellanConnectOptions;

CastellanConnectOptions *castellan_connect_options_new  (const CastellanEndpoint       *endpoint);
CastellanConnectOptions *castellan_connect_options_copy (const CastellanConnectOptions *self);
void                     castellan_connect_options_free (CastellanConnectOptions       *self);
void                     castellan_connect_options_set_password (CastellanConnectOptions *self,
                                                                 const char              *password);
gboolean                 castellan_connect_options_set_proxy (CastellanConnectOptions  *self,
                                                              const char               *url,
                                                              GError                  **error);
gboolean                 castellan_connect_options_set_trusted_hosts (CastellanConnectOptions *self,
                                                                      const char              *value);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CastellanConnectOptions, castellan_connect_options_free)

G_END_DECLS
