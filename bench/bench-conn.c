/* Connection benchmark: what sending one region with a small message and
 * receiving it on the other end costs through shmkit_conn_send() and
 * shmkit_conn_recv(), against raw sendmsg and recvmsg with SCM_RIGHTS.
 *
 * Both sides use AF_UNIX SOCK_SEQPACKET socketpairs, as shmkit does, and send
 * the descriptor of the same region: a 4 KiB memfd (with SHMKIT_PORTABLE an
 * unlinked shm object), made once before any timing. Both send the same
 * bytes: shmkit's frame header is 400 bytes (src/internal.h, shmkit__frame:
 * 16 + 24 per region slot, 16 slots) followed by the 16-byte payload, so the
 * raw side sends a 400-byte header of its own (the region's claimed size and
 * access and the descriptor count, the rest zero) and the same payload, in
 * the same two iovecs: 416 bytes and one descriptor per message on each side.
 *
 * The cycles:
 *   shmkit:       shmkit_conn_send(a, payload, &region, 1, -1) +
 *                 shmkit_conn_recv(b, &msg, -1) +
 *                 shmkit_region_close(msg.regions[0]).
 *   raw, bare:    sendmsg(MSG_NOSIGNAL) + recvmsg(MSG_CMSG_CLOEXEC) + taking
 *                 the descriptor from the control message + close. What a
 *                 user who trusts the sender writes.
 *   raw, checked: bare, plus what a careful user must check about a
 *                 descriptor that comes from another process, and what shmkit
 *                 checks on arrival (shmkit__region_adopt in src/region.c,
 *                 shmkit__os_check in src/posix/region.c): no truncated
 *                 control data or message, one descriptor as the header
 *                 claims, fcntl(F_GETFL) (not O_PATH, the access mode allows
 *                 the claimed access), fstat (a regular file, at least the
 *                 claimed size), and on the Linux backend fstatfs (tmpfs or
 *                 hugetlbfs). The same work: the target is judged on it.
 *
 * What shmkit does on top, and the checked raw cycle does not:
 *   - the 400-byte frame: zeroed and filled per send, and strictly decoded
 *     per receive (every empty slot checked to be zero);
 *   - malloc + free of the received region object; argument checks.
 * (Until this benchmark showed them, shmkit also made an fcntl(F_GETFD) per
 * received region and waited with EAGAIN + poll + recvmsg on non-blocking
 * sockets: 1.08x and 1.15x. Connected ends now block unless a timeout is
 * given, and received descriptors are trusted to be close-on-exec.)
 *
 * The round trip: a child (fork, no exec) holds the other end and echoes each
 * message back the way its side receives one, so that both directions do the
 * same work: shmkit_conn_recv + shmkit_conn_send + shmkit_region_close, or
 * recvmsg + the checks + sendmsg + close on a blocking socket. The child's
 * time is part of the cycle, and so is waking each process up.
 *
 * How the two sides are timed and judged, in paired rounds, and the JSON that
 * --json prints: bench/common.h. The exit status is 0 whatever the ratio, and
 * 1 only when a call fails or a child does not exit 0. */
#define _GNU_SOURCE /* glibc: MSG_CMSG_CLOEXEC, O_PATH */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "shmkit.h"

#ifndef SHMKIT_BENCH_LINUX_EXT
/* Only bench/CMakeLists.txt knows which backend the library was built with. */
#  error "SHMKIT_BENCH_LINUX_EXT must be defined (0 or 1) by the build"
#endif

#if SHMKIT_BENCH_LINUX_EXT
#  include <sys/vfs.h>
#  define TMPFS_MAGIC_     0x01021994
#  define HUGETLBFS_MAGIC_ 0x958458f6
#endif
#ifndef MSG_NOSIGNAL
#  define MSG_NOSIGNAL 0
#endif
#ifndef MSG_CMSG_CLOEXEC
#  error "the raw side needs MSG_CMSG_CLOEXEC (as shmkit uses on this system)"
#endif

#define REGION_SIZE  4096
#define PAYLOAD_SIZE 16
/* sizeof(shmkit__frame), which is private (src/internal.h, with static
 * assertions in src/frame.c): 16 bytes, then 24 per region slot. */
#define FRAME_SIZE (16 + 24 * SHMKIT_MSG_REGIONS_MAX)

/* The raw side's header: what a careful user sends so that the receiver can
 * check the descriptor against what the sender says it is. */
typedef struct raw_header {
  uint64_t size;   /* the region's size, as the sender claims it */
  uint32_t access; /* SHMKIT_READ_ONLY or SHMKIT_READ_WRITE, as claimed */
  uint32_t count;  /* descriptors that come with the message */
  unsigned char zero[FRAME_SIZE - 16]; /* to send as many bytes as shmkit */
} raw_header;
_Static_assert(sizeof(raw_header) == FRAME_SIZE, "raw header size");

/* Exit codes of the echo children, other than 0. */
#define CHILD_FAILED 3 /* a call failed */
#define CHILD_BAD    4 /* a message or descriptor failed a check */

static const char progname[] = "shmkit-bench-conn";
static shmkit_region *region; /* the one both sides send */
static int region_fd;         /* its descriptor */
static unsigned char payload[PAYLOAD_SIZE];

/* One thread: a sends, b receives. */
static shmkit_conn *local_a, *local_b;
static int raw_local[2];
/* Round trip: this process's end; a child echoes at the other. */
static shmkit_conn *trip_conn;
static int raw_trip = -1;
static pid_t trip_child[2] = {-1, -1}; /* shmkit's, raw's */

/* ---------------------------------------------------------------- errors */

static void die_shmkit(const char *call, int err) {
  fprintf(stderr, "%s: %s failed: %s (%s)\n", progname, call,
          shmkit_strerror(err), shmkit_err_name(err));
  exit(1);
}

static void die_errno(const char *call, int e) {
  fprintf(stderr, "%s: raw %s failed: %s\n", progname, call, strerror(e));
  exit(1);
}

static void die_check(const char *what) {
  fprintf(stderr, "%s: raw receive: %s\n", progname, what);
  exit(1);
}

/* ---------------------------------------------------------------- raw side */

static void raw_send(int sock, int fd) {
  union { /* aligned for struct cmsghdr */
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int))];
  } ctl;
  raw_header h;
  struct iovec iov[2];
  struct msghdr m;
  struct cmsghdr *c;

  memset(&h, 0, sizeof(h));
  h.size = REGION_SIZE;
  h.access = SHMKIT_READ_WRITE;
  h.count = 1;
  iov[0].iov_base = &h;
  iov[0].iov_len = sizeof(h);
  iov[1].iov_base = payload;
  iov[1].iov_len = sizeof(payload);
  memset(&m, 0, sizeof(m));
  memset(&ctl, 0, sizeof(ctl));
  m.msg_iov = iov;
  m.msg_iovlen = 2;
  m.msg_control = ctl.buf;
  m.msg_controllen = sizeof(ctl.buf);
  c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof(int));
  while (sendmsg(sock, &m, MSG_NOSIGNAL) < 0)
    if (errno != EINTR) die_errno("sendmsg", errno);
}

/* What a careful receiver checks before it trusts a descriptor from another
 * process: that it backs what the header claims. 0 or the failed check. */
static const char *raw_check(int fd, const raw_header *h) {
  struct stat st;
  int fl;

  if ((fl = fcntl(fd, F_GETFL)) < 0) return "fcntl(F_GETFL) failed";
#ifdef O_PATH
  if (fl & O_PATH) return "an O_PATH descriptor";
#endif
  if ((fl & O_ACCMODE) != O_RDWR &&
      ((fl & O_ACCMODE) != O_RDONLY || h->access != SHMKIT_READ_ONLY))
    return "the descriptor does not allow the claimed access";
  if (fstat(fd, &st) != 0) return "fstat failed";
  if (!S_ISREG(st.st_mode)) return "not a regular file";
#if SHMKIT_BENCH_LINUX_EXT
  {
    struct statfs sf;
    if (fstatfs(fd, &sf) != 0) return "fstatfs failed";
    if ((unsigned long)sf.f_type != TMPFS_MAGIC_ &&
        (unsigned long)sf.f_type != HUGETLBFS_MAGIC_)
      return "not on tmpfs or hugetlbfs";
  }
#endif
  if ((uint64_t)st.st_size < h->size) return "smaller than claimed";
  return NULL;
}

/* Receives one message and returns the descriptor that came with it, or -1
 * at the end of the stream. With `checked`, refuses (as a failure of the
 * benchmark) anything shmkit would refuse; the reason goes to *bad. */
static int raw_recv(int sock, int checked, const char **bad) {
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int) * SHMKIT_MSG_REGIONS_MAX)];
  } ctl;
  unsigned char data[PAYLOAD_SIZE];
  raw_header h;
  struct iovec iov[2];
  struct msghdr m;
  struct cmsghdr *c;
  ssize_t n;
  int fd = -1, fds = 0;

  *bad = NULL;
  iov[0].iov_base = &h;
  iov[0].iov_len = sizeof(h);
  iov[1].iov_base = data;
  iov[1].iov_len = sizeof(data);
  memset(&m, 0, sizeof(m));
  m.msg_iov = iov;
  m.msg_iovlen = 2;
  m.msg_control = ctl.buf;
  m.msg_controllen = sizeof(ctl.buf);
  while ((n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC)) < 0)
    if (errno != EINTR) die_errno("recvmsg", errno);

  if (!checked) {
    c = CMSG_FIRSTHDR(&m);
    if (c != NULL && c->cmsg_level == SOL_SOCKET &&
        c->cmsg_type == SCM_RIGHTS && c->cmsg_len >= CMSG_LEN(sizeof(int)))
      memcpy(&fd, CMSG_DATA(c), sizeof(int));
    if (fd < 0 && n != 0) *bad = "no descriptor";
    return fd;
  }
  /* Every descriptor that arrived must be taken, to be closed if the
   * message is refused; anything but SCM_RIGHTS is not our protocol. */
  for (c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
      *bad = "unexpected control message";
      continue;
    }
    for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
      int got;
      memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      if (fds++ == 0)
        fd = got;
      else
        close(got);
    }
  }
  if (n == 0 && fds == 0) return -1; /* end of stream */
  if (*bad == NULL && (m.msg_flags & (MSG_CTRUNC | MSG_TRUNC)))
    *bad = "truncated";
  if (*bad == NULL &&
      ((size_t)n != sizeof(h) + sizeof(data) || h.count != 1 || fds != 1 ||
       h.size == 0 ||
       (h.access != SHMKIT_READ_ONLY && h.access != SHMKIT_READ_WRITE)))
    *bad = "the header does not match the message";
  if (*bad == NULL) *bad = raw_check(fd, &h);
  return fd;
}

static void raw_close(int fd) {
  if (close(fd) != 0) die_errno("close", errno);
}

/* ---------------------------------------------------------------- cycles */

static void shmkit_send(shmkit_conn *c) {
  int err = shmkit_conn_send(c, payload, sizeof(payload), &region, 1, -1);

  if (err != 0) die_shmkit("shmkit_conn_send", err);
}

static void shmkit_recv_close(shmkit_conn *c) {
  unsigned char data[PAYLOAD_SIZE];
  shmkit_msg msg;
  int err;

  msg.data = data;
  msg.capacity = sizeof(data);
  if ((err = shmkit_conn_recv(c, &msg, -1)) != 0)
    die_shmkit("shmkit_conn_recv", err);
  if (msg.count != 1 || msg.size != PAYLOAD_SIZE)
    die_shmkit("shmkit_conn_recv (not the message sent)", SHMKIT_EPROTO);
  shmkit_region_close(msg.regions[0]);
}

static void raw_exchange(int send_sock, int recv_sock, int checked) {
  const char *bad;
  int fd;

  raw_send(send_sock, region_fd);
  fd = raw_recv(recv_sock, checked, &bad);
  if (fd < 0) die_check("the peer closed the connection");
  if (bad != NULL) die_check(bad);
  raw_close(fd);
}

/* A case: the ends each side sends on and receives on, and whether the raw
 * side checks what it receives. */
struct conn_case {
  shmkit_conn *send, *recv;
  int raw_send, raw_recv;
  int checked;
};

static void shmkit_cycle(void *ctx) {
  const struct conn_case *c = ctx;

  shmkit_send(c->send);
  shmkit_recv_close(c->recv);
}

static void raw_cycle(void *ctx) {
  const struct conn_case *c = ctx;

  raw_exchange(c->raw_send, c->raw_recv, c->checked);
}

/* ---------------------------------------------------------------- children */

/* The echo children: each message comes back on the same connection, with
 * the region it carried, received the way its side receives. They end at
 * the end of the stream. */
static int shmkit_echo(shmkit_conn *c) {
  unsigned char data[PAYLOAD_SIZE];
  shmkit_msg msg;
  int err;

  for (;;) {
    msg.data = data;
    msg.capacity = sizeof(data);
    err = shmkit_conn_recv(c, &msg, -1);
    if (err == SHMKIT_ECLOSED) return 0;
    if (err != 0) return CHILD_FAILED;
    if (msg.count != 1) return CHILD_BAD;
    err = shmkit_conn_send(c, msg.data, msg.size, msg.regions, 1, -1);
    shmkit_region_close(msg.regions[0]);
    if (err != 0) return CHILD_FAILED;
  }
}

static int raw_echo(int sock) {
  const char *bad;
  int fd;

  while ((fd = raw_recv(sock, 1, &bad)) >= 0) {
    if (bad != NULL) return CHILD_BAD;
    raw_send(sock, fd);
    if (close(fd) != 0) return CHILD_FAILED;
  }
  return 0;
}

/* Starts an echo child on `child_conn` (shmkit's side) or `child_sock`
 * (raw's); `others` are descriptors this process keeps that the child must
 * not hold, so that closing them here is the end of the stream there. */
static pid_t start_echo(int shmkit_side, shmkit_conn *child_conn,
                        int child_sock, const int *others, int other_count) {
  pid_t pid;

  fflush(stdout);
  fflush(stderr);
  if ((pid = fork()) < 0) die_errno("fork", errno);
  if (pid != 0) return pid;
  for (int i = 0; i < other_count; i++) close(others[i]);
  _exit(shmkit_side ? shmkit_echo(child_conn) : raw_echo(child_sock));
}

static void reap(pid_t pid, const char *side) {
  int status;

  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) die_errno("waitpid", errno);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
  fprintf(stderr, "%s: %s echo child ", progname, side);
  if (WIFSIGNALED(status))
    fprintf(stderr, "was killed by signal %d\n", WTERMSIG(status));
  else if (WEXITSTATUS(status) == CHILD_BAD)
    fprintf(stderr, "exited with %d: a message failed a check\n",
            WEXITSTATUS(status));
  else
    fprintf(stderr, "exited with %d: a call failed\n", WEXITSTATUS(status));
  exit(1);
}

/* ---------------------------------------------------------------- setup */

static void setup(void) {
  shmkit_conn *child_conn;
  int sv[2], keep[2], err;

  for (size_t i = 0; i < sizeof(payload); i++) payload[i] = (unsigned char)i;
  if ((err = shmkit_region_create(&region, REGION_SIZE, 0)) != 0)
    die_shmkit("shmkit_region_create", err);
  region_fd = (int)shmkit_region_handle(region);
  if ((err = shmkit_conn_pair(&local_a, &local_b)) != 0)
    die_shmkit("shmkit_conn_pair", err);
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, raw_local) != 0)
    die_errno("socketpair", errno);

  /* The children are made one after the other, each closing the ends this
   * process keeps: a copy of one in the other child would hide the end of
   * the stream from its own. */
  if ((err = shmkit_conn_pair(&trip_conn, &child_conn)) != 0)
    die_shmkit("shmkit_conn_pair", err);
  keep[0] = (int)shmkit_conn_handle(trip_conn);
  trip_child[0] = start_echo(1, child_conn, -1, keep, 1);
  shmkit_conn_close(child_conn);

  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    die_errno("socketpair", errno);
  raw_trip = sv[0];
  keep[1] = sv[0];
  trip_child[1] = start_echo(0, NULL, sv[1], keep, 2);
  close(sv[1]);
}

static void teardown(void) {
  shmkit_conn_close(trip_conn);
  close(raw_trip);
  reap(trip_child[0], "shmkit");
  reap(trip_child[1], "raw");
  shmkit_conn_close(local_a);
  shmkit_conn_close(local_b);
  close(raw_local[0]);
  close(raw_local[1]);
  shmkit_region_close(region);
}

/* ---------------------------------------------------------------- main */

/* What the two sides do; the rest of the header is bench/common.c's. */
static void print_header(void) {
  printf("shmkit connection cycle: send one region with a %d-byte payload, "
         "receive it on\n"
         "the other end, close the received region\n",
         PAYLOAD_SIZE);
  printf("both sides:   AF_UNIX SOCK_SEQPACKET socketpair; per message %d B "
         "(a %d-byte\n"
         "              header, shmkit's frame or raw's own, + the payload) "
         "and one fd by\n"
         "              SCM_RIGHTS: fd %d, the same %d B %s, made once\n",
         FRAME_SIZE + PAYLOAD_SIZE, FRAME_SIZE, region_fd, REGION_SIZE,
#if SHMKIT_BENCH_LINUX_EXT
         "memfd"
#else
         "shm object"
#endif
  );
  printf("shmkit:       shmkit_conn_send + shmkit_conn_recv + "
         "shmkit_region_close\n"
         "raw, bare:    sendmsg(MSG_NOSIGNAL) + recvmsg(MSG_CMSG_CLOEXEC) + "
         "close\n"
         "raw, checked: bare + what shmkit checks on arrival: no truncation, "
         "one fd as\n"
         "              claimed, fcntl(F_GETFL) (not O_PATH; access), fstat "
         "(regular file;\n"
         "              size >= claimed)%s\n",
#if SHMKIT_BENCH_LINUX_EXT
         ", fstatfs (tmpfs or hugetlbfs)"
#else
         "; no fstatfs (SHMKIT_PORTABLE or not Linux)"
#endif
  );
  printf("shmkit also:  the frame zeroed and filled, then decoded strictly; "
         "malloc +\n"
         "              free of the received region; with timeout -1 both "
         "sides block\n"
         "one thread:   send on one end, receive on the other, in this "
         "thread (the\n"
         "              message is always there)\n"
         "round trip:   a forked child echoes each message back as its side "
         "receives one\n"
         "              (shmkit: recv + send + close; raw: recvmsg + checks + "
         "sendmsg +\n"
         "              close); a cycle is both directions\n");
  printf("the target is judged against raw, checked (the same work); the "
         "row against raw,\n"
         "bare (\"-\": not judged) shows what the checks cost\n");
}

int main(int argc, char **argv) {
  static const bench_spec spec = {
      .name = "conn",
      .progname = progname,
      .header = print_header,
      .columns = {{"case", 19}, {"shmkit ns/cyc", 13}, {"raw ns/cyc", 10}},
      .defaults = {21, 100},
      .quick = {9, 45},
  };
  bench b;

  bench_start(&b, &spec, argc, argv);
  setup();
  {
    /* One thread: a sends, b receives; round trip: a child echoes. */
    struct conn_case bare = {local_a, local_b, raw_local[0], raw_local[1], 0},
                     checked = bare,
                     trip = {trip_conn, trip_conn, raw_trip, raw_trip, 1};
    /* The first row is not judged: it shows what the checks cost. */
    const bench_case cases[] = {
        {"one thread, bare", NULL, shmkit_cycle, raw_cycle, &bare, 1},
        {"one thread, checked", NULL, shmkit_cycle, raw_cycle, &checked, 0},
        {"round trip, checked", NULL, shmkit_cycle, raw_cycle, &trip, 0},
    };

    checked.checked = 1;
    bench_begin(&b);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
      bench_run(&b, &cases[i]);
  }
  teardown();
  return bench_finish(&b);
}
