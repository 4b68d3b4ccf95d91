/* Error codes to names and text. The list itself is SHMKIT_ERRNO_MAP in
 * shmkit.h. */
#include <stddef.h>

#include "shmkit.h"

static const struct {
  int code;
  const char *name, *text;
} errors[] = {{0, "SHMKIT_OK", "success"},
#define SHMKIT_ERR_ENTRY_(name, value, text)                                   \
  {SHMKIT_##name, "SHMKIT_" #name, text},
              SHMKIT_ERRNO_MAP(SHMKIT_ERR_ENTRY_)
#undef SHMKIT_ERR_ENTRY_
};

/* The index of `err` in errors[], or the count if it has none. */
static size_t find(int err) {
  size_t i = 0;

  while (i < sizeof(errors) / sizeof(errors[0]) && errors[i].code != err) i++;
  return i;
}

const char *shmkit_strerror(int err) {
  size_t i = find(err);
  return i < sizeof(errors) / sizeof(errors[0]) ? errors[i].text
                                                : "unknown error";
}

const char *shmkit_err_name(int err) {
  size_t i = find(err);
  return i < sizeof(errors) / sizeof(errors[0]) ? errors[i].name
                                                : "SHMKIT_UNKNOWN";
}
