/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "castellan-error.h"
#include "castellan-psrp-host.h"

/* The names PowerShell's RemoteHostMethodId enum gives, by id. */
static const char *const method_names[] = {
  NULL, "GetName", "GetVersion", "GetInstanceId", "GetCurrentCulture", "GetCurrentUICulture",
  "SetShouldExit", "EnterNestedPrompt", "ExitNestedPrompt", "NotifyBeginApplication",
  "NotifyEndApplication", "ReadLine", "ReadLineAsSecureString", "Write1", "Write2",
  "WriteLine1", "WriteLine2", "WriteLine3", "WriteErrorLine", "WriteDebugLine",
  "WriteProgress", "WriteVerboseLine", "WriteWarningLine", "Prompt", "PromptForCredential1",
  "PromptForCredential2", "PromptForChoice", "GetForegroundColor", "SetForegroundColor",
  "GetBackgroundColor", "SetBackgroundColor", "GetCursorPosition", "SetCursorPosition",
  "GetWindowPosition", "SetWindowPosition", "GetCursorSize", "SetCursorSize", "GetBufferSize",
  "SetBufferSize", "GetWindowSize", "SetWindowSize", "GetWindowTitle", "SetWindowTitle",
  "GetMaxWindowSize", "GetMaxPhysicalWindowSize", "GetKeyAvailable", "ReadKey",
  "FlushInputBuffer", "SetBufferContents1", "SetBufferContents2", "GetBufferContents",
  "ScrollBufferContents", "PushRunspace", "PopRunspace", "GetIsRunspacePushed", "GetRunspace",
  "PromptForChoiceMultipleSelection",
};

const char *
castellan_psrp_host_method_name (CastellanPsrpHostMethod method)
{
  if (method < 1 || (gsize) method >= G_N_ELEMENTS (method_names))
    return NULL;
  return method_names[method];
}

static CastellanClixmlValue *
new_plain_object (void)
{
  return castellan_clixml_value_new_object (NULL, CASTELLAN_CLIXML_CONTAINER_NONE);
}

CastellanClixmlValue *
castellan_psrp_coordinates_new (int x,
                                int y)
{
  CastellanClixmlValue *v = new_plain_object ();

  castellan_clixml_value_add_property (v, TRUE, "x", castellan_clixml_value_new_signed (CASTELLAN_CLIXML_INT32, x));
  castellan_clixml_value_add_property (v, TRUE, "y", castellan_clixml_value_new_signed (CASTELLAN_CLIXML_INT32, y));
  return v;
}

CastellanClixmlValue *
castellan_psrp_size_new (int width,
                         int height)
{
  CastellanClixmlValue *v = new_plain_object ();

  /* In the order Windows' client writes them. */
  castellan_clixml_value_add_property (v, TRUE, "height",
                                       castellan_clixml_value_new_signed (CASTELLAN_CLIXML_INT32, height));
  castellan_clixml_value_add_property (v, TRUE, "width",
                                       castellan_clixml_value_new_signed (CASTELLAN_CLIXML_INT32, width));
  return v;
}

/* One entry of _hostDefaultData: {T: the .NET type, V: the value}. */
static void
add_default (CastellanClixmlValue *data,
             int                   key,
             const char           *type_name,
             CastellanClixmlValue *value)
{
  CastellanClixmlValue *entry = new_plain_object ();

  castellan_clixml_value_add_property (entry, TRUE, "T", castellan_clixml_value_new_string (type_name));
  castellan_clixml_value_add_property (entry, TRUE, "V", value);
  castellan_clixml_value_add_entry (data, castellan_clixml_value_new_signed (CASTELLAN_CLIXML_INT32, key), entry);
}

static CastellanClixmlValue *
new_int (int value)
{
  return castellan_clixml_value_new_signed (CASTELLAN_CLIXML_INT32, value);
}

/**
 * castellan_psrp_host_info_new:
 * @defaults: (nullable): the console, or %NULL to declare no host (the
 *   server then fails every prompt at once)
 *
 * The HostInfo of INIT_RUNSPACEPOOL and CREATE_PIPELINE (MS-PSRP
 * 2.2.3.14). A pipeline given its own host info gets its host calls on
 * its own stream, as PIPELINE_HOST_CALL.
 */
CastellanClixmlValue *
castellan_psrp_host_info_new (const CastellanPsrpHostDefaults *defaults)
{
  CastellanClixmlValue *info = new_plain_object ();
  gboolean null_host = defaults == NULL;

  if (!null_host)
    {
      const char *hashtable[] = { "System.Collections.Hashtable", "System.Object", NULL };
      CastellanClixmlValue *holder = new_plain_object ();
      CastellanClixmlValue *data = castellan_clixml_value_new_object (hashtable, CASTELLAN_CLIXML_CONTAINER_DICTIONARY);
      int width = MAX (defaults->buffer_width, 1);
      int height = MAX (defaults->buffer_height, 1);
      int window_width = defaults->window_width > 0 ? defaults->window_width : width;
      int window_height = defaults->window_height > 0 ? defaults->window_height : height;

      add_default (data, 0, "System.ConsoleColor", new_int (defaults->foreground));
      add_default (data, 1, "System.ConsoleColor", new_int (defaults->background));
      add_default (data, 2, "System.Management.Automation.Host.Coordinates", castellan_psrp_coordinates_new (0, 0));
      add_default (data, 3, "System.Management.Automation.Host.Coordinates", castellan_psrp_coordinates_new (0, 0));
      add_default (data, 4, "System.Int32", new_int (25));
      add_default (data, 5, "System.Management.Automation.Host.Size", castellan_psrp_size_new (width, height));
      add_default (data, 6, "System.Management.Automation.Host.Size",
                   castellan_psrp_size_new (window_width, window_height));
      add_default (data, 7, "System.Management.Automation.Host.Size",
                   castellan_psrp_size_new (window_width, window_height));
      add_default (data, 8, "System.Management.Automation.Host.Size",
                   castellan_psrp_size_new (window_width, window_height));
      add_default (data, 9, "System.String",
                   castellan_clixml_value_new_string (defaults->window_title ? defaults->window_title : ""));
      castellan_clixml_value_add_property (holder, TRUE, "data", data);
      castellan_clixml_value_add_property (info, TRUE, "_hostDefaultData", holder);
    }
  castellan_clixml_value_add_property (info, TRUE, "_isHostNull", castellan_clixml_value_new_bool (null_host));
  castellan_clixml_value_add_property (info, TRUE, "_isHostUINull", castellan_clixml_value_new_bool (null_host));
  castellan_clixml_value_add_property (info, TRUE, "_isHostRawUINull", castellan_clixml_value_new_bool (null_host));
  castellan_clixml_value_add_property (info, TRUE, "_useRunspaceHost", castellan_clixml_value_new_bool (FALSE));
  return info;
}

void
castellan_psrp_host_call_free (CastellanPsrpHostCall *call)
{
  if (call == NULL)
    return;
  g_clear_pointer (&call->parameters, g_ptr_array_unref);
  g_free (call);
}

static gboolean
integer_of (const CastellanClixmlValue *value,
            gint64                     *out)
{
  if (value == NULL)
    return FALSE;
  /* An enum is an Obj around its integer. */
  if (value->kind == CASTELLAN_CLIXML_OBJECT && value->inner != NULL)
    value = value->inner;
  switch (value->kind)
    {
    case CASTELLAN_CLIXML_INT8:
    case CASTELLAN_CLIXML_INT16:
    case CASTELLAN_CLIXML_INT32:
    case CASTELLAN_CLIXML_INT64:
      *out = value->integer;
      return TRUE;
    case CASTELLAN_CLIXML_UINT8:
    case CASTELLAN_CLIXML_UINT16:
    case CASTELLAN_CLIXML_UINT32:
      *out = (gint64) value->unsigned_integer;
      return TRUE;
    default:
      return FALSE;
    }
}

CastellanPsrpHostCall *
castellan_psrp_host_call_parse (const CastellanClixmlValue *value,
                                GError                    **error)
{
  g_autoptr(CastellanPsrpHostCall) call = g_new0 (CastellanPsrpHostCall, 1);
  CastellanClixmlValue *mp = castellan_clixml_value_get_property (value, "mp");
  gint64 method = 0;

  if (!integer_of (castellan_clixml_value_get_property (value, "ci"), &call->call_id) ||
      !integer_of (castellan_clixml_value_get_property (value, "mi"), &method))
    {
      castellan_set_psrp_malformed (error, _("a host call without its call or method identifier"));
      return NULL;
    }
  call->method = (CastellanPsrpHostMethod) CLAMP (method, 0, G_MAXINT);
  call->parameters = g_ptr_array_new_with_free_func ((GDestroyNotify) castellan_clixml_value_unref);
  if (mp != NULL && mp->items != NULL)
    for (guint i = 0; i < mp->items->len; i++)
      g_ptr_array_add (call->parameters, castellan_clixml_value_ref (g_ptr_array_index (mp->items, i)));
  return g_steal_pointer (&call);
}

CastellanClixmlValue *
castellan_psrp_host_call_parameter (const CastellanPsrpHostCall *call,
                                    guint                        index)
{
  if (call == NULL || index >= call->parameters->len)
    return NULL;
  return g_ptr_array_index (call->parameters, index);
}

static CastellanClixmlValue *
method_enum (CastellanPsrpHostMethod method)
{
  const char *name = castellan_psrp_host_method_name (method);

  return castellan_clixml_value_new_enum ("System.Management.Automation.Remoting.RemoteHostMethodId",
                                          name ? name : "Unknown", method);
}

CastellanClixmlValue *
castellan_psrp_host_response_new (gint64                   call_id,
                                  CastellanPsrpHostMethod  method,
                                  CastellanClixmlValue    *result,
                                  CastellanClixmlValue    *error_record)
{
  CastellanClixmlValue *v = new_plain_object ();

  if (result != NULL)
    castellan_clixml_value_add_property (v, TRUE, "mr", result);
  castellan_clixml_value_add_property (v, TRUE, "ci",
                                       castellan_clixml_value_new_signed (CASTELLAN_CLIXML_INT64, call_id));
  castellan_clixml_value_add_property (v, TRUE, "mi", method_enum (method));
  if (error_record != NULL)
    castellan_clixml_value_add_property (v, TRUE, "me", error_record);
  return v;
}

/* An ErrorRecord as PowerShell rebuilds one from the wire (MS-PSRP
 * 2.2.3.15): the exception, the id and the category fields. */
CastellanClixmlValue *
castellan_psrp_error_record_new (const char *message,
                                 const char *error_id,
                                 int         category)
{
  const char *record_types[] = { "System.Management.Automation.ErrorRecord", "System.Object", NULL };
  const char *exception_types[] = { "System.Management.Automation.HostException", "System.Exception",
                                    "System.Object", NULL };
  CastellanClixmlValue *record = castellan_clixml_value_new_object (record_types, CASTELLAN_CLIXML_CONTAINER_NONE);
  CastellanClixmlValue *exception = castellan_clixml_value_new_object (exception_types,
                                                                        CASTELLAN_CLIXML_CONTAINER_NONE);

  exception->to_string = g_strdup (message);
  castellan_clixml_value_add_property (exception, FALSE, "Message", castellan_clixml_value_new_string (message));
  castellan_clixml_value_add_property (exception, FALSE, "HResult",
                                       castellan_clixml_value_new_signed (CASTELLAN_CLIXML_INT32, -2146233087));
  record->to_string = g_strdup (message);
  castellan_clixml_value_add_property (record, TRUE, "Exception", exception);
  castellan_clixml_value_add_property (record, TRUE, "TargetObject", castellan_clixml_value_new (CASTELLAN_CLIXML_NULL));
  castellan_clixml_value_add_property (record, TRUE, "FullyQualifiedErrorId", castellan_clixml_value_new_string (error_id));
  castellan_clixml_value_add_property (record, TRUE, "InvocationInfo", castellan_clixml_value_new (CASTELLAN_CLIXML_NULL));
  castellan_clixml_value_add_property (record, TRUE, "ErrorCategory_Category",
                                       castellan_clixml_value_new_signed (CASTELLAN_CLIXML_INT32, category));
  castellan_clixml_value_add_property (record, TRUE, "ErrorCategory_Activity", castellan_clixml_value_new_string (""));
  castellan_clixml_value_add_property (record, TRUE, "ErrorCategory_Reason",
                                       castellan_clixml_value_new_string ("HostException"));
  castellan_clixml_value_add_property (record, TRUE, "ErrorCategory_TargetName", castellan_clixml_value_new_string (""));
  castellan_clixml_value_add_property (record, TRUE, "ErrorCategory_TargetType", castellan_clixml_value_new_string (""));
  castellan_clixml_value_add_property (record, TRUE, "ErrorCategory_Message", castellan_clixml_value_new_string (message));
  castellan_clixml_value_add_property (record, TRUE, "SerializeExtendedInfo", castellan_clixml_value_new_bool (FALSE));
  return record;
}

CastellanClixmlValue *
castellan_psrp_credential_new (const char *user,
                               GBytes     *encrypted_password)
{
  const char *types[] = { "System.Management.Automation.PSCredential", "System.Object", NULL };
  CastellanClixmlValue *v = castellan_clixml_value_new_object (types, CASTELLAN_CLIXML_CONTAINER_NONE);

  v->to_string = g_strdup ("System.Management.Automation.PSCredential");
  castellan_clixml_value_add_property (v, FALSE, "UserName", castellan_clixml_value_new_string (user));
  castellan_clixml_value_add_property (v, FALSE, "Password",
                                       castellan_clixml_value_new_bytes (CASTELLAN_CLIXML_SECURE_STRING,
                                                                         encrypted_password));
  return v;
}

CastellanClixmlValue *
castellan_psrp_property (const CastellanClixmlValue *object,
                         const char                 *name)
{
  CastellanClixmlValue *v = castellan_clixml_value_get_property (object, name);
  g_autofree char *camel = NULL;

  if (v != NULL || !g_ascii_isupper (name[0]))
    return v;
  camel = g_strdup (name);
  camel[0] = g_ascii_tolower (camel[0]);
  return castellan_clixml_value_get_property (object, camel);
}

/* A value as text; NULL for null, so that an absent field can be told
 * from an empty one. */
static char *
text_of (const CastellanClixmlValue *v)
{
  if (v == NULL || v->kind == CASTELLAN_CLIXML_NULL)
    return NULL;
  return castellan_clixml_value_text (v);
}

static char *
text_property (const CastellanClixmlValue *object,
               const char                 *name)
{
  return text_of (castellan_psrp_property (object, name));
}

static int
integer_property (const CastellanClixmlValue *object,
                  const char                 *name,
                  int                         otherwise)
{
  gint64 value;

  if (!integer_of (castellan_psrp_property (object, name), &value))
    return otherwise;
  return (int) CLAMP (value, G_MININT, G_MAXINT);
}

char *
castellan_psrp_host_call_text (const CastellanPsrpHostCall *call,
                               guint                        index)
{
  return text_of (castellan_psrp_host_call_parameter (call, index));
}

void
castellan_psrp_field_free (CastellanPsrpField *field)
{
  if (field == NULL)
    return;
  g_free (field->name);
  g_free (field->label);
  g_free (field);
}

static CastellanPsrpFieldKind
field_kind (const CastellanClixmlValue *description)
{
  g_autofree char *type = text_property (description, "ParameterTypeFullName");

  if (type == NULL)
    type = text_property (description, "ParameterTypeName");
  if (type != NULL && g_str_has_suffix (type, "SecureString"))
    return CASTELLAN_PSRP_FIELD_SECRET;
  if (type != NULL && g_str_has_suffix (type, "PSCredential"))
    return CASTELLAN_PSRP_FIELD_CREDENTIAL;
  return CASTELLAN_PSRP_FIELD_TEXT;
}

/* Prompt(caption, message, descriptions): its FieldDescriptions. */
GPtrArray *
castellan_psrp_host_call_fields (const CastellanPsrpHostCall *call)
{
  GPtrArray *fields = g_ptr_array_new_with_free_func ((GDestroyNotify) castellan_psrp_field_free);
  CastellanClixmlValue *list = castellan_psrp_host_call_parameter (call, 2);

  for (guint i = 0; list != NULL && list->items != NULL && i < list->items->len; i++)
    {
      CastellanClixmlValue *d = g_ptr_array_index (list->items, i);
      CastellanPsrpField *f = g_new0 (CastellanPsrpField, 1);
      g_autofree char *label = text_property (d, "Label");

      f->name = text_property (d, "Name");
      if (f->name == NULL)
        f->name = g_strdup ("");
      f->label = label != NULL && *label != '\0' ? g_steal_pointer (&label) : g_strdup (f->name);
      f->kind = field_kind (d);
      g_ptr_array_add (fields, f);
    }
  return fields;
}

/* PromptForChoice(caption, message, choices, default) and its multiple
 * selection form, whose default is a list. */
GPtrArray *
castellan_psrp_host_call_choices (const CastellanPsrpHostCall *call,
                                  int                         *default_choice)
{
  GPtrArray *labels = g_ptr_array_new_with_free_func (g_free);
  CastellanClixmlValue *list = castellan_psrp_host_call_parameter (call, 2);
  CastellanClixmlValue *def = castellan_psrp_host_call_parameter (call, 3);
  gint64 value;

  for (guint i = 0; list != NULL && list->items != NULL && i < list->items->len; i++)
    {
      char *label = text_property (g_ptr_array_index (list->items, i), "Label");

      g_ptr_array_add (labels, label ? label : g_strdup_printf ("%u", i));
    }
  *default_choice = -1;
  if (def != NULL && def->items != NULL && def->items->len > 0)
    def = g_ptr_array_index (def->items, 0);
  if (integer_of (def, &value) && value >= 0 && value < (gint64) labels->len)
    *default_choice = (int) value;
  return labels;
}

gboolean
castellan_psrp_progress_read (const CastellanClixmlValue *record,
                              CastellanPsrpProgress      *progress)
{
  memset (progress, 0, sizeof *progress);
  if (record == NULL || record->kind != CASTELLAN_CLIXML_OBJECT)
    return FALSE;
  progress->activity = text_property (record, "Activity");
  progress->status = text_property (record, "StatusDescription");
  progress->percent = integer_property (record, "PercentComplete", -1);
  progress->completed = integer_property (record, "Type", 0) == 1;
  return TRUE;
}

void
castellan_psrp_progress_clear (CastellanPsrpProgress *progress)
{
  g_clear_pointer (&progress->activity, g_free);
  g_clear_pointer (&progress->status, g_free);
}
