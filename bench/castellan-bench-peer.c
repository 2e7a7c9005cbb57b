/* SPDX-License-Identifier: GPL-3.0-or-later */
/* castellan-bench-peer's main(): arguments, listeners, the ports file,
 * signals and the accept loop with a thread per connection.
 *
 * The benchmarks' WinRM peer: a WS-Management listener that answers as
 * tests/peer/winrm_peer.py does (Negotiate/Kerberos with MS-WSMV sealing
 * over HTTP, Basic over HTTPS, the cmd shell's lab-echo and lab-stream),
 * at a small fraction of its cost, so that a client benchmark measures the
 * client and not the peer.
 *
 *   castellan-bench-peer --ports-file FILE --user USER --password-file FILE
 *       --cert CERT.pem --key KEY.pem [--verbose]
 *
 * Kerberos keys come from KRB5_KTNAME, NTLM accounts from NTLM_USER_FILE
 * (gss-ntlmssp); Basic is checked against --user and the first line of
 * --password-file. Ports are chosen by the OS and written to the ports
 * file as {"http": N, "https": M} once both listeners accept connections.
 * One thread per connection with blocking I/O; every response is built in
 * one buffer, head included, and goes out in one send() (over TLS, in one
 * gnutls_record_send() per record). */
/* accept4 */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench-pattern.h"
#include "bench-peer.h"

/* As the Python peer's socket timeout: an idle connection is dropped. */
#define IDLE_SECONDS 120

BenchPeer bench_peer;

/* ---- listeners and main ------------------------------------------------------ */

static int
listen_on (int       family,
           guint16   port,
           guint16  *bound)
{
  int fd = socket (family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  struct sockaddr_storage ss;
  socklen_t len;

  if (fd < 0)
    return -1;
  setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  memset (&ss, 0, sizeof ss);
  if (family == AF_INET6)
    {
      struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) &ss;

      setsockopt (fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
      sin6->sin6_family = AF_INET6;
      sin6->sin6_addr = in6addr_loopback;
      sin6->sin6_port = htons (port);
      len = sizeof *sin6;
    }
  else
    {
      struct sockaddr_in *sin = (struct sockaddr_in *) &ss;

      sin->sin_family = AF_INET;
      sin->sin_addr.s_addr = htonl (INADDR_LOOPBACK);
      sin->sin_port = htons (port);
      len = sizeof *sin;
    }
  if (bind (fd, (struct sockaddr *) &ss, len) < 0 || listen (fd, 128) < 0 ||
      getsockname (fd, (struct sockaddr *) &ss, &len) < 0)
    {
      close (fd);
      return -1;
    }
  *bound = ntohs (family == AF_INET6 ? ((struct sockaddr_in6 *) &ss)->sin6_port
                                     : ((struct sockaddr_in *) &ss)->sin_port);
  return fd;
}

static void
accept_one (int      listener,
            gboolean https,
            guint16  port)
{
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  int one = 1;
  struct timeval idle = { IDLE_SECONDS, 0 };
  int fd = accept4 (listener, (struct sockaddr *) &ss, &len, SOCK_CLOEXEC);
  g_autoptr(GError) error = NULL;
  GThread *thread;
  Conn *c;

  if (fd < 0)
    return;
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof idle);
  c = g_new0 (Conn, 1);
  c->fd = fd;
  c->https = https;
  c->port = port;
  if (ss.ss_family == AF_INET6)
    inet_ntop (AF_INET6, &((struct sockaddr_in6 *) &ss)->sin6_addr, c->client_ip, sizeof c->client_ip);
  else
    inet_ntop (AF_INET, &((struct sockaddr_in *) &ss)->sin_addr, c->client_ip, sizeof c->client_ip);
  c->in_size = 65536;
  c->in = g_malloc (c->in_size);
  c->out = g_string_sized_new (HEAD_ROOM + 65536);
  c->soap = g_string_sized_new (HEAD_ROOM + 65536);
  c->plain = g_string_sized_new (8192);
  c->head = g_string_sized_new (512);
  c->rand = g_rand_new ();
  c->date_second = -1;
  thread = g_thread_try_new ("peer-connection", bench_peer_serve_connection, c, &error);
  if (thread == NULL)
    {
      g_printerr ("castellan-bench-peer: %s\n", error->message);
      bench_peer_conn_free (c);
      return;
    }
  g_thread_unref (thread);
}

static gboolean
write_ports (const char *path,
             guint16     http_port,
             guint16     https_port,
             GError    **error)
{
  g_autofree char *tmp = g_strconcat (path, ".tmp", NULL);
  g_autofree char *text = g_strdup_printf ("{\"http\": %u, \"https\": %u}\n", http_port, https_port);

  if (!g_file_set_contents (tmp, text, -1, error))
    return FALSE;
  if (rename (tmp, path) < 0)
    {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno), "rename %s: %s", tmp,
                   g_strerror (errno));
      return FALSE;
    }
  return TRUE;
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *ports_file = NULL;
  g_autofree char *password_file = NULL;
  g_autofree char *cert = NULL;
  g_autofree char *key = NULL;
  g_autofree char *password = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GOptionContext) context = g_option_context_new ("- the benchmarks' WinRM peer");
  GOptionEntry entries[] = {
    { "ports-file", 0, 0, G_OPTION_ARG_FILENAME, &ports_file, "Where to write the ports (JSON)", "FILE" },
    { "user", 0, 0, G_OPTION_ARG_STRING, &bench_peer.user, "The Basic user", "USER" },
    { "password-file", 0, 0, G_OPTION_ARG_FILENAME, &password_file, "Its password (first line)", "FILE" },
    { "cert", 0, 0, G_OPTION_ARG_FILENAME, &cert, "The HTTPS certificate (PEM)", "CERT" },
    { "key", 0, 0, G_OPTION_ARG_FILENAME, &key, "Its private key (PEM)", "KEY" },
    { "verbose", 0, 0, G_OPTION_ARG_NONE, &bench_peer.verbose, "Say on stderr what fails", NULL },
    { NULL },
  };
  struct { int fd; gboolean https; guint16 port; } listeners[4];
  guint n_listeners = 0;
  guint16 http_port = 0, https_port = 0, port6;
  struct pollfd fds[5];
  sigset_t mask;
  int sfd;
  int ret;
  char *eol;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("castellan-bench-peer: %s\n", error->message);
      return 2;
    }
  if (ports_file == NULL || bench_peer.user == NULL || password_file == NULL || cert == NULL || key == NULL)
    {
      g_printerr ("castellan-bench-peer: --ports-file, --user, --password-file, --cert and --key are needed\n");
      return 2;
    }
  if (!g_file_get_contents (password_file, &password, NULL, &error))
    {
      g_printerr ("castellan-bench-peer: %s\n", error->message);
      return 1;
    }
  eol = strpbrk (password, "\r\n");
  if (eol != NULL)
    *eol = '\0';
  bench_peer.password = password;

  gnutls_certificate_allocate_credentials (&bench_peer.tls_cred);
  ret = gnutls_certificate_set_x509_key_file (bench_peer.tls_cred, cert, key, GNUTLS_X509_FMT_PEM);
  if (ret < 0)
    {
      g_printerr ("castellan-bench-peer: %s, %s: %s\n", cert, key, gnutls_strerror (ret));
      return 1;
    }
  bench_peer.pattern = bench_pattern_block ();
  bench_peer_shells_init ();

  /* Every thread inherits the mask: the signals wait for the main loop's
   * signalfd. */
  signal (SIGPIPE, SIG_IGN);
  sigemptyset (&mask);
  sigaddset (&mask, SIGTERM);
  sigaddset (&mask, SIGINT);
  pthread_sigmask (SIG_BLOCK, &mask, NULL);
  sfd = signalfd (-1, &mask, SFD_CLOEXEC);

  listeners[0].fd = listen_on (AF_INET, 0, &http_port);
  listeners[1].fd = listen_on (AF_INET, 0, &https_port);
  if (sfd < 0 || listeners[0].fd < 0 || listeners[1].fd < 0)
    {
      g_printerr ("castellan-bench-peer: cannot listen on 127.0.0.1: %s\n", g_strerror (errno));
      return 1;
    }
  listeners[0].https = FALSE;
  listeners[0].port = http_port;
  listeners[1].https = TRUE;
  listeners[1].port = https_port;
  n_listeners = 2;
  /* ::1 on the same ports, best effort, so that "localhost" is served
   * whichever address a client tries first. */
  for (guint i = 0; i < 2; i++)
    {
      int fd = listen_on (AF_INET6, listeners[i].port, &port6);

      if (fd >= 0)
        {
          listeners[n_listeners].fd = fd;
          listeners[n_listeners].https = listeners[i].https;
          listeners[n_listeners].port = listeners[i].port;
          n_listeners++;
        }
    }
  if (!write_ports (ports_file, http_port, https_port, &error))
    {
      g_printerr ("castellan-bench-peer: %s\n", error->message);
      return 1;
    }
  if (bench_peer.verbose)
    g_printerr ("castellan-bench-peer: http %u, https %u\n", http_port, https_port);

  for (guint i = 0; i < n_listeners; i++)
    fds[i] = (struct pollfd) { listeners[i].fd, POLLIN, 0 };
  fds[n_listeners] = (struct pollfd) { sfd, POLLIN, 0 };
  for (;;)
    {
      if (poll (fds, n_listeners + 1, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          g_printerr ("castellan-bench-peer: poll: %s\n", g_strerror (errno));
          return 1;
        }
      if (fds[n_listeners].revents)
        break;
      for (guint i = 0; i < n_listeners; i++)
        if (fds[i].revents & POLLIN)
          accept_one (listeners[i].fd, listeners[i].https, listeners[i].port);
    }
  if (bench_peer.verbose)
    g_printerr ("castellan-bench-peer: stopped\n");
  /* Connection threads may be inside GnuTLS or the GSSAPI: leave without
   * running the libraries' destructors under them. */
  _exit (0);
}
