/* Helpers of the Windows-only tests (win-helpers.h). */
#include <aclapi.h>
#include <sddl.h>

#include "task.h"
#include "win-helpers.h"

PSECURITY_DESCRIPTOR deny_process_access(void) {
  PSECURITY_DESCRIPTOR sd, saved;
  BOOL present, defaulted;
  PACL dacl, old;
  DWORD e;

  ASSERT_EQ(GetSecurityInfo(GetCurrentProcess(), SE_KERNEL_OBJECT,
                            DACL_SECURITY_INFORMATION, NULL, NULL, &old, NULL,
                            &saved),
            ERROR_SUCCESS);
  ASSERT(ConvertStringSecurityDescriptorToSecurityDescriptorW(
      L"D:P(A;;0x101000;;;WD)", SDDL_REVISION_1, &sd, NULL));
  ASSERT(GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted));
  e = SetSecurityInfo(GetCurrentProcess(), SE_KERNEL_OBJECT,
                      DACL_SECURITY_INFORMATION |
                          PROTECTED_DACL_SECURITY_INFORMATION,
                      NULL, NULL, dacl, NULL);
  LocalFree(sd);
  ASSERT_EQ(e, ERROR_SUCCESS);
  return saved;
}

void restore_process_access(PSECURITY_DESCRIPTOR saved) {
  BOOL present, defaulted;
  PACL dacl;

  ASSERT(GetSecurityDescriptorDacl(saved, &present, &dacl, &defaulted));
  ASSERT_EQ(SetSecurityInfo(GetCurrentProcess(), SE_KERNEL_OBJECT,
                            DACL_SECURITY_INFORMATION, NULL, NULL, dacl, NULL),
            ERROR_SUCCESS);
  LocalFree(saved);
}

void pipe_io(HANDLE pipe, int write, void *buf, DWORD len, DWORD *done) {
  OVERLAPPED io;
  BOOL ok;

  memset(&io, 0, sizeof(io));
  io.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
  ASSERT(io.hEvent != NULL);
  ok = write ? WriteFile(pipe, buf, len, NULL, &io)
             : ReadFile(pipe, buf, len, NULL, &io);
  if (!ok && GetLastError() != ERROR_IO_PENDING) {
    *done = (DWORD)-1;
  } else if (!GetOverlappedResult(pipe, &io, done, TRUE)) {
    *done = GetLastError() == ERROR_MORE_DATA ? len : (DWORD)-1;
  }
  CloseHandle(io.hEvent);
}
