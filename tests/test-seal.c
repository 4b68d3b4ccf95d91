/* Seals: what a receiver can check so that the sender cannot shrink the
 * memory under it or keep writing to it. Linux memfds only; every other case
 * must say so (SHMKIT_ENOTSUP), never pretend. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "task.h"

/* A new region, named if `named`, reports `seals` (or the error, negative),
 * and a new seal fails with `refused`. */
static void new_region_seals(int named, int seals, int refused) {
  shmkit_region *r;
  unsigned got;
  char name[32];

  if (named)
    ASSERT_OK(shmkit_region_create_named(&r, test_name(name, "seal"), 4096, 0));
  else
    ASSERT_OK(shmkit_region_create(&r, 4096, 0));
  if (seals < 0)
    ASSERT_ERR(shmkit_region_seals(r, &got), seals);
  else
    ASSERT_EQ(seals_of(r), seals);
  ASSERT_ERR(shmkit_region_seal(r, SHMKIT_SEAL_GROW), refused);
  if (named) ASSERT_OK(shmkit_region_remove(name));
  shmkit_region_close(r);
}

/* In portable builds every seal call is refused, for every kind of region. */
static int portable_refuses(void) {
  new_region_seals(0, SHMKIT_ENOTSUP, SHMKIT_ENOTSUP);
  new_region_seals(1, SHMKIT_ENOTSUP, SHMKIT_ENOTSUP);
  return 0;
}

TEST_IMPL(seal_size) {
  shmkit_region *r;
  int fd;

  if (!test_linux_ext()) return portable_refuses();
  ASSERT_OK(shmkit_region_create(&r, 8192, 0));
  fd = (int)shmkit_region_handle(r);
  ASSERT_EQ(seals_of(r), 0);
  ASSERT_ERR(shmkit_region_seal(r, 0), SHMKIT_EINVAL);
  ASSERT_ERR(shmkit_region_seal(r, 0x100), SHMKIT_EINVAL);
  ASSERT_OK(shmkit_region_seal(r, SHMKIT_SEAL_SHRINK));
  ASSERT_EQ(seals_of(r), SHMKIT_SEAL_SHRINK);
  ASSERT_EQ(ftruncate(fd, 4096), -1);
  ASSERT_EQ(errno, EPERM);
  ASSERT_EQ(ftruncate(fd, 16384), 0); /* growing is still allowed */
  ASSERT_OK(shmkit_region_seal(r, SHMKIT_SEAL_GROW | SHMKIT_SEAL_SEAL));
  ASSERT_EQ(seals_of(r),
            SHMKIT_SEAL_SHRINK | SHMKIT_SEAL_GROW | SHMKIT_SEAL_SEAL);
  ASSERT_EQ(ftruncate(fd, 32768), -1);
  ASSERT_EQ(errno, EPERM);
  ASSERT_ERR(shmkit_region_seal(r, SHMKIT_SEAL_WRITE), SHMKIT_EPERM);
  shmkit_region_close(r);

  /* Linux tmpfs objects other than memfds (named regions) are born with
   * F_SEAL_SEAL: they report it, and refuse new seals. */
  new_region_seals(1, SHMKIT_SEAL_SEAL, SHMKIT_EPERM);
  return 0;
}

/* A receiver's size was read when the region came; a sender that shrinks
 * the memory and then seals it must not leave that size standing, or the
 * receiver, having checked the seal, maps past the end (SIGBUS). */
TEST_IMPL(seal_size_read_again) {
  shmkit_region *mine, *theirs;
  shmkit_view *v;
  unsigned char *p;
  int fd;

  if (!test_linux_ext()) return portable_refuses();
  ASSERT_OK(shmkit_region_create(&mine, 65536, 0));
  fd = (int)shmkit_region_handle(mine);
  ASSERT_OK(shmkit_region_adopt(&theirs, dup(fd), SHMKIT_READ_WRITE));
  ASSERT_EQ(shmkit_region_size(theirs), 65536);
  /* Unsealed, the size is not read again: it can change at any time. */
  ASSERT_EQ(seals_of(theirs), 0);
  ASSERT_EQ(ftruncate(fd, 4096), 0);
  ASSERT_OK(shmkit_region_seal(mine, SHMKIT_SEAL_SHRINK));
  ASSERT_EQ(seals_of(theirs), SHMKIT_SEAL_SHRINK);
  ASSERT_EQ(shmkit_region_size(theirs), 4096);
  /* The whole region is what is there: its last byte can be touched. */
  ASSERT_OK(shmkit_view_map(&v, theirs, 0, 0, SHMKIT_READ_WRITE));
  p = shmkit_view_data(v);
  p[4095] = 1;
  ASSERT_EQ(shmkit_view_size(v), 4096);
  shmkit_view_unmap(v);
  shmkit_region_close(theirs);
  shmkit_region_close(mine);
  return 0;
}

TEST_IMPL(seal_write) {
  shmkit_region *r;
  shmkit_view *rw, *ro;

  if (!test_linux_ext()) return portable_refuses();
  ASSERT_OK(shmkit_region_create(&r, 4096, 0));
  ASSERT_OK(shmkit_view_map(&rw, r, 0, 4096, SHMKIT_READ_WRITE));
  strcpy(shmkit_view_data(rw), "final");
  /* A writable view exists: the promise "nobody writes" cannot be made. */
  ASSERT_ERR(shmkit_region_seal(r, SHMKIT_SEAL_WRITE), SHMKIT_EBUSY);
  ASSERT_EQ(seals_of(r), 0);
  shmkit_view_unmap(rw);
  ASSERT_OK(shmkit_region_seal(r, SHMKIT_SEAL_WRITE));
  ASSERT_ERR(shmkit_view_map(&rw, r, 0, 4096, SHMKIT_READ_WRITE), SHMKIT_EPERM);
  ASSERT_EQ(write((int)shmkit_region_handle(r), "x", 1), -1);
  ASSERT_EQ(errno, EPERM);
  ASSERT_OK(shmkit_view_map(&ro, r, 0, 4096, SHMKIT_READ_ONLY));
  ASSERT_STR_EQ((char *)shmkit_view_data(ro), "final");
  shmkit_view_unmap(ro);
  shmkit_region_close(r);
  return 0;
}

TEST_IMPL(seal_future_write) {
  shmkit_region *r;
  shmkit_view *rw, *v;
  char path[64];
  int fd;

  if (!test_linux_ext()) return portable_refuses();
  ASSERT_OK(shmkit_region_create(&r, 4096, 0));
  ASSERT_OK(shmkit_view_map(&rw, r, 0, 4096, SHMKIT_READ_WRITE));
  ASSERT_OK(shmkit_region_seal(r, SHMKIT_SEAL_FUTURE_WRITE));
  ASSERT_EQ(seals_of(r), SHMKIT_SEAL_FUTURE_WRITE);
  strcpy(shmkit_view_data(rw), "existing views still write");
  ASSERT_ERR(shmkit_view_map(&v, r, 0, 4096, SHMKIT_READ_WRITE), SHMKIT_EPERM);
  /* The seal holds even for a process that reopens the object writable
   * through /proc, which a read-only descriptor alone does not prevent. */
  snprintf(path, sizeof(path), "/proc/self/fd/%d",
           (int)shmkit_region_handle(r));
  fd = open(path, O_RDWR | O_CLOEXEC);
  ASSERT(fd >= 0);
  ASSERT(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) ==
         MAP_FAILED);
  ASSERT_EQ(errno, EPERM);
  close(fd);
  ASSERT_OK(shmkit_view_map(&v, r, 0, 4096, SHMKIT_READ_ONLY));
  ASSERT_STR_EQ((char *)shmkit_view_data(v), "existing views still write");
  shmkit_view_unmap(v);
  shmkit_view_unmap(rw);
  shmkit_region_close(r);
  return 0;
}

/* A read-only holder sees the seals but cannot add any. */
TEST_IMPL(seal_readonly_holder) {
  shmkit_region *r, *ro;

  if (!test_linux_ext()) return portable_refuses();
  ASSERT_OK(shmkit_region_create(&r, 4096, 0));
  ASSERT_OK(shmkit_region_seal(r, SHMKIT_SEAL_SHRINK | SHMKIT_SEAL_GROW));
  ASSERT_OK(shmkit_region_dup_readonly(&ro, r));
  ASSERT_EQ(seals_of(ro), SHMKIT_SEAL_SHRINK | SHMKIT_SEAL_GROW);
  ASSERT_ERR(shmkit_region_seal(ro, SHMKIT_SEAL_SEAL), SHMKIT_EACCES);
  /* Not only shmkit's check: the kernel refuses the descriptor too. */
  ASSERT_EQ(fcntl((int)shmkit_region_handle(ro), F_ADD_SEALS, F_SEAL_SEAL), -1);
  ASSERT_EQ(errno, EPERM);
  ASSERT_EQ(seals_of(r), SHMKIT_SEAL_SHRINK | SHMKIT_SEAL_GROW);
  shmkit_region_close(ro);
  shmkit_region_close(r);
  return 0;
}

/* A region sealed against writes cannot be mapped writable by anybody: a
 * token or an adopter that claims "rw" for it is refused at once, rather
 * than at its first writable view; reading is still fine. The token this
 * process makes for it claims reading only. */
TEST_IMPL(seal_refuses_rw_claim) {
  static const unsigned kinds[] = {SHMKIT_SEAL_WRITE, SHMKIT_SEAL_FUTURE_WRITE,
                                   SHMKIT_SEAL_SHRINK | SHMKIT_SEAL_GROW};
  char token[SHMKIT_TOKEN_MAX];
  shmkit_region *r, *x = (shmkit_region *)&x;
  int fd, n;

  if (!test_linux_ext()) {
    printf("skipped: the portable path has no seals\n");
    return TEST_SKIP;
  }
  for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
    int no_write = (kinds[i] & SHMKIT_SEAL_GROW) == 0;

    ASSERT_OK(shmkit_region_create(&r, 4096, 0));
    ASSERT_OK(shmkit_region_seal(r, kinds[i]));
    fd = (int)test_dup_handle(shmkit_region_handle(r));
    n = test_open_handles();
    snprintf(token, sizeof(token), "shmkit1:%d:4096:rw", fd);
    if (no_write) {
      ASSERT_ERR(shmkit_region_from_token(&x, token), SHMKIT_EPERM);
      ASSERT_NULL(x);
      ASSERT_ERR(shmkit_region_adopt(&x, fd, SHMKIT_READ_WRITE), SHMKIT_EPERM);
      ASSERT_NULL(x);
      ASSERT_EQ(test_open_handles(), n); /* fd is still ours */
      snprintf(token, sizeof(token), "shmkit1:%d:4096:r", fd);
    }
    ASSERT_OK(shmkit_region_from_token(&x, token));
    ASSERT_EQ(shmkit_region_access(x),
              no_write ? SHMKIT_READ_ONLY : SHMKIT_READ_WRITE);
    shmkit_region_close(x); /* and fd with it */

    ASSERT_OK(shmkit_region_token(r, token, sizeof(token)));
    ASSERT_STR_EQ(strrchr(token, ':'), no_write ? ":r" : ":rw");
    ASSERT_EQ(shmkit_region_access(r), SHMKIT_READ_WRITE); /* unchanged */
    shmkit_region_close(r);
  }
  return 0;
}
