/* Named regions: exclusive create, open, remove, names, two processes. */
#include <stdlib.h>

#include "task.h"

TEST_IMPL(named_create_open_remove) {
  char name[32];
  shmkit_region *a, *rw, *ro, *r = (shmkit_region *)&r;
  shmkit_view *va, *vrw, *vro;

  test_name(name, "a");
  ASSERT_OK(shmkit_region_create_named(&a, name, 10000, 0));
  ASSERT_STR_EQ(shmkit_region_name(a), name);
  ASSERT_EQ(shmkit_region_size(a), 10000);
  ASSERT_EQ(test_inheritable(shmkit_region_handle(a)), 0);
  ASSERT_ERR(shmkit_region_create_named(&r, name, 10000, 0), SHMKIT_EEXIST);
  ASSERT_NULL(r);
  ASSERT_ERR(shmkit_region_create_named(&r, name, 1, SHMKIT_SPARSE),
             SHMKIT_EEXIST);

  ASSERT_OK(shmkit_view_map(&va, a, 0, 10000, SHMKIT_READ_WRITE));
  strcpy((char *)shmkit_view_data(va) + 9000, "by name");

  ASSERT_OK(shmkit_region_open(&rw, name, SHMKIT_READ_WRITE));
  ASSERT_EQ(shmkit_region_size(rw), test_system_size(10000)); /* the system's */
  ASSERT_EQ(shmkit_region_access(rw), SHMKIT_READ_WRITE);
  ASSERT_EQ(test_inheritable(shmkit_region_handle(rw)), 0);
  ASSERT_OK(shmkit_region_open(&ro, name, SHMKIT_READ_ONLY));
  ASSERT_EQ(shmkit_region_access(ro), SHMKIT_READ_ONLY);
  ASSERT_ERR(shmkit_view_map(&vro, ro, 0, 1, SHMKIT_READ_WRITE), SHMKIT_EACCES);
  ASSERT_OK(shmkit_view_map(&vro, ro, 9000, 1000, SHMKIT_READ_ONLY));
  ASSERT_STR_EQ((char *)shmkit_view_data(vro), "by name");
  ASSERT_OK(shmkit_view_map(&vrw, rw, 9000, 1000, SHMKIT_READ_WRITE));
  strcpy((char *)shmkit_view_data(vrw), "both ways");
  ASSERT_STR_EQ((char *)shmkit_view_data(va) + 9000, "both ways");
  ASSERT_ERR(shmkit_region_open(&r, name, 0), SHMKIT_EINVAL);
  ASSERT_NULL(r);

  if (test_can(CAP_REMOVE_NAME)) {
    ASSERT_OK(shmkit_region_remove(name));
    ASSERT_ERR(shmkit_region_open(&r, name, SHMKIT_READ_ONLY), SHMKIT_ENOENT);
    ASSERT_NULL(r);
    ASSERT_ERR(shmkit_region_remove(name), SHMKIT_ENOENT);
    /* The memory outlives its name. */
    ASSERT_STR_EQ((char *)shmkit_view_data(vro), "both ways");
    /* And the name can be used again, for a new object. */
    ASSERT_OK(shmkit_region_create_named(&r, name, 1, 0));
    ASSERT_OK(shmkit_region_remove(name));
    shmkit_region_close(r);
  } else {
    test_forget_name(name);
  }

  shmkit_view_unmap(va);
  shmkit_view_unmap(vrw);
  shmkit_view_unmap(vro);
  shmkit_region_close(a);
  shmkit_region_close(rw);
  shmkit_region_close(ro);
  /* Windows: the name went with the last handle and view. */
  ASSERT_ERR(shmkit_region_open(&r, name, SHMKIT_READ_ONLY), SHMKIT_ENOENT);
  return 0;
}

TEST_IMPL(named_bad_names) {
  static const char *const bad[] = {
      "",
      ".hidden",
      "..",
      "a/b",
      "/abc",
      "a\\b",
      "a b",
      "tab\there",
      "caf\xc3\xa9",
      "semi;colon",
      "Global\\x",
      "x:y",
      "1234567890123456789012345678901", /* 31 */
  };
  const char *good = "Az09._-12345678901234567890123"; /* 30, every class */
  shmkit_region *r = (shmkit_region *)&r;

  ASSERT_ERR(shmkit_region_create_named(&r, NULL, 1, 0), SHMKIT_ENAME);
  ASSERT_ERR(shmkit_region_open(&r, NULL, SHMKIT_READ_ONLY), SHMKIT_ENAME);
  ASSERT_ERR(shmkit_region_remove(NULL), SHMKIT_ENAME);
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    r = (shmkit_region *)&r;
    ASSERT_ERR(shmkit_region_create_named(&r, bad[i], 1, 0), SHMKIT_ENAME);
    ASSERT_NULL(r);
    ASSERT_ERR(shmkit_region_open(&r, bad[i], SHMKIT_READ_WRITE), SHMKIT_ENAME);
    ASSERT_ERR(shmkit_region_remove(bad[i]), SHMKIT_ENAME);
  }
  ASSERT_EQ(strlen(good), 30);
  shmkit_region_remove(good); /* a leftover of an earlier run */
  ASSERT_OK(shmkit_region_create_named(&r, good, 1, 0));
  test_forget_name(good);
  shmkit_region_close(r);
  /* Arguments are checked before the name is touched. */
  ASSERT_ERR(shmkit_region_create_named(NULL, "x", 1, 0), SHMKIT_EINVAL);
  return 0;
}

TEST_IMPL(named_no_leftover_on_failure) {
  char name[32];
  shmkit_region *r;

  test_name(name, "fail");
  ASSERT_ERR(shmkit_region_create_named(&r, name, 0, 0), SHMKIT_EINVAL);
  ASSERT_ERR(shmkit_region_create_named(&r, name, 1, 0x40), SHMKIT_EINVAL);
  ASSERT_ERR(shmkit_region_create_named(&r, name, UINT64_MAX, 0), SHMKIT_E2BIG);
  {
    /* Refused by the system after the name was made: it must be gone. */
    int err = shmkit_region_create_named(&r, name, (uint64_t)INT64_MAX, 0);
    if (err != SHMKIT_ENOSPC && err != SHMKIT_ENOMEM && err != SHMKIT_E2BIG)
      FAIL("2^63-1 bytes: got %s", shmkit_err_name(err));
  }
  ASSERT_NULL(r);
  ASSERT_ERR(shmkit_region_open(&r, name, SHMKIT_READ_ONLY), SHMKIT_ENOENT);
  return 0;
}

/* Another process opens `r` by `name` (in the machine-wide namespace if
 * `scope` is "global", NULL: the user's) in named_peer; each sees the
 * other's writes, at offsets across granularity lines. */
static void exchange_with_peer(shmkit_region *r, const char *name,
                               const char *scope) {
  const size_t g = shmkit_granularity();
  const char *args[] = {name, scope, NULL};
  shmkit_view *v;
  char *p;
  test_proc child;

  ASSERT_OK(shmkit_view_map(&v, r, 0, 3 * g, SHMKIT_READ_WRITE));
  p = shmkit_view_data(v);
  strcpy(p + g - 3, "hello from the parent");
  test_spawn(&child, "named_peer", args, SHMKIT_INVALID_HANDLE);
  ASSERT_EQ(test_wait(&child, 30000), 0);
  ASSERT_STR_EQ(p + 2 * g - 5, "hello from the child");
  shmkit_view_unmap(v);
}

/* Another process opens the region by name; each sees the
 * other's writes. */
TEST_IMPL(named_two_processes) {
  char name[32];
  shmkit_region *r;

  test_name(name, "peer");
  ASSERT_OK(shmkit_region_create_named(&r, name, 3 * shmkit_granularity(), 0));
  exchange_with_peer(r, name, NULL);
  test_forget_name(name);
  shmkit_region_close(r);
  return 0;
}

/* The machine-wide namespace: a region created there is opened there, by
 * another process; the flag goes only where it means something. */
TEST_IMPL(named_global) {
  const size_t g = shmkit_granularity();
  char name[32];
  shmkit_region *r, *x = (shmkit_region *)&x;

  test_name(name, "glob");
  ASSERT_OK(shmkit_region_create_named(&r, name, 3 * g, SHMKIT_GLOBAL));
  ASSERT_STR_EQ(shmkit_region_name(r), name);
  ASSERT_ERR(shmkit_region_create_named(&x, name, g, SHMKIT_GLOBAL),
             SHMKIT_EEXIST);
  ASSERT_NULL(x);
  exchange_with_peer(r, name, "global");
  ASSERT_OK(shmkit_region_open(&x, name, SHMKIT_READ_ONLY | SHMKIT_GLOBAL));
  ASSERT_EQ(shmkit_region_access(x), SHMKIT_READ_ONLY);
  shmkit_region_close(x);

  /* Only a named region has a namespace; access takes no other bit. */
  ASSERT_ERR(shmkit_region_create(&x, g, SHMKIT_GLOBAL), SHMKIT_EINVAL);
  ASSERT_ERR(shmkit_region_create_named(&x, name, g, 0x200u), SHMKIT_EINVAL);
  ASSERT_ERR(shmkit_region_open(&x, name, SHMKIT_GLOBAL), SHMKIT_EINVAL);
  ASSERT_ERR(shmkit_region_open(&x, name, SHMKIT_READ_ONLY | 0x200),
             SHMKIT_EINVAL);
  ASSERT_NULL(x);
  test_forget_name(name);
  shmkit_region_close(r);
  return 0;
}

CHILD_IMPL(named_peer) {
  const size_t g = shmkit_granularity();
  shmkit_region *r;
  shmkit_view *in, *out;
  int scope = argc > 1 && strcmp(argv[1], "global") == 0 ? SHMKIT_GLOBAL : 0;

  ASSERT(argc == 1 || scope != 0);
  ASSERT_OK(shmkit_region_open(&r, argv[0], SHMKIT_READ_WRITE | scope));
  ASSERT_EQ(shmkit_region_size(r), 3 * g);
  /* Views at other offsets than the parent's, across granularity lines. */
  ASSERT_OK(shmkit_view_map(&in, r, g - 3, 100, SHMKIT_READ_ONLY));
  ASSERT_STR_EQ((char *)shmkit_view_data(in), "hello from the parent");
  ASSERT_OK(shmkit_view_map(&out, r, 2 * g - 5, 100, SHMKIT_READ_WRITE));
  strcpy(shmkit_view_data(out), "hello from the child");
  shmkit_view_unmap(in);
  shmkit_view_unmap(out);
  shmkit_region_close(r);
  return 0;
}
