/* Stands in for linux-memfd.c where there are no memfds: each capability
 * answers SHMKIT_ENOTSUP (or "unknown"), and region.c's POSIX shm path does
 * the work. Also built on Linux with SHMKIT_PORTABLE, so that the path
 * other systems take is what runs and what the tests exercise there. */
#include <errno.h>
#include <stdint.h>

#include "posix.h"

int shmkit__ext_memfd(int *fd) {
  (void)fd;
  return SHMKIT_ENOTSUP;
}

int shmkit__ext_reserve(int fd, uint64_t size) {
  (void)fd, (void)size;
  return SHMKIT_ENOTSUP;
}

uint64_t shmkit__ext_memory_limit(void) {
  return 0;
}

int shmkit__ext_open_name(const char *name, int flags) {
  (void)name, (void)flags;
  errno = ENOSYS;
  return -1;
}

int shmkit__ext_reopen_readonly(int fd, int *out) {
  (void)fd, (void)out;
  return SHMKIT_ENOTSUP;
}

int shmkit__ext_check_type(int fd) {
  (void)fd;
  return SHMKIT_ENOTSUP;
}

int shmkit__ext_quick_check(int fd, int *write_sealed) {
  (void)fd, (void)write_sealed;
  return SHMKIT_ENOTSUP;
}

int shmkit__ext_seals(int fd, unsigned add) {
  (void)fd, (void)add;
  return SHMKIT_ENOTSUP;
}
