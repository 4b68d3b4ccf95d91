/* Tokens: "shmkit1:<handle>:<size>:<access>" for a region and
 * "shmkit1:<handle>:conn" for a connection (shmkit.h), written, read
 * strictly (the part that is fuzzed: tests/fuzz), and taken from the
 * environment. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "platform.h"

#define PREFIX "shmkit1:"

/* Reads a decimal number of 1 to 19 digits without a sign or leading zero,
 * up to INT64_MAX, and moves *s past it. */
static int parse_number(const char **s, uint64_t *out) {
  const char *p = *s;
  uint64_t v = 0;
  int n = 0;

  if (*p == '0') { /* "0" alone, never "01" */
    *s = p + 1;
    *out = 0;
    return (p[1] >= '0' && p[1] <= '9') ? -1 : 0;
  }
  while (*p >= '0' && *p <= '9') {
    unsigned d = (unsigned)(*p - '0');
    if (v > (SHMKIT__SIZE_MAX - d) / 10) return -1;
    v = v * 10 + d;
    p++;
    n++;
  }
  if (n == 0) return -1;
  *s = p;
  *out = v;
  return 0;
}

int shmkit__token_parse(const char *s, shmkit__token *t) {
  uint64_t handle, size;

  if (s == NULL || strncmp(s, PREFIX, sizeof(PREFIX) - 1) != 0)
    return SHMKIT_ETOKEN;
  s += sizeof(PREFIX) - 1;
  if (parse_number(&s, &handle) != 0 || *s++ != ':') return SHMKIT_ETOKEN;
  if (parse_number(&s, &size) != 0 || size == 0 || *s++ != ':')
    return SHMKIT_ETOKEN;
  if (strcmp(s, "r") == 0)
    t->access = SHMKIT_READ_ONLY;
  else if (strcmp(s, "rw") == 0)
    t->access = SHMKIT_READ_WRITE;
  else
    return SHMKIT_ETOKEN;
  t->handle = (shmkit_handle)handle; /* <= INT64_MAX: fits an intptr_t on
                                        64-bit; backends check the range */
  if ((uint64_t)t->handle != handle) return SHMKIT_ETOKEN;
  t->size = size;
  return 0;
}

int shmkit__token_parse_conn(const char *s, shmkit_handle *handle) {
  uint64_t h;

  if (s == NULL || strncmp(s, PREFIX, sizeof(PREFIX) - 1) != 0)
    return SHMKIT_ETOKEN;
  s += sizeof(PREFIX) - 1;
  if (parse_number(&s, &h) != 0 || strcmp(s, ":conn") != 0)
    return SHMKIT_ETOKEN;
  *handle = (shmkit_handle)h;
  return (uint64_t)*handle == h ? 0 : SHMKIT_ETOKEN;
}

int shmkit__token_format(const shmkit__token *t, char *buf, size_t n) {
  int len;

  if (t->handle < 0) return SHMKIT_EINVAL;
  len = snprintf(buf, n, PREFIX "%llu:%llu:%s", (unsigned long long)t->handle,
                 (unsigned long long)t->size,
                 t->access == SHMKIT_READ_WRITE ? "rw" : "r");
  if (len < 0) return SHMKIT_EINVAL;
  if ((size_t)len >= n) return SHMKIT_E2BIG;
  return len;
}

int shmkit_region_token(const shmkit_region *region, char *buf,
                        size_t buf_size) {
  shmkit__token t;

  if (region == NULL || buf == NULL) return SHMKIT_EINVAL;
  t.handle = region->handle;
  t.size = region->size;
  t.access = shmkit__region_claim(region, 1);
  return shmkit__token_format(&t, buf, buf_size) < 0 ? SHMKIT_E2BIG : 0;
}

int shmkit_region_from_token(shmkit_region **out, const char *token) {
  shmkit__token t;
  int err;

  if (out == NULL) return SHMKIT_EINVAL;
  *out = NULL;
  if ((err = shmkit__token_parse(token, &t)) != 0) return err;
  return shmkit__region_adopt(out, t.handle, t.access, t.size, 0);
}

int shmkit__token_format_conn(shmkit_handle h, char *buf, size_t n) {
  int len;

  if (h < 0) return SHMKIT_EINVAL;
  len = snprintf(buf, n, PREFIX "%llu:conn", (unsigned long long)h);
  if (len < 0) return SHMKIT_EINVAL;
  return (size_t)len < n ? len : SHMKIT_E2BIG;
}

int shmkit__token_from_env(const char *name, const void *out,
                           const char **value) {
  if (out == NULL || name == NULL || name[0] == '\0' ||
      strchr(name, '=') != NULL)
    return SHMKIT_EINVAL;
  return (*value = getenv(name)) != NULL ? 0 : SHMKIT_ENOENT;
}

int shmkit_region_from_env(shmkit_region **out, const char *name) {
  const char *value = NULL;
  int err = shmkit__token_from_env(name, out, &value);

  if (err != 0 && out != NULL) *out = NULL;
  return err != 0 ? err : shmkit_region_from_token(out, value);
}
