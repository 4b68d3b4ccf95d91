/* The Linux-only accelerations of posix.h, absent: built on other POSIX
 * systems, and on Linux when SHMKIT_PORTABLE is on, so that region.c's
 * portable fallbacks are what runs and what the tests exercise. */
#ifndef SHMKIT_HAVE_GETPEEREID
#  define _GNU_SOURCE /* glibc: struct ucred */
#endif
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "posix.h"
#include "sys.h"

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

int shmkit__ext_abstract_addr(const char *name, char *path, size_t size,
                              socklen_t *len) {
  (void)name;
  (void)path;
  (void)size;
  (void)len;
  return SHMKIT_ENOTSUP;
}

int shmkit__ext_peer(int fd, int64_t *pid, int64_t *uid) {
#if defined(SHMKIT_HAVE_GETPEEREID)
  uid_t u;
  gid_t g;

  if (sys_getpeereid(fd, &u, &g) != 0) return shmkit__errno(errno);
  *pid = -1; /* getpeereid does not tell */
  *uid = u;
  return 0;
#elif defined(SO_PEERCRED)
  /* glibc without getpeereid (the SHMKIT_PORTABLE build on Linux). */
  struct ucred cred;
  socklen_t n = sizeof(cred);

  if (sys_getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &n) != 0)
    return shmkit__errno(errno);
  *pid = -1; /* as other systems: the portable path promises no pid */
  *uid = cred.uid;
  return 0;
#else
  (void)fd;
  (void)pid;
  (void)uid;
  return SHMKIT_ENOTSUP;
#endif
}

int shmkit__ext_pull(pid_t pid, int remote, int *out) {
  (void)pid;
  (void)remote;
  (void)out;
  return SHMKIT_ENOTSUP;
}

int shmkit__ext_quick_check(int fd, int *write_sealed) {
  (void)fd;
  (void)write_sealed;
  return SHMKIT_ENOTSUP;
}

int shmkit__ext_pidfd_kill(int pidfd) {
  (void)pidfd;
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
