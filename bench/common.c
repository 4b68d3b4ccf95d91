#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"

#ifndef SHMKIT_BENCH_LINUX_EXT
/* Only bench/CMakeLists.txt knows which backend the library was built with. */
#  error "SHMKIT_BENCH_LINUX_EXT must be defined (0 or 1) by the build"
#endif

/* ---------------------------------------------------------------- measuring */

double bench_now_ns(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The median of v[0..n); sorts v. */
static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof(*v), cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Nanoseconds per cycle over a batch of `iters` cycles of one side, with
 * the case's enter() and gaps outside the time and its leave() inside; in
 * *wall, if not NULL, the same with the gaps in. */
static double batch(const bench_case *c, const bench_hooks *h, int raw,
                    long iters, double *wall) {
  void (*cycle)(void *) = raw ? c->raw : c->ours;
  double t0, gaps = 0;

  if (h->enter != NULL) h->enter(c->ctx, raw, iters);
  t0 = bench_now_ns();
  if (h->gap == NULL) {
    for (long i = 0; i < iters; i++) cycle(c->ctx);
  } else {
    for (long i = 0; i < iters; i++) {
      double g = bench_now_ns();
      h->gap(c->ctx);
      gaps += bench_now_ns() - g;
      cycle(c->ctx);
    }
  }
  if (h->leave != NULL) h->leave(c->ctx, raw);
  t0 = bench_now_ns() - t0;
  if (wall != NULL) *wall = t0 / (double)iters;
  return (t0 - gaps) / (double)iters;
}

/* Wall-clock nanoseconds per cycle of the two sides, gaps included. */
static double trial(const bench_case *c, const bench_hooks *h, long n) {
  double ours, raw;

  batch(c, h, 0, n, &ours);
  batch(c, h, 1, n, &raw);
  return (ours + raw) / 2;
}

/* The batch length that makes one round last about `round_ns`: doubles a
 * trial batch until one of both sides makes a tenth of that, then scales.
 * The trial that gets there is made twice and the faster one counts: one
 * stall (a busy neighbour, a burst of page faults) in a short trial would
 * otherwise shorten every round of the case to a few cycles. */
static long calibrate(const bench_case *c, const bench_hooks *h,
                      double round_ns) {
  double per_cycle, again;
  long n = 1, iters;

  for (;;) {
    per_cycle = trial(c, h, n);
    if (per_cycle * (double)n >= round_ns / 10 || n >= (1L << 24)) break;
    n *= 2;
  }
  again = trial(c, h, n);
  if (again < per_cycle) per_cycle = again;
  iters = (long)(round_ns / per_cycle);
  return iters < 1 ? 1 : iters;
}

/* ---------------------------------------------------------------- options */

static void usage(const bench_spec *s, FILE *f) {
  fprintf(f,
          "usage: %s [--quick] [--rounds N] [--round-ms MS] [--json]\n"
          "  --quick        %d rounds of ~%ld ms per side and case (~3 s), "
          "for CI\n"
          "  --rounds N     rounds of each side per case (default %d)\n"
          "  --round-ms MS  target length of one round (default %ld)\n"
          "  --json         the results as one JSON object, without the "
          "table\n",
          s->progname, s->quick.rounds, s->quick.round_ms, s->defaults.rounds,
          s->defaults.round_ms);
  if (s->usage_extra != NULL) fprintf(f, "%s\n", s->usage_extra);
}

static long parse_count(const bench_spec *s, const char *arg, const char *opt) {
  char *end;
  long v;

  errno = 0;
  v = arg != NULL ? strtol(arg, &end, 10) : 0;
  if (arg == NULL || errno != 0 || *end != '\0' || v < 1 || v > 100000) {
    fprintf(stderr, "%s: %s needs a number from 1 to 100000\n", s->progname,
            opt);
    usage(s, stderr);
    exit(2);
  }
  return v;
}

void bench_start(bench *b, const bench_spec *spec, int argc, char **argv) {
  size_t n;

  memset(b, 0, sizeof(*b));
  b->spec = spec;
  b->opt = spec->defaults;
  b->t_start = bench_now_ns();
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) {
      b->opt = spec->quick;
    } else if (strcmp(argv[i], "--rounds") == 0) {
      b->opt.rounds = (int)parse_count(spec, argv[++i], "--rounds");
    } else if (strcmp(argv[i], "--round-ms") == 0) {
      b->opt.round_ms = parse_count(spec, argv[++i], "--round-ms");
    } else if (strcmp(argv[i], "--json") == 0) {
      b->json = 1;
    } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      usage(spec, stdout);
      exit(0);
    } else if (spec->option == NULL || !spec->option(argc, argv, &i)) {
      fprintf(stderr, "%s: unknown argument '%s'\n", spec->progname, argv[i]);
      usage(spec, stderr);
      exit(2);
    }
  }
  n = (size_t)b->opt.rounds;
  b->ours = malloc(sizeof(double) * n);
  b->raw = malloc(sizeof(double) * n);
  b->pair = malloc(sizeof(double) * n);
  if (b->ours == NULL || b->raw == NULL || b->pair == NULL) {
    fprintf(stderr, "%s: out of memory\n", spec->progname);
    exit(1);
  }
}

/* ---------------------------------------------------------------- output */

void bench_json_string(const char *s) {
  putchar('"');
  for (; *s != '\0'; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\')
      printf("\\%c", ch);
    else if (ch < 0x20)
      printf("\\u%04x", ch);
    else
      putchar(ch);
  }
  putchar('"');
}

/* JSON has no NaN or infinity: a ratio over a batch that took no measurable
 * time becomes null. */
static void json_number(const char *key, double v, const char *fmt) {
  printf(", \"%s\": ", key);
  if (isfinite(v))
    printf(fmt, v);
  else
    printf("null");
}

void bench_begin(bench *b) {
  const bench_spec *s = b->spec;
  const bench_column *col = s->columns;

  if (b->json) {
    printf("{\"benchmark\": ");
    bench_json_string(s->name);
    printf(", \"backend\": \"%s\", \"rounds\": %d, \"round_ms\": %ld",
           SHMKIT_BENCH_LINUX_EXT ? "memfd" : "shm_open", b->opt.rounds,
           b->opt.round_ms);
    if (s->case_targets)
      printf(", \"target_ratio\": null");
    else
      json_number("target_ratio", BENCH_TARGET_RATIO, "%.2f");
    printf(",\n \"results\": [");
  } else {
    if (s->header != NULL) s->header();
    printf("%d interleaved rounds per side, ~%ld ms each\n"
           "ratio: median shmkit / median raw; paired: median of the rounds' "
           "ratios,\n"
           "each of two batches run back to back (what the target is judged "
           "on)\n\n",
           b->opt.rounds, b->opt.round_ms);
    printf("%-*s  %6s  %*s  %*s  %6s  %6s  ", col[0].width, col[0].title,
           "iters", col[1].width, col[1].title, col[2].width, col[2].title,
           "ratio", "paired");
    if (s->case_targets)
      printf("%6s  ok\n", "<=");
    else
      printf("<= %.2fx\n", BENCH_TARGET_RATIO);
  }
  fflush(stdout);
}

/* Opens a result object in the JSON array: its name. */
static void json_result(bench *b, const char *name) {
  printf("%s\n  {\"name\": ", b->results++ > 0 ? "," : "");
  bench_json_string(name);
}

bench_result bench_run(bench *b, const bench_case *c) {
  return bench_run_with(b, c, NULL);
}

bench_result bench_run_with(bench *b, const bench_case *c,
                            const bench_hooks *h) {
  static const bench_hooks none;
  const bench_spec *s = b->spec;
  int rounds = b->opt.rounds;
  double target;
  bench_result res;
  const char *verdict;

  if (h == NULL) h = &none;
  target = s->case_targets && h->target > 0 ? h->target : BENCH_TARGET_RATIO;
  res.iters = calibrate(c, h, (double)b->opt.round_ms * 1e6);
  /* Alternate which side goes first, so that neither always runs right
   * after the other one's teardown (its unmaps, closes or reaped
   * children). */
  for (int r = 0; r < rounds; r++) {
    if (r % 2 == 0) {
      b->ours[r] = batch(c, h, 0, res.iters, NULL);
      b->raw[r] = batch(c, h, 1, res.iters, NULL);
    } else {
      b->raw[r] = batch(c, h, 1, res.iters, NULL);
      b->ours[r] = batch(c, h, 0, res.iters, NULL);
    }
  }
  for (int r = 0; r < rounds; r++) b->pair[r] = b->ours[r] / b->raw[r];
  res.paired = median(b->pair, rounds);
  res.ours_ns = median(b->ours, rounds);
  res.raw_ns = median(b->raw, rounds);
  res.ratio = res.ours_ns / res.raw_ns;
  res.pass = res.paired <= target;

  if (b->json) {
    verdict = c->not_judged ? "not judged" : res.pass ? "pass" : "fail";
    json_result(b, c->name);
    printf(", \"iters\": %ld", res.iters);
    json_number("ours_ns", res.ours_ns, "%.1f");
    json_number("baseline_ns", res.raw_ns, "%.1f");
    json_number("ratio", res.ratio, "%.4f");
    json_number("paired_ratio", res.paired, "%.4f");
    if (s->case_targets) {
      if (c->not_judged)
        printf(", \"target_ratio\": null");
      else
        json_number("target_ratio", target, "%.4f");
    }
    printf(", \"verdict\": \"%s\"}", verdict);
  } else {
    verdict = c->not_judged ? "-" : res.pass ? "yes" : "NO";
    double unit = s->micro ? 1e3 : 1;
    int decimals = s->micro ? 1 : 0;

    printf("%-*s  %6ld  %*.*f  %*.*f  %6.3f  %6.3f  ", s->columns[0].width,
           c->label != NULL ? c->label : c->name, res.iters,
           s->columns[1].width, decimals, res.ours_ns / unit,
           s->columns[2].width, decimals, res.raw_ns / unit, res.ratio,
           res.paired);
    if (s->case_targets && !c->not_judged)
      printf("%6.3f  %s\n", target, verdict);
    else if (s->case_targets)
      printf("%6s  %s\n", "", verdict);
    else
      printf("%s\n", verdict);
    b->results++;
  }
  fflush(stdout);
  return res;
}

void bench_skip(bench *b, const char *name, const char *reason) {
  if (b->json) {
    json_result(b, name);
    printf(", \"iters\": null, \"ours_ns\": null, \"baseline_ns\": null, "
           "\"ratio\": null, \"paired_ratio\": null, \"verdict\": "
           "\"skipped\", \"reason\": ");
    bench_json_string(reason);
    putchar('}');
  } else {
    printf("%-*s  skipped: %s\n", b->spec->columns[0].width, name, reason);
    b->results++;
  }
  fflush(stdout);
}

int bench_finish(bench *b) {
  double total_s = (bench_now_ns() - b->t_start) / 1e9;

  if (b->json) printf("]");
  if (b->spec->finish != NULL) b->spec->finish(b);
  if (b->json)
    printf(",\n \"total_s\": %.1f}\n", total_s);
  else
    printf("\ntotal %.1f s\n", total_s);
  free(b->ours);
  free(b->raw);
  free(b->pair);
  return 0;
}
