#include "runner.h"

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
  ASSERT_STR_EQ(shmkit_err_name(0), "SHMKIT_UNKNOWN");
  ASSERT_STR_EQ(shmkit_err_name(-1000), "SHMKIT_UNKNOWN");
  ASSERT_STR_EQ(shmkit_strerror(7), "unknown error");
  return 0;
}
