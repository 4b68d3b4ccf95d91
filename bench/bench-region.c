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
 * Both sides run in the same process, in alternating batches ("rounds"), the
 * order flipping every round, so that noise from other work on the machine
 * falls on both. The table shows the median per-cycle time of each side and
 * their ratio, and beside it the median of the per-round ratios ("paired"),
 * each of which compares two batches run back to back. The target is judged
 * on the paired ratio: drift in the machine's speed between rounds (a busy
 * neighbour on a shared machine) moves both batches of a pair alike, but can
 * put the two medians in different regimes.
 * Nothing here is asserted: the exit status is 0 whatever the ratio, and 1 only
 * when a call fails. */
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

#define TARGET_RATIO 1.10

static const char *progname = "shmkit-bench-region";
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

static void shmkit_cycle(uint64_t size, unsigned flags) {
  shmkit_region *r;
  shmkit_view *v;
  int err;

  if ((err = shmkit_region_create(&r, size, flags)) != 0)
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

static void raw_cycle(uint64_t size, unsigned flags) {
  int fd = raw_object(size);
  void *p;

  raw_size(fd, size, flags);
  p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) die_errno("mmap", size, errno);
  touch(p, (size_t)size);
  if (munmap(p, (size_t)size) != 0) die_errno("munmap", size, errno);
  if (close(fd) != 0) die_errno("close", size, errno);
}

/* ---------------------------------------------------------------- timing */

typedef void (*cycle_fn)(uint64_t size, unsigned flags);

/* Nanoseconds per cycle over a batch of `iters` cycles. */
static double batch(cycle_fn fn, uint64_t size, unsigned flags, long iters) {
  double t0 = bench_now_ns();

  for (long i = 0; i < iters; i++) fn(size, flags);
  return (bench_now_ns() - t0) / (double)iters;
}

struct trial {
  uint64_t size;
  unsigned flags;
};

/* One calibration trial: both sides, n cycles each. */
static double trial(long n, void *ctx) {
  const struct trial *t = ctx;
  return (batch(shmkit_cycle, t->size, t->flags, n) +
          batch(raw_cycle, t->size, t->flags, n)) /
         2;
}

/* ---------------------------------------------------------------- main */

static void usage(FILE *f) {
  fprintf(f,
          "usage: %s [--quick] [--rounds N] [--round-ms MS]\n"
          "  --quick        5 rounds of ~20 ms per side and case (~3 s), "
          "for CI\n"
          "  --rounds N     rounds of each side per case (default 11)\n"
          "  --round-ms MS  target length of one round (default 100)\n",
          progname);
}

int main(int argc, char **argv) {
  static const uint64_t sizes[] = {4096, 1u << 20, 64u << 20};
  static const unsigned modes[] = {0, SHMKIT_SPARSE};
  int rounds = 11;
  long round_ms = 100;
  double *ours, *raw, *pair;
  double t_start = bench_now_ns();

  {
    bench_options o = {rounds, round_ms}, quick = {5, 20};
    int status = bench_parse_options(argc, argv, progname, usage, &o, quick);
    if (status >= 0) return status;
    rounds = o.rounds;
    round_ms = o.round_ms;
  }
  page_size = (size_t)sysconf(_SC_PAGESIZE);
#if !SHMKIT_BENCH_LINUX_EXT
  name_pid = (long)getpid();
#endif
  ours = malloc(sizeof(*ours) * (size_t)rounds);
  raw = malloc(sizeof(*raw) * (size_t)rounds);
  pair = malloc(sizeof(*pair) * (size_t)rounds);
  if (ours == NULL || raw == NULL || pair == NULL) {
    fprintf(stderr, "%s: out of memory\n", progname);
    return 1;
  }

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
  bench_print_method(rounds, round_ms);
  printf("%8s  %-8s  %6s  %13s  %11s  %6s  %6s  %s\n", "size", "mode", "iters",
         "shmkit ns/cyc", "raw ns/cyc", "ratio", "paired", "<= 1.10x");
  fflush(stdout);

  for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
    for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
      uint64_t size = sizes[s];
      unsigned flags = modes[m];
      struct trial t = {size, flags};
      long iters = bench_calibrate(trial, &t, (double)round_ms * 1e6);
      double med_ours, med_raw, ratio, paired;
      char buf[32];

      /* Alternate which side goes first, so that neither always runs right
       * after the other one's munmap and close. */
      for (int r = 0; r < rounds; r++) {
        if (r % 2 == 0) {
          ours[r] = batch(shmkit_cycle, size, flags, iters);
          raw[r] = batch(raw_cycle, size, flags, iters);
        } else {
          raw[r] = batch(raw_cycle, size, flags, iters);
          ours[r] = batch(shmkit_cycle, size, flags, iters);
        }
      }
      for (int r = 0; r < rounds; r++) pair[r] = ours[r] / raw[r];
      paired = bench_median(pair, rounds);
      med_ours = bench_median(ours, rounds);
      med_raw = bench_median(raw, rounds);
      ratio = med_ours / med_raw;
      printf("%8s  %-8s  %6ld  %13.0f  %11.0f  %6.3f  %6.3f  %s\n",
             size_text(size, buf, sizeof(buf)),
             flags & SHMKIT_SPARSE ? "sparse" : "reserved", iters, med_ours,
             med_raw, ratio, paired, paired <= TARGET_RATIO ? "yes" : "NO");
      fflush(stdout);
    }
  }
  printf("\ntotal %.1f s\n", (bench_now_ns() - t_start) / 1e9);
  free(ours);
  free(raw);
  free(pair);
  return 0;
}
