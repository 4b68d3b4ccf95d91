/* Private to the Windows connection code (conn.c, control.c): a connected
 * end, and the control traffic beside its messages. */
#ifndef SHMKIT_WIN_CONN_H
#define SHMKIT_WIN_CONN_H

#include "win.h"
#include "wire.h"

/* How long closing a connection waits for the peer to take regions sent on
 * it (shmkit.h, shmkit_conn_close). */
#define LINGER_MS 5000

/* Copies of ours in flight at most: a peer that reads messages but never
 * acknowledges them makes further sends with regions fail (SHMKIT_EBUSY)
 * rather than hold handles without end. */
#define FLIGHT_MAX 1024

/* Handle values to acknowledge, queued while the peer does not read; more
 * are dropped (that peer keeps its copies until the connection ends). */
#define ACKS_MAX 1024

/* The most control messages one call reads before it looks at its
 * deadline again, so that a peer that floods them cannot hold it. */
#define CONTROL_BATCH 64

/* What a receiver asks of the peer's process. */
#define PEER_ACCESS                                                            \
  (PROCESS_DUP_HANDLE | PROCESS_QUERY_LIMITED_INFORMATION | SYNCHRONIZE)

struct shmkit__conn_os {
  HANDLE pipe;           /* the connected end */
  CRITICAL_SECTION lock; /* guards the fields up to `reader` */
  HANDLE peer;           /* the peer's process */
  DWORD peer_pid;        /* what the regions of its messages must say */
  int dup_peer;      /* peer opened with PROCESS_DUP_HANDLE: we pull from it,
                        and may push into it */
  int peer_pulls;    /* its hello: 1 it pulls, 0 it needs pushes, -1 unheard */
  int peer_may_push; /* the system lets the peer open us (1), not (0), or
                        cannot tell (-1): values it pushes are taken only
                        where it could have put them there */
  HANDLE flight[FLIGHT_MAX]; /* our copies of sent regions not yet taken */
  size_t nflight;
  uint64_t acks[ACKS_MAX]; /* values taken from the peer: a ring */
  size_t ack_head, nacks;
  int hello_due; /* our hello (again: after repeer) is still to write */
  /* The control message being written, if out_busy. */
  OVERLAPPED out_io;
  union {
    shmkit__ack ack;
    shmkit__hello hello;
  } out;
  int out_busy;
  /* Held by whoever reads the pipe: a receive, or a send reading control
   * messages (which only tries). */
  SRWLOCK reader;
  char *in;     /* SHMKIT__PIPE_BUFFER bytes: one whole message, as read */
  int skipping; /* the rest of an oversized message is still to drop */
  /* shmkit__os_conn_watch(): a zero-byte read whose event (made with the
   * connection) is the handle to wait on; `watching` while it is under
   * way. */
  OVERLAPPED watch_io;
  int watching;
  char zero;
};

/* ---- control.c */

/* Writes what is due, hello first, one message at a time and without
 * waiting: a peer that does not read must not stop us from receiving. */
void shmkit__win_flush_control(shmkit__conn_os *s);

/* Queues values taken from the peer for acknowledgement (ACKS_MAX at most;
 * more are dropped). */
void shmkit__win_queue_acks(shmkit__conn_os *s, const uint64_t *values,
                            size_t n);

/* Closes our copy `h` in flight if it still is (1), or every one. */
int shmkit__win_land(shmkit__conn_os *s, HANDLE h);
void shmkit__win_land_all(shmkit__conn_os *s);
size_t shmkit__win_in_flight(shmkit__conn_os *s);

/* Applies a control message of n bytes at p: 1 if it was one. */
int shmkit__win_control_in(shmkit__conn_os *s, const void *p, DWORD n);

/* Reads the next message whole into s->in (the caller holds s->reader):
 * 0 (*n bytes), WAIT_TIMEOUT or another Win32 error, or ERROR_MORE_DATA for
 * a message larger than any shmkit sends, which is dropped. */
DWORD shmkit__win_read_whole(shmkit__conn_os *s, OVERLAPPED *io,
                             ULONGLONG deadline, DWORD *n);

/* Reads the control messages at the front of the pipe without blocking:
 * 1 if a message is at the front, SHMKIT_ECLOSED at the end, else 0. */
int shmkit__win_read_control(shmkit__conn_os *s);

#endif /* SHMKIT_WIN_CONN_H */
