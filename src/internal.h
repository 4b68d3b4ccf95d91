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

/* A parsed token (shmkit.h: "tokens"). */
typedef struct shmkit__token {
  shmkit_handle handle;
  uint64_t size; /* 1 .. SHMKIT__SIZE_MAX */
  int access;    /* SHMKIT_READ_ONLY or SHMKIT_READ_WRITE */
} shmkit__token;

/* Parses a NUL-terminated token strictly: 0 or SHMKIT_ETOKEN. */
int shmkit__token_parse(const char *s, shmkit__token *t);

/* Writes a token into buf; returns its length, or SHMKIT_E2BIG. */
int shmkit__token_format(const shmkit__token *t, char *buf, size_t n);

/* shmkit_region_adopt(), and also fails with SHMKIT_ETOOSMALL if the object
 * is smaller than `min_size`. */
int shmkit__region_adopt(shmkit_region **out, shmkit_handle handle, int access,
                         uint64_t min_size);

/* Returns 0 if `name` follows the rules of shmkit.h, else SHMKIT_ENAME. */
int shmkit__name_check(const char *name);

/* Returns 0 if `access` is SHMKIT_READ_ONLY or SHMKIT_READ_WRITE. */
int shmkit__access_check(int access);

#endif /* SHMKIT_INTERNAL_H */
