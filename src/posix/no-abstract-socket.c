/* Stands in for linux-socket.c where there is no abstract socket
 * namespace: endpoints are socket files in a private directory (conn.c),
 * and the peer is known by its uid alone (getpeereid, or SO_PEERCRED
 * without the pid, so that the portable build promises what other systems
 * give). */
#ifndef SHMKIT_HAVE_GETPEEREID
#  define _GNU_SOURCE /* glibc: struct ucred */
#endif
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "posix.h"
#include "sys.h"

int shmkit__ext_abstract_addr(const char *name, char *path, size_t size,
                              socklen_t *len) {
  (void)name, (void)path, (void)size, (void)len;
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
  (void)fd, (void)pid, (void)uid;
  return SHMKIT_ENOTSUP;
#endif
}
