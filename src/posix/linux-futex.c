/* Linux: a channel's sleeper waits on a word of the ring's header with a
 * futex. Not FUTEX_PRIVATE_FLAG: the waker is another process, which finds
 * the same word through its own mapping of the same object. no-futex.c
 * stands in for this file elsewhere. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../platform.h"

int shmkit__os_word_wait(uint32_t *addr, uint32_t expected, int timeout_ms) {
  struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000};

  if (syscall(SYS_futex, addr, FUTEX_WAIT, expected, &ts, NULL, 0) == 0)
    return 0;
  switch (errno) {
  case ETIMEDOUT:
    return SHMKIT_ETIMEDOUT;
  case EAGAIN: /* the word differs */
  case EINTR:  /* the caller looks again anyway */
    return 0;
  default: /* ENOSYS or EPERM, a seccomp filter's usual answers, or any
            * other a filter chose: came back from at once, it would make
            * the sleeper a busy loop */
    return SHMKIT_ENOTSUP;
  }
}

int shmkit__os_word_wake(uint32_t *addr) {
  if (syscall(SYS_futex, addr, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0) >= 0)
    return 0;
  /* No error a wake-up of a word of ours can meet, but a filter's. */
  return SHMKIT_ENOTSUP;
}
