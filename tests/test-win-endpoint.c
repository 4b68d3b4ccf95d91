/* Windows hardening of what crosses a process boundary: sections whose
 * pages are not memory yet, and endpoints that another process names
 * first. What a Wine pass cannot show of these is said at each test and in
 * the README. */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>

#include "runner.h"

/* ---- sections made with SEC_RESERVE */

/* A paging-file section made with SEC_RESERVE, as another program may hand
 * one over: its pages are reserved, not committed. */
static HANDLE reserved_section(DWORD size) {
  HANDLE h = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL,
                                PAGE_READWRITE | SEC_RESERVE, 0, size, NULL);
  if (h == NULL) FAIL("CreateFileMappingW: %lu", (unsigned long)GetLastError());
  return h;
}

static HANDLE dup_access(HANDLE h, DWORD access, BOOL inherit) {
  HANDLE self = GetCurrentProcess(), out;
  if (!DuplicateHandle(self, h, self, &out, access, inherit, 0))
    FAIL("DuplicateHandle: %lu", (unsigned long)GetLastError());
  return out;
}

/* Every way in (adopt, token, pull) refuses a SEC_RESERVE section with
 * SHMKIT_ENOTSHM, with SECTION_QUERY (the attribute says it) and without
 * (the pages say it), and leaves the handle to the caller. On Windows a
 * view's first read of such a page is an access violation; Wine commits the
 * page on touch instead, so the fault this prevents is not shown here, only
 * the refusal (README: what a Wine pass cannot prove). */
TEST_IMPL(adopt_refuses_reserved_win) {
  shmkit_region *r = (shmkit_region *)&r;
  HANDLE h = reserved_section(65536), ro, c;
  char token[64];
  DWORD flags;

  ASSERT_ERR(shmkit_region_adopt(&r, (shmkit_handle)h, SHMKIT_READ_ONLY),
             SHMKIT_ENOTSHM);
  ASSERT_NULL(r);
  ASSERT_ERR(shmkit_region_adopt(&r, (shmkit_handle)h, SHMKIT_READ_WRITE),
             SHMKIT_ENOTSHM);
  ASSERT(GetHandleInformation(h, &flags));

  /* The classic read-only hand-over: FILE_MAP_READ alone, no query. */
  ro = dup_access(h, FILE_MAP_READ, TRUE);
  ASSERT_ERR(shmkit_region_adopt(&r, (shmkit_handle)ro, SHMKIT_READ_ONLY),
             SHMKIT_ENOTSHM);
  snprintf(token, sizeof(token), "shmkit1:%llu:65536:r",
           (unsigned long long)(uintptr_t)ro);
  ASSERT_ERR(shmkit_region_from_token(&r, token), SHMKIT_ENOTSHM);
  ASSERT_NULL(r);
  ASSERT(GetHandleInformation(ro, &flags));
  snprintf(token, sizeof(token), "shmkit1:%llu:65536:r",
           (unsigned long long)(uintptr_t)h);
  ASSERT_ERR(shmkit_region_from_token(&r, token), SHMKIT_ENOTSHM);
  /* Pulled out of a process (this one: the same check). */
  ASSERT_ERR(shmkit_region_pull(&r, test_self_pid(), (shmkit_handle)h,
                                SHMKIT_READ_ONLY),
             SHMKIT_ENOTSHM);
  ASSERT_NULL(r);
  CloseHandle(ro);

  CloseHandle(h);

  /* A committed section (the default, SEC_COMMIT) is taken both ways. */
  c = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 65536,
                         NULL);
  ASSERT(c != NULL);
  ro = dup_access(c, FILE_MAP_READ, FALSE);
  ASSERT_OK(shmkit_region_adopt(&r, (shmkit_handle)ro, SHMKIT_READ_ONLY));
  shmkit_region_close(r);
  ASSERT_OK(shmkit_region_adopt(&r, (shmkit_handle)c, SHMKIT_READ_WRITE));
  shmkit_region_close(r);
  return 0;
}
