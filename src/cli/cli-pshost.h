/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "castellan-psrp-session.h"
#include "cli-common.h"
#include "cli-tty.h"

G_BEGIN_DECLS

/* The console a remote pipeline writes to and asks through: output and
 * records printed, host calls answered (prompts on the terminal, when
 * there is one; at once with an error record when there is none). */
typedef struct _CliPsHost CliPsHost;

CliPsHost *cli_pshost_new          (CastellanPsrpSession *session,
                                    CliTty               *tty,
                                    gboolean              progress,
                                    CliPsWrite            write,
                                    void                (*flush) (gpointer write_data),
                                    gpointer              write_data);
void       cli_pshost_free         (CliPsHost            *host);
/* A CastellanPsrpEventFunc; @user_data is the CliPsHost. */
void       cli_pshost_handle       (CastellanPsrpSession *session,
                                    CastellanPsrpEvent   *event,
                                    gpointer              user_data);
/* The exit code the script asked for (SetShouldExit), or -1. */
int        cli_pshost_exit_request (CliPsHost            *host);
/* Error records the pipeline wrote. */
guint      cli_pshost_error_count  (CliPsHost            *host);
/* Ctrl+C: questions waiting for an answer are given up. */
void       cli_pshost_interrupt    (CliPsHost            *host);
/* Ends a progress line left on the terminal. */
void       cli_pshost_finish       (CliPsHost            *host);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CliPsHost, cli_pshost_free)

G_END_DECLS
