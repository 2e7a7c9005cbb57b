/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <libsoup/soup.h>
#include <string.h>

#include "castellan-connection-private.h"
#include "castellan-error.h"
#include "castellan-gss.h"

/* Kerberos's usual limit (Windows: MaxClockSkew), in microseconds. */
#define KERBEROS_MAX_SKEW (5 * G_TIME_SPAN_MINUTE)

/* ---- Authentication -------------------------------------------------- */

/* Sign-ins restarted because the host closed the connection during one. */
#define MAX_RESTARTS 3

typedef struct
{
  GBytes *empty;
  GBytes *binding;                /* the channel binding the context carries */
  guint64 token_connection;       /* where the first token went, then the rest */
  gboolean restart;               /* the connection changed mid-way */
  guint restarts;
} AuthData;

static void
auth_data_free (AuthData *data)
{
  g_clear_pointer (&data->empty, g_bytes_unref);
  g_clear_pointer (&data->binding, g_bytes_unref);
  g_free (data);
}

static void send_auth_token (GTask *task, GBytes *token);
static void start_over (GTask *task);
static gboolean start_authentication (GTask *task, GError **error);

/* The parameters of the WWW-Authenticate challenge for scheme ("" when it
 * has none), or NULL when the response does not offer the scheme. */
static char *
find_challenge (const CastellanExchangeReply *reply,
                const char                   *scheme)
{
  const char *value = reply->www_authenticate;
  g_auto(GStrv) parts = value ? g_strsplit (value, ",", -1) : NULL;
  gsize slen = strlen (scheme);

  for (guint i = 0; parts && parts[i] != NULL; i++)
    {
      char *part = g_strstrip (parts[i]);

      if (g_ascii_strncasecmp (part, scheme, slen) == 0 && (part[slen] == '\0' || part[slen] == ' '))
        return g_strdup (g_strchug (part + slen));
    }
  return NULL;
}

static char *
response_token (const CastellanExchangeReply *reply,
                const char                   *scheme,
                gsize                        *length)
{
  g_autofree char *challenge = find_challenge (reply, scheme);

  *length = 0;
  if (challenge == NULL || *challenge == '\0')
    return NULL;
  return (char *) g_base64_decode (challenge, length);
}

static gboolean
offers_scheme (const CastellanExchangeReply *reply,
               const char                   *scheme)
{
  g_autofree char *challenge = find_challenge (reply, scheme);

  return challenge != NULL;
}

/* The connection @reply came on is the one the session now uses. */
static void
authenticated (GTask                        *task,
               const CastellanExchangeReply *reply)
{
  CastellanConnection *self = g_task_get_source_object (task);
  guint64 id = reply->connection_id;
  CastellanLink bare = { .id = id };

  /* Over HTTP, a reused connection may not have been seen opening. */
  self->link = castellan_connection_note_link (self, &bare);
  if (self->options->endpoint->https && self->link->certificate == NULL)
    {
      g_task_return_new_error (task, CASTELLAN_ERROR, CASTELLAN_ERROR_BAD_CERTIFICATE,
                               _("The TLS details of the connection to %s are unknown, so its security cannot be judged. Nothing was sent."),
                               self->options->endpoint->host);
      return;
    }
  self->authenticated = TRUE;
  self->auth_count++;
  g_debug ("authenticated on connection %" G_GUINT64_FORMAT, id);
  g_task_return_boolean (task, TRUE);
}

/* A host that rejects a Kerberos ticket answers a plain 401. Its clock
 * (the Date header) tells the most common cause apart. */
static GError *
ticket_rejected (CastellanConnection          *self,
                 const CastellanExchangeReply *reply)
{
  const char *host = self->options->endpoint->host;
  const char *date = reply->date;
  g_autoptr(GDateTime) theirs = date ? soup_date_time_new_from_http_string (date) : NULL;
  g_autoptr(GDateTime) ours = g_date_time_new_now_utc ();
  GTimeSpan skew = theirs ? g_date_time_difference (theirs, ours) : 0;

  if (ABS (skew) > KERBEROS_MAX_SKEW)
    {
      gulong minutes = (gulong) ((ABS (skew) + G_TIME_SPAN_MINUTE / 2) / G_TIME_SPAN_MINUTE);

      return g_error_new (CASTELLAN_ERROR, CASTELLAN_ERROR_CLOCK_SKEW,
                          g_dngettext (GETTEXT_PACKAGE,
                                       "The clocks of %s and of this computer differ by %lu minute, more than Kerberos allows (usually 5), so the host rejected the ticket. Synchronise both with the domain’s time (NTP) and try again.",
                                       "The clocks of %s and of this computer differ by %lu minutes, more than Kerberos allows (usually 5), so the host rejected the ticket. Synchronise both with the domain’s time (NTP) and try again.",
                                       minutes),
                          host, minutes);
    }
  return g_error_new (CASTELLAN_ERROR, CASTELLAN_ERROR_AUTH_FAILED,
                      _("%s rejected the Kerberos ticket. Check that its clock and the domain controllers’ agree within 5 minutes (NTP); otherwise its service key may not match the KDC’s (a host rejoined to the domain?), or the SPN belongs to another machine."),
                      host);
}

/* A connection libsoup opened for a message of the sign-in, before the
 * message goes out: a probe or Basic may take any (TLS has validated it);
 * the first token only one whose channel binding is the one it carries;
 * later tokens none, since the context belongs to the first token's. */
static gboolean
admit_auth (const CastellanLink  *link,
            gpointer              user_data,
            GError              **error)
{
  GTask *task = user_data;
  CastellanConnection *self = g_task_get_source_object (task);
  AuthData *data = g_task_get_task_data (task);

  castellan_connection_note_link (self, link);
  if (self->gss == NULL)
    return TRUE;
  if (data->token_connection == 0 &&
      (data->binding == NULL || (link->channel_binding != NULL &&
                                 g_bytes_equal (data->binding, link->channel_binding))))
    return TRUE;
  data->restart = TRUE;
  g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_CONNECTION_LOST,
               _("%s closed the connection during sign-in."), self->options->endpoint->host);
  return FALSE;
}

static void
auth_exchange (GTask               *task,
               const char          *authorization,
               GAsyncReadyCallback  callback)
{
  CastellanConnection *self = g_task_get_source_object (task);
  AuthData *data = g_task_get_task_data (task);
  g_autoptr(SoupMessage) msg = castellan_connection_new_message (self, data->empty, SOAP_CONTENT_TYPE,
                                                                 authorization);
  CastellanExchangeOptions options;

  castellan_connection_exchange_options (self, self->options->request_timeout, &options);
  options.admit = admit_auth;
  options.admit_data = task;
  castellan_exchange_send_async (self->session, msg, &options, g_task_get_cancellable (task),
                                 callback, task);
}

/* The reply of an exchange of the sign-in, or NULL once handled: a
 * connection that changed mid-way starts the sign-in over. */
static CastellanExchangeReply *
auth_reply (GTask        *task,
            GAsyncResult *result)
{
  CastellanConnection *self = g_task_get_source_object (task);
  AuthData *data = g_task_get_task_data (task);
  GError *error = NULL;
  CastellanExchangeReply *reply = castellan_exchange_send_finish (result, NULL, NULL, &error);

  if (reply != NULL && data->token_connection != 0 && reply->connection_id != data->token_connection)
    data->restart = TRUE;
  if (data->restart)
    {
      g_clear_error (&error);
      g_clear_pointer (&reply, castellan_exchange_reply_free);
      if (data->restarts < MAX_RESTARTS)
        {
          start_over (task);
          return NULL;
        }
      /* A reply from another connection than the context's is never
       * taken, however often the host switched. */
      error = g_error_new (CASTELLAN_ERROR, CASTELLAN_ERROR_CONNECTION_LOST,
                           _("%s closed the connection during sign-in."),
                           self->options->endpoint->host);
    }
  if (reply == NULL)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
    }
  return reply;
}

static void
fail (GTask  *task,
      GError *error)
{
  g_task_return_error (task, error);
  g_object_unref (task);
}

static void
gss_token_response (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  GTask *task = user_data;
  CastellanConnection *self = g_task_get_source_object (task);
  AuthData *data = g_task_get_task_data (task);
  g_autoptr(CastellanExchangeReply) reply = NULL;
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *token = NULL;
  const char *scheme = castellan_gss_http_scheme (self->gss);
  const char *host = self->options->endpoint->host;
  gsize token_len;
  guint status;

  reply = auth_reply (task, result);
  if (reply == NULL)
    return;
  data->token_connection = reply->connection_id;
  status = reply->status;
  token = response_token (reply, scheme, &token_len);

  if (status == SOUP_STATUS_UNAUTHORIZED && token != NULL && !castellan_gss_is_complete (self->gss))
    {
      if (!castellan_gss_step (self->gss, (const guint8 *) token, token_len, &out, &error))
        {
          fail (task, g_steal_pointer (&error));
          return;
        }
      if (out != NULL)
        {
          send_auth_token (task, out);
          return;
        }
    }

  if (status == SOUP_STATUS_UNAUTHORIZED)
    {
      if (!offers_scheme (reply, scheme))
        fail (task, g_error_new (CASTELLAN_ERROR, CASTELLAN_ERROR_AUTH_FAILED,
                                 _("%s does not offer %s authentication. Choose a method it offers (castellan-run --probe lists them)."),
                                 host, scheme));
      /* A ticket the KDC issued proves the password right: the host
       * refused the ticket for another reason. */
      else if (castellan_gss_sent_ticket (self->gss))
        fail (task, ticket_rejected (self, reply));
      else
        fail (task, g_error_new (CASTELLAN_ERROR, CASTELLAN_ERROR_CREDENTIALS_REJECTED,
                                 _("%s rejected the credentials%s%s. Check the user name (DOMAIN\\user or user@REALM) and the password."),
                                 host, self->options->user ? _(" of ") : "",
                                 self->options->user ? self->options->user : ""));
      return;
    }

  if (status != SOUP_STATUS_OK)
    {
      fail (task, g_error_new (CASTELLAN_ERROR, CASTELLAN_ERROR_HTTP_STATUS,
                               _("%s answered authentication with HTTP %u %s."), host, status,
                               reply->reason ? reply->reason : ""));
      return;
    }

  /* 200: Kerberos must now prove the server with its final token. */
  if (!castellan_gss_is_complete (self->gss))
    {
      if (token == NULL)
        {
          fail (task, g_error_new (CASTELLAN_ERROR, CASTELLAN_ERROR_MUTUAL_AUTH_FAILED,
                                   _("%s accepted the login but sent no proof of its own identity (the Kerberos mutual-authentication token is missing). Nothing was sent; the server is not proven. This can be an impostor."),
                                   host));
          return;
        }
      if (!castellan_gss_step (self->gss, (const guint8 *) token, token_len, &out, &error) ||
          !castellan_gss_is_complete (self->gss))
        {
          fail (task, g_error_new (CASTELLAN_ERROR, CASTELLAN_ERROR_MUTUAL_AUTH_FAILED,
                                   _("The proof of identity sent by %s is not valid (%s). Nothing was sent; the server is not proven. This can be an impostor."),
                                   host, error ? error->message : _("incomplete")));
          return;
        }
    }
  if (castellan_gss_needs_mutual (self->gss))
    {
      fail (task, g_error_new (CASTELLAN_ERROR, CASTELLAN_ERROR_MUTUAL_AUTH_FAILED,
                               _("Kerberos did not prove the identity of %s (no mutual authentication). Nothing was sent."),
                               host));
      return;
    }
  /* Proven, but which principal? DNS may have renamed the one asked for. */
  if (!castellan_gss_check_target (self->gss, &error))
    {
      fail (task, g_steal_pointer (&error));
      return;
    }
  authenticated (task, reply);
  g_object_unref (task);
}

static void
send_auth_token (GTask  *task,
                 GBytes *token)
{
  CastellanConnection *self = g_task_get_source_object (task);
  g_autofree char *b64 = g_base64_encode (g_bytes_get_data (token, NULL), g_bytes_get_size (token));
  g_autofree char *header = g_strdup_printf ("%s %s", castellan_gss_http_scheme (self->gss), b64);

  auth_exchange (task, header, gss_token_response);
}

static void
basic_response (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  GTask *task = user_data;
  CastellanConnection *self = g_task_get_source_object (task);
  g_autoptr(CastellanExchangeReply) reply = auth_reply (task, result);

  if (reply == NULL)
    return;
  if (reply->status == SOUP_STATUS_UNAUTHORIZED)
    g_task_return_new_error (task, CASTELLAN_ERROR, CASTELLAN_ERROR_CREDENTIALS_REJECTED,
                             offers_scheme (reply, "Basic")
                               ? _("%s rejected the user name or password. Basic authentication works with local accounts only.")
                               : _("%s does not accept Basic authentication. Use Negotiate or Kerberos."),
                             self->options->endpoint->host);
  else if (reply->status != SOUP_STATUS_OK)
    g_task_return_new_error (task, CASTELLAN_ERROR, CASTELLAN_ERROR_HTTP_STATUS,
                             _("%s answered authentication with HTTP %u %s."),
                             self->options->endpoint->host, reply->status,
                             reply->reason ? reply->reason : "");
  else
    authenticated (task, reply);
  g_object_unref (task);
}

/* The first token may need the KDC (a ticket, or a sign-in with a
 * password), which may take long to answer or not answer at all: it is
 * made in a worker thread, so that the caller's main loop (a window) never
 * waits on it. */
typedef struct
{
  CastellanGssOptions options;   /* strings below are copies */
  CastellanGss *gss;
  GBytes *token;
} FirstStep;

static void
first_step_free (FirstStep *step)
{
  g_free ((char *) step->options.service);
  g_free ((char *) step->options.host);
  g_free ((char *) step->options.user);
  if (step->options.password != NULL)
    explicit_bzero ((char *) step->options.password, strlen (step->options.password));
  g_free ((char *) step->options.password);
  g_clear_pointer (&step->options.channel_binding, g_bytes_unref);
  g_clear_pointer (&step->options.credentials, castellan_gss_credentials_unref);
  g_clear_pointer (&step->gss, castellan_gss_free);
  g_clear_pointer (&step->token, g_bytes_unref);
  g_free (step);
}

static void
first_step_thread (GTask        *step_task,
                   gpointer      source,
                   gpointer      task_data,
                   GCancellable *cancellable)
{
  FirstStep *step = task_data;
  GError *error = NULL;

  step->gss = castellan_gss_new (&step->options, &error);
  if (step->gss == NULL || !castellan_gss_step (step->gss, NULL, 0, &step->token, &error))
    g_task_return_error (step_task, error);
  else
    g_task_return_boolean (step_task, TRUE);
}

static void
first_step_done (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  CastellanConnection *self = CASTELLAN_CONNECTION (source);
  FirstStep *step = g_task_get_task_data (G_TASK (result));
  GError *error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_task_return_error (task, error);
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    return;
  if (step->token == NULL)
    {
      g_task_return_new_error (task, CASTELLAN_ERROR, CASTELLAN_ERROR_AUTH_FAILED,
                               _("The security mechanism produced no token to send."));
      return;
    }
  g_clear_pointer (&self->gss, castellan_gss_free);
  self->gss = g_steal_pointer (&step->gss);
  send_auth_token (g_steal_pointer (&task), step->token);
}

static void
first_step_async (CastellanConnection       *self,
                  const CastellanGssOptions *options,
                  GTask                     *task)
{
  g_autoptr(GTask) step_task = g_task_new (self, g_task_get_cancellable (task),
                                           first_step_done, g_object_ref (task));
  FirstStep *step = g_new0 (FirstStep, 1);

  step->options = *options;
  step->options.service = g_strdup (options->service);
  step->options.host = g_strdup (options->host);
  step->options.user = g_strdup (options->user);
  step->options.password = g_strdup (options->password);
  if (options->channel_binding != NULL)
    step->options.channel_binding = g_bytes_ref (options->channel_binding);
  if (options->credentials != NULL)
    step->options.credentials = castellan_gss_credentials_ref (options->credentials);
  g_task_set_task_data (step_task, step, (GDestroyNotify) first_step_free);
  g_task_run_in_thread (step_task, first_step_thread);
}

static gboolean
start_authentication (GTask   *task,
                      GError **error)
{
  CastellanConnection *self = g_task_get_source_object (task);
  CastellanConnectOptions *o = self->options;
  AuthData *data = g_task_get_task_data (task);
  CastellanGssOptions gss_options = { 0 };

  g_clear_pointer (&self->gss, castellan_gss_free);
  if (o->auth == CASTELLAN_AUTH_REQUEST_BASIC)
    {
      g_autofree char *pair = NULL;
      g_autofree char *b64 = NULL;

      if (o->user == NULL || o->password == NULL)
        {
          g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_NO_CREDENTIALS,
                       _("Basic authentication needs a user name and a password."));
          return FALSE;
        }
      pair = g_strconcat (o->user, ":", o->password, NULL);
      b64 = g_base64_encode ((const guchar *) pair, strlen (pair));
      explicit_bzero (pair, strlen (pair));
      castellan_connection_wipe (&self->basic_header);
      self->basic_header = g_strconcat ("Basic ", b64, NULL);
      explicit_bzero (b64, strlen (b64));
      auth_exchange (g_object_ref (task), self->basic_header, basic_response);
      return TRUE;
    }

  gss_options.auth = o->auth;
  gss_options.service = o->spn_service;
  gss_options.host = o->endpoint->host;
  gss_options.user = o->user;
  gss_options.password = o->password;
  gss_options.delegate = o->delegate;
  gss_options.delegate_always = o->delegate_always;
  gss_options.ntlm_allowed = self->decision.ntlm_allowed;
  gss_options.channel_binding = data->binding;
  gss_options.credentials = o->credentials;
  first_step_async (self, &gss_options, task);
  return TRUE;
}

/* The probe's connection: its certificate gives the channel binding that
 * the first token carries. */
static void
probe_response (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  GTask *task = user_data;
  CastellanConnection *self = g_task_get_source_object (task);
  AuthData *data = g_task_get_task_data (task);
  g_autoptr(CastellanExchangeReply) reply = auth_reply (task, result);
  const CastellanLink *link;
  guint64 id;
  GError *error = NULL;

  if (reply == NULL)
    return;
  id = reply->connection_id;
  link = g_hash_table_lookup (self->links, &id);
  if (link == NULL || link->certificate == NULL)
    error = g_error_new (CASTELLAN_ERROR, CASTELLAN_ERROR_BAD_CERTIFICATE,
                         _("The TLS details of the connection to %s are unknown, so its security cannot be judged. Nothing was sent."),
                         self->options->endpoint->host);
  else if (link->channel_binding != NULL)
    data->binding = g_bytes_ref (link->channel_binding);
  if (error != NULL || !start_authentication (task, &error))
    g_task_return_error (task, error);
  g_object_unref (task);
}

/* Takes the task's reference. Over HTTPS the certificate is needed before
 * the first token, for the channel binding: an empty request without
 * credentials fetches it (and fails on a certificate that does not
 * validate, or, with a pin, is not the pinned one). */
static void
begin (GTask *task)
{
  CastellanConnection *self = g_task_get_source_object (task);
  GError *error = NULL;

  if (self->options->endpoint->https)
    {
      auth_exchange (task, NULL, probe_response);
      return;
    }
  if (!start_authentication (task, &error))
    g_task_return_error (task, error);
  g_object_unref (task);
}

/* The host closed the connection in the middle of the sign-in: again,
 * from the start, on the next one. */
static void
start_over (GTask *task)
{
  CastellanConnection *self = g_task_get_source_object (task);
  AuthData *data = g_task_get_task_data (task);

  g_debug ("sign-in: the connection changed; starting over");
  data->restarts++;
  data->restart = FALSE;
  data->token_connection = 0;
  g_clear_pointer (&data->binding, g_bytes_unref);
  g_clear_pointer (&self->gss, castellan_gss_free);
  begin (task);
}

void
castellan_connection_authenticate_async (CastellanConnection *self,
                                         GCancellable        *cancellable,
                                         GAsyncReadyCallback  callback,
                                         gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  AuthData *data = g_new0 (AuthData, 1);

  g_task_set_source_tag (task, castellan_connection_authenticate_async);
  data->empty = g_bytes_new_static ("", 0);
  g_task_set_task_data (task, data, (GDestroyNotify) auth_data_free);
  self->authenticated = FALSE;
  self->authenticating = TRUE;
  begin (task);
}

gboolean
castellan_connection_authenticate_finish (CastellanConnection  *self,
                                          GAsyncResult         *result,
                                          GError              **error)
{
  self->authenticating = FALSE;
  return g_task_propagate_boolean (G_TASK (result), error);
}
