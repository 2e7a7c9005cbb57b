/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <vte/vte.h>

G_BEGIN_DECLS

/* Remote output on its way into a terminal widget, given to it at the pace
 * it can show it (a slice per frame; slowly while hidden), so that no
 * amount of output piles up in memory or freezes the window: when too much
 * waits, the writer is told, to hold back the host until it catches up. */
typedef struct _CastellanTerminalFeed CastellanTerminalFeed;

/* full: TRUE when too much waits to be shown, FALSE once it is all shown. */
typedef void (*CastellanFeedPressure) (gboolean full,
                                       gpointer user_data);

CastellanTerminalFeed *castellan_terminal_feed_new   (VteTerminal           *terminal,
                                                      CastellanFeedPressure  on_pressure,
                                                      gpointer               user_data);
void                   castellan_terminal_feed_write (CastellanTerminalFeed *self,
                                                      const char            *data,
                                                      gsize                  length);
void                   castellan_terminal_feed_free  (CastellanTerminalFeed *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CastellanTerminalFeed, castellan_terminal_feed_free)

G_END_DECLS
