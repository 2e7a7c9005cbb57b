/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Replies that declare a DTD are refused the moment it begins: none of its
 * declarations is read, no entity is ever expanded. */
#include <libxml/parser.h>
#include <libxml/xmlmemory.h>
#include <string.h>

#include "castellan-error.h"
#include "castellan-wsman-reply.h"
#include "castellan-xml.h"

/* libxml2's allocations, counted: what the parser did, without a clock. */
static gsize allocations;

static void *
count_malloc (size_t size)
{
  allocations++;
  return malloc (size);
}

static void *
count_realloc (void   *mem,
               size_t  size)
{
  allocations++;
  return realloc (mem, size);
}

static char *
count_strdup (const char *str)
{
  allocations++;
  return strdup (str);
}

#define SHELL "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
#define HEAD "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" " \
             "xmlns:a=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\" " \
             "xmlns:rsp=\"" SHELL "\"><s:Header><a:Action>" SHELL "/ReceiveResponse</a:Action>" \
             "</s:Header><s:Body><rsp:ReceiveResponse>"
#define TAIL "</rsp:ReceiveResponse></s:Body></s:Envelope>"

/* A DTD of many entity declarations, then a body that uses them. */
static char *
with_dtd (const char *body,
          guint       n_entities,
          gsize      *bracket)
{
  GString *xml = g_string_new ("<?xml version=\"1.0\"?>\n<!DOCTYPE s:Envelope [");

  *bracket = xml->len - 1;
  g_string_append (xml, "<!ENTITY lol \"lol\">");
  for (guint i = 0; i < n_entities; i++)
    g_string_append_printf (xml, "<!ENTITY e%u \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">", i);
  g_string_append (xml, "]>");
  g_string_append (xml, body);
  return g_string_free (xml, FALSE);
}

static void
test_dtd_stops_at_once (void)
{
  gsize bracket, dtd_at = 0;
  g_autofree char *xml = with_dtd (HEAD "<rsp:Stream Name=\"stdout\">&e1;</rsp:Stream>" TAIL,
                                   20000, &bracket);
  xmlDoc *doc;

  allocations = 0;
  doc = castellan_xml_parse_full (xml, strlen (xml), &dtd_at);
  g_assert_null (doc);
  /* Stopped where the DTD begins, before its first declaration... */
  g_assert_cmpuint (dtd_at, <=, bracket + 1);
  /* ...so none of the 20,000 entities was ever stored. */
  g_test_message ("%" G_GSIZE_FORMAT " allocations", allocations);
  g_assert_cmpuint (allocations, <, 2000);
}

static void
test_external_dtd_refused (void)
{
  static const char xml[] =
    "<!DOCTYPE r SYSTEM \"http://192.0.2.1/evil.dtd\"><r>x</r>";
  gsize dtd_at = 0;

  g_assert_null (castellan_xml_parse_full (xml, sizeof xml - 1, &dtd_at));
  g_assert_cmpuint (dtd_at, <, sizeof xml - 1);
}

static void
test_undeclared_entity_refused (void)
{
  static const char xml[] = "<r>&xxe;</r>";
  gsize dtd_at = 0;

  g_assert_null (castellan_xml_parse_full (xml, sizeof xml - 1, &dtd_at));
  g_assert_cmpuint (dtd_at, ==, G_MAXSIZE);
}

static void
test_plain_document (void)
{
  static const char xml[] = "<r a=\"1\">&lt;ok&gt; &amp; &#65;</r>";
  gsize dtd_at = 0;
  xmlDoc *doc = castellan_xml_parse_full (xml, sizeof xml - 1, &dtd_at);
  g_autofree char *text = NULL;

  g_assert_nonnull (doc);
  g_assert_cmpuint (dtd_at, ==, G_MAXSIZE);
  text = castellan_xml_text (xmlDocGetRootElement (doc));
  g_assert_cmpstr (text, ==, "<ok> & A");
  xmlFreeDoc (doc);
}

static void
on_stream (CastellanStream  stream,
           const guint8    *data,
           gsize            length,
           gpointer         user_data)
{
  (*(guint *) user_data)++;
}

/* Through the reply reader, on both its readers: a Receive reply (the
 * fast reader's shape) and a fault (the tree reader's). */
static void
test_reply_with_dtd (void)
{
  static const char *bodies[] = {
    HEAD "<rsp:Stream Name=\"stdout\" CommandId=\"C\">&e1;</rsp:Stream>" TAIL,
    HEAD "<rsp:Stream Name=\"stdout\" CommandId=\"C\">aGk=</rsp:Stream>" TAIL,
    ("<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body><s:Fault>"
     "<s:Reason><s:Text>&e1;</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>"),
  };

  for (guint i = 0; i < G_N_ELEMENTS (bodies); i++)
    {
      gsize bracket;
      g_autofree char *xml = with_dtd (bodies[i], 2000, &bracket);
      g_autoptr(GError) error = NULL;
      CastellanWsmanReply *reply;
      guint chunks = 0;

      allocations = 0;
      reply = castellan_wsman_reply_parse (xml, strlen (xml), 0, "host", on_stream, &chunks, &error);
      g_assert_null (reply);
      g_assert_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_MALFORMED_REPLY);
      g_assert_cmpuint (chunks, ==, 0);
      g_assert_cmpuint (allocations, <, 2000);
    }
}

int
main (int   argc,
      char *argv[])
{
  /* Before libxml2 allocates anything. */
  xmlMemSetup (free, count_malloc, count_realloc, count_strdup);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/xml/dtd-stops-at-once", test_dtd_stops_at_once);
  g_test_add_func ("/xml/external-dtd", test_external_dtd_refused);
  g_test_add_func ("/xml/undeclared-entity", test_undeclared_entity_refused);
  g_test_add_func ("/xml/plain", test_plain_document);
  g_test_add_func ("/xml/reply-with-dtd", test_reply_with_dtd);
  return g_test_run ();
}
