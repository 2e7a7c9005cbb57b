/* SPDX-License-Identifier: GPL-3.0-or-later */
/* CLIXML (MS-PSRP 2.2.5): exact output of the writer, what the reader
 * makes of each element, round trips, and hostile documents. */
#include <math.h>
#include <string.h>

#include "castellan-clixml.h"
#include "castellan-error.h"

static void
assert_writes (CastellanClixmlValue *value,
               const char           *want)
{
  g_autofree char *written = castellan_clixml_write (value);
  g_autoptr(GError) error = NULL;
  g_autoptr(CastellanClixmlValue) back = NULL;

  g_assert_cmpstr (written, ==, want);
  back = castellan_clixml_read (written, strlen (written), NULL, &error);
  g_assert_no_error (error);
  g_assert_true (castellan_clixml_value_equal (value, back));
  castellan_clixml_value_unref (value);
}

static CastellanClixmlValue *
read_ok (const char *xml)
{
  g_autoptr(GError) error = NULL;
  CastellanClixmlValue *value = castellan_clixml_read (xml, strlen (xml), NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (value);
  return value;
}

static void
test_write_strings (void)
{
  assert_writes (castellan_clixml_value_new_string ("plain"), "<S>plain</S>");
  assert_writes (castellan_clixml_value_new_string (""), "<S></S>");
  assert_writes (castellan_clixml_value_new_string ("a\r\nb\tc"), "<S>a_x000D__x000A_b_x0009_c</S>");
  assert_writes (castellan_clixml_value_new_string ("_x0041_ and _y"), "<S>_x005F_x0041_ and _y</S>");
  assert_writes (castellan_clixml_value_new_string ("<a & b>\"'"), "<S>&lt;a &amp; b&gt;\"'</S>");
  assert_writes (castellan_clixml_value_new_string ("\xc2\x85\x7f"), "<S>_x0085__x007F_</S>");
  assert_writes (castellan_clixml_value_new_string ("\xf0\x9f\x98\x80!"), "<S>_xD83D__xDE00_!</S>");
  assert_writes (castellan_clixml_value_new_string ("caf\xc3\xa9 \xe6\x97\xa5"), "<S>caf\xc3\xa9 \xe6\x97\xa5</S>");
}

static void
test_write_primitives (void)
{
  static const guint8 raw[] = { 0, 1, 2, 0xff };
  g_autoptr(GBytes) bytes = g_bytes_new_static (raw, sizeof raw);

  assert_writes (castellan_clixml_value_new (CASTELLAN_CLIXML_NULL), "<Nil />");
  assert_writes (castellan_clixml_value_new_bool (TRUE), "<B>true</B>");
  assert_writes (castellan_clixml_value_new_bool (FALSE), "<B>false</B>");
  assert_writes (castellan_clixml_value_new_unsigned (CASTELLAN_CLIXML_CHAR, 97), "<C>97</C>");
  assert_writes (castellan_clixml_value_new_unsigned (CASTELLAN_CLIXML_UINT8, 255), "<By>255</By>");
  assert_writes (castellan_clixml_value_new_signed (CASTELLAN_CLIXML_INT8, -128), "<SB>-128</SB>");
  assert_writes (castellan_clixml_value_new_unsigned (CASTELLAN_CLIXML_UINT16, 65535), "<U16>65535</U16>");
  assert_writes (castellan_clixml_value_new_signed (CASTELLAN_CLIXML_INT16, -2), "<I16>-2</I16>");
  assert_writes (castellan_clixml_value_new_unsigned (CASTELLAN_CLIXML_UINT32, 4294967295u), "<U32>4294967295</U32>");
  assert_writes (castellan_clixml_value_new_signed (CASTELLAN_CLIXML_INT32, G_MININT32), "<I32>-2147483648</I32>");
  assert_writes (castellan_clixml_value_new_unsigned (CASTELLAN_CLIXML_UINT64, G_MAXUINT64),
                 "<U64>18446744073709551615</U64>");
  assert_writes (castellan_clixml_value_new_signed (CASTELLAN_CLIXML_INT64, -100), "<I64>-100</I64>");
  assert_writes (castellan_clixml_value_new_real (CASTELLAN_CLIXML_DOUBLE, 0.1), "<Db>0.1</Db>");
  assert_writes (castellan_clixml_value_new_real (CASTELLAN_CLIXML_DOUBLE, 1e300), "<Db>1e+300</Db>");
  assert_writes (castellan_clixml_value_new_real (CASTELLAN_CLIXML_DOUBLE, -INFINITY), "<Db>-INF</Db>");
  assert_writes (castellan_clixml_value_new_real (CASTELLAN_CLIXML_DOUBLE, NAN), "<Db>NaN</Db>");
  assert_writes (castellan_clixml_value_new_real (CASTELLAN_CLIXML_FLOAT, 1.1), "<Sg>1.1</Sg>");
  assert_writes (castellan_clixml_value_new_text (CASTELLAN_CLIXML_DECIMAL, "79228162514264337593543950335"),
                 "<D>79228162514264337593543950335</D>");
  assert_writes (castellan_clixml_value_new_bytes (CASTELLAN_CLIXML_BYTES, bytes), "<BA>AAEC/w==</BA>");
  assert_writes (castellan_clixml_value_new_bytes (CASTELLAN_CLIXML_SECURE_STRING, bytes), "<SS>AAEC/w==</SS>");
  assert_writes (castellan_clixml_value_new_text (CASTELLAN_CLIXML_GUID, "792e5b37-4505-47ef-b7d2-8711bb7affa8"),
                 "<G>792e5b37-4505-47ef-b7d2-8711bb7affa8</G>");
  assert_writes (castellan_clixml_value_new_text (CASTELLAN_CLIXML_DATETIME, "2024-02-29T12:00:00.1234567+01:00"),
                 "<DT>2024-02-29T12:00:00.1234567+01:00</DT>");
  assert_writes (castellan_clixml_value_new_text (CASTELLAN_CLIXML_DURATION, "PT9.0269026S"),
                 "<TS>PT9.0269026S</TS>");
  assert_writes (castellan_clixml_value_new_text (CASTELLAN_CLIXML_URI, "http://h/a?b=1&c"),
                 "<URI>http://h/a?b=1&amp;c</URI>");
  assert_writes (castellan_clixml_value_new_text (CASTELLAN_CLIXML_VERSION, "5.1.14393.2248"),
                 "<Version>5.1.14393.2248</Version>");
  assert_writes (castellan_clixml_value_new_text (CASTELLAN_CLIXML_XML_DOCUMENT, "<a>b</a>"),
                 "<XD>&lt;a&gt;b&lt;/a&gt;</XD>");
  assert_writes (castellan_clixml_value_new_text (CASTELLAN_CLIXML_SCRIPT_BLOCK, "Get-Item 'x'"),
                 "<SBK>Get-Item 'x'</SBK>");
}

static void
test_write_objects (void)
{
  const char *list_type[] = { "System.Collections.ArrayList", "System.Object", NULL };
  const char *table_type[] = { "System.Collections.Hashtable", "System.Object", NULL };
  CastellanClixmlValue *capability = castellan_clixml_value_new_object (NULL, CASTELLAN_CLIXML_CONTAINER_NONE);
  CastellanClixmlValue *list = castellan_clixml_value_new_object (list_type, CASTELLAN_CLIXML_CONTAINER_LIST);
  CastellanClixmlValue *table = castellan_clixml_value_new_object (table_type, CASTELLAN_CLIXML_CONTAINER_DICTIONARY);
  CastellanClixmlValue *red = castellan_clixml_value_new_enum ("System.ConsoleColor", "Red", 12);
  CastellanClixmlValue *empty = castellan_clixml_value_new_object (list_type, CASTELLAN_CLIXML_CONTAINER_LIST);

  castellan_clixml_value_add_property (capability, TRUE, "protocolversion",
                                       castellan_clixml_value_new_text (CASTELLAN_CLIXML_VERSION, "2.3"));
  castellan_clixml_value_add_property (capability, TRUE, "PSVersion",
                                       castellan_clixml_value_new_text (CASTELLAN_CLIXML_VERSION, "2.0"));
  castellan_clixml_value_add_property (capability, TRUE, "SerializationVersion",
                                       castellan_clixml_value_new_text (CASTELLAN_CLIXML_VERSION, "1.1.0.1"));
  assert_writes (capability,
                 "<Obj RefId=\"0\"><MS><Version N=\"protocolversion\">2.3</Version>"
                 "<Version N=\"PSVersion\">2.0</Version>"
                 "<Version N=\"SerializationVersion\">1.1.0.1</Version></MS></Obj>");

  /* The same enum twice: one object, then a Ref; a second enum of the
   * same type: a TNRef. */
  castellan_clixml_value_add_item (list, castellan_clixml_value_ref (red));
  castellan_clixml_value_add_item (list, red);
  castellan_clixml_value_add_item (list, castellan_clixml_value_new_enum ("System.ConsoleColor", "Blue", 9));
  castellan_clixml_value_add_item (list, castellan_clixml_value_new (CASTELLAN_CLIXML_NULL));
  assert_writes (list,
                 "<Obj RefId=\"0\"><TN RefId=\"0\"><T>System.Collections.ArrayList</T><T>System.Object</T></TN>"
                 "<LST><Obj RefId=\"1\"><TN RefId=\"1\"><T>System.ConsoleColor</T><T>System.Enum</T>"
                 "<T>System.ValueType</T><T>System.Object</T></TN><ToString>Red</ToString><I32>12</I32></Obj>"
                 "<Ref RefId=\"1\" />"
                 "<Obj RefId=\"2\"><TNRef RefId=\"1\" /><ToString>Blue</ToString><I32>9</I32></Obj>"
                 "<Nil /></LST></Obj>");

  castellan_clixml_value_add_entry (table, castellan_clixml_value_new_string ("k_x"),
                                    castellan_clixml_value_new_signed (CASTELLAN_CLIXML_INT32, 1));
  castellan_clixml_value_add_entry (table, castellan_clixml_value_new_signed (CASTELLAN_CLIXML_INT32, 2), empty);
  castellan_clixml_value_add_property (table, FALSE, "Count", castellan_clixml_value_new_signed (CASTELLAN_CLIXML_INT32, 2));
  assert_writes (table,
                 "<Obj RefId=\"0\"><TN RefId=\"0\"><T>System.Collections.Hashtable</T><T>System.Object</T></TN>"
                 "<DCT><En><S N=\"Key\">k_x005F_x</S><I32 N=\"Value\">1</I32></En>"
                 "<En><I32 N=\"Key\">2</I32><Obj N=\"Value\" RefId=\"1\"><TN RefId=\"1\">"
                 "<T>System.Collections.ArrayList</T><T>System.Object</T></TN><LST /></Obj></En></DCT>"
                 "<Props><I32 N=\"Count\">2</I32></Props></Obj>");
}

static void
test_read_elements (void)
{
  g_autoptr(CastellanClixmlValue) v = read_ok (
      "<Obj RefId=\"0\"><TN RefId=\"0\"><T>A_x002E_B</T></TN><ToString>x_x000A_y</ToString>"
      "<MS><S N=\"s\">a_x000D__x000A_b</S><C N=\"c\">97</C><B N=\"b\">true</B>"
      "<DT N=\"dt\">2018-06-13T23:46:28.00516+00:00</DT><TS N=\"ts\">PT1S</TS>"
      "<By N=\"by\">7</By><SB N=\"sb\">-7</SB><U16 N=\"u16\">7</U16><I16 N=\"i16\">-7</I16>"
      "<U32 N=\"u32\">7</U32><I32 N=\"i32\"> -7 </I32><U64 N=\"u64\">7</U64><I64 N=\"i64\">-7</I64>"
      "<Sg N=\"sg\">1.5</Sg><Db N=\"db\">-INF</Db><D N=\"d\">1.10</D><BA N=\"ba\">AAEC</BA>"
      "<G N=\"g\">792E5B37-4505-47EF-B7D2-8711BB7AFFA8</G><URI N=\"uri\">http://x/</URI>"
      "<Version N=\"v\">1.2.3</Version><XD N=\"xd\">&lt;x/&gt;</XD><SBK N=\"sbk\">{ 1 }</SBK>"
      "<SS N=\"ss\">AQID</SS><Nil N=\"nil\" /><Obj N=\"o\" RefId=\"1\"><TNRef RefId=\"0\" /></Obj>"
      "<Ref N=\"again\" RefId=\"1\" /></MS></Obj>");
  CastellanClixmlValue *p;

  g_assert_cmpstr (v->type_names[0], ==, "A.B");
  g_assert_cmpstr (v->to_string, ==, "x\ny");
  g_assert_cmpstr (castellan_clixml_value_get_property (v, "s")->text, ==, "a\r\nb");
  g_assert_cmpuint (castellan_clixml_value_get_property (v, "c")->unsigned_integer, ==, 97);
  g_assert_cmpint (castellan_clixml_value_get_property (v, "b")->integer, ==, 1);
  g_assert_cmpstr (castellan_clixml_value_get_property (v, "dt")->text, ==, "2018-06-13T23:46:28.00516+00:00");
  g_assert_cmpint (castellan_clixml_value_get_property (v, "i32")->integer, ==, -7);
  g_assert_cmpint (castellan_clixml_value_get_property (v, "sb")->kind, ==, CASTELLAN_CLIXML_INT8);
  g_assert_cmpfloat (castellan_clixml_value_get_property (v, "sg")->real, ==, 1.5);
  g_assert_true (isinf (castellan_clixml_value_get_property (v, "db")->real));
  g_assert_cmpstr (castellan_clixml_value_get_property (v, "d")->text, ==, "1.10");
  g_assert_cmpuint (g_bytes_get_size (castellan_clixml_value_get_property (v, "ba")->bytes), ==, 3);
  g_assert_cmpstr (castellan_clixml_value_get_property (v, "xd")->text, ==, "<x/>");
  g_assert_cmpint (castellan_clixml_value_get_property (v, "ss")->kind, ==, CASTELLAN_CLIXML_SECURE_STRING);
  g_assert_cmpint (castellan_clixml_value_get_property (v, "nil")->kind, ==, CASTELLAN_CLIXML_NULL);
  p = castellan_clixml_value_get_property (v, "o");
  g_assert_cmpstr (p->type_names[0], ==, "A.B");
  g_assert_true (castellan_clixml_value_get_property (v, "again") == p);
  g_assert_null (castellan_clixml_value_get_property (v, "absent"));
}

static void
test_unescape (void)
{
  static const struct { const char *in; const char *out; gsize length; } cases[] = {
    { "_xD83D__xDE00_", "\xf0\x9f\x98\x80", 4 },
    { "_xd83d__xde00_", "\xf0\x9f\x98\x80", 4 },
    { "_xD83D_x", "\xef\xbf\xbdx", 4 },          /* a lone high surrogate */
    { "_xDE00_", "\xef\xbf\xbd", 3 },            /* a lone low surrogate */
    { "_xD83D__xD83D__xDE00_", "\xef\xbf\xbd\xf0\x9f\x98\x80", 7 },
    { "_x005F_x0041_", "_x0041_", 7 },
    { "_x12_ _x12345_ _X0041_", "_x12_ _x12345_ _X0041_", 22 },
    { "a_x0000_b", "a\0b", 3 },
    { "_x", "_x", 2 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      gsize length;
      g_autofree char *out = castellan_clixml_unescape (cases[i].in, strlen (cases[i].in), &length);

      g_assert_cmpmem (out, length, cases[i].out, cases[i].length);
    }
}

static void
test_nul_round_trip (void)
{
  g_autoptr(CastellanClixmlValue) v = read_ok ("<S>a_x0000_b</S>");
  g_autofree char *written = castellan_clixml_write (v);

  g_assert_cmpuint (v->text_length, ==, 3);
  g_assert_cmpstr (written, ==, "<S>a_x0000_b</S>");
}

static void
test_back_reference (void)
{
  /* An object whose list holds the object itself, as PowerShell sends
   * a self-referring graph. */
  g_autoptr(CastellanClixmlValue) v = read_ok (
      "<Obj RefId=\"7\"><TN RefId=\"0\"><T>Node</T></TN><MS><Obj N=\"children\" RefId=\"8\">"
      "<LST><Ref RefId=\"7\" /><Ref RefId=\"8\" /></LST></Obj></MS></Obj>");
  CastellanClixmlValue *children = castellan_clixml_value_get_property (v, "children");
  g_autofree char *written = NULL;
  CastellanClixmlValue *up;

  up = g_ptr_array_index (children->items, 0);
  g_assert_cmpint (up->kind, ==, CASTELLAN_CLIXML_BACK_REFERENCE);
  g_assert_cmpuint (up->unsigned_integer, ==, 2);
  up = g_ptr_array_index (children->items, 1);
  g_assert_cmpuint (up->unsigned_integer, ==, 1);
  written = castellan_clixml_write (v);
  g_assert_cmpstr (written, ==,
                   "<Obj RefId=\"0\"><TN RefId=\"0\"><T>Node</T></TN><MS><Obj N=\"children\" RefId=\"1\">"
                   "<LST><Ref RefId=\"0\" /><Ref RefId=\"1\" /></LST></Obj></MS></Obj>");
}

static void
test_round_trip (void)
{
  const char *xml =
    "<Obj RefId=\"0\"><TN RefId=\"0\"><T>Outer</T></TN><ToString>o</ToString>"
    "<Obj RefId=\"1\"><TNRef RefId=\"0\" /><Props><S N=\"x\">1</S></Props></Obj>"
    "<Props><S N=\"p\">_x005F_x_x0009_</S></Props>"
    "<MS><Obj N=\"q\" RefId=\"2\"><TN RefId=\"1\"><T>System.Collections.Queue</T></TN>"
    "<QUE><S>a</S></QUE></Obj><Obj N=\"s\" RefId=\"3\"><STK><Ref RefId=\"2\" /></STK></Obj>"
    "<Obj N=\"e\" RefId=\"4\"><IE /></Obj></MS></Obj>";
  g_autoptr(CastellanClixmlValue) v = read_ok (xml);
  g_autofree char *written = castellan_clixml_write (v);
  g_autoptr(CastellanClixmlValue) again = read_ok (written);
  g_autoptr(CastellanClixmlValue) other = read_ok ("<Obj RefId=\"0\"><TN RefId=\"0\"><T>Outer</T></TN></Obj>");

  g_assert_cmpstr (written, ==, xml);
  g_assert_true (castellan_clixml_value_equal (v, again));
  g_assert_false (castellan_clixml_value_equal (v, other));
  g_assert_cmpint (v->inner->kind, ==, CASTELLAN_CLIXML_OBJECT);
}

typedef struct
{
  const char *name;
  const char *xml;
  int code;
  const char *detail;
} Hostile;

static const Hostile HOSTILE[] = {
  { "dtd", "<!DOCTYPE S [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;\">]><S>&b;</S>",
    CASTELLAN_ERROR_PSRP_MALFORMED, "DTD" },
  { "external-entity", "<!DOCTYPE S SYSTEM \"file:///etc/passwd\"><S>x</S>",
    CASTELLAN_ERROR_PSRP_MALFORMED, "DTD" },
  { "not-xml", "<S>", CASTELLAN_ERROR_PSRP_MALFORMED, "well-formed" },
  { "empty", "", CASTELLAN_ERROR_PSRP_MALFORMED, "well-formed" },
  { "unknown-element", "<Obj RefId=\"0\"><Wat /></Obj>", CASTELLAN_ERROR_PSRP_MALFORMED, "<Wat>" },
  { "unknown-root", "<Wat />", CASTELLAN_ERROR_PSRP_MALFORMED, "<Wat>" },
  { "bad-int", "<I32>abc</I32>", CASTELLAN_ERROR_PSRP_MALFORMED, "<I32>" },
  { "int-overflow", "<I32>2147483648</I32>", CASTELLAN_ERROR_PSRP_MALFORMED, "<I32>" },
  { "byte-overflow", "<By>256</By>", CASTELLAN_ERROR_PSRP_MALFORMED, "<By>" },
  { "negative-unsigned", "<U64>-1</U64>", CASTELLAN_ERROR_PSRP_MALFORMED, "<U64>" },
  { "bad-bool", "<B>yes</B>", CASTELLAN_ERROR_PSRP_MALFORMED, "<B>" },
  { "bad-double", "<Db>1.5x</Db>", CASTELLAN_ERROR_PSRP_MALFORMED, "<Db>" },
  { "bad-guid", "<G>not-a-guid</G>", CASTELLAN_ERROR_PSRP_MALFORMED, "<G>" },
  { "bad-version", "<Version>1..2</Version>", CASTELLAN_ERROR_PSRP_MALFORMED, "<Version>" },
  { "bad-base64", "<BA>@@@</BA>", CASTELLAN_ERROR_PSRP_MALFORMED, "<BA>" },
  { "unknown-ref", "<Obj RefId=\"0\"><LST><Ref RefId=\"9\" /></LST></Obj>",
    CASTELLAN_ERROR_PSRP_MALFORMED, "unknown object" },
  { "unknown-tnref", "<Obj RefId=\"0\"><TNRef RefId=\"9\" /></Obj>",
    CASTELLAN_ERROR_PSRP_MALFORMED, "unknown type names" },
  { "duplicate-refid", "<Obj RefId=\"0\"><LST><Obj RefId=\"0\" /></LST></Obj>",
    CASTELLAN_ERROR_PSRP_MALFORMED, "used twice" },
  { "two-values", "<Obj RefId=\"0\"><I32>1</I32><LST /></Obj>", CASTELLAN_ERROR_PSRP_MALFORMED, "two values" },
  { "nameless-property", "<Obj RefId=\"0\"><MS><S>x</S></MS></Obj>", CASTELLAN_ERROR_PSRP_MALFORMED, "no name" },
  { "half-entry", "<Obj RefId=\"0\"><DCT><En><S N=\"Key\">k</S></En></DCT></Obj>",
    CASTELLAN_ERROR_PSRP_MALFORMED, "one key and one value" },
  { "double-key", "<Obj RefId=\"0\"><DCT><En><S N=\"Key\">k</S><S N=\"Key\">k</S></En></DCT></Obj>",
    CASTELLAN_ERROR_PSRP_MALFORMED, "one key and one value" },
};

static void
test_hostile (gconstpointer data)
{
  const Hostile *h = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(CastellanClixmlValue) v = castellan_clixml_read (h->xml, strlen (h->xml), NULL, &error);

  g_assert_null (v);
  g_assert_error (error, CASTELLAN_ERROR, h->code);
  g_assert_nonnull (strstr (error->message, h->detail));
}

static void
assert_limit (const char                  *xml,
              const CastellanClixmlLimits *limits,
              const char                  *detail)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CastellanClixmlValue) v = castellan_clixml_read (xml, strlen (xml), limits, &error);

  g_assert_null (v);
  g_assert_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_PSRP_LIMIT);
  g_assert_nonnull (strstr (error->message, detail));
}

static char *
nested (guint levels)
{
  GString *xml = g_string_new (NULL);

  for (guint i = 0; i < levels; i++)
    g_string_append_printf (xml, "<Obj RefId=\"%u\"><LST>", i);
  g_string_append (xml, "<S>deep</S>");
  for (guint i = 0; i < levels; i++)
    g_string_append (xml, "</LST></Obj>");
  return g_string_free (xml, FALSE);
}

static void
test_limits (void)
{
  CastellanClixmlLimits limits = { 64, 1024 * 1024, 1000, 1000 };
  g_autofree char *shallow = nested (10);
  g_autofree char *deep = nested (40);
  g_autofree char *deeper = nested (5000);
  g_autoptr(GString) many = g_string_new ("<Obj RefId=\"x\"><LST>");
  g_autoptr(GError) error = NULL;
  g_autoptr(CastellanClixmlValue) ok = NULL;

  ok = castellan_clixml_read (shallow, strlen (shallow), &limits, &error);
  g_assert_no_error (error);
  assert_limit (deep, &limits, "deeper than 64");
  /* Past what libxml2 itself nests: refused either way. */
  {
    g_autoptr(CastellanClixmlValue) v = castellan_clixml_read (deeper, strlen (deeper), NULL, &error);

    g_assert_null (v);
    g_assert_nonnull (error);
    g_clear_error (&error);
  }
  /* Each level refers twice to the one before: small on the wire,
   * exponential when walked. */
  {
    /* A flat bomb: level i lists level i-1 twice by reference. */
    g_autoptr(GString) bomb = g_string_new ("<Obj RefId=\"top\"><LST>");

    g_string_append (bomb, "<Obj RefId=\"0\"><LST><S>lol</S><S>lol</S></LST></Obj>");
    for (guint i = 1; i < 40; i++)
      g_string_append_printf (bomb, "<Obj RefId=\"%u\"><LST><Ref RefId=\"%u\" /><Ref RefId=\"%u\" /></LST></Obj>",
                              i, i - 1, i - 1);
    g_string_append (bomb, "</LST></Obj>");
    assert_limit (bomb->str, NULL, "more than 2000000 values");
    assert_limit (bomb->str, &limits, "more than 1000 values");
  }
  for (guint i = 0; i < 1001; i++)
    g_string_append_printf (many, "<Obj RefId=\"%u\" />", i);
  g_string_append (many, "</LST></Obj>");
  assert_limit (many->str, &limits, "more than 1000 references");
  limits.max_size = 100;
  assert_limit (many->str, &limits, "larger than");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/clixml/write/strings", test_write_strings);
  g_test_add_func ("/clixml/write/primitives", test_write_primitives);
  g_test_add_func ("/clixml/write/objects", test_write_objects);
  g_test_add_func ("/clixml/read/elements", test_read_elements);
  g_test_add_func ("/clixml/read/unescape", test_unescape);
  g_test_add_func ("/clixml/read/nul", test_nul_round_trip);
  g_test_add_func ("/clixml/read/back-reference", test_back_reference);
  g_test_add_func ("/clixml/round-trip", test_round_trip);
  for (gsize i = 0; i < G_N_ELEMENTS (HOSTILE); i++)
    {
      g_autofree char *path = g_strdup_printf ("/clixml/hostile/%s", HOSTILE[i].name);

      g_test_add_data_func (path, &HOSTILE[i], test_hostile);
    }
  g_test_add_func ("/clixml/hostile/limits", test_limits);
  return g_test_run ();
}
