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

/* How long closing a connection waits for the peer to take regions sent on
 * it (shmkit.h, shmkit_conn_close). */
#define LINGER_MS 5000

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
  char *in;     /* SHMKIT__PIPE_BUFFER bytes: one whole message, as read */
  int skipping; /* the rest of an oversized message is still to drop */
};

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
  if ((err = shmkit__win_io_init(&s->ack_io)) != 0) {
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
    shmkit__win_io_reset(&s->ack_io);
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
    shmkit__win_io_reset(io);
    e = shmkit__win_started(
        sys_ReadFile(h, s->in, SHMKIT__PIPE_BUFFER, NULL, io));
    e = shmkit__win_finish(h, io, e, n, shmkit__win_remaining(deadline));
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
    if (io.hEvent == NULL && shmkit__win_io_init(&io) != 0) break;
    shmkit__win_io_reset(&io);
    if (shmkit__win_finish(
            h, &io,
            shmkit__win_started(sys_ReadFile(h, &a, sizeof(a), NULL, &io)), &n,
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
  if (s->in == NULL && (s->in = malloc(SHMKIT__PIPE_BUFFER)) == NULL)
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
      shmkit__win_io_init(&io) != 0)
    return;
  AcquireSRWLockExclusive(&s->reader);
  while (in_flight(s) > 0 && shmkit__win_remaining(deadline) > 0) {
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
  if ((err = shmkit__win_io_init(&io)) != 0) goto done;
  if ((err = take_off(s, handles, count, copies)) != 0) goto done;
  for (size_t i = 0; i < count; i++) {
    head.regions[i].handle = (uint64_t)(uintptr_t)copies[i];
    head.regions[i].origin = GetCurrentProcessId();
  }
  memcpy(buf, &head, sizeof(head));
  if (size != 0) memcpy(buf + sizeof(head), data, size);

  e = shmkit__win_started(
      sys_WriteFile((HANDLE)h, buf, (DWORD)total, NULL, &io));
  e = shmkit__win_finish((HANDLE)h, &io, e, &n, timeout_ms);
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
    err = shmkit__win_take_from(s->peer, (HANDLE)(uintptr_t)r->handle,
                                (int)r->access, out);
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
  ULONGLONG deadline = shmkit__win_deadline(timeout_ms);
  OVERLAPPED io;
  DWORD n, e;
  int err;

  *got = *payload = *count = 0;
  *truncated = 0;
  if ((err = make_in(s)) != 0 || (err = shmkit__win_io_init(&io)) != 0)
    return err;
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
