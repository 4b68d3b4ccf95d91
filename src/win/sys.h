/* The Windows backend's table of system calls: every call the backend makes
 * that can fail goes through one of these names, so that a test build
 * (SHMKIT_FAULT_INJECTION) can make any of them fail, one at a time, and
 * check what the public function then returns and that it leaves nothing
 * behind (tests/test-fault.c). In every other build each name is the call
 * itself: no cost.
 *
 * Each line is: the call, what it returns on failure, and the error a test
 * build fails it with (GetLastError): ERROR_NOT_ENOUGH_MEMORY for calls
 * that allocate, ERROR_NO_SYSTEM_RESOURCES for the kernel objects,
 * ERROR_COMMITMENT_LIMIT for sections. The two ntdll queries return an
 * NTSTATUS: a test build fails them with STATUS_INSUFFICIENT_RESOURCES.
 *
 * Not in the table: CloseHandle, UnmapViewOfFile, LocalFree and the other
 * releases, which have no failure a caller could act on; the locks
 * (critical sections, SRW locks, InitOnce), which cannot fail; and
 * GetLastError, GetCurrentProcess and the like, which only read; and
 * GetOverlappedResult, which tells how an operation already started ended:
 * the operation itself is in the table (ReadFile, WriteFile,
 * ConnectNamedPipe), and failing its report would invent an outcome. */
#ifndef SHMKIT_WIN_SYS_H
#define SHMKIT_WIN_SYS_H

#include "../internal.h"

#ifdef SHMKIT_FAULT_INJECTION
/* 1, with the thread's last error set, if the test wants this call to
 * fail. */
static inline int sys_fails(const char *call, DWORD err) {
  int e = shmkit__fault(call, (int)err);
  if (e != 0) SetLastError((DWORD)e);
  return e != 0;
}
#  define SYS_AS(name, bad, err, fn, ...)                                      \
    (sys_fails(name, err) ? (bad) : fn(__VA_ARGS__))
#else
#  define SYS_AS(name, bad, err, fn, ...) fn(__VA_ARGS__)
#endif
#define SYS(fn, bad, err, ...) SYS_AS(#fn, bad, err, fn, __VA_ARGS__)

#define NOMEM_   ERROR_NOT_ENOUGH_MEMORY
#define NORES_   ERROR_NO_SYSTEM_RESOURCES
#define NTNORES_ ((LONG)0xC000009AL) /* STATUS_INSUFFICIENT_RESOURCES */

/* ---- sections and views */
#define sys_CreateFileMappingW(...)                                            \
  SYS(CreateFileMappingW, NULL, ERROR_COMMITMENT_LIMIT, __VA_ARGS__)
#define sys_OpenFileMappingW(...)                                              \
  SYS(OpenFileMappingW, NULL, NORES_, __VA_ARGS__)
#define sys_MapViewOfFile(...) SYS(MapViewOfFile, NULL, NOMEM_, __VA_ARGS__)
#define sys_VirtualQuery(...)  SYS(VirtualQuery, 0, NOMEM_, __VA_ARGS__)
#define sys_DuplicateHandle(...)                                               \
  SYS(DuplicateHandle, FALSE, NORES_, __VA_ARGS__)
#define sys_SetHandleInformation(...)                                          \
  SYS(SetHandleInformation, FALSE, NORES_, __VA_ARGS__)
#define sys_GetHandleInformation(...)                                          \
  SYS(GetHandleInformation, FALSE, NORES_, __VA_ARGS__)
#define sys_NtQueryObject(fn, ...)                                             \
  SYS_AS("NtQueryObject", NTNORES_, NORES_, fn, __VA_ARGS__)
#define sys_NtQuerySection(fn, ...)                                            \
  SYS_AS("NtQuerySection", NTNORES_, NORES_, fn, __VA_ARGS__)
#define sys_ConvertStringSecurityDescriptorToSecurityDescriptorW(...)          \
  SYS(ConvertStringSecurityDescriptorToSecurityDescriptorW, FALSE, NOMEM_,     \
      __VA_ARGS__)
#define sys_LookupPrivilegeValueW(...)                                         \
  SYS(LookupPrivilegeValueW, FALSE, NOMEM_, __VA_ARGS__)
#define sys_PrivilegeCheck(...) SYS(PrivilegeCheck, FALSE, NOMEM_, __VA_ARGS__)

/* ---- processes and their users */
#define sys_CreateProcessW(...) SYS(CreateProcessW, FALSE, NOMEM_, __VA_ARGS__)
#define sys_InitializeProcThreadAttributeList(...)                             \
  SYS(InitializeProcThreadAttributeList, FALSE, NOMEM_, __VA_ARGS__)
#define sys_UpdateProcThreadAttribute(...)                                     \
  SYS(UpdateProcThreadAttribute, FALSE, NOMEM_, __VA_ARGS__)
#define sys_GetEnvironmentStringsW(...)                                        \
  SYS(GetEnvironmentStringsW, NULL, NOMEM_, __VA_ARGS__)
#define sys_SearchPathW(...) SYS(SearchPathW, 0, NOMEM_, __VA_ARGS__)
#define sys_OpenProcess(...) SYS(OpenProcess, NULL, NORES_, __VA_ARGS__)
#define sys_WaitForSingleObject(...)                                           \
  SYS(WaitForSingleObject, WAIT_FAILED, NORES_, __VA_ARGS__)
#define sys_WaitForMultipleObjects(...)                                        \
  SYS(WaitForMultipleObjects, WAIT_FAILED, NORES_, __VA_ARGS__)
#define sys_GetExitCodeProcess(...)                                            \
  SYS(GetExitCodeProcess, FALSE, NORES_, __VA_ARGS__)
#define sys_TerminateProcess(...)                                              \
  SYS(TerminateProcess, FALSE, NORES_, __VA_ARGS__)
#define sys_OpenProcessToken(...)                                              \
  SYS(OpenProcessToken, FALSE, NORES_, __VA_ARGS__)
#define sys_GetTokenInformation(...)                                           \
  SYS(GetTokenInformation, FALSE, NOMEM_, __VA_ARGS__)
#define sys_ConvertSidToStringSidW(...)                                        \
  SYS(ConvertSidToStringSidW, FALSE, NOMEM_, __VA_ARGS__)
#define sys_MultiByteToWideChar(...)                                           \
  SYS(MultiByteToWideChar, 0, NOMEM_, __VA_ARGS__)
#define sys_WideCharToMultiByte(...)                                           \
  SYS(WideCharToMultiByte, 0, NOMEM_, __VA_ARGS__)

/* ---- pipes, events, the endpoint's lock (a file in the user's directory) */
#define sys_CreateNamedPipeW(...)                                              \
  SYS(CreateNamedPipeW, INVALID_HANDLE_VALUE, NORES_, __VA_ARGS__)
#define sys_ConnectNamedPipe(...)                                              \
  SYS(ConnectNamedPipe, FALSE, NORES_, __VA_ARGS__)
#define sys_CreateFileW(...)                                                   \
  SYS(CreateFileW, INVALID_HANDLE_VALUE, NORES_, __VA_ARGS__)
#define sys_WaitNamedPipeW(...) SYS(WaitNamedPipeW, FALSE, NORES_, __VA_ARGS__)
#define sys_SetNamedPipeHandleState(...)                                       \
  SYS(SetNamedPipeHandleState, FALSE, NORES_, __VA_ARGS__)
#define sys_GetNamedPipeInfo(...)                                              \
  SYS(GetNamedPipeInfo, FALSE, NORES_, __VA_ARGS__)
#define sys_GetNamedPipeClientProcessId(...)                                   \
  SYS(GetNamedPipeClientProcessId, FALSE, NORES_, __VA_ARGS__)
#define sys_GetNamedPipeServerProcessId(...)                                   \
  SYS(GetNamedPipeServerProcessId, FALSE, NORES_, __VA_ARGS__)
#define sys_PeekNamedPipe(...) SYS(PeekNamedPipe, FALSE, NORES_, __VA_ARGS__)
#define sys_ReadFile(...)      SYS(ReadFile, FALSE, NORES_, __VA_ARGS__)
#define sys_WriteFile(...)     SYS(WriteFile, FALSE, NORES_, __VA_ARGS__)
#define sys_CreateEventW(...)  SYS(CreateEventW, NULL, NORES_, __VA_ARGS__)
#define sys_CreateMutexW(...)  SYS(CreateMutexW, NULL, NORES_, __VA_ARGS__)
#define sys_GetEnvironmentVariableW(...)                                       \
  SYS(GetEnvironmentVariableW, 0, NOMEM_, __VA_ARGS__)
#define sys_CreateDirectoryW(...)                                              \
  SYS(CreateDirectoryW, FALSE, NORES_, __VA_ARGS__)
#define sys_GetFileType(...)                                                   \
  SYS(GetFileType, FILE_TYPE_UNKNOWN, NORES_, __VA_ARGS__)

#endif /* SHMKIT_WIN_SYS_H */
