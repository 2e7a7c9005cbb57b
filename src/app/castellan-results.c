/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>

#include "castellan-fanout.h"
#include "castellan-host.h"
#include "castellan-results.h"
#include "castellan-security.h"

#define OUTPUT_MAX (256 * 1024)

typedef struct
{
  AdwExpanderRow *row;
  GtkImage *icon;
  GtkLabel *output_label;
  GString *output;
  char *outcome;      /* "Exit 0" or the error, once done */
  gboolean failed;
  guint index;
} HostView;

struct _CastellanResults
{
  GtkWidget parent_instance;

  GtkWidget *box;
  GtkLabel *summary;
  GtkListBox *list;
  GtkWidget *retry;
  GtkWidget *copy;
  GPtrArray *hosts;
  GPtrArray *options;
  GPtrArray *oneshots;
  GArray *run_map;    /* this run's index to the host's view */
  char *command;
  HostView *views;
  GCancellable *cancellable;
  guint done;
  guint failed;
};

G_DEFINE_FINAL_TYPE (CastellanResults, castellan_results, GTK_TYPE_WIDGET)

enum { SIGNAL_OPEN_CONSOLES, N_SIGNALS };
static guint signals[N_SIGNALS];

static void
on_output (guint            index,
           CastellanStream  stream,
           const guint8    *data,
           gsize            length,
           gpointer         user_data)
{
  CastellanResults *self = user_data;
  HostView *v = &self->views[g_array_index (self->run_map, guint, index)];

  if (v->output->len < OUTPUT_MAX)
    g_string_append_len (v->output, (const char *) data, MIN (length, OUTPUT_MAX - v->output->len));
}

/* The first line of the output, for the row's subtitle. */
static char *
first_line (const char *text)
{
  const char *start = text;
  const char *end;

  while (*start == '\r' || *start == '\n' || *start == ' ')
    start++;
  end = start + strcspn (start, "\r\n");
  return g_strndup (start, end - start);
}

static void
update_summary (CastellanResults *self)
{
  g_autofree char *summary = g_strdup_printf (_("%u of %u hosts done, %u failed"), self->done,
                                              self->hosts->len, self->failed);

  gtk_label_set_label (self->summary, summary);
  gtk_widget_set_sensitive (self->retry, self->done == self->hosts->len && self->failed > 0);
}

static void
on_host_done (guint             index,
              CastellanOneshot *oneshot,
              int               exit_code,
              const GError     *error,
              gpointer          user_data)
{
  CastellanResults *self = user_data;
  HostView *v = &self->views[g_array_index (self->run_map, guint, index)];
  const CastellanVerdict *verdict = castellan_oneshot_get_verdict (oneshot);
  g_autofree char *subtitle = NULL;
  g_autofree char *description = NULL;
  g_autofree char *text = g_utf8_make_valid (v->output->str, v->output->len);
  g_autofree char *line = first_line (text);

  self->done++;
  g_free (v->outcome);
  if (error != NULL)
    {
      self->failed++;
      v->failed = TRUE;
      v->outcome = g_strdup (error->message);
      subtitle = g_strdup (error->message);
      description = g_strdup_printf ("%s: %s", adw_preferences_row_get_title (ADW_PREFERENCES_ROW (v->row)),
                                     error->message);
      gtk_image_set_from_icon_name (v->icon, "dialog-error-symbolic");
      castellan_security_apply_style (GTK_WIDGET (v->icon), "error");
    }
  else
    {
      const char *level = castellan_verdict_level_id (castellan_verdict_get_level (verdict));
      g_autofree char *security = castellan_security_describe (verdict);

      /* A command that ran and failed counts as failed, too. */
      v->failed = exit_code != 0;
      if (v->failed)
        self->failed++;
      v->outcome = g_strdup_printf (_("Exit %d"), exit_code);
      subtitle = *line ? g_strdup_printf ("%s · %s", v->outcome, line) : g_strdup (v->outcome);
      description = g_strdup_printf ("%s: %s · %s%s%s", adw_preferences_row_get_title (ADW_PREFERENCES_ROW (v->row)),
                                     v->outcome, security, *line ? " · " : "", line);
      gtk_image_set_from_icon_name (v->icon, castellan_security_icon_name (level));
      castellan_security_apply_style (GTK_WIDGET (v->icon), castellan_security_style (level));
    }
  adw_expander_row_set_subtitle (v->row, subtitle);
  gtk_accessible_update_property (GTK_ACCESSIBLE (v->row), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                  description, -1);
  gtk_label_set_label (v->output_label, *text ? text : _("(no output)"));
  gtk_list_box_invalidate_sort (self->list);
  update_summary (self);
}

/* Failures first, then in the order the hosts were chosen. */
static int
sort_rows (GtkListBoxRow *a,
           GtkListBoxRow *b,
           gpointer       user_data)
{
  HostView *va = g_object_get_data (G_OBJECT (a), "view");
  HostView *vb = g_object_get_data (G_OBJECT (b), "view");

  if (va->failed != vb->failed)
    return va->failed ? -1 : 1;
  return (int) va->index - (int) vb->index;
}

static void
fanout_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  castellan_fanout_run_finish (result, NULL);
  /* The reference the run held on the page. */
  g_object_unref (user_data);
}

static void
on_open_consoles (GtkButton        *button,
                  CastellanResults *self)
{
  g_signal_emit (self, signals[SIGNAL_OPEN_CONSOLES], 0, self->hosts);
}

/* Runs the command on the hosts whose views are listed (all, or the
 * failed ones again). */
static void
run_on (CastellanResults *self,
        GArray           *views)
{
  g_auto(GStrv) words = g_strsplit (self->command, " ", 2);
  const char *args[] = { words[1], NULL };

  g_clear_pointer (&self->oneshots, g_ptr_array_unref);
  g_clear_pointer (&self->run_map, g_array_unref);
  self->oneshots = g_ptr_array_new_with_free_func ((GDestroyNotify) castellan_oneshot_free);
  self->run_map = g_array_ref (views);
  for (guint i = 0; i < views->len; i++)
    {
      guint index = g_array_index (views, guint, i);
      HostView *v = &self->views[index];

      g_string_truncate (v->output, 0);
      v->failed = FALSE;
      adw_expander_row_set_subtitle (v->row, _("Waiting…"));
      gtk_image_set_from_icon_name (v->icon, "content-loading-symbolic");
      castellan_security_apply_style (GTK_WIDGET (v->icon), NULL);
      gtk_label_set_label (v->output_label, _("Running…"));
      g_ptr_array_add (self->oneshots,
                       castellan_oneshot_new (g_ptr_array_index (self->options, index), NULL, words[0],
                                              words[1] ? args : NULL));
    }
  gtk_list_box_invalidate_sort (self->list);
  update_summary (self);
  castellan_fanout_run_async (self->oneshots, CASTELLAN_DEFAULT_THROTTLE, on_output, on_host_done,
                              self, self->cancellable, fanout_done, g_object_ref (self));
}

static void
on_retry_failed (GtkButton        *button,
                 CastellanResults *self)
{
  g_autoptr(GArray) views = g_array_new (FALSE, FALSE, sizeof (guint));

  for (guint i = 0; i < self->hosts->len; i++)
    if (self->views[i].failed)
      g_array_append_val (views, i);
  if (views->len == 0)
    return;
  self->done -= views->len;
  self->failed -= views->len;
  run_on (self, views);
}

/* Every host's output under its name, in the order shown. */
static void
on_copy_output (GtkButton        *button,
                CastellanResults *self)
{
  g_autoptr(GString) text = g_string_new (NULL);

  for (GtkWidget *row = gtk_widget_get_first_child (GTK_WIDGET (self->list)); row != NULL;
       row = gtk_widget_get_next_sibling (row))
    {
      HostView *v = g_object_get_data (G_OBJECT (row), "view");
      g_autofree char *output = NULL;

      if (v == NULL)
        continue;
      output = g_utf8_make_valid (v->output->str, v->output->len);
      g_string_append_printf (text, "== %s (%s) ==\n%s%s",
                              adw_preferences_row_get_title (ADW_PREFERENCES_ROW (v->row)),
                              v->outcome ? v->outcome : _("not done"), output,
                              g_str_has_suffix (output, "\n") || *output == '\0' ? "" : "\n");
    }
  gdk_clipboard_set_text (gtk_widget_get_clipboard (GTK_WIDGET (self)), text->str);
}

static void
castellan_results_dispose (GObject *object)
{
  CastellanResults *self = CASTELLAN_RESULTS (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_pointer (&self->box, gtk_widget_unparent);
  G_OBJECT_CLASS (castellan_results_parent_class)->dispose (object);
}

static void
castellan_results_finalize (GObject *object)
{
  CastellanResults *self = CASTELLAN_RESULTS (object);

  for (guint i = 0; self->hosts && i < self->hosts->len; i++)
    {
      g_string_free (self->views[i].output, TRUE);
      g_free (self->views[i].outcome);
    }
  g_free (self->views);
  g_clear_pointer (&self->hosts, g_ptr_array_unref);
  g_clear_pointer (&self->oneshots, g_ptr_array_unref);
  g_clear_pointer (&self->options, g_ptr_array_unref);
  g_clear_pointer (&self->run_map, g_array_unref);
  g_free (self->command);
  g_clear_object (&self->cancellable);
  G_OBJECT_CLASS (castellan_results_parent_class)->finalize (object);
}

static void
castellan_results_class_init (CastellanResultsClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = castellan_results_dispose;
  G_OBJECT_CLASS (klass)->finalize = castellan_results_finalize;
  gtk_widget_class_set_layout_manager_type (GTK_WIDGET_CLASS (klass), GTK_TYPE_BIN_LAYOUT);
  signals[SIGNAL_OPEN_CONSOLES] = g_signal_new ("open-consoles", G_TYPE_FROM_CLASS (klass),
                                                G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                G_TYPE_NONE, 1, G_TYPE_PTR_ARRAY);
}

static void
castellan_results_init (CastellanResults *self)
{
  self->cancellable = g_cancellable_new ();
}

/**
 * castellan_results_new:
 * @hosts: (element-type CastellanHost)
 * @options: (element-type CastellanConnectOptions): one per host, with
 *   credentials
 */
CastellanResults *
castellan_results_new (GPtrArray  *hosts,
                       GPtrArray  *options,
                       const char *command)
{
  CastellanResults *self = g_object_new (CASTELLAN_TYPE_RESULTS, NULL);
  GtkWidget *scroller = gtk_scrolled_window_new ();
  GtkWidget *page = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  GtkWidget *header = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *buttons = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *title = gtk_label_new (command);
  GtkWidget *open = gtk_button_new_with_mnemonic (_("_Open Consoles for All"));
  GtkWidget *list = gtk_list_box_new ();
  g_autoptr(GArray) all = g_array_new (FALSE, FALSE, sizeof (guint));

  self->hosts = g_ptr_array_ref (hosts);
  self->options = g_ptr_array_ref (options);
  self->command = g_strdup (command);
  self->views = g_new0 (HostView, hosts->len);
  self->list = GTK_LIST_BOX (list);

  gtk_widget_set_margin_start (page, 18);
  gtk_widget_set_margin_end (page, 18);
  gtk_widget_set_margin_top (page, 18);
  gtk_widget_set_margin_bottom (page, 18);
  gtk_widget_add_css_class (title, "title-3");
  gtk_widget_add_css_class (title, "monospace");
  gtk_label_set_xalign (GTK_LABEL (title), 0);
  gtk_label_set_ellipsize (GTK_LABEL (title), PANGO_ELLIPSIZE_END);
  gtk_widget_set_hexpand (title, TRUE);
  gtk_box_append (GTK_BOX (header), title);
  gtk_box_append (GTK_BOX (page), header);
  self->retry = gtk_button_new_with_mnemonic (_("_Retry Failed"));
  self->copy = gtk_button_new_with_mnemonic (_("_Copy Output"));
  g_signal_connect (self->retry, "clicked", G_CALLBACK (on_retry_failed), self);
  g_signal_connect (self->copy, "clicked", G_CALLBACK (on_copy_output), self);
  g_signal_connect (open, "clicked", G_CALLBACK (on_open_consoles), self);
  gtk_box_append (GTK_BOX (buttons), self->retry);
  gtk_box_append (GTK_BOX (buttons), self->copy);
  gtk_box_append (GTK_BOX (buttons), open);
  gtk_box_append (GTK_BOX (page), buttons);
  self->summary = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (self->summary, 0);
  gtk_label_set_wrap (self->summary, TRUE);
  gtk_widget_add_css_class (GTK_WIDGET (self->summary), "dim-label");
  gtk_box_append (GTK_BOX (page), GTK_WIDGET (self->summary));
  gtk_list_box_set_selection_mode (GTK_LIST_BOX (list), GTK_SELECTION_NONE);
  gtk_list_box_set_sort_func (GTK_LIST_BOX (list), sort_rows, NULL, NULL);
  gtk_widget_add_css_class (list, "boxed-list");
  gtk_box_append (GTK_BOX (page), list);

  for (guint i = 0; i < hosts->len; i++)
    {
      CastellanHost *host = g_ptr_array_index (hosts, i);
      HostView *v = &self->views[i];
      g_autofree char *name = castellan_host_dup_display_name (host);
      GtkWidget *output = gtk_label_new (_("Running…"));

      v->index = i;
      v->output = g_string_new (NULL);
      v->row = ADW_EXPANDER_ROW (adw_expander_row_new ());
      g_object_set_data (G_OBJECT (v->row), "view", v);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (v->row), name);
      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (v->row), FALSE);
      v->icon = GTK_IMAGE (gtk_image_new_from_icon_name ("content-loading-symbolic"));
      adw_expander_row_add_prefix (v->row, GTK_WIDGET (v->icon));
      v->output_label = GTK_LABEL (output);
      gtk_label_set_selectable (v->output_label, TRUE);
      gtk_label_set_wrap (v->output_label, TRUE);
      gtk_label_set_wrap_mode (v->output_label, PANGO_WRAP_WORD_CHAR);
      gtk_label_set_xalign (v->output_label, 0);
      gtk_widget_add_css_class (output, "monospace");
      gtk_widget_set_margin_start (output, 12);
      gtk_widget_set_margin_end (output, 12);
      gtk_widget_set_margin_top (output, 6);
      gtk_widget_set_margin_bottom (output, 6);
      adw_expander_row_add_row (v->row, output);
      gtk_list_box_append (GTK_LIST_BOX (list), GTK_WIDGET (v->row));
      g_array_append_val (all, i);
    }

  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroller), page);
  self->box = scroller;
  gtk_widget_set_parent (scroller, GTK_WIDGET (self));
  run_on (self, all);
  return self;
}
