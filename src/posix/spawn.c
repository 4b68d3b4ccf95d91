/* POSIX processes: posix_spawn with file actions that hand the child exactly
 * the listed descriptors, and waiting with a timeout (a pidfd on Linux). */
#define _GNU_SOURCE  /* glibc: posix_spawn_file_actions_add{chdir,closefrom}_np \
                      */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../platform.h"
#include "posix.h"
#include "sys.h"

extern char **environ;

int shmkit__os_environ(char ***out) {
  static char *empty[] = {NULL};
  *out = environ != NULL ? environ : empty;
  return 0;
}

void shmkit__os_environ_free(char **env) {
  (void)env; /* environ itself */
}

int shmkit__os_env_same_name(const char *a, size_t na, const char *b,
                             size_t nb) {
  return na == nb && memcmp(a, b, na) == 0; /* names are byte strings */
}

/* Highest listed descriptor, or 2 (stderr) if none is higher. */
static int highest(const shmkit__spawn *s) {
  int max = 2;
  for (size_t i = 0; i < s->handle_count; i++)
    if ((int)s->handles[i] > max) max = (int)s->handles[i];
  return max;
}

static int listed(const shmkit__spawn *s, int fd) {
  for (size_t i = 0; i < s->handle_count; i++)
    if ((int)s->handles[i] == fd) return 1;
  return 0;
}

/* Every descriptor but 0-2 and the listed ones is closed in the child: each
 * open one up to the highest listed, then all above it at once. */
static int close_others(posix_spawn_file_actions_t *fa,
                        const shmkit__spawn *s) {
#ifdef SHMKIT_HAVE_ADDCLOSEFROM
  int max = highest(s);

  for (int fd = 3; fd < max; fd++)
    if (!listed(s, fd) && sys_fcntl(fd, F_GETFD) >= 0 &&
        sys_posix_spawn_file_actions_addclose(fa, fd) != 0)
      return SHMKIT_ENOMEM;
  return sys_posix_spawn_file_actions_addclosefrom_np(fa, max + 1) == 0
             ? 0
             : SHMKIT_ENOMEM;
#else
  (void)fa;
  (void)s;
  return SHMKIT_ENOTSUP;
#endif
}

static int file_actions(posix_spawn_file_actions_t *fa,
                        const shmkit__spawn *s) {
  /* dup2 of a descriptor onto itself clears close-on-exec in the child only
   * (POSIX 2024; glibc 2.29, musl, the BSDs): the parent's stays set, so no
   * other child of this process gets it. */
  for (size_t i = 0; i < s->handle_count; i++) {
    int fd = (int)s->handles[i];
    if (sys_fcntl(fd, F_GETFD) < 0) return shmkit__errno(errno);
    if (sys_posix_spawn_file_actions_adddup2(fa, fd, fd) != 0)
      return SHMKIT_ENOMEM;
  }
  if (s->flags & SHMKIT_SPAWN_CLOSE_OTHERS) {
    int err = close_others(fa, s);
    if (err != 0) return err;
  }
  if (s->cwd != NULL) {
#ifdef SHMKIT_HAVE_ADDCHDIR
    if (sys_posix_spawn_file_actions_addchdir_np(fa, s->cwd) != 0)
      return SHMKIT_ENOMEM;
#else
    return SHMKIT_ENOTSUP;
#endif
  }
  return 0;
}

/* The child starts with no signal blocked and every signal at its default
 * action, whatever this process set up (libuv does the same). */
static int attributes(posix_spawnattr_t *at) {
  sigset_t none, all;

  sigemptyset(&none);
  /* Not sigfillset: glibc's leaves out the two signals it keeps for itself
   * (32 and 33), its sigaddset refuses them, and its posix_spawn sets every
   * signal not in this set to SIG_IGN in the child (which runs in this
   * process's memory until exec, where no handler of ours may run); an
   * ignored signal stays ignored across exec, so every child would start
   * with them ignored. A sigset_t is a mask with one bit per signal in every
   * C library we know of (glibc, musl, the BSDs, macOS), so setting every
   * bit names every signal, those included. */
  memset(&all, 0xff, sizeof(all));
  if (sys_posix_spawnattr_setsigmask(at, &none) != 0 ||
      sys_posix_spawnattr_setsigdefault(at, &all) != 0 ||
      sys_posix_spawnattr_setflags(at, POSIX_SPAWN_SETSIGMASK |
                                           POSIX_SPAWN_SETSIGDEF))
    return SHMKIT_ENOMEM;
  return 0;
}

static int spawn_error(int e) {
  switch (e) {
  case ENOTDIR:
  case ENOENT:
    return SHMKIT_ENOENT;
  case EISDIR:
  case EACCES:
  case EPERM:
    return SHMKIT_EACCES;
  case ENOEXEC:
    return SHMKIT_ENOEXEC;
  case E2BIG: /* arguments and environment beyond ARG_MAX, or one argument
                 beyond the system's limit for one */
    return SHMKIT_E2BIG;
  default:
    return shmkit__errno(e);
  }
}

int shmkit__os_spawn(const shmkit__spawn *s, int64_t *pid,
                     shmkit_handle *proc) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  pid_t child;
  int err, r;

  if (sys_posix_spawn_file_actions_init(&fa) != 0) return SHMKIT_ENOMEM;
  if (sys_posix_spawnattr_init(&at) != 0) {
    posix_spawn_file_actions_destroy(&fa);
    return SHMKIT_ENOMEM;
  }
  if ((err = file_actions(&fa, s)) == 0 && (err = attributes(&at)) == 0) {
    /* glibc, musl and the BSDs report a failed exec (and chdir) here, not
     * as the child's exit status. */
    if (s->flags & SHMKIT_SPAWN_SEARCH_PATH)
      r = sys_posix_spawnp(&child, s->file, &fa, &at, s->argv, s->envp);
    else
      r = sys_posix_spawn(&child, s->file, &fa, &at, s->argv, s->envp);
    err = r == 0 ? 0 : spawn_error(r);
  }
  posix_spawnattr_destroy(&at);
  posix_spawn_file_actions_destroy(&fa);
  if (err != 0) return err;
  *pid = child;
  /* The pid cannot be reused before we reap it, so this pidfd is its. */
  *proc = shmkit__ext_pidfd(child);
  return 0;
}

/* A normal exit's code is 0..255, so a signal's number, negated, can never
 * be read as one: a caller that looks only at the exit code never takes a
 * crash for success. */
static void decode(int status, int *exit_code, int *term_signal) {
  *term_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -*term_signal;
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int shmkit__os_wait(int64_t pid, shmkit_handle proc, int timeout_ms,
                    int *exit_code, int *term_signal) {
  long long deadline = now_ms() + timeout_ms;
  int status, nap_us = 500;
  pid_t r;

  for (;;) {
    r = sys_waitpid((pid_t)pid, &status, timeout_ms < 0 ? 0 : WNOHANG);
    if (r == (pid_t)pid) break;
    if (r < 0 && errno != EINTR) return shmkit__errno(errno);
    if (r < 0 || timeout_ms < 0) continue;
    long long left = deadline - now_ms();
    if (left <= 0) return SHMKIT_ETIMEDOUT;
    /* Sleep until the child ends (pidfd) or, without one, a little. */
    if (shmkit__ext_pidfd_wait((int)proc, (int)left) == SHMKIT_ENOTSUP) {
      struct timespec ts = {0, (long)nap_us * 1000};
      nanosleep(&ts, NULL);
      if (nap_us < 16000) nap_us *= 2;
    }
  }
  decode(status, exit_code, term_signal);
  return 0;
}

/* 1 if child `pid` has ended, 0 if not, without collecting its status
 * (WNOWAIT), or an error. */
static int has_ended(pid_t pid) {
  siginfo_t info;

  for (;;) {
    /* Not every system clears si_pid when nothing has ended. */
    memset(&info, 0, sizeof(info));
    if (sys_waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0)
      return info.si_pid == pid;
    if (errno != EINTR) return shmkit__errno(errno);
  }
}

/* One poll() over every pidfd: a pidfd turns readable when its process
 * ends, and poll() skips the -1 of a child without one. Those are looked
 * at with waitid() between naps that double up to 16 ms, as
 * shmkit__os_wait() does for one. */
int shmkit__os_wait_any(const int64_t *pids, const shmkit_handle *procs,
                        size_t count, int timeout_ms, size_t *which) {
  struct pollfd fds[SHMKIT_WAIT_ANY_MAX];
  long long deadline = now_ms() + timeout_ms;
  int all_pidfds = 1, nap_ms = 1, r;

  for (size_t i = 0; i < count; i++) {
    fds[i].fd = (int)procs[i];
    fds[i].events = POLLIN;
    if (fds[i].fd < 0) all_pidfds = 0;
  }
  for (;;) {
    long long left = timeout_ms < 0 ? -1 : deadline - now_ms();
    int wait_ms = left < 0 && timeout_ms >= 0 ? 0 : (int)left;

    for (size_t i = 0; i < count; i++) {
      if (fds[i].fd >= 0) continue;
      if ((r = has_ended((pid_t)pids[i])) < 0) return r;
      if (r == 1) {
        *which = i;
        return 0;
      }
    }
    if (!all_pidfds && (wait_ms < 0 || wait_ms > nap_ms)) wait_ms = nap_ms;
    r = sys_poll(fds, (nfds_t)count, wait_ms);
    if (r < 0 && errno != EINTR) return shmkit__errno(errno);
    for (size_t i = 0; r > 0 && i < count; i++)
      if (fds[i].revents != 0) { /* POLLIN; or POLLNVAL, for waitpid to tell */
        *which = i;
        return 0;
      }
    if (timeout_ms >= 0 && now_ms() >= deadline) return SHMKIT_ETIMEDOUT;
    if (nap_ms < 16) nap_ms *= 2;
  }
}

int shmkit__os_kill(int64_t pid, shmkit_handle proc) {
  /* Through the pidfd where there is one: if some other code in this
   * process reaped the child (SIGCHLD ignored, a waitpid(-1) loop), the pid
   * may already be someone else's. */
  int err = shmkit__ext_pidfd_kill((int)proc);
  if (err != SHMKIT_ENOTSUP) return err;
  if (sys_kill((pid_t)pid, SIGKILL) == 0 || errno == ESRCH) return 0;
  return shmkit__errno(errno);
}

void shmkit__os_process_close(shmkit_handle proc) {
  if (proc != SHMKIT_INVALID_HANDLE) close((int)proc);
}
