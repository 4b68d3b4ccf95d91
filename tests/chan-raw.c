/* The raw channel peer (chan-raw.h): the layout by hand, through its own
 * view of the region. Only shmkit's public API and the system. */
#include <stdatomic.h>
#include <string.h>

#include "chan-raw.h"

#if defined(__linux__)
#  include <limits.h>
#  include <linux/futex.h>
#  include <sys/syscall.h>
#  include <unistd.h>

static void word_wake(_Atomic uint32_t *w) {
  syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}
#else
/* shmkit sleeps on its link where there is no futex: a byte wakes it. */
static void word_wake(_Atomic uint32_t *w) {
  (void)w;
}
#endif

static _Atomic uint64_t *at64(raw_chan *rc, size_t off) {
  return (_Atomic uint64_t *)(void *)(rc->base + off);
}

static _Atomic uint32_t *at32(raw_chan *rc, size_t off) {
  return (_Atomic uint32_t *)(void *)(rc->base + off);
}

uint64_t raw_get64(raw_chan *rc, size_t off) {
  return atomic_load_explicit(at64(rc, off), memory_order_acquire);
}

void raw_set64(raw_chan *rc, size_t off, uint64_t v) {
  atomic_store(at64(rc, off), v);
}

uint32_t raw_get32(raw_chan *rc, size_t off) {
  return atomic_load_explicit(at32(rc, off), memory_order_acquire);
}

void raw_set32(raw_chan *rc, size_t off, uint32_t v) {
  atomic_store(at32(rc, off), v);
}

void raw_header_init(raw_header *h, uint64_t capacity, uint64_t max) {
  h->magic = RAW_MAGIC;
  h->version = RAW_VERSION;
  h->flags = 0;
  h->capacity = capacity;
  h->max = max;
  h->ring = RAW_RING;
}

void raw_offer_init(raw_offer *o, int creator_role) {
  o->magic = RAW_MAGIC;
  o->version = RAW_VERSION;
  o->role = (uint16_t)creator_role;
}

void raw_offer_bytes(const raw_offer *o, unsigned char out[RAW_OFFER_SIZE]) {
  memcpy(out, &o->magic, 4);
  memcpy(out + 4, &o->version, 2);
  memcpy(out + 6, &o->role, 2);
}

int raw_create(raw_chan *rc, const raw_header *h, uint64_t size, int role) {
  int err;

  memset(rc, 0, sizeof(*rc));
  rc->size = size != 0 ? size : RAW_RING + h->capacity;
  if ((err = shmkit_region_create(&rc->region, rc->size, 0)) != 0) return err;
  /* As the layout asks where there are seals: nobody may shrink the ring. */
  err = shmkit_region_seal(rc->region, SHMKIT_SEAL_SHRINK | SHMKIT_SEAL_GROW);
  if (err == SHMKIT_ENOTSUP) err = 0;
  if (err == 0)
    err = shmkit_view_map(&rc->view, rc->region, 0, 0, SHMKIT_READ_WRITE);
  if (err != 0) {
    shmkit_region_close(rc->region);
    return err;
  }
  rc->base = shmkit_view_data(rc->view);
  rc->ring = rc->size > RAW_RING ? rc->base + RAW_RING : NULL;
  rc->cap = h->capacity;
  rc->max = h->max;
  rc->role = role;
  /* Cut at the region's end: a test may make it smaller than a header. */
  raw_poke(rc, RAW_OFF_MAGIC, &h->magic, 4);
  raw_poke(rc, RAW_OFF_VERSION, &h->version, 2);
  raw_poke(rc, RAW_OFF_FLAGS, &h->flags, 2);
  raw_poke(rc, RAW_OFF_CAPACITY, &h->capacity, 8);
  raw_poke(rc, RAW_OFF_MAX, &h->max, 8);
  raw_poke(rc, RAW_OFF_RING, &h->ring, 8);
  return 0;
}

int raw_offer_send(raw_chan *rc, shmkit_conn *link, const raw_offer *o) {
  unsigned char b[RAW_OFFER_SIZE];

  raw_offer_bytes(o, b);
  rc->link = link;
  return shmkit_conn_send(link, b, sizeof(b), &rc->region, 1, 5000);
}

int raw_open(raw_chan *rc, shmkit_conn *link, int role, uint64_t capacity,
             uint64_t max) {
  raw_header h;
  raw_offer o;
  int err;

  raw_header_init(&h, capacity, max);
  raw_offer_init(&o, role);
  if ((err = raw_create(rc, &h, 0, role)) != 0) return err;
  if ((err = raw_offer_send(rc, link, &o)) != 0) {
    rc->link = NULL; /* still the caller's */
    raw_close(rc);
  }
  return err;
}

void raw_bind(raw_chan *rc, unsigned char *base, uint64_t capacity,
              uint64_t max, int role, shmkit_conn *link) {
  memset(rc, 0, sizeof(*rc));
  rc->base = base;
  rc->ring = base + RAW_RING;
  rc->size = RAW_RING + capacity;
  rc->cap = capacity;
  rc->max = max;
  rc->role = role;
  rc->link = link;
}

void raw_close(raw_chan *rc) {
  int send = rc->role == SHMKIT_CHANNEL_SEND;
  _Atomic uint32_t *word;

  if (rc->size >= RAW_RING) {
    raw_set32(rc, send ? RAW_OFF_CLOSED_SEND : RAW_OFF_CLOSED_RECV, 1);
    word = at32(rc, send ? RAW_OFF_WORD_RECV : RAW_OFF_WORD_SEND);
    atomic_fetch_add(word, 1);
    word_wake(word);
  }
  shmkit_view_unmap(rc->view);
  shmkit_region_close(rc->region);
  shmkit_conn_close(rc->link);
  memset(rc, 0, sizeof(*rc));
}

void raw_poke(raw_chan *rc, uint64_t off, const void *bytes, size_t n) {
  if (off >= rc->size) return;
  if (n > rc->size - off) n = (size_t)(rc->size - off);
  memcpy(rc->base + off, bytes, n);
}

void raw_wake(raw_chan *rc) {
  int send = rc->role == SHMKIT_CHANNEL_SEND;
  _Atomic uint32_t *state =
      at32(rc, send ? RAW_OFF_STATE_RECV : RAW_OFF_STATE_SEND);
  _Atomic uint32_t *word =
      at32(rc, send ? RAW_OFF_WORD_RECV : RAW_OFF_WORD_SEND);
  uint32_t s = atomic_load(state);

  /* Only the side that swaps the state back to awake wakes. */
  if (s == RAW_AWAKE ||
      !atomic_compare_exchange_strong(state, &s, (uint32_t)RAW_AWAKE))
    return;
  if (s == RAW_ON_WORD) {
    atomic_fetch_add(word, 1);
    word_wake(word);
  } else {
    shmkit_conn_send(rc->link, "w", 1, NULL, 0, 0);
  }
}

int raw_peer_gone(raw_chan *rc) {
  int send = rc->role == SHMKIT_CHANNEL_SEND;
  char b[8];
  shmkit_msg m = SHMKIT_MSG_INIT(b, sizeof(b));
  int err;

  if (raw_get32(rc, send ? RAW_OFF_CLOSED_RECV : RAW_OFF_CLOSED_SEND) != 0)
    return 1;
  while ((err = shmkit_conn_recv(rc->link, &m, 0)) == 0) shmkit_msg_close(&m);
  shmkit_msg_close(&m);
  return err == SHMKIT_ECLOSED;
}

int raw_sleep(raw_chan *rc, int (*ready)(raw_chan *rc, void *arg), void *arg,
              int ms) {
  int send = rc->role == SHMKIT_CHANNEL_SEND;
  _Atomic uint32_t *state =
      at32(rc, send ? RAW_OFF_STATE_SEND : RAW_OFF_STATE_RECV);
  char b[8];
  shmkit_msg m = SHMKIT_MSG_INIT(b, sizeof(b));
  int r, err;

  /* Say so, then look once more: the waker publishes, then reads the
   * state, so one of the two sees the other. */
  atomic_store(state, (uint32_t)RAW_ON_LINK);
  atomic_thread_fence(memory_order_seq_cst);
  if ((r = ready(rc, arg)) == 0 && raw_peer_gone(rc))
    r = ready(rc, arg) ? 1 : -1; /* what it sent before it went */
  if (r != 0) {
    atomic_store(state, (uint32_t)RAW_AWAKE);
    return r;
  }
  err = shmkit_conn_recv(rc->link, &m, ms);
  shmkit_msg_close(&m);
  atomic_store(state, (uint32_t)RAW_AWAKE);
  if (ready(rc, arg) != 0) return 1;
  return err == SHMKIT_ECLOSED ? -1 : 0;
}

/* Writes n bytes at ring offset `off`, cut at the ring's end. */
static void ring_write(raw_chan *rc, uint64_t off, const void *b, size_t n) {
  if (off >= rc->cap) return;
  if (n > rc->cap - off) n = (size_t)(rc->cap - off);
  memcpy(rc->ring + off, b, n);
}

void raw_record_marked(raw_chan *rc, uint64_t mark, uint32_t word,
                       const void *payload, size_t n) {
  uint64_t off = rc->pos & (rc->cap - 1);

  if (payload != NULL) ring_write(rc, off + RAW_REC, payload, n);
  if (off + RAW_REC <= rc->cap) {
    atomic_store_explicit(at32(rc, RAW_RING + off + 8), word,
                          memory_order_relaxed);
    atomic_store_explicit(at32(rc, RAW_RING + off + 12), 0,
                          memory_order_relaxed);
    atomic_store_explicit(at64(rc, RAW_RING + off), mark, memory_order_release);
  }
  rc->pos += (word & RAW_PAD) ? (word & ~RAW_PAD) : RAW_REC + RAW_A16(n);
}

void raw_record(raw_chan *rc, uint32_t word, const void *payload, size_t n) {
  raw_record_marked(rc, rc->pos + 1, word, payload, n);
}

int raw_put(raw_chan *rc, const void *data, uint32_t len) {
  uint64_t total = RAW_REC + RAW_A16(len), off = rc->pos & (rc->cap - 1);
  uint64_t pad = off + total > rc->cap ? rc->cap - off : 0;
  uint64_t tail = raw_get64(rc, RAW_OFF_TAIL);

  if (tail > rc->pos || rc->pos - tail > rc->cap ||
      rc->cap - (rc->pos - tail) < pad + total)
    return 1;
  if (pad != 0) raw_record(rc, RAW_PAD | (uint32_t)pad, NULL, 0);
  raw_record(rc, len, data, len);
  return 0;
}

struct put_args {
  const void *data;
  uint32_t len;
};

static int put_ready(raw_chan *rc, void *arg) {
  struct put_args *a = arg;
  return raw_put(rc, a->data, a->len) == 0;
}

int raw_put_wait(raw_chan *rc, const void *data, uint32_t len, int timeout_ms) {
  struct put_args a = {data, len};

  for (int waited = 0;; waited += 10) {
    int r;
    if (put_ready(rc, &a)) return 0;
    if (waited >= timeout_ms) return 1;
    if ((r = raw_sleep(rc, put_ready, &a, 10)) != 0) return r > 0 ? 0 : -1;
  }
}

void raw_publish(raw_chan *rc) {
  raw_set64(rc, RAW_OFF_HEAD, rc->pos);
  raw_wake(rc);
}

int raw_take(raw_chan *rc, void *buf, size_t cap, size_t *len) {
  for (int pads = 0; pads < 2; pads++) {
    uint64_t off = rc->pos & (rc->cap - 1), total;
    uint32_t w;

    if (raw_get64(rc, RAW_RING + off) != rc->pos + 1) return 0;
    w = atomic_load_explicit(at32(rc, RAW_RING + off + 8),
                             memory_order_relaxed);
    if (w & RAW_PAD) {
      total = rc->cap - off;
      if (off == 0 || (w & ~RAW_PAD) != total) return -1;
      rc->pos += total;
      continue;
    }
    total = RAW_REC + RAW_A16(w);
    if (w == 0 || w > rc->max || off + total > rc->cap) return -1;
    *len = w;
    memcpy(buf, rc->ring + off + RAW_REC, w < cap ? w : cap);
    rc->pos += total;
    return 1;
  }
  return -1;
}

struct take_args {
  void *buf;
  size_t cap, *len;
  int r;
};

static int take_ready(raw_chan *rc, void *arg) {
  struct take_args *a = arg;
  return (a->r = raw_take(rc, a->buf, a->cap, a->len)) != 0;
}

int raw_take_wait(raw_chan *rc, void *buf, size_t cap, size_t *len,
                  int timeout_ms) {
  struct take_args a = {buf, cap, len, 0};

  for (int waited = 0;; waited += 10) {
    int r;
    if (take_ready(rc, &a)) return a.r;
    if (waited >= timeout_ms) return 0;
    if ((r = raw_sleep(rc, take_ready, &a, 10)) != 0) return r > 0 ? a.r : -2;
  }
}

void raw_release(raw_chan *rc) {
  raw_set64(rc, RAW_OFF_TAIL, rc->pos);
  raw_wake(rc);
}
