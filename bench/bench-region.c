/* Region benchmark: what one create + map + touch + unmap + close cycle costs
 * through shmkit, against the raw system calls doing the same work, for
 * regions of 4 KiB, 1 MiB and 64 MiB, reserved (the default) and sparse.
 *
 * The raw cycle makes the calls shmkit's backend makes for an anonymous
 * region, so that the ratio shows only what the library adds:
 *
 *   Linux, memfd (SHMKIT_BENCH_LINUX_EXT=1):
 *     memfd_create(CLOEXEC | ALLOW_SEALING | NOEXEC_SEAL; without NOEXEC_SEAL
 *     before Linux 6.3, as shmkit does), then fallocate(fd, 0, 0, size) when
 *     reserved or ftruncate when sparse, mmap(MAP_SHARED), munmap, close.
 *   Portable (SHMKIT_PORTABLE, other POSIX systems):
 *     shm_open(O_CREAT | O_EXCL, 0600) of a fresh name, shm_unlink,
 *     ftruncate, posix_fallocate when reserved, mmap, munmap, close.
 *
 * What shmkit does on top, and the raw cycle does not:
 *   - reserved, 16 MiB and more: a space check before reserving, fstatvfs(fd),
 *     and sysinfo() where the file system reports no size of its own (the
 *     memfd mount);
 *   - portable: an unguessable name from getentropy() (the raw cycle uses the
 *     pid, read once, and a counter);
 *   - one malloc and free per region and one per view, and argument checks.
 *
 * How the two sides are timed and judged, in paired rounds, and the JSON that
 * --json prints: bench/common.h. The exit status is 0 whatever the ratio, and
 * 1 only when a call fails. */
#define _GNU_SOURCE /* glibc: memfd_create, fallocate, MFD_* */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "shmkit.h"

#ifndef SHMKIT_BENCH_LINUX_EXT
/* Only bench/CMakeLists.txt knows which backend the library was built with. */
#  error "SHMKIT_BENCH_LINUX_EXT must be defined (0 or 1) by the build"
#endif

#if SHMKIT_BENCH_LINUX_EXT
#  ifndef MFD_NOEXEC_SEAL
#    define MFD_NOEXEC_SEAL 0x0008U /* Linux 6.3 */
#  endif
#endif

static const char progname[] = "shmkit-bench-region";
static size_t page_size;

/* ---------------------------------------------------------------- errors */

static const char *size_text(uint64_t size, char *buf, size_t len) {
  if (size >= (1u << 20) && size % (1u << 20) == 0)
    snprintf(buf, len, "%llu MiB", (unsigned long long)(size >> 20));
  else if (size >= 1024 && size % 1024 == 0)
    snprintf(buf, len, "%llu KiB", (unsigned long long)(size >> 10));
  else
    snprintf(buf, len, "%llu B", (unsigned long long)size);
  return buf;
}

static void die_shmkit(const char *call, uint64_t size, int err) {
  char buf[32];

  fprintf(stderr, "%s: %s (%s) failed: %s (%s)\n", progname, call,
          size_text(size, buf, sizeof(buf)), shmkit_strerror(err),
          shmkit_err_name(err));
  exit(1);
}

static void die_errno(const char *call, uint64_t size, int e) {
  char buf[32];

  fprintf(stderr, "%s: raw %s (%s) failed: %s\n", progname, call,
          size_text(size, buf, sizeof(buf)), strerror(e));
  exit(1);
}

/* ---------------------------------------------------------------- cycles */

/* One byte per page, through a volatile pointer so that no write is dropped:
 * each one faults in (and, when sparse, allocates) a page. */
static void touch(void *data, size_t size) {
  volatile unsigned char *p = data;

  for (size_t off = 0; off < size; off += page_size) p[off] = 1;
}

/* A case: the size and flags of its regions. */
struct region_case {
  uint64_t size;
  unsigned flags;
};

static void shmkit_cycle(void *ctx) {
  const struct region_case *c = ctx;
  uint64_t size = c->size;
  shmkit_region *r;
  shmkit_view *v;
  int err;

  if ((err = shmkit_region_create(&r, size, c->flags)) != 0)
    die_shmkit("shmkit_region_create", size, err);
  err = shmkit_view_map(&v, r, 0, (size_t)size, SHMKIT_READ_WRITE);
  if (err != 0) die_shmkit("shmkit_view_map", size, err);
  touch(shmkit_view_data(v), (size_t)size);
  shmkit_view_unmap(v);
  shmkit_region_close(r);
}

#if SHMKIT_BENCH_LINUX_EXT
/* As shmkit: set once the kernel rejects MFD_NOEXEC_SEAL (before 6.3). */
static int no_noexec_seal;

static int raw_object(uint64_t size) {
  const unsigned base = MFD_CLOEXEC | MFD_ALLOW_SEALING;
  int fd = -1;

  if (!no_noexec_seal) {
    fd = memfd_create("shmkit", base | MFD_NOEXEC_SEAL);
    if (fd < 0 && errno == EINVAL) no_noexec_seal = 1;
  }
  if (fd < 0 && no_noexec_seal) fd = memfd_create("shmkit", base);
  if (fd < 0) die_errno("memfd_create", size, errno);
  return fd;
}

static void raw_size(int fd, uint64_t size, unsigned flags) {
  int r;

  if (flags & SHMKIT_SPARSE) {
    if (ftruncate(fd, (off_t)size) != 0) die_errno("ftruncate", size, errno);
    return;
  }
  do r = fallocate(fd, 0, 0, (off_t)size);
  while (r != 0 && errno == EINTR);
  if (r != 0) die_errno("fallocate", size, errno);
}
#else
/* The pid is read once: glibc no longer caches it, and a getpid() system
 * call per cycle would be work shmkit does not do. */
static long name_pid;
static unsigned long name_counter;

static int raw_object(uint64_t size) {
  char name[64];
  int fd;

  snprintf(name, sizeof(name), "/shmkit-bench.%ld.%lu", name_pid,
           name_counter++);
  fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd < 0) die_errno("shm_open", size, errno);
  if (shm_unlink(name) != 0) die_errno("shm_unlink", size, errno);
  return fd;
}

static void raw_size(int fd, uint64_t size, unsigned flags) {
  if (ftruncate(fd, (off_t)size) != 0) die_errno("ftruncate", size, errno);
#  ifdef SHMKIT_BENCH_HAVE_POSIX_FALLOCATE
  if (!(flags & SHMKIT_SPARSE)) {
    int err = posix_fallocate(fd, 0, (off_t)size);
    /* As shmkit: a file system that cannot reserve stays sparse. */
    if (err != 0 && err != EINVAL && err != EOPNOTSUPP)
      die_errno("posix_fallocate", size, err);
  }
#  else
  (void)flags;
#  endif
}
#endif

static void raw_cycle(void *ctx) {
  const struct region_case *c = ctx;
  uint64_t size = c->size;
  int fd = raw_object(size);
  void *p;

  raw_size(fd, size, c->flags);
  p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) die_errno("mmap", size, errno);
  touch(p, (size_t)size);
  if (munmap(p, (size_t)size) != 0) die_errno("munmap", size, errno);
  if (close(fd) != 0) die_errno("close", size, errno);
}

/* ---------------------------------------------------------------- main */

/* What the two sides do on this system; the rest of the header is
 * bench/common.c's. */
static void print_header(void) {
  printf("shmkit region cycle: create + map + touch every page + unmap + "
         "close\n");
#if SHMKIT_BENCH_LINUX_EXT
  printf("backend: Linux memfd (SHMKIT_PORTABLE off); both sides use "
         "MFD_CLOEXEC |\n"
         "         MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL (the last dropped "
         "before Linux 6.3)\n"
         "raw, reserved: memfd_create + fallocate + mmap + touch + munmap + "
         "close\n"
         "raw, sparse:   memfd_create + ftruncate + mmap + touch + munmap + "
         "close\n"
         "shmkit also:   reserved, >= 16 MiB: fstatvfs + sysinfo space "
         "check;\n"
         "               malloc + free per region and per view\n");
#else
  printf("backend: portable POSIX shm_open (SHMKIT_PORTABLE or not Linux)\n"
         "raw, reserved: shm_open + shm_unlink + ftruncate + posix_fallocate "
         "+ mmap\n"
         "               + touch + munmap + close\n"
         "raw, sparse:   shm_open + shm_unlink + ftruncate + mmap + touch + "
         "munmap + close\n"
         "shmkit also:   getentropy for an unguessable name (raw: pid + "
         "counter);\n"
         "               reserved, >= 16 MiB: fstatvfs space check; malloc "
         "+ free per\n"
         "               region and per view\n");
#endif
  printf("page %zu B; ", page_size);
}

int main(int argc, char **argv) {
  static const uint64_t sizes[] = {4096, 1u << 20, 64u << 20};
  static const unsigned modes[] = {0, SHMKIT_SPARSE};
  static const bench_spec spec = {
      .name = "region",
      .progname = progname,
      .header = print_header,
      /* The case column is two, as "%8s  %-8s": the size and the mode. */
      .columns = {{"    size  mode    ", 18},
                  {"shmkit ns/cyc", 13},
                  {"raw ns/cyc", 11}},
      .defaults = {11, 100},
      .quick = {5, 20},
  };
  bench b;

  bench_start(&b, &spec, argc, argv);
  page_size = (size_t)sysconf(_SC_PAGESIZE);
#if !SHMKIT_BENCH_LINUX_EXT
  name_pid = (long)getpid();
#endif
  bench_begin(&b);
  for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
    for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
      struct region_case rc = {sizes[s], modes[m]};
      const char *mode = modes[m] & SHMKIT_SPARSE ? "sparse" : "reserved";
      char size_buf[32], name[48], label[48];
      bench_case c = {name, label, shmkit_cycle, raw_cycle, &rc, 0};

      size_text(rc.size, size_buf, sizeof(size_buf));
      snprintf(name, sizeof(name), "%s, %s", size_buf, mode);
      snprintf(label, sizeof(label), "%8s  %-8s", size_buf, mode);
      bench_run(&b, &c);
    }
  }
  return bench_finish(&b);
}
