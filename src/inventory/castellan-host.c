/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <gio/gio.h>
#include <glib/gi18n-lib.h>

#include "castellan-error.h"
#include "castellan-host.h"
#include "castellan-trust-database.h"

enum
{
  PROP_0,
  PROP_ID,
  PROP_NAME,
  PROP_ADDRESS,
  PROP_PORT,
  PROP_HTTPS,
  PROP_AUTH,
  PROP_USER,
  PROP_SPN_SERVICE,
  PROP_GROUP,
  PROP_TAGS,
  PROP_NOTES,
  PROP_DELEGATION,
  PROP_CA_FILE,
  PROP_PROXY,
  PROP_PIN_SHA256,
  PROP_SHELL,
  PROP_LAST_LEVEL,
  PROP_LAST_IDENTITY,
  PROP_LAST_AUTH,
  PROP_LAST_ENCRYPTION,
  PROP_LAST_TRUSTED_HOSTS_ENTRY,
  PROP_LAST_CONNECTED,
  PROP_LAST_PROBLEM,
  N_PROPS
};

/* Index i describes property i + 1. */
static const CastellanHostField fields[N_PROPS - 1] = {
  { "id", G_TYPE_STRING },
  { "name", G_TYPE_STRING },
  { "address", G_TYPE_STRING },
  { "port", G_TYPE_UINT },
  { "https", G_TYPE_BOOLEAN },
  { "auth", G_TYPE_STRING },
  { "user", G_TYPE_STRING },
  { "spn-service", G_TYPE_STRING },
  { "group", G_TYPE_STRING },
  { "tags", G_TYPE_STRING },
  { "notes", G_TYPE_STRING },
  { "delegation", G_TYPE_BOOLEAN },
  { "ca-file", G_TYPE_STRING },
  { "proxy", G_TYPE_STRING },
  { "pin-sha256", G_TYPE_STRING },
  { "shell", G_TYPE_STRING },
  { "last-level", G_TYPE_STRING },
  { "last-identity", G_TYPE_STRING },
  { "last-auth", G_TYPE_STRING },
  { "last-encryption", G_TYPE_STRING },
  { "last-trusted-hosts-entry", G_TYPE_STRING },
  { "last-connected", G_TYPE_STRING },
  { "last-problem", G_TYPE_STRING },
};

struct _CastellanHost
{
  GObject parent_instance;

  GValue values[N_PROPS];
  /* Derived, for a list of thousands: computed once per change. */
  char *search_text;
  char *sort_key;
};

G_DEFINE_FINAL_TYPE (CastellanHost, castellan_host, G_TYPE_OBJECT)

static GParamSpec *properties[N_PROPS];

const CastellanHostField *
castellan_host_fields (guint *n_fields)
{
  *n_fields = G_N_ELEMENTS (fields);
  return fields;
}

static void
castellan_host_finalize (GObject *object)
{
  CastellanHost *self = CASTELLAN_HOST (object);

  for (guint i = 1; i < N_PROPS; i++)
    g_value_unset (&self->values[i]);
  g_free (self->search_text);
  g_free (self->sort_key);
  G_OBJECT_CLASS (castellan_host_parent_class)->finalize (object);
}

static void
castellan_host_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  CastellanHost *self = CASTELLAN_HOST (object);

  g_value_copy (&self->values[prop_id], value);
}

static void
castellan_host_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  CastellanHost *self = CASTELLAN_HOST (object);

  if (g_param_values_cmp (pspec, &self->values[prop_id], value) == 0)
    return;
  g_value_copy (value, &self->values[prop_id]);
  g_clear_pointer (&self->search_text, g_free);
  g_clear_pointer (&self->sort_key, g_free);
  g_object_notify_by_pspec (object, pspec);
}

static void
castellan_host_class_init (CastellanHostClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->finalize = castellan_host_finalize;
  object_class->get_property = castellan_host_get_property;
  object_class->set_property = castellan_host_set_property;

  for (guint i = 1; i < N_PROPS; i++)
    {
      const CastellanHostField *f = &fields[i - 1];

      if (f->type == G_TYPE_STRING)
        properties[i] = g_param_spec_string (f->key, NULL, NULL, NULL, flags);
      else if (f->type == G_TYPE_BOOLEAN)
        properties[i] = g_param_spec_boolean (f->key, NULL, NULL, FALSE, flags);
      else
        properties[i] = g_param_spec_uint (f->key, NULL, NULL, 0, G_MAXUINT16, 0, flags);
    }
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
castellan_host_init (CastellanHost *self)
{
  g_autofree char *id = g_uuid_string_random ();

  for (guint i = 1; i < N_PROPS; i++)
    g_value_init (&self->values[i], fields[i - 1].type);
  g_value_set_string (&self->values[PROP_ID], id);
  g_value_set_string (&self->values[PROP_AUTH], "negotiate");
}

CastellanHost *
castellan_host_new (void)
{
  return g_object_new (CASTELLAN_TYPE_HOST, NULL);
}

/* A copy with a new identity and no history: a new host, alike. */
CastellanHost *
castellan_host_duplicate (CastellanHost *self)
{
  CastellanHost *copy = castellan_host_new ();
  g_autofree char *name = NULL;

  for (guint i = PROP_NAME; i < PROP_LAST_LEVEL; i++)
    g_value_copy (&self->values[i], &copy->values[i]);
  name = g_strdup_printf (_("%s (copy)"), castellan_host_get_name (self) ?: castellan_host_get_address (self));
  g_value_set_string (&copy->values[PROP_NAME], name);
  return copy;
}

#define STRING_GETTER(fn, prop) \
  const char *castellan_host_get_##fn (CastellanHost *self) \
  { \
    g_return_val_if_fail (CASTELLAN_IS_HOST (self), NULL); \
    return g_value_get_string (&self->values[prop]); \
  }

STRING_GETTER (id, PROP_ID)
STRING_GETTER (name, PROP_NAME)
STRING_GETTER (address, PROP_ADDRESS)
STRING_GETTER (auth, PROP_AUTH)
STRING_GETTER (user, PROP_USER)
STRING_GETTER (group, PROP_GROUP)
STRING_GETTER (tags, PROP_TAGS)
STRING_GETTER (last_level, PROP_LAST_LEVEL)
STRING_GETTER (shell, PROP_SHELL)
STRING_GETTER (last_problem, PROP_LAST_PROBLEM)

guint
castellan_host_get_port (CastellanHost *self)
{
  return g_value_get_uint (&self->values[PROP_PORT]);
}

gboolean
castellan_host_get_https (CastellanHost *self)
{
  return g_value_get_boolean (&self->values[PROP_HTTPS]);
}

gboolean
castellan_host_get_delegation (CastellanHost *self)
{
  return g_value_get_boolean (&self->values[PROP_DELEGATION]);
}

char *
castellan_host_dup_display_name (CastellanHost *self)
{
  const char *name = castellan_host_get_name (self);

  return g_strdup (name && *name ? name : castellan_host_get_address (self));
}

/* What the sidebar's search matches: case-folded, all the visible fields. */
const char *
castellan_host_get_search_text (CastellanHost *self)
{
  if (self->search_text == NULL)
    {
      g_autofree char *joined = g_strjoin ("\n",
                                           castellan_host_get_name (self) ?: "",
                                           castellan_host_get_address (self) ?: "",
                                           castellan_host_get_group (self) ?: "",
                                           castellan_host_get_tags (self) ?: "",
                                           castellan_host_get_user (self) ?: "",
                                           NULL);

      self->search_text = g_utf8_casefold (joined, -1);
    }
  return self->search_text;
}

/* The list's order: by group, then by name, as the locale collates. */
const char *
castellan_host_get_sort_key (CastellanHost *self)
{
  if (self->sort_key == NULL)
    {
      g_autofree char *name = castellan_host_dup_display_name (self);
      g_autofree char *both = g_strconcat (castellan_host_get_group (self) ?: "", "\x01", name ?: "", NULL);

      self->sort_key = g_utf8_collate_key_for_filename (both, -1);
    }
  return self->sort_key;
}

/* Notes may run over several lines, and a problem is a message; every
 * other text is one line, and some of it ends up in a request. */
static gboolean
single_line (guint prop)
{
  return fields[prop - 1].type == G_TYPE_STRING && prop != PROP_NOTES && prop != PROP_LAST_PROBLEM;
}

/* A control character (a line break, say) in a one-line value: it would
 * end the line it is saved on, or become a request header. */
gboolean
castellan_host_text_has_control (const char *text)
{
  for (const char *p = text; p != NULL && *p != '\0'; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      return TRUE;
  return FALSE;
}

/**
 * castellan_host_find_control:
 *
 * Returns: (nullable): the key of the first one-line field that holds a
 *   line break or another control character, or %NULL when none does.
 */
const char *
castellan_host_find_control (CastellanHost *self)
{
  g_return_val_if_fail (CASTELLAN_IS_HOST (self), NULL);

  for (guint i = 1; i < N_PROPS; i++)
    if (single_line (i) && castellan_host_text_has_control (g_value_get_string (&self->values[i])))
      return fields[i - 1].key;
  return NULL;
}

/**
 * castellan_host_key_is_single_line:
 *
 * Whether a key of the file must hold one line of text only.
 */
gboolean
castellan_host_key_is_single_line (const char *key)
{
  for (guint i = 1; i < N_PROPS; i++)
    if (g_str_equal (fields[i - 1].key, key))
      return single_line (i);
  return FALSE;
}

static const char *
nonempty (const GValue *value)
{
  const char *s = g_value_get_string (value);

  return s && *s ? s : NULL;
}

/**
 * castellan_host_to_options:
 *
 * Returns: (transfer full): how to connect, without credentials, or %NULL
 *   with an error that says which field is wrong.
 */
CastellanConnectOptions *
castellan_host_to_options (CastellanHost  *self,
                           GError        **error)
{
  g_autoptr(CastellanEndpoint) endpoint = NULL;
  g_autoptr(CastellanConnectOptions) options = NULL;
  const char *auth = nonempty (&self->values[PROP_AUTH]);
  const char *ca_file = nonempty (&self->values[PROP_CA_FILE]);
  const char *control = castellan_host_find_control (self);

  if (control != NULL)
    {
      g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_INVALID_ADDRESS,
                   _("The field “%s” holds a line break or another control character: type it on one line."),
                   control);
      return NULL;
    }
  endpoint = castellan_endpoint_parse (castellan_host_get_address (self) ?: "",
                                       castellan_host_get_https (self), error);
  if (endpoint == NULL)
    return NULL;
  if (castellan_host_get_port (self) != 0)
    castellan_endpoint_set_port (endpoint, (guint16) castellan_host_get_port (self));
  options = castellan_connect_options_new (endpoint);
  if (auth != NULL && !castellan_auth_request_from_string (auth, &options->auth))
    {
      g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_FAILED,
                   _("Unknown authentication method “%s”: use negotiate, kerberos, ntlm or basic."), auth);
      return NULL;
    }
  options->user = g_strdup (nonempty (&self->values[PROP_USER]));
  options->spn_service = g_strdup (nonempty (&self->values[PROP_SPN_SERVICE]));
  options->pinned_sha256 = g_strdup (nonempty (&self->values[PROP_PIN_SHA256]));
  options->delegate = castellan_host_get_delegation (self);
  if (!castellan_connect_options_set_proxy (options, nonempty (&self->values[PROP_PROXY]), error))
    return NULL;
  if (ca_file != NULL)
    {
      g_clear_object (&options->tls_database);
      options->tls_database = castellan_trust_database_new (ca_file, error);
      if (options->tls_database == NULL)
        return NULL;
    }
  return g_steal_pointer (&options);
}

void
castellan_host_set_verdict (CastellanHost          *self,
                            const CastellanVerdict *verdict)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *when = g_date_time_format_iso8601 (now);

  g_object_set (self,
                "last-level", castellan_verdict_level_id (castellan_verdict_get_level (verdict)),
                "last-identity", castellan_server_identity_to_string (verdict->identity),
                "last-auth", castellan_auth_method_to_string (verdict->auth),
                "last-encryption", verdict->encryption,
                "last-trusted-hosts-entry", verdict->trusted_hosts_entry,
                "last-connected", when,
                "last-problem", NULL,
                NULL);
}

/* The last verdict, as far as the file keeps it (enough to compare). */
CastellanVerdict *
castellan_host_dup_last_verdict (CastellanHost *self)
{
  const char *identity = nonempty (&self->values[PROP_LAST_IDENTITY]);
  const char *auth = nonempty (&self->values[PROP_LAST_AUTH]);
  const char *encryption = nonempty (&self->values[PROP_LAST_ENCRYPTION]);
  CastellanVerdict *v;

  if (identity == NULL || encryption == NULL)
    return NULL;
  v = castellan_verdict_new ();
  v->host = g_strdup (castellan_host_get_address (self));
  v->identity = g_str_equal (identity, "kerberos") ? CASTELLAN_IDENTITY_KERBEROS
              : g_str_equal (identity, "tls") ? CASTELLAN_IDENTITY_TLS
              : g_str_equal (identity, "tls-pinned") ? CASTELLAN_IDENTITY_TLS_PINNED
              : CASTELLAN_IDENTITY_NONE;
  v->auth = g_strcmp0 (auth, "kerberos") == 0 ? CASTELLAN_AUTH_KERBEROS
          : g_strcmp0 (auth, "ntlm") == 0 ? CASTELLAN_AUTH_NTLM
          : CASTELLAN_AUTH_BASIC;
  g_free (v->encryption);
  v->encryption = g_strdup (encryption);
  v->trusted_hosts_entry = g_strdup (nonempty (&self->values[PROP_LAST_TRUSTED_HOSTS_ENTRY]));
  return v;
}
