/* The POSIX half of the runner: processes, timeouts, descriptor counts. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "task.h"

extern char **environ;

static char self[4096];

void test_platform_init(int timeout_s) {
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

  if (n <= 0) FAIL("readlink /proc/self/exe: %s", strerror(errno));
  self[n] = '\0';
  /* A test or child that hangs ends itself; a parent's wait gives up first. */
  alarm((unsigned)timeout_s);
}

const char *test_self_path(void) {
  return self;
}

int test_linux_ext(void) {
  return SHMKIT_TEST_LINUX_EXT;
}

void test_become_nobody(void) {
  ASSERT_EQ(setgid(65534), 0);
  ASSERT_EQ(setuid(65534), 0);
}

const char *test_name(char buf[32], const char *tag) {
  snprintf(buf, 32, "t%ld-%s", (long)getpid(), tag);
  return buf;
}

void test_spawn(test_proc *p, const char *child, const char *const *args,
                shmkit_handle inherit) {
  posix_spawn_file_actions_t fa;
  char *argv[16];
  int argc = 0, r;
  pid_t pid;

  argv[argc++] = self;
  argv[argc++] = "--child";
  argv[argc++] = (char *)child;
  while (args != NULL && *args != NULL && argc < 15)
    argv[argc++] = (char *)*args++;
  argv[argc] = NULL;

  posix_spawn_file_actions_init(&fa);
  /* dup2 onto itself clears close-on-exec in the child only (POSIX 2024,
   * glibc 2.29), so the parent's descriptor keeps its flag. */
  if (inherit != SHMKIT_INVALID_HANDLE)
    posix_spawn_file_actions_adddup2(&fa, (int)inherit, (int)inherit);
  r = posix_spawn(&pid, self, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (r != 0) FAIL("posix_spawn: %s", strerror(r));
  p->id = pid;
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits up to `timeout_ms`; returns the status as test_wait() does, or -1 on
 * timeout with the process still running. */
static int wait_for(pid_t pid, int timeout_ms) {
  long long end = now_ms() + timeout_ms;
  int st;

  for (;;) {
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) FAIL("waitpid: %s", strerror(errno));
    if (now_ms() > end) return -1;
    usleep(1000);
  }
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return WEXITSTATUS(st);
}

int test_wait(test_proc *p, int timeout_ms) {
  int st = wait_for((pid_t)p->id, timeout_ms);

  if (st < 0) {
    kill((pid_t)p->id, SIGKILL);
    waitpid((pid_t)p->id, NULL, 0);
    FAIL("child %ld still running after %d ms", (long)p->id, timeout_ms);
  }
  return st;
}

int test_handle_ready(shmkit_handle h, int timeout_ms) {
  struct pollfd p = {(int)h, POLLIN, 0};
  int r;

  while ((r = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR) continue;
  ASSERT(r >= 0);
  return r > 0;
}

int test_open_handles(void) {
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;
  int n = 0;

  if (d == NULL) FAIL("opendir /proc/self/fd: %s", strerror(errno));
  while ((e = readdir(d)) != NULL)
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n - 1; /* the directory's own descriptor */
}

int test_mapping_count(int shared_only) {
  /* read(2) into a static buffer: stdio or malloc here could themselves
   * add a mapping between two counts. */
  static char buf[65536];
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC), n = 0;
  int field = 0, k = 0; /* where in a line "start-end perms offset ..." */
  ssize_t got;

  if (fd < 0) FAIL("open /proc/self/maps: %s", strerror(errno));
  while ((got = read(fd, buf, sizeof(buf))) > 0)
    for (ssize_t i = 0; i < got; i++) {
      char c = buf[i];
      if (c == '\n') {
        n += !shared_only;
        field = k = 0;
      } else if (c == ' ') {
        field++;
        k = 0;
      } else if (field == 1 && k++ == 3) { /* "rw-s": 's' for shared */
        n += shared_only && c == 's';
      }
    }
  if (got < 0) FAIL("read /proc/self/maps: %s", strerror(errno));
  close(fd);
  return n;
}

long test_rss_kb(void) {
  char buf[256];
  int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  ssize_t got;
  long size, resident;

  if (fd < 0) return -1;
  got = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (got <= 0) return -1;
  buf[got] = '\0';
  if (sscanf(buf, "%ld %ld", &size, &resident) != 2) return -1;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

int64_t test_now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

char *test_list_handles(char *buf, size_t size) {
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;
  size_t n = 0;

  if (d == NULL) FAIL("opendir /proc/self/fd: %s", strerror(errno));
  buf[0] = '\0';
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d)) continue;
    n += (size_t)snprintf(buf + n, size - n, "%s ", e->d_name);
    if (n >= size) FAIL("too many descriptors for the buffer");
  }
  closedir(d);
  return buf;
}

shmkit_handle test_dup_handle(shmkit_handle h) {
  int fd = fcntl((int)h, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) FAIL("F_DUPFD_CLOEXEC: %s", strerror(errno));
  return fd;
}

int test_inheritable(shmkit_handle h) {
  int fl = fcntl((int)h, F_GETFD);

  if (fl < 0) FAIL("fcntl(%d, F_GETFD): %s", (int)h, strerror(errno));
  return !(fl & FD_CLOEXEC);
}

int test_crashed(int status) {
  return status == 128 + SIGSEGV || status == 128 + SIGBUS;
}

void test_plain_crashes(void) {
  signal(SIGSEGV, SIG_DFL);
  signal(SIGBUS, SIG_DFL);
}

/* pthread_t is opaque (a struct on some systems): it stays in here. */
typedef struct thread_call {
  void (*fn)(void *);
  void *arg;
  pthread_t id;
} thread_call;

static void *thread_main(void *p) {
  thread_call *c = p;
  c->fn(c->arg);
  return NULL;
}

void test_thread_start(test_thread *t, void (*fn)(void *), void *arg) {
  thread_call *c = malloc(sizeof(*c));

  if (c == NULL) FAIL("out of memory");
  c->fn = fn;
  c->arg = arg;
  if (pthread_create(&c->id, NULL, thread_main, c) != 0) FAIL("pthread_create");
  t->id = (intptr_t)c;
}

void test_thread_join(test_thread *t) {
  thread_call *c = (thread_call *)t->id;

  if (pthread_join(c->id, NULL) != 0) FAIL("pthread_join");
  free(c);
}

void test_sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

int test_setenv(const char *name, const char *value) {
  return setenv(name, value, 1);
}

void test_temp_dir(char *buf, size_t size) {
  snprintf(buf, size, "/tmp/shmkit-dir-%ld", (long)getpid());
  if (mkdir(buf, 0700) != 0 && errno != EEXIST)
    FAIL("mkdir %s: %s", buf, strerror(errno));
}

void test_getcwd(char *buf, size_t size) {
  if (getcwd(buf, size) == NULL) FAIL("getcwd: %s", strerror(errno));
}

int test_make_leaky_pair(int fds[2]) {
  return pipe(fds); /* no O_CLOEXEC: inheritable */
}

void test_close_leaky_pair(int fds[2]) {
  close(fds[0]);
  close(fds[1]);
}

shmkit_handle test_make_leaky_file(void) {
  char path[4200];
  int fd;

  snprintf(path, sizeof(path), "%s.file-%ld", self, (long)getpid());
  fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) FAIL("open %s: %s", path, strerror(errno));
  unlink(path);
  if (ftruncate(fd, 4096) != 0) FAIL("ftruncate: %s", strerror(errno));
  return fd;
}

void test_close_handle(shmkit_handle h) {
  close((int)h);
}

const char *test_make_file(char *buf, size_t size, const char *tag,
                           const char *content, int executable) {
  int fd;

  snprintf(buf, size, "%s.%s-%ld", self, tag, (long)getpid());
  fd = open(buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
            executable ? 0700 : 0600);
  if (fd < 0) FAIL("open %s: %s", buf, strerror(errno));
  if (write(fd, content, strlen(content)) != (ssize_t)strlen(content))
    FAIL("write %s", buf);
  close(fd);
  return buf;
}

void test_remove(const char *path) {
  if (unlink(path) != 0 && rmdir(path) != 0)
    FAIL("remove %s: %s", path, strerror(errno));
}

int test_try_map_writable(shmkit_handle h, size_t size) {
  void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, (int)h, 0);
  if (p == MAP_FAILED) return 0;
  munmap(p, size);
  return 1;
}

int test_try_resize(shmkit_handle h, uint64_t size) {
  return ftruncate((int)h, (off_t)size) == 0;
}

int test_kill_signal(void) {
  return SIGKILL;
}

int test_kill_exit_code(void) {
  return -SIGKILL;
}

void test_die(void) {
  signal(SIGTERM, SIG_DFL);
  raise(SIGTERM);
}

void test_check_died(int exit_code, int term_signal) {
  ASSERT_EQ(term_signal, SIGTERM);
  ASSERT_EQ(exit_code, -SIGTERM);
}

void test_crash(void) {
  struct rlimit none = {0, 0};

  setrlimit(RLIMIT_CORE, &none); /* a crash on purpose leaves no core file */
  /* A sanitizer catches SIGSEGV to report it and exit with 1: the crash
   * must reach the parent as the signal. */
  test_plain_crashes();
  raise(SIGSEGV);
}

int test_crash_signal(void) {
  return SIGSEGV;
}

int test_crash_exit_code(void) {
  return -SIGSEGV;
}

int test_handle_ended(shmkit_handle h, int timeout_ms) {
  struct pollfd p = {(int)h, POLLIN, 0};
  int r;

  while ((r = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR) continue;
  ASSERT(r >= 0);
  return r == 1 && (p.revents & POLLIN) != 0;
}

void test_self_user(char *buf, size_t size) {
  snprintf(buf, size, "%lld", (long long)geteuid());
}

int64_t test_self_pid(void) {
  return getpid();
}

static int saved_argc;
static char **saved_argv;

void test_save_argv(int argc, char **argv) {
  saved_argc = argc;
  saved_argv = argv;
}

int test_system_argv(char ***argv) {
  *argv = saved_argv;
  return saved_argc;
}

int test_remove_killed_names(void) {
  const char *hex = "0123456789abcdef";
  DIR *d = opendir("/dev/shm"); /* Linux's shm_open directory */
  struct dirent *e;
  struct stat st;
  int n = 0;

  if (test_linux_ext() || d == NULL) { /* memfds leave no name */
    if (d != NULL) closedir(d);
    return 0;
  }
  while ((e = readdir(d)) != NULL) {
    const char *s = e->d_name;
    if (strncmp(s, "shmkit.", 7) != 0 || strlen(s) != 7 + 16 ||
        strspn(s + 7, hex) != 16 || fstatat(dirfd(d), s, &st, 0) != 0 ||
        !S_ISREG(st.st_mode) || st.st_size != 0 || st.st_uid != geteuid())
      continue;
    /* Another process in that instant finds its name gone: its own
     * shm_unlink fails, which it ignores; its descriptor is unchanged. */
    if (unlinkat(dirfd(d), s, 0) == 0) n++;
  }
  closedir(d);
  return n;
}

int test_spawn_cycles(void) {
  /* A sanitizer sets itself up in every new process: tens of milliseconds
   * a spawn, a minute for a thousand on a busy machine. A leak of one
   * descriptor a spawn shows after one spawn as well as after a thousand;
   * the thousand is for the cheap build. */
  return SHMKIT_TEST_SANITIZED ? 100 : 1000;
}

const char *const *test_shell_exit7(void) {
  static const char *const argv[] = {"sh", "-c", "exit 7", NULL};
  return argv;
}

uint64_t test_system_size(uint64_t size) {
  return size;
}

void test_forget_name(const char *name) {
  ASSERT_OK(shmkit_region_remove(name));
}

int test_run_isolated(const char *name, int timeout_s) {
  char path[] = "/tmp/shmkit-test-XXXXXX";
  posix_spawn_file_actions_t fa;
  char *argv[] = {self, (char *)name, NULL};
  pid_t pid;
  int fd, r, st;

  if ((fd = mkstemp(path)) < 0) FAIL("mkstemp: %s", strerror(errno));
  unlink(path);
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fd, 1);
  posix_spawn_file_actions_adddup2(&fa, fd, 2);
  posix_spawn_file_actions_addclose(&fa, fd);
  r = posix_spawn(&pid, self, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (r != 0) FAIL("posix_spawn: %s", strerror(r));

  alarm(0); /* the runner's own alarm would end the whole run */
  st = wait_for(pid, timeout_s * 1000);
  if (st < 0) {
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    printf("%s: timed out after %d s\n", name, timeout_s);
  } else if (st != 0 && st != TEST_SKIP) {
    printf("%s: exit status %d\n", name, st);
  }
  if (st != 0) { /* show what it printed: why it failed, or why it skipped */
    char buf[4096];
    ssize_t n;
    lseek(fd, 0, SEEK_SET);
    while ((n = read(fd, buf, sizeof(buf))) > 0)
      fwrite(buf, 1, (size_t)n, stdout);
  }
  close(fd);
  return st == 0 || st == TEST_SKIP ? st : 1;
}
