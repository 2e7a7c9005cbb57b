/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#include <krb5/krb5.h>
#include <string.h>

#include "castellan-error.h"
#include "castellan-ticket.h"

void
castellan_ticket_free (CastellanTicket *self)
{
  if (self == NULL)
    return;
  g_free (self->principal);
  g_free (self);
}

/**
 * castellan_ticket_read:
 *
 * Returns: (transfer full): the default cache's principal and the expiry
 *   of its ticket-granting ticket, or %NULL with
 *   %CASTELLAN_ERROR_NO_CREDENTIALS when there is none.
 */
CastellanTicket *
castellan_ticket_read (GError **error)
{
  krb5_context ctx = NULL;
  krb5_ccache cache = NULL;
  krb5_principal principal = NULL;
  krb5_cc_cursor cursor;
  krb5_creds creds;
  char *name = NULL;
  CastellanTicket *ticket = NULL;

  if (krb5_init_context (&ctx) != 0)
    {
      g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_NO_CREDENTIALS,
                   _("Kerberos is not configured on this computer (krb5.conf)."));
      return NULL;
    }
  if (krb5_cc_default (ctx, &cache) != 0 ||
      krb5_cc_get_principal (ctx, cache, &principal) != 0 ||
      krb5_unparse_name (ctx, principal, &name) != 0)
    {
      g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_NO_CREDENTIALS,
                   _("No Kerberos ticket. Sign in to use Kerberos without a password."));
      goto out;
    }
  ticket = g_new0 (CastellanTicket, 1);
  ticket->principal = g_strdup (name);
  if (krb5_cc_start_seq_get (ctx, cache, &cursor) == 0)
    {
      while (krb5_cc_next_cred (ctx, cache, &cursor, &creds) == 0)
        {
          char *server = NULL;

          if (krb5_unparse_name (ctx, creds.server, &server) == 0 &&
              g_str_has_prefix (server, "krbtgt/"))
            ticket->expires = MAX (ticket->expires, (gint64) creds.times.endtime);
          krb5_free_unparsed_name (ctx, server);
          krb5_free_cred_contents (ctx, &creds);
        }
      krb5_cc_end_seq_get (ctx, cache, &cursor);
    }

out:
  krb5_free_unparsed_name (ctx, name);
  if (principal != NULL)
    krb5_free_principal (ctx, principal);
  if (cache != NULL)
    krb5_cc_close (ctx, cache);
  krb5_free_context (ctx);
  return ticket;
}

typedef struct
{
  char *principal;
  char *password;
} SignIn;

static void
sign_in_free (SignIn *s)
{
  g_free (s->principal);
  if (s->password != NULL)
    explicit_bzero (s->password, strlen (s->password));
  g_free (s->password);
  g_free (s);
}

/* In a worker thread: the AS exchange blocks on the network. */
static void
sign_in_thread (GTask        *task,
                gpointer      source,
                gpointer      task_data,
                GCancellable *cancellable)
{
  SignIn *s = task_data;
  gss_buffer_desc name_buf = { strlen (s->principal), s->principal };
  gss_buffer_desc pw = { strlen (s->password), s->password };
  gss_OID_set_desc mechs = { 1, (gss_OID) gss_mech_krb5 };
  gss_name_t name = GSS_C_NO_NAME;
  gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
  OM_uint32 major, minor, ignored;

  major = gss_import_name (&minor, &name_buf, GSS_C_NT_USER_NAME, &name);
  if (!GSS_ERROR (major))
    major = gss_acquire_cred_with_password (&minor, name, &pw, GSS_C_INDEFINITE, &mechs,
                                            GSS_C_INITIATE, &cred, NULL, NULL);
  if (!GSS_ERROR (major))
    major = gss_store_cred (&minor, cred, GSS_C_INITIATE, (gss_OID) gss_mech_krb5,
                            1, 1, NULL, NULL);
  if (cred != GSS_C_NO_CREDENTIAL)
    gss_release_cred (&ignored, &cred);
  if (name != GSS_C_NO_NAME)
    gss_release_name (&ignored, &name);

  if (GSS_ERROR (major))
    {
      const char *why = (krb5_error_code) minor == KRB5KDC_ERR_PREAUTH_FAILED
                          ? _("the password is wrong")
                        : (krb5_error_code) minor == KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN
                          ? _("the KDC does not know this user")
                        : (krb5_error_code) minor == KRB5_KDC_UNREACH
                          ? _("no KDC of the realm answered")
                        : (krb5_error_code) minor == KRB5KRB_AP_ERR_SKEW
                          ? _("this computer’s clock is too far off")
                          : _("Kerberos refused it");

      g_task_return_new_error (task, CASTELLAN_ERROR, CASTELLAN_ERROR_CREDENTIALS_REJECTED,
                               _("Could not sign in as %s: %s."), s->principal, why);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

/* Gets a ticket from a password, through GSSAPI, into the default cache. */
void
castellan_ticket_sign_in_async (const char          *principal,
                                const char          *password,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  SignIn *s = g_new0 (SignIn, 1);

  s->principal = g_strdup (principal);
  s->password = g_strdup (password);
  g_task_set_source_tag (task, castellan_ticket_sign_in_async);
  g_task_set_task_data (task, s, (GDestroyNotify) sign_in_free);
  g_task_run_in_thread (task, sign_in_thread);
}

gboolean
castellan_ticket_sign_in_finish (GAsyncResult  *result,
                                 GError       **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Signing out destroys the default credential cache, as kdestroy does. */
gboolean
castellan_ticket_sign_out (GError **error)
{
  krb5_context ctx = NULL;
  krb5_ccache cache = NULL;
  krb5_error_code code;

  if (krb5_init_context (&ctx) != 0)
    {
      g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_FAILED,
                   _("Kerberos is not configured on this computer (krb5.conf)."));
      return FALSE;
    }
  code = krb5_cc_default (ctx, &cache);
  if (code == 0)
    code = krb5_cc_destroy (ctx, cache);
  if (code != 0)
    {
      const char *why = krb5_get_error_message (ctx, code);

      g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_FAILED,
                   _("The Kerberos ticket could not be removed: %s"), why);
      krb5_free_error_message (ctx, why);
    }
  krb5_free_context (ctx);
  return code == 0;
}
