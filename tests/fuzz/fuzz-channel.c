/* libFuzzer target for channels: the input is a run of operations on a
 * real channel, both sides shmkit's over one connection pair, interleaved
 * with writes of input bytes into the region, the peer's memory, through
 * a view of its own (the region is taken off the link on its way to the
 * attacher, and sent on). After every operation it checks what can be
 * checked:
 *  - always: every code is one the call may return; a size is 1 to max
 *    (and within the receive buffer); a pointer into the ring lies in it,
 *    16-byte aligned, with the message or reservation inside it; once a side
 *    returned SHMKIT_EPROTO it returns it for every call;
 *  - while nothing the sides read was written over (only the header, the
 *    head, the receiver's state and the words, and the padding between
 *    them, which shmkit reads once or not at all): every result is the one
 *    a model of the ring predicts, and every message is the one sent,
 *    byte for byte.
 *
 * Input: byte 0 bit 0 chooses a ring of 8 KiB (else 4 KiB), bit 1 writes
 * over the header before the attacher reads it (a count, then offset and
 * value pairs: the attacher must refuse it with SHMKIT_EPROTO or
 * SHMKIT_EVERSION, or take it and hold to the invariants), bytes 1-2 the
 * max; then operations, each a byte and its arguments (see step()). All
 * timeouts are 0: nothing sleeps, so a run takes microseconds. Each run
 * makes its own pair, region and channels, and closes them. Run:
 * build-fuzz/bin/shmkit-fuzz-channel tests/fuzz/corpus-channel */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shmkit.h"

#include "channel-model.h"

static unsigned char buf[65536];
static int trace; /* SHMKIT_FUZZ_TRACE set: each operation, on stderr */

#define TRACE(r, what, arg, err)                                               \
  do {                                                                         \
    if (trace) trace_op(r, what, (unsigned long)(arg), err);                   \
  } while (0)

static void trace_op(const struct run *r, const char *what, unsigned long arg,
                     int err);

static unsigned take8(run *r) {
  if (r->left == 0) return 0;
  r->left--;
  return *r->in++;
}

static unsigned take16(run *r) {
  unsigned lo = take8(r);
  return lo | take8(r) << 8;
}

static void fill(unsigned char *p, size_t n, uint32_t seq) {
  for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(seq * 31 + i);
}

static int filled(const unsigned char *p, size_t n, uint32_t seq) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != (unsigned char)(seq * 31 + i)) return 0;
  return 1;
}

/* A pointer shmkit gave for n bytes lies in a ring, aligned. */
static void in_ring(const unsigned char *ring, uint64_t cap,
                    const unsigned char *p, size_t n) {
  CHECK(p >= ring + REC && (uintptr_t)(p - ring) % 16 == 0);
  CHECK((uint64_t)(p - ring) + n <= cap);
}

static void trace_op(const run *r, const char *what, unsigned long arg,
                     int err) {
  uint64_t head, tail;

  memcpy(&head, r->base + OFF_HEAD, 8);
  memcpy(&tail, r->base + OFF_TAIL, 8);
  fprintf(stderr,
          "%-8s %5lu -> %-17s model: pos %llu tail %llu, %lu queued (%lu "
          "published, %lu peeked); ring: head %llu tail %llu\n",
          what, arg, shmkit_err_name(err), (unsigned long long)r->pos,
          (unsigned long long)r->tail, (unsigned long)r->count,
          (unsigned long)r->pending_from, (unsigned long)r->peeked,
          (unsigned long long)head, (unsigned long long)tail);
}

/* ---- the sender's operations */

static void after_tx(run *r, int err) {
  if (r->tx_err) CHECK(err == SHMKIT_EPROTO);
  if (err == SHMKIT_EPROTO) r->tx_err = 1;
  if (r->exact) CHECK(err != SHMKIT_EPROTO);
}

/* send (copy) or reserve of `size`; the code must match the model's,
 * and a reservation lies in the ring. */
static void op_reserve(run *r, int copy) {
  size_t size = take16(r) % (r->max + 2);
  int want = r->exact ? expect_reserve(r, size) : 0, err;
  void *p = buf;

  if (r->tx == NULL) return;
  if (copy) {
    fill(buf, size, r->seq);
    err = shmkit_channel_send(r->tx, buf, size, 0);
  } else {
    err = shmkit_channel_reserve(r->tx, size, &p, 0);
    CHECK((err == 0) == (p != NULL));
  }
  TRACE(r, copy ? "send" : "reserve", size, err);
  after_tx(r, err);
  if (!r->tx_err) {
    if (size == 0 || r->reserved != 0)
      CHECK(err == SHMKIT_EINVAL);
    else if (size > r->max)
      CHECK(err == SHMKIT_E2BIG);
    else
      CHECK(err == 0 || err == SHMKIT_ECLOSED || err == SHMKIT_ETIMEDOUT);
  }
  if (r->exact) CHECK(err == want);
  /* A reserve that must wait publishes first, whatever it then finds. */
  if (r->exact && err == SHMKIT_ETIMEDOUT) model_publish(r);
  if (err != 0) return;
  if (r->exact) model_reserved(r, size);
  if (copy) {
    if (r->exact)
      model_commit(r, size, 0);
    else
      r->seq++;
    return;
  }
  in_ring(r->tx_ring, r->cap, p, size);
  if (r->exact)
    CHECK((unsigned char *)p == r->tx_ring + (r->pos & (r->cap - 1)) + REC);
  fill(p, size, r->seq);
  r->reserved = size;
}

static void op_commit(run *r) {
  size_t size = take16(r) % (r->reserved + 2);
  unsigned flags = take8(r) & 3;
  int err;

  if (r->tx == NULL) return;
  err = shmkit_channel_commit(r->tx, size, flags);
  TRACE(r, flags ? "commit+" : "commit", size, err);
  after_tx(r, err);
  if (r->tx_err) return;
  if (size == 0 || size > r->reserved || (flags & 2) != 0) {
    CHECK(err == SHMKIT_EINVAL);
    return;
  }
  /* Committed either way; then the receiver may be found gone. */
  CHECK(err == 0 || err == SHMKIT_ECLOSED);
  if (r->exact) CHECK(err == (r->rx_closed ? SHMKIT_ECLOSED : 0));
  if (r->exact) {
    model_commit(r, size, flags & SHMKIT_CHANNEL_MORE);
  } else {
    r->reserved = 0;
    r->seq++;
  }
}

static void op_flush(run *r) {
  int err;

  if (r->tx == NULL) return;
  err = shmkit_channel_flush(r->tx);
  TRACE(r, "flush", 0, err);
  after_tx(r, err);
  if (!r->tx_err) CHECK(err == 0);
  if (r->exact) model_publish(r);
}

/* ---- the receiver's operations */

static void after_rx(run *r, int err) {
  if (r->rx_err) CHECK(err == SHMKIT_EPROTO);
  if (err == SHMKIT_EPROTO) r->rx_err = 1;
  if (r->exact) CHECK(err != SHMKIT_EPROTO);
}

static void op_recv(run *r) {
  size_t capacity = take16(r) % (r->max + 2), n = 12345;
  int err;

  if (r->rx == NULL) return;
  err = shmkit_channel_recv(r->rx, buf, capacity, &n, 0);
  TRACE(r, "recv", capacity, err);
  after_rx(r, err);
  if (err == 0)
    CHECK(n >= 1 && n <= capacity && n <= r->rx_max);
  else if (err == SHMKIT_E2BIG)
    CHECK(n > capacity && n <= r->rx_max);
  else
    CHECK(n == 0);
  if (!r->rx_err)
    CHECK(err == 0 || err == SHMKIT_E2BIG || err == SHMKIT_ETIMEDOUT ||
          err == SHMKIT_ECLOSED);
  if (!r->exact) return;
  model_drop(r, r->peeked); /* any receive releases what was peeked at */
  CHECK(err == SHMKIT_E2BIG ? expect_take(r) == 0 : err == expect_take(r));
  if (err == SHMKIT_E2BIG) { /* it stays, but the padding is behind */
    CHECK(n == r->q[r->peeked].size);
    r->rpos = r->q[r->peeked].at;
  } else if (err == 0) {
    const msg *m = &r->q[r->peeked];
    CHECK(n == m->size && filled(buf, n, m->seq));
  }
  model_received(r, err);
}

static void op_peek(run *r) {
  const void *q = buf;
  size_t n = 12345;
  int err;

  if (r->rx == NULL) return;
  err = shmkit_channel_peek(r->rx, &q, &n, 0);
  TRACE(r, "peek", n, err);
  after_rx(r, err);
  CHECK((err == 0) == (q != NULL));
  if (err != 0) CHECK(n == 0);
  if (!r->rx_err)
    CHECK(err == 0 || err == SHMKIT_ETIMEDOUT || err == SHMKIT_ECLOSED);
  if (err == 0) {
    CHECK(n >= 1 && n <= r->rx_max);
    in_ring(r->rx_ring, r->cap, q, n);
  }
  if (!r->exact) return;
  CHECK(err == expect_take(r));
  if (err != 0) model_give_back_unheld(r); /* before it would wait */
  if (err == 0) {
    const msg *m = &r->q[r->peeked++];
    CHECK(n == m->size && filled(q, n, m->seq));
    r->rpos = m->end;
    CHECK((const unsigned char *)q ==
          r->rx_ring + (m->at & (r->cap - 1)) + REC);
  }
}

static void op_release(run *r) {
  int err;

  if (r->rx == NULL) return;
  err = shmkit_channel_release(r->rx);
  TRACE(r, "release", r->peeked, err);
  after_rx(r, err);
  if (!r->rx_err) CHECK(err == 0);
  if (!r->exact) return;
  model_give_back(r);
  model_drop(r, r->peeked);
}

/* ---- either side */

static void op_arm(run *r) {
  int send = take8(r) & 1, err;
  uint64_t pad;

  if ((send ? r->tx : r->rx) == NULL) return;
  err = shmkit_channel_arm(send ? r->tx : r->rx);
  TRACE(r, send ? "arm tx" : "arm rx", err < 0 ? 0 : err, err < 0 ? err : 0);
  if (send)
    after_tx(r, err);
  else
    after_rx(r, err);
  if (!(send ? r->tx_err : r->rx_err)) CHECK(err == 0 || err == 1);
  if (!r->exact) return;
  if (send) { /* it publishes first, then asks for room for max */
    model_publish(r);
    CHECK(err == (r->rx_closed ||
                  r->cap - (r->pos - r->tail) >= need(r, r->max, &pad)));
    if (err == 0) r->tx_armed = 1;
  } else {
    /* It gives back first, but not what was peeked at; ready when a
     * message waits past that (padding alone is gone over, not ready). */
    model_give_back_unheld(r);
    CHECK(err == (r->tx_closed || published(r) > r->peeked));
    /* Looking, it went over the padding before the next message, or over
     * all that was published when no message waits; a receiver whose
     * sender closed is ready without looking. */
    if (!r->tx_closed)
      r->rpos = published(r) > r->peeked ? r->q[r->peeked].at : r->head;
  }
}

static void op_close(run *r, int send) {
  if (send && r->tx != NULL) {
    shmkit_channel_close(r->tx); /* publishes what was kept */
    r->tx = NULL;
    r->tx_closed = 1;
    if (r->exact) model_publish(r);
  } else if (!send && r->rx != NULL) {
    shmkit_channel_close(r->rx);
    r->rx = NULL;
    r->rx_closed = 1;
  }
}

/* ---- writes into the region */

/* What the sides read after attaching: the tail, the sender's state
 * (when the receiver stores its tail), the closed flags and the ring. The
 * rest of the header is read once at attach, the head never, and the
 * receiver's state and the words only steer wake-ups, which a timeout of 0
 * never waits for. */
static int read_by_sides(uint64_t off, size_t n) {
  for (uint64_t i = off; i < off + n; i++)
    if ((i >= OFF_TAIL && i < OFF_TAIL + 8) ||
        (i >= OFF_SSTATE && i < OFF_SSTATE + 4) || (i >= 208 && i < 216) ||
        i >= RING)
      return 1;
  return 0;
}

static void poke(run *r, uint64_t off, const unsigned char *b, size_t n) {
  if (off >= r->size) return;
  if (n > r->size - off) n = (size_t)(r->size - off);
  if (memcmp(r->base + off, b, n) == 0) return;
  if (read_by_sides(off, n)) r->exact = 0;
  memcpy(r->base + off, b, n);
  TRACE(r, r->exact ? "poke" : "poke!", off, 0);
}

static void op_scribble(run *r) {
  uint64_t off = take16(r) % r->size;
  size_t n = take8(r) % 16 + 1;
  unsigned char b[16];

  for (size_t i = 0; i < n; i++) b[i] = (unsigned char)take8(r);
  poke(r, off, b, n);
}

/* A record's header, near where the receiver reads: the length (a 32-bit
 * word), or the mark, one that the receiver would take there (bit 0),
 * the index + 1 of up to 8 records back or ahead. */
static void op_word(run *r) {
  unsigned how = take8(r);
  uint64_t at = r->rpos + 16 * (uint64_t)(int64_t)(int8_t)take8(r) % r->cap;
  uint64_t off = RING + (at & (r->cap - 1)), mark = at + 1;
  uint32_t w = take16(r);

  w |= (uint32_t)take16(r) << 16;
  if (how & 1)
    poke(r, off, (unsigned char *)&mark, 8);
  else
    poke(r, off + 8, (unsigned char *)&w, 4);
}

/* The head or the tail (bit 0) moved by a number of words, bytes (bit 1)
 * or lines of 512 bytes (bit 2): a record at the ring's far end is then
 * within reach of a head moved once. */
static void op_nudge(run *r) {
  unsigned how = take8(r);
  int8_t by = (int8_t)take8(r);
  uint64_t off = how & 1 ? OFF_TAIL : OFF_HEAD, v;

  memcpy(&v, r->base + off, 8);
  v += (uint64_t)(int64_t)by * (how & 2 ? 1 : how & 4 ? 512 : 8);
  poke(r, off, (unsigned char *)&v, 8);
}

static void op_send(run *r) {
  op_reserve(r, 1);
}

static void op_reserve_only(run *r) {
  op_reserve(r, 0);
}

static void op_close_tx(run *r) {
  op_close(r, 1);
}

static void op_close_rx(run *r) {
  op_close(r, 0);
}

/* The operations, by the input byte that picks them (mod 13), and the
 * arguments each takes from the input after it. */
static void (*const ops[])(run *r) = {
    op_send,         /* u16 size */
    op_reserve_only, /* u16 size */
    op_commit,       /* u16 size, u8 flags */
    op_flush,        /* */
    op_recv,         /* u16 capacity */
    op_peek,         /* */
    op_release,      /* */
    op_scribble,     /* u16 offset, u8 length, the bytes */
    op_word,         /* u8 which, i8 record, u32 length */
    op_nudge,        /* u8 which, i8 by */
    op_close_tx,     /* */
    op_close_rx,     /* */
    op_arm,          /* u8 side */
};

static void step(run *r) {
  ops[take8(r) % (sizeof(ops) / sizeof(ops[0]))](r);
}

/* ---- one run */

/* Writes `count` input bytes into the header before the attacher reads
 * it (each: offset, value): 1 if any changed. */
static int poke_header(run *r, unsigned count) {
  int changed = 0;

  for (unsigned i = 0; i < count; i++) {
    unsigned off = take8(r), v = take8(r);
    changed |= r->base[off] != v;
    r->base[off] = (unsigned char)v;
  }
  return changed;
}

/* The channel: created on one end of a new pair, its region taken off
 * the other end, mapped, (its header written over, as input byte 3 says)
 * and sent on to be attached there. 0, or -1 if the attacher refused. */
static int open_run(run *r, int hostile_header) {
  unsigned char offer[16];
  shmkit_msg m = SHMKIT_MSG_INIT(offer, sizeof(offer));
  shmkit_conn *a, *b;
  const void *q;
  void *p;
  size_t n;
  int err;

  if (shmkit_conn_pair(&a, &b) != 0) abort();
  if (shmkit_channel_create(&r->tx, a, SHMKIT_CHANNEL_SEND, r->cap, r->max,
                            0) != 0)
    abort();
  CHECK(shmkit_conn_recv(b, &m, 0) == 0 && m.count == 1);
  r->size = shmkit_region_size(m.regions[0]);
  CHECK(r->size == RING + r->cap);
  CHECK(shmkit_view_map(&r->view, m.regions[0], 0, 0, SHMKIT_READ_WRITE) == 0);
  r->base = shmkit_view_data(r->view);
  if (hostile_header && poke_header(r, take8(r) % 16)) {
    /* What the attacher believes of the ring may now differ from what
     * the sender does: only the invariants hold, and a size is bounded
     * by the largest max any ring that fits the region can have. */
    r->exact = 0;
    r->rx_max = r->cap / 4;
  }
  CHECK(shmkit_conn_send(a, offer, m.size, m.regions, 1, 0) == 0);
  shmkit_msg_close(&m);
  if ((err = shmkit_channel_attach(&r->rx, b, 0)) != 0) {
    CHECK(!r->exact && (err == SHMKIT_EPROTO || err == SHMKIT_EVERSION));
    CHECK(r->rx == NULL);
    shmkit_conn_close(b);
    return -1;
  }
  shmkit_channel_set_spin(r->tx, 0);
  shmkit_channel_set_spin(r->rx, 0);
  /* A first message, at the start of the ring: where each side maps it.
   * (Words written before could say the receiver closed.) */
  if ((err = shmkit_channel_reserve(r->tx, 1, &p, 0)) != 0) {
    CHECK(!r->exact && err == SHMKIT_ECLOSED);
    return -1;
  }
  fill(p, 1, 0);
  CHECK(shmkit_channel_commit(r->tx, 1, 0) == 0);
  r->tx_ring = (unsigned char *)p - REC;
  r->pos = r->head = r->rpos = r->tail = REC + 16;
  r->seq = 1;
  if (shmkit_channel_peek(r->rx, &q, &n, 0) != 0) {
    CHECK(!r->exact);
    return -1;
  }
  CHECK(n == 1 && filled(q, 1, 0) && shmkit_channel_release(r->rx) == 0);
  r->rx_ring = (unsigned char *)q - REC;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static run r;

  if (size < 3 || size > 4096) return 0;
  trace = getenv("SHMKIT_FUZZ_TRACE") != NULL;
  memset(&r, 0, sizeof(r));
  r.in = data + 3;
  r.left = size - 3;
  r.cap = data[0] & 1 ? 8192 : 4096;
  r.max = r.rx_max = 1 + (data[1] | data[2] << 8) % (r.cap / 4);
  r.exact = 1;
  if (open_run(&r, data[0] & 2) == 0)
    while (r.left > 0) step(&r);
  shmkit_channel_close(r.tx);
  shmkit_channel_close(r.rx);
  shmkit_view_unmap(r.view);
  return 0;
}
