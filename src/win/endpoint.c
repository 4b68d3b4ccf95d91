/* Windows endpoints: the named pipes a listener offers and a client opens,
 * the lock that says a name is in use, and the unnamed pairs.
 *
 * Who may hold an endpoint. The pipe namespace is one for the machine, and
 * any process may create any name in it first, so the pipe alone proves
 * nothing. The listener's lock is a file in this user's own directory,
 * %LOCALAPPDATA%\shmkit\ep-<name>.lock: there only the user (and SYSTEM
 * and the administrators) may create files, and a process of the user at
 * a lower integrity level may not either (a file or directory without a
 * label counts as medium, which refuses writes from below). The file holds the
 * listener's pid, and lives exactly as long as the listener's handle
 * (FILE_FLAG_DELETE_ON_CLOSE; a killed listener's handles close too).
 *  - shmkit_listen takes the lock first (another listener holds it with
 *    writers refused: SHMKIT_EEXIST), then makes the pipe's first instance
 *    (FILE_FLAG_FIRST_PIPE_INSTANCE: a pipe made first by anybody else is
 *    SHMKIT_EEXIST on Windows; Wine ignores the flag).
 *  - shmkit_connect, once it holds a pipe, reads the pid in the lock and
 *    takes the pipe only if the system says that process made it
 *    (GetNamedPipeServerProcessId): no lock is SHMKIT_ENOENT, another
 *    process SHMKIT_EACCES. Nothing is written to the pipe before.
 * A process of the same user at the same integrity level can do whatever
 * the listener can, and is not kept out: the guarantee is against other
 * users and lower integrity levels, which both ends also refuse as peers
 * (shmkit__win_integrity_check). An earlier lock, a mutex named
 * Global\shmkit.ep.<SID>.<name>, could be created first by any user
 * (mutexes need no privilege there) and so kept a user from listening. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "win.h"
#include "sys.h"

/* The user alone, and no remote client: the 0600 of a POSIX socket file. */
#define SDDL_PIPE "D:P(A;;GA;;;%s)"

/* A listener: the instance waiting for the next client (or
 * INVALID_HANDLE_VALUE if the last could not be made: accept tries again),
 * the endpoint's lock, and the pipe's path. */
struct shmkit__listener_os {
  HANDLE pipe, lock;
  wchar_t *path;
};

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

/* The directory of this user's endpoint locks, made if `make` and missing:
 * a new UTF-16 string, or NULL with *err. */
static wchar_t *lock_dir(int make, int *err) {
  static const wchar_t sub[] = L"\\shmkit";
  SECURITY_ATTRIBUTES sa;
  wchar_t *dir;
  DWORD n, m;

  n = sys_GetEnvironmentVariableW(L"LOCALAPPDATA", NULL, 0);
  if (n == 0) { /* no profile directory: nowhere only this user writes */
    *err = GetLastError() == ERROR_ENVVAR_NOT_FOUND ? SHMKIT_EACCES
                                                    : shmkit__win_last_error();
    return NULL;
  }
  if ((dir = malloc((n + sizeof(sub) / sizeof(sub[0])) * sizeof(*dir))) ==
      NULL) {
    *err = SHMKIT_ENOMEM;
    return NULL;
  }
  m = sys_GetEnvironmentVariableW(L"LOCALAPPDATA", dir, n);
  if (m == 0 || m >= n) { /* changed in between (or failed) */
    *err = m == 0 ? shmkit__win_last_error() : SHMKIT_EIO;
    free(dir);
    return NULL;
  }
  wcscpy(dir + m, sub);
  if (make) {
    if ((*err = shmkit__win_security(SDDL_PIPE, &sa)) != 0) {
      free(dir);
      return NULL;
    }
    if (!sys_CreateDirectoryW(dir, &sa) &&
        GetLastError() != ERROR_ALREADY_EXISTS) {
      *err = shmkit__win_last_error();
      LocalFree(sa.lpSecurityDescriptor);
      free(dir);
      return NULL;
    }
    LocalFree(sa.lpSecurityDescriptor);
  }
  *err = 0;
  return dir;
}

/* "<dir>\ep-<name>.lock". The prefix and suffix keep a name from being a
 * device ("CON", "NUL") or ending in a dot, which Windows drops from file
 * names. File names are case-insensitive, as pipe names are: "a" and "A"
 * are one endpoint on Windows. */
static wchar_t *lock_path(const char *name, int make, int *err) {
  wchar_t *dir, *path;
  size_t n;

  if ((dir = lock_dir(make, err)) == NULL) return NULL;
  n = wcslen(dir) + strlen(name) + 16;
  if ((path = malloc(n * sizeof(*path))) == NULL) {
    *err = SHMKIT_ENOMEM;
  } else {
    /* Names are ASCII (shmkit__name_check). */
    _snwprintf(path, n, L"%ls\\ep-%hs.lock", dir, name);
    path[n - 1] = L'\0';
  }
  free(dir);
  return path;
}

/* Takes the lock of endpoint `name` and writes our pid in it. */
static int take_lock(const char *name, HANDLE *out) {
  DWORD pid = GetCurrentProcessId(), n, e = 0;
  SECURITY_ATTRIBUTES sa;
  wchar_t *path;
  HANDLE h = INVALID_HANDLE_VALUE;
  int err;

  if ((path = lock_path(name, 1, &err)) == NULL) return err;
  if ((err = shmkit__win_security(SDDL_PIPE, &sa)) != 0) {
    free(path);
    return err;
  }
  /* Readers (clients) are let in, writers (other listeners) are not. A
   * lock closed a moment ago can still be "delete pending" while a client
   * reads it, which refuses every open (ERROR_ACCESS_DENIED): that passes
   * at once, so it is tried again, a bounded number of times. */
  for (int tries = 0; tries < 50; tries++) {
    h = sys_CreateFileW(path, GENERIC_READ | GENERIC_WRITE | DELETE,
                        FILE_SHARE_READ | FILE_SHARE_DELETE, &sa, CREATE_ALWAYS,
                        FILE_ATTRIBUTE_TEMPORARY | FILE_FLAG_DELETE_ON_CLOSE,
                        NULL);
    e = GetLastError();
    if (h != INVALID_HANDLE_VALUE || e != ERROR_ACCESS_DENIED) break;
    Sleep(1);
  }
  LocalFree(sa.lpSecurityDescriptor);
  free(path);
  if (h == INVALID_HANDLE_VALUE)
    return e == ERROR_SHARING_VIOLATION || e == ERROR_ACCESS_DENIED
               ? SHMKIT_EEXIST
               : shmkit__win_error(e);
  if (!sys_WriteFile(h, &pid, sizeof(pid), &n, NULL))
    err = shmkit__win_last_error();
  else if (n != sizeof(pid))
    err = SHMKIT_EIO;
  if (err != 0) {
    CloseHandle(h);
    return err;
  }
  *out = h;
  return 0;
}

/* The pid the listener of `name` wrote in its lock: SHMKIT_ENOENT if
 * nobody holds it. */
static int lock_owner(const char *name, DWORD *pid) {
  wchar_t *path;
  HANDLE h;
  DWORD n, e, buf[2];
  int err;

  if ((path = lock_path(name, 0, &err)) == NULL) return err;
  h = sys_CreateFileW(path, GENERIC_READ,
                      FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                      NULL, OPEN_EXISTING, 0, NULL);
  e = GetLastError();
  free(path);
  if (h == INVALID_HANDLE_VALUE)
    /* Not there, or going away (delete pending): nobody listens. */
    return e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND ||
                   e == ERROR_ACCESS_DENIED
               ? SHMKIT_ENOENT
               : shmkit__win_error(e);
  if (!sys_ReadFile(h, buf, sizeof(buf), &n, NULL))
    err = shmkit__win_last_error();
  else /* exactly one pid: a listener writes it before it makes its pipe */
    err = n == sizeof(buf[0]) ? 0 : SHMKIT_ENOENT;
  CloseHandle(h);
  if (err == 0) *pid = buf[0];
  return err;
}

/* The lock is taken before the pipe is made, so that a client that finds
 * the pipe finds the pid too. FILE_FLAG_FIRST_PIPE_INSTANCE makes Windows
 * refuse a name that has instances already, a squatter's (see the top of
 * this file) or those of connections an earlier listener accepted and that
 * are still open: SHMKIT_EEXIST either way. */
int shmkit__os_listen(const char *name, shmkit__listener_os **out) {
  shmkit__listener_os *l;
  HANDLE lock = NULL;
  int err;

  if ((l = calloc(1, sizeof(*l))) == NULL) return SHMKIT_ENOMEM;
  if ((err = take_lock(name, &lock)) == 0) {
    if ((l->path = pipe_path(name, &err)) != NULL)
      err = instance(l->path, 1, PIPE_UNLIMITED_INSTANCES, &l->pipe);
    if (err != 0) CloseHandle(lock);
  }
  if (err != 0) {
    free(l->path);
    free(l);
    return err;
  }
  l->lock = lock;
  *out = l;
  return 0;
}

void shmkit__os_unlisten(shmkit__listener_os *l) {
  if (l->pipe != INVALID_HANDLE_VALUE) CloseHandle(l->pipe);
  CloseHandle(l->lock);
  free(l->path);
  free(l);
}

shmkit_handle shmkit__os_listener_handle(const shmkit__listener_os *l) {
  return l->pipe != INVALID_HANDLE_VALUE ? (shmkit_handle)l->pipe
                                         : SHMKIT_INVALID_HANDLE;
}

/* The integrity level (the RID of the mandatory label: 0x1000 low, 0x2000
 * medium, 0x3000 high...) of a process's token. */
static int integrity_of(HANDLE process, DWORD *level) {
  union {
    TOKEN_MANDATORY_LABEL label;
    char bytes[sizeof(TOKEN_MANDATORY_LABEL) + SECURITY_MAX_SID_SIZE];
  } info;
  HANDLE token;
  DWORD n;
  UCHAR count;
  int err = 0;

  if (!sys_OpenProcessToken(process, TOKEN_QUERY, &token))
    return shmkit__win_last_error();
  if (!sys_GetTokenInformation(token, TokenIntegrityLevel, &info, sizeof(info),
                               &n)) {
    err = shmkit__win_last_error();
  } else {
    count = *GetSidSubAuthorityCount(info.label.Label.Sid);
    *level =
        count == 0 ? 0 : *GetSidSubAuthority(info.label.Label.Sid, count - 1);
  }
  CloseHandle(token);
  return err;
}

/* A process of this user at a lower integrity level is a sandbox of it
 * (a browser's renderer, a document viewer): what it sends is input from
 * outside the sandbox's walls, and what it is sent leaves them. It is not
 * taken for the user: both ends refuse a peer below their own level, so
 * connections join processes of one level (a higher one may still refuse a
 * lower one's listener as a client: it is then that one that refuses). */
int shmkit__win_integrity_check(HANDLE process) {
  DWORD mine, theirs;
  int err;

  if ((err = integrity_of(GetCurrentProcess(), &mine)) != 0 ||
      (err = integrity_of(process, &theirs)) != 0)
    return err;
  return theirs < mine ? SHMKIT_EACCES : 0;
}

/* The integrity check of the process `pid` (a pipe's other end):
 * SHMKIT_ECLOSED if it is gone already. */
static int pid_integrity_check(DWORD pid) {
  HANDLE proc = sys_OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
  int err;

  if (proc == NULL)
    return GetLastError() == ERROR_INVALID_PARAMETER ? SHMKIT_ECLOSED
                                                     : shmkit__win_last_error();
  err = shmkit__win_integrity_check(proc);
  CloseHandle(proc);
  return err;
}

/* Waits for a client on the listening instance h. */
static int await_client(HANDLE h, int timeout_ms) {
  ULONGLONG deadline = shmkit__win_deadline(timeout_ms);
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
    /* It came and went: listen again, but a client that keeps doing so
     * does not hold us past the deadline. */
    if (e == ERROR_NO_DATA) {
      DisconnectNamedPipe(h);
      shmkit__win_io_reset(&io);
      if (shmkit__win_remaining(deadline) == 0) {
        e = WAIT_TIMEOUT;
        break;
      }
      continue;
    }
    e = shmkit__win_finish(h, &io, e, &n, shmkit__win_remaining(deadline));
    break;
  }
  CloseHandle(io.hEvent);
  return shmkit__win_error(e);
}

int shmkit__os_accept(shmkit__listener_os *l, int timeout_ms,
                      shmkit_handle *out) {
  ULONGLONG deadline = shmkit__win_deadline(timeout_ms);
  int err;

  /* A listener whose next instance could not be made tries again. */
  if (l->pipe == INVALID_HANDLE_VALUE &&
      (err = instance(l->path, 0, PIPE_UNLIMITED_INSTANCES, &l->pipe)) != 0) {
    l->pipe = INVALID_HANDLE_VALUE;
    return err;
  }
  /* A client below our integrity level is turned away here, before the
   * connection is anybody's, and the instance listens again. */
  for (;;) {
    ULONG pid;
    if ((err = await_client(l->pipe, shmkit__win_remaining(deadline))) != 0)
      return err;
    if (!sys_GetNamedPipeClientProcessId(l->pipe, &pid))
      err = shmkit__win_last_error();
    else
      err = pid_integrity_check(pid);
    /* Gone already: shmkit__os_conn_open says so, and accept goes on. */
    if (err == 0 || err == SHMKIT_ECLOSED) break;
    DisconnectNamedPipe(l->pipe);
    if (err != SHMKIT_EACCES) return err;
    if (shmkit__win_remaining(deadline) == 0) return SHMKIT_ETIMEDOUT;
  }
  /* The connected instance is the connection; a new one listens, made
   * before this returns so that clients never find the name missing. */
  *out = (shmkit_handle)l->pipe;
  if (instance(l->path, 0, PIPE_UNLIMITED_INSTANCES, &l->pipe) != 0)
    l->pipe = INVALID_HANDLE_VALUE;
  return 0;
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

/* The pipe h we opened for endpoint `name` is the listener's: made by the
 * process whose pid its lock holds (see the top of this file), at our
 * integrity level or above. Checked before anything is written to it. */
static int server_is_listener(HANDLE h, const char *name) {
  ULONG server;
  DWORD owner = 0;
  int err;

  if (!sys_GetNamedPipeServerProcessId(h, &server))
    return shmkit__win_last_error();
  if ((err = lock_owner(name, &owner)) != 0) return err;
  if (owner != server) return SHMKIT_EACCES;
  return pid_integrity_check(server);
}

void shmkit__os_sleep_ms(int ms) {
  Sleep((DWORD)ms);
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
  if ((err = server_is_listener(h, name)) != 0) {
    CloseHandle(h);
    goto done;
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
