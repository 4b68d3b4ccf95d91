/* Channels within one process: the ring's rules, each side's arguments,
 * wrap-around at every offset, full and empty rings, zero-copy and copy
 * mixed, and a closed peer. Other processes: test-channel-proc.c. */
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "../src/internal.h"
#include "runner.h"
#include "task.h"

/* A channel on a new pair: *tx sends, *rx receives. */
static void channel_pair(shmkit_channel **tx, shmkit_channel **rx,
                         size_t capacity, size_t max_message) {
  shmkit_conn *a, *b;

  ASSERT_OK(shmkit_conn_pair(&a, &b));
  ASSERT_OK(shmkit_channel_create(tx, a, SHMKIT_CHANNEL_SEND, capacity,
                                  max_message, 5000));
  ASSERT_OK(shmkit_channel_attach(rx, b, 5000));
}

/* Fills buf with bytes that depend on the message's number. */
static void fill(unsigned char *buf, size_t n, unsigned seq) {
  for (size_t i = 0; i < n; i++) buf[i] = (unsigned char)(seq * 31 + i);
}

static void expect_fill(const unsigned char *buf, size_t n, unsigned seq) {
  for (size_t i = 0; i < n; i++)
    if (buf[i] != (unsigned char)(seq * 31 + i))
      FAIL("message %u: byte %lu is %u", seq, (unsigned long)i, buf[i]);
}

TEST_IMPL(channel_send_recv) {
  shmkit_channel *tx, *rx;
  char buf[64];
  size_t n;

  channel_pair(&tx, &rx, 4096, 0);
  ASSERT_ERR(shmkit_channel_recv(rx, buf, sizeof(buf), &n, 0),
             SHMKIT_ETIMEDOUT);
  ASSERT_OK(shmkit_channel_send(tx, "hello", 5, 0));
  ASSERT_OK(shmkit_channel_send(tx, "world!", 6, 0));
  ASSERT_OK(shmkit_channel_recv(rx, buf, sizeof(buf), &n, 0));
  ASSERT_EQ(n, 5);
  ASSERT(memcmp(buf, "hello", 5) == 0);
  /* Too small a buffer: the size, and the message stays. */
  ASSERT_ERR(shmkit_channel_recv(rx, buf, 3, &n, 0), SHMKIT_E2BIG);
  ASSERT_EQ(n, 6);
  ASSERT_OK(shmkit_channel_recv(rx, buf, sizeof(buf), &n, 0));
  ASSERT_EQ(n, 6);
  ASSERT(memcmp(buf, "world!", 6) == 0);
  ASSERT_ERR(shmkit_channel_recv(rx, buf, sizeof(buf), &n, 10),
             SHMKIT_ETIMEDOUT);
  shmkit_channel_close(tx);
  ASSERT_ERR(shmkit_channel_recv(rx, buf, sizeof(buf), &n, 0), SHMKIT_ECLOSED);
  ASSERT_ERR(shmkit_channel_recv(rx, buf, sizeof(buf), &n, -1), SHMKIT_ECLOSED);
  shmkit_channel_close(rx);
  return 0;
}

TEST_IMPL(channel_bad_arguments) {
  shmkit_channel *tx, *rx, *x = (shmkit_channel *)&x;
  shmkit_conn *a, *b;
  void *p;
  const void *q;
  size_t n;
  char buf[8];

  ASSERT_OK(shmkit_conn_pair(&a, &b));
  ASSERT_ERR(shmkit_channel_create(&x, a, 3, 4096, 0, 0), SHMKIT_EINVAL);
  ASSERT_NULL(x);
  ASSERT_ERR(shmkit_channel_create(&x, NULL, SHMKIT_CHANNEL_SEND, 4096, 0, 0),
             SHMKIT_EINVAL);
  ASSERT_ERR(shmkit_channel_create(NULL, a, SHMKIT_CHANNEL_SEND, 4096, 0, 0),
             SHMKIT_EINVAL);
  ASSERT_ERR(shmkit_channel_create(&x, a, SHMKIT_CHANNEL_SEND, 4096, 1025, 0),
             SHMKIT_E2BIG);
  ASSERT_ERR(shmkit_channel_create(&x, a, SHMKIT_CHANNEL_SEND,
                                   (size_t)SHMKIT_CHANNEL_CAPACITY_MAX + 1, 0,
                                   0),
             SHMKIT_E2BIG);
  ASSERT_ERR(shmkit_channel_attach(&x, NULL, 0), SHMKIT_EINVAL);
  {
    char name[32];
    shmkit_conn *l;
    ASSERT_OK(shmkit_listen(&l, test_name(name, "chl")));
    ASSERT_ERR(shmkit_channel_create(&x, l, SHMKIT_CHANNEL_SEND, 4096, 0, 0),
               SHMKIT_EINVAL);
    ASSERT_ERR(shmkit_channel_attach(&x, l, 0), SHMKIT_EINVAL);
    shmkit_conn_close(l);
  }
  ASSERT_ERR(shmkit_channel_attach(&x, b, 0), SHMKIT_ETIMEDOUT);
  /* A capacity under the least is raised to it; max 0 is a quarter. */
  ASSERT_OK(shmkit_channel_create(&tx, a, SHMKIT_CHANNEL_RECV, 1, 0, 5000));
  ASSERT_OK(shmkit_channel_attach(&rx, b, 5000));
  ASSERT_EQ(shmkit_channel_max_message(tx), 1024);
  ASSERT_EQ(shmkit_channel_max_message(rx), 1024);
  ASSERT_EQ(shmkit_channel_max_message(NULL), 0);
  /* Here the creator receives and the other side sends. */
  ASSERT_ERR(shmkit_channel_send(tx, "x", 1, 0), SHMKIT_EINVAL);
  ASSERT_ERR(shmkit_channel_recv(rx, buf, sizeof(buf), &n, 0), SHMKIT_EINVAL);
  ASSERT_ERR(shmkit_channel_send(rx, "x", 0, 0), SHMKIT_EINVAL);
  ASSERT_ERR(shmkit_channel_send(rx, "x", 1, -2), SHMKIT_EINVAL);
  ASSERT_ERR(shmkit_channel_recv(tx, buf, sizeof(buf), &n, -2), SHMKIT_EINVAL);
  ASSERT_ERR(shmkit_channel_peek(tx, &q, &n, -2), SHMKIT_EINVAL);
  ASSERT_ERR(shmkit_channel_reserve(rx, 1025, &p, 0), SHMKIT_E2BIG);
  ASSERT_NULL(p);
  ASSERT_ERR(shmkit_channel_commit(rx, 1, 0), SHMKIT_EINVAL); /* none open */
  ASSERT_OK(shmkit_channel_reserve(rx, 1024, &p, 0));
  ASSERT_ERR(shmkit_channel_reserve(rx, 8, &p, 0), SHMKIT_EINVAL);
  ASSERT_ERR(shmkit_channel_commit(rx, 1025, 0), SHMKIT_EINVAL);
  ASSERT_ERR(shmkit_channel_commit(rx, 0, 0), SHMKIT_EINVAL);
  ASSERT_ERR(shmkit_channel_commit(rx, 1, 4), SHMKIT_EINVAL);
  ASSERT_OK(shmkit_channel_commit(rx, 1, 0));
  ASSERT_ERR(shmkit_channel_peek(tx, NULL, &n, 0), SHMKIT_EINVAL);
  ASSERT_OK(shmkit_channel_peek(tx, &q, &n, 0));
  ASSERT_EQ(n, 1);
  ASSERT_EQ((uintptr_t)q % 8, 0);
  ASSERT_OK(shmkit_channel_release(tx));
  ASSERT_ERR(shmkit_channel_release(NULL), SHMKIT_EINVAL);
  shmkit_channel_set_spin(NULL, 0);
  shmkit_channel_close(NULL);
  shmkit_channel_close(tx);
  shmkit_channel_close(rx);
  return 0;
}

/* A message of every size from 1 to the most, through a small ring, so
 * that records start at every offset and wrap with padding of every length;
 * each arrives whole, in order, by copy and in place alternately. */
TEST_IMPL(channel_wrap_every_offset) {
  enum { CAP = 4096, MAX = CAP / 4 };
  shmkit_channel *tx, *rx;
  unsigned char *out = malloc(MAX), *in = malloc(MAX);
  unsigned seq = 0;

  ASSERT(out != NULL && in != NULL);
  channel_pair(&tx, &rx, CAP, MAX);
  for (size_t step = 1; step <= 9; step += 8)
    for (size_t size = 1; size <= MAX; size += step, seq++) {
      size_t n;
      fill(out, size, seq);
      if (seq % 2) {
        void *p;
        ASSERT_OK(shmkit_channel_reserve(tx, size, &p, 0));
        ASSERT_EQ((uintptr_t)p % 8, 0);
        memcpy(p, out, size);
        ASSERT_OK(shmkit_channel_commit(tx, size, 0));
      } else {
        ASSERT_OK(shmkit_channel_send(tx, out, size, 0));
      }
      if (seq % 3) {
        const void *q;
        ASSERT_OK(shmkit_channel_peek(rx, &q, &n, 0));
        ASSERT_EQ(n, size);
        expect_fill(q, n, seq);
        ASSERT_OK(shmkit_channel_release(rx));
      } else {
        ASSERT_OK(shmkit_channel_recv(rx, in, MAX, &n, 0));
        ASSERT_EQ(n, size);
        expect_fill(in, n, seq);
      }
    }
  shmkit_channel_close(tx);
  shmkit_channel_close(rx);
  free(out);
  free(in);
  return 0;
}

/* A byte of large message `seq` at `i`: no period of a line, a page or
 * a power of two, so that a piece copied from the wrong place shows. */
static unsigned char large_byte(unsigned seq, size_t i) {
  uint64_t h = ((uint64_t)seq << 32 | i) * 0x9e3779b97f4a7c15u;
  return (unsigned char)(h >> 56);
}

/* Large messages by copy, of sizes that end off a cache line, first by
 * memcpy() alone, then around the caches alone, then as the sender
 * measures (enough of them that it times both copies: the last two of
 * each round of 256 messages of a class of sizes): each arrives whole, by
 * recv() (a page at a time) and by peek(). */
TEST_IMPL(channel_large_copies) {
  enum { CAP = 1 << 20, MAX = CAP / 4, MIN = 65536, N = 3 * 256 };
  shmkit_channel *tx, *rx;
  unsigned char *out = malloc(MAX), *in = malloc(MAX);

  ASSERT(out != NULL && in != NULL);
  channel_pair(&tx, &rx, CAP, MAX);
  for (unsigned seq = 0; seq < 3 * N; seq++) {
    /* A third 64 KiB to 128 KiB (a class of sizes), the rest larger. */
    size_t size = seq % 3 ? 2 * MIN + (seq * 4099u + 13) % (MAX - 2 * MIN)
                          : MIN + (seq * 4099u + 13) % MIN;
    size_t n;
    const void *q;
    const unsigned char *got;

    if (seq % N == 0) shmkit__channel_copy_way(tx, (int)(seq / N + 1) % 3);
    for (size_t i = 0; i < size; i++) out[i] = large_byte(seq, i);
    ASSERT_OK(shmkit_channel_send(tx, out, size, 0));
    if (seq % 2) {
      ASSERT_OK(shmkit_channel_peek(rx, &q, &n, 0));
      got = q;
    } else {
      ASSERT_OK(shmkit_channel_recv(rx, in, MAX, &n, 0));
      got = in;
    }
    ASSERT_EQ(n, size);
    for (size_t i = 0; i < n; i++)
      if (got[i] != large_byte(seq, i))
        FAIL("message %u of %lu bytes: byte %lu is %u", seq, (unsigned long)n,
             (unsigned long)i, got[i]);
    if (seq % 2) ASSERT_OK(shmkit_channel_release(rx));
  }
  shmkit_channel_close(tx);
  shmkit_channel_close(rx);
  free(out);
  free(in);
  return 0;
}

/* The copy around the caches alone, at every alignment of its ends. */
TEST_IMPL(channel_copy_around) {
  enum { SIZE = 4096 + 256 };
  static const size_t sizes[] = {0, 1, 15, 16, 17, 63, 64, 65, 127, 4096 + 77};
  unsigned char *src = malloc(SIZE), *dst = malloc(SIZE);

  ASSERT(src != NULL && dst != NULL);
  for (size_t i = 0; i < SIZE; i++) src[i] = large_byte(7, i);
  for (size_t at = 0; at < 16; at++)
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
      size_t n = sizes[k];
      int err;

      memset(dst, 0xee, SIZE);
      err = shmkit__cpu_copy_around(dst + 64 + at, src + 3, n);
#if defined(__SSE2__) || defined(_M_X64)
      ASSERT_OK(err); /* x86: SSE2 has the stores */
#endif
      if (err == SHMKIT_ENOTSUP) n = 0; /* nothing copied */
      ASSERT_EQ(err == 0 || err == SHMKIT_ENOTSUP, 1);
      for (size_t i = 0; i < SIZE; i++) {
        int inside = i >= 64 + at && i < 64 + at + n;
        unsigned char want = inside ? src[3 + i - (64 + at)] : 0xee;
        if (dst[i] != want)
          FAIL("%lu bytes to offset %lu: byte %lu is %u, not %u",
               (unsigned long)n, (unsigned long)at, (unsigned long)i, dst[i],
               want);
      }
    }
  free(src);
  free(dst);
  return 0;
}

/* A full ring refuses more until the receiver gives room back; an empty
 * one has nothing; both within the timeout. Several commits published
 * together arrive together. */
TEST_IMPL(channel_full_and_empty) {
  shmkit_channel *tx, *rx;
  unsigned char buf[1024];
  const void *q[8];
  size_t n, sent = 0;
  void *p;

  channel_pair(&tx, &rx, 4096, 1024);
  memset(buf, 7, sizeof(buf));
  while (shmkit_channel_send(tx, buf, 1000, 0) == 0) sent++;
  ASSERT_EQ(sent, 4); /* 4 x (16 + 1008) of 4096 */
  ASSERT_ERR(shmkit_channel_send(tx, buf, 1000, 20), SHMKIT_ETIMEDOUT);
  ASSERT_ERR(shmkit_channel_reserve(tx, 100, &p, 0), SHMKIT_ETIMEDOUT);
  /* Peeking gives no room back; releasing does. */
  ASSERT_OK(shmkit_channel_peek(rx, &q[0], &n, 0));
  ASSERT_OK(shmkit_channel_peek(rx, &q[1], &n, 0));
  ASSERT_ERR(shmkit_channel_send(tx, buf, 1000, 0), SHMKIT_ETIMEDOUT);
  ASSERT_OK(shmkit_channel_release(rx));
  ASSERT_OK(shmkit_channel_send(tx, buf, 1000, 0));
  ASSERT_OK(shmkit_channel_send(tx, buf, 1000, 0));
  /* A receive that waits gives back what was peeked at first: the sender
   * may need that room for the very message waited for. */
  for (int i = 0; i < 4; i++) ASSERT_OK(shmkit_channel_peek(rx, &q[0], &n, 0));
  ASSERT_ERR(shmkit_channel_recv(rx, buf, 1024, &n, 10), SHMKIT_ETIMEDOUT);
  ASSERT_OK(shmkit_channel_send(tx, buf, 1000, 0));
  ASSERT_OK(shmkit_channel_recv(rx, buf, 1024, &n, 0));
  ASSERT_ERR(shmkit_channel_recv(rx, buf, 1024, &n, 0), SHMKIT_ETIMEDOUT);
  /* Batched: nothing is seen until the commit without MORE. */
  for (unsigned i = 0; i < 3; i++) {
    ASSERT_OK(shmkit_channel_reserve(tx, 16, &p, 0));
    memset(p, (int)i, 16);
    ASSERT_OK(shmkit_channel_commit(tx, 16, SHMKIT_CHANNEL_MORE));
    ASSERT_ERR(shmkit_channel_peek(rx, &q[0], &n, 0), SHMKIT_ETIMEDOUT);
  }
  ASSERT_OK(shmkit_channel_flush(tx));
  for (unsigned i = 0; i < 3; i++) {
    ASSERT_OK(shmkit_channel_peek(rx, &q[i], &n, 0));
    ASSERT_EQ(((const unsigned char *)q[i])[15], i);
  }
  ASSERT_OK(shmkit_channel_release(rx));
  shmkit_channel_close(tx);
  shmkit_channel_close(rx);
  return 0;
}

/* A receiver gives room back a quarter of the ring at a time, but at once
 * to a sender that sleeps for it: one message of 500 bytes taken wakes the
 * sender waiting to send the eighth. */
struct blocked {
  shmkit_channel *tx;
  int err;
};

static void send_blocked(void *arg) {
  static unsigned char buf[500];
  struct blocked *b = arg;

  b->err = shmkit_channel_send(b->tx, buf, sizeof(buf), 5000);
}

TEST_IMPL(channel_sleeping_sender_woken) {
  static unsigned char buf[500];
  struct blocked b;
  _Atomic uint32_t *state;
  shmkit_channel *rx;
  unsigned char *p;
  test_thread t;
  size_t n;
  int sent = 1;

  channel_pair(&b.tx, &rx, 4096, 1024);
  /* The first record is at the ring's start: 16 bytes past it is the
   * payload, and the ring is at 256; the sender's state is at 196. */
  ASSERT_OK(shmkit_channel_reserve(b.tx, sizeof(buf), (void **)&p, 0));
  ASSERT_OK(shmkit_channel_commit(b.tx, sizeof(buf), 0));
  state = (_Atomic uint32_t *)(void *)(p - 16 - 256 + 196);
  while (shmkit_channel_send(b.tx, buf, sizeof(buf), 0) == 0) sent++;
  ASSERT_EQ(sent, 7); /* 7 x (16 + 512) of 4096 */
  shmkit_channel_set_spin(b.tx, 0);
  test_thread_start(&t, send_blocked, &b);
  for (int ms = 0; atomic_load(state) == 0; ms++) {
    if (ms == 5000) FAIL("the sender did not say it sleeps in 5 s");
    test_sleep_ms(1);
  }
  ASSERT_OK(shmkit_channel_recv(rx, buf, sizeof(buf), &n, 0));
  test_thread_join(&t);
  ASSERT_OK(b.err);
  shmkit_channel_close(b.tx);
  shmkit_channel_close(rx);
  return 0;
}

/* Padding published alone (a reservation flushed before its commit): a
 * receiver skips it and waits for the record after it, for as long as it
 * was told, rather than give up at once. */
struct waiter {
  shmkit_channel *rx;
  size_t n;
  int err;
};

static void recv_waiting(void *arg) {
  static unsigned char buf[1024];
  struct waiter *w = arg;

  w->err = shmkit_channel_recv(w->rx, buf, sizeof(buf), &w->n, 5000);
}

TEST_IMPL(channel_recv_waits_past_padding) {
  static unsigned char buf[500];
  _Atomic uint32_t *state;
  struct waiter w;
  shmkit_channel *tx;
  unsigned char *p;
  test_thread t;
  size_t n;

  channel_pair(&tx, &w.rx, 4096, 1024);
  /* The receiver's state is at 192, the ring at 256, a payload 16 bytes
   * past its record. */
  ASSERT_OK(shmkit_channel_reserve(tx, sizeof(buf), (void **)&p, 0));
  ASSERT_OK(shmkit_channel_commit(tx, sizeof(buf), 0));
  state = (_Atomic uint32_t *)(void *)(p - 16 - 256 + 192);
  for (int i = 0; i < 6; i++)
    ASSERT_OK(shmkit_channel_send(tx, buf, sizeof(buf), 0));
  for (int i = 0; i < 7; i++)
    ASSERT_OK(shmkit_channel_recv(w.rx, buf, sizeof(buf), &n, 0));
  /* 7 x 528 bytes taken: the next does not fit in the 400 left before
   * the ring's end, so padding goes there first. */
  ASSERT_OK(shmkit_channel_reserve(tx, sizeof(buf), (void **)&p, 0));
  ASSERT_OK(shmkit_channel_flush(tx));
  shmkit_channel_set_spin(w.rx, 0);
  test_thread_start(&t, recv_waiting, &w);
  for (int ms = 0; atomic_load(state) == 0; ms++) {
    if (ms == 5000) FAIL("the receiver did not wait past the padding");
    test_sleep_ms(1);
  }
  memset(p, 7, sizeof(buf));
  ASSERT_OK(shmkit_channel_commit(tx, sizeof(buf), 0));
  test_thread_join(&t);
  ASSERT_OK(w.err);
  ASSERT_EQ(w.n, sizeof(buf));
  shmkit_channel_close(tx);
  shmkit_channel_close(w.rx);
  return 0;
}

/* The default spin: a count measured once (measured again, it would come
 * out a few looks apart); a receiver with it, from the start or set back
 * to it, spins and then sleeps (the value stored as a count would
 * busy-poll for a minute). */
TEST_IMPL(channel_spin_default) {
  unsigned looks = shmkit_channel_spin_default();
  unsigned char buf[8];
  _Atomic uint32_t *state;
  struct waiter w;
  shmkit_channel *tx;
  unsigned char *p;
  test_thread t;
  size_t n;

  printf("default spin: %u looks\n", looks);
  ASSERT_EQ(shmkit_channel_spin_default(), looks);
  ASSERT(looks >= 64 && looks <= 1u << 20);
  /* 512 looks timed: 40 µs of them; bounded either way; a clock that saw
   * nothing, 20 ns a look. */
  ASSERT_EQ(shmkit__channel_spin_looks(10240), 2000u);
  ASSERT_EQ(shmkit__channel_spin_looks(1), 1u << 20);
  ASSERT_EQ(shmkit__channel_spin_looks(INT64_MAX / 2), 64u);
  ASSERT_EQ(shmkit__channel_spin_looks(0), 2000u);
  ASSERT_EQ(shmkit__channel_spin_looks(-5), 2000u);
  for (int round = 0; round < 2; round++) {
    channel_pair(&tx, &w.rx, 4096, 1024);
    /* The receiver's state is at 192, the ring at 256, a payload 16 bytes
     * past its record. */
    ASSERT_OK(shmkit_channel_reserve(tx, 8, (void **)&p, 0));
    ASSERT_OK(shmkit_channel_commit(tx, 8, 0));
    state = (_Atomic uint32_t *)(void *)(p - 16 - 256 + 192);
    ASSERT_OK(shmkit_channel_recv(w.rx, buf, sizeof(buf), &n, 0));
    if (round == 1) {
      shmkit_channel_set_spin(w.rx, UINT_MAX);
      shmkit_channel_set_spin(w.rx, SHMKIT_CHANNEL_SPIN_DEFAULT);
    }
    test_thread_start(&t, recv_waiting, &w);
    for (int ms = 0; atomic_load(state) == 0; ms++) {
      if (ms == 5000) FAIL("round %d: the receiver did not sleep", round);
      test_sleep_ms(1);
    }
    ASSERT_OK(shmkit_channel_send(tx, "x", 1, 0));
    test_thread_join(&t);
    ASSERT_OK(w.err);
    ASSERT_EQ(w.n, 1);
    shmkit_channel_close(tx);
    shmkit_channel_close(w.rx);
  }
  return 0;
}

/* The receiver closes: the sender learns it at its next call. */
TEST_IMPL(channel_receiver_closes) {
  shmkit_channel *tx, *rx;
  void *p;

  channel_pair(&tx, &rx, 4096, 0);
  ASSERT_OK(shmkit_channel_send(tx, "a", 1, 0));
  shmkit_channel_close(rx);
  ASSERT_ERR(shmkit_channel_send(tx, "b", 1, 0), SHMKIT_ECLOSED);
  ASSERT_ERR(shmkit_channel_reserve(tx, 1, &p, -1), SHMKIT_ECLOSED);
  shmkit_channel_close(tx);
  return 0;
}

/* Waiting elsewhere: armed on an empty ring, the receiver's handle is not
 * ready; a message makes it ready; so does the sender's end. The sender's
 * handle, armed on a full ring, becomes ready when room comes back. The
 * handle is what an event loop waits on: poll() on POSIX, a wait on an
 * event on Windows. */
TEST_IMPL(channel_handle_ready) {
  shmkit_channel *tx, *rx;
  unsigned char buf[1024];
  shmkit_handle h;
  size_t n;

  channel_pair(&tx, &rx, 4096, 1024);
  h = shmkit_channel_handle(rx);
  ASSERT(h != SHMKIT_INVALID_HANDLE);
  ASSERT_EQ(shmkit_channel_arm(rx), 0);
  ASSERT_EQ(shmkit_channel_handle(rx), h);
  ASSERT_EQ(test_handle_ready(h, 0), 0);
  ASSERT_OK(shmkit_channel_send(tx, "a", 1, 0));
  ASSERT_EQ(test_handle_ready(h, 5000), 1);
  /* Ready now: arm says so instead of waiting. */
  ASSERT_EQ(shmkit_channel_arm(rx), 1);
  ASSERT_OK(shmkit_channel_recv(rx, buf, sizeof(buf), &n, 0));
  ASSERT_EQ(shmkit_channel_arm(rx), 0);
  ASSERT_EQ(test_handle_ready(h, 0), 0);
  /* The sender: a full ring, armed, ready once room is given back. */
  memset(buf, 1, sizeof(buf));
  while (shmkit_channel_send(tx, buf, 1000, 0) == 0) continue;
  ASSERT_EQ(shmkit_channel_arm(tx), 0);
  ASSERT_EQ(test_handle_ready(shmkit_channel_handle(tx), 0), 0);
  /* (Room for one more message of the most bytes, with the padding to
   * the ring's end it needs here, takes two given back.) */
  ASSERT_OK(shmkit_channel_recv(rx, buf, sizeof(buf), &n, 0));
  ASSERT_OK(shmkit_channel_recv(rx, buf, sizeof(buf), &n, 0));
  ASSERT_EQ(test_handle_ready(shmkit_channel_handle(tx), 5000), 1);
  ASSERT_EQ(shmkit_channel_arm(tx), 1);
  /* The end: the receiver, armed on messages it has not read, is ready at
   * once; once they are read, arm says the peer is gone (ready). */
  shmkit_channel_close(tx);
  ASSERT_EQ(test_handle_ready(h, 5000), 1);
  while (shmkit_channel_recv(rx, buf, sizeof(buf), &n, 0) == 0) continue;
  ASSERT_ERR(shmkit_channel_recv(rx, buf, sizeof(buf), &n, 0), SHMKIT_ECLOSED);
  ASSERT_EQ(shmkit_channel_arm(rx), 1);
  shmkit_channel_close(rx);
  return 0;
}

/* Messages peeked at hold their room until released, even when the
 * receiver arms its handle in between (arm() gave them back, and the
 * sender wrote over bytes the caller still read); what was received goes
 * back before arm() or a peek waits. */
TEST_IMPL(channel_arm_keeps_peeked) {
  unsigned char msg[1000];
  const void *p[3];
  _Atomic uint64_t *tail;
  shmkit_channel *tx, *rx;
  size_t n;

  channel_pair(&tx, &rx, 4096, 1024);
  /* Three records of 1024 bytes of the ring's four. */
  for (int i = 0; i < 3; i++) {
    memset(msg, 'A' + i, sizeof(msg));
    ASSERT_OK(shmkit_channel_send(tx, msg, sizeof(msg), 0));
  }
  for (int i = 0; i < 3; i++) {
    ASSERT_OK(shmkit_channel_peek(rx, &p[i], &n, 0));
    ASSERT_EQ(n, sizeof(msg));
  }
  ASSERT_EQ(shmkit_channel_arm(rx), 0); /* nothing there: it waits */
  /* Room for one more, the last quarter; not for a second. */
  memset(msg, 'X', sizeof(msg));
  ASSERT_OK(shmkit_channel_send(tx, msg, sizeof(msg), 0));
  ASSERT_ERR(shmkit_channel_send(tx, msg, sizeof(msg), 0), SHMKIT_ETIMEDOUT);
  for (int i = 0; i < 3; i++) {
    ASSERT_EQ(((const unsigned char *)p[i])[0], 'A' + i);
    ASSERT_EQ(((const unsigned char *)p[i])[sizeof(msg) - 1], 'A' + i);
  }
  ASSERT_OK(shmkit_channel_release(rx));
  ASSERT_OK(shmkit_channel_send(tx, msg, sizeof(msg), 0));
  shmkit_channel_close(tx);
  shmkit_channel_close(rx);

  /* One message received (its 128 bytes held back lazily), one peeked at:
   * a peek that must wait, and arm(), give back the first, not the
   * second. The tail is at 128, the ring at 256. */
  channel_pair(&tx, &rx, 4096, 1024);
  ASSERT_OK(shmkit_channel_send(tx, msg, 100, 0));
  ASSERT_OK(shmkit_channel_recv(rx, msg, sizeof(msg), &n, 0));
  ASSERT_OK(shmkit_channel_send(tx, msg, 100, 0));
  ASSERT_OK(shmkit_channel_peek(rx, &p[0], &n, 0));
  tail = (_Atomic uint64_t *)(void *)((unsigned char *)p[0] - 16 - 128 - 256 +
                                      128);
  ASSERT_EQ(atomic_load(tail), 0u);
  ASSERT_ERR(shmkit_channel_peek(rx, &p[1], &n, 0), SHMKIT_ETIMEDOUT);
  ASSERT_EQ(atomic_load(tail), 128u);
  ASSERT_OK(shmkit_channel_send(tx, msg, 100, 0));
  ASSERT_OK(shmkit_channel_recv(rx, msg, sizeof(msg), &n, 0)); /* releases */
  ASSERT_EQ(shmkit_channel_arm(rx), 0);
  ASSERT_EQ(atomic_load(tail), 384u);
  shmkit_channel_close(tx);
  shmkit_channel_close(rx);
  return 0;
}
