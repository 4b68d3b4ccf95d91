/* The Windows half of the runner: processes, timeouts, handle counts. Runs
 * on Windows and under Wine. */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <psapi.h>
#include <sddl.h>
#include <shellapi.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "task.h"

static char self[MAX_PATH * 3];
static DWORD timeout_ms_;

static DWORD WINAPI watchdog(void *arg) {
  (void)arg;
  Sleep(timeout_ms_);
  fprintf(stderr, "timed out after %lu ms\n", (unsigned long)timeout_ms_);
  fflush(stderr);
  TerminateProcess(GetCurrentProcess(), 124);
  return 0;
}

/* argv0_check (test-win-spawn.c) gets program names that Wine's C runtime
 * splits by the rule of the other arguments, not the program name's: a
 * quoted one that ends in a backslash swallows the arguments after it. That
 * child is found by the system's split, so that it runs under Wine too. */
static void run_argv0_check(void) {
  char **sys;
  int n = test_system_argv(&sys);

  if (n >= 3 && strcmp(sys[1], "--child") == 0 &&
      strcmp(sys[2], "argv0_check") == 0)
    exit(test_run_child(sys[2], n - 3, sys + 3));
}

void test_platform_init(int timeout_s) {
  wchar_t w[MAX_PATH];
  HANDLE t;

  if (GetModuleFileNameW(NULL, w, MAX_PATH) == 0) FAIL("GetModuleFileName");
  WideCharToMultiByte(CP_UTF8, 0, w, -1, self, sizeof(self), NULL, NULL);
  /* No error dialogs: a test that crashes must end, not wait for a click. */
  SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX);
  timeout_ms_ = (DWORD)timeout_s * 1000;
  t = CreateThread(NULL, 0, watchdog, NULL, 0, NULL);
  if (t != NULL) CloseHandle(t);
  run_argv0_check();
}

const char *test_self_path(void) {
  return self;
}

int test_linux_ext(void) {
  return 0;
}

const char *test_name(char buf[32], const char *tag) {
  snprintf(buf, 32, "t%lu-%s", (unsigned long)GetCurrentProcessId(), tag);
  return buf;
}

static wchar_t *wide(const char *s) {
  int n = MultiByteToWideChar(CP_UTF8, 0, s, -1, NULL, 0);
  wchar_t *w = malloc((size_t)n * sizeof(*w));
  if (w == NULL) FAIL("out of memory");
  MultiByteToWideChar(CP_UTF8, 0, s, -1, w, n);
  return w;
}

/* A command line of simple arguments (no quotes inside any). */
static wchar_t *command_line(const char *const *argv) {
  char line[8192];
  size_t n = 0;

  for (int i = 0; argv[i] != NULL; i++)
    n += (size_t)snprintf(line + n, sizeof(line) - n, "%s\"%s\"", i ? " " : "",
                          argv[i]);
  return wide(line);
}

static HANDLE start(const char *const *argv, HANDLE inherit, HANDLE out) {
  STARTUPINFOW si;
  PROCESS_INFORMATION pi;
  wchar_t *app = wide(self), *line = command_line(argv);
  BOOL ok;

  memset(&si, 0, sizeof(si));
  si.cb = sizeof(si);
  if (out != NULL) {
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
    si.hStdOutput = out;
    si.hStdError = out;
  }
  if (inherit != NULL)
    SetHandleInformation(inherit, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT);
  ok = CreateProcessW(app, line, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi);
  if (inherit != NULL) SetHandleInformation(inherit, HANDLE_FLAG_INHERIT, 0);
  free(app);
  free(line);
  if (!ok) FAIL("CreateProcess: error %lu", (unsigned long)GetLastError());
  CloseHandle(pi.hThread);
  return pi.hProcess;
}

void test_spawn(test_proc *p, const char *child, const char *const *args,
                shmkit_handle inherit) {
  const char *argv[16];
  int argc = 0;

  argv[argc++] = self;
  argv[argc++] = "--child";
  argv[argc++] = child;
  while (args != NULL && *args != NULL && argc < 15) argv[argc++] = *args++;
  argv[argc] = NULL;
  p->id = (intptr_t)start(
      argv, inherit == SHMKIT_INVALID_HANDLE ? NULL : (HANDLE)inherit, NULL);
}

int test_wait(test_proc *p, int timeout_ms) {
  DWORD code;

  if (WaitForSingleObject((HANDLE)p->id, (DWORD)timeout_ms) != WAIT_OBJECT_0) {
    TerminateProcess((HANDLE)p->id, 1);
    FAIL("child still running after %d ms", timeout_ms);
  }
  GetExitCodeProcess((HANDLE)p->id, &code);
  CloseHandle((HANDLE)p->id);
  return (int)code;
}

/* Handle values are multiples of 4 from 4 up, handed out lowest first, so
 * probing them walks the table; 256 free values in a row end it. (Wine's
 * GetProcessHandleCount says 0, and every probe is a wineserver call.) */
static int walk_handles(char *buf, size_t size) {
  size_t n = 0;
  DWORD flags;
  int count = 0, misses = 0;

  if (buf != NULL) buf[0] = '\0';
  for (uintptr_t h = 4; misses < 256; h += 4) {
    if (!GetHandleInformation((HANDLE)h, &flags)) {
      misses++;
      continue;
    }
    misses = 0;
    count++;
    if (buf != NULL) {
      n += (size_t)snprintf(buf + n, size - n, "%lu ", (unsigned long)h);
      if (n >= size) FAIL("too many handles for the buffer");
    }
  }
  return count;
}

int test_handle_ready(shmkit_handle h, int timeout_ms) {
  DWORD r = WaitForSingleObject((HANDLE)h, (DWORD)timeout_ms);

  ASSERT(r == WAIT_OBJECT_0 || r == WAIT_TIMEOUT);
  return r == WAIT_OBJECT_0;
}

int test_open_handles(void) {
  return walk_handles(NULL, 0);
}

int test_mapping_count(int shared_only) {
  MEMORY_BASIC_INFORMATION mi;
  char *p = NULL;
  int n = 0;

  (void)shared_only; /* every mapped view is of a section: shared */

  /* One mapped view is one allocation, of one or more regions in a row. */
  while (VirtualQuery(p, &mi, sizeof(mi)) == sizeof(mi)) {
    if (mi.Type == MEM_MAPPED && mi.BaseAddress == mi.AllocationBase) n++;
    p = (char *)mi.BaseAddress + mi.RegionSize;
  }
  return n;
}

long test_rss_kb(void) {
  PROCESS_MEMORY_COUNTERS pmc;

  /* K32GetProcessMemoryInfo (kernel32, Windows 7 and later): no psapi. */
  if (!GetProcessMemoryInfo(GetCurrentProcess(), &pmc, sizeof(pmc))) return -1;
  return (long)(pmc.WorkingSetSize / 1024);
}

int64_t test_now_us(void) {
  LARGE_INTEGER f, c;
  QueryPerformanceFrequency(&f);
  QueryPerformanceCounter(&c);
  return (int64_t)(c.QuadPart / f.QuadPart * 1000000 +
                   c.QuadPart % f.QuadPart * 1000000 / f.QuadPart);
}

char *test_list_handles(char *buf, size_t size) {
  walk_handles(buf, size);
  return buf;
}

shmkit_handle test_dup_handle(shmkit_handle h) {
  HANDLE self_ = GetCurrentProcess(), out;
  if (!DuplicateHandle(self_, (HANDLE)h, self_, &out, 0, FALSE,
                       DUPLICATE_SAME_ACCESS))
    FAIL("DuplicateHandle: %lu", (unsigned long)GetLastError());
  return (shmkit_handle)out;
}

int test_inheritable(shmkit_handle h) {
  DWORD flags;
  if (!GetHandleInformation((HANDLE)h, &flags)) FAIL("GetHandleInformation");
  return (flags & HANDLE_FLAG_INHERIT) != 0;
}

int test_crashed(int status) {
  return (DWORD)status == 0xC0000005u; /* STATUS_ACCESS_VIOLATION */
}

static LONG WINAPI plain_exit(EXCEPTION_POINTERS *e) {
  TerminateProcess(GetCurrentProcess(), e->ExceptionRecord->ExceptionCode);
  return EXCEPTION_EXECUTE_HANDLER;
}

void test_plain_crashes(void) {
  SetUnhandledExceptionFilter(plain_exit);
}

typedef struct thread_call {
  void (*fn)(void *);
  void *arg;
} thread_call;

static DWORD WINAPI thread_main(void *p) {
  thread_call c = *(thread_call *)p;
  free(p);
  c.fn(c.arg);
  return 0;
}

void test_thread_start(test_thread *t, void (*fn)(void *), void *arg) {
  thread_call *c = malloc(sizeof(*c));
  HANDLE h;

  if (c == NULL) FAIL("out of memory");
  c->fn = fn;
  c->arg = arg;
  if ((h = CreateThread(NULL, 0, thread_main, c, 0, NULL)) == NULL)
    FAIL("CreateThread: %lu", GetLastError());
  t->id = (intptr_t)h;
}

void test_thread_join(test_thread *t) {
  WaitForSingleObject((HANDLE)t->id, INFINITE);
  CloseHandle((HANDLE)t->id);
}

void test_sleep_ms(int ms) {
  Sleep((DWORD)ms);
}

int test_setenv(const char *name, const char *value) {
  /* Both the process's block (what a child inherits) and the C runtime's
   * copy (what getenv reads). */
  return SetEnvironmentVariableA(name, value) && _putenv_s(name, value) == 0
             ? 0
             : -1;
}

void test_temp_dir(char *buf, size_t size) {
  char tmp[MAX_PATH];
  GetTempPathA(sizeof(tmp), tmp);
  snprintf(buf, size, "%sshmkit-dir-%lu", tmp,
           (unsigned long)GetCurrentProcessId());
  if (!CreateDirectoryA(buf, NULL) && GetLastError() != ERROR_ALREADY_EXISTS)
    FAIL("CreateDirectory %s", buf);
  /* The canonical spelling, as the child's GetCurrentDirectory will say. */
  {
    char full[MAX_PATH];
    if (GetFullPathNameA(buf, sizeof(full), full, NULL) != 0)
      snprintf(buf, size, "%s", full);
  }
}

void test_getcwd(char *buf, size_t size) {
  wchar_t w[MAX_PATH];
  GetCurrentDirectoryW(MAX_PATH, w);
  WideCharToMultiByte(CP_UTF8, 0, w, -1, buf, (int)size, NULL, NULL);
}

int test_make_leaky_pair(int fds[2]) {
  SECURITY_ATTRIBUTES sa = {sizeof(sa), NULL, TRUE};
  HANDLE r, w;
  if (!CreatePipe(&r, &w, &sa, 0)) return -1;
  fds[0] = (int)(intptr_t)r;
  fds[1] = (int)(intptr_t)w;
  return 0;
}

void test_close_leaky_pair(int fds[2]) {
  CloseHandle((HANDLE)(intptr_t)fds[0]);
  CloseHandle((HANDLE)(intptr_t)fds[1]);
}

shmkit_handle test_make_leaky_file(void) {
  SECURITY_ATTRIBUTES sa = {sizeof(sa), NULL, TRUE};
  char path[MAX_PATH * 2];
  HANDLE h;

  snprintf(path, sizeof(path), "%s.file-%lu", self,
           (unsigned long)GetCurrentProcessId());
  h = CreateFileA(path, GENERIC_READ | GENERIC_WRITE, 0, &sa, CREATE_ALWAYS,
                  FILE_FLAG_DELETE_ON_CLOSE, NULL);
  if (h == INVALID_HANDLE_VALUE) FAIL("CreateFile %s", path);
  return (shmkit_handle)h;
}

void test_close_handle(shmkit_handle h) {
  CloseHandle((HANDLE)h);
}

const char *test_make_file(char *buf, size_t size, const char *tag,
                           const char *content, int executable) {
  FILE *f;
  (void)executable; /* Windows has no execute bit: the format decides */
  snprintf(buf, size, "%s.%s-%lu.exe", self, tag,
           (unsigned long)GetCurrentProcessId());
  if ((f = fopen(buf, "wb")) == NULL) FAIL("fopen %s", buf);
  fputs(content, f);
  fclose(f);
  return buf;
}

void test_remove(const char *path) {
  if (!DeleteFileA(path) && !RemoveDirectoryA(path))
    FAIL("remove %s: %lu", path, (unsigned long)GetLastError());
}

int test_try_map_writable(shmkit_handle h, size_t size) {
  void *p = MapViewOfFile((HANDLE)h, FILE_MAP_WRITE, 0, 0, size);
  if (p == NULL) return 0;
  UnmapViewOfFile(p);
  return 1;
}

int test_try_resize(shmkit_handle h, uint64_t size) {
  (void)h, (void)size;
  return 0;
}

int test_kill_signal(void) {
  return 0;
}

int test_kill_exit_code(void) {
  return 1; /* TerminateProcess(h, 1) */
}

void test_die(void) {
  TerminateProcess(GetCurrentProcess(), 3);
}

void test_check_died(int exit_code, int term_signal) {
  ASSERT_EQ(term_signal, 0);
  ASSERT_EQ(exit_code, 3);
}

void test_crash(void) {
  volatile int *volatile nowhere = NULL;

  /* Under Wine an unhandled fault starts its debugger, whose exit code is
   * Wine's; Windows ends the process with the exception's code, as this
   * does (no error dialog: test_platform_init() turned it off). */
  test_plain_crashes();
  *nowhere = 1;
}

int test_crash_signal(void) {
  return 0;
}

int test_crash_exit_code(void) {
  return (int)EXCEPTION_ACCESS_VIOLATION; /* 0xC0000005 */
}

int test_handle_ended(shmkit_handle h, int timeout_ms) {
  DWORD r = WaitForSingleObject((HANDLE)h, (DWORD)timeout_ms);

  ASSERT(r == WAIT_OBJECT_0 || r == WAIT_TIMEOUT);
  return r == WAIT_OBJECT_0;
}

void test_self_user(char *buf, size_t size) {
  union {
    TOKEN_USER user;
    char bytes[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
  } info;
  HANDLE token;
  DWORD n;
  LPSTR text;

  if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token) ||
      !GetTokenInformation(token, TokenUser, &info, sizeof(info), &n) ||
      !ConvertSidToStringSidA(info.user.User.Sid, &text))
    FAIL("the current user's SID: %lu", (unsigned long)GetLastError());
  snprintf(buf, size, "%s", text);
  LocalFree(text);
  CloseHandle(token);
}

int64_t test_self_pid(void) {
  return GetCurrentProcessId();
}

void test_save_argv(int argc, char **argv) {
  (void)argc;
  (void)argv; /* the command line is the system's: GetCommandLineW */
}

int test_system_argv(char ***argv) {
  int n, i;
  wchar_t **w = CommandLineToArgvW(GetCommandLineW(), &n);
  char **out;

  if (w == NULL || (out = calloc((size_t)n + 1, sizeof(*out))) == NULL)
    FAIL("CommandLineToArgvW");
  for (i = 0; i < n; i++) {
    int len = WideCharToMultiByte(CP_UTF8, 0, w[i], -1, NULL, 0, NULL, NULL);
    out[i] = malloc((size_t)len);
    WideCharToMultiByte(CP_UTF8, 0, w[i], -1, out[i], len, NULL, NULL);
  }
  LocalFree(w);
  *argv = out;
  return n;
}

int test_remove_killed_names(void) {
  return 0; /* a section's name goes with its last handle */
}

int test_spawn_cycles(void) {
  return 250;
}

const char *const *test_shell_exit7(void) {
  static const char *const argv[] = {"cmd", "/c", "exit 7", NULL};
  return argv;
}

uint64_t test_system_size(uint64_t size) {
  return (size + 4095) & ~(uint64_t)4095;
}

void test_forget_name(const char *name) {
  /* A Windows name lives exactly as long as its object. */
  ASSERT_ERR(shmkit_region_remove(name), SHMKIT_ENOTSUP);
}

int test_run_isolated(const char *name, int timeout_s) {
  SECURITY_ATTRIBUTES sa = {sizeof(sa), NULL, TRUE};
  char tmp[MAX_PATH], path[MAX_PATH];
  const char *argv[] = {self, name, NULL};
  HANDLE out, p;
  DWORD code = 1, r;

  GetTempPathA(sizeof(tmp), tmp);
  GetTempFileNameA(tmp, "shk", 0, path);
  out = CreateFileA(path, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ, &sa,
                    CREATE_ALWAYS, FILE_FLAG_DELETE_ON_CLOSE, NULL);
  if (out == INVALID_HANDLE_VALUE) FAIL("CreateFile %s", path);
  p = start(argv, NULL, out);
  r = WaitForSingleObject(p, (DWORD)timeout_s * 1000);
  if (r != WAIT_OBJECT_0) {
    TerminateProcess(p, 124);
    printf("%s: timed out after %d s\n", name, timeout_s);
  } else {
    GetExitCodeProcess(p, &code);
    if (code != 0 && code != TEST_SKIP)
      printf("%s: exit status %lu\n", name, (unsigned long)code);
  }
  CloseHandle(p);
  if (code != 0) {
    char buf[4096];
    DWORD n;
    SetFilePointer(out, 0, NULL, FILE_BEGIN);
    while (ReadFile(out, buf, sizeof(buf), &n, NULL) && n > 0)
      fwrite(buf, 1, n, stdout);
  }
  CloseHandle(out);
  return code == 0 || code == TEST_SKIP ? (int)code : 1;
}
