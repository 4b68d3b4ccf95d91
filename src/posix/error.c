/* The one place where errno becomes a shmkit error code. */
#include <errno.h>

#include "posix.h"

int shmkit__errno(int e) {
  switch (e) {
  case 0:
    return 0;
  case EINVAL:
    return SHMKIT_EINVAL;
  case ENOMEM:
    return SHMKIT_ENOMEM;
  case ENOSPC:
  case EDQUOT:
    return SHMKIT_ENOSPC;
  case EEXIST:
    return SHMKIT_EEXIST;
  case ENOENT:
    return SHMKIT_ENOENT;
  case EACCES:
  case EROFS:
    return SHMKIT_EACCES;
  case ENAMETOOLONG:
    return SHMKIT_ENAME;
  case EOVERFLOW:
    return SHMKIT_ERANGE;
  case EFBIG:
    return SHMKIT_E2BIG;
  case EBADF:
    return SHMKIT_EBADF;
  case ENODEV:
    return SHMKIT_ENOTSHM;
  case ENOSYS:
  case EOPNOTSUPP:
#if defined(ENOTSUP) && ENOTSUP != EOPNOTSUPP
  case ENOTSUP:
#endif
    return SHMKIT_ENOTSUP;
  case EPERM:
    return SHMKIT_EPERM;
  case EBUSY:
  case ETXTBSY:
    return SHMKIT_EBUSY;
  case EAGAIN:
    return SHMKIT_EAGAIN;
  case ECONNRESET:
  case EPIPE:
    return SHMKIT_ECLOSED;
  case EMFILE:
  case ENFILE:
    return SHMKIT_EMFILE;
  default:
    return SHMKIT_EIO;
  }
}
