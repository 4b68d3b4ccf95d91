/* Adopting a descriptor: checked with the system, never trusted. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "task.h"

/* A regular file on disk, beside the runner (not in /tmp, which may be a
 * tmpfs and so a shared memory file system). */
static int disk_file(char *path, size_t n) {
  int fd;
  snprintf(path, n, "%s.adopt-%ld", test_self_path(), (long)getpid());
  fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  ASSERT(fd >= 0);
  ASSERT_EQ(ftruncate(fd, 4096), 0);
  return fd;
}

TEST_IMPL(adopt_checks_handle) {
  shmkit_region *r = (shmkit_region *)&r, *ro;
  char path[4200], name[32];
  int pipefd[2], fd, dirfd, devnull;

  /* Not open. */
  ASSERT_ERR(shmkit_region_adopt(&r, -1, SHMKIT_READ_ONLY), SHMKIT_EBADF);
  ASSERT_NULL(r);
  ASSERT_ERR(shmkit_region_adopt(&r, 999, SHMKIT_READ_ONLY), SHMKIT_EBADF);
  ASSERT_ERR(shmkit_region_adopt(&r, (shmkit_handle)1 << 40, SHMKIT_READ_ONLY),
             SHMKIT_EBADF);
  /* Open, but not shared memory. */
  ASSERT_EQ(pipe(pipefd), 0);
  ASSERT_ERR(shmkit_region_adopt(&r, pipefd[0], SHMKIT_READ_ONLY),
             SHMKIT_ENOTSHM);
  ASSERT_ERR(shmkit_region_adopt(&r, pipefd[1], SHMKIT_READ_ONLY),
             SHMKIT_ENOTSHM);
  close(pipefd[0]);
  close(pipefd[1]);
  devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  ASSERT_ERR(shmkit_region_adopt(&r, devnull, SHMKIT_READ_ONLY),
             SHMKIT_ENOTSHM);
  close(devnull);
  dirfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_ERR(shmkit_region_adopt(&r, dirfd, SHMKIT_READ_ONLY), SHMKIT_ENOTSHM);
  close(dirfd);
  fd = disk_file(path, sizeof(path));
  if (test_linux_ext()) {
    ASSERT_ERR(shmkit_region_adopt(&r, fd, SHMKIT_READ_WRITE), SHMKIT_ENOTSHM);
    close(fd);
  } else {
    /* Documented: other systems cannot tell a file from an shm object. */
    ASSERT_OK(shmkit_region_adopt(&r, fd, SHMKIT_READ_WRITE));
    ASSERT_EQ(shmkit_region_size(r), 4096);
    shmkit_region_close(r);
  }
  unlink(path);

  /* Shared memory, but not with the access claimed. */
  ASSERT_OK(shmkit_region_create_named(&r, test_name(name, "acc"), 100, 0));
  shmkit_region_close(r);
  ASSERT_OK(shmkit_region_open(&ro, name, SHMKIT_READ_ONLY));
  fd = dup((int)shmkit_region_handle(ro));
  ASSERT_ERR(shmkit_region_adopt(&r, fd, SHMKIT_READ_WRITE), SHMKIT_EACCES);
  ASSERT_ERR(shmkit_region_adopt(&r, fd, 0), SHMKIT_EINVAL);
  close(fd);
  {
    char shm[64];
    snprintf(shm, sizeof(shm), "/dev/shm/%s", name);
    fd = open(shm, O_WRONLY | O_CLOEXEC); /* mmap needs read access */
    ASSERT(fd >= 0);
    ASSERT_ERR(shmkit_region_adopt(&r, fd, SHMKIT_READ_ONLY), SHMKIT_EACCES);
    close(fd);
#ifdef O_PATH
    fd = open(shm, O_PATH | O_CLOEXEC);
    ASSERT(fd >= 0);
    ASSERT_ERR(shmkit_region_adopt(&r, fd, SHMKIT_READ_ONLY), SHMKIT_EBADF);
    close(fd);
#endif
  }
  ASSERT_OK(shmkit_region_remove(name));
  shmkit_region_close(ro);
  ASSERT_ERR(shmkit_region_adopt(NULL, 0, SHMKIT_READ_ONLY), SHMKIT_EINVAL);
  return 0;
}

TEST_IMPL(adopt_ownership) {
  shmkit_region *r, *a;
  shmkit_view *v;
  int fd;

  /* The size comes from the system, whoever made the object. */
  ASSERT_OK(shmkit_region_create(&r, 12345, 0));
  fd = fcntl((int)shmkit_region_handle(r), F_DUPFD, 0); /* no close-on-exec */
  ASSERT(test_inheritable(fd));
  ASSERT_OK(shmkit_region_adopt(&a, fd, SHMKIT_READ_WRITE));
  ASSERT_EQ(shmkit_region_handle(a), fd);
  ASSERT_EQ(shmkit_region_size(a), 12345);
  ASSERT_EQ(shmkit_region_access(a), SHMKIT_READ_WRITE);
  ASSERT_NULL(shmkit_region_name(a));
  ASSERT_EQ(test_inheritable(fd), 0); /* made close-on-exec */
  ASSERT_OK(shmkit_view_map(&v, a, 12000, 345, SHMKIT_READ_WRITE));
  shmkit_view_unmap(v);
  shmkit_region_close(a); /* closes fd */
  ASSERT_EQ(fcntl(fd, F_GETFD), -1);
  ASSERT_EQ(errno, EBADF);

  /* On failure the caller keeps its descriptor. */
  fd = dup((int)shmkit_region_handle(r));
  ASSERT_ERR(shmkit_region_adopt(&a, fd, 99), SHMKIT_EINVAL);
  ASSERT(fcntl(fd, F_GETFD) >= 0);
  close(fd);
  shmkit_region_close(r);
  return 0;
}

/* A hugetlbfs file is memory, but it can be mapped only at huge page
 * boundaries, so "a view at any offset" would not hold for it: adopting it,
 * or taking it from a token, is refused (Linux). Making and sizing one needs
 * no huge page to be reserved; mapping it would. */
TEST_IMPL(adopt_refuses_hugetlbfs) {
#ifdef MFD_HUGETLB
  shmkit_region *r = (shmkit_region *)&r;
  char token[SHMKIT_TOKEN_MAX];
  int fd;

  if (!test_linux_ext()) {
    printf("skipped: the portable path takes any regular file (documented)\n");
    return TEST_SKIP;
  }
  fd = memfd_create("shmkit-test", MFD_HUGETLB | MFD_CLOEXEC);
  if (fd < 0) {
    printf("skipped: no hugetlbfs memfd here: %s\n", strerror(errno));
    return TEST_SKIP;
  }
  if (ftruncate(fd, 2 << 20) != 0) {
    printf("skipped: cannot size a hugetlbfs file: %s\n", strerror(errno));
    close(fd);
    return TEST_SKIP;
  }
  ASSERT_ERR(shmkit_region_adopt(&r, fd, SHMKIT_READ_WRITE), SHMKIT_ENOTSHM);
  ASSERT_NULL(r);
  ASSERT_ERR(shmkit_region_adopt(&r, fd, SHMKIT_READ_ONLY), SHMKIT_ENOTSHM);
  snprintf(token, sizeof(token), "shmkit1:%d:%d:r", fd, 2 << 20);
  ASSERT_ERR(shmkit_region_from_token(&r, token), SHMKIT_ENOTSHM);
  ASSERT_NULL(r);
  ASSERT_EQ(close(fd), 0); /* still the caller's */
  return 0;
#else
  printf("skipped: no MFD_HUGETLB in this C library\n");
  return TEST_SKIP;
#endif
}
