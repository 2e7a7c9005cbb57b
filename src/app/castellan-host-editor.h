/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "castellan-host.h"

G_BEGIN_DECLS

#define CASTELLAN_TYPE_HOST_EDITOR (castellan_host_editor_get_type ())

G_DECLARE_FINAL_TYPE (CastellanHostEditor, castellan_host_editor, CASTELLAN, HOST_EDITOR, AdwWindow)

/* Edits a host; ::saved is emitted after the fields were applied to it. */
CastellanHostEditor *castellan_host_editor_new (GtkWindow     *parent,
                                                CastellanHost *host,
                                                gboolean       is_new);

G_END_DECLS
