/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "cli-tty.h"

struct _CliTty
{
  int fd;
  GByteArray *line;
  guint watch;
  gboolean echo_off;
  struct termios saved;
  CliTtyAnswer callback;
  gpointer user_data;
};

CliTty *
cli_tty_open (void)
{
  int fd = open ("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  CliTty *tty;

  if (fd < 0)
    return NULL;
  tty = g_new0 (CliTty, 1);
  tty->fd = fd;
  tty->line = g_byte_array_new ();
  return tty;
}

static void
wipe_line (CliTty *tty)
{
  if (tty->line->len > 0)
    explicit_bzero (tty->line->data, tty->line->len);
  g_byte_array_set_size (tty->line, 0);
}

static void
restore_echo (CliTty *tty)
{
  if (!tty->echo_off)
    return;
  tcsetattr (tty->fd, TCSAFLUSH, &tty->saved);
  tty->echo_off = FALSE;
  /* The Enter typed was not echoed either. */
  cli_tty_write (tty, "\n");
}

static void
finish (CliTty *tty,
        char   *answer)
{
  CliTtyAnswer callback = tty->callback;
  gpointer user_data = tty->user_data;

  g_clear_handle_id (&tty->watch, g_source_remove);
  restore_echo (tty);
  wipe_line (tty);
  tty->callback = NULL;
  if (callback != NULL)
    callback (answer, user_data);
}

void
cli_tty_free (CliTty *tty)
{
  if (tty == NULL)
    return;
  g_clear_handle_id (&tty->watch, g_source_remove);
  restore_echo (tty);
  wipe_line (tty);
  g_byte_array_unref (tty->line);
  close (tty->fd);
  g_free (tty);
}

void
cli_tty_write (CliTty     *tty,
               const char *text)
{
  gsize left = strlen (text);

  while (left > 0)
    {
      ssize_t n = write (tty->fd, text, left);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return;
      text += n;
      left -= (gsize) n;
    }
}

static gboolean
readable (gint         fd,
          GIOCondition condition,
          gpointer     user_data)
{
  CliTty *tty = user_data;
  guint8 buffer[256];
  ssize_t n = read (fd, buffer, sizeof buffer);

  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return G_SOURCE_CONTINUE;
  if (n <= 0)
    {
      tty->watch = 0;
      finish (tty, NULL);
      return G_SOURCE_REMOVE;
    }
  for (ssize_t i = 0; i < n; i++)
    {
      if (buffer[i] == '\n' || buffer[i] == '\r')
        {
          char *answer = g_strndup ((const char *) tty->line->data, tty->line->len);

          explicit_bzero (buffer, sizeof buffer);
          tty->watch = 0;
          finish (tty, answer);
          return G_SOURCE_REMOVE;
        }
      g_byte_array_append (tty->line, &buffer[i], 1);
    }
  explicit_bzero (buffer, sizeof buffer);
  return G_SOURCE_CONTINUE;
}

/* Whoever waits for an answer hears NULL now (Ctrl+C). */
void
cli_tty_cancel (CliTty *tty)
{
  if (tty->callback != NULL)
    finish (tty, NULL);
}

void
cli_tty_ask (CliTty       *tty,
             const char   *prompt,
             gboolean      secret,
             CliTtyAnswer  callback,
             gpointer      user_data)
{
  g_return_if_fail (tty->callback == NULL);

  tty->callback = callback;
  tty->user_data = user_data;
  cli_tty_write (tty, prompt);
  if (secret && tcgetattr (tty->fd, &tty->saved) == 0)
    {
      struct termios quiet = tty->saved;

      quiet.c_lflag &= ~(tcflag_t) ECHO;
      if (tcsetattr (tty->fd, TCSAFLUSH, &quiet) == 0)
        tty->echo_off = TRUE;
    }
  tty->watch = g_unix_fd_add (tty->fd, G_IO_IN | G_IO_HUP | G_IO_ERR, readable, tty);
}

void
cli_tty_secret_free (char *line)
{
  if (line == NULL)
    return;
  explicit_bzero (line, strlen (line));
  g_free (line);
}

int
cli_tty_columns (int fd)
{
  struct winsize size;

  if (!isatty (fd) || ioctl (fd, TIOCGWINSZ, &size) != 0 || size.ws_col == 0)
    return 0;
  return size.ws_col;
}
