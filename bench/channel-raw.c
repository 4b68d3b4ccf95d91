/* The channel benchmark's raw baselines (bench-channel.c lists them): the
 * words, futexes and rings over a MAP_SHARED anonymous mapping made before
 * the fork, and the pipes and sockets; each kind's cycle in the parent and
 * its end in the peer. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "channel.h"

/* The raw round trips' words, each writer's on a line of its own: a flag's
 * word and its sleeping flag share a line, or (raw_flag2) each has its own,
 * as shmkit's mark and sleep state do. */
struct raw_flag {
  _Atomic uint32_t word;     /* bumped by the waker */
  _Atomic uint32_t sleeping; /* 1: the waiter sleeps on word */
};

struct raw_flag2 {
  _Alignas(64) _Atomic uint32_t word;
  _Alignas(64) _Atomic uint32_t sleeping;
};

struct raw_shared {
  _Alignas(64) _Atomic uint64_t ping; /* cache line: the parent's */
  _Alignas(64) _Atomic uint64_t pong; /* the peer's */
  _Alignas(64) _Atomic uint32_t fup;  /* futex: parent to peer */
  _Alignas(64) _Atomic uint32_t fdown;
  _Alignas(64) struct raw_flag sup; /* spin-then-futex */
  _Alignas(64) struct raw_flag sdown;
  _Alignas(64) struct raw_flag wup; /* the same without spinning */
  _Alignas(64) struct raw_flag wdown;
  _Alignas(64) struct raw_flag2 w2up; /* the same, two lines each */
  _Alignas(64) struct raw_flag2 w2down;
};

static struct raw_shared *raw;
/* The raw spin-then-futex's spins: shmkit's default, as measured here. */
static int raw_spin;

void raw_setup(void) {
  raw = shared_map(sizeof(*raw));
  raw_spin = (int)shmkit_channel_spin_default();
}

uint64_t raw_line_count(void) {
  return atomic_load_explicit(&raw->ping, memory_order_relaxed);
}

static int futex_wait(_Atomic uint32_t *w, uint32_t expected, int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

  return (int)syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT, expected, &ts, NULL,
                      0);
}

static void futex_wake(_Atomic uint32_t *w) {
  syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE, 1, NULL, NULL, 0);
}

void *shared_map(size_t size) {
  void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                 -1, 0);

  if (p == MAP_FAILED) die_errno("mmap");
  return p;
}

/* A ring of `cap` bytes of slots for messages of `size` bytes. */
void ring_make(raw_ring *r, size_t cap, size_t size) {
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

/* Spin-then-futex: the waiter's side, until the word is not `old`, after
 * `spins` pauses. */
static void flag_wait_at(_Atomic uint32_t *word, _Atomic uint32_t *sleeping,
                         uint32_t old, int spins) {
  for (int i = 0; i < spins; i++) {
    if (atomic_load_explicit(word, memory_order_acquire) != old) return;
    cpu_relax();
  }
  for (;;) {
    atomic_store(sleeping, 1);
    if (atomic_load(word) != old) break;
    if (futex_wait(word, old, 1000) != 0 && errno == ETIMEDOUT) peer_check();
    if (atomic_load_explicit(word, memory_order_acquire) != old) break;
  }
  atomic_store_explicit(sleeping, 0, memory_order_relaxed);
}

/* The waker's side: stores, then wakes only a waiter that said it sleeps,
 * and only once (the swap). */
static void flag_set_at(_Atomic uint32_t *word, _Atomic uint32_t *sleeping,
                        uint32_t v) {
  atomic_store(word, v);
  if (atomic_load(sleeping) != 0 && atomic_exchange(sleeping, 0) != 0)
    futex_wake(word);
}

static void flag_wait(struct raw_flag *f, uint32_t old, int spins) {
  flag_wait_at(&f->word, &f->sleeping, old, spins);
}

static void flag_set(struct raw_flag *f, uint32_t v) {
  flag_set_at(&f->word, &f->sleeping, v);
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

void write_full(int fd, const void *p, size_t n) {
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
int read_full(int fd, void *p, size_t n) {
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
/* ---------------------------------------------------------------- cycles */

void cycle_line_rt(void *unused) {
  unsigned spins = 0;
  uint64_t seq = ++cur.count;

  (void)unused;
  /* The counter is the message: the peer sends it back. */
  atomic_store_explicit(&raw->ping, seq, memory_order_release);
  while (atomic_load_explicit(&raw->pong, memory_order_acquire) != seq)
    spin_pause(&spins);
}

void cycle_futex_rt(void *unused) {
  uint32_t v = atomic_load_explicit(&raw->fup, memory_order_relaxed) + 1;

  (void)unused;
  word_set(&raw->fup, v);
  while (word_wait(&raw->fdown, v - 1) != v) continue;
}

/* Both spin-then-futex kinds: raw_spin pauses (sup, sdown), or none (wup,
 * wdown). */
static void flag_rt(struct raw_flag *up, struct raw_flag *down, int spins) {
  uint32_t v = atomic_load_explicit(&up->word, memory_order_relaxed) + 1;

  flag_set(up, v);
  flag_wait(down, v - 1, spins);
}

void cycle_spin_rt(void *unused) {
  (void)unused;
  flag_rt(&raw->sup, &raw->sdown, raw_spin);
}

void cycle_wake_rt(void *unused) {
  (void)unused;
  flag_rt(&raw->wup, &raw->wdown, 0);
}

void cycle_wake2_rt(void *unused) {
  uint32_t v = atomic_load_explicit(&raw->w2up.word, memory_order_relaxed) + 1;

  (void)unused;
  flag_set_at(&raw->w2up.word, &raw->w2up.sleeping, v);
  flag_wait_at(&raw->w2down.word, &raw->w2down.sleeping, v - 1, 0);
}

void cycle_pipe_rt(void *unused) {
  (void)unused;
  write_full(pipe_up[1], msgbuf, 8);
  if (!read_full(pipe_down[0], rcvbuf, 8)) die("pipe: the peer left");
}

void cycle_sock_rt(void *unused) {
  (void)unused;
  write_full(sock[0], msgbuf, 8);
  if (!read_full(sock[0], rcvbuf, 8)) die("socket: the peer left");
}

void cycle_ring_rt(void *unused) {
  (void)unused;
  ring_put(cur.rup, msgbuf, cur.size);
  if (ring_get(cur.rdown, rcvbuf) != cur.size)
    die("raw ring: not the message sent");
}

void cycle_pring_rt(void *unused) {
  (void)unused;
  ring_put(cur.rup, msgbuf, cur.size);
  ring_get_polled(cur.rdown, rcvbuf);
}

void cycle_ring_tp(void *unused) {
  (void)unused;
  ring_put(cur.rup, msgbuf, cur.size);
}

void cycle_ring_zc(void *unused) {
  (void)unused;
  ring_put(cur.rup, NULL, cur.size);
}

void cycle_sock_tp(void *unused) {
  (void)unused;
  write_full(sock[0], msgbuf, cur.size);
}

/* ---------------------------------------------------------------- peer */

void serve_line(enum kind kind, long iters) {
  uint64_t last = atomic_load_explicit(&raw->pong, memory_order_relaxed), v;

  (void)kind;
  for (long i = 0; i < iters; i++) {
    while ((v = atomic_load_explicit(&raw->ping, memory_order_acquire)) == last)
      cpu_relax();
    atomic_store_explicit(&raw->pong, v, memory_order_release);
    last = v;
  }
}

void serve_futex(enum kind kind, long iters) {
  uint32_t last = atomic_load_explicit(&raw->fdown, memory_order_relaxed);

  (void)kind;
  for (long i = 0; i < iters; i++) {
    last = word_wait(&raw->fup, last);
    word_set(&raw->fdown, last);
  }
}

void serve_spin(enum kind kind, long iters) {
  int spin = kind == K_SPIN_RT;
  struct raw_flag *up = spin ? &raw->sup : &raw->wup;
  struct raw_flag *down = spin ? &raw->sdown : &raw->wdown;
  uint32_t last = atomic_load_explicit(&down->word, memory_order_relaxed);

  for (long i = 0; i < iters; i++) {
    flag_wait(up, last, spin ? raw_spin : 0);
    last = atomic_load_explicit(&up->word, memory_order_acquire);
    flag_set(down, last);
  }
}

void serve_wake2(enum kind kind, long iters) {
  struct raw_flag2 *up = &raw->w2up, *down = &raw->w2down;
  uint32_t last = atomic_load_explicit(&down->word, memory_order_relaxed);

  (void)kind;
  for (long i = 0; i < iters; i++) {
    flag_wait_at(&up->word, &up->sleeping, last, 0);
    last = atomic_load_explicit(&up->word, memory_order_acquire);
    flag_set_at(&down->word, &down->sleeping, last);
  }
}

static void serve_fd_rt(int in, int out, long iters) {
  for (long i = 0; i < iters; i++) {
    if (!read_full(in, rcvbuf, 8)) _exit(0);
    write_full(out, rcvbuf, 8);
  }
}

void serve_pipe_rt(enum kind kind, long iters) {
  (void)kind;
  serve_fd_rt(pipe_up[0], pipe_down[1], iters);
}

void serve_sock_rt(enum kind kind, long iters) {
  (void)kind;
  serve_fd_rt(sock[1], sock[1], iters);
}

void serve_ring(enum kind kind, long iters) {
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

void serve_sock_tp(enum kind kind, long iters) {
  unsigned long long left = (unsigned long long)iters * cur.size;

  (void)kind;
  while (left > 0) {
    size_t n = left < BUF_SIZE ? (size_t)left : BUF_SIZE;
    ssize_t r = read(sock[1], rcvbuf, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) _exit(r == 0 ? 0 : 1);
    left -= (unsigned long long)r;
  }
}
