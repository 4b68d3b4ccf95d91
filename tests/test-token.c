/* Tokens: the exact format, and every kind of lie rejected. */
#include <stdlib.h>

#include "task.h"

TEST_IMPL(token_format) {
  char buf[SHMKIT_TOKEN_MAX], want[SHMKIT_TOKEN_MAX];
  shmkit_region *r, *back;

  ASSERT_OK(shmkit_region_create(&r, 12345, 0));
  snprintf(want, sizeof(want), "shmkit1:%lld:12345:rw",
           (long long)shmkit_region_handle(r));
  /* 0, as every call that can fail: the length is the string's. */
  ASSERT_OK(shmkit_region_token(r, buf, sizeof(buf)));
  ASSERT_STR_EQ(buf, want);
  ASSERT_ERR(shmkit_region_token(r, buf, strlen(want)), SHMKIT_E2BIG);
  ASSERT_ERR(shmkit_region_token(r, NULL, 10), SHMKIT_EINVAL);
  ASSERT_ERR(shmkit_region_token(NULL, buf, sizeof(buf)), SHMKIT_EINVAL);

  /* The largest token fits SHMKIT_TOKEN_MAX. */
  ASSERT(strlen("shmkit1:9223372036854775807:9223372036854775807:rw") <
         SHMKIT_TOKEN_MAX);

  /* In the same process the handle is ours, so the token resolves; the new
   * region owns a handle of its own. */
  {
    char dup[SHMKIT_TOKEN_MAX];
    shmkit_handle h = test_dup_handle(shmkit_region_handle(r));
    snprintf(dup, sizeof(dup), "shmkit1:%lld:12345:r", (long long)h);
    ASSERT_OK(shmkit_region_from_token(&back, dup));
    ASSERT_EQ(shmkit_region_handle(back), h);
    ASSERT_EQ(shmkit_region_size(back), test_system_size(12345));
    ASSERT_EQ(shmkit_region_access(back), SHMKIT_READ_ONLY);
    shmkit_region_close(back);
  }
  shmkit_region_close(r);
  return 0;
}

TEST_IMPL(token_rejects_lies) {
  shmkit_region *r, *ro, *x = (shmkit_region *)&x;
  long long h, hro;
  char t[128];
  int before;

  ASSERT_OK(shmkit_region_create_named(&r, test_name(t, "lie"), 4096, 0));
  ASSERT_OK(shmkit_region_open(&ro, t, SHMKIT_READ_ONLY));
  test_forget_name(t);
  h = (long long)shmkit_region_handle(r);
  hro = (long long)shmkit_region_handle(ro);
  before = test_open_handles();

  /* Malformed. */
  static const char *const garbage[] = {
      "",
      "shmkit1",
      "shmkit1:",
      "shmkit2:3:4096:rw",
      "SHMKIT1:3:4096:rw",
      "shmkit1:3:4096",
      "shmkit1:3:4096:",
      "shmkit1:3:4096:w",
      "shmkit1:3:4096:rwx",
      "shmkit1:3:4096:rw ",
      " shmkit1:3:4096:rw",
      "shmkit1:3:4096:rw\n",
      "shmkit1:+3:4096:rw",
      "shmkit1:-3:4096:rw",
      "shmkit1:03:4096:rw",
      "shmkit1:3:04096:rw",
      "shmkit1:3:0:rw",
      "shmkit1::4096:rw",
      "shmkit1:3::rw",
      "shmkit1:3:4096:rw:extra",
      "shmkit1:0x3:4096:rw",
      "shmkit1:3:4e3:rw",
      "shmkit1:3 :4096:rw",
      "shmkit1:9223372036854775808:4096:rw", /* 2^63 */
      "shmkit1:3:9223372036854775808:rw",    /* 2^63 */
      "shmkit1:3:18446744073709551617:rw",   /* 2^64 + 1 wraps to 1 */
      "shmkit1:3:99999999999999999999999:rw",
  };
  for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
    int err = shmkit_region_from_token(&x, garbage[i]);
    if (err != SHMKIT_ETOKEN)
      FAIL("\"%s\": got %s, want SHMKIT_ETOKEN", garbage[i],
           shmkit_err_name(err));
    ASSERT_NULL(x);
  }
  ASSERT_ERR(shmkit_region_from_token(&x, NULL), SHMKIT_ETOKEN);
  ASSERT_ERR(shmkit_region_from_token(NULL, "shmkit1:3:1:r"), SHMKIT_EINVAL);

  /* Well-formed, but the handle does not back the claim. */
  snprintf(t, sizeof(t), "shmkit1:%lld:4097:rw", h);
  ASSERT_ERR(shmkit_region_from_token(&x, t), SHMKIT_ETOOSMALL);
  snprintf(t, sizeof(t), "shmkit1:%lld:4096:rw", hro);
  ASSERT_ERR(shmkit_region_from_token(&x, t), SHMKIT_EACCES);
  ASSERT_ERR(shmkit_region_from_token(&x, "shmkit1:4000:1:r"), SHMKIT_EBADF);
  ASSERT_ERR(shmkit_region_from_token(&x, "shmkit1:2147483648:1:r"),
             SHMKIT_EBADF);
  ASSERT_EQ(test_open_handles(), before); /* nothing taken or closed */
  /* Open, but a pipe, not shared memory. */
  {
    int pipefd[2];
    ASSERT_EQ(test_make_leaky_pair(pipefd), 0);
    before = test_open_handles();
    snprintf(t, sizeof(t), "shmkit1:%d:1:r", pipefd[0]);
    ASSERT_ERR(shmkit_region_from_token(&x, t), SHMKIT_ENOTSHM);
    snprintf(t, sizeof(t), "shmkit1:%d:1:r", pipefd[1]);
    ASSERT_ERR(shmkit_region_from_token(&x, t), SHMKIT_ENOTSHM);
    ASSERT_NULL(x);
    /* Nothing was taken or closed by the failures. */
    ASSERT_EQ(test_open_handles(), before);
    test_close_leaky_pair(pipefd);
  }

  /* The truth is accepted, also a smaller size than the object's. */
  snprintf(t, sizeof(t), "shmkit1:%lld:100:r",
           (long long)test_dup_handle(shmkit_region_handle(ro)));
  ASSERT_OK(shmkit_region_from_token(&x, t));
  ASSERT_EQ(shmkit_region_size(x), 4096); /* the system's, not the claim */
  shmkit_region_close(x);
  shmkit_region_close(ro);
  shmkit_region_close(r);
  return 0;
}

TEST_IMPL(token_from_env) {
  shmkit_region *x = (shmkit_region *)&x;

  ASSERT_ERR(shmkit_region_from_env(&x, "SHMKIT_TEST_SURELY_UNSET"),
             SHMKIT_ENOENT);
  ASSERT_NULL(x);
  ASSERT_ERR(shmkit_region_from_env(&x, ""), SHMKIT_EINVAL);
  ASSERT_ERR(shmkit_region_from_env(&x, "A=B"), SHMKIT_EINVAL);
  ASSERT_ERR(shmkit_region_from_env(&x, NULL), SHMKIT_EINVAL);
  ASSERT_ERR(shmkit_region_from_env(NULL, "SHMKIT_TEST_SURELY_UNSET"),
             SHMKIT_EINVAL);
  return 0;
}
