/* Spawn benchmark: what one spawn + wait + reap cycle costs through
 * shmkit_spawn(), with one region inherited, against a plain posix_spawn of
 * the same program that hands down the same descriptor the way a careful
 * user would by hand.
 *
 * The child is this program again, as "shmkit-bench-spawn --child TOKEN": it
 * checks that the token's descriptor is open (one fcntl) and exits 0, so that
 * it costs little and the same on both sides. Both sides start it with the
 * same file, the same argv, this process's environment, and the same
 * descriptor: the region's own (a 4 KiB memfd, or with SHMKIT_PORTABLE an
 * unlinked shm object), created once before any timing. Sharing it keeps argv
 * byte for byte identical and puts the close-others boundary at the same
 * place; a second descriptor made for the raw side would sit above or below
 * the region's, and one side's close-others would then have one more to
 * close.
 *
 * The raw cycle, per spawn (file actions built anew, as a spawn function
 * would):
 *   posix_spawn_file_actions_init, adddup2(fd, fd) (clears close-on-exec in
 *   the child only), posix_spawn(file actions, no attributes, environ),
 *   posix_spawn_file_actions_destroy, waitpid(pid, 0).
 *   close-others: also addclose of each descriptor open between 2 and fd
 *   (normally none, found once before timing), then
 *   posix_spawn_file_actions_addclosefrom_np(fd + 1) (glibc 2.34).
 *
 * What shmkit does on top (src/spawn.c, src/posix/spawn.c), and the raw cycle
 * does not:
 *   - parent: malloc + free of the process object and of the handle array;
 *     the child's environment as a malloc'd array of this one's pointers
 *     (environ counted and copied: build_env);
 *   - parent: fcntl(fd, F_GETFD) per listed region, to fail with
 *     SHMKIT_EBADF rather than in the child;
 *   - posix_spawnattr_init + setsigmask(empty) + setsigdefault(all signals)
 *     + setflags(SETSIGMASK | SETSIGDEF) + destroy, no system call. In the
 *     child, before the exec, glibc then sets every signal to SIG_DFL with one
 *     rt_sigaction each; without SETSIGDEF (raw) it reads each disposition
 *     first and then sets it, so here the raw child makes more system calls
 *     (glibc 2.36, strace: 64 rt_sigaction per shmkit child, 122 per raw);
 *   - Linux (not SHMKIT_PORTABLE): pidfd_open after the spawn, and close of
 *     the pidfd in shmkit_process_close (waiting forever is a plain blocking
 *     waitpid, as raw);
 *   - close-others: fcntl(F_GETFD) per descriptor between 2 and the region's,
 *     each spawn (normally none).
 *
 * How the two sides are timed and judged, in paired rounds, and the JSON that
 * --json prints: bench/common.h. The exit status is 0 whatever the ratio, and
 * 1 only when a call fails or a child does not exit 0. */
#define _GNU_SOURCE /* glibc: posix_spawn_file_actions_addclosefrom_np */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "shmkit.h"

#ifndef SHMKIT_BENCH_LINUX_EXT
/* Only bench/CMakeLists.txt knows which backend the library was built with. */
#  error "SHMKIT_BENCH_LINUX_EXT must be defined (0 or 1) by the build"
#endif

#define REGION_SIZE 4096
#define MAX_LOW_FDS 64

/* Exit codes of the child mode, other than 0. */
#define CHILD_BAD_ARGS 3 /* not "--child shmkit1:<fd>:..." */
#define CHILD_NO_FD    4 /* the token's descriptor is not open */

extern char **environ;

static const char progname[] = "shmkit-bench-spawn";
static char self[PATH_MAX]; /* this program, which is also the child */
static char token[SHMKIT_TOKEN_MAX];
static char *child_argv[4];      /* {self, "--child", token, NULL} */
static shmkit_region *region;    /* the one both sides hand down */
static int region_fd;            /* its descriptor */
static int low_fds[MAX_LOW_FDS]; /* open descriptors between 2 and region_fd */
static int low_count;

/* ---------------------------------------------------------------- child */

/* The whole child: no allocation, no output, one system call. */
static int child_main(int argc, char **argv) {
  const char *t;
  char *end;
  long fd;

  if (argc != 3 || strncmp(argv[2], "shmkit1:", 8) != 0) return CHILD_BAD_ARGS;
  t = argv[2] + 8;
  errno = 0;
  fd = strtol(t, &end, 10);
  if (errno != 0 || end == t || *end != ':' || fd < 0 || fd > INT_MAX)
    return CHILD_BAD_ARGS;
  return fcntl((int)fd, F_GETFD) >= 0 ? 0 : CHILD_NO_FD;
}

/* ---------------------------------------------------------------- errors */

static const char *case_name(unsigned flags) {
  return flags & SHMKIT_SPAWN_CLOSE_OTHERS ? "close-others" : "inherit";
}

static void die_shmkit(const char *call, unsigned flags, int err) {
  fprintf(stderr, "%s: %s (%s) failed: %s (%s)\n", progname, call,
          case_name(flags), shmkit_strerror(err), shmkit_err_name(err));
  exit(1);
}

static void die_errno(const char *call, unsigned flags, int e) {
  fprintf(stderr, "%s: raw %s (%s) failed: %s\n", progname, call,
          case_name(flags), strerror(e));
  exit(1);
}

static void die_child(const char *side, unsigned flags, int code, int sig) {
  fprintf(stderr, "%s: %s child (%s) ", progname, side, case_name(flags));
  if (sig != 0)
    fprintf(stderr, "was killed by signal %d\n", sig);
  else if (code == CHILD_BAD_ARGS)
    fprintf(stderr, "exited with %d: bad arguments\n", code);
  else if (code == CHILD_NO_FD)
    fprintf(stderr, "exited with %d: descriptor %d not inherited\n", code,
            region_fd);
  else
    fprintf(stderr, "exited with %d\n", code);
  exit(1);
}

/* ---------------------------------------------------------------- cycles */

/* A case's context is its spawn flags. */
static void shmkit_cycle(void *ctx) {
  unsigned flags = *(const unsigned *)ctx;
  shmkit_spawn_options o;
  shmkit_process *p;
  int err, code, sig;

  memset(&o, 0, sizeof(o));
  o.file = self;
  o.argv = (const char *const *)child_argv;
  o.regions = &region;
  o.region_count = 1;
  o.flags = flags;
  if ((err = shmkit_spawn(&p, &o)) != 0) die_shmkit("shmkit_spawn", flags, err);
  if ((err = shmkit_process_wait(p, -1, &code, &sig)) != 0)
    die_shmkit("shmkit_process_wait", flags, err);
  if (code != 0 || sig != 0) die_child("shmkit", flags, code, sig);
  shmkit_process_close(p);
}

static void raw_cycle(void *ctx) {
  unsigned flags = *(const unsigned *)ctx;
  posix_spawn_file_actions_t fa;
  pid_t pid;
  int r, status;

  if ((r = posix_spawn_file_actions_init(&fa)) != 0)
    die_errno("posix_spawn_file_actions_init", flags, r);
  if ((r = posix_spawn_file_actions_adddup2(&fa, region_fd, region_fd)) != 0)
    die_errno("posix_spawn_file_actions_adddup2", flags, r);
  if (flags & SHMKIT_SPAWN_CLOSE_OTHERS) {
#ifdef SHMKIT_BENCH_HAVE_ADDCLOSEFROM
    for (int i = 0; i < low_count; i++)
      if ((r = posix_spawn_file_actions_addclose(&fa, low_fds[i])) != 0)
        die_errno("posix_spawn_file_actions_addclose", flags, r);
    if ((r = posix_spawn_file_actions_addclosefrom_np(&fa, region_fd + 1)) != 0)
      die_errno("posix_spawn_file_actions_addclosefrom_np", flags, r);
#else
    die_errno("posix_spawn_file_actions_addclosefrom_np", flags, ENOSYS);
#endif
  }
  r = posix_spawn(&pid, self, &fa, NULL, child_argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (r != 0) die_errno("posix_spawn", flags, r);
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) die_errno("waitpid", flags, errno);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    die_child("raw", flags, WIFEXITED(status) ? WEXITSTATUS(status) : 0,
              WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* ---------------------------------------------------------------- setup */

/* The path of this program, for the child: the kernel's answer where there
 * is /proc, else argv[0] made absolute. */
static void find_self(const char *argv0) {
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

  if (n > 0) {
    self[n] = '\0';
    return;
  }
  if (realpath(argv0, self) == NULL) {
    fprintf(stderr, "%s: cannot find this program (%s): %s\n", progname, argv0,
            strerror(errno));
    exit(1);
  }
}

/* The region both sides hand down, its token, the child's argv, and the
 * descriptors below the region's that close-others must close. */
static void setup(void) {
  int err;

  if ((err = shmkit_region_create(&region, REGION_SIZE, 0)) != 0)
    die_shmkit("shmkit_region_create", 0, err);
  region_fd = (int)shmkit_region_handle(region);
  if ((err = shmkit_region_token(region, token, sizeof(token))) != 0)
    die_shmkit("shmkit_region_token", 0, err);
  child_argv[0] = self;
  child_argv[1] = "--child";
  child_argv[2] = token;
  child_argv[3] = NULL;
  for (int fd = 3; fd < region_fd; fd++)
    if (fcntl(fd, F_GETFD) >= 0 && low_count < MAX_LOW_FDS)
      low_fds[low_count++] = fd;
}

/* ---------------------------------------------------------------- main */

/* What the two sides do on this system; the rest of the header is
 * bench/common.c's. */
static void print_header(void) {
  size_t env_count = 0;

  while (environ != NULL && environ[env_count] != NULL) env_count++;
  printf("shmkit spawn cycle: spawn + wait + reap of this program as a child "
         "that checks\n"
         "its token's descriptor (one fcntl) and exits 0\n");
  printf("both sides:   argv {self, --child, TOKEN}, this environment (%zu "
         "variables),\n"
         "              fd %d passed by adddup2(fd, fd): the region, %d B "
         "%s\n",
         env_count, region_fd, REGION_SIZE,
#if SHMKIT_BENCH_LINUX_EXT
         "memfd"
#else
         "shm object"
#endif
  );
  printf("raw:          file_actions_init + adddup2 + posix_spawn (no "
         "attributes) +\n"
         "              file_actions_destroy + waitpid; close-others: also\n"
         "              addclosefrom_np(fd + 1)");
  if (low_count > 0)
    printf(" +\n              addclose of the %d descriptor(s) open below "
           "fd %d",
           low_count, region_fd);
  printf("\n"
         "shmkit also:  malloc + free of the process object, the handle "
         "array and the\n"
         "              environment array (environ counted and copied);\n"
         "              fcntl(F_GETFD) per region; posix_spawnattr "
         "setsigmask(empty) +\n"
         "              setsigdefault(all), so glibc's child sets each "
         "signal to SIG_DFL\n"
         "              (raw's reads each one's disposition first, then "
         "sets it);\n");
#if SHMKIT_BENCH_LINUX_EXT
  printf("              pidfd_open after the spawn, close of it in "
         "shmkit_process_close;\n");
#else
  printf("              no pidfd (SHMKIT_PORTABLE or not Linux);\n");
#endif
  printf("              close-others: fcntl(F_GETFD) per descriptor below "
         "fd %d (%d open)\n",
         region_fd, low_count);
}

int main(int argc, char **argv) {
  static const unsigned cases[] = {0, SHMKIT_SPAWN_CLOSE_OTHERS};
  static const bench_spec spec = {
      .name = "spawn",
      .progname = progname,
      .header = print_header,
      .columns = {{"case", 12}, {"shmkit us/spawn", 15}, {"raw us/spawn", 12}},
      .micro = 1,
      .usage_extra = "(shmkit-bench-spawn --child TOKEN is the child both "
                     "sides start)",
      .defaults = {21, 250},
      .quick = {9, 75},
  };
  bench b;

  /* The child: before anything else, so that it stays cheap. */
  if (argc >= 2 && strcmp(argv[1], "--child") == 0)
    return child_main(argc, argv);

  bench_start(&b, &spec, argc, argv);
  find_self(argv[0]);
  setup();
  bench_begin(&b);
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    unsigned flags = cases[i];
    bench_case c = {case_name(flags), NULL, shmkit_cycle, raw_cycle, &flags, 0};

#ifndef SHMKIT_BENCH_HAVE_ADDCLOSEFROM
    if (flags & SHMKIT_SPAWN_CLOSE_OTHERS) {
      bench_skip(&b, c.name,
                 "no posix_spawn_file_actions_addclosefrom_np (glibc < 2.34)");
      continue;
    }
#endif
    bench_run(&b, &c);
  }
  shmkit_region_close(region);
  return bench_finish(&b);
}
