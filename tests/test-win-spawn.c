/* shmkit_spawn on Windows: what reaches a real child of the command line
 * (argv[0]), of the environment block and of the handles. */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <stdlib.h>

#include "runner.h"

/* Starts the runner as `--child NAME args...` with `arg0` as argv[0]. */
static int spawn_as(const char *arg0, const char *child,
                    const char *const *args, shmkit_process **p) {
  const char *argv[16];
  shmkit_spawn_options o;
  int argc = 0;

  argv[argc++] = arg0;
  argv[argc++] = "--child";
  argv[argc++] = child;
  while (args != NULL && *args != NULL && argc < 15) argv[argc++] = *args++;
  argv[argc] = NULL;
  memset(&o, 0, sizeof(o));
  o.file = test_self_path();
  o.argv = argv;
  return shmkit_spawn(p, &o);
}

static void reap_ok(shmkit_process *p) {
  int code = -1, sig = -1;

  ASSERT_OK(shmkit_process_wait(p, 60000, &code, &sig));
  ASSERT_EQ(code, 0);
  shmkit_process_close(p);
}

/* ---- argv[0] */

/* Windows reads the program name, the first token of a command line, by a
 * rule of its own (CommandLineToArgvW and the C runtime alike): quoted, it
 * runs to the next quote, with no escapes; unquoted, to the first space or
 * tab. A quote in it cannot be carried and is refused; backslashes come
 * back as given, before the closing quote too. */
TEST_IMPL(spawn_argv0_win) {
  static const char *const fine[] = {"plain",
                                     "a b",
                                     "trail\\",
                                     "sp ace\\",
                                     "a\\\\ b\\\\",
                                     "tab\tx",
                                     "C:\\dir x\\p.exe",
                                     "",
                                     "caf\xc3\xa9 x",
                                     "back\\\\",
                                     NULL};
  static const char *const refused[] = {"x\\\" \"INJECTED", "\"", "q\"",
                                        "\"quoted\"", NULL};
  shmkit_process *p = NULL;
  int before = test_open_handles();

  for (int i = 0; fine[i] != NULL; i++) {
    const char *args[] = {fine[i], NULL};
    int err = spawn_as(fine[i], "argv0_check", args, &p);
    if (err != 0) FAIL("argv[0] \"%s\": %s", fine[i], shmkit_err_name(err));
    reap_ok(p);
  }
  for (int i = 0; refused[i] != NULL; i++) {
    const char *args[] = {refused[i], NULL};
    p = (shmkit_process *)&p;
    ASSERT_ERR(spawn_as(refused[i], "argv0_check", args, &p), SHMKIT_EINVAL);
    ASSERT_NULL(p);
  }
  ASSERT_EQ(test_open_handles(), before);
  return 0;
}

/* 1 under Wine, whose C runtime (unlike Windows') reads a quoted program
 * name with backslash escapes, so that one ending in a backslash comes back
 * wrong in its argv (README: what a Wine pass cannot prove). */
static int wine_crt_misreads(const char *arg0) {
  size_t n = strlen(arg0);
  HMODULE ntdll = GetModuleHandleA("ntdll.dll");

  return ntdll != NULL && GetProcAddress(ntdll, "wine_get_version") != NULL &&
         n > 0 && arg0[n - 1] == '\\' && strpbrk(arg0, " \t\n\v") != NULL;
}

/* argv: what argv[0] should be, passed as an ordinary argument (whose
 * quoting spawn_argv_roundtrip checks). Both splits of the command line,
 * the system's (UTF-8 here) and the C runtime's (ASCII only: its argv is in
 * the ANSI code page), must give back argv[0] whole and no extra argument.
 * This child is started from the system's split (runner-win.c). */
CHILD_IMPL(argv0_check) {
  char **sys;
  int n = test_system_argv(&sys);

  ASSERT_EQ(argc, 1);
  if (n != 4) FAIL("%d arguments, argv[0] \"%s\"", n, sys[0]);
  ASSERT_STR_EQ(sys[0], sys[3]);
  ASSERT_STR_EQ(argv[0], sys[3]);
  if (!wine_crt_misreads(sys[0])) {
    ASSERT_EQ(__argc, 4);
    ASSERT_STR_EQ(__argv[0], __argv[3]);
  }
  return 0;
}
