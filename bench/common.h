/* What the benchmarks share: a clock, a median, and their options. */
#ifndef SHMKIT_BENCH_COMMON_H
#define SHMKIT_BENCH_COMMON_H

#include <stdio.h>

/* CLOCK_MONOTONIC in nanoseconds. */
double bench_now_ns(void);

/* The median of v[0..n); sorts v. */
double bench_median(double *v, int n);

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
