/* The one place where GetLastError() becomes a shmkit error code. */
#include "win.h"

int shmkit__win_error(DWORD e) {
  switch (e) {
  case ERROR_SUCCESS:
    return 0;
  case ERROR_FILE_NOT_FOUND:
  case ERROR_PATH_NOT_FOUND:
  case ERROR_INVALID_DRIVE:
  case ERROR_DIRECTORY:
    return SHMKIT_ENOENT;
  case ERROR_ACCESS_DENIED:
  case ERROR_SHARING_VIOLATION:
    return SHMKIT_EACCES;
  case ERROR_ALREADY_EXISTS:
  case ERROR_FILE_EXISTS:
  case ERROR_PIPE_BUSY:
    return SHMKIT_EEXIST;
  case ERROR_NOT_ENOUGH_MEMORY:
  case ERROR_OUTOFMEMORY:
  case ERROR_COMMITMENT_LIMIT:
  case ERROR_NO_SYSTEM_RESOURCES:
    return SHMKIT_ENOMEM;
  case ERROR_DISK_FULL:
  case ERROR_HANDLE_DISK_FULL:
    return SHMKIT_ENOSPC;
  case ERROR_INVALID_HANDLE:
    return SHMKIT_EBADF;
  case ERROR_INVALID_PARAMETER:
  case ERROR_MAPPED_ALIGNMENT:
    return SHMKIT_EINVAL;
  case ERROR_INVALID_NAME:
  case ERROR_BAD_PATHNAME:
  case ERROR_FILENAME_EXCED_RANGE:
    return SHMKIT_ENAME;
  case ERROR_TOO_MANY_OPEN_FILES:
    return SHMKIT_EMFILE;
  case ERROR_BAD_EXE_FORMAT:
  case ERROR_EXE_MACHINE_TYPE_MISMATCH:
  case ERROR_BAD_FORMAT:
    return SHMKIT_ENOEXEC;
  case ERROR_BROKEN_PIPE:
  case ERROR_NO_DATA:
  case ERROR_PIPE_NOT_CONNECTED:
    return SHMKIT_ECLOSED;
  case ERROR_SEM_TIMEOUT:
  case WAIT_TIMEOUT:
    return SHMKIT_ETIMEDOUT;
  case ERROR_NOT_SUPPORTED:
  case ERROR_CALL_NOT_IMPLEMENTED:
    return SHMKIT_ENOTSUP;
  case ERROR_PRIVILEGE_NOT_HELD:
    return SHMKIT_EPERM;
  case ERROR_FILE_TOO_LARGE:
    return SHMKIT_E2BIG;
  default:
    return SHMKIT_EIO;
  }
}

int shmkit__win_last_error(void) {
  return shmkit__win_error(GetLastError());
}
