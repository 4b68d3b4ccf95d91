/* What only Linux's /proc can tell: who holds a name, what a process holds
 * at a descriptor, and the seals of a handle. Elsewhere (Windows, other
 * POSIX systems) these say SHMKIT_ENOTSUP or unknown, and the commands
 * report what the region itself tells (cmd-info.c). */
#include <string.h>

#include "list.h"

int list_named(list_result *out, const char *name, unsigned flags) {
  (void)name, (void)flags;
  memset(out, 0, sizeof(*out));
  return SHMKIT_ENOTSUP;
}

int list_pidfd(list_result *out, int64_t pid, int fd, shmkit_handle *handle) {
  (void)pid, (void)fd, (void)handle;
  memset(out, 0, sizeof(*out));
  return SHMKIT_ENOTSUP;
}

int list_recheck(const list_object *o) {
  (void)o;
  return SHMKIT_ENOTSUP;
}

int64_t list_seals(shmkit_handle h) {
  (void)h;
  return -1;
}

#ifndef _WIN32
/* POSIX systems other than Linux: shm objects that are not files, so no
 * names to list either (Windows lists its own in list-win.c). */
int list_scan(list_result *out, int named, int anonymous) {
  (void)named, (void)anonymous;
  memset(out, 0, sizeof(*out));
  return SHMKIT_ENOTSUP;
}
#endif
