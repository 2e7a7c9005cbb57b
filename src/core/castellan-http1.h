/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* What Castellan needs of an HTTP/1.1 response head. */
typedef struct
{
  guint status;
  char *reason;
  char *content_type;
  char *date;
  gint64 content_length;          /* -1: none given */
  gboolean chunked;
  gboolean close;                 /* the host closes after this reply */
} CastellanHttp1Head;

/* Decoding state of a chunked body. */
typedef struct
{
  guint64 left;                   /* data bytes left in the current chunk */
  guint state;
  guint line;                     /* bytes of the current size or trailer line */
} CastellanHttp1Chunks;

#define CASTELLAN_HTTP1_MAX_HEAD (64 * 1024)

void     castellan_http1_head_clear     (CastellanHttp1Head *head);

void     castellan_http1_append_request (GString            *out,
                                         const char         *host_port,
                                         const char         *path,
                                         const char         *user_agent,
                                         const char         *content_type,
                                         gsize               content_length,
                                         const char         *authorization);

gssize   castellan_http1_parse_head     (const char         *data,
                                         gsize               length,
                                         CastellanHttp1Head *head,
                                         GError            **error);

gsize    castellan_http1_dechunk        (CastellanHttp1Chunks *chunks,
                                         guint8               *data,
                                         gsize                 length,
                                         gsize                *consumed,
                                         gboolean             *done,
                                         GError              **error);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CastellanHttp1Head, castellan_http1_head_clear)

G_END_DECLS
