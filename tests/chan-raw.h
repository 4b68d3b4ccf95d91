/* A channel's peer written from the layout alone, as another program
 * would write it: the region through the public region API, the offer
 * through shmkit_conn_send(), and then the header, the indexes and the
 * records by hand through its own view. It shares no code with
 * src/channel.c, so a test that pits it against shmkit's side tests the
 * layout as published, and it can break any rule on purpose. */
#ifndef SHMKIT_TEST_CHAN_RAW_H
#define SHMKIT_TEST_CHAN_RAW_H

#include <stddef.h>
#include <stdint.h>

#include "shmkit.h"

/* ---- the layout, version 2 */

#define RAW_MAGIC   0x434b4853u /* "SHKC", little-endian */
#define RAW_VERSION 2
#define RAW_RING    256 /* the ring's offset in the region */

enum {
  RAW_OFF_MAGIC = 0,         /* u32 */
  RAW_OFF_VERSION = 4,       /* u16 */
  RAW_OFF_FLAGS = 6,         /* u16, 0 */
  RAW_OFF_CAPACITY = 8,      /* u64, a power of two */
  RAW_OFF_MAX = 16,          /* u64, 1 to capacity / 4 */
  RAW_OFF_RING = 24,         /* u64, RAW_RING */
  RAW_OFF_HEAD = 64,         /* u64, the sender's; nobody relies on it */
  RAW_OFF_TAIL = 128,        /* u64, the receiver's */
  RAW_OFF_STATE_RECV = 192,  /* u32: how the receiver sleeps */
  RAW_OFF_STATE_SEND = 196,  /* u32: how the sender sleeps */
  RAW_OFF_WORD_RECV = 200,   /* u32, bumped to wake the receiver */
  RAW_OFF_WORD_SEND = 204,   /* u32, bumped to wake the sender */
  RAW_OFF_CLOSED_SEND = 208, /* u32, 1 once the sender closed */
  RAW_OFF_CLOSED_RECV = 212, /* u32, 1 once the receiver closed */
  RAW_OFF_NOWAKE_SEND = 216, /* u32, 1: the sender cannot wake a word */
  RAW_OFF_NOWAKE_RECV = 220  /* u32, 1: the receiver cannot wake a word */
};

/* Sleep states: awake, on its word (a futex), on the link (a byte). */
enum { RAW_AWAKE = 0, RAW_ON_WORD = 1, RAW_ON_LINK = 2 };

/* A record: u64 mark (its index + 1, stored last), u32 length, u32 0, the
 * payload padded to 16. A length with the top bit set is padding that
 * runs exactly to the ring's end. */
#define RAW_REC    16
#define RAW_PAD    0x80000000u
#define RAW_A16(n) (((uint64_t)(n) + 15) & ~(uint64_t)15)

/* What the creator writes at offset 0; a test breaks one field. */
typedef struct raw_header {
  uint32_t magic;
  uint16_t version, flags;
  uint64_t capacity, max, ring;
} raw_header;

/* The offer, the payload of the message that carries the region: u32
 * magic, u16 version, u16 the creator's role. */
#define RAW_OFFER_SIZE 8
typedef struct raw_offer {
  uint32_t magic;
  uint16_t version, role;
} raw_offer;

typedef struct raw_chan {
  shmkit_region *region;
  shmkit_view *view;
  shmkit_conn *link;
  unsigned char *base, *ring;
  uint64_t cap, max, size;
  int role; /* this, the raw side's: SHMKIT_CHANNEL_SEND or _RECV */
  /* Sender: where the next record goes. Receiver: the next to read. */
  uint64_t pos;
} raw_chan;

/* A header and an offer as shmkit's creator would write them. */
void raw_header_init(raw_header *h, uint64_t capacity, uint64_t max);
void raw_offer_init(raw_offer *o, int creator_role);
void raw_offer_bytes(const raw_offer *o, unsigned char out[RAW_OFFER_SIZE]);

/* Creates a region of `size` bytes (0: RAW_RING + h->capacity), sealed
 * against shrinking and growing where there are seals, maps it and writes
 * `h`; the raw side is `role`. Its own copy of the capacity
 * and max are h's, which a test keeps sane when it lies in the header.
 * Returns 0 or what the region calls failed with. */
int raw_create(raw_chan *rc, const raw_header *h, uint64_t size, int role);

/* Sends the offer with the region over `link`, which the raw side then
 * owns (raw_close() closes it). Returns what shmkit_conn_send() did. */
int raw_offer_send(raw_chan *rc, shmkit_conn *link, const raw_offer *o);

/* raw_create() with a good header, then the offer: 0, or the error of
 * the call that failed (then nothing is left open but `link`). */
int raw_open(raw_chan *rc, shmkit_conn *link, int role, uint64_t capacity,
             uint64_t max);

/* Works through a mapping made by someone else, whose region starts at
 * `base` (shmkit's own view, found from a pointer it gave into its ring),
 * with `link` (owned from then on) to wake shmkit's side. ThreadSanitizer
 * tells memory apart by its address, so only when both sides touch the
 * very same addresses can it see how they order their accesses. */
void raw_bind(raw_chan *rc, unsigned char *base, uint64_t capacity,
              uint64_t max, int role, shmkit_conn *link);

/* Says this side closed, wakes the peer, and lets go of everything. */
void raw_close(raw_chan *rc);

/* The fields, as the peer's atomics see them. */
uint64_t raw_get64(raw_chan *rc, size_t off);
void raw_set64(raw_chan *rc, size_t off, uint64_t v);
uint32_t raw_get32(raw_chan *rc, size_t off);
void raw_set32(raw_chan *rc, size_t off, uint32_t v);

/* Writes `n` bytes anywhere in the region, cut at its end: a scribble. */
void raw_poke(raw_chan *rc, uint64_t off, const void *bytes, size_t n);

/* Wakes shmkit's side if its state says it sleeps, as the layout says. */
void raw_wake(raw_chan *rc);

/* 1 once shmkit's side closed or its link hung up; reads (and drops) the
 * wake-ups it sent meanwhile. */
int raw_peer_gone(raw_chan *rc);

/* Sleeps up to `ms` on the link, having said so in this side's state
 * (RAW_ON_LINK), until shmkit's side sends a byte to wake it; `ready`
 * is looked at once more after saying so. 1 if ready said so, 0 if not
 * (woken or not), -1 once shmkit's side is gone. */
int raw_sleep(raw_chan *rc, int (*ready)(raw_chan *rc, void *arg), void *arg,
              int ms);

/* ---- the raw sender */

/* Writes a record at pos, word `word` and `n` payload bytes (each cut at
 * the ring's end), then its mark, pos + 1 (release), which publishes it,
 * and moves pos past it (16 + n rounded up to 16); nothing is checked: the
 * caller breaks the rules it means to. raw_record_marked() writes `mark`
 * instead. */
void raw_record(raw_chan *rc, uint32_t word, const void *payload, size_t n);
void raw_record_marked(raw_chan *rc, uint64_t mark, uint32_t word,
                       const void *payload, size_t n);

/* A message as the rules want it: padding first when it would not fit
 * before the ring's end, and only if the receiver's tail leaves room.
 * 0, or 1 when there is no room (or the tail makes no sense). */
int raw_put(raw_chan *rc, const void *data, uint32_t len);

/* raw_put(), sleeping for room up to timeout_ms: 0, 1 (no room in
 * time) or -1 (the receiver is gone). */
int raw_put_wait(raw_chan *rc, const void *data, uint32_t len, int timeout_ms);

/* Stores head = pos (release; what a monitor reads) and wakes the
 * receiver: the records were published by their marks already. */
void raw_publish(raw_chan *rc);

/* ---- the raw receiver */

/* The next message, checked as a careful receiver checks it: 1 with its
 * length in *len and up to `cap` bytes copied, 0 if none, -1 if the
 * sender broke a rule. Does not release it. */
int raw_take(raw_chan *rc, void *buf, size_t cap, size_t *len);

/* raw_take(), sleeping for a message up to timeout_ms: as raw_take(),
 * or -2 once the sender is gone and nothing is left. */
int raw_take_wait(raw_chan *rc, void *buf, size_t cap, size_t *len,
                  int timeout_ms);

/* Stores tail = pos (release) and wakes the sender. */
void raw_release(raw_chan *rc);

#endif /* SHMKIT_TEST_CHAN_RAW_H */
