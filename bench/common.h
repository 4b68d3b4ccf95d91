/* What the benchmarks share: a clock, a median, and their options. */
#ifndef SHMKIT_BENCH_COMMON_H
#define SHMKIT_BENCH_COMMON_H

#include <stdio.h>

/* CLOCK_MONOTONIC in nanoseconds. */
double bench_now_ns(void);

/* The median of v[0..n); sorts v. */
double bench_median(double *v, int n);

/* The batch length that makes one round last about `round_ns`: doubles a
 * trial batch until `trial(n, ctx)` (the mean ns per cycle of n cycles of
 * both sides) makes a tenth of that, then scales. */
long bench_calibrate(double (*trial)(long n, void *ctx), void *ctx,
                     double round_ns);

/* The lines of the header that say how the rounds are run and judged. */
void bench_print_method(int rounds, long round_ms);

/* How long to measure: rounds of each side per case, and the target length
 * of one round. */
typedef struct bench_options {
  int rounds;
  long round_ms;
} bench_options;

/* Reads --quick (which sets `quick`), --rounds N, --round-ms MS and --help
 * into *o, which holds the defaults. Returns -1 to go on, or the exit
 * status to end with (0 after --help, 2 after a bad argument). */
int bench_parse_options(int argc, char **argv, const char *progname,
                        void (*usage)(FILE *), bench_options *o,
                        bench_options quick);

#endif
