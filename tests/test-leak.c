/* No handle outlives its owner: counted after many cycles and after every
 * failing call. */
#include <unistd.h>

#include "runner.h"

TEST_IMPL(leak_cycles) {
  int before, after;
  char name[32];

  test_name(name, "leak");
  before = test_open_handles();
  for (int i = 0; i < 200; i++) {
    shmkit_region *r, *named, *opened, *ro;
    shmkit_view *v, *w;

    ASSERT_OK(shmkit_region_create(&r, 4096 + (uint64_t)i, 0));
    ASSERT_OK(shmkit_view_map(&v, r, (uint64_t)i, 4096, SHMKIT_READ_WRITE));
    ASSERT_OK(shmkit_region_create_named(&named, name, 8192, 0));
    ASSERT_OK(shmkit_region_open(&opened, name, SHMKIT_READ_ONLY));
    ASSERT_OK(shmkit_view_map(&w, opened, 100, 5000, SHMKIT_READ_ONLY));
    ASSERT_OK(shmkit_region_dup_readonly(named, &ro));
    ASSERT_OK(shmkit_region_remove(name));
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

/* Calls that fail at each step, after the handle was opened where there is
 * one, and the count after each. */
TEST_IMPL(leak_failures) {
  shmkit_region *r, *ro, *x;
  shmkit_view *v;
  char name[32];
  int n = test_open_handles();
  int pipefd[2];

#define SAME() ASSERT_EQ(test_open_handles(), n)
  test_name(name, "leakf");
  ASSERT_ERR(shmkit_region_create(&x, 0, 0), SHMKIT_EINVAL);
  SAME();
  ASSERT_ERR(shmkit_region_create(&x, (uint64_t)INT64_MAX, 0),
             test_linux_ext() ? SHMKIT_ENOMEM : SHMKIT_ENOSPC);
  SAME();
  ASSERT_ERR(shmkit_region_create_named(&x, name, (uint64_t)INT64_MAX, 0),
             SHMKIT_ENOSPC);
  SAME();
  ASSERT_ERR(shmkit_region_create_named(&x, "bad/name", 1, 0), SHMKIT_ENAME);
  ASSERT_ERR(shmkit_region_open(&x, name, SHMKIT_READ_WRITE), SHMKIT_ENOENT);
  SAME();

  ASSERT_OK(shmkit_region_create_named(&r, name, 4096, 0));
  n = test_open_handles();
  ASSERT_ERR(shmkit_region_create_named(&x, name, 4096, 0), SHMKIT_EEXIST);
  SAME();
  ASSERT_ERR(shmkit_view_map(&v, r, 4096, 1, SHMKIT_READ_WRITE), SHMKIT_ERANGE);
  SAME();
  ASSERT_OK(shmkit_region_open(&ro, name, SHMKIT_READ_ONLY));
  n = test_open_handles();
  ASSERT_ERR(shmkit_view_map(&v, ro, 0, 1, SHMKIT_READ_WRITE), SHMKIT_EACCES);
  SAME();
  ASSERT_ERR(shmkit_region_seal(ro, SHMKIT_SEAL_GROW), SHMKIT_EACCES);
  SAME();
  ASSERT_OK(shmkit_region_remove(name));
  if (!test_linux_ext()) { /* reopening by name finds nothing */
    ASSERT_ERR(shmkit_region_dup_readonly(r, &x), SHMKIT_ENOENT);
    SAME();
  }

  ASSERT_EQ(pipe(pipefd), 0);
  n = test_open_handles();
  ASSERT_ERR(shmkit_region_adopt(&x, pipefd[0], SHMKIT_READ_ONLY),
             SHMKIT_ENOTSHM);
  SAME(); /* and the pipe is still the caller's: */
  ASSERT_EQ(close(pipefd[0]), 0);
  ASSERT_EQ(close(pipefd[1]), 0);
  n = test_open_handles();

  if (test_linux_ext()) { /* a seal refused by the kernel */
    shmkit_region *m;
    shmkit_view *rw;
    ASSERT_OK(shmkit_region_create(&m, 4096, 0));
    ASSERT_OK(shmkit_view_map(&rw, m, 0, 4096, SHMKIT_READ_WRITE));
    n = test_open_handles();
    ASSERT_ERR(shmkit_region_seal(m, SHMKIT_SEAL_WRITE), SHMKIT_EBUSY);
    SAME();
    shmkit_view_unmap(rw);
    shmkit_region_close(m);
    n = test_open_handles();
  }
  SAME();
  shmkit_region_close(ro);
  shmkit_region_close(r);
#undef SAME
  return 0;
}
