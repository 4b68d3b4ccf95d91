/* Moving region handles between processes: what a receiver takes out of
 * its sender (pull mode), and shmkit_region_pull. */
#include <stdlib.h>

#include "win.h"
#include "sys.h"

/* Narrowed to what the region needs, so that a read-only region arrives
 * read-only whatever the other handle allows. */
int shmkit__win_take_from(HANDLE source, HANDLE remote, int access,
                          shmkit_handle *out) {
  DWORD want = SECTION_QUERY | FILE_MAP_READ |
               (access == SHMKIT_READ_WRITE ? FILE_MAP_WRITE : 0);
  HANDLE self_ = GetCurrentProcess(), h;
  uint64_t size;
  DWORD e;
  int err;

  if (sys_DuplicateHandle(source, remote, self_, &h, want, FALSE, 0) ||
      /* A classic read-only handle (FILE_MAP_READ alone) cannot give the
       * size right it lacks; the region is measured without it. */
      (GetLastError() == ERROR_ACCESS_DENIED &&
       sys_DuplicateHandle(source, remote, self_, &h,
                           want & ~(DWORD)SECTION_QUERY, FALSE, 0))) {
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
  err = shmkit__win_take_from(source, (HANDLE)remote, access, out);
  CloseHandle(source);
  return err;
}

int shmkit__win_give_to(HANDLE target, HANDLE h, int access, HANDLE *out) {
  DWORD want = SECTION_QUERY | FILE_MAP_READ |
               (access == SHMKIT_READ_WRITE ? FILE_MAP_WRITE : 0);
  HANDLE self_ = GetCurrentProcess();

  if (sys_DuplicateHandle(self_, h, target, out, want, FALSE, 0)) return 0;
  /* A classic read-only handle (FILE_MAP_READ alone) cannot give the size
   * right it lacks; the receiver measures such a section without it. */
  if (GetLastError() == ERROR_ACCESS_DENIED &&
      sys_DuplicateHandle(self_, h, target, out, want & ~(DWORD)SECTION_QUERY,
                          FALSE, 0))
    return 0;
  return GetLastError() == ERROR_ACCESS_DENIED ? SHMKIT_EPERM
                                               : shmkit__win_last_error();
}

void shmkit__win_close_in(HANDLE process, HANDLE value) {
  HANDLE dup;
  /* DUPLICATE_CLOSE_SOURCE closes the source even when the copy fails; a
   * copy into this process is made and closed so that no target is
   * needed. */
  if (DuplicateHandle(process, value, GetCurrentProcess(), &dup, 0, FALSE,
                      DUPLICATE_CLOSE_SOURCE | DUPLICATE_SAME_ACCESS))
    CloseHandle(dup);
}

/* Asks the system's own access check whether a process running with
 * `process`'s token would be granted PROCESS_DUP_HANDLE on this process:
 * this process's security descriptor (its DACL and integrity label)
 * against that token. -1 where it cannot be asked (a sandbox may not read
 * its broker's token): the callers then assume what holds between equals.
 * A failure here has no error to report, so these calls are not among the
 * ones fault injection fails. */
int shmkit__win_could_pull_from_us(HANDLE process) {
  SECURITY_INFORMATION what =
      OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION |
      DACL_SECURITY_INFORMATION | LABEL_SECURITY_INFORMATION;
  GENERIC_MAPPING map = {
      STANDARD_RIGHTS_READ | PROCESS_VM_READ | PROCESS_QUERY_INFORMATION,
      STANDARD_RIGHTS_WRITE | PROCESS_VM_WRITE | PROCESS_VM_OPERATION |
          PROCESS_DUP_HANDLE,
      STANDARD_RIGHTS_EXECUTE | SYNCHRONIZE, PROCESS_ALL_ACCESS};
  PRIVILEGE_SET privileges;
  DWORD n = 0, plen = sizeof(privileges), granted = 0;
  HANDLE token = NULL, imp = NULL;
  PSECURITY_DESCRIPTOR sd = NULL;
  BOOL ok = FALSE, status = FALSE;

  if (OpenProcessToken(process, TOKEN_QUERY | TOKEN_DUPLICATE, &token) &&
      DuplicateToken(token, SecurityIdentification, &imp) &&
      !GetKernelObjectSecurity(GetCurrentProcess(), what, NULL, 0, &n) &&
      GetLastError() == ERROR_INSUFFICIENT_BUFFER && (sd = malloc(n)) != NULL &&
      GetKernelObjectSecurity(GetCurrentProcess(), what, sd, n, &n))
    ok = AccessCheck(sd, imp, PROCESS_DUP_HANDLE, &map, &privileges, &plen,
                     &granted, &status);
  free(sd);
  if (imp != NULL) CloseHandle(imp);
  if (token != NULL) CloseHandle(token);
  return ok ? status != FALSE : -1;
}
