/* The stream, the board and the spawning of channel_peer that the channel
 * tests with real processes share (channel-stream.h). */
#include <stdlib.h>
#include <time.h>

#include "channel-stream.h"

/* ---- numbers */

static uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

uint64_t mix_next(uint64_t *state) {
  return mix64(*state += 0x9e3779b97f4a7c15u);
}

static unsigned pick(stream *s, unsigned n) {
  return (unsigned)(mix_next(&s->rng) % n);
}

uint64_t chproc_seed(void) {
  const char *e = getenv("SHMKIT_CHPROC_SEED");
  uint64_t seed = e != NULL
                      ? strtoull(e, NULL, 10)
                      : (uint64_t)time(NULL) * 1000003u ^
                            (uint64_t)test_self_pid() ^ (uint64_t)test_now_us();

  printf("seed %llu (SHMKIT_CHPROC_SEED=%llu makes the same choices)\n",
         (unsigned long long)seed, (unsigned long long)seed);
  return seed;
}

uint64_t stream_scaled(uint64_t full) {
  const char *e = getenv("SHMKIT_CHPROC_N");

  if (e != NULL) return strtoull(e, NULL, 10);
#if defined(_WIN32)
  return full / 50;
#elif SHMKIT_TEST_SANITIZED || !defined(__OPTIMIZE__)
  return full / 10;
#else
  return full;
#endif
}

/* ---- the stream */

void stream_init(stream *s, uint64_t seed, size_t max, int wait_ms) {
  uint64_t t = seed;

  memset(s, 0, sizeof(*s));
  s->seed = seed;
  s->max = max;
  s->wait_ms = wait_ms;
  s->rng = ~seed;
  s->tmpl = malloc(2 * max);
  s->buf = malloc(max);
  ASSERT(s->tmpl != NULL && s->buf != NULL);
  for (size_t i = 0; i < 2 * max; i++) s->tmpl[i] = (unsigned char)mix_next(&t);
}

void stream_free(stream *s) {
  free(s->tmpl);
  free(s->buf);
}

/* Message `seq`: `size` bytes of the template from `off`. */
static void msg_of(const stream *s, uint64_t seq, size_t *size, size_t *off) {
  uint64_t h = mix64(s->seed + (seq + 1) * 0x9e3779b97f4a7c15u);

  *size = 1 + (size_t)(h % s->max);
  *off = (size_t)((h >> 32) % s->max);
}

/* The checksum goes on with one more message: its length and its ends. */
static void fold(stream *s, const unsigned char *data, size_t size) {
  uint64_t head = 0;

  memcpy(&head, data, size < 8 ? size : 8);
  s->sum = mix64(s->sum ^ head ^ (uint64_t)size << 40 ^
                 (uint64_t)data[size - 1] << 32);
  s->count++;
  if (s->progress != NULL)
    atomic_store_explicit(s->progress, s->count, memory_order_relaxed);
}

/* Sends message `count`: by copy (how 0), reserving its size (1) or more
 * than it (2, the commit saying how much was used). */
static int put(stream *s, shmkit_channel *ch, unsigned how, unsigned flags) {
  size_t size, off, room;
  void *p;
  int err;

  msg_of(s, s->count, &size, &off);
  if (how == 0) {
    err = shmkit_channel_send(ch, s->tmpl + off, size, s->wait_ms);
  } else {
    room = how == 2 ? size + pick(s, 64) : size;
    if (room > s->max) room = s->max;
    if ((err = shmkit_channel_reserve(ch, room, &p, s->wait_ms)) != 0)
      return err;
    ASSERT_EQ((uintptr_t)p % 16, 0);
    memcpy(p, s->tmpl + off, size);
    /* Committed either way; SHMKIT_ECLOSED says the receiver was then
     * found gone, as send() says it. */
    if ((err = shmkit_channel_commit(ch, size, flags)) != SHMKIT_ECLOSED)
      ASSERT_OK(err);
  }
  if (err == 0) fold(s, s->tmpl + off, size);
  return err;
}

int stream_send(stream *s, shmkit_channel *ch, uint64_t n) {
  int err = 0;

  while (err == 0 && s->count < n) {
    unsigned op = pick(s, 4), batch;

    /* A stream ends with a flush, which alone publishes its last messages:
     * a sender that stops there must have published them all. */
    if (n - s->count <= 8) op = 3;

    if (op < 2) {
      err = put(s, ch, pick(s, 3), 0);
      continue;
    }
    /* A batch, published by its last commit (op 2) or a flush (op 3); one
     * longer than the ring is published by the wait for room. */
    batch = 2 + pick(s, 7);
    if (batch > n - s->count || n - s->count <= 8)
      batch = (unsigned)(n - s->count);
    for (unsigned i = 0; err == 0 && i < batch; i++)
      err = put(s, ch, 1 + pick(s, 2),
                i + 1 < batch || op == 3 ? SHMKIT_CHANNEL_MORE : 0);
    if (err == 0 && op == 3) ASSERT_OK(shmkit_channel_flush(ch));
  }
  return err;
}

/* The next message must be message `count`. */
static void check(stream *s, const void *data, size_t n) {
  size_t size, off;

  msg_of(s, s->count, &size, &off);
  if (n != size)
    FAIL("message %llu: %lu bytes, want %lu", (unsigned long long)s->count,
         (unsigned long)n, (unsigned long)size);
  if (memcmp(data, s->tmpl + off, size) != 0)
    FAIL("message %llu (%lu bytes): not its contents",
         (unsigned long long)s->count, (unsigned long)size);
  fold(s, data, size);
}

/* One message by copy; with `tight`, first into a buffer a byte too small,
 * which must say how long it is and leave it there. */
static int take_copy(stream *s, shmkit_channel *ch, int tight) {
  size_t size, off, n;
  int err;

  msg_of(s, s->count, &size, &off);
  if (tight && size > 1) {
    err = shmkit_channel_recv(ch, s->buf, size - 1, &n, s->wait_ms);
    if (err == 0)
      FAIL("message %llu: %lu bytes, want %lu", (unsigned long long)s->count,
           (unsigned long)n, (unsigned long)size);
    if (err != SHMKIT_E2BIG) return err;
    ASSERT_EQ(n, size);
  }
  if ((err = shmkit_channel_recv(ch, s->buf, s->max, &n, s->wait_ms)) != 0)
    return err;
  check(s, s->buf, n);
  return 0;
}

/* Up to k messages in place, then given back at once. Only the first may
 * wait: the ring may be full of what was peeked at. */
static int take_peeked(stream *s, shmkit_channel *ch, unsigned k) {
  const void *q;
  size_t n;
  unsigned i;
  int err = 0;

  for (i = 0; i < k; i++) {
    err = shmkit_channel_peek(ch, &q, &n, i == 0 ? s->wait_ms : 0);
    if (err != 0) break;
    ASSERT_EQ((uintptr_t)q % 8, 0);
    check(s, q, n);
  }
  ASSERT_OK(shmkit_channel_release(ch));
  return i > 0 && err == SHMKIT_ETIMEDOUT ? 0 : err;
}

int stream_recv(stream *s, shmkit_channel *ch) {
  int err;

  do {
    unsigned op = pick(s, 8);

    if (op < 4)
      err = take_copy(s, ch, op == 0);
    else
      err = take_peeked(s, ch, 1 + pick(s, 8));
  } while (err == 0);
  return err;
}

/* ---- the board */

board *board_new(shmkit_region **r, shmkit_view **v) {
  ASSERT_OK(shmkit_region_create(r, 4096, 0));
  ASSERT_OK(shmkit_view_map(v, *r, 0, 4096, SHMKIT_READ_WRITE));
  return shmkit_view_data(*v);
}

void board_drop(shmkit_region *r, shmkit_view *v) {
  shmkit_view_unmap(v);
  shmkit_region_close(r);
}

void board_wait(const board *b, uint32_t state) {
  int64_t end = test_now_us() + 30000000;

  while (atomic_load((_Atomic uint32_t *)&b->state) != state) {
    if (test_now_us() > end)
      FAIL("the child did not get to state %u in 30 s (it is at %u)", state,
           (unsigned)atomic_load((_Atomic uint32_t *)&b->state));
    test_sleep_ms(1);
  }
}

/* ---- the child */

shmkit_process *peer_spawn(const peer_plan *plan, shmkit_region *board_r,
                           shmkit_conn *link) {
  char num[5][24], env_board[SHMKIT_TOKEN_MAX + 16];
  char env_link[SHMKIT_TOKEN_MAX + 16], tok[SHMKIT_TOKEN_MAX];
  const char *args[9], *env[3] = {env_board, NULL, NULL};
  shmkit_spawn_options o;
  shmkit_process *p;

  snprintf(num[0], sizeof(num[0]), "%llu", (unsigned long long)plan->n);
  snprintf(num[1], sizeof(num[1]), "%llu", (unsigned long long)plan->seed);
  snprintf(num[2], sizeof(num[2]), "%lu", (unsigned long)plan->max);
  snprintf(num[3], sizeof(num[3]), "%lu", (unsigned long)plan->cap);
  snprintf(num[4], sizeof(num[4]), "%u", plan->spin);
  args[0] = plan->how;
  args[1] = plan->where != NULL ? plan->where : "-";
  args[2] = plan->action;
  for (int i = 0; i < 5; i++) args[3 + i] = num[i];
  args[8] = NULL;
  token_of(board_r, tok);
  snprintf(env_board, sizeof(env_board), "CHPROC_BOARD=%s", tok);
  memset(&o, 0, sizeof(o));
  o.regions = &board_r;
  o.region_count = 1;
  if (link != NULL) {
    o.conns = &link;
    o.conn_count = 1;
    ASSERT_OK(shmkit_conn_token(link, tok, sizeof(tok)));
    snprintf(env_link, sizeof(env_link), "CHPROC_LINK=%s", tok);
    if (strcmp(plan->how, "env") == 0) env[1] = env_link;
  }
  o.env_set = env;
  ASSERT_OK(spawn_runner(&p, NULL, "channel_peer", args, &o));
  return p;
}

shmkit_conn *peer_pair(peer_plan *plan, shmkit_region *board_r,
                       shmkit_process **p) {
  char tok[SHMKIT_TOKEN_MAX];
  shmkit_conn *a, *b;

  ASSERT_OK(shmkit_conn_pair(&a, &b));
  ASSERT_OK(shmkit_conn_token(b, tok, sizeof(tok)));
  if (strcmp(plan->how, "arg") == 0) plan->where = tok;
  *p = peer_spawn(plan, board_r, b);
  plan->where = NULL;
  shmkit_conn_close(b);
  return a;
}

shmkit_conn *peer_begin(peer_run *r, peer_plan *plan) {
  r->b = board_new(&r->br, &r->bv);
  return peer_pair(plan, r->br, &r->p);
}

void peer_start(peer_run *r, peer_plan *plan, int role) {
  ASSERT_OK(shmkit_channel_create(&r->ch, peer_begin(r, plan), role, plan->cap,
                                  plan->max, 30000));
}

void peer_end(peer_run *r) {
  board_drop(r->br, r->bv);
}

void reap_killed(shmkit_process *p) {
  int code = 0, sig = 0;

  ASSERT_OK(shmkit_process_wait(p, 30000, &code, &sig));
  /* Not its own failure, which exits with status 1 (on Windows, where a
   * kill's exit code is 1 too, the child's message on stderr tells). */
  ASSERT_EQ(sig, test_kill_signal());
  ASSERT_EQ(code, test_kill_exit_code());
  shmkit_process_close(p);
}
