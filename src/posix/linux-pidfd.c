/* Linux process descriptors: a pidfd to wait on and to signal, immune to
 * pid reuse, and pidfd_getfd for pull mode. no-pidfd.c stands in for this
 * file where there are none (waitpid polling, kill by pid, no pull). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "posix.h"
#include "sys.h"

shmkit_handle shmkit__ext_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
  /* Always close-on-exec. ENOSYS before Linux 5.3: poll waitpid instead. */
  long fd = sys_syscall(SYS_pidfd_open, pid, 0);
  if (fd >= 0) return (shmkit_handle)fd;
#endif
  (void)pid;
  return SHMKIT_INVALID_HANDLE;
}

int shmkit__ext_pidfd_wait(int pidfd, int timeout_ms) {
  struct pollfd p = {pidfd, POLLIN, 0};

  if (pidfd < 0) return SHMKIT_ENOTSUP;
  /* EINTR or a spurious wake-up: the caller's waitpid decides. */
  sys_poll(&p, 1, timeout_ms);
  return 0;
}

int shmkit__ext_pidfd_kill(int pidfd) {
#ifdef SYS_pidfd_send_signal
  if (pidfd < 0) return SHMKIT_ENOTSUP;
  if (sys_syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) == 0 ||
      errno == ESRCH)
    return 0;
  return errno == ENOSYS ? SHMKIT_ENOTSUP : shmkit__errno(errno);
#else
  (void)pidfd;
  return SHMKIT_ENOTSUP;
#endif
}

int shmkit__ext_pull(pid_t pid, int remote, int *out) {
#if defined(SYS_pidfd_open) && defined(SYS_pidfd_getfd)
  long pidfd = sys_syscall(SYS_pidfd_open, pid, 0), fd;
  int e;

  if (pidfd < 0)
    return errno == ESRCH    ? SHMKIT_ENOENT
           : errno == ENOSYS ? SHMKIT_ENOTSUP
                             : shmkit__errno(errno);
  fd = sys_syscall(SYS_pidfd_getfd, (int)pidfd, remote, 0); /* close-on-exec */
  e = errno;
  close((int)pidfd);
  if (fd >= 0) {
    *out = (int)fd;
    return 0;
  }
  switch (e) {
  case ESRCH: /* the process has exited since */
    return SHMKIT_ENOENT;
  case ENOSYS:
    return SHMKIT_ENOTSUP;
  case EPERM: /* ptrace access refused */
    return SHMKIT_EPERM;
  default:
    return shmkit__errno(e);
  }
#else
  (void)pid;
  (void)remote;
  (void)out;
  return SHMKIT_ENOTSUP;
#endif
}
