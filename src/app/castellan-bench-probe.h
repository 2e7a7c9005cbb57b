/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Measurements for ./dev bench --gui, printed on stderr as
 * "castellan-bench NAME VALUE" when CASTELLAN_BENCH_T0 (the launch time,
 * Unix seconds) is set; nothing at all otherwise. */
gboolean castellan_bench_enabled     (void);
void     castellan_bench_watch_window (GtkWidget  *window);
void     castellan_bench_report      (const char *name,
                                      double      value,
                                      const char *unit);
void     castellan_bench_stall_reset (void);
double   castellan_bench_stall_max   (void);

G_END_DECLS
