/* No handle outlives its owner, counted after many cycles (after every
 * failing call: test-posix.c). */
#include "task.h"

TEST_IMPL(leak_cycles) {
  int before = 0, after;
  char name[32];

  test_name(name, "leak");
  /* The first round may make the system open what it keeps for good (Wine:
   * the random number device, ntdll state): count from the second. */
  for (int i = 0; i < 201; i++) {
    if (i == 1) before = test_open_handles();
    shmkit_region *r, *named, *opened, *ro;
    shmkit_view *v, *w;

    ASSERT_OK(shmkit_region_create(&r, 4096 + (uint64_t)i, 0));
    ASSERT_OK(shmkit_view_map(&v, r, (uint64_t)i, 4096, SHMKIT_READ_WRITE));
    ASSERT_OK(shmkit_region_create_named(&named, name, 8192, 0));
    ASSERT_OK(shmkit_region_open(&opened, name, SHMKIT_READ_ONLY));
    ASSERT_OK(shmkit_view_map(&w, opened, 100, 5000, SHMKIT_READ_ONLY));
    ASSERT_OK(shmkit_region_dup_readonly(&ro, named));
    test_forget_name(name);
    shmkit_region_close(r); /* before its view, on purpose */
    shmkit_view_unmap(v);
    shmkit_region_close(named);
    shmkit_region_close(opened);
    shmkit_region_close(ro);
    shmkit_view_unmap(w);
  }
  after = test_open_handles();
  ASSERT_EQ(after, before);
  return 0;
}
