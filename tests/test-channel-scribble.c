/* A raw peer in another process (chan-raw.h) that scribbles over the
 * channel's region (header, indexes, states, ring) at random moments while
 * it sends or receives valid messages, against shmkit's side here. Each of
 * shmkit's calls must give the very message sent, or SHMKIT_EPROTO (and
 * then for good), SHMKIT_ETIMEDOUT or SHMKIT_ECLOSED: never a crash, a hang
 * or a pointer outside the ring. Anything but the message sent is allowed
 * only once the peer has scribbled: it counts its scribbles in a report
 * region, each before it writes. The first round of each direction
 * scribbles nothing and must deliver every message.
 *
 * The seed is printed; SHMKIT_SCRIBBLE_SEED=<seed> makes the same choices
 * again (where a scribble falls in time still depends on the scheduler). */
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "chan-raw.h"
#include "task.h"

/* A sanitizer's build, and Wine, pay about ten times as much a spawn. */
#if SHMKIT_TEST_SANITIZED || defined(_WIN32)
#  define ROUNDS 8
#else
#  define ROUNDS 24
#endif
#define MESSAGES 1000
#define BUF_MAX  16384 /* the largest max: a quarter of 64 KiB */
/* Hang detectors, far above what a round takes: the child gives up after
 * CHILD_S, and shmkit's side must have seen it gone well before LIMIT_S. */
#define CHILD_S 20
#define LIMIT_S 40

/* ---- seeds, shapes, messages */

static uint64_t next(uint64_t *s) { /* splitmix64 */
  uint64_t z = (*s += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

static uint32_t below(uint64_t *s, uint64_t n) {
  return (uint32_t)(next(s) % n);
}

/* The ring a round's seed makes, which both sides work out alike: 4, 16
 * or 64 KiB, and a max from 8 bytes to a quarter. */
static void shape(uint64_t seed, uint64_t *cap, uint64_t *max) {
  uint64_t s = seed;
  *cap = (uint64_t)4096 << (2 * below(&s, 3));
  *max = 8 + below(&s, *cap / 4 - 7);
}

/* Message `seq`: its size (8 to max, from the seed), then u32 seq, u32
 * a checksum of all the rest, and bytes that depend on seq. */
static size_t msg_size(uint64_t seed, uint32_t seq, uint64_t max) {
  uint64_t s = seed ^ ((uint64_t)seq << 32);
  return 8 + below(&s, max - 7);
}

static uint32_t checksum(const unsigned char *b, size_t n) {
  uint32_t h = 2166136261u ^ (uint32_t)n; /* FNV-1a */
  for (size_t i = 0; i < n; i++)
    if (i < 4 || i >= 8) h = (h ^ b[i]) * 16777619u;
  return h;
}

static void make(unsigned char *b, uint32_t seq, size_t n) {
  uint32_t sum;

  memcpy(b, &seq, 4);
  for (size_t i = 8; i < n; i++) b[i] = (unsigned char)(seq * 131 + i * 7);
  sum = checksum(b, n);
  memcpy(b + 4, &sum, 4);
}

/* 1 if b is message `seq` whole: its size, checksum and every byte. */
static int is_message(const unsigned char *b, size_t n, uint64_t seed,
                      uint32_t seq, uint64_t max) {
  static unsigned char want[BUF_MAX];
  uint32_t sum;

  if (n != msg_size(seed, seq, max)) return 0;
  memcpy(&sum, b + 4, 4);
  if (sum != checksum(b, n)) return 0;
  make(want, seq, n);
  return memcmp(b, want, n) == 0;
}

/* ---- the report region: what the child did, for the parent */

typedef struct tally {
  _Atomic uint32_t scribbles; /* counted before each */
  _Atomic uint32_t count;     /* messages the child sent, or took whole */
} tally;

static tally *report_of(shmkit_region *r, shmkit_view **v) {
  ASSERT_OK(shmkit_view_map(v, r, 0, sizeof(tally), SHMKIT_READ_WRITE));
  return shmkit_view_data(*v);
}

static int scribbled(tally *rep) {
  atomic_thread_fence(memory_order_seq_cst); /* after what was read */
  return atomic_load(&rep->scribbles) != 0;
}

/* ---- the child: a raw peer that scribbles */

typedef struct child {
  raw_chan rc;
  shmkit_region *r;
  shmkit_view *v;
  tally *rep;
  uint64_t seed, s, cap, max;
  uint64_t last; /* where the record that matters most starts */
  uint32_t odds;
  int64_t end;
} child;

/* A record header at ring offset `off` that breaks a rule, or may: a
 * length of 0, past max, any, running past the ring's end; padding of
 * the right length, one word off, or over the whole ring; noise. */
static uint32_t bad_word(child *c, uint64_t off) {
  uint32_t to_end = (uint32_t)(c->cap - off);
  uint32_t w[] = {0,
                  (uint32_t)c->max + 1,
                  1 + below(&c->s, c->max),
                  to_end,
                  RAW_PAD | to_end,
                  RAW_PAD | (to_end + 16),
                  RAW_PAD | (to_end - 16),
                  RAW_PAD | (uint32_t)c->cap,
                  (uint32_t)next(&c->s)};
  return w[below(&c->s, sizeof(w) / sizeof(w[0]))];
}

/* One scribble, counted first: noise in the header, an index a little off
 * or anywhere, a state, word or closed flag, or the ring: noise, or a
 * record header that breaks a rule, often the one at c->last. */
static void scribble(child *c) {
  raw_chan *rc = &c->rc;
  uint64_t v = next(&c->s), off;
  unsigned char b[8];
  uint32_t w;

  memcpy(b, &v, sizeof(b));
  atomic_fetch_add(&c->rep->scribbles, 1);
  switch (below(&c->s, 8)) {
  case 0:
    raw_poke(rc, below(&c->s, 64), b, 1 + below(&c->s, 8));
    break;
  case 1:
  case 2:
    off = below(&c->s, 2) ? RAW_OFF_HEAD : RAW_OFF_TAIL;
    if (below(&c->s, 2))
      v = raw_get64(rc, off) + 8 * (uint64_t)below(&c->s, 17) - 64;
    raw_set64(rc, off, v);
    break;
  case 3:
    off = RAW_OFF_STATE_RECV + 4 * below(&c->s, 6);
    raw_set32(rc, off, below(&c->s, 2) ? below(&c->s, 4) : (uint32_t)v);
    break;
  default:
    off = below(&c->s, 2) ? c->last : next(&c->s);
    off = off & (c->cap - 1) & ~(uint64_t)15; /* a record's start */
    w = bad_word(c, off);
    if (below(&c->s, 4))
      raw_poke(rc, RAW_RING + off + 8, &w, 4); /* its length */
    else /* its mark, length or first bytes */
      raw_poke(rc, RAW_RING + off + below(&c->s, 24), b, 1 + below(&c->s, 8));
  }
}

/* A scribble at one step in `odds` (0: never). */
static void maybe(child *c) {
  if (c->odds != 0 && below(&c->s, c->odds) == 0) scribble(c);
}

/* TOKEN RTOKEN SEED ODDS: the link, the report region, the round. */
static void child_start(child *c, int argc, char **argv, int role) {
  shmkit_conn *link;

  ASSERT_EQ(argc, 4);
  ASSERT_OK(shmkit_conn_from_token(&link, argv[0]));
  ASSERT_OK(shmkit_region_from_token(&c->r, argv[1]));
  c->rep = report_of(c->r, &c->v);
  c->seed = strtoull(argv[2], NULL, 10);
  c->odds = (uint32_t)atoi(argv[3]);
  c->s = c->seed ^ 0x5c5c5c5cu;
  shape(c->seed, &c->cap, &c->max);
  ASSERT_OK(raw_open(&c->rc, link, role, c->cap, c->max));
  c->end = test_now_us() + CHILD_S * 1000000LL;
}

static int child_end(child *c, uint32_t count) {
  atomic_store(&c->rep->count, count);
  raw_close(&c->rc);
  shmkit_view_unmap(c->v);
  shmkit_region_close(c->r);
  return 0;
}

CHILD_IMPL(scribbling_sender) {
  static unsigned char buf[BUF_MAX];
  child c;
  uint32_t seq;

  child_start(&c, argc, argv, SHMKIT_CHANNEL_SEND);
  for (seq = 0; seq < MESSAGES && test_now_us() < c.end; seq++) {
    size_t n = msg_size(c.seed, seq, c.max);
    int r = 0;

    make(buf, seq, n);
    maybe(&c);
    c.last = c.rc.pos; /* this record, or the padding before it */
    if (raw_put(&c.rc, buf, (uint32_t)n) != 0) {
      raw_publish(&c.rc); /* what waits must not wait on us */
      /* No room for a second after a scribble: it hit the tail, most
       * likely, and nothing will move it again. */
      while ((r = raw_put_wait(&c.rc, buf, (uint32_t)n, 1000)) == 1 &&
             !scribbled(c.rep) && test_now_us() < c.end)
        continue;
    }
    if (r != 0) break; /* gone, or no room */
    maybe(&c);
    if (below(&c.s, 4) != 0) raw_publish(&c.rc); /* else with the next */
    maybe(&c);
  }
  raw_publish(&c.rc);
  return child_end(&c, seq);
}

CHILD_IMPL(scribbling_receiver) {
  static unsigned char buf[BUF_MAX];
  uint32_t seq = 0;
  child c;
  size_t n;

  child_start(&c, argc, argv, SHMKIT_CHANNEL_RECV);
  while (test_now_us() < c.end) {
    int r;
    c.last = c.rc.pos;
    maybe(&c);
    if ((r = raw_take(&c.rc, buf, sizeof(buf), &n)) == 0) {
      raw_release(&c.rc); /* before waiting: the sender may wait on it */
      maybe(&c);
      r = raw_take_wait(&c.rc, buf, sizeof(buf), &n, 100);
    }
    if (r == -2) break; /* the sender is gone, and all it sent taken */
    if (r == 1 && !scribbled(c.rep) && !is_message(buf, n, c.seed, seq, c.max))
      FAIL("message %u from shmkit's sender is not the one sent", seq);
    if (r == 1) seq++;
    if (r == -1 && !scribbled(c.rep))
      FAIL("shmkit's sender broke the ring's rules at message %u", seq);
    if (r == -1) { /* go on from wherever the head says */
      if (raw_peer_gone(&c.rc)) break;
      c.rc.pos = raw_get64(&c.rc, RAW_OFF_HEAD);
      raw_release(&c.rc);
    }
  }
  return child_end(&c, seq);
}

/* ---- shmkit's side */

typedef struct trial {
  uint64_t seed, s, cap, max;
  uintptr_t base; /* shmkit's ring, from the first message's place */
  tally *rep;
  int64_t end;
  uint32_t seq, other, timeouts;
} trial;

/* A pointer shmkit gave for a message of n bytes lies in its ring. The
 * ring is learnt from the first message, which is always at its start. */
static void expect_in_ring(trial *rd, const void *p, size_t n) {
  uintptr_t at = (uintptr_t)p;

  if (rd->base == 0) rd->base = at - RAW_REC;
  if (at < rd->base + RAW_REC || (at - rd->base) % 16 != 0 ||
      at + n > rd->base + rd->cap)
    FAIL("a message of %lu bytes at ring offset %lld", (unsigned long)n,
         (long long)(at - rd->base));
}

static void expect_rx_broken(shmkit_channel *rx) {
  static unsigned char buf[8];
  const void *q;
  size_t n;

  ASSERT_ERR(shmkit_channel_recv(rx, buf, sizeof(buf), &n, 0), SHMKIT_EPROTO);
  ASSERT_ERR(shmkit_channel_peek(rx, &q, &n, 10), SHMKIT_EPROTO);
  ASSERT_ERR(shmkit_channel_release(rx), SHMKIT_EPROTO);
}

/* Takes one message, by copy or in place, into buf: what the call did. */
static int take_one(trial *rd, shmkit_channel *rx, unsigned char *buf,
                    size_t *n, int timeout_ms) {
  const void *q;
  int err;

  if (rd->base != 0 && below(&rd->s, 2)) {
    err = shmkit_channel_recv(rx, buf, BUF_MAX, n, timeout_ms);
  } else if ((err = shmkit_channel_peek(rx, &q, n, timeout_ms)) == 0) {
    expect_in_ring(rd, q, *n);
    memcpy(buf, q, *n);
  }
  if (err == 0 && (*n == 0 || *n > rd->max))
    FAIL("a message of %lu bytes", (unsigned long)*n);
  return err;
}

/* The end broke the rule with SHMKIT_EPROTO: only a scribbled ring may
 * have made it, and from then on `expect` finds every call of `ch`
 * refused. */
static const char *broken(trial *rd, const char *peer,
                          void (*expect)(shmkit_channel *),
                          shmkit_channel *ch) {
  if (!scribbled(rd->rep)) FAIL("SHMKIT_EPROTO from an honest %s", peer);
  expect(ch);
  return "SHMKIT_EPROTO";
}

/* Any other failure of `call` than these: only a timeout, counted, and
 * not for longer than LIMIT_S. */
static void timed_out(trial *rd, int err, const char *call) {
  if (err != SHMKIT_ETIMEDOUT) FAIL("%s: %s", call, shmkit_err_name(err));
  if (++rd->timeouts, test_now_us() > rd->end)
    FAIL("still SHMKIT_ETIMEDOUT after %d s", LIMIT_S);
}

static const char *receive_all(trial *rd, shmkit_channel *rx) {
  static unsigned char buf[BUF_MAX];
  size_t n;

  for (;;) {
    int err = take_one(rd, rx, buf, &n, 0);
    if (err == SHMKIT_ETIMEDOUT) {
      ASSERT_OK(shmkit_channel_release(rx)); /* the sender may wait on it */
      err = take_one(rd, rx, buf, &n, 1000);
    }
    if (err == 0 && is_message(buf, n, rd->seed, rd->seq, rd->max)) {
      rd->seq++;
    } else if (err == 0) {
      if (!scribbled(rd->rep)) FAIL("message %u is not the one sent", rd->seq);
      rd->other++;
    } else if (err == SHMKIT_EPROTO) {
      return broken(rd, "sender", expect_rx_broken, rx);
    } else if (err == SHMKIT_ECLOSED) {
      if (!scribbled(rd->rep)) ASSERT_EQ(rd->seq, atomic_load(&rd->rep->count));
      return "SHMKIT_ECLOSED";
    } else {
      timed_out(rd, err, "receive");
    }
  }
}

static void expect_tx_broken(shmkit_channel *tx) {
  void *p;

  ASSERT_ERR(shmkit_channel_send(tx, "x", 1, 0), SHMKIT_EPROTO);
  ASSERT_ERR(shmkit_channel_reserve(tx, 8, &p, 10), SHMKIT_EPROTO);
  ASSERT_ERR(shmkit_channel_commit(tx, 8, 0), SHMKIT_EPROTO);
  ASSERT_ERR(shmkit_channel_flush(tx), SHMKIT_EPROTO);
}

/* Sends message seq by copy, or in place (then alone, or kept to publish
 * with the next): what the calls did. */
static int send_one(trial *rd, shmkit_channel *tx, unsigned char *buf) {
  size_t n = msg_size(rd->seed, rd->seq, rd->max);
  unsigned how = rd->base == 0 ? 1 : below(&rd->s, 3);
  void *p;
  int err;

  make(buf, rd->seq, n);
  if (how == 0) return shmkit_channel_send(tx, buf, n, 1000);
  if ((err = shmkit_channel_reserve(tx, n, &p, 1000)) != 0) return err;
  expect_in_ring(rd, p, n);
  memcpy(p, buf, n);
  return shmkit_channel_commit(tx, n, how == 2 ? SHMKIT_CHANNEL_MORE : 0);
}

static const char *send_all(trial *rd, shmkit_channel *tx) {
  static unsigned char buf[BUF_MAX];

  while (rd->seq < MESSAGES) {
    int err = send_one(rd, tx, buf);
    if (err == 0) {
      rd->seq++;
    } else if (err == SHMKIT_EPROTO) {
      return broken(rd, "receiver", expect_tx_broken, tx);
    } else if (err == SHMKIT_ECLOSED) {
      if (!scribbled(rd->rep)) FAIL("SHMKIT_ECLOSED from a live receiver");
      return "SHMKIT_ECLOSED";
    } else {
      timed_out(rd, err, "send");
    }
  }
  ASSERT_OK(shmkit_channel_flush(tx));
  return "all sent";
}

/* One round: the child scribbles at one step in `odds` (0: never), and
 * shmkit's side here is the receiver or the sender. */
static void play(uint64_t seed, uint32_t odds, int receiver) {
  char seedtxt[32], oddstxt[16];
  const char *args[] = {seedtxt, oddstxt, NULL}, *how;
  shmkit_region *r;
  shmkit_view *v;
  shmkit_process *p;
  shmkit_channel *ch;
  shmkit_conn *a;
  trial rd;
  int err;

  memset(&rd, 0, sizeof(rd));
  rd.seed = seed;
  rd.s = seed ^ 0xa5a5a5a5u;
  rd.end = test_now_us() + LIMIT_S * 1000000LL;
  shape(seed, &rd.cap, &rd.max);
  snprintf(seedtxt, sizeof(seedtxt), "%llu", (unsigned long long)seed);
  snprintf(oddstxt, sizeof(oddstxt), "%u", odds);
  ASSERT_OK(shmkit_region_create(&r, 4096, 0));
  rd.rep = report_of(r, &v);
  a = test_conn_child_args(
      receiver ? "scribbling_sender" : "scribbling_receiver", r, args, &p);
  if ((err = shmkit_channel_attach(&ch, a, 30000)) != 0) {
    /* The header was scribbled on before it was read. */
    if ((err != SHMKIT_EPROTO && err != SHMKIT_EVERSION) || !scribbled(rd.rep))
      FAIL("attach: %s", shmkit_err_name(err));
    shmkit_conn_close(a);
    how = shmkit_err_name(err);
  } else {
    how = receiver ? receive_all(&rd, ch) : send_all(&rd, ch);
    shmkit_channel_close(ch);
  }
  reap_ok(p);
  printf("%s seed %llu, ring %llu, max %llu, a scribble per %u steps: %u "
         "scribbles, %u messages whole, %u not, %u timeouts, then %s\n",
         receiver ? "receiving" : "sending", (unsigned long long)seed,
         (unsigned long long)rd.cap, (unsigned long long)rd.max, odds,
         atomic_load(&rd.rep->scribbles), rd.seq, rd.other, rd.timeouts, how);
  shmkit_view_unmap(v);
  shmkit_region_close(r);
}

TEST_IMPL(channel_hostile_scribbler) {
  const char *env = getenv("SHMKIT_SCRIBBLE_SEED");
  uint64_t seed = env != NULL
                      ? strtoull(env, NULL, 10)
                      : (uint64_t)time(NULL) ^ (uint64_t)test_self_pid() << 20 ^
                            (uint64_t)test_now_us();
  static const uint32_t odds[] = {8, 32, 128, 512};

  printf("seed %llu (SHMKIT_SCRIBBLE_SEED=%llu makes the same rounds)\n",
         (unsigned long long)seed, (unsigned long long)seed);
  for (int i = 0; i < ROUNDS; i++) {
    uint64_t s = seed + (uint64_t)i;
    uint32_t o = i < 2 ? 0 : odds[below(&s, 4)];
    play(seed + (uint64_t)i, o, i % 2 == 0);
  }
  return 0;
}
