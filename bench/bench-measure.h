/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

/* What a bench program reports of itself. */

/* Peak RSS from /proc/self/status: ru_maxrss would also count the
 * parent's pages for a child started with vfork(), as Python starts it. */
guint64 bench_peak_rss_kib (void);
/* User and system CPU seconds so far. */
double  bench_cpu_seconds  (void);
