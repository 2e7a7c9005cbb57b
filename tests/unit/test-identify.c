/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <string.h>

#include "castellan-error.h"
#include "castellan-identify.h"

static void
test_identify_windows_reply (void)
{
  /* The shape Windows sends to an unauthenticated Identify. */
  static const char reply[] =
    "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" "
    "xmlns:wsmid=\"http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd\">"
    "<s:Header/><s:Body><wsmid:IdentifyResponse>"
    "<wsmid:ProtocolVersion>http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd</wsmid:ProtocolVersion>"
    "<wsmid:ProductVendor>Microsoft Corporation</wsmid:ProductVendor>"
    "<wsmid:ProductVersion>OS: 0.0.0 SP: 0.0 Stack: 3.0</wsmid:ProductVersion>"
    "</wsmid:IdentifyResponse></s:Body></s:Envelope>";
  g_autoptr(GError) error = NULL;
  g_autoptr(CastellanIdentity) id = castellan_identity_parse (reply, strlen (reply), &error);

  g_assert_no_error (error);
  g_assert_cmpstr (id->product_vendor, ==, "Microsoft Corporation");
  g_assert_cmpstr (id->product_version, ==, "OS: 0.0.0 SP: 0.0 Stack: 3.0");
  g_assert_cmpstr (id->protocol_version, ==, "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd");
}

static void
test_identify_refuses (void)
{
  static const char *bad[] = {
    "",
    "not xml",
    "<html><body>It works!</body></html>",
    /* Right names in the wrong namespace. */
    "<s:Envelope xmlns:s=\"urn:other\"><s:Body><IdentifyResponse/></s:Body></s:Envelope>",
    /* A DTD, the door to entity expansion, is refused outright. */
    ("<?xml version=\"1.0\"?><!DOCTYPE s [<!ENTITY x \"y\">]>"
     "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"/>"),
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(CastellanIdentity) id = castellan_identity_parse (bad[i], strlen (bad[i]), &error);

      g_assert_null (id);
      g_assert_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_MALFORMED_REPLY);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/identify/windows-reply", test_identify_windows_reply);
  g_test_add_func ("/identify/refuses", test_identify_refuses);
  return g_test_run ();
}
