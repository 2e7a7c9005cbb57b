/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "castellan-clixml.h"

G_BEGIN_DECLS

/* MS-PSRP 2.2.3.17: the host methods a server may call. */
typedef enum
{
  CASTELLAN_PSRP_HOST_GET_NAME = 1,
  CASTELLAN_PSRP_HOST_GET_VERSION = 2,
  CASTELLAN_PSRP_HOST_GET_INSTANCE_ID = 3,
  CASTELLAN_PSRP_HOST_GET_CURRENT_CULTURE = 4,
  CASTELLAN_PSRP_HOST_GET_CURRENT_UI_CULTURE = 5,
  CASTELLAN_PSRP_HOST_SET_SHOULD_EXIT = 6,
  CASTELLAN_PSRP_HOST_ENTER_NESTED_PROMPT = 7,
  CASTELLAN_PSRP_HOST_EXIT_NESTED_PROMPT = 8,
  CASTELLAN_PSRP_HOST_NOTIFY_BEGIN_APPLICATION = 9,
  CASTELLAN_PSRP_HOST_NOTIFY_END_APPLICATION = 10,
  CASTELLAN_PSRP_HOST_READ_LINE = 11,
  CASTELLAN_PSRP_HOST_READ_LINE_AS_SECURE_STRING = 12,
  CASTELLAN_PSRP_HOST_WRITE1 = 13,
  CASTELLAN_PSRP_HOST_WRITE2 = 14,
  CASTELLAN_PSRP_HOST_WRITE_LINE1 = 15,
  CASTELLAN_PSRP_HOST_WRITE_LINE2 = 16,
  CASTELLAN_PSRP_HOST_WRITE_LINE3 = 17,
  CASTELLAN_PSRP_HOST_WRITE_ERROR_LINE = 18,
  CASTELLAN_PSRP_HOST_WRITE_DEBUG_LINE = 19,
  CASTELLAN_PSRP_HOST_WRITE_PROGRESS = 20,
  CASTELLAN_PSRP_HOST_WRITE_VERBOSE_LINE = 21,
  CASTELLAN_PSRP_HOST_WRITE_WARNING_LINE = 22,
  CASTELLAN_PSRP_HOST_PROMPT = 23,
  CASTELLAN_PSRP_HOST_PROMPT_FOR_CREDENTIAL1 = 24,
  CASTELLAN_PSRP_HOST_PROMPT_FOR_CREDENTIAL2 = 25,
  CASTELLAN_PSRP_HOST_PROMPT_FOR_CHOICE = 26,
  CASTELLAN_PSRP_HOST_GET_FOREGROUND_COLOR = 27,
  CASTELLAN_PSRP_HOST_SET_FOREGROUND_COLOR = 28,
  CASTELLAN_PSRP_HOST_GET_BACKGROUND_COLOR = 29,
  CASTELLAN_PSRP_HOST_SET_BACKGROUND_COLOR = 30,
  CASTELLAN_PSRP_HOST_GET_CURSOR_POSITION = 31,
  CASTELLAN_PSRP_HOST_SET_CURSOR_POSITION = 32,
  CASTELLAN_PSRP_HOST_GET_WINDOW_POSITION = 33,
  CASTELLAN_PSRP_HOST_SET_WINDOW_POSITION = 34,
  CASTELLAN_PSRP_HOST_GET_CURSOR_SIZE = 35,
  CASTELLAN_PSRP_HOST_SET_CURSOR_SIZE = 36,
  CASTELLAN_PSRP_HOST_GET_BUFFER_SIZE = 37,
  CASTELLAN_PSRP_HOST_SET_BUFFER_SIZE = 38,
  CASTELLAN_PSRP_HOST_GET_WINDOW_SIZE = 39,
  CASTELLAN_PSRP_HOST_SET_WINDOW_SIZE = 40,
  CASTELLAN_PSRP_HOST_GET_WINDOW_TITLE = 41,
  CASTELLAN_PSRP_HOST_SET_WINDOW_TITLE = 42,
  CASTELLAN_PSRP_HOST_GET_MAX_WINDOW_SIZE = 43,
  CASTELLAN_PSRP_HOST_GET_MAX_PHYSICAL_WINDOW_SIZE = 44,
  CASTELLAN_PSRP_HOST_GET_KEY_AVAILABLE = 45,
  CASTELLAN_PSRP_HOST_READ_KEY = 46,
  CASTELLAN_PSRP_HOST_FLUSH_INPUT_BUFFER = 47,
  CASTELLAN_PSRP_HOST_SET_BUFFER_CONTENTS1 = 48,
  CASTELLAN_PSRP_HOST_SET_BUFFER_CONTENTS2 = 49,
  CASTELLAN_PSRP_HOST_GET_BUFFER_CONTENTS = 50,
  CASTELLAN_PSRP_HOST_SCROLL_BUFFER_CONTENTS = 51,
  CASTELLAN_PSRP_HOST_PUSH_RUNSPACE = 52,
  CASTELLAN_PSRP_HOST_POP_RUNSPACE = 53,
  CASTELLAN_PSRP_HOST_GET_IS_RUNSPACE_PUSHED = 54,
  CASTELLAN_PSRP_HOST_GET_RUNSPACE = 55,
  CASTELLAN_PSRP_HOST_PROMPT_FOR_CHOICE_MULTIPLE_SELECTION = 56,
} CastellanPsrpHostMethod;

/* A void method's call id: no response is expected. */
#define CASTELLAN_PSRP_HOST_CALL_VOID (-100)

/* What the client's console looks like (MS-PSRP 2.2.3.14): the server
 * formats output for buffer_width columns. */
typedef struct
{
  int foreground;      /* ConsoleColor */
  int background;
  int buffer_width;
  int buffer_height;
  int window_width;
  int window_height;
  const char *window_title;
} CastellanPsrpHostDefaults;

const char           *castellan_psrp_host_method_name  (CastellanPsrpHostMethod          method);
CastellanClixmlValue *castellan_psrp_host_info_new      (const CastellanPsrpHostDefaults *defaults);

/* A call as it arrives: the method and its parameters (mp's items). */
typedef struct
{
  gint64 call_id;
  CastellanPsrpHostMethod method;
  GPtrArray *parameters;   /* of CastellanClixmlValue */
} CastellanPsrpHostCall;

CastellanPsrpHostCall *castellan_psrp_host_call_parse (const CastellanClixmlValue *value,
                                                       GError                    **error);
void                   castellan_psrp_host_call_free  (CastellanPsrpHostCall      *call);
CastellanClixmlValue  *castellan_psrp_host_call_parameter (const CastellanPsrpHostCall *call,
                                                           guint                        index);

/* What a host needs of a call, decoded: a parameter as text (NULL when
 * absent or null); Prompt's fields; PromptForChoice's labels (with their
 * '&' before the hot key) and default (-1 for none). */
char                  *castellan_psrp_host_call_text     (const CastellanPsrpHostCall *call,
                                                           guint                        index);

typedef enum
{
  CASTELLAN_PSRP_FIELD_TEXT,
  CASTELLAN_PSRP_FIELD_SECRET,      /* a SecureString */
  CASTELLAN_PSRP_FIELD_CREDENTIAL,  /* a PSCredential: a user name, then a secret */
} CastellanPsrpFieldKind;

typedef struct
{
  char *name;
  char *label;                      /* the name when the field has no label */
  CastellanPsrpFieldKind kind;
} CastellanPsrpField;

void                   castellan_psrp_field_free         (CastellanPsrpField          *field);
GPtrArray             *castellan_psrp_host_call_fields   (const CastellanPsrpHostCall *call);
GPtrArray             *castellan_psrp_host_call_choices  (const CastellanPsrpHostCall *call,
                                                           int                         *default_choice);

/* A ProgressRecord (MS-PSRP 2.2.2.25), from a record stream or WriteProgress. */
typedef struct
{
  char *activity;
  char *status;
  int percent;                      /* -1: unknown */
  gboolean completed;
} CastellanPsrpProgress;

gboolean               castellan_psrp_progress_read      (const CastellanClixmlValue  *record,
                                                           CastellanPsrpProgress       *progress);
void                   castellan_psrp_progress_clear     (CastellanPsrpProgress       *progress);

/* A property by its name, or by the same name in camel case, as the
 * remoting protocol writes some objects' fields (FieldDescription's). */
CastellanClixmlValue  *castellan_psrp_property           (const CastellanClixmlValue  *object,
                                                           const char                  *name);

/* The body of a *_HOST_RESPONSE: a result (or NULL for none), or an
 * error record when the host could not do what was asked. */
CastellanClixmlValue *castellan_psrp_host_response_new (gint64                   call_id,
                                                        CastellanPsrpHostMethod  method,
                                                        CastellanClixmlValue    *result,
                                                        CastellanClixmlValue    *error_record);
CastellanClixmlValue *castellan_psrp_error_record_new  (const char              *message,
                                                        const char              *error_id,
                                                        int                      category);

/* Values a host returns. */
CastellanClixmlValue *castellan_psrp_size_new          (int                      width,
                                                        int                      height);
CastellanClixmlValue *castellan_psrp_coordinates_new   (int                      x,
                                                        int                      y);
CastellanClixmlValue *castellan_psrp_credential_new    (const char              *user,
                                                        GBytes                  *encrypted_password);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CastellanPsrpHostCall, castellan_psrp_host_call_free)

G_END_DECLS
