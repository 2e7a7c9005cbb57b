/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "castellan-connection.h"
#include "castellan-shell.h"

G_BEGIN_DECLS

#define CASTELLAN_TYPE_SESSION (castellan_session_get_type ())

G_DECLARE_FINAL_TYPE (CastellanSession, castellan_session, CASTELLAN, SESSION, GObject)

typedef enum
{
  CASTELLAN_INTERPRETER_CMD,
  CASTELLAN_INTERPRETER_POWERSHELL,
} CastellanInterpreter;

typedef enum
{
  CASTELLAN_SESSION_CONNECTING,
  CASTELLAN_SESSION_READY,     /* waiting for a line */
  CASTELLAN_SESSION_BUSY,      /* a line is running */
  CASTELLAN_SESSION_CLOSED,
} CastellanSessionState;

/* A persistent remote interpreter (cmd, or PowerShell reading stdin): each
 * line the user types goes to its stdin, followed by a marker line that
 * reports the exit code, so that `cd` and variables persist and every
 * command still ends with its code and duration.
 *
 * Signals: ::output (CastellanStream, GBytes), ::command-done (int exit
 * code, double seconds), ::state-changed, ::closed (GError or NULL). */
CastellanSession     *castellan_session_new          (const CastellanConnectOptions *options,
                                                      CastellanInterpreter           interpreter);
void                  castellan_session_open         (CastellanSession *self);
void                  castellan_session_send_line    (CastellanSession *self,
                                                      const char       *line);
void                  castellan_session_interrupt    (CastellanSession *self);
void                  castellan_session_close        (CastellanSession *self);
void                  castellan_session_set_paused   (CastellanSession *self,
                                                      gboolean          paused);
CastellanSessionState castellan_session_get_state    (CastellanSession *self);
const CastellanVerdict *castellan_session_get_verdict (CastellanSession *self);
const GError         *castellan_session_get_error    (CastellanSession *self);

G_END_DECLS
