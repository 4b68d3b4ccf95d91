/* Windows connections: message-mode named pipes, with overlapped I/O so that
 * every wait has a timeout.
 *
 * A region travels as a handle value in the header, and the receiver
 * duplicates it out of the sender (DuplicateHandle from the peer's process,
 * whose pid the pipe tells). The classic hand-over pushes instead: the
 * sender duplicates into the receiver and sends the value. That cannot be
 * made safe:
 *  - a value pushed into the receiver cannot be told from one of the
 *    receiver's own handles, so a lying or buggy sender makes the receiver
 *    adopt, and later close, a handle it uses for something else;
 *  - a sender that dies between the duplicate and the message leaves handles
 *    in the receiver that nobody knows of.
 * Pulled, whatever value a sender names yields a new handle of the
 * receiver's, checked like a token's before use, and nothing enters the
 * receiver until it asks. The sender keeps a copy of each region "in
 * flight" (so the caller may close the region as soon as send returns) and
 * closes it when the receiver acknowledges taking it, when the connection
 * ends, or when the sender closes the connection, after letting the peer
 * take what it was sent (LINGER_MS). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "win.h"
#include "sys.h"

/* Room for the largest message in each direction. */
#define PIPE_BUFFER ((DWORD)(sizeof(shmkit__frame) + SHMKIT_MSG_MAX))

/* How long closing a connection waits for the peer to take regions sent on
 * it (shmkit.h, shmkit_conn_close). */
#define LINGER_MS 5000

/* The user alone, and no remote client: the 0600 of a POSIX socket file. */
#define SDDL_PIPE "D:P(A;;GA;;;%s)"

/* What a receiver asks of the peer's process, and of a pulled handle. */
#define PEER_ACCESS                                                            \
  (PROCESS_DUP_HANDLE | PROCESS_QUERY_LIMITED_INFORMATION | SYNCHRONIZE)

struct shmkit__conn_os {
  CRITICAL_SECTION lock; /* guards the fields up to `reader` */
  HANDLE peer;           /* the peer's process */
  DWORD peer_pid;        /* what the regions of its messages must say */
  int can_pull;          /* peer was opened with PROCESS_DUP_HANDLE */
  HANDLE *flight;        /* our copies of sent regions not yet taken */
  size_t nflight, flight_cap;
  uint64_t *acks; /* values taken from the peer, to acknowledge */
  size_t nacks, ack_cap;
  OVERLAPPED ack_io; /* the acknowledgement being written, if ack_busy */
  shmkit__ack ack;
  int ack_busy;
  /* Held by whoever reads the pipe: a receive, or a send draining
   * acknowledgements (which only tries). */
  SRWLOCK reader;
  char *in;     /* PIPE_BUFFER bytes: one whole message, as read */
  int skipping; /* the rest of an oversized message is still to drop */
};

int64_t shmkit__os_now_ms(void) {
  return (int64_t)GetTickCount64(); /* monotonic; Windows Vista and later */
}

int shmkit__os_self_user(char user[SHMKIT_USER_MAX], int64_t *uid) {
  *uid = -1;
  return shmkit__win_user_sid(user);
}

/* ---- overlapped I/O */

static int io_init(OVERLAPPED *io) {
  memset(io, 0, sizeof(*io));
  io->hEvent = sys_CreateEventW(NULL, TRUE, FALSE, NULL);
  return io->hEvent != NULL ? 0 : shmkit__win_last_error();
}

static void io_reset(OVERLAPPED *io) {
  HANDLE e = io->hEvent;
  memset(io, 0, sizeof(*io));
  io->hEvent = e;
}

/* What starting an overlapped operation said: 0, ERROR_IO_PENDING, ... */
static DWORD started(BOOL ok) {
  return ok ? 0 : GetLastError();
}

/* Finishes an operation started on `io` (`e`: started()): waits up to
 * timeout_ms (-1: forever), and past that cancels it. Returns 0 with *n
 * bytes, WAIT_TIMEOUT, or the Win32 error (ERROR_MORE_DATA: a message
 * longer than the buffer, *n bytes of it read). */
static DWORD finish(HANDLE h, OVERLAPPED *io, DWORD e, DWORD *n,
                    int timeout_ms) {
  *n = 0;
  if (e != 0 && e != ERROR_IO_PENDING && e != ERROR_MORE_DATA) return e;
  if (e == ERROR_IO_PENDING &&
      sys_WaitForSingleObject(io->hEvent,
                              timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms) !=
          WAIT_OBJECT_0) {
    CancelIoEx(h, io);
    /* It may have completed meanwhile; after this wait it is over. */
    if (GetOverlappedResult(h, io, n, TRUE)) return 0;
    e = GetLastError();
    return e == ERROR_OPERATION_ABORTED ? WAIT_TIMEOUT : e;
  }
  return GetOverlappedResult(h, io, n, TRUE) ? 0 : GetLastError();
}

static int remaining(ULONGLONG deadline) {
  ULONGLONG now = GetTickCount64();

  if (deadline == (ULONGLONG)-1) return -1;
  return now >= deadline ? 0 : (int)(deadline - now);
}

static ULONGLONG deadline_of(int timeout_ms) {
  return timeout_ms < 0 ? (ULONGLONG)-1 : GetTickCount64() + (DWORD)timeout_ms;
}

/* ---- endpoints */

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
                           max, PIPE_BUFFER, PIPE_BUFFER, 0, &sa);
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

  if ((err = io_init(&io)) != 0) return err;
  for (;;) {
    e = started(sys_ConnectNamedPipe(h, &io));
    if (e == ERROR_PIPE_CONNECTED) { /* it came before we asked */
      e = 0;
      break;
    }
    if (e == ERROR_NO_DATA) { /* it came and went: listen again */
      DisconnectNamedPipe(h);
      io_reset(&io);
      continue;
    }
    e = finish(h, &io, e, &n, timeout_ms);
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
  ULONGLONG deadline = deadline_of(timeout_ms);
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
    if ((left = remaining(deadline)) == 0) {
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

/* ---- a connected end */

int shmkit__os_conn_open(shmkit_handle h, shmkit_peer *peer,
                         shmkit__conn_os **state) {
  shmkit__conn_os *s;
  ULONG pid;
  DWORD flags;
  HANDLE proc;
  BOOL ok;
  int err, can_pull;

  if (!sys_GetNamedPipeInfo((HANDLE)h, &flags, NULL, NULL, NULL))
    return shmkit__win_last_error();
  /* The system recorded who made the server end and who opened the client
   * end; the peer is whoever made the other one. */
  ok = (flags & PIPE_SERVER_END)
           ? sys_GetNamedPipeClientProcessId((HANDLE)h, &pid)
           : sys_GetNamedPipeServerProcessId((HANDLE)h, &pid);
  if (!ok) return shmkit__win_last_error();
  /* Holding the process keeps its id from naming another one later. */
  proc = sys_OpenProcess(PEER_ACCESS, FALSE, pid);
  can_pull = proc != NULL;
  if (proc == NULL) /* e.g. higher integrity: no regions from it, but bytes */
    proc = sys_OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION | SYNCHRONIZE,
                           FALSE, pid);
  if (proc == NULL)
    return GetLastError() == ERROR_INVALID_PARAMETER ? SHMKIT_ECLOSED
                                                     : shmkit__win_last_error();
  if (sys_WaitForSingleObject(proc, 0) == WAIT_OBJECT_0) { /* gone already */
    CloseHandle(proc);
    return SHMKIT_ECLOSED;
  }
  if ((err = shmkit__win_process_sid(proc, peer->user)) != 0) {
    CloseHandle(proc);
    return err;
  }
  if ((s = calloc(1, sizeof(*s))) == NULL) {
    CloseHandle(proc);
    return SHMKIT_ENOMEM;
  }
  /* Made now, so that a connection holds the same handles all its life. */
  if ((err = io_init(&s->ack_io)) != 0) {
    CloseHandle(proc);
    free(s);
    return err;
  }
  InitializeCriticalSection(&s->lock);
  InitializeSRWLock(&s->reader);
  s->peer = proc;
  s->peer_pid = pid;
  s->can_pull = can_pull;
  peer->pid = pid;
  peer->uid = -1;
  *state = s;
  return 0;
}

int shmkit__os_conn_repeer(shmkit__conn_os *s, int64_t pid,
                           shmkit_handle proc) {
  HANDLE self_ = GetCurrentProcess(), dup;

  if (!sys_DuplicateHandle(self_, (HANDLE)proc, self_, &dup, PEER_ACCESS, FALSE,
                           0))
    return shmkit__win_last_error();
  EnterCriticalSection(&s->lock);
  CloseHandle(s->peer);
  s->peer = dup;
  s->peer_pid = (DWORD)pid;
  s->can_pull = 1;
  LeaveCriticalSection(&s->lock);
  return 0;
}

/* Closes our copy `h` in flight if it still is; 1 if it was. Every close
 * of a copy goes through here: a value closed twice could be another
 * handle by then. */
static int land(shmkit__conn_os *s, HANDLE h) {
  int found = 0;

  EnterCriticalSection(&s->lock);
  for (size_t i = 0; i < s->nflight; i++)
    if (s->flight[i] == h) {
      s->flight[i] = s->flight[--s->nflight];
      found = 1;
      break;
    }
  LeaveCriticalSection(&s->lock);
  if (found) CloseHandle(h);
  return found;
}

/* The peer cannot take anything any more: every copy in flight goes. */
static void land_all(shmkit__conn_os *s) {
  EnterCriticalSection(&s->lock);
  for (size_t i = 0; i < s->nflight; i++) CloseHandle(s->flight[i]);
  s->nflight = 0;
  LeaveCriticalSection(&s->lock);
}

static size_t in_flight(shmkit__conn_os *s) {
  size_t n;

  EnterCriticalSection(&s->lock);
  n = s->nflight;
  LeaveCriticalSection(&s->lock);
  return n;
}

/* Values in an acknowledgement that are not ours in flight are ignored: a
 * peer can end only its own transfers early. */
static void acked(shmkit__conn_os *s, const shmkit__ack *a) {
  for (uint32_t i = 0; i < a->count; i++)
    land(s, (HANDLE)(uintptr_t)a->handles[i]);
}

/* Writes queued acknowledgements, one at a time and without waiting: a
 * peer that does not read must not stop us from receiving. */
static void flush_acks(HANDLE h, shmkit__conn_os *s) {
  EnterCriticalSection(&s->lock);
  if (s->ack_busy && HasOverlappedIoCompleted(&s->ack_io)) s->ack_busy = 0;
  while (!s->ack_busy && s->nacks > 0) {
    size_t k =
        s->nacks < SHMKIT_MSG_REGIONS_MAX ? s->nacks : SHMKIT_MSG_REGIONS_MAX;
    memset(&s->ack, 0, sizeof(s->ack));
    s->ack.magic = SHMKIT__ACK_MAGIC;
    s->ack.count = (uint32_t)k;
    memcpy(s->ack.handles, s->acks, k * sizeof(*s->acks));
    s->nacks -= k;
    memmove(s->acks, s->acks + k, s->nacks * sizeof(*s->acks));
    io_reset(&s->ack_io);
    if (!sys_WriteFile(h, &s->ack, sizeof(s->ack), NULL, &s->ack_io)) {
      if (GetLastError() != ERROR_IO_PENDING)
        break; /* the end: no one to tell */
      s->ack_busy = 1;
    }
  }
  LeaveCriticalSection(&s->lock);
}

static int queue_acks(shmkit__conn_os *s, const shmkit__frame *f) {
  int err = 0;

  EnterCriticalSection(&s->lock);
  if (s->nacks + f->count > s->ack_cap) {
    size_t cap = (s->nacks + f->count) * 2;
    uint64_t *p = realloc(s->acks, cap * sizeof(*p));
    if (p == NULL)
      err = SHMKIT_ENOMEM;
    else {
      s->acks = p;
      s->ack_cap = cap;
    }
  }
  if (err == 0)
    for (uint32_t i = 0; i < f->count; i++)
      s->acks[s->nacks++] = f->regions[i].handle;
  LeaveCriticalSection(&s->lock);
  return err;
}

/* Reads the next message whole into s->in: 0 (*n bytes), WAIT_TIMEOUT or
 * another Win32 error, or ERROR_MORE_DATA for a message larger than any
 * shmkit sends, which is dropped. Reading whole messages keeps a reader in
 * step with the messages even when a writer gives one up half-read. The
 * caller holds s->reader. */
static DWORD read_whole(HANDLE h, shmkit__conn_os *s, OVERLAPPED *io,
                        ULONGLONG deadline, DWORD *n) {
  int began_here = 0;
  DWORD e;

  for (;;) {
    io_reset(io);
    e = started(sys_ReadFile(h, s->in, PIPE_BUFFER, NULL, io));
    e = finish(h, io, e, n, remaining(deadline));
    if (e == ERROR_MORE_DATA) { /* too long: drop it, as far as time allows */
      began_here |= !s->skipping;
      s->skipping = 1;
      continue;
    }
    if (!s->skipping) return e;
    if (e != 0) /* not dropped yet: the next call goes on */
      return began_here ? ERROR_MORE_DATA : e;
    s->skipping = 0;
    if (began_here) return ERROR_MORE_DATA;
    /* the rest of one an earlier call reported: now the next message */
  }
}

/* Reads acknowledgements waiting at the front of the pipe, without
 * blocking, and only if no other call reads. This is how a sender that
 * does not receive lets go of its copies; one behind an unread message
 * waits for the next receive. */
static void drain_acks(HANDLE h, shmkit__conn_os *s) {
  shmkit__ack a;
  OVERLAPPED io;
  DWORD n, avail, left;

  if (!TryAcquireSRWLockExclusive(&s->reader)) return;
  io.hEvent = NULL;
  while (!s->skipping &&
         sys_PeekNamedPipe(h, &a, sizeof(a), &n, &avail, &left) &&
         n == sizeof(a) && left == 0 && shmkit__ack_decode(&a, n) == 0) {
    if (io.hEvent == NULL && io_init(&io) != 0) break;
    io_reset(&io);
    if (finish(h, &io, started(sys_ReadFile(h, &a, sizeof(a), NULL, &io)), &n,
               0) != 0 ||
        shmkit__ack_decode(&a, n) != 0)
      break;
    acked(s, &a);
  }
  if (io.hEvent != NULL) CloseHandle(io.hEvent);
  ReleaseSRWLockExclusive(&s->reader);
}

/* If a whole message in s->in of n bytes is an acknowledgement, applies it
 * and returns 1. */
static int ack_in(shmkit__conn_os *s, DWORD n) {
  shmkit__ack a;

  if (n != sizeof(a)) return 0;
  memcpy(&a, s->in, sizeof(a));
  if (shmkit__ack_decode(&a, n) != 0) return 0;
  acked(s, &a);
  return 1;
}

static int make_in(shmkit__conn_os *s) {
  if (s->in == NULL && (s->in = malloc(PIPE_BUFFER)) == NULL)
    return SHMKIT_ENOMEM;
  return 0;
}

/* Gives the peer up to LINGER_MS to take what we sent, reading its
 * acknowledgements. Its own messages are dropped (we are closing), but
 * their regions acknowledged, so that a peer closing at the same time
 * does not wait for us in turn. */
static void linger(HANDLE h, shmkit__conn_os *s) {
  ULONGLONG deadline = GetTickCount64() + LINGER_MS;
  shmkit__frame f;
  OVERLAPPED io;
  DWORD n, e;

  if (in_flight(s) == 0 ||
      sys_WaitForSingleObject(s->peer, 0) == WAIT_OBJECT_0 || make_in(s) != 0 ||
      io_init(&io) != 0)
    return;
  AcquireSRWLockExclusive(&s->reader);
  while (in_flight(s) > 0 && remaining(deadline) > 0) {
    e = read_whole(h, s, &io, deadline, &n);
    if (e == ERROR_MORE_DATA) continue;
    if (e != 0) break;
    if (ack_in(s, n) || n < sizeof(f)) continue;
    memcpy(&f, s->in, sizeof(f));
    if (f.magic == SHMKIT__FRAME_MAGIC && f.count >= 1 &&
        f.count <= SHMKIT_MSG_REGIONS_MAX && queue_acks(s, &f) == 0)
      flush_acks(h, s);
  }
  ReleaseSRWLockExclusive(&s->reader);
  CloseHandle(io.hEvent);
}

void shmkit__os_conn_close(shmkit_handle h, shmkit__conn_os *s) {
  DWORD n;

  if (s != NULL) {
    linger((HANDLE)h, s);
    if (s->ack_busy) {
      CancelIoEx((HANDLE)h, &s->ack_io);
      GetOverlappedResult((HANDLE)h, &s->ack_io, &n, TRUE);
    }
    land_all(s);
    CloseHandle(s->ack_io.hEvent);
    CloseHandle(s->peer);
    DeleteCriticalSection(&s->lock);
    free(s->in);
    free(s->flight);
    free(s->acks);
    free(s);
  }
  CloseHandle((HANDLE)h);
}

/* ---- messages */

/* Makes our copies of the regions to send and records them in flight
 * (before the message goes: its acknowledgement may come at once). */
static int take_off(shmkit__conn_os *s, const shmkit_handle *handles,
                    size_t count, HANDLE copies[]) {
  HANDLE self_ = GetCurrentProcess();
  size_t i;
  int err = 0;

  for (i = 0; i < count; i++)
    if (!sys_DuplicateHandle(self_, (HANDLE)handles[i], self_, &copies[i], 0,
                             FALSE, DUPLICATE_SAME_ACCESS)) {
      err = shmkit__win_last_error();
      break;
    }
  EnterCriticalSection(&s->lock);
  if (err == 0 && s->nflight + count > s->flight_cap) {
    size_t cap = (s->nflight + count) * 2;
    HANDLE *p = realloc(s->flight, cap * sizeof(*p));
    if (p == NULL)
      err = SHMKIT_ENOMEM;
    else {
      s->flight = p;
      s->flight_cap = cap;
    }
  }
  if (err == 0)
    for (size_t k = 0; k < count; k++) s->flight[s->nflight++] = copies[k];
  LeaveCriticalSection(&s->lock);
  if (err != 0)
    while (i-- > 0) CloseHandle(copies[i]);
  return err;
}

int shmkit__os_send(shmkit_handle h, shmkit__conn_os *s, const shmkit__frame *f,
                    const void *data, size_t size, const shmkit_handle *handles,
                    size_t count, int timeout_ms) {
  HANDLE copies[SHMKIT_MSG_REGIONS_MAX];
  shmkit__frame head = *f;
  union {
    shmkit__frame align;
    char bytes[4096];
  } small;
  size_t total = sizeof(head) + size;
  char *buf = total <= sizeof(small) ? small.bytes : malloc(total);
  OVERLAPPED io;
  DWORD n, e;
  int err;

  if (buf == NULL) return SHMKIT_ENOMEM;
  drain_acks((HANDLE)h, s);
  flush_acks((HANDLE)h, s);
  if ((err = io_init(&io)) != 0) goto done;
  if ((err = take_off(s, handles, count, copies)) != 0) goto done;
  for (size_t i = 0; i < count; i++) {
    head.regions[i].handle = (uint64_t)(uintptr_t)copies[i];
    head.regions[i].origin = GetCurrentProcessId();
  }
  memcpy(buf, &head, sizeof(head));
  if (size != 0) memcpy(buf + sizeof(head), data, size);

  e = started(sys_WriteFile((HANDLE)h, buf, (DWORD)total, NULL, &io));
  e = finish((HANDLE)h, &io, e, &n, timeout_ms);
  if (e == 0 && n != total) e = ERROR_BROKEN_PIPE; /* cannot happen whole */
  if (e != 0) {
    err = shmkit__win_error(e);
    if (err == SHMKIT_ECLOSED)
      land_all(s);
    else if (err != SHMKIT_ETIMEDOUT) /* it never went */
      for (size_t i = 0; i < count; i++) land(s, copies[i]);
    /* A write given up after its time stays in flight until the end: were
     * it half-read, the peer could still name those values. */
  }
done:
  if (io.hEvent != NULL) CloseHandle(io.hEvent);
  if (buf != small.bytes) free(buf);
  return err;
}

/* Duplicates handle `remote` of process `source` with the access a region
 * of `access` needs and no more, so that a read-only region arrives
 * read-only whatever the other handle allows. SHMKIT_EBADF: no such handle
 * there; SHMKIT_ENOTSHM or SHMKIT_EACCES: a handle that is not a section,
 * or one without that access. */
static int take_from(HANDLE source, HANDLE remote, int access,
                     shmkit_handle *out) {
  DWORD want = SECTION_QUERY | FILE_MAP_READ |
               (access == SHMKIT_READ_WRITE ? FILE_MAP_WRITE : 0);
  HANDLE self_ = GetCurrentProcess(), h;
  uint64_t size;
  DWORD e;
  int err;

  if (sys_DuplicateHandle(source, remote, self_, &h, want, FALSE, 0)) {
    *out = (shmkit_handle)h;
    return 0;
  }
  if ((e = GetLastError()) != ERROR_ACCESS_DENIED)
    return e == ERROR_INVALID_HANDLE ? SHMKIT_EBADF : shmkit__win_error(e);
  /* Denied: an object of another type reads those bits otherwise. Look at
   * what it is, to say which. */
  if (!sys_DuplicateHandle(source, remote, self_, &h, 0, FALSE,
                           DUPLICATE_SAME_ACCESS))
    return SHMKIT_EACCES;
  err = shmkit__os_check((shmkit_handle)h, SHMKIT_READ_ONLY, &size);
  CloseHandle(h);
  return err == SHMKIT_ENOTSHM ? SHMKIT_ENOTSHM : SHMKIT_EACCES;
}

/* Takes the peer's handle named by a header's region `r`. */
static int pull(shmkit__conn_os *s, const shmkit__frame_region *r,
                shmkit_handle *out) {
  int err;

  /* Handle values are multiples of 4 below 2^31; the rest (pseudo-handles
   * such as -1, "the process itself") are not a sender's regions. */
  if (r->handle == 0 || r->handle > 0x7fffffff || (r->handle & 3) != 0 ||
      (r->access != SHMKIT_READ_ONLY && r->access != SHMKIT_READ_WRITE))
    return SHMKIT_EPROTO;
  EnterCriticalSection(&s->lock); /* spawn may change the peer */
  if (!s->can_pull)
    err = SHMKIT_EPERM;
  else if (r->origin != s->peer_pid)
    /* Sent from another process than the one the system says is there:
     * an end handed on to a child. Its values mean nothing in the peer. */
    err = SHMKIT_EPERM;
  else {
    err = take_from(s->peer, (HANDLE)(uintptr_t)r->handle, (int)r->access, out);
    if (err != 0 && sys_WaitForSingleObject(s->peer, 0) == WAIT_OBJECT_0)
      err = SHMKIT_ECLOSED; /* the sender died before we could take it */
    else if (err == SHMKIT_EBADF)
      err = SHMKIT_EPROTO; /* a value that names nothing there: a lie */
  }
  LeaveCriticalSection(&s->lock);
  return err;
}

/* Takes the regions a well-formed header names, and queues their
 * acknowledgement whether or not each could be taken. */
static int take_regions(HANDLE h, shmkit__conn_os *s, const shmkit__frame *f,
                        shmkit_handle handles[], size_t *count) {
  int err;

  if (f->magic != SHMKIT__FRAME_MAGIC || f->count == 0 ||
      f->count > SHMKIT_MSG_REGIONS_MAX)
    return 0; /* none: the frame decoder says what is wrong */
  err = queue_acks(s, f);
  for (uint32_t i = 0; err == 0 && i < f->count; i++)
    if ((err = pull(s, &f->regions[i], &handles[i])) == 0) ++*count;
  flush_acks(h, s);
  if (err != 0) {
    while (*count > 0) CloseHandle((HANDLE)handles[--*count]);
  }
  return err;
}

int shmkit__os_recv(shmkit_handle h, shmkit__conn_os *s, shmkit__frame *f,
                    size_t *got, void *data, size_t capacity, size_t *payload,
                    int *truncated,
                    shmkit_handle handles[SHMKIT_MSG_REGIONS_MAX],
                    size_t *count, int timeout_ms) {
  ULONGLONG deadline = deadline_of(timeout_ms);
  OVERLAPPED io;
  DWORD n, e;
  int err;

  *got = *payload = *count = 0;
  *truncated = 0;
  if ((err = make_in(s)) != 0 || (err = io_init(&io)) != 0) return err;
  AcquireSRWLockExclusive(&s->reader);
  flush_acks((HANDLE)h, s);
  while ((e = read_whole((HANDLE)h, s, &io, deadline, &n)) == 0 && ack_in(s, n))
    ;
  if (e == ERROR_MORE_DATA) {
    err = SHMKIT_EPROTO; /* longer than any message: dropped */
  } else if (e != 0) {
    err = shmkit__win_error(e);
    if (err == SHMKIT_ECLOSED) land_all(s);
  } else {
    /* As recvmsg reports it: the header, then what fits of the payload. */
    *got = n < sizeof(*f) ? n : sizeof(*f);
    memcpy(f, s->in, *got);
    if (n > sizeof(*f)) {
      size_t more = n - sizeof(*f);
      if (more > capacity) {
        more = capacity;
        *truncated = 1;
      }
      if (more != 0) memcpy(data, s->in + sizeof(*f), more);
      *payload = more;
    }
    if (*got == sizeof(*f)) err = take_regions((HANDLE)h, s, f, handles, count);
  }
  ReleaseSRWLockExclusive(&s->reader);
  CloseHandle(io.hEvent);
  return err;
}

int shmkit__os_pull(int64_t pid, shmkit_handle remote, int access,
                    shmkit_handle *out) {
  HANDLE source;
  int err;

  if (pid > 0xffffffffLL) return SHMKIT_ENOENT; /* no process id is */
  if (remote <= 0 || remote > 0x7fffffff) return SHMKIT_EBADF;
  source = sys_OpenProcess(PROCESS_DUP_HANDLE, FALSE, (DWORD)pid);
  if (source == NULL)
    return GetLastError() == ERROR_INVALID_PARAMETER ? SHMKIT_ENOENT
           : GetLastError() == ERROR_ACCESS_DENIED   ? SHMKIT_EPERM
                                                     : shmkit__win_last_error();
  err = take_from(source, (HANDLE)remote, access, out);
  CloseHandle(source);
  return err;
}
