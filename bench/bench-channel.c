/* Channel benchmark: what a message costs through a shmkit channel between
 * two processes, against the same exchange written raw (channel-raw.c), and
 * against iceoryx where its C binding was found at configure time
 * (channel-iox.c); channel.h lists the parts.
 *
 * This process measures; one peer process (forked once, before any timing)
 * does the other end of every case: it echoes round trips and consumes
 * throughput. The two are pinned to two different CPUs (sched_setaffinity;
 * the header says when that is not possible). Between batches the peer
 * blocks on a control socket, so that a side that busy-polls never burns
 * the CPU the other side is measured on; before a batch it is told what to
 * do and how many cycles, and it says when it is ready (untimed) and when
 * it is done (timed: messages still in a ring count).
 *
 * The baselines, all raw, over a MAP_SHARED anonymous mapping made before
 * the fork (or pipes and sockets made before it):
 *   cache line:        a u64 each way on its own cache line, busy-polled;
 *                      the physical limit of a round trip;
 *   futex:             a shared (not private) futex word each way;
 *                      FUTEX_WAKE after every store, FUTEX_WAIT at once;
 *   spin-then-futex:   as many pauses polling the word as shmkit's default
 *                      (shmkit_channel_spin_default()), then a "sleeping"
 *                      flag (seq_cst), a look again, FUTEX_WAIT; the waker
 *                      wakes only when it swaps the flag back;
 *   conditional futex: the same with no spins: FUTEX_WAIT at once, after
 *                      the flag; FUTEX_WAKE only for a waiter that set it
 *                      (the rule shmkit keeps; the futex above wakes
 *                      after every store, which keeps the waker in the
 *                      kernel a system call longer); the word and its
 *                      flag share a cache line, or ("2-line") each has
 *                      its own, as shmkit's record and sleep state do;
 *   pipe, unix socket: a pipe each way; one SOCK_STREAM socketpair;
 *   raw ring:          a minimal SPSC ring of records (a u32 length, a
 *                      u32 tag stored last, the payload padded to 8) in as
 *                      many bytes as shmkit's ring, head and tail on their
 *                      own lines, each side reading the other's index
 *                      (acquire) only when its cached copy is not enough,
 *                      copying in and out and publishing (release) every
 *                      message; busy-polls;
 *   raw ring, polled:  the same, the reader waiting on the record's tag
 *                      instead of head (one cache line each way, not two);
 *   raw ring, header:  the same without touching the payload (against
 *                      shmkit's zero-copy);
 *   iceoryx:           its C binding: a publisher and a subscriber each
 *                      way, busy-polling take or waiting in a wait set;
 *                      iox-roudi is started for the run and stopped after.
 *
 * shmkit's side: channels made before the fork on shmkit_conn_pair() ends,
 * each attached in the peer with shmkit_channel_attach(); a round trip uses
 * two (one per direction). Spin modes: busy (shmkit_channel_set_spin(ch,
 * (unsigned)-1) on both ends), default (the library's spin count, not
 * set), asleep (0 on both ends); a row pairs default with busy, to show
 * what the default spin costs. The "asleep" rows wait 50 us, untimed,
 * before each round trip (bench/common.h's gap), on both sides of the
 * row: the peer, which sleeps as soon as it answered, sleeps when the
 * message comes, and this process, which sleeps as soon as it sent, sleeps
 * when the answer comes, so that each round trip is two wake-ups (the
 * sleeps table shows it). The "spin 0" rows are the same ends with no gap,
 * one round trip right after the other: whether a side sleeps then turns
 * on how long it stays awake after it sent, which the raw futex's waker
 * stretches with a system call whether anybody sleeps or not.
 * Throughput uses the default; "batched" commits with SHMKIT_CHANNEL_MORE
 * and flushes every BATCH messages and peeks up to BATCH then releases;
 * "zero-copy" reserves and commits, peeks and releases, never touching the
 * payload. Capacities: a round trip's rings max(64 KiB, 4 x size), a
 * throughput ring max(64 KiB, 16 x size), the raw rings the same.
 *
 * Each case is a row of paired rounds (bench/common.h), shmkit against one
 * baseline, with its own target where the issue sets one; a TARGET line
 * per target follows the table:
 *   TARGET <name> ratio=<x> limit=<y> ok|MISSED
 * "_max" names read ratio <= limit (time, shmkit / baseline); "_min" names
 * read ratio >= limit (messages per second, shmkit / baseline, that is the
 * inverse of the time ratio). Every ratio is the paired one. Then, for the
 * round trips where shmkit's side may sleep (default, asleep and spin 0),
 * how often this process and the peer slept per round trip on each side:
 * their voluntary context switches (getrusage()) over the batches,
 * untimed control traffic left out. 1 means every message found that
 * process asleep; the rest of the time it came while the process was
 * still awake. Then a table of round trip (busy) and throughput against
 * message size.
 *
 * Options, besides bench/common.h's: --check (exit 3 if a target is
 * missed), --plot FILE (an SVG of latency and throughput against size:
 * gnuplot when it runs, else drawn here), --only TEXT (only the cases whose
 * name holds TEXT). The exit status is otherwise 0, and 1 when a call
 * fails or the peer dies.
 *
 * --json prints one object on stdout (the TARGET lines then go to stderr):
 * bench/common.h's, each result with its "target_ratio" (null when not
 * judged), then:
 *   "pinning": "parent on CPU 0, peer on CPU 1" (or why not),
 *   "iceoryx": "used" or why not,
 *   "targets": [{"name": "round_trip_8B_busy_vs_raw_cache_line_max",
 *                "ratio": 1.21, "limit": 1.30, "ok": true,
 *                "mode": null}, ...],
 *     ("mode": the shmkit mode a target took when it takes the best one;
 *      a target whose case did not run is left out)
 *   "sizes": [{"size": 8, "round_trip_ns": 310.2,
 *              "round_trip_raw_ring_ns": 250.1,
 *              "copy_msgs_per_s": 2.1e7, "copy_raw_ring_msgs_per_s": ...,
 *              "zero_copy_msgs_per_s": ..., "zero_copy_raw_ring_msgs_per_s":
 *              ...}, ...]  (null where that case did not run)
 *   "sleeps": [{"name": "round trip 8 B, asleep vs raw futex",
 *               "shmkit": 1.00, "shmkit_peer": 1.00, "baseline": 1.00,
 *               "baseline_peer": 1.00}, ...]
 */
#define _GNU_SOURCE
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "channel.h"

const char progname[] = "shmkit-bench-channel";

const size_t sizes[NSIZES] = {8, 64, 1024, 16384, 262144, 1048576};
const char *const size_names[NSIZES] = {"8 B",    "64 B",    "1 KiB",
                                        "16 KiB", "256 KiB", "1 MiB"};

/* ---------------------------------------------------------------- cases */

/* Which column of the size table a case fills. */
enum { SW_NONE, SW_RT, SW_TP, SW_ZC };

typedef struct chcase {
  const char *name;
  struct side side[2]; /* shmkit, baseline */
  /* The target: `limit` as the TARGET line reads it, `per_s` when it is a
   * ratio of messages per second (so the time's limit is 1 / limit). */
  const char *target;
  double limit;
  int per_s;
  int iceoryx; /* needs iceoryx */
  int sweep, si;
  bench_result res;
  int ran;
  /* Each round trip starts after a gap (case_gap()), untimed. */
  int gap;
  /* The voluntary context switches (sleeps) of this process and of the
   * peer, and the cycles, per side over the timed batches; and this
   * process's count where a batch began. */
  long sleeps[2], peer_sleeps[2], cycles[2], sleeps_at;
} chcase;

static void case_enter(void *ctx, int is_raw, long iters) {
  chcase *c = ctx;
  const struct side *s = &c->side[is_raw];

  resolve(s);
  cur.count = 0;
  if (s->kind == K_LINE_RT) cur.count = raw_line_count();
  peer_go(s, iters);
  c->cycles[is_raw] += iters;
  c->sleeps_at = sleeps_so_far(); /* after the peer's "ready" */
}

static void case_leave(void *ctx, int is_raw) {
  chcase *c = ctx;

  c->sleeps[is_raw] += sleeps_so_far() - c->sleeps_at;
  if (c->side[is_raw].kind == K_CH_BATCH)
    check(shmkit_channel_flush(cur.up), "shmkit_channel_flush");
  c->peer_sleeps[is_raw] += peer_done();
}

/* How long a gapped round trip waits before it sends: far longer than a
 * side takes to go to sleep once it answered (a few microseconds). */
#define GAP_NS 50000.0

/* Before each round trip of a gapped case, untimed: waits, awake, for
 * GAP_NS, so that the peer, which waits with no spin, is asleep when the
 * message comes, and this side is asleep when the answer comes (it goes to
 * sleep as soon as it sent, and the peer takes a wake-up to answer). */
static void case_gap(void *unused) {
  double end = bench_now_ns() + GAP_NS;

  (void)unused;
  while (bench_now_ns() < end) cpu_relax();
}

/* Enough cycles to go twice round the rings a side uses: their pages are
 * touched, and the buffers' copies made, before anything is timed. */
static long warm_iters(const struct side *s) {
  size_t cap;

  switch (s->kind) {
  case K_CH_RT:
  case K_RING_RT:
  case K_PRING_RT:
    cap = rt_cap(s->si);
    break;
  case K_CH_TP:
  case K_CH_BATCH:
  case K_CH_ZC:
  case K_RING_TP:
  case K_RING_ZC:
    cap = tp_cap(s->si);
    break;
  default:
    return 16;
  }
  return (long)(2 * cap / (sizes[s->si] + 16)) + 16;
}

static void warm(chcase *c) {
  for (int side = 0; side < 2; side++) {
    long n = warm_iters(&c->side[side]);
    void (*cycle)(void *) = cycles[c->side[side].kind];

    case_enter(c, side, n);
    for (long i = 0; i < n; i++) cycle(c);
    case_leave(c, side);
  }
}

/* The cases, in the order they run. The 64 B and 1 MiB copies against the
 * raw ring are also the size table's. */
#define CH(kind, set, si)                                                      \
  (struct side) {                                                              \
    kind, set, si                                                              \
  }
#define RT(set)    CH(K_CH_RT, set, S8)
#define RAW(k)     CH(k, 0, S8)
#define IOX(k)     CH(k, 0, S8)
#define NCASES_MAX 40
static chcase cases[NCASES_MAX];
static int ncases;

static chcase *add(const char *name, struct side ours, struct side base,
                   const char *target, double limit, int per_s) {
  chcase *c = &cases[ncases++];

  c->name = name;
  c->side[0] = ours;
  c->side[1] = base;
  c->target = target;
  c->limit = limit;
  c->per_s = per_s;
  c->iceoryx = base.kind >= K_IOX_SETUP;
  c->si = ours.si;
  return c;
}

static void gapped(chcase *c) {
  c->gap = 1;
}

static const char *const sweep_names[3][NSIZES] = {
    {"round trip 8 B, busy vs raw ring", "round trip 64 B, busy vs raw ring",
     "round trip 1 KiB, busy vs raw ring",
     "round trip 16 KiB, busy vs raw ring",
     "round trip 256 KiB, busy vs raw ring",
     "round trip 1 MiB, busy vs raw ring"},
    {"throughput 8 B, copy vs raw ring", "throughput 64 B, copy vs raw ring",
     "throughput 1 KiB, copy vs raw ring",
     "throughput 16 KiB, copy vs raw ring",
     "throughput 256 KiB, copy vs raw ring",
     "throughput 1 MiB, copy vs raw ring"},
    {"zero-copy 8 B vs raw ring, header", "zero-copy 64 B vs raw ring, header",
     "zero-copy 1 KiB vs raw ring, header",
     "zero-copy 16 KiB vs raw ring, header",
     "zero-copy 256 KiB vs raw ring, header",
     "zero-copy 1 MiB vs raw ring, header"},
};

/* The 64-byte throughput's two modes, and the best of them against
 * iceoryx. */
static chcase *tp64_copy, *tp64_batch, *tp64_iox;
static const char *tp64_mode = "copy";

/* The better of the two 64-byte modes (by their paired ratios against the
 * same raw ring), noted in tp64_mode. */
static chcase *tp64_best(void) {
  chcase *best = tp64_copy;

  if (tp64_batch->ran &&
      (!tp64_copy->ran || tp64_batch->res.paired < tp64_copy->res.paired))
    best = tp64_batch;
  tp64_mode = best == tp64_batch ? "batched" : "copy";
  return best;
}

static void make_cases(void) {
  chcase *c;

  add("round trip 8 B, busy vs raw cache line", RT(SET_BUSY), RAW(K_LINE_RT),
      "round_trip_8B_busy_vs_raw_cache_line_max", 1.3, 0);
  add("round trip 8 B, busy vs iceoryx busy", RT(SET_BUSY), IOX(K_IOX_RT_BUSY),
      "round_trip_8B_busy_vs_iceoryx_busy_max", 0.1, 0);
  add("round trip 8 B, default vs raw spin-futex", RT(SET_DEFAULT),
      RAW(K_SPIN_RT), "round_trip_8B_default_vs_raw_spin_futex_max", 1.2, 0);
  /* What a ring's round trip can be when the reader waits on the record
   * itself: one line each way, as the cache-line ping-pong. */
  add("round trip 8 B, busy vs raw ring, polled", RT(SET_BUSY),
      CH(K_PRING_RT, 0, S8), NULL, 0, 0);
  add("round trip 8 B, default vs busy", RT(SET_DEFAULT), RT(SET_BUSY), NULL, 0,
      0);
  /* Both sides asleep: each round trip starts after a gap in which the
   * peer went to sleep, so that each side is woken once per round trip,
   * which the sleeps table checks. */
  gapped(add("round trip 8 B, asleep vs raw futex", RT(SET_ASLEEP),
             RAW(K_FUTEX_RT), "round_trip_8B_asleep_vs_raw_futex_max", 1.05,
             0));
  gapped(add("round trip 8 B, asleep vs pipe", RT(SET_ASLEEP), RAW(K_PIPE_RT),
             "round_trip_8B_asleep_vs_pipe_max", 1.05, 0));
  gapped(add("round trip 8 B, asleep vs unix socket", RT(SET_ASLEEP),
             RAW(K_SOCK_RT), NULL, 0, 0));
  gapped(add("round trip 8 B, asleep vs iceoryx waitset", RT(SET_ASLEEP),
             IOX(K_IOX_RT_WAIT), NULL, 0, 0));
  /* The same sides with no spin, one round trip right after the other:
   * whether a side sleeps then depends on how long it stays awake after it
   * sent. The raw futex's waker makes a system call even when nobody
   * sleeps, which keeps it awake that much longer; shmkit, as the
   * conditional futex, wakes only a side that said it sleeps. */
  add("round trip 8 B, spin 0 vs raw futex", RT(SET_ASLEEP), RAW(K_FUTEX_RT),
      NULL, 0, 0);
  add("round trip 8 B, spin 0 vs conditional futex", RT(SET_ASLEEP),
      RAW(K_WAKE_RT), NULL, 0, 0);
  /* The same with its flag on a line of its own, as shmkit's sleep state
   * is apart from the record's mark. */
  add("round trip 8 B, spin 0 vs 2-line cond. futex", RT(SET_ASLEEP),
      RAW(K_WAKE2_RT), NULL, 0, 0);

  tp64_copy =
      add(sweep_names[1][S64], CH(K_CH_TP, 0, S64), CH(K_RING_TP, 0, S64),
          "throughput_64B_vs_raw_ring_min", 0.8, 1);
  tp64_copy->sweep = SW_TP;
  tp64_batch =
      add("throughput 64 B, batched vs raw ring", CH(K_CH_BATCH, 0, S64),
          CH(K_RING_TP, 0, S64), "throughput_64B_vs_raw_ring_min", 0.8, 1);
  tp64_iox = add("throughput 64 B, best vs iceoryx", CH(K_CH_BATCH, 0, S64),
                 CH(K_IOX_TP, 0, S64), "throughput_64B_vs_iceoryx_min", 10, 1);
  c = add(sweep_names[1][S1M], CH(K_CH_TP, 0, S1M), CH(K_RING_TP, 0, S1M),
          "throughput_1MiB_copy_vs_raw_ring_min", 0.9, 1);
  c->sweep = SW_TP;
  add("throughput 1 MiB, copy vs unix socket", CH(K_CH_TP, 0, S1M),
      CH(K_SOCK_TP, 0, S1M), "throughput_1MiB_copy_vs_unix_socket_min", 3, 1);
  add("zero-copy 1 MiB vs zero-copy 64 B", CH(K_CH_ZC, 0, S1M),
      CH(K_CH_ZC, 0, S64), "zero_copy_flat_1MiB_vs_64B_min", 0.5, 1);

  for (int si = 0; si < NSIZES; si++) {
    c = add(sweep_names[0][si], CH(K_CH_RT, SET_BUSY, si), CH(K_RING_RT, 0, si),
            NULL, 0, 0);
    c->sweep = SW_RT;
  }
  for (int si = 0; si < NSIZES; si++) {
    if (si == S64 || si == S1M) continue; /* above */
    c = add(sweep_names[1][si], CH(K_CH_TP, 0, si), CH(K_RING_TP, 0, si), NULL,
            0, 0);
    c->sweep = SW_TP;
  }
  for (int si = 0; si < NSIZES; si++) {
    c = add(sweep_names[2][si], CH(K_CH_ZC, 0, si), CH(K_RING_ZC, 0, si), NULL,
            0, 0);
    c->sweep = SW_ZC;
  }
}
/* ---------------------------------------------------------------- options */

static int opt_check;
static const char *opt_plot, *opt_only;

static int parse_option(int argc, char **argv, int *i) {
  const char **to = NULL;

  if (strcmp(argv[*i], "--check") == 0) {
    opt_check = 1;
    return 1;
  }
  if (strcmp(argv[*i], "--plot") == 0) to = &opt_plot;
  if (strcmp(argv[*i], "--only") == 0) to = &opt_only;
  if (to == NULL) return 0;
  if (*i + 1 >= argc) {
    fprintf(stderr, "%s: %s needs a value\n", progname, argv[*i]);
    exit(2);
  }
  *to = argv[++*i];
  return 1;
}

static int wanted(const chcase *c) {
  return opt_only == NULL || strstr(c->name, opt_only) != NULL;
}
/* ---------------------------------------------------------------- targets */

/* The least sleeps per round trip, on each process of each side, for a
 * gapped case to count as both sides asleep. */
#define ASLEEP_MIN 0.95

static double per_cycle(const long *sleeps, const chcase *c, int side) {
  return (double)sleeps[side] / (double)c->cycles[side];
}

/* Whether a gapped case measured what it says: each process of each side
 * slept on nearly every round trip. Any other case: 1. */
static int was_asleep(const chcase *c) {
  if (!c->gap) return 1;
  for (int side = 0; side < 2; side++)
    if (c->cycles[side] == 0 || per_cycle(c->sleeps, c, side) < ASLEEP_MIN ||
        per_cycle(c->peer_sleeps, c, side) < ASLEEP_MIN)
      return 0;
  return 1;
}

/* Whether a case met its target: its ratio, and that it was asleep. */
static int target_met(const chcase *c, double ratio) {
  return (c->per_s ? ratio >= c->limit : ratio <= c->limit) && was_asleep(c);
}

/* The TARGET line of a case, on stdout (stderr with --json); 1 if met. */
static int target_line(bench *b, const chcase *c, const bench_result *r) {
  FILE *f = b->json ? stderr : stdout;
  double ratio = c->per_s ? 1 / r->paired : r->paired;
  int ok = target_met(c, ratio);

  if (!was_asleep(c))
    fprintf(f,
            "(%s: not both asleep: a process slept on fewer than %.0f%% "
            "of the round trips; see the sleeps)\n",
            c->target, ASLEEP_MIN * 100);
  fprintf(f, "TARGET %s ratio=%.2f limit=%.2f %s\n", c->target, ratio, c->limit,
          ok ? "ok" : "MISSED");
  return ok;
}

/* The cases that carry a target, one line each (the 64-byte one from the
 * better of its two modes); 1 if every one was met. */
static int missed;

static const chcase *target_source(const chcase *c) {
  if (c == tp64_batch) return NULL; /* with tp64_copy */
  return c == tp64_copy ? tp64_best() : c;
}

static void print_targets(bench *b) {
  FILE *f = b->json ? stderr : stdout;

  if (!b->json) printf("\n");
  if (tp64_copy->ran || tp64_batch->ran)
    fprintf(f, "best shmkit mode for 64 B throughput: %s\n", tp64_mode);
  for (int i = 0; i < ncases; i++) {
    const chcase *c = &cases[i], *src = target_source(c);
    if (c->target == NULL || src == NULL) continue;
    if (!src->ran) {
      if (c->iceoryx && !iceoryx_ok)
        fprintf(f, "(target %s not measured: %s)\n", c->target, iceoryx_note);
      continue;
    }
    if (!target_line(b, c, &src->res)) missed = 1;
  }
}

static void json_targets(void) {
  int first = 1;

  printf(",\n \"targets\": [");
  for (int i = 0; i < ncases; i++) {
    const chcase *c = &cases[i], *src = target_source(c);
    double ratio;
    if (c->target == NULL || src == NULL || !src->ran) continue;
    ratio = c->per_s ? 1 / src->res.paired : src->res.paired;
    printf("%s\n  {\"name\": \"%s\", \"ratio\": %.4f, \"limit\": %.2f, "
           "\"ok\": %s, \"mode\": ",
           first ? "" : ",", c->target, ratio, c->limit,
           target_met(c, ratio) ? "true" : "false");
    if (c == tp64_copy || c == tp64_iox)
      printf("\"%s\"}", tp64_mode);
    else
      printf("null}");
    first = 0;
  }
  printf("]");
}
/* ---------------------------------------------------------------- sizes */

static void size_rows(struct size_row rows[NSIZES]) {
  for (int si = 0; si < NSIZES; si++) {
    rows[si].rt_ns = rows[si].rt_raw_ns = NAN;
    rows[si].copy_ps = rows[si].copy_raw_ps = NAN;
    rows[si].zc_ps = rows[si].zc_raw_ps = NAN;
  }
  for (int i = 0; i < ncases; i++) {
    const chcase *c = &cases[i];
    struct size_row *r = &rows[c->si];
    if (!c->ran) continue;
    if (c->sweep == SW_RT) {
      r->rt_ns = c->res.ours_ns;
      r->rt_raw_ns = c->res.raw_ns;
    } else if (c->sweep == SW_TP) {
      r->copy_ps = 1e9 / c->res.ours_ns;
      r->copy_raw_ps = 1e9 / c->res.raw_ns;
    } else if (c->sweep == SW_ZC) {
      r->zc_ps = 1e9 / c->res.ours_ns;
      r->zc_raw_ps = 1e9 / c->res.raw_ns;
    }
  }
}

/* ---------------------------------------------------------------- sleeps */

/* The round trips where shmkit's side may sleep: how often each process
 * slept per round trip on each side. A side that is woken every time
 * sleeps once per round trip; less means the message came while it was
 * still awake. */
static int sleep_row(const chcase *c) {
  return c->ran && c->side[0].kind == K_CH_RT && c->side[0].set != SET_BUSY &&
         c->cycles[0] > 0 && c->cycles[1] > 0;
}

static void print_sleeps(void) {
  int any = 0;

  for (int i = 0; i < ncases; i++) {
    const chcase *c = &cases[i];
    if (!sleep_row(c)) continue;
    if (!any)
      printf("\nsleeps per round trip (voluntary context switches) of this "
             "process and the peer\n%-44s %10s %10s %10s %10s\n",
             "case", "shmkit", "peer", "base", "peer");
    any = 1;
    printf("%-44s %10.2f %10.2f %10.2f %10.2f\n", c->name,
           per_cycle(c->sleeps, c, 0), per_cycle(c->peer_sleeps, c, 0),
           per_cycle(c->sleeps, c, 1), per_cycle(c->peer_sleeps, c, 1));
  }
}

static void json_sleeps(void) {
  int first = 1;

  printf(",\n \"sleeps\": [");
  for (int i = 0; i < ncases; i++) {
    const chcase *c = &cases[i];
    if (!sleep_row(c)) continue;
    printf("%s\n  {\"name\": \"%s\", \"shmkit\": %.4f, \"shmkit_peer\": %.4f, "
           "\"baseline\": %.4f, \"baseline_peer\": %.4f}",
           first ? "" : ",", c->name, per_cycle(c->sleeps, c, 0),
           per_cycle(c->peer_sleeps, c, 0), per_cycle(c->sleeps, c, 1),
           per_cycle(c->peer_sleeps, c, 1));
    first = 0;
  }
  printf("]");
}
/* ---------------------------------------------------------------- main */

static void finish(bench *b) {
  struct size_row rows[NSIZES];

  size_rows(rows);
  if (b->json) {
    printf(",\n \"pinning\": ");
    bench_json_string(pinning);
    printf(",\n \"iceoryx\": ");
    bench_json_string(iceoryx_ok ? "used" : iceoryx_note);
    json_targets();
    json_sizes(rows);
    json_sleeps();
    print_targets(b);
  } else {
    print_targets(b);
    print_sleeps();
    print_sizes(rows);
  }
}

static void print_header(void) {
  printf("shmkit channel between two processes against raw code and peers; "
         "see the top of\n"
         "bench/bench-channel.c for what each side does\n"
         "pinning: %s\n"
         "iceoryx: %s\n"
         "ns per round trip (\"round trip\") or per message (the others); "
         "the target\n"
         "is on the paired time ratio (for throughput, 1 / the TARGET "
         "line's ratio)\n",
         pinning,
         iceoryx_ok ? "used (iox-roudi started for this run)" : iceoryx_note);
}

int main(int argc, char **argv) {
  static const bench_spec spec = {
      .name = "channel",
      .progname = progname,
      .usage_extra =
          "  --check        exit 3 if a target is missed\n"
          "  --plot FILE    an SVG chart of latency and throughput against "
          "size\n"
          "  --only TEXT    only the cases whose name holds TEXT",
      .header = print_header,
      .columns = {{"case", 44}, {"shmkit ns", 10}, {"base ns", 10}},
      .defaults = {11, 100},
      .quick = {5, 20},
      .case_targets = 1,
      .option = parse_option,
      .finish = finish,
  };
  bench b;

  bench_start(&b, &spec, argc, argv);
  signal(SIGPIPE, SIG_IGN);
  make_cases();
#ifdef SHMKIT_BENCH_ICEORYX
  for (int i = 0; i < ncases; i++)
    if (cases[i].iceoryx && wanted(&cases[i])) {
      supervise(iceoryx_note, sizeof(iceoryx_note));
      break;
    }
#endif
  main_pid = getpid();
  pin_parent();
  setup();
  start_iceoryx();
  bench_begin(&b);
  for (int i = 0; i < ncases; i++) {
    chcase *c = &cases[i];
    bench_case bc = {c->name,
                     NULL,
                     cycles[c->side[0].kind],
                     cycles[c->side[1].kind],
                     c,
                     c->target == NULL};
    bench_hooks hooks = {0, case_enter, case_leave, NULL};

    if (!wanted(c)) continue;
    if (c->iceoryx && !iceoryx_ok) {
      bench_skip(&b, c->name, iceoryx_note);
      continue;
    }
    if (c == tp64_iox) {
      /* The better of the two 64-byte modes measured just before. */
      c->side[0] = tp64_best()->side[0];
      bc.ours = cycles[c->side[0].kind];
    }
    if (c->target != NULL) hooks.target = c->per_s ? 1 / c->limit : c->limit;
    if (c->gap) hooks.gap = case_gap;
    warm(c);
    memset(c->sleeps, 0, sizeof(c->sleeps));
    memset(c->peer_sleeps, 0, sizeof(c->peer_sleeps));
    memset(c->cycles, 0, sizeof(c->cycles));
    c->res = bench_run_with(&b, &bc, &hooks);
    c->ran = 1;
  }
  teardown();
  bench_finish(&b);
  if (opt_plot != NULL) {
    struct size_row rows[NSIZES];

    size_rows(rows);
    write_plot(opt_plot, rows);
  }
  return opt_check && missed ? 3 : 0;
}
