/* Fault injection, built only with SHMKIT_FAULT_INJECTION (a test build):
 * the backends route every system call through their table of calls
 * (src/posix/sys.h, src/win/sys.h), which asks shmkit__fault() first. A
 * test arms it to make the n-th call from then on fail, and walks a public
 * function through each of its calls failing in turn (tests/test-fault.c).
 *
 * Concurrency: a test arms, calls and disarms from one thread; the counter
 * is atomic only so that a helper thread of the library cannot tear it. */
#include <stdatomic.h>
#include <stddef.h>

#include "internal.h"

static atomic_long countdown; /* calls until the one that fails; 0: off */
static atomic_int fail_with;  /* the error to fail with; 0: the call's own */
static atomic_int fired;      /* 1 once the armed call failed */
static const char *_Atomic fired_call; /* its name, for the test's message */

int shmkit__fault(const char *call, int err) {
  long left = atomic_load(&countdown);

  /* A count of 0 is off; a positive one counts down to the call to fail. */
  while (left > 0 && !atomic_compare_exchange_weak(&countdown, &left, left - 1))
    ;
  if (left != 1) return 0;
  atomic_store(&fired, 1);
  atomic_store(&fired_call, call);
  return atomic_load(&fail_with) != 0 ? atomic_load(&fail_with) : err;
}

void shmkit__fault_arm(long nth, int err) {
  atomic_store(&fail_with, err);
  atomic_store(&fired, 0);
  atomic_store(&fired_call, NULL);
  atomic_store(&countdown, nth);
}

const char *shmkit__fault_fired(void) {
  return atomic_load(&fired) ? atomic_load(&fired_call) : NULL;
}
