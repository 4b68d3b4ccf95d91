/* Linux memory objects: memfd, fallocate, seals, reopening through /proc,
 * and telling tmpfs from other file systems. no-memfd.c stands in for this
 * file where there are none (region.c then uses POSIX shm objects). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "posix.h"
#include "sys.h"

#ifndef MFD_NOEXEC_SEAL
#  define MFD_NOEXEC_SEAL 0x0008U /* Linux 6.3 */
#endif
#ifndef F_SEAL_FUTURE_WRITE
#  define F_SEAL_FUTURE_WRITE 0x0010 /* Linux 5.1 */
#endif
#define TMPFS_MAGIC_ 0x01021994

/* Set once a kernel rejects MFD_NOEXEC_SEAL (before Linux 6.3), so that only
 * the first creation pays for the retry. Relaxed: a stale 0 costs a retry. */
static _Atomic int no_noexec_seal;

int shmkit__ext_memfd(int *out) {
  const unsigned base = MFD_CLOEXEC | MFD_ALLOW_SEALING;
  int fd = -1;

  if (!no_noexec_seal) {
    fd = sys_memfd_create("shmkit", base | MFD_NOEXEC_SEAL);
    if (fd < 0 && errno == EINVAL) no_noexec_seal = 1;
  }
  if (fd < 0 && (errno == EINVAL || no_noexec_seal))
    fd = sys_memfd_create("shmkit", base);
  if (fd < 0) return errno == ENOSYS ? SHMKIT_ENOTSUP : shmkit__errno(errno);
  /* Its mode is 0777 (0666 with MFD_NOEXEC_SEAL) until a read-only copy is
   * made: only a holder of a descriptor can reach it, and what that holder
   * may do is the descriptor's business, not the mode's. */
  *out = fd;
  return 0;
}

int shmkit__ext_reserve(int fd, uint64_t size) {
  int r;

  /* Mode 0 also sets the size. tmpfs gives up on a pending signal (EINTR)
   * and undoes what it reserved, so try again. */
  do r = sys_fallocate(fd, 0, 0, (off_t)size);
  while (r != 0 && errno == EINTR);
  if (r == 0) return 0;
  if (errno == EOPNOTSUPP || errno == ENOSYS) return SHMKIT_ENOTSUP;
  return errno == EFBIG || errno == EINVAL ? SHMKIT_E2BIG
                                           : shmkit__errno(errno);
}

uint64_t shmkit__ext_memory_limit(void) {
  struct sysinfo si;

  if (sys_sysinfo(&si) != 0) return 0;
  return ((uint64_t)si.totalram + si.totalswap) * si.mem_unit;
}

/* A user may mount a file system of its own on a file or directory of its
 * own in /dev/shm (FUSE, with fusermount), whose server can then hold an
 * open() of that name for ever: RESOLVE_NO_XDEV refuses the mount point
 * before its file system is asked anything. Whether openat2 works is asked
 * once, of "/", where nothing but its absence can fail it (before Linux
 * 5.6: ENOSYS; a sandbox that does not know it: ENOSYS or EPERM; E2BIG):
 * 1 it does, -1 it does not, 0 not asked yet. */
#ifdef SYS_openat2
static _Atomic int openat2_works;

static int openat2_probe(void) {
  struct open_how how;
  int fd;

  memset(&how, 0, sizeof(how));
  how.flags = O_PATH | O_CLOEXEC;
  fd = (int)syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof(how));
  if (fd >= 0) close(fd);
  return fd >= 0 ? 1 : -1;
}
#endif

int shmkit__ext_open_name(const char *name, int flags) {
#ifdef SYS_openat2
  struct open_how how;
  int works = openat2_works, dir, fd, e;

  if (works == 0) openat2_works = works = openat2_probe();
  if (works < 0) {
    errno = ENOSYS;
    return -1;
  }
  if ((dir = sys_open("/dev/shm", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
    return -1;
  memset(&how, 0, sizeof(how));
  /* As shm_open: O_LARGEFILE, which openat2 adds only on 64-bit systems. */
  how.flags = (uint64_t)(flags | O_CLOEXEC | O_LARGEFILE);
  how.resolve = RESOLVE_NO_XDEV | RESOLVE_NO_SYMLINKS;
  fd = (int)sys_syscall(SYS_openat2, dir, name, &how, sizeof(how));
  e = errno;
  close(dir);
  errno = e;
  return fd;
#else
  (void)name, (void)flags;
  errno = ENOSYS;
  return -1;
#endif
}

int shmkit__ext_reopen_readonly(int fd, int *out) {
  struct stat st;
  char path[40];
  int ro;

  /* The mode is what stops a process of another user that holds the
   * read-only descriptor from reopening it writable through /proc: make it
   * owner-only first. Only the owner (or root) can; for anybody else the
   * copy would leave other users able to reopen the object writable, so it
   * is refused rather than made quietly (EPERM from fchmod). */
  if (sys_fstat(fd, &st) != 0) return shmkit__errno(errno);
  if ((st.st_mode & 077) != 0 && sys_fchmod(fd, st.st_mode & 0700) != 0)
    return shmkit__errno(errno);

  snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
  ro = sys_open(path, O_RDONLY | O_CLOEXEC);
  if (ro < 0) return errno == ENOENT ? SHMKIT_ENOTSUP : shmkit__errno(errno);
  *out = ro;
  return 0;
}

int shmkit__ext_quick_check(int fd, int *write_sealed) {
  /* F_GET_SEALS is answered by the kernel for tmpfs and hugetlbfs files
   * alone (memfd_fcntl), and refused with EINVAL for everything else. It
   * cannot tell the two apart: shmkit__ext_check_type refuses hugetlbfs. */
  int seals = sys_fcntl(fd, F_GET_SEALS);

  if (seals < 0) return errno == EINVAL ? SHMKIT_ENOTSHM : shmkit__errno(errno);
  *write_sealed = (seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) != 0;
  return 0;
}

int shmkit__ext_check_type(int fd) {
  struct statfs st;

  if (sys_fstatfs(fd, &st) != 0) return shmkit__errno(errno);
  /* Not hugetlbfs: its files map only at huge page offsets (2 MiB or more),
   * and a view must be possible at any offset of the page size. */
  return (unsigned long)st.f_type == TMPFS_MAGIC_ ? 0 : SHMKIT_ENOTSHM;
}

/* shmkit's seal bits and the kernel's, in the same order. */
static const struct {
  unsigned ours;
  int linux;
} seal_bits[] = {
    {SHMKIT_SEAL_SHRINK, F_SEAL_SHRINK},
    {SHMKIT_SEAL_GROW, F_SEAL_GROW},
    {SHMKIT_SEAL_WRITE, F_SEAL_WRITE},
    {SHMKIT_SEAL_FUTURE_WRITE, F_SEAL_FUTURE_WRITE},
    {SHMKIT_SEAL_SEAL, F_SEAL_SEAL},
};
#define SEAL_COUNT (sizeof(seal_bits) / sizeof(seal_bits[0]))

int shmkit__ext_seals(int fd, unsigned add) {
  int bits = 0, got, seals = 0;

  for (size_t i = 0; i < SEAL_COUNT; i++)
    if (add & seal_bits[i].ours) bits |= seal_bits[i].linux;
  if ((bits == 0 || sys_fcntl(fd, F_ADD_SEALS, bits) == 0) &&
      (got = sys_fcntl(fd, F_GET_SEALS)) >= 0) {
    for (size_t i = 0; i < SEAL_COUNT; i++)
      if (got & seal_bits[i].linux) seals |= (int)seal_bits[i].ours;
    return seals;
  }
  /* EINVAL: not a tmpfs file, or a seal this kernel does not know. */
  return errno == EINVAL ? SHMKIT_ENOTSUP : shmkit__errno(errno);
}
