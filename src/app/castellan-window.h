/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "castellan-application.h"
#include "castellan-host.h"

G_BEGIN_DECLS

#define CASTELLAN_TYPE_WINDOW (castellan_window_get_type ())

G_DECLARE_FINAL_TYPE (CastellanWindow, castellan_window, CASTELLAN, WINDOW, AdwApplicationWindow)

CastellanWindow *castellan_window_new          (CastellanApplication *application);
void             castellan_window_open_console (CastellanWindow      *self,
                                                CastellanHost        *host);
void             castellan_window_toast        (CastellanWindow      *self,
                                                const char           *message);
gboolean         castellan_window_ask_before_quit (CastellanWindow   *self);

G_END_DECLS
