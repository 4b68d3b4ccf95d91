/* The channel benchmark's parts (bench-channel.c says what it measures):
 *   bench-channel.c  the cases, their targets, the options and main;
 *   channel-peer.c   the two processes: errors, pinning, the peer and
 *                    what it serves, the channels, setup and teardown;
 *   channel-raw.c    the raw baselines: words, futexes, rings, fds;
 *   channel-iox.c    iceoryx and its RouDi, where its C binding was found;
 *   plot.c           the results against message size: table, JSON, chart.
 */
#ifndef SHMKIT_BENCH_CHANNEL_H
#define SHMKIT_BENCH_CHANNEL_H

#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common.h"
#include "shmkit.h"

extern const char progname[];

/* ---------------------------------------------------------------- sizes */

#define NSIZES 6
enum { S8, S64, S1K, S16K, S256K, S1M };
extern const size_t sizes[NSIZES];
extern const char *const size_names[NSIZES];

#define MIN_CAP   65536
#define BUF_SIZE  (1u << 20)
#define BATCH     32  /* messages per flush, and per release */
#define RING_HEAD 128 /* a raw ring's data, after head (0) and tail (64) */

/* A round trip's ring capacity for size index `si`, and a throughput's. */
static inline size_t rt_cap(int si) {
  return sizes[si] * 4 > MIN_CAP ? sizes[si] * 4 : MIN_CAP;
}

static inline size_t tp_cap(int si) {
  return sizes[si] * 16 > MIN_CAP ? sizes[si] * 16 : MIN_CAP;
}

/* ---------------------------------------------------- errors, processes */

extern pid_t main_pid;     /* the parent, in both */
extern cpu_set_t all_cpus; /* what this process was allowed at start */
extern char pinning[160];  /* what pin_parent() did */

void die(const char *msg);
void die_errno(const char *call);
void check_failed(int err, const char *call);
/* Ends the run if the peer died: called now and then from every loop of
 * the parent that waits on it without a system call that would notice. */
void peer_check(void);
/* Pins this process to the first allowed CPU and notes the second for the
 * peer; says in `pinning` what was done. */
void pin_parent(void);

/* Inline, as they were when the benchmark was one file: they sit in the
 * measured loops. */
static inline void check(int err, const char *call) {
  if (err != 0) check_failed(err, call);
}

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

static inline void spin_pause(unsigned *spins) {
  cpu_relax();
  if ((++*spins & 0x3ffff) == 0) peer_check();
}

/* ---------------------------------------------------------------- sides */

/* What the peer is told before a batch. */
enum kind {
  K_QUIT,
  K_CH_RT,
  K_CH_TP,
  K_CH_BATCH,
  K_CH_ZC,
  K_LINE_RT,
  K_FUTEX_RT,
  K_SPIN_RT,
  K_WAKE_RT,
  K_WAKE2_RT,
  K_PIPE_RT,
  K_SOCK_RT,
  K_RING_RT,
  K_PRING_RT,
  K_RING_TP,
  K_RING_ZC,
  K_SOCK_TP,
  K_IOX_SETUP,
  K_IOX_RT_BUSY,
  K_IOX_RT_WAIT,
  K_IOX_TP,
  K_COUNT
};

/* The round trips' channel sets, by spin mode: busy has every size, the
 * others 8 B only. */
enum { SET_BUSY, SET_DEFAULT, SET_ASLEEP, NSETS };

struct side {
  enum kind kind;
  int set; /* K_CH_RT: the spin mode */
  int si;  /* the size's index */
};

/* A raw ring (channel-raw.c): a header (head at 0, tail at 64) and fixed
 * slots of a u32 length, a u32 tag (the message's number from 1, written
 * last: a reader may poll it instead of head) and the payload. Each
 * process keeps its own side's fields. */
typedef struct raw_ring {
  _Atomic uint64_t *head, *tail;
  unsigned char *data;
  size_t slot, nslots;
  uint64_t pos, seen; /* our index; the other's as last read */
  size_t at;          /* the slot at pos */
} raw_ring;

/* The side being measured, set up by resolve() for the cycles. */
struct cur {
  size_t size;
  shmkit_channel *up, *down;
  raw_ring *rup, *rdown;
  unsigned long count;
};
extern struct cur cur;

extern int pipe_up[2], pipe_down[2], sock[2];
extern unsigned char *msgbuf, *rcvbuf;

/* This process's cycle of each kind, on `cur` (NULL: not built). */
extern void (*const cycles[K_COUNT])(void *);

void resolve(const struct side *s);
void setup(void);
void teardown(void);
/* Tells the peer what to do, and waits until it is ready; peer_done()
 * waits for its end and returns how often the peer slept meanwhile. */
void peer_go(const struct side *s, long iters);
long peer_done(void);
/* Times this process has gone to sleep (voluntary context switches). */
long sleeps_so_far(void);

/* ---------------------------------------------------------------- raw */

void *shared_map(size_t size);
/* Maps the raw round trips' words; before the fork. */
void raw_setup(void);
/* K_LINE_RT's counter as it stands (the cycles count on from it). */
uint64_t raw_line_count(void);
void ring_make(raw_ring *r, size_t cap, size_t size);
void write_full(int fd, const void *p, size_t n);
int read_full(int fd, void *p, size_t n);

void cycle_line_rt(void *unused);
void cycle_futex_rt(void *unused);
void cycle_spin_rt(void *unused);
void cycle_wake_rt(void *unused);
void cycle_wake2_rt(void *unused);
void cycle_pipe_rt(void *unused);
void cycle_sock_rt(void *unused);
void cycle_ring_rt(void *unused);
void cycle_pring_rt(void *unused);
void cycle_ring_tp(void *unused);
void cycle_ring_zc(void *unused);
void cycle_sock_tp(void *unused);

/* The peer's end of each raw kind, for `iters` cycles on `cur`. */
void serve_line(enum kind kind, long iters);
void serve_futex(enum kind kind, long iters);
void serve_spin(enum kind kind, long iters);
void serve_wake2(enum kind kind, long iters);
void serve_pipe_rt(enum kind kind, long iters);
void serve_sock_rt(enum kind kind, long iters);
void serve_ring(enum kind kind, long iters);
void serve_sock_tp(enum kind kind, long iters);

/* ---------------------------------------------------------------- iceoryx */

extern char iceoryx_note[256]; /* why iceoryx is not used */
extern int iceoryx_ok;

#ifdef SHMKIT_BENCH_ICEORYX
/* Starts RouDi and forks the worker under its supervision; returns in the
 * worker, or in this process with `why` said if RouDi did not start. */
void supervise(char *why, size_t n);
void iox_open(const char *who, const char *out, const char *in);
int iox_connected(void);
void iox_close(void);
/* 1 in the peer once it opened its ports (exit() then, not _exit()). */
extern int iox_opened;

void cycle_iox_rt_busy(void *unused);
void cycle_iox_rt_wait(void *unused);
void cycle_iox_tp(void *unused);
void serve_iox(enum kind kind, long iters);
#endif
/* Opens the parent's ports and has the peer open its own, if RouDi runs;
 * else says why not in iceoryx_note. */
void start_iceoryx(void);

/* ---------------------------------------------------------------- sizes */

/* The size table's numbers: NAN where the case did not run. */
struct size_row {
  double rt_ns, rt_raw_ns;     /* per round trip */
  double copy_ps, copy_raw_ps; /* messages per second */
  double zc_ps, zc_raw_ps;
};

void print_sizes(const struct size_row rows[NSIZES]);
void json_sizes(const struct size_row rows[NSIZES]);
/* Writes the chart to `path`; says how on stderr. */
void write_plot(const char *path, const struct size_row rows[NSIZES]);

#endif /* SHMKIT_BENCH_CHANNEL_H */
