/* What seal_server promises and seal_client checks, in one place so that
 * the two cannot disagree: the region's size and seals, and the endpoint
 * both use when none is named. */
#ifndef SHMKIT_EXAMPLE_SEAL_H
#define SHMKIT_EXAMPLE_SEAL_H

#include <stdio.h>

#include "shmkit.h"

#define SEAL_ENDPOINT "shmkit-seal-demo"
#define SEAL_SIZE     65536
/* No shrinking (no SIGBUS under a reader), no growing, no writing. */
#define SEAL_PROMISED                                                          \
  (SHMKIT_SEAL_SHRINK | SHMKIT_SEAL_GROW | SHMKIT_SEAL_WRITE)

/* Reports a failed step, prefixed with the including program's SEAL_ROLE,
 * and returns the exit status for it. */
static int fail(const char *what, int err) {
  fprintf(stderr, "%s: %s: %s\n", SEAL_ROLE, what, shmkit_strerror(err));
  return 1;
}

#endif
