/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdio.h>

#include "castellan-bench-probe.h"

#define TICK_MS 5

static double t0 = -1;
static gint64 expected;
static gint64 worst;

gboolean
castellan_bench_enabled (void)
{
  if (t0 < 0)
    {
      const char *env = g_getenv ("CASTELLAN_BENCH_T0");

      t0 = env ? g_ascii_strtod (env, NULL) : 0;
    }
  return t0 > 0;
}

void
castellan_bench_report (const char *name,
                        double      value,
                        const char *unit)
{
  if (!castellan_bench_enabled ())
    return;
  fprintf (stderr, "castellan-bench %s %.3f %s\n", name, value, unit);
  fflush (stderr);
}

/* How late the main loop runs a 5 ms timer: the longest stall a user
 * would feel as a frozen window. */
static gboolean
tick (gpointer data)
{
  gint64 now = g_get_monotonic_time ();

  if (expected != 0 && now - expected > worst)
    worst = now - expected;
  expected = now + TICK_MS * 1000;
  return G_SOURCE_CONTINUE;
}

void
castellan_bench_stall_reset (void)
{
  worst = 0;
  expected = 0;
}

double
castellan_bench_stall_max (void)
{
  return worst / 1000.0;
}

static void
after_paint (GdkFrameClock *clock,
             gpointer       data)
{
  double now = g_get_real_time () / 1e6;

  castellan_bench_report ("first-frame", (now - t0) * 1000, "ms");
  g_signal_handlers_disconnect_by_func (clock, after_paint, data);
}

static void
on_realize (GtkWidget *window,
            gpointer   data)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock (window);

  g_signal_connect (clock, "after-paint", G_CALLBACK (after_paint), NULL);
}

void
castellan_bench_watch_window (GtkWidget *window)
{
  static gboolean ticking;

  if (!castellan_bench_enabled ())
    return;
  g_signal_connect (window, "realize", G_CALLBACK (on_realize), NULL);
  if (!ticking)
    {
      g_timeout_add (TICK_MS, tick, NULL);
      ticking = TRUE;
    }
}
