/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "castellan-host.h"

G_BEGIN_DECLS

#define CASTELLAN_TYPE_HOST_EDITOR (castellan_host_editor_get_type ())

G_DECLARE_FINAL_TYPE (CastellanHostEditor, castellan_host_editor, CASTELLAN, HOST_EDITOR, AdwWindow)

/* A change the editor proposes, shown in its fields and applied to the
 * host only on Save. */
typedef enum
{
  CASTELLAN_HOST_EDITOR_PROPOSE_HTTPS,  /* HTTPS on, its port */
  CASTELLAN_HOST_EDITOR_PROPOSE_NAME,   /* type the DNS name for the address */
} CastellanHostEditorProposal;

/* Edits a host's fields in the editor alone; ::saved is emitted after they
 * were applied to it. Until then the host is untouched. */
CastellanHostEditor *castellan_host_editor_new     (GtkWindow                  *parent,
                                                    CastellanHost              *host,
                                                    gboolean                    is_new);
void                 castellan_host_editor_propose (CastellanHostEditor        *self,
                                                    CastellanHostEditorProposal proposal);

G_END_DECLS
