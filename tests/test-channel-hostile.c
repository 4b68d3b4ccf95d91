/* shmkit's side of a channel against a raw peer (chan-raw.h) that breaks
 * the layout's rules, one at a time: the attacher's checks of the header
 * and the offer, which must fail with the right code and leave nothing
 * open; the receiver's checks of the records and the head, and the
 * sender's of the tail, which must make the channel broken for good
 * (SHMKIT_EPROTO on every later call). The scribbling peer in another
 * process is test-channel-scribble.c. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "chan-raw.h"
#include "task.h"

enum { CAP = 4096, MAX = 1024 };

/* ---- attaching */

/* What this process holds: handles and shared mappings (views). */
typedef struct held {
  int handles, maps;
} held;

static held holding(void) {
  held h;
  h.handles = test_open_handles();
  h.maps = test_mapping_count(1);
  return h;
}

static void expect_holding(held before, const char *what) {
  held now = holding();
  if (now.handles != before.handles || now.maps != before.maps)
    FAIL("%s: handles %d -> %d, shared mappings %d -> %d", what, before.handles,
         now.handles, before.maps, now.maps);
}

/* Attaches on b and expects `want`, with nothing left open. */
static void expect_attach(shmkit_conn *b, int want, const char *what) {
  shmkit_channel *x = (shmkit_channel *)&x;
  held before = holding();
  int err = shmkit_channel_attach(&x, b, 5000);

  if (err != want)
    FAIL("%s: got %s, want %s", what, shmkit_err_name(err),
         shmkit_err_name(want));
  ASSERT_NULL(x);
  expect_holding(before, what);
}

/* One field of a good header or offer (capacity CAP, max 256: a quarter
 * of the least capacity, so that only the field told breaks a rule), and
 * the region's size (0: RAW_RING + CAP). */
enum { F_NONE, F_MAGIC, F_VERSION, F_FLAGS, F_CAP, F_MAX, F_RING };
enum { F_OMAGIC = 10, F_OVERSION, F_OROLE };

static const struct lie {
  const char *what;
  int field;
  uint64_t value, size;
  int want;
} header_lies[] = {
    {"magic", F_MAGIC, RAW_MAGIC ^ 0x100, 0, SHMKIT_EPROTO},
    {"version 3", F_VERSION, 3, 0, SHMKIT_EVERSION},
    {"version 1, without marks", F_VERSION, 1, 0, SHMKIT_EPROTO},
    {"version 0", F_VERSION, 0, 0, SHMKIT_EPROTO},
    {"flags 1", F_FLAGS, 1, 0, SHMKIT_EPROTO},
    {"flags 0x8000", F_FLAGS, 0x8000, 0, SHMKIT_EPROTO},
    {"capacity 6144", F_CAP, 6144, RAW_RING + 8192, SHMKIT_EPROTO},
    {"capacity 2048", F_CAP, 2048, 0, SHMKIT_EPROTO},
    {"capacity 0", F_CAP, 0, 0, SHMKIT_EPROTO},
    {"capacity 2^32", F_CAP, (uint64_t)1 << 32, 0, SHMKIT_EPROTO},
    {"capacity 2^63", F_CAP, (uint64_t)1 << 63, 0, SHMKIT_EPROTO},
    {"capacity past the region", F_CAP, 8192, 0, SHMKIT_EPROTO},
    {"max 0", F_MAX, 0, 0, SHMKIT_EPROTO},
    {"max a quarter + 1", F_MAX, CAP / 4 + 1, 0, SHMKIT_EPROTO},
    {"max 2^64 - 1", F_MAX, UINT64_MAX, 0, SHMKIT_EPROTO},
    {"ring at 512", F_RING, 512, 512 + CAP, SHMKIT_EPROTO},
    {"ring at 0", F_RING, 0, 0, SHMKIT_EPROTO},
    {"region smaller than a ring", F_NONE, 0, CAP, SHMKIT_EPROTO},
    {"region smaller than a header", F_NONE, 0, 100, SHMKIT_EPROTO},
    {"offer magic", F_OMAGIC, 0x434b4852, 0, SHMKIT_EPROTO},
    {"offer version 3", F_OVERSION, 3, 0, SHMKIT_EVERSION},
    {"offer version 1", F_OVERSION, 1, 0, SHMKIT_EPROTO},
    {"offer version 0", F_OVERSION, 0, 0, SHMKIT_EPROTO},
    {"offer role 0", F_OROLE, 0, 0, SHMKIT_EPROTO},
    {"offer role 3", F_OROLE, 3, 0, SHMKIT_EPROTO},
};

/* Where each field a lie changes lives: in the header or the offer, at
 * which offset of its struct, and how wide. */
static const struct field {
  int in_offer;
  size_t off, width;
} fields[] = {
    [F_MAGIC] = {0, offsetof(raw_header, magic), 4},
    [F_VERSION] = {0, offsetof(raw_header, version), 2},
    [F_FLAGS] = {0, offsetof(raw_header, flags), 2},
    [F_CAP] = {0, offsetof(raw_header, capacity), 8},
    [F_MAX] = {0, offsetof(raw_header, max), 8},
    [F_RING] = {0, offsetof(raw_header, ring), 8},
    [F_OMAGIC] = {1, offsetof(raw_offer, magic), 4},
    [F_OVERSION] = {1, offsetof(raw_offer, version), 2},
    [F_OROLE] = {1, offsetof(raw_offer, role), 2},
};

static void apply_lie(const struct lie *l, raw_header *h, raw_offer *o) {
  const struct field *f = &fields[l->field];
  unsigned char *p = (f->in_offer ? (unsigned char *)o : (unsigned char *)h);
  uint16_t v16 = (uint16_t)l->value;
  uint32_t v32 = (uint32_t)l->value;

  if (l->field == F_NONE) return;
  if (f->width == 2) memcpy(p + f->off, &v16, 2);
  if (f->width == 4) memcpy(p + f->off, &v32, 4);
  if (f->width == 8) memcpy(p + f->off, &l->value, 8);
}

/* The raw creator offers a channel that lies as `l` says on a; b attaches. */
static void offer_lie(shmkit_conn *a, shmkit_conn *b, const struct lie *l) {
  raw_chan rc;
  raw_header h;
  raw_offer o;

  raw_header_init(&h, CAP, 256);
  raw_offer_init(&o, SHMKIT_CHANNEL_SEND);
  apply_lie(l, &h, &o);
  ASSERT_OK(raw_create(&rc, &h, l->size != 0 ? l->size : RAW_RING + CAP,
                       SHMKIT_CHANNEL_SEND));
  ASSERT_OK(raw_offer_send(&rc, a, &o));
  expect_attach(b, l->want, l->what);
  rc.link = NULL; /* a stays ours */
  raw_close(&rc);
}

/* The attacher's own index already moved: the creator is `role`. */
static void own_index_moved(shmkit_conn *a, shmkit_conn *b, int role) {
  raw_chan rc;
  raw_header h;
  raw_offer o;

  raw_header_init(&h, CAP, 256);
  raw_offer_init(&o, role);
  ASSERT_OK(raw_create(&rc, &h, 0, role));
  raw_set64(&rc, role == SHMKIT_CHANNEL_SEND ? RAW_OFF_TAIL : RAW_OFF_HEAD, 8);
  ASSERT_OK(raw_offer_send(&rc, a, &o));
  expect_attach(b, SHMKIT_EPROTO, "the attacher's index not 0");
  rc.link = NULL;
  raw_close(&rc);
}

/* Offers whose message is not one: `size` bytes of a good offer (zeros
 * past it) with `count` regions (good ones, or `ro` read-only). */
static void offer_shape(shmkit_conn *a, shmkit_conn *b, size_t size,
                        size_t count, int ro, const char *what) {
  unsigned char bytes[100] = {0};
  shmkit_region *r[2], *copy = NULL;
  raw_chan rc;
  raw_header h;
  raw_offer o;
  char name[32];

  raw_header_init(&h, CAP, 256);
  raw_offer_init(&o, SHMKIT_CHANNEL_SEND);
  raw_offer_bytes(&o, bytes);
  ASSERT_OK(raw_create(&rc, &h, 0, SHMKIT_CHANNEL_SEND));
  r[0] = r[1] = rc.region;
  if (ro) {
    /* A named region with a good header, opened read-only: a read-only
     * handle everywhere (Windows: while the writable one holds the name). */
    shmkit_region *rw;
    shmkit_view *v;
    ASSERT_OK(shmkit_region_create_named(&rw, test_name(name, "chro"),
                                         RAW_RING + CAP, 0));
    ASSERT_OK(shmkit_view_map(&v, rw, 0, RAW_RING, SHMKIT_READ_WRITE));
    memcpy(shmkit_view_data(v), rc.base, RAW_RING);
    shmkit_view_unmap(v);
    ASSERT_OK(shmkit_region_open(&copy, name, SHMKIT_READ_ONLY));
    test_forget_name(name);
    shmkit_region_close(rw);
    r[0] = copy;
  }
  ASSERT_OK(shmkit_conn_send(a, bytes, size, r, count, 5000));
  expect_attach(b, SHMKIT_EPROTO, what);
  shmkit_region_close(copy);
  raw_close(&rc);
}

/* A good header in a region larger than the largest ring and a page:
 * not a channel's (sparse, so it costs no memory; Windows charges every
 * byte of a section against the commit limit, so not there). */
static void huge_region(shmkit_conn *a, shmkit_conn *b) {
#ifndef _WIN32
  raw_chan rc;
  raw_header h;
  raw_offer o;
  int err;

  raw_header_init(&h, CAP, 256);
  raw_offer_init(&o, SHMKIT_CHANNEL_SEND);
  memset(&rc, 0, sizeof(rc));
  err = shmkit_region_create(&rc.region,
                             RAW_RING + SHMKIT_CHANNEL_CAPACITY_MAX + 2 * 65536,
                             SHMKIT_SPARSE);
  if (err != 0) {
    printf("a region past the largest ring: %s, not tried\n",
           shmkit_err_name(err));
    return;
  }
  ASSERT_OK(
      shmkit_view_map(&rc.view, rc.region, 0, RAW_RING, SHMKIT_READ_WRITE));
  rc.base = shmkit_view_data(rc.view);
  rc.size = RAW_RING;
  raw_poke(&rc, RAW_OFF_MAGIC, &h.magic, 4);
  raw_poke(&rc, RAW_OFF_VERSION, &h.version, 2);
  raw_poke(&rc, RAW_OFF_CAPACITY, &h.capacity, 8);
  raw_poke(&rc, RAW_OFF_MAX, &h.max, 8);
  raw_poke(&rc, RAW_OFF_RING, &h.ring, 8);
  ASSERT_OK(raw_offer_send(&rc, a, &o));
  expect_attach(b, SHMKIT_EPROTO, "region past the largest ring");
  rc.link = NULL;
  raw_close(&rc);
#else
  (void)a, (void)b;
#endif
}

TEST_IMPL(channel_attach_checks) {
  shmkit_conn *a, *b;
  shmkit_channel *rx;
  raw_chan rc;
  char buf[8];
  size_t n;

  ASSERT_OK(shmkit_conn_pair(&a, &b));
  for (size_t i = 0; i < sizeof(header_lies) / sizeof(header_lies[0]); i++)
    offer_lie(a, b, &header_lies[i]);
  own_index_moved(a, b, SHMKIT_CHANNEL_SEND);
  own_index_moved(a, b, SHMKIT_CHANNEL_RECV);
  offer_shape(a, b, 7, 1, 0, "offer of 7 bytes");
  offer_shape(a, b, 9, 1, 0, "offer of 9 bytes");
  offer_shape(a, b, 100, 1, 0, "offer of 100 bytes");
  offer_shape(a, b, 8, 0, 0, "offer without a region");
  offer_shape(a, b, 8, 2, 0, "offer with two regions");
  offer_shape(a, b, 8, 1, 1, "offer of a read-only region");
  huge_region(a, b);
  /* The same raw creator, honest, is taken: the lies above were each
   * refused for the one thing they changed. */
  ASSERT_OK(raw_open(&rc, a, SHMKIT_CHANNEL_SEND, CAP, MAX));
  ASSERT_OK(shmkit_channel_attach(&rx, b, 5000));
  ASSERT_EQ(raw_put(&rc, "honest", 6), 0);
  raw_publish(&rc);
  ASSERT_OK(shmkit_channel_recv(rx, buf, sizeof(buf), &n, 5000));
  ASSERT_EQ(n, 6);
  ASSERT(memcmp(buf, "honest", 6) == 0);
  raw_close(&rc);
  ASSERT_ERR(shmkit_channel_recv(rx, buf, sizeof(buf), &n, 5000),
             SHMKIT_ECLOSED);
  shmkit_channel_close(rx);
  return 0;
}

/* ---- the receiver: a raw sender that breaks the ring's rules */

static void fill(unsigned char *b, size_t n, unsigned seq) {
  for (size_t i = 0; i < n; i++) b[i] = (unsigned char)(seq * 7 + i);
}

/* The raw sender sends `len` bytes; shmkit's receiver takes them whole. */
static void pass_good(raw_chan *rc, shmkit_channel *rx, uint32_t len) {
  static unsigned char out[MAX], in[MAX];
  static unsigned seq;
  size_t n;

  fill(out, len, ++seq);
  ASSERT_EQ(raw_put(rc, out, len), 0);
  raw_publish(rc);
  ASSERT_OK(shmkit_channel_recv(rx, in, sizeof(in), &n, 0));
  ASSERT_EQ(n, len);
  ASSERT(memcmp(in, out, len) == 0);
}

/* Good messages, none padded, until the raw sender's next record goes
 * at `pos`. */
static void advance_to(raw_chan *rc, shmkit_channel *rx, uint64_t pos) {
  while (rc->pos != pos) {
    uint64_t end = (rc->pos | (CAP - 1)) + 1; /* the ring's next end */
    uint64_t room = (pos < end ? pos : end) - rc->pos;
    uint64_t total = room <= MAX + RAW_REC ? room : 1024;

    ASSERT(total >= 32 && (room == total || room - total >= 32));
    pass_good(rc, rx, (uint32_t)(total - RAW_REC));
  }
}

static void lie_zero_length(raw_chan *rc, shmkit_channel *rx) {
  (void)rx;
  raw_record(rc, 0, NULL, 0);
  raw_publish(rc);
}

static void lie_too_long(raw_chan *rc, shmkit_channel *rx) {
  static unsigned char b[MAX + 1];
  (void)rx;
  raw_record(rc, MAX + 1, b, sizeof(b));
  raw_publish(rc);
}

/* A record that starts 32 bytes before the ring's end and is longer. */
static void lie_past_end(raw_chan *rc, shmkit_channel *rx) {
  advance_to(rc, rx, CAP - 32);
  raw_record(rc, 64, NULL, 64); /* the header alone: the rest is past */
  raw_publish(rc);
}

/* Padding that stops 16 bytes short of the ring's end, or runs past it. */
static void lie_pad_short(raw_chan *rc, shmkit_channel *rx) {
  advance_to(rc, rx, CAP - 32);
  raw_record(rc, RAW_PAD | 16, NULL, 0);
  raw_publish(rc);
}

static void lie_pad_long(raw_chan *rc, shmkit_channel *rx) {
  advance_to(rc, rx, CAP - 32);
  raw_record(rc, RAW_PAD | 48, NULL, 0);
  raw_publish(rc);
}

/* Padding over the whole ring, from its start. */
static void lie_pad_at_zero(raw_chan *rc, shmkit_channel *rx) {
  (void)rx;
  raw_record(rc, RAW_PAD | CAP, NULL, 0);
  raw_publish(rc);
}

/* Good padding, then more padding at the ring's start. */
static void lie_two_pads(raw_chan *rc, shmkit_channel *rx) {
  advance_to(rc, rx, CAP - 16);
  raw_record(rc, RAW_PAD | 16, NULL, 0);
  raw_record(rc, RAW_PAD | 16, NULL, 0);
  raw_publish(rc);
}

static const struct record_lie {
  const char *what;
  void (*apply)(raw_chan *rc, shmkit_channel *rx);
} record_lies[] = {
    {"length 0", lie_zero_length},
    {"length past max", lie_too_long},
    {"record past the ring's end", lie_past_end},
    {"padding short of the end", lie_pad_short},
    {"padding past the end", lie_pad_long},
    {"padding at offset 0", lie_pad_at_zero},
    {"two paddings", lie_two_pads},
};

/* Nothing for the receiver: recv and peek at timeout 0 find no message. */
static void expect_none(shmkit_channel *rx, const char *what) {
  unsigned char buf[MAX];
  const void *q;
  size_t n;
  int err = shmkit_channel_recv(rx, buf, sizeof(buf), &n, 0);

  if (err != SHMKIT_ETIMEDOUT)
    FAIL("%s: recv got %s, want SHMKIT_ETIMEDOUT", what, shmkit_err_name(err));
  ASSERT_ERR(shmkit_channel_peek(rx, &q, &n, 0), SHMKIT_ETIMEDOUT);
}

/* A record is there when its mark, and nothing else, says so: a whole
 * record under another lap's mark is not taken, nor is the record a lap
 * back in the same place once the ring has wrapped; the head, which only
 * a monitor reads, can say anything. */
static void marks(raw_chan *rc, shmkit_channel *rx) {
  static const char msg[] = "the mark is the index";
  uint64_t at = rc->pos;

  raw_record_marked(rc, at + 1 + CAP, sizeof(msg), msg, sizeof(msg));
  raw_publish(rc);
  expect_none(rx, "a record under the next lap's mark");
  rc->pos = at;
  raw_record_marked(rc, at + 1 - CAP, sizeof(msg), msg, sizeof(msg));
  expect_none(rx, "a record under the last lap's mark");
  rc->pos = at;
  raw_record_marked(rc, 0, sizeof(msg), msg, sizeof(msg));
  expect_none(rx, "a record under mark 0");
  rc->pos = at;
  pass_good(rc, rx, sizeof(msg)); /* the same, marked right */
  /* At the next lap's start, offset 0 still holds this lap's record. */
  advance_to(rc, rx, (rc->pos | (CAP - 1)) + 1);
  raw_set64(rc, RAW_OFF_HEAD, 5 * CAP + 8);
  raw_wake(rc);
  expect_none(rx, "the record a lap back, and a head far ahead");
  pass_good(rc, rx, 100);
}

/* A raw sender on one end of a new pair, shmkit's receiver on the other. */
static void raw_sender(raw_chan *rc, shmkit_channel **rx) {
  shmkit_conn *a, *b;

  ASSERT_OK(shmkit_conn_pair(&a, &b));
  ASSERT_OK(raw_open(rc, a, SHMKIT_CHANNEL_SEND, CAP, MAX));
  ASSERT_OK(shmkit_channel_attach(rx, b, 5000));
}

/* The first call (recv, or peek) finds the channel broken; so does every
 * later call, the peer gone or not. */
static void expect_rx_broken(raw_chan *rc, shmkit_channel *rx, int peek,
                             const char *what) {
  static unsigned char buf[MAX];
  const void *q = buf;
  size_t n = 1;
  int err = peek ? shmkit_channel_peek(rx, &q, &n, 0)
                 : shmkit_channel_recv(rx, buf, sizeof(buf), &n, 0);

  if (err != SHMKIT_EPROTO)
    FAIL("%s, %s first: got %s, want SHMKIT_EPROTO", what,
         peek ? "peek" : "recv", shmkit_err_name(err));
  ASSERT_EQ(n, 0);
  if (peek) ASSERT_NULL(q);
  ASSERT_ERR(shmkit_channel_recv(rx, buf, sizeof(buf), &n, 0), SHMKIT_EPROTO);
  ASSERT_ERR(shmkit_channel_peek(rx, &q, &n, 0), SHMKIT_EPROTO);
  ASSERT_ERR(shmkit_channel_release(rx), SHMKIT_EPROTO);
  ASSERT_ERR(shmkit_channel_arm(rx), SHMKIT_EPROTO);
  raw_close(rc);
  ASSERT_ERR(shmkit_channel_recv(rx, buf, sizeof(buf), &n, 100), SHMKIT_EPROTO);
  ASSERT_ERR(shmkit_channel_peek(rx, &q, &n, -1), SHMKIT_EPROTO);
}

/* ---- the sender: a raw receiver that moves its tail wrongly */

/* A raw receiver on one end, shmkit's sender on the other; shmkit sends
 * messages of 1000 bytes until the ring is full. */
static void raw_receiver(raw_chan *rc, shmkit_channel **tx) {
  shmkit_conn *a, *b;

  ASSERT_OK(shmkit_conn_pair(&a, &b));
  ASSERT_OK(raw_open(rc, a, SHMKIT_CHANNEL_RECV, CAP, MAX));
  ASSERT_OK(shmkit_channel_attach(tx, b, 5000));
}

static void fill_ring(shmkit_channel *tx) {
  static unsigned char b[1000];
  int err;

  while ((err = shmkit_channel_send(tx, b, sizeof(b), 0)) == 0) continue;
  ASSERT_ERR(err, SHMKIT_ETIMEDOUT);
}

/* The raw receiver takes and releases `count` messages. */
static void take(raw_chan *rc, int count) {
  unsigned char b[MAX];
  size_t n;

  for (int i = 0; i < count; i++) {
    ASSERT_EQ(raw_take(rc, b, sizeof(b), &n), 1);
    ASSERT_EQ(n, 1000);
  }
  raw_release(rc);
}

static void expect_tx_broken(raw_chan *rc, shmkit_channel *tx,
                             const char *what) {
  static unsigned char b[1000];
  void *p = b;
  int err = shmkit_channel_send(tx, b, sizeof(b), 0);

  if (err != SHMKIT_EPROTO)
    FAIL("%s: got %s, want SHMKIT_EPROTO", what, shmkit_err_name(err));
  ASSERT_ERR(shmkit_channel_send(tx, b, 8, 0), SHMKIT_EPROTO);
  ASSERT_ERR(shmkit_channel_reserve(tx, 8, &p, 0), SHMKIT_EPROTO);
  ASSERT_NULL(p);
  ASSERT_ERR(shmkit_channel_commit(tx, 8, 0), SHMKIT_EPROTO);
  ASSERT_ERR(shmkit_channel_flush(tx), SHMKIT_EPROTO);
  ASSERT_ERR(shmkit_channel_arm(tx), SHMKIT_EPROTO);
  raw_close(rc);
  ASSERT_ERR(shmkit_channel_send(tx, b, 8, 100), SHMKIT_EPROTO);
  ASSERT_ERR(shmkit_channel_reserve(tx, 8, &p, -1), SHMKIT_EPROTO);
}

static void hostile_tail(void) {
  raw_chan rc;
  shmkit_channel *tx;

  /* Back by 8 bytes, after the sender has seen it move forward. */
  raw_receiver(&rc, &tx);
  fill_ring(tx);
  take(&rc, 2);
  fill_ring(tx);
  raw_set64(&rc, RAW_OFF_TAIL, rc.pos - 8);
  expect_tx_broken(&rc, tx, "tail moved back");
  shmkit_channel_close(tx);
  /* Past what the sender published. */
  raw_receiver(&rc, &tx);
  fill_ring(tx);
  raw_set64(&rc, RAW_OFF_TAIL, raw_get64(&rc, RAW_OFF_HEAD) + 8);
  expect_tx_broken(&rc, tx, "tail past the head");
  shmkit_channel_close(tx);
}

/* Honest first: messages of every length class, padding included, arrive
 * whole from the raw sender; then each lie, with recv and with peek; then
 * the raw receiver's lies about its tail. */
/* The link carries wake-ups and nothing else: one byte, 'w', and no
 * region. Anything else on it breaks the channel, as a lie in the ring
 * does (a waiting receiver reads its link at least every 100 ms). */
static void hostile_link(void) {
  static const char *const lies[] = {"x", "ww", "w"};
  unsigned char buf[MAX];
  raw_chan rc;
  shmkit_channel *rx;
  shmkit_region *r;
  size_t n;

  for (size_t i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
    int with_region = i == 2; /* a wake-up that carries a region */
    raw_sender(&rc, &rx);
    ASSERT_OK(shmkit_region_create(&r, 4096, 0));
    ASSERT_OK(shmkit_conn_send(rc.link, lies[i], strlen(lies[i]), &r,
                               with_region ? 1 : 0, 5000));
    ASSERT_ERR(shmkit_channel_recv(rx, buf, sizeof(buf), &n, 5000),
               SHMKIT_EPROTO);
    ASSERT_ERR(shmkit_channel_recv(rx, buf, sizeof(buf), &n, 0), SHMKIT_EPROTO);
    shmkit_region_close(r);
    raw_close(&rc);
    shmkit_channel_close(rx);
  }
}

TEST_IMPL(channel_hostile_records) {
  raw_chan rc;
  shmkit_channel *rx;

  raw_sender(&rc, &rx);
  for (uint32_t len = 1; len <= MAX; len = len * 3 + 1) pass_good(&rc, rx, len);
  advance_to(&rc, rx, 3 * CAP - 16); /* 16 bytes before an end: padding */
  pass_good(&rc, rx, MAX);
  marks(&rc, rx);
  raw_close(&rc);
  shmkit_channel_close(rx);
  for (size_t i = 0; i < sizeof(record_lies) / sizeof(record_lies[0]); i++)
    for (int peek = 0; peek < 2; peek++) {
      raw_sender(&rc, &rx);
      record_lies[i].apply(&rc, rx);
      expect_rx_broken(&rc, rx, peek, record_lies[i].what);
      shmkit_channel_close(rx);
    }
  hostile_tail();
  hostile_link();
  return 0;
}
