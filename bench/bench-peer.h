/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What the parts of castellan-bench-peer share: the connection and request
 * types, the settings, small span helpers and the calls between files. */
#pragma once

#include <glib.h>
#include <gnutls/gnutls.h>
#include <gssapi/gssapi.h>
#include <netinet/in.h>
#include <string.h>
#include <time.h>


#define PROTOCOL_SPNEGO "application/HTTP-SPNEGO-session-encrypted"
#define PROTOCOL_KERBEROS "application/HTTP-Kerberos-session-encrypted"

#define MACHINE "127.0.0.1"

/* Room left in front of every response body for its head, so that both
 * go out from one buffer without moving the body. */
#define HEAD_ROOM 4096

typedef struct
{
  const char *p;
  gsize len;
} Span;

typedef struct
{
  int fd;
  gnutls_session_t tls;     /* NULL over plain HTTP */
  gboolean https;
  guint16 port;             /* the listener's */
  char client_ip[INET6_ADDRSTRLEN];
  gss_ctx_id_t gss;
  gboolean gss_complete;
  gboolean gss_iov;         /* Kerberos: wrap_iov; NTLM has no IOV */
  gboolean kerberos_scheme; /* names the sealing protocol */
  char *user;
  char *basic_ok;           /* the Basic credentials last accepted */
  guint8 *in;               /* what was read and not yet handled */
  gsize in_len;
  gsize in_size;
  GString *out;             /* the response: HEAD_ROOM, then the body */
  GString *soap;            /* the SOAP response before sealing */
  GString *plain;           /* the SOAP request, NUL-terminated */
  GString *head;
  GRand *rand;
  time_t date_second;
  char date[64];
  gboolean close;
} Conn;

typedef struct
{
  Span method;
  Span path;
  Span authorization;
  Span content_type;
  guint64 content_length;
  gboolean close;
  guint8 *body;
} HttpRequest;

typedef struct
{
  const char *xml;
  const char *end;
  Span action;
  Span message_id;
  Span resource_uri;
  guint max_envelope;
} Soap;

/* The peer's settings and shared read-only data: set by main() before the
 * first connection, only read afterwards. */
typedef struct
{
  char *user;
  char *password;
  gboolean verbose;
  gnutls_certificate_credentials_t tls_cred;
  GBytes *pattern;
} BenchPeer;

extern BenchPeer bench_peer;

static inline gboolean
span_is (Span        s,
         const char *text)
{
  gsize n = strlen (text);

  return s.len == n && g_ascii_strncasecmp (s.p, text, n) == 0;
}

static inline gboolean
span_has_prefix (Span        s,
                 const char *prefix)
{
  gsize n = strlen (prefix);

  return s.len >= n && g_ascii_strncasecmp (s.p, prefix, n) == 0;
}

static inline Span
span_trim (Span s)
{
  while (s.len > 0 && g_ascii_isspace (s.p[0]))
    {
      s.p++;
      s.len--;
    }
  while (s.len > 0 && g_ascii_isspace (s.p[s.len - 1]))
    s.len--;
  return s;
}

static inline gboolean
span_equal_text (Span        s,
                 const char *text)
{
  gsize n = strlen (text);

  return s.len == n && memcmp (s.p, text, n) == 0;
}

/* Plain appends, not printf: these run for every request. */
static inline void
append_uint (GString *out,
             guint64  value)
{
  char digits[24];
  int i = sizeof digits;

  do
    digits[--i] = '0' + value % 10;
  while ((value /= 10) != 0);
  g_string_append_len (out, digits + i, sizeof digits - i);
}


/* bench-peer-http.c */
void     bench_peer_reply             (Conn       *c,
                                       int         status,
                                       const char *content_type,
                                       const char *extra);
void     bench_peer_reply_empty       (Conn       *c,
                                       int         status,
                                       const char *extra);
void     bench_peer_reply_offers      (Conn       *c);
void     bench_peer_conn_free         (Conn       *c);
gpointer bench_peer_serve_connection  (gpointer    data);

/* bench-peer-auth.c */
void     bench_peer_gss_reset         (Conn              *c);
gboolean bench_peer_authenticate      (Conn              *c,
                                       const HttpRequest *req,
                                       GString           *extra);
gboolean bench_peer_unseal            (Conn              *c,
                                       guint8            *body,
                                       gsize              len);
gboolean bench_peer_seal              (Conn              *c);

/* bench-peer-soap.c */
void     bench_peer_append_escaped    (GString     *out,
                                       const char  *text);
char    *bench_peer_xml_decode        (Span         s);
gboolean bench_peer_find_element      (const char **cursor,
                                       const char  *end,
                                       const char  *local,
                                       Span        *attrs,
                                       Span        *text);
gboolean bench_peer_find_attribute    (Span         attrs,
                                       const char  *name,
                                       Span        *value);
Span     bench_peer_element_text      (const Soap  *r,
                                       const char  *local);
char    *bench_peer_element_attribute (const Soap  *r,
                                       const char  *local,
                                       const char  *name);
char    *bench_peer_new_uuid          (Conn        *c);
void     bench_peer_begin_envelope    (Conn        *c,
                                       const char  *action,
                                       const Soap  *r);
void     bench_peer_end_envelope      (Conn        *c);
int      bench_peer_fault             (Conn        *c,
                                       const Soap  *r,
                                       const char  *code,
                                       const char  *subcode,
                                       const char  *reason,
                                       guint64      wsman_code,
                                       const char  *detail);

/* bench-peer-wsman.c */
void     bench_peer_shells_init       (void);
int      bench_peer_dispatch          (Conn        *c);
