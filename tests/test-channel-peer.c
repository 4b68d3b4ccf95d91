/* Channels whose peer process dies or closes: killed (POSIX SIGKILL,
 * Windows TerminateProcess) after it committed messages, while this side
 * waits for room or for a message, at random moments of a stream at full
 * speed, or closed cleanly. The survivor gets every message committed
 * before, intact and in order, then SHMKIT_ECLOSED: never a crash, a hang
 * or SHMKIT_ETIMEDOUT, which would mean the death was not noticed.
 *
 * A call that waits forever is watched from the thread that kills: the
 * contract is ECLOSED within a second, so one still blocked 5 s after the
 * kill has missed it (the bound is generous, not a measure of speed).
 * The measured times are printed, for information. */
#include <limits.h>

#include "channel-stream.h"

/* ---- killing from another thread while this one waits */

typedef struct killer {
  shmkit_process *p;
  const board *b; /* NULL, or the child's board, to wait on first: */
  int stopped;    /* until the child says it stopped */
  uint64_t after; /* until it counted this many messages */
  int delay_ms;   /* then this long */
  int64_t killed_us;
  _Atomic int returned; /* the survivor's call came back */
} killer;

static uint64_t counted(const board *b) {
  return atomic_load((_Atomic uint64_t *)&b->count);
}

static void kill_later(void *arg) {
  killer *k = arg;
  int64_t end = test_now_us() + 30000000;

  if (k->b != NULL && k->stopped) board_wait(k->b, BOARD_STOPPED);
  while (k->b != NULL && counted(k->b) < k->after && test_now_us() < end)
    test_sleep_ms(1);
  test_sleep_ms(k->delay_ms);
  k->killed_us = test_now_us();
  ASSERT_OK(shmkit_process_kill(k->p));
  end = k->killed_us + 5000000;
  while (!atomic_load(&k->returned) && test_now_us() < end) test_sleep_ms(1);
  if (!atomic_load(&k->returned))
    FAIL("the survivor still waits 5 s after its peer was killed");
}

/* Starts the thread; k's fields other than p are set by the caller. */
static void start_killer(test_thread *t, killer *k, shmkit_process *p) {
  k->p = p;
  atomic_store(&k->returned, 0);
  test_thread_start(t, kill_later, k);
}

/* After the survivor's call came back: the killer is done. */
static void stop_killer(test_thread *t, killer *k, const char *what) {
  int64_t now = test_now_us();

  atomic_store(&k->returned, 1);
  test_thread_join(t);
  printf("%s: SHMKIT_ECLOSED %lld ms after the kill\n", what,
         (long long)(now - k->killed_us) / 1000);
}

/* The next calls of a side that saw the end see it again, at once. */
static void closed_for_good(shmkit_channel *ch, int send) {
  unsigned char buf[8];
  size_t n;
  void *p;

  if (send) {
    ASSERT_ERR(shmkit_channel_send(ch, "x", 1, 0), SHMKIT_ECLOSED);
    ASSERT_ERR(shmkit_channel_reserve(ch, 1, &p, -1), SHMKIT_ECLOSED);
  } else {
    ASSERT_ERR(shmkit_channel_recv(ch, buf, sizeof(buf), &n, 0),
               SHMKIT_ECLOSED);
    ASSERT_ERR(shmkit_channel_recv(ch, buf, sizeof(buf), &n, -1),
               SHMKIT_ECLOSED);
  }
}

/* The survivor of a killed peer sees the end again, then lets go of the
 * channel, the stream and the peer. */
static void survivor_end(peer_run *run, stream *s, int send) {
  closed_for_good(run->ch, send);
  shmkit_channel_close(run->ch);
  stream_free(s);
  peer_end(run);
}

/* ---- (a) the sender is killed; the receiver survives */

/* The child commits k messages, says so, and stops. how 0: killed before
 * we read any (they all fit); 1: killed while we wait 5 s for more; 2:
 * while we wait forever. */
static void sender_killed(uint64_t seed, int how) {
  uint64_t k = how == 0 ? 200 : 2000;
  peer_plan plan = {.how = "arg",
                    .action = "send-stop",
                    .n = k,
                    .seed = seed,
                    .max = 200,
                    .cap = how == 0 ? 65536 : 4096,
                    .spin = how == 2 ? 0 : SHMKIT_CHANNEL_SPIN_DEFAULT};
  peer_run run;
  stream s;
  test_thread t;
  killer kl;

  peer_start(&run, &plan, SHMKIT_CHANNEL_RECV);
  stream_init(&s, seed, plan.max, how == 2 ? -1 : 5000);
  shmkit_channel_set_spin(run.ch, plan.spin);
  if (how == 0) {
    board_wait(run.b, BOARD_STOPPED);
    ASSERT_OK(shmkit_process_kill(run.p));
    reap_killed(run.p);
    ASSERT_ERR(stream_recv(&s, run.ch), SHMKIT_ECLOSED);
  } else {
    kl = (killer){.b = run.b, .stopped = 1, .delay_ms = 300};
    start_killer(&t, &kl, run.p);
    ASSERT_ERR(stream_recv(&s, run.ch), SHMKIT_ECLOSED);
    stop_killer(&t, &kl, how == 1 ? "receiver, 5 s" : "receiver, forever");
    reap_killed(run.p);
  }
  ASSERT_EQ(s.count, k);
  survivor_end(&run, &s, 0);
}

TEST_IMPL(channel_proc_sender_killed) {
  uint64_t seed = chproc_seed();

  for (int how = 0; how < 3; how++) sender_killed(seed + how, how);
  return 0;
}

/* ---- (b) the receiver is killed; the sender survives */

/* The child attaches and reads nothing: we fill the ring. how 0: killed,
 * then we send for up to 5 s; 1: killed while we wait 5 s for room; 2:
 * while we wait forever; 3: killed before it could attach; 4: killed
 * while the ring has room, which only the link can tell: a send a second
 * later, with room, says so. */
static void receiver_killed(uint64_t seed, int how) {
  peer_plan plan = {.how = "arg",
                    .action = "recv-stop",
                    .seed = seed,
                    .max = 1024,
                    .cap = 4096,
                    .spin = how == 2 ? 0 : SHMKIT_CHANNEL_SPIN_DEFAULT};
  peer_run run;
  stream s;
  test_thread t;
  killer kl;

  peer_start(&run, &plan, SHMKIT_CHANNEL_SEND);
  shmkit_channel_set_spin(run.ch, plan.spin);
  stream_init(&s, seed, plan.max, 0);
  if (how == 4) {
    board_wait(run.b, BOARD_STOPPED);
    ASSERT_OK(shmkit_process_kill(run.p));
    reap_killed(run.p);
    test_sleep_ms(1000);
    ASSERT_ERR(shmkit_channel_send(run.ch, "x", 1, 0), SHMKIT_ECLOSED);
    survivor_end(&run, &s, 1);
    return;
  }
  if (how == 3) {
    kl = (killer){.delay_ms = 0};
    start_killer(&t, &kl, run.p);
  } else {
    board_wait(run.b, BOARD_STOPPED);
    ASSERT_ERR(stream_send(&s, run.ch, UINT64_MAX),
               SHMKIT_ETIMEDOUT); /* full */
  }
  s.wait_ms = how == 2 || how == 3 ? -1 : 5000;
  if (how == 0) {
    ASSERT_OK(shmkit_process_kill(run.p));
    reap_killed(run.p);
    ASSERT_ERR(stream_send(&s, run.ch, UINT64_MAX), SHMKIT_ECLOSED);
  } else {
    if (how != 3) {
      kl = (killer){.b = run.b, .stopped = 1, .delay_ms = 300};
      start_killer(&t, &kl, run.p);
    }
    ASSERT_ERR(stream_send(&s, run.ch, UINT64_MAX), SHMKIT_ECLOSED);
    stop_killer(&t, &kl, how == 3 ? "sender, before the attach" : "sender");
    reap_killed(run.p);
  }
  survivor_end(&run, &s, 1);
}

TEST_IMPL(channel_proc_receiver_killed) {
  uint64_t seed = chproc_seed();

  for (int how = 0; how < 5; how++) receiver_killed(seed + how, how);
  return 0;
}

/* ---- (c) killed at random moments of a stream at full speed */

/* Each round the child sends or receives for ever, with a spin chosen
 * at random (0, the default, or busy-polling), and is killed once it
 * counted a random number of messages (0: possibly before it attached),
 * plus a random pause. */
static void killed_midstream(uint64_t *rng, int round) {
  static const unsigned spins[] = {0, SHMKIT_CHANNEL_SPIN_DEFAULT, UINT_MAX};
  int we_send = round % 2;
  peer_plan plan = {.how = "arg", .action = we_send ? "recv" : "send"};
  peer_run run;
  stream s;
  test_thread t;
  killer kl;
  char what[96];

  plan.n = UINT64_MAX;
  plan.seed = mix_next(rng);
  plan.cap = mix_next(rng) % 2 ? 4096 : 65536;
  plan.max = 1 + mix_next(rng) % (plan.cap / 4);
  plan.spin = spins[mix_next(rng) % 3];
  peer_start(&run, &plan, we_send ? SHMKIT_CHANNEL_SEND : SHMKIT_CHANNEL_RECV);
  shmkit_channel_set_spin(run.ch, spins[mix_next(rng) % 3]);
  /* Calls that wait 5 s, or for ever (then the killer's watch counts). */
  stream_init(&s, plan.seed, plan.max, round / 2 % 2 ? -1 : 5000);
  kl = (killer){.b = run.b, .delay_ms = (int)(mix_next(rng) % 20)};
  if (mix_next(rng) % 4 != 0) kl.after = mix_next(rng) % stream_scaled(200000);
  start_killer(&t, &kl, run.p);
  if (we_send)
    ASSERT_ERR(stream_send(&s, run.ch, UINT64_MAX), SHMKIT_ECLOSED);
  else
    ASSERT_ERR(stream_recv(&s, run.ch), SHMKIT_ECLOSED);
  snprintf(what, sizeof(what), "round %d, %s %llu messages", round,
           we_send ? "sent" : "received", (unsigned long long)s.count);
  stop_killer(&t, &kl, what);
  reap_killed(run.p);
  survivor_end(&run, &s, we_send);
}

TEST_IMPL(channel_proc_killed_midstream) {
  uint64_t rng = chproc_seed();
  int rounds = SHMKIT_TEST_SANITIZED ? 8 : 16;

  for (int i = 0; i < rounds; i++) killed_midstream(&rng, i);
  return 0;
}

/* ---- (d) the peer closes cleanly */

/* Receives with calls that do not wait until the end: once the child said
 * it closed, the very next call that finds nothing must say so. */
static void drain_until_closed(stream *s, shmkit_channel *ch, const board *b) {
  int err;

  s->wait_ms = 0;
  for (;;) {
    uint32_t state = atomic_load((_Atomic uint32_t *)&b->state);

    if ((err = stream_recv(s, ch)) == SHMKIT_ECLOSED) return;
    ASSERT_ERR(err, SHMKIT_ETIMEDOUT);
    if (state == BOARD_CLOSED)
      FAIL("SHMKIT_ETIMEDOUT from a call made after the peer closed");
  }
}

/* how 0: the child sends, closes and exits; 1: it sends, closes and stays;
 * 2: it closes 300 ms after we wait forever for more. */
static void sender_closes(uint64_t seed, int how) {
  static const char *const acts[] = {"send", "send-close-stay",
                                     "send-wait-close"};
  uint64_t k = 1000;
  peer_plan plan = {"arg", NULL, acts[how], k,
                    seed,  100,  4096,      SHMKIT_CHANNEL_SPIN_DEFAULT};
  peer_run run;
  stream s;
  int64_t t;

  peer_start(&run, &plan, SHMKIT_CHANNEL_RECV);
  stream_init(&s, seed, plan.max, -1);
  if (how == 2) {
    atomic_store(&run.b->go, 1);
    ASSERT_ERR(stream_recv(&s, run.ch), SHMKIT_ECLOSED);
    t = test_now_us();
    printf("receiver, forever: SHMKIT_ECLOSED %lld us after the close\n",
           (long long)(t - atomic_load(&run.b->closed_us)));
  } else {
    drain_until_closed(&s, run.ch, run.b);
  }
  ASSERT_EQ(s.count, k);
  closed_for_good(run.ch, 0);
  if (how == 1) {
    ASSERT_OK(shmkit_process_kill(run.p));
    reap_killed(run.p);
  } else {
    reap_ok(run.p);
  }
  shmkit_channel_close(run.ch);
  stream_free(&s);
  peer_end(&run);
}

/* The receiving child closes 300 ms after we start to wait forever for
 * room in the ring we filled. */
static void receiver_closes(uint64_t seed) {
  peer_plan plan = {"arg", NULL, "recv-close", 0,
                    seed,  1024, 4096,         SHMKIT_CHANNEL_SPIN_DEFAULT};
  peer_run run;
  stream s;

  peer_start(&run, &plan, SHMKIT_CHANNEL_SEND);
  stream_init(&s, seed, plan.max, 0);
  board_wait(run.b, BOARD_STARTED);
  ASSERT_ERR(stream_send(&s, run.ch, UINT64_MAX), SHMKIT_ETIMEDOUT); /* full */
  atomic_store(&run.b->go, 1);
  s.wait_ms = -1;
  ASSERT_ERR(stream_send(&s, run.ch, UINT64_MAX), SHMKIT_ECLOSED);
  printf("sender, forever: SHMKIT_ECLOSED %lld us after the close\n",
         (long long)(test_now_us() - atomic_load(&run.b->closed_us)));
  closed_for_good(run.ch, 1);
  reap_ok(run.p);
  shmkit_channel_close(run.ch);
  stream_free(&s);
  peer_end(&run);
}

TEST_IMPL(channel_proc_peer_closes) {
  uint64_t seed = chproc_seed();

  for (int how = 0; how < 3; how++) sender_closes(seed + how, how);
  receiver_closes(seed + 3);
  return 0;
}
