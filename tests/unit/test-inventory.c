/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <glib/gstdio.h>
#include <string.h>

#include "castellan-error.h"
#include "castellan-inventory.h"

/* Every test's files, in one folder that goes when the tests have run. */
static char *temp_root;

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

/* A folder of its own for each test. */
static char *
temp_path (void)
{
  g_autofree char *dir = g_build_filename (temp_root, "inv-XXXXXX", NULL);

  g_assert_nonnull (g_mkdtemp (dir));
  return g_build_filename (dir, "data", "inventory.ini", NULL);
}

static CastellanHost *
make_host (const char *name,
           const char *address)
{
  CastellanHost *host = castellan_host_new ();

  g_object_set (host, "name", name, "address", address, "group", "Web",
                "tags", "iis;prod", "notes", "line one\nline two, with = and [brackets]",
                "https", TRUE, "port", 5986, "user", "CORP\\admin", NULL);
  return host;
}

static void
test_round_trip (void)
{
  g_autofree char *path = temp_path ();
  g_autoptr(CastellanInventory) inv = castellan_inventory_new (path);
  g_autoptr(CastellanInventory) back = castellan_inventory_new (path);
  g_autoptr(CastellanHost) host = make_host ("Web 01", "web01.corp.example");
  g_autoptr(CastellanHost) loaded = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *notes = NULL;
  CastellanVerdict verdict = { "web01.corp.example", CASTELLAN_IDENTITY_TLS, CASTELLAN_AUTH_KERBEROS,
                               "tls-1.3", "TLS_AES_256_GCM_SHA384", NULL, FALSE, NULL };

  castellan_host_set_verdict (host, &verdict);
  castellan_inventory_add (inv, host);
  g_assert_true (castellan_inventory_save (inv, &error));
  g_assert_no_error (error);

  /* Human-readable, and never a secret in it. */
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_nonnull (strstr (contents, "address=web01.corp.example"));
  g_assert_null (strstr (contents, "password"));

  g_assert_true (castellan_inventory_load (back, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_list_model_get_n_items (castellan_inventory_get_hosts (back)), ==, 1);
  loaded = g_list_model_get_item (castellan_inventory_get_hosts (back), 0);
  g_assert_cmpstr (castellan_host_get_id (loaded), ==, castellan_host_get_id (host));
  g_assert_cmpstr (castellan_host_get_name (loaded), ==, "Web 01");
  g_assert_cmpuint (castellan_host_get_port (loaded), ==, 5986);
  g_assert_true (castellan_host_get_https (loaded));
  g_assert_cmpstr (castellan_host_get_user (loaded), ==, "CORP\\admin");
  g_assert_cmpstr (castellan_host_get_last_level (loaded), ==, "verified");
  g_object_get (loaded, "notes", &notes, NULL);
  g_assert_cmpstr (notes, ==, "line one\nline two, with = and [brackets]");
}

static void
test_missing_is_empty (void)
{
  g_autofree char *path = temp_path ();
  g_autoptr(CastellanInventory) inv = castellan_inventory_new (path);
  g_autoptr(GError) error = NULL;

  g_assert_true (castellan_inventory_load (inv, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_list_model_get_n_items (castellan_inventory_get_hosts (inv)), ==, 0);
}

/* The damaged file kept beside the inventory, byte for byte. */
static void
assert_kept_aside (const char *dir,
                   const char *bytes,
                   gsize       length)
{
  g_autoptr(GDir) listing = g_dir_open (dir, 0, NULL);
  const char *name;
  gboolean kept = FALSE;

  while ((name = g_dir_read_name (listing)) != NULL)
    if (g_str_has_prefix (name, "inventory.ini.damaged-"))
      {
        g_autofree char *full = g_build_filename (dir, name, NULL);
        g_autofree char *contents = NULL;
        gsize len;

        g_assert_true (g_file_get_contents (full, &contents, &len, NULL));
        g_assert_cmpmem (contents, len, bytes, length);
        kept = TRUE;
      }
  g_assert_true (kept);
}

static void
test_damaged_kept_aside (void)
{
  g_autofree char *path = temp_path ();
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr(CastellanInventory) inv = castellan_inventory_new (path);
  g_autoptr(GError) error = NULL;
  static const char damaged[] = "[host 1]\naddress=srv01\n\xff\xfe garbage without equals\n[[[";

  g_mkdir_with_parents (dir, 0700);
  g_assert_true (g_file_set_contents (path, damaged, sizeof damaged - 1, NULL));
  g_assert_false (castellan_inventory_load (inv, &error));
  g_assert_error (error, CASTELLAN_INVENTORY_ERROR, CASTELLAN_INVENTORY_ERROR_DAMAGED);
  g_assert_nonnull (strstr (error->message, ".damaged-"));
  g_assert_cmpuint (g_list_model_get_n_items (castellan_inventory_get_hosts (inv)), ==, 0);

  /* The damaged bytes are kept, untouched, beside a fresh file. */
  assert_kept_aside (dir, damaged, sizeof damaged - 1);
  g_assert_true (castellan_inventory_save (inv, NULL));
  g_assert_true (g_file_test (path, G_FILE_TEST_EXISTS));
}

static void
test_ten_thousand (void)
{
  g_autofree char *path = temp_path ();
  g_autoptr(CastellanInventory) inv = castellan_inventory_new (path);
  g_autoptr(CastellanInventory) back = castellan_inventory_new (path);

  for (guint i = 0; i < 10000; i++)
    {
      g_autofree char *name = g_strdup_printf ("host %05u", i);
      g_autofree char *addr = g_strdup_printf ("srv%05u.corp.example", i);
      g_autoptr(CastellanHost) host = make_host (name, addr);

      castellan_inventory_add (inv, host);
    }
  g_assert_true (castellan_inventory_save (inv, NULL));
  g_assert_true (castellan_inventory_load (back, NULL));
  g_assert_cmpuint (g_list_model_get_n_items (castellan_inventory_get_hosts (back)), ==, 10000);
}

/* A line break in a one-line field, in a quoted CSV cell: refused, with
 * the line it starts on; notes may hold one. Nothing is imported. */
static void
test_csv_control_characters (void)
{
  static const struct { const char *csv; const char *words; } cases[] = {
    { "name,address\nok,srv01\n\"two\",\"srv02/wsman\r\nX-Injected: yes\"\n", "Line 3: the “address”" },
    { "name,notes,address\n\"a\",\"note\non two lines\",srv01\nb,,\"srv02\nx\"\n", "Line 4: the “address”" },
    { "name,address,user\nok,srv01,\"CORP\\admin\tx\"\n", "Line 2: the “user”" },
    { "name,address,proxy\nok,srv01,\"http://p:3128\r\n\"\n", "Line 2: the “proxy”" },
    { "name,address\nok,srv01\rX\n", "Line 2: the “address”" },
    { "name,address,proxy\nok,srv01,socks5://p:1\n", "Line 2: The proxy" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(CastellanInventory) inv = castellan_inventory_new ("/nonexistent/x.ini");
      g_autoptr(GError) error = NULL;

      g_autofree char *shown = g_strescape (cases[i].csv, NULL);

      g_test_message ("%s", shown);
      g_assert_cmpuint (castellan_inventory_import_csv (inv, cases[i].csv, &error), ==, 0);
      g_assert_error (error, CASTELLAN_INVENTORY_ERROR, CASTELLAN_INVENTORY_ERROR_CSV);
      g_assert_nonnull (strstr (error->message, cases[i].words));
      g_assert_cmpuint (g_list_model_get_n_items (castellan_inventory_get_hosts (inv)), ==, 0);
    }
}

/* A host written with a line break in its address (by hand, or by another
 * program: GKeyFile writes it "\r\n") is not loaded into a request: the
 * file is kept whole, aside, and the message names the host and line. */
static void
test_control_characters_in_file (void)
{
  g_autofree char *path = temp_path ();
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr(CastellanInventory) inv = castellan_inventory_new (path);
  g_autoptr(GError) error = NULL;
  static const char file[] =
    "[castellan]\nversion=1\n\n[host a]\nname=Good\naddress=srv01\n\n"
    "[host b]\nname=Bad one\nnotes=multi\\nline\naddress=http://srv02/wsman\\r\\nX-Injected: yes\n";

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (path, file, sizeof file - 1, NULL));
  g_assert_false (castellan_inventory_load (inv, &error));
  g_assert_error (error, CASTELLAN_INVENTORY_ERROR, CASTELLAN_INVENTORY_ERROR_DAMAGED);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "line 11"));
  g_assert_nonnull (strstr (error->message, "“address” of host “Bad one”"));
  g_assert_nonnull (strstr (error->message, ".damaged-"));
  g_assert_cmpuint (g_list_model_get_n_items (castellan_inventory_get_hosts (inv)), ==, 0);

  assert_kept_aside (dir, file, sizeof file - 1);
}

/* A host holding a line break is refused at saving: the file on disk is
 * left as it was. */
static void
test_control_characters_not_saved (void)
{
  g_autofree char *path = temp_path ();
  g_autoptr(CastellanInventory) inv = castellan_inventory_new (path);
  g_autoptr(CastellanHost) good = make_host ("Good", "srv01");
  g_autoptr(CastellanHost) bad = make_host ("Bad", "srv02");
  g_autoptr(GError) error = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;

  castellan_inventory_add (inv, good);
  g_assert_true (castellan_inventory_save (inv, &error));
  g_assert_true (g_file_get_contents (path, &before, NULL, NULL));
  g_object_set (bad, "spn-service", "HTTP\r\nX: y", NULL);
  g_assert_cmpstr (castellan_host_find_control (bad), ==, "spn-service");
  g_assert_null (castellan_host_to_options (bad, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  castellan_inventory_add (inv, bad);
  g_assert_false (castellan_inventory_save (inv, &error));
  g_assert_error (error, CASTELLAN_INVENTORY_ERROR, CASTELLAN_INVENTORY_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "“spn-service” of host “Bad”"));
  g_assert_true (g_file_get_contents (path, &after, NULL, NULL));
  g_assert_cmpstr (after, ==, before);
}

/* The proxy is saved, loaded and reaches the connect options. */
static void
test_proxy (void)
{
  g_autofree char *path = temp_path ();
  g_autoptr(CastellanInventory) inv = castellan_inventory_new (path);
  g_autoptr(CastellanInventory) back = castellan_inventory_new (path);
  g_autoptr(CastellanHost) host = make_host ("Web", "web01.corp.example");
  g_autoptr(CastellanHost) loaded = NULL;
  g_autoptr(CastellanConnectOptions) options = NULL;
  g_autoptr(CastellanConnectOptions) copy = NULL;
  g_autoptr(GError) error = NULL;

  g_object_set (host, "proxy", "https://proxy.corp.example:8443", NULL);
  castellan_inventory_add (inv, host);
  g_assert_true (castellan_inventory_save (inv, &error));
  g_assert_true (castellan_inventory_load (back, &error));
  g_assert_no_error (error);
  loaded = g_list_model_get_item (castellan_inventory_get_hosts (back), 0);
  options = castellan_host_to_options (loaded, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (options->proxy, ==, "https://proxy.corp.example:8443");
  copy = castellan_connect_options_copy (options);
  g_assert_cmpstr (copy->proxy, ==, options->proxy);
  g_assert_true (copy->proxy != options->proxy);

  g_object_set (loaded, "proxy", "http://proxy.corp.example", NULL);
  g_assert_null (castellan_host_to_options (loaded, &error));
  g_assert_error (error, CASTELLAN_ERROR, CASTELLAN_ERROR_INVALID_ADDRESS);
  g_assert_nonnull (strstr (error->message, "port"));
}

static void
test_csv (void)
{
  g_autoptr(CastellanInventory) inv = castellan_inventory_new ("/nonexistent/x.ini");
  g_autoptr(CastellanInventory) other = castellan_inventory_new ("/nonexistent/y.ini");
  g_autoptr(CastellanHost) host = make_host ("Web, \"quoted\" 01", "web01.corp.example");
  g_autoptr(CastellanHost) copy = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *csv = NULL;
  g_autofree char *notes = NULL;
  g_autofree char *proxy = NULL;

  g_object_set (host, "proxy", "http://proxy.corp.example:3128", NULL);
  castellan_inventory_add (inv, host);
  csv = castellan_inventory_to_csv (inv);
  g_assert_true (g_str_has_prefix (csv, "name,address,port,https,auth,user,"));
  g_assert_cmpuint (castellan_inventory_import_csv (other, csv, &error), ==, 1);
  g_assert_no_error (error);
  copy = g_list_model_get_item (castellan_inventory_get_hosts (other), 0);
  g_assert_cmpstr (castellan_host_get_name (copy), ==, "Web, \"quoted\" 01");
  g_assert_cmpstr (castellan_host_get_user (copy), ==, "CORP\\admin");
  g_assert_cmpstr (castellan_host_get_id (copy), !=, castellan_host_get_id (host));
  g_object_get (copy, "notes", &notes, NULL);
  g_assert_cmpstr (notes, ==, "line one\nline two, with = and [brackets]");
  g_object_get (copy, "proxy", &proxy, NULL);
  g_assert_cmpstr (proxy, ==, "http://proxy.corp.example:3128");

  /* A bad row adds nothing at all, and says which row. */
  g_assert_cmpuint (castellan_inventory_import_csv (other, "name,address\nok,srv01\nbad,srv 02\n", &error), ==, 0);
  g_assert_error (error, CASTELLAN_INVENTORY_ERROR, CASTELLAN_INVENTORY_ERROR_CSV);
  g_assert_nonnull (strstr (error->message, "Line 3"));
  g_clear_error (&error);
  g_assert_cmpuint (castellan_inventory_import_csv (other, "name,colour\nx,red\n", &error), ==, 0);
  g_assert_nonnull (strstr (error->message, "colour"));
  g_clear_error (&error);
  g_assert_cmpuint (castellan_inventory_import_csv (other, "name,address\n\"open,srv\n", &error), ==, 0);
  g_assert_error (error, CASTELLAN_INVENTORY_ERROR, CASTELLAN_INVENTORY_ERROR_CSV);
  g_assert_cmpuint (g_list_model_get_n_items (castellan_inventory_get_hosts (other)), ==, 1);
}

static void
test_duplicate_and_options (void)
{
  g_autoptr(CastellanHost) host = make_host ("Web 01", "web01.corp.example");
  g_autoptr(CastellanHost) dup = castellan_host_duplicate (host);
  g_autoptr(CastellanConnectOptions) options = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpstr (castellan_host_get_id (dup), !=, castellan_host_get_id (host));
  g_assert_cmpstr (castellan_host_get_name (dup), ==, "Web 01 (copy)");
  g_assert_cmpstr (castellan_host_get_address (dup), ==, "web01.corp.example");

  options = castellan_host_to_options (host, &error);
  g_assert_no_error (error);
  g_assert_true (options->endpoint->https);
  g_assert_cmpuint (options->endpoint->port, ==, 5986);
  g_assert_null (options->password);

  g_object_set (host, "auth", "digest", NULL);
  g_clear_pointer (&options, castellan_connect_options_free);
  options = castellan_host_to_options (host, &error);
  g_assert_null (options);
  g_assert_nonnull (strstr (error->message, "digest"));
}

static CastellanHost *
host_named (CastellanInventory *inv,
            const char         *name)
{
  GListModel *hosts = castellan_inventory_get_hosts (inv);

  for (guint i = 0; i < g_list_model_get_n_items (hosts); i++)
    {
      g_autoptr(CastellanHost) host = g_list_model_get_item (hosts, i);

      if (g_str_equal (castellan_host_get_name (host), name))
        return host;
    }
  return NULL;
}

static void
rename_host (CastellanInventory *inv,
             const char         *from,
             const char         *to)
{
  CastellanHost *host = host_named (inv, from);

  g_assert_nonnull (host);
  g_object_set (host, "name", to, NULL);
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

static void
assert_names (CastellanInventory *inv,
              const char         *expected)
{
  GListModel *hosts = castellan_inventory_get_hosts (inv);
  g_autoptr(GPtrArray) names = g_ptr_array_new_null_terminated (8, NULL, TRUE);
  g_autofree char *joined = NULL;

  for (guint i = 0; i < g_list_model_get_n_items (hosts); i++)
    {
      g_autoptr(CastellanHost) host = g_list_model_get_item (hosts, i);

      g_ptr_array_add (names, (gpointer) castellan_host_get_name (host));
    }
  g_ptr_array_sort (names, compare_names);
  joined = g_strjoinv (" ", (char **) names->pdata);
  g_assert_cmpstr (joined, ==, expected);
}

/* Two instances editing the same file: every edit survives, host by host. */
static void
test_two_instances (void)
{
  g_autofree char *path = temp_path ();
  g_autoptr(CastellanInventory) a = castellan_inventory_new (path);
  g_autoptr(CastellanInventory) b = castellan_inventory_new (path);
  g_autoptr(CastellanInventory) check = castellan_inventory_new (path);
  g_autoptr(GError) error = NULL;
  const char *names[] = { "h1", "h2", "h3", "h4" };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autoptr(CastellanHost) host = make_host (names[i], "srv.example");

      castellan_inventory_add (a, host);
    }
  g_assert_true (castellan_inventory_save (a, &error));
  g_assert_true (castellan_inventory_load (b, &error));
  g_assert_no_error (error);

  /* A edits h1 and deletes h4; B, not knowing, edits h2 and adds h5. */
  rename_host (a, "h1", "h1-by-a");
  castellan_inventory_remove (a, host_named (a, "h4"));
  g_assert_true (castellan_inventory_save (a, &error));
  rename_host (b, "h2", "h2-by-b");
  {
    g_autoptr(CastellanHost) h5 = make_host ("h5", "srv5.example");

    castellan_inventory_add (b, h5);
  }
  g_assert_true (castellan_inventory_save (b, &error));
  g_assert_no_error (error);
  assert_names (b, "h1-by-a h2-by-b h3 h5");

  /* A, still not knowing, edits h3: B's edit and host stay. */
  rename_host (a, "h3", "h3-by-a");
  g_assert_true (castellan_inventory_save (a, &error));
  assert_names (a, "h1-by-a h2-by-b h3-by-a h5");

  g_assert_true (castellan_inventory_load (check, &error));
  g_assert_no_error (error);
  assert_names (check, "h1-by-a h2-by-b h3-by-a h5");

  /* Both change the same host: the later save wins, nothing breaks. */
  rename_host (a, "h5", "h5-by-a");
  rename_host (b, "h5", "h5-by-b");
  g_assert_true (castellan_inventory_save (a, &error));
  g_assert_true (castellan_inventory_save (b, &error));
  g_assert_true (castellan_inventory_load (check, &error));
  assert_names (check, "h1-by-a h2-by-b h3-by-a h5-by-b");
}

static gboolean
names_are (gpointer user_data)
{
  CastellanInventory *inv = user_data;

  return host_named (inv, "renamed") != NULL && host_named (inv, "added") != NULL &&
         host_named (inv, "gone") == NULL;
}

/* An instance watching the file sees another's saves as they happen. */
static void
test_watch (void)
{
  g_autofree char *path = temp_path ();
  g_autoptr(CastellanInventory) a = castellan_inventory_new (path);
  g_autoptr(CastellanInventory) b = castellan_inventory_new (path);
  g_autoptr(CastellanHost) one = make_host ("one", "one.example");
  g_autoptr(CastellanHost) gone = make_host ("gone", "gone.example");
  g_autoptr(CastellanHost) added = make_host ("added", "added.example");
  g_autoptr(GError) error = NULL;
  gint64 deadline;

  castellan_inventory_add (a, one);
  castellan_inventory_add (a, gone);
  g_assert_true (castellan_inventory_save (a, &error));
  g_assert_true (castellan_inventory_load (b, &error));
  castellan_inventory_watch (b);

  g_object_set (one, "name", "renamed", NULL);
  castellan_inventory_remove (a, gone);
  castellan_inventory_add (a, added);
  g_assert_true (castellan_inventory_save (a, &error));

  deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  while (!names_are (b) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE) || (g_usleep (10000), TRUE);
  assert_names (b, "added renamed");
}

/* A file damaged by someone else between two saves is kept, not lost. */
static void
test_damaged_at_save (void)
{
  g_autofree char *path = temp_path ();
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr(CastellanInventory) inv = castellan_inventory_new (path);
  g_autoptr(CastellanInventory) check = castellan_inventory_new (path);
  g_autoptr(CastellanHost) host = make_host ("kept", "kept.example");
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) listing = NULL;
  const char *name;
  guint asides = 0;

  castellan_inventory_add (inv, host);
  g_assert_true (castellan_inventory_save (inv, &error));
  g_assert_true (g_file_set_contents (path, "[unterminated\nnot an ini file", -1, NULL));
  g_assert_false (castellan_inventory_save (inv, &error));
  g_assert_error (error, CASTELLAN_INVENTORY_ERROR, CASTELLAN_INVENTORY_ERROR_DAMAGED);
  g_assert_nonnull (strstr (error->message, "were saved"));
  g_clear_error (&error);

  g_assert_true (castellan_inventory_load (check, &error));
  assert_names (check, "kept");
  listing = g_dir_open (dir, 0, NULL);
  while ((name = g_dir_read_name (listing)) != NULL)
    {
      g_autofree char *full = g_build_filename (dir, name, NULL);
      g_autofree char *contents = NULL;

      if (!g_str_has_prefix (name, "inventory.ini.damaged-"))
        continue;
      asides++;
      g_assert_true (g_file_get_contents (full, &contents, NULL, NULL));
      g_assert_cmpstr (contents, ==, "[unterminated\nnot an ini file");
    }
  g_assert_cmpuint (asides, ==, 1);
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  temp_root = g_dir_make_tmp ("castellan-inv-XXXXXX", NULL);
  g_assert_nonnull (temp_root);
  g_test_add_func ("/inventory/round-trip", test_round_trip);
  g_test_add_func ("/inventory/missing", test_missing_is_empty);
  g_test_add_func ("/inventory/damaged", test_damaged_kept_aside);
  g_test_add_func ("/inventory/ten-thousand", test_ten_thousand);
  g_test_add_func ("/inventory/csv", test_csv);
  g_test_add_func ("/inventory/csv-control-characters", test_csv_control_characters);
  g_test_add_func ("/inventory/control-characters-in-file", test_control_characters_in_file);
  g_test_add_func ("/inventory/control-characters-not-saved", test_control_characters_not_saved);
  g_test_add_func ("/inventory/proxy", test_proxy);
  g_test_add_func ("/inventory/duplicate-options", test_duplicate_and_options);
  g_test_add_func ("/inventory/two-instances", test_two_instances);
  g_test_add_func ("/inventory/watch", test_watch);
  g_test_add_func ("/inventory/damaged-at-save", test_damaged_at_save);
  status = g_test_run ();
  remove_tree (temp_root);
  g_free (temp_root);
  return status;
}
