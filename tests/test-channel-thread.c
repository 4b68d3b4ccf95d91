/* Two threads over one channel in one process, the way ThreadSanitizer can
 * watch both sides (.ci/run builds it so: run_config thread): messages of
 * random sizes, each checked byte for byte, sent by copy, in place and in
 * batches, taken by copy and in place, with spin 0 (every wait sleeps and
 * is woken) and with the default spin.
 *
 * ThreadSanitizer tells memory apart by its address, and shmkit's two
 * sides in one process each map the region at an address of their own: it
 * cannot see how they order their accesses to the ring. So each side also
 * runs against the raw peer (chan-raw.h) in the other thread, working
 * through that side's own mapping, found from the first pointer it gives
 * into its ring: there a store of a mark or the tail that does not release,
 * or a load that does not acquire, is a race it reports. */
#include <stdlib.h>

#include "../src/internal.h"
#include "chan-raw.h"
#include "task.h"

/* A sanitizer's build costs ten times as much a message, Wine a wake-up. */
#if SHMKIT_TEST_SANITIZED || defined(_WIN32)
#  define MESSAGES 20000
#  define LARGE    400
#else
#  define MESSAGES 500000 /* twice: a million messages in all */
#  define LARGE    2000   /* of up to BUF bytes */
#endif
#define WAIT_MS 30000        /* a hang detector, far above any wait here */
#define BUF     (256 * 1024) /* the largest message */

typedef struct run {
  shmkit_channel *tx, *rx;
  raw_chan raw; /* when one side is the raw peer */
  uint64_t seed;
  size_t max;
  uint32_t sent, taken, count; /* the first to send, to take; the end */
  unsigned long peeked, batched;
} run;

static uint64_t next(uint64_t *s) { /* splitmix64 */
  uint64_t z = (*s += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

/* Message seq: 1 to max bytes, which depend on seq. */
static size_t size_of(const run *r, uint32_t seq) {
  uint64_t s = r->seed ^ seq;
  return 1 + (size_t)(next(&s) % r->max);
}

static void fill(unsigned char *p, size_t n, uint32_t seq) {
  for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(seq * 131 + i * 7);
}

static void check(const run *r, const unsigned char *p, size_t n,
                  uint32_t seq) {
  if (n != size_of(r, seq))
    FAIL("message %u: %lu bytes, not %lu", seq, (unsigned long)n,
         (unsigned long)size_of(r, seq));
  for (size_t i = 0; i < n; i++)
    if (p[i] != (unsigned char)(seq * 131 + i * 7))
      FAIL("message %u: byte %lu is %u", seq, (unsigned long)i, p[i]);
}

/* ---- shmkit's sides */

/* Receives by copy, or in place, giving back what it peeked at now, or
 * some messages later, or before it must wait (the sender may be waiting
 * for that room); then the sender's end. */
static void receiver(void *arg) {
  static unsigned char buf[BUF];
  run *r = arg;
  uint64_t s = r->seed ^ 0x7777;
  const void *q;
  size_t n;

  for (uint32_t seq = r->taken; seq < r->count; seq++) {
    unsigned how = (unsigned)(next(&s) % 3);
    if (how == 0) {
      int err = shmkit_channel_recv(r->rx, buf, sizeof(buf), &n, 0);
      if (err == SHMKIT_ETIMEDOUT) {
        ASSERT_OK(shmkit_channel_release(r->rx));
        err = shmkit_channel_recv(r->rx, buf, sizeof(buf), &n, WAIT_MS);
      }
      ASSERT_OK(err);
      check(r, buf, n, seq);
      continue;
    }
    if (shmkit_channel_peek(r->rx, &q, &n, 0) == SHMKIT_ETIMEDOUT) {
      ASSERT_OK(shmkit_channel_release(r->rx));
      ASSERT_OK(shmkit_channel_peek(r->rx, &q, &n, WAIT_MS));
    }
    check(r, q, n, seq);
    r->peeked++;
    if (how == 1) ASSERT_OK(shmkit_channel_release(r->rx));
  }
  ASSERT_ERR(shmkit_channel_recv(r->rx, buf, sizeof(buf), &n, WAIT_MS),
             SHMKIT_ECLOSED);
}

/* Sends by copy, or in place, alone or kept to publish with the next ones
 * (then flushed, or published by a commit without MORE). */
static void sender(run *r) {
  static unsigned char buf[BUF];
  uint64_t s = r->seed ^ 0x3333;
  int kept = 0;

  for (uint32_t seq = r->sent; seq < r->count; seq++) {
    size_t n = size_of(r, seq);
    unsigned how = (unsigned)(next(&s) % 4);
    void *p;

    if (how == 0) {
      fill(buf, n, seq);
      ASSERT_OK(shmkit_channel_send(r->tx, buf, n, WAIT_MS));
      kept = 0;
      continue;
    }
    ASSERT_OK(shmkit_channel_reserve(r->tx, n, &p, WAIT_MS));
    fill(p, n, seq);
    if (how == 3 && kept < 8) {
      ASSERT_OK(shmkit_channel_commit(r->tx, n, SHMKIT_CHANNEL_MORE));
      kept++;
      r->batched++;
      continue;
    }
    ASSERT_OK(shmkit_channel_commit(r->tx, n, 0));
    kept = 0;
    if (how == 2) ASSERT_OK(shmkit_channel_flush(r->tx)); /* nothing kept */
  }
  ASSERT_OK(shmkit_channel_flush(r->tx));
}

/* ---- the raw peer's sides, on shmkit's mapping */

static void raw_receiver(void *arg) {
  static unsigned char buf[BUF];
  run *r = arg;
  uint64_t s = r->seed ^ 0x5555;
  size_t n;

  for (uint32_t seq = r->taken; seq < r->count; seq++) {
    if (raw_take(&r->raw, buf, sizeof(buf), &n) == 0) {
      raw_release(&r->raw);
      ASSERT_EQ(raw_take_wait(&r->raw, buf, sizeof(buf), &n, WAIT_MS), 1);
    }
    check(r, buf, n, seq);
    if (next(&s) % 4 == 0) raw_release(&r->raw);
  }
  /* Nothing after: the sender's close unmaps what this side reads. */
  raw_release(&r->raw);
}

static void raw_sender(void *arg) {
  static unsigned char buf[BUF];
  run *r = arg;
  uint64_t s = r->seed ^ 0x9999;

  for (uint32_t seq = r->sent; seq < r->count; seq++) {
    size_t n = size_of(r, seq);
    fill(buf, n, seq);
    if (raw_put(&r->raw, buf, (uint32_t)n) != 0) {
      raw_publish(&r->raw); /* what waits must not wait on us */
      ASSERT_EQ(raw_put_wait(&r->raw, buf, (uint32_t)n, WAIT_MS), 0);
    }
    if (next(&s) % 4 != 0) raw_publish(&r->raw);
  }
  raw_publish(&r->raw);
  raw_close(&r->raw);
}

/* ---- the runs */

static void print_run(const char *what, int spin, const run *r, int64_t t0) {
  printf("%s, spin %s, max %lu: %u messages (%lu in place, %lu batched) "
         "in %lld ms\n",
         what, spin == 0 ? "0" : "default", (unsigned long)r->max, r->count,
         r->peeked, r->batched, (long long)(test_now_us() - t0) / 1000);
}

/* A run of `count` messages of 1 to max bytes. */
static void setup(run *r, size_t max, uint32_t count, uint64_t seed) {
  memset(r, 0, sizeof(*r));
  r->seed = seed;
  r->max = max;
  r->count = count;
}

/* The spin of shmkit's sides: -1 keeps the default. */
static void set_spin(shmkit_channel *ch, int spin) {
  if (spin >= 0) shmkit_channel_set_spin(ch, (unsigned)spin);
}

/* Both sides shmkit's. */
static void both(int spin, size_t capacity, size_t max, uint64_t seed) {
  shmkit_conn *a, *b;
  test_thread t;
  int64_t t0 = test_now_us();
  run r;

  setup(&r, max, MESSAGES, seed);
  ASSERT_OK(shmkit_conn_pair(&a, &b));
  ASSERT_OK(shmkit_channel_create(&r.tx, a, SHMKIT_CHANNEL_SEND, capacity, max,
                                  WAIT_MS));
  ASSERT_OK(shmkit_channel_attach(&r.rx, b, WAIT_MS));
  set_spin(r.tx, spin);
  set_spin(r.rx, spin);
  test_thread_start(&t, receiver, &r);
  sender(&r);
  shmkit_channel_close(r.tx);
  test_thread_join(&t);
  shmkit_channel_close(r.rx);
  print_run("both shmkit's", spin, &r, t0);
}

/* Takes the offer off `b` in place of an attacher. */
static shmkit_region *take_offer(shmkit_conn *b) {
  shmkit_region *region;
  char buf[16];
  shmkit_msg m;

  ASSERT_OK(recv_msg(b, &m, buf, sizeof(buf), WAIT_MS));
  ASSERT_EQ(m.count, 1);
  region = m.regions[0];
  m.regions[0] = NULL;
  return region;
}

/* shmkit's sender, the raw receiver on the sender's mapping; `way`: how
 * the sender copies messages of 64 KiB and more (shmkit__channel_copy_way:
 * 2, around the caches, whose stores its fence must order before the
 * record's mark). */
static void raw_receiving(int spin, size_t max, uint32_t count, int way,
                          uint64_t seed) {
  shmkit_conn *a, *b;
  test_thread t;
  int64_t t0 = test_now_us();
  unsigned char *p;
  run r;

  setup(&r, max, count, seed);
  ASSERT_OK(shmkit_conn_pair(&a, &b));
  ASSERT_OK(shmkit_channel_create(&r.tx, a, SHMKIT_CHANNEL_SEND, 4 * max, max,
                                  WAIT_MS));
  shmkit_region_close(take_offer(b)); /* the sender's view keeps it */
  set_spin(r.tx, spin);
  shmkit__channel_copy_way(r.tx, way);
  /* The first message is at the ring's start: where the mapping is. */
  ASSERT_OK(shmkit_channel_reserve(r.tx, size_of(&r, 0), (void **)&p, 0));
  fill(p, size_of(&r, 0), 0);
  ASSERT_OK(shmkit_channel_commit(r.tx, size_of(&r, 0), 0));
  raw_bind(&r.raw, p - RAW_REC - RAW_RING, 4 * max, max, SHMKIT_CHANNEL_RECV,
           b);
  r.sent = 1;
  test_thread_start(&t, raw_receiver, &r);
  sender(&r);
  test_thread_join(&t);
  raw_close(&r.raw); /* first: it writes through the sender's mapping */
  shmkit_channel_close(r.tx);
  print_run("shmkit's sender, raw receiver", spin, &r, t0);
}

/* shmkit's receiver, the raw sender on the receiver's mapping: the first
 * message goes through a view of its own, to find that mapping. */
static void raw_sending(int spin, size_t max, uint64_t seed) {
  static unsigned char first[65536];
  shmkit_conn *a, *b;
  shmkit_region *region;
  shmkit_view *v;
  test_thread t;
  int64_t t0 = test_now_us();
  const unsigned char *q;
  uint64_t pos;
  size_t n;
  run r;

  setup(&r, max, MESSAGES / 5, seed);
  ASSERT_OK(shmkit_conn_pair(&a, &b));
  ASSERT_OK(shmkit_channel_create(&r.rx, a, SHMKIT_CHANNEL_RECV, 4 * max, max,
                                  WAIT_MS));
  set_spin(r.rx, spin);
  region = take_offer(b);
  ASSERT_OK(shmkit_view_map(&v, region, 0, 0, SHMKIT_READ_WRITE));
  raw_bind(&r.raw, shmkit_view_data(v), 4 * max, max, SHMKIT_CHANNEL_SEND, b);
  fill(first, size_of(&r, 0), 0);
  ASSERT_EQ(raw_put(&r.raw, first, (uint32_t)size_of(&r, 0)), 0);
  raw_publish(&r.raw);
  ASSERT_OK(shmkit_channel_peek(r.rx, (const void **)&q, &n, WAIT_MS));
  check(&r, q, n, 0);
  ASSERT_OK(shmkit_channel_release(r.rx));
  pos = r.raw.pos;
  raw_bind(&r.raw, (unsigned char *)q - RAW_REC - RAW_RING, 4 * max, max,
           SHMKIT_CHANNEL_SEND, b);
  r.raw.pos = pos;
  shmkit_view_unmap(v);
  shmkit_region_close(region);
  r.sent = r.taken = 1;
  test_thread_start(&t, raw_sender, &r);
  receiver(&r);
  test_thread_join(&t);
  shmkit_channel_close(r.rx);
  print_run("raw sender, shmkit's receiver", spin, &r, t0);
}

TEST_IMPL(channel_threads) {
  uint64_t seed = (uint64_t)test_now_us();

  printf("seed %llu\n", (unsigned long long)seed);
  /* A small ring, so that the sender waits for room as often as the
   * receiver for messages; then a larger one, with larger messages. */
  both(0, 4096, 1024, seed);
  both(-1, 65536, 2048, seed + 1);
  raw_receiving(0, 1024, MESSAGES / 5, 0, seed + 2);
  raw_receiving(-1, 1024, MESSAGES / 5, 0, seed + 3);
  raw_receiving(-1, BUF, LARGE, 2, seed + 6); /* large, around the caches */
  raw_sending(0, 1024, seed + 4);
  raw_sending(-1, 1024, seed + 5);
  return 0;
}
