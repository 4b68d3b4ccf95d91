/* A region read or written a window at a time (cat, write, info), so that
 * a region of any size goes through a bounded piece of address space, and
 * a region another process shrinks under a view (POSIX: the access past
 * its new end raises SIGBUS) becomes an error, not a crash. */
#include <string.h>

#ifndef _WIN32
#  include <setjmp.h>
#  include <signal.h>
#endif

#include "tool.h"

#define WINDOW ((size_t)64 << 20)

/* Where the walk is: in memory, so that it survives the jump. */
typedef struct walk {
  volatile uint64_t used;
  shmkit_view *volatile view; /* mapped now */
} walk;

static int windows(walk *w, shmkit_region *r, uint64_t offset, uint64_t length,
                   int access, tool_window_fn fn, void *ctx) {
  while (w->used < length) {
    uint64_t left = length - w->used;
    size_t n = left > WINDOW ? WINDOW : (size_t)left, got;
    shmkit_view *v;
    int err = shmkit_view_map(&v, r, offset + w->used, n, access);

    if (err != 0) return err;
    w->view = v;
    got = fn(ctx, shmkit_view_data(v), n, offset + w->used);
    w->view = NULL;
    shmkit_view_unmap(v);
    w->used += got;
    if (got < n) break;
  }
  return 0;
}

#ifndef _WIN32
static sigjmp_buf bus_jump;
static void on_bus(int sig) {
  (void)sig;
  siglongjmp(bus_jump, 1);
}
#endif

int tool_walk(shmkit_region *r, uint64_t offset, uint64_t length, int access,
              tool_window_fn fn, void *ctx, uint64_t *done) {
  walk w;
  int err;

  w.used = 0;
  w.view = NULL;
#ifndef _WIN32
  struct sigaction sa, old;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_bus;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGBUS, &sa, &old);
  if (sigsetjmp(bus_jump, 1) == 0) {
    err = windows(&w, r, offset, length, access, fn, ctx);
  } else {
    err = TOOL_SHRANK;
    if (w.view != NULL) shmkit_view_unmap(w.view);
  }
  sigaction(SIGBUS, &old, NULL);
#else
  /* A section never shrinks. */
  err = windows(&w, r, offset, length, access, fn, ctx);
#endif
  *done = w.used;
  return err;
}
