/* Windows connections between a broker and its sandbox, and between two
 * processes that may not open each other: push mode, and who it may be
 * trusted from. */
#include <stdio.h>
#include <stdlib.h>

#include "../src/internal.h"
#include "task.h"
#include "win-helpers.h"

/* ---- a sandboxed child given a pair's end */

/* Receives one message of one read-only region, checks it cannot make it
 * writable, and says so. */
CHILD_IMPL(sandboxed_receiver) {
  shmkit_conn *c = child_conn(argc, argv);
  shmkit_msg m;
  shmkit_view *v;
  char buf[16];

  ASSERT_OK(recv_msg(c, &m, buf, sizeof(buf), 30000));
  ASSERT_STR_EQ(buf, "ro");
  ASSERT_EQ(m.count, 1);
  ASSERT_EQ(shmkit_region_access(m.regions[0]), SHMKIT_READ_ONLY);
  expect_text(m.regions[0], "for the sandbox");
  ASSERT_ERR(shmkit_view_map(&v, m.regions[0], 0, 64, SHMKIT_READ_WRITE),
             SHMKIT_EACCES);
  ASSERT_EQ(test_try_map_writable(shmkit_region_handle(m.regions[0]), 64), 0);
  shmkit_region_close(m.regions[0]);
  ASSERT_OK(shmkit_conn_send(c, "ok", 3, NULL, 0, 30000));
  shmkit_conn_close(c);
  return 0;
}

/* One round: a pair whose end goes to a sandboxed_receiver child while
 * this process denies others its handles, and a read-only region sent at
 * once, before the child has taken up its end. The other end's hello,
 * written in this process, says the end pulls: stale once the end is the
 * child's. `read_first`: it is read before the spawn (what the system
 * says of the child must replace it), else after (it must be dropped). */
static void sandbox_round(shmkit_region *ro, int read_first) {
  char tok[SHMKIT_TOKEN_MAX], buf[8];
  const char *cargs[] = {tok, NULL};
  PSECURITY_DESCRIPTOR saved;
  shmkit_spawn_options o;
  shmkit_process *p;
  shmkit_conn *a, *b;
  shmkit_msg m;
  int code, sig;

  ASSERT_OK(shmkit_conn_pair(&a, &b));
  ASSERT_OK(shmkit_conn_token(b, tok, sizeof(tok)));
  memset(&m, 0, sizeof(m));
  if (read_first) ASSERT_ERR(shmkit_conn_recv(a, &m, 0), SHMKIT_ETIMEDOUT);
  saved = deny_process_access();
  memset(&o, 0, sizeof(o));
  o.conns = &b;
  o.conn_count = 1;
  ASSERT_OK(spawn_runner(&p, NULL, "sandboxed_receiver", cargs, &o));
  shmkit_conn_close(b);
  ASSERT_OK(shmkit_conn_send(a, "ro", 3, &ro, 1, 30000));
  ASSERT_OK(recv_msg(a, &m, buf, sizeof(buf), 30000));
  ASSERT_STR_EQ(buf, "ok");
  ASSERT_OK(shmkit_process_wait(p, 30000, &code, &sig));
  ASSERT_EQ(code, 0);
  restore_process_access(saved);
  shmkit_process_close(p);
  shmkit_conn_close(a);
}

/* A broker and its sandbox: this process denies every other one the right
 * to duplicate its handles, and hands a pair's end to a child, which so
 * cannot pull: a region sent at once is pushed to it, read-only. The
 * parent has the child's process handle from spawning it, so it pulls the
 * other way. */
TEST_IMPL(conn_push_to_sandboxed_child_win) {
  shmkit_region *rw, *ro;

  rw = region_with("for the sandbox");
  ASSERT_OK(shmkit_region_dup_readonly(&ro, rw));
  sandbox_round(ro, 1);
  sandbox_round(ro, 0);
  expect_text(rw, "for the sandbox");
  shmkit_region_close(ro);
  shmkit_region_close(rw);
  return 0;
}

/* ---- a peer that may not open us pushes anyway */

/* Denies the parent its handles, connects to the parent's endpoint, and
 * writes a frame that says "pushed" and names the parent's own handle
 * value (argv[1]); then waits for the parent's word. */
CHILD_IMPL(forged_pusher) {
  shmkit__frame f;
  shmkit_conn *c;
  shmkit_msg m;
  char buf[8];
  DWORD n;

  ASSERT_EQ(argc, 2);
  deny_process_access();
  ASSERT_OK(shmkit_connect(&c, argv[0], 30000));
  memset(&f, 0, sizeof(f));
  f.magic = SHMKIT__FRAME_MAGIC;
  f.version = SHMKIT__FRAME_VERSION;
  f.count = 1;
  f.regions[0].size = 4096;
  f.regions[0].handle = strtoull(argv[1], NULL, 10);
  f.regions[0].access = SHMKIT_READ_WRITE;
  f.regions[0].origin = 0; /* "pushed: yours already" */
  pipe_io((HANDLE)shmkit_conn_handle(c), 1, &f, sizeof(f), &n);
  ASSERT_EQ(n, sizeof(f));
  ASSERT_OK(recv_msg(c, &m, buf, sizeof(buf), 30000));
  ASSERT_STR_EQ(buf, "done");
  shmkit_conn_close(c);
  return 0;
}

/* Two processes that deny each other their handles (neither may open the
 * other): one cannot pull, so it takes pushed values, but only from a
 * peer the system lets open it. This one may not, so a value it names as
 * "pushed" is one of our own handles, and is refused (SHMKIT_EPERM) and
 * left alone. */
TEST_IMPL(conn_push_refused_from_stranger_win) {
  char name[32], value[24];
  const char *args[] = {name, value, NULL};
  PSECURITY_DESCRIPTOR saved;
  shmkit_process *p;
  shmkit_region *mine;
  shmkit_conn *l, *a;
  shmkit_msg m;
  char buf[8];
  int n, err;

  mine = region_with("ours alone");
  snprintf(name, sizeof(name), "forged.%lu",
           (unsigned long)GetCurrentProcessId());
  snprintf(value, sizeof(value), "%llu",
           (unsigned long long)shmkit_region_handle(mine));
  saved = deny_process_access();
  ASSERT_OK(shmkit_listen(&l, name));
  ASSERT_OK(spawn_runner(&p, NULL, "forged_pusher", args, NULL));
  ASSERT_OK(shmkit_accept(&a, l, 30000));
  n = test_open_handles();
  err = recv_msg(a, &m, buf, sizeof(buf), 30000);
  if (err == 0) {
    shmkit_msg_close(&m); /* closes our own handle: what must not be */
    FAIL("a forged push of our own handle was taken");
  }
  ASSERT_ERR(err, SHMKIT_EPERM);
  ASSERT_EQ(test_open_handles(), n);
  expect_text(mine, "ours alone");
  ASSERT_OK(shmkit_conn_send(a, "done", 5, NULL, 0, 30000));
  reap_ok(p);
  restore_process_access(saved);
  shmkit_conn_close(a);
  shmkit_conn_close(l);
  shmkit_region_close(mine);
  return 0;
}
