/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The CLIXML of MS-PSRP 2.2.5: the values PowerShell sends, as a tree of
 * reference-counted values. An object that is referred to again
 * (<Ref RefId>) once complete is one shared value; a reference to an
 * object that encloses it (PowerShell sends such cycles) is a
 * back reference counted in levels, so no value ever owns itself. The
 * writer turns both back into RefIds. */
typedef enum
{
  CASTELLAN_CLIXML_NULL,           /* Nil */
  CASTELLAN_CLIXML_STRING,         /* S: text */
  CASTELLAN_CLIXML_CHAR,           /* C: a UTF-16 code unit, in unsigned_integer */
  CASTELLAN_CLIXML_BOOL,           /* B: integer 0 or 1 */
  CASTELLAN_CLIXML_DATETIME,       /* DT: text, as written */
  CASTELLAN_CLIXML_DURATION,       /* TS: text, an xsd:duration */
  CASTELLAN_CLIXML_UINT8,          /* By: unsigned_integer */
  CASTELLAN_CLIXML_INT8,           /* SB: integer */
  CASTELLAN_CLIXML_UINT16,         /* U16 */
  CASTELLAN_CLIXML_INT16,          /* I16 */
  CASTELLAN_CLIXML_UINT32,         /* U32 */
  CASTELLAN_CLIXML_INT32,          /* I32 */
  CASTELLAN_CLIXML_UINT64,         /* U64 */
  CASTELLAN_CLIXML_INT64,          /* I64 */
  CASTELLAN_CLIXML_FLOAT,          /* Sg: real */
  CASTELLAN_CLIXML_DOUBLE,         /* Db: real */
  CASTELLAN_CLIXML_DECIMAL,        /* D: text, kept exact */
  CASTELLAN_CLIXML_BYTES,          /* BA: bytes */
  CASTELLAN_CLIXML_GUID,           /* G: text */
  CASTELLAN_CLIXML_URI,            /* URI: text */
  CASTELLAN_CLIXML_VERSION,        /* Version: text */
  CASTELLAN_CLIXML_XML_DOCUMENT,   /* XD: text */
  CASTELLAN_CLIXML_SCRIPT_BLOCK,   /* SBK: text */
  CASTELLAN_CLIXML_SECURE_STRING,  /* SS: bytes, still encrypted with the session key */
  CASTELLAN_CLIXML_OBJECT,         /* Obj */
  CASTELLAN_CLIXML_BACK_REFERENCE, /* Ref to an enclosing Obj: unsigned_integer says how
                                    * many Obj levels up, 1 being the nearest */
} CastellanClixmlKind;

/* MS-PSRP 2.2.5.2.6 */
typedef enum
{
  CASTELLAN_CLIXML_CONTAINER_NONE,
  CASTELLAN_CLIXML_CONTAINER_STACK,       /* STK */
  CASTELLAN_CLIXML_CONTAINER_QUEUE,       /* QUE */
  CASTELLAN_CLIXML_CONTAINER_LIST,        /* LST */
  CASTELLAN_CLIXML_CONTAINER_ENUMERABLE,  /* IE */
  CASTELLAN_CLIXML_CONTAINER_DICTIONARY,  /* DCT: entries */
} CastellanClixmlContainer;

typedef struct _CastellanClixmlValue CastellanClixmlValue;

typedef struct
{
  char *name;
  CastellanClixmlValue *value;
} CastellanClixmlProperty;

typedef struct
{
  CastellanClixmlValue *key;
  CastellanClixmlValue *value;
} CastellanClixmlEntry;

struct _CastellanClixmlValue
{
  gatomicrefcount ref_count;
  CastellanClixmlKind kind;
  char *text;                /* text kinds; may hold U+0000, hence: */
  gsize text_length;
  gint64 integer;
  guint64 unsigned_integer;
  double real;
  GBytes *bytes;
  /* CASTELLAN_CLIXML_OBJECT */
  char **type_names;         /* most specific first, or NULL */
  char *to_string;           /* or NULL */
  CastellanClixmlValue *inner;        /* what an Obj wraps (an enum's I32, a base Obj), or NULL */
  CastellanClixmlContainer container;
  GPtrArray *items;          /* of CastellanClixmlValue, for STK QUE LST IE */
  GPtrArray *entries;        /* of CastellanClixmlEntry, for DCT */
  GPtrArray *adapted;        /* of CastellanClixmlProperty: Props */
  GPtrArray *extended;       /* of CastellanClixmlProperty: MS */
  guint64 weight;            /* values in the tree below, shared ones counted each time */
};

CastellanClixmlValue *castellan_clixml_value_new          (CastellanClixmlKind   kind);
CastellanClixmlValue *castellan_clixml_value_new_string   (const char           *text);
CastellanClixmlValue *castellan_clixml_value_new_text     (CastellanClixmlKind   kind,
                                                           const char           *text);
CastellanClixmlValue *castellan_clixml_value_new_bool     (gboolean              value);
CastellanClixmlValue *castellan_clixml_value_new_signed   (CastellanClixmlKind   kind,
                                                           gint64                value);
CastellanClixmlValue *castellan_clixml_value_new_unsigned (CastellanClixmlKind   kind,
                                                           guint64               value);
CastellanClixmlValue *castellan_clixml_value_new_real     (CastellanClixmlKind   kind,
                                                           double                value);
CastellanClixmlValue *castellan_clixml_value_new_bytes    (CastellanClixmlKind   kind,
                                                           GBytes               *bytes);
CastellanClixmlValue *castellan_clixml_value_new_object   (const char *const    *type_names,
                                                           CastellanClixmlContainer container);
CastellanClixmlValue *castellan_clixml_value_new_enum     (const char           *type_name,
                                                           const char           *to_string,
                                                           gint32                value);
CastellanClixmlValue *castellan_clixml_value_ref          (CastellanClixmlValue *value);
void                  castellan_clixml_value_unref        (CastellanClixmlValue *value);

/* Builders take ownership of the values they are given. */
void castellan_clixml_value_add_property (CastellanClixmlValue *object,
                                          gboolean              extended,
                                          const char           *name,
                                          CastellanClixmlValue *value);
void castellan_clixml_value_add_item     (CastellanClixmlValue *object,
                                          CastellanClixmlValue *value);
void castellan_clixml_value_add_entry    (CastellanClixmlValue *object,
                                          CastellanClixmlValue *key,
                                          CastellanClixmlValue *value);

/* A value as PowerShell would show a simple value (strings, numbers,
 * booleans, ToString): "" for null, NULL for a value without a text form. */
char                 *castellan_clixml_value_text         (const CastellanClixmlValue *value);
CastellanClixmlValue *castellan_clixml_value_get_property (const CastellanClixmlValue *object,
                                                           const char                 *name);
CastellanClixmlValue *castellan_clixml_value_lookup       (const CastellanClixmlValue *dictionary,
                                                           const char                 *key);
gboolean              castellan_clixml_value_equal        (const CastellanClixmlValue *a,
                                                           const CastellanClixmlValue *b);
const char           *castellan_clixml_kind_element       (CastellanClixmlKind         kind);

/* Bounds on what a reader accepts from the network. */
typedef struct
{
  guint max_depth;     /* nesting of elements */
  gsize max_size;      /* bytes of CLIXML */
  guint max_refs;      /* RefIds declared and referred to */
  guint64 max_nodes;   /* values, each shared value counted at each use */
} CastellanClixmlLimits;

#define CASTELLAN_CLIXML_DEFAULT_MAX_DEPTH 64
#define CASTELLAN_CLIXML_DEFAULT_MAX_SIZE (64 * 1024 * 1024)
#define CASTELLAN_CLIXML_DEFAULT_MAX_REFS 100000
#define CASTELLAN_CLIXML_DEFAULT_MAX_NODES 2000000

CastellanClixmlValue *castellan_clixml_read  (const char                  *data,
                                              gsize                        length,
                                              const CastellanClixmlLimits *limits,
                                              GError                     **error);
char                 *castellan_clixml_write (const CastellanClixmlValue  *value);

char *castellan_clixml_unescape (const char *text,
                                 gsize       length,
                                 gsize      *out_length);
void  castellan_clixml_escape   (GString    *out,
                                 const char *text,
                                 gsize       length,
                                 gboolean    attribute);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CastellanClixmlValue, castellan_clixml_value_unref)

G_END_DECLS
