/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "cli-common.h"

G_BEGIN_DECLS

/* A script in a runspace of one host's PowerShell endpoint. */
typedef struct _CliPsJob CliPsJob;

typedef void (*CliPsJobDone) (CliPsJob *job,
                              gpointer  user_data);

CliPsJob               *cli_ps_job_new          (const CastellanConnectOptions *options,
                                                 const CliRun                  *run,
                                                 gboolean                       interactive,
                                                 CliPsJobDone                   done,
                                                 gpointer                       done_data);
void                    cli_ps_job_free         (CliPsJob *job);
void                    cli_ps_job_start        (CliPsJob *job);
void                    cli_ps_job_interrupt    (CliPsJob *job);
const CastellanVerdict *cli_ps_job_get_verdict  (CliPsJob *job);
const GError           *cli_ps_job_get_error    (CliPsJob *job);
int                     cli_ps_job_exit_status  (CliPsJob *job);
char                   *cli_ps_job_failure_text (CliPsJob *job);
char                   *cli_ps_job_report       (CliPsJob *job);

G_END_DECLS
