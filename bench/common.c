#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"

double bench_now_ns(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double bench_median(double *v, int n) {
  qsort(v, (size_t)n, sizeof(*v), cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static long parse_count(const char *s, const char *opt, const char *progname,
                        void (*usage)(FILE *)) {
  char *end;
  long v;

  errno = 0;
  v = s != NULL ? strtol(s, &end, 10) : 0;
  if (s == NULL || errno != 0 || *end != '\0' || v < 1 || v > 100000) {
    fprintf(stderr, "%s: %s needs a number from 1 to 100000\n", progname, opt);
    usage(stderr);
    exit(2);
  }
  return v;
}

int bench_parse_options(int argc, char **argv, const char *progname,
                        void (*usage)(FILE *), bench_options *o,
                        bench_options quick) {
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) {
      *o = quick;
    } else if (strcmp(argv[i], "--rounds") == 0) {
      o->rounds = (int)parse_count(argv[++i], "--rounds", progname, usage);
    } else if (strcmp(argv[i], "--round-ms") == 0) {
      o->round_ms = parse_count(argv[++i], "--round-ms", progname, usage);
    } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      usage(stdout);
      return 0;
    } else {
      fprintf(stderr, "%s: unknown argument '%s'\n", progname, argv[i]);
      usage(stderr);
      return 2;
    }
  }
  return -1;
}

long bench_calibrate(double (*trial)(long n, void *ctx), void *ctx,
                     double round_ns) {
  double per_cycle;
  long n = 1, iters;

  for (;;) {
    per_cycle = trial(n, ctx);
    if (per_cycle * (double)n >= round_ns / 10 || n >= (1L << 24)) break;
    n *= 2;
  }
  iters = (long)(round_ns / per_cycle);
  return iters < 1 ? 1 : iters;
}

void bench_print_method(int rounds, long round_ms) {
  printf("%d interleaved rounds per side, ~%ld ms each\n"
         "ratio: median shmkit / median raw; paired: median of the rounds' "
         "ratios,\n"
         "each of two batches run back to back (what the target is judged "
         "on)\n\n",
         rounds, round_ms);
}
