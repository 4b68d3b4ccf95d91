/* Private to the Windows backend: error translation, UTF-8 to UTF-16 at the
 * edge, and the few ntdll calls Windows offers no kernel32 twin for. */
#ifndef SHMKIT_WIN_H
#define SHMKIT_WIN_H

#ifndef WIN32_LEAN_AND_MEAN
#  define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include "../platform.h"

/* GetLastError() (or the given code) to a SHMKIT_E... code. */
int shmkit__win_error(DWORD e);
int shmkit__win_last_error(void);

/* A new UTF-16 copy of a UTF-8 string (free() it); NULL with *err set to
 * SHMKIT_EINVAL (not UTF-8) or SHMKIT_ENOMEM. */
wchar_t *shmkit__utf16(const char *s, int *err);
/* A new UTF-8 copy of a UTF-16 string (free() it), or NULL. */
char *shmkit__utf8(const wchar_t *s);

/* The current user's SID as text, e.g. "S-1-5-21-...": 0 or an error. */
int shmkit__win_user_sid(char sid[SHMKIT_USER_MAX]);

/* The user SID of another process, as text. */
int shmkit__win_process_sid(HANDLE process, char sid[SHMKIT_USER_MAX]);

/* 0 if `process` (opened with PROCESS_QUERY_LIMITED_INFORMATION) runs at
 * this process's integrity level or above, SHMKIT_EACCES if below, or the
 * error that kept it from being read (endpoint.c). */
int shmkit__win_integrity_check(HANDLE process);

/* A security descriptor from SDDL with "%s" replaced by the user's SID, for
 * CreateFileMapping and CreateNamedPipe; LocalFree() it. */
int shmkit__win_security(const char *sddl_fmt, SECURITY_ATTRIBUTES *sa);

/* Fills buf with random bytes (RtlGenRandom). */
int shmkit__win_random(void *buf, ULONG size);

/* Duplicates handle `remote` of process `source` with the access a region
 * of `access` needs and no more (transfer.c). SHMKIT_EBADF: no such handle
 * there; SHMKIT_ENOTSHM or SHMKIT_EACCES: not a section, or one without
 * that access. */
int shmkit__win_take_from(HANDLE source, HANDLE remote, int access,
                          shmkit_handle *out);

/* Push mode: duplicates region handle `h` into process `target`, with the
 * access a region of `access` needs and no more; *out is the value there.
 * SHMKIT_EPERM if this process may not. */
int shmkit__win_give_to(HANDLE target, HANDLE h, int access, HANDLE *out);

/* Closes handle `value` of another process (one this process put there
 * and that process never learnt of). */
void shmkit__win_close_in(HANDLE process, HANDLE value);

/* Whether the process `process` could open this one with
 * PROCESS_DUP_HANDLE (and so pull regions out of it, or push into it), as
 * the system's access check answers for its token: 1, 0, or -1 where that
 * cannot be asked. */
int shmkit__win_could_pull_from_us(HANDLE process);

/* ---- overlapped I/O on pipes (pipe.c) */

/* Room for the largest message in each direction. */
#define SHMKIT__PIPE_BUFFER ((DWORD)(sizeof(shmkit__frame) + SHMKIT_MSG_MAX))

/* An OVERLAPPED with its own manual-reset event; reset keeps the event. */
int shmkit__win_io_init(OVERLAPPED *io);
void shmkit__win_io_reset(OVERLAPPED *io);

/* What starting an overlapped operation said: 0, ERROR_IO_PENDING, ... */
DWORD shmkit__win_started(BOOL ok);

/* Finishes an operation started on `io` (`e`: shmkit__win_started()):
 * waits up to timeout_ms (-1: forever), and past that cancels it. Returns 0
 * with *n bytes, WAIT_TIMEOUT, or the Win32 error (ERROR_MORE_DATA: a
 * message longer than the buffer, *n bytes of it read). */
DWORD shmkit__win_finish(HANDLE h, OVERLAPPED *io, DWORD e, DWORD *n,
                         int timeout_ms);

/* A deadline timeout_ms from now ((ULONGLONG)-1: never), and the
 * milliseconds left until it (-1: forever; 0: passed). */
ULONGLONG shmkit__win_deadline(int timeout_ms);
int shmkit__win_remaining(ULONGLONG deadline);

#endif /* SHMKIT_WIN_H */
