/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#include <krb5/krb5.h>
#include <string.h>

#include "castellan-error.h"
#include "castellan-gss.h"
#include "castellan-gss-credentials-private.h"

/* gss-ntlmssp's mechanism, 1.3.6.1.4.1.311.2.2.10 */
static gss_OID_desc ntlm_oid = { 10, (void *) "\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a" };
/* SPNEGO, 1.3.6.1.5.5.2 */
static gss_OID_desc spnego_oid = { 6, (void *) "\x2b\x06\x01\x05\x05\x02" };
/* Kerberos 5, 1.2.840.113554.1.2.2 */
static gss_OID_desc krb5_oid = { 9, (void *) "\x2a\x86\x48\x86\xf7\x12\x01\x02\x02" };

struct _CastellanGss
{
  CastellanAuthRequest auth;
  char *host;
  char *service;
  char *user;
  char *password;           /* kept only to explain a failure; wiped on free */
  gss_cred_id_t cred;
  gboolean cred_shared;     /* owned by the options' CastellanGssCredentials */
  gss_name_t target;
  gss_ctx_id_t ctx;
  gss_OID mech;             /* what the context is initiated with */
  OM_uint32 req_flags;
  OM_uint32 ret_flags;
  gboolean complete;
  gboolean kerberos;        /* the mechanism in use, once complete */
  guint steps;
  gboolean ticket_sent;     /* the last token sent is the Kerberos AP-REQ */
  struct gss_channel_bindings_struct bindings;
  gboolean has_bindings;
  GBytes *binding_data;
  gboolean ntlm_fallback;   /* Negotiate by name: NTLM where Kerberos cannot be used */
  CastellanGssCredentials *credentials;

  /* What the Kerberos context proved, and what came of delegation. */
  char *server_principal;
  gboolean target_checked;
  GError *target_error;     /* the server proved another principal */
  gboolean delegate_requested;
  gboolean delegate_always;
  const char *delegation_reason;
};

static gboolean
oid_equal (gss_const_OID a,
           gss_const_OID b)
{
  return a != NULL && b != NULL && a->length == b->length &&
         memcmp (a->elements, b->elements, a->length) == 0;
}

static char *
status_text (OM_uint32 code,
             int       type,
             gss_OID   mech)
{
  GString *text = g_string_new (NULL);
  OM_uint32 ctx = 0;

  do
    {
      OM_uint32 minor;
      gss_buffer_desc msg = GSS_C_EMPTY_BUFFER;

      if (GSS_ERROR (gss_display_status (&minor, code, type, mech, &ctx, &msg)))
        break;
      if (text->len > 0)
        g_string_append (text, "; ");
      g_string_append_len (text, msg.value, msg.length);
      gss_release_buffer (&minor, &msg);
    }
  while (ctx != 0);
  return g_string_free (text, FALSE);
}

/* Maps a GSS failure to what the user can do about it. */
static void
set_gss_error (CastellanGss  *self,
               GError       **error,
               OM_uint32      major,
               OM_uint32      minor,
               const char    *stage)
{
  g_autofree char *detail = NULL;
  const char *who = self->user ? self->user : _("your account");
  int code = CASTELLAN_ERROR_AUTH_FAILED;
  g_autofree char *message = NULL;

  detail = minor != 0 ? status_text (minor, GSS_C_MECH_CODE, self->mech)
                      : status_text (major, GSS_C_GSS_CODE, GSS_C_NO_OID);

  switch ((krb5_error_code) minor)
    {
    case KRB5KRB_AP_ERR_SKEW:
      code = CASTELLAN_ERROR_CLOCK_SKEW;
      message = g_strdup (_("The clocks of this computer and of the Kerberos servers differ by more than Kerberos allows (usually 5 minutes). Synchronise this computer’s clock (NTP) and try again."));
      break;
    case KRB5KDC_ERR_S_PRINCIPAL_UNKNOWN:
      code = CASTELLAN_ERROR_UNKNOWN_SPN;
      message = g_strdup_printf (_("The Kerberos KDC does not know the service principal %s/%s, so Kerberos cannot prove this host under this name. Connect by the name the host is registered under (its full DNS name), set the right SPN service, or use HTTPS."),
                                 self->service, self->host);
      break;
    case KRB5_KDC_UNREACH:
    case KRB5_REALM_UNKNOWN:
      code = CASTELLAN_ERROR_KDC_UNREACHABLE;
      message = g_strdup (_("No Kerberos KDC of your realm answered. Check the network or VPN connection and the realm’s KDC settings (krb5.conf)."));
      break;
    case KRB5KRB_AP_ERR_TKT_EXPIRED:
      code = CASTELLAN_ERROR_TICKET_EXPIRED;
      message = g_strdup (_("Your Kerberos ticket has expired. Sign in again (kinit) and retry."));
      break;
    case KRB5_FCC_NOFILE:
    case KRB5_CC_NOTFOUND:
      code = CASTELLAN_ERROR_NO_CREDENTIALS;
      message = g_strdup (_("You have no Kerberos ticket. Sign in first (kinit user@REALM), or give a user name and a password."));
      break;
    case KRB5KDC_ERR_PREAUTH_FAILED:
    case KRB5KRB_AP_ERR_BAD_INTEGRITY:
      code = CASTELLAN_ERROR_CREDENTIALS_REJECTED;
      message = g_strdup_printf (_("The password for %s was rejected by the Kerberos KDC. Check the password and the keyboard layout."), who);
      break;
    case KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN:
      code = CASTELLAN_ERROR_CREDENTIALS_REJECTED;
      message = g_strdup_printf (_("The Kerberos KDC does not know the user %s. Check the user name and its realm (user@REALM)."), who);
      break;
    case KRB5KDC_ERR_KEY_EXP:
      code = CASTELLAN_ERROR_CREDENTIALS_REJECTED;
      message = g_strdup_printf (_("The password of %s has expired. Change it, then sign in again."), who);
      break;
    default:
      break;
    }

  if (message == NULL)
    {
      OM_uint32 routine = GSS_ROUTINE_ERROR (major);

      if (routine == GSS_S_NO_CRED)
        {
          code = CASTELLAN_ERROR_NO_CREDENTIALS;
          message = g_strdup_printf (_("No usable credentials for %s (%s). Sign in (kinit) or give a user name and a password."), who, detail);
        }
      else if (routine == GSS_S_CREDENTIALS_EXPIRED)
        {
          code = CASTELLAN_ERROR_TICKET_EXPIRED;
          message = g_strdup (_("Your credentials have expired. Sign in again (kinit) and retry."));
        }
      else
        {
          message = g_strdup_printf (_("Authentication failed while %s: %s."), stage, detail);
        }
    }

  g_set_error_literal (error, CASTELLAN_ERROR, code, message);
}

/* gss-ntlmssp is a separate package, registered in /etc/gss/mech.d (or
 * through GSS_MECH_CONFIG): without it, NTLM is simply absent. */
static gboolean
ntlm_available (void)
{
  OM_uint32 minor;
  gss_OID_set mechs = GSS_C_NO_OID_SET;
  int present = 0;

  if (GSS_ERROR (gss_indicate_mechs (&minor, &mechs)))
    return FALSE;
  gss_test_oid_set_member (&minor, &ntlm_oid, mechs, &present);
  gss_release_oid_set (&minor, &mechs);
  return present != 0;
}

static gboolean
acquire_credentials_locked (CastellanGss               *self,
                            const CastellanGssOptions  *options,
                            GError                    **error)
{
  OM_uint32 major, minor;
  gss_OID_set_desc mechs = { 1, self->mech };
  gss_name_t name = GSS_C_NO_NAME;
  gboolean restrict_to_kerberos = options->auth == CASTELLAN_AUTH_REQUEST_NEGOTIATE &&
                                  !options->ntlm_allowed;

  g_autofree char *key = NULL;

  if (options->password == NULL && options->user == NULL && !restrict_to_kerberos)
    return TRUE;  /* the default credentials, found at the first step */

  if (options->password != NULL && options->credentials != NULL)
    {
      /* By mechanism: Negotiate to an address acquires NTLM alone. */
      key = g_strdup_printf ("%s:%d:%s",
                             self->mech == &krb5_oid ? "krb5" : self->mech == &ntlm_oid ? "ntlm" : "spnego",
                             restrict_to_kerberos, options->user ? options->user : "");
      self->cred = castellan_gss_credentials_lookup (options->credentials, key);
      self->cred_shared = self->cred != GSS_C_NO_CREDENTIAL;
      if (self->cred_shared)
        return TRUE;
    }

  if (options->user != NULL)
    {
      gss_buffer_desc buf = { strlen (options->user), (void *) options->user };

      major = gss_import_name (&minor, &buf, GSS_C_NT_USER_NAME, &name);
      if (GSS_ERROR (major))
        {
          g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_CREDENTIALS_REJECTED,
                       _("“%s” is not a valid user name: use user@REALM or DOMAIN\\user."),
                       options->user);
          return FALSE;
        }
    }

  if (options->password != NULL)
    {
      gss_buffer_desc pw = { strlen (options->password), (void *) options->password };

      major = gss_acquire_cred_with_password (&minor, name, &pw, GSS_C_INDEFINITE, &mechs,
                                              GSS_C_INITIATE, &self->cred, NULL, NULL);
    }
  else
    {
      major = gss_acquire_cred (&minor, name, GSS_C_INDEFINITE, &mechs, GSS_C_INITIATE,
                                &self->cred, NULL, NULL);
    }
  if (name != GSS_C_NO_NAME)
    gss_release_name (&minor, &name);
  if (GSS_ERROR (major) && self->mech != &krb5_oid && !restrict_to_kerberos && !ntlm_available ())
    {
      g_set_error_literal (error, CASTELLAN_ERROR, CASTELLAN_ERROR_NTLM_UNAVAILABLE,
                           _("NTLM is not available on this computer: the gss-ntlmssp module is not installed or not registered with GSSAPI. Install gss-ntlmssp, or connect by host name with Kerberos."));
      return FALSE;
    }
  if (GSS_ERROR (major))
    {
      set_gss_error (self, error, major, minor, _("getting credentials"));
      return FALSE;
    }

  if (restrict_to_kerberos)
    {
      gss_OID_set_desc only_krb5 = { 1, &krb5_oid };

      /* The policy allows no NTLM here: SPNEGO may offer Kerberos alone. */
      major = gss_set_neg_mechs (&minor, self->cred, &only_krb5);
      if (GSS_ERROR (major))
        {
          set_gss_error (self, error, major, minor, _("limiting Negotiate to Kerberos"));
          return FALSE;
        }
    }
  if (key != NULL)
    {
      castellan_gss_credentials_store (options->credentials, key, self->cred);
      self->cred_shared = TRUE;
    }
  return TRUE;
}

/* One acquisition at a time per set of credentials: the others then find
 * its result. */
static gboolean
acquire_credentials (CastellanGss               *self,
                     const CastellanGssOptions  *options,
                     GError                    **error)
{
  gboolean ok;

  if (options->credentials != NULL)
    castellan_gss_credentials_lock (options->credentials);
  ok = acquire_credentials_locked (self, options, error);
  if (options->credentials != NULL)
    castellan_gss_credentials_unlock (options->credentials);
  return ok;
}

/* The host as an SPN names it: without the trailing dot of a fully
 * qualified name, in lower case as MIT's host-based names are. */
static char *
spn_host (const char *host)
{
  gsize len = strlen (host);

  while (len > 0 && host[len - 1] == '.')
    len--;
  return g_ascii_strdown (host, len);
}

/* "service/host@REALM" for the host as given, never as DNS answers for
 * it: a host-based name is canonicalised (dns_canonicalize_hostname, rdns
 * in krb5.conf), which lets a forged DNS answer choose the principal. The
 * realm is the host's by krb5.conf's domain_realm, else the default one.
 * NULL where no realm is known: the host-based name then. */
static char *
kerberos_target (CastellanGss *self)
{
  krb5_context kc = NULL;
  char **realms = NULL;
  char *default_realm = NULL;
  g_autofree char *host = spn_host (self->host);
  const char *realm = NULL;
  char *target = NULL;

  if (*host == '\0' || strpbrk (host, "/@\\") != NULL || strpbrk (self->service, "/@\\") != NULL)
    return NULL;
  if (krb5_init_context (&kc) != 0)
    return NULL;
  if (krb5_get_host_realm (kc, host, &realms) == 0 && realms != NULL &&
      realms[0] != NULL && realms[0][0] != '\0')
    realm = realms[0];
  else if (krb5_get_default_realm (kc, &default_realm) == 0)
    realm = default_realm;
  if (realm != NULL)
    target = g_strdup_printf ("%s/%s@%s", self->service, host, realm);
  if (realms != NULL)
    krb5_free_host_realm (kc, realms);
  krb5_free_default_realm (kc, default_realm);
  krb5_free_context (kc);
  return target;
}

/* Negotiate to a host by name, where NTLM is allowed: Kerberos alone is
 * tried first and, where it cannot be used (no ticket, an SPN the KDC does
 * not know, a user name that is no Kerberos principal), NTLM alone, its
 * token unwrapped under the Negotiate scheme, as Windows' Negotiate does.
 * The choice is made here, before any token is sent, so the host cannot
 * make it. SPNEGO's own fallback is not used: MIT krb5 1.21 and
 * gss-ntlmssp 1.2 disagree over its mechListMIC. */
static gboolean
fall_back_to_ntlm (CastellanGss  *self,
                   GError       **error)
{
  CastellanGssOptions options = { 0 };
  g_autofree char *target = g_strdup_printf ("%s@%s", self->service, self->host);
  gss_buffer_desc buf = { strlen (target), target };
  OM_uint32 major, minor;

  self->ntlm_fallback = FALSE;
  if (self->ctx != GSS_C_NO_CONTEXT)
    gss_delete_sec_context (&minor, &self->ctx, GSS_C_NO_BUFFER);
  if (self->cred != GSS_C_NO_CREDENTIAL && !self->cred_shared)
    gss_release_cred (&minor, &self->cred);
  self->cred = GSS_C_NO_CREDENTIAL;
  self->cred_shared = FALSE;
  if (self->target != GSS_C_NO_NAME)
    gss_release_name (&minor, &self->target);
  self->mech = &ntlm_oid;
  self->steps = 0;
  self->ret_flags = 0;

  /* gss-ntlmssp takes host-based names only. */
  major = gss_import_name (&minor, &buf, GSS_C_NT_HOSTBASED_SERVICE, &self->target);
  if (GSS_ERROR (major))
    {
      set_gss_error (self, error, major, minor, _("naming the service"));
      return FALSE;
    }
  options.auth = self->auth;
  options.service = self->service;
  options.host = self->host;
  options.user = self->user;
  options.password = self->password;
  options.ntlm_allowed = TRUE;
  options.credentials = self->credentials;
  return acquire_credentials (self, &options, error);
}

CastellanGss *
castellan_gss_new (const CastellanGssOptions  *options,
                   GError                    **error)
{
  g_autoptr(CastellanGss) self = g_new0 (CastellanGss, 1);
  g_autoptr(GError) local_error = NULL;
  g_autofree char *target = NULL;
  gss_buffer_desc buf;
  OM_uint32 major, minor;

  g_return_val_if_fail (options->auth != CASTELLAN_AUTH_REQUEST_BASIC, NULL);

  self->auth = options->auth;
  self->host = g_strdup (options->host);
  self->service = g_strdup (options->service ? options->service : "HTTP");
  self->user = g_strdup (options->user);
  self->password = g_strdup (options->password);
  self->cred = GSS_C_NO_CREDENTIAL;
  self->ctx = GSS_C_NO_CONTEXT;
  self->target = GSS_C_NO_NAME;

  switch (options->auth)
    {
    case CASTELLAN_AUTH_REQUEST_KERBEROS:
      self->mech = &krb5_oid;
      break;
    case CASTELLAN_AUTH_REQUEST_NTLM:
      self->mech = &ntlm_oid;
      break;
    case CASTELLAN_AUTH_REQUEST_NEGOTIATE:
    case CASTELLAN_AUTH_REQUEST_BASIC:
    default:
      /* To an address, Negotiate is NTLM, as from Windows: Kerberos
       * names hosts, not addresses. Its token goes under the Negotiate
       * scheme unwrapped, which Windows takes as readily as SPNEGO, and
       * which avoids SPNEGO's fallback to NTLM: MIT krb5 1.21 and
       * gss-ntlmssp 1.2 disagree over its mechListMIC. */
      if (!options->ntlm_allowed)
        self->mech = &spnego_oid;
      else if (g_hostname_is_ip_address (options->host))
        self->mech = &ntlm_oid;
      else
        {
          /* By name with NTLM allowed: Kerberos alone first, then NTLM
           * alone where Kerberos cannot be used (see fall_back_to_ntlm()). */
          self->mech = &krb5_oid;
          self->ntlm_fallback = ntlm_available ();
        }
      break;
    }

  self->req_flags = GSS_C_MUTUAL_FLAG | GSS_C_CONF_FLAG | GSS_C_INTEG_FLAG |
                    GSS_C_SEQUENCE_FLAG | GSS_C_REPLAY_FLAG;
  /* By default the KDC decides: only a host it marks ok-as-delegate gets
   * the TGT. */
  self->delegate_always = options->delegate_always;
  self->delegate_requested = options->delegate || options->delegate_always;
  if (options->delegate_always)
    self->req_flags |= GSS_C_DELEG_FLAG;
  else if (options->delegate)
    self->req_flags |= GSS_C_DELEG_POLICY_FLAG;

  /* gss-ntlmssp takes only a host-based name: where Negotiate may end in
   * NTLM, the name stays host-based and castellan_gss_check_target()
   * catches a canonicalised one. */
  if (self->mech == &krb5_oid || !options->ntlm_allowed)
    target = kerberos_target (self);
  if (target != NULL)
    {
      buf.value = target;
      buf.length = strlen (target);
      major = gss_import_name (&minor, &buf, (gss_OID) GSS_KRB5_NT_PRINCIPAL_NAME, &self->target);
    }
  else
    {
      target = g_strdup_printf ("%s@%s", self->service, self->host);
      buf.value = target;
      buf.length = strlen (target);
      major = gss_import_name (&minor, &buf, GSS_C_NT_HOSTBASED_SERVICE, &self->target);
    }
  if (GSS_ERROR (major))
    {
      set_gss_error (self, error, major, minor, _("naming the service"));
      return NULL;
    }

  if (options->channel_binding != NULL)
    {
      gsize len;

      self->binding_data = g_bytes_ref (options->channel_binding);
      self->bindings.application_data.value = (void *) g_bytes_get_data (self->binding_data, &len);
      self->bindings.application_data.length = len;
      self->has_bindings = TRUE;
    }

  if (options->credentials != NULL)
    self->credentials = castellan_gss_credentials_ref (options->credentials);
  if (!acquire_credentials (self, options, &local_error))
    {
      if (!self->ntlm_fallback)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }
      g_debug ("Negotiate: no Kerberos credentials (%s); NTLM", local_error->message);
      if (!fall_back_to_ntlm (self, error))
        return NULL;
    }

  return g_steal_pointer (&self);
}

void
castellan_gss_free (CastellanGss *self)
{
  OM_uint32 minor;

  if (self == NULL)
    return;
  if (self->ctx != GSS_C_NO_CONTEXT)
    gss_delete_sec_context (&minor, &self->ctx, GSS_C_NO_BUFFER);
  if (self->cred != GSS_C_NO_CREDENTIAL && !self->cred_shared)
    gss_release_cred (&minor, &self->cred);
  if (self->target != GSS_C_NO_NAME)
    gss_release_name (&minor, &self->target);
  g_clear_pointer (&self->binding_data, g_bytes_unref);
  g_clear_pointer (&self->credentials, castellan_gss_credentials_unref);
  g_free (self->server_principal);
  g_clear_error (&self->target_error);
  g_free (self->host);
  g_free (self->service);
  g_free (self->user);
  if (self->password != NULL)
    explicit_bzero (self->password, strlen (self->password));
  g_free (self->password);
  g_free (self);
}

/* SPNEGO reports a Kerberos failure as "no mechanism to negotiate". To
 * tell the user what really went wrong (wrong password, no ticket, clock
 * skew, unknown SPN), try Kerberos alone and keep its error. */
static gboolean
diagnose_kerberos (CastellanGss  *self,
                   OM_uint32     *major_out,
                   OM_uint32     *minor_out)
{
  gss_OID_set_desc mechs = { 1, &krb5_oid };
  gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
  gss_ctx_id_t ctx = GSS_C_NO_CONTEXT;
  gss_buffer_desc out = GSS_C_EMPTY_BUFFER;
  gss_name_t name = GSS_C_NO_NAME;
  OM_uint32 major = GSS_S_COMPLETE, minor = 0, ignored;
  gss_OID saved_mech = self->mech;

  if (self->user != NULL)
    {
      gss_buffer_desc buf = { strlen (self->user), self->user };

      major = gss_import_name (&minor, &buf, GSS_C_NT_USER_NAME, &name);
    }
  if (!GSS_ERROR (major) && self->password != NULL)
    {
      gss_buffer_desc pw = { strlen (self->password), self->password };

      major = gss_acquire_cred_with_password (&minor, name, &pw, GSS_C_INDEFINITE, &mechs,
                                              GSS_C_INITIATE, &cred, NULL, NULL);
    }
  if (!GSS_ERROR (major))
    major = gss_init_sec_context (&minor, cred, &ctx, self->target, &krb5_oid, self->req_flags,
                                  GSS_C_INDEFINITE, GSS_C_NO_CHANNEL_BINDINGS, GSS_C_NO_BUFFER,
                                  NULL, &out, NULL, NULL);
  gss_release_buffer (&ignored, &out);
  if (ctx != GSS_C_NO_CONTEXT)
    gss_delete_sec_context (&ignored, &ctx, GSS_C_NO_BUFFER);
  if (cred != GSS_C_NO_CREDENTIAL)
    gss_release_cred (&ignored, &cred);
  if (name != GSS_C_NO_NAME)
    gss_release_name (&ignored, &name);

  self->mech = saved_mech;
  if (!GSS_ERROR (major))
    return FALSE;
  *major_out = major;
  *minor_out = minor;
  return TRUE;
}

/* Moves *p into the DER element at *p, which must have this tag; enough
 * to walk the head of a SPNEGO token. */
static gboolean
der_enter (const guint8  **p,
           const guint8   *end,
           guint8          tag,
           gsize          *length)
{
  const guint8 *q = *p;
  gsize len = 0;

  if (end - q < 2 || *q++ != tag)
    return FALSE;
  if (*q < 0x80)
    len = *q++;
  else
    {
      guint n = *q++ & 0x7f;

      if (n == 0 || n > 4 || (gsize) (end - q) < n)
        return FALSE;
      while (n-- > 0)
        len = (len << 8) | *q++;
    }
  if ((gsize) (end - q) < len)
    return FALSE;
  *p = q;
  *length = len;
  return TRUE;
}

/* Whether a first token carries a Kerberos ticket: a raw Kerberos token,
 * or SPNEGO whose first mechanism, the one its optimistic token is for
 * (RFC 4178), is Kerberos. */
static gboolean
first_token_is_kerberos (CastellanGss *self,
                         GBytes       *token)
{
  /* 1.2.840.48018.1.2.2, the OID Windows used for Kerberos by mistake */
  static const guint8 ms_krb5[] = { 0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02 };
  gsize size, len;
  const guint8 *p = g_bytes_get_data (token, &size);
  const guint8 *end = p + size;

  if (self->mech == &krb5_oid)
    return TRUE;
  if (self->mech != &spnego_oid)
    return FALSE;
  /* [APPLICATION 0] { OID, [0] NegTokenInit { [0] mechTypes { OID, … } } } */
  if (!der_enter (&p, end, 0x60, &len) || !der_enter (&p, end, 0x06, &len))
    return FALSE;
  p += len;
  if (!der_enter (&p, end, 0xa0, &len) || !der_enter (&p, end, 0x30, &len) ||
      !der_enter (&p, end, 0xa0, &len) || !der_enter (&p, end, 0x30, &len) ||
      !der_enter (&p, end, 0x06, &len))
    return FALSE;
  return (len == krb5_oid.length && memcmp (p, krb5_oid.elements, len) == 0) ||
         (len == sizeof ms_krb5 && memcmp (p, ms_krb5, len) == 0);
}

/* A name of the context, as its mechanism displays it: the initiator's
 * ("user@REALM", "DOMAIN\\user") or the target's, the principal that
 * proved the server ("HTTP/host.example.com@EXAMPLE.COM"). */
static char *
context_name (CastellanGss *self,
              gboolean      target)
{
  gss_name_t name = GSS_C_NO_NAME;
  gss_buffer_desc text = GSS_C_EMPTY_BUFFER;
  OM_uint32 minor;
  char *display = NULL;

  if (GSS_ERROR (gss_inquire_context (&minor, self->ctx, target ? NULL : &name,
                                      target ? &name : NULL, NULL, NULL, NULL, NULL, NULL)))
    return NULL;
  if (!GSS_ERROR (gss_display_name (&minor, name, &text, NULL)))
    {
      /* gss-ntlmssp counts a trailing NUL in the length. */
      gsize len = text.length;

      while (len > 0 && ((const char *) text.value)[len - 1] == '\0')
        len--;
      display = g_strndup (text.value, len);
      gss_release_buffer (&minor, &text);
    }
  gss_release_name (&minor, &name);
  return display;
}

/* The credentials' tickets, as the Kerberos library keeps them: the
 * user's cache (the default one, or the one of the collection that holds
 * the user's), or a copy of those acquired with a password. */
static krb5_ccache
open_tickets (CastellanGss *self,
              krb5_context  kc,
              gboolean     *copy)
{
  krb5_ccache cc = NULL;
  OM_uint32 minor;

  *copy = self->password != NULL;
  if (self->password == NULL && self->user != NULL)
    {
      krb5_principal user = NULL;

      if (krb5_parse_name (kc, self->user, &user) == 0 && krb5_cc_cache_match (kc, user, &cc) != 0)
        cc = NULL;
      krb5_free_principal (kc, user);
      return cc;
    }
  if (self->password == NULL)
    return krb5_cc_default (kc, &cc) == 0 ? cc : NULL;
  if (krb5_cc_new_unique (kc, "MEMORY", NULL, &cc) != 0)
    return NULL;
  if (GSS_ERROR (gss_krb5_copy_ccache (&minor, self->cred, cc)))
    {
      krb5_cc_destroy (kc, cc);
      return NULL;
    }
  return cc;
}

static gboolean
krb5_data_is (const krb5_data *data,
              const char      *bytes,
              gsize            length)
{
  return data->length == length && memcmp (data->data, bytes, length) == 0;
}

/* Why Kerberos did not delegate: the TGT cannot be forwarded (kinit -f,
 * forwardable in krb5.conf), or, with the KDC's policy, the service
 * ticket lacks ok-as-delegate (the host is not trusted for delegation). */
static const char *
why_not_delegated (CastellanGss *self)
{
  krb5_context kc = NULL;
  krb5_ccache cc = NULL;
  krb5_principal client = NULL;
  krb5_cc_cursor cursor;
  krb5_creds creds;
  int tgt_forwardable = -1;
  int ok_as_delegate = -1;
  gboolean copy = FALSE;

  if (!self->kerberos)
    return "ntlm";
  if (krb5_init_context (&kc) != 0)
    return "declined";
  cc = open_tickets (self, kc, &copy);
  if (cc != NULL && krb5_cc_get_principal (kc, cc, &client) == 0 &&
      krb5_cc_start_seq_get (kc, cc, &cursor) == 0)
    {
      while (krb5_cc_next_cred (kc, cc, &cursor, &creds) == 0)
        {
          krb5_principal server = creds.server;
          g_autofree char *name = NULL;
          char *unparsed = NULL;

          if (server->length == 2 && krb5_data_is (&server->data[0], KRB5_TGS_NAME, strlen (KRB5_TGS_NAME)) &&
              krb5_data_is (&server->data[1], client->realm.data, client->realm.length) &&
              krb5_data_is (&server->realm, client->realm.data, client->realm.length))
            tgt_forwardable = (creds.ticket_flags & TKT_FLG_FORWARDABLE) != 0;
          else if (self->server_principal != NULL &&
                   krb5_unparse_name (kc, server, &unparsed) == 0)
            {
              name = g_strdup (unparsed);
              krb5_free_unparsed_name (kc, unparsed);
              if (g_ascii_strcasecmp (name, self->server_principal) == 0)
                ok_as_delegate = (creds.ticket_flags & TKT_FLG_OK_AS_DELEGATE) != 0;
            }
          krb5_free_cred_contents (kc, &creds);
        }
      krb5_cc_end_seq_get (kc, cc, &cursor);
    }
  krb5_free_principal (kc, client);
  if (cc != NULL)
    {
      if (copy)
        krb5_cc_destroy (kc, cc);
      else
        krb5_cc_close (kc, cc);
    }
  krb5_free_context (kc);

  if (tgt_forwardable == 0)
    return "not-forwardable";
  if (!self->delegate_always && ok_as_delegate != 1)
    return "not-ok-as-delegate";
  return "declined";
}

/**
 * castellan_gss_step:
 * @in_token: the server's token, or %NULL for the first step
 * @out_token: (out): the token to send, or %NULL when there is none
 *
 * One leg of the exchange. Once the context is complete, the mechanism
 * actually used is known (SPNEGO may have picked Kerberos or NTLM).
 */
gboolean
castellan_gss_step (CastellanGss  *self,
                    const guint8  *in_token,
                    gsize          in_length,
                    GBytes       **out_token,
                    GError       **error)
{
  gss_buffer_desc in = { in_length, (void *) in_token };
  gss_buffer_desc out = GSS_C_EMPTY_BUFFER;
  gss_OID actual_mech = GSS_C_NO_OID;
  OM_uint32 major, minor, release_minor;

  *out_token = NULL;
  major = gss_init_sec_context (&minor, self->cred, &self->ctx, self->target, self->mech,
                                self->req_flags, GSS_C_INDEFINITE,
                                self->has_bindings ? &self->bindings : GSS_C_NO_CHANNEL_BINDINGS,
                                in_token ? &in : GSS_C_NO_BUFFER, &actual_mech, &out,
                                &self->ret_flags, NULL);
  if (out.length > 0)
    *out_token = g_bytes_new (out.value, out.length);
  gss_release_buffer (&release_minor, &out);
  self->steps++;
  self->ticket_sent = self->steps == 1 && !GSS_ERROR (major) && *out_token != NULL &&
                      first_token_is_kerberos (self, *out_token);

  if (GSS_ERROR (major))
    {
      g_clear_pointer (out_token, g_bytes_unref);
      if (in_token == NULL && self->ntlm_fallback)
        {
          g_autofree char *why = status_text (minor != 0 ? minor : major,
                                              minor != 0 ? GSS_C_MECH_CODE : GSS_C_GSS_CODE,
                                              self->mech);

          g_debug ("Negotiate: Kerberos cannot be used (%s); NTLM", why);
          if (!fall_back_to_ntlm (self, error))
            return FALSE;
          return castellan_gss_step (self, NULL, 0, out_token, error);
        }
      if (in_token == NULL && self->mech == &spnego_oid &&
          diagnose_kerberos (self, &major, &minor))
        {
          gss_OID spnego = self->mech;

          self->mech = &krb5_oid;
          set_gss_error (self, error, major, minor, _("authenticating"));
          self->mech = spnego;
          return FALSE;
        }
      set_gss_error (self, error, major, minor, _("authenticating"));
      return FALSE;
    }

  if (major == GSS_S_COMPLETE)
    {
      gss_OID mech = GSS_C_NO_OID;

      self->complete = TRUE;
      if (!GSS_ERROR (gss_inquire_context (&minor, self->ctx, NULL, NULL, NULL, &mech,
                                           NULL, NULL, NULL)))
        self->kerberos = oid_equal (mech, &krb5_oid);
      else
        self->kerberos = oid_equal (actual_mech, &krb5_oid);
      if (self->kerberos)
        self->server_principal = context_name (self, TRUE);
      if (self->delegate_requested && !(self->ret_flags & GSS_C_DELEG_FLAG))
        self->delegation_reason = why_not_delegated (self);
    }
  return TRUE;
}

gboolean
castellan_gss_is_complete (CastellanGss *self)
{
  return self->complete;
}

/* Whether the token last sent is the first of a Kerberos exchange, the
 * one with the ticket: a plain 401 in answer means the host rejected the
 * ticket, not a password. */
gboolean
castellan_gss_sent_ticket (CastellanGss *self)
{
  return self->ticket_sent;
}

/* Kerberos must prove the server: a complete context whose mutual flag is
 * missing proves nothing. NTLM has no such proof to give. */
gboolean
castellan_gss_needs_mutual (CastellanGss *self)
{
  return self->kerberos && !(self->ret_flags & GSS_C_MUTUAL_FLAG);
}

const char *
castellan_gss_http_scheme (CastellanGss *self)
{
  return self->auth == CASTELLAN_AUTH_REQUEST_KERBEROS ? "Kerberos" : "Negotiate";
}

const char *
castellan_gss_protocol (CastellanGss *self)
{
  return self->auth == CASTELLAN_AUTH_REQUEST_KERBEROS
           ? "application/HTTP-Kerberos-session-encrypted"
           : "application/HTTP-SPNEGO-session-encrypted";
}

CastellanAuthMethod
castellan_gss_get_method (CastellanGss *self)
{
  return self->kerberos ? CASTELLAN_AUTH_KERBEROS : CASTELLAN_AUTH_NTLM;
}

const char *
castellan_kerberos_etype_name (int etype)
{
  switch (etype)
    {
    case 16: return "des3-cbc-sha1";
    case 17: return "aes128-cts-hmac-sha1-96";
    case 18: return "aes256-cts-hmac-sha1-96";
    case 19: return "aes128-cts-hmac-sha256-128";
    case 20: return "aes256-cts-hmac-sha384-192";
    case 23: return "rc4-hmac";
    case 24: return "rc4-hmac-exp";
    case 25: return "camellia128-cts-cmac";
    case 26: return "camellia256-cts-cmac";
    default: return NULL;
    }
}

/**
 * castellan_kerberos_etype_from_oid:
 * @oid: the DER contents of the OID MIT returns with the session key,
 *   1.2.840.113554.1.2.2.4.<enctype>
 *
 * Returns: the enctype, the OID's last arc, or -1 when @oid is not of
 *   that form.
 */
int
castellan_kerberos_etype_from_oid (const guint8 *oid,
                                   gsize         length)
{
  /* 1.2.840.113554.1.2.2.4, MIT's GSS_KRB5_SESSION_KEY_ENCTYPE_OID */
  static const guint8 prefix[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x04 };
  guint32 value = 0;
  gsize i;

  if (oid == NULL || length <= sizeof prefix || length > sizeof prefix + 5 ||
      memcmp (oid, prefix, sizeof prefix) != 0 || (oid[length - 1] & 0x80) != 0)
    return -1;
  /* The last arc, base-128 with continuation bits, without leading 0x80. */
  if (oid[sizeof prefix] == 0x80)
    return -1;
  for (i = sizeof prefix; i < length; i++)
    {
      if (i < length - 1 && !(oid[i] & 0x80))
        return -1;
      value = (value << 7) | (oid[i] & 0x7f);
      if (value > G_MAXINT32 >> 7 && i < length - 1)
        return -1;
    }
  return value <= G_MAXINT32 ? (int) value : -1;
}

/* The session key's enctype, read from the context itself: MIT answers
 * GSS_C_INQ_SSPI_SESSION_KEY with the key and an OID whose last arc is
 * the enctype. The key is wiped before it is released. */
static int
session_etype (CastellanGss *self)
{
  gss_buffer_set_t set = GSS_C_NO_BUFFER_SET;
  OM_uint32 major, minor;
  int etype = -1;

  major = gss_inquire_sec_context_by_oid (&minor, self->ctx, GSS_C_INQ_SSPI_SESSION_KEY, &set);
  if (GSS_ERROR (major) || set == GSS_C_NO_BUFFER_SET)
    return -1;
  if (set->count >= 2)
    etype = castellan_kerberos_etype_from_oid (set->elements[1].value, set->elements[1].length);
  for (gsize i = 0; i < set->count; i++)
    if (set->elements[i].value != NULL)
      explicit_bzero (set->elements[i].value, set->elements[i].length);
  gss_release_buffer_set (&minor, &set);
  return etype;
}

char *
castellan_gss_get_encryption (CastellanGss *self)
{
  if (self->kerberos)
    {
      const char *name = castellan_kerberos_etype_name (session_etype (self));

      return g_strconcat ("kerberos-", name ? name : "unknown-etype", NULL);
    }
  /* NTLMv2 session security: RC4 with a 128-bit key. */
  return g_strdup ("ntlm-rc4-128");
}

char *
castellan_gss_get_user (CastellanGss *self)
{
  char *user = context_name (self, FALSE);

  return user ? user : g_strdup (self->user);
}

gboolean
castellan_gss_get_delegated (CastellanGss *self)
{
  return (self->ret_flags & GSS_C_DELEG_FLAG) != 0;
}

/* Why delegation, asked for, did not happen (see CastellanVerdict), or
 * NULL. */
const char *
castellan_gss_get_delegation_reason (CastellanGss *self)
{
  return self->delegation_reason;
}

/**
 * castellan_gss_get_server_principal:
 *
 * Returns: (transfer full) (nullable): the Kerberos principal that proved
 *   the server, with its realm, once the context is complete; %NULL for
 *   NTLM.
 */
char *
castellan_gss_get_server_principal (CastellanGss *self)
{
  return g_strdup (self->server_principal);
}

/**
 * castellan_kerberos_principal_matches:
 * @principal: as Kerberos displays it, "service/host@REALM"
 *
 * Whether @principal names @service on @host: case aside, a trailing dot
 * on either host aside, and whatever its realm.
 */
gboolean
castellan_kerberos_principal_matches (const char *principal,
                                      const char *service,
                                      const char *host)
{
  g_autofree char *want = NULL;
  g_autofree char *got = NULL;
  const char *at;
  const char *slash;
  gsize len;

  g_return_val_if_fail (service != NULL && host != NULL, FALSE);
  if (principal == NULL)
    return FALSE;
  at = strrchr (principal, '@');
  len = at ? (gsize) (at - principal) : strlen (principal);
  slash = memchr (principal, '/', len);
  if (slash == NULL || memchr (slash + 1, '/', len - (slash + 1 - principal)) != NULL ||
      memchr (principal, '\\', len) != NULL)
    return FALSE;
  if ((gsize) (slash - principal) != strlen (service) ||
      g_ascii_strncasecmp (principal, service, slash - principal) != 0)
    return FALSE;
  got = g_strndup (slash + 1, len - (slash + 1 - principal));
  g_strchomp (got);
  while (*got != '\0' && got[strlen (got) - 1] == '.')
    got[strlen (got) - 1] = '\0';
  want = spn_host (host);
  return *want != '\0' && g_ascii_strcasecmp (got, want) == 0;
}

/**
 * castellan_gss_check_target:
 *
 * Once the context is complete: whether the principal Kerberos proved is
 * the SPN asked for. DNS canonicalisation (a host-based name with
 * dns_canonicalize_hostname or rdns in krb5.conf) can turn the name asked
 * for into another host's, and a forged DNS answer can choose which: the
 * proof is then of a server the user never named. To be called right
 * after the context completes, before anything is sent; sealing calls it
 * too. NTLM proves no server, and passes.
 */
gboolean
castellan_gss_check_target (CastellanGss  *self,
                            GError       **error)
{
  g_return_val_if_fail (self != NULL, FALSE);

  if (!self->complete || !self->kerberos)
    return TRUE;
  if (!self->target_checked)
    {
      self->target_checked = TRUE;
      if (self->server_principal == NULL)
        g_set_error (&self->target_error, CASTELLAN_ERROR, CASTELLAN_ERROR_SERVER_PRINCIPAL_MISMATCH,
                     _("Kerberos did not say which principal proved %s, so it cannot be checked against %s/%s. Nothing was sent."),
                     self->host, self->service, self->host);
      else if (!castellan_kerberos_principal_matches (self->server_principal, self->service, self->host))
        g_set_error (&self->target_error, CASTELLAN_ERROR, CASTELLAN_ERROR_SERVER_PRINCIPAL_MISMATCH,
                     _("Kerberos proved the server to be %s, not %s/%s as asked. DNS canonicalisation in krb5.conf (dns_canonicalize_hostname or rdns) or a forged DNS answer turns one name into another: set both to false in krb5.conf, or connect by the name the host is registered under. Nothing was sent."),
                     self->server_principal, self->service, self->host);
    }
  if (self->target_error != NULL)
    {
      g_propagate_error (error, g_error_copy (self->target_error));
      return FALSE;
    }
  return TRUE;
}

/**
 * castellan_gss_describe:
 *
 * Fills in what the security context tells of a connection: the method,
 * who signed in, which principal proved the server, and delegation.
 */
void
castellan_gss_describe (CastellanGss     *self,
                        CastellanVerdict *verdict)
{
  verdict->auth = castellan_gss_get_method (self);
  verdict->delegation = castellan_gss_get_delegated (self);
  g_free (verdict->user);
  verdict->user = castellan_gss_get_user (self);
  g_free (verdict->server_principal);
  verdict->server_principal = castellan_gss_get_server_principal (self);
  verdict->delegation_requested = self->delegate_requested;
  verdict->delegation_forced = self->delegate_always;
  g_free (verdict->delegation_reason);
  verdict->delegation_reason = g_strdup (self->delegation_reason);
}

/**
 * castellan_gss_seal_padding:
 * @padding: (out): how many bytes of padding castellan_gss_seal() puts
 *   after @length bytes of data
 *
 * MS-WSMV's OriginalContent Length counts the padding as Windows does:
 * the Kerberos tokens of RC4-HMAC and DES3 (RFC 4757, RFC 1964) pad the
 * data, AES tokens (RFC 4121) and NTLM do not.
 */
gboolean
castellan_gss_seal_padding (CastellanGss  *self,
                            gsize          length,
                            gsize         *padding,
                            GError       **error)
{
  gss_iov_buffer_desc iov[3] = {
    { GSS_IOV_BUFFER_TYPE_HEADER, GSS_C_EMPTY_BUFFER },
    { GSS_IOV_BUFFER_TYPE_DATA, { length, NULL } },
    { GSS_IOV_BUFFER_TYPE_PADDING, GSS_C_EMPTY_BUFFER },
  };
  OM_uint32 major, minor;
  int conf = 0;

  *padding = 0;
  if (!self->kerberos)
    return TRUE;
  major = gss_wrap_iov_length (&minor, self->ctx, 1, GSS_C_QOP_DEFAULT, &conf, iov, 3);
  if (GSS_ERROR (major))
    {
      set_gss_error (self, error, major, minor, _("encrypting a message"));
      return FALSE;
    }
  *padding = iov[2].buffer.length;
  return TRUE;
}

/**
 * castellan_gss_seal:
 * @body: where the signature length, the signature and the sealed data go
 * @padding: (out): the padding after the data (see
 *   castellan_gss_seal_padding())
 *
 * Kerberos: gss_wrap_iov with a separate header, sealed in place in @body,
 * the padding last. NTLM (gss-ntlmssp has no IOV): gss_wrap, whose 16
 * first bytes are the signature.
 */
gboolean
castellan_gss_seal (CastellanGss  *self,
                    const guint8  *data,
                    gsize          length,
                    GByteArray    *body,
                    gsize         *padding,
                    GError       **error)
{
  OM_uint32 major, minor;
  int conf = 0;

  *padding = 0;
  /* Nothing goes to a server proven under another name. */
  if (!castellan_gss_check_target (self, error))
    return FALSE;

  if (self->kerberos)
    {
      gss_iov_buffer_desc iov[3] = {
        { GSS_IOV_BUFFER_TYPE_HEADER, GSS_C_EMPTY_BUFFER },
        { GSS_IOV_BUFFER_TYPE_DATA, { length, NULL } },
        { GSS_IOV_BUFFER_TYPE_PADDING, GSS_C_EMPTY_BUFFER },
      };
      guint start = body->len;
      guint32 header_len;

      major = gss_wrap_iov_length (&minor, self->ctx, 1, GSS_C_QOP_DEFAULT, &conf, iov, 3);
      if (GSS_ERROR (major))
        goto failed;
      header_len = GUINT32_TO_LE ((guint32) iov[0].buffer.length);
      g_byte_array_append (body, (const guint8 *) &header_len, 4);
      g_byte_array_set_size (body, start + 4 + iov[0].buffer.length + length + iov[2].buffer.length);
      iov[0].buffer.value = body->data + start + 4;
      iov[1].buffer.value = body->data + start + 4 + iov[0].buffer.length;
      iov[2].buffer.value = body->data + start + 4 + iov[0].buffer.length + length;
      memcpy (iov[1].buffer.value, data, length);
      major = gss_wrap_iov (&minor, self->ctx, 1, GSS_C_QOP_DEFAULT, &conf, iov, 3);
      if (GSS_ERROR (major))
        goto failed;
      /* The padding may come out shorter than its bound. */
      g_byte_array_set_size (body, start + 4 + iov[0].buffer.length + length + iov[2].buffer.length);
      *padding = iov[2].buffer.length;
    }
  else
    {
      gss_buffer_desc in = { length, (void *) data };
      gss_buffer_desc out = GSS_C_EMPTY_BUFFER;
      guint32 sig_len = GUINT32_TO_LE (16);

      major = gss_wrap (&minor, self->ctx, 1, GSS_C_QOP_DEFAULT, &in, &conf, &out);
      if (GSS_ERROR (major) || out.length < 16)
        {
          gss_release_buffer (&minor, &out);
          goto failed;
        }
      g_byte_array_append (body, (const guint8 *) &sig_len, 4);
      g_byte_array_append (body, out.value, out.length);
      gss_release_buffer (&minor, &out);
    }

  if (!conf)
    {
      g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_SEALING_FAILED,
                   _("The security context cannot encrypt messages; nothing was sent."));
      return FALSE;
    }
  return TRUE;

failed:
  set_gss_error (self, error, major, minor, _("encrypting a message"));
  return FALSE;
}

/**
 * castellan_kerberos_padding:
 * @data: the decrypted data of an RFC 1964 style wrap token (RC4-HMAC,
 *   DES3), padding included
 * @padding: (out): its padding
 *
 * The padding ends the data: 1 to 8 bytes, each holding the count.
 *
 * Returns: whether the padding is well formed.
 */
gboolean
castellan_kerberos_padding (const guint8 *data,
                            gsize         length,
                            gsize        *padding)
{
  guint8 n;

  *padding = 0;
  if (length == 0)
    return FALSE;
  n = data[length - 1];
  if (n == 0 || n > 8 || n > length)
    return FALSE;
  for (gsize i = length - n; i < length; i++)
    if (data[i] != n)
      return FALSE;
  *padding = n;
  return TRUE;
}

static void
release_gss_buffer (gpointer data)
{
  OM_uint32 minor;

  gss_release_buffer (&minor, data);
  g_free (data);
}

/**
 * castellan_gss_unseal:
 * @body: holds the signature at @offset, directly followed by the sealed
 *   data; its bytes are decrypted in place, so the caller lends a body
 *   nothing else reads
 *
 * @padding: (out): the padding found after the plaintext and removed
 *
 * Returns: (transfer full): the plaintext, without a copy (Kerberos: a
 *   slice of @body; NTLM: the mechanism's own buffer), or %NULL when the
 *   message does not open with this context or was not encrypted.
 */
GBytes *
castellan_gss_unseal (CastellanGss  *self,
                      GBytes        *body,
                      gsize          offset,
                      gsize          signature_length,
                      gsize          sealed_length,
                      gsize         *padding,
                      GError       **error)
{
  OM_uint32 major, minor;
  int conf = 0;
  GBytes *plain = NULL;
  guint8 *signature = (guint8 *) g_bytes_get_data (body, NULL) + offset;

  g_return_val_if_fail (offset + signature_length + sealed_length <= g_bytes_get_size (body), NULL);

  if (self->kerberos)
    {
      gss_iov_buffer_desc iov[3] = {
        { GSS_IOV_BUFFER_TYPE_HEADER, { signature_length, signature } },
        { GSS_IOV_BUFFER_TYPE_DATA, { sealed_length, signature + signature_length } },
        { GSS_IOV_BUFFER_TYPE_DATA, GSS_C_EMPTY_BUFFER },
      };

      /* The second data buffer stands where the padding would: MIT then
       * leaves an RFC 1964 token's padding (RC4, DES3) at the end of the
       * data, where castellan_kerberos_padding() finds it. */
      *padding = 0;
      major = gss_unwrap_iov (&minor, self->ctx, &conf, NULL, iov, 3);
      if (!GSS_ERROR (major) && signature_length > 0 && signature[0] == 0x60 &&
          !castellan_kerberos_padding (iov[1].buffer.value, iov[1].buffer.length, padding))
        major = GSS_S_BAD_SIG;
      if (!GSS_ERROR (major))
        plain = g_bytes_new_from_bytes (body, (guint8 *) iov[1].buffer.value - signature + offset,
                                        iov[1].buffer.length - *padding);
    }
  else
    {
      gss_buffer_desc in = { signature_length + sealed_length, signature };
      gss_buffer_t out = g_new0 (gss_buffer_desc, 1);

      *padding = 0;
      major = gss_unwrap (&minor, self->ctx, &in, out, &conf, NULL);
      if (!GSS_ERROR (major))
        plain = g_bytes_new_with_free_func (out->value, out->length, release_gss_buffer, out);
      else
        release_gss_buffer (out);
    }

  if (GSS_ERROR (major))
    {
      g_autofree char *detail = status_text (major, GSS_C_GSS_CODE, GSS_C_NO_OID);

      g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_SEALING_FAILED,
                   _("A reply from %s failed its integrity check (%s): it was altered on the way or does not come from the authenticated server. It was discarded."),
                   self->host, detail);
      return NULL;
    }
  if (!conf)
    {
      g_bytes_unref (plain);
      g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_SEALING_FAILED,
                   _("A reply from %s was signed but not encrypted while encryption is required. It was discarded."),
                   self->host);
      return NULL;
    }
  return plain;
}
