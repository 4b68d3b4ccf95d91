/* Windows connections: what travels on a connected pipe (endpoint.c makes
 * it; pipe.c does its overlapped I/O), and how regions cross with it.
 *
 * A handle value means something in one process only, so one side must
 * duplicate each region into the other, and DuplicateHandle needs
 * PROCESS_DUP_HANDLE on the other process. That right is full control of
 * it: through it one can duplicate the process's own pseudo-handle out of
 * it. So whoever does the duplicating must be the side the system already
 * lets control the other, and that is decided per direction, by what each
 * end could open when the connection began:
 *  - pull: the receiver holds PROCESS_DUP_HANDLE on the sender. The sender
 *    names its own handle values and keeps a copy of each "in flight" (so
 *    the caller may close the region as soon as send returns); the
 *    receiver duplicates them out, narrowed to the access the message
 *    claims, and acknowledges what it took, so the sender closes its
 *    copies. Whatever value a sender names yields a new handle of the
 *    receiver's, checked like a token's before use.
 *  - push: the receiver cannot open its sender so (a lower integrity level,
 *    a restricted token, a sender that denies it) but the sender can open
 *    the receiver: the sender duplicates each region into the receiver,
 *    narrowed to its access, and names the receiver's value, with origin 0.
 *    A receiver that cannot control its sender thus gets read-only regions
 *    it cannot make writable.
 * Each end writes a hello first, saying whether it pulls; a send with
 * regions waits for the peer's. A receiver that pulls refuses pushed
 * values: such a value would name one of its own handles, and a peer it
 * controls must not make it adopt (and later close) one. One that cannot
 * pull takes them: only a peer that can open it can have put a handle
 * there, and such a peer controls it anyway.
 *
 * What each costs: in pull mode, the sender keeps its copies until they
 * are acknowledged, the connection ends, or it closes the connection
 * after letting the peer take what it was sent (LINGER_MS); at most
 * FLIGHT_MAX at a time. In push mode, a sender that dies between its
 * duplicates and its message, or whose send times out, leaves handles in
 * the receiver that nobody knows of; so does a receiver that closes with
 * pushed messages unread. */
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "sys.h"

/* ---- a connected end */

int shmkit__os_conn_open(shmkit_handle h, shmkit_peer *peer,
                         shmkit__conn_os **out) {
  shmkit__conn_os *s;
  ULONG pid;
  DWORD flags;
  HANDLE proc;
  BOOL ok;
  int err, dup_peer;

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
  dup_peer = proc != NULL;
  if (proc == NULL) /* it may not be controlled by us: it pushes */
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
  /* The buffer of one whole message too: two threads' first receives
   * must not both make it. */
  if ((s = calloc(1, sizeof(*s))) == NULL ||
      (s->in = malloc(SHMKIT__PIPE_BUFFER)) == NULL) {
    free(s);
    CloseHandle(proc);
    return SHMKIT_ENOMEM;
  }
  /* Made now, so that a connection holds the same handles all its life. */
  if ((err = shmkit__win_io_init(&s->out_io)) != 0 ||
      (err = shmkit__win_io_init(&s->watch_io)) != 0) {
    if (s->out_io.hEvent != NULL) CloseHandle(s->out_io.hEvent);
    CloseHandle(proc);
    free(s->in);
    free(s);
    return err;
  }
  InitializeCriticalSection(&s->lock);
  InitializeSRWLock(&s->reader);
  s->pipe = (HANDLE)h;
  s->peer = proc;
  s->peer_pid = pid;
  s->dup_peer = dup_peer;
  s->peer_may_push = shmkit__win_could_pull_from_us(proc);
  s->peer_pulls = -1;
  s->hello_due = 1;
  shmkit__win_flush_control(s);
  peer->pid = pid;
  peer->uid = -1;
  *out = s;
  return 0;
}

shmkit_handle shmkit__os_conn_handle(const shmkit__conn_os *c) {
  return (shmkit_handle)c->pipe;
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
  s->dup_peer = 1;
  /* The child says for itself how it takes regions when it takes up its
   * end; a child that may not open us (a sandbox) cannot pull. Until it
   * says so, the system's access check for its token stands in, so that
   * sending to a child that has not taken up its end yet does not wait.
   * Ours is said again, to it, when the pipe is next written. */
  s->peer_may_push = shmkit__win_could_pull_from_us(dup);
  s->peer_pulls = s->peer_may_push != 0;
  s->hello_due = 1;
  LeaveCriticalSection(&s->lock);
  return 0;
}

/* Gives the peer up to LINGER_MS to take what we sent, reading its
 * acknowledgements. Its own messages are dropped (we are closing); the
 * regions they name that we could pull are acknowledged without being
 * taken, so that a peer closing at the same time does not wait for us in
 * turn. */
static void linger(shmkit__conn_os *s) {
  ULONGLONG deadline = GetTickCount64() + LINGER_MS;
  shmkit__frame f;
  OVERLAPPED io;
  DWORD n, e;

  if (shmkit__win_in_flight(s) == 0 ||
      sys_WaitForSingleObject(s->peer, 0) == WAIT_OBJECT_0 ||
      shmkit__win_io_init(&io) != 0)
    return;
  AcquireSRWLockExclusive(&s->reader);
  while (shmkit__win_in_flight(s) > 0 && shmkit__win_remaining(deadline) > 0) {
    e = shmkit__win_read_whole(s, &io, deadline, &n);
    if (e == ERROR_MORE_DATA) continue;
    if (e != 0) break;
    if (shmkit__win_control_in(s, s->in, n) || n < sizeof(f)) continue;
    memcpy(&f, s->in, sizeof(f));
    if (shmkit__frame_decode(&f, sizeof(f), n - sizeof(f), 0, f.count,
                             SHMKIT_MSG_MAX) != 0)
      continue;
    for (uint32_t i = 0; i < f.count; i++)
      if (f.regions[i].origin == s->peer_pid)
        shmkit__win_queue_acks(s, &f.regions[i].handle, 1);
    shmkit__win_flush_control(s);
  }
  ReleaseSRWLockExclusive(&s->reader);
  CloseHandle(io.hEvent);
}

shmkit_handle shmkit__os_conn_watch(shmkit__conn_os *s) {
  DWORD n;

  if (s->watching) {
    if (!HasOverlappedIoCompleted(&s->watch_io))
      return (shmkit_handle)s->watch_io.hEvent;
    GetOverlappedResult(s->pipe, &s->watch_io, &n, FALSE);
    s->watching = 0;
  }
  /* ReadFile resets the event as it starts. A message waiting
   * (ERROR_MORE_DATA: a zero-byte read takes none of it) or the end
   * (ERROR_BROKEN_PIPE) may answer at once, in a race with the draining
   * just before: then the event is set here, whatever the system did. */
  shmkit__win_io_reset(&s->watch_io);
  if (ReadFile(s->pipe, &s->zero, 0, NULL, &s->watch_io) ||
      GetLastError() == ERROR_IO_PENDING)
    s->watching = 1;
  else
    SetEvent(s->watch_io.hEvent);
  return (shmkit_handle)s->watch_io.hEvent;
}

void shmkit__os_conn_close(shmkit__conn_os *s) {
  DWORD n;

  if (s->watching) {
    CancelIoEx(s->pipe, &s->watch_io);
    GetOverlappedResult(s->pipe, &s->watch_io, &n, TRUE);
  }
  CloseHandle(s->watch_io.hEvent);
  linger(s);
  if (s->out_busy) {
    CancelIoEx(s->pipe, &s->out_io);
    GetOverlappedResult(s->pipe, &s->out_io, &n, TRUE);
  }
  shmkit__win_land_all(s);
  CloseHandle(s->out_io.hEvent);
  CloseHandle(s->peer);
  DeleteCriticalSection(&s->lock);
  CloseHandle(s->pipe);
  free(s->in);
  free(s);
}

/* ---- sending */

/* Waits until the peer has said how it takes regions and, if it pulls,
 * until `count` more copies fit in flight: SHMKIT_ETIMEDOUT or
 * SHMKIT_EBUSY when time runs out. A peer whose first message comes
 * before any hello (not shmkit's) is taken to pull. *pulls: what it
 * said. */
static int await_peer(shmkit__conn_os *s, size_t count, ULONGLONG deadline,
                      int *pulls) {
  int front, room;

  for (;;) {
    if ((front = shmkit__win_read_control(s)) < 0) return front;
    EnterCriticalSection(&s->lock);
    if (s->peer_pulls < 0 && front) s->peer_pulls = 1;
    *pulls = s->peer_pulls;
    room = s->nflight + count <= FLIGHT_MAX;
    LeaveCriticalSection(&s->lock);
    if (*pulls == 0 || (*pulls == 1 && room)) return 0;
    /* Acknowledgements behind a message of the peer's wait for a receive,
     * perhaps on another thread: wait for it, as far as time allows. */
    if (shmkit__win_remaining(deadline) == 0)
      return *pulls < 0 ? SHMKIT_ETIMEDOUT : SHMKIT_EBUSY;
    Sleep(1);
  }
}

/* Pull: makes our copies of the regions to send and records them in
 * flight (before the message goes: its acknowledgement may come at once).
 * await_peer() saw room, but another thread's send may have taken it
 * since: SHMKIT_EBUSY then. */
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
  if (err == 0 && s->nflight + count > FLIGHT_MAX) err = SHMKIT_EBUSY;
  if (err == 0)
    for (size_t k = 0; k < count; k++) s->flight[s->nflight++] = copies[k];
  LeaveCriticalSection(&s->lock);
  if (err != 0)
    while (i-- > 0) CloseHandle(copies[i]);
  return err;
}

/* Push: puts the regions into the peer, narrowed to their access, naming
 * each by its value there. Under the lock: spawning may change the peer
 * (repeer) while another thread sends. A peer gone already is
 * SHMKIT_ECLOSED. */
static int push(shmkit__conn_os *s, const shmkit_handle *handles,
                shmkit__frame *head, size_t count) {
  size_t i;
  int err = 0;

  EnterCriticalSection(&s->lock);
  for (i = 0; i < count && err == 0; i++) {
    HANDLE v;
    err = shmkit__win_give_to(s->peer, (HANDLE)handles[i],
                              (int)head->regions[i].access, &v);
    head->regions[i].handle = (uint64_t)(uintptr_t)v;
    head->regions[i].origin = 0; /* "yours already" */
  }
  if (err != 0) {
    for (size_t k = 0; k + 1 < i; k++)
      shmkit__win_close_in(s->peer, (HANDLE)(uintptr_t)head->regions[k].handle);
    if (sys_WaitForSingleObject(s->peer, 0) == WAIT_OBJECT_0)
      err = SHMKIT_ECLOSED;
  }
  LeaveCriticalSection(&s->lock);
  return err;
}

/* Push: closes values we put into the peer for a message it never got. */
static void push_back(shmkit__conn_os *s, const shmkit__frame *f,
                      size_t count) {
  EnterCriticalSection(&s->lock);
  for (size_t i = 0; i < count; i++)
    shmkit__win_close_in(s->peer, (HANDLE)(uintptr_t)f->regions[i].handle);
  LeaveCriticalSection(&s->lock);
}

int shmkit__os_send(shmkit__conn_os *s, const shmkit__send *m, int timeout_ms) {
  const shmkit__frame *f = m->frame;
  const shmkit_handle *handles = m->handles;
  size_t size = m->size, count = m->count;
  ULONGLONG deadline = shmkit__win_deadline(timeout_ms);
  HANDLE copies[SHMKIT_MSG_REGIONS_MAX];
  shmkit__frame head = *f;
  union {
    shmkit__frame align;
    char bytes[4096];
  } small;
  size_t total = sizeof(head) + size, pushed = 0;
  int dup_peer;
  char *buf = total <= sizeof(small) ? small.bytes : malloc(total);
  OVERLAPPED io;
  DWORD n, e;
  int err, pulls = 1;

  io.hEvent = NULL;
  if (buf == NULL) return SHMKIT_ENOMEM;
  shmkit__win_flush_control(s);
  if (count == 0)
    err = shmkit__win_read_control(s) < 0 ? SHMKIT_ECLOSED : 0;
  else
    err = await_peer(s, count, deadline, &pulls);
  if (err != 0 || (err = shmkit__win_io_init(&io)) != 0) goto done;
  if (count > 0 && pulls) {
    if ((err = take_off(s, handles, count, copies)) != 0) goto done;
    for (size_t i = 0; i < count; i++) {
      head.regions[i].handle = (uint64_t)(uintptr_t)copies[i];
      head.regions[i].origin = GetCurrentProcessId();
    }
  } else if (count > 0) {
    EnterCriticalSection(&s->lock);
    dup_peer = s->dup_peer;
    LeaveCriticalSection(&s->lock);
    if (!dup_peer) { /* neither may duplicate into the other */
      err = SHMKIT_EPERM;
      goto done;
    }
    if ((err = push(s, handles, &head, count)) != 0) goto done;
    pushed = count;
  }
  memcpy(buf, &head, sizeof(head));
  if (size != 0) memcpy(buf + sizeof(head), m->data, size);

  e = shmkit__win_started(sys_WriteFile(s->pipe, buf, (DWORD)total, NULL, &io));
  e = shmkit__win_finish(s->pipe, &io, e, &n, shmkit__win_remaining(deadline));
  if (e == 0 && n != total) e = ERROR_BROKEN_PIPE; /* cannot happen whole */
  if (e != 0) {
    err = shmkit__win_error(e);
    /* A write given up after its time that moved some bytes may have been
     * half read: the peer could still name, or hold, those values, and
     * they stay in flight until the end (pushed: the peer's). One that
     * moved nothing never went, like any other failure. */
    if (err != SHMKIT_ETIMEDOUT || io.InternalHigh == 0) {
      if (pushed > 0)
        push_back(s, &head, pushed);
      else if (count > 0)
        for (size_t i = 0; i < count; i++) shmkit__win_land(s, copies[i]);
    }
  }
done:
  if (err == SHMKIT_ECLOSED)
    shmkit__win_land_all(s); /* nobody will take them now */
  if (io.hEvent != NULL) CloseHandle(io.hEvent);
  if (buf != small.bytes) free(buf);
  return err;
}

/* ---- receiving */

/* Whether slot `r` of a decoded header may be taken at all, before any
 * slot is: a handle value's form, and who may have sent it. The caller
 * holds s->lock (spawn may change the peer). */
static int may_take(const shmkit__conn_os *s, const shmkit__frame_region *r) {
  /* Handle values are multiples of 4 below 2^31; the rest (pseudo-handles
   * such as -1, "the process itself") are not a sender's regions. */
  if (r->handle == 0 || r->handle > 0x7fffffff || (r->handle & 3) != 0)
    return SHMKIT_EPROTO;
  if (r->origin == 0) {
    /* Pushed. A peer we can control must let us pull: a value it names
     * as ours is one of our own handles. And one the system does not let
     * open us cannot have put a handle here: the same. */
    if (s->dup_peer) return SHMKIT_EPROTO;
    return s->peer_may_push == 0 ? SHMKIT_EPERM : 0;
  }
  /* Pulled: only out of the process the system says is at the other end
   * (not an end handed on to another one: its values mean nothing in the
   * peer), and only where we may. */
  return s->dup_peer && r->origin == s->peer_pid ? 0 : SHMKIT_EPERM;
}

/* Takes the region slot `r` names into *out: pulled out of the peer, or
 * pushed into us already. The caller holds s->lock; may_take() passed. */
static int take_one(shmkit__conn_os *s, const shmkit__frame_region *r,
                    shmkit_handle *out) {
  uint64_t size;
  int err;

  if (r->origin == 0) {
    if ((err = shmkit__os_check((shmkit_handle)r->handle, (int)r->access,
                                &size)) == 0 &&
        size < r->size)
      err = SHMKIT_ETOOSMALL;
    else if (err == SHMKIT_EBADF)
      err = SHMKIT_EPROTO; /* nothing there: a lie */
    if (err == 0) *out = (shmkit_handle)r->handle;
    return err;
  }
  err = shmkit__win_take_from(s->peer, (HANDLE)(uintptr_t)r->handle,
                              (int)r->access, out);
  if (err != 0 && sys_WaitForSingleObject(s->peer, 0) == WAIT_OBJECT_0)
    return SHMKIT_ECLOSED; /* the sender died before we could take it */
  /* A value that names nothing there, or something we cannot even look
   * at: a lie. */
  if (err == SHMKIT_EBADF || err == SHMKIT_EINVAL || err == SHMKIT_ENOTSUP)
    return SHMKIT_EPROTO;
  return err;
}

/* Takes the regions of a message, once its header has passed the strict
 * check: nothing is duplicated for a frame that lies. Acknowledges what
 * was pulled, after taking it. A pushed value that fails its check is left
 * alone: it may be one of our own handles. */
static int take_regions(shmkit__conn_os *s, shmkit__recv *r) {
  const shmkit__frame *f = &r->frame;
  uint64_t taken[SHMKIT_MSG_REGIONS_MAX];
  size_t ntaken = 0;
  int err = shmkit__frame_decode(f, sizeof(*f), r->payload, r->truncated,
                                 f->count, r->capacity);

  /* A frame the strict check refuses yields nothing (the portable check
   * says why again); one only too large for the buffer is honest. */
  if (err != 0 && err != SHMKIT_E2BIG) return 0;
  err = 0;
  /* Two slots pushing one value would make two regions own one handle. */
  for (uint32_t i = 0; i < f->count; i++)
    for (uint32_t k = 0; k < i; k++)
      if (f->regions[i].origin == 0 && f->regions[k].origin == 0 &&
          f->regions[i].handle == f->regions[k].handle)
        return SHMKIT_EPROTO;
  EnterCriticalSection(&s->lock);
  for (uint32_t i = 0; err == 0 && i < f->count; i++)
    err = may_take(s, &f->regions[i]);
  for (uint32_t i = 0; err == 0 && i < f->count; i++)
    if ((err = take_one(s, &f->regions[i], &r->handles[i])) == 0) {
      if (f->regions[i].origin != 0) taken[ntaken++] = f->regions[i].handle;
      r->count++;
    }
  LeaveCriticalSection(&s->lock);
  shmkit__win_queue_acks(s, taken, ntaken);
  shmkit__win_flush_control(s);
  if (err != 0)
    while (r->count > 0) CloseHandle((HANDLE)r->handles[--r->count]);
  return err;
}

int shmkit__os_recv(shmkit__conn_os *s, shmkit__recv *r, int timeout_ms) {
  ULONGLONG deadline = shmkit__win_deadline(timeout_ms);
  OVERLAPPED io;
  DWORD n, e;
  int err, late = 0;

  r->got = r->payload = r->count = 0;
  r->truncated = 0;
  if ((err = shmkit__win_io_init(&io)) != 0) return err;
  AcquireSRWLockExclusive(&s->reader);
  shmkit__win_flush_control(s);
  /* Control messages are applied as they come; a peer that floods them
   * keeps this call at most CONTROL_BATCH of them past its deadline. */
  while ((e = shmkit__win_read_whole(s, &io, deadline, &n)) == 0 &&
         shmkit__win_control_in(s, s->in, n))
    if (shmkit__win_remaining(deadline) == 0 && ++late > CONTROL_BATCH) {
      e = WAIT_TIMEOUT;
      break;
    }
  if (e == ERROR_MORE_DATA) {
    err = SHMKIT_EPROTO; /* longer than any message: dropped */
  } else if (e != 0) {
    err = shmkit__win_error(e);
    if (err == SHMKIT_ECLOSED) shmkit__win_land_all(s);
  } else {
    /* As recvmsg reports it: the header, then what fits of the payload. */
    r->got = n < sizeof(r->frame) ? n : sizeof(r->frame);
    memcpy(&r->frame, s->in, r->got);
    if (n > sizeof(r->frame)) {
      size_t more = n - sizeof(r->frame);
      if (more > r->capacity) {
        more = r->capacity;
        r->truncated = 1;
      }
      if (more != 0) memcpy(r->data, s->in + sizeof(r->frame), more);
      r->payload = more;
    }
    if (r->got == sizeof(r->frame)) err = take_regions(s, r);
  }
  ReleaseSRWLockExclusive(&s->reader);
  CloseHandle(io.hEvent);
  return err;
}
