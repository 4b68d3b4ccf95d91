/* shmkit_spawn on Windows: the command line's length limit and cmd.exe's
 * own parsing of a batch file's arguments. */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <stdlib.h>

#include "task.h"

/* `count` copies of the UTF-8 character `ch`, then `tail`, in a new string. */
static char *repeat(const char *ch, size_t count, const char *tail) {
  size_t len = strlen(ch), n = 0;
  char *s = malloc(len * count + strlen(tail) + 1);

  ASSERT(s != NULL);
  for (size_t i = 0; i < count; i++, n += len) memcpy(s + n, ch, len);
  strcpy(s + n, tail);
  return s;
}

/* Spawns `long_arg_check` with `arg` last: 0 if it ran and saw the
 * argument whole, else the error of shmkit_spawn. */
static int spawn_long(const char *arg) {
  char len[24];
  const char *args[] = {len, arg, NULL};
  shmkit_process *p = (shmkit_process *)&p;
  int err;

  snprintf(len, sizeof(len), "%05u", (unsigned)strlen(arg));
  if ((err = spawn_runner(&p, "t", "long_arg_check", args, NULL)) != 0) {
    ASSERT_NULL(p);
    return err;
  }
  reap_ok(p);
  return 0;
}

/* CreateProcessW takes a command line of at most 32,767 UTF-16 characters
 * with its terminating NUL. One longer, as quoted, is SHMKIT_E2BIG before
 * anything starts; one exactly that long runs. The prefix before the last
 * argument, `t --child long_arg_check NNNNN `, is 31 characters, which
 * leaves 32,735 for it. */
TEST_IMPL(spawn_command_line_limit_win) {
  static const struct {
    const char *unit; /* repeated `count` times, then `tail` */
    size_t count;
    const char *tail;
    int want;
  } cases[] = {
      {"x", 32735, "", 0},
      {"x", 32736, "", SHMKIT_E2BIG},
      /* Counted in UTF-16 units, not bytes or characters: U+1F600 is two. */
      {"\xF0\x9F\x98\x80", 16367, "x", 0},
      {"\xF0\x9F\x98\x80", 16368, "", SHMKIT_E2BIG},
      /* Counted as quoted: each '"' is sent as \", the whole in quotes. */
      {"\"", 16366, "x", 0},
      {"\"", 16367, "", SHMKIT_E2BIG},
      /* Far beyond, where a length could wrap a narrower count. */
      {"x", 70000, "", SHMKIT_E2BIG},
  };
  int before = test_open_handles();

  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *s = repeat(cases[i].unit, cases[i].count, cases[i].tail);
    int err = spawn_long(s);

    free(s);
    if (err != cases[i].want)
      FAIL("case %u: got %s, want %s", (unsigned)i, shmkit_err_name(err),
           shmkit_err_name(cases[i].want));
  }
  ASSERT_EQ(test_open_handles(), before);
  return 0;
}

/* argv: the UTF-8 length of the last argument, then that argument: read
 * back from the system's command line (the C runtime's argv is in the ANSI
 * code page). */
CHILD_IMPL(long_arg_check) {
  char **sys;
  int n;

  ASSERT_EQ(argc, 2);
  n = test_system_argv(&sys);
  ASSERT_EQ(n, 5);
  ASSERT_EQ(strlen(sys[4]), strtoul(argv[0], NULL, 10));
  return 0;
}

/* A .bat or .cmd program runs under cmd.exe, which reads its command line
 * by its own rules: an argument that is safe for CommandLineToArgvW, such
 * as "&echo INJECTED>file&rem , ran a command. Each argument reaches the
 * script whole, quoted (what %1 shows), and one that no quoting can make
 * safe for cmd.exe is refused before anything starts. */
static int batch_run(const char *file, const char *const *args) {
  const char *argv[8];
  shmkit_spawn_options o;
  shmkit_process *p;
  int n = 0, err, code = -1;

  argv[n++] = file;
  while (*args != NULL) argv[n++] = *args++;
  argv[n] = NULL;
  memset(&o, 0, sizeof(o));
  o.file = file;
  o.argv = argv;
  if ((err = shmkit_spawn(&p, &o)) != 0) return err;
  ASSERT_OK(shmkit_process_wait(p, 60000, &code, NULL));
  shmkit_process_close(p);
  ASSERT_EQ(code, 0);
  return 0;
}

TEST_IMPL(spawn_batch_arguments_win) {
  /* One redirection a line: Wine's cmd.exe applies one put before a
   * parenthesized block to its first line only. */
  static const char script[] = "@echo off\r\n"
                               "echo [%1]>\"%~dpn0.txt\"\r\n"
                               "echo [%2]>>\"%~dpn0.txt\"\r\n"
                               "echo [%3]>>\"%~dpn0.txt\"\r\n"
                               "echo [%4]>>\"%~dpn0.txt\"\r\n"
                               "echo [%5]>>\"%~dpn0.txt\"\r\n";
  static const char *const fine[] = {
      "a b", "x&y", "t\\", "c^d|e<f>(g),;=", "", NULL};
  static const char want[] = "[\"a b\"]\r\n[\"x&y\"]\r\n[\"t\\\\\"]\r\n"
                             "[\"c^d|e<f>(g),;=\"]\r\n[\"\"]\r\n";
  static const char *const unsafe[] = {"\"&echo INJECTED>inj.txt&rem ",
                                       "%PATH%", "x!y", "a\nb", "a\rb"};
  char bat[MAX_PATH + 32], upper[MAX_PATH + 32], out[MAX_PATH + 32];
  char got[256];
  size_t n;
  FILE *f;
  int before = test_open_handles();

  snprintf(bat, sizeof(bat), "%s.args-%lu.bat", test_self_path(),
           (unsigned long)GetCurrentProcessId());
  snprintf(out, sizeof(out), "%s.args-%lu.txt", test_self_path(),
           (unsigned long)GetCurrentProcessId());
  snprintf(upper, sizeof(upper), "%s.args-%lu.CMD", test_self_path(),
           (unsigned long)GetCurrentProcessId());
  if ((f = fopen(bat, "wb")) == NULL) FAIL("fopen %s", bat);
  fputs(script, f);
  fclose(f);
  if (!CopyFileA(bat, upper, FALSE)) FAIL("CopyFile %s", upper);

  ASSERT_OK(batch_run(bat, fine));
  if ((f = fopen(out, "rb")) == NULL) FAIL("the script wrote no %s", out);
  n = fread(got, 1, sizeof(got) - 1, f);
  got[n] = '\0';
  fclose(f);
  ASSERT_STR_EQ(got, want);
  test_remove(out);

  for (size_t i = 0; i < sizeof(unsafe) / sizeof(unsafe[0]); i++) {
    const char *one[] = {"fine", unsafe[i], NULL};
    ASSERT_ERR(batch_run(bat, one), SHMKIT_EINVAL);
    ASSERT_ERR(batch_run(upper, one), SHMKIT_EINVAL); /* .CMD: the same */
  }
  {
    /* The program's own name goes through cmd.exe too. */
    const char *none[] = {NULL};
    ASSERT_ERR(batch_run("C:\\no\"such&dir\\x.bat", none), SHMKIT_EINVAL);
  }
  ASSERT_EQ(GetFileAttributesA(out), INVALID_FILE_ATTRIBUTES);
  ASSERT_EQ(GetFileAttributesA("inj.txt"), INVALID_FILE_ATTRIBUTES);
  test_remove(bat);
  test_remove(upper);
  ASSERT_EQ(test_open_handles(), before);
  return 0;
}
