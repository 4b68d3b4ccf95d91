/* Stands in for linux-pidfd.c where there are no process descriptors:
 * spawn.c waits by polling waitpid and kills by pid, and pull mode
 * (shmkit_region_pull) is SHMKIT_ENOTSUP. */
#include "posix.h"

shmkit_handle shmkit__ext_pidfd(pid_t pid) {
  (void)pid;
  return SHMKIT_INVALID_HANDLE;
}

int shmkit__ext_pidfd_wait(int pidfd, int timeout_ms) {
  (void)pidfd, (void)timeout_ms;
  return SHMKIT_ENOTSUP;
}

int shmkit__ext_pidfd_kill(int pidfd) {
  (void)pidfd;
  return SHMKIT_ENOTSUP;
}

int shmkit__ext_pull(pid_t pid, int remote, int *out) {
  (void)pid, (void)remote, (void)out;
  return SHMKIT_ENOTSUP;
}
