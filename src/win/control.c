/* The control traffic of a Windows connection (conn.h): hellos and
 * acknowledgements written and read beside the messages, the copies in
 * flight that acknowledgements let go of, and whole-message reads. */
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "sys.h"

/* ---- control messages out: hello and acknowledgements */

/* Writes what is due, hello first, one message at a time and without
 * waiting: a peer that does not read must not stop us from receiving.
 * At most one hello and ACKS_MAX values: bounded work per call. */
void shmkit__win_flush_control(shmkit__conn_os *s) {
  EnterCriticalSection(&s->lock);
  if (s->out_busy && HasOverlappedIoCompleted(&s->out_io)) s->out_busy = 0;
  while (!s->out_busy && (s->hello_due || s->nacks > 0)) {
    DWORD len;
    memset(&s->out, 0, sizeof(s->out));
    if (s->hello_due) {
      s->out.hello.magic = SHMKIT__HELLO_MAGIC;
      s->out.hello.flags = s->dup_peer ? SHMKIT__HELLO_PULLS : 0;
      s->out.hello.pid = GetCurrentProcessId();
      s->hello_due = 0;
      len = sizeof(s->out.hello);
    } else {
      size_t k =
          s->nacks < SHMKIT_MSG_REGIONS_MAX ? s->nacks : SHMKIT_MSG_REGIONS_MAX;
      s->out.ack.magic = SHMKIT__ACK_MAGIC;
      s->out.ack.count = (uint32_t)k;
      for (size_t i = 0; i < k; i++)
        s->out.ack.handles[i] = s->acks[(s->ack_head + i) % ACKS_MAX];
      s->ack_head = (s->ack_head + k) % ACKS_MAX;
      s->nacks -= k;
      len = sizeof(s->out.ack);
    }
    shmkit__win_io_reset(&s->out_io);
    if (!sys_WriteFile(s->pipe, &s->out, len, NULL, &s->out_io)) {
      if (GetLastError() != ERROR_IO_PENDING) { /* the end: no one to tell */
        s->nacks = 0;
        break;
      }
      s->out_busy = 1;
    }
  }
  LeaveCriticalSection(&s->lock);
}

void shmkit__win_queue_acks(shmkit__conn_os *s, const uint64_t *values,
                            size_t n) {
  EnterCriticalSection(&s->lock);
  for (size_t i = 0; i < n && s->nacks < ACKS_MAX; i++)
    s->acks[(s->ack_head + s->nacks++) % ACKS_MAX] = values[i];
  LeaveCriticalSection(&s->lock);
}

/* ---- copies in flight */

/* Closes our copy `h` in flight if it still is; 1 if it was. Every close
 * of a copy goes through here: a value closed twice could be another
 * handle by then. */
int shmkit__win_land(shmkit__conn_os *s, HANDLE h) {
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
void shmkit__win_land_all(shmkit__conn_os *s) {
  EnterCriticalSection(&s->lock);
  for (size_t i = 0; i < s->nflight; i++) CloseHandle(s->flight[i]);
  s->nflight = 0;
  LeaveCriticalSection(&s->lock);
}

size_t shmkit__win_in_flight(shmkit__conn_os *s) {
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
    shmkit__win_land(s, (HANDLE)(uintptr_t)a->handles[i]);
}

/* ---- control messages in */

/* Applies a control message of n bytes at p: 1 if it was one. */
int shmkit__win_control_in(shmkit__conn_os *s, const void *p, DWORD n) {
  union {
    shmkit__ack ack;
    shmkit__hello hello;
  } c;

  if (n != sizeof(c.ack) && n != sizeof(c.hello)) return 0;
  memcpy(&c, p, n);
  if (n == sizeof(c.ack)) {
    if (shmkit__ack_decode(&c.ack, n) != 0) return 0;
    acked(s, &c.ack);
  } else {
    if (shmkit__hello_decode(&c.hello, n) != 0) return 0;
    EnterCriticalSection(&s->lock);
    /* One from another process than the peer is stale (written before
     * the other end was handed to a child) or a lie: dropped. */
    if (c.hello.pid == s->peer_pid)
      s->peer_pulls = (c.hello.flags & SHMKIT__HELLO_PULLS) != 0;
    LeaveCriticalSection(&s->lock);
  }
  return 1;
}

/* Reads the next message whole into s->in: 0 (*n bytes), WAIT_TIMEOUT or
 * another Win32 error, or ERROR_MORE_DATA for a message larger than any
 * shmkit sends, which is dropped, as far as the deadline allows (the next
 * read goes on dropping it). Reading whole messages keeps a reader in step
 * with the messages even when a writer gives one up half-read. The caller
 * holds s->reader. */
DWORD shmkit__win_read_whole(shmkit__conn_os *s, OVERLAPPED *io,
                             ULONGLONG deadline, DWORD *n) {
  int began_here = 0;
  DWORD e;

  for (;;) {
    shmkit__win_io_reset(io);
    e = shmkit__win_started(
        sys_ReadFile(s->pipe, s->in, SHMKIT__PIPE_BUFFER, NULL, io));
    e = shmkit__win_finish(s->pipe, io, e, n, shmkit__win_remaining(deadline));
    if (e == ERROR_MORE_DATA) { /* too long: drop it */
      began_here |= !s->skipping;
      s->skipping = 1;
      /* A peer writing one endless message must not hold us past the
       * deadline: the rest is dropped by the next read. */
      if (shmkit__win_remaining(deadline) == 0)
        return began_here ? ERROR_MORE_DATA : WAIT_TIMEOUT;
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

/* Reads control messages waiting at the front of the pipe, without
 * blocking, up to CONTROL_BATCH, and only if no other call reads (that
 * one applies them). This is how a sender that does not receive learns
 * its peer's hello and lets go of its copies. Returns 1 if a message is
 * at the front (control messages behind it wait for the next receive),
 * SHMKIT_ECLOSED at the end, else 0. */
int shmkit__win_read_control(shmkit__conn_os *s) {
  HANDLE h = s->pipe;
  union {
    shmkit__ack ack;
    shmkit__hello hello;
  } c;
  OVERLAPPED io;
  DWORD n, avail, left, e;
  int ret = 0;

  if (!TryAcquireSRWLockExclusive(&s->reader)) return 0;
  io.hEvent = NULL;
  for (int i = 0; i < CONTROL_BATCH && !s->skipping; i++) {
    if (!sys_PeekNamedPipe(h, &c, sizeof(c), &n, &avail, &left)) {
      e = GetLastError();
      if (e == ERROR_BROKEN_PIPE || e == ERROR_PIPE_NOT_CONNECTED ||
          e == ERROR_NO_DATA)
        ret = SHMKIT_ECLOSED;
      break;
    }
    if (avail == 0) break;
    if (left != 0 || (n != sizeof(c.ack) && n != sizeof(c.hello)) ||
        (n == sizeof(c.ack) ? shmkit__ack_decode(&c.ack, n)
                            : shmkit__hello_decode(&c.hello, n)) != 0) {
      ret = 1; /* a message: the receiver's */
      break;
    }
    if (io.hEvent == NULL && shmkit__win_io_init(&io) != 0) break;
    shmkit__win_io_reset(&io);
    e = shmkit__win_started(sys_ReadFile(h, &c, sizeof(c), NULL, &io));
    if (shmkit__win_finish(h, &io, e, &n, 0) != 0 ||
        !shmkit__win_control_in(s, &c, n))
      break;
  }
  if (io.hEvent != NULL) CloseHandle(io.hEvent);
  ReleaseSRWLockExclusive(&s->reader);
  return ret;
}
