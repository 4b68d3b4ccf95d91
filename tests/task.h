/* What the tests share: assertions, and the helpers of helpers.c, built on
 * shmkit's public API and the runner (runner.h) alone. A test file includes
 * this header; the runner's own plumbing stays in runner.h, so that a
 * newcomer reads what a test may use here, and nothing else. */
#ifndef SHMKIT_TEST_TASK_H
#define SHMKIT_TEST_TASK_H

#include "runner.h"

#define FAIL(...) test_fail(__FILE__, __LINE__, __VA_ARGS__)

#define ASSERT(expr)                                                           \
  do {                                                                         \
    if (!(expr)) FAIL("assertion failed: %s", #expr);                          \
  } while (0)

#define ASSERT_EQ(a, b)                                                        \
  do {                                                                         \
    long long a_ = (long long)(a), b_ = (long long)(b);                        \
    if (a_ != b_) FAIL("%s == %s: %lld != %lld", #a, #b, a_, b_);              \
  } while (0)

#define ASSERT_NE(a, b)                                                        \
  do {                                                                         \
    long long a_ = (long long)(a), b_ = (long long)(b);                        \
    if (a_ == b_) FAIL("%s != %s: both %lld", #a, #b, a_);                     \
  } while (0)

#define ASSERT_STR_EQ(a, b)                                                    \
  do {                                                                         \
    const char *a_ = (a), *b_ = (b);                                           \
    if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0)                       \
      FAIL("%s == %s: \"%s\" != \"%s\"", #a, #b, a_ ? a_ : "(null)",           \
           b_ ? b_ : "(null)");                                                \
  } while (0)

#define ASSERT_NULL(p)                                                         \
  do {                                                                         \
    if ((p) != NULL) FAIL("%s is not NULL", #p);                               \
  } while (0)

/* A shmkit call that must succeed. */
#define ASSERT_OK(expr)                                                        \
  do {                                                                         \
    int r_ = (expr);                                                           \
    if (r_ != 0)                                                               \
      FAIL("%s: %s (%s)", #expr, shmkit_err_name(r_), shmkit_strerror(r_));    \
  } while (0)

/* A shmkit call that must fail with exactly `code`. */
#define ASSERT_ERR(expr, code)                                                 \
  do {                                                                         \
    int r_ = (expr), c_ = (code);                                              \
    if (r_ != c_)                                                              \
      FAIL("%s: got %s (%d), want %s", #expr, shmkit_err_name(r_), r_,         \
           shmkit_err_name(c_));                                               \
  } while (0)

/* ---- helpers shared by the tests (helpers.c) */

/* Starts this runner as `--child CHILD args...` through shmkit_spawn, with
 * `arg0` as argv[0] (NULL: the runner's path) and the other options of `o`
 * (NULL: none). Returns what shmkit_spawn returned. */
int spawn_runner(shmkit_process **p, const char *arg0, const char *child,
                 const char *const *args, const shmkit_spawn_options *o);

/* Waits for a child and checks that it exited with status 0. */
void reap_ok(shmkit_process *p);

/* Starts `--child NAME TOKEN [RTOKEN] args...` with shmkit_spawn, handing
 * it one end of a new pair (TOKEN names it) and `region` if not NULL
 * (RTOKEN names it); returns the other end, ours. */
shmkit_conn *test_conn_child_args(const char *child, shmkit_region *region,
                                  const char *const *args, shmkit_process **p);
shmkit_conn *test_conn_child(const char *child, shmkit_region *region,
                             shmkit_process **p);

/* In a child started by test_conn_child() without a region or arguments:
 * its end of the connection, from its one argument. */
shmkit_conn *child_conn(int argc, char **argv);

/* Readies `m` to receive at most `size` bytes into `buf`, and receives:
 * returns what shmkit_conn_recv() returned. */
int recv_msg(shmkit_conn *c, shmkit_msg *m, void *buf, size_t size,
             int timeout_ms);

/* Receives the next message, which must have `text` as its payload and no
 * region. */
void expect_message(shmkit_conn *c, const char *text);

/* Closes every region a received message carries (shmkit_msg_close). */
void close_msg(shmkit_msg *m);

/* A new region of `size` bytes (region_with: 4096) that starts with
 * `text`. */
shmkit_region *region_sized_with(const char *text, uint64_t size);
shmkit_region *region_with(const char *text);

/* The region's seals (shmkit_region_seals), which must be readable. */
unsigned seals_of(const shmkit_region *r);

/* Writes `text` at the start of a region; checks the text there. */
void write_text(shmkit_region *r, const char *text);
void expect_text(shmkit_region *r, const char *text);

/* A read-only view of the whole region, and its start as text. */
char *text_of(shmkit_region *r, shmkit_view **v);

/* Starts `--child NAME args...` through shmkit_spawn, handing it
 * regions[0..n), with `flags` and `env_set`; fails the test on error. */
shmkit_process *spawn_child(const char *child, const char *const *args,
                            shmkit_region *const *regions, size_t n,
                            unsigned flags, const char *const *env_set);

/* A region's token; fails the test on error. */
void token_of(shmkit_region *r, char buf[SHMKIT_TOKEN_MAX]);

/* In a child given `want` arguments: the region whose token is the first. */
shmkit_region *child_region(int argc, char **argv, int want);

/* In a list of handle values as test_list_handles() writes it ("0 1 2 7
 * "): 1 if it holds `h`; how many it holds. */
int handle_listed(const char *list, shmkit_handle h);
int handle_count(const char *list);

/* A report region: the child writes text into it; the parent reads it. */
char *report(shmkit_region *r, shmkit_view **v);

/* Receives the next message and returns what the receive did. If one
 * arrives, it must say `payload` and carry one region that says `text`
 * (text NULL: no message was expected), and its region is closed. */
int recv_one(shmkit_conn *c, const char *payload, const char *text);

/* The failures of a named region's calls that every platform has alike,
 * each leaving as many handles open as before: a bad name, opening what
 * is not there, creating what is, a view out of range, a writable view of
 * a read-only handle, sealing one. Leaves `name` created as *r and opened
 * read-only as *ro (leak_failures, per platform). */
void leak_failures_named(const char *name, shmkit_region **r,
                         shmkit_region **ro);

#endif /* SHMKIT_TEST_TASK_H */
