/* The channel benchmark's results against message size: the table, its
 * JSON, and the chart (--plot): gnuplot where it runs, else an SVG drawn
 * here. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <sys/wait.h>

#include "channel.h"

/* ---------------------------------------------------------------- table */

static void print_num(double v, const char *fmt, int width) {
  if (isnan(v))
    printf("%*s", width, "-");
  else
    printf(fmt, width, v);
}

void print_sizes(const struct size_row rows[NSIZES]) {
  printf("\nagainst message size (medians; throughput in millions of "
         "messages/s and GB/s)\n"
         "%-8s  %21s  %31s  %21s\n"
         "%-8s  %10s %10s  %10s %10s %9s  %10s %10s\n",
         "", "round trip, busy (us)", "throughput, copy (M msg/s; GB/s)",
         "zero-copy (M msg/s)", "size", "shmkit", "raw ring", "shmkit",
         "raw ring", "shmkit GB", "shmkit", "raw ring");
  for (int si = 0; si < NSIZES; si++) {
    const struct size_row *r = &rows[si];
    printf("%-8s  ", size_names[si]);
    print_num(r->rt_ns / 1e3, "%*.2f", 10);
    printf(" ");
    print_num(r->rt_raw_ns / 1e3, "%*.2f", 10);
    printf("  ");
    print_num(r->copy_ps / 1e6, "%*.3f", 10);
    printf(" ");
    print_num(r->copy_raw_ps / 1e6, "%*.3f", 10);
    printf(" ");
    print_num(r->copy_ps * (double)sizes[si] / 1e9, "%*.2f", 9);
    printf("  ");
    print_num(r->zc_ps / 1e6, "%*.3f", 10);
    printf(" ");
    print_num(r->zc_raw_ps / 1e6, "%*.3f", 10);
    printf("\n");
  }
}

static void json_num(const char *key, double v) {
  printf(", \"%s\": ", key);
  if (isfinite(v))
    printf("%.6g", v);
  else
    printf("null");
}

void json_sizes(const struct size_row rows[NSIZES]) {
  printf(",\n \"sizes\": [");
  for (int si = 0; si < NSIZES; si++) {
    const struct size_row *r = &rows[si];
    printf("%s\n  {\"size\": %lu", si ? "," : "", (unsigned long)sizes[si]);
    json_num("round_trip_ns", r->rt_ns);
    json_num("round_trip_raw_ring_ns", r->rt_raw_ns);
    json_num("copy_msgs_per_s", r->copy_ps);
    json_num("copy_raw_ring_msgs_per_s", r->copy_raw_ps);
    json_num("zero_copy_msgs_per_s", r->zc_ps);
    json_num("zero_copy_raw_ring_msgs_per_s", r->zc_raw_ps);
    printf("}");
  }
  printf("]");
}

/* ---------------------------------------------------------------- chart */

/* A series of the chart: its values by size, NAN where missing. */
struct series {
  const char *title, *colour;
  double v[NSIZES];
};

static void plot_series(struct series s[5],
                        const struct size_row rows[NSIZES]) {
  s[0] = (struct series){"shmkit, busy", "#1f77b4", {0}};
  s[1] = (struct series){"raw ring, busy", "#ff7f0e", {0}};
  s[2] = (struct series){"shmkit, copy", "#1f77b4", {0}};
  s[3] = (struct series){"raw ring, copy", "#ff7f0e", {0}};
  s[4] = (struct series){"shmkit, zero-copy", "#2ca02c", {0}};
  for (int si = 0; si < NSIZES; si++) {
    double mb = (double)sizes[si] / 1e6;
    s[0].v[si] = rows[si].rt_ns / 1e3;
    s[1].v[si] = rows[si].rt_raw_ns / 1e3;
    s[2].v[si] = rows[si].copy_ps * mb;
    s[3].v[si] = rows[si].copy_raw_ps * mb;
    s[4].v[si] = rows[si].zc_ps * mb;
  }
}

/* gnuplot, with the script on its stdin and the SVG on its stdout; 0 if it
 * ran and succeeded. */
static int plot_gnuplot(FILE *out, struct series s[5]) {
  int in[2], status;
  pid_t pid;
  FILE *f;

  fflush(NULL);
  if (pipe(in) != 0) return -1;
  if ((pid = fork()) < 0) return -1;
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(fileno(out), 1);
    close(in[0]);
    close(in[1]);
    execlp("gnuplot", "gnuplot", (char *)NULL);
    _exit(127);
  }
  close(in[0]);
  signal(SIGPIPE, SIG_IGN);
  f = fdopen(in[1], "w");
  if (f == NULL) {
    close(in[1]);
    waitpid(pid, &status, 0);
    return -1;
  }
  fprintf(f, "set terminal svg size 960,420 dynamic font 'sans,11'\n"
             "set multiplot layout 1,2\n"
             "set logscale xy\nset grid\nset key top left\n"
             "set xlabel 'message size'\nset xrange [5:1.6e6]\n"
             "set xtics (");
  for (int si = 0; si < NSIZES; si++)
    fprintf(f, "%s'%s' %lu", si ? ", " : "", size_names[si],
            (unsigned long)sizes[si]);
  fprintf(f, ")\n");
  for (int p = 0; p < 2; p++) {
    int first = p == 0 ? 0 : 2, last = p == 0 ? 2 : 5;
    fprintf(f, "set title '%s'\nset ylabel '%s'\n",
            p == 0 ? "round trip, busy-poll" : "throughput",
            p == 0 ? "microseconds" : "MB/s (payload)");
    fprintf(f, "plot ");
    for (int k = first; k < last; k++)
      fprintf(f,
              "%s'-' using 1:2 with linespoints lw 2 lc rgb '%s'%s "
              "title '%s'",
              k > first ? ", " : "", s[k].colour, k == 3 ? " dt 2" : "",
              s[k].title);
    fprintf(f, "\n");
    for (int k = first; k < last; k++) {
      for (int si = 0; si < NSIZES; si++)
        if (!isnan(s[k].v[si]))
          fprintf(f, "%lu %g\n", (unsigned long)sizes[si], s[k].v[si]);
      fprintf(f, "e\n");
    }
  }
  fprintf(f, "unset multiplot\n");
  fclose(f);
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* The chart drawn here: two log-log panels with decade grid lines. */
static void svg_panel(FILE *f, int x0, const char *title, const char *unit,
                      const struct series *s, int n) {
  const int w = 420, h = 300, top = 40, left = x0 + 60;
  double lo = INFINITY, hi = -INFINITY;
  int dlo, dhi;

  for (int k = 0; k < n; k++)
    for (int si = 0; si < NSIZES; si++)
      if (s[k].v[si] > 0) {
        lo = fmin(lo, s[k].v[si]);
        hi = fmax(hi, s[k].v[si]);
      }
  if (!(lo <= hi)) lo = 1, hi = 10;
  dlo = (int)floor(log10(lo));
  dhi = (int)ceil(log10(hi));
  if (dhi == dlo) dhi++;
  fprintf(f,
          "<text x='%d' y='24' font-size='14' text-anchor='middle'>%s</text>\n"
          "<rect x='%d' y='%d' width='%d' height='%d' fill='none' "
          "stroke='#444'/>\n",
          left + w / 2, title, left, top, w, h);
#define SX(si) (left + (int)((double)(si)*w / (NSIZES - 1)))
#define SY(v)  (top + h - (int)((log10(v) - dlo) / (dhi - dlo) * h))
  for (int d = dlo; d <= dhi; d++)
    fprintf(
        f,
        "<line x1='%d' x2='%d' y1='%d' y2='%d' stroke='#ddd'/>"
        "<text x='%d' y='%d' font-size='11' text-anchor='end'>1e%d</text>\n",
        left, left + w, SY(pow(10, d)), SY(pow(10, d)), left - 4,
        SY(pow(10, d)) + 4, d);
  for (int si = 0; si < NSIZES; si++)
    fprintf(f,
            "<text x='%d' y='%d' font-size='11' "
            "text-anchor='middle'>%s</text>\n",
            SX(si), top + h + 16, size_names[si]);
  fprintf(f,
          "<text x='%d' y='%d' font-size='12' text-anchor='middle' "
          "transform='rotate(-90 %d %d)'>%s</text>\n",
          x0 + 14, top + h / 2, x0 + 14, top + h / 2, unit);
  for (int k = 0; k < n; k++) {
    fprintf(f,
            "<polyline fill='none' stroke='%s' stroke-width='2'%s "
            "points='",
            s[k].colour, k == 1 && n == 3 ? " stroke-dasharray='6 3'" : "");
    for (int si = 0; si < NSIZES; si++)
      if (s[k].v[si] > 0) fprintf(f, "%d,%d ", SX(si), SY(s[k].v[si]));
    fprintf(f, "'/>\n");
    for (int si = 0; si < NSIZES; si++)
      if (s[k].v[si] > 0)
        fprintf(f, "<circle cx='%d' cy='%d' r='3' fill='%s'/>\n", SX(si),
                SY(s[k].v[si]), s[k].colour);
    fprintf(f, "<text x='%d' y='%d' font-size='11' fill='%s'>%s</text>\n",
            left + 8, top + 16 + 14 * k, s[k].colour, s[k].title);
  }
#undef SX
#undef SY
}

static void plot_svg(FILE *f, const struct series s[5]) {
  fprintf(f, "<?xml version='1.0' encoding='UTF-8'?>\n"
             "<svg xmlns='http://www.w3.org/2000/svg' width='1000' "
             "height='380' font-family='sans-serif'>\n"
             "<rect width='100%%' height='100%%' fill='white'/>\n");
  svg_panel(f, 0, "round trip, busy-poll", "microseconds", s, 2);
  svg_panel(f, 500, "throughput", "MB/s (payload)", s + 2, 3);
  fprintf(f, "</svg>\n");
}

void write_plot(const char *path, const struct size_row rows[NSIZES]) {
  struct series s[5];
  FILE *f = fopen(path, "w");

  if (f == NULL) die_errno("fopen(--plot)");
  plot_series(s, rows);
  fflush(f);
  if (plot_gnuplot(f, s) == 0) {
    fclose(f);
    fprintf(stderr, "%s: wrote %s with gnuplot\n", progname, path);
    return;
  }
  /* Anything gnuplot wrote before it failed goes. */
  if (fflush(f) != 0 || ftruncate(fileno(f), 0) != 0 ||
      fseek(f, 0, SEEK_SET) != 0)
    die_errno("rewriting --plot");
  plot_svg(f, s);
  if (fclose(f) != 0) die_errno("writing --plot");
  fprintf(stderr, "%s: wrote %s (no gnuplot: drawn here)\n", progname, path);
}
