/* Overlapped I/O on pipes, so that every wait has a timeout, and the
 * deadlines that span several waits. */
#include <string.h>

#include "win.h"
#include "sys.h"

int64_t shmkit__os_now_ms(void) {
  return (int64_t)GetTickCount64(); /* monotonic; Windows Vista and later */
}

int64_t shmkit__os_now_ns(void) {
  LARGE_INTEGER hz, t;

  QueryPerformanceFrequency(&hz); /* fixed at boot, read from memory */
  QueryPerformanceCounter(&t);
  /* In two parts, so that the product does not overflow. */
  return (int64_t)(t.QuadPart / hz.QuadPart * 1000000000 +
                   t.QuadPart % hz.QuadPart * 1000000000 / hz.QuadPart);
}

int64_t shmkit__os_coarse_ms(void) {
  return (int64_t)GetTickCount64(); /* a read of shared memory already */
}

/* WaitOnAddress wakes only threads of the process that calls
 * WakeByAddress: a channel's sleeper waits on its link's pipe instead. */
int shmkit__os_word_wait(uint32_t *addr, uint32_t expected, int timeout_ms) {
  (void)addr, (void)expected, (void)timeout_ms;
  return SHMKIT_ENOTSUP;
}

int shmkit__os_word_wake(uint32_t *addr) {
  (void)addr;
  return SHMKIT_ENOTSUP;
}

int shmkit__win_io_init(OVERLAPPED *io) {
  memset(io, 0, sizeof(*io));
  io->hEvent = sys_CreateEventW(NULL, TRUE, FALSE, NULL);
  return io->hEvent != NULL ? 0 : shmkit__win_last_error();
}

void shmkit__win_io_reset(OVERLAPPED *io) {
  HANDLE e = io->hEvent;
  memset(io, 0, sizeof(*io));
  io->hEvent = e;
}

DWORD shmkit__win_started(BOOL ok) {
  return ok ? 0 : GetLastError();
}

DWORD shmkit__win_finish(HANDLE h, OVERLAPPED *io, DWORD e, DWORD *n,
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

int shmkit__win_remaining(ULONGLONG deadline) {
  ULONGLONG now = GetTickCount64();

  if (deadline == (ULONGLONG)-1) return -1;
  return now >= deadline ? 0 : (int)(deadline - now);
}

ULONGLONG shmkit__win_deadline(int timeout_ms) {
  return timeout_ms < 0 ? (ULONGLONG)-1 : GetTickCount64() + (DWORD)timeout_ms;
}
