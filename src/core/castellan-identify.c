/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <libsoup/soup.h>
#include <string.h>

#include "castellan-error.h"
#include "castellan-exchange.h"
#include "castellan-identify.h"
#include "castellan-net-error.h"
#include "castellan-tls.h"
#include "castellan-xml.h"

#define IDENTIFY_NS "http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"
#define SOAP_NS "http://www.w3.org/2003/05/soap-envelope"
#define IDENTIFY_MAX_REPLY (64 * 1024)
#define IDENTIFY_TIMEOUT_SECONDS 15

static const char identify_request[] =
  "<s:Envelope xmlns:s=\"" SOAP_NS "\" xmlns:wsmid=\"" IDENTIFY_NS "\">"
  "<s:Header/><s:Body><wsmid:Identify/></s:Body></s:Envelope>";

typedef struct
{
  CastellanEndpoint *endpoint;
  SoupSession *session;
  CastellanIdentity *identity;
  GTlsCertificateFlags tls_errors;
} IdentifyData;

static void
identify_data_free (IdentifyData *data)
{
  castellan_endpoint_free (data->endpoint);
  g_clear_object (&data->session);
  g_clear_pointer (&data->identity, castellan_identity_free);
  g_free (data);
}

void
castellan_identity_free (CastellanIdentity *self)
{
  if (self == NULL)
    return;
  g_free (self->protocol_version);
  g_free (self->product_vendor);
  g_free (self->product_version);
  g_strfreev (self->auth_schemes);
  g_free (self->tls_protocol);
  g_free (self);
}

static char *
child_text (xmlNode    *parent,
            const char *name)
{
  return castellan_xml_child_text (parent, IDENTIFY_NS, name);
}

/**
 * castellan_identity_parse:
 *
 * Reads an IdentifyResponse envelope. Entities are never expanded and no
 * DTD is read or fetched.
 */
CastellanIdentity *
castellan_identity_parse (const char  *xml,
                          gsize        length,
                          GError     **error)
{
  g_autoptr(CastellanIdentity) identity = NULL;
  g_autoptr(xmlDoc) doc = NULL;
  xmlNode *response;

  if (length > IDENTIFY_MAX_REPLY || length > G_MAXINT)
    {
      g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_MALFORMED_REPLY,
                   _("The Identify reply is too large (%lu bytes); this is not a WinRM listener."),
                   (unsigned long) length);
      return NULL;
    }

  doc = castellan_xml_parse (xml, length);
  if (doc == NULL)
    {
      g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_MALFORMED_REPLY,
                   _("The Identify reply is not well-formed SOAP; the port may belong to another service."));
      return NULL;
    }

  response = xmlDocGetRootElement (doc);
  if (!castellan_xml_is (response, SOAP_NS, "Envelope"))
    response = NULL;
  response = castellan_xml_child (castellan_xml_child (response, SOAP_NS, "Body"),
                                  IDENTIFY_NS, "IdentifyResponse");
  if (response == NULL)
    {
      g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_MALFORMED_REPLY,
                   _("The reply has no IdentifyResponse; the port may belong to another service."));
      return NULL;
    }

  identity = g_new0 (CastellanIdentity, 1);
  identity->protocol_version = child_text (response, "ProtocolVersion");
  identity->product_vendor = child_text (response, "ProductVendor");
  identity->product_version = child_text (response, "ProductVersion");

  return g_steal_pointer (&identity);
}

static gboolean
on_accept_certificate (SoupMessage          *msg,
                       GTlsCertificate      *certificate,
                       GTlsCertificateFlags  errors,
                       gpointer              user_data)
{
  IdentifyData *data = user_data;

  data->tls_errors = errors;
  return FALSE;
}

static SoupMessage *
new_post (IdentifyData *data,
          GBytes       *body)
{
  g_autofree char *url = castellan_endpoint_to_url (data->endpoint);
  SoupMessage *msg = soup_message_new ("POST", url);

  soup_message_set_request_body_from_bytes (msg, "application/soap+xml;charset=UTF-8", body);
  g_signal_connect (msg, "accept-certificate", G_CALLBACK (on_accept_certificate), data);
  castellan_exchange_offer_http1_only (msg);
  return msg;
}

static void
collect_scheme (const char *name,
                const char *value,
                gpointer    user_data)
{
  GPtrArray *schemes = user_data;
  g_autofree char *scheme = NULL;
  const char *end;

  if (g_ascii_strcasecmp (name, "WWW-Authenticate") != 0)
    return;
  while (g_ascii_isspace (*value))
    value++;
  end = value;
  while (*end != '\0' && !g_ascii_isspace (*end) && *end != ',')
    end++;
  if (end == value)
    return;
  scheme = g_strndup (value, end - value);
  for (guint i = 0; i < schemes->len; i++)
    if (g_ascii_strcasecmp (g_ptr_array_index (schemes, i), scheme) == 0)
      return;
  g_ptr_array_add (schemes, g_steal_pointer (&scheme));
}

static void
offers_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  IdentifyData *data = g_task_get_task_data (task);
  SoupMessage *msg = soup_session_get_async_result_message (data->session, result);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GPtrArray) schemes = g_ptr_array_new_with_free_func (g_free);

  body = soup_session_send_and_read_finish (data->session, result, &error);
  if (body == NULL)
    {
      g_task_return_error (task, castellan_net_error_translate (error, data->endpoint,
                                                                data->tls_errors));
      return;
    }

  soup_message_headers_foreach (soup_message_get_response_headers (msg),
                                collect_scheme, schemes);
  g_ptr_array_add (schemes, NULL);
  data->identity->auth_schemes = (GStrv) g_ptr_array_steal (schemes, NULL);
  g_task_return_pointer (task, g_steal_pointer (&data->identity),
                         (GDestroyNotify) castellan_identity_free);
}

static void
identify_done (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  IdentifyData *data = g_task_get_task_data (task);
  SoupMessage *msg = soup_session_get_async_result_message (data->session, result);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GBytes) empty = NULL;
  g_autoptr(SoupMessage) offers = NULL;
  GCancellable *cancellable = g_task_get_cancellable (task);
  guint status;

  body = soup_session_send_and_read_finish (data->session, result, &error);
  if (body == NULL)
    {
      g_task_return_error (task, castellan_net_error_translate (error, data->endpoint,
                                                                data->tls_errors));
      return;
    }

  status = soup_message_get_status (msg);
  if (status != SOUP_STATUS_OK)
    {
      g_task_return_new_error (task, CASTELLAN_ERROR, CASTELLAN_ERROR_HTTP_STATUS,
                               _("%s answered the Identify request with HTTP %u %s. It may not be a WinRM listener, or it refuses unauthenticated Identify."),
                               data->endpoint->host, status,
                               soup_message_get_reason_phrase (msg));
      return;
    }

  data->identity = castellan_identity_parse (g_bytes_get_data (body, NULL),
                                             g_bytes_get_size (body), &error);
  if (data->identity == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  if (data->endpoint->https)
    data->identity->tls_protocol =
      g_strdup (castellan_tls_version_id (soup_message_get_tls_protocol_version (msg)));

  /* An empty POST without credentials: the 401 lists the schemes. */
  empty = g_bytes_new_static ("", 0);
  offers = new_post (data, empty);
  soup_session_send_and_read_async (data->session, offers, G_PRIORITY_DEFAULT,
                                    cancellable, offers_done, g_steal_pointer (&task));
}

/**
 * castellan_identify_async:
 * @endpoint: the listener to probe
 * @tls_database: (nullable): trust anchors for HTTPS, or %NULL for the system's
 *
 * Asks a listener what it is and which authentication schemes it offers,
 * without sending any credential.
 */
void
castellan_identify_async (const CastellanEndpoint *endpoint,
                          GTlsDatabase            *tls_database,
                          GCancellable            *cancellable,
                          GAsyncReadyCallback      callback,
                          gpointer                 user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) body = NULL;
  IdentifyData *data;

  g_return_if_fail (endpoint != NULL);
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, castellan_identify_async);

  data = g_new0 (IdentifyData, 1);
  data->endpoint = castellan_endpoint_copy (endpoint);
  data->session = soup_session_new_with_options ("timeout", IDENTIFY_TIMEOUT_SECONDS,
                                                 "idle-timeout", IDENTIFY_TIMEOUT_SECONDS,
                                                 NULL);
  /* The 401 is what we came for: libsoup must not answer it. Directly,
   * as every connection of Castellan's. */
  soup_session_remove_feature_by_type (data->session, SOUP_TYPE_AUTH_MANAGER);
  soup_session_set_proxy_resolver (data->session, NULL);
  if (tls_database != NULL)
    soup_session_set_tls_database (data->session, tls_database);
  g_task_set_task_data (task, data, (GDestroyNotify) identify_data_free);

  body = g_bytes_new_static (identify_request, sizeof identify_request - 1);
  msg = new_post (data, body);
  soup_message_headers_append (soup_message_get_request_headers (msg),
                               "WSMANIDENTIFY", "unauthenticated");
  soup_session_send_and_read_async (data->session, msg, G_PRIORITY_DEFAULT,
                                    cancellable, identify_done, g_steal_pointer (&task));
}

CastellanIdentity *
castellan_identify_finish (GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == castellan_identify_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
