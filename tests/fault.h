/* The fault-injection walk of test-fault.c, for the test files that walk
 * their own calls (test-fault-channel.c). */
#ifndef SHMKIT_TEST_FAULT_H
#define SHMKIT_TEST_FAULT_H

/* One function under test. In each round of the walk: `setup` makes what
 * the call needs; `call` is the public call under fault, which fills the
 * pointers named in `out`; `check`, if any, proves what the case promises
 * beyond the walk's own checks (on success, that what the call made works;
 * on failure, what the function's documentation says of it); `release`
 * closes everything setup and the call made. A failed call leaves each
 * output NULL (the walk checks that), so a release can close every output
 * whatever `err` was: each close function skips NULL. */
typedef struct fault_case {
  const char *what;
  void (*setup)(void *ctx);
  int (*call)(void *ctx);
  void (*check)(void *ctx, int err);
  void (*release)(void *ctx);
  const int *documented; /* the codes the header names; 0 ends the list */
  void *out[2]; /* the addresses of the pointers the call fills, in ctx */
} fault_case;

/* Walks c->call through each system call it makes, failing in turn. Before
 * each call it sets every output to a value no call makes; after it, a
 * failed call must have set each to NULL and a successful one to an object
 * of its own. */
void walk(const fault_case *c, void *ctx);

#endif
