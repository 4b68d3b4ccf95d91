/* Connections with peers that die, close at once, hand their end on or
 * pull, and with two threads at one connection. */
#include <stdatomic.h>
#include <stdlib.h>

#include "task.h"

/* A sender killed in the middle of a stream: every message that arrives is
 * whole, then the end is reported, and nothing stays open. (Windows: the
 * messages still in the pipe whose regions died with the sender end it.) */
TEST_IMPL(conn_peer_killed) {
  static char buf[SHMKIT_MSG_MAX];
  shmkit_process *p;
  shmkit_conn *a = test_conn_child("flood_peer", NULL, &p);
  shmkit_msg m;
  int n = test_open_handles(), err, got = 0, code, sig;

  for (int i = 0; i < 20; i++) { /* it is sending: take a few */
    ASSERT_OK(recv_msg(a, &m, buf, sizeof(buf), 30000));
    ASSERT_EQ(m.count, 2);
    for (size_t k = 0; k < m.size; k++) ASSERT_EQ(buf[k], (char)m.size);
    close_msg(&m);
    got++;
  }
  ASSERT_OK(shmkit_process_kill(p));
  ASSERT_OK(shmkit_process_wait(p, 30000, &code, &sig));
  ASSERT_EQ(sig, test_kill_signal());
  ASSERT_EQ(code, test_kill_exit_code());
  while ((err = recv_msg(a, &m, buf, sizeof(buf), 30000)) == 0) {
    ASSERT_EQ(m.count, 2);
    for (size_t k = 0; k < m.size; k++) ASSERT_EQ(buf[k], (char)m.size);
    close_msg(&m);
    got++;
  }
  ASSERT_ERR(err, SHMKIT_ECLOSED);
  ASSERT(got >= 20);
  ASSERT_EQ(test_open_handles(), n);
  ASSERT_ERR(shmkit_conn_send(a, "x", 1, NULL, 0, 1000), SHMKIT_ECLOSED);
  shmkit_process_close(p);
  shmkit_conn_close(a);
  return 0;
}

CHILD_IMPL(flood_peer) {
  static char buf[SHMKIT_MSG_MAX];
  shmkit_conn *c = child_conn(argc, argv);
  shmkit_region *r[2];

  ASSERT_OK(shmkit_region_create(&r[0], 4096, 0));
  ASSERT_OK(shmkit_region_create(&r[1], 8192, 0));
  for (unsigned i = 0;; i++) { /* until killed */
    size_t size = 1000 + (i * 7919) % 60000;
    memset(buf, (char)size, size);
    ASSERT_OK(shmkit_conn_send(c, buf, size, r, 2, 30000));
  }
}

/* A receiver killed before it took what it was sent: the sender is left
 * with nothing of it once it sees the end (Windows: its copies in flight
 * are closed then). */
TEST_IMPL(conn_receiver_killed) {
  shmkit_process *p;
  shmkit_conn *a = test_conn_child("sleep", NULL, &p);
  shmkit_region *r[2];
  shmkit_msg m;
  char buf[16];
  int n;

  ASSERT_OK(shmkit_region_create(&r[0], 4096, 0));
  ASSERT_OK(shmkit_region_create(&r[1], 70000, 0));
  n = test_open_handles();
  for (int i = 0; i < 5; i++)
    ASSERT_OK(shmkit_conn_send(a, "unread", 7, r, 2, 30000));
  ASSERT_OK(shmkit_process_kill(p));
  ASSERT_OK(shmkit_process_wait(p, 30000, NULL, NULL));
  ASSERT_ERR(recv_msg(a, &m, buf, sizeof(buf), 30000), SHMKIT_ECLOSED);
  ASSERT_EQ(test_open_handles(), n);
  ASSERT_ERR(shmkit_conn_send(a, "x", 1, r, 1, 1000), SHMKIT_ECLOSED);
  ASSERT_EQ(test_open_handles(), n);
  shmkit_conn_close(a);
  shmkit_process_close(p);
  shmkit_region_close(r[0]);
  shmkit_region_close(r[1]);
  return 0;
}

/* "Send, close, exit" delivers: on POSIX the kernel holds the descriptor in
 * flight; on Windows the sender's close waits for the peer to take it. */
TEST_IMPL(conn_sender_closes_at_once) {
  shmkit_process *p;
  shmkit_conn *a = test_conn_child("send_and_close", NULL, &p);
  int n = test_open_handles(), code;

  test_sleep_ms(200); /* let it get to its close first */
  ASSERT_OK(recv_one(a, "bye", "left behind"));
  ASSERT_ERR(recv_one(a, NULL, NULL), SHMKIT_ECLOSED);
  ASSERT_OK(shmkit_process_wait(p, 30000, &code, NULL));
  ASSERT_EQ(code, 0);
  ASSERT_EQ(test_open_handles(), n);
  shmkit_process_close(p);
  shmkit_conn_close(a);
  return 0;
}

CHILD_IMPL(send_and_close) {
  shmkit_conn *c = child_conn(argc, argv);
  shmkit_region *r;

  r = region_with("left behind");
  ASSERT_OK(shmkit_conn_send(c, "bye", 4, &r, 1, 30000));
  shmkit_region_close(r);
  shmkit_conn_close(c);
  return 0;
}

/* A peer's last message, `payload` with a region that holds `text`: it
 * arrives on POSIX (the region travels with it) and fails with `win_err`
 * on Windows; then the connection is at its end, and `handles` handles are
 * open. */
static void expect_last_region(shmkit_conn *c, const char *payload,
                               const char *text, int win_err, int handles) {
  int err = recv_one(c, payload, text);

#ifdef _WIN32
  ASSERT_ERR(err, win_err);
#else
  (void)win_err;
  ASSERT_OK(err);
#endif
  ASSERT_ERR(recv_one(c, NULL, NULL), SHMKIT_ECLOSED);
  ASSERT_EQ(test_open_handles(), handles);
}

/* A sender killed after its message went, before the receiver read it. On
 * POSIX the region arrives (the kernel holds it); on Windows it died with
 * the sender, and the message says so (SHMKIT_ECLOSED). Either way the
 * receiver holds nothing it does not know of. */
TEST_IMPL(conn_sender_killed) {
  shmkit_process *p;
  shmkit_region *flag;
  shmkit_view *fv;
  shmkit_conn *a;
  volatile char *sent;
  int n;

  ASSERT_OK(shmkit_region_create(&flag, 4096, 0));
  ASSERT_OK(shmkit_view_map(&fv, flag, 0, 4096, SHMKIT_READ_WRITE));
  sent = shmkit_view_data(fv);
  a = test_conn_child("send_and_wait", flag, &p);
  n = test_open_handles();
  for (int i = 0; i < 30000 && sent[0] == 0; i++) test_sleep_ms(1);
  ASSERT_EQ(sent[0], 1);
  ASSERT_OK(shmkit_process_kill(p));
  ASSERT_OK(shmkit_process_wait(p, 30000, NULL, NULL));

  expect_last_region(a, "gone", "sent, then killed", SHMKIT_ECLOSED, n);
  shmkit_process_close(p);
  shmkit_conn_close(a);
  shmkit_view_unmap(fv);
  shmkit_region_close(flag);
  return 0;
}

CHILD_IMPL(send_and_wait) {
  shmkit_conn *c;
  shmkit_region *r, *flag;
  shmkit_view *fv;

  ASSERT_EQ(argc, 2);
  ASSERT_OK(shmkit_conn_from_token(&c, argv[0]));
  ASSERT_OK(shmkit_region_from_token(&flag, argv[1]));
  ASSERT_OK(shmkit_view_map(&fv, flag, 0, 4096, SHMKIT_READ_WRITE));
  r = region_with("sent, then killed");
  ASSERT_OK(shmkit_conn_send(c, "gone", 5, &r, 1, 30000));
  shmkit_region_close(r);
  ((volatile char *)shmkit_view_data(fv))[0] = 1;
  test_sleep_ms(60000); /* until killed */
  return 0;
}

/* Pull mode: take a region out of a child by its pid and handle value
 * (Linux: pidfd_getfd; Windows: DuplicateHandle out of it). */
TEST_IMPL(conn_pull) {
  shmkit_region *rep, *got = (shmkit_region *)&got;
  shmkit_view *v, *pv;
  shmkit_process *p;
  char tok[SHMKIT_TOKEN_MAX];
  const char *cargs[] = {tok, NULL};
  shmkit_spawn_options o;
  long long h = -1, other = -1;
  volatile char *info;
  int64_t pid;
  int n;

  ASSERT_OK(shmkit_region_create(&rep, 4096, 0));
  ASSERT_OK(shmkit_view_map(&v, rep, 0, 4096, SHMKIT_READ_WRITE));
  info = shmkit_view_data(v);
  ASSERT_OK(shmkit_region_token(rep, tok, sizeof(tok)));
  memset(&o, 0, sizeof(o));
  o.regions = &rep;
  o.region_count = 1;
  ASSERT_OK(spawn_runner(&p, NULL, "pull_source", cargs, &o));
  pid = shmkit_process_pid(p);
  for (int i = 0; i < 30000 && info[0] == '\0'; i++) test_sleep_ms(1);
  ASSERT(sscanf((const char *)info + 1, "%lld %lld", &h, &other) == 2);
  n = test_open_handles();

  if (!test_can(CAP_PULL)) {
    ASSERT_ERR(shmkit_region_pull(&got, pid, h, SHMKIT_READ_ONLY),
               SHMKIT_ENOTSUP);
    ASSERT_NULL(got);
  } else {
    ASSERT_OK(shmkit_region_pull(&got, pid, h, SHMKIT_READ_WRITE));
    ASSERT_EQ(shmkit_region_size(got), test_system_size(12345));
    ASSERT_OK(shmkit_view_map(&pv, got, 0, 100, SHMKIT_READ_WRITE));
    ASSERT_STR_EQ((char *)shmkit_view_data(pv), "pulled out of the child");
    shmkit_view_unmap(pv);
    shmkit_region_close(got);
    /* Read-only asked, read-only got (Windows narrows the copy itself). */
    ASSERT_OK(shmkit_region_pull(&got, pid, h, SHMKIT_READ_ONLY));
    ASSERT_EQ(shmkit_region_access(got), SHMKIT_READ_ONLY);
#ifdef _WIN32
    ASSERT_EQ(test_try_map_writable(shmkit_region_handle(got), 4096), 0);
#endif
    shmkit_region_close(got);
    /* Not shared memory, no such handle, no such process. */
    ASSERT_ERR(shmkit_region_pull(&got, pid, other, SHMKIT_READ_ONLY),
               SHMKIT_ENOTSHM);
    ASSERT_ERR(shmkit_region_pull(&got, pid, 900, SHMKIT_READ_ONLY),
               SHMKIT_EBADF);
    ASSERT_ERR(shmkit_region_pull(&got, 0x7ffffff0, 4, SHMKIT_READ_ONLY),
               SHMKIT_ENOENT);
    /* A pid past 32 bits is no process, not this one modulo 2^32. */
    ASSERT_ERR(shmkit_region_pull(&got, ((int64_t)1 << 32) + test_self_pid(),
                                  (shmkit_handle)h, SHMKIT_READ_ONLY),
               SHMKIT_ENOENT);
    ASSERT_NULL(got);
    ASSERT_EQ(test_open_handles(), n);
  }
  ASSERT_ERR(shmkit_region_pull(&got, -1, 4, SHMKIT_READ_ONLY), SHMKIT_EINVAL);
  strcpy((char *)info, "go");
  ASSERT_OK(shmkit_process_wait(p, 30000, NULL, NULL));
  shmkit_process_close(p);
  shmkit_view_unmap(v);
  shmkit_region_close(rep);
  return 0;
}

CHILD_IMPL(pull_source) {
  shmkit_region *rep, *r;
  shmkit_view *v, *w;
  volatile char *info;
  shmkit_handle other;

  ASSERT_EQ(argc, 1);
  ASSERT_OK(shmkit_region_from_token(&rep, argv[0]));
  ASSERT_OK(shmkit_view_map(&v, rep, 0, 4096, SHMKIT_READ_WRITE));
  info = shmkit_view_data(v);
  ASSERT_OK(shmkit_region_create(&r, 12345, 0));
  ASSERT_OK(shmkit_view_map(&w, r, 0, 100, SHMKIT_READ_WRITE));
  strcpy(shmkit_view_data(w), "pulled out of the child");
  other = test_make_leaky_file(); /* a plain file: not shared memory */
  snprintf((char *)info + 1, 100, "%lld %lld",
           (long long)shmkit_region_handle(r), (long long)other);
  info[0] = 'h'; /* last: the parent reads once it sees the first byte */
  for (int i = 0; i < 30000 && strcmp((const char *)info, "go") != 0; i++)
    test_sleep_ms(1);
  test_close_handle(other);
  shmkit_view_unmap(w);
  shmkit_view_unmap(v);
  shmkit_region_close(r);
  shmkit_region_close(rep);
  return 0;
}

/* A connected end handed on to a child: bytes go on, and its regions too
 * on POSIX (they travel with the message). On Windows the peer takes
 * regions only out of the process the system says is at the other end,
 * which is still the parent: it refuses them (SHMKIT_EPERM) rather than
 * take whatever the parent holds at those values. */
TEST_IMPL(conn_end_handed_on) {
  char name[32], tok[SHMKIT_TOKEN_MAX];
  const char *cargs[] = {tok, NULL};
  shmkit_conn *l, *c, *s;
  shmkit_spawn_options o;
  shmkit_process *p;
  int n, code;

  ASSERT_OK(shmkit_listen(&l, test_name(name, "on")));
  ASSERT_OK(shmkit_connect(&c, name, 10000));
  ASSERT_OK(shmkit_accept(&s, l, 10000));
  ASSERT_OK(shmkit_conn_token(c, tok, sizeof(tok)));
  memset(&o, 0, sizeof(o));
  o.conns = &c;
  o.conn_count = 1;
  ASSERT_OK(spawn_runner(&p, NULL, "send_and_close", cargs, &o));
  shmkit_conn_close(c);
  n = test_open_handles();

  expect_last_region(s, "bye", "left behind", SHMKIT_EPERM, n);
  ASSERT_OK(shmkit_process_wait(p, 30000, &code, NULL));
  ASSERT_EQ(code, 0);
  shmkit_process_close(p);
  shmkit_conn_close(s);
  shmkit_conn_close(l);
  return 0;
}

/* One thread sends while another receives on the same connection: every
 * message and region arrives, in order, and nothing stays open. (On
 * Windows the sending thread reads acknowledgements too; only one call at
 * a time may read the pipe.) */
#define ECHOES 200

typedef struct sender_args {
  shmkit_conn *conn;
  shmkit_region *region;
} sender_args;

static void send_many(void *p) {
  sender_args *a = p;
  for (int i = 0; i < ECHOES; i++) {
    char text[16];
    snprintf(text, sizeof(text), "%d", i);
    ASSERT_OK(shmkit_conn_send(a->conn, text, strlen(text) + 1, &a->region, 1,
                               30000));
  }
}

TEST_IMPL(conn_two_threads) {
  shmkit_process *p;
  shmkit_conn *a;
  sender_args args;
  test_thread t;
  char want[16];
  int n, code;

  /* Windows keeps the session's object directory open from the first
   * named object on: make that happen before counting. */
  shmkit_region_close(region_with("warm-up"));
  n = test_open_handles();
  a = test_conn_child("echo_peer", NULL, &p);
  args.conn = a;
  args.region = region_with("echoed");
  test_thread_start(&t, send_many, &args);
  for (int i = 0; i < ECHOES; i++) {
    snprintf(want, sizeof(want), "%d", i);
    ASSERT_OK(recv_one(a, want, "echoed"));
  }
  test_thread_join(&t);
  shmkit_conn_close(a); /* the peer sees the end, and exits */
  ASSERT_OK(shmkit_process_wait(p, 30000, &code, NULL));
  ASSERT_EQ(code, 0);
  shmkit_process_close(p);
  shmkit_region_close(args.region);
  ASSERT_EQ(test_open_handles(), n);
  return 0;
}

CHILD_IMPL(echo_peer) {
  shmkit_conn *c = child_conn(argc, argv);
  shmkit_msg m;
  char buf[16];
  int err, got = 0;

  while ((err = recv_msg(c, &m, buf, sizeof(buf), 30000)) == 0) {
    ASSERT_EQ(m.count, 1);
    ASSERT_OK(shmkit_conn_send(c, buf, m.size, m.regions, 1, 30000));
    close_msg(&m);
    got++;
  }
  ASSERT_ERR(err, SHMKIT_ECLOSED);
  ASSERT_EQ(got, ECHOES);
  shmkit_conn_close(c);
  return 0;
}

/* The two ends of a pair are two objects, so two threads may each use one:
 * each closes its end at the same instant as the other (and, with `spawn`,
 * this thread hands its end to a child while the other thread closes the
 * other end). The other thread spins on `round` so that both start
 * together; ASan or ThreadSanitizer sees what goes wrong. */
typedef struct racer {
  shmkit_conn *ends[2];
  atomic_int round, done;
  int rounds;
} racer;

static void close_side1(void *p) {
  racer *r = p;
  for (int n = 1; n <= r->rounds; n++) {
    while (atomic_load(&r->round) != n) {
    }
    shmkit_conn_close(r->ends[1]);
    atomic_store(&r->done, n);
  }
}

static void race(int rounds, int spawn) {
  const char *cargs[] = {"0", NULL};
  shmkit_spawn_options o;
  shmkit_process *p;
  test_thread t;
  racer r;
  int code;

  memset(&r, 0, sizeof(r));
  atomic_init(&r.round, 0);
  atomic_init(&r.done, 0);
  r.rounds = rounds;
  test_thread_start(&t, close_side1, &r);
  for (int n = 1; n <= rounds; n++) {
    ASSERT_OK(shmkit_conn_pair(&r.ends[0], &r.ends[1]));
    atomic_store(&r.round, n); /* the other thread goes */
    if (spawn) {
      memset(&o, 0, sizeof(o));
      o.conns = &r.ends[0];
      o.conn_count = 1;
      ASSERT_OK(spawn_runner(&p, NULL, "exit_with", cargs, &o));
      shmkit_conn_close(r.ends[0]);
      ASSERT_OK(shmkit_process_wait(p, 30000, &code, NULL));
      ASSERT_EQ(code, 0);
      shmkit_process_close(p);
    } else {
      shmkit_conn_close(r.ends[0]);
    }
    while (atomic_load(&r.done) != n) {
    }
  }
  test_thread_join(&t);
}

TEST_IMPL(conn_pair_close_race) {
  int n = test_open_handles();

  race(2000, 0);
  race(test_spawn_cycles() / 10, 1);
  ASSERT_EQ(test_open_handles(), n);
  return 0;
}
