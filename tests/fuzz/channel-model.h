/* The fuzz target's model of a channel (fuzz-channel.c): the layout's
 * constants it needs, one run's state, and what each operation must do
 * to the ring while nothing the sides read was written over. Included
 * once, by fuzz-channel.c. */
#ifndef SHMKIT_FUZZ_CHANNEL_MODEL_H
#define SHMKIT_FUZZ_CHANNEL_MODEL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shmkit.h"

#define RING       256 /* the ring's offset in the region (the layout) */
#define OFF_HEAD   64
#define OFF_TAIL   128
#define OFF_SSTATE 196 /* the sender's sleep state: the receiver reads it */
#define REC        16  /* a record's header: u64 mark, u32 length, u32 0 */
#define QMAX       512 /* messages in a ring of 8 KiB: at most 8192 / 32 */
#define A16(n)     (((uint64_t)(n) + 15) & ~(uint64_t)15)

#define CHECK(x)                                                               \
  do {                                                                         \
    if (!(x)) abort();                                                         \
  } while (0)

typedef struct msg {
  uint32_t seq, size;
  uint64_t at, end; /* where its record starts and where the next does */
} msg;

/* One run: the channels, the peer's view, and the model. */
typedef struct run {
  const uint8_t *in;
  size_t left;
  shmkit_channel *tx, *rx;
  shmkit_view *view;
  unsigned char *base;
  uint64_t size, cap, max;
  uint64_t rx_max; /* the largest the receiver may take: max, or more if
                      the header it attached to was written over */
  unsigned char *tx_ring, *rx_ring;
  int tx_err, rx_err, tx_closed, rx_closed;
  int tx_armed; /* the sender's state says it waits (its arm returned 0) */
  int exact;    /* the model still holds: nothing the sides read was hit */
  /* The model: the sender's end (pos, padding before an open reservation
   * included) and the head it published; the receiver's end (rpos: past
   * what it peeked at, and past padding it went over) and the tail it
   * stored (a quarter of the ring at a time, or at once for a sender
   * that waits); messages committed and not yet published (MORE),
   * published and not yet released (the first `peeked` peeked at). */
  uint64_t pos, head, rpos, tail;
  size_t reserved;
  uint32_t seq;
  msg q[QMAX];
  size_t pending_from, count, peeked; /* q[0..count), pending at the end */
} run;

/* ---- the model */

/* Published: the messages committed with MORE join the others, and the
 * padding before an open reservation goes with them. */
static void model_publish(run *r) {
  r->pending_from = r->count;
  r->head = r->pos;
}

static size_t published(const run *r) {
  return r->pending_from;
}

/* The room a message of `size` takes at pos, with padding to the end. */
static uint64_t need(const run *r, uint64_t size, uint64_t *pad) {
  uint64_t total = REC + A16(size), off = r->pos & (r->cap - 1);
  *pad = off + total > r->cap ? r->cap - off : 0;
  return *pad + total;
}

static int has_room(const run *r, uint64_t size) {
  uint64_t pad;
  return r->cap - (r->pos - r->tail) >= need(r, size, &pad);
}

/* What reserve (and send) must return, the sides untouched. */
static int expect_reserve(const run *r, size_t size) {
  if (size == 0 || r->reserved != 0) return SHMKIT_EINVAL;
  if (size > r->max) return SHMKIT_E2BIG;
  if (r->rx_closed) return SHMKIT_ECLOSED;
  return has_room(r, size) ? 0 : SHMKIT_ETIMEDOUT;
}

static void model_reserved(run *r, size_t size) {
  uint64_t pad;
  need(r, size, &pad);
  r->pos += pad;
  r->reserved = size;
}

static void model_commit(run *r, size_t size, int more) {
  msg *m;

  CHECK(r->count < QMAX);
  m = &r->q[r->count++];
  m->seq = r->seq++;
  m->size = (uint32_t)size;
  m->at = r->pos;
  r->pos += REC + A16(size);
  m->end = r->pos;
  r->reserved = 0;
  if (!more) model_publish(r);
}

/* The receiver stored its tail: all it went past. A sender that waited
 * for it is woken (its state swapped back), if there was room to give. */
static void model_give_back(run *r) {
  if (r->tail == r->rpos) return;
  r->tail = r->rpos;
  r->tx_armed = 0;
}

/* The same before the receiver waits (arm, or a peek that finds
 * nothing): not the messages peeked at and not released, which start at
 * the first one's record. */
static void model_give_back_unheld(run *r) {
  uint64_t to = r->peeked > 0 ? r->q[0].at : r->rpos;

  if (r->tail == to) return;
  r->tail = to;
  r->tx_armed = 0;
}

/* The receiver is done with the first n messages. */
static void model_drop(run *r, size_t n) {
  memmove(r->q, r->q + n, (r->count - n) * sizeof(msg));
  r->count -= n;
  r->pending_from -= n;
  r->peeked = 0;
}

/* What the next take must find: the next message not peeked at, or
 * nothing (past any padding published alone): the end once the sender
 * closed. */
static int expect_take(run *r) {
  if (published(r) > r->peeked) return 0;
  r->rpos = r->head;
  return r->tx_closed ? SHMKIT_ECLOSED : SHMKIT_ETIMEDOUT;
}

/* A receive took one message, or found nothing: either way the tail is
 * stored once a quarter of the ring was taken since the last store, or
 * when the sender waits. */
static void model_received(run *r, int err) {
  if (err == 0) {
    r->rpos = r->q[r->peeked].end;
    model_drop(r, r->peeked + 1);
  }
  if (err != SHMKIT_E2BIG && (r->rpos - r->tail >= r->cap / 4 || r->tx_armed))
    model_give_back(r);
}

#endif /* SHMKIT_FUZZ_CHANNEL_MODEL_H */
