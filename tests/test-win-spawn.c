/* shmkit_spawn on Windows: what reaches a real child of the command line
 * (argv[0]), of the environment block and of the handles. */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <stdlib.h>
#include <winternl.h>

#include "task.h"

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
    int err = spawn_runner(&p, fine[i], "argv0_check", args, NULL);
    if (err != 0) FAIL("argv[0] \"%s\": %s", fine[i], shmkit_err_name(err));
    reap_ok(p);
  }
  for (int i = 0; refused[i] != NULL; i++) {
    const char *args[] = {refused[i], NULL};
    p = (shmkit_process *)&p;
    ASSERT_ERR(spawn_runner(&p, refused[i], "argv0_check", args, NULL),
               SHMKIT_EINVAL);
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
  ASSERT_OK(shmkit_region_token(rep, tok, sizeof(tok)));
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

/* ---- what the child holds */

/* NtQuerySystemInformation(SystemExtendedHandleInformation): every handle
 * of the system, with the process that holds it. */
typedef struct handle_entry {
  PVOID object;
  ULONG_PTR pid;
  ULONG_PTR value;
  ULONG access;
  USHORT backtrace;
  USHORT type_index;
  ULONG attributes;
  ULONG reserved;
} handle_entry;

typedef struct handle_table {
  ULONG_PTR count;
  ULONG_PTR reserved;
  handle_entry entries[1];
} handle_table;

typedef LONG(NTAPI *query_system_fn)(ULONG, void *, ULONG, ULONG *);
typedef LONG(NTAPI *query_object_fn)(HANDLE, ULONG, void *, ULONG, ULONG *);

#define SYSTEM_EXTENDED_HANDLE_INFORMATION 64
#define OBJECT_TYPE_INFORMATION            2
#define STATUS_INFO_LENGTH_MISMATCH        ((LONG)0xC0000004L)

static FARPROC ntdll_fn(const char *name) {
  HMODULE nt = GetModuleHandleA("ntdll.dll");
  FARPROC f = nt != NULL ? GetProcAddress(nt, name) : NULL;
  if (f == NULL) FAIL("ntdll has no %s", name);
  return f;
}

/* The values of this process's handles, from the system's table (complete,
 * unlike a walk of values that stops at a gap), ending with 0. */
static ULONG_PTR *own_handles(void) {
  query_system_fn query =
      (query_system_fn)(void (*)(void))ntdll_fn("NtQuerySystemInformation");
  ULONG size = 1 << 16, got = 0;
  handle_table *t = NULL;
  ULONG_PTR *out, n = 0;
  LONG st;

  do {
    size *= 2;
    free(t);
    if ((t = malloc(size)) == NULL) FAIL("out of memory");
    st = query(SYSTEM_EXTENDED_HANDLE_INFORMATION, t, size, &got);
  } while (st == STATUS_INFO_LENGTH_MISMATCH && size < (1u << 28));
  if (st != 0) FAIL("SystemExtendedHandleInformation: status %#lx", st);
  if ((out = calloc(t->count + 1, sizeof(*out))) == NULL) FAIL("no memory");
  for (ULONG_PTR i = 0; i < t->count; i++)
    if (t->entries[i].pid == GetCurrentProcessId())
      out[n++] = t->entries[i].value;
  free(t);
  return out;
}

/* The type name of the object of handle `h`, as NtQueryObject says. */
static void type_of(HANDLE h, char *buf, size_t size) {
  query_object_fn query =
      (query_object_fn)(void (*)(void))ntdll_fn("NtQueryObject");
  union {
    UNICODE_STRING name; /* the first field of OBJECT_TYPE_INFORMATION */
    char bytes[1024];
  } info;
  ULONG got;
  LONG st = query(h, OBJECT_TYPE_INFORMATION, &info, sizeof(info), &got);

  if (st != 0) FAIL("NtQueryObject(%p): status %#lx", (void *)h, st);
  WideCharToMultiByte(CP_UTF8, 0, info.name.Buffer, info.name.Length / 2, buf,
                      (int)size - 1, NULL, NULL);
  buf[info.name.Length / 2 < size ? info.name.Length / 2 : size - 1] = '\0';
}

/* 1 for the handle of a directory: the current directory, which every
 * process holds open (Windows and Wine alike). */
static int is_directory(HANDLE h) {
  BY_HANDLE_FILE_INFORMATION fi;
  return GetFileType(h) == FILE_TYPE_DISK &&
         GetFileInformationByHandle(h, &fi) &&
         (fi.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0;
}

/* The handle of the console this process is attached to, which Windows
 * opens in a console program (the first of the second group of reserved
 * fields of the process parameters; Wine may leave it NULL). */
static HANDLE console_handle(void) {
  typedef LONG(NTAPI * query_fn)(HANDLE, ULONG, void *, ULONG, ULONG *);
  query_fn query =
      (query_fn)(void (*)(void))ntdll_fn("NtQueryInformationProcess");
  PROCESS_BASIC_INFORMATION pbi;
  LONG st = query(GetCurrentProcess(), 0 /* ProcessBasicInformation */, &pbi,
                  sizeof(pbi), NULL);

  if (st != 0) FAIL("ProcessBasicInformation: status %#lx", st);
  return pbi.PebBaseAddress->ProcessParameters->Reserved2[0];
}

/* The parent holds an inheritable section, pipe and file of its own that
 * it does not list; the child is started with one region listed, and
 * checks every handle it holds: each file (pipes are files to the system)
 * and section must be one of its standard handles or the listed region,
 * or the current directory Windows and Wine hold in every process (and on
 * Windows the console driver's own handle). A spawn that listed one
 * handle more, the parent's standard error say, fails here. */
TEST_IMPL(spawn_inherits_only_listed_win) {
  SECURITY_ATTRIBUTES sa = {sizeof(sa), NULL, TRUE};
  HANDLE section;
  shmkit_region *listed;
  shmkit_handle file;
  shmkit_process *p;
  int leaky[2];
  char tok[SHMKIT_TOKEN_MAX], sec[24], rd[24], wr[24], fil[24];
  const char *args[] = {tok, sec, rd, wr, fil, NULL};
  shmkit_spawn_options o;

  section = CreateFileMappingW(INVALID_HANDLE_VALUE, &sa, PAGE_READWRITE, 0,
                               3 * 4096, NULL);
  ASSERT(section != NULL);
  ASSERT_EQ(test_make_leaky_pair(leaky), 0);
  file = test_make_leaky_file();
  ASSERT_OK(shmkit_region_create(&listed, 4096, 0));
  ASSERT_OK(shmkit_region_token(listed, tok, sizeof(tok)));
  snprintf(sec, sizeof(sec), "%llu", (unsigned long long)(uintptr_t)section);
  snprintf(rd, sizeof(rd), "%d", leaky[0]);
  snprintf(wr, sizeof(wr), "%d", leaky[1]);
  snprintf(fil, sizeof(fil), "%lld", (long long)file);
  ASSERT_EQ(test_inheritable((shmkit_handle)section), 1);
  ASSERT_EQ(test_inheritable(file), 1);

  memset(&o, 0, sizeof(o));
  o.regions = &listed;
  o.region_count = 1;
  ASSERT_OK(spawn_runner(&p, NULL, "held_handles", args, &o));
  reap_ok(p);
  /* And with SHMKIT_SPAWN_CLOSE_OTHERS, which on Windows changes nothing. */
  o.flags = SHMKIT_SPAWN_CLOSE_OTHERS;
  ASSERT_OK(spawn_runner(&p, NULL, "held_handles", args, &o));
  reap_ok(p);

  shmkit_region_close(listed);
  test_close_handle(file);
  test_close_leaky_pair(leaky);
  CloseHandle(section);
  return 0;
}

/* argv: the listed region's token, then the parent's unlisted section,
 * pipe ends and file (their values there, for the messages). */
CHILD_IMPL(held_handles) {
  HANDLE std[3] = {GetStdHandle(STD_INPUT_HANDLE),
                   GetStdHandle(STD_OUTPUT_HANDLE),
                   GetStdHandle(STD_ERROR_HANDLE)};
  ULONG_PTR *held = own_handles(), region;
  shmkit_region *r;
  char walked[2048];
  int files = 0, sections = 0;

  ASSERT_EQ(argc, 5);
  /* The value, before shmkit opens anything (adopting checks, and maps to
   * measure). */
  region = (ULONG_PTR)strtoull(strchr(argv[0], ':') + 1, NULL, 10);
  walked[0] = ' ';
  test_list_handles(walked + 1, sizeof(walked) - 1);
  for (size_t i = 0; held[i] != 0; i++) {
    HANDLE h = (HANDLE)held[i];
    char type[64], item[32];
    int ok = 0;

    /* Both ways of finding them agree (walking the values is what
     * test_list_handles does). */
    snprintf(item, sizeof(item), " %lu ", (unsigned long)held[i]);
    if (strstr(walked, item) == NULL)
      FAIL("handle%snot found by walking the values:%s", item, walked);
    type_of(h, type, sizeof(type));
    if (strcmp(type, "Section") == 0) {
      ok = held[i] == region;
      sections++;
    } else if (strcmp(type, "File") == 0) {
      for (int k = 0; k < 3; k++) ok |= h == std[k];
      ok = ok || is_directory(h) || (h != NULL && h == console_handle());
      files++;
    } else {
      continue; /* keys, events, threads: the system's and Wine's own */
    }
    if (!ok)
      FAIL("the child holds %s handle %lu, which is neither a standard "
           "handle (%p %p %p) nor the listed region (%lu); the parent's "
           "unlisted section, pipe and file were %s, %s %s and %s",
           type, (unsigned long)held[i], (void *)std[0], (void *)std[1],
           (void *)std[2], (unsigned long)region, argv[1], argv[2], argv[3],
           argv[4]);
  }
  ASSERT_EQ(sections, 1);
  ASSERT(files >= 1);
  ASSERT_OK(shmkit_region_from_token(&r, argv[0]));
  ASSERT_EQ(shmkit_region_size(r), 4096);
  shmkit_region_close(r);
  free(held);
  return 0;
}
