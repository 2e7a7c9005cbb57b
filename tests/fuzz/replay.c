/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Runs a fuzz target on files, without libFuzzer: the regression tests
 * of inputs that once crashed, in every build. */
#include <stdio.h>

#include "fuzz.h"

int
main (int   argc,
      char *argv[])
{
  guint count = 0;

  for (int i = 1; i < argc; i++)
    {
      g_autoptr(GDir) dir = g_dir_open (argv[i], 0, NULL);
      const char *name;

      if (dir == NULL)
        continue;
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *path = g_build_filename (argv[i], name, NULL);
          g_autofree char *data = NULL;
          gsize len;

          if (!g_file_get_contents (path, &data, &len, NULL))
            continue;
          LLVMFuzzerTestOneInput ((const uint8_t *) data, len);
          count++;
        }
    }
  printf ("replayed %u inputs\n", count);
  return 0;
}
