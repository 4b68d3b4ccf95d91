/* Helpers of the Windows-only tests: what a test process does to itself or
 * to a pipe that the library would not do. */
#ifndef SHMKIT_TEST_WIN_HELPERS_H
#define SHMKIT_TEST_WIN_HELPERS_H

#define WIN32_LEAN_AND_MEAN
#include <windows.h>

/* Makes this process's DACL grant everyone only SYNCHRONIZE and
 * PROCESS_QUERY_LIMITED_INFORMATION: nobody may duplicate handles out of
 * it or into it, as a sandboxed process may not open its broker. Returns
 * what restore_process_access() needs to undo it. */
PSECURITY_DESCRIPTOR deny_process_access(void);
void restore_process_access(PSECURITY_DESCRIPTOR saved);

/* One overlapped read or write of `len` bytes on a pipe, waited for: *done
 * is the bytes moved, `len` for a message longer than a read's buffer, or
 * (DWORD)-1 on failure. */
void pipe_io(HANDLE pipe, int write, void *buf, DWORD len, DWORD *done);

#endif
