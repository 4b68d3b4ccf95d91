/* Private declarations shared by the portable files. */
#ifndef SHMKIT_INTERNAL_H
#define SHMKIT_INTERNAL_H

#include "shmkit.h"

/* The longest name (shmkit.h: "Names"), without a terminating NUL. */
#define SHMKIT__NAME_MAX 30

/* The largest region size: what a signed 64-bit file offset can hold. */
#define SHMKIT__SIZE_MAX ((uint64_t)INT64_MAX)

struct shmkit_region {
  shmkit_handle handle; /* owned; closed by shmkit_region_close() */
  uint64_t size;        /* read from the system, never from a caller */
  int access;           /* SHMKIT_READ_ONLY or SHMKIT_READ_WRITE */
  char name[SHMKIT__NAME_MAX + 1]; /* "" for an anonymous or adopted region */
};

/* Returns 0 if `name` follows the rules of shmkit.h, else SHMKIT_ENAME. */
int shmkit__name_check(const char *name);

/* Returns 0 if `access` is SHMKIT_READ_ONLY or SHMKIT_READ_WRITE. */
int shmkit__access_check(int access);

#endif /* SHMKIT_INTERNAL_H */
