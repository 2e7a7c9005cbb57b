/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CASTELLAN_ERROR (castellan_error_quark ())

/* Codes a user interface can act on: each names what went wrong in terms
 * of what the user can do about it. */
typedef enum
{
  CASTELLAN_ERROR_FAILED,
  CASTELLAN_ERROR_INVALID_ADDRESS,
  CASTELLAN_ERROR_UNREACHABLE,
  CASTELLAN_ERROR_TIMED_OUT,
  CASTELLAN_ERROR_BAD_CERTIFICATE,
  CASTELLAN_ERROR_CONNECTION_LOST,
  CASTELLAN_ERROR_MALFORMED_REPLY,
  CASTELLAN_ERROR_HTTP_STATUS,
  CASTELLAN_ERROR_CANCELLED,
} CastellanError;

GQuark castellan_error_quark (void);

G_END_DECLS
