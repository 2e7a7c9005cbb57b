/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "castellan-error.h"

G_DEFINE_QUARK (castellan-error-quark, castellan_error)
