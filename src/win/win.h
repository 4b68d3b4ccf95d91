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

/* A security descriptor from SDDL with "%s" replaced by the user's SID, for
 * CreateFileMapping and CreateNamedPipe; LocalFree() it. */
int shmkit__win_security(const char *sddl_fmt, SECURITY_ATTRIBUTES *sa);

/* Fills buf with random bytes (RtlGenRandom). */
int shmkit__win_random(void *buf, ULONG size);

#endif /* SHMKIT_WIN_H */
