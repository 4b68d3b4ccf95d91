/* Channels: a single-producer, single-consumer ring of messages in a region
 * both sides map, and the connection it rides on (its link). The layout is
 * docs/protocol.md, "Channels"; every offset there is asserted below.
 *
 * Each side keeps its own copy of everything it relies on (the capacity,
 * the limits, its own index) and reads the peer's fields once into a local,
 * checked before use: the region is the peer's to write at any time. A
 * check that fails makes the channel broken for good (SHMKIT_EPROTO).
 *
 * Indexes count bytes since the start and never wrap in practice (2^64
 * bytes), so `head - tail` is the fill. Records start on 16 bytes: a u64
 * mark, then a u32 length and a u32 left 0, then the payload, padded to 16.
 * A length with the top bit set is padding to the ring's end, so that a
 * message is never split. The mark is the record's index plus 1, stored
 * last: the receiver waits on it rather than on the head, so that one
 * cache line, not two, travels for a small message. A mark is a 64-bit
 * index, so bytes left from an earlier lap never pass for it. */
#include <limits.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "platform.h"

/* ---- the layout, version 2 */

/* "SHKC" in the machine's (little-endian) byte order. */
#define CH_MAGIC   0x434b4853u
#define CH_VERSION 2
#define CH_RING    256 /* the ring's offset in the region: past the header */

/* What the creator writes once, before it sends the region. */
typedef struct ch_consts {
  uint32_t magic;       /* CH_MAGIC */
  uint16_t version;     /* CH_VERSION */
  uint16_t flags;       /* 0 */
  uint64_t capacity;    /* the ring's bytes, a power of two */
  uint64_t max_message; /* 1 to capacity / 4 */
  uint64_t ring_offset; /* CH_RING */
} ch_consts;

/* The header at the region's start. Past the creator's line, each cache
 * line has one writer in the normal course (the sleep line: each side its
 * own words, and the other side's swap of a state back to AWAKE). */
typedef struct ch_header {
  ch_consts c;
  uint8_t unused0[32];
  _Atomic uint64_t head; /* the sender's: bytes published; release */
  uint8_t unused1[56];
  _Atomic uint64_t tail; /* the receiver's: bytes released; release */
  uint8_t unused2[56];
  _Atomic uint32_t state_recv;  /* the receiver's sleep state */
  _Atomic uint32_t state_send;  /* the sender's sleep state */
  _Atomic uint32_t word_recv;   /* bumped to wake the receiver (futex) */
  _Atomic uint32_t word_send;   /* bumped to wake the sender (futex) */
  _Atomic uint32_t closed_send; /* the sender's: 1 once it closed */
  _Atomic uint32_t closed_recv; /* the receiver's: 1 once it closed */
  _Atomic uint32_t nowake_send; /* the sender's: 1, it cannot wake a word */
  _Atomic uint32_t nowake_recv; /* the receiver's: the same */
  uint8_t unused3[32];
} ch_header;

/* The offsets docs/protocol.md gives, which another program relies on. */
#define AT(field, off)                                                         \
  _Static_assert(offsetof(ch_header, field) == (off), #field)
AT(c.magic, 0);
AT(c.version, 4);
AT(c.flags, 6);
AT(c.capacity, 8);
AT(c.max_message, 16);
AT(c.ring_offset, 24);
AT(head, 64);
AT(tail, 128);
AT(state_recv, 192);
AT(state_send, 196);
AT(word_recv, 200);
AT(word_send, 204);
AT(closed_send, 208);
AT(closed_recv, 212);
AT(nowake_send, 216);
AT(nowake_recv, 220);
#undef AT
_Static_assert(sizeof(ch_header) == CH_RING, "the ring follows the header");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2 && ATOMIC_INT_LOCK_FREE == 2,
               "lock-free atomics: they must work between processes");

/* A sleep state: how the side that wrote it waits, and so how to wake it.
 * The waker swaps it back to AWAKE and wakes only if it won the swap. */
enum { AWAKE = 0, ON_WORD = 1, ON_LINK = 2 };

#define REC_HEADER 16
#define REC_PAD    0x80000000u
#define ALIGN16(n) (((n) + 15) & ~(uint64_t)15)

/* The offer: the payload of the one message that carries the region. */
typedef struct ch_offer {
  uint32_t magic;   /* CH_MAGIC */
  uint16_t version; /* CH_VERSION */
  uint16_t role;    /* the creator's: SHMKIT_CHANNEL_SEND or _RECV */
} ch_offer;
_Static_assert(sizeof(ch_offer) == 8 && offsetof(ch_offer, role) == 6,
               "the offer's layout");

/* How long a sleeper sleeps before it looks at its peer again: the bound on
 * noticing a peer killed while this side slept on a word. */
#define SLICE_MS 100
/* How often, at most, the fast path asks the link whether the peer lives. */
#define LIVE_CHECK_MS 100
/* The most messages one look at the link reads (peer_alive()). A peer that
 * keeps the rules leaves a wake-up there at most once per time this side
 * said it sleeps on the link, and this side reads it when it wakes: more
 * is a flood, which must not hold a call that only tries. */
#define LINK_DRAIN 64
/* Classes of large messages, each a power of two (copy_large()). */
#define LARGE_CLASSES 8

struct shmkit_channel {
  shmkit_conn *link;
  shmkit_handle watch; /* shmkit_channel_handle(): the link's, to wait on */
  shmkit_region *region;
  shmkit_view *view;
  unsigned char *base, *ring;
  uint64_t cap, max; /* ours, checked once; never read again from the ring */
  int role;
  int err;       /* SHMKIT_EPROTO once the ring broke a rule; 0 */
  int peer_gone; /* the peer closed, or its link hung up */
  int word_waits;
  unsigned spin;
  int64_t checked_ms;
  /* Sender: pos is the end of what was committed (and padding), published
   * what the peer was last told (the record there has no mark yet when pos
   * is past it), seen the peer's tail as last read. Receiver: pos is the
   * end of what was received or peeked at (and padding), published the
   * tail last stored, held where the messages peeked at and not yet
   * released start, if `peeking`. */
  uint64_t pos, published, seen, held;
  int peeking;
  size_t reserved; /* sender: the open reservation's size, 0 if none */
  /* Sender: what copy_large() learned of each class of sizes; no_around
   * once the processor said it has no stores around the caches; copy_way,
   * set by the tests alone: 0 (time the copies), 1 (memcpy()), 2 (around). */
  struct large_class {
    uint64_t count;       /* large messages of the class copied */
    uint64_t cost[2];     /* memcpy()'s and around's time per 64 KiB */
    int around;           /* the copy taken between timings: 1 around */
  } large[LARGE_CLASSES]; /* from 64 KiB, 128 KiB... 8 MiB and more */
  int no_around, copy_way;
  uint32_t word; /* receiver: the length of the message at pos, checked */
  _Atomic uint64_t *mine, *theirs;
  _Atomic uint32_t *my_state, *their_state, *my_word, *their_word;
  _Atomic uint32_t *my_closed, *their_closed;
  _Atomic uint32_t *my_nowake, *their_nowake;
};

static _Atomic uint32_t *u32_at(unsigned char *base, size_t off) {
  return (_Atomic uint32_t *)(void *)(base + off);
}

static _Atomic uint64_t *u64_at(unsigned char *base, size_t off) {
  return (_Atomic uint64_t *)(void *)(base + off);
}

static int broken(shmkit_channel *ch) {
  return ch->err = SHMKIT_EPROTO;
}

/* ---- the link: wake-ups and the peer's end */

/* Reads what waits on the link, for up to timeout_ms: a wake-up (0), nothing
 * (SHMKIT_ETIMEDOUT), or the end, which marks the peer gone. Any other
 * message is a broken peer; the system's own failures (SHMKIT_ENOMEM...)
 * are returned, and the next read tries again. */
static int link_read(shmkit_channel *ch, int timeout_ms) {
  char buf[8];
  shmkit_msg m = SHMKIT_MSG_INIT(buf, sizeof(buf));
  int err = shmkit_conn_recv(ch->link, &m, timeout_ms);
  size_t regions = m.count;

  shmkit_msg_close(&m);
  switch (err) {
  case 0:
    return m.size == 1 && regions == 0 && buf[0] == 'w' ? 0 : broken(ch);
  case SHMKIT_ECLOSED:
    ch->peer_gone = 1;
    return err;
  case SHMKIT_ETIMEDOUT:
  case SHMKIT_ENOMEM:
  case SHMKIT_EMFILE:
  case SHMKIT_EIO:
    return err;
  default: /* what the peer sent did not check */
    return broken(ch);
  }
}

/* Whether the peer closed, from its flag alone: what a side may ask once it
 * said it sleeps on the link, where reading would eat its own wake-up. */
static int peer_closed(shmkit_channel *ch) {
  if (!ch->peer_gone &&
      atomic_load_explicit(ch->their_closed, memory_order_acquire) != 0)
    ch->peer_gone = 1;
  return ch->peer_gone;
}

/* Whether the peer is still there, asking the link at most every
 * LIVE_CHECK_MS (or now, with `now`): its closed flag costs nothing to
 * read, a kill shows only as the link's end, after the wake-ups nobody
 * waited for, which are read off first, up to LINK_DRAIN a look. */
static int peer_alive(shmkit_channel *ch, int now) {
  int64_t t;
  int n = 0;

  if (peer_closed(ch)) return 0;
  t = shmkit__os_coarse_ms();
  if (!now && t - ch->checked_ms < LIVE_CHECK_MS) return 1;
  ch->checked_ms = t;
  while (n++ < LINK_DRAIN && link_read(ch, 0) == 0) continue;
  return !ch->peer_gone;
}

/* peer_alive() as a call's answer: 0, SHMKIT_ECLOSED, or what the link
 * showed of a broken peer (SHMKIT_EPROTO), from the call that saw it. */
static int peer_status(shmkit_channel *ch, int now) {
  int alive = peer_alive(ch, now);

  return ch->err != 0 ? ch->err : alive ? 0 : SHMKIT_ECLOSED;
}

/* Wakes the peer if it said it sleeps: only the side that swaps its state
 * back to AWAKE wakes it, once. */
static void wake_peer(shmkit_channel *ch) {
  uint32_t s = atomic_load_explicit(ch->their_state, memory_order_relaxed);

  if (s == AWAKE ||
      !atomic_compare_exchange_strong(ch->their_state, &s, (uint32_t)AWAKE))
    return;
  if (s == ON_WORD) {
    atomic_fetch_add_explicit(ch->their_word, 1, memory_order_release);
    if (shmkit__os_word_wake((uint32_t *)ch->their_word) == 0) return;
    /* Denied (no futex here, or a filter on this thread since the
     * channel was made): the peer finds the word changed when its slice
     * ends, and from its next sleep on sleeps on the link, where a byte
     * reaches it. */
    atomic_store_explicit(ch->my_nowake, 1, memory_order_release);
    return;
  }
  /* ON_LINK, or anything else a peer wrote: a byte on the link wakes any
   * sleeper. A full link (ETIMEDOUT) holds wake-ups already. */
  shmkit_conn_send(ch->link, "w", 1, NULL, 0, 0);
}

/* ---- waiting */

typedef int (*ready_fn)(shmkit_channel *ch, uint64_t need);

/* How many spins go between two looks at the clock and the link. */
#define SPIN_ROUND 1024

/* wait_for() past its first round of spins: `spun` spins done, and the
 * deadline, if any, from `start`. */
static int wait_long(shmkit_channel *ch, ready_fn ready, uint64_t need,
                     int timeout_ms, unsigned spun, int64_t start) {
  int64_t deadline = start + timeout_ms;
  int r;

  if (timeout_ms == 0) {
    if ((r = peer_status(ch, 0)) != SHMKIT_ECLOSED)
      return r != 0 ? r : SHMKIT_ETIMEDOUT;
    /* Gone: what it committed before is still ours to take. */
    if ((r = ready(ch, need)) != 0) return r < 0 ? r : 0;
    return SHMKIT_ECLOSED;
  }
  for (unsigned i = spun; ch->spin == UINT_MAX || i < ch->spin; i++) {
    if ((i & (SPIN_ROUND - 1)) == 0) {
      if ((r = peer_status(ch, 0)) == SHMKIT_ECLOSED) break;
      if (r != 0) return r;
      if (timeout_ms > 0 && shmkit__os_now_ms() >= deadline) break;
    }
    shmkit__cpu_relax();
    if ((r = ready(ch, need)) != 0) return r < 0 ? r : 0;
  }
  for (;;) {
    /* On our word only if the peer can wake it: one that cannot says so
     * (any value but 0), and its bytes on the link reach us there. */
    int mode = ch->word_waits && atomic_load_explicit(ch->their_nowake,
                                                      memory_order_acquire) == 0
                   ? ON_WORD
                   : ON_LINK;
    uint32_t word = atomic_load_explicit(ch->my_word, memory_order_acquire);
    int left = SLICE_MS, woke;

    if (timeout_ms > 0) {
      int64_t d = deadline - shmkit__os_now_ms();
      if (d <= 0) break;
      if (d < left) left = (int)d;
    }
    /* Say that we sleep, then look once more: the waker publishes, then
     * reads our state, so one of us sees the other (both sequentially
     * consistent). */
    atomic_store(ch->my_state, (uint32_t)mode);
    atomic_thread_fence(memory_order_seq_cst);
    if ((r = ready(ch, need)) != 0 || peer_closed(ch)) {
      atomic_store_explicit(ch->my_state, AWAKE, memory_order_relaxed);
      if (r != 0) return r < 0 ? r : 0;
      break;
    }
    if (mode == ON_WORD)
      woke = shmkit__os_word_wait((uint32_t *)ch->my_word, word, left);
    else
      woke = link_read(ch, left);
    atomic_store_explicit(ch->my_state, AWAKE, memory_order_relaxed);
    if (woke == SHMKIT_EPROTO) return woke;
    /* The word's wait denied since the channel was made (a filter on this
     * thread): the link from now on, which the peer's waker follows. */
    if (woke == SHMKIT_ENOTSUP) ch->word_waits = 0;
    /* On a word the link is read only here: at once after a slice asleep,
     * else every LIVE_CHECK_MS, however often the word is woken (a peer
     * that keeps waking it would hide its end). */
    if (mode == ON_WORD) peer_alive(ch, woke == SHMKIT_ETIMEDOUT);
    if (ch->err != 0) return ch->err;
    if ((r = ready(ch, need)) != 0) return r < 0 ? r : 0;
    if (ch->peer_gone) break;
  }
  if ((r = ready(ch, need)) != 0) return r < 0 ? r : 0;
  if (ch->err != 0) return ch->err; /* the link broke */
  return ch->peer_gone ? SHMKIT_ECLOSED : SHMKIT_ETIMEDOUT;
}

/* Waits until ready(ch, need) says 1 (0), for up to timeout_ms: spins, then
 * sleeps, having said so in its state; SHMKIT_ETIMEDOUT, SHMKIT_ECLOSED
 * once the peer is gone and ready() still says 0, or ready()'s error.
 * The first round of spins is here, inline with its ready(), so that a
 * message that comes while this side spins is taken in a few
 * instructions; the rest is wait_long(). */
static inline int wait_for(shmkit_channel *ch, ready_fn ready, uint64_t need,
                           int timeout_ms) {
  int64_t start = 0;
  unsigned i = 0;
  int r;

  if ((r = ready(ch, need)) != 0) return r < 0 ? r : 0;
  if (timeout_ms > 0) start = shmkit__os_now_ms();
  if (timeout_ms != 0) {
    while (i < SPIN_ROUND && i < ch->spin) {
      shmkit__cpu_relax();
      i++;
      if ((r = ready(ch, need)) != 0) return r < 0 ? r : 0;
    }
  }
  return wait_long(ch, ready, need, timeout_ms, i, start);
}

/* ---- the sender */

/* 1 if `need` bytes are free after pos, reading the receiver's tail only
 * when what was last seen is not enough. */
static int has_room(shmkit_channel *ch, uint64_t need) {
  uint64_t t;

  if (ch->err != 0) return ch->err;
  if (ch->cap - (ch->pos - ch->seen) >= need) return 1;
  t = atomic_load_explicit(ch->theirs, memory_order_acquire);
  /* The tail only grows, and never past what was published. */
  if (t - ch->seen > ch->published - ch->seen) return broken(ch);
  ch->seen = t;
  return ch->cap - (ch->pos - ch->seen) >= need;
}

/* Writes a record's header at pos: its word (a length, or padding), and its
 * mark, but for the first record not yet published, whose mark publishes
 * them all at once, in publish(). */
static void put_record(shmkit_channel *ch, uint32_t word) {
  uint64_t off = ch->pos & (ch->cap - 1);

  atomic_store_explicit(u32_at(ch->ring, off + 8), word, memory_order_relaxed);
  atomic_store_explicit(u32_at(ch->ring, off + 12), 0, memory_order_relaxed);
  if (ch->pos != ch->published)
    atomic_store_explicit(u64_at(ch->ring, off), ch->pos + 1,
                          memory_order_release);
}

/* What follows the mark that published every record up to pos: the head,
 * for monitors, then the receiver's wake-up if it sleeps. With `ask`, the
 * link is asked whether the receiver lives (peer_status(): 0, SHMKIT_ECLOSED or
 * SHMKIT_EPROTO), between the two: the fence waits for the mark's store to
 * leave this core, which hides the question's cost. */
static int announce(shmkit_channel *ch, int ask) {
  int status = 0;

  ch->published = ch->pos;
  atomic_store_explicit(ch->mine, ch->pos, memory_order_release);
  if (ask) status = peer_status(ch, 0);
  atomic_thread_fence(memory_order_seq_cst);
  wake_peer(ch);
  return status;
}

/* Publishes what was committed since the last time, if anything, and
 * announces it; with `ask`, returns whether the receiver lives, as
 * announce(). */
static int publish(shmkit_channel *ch, int ask) {
  uint64_t first = ch->published;

  if (ch->pos == first) return ask ? peer_status(ch, 0) : 0;
  /* Whoever sees this mark sees every record stored before it. */
  atomic_store_explicit(u64_at(ch->ring, first & (ch->cap - 1)), first + 1,
                        memory_order_release);
  return announce(ch, ask);
}

static int check_side(shmkit_channel *ch, int role) {
  if (ch == NULL || ch->role != role) return SHMKIT_EINVAL;
  return ch->err;
}

/* check_side(), and a timeout as every call takes it: -1 or more. */
static int check_wait(shmkit_channel *ch, int role, int timeout_ms) {
  return timeout_ms < -1 ? SHMKIT_EINVAL : check_side(ch, role);
}

/* The room a message of `size` bytes takes at pos: its record, and the
 * padding before it when the record would run past the ring's end. */
static uint64_t room_for(const shmkit_channel *ch, uint64_t size,
                         uint64_t *pad) {
  uint64_t total = REC_HEADER + ALIGN16(size);
  uint64_t off = ch->pos & (ch->cap - 1);

  *pad = off + total > ch->cap ? ch->cap - off : 0;
  return *pad + total;
}

/* shmkit_channel_reserve() but for its argument: where the payload goes. */
static int reserve(shmkit_channel *ch, size_t size, void **data,
                   int timeout_ms) {
  uint64_t pad, need;
  int err;

  if ((err = check_wait(ch, SHMKIT_CHANNEL_SEND, timeout_ms)) != 0) return err;
  if (size == 0 || ch->reserved != 0) return SHMKIT_EINVAL;
  if (size > ch->max) return SHMKIT_E2BIG;
  /* The flag costs a load; the link is asked after the commit, where the
   * time it takes does not delay the message. */
  if (peer_closed(ch)) return SHMKIT_ECLOSED;
  need = room_for(ch, size, &pad);
  if ((err = has_room(ch, need)) != 1) {
    if (err < 0) return err;
    publish(ch, 0); /* what waits to be published must not wait on us */
    if ((err = wait_for(ch, has_room, need, timeout_ms)) != 0) return err;
    if ((err = peer_status(ch, 0)) != 0) return err;
  }
  if (pad != 0) {
    put_record(ch, REC_PAD | (uint32_t)pad);
    ch->pos += pad;
  }
  ch->reserved = size;
  *data = ch->ring + (ch->pos & (ch->cap - 1)) + REC_HEADER;
  return 0;
}

int shmkit_channel_reserve(shmkit_channel *ch, size_t size, void **data,
                           int timeout_ms) {
  if (data == NULL) return SHMKIT_EINVAL;
  *data = NULL;
  return reserve(ch, size, data, timeout_ms);
}

/* Ends the reservation as a message of `size` bytes, then asks the link
 * whether the receiver lives: published first, the message is not kept
 * waiting by the question. */
static int commit(shmkit_channel *ch, size_t size, unsigned flags) {
  put_record(ch, (uint32_t)size);
  ch->pos += REC_HEADER + ALIGN16((uint64_t)size);
  ch->reserved = 0;
  if (flags & SHMKIT_CHANNEL_MORE) return peer_status(ch, 0);
  return publish(ch, 1);
}

int shmkit_channel_commit(shmkit_channel *ch, size_t size, unsigned flags) {
  int err;

  if ((err = check_side(ch, SHMKIT_CHANNEL_SEND)) != 0) return err;
  if (size == 0 || size > ch->reserved || (flags & ~SHMKIT_CHANNEL_MORE) != 0)
    return SHMKIT_EINVAL;
  return commit(ch, size, flags);
}

int shmkit_channel_flush(shmkit_channel *ch) {
  int err = check_side(ch, SHMKIT_CHANNEL_SEND);

  if (err == 0) publish(ch, 0);
  return err;
}

/* memcpy(), without its call for the few bytes a small message has. */
static void copy(void *dst, const void *src, size_t n) {
  unsigned char *d = dst;
  const unsigned char *s = src;

  if (n > 16) {
    memcpy(d, s, n);
  } else if (n >= 8) { /* two words, overlapping when n < 16 */
    memcpy(d, s, 8);
    memcpy(d + n - 8, s + n - 8, 8);
  } else if (n >= 4) {
    memcpy(d, s, 4);
    memcpy(d + n - 4, s + n - 4, 4);
  } else {
    for (size_t i = 0; i < n; i++) d[i] = s[i];
  }
}

/* From 64 KiB on, a message goes into the ring by whichever of two copies
 * is the faster: memcpy(), whose lines the reader then takes from this
 * core's cache, or stores around the caches, whose lines it takes from
 * memory. Which one wins depends on the size and on where the system runs
 * the two processes: on cores that share a cache, memcpy(); on cores that
 * do not (two chiplets or two sockets), stores around the caches, by up to
 * three times. So for each class of sizes (a power of two), the last two
 * of every LARGE_ROUND large messages of the class are one of each, timed,
 * in turns first, and the next round takes the faster: a process the
 * system moves is followed within a round. */
#define LARGE_MESSAGE 65536
#define LARGE_ROUND   256

/* shmkit__cpu_copy_around(), or 0 if the processor has no such stores. */
static int copy_around(shmkit_channel *ch, void *dst, const void *src,
                       size_t n) {
  if (!ch->no_around && shmkit__cpu_copy_around(dst, src, n) == 0) return 1;
  ch->no_around = 1; /* never asked again */
  return 0;
}

static void copy_large(shmkit_channel *ch, void *dst, const void *src,
                       size_t n) {
  unsigned cls = 0;
  struct large_class *lc;
  uint64_t k, c, lap;
  int64_t t = 0;
  int way, timed = 0;

  while (cls + 1 < LARGE_CLASSES && n >= (size_t)LARGE_MESSAGE << (cls + 1))
    cls++;
  lc = &ch->large[cls];
  k = lc->count % LARGE_ROUND;
  lap = lc->count++ / LARGE_ROUND;
  if (ch->copy_way != 0) {
    way = ch->copy_way - 1;
  } else if (k < LARGE_ROUND - 2 || ch->no_around) {
    way = lc->around;
  } else {
    way = (int)((k - (LARGE_ROUND - 2)) ^ (lap & 1)); /* in turns first */
    timed = 1;
    t = shmkit__os_now_ns();
  }
  if (way == 0 || !copy_around(ch, dst, src, n)) memcpy(dst, src, n);
  if (!timed || ch->no_around) return;
  t = shmkit__os_now_ns() - t;
  c = t <= 0 ? 0 : (uint64_t)t * LARGE_MESSAGE / n; /* exact below 78 hours */
  /* What else runs (an interrupt, another process) only ever makes a copy
   * slower: a cost goes down to a new time at once, up by a quarter. */
  if (lc->cost[way] == 0 || c < lc->cost[way]) /* 0: not yet timed */
    lc->cost[way] = c;
  else
    lc->cost[way] = (3 * lc->cost[way] + c) / 4;
  if (k == LARGE_ROUND - 1) lc->around = lc->cost[1] < lc->cost[0];
}

void shmkit__channel_copy_way(shmkit_channel *ch, int way) {
  ch->copy_way = way;
}

/* A message's copy into the ring: copy(), or copy_large(). */
static inline void copy_in(shmkit_channel *ch, void *dst, const void *src,
                           size_t n) {
  if (n < LARGE_MESSAGE)
    copy(dst, src, n);
  else
    copy_large(ch, dst, src, n);
}

int shmkit_channel_send(shmkit_channel *ch, const void *data, size_t size,
                        int timeout_ms) {
  void *p;
  int err;

  if (data == NULL && size != 0) return SHMKIT_EINVAL;
  /* The common case straight through: nothing held back or reserved, the
   * room known, no padding, the receiver not closed. Else reserve(). */
  if (ch != NULL && ch->role == SHMKIT_CHANNEL_SEND && ch->err == 0 &&
      ch->reserved == 0 && ch->pos == ch->published && size - 1 < ch->max &&
      timeout_ms >= -1) {
    uint64_t total = REC_HEADER + ALIGN16((uint64_t)size);
    uint64_t off = ch->pos & (ch->cap - 1);

    if (off + total <= ch->cap && ch->cap - (ch->pos - ch->seen) >= total &&
        !peer_closed(ch)) {
      copy_in(ch, ch->ring + off + REC_HEADER, data, size);
      return commit(ch, size, 0);
    }
  }
  if ((err = reserve(ch, size, &p, timeout_ms)) != 0) return err;
  copy_in(ch, p, data, size);
  return commit(ch, size, 0);
}

/* ---- the receiver */

/* has_record() once the mark at pos says a record is there: 1 if it is a
 * message, whose length, checked, is kept in ch->word. Skips padding on
 * the way, at most once: after it the record is at offset 0, where
 * padding is refused. */
static int record_at(shmkit_channel *ch) {
  for (;;) {
    uint64_t off = ch->pos & (ch->cap - 1), total;
    uint32_t w;

    if (ch->err != 0) return ch->err;
    if (atomic_load_explicit(u64_at(ch->ring, off), memory_order_acquire) !=
        ch->pos + 1)
      return 0;
    w = atomic_load_explicit(u32_at(ch->ring, off + 8), memory_order_relaxed);
    if (!(w & REC_PAD)) {
      total = REC_HEADER + ALIGN16((uint64_t)w);
      if (w == 0 || w > ch->max || off + total > ch->cap) return broken(ch);
      ch->word = w;
      return 1;
    }
    /* Padding runs exactly to the ring's end, and not from its start. */
    if (off == 0 || (w & ~REC_PAD) != ch->cap - off) return broken(ch);
    ch->pos += ch->cap - off;
  }
}

/* 1 if a message starts at pos (its mark says so, and its length checks),
 * 0 if not yet. The common case is here, inline: the "not yet" a spinning
 * side asks again and again is one load; padding and what breaks a rule
 * are record_at()'s. */
static inline int has_record(shmkit_channel *ch, uint64_t unused) {
  uint64_t off = ch->pos & (ch->cap - 1);
  uint32_t w;

  (void)unused;
  if (ch->err != 0) return ch->err;
  /* Acquire: whoever sees the mark sees the record. */
  if (atomic_load_explicit(u64_at(ch->ring, off), memory_order_acquire) !=
      ch->pos + 1)
    return 0;
  w = atomic_load_explicit(u32_at(ch->ring, off + 8), memory_order_relaxed);
  if (w - 1 >= ch->max || off + REC_HEADER + ALIGN16((uint64_t)w) > ch->cap)
    return record_at(ch);
  ch->word = w;
  return 1;
}

/* Gives the room before `to` back to the sender: stores the tail, and
 * wakes the sender if it sleeps. */
static void give_back_to(shmkit_channel *ch, uint64_t to) {
  if (to == ch->published) return;
  ch->published = to;
  atomic_store_explicit(ch->mine, to, memory_order_release);
  atomic_thread_fence(memory_order_seq_cst);
  wake_peer(ch);
}

/* Gives back everything received or peeked at. */
static void give_back(shmkit_channel *ch) {
  ch->peeking = 0;
  give_back_to(ch, ch->pos);
}

/* Gives back what was received, but not the messages peeked at and not
 * released, whose pointers the caller may still use: before this side
 * waits, since the sender may need that room. */
static void give_back_unheld(shmkit_channel *ch) {
  give_back_to(ch, ch->peeking ? ch->held : ch->pos);
}

/* give_back() a quarter of the ring at a time, which spares a store and a
 * fence per message; at once if the sender says it waits for room (its
 * state is not AWAKE while it sleeps or waits on its handle). Holding back
 * less than a quarter never starves a sender: when this side has taken
 * every message, the room left, three quarters and more, holds the
 * largest record and the padding before it. */
static void give_back_lazily(shmkit_channel *ch) {
  if (ch->pos - ch->published >= ch->cap / 4 ||
      atomic_load_explicit(ch->their_state, memory_order_relaxed) != AWAKE)
    give_back(ch);
}

int shmkit_channel_release(shmkit_channel *ch) {
  int err = check_side(ch, SHMKIT_CHANNEL_RECV);

  if (err == 0) give_back(ch);
  return err;
}

int shmkit_channel_peek(shmkit_channel *ch, const void **data, size_t *size,
                        int timeout_ms) {
  int r;

  if (data == NULL || size == NULL) return SHMKIT_EINVAL;
  *data = NULL;
  *size = 0;
  if ((r = check_wait(ch, SHMKIT_CHANNEL_RECV, timeout_ms)) != 0) return r;
  /* What was received goes back before waiting, as in recv(); what was
   * peeked at stays held. */
  if ((r = has_record(ch, 0)) == 0) {
    give_back_unheld(ch);
    if ((r = wait_for(ch, has_record, 0, timeout_ms)) != 0) return r;
  } else if (r < 0) {
    return r;
  }
  *data = ch->ring + (ch->pos & (ch->cap - 1)) + REC_HEADER;
  *size = ch->word;
  if (!ch->peeking) ch->held = ch->pos;
  ch->peeking = 1;
  ch->pos += REC_HEADER + ALIGN16((uint64_t)ch->word);
  return 0;
}

/* A large message's copy out of the ring: a page at a time, each with the
 * next page asked for ahead, which the processor's own prefetcher,
 * stopping at the end of a page, does not do. */
static void copy_out(void *dst, const unsigned char *src, size_t n) {
  unsigned char *d = dst;
  size_t i = 0, page = 4096;
  /* The first piece runs to the end of the page it starts in. */
  size_t step = page - (size_t)((uintptr_t)src & (page - 1));

  if (n < LARGE_MESSAGE) {
    copy(d, src, n);
    return;
  }
  while (i < n) {
    size_t m = n - i < step ? n - i : step, next = n - i - m;
    if (next > 0) shmkit__cpu_prefetch(src + i + m, next < page ? next : page);
    memcpy(d + i, src + i, m);
    i += m;
    step = page;
  }
}

int shmkit_channel_recv(shmkit_channel *ch, void *buf, size_t capacity,
                        size_t *size, int timeout_ms) {
  size_t len;
  int r;

  if (size == NULL) return SHMKIT_EINVAL;
  *size = 0;
  if (buf == NULL && capacity != 0) return SHMKIT_EINVAL;
  if ((r = check_wait(ch, SHMKIT_CHANNEL_RECV, timeout_ms)) != 0) return r;
  /* What was peeked at is released, and goes back before waiting, by the
   * same rule as below: the sender may need that room for the message
   * waited for. */
  ch->peeking = 0;
  if ((r = has_record(ch, 0)) == 0) {
    give_back_lazily(ch);
    if ((r = wait_for(ch, has_record, 0, timeout_ms)) != 0) return r;
  } else if (r < 0) {
    return r;
  }
  *size = len = ch->word;
  if (len > capacity) return SHMKIT_E2BIG; /* it stays, for a larger buf */
  copy_out(buf, ch->ring + (ch->pos & (ch->cap - 1)) + REC_HEADER, len);
  ch->pos += REC_HEADER + ALIGN16((uint64_t)len);
  give_back_lazily(ch);
  return 0;
}

/* ---- waiting elsewhere */

int shmkit_channel_arm(shmkit_channel *ch) {
  uint64_t need = 0, pad;
  int send, r;

  if (ch == NULL) return SHMKIT_EINVAL;
  if (ch->err != 0) return ch->err;
  if ((send = ch->role == SHMKIT_CHANNEL_SEND) != 0) {
    publish(ch, 0);
    need = room_for(ch, ch->max, &pad);
  } else {
    give_back_unheld(ch);
  }
  /* Read the wake-ups left on the link first, which would keep the handle
   * ready; once we say we wait there, the next is ours, and only the
   * peer's flag may be looked at. */
  if ((r = peer_status(ch, 1)) != 0) return r == SHMKIT_ECLOSED ? 1 : r;
  r = send ? has_room(ch, need) : has_record(ch, 0);
  if (r != 0) return r < 0 ? r : 1;
  shmkit__conn_watch(ch->link);
  atomic_store(ch->my_state, (uint32_t)ON_LINK);
  atomic_thread_fence(memory_order_seq_cst);
  r = send ? has_room(ch, need) : has_record(ch, 0);
  if (r == 0 && !peer_closed(ch)) return 0;
  atomic_store_explicit(ch->my_state, AWAKE, memory_order_relaxed);
  return r < 0 ? r : 1;
}

shmkit_handle shmkit_channel_handle(const shmkit_channel *ch) {
  return ch != NULL ? ch->watch : SHMKIT_INVALID_HANDLE;
}

/* The default spin's length, and its measure (shmkit_channel_spin_default):
 * rounds of SPIN_SAMPLE looks, timed, the fastest taken (a round the system
 * interrupted only reads slower). */
#define SPIN_DEFAULT_NS 40000
#define SPIN_SAMPLE     512
#define SPIN_ROUNDS     4

unsigned shmkit__channel_spin_looks(int64_t best_ns) {
  int64_t looks;

  /* A clock too coarse to see the sample: the count measured on x86. */
  if (best_ns <= 0) best_ns = SPIN_SAMPLE * 20;
  looks = (int64_t)SPIN_DEFAULT_NS * SPIN_SAMPLE / best_ns;
  if (looks < 64) looks = 64;
  if (looks > (1 << 20)) looks = 1 << 20;
  return (unsigned)looks;
}

unsigned shmkit_channel_spin_default(void) {
  static _Atomic unsigned measured; /* 0: not yet */
  static _Atomic uint32_t never;    /* what the looks read: a line unshared */
  unsigned looks = atomic_load_explicit(&measured, memory_order_relaxed);
  int64_t best = INT64_MAX;

  if (looks != 0) return looks;
  for (int round = 0; round < SPIN_ROUNDS; round++) {
    int64_t t = shmkit__os_now_ns();

    /* A look as wait_for() makes one: the hint, then an acquire load. */
    for (int i = 0; i < SPIN_SAMPLE; i++) {
      shmkit__cpu_relax();
      if (atomic_load_explicit(&never, memory_order_acquire) != 0) break;
    }
    t = shmkit__os_now_ns() - t;
    if (t < best) best = t;
  }
  looks = shmkit__channel_spin_looks(best);
  /* Threads that measured at once: the first count stored is everyone's. */
  {
    unsigned none = 0;
    if (!atomic_compare_exchange_strong_explicit(&measured, &none, looks,
                                                 memory_order_relaxed,
                                                 memory_order_relaxed))
      looks = none;
  }
  return looks;
}

void shmkit_channel_set_spin(shmkit_channel *ch, unsigned spins) {
  if (ch == NULL) return;
  ch->spin = spins == SHMKIT_CHANNEL_SPIN_DEFAULT
                 ? shmkit_channel_spin_default()
                 : spins;
}

size_t shmkit_channel_max_message(const shmkit_channel *ch) {
  return ch != NULL ? (size_t)ch->max : 0;
}

/* ---- making, attaching, closing */

static void channel_free(shmkit_channel *ch) {
  shmkit_view_unmap(ch->view);
  shmkit_region_close(ch->region);
  free(ch);
}

/* Points the channel's fields at its side of the header. */
static void channel_bind(shmkit_channel *ch, int role) {
  uint32_t probe = 0;
  int send = role == SHMKIT_CHANNEL_SEND;
  ch_header *h = (ch_header *)(void *)ch->base;

  ch->role = role;
  ch->ring = ch->base + CH_RING;
  ch->mine = send ? &h->head : &h->tail;
  ch->theirs = send ? &h->tail : &h->head;
  ch->my_state = send ? &h->state_send : &h->state_recv;
  ch->their_state = send ? &h->state_recv : &h->state_send;
  ch->my_word = send ? &h->word_send : &h->word_recv;
  ch->their_word = send ? &h->word_recv : &h->word_send;
  ch->my_closed = send ? &h->closed_send : &h->closed_recv;
  ch->their_closed = send ? &h->closed_recv : &h->closed_send;
  ch->my_nowake = send ? &h->nowake_send : &h->nowake_recv;
  ch->their_nowake = send ? &h->nowake_recv : &h->nowake_send;
  ch->spin = shmkit_channel_spin_default();
  /* Asked with a word that differs: no sleep, only whether one exists. */
  ch->word_waits = shmkit__os_word_wait(&probe, 1, 1) != SHMKIT_ENOTSUP;
  /* And a wake-up that finds nobody: the peer must not sleep on its word
   * if this side cannot wake it there. */
  if (shmkit__os_word_wake(&probe) != 0)
    atomic_store_explicit(ch->my_nowake, 1, memory_order_release);
  ch->checked_ms = shmkit__os_coarse_ms();
}

static int channel_map(shmkit_channel **out, shmkit_region *r) {
  shmkit_channel *ch = calloc(1, sizeof(*ch));
  int err;

  if (ch == NULL) return SHMKIT_ENOMEM;
  ch->region = r;
  if ((err = shmkit_view_map(&ch->view, r, 0, 0, SHMKIT_READ_WRITE)) != 0) {
    free(ch);
    return err;
  }
  ch->base = shmkit_view_data(ch->view);
  *out = ch;
  return 0;
}

int shmkit_channel_create(shmkit_channel **out, shmkit_conn *link, int role,
                          size_t capacity, size_t max_message, int timeout_ms) {
  ch_offer offer = {CH_MAGIC, CH_VERSION, 0};
  shmkit_channel *ch;
  shmkit_region *r;
  ch_consts consts;
  uint64_t cap = SHMKIT_CHANNEL_CAPACITY_MIN;
  int err;

  if (out == NULL) return SHMKIT_EINVAL;
  *out = NULL;
  /* A listener is not a link: it has no connected end to watch. */
  if (link == NULL || shmkit__conn_handle(link) == SHMKIT_INVALID_HANDLE ||
      (role != SHMKIT_CHANNEL_SEND && role != SHMKIT_CHANNEL_RECV))
    return SHMKIT_EINVAL;
  if (capacity > SHMKIT_CHANNEL_CAPACITY_MAX) return SHMKIT_E2BIG;
  while (cap < capacity) cap *= 2;
  if (max_message == 0) max_message = (size_t)(cap / 4);
  if (max_message > cap / 4) return SHMKIT_E2BIG;
  if ((err = shmkit_region_create(&r, CH_RING + cap, 0)) != 0) return err;
  /* Neither side may shrink the ring under the other (a fault on the
   * next access): sealed where the system can (Linux). */
  err = shmkit_region_seal(r, SHMKIT_SEAL_SHRINK | SHMKIT_SEAL_GROW);
  if ((err != 0 && err != SHMKIT_ENOTSUP) || (err = channel_map(&ch, r)) != 0) {
    shmkit_region_close(r);
    return err;
  }
  /* A new region reads as zeros: indexes, states and flags start there. */
  consts.magic = CH_MAGIC;
  consts.version = CH_VERSION;
  consts.flags = 0;
  consts.capacity = cap;
  consts.max_message = max_message;
  consts.ring_offset = CH_RING;
  memcpy(ch->base, &consts, sizeof(consts));
  ch->cap = cap;
  ch->max = max_message;
  channel_bind(ch, role);
  ch->watch = shmkit__conn_watch(link);
  offer.role = (uint16_t)role;
  if ((err = shmkit_conn_send(link, &offer, sizeof(offer), &r, 1,
                              timeout_ms)) != 0) {
    channel_free(ch);
    return err;
  }
  ch->link = link;
  *out = ch;
  return 0;
}

/* The header, as the creator wrote it, against the region the system
 * reports: read once into a local copy, then checked. */
static int header_check(shmkit_channel *ch, uint64_t region_size) {
  ch_consts c;
  uint64_t cap;

  memcpy(&c, ch->base, sizeof(c));
  cap = c.capacity;
  if (c.magic != CH_MAGIC) return SHMKIT_EPROTO;
  if (c.version > CH_VERSION) return SHMKIT_EVERSION;
  if (c.version != CH_VERSION || c.flags != 0 || c.ring_offset != CH_RING)
    return SHMKIT_EPROTO;
  if (cap < SHMKIT_CHANNEL_CAPACITY_MIN || cap > SHMKIT_CHANNEL_CAPACITY_MAX ||
      (cap & (cap - 1)) != 0 || c.max_message == 0 || c.max_message > cap / 4 ||
      region_size < CH_RING + cap)
    return SHMKIT_EPROTO;
  ch->cap = cap;
  ch->max = c.max_message;
  return 0;
}

/* The offer's payload, `size` bytes at p, and the count of regions. */
static int offer_check(const void *p, size_t size, size_t count, int *creator) {
  ch_offer o;

  if (size != sizeof(o)) return SHMKIT_EPROTO;
  memcpy(&o, p, sizeof(o));
  if (o.magic != CH_MAGIC) return SHMKIT_EPROTO;
  if (o.version > CH_VERSION) return SHMKIT_EVERSION;
  *creator = o.role;
  if (o.version != CH_VERSION || count != 1 ||
      (o.role != SHMKIT_CHANNEL_SEND && o.role != SHMKIT_CHANNEL_RECV))
    return SHMKIT_EPROTO;
  return 0;
}

int shmkit_channel_attach(shmkit_channel **out, shmkit_conn *link,
                          int timeout_ms) {
  /* A byte more than an offer: a longer payload is seen as one. */
  unsigned char offer[sizeof(ch_offer) + 1];
  shmkit_msg m = SHMKIT_MSG_INIT(offer, sizeof(offer));
  shmkit_channel *ch;
  shmkit_region *r;
  unsigned seals;
  int err, creator;

  if (out == NULL) return SHMKIT_EINVAL;
  *out = NULL;
  if (link == NULL || shmkit__conn_handle(link) == SHMKIT_INVALID_HANDLE)
    return SHMKIT_EINVAL;
  if ((err = shmkit_conn_recv(link, &m, timeout_ms)) != 0)
    return err == SHMKIT_E2BIG ? SHMKIT_EPROTO : err;
  if ((err = offer_check(offer, m.size, m.count, &creator)) != 0 ||
      shmkit_region_access(m.regions[0]) != SHMKIT_READ_WRITE) {
    shmkit_msg_close(&m);
    return err != 0 ? err : SHMKIT_EPROTO;
  }
  r = m.regions[0];
  m.regions[0] = NULL;
  /* One the creator could still shrink, where seals exist, would fault on
   * us; the seals come first, as they read the size again. Larger than the
   * largest ring (and a page) is not a channel's. */
  if ((err = shmkit_region_seals(r, &seals)) == SHMKIT_ENOTSUP)
    err = 0;
  else if (err == 0 && !(seals & SHMKIT_SEAL_SHRINK))
    err = SHMKIT_EPROTO;
  if (err == 0 &&
      (shmkit_region_size(r) < CH_RING + SHMKIT_CHANNEL_CAPACITY_MIN ||
       shmkit_region_size(r) >
           CH_RING + (uint64_t)SHMKIT_CHANNEL_CAPACITY_MAX + 65536))
    err = SHMKIT_EPROTO;
  if (err != 0) {
    shmkit_region_close(r);
    return err;
  }
  if ((err = channel_map(&ch, r)) != 0) {
    shmkit_region_close(r);
    return err;
  }
  if ((err = header_check(ch, shmkit_region_size(r))) != 0) {
    channel_free(ch);
    return err;
  }
  channel_bind(ch, creator == SHMKIT_CHANNEL_SEND ? SHMKIT_CHANNEL_RECV
                                                  : SHMKIT_CHANNEL_SEND);
  /* Our own index is 0: nobody but us writes it, and we have not yet.
   * The sender may be ahead already: each record is checked as it comes. */
  if (atomic_load(ch->mine) != 0) {
    channel_free(ch);
    return SHMKIT_EPROTO;
  }
  ch->watch = shmkit__conn_watch(link);
  ch->link = link;
  *out = ch;
  return 0;
}

int shmkit_channel_from_token(shmkit_channel **out, const char *token,
                              int timeout_ms) {
  shmkit_conn *c;
  int err;

  if (out == NULL) return SHMKIT_EINVAL;
  *out = NULL;
  if ((err = shmkit_conn_from_token(&c, token)) != 0) return err;
  if ((err = shmkit_channel_attach(out, c, timeout_ms)) != 0)
    shmkit_conn_close(c);
  return err;
}

int shmkit_channel_from_env(shmkit_channel **out, const char *name,
                            int timeout_ms) {
  const char *value = NULL;
  int err = shmkit__token_from_env(name, out, &value);

  if (err != 0 && out != NULL) *out = NULL;
  return err != 0 ? err : shmkit_channel_from_token(out, value, timeout_ms);
}

void shmkit_channel_close(shmkit_channel *ch) {
  if (ch == NULL) return;
  if (ch->role == SHMKIT_CHANNEL_SEND && ch->err == 0) publish(ch, 0);
  atomic_store_explicit(ch->my_closed, 1, memory_order_release);
  /* A sleeper on a word would see the end only at its next slice. */
  atomic_fetch_add_explicit(ch->their_word, 1, memory_order_release);
  shmkit__os_word_wake((uint32_t *)ch->their_word);
  shmkit_conn_close(ch->link);
  channel_free(ch);
}
