/* shmkit_region_freeze: one call seals what the system can seal and hands
 * out a read-only copy that a receiver can neither write nor resize. */
#include <stdlib.h>

#include "task.h"

TEST_IMPL(freeze_hands_out_unwritable_copy) {
  char tok[SHMKIT_TOKEN_MAX], name[32];
  const char *args[] = {tok, NULL};
  shmkit_region *r, *ro, *x = (shmkit_region *)&x;
  shmkit_view *v;

  /* Other POSIX systems copy only a named region read-only. */
  if (test_can(CAP_RO_ANON)) {
    r = region_with("frozen");
  } else {
    ASSERT_OK(shmkit_region_create_named(&r, test_name(name, "frz"), 4096, 0));
    write_text(r, "frozen");
  }
  /* A writable view: where seals exist, freezing must wait for it. */
  ASSERT_OK(shmkit_view_map(&v, r, 0, 0, SHMKIT_READ_WRITE));
  if (test_linux_ext()) {
    ASSERT_ERR(shmkit_region_freeze(&x, r), SHMKIT_EBUSY);
    ASSERT_NULL(x);
  }
  shmkit_view_unmap(v);
  ASSERT_ERR(shmkit_region_freeze(NULL, r), SHMKIT_EINVAL);
  ASSERT_OK(shmkit_region_freeze(&ro, r));
  ASSERT_EQ(shmkit_region_access(ro), SHMKIT_READ_ONLY);
  expect_text(ro, "frozen");
  if (test_linux_ext()) {
    unsigned want = SHMKIT_SEAL_WRITE | SHMKIT_SEAL_SHRINK | SHMKIT_SEAL_GROW;
    ASSERT_EQ(seals_of(ro) & want, want);
    ASSERT_EQ(seals_of(r) & want, want); /* the maker reads them too */
    /* Nobody writes it any more, its maker neither. */
    ASSERT_ERR(shmkit_view_map(&v, r, 0, 0, SHMKIT_READ_WRITE), SHMKIT_EPERM);
  }
  /* A receiver, a real other process, gets the copy by token. */
  token_of(ro, tok);
  reap_ok(spawn_child("frozen_receiver", args, &ro, 1, 0, NULL));
  expect_text(r, "frozen");
  ASSERT_EQ(shmkit_region_size(r), test_system_size(4096));
  /* A read-only region has nothing to freeze. */
  ASSERT_ERR(shmkit_region_freeze(&x, ro), SHMKIT_EACCES);
  ASSERT_NULL(x);
  shmkit_region_close(ro);
  shmkit_region_close(r);
  if (!test_can(CAP_RO_ANON)) test_forget_name(name);
  return 0;
}

CHILD_IMPL(frozen_receiver) {
  shmkit_region *r;
  shmkit_view *v;

  r = child_region(argc, argv, 1);
  ASSERT_EQ(shmkit_region_access(r), SHMKIT_READ_ONLY);
  expect_text(r, "frozen");
  ASSERT_ERR(shmkit_view_map(&v, r, 0, 0, SHMKIT_READ_WRITE), SHMKIT_EACCES);
  ASSERT_EQ(test_try_map_writable(shmkit_region_handle(r), 4096), 0);
  ASSERT_EQ(test_try_resize(shmkit_region_handle(r), 1), 0);
  ASSERT_EQ(test_try_resize(shmkit_region_handle(r), 1 << 20), 0);
  shmkit_region_close(r);
  return 0;
}
