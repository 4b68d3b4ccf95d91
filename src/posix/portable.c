/* The Linux-only accelerations of posix.h, absent: built on other POSIX
 * systems, and on Linux when SHMKIT_PORTABLE is on, so that region.c's
 * portable fallbacks are what runs and what the tests exercise. */
#include "posix.h"

int shmkit__ext_memfd(int *fd) {
  (void)fd;
  return SHMKIT_ENOTSUP;
}

int shmkit__ext_reserve(int fd, uint64_t size) {
  (void)fd;
  (void)size;
  return SHMKIT_ENOTSUP;
}

uint64_t shmkit__ext_memory_limit(void) {
  return 0;
}

int shmkit__ext_reopen_readonly(int fd, int *out) {
  (void)fd;
  (void)out;
  return SHMKIT_ENOTSUP;
}

int shmkit__ext_check_type(int fd) {
  (void)fd;
  return SHMKIT_ENOTSUP;
}

shmkit_handle shmkit__ext_pidfd(pid_t pid) {
  (void)pid;
  return SHMKIT_INVALID_HANDLE;
}

int shmkit__ext_pidfd_wait(int pidfd, int timeout_ms) {
  (void)pidfd;
  (void)timeout_ms;
  return SHMKIT_ENOTSUP;
}

int shmkit__ext_seal(int fd, unsigned seals) {
  (void)fd;
  (void)seals;
  return SHMKIT_ENOTSUP;
}

int shmkit__ext_seals(int fd) {
  (void)fd;
  return SHMKIT_ENOTSUP;
}
