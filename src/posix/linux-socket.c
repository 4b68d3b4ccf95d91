/* Linux endpoints: the abstract socket namespace (nothing on disk), and
 * the peer's pid and uid from SO_PEERCRED. no-abstract-socket.c stands in
 * for this file elsewhere (socket files; the peer's uid alone). */
#define _GNU_SOURCE /* struct ucred */
#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "posix.h"
#include "sys.h"

int shmkit__ext_abstract_addr(const char *name, char *path, size_t size,
                              socklen_t *len) {
  /* The uid keeps users' names apart; it does not keep another user from
   * taking ours, which is why both ends check the peer's uid. */
  int n = snprintf(path + 1, size - 1, "shmkit.%lu.%s",
                   (unsigned long)geteuid(), name);

  path[0] = '\0';
  if (n < 0 || (size_t)n >= size - 1) return SHMKIT_ENAME;
  *len = (socklen_t)(n + 1);
  return 0;
}

int shmkit__ext_peer(int fd, int64_t *pid, int64_t *uid) {
  struct ucred cred;
  socklen_t n = sizeof(cred);

  if (sys_getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &n) != 0)
    return shmkit__errno(errno);
  *pid = cred.pid > 0 ? cred.pid : -1;
  *uid = cred.uid;
  return 0;
}
