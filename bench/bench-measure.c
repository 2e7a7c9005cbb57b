/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <string.h>
#include <sys/resource.h>

#include "bench-measure.h"

guint64
bench_peak_rss_kib (void)
{
  g_autofree char *status = NULL;
  const char *hwm;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL) ||
      (hwm = strstr (status, "VmHWM:")) == NULL)
    return 0;
  return g_ascii_strtoull (hwm + 6, NULL, 10);
}

double
bench_cpu_seconds (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
         ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}
