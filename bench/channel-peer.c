/* The channel benchmark's two processes (bench-channel.c says what it
 * measures): errors, pinning, the channels made before the fork, the peer
 * that serves every case's other end, and shmkit's own cycles. */
#define _GNU_SOURCE /* sched_setaffinity */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "channel.h"

/* ---------------------------------------------------------------- errors */

static pid_t peer_pid = -1; /* in the parent, once forked: the peer */
pid_t main_pid;             /* the parent, in both */
static int is_peer;

void die(const char *msg) {
  fprintf(stderr, "%s%s: %s\n", progname, is_peer ? " (peer)" : "", msg);
  if (is_peer) _exit(1);
  exit(1);
}

void die_errno(const char *call) {
  char msg[256];

  snprintf(msg, sizeof(msg), "%s failed: %s", call, strerror(errno));
  die(msg);
}

void check_failed(int err, const char *call) {
  char msg[256];

  snprintf(msg, sizeof(msg), "%s failed: %s (%s)", call, shmkit_strerror(err),
           shmkit_err_name(err));
  die(msg);
}

void peer_check(void) {
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

/* ---------------------------------------------------------------- pinning */

cpu_set_t all_cpus;
static int cpu_parent = -1, cpu_peer = -1;
char pinning[160];

void pin_parent(void) {
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
/* ---------------------------------------------------------------- state */

/* The round trips' channel sets by spin mode: [0] goes to the peer, [1]
 * comes back. */
static shmkit_channel *rt_ch[NSETS][NSIZES][2];
static shmkit_channel *tp_ch[NSIZES]; /* to the peer; default spin */
static raw_ring rt_ring[NSIZES][2], tp_ring[NSIZES];
int pipe_up[2], pipe_down[2], sock[2];
static int ctl[2];
unsigned char *msgbuf, *rcvbuf;

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

/* Gives a link's channel, on this side, its set's spin mode. */
static void set_spin(const struct link *l) {
  if (l->set == SET_BUSY)
    shmkit_channel_set_spin(*l->slot, (unsigned)-1);
  else if (l->set == SET_ASLEEP)
    shmkit_channel_set_spin(*l->slot, 0);
}

struct cmd {
  int kind, set, si;
  long iters;
};

struct cur cur;

void resolve(const struct side *s) {
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

/* Reserves room for a message, copies it in if `copy`, and commits it. */
static void reserve_commit(int copy, unsigned flags) {
  void *p;

  check(shmkit_channel_reserve(cur.up, cur.size, &p, -1),
        "shmkit_channel_reserve");
  if (copy) memcpy(p, msgbuf, cur.size);
  check(shmkit_channel_commit(cur.up, cur.size, flags),
        "shmkit_channel_commit");
}

static void cycle_ch_batch(void *unused) {
  (void)unused;
  reserve_commit(1, ++cur.count % BATCH ? SHMKIT_CHANNEL_MORE : 0);
}

static void cycle_ch_zc(void *unused) {
  (void)unused;
  reserve_commit(0, 0);
}

#ifndef SHMKIT_BENCH_ICEORYX
#  define cycle_iox_rt_busy NULL
#  define cycle_iox_rt_wait NULL
#  define cycle_iox_tp      NULL
#  define serve_iox         NULL
#endif

void (*const cycles[K_COUNT])(void *) = {
    [K_CH_RT] = cycle_ch_rt,
    [K_CH_TP] = cycle_ch_tp,
    [K_CH_BATCH] = cycle_ch_batch,
    [K_CH_ZC] = cycle_ch_zc,
    [K_LINE_RT] = cycle_line_rt,
    [K_FUTEX_RT] = cycle_futex_rt,
    [K_SPIN_RT] = cycle_spin_rt,
    [K_WAKE_RT] = cycle_wake_rt,
    [K_WAKE2_RT] = cycle_wake2_rt,
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
static void serve_ch_batch(enum kind kind, long iters) {
  const void *p;
  size_t n;
  long got = 0;

  (void)kind;
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

/* The peer's end of each kind. */
static void (*const serves[K_COUNT])(enum kind, long) = {
    [K_CH_RT] = serve_ch,          [K_CH_TP] = serve_ch,
    [K_CH_BATCH] = serve_ch_batch, [K_CH_ZC] = serve_ch,
    [K_LINE_RT] = serve_line,      [K_FUTEX_RT] = serve_futex,
    [K_SPIN_RT] = serve_spin,      [K_WAKE_RT] = serve_spin,
    [K_WAKE2_RT] = serve_wake2,    [K_PIPE_RT] = serve_pipe_rt,
    [K_SOCK_RT] = serve_sock_rt,   [K_RING_RT] = serve_ring,
    [K_PRING_RT] = serve_ring,     [K_RING_TP] = serve_ring,
    [K_RING_ZC] = serve_ring,      [K_SOCK_TP] = serve_sock_tp,
    [K_IOX_SETUP] = serve_iox,     [K_IOX_RT_BUSY] = serve_iox,
    [K_IOX_RT_WAIT] = serve_iox,   [K_IOX_TP] = serve_iox,
};

static void serve(const struct cmd *c) {
  if (c->kind <= K_QUIT || c->kind >= K_COUNT || serves[c->kind] == NULL)
    die("an unknown command");
  serves[c->kind]((enum kind)c->kind, c->iters);
}

/* After the fork: closes, of each pair of descriptors, the end that is the
 * other process's (`in_peer`: this is the peer). */
static void close_other_ends(int in_peer) {
  int *const pairs[] = {ctl, pipe_up, pipe_down, sock};
  static const int parents[] = {0, 1, 0, 0}; /* the end the parent keeps */

  for (int i = 0; i < 4; i++)
    close(pairs[i][in_peer ? parents[i] : 1 - parents[i]]);
}

/* Times this process has gone to sleep (voluntary context switches). */
long sleeps_so_far(void) {
  struct rusage ru;

  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_nvcsw;
}

/* The peer: takes each channel's end, then serves one command at a time,
 * saying 'G' when it is ready and 'D' when done, followed by the times it
 * slept while it served; it ends at the end of the control stream or at
 * K_QUIT. */
static void peer_main(void) {
  struct cmd c;

  prctl(PR_SET_PDEATHSIG, SIGKILL);
  is_peer = 1;
  peer_pid = -1;
  if (getppid() == 1) _exit(1); /* the parent is gone already */
  pin_peer();
  close_other_ends(1);
  for (int i = 0; i < nlinks; i++) {
    close(links[i].parent_fd);
    links[i].parent_end = *links[i].slot;
    check(shmkit_channel_attach(links[i].slot, links[i].peer_end, -1),
          "shmkit_channel_attach");
    set_spin(&links[i]);
  }
  while (read_full(ctl[1], &c, sizeof(c)) && c.kind != K_QUIT) {
    struct side s = {(enum kind)c.kind, c.set, c.si};
    resolve(&s);
    long slept = sleeps_so_far();

    write_full(ctl[1], "G", 1);
    serve(&c);
    slept = sleeps_so_far() - slept;
    write_full(ctl[1], "D", 1);
    write_full(ctl[1], &slept, sizeof(slept));
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

void setup(void) {
  raw_setup();
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
  close_other_ends(0);
  for (int i = 0; i < nlinks; i++) {
    shmkit_conn_close(links[i].peer_end);
    set_spin(&links[i]);
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

void peer_go(const struct side *s, long iters) {
  struct cmd c = {(int)s->kind, s->set, s->si, iters};
  char ok;

  write_full(ctl[0], &c, sizeof(c));
  if (!read_full(ctl[0], &ok, 1) || ok != 'G') peer_lost();
}

long peer_done(void) {
  char ok;
  long slept;

  if (!read_full(ctl[0], &ok, 1) || ok != 'D' ||
      !read_full(ctl[0], &slept, sizeof(slept)))
    peer_lost();
  return slept;
}

void teardown(void) {
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
