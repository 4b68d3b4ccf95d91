/* Windows-only behaviour: what a Wine pass can show of it (see the README on
 * what it cannot). */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include "runner.h"

/* A read-only handle of an anonymous region cannot be re-duplicated to
 * write access by its holder: the section's descriptor refuses it (an
 * unnamed section would have none to refuse with). */
TEST_IMPL(readonly_no_upgrade) {
  HANDLE self = GetCurrentProcess(), up;
  shmkit_region *r, *ro;
  char name[32];

  ASSERT_OK(shmkit_region_create(&r, 4096, 0));
  ASSERT_OK(shmkit_region_dup_readonly(r, &ro));
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
