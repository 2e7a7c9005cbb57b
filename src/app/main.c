/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>

#include "castellan-application.h"

/* Run from the build tree (build/src/castellan), the program takes its
 * translations and settings schema from there, so that a developer sees
 * what an installed copy would show. */
static const char *
find_locale_dir (void)
{
  static char *build_po_dir = NULL;
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *exe_dir = NULL;
  g_autofree char *build_dir = NULL;
  g_autofree char *marker = NULL;
  g_autofree char *schema_dir = NULL;

  if (exe == NULL)
    return LOCALEDIR;

  exe_dir = g_path_get_dirname (exe);
  build_dir = g_path_get_dirname (exe_dir);
  marker = g_build_filename (build_dir, "meson-private", NULL);
  if (!g_file_test (marker, G_FILE_TEST_IS_DIR))
    return LOCALEDIR;

  schema_dir = g_build_filename (build_dir, "data", NULL);
  g_setenv ("GSETTINGS_SCHEMA_DIR", schema_dir, FALSE);
  build_po_dir = g_build_filename (build_dir, "po", NULL);
  return build_po_dir;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(CastellanApplication) app = NULL;

  setlocale (LC_ALL, "");
  /* gettext ignores LANGUAGE in the plain C locale; a user who asks for a
   * language with LANGUAGE alone still gets it. Through the environment,
   * as GTK sets the locale again from it. */
  if (g_strcmp0 (g_getenv ("LANGUAGE"), "") > 0 && g_getenv ("LC_ALL") == NULL &&
      (g_strcmp0 (setlocale (LC_MESSAGES, NULL), "C") == 0 ||
       g_strcmp0 (setlocale (LC_MESSAGES, NULL), "POSIX") == 0))
    {
      g_setenv ("LC_MESSAGES", "C.UTF-8", TRUE);
      setlocale (LC_MESSAGES, "");
    }
  bindtextdomain (GETTEXT_PACKAGE, find_locale_dir ());
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  app = castellan_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
