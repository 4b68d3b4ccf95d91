/* Channels between processes: a child that attaches from a token on its
 * command line or in its environment, two processes that meet by an
 * endpoint's name, long streams through small rings (every message
 * checked, and a checksum over all of them compared at the end), and one
 * poll() loop serving several channels. Peers that die or close:
 * test-channel-peer.c. The stream and the child's plumbing:
 * channel-stream.c. */
#include <stdlib.h>

#include "channel-stream.h"

/* ---- the child, channel_peer (channel-stream.h) */

static shmkit_channel *peer_channel(const peer_plan *plan, int role) {
  shmkit_channel *ch;
  shmkit_conn *l, *c;

  if (strcmp(plan->how, "arg") == 0) {
    ASSERT_OK(shmkit_channel_from_token(&ch, plan->where, 30000));
  } else if (strcmp(plan->how, "env") == 0) {
    ASSERT_OK(shmkit_channel_from_env(&ch, "CHPROC_LINK", 30000));
  } else if (strcmp(plan->how, "connect") == 0) {
    ASSERT_OK(shmkit_connect(&c, plan->where, 30000));
    ASSERT_OK(shmkit_channel_attach(&ch, c, 30000));
  } else {
    ASSERT_STR_EQ(plan->how, "listen");
    ASSERT_OK(shmkit_listen(&l, plan->where));
    ASSERT_OK(shmkit_accept(&c, l, 30000));
    shmkit_conn_close(l);
    ASSERT_OK(shmkit_channel_create(&ch, c, role, plan->cap, plan->max, 30000));
  }
  return ch;
}

/* Waits to be killed, which comes within seconds; bounded, so that a
 * parent that failed first does not leave it behind for long (ctest waits
 * for it: it holds the test's output). */
static void idle(void) {
  for (int i = 0; i < 300; i++) test_sleep_ms(100);
  FAIL("not killed within 30 s");
}

static void wait_go(board *b) {
  for (int i = 0; i < 30000 && atomic_load(&b->go) == 0; i++) test_sleep_ms(1);
  ASSERT_EQ(atomic_load(&b->go), 1);
}

static void close_now(shmkit_channel *ch, board *b) {
  atomic_store(&b->closed_us, test_now_us());
  shmkit_channel_close(ch);
  atomic_store(&b->state, BOARD_CLOSED);
}

/* send: n messages, then a close. send-stop: then waits to be killed,
 * the channel open. send-close-stay: closes, then waits to be killed.
 * send-wait-close: closes 300 ms after the parent says go. */
static void peer_send(const char *act, shmkit_channel *ch, stream *s, board *b,
                      uint64_t n) {
  ASSERT_OK(stream_send(s, ch, n));
  if (strcmp(act, "send-stop") == 0) {
    atomic_store(&b->state, BOARD_STOPPED);
    idle();
  }
  if (strcmp(act, "send-wait-close") == 0) {
    wait_go(b);
    test_sleep_ms(300);
  }
  close_now(ch, b);
  if (strcmp(act, "send-close-stay") == 0) idle();
}

/* recv: everything until the end, then reports. recv-go: the same once
 * the parent says go. recv-stop: reads nothing and waits to be killed.
 * recv-close: reads nothing and closes 300 ms after the parent says go. */
static void peer_recv(const char *act, shmkit_channel *ch, stream *s,
                      board *b) {
  if (strcmp(act, "recv-stop") == 0) {
    atomic_store(&b->state, BOARD_STOPPED);
    idle();
  }
  if (strcmp(act, "recv-go") == 0 || strcmp(act, "recv-close") == 0) wait_go(b);
  if (strcmp(act, "recv-close") == 0) {
    test_sleep_ms(300);
    close_now(ch, b);
    return;
  }
  ASSERT_ERR(stream_recv(s, ch), SHMKIT_ECLOSED);
  atomic_store(&b->sum, s->sum);
  atomic_store(&b->state, BOARD_FINISHED);
  shmkit_channel_close(ch);
}

CHILD_IMPL(channel_peer) {
  shmkit_region *br;
  shmkit_view *bv;
  shmkit_channel *ch;
  peer_plan plan;
  board *b;
  stream s;
  int send;

  ASSERT_EQ(argc, 8);
  plan.how = argv[0];
  plan.where = argv[1];
  plan.action = argv[2];
  plan.n = strtoull(argv[3], NULL, 10);
  plan.seed = strtoull(argv[4], NULL, 10);
  plan.max = strtoul(argv[5], NULL, 10);
  plan.cap = strtoul(argv[6], NULL, 10);
  plan.spin = (unsigned)strtoul(argv[7], NULL, 10);
  send = strncmp(plan.action, "send", 4) == 0;
  ASSERT_OK(shmkit_region_from_env(&br, "CHPROC_BOARD"));
  ASSERT_OK(shmkit_view_map(&bv, br, 0, 4096, SHMKIT_READ_WRITE));
  b = shmkit_view_data(bv);
  ch = peer_channel(&plan, send ? SHMKIT_CHANNEL_SEND : SHMKIT_CHANNEL_RECV);
  shmkit_channel_set_spin(ch, plan.spin);
  stream_init(&s, plan.seed, plan.max, -1);
  s.progress = &b->count;
  atomic_store(&b->state, BOARD_STARTED);
  if (send)
    peer_send(plan.action, ch, &s, b, plan.n);
  else
    peer_recv(plan.action, ch, &s, b);
  /* All of it, for a sanitizer's leak check at exit. */
  stream_free(&s);
  shmkit_view_unmap(bv);
  shmkit_region_close(br);
  return 0;
}

/* ---- this side of a stream */

/* Sends the plan's messages on ch, closes it, and the child, which
 * received them, must have got all of them, with our checksum. */
static void we_send(const peer_plan *plan, shmkit_channel *ch,
                    shmkit_process *p, board *b) {
  stream s;

  stream_init(&s, plan->seed, plan->max, -1);
  shmkit_channel_set_spin(ch, plan->spin);
  ASSERT_OK(stream_send(&s, ch, plan->n));
  shmkit_channel_close(ch);
  reap_ok(p);
  ASSERT_EQ(atomic_load(&b->state), BOARD_FINISHED);
  ASSERT_EQ(atomic_load(&b->count), plan->n);
  ASSERT_EQ(atomic_load(&b->sum), s.sum);
  stream_free(&s);
}

/* Receives and checks the plan's messages until the child's end. */
static void we_receive(const peer_plan *plan, shmkit_channel *ch,
                       shmkit_process *p) {
  stream s;

  stream_init(&s, plan->seed, plan->max, -1);
  shmkit_channel_set_spin(ch, plan->spin);
  ASSERT_ERR(stream_recv(&s, ch), SHMKIT_ECLOSED);
  ASSERT_EQ(s.count, plan->n);
  shmkit_channel_close(ch);
  reap_ok(p);
  stream_free(&s);
}

/* We create and send; the child attaches from the token on its command
 * line, receives, and reports what it got. */
static void checksum_round(uint64_t seed, uint64_t n, size_t cap, size_t max,
                           unsigned spin) {
  peer_plan plan = {"arg", NULL, "recv", n, seed, max, cap, spin};
  peer_run run;
  shmkit_conn *link = peer_begin(&run, &plan);
  int64_t t0 = test_now_us();

  ASSERT_OK(shmkit_channel_create(&run.ch, link, SHMKIT_CHANNEL_SEND, cap, max,
                                  30000));
  we_send(&plan, run.ch, run.p, run.b);
  printf("%llu messages of 1 to %lu bytes through a ring of %lu, spin %s: "
         "%lld ms\n",
         (unsigned long long)n, (unsigned long)max, (unsigned long)cap,
         spin == 0 ? "0" : "default", (long long)(test_now_us() - t0) / 1000);
  peer_end(&run);
}

/* Rings so small that the sender waits for room and the receiver for
 * messages all the time; spin 0 sleeps at every wait. The default spin
 * gets the fewest messages: where the two sides share a core (a busy
 * machine), each wait first spins for nothing, ~20 us a message here. */
TEST_IMPL(channel_proc_checksum) {
  uint64_t seed = chproc_seed(), n = stream_scaled(10000000);

  checksum_round(seed, n * 15 / 100, 4096, 1024, 0);
  checksum_round(seed + 1, n * 60 / 100, 65536, 1024, 0);
  checksum_round(seed + 2, n * 24 / 100, 4096, 64, SHMKIT_CHANNEL_SPIN_DEFAULT);
  checksum_round(seed + 3, n * 1 / 100, 4096, 1024,
                 SHMKIT_CHANNEL_SPIN_DEFAULT);
  return 0;
}

/* The token in the child's environment: the child receives, then sends
 * to a receiving side we created. */
TEST_IMPL(channel_proc_from_env) {
  uint64_t seed = chproc_seed(), n = stream_scaled(500000);
  peer_plan plan = {"env", NULL, "recv", n,
                    seed,  512,  8192,   SHMKIT_CHANNEL_SPIN_DEFAULT};
  peer_run run;

  peer_start(&run, &plan, SHMKIT_CHANNEL_SEND);
  we_send(&plan, run.ch, run.p, run.b);
  peer_end(&run);

  plan.action = "send";
  plan.seed = seed + 1;
  peer_start(&run, &plan, SHMKIT_CHANNEL_RECV);
  we_receive(&plan, run.ch, run.p);
  peer_end(&run);
  return 0;
}

/* By name: the child serves and sends to us, then we serve and send to
 * the child. */
TEST_IMPL(channel_proc_by_name) {
  uint64_t seed = chproc_seed(), n = stream_scaled(500000);
  peer_plan plan = {"listen", NULL, "send", n,
                    seed,     1000, 16384,  SHMKIT_CHANNEL_SPIN_DEFAULT};
  char name[32];
  shmkit_region *br;
  shmkit_view *bv;
  board *b = board_new(&br, &bv);
  shmkit_process *p;
  shmkit_channel *ch;
  shmkit_conn *l, *c;

  plan.where = test_name(name, "chsrv");
  p = peer_spawn(&plan, br, NULL);
  ASSERT_OK(shmkit_connect(&c, name, 30000)); /* waits for its listen */
  ASSERT_OK(shmkit_channel_attach(&ch, c, 30000));
  we_receive(&plan, ch, p);
  board_drop(br, bv);

  plan.how = "connect";
  plan.where = test_name(name, "chcli");
  plan.action = "recv";
  plan.seed = seed + 1;
  b = board_new(&br, &bv);
  ASSERT_OK(shmkit_listen(&l, name));
  p = peer_spawn(&plan, br, NULL);
  ASSERT_OK(shmkit_accept(&c, l, 30000));
  ASSERT_OK(shmkit_channel_create(&ch, c, SHMKIT_CHANNEL_SEND, plan.cap,
                                  plan.max, 30000));
  we_send(&plan, ch, p, b);
  shmkit_conn_close(l);
  board_drop(br, bv);
  return 0;
}

/* ---- one poll() loop for several channels (POSIX: Windows has no
 * pollable handle for a channel yet) */
#ifndef _WIN32
#  include <poll.h>

/* After arm() said 0: the handle must become ready, within 5 s. */
static void wait_handle(shmkit_channel *ch) {
  struct pollfd f = {(int)shmkit_channel_handle(ch), POLLIN, 0};

  ASSERT(f.fd >= 0);
  ASSERT_EQ(poll(&f, 1, 5000), 1);
}

/* Two senders, one loop: arm, then poll what said 0 and drain what said 1
 * or became ready. Then each sender is killed while armed: its handle
 * becomes ready and the receive says so. */
static void poll_two_senders(uint64_t seed) {
  uint64_t k = stream_scaled(100000);
  peer_run run[2];
  stream s[2];
  unsigned polls = 0;
  size_t n;

  for (int i = 0; i < 2; i++) {
    peer_plan plan = {.how = "arg",
                      .action = "send-stop",
                      .n = k,
                      .seed = seed + i,
                      .max = 256,
                      .cap = 4096,
                      .spin = i ? 0 : SHMKIT_CHANNEL_SPIN_DEFAULT};
    peer_start(&run[i], &plan, SHMKIT_CHANNEL_RECV);
    stream_init(&s[i], seed + i, 256, 0);
  }
  while (s[0].count < k || s[1].count < k) {
    struct pollfd f[2];
    int which[2], nf = 0, r;

    for (int i = 0; i < 2; i++) {
      if (s[i].count == k) continue;
      if ((r = shmkit_channel_arm(run[i].ch)) == 1) {
        ASSERT_ERR(stream_recv(&s[i], run[i].ch), SHMKIT_ETIMEDOUT);
        continue;
      }
      ASSERT_EQ(r, 0);
      f[nf].fd = (int)shmkit_channel_handle(run[i].ch);
      f[nf].events = POLLIN;
      which[nf++] = i;
    }
    if (nf == 0) continue;
    polls++;
    ASSERT((r = poll(f, (nfds_t)nf, 5000)) > 0);
    for (int j = 0; j < nf; j++)
      if (f[j].revents != 0)
        ASSERT_ERR(stream_recv(&s[which[j]], run[which[j]].ch),
                   SHMKIT_ETIMEDOUT);
  }
  printf("%llu messages from each of two children, %u polls\n",
         (unsigned long long)k, polls);
  ASSERT(polls > 0);
  for (int i = 0; i < 2; i++) {
    board_wait(run[i].b, BOARD_STOPPED);
    ASSERT_EQ(shmkit_channel_arm(run[i].ch), 0); /* alive, nothing to read */
    ASSERT_OK(shmkit_process_kill(run[i].p));
    wait_handle(run[i].ch);
    ASSERT_EQ(shmkit_channel_arm(run[i].ch), 1);
    ASSERT_ERR(shmkit_channel_recv(run[i].ch, s[i].buf, 256, &n, 0),
               SHMKIT_ECLOSED);
    reap_killed(run[i].p);
    shmkit_channel_close(run[i].ch);
    stream_free(&s[i]);
    peer_end(&run[i]);
  }
}

/* A sender armed on a full ring: ready once the receiver frees room, and
 * once the receiver is killed. */
static void poll_sender(uint64_t seed, const char *action) {
  peer_plan plan = {"arg", NULL, action, stream_scaled(100000),
                    seed,  1024, 4096,   SHMKIT_CHANNEL_SPIN_DEFAULT};
  peer_run run;
  stream s;
  int r;

  peer_start(&run, &plan, SHMKIT_CHANNEL_SEND);
  stream_init(&s, plan.seed, plan.max, 0);
  board_wait(run.b,
             strcmp(action, "recv-go") == 0 ? BOARD_STARTED : BOARD_STOPPED);
  ASSERT_ERR(stream_send(&s, run.ch, plan.n), SHMKIT_ETIMEDOUT); /* full */
  ASSERT_EQ(shmkit_channel_arm(run.ch), 0);
  if (strcmp(action, "recv-stop") == 0) {
    ASSERT_OK(shmkit_process_kill(run.p));
    wait_handle(run.ch);
    ASSERT_EQ(shmkit_channel_arm(run.ch), 1);
    ASSERT_ERR(shmkit_channel_send(run.ch, "x", 1, 0), SHMKIT_ECLOSED);
    reap_killed(run.p);
  } else {
    atomic_store(&run.b->go, 1);
    wait_handle(run.ch);
    while ((r = stream_send(&s, run.ch, plan.n)) != 0) {
      ASSERT_ERR(r, SHMKIT_ETIMEDOUT);
      if ((r = shmkit_channel_arm(run.ch)) == 0) wait_handle(run.ch);
      ASSERT(r == 0 || r == 1);
    }
    shmkit_channel_close(run.ch);
    run.ch = NULL;
    reap_ok(run.p);
    ASSERT_EQ(atomic_load(&run.b->count), plan.n);
    ASSERT_EQ(atomic_load(&run.b->sum), s.sum);
  }
  shmkit_channel_close(run.ch);
  stream_free(&s);
  peer_end(&run);
}

TEST_IMPL(channel_proc_handle) {
  uint64_t seed = chproc_seed();

  poll_two_senders(seed);
  poll_sender(seed + 2, "recv-go");
  poll_sender(seed + 3, "recv-stop");
  return 0;
}
#endif
