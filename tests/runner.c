/* The test runner: `shmkit-tests` runs every test, each in its own process
 * with a timeout, and shows a test's output only when it fails;
 * `shmkit-tests NAME` runs one test in this process (what ctest calls);
 * `shmkit-tests --child NAME ARGS...` is a helper process of a test. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"

#ifdef SHMKIT_TEST_FAULT
#  define TEST_FAULT(name) TEST(name)
#else
#  define TEST_FAULT(name)
#endif
#ifdef _WIN32
#  define TEST_POSIX(name)
#  define CHILD_POSIX(name)
#  define TEST_WIN(name)  TEST(name)
#  define CHILD_WIN(name) CHILD(name)
#else
#  define CHILD_WIN(name)
#  define TEST_WIN(name)
#  define TEST_POSIX(name)  TEST(name)
#  define CHILD_POSIX(name) CHILD(name)
#endif

#define TEST(name)  TEST_IMPL(name);
#define CHILD(name) CHILD_IMPL(name);
#include "test-list.h"
#undef TEST
#undef CHILD

/* The capabilities fall in two groups: those POSIX has only with the Linux
 * extras (/proc, SO_PEERCRED, pidfd_getfd, fstatfs) and Windows always, and
 * the rest, which POSIX always has and Windows not. */
int test_can(int cap) {
#ifdef _WIN32
  const int extras = 1, rest = 0;
#else
  const int extras = test_linux_ext(), rest = 1;
#endif

  switch (cap) {
  case CAP_RO_ANON:
  case CAP_PEER_PID:
  case CAP_PULL:
  case CAP_TYPE_CHECK:
    return extras;
  default: /* CAP_REMOVE_NAME, CAP_LEAKY_INHERIT, CAP_EXACT_HANDLES, ... */
    return rest;
  }
}

static const struct {
  const char *name;
  int (*fn)(void);
} tests[] = {
#define TEST(name) {#name, test_##name},
#define CHILD(name)
#include "test-list.h"
#undef TEST
#undef CHILD
};

static const struct {
  const char *name;
  int (*fn)(int, char **);
} children[] = {
#define TEST(name)
#define CHILD(name) {#name, child_##name},
#include "test-list.h"
#undef TEST
#undef CHILD
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

void test_fail(const char *file, int line, const char *fmt, ...) {
  va_list ap;

  fprintf(stderr, "%s:%d: ", file, line);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  fflush(stderr);
  exit(1);
}

int test_run_child(const char *name, int argc, char **argv) {
  for (size_t i = 0; i < COUNT(children); i++)
    if (strcmp(children[i].name, name) == 0) return children[i].fn(argc, argv);
  fprintf(stderr, "no child mode %s\n", name);
  return 2;
}

/* The timeout of one test, scaled by SHMKIT_TEST_TIMEOUT_SCALE (Wine). It
 * only catches a test that hangs, so it is far above what any test takes
 * on a slow, busy machine under a sanitizer: no verdict depends on speed. */
static int timeout_s(void) {
  const char *s = getenv("SHMKIT_TEST_TIMEOUT_SCALE");
  int scale = s != NULL ? atoi(s) : 1;
  return 300 * (scale > 0 ? scale : 1);
}

int main(int argc, char **argv) {
  int failed = 0, passed = 0, skipped = 0;

  setvbuf(stdout, NULL, _IONBF, 0);
  test_save_argv(argc, argv);
  test_platform_init(timeout_s());
  if (argc >= 3 && strcmp(argv[1], "--child") == 0)
    return test_run_child(argv[2], argc - 3, argv + 3);
  if (argc == 2 && strcmp(argv[1], "--list") == 0) {
    for (size_t i = 0; i < COUNT(tests); i++) printf("%s\n", tests[i].name);
    return 0;
  }
  if (argc == 2) {
    for (size_t i = 0; i < COUNT(tests); i++)
      if (strcmp(tests[i].name, argv[1]) == 0) return tests[i].fn();
    fprintf(stderr, "no test %s (--list lists them)\n", argv[1]);
    return 2;
  }
  if (argc != 1) {
    fprintf(stderr, "usage: %s [--list | TEST | --child NAME ARGS...]\n",
            argv[0]);
    return 2;
  }
  for (size_t i = 0; i < COUNT(tests); i++) {
    int r = test_run_isolated(tests[i].name, timeout_s());
    printf("%s %s\n",
           r == 0           ? "ok  "
           : r == TEST_SKIP ? "skip"
                            : "FAIL",
           tests[i].name);
    if (r == 0)
      passed++;
    else if (r == TEST_SKIP)
      skipped++;
    else
      failed++;
  }
  /* A skip is neither a pass nor a failure: counted apart, never a fail. */
  printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
  return failed == 0 && passed > 0 ? 0 : 1;
}
