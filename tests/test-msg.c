/* Receiving and connecting the way a newcomer does: a message readied once
 * (SHMKIT_MSG_INIT) and emptied in one call (shmkit_msg_close), text
 * payloads usable as strings, a connect that waits for its listener, and
 * what a listener's handle is ready for. */
#ifndef _WIN32
#  include <poll.h>
#endif

#include "task.h"

/* What a receive must not write: the bytes past the 0 after the payload,
 * and anything past the capacity. The last byte stays 0, so that a failed
 * comparison prints the buffer without reading past it. */
#define FILL 'x'

static void fill(char *buf, size_t size) {
  memset(buf, FILL, size - 1);
  buf[size - 1] = '\0';
}

TEST_IMPL(msg_init_close_reuse) {
  char buf[16];
  shmkit_msg m = SHMKIT_MSG_INIT(buf, 8);
  shmkit_region *r[2], *kept;
  shmkit_conn *a, *b;
  int held;

  ASSERT(m.data == buf);
  ASSERT_EQ(m.capacity, 8);
  ASSERT_EQ(m.size, 0);
  ASSERT_EQ(m.count, 0);
  for (size_t i = 0; i < SHMKIT_MSG_REGIONS_MAX; i++) ASSERT_NULL(m.regions[i]);
  shmkit_msg_close(&m); /* nothing received yet: nothing to close */
  shmkit_msg_close(NULL);

  ASSERT_OK(shmkit_conn_pair(&a, &b));
  r[0] = region_with("kept");
  r[1] = region_with("closed by shmkit_msg_close");

  /* A text payload sent without its 0 can be used as a string. */
  fill(buf, sizeof(buf));
  ASSERT_OK(shmkit_conn_send(a, "abc", 3, r, 2, 30000));
  ASSERT_OK(shmkit_conn_recv(b, &m, 30000));
  ASSERT_EQ(m.size, 3);
  ASSERT_STR_EQ(buf, "abc");
  ASSERT_EQ(buf[4], FILL);
  ASSERT_EQ(m.count, 2);

  /* The caller keeps one region by taking it out; close takes the rest.
   * (Handles are counted from here: on Windows the sending end also holds
   * copies until its next call.) */
  held = test_open_handles();
  kept = m.regions[0];
  m.regions[0] = NULL;
  shmkit_msg_close(&m);
  ASSERT_EQ(m.count, 0);
  ASSERT_NULL(m.regions[1]);
  ASSERT_EQ(test_open_handles(), held - 1);
  expect_text(kept, "kept");
  shmkit_region_close(kept);
  ASSERT_EQ(test_open_handles(), held - 2);

  /* The same message again, not readied anew: an empty payload is "". */
  fill(buf, sizeof(buf));
  ASSERT_OK(shmkit_conn_send(a, "", 0, NULL, 0, 30000));
  ASSERT_OK(shmkit_conn_recv(b, &m, 30000));
  ASSERT_EQ(m.size, 0);
  ASSERT_EQ(m.count, 0);
  ASSERT_EQ(buf[0], '\0');
  ASSERT_EQ(buf[1], FILL);

  /* A payload that fills the capacity has no room for a 0, and nothing is
   * written past the capacity. */
  fill(buf, sizeof(buf));
  ASSERT_OK(shmkit_conn_send(a, "12345678", 8, &r[1], 1, 30000));
  ASSERT_OK(shmkit_conn_recv(b, &m, 30000));
  ASSERT_EQ(m.size, 8);
  ASSERT(memcmp(buf, "12345678", 8) == 0);
  ASSERT_EQ(buf[8], FILL);
  ASSERT_EQ(m.count, 1);
  expect_text(m.regions[0], "closed by shmkit_msg_close");
  held = test_open_handles();
  shmkit_msg_close(&m);
  ASSERT_EQ(test_open_handles(), held - 1);
  ASSERT_NULL(m.regions[0]);

  /* Too large: nothing is written past the capacity either. */
  fill(buf, sizeof(buf));
  ASSERT_OK(shmkit_conn_send(a, "123456789", 9, NULL, 0, 30000));
  ASSERT_ERR(shmkit_conn_recv(b, &m, 30000), SHMKIT_E2BIG);
  ASSERT_EQ(m.size, 9);
  ASSERT_EQ(m.count, 0);
  ASSERT_EQ(buf[8], FILL);

  shmkit_region_close(r[0]);
  shmkit_region_close(r[1]);
  shmkit_conn_close(a);
  shmkit_conn_close(b);
  return 0;
}

/* The child is the listener, and starts listening only a moment after the
 * parent has started to connect (the pause sets the scene; the verdict does
 * not depend on it): the parent's connect, with a generous timeout, must
 * wait for it rather than fail with SHMKIT_ENOENT. */
TEST_IMPL(conn_connect_waits_for_listener) {
  char name[32];
  const char *args[] = {name, NULL};
  shmkit_conn *c = (shmkit_conn *)&c;
  test_proc p;

  test_name(name, "late");
  ASSERT_ERR(shmkit_connect(&c, name, 0), SHMKIT_ENOENT);
  ASSERT_NULL(c);
  test_spawn(&p, "late_listener", args, SHMKIT_INVALID_HANDLE);
  ASSERT_OK(shmkit_connect(&c, name, 30000));
  ASSERT_OK(shmkit_conn_send(c, "found you", 10, NULL, 0, 30000));
  expect_message(c, "and you");
  shmkit_conn_close(c);
  ASSERT_EQ(test_wait(&p, 60000), 0);
  return 0;
}

CHILD_IMPL(late_listener) {
  shmkit_conn *l, *s;

  ASSERT_EQ(argc, 1);
  test_sleep_ms(300);
  ASSERT_OK(shmkit_listen(&l, argv[0]));
  ASSERT_OK(shmkit_accept(&s, l, 30000));
  expect_message(s, "found you");
  ASSERT_OK(shmkit_conn_send(s, "and you", 8, NULL, 0, 30000));
  /* Until the parent has read it: closing first could drop it (Windows). */
  {
    char buf[8];
    shmkit_msg m = SHMKIT_MSG_INIT(buf, sizeof(buf));
    ASSERT_ERR(shmkit_conn_recv(s, &m, 30000), SHMKIT_ECLOSED);
  }
  shmkit_conn_close(s);
  shmkit_conn_close(l);
  return 0;
}

/* Nobody ever listens: with no time, and with a little, the answer is
 * SHMKIT_ENOENT (not SHMKIT_ETIMEDOUT, which says a listener was there but
 * did not take the connection), and nothing is made. */
TEST_IMPL(conn_connect_nobody_listens) {
  char name[32];
  shmkit_conn *c = (shmkit_conn *)&c;
  int before;

  test_name(name, "nobody");
  ASSERT_ERR(shmkit_connect(&c, name, 0), SHMKIT_ENOENT);
  ASSERT_NULL(c);
  /* Counted after one call: what the system opens once is not ours. */
  before = test_open_handles();
  c = (shmkit_conn *)&c;
  ASSERT_ERR(shmkit_connect(&c, name, 200), SHMKIT_ENOENT);
  ASSERT_NULL(c);
  ASSERT_EQ(test_open_handles(), before);
  return 0;
}

#ifndef _WIN32
/* 1 if `h` is readable within `timeout_ms`. */
static int readable(shmkit_handle h, int timeout_ms) {
  struct pollfd p = {(int)h, POLLIN, 0};
  int n = poll(&p, 1, timeout_ms);

  ASSERT(n >= 0);
  ASSERT_EQ(p.revents & POLLNVAL, 0);
  return n == 1 && (p.revents & (POLLIN | POLLHUP)) != 0;
}

/* A listener's handle is readable exactly when a connection waits, and a
 * connection's when a message or the end is there (shmkit.h,
 * shmkit_conn_handle). The long waits only bound a hang. */
TEST_IMPL(conn_handle_poll) {
  shmkit_conn *l, *c, *s;
  char name[32], buf[8];
  shmkit_msg m = SHMKIT_MSG_INIT(buf, sizeof(buf));

  test_name(name, "poll");
  ASSERT_OK(shmkit_listen(&l, name));
  ASSERT_EQ(readable(shmkit_conn_handle(l), 0), 0);
  ASSERT_OK(shmkit_connect(&c, name, 30000));
  ASSERT_EQ(readable(shmkit_conn_handle(l), 30000), 1);
  ASSERT_OK(shmkit_accept(&s, l, 0));
  ASSERT_EQ(readable(shmkit_conn_handle(l), 0), 0);

  ASSERT_EQ(readable(shmkit_conn_handle(s), 0), 0);
  ASSERT_OK(shmkit_conn_send(c, "ready", 6, NULL, 0, 30000));
  ASSERT_EQ(readable(shmkit_conn_handle(s), 30000), 1);
  ASSERT_OK(shmkit_conn_recv(s, &m, 0));
  ASSERT_STR_EQ(buf, "ready");
  ASSERT_EQ(readable(shmkit_conn_handle(s), 0), 0);
  shmkit_conn_close(c);
  ASSERT_EQ(readable(shmkit_conn_handle(s), 30000), 1);
  ASSERT_ERR(shmkit_conn_recv(s, &m, 0), SHMKIT_ECLOSED);

  shmkit_conn_close(s);
  shmkit_conn_close(l);
  return 0;
}
#else
/* A listener's handle is the pipe instance the next client takes: after an
 * accept, that instance is the connection's, and the listener has a new
 * one (shmkit.h, shmkit_conn_handle). */
TEST_IMPL(conn_listener_handle_moves_win) {
  shmkit_conn *l, *c, *s;
  shmkit_handle waiting;
  char name[32];

  test_name(name, "moves");
  ASSERT_OK(shmkit_listen(&l, name));
  waiting = shmkit_conn_handle(l);
  ASSERT_NE(waiting, SHMKIT_INVALID_HANDLE);
  ASSERT_OK(shmkit_connect(&c, name, 30000));
  ASSERT_OK(shmkit_accept(&s, l, 30000));
  ASSERT_EQ(shmkit_conn_handle(s), waiting);
  ASSERT_NE(shmkit_conn_handle(l), waiting);
  shmkit_conn_close(c);
  shmkit_conn_close(s);
  shmkit_conn_close(l);
  return 0;
}
#endif
