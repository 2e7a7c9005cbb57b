/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "castellan-connection.h"
#include "castellan-soap.h"

G_BEGIN_DECLS

/* The host's MaxEnvelopeSizekb, read from its WinRM configuration into
 * the connection, where the user may read it: larger envelopes mean
 * fewer requests. */
void     castellan_envelope_size_read_async  (CastellanConnection        *connection,
                                              const CastellanSoapContext *ctx,
                                              GCancellable               *cancellable,
                                              GAsyncReadyCallback         callback,
                                              gpointer                    user_data);
/* FALSE only when the connection failed; @applied: the host's size is
 * now the connection's. */
gboolean castellan_envelope_size_read_finish (CastellanConnection        *connection,
                                              GAsyncResult               *result,
                                              gboolean                   *applied,
                                              GError                    **error);

G_END_DECLS
