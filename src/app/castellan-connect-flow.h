/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "castellan-console.h"
#include "castellan-expectation.h"
#include "castellan-window.h"

G_BEGIN_DECLS

/* castellan-connect-flow.c: what happens between "connect" and the first
 * command. The verdict the settings allow is known before any credential
 * is used: a refusal stops there, a connection less protected than last
 * time is asked about before the password, and the password prompt says
 * what to expect. Once signed in, a verdict below that is asked about
 * before anything is sent. */
CastellanExpectation *castellan_connect_flow_expect (CastellanHost *host);
char    *castellan_connect_flow_describe_expected (CastellanHost *host);
gboolean castellan_connect_flow_check_verdict (CastellanWindow  *self,
                                               CastellanConsole *console);
void     castellan_connect_flow_refused       (CastellanWindow  *self,
                                               CastellanHost    *host,
                                               AdwTabPage       *page,
                                               const GError     *error);

G_END_DECLS
