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

/* ---- the environment block */

#define ENV_PREFIX "SHMKIT_T_"

/* Runs `--child NAME TOKEN` with env and env_set: 0 and the child's report
 * in want's place, or the error of shmkit_spawn. */
static int env_run(const char *child, const char *const *env,
                   const char *const *env_set, char *got, size_t size) {
  shmkit_region *rep;
  shmkit_view *v;
  shmkit_spawn_options o;
  shmkit_process *p = (shmkit_process *)&p;
  char tok[SHMKIT_TOKEN_MAX];
  const char *argv[] = {test_self_path(), "--child", child, tok, NULL};
  int err;

  ASSERT_OK(shmkit_region_create(&rep, 4096, 0));
  ASSERT(shmkit_region_token(rep, tok, sizeof(tok)) > 0);
  memset(&o, 0, sizeof(o));
  o.file = test_self_path();
  o.argv = argv;
  o.env = env;
  o.env_set = env_set;
  o.regions = &rep;
  o.region_count = 1;
  if ((err = shmkit_spawn(&p, &o)) == 0) {
    reap_ok(p);
    ASSERT_OK(shmkit_view_map(&v, rep, 0, 4096, SHMKIT_READ_ONLY));
    snprintf(got, size, "%s", (const char *)shmkit_view_data(v));
    shmkit_view_unmap(v);
  } else {
    ASSERT_NULL(p);
  }
  shmkit_region_close(rep);
  return err;
}

/* The child's block, its SHMKIT_T_ entries in their order, must be `want`
 * ("NAME=value|" each). */
static void block_is(const char *const *env, const char *const *env_set,
                     const char *want) {
  char got[4096];

  ASSERT_OK(env_run("env_block_report", env, env_set, got, sizeof(got)));
  ASSERT_STR_EQ(got, want);
}

static void refused(const char *const *env, const char *const *env_set) {
  char got[16];
  ASSERT_ERR(env_run("env_block_report", env, env_set, got, sizeof(got)),
             SHMKIT_EINVAL);
}

/* The block is one the system reads to its end (an empty string would end
 * it early), sorted as CreateProcessW documents (by name, upper-cased
 * code unit by code unit, as CompareStringOrdinal ignoring case compares),
 * with one entry per name as Windows matches names: ignoring case, also of
 * letters beyond ASCII. Of two entries that name one variable, the later
 * counts, as in env_set. */
TEST_IMPL(spawn_environment_block_win) {
  shmkit_region *r;
  int before;

  /* What the first region of a process opens once and keeps is no leak of
   * this test's. */
  ASSERT_OK(shmkit_region_create(&r, 4096, 0));
  shmkit_region_close(r);
  before = test_open_handles();

  /* What the block cannot carry is refused before anything starts. */
  {
    const char *e1[] = {ENV_PREFIX "A=1", "", ENV_PREFIX "B=2", NULL};
    const char *e2[] = {ENV_PREFIX "A", NULL};
    const char *e3[] = {"=C:=C:\\", NULL};
    const char *e4[] = {"=x", NULL};
    const char *e5[] = {ENV_PREFIX "\xff=1", NULL}; /* not UTF-8 */
    const char *s1[] = {"", NULL};
    const char *s2[] = {"=C:", NULL};
    refused(e1, NULL);
    refused(e2, NULL);
    refused(e3, NULL);
    refused(e4, NULL);
    refused(e5, NULL);
    refused(NULL, s1);
    refused(NULL, s2);
  }
  /* Sorted by name: "X" before "X0" although '=' sorts after '0'; 'a'
   * (U+00E4) upper-cased is U+00C4, before U+00C5. Nothing is lost. */
  {
    const char *env[] = {ENV_PREFIX "D=4",        ENV_PREFIX "X0=6",
                         ENV_PREFIX "\xc3\x85=8", ENV_PREFIX "b=2",
                         ENV_PREFIX "X=5",        ENV_PREFIX "\xc3\xa4=7",
                         ENV_PREFIX "A=1",        NULL};
    block_is(env, NULL,
             ENV_PREFIX "A=1|" ENV_PREFIX "b=2|" ENV_PREFIX "D=4|" ENV_PREFIX
                        "X=5|" ENV_PREFIX "X0=6|" ENV_PREFIX
                        "\xc3\xa4=7|" ENV_PREFIX "\xc3\x85=8|");
  }
  /* A=1 then a=2: one variable, the later, with its spelling. */
  {
    const char *env[] = {ENV_PREFIX "A=1", "shmkit_t_a=2", NULL};
    const char *rev[] = {"shmkit_t_a=2", ENV_PREFIX "A=1", NULL};
    const char *set[] = {"Shmkit_T_A=3", NULL};
    char got[256];
    block_is(env, NULL, "shmkit_t_a=2|");
    block_is(rev, NULL, ENV_PREFIX "A=1|");
    block_is(env, set, "Shmkit_T_A=3|");
    /* What the C runtime's getenv of the child says (test-spawn.c). */
    ASSERT_OK(env_run("env_report", env, NULL, got, sizeof(got)));
    ASSERT_STR_EQ(got, "A=2 B=- GONE=- D=-");
  }
  /* Beyond ASCII: "ÄX" and "äx" are one name too. */
  {
    const char *env[] = {ENV_PREFIX "\xc3\x84X=1", ENV_PREFIX "B=2", NULL};
    const char *dup[] = {ENV_PREFIX "\xc3\x84X=1", "shmkit_t_\xc3\xa4x=2",
                         NULL};
    const char *del[] = {"shmkit_t_\xc3\xa4x", NULL};
    const char *over[] = {"shmkit_t_\xc3\xa4x=3", NULL};
    block_is(env, del, ENV_PREFIX "B=2|");
    block_is(env, over, ENV_PREFIX "B=2|shmkit_t_\xc3\xa4x=3|");
    block_is(dup, NULL, "shmkit_t_\xc3\xa4x=2|");
    /* Inherited from this process, then removed or replaced. */
    ASSERT(SetEnvironmentVariableW(L"SHMKIT_T_\x00c4X", L"1"));
    block_is(NULL, del, "");
    block_is(NULL, over, "shmkit_t_\xc3\xa4x=3|");
    ASSERT(SetEnvironmentVariableW(L"SHMKIT_T_\x00c4X", NULL));
  }
  ASSERT_EQ(test_open_handles(), before);
  return 0;
}

/* Writes the SHMKIT_T_ entries of this process's environment block, in
 * its order, in UTF-8, into the region of the token argv[0]. */
CHILD_IMPL(env_block_report) {
  const int prefix = (int)strlen(ENV_PREFIX);
  wchar_t *block = GetEnvironmentStringsW();
  shmkit_region *r;
  shmkit_view *v;
  char *out;
  size_t n = 0;

  ASSERT_EQ(argc, 1);
  ASSERT(block != NULL);
  ASSERT_OK(shmkit_region_from_token(&r, argv[0]));
  ASSERT_OK(shmkit_view_map(&v, r, 0, 4096, SHMKIT_READ_WRITE));
  out = shmkit_view_data(v);
  for (wchar_t *e = block; *e != L'\0'; e += wcslen(e) + 1) {
    int len = (int)wcslen(e);
    if (len < prefix || CompareStringOrdinal(e, prefix, L"" ENV_PREFIX, prefix,
                                             TRUE) != CSTR_EQUAL)
      continue;
    n += (size_t)WideCharToMultiByte(CP_UTF8, 0, e, len, out + n,
                                     (int)(4000 - n), NULL, NULL);
    out[n++] = '|';
  }
  out[n] = '\0';
  FreeEnvironmentStringsW(block);
  shmkit_view_unmap(v);
  shmkit_region_close(r);
  return 0;
}
