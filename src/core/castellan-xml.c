/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <libxml/parser.h>
#include <libxml/parserInternals.h>

#include "castellan-xml.h"

typedef struct
{
  xmlParserCtxtPtr ctxt;
  gboolean refused;
  gsize refused_at;
} Parse;

/* A reply has no business declaring a DTD: the parse stops the moment one
 * begins, before any of its declarations (entities among them) is read. */
static void
refuse_subset (void          *ctx,
               const xmlChar *name,
               const xmlChar *external_id,
               const xmlChar *system_id)
{
  xmlParserCtxtPtr ctxt = ctx;
  Parse *parse = ctxt->_private;

  if (!parse->refused)
    parse->refused_at = (gsize) xmlByteConsumed (ctxt);
  parse->refused = TRUE;
  xmlStopParser (ctxt);
}

static void
refuse_entity (void          *ctx,
               const xmlChar *name,
               int            type,
               const xmlChar *public_id,
               const xmlChar *system_id,
               xmlChar       *content)
{
  refuse_subset (ctx, name, public_id, system_id);
}

/**
 * castellan_xml_parse_full:
 * @dtd_at: (out) (optional): how many bytes the parser had read when a
 *   DTD stopped it, or %G_MAXSIZE when none did
 *
 * As castellan_xml_parse(), saying where a DTD stopped the parser.
 */
xmlDoc *
castellan_xml_parse_full (const char *data,
                          gsize       length,
                          gsize      *dtd_at)
{
  Parse parse = { 0 };
  xmlDoc *doc = NULL;

  if (dtd_at != NULL)
    *dtd_at = G_MAXSIZE;
  if (length == 0 || length > G_MAXINT)
    return NULL;
  parse.ctxt = xmlCreateMemoryParserCtxt (data, (int) length);
  if (parse.ctxt == NULL)
    return NULL;
  /* The context's handler is its own copy of the SAX2 tree builder. */
  parse.ctxt->_private = &parse;
  parse.ctxt->sax->internalSubset = refuse_subset;
  parse.ctxt->sax->externalSubset = refuse_subset;
  parse.ctxt->sax->entityDecl = refuse_entity;
  xmlCtxtUseOptions (parse.ctxt, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  xmlParseDocument (parse.ctxt);
  if (dtd_at != NULL && parse.refused)
    *dtd_at = parse.refused_at;
  if (parse.ctxt->wellFormed && !parse.refused)
    doc = g_steal_pointer (&parse.ctxt->myDoc);
  g_clear_pointer (&parse.ctxt->myDoc, xmlFreeDoc);
  xmlFreeParserCtxt (parse.ctxt);
  /* Belt and braces: nothing that came with a DTD is handed on. */
  if (doc != NULL && (doc->intSubset != NULL || doc->extSubset != NULL))
    g_clear_pointer (&doc, xmlFreeDoc);
  return doc;
}

/* Returns NULL for anything that is not a well-formed document without a
 * DTD: a reply that declares one is refused at once, never expanded. */
xmlDoc *
castellan_xml_parse (const char *data,
                     gsize       length)
{
  return castellan_xml_parse_full (data, length, NULL);
}

gboolean
castellan_xml_is (xmlNode    *node,
                  const char *ns,
                  const char *name)
{
  return node != NULL &&
         node->type == XML_ELEMENT_NODE &&
         node->ns != NULL &&
         g_strcmp0 ((const char *) node->ns->href, ns) == 0 &&
         g_strcmp0 ((const char *) node->name, name) == 0;
}

xmlNode *
castellan_xml_child (xmlNode    *parent,
                     const char *ns,
                     const char *name)
{
  for (xmlNode *n = parent ? parent->children : NULL; n != NULL; n = n->next)
    if (castellan_xml_is (n, ns, name))
      return n;
  return NULL;
}

/* Depth-first, bounded by the document itself. */
xmlNode *
castellan_xml_find (xmlNode    *root,
                    const char *ns,
                    const char *name)
{
  for (xmlNode *n = root; n != NULL; n = n->next)
    {
      xmlNode *found;

      if (castellan_xml_is (n, ns, name))
        return n;
      if (n->children != NULL && (found = castellan_xml_find (n->children, ns, name)) != NULL)
        return found;
    }
  return NULL;
}

char *
castellan_xml_text (xmlNode *node)
{
  xmlChar *content;
  char *text;

  if (node == NULL)
    return NULL;
  content = xmlNodeGetContent (node);
  text = g_strstrip (g_strdup ((const char *) content));
  xmlFree (content);
  return text;
}

char *
castellan_xml_child_text (xmlNode    *parent,
                          const char *ns,
                          const char *name)
{
  return castellan_xml_text (castellan_xml_child (parent, ns, name));
}

char *
castellan_xml_attribute (xmlNode    *node,
                         const char *name)
{
  xmlChar *value = xmlGetProp (node, (const xmlChar *) name);
  char *copy = g_strdup ((const char *) value);

  xmlFree (value);
  return copy;
}
