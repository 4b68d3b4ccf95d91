/* Read-only copies of a region handle: they cannot be mapped writable, here
 * or in another process. */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "task.h"

/* What a process holding only `fd` can and cannot do, at the system level. */
static void check_readonly_fd(int fd, size_t size, const char *expect) {
  void *p;

  ASSERT(mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) ==
         MAP_FAILED);
  ASSERT_EQ(errno, EACCES);
  ASSERT_NE(ftruncate(fd, 0), 0);
  ASSERT_NE(write(fd, "x", 1), 1);
  p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
  ASSERT(p != MAP_FAILED);
  ASSERT_STR_EQ((char *)p, expect);
  /* A read-only mapping of a read-only descriptor can never gain write. */
  ASSERT_EQ(mprotect(p, size, PROT_READ | PROT_WRITE), -1);
  ASSERT_EQ(errno, EACCES);
  munmap(p, size);
}

static void check_readonly_region(shmkit_region *ro, const char *expect) {
  shmkit_view *v = (shmkit_view *)&v;
  shmkit_region *r = (shmkit_region *)&r;

  ASSERT_EQ(shmkit_region_access(ro), SHMKIT_READ_ONLY);
  ASSERT_EQ(test_inheritable(shmkit_region_handle(ro)), 0);
  ASSERT_ERR(shmkit_view_map(&v, ro, 0, 1, SHMKIT_READ_WRITE), SHMKIT_EACCES);
  ASSERT_NULL(v);
  ASSERT_ERR(shmkit_region_seal(ro, SHMKIT_SEAL_GROW), SHMKIT_EACCES);
  ASSERT_OK(shmkit_view_map(&v, ro, 0, strlen(expect) + 1, SHMKIT_READ_ONLY));
  ASSERT_STR_EQ((char *)shmkit_view_data(v), expect);
  shmkit_view_unmap(v);
  check_readonly_fd((int)shmkit_region_handle(ro),
                    (size_t)shmkit_region_size(ro), expect);
  /* A copy of a copy is read-only too. */
  if (shmkit_region_dup_readonly(&r, ro) == 0) {
    ASSERT_EQ(shmkit_region_access(r), SHMKIT_READ_ONLY);
    shmkit_region_close(r);
  }
}

TEST_IMPL(readonly_copy) {
  shmkit_region *r, *ro = (shmkit_region *)&ro;
  shmkit_view *v;

  ASSERT_OK(shmkit_region_create(&r, 8192, 0));
  ASSERT_OK(shmkit_view_map(&v, r, 0, 8192, SHMKIT_READ_WRITE));
  strcpy(shmkit_view_data(v), "first");
  if (!test_linux_ext()) {
    /* Documented: without /proc an unnamed object cannot be reopened. */
    ASSERT_ERR(shmkit_region_dup_readonly(&ro, r), SHMKIT_ENOTSUP);
    ASSERT_NULL(ro);
  } else {
    ASSERT_OK(shmkit_region_dup_readonly(&ro, r));
    ASSERT_NE(shmkit_region_handle(ro), shmkit_region_handle(r));
    ASSERT_EQ(shmkit_region_size(ro), 8192);
    check_readonly_region(ro, "first");
    /* The copy is the same memory, not a snapshot. */
    strcpy(shmkit_view_data(v), "second");
    check_readonly_region(ro, "second");
    shmkit_region_close(ro);
  }
  shmkit_view_unmap(v);
  shmkit_region_close(r);
  return 0;
}

TEST_IMPL(readonly_copy_named) {
  char name[32];
  shmkit_region *r, *ro, *other;
  shmkit_view *v;

  test_name(name, "ro");
  ASSERT_OK(shmkit_region_create_named(&r, name, 4096, 0));
  ASSERT_OK(shmkit_view_map(&v, r, 0, 4096, SHMKIT_READ_WRITE));
  strcpy(shmkit_view_data(v), "named");
  ASSERT_OK(shmkit_region_dup_readonly(&ro, r));
  ASSERT_STR_EQ(shmkit_region_name(ro), name);
  check_readonly_region(ro, "named");
  shmkit_region_close(ro);

  /* The name now refers to another object: a copy must never be of that. */
  ASSERT_OK(shmkit_region_remove(name));
  ASSERT_OK(shmkit_region_create_named(&other, name, 4096, 0));
  if (test_linux_ext()) {
    ASSERT_OK(shmkit_region_dup_readonly(&ro, r)); /* by descriptor */
    check_readonly_region(ro, "named");
    shmkit_region_close(ro);
  } else {
    ASSERT_ERR(shmkit_region_dup_readonly(&ro, r), SHMKIT_ENOENT);
  }
  ASSERT_OK(shmkit_region_remove(name));
  shmkit_region_close(other);
  shmkit_view_unmap(v);
  shmkit_region_close(r);
  return 0;
}

/* The read-only copy goes to another process, which gets nothing else. */
TEST_IMPL(readonly_copy_other_process) {
  char name[32], fdarg[24];
  const char *args[] = {fdarg, NULL};
  shmkit_region *r, *ro;
  shmkit_view *v;
  test_proc p;

  /* Named where the portable path cannot copy an anonymous region. */
  if (test_linux_ext())
    ASSERT_OK(shmkit_region_create(&r, 4096, 0));
  else
    ASSERT_OK(shmkit_region_create_named(&r, test_name(name, "rop"), 4096, 0));
  ASSERT_OK(shmkit_view_map(&v, r, 0, 4096, SHMKIT_READ_WRITE));
  strcpy(shmkit_view_data(v), "look, don't touch");
  ASSERT_OK(shmkit_region_dup_readonly(&ro, r));
  snprintf(fdarg, sizeof(fdarg), "%lld", (long long)shmkit_region_handle(ro));
  test_spawn(&p, "readonly_peer", args, shmkit_region_handle(ro));
  ASSERT_EQ(test_wait(&p, 30000), 0);
  ASSERT_STR_EQ((char *)shmkit_view_data(v), "look, don't touch");
  if (!test_linux_ext()) ASSERT_OK(shmkit_region_remove(name));
  shmkit_view_unmap(v);
  shmkit_region_close(ro);
  shmkit_region_close(r);
  return 0;
}

CHILD_IMPL(readonly_peer) {
  shmkit_region *r;
  int fd;

  ASSERT_EQ(argc, 1);
  fd = atoi(argv[0]);
  ASSERT_ERR(shmkit_region_adopt(&r, fd, SHMKIT_READ_WRITE), SHMKIT_EACCES);
  ASSERT_OK(shmkit_region_adopt(&r, fd, SHMKIT_READ_ONLY));
  ASSERT_EQ(shmkit_region_size(r), 4096);
  check_readonly_region(r, "look, don't touch");
  shmkit_region_close(r);
  return 0;
}

/* A process that does not own a memfd others may open cannot make it
 * owner-only, so its read-only copy would not keep them from reopening the
 * object writable: making one fails, and says so. Needs root, to hand a
 * region of root's to a process of another user. */
TEST_IMPL(readonly_copy_foreign_owner) {
  char fdarg[24];
  const char *args[] = {fdarg, NULL};
  shmkit_region *r;
  struct stat st;
  test_proc p;

  if (geteuid() != 0) {
    printf("skipped: only root can start a process of another user\n");
    return TEST_SKIP;
  }
  if (!test_linux_ext()) {
    printf("skipped: the portable path copies no anonymous region\n");
    return TEST_SKIP;
  }
  ASSERT_OK(shmkit_region_create(&r, 4096, 0));
  ASSERT_EQ(fstat((int)shmkit_region_handle(r), &st), 0);
  ASSERT((st.st_mode & 077) != 0); /* a memfd is born open to all */
  snprintf(fdarg, sizeof(fdarg), "%lld", (long long)shmkit_region_handle(r));
  test_spawn(&p, "foreign_copy", args, shmkit_region_handle(r));
  ASSERT_EQ(test_wait(&p, 30000), 0);
  shmkit_region_close(r);
  return 0;
}

CHILD_IMPL(foreign_copy) {
  shmkit_region *r, *ro = (shmkit_region *)&ro;
  struct stat before, after;
  int fd, n;

  ASSERT_EQ(argc, 1);
  fd = atoi(argv[0]);
  ASSERT_EQ(setgid(65534), 0);
  ASSERT_EQ(setuid(65534), 0);
  ASSERT_OK(shmkit_region_adopt(&r, fd, SHMKIT_READ_WRITE));
  ASSERT_EQ(fstat(fd, &before), 0);
  n = test_open_handles();
  ASSERT_ERR(shmkit_region_dup_readonly(&ro, r), SHMKIT_EPERM);
  ASSERT_NULL(ro);
  ASSERT_EQ(test_open_handles(), n);
  ASSERT_EQ(fstat(fd, &after), 0);
  ASSERT_EQ(after.st_mode, before.st_mode);
  shmkit_region_close(r);
  return 0;
}
