/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define CASTELLAN_TYPE_RESULTS (castellan_results_get_type ())

G_DECLARE_FINAL_TYPE (CastellanResults, castellan_results, CASTELLAN, RESULTS, GtkWidget)

/* One command on several hosts: a row per host with its verdict, exit code
 * and output, filled in as each host answers. ::open-consoles asks for
 * consoles on all the hosts. */
CastellanResults *castellan_results_new (GPtrArray  *hosts,
                                         GPtrArray  *options,
                                         const char *command);

G_END_DECLS
