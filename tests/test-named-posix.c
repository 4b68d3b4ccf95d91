/* Names anybody can plant, POSIX: /dev/shm is every user's, so a name may
 * already be another user's object, a FIFO or a mount point when this
 * process opens it; each is refused at once, never waited on. */
#ifndef _GNU_SOURCE
#  define _GNU_SOURCE /* O_PATH */
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
#  include <linux/openat2.h>
#  include <sys/mount.h>
#  include <sys/syscall.h>
#endif

#include "task.h"

/* A hang detector for calls that must never block: far beyond any machine's
 * slowness, the default action of SIGALRM ends the test. */
#define HANG_LIMIT_S 60

/* Another user takes a name first, as a 0666 object, a FIFO or an object
 * only its owner may open (root may open it all the same): our open refuses
 * it (and does not block on the FIFO), and our exclusive create still fails
 * as before. Needs root, to start a process of another user. */
TEST_IMPL(named_open_refuses_others) {
  static const char *const kinds[] = {"file", "fifo", "private"};
  char name[32];
  const char *args[] = {name, NULL, NULL};
  shmkit_region *r = (shmkit_region *)&r;
  test_proc p;

  if (geteuid() != 0) {
    printf("skipped: only root can start a process of another user\n");
    return TEST_SKIP;
  }
  for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
    test_name(name, kinds[i]);
    args[1] = kinds[i];
    test_spawn(&p, "stranger_plants", args, SHMKIT_INVALID_HANDLE);
    ASSERT_EQ(test_wait(&p, 30000), 0);
    alarm(HANG_LIMIT_S);
    ASSERT_ERR(shmkit_region_create_named(&r, name, 4096, 0), SHMKIT_EEXIST);
    ASSERT_ERR(shmkit_region_open(&r, name, SHMKIT_READ_WRITE), SHMKIT_EACCES);
    ASSERT_NULL(r);
    ASSERT_ERR(shmkit_region_open(&r, name, SHMKIT_READ_ONLY), SHMKIT_EACCES);
    ASSERT_NULL(r);
    alarm(0);
    ASSERT_OK(shmkit_region_remove(name));
  }
  return 0;
}

/* Makes /dev/shm/NAME as user nobody: a "file" (an shm object of mode 0666,
 * sized), a "fifo" of mode 0666, or a "private" shm object (mode 0600). */
CHILD_IMPL(stranger_plants) {
  char path[64];
  int fd;

  ASSERT_EQ(argc, 2);
  snprintf(path, sizeof(path), "/dev/shm/%s", argv[0]);
  test_become_nobody();
  if (strcmp(argv[1], "fifo") == 0) {
    ASSERT_EQ(mkfifo(path, 0666), 0);
    ASSERT_EQ(chmod(path, 0666), 0); /* whatever the umask */
    return 0;
  }
  snprintf(path, sizeof(path), "/%s", argv[0]);
  fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
  ASSERT(fd >= 0);
  ASSERT_EQ(fchmod(fd, strcmp(argv[1], "private") == 0 ? 0600 : 0666), 0);
  ASSERT_EQ(ftruncate(fd, 4096), 0);
  close(fd);
  return 0;
}

/* An object of ours that other users may open is not trusted either: they
 * could have opened it already. Once it is owner-only, it opens. */
TEST_IMPL(named_open_refuses_wide_mode) {
  char name[32], native[40];
  shmkit_region *r = (shmkit_region *)&r;
  int fd, n = test_open_handles();

  test_name(name, "wide");
  snprintf(native, sizeof(native), "/%s", name);
  fd = shm_open(native, O_RDWR | O_CREAT | O_EXCL, 0600);
  ASSERT(fd >= 0);
  ASSERT_EQ(ftruncate(fd, 100), 0);
  ASSERT_EQ(fchmod(fd, 0644), 0);
  ASSERT_ERR(shmkit_region_open(&r, name, SHMKIT_READ_ONLY), SHMKIT_EACCES);
  ASSERT_NULL(r);
  ASSERT_ERR(shmkit_region_open(&r, name, SHMKIT_READ_WRITE), SHMKIT_EACCES);
  ASSERT_EQ(fchmod(fd, 0620), 0);
  ASSERT_ERR(shmkit_region_open(&r, name, SHMKIT_READ_ONLY), SHMKIT_EACCES);
  ASSERT_EQ(test_open_handles(), n + 1); /* ours, nothing left by shmkit */
  ASSERT_EQ(fchmod(fd, 0600), 0);
  ASSERT_OK(shmkit_region_open(&r, name, SHMKIT_READ_WRITE));
  shmkit_region_close(r);
  close(fd);
  ASSERT_OK(shmkit_region_remove(name));
  return 0;
}

/* A FIFO at the name (ours, so only its type is wrong) is refused at once:
 * opening it for reading would wait for a writer forever. The same for the
 * portable path's read-only copy, which reopens the name. */
TEST_IMPL(named_open_never_blocks) {
  char name[32], path[64];
  shmkit_region *r = (shmkit_region *)&r, *named;

  test_name(name, "fifo");
  snprintf(path, sizeof(path), "/dev/shm/%s", name);
  ASSERT_EQ(mkfifo(path, 0600), 0);
  alarm(HANG_LIMIT_S);
  ASSERT_ERR(shmkit_region_open(&r, name, SHMKIT_READ_ONLY), SHMKIT_ENOTSHM);
  ASSERT_NULL(r);
  ASSERT_ERR(shmkit_region_open(&r, name, SHMKIT_READ_WRITE), SHMKIT_ENOTSHM);
  alarm(0);
  ASSERT_OK(shmkit_region_remove(name));

  /* The name of a region, removed and taken by a FIFO. */
  ASSERT_OK(shmkit_region_create_named(&named, name, 100, 0));
  ASSERT_OK(shmkit_region_remove(name));
  ASSERT_EQ(mkfifo(path, 0600), 0);
  alarm(HANG_LIMIT_S);
  if (test_linux_ext()) { /* reopened through /proc, not by name */
    ASSERT_OK(shmkit_region_dup_readonly(&r, named));
    shmkit_region_close(r);
  } else {
    ASSERT_ERR(shmkit_region_dup_readonly(&r, named), SHMKIT_ENOENT);
    ASSERT_NULL(r);
  }
  alarm(0);
  ASSERT_OK(shmkit_region_remove(name));
  shmkit_region_close(named);
  return 0;
}

/* A name something is mounted on is refused at once, of any type: a user
 * may mount FUSE on a file or directory of its own in /dev/shm
 * (fusermount), and opening it would wait for its server for ever. Here
 * the server never answers, not even its start; the open runs in a thread,
 * and closing the server's end (which ends every request) is what frees it
 * if it hangs. */
struct opener {
  const char *name;
  atomic_int done;
  int err;
};

static void open_run(void *arg) {
  struct opener *o = arg;
  shmkit_region *r;

  if ((o->err = shmkit_region_open(&r, o->name, SHMKIT_READ_ONLY)) == 0)
    shmkit_region_close(r);
  atomic_store(&o->done, 1);
}

/* Whether openat2 works here, asked as the library asks it. */
static int openat2_here(void) {
#if defined(__linux__) && defined(SYS_openat2)
  struct open_how how;
  int fd;

  memset(&how, 0, sizeof(how));
  how.flags = O_PATH | O_CLOEXEC;
  fd = (int)syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof(how));
  if (fd >= 0) close(fd);
  return fd >= 0;
#else
  return 0;
#endif
}

TEST_IMPL(named_open_refuses_a_mount) {
#ifdef __linux__
  if (geteuid() != 0) {
    printf("skipped: mounting FUSE without fusermount needs root\n");
    return TEST_SKIP;
  }
  if (!test_linux_ext()) {
    printf("skipped: the portable path opens with shm_open(), which crosses "
           "a mount point (docs/architecture.md)\n");
    return TEST_SKIP;
  }
  if (!openat2_here()) {
    printf("skipped: no openat2 here (Linux < 5.6, or a sandbox denies it): "
           "shm_open() crosses a mount point\n");
    return TEST_SKIP;
  }
  for (int file = 0; file <= 1; file++) {
    static struct opener o;
    char name[32], path[64], opts[96];
    test_thread t;
    int fuse, hung = 1;

    test_name(name, file ? "fusefile" : "fusedir");
    snprintf(path, sizeof(path), "/dev/shm/%s", name);
    if (file)
      ASSERT_EQ(close(open(path, O_CREAT | O_EXCL | O_WRONLY, 0600)), 0);
    else
      ASSERT_EQ(mkdir(path, 0700), 0);
    fuse = open("/dev/fuse", O_RDWR | O_CLOEXEC);
    snprintf(opts, sizeof(opts), "fd=%d,rootmode=%o,user_id=0,group_id=0", fuse,
             file ? 0100000 : 040000);
    if (fuse < 0 ||
        mount("shmkit-test", path, "fuse", MS_NOSUID | MS_NODEV, opts) != 0) {
      printf("skipped: no FUSE mount here (%s)\n", strerror(errno));
      if (fuse >= 0) close(fuse);
      file ? unlink(path) : rmdir(path);
      return TEST_SKIP;
    }
    memset(&o, 0, sizeof(o));
    o.name = name;
    test_thread_start(&t, open_run, &o);
    for (int ms = 0; ms < HANG_LIMIT_S * 1000 && hung; ms++) {
      hung = !atomic_load(&o.done);
      if (hung) test_sleep_ms(1);
    }
    close(fuse);
    test_thread_join(&t);
    ASSERT_EQ(umount2(path, MNT_DETACH), 0);
    ASSERT_EQ(file ? unlink(path) : rmdir(path), 0);
    if (hung) FAIL("the open of a %s waited for FUSE", file ? "file" : "dir");
    ASSERT_ERR(o.err, SHMKIT_ENOTSHM);
  }
  return 0;
#else
  printf("skipped: FUSE mounts are Linux's here\n");
  return TEST_SKIP;
#endif
}
