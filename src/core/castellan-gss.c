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
      key = g_strdup_printf ("%d:%d:%s", options->auth, restrict_to_kerberos,
                             options->user ? options->user : "");
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

CastellanGss *
castellan_gss_new (const CastellanGssOptions  *options,
                   GError                    **error)
{
  g_autoptr(CastellanGss) self = g_new0 (CastellanGss, 1);
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
      self->mech = &spnego_oid;
      break;
    }

  self->req_flags = GSS_C_MUTUAL_FLAG | GSS_C_CONF_FLAG | GSS_C_INTEG_FLAG |
                    GSS_C_SEQUENCE_FLAG | GSS_C_REPLAY_FLAG;
  if (options->delegate)
    self->req_flags |= GSS_C_DELEG_FLAG;

  target = g_strdup_printf ("%s@%s", self->service, self->host);
  buf.value = target;
  buf.length = strlen (target);
  major = gss_import_name (&minor, &buf, GSS_C_NT_HOSTBASED_SERVICE, &self->target);
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

  if (!acquire_credentials (self, options, error))
    return NULL;

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
  if (set->count >= 2 && set->elements[1].length > 0)
    {
      const guint8 *oid = set->elements[1].value;
      gsize len = set->elements[1].length;
      gsize start = len - 1;
      int value = 0;

      /* The last arc, base-128 with continuation bits. */
      while (start > 0 && (oid[start - 1] & 0x80))
        start--;
      for (gsize i = start; i < len; i++)
        value = (value << 7) | (oid[i] & 0x7f);
      etype = value;
    }
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
  gss_name_t src = GSS_C_NO_NAME;
  gss_buffer_desc text = GSS_C_EMPTY_BUFFER;
  OM_uint32 minor;
  char *user = NULL;

  if (GSS_ERROR (gss_inquire_context (&minor, self->ctx, &src, NULL, NULL, NULL, NULL, NULL, NULL)))
    return g_strdup (self->user);
  if (!GSS_ERROR (gss_display_name (&minor, src, &text, NULL)))
    {
      /* gss-ntlmssp counts a trailing NUL in the length. */
      gsize len = text.length;

      while (len > 0 && ((const char *) text.value)[len - 1] == '\0')
        len--;
      user = g_strndup (text.value, len);
      gss_release_buffer (&minor, &text);
    }
  gss_release_name (&minor, &src);
  return user ? user : g_strdup (self->user);
}

gboolean
castellan_gss_get_delegated (CastellanGss *self)
{
  return (self->ret_flags & GSS_C_DELEG_FLAG) != 0;
}

/**
 * castellan_gss_seal:
 * @body: where the signature length, the signature and the sealed data go
 *
 * Kerberos: gss_wrap_iov with a separate header, sealed in place in @body.
 * NTLM (gss-ntlmssp has no IOV): gss_wrap, whose 16 first bytes are the
 * signature.
 */
gboolean
castellan_gss_seal (CastellanGss  *self,
                    const guint8  *data,
                    gsize          length,
                    GByteArray    *body,
                    GError       **error)
{
  OM_uint32 major, minor;
  int conf = 0;

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

      major = gss_unwrap_iov (&minor, self->ctx, &conf, NULL, iov, 3);
      if (!GSS_ERROR (major))
        plain = g_bytes_new_from_bytes (body, (guint8 *) iov[1].buffer.value - signature + offset,
                                        iov[1].buffer.length);
    }
  else
    {
      gss_buffer_desc in = { signature_length + sealed_length, signature };
      gss_buffer_t out = g_new0 (gss_buffer_desc, 1);

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
