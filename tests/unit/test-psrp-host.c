/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Host calls and what a host sends back (MS-PSRP 2.2.3.14, 2.2.3.15,
 * 2.2.2.27, 2.2.2.28): calls read from CLIXML, good and malformed, and
 * the values built here checked by shape and written out byte for byte. */
#include <string.h>

#include "castellan-error.h"
#include "castellan-psrp-host.h"

static CastellanClixmlValue *
read_xml (const char *xml)
{
  g_autoptr(GError) error = NULL;
  CastellanClixmlValue *v = castellan_clixml_read (xml, strlen (xml), NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (v);
  return v;
}

static CastellanClixmlValue *
ms (const CastellanClixmlValue *object,
    const char                 *name)
{
  CastellanClixmlValue *v = castellan_clixml_value_get_property (object, name);

  g_assert_nonnull (v);
  return v;
}

static void
assert_names (GPtrArray         *list,
              const char *const *names)
{
  guint i;

  g_assert_nonnull (list);
  for (i = 0; names[i] != NULL; i++)
    {
      g_assert_cmpuint (i, <, list->len);
      g_assert_cmpstr (((CastellanClixmlProperty *) g_ptr_array_index (list, i))->name, ==, names[i]);
    }
  g_assert_cmpuint (i, ==, list->len);
}

#define METHOD_ID(name, id) \
  "<Obj N=\"mi\" RefId=\"1\"><TN RefId=\"0\"><T>System.Management.Automation.Remoting.RemoteHostMethodId</T>" \
  "<T>System.Enum</T><T>System.ValueType</T><T>System.Object</T></TN><ToString>" name "</ToString>" \
  "<I32>" id "</I32></Obj>"

static void
test_call_parse (void)
{
  g_autoptr(CastellanClixmlValue) v =
    read_xml ("<Obj RefId=\"0\"><MS><I64 N=\"ci\">7</I64>" METHOD_ID ("Prompt", "23")
              "<Obj N=\"mp\" RefId=\"2\"><TN RefId=\"1\"><T>System.Collections.ArrayList</T>"
              "<T>System.Object</T></TN><LST><S>Caption</S><S>Message</S><Nil /></LST></Obj></MS></Obj>");
  g_autoptr(GError) error = NULL;
  g_autoptr(CastellanPsrpHostCall) call = castellan_psrp_host_call_parse (v, &error);

  g_assert_no_error (error);
  g_assert_nonnull (call);
  g_assert_cmpint (call->call_id, ==, 7);
  g_assert_cmpint (call->method, ==, CASTELLAN_PSRP_HOST_PROMPT);
  g_assert_cmpstr (castellan_psrp_host_method_name (call->method), ==, "Prompt");
  g_assert_cmpuint (call->parameters->len, ==, 3);
  g_assert_cmpstr (castellan_psrp_host_call_parameter (call, 0)->text, ==, "Caption");
  g_assert_cmpstr (castellan_psrp_host_call_parameter (call, 1)->text, ==, "Message");
  g_assert_cmpint (castellan_psrp_host_call_parameter (call, 2)->kind, ==, CASTELLAN_CLIXML_NULL);
  g_assert_null (castellan_psrp_host_call_parameter (call, 3));
}

/* A void call: ci -100, and no mp at all. */
static void
test_call_parse_void (void)
{
  g_autoptr(CastellanClixmlValue) v =
    read_xml ("<Obj RefId=\"0\"><MS><I64 N=\"ci\">-100</I64>" METHOD_ID ("NotifyEndApplication", "10")
              "</MS></Obj>");
  g_autoptr(GError) error = NULL;
  g_autoptr(CastellanPsrpHostCall) call = castellan_psrp_host_call_parse (v, &error);

  g_assert_no_error (error);
  g_assert_cmpint (call->call_id, ==, CASTELLAN_PSRP_HOST_CALL_VOID);
  g_assert_cmpint (call->method, ==, CASTELLAN_PSRP_HOST_NOTIFY_END_APPLICATION);
  g_assert_cmpuint (call->parameters->len, ==, 0);
}

static void
test_call_malformed (void)
{
  static const char *const bad[] = {
    /* no ci */
    "<Obj RefId=\"0\"><MS>" METHOD_ID ("Prompt", "23") "</MS></Obj>",
    /* no mi */
    "<Obj RefId=\"0\"><MS><I64 N=\"ci\">7</I64></MS></Obj>",
    /* ci as text */
    "<Obj RefId=\"0\"><MS><S N=\"ci\">7</S>" METHOD_ID ("Prompt", "23") "</MS></Obj>",
    /* mi an enum around text */
    "<Obj RefId=\"0\"><MS><I64 N=\"ci\">7</I64><Obj N=\"mi\" RefId=\"1\"><S>23</S></Obj></MS></Obj>",
    /* ci as an unsigned 64-bit number, which may not fit */
    "<Obj RefId=\"0\"><MS><U64 N=\"ci\">7</U64>" METHOD_ID ("Prompt", "23") "</MS></Obj>",
    /* not an object */
    "<S>ci</S>",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(CastellanClixmlValue) v = read_xml (bad[i]);
      g_autoptr(GError) error = NULL;
      g_autoptr(CastellanPsrpHostCall) call = castellan_psrp_host_call_parse (v, &error);

      g_assert_null (call);
      g_assert_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_PSRP_MALFORMED);
    }
}

static void
test_method_names (void)
{
  g_assert_null (castellan_psrp_host_method_name (0));
  g_assert_cmpstr (castellan_psrp_host_method_name (CASTELLAN_PSRP_HOST_GET_NAME), ==, "GetName");
  g_assert_cmpstr (castellan_psrp_host_method_name (CASTELLAN_PSRP_HOST_READ_LINE_AS_SECURE_STRING), ==,
                   "ReadLineAsSecureString");
  g_assert_cmpstr (castellan_psrp_host_method_name (CASTELLAN_PSRP_HOST_PROMPT_FOR_CHOICE_MULTIPLE_SELECTION),
                   ==, "PromptForChoiceMultipleSelection");
  g_assert_null (castellan_psrp_host_method_name (57));
}

static void
test_response (void)
{
  g_autoptr(CastellanClixmlValue) v =
    castellan_psrp_host_response_new (12, CASTELLAN_PSRP_HOST_READ_LINE, castellan_clixml_value_new_string ("yes"),
                                      NULL);
  static const char *const names[] = { "mr", "ci", "mi", NULL };
  g_autofree char *written = castellan_clixml_write (v);
  CastellanClixmlValue *mi = ms (v, "mi");

  assert_names (v->extended, names);
  g_assert_cmpint (ms (v, "mr")->kind, ==, CASTELLAN_CLIXML_STRING);
  g_assert_cmpint (ms (v, "ci")->kind, ==, CASTELLAN_CLIXML_INT64);
  g_assert_cmpint (ms (v, "ci")->integer, ==, 12);
  g_assert_cmpstr (mi->type_names[0], ==, "System.Management.Automation.Remoting.RemoteHostMethodId");
  g_assert_cmpstr (mi->to_string, ==, "ReadLine");
  g_assert_cmpint (mi->inner->kind, ==, CASTELLAN_CLIXML_INT32);
  g_assert_cmpint (mi->inner->integer, ==, 11);
  g_assert_cmpstr (written, ==,
                   "<Obj RefId=\"0\"><MS><S N=\"mr\">yes</S><I64 N=\"ci\">12</I64>"
                   "<Obj N=\"mi\" RefId=\"1\"><TN RefId=\"0\">"
                   "<T>System.Management.Automation.Remoting.RemoteHostMethodId</T><T>System.Enum</T>"
                   "<T>System.ValueType</T><T>System.Object</T></TN><ToString>ReadLine</ToString>"
                   "<I32>11</I32></Obj></MS></Obj>");
}

/* A method that returns nothing: neither mr nor me. */
static void
test_response_void (void)
{
  g_autoptr(CastellanClixmlValue) v =
    castellan_psrp_host_response_new (3, CASTELLAN_PSRP_HOST_SET_WINDOW_TITLE, NULL, NULL);
  static const char *const names[] = { "ci", "mi", NULL };

  assert_names (v->extended, names);
}

static void
test_response_error (void)
{
  g_autoptr(CastellanClixmlValue) v =
    castellan_psrp_host_response_new (4, CASTELLAN_PSRP_HOST_PROMPT_FOR_CREDENTIAL1, NULL,
                                      castellan_psrp_error_record_new ("No console to ask in.",
                                                                       "HostNotInteractive", 10));
  static const char *const names[] = { "ci", "mi", "me", NULL };
  static const char *const record_names[] = {
    "Exception", "TargetObject", "FullyQualifiedErrorId", "InvocationInfo", "ErrorCategory_Category",
    "ErrorCategory_Activity", "ErrorCategory_Reason", "ErrorCategory_TargetName",
    "ErrorCategory_TargetType", "ErrorCategory_Message", "SerializeExtendedInfo", NULL,
  };
  CastellanClixmlValue *record;
  CastellanClixmlValue *exception;

  assert_names (v->extended, names);
  g_assert_cmpstr (ms (v, "mi")->to_string, ==, "PromptForCredential1");
  record = ms (v, "me");
  g_assert_cmpstr (record->type_names[0], ==, "System.Management.Automation.ErrorRecord");
  g_assert_cmpstr (record->to_string, ==, "No console to ask in.");
  assert_names (record->extended, record_names);
  g_assert_cmpstr (ms (record, "FullyQualifiedErrorId")->text, ==, "HostNotInteractive");
  g_assert_cmpint (ms (record, "ErrorCategory_Category")->kind, ==, CASTELLAN_CLIXML_INT32);
  g_assert_cmpint (ms (record, "ErrorCategory_Category")->integer, ==, 10);
  g_assert_cmpstr (ms (record, "ErrorCategory_Reason")->text, ==, "HostException");
  g_assert_cmpstr (ms (record, "ErrorCategory_Message")->text, ==, "No console to ask in.");
  g_assert_cmpint (ms (record, "SerializeExtendedInfo")->kind, ==, CASTELLAN_CLIXML_BOOL);
  g_assert_cmpint (ms (record, "TargetObject")->kind, ==, CASTELLAN_CLIXML_NULL);
  exception = ms (record, "Exception");
  g_assert_cmpstr (exception->type_names[0], ==, "System.Management.Automation.HostException");
  /* The exception's own properties are adapted ones (Props). */
  g_assert_null (exception->extended);
  g_assert_cmpstr (ms (exception, "Message")->text, ==, "No console to ask in.");
  g_assert_cmpint (ms (exception, "HResult")->kind, ==, CASTELLAN_CLIXML_INT32);
}

static void
test_credential (void)
{
  static const guint8 encrypted[] = { 0x10, 0x20, 0x30, 0x40, 0x50 };
  g_autoptr(GBytes) password = g_bytes_new_static (encrypted, sizeof encrypted);
  g_autoptr(CastellanClixmlValue) v = castellan_psrp_credential_new ("CORP\\admin", password);
  static const char *const names[] = { "UserName", "Password", NULL };
  g_autofree char *written = castellan_clixml_write (v);
  CastellanClixmlValue *p;

  g_assert_cmpstr (v->type_names[0], ==, "System.Management.Automation.PSCredential");
  g_assert_null (v->extended);
  assert_names (v->adapted, names);
  g_assert_cmpint (ms (v, "UserName")->kind, ==, CASTELLAN_CLIXML_STRING);
  g_assert_cmpstr (ms (v, "UserName")->text, ==, "CORP\\admin");
  p = ms (v, "Password");
  g_assert_cmpint (p->kind, ==, CASTELLAN_CLIXML_SECURE_STRING);
  g_assert_true (g_bytes_equal (p->bytes, password));
  g_assert_cmpstr (written, ==,
                   "<Obj RefId=\"0\"><TN RefId=\"0\"><T>System.Management.Automation.PSCredential</T>"
                   "<T>System.Object</T></TN><ToString>System.Management.Automation.PSCredential</ToString>"
                   "<Props><S N=\"UserName\">CORP\\admin</S><SS N=\"Password\">ECAwQFA=</SS></Props></Obj>");
}

static void
test_size (void)
{
  g_autoptr(CastellanClixmlValue) v = castellan_psrp_size_new (120, 40);
  g_autofree char *written = castellan_clixml_write (v);

  g_assert_cmpstr (written, ==,
                   "<Obj RefId=\"0\"><MS><I32 N=\"height\">40</I32><I32 N=\"width\">120</I32></MS></Obj>");
}

static void
test_host_info (void)
{
  static const CastellanPsrpHostDefaults defaults = {
    .foreground = 15, .background = 1, .buffer_width = 160, .buffer_height = 3000,
    .window_width = 100, .window_height = 40, .window_title = "admin@host",
  };
  static const char *const names[] = {
    "_hostDefaultData", "_isHostNull", "_isHostUINull", "_isHostRawUINull", "_useRunspaceHost", NULL,
  };
  static const char *const types[] = {
    "System.ConsoleColor", "System.ConsoleColor", "System.Management.Automation.Host.Coordinates",
    "System.Management.Automation.Host.Coordinates", "System.Int32", "System.Management.Automation.Host.Size",
    "System.Management.Automation.Host.Size", "System.Management.Automation.Host.Size",
    "System.Management.Automation.Host.Size", "System.String",
  };
  g_autoptr(CastellanClixmlValue) v = castellan_psrp_host_info_new (&defaults);
  g_autofree char *written = castellan_clixml_write (v);
  g_autoptr(CastellanClixmlValue) again = read_xml (written);
  CastellanClixmlValue *data;

  assert_names (v->extended, names);
  for (guint i = 1; names[i] != NULL; i++)
    g_assert_cmpint (ms (v, names[i])->kind, ==, CASTELLAN_CLIXML_BOOL);
  g_assert_cmpint (ms (v, "_isHostNull")->integer, ==, 0);
  g_assert_cmpint (ms (v, "_isHostUINull")->integer, ==, 0);
  g_assert_cmpint (ms (v, "_isHostRawUINull")->integer, ==, 0);
  g_assert_cmpint (ms (v, "_useRunspaceHost")->integer, ==, 0);
  data = ms (ms (v, "_hostDefaultData"), "data");
  g_assert_cmpstr (data->type_names[0], ==, "System.Collections.Hashtable");
  g_assert_cmpint (data->container, ==, CASTELLAN_CLIXML_CONTAINER_DICTIONARY);
  g_assert_cmpuint (data->entries->len, ==, 10);
  for (guint i = 0; i < 10; i++)
    {
      CastellanClixmlEntry *e = g_ptr_array_index (data->entries, i);

      g_assert_cmpint (e->key->kind, ==, CASTELLAN_CLIXML_INT32);
      g_assert_cmpint (e->key->integer, ==, i);
      g_assert_cmpstr (ms (e->value, "T")->text, ==, types[i]);
    }
#define ENTRY(i) (((CastellanClixmlEntry *) g_ptr_array_index (data->entries, i))->value)
  g_assert_cmpint (ms (ENTRY (0), "V")->integer, ==, 15);
  g_assert_cmpint (ms (ENTRY (1), "V")->integer, ==, 1);
  g_assert_cmpint (ms (ms (ENTRY (5), "V"), "width")->integer, ==, 160);
  g_assert_cmpint (ms (ms (ENTRY (5), "V"), "height")->integer, ==, 3000);
  g_assert_cmpint (ms (ms (ENTRY (6), "V"), "width")->integer, ==, 100);
  g_assert_cmpint (ms (ms (ENTRY (6), "V"), "height")->integer, ==, 40);
  g_assert_cmpstr (ms (ENTRY (9), "V")->text, ==, "admin@host");
#undef ENTRY
  g_assert_true (castellan_clixml_value_equal (v, again));
}

static void
test_host_info_null (void)
{
  g_autoptr(CastellanClixmlValue) v = castellan_psrp_host_info_new (NULL);
  g_autofree char *written = castellan_clixml_write (v);

  g_assert_cmpstr (written, ==,
                   "<Obj RefId=\"0\"><MS><B N=\"_isHostNull\">true</B><B N=\"_isHostUINull\">true</B>"
                   "<B N=\"_isHostRawUINull\">true</B><B N=\"_useRunspaceHost\">false</B></MS></Obj>");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/psrp/host/call-parse", test_call_parse);
  g_test_add_func ("/psrp/host/call-parse-void", test_call_parse_void);
  g_test_add_func ("/psrp/host/call-malformed", test_call_malformed);
  g_test_add_func ("/psrp/host/method-names", test_method_names);
  g_test_add_func ("/psrp/host/response", test_response);
  g_test_add_func ("/psrp/host/response-void", test_response_void);
  g_test_add_func ("/psrp/host/response-error", test_response_error);
  g_test_add_func ("/psrp/host/credential", test_credential);
  g_test_add_func ("/psrp/host/size", test_size);
  g_test_add_func ("/psrp/host/host-info", test_host_info);
  g_test_add_func ("/psrp/host/host-info-null", test_host_info_null);
  return g_test_run ();
}
