/* Windows-only behaviour: what a Wine pass can show of it (see the README on
 * what it cannot). */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <sddl.h>
#include <stdlib.h>

#include "task.h"

/* A read-only handle of an anonymous region cannot be re-duplicated to
 * write access by its holder: the section's descriptor refuses it (an
 * unnamed section would have none to refuse with). */
TEST_IMPL(readonly_no_upgrade) {
  HANDLE self = GetCurrentProcess(), up;
  shmkit_region *r, *ro;
  char name[32];

  ASSERT_OK(shmkit_region_create(&r, 4096, 0));
  ASSERT_OK(shmkit_region_dup_readonly(&ro, r));
  ASSERT(!DuplicateHandle(self, (HANDLE)shmkit_region_handle(ro), self, &up,
                          FILE_MAP_WRITE, FALSE, 0));
  ASSERT(!DuplicateHandle(self, (HANDLE)shmkit_region_handle(ro), self, &up,
                          FILE_MAP_ALL_ACCESS, FALSE, 0));
  /* On Windows the OWNER RIGHTS entry also refuses WRITE_DAC, so the owner
   * cannot rewrite the descriptor first; Wine ignores OWNER RIGHTS and
   * grants it, so that step is not asserted here (README: what a Wine pass
   * cannot prove). */
  ASSERT_EQ(test_try_map_writable(shmkit_region_handle(ro), 4096), 0);
  /* The same duplicate of the writable handle works: the creator keeps all
   * its access. */
  ASSERT(DuplicateHandle(self, (HANDLE)shmkit_region_handle(r), self, &up, 0,
                         FALSE, DUPLICATE_SAME_ACCESS));
  ASSERT_EQ(test_try_map_writable((shmkit_handle)up, 4096), 1);
  CloseHandle(up);
  shmkit_region_close(ro);
  shmkit_region_close(r);

  /* Named regions are the user's (the 0600 of POSIX): opened by name they
   * give write access to their user. */
  ASSERT_OK(shmkit_region_create_named(&r, test_name(name, "up"), 4096, 0));
  ASSERT_OK(shmkit_region_open(&ro, name, SHMKIT_READ_WRITE));
  shmkit_region_close(ro);
  shmkit_region_close(r);
  return 0;
}

/* The 64-bit size reaches CreateFileMapping in both halves. */
TEST_IMPL(region_both_size_halves) {
  shmkit_region *r;
  shmkit_view *v;
  const uint64_t size = ((uint64_t)1 << 32) + 65536 * 3;

  ASSERT_OK(shmkit_region_create(&r, size, 0));
  ASSERT_OK(shmkit_view_map(&v, r, size - 10, 10, SHMKIT_READ_WRITE));
  ((char *)shmkit_view_data(v))[9] = 7;
  shmkit_view_unmap(v);
  shmkit_region_close(r);
  return 0;
}

/* ---- Windows counterparts of POSIX-only tests (test-adopt.c,
 * test-posix.c): the same promises, made with sections and HANDLEs. */

/* "Local\NAME", the native spelling of a shmkit name (ASCII by its rules). */
static void local_name(wchar_t *buf, size_t n, const char *name) {
  size_t i = 0;
  for (const char *s = "Local\\"; *s != '\0' && i + 1 < n; s++) buf[i++] = *s;
  for (; *name != '\0' && i + 1 < n; name++) buf[i++] = (wchar_t)*name;
  buf[i] = L'\0';
}

/* A duplicate of `h` with exactly `access`, or SAME_ACCESS as `h`. */
#define SAME_ACCESS 0
static HANDLE dup_with(shmkit_handle h, DWORD access, BOOL inherit) {
  HANDLE self = GetCurrentProcess(), out;
  if (!DuplicateHandle(self, (HANDLE)h, self, &out, access, inherit,
                       access == SAME_ACCESS ? DUPLICATE_SAME_ACCESS : 0))
    FAIL("DuplicateHandle: %lu", (unsigned long)GetLastError());
  return out;
}

static int is_open(HANDLE h) {
  DWORD flags;
  return GetHandleInformation(h, &flags) != 0;
}

/* A regular file on disk, beside the runner (as test-adopt.c's). */
static HANDLE disk_file(void) {
  wchar_t path[MAX_PATH + 32];
  DWORD n = GetModuleFileNameW(NULL, path, MAX_PATH);
  HANDLE h;

  ASSERT(n > 0 && n < MAX_PATH);
  _snwprintf(path + n, 32, L".adopt-%lu", (unsigned long)GetCurrentProcessId());
  h = CreateFileW(path, GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_ALWAYS,
                  FILE_FLAG_DELETE_ON_CLOSE, NULL);
  ASSERT(h != INVALID_HANDLE_VALUE);
  return h;
}

/* Adopting a handle: checked with the system, never trusted. */
TEST_IMPL(adopt_checks_handle) {
  shmkit_region *r = (shmkit_region *)&r, *a;
  HANDLE rd, wr, ev, file, h;

  /* Not open: no handle, SHMKIT_INVALID_HANDLE (the value of the process
   * pseudo-handle too, which shmkit never takes), a free slot, beyond the
   * table. */
  ASSERT_ERR(shmkit_region_adopt(&r, 0, SHMKIT_READ_ONLY), SHMKIT_EBADF);
  ASSERT_NULL(r);
  ASSERT_ERR(shmkit_region_adopt(&r, SHMKIT_INVALID_HANDLE, SHMKIT_READ_ONLY),
             SHMKIT_EBADF);
  ASSERT(!is_open((HANDLE)(intptr_t)(999 * 4)));
  ASSERT_ERR(shmkit_region_adopt(&r, 999 * 4, SHMKIT_READ_ONLY), SHMKIT_EBADF);
  ASSERT_ERR(shmkit_region_adopt(&r, (shmkit_handle)1 << 40, SHMKIT_READ_ONLY),
             SHMKIT_EBADF);

  /* Open, but not sections; each stays the caller's. */
  ASSERT(CreatePipe(&rd, &wr, NULL, 0));
  ASSERT_ERR(shmkit_region_adopt(&r, (shmkit_handle)rd, SHMKIT_READ_ONLY),
             SHMKIT_ENOTSHM);
  ASSERT_ERR(shmkit_region_adopt(&r, (shmkit_handle)wr, SHMKIT_READ_WRITE),
             SHMKIT_ENOTSHM);
  ASSERT_NULL(r);
  ASSERT(CloseHandle(rd));
  ASSERT(CloseHandle(wr));
  ev = CreateEventW(NULL, TRUE, FALSE, NULL);
  ASSERT(ev != NULL);
  ASSERT_ERR(shmkit_region_adopt(&r, (shmkit_handle)ev, SHMKIT_READ_ONLY),
             SHMKIT_ENOTSHM);
  ASSERT(CloseHandle(ev));
  file = disk_file();
  ASSERT_ERR(shmkit_region_adopt(&r, (shmkit_handle)file, SHMKIT_READ_WRITE),
             SHMKIT_ENOTSHM);
  /* A section of that file is a section: taken, with or without
   * SECTION_QUERY, and its size is the file's, not a whole page (a view
   * cannot reach past a file-backed section's end). */
  h = CreateFileMappingW(file, NULL, PAGE_READWRITE, 0, 70007, NULL);
  ASSERT(h != NULL);
  ASSERT(CloseHandle(file));
  rd = dup_with((shmkit_handle)h, FILE_MAP_READ, FALSE);
  ASSERT_OK(shmkit_region_adopt(&r, (shmkit_handle)rd, SHMKIT_READ_ONLY));
  ASSERT_EQ(shmkit_region_size(r), 70007);
  shmkit_region_close(r);
  rd = dup_with((shmkit_handle)h, FILE_MAP_WRITE, FALSE);
  ASSERT_OK(shmkit_region_adopt(&r, (shmkit_handle)rd, SHMKIT_READ_WRITE));
  ASSERT_EQ(shmkit_region_size(r), 70007);
  shmkit_region_close(r);
  ASSERT_OK(shmkit_region_adopt(&r, (shmkit_handle)h, SHMKIT_READ_WRITE));
  ASSERT_EQ(shmkit_region_size(r), 70007);
  shmkit_region_close(r);

  /* Sections, but not with the access claimed. */
  ASSERT_OK(shmkit_region_create(&a, 100, 0));
  h = dup_with(shmkit_region_handle(a), SECTION_QUERY | FILE_MAP_READ, FALSE);
  ASSERT_ERR(shmkit_region_adopt(&r, (shmkit_handle)h, SHMKIT_READ_WRITE),
             SHMKIT_EACCES);
  ASSERT_NULL(r);
  ASSERT_ERR(shmkit_region_adopt(&r, (shmkit_handle)h, 0), SHMKIT_EINVAL);
  ASSERT_ERR(shmkit_region_adopt(&r, (shmkit_handle)h, 2), SHMKIT_EINVAL);
  ASSERT(is_open(h));
  /* ... and with it: the same handle claimed read-only is taken. */
  ASSERT_OK(shmkit_region_adopt(&r, (shmkit_handle)h, SHMKIT_READ_ONLY));
  ASSERT_EQ(shmkit_region_size(r), test_system_size(100));
  shmkit_region_close(r);
  ASSERT(!is_open(h));
  /* Mapping only, no SECTION_QUERY (how other programs hand sections
   * over): taken, with the size in whole pages. */
  h = dup_with(shmkit_region_handle(a), FILE_MAP_READ, FALSE);
  ASSERT_ERR(shmkit_region_adopt(&r, (shmkit_handle)h, SHMKIT_READ_WRITE),
             SHMKIT_EACCES);
  ASSERT_NULL(r);
  ASSERT_OK(shmkit_region_adopt(&r, (shmkit_handle)h, SHMKIT_READ_ONLY));
  ASSERT_EQ(shmkit_region_size(r), test_system_size(100));
  shmkit_region_close(r);
  ASSERT(!is_open(h));
  h = dup_with(shmkit_region_handle(a), FILE_MAP_READ | FILE_MAP_WRITE, FALSE);
  ASSERT_OK(shmkit_region_adopt(&r, (shmkit_handle)h, SHMKIT_READ_WRITE));
  ASSERT_EQ(shmkit_region_size(r), test_system_size(100));
  shmkit_region_close(r);
  /* No mapping right at all: a section, but nothing to take. */
  h = dup_with(shmkit_region_handle(a), SECTION_QUERY, FALSE);
  ASSERT_ERR(shmkit_region_adopt(&r, (shmkit_handle)h, SHMKIT_READ_ONLY),
             SHMKIT_EACCES);
  ASSERT(CloseHandle(h));
  /* Writing only (the O_WRONLY of POSIX): a read-only view needs read. */
  h = dup_with(shmkit_region_handle(a), SECTION_QUERY | FILE_MAP_WRITE, FALSE);
  ASSERT_ERR(shmkit_region_adopt(&r, (shmkit_handle)h, SHMKIT_READ_ONLY),
             SHMKIT_EACCES);
  ASSERT(CloseHandle(h));
  shmkit_region_close(a);
  ASSERT_ERR(shmkit_region_adopt(NULL, 0, SHMKIT_READ_ONLY), SHMKIT_EINVAL);
  return 0;
}

TEST_IMPL(adopt_ownership) {
  shmkit_region *r, *a = (shmkit_region *)&a;
  shmkit_view *v, *w;
  HANDLE h;

  /* The size comes from the system (whole pages), whoever made it. */
  ASSERT_OK(shmkit_region_create(&r, 12345, 0));
  h = dup_with(shmkit_region_handle(r), SAME_ACCESS, TRUE);
  ASSERT(test_inheritable((shmkit_handle)h));
  ASSERT_OK(shmkit_region_adopt(&a, (shmkit_handle)h, SHMKIT_READ_WRITE));
  ASSERT_EQ(shmkit_region_handle(a), (shmkit_handle)h);
  ASSERT_EQ(shmkit_region_size(a), test_system_size(12345));
  ASSERT(shmkit_region_size(a) != 12345); /* the rounding is really there */
  ASSERT_EQ(shmkit_region_access(a), SHMKIT_READ_WRITE);
  ASSERT_NULL(shmkit_region_name(a));
  ASSERT_EQ(test_inheritable((shmkit_handle)h), 0); /* made non-inheritable */
  /* The same memory: written through the adopted handle, read through the
   * creator's. */
  ASSERT_OK(shmkit_view_map(&v, a, 12000, 345, SHMKIT_READ_WRITE));
  strcpy(shmkit_view_data(v), "adopted");
  ASSERT_OK(shmkit_view_map(&w, r, 12000, 345, SHMKIT_READ_ONLY));
  ASSERT_STR_EQ((char *)shmkit_view_data(w), "adopted");
  shmkit_view_unmap(w);
  shmkit_view_unmap(v);
  shmkit_region_close(a); /* closes h */
  ASSERT(!is_open(h));

  /* On failure the caller keeps its handle, as it was (still inheritable). */
  h = dup_with(shmkit_region_handle(r), SAME_ACCESS, TRUE);
  ASSERT_ERR(shmkit_region_adopt(&a, (shmkit_handle)h, 99), SHMKIT_EINVAL);
  ASSERT_NULL(a);
  ASSERT(is_open(h));
  ASSERT(test_inheritable((shmkit_handle)h));
  ASSERT(CloseHandle(h));
  /* Also when the system check refuses it. */
  h = dup_with(shmkit_region_handle(r), SECTION_QUERY | FILE_MAP_READ, TRUE);
  ASSERT_ERR(shmkit_region_adopt(&a, (shmkit_handle)h, SHMKIT_READ_WRITE),
             SHMKIT_EACCES);
  ASSERT_NULL(a);
  ASSERT(is_open(h));
  ASSERT(test_inheritable((shmkit_handle)h));
  /* Adopted read-only, it stays read-only. */
  ASSERT_OK(shmkit_region_adopt(&a, (shmkit_handle)h, SHMKIT_READ_ONLY));
  ASSERT_EQ(shmkit_region_access(a), SHMKIT_READ_ONLY);
  ASSERT_EQ(test_inheritable((shmkit_handle)h), 0);
  ASSERT_ERR(shmkit_view_map(&v, a, 0, 1, SHMKIT_READ_WRITE), SHMKIT_EACCES);
  shmkit_region_close(a);
  ASSERT(!is_open(h));
  shmkit_region_close(r);
  return 0;
}

/* shmkit names are plain "Local\NAME" section names, both ways. */
TEST_IMPL(named_native_interop) {
  char name[32];
  wchar_t native[48];
  shmkit_region *r, *x;
  shmkit_view *v;
  HANDLE h;
  char *p;

  test_name(name, "native");
  local_name(native, 48, name);

  /* Made by another program, opened by shmkit. */
  h = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 5000,
                         native);
  ASSERT(h != NULL);
  ASSERT(GetLastError() != ERROR_ALREADY_EXISTS);
  p = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 5000);
  ASSERT(p != NULL);
  strcpy(p + 4500, "native");
  ASSERT_OK(shmkit_region_open(&r, name, SHMKIT_READ_WRITE));
  ASSERT_STR_EQ(shmkit_region_name(r), name);
  ASSERT_EQ(shmkit_region_size(r), test_system_size(5000));
  ASSERT_OK(shmkit_view_map(&v, r, 4500, 500, SHMKIT_READ_WRITE));
  ASSERT_STR_EQ((char *)shmkit_view_data(v), "native");
  strcpy(shmkit_view_data(v), "shmkit");
  ASSERT_STR_EQ(p + 4500, "shmkit");
  /* The name is taken for shmkit too. */
  ASSERT_ERR(shmkit_region_create_named(&x, name, 100, 0), SHMKIT_EEXIST);
  shmkit_view_unmap(v);
  shmkit_region_close(r);
  UnmapViewOfFile(p);
  ASSERT(CloseHandle(h));
  /* The name went with the object. */
  ASSERT_ERR(shmkit_region_open(&r, name, SHMKIT_READ_ONLY), SHMKIT_ENOENT);

  /* Made by shmkit, opened by another program. */
  ASSERT_OK(shmkit_region_create_named(&r, name, 3000, 0));
  ASSERT_OK(shmkit_view_map(&v, r, 0, 3000, SHMKIT_READ_WRITE));
  strcpy(shmkit_view_data(v), "from shmkit");
  h = OpenFileMappingW(FILE_MAP_READ, FALSE, native);
  ASSERT(h != NULL);
  p = MapViewOfFile(h, FILE_MAP_READ, 0, 0, 3000);
  ASSERT(p != NULL);
  ASSERT_STR_EQ(p, "from shmkit");
  UnmapViewOfFile(p);
  ASSERT(CloseHandle(h));
  ASSERT_ERR(shmkit_region_remove(name), SHMKIT_ENOTSUP);
  shmkit_view_unmap(v);
  shmkit_region_close(r);
  SetLastError(0);
  ASSERT(OpenFileMappingW(FILE_MAP_READ, FALSE, native) == NULL);
  ASSERT_EQ(GetLastError(), ERROR_FILE_NOT_FOUND);
  return 0;
}

/* A name held by another kind of object (sections share one namespace
 * with events, mutexes, semaphores...): taken for create, not shared
 * memory for open. Both calls fail with ERROR_INVALID_HANDLE (documented
 * for CreateFileMapping, seen under Wine for OpenFileMapping). */
TEST_IMPL(named_other_object_win) {
  shmkit_region *r = (shmkit_region *)&r;
  char name[32];
  wchar_t native[48];
  HANDLE m;

  local_name(native, 48, test_name(name, "mutex"));
  m = CreateMutexW(NULL, FALSE, native);
  ASSERT(m != NULL);
  ASSERT_ERR(shmkit_region_create_named(&r, name, 4096, 0), SHMKIT_EEXIST);
  ASSERT_NULL(r);
  ASSERT_ERR(shmkit_region_open(&r, name, SHMKIT_READ_ONLY), SHMKIT_ENOTSHM);
  ASSERT_ERR(shmkit_region_open(&r, name, SHMKIT_READ_WRITE), SHMKIT_ENOTSHM);
  ASSERT_NULL(r);
  ASSERT(CloseHandle(m));
  /* Gone with the mutex: the name is free again. */
  ASSERT_ERR(shmkit_region_open(&r, name, SHMKIT_READ_ONLY), SHMKIT_ENOENT);
  ASSERT_OK(shmkit_region_create_named(&r, name, 4096, 0));
  shmkit_region_close(r);
  return 0;
}

/* Calls that fail at each step, after the handle was opened where there is
 * one, and the count after each: test-posix.c's leak_failures, by Windows
 * means. */
TEST_IMPL(leak_failures) {
  unsigned seals;
  shmkit_region *r, *ro, *x;
  char name[32];
  int n, err;
  HANDLE rd, wr;

  /* kernel32 opens the session's BaseNamedObjects directory at the first
   * named object and keeps it for good (Windows and Wine): count from
   * after one. */
  ASSERT_OK(shmkit_region_create(&x, 1, 0));
  shmkit_region_close(x);
  n = test_open_handles();
#define SAME() ASSERT_EQ(test_open_handles(), n)
  test_name(name, "leakf");
  ASSERT_ERR(shmkit_region_create(&x, 0, 0), SHMKIT_EINVAL);
  SAME();
  /* Beyond what a section can be: Wine says invalid (E2BIG), Windows out of
   * memory (ENOMEM); both documented for create. */
  err = shmkit_region_create(&x, (uint64_t)INT64_MAX, 0);
  if (err != SHMKIT_E2BIG && err != SHMKIT_ENOMEM)
    FAIL("huge create: %s, want SHMKIT_E2BIG or SHMKIT_ENOMEM",
         shmkit_err_name(err));
  ASSERT_NULL(x);
  SAME();
  err = shmkit_region_create_named(&x, name, (uint64_t)INT64_MAX, 0);
  if (err != SHMKIT_E2BIG && err != SHMKIT_ENOMEM)
    FAIL("huge named create: %s, want SHMKIT_E2BIG or SHMKIT_ENOMEM",
         shmkit_err_name(err));
  ASSERT_NULL(x);
  SAME();
  leak_failures_named(name, &r, &ro);
  n = test_open_handles();
  ASSERT_ERR(shmkit_region_seal(r, SHMKIT_SEAL_GROW), SHMKIT_ENOTSUP);
  SAME();
  ASSERT_ERR(shmkit_region_seals(r, &seals), SHMKIT_ENOTSUP);
  SAME();
  ASSERT_ERR(shmkit_region_remove(name), SHMKIT_ENOTSUP);
  SAME();

  ASSERT(CreatePipe(&rd, &wr, NULL, 0));
  n = test_open_handles();
  ASSERT_ERR(shmkit_region_adopt(&x, (shmkit_handle)rd, SHMKIT_READ_ONLY),
             SHMKIT_ENOTSHM);
  SAME(); /* and the pipe is still the caller's: */
  ASSERT(CloseHandle(rd));
  ASSERT(CloseHandle(wr));
  n = test_open_handles();
  /* A read-only section handle claimed writable, likewise. */
  rd = dup_with(shmkit_region_handle(ro), SECTION_QUERY | FILE_MAP_READ, FALSE);
  n = test_open_handles();
  ASSERT_ERR(shmkit_region_adopt(&x, (shmkit_handle)rd, SHMKIT_READ_WRITE),
             SHMKIT_EACCES);
  SAME();
  ASSERT(CloseHandle(rd));
  n = test_open_handles();
  shmkit_region_close(ro);
  shmkit_region_close(r);
  ASSERT_EQ(test_open_handles(), n - 2);
#undef SAME
  return 0;
}

/* The classic read-only hand-over of other Windows programs: a duplicate
 * with FILE_MAP_READ alone (no SECTION_QUERY), made inheritable and started
 * with the plain CreateProcess, with a truthful token. The child takes it
 * with shmkit_region_from_token, reads through it and cannot write; the same
 * handle claimed "rw" is refused. */
TEST_IMPL(adopt_classic_readonly_win) {
  shmkit_region *r;
  shmkit_view *v;
  test_proc p;
  HANDLE ro;
  char token[SHMKIT_TOKEN_MAX];
  const char *args[] = {token, "ok", NULL};

  ASSERT_OK(shmkit_region_create(&r, 10000, 0));
  ASSERT_OK(shmkit_view_map(&v, r, 9000, 100, SHMKIT_READ_WRITE));
  strcpy(shmkit_view_data(v), "classic");
  ro = dup_with(shmkit_region_handle(r), FILE_MAP_READ, TRUE);
  snprintf(token, sizeof(token), "shmkit1:%llu:%llu:r",
           (unsigned long long)(uintptr_t)ro,
           (unsigned long long)shmkit_region_size(r));
  test_spawn(&p, "classic_readonly_peer", args, (shmkit_handle)ro);
  ASSERT_EQ(test_wait(&p, 60000), 0);
  snprintf(token, sizeof(token), "shmkit1:%llu:%llu:rw",
           (unsigned long long)(uintptr_t)ro,
           (unsigned long long)shmkit_region_size(r));
  args[1] = "eacces";
  test_spawn(&p, "classic_readonly_peer", args, (shmkit_handle)ro);
  ASSERT_EQ(test_wait(&p, 60000), 0);
  ASSERT(CloseHandle(ro));
  shmkit_view_unmap(v);
  shmkit_region_close(r);
  return 0;
}

/* A region adopted from a FILE_MAP_READ-only handle still makes read-only
 * copies, even of a section whose descriptor grants nobody SECTION_QUERY
 * (a copy that asked for it would be checked against that descriptor). */
TEST_IMPL(adopt_classic_dup_readonly_win) {
  SECURITY_ATTRIBUTES sa = {sizeof(sa), NULL, FALSE};
  shmkit_region *r, *ro;
  shmkit_view *v;
  wchar_t native[48];
  char name[32], *p;
  HANDLE h, rd;

  ASSERT(ConvertStringSecurityDescriptorToSecurityDescriptorW(
      L"D:P(A;;0x4;;;WD)", SDDL_REVISION_1, &sa.lpSecurityDescriptor, NULL));
  local_name(native, 48, test_name(name, "dupro"));
  h = CreateFileMappingW(INVALID_HANDLE_VALUE, &sa, PAGE_READWRITE, 0, 5000,
                         native);
  LocalFree(sa.lpSecurityDescriptor);
  ASSERT(h != NULL);
  p = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
  ASSERT(p != NULL);
  strcpy(p + 100, "copied");
  rd = dup_with((shmkit_handle)h, FILE_MAP_READ, FALSE);
  ASSERT_OK(shmkit_region_adopt(&r, (shmkit_handle)rd, SHMKIT_READ_ONLY));
  ASSERT_OK(shmkit_region_dup_readonly(&ro, r));
  shmkit_region_close(r);
  ASSERT_EQ(shmkit_region_access(ro), SHMKIT_READ_ONLY);
  ASSERT_EQ(shmkit_region_size(ro), test_system_size(5000));
  ASSERT_OK(shmkit_view_map(&v, ro, 100, 10, SHMKIT_READ_ONLY));
  ASSERT_STR_EQ((char *)shmkit_view_data(v), "copied");
  shmkit_view_unmap(v);
  ASSERT_EQ(test_try_map_writable(shmkit_region_handle(ro), 4096), 0);
  shmkit_region_close(ro);
  /* Opened by name, read-only: the descriptor grants exactly that. */
  ASSERT_OK(shmkit_region_open(&ro, name, SHMKIT_READ_ONLY));
  ASSERT_EQ(shmkit_region_size(ro), test_system_size(5000));
  ASSERT_OK(shmkit_view_map(&v, ro, 100, 10, SHMKIT_READ_ONLY));
  ASSERT_STR_EQ((char *)shmkit_view_data(v), "copied");
  shmkit_view_unmap(v);
  shmkit_region_close(ro);
  ASSERT_ERR(shmkit_region_open(&ro, name, SHMKIT_READ_WRITE), SHMKIT_EACCES);
  ASSERT_NULL(ro);
  UnmapViewOfFile(p);
  ASSERT(CloseHandle(h));
  return 0;
}

/* argv: TOKEN, then "ok" (take it read-only and read "classic" at 9000) or
 * "eacces" (the token claims more than the handle allows). */
CHILD_IMPL(classic_readonly_peer) {
  shmkit_region *r = (shmkit_region *)&r;
  shmkit_view *v;
  shmkit_handle h;

  ASSERT_EQ(argc, 2);
  if (strcmp(argv[1], "eacces") == 0) {
    ASSERT_ERR(shmkit_region_from_token(&r, argv[0]), SHMKIT_EACCES);
    ASSERT_NULL(r);
    return 0;
  }
  ASSERT_OK(shmkit_region_from_token(&r, argv[0]));
  h = shmkit_region_handle(r);
  ASSERT_EQ(shmkit_region_access(r), SHMKIT_READ_ONLY);
  ASSERT_EQ(shmkit_region_size(r), test_system_size(10000));
  ASSERT_OK(shmkit_view_map(&v, r, 9000, 100, SHMKIT_READ_ONLY));
  ASSERT_STR_EQ((char *)shmkit_view_data(v), "classic");
  shmkit_view_unmap(v);
  ASSERT_ERR(shmkit_view_map(&v, r, 0, 1, SHMKIT_READ_WRITE), SHMKIT_EACCES);
  ASSERT_EQ(test_try_map_writable(h, 4096), 0);
  shmkit_region_close(r);
  ASSERT(!is_open((HANDLE)h));
  return 0;
}

/* The kernel ignores a handle value's two low bits: 5 names handle 4. A
 * token or an adopt of such an alias would make two regions own one
 * handle, and a close of one close the other's later, so it is refused. */
TEST_IMPL(adopt_refuses_alias_win) {
  shmkit_region *r, *x = (shmkit_region *)&x;
  shmkit_conn *a, *b, *c = (shmkit_conn *)&c;
  char token[SHMKIT_TOKEN_MAX];
  shmkit_handle h;

  ASSERT_OK(shmkit_region_create(&r, 4096, 0));
  h = shmkit_region_handle(r);
  ASSERT_EQ(h & 3, 0);
  for (int low = 1; low < 4; low++) {
    ASSERT_ERR(shmkit_region_adopt(&x, h + low, SHMKIT_READ_ONLY),
               SHMKIT_EBADF);
    ASSERT_NULL(x);
    snprintf(token, sizeof(token), "shmkit1:%lld:4096:r", (long long)h + low);
    ASSERT_ERR(shmkit_region_from_token(&x, token), SHMKIT_EBADF);
    ASSERT_NULL(x);
  }
  ASSERT_OK(shmkit_conn_pair(&a, &b));
  snprintf(token, sizeof(token), "shmkit1:%lld:conn",
           (long long)shmkit_conn_handle(a) + 1);
  ASSERT_ERR(shmkit_conn_from_token(&c, token), SHMKIT_EBADF);
  ASSERT_NULL(c);
  shmkit_conn_close(a);
  shmkit_conn_close(b);
  /* The region's own handle is still open and its own. */
  ASSERT(test_try_map_writable(h, 4096));
  shmkit_region_close(r);
  return 0;
}
