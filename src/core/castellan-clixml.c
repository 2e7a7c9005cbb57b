/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "castellan-clixml.h"
#include "castellan-error.h"
#include "castellan-psrp-message.h"
#include "castellan-xml.h"

/* How each primitive of MS-PSRP 2.2.5.1 is written. */
typedef enum
{
  FORM_NONE,
  FORM_TEXT,       /* escaped text, kept as written */
  FORM_LEXICAL,    /* a lexical form, trimmed */
  FORM_BOOL,
  FORM_SIGNED,
  FORM_UNSIGNED,
  FORM_REAL,
  FORM_BASE64,
} Form;

static const struct
{
  CastellanClixmlKind kind;
  const char *element;
  Form form;
  gint64 min;
  guint64 max;
} PRIMITIVES[] = {
  { CASTELLAN_CLIXML_NULL, "Nil", FORM_NONE, 0, 0 },
  { CASTELLAN_CLIXML_STRING, "S", FORM_TEXT, 0, 0 },
  { CASTELLAN_CLIXML_CHAR, "C", FORM_UNSIGNED, 0, G_MAXUINT16 },
  { CASTELLAN_CLIXML_BOOL, "B", FORM_BOOL, 0, 0 },
  { CASTELLAN_CLIXML_DATETIME, "DT", FORM_LEXICAL, 0, 0 },
  { CASTELLAN_CLIXML_DURATION, "TS", FORM_LEXICAL, 0, 0 },
  { CASTELLAN_CLIXML_UINT8, "By", FORM_UNSIGNED, 0, G_MAXUINT8 },
  { CASTELLAN_CLIXML_INT8, "SB", FORM_SIGNED, G_MININT8, G_MAXINT8 },
  { CASTELLAN_CLIXML_UINT16, "U16", FORM_UNSIGNED, 0, G_MAXUINT16 },
  { CASTELLAN_CLIXML_INT16, "I16", FORM_SIGNED, G_MININT16, G_MAXINT16 },
  { CASTELLAN_CLIXML_UINT32, "U32", FORM_UNSIGNED, 0, G_MAXUINT32 },
  { CASTELLAN_CLIXML_INT32, "I32", FORM_SIGNED, G_MININT32, G_MAXINT32 },
  { CASTELLAN_CLIXML_UINT64, "U64", FORM_UNSIGNED, 0, G_MAXUINT64 },
  { CASTELLAN_CLIXML_INT64, "I64", FORM_SIGNED, G_MININT64, G_MAXINT64 },
  { CASTELLAN_CLIXML_FLOAT, "Sg", FORM_REAL, 0, 0 },
  { CASTELLAN_CLIXML_DOUBLE, "Db", FORM_REAL, 0, 0 },
  { CASTELLAN_CLIXML_DECIMAL, "D", FORM_LEXICAL, 0, 0 },
  { CASTELLAN_CLIXML_BYTES, "BA", FORM_BASE64, 0, 0 },
  { CASTELLAN_CLIXML_GUID, "G", FORM_LEXICAL, 0, 0 },
  { CASTELLAN_CLIXML_URI, "URI", FORM_TEXT, 0, 0 },
  { CASTELLAN_CLIXML_VERSION, "Version", FORM_LEXICAL, 0, 0 },
  { CASTELLAN_CLIXML_XML_DOCUMENT, "XD", FORM_TEXT, 0, 0 },
  { CASTELLAN_CLIXML_SCRIPT_BLOCK, "SBK", FORM_TEXT, 0, 0 },
  { CASTELLAN_CLIXML_SECURE_STRING, "SS", FORM_BASE64, 0, 0 },
  { CASTELLAN_CLIXML_OBJECT, "Obj", FORM_NONE, 0, 0 },
  { CASTELLAN_CLIXML_BACK_REFERENCE, "Ref", FORM_NONE, 0, 0 },
};

static const char *const CONTAINERS[] = { NULL, "STK", "QUE", "LST", "IE", "DCT" };

const char *
castellan_clixml_kind_element (CastellanClixmlKind kind)
{
  for (gsize i = 0; i < G_N_ELEMENTS (PRIMITIVES); i++)
    if (PRIMITIVES[i].kind == kind)
      return PRIMITIVES[i].element;
  return NULL;
}

static int
primitive_index (CastellanClixmlKind kind)
{
  for (gsize i = 0; i < G_N_ELEMENTS (PRIMITIVES); i++)
    if (PRIMITIVES[i].kind == kind)
      return (int) i;
  g_return_val_if_reached (0);
}

/* Values */

CastellanClixmlValue *
castellan_clixml_value_new (CastellanClixmlKind kind)
{
  CastellanClixmlValue *value = g_new0 (CastellanClixmlValue, 1);

  g_atomic_ref_count_init (&value->ref_count);
  value->kind = kind;
  value->weight = 1;
  return value;
}

CastellanClixmlValue *
castellan_clixml_value_new_text (CastellanClixmlKind  kind,
                                 const char          *text)
{
  CastellanClixmlValue *value = castellan_clixml_value_new (kind);

  value->text = g_strdup (text != NULL ? text : "");
  value->text_length = strlen (value->text);
  return value;
}

CastellanClixmlValue *
castellan_clixml_value_new_string (const char *text)
{
  return castellan_clixml_value_new_text (CASTELLAN_CLIXML_STRING, text);
}

CastellanClixmlValue *
castellan_clixml_value_new_bool (gboolean value)
{
  CastellanClixmlValue *v = castellan_clixml_value_new (CASTELLAN_CLIXML_BOOL);

  v->integer = value ? 1 : 0;
  return v;
}

CastellanClixmlValue *
castellan_clixml_value_new_signed (CastellanClixmlKind kind,
                                   gint64              value)
{
  CastellanClixmlValue *v = castellan_clixml_value_new (kind);

  v->integer = value;
  return v;
}

CastellanClixmlValue *
castellan_clixml_value_new_unsigned (CastellanClixmlKind kind,
                                     guint64             value)
{
  CastellanClixmlValue *v = castellan_clixml_value_new (kind);

  v->unsigned_integer = value;
  return v;
}

CastellanClixmlValue *
castellan_clixml_value_new_real (CastellanClixmlKind kind,
                                 double              value)
{
  CastellanClixmlValue *v = castellan_clixml_value_new (kind);

  v->real = kind == CASTELLAN_CLIXML_FLOAT ? (double) (float) value : value;
  return v;
}

CastellanClixmlValue *
castellan_clixml_value_new_bytes (CastellanClixmlKind  kind,
                                  GBytes              *bytes)
{
  CastellanClixmlValue *v = castellan_clixml_value_new (kind);

  v->bytes = bytes != NULL ? g_bytes_ref (bytes) : g_bytes_new (NULL, 0);
  return v;
}

CastellanClixmlValue *
castellan_clixml_value_new_object (const char *const        *type_names,
                                   CastellanClixmlContainer  container)
{
  CastellanClixmlValue *v = castellan_clixml_value_new (CASTELLAN_CLIXML_OBJECT);

  v->type_names = type_names != NULL ? g_strdupv ((char **) type_names) : NULL;
  v->container = container;
  return v;
}

/* MS-PSRP 2.2.5.2.7: an enum is its type, then System.Enum and its bases. */
CastellanClixmlValue *
castellan_clixml_value_new_enum (const char *type_name,
                                 const char *to_string,
                                 gint32      value)
{
  const char *names[] = { type_name, "System.Enum", "System.ValueType", "System.Object", NULL };
  CastellanClixmlValue *v = castellan_clixml_value_new_object (names, CASTELLAN_CLIXML_CONTAINER_NONE);

  v->to_string = g_strdup (to_string);
  v->inner = castellan_clixml_value_new_signed (CASTELLAN_CLIXML_INT32, value);
  v->weight = 2;
  return v;
}

CastellanClixmlValue *
castellan_clixml_value_ref (CastellanClixmlValue *value)
{
  g_atomic_ref_count_inc (&value->ref_count);
  return value;
}

static void
property_free (gpointer data)
{
  CastellanClixmlProperty *p = data;

  g_free (p->name);
  g_clear_pointer (&p->value, castellan_clixml_value_unref);
  g_free (p);
}

static void
entry_free (gpointer data)
{
  CastellanClixmlEntry *e = data;

  g_clear_pointer (&e->key, castellan_clixml_value_unref);
  g_clear_pointer (&e->value, castellan_clixml_value_unref);
  g_free (e);
}

void
castellan_clixml_value_unref (CastellanClixmlValue *value)
{
  if (value == NULL || !g_atomic_ref_count_dec (&value->ref_count))
    return;
  g_free (value->text);
  g_clear_pointer (&value->bytes, g_bytes_unref);
  g_strfreev (value->type_names);
  g_free (value->to_string);
  g_clear_pointer (&value->inner, castellan_clixml_value_unref);
  g_clear_pointer (&value->items, g_ptr_array_unref);
  g_clear_pointer (&value->entries, g_ptr_array_unref);
  g_clear_pointer (&value->adapted, g_ptr_array_unref);
  g_clear_pointer (&value->extended, g_ptr_array_unref);
  g_free (value);
}

static guint64
add_weight (guint64 a,
            guint64 b)
{
  return a > G_MAXUINT64 - b ? G_MAXUINT64 : a + b;
}

void
castellan_clixml_value_add_property (CastellanClixmlValue *object,
                                     gboolean              extended,
                                     const char           *name,
                                     CastellanClixmlValue *value)
{
  GPtrArray **list = extended ? &object->extended : &object->adapted;
  CastellanClixmlProperty *p = g_new0 (CastellanClixmlProperty, 1);

  g_return_if_fail (object->kind == CASTELLAN_CLIXML_OBJECT);
  if (*list == NULL)
    *list = g_ptr_array_new_with_free_func (property_free);
  p->name = g_strdup (name);
  p->value = value;
  object->weight = add_weight (object->weight, value->weight);
  g_ptr_array_add (*list, p);
}

void
castellan_clixml_value_add_item (CastellanClixmlValue *object,
                                 CastellanClixmlValue *value)
{
  g_return_if_fail (object->kind == CASTELLAN_CLIXML_OBJECT);
  if (object->items == NULL)
    object->items = g_ptr_array_new_with_free_func ((GDestroyNotify) castellan_clixml_value_unref);
  object->weight = add_weight (object->weight, value->weight);
  g_ptr_array_add (object->items, value);
}

void
castellan_clixml_value_add_entry (CastellanClixmlValue *object,
                                  CastellanClixmlValue *key,
                                  CastellanClixmlValue *value)
{
  CastellanClixmlEntry *e = g_new0 (CastellanClixmlEntry, 1);

  g_return_if_fail (object->kind == CASTELLAN_CLIXML_OBJECT);
  if (object->entries == NULL)
    object->entries = g_ptr_array_new_with_free_func (entry_free);
  e->key = key;
  e->value = value;
  object->weight = add_weight (object->weight, add_weight (key->weight, value->weight));
  g_ptr_array_add (object->entries, e);
}

static CastellanClixmlValue *
find_property (GPtrArray  *list,
               const char *name)
{
  for (guint i = 0; list != NULL && i < list->len; i++)
    {
      CastellanClixmlProperty *p = g_ptr_array_index (list, i);

      if (g_strcmp0 (p->name, name) == 0)
        return p->value;
    }
  return NULL;
}

/* Returns: (transfer none) (nullable): the extended property @name, else
 * the adapted one */
CastellanClixmlValue *
castellan_clixml_value_get_property (const CastellanClixmlValue *object,
                                     const char                 *name)
{
  CastellanClixmlValue *found;

  if (object == NULL || object->kind != CASTELLAN_CLIXML_OBJECT)
    return NULL;
  found = find_property (object->extended, name);
  return found != NULL ? found : find_property (object->adapted, name);
}

/* Returns: (transfer none) (nullable): the value of the dictionary entry
 * whose key is the string @key */
CastellanClixmlValue *
castellan_clixml_value_lookup (const CastellanClixmlValue *dictionary,
                               const char                 *key)
{
  if (dictionary == NULL || dictionary->kind != CASTELLAN_CLIXML_OBJECT)
    return NULL;
  for (guint i = 0; dictionary->entries != NULL && i < dictionary->entries->len; i++)
    {
      CastellanClixmlEntry *e = g_ptr_array_index (dictionary->entries, i);

      if (e->key->kind == CASTELLAN_CLIXML_STRING && g_strcmp0 (e->key->text, key) == 0)
        return e->value;
    }
  return NULL;
}

static gboolean
properties_equal (GPtrArray *a,
                  GPtrArray *b)
{
  if ((a == NULL) != (b == NULL))
    return FALSE;
  if (a == NULL)
    return TRUE;
  if (a->len != b->len)
    return FALSE;
  for (guint i = 0; i < a->len; i++)
    {
      CastellanClixmlProperty *pa = g_ptr_array_index (a, i);
      CastellanClixmlProperty *pb = g_ptr_array_index (b, i);

      if (g_strcmp0 (pa->name, pb->name) != 0 || !castellan_clixml_value_equal (pa->value, pb->value))
        return FALSE;
    }
  return TRUE;
}

static gboolean
strv_equal0 (char **a,
             char **b)
{
  if (a == NULL || b == NULL)
    return a == b;
  return g_strv_equal ((const char *const *) a, (const char *const *) b);
}

/* Structural equality; a value shared in one tree may be a copy in the
 * other. */
gboolean
castellan_clixml_value_equal (const CastellanClixmlValue *a,
                              const CastellanClixmlValue *b)
{
  if (a == b)
    return TRUE;
  if (a == NULL || b == NULL || a->kind != b->kind)
    return FALSE;
  switch (PRIMITIVES[primitive_index (a->kind)].form)
    {
    case FORM_TEXT:
    case FORM_LEXICAL:
      return a->text_length == b->text_length && memcmp (a->text, b->text, a->text_length) == 0;
    case FORM_BOOL:
    case FORM_SIGNED:
      return a->integer == b->integer;
    case FORM_UNSIGNED:
      return a->unsigned_integer == b->unsigned_integer;
    case FORM_REAL:
      return memcmp (&a->real, &b->real, sizeof a->real) == 0;
    case FORM_BASE64:
      return g_bytes_equal (a->bytes, b->bytes);
    case FORM_NONE:
    default:
      break;
    }
  if (a->kind == CASTELLAN_CLIXML_NULL)
    return TRUE;
  if (a->kind == CASTELLAN_CLIXML_BACK_REFERENCE)
    return a->unsigned_integer == b->unsigned_integer;
  if (!strv_equal0 (a->type_names, b->type_names) ||
      g_strcmp0 (a->to_string, b->to_string) != 0 ||
      a->container != b->container ||
      !castellan_clixml_value_equal (a->inner, b->inner) ||
      (a->inner == NULL) != (b->inner == NULL) ||
      !properties_equal (a->adapted, b->adapted) ||
      !properties_equal (a->extended, b->extended))
    return FALSE;
  if ((a->items ? a->items->len : 0) != (b->items ? b->items->len : 0) ||
      (a->entries ? a->entries->len : 0) != (b->entries ? b->entries->len : 0))
    return FALSE;
  for (guint i = 0; a->items != NULL && i < a->items->len; i++)
    if (!castellan_clixml_value_equal (g_ptr_array_index (a->items, i),
                                       g_ptr_array_index (b->items, i)))
      return FALSE;
  for (guint i = 0; a->entries != NULL && i < a->entries->len; i++)
    {
      CastellanClixmlEntry *ea = g_ptr_array_index (a->entries, i);
      CastellanClixmlEntry *eb = g_ptr_array_index (b->entries, i);

      if (!castellan_clixml_value_equal (ea->key, eb->key) ||
          !castellan_clixml_value_equal (ea->value, eb->value))
        return FALSE;
    }
  return TRUE;
}

/* Escapes (MS-PSRP 2.2.5.3.2) */

static void
append_unit (GString *out,
             guint    unit)
{
  g_string_append_printf (out, "_x%04X_", unit);
}

/**
 * castellan_clixml_escape:
 * @attribute: whether the text goes in a quoted attribute
 *
 * Appends @text as CLIXML writes it: control characters, U+007F–U+009F
 * and characters beyond the BMP as _xHHHH_ per UTF-16 code unit, a
 * literal "_x" as "_x005F_x", and the XML specials as entities.
 */
void
castellan_clixml_escape (GString    *out,
                         const char *text,
                         gsize       length,
                         gboolean    attribute)
{
  const char *p = text;
  const char *end = text + length;

  while (p < end)
    {
      /* GLib refuses U+0000 here; it is a character like any other. */
      gunichar c = *p == '\0' ? 0 : g_utf8_get_char_validated (p, end - p);
      const char *next;

      if (c == (gunichar) -1 || c == (gunichar) -2)
        {
          /* Not UTF-8: stands for a character that cannot be written. */
          append_unit (out, 0xFFFD);
          p++;
          continue;
        }
      next = g_utf8_next_char (p);
      if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0xFFFE || c == 0xFFFF)
        append_unit (out, c);
      else if (c > 0xFFFF)
        {
          append_unit (out, 0xD800 + ((c - 0x10000) >> 10));
          append_unit (out, 0xDC00 + ((c - 0x10000) & 0x3FF));
        }
      else if (c == '_' && next < end && *next == 'x')
        append_unit (out, '_');
      else if (c == '&')
        g_string_append (out, "&amp;");
      else if (c == '<')
        g_string_append (out, "&lt;");
      else if (c == '>')
        g_string_append (out, "&gt;");
      else if (c == '"' && attribute)
        g_string_append (out, "&quot;");
      else
        g_string_append_len (out, p, next - p);
      p = next;
    }
}

static int
escape_at (const char *p,
           const char *end)
{
  int unit = 0;

  if (end - p < 7 || p[0] != '_' || p[1] != 'x' || p[6] != '_')
    return -1;
  for (int i = 2; i < 6; i++)
    {
      int digit = g_ascii_xdigit_value (p[i]);

      if (digit < 0)
        return -1;
      unit = unit << 4 | digit;
    }
  return unit;
}

/**
 * castellan_clixml_unescape:
 * @out_length: (out): the length of the result, which may hold U+0000
 *
 * Decodes _xHHHH_ escapes; a surrogate pair becomes one character, a
 * lone surrogate U+FFFD (UTF-8 cannot hold it).
 */
char *
castellan_clixml_unescape (const char *text,
                           gsize       length,
                           gsize      *out_length)
{
  GString *out = g_string_sized_new (length);
  const char *p = text;
  const char *end = text + length;
  int high = -1;

  while (p < end)
    {
      int unit;

      /* Text between escapes is copied as it is, in one piece. */
      if (high < 0 && *p != '_')
        {
          const char *next = memchr (p, '_', end - p);
          gsize run = (next != NULL ? next : end) - p;

          g_string_append_len (out, p, run);
          p += run;
          continue;
        }
      unit = escape_at (p, end);

      if (unit >= 0xD800 && unit <= 0xDBFF)
        {
          if (high >= 0)
            g_string_append_unichar (out, 0xFFFD);
          high = unit;
          p += 7;
          continue;
        }
      if (unit >= 0xDC00 && unit <= 0xDFFF)
        {
          g_string_append_unichar (out, high >= 0 ? 0x10000 + ((high - 0xD800) << 10) + (unit - 0xDC00)
                                                  : 0xFFFD);
          high = -1;
          p += 7;
          continue;
        }
      if (high >= 0)
        g_string_append_unichar (out, 0xFFFD);
      high = -1;
      if (unit == 0)
        {
          g_string_append_c (out, '\0');
          p += 7;
        }
      else if (unit > 0)
        {
          g_string_append_unichar (out, unit);
          p += 7;
        }
      else
        g_string_append_c (out, *p++);
    }
  if (high >= 0)
    g_string_append_unichar (out, 0xFFFD);
  *out_length = out->len;
  return g_string_free (out, FALSE);
}

/* Reading */

typedef struct
{
  CastellanClixmlLimits limits;
  GHashTable *objects;     /* RefId → value */
  GPtrArray *open;         /* objects being read, outermost first */
  GHashTable *type_names;  /* RefId → char ** */
  guint refs;
} Reader;

static gpointer
malformed (GError     **error,
           const char  *why)
{
  g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_PSRP_MALFORMED,
               _("A PowerShell object from the server could not be read (%s). "
                 "Open the session again; if this persists, note the command that "
                 "produced it."), why);
  return NULL;
}

static gpointer
over_limit (GError     **error,
            const char  *why)
{
  g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_PSRP_LIMIT,
               _("A PowerShell object from the server is too large or too deep (%s). "
                 "Have the command return simpler objects, for example with "
                 "Select-Object."), why);
  return NULL;
}

typedef enum
{
  ELEMENT_INVALID,
  ELEMENT_UNEXPECTED,
  ELEMENT_TWICE,
} ElementFault;

static gpointer
malformed_element (GError       **error,
                   ElementFault   fault,
                   xmlNode       *node)
{
  const char *name = (const char *) node->name;
  g_autofree char *why = NULL;

  switch (fault)
    {
    case ELEMENT_INVALID:
      why = g_strdup_printf (_("<%s> holds an invalid value"), name);
      break;
    case ELEMENT_UNEXPECTED:
      why = g_strdup_printf (_("unexpected element <%s>"), name);
      break;
    case ELEMENT_TWICE:
    default:
      why = g_strdup_printf (_("<%s> appears twice in an object"), name);
      break;
    }
  return malformed (error, why);
}

static gboolean
count_ref (Reader  *r,
           GError **error)
{
  if (++r->refs > r->limits.max_refs)
    {
      g_autofree char *why = g_strdup_printf (_("more than %u references"), r->limits.max_refs);

      over_limit (error, why);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_weight (Reader               *r,
              CastellanClixmlValue *value,
              GError              **error)
{
  if (value->weight > r->limits.max_nodes)
    {
      g_autofree char *why = g_strdup_printf (_("more than %llu values"),
                                              (unsigned long long) r->limits.max_nodes);

      over_limit (error, why);
      return FALSE;
    }
  return TRUE;
}

static char *
node_content (xmlNode *node)
{
  xmlChar *content = xmlNodeGetContent (node);
  char *copy = g_strdup (content != NULL ? (const char *) content : "");

  xmlFree (content);
  return copy;
}

static char *
attribute (xmlNode    *node,
           const char *name)
{
  xmlChar *value = xmlGetNoNsProp (node, (const xmlChar *) name);
  char *copy = value != NULL ? g_strdup ((const char *) value) : NULL;

  xmlFree (value);
  return copy;
}

/* An N= name, escapes decoded; NUL cannot be part of a name. */
static char *
name_of (xmlNode *node)
{
  g_autofree char *raw = attribute (node, "N");
  gsize length;
  char *name;

  if (raw == NULL)
    return NULL;
  name = castellan_clixml_unescape (raw, strlen (raw), &length);
  if (strlen (name) != length)
    g_clear_pointer (&name, g_free);
  return name;
}

static gboolean
is_base64 (const char *text)
{
  for (const char *p = text; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '+' && *p != '/' && *p != '=' && !g_ascii_isspace (*p))
      return FALSE;
  return TRUE;
}

/* Dates, durations, decimals, GUIDs and versions are written with
 * letters, digits and a few signs, never with escapes: anything else is
 * not one of them (and would not read back the same). */
static gboolean
is_lexical (const char *text)
{
  for (const char *p = text; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && strchr ("-+:.", *p) == NULL)
      return FALSE;
  return TRUE;
}

static gboolean
is_version (const char *text)
{
  int parts = 0;
  const char *p = text;

  while (TRUE)
    {
      if (!g_ascii_isdigit (*p))
        return FALSE;
      while (g_ascii_isdigit (*p))
        p++;
      parts++;
      if (*p == '\0')
        return parts >= 2 && parts <= 4;
      if (*p++ != '.')
        return FALSE;
    }
}

static CastellanClixmlValue *
read_primitive (int       index,
                xmlNode  *node,
                GError  **error)
{
  CastellanClixmlKind kind = PRIMITIVES[index].kind;
  g_autoptr(CastellanClixmlValue) value = castellan_clixml_value_new (kind);
  g_autofree char *raw = NULL;
  char *text;

  if (kind == CASTELLAN_CLIXML_NULL)
    return g_steal_pointer (&value);
  if (PRIMITIVES[index].form == FORM_TEXT)
    {
      xmlNode *child = node->children;

      /* Text in one piece (a string's usual form, up to megabytes) is
       * decoded where the parser left it, without copies first. */
      if (child == NULL || (child->next == NULL && child->content != NULL &&
                            (child->type == XML_TEXT_NODE || child->type == XML_CDATA_SECTION_NODE)))
        {
          const char *content = child != NULL ? (const char *) child->content : "";

          value->text = castellan_clixml_unescape (content, strlen (content), &value->text_length);
          return g_steal_pointer (&value);
        }
    }
  raw = node_content (node);
  text = PRIMITIVES[index].form == FORM_TEXT ? raw : g_strstrip (raw);
  switch (PRIMITIVES[index].form)
    {
    case FORM_TEXT:
      value->text = castellan_clixml_unescape (text, strlen (text), &value->text_length);
      break;
    case FORM_LEXICAL:
      {
        CastellanPsrpGuid guid;

        if (*text == '\0' || !is_lexical (text) ||
            (kind == CASTELLAN_CLIXML_GUID && !castellan_psrp_guid_parse (text, &guid)) ||
            (kind == CASTELLAN_CLIXML_VERSION && !is_version (text)))
          return malformed_element (error, ELEMENT_INVALID, node);
        value->text = g_strdup (text);
        value->text_length = strlen (text);
      }
      break;
    case FORM_BOOL:
      if (g_str_equal (text, "true") || g_str_equal (text, "1"))
        value->integer = 1;
      else if (!g_str_equal (text, "false") && !g_str_equal (text, "0"))
        return malformed_element (error, ELEMENT_INVALID, node);
      break;
    case FORM_SIGNED:
      if (!g_ascii_string_to_signed (text, 10, PRIMITIVES[index].min, (gint64) PRIMITIVES[index].max,
                                     &value->integer, NULL))
        return malformed_element (error, ELEMENT_INVALID, node);
      break;
    case FORM_UNSIGNED:
      if (!g_ascii_string_to_unsigned (text, 10, 0, PRIMITIVES[index].max,
                                       &value->unsigned_integer, NULL))
        return malformed_element (error, ELEMENT_INVALID, node);
      break;
    case FORM_REAL:
      {
        char *end = NULL;

        if (g_str_equal (text, "INF"))
          value->real = INFINITY;
        else if (g_str_equal (text, "-INF"))
          value->real = -INFINITY;
        else if (g_str_equal (text, "NaN"))
          value->real = NAN;
        else
          {
            value->real = g_ascii_strtod (text, &end);
            if (*text == '\0' || end == NULL || *end != '\0' ||
                !(g_ascii_isdigit (*text) || *text == '-' || *text == '+' || *text == '.'))
              return malformed_element (error, ELEMENT_INVALID, node);
          }
        if (kind == CASTELLAN_CLIXML_FLOAT)
          value->real = (double) (float) value->real;
      }
      break;
    case FORM_BASE64:
      {
        gsize length = 0;
        guchar *data;

        if (!is_base64 (text))
          return malformed_element (error, ELEMENT_INVALID, node);
        data = *text != '\0' ? g_base64_decode (text, &length) : NULL;
        value->bytes = g_bytes_new_take (data, length);
      }
      break;
    case FORM_NONE:
    default:
      g_assert_not_reached ();
    }
  return g_steal_pointer (&value);
}

static int
primitive_by_element (const xmlChar *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (PRIMITIVES); i++)
    if (PRIMITIVES[i].form != FORM_NONE || PRIMITIVES[i].kind == CASTELLAN_CLIXML_NULL)
      if (g_str_equal ((const char *) name, PRIMITIVES[i].element))
        return (int) i;
  return -1;
}

static CastellanClixmlValue *read_value (Reader   *r,
                                         xmlNode  *node,
                                         guint     depth,
                                         GError  **error);

static gboolean
read_type_names (Reader                *r,
                 CastellanClixmlValue  *object,
                 xmlNode               *node,
                 GError               **error)
{
  g_autofree char *id = attribute (node, "RefId");
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);

  if (object->type_names != NULL)
    return malformed (error, _("an object has two lists of type names")) != NULL;
  if (g_str_equal ((const char *) node->name, "TNRef"))
    {
      char **known = id != NULL ? g_hash_table_lookup (r->type_names, id) : NULL;

      if (known == NULL)
        return malformed (error, _("a reference to unknown type names")) != NULL;
      object->type_names = g_strdupv (known);
      return count_ref (r, error);
    }
  for (xmlNode *t = node->children; t != NULL; t = t->next)
    {
      g_autofree char *raw = NULL;
      gsize length;
      char *name;

      if (t->type != XML_ELEMENT_NODE)
        continue;
      if (!g_str_equal ((const char *) t->name, "T"))
        return malformed_element (error, ELEMENT_UNEXPECTED, t) != NULL;
      raw = node_content (t);
      name = castellan_clixml_unescape (raw, strlen (raw), &length);
      g_ptr_array_add (names, name);
      /* Type names are bounded with the references they stand beside. */
      if (!count_ref (r, error))
        return FALSE;
    }
  g_ptr_array_add (names, NULL);
  object->type_names = g_strdupv ((char **) names->pdata);
  if (id != NULL)
    {
      if (g_hash_table_contains (r->type_names, id))
        return malformed (error, _("a RefId is used twice")) != NULL;
      g_hash_table_insert (r->type_names, g_steal_pointer (&id), g_strdupv (object->type_names));
      return count_ref (r, error);
    }
  return TRUE;
}

static gboolean
read_properties (Reader                *r,
                 CastellanClixmlValue  *object,
                 xmlNode               *node,
                 gboolean               extended,
                 guint                  depth,
                 GError               **error)
{
  GPtrArray **list = extended ? &object->extended : &object->adapted;

  if (*list != NULL)
    return malformed_element (error, ELEMENT_TWICE, node) != NULL;
  *list = g_ptr_array_new_with_free_func (property_free);
  for (xmlNode *child = node->children; child != NULL; child = child->next)
    {
      g_autofree char *name = NULL;
      CastellanClixmlValue *value;

      if (child->type != XML_ELEMENT_NODE)
        continue;
      name = name_of (child);
      if (name == NULL)
        return malformed (error, _("a property has no name")) != NULL;
      value = read_value (r, child, depth + 1, error);
      if (value == NULL)
        return FALSE;
      castellan_clixml_value_add_property (object, extended, name, value);
      if (!check_weight (r, object, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
read_container (Reader                    *r,
                CastellanClixmlValue      *object,
                xmlNode                   *node,
                CastellanClixmlContainer   container,
                guint                      depth,
                GError                   **error)
{
  if (object->container != CASTELLAN_CLIXML_CONTAINER_NONE || object->inner != NULL)
    return malformed (error, _("an object holds two values")) != NULL;
  object->container = container;
  for (xmlNode *child = node->children; child != NULL; child = child->next)
    {
      if (child->type != XML_ELEMENT_NODE)
        continue;
      if (container == CASTELLAN_CLIXML_CONTAINER_DICTIONARY)
        {
          CastellanClixmlValue *key = NULL;
          CastellanClixmlValue *value = NULL;

          if (!g_str_equal ((const char *) child->name, "En"))
            return malformed_element (error, ELEMENT_UNEXPECTED, child) != NULL;
          for (xmlNode *part = child->children; part != NULL; part = part->next)
            {
              g_autofree char *name = NULL;
              CastellanClixmlValue **slot;

              if (part->type != XML_ELEMENT_NODE)
                continue;
              name = name_of (part);
              slot = g_strcmp0 (name, "Key") == 0 ? &key : g_strcmp0 (name, "Value") == 0 ? &value : NULL;
              if (slot == NULL || *slot != NULL)
                {
                  g_clear_pointer (&key, castellan_clixml_value_unref);
                  g_clear_pointer (&value, castellan_clixml_value_unref);
                  return malformed (error, _("a dictionary entry is not one key and one value")) != NULL;
                }
              *slot = read_value (r, part, depth + 2, error);
              if (*slot == NULL)
                {
                  g_clear_pointer (&key, castellan_clixml_value_unref);
                  g_clear_pointer (&value, castellan_clixml_value_unref);
                  return FALSE;
                }
            }
          if (key == NULL || value == NULL)
            {
              g_clear_pointer (&key, castellan_clixml_value_unref);
              g_clear_pointer (&value, castellan_clixml_value_unref);
              return malformed (error, _("a dictionary entry is not one key and one value")) != NULL;
            }
          castellan_clixml_value_add_entry (object, key, value);
        }
      else
        {
          CastellanClixmlValue *item = read_value (r, child, depth + 1, error);

          if (item == NULL)
            return FALSE;
          castellan_clixml_value_add_item (object, item);
        }
      if (!check_weight (r, object, error))
        return FALSE;
    }
  if (container == CASTELLAN_CLIXML_CONTAINER_DICTIONARY && object->entries == NULL)
    object->entries = g_ptr_array_new_with_free_func (entry_free);
  if (container != CASTELLAN_CLIXML_CONTAINER_DICTIONARY && object->items == NULL)
    object->items = g_ptr_array_new_with_free_func ((GDestroyNotify) castellan_clixml_value_unref);
  return TRUE;
}

static CastellanClixmlValue *
read_object (Reader   *r,
             xmlNode  *node,
             guint     depth,
             GError  **error)
{
  g_autoptr(CastellanClixmlValue) object = castellan_clixml_value_new (CASTELLAN_CLIXML_OBJECT);
  g_autofree char *id = attribute (node, "RefId");

  if (id != NULL)
    {
      if (g_hash_table_contains (r->objects, id))
        return malformed (error, _("a RefId is used twice"));
      if (!count_ref (r, error))
        return NULL;
      g_hash_table_insert (r->objects, g_strdup (id), castellan_clixml_value_ref (object));
    }
  g_ptr_array_add (r->open, object);
  for (xmlNode *child = node->children; child != NULL; child = child->next)
    {
      const char *name = (const char *) child->name;
      gboolean ok = TRUE;

      if (child->type != XML_ELEMENT_NODE)
        continue;
      if (g_str_equal (name, "TN") || g_str_equal (name, "TNRef"))
        ok = read_type_names (r, object, child, error);
      else if (g_str_equal (name, "ToString"))
        {
          g_autofree char *raw = node_content (child);
          gsize length;

          if (object->to_string != NULL)
            ok = malformed_element (error, ELEMENT_TWICE, child) != NULL;
          else
            object->to_string = castellan_clixml_unescape (raw, strlen (raw), &length);
        }
      else if (g_str_equal (name, "Props") || g_str_equal (name, "MS"))
        ok = read_properties (r, object, child, g_str_equal (name, "MS"), depth + 1, error);
      else
        {
          CastellanClixmlContainer container = CASTELLAN_CLIXML_CONTAINER_NONE;

          for (guint c = 1; c < G_N_ELEMENTS (CONTAINERS); c++)
            if (g_str_equal (name, CONTAINERS[c]))
              container = c;
          if (container != CASTELLAN_CLIXML_CONTAINER_NONE)
            ok = read_container (r, object, child, container, depth + 1, error);
          else if (object->inner != NULL || object->container != CASTELLAN_CLIXML_CONTAINER_NONE)
            ok = malformed (error, _("an object holds two values")) != NULL;
          /* What the object wraps: a primitive, or the base object a
           * PSObject was made from. */
          else if ((object->inner = read_value (r, child, depth + 1, error)) == NULL)
            ok = FALSE;
          else
            object->weight = add_weight (object->weight, object->inner->weight);
        }
      if (!ok)
        {
          g_ptr_array_set_size (r->open, r->open->len - 1);
          return NULL;
        }
    }
  g_ptr_array_set_size (r->open, r->open->len - 1);
  return g_steal_pointer (&object);
}

static CastellanClixmlValue *
read_value (Reader   *r,
            xmlNode  *node,
            guint     depth,
            GError  **error)
{
  CastellanClixmlValue *value;
  int index;

  if (depth > r->limits.max_depth)
    {
      g_autofree char *why = g_strdup_printf (_("nested deeper than %u levels"), r->limits.max_depth);

      return over_limit (error, why);
    }
  if (g_str_equal ((const char *) node->name, "Ref"))
    {
      g_autofree char *id = attribute (node, "RefId");

      value = id != NULL ? g_hash_table_lookup (r->objects, id) : NULL;
      if (value == NULL)
        return malformed (error, _("a reference to an unknown object"));
      if (!count_ref (r, error))
        return NULL;
      /* A cycle: counted in levels, never owned. */
      for (guint i = 0; i < r->open->len; i++)
        if (g_ptr_array_index (r->open, i) == value)
          return castellan_clixml_value_new_unsigned (CASTELLAN_CLIXML_BACK_REFERENCE,
                                                      r->open->len - i);
      return castellan_clixml_value_ref (value);
    }
  if (g_str_equal ((const char *) node->name, "Obj"))
    value = read_object (r, node, depth, error);
  else if ((index = primitive_by_element (node->name)) >= 0)
    value = read_primitive (index, node, error);
  else
    return malformed_element (error, ELEMENT_UNEXPECTED, node);
  if (value != NULL && !check_weight (r, value, error))
    g_clear_pointer (&value, castellan_clixml_value_unref);
  return value;
}

/**
 * castellan_clixml_read:
 * @data: one CLIXML value, as a message carries it (no byte order mark)
 * @limits: (nullable): bounds, or %NULL for the defaults
 *
 * Reads with libxml2, refusing any DTD (so no entity is ever expanded);
 * <TNRef> and <Ref> are resolved, a <Ref> to an object still open (a
 * cycle) becomes a back reference.
 */
CastellanClixmlValue *
castellan_clixml_read (const char                  *data,
                       gsize                        length,
                       const CastellanClixmlLimits *limits,
                       GError                     **error)
{
  Reader r = { { CASTELLAN_CLIXML_DEFAULT_MAX_DEPTH, CASTELLAN_CLIXML_DEFAULT_MAX_SIZE,
                 CASTELLAN_CLIXML_DEFAULT_MAX_REFS, CASTELLAN_CLIXML_DEFAULT_MAX_NODES } };
  g_autoptr(xmlDoc) doc = NULL;
  CastellanClixmlValue *value;
  gsize dtd_at = G_MAXSIZE;

  if (limits != NULL)
    r.limits = *limits;
  if (length > r.limits.max_size)
    {
      g_autofree char *size = g_format_size (r.limits.max_size);
      g_autofree char *why = g_strdup_printf (_("larger than %s"), size);

      return over_limit (error, why);
    }
  doc = castellan_xml_parse_full (data, length, &dtd_at);
  if (doc == NULL)
    return malformed (error, dtd_at != G_MAXSIZE ? _("it declares a DTD")
                                                 : _("it is not well-formed XML"));
  r.objects = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                     (GDestroyNotify) castellan_clixml_value_unref);
  r.open = g_ptr_array_new ();
  r.type_names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_strfreev);
  value = read_value (&r, xmlDocGetRootElement (doc), 1, error);
  g_hash_table_unref (r.objects);
  g_ptr_array_unref (r.open);
  g_hash_table_unref (r.type_names);
  return value;
}

/* Writing */

typedef struct
{
  GString *out;
  GHashTable *objects;   /* value → RefId + 1 */
  GPtrArray *type_names; /* lists written, by RefId */
  GArray *open;          /* RefIds of the objects being written */
} Writer;

static void
open_element (Writer     *w,
              const char *element,
              const char *name)
{
  g_string_append_printf (w->out, "<%s", element);
  if (name != NULL)
    {
      g_string_append (w->out, " N=\"");
      castellan_clixml_escape (w->out, name, strlen (name), TRUE);
      g_string_append_c (w->out, '"');
    }
}

static void
append_real (GString *out,
             double   value,
             gboolean single)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  if (isnan (value))
    g_string_append (out, "NaN");
  else if (isinf (value))
    g_string_append (out, value > 0 ? "INF" : "-INF");
  else
    {
      /* The shortest form that reads back as the same number. */
      static const char *const formats[] = {
        "%.1g", "%.2g", "%.3g", "%.4g", "%.5g", "%.6g", "%.7g", "%.8g", "%.9g",
        "%.10g", "%.11g", "%.12g", "%.13g", "%.14g", "%.15g", "%.16g", "%.17g",
      };

      for (gsize i = 0; i < G_N_ELEMENTS (formats); i++)
        {
          double back;

          g_ascii_formatd (buffer, sizeof buffer, formats[i], value);
          back = g_ascii_strtod (buffer, NULL);
          if (single ? (float) back == (float) value : back == value)
            break;
        }
      g_string_append (out, buffer);
    }
}

static void write_value (Writer                     *w,
                         const CastellanClixmlValue *value,
                         const char                 *name);

static void
write_properties (Writer     *w,
                  GPtrArray  *list,
                  const char *element)
{
  if (list == NULL)
    return;
  if (list->len == 0)
    {
      g_string_append_printf (w->out, "<%s />", element);
      return;
    }
  g_string_append_printf (w->out, "<%s>", element);
  for (guint i = 0; i < list->len; i++)
    {
      CastellanClixmlProperty *p = g_ptr_array_index (list, i);

      write_value (w, p->value, p->name);
    }
  g_string_append_printf (w->out, "</%s>", element);
}

static void
write_object (Writer                     *w,
              const CastellanClixmlValue *value,
              const char                 *name)
{
  guint id = GPOINTER_TO_UINT (g_hash_table_lookup (w->objects, value));

  if (id != 0)
    {
      open_element (w, "Ref", name);
      g_string_append_printf (w->out, " RefId=\"%u\" />", id - 1);
      return;
    }
  id = g_hash_table_size (w->objects);
  g_hash_table_insert (w->objects, (gpointer) value, GUINT_TO_POINTER (id + 1));
  open_element (w, "Obj", name);
  g_string_append_printf (w->out, " RefId=\"%u\">", id);
  g_array_append_val (w->open, id);
  if (value->type_names != NULL)
    {
      guint tn;

      for (tn = 0; tn < w->type_names->len; tn++)
        if (g_strv_equal (g_ptr_array_index (w->type_names, tn),
                          (const char *const *) value->type_names))
          break;
      if (tn < w->type_names->len)
        g_string_append_printf (w->out, "<TNRef RefId=\"%u\" />", tn);
      else
        {
          g_ptr_array_add (w->type_names, value->type_names);
          g_string_append_printf (w->out, "<TN RefId=\"%u\">", tn);
          for (char **t = value->type_names; *t != NULL; t++)
            {
              g_string_append (w->out, "<T>");
              castellan_clixml_escape (w->out, *t, strlen (*t), FALSE);
              g_string_append (w->out, "</T>");
            }
          g_string_append (w->out, "</TN>");
        }
    }
  if (value->to_string != NULL)
    {
      g_string_append (w->out, "<ToString>");
      castellan_clixml_escape (w->out, value->to_string, strlen (value->to_string), FALSE);
      g_string_append (w->out, "</ToString>");
    }
  if (value->inner != NULL)
    write_value (w, value->inner, NULL);
  if (value->container != CASTELLAN_CLIXML_CONTAINER_NONE)
    {
      const char *element = CONTAINERS[value->container];
      GPtrArray *list = value->container == CASTELLAN_CLIXML_CONTAINER_DICTIONARY
                        ? value->entries : value->items;

      if (list == NULL || list->len == 0)
        g_string_append_printf (w->out, "<%s />", element);
      else
        {
          g_string_append_printf (w->out, "<%s>", element);
          for (guint i = 0; i < list->len; i++)
            {
              if (value->container == CASTELLAN_CLIXML_CONTAINER_DICTIONARY)
                {
                  CastellanClixmlEntry *e = g_ptr_array_index (list, i);

                  g_string_append (w->out, "<En>");
                  write_value (w, e->key, "Key");
                  write_value (w, e->value, "Value");
                  g_string_append (w->out, "</En>");
                }
              else
                write_value (w, g_ptr_array_index (list, i), NULL);
            }
          g_string_append_printf (w->out, "</%s>", element);
        }
    }
  write_properties (w, value->adapted, "Props");
  write_properties (w, value->extended, "MS");
  g_string_append (w->out, "</Obj>");
  g_array_set_size (w->open, w->open->len - 1);
}

static void
write_value (Writer                     *w,
             const CastellanClixmlValue *value,
             const char                 *name)
{
  int index;
  const char *element;

  if (value == NULL || value->kind == CASTELLAN_CLIXML_NULL)
    {
      open_element (w, "Nil", name);
      g_string_append (w->out, " />");
      return;
    }
  if (value->kind == CASTELLAN_CLIXML_OBJECT)
    {
      write_object (w, value, name);
      return;
    }
  if (value->kind == CASTELLAN_CLIXML_BACK_REFERENCE)
    {
      /* Pointing past the outermost object: nothing to refer to. */
      if (value->unsigned_integer == 0 || value->unsigned_integer > w->open->len)
        open_element (w, "Nil", name);
      else
        {
          open_element (w, "Ref", name);
          g_string_append_printf (w->out, " RefId=\"%u\"",
                                  g_array_index (w->open, guint,
                                                 w->open->len - value->unsigned_integer));
        }
      g_string_append (w->out, " />");
      return;
    }
  index = primitive_index (value->kind);
  element = PRIMITIVES[index].element;
  open_element (w, element, name);
  g_string_append_c (w->out, '>');
  switch (PRIMITIVES[index].form)
    {
    case FORM_TEXT:
    case FORM_LEXICAL:
      if (value->text != NULL)
        castellan_clixml_escape (w->out, value->text, value->text_length, FALSE);
      break;
    case FORM_BOOL:
      g_string_append (w->out, value->integer ? "true" : "false");
      break;
    case FORM_SIGNED:
      g_string_append_printf (w->out, "%" G_GINT64_FORMAT, value->integer);
      break;
    case FORM_UNSIGNED:
      g_string_append_printf (w->out, "%" G_GUINT64_FORMAT, value->unsigned_integer);
      break;
    case FORM_REAL:
      append_real (w->out, value->real, value->kind == CASTELLAN_CLIXML_FLOAT);
      break;
    case FORM_BASE64:
      if (value->bytes != NULL && g_bytes_get_size (value->bytes) > 0)
        {
          gsize size;
          const guint8 *data = g_bytes_get_data (value->bytes, &size);
          g_autofree char *encoded = g_base64_encode (data, size);

          g_string_append (w->out, encoded);
        }
      break;
    case FORM_NONE:
    default:
      g_assert_not_reached ();
    }
  g_string_append_printf (w->out, "</%s>", element);
}

/**
 * castellan_clixml_write:
 *
 * Writes @value as PowerShell does: objects numbered by RefId in the
 * order they first appear, a shared object written once and referred to
 * by <Ref> after, an identical list of type names by <TNRef>.
 *
 * Returns: (transfer full): UTF-8 CLIXML, without a byte order mark
 */
char *
castellan_clixml_write (const CastellanClixmlValue *value)
{
  Writer w = { g_string_new (NULL), g_hash_table_new (NULL, NULL), g_ptr_array_new (),
               g_array_new (FALSE, FALSE, sizeof (guint)) };

  write_value (&w, value, NULL);
  g_hash_table_unref (w.objects);
  g_ptr_array_unref (w.type_names);
  g_array_unref (w.open);
  return g_string_free (w.out, FALSE);
}

char *
castellan_clixml_value_text (const CastellanClixmlValue *value)
{
  if (value == NULL)
    return NULL;
  switch (value->kind)
    {
    case CASTELLAN_CLIXML_NULL:
      return g_strdup ("");
    case CASTELLAN_CLIXML_STRING:
    case CASTELLAN_CLIXML_DATETIME:
    case CASTELLAN_CLIXML_DURATION:
    case CASTELLAN_CLIXML_DECIMAL:
    case CASTELLAN_CLIXML_GUID:
    case CASTELLAN_CLIXML_URI:
    case CASTELLAN_CLIXML_VERSION:
    case CASTELLAN_CLIXML_XML_DOCUMENT:
    case CASTELLAN_CLIXML_SCRIPT_BLOCK:
      return g_strndup (value->text, value->text_length);
    case CASTELLAN_CLIXML_BOOL:
      return g_strdup (value->integer ? "True" : "False");
    case CASTELLAN_CLIXML_CHAR:
      {
        gunichar2 unit = (gunichar2) value->unsigned_integer;

        return g_utf16_to_utf8 (&unit, 1, NULL, NULL, NULL);
      }
    case CASTELLAN_CLIXML_INT8:
    case CASTELLAN_CLIXML_INT16:
    case CASTELLAN_CLIXML_INT32:
    case CASTELLAN_CLIXML_INT64:
      return g_strdup_printf ("%" G_GINT64_FORMAT, value->integer);
    case CASTELLAN_CLIXML_UINT8:
    case CASTELLAN_CLIXML_UINT16:
    case CASTELLAN_CLIXML_UINT32:
    case CASTELLAN_CLIXML_UINT64:
      return g_strdup_printf ("%" G_GUINT64_FORMAT, value->unsigned_integer);
    case CASTELLAN_CLIXML_FLOAT:
    case CASTELLAN_CLIXML_DOUBLE:
      {
        char buffer[G_ASCII_DTOSTR_BUF_SIZE];

        return g_strdup (g_ascii_dtostr (buffer, sizeof buffer, value->real));
      }
    case CASTELLAN_CLIXML_OBJECT:
      if (value->to_string != NULL)
        return g_strdup (value->to_string);
      return value->inner != NULL ? castellan_clixml_value_text (value->inner) : NULL;
    case CASTELLAN_CLIXML_BYTES:
    case CASTELLAN_CLIXML_SECURE_STRING:
    case CASTELLAN_CLIXML_BACK_REFERENCE:
    default:
      return NULL;
    }
}
