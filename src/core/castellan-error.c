/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "castellan-error.h"

G_DEFINE_QUARK (castellan-error-quark, castellan_error)

void
castellan_set_psrp_malformed (GError    **error,
                              const char *why)
{
  g_set_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_PSRP_MALFORMED,
               _("The PowerShell data from the server is malformed (%s). "
                 "Open the session again; if this persists, the server or a device "
                 "between is damaging the traffic."), why);
}
