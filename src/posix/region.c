/* POSIX regions and views: shm_open, ftruncate, mmap. Linux's memfd, seals
 * and /proc reopening come from linux-memfd.c through posix.h, with a fallback
 * here for each when they are missing. */
#define _GNU_SOURCE /* glibc: O_PATH; other systems ignore it */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "../internal.h"
#include "../platform.h"
#include "posix.h"
#include "sys.h"

/* "/" + name + NUL: the shm_open spelling of a checked name. */
typedef struct {
  char s[SHMKIT__NAME_MAX + 2];
} posix_name;

static const char *decorate(posix_name *p, const char *name) {
  snprintf(p->s, sizeof(p->s), "/%s", name);
  return p->s;
}

static int fail(void) {
  return shmkit__errno(errno);
}

static int close_fail(int fd) {
  int err = fail();
  close(fd);
  return err;
}

/* Below this size a reservation is left to the kernel alone (see
 * space_check); the two system calls of the check would cost small regions
 * more than a tenth of their creation time. */
#define SPACE_CHECK_MIN ((uint64_t)16 << 20)

/* Refuses a reservation that cannot succeed before asking the kernel for it:
 * tmpfs hands out pages one by one until it is full, so a request beyond the
 * free space would first take all of it (and, on the memfd mount, which has
 * no limit of its own, call the OOM killer) before failing. A small request
 * that does not fit costs little on its way to failing, so it is not
 * checked. */
static int space_check(int fd, uint64_t size) {
  struct statvfs st;
  uint64_t limit;

  if (size < SPACE_CHECK_MIN) return 0;
  if (sys_fstatvfs(fd, &st) != 0) return 0; /* unknown: let the kernel decide */
  if (st.f_blocks != 0 && st.f_frsize != 0) {
    uint64_t blocks = (size + st.f_frsize - 1) / st.f_frsize;
    return blocks > (uint64_t)st.f_bavail ? SHMKIT_ENOSPC : 0;
  }
  limit = shmkit__ext_memory_limit();
  return (limit != 0 && size > limit) ? SHMKIT_ENOMEM : 0;
}

/* Gives a new, empty object its size, reserving the memory unless sparse. */
static int size_object(int fd, uint64_t size, unsigned flags) {
  int err;

  if (!(flags & SHMKIT_SPARSE)) {
    if ((err = space_check(fd, size)) != 0) return err;
    err = shmkit__ext_reserve(fd, size);
    if (err != SHMKIT_ENOTSUP) return err;
  }
  if (sys_ftruncate(fd, (off_t)size) != 0)
    return errno == EINVAL ? SHMKIT_E2BIG : fail();
#ifdef SHMKIT_HAVE_POSIX_FALLOCATE
  if (!(flags & SHMKIT_SPARSE)) {
    err = sys_posix_fallocate(fd, 0, (off_t)size);
    /* EINVAL, EOPNOTSUPP: the file system cannot reserve; stay sparse. */
    if (err != 0 && err != EINVAL && err != EOPNOTSUPP)
      return shmkit__errno(err);
  }
#endif
  return 0;
}

/* An anonymous object where there is no memfd: a named one with a name
 * nobody can guess, removed before anybody could open it. */
static int create_unlinked(int *out) {
  static const char hex[] = "0123456789abcdef";
  unsigned char rnd[8];
  char name[] = "/shmkit.0123456789abcdef"; /* the digits are replaced */
  int attempt, fd;

  for (attempt = 0; attempt < 16; attempt++) {
    if (sys_getentropy(rnd, sizeof(rnd)) != 0) return fail();
    for (size_t k = 0; k < sizeof(rnd); k++) {
      name[8 + 2 * k] = hex[rnd[k] >> 4];
      name[9 + 2 * k] = hex[rnd[k] & 15];
    }
    /* POSIX sets FD_CLOEXEC on every descriptor shm_open returns. */
    fd = sys_shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd >= 0) {
      shm_unlink(name);
      *out = fd;
      return 0;
    }
    if (errno != EEXIST) return fail();
  }
  return SHMKIT_EEXIST;
}

int shmkit__os_create(uint64_t size, unsigned flags, shmkit_handle *out) {
  int err, fd;

  err = shmkit__ext_memfd(&fd);
  if (err == SHMKIT_ENOTSUP) err = create_unlinked(&fd);
  if (err != 0) return err;
  if ((err = size_object(fd, size, flags)) != 0) {
    close(fd);
    return err;
  }
  *out = fd;
  return 0;
}

int shmkit__os_create_named(const char *name, uint64_t size, unsigned flags,
                            shmkit_handle *out) {
  posix_name p;
  int err, fd;

  fd = sys_shm_open(decorate(&p, name), O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return fail();
  /* The umask applies to shm_open's mode too: 0277 would leave 0400, and
   * the creator could not open its own region for writing again. */
  if (sys_fchmod(fd, 0600) != 0)
    err = fail();
  else
    err = size_object(fd, size, flags);
  if (err != 0) {
    shm_unlink(p.s);
    close(fd);
    return err;
  }
  *out = fd;
  return 0;
}

/* Linux's shm_open (glibc, musl) is open(2) of a file in /dev/shm, where
 * anybody may put a FIFO, a socket or a symbolic link, and it passes these
 * flags through: O_NONBLOCK so that a FIFO cannot keep the open waiting for
 * a writer (on a regular file it changes nothing), O_NOFOLLOW for links.
 * Elsewhere shm objects are no files, and FreeBSD's shm_open refuses flags
 * it does not know. */
#ifdef __linux__
#  define NAME_FLAGS (O_NONBLOCK | O_NOFOLLOW)
#else
#  define NAME_FLAGS 0
#endif

/* Opens a name that anybody could have made, without blocking. A symbolic
 * link (ELOOP), a socket (ENXIO) or a mount point (EXDEV, Linux) at the
 * name is no shared memory. */
static int open_name(const posix_name *p, int flags) {
  int fd = shmkit__ext_open_name(p->s + 1, flags | NAME_FLAGS);

  if (fd < 0 && errno == ENOSYS) fd = sys_shm_open(p->s, flags | NAME_FLAGS, 0);
  if (fd < 0 && (errno == ELOOP || errno == ENXIO || errno == EXDEV))
    return SHMKIT_ENOTSHM;
  return fd < 0 ? fail() : fd;
}

/* A name is in a directory every user may write to: another user can make
 * it first, and whoever owns an object can read, write and shrink it under
 * our views. Only an object of this user that nobody else may open is ours;
 * root is no exception, since any user may have made the object. */
static int owned_check(int fd) {
  struct stat st;

  if (sys_fstat(fd, &st) != 0) return fail();
  if (st.st_uid != geteuid() || (st.st_mode & 077) != 0) return SHMKIT_EACCES;
  return 0;
}

int shmkit__os_open_named(const char *name, int access, unsigned scope,
                          shmkit_handle *out, uint64_t *size) {
  posix_name p;
  int err, fd;

  (void)scope; /* one namespace */
  decorate(&p, name);
  fd = open_name(&p, access == SHMKIT_READ_WRITE ? O_RDWR : O_RDONLY);
  if (fd < 0) return fd;
  if ((err = owned_check(fd)) != 0 ||
      (err = shmkit__os_check(fd, access, size)) != 0) {
    close(fd);
    return err;
  }
  /* Created but not sized yet (shm_open and ftruncate are two steps): no
   * shmkit region is ever empty, so this one is not ready. */
  if (*size == 0) {
    close(fd);
    return SHMKIT_EAGAIN;
  }
  *out = fd;
  return 0;
}

int shmkit__os_remove_named(const char *name) {
  posix_name p;
  return sys_shm_unlink(decorate(&p, name)) == 0 ? 0 : fail();
}

int shmkit__os_check(shmkit_handle h, int access, uint64_t *size) {
  struct stat st;
  int fd = (int)h, fl, err, write_sealed = 0;

  if (h < 0 || h != (shmkit_handle)fd) return SHMKIT_EBADF;
  if ((fl = sys_fcntl(fd, F_GETFL)) < 0) return fail();
#ifdef O_PATH
  /* Linux: an O_PATH descriptor names a file but can neither read nor map. */
  if (fl & O_PATH) return SHMKIT_EBADF;
#endif
  /* Before anything that asks the file's file system: a peer can hand us a
   * file of a FUSE file system it serves, whose fstat never returns. */
  err = shmkit__ext_quick_check(fd, &write_sealed);
  if (err != 0 && err != SHMKIT_ENOTSUP) return err;
  if (sys_fstat(fd, &st) != 0) return fail();
  if (!S_ISREG(st.st_mode)) return SHMKIT_ENOTSHM;
  err = shmkit__ext_check_type(fd);
  if (err != 0 && err != SHMKIT_ENOTSUP) return err;
  switch (fl & O_ACCMODE) {
  case O_RDWR:
    break;
  case O_RDONLY:
    if (access == SHMKIT_READ_WRITE) return SHMKIT_EACCES;
    break;
  default: /* O_WRONLY: mmap needs read access */
    return SHMKIT_EACCES;
  }
  /* Nobody can map an object sealed against writes writable, whatever the
   * descriptor allows: a claim of write access is refused now rather than
   * at the first writable view. The seals came with the quick check. */
  if (access == SHMKIT_READ_WRITE && write_sealed) return SHMKIT_EPERM;
  *size = (uint64_t)st.st_size;
  return 0;
}

int shmkit__os_set_private(shmkit_handle h) {
  int fd = (int)h, fl;

  if ((fl = sys_fcntl(fd, F_GETFD)) < 0) return fail();
  if (!(fl & FD_CLOEXEC) && sys_fcntl(fd, F_SETFD, fl | FD_CLOEXEC) != 0)
    return fail();
  return 0;
}

/* Opens the name read-only and checks that it is still the object we have:
 * the name may have been removed and made again for another object. */
static int reopen_by_name(int fd, const char *name, int *out) {
  struct stat a, b;
  posix_name p;
  int ro;

  if (name == NULL) return SHMKIT_ENOTSUP;
  if (sys_fstat(fd, &a) != 0) return fail();
  decorate(&p, name);
  if ((ro = open_name(&p, O_RDONLY)) < 0) return ro;
  if (sys_fstat(ro, &b) != 0) return close_fail(ro);
  if (a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
    close(ro);
    return SHMKIT_ENOENT;
  }
  *out = ro;
  return 0;
}

int shmkit__os_dup_readonly(shmkit_handle h, const char *name,
                            shmkit_handle *out) {
  int err, fd;

  err = shmkit__ext_reopen_readonly((int)h, &fd);
  if (err == SHMKIT_ENOTSUP) err = reopen_by_name((int)h, name, &fd);
  if (err != 0) return err;
  *out = fd;
  return 0;
}

void shmkit__os_close(shmkit_handle h) {
  /* POSIX leaves the descriptor's state unspecified after EINTR; Linux has
   * always closed it, so retrying would close someone else's descriptor. */
  close((int)h);
}

int shmkit__os_seals(shmkit_handle h, unsigned add) {
  return shmkit__ext_seals((int)h, add);
}

size_t shmkit__os_granularity(void) {
  return (size_t)sysconf(_SC_PAGESIZE); /* glibc: a load, no system call */
}

int shmkit__os_map(shmkit_handle h, uint64_t offset, size_t length, int access,
                   void **base) {
  int prot = access == SHMKIT_READ_WRITE ? PROT_READ | PROT_WRITE : PROT_READ;
  void *p = sys_mmap(NULL, length, prot, MAP_SHARED, (int)h, (off_t)offset);

  if (p == MAP_FAILED) return fail();
  *base = p;
  return 0;
}

void shmkit__os_unmap(void *base, size_t length) {
  munmap(base, length);
}
