/* Every POSIX system, Linux included: users by uid. */
#include <pwd.h>
#include <stdio.h>
#include <unistd.h>

#include "list.h"

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
