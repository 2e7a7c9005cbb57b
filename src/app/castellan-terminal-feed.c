/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "castellan-terminal-feed.h"

/* The terminal parses what it is fed later, at its own pace (rarely while
 * hidden), and keeps the rest in memory meanwhile: it is given a slice,
 * and the next one once it has shown something of it. */
#define SLICE (128 * 1024)
/* In case a slice changes nothing on the screen (only escapes, say). */
#define SLICE_WAIT_MS 500
/* Waiting bytes beyond which the host is held back. */
#define BACKLOG_HIGH (1024 * 1024)

struct _CastellanTerminalFeed
{
  VteTerminal *terminal;    /* not owned; outlives the feed */
  GByteArray *backlog;      /* converted to CR LF, not yet given */
  gsize head;               /* first byte of backlog not yet given */
  gboolean last_was_cr;
  gboolean waiting;         /* for the terminal to take the last slice in */
  gboolean feeding;         /* inside vte_terminal_feed() */
  gboolean taken;           /* it was taken in there and then */
  guint timer;
  gulong changed_handler;
  gulong moved_handler;
  gboolean full;
  CastellanFeedPressure on_pressure;
  gpointer user_data;
};

static void on_taken (CastellanTerminalFeed *self);

CastellanTerminalFeed *
castellan_terminal_feed_new (VteTerminal           *terminal,
                             CastellanFeedPressure  on_pressure,
                             gpointer               user_data)
{
  CastellanTerminalFeed *self = g_new0 (CastellanTerminalFeed, 1);

  self->terminal = terminal;
  self->backlog = g_byte_array_new ();
  self->on_pressure = on_pressure;
  self->user_data = user_data;
  self->changed_handler = g_signal_connect_swapped (terminal, "contents-changed",
                                                    G_CALLBACK (on_taken), self);
  self->moved_handler = g_signal_connect_swapped (terminal, "cursor-moved",
                                                  G_CALLBACK (on_taken), self);
  return self;
}

static void
set_full (CastellanTerminalFeed *self,
          gboolean               full)
{
  if (self->full == full)
    return;
  self->full = full;
  g_debug ("terminal: %s", full ? "behind, holding the host back" : "caught up");
  self->on_pressure (full, self->user_data);
}

static void give (CastellanTerminalFeed *self);

static gboolean
give_next (gpointer user_data)
{
  CastellanTerminalFeed *self = user_data;

  self->timer = 0;
  self->waiting = FALSE;
  give (self);
  return G_SOURCE_REMOVE;
}

/* Gives the terminal the next slice of the backlog, unless it is still
 * taking in the last one. */
static void
give (CastellanTerminalFeed *self)
{
  gsize n = MIN (SLICE, self->backlog->len - self->head);

  if (self->waiting || n == 0)
    return;
  self->waiting = TRUE;
  self->feeding = TRUE;
  self->taken = FALSE;
  vte_terminal_feed (self->terminal, (const char *) self->backlog->data + self->head, (gssize) n);
  self->feeding = FALSE;
  self->head += n;
  if (self->head == self->backlog->len)
    {
      g_byte_array_set_size (self->backlog, 0);
      self->head = 0;
      set_full (self, FALSE);
    }
  else if (self->head >= BACKLOG_HIGH / 2)
    {
      g_byte_array_remove_range (self->backlog, 0, (guint) self->head);
      self->head = 0;
    }
  /* Taken in at once: the next slice after the window has had its turn. */
  self->timer = self->taken ? g_idle_add_full (G_PRIORITY_DEFAULT, give_next, self, NULL)
                            : g_timeout_add (SLICE_WAIT_MS, give_next, self);
}

/* The terminal has parsed (some of) what it was given. */
static void
on_taken (CastellanTerminalFeed *self)
{
  if (!self->waiting)
    return;
  if (self->feeding)
    {
      self->taken = TRUE;
      return;
    }
  g_clear_handle_id (&self->timer, g_source_remove);
  self->timer = g_idle_add_full (G_PRIORITY_DEFAULT, give_next, self, NULL);
}

void
castellan_terminal_feed_write (CastellanTerminalFeed *self,
                               const char            *data,
                               gsize                  length)
{
  /* Remote output may end lines with a bare LF; the terminal wants CR LF. */
  for (gsize i = 0; i < length; i++)
    {
      const char *lf = memchr (data + i, '\n', length - i);
      gsize run = lf ? (gsize) (lf - (data + i)) : length - i;

      g_byte_array_append (self->backlog, (const guint8 *) data + i, (guint) run);
      if (run > 0)
        self->last_was_cr = data[i + run - 1] == '\r';
      i += run;
      if (i < length)
        {
          if (!self->last_was_cr)
            g_byte_array_append (self->backlog, (const guint8 *) "\r", 1);
          g_byte_array_append (self->backlog, (const guint8 *) "\n", 1);
          self->last_was_cr = FALSE;
        }
    }
  if (self->backlog->len - self->head > BACKLOG_HIGH)
    set_full (self, TRUE);
  give (self);
}

void
castellan_terminal_feed_free (CastellanTerminalFeed *self)
{
  if (self == NULL)
    return;
  g_clear_signal_handler (&self->changed_handler, self->terminal);
  g_clear_signal_handler (&self->moved_handler, self->terminal);
  g_clear_handle_id (&self->timer, g_source_remove);
  g_byte_array_unref (self->backlog);
  g_free (self);
}
