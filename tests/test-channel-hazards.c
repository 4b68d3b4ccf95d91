/* Hazards of channels, each once a fault (the first three found while
 * writing the protocol down, the rest by a review as a hostile peer):
 *  - channel_arm_no_lost_wakeup: shmkit_channel_arm() must not read the
 *    link after it said it waits there, or it eats its own wake-up;
 *  - channel_shrunk_region_refused: a region its creator could still
 *    shrink would make the receiver fault (SIGBUS) on its next read, so
 *    it is sealed at creation and an unsealed one refused;
 *  - channel_link_garbage_breaks: bytes on the link that are not a
 *    wake-up are a broken rule, for good, from the very call that reads
 *    them;
 *  - channel_woken_sleeper_sees_end: a peer that keeps waking a sleeper's
 *    word must not hide that its link has ended;
 *  - channel_link_flood_bounded: a peer that keeps sending wake-ups must
 *    not hold a call that only tries;
 *  - channel_futex_denied_sleeps_on_link: a sleeper whose futex a sandbox
 *    denies (ENOSYS) came back from it at once, a busy loop for good;
 *  - channel_wake_denied_sleeps_on_link: a peer whose futex a sandbox
 *    denies cannot wake a word, and its sleeper waited out 100 ms each
 *    time; channel_peer_cannot_wake: the same said by a peer written from
 *    the layout alone.
 * POSIX: poll(), ftruncate(), raw bytes on the link's socket, futex(2),
 * seccomp(2). */
#include <poll.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#ifdef __linux__
#  include <errno.h>
#  include <linux/filter.h>
#  include <linux/futex.h>
#  include <linux/seccomp.h>
#  include <stddef.h>
#  include <sys/prctl.h>
#  include <sys/syscall.h>
#  include <unistd.h>
#endif

#include "chan-raw.h"
#include "runner.h"
#include "task.h"

static void channel_pair(shmkit_channel **tx, shmkit_channel **rx) {
  shmkit_conn *a, *b;

  ASSERT_OK(shmkit_conn_pair(&a, &b));
  ASSERT_OK(shmkit_channel_create(tx, a, SHMKIT_CHANNEL_SEND, 4096, 0, 5000));
  ASSERT_OK(shmkit_channel_attach(rx, b, 5000));
}

/* ---- a wake-up eaten by arm */

struct waker {
  shmkit_channel *tx;
  _Atomic uint32_t *rx_state; /* the receiver's sleep state, offset 192 */
  atomic_int round, stop;
};

/* Sends one byte each round, the moment the receiver says it waits on its
 * link: then the wake-up goes on the link while arm() may still be in it. */
static void waker_run(void *arg) {
  struct waker *w = arg;

  for (int r = 1;; r++) {
    while (atomic_load(&w->round) < r)
      if (atomic_load(&w->stop)) return;
    while (atomic_load(w->rx_state) != 2 /* ON_LINK */)
      if (atomic_load(&w->stop)) return;
    if (shmkit_channel_send(w->tx, "x", 1, 5000) != 0) return;
  }
}

/* The region's start, from the first reservation (at ring offset 0, after
 * its 16-byte header; the ring is at 256). */
static unsigned char *region_base(shmkit_channel *tx, shmkit_channel *rx) {
  unsigned char *p;
  char c;
  size_t n;

  ASSERT_OK(shmkit_channel_reserve(tx, 1, (void **)&p, 0));
  ASSERT_OK(shmkit_channel_commit(tx, 1, 0));
  ASSERT_OK(shmkit_channel_recv(rx, &c, 1, &n, 0));
  return p - 16 - 256;
}

TEST_IMPL(channel_arm_no_lost_wakeup) {
  static struct waker w;
  int rounds = 200000, armed = 0;
  int64_t start = test_now_us();
  shmkit_channel *rx;
  test_thread t;
  char c;
  size_t n;

  channel_pair(&w.tx, &rx);
  w.rx_state = (_Atomic uint32_t *)(void *)(region_base(w.tx, rx) + 192);
  test_thread_start(&t, waker_run, &w);
  for (int r = 1; r <= rounds && test_now_us() - start < 3000000; r++) {
    atomic_store(&w.round, r);
    for (;;) {
      int ready = shmkit_channel_arm(rx);
      ASSERT(ready == 0 || ready == 1);
      if (ready == 0) {
        struct pollfd pfd = {(int)shmkit_channel_handle(rx), POLLIN, 0};
        armed++;
        /* The message comes within microseconds: 5 s is a hang. */
        if (poll(&pfd, 1, 5000) == 0) {
          int lost = shmkit_channel_recv(rx, &c, 1, &n, 0) == 0;
          FAIL("round %d: %s", r,
               lost ? "a message waited in the ring and the handle stayed "
                      "unready for 5 s (a lost wake-up)"
                    : "the waker sent nothing for 5 s");
        }
      }
      if (shmkit_channel_recv(rx, &c, 1, &n, 0) == 0) break;
    }
  }
  atomic_store(&w.stop, 1);
  test_thread_join(&t);
  printf("%d rounds waited on the handle\n", armed);
  shmkit_channel_close(w.tx);
  shmkit_channel_close(rx);
  return 0;
}

/* ---- a region its creator can shrink */

static void put(unsigned char *p, const void *v, size_t n) {
  memcpy(p, v, n);
}

/* A creator of its own, from the layout: a valid header and one record,
 * `x`, offered on `a`; sealed against shrinking or not. Returns the
 * region, still the caller's. */
static shmkit_region *offer_by_hand(shmkit_conn *a, int sealed) {
  const uint32_t magic = 0x434b4853u, len = 1;
  const uint16_t version = 2, role = SHMKIT_CHANNEL_SEND;
  const uint64_t cap = 4096, max = 1024, ring = 256, head = 32, mark = 1;
  unsigned char offer[8], *h;
  shmkit_region *r;
  shmkit_view *v;

  ASSERT_OK(shmkit_region_create(&r, ring + cap, 0));
  if (sealed) ASSERT_OK(shmkit_region_seal(r, SHMKIT_SEAL_SHRINK));
  ASSERT_OK(shmkit_view_map(&v, r, 0, 0, SHMKIT_READ_WRITE));
  h = shmkit_view_data(v);
  put(h, &magic, 4), put(h + 4, &version, 2), put(h + 8, &cap, 8);
  put(h + 16, &max, 8), put(h + 24, &ring, 8);
  put(h + 256, &mark, 8), put(h + 264, &len, 4), put(h + 272, "x", 1);
  put(h + 64, &head, 8);
  put(offer, &magic, 4), put(offer + 4, &version, 2), put(offer + 6, &role, 2);
  shmkit_view_unmap(v);
  ASSERT_OK(shmkit_conn_send(a, offer, sizeof(offer), &r, 1, 5000));
  return r;
}

TEST_IMPL(channel_shrunk_region_refused) {
  shmkit_conn *a, *b;
  shmkit_region *r;
  shmkit_channel *rx;
  char buf[8];
  size_t n;
  int err;

  /* Only memfds can be sealed against shrinking: elsewhere nothing can
   * refuse such a region. */
  if (!test_linux_ext()) return TEST_SKIP;
  ASSERT_OK(shmkit_conn_pair(&a, &b));
  r = offer_by_hand(a, 0);
  err = shmkit_channel_attach(&rx, b, 5000);
  if (err == 0) {
    /* What taking it allows: the creator shrinks it under the receiver,
     * whose next read of the ring faults. */
    ASSERT(test_try_resize(shmkit_region_handle(r), 0));
    shmkit_channel_recv(rx, buf, sizeof(buf), &n, 0);
    FAIL("attach took a region its creator can still shrink");
  }
  ASSERT_ERR(err, SHMKIT_EPROTO);
  shmkit_region_close(r);
  /* The same, sealed, is taken: the seal was all that was wrong. */
  r = offer_by_hand(a, 1);
  ASSERT_OK(shmkit_channel_attach(&rx, b, 5000));
  ASSERT_OK(shmkit_channel_recv(rx, buf, sizeof(buf), &n, 0));
  ASSERT_EQ(n, 1);
  ASSERT_EQ(buf[0], 'x');
  shmkit_channel_close(rx); /* closes b, the link */
  shmkit_region_close(r);
  shmkit_conn_close(a);
  return 0;
}

/* ---- bytes on the link that are not a frame */

TEST_IMPL(channel_link_garbage_breaks) {
  shmkit_channel *tx, *rx;
  char buf[8];
  size_t n;

  channel_pair(&tx, &rx);
  /* The sender's end of the link: what is written there reaches rx. */
  ASSERT_EQ(send((int)shmkit_channel_handle(tx), "bad", 3, 0), 3);
  /* A waiting receiver looks at its link at least every 100 ms. */
  ASSERT_ERR(shmkit_channel_recv(rx, buf, sizeof(buf), &n, 1000),
             SHMKIT_EPROTO);
  ASSERT_ERR(shmkit_channel_recv(rx, buf, sizeof(buf), &n, 0), SHMKIT_EPROTO);
  shmkit_channel_close(tx);
  shmkit_channel_close(rx);

  /* A call that only tries asks the link every 100 ms too; the one that
   * reads the garbage says so itself, on either side. */
  channel_pair(&tx, &rx);
  ASSERT_EQ(send((int)shmkit_channel_handle(tx), "bad", 3, 0), 3);
  ASSERT_EQ(send((int)shmkit_channel_handle(rx), "bad", 3, 0), 3);
  test_sleep_ms(150);
  ASSERT_ERR(shmkit_channel_recv(rx, buf, sizeof(buf), &n, 0), SHMKIT_EPROTO);
  ASSERT_ERR(shmkit_channel_send(tx, "x", 1, 0), SHMKIT_EPROTO);
  shmkit_channel_close(tx);
  shmkit_channel_close(rx);
  return 0;
}

/* ---- a peer that keeps waking a sleeper */

struct spammer {
  _Atomic uint32_t *word; /* the receiver's futex word, offset 200 */
  atomic_int stop, gave_up;
};

/* Wakes the word every 10 ms, far more often than a sleeper's slice, until
 * told to stop or for 20 s at the most. */
static void spammer_run(void *arg) {
  struct spammer *s = arg;
  int64_t start = test_now_us();

  while (!atomic_load(&s->stop)) {
    if (test_now_us() - start > 20000000) {
      atomic_store(&s->gave_up, 1);
      return;
    }
#ifdef __linux__
    atomic_fetch_add(s->word, 1);
    syscall(SYS_futex, (uint32_t *)s->word, FUTEX_WAKE, 1, NULL, NULL, 0);
#endif
    test_sleep_ms(10);
  }
}

TEST_IMPL(channel_woken_sleeper_sees_end) {
  static struct spammer s;
  shmkit_channel *tx, *rx;
  test_thread t;
  char buf[8];
  size_t n;

  /* The portable build sleeps on the link, whose end wakes it at once. */
  if (!test_linux_ext()) return TEST_SKIP;
  channel_pair(&tx, &rx);
  s.word = (_Atomic uint32_t *)(void *)(region_base(tx, rx) + 200);
  test_thread_start(&t, spammer_run, &s);
  /* The sender's end of the link goes as at a kill: no closed flag. */
  ASSERT_EQ(shutdown((int)shmkit_channel_handle(tx), SHUT_RDWR), 0);
  ASSERT_ERR(shmkit_channel_recv(rx, buf, sizeof(buf), &n, -1), SHMKIT_ECLOSED);
  /* Seen while the word was still being woken, not once that stopped. */
  ASSERT_EQ(atomic_load(&s.gave_up), 0);
  atomic_store(&s.stop, 1);
  test_thread_join(&t);
  shmkit_channel_close(tx);
  shmkit_channel_close(rx);
  return 0;
}

/* ---- a peer that keeps sending wake-ups */

/* Sends wake-ups until the link is full; how many went. */
static long fill_link(shmkit_conn *c) {
  long n = 0;

  while (shmkit_conn_send(c, "w", 1, NULL, 0, 0) == 0) n++;
  return n;
}

TEST_IMPL(channel_link_flood_bounded) {
  unsigned char offer[16];
  shmkit_msg m = SHMKIT_MSG_INIT(offer, sizeof(offer));
  shmkit_channel *rx;
  shmkit_conn *a, *b;
  long full, read;
  char buf[8];
  size_t n;

  ASSERT_OK(shmkit_conn_pair(&a, &b));
  ASSERT_OK(shmkit_channel_create(&rx, b, SHMKIT_CHANNEL_RECV, 4096, 0, 5000));
  ASSERT_OK(shmkit_conn_recv(a, &m, 5000)); /* the offer, unused */
  /* The link full of wake-ups: as a peer that keeps sending them leaves
   * it, whatever the speed of either side. */
  full = fill_link(a);
  if (full <= 64) {
    printf("skipped: the link holds %ld messages, not more than a look "
           "reads\n",
           full);
    return TEST_SKIP;
  }
  test_sleep_ms(120); /* past the 100 ms between two looks */
  ASSERT_ERR(shmkit_channel_recv(rx, buf, sizeof(buf), &n, 0),
             SHMKIT_ETIMEDOUT);
  /* What that look read is what the peer can send again: some, and not
   * all (unbounded, a peer that refills as fast would hold the call). */
  read = fill_link(a);
  printf("the link held %ld wake-ups; one look read %ld\n", full, read);
  ASSERT(read > 0 && read <= 64);
  /* The peer's end still comes through, behind the rest, within 1 s. */
  shmkit_conn_close(a);
  ASSERT_ERR(shmkit_channel_recv(rx, buf, sizeof(buf), &n, 1000),
             SHMKIT_ECLOSED);
  shmkit_channel_close(rx);
  shmkit_msg_close(&m);
  return 0;
}

/* ---- a sleeper whose futex a filter denies */

/* Denies the calling thread the futex calls on shared words (FUTEX_WAIT and
 * FUTEX_WAKE without FUTEX_PRIVATE_FLAG) with ENOSYS, as a sandbox's filter
 * answers a call it does not allow. The private ones, which the C library
 * and the sanitizers use for their locks, stay. 0, or -1 where the system
 * takes no filter. */
static int deny_shared_futex(void) {
#if defined(__linux__) && defined(SECCOMP_MODE_FILTER)
  /* The operation, args[1]'s low half. */
  const unsigned op = (unsigned)offsetof(struct seccomp_data, args[1]) +
                      (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__ ? 4 : 0);
  struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_futex, 0, 4),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, op),
      BPF_STMT(BPF_ALU | BPF_AND | BPF_K, ~(unsigned)FUTEX_CLOCK_REALTIME),
      BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, FUTEX_WAKE + 1, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {(unsigned short)(sizeof(f) / sizeof(f[0])), f};

  /* Both for this thread alone: the rest of the runner keeps its futex. */
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
    return -1;
  return 0;
#else
  return -1;
#endif
}

struct denied {
  shmkit_conn *link;
  int before;          /* 1: the filter before attach, else after */
  atomic_int attached; /* 1 attached, -1 no filter to be had */
  atomic_int err;      /* what attach or recv answered */
  atomic_int got;      /* the byte received */
};

/* The receiver, in a thread of its own under the filter: attaches, then
 * waits for one byte, as long as it takes. */
static void denied_run(void *arg) {
  struct denied *d = arg;
  shmkit_channel *rx = NULL;
  char c = 0;
  size_t n;
  int err;

  if (d->before && deny_shared_futex() != 0) {
    shmkit_conn_close(d->link);
    atomic_store(&d->attached, -1);
    return;
  }
  err = shmkit_channel_attach(&rx, d->link, 5000);
  if (err == 0 && !d->before && deny_shared_futex() != 0) {
    shmkit_channel_close(rx);
    atomic_store(&d->attached, -1);
    return;
  }
  atomic_store(&d->attached, 1);
  if (err != 0) shmkit_conn_close(d->link); /* attach failed: still ours */
  if (err == 0) err = shmkit_channel_recv(rx, &c, 1, &n, -1);
  atomic_store(&d->got, c);
  atomic_store(&d->err, err);
  shmkit_channel_close(rx);
}

TEST_IMPL(channel_futex_denied_sleeps_on_link) {
  /* Denied before attach, the channel's first look at the futex sees it;
   * after, its first sleep does. */
  for (int before = 0; before <= 1; before++) {
    static struct denied d;
    _Atomic uint32_t *state;
    shmkit_channel *tx;
    shmkit_conn *a;
    unsigned char *p;
    test_thread t;
    int64_t start;

    if (!test_linux_ext()) return TEST_SKIP; /* no futex: the link already */
    memset(&d, 0, sizeof(d));
    d.before = before;
    ASSERT_OK(shmkit_conn_pair(&a, &d.link));
    ASSERT_OK(
        shmkit_channel_create(&tx, a, SHMKIT_CHANNEL_SEND, 4096, 0, 5000));
    /* The first reservation is at ring offset 0, after its 16-byte header;
     * the ring at 256, the receiver's state at 192. */
    ASSERT_OK(shmkit_channel_reserve(tx, 1, (void **)&p, 0));
    state = (_Atomic uint32_t *)(void *)(p - 16 - 256 + 192);
    test_thread_start(&t, denied_run, &d);
    start = test_now_us();
    while (atomic_load(&d.attached) == 0 && test_now_us() - start < 10000000)
      test_sleep_ms(1);
    if (atomic_load(&d.attached) < 0) {
      test_thread_join(&t);
      shmkit_channel_close(tx);
      printf("skipped: the system takes no seccomp filter\n");
      return TEST_SKIP;
    }
    /* Asleep on the link, where the waker's byte reaches it: on the futex,
     * it would come back at once, for ever, and never say ON_LINK. */
    while (atomic_load(state) != 2 /* ON_LINK */)
      if (test_now_us() - start > 10000000)
        FAIL("filter %s attach: the receiver never slept on its link (state "
             "%u)",
             before ? "before" : "after", (unsigned)atomic_load(state));
    p[0] = 'x';
    ASSERT_OK(shmkit_channel_commit(tx, 1, 0));
    test_thread_join(&t);
    ASSERT_OK(atomic_load(&d.err));
    ASSERT_EQ(atomic_load(&d.got), 'x');
    shmkit_channel_close(tx);
  }
  return 0;
}

/* ---- a waker whose futex a filter denies */

struct mute {
  shmkit_conn *link;
  int before;              /* 1: the filter before attach, else after */
  atomic_int attached;     /* the sender attached (or failed to) */
  atomic_int got_first;    /* the receiver took the first message */
  atomic_int err;          /* a call of the sender's that failed */
  atomic_uint state_first; /* the receiver's state, asleep for the first */
  atomic_uint state_then;  /* and asleep for the second */
  atomic_int denied;       /* -1 the system takes no filter */
};

/* Waits up to 10 s for the receiver's state to say it sleeps. */
static unsigned asleep_as(_Atomic uint32_t *state) {
  int64_t start = test_now_us();
  uint32_t s;

  while ((s = atomic_load(state)) == 0 && test_now_us() - start < 10000000)
    continue;
  return s;
}

/* The sender, in a thread of its own under the filter: attaches, then
 * sends one byte each time the receiver has said that it sleeps. */
static void mute_run(void *arg) {
  struct mute *m = arg;
  shmkit_channel *tx = NULL;
  _Atomic uint32_t *state;
  unsigned char *p;
  int64_t start;
  int err;

  if (m->before && deny_shared_futex() != 0) goto no_filter;
  err = shmkit_channel_attach(&tx, m->link, 5000);
  atomic_store(&m->attached, 1);
  if (err != 0) goto failed;
  if (!m->before && deny_shared_futex() != 0) goto no_filter;
  /* The first reservation is at ring offset 0, after its 16-byte header;
   * the ring at 256, the receiver's state at 192. */
  if ((err = shmkit_channel_reserve(tx, 1, (void **)&p, 0)) != 0) goto failed;
  state = (_Atomic uint32_t *)(void *)(p - 16 - 256 + 192);
  atomic_store(&m->state_first, asleep_as(state));
  p[0] = 'a';
  if ((err = shmkit_channel_commit(tx, 1, 0)) != 0) goto failed;
  /* Taken (at once, or when the receiver's slice ended), and asleep again
   * for the next. */
  start = test_now_us();
  while (!atomic_load(&m->got_first) && test_now_us() - start < 10000000)
    test_sleep_ms(1);
  atomic_store(&m->state_then, asleep_as(state));
  if ((err = shmkit_channel_send(tx, "b", 1, 5000)) != 0) goto failed;
  shmkit_channel_close(tx);
  return;
failed:
  atomic_store(&m->err, err);
  if (tx == NULL) shmkit_conn_close(m->link); /* attach failed: still ours */
  shmkit_channel_close(tx);
  return;
no_filter:
  atomic_store(&m->denied, -1);
  atomic_store(&m->attached, 1);
  if (tx == NULL) shmkit_conn_close(m->link);
  shmkit_channel_close(tx);
}

TEST_IMPL(channel_wake_denied_sleeps_on_link) {
  /* Denied before attach, the receiver sleeps on its link from its first
   * sleep on; after, from the sleep after the one the denied wake-up
   * missed. */
  for (int before = 0; before <= 1; before++) {
    static struct mute m;
    shmkit_channel *rx;
    shmkit_conn *a;
    test_thread t;
    char c = 0;
    size_t n;
    int err;

    if (!test_linux_ext()) return TEST_SKIP; /* no futex: the link already */
    memset(&m, 0, sizeof(m));
    m.before = before;
    ASSERT_OK(shmkit_conn_pair(&a, &m.link));
    ASSERT_OK(
        shmkit_channel_create(&rx, a, SHMKIT_CHANNEL_RECV, 4096, 0, 5000));
    shmkit_channel_set_spin(rx, 0);
    test_thread_start(&t, mute_run, &m);
    /* A sleep begun before the sender said it cannot wake a word would
     * end only with its slice. */
    while (!atomic_load(&m.attached)) test_sleep_ms(1);
    err = shmkit_channel_recv(rx, &c, 1, &n, 10000);
    if (atomic_load(&m.denied) < 0) {
      test_thread_join(&t);
      shmkit_channel_close(rx);
      printf("skipped: the system takes no seccomp filter\n");
      return TEST_SKIP;
    }
    ASSERT_OK(err);
    ASSERT_EQ(c, 'a');
    atomic_store(&m.got_first, 1);
    ASSERT_OK(shmkit_channel_recv(rx, &c, 1, &n, 10000));
    ASSERT_EQ(c, 'b');
    test_thread_join(&t);
    ASSERT_OK(atomic_load(&m.err));
    printf("filter %s attach: asleep %u, then %u\n",
           before ? "before" : "after", atomic_load(&m.state_first),
           atomic_load(&m.state_then));
    /* ON_LINK (2) where the sender can wake nobody on a word; before the
     * first denied wake-up, on the word (1). */
    ASSERT_EQ(atomic_load(&m.state_first), before ? 2u : 1u);
    ASSERT_EQ(atomic_load(&m.state_then), 2u);
    shmkit_channel_close(rx);
  }
  return 0;
}

/* ---- a peer that says it cannot wake a word */

struct sayer {
  raw_chan rc;
  atomic_uint state; /* the receiver's, once it said it sleeps */
};

/* The raw sender: waits for shmkit's receiver to sleep, then sends one
 * message and wakes it as the layout says. */
static void sayer_run(void *arg) {
  struct sayer *s = arg;
  int64_t start = test_now_us();
  uint32_t st;

  while ((st = raw_get32(&s->rc, RAW_OFF_STATE_RECV)) == RAW_AWAKE &&
         test_now_us() - start < 10000000)
    continue;
  atomic_store(&s->state, st);
  raw_put(&s->rc, "m", 1);
  raw_publish(&s->rc);
}

TEST_IMPL(channel_peer_cannot_wake) {
  for (int flag = 0; flag <= 1; flag++) {
    static struct sayer s;
    shmkit_channel *rx;
    shmkit_conn *a, *b;
    raw_header h;
    raw_offer o;
    test_thread t;
    char c = 0;
    size_t n;

    memset(&s, 0, sizeof(s));
    ASSERT_OK(shmkit_conn_pair(&a, &b));
    raw_header_init(&h, 4096, 1024);
    raw_offer_init(&o, SHMKIT_CHANNEL_SEND);
    ASSERT_OK(raw_create(&s.rc, &h, 0, SHMKIT_CHANNEL_SEND));
    /* Stored before the offer, as the layout asks of such a peer. */
    raw_set32(&s.rc, RAW_OFF_NOWAKE_SEND, (uint32_t)flag);
    ASSERT_OK(raw_offer_send(&s.rc, a, &o));
    ASSERT_OK(shmkit_channel_attach(&rx, b, 5000));
    shmkit_channel_set_spin(rx, 0);
    test_thread_start(&t, sayer_run, &s);
    ASSERT_OK(shmkit_channel_recv(rx, &c, 1, &n, 10000));
    ASSERT_EQ(c, 'm');
    test_thread_join(&t);
    printf("flag %d: the receiver slept as %u\n", flag, atomic_load(&s.state));
    /* On its word only where it can wait on one and the peer can wake it:
     * on the link, the peer's `w` wakes it at once. */
    ASSERT_EQ(atomic_load(&s.state), flag == 0 && test_linux_ext()
                                         ? (unsigned)RAW_ON_WORD
                                         : (unsigned)RAW_ON_LINK);
    shmkit_channel_close(rx);
    raw_close(&s.rc);
  }
  return 0;
}
