/* The runner's plumbing: how tests and child modes are registered
 * (TEST_IMPL, CHILD_IMPL), how a failure ends a test (test_fail), and
 * everything runner.c, runner-posix.c and runner-win.c define: starting the
 * runner itself as a child, threads, clocks, handle counts and the small
 * system calls that keep the tests portable. One binary is both the runner
 * and every helper process: `shmkit-tests --child NAME ARGS...` runs the
 * child function NAME from test-list.h.
 *
 * The line with task.h: this header declares what the runner files define;
 * task.h declares what tests share on top of it (assertions, helpers.c). */
#ifndef SHMKIT_TEST_RUNNER_H
#define SHMKIT_TEST_RUNNER_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "shmkit.h"

#define TEST_IMPL(name)  int test_##name(void)
#define CHILD_IMPL(name) int child_##name(int argc, char **argv)

/* Prints where and why, then ends the process with status 1. */
#if defined(__GNUC__)
__attribute__((noreturn, format(printf, 3, 4)))
#endif
void test_fail(const char *file, int line, const char *fmt, ...);

/* ---- processes (runner-posix.c / runner-win.c) */

typedef struct test_proc {
  intptr_t id; /* pid on POSIX, process HANDLE on Windows */
} test_proc;

/* Starts this runner as `--child NAME args...` with the plain OS call (not
 * shmkit's). `inherit` is a handle the child gets at the same value, or
 * SHMKIT_INVALID_HANDLE for none. Fails the test on error. */
void test_spawn(test_proc *p, const char *child, const char *const *args,
                shmkit_handle inherit);

/* Waits for the process and returns its exit status; a process ended by a
 * signal returns 128 + the signal number. Fails the test after `timeout_ms`. */
int test_wait(test_proc *p, int timeout_ms);

/* Runs fn(arg) in a new thread; test_thread_join() waits for it. */
typedef struct test_thread {
  intptr_t id;
} test_thread;
void test_thread_start(test_thread *t, void (*fn)(void *), void *arg);
void test_thread_join(test_thread *t);

/* 1 if the handle is ready (POSIX: readable or hung up; Windows: signaled)
 * within timeout_ms, else 0: how an event loop would wait on it. */
int test_handle_ready(shmkit_handle h, int timeout_ms);

/* The number of handles (descriptors) this process has open. */
int test_open_handles(void);

/* Writes the values of this process's open handles into buf as text, each
 * followed by a space ("0 1 2 5 "), and returns buf. */
char *test_list_handles(char *buf, size_t size);

/* The number of memory mappings of this process (POSIX: lines of
 * /proc/self/maps; Windows: mapped views, found by walking VirtualQuery),
 * or with `shared_only` those that are shared (POSIX: MAP_SHARED, as views
 * are; Windows: all of them). */
int test_mapping_count(int shared_only);

/* This process's resident memory in KiB, or -1 where the system cannot
 * tell. */
long test_rss_kb(void);

/* Removes what a process of this user killed inside shmkit_region_create()
 * can leave behind, and returns how many it removed: on the portable POSIX
 * path an empty shm object "/shmkit.<16 hex digits>" when the kill fell
 * between its shm_open and its shm_unlink. 0 where nothing can be left. */
int test_remove_killed_names(void);

/* A monotonic clock in microseconds, to report durations (never to judge). */
int64_t test_now_us(void);

/* A new, close-on-exec handle for the same object. */
shmkit_handle test_dup_handle(shmkit_handle h);

/* 1 if a child started now would inherit `h` (not close-on-exec). */
int test_inheritable(shmkit_handle h);

/* 1 if an exit status from test_wait() says the process crashed on a memory
 * access (SIGSEGV or SIGBUS; an access violation on Windows). */
int test_crashed(int status);

/* Lets a memory fault end this process the plain way, even under a
 * sanitizer that would catch it and exit with status 1. */
void test_plain_crashes(void);

/* A name unique to this test process, for named regions: "t<pid>-<tag>". */
const char *test_name(char buf[32], const char *tag);

/* 1 when the Linux accelerations (memfd, seals, /proc) are built in, 0 for
 * the portable POSIX path, so tests can assert the documented behaviour of
 * each instead of skipping one. */
int test_linux_ext(void);

/* ---- small system helpers, so the tests themselves stay portable */

void test_sleep_ms(int ms);
int test_setenv(const char *name, const char *value);
/* A fresh directory of this test process, and this process's directory. */
void test_temp_dir(char *buf, size_t size);
void test_getcwd(char *buf, size_t size);
/* A pipe whose ends are inheritable, as a careless program leaves them. */
int test_make_leaky_pair(int fds[2]);
void test_close_leaky_pair(int fds[2]);
/* An inheritable handle of a regular file on disk (not shared memory). */
shmkit_handle test_make_leaky_file(void);
void test_close_handle(shmkit_handle h);
/* Writes `content` to a new file beside the runner, executable or not, and
 * returns its path (in buf). */
const char *test_make_file(char *buf, size_t size, const char *tag,
                           const char *content, int executable);
/* Removes a file or an empty directory the test made. */
void test_remove(const char *path);
/* 1 if a writable shared mapping of `h` succeeds at the system level. */
int test_try_map_writable(shmkit_handle h, size_t size);
/* 1 if the object behind `h` could be made `size` bytes long at the system
 * level (POSIX ftruncate; Windows has no call that resizes a section backed
 * by the paging file: always 0). */
int test_try_resize(shmkit_handle h, uint64_t size);
/* What shmkit_process_wait() reports for a killed process. */
int test_kill_signal(void);
int test_kill_exit_code(void);
/* Ends this process abnormally; test_check_died() checks what the parent
 * saw. */
void test_die(void);
void test_check_died(int exit_code, int term_signal);
/* Crashes this process as a bug does, the plain way (test_plain_crashes;
 * POSIX: SIGSEGV, without a core file; Windows: an access violation), and
 * what shmkit_process_wait() then reports for it. */
void test_crash(void);
int test_crash_signal(void);
int test_crash_exit_code(void);
/* 1 if `h` (shmkit_process_handle) says within timeout_ms that its process
 * has ended (POSIX: poll() reads it readable; Windows: it is signaled), 0
 * if not. */
int test_handle_ended(shmkit_handle h, int timeout_ms);

/* POSIX only: becomes the user and group nobody (65534), as a root test
 * does to start a process of another user. */
void test_become_nobody(void);

/* This process's user as shmkit_peer.user spells it, and its pid. */
void test_self_user(char *buf, size_t size);
int64_t test_self_pid(void);

/* Exit status of a test that cannot run here (ctest shows it as skipped,
 * never as passed). */
#define TEST_SKIP 77

/* What this platform and build can do, where tests must expect different
 * documented behaviour: */
enum {
  CAP_RO_ANON,       /* a read-only copy of an anonymous region */
  CAP_REMOVE_NAME,   /* removing a name (Windows: names go with the object) */
  CAP_PEER_PID,      /* the pid of a connection's peer */
  CAP_PULL,          /* shmkit_region_pull */
  CAP_LEAKY_INHERIT, /* a child gets handles the program left inheritable */
  CAP_EXACT_HANDLES, /* a process has no handles its program did not open */
  CAP_TYPE_CHECK,    /* adopting tells a regular file from shared memory */
  CAP_EXEC_BIT       /* files can be made not executable */
};

/* This process's arguments as the system parsed them, in UTF-8: argv itself
 * on POSIX; CommandLineToArgvW of the command line on Windows. Index 0 is
 * the program. */
int test_system_argv(char ***argv);

/* Keeps main's arguments for test_system_argv(). */
void test_save_argv(int argc, char **argv);

/* How many spawns a cycle test makes: 1,000 on POSIX, 100 in a sanitizer
 * build (each child pays for the sanitizer's start); 250 on Windows,
 * where under Wine a spawn takes tens of milliseconds and, by the thousand
 * next to other tests, Wine's own client calls have been seen to fail. */
int test_spawn_cycles(void);

/* argv of the system's shell running "exit 7"; argv[0] is found on PATH. */
const char *const *test_shell_exit7(void);

/* The size the system reports for an object of `size` bytes: the same on
 * POSIX, rounded up to the page on Windows (sections are made of pages). */
uint64_t test_system_size(uint64_t size);

/* Removes a name where names can be removed, else checks that removing is
 * refused as documented (Windows). */
void test_forget_name(const char *name);
int test_can(int cap);

/* Runs the child function NAME, for the runner's --child mode. */
int test_run_child(const char *name, int argc, char **argv);

/* Platform part of the runner. */
void test_platform_init(int timeout_s);
const char *test_self_path(void);
/* Runs `self NAME` as a separate process with its output in a temporary file;
 * on failure, timeout or skip prints that output. Returns 0 on success,
 * TEST_SKIP if the test skipped itself, 1 on failure. */
int test_run_isolated(const char *name, int timeout_s);

#endif /* SHMKIT_TEST_RUNNER_H */
