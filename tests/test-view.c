/* Views at any offset and length, and their range checks. */
#include <stdlib.h>

#include "task.h"

/* A view at each offset and length near the granularity lines, written with
 * its own pattern and read back through one view of the whole region. */
TEST_IMPL(view_any_offset) {
  const size_t g = shmkit_granularity();
  const uint64_t size = 3 * g + 5;
  const uint64_t offsets[] = {0, 1, g - 3, g - 1, g, g + 1, 2 * g - 3, 3 * g};
  const size_t lengths[] = {1, 2, 7, g - 1, g, g + 2};
  shmkit_region *r;
  shmkit_view *whole, *v;
  unsigned char *all;
  int tried = 0;

  ASSERT_OK(shmkit_region_create(&r, size, 0));
  ASSERT_OK(shmkit_view_map(&whole, r, 0, (size_t)size, SHMKIT_READ_ONLY));
  all = shmkit_view_data(whole);
  for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
    for (size_t j = 0; j < sizeof(lengths) / sizeof(lengths[0]); j++) {
      uint64_t off = offsets[i];
      size_t len = lengths[j];
      unsigned char *p;

      if (off + len > size) {
        ASSERT_ERR(shmkit_view_map(&v, r, off, len, SHMKIT_READ_WRITE),
                   SHMKIT_ERANGE);
        continue;
      }
      ASSERT_OK(shmkit_view_map(&v, r, off, len, SHMKIT_READ_WRITE));
      ASSERT_EQ(shmkit_view_size(v), len);
      p = shmkit_view_data(v);
      for (size_t k = 0; k < len; k++) p[k] = (unsigned char)(i * 31 + j + k);
      for (size_t k = 0; k < len; k++)
        ASSERT_EQ(all[off + k], (unsigned char)(i * 31 + j + k));
      shmkit_view_unmap(v);
      tried++;
    }
  }
  ASSERT(tried > 30);
  shmkit_view_unmap(whole);
  shmkit_region_close(r);
  return 0;
}

TEST_IMPL(view_range_errors) {
  const uint64_t size = 10000;
  shmkit_region *r;
  shmkit_view *v = (shmkit_view *)&v;

  ASSERT_OK(shmkit_region_create(&r, size, 0));
  ASSERT_ERR(shmkit_view_map(&v, r, size, 1, SHMKIT_READ_ONLY), SHMKIT_ERANGE);
  ASSERT_NULL(v);
  ASSERT_ERR(shmkit_view_map(&v, r, size - 1, 2, SHMKIT_READ_ONLY),
             SHMKIT_ERANGE);
  ASSERT_ERR(shmkit_view_map(&v, r, size + 1, 1, SHMKIT_READ_ONLY),
             SHMKIT_ERANGE);
  ASSERT_ERR(shmkit_view_map(&v, r, 0, (size_t)size + 1, SHMKIT_READ_ONLY),
             SHMKIT_ERANGE);
  /* Sums that overflow 64 bits must not wrap into range. */
  ASSERT_ERR(shmkit_view_map(&v, r, UINT64_MAX, 2, SHMKIT_READ_ONLY),
             SHMKIT_ERANGE);
  ASSERT_ERR(shmkit_view_map(&v, r, 1, SIZE_MAX, SHMKIT_READ_ONLY),
             SHMKIT_ERANGE);
  ASSERT_ERR(shmkit_view_map(&v, r, UINT64_MAX - 5, 10, SHMKIT_READ_ONLY),
             SHMKIT_ERANGE);
  /* Length 0 is the rest of the region: none is left at its end. */
  ASSERT_ERR(shmkit_view_map(&v, r, size, 0, SHMKIT_READ_ONLY), SHMKIT_ERANGE);
  ASSERT_ERR(shmkit_view_map(&v, r, UINT64_MAX, 0, SHMKIT_READ_ONLY),
             SHMKIT_ERANGE);
  ASSERT_ERR(shmkit_view_map(&v, r, 0, 1, 0), SHMKIT_EINVAL);
  ASSERT_ERR(shmkit_view_map(&v, r, 0, 1, 2), SHMKIT_EINVAL);
  ASSERT_ERR(shmkit_view_map(&v, NULL, 0, 1, SHMKIT_READ_ONLY), SHMKIT_EINVAL);
  ASSERT_ERR(shmkit_view_map(NULL, r, 0, 1, SHMKIT_READ_ONLY), SHMKIT_EINVAL);
  ASSERT_NULL(v);
  /* The last byte is in range. */
  ASSERT_OK(shmkit_view_map(&v, r, size - 1, 1, SHMKIT_READ_WRITE));
  *(char *)shmkit_view_data(v) = 1;
  shmkit_view_unmap(v);
  shmkit_region_close(r);
  return 0;
}

/* Many views of overlapping parts at once, each seeing the others' writes. */
TEST_IMPL(view_many_at_once) {
  enum { N = 64 };
  const size_t g = shmkit_granularity();
  shmkit_region *r;
  shmkit_view *v[N];

  /* View i covers bytes i*g+1 .. (i+1)*g+1: its last byte is the first byte
   * of view i+1, and every view straddles a granularity line. */
  ASSERT_OK(shmkit_region_create(&r, (uint64_t)(N + 1) * g, 0));
  for (int i = 0; i < N; i++)
    ASSERT_OK(shmkit_view_map(&v[i], r, (uint64_t)i * g + 1, g + 1,
                              SHMKIT_READ_WRITE));
  for (int i = 0; i < N; i++)
    ((unsigned char *)shmkit_view_data(v[i]))[0] = (unsigned char)(i + 1);
  for (int i = 0; i + 1 < N; i++)
    ASSERT_EQ(((unsigned char *)shmkit_view_data(v[i]))[g], i + 2);
  for (int i = 0; i < N; i++) shmkit_view_unmap(v[i]);
  shmkit_region_close(r);
  return 0;
}

/* Writing through a read-only view is a memory fault, not a silent write. */
TEST_IMPL(view_readonly_faults) {
  char arg[32];
  const char *args[] = {arg, NULL};
  shmkit_region *r;
  shmkit_view *v;
  test_proc p;
  int st;

  ASSERT_OK(shmkit_region_create(&r, 4096, 0));
  snprintf(arg, sizeof(arg), "%lld", (long long)shmkit_region_handle(r));
  test_spawn(&p, "write_readonly_view", args, shmkit_region_handle(r));
  st = test_wait(&p, 30000);
  ASSERT(test_crashed(st));
  ASSERT_OK(shmkit_view_map(&v, r, 0, 4096, SHMKIT_READ_ONLY));
  ASSERT_EQ(((char *)shmkit_view_data(v))[100], 0);
  shmkit_view_unmap(v);
  shmkit_region_close(r);
  return 0;
}

CHILD_IMPL(write_readonly_view) {
  shmkit_region *r;
  shmkit_view *v;

  ASSERT_EQ(argc, 1);
  ASSERT_OK(shmkit_region_adopt(&r, (shmkit_handle)atoll(argv[0]),
                                SHMKIT_READ_WRITE));
  ASSERT_OK(shmkit_view_map(&v, r, 0, 4096, SHMKIT_READ_ONLY));
  test_plain_crashes();
  ((volatile char *)shmkit_view_data(v))[100] = 1; /* must fault */
  return 0;
}

/* A length of 0 maps from the offset to the end: the whole region from 0,
 * the rest of it from anywhere inside, each byte the same memory as a view
 * of the same range by its length. */
TEST_IMPL(view_length_zero_to_end) {
  const uint64_t size = 3 * (uint64_t)shmkit_granularity() + 123;
  shmkit_region *r;
  shmkit_view *all, *rest;

  ASSERT_OK(shmkit_region_create(&r, size, 0));
  ASSERT_OK(shmkit_view_map(&all, r, 0, 0, SHMKIT_READ_WRITE));
  ASSERT_EQ(shmkit_view_size(all), shmkit_region_size(r));
  ((char *)shmkit_view_data(all))[shmkit_view_size(all) - 1] = 'z';
  ASSERT_OK(shmkit_view_map(&rest, r, size - 10, 0, SHMKIT_READ_ONLY));
  ASSERT_EQ(shmkit_view_size(rest), shmkit_region_size(r) - (size - 10));
  ASSERT_EQ(((char *)shmkit_view_data(rest))[shmkit_view_size(rest) - 1], 'z');
  shmkit_view_unmap(rest);
  shmkit_view_unmap(all);
  shmkit_region_close(r);
  return 0;
}
