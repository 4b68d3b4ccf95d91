/* Error codes to text. The list itself is SHMKIT_ERRNO_MAP in shmkit.h. */
#include "shmkit.h"

const char *shmkit_strerror(int err) {
  switch (err) {
  case 0:
    return "success";
#define SHMKIT_ERR_TEXT_(name, value, text)                                    \
  case SHMKIT_##name:                                                          \
    return text;
    SHMKIT_ERRNO_MAP(SHMKIT_ERR_TEXT_)
#undef SHMKIT_ERR_TEXT_
  }
  return "unknown error";
}

const char *shmkit_err_name(int err) {
  switch (err) {
  case 0:
    return "SHMKIT_OK";
#define SHMKIT_ERR_NAME_(name, value, text)                                    \
  case SHMKIT_##name:                                                          \
    return "SHMKIT_" #name;
    SHMKIT_ERRNO_MAP(SHMKIT_ERR_NAME_)
#undef SHMKIT_ERR_NAME_
  }
  return "SHMKIT_UNKNOWN";
}
