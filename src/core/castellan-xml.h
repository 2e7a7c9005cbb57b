/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>
#include <libxml/tree.h>

G_BEGIN_DECLS

/* Namespace-aware helpers over libxml2 for replies from the network:
 * no DTD is read or fetched, no entity is expanded. */
xmlDoc  *castellan_xml_parse        (const char *data,
                                     gsize       length);
xmlDoc  *castellan_xml_parse_full   (const char *data,
                                     gsize       length,
                                     gsize      *dtd_at);
gboolean castellan_xml_is           (xmlNode    *node,
                                     const char *ns,
                                     const char *name);
xmlNode *castellan_xml_child        (xmlNode    *parent,
                                     const char *ns,
                                     const char *name);
xmlNode *castellan_xml_find         (xmlNode    *root,
                                     const char *ns,
                                     const char *name);
char    *castellan_xml_text         (xmlNode    *node);
char    *castellan_xml_child_text   (xmlNode    *parent,
                                     const char *ns,
                                     const char *name);
char    *castellan_xml_attribute    (xmlNode    *node,
                                     const char *name);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (xmlDoc, xmlFreeDoc)

G_END_DECLS
