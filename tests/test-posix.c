/* POSIX-only region behaviour: reservation against tmpfs limits, the mode
 * of named objects, and interoperation with plain shm_open. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "task.h"

/* Named regions live in /dev/shm on Linux: asking for more than its free
 * space is an error from create, at once, and leaves no name behind. */
TEST_IMPL(region_reserve_enospc) {
  struct statvfs st;
  char name[32];
  shmkit_region *r;
  uint64_t free_bytes;

  ASSERT_EQ(statvfs("/dev/shm", &st), 0);
  free_bytes = (uint64_t)st.f_bavail * st.f_frsize;
  test_name(name, "full");
  ASSERT_ERR(shmkit_region_create_named(&r, name, free_bytes + (1u << 30), 0),
             SHMKIT_ENOSPC);
  ASSERT_NULL(r);
  ASSERT_ERR(shmkit_region_open(&r, name, SHMKIT_READ_ONLY), SHMKIT_ENOENT);
  /* Sparse regions take no space at creation, so they are not refused. */
  ASSERT_OK(shmkit_region_create_named(&r, name, free_bytes + (1u << 30),
                                       SHMKIT_SPARSE));
  ASSERT_OK(shmkit_region_remove(name));
  shmkit_region_close(r);
  /* The portable path's anonymous regions live in /dev/shm too. */
  if (!test_linux_ext())
    ASSERT_ERR(shmkit_region_create(&r, free_bytes + (1u << 30), 0),
               SHMKIT_ENOSPC);
  /* Reserved memory is really there: the whole region can be written. */
  ASSERT_OK(shmkit_region_create(&r, 8u << 20, 0));
  {
    struct stat s;
    ASSERT_EQ(fstat((int)shmkit_region_handle(r), &s), 0);
    ASSERT((uint64_t)s.st_blocks * 512 >= (8u << 20));
  }
  shmkit_region_close(r);
  return 0;
}

/* memfds live on a mount with no limit of its own: more than RAM and swap is
 * refused before any page is taken. */
TEST_IMPL(region_reserve_enomem) {
  struct sysinfo si;
  shmkit_region *r;
  uint64_t too_much;

  ASSERT_EQ(sysinfo(&si), 0);
  too_much = ((uint64_t)si.totalram + si.totalswap) * si.mem_unit + (1u << 30);
  if (test_linux_ext()) {
    ASSERT_ERR(shmkit_region_create(&r, too_much, 0), SHMKIT_ENOMEM);
  } else {
    /* /dev/shm is smaller than RAM plus swap. */
    ASSERT_ERR(shmkit_region_create(&r, too_much, 0), SHMKIT_ENOSPC);
  }
  ASSERT_NULL(r);
  return 0;
}

TEST_IMPL(named_mode_0600) {
  char name[32], path[64];
  struct stat st;
  shmkit_region *r;
  mode_t old = umask(0); /* 0600 must come from shmkit, not from the umask */

  test_name(name, "mode");
  ASSERT_OK(shmkit_region_create_named(&r, name, 100, 0));
  umask(old);
  snprintf(path, sizeof(path), "/dev/shm/%s", name);
  ASSERT_EQ(stat(path, &st), 0);
  ASSERT_EQ(st.st_mode & 0777, 0600);
  ASSERT_EQ(fstat((int)shmkit_region_handle(r), &st), 0);
  ASSERT_EQ(st.st_mode & 0777, 0600);
  ASSERT_OK(shmkit_region_remove(name));
  shmkit_region_close(r);
  /* Anonymous regions too: the portable path's shm objects from the start;
   * memfds (reachable only through a descriptor) once a read-only copy of
   * one exists, which is when the mode starts to matter. */
  ASSERT_OK(shmkit_region_create(&r, 100, 0));
  if (test_linux_ext()) {
    shmkit_region *ro;
    ASSERT_OK(shmkit_region_dup_readonly(&ro, r));
    shmkit_region_close(ro);
  }
  ASSERT_EQ(fstat((int)shmkit_region_handle(r), &st), 0);
  ASSERT_EQ(st.st_mode & 0777, 0600);
  shmkit_region_close(r);
  return 0;
}

/* The umask may take bits away from 0600 (0277 leaves 0400): a region
 * whose creator could not open it for writing again would be no use. */
TEST_IMPL(named_mode_umask) {
  char name[32];
  struct stat st;
  shmkit_region *r, *rw;
  mode_t old = umask(0277);

  test_name(name, "umask");
  ASSERT_OK(shmkit_region_create_named(&r, name, 100, 0));
  umask(old);
  ASSERT_EQ(fstat((int)shmkit_region_handle(r), &st), 0);
  ASSERT_EQ(st.st_mode & 0777, 0600);
  ASSERT_OK(shmkit_region_open(&rw, name, SHMKIT_READ_WRITE));
  shmkit_region_close(rw);
  ASSERT_OK(shmkit_region_remove(name));
  shmkit_region_close(r);
  return 0;
}

/* An anonymous region has no name, even where it is made as a named shm
 * object (the portable path): no entry of /dev/shm is the object behind
 * its descriptor. Found by inode, not by name, so that the objects other
 * tests make at the same time do not count. */
TEST_IMPL(region_anonymous_no_name) {
  shmkit_region *r;
  struct stat mine, st;
  struct dirent *e;
  char path[300];
  DIR *d;

  ASSERT_OK(shmkit_region_create(&r, 4096, 0));
  ASSERT_EQ(fstat((int)shmkit_region_handle(r), &mine), 0);
  d = opendir("/dev/shm");
  ASSERT(d != NULL);
  while ((e = readdir(d)) != NULL) {
    snprintf(path, sizeof(path), "/dev/shm/%s", e->d_name);
    if (lstat(path, &st) == 0 && st.st_dev == mine.st_dev &&
        st.st_ino == mine.st_ino)
      FAIL("the anonymous region is %s", path);
  }
  closedir(d);
  if (!test_linux_ext()) ASSERT_EQ(mine.st_nlink, 0); /* removed at once */
  shmkit_region_close(r);
  return 0;
}

/* Between another process's shm_open and its ftruncate the object exists
 * with size 0: open says "not ready" rather than handing out a region that
 * cannot be mapped. */
TEST_IMPL(named_open_unsized) {
  char name[32], native[40];
  shmkit_region *r = (shmkit_region *)&r;
  int fd;

  int n;

  test_name(name, "unsized");
  snprintf(native, sizeof(native), "/%s", name);
  fd = shm_open(native, O_RDWR | O_CREAT | O_EXCL, 0600);
  ASSERT(fd >= 0);
  n = test_open_handles();
  ASSERT_ERR(shmkit_region_open(&r, name, SHMKIT_READ_ONLY), SHMKIT_EAGAIN);
  ASSERT_NULL(r);
  ASSERT_ERR(shmkit_region_open(&r, name, SHMKIT_READ_WRITE), SHMKIT_EAGAIN);
  ASSERT_EQ(test_open_handles(), n); /* what open opened, it closed */
  ASSERT_EQ(ftruncate(fd, 100), 0);
  ASSERT_OK(shmkit_region_open(&r, name, SHMKIT_READ_ONLY));
  ASSERT_EQ(shmkit_region_size(r), 100);
  shmkit_region_close(r);
  close(fd);
  ASSERT_OK(shmkit_region_remove(name));
  return 0;
}

/* Sets signal `sig` to SIG_IGN with the raw system call, which takes the
 * numbers glibc keeps for itself (32 and 33) and its sigaction refuses. The
 * old action goes to *old (the kernel's layout); 0 or -1. */
struct raw_sigaction {
  void (*handler)(int);
  unsigned long flags;
  void (*restorer)(void);
  unsigned long long mask;
};

static int raw_ignore(int sig, struct raw_sigaction *old) {
#if defined(__linux__) && defined(SYS_rt_sigaction) &&                         \
    (defined(__x86_64__) || defined(__aarch64__))
  struct raw_sigaction sa;

  memset(&sa, 0, sizeof(sa));
  sa.handler = SIG_IGN;
  return (int)syscall(SYS_rt_sigaction, sig, &sa, old, sizeof(sa.mask));
#else
  (void)sig;
  (void)old;
  return -1;
#endif
}

static void raw_restore(int sig, const struct raw_sigaction *old) {
#if defined(__linux__) && defined(SYS_rt_sigaction) &&                         \
    (defined(__x86_64__) || defined(__aarch64__))
  syscall(SYS_rt_sigaction, sig, old, NULL, sizeof(old->mask));
#else
  (void)sig;
  (void)old;
#endif
}

/* A child starts with every signal at its default action, as documented,
 * whatever this process ignores: the signals any program may ignore, and
 * the ones glibc keeps for itself, which its posix_spawn sets to SIG_IGN in
 * the child unless told otherwise (an ignored signal stays ignored across
 * exec, in a program of any language). The child reports what it finds. */
TEST_IMPL(spawn_signals_default) {
  const char *argv[] = {test_self_path(), "--child", "signals_report", NULL};
  struct raw_sigaction old[2];
  struct sigaction ign, keep[2];
  shmkit_spawn_options o;
  shmkit_process *p;
  int code = -1, sig = -1, raw;

  memset(&ign, 0, sizeof(ign));
  ign.sa_handler = SIG_IGN;
  ASSERT_EQ(sigaction(SIGTERM, &ign, &keep[0]), 0);
  ASSERT_EQ(sigaction(SIGUSR1, &ign, &keep[1]), 0);
  raw = raw_ignore(32, &old[0]) == 0 && raw_ignore(33, &old[1]) == 0;
  if (!raw) printf("note: this system cannot ignore signals 32 and 33\n");

  memset(&o, 0, sizeof(o));
  o.file = test_self_path();
  o.argv = argv;
  ASSERT_OK(shmkit_spawn(&p, &o));
  ASSERT_OK(shmkit_process_wait(p, 60000, &code, &sig));
  shmkit_process_close(p);
  if (raw) {
    raw_restore(33, &old[1]);
    raw_restore(32, &old[0]);
  }
  sigaction(SIGUSR1, &keep[1], NULL);
  sigaction(SIGTERM, &keep[0], NULL);
  ASSERT_EQ(sig, 0);
  ASSERT_EQ(code, 0);
  return 0;
}

/* Exits with 0 if no signal is ignored here, else prints which and fails:
 * as the kernel says (/proc, Linux), and as sigaction says for each signal
 * it answers for. */
CHILD_IMPL(signals_report) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  int bad = 0;

  (void)argc;
  (void)argv;
  if (f != NULL) {
    while (fgets(line, sizeof(line), f) != NULL)
      if (strncmp(line, "SigIgn:", 7) == 0 &&
          strtoull(line + 7, NULL, 16) != 0) {
        printf("ignored in the child: %s", line);
        bad = 1;
      }
    fclose(f);
  }
  for (int s = 1; s < 65; s++) {
    struct sigaction sa;
    if (sigaction(s, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN) {
      printf("ignored in the child: signal %d\n", s);
      bad = 1;
    }
  }
  fflush(stdout);
  return bad;
}

/* Arguments beyond what the system takes (ARG_MAX) are "too big", the
 * caller's to fix, not an unexpected system error. */
TEST_IMPL(spawn_e2big) {
  const size_t piece = 64 * 1024; /* below one argument's own limit */
  long arg_max = sysconf(_SC_ARG_MAX);
  shmkit_process *p = (shmkit_process *)&p;
  shmkit_spawn_options o;
  const char **argv;
  char *text;
  size_t count, n = (size_t)test_open_handles();

  if (arg_max <= 0 || arg_max > (64L << 20)) {
    printf("skipped: ARG_MAX is %ld here\n", arg_max);
    return TEST_SKIP;
  }
  count = ((size_t)arg_max + (1u << 20)) / piece + 1; /* 3 MiB for 2 MiB */
  text = malloc(piece);
  argv = calloc(count + 2, sizeof(*argv));
  ASSERT(text != NULL && argv != NULL);
  memset(text, 'x', piece - 1);
  text[piece - 1] = '\0';
  argv[0] = test_self_path();
  for (size_t i = 1; i <= count; i++) argv[i] = text;
  memset(&o, 0, sizeof(o));
  o.file = test_self_path();
  o.argv = argv;
  ASSERT_ERR(shmkit_spawn(&p, &o), SHMKIT_E2BIG);
  ASSERT_NULL(p);
  ASSERT_EQ(test_open_handles(), n);
  /* One argument longer than Linux takes for one (128 KiB), well within
   * ARG_MAX as a whole. */
  free(text);
  text = malloc(4 * piece);
  ASSERT(text != NULL);
  memset(text, 'x', 4 * piece - 1);
  text[4 * piece - 1] = '\0';
  argv[1] = text;
  argv[2] = NULL;
  p = (shmkit_process *)&p;
  ASSERT_ERR(shmkit_spawn(&p, &o), SHMKIT_E2BIG);
  ASSERT_NULL(p);
  free(argv);
  free(text);
  return 0;
}

/* shmkit names are plain shm_open names with a leading slash, both ways. */
TEST_IMPL(named_native_interop) {
  char name[32], native[40];
  shmkit_region *r;
  shmkit_view *v;
  char *p;
  int fd;

  test_name(name, "native");
  snprintf(native, sizeof(native), "/%s", name);

  /* Made by another program, opened by shmkit. */
  fd = shm_open(native, O_RDWR | O_CREAT | O_EXCL, 0600);
  ASSERT(fd >= 0);
  ASSERT_EQ(ftruncate(fd, 5000), 0);
  p = mmap(NULL, 5000, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ASSERT(p != MAP_FAILED);
  strcpy(p + 4500, "native");
  ASSERT_OK(shmkit_region_open(&r, name, SHMKIT_READ_WRITE));
  ASSERT_EQ(shmkit_region_size(r), 5000);
  ASSERT_OK(shmkit_view_map(&v, r, 4500, 500, SHMKIT_READ_WRITE));
  ASSERT_STR_EQ((char *)shmkit_view_data(v), "native");
  strcpy(shmkit_view_data(v), "shmkit");
  ASSERT_STR_EQ(p + 4500, "shmkit");
  shmkit_view_unmap(v);
  shmkit_region_close(r);
  munmap(p, 5000);
  close(fd);
  ASSERT_OK(shmkit_region_remove(name));
  ASSERT_EQ(shm_unlink(native), -1);

  /* Made by shmkit, opened by another program. */
  ASSERT_OK(shmkit_region_create_named(&r, name, 3000, 0));
  ASSERT_OK(shmkit_view_map(&v, r, 0, 3000, SHMKIT_READ_WRITE));
  strcpy(shmkit_view_data(v), "from shmkit");
  fd = shm_open(native, O_RDONLY, 0);
  ASSERT(fd >= 0);
  p = mmap(NULL, 3000, PROT_READ, MAP_SHARED, fd, 0);
  ASSERT(p != MAP_FAILED);
  ASSERT_STR_EQ(p, "from shmkit");
  munmap(p, 3000);
  close(fd);
  ASSERT_EQ(shm_unlink(native), 0);
  ASSERT_ERR(shmkit_region_remove(name), SHMKIT_ENOENT);
  shmkit_view_unmap(v);
  shmkit_region_close(r);
  return 0;
}

/* Calls that fail at each step, after the handle was opened where there is
 * one, and the count after each. */
TEST_IMPL(leak_failures) {
  shmkit_region *r, *ro, *x;
  char name[32];
  int n = test_open_handles();
  int pipefd[2];

#define SAME() ASSERT_EQ(test_open_handles(), n)
  test_name(name, "leakf");
  ASSERT_ERR(shmkit_region_create(&x, 0, 0), SHMKIT_EINVAL);
  SAME();
  ASSERT_ERR(shmkit_region_create(&x, (uint64_t)INT64_MAX, 0),
             test_linux_ext() ? SHMKIT_ENOMEM : SHMKIT_ENOSPC);
  SAME();
  ASSERT_ERR(shmkit_region_create_named(&x, name, (uint64_t)INT64_MAX, 0),
             SHMKIT_ENOSPC);
  SAME();
  leak_failures_named(name, &r, &ro);
  n = test_open_handles();
  ASSERT_OK(shmkit_region_remove(name));
  if (!test_linux_ext()) { /* reopening by name finds nothing */
    ASSERT_ERR(shmkit_region_dup_readonly(&x, r), SHMKIT_ENOENT);
    SAME();
  }

  ASSERT_EQ(pipe(pipefd), 0);
  n = test_open_handles();
  ASSERT_ERR(shmkit_region_adopt(&x, pipefd[0], SHMKIT_READ_ONLY),
             SHMKIT_ENOTSHM);
  SAME(); /* and the pipe is still the caller's: */
  ASSERT_EQ(close(pipefd[0]), 0);
  ASSERT_EQ(close(pipefd[1]), 0);
  n = test_open_handles();

  if (test_linux_ext()) { /* a seal refused by the kernel */
    shmkit_region *m;
    shmkit_view *rw;
    ASSERT_OK(shmkit_region_create(&m, 4096, 0));
    ASSERT_OK(shmkit_view_map(&rw, m, 0, 4096, SHMKIT_READ_WRITE));
    n = test_open_handles();
    ASSERT_ERR(shmkit_region_seal(m, SHMKIT_SEAL_WRITE), SHMKIT_EBUSY);
    SAME();
    shmkit_view_unmap(rw);
    shmkit_region_close(m);
    n = test_open_handles();
  }
  SAME();
  shmkit_region_close(ro);
  shmkit_region_close(r);
#undef SAME
  return 0;
}
