/* Stands in for linux-futex.c where there is no wait on a word of shared
 * memory (the BSDs and macOS have nothing public): a channel's sleeper
 * waits on its link instead, which the peer writes to when it must wake
 * it. */
#include "../platform.h"

int shmkit__os_word_wait(uint32_t *addr, uint32_t expected, int timeout_ms) {
  (void)addr, (void)expected, (void)timeout_ms;
  return SHMKIT_ENOTSUP;
}

int shmkit__os_word_wake(uint32_t *addr) {
  (void)addr;
  return SHMKIT_ENOTSUP;
}
