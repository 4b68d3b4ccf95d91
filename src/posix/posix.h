/* Private to the POSIX backend: errno translation, and Linux's extras in
 * three capabilities, each one file on Linux and one that stands in for it
 * elsewhere (and on Linux with SHMKIT_PORTABLE), so that a port can replace
 * one capability at a time:
 *   memory objects  linux-memfd.c   no-memfd.c
 *   processes       linux-pidfd.c   no-pidfd.c
 *   endpoints       linux-socket.c  no-abstract-socket.c
 *   shared waits    linux-futex.c   no-futex.c
 * A stand-in answers SHMKIT_ENOTSUP (or "none") where the caller has a
 * fallback. */
#ifndef SHMKIT_POSIX_H
#define SHMKIT_POSIX_H

#include <sys/socket.h>
#include <sys/types.h>

#include "shmkit.h"

/* errno to a SHMKIT_E... code. Every errno the backend can meet has a case;
 * the rest become SHMKIT_EIO. */
int shmkit__errno(int e);

/* ---- memory objects (linux-memfd.c, no-memfd.c) */

/* Creates a memfd: close-on-exec, sealing allowed, not executable, mode 0600.
 * SHMKIT_ENOTSUP if memfds do not exist, so the caller falls back. */
int shmkit__ext_memfd(int *fd);

/* Reserves `size` bytes and sets the size to it (fallocate), or
 * SHMKIT_ENOTSUP if the file system cannot, so the caller falls back. */
int shmkit__ext_reserve(int fd, uint64_t size);

/* The most memory an object on a file system without its own limit (the
 * memfd mount) can ever get: RAM plus swap. 0 if unknown. */
uint64_t shmkit__ext_memory_limit(void);

/* Opens the name `name` (no '/') in /dev/shm as shm_open() does (flags:
 * open(2)'s; close-on-exec), but never across a mount point: -1 with errno
 * EXDEV for a name something is mounted on, ENOSYS where this cannot be
 * asked (no openat2), and the caller then uses shm_open(). */
int shmkit__ext_open_name(const char *name, int flags);

/* Opens a new read-only descriptor of the object behind `fd`. */
int shmkit__ext_reopen_readonly(int fd, int *out);

/* 0 if `fd`, already known to be a regular file, is a shared memory object
 * that maps at any page (tmpfs; not hugetlbfs), SHMKIT_ENOTSHM if not,
 * SHMKIT_ENOTSUP if this system cannot tell. */
int shmkit__ext_check_type(int fd);

/* Tells, without asking the file's file system, whether `fd` can be shared
 * memory: 0 if it may be, with *write_sealed 1 if nobody can write it any
 * more (memfd seals), SHMKIT_ENOTSHM if it cannot, SHMKIT_ENOTSUP if this
 * system cannot tell that way. */
int shmkit__ext_quick_check(int fd, int *write_sealed);

/* Seals, as shmkit__os_seals in platform.h. */
int shmkit__ext_seals(int fd, unsigned add);

/* ---- processes (linux-pidfd.c, no-pidfd.c) */

/* A descriptor that becomes readable when process `pid` (our child, not yet
 * reaped) ends: a pidfd (Linux 5.3). SHMKIT_INVALID_HANDLE where there is
 * none; waiting then falls back to polling waitpid. */
shmkit_handle shmkit__ext_pidfd(pid_t pid);

/* Sleeps until the pidfd is readable or `timeout_ms` passed: 0, or
 * SHMKIT_ENOTSUP if `pidfd` is -1 or the system has none. */
int shmkit__ext_pidfd_wait(int pidfd, int timeout_ms);

/* Sends SIGKILL through a pidfd, immune to pid reuse: 0, or SHMKIT_ENOTSUP
 * without one. */
int shmkit__ext_pidfd_kill(int pidfd);

/* pidfd_getfd: a close-on-exec copy of descriptor `remote` of process pid. */
int shmkit__ext_pull(pid_t pid, int remote, int *out);

/* ---- endpoints (linux-socket.c, no-abstract-socket.c) */

/* Writes the abstract socket address of this user's endpoint `name` into
 * path (a leading NUL, no terminating one) and its length into *len.
 * SHMKIT_ENOTSUP where there is no abstract namespace: use a socket file. */
int shmkit__ext_abstract_addr(const char *name, char *path, size_t size,
                              socklen_t *len);

/* The peer of a connected Unix socket: its pid (-1 if unknown) and uid. */
int shmkit__ext_peer(int fd, int64_t *pid, int64_t *uid);

#endif /* SHMKIT_POSIX_H */
