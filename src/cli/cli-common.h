/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "castellan-connect-options.h"
#include "castellan-soap.h"
#include "castellan-verdict.h"

G_BEGIN_DECLS

/* Connection, authentication, protocol or policy failure. */
#define CLI_EXIT_FAILURE 255

typedef struct
{
  CastellanShellOptions shell;
  char **command;           /* COMMAND [ARG…] */
  char *report_path;
  gboolean verbose;
  guint throttle;
} CliRun;

void     cli_fail           (const char   *message);
gboolean cli_write_all      (int           fd,
                             const guint8 *data,
                             gsize         length);
gboolean cli_write_report   (const char   *path,
                             const char   *json,
                             GError      **error);
void     cli_print_verdict  (const CastellanVerdict *verdict);
void     cli_print_delegation_note (const CastellanVerdict *verdict);
char    *cli_error_json     (const char   *host,
                             const GError *error);

int      cli_run_probe      (const CastellanConnectOptions *options);
int      cli_run_single     (const CastellanConnectOptions *options,
                             const CliRun                  *run);
int      cli_run_many       (GPtrArray                     *options,
                             const CliRun                  *run);

G_END_DECLS
