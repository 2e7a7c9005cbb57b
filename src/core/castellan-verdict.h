/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* What the user asked for. */
typedef enum
{
  CASTELLAN_AUTH_REQUEST_NEGOTIATE,
  CASTELLAN_AUTH_REQUEST_KERBEROS,
  CASTELLAN_AUTH_REQUEST_NTLM,
  CASTELLAN_AUTH_REQUEST_BASIC,
} CastellanAuthRequest;

/* What actually happened on the wire. */
typedef enum
{
  CASTELLAN_AUTH_KERBEROS,
  CASTELLAN_AUTH_NTLM,
  CASTELLAN_AUTH_BASIC,
} CastellanAuthMethod;

typedef enum
{
  CASTELLAN_IDENTITY_NONE,
  CASTELLAN_IDENTITY_KERBEROS,   /* mutual authentication proved it */
  CASTELLAN_IDENTITY_TLS,        /* a CA-validated certificate for the name */
  CASTELLAN_IDENTITY_TLS_PINNED, /* the certificate the user pinned */
} CastellanServerIdentity;

/* Ordered from worst to best, so that levels compare with < and >. */
typedef enum
{
  CASTELLAN_LEVEL_UNPROTECTED,  /* no encryption at all */
  CASTELLAN_LEVEL_UNVERIFIED,   /* encrypted, but the server is not proven */
  CASTELLAN_LEVEL_CAVEATS,      /* proven, with a weakness to know about */
  CASTELLAN_LEVEL_VERIFIED,     /* server proven, traffic strongly encrypted */
} CastellanLevel;

typedef struct
{
  char *host;
  CastellanServerIdentity identity;
  CastellanAuthMethod auth;
  char *encryption;           /* "kerberos-aes256-cts-hmac-sha1-96", "ntlm-rc4-128", "tls-1.3", "none" */
  char *tls_cipher_suite;     /* when TLS protects the traffic */
  char *trusted_hosts_entry;  /* the entry that allowed an unproven server */
  gboolean delegation;
  char *user;                 /* who authenticated, as the credential names it */
  char *server_principal;     /* the Kerberos principal that proved the server */
  gboolean delegation_requested;
  gboolean delegation_forced; /* asked for whatever the KDC says of the host */
  char *delegation_reason;    /* asked for but not done: "not-forwardable", "not-ok-as-delegate", "ntlm", "declined" */
} CastellanVerdict;

CastellanVerdict *castellan_verdict_new            (void);
CastellanVerdict *castellan_verdict_copy           (const CastellanVerdict *self);
void              castellan_verdict_free           (CastellanVerdict       *self);
CastellanLevel    castellan_verdict_get_level      (const CastellanVerdict *self);
const char       *castellan_verdict_level_title    (CastellanLevel          level);
const char       *castellan_verdict_level_id       (CastellanLevel          level);
char            **castellan_verdict_explain        (const CastellanVerdict *self);
char            **castellan_verdict_improvements   (const CastellanVerdict *self);
gboolean          castellan_verdict_is_weaker_than (const CastellanVerdict *self,
                                                    const CastellanVerdict *previous);
char             *castellan_verdict_to_json        (const CastellanVerdict *self,
                                                    int                     exit_code);
char             *castellan_verdict_delegation_note (const CastellanVerdict *self);

const char       *castellan_server_identity_to_string (CastellanServerIdentity identity);
const char       *castellan_auth_method_to_string     (CastellanAuthMethod     auth);
const char       *castellan_auth_request_to_string    (CastellanAuthRequest    auth);
gboolean          castellan_auth_request_from_string  (const char             *text,
                                                       CastellanAuthRequest   *auth);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CastellanVerdict, castellan_verdict_free)

G_END_DECLS
