/* Channel benchmark: what a message costs through a shmkit channel between
 * two processes, against the same exchange written raw in this file, and
 * against iceoryx where its C binding was found at configure time.
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
 *   spin-then-futex:   RAW_SPIN pauses polling the word, then a "sleeping"
 *                      flag (seq_cst), a look again, FUTEX_WAIT; the waker
 *                      wakes only when it swaps the flag back;
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
 * set), asleep (0 on both ends: each side sleeps before the other sends);
 * a row pairs default with busy, to show what the default spin costs.
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
 * inverse of the time ratio). Every ratio is the paired one. Then a table
 * of round trip (busy) and throughput against message size.
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
 */
#define _GNU_SOURCE /* sched_setaffinity, memfd_create */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "common.h"
#include "shmkit.h"

#ifdef SHMKIT_BENCH_ICEORYX
#  include "iceoryx_binding_c/log.h"
#  include "iceoryx_binding_c/publisher.h"
#  include "iceoryx_binding_c/runtime.h"
#  include "iceoryx_binding_c/subscriber.h"
#  include "iceoryx_binding_c/wait_set.h"
#endif

static const char progname[] = "shmkit-bench-channel";

/* ---------------------------------------------------------------- sizes */

#define NSIZES 6
enum { S8, S64, S1K, S16K, S256K, S1M };
static const size_t sizes[NSIZES] = {8, 64, 1024, 16384, 262144, 1048576};
static const char *const size_names[NSIZES] = {"8 B",    "64 B",    "1 KiB",
                                               "16 KiB", "256 KiB", "1 MiB"};

#define MIN_CAP   65536
#define BUF_SIZE  (1u << 20)
#define BATCH     32   /* messages per flush, and per release */
#define RAW_SPIN  2000 /* the raw spin-then-futex's spins: shmkit's default */
#define RING_HEAD 128  /* a raw ring's data, after head (0) and tail (64) */

static size_t rt_cap(int si) {
  return sizes[si] * 4 > MIN_CAP ? sizes[si] * 4 : MIN_CAP;
}

static size_t tp_cap(int si) {
  return sizes[si] * 16 > MIN_CAP ? sizes[si] * 16 : MIN_CAP;
}

/* ---------------------------------------------------------------- errors */

static pid_t peer_pid = -1; /* in the parent, once forked: the peer */
static pid_t main_pid;      /* the parent, in both */
static int is_peer;

static void die(const char *msg) {
  fprintf(stderr, "%s%s: %s\n", progname, is_peer ? " (peer)" : "", msg);
  if (is_peer) _exit(1);
  exit(1);
}

static void die_errno(const char *call) {
  char msg[256];

  snprintf(msg, sizeof(msg), "%s failed: %s", call, strerror(errno));
  die(msg);
}

static void check(int err, const char *call) {
  char msg[256];

  if (err == 0) return;
  snprintf(msg, sizeof(msg), "%s failed: %s (%s)", call, shmkit_strerror(err),
           shmkit_err_name(err));
  die(msg);
}

/* Ends the run if the peer died: called now and then from every loop of
 * the parent that waits on it without a system call that would notice. */
static void peer_check(void) {
  int status;

  if (peer_pid <= 0 || waitpid(peer_pid, &status, WNOHANG) != peer_pid) return;
  peer_pid = 0;
  if (WIFSIGNALED(status))
    fprintf(stderr, "%s: the peer was killed by signal %d\n", progname,
            WTERMSIG(status));
  else
    fprintf(stderr, "%s: the peer exited with %d\n", progname,
            WEXITSTATUS(status));
  exit(1);
}

static void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

static void spin_pause(unsigned *spins) {
  cpu_relax();
  if ((++*spins & 0x3ffff) == 0) peer_check();
}

/* ---------------------------------------------------------------- pinning */

static cpu_set_t all_cpus; /* what this process was allowed at start */
static int cpu_parent = -1, cpu_peer = -1;
static char pinning[160];

/* Pins this process to the first allowed CPU and notes the second for the
 * peer; says in `pinning` what was done. */
static void pin_parent(void) {
  cpu_set_t one;
  int n = 0;

  if (sched_getaffinity(0, sizeof(all_cpus), &all_cpus) != 0) {
    snprintf(pinning, sizeof(pinning), "not pinned: sched_getaffinity: %s",
             strerror(errno));
    return;
  }
  for (int c = 0; c < CPU_SETSIZE && n < 2; c++) {
    if (!CPU_ISSET(c, &all_cpus)) continue;
    if (n++ == 0)
      cpu_parent = c;
    else
      cpu_peer = c;
  }
  if (cpu_peer < 0) {
    snprintf(pinning, sizeof(pinning),
             "not pinned: only one CPU is allowed (both sides share it)");
    cpu_parent = -1;
    return;
  }
  CPU_ZERO(&one);
  CPU_SET(cpu_parent, &one);
  if (sched_setaffinity(0, sizeof(one), &one) != 0) {
    snprintf(pinning, sizeof(pinning), "not pinned: sched_setaffinity: %s",
             strerror(errno));
    cpu_parent = cpu_peer = -1;
    return;
  }
  snprintf(pinning, sizeof(pinning), "parent on CPU %d, peer on CPU %d",
           cpu_parent, cpu_peer);
}

static void pin_peer(void) {
  cpu_set_t one;

  if (cpu_peer < 0) return;
  CPU_ZERO(&one);
  CPU_SET(cpu_peer, &one);
  if (sched_setaffinity(0, sizeof(one), &one) != 0)
    die_errno("sched_setaffinity");
}

/* ---------------------------------------------------------------- raw */

/* The raw round trips' words, each writer's on a line of its own. */
struct raw_flag {
  _Atomic uint32_t word;     /* bumped by the waker */
  _Atomic uint32_t sleeping; /* 1: the waiter sleeps on word */
};

struct raw_shared {
  _Alignas(64) _Atomic uint64_t ping; /* cache line: the parent's */
  _Alignas(64) _Atomic uint64_t pong; /* the peer's */
  _Alignas(64) _Atomic uint32_t fup;  /* futex: parent to peer */
  _Alignas(64) _Atomic uint32_t fdown;
  _Alignas(64) struct raw_flag sup; /* spin-then-futex */
  _Alignas(64) struct raw_flag sdown;
};

static struct raw_shared *raw;

static int futex_wait(_Atomic uint32_t *w, uint32_t expected, int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

  return (int)syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT, expected, &ts, NULL,
                      0);
}

static void futex_wake(_Atomic uint32_t *w) {
  syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* A raw ring: a header (head at 0, tail at 64) and fixed slots of a u32
 * length, a u32 tag (the message's number from 1, written last: a reader
 * may poll it instead of head) and the payload. Each process keeps its own
 * side's fields. */
typedef struct raw_ring {
  _Atomic uint64_t *head, *tail;
  unsigned char *data;
  size_t slot, nslots;
  uint64_t pos, seen; /* our index; the other's as last read */
  size_t at;          /* the slot at pos */
} raw_ring;

static void *shared_map(size_t size) {
  void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                 -1, 0);

  if (p == MAP_FAILED) die_errno("mmap");
  return p;
}

/* A ring of `cap` bytes of slots for messages of `size` bytes. */
static void ring_make(raw_ring *r, size_t cap, size_t size) {
  unsigned char *base = shared_map(RING_HEAD + cap);

  memset(r, 0, sizeof(*r));
  r->head = (_Atomic uint64_t *)(void *)base;
  r->tail = (_Atomic uint64_t *)(void *)(base + 64);
  r->data = base + RING_HEAD;
  r->slot = 8 + ((size + 7) & ~(size_t)7);
  r->nslots = cap / r->slot;
}

/* Copies a message in (or, with src NULL, only its length) and publishes
 * it, waiting for room. */
static void ring_put(raw_ring *r, const void *src, size_t size) {
  unsigned spins = 0;
  unsigned char *slot;

  while (r->pos - r->seen == r->nslots) {
    r->seen = atomic_load_explicit(r->tail, memory_order_acquire);
    if (r->pos - r->seen == r->nslots) spin_pause(&spins);
  }
  slot = r->data + r->at * r->slot;
  if (src != NULL) memcpy(slot + 8, src, size);
  atomic_store_explicit((_Atomic uint64_t *)(void *)slot,
                        size | (uint64_t)(uint32_t)(r->pos + 1) << 32,
                        memory_order_release);
  if (++r->at == r->nslots) r->at = 0;
  atomic_store_explicit(r->head, ++r->pos, memory_order_release);
}

/* The slot at pos, copied out unless dst is NULL and given back. */
static size_t ring_take(raw_ring *r, unsigned char *slot, void *dst) {
  uint64_t len = atomic_load_explicit((_Atomic uint64_t *)(void *)slot,
                                      memory_order_relaxed) &
                 0xffffffffu;

  if (len > BUF_SIZE) die("raw ring: a bad length");
  if (dst != NULL) memcpy(dst, slot + 8, (size_t)len);
  if (++r->at == r->nslots) r->at = 0;
  atomic_store_explicit(r->tail, ++r->pos, memory_order_release);
  return (size_t)len;
}

/* Takes the next message, copying it out unless dst is NULL, and gives its
 * slot back; returns its length. */
static size_t ring_get(raw_ring *r, void *dst) {
  unsigned spins = 0;

  while (r->pos == r->seen) {
    r->seen = atomic_load_explicit(r->head, memory_order_acquire);
    if (r->pos == r->seen) spin_pause(&spins);
  }
  return ring_take(r, r->data + r->at * r->slot, dst);
}

/* The same, polling the slot's tag rather than head: one cache line to
 * wait on instead of head's and then the slot's. */
static size_t ring_get_polled(raw_ring *r, void *dst) {
  unsigned spins = 0;
  unsigned char *slot = r->data + r->at * r->slot;
  uint32_t tag = (uint32_t)(r->pos + 1);

  while ((uint32_t)(atomic_load_explicit((_Atomic uint64_t *)(void *)slot,
                                         memory_order_acquire) >>
                    32) != tag)
    spin_pause(&spins);
  ring_take(r, slot, dst);
  if (r->seen < r->pos) r->seen = r->pos; /* for ring_get() after us */
  return tag;
}

/* Spin-then-futex: the waiter's side, until the word is not `old`. */
static void flag_wait(struct raw_flag *f, uint32_t old) {
  for (int i = 0; i < RAW_SPIN; i++) {
    if (atomic_load_explicit(&f->word, memory_order_acquire) != old) return;
    cpu_relax();
  }
  for (;;) {
    atomic_store(&f->sleeping, 1);
    if (atomic_load(&f->word) != old) break;
    if (futex_wait(&f->word, old, 1000) != 0 && errno == ETIMEDOUT)
      peer_check();
    if (atomic_load_explicit(&f->word, memory_order_acquire) != old) break;
  }
  atomic_store_explicit(&f->sleeping, 0, memory_order_relaxed);
}

/* The waker's side: stores, then wakes only a waiter that said it sleeps,
 * and only once (the swap). */
static void flag_set(struct raw_flag *f, uint32_t v) {
  atomic_store(&f->word, v);
  if (atomic_load(&f->sleeping) != 0 && atomic_exchange(&f->sleeping, 0) != 0)
    futex_wake(&f->word);
}

/* A plain futex word: waits, sleeping at once, until it is not `old`. */
static uint32_t word_wait(_Atomic uint32_t *w, uint32_t old) {
  uint32_t v;

  while ((v = atomic_load_explicit(w, memory_order_acquire)) == old)
    if (futex_wait(w, old, 1000) != 0 && errno == ETIMEDOUT) peer_check();
  return v;
}

static void word_set(_Atomic uint32_t *w, uint32_t v) {
  atomic_store_explicit(w, v, memory_order_release);
  futex_wake(w);
}

/* ---------------------------------------------------------------- fds */

static void write_full(int fd, const void *p, size_t n) {
  const unsigned char *b = p;

  while (n > 0) {
    ssize_t w = write(fd, b, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) die_errno("write");
    b += w;
    n -= (size_t)w;
  }
}

/* Reads n bytes; 0 at once at the end of the stream, else 1. */
static int read_full(int fd, void *p, size_t n) {
  unsigned char *b = p;
  size_t got = 0;

  while (got < n) {
    ssize_t r = read(fd, b + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) die_errno("read");
    if (r == 0) {
      if (got == 0) return 0;
      die("read: the stream ended inside a message");
    }
    got += (size_t)r;
  }
  return 1;
}

/* ---------------------------------------------------------------- state */

/* The round trips' channel sets, by spin mode: busy has every size, the
 * others 8 B only. [0] goes to the peer, [1] comes back. */
enum { SET_BUSY, SET_DEFAULT, SET_ASLEEP, NSETS };
static shmkit_channel *rt_ch[NSETS][NSIZES][2];
static shmkit_channel *tp_ch[NSIZES]; /* to the peer; default spin */
static raw_ring rt_ring[NSIZES][2], tp_ring[NSIZES];
static int pipe_up[2], pipe_down[2], sock[2], ctl[2];
static unsigned char *msgbuf, *rcvbuf;

/* The ends made here for the peer: closed here after the fork, attached
 * there; and the descriptors of this side's links, closed there. */
#define MAX_LINKS (NSETS * NSIZES * 2 + NSIZES)
static struct link {
  shmkit_conn *peer_end;
  int parent_fd;
  shmkit_channel **slot;
  /* In the peer: the parent's end as the fork copied it, kept but never
   * closed (that would mark the parent's side closed in the ring). */
  shmkit_channel *parent_end;
  int set; /* its spin mode, or -1 for a throughput channel */
} links[MAX_LINKS];
static int nlinks;

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

struct side {
  enum kind kind;
  int set; /* K_CH_RT: the spin mode */
  int si;  /* the size's index */
};

struct cmd {
  int kind, set, si;
  long iters;
};

/* The side being measured, set up by enter() for the cycles. */
static struct {
  size_t size;
  shmkit_channel *up, *down;
  raw_ring *rup, *rdown;
  unsigned long count;
} cur;

static void resolve(const struct side *s) {
  cur.size = sizes[s->si];
  cur.up = cur.down = NULL;
  cur.rup = cur.rdown = NULL;
  switch (s->kind) {
  case K_CH_RT:
    cur.up = rt_ch[s->set][s->si][0];
    cur.down = rt_ch[s->set][s->si][1];
    break;
  case K_CH_TP:
  case K_CH_BATCH:
  case K_CH_ZC:
    cur.up = tp_ch[s->si];
    break;
  case K_RING_RT:
  case K_PRING_RT:
    cur.rup = &rt_ring[s->si][0];
    cur.rdown = &rt_ring[s->si][1];
    break;
  case K_RING_TP:
  case K_RING_ZC:
    cur.rup = &tp_ring[s->si];
    break;
  default:
    break;
  }
}

/* ---------------------------------------------------------------- iceoryx */

#ifdef SHMKIT_BENCH_ICEORYX
#  ifndef SHMKIT_BENCH_IOX_ROUDI
#    define SHMKIT_BENCH_IOX_ROUDI "iox-roudi"
#  endif
static pid_t roudi_pid = -1;
static iox_pub_storage_t pub_storage;
static iox_sub_storage_t sub_storage;
static iox_ws_storage_t ws_storage;
static iox_pub_t iox_pub;
static iox_sub_t iox_sub;
static iox_ws_t iox_ws;
static int iox_opened;

/* RouDi's memory: 128-byte chunks for the 8 and 64-byte messages. */
static const char roudi_config[] = "[general]\nversion = 1\n\n[[segment]]\n\n"
                                   "[[segment.mempool]]\nsize = 128\n"
                                   "count = 4096\n";

/* The last line RouDi wrote, for a note. */
static void roudi_last_line(int log, char *out, size_t n) {
  char buf[4096];
  ssize_t got = pread(log, buf, sizeof(buf) - 1, 0);
  char *line, *end;
  size_t len;

  snprintf(out, n, "no output");
  if (got <= 0) return;
  buf[got] = '\0';
  while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == ' '))
    buf[--got] = '\0';
  line = strrchr(buf, '\n');
  line = line != NULL ? line + 1 : buf;
  /* Its colours are escape sequences: keep them out of the note. */
  for (end = line; *end != '\0'; end++)
    if ((unsigned char)*end < 0x20) *end = ' ';
  len = strlen(line) < n ? strlen(line) : n - 1;
  memcpy(out, line, len);
  out[len] = '\0';
}

/* Starts iox-roudi with a configuration of ours and waits until it says
 * that it is ready; NULL, or why not in `why`. */
static const char *roudi_start(char *why, size_t n) {
  int cfg = memfd_create("roudi-config", 0);
  int log = memfd_create("roudi-log", MFD_CLOEXEC);
  char path[64], last[200];
  int status;

  if (cfg < 0 || log < 0) die_errno("memfd_create");
  write_full(cfg, roudi_config, sizeof(roudi_config) - 1);
  snprintf(path, sizeof(path), "/proc/self/fd/%d", cfg);
  fflush(NULL);
  if ((roudi_pid = fork()) < 0) die_errno("fork");
  if (roudi_pid == 0) {
    /* Not on the measured CPU alone, and gone when we are. */
    sched_setaffinity(0, sizeof(all_cpus), &all_cpus);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    dup2(log, 1);
    dup2(log, 2);
    execlp(SHMKIT_BENCH_IOX_ROUDI, "iox-roudi", "-c", path, "-m", "off", "-l",
           "info", (char *)NULL);
    _exit(127);
  }
  close(cfg);
  for (int i = 0; i < 1000; i++) {
    char buf[8192];
    ssize_t got = pread(log, buf, sizeof(buf) - 1, 0);

    if (got > 0) {
      buf[got] = '\0';
      if (strstr(buf, "RouDi is ready for clients") != NULL) {
        close(log);
        return NULL;
      }
    }
    if (waitpid(roudi_pid, &status, WNOHANG) == roudi_pid) {
      roudi_pid = -1;
      roudi_last_line(log, last, sizeof(last));
      if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        snprintf(why, n, "%s could not be started", SHMKIT_BENCH_IOX_ROUDI);
      else
        snprintf(why, n, "iox-roudi ended at start (%s)", last);
      close(log);
      return why;
    }
    usleep(10000);
  }
  roudi_last_line(log, last, sizeof(last));
  snprintf(why, n, "iox-roudi not ready after 10 s (%s)", last);
  close(log);
  return why;
}

static void roudi_stop(void) {
  int status;

  if (roudi_pid <= 0) return;
  kill(roudi_pid, SIGTERM);
  for (int i = 0; i < 500; i++) {
    if (waitpid(roudi_pid, &status, WNOHANG) == roudi_pid) {
      roudi_pid = -1;
      return;
    }
    usleep(10000);
  }
  kill(roudi_pid, SIGKILL);
  waitpid(roudi_pid, &status, 0);
  roudi_pid = -1;
}

/* iox-roudi forgets a process only when the process unregisters, which
 * iceoryx does at exit; and at its own end it sends SIGTERM to every
 * process it still knows. So RouDi lives in a supervisor: it starts RouDi,
 * forks the process that measures (returning there), waits for it to end,
 * then stops RouDi and ends as the worker did. Returns in this process,
 * with iceoryx_note saying why, if RouDi did not start. */
static int roudi_running;

static void supervise(char *why, size_t n) {
  pid_t worker;
  int status;

  if (roudi_start(why, n) != NULL) return;
  fflush(NULL);
  if ((worker = fork()) < 0) die_errno("fork");
  if (worker == 0) {
    roudi_pid = -1; /* the supervisor's */
    roudi_running = 1;
    return;
  }
  /* ^C reaches the worker too: stop RouDi after it, then end the same. */
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  while (waitpid(worker, &status, 0) < 0)
    if (errno != EINTR) break;
  roudi_stop();
  if (WIFSIGNALED(status)) {
    signal(WTERMSIG(status), SIG_DFL);
    raise(WTERMSIG(status));
  }
  _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}

/* This process's publisher on `out` and subscriber on `in`, a wait set
 * on the subscriber, and waits until both are connected to the peer's. */
static void iox_open(const char *who, const char *out, const char *in) {
  iox_pub_options_t po;
  iox_sub_options_t so;
  char name[64], instance[32];

  iox_set_loglevel(Iceoryx_LogLevel_Warn);
  snprintf(name, sizeof(name), "shmkit-bench-channel-%s-%ld", who,
           (long)getpid());
  snprintf(instance, sizeof(instance), "%ld", (long)main_pid);
  iox_runtime_init(name);
  iox_pub_options_init(&po);
  po.historyCapacity = 0;
  po.subscriberTooSlowPolicy = ConsumerTooSlowPolicy_WAIT_FOR_CONSUMER;
  iox_pub = iox_pub_init(&pub_storage, "shmkit-bench", instance, out, &po);
  iox_sub_options_init(&so);
  so.queueCapacity = 256;
  so.queueFullPolicy = QueueFullPolicy_BLOCK_PRODUCER;
  iox_sub = iox_sub_init(&sub_storage, "shmkit-bench", instance, in, &so);
  iox_ws = iox_ws_init(&ws_storage);
  iox_opened = 1;
  if (iox_ws_attach_subscriber_state(iox_ws, iox_sub, SubscriberState_HAS_DATA,
                                     0, NULL) != WaitSetResult_SUCCESS)
    die("iox_ws_attach_subscriber_state failed");
}

/* Waits (up to 10 s) until both of this process's ports see the peer's. */
static int iox_connected(void) {
  for (int i = 0; i < 1000; i++) {
    if (iox_sub_get_subscription_state(iox_sub) == SubscribeState_SUBSCRIBED &&
        iox_pub_has_subscribers(iox_pub))
      return 1;
    usleep(10000);
  }
  return 0;
}

static void iox_close(void) {
  if (iox_pub == NULL) return;
  iox_ws_deinit(iox_ws);
  iox_sub_deinit(iox_sub);
  iox_pub_deinit(iox_pub);
  iox_runtime_shutdown();
  iox_pub = NULL;
}

static void iox_send(size_t size) {
  unsigned spins = 0;
  void *p;
  enum iox_AllocationResult r;

  while ((r = iox_pub_loan_chunk(iox_pub, &p, (uint32_t)size)) !=
         AllocationResult_SUCCESS) {
    if (r != AllocationResult_RUNNING_OUT_OF_CHUNKS)
      die("iox_pub_loan_chunk failed");
    spin_pause(&spins);
  }
  memcpy(p, msgbuf, size);
  iox_pub_publish_chunk(iox_pub, p);
}

/* Takes the next sample, busy-polling or in the wait set, and copies it
 * out. */
static void iox_recv(size_t size, int wait) {
  unsigned spins = 0;
  const void *p;
  enum iox_ChunkReceiveResult r;

  while ((r = iox_sub_take_chunk(iox_sub, &p)) != ChunkReceiveResult_SUCCESS) {
    if (r != ChunkReceiveResult_NO_CHUNK_AVAILABLE)
      die("iox_sub_take_chunk failed");
    if (wait) {
      iox_notification_info_t info[2];
      uint64_t missed;
      struct timespec t = {1, 0};
      if (iox_ws_timed_wait(iox_ws, t, info, 2, &missed) == 0) peer_check();
    } else {
      spin_pause(&spins);
    }
  }
  memcpy(rcvbuf, p, size);
  iox_sub_release_chunk(iox_sub, p);
}
#endif

/* ---------------------------------------------------------------- cycles */

/* This process's cycle of each kind, on `cur`. */
static void cycle_ch_rt(void *unused) {
  size_t n;

  (void)unused;
  check(shmkit_channel_send(cur.up, msgbuf, cur.size, -1),
        "shmkit_channel_send");
  check(shmkit_channel_recv(cur.down, rcvbuf, BUF_SIZE, &n, -1),
        "shmkit_channel_recv");
  if (n != cur.size) die("round trip: not the message sent");
}

static void cycle_ch_tp(void *unused) {
  (void)unused;
  check(shmkit_channel_send(cur.up, msgbuf, cur.size, -1),
        "shmkit_channel_send");
}

static void cycle_ch_batch(void *unused) {
  void *p;

  (void)unused;
  check(shmkit_channel_reserve(cur.up, cur.size, &p, -1),
        "shmkit_channel_reserve");
  memcpy(p, msgbuf, cur.size);
  check(shmkit_channel_commit(cur.up, cur.size,
                              ++cur.count % BATCH ? SHMKIT_CHANNEL_MORE : 0),
        "shmkit_channel_commit");
}

static void cycle_ch_zc(void *unused) {
  void *p;

  (void)unused;
  check(shmkit_channel_reserve(cur.up, cur.size, &p, -1),
        "shmkit_channel_reserve");
  check(shmkit_channel_commit(cur.up, cur.size, 0), "shmkit_channel_commit");
}

static void cycle_line_rt(void *unused) {
  unsigned spins = 0;
  uint64_t seq = ++cur.count;

  (void)unused;
  /* The counter is the message: the peer sends it back. */
  atomic_store_explicit(&raw->ping, seq, memory_order_release);
  while (atomic_load_explicit(&raw->pong, memory_order_acquire) != seq)
    spin_pause(&spins);
}

static void cycle_futex_rt(void *unused) {
  uint32_t v = atomic_load_explicit(&raw->fup, memory_order_relaxed) + 1;

  (void)unused;
  word_set(&raw->fup, v);
  while (word_wait(&raw->fdown, v - 1) != v) continue;
}

static void cycle_spin_rt(void *unused) {
  uint32_t v = atomic_load_explicit(&raw->sup.word, memory_order_relaxed) + 1;

  (void)unused;
  flag_set(&raw->sup, v);
  flag_wait(&raw->sdown, v - 1);
}

static void cycle_pipe_rt(void *unused) {
  (void)unused;
  write_full(pipe_up[1], msgbuf, 8);
  if (!read_full(pipe_down[0], rcvbuf, 8)) die("pipe: the peer left");
}

static void cycle_sock_rt(void *unused) {
  (void)unused;
  write_full(sock[0], msgbuf, 8);
  if (!read_full(sock[0], rcvbuf, 8)) die("socket: the peer left");
}

static void cycle_ring_rt(void *unused) {
  (void)unused;
  ring_put(cur.rup, msgbuf, cur.size);
  if (ring_get(cur.rdown, rcvbuf) != cur.size)
    die("raw ring: not the message sent");
}

static void cycle_pring_rt(void *unused) {
  (void)unused;
  ring_put(cur.rup, msgbuf, cur.size);
  ring_get_polled(cur.rdown, rcvbuf);
}

static void cycle_ring_tp(void *unused) {
  (void)unused;
  ring_put(cur.rup, msgbuf, cur.size);
}

static void cycle_ring_zc(void *unused) {
  (void)unused;
  ring_put(cur.rup, NULL, cur.size);
}

static void cycle_sock_tp(void *unused) {
  (void)unused;
  write_full(sock[0], msgbuf, cur.size);
}

#ifdef SHMKIT_BENCH_ICEORYX
static void cycle_iox_rt_busy(void *unused) {
  (void)unused;
  iox_send(cur.size);
  iox_recv(cur.size, 0);
}

static void cycle_iox_rt_wait(void *unused) {
  (void)unused;
  iox_send(cur.size);
  iox_recv(cur.size, 1);
}

static void cycle_iox_tp(void *unused) {
  (void)unused;
  iox_send(cur.size);
}
#else
#  define cycle_iox_rt_busy NULL
#  define cycle_iox_rt_wait NULL
#  define cycle_iox_tp      NULL
#endif

static void (*const cycles[K_COUNT])(void *) = {
    [K_CH_RT] = cycle_ch_rt,
    [K_CH_TP] = cycle_ch_tp,
    [K_CH_BATCH] = cycle_ch_batch,
    [K_CH_ZC] = cycle_ch_zc,
    [K_LINE_RT] = cycle_line_rt,
    [K_FUTEX_RT] = cycle_futex_rt,
    [K_SPIN_RT] = cycle_spin_rt,
    [K_PIPE_RT] = cycle_pipe_rt,
    [K_SOCK_RT] = cycle_sock_rt,
    [K_RING_RT] = cycle_ring_rt,
    [K_PRING_RT] = cycle_pring_rt,
    [K_RING_TP] = cycle_ring_tp,
    [K_RING_ZC] = cycle_ring_zc,
    [K_SOCK_TP] = cycle_sock_tp,
    [K_IOX_RT_BUSY] = cycle_iox_rt_busy,
    [K_IOX_RT_WAIT] = cycle_iox_rt_wait,
    [K_IOX_TP] = cycle_iox_tp,
};

/* ---------------------------------------------------------------- peer */

/* The peer's end of each kind, for `iters` cycles on `cur`. */
static void serve_ch(enum kind kind, long iters) {
  const void *p;
  size_t n;

  for (long i = 0; i < iters; i++) {
    if (kind == K_CH_ZC) {
      check(shmkit_channel_peek(cur.up, &p, &n, -1), "shmkit_channel_peek");
      check(shmkit_channel_release(cur.up), "shmkit_channel_release");
      continue;
    }
    check(shmkit_channel_recv(cur.up, rcvbuf, BUF_SIZE, &n, -1),
          "shmkit_channel_recv");
    if (kind == K_CH_RT)
      check(shmkit_channel_send(cur.down, rcvbuf, n, -1),
            "shmkit_channel_send");
  }
}

/* Peeks at up to BATCH messages, copying each out, then releases them. */
static void serve_ch_batch(long iters) {
  const void *p;
  size_t n;
  long got = 0;

  while (got < iters) {
    long k = 0;
    int err = 0;
    check(shmkit_channel_peek(cur.up, &p, &n, -1), "shmkit_channel_peek");
    do {
      memcpy(rcvbuf, p, n);
      k++;
    } while (k < BATCH && got + k < iters &&
             (err = shmkit_channel_peek(cur.up, &p, &n, 0)) == 0);
    if (err != SHMKIT_ETIMEDOUT) check(err, "shmkit_channel_peek");
    check(shmkit_channel_release(cur.up), "shmkit_channel_release");
    got += k;
  }
}

static void serve_line(long iters) {
  uint64_t last = atomic_load_explicit(&raw->pong, memory_order_relaxed), v;

  for (long i = 0; i < iters; i++) {
    while ((v = atomic_load_explicit(&raw->ping, memory_order_acquire)) == last)
      cpu_relax();
    atomic_store_explicit(&raw->pong, v, memory_order_release);
    last = v;
  }
}

static void serve_futex(long iters) {
  uint32_t last = atomic_load_explicit(&raw->fdown, memory_order_relaxed);

  for (long i = 0; i < iters; i++) {
    last = word_wait(&raw->fup, last);
    word_set(&raw->fdown, last);
  }
}

static void serve_spin(long iters) {
  uint32_t last = atomic_load_explicit(&raw->sdown.word, memory_order_relaxed);

  for (long i = 0; i < iters; i++) {
    flag_wait(&raw->sup, last);
    last = atomic_load_explicit(&raw->sup.word, memory_order_acquire);
    flag_set(&raw->sdown, last);
  }
}

static void serve_fd_rt(int in, int out, long iters) {
  for (long i = 0; i < iters; i++) {
    if (!read_full(in, rcvbuf, 8)) _exit(0);
    write_full(out, rcvbuf, 8);
  }
}

static void serve_ring(enum kind kind, long iters) {
  for (long i = 0; i < iters; i++) {
    size_t n;
    if (kind == K_PRING_RT) {
      ring_get_polled(cur.rup, rcvbuf);
      ring_put(cur.rdown, rcvbuf, cur.size);
      continue;
    }
    n = ring_get(cur.rup, kind == K_RING_ZC ? NULL : rcvbuf);
    if (kind == K_RING_RT) ring_put(cur.rdown, rcvbuf, n);
  }
}

static void serve_sock_tp(long iters) {
  unsigned long long left = (unsigned long long)iters * cur.size;

  while (left > 0) {
    size_t n = left < BUF_SIZE ? (size_t)left : BUF_SIZE;
    ssize_t r = read(sock[1], rcvbuf, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) _exit(r == 0 ? 0 : 1);
    left -= (unsigned long long)r;
  }
}

#ifdef SHMKIT_BENCH_ICEORYX
static void serve_iox(enum kind kind, long iters) {
  if (kind == K_IOX_SETUP) {
    iox_open("peer", "down", "up");
    if (!iox_connected()) die("iceoryx: the parent's ports not seen");
    return;
  }
  for (long i = 0; i < iters; i++) {
    iox_recv(cur.size, kind == K_IOX_RT_WAIT);
    if (kind != K_IOX_TP) iox_send(cur.size);
  }
}
#endif

static void serve(const struct cmd *c) {
  enum kind kind = (enum kind)c->kind;

  switch (kind) {
  case K_CH_RT:
  case K_CH_TP:
  case K_CH_ZC:
    serve_ch(kind, c->iters);
    break;
  case K_CH_BATCH:
    serve_ch_batch(c->iters);
    break;
  case K_LINE_RT:
    serve_line(c->iters);
    break;
  case K_FUTEX_RT:
    serve_futex(c->iters);
    break;
  case K_SPIN_RT:
    serve_spin(c->iters);
    break;
  case K_PIPE_RT:
    serve_fd_rt(pipe_up[0], pipe_down[1], c->iters);
    break;
  case K_SOCK_RT:
    serve_fd_rt(sock[1], sock[1], c->iters);
    break;
  case K_RING_RT:
  case K_PRING_RT:
  case K_RING_TP:
  case K_RING_ZC:
    serve_ring(kind, c->iters);
    break;
  case K_SOCK_TP:
    serve_sock_tp(c->iters);
    break;
#ifdef SHMKIT_BENCH_ICEORYX
  case K_IOX_SETUP:
  case K_IOX_RT_BUSY:
  case K_IOX_RT_WAIT:
  case K_IOX_TP:
    serve_iox(kind, c->iters);
    break;
#endif
  default:
    die("an unknown command");
  }
}

/* The peer: takes each channel's end, then serves one command at a time,
 * saying 'G' when it is ready and 'D' when done; it ends at the end of the
 * control stream or at K_QUIT. */
static void peer_main(void) {
  struct cmd c;

  prctl(PR_SET_PDEATHSIG, SIGKILL);
  is_peer = 1;
  peer_pid = -1;
  if (getppid() == 1) _exit(1); /* the parent is gone already */
  pin_peer();
  close(ctl[0]);
  close(pipe_up[1]);
  close(pipe_down[0]);
  close(sock[0]);
  for (int i = 0; i < nlinks; i++) {
    close(links[i].parent_fd);
    links[i].parent_end = *links[i].slot;
    check(shmkit_channel_attach(links[i].slot, links[i].peer_end, -1),
          "shmkit_channel_attach");
    if (links[i].set == SET_BUSY)
      shmkit_channel_set_spin(*links[i].slot, (unsigned)-1);
    else if (links[i].set == SET_ASLEEP)
      shmkit_channel_set_spin(*links[i].slot, 0);
  }
  while (read_full(ctl[1], &c, sizeof(c)) && c.kind != K_QUIT) {
    struct side s = {(enum kind)c.kind, c.set, c.si};
    resolve(&s);
    write_full(ctl[1], "G", 1);
    serve(&c);
    write_full(ctl[1], "D", 1);
  }
  for (int i = 0; i < nlinks; i++) shmkit_channel_close(*links[i].slot);
#ifdef SHMKIT_BENCH_ICEORYX
  /* exit(), not _exit(): iceoryx tells RouDi that we go at exit. */
  if (iox_opened) {
    iox_close();
    exit(0);
  }
#endif
  _exit(0);
}

/* ---------------------------------------------------------------- setup */

static void make_channel(shmkit_channel **slot, int role, size_t cap, int set) {
  shmkit_conn *a, *b;
  struct link *l = &links[nlinks++];

  check(shmkit_conn_pair(&a, &b), "shmkit_conn_pair");
  l->peer_end = b;
  l->parent_fd = (int)shmkit_conn_handle(a);
  l->slot = slot;
  l->set = set;
  check(shmkit_channel_create(slot, a, role, cap, 0, -1),
        "shmkit_channel_create");
}

static void setup(void) {
  raw = shared_map(sizeof(*raw));
  msgbuf = malloc(BUF_SIZE);
  rcvbuf = malloc(BUF_SIZE);
  if (msgbuf == NULL || rcvbuf == NULL) die("out of memory");
  for (size_t i = 0; i < BUF_SIZE; i++) msgbuf[i] = (unsigned char)(i * 7);
  memset(rcvbuf, 0, BUF_SIZE);
  for (int si = 0; si < NSIZES; si++) {
    for (int set = 0; set < NSETS; set++) {
      if (set != SET_BUSY && si != S8) continue;
      make_channel(&rt_ch[set][si][0], SHMKIT_CHANNEL_SEND, rt_cap(si), set);
      make_channel(&rt_ch[set][si][1], SHMKIT_CHANNEL_RECV, rt_cap(si), set);
    }
    make_channel(&tp_ch[si], SHMKIT_CHANNEL_SEND, tp_cap(si), -1);
    ring_make(&rt_ring[si][0], rt_cap(si), sizes[si]);
    ring_make(&rt_ring[si][1], rt_cap(si), sizes[si]);
    ring_make(&tp_ring[si], tp_cap(si), sizes[si]);
  }
  /* Close-on-exec: the peer is forked without exec; nothing else may hold
   * them (iox-roudi, gnuplot). */
  if (pipe2(pipe_up, O_CLOEXEC) != 0 || pipe2(pipe_down, O_CLOEXEC) != 0)
    die_errno("pipe2");
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sock) != 0 ||
      socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ctl) != 0)
    die_errno("socketpair");

  fflush(NULL);
  if ((peer_pid = fork()) < 0) die_errno("fork");
  if (peer_pid == 0) peer_main();
  close(ctl[1]);
  close(pipe_up[0]);
  close(pipe_down[1]);
  close(sock[1]);
  for (int i = 0; i < nlinks; i++) {
    shmkit_conn_close(links[i].peer_end);
    if (links[i].set == SET_BUSY)
      shmkit_channel_set_spin(*links[i].slot, (unsigned)-1);
    else if (links[i].set == SET_ASLEEP)
      shmkit_channel_set_spin(*links[i].slot, 0);
  }
}

/* The peer did not answer as it should: it is gone, or going; say how. */
static void peer_lost(void) {
  for (int i = 0; i < 100; i++) {
    peer_check();
    usleep(10000);
  }
  die("the peer stopped answering");
}

/* Tells the peer what to do, and waits until it is ready; peer_done()
 * waits for its end. */
static void peer_go(const struct side *s, long iters) {
  struct cmd c = {(int)s->kind, s->set, s->si, iters};
  char ok;

  write_full(ctl[0], &c, sizeof(c));
  if (!read_full(ctl[0], &ok, 1) || ok != 'G') peer_lost();
}

static void peer_done(void) {
  char ok;

  if (!read_full(ctl[0], &ok, 1) || ok != 'D') peer_lost();
}

static void teardown(void) {
  struct cmd c = {K_QUIT, 0, 0, 0};
  int status;

  write_full(ctl[0], &c, sizeof(c));
  while (waitpid(peer_pid, &status, 0) < 0)
    if (errno != EINTR) die_errno("waitpid");
  peer_pid = 0;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    die("the peer did not exit cleanly");
#ifdef SHMKIT_BENCH_ICEORYX
  iox_close(); /* and RouDi is told at exit (supervise()) */
#endif
  for (int si = 0; si < NSIZES; si++) {
    for (int set = 0; set < NSETS; set++) {
      shmkit_channel_close(rt_ch[set][si][0]);
      shmkit_channel_close(rt_ch[set][si][1]);
    }
    shmkit_channel_close(tp_ch[si]);
  }
  free(msgbuf);
  free(rcvbuf);
}

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
} chcase;

static void case_enter(void *ctx, int is_raw, long iters) {
  chcase *c = ctx;
  const struct side *s = &c->side[is_raw];

  resolve(s);
  cur.count = 0;
  if (s->kind == K_LINE_RT)
    cur.count = atomic_load_explicit(&raw->ping, memory_order_relaxed);
  peer_go(s, iters);
}

static void case_leave(void *ctx, int is_raw) {
  chcase *c = ctx;

  if (c->side[is_raw].kind == K_CH_BATCH)
    check(shmkit_channel_flush(cur.up), "shmkit_channel_flush");
  peer_done();
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
  add("round trip 8 B, asleep vs raw futex", RT(SET_ASLEEP), RAW(K_FUTEX_RT),
      "round_trip_8B_asleep_vs_raw_futex_max", 1.05, 0);
  add("round trip 8 B, asleep vs pipe", RT(SET_ASLEEP), RAW(K_PIPE_RT),
      "round_trip_8B_asleep_vs_pipe_max", 1.05, 0);
  add("round trip 8 B, asleep vs unix socket", RT(SET_ASLEEP), RAW(K_SOCK_RT),
      NULL, 0, 0);
  add("round trip 8 B, asleep vs iceoryx waitset", RT(SET_ASLEEP),
      IOX(K_IOX_RT_WAIT), NULL, 0, 0);

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

static char iceoryx_note[256];
static int iceoryx_ok;

/* The TARGET line of a case, on stdout (stderr with --json); 1 if met. */
static int target_line(bench *b, const chcase *c, const bench_result *r) {
  double ratio = c->per_s ? 1 / r->paired : r->paired;
  int ok = c->per_s ? ratio >= c->limit : ratio <= c->limit;

  fprintf(b->json ? stderr : stdout, "TARGET %s ratio=%.2f limit=%.2f %s\n",
          c->target, ratio, c->limit, ok ? "ok" : "MISSED");
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
           (c->per_s ? ratio >= c->limit : ratio <= c->limit) ? "true"
                                                              : "false");
    if (c == tp64_copy || c == tp64_iox)
      printf("\"%s\"}", tp64_mode);
    else
      printf("null}");
    first = 0;
  }
  printf("]");
}

/* ---------------------------------------------------------------- sizes */

/* The size table's numbers: NAN where the case did not run. */
struct size_row {
  double rt_ns, rt_raw_ns;     /* per round trip */
  double copy_ps, copy_raw_ps; /* messages per second */
  double zc_ps, zc_raw_ps;
};

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

static void print_num(double v, const char *fmt, int width) {
  if (isnan(v))
    printf("%*s", width, "-");
  else
    printf(fmt, width, v);
}

static void print_sizes(void) {
  struct size_row rows[NSIZES];

  size_rows(rows);
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

static void json_sizes(void) {
  struct size_row rows[NSIZES];

  size_rows(rows);
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

/* ---------------------------------------------------------------- plot */

/* A series of the chart: its values by size, NAN where missing. */
struct series {
  const char *title, *colour;
  double v[NSIZES];
};

static void plot_series(struct series s[5]) {
  struct size_row rows[NSIZES];

  size_rows(rows);
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

/* Writes the chart to opt_plot; says how on stderr. */
static void write_plot(void) {
  struct series s[5];
  FILE *f = fopen(opt_plot, "w");

  if (f == NULL) die_errno("fopen(--plot)");
  plot_series(s);
  fflush(f);
  if (plot_gnuplot(f, s) == 0) {
    fclose(f);
    fprintf(stderr, "%s: wrote %s with gnuplot\n", progname, opt_plot);
    return;
  }
  /* Anything gnuplot wrote before it failed goes. */
  if (fflush(f) != 0 || ftruncate(fileno(f), 0) != 0 ||
      fseek(f, 0, SEEK_SET) != 0)
    die_errno("rewriting --plot");
  plot_svg(f, s);
  if (fclose(f) != 0) die_errno("writing --plot");
  fprintf(stderr, "%s: wrote %s (no gnuplot: drawn here)\n", progname,
          opt_plot);
}

/* ---------------------------------------------------------------- main */

static void finish(bench *b) {
  if (b->json) {
    printf(",\n \"pinning\": ");
    bench_json_string(pinning);
    printf(",\n \"iceoryx\": ");
    bench_json_string(iceoryx_ok ? "used" : iceoryx_note);
    json_targets();
    json_sizes();
    print_targets(b);
  } else {
    print_targets(b);
    print_sizes();
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

static void start_iceoryx(void) {
#ifdef SHMKIT_BENCH_ICEORYX
  struct side setup_side = {K_IOX_SETUP, 0, S8};

  if (!roudi_running) {
    if (iceoryx_note[0] == '\0')
      snprintf(iceoryx_note, sizeof(iceoryx_note),
               "not needed by the cases run");
    return;
  }
  iox_open("parent", "up", "down");
  peer_go(&setup_side, 0);
  if (!iox_connected()) die("iceoryx: the peer's ports not seen");
  peer_done();
  iceoryx_ok = 1;
#else
  snprintf(iceoryx_note, sizeof(iceoryx_note),
           "not built (iceoryx's C binding was not found at configure time)");
#endif
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
    bench_hooks hooks = {0, case_enter, case_leave};

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
    warm(c);
    c->res = bench_run_with(&b, &bc, &hooks);
    c->ran = 1;
  }
  teardown();
  bench_finish(&b);
  if (opt_plot != NULL) write_plot();
  return opt_check && missed ? 3 : 0;
}
