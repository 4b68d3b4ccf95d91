/* The fault-injection walk of test-fault.c, for the test files that walk
 * their own calls (test-fault-channel.c). */
#ifndef SHMKIT_TEST_FAULT_H
#define SHMKIT_TEST_FAULT_H

/* One function under test: `setup` makes what the call needs, `call` is
 * the public call under fault, `undo` releases everything setup made and,
 * if the call succeeded, what it made. */
typedef struct fault_case {
  const char *what;
  void (*setup)(void *ctx);
  int (*call)(void *ctx);
  void (*undo)(void *ctx, int err);
  const int *documented; /* the codes the header names; 0 ends the list */
} fault_case;

/* Walks c->call through each system call it makes, failing in turn. */
void walk(const fault_case *c, void *ctx);

#endif
