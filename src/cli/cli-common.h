/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "castellan-connect-options.h"
#include "castellan-soap.h"
#include "castellan-verdict.h"

G_BEGIN_DECLS

/* Connection, authentication, protocol or policy failure. */
#define CLI_EXIT_FAILURE 255

/* Where a PowerShell host's text goes (stdout or stderr), in pieces that
 * may end mid-line. */
typedef void (*CliPsWrite) (int         fd,
                            const char *text,
                            gsize       length,
                            gpointer    user_data);

typedef struct
{
  CastellanShellOptions shell;
  char **command;           /* COMMAND [ARG…], SCRIPT [WORD…], or a script file's ARGs */
  char *report_path;
  gboolean verbose;
  guint throttle;
  /* --powershell */
  gboolean powershell;
  char *configuration;      /* NULL: Microsoft.PowerShell */
  char *script;             /* --script-file's text, or NULL */
  gboolean progress;        /* progress lines on stderr */
  CliPsWrite write;
  void (*flush) (gpointer write_data);  /* or NULL: before a prompt */
  gpointer write_data;
} CliRun;

void     cli_fail           (const char   *message);
gboolean cli_write_all      (int           fd,
                             const guint8 *data,
                             gsize         length);
void     cli_strip_escapes  (GString      *text);
void     cli_write_plain    (int           fd,
                             const char   *text,
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
/* The text of a script file: UTF-8 (a BOM is dropped), or UTF-16 with
 * its BOM, as Windows editors save scripts. */
char    *cli_read_script_file (const char  *path,
                               GError     **error);
int      cli_run_powershell (const CastellanConnectOptions *options,
                             const CliRun                  *run);
int      cli_run_powershell_many (GPtrArray                *options,
                                  const CliRun             *run);

G_END_DECLS
