/* What the benchmarks share: their options, the paired-rounds comparison of
 * shmkit with the raw calls, its verdict, and the output, as a table or as
 * JSON.
 *
 * Every benchmark compares, case by case, one cycle through shmkit ("ours")
 * with one cycle of the raw calls doing the same work ("raw", the baseline).
 * Both sides run in the same process in alternating batches ("rounds"), the
 * order flipping every round, so that noise from other work on the machine
 * falls on both. A case's result is the median per-cycle time of each side,
 * their ratio, and the median of the per-round ratios ("paired"), each of
 * which compares two batches run back to back. The target is judged on the
 * paired ratio: drift in the machine's speed between rounds (a busy neighbour
 * on a shared machine) moves both batches of a pair alike, but can put the
 * two medians in different regimes. Nothing is asserted: the verdict is
 * printed, and the exit status does not depend on it.
 *
 * With --json, stdout holds one JSON object and nothing else:
 *
 *   {"benchmark": "region", "backend": "memfd", "rounds": 11,
 *    "round_ms": 100, "target_ratio": 1.10,
 *    "results": [{"name": "4 KiB, reserved", "iters": 2048,
 *                 "ours_ns": 1523.4, "baseline_ns": 1490.2,
 *                 "ratio": 1.0223, "paired_ratio": 1.0180,
 *                 "verdict": "pass"}, ...],
 *    "total_s": 12.3}
 *
 * "backend" is "memfd" (Linux) or "shm_open" (SHMKIT_PORTABLE, other POSIX
 * systems); times are nanoseconds per cycle (medians over the rounds); "ratio"
 * is ours_ns / baseline_ns and "paired_ratio" the median of the rounds'
 * ratios. "verdict" is "pass" (paired_ratio <= target_ratio), "fail",
 * "not judged" (a case shown for information) or "skipped" (the case cannot
 * run on this system: then its numbers are null and "reason" says why).
 * A benchmark whose cases each have their own target (bench_spec's
 * case_targets) writes "target_ratio": null at the top and each result's
 * own in that result, and may add members after "results" (its file says
 * which). */
#ifndef SHMKIT_BENCH_COMMON_H
#define SHMKIT_BENCH_COMMON_H

/* The most a case may cost through shmkit, as a multiple of the raw calls. */
#define BENCH_TARGET_RATIO 1.10

/* How long to measure: rounds of each side per case, and the target length
 * of one round. */
typedef struct bench_options {
  int rounds;
  long round_ms;
} bench_options;

/* A column of the text table: its heading and its width. */
typedef struct bench_column {
  const char *title;
  int width;
} bench_column;

struct bench;

/* How a benchmark names itself, how long it measures by default and with
 * --quick, and its table: the headings and widths of the case column and of
 * shmkit's and raw's times, which are whole nanoseconds, or with `micro`
 * microseconds to one decimal (JSON has nanoseconds either way). */
typedef struct bench_spec {
  const char *name;        /* JSON "benchmark" */
  const char *progname;    /* for usage and errors */
  const char *usage_extra; /* a last line for --help, or NULL */
  void (*header)(void);    /* what the two sides do; only above the table */
  bench_options defaults, quick;
  bench_column columns[3]; /* the case, shmkit's time, raw's time */
  int micro;
  /* Optional. `case_targets`: each case has its own target (its `target`),
   * which the table shows in a column and each JSON result as its
   * "target_ratio" (the top-level one is then null). `option` takes an
   * argument of the benchmark's own: it returns 1 if argv[*i] is one
   * (advancing *i past any value it takes) and 0 if not. `finish` writes
   * what comes after the cases: in text, before the total; in JSON, more
   * members (each starting with ",\n ") after "results". */
  int case_targets;
  int (*option)(int argc, char **argv, int *i);
  void (*finish)(struct bench *b);
} bench_spec;

/* One case: a cycle of each side, given `ctx`. */
typedef struct bench_case {
  const char *name;  /* JSON "name", and the row's first column... */
  const char *label; /* ...unless this is not NULL */
  void (*ours)(void *ctx);
  void (*raw)(void *ctx);
  void *ctx;
  int not_judged; /* shown for information only: no verdict */
} bench_case;

/* What some cases add (bench_run_with()). `target`: with the spec's
 * case_targets, the most the paired ratio may be (0: BENCH_TARGET_RATIO).
 * `enter` runs before each batch of a side (`raw` says which), untimed,
 * told how many cycles follow: where a side's peer process is woken and
 * told what to do. `leave` runs at the end of the batch, timed: what is
 * still in flight (messages in a ring) is part of the work. `gap` runs
 * before each cycle, untimed: the time it takes is left out of the
 * batch's, so that each cycle may start from a state the gap waited for
 * (a peer that has gone to sleep). */
typedef struct bench_hooks {
  double target;
  void (*enter)(void *ctx, int raw, long iters);
  void (*leave)(void *ctx, int raw);
  void (*gap)(void *ctx);
} bench_hooks;

/* What bench_run() measured: the medians per cycle, their ratio, the
 * median of the rounds' ratios, and whether that met the case's target. */
typedef struct bench_result {
  long iters;
  double ours_ns, raw_ns, ratio, paired;
  int pass;
} bench_result;

/* A benchmark under way; its fields are bench/common.c's. */
typedef struct bench {
  const bench_spec *spec;
  bench_options opt;
  int json;
  int results; /* rows or JSON results written so far */
  double t_start;
  double *ours, *raw, *pair; /* one per round */
} bench;

/* Reads --quick, --rounds N, --round-ms MS, --json and --help (and the
 * benchmark's own, through the spec's option()), and makes room for the
 * rounds. Ends the program after --help (status 0), a bad
 * argument (2) or when out of memory (1): a benchmark has nothing to clean up
 * before it starts. */
void bench_start(bench *b, const bench_spec *spec, int argc, char **argv);

/* Prints the spec's header, how the rounds are run and judged, and the
 * table's headings; or, with --json, opens the JSON object. */
void bench_begin(bench *b);

/* Measures one case, writes its row or its JSON result, and returns it;
 * _with() with the case's hooks (or NULL). */
bench_result bench_run(bench *b, const bench_case *c);
bench_result bench_run_with(bench *b, const bench_case *c,
                            const bench_hooks *h);

/* Writes a case that cannot run here, and why. */
void bench_skip(bench *b, const char *name, const char *reason);

/* Writes what the spec's finish() writes, then the total time or closes the
 * JSON object, and frees the rounds. Returns 0, the exit status. */
int bench_finish(bench *b);

/* CLOCK_MONOTONIC in nanoseconds. */
double bench_now_ns(void);

/* Prints `s` as a JSON string, quotes and control characters escaped: a
 * name is ours, but a note may hold what another program printed. */
void bench_json_string(const char *s);

#endif
