/* Windows connections: not written yet. Every call says so. */
#include "win.h"

int shmkit__os_self_user(char user[SHMKIT_USER_MAX], int64_t *uid) {
  *uid = -1;
  return shmkit__win_user_sid(user);
}

int shmkit__os_listen(const char *name, shmkit_handle *out,
                      shmkit__listener *l) {
  (void)name, (void)out, (void)l;
  return SHMKIT_ENOTSUP;
}

void shmkit__os_unlisten(const char *name, shmkit_handle h,
                         const shmkit__listener *l) {
  (void)name, (void)l;
  CloseHandle((HANDLE)h);
}

int shmkit__os_accept(shmkit_handle listener, int timeout_ms,
                      shmkit_handle *out) {
  (void)listener, (void)timeout_ms, (void)out;
  return SHMKIT_ENOTSUP;
}

int shmkit__os_connect(const char *name, int timeout_ms, shmkit_handle *out) {
  (void)name, (void)timeout_ms, (void)out;
  return SHMKIT_ENOTSUP;
}

int shmkit__os_conn_pair(shmkit_handle out[2]) {
  (void)out;
  return SHMKIT_ENOTSUP;
}

int shmkit__os_conn_check(shmkit_handle h) {
  (void)h;
  return SHMKIT_ENOTSUP;
}

int shmkit__os_peer(shmkit_handle h, shmkit_peer *peer) {
  (void)h, (void)peer;
  return SHMKIT_ENOTSUP;
}

int shmkit__os_send(shmkit_handle h, const shmkit__frame *f, const void *data,
                    size_t size, const shmkit_handle *handles, size_t count,
                    int timeout_ms) {
  (void)h, (void)f, (void)data, (void)size, (void)handles, (void)count,
      (void)timeout_ms;
  return SHMKIT_ENOTSUP;
}

int shmkit__os_recv(shmkit_handle h, shmkit__frame *f, size_t *got, void *data,
                    size_t capacity, size_t *payload, int *truncated,
                    shmkit_handle handles[SHMKIT_MSG_REGIONS_MAX],
                    size_t *count, int timeout_ms) {
  (void)h, (void)f, (void)got, (void)data, (void)capacity, (void)payload,
      (void)truncated, (void)handles, (void)count, (void)timeout_ms;
  return SHMKIT_ENOTSUP;
}

int shmkit__os_pull(int64_t pid, shmkit_handle remote, shmkit_handle *out) {
  HANDLE source, h;
  int err = 0;

  if (pid > 0xffffffffLL) return SHMKIT_ENOENT; /* no process id is */
  source = OpenProcess(PROCESS_DUP_HANDLE, FALSE, (DWORD)pid);
  if (source == NULL)
    return GetLastError() == ERROR_INVALID_PARAMETER ? SHMKIT_ENOENT
           : GetLastError() == ERROR_ACCESS_DENIED   ? SHMKIT_EPERM
                                                     : shmkit__win_last_error();
  if (!DuplicateHandle(source, (HANDLE)remote, GetCurrentProcess(), &h, 0,
                       FALSE, DUPLICATE_SAME_ACCESS))
    err = GetLastError() == ERROR_INVALID_HANDLE ? SHMKIT_EBADF
                                                 : shmkit__win_last_error();
  CloseHandle(source);
  if (err == 0) *out = (shmkit_handle)h;
  return err;
}
