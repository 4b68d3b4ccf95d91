/* The POSIX backend's table of system calls: every call the backend makes
 * that can fail goes through one of these names, so that a test build
 * (SHMKIT_FAULT_INJECTION) can make any of them fail, one at a time, and
 * check what the public function then returns and that it leaves nothing
 * behind (tests/test-fault.c). In every other build each name is the call
 * itself: no cost.
 *
 * Each line is: our name, the call, what it returns on failure, and the
 * errno a test build fails it with: the one the system gives when the
 * resource runs out that the call needs (descriptors: EMFILE; memory:
 * ENOMEM; space: ENOSPC; processes: EAGAIN). Calls that report their error
 * as their result (posix_spawn and its helpers) return that errno.
 *
 * Not in the table: close, munmap and shm_unlink or unlink on a failure
 * path, which release and have no failure a caller could act on;
 * clock_gettime, sysconf and nanosleep, which cannot fail as used here;
 * the futex of linux-futex.c, whose failures are a sandbox's, which the
 * tests make with a real seccomp filter (channel_*_denied_sleeps_on_link);
 * and the probe of openat2 in linux-memfd.c, whose failure only chooses
 * shm_open() instead. */
#ifndef SHMKIT_POSIX_SYS_H
#define SHMKIT_POSIX_SYS_H

#include <errno.h>

#include "../internal.h"

#ifdef SHMKIT_FAULT_INJECTION
/* 1, with errno set, if the test wants this call to fail. */
static inline int sys_fails(const char *call, int err) {
  int e = shmkit__fault(call, err);
  if (e != 0) errno = e;
  return e != 0;
}
#  define SYS_AS(name, bad, err, fn, ...)                                      \
    (sys_fails(name, err) ? (bad) : fn(__VA_ARGS__))
/* For the calls that return an errno instead of setting it. */
#  define SYS_RET_AS(name, err, fn, ...)                                       \
    (sys_fails(name, err) ? errno : fn(__VA_ARGS__))
#else
#  define SYS_AS(name, bad, err, fn, ...) fn(__VA_ARGS__)
#  define SYS_RET_AS(name, err, fn, ...)  fn(__VA_ARGS__)
#endif
#define SYS(fn, bad, err, ...) SYS_AS(#fn, bad, err, fn, __VA_ARGS__)
#define SYS_RET(fn, err, ...)  SYS_RET_AS(#fn, err, fn, __VA_ARGS__)

/* ---- objects and their size */
#define sys_shm_open(...)        SYS(shm_open, -1, EMFILE, __VA_ARGS__)
#define sys_shm_unlink(...)      SYS(shm_unlink, -1, ENOMEM, __VA_ARGS__)
#define sys_memfd_create(...)    SYS(memfd_create, -1, EMFILE, __VA_ARGS__)
#define sys_open(...)            SYS(open, -1, EMFILE, __VA_ARGS__)
#define sys_ftruncate(...)       SYS(ftruncate, -1, ENOSPC, __VA_ARGS__)
#define sys_fallocate(...)       SYS(fallocate, -1, ENOSPC, __VA_ARGS__)
#define sys_posix_fallocate(...) SYS_RET(posix_fallocate, ENOSPC, __VA_ARGS__)
#define sys_fchmod(...)          SYS(fchmod, -1, ENOMEM, __VA_ARGS__)
#define sys_getentropy(...)      SYS(getentropy, -1, ENOMEM, __VA_ARGS__)
#define sys_mmap(...)            SYS(mmap, MAP_FAILED, ENOMEM, __VA_ARGS__)

/* ---- asking about a descriptor or a file */
#define sys_fcntl(...)    SYS(fcntl, -1, ENOMEM, __VA_ARGS__)
#define sys_fstat(...)    SYS(fstat, -1, ENOMEM, __VA_ARGS__)
#define sys_stat(...)     SYS(stat, -1, ENOMEM, __VA_ARGS__)
#define sys_lstat(...)    SYS(lstat, -1, ENOMEM, __VA_ARGS__)
#define sys_fstatfs(...)  SYS(fstatfs, -1, ENOMEM, __VA_ARGS__)
#define sys_fstatvfs(...) SYS(fstatvfs, -1, ENOMEM, __VA_ARGS__)
#define sys_sysinfo(...)  SYS(sysinfo, -1, ENOMEM, __VA_ARGS__)

/* ---- sockets and their files */
#define sys_socket(...)      SYS(socket, -1, EMFILE, __VA_ARGS__)
#define sys_socketpair(...)  SYS(socketpair, -1, EMFILE, __VA_ARGS__)
#define sys_bind(...)        SYS(bind, -1, ENOMEM, __VA_ARGS__)
#define sys_listen(...)      SYS(listen, -1, ENOMEM, __VA_ARGS__)
#define sys_accept(...)      SYS(accept, -1, EMFILE, __VA_ARGS__)
#define sys_accept4(...)     SYS(accept4, -1, EMFILE, __VA_ARGS__)
#define sys_connect(...)     SYS(connect, -1, ENOMEM, __VA_ARGS__)
#define sys_sendmsg(...)     SYS(sendmsg, -1, ENOMEM, __VA_ARGS__)
#define sys_recvmsg(...)     SYS(recvmsg, -1, ENOMEM, __VA_ARGS__)
#define sys_poll(...)        SYS(poll, -1, ENOMEM, __VA_ARGS__)
#define sys_getsockopt(...)  SYS(getsockopt, -1, ENOMEM, __VA_ARGS__)
#define sys_setsockopt(...)  SYS(setsockopt, -1, ENOMEM, __VA_ARGS__)
#define sys_getsockname(...) SYS(getsockname, -1, ENOMEM, __VA_ARGS__)
#define sys_getpeername(...) SYS(getpeername, -1, ENOMEM, __VA_ARGS__)
#define sys_getpeereid(...)  SYS(getpeereid, -1, ENOMEM, __VA_ARGS__)
#define sys_mkdir(...)       SYS(mkdir, -1, ENOSPC, __VA_ARGS__)
#define sys_chmod(...)       SYS(chmod, -1, ENOMEM, __VA_ARGS__)
#define sys_unlink(...)      SYS(unlink, -1, ENOMEM, __VA_ARGS__)
#define sys_flock(...)       SYS(flock, -1, ENOLCK, __VA_ARGS__)

/* ---- processes */
#define sys_posix_spawn(...)  SYS_RET(posix_spawn, EAGAIN, __VA_ARGS__)
#define sys_posix_spawnp(...) SYS_RET(posix_spawnp, EAGAIN, __VA_ARGS__)
#define sys_posix_spawn_file_actions_init(...)                                 \
  SYS_RET(posix_spawn_file_actions_init, ENOMEM, __VA_ARGS__)
#define sys_posix_spawn_file_actions_adddup2(...)                              \
  SYS_RET(posix_spawn_file_actions_adddup2, ENOMEM, __VA_ARGS__)
#define sys_posix_spawn_file_actions_addclose(...)                             \
  SYS_RET(posix_spawn_file_actions_addclose, ENOMEM, __VA_ARGS__)
#define sys_posix_spawn_file_actions_addclosefrom_np(...)                      \
  SYS_RET(posix_spawn_file_actions_addclosefrom_np, ENOMEM, __VA_ARGS__)
#define sys_posix_spawn_file_actions_addchdir_np(...)                          \
  SYS_RET(posix_spawn_file_actions_addchdir_np, ENOMEM, __VA_ARGS__)
#define sys_posix_spawnattr_init(...)                                          \
  SYS_RET(posix_spawnattr_init, ENOMEM, __VA_ARGS__)
#define sys_posix_spawnattr_setsigmask(...)                                    \
  SYS_RET(posix_spawnattr_setsigmask, ENOMEM, __VA_ARGS__)
#define sys_posix_spawnattr_setsigdefault(...)                                 \
  SYS_RET(posix_spawnattr_setsigdefault, ENOMEM, __VA_ARGS__)
#define sys_posix_spawnattr_setflags(...)                                      \
  SYS_RET(posix_spawnattr_setflags, ENOMEM, __VA_ARGS__)
#define sys_waitpid(...) SYS(waitpid, -1, ENOMEM, __VA_ARGS__)
#define sys_waitid(...)  SYS(waitid, -1, ENOMEM, __VA_ARGS__)
#define sys_kill(...)    SYS(kill, -1, EPERM, __VA_ARGS__)
/* Linux calls made through syscall(2), named for the call they make. */
#define sys_syscall(nr, ...) SYS_AS(#nr, -1, ENOMEM, syscall, nr, __VA_ARGS__)

#endif /* SHMKIT_POSIX_SYS_H */
