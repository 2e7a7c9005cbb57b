/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <libxml/parser.h>

#include "castellan-xml.h"

/* Returns NULL for anything that is not a well-formed document without a
 * DTD: a reply that declares one is refused rather than trusted. */
xmlDoc *
castellan_xml_parse (const char *data,
                     gsize       length)
{
  xmlDoc *doc;

  if (length == 0 || length > G_MAXINT)
    return NULL;
  doc = xmlReadMemory (data, (int) length, NULL, NULL,
                       XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  if (doc != NULL && (doc->intSubset != NULL || doc->extSubset != NULL))
    g_clear_pointer (&doc, xmlFreeDoc);
  return doc;
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
