/* Soak: many cycles of each kind of work, with this process's descriptors
 * (handles), mappings and resident memory counted before and after.
 *
 * By default each soak runs a bounded number of cycles, few enough for CI
 * (a tenth of that in the slow builds named below). The full counts run on
 * demand, one soak at a time (a long run took up to a minute on a busy
 * machine, within the runner's 300 s):
 *
 *   SHMKIT_SOAK=long build/bin/shmkit-tests soak_region_cycles
 *
 * and likewise soak_conn_cycles, soak_peer_killed and soak_receiver_killed.
 * Under Wine a long kill soak takes over ten minutes: there, add
 * SHMKIT_TEST_TIMEOUT_SCALE=5.
 * (The thousand spawns are spawn_leak_cycles, in test-spawn.c.) Counts are
 * fixed, never "as many as fit in some time", and nothing is timed, so a
 * verdict never depends on the machine's speed.
 *
 * The kill soaks choose how many messages go before the kill and when it
 * comes from a seeded generator; the seed is printed, and
 * SHMKIT_SOAK_SEED=<seed> makes the same choices again (where the peer is at
 * the moment of the kill still depends on the scheduler). */
#include <stdlib.h>
#include <time.h>

#include "task.h"

/* SHMKIT_TEST_SANITIZED: set by tests/CMakeLists.txt for a sanitizer build. */
#define SANITIZED SHMKIT_TEST_SANITIZED

/* Builds in which every call costs about ten times as much, so that a
 * bounded run has a tenth of the cycles: a sanitizer's, and Windows, which is
 * tested under Wine, where a system call is a round trip to wineserver and a
 * spawn takes tens of milliseconds. */
#if SANITIZED || defined(_WIN32)
#  define SLOW_BUILD 1
#else
#  define SLOW_BUILD 0
#endif

/* How many cycles: `full` with SHMKIT_SOAK=long, else `bounded`, or a tenth
 * of it in a slow build. */
static int cycles(int full, int bounded) {
  const char *s = getenv("SHMKIT_SOAK");
  int n = bounded;

  if (s != NULL && strcmp(s, "long") == 0)
    n = full;
  else if (SLOW_BUILD)
    n = bounded / 10 > 0 ? bounded / 10 : 1;
  printf("%d cycles (SHMKIT_SOAK=long: %d)\n", n, full);
  return n;
}

/* ---- what the process holds */

typedef struct usage {
  int handles, mappings, shared;
  long rss_kb;
} usage;

static void measure(usage *u) {
  u->handles = test_open_handles();
  u->mappings = test_mapping_count(0);
  u->shared = test_mapping_count(1);
  u->rss_kb = test_rss_kb();
}

/* Resident memory moves for reasons of its own: the allocator keeps freed
 * memory for reuse and grows its arenas in steps, the C library caches
 * thread stacks, and pages of the program and its libraries come in as
 * code first runs. So it is compared with an allowance, after the soak has
 * warmed those caches up; a leak of memory shows once the cycles add up to
 * more (a long run). Not under a sanitizer: AddressSanitizer keeps freed
 * blocks in quarantine (up to 256 MiB), so resident memory grows with
 * every cycle by design (25 MiB in a long region soak), and its leak check
 * at exit reports every block that nothing points to any more.
 *
 * Handles and shared mappings (views) have no such noise: they must come
 * back exactly. So must all mappings, but under a sanitizer, whose
 * allocator maps and unmaps memory of its own as its quarantine fills and
 * drains (a long kill soak there ended with one more mapping, private). */
#define RSS_ALLOWANCE_KB 4096

static void check_usage(const usage *before) {
  usage after;

  measure(&after);
  printf("handles %d -> %d, mappings %d -> %d (shared %d -> %d), resident "
         "%ld -> %ld KiB\n",
         before->handles, after.handles, before->mappings, after.mappings,
         before->shared, after.shared, before->rss_kb, after.rss_kb);
  ASSERT_EQ(after.handles, before->handles);
  ASSERT_EQ(after.shared, before->shared);
  if (!SANITIZED) ASSERT_EQ(after.mappings, before->mappings);
  if (SANITIZED)
    printf("resident memory: not compared under a sanitizer\n");
  else if (before->rss_kb < 0 || after.rss_kb < 0)
    printf("resident memory: the system does not tell; not compared\n");
  else
    ASSERT(after.rss_kb - before->rss_kb < RSS_ALLOWANCE_KB);
}

/* ---- a seeded generator (splitmix64) */

static uint64_t rng;

static void seed_rng(void) {
  const char *s = getenv("SHMKIT_SOAK_SEED");

  if (s != NULL)
    rng = strtoull(s, NULL, 10);
  else
    rng = (uint64_t)time(NULL) * 1000003u ^ (uint64_t)test_self_pid() ^
          (uint64_t)test_now_us();
  printf("seed %llu (SHMKIT_SOAK_SEED=%llu chooses the same again)\n",
         (unsigned long long)rng, (unsigned long long)rng);
}

static unsigned below(unsigned n) {
  uint64_t z = (rng += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return (unsigned)((z ^ (z >> 31)) % n);
}

/* ---- creating and closing regions */

static void region_cycle(unsigned i) {
  uint64_t size = 4096 + (i % 16) * 1000;
  shmkit_region *r, *o;
  shmkit_view *w, *v;
  unsigned char *p;
  char name[32];

  ASSERT_OK(shmkit_region_create(&r, size, i % 2 ? SHMKIT_SPARSE : 0));
  ASSERT_OK(shmkit_view_map(&w, r, 0, (size_t)size, SHMKIT_READ_WRITE));
  p = shmkit_view_data(w);
  p[0] = (unsigned char)i;
  p[size - 1] = (unsigned char)~i;
  ASSERT_OK(shmkit_view_map(&v, r, size - 1, 1, SHMKIT_READ_ONLY));
  ASSERT_EQ(*(unsigned char *)shmkit_view_data(v), (unsigned char)~i);
  if (i % 3 == 0) shmkit_region_close(r); /* before its views, at times */
  shmkit_view_unmap(v);
  shmkit_view_unmap(w);
  if (i % 3 != 0) shmkit_region_close(r);
  if (i % 16 == 0) { /* a named one now and then, opened again */
    ASSERT_OK(shmkit_region_create_named(&r, test_name(name, "soak"), 4096, 0));
    ASSERT_OK(shmkit_region_open(&o, name, SHMKIT_READ_ONLY));
    test_forget_name(name);
    ASSERT_OK(shmkit_view_map(&v, o, 0, 4096, SHMKIT_READ_ONLY));
    shmkit_region_close(o);
    shmkit_region_close(r);
    shmkit_view_unmap(v);
  }
}

TEST_IMPL(soak_region_cycles) {
  int n = cycles(100000, 5000);
  usage before;

  for (unsigned i = 0; i < 100; i++) region_cycle(i); /* warm up */
  measure(&before);
  for (unsigned i = 0; i < (unsigned)n; i++) region_cycle(i);
  check_usage(&before);
  return 0;
}

/* ---- messages that can be checked: payload and regions made from `seq` */

#define PAYLOAD_MAX 20000

static size_t payload_size(uint32_t seq) {
  return 4 + (seq * 7919u) % (PAYLOAD_MAX - 4);
}

static size_t region_count(uint32_t seq) {
  return seq % 4;
}

static uint64_t region_size(size_t k) {
  return 4096 * (uint64_t)(k + 1);
}

static unsigned char payload_byte(uint32_t seq, size_t j) {
  return (unsigned char)(seq * 31u + j);
}

/* Fills buf and makes new regions for message `seq`; returns the payload's
 * size. The caller closes the regions. */
static size_t make_msg(uint32_t seq, unsigned char *buf, shmkit_region **r) {
  size_t size = payload_size(seq);

  memcpy(buf, &seq, 4);
  for (size_t j = 4; j < size; j++) buf[j] = payload_byte(seq, j);
  for (size_t k = 0; k < region_count(seq); k++) {
    shmkit_view *v;
    unsigned char *p;
    uint32_t stamp[2] = {seq, (uint32_t)k};

    ASSERT_OK(shmkit_region_create(&r[k], region_size(k), 0));
    ASSERT_OK(shmkit_view_map(&v, r[k], 0, (size_t)region_size(k),
                              SHMKIT_READ_WRITE));
    p = shmkit_view_data(v);
    memcpy(p, stamp, sizeof(stamp));
    p[region_size(k) - 1] = (unsigned char)(seq ^ k);
    shmkit_view_unmap(v);
  }
  return size;
}

/* Checks that a received message is message `seq`, whole, then closes its
 * regions. */
static void check_msg(shmkit_msg *m, uint32_t seq) {
  const unsigned char *buf = m->data;
  uint32_t got;

  ASSERT_EQ(m->size, payload_size(seq));
  memcpy(&got, buf, 4);
  ASSERT_EQ(got, seq);
  for (size_t j = 4; j < m->size; j++)
    if (buf[j] != payload_byte(seq, j))
      FAIL("message %u: byte %u is %u", (unsigned)seq, (unsigned)j, buf[j]);
  ASSERT_EQ(m->count, region_count(seq));
  for (size_t k = 0; k < m->count; k++) {
    uint64_t size = region_size(k);
    uint32_t stamp[2];
    shmkit_view *v;
    const unsigned char *p;

    ASSERT(shmkit_region_size(m->regions[k]) >= size);
    ASSERT_OK(
        shmkit_view_map(&v, m->regions[k], 0, (size_t)size, SHMKIT_READ_ONLY));
    p = shmkit_view_data(v);
    memcpy(stamp, p, sizeof(stamp));
    ASSERT_EQ(stamp[0], seq);
    ASSERT_EQ(stamp[1], k);
    ASSERT_EQ(p[size - 1], (unsigned char)(seq ^ k));
    shmkit_view_unmap(v);
    shmkit_region_close(m->regions[k]);
  }
}

static void init_msg(shmkit_msg *m, void *buf) {
  memset(m, 0, sizeof(*m));
  m->data = buf;
  m->capacity = PAYLOAD_MAX;
}

/* Sends message `seq`; returns what the send did. Its regions are closed at
 * once: they are the peer's business from then on. */
static int send_msg(shmkit_conn *c, uint32_t seq, int timeout_ms) {
  static unsigned char buf[PAYLOAD_MAX];
  shmkit_region *r[4] = {NULL, NULL, NULL, NULL};
  size_t size = make_msg(seq, buf, r);
  int err = shmkit_conn_send(c, buf, size, r, region_count(seq), timeout_ms);

  for (size_t k = 0; k < region_count(seq); k++) shmkit_region_close(r[k]);
  return err;
}

/* ---- connecting, sending, receiving and closing */

static void conn_cycle(shmkit_conn *l, const char *name, uint32_t i) {
  static unsigned char buf[PAYLOAD_MAX];
  shmkit_conn *c, *s;
  shmkit_msg m;

  ASSERT_OK(shmkit_connect(&c, name, 30000));
  ASSERT_OK(shmkit_accept(&s, l, 30000));
  init_msg(&m, buf);
  /* Both ways, so each end sends regions and receives them. */
  ASSERT_OK(send_msg(c, i, 30000));
  ASSERT_OK(shmkit_conn_recv(s, &m, 30000));
  check_msg(&m, i);
  ASSERT_OK(send_msg(s, i + 1, 30000));
  ASSERT_OK(shmkit_conn_recv(c, &m, 30000));
  check_msg(&m, i + 1);
  if (i % 2) { /* either end first */
    shmkit_conn_close(c);
    shmkit_conn_close(s);
  } else {
    shmkit_conn_close(s);
    shmkit_conn_close(c);
  }
}

TEST_IMPL(soak_conn_cycles) {
  int n = cycles(10000, 1000);
  shmkit_conn *l;
  usage before;
  char name[32];

  ASSERT_OK(shmkit_listen(&l, test_name(name, "soak")));
  for (uint32_t i = 0; i < 20; i++) conn_cycle(l, name, i); /* warm up */
  measure(&before);
  for (uint32_t i = 0; i < (uint32_t)n; i++) conn_cycle(l, name, i);
  check_usage(&before);
  shmkit_conn_close(l);
  return 0;
}

/* ---- a peer killed at a random point of a transfer */

/* Seeds the generator and returns the number of rounds. Makes a region
 * first: Windows opens the session's object directory at the first named
 * object (shmkit names its sections) and keeps it, which is no leak of a
 * round's. */
static int kill_rounds(void) {
  shmkit_region *r;

  seed_rng();
  ASSERT_OK(shmkit_region_create(&r, 4096, 0));
  shmkit_region_close(r);
  return cycles(1000, 50);
}

typedef struct killer {
  shmkit_process *p;
  unsigned spins;
  int sleep_ms;
  int64_t at; /* when the kill was asked for */
} killer;

/* Waits a random while (a busy loop of a random length, then perhaps a few
 * milliseconds' sleep) and kills the peer: the moment falls anywhere in
 * what the peer is doing. */
static void kill_later(void *arg) {
  killer *k = arg;

  for (volatile unsigned i = 0; i < k->spins; i++) {
  }
  if (k->sleep_ms > 0) test_sleep_ms(k->sleep_ms);
  k->at = test_now_us();
  ASSERT_OK(shmkit_process_kill(k->p));
}

static void start_killer(killer *k, test_thread *t, shmkit_process *p) {
  k->p = p;
  k->spins = below(1u << 18);
  k->sleep_ms = (int)below(4);
  test_thread_start(t, kill_later, k);
}

/* Once the end is seen, this process holds no more handles than at the
 * start of the round (`held`: its end and the process), before it closes
 * anything: what the dead peer left in flight is gone already. Then
 * collects the peer, which must have died of the kill (not of a failure of
 * its own), and releases what is left of the round. */
static void end_round(killer *k, test_thread *t, shmkit_conn *a, int held,
                      int64_t err_at, int64_t *worst_us) {
  int code, sig;

  test_thread_join(t);
  ASSERT_EQ(test_open_handles(), held);
  if (err_at - k->at > *worst_us) *worst_us = err_at - k->at;
  ASSERT_OK(shmkit_process_wait(k->p, 30000, &code, &sig));
  ASSERT_EQ(sig, test_kill_signal());
  ASSERT_EQ(code, test_kill_exit_code());
  shmkit_process_close(k->p);
  shmkit_conn_close(a);
}

/* One step of a kill round: sends message `seq` (`we_send`), or receives
 * it and checks that it is whole and in order. Returns what the call did. */
static int kill_step(shmkit_conn *a, shmkit_msg *m, int we_send, uint32_t seq) {
  int err;

  if (we_send) return send_msg(a, seq, -1);
  if ((err = shmkit_conn_recv(a, m, -1)) == 0) check_msg(m, seq);
  return err;
}

/* A round of a kill soak: we send (`we_send`) or receive `first` messages
 * from a peer that does the other, then the peer is killed while we go on
 * until the end comes as SHMKIT_ECLOSED, with nothing received after it.
 *
 * The peer sends: every message that arrives is whole and in order, then
 * the end comes (a receive that waited forever instead would be caught by
 * the runner's timeout).
 *
 * The peer receives: our sends wait forever (-1); the system ends a send to
 * a dead peer (POSIX: the socket's other end is closed with the process,
 * and a blocked send fails with EPIPE; Windows: the pipe breaks), so the
 * sends must end with SHMKIT_ECLOSED, and the regions in flight must be
 * gone with them. */
static void kill_round(int we_send, unsigned first, int64_t *worst_us,
                       uint32_t *total) {
  static unsigned char buf[PAYLOAD_MAX];
  shmkit_process *p;
  shmkit_conn *a =
      test_conn_child(we_send ? "soak_receiver" : "soak_sender", NULL, &p);
  int held = test_open_handles();
  uint32_t seq = 0;
  shmkit_msg m;
  test_thread t;
  killer k;
  int err;

  init_msg(&m, buf);
  for (; seq < first; seq++) ASSERT_OK(kill_step(a, &m, we_send, seq));
  start_killer(&k, &t, p);
  while ((err = kill_step(a, &m, we_send, seq)) == 0) seq++;
  ASSERT_ERR(err, SHMKIT_ECLOSED);
  ASSERT_EQ(m.count, 0);
  end_round(&k, &t, a, held, test_now_us(), worst_us);
  *total += seq;
}

/* The rounds of a kill soak, with the counts compared around them. */
static void kill_soak(int we_send, const char *what) {
  int n = kill_rounds();
  int64_t worst = 0;
  uint32_t total = 0;
  usage before;

  /* Warm up with every kind of message before counting. */
  kill_round(we_send, 64, &worst, &total);
  measure(&before);
  for (int i = 0; i < n; i++) kill_round(we_send, below(64), &worst, &total);
  check_usage(&before);
  printf("%u messages %s; longest from kill to SHMKIT_ECLOSED: %.1f ms\n",
         (unsigned)total, what, (double)worst / 1000);
}

TEST_IMPL(soak_peer_killed) {
  kill_soak(0, "received");
  /* The senders were killed while making regions: on the portable path
   * that leaves a name now and then (shmkit.h: shmkit_region_create). */
  printf("names left by killed senders, removed: %d\n",
         test_remove_killed_names());
  return 0;
}

CHILD_IMPL(soak_sender) {
  shmkit_conn *c = child_conn(argc, argv);

  for (uint32_t seq = 0;; seq++) /* until killed */
    ASSERT_OK(send_msg(c, seq, -1));
}

TEST_IMPL(soak_receiver_killed) {
  kill_soak(1, "sent");
  return 0;
}

CHILD_IMPL(soak_receiver) {
  static unsigned char buf[PAYLOAD_MAX];
  shmkit_conn *c = child_conn(argc, argv);
  shmkit_msg m;

  init_msg(&m, buf);
  for (uint32_t seq = 0;; seq++) { /* until killed */
    ASSERT_OK(shmkit_conn_recv(c, &m, -1));
    check_msg(&m, seq);
  }
}
