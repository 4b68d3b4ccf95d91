/* Text, users and randomness for the Windows backend. */
#include <stdio.h>
#include <stdlib.h>

#include "win.h"
#include "sys.h"

#include <sddl.h>

/* UTF-8 that does not decode is the caller's (SHMKIT_EINVAL); any other
 * failure is the system's. */
static int utf16_error(void) {
  return GetLastError() == ERROR_NO_UNICODE_TRANSLATION
             ? SHMKIT_EINVAL
             : shmkit__win_last_error();
}

wchar_t *shmkit__utf16(const char *s, int *err) {
  int n =
      sys_MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
  wchar_t *w;

  if (n <= 0) {
    *err = utf16_error();
    return NULL;
  }
  if ((w = malloc((size_t)n * sizeof(*w))) == NULL) {
    *err = SHMKIT_ENOMEM;
    return NULL;
  }
  /* The second call can fail too (it did in a fault-injection build), and
   * would leave the buffer as malloc left it. */
  if (sys_MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n) !=
      n) {
    *err = utf16_error();
    free(w);
    return NULL;
  }
  return w;
}

char *shmkit__utf8(const wchar_t *s) {
  int n = sys_WideCharToMultiByte(CP_UTF8, 0, s, -1, NULL, 0, NULL, NULL);
  char *u;

  if (n <= 0 || (u = malloc((size_t)n)) == NULL) return NULL;
  if (sys_WideCharToMultiByte(CP_UTF8, 0, s, -1, u, n, NULL, NULL) != n) {
    free(u);
    return NULL;
  }
  return u;
}

static int token_sid(HANDLE token, char sid[SHMKIT_USER_MAX]) {
  union {
    TOKEN_USER user;
    char bytes[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
  } info;
  DWORD n;
  LPWSTR text;
  int err = 0;

  if (!sys_GetTokenInformation(token, TokenUser, &info, sizeof(info), &n))
    return shmkit__win_last_error();
  if (!sys_ConvertSidToStringSidW(info.user.User.Sid, &text))
    return shmkit__win_last_error();
  if (sys_WideCharToMultiByte(CP_UTF8, 0, text, -1, sid, SHMKIT_USER_MAX, NULL,
                              NULL) <= 0)
    err = SHMKIT_EIO;
  LocalFree(text);
  return err;
}

int shmkit__win_process_sid(HANDLE process, char sid[SHMKIT_USER_MAX]) {
  HANDLE token;
  int err;

  if (!sys_OpenProcessToken(process, TOKEN_QUERY, &token))
    return shmkit__win_last_error();
  err = token_sid(token, sid);
  CloseHandle(token);
  return err;
}

int shmkit__win_user_sid(char sid[SHMKIT_USER_MAX]) {
  return shmkit__win_process_sid(GetCurrentProcess(), sid);
}

int shmkit__win_security(const char *sddl_fmt, SECURITY_ATTRIBUTES *sa) {
  char sid[SHMKIT_USER_MAX], sddl[512];
  wchar_t *w;
  int err;

  if ((err = shmkit__win_user_sid(sid)) != 0) return err;
  snprintf(sddl, sizeof(sddl), sddl_fmt, sid);
  if ((w = shmkit__utf16(sddl, &err)) == NULL) return err;
  sa->nLength = sizeof(*sa);
  sa->bInheritHandle = FALSE;
  if (!sys_ConvertStringSecurityDescriptorToSecurityDescriptorW(
          w, SDDL_REVISION_1, &sa->lpSecurityDescriptor, NULL))
    err = shmkit__win_last_error();
  free(w);
  return err;
}

/* advapi32's RtlGenRandom, exported as SystemFunction036. */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

int shmkit__win_random(void *buf, ULONG size) {
  return SystemFunction036(buf, size) ? 0 : SHMKIT_EIO;
}
