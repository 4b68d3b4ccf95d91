/* Waiting for several processes at once, and a process's handle for an
 * event loop. The children end when told to, never after a delay, so what
 * the tests see does not depend on how fast the machine is. */
#include <stdlib.h>

#include "task.h"

/* Children that each wait for a byte of one shared region (`flags`) at
 * their index and exit with its value. */
typedef struct waiters {
  shmkit_region *region;
  shmkit_view *view;
  volatile unsigned char *flags;
  shmkit_process *p[3];
} waiters;

static shmkit_process *start_waiter(waiters *w, int index) {
  char tok[SHMKIT_TOKEN_MAX], idx[16];
  const char *args[] = {tok, idx, NULL};

  token_of(w->region, tok);
  snprintf(idx, sizeof(idx), "%d", index);
  return spawn_child("wait_flag", args, &w->region, 1, 0, NULL);
}

static void start_waiters(waiters *w, size_t n) {
  ASSERT_OK(shmkit_region_create(&w->region, 4096, 0));
  ASSERT_OK(shmkit_view_map(&w->view, w->region, 0, 4096, SHMKIT_READ_WRITE));
  w->flags = shmkit_view_data(w->view);
  for (size_t i = 0; i < n; i++) w->p[i] = start_waiter(w, (int)i);
}

static void stop_waiters(waiters *w, size_t n) {
  for (size_t i = 0; i < n; i++) shmkit_process_close(w->p[i]);
  shmkit_view_unmap(w->view);
  shmkit_region_close(w->region);
}

/* Tells waiter `i` to exit with `code`. */
static void release(waiters *w, int i, int code) {
  w->flags[i] = (unsigned char)code;
}

/* Expects wait_any to report procs[want], ended with `code`. */
static void expect_ended(shmkit_process *const *procs, size_t n, size_t want,
                         int code) {
  size_t which = 99;
  int got = -1, sig = -1;

  ASSERT_OK(shmkit_process_wait_any(procs, n, 30000, &which));
  ASSERT_EQ(which, want);
  /* The status is collected: no wait. */
  ASSERT_OK(shmkit_process_wait(procs[which], 0, &got, &sig));
  ASSERT_EQ(got, code);
  ASSERT_EQ(sig, 0);
}

TEST_IMPL(process_wait_any_order) {
  waiters w;
  size_t which = 99;

  start_waiters(&w, 3);
  /* None has been told to end. */
  ASSERT_ERR(shmkit_process_wait_any(w.p, 3, 0, &which), SHMKIT_ETIMEDOUT);
  ASSERT_ERR(shmkit_process_wait_any(w.p, 3, 50, &which), SHMKIT_ETIMEDOUT);
  ASSERT_EQ(which, 99); /* untouched on failure */

  /* The middle one ends: it is the one reported, whatever the order of the
   * others. */
  release(&w, 1, 21);
  expect_ended(w.p, 3, 1, 21);
  /* Already waited for: it counts as ended at once, every time. */
  ASSERT_OK(shmkit_process_wait_any(w.p, 3, 0, &which));
  ASSERT_EQ(which, 1);
  ASSERT_OK(shmkit_process_wait_any(w.p, 3, -1, &which));
  ASSERT_EQ(which, 1);

  /* Without it, the other two still run, and end in the order told. */
  {
    shmkit_process *rest[] = {w.p[2], w.p[0]};
    ASSERT_ERR(shmkit_process_wait_any(rest, 2, 0, &which), SHMKIT_ETIMEDOUT);
    release(&w, 0, 20);
    expect_ended(rest, 2, 1, 20);
    /* A killed one ends too, and never reads as a success. */
    ASSERT_ERR(shmkit_process_wait_any(rest, 1, 0, &which), SHMKIT_ETIMEDOUT);
    ASSERT_OK(shmkit_process_kill(rest[0]));
    ASSERT_OK(shmkit_process_wait_any(rest, 1, -1, &which));
    ASSERT_EQ(which, 0);
    {
      int code = 0;
      ASSERT_OK(shmkit_process_wait(rest[0], 0, &code, NULL));
      ASSERT_EQ(code, test_kill_exit_code());
      ASSERT_NE(code, 0);
    }
  }
  stop_waiters(&w, 3);
  return 0;
}

CHILD_IMPL(wait_flag) {
  shmkit_region *r;
  shmkit_view *v;
  volatile unsigned char *flag;
  int code = 0;

  r = child_region(argc, argv, 2);
  ASSERT_OK(shmkit_view_map(&v, r, 0, 4096, SHMKIT_READ_ONLY));
  flag = (volatile unsigned char *)shmkit_view_data(v) + atoi(argv[1]);
  /* Bounded, so that a parent that died does not leave it behind. */
  for (int i = 0; i < 300000 && (code = *flag) == 0; i++) test_sleep_ms(1);
  shmkit_view_unmap(v);
  shmkit_region_close(r);
  return code;
}

TEST_IMPL(process_wait_any_limits) {
  shmkit_process *p[SHMKIT_WAIT_ANY_MAX + 1];
  const char *args[] = {NULL};
  size_t which = 99;

  /* The most it takes, then one more. */
  for (size_t i = 0; i < SHMKIT_WAIT_ANY_MAX; i++)
    p[i] = spawn_child("sleep", args, NULL, 0, 0, NULL);
  p[SHMKIT_WAIT_ANY_MAX] = p[0];
  ASSERT_ERR(shmkit_process_wait_any(p, SHMKIT_WAIT_ANY_MAX, 0, &which),
             SHMKIT_ETIMEDOUT);
  ASSERT_ERR(shmkit_process_wait_any(p, SHMKIT_WAIT_ANY_MAX + 1, 0, &which),
             SHMKIT_EINVAL);
  ASSERT_OK(shmkit_process_kill(p[SHMKIT_WAIT_ANY_MAX - 1]));
  ASSERT_OK(shmkit_process_wait_any(p, SHMKIT_WAIT_ANY_MAX, -1, &which));
  ASSERT_EQ(which, SHMKIT_WAIT_ANY_MAX - 1);

  /* Bad arguments: nothing waited for. */
  ASSERT_ERR(shmkit_process_wait_any(NULL, 1, 0, &which), SHMKIT_EINVAL);
  ASSERT_ERR(shmkit_process_wait_any(p, 0, 0, &which), SHMKIT_EINVAL);
  ASSERT_ERR(shmkit_process_wait_any(p, 1, 0, NULL), SHMKIT_EINVAL);
  ASSERT_ERR(shmkit_process_wait_any(p, 1, -2, &which), SHMKIT_EINVAL);
  {
    shmkit_process *with_null[] = {p[0], NULL};
    shmkit_process *twice[] = {p[1], p[2], p[1]};
    ASSERT_ERR(shmkit_process_wait_any(with_null, 2, 0, &which), SHMKIT_EINVAL);
    /* One process twice: refused everywhere (a Windows wait refuses a
     * handle twice). */
    ASSERT_ERR(shmkit_process_wait_any(twice, 3, 0, &which), SHMKIT_EINVAL);
    /* Even when it has ended: the arguments are checked first. */
    shmkit_process *ended[] = {p[SHMKIT_WAIT_ANY_MAX - 1],
                               p[SHMKIT_WAIT_ANY_MAX - 1]};
    ASSERT_ERR(shmkit_process_wait_any(ended, 2, 0, &which), SHMKIT_EINVAL);
  }
  ASSERT_EQ(which, SHMKIT_WAIT_ANY_MAX - 1); /* untouched on failure */

  for (size_t i = 0; i < SHMKIT_WAIT_ANY_MAX; i++) {
    ASSERT_OK(shmkit_process_kill(p[i]));
    ASSERT_OK(shmkit_process_wait(p[i], -1, NULL, NULL));
    shmkit_process_close(p[i]);
  }
  return 0;
}

/* The handle tells an event loop when the process ends: not before. */
TEST_IMPL(process_handle_pollable) {
  waiters w;
  shmkit_handle h;
  int code = -1;

  ASSERT_EQ(shmkit_process_handle(NULL), SHMKIT_INVALID_HANDLE);
  start_waiters(&w, 1);
  h = shmkit_process_handle(w.p[0]);
#ifndef _WIN32
  if (!test_linux_ext()) {
    /* No pidfd: there is nothing to poll, as documented. */
    ASSERT_EQ(h, SHMKIT_INVALID_HANDLE);
    release(&w, 0, 5);
    expect_ended(w.p, 1, 0, 5);
    stop_waiters(&w, 1);
    return 0;
  }
#endif
  ASSERT_NE(h, SHMKIT_INVALID_HANDLE);
  ASSERT_EQ(shmkit_process_handle(w.p[0]), h); /* the same, kept by p */
  ASSERT_EQ(test_handle_ended(h, 0), 0);
  ASSERT_EQ(test_handle_ended(h, 50), 0);
  release(&w, 0, 5);
  ASSERT_EQ(test_handle_ended(h, 30000), 1);
  /* It ended: waiting does not wait. */
  ASSERT_OK(shmkit_process_wait(w.p[0], 0, &code, NULL));
  ASSERT_EQ(code, 5);
  /* Still the process's, still telling it ended after its status is
   * collected. */
  ASSERT_EQ(test_handle_ended(h, 0), 1);
  stop_waiters(&w, 1);
  return 0;
}
