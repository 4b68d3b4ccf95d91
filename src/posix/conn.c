/* POSIX connections: Unix domain SOCK_SEQPACKET sockets, which keep message
 * boundaries and carry descriptors with SCM_RIGHTS. Linux names endpoints in
 * the abstract namespace (linux-socket.c); elsewhere they are socket files in a
 * private directory. */
#define _GNU_SOURCE /* glibc: accept4, MSG_CMSG_CLOEXEC, struct ucred */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../platform.h"
#include "posix.h"
#include "sys.h"

#ifndef MSG_NOSIGNAL
#  define MSG_NOSIGNAL 0 /* macOS: SO_NOSIGPIPE would be needed */
#endif
#ifndef MSG_CMSG_CLOEXEC
#  define MSG_CMSG_CLOEXEC 0 /* set by hand after recvmsg */
#endif

/* A listener: its socket, and what it must remove when it closes. */
struct shmkit__listener_os {
  int fd;
  int lock;       /* the locked file that says "in use" (socket files), or -1 */
  uint64_t id[2]; /* the socket file's device and inode, or 0 */
  char name[SHMKIT__NAME_MAX + 1];
};

/* A connected end is its socket: the kernel keeps descriptors in flight. */
struct shmkit__conn_os {
  int fd;
};

static int fail(void) {
  return shmkit__errno(errno);
}

/* Makes a descriptor close-on-exec, and non-blocking if asked (where the
 * socket calls could not do it atomically).
 *
 * Listeners and connecting sockets are non-blocking. Connected ends are
 * not: a call with a timeout passes MSG_DONTWAIT and polls, and a call
 * without one blocks in the kernel, which saves a recvmsg that fails and a
 * poll per message that has to be waited for (about a tenth of a round
 * trip). Their O_NONBLOCK flag would also be shared with every process the
 * end is handed to. */
static int prepare(int fd, int nonblock) {
  int fl = sys_fcntl(fd, F_GETFL);
  if (nonblock && (fl < 0 || sys_fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0))
    return fail();
#ifdef SO_NOSIGPIPE
  { /* macOS and the BSDs have no MSG_NOSIGNAL */
    int one = 1;
    sys_setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof(one));
  }
#endif
  return shmkit__os_set_private(fd);
}

static int new_socket(int *out) {
  int fd;
#ifdef SOCK_CLOEXEC
  fd = sys_socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
#else
  fd = sys_socket(AF_UNIX, SOCK_SEQPACKET, 0);
#endif
  if (fd < 0) return fail();
  if (prepare(fd, 1) != 0) {
    int err = fail();
    close(fd);
    return err;
  }
  *out = fd;
  return 0;
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t shmkit__os_now_ms(void) {
  return now_ms();
}

int64_t shmkit__os_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t shmkit__os_coarse_ms(void) {
#ifdef CLOCK_MONOTONIC_COARSE
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
#else
  return now_ms();
#endif
}

void shmkit__os_sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
  /* Interrupted, it returns early: the caller checks its deadline anyway. */
  nanosleep(&ts, NULL);
}

/* Waits for `events` on fd until the deadline (-1: none). */
static int wait_fd(int fd, short events, long long deadline) {
  struct pollfd p = {fd, events, 0};
  int left, r;

  for (;;) {
    left = -1;
    if (deadline >= 0) {
      long long d = deadline - now_ms();
      left = d > 0 ? (int)(d > 1000000 ? 1000000 : d) : 0;
    }
    r = sys_poll(&p, 1, left);
    if (r > 0) return 0;
    if (r == 0) {
      if (left != 0 && (deadline < 0 || now_ms() < deadline)) continue;
      return SHMKIT_ETIMEDOUT;
    }
    if (errno != EINTR) return fail();
  }
}

static long long deadline_of(int timeout_ms) {
  return timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
}

/* Linux: the uid the kernel reports for a user it cannot map into the
 * reader's user namespace (SO_PEERCRED, and geteuid() inside a namespace
 * with no mapping for us): 65534 unless changed. -1 where there is none. */
static long long overflow_uid(void) {
  char text[24];
  long long v = -1;
  ssize_t n;
  int fd = sys_open("/proc/sys/kernel/overflowuid", O_RDONLY | O_CLOEXEC);

  if (fd < 0) return -1;
  n = read(fd, text, sizeof(text) - 1);
  close(fd);
  if (n > 0) {
    text[n] = '\0';
    if (sscanf(text, "%lld", &v) != 1) v = -1;
  }
  return v;
}

int shmkit__os_self_user(char user[SHMKIT_USER_MAX], int64_t *uid) {
  uid_t me = geteuid();

  /* A peer reported as the overflow uid is anyone the kernel could not map:
   * it matches us only if we are that uid too (a rootless container that
   * runs as nobody), and then it may be any user of the host. No peer of
   * such a process can be vouched for, so none is taken for ours. */
  if ((long long)me == overflow_uid()) return SHMKIT_EACCES;
  *uid = (int64_t)me;
  snprintf(user, SHMKIT_USER_MAX, "%lld", (long long)*uid);
  return 0;
}

/* ---- endpoint addresses */

/* The private directory of this user's socket files: made 0700, and
 * trusted only if it is a real directory of ours that nobody else can
 * enter (someone could have made it first, to catch our sockets). */
static int socket_dir(char *dir, size_t size) {
  struct stat st;
  uid_t uid = geteuid();

  snprintf(dir, size, "/tmp/shmkit-%lu", (unsigned long)uid);
  if (sys_mkdir(dir, 0700) != 0 && errno != EEXIST) return fail();
  if (sys_lstat(dir, &st) != 0) return fail();
  if (!S_ISDIR(st.st_mode) || st.st_uid != uid || (st.st_mode & 077) != 0)
    return SHMKIT_EACCES;
  return 0;
}

static int endpoint_addr(const char *name, struct sockaddr_un *a,
                         socklen_t *len, int *on_disk) {
  char dir[64];
  int err;

  memset(a, 0, sizeof(*a));
  a->sun_family = AF_UNIX;
  *on_disk = 0;
  err = shmkit__ext_abstract_addr(name, a->sun_path, sizeof(a->sun_path), len);
  if (err == 0) {
    *len += (socklen_t)offsetof(struct sockaddr_un, sun_path);
    return 0;
  }
  if (err != SHMKIT_ENOTSUP) return err;
  if ((err = socket_dir(dir, sizeof(dir))) != 0) return err;
  snprintf(a->sun_path, sizeof(a->sun_path), "%s/%s", dir, name);
  *len = (socklen_t)sizeof(*a);
  *on_disk = 1;
  return 0;
}

/* ---- listen, accept, connect */

/* The lock file of the socket file `path`: ".lock.<name>" beside it. An
 * endpoint name cannot start with '.', so no endpoint's socket file is ever
 * another's lock (with "<name>.lock", listening on "X.lock" removed the
 * lock of a live "X", and a second "X" could then take it over). */
static void lock_path(char *lp, size_t size, const char *path) {
  const char *base = strrchr(path, '/');
  int dir = base != NULL ? (int)(base - path) + 1 : 0;

  snprintf(lp, size, "%.*s.lock.%s", dir, path, path + dir);
}

/* A socket file outlives a listener that crashed, so the file cannot say
 * whether the endpoint is in use; a lock can, because the system drops it
 * with its holder. (Connecting to find out would leave a live listener a
 * connection to accept.) Takes its lock file or fails with SHMKIT_EEXIST,
 * then clears what a dead listener left. */
static int lock_endpoint(const char *path, int *lock) {
  char lp[sizeof(((struct sockaddr_un *)0)->sun_path) + 8];
  struct stat held, named;
  int fd;

  lock_path(lp, sizeof(lp), path);
  for (;;) {
    fd = sys_open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return fail();
    if (sys_flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int err = errno == EWOULDBLOCK ? SHMKIT_EEXIST : fail();
      close(fd);
      return err;
    }
    /* The lock counts only if its file still has the name: a listener that
     * closed between our open and our flock removed it, and the next one
     * locks a new file of that name. */
    if (sys_fstat(fd, &held) == 0 && sys_stat(lp, &named) == 0 &&
        held.st_dev == named.st_dev && held.st_ino == named.st_ino)
      break;
    close(fd);
  }
  unlink(path); /* a dead listener's socket file, if any */
  *lock = fd;
  return 0;
}

int shmkit__os_listen(const char *name, shmkit__listener_os **out) {
  shmkit__listener_os *l;
  struct sockaddr_un a;
  struct stat st;
  socklen_t len;
  int fd, err, on_disk, lock = -1;

  if ((l = calloc(1, sizeof(*l))) == NULL) return SHMKIT_ENOMEM;
  if ((err = endpoint_addr(name, &a, &len, &on_disk)) != 0) goto fail_new;
  if (on_disk && (err = lock_endpoint(a.sun_path, &lock)) != 0) goto fail_new;
  if ((err = new_socket(&fd)) != 0) goto fail_lock;
  if (sys_bind(fd, (const struct sockaddr *)&a, len) != 0) {
    err = errno == EADDRINUSE ? SHMKIT_EEXIST : fail();
    close(fd);
    goto fail_lock;
  }
  if (on_disk) {
    /* Owner-only, though the directory already is. Remember which file is
     * ours, so that closing never removes another listener's. */
    if (sys_chmod(a.sun_path, 0600) != 0 || sys_stat(a.sun_path, &st) != 0) {
      err = fail();
      goto fail_bound;
    }
    l->id[0] = (uint64_t)st.st_dev;
    l->id[1] = (uint64_t)st.st_ino;
  }
  if (sys_listen(fd, 128) != 0) {
    err = fail();
    goto fail_bound;
  }
  l->fd = fd;
  l->lock = lock;
  strcpy(l->name, name);
  *out = l;
  return 0;

fail_bound:
  if (on_disk) unlink(a.sun_path);
  close(fd);
fail_lock:
  if (lock >= 0) { /* ours while we hold it: remove it, then let go */
    char lp[sizeof(a.sun_path) + 8];
    lock_path(lp, sizeof(lp), a.sun_path);
    unlink(lp);
    close(lock);
  }
fail_new:
  free(l);
  return err;
}

void shmkit__os_unlisten(shmkit__listener_os *l) {
  struct sockaddr_un a;
  struct stat st;
  socklen_t len;
  int on_disk;

  /* Our socket file, and our lock file while we still hold it (so no one
   * else's); lock_endpoint() copes with a lock file removed under it. */
  if (l->id[1] != 0 && endpoint_addr(l->name, &a, &len, &on_disk) == 0 &&
      on_disk) {
    char lp[sizeof(a.sun_path) + 8];
    if (sys_stat(a.sun_path, &st) == 0 && (uint64_t)st.st_dev == l->id[0] &&
        (uint64_t)st.st_ino == l->id[1])
      unlink(a.sun_path);
    lock_path(lp, sizeof(lp), a.sun_path);
    unlink(lp);
  }
  close(l->fd);
  if (l->lock >= 0) close(l->lock);
  free(l);
}

shmkit_handle shmkit__os_listener_handle(const shmkit__listener_os *l) {
  return l->fd;
}

int shmkit__os_accept(shmkit__listener_os *l, int timeout_ms,
                      shmkit_handle *out) {
  long long deadline = deadline_of(timeout_ms);
  int listener = l->fd, fd, err;

  for (;;) {
#ifdef SOCK_CLOEXEC
    fd = sys_accept4(listener, NULL, NULL, SOCK_CLOEXEC);
#else
    fd = sys_accept(listener, NULL, NULL);
    if (fd >= 0 && prepare(fd, 0) != 0) {
      close(fd);
      continue;
    }
#endif
    if (fd >= 0) break;
    /* ECONNABORTED: a client gave up while queued; wait for the next. */
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
        errno != ECONNABORTED)
      return fail();
    if ((err = wait_fd(listener, POLLIN, deadline)) != 0) return err;
  }
  *out = fd;
  return 0;
}

int shmkit__os_connect(const char *name, int timeout_ms, shmkit_handle *out) {
  long long deadline = deadline_of(timeout_ms);
  struct sockaddr_un a;
  socklen_t len;
  int fd, err, on_disk;

  if ((err = endpoint_addr(name, &a, &len, &on_disk)) != 0) return err;
  if ((err = new_socket(&fd)) != 0) return err;
  for (;;) {
    if (sys_connect(fd, (const struct sockaddr *)&a, len) == 0) break;
    if (errno == ECONNREFUSED || errno == ENOENT) {
      err = SHMKIT_ENOENT; /* nobody listens */
    } else if (errno == EAGAIN || errno == EINTR) {
      /* The listener's queue is full: try again until the deadline. */
      err = deadline >= 0 && now_ms() >= deadline ? SHMKIT_ETIMEDOUT : 0;
      if (err == 0) {
        shmkit__os_sleep_ms(1);
        continue;
      }
    } else if (errno == EINPROGRESS) {
      err = wait_fd(fd, POLLOUT, deadline);
      if (err == 0) break;
    } else {
      err = fail();
    }
    close(fd);
    return err;
  }
  /* Connected: blocking from now on, as every connected end (prepare). */
  {
    int fl = sys_fcntl(fd, F_GETFL);
    if (fl < 0 || sys_fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
      err = fail();
      close(fd);
      return err;
    }
  }
  *out = fd;
  return 0;
}

int shmkit__os_conn_pair(shmkit_handle out[2]) {
  int sv[2];

#ifdef SOCK_CLOEXEC
  if (sys_socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    return fail();
#else
  if (sys_socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) != 0) return fail();
  if (prepare(sv[0], 0) != 0 || prepare(sv[1], 0) != 0) {
    int err = fail();
    close(sv[0]);
    close(sv[1]);
    return err;
  }
#endif
  out[0] = sv[0];
  out[1] = sv[1];
  return 0;
}

int shmkit__os_conn_check(shmkit_handle h) {
  struct sockaddr_un a;
  socklen_t len = sizeof(a);
  struct stat st;
  int fd = (int)h, type, listening = 0;
  socklen_t n = sizeof(type);

  if (h < 0 || h != (shmkit_handle)fd || sys_fcntl(fd, F_GETFD) < 0)
    return SHMKIT_EBADF;
  if (sys_fstat(fd, &st) != 0) return fail();
  if (!S_ISSOCK(st.st_mode)) return SHMKIT_ENOTSHM;
  if (sys_getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &n) != 0 ||
      type != SOCK_SEQPACKET ||
      sys_getsockname(fd, (struct sockaddr *)&a, &len) != 0 ||
      a.sun_family != AF_UNIX)
    return SHMKIT_ENOTSHM;
#ifdef SO_ACCEPTCONN
  n = sizeof(listening);
  if (sys_getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &n) != 0)
    listening = 0;
#endif
  if (listening) return SHMKIT_ENOTSHM;
  len = sizeof(a); /* a connected end has a peer */
  return sys_getpeername(fd, (struct sockaddr *)&a, &len) == 0 ? 0
                                                               : SHMKIT_ENOTSHM;
}

int shmkit__os_conn_open(shmkit_handle h, shmkit_peer *peer,
                         shmkit__conn_os **out) {
  shmkit__conn_os *c;
  int err = shmkit__ext_peer((int)h, &peer->pid, &peer->uid);

  if (err != 0) return err;
  if ((c = malloc(sizeof(*c))) == NULL) return SHMKIT_ENOMEM;
  snprintf(peer->user, sizeof(peer->user), "%lld", (long long)peer->uid);
  c->fd = (int)h;
  *out = c;
  return 0;
}

shmkit_handle shmkit__os_conn_handle(const shmkit__conn_os *c) {
  return c->fd;
}

shmkit_handle shmkit__os_conn_watch(shmkit__conn_os *c) {
  return c->fd;
}

void shmkit__os_conn_close(shmkit__conn_os *c) {
  close(c->fd);
  free(c);
}

int shmkit__os_conn_repeer(shmkit__conn_os *c, int64_t pid,
                           shmkit_handle proc) {
  (void)c, (void)pid, (void)proc;
  return 0; /* descriptors travel with the message: nothing to follow */
}

/* ---- messages */

/* Room for the most descriptors a message carries, aligned for cmsghdr. */
typedef union rights {
  struct cmsghdr align;
  char buf[CMSG_SPACE(sizeof(int) * SHMKIT_MSG_REGIONS_MAX)];
} rights;

/* A message of a header and a payload (none if `size` is 0). */
static void message(struct msghdr *m, struct iovec iov[2], void *head,
                    void *data, size_t size) {
  memset(m, 0, sizeof(*m));
  iov[0].iov_base = head;
  iov[0].iov_len = sizeof(shmkit__frame);
  iov[1].iov_base = data;
  iov[1].iov_len = size;
  m->msg_iov = iov;
  m->msg_iovlen = size != 0 ? 2 : 1;
}

/* Sends (`out`) or receives `m` on fd: at once if timeout_ms is 0 or more
 * (MSG_DONTWAIT), polling for the socket until its deadline while the call
 * would block or was interrupted; else blocking in the kernel. Returns the
 * bytes moved, or a SHMKIT_E... code. */
static ssize_t transfer(int fd, struct msghdr *m, int out, int timeout_ms) {
  int flags = timeout_ms >= 0 ? MSG_DONTWAIT : 0, err;
  size_t control = m->msg_controllen;
  long long deadline = -2; /* read the clock only once a wait needs it */
  ssize_t n;

  for (;;) {
    m->msg_controllen = control; /* as a failed receive may have left it */
    n = out ? sys_sendmsg(fd, m, flags | MSG_NOSIGNAL)
            : sys_recvmsg(fd, m, flags | MSG_CMSG_CLOEXEC);
    if (n >= 0) return n;
    if (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN)
      return SHMKIT_ECLOSED;
    if (errno == EMSGSIZE) return SHMKIT_E2BIG;
#ifdef ETOOMANYREFS
    /* Linux: this user has more descriptors in flight (sent, not yet
     * received) than its RLIMIT_NOFILE, or they nest too deep. A limit of
     * descriptors: they come back as the peers read. */
    if (errno == ETOOMANYREFS) return SHMKIT_EMFILE;
#endif
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      return fail();
    if (deadline == -2) deadline = deadline_of(timeout_ms);
    if ((err = wait_fd(fd, out ? POLLOUT : POLLIN, deadline)) != 0) return err;
  }
}

int shmkit__os_send(shmkit__conn_os *c, const shmkit__send *msg,
                    int timeout_ms) {
  size_t count = msg->count;
  struct iovec iov[2];
  struct msghdr m;
  rights ctl;
  ssize_t n;

  message(&m, iov, (void *)msg->frame, (void *)msg->data, msg->size);
  if (count != 0) {
    struct cmsghdr *cm;
    memset(&ctl, 0, sizeof(ctl));
    m.msg_control = ctl.buf;
    m.msg_controllen = CMSG_SPACE(sizeof(int) * count);
    cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int) * count);
    for (size_t i = 0; i < count; i++) {
      int fd = (int)msg->handles[i];
      memcpy(CMSG_DATA(cm) + i * sizeof(int), &fd, sizeof(int));
    }
  }
  n = transfer(c->fd, &m, 1, timeout_ms);
  return n < 0 ? (int)n : 0;
}

static void close_all(const shmkit_handle *handles, size_t count) {
  for (size_t i = 0; i < count; i++) close((int)handles[i]);
}

/* Why the control data of a message was cut (MSG_CTRUNC): it had more
 * descriptors than a message may (SHMKIT_EPROTO), or this process could
 * not install them all, at its limit of descriptors (RLIMIT_NOFILE) or the
 * system's; the system then drops those it could not install. Asked while
 * the ones installed are still open, so their slots are not free. */
static int cut_why(int fd) {
  int probe = sys_fcntl(fd, F_DUPFD_CLOEXEC, 0);

  if (probe >= 0) {
    close(probe);
    return SHMKIT_EPROTO;
  }
  return errno == EMFILE || errno == ENFILE ? SHMKIT_EMFILE : SHMKIT_EPROTO;
}

/* After a read of 0 bytes and no descriptors: the end of the stream, or an
 * empty message (SOCK_SEQPACKET carries them, and reads both as 0; no
 * message of ours is empty, it has a header). The system reads 0 at the end
 * only once nothing is queued, so anything still queued (FIONREAD counts
 * the bytes of every queued message on Linux) says it was a message, which
 * is garbage, and what follows must still be delivered. Nothing queued: the
 * end if the peer can send no more, which a peer that shut down its side
 * and stays alive (shutdown(SHUT_WR)) tells only with POLLRDHUP (Linux),
 * not with POLLHUP. An empty message that was the last before the end is
 * then taken for the end, which loses nothing. */
static int end_or_empty(int fd) {
  struct pollfd p = {fd, POLLIN, 0};
  int queued = 0;
  short gone = POLLHUP;

#ifdef POLLRDHUP
  p.events |= POLLRDHUP;
  gone |= POLLRDHUP;
#endif
  if (ioctl(fd, FIONREAD, &queued) == 0 && queued > 0) return SHMKIT_EPROTO;
  if (sys_poll(&p, 1, 0) == 1 && (p.revents & gone)) return SHMKIT_ECLOSED;
  return SHMKIT_EPROTO;
}

int shmkit__os_recv(shmkit__conn_os *conn, shmkit__recv *r, int timeout_ms) {
  shmkit_handle *handles = r->handles;
  size_t *count = &r->count;
  int h = conn->fd;
  struct iovec iov[2];
  struct msghdr m;
  rights ctl;
  ssize_t n;
  int err, bad = 0;

  *count = 0;
  message(&m, iov, &r->frame, r->data, r->capacity);
  m.msg_control = ctl.buf;
  m.msg_controllen = sizeof(ctl.buf);
  if ((n = transfer(h, &m, 0, timeout_ms)) < 0) return (int)n;

  /* Take every descriptor that arrived, whatever else is wrong, so that
   * each is closed if the message is refused. */
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c != NULL;
       c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < k; i++) {
        int fd;
        memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        if (*count < SHMKIT_MSG_REGIONS_MAX) {
          handles[(*count)++] = fd;
          if (MSG_CMSG_CLOEXEC == 0) shmkit__os_set_private(fd);
        } else {
          close(fd);
          bad = 1;
        }
      }
    } else {
      bad = 1; /* credentials or anything else: not our protocol */
    }
  }
  if (bad || (m.msg_flags & MSG_CTRUNC)) {
    err = bad ? SHMKIT_EPROTO : cut_why(h);
    close_all(handles, *count);
    *count = 0;
    return err;
  }
  if (n == 0 && *count == 0) return end_or_empty(h);
  r->got = (size_t)n < sizeof(r->frame) ? (size_t)n : sizeof(r->frame);
  r->payload = (size_t)n - r->got;
  r->truncated = (m.msg_flags & MSG_TRUNC) != 0;
  return 0;
}

int shmkit__os_pull(int64_t pid, shmkit_handle remote, int access,
                    shmkit_handle *out) {
  int fd, err;

  (void)access; /* pidfd_getfd copies the descriptor as it is */
  if (remote > 0x7fffffff) return SHMKIT_EBADF;
  if (pid > 0x7fffffff) return SHMKIT_ENOENT; /* no pid_t is that large */
  if ((err = shmkit__ext_pull((pid_t)pid, (int)remote, &fd)) != 0) return err;
  *out = fd;
  return 0;
}
