/* Windows connections: push mode for a receiver that may not control its
 * sender, and the bounds a peer that floods, never reads or never
 * acknowledges runs into. The children here deny other processes rights
 * to themselves, or write raw pipe messages past the library. */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>

#include "../src/internal.h"
#include "../src/win/wire.h"
#include "task.h"
#include "win-helpers.h"

/* What the library keeps at most (src/win/conn.c): copies in flight. */
#define FLIGHT_MAX 1024

/* ---- push mode */

/* The parent receives from a sender it may not open: the sender pushes,
 * and a read-only region arrives read-only with no way for the receiver to
 * reach the sender's writable handle. The other way on the same
 * connection, the sender pulls what the parent sends. */
TEST_IMPL(conn_push_to_receiver_that_cannot_pull_win) {
  char name[32], buf[64];
  const char *argv[5];
  shmkit_spawn_options o;
  shmkit_process *p;
  shmkit_conn *l, *a;
  shmkit_region *mine;
  shmkit_peer peer;
  shmkit_msg m;
  HANDLE h;
  int n;

  snprintf(name, sizeof(name), "push.%lu",
           (unsigned long)GetCurrentProcessId());
  ASSERT_OK(shmkit_listen(&l, name));
  argv[0] = test_self_path();
  argv[1] = "--child";
  argv[2] = "push_sender";
  argv[3] = name;
  argv[4] = NULL;
  memset(&o, 0, sizeof(o));
  o.file = test_self_path();
  o.argv = argv;
  ASSERT_OK(shmkit_spawn(&p, &o));
  ASSERT_OK(shmkit_accept(&a, l, 30000));
  n = test_open_handles();
  /* Nothing is pushed to us before this word. */
  ASSERT_OK(shmkit_conn_send(a, "go", 3, NULL, 0, 30000));

  /* The premise: this process may not duplicate handles of the sender's
   * (Wine enforces a process's DACL as Windows does). */
  ASSERT_OK(shmkit_conn_peer(a, &peer));
  ASSERT_EQ(peer.pid, shmkit_process_pid(p));
  h = OpenProcess(PROCESS_DUP_HANDLE, FALSE, (DWORD)peer.pid);
  ASSERT_NULL(h);

  ASSERT_OK(recv_msg(a, &m, buf, sizeof(buf), 30000));
  ASSERT_STR_EQ(buf, "pushed");
  ASSERT_EQ(m.count, 2);
  ASSERT_EQ(shmkit_region_access(m.regions[0]), SHMKIT_READ_WRITE);
  ASSERT_EQ(test_inheritable(shmkit_region_handle(m.regions[0])), 0);
  expect_text(m.regions[0], "writable");
  write_text(m.regions[0], "the receiver wrote");
  /* Read-only, and no way to more: not by mapping, not by duplicating
   * the handle for more access, not through the sender's process. */
  ASSERT_EQ(shmkit_region_access(m.regions[1]), SHMKIT_READ_ONLY);
  expect_text(m.regions[1], "read-only");
  {
    shmkit_view *v;
    HANDLE up;
    ASSERT_ERR(shmkit_view_map(&v, m.regions[1], 0, 64, SHMKIT_READ_WRITE),
               SHMKIT_EACCES);
    ASSERT_EQ(test_try_map_writable(shmkit_region_handle(m.regions[1]), 64), 0);
    if (DuplicateHandle(GetCurrentProcess(),
                        (HANDLE)shmkit_region_handle(m.regions[1]),
                        GetCurrentProcess(), &up, FILE_MAP_WRITE, FALSE, 0)) {
      CloseHandle(up);
      FAIL("a pushed read-only handle was duplicated for writing");
    }
  }
  for (size_t i = 0; i < m.count; i++) shmkit_region_close(m.regions[i]);
  ASSERT_EQ(test_open_handles(), n);

  /* The other way, the sender may open us: it pulls. */
  mine = region_with("from the receiver");
  ASSERT_OK(shmkit_conn_send(a, "pull", 5, &mine, 1, 30000));
  shmkit_region_close(mine);
  ASSERT_OK(recv_msg(a, &m, buf, sizeof(buf), 30000));
  ASSERT_STR_EQ(buf, "pulled");
  ASSERT_EQ(m.count, 0);
  reap_ok(p);
  shmkit_conn_close(a);
  shmkit_conn_close(l);
  return 0;
}

CHILD_IMPL(push_sender) {
  shmkit_region *rw, *ro, *both[2], *src;
  shmkit_conn *c;
  shmkit_msg m;
  char buf[64];

  ASSERT_EQ(argc, 1);
  deny_process_access();
  ASSERT_OK(shmkit_connect(&c, argv[0], 30000));
  ASSERT_OK(recv_msg(c, &m, buf, sizeof(buf), 30000));
  ASSERT_STR_EQ(buf, "go");
  rw = region_with("writable");
  src = region_with("read-only");
  ASSERT_OK(shmkit_region_dup_readonly(&ro, src));
  both[0] = rw;
  both[1] = ro;
  ASSERT_OK(shmkit_conn_send(c, "pushed", 7, both, 2, 30000));
  shmkit_region_close(ro);

  ASSERT_OK(recv_msg(c, &m, buf, sizeof(buf), 30000));
  ASSERT_STR_EQ(buf, "pull");
  ASSERT_EQ(m.count, 1);
  expect_text(m.regions[0], "from the receiver");
  shmkit_region_close(m.regions[0]);
  /* The receiver wrote through the writable region it was pushed; the
   * read-only one is as it was. */
  expect_text(rw, "the receiver wrote");
  expect_text(src, "read-only");
  ASSERT_OK(shmkit_conn_send(c, "pulled", 7, NULL, 0, 30000));
  shmkit_region_close(rw);
  shmkit_region_close(src);
  shmkit_conn_close(c);
  return 0;
}

/* ---- raw pipe I/O for the children below */

/* Reads every message and acknowledges none, until the end. */
CHILD_IMPL(raw_reader) {
  static char buf[sizeof(shmkit__frame) + SHMKIT_MSG_MAX];
  shmkit_conn *c = child_conn(argc, argv);
  DWORD n;

  do pipe_io((HANDLE)shmkit_conn_handle(c), 0, buf, sizeof(buf), &n);
  while (n != (DWORD)-1);
  shmkit_conn_close(c);
  return 0;
}

/* A peer that reads but never acknowledges: the sender keeps at most
 * FLIGHT_MAX copies, then refuses to send regions (SHMKIT_EBUSY) while
 * messages without regions still go. */
TEST_IMPL(conn_flight_bounded_win) {
  shmkit_region *r, *rs[SHMKIT_MSG_REGIONS_MAX];
  shmkit_process *p;
  shmkit_conn *a;
  int n, code, sig;

  r = region_with("in flight");
  for (int i = 0; i < SHMKIT_MSG_REGIONS_MAX; i++) rs[i] = r;
  a = test_conn_child("raw_reader", NULL, &p);
  n = test_open_handles();
  for (int i = 0; i < FLIGHT_MAX / SHMKIT_MSG_REGIONS_MAX; i++)
    ASSERT_OK(shmkit_conn_send(a, "x", 1, rs, SHMKIT_MSG_REGIONS_MAX, 30000));
  ASSERT_EQ(test_open_handles(), n + FLIGHT_MAX);
  ASSERT_ERR(shmkit_conn_send(a, "x", 1, rs, 1, 100), SHMKIT_EBUSY);
  ASSERT_ERR(shmkit_conn_send(a, "x", 1, rs, 1, 0), SHMKIT_EBUSY);
  ASSERT_OK(shmkit_conn_send(a, "no region", 10, NULL, 0, 30000));
  ASSERT_EQ(test_open_handles(), n + FLIGHT_MAX);
  /* Once the peer is gone, the copies go. */
  ASSERT_OK(shmkit_process_kill(p));
  ASSERT_OK(shmkit_process_wait(p, 30000, &code, &sig));
  ASSERT_ERR(shmkit_conn_send(a, "x", 1, rs, 1, 30000), SHMKIT_ECLOSED);
  ASSERT_EQ(test_open_handles(), n);
  shmkit_process_close(p);
  shmkit_conn_close(a);
  shmkit_region_close(r);
  return 0;
}

/* ---- deadlines */

#define FLOOD 2000

/* Writes FLOOD hellos, then a message of text, then waits for the end. */
CHILD_IMPL(hello_flooder) {
  union {
    shmkit__frame f;
    char bytes[sizeof(shmkit__frame) + 4];
  } msg;
  shmkit_conn *c = child_conn(argc, argv);
  HANDLE pipe = (HANDLE)shmkit_conn_handle(c);
  shmkit__hello h;
  DWORD n;

  memset(&h, 0, sizeof(h));
  h.magic = SHMKIT__HELLO_MAGIC;
  h.flags = SHMKIT__HELLO_PULLS;
  h.pid = GetCurrentProcessId();
  for (int i = 0; i < FLOOD; i++) {
    pipe_io(pipe, 1, &h, sizeof(h), &n);
    ASSERT_EQ(n, sizeof(h));
  }
  memset(&msg, 0, sizeof(msg));
  msg.f.magic = SHMKIT__FRAME_MAGIC;
  msg.f.version = SHMKIT__FRAME_VERSION;
  msg.f.size = 4;
  memcpy(msg.bytes + sizeof(msg.f), "end", 4);
  pipe_io(pipe, 1, &msg, sizeof(msg.f) + 4, &n);
  ASSERT_EQ(n, sizeof(msg.f) + 4);
  do pipe_io(pipe, 0, &msg, sizeof(msg), &n);
  while (n != (DWORD)-1);
  shmkit_conn_close(c);
  return 0;
}

/* Bytes waiting in the pipe, and left of the message at its front. */
static DWORD waiting(shmkit_conn *c, DWORD *left) {
  DWORD avail = 0;

  ASSERT(PeekNamedPipe((HANDLE)shmkit_conn_handle(c), NULL, 0, NULL, &avail,
                       left));
  return avail;
}

/* A peer that floods control messages cannot keep a receive past its
 * deadline: with a timeout of 0, a receive applies a bounded batch of
 * them and returns, and the message behind them is still there. Known
 * without a clock: everything is in the pipe before the call. */
TEST_IMPL(conn_recv_deadline_flood_win) {
  shmkit_process *p;
  shmkit_conn *a = test_conn_child("hello_flooder", NULL, &p);
  DWORD left, want = FLOOD * sizeof(shmkit__hello);
  shmkit_msg m;
  char buf[8];

  for (int i = 0; waiting(a, &left) < want; i++) {
    ASSERT(i < 60000);
    test_sleep_ms(1);
  }
  ASSERT_ERR(recv_msg(a, &m, buf, sizeof(buf), 0), SHMKIT_ETIMEDOUT);
  ASSERT(waiting(a, &left) > 0);
  ASSERT_OK(recv_msg(a, &m, buf, sizeof(buf), 30000));
  ASSERT_STR_EQ(buf, "end");
  shmkit_conn_close(a);
  reap_ok(p);
  return 0;
}

#define HUGE_MESSAGE ((DWORD)256 << 20)

/* What the library reads at once (src/win/win.h: SHMKIT__PIPE_BUFFER). */
#define SHMKIT__PIPE_BUFFER_TEST (sizeof(shmkit__frame) + SHMKIT_MSG_MAX)

/* Writes one message of HUGE_MESSAGE bytes, far more than any shmkit
 * sends, then waits for the end. */
CHILD_IMPL(huge_writer) {
  shmkit_conn *c = child_conn(argc, argv);
  char *big = VirtualAlloc(NULL, HUGE_MESSAGE, MEM_COMMIT | MEM_RESERVE,
                           PAGE_READWRITE);
  DWORD n;

  ASSERT(big != NULL);
  pipe_io((HANDLE)shmkit_conn_handle(c), 1, big, HUGE_MESSAGE, &n);
  VirtualFree(big, 0, MEM_RELEASE);
  shmkit_conn_close(c);
  return 0;
}

/* An oversized message is dropped as far as the deadline allows, not to
 * its end: a receive with a timeout of 0 reads one buffer of it and
 * returns, and the rest is still in the pipe; the next receive goes on
 * dropping it. */
TEST_IMPL(conn_recv_deadline_huge_win) {
  shmkit_process *p;
  shmkit_conn *a = test_conn_child("huge_writer", NULL, &p);
  DWORD left = 0;
  shmkit_msg m;
  char buf[8];
  int code, sig, err;

  /* More than one buffer of it is there (the hello before it is not). */
  for (int i = 0; waiting(a, &left) < SHMKIT__PIPE_BUFFER_TEST; i++) {
    ASSERT(i < 60000);
    test_sleep_ms(1);
  }
  err = recv_msg(a, &m, buf, sizeof(buf), 0);
  ASSERT(err == SHMKIT_EPROTO || err == SHMKIT_ETIMEDOUT);
  ASSERT(waiting(a, &left) > 0 && left > 0);
  ASSERT_OK(shmkit_process_kill(p));
  ASSERT_OK(shmkit_process_wait(p, 30000, &code, &sig));
  shmkit_process_close(p);
  shmkit_conn_close(a);
  return 0;
}

/* ---- the acknowledgement queue */

#define HOARDED 3000

/* Sends HOARDED messages, each naming a section it holds, without reading
 * anything; then counts the values the parent acknowledged up to its word
 * "done", and sends that number as text. */
CHILD_IMPL(ack_hoarder) {
  union {
    shmkit__frame f;
    shmkit__ack a;
    char bytes[sizeof(shmkit__frame) + 64];
  } msg;
  shmkit_conn *c = child_conn(argc, argv);
  HANDLE pipe = (HANDLE)shmkit_conn_handle(c);
  shmkit_region *r = region_with("hoarded");
  unsigned long acked = 0;
  DWORD n, len;

  for (int i = 0; i < HOARDED; i++) {
    memset(&msg, 0, sizeof(msg));
    msg.f.magic = SHMKIT__FRAME_MAGIC;
    msg.f.version = SHMKIT__FRAME_VERSION;
    msg.f.count = 1;
    msg.f.regions[0].size = 4096;
    msg.f.regions[0].handle = (uint64_t)shmkit_region_handle(r);
    msg.f.regions[0].access = SHMKIT_READ_ONLY;
    msg.f.regions[0].origin = GetCurrentProcessId();
    pipe_io(pipe, 1, &msg, sizeof(msg.f), &n);
    ASSERT_EQ(n, sizeof(msg.f));
  }
  for (;;) {
    pipe_io(pipe, 0, &msg, sizeof(msg), &n);
    ASSERT(n != (DWORD)-1);
    if (n == sizeof(shmkit__ack) && msg.a.magic == SHMKIT__ACK_MAGIC)
      acked += msg.a.count;
    else if (n > sizeof(msg.f))
      break;
  }
  ASSERT_STR_EQ(msg.bytes + sizeof(msg.f), "done");
  memset(&msg, 0, sizeof(msg));
  len = (DWORD)snprintf(msg.bytes + sizeof(msg.f), 32, "%lu", acked) + 1;
  msg.f.magic = SHMKIT__FRAME_MAGIC;
  msg.f.version = SHMKIT__FRAME_VERSION;
  msg.f.size = len;
  pipe_io(pipe, 1, &msg, sizeof(msg.f) + len, &n);
  ASSERT_EQ(n, sizeof(msg.f) + len);
  shmkit_region_close(r);
  shmkit_conn_close(c);
  return 0;
}

/* A peer that sends regions but never reads: the acknowledgements owed to
 * it queue up only so far, and the rest are dropped (that peer keeps its
 * copies until the end), rather than grow without limit. Every message
 * still arrives whole. */
TEST_IMPL(conn_ack_queue_bounded_win) {
  shmkit_process *p;
  shmkit_conn *a = test_conn_child("ack_hoarder", NULL, &p);
  shmkit_msg m;
  char buf[32];
  unsigned long acked;

  for (int i = 0; i < HOARDED; i++) {
    ASSERT_OK(recv_msg(a, &m, buf, sizeof(buf), 30000));
    ASSERT_EQ(m.count, 1);
    shmkit_region_close(m.regions[0]);
  }
  ASSERT_OK(shmkit_conn_send(a, "done", 5, NULL, 0, 30000));
  ASSERT_OK(recv_msg(a, &m, buf, sizeof(buf), 30000));
  acked = strtoul(buf, NULL, 10);
  /* Some came (the queue works), not all (it is bounded). */
  ASSERT(acked > 0);
  ASSERT(acked < HOARDED);
  reap_ok(p);
  shmkit_conn_close(a);
  return 0;
}

/* ---- acknowledgements only for what was taken */

#define ROUNDS 300

typedef struct sender {
  shmkit_conn *conn;
  shmkit_region *rs[SHMKIT_MSG_REGIONS_MAX];
} sender;

static void send_rounds(void *p) {
  sender *s = p;
  for (int i = 0; i < ROUNDS; i++)
    ASSERT_OK(shmkit_conn_send(s->conn, "x", 2, s->rs, SHMKIT_MSG_REGIONS_MAX,
                               30000));
}

/* Sends back every message with its regions, until the end. */
CHILD_IMPL(echo_all) {
  shmkit_conn *c = child_conn(argc, argv);
  shmkit_msg m;
  char buf[8];
  int err;

  while ((err = recv_msg(c, &m, buf, sizeof(buf), 30000)) == 0) {
    ASSERT_EQ(m.count, SHMKIT_MSG_REGIONS_MAX);
    ASSERT_OK(shmkit_conn_send(c, buf, m.size, m.regions, m.count, 30000));
    for (size_t i = 0; i < m.count; i++) shmkit_region_close(m.regions[i]);
  }
  ASSERT_ERR(err, SHMKIT_ECLOSED);
  shmkit_conn_close(c);
  return 0;
}

/* While one thread receives, another sends on the same connection, and so
 * writes the acknowledgements the receiving thread queues. Were one queued
 * before its region was taken, the peer could close its copy first and
 * the message would be lost (SHMKIT_EPROTO). Every message arrives. */
TEST_IMPL(conn_acks_after_taking_win) {
  shmkit_process *p;
  shmkit_region *r = region_with("echoed");
  sender s;
  test_thread t;
  shmkit_msg m;
  char buf[8];

  s.conn = test_conn_child("echo_all", NULL, &p);
  for (int i = 0; i < SHMKIT_MSG_REGIONS_MAX; i++) s.rs[i] = r;
  test_thread_start(&t, send_rounds, &s);
  for (int i = 0; i < ROUNDS; i++) {
    ASSERT_OK(recv_msg(s.conn, &m, buf, sizeof(buf), 30000));
    ASSERT_EQ(m.count, SHMKIT_MSG_REGIONS_MAX);
    for (size_t k = 0; k < m.count; k++) {
      expect_text(m.regions[k], "echoed");
      shmkit_region_close(m.regions[k]);
    }
  }
  test_thread_join(&t);
  shmkit_conn_close(s.conn);
  reap_ok(p);
  shmkit_region_close(r);
  return 0;
}

/* ---- a send that times out */

/* Takes up its end, says so, and then reads nothing until it is ended. */
CHILD_IMPL(idle_peer) {
  shmkit_conn *c = child_conn(argc, argv);

  ASSERT_OK(shmkit_conn_send(c, "ready", 6, NULL, 0, 30000));
  test_sleep_ms(600000);
  shmkit_conn_close(c);
  return 0;
}

/* A send that times out before any of it moved gives its copies back at
 * once: a peer that stopped reading for a while does not use up the
 * copies a connection may keep (SHMKIT_EBUSY for good after that). */
TEST_IMPL(conn_send_timeout_keeps_nothing_win) {
  shmkit_region *r = region_with("in a full pipe");
  shmkit_process *p;
  shmkit_conn *a = test_conn_child("idle_peer", NULL, &p);
  shmkit_msg m;
  char buf[8];
  int err, held, sent = 0;

  ASSERT_OK(recv_msg(a, &m, buf, sizeof(buf), 30000)); /* its hello too */
  while ((err = shmkit_conn_send(a, "x", 2, &r, 1, 0)) == 0) sent++;
  ASSERT_ERR(err, SHMKIT_ETIMEDOUT);
  ASSERT(sent > 0);
  held = test_open_handles();
  for (int i = 0; i < 2 * FLIGHT_MAX; i++) {
    ASSERT_ERR(shmkit_conn_send(a, "x", 2, &r, 1, 0), SHMKIT_ETIMEDOUT);
    ASSERT_EQ(test_open_handles(), held);
  }
  ASSERT_OK(shmkit_process_kill(p));
  ASSERT_OK(shmkit_process_wait(p, 30000, NULL, NULL));
  shmkit_process_close(p);
  shmkit_conn_close(a);
  shmkit_region_close(r);
  return 0;
}
