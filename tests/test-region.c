/* Anonymous regions: sizes, arguments, sparse regions past 4 GiB, lifetime. */
#include <stdlib.h>

#include "task.h"

#define GIB (1024ull * 1024 * 1024)

TEST_IMPL(region_create_sizes) {
  static const uint64_t sizes[] = {1,    4095,      4096,
                                   4097, 65536 + 1, (1u << 20) + 3};

  for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
    size_t n = (size_t)sizes[i];
    shmkit_region *r;
    shmkit_view *a, *b;
    unsigned char *p, *q;

    ASSERT_OK(shmkit_region_create(&r, sizes[i], 0));
    ASSERT_EQ(shmkit_region_size(r), sizes[i]);
    ASSERT_EQ(shmkit_region_access(r), SHMKIT_READ_WRITE);
    ASSERT_NULL(shmkit_region_name(r));
    ASSERT_NE(shmkit_region_handle(r), SHMKIT_INVALID_HANDLE);
    ASSERT_EQ(test_inheritable(shmkit_region_handle(r)), 0);

    ASSERT_OK(shmkit_view_map(&a, r, 0, n, SHMKIT_READ_WRITE));
    ASSERT_OK(shmkit_view_map(&b, r, 0, n, SHMKIT_READ_ONLY));
    ASSERT_EQ(shmkit_view_size(a), n);
    p = shmkit_view_data(a);
    q = shmkit_view_data(b);
    ASSERT(p != q);
    for (size_t k = 0; k < n; k++) ASSERT_EQ(q[k], 0); /* zero-filled */
    for (size_t k = 0; k < n; k++) p[k] = (unsigned char)(k * 7 + i);
    for (size_t k = 0; k < n; k++) ASSERT_EQ(q[k], (unsigned char)(k * 7 + i));
    shmkit_view_unmap(a);
    shmkit_view_unmap(b);
    shmkit_region_close(r);
  }
  return 0;
}

TEST_IMPL(region_bad_arguments) {
  shmkit_region *r = (shmkit_region *)&r; /* not NULL: must be cleared */
  unsigned seals;

  ASSERT_ERR(shmkit_region_create(NULL, 4096, 0), SHMKIT_EINVAL);
  ASSERT_ERR(shmkit_region_create(&r, 0, 0), SHMKIT_EINVAL);
  ASSERT_NULL(r);
  r = (shmkit_region *)&r;
  ASSERT_ERR(shmkit_region_create(&r, 4096, 0x80), SHMKIT_EINVAL);
  ASSERT_NULL(r);
  r = (shmkit_region *)&r;
  ASSERT_ERR(shmkit_region_create(&r, (uint64_t)INT64_MAX + 1, 0),
             SHMKIT_E2BIG);
  ASSERT_NULL(r);
  ASSERT_ERR(shmkit_region_create(&r, UINT64_MAX, SHMKIT_SPARSE), SHMKIT_E2BIG);
  ASSERT_NULL(r);
  /* The largest size is accepted as an argument, then refused by the system
   * for want of memory, before any memory is taken. */
  r = (shmkit_region *)&r;
  {
    int err = shmkit_region_create(&r, (uint64_t)INT64_MAX, 0);
    if (err != SHMKIT_ENOMEM && err != SHMKIT_ENOSPC && err != SHMKIT_E2BIG)
      FAIL("2^63-1 bytes: got %s, want ENOMEM or ENOSPC", shmkit_err_name(err));
  }
  ASSERT_NULL(r);

  ASSERT_ERR(shmkit_region_seal(NULL, SHMKIT_SEAL_GROW), SHMKIT_EINVAL);
  ASSERT_ERR(shmkit_region_seals(NULL, &seals), SHMKIT_EINVAL);
  ASSERT_ERR(shmkit_region_dup_readonly(&r, NULL), SHMKIT_EINVAL);
  ASSERT_NULL(r);
  shmkit_region_close(NULL); /* ignored */
  shmkit_view_unmap(NULL);   /* ignored */
  ASSERT(shmkit_granularity() >= 4096);
  ASSERT_EQ(shmkit_granularity() & (shmkit_granularity() - 1), 0);
  return 0;
}

/* 64-bit sizes end to end: a region past 4 GiB, with views near its end and
 * across the 4 GiB line, written through one view and read through another. */
TEST_IMPL(region_sparse_over_4g) {
  const uint64_t size = 5 * GIB + 12345;
  shmkit_region *r;
  shmkit_view *end, *cross, *check;
  unsigned char *p;

  ASSERT_OK(shmkit_region_create(&r, size, SHMKIT_SPARSE));
  ASSERT_EQ(shmkit_region_size(r), size);

  ASSERT_OK(shmkit_view_map(&end, r, size - 100, 100, SHMKIT_READ_WRITE));
  memset(shmkit_view_data(end), 0xAB, 100);
  ASSERT_OK(shmkit_view_map(&cross, r, 4 * GIB - 50, 100, SHMKIT_READ_WRITE));
  memset(shmkit_view_data(cross), 0xCD, 100);

  ASSERT_OK(shmkit_view_map(&check, r, size - 5000, 5000, SHMKIT_READ_ONLY));
  p = shmkit_view_data(check);
  ASSERT_EQ(p[4899], 0);
  ASSERT_EQ(p[4900], 0xAB);
  ASSERT_EQ(p[4999], 0xAB);
  shmkit_view_unmap(check);

  ASSERT_OK(shmkit_view_map(&check, r, 4 * GIB - 51, 102, SHMKIT_READ_ONLY));
  p = shmkit_view_data(check);
  ASSERT_EQ(p[0], 0);
  ASSERT_EQ(p[1], 0xCD);
  ASSERT_EQ(p[100], 0xCD);
  ASSERT_EQ(p[101], 0);
  shmkit_view_unmap(check);

  ASSERT_ERR(shmkit_view_map(&check, r, size - 99, 100, SHMKIT_READ_ONLY),
             SHMKIT_ERANGE);
  shmkit_view_unmap(end);
  shmkit_view_unmap(cross);
  shmkit_region_close(r);
  return 0;
}

/* Closing a region leaves its views working. */
TEST_IMPL(region_close_keeps_views) {
  shmkit_region *r;
  shmkit_view *a, *b;

  ASSERT_OK(shmkit_region_create(&r, 8192, 0));
  ASSERT_OK(shmkit_view_map(&a, r, 0, 8192, SHMKIT_READ_WRITE));
  ASSERT_OK(shmkit_view_map(&b, r, 4096, 4096, SHMKIT_READ_ONLY));
  shmkit_region_close(r);
  strcpy((char *)shmkit_view_data(a) + 4096, "still here");
  ASSERT_STR_EQ((char *)shmkit_view_data(b), "still here");
  shmkit_view_unmap(a);
  ASSERT_STR_EQ((char *)shmkit_view_data(b), "still here");
  shmkit_view_unmap(b);
  return 0;
}
