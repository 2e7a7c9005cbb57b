/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The controlling terminal, for questions a remote script asks: asked and
 * answered one at a time, without blocking the main loop, a secret one
 * without echo. */
typedef struct _CliTty CliTty;

/* NULL when the process has no terminal. */
CliTty  *cli_tty_open        (void);
void     cli_tty_free        (CliTty              *tty);
void     cli_tty_write       (CliTty              *tty,
                              const char          *text);
/* @callback gets the line without its end, or NULL at end of input or on
 * cancellation; it owns the line (a secret must be wiped with
 * cli_tty_secret_free()). */
typedef void (*CliTtyAnswer) (char     *line,
                              gpointer  user_data);
void     cli_tty_ask         (CliTty              *tty,
                              const char          *prompt,
                              gboolean             secret,
                              CliTtyAnswer         callback,
                              gpointer             user_data);
void     cli_tty_cancel      (CliTty              *tty);
void     cli_tty_secret_free (char                *line);

/* Columns of the terminal on @fd, or 0 when it is not one. */
int      cli_tty_columns     (int                  fd);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CliTty, cli_tty_free)

G_END_DECLS
