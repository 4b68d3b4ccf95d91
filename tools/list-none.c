/* POSIX systems other than Linux: no /proc to find holders with, and shm
 * objects that are not files, so nothing to list; info NAME still reports
 * what the region itself tells (cmd-info.c). */
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "list.h"

int list_scan(list_result *out, int named, int anonymous) {
  (void)named, (void)anonymous;
  memset(out, 0, sizeof(*out));
  return SHMKIT_ENOTSUP;
}

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

void list_user_name(int64_t uid, char *buf, size_t size) {
  struct passwd *pw = uid >= 0 ? getpwuid((uid_t)uid) : NULL;

  if (pw != NULL)
    snprintf(buf, size, "%s", pw->pw_name);
  else
    snprintf(buf, size, "%lld", (long long)uid);
}

int64_t list_euid(void) {
  return geteuid();
}

int64_t list_seals(shmkit_handle h) {
  (void)h;
  return -1;
}
