/* Windows endpoints: the named pipes a listener offers and a client opens,
 * the lock that says a name is in use, and the unnamed pairs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "win.h"
#include "sys.h"

/* The user alone, and no remote client: the 0600 of a POSIX socket file. */
#define SDDL_PIPE "D:P(A;;GA;;;%s)"

int shmkit__os_self_user(char user[SHMKIT_USER_MAX], int64_t *uid) {
  *uid = -1;
  return shmkit__win_user_sid(user);
}

/* "\\.\pipe\shmkit.<SID>.<name>": one user's endpoints apart from
 * another's, as Linux puts the uid in the abstract name. */
static wchar_t *pipe_path(const char *name, int *err) {
  char sid[SHMKIT_USER_MAX], path[SHMKIT_USER_MAX + 64];

  if ((*err = shmkit__win_user_sid(sid)) != 0) return NULL;
  snprintf(path, sizeof(path), "\\\\.\\pipe\\shmkit.%s.%s", sid, name);
  return shmkit__utf16(path, err);
}

/* Creates a pipe instance of `path`; `first`: it must be the first
 * (SHMKIT_EEXIST if the name exists). */
static int instance(const wchar_t *path, int first, DWORD max, HANDLE *out) {
  SECURITY_ATTRIBUTES sa;
  HANDLE h;
  DWORD e;
  int err;

  if ((err = shmkit__win_security(SDDL_PIPE, &sa)) != 0) return err;
  h = sys_CreateNamedPipeW(path,
                           PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED |
                               (first ? FILE_FLAG_FIRST_PIPE_INSTANCE : 0),
                           PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE |
                               PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS,
                           max, SHMKIT__PIPE_BUFFER, SHMKIT__PIPE_BUFFER, 0,
                           &sa);
  e = GetLastError();
  LocalFree(sa.lpSecurityDescriptor);
  if (h == INVALID_HANDLE_VALUE)
    return e == ERROR_ACCESS_DENIED || e == ERROR_PIPE_BUSY
               ? SHMKIT_EEXIST
               : shmkit__win_error(e);
  *out = h;
  return 0;
}

/* "In use" is a named object the listener holds, as a locked file says it
 * on POSIX: FILE_FLAG_FIRST_PIPE_INSTANCE would say it too, but Wine
 * ignores the flag, and on Windows it also refuses a new listener while
 * connections accepted by an old one are open. A name another user made
 * first (pipe or lock) is refused either way: SHMKIT_EEXIST here, and both
 * ends check their peer's user. */
int shmkit__os_listen(const char *name, shmkit_handle *out,
                      shmkit__listener *l) {
  char sid[SHMKIT_USER_MAX], lock_name[SHMKIT_USER_MAX + 64];
  SECURITY_ATTRIBUTES sa;
  wchar_t *path, *wlock;
  HANDLE lock, h;
  DWORD e;
  int err;

  if ((err = shmkit__win_user_sid(sid)) != 0) return err;
  /* Global\\, as pipe names are: one user's sessions share endpoints.
   * (Unlike sections, mutexes need no privilege there.) */
  snprintf(lock_name, sizeof(lock_name), "Global\\shmkit.ep.%s.%s", sid, name);
  if ((wlock = shmkit__utf16(lock_name, &err)) == NULL) return err;
  if ((err = shmkit__win_security(SDDL_PIPE, &sa)) != 0) {
    free(wlock);
    return err;
  }
  lock = sys_CreateMutexW(&sa, FALSE, wlock);
  e = GetLastError();
  LocalFree(sa.lpSecurityDescriptor);
  free(wlock);
  if (lock == NULL)
    return e == ERROR_ACCESS_DENIED ? SHMKIT_EEXIST : shmkit__win_error(e);
  if (e == ERROR_ALREADY_EXISTS) {
    CloseHandle(lock);
    return SHMKIT_EEXIST;
  }
  if ((path = pipe_path(name, &err)) != NULL) {
    err = instance(path, 0, PIPE_UNLIMITED_INSTANCES, &h);
    free(path);
  }
  if (err != 0) {
    CloseHandle(lock);
    return err;
  }
  memset(l, 0, sizeof(*l));
  l->lock = (shmkit_handle)lock;
  *out = (shmkit_handle)h;
  return 0;
}

void shmkit__os_unlisten(const char *name, shmkit_handle h,
                         const shmkit__listener *l) {
  (void)name;
  if (h != SHMKIT_INVALID_HANDLE) CloseHandle((HANDLE)h);
  CloseHandle((HANDLE)l->lock);
}

/* Waits for a client on the listening instance h. */
static int await_client(HANDLE h, int timeout_ms) {
  OVERLAPPED io;
  DWORD n, e;
  int err;

  if ((err = shmkit__win_io_init(&io)) != 0) return err;
  for (;;) {
    e = shmkit__win_started(sys_ConnectNamedPipe(h, &io));
    if (e == ERROR_PIPE_CONNECTED) { /* it came before we asked */
      e = 0;
      break;
    }
    if (e == ERROR_NO_DATA) { /* it came and went: listen again */
      DisconnectNamedPipe(h);
      shmkit__win_io_reset(&io);
      continue;
    }
    e = shmkit__win_finish(h, &io, e, &n, timeout_ms);
    break;
  }
  CloseHandle(io.hEvent);
  return shmkit__win_error(e);
}

int shmkit__os_accept(const char *name, shmkit_handle *listener, int timeout_ms,
                      shmkit_handle *out) {
  wchar_t *path;
  HANDLE next;
  int err;

  if ((path = pipe_path(name, &err)) == NULL) return err;
  /* A listener whose next instance could not be made tries again. */
  if (*listener == SHMKIT_INVALID_HANDLE) {
    if ((err = instance(path, 0, PIPE_UNLIMITED_INSTANCES, &next)) != 0)
      goto done;
    *listener = (shmkit_handle)next;
  }
  if ((err = await_client((HANDLE)*listener, timeout_ms)) != 0) goto done;
  /* The connected instance is the connection; a new one listens, made
   * before this returns so that clients never find the name missing. */
  *out = *listener;
  *listener = instance(path, 0, PIPE_UNLIMITED_INSTANCES, &next) == 0
                  ? (shmkit_handle)next
                  : SHMKIT_INVALID_HANDLE;
done:
  free(path);
  return err;
}

/* Opens the client end of `path`: 0 or the Win32 error. */
static DWORD open_client(const wchar_t *path, HANDLE *out) {
  DWORD mode = PIPE_READMODE_MESSAGE, e;
  /* SECURITY_IDENTIFICATION: whoever holds the name may learn who we are,
   * not act as us. */
  HANDLE h = sys_CreateFileW(
      path, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
      FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION,
      NULL);

  if (h == INVALID_HANDLE_VALUE) return GetLastError();
  if (!sys_SetNamedPipeHandleState(h, &mode, NULL, NULL)) {
    e = GetLastError();
    CloseHandle(h);
    return e;
  }
  *out = h;
  return 0;
}

int shmkit__os_connect(const char *name, int timeout_ms, shmkit_handle *out) {
  ULONGLONG deadline = shmkit__win_deadline(timeout_ms);
  wchar_t *path;
  HANDLE h;
  DWORD e;
  int err, left;

  if ((path = pipe_path(name, &err)) == NULL) return err;
  while ((e = open_client(path, &h)) != 0) {
    if (e == ERROR_FILE_NOT_FOUND) {
      err = SHMKIT_ENOENT;
      goto done;
    }
    if (e == ERROR_ACCESS_DENIED) { /* a pipe of another user's */
      err = SHMKIT_EACCES;
      goto done;
    }
    if (e != ERROR_PIPE_BUSY) { /* busy: every instance taken; wait */
      err = shmkit__win_error(e);
      goto done;
    }
    if ((left = shmkit__win_remaining(deadline)) == 0) {
      err = SHMKIT_ETIMEDOUT;
      goto done;
    }
    /* 0 would mean the pipe's default wait here, not "no wait". */
    if (!sys_WaitNamedPipeW(path,
                            left < 0 ? NMPWAIT_WAIT_FOREVER : (DWORD)left) &&
        GetLastError() == ERROR_FILE_NOT_FOUND) {
      err = SHMKIT_ENOENT;
      goto done;
    }
  }
  *out = (shmkit_handle)h;
done:
  free(path);
  return err;
}

int shmkit__os_conn_pair(shmkit_handle out[2]) {
  unsigned char r[8];
  char name[64];
  wchar_t *path;
  HANDLE server, client = INVALID_HANDLE_VALUE;
  int err;

  if ((err = shmkit__win_random(r, sizeof(r))) != 0) return err;
  snprintf(name, sizeof(name),
           "\\\\.\\pipe\\shmkit.pair.%lu.%02x%02x%02x%02x%02x%02x%02x%02x",
           (unsigned long)GetCurrentProcessId(), r[0], r[1], r[2], r[3], r[4],
           r[5], r[6], r[7]);
  if ((path = shmkit__utf16(name, &err)) == NULL) return err;
  /* One instance only: once we hold the client end, nobody else can. */
  if ((err = instance(path, 1, 1, &server)) == 0) {
    err = shmkit__win_error(open_client(path, &client));
    if (err == 0) err = await_client(server, 0);
    if (err != 0) {
      if (client != INVALID_HANDLE_VALUE) CloseHandle(client);
      CloseHandle(server);
    }
  }
  free(path);
  if (err == 0) {
    out[0] = (shmkit_handle)server;
    out[1] = (shmkit_handle)client;
  }
  return err;
}

int shmkit__os_conn_check(shmkit_handle h) {
  DWORD flags;

  if ((h & 3) != 0) return SHMKIT_EBADF; /* an alias: see shmkit__os_check */
  if (!sys_GetHandleInformation((HANDLE)h, &flags))
    return shmkit__win_last_error(); /* SHMKIT_EBADF: no handle */
  if (sys_GetFileType((HANDLE)h) != FILE_TYPE_PIPE ||
      !sys_GetNamedPipeInfo((HANDLE)h, &flags, NULL, NULL, NULL) ||
      (flags & PIPE_TYPE_MESSAGE) == 0)
    return SHMKIT_ENOTSHM;
  return 0;
}
