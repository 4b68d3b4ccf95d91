#include "task.h"

TEST_IMPL(error_names) {
  static const struct {
    int code;
    const char *name;
  } all[] = {
#define XX(name, value, text) {SHMKIT_##name, "SHMKIT_" #name},
      SHMKIT_ERRNO_MAP(XX)
#undef XX
  };
  size_t n = sizeof(all) / sizeof(all[0]);

  for (size_t i = 0; i < n; i++) {
    ASSERT(all[i].code < 0);
    ASSERT_STR_EQ(shmkit_err_name(all[i].code), all[i].name);
    ASSERT(shmkit_strerror(all[i].code)[0] != '\0');
    ASSERT(strcmp(shmkit_strerror(all[i].code), "unknown error") != 0);
    for (size_t j = 0; j < i; j++) {
      ASSERT_NE(all[i].code, all[j].code);
      ASSERT(strcmp(shmkit_strerror(all[i].code),
                    shmkit_strerror(all[j].code)) != 0);
    }
  }
  /* The values are part of the ABI: they must not move. */
  ASSERT_EQ(SHMKIT_EINVAL, -1);
  ASSERT_EQ(SHMKIT_EIO, -16);
  ASSERT_EQ(SHMKIT_EAGAIN, -17);
  /* Success is no error, and says so. */
  ASSERT_STR_EQ(shmkit_err_name(0), "SHMKIT_OK");
  ASSERT_STR_EQ(shmkit_strerror(0), "success");
  ASSERT_STR_EQ(shmkit_err_name(-1000), "SHMKIT_UNKNOWN");
  ASSERT_STR_EQ(shmkit_err_name(7), "SHMKIT_UNKNOWN");
  ASSERT_STR_EQ(shmkit_strerror(7), "unknown error");
  ASSERT_STR_EQ(shmkit_strerror(-1000), "unknown error");
  return 0;
}

/* These codes come back from connections and spawn as well as from
 * regions (an endpoint's name in use, a missing program or process, a
 * privilege, a payload too large...): their text must be true there too, so
 * it speaks of no region. */
TEST_IMPL(error_texts_not_only_regions) {
  static const int shared[] = {SHMKIT_EEXIST, SHMKIT_ENOENT, SHMKIT_ENAME,
                               SHMKIT_E2BIG,  SHMKIT_EPERM,  SHMKIT_EBUSY,
                               SHMKIT_ENOTSHM};

  for (size_t i = 0; i < sizeof(shared) / sizeof(shared[0]); i++) {
    const char *text = shmkit_strerror(shared[i]);
    if (strstr(text, "region") != NULL)
      FAIL("%s: \"%s\"", shmkit_err_name(shared[i]), text);
  }
  return 0;
}

/* A child that was not given its region gets SHMKIT_EBADF from the token:
 * the text says what was probably forgotten. */
TEST_IMPL(error_text_not_inherited) {
  shmkit_region *r;

  ASSERT_ERR(shmkit_region_from_token(&r, "shmkit1:4000:4096:rw"),
             SHMKIT_EBADF);
  ASSERT(strstr(shmkit_strerror(SHMKIT_EBADF), "inherited") != NULL);
  return 0;
}
