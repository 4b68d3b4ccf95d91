/* Connections against hostile and dying peers, with raw sendmsg frames, and
 * pull mode. POSIX only: the frames are built by hand with SCM_RIGHTS. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef __linux__
#  include <linux/fuse.h>
#endif

#include "hostile.h"

/* Sends `len` bytes of `frame` and the descriptors in fds[0..n) as one
 * message, past every check of the library. The control message is laid
 * out by hand in a union (its one header, then the descriptors), not
 * walked with CMSG_FIRSTHDR as the library does: a test that repeats the
 * code under test would share its mistakes. */
static void raw_send(int sock, const void *frame, size_t len, const int *fds,
                     size_t n) {
  union {
    struct cmsghdr head;
    char bytes[CMSG_SPACE(sizeof(int) * 64)];
  } ctl;
  struct iovec iov = {(void *)frame, len};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};

  ASSERT(n <= 64);
  memset(&ctl, 0, sizeof(ctl));
  ctl.head.cmsg_level = SOL_SOCKET;
  ctl.head.cmsg_type = SCM_RIGHTS;
  ctl.head.cmsg_len = CMSG_LEN(sizeof(int) * n);
  if (n != 0) {
    memcpy(CMSG_DATA(&ctl.head), fds, sizeof(int) * n);
    m.msg_control = ctl.bytes;
    m.msg_controllen = CMSG_SPACE(sizeof(int) * n);
  }
  if (sendmsg(sock, &m, MSG_NOSIGNAL) < 0) FAIL("sendmsg: %s", strerror(errno));
}

static int memfd_of(size_t size, int writable) {
  char name[32];
  int fd, ro;

  snprintf(name, sizeof(name), "/shmkit-h-%ld", (long)getpid());
  fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
  ASSERT(fd >= 0);
  ASSERT_EQ(ftruncate(fd, (off_t)size), 0);
  if (!writable) {
    ro = shm_open(name, O_RDONLY, 0);
    close(fd);
    fd = ro;
  }
  shm_unlink(name);
  return fd;
}

struct hostile {
  int sock; /* the raw socket of the child's end */
  int fd;   /* a descriptor of its good region */
};

void hostile_write(hostile *h, const void *buf, size_t len, uint32_t regions) {
  int fds[SHMKIT_MSG_REGIONS_MAX];

  ASSERT(regions <= SHMKIT_MSG_REGIONS_MAX);
  for (uint32_t i = 0; i < regions; i++) fds[i] = h->fd;
  raw_send(h->sock, buf, len, fds, regions);
}

void hostile_name(hostile *h, shmkit__frame *f) {
  (void)h; /* descriptors travel beside the frame, which names none */
  (void)f;
}

/* Each lie a frame can tell, from a real other process; every descriptor
 * that came with a refused message is closed, and the connection goes on. */
TEST_IMPL(conn_hostile_frames) {
  shmkit_process *p;
  shmkit_conn *a = test_conn_child("hostile_peer", NULL, &p);
  shmkit_msg m;
  int n = test_open_handles();

  expect_refused(a, SHMKIT_EPROTO, n, "shorter than a header");
  expect_refused(a, SHMKIT_EPROTO, n, "bad magic");
  expect_refused(a, SHMKIT_EPROTO, n, "1 region announced, 2 descriptors");
  expect_refused(a, SHMKIT_EPROTO, n, "2 announced, 1 descriptor");
  expect_refused(a, SHMKIT_EPROTO, n, "more descriptors than fit");
  expect_refused(a, SHMKIT_ENOTSHM, n, "a pipe as a region");
  expect_refused(a, SHMKIT_ETOOSMALL, n, "100 bytes claimed as 4096");
  expect_refused(a, SHMKIT_EACCES, n, "read-only claimed writable");
  if (test_linux_ext()) {
    expect_refused(a, SHMKIT_EPERM, n, "sealed claimed writable");
  } else { /* the portable path knows no seals: it takes the region */
    memset(&m, 0, sizeof(m));
    ASSERT_OK(shmkit_conn_recv(a, &m, 30000));
    close_msg(&m);
  }
  expect_refused(a, SHMKIT_EPROTO, n, "a size of 0");
  expect_shape_lies(a, n);
  expect_random(a, 300, n, 0);
  /* And then an honest message still comes through. */
  expect_honest(a, "honest");
  expect_peer_ended(a, p, n);
  shmkit_process_close(p);
  shmkit_conn_close(a);
  return 0;
}

CHILD_IMPL(hostile_peer) {
  shmkit_conn *c = child_conn(argc, argv);
  shmkit__frame f;
  hostile h;
  int s, pipefd[2], fds[20];
  uint32_t seed = 12345;
  char bytes[sizeof(shmkit__frame) + 64];

  s = (int)shmkit_conn_handle(c);
  /* Blocking, so that a full socket buffer waits instead of failing. */
  ASSERT_EQ(fcntl(s, F_SETFL, fcntl(s, F_GETFL) & ~O_NONBLOCK), 0);
  ASSERT_EQ(pipe(pipefd), 0);
  fds[0] = memfd_of(4096, 1);
  fds[1] = memfd_of(4096, 1);
  h.sock = s;
  h.fd = fds[0];

  raw_send(s, "tiny", 4, fds, 1);
  good_frame(&f, 0, 1, 4096, SHMKIT_READ_WRITE);
  f.magic ^= 1;
  hostile_send_frame(&h, &f);
  good_frame(&f, 0, 1, 4096, SHMKIT_READ_WRITE);
  raw_send(s, &f, sizeof(f), fds, 2);
  good_frame(&f, 0, 2, 4096, SHMKIT_READ_WRITE);
  raw_send(s, &f, sizeof(f), fds, 1);
  for (int i = 2; i < 20; i++) fds[i] = fds[i % 2];
  good_frame(&f, 0, 16, 4096, SHMKIT_READ_WRITE);
  raw_send(s, &f, sizeof(f), fds, 20);
  good_frame(&f, 0, 1, 1, SHMKIT_READ_ONLY);
  raw_send(s, &f, sizeof(f), pipefd, 1);
  {
    int small = memfd_of(100, 1), ro = memfd_of(4096, 0);
    good_frame(&f, 0, 1, 4096, SHMKIT_READ_ONLY);
    raw_send(s, &f, sizeof(f), &small, 1);
    good_frame(&f, 0, 1, 4096, SHMKIT_READ_WRITE);
    raw_send(s, &f, sizeof(f), &ro, 1);
    close(small);
    close(ro);
  }
  { /* a descriptor that can write, of a memfd nobody may write any more */
    int sealed = memfd_create("sealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    ASSERT(sealed >= 0);
    ASSERT_EQ(ftruncate(sealed, 4096), 0);
    ASSERT_EQ(fcntl(sealed, F_ADD_SEALS, F_SEAL_WRITE), 0);
    good_frame(&f, 0, 1, 4096, SHMKIT_READ_WRITE);
    raw_send(s, &f, sizeof(f), &sealed, 1);
    close(sealed);
  }
  good_frame(&f, 0, 1, 0, SHMKIT_READ_WRITE);
  hostile_send_frame(&h, &f);
  hostile_send_shape_lies(&h);

  /* Random frames: sometimes well-formed around random fields, sometimes
   * noise, with 0 to 3 descriptors of any kind. */
  for (int i = 0; i < 300; i++) {
    int pool[4] = {fds[0], pipefd[0], fds[1], pipefd[1]};
    size_t len;
    uint32_t k;
    hostile_noise(&seed, bytes, sizeof(bytes));
    if (i % 2 == 0) {
      uint32_t payload = hostile_next(&seed) % 80;
      uint32_t count = hostile_next(&seed) % 4;
      uint64_t size = hostile_next(&seed) % 8192;
      uint32_t access = 1 + 2 * (hostile_next(&seed) % 2);
      good_frame(&f, payload, count, size, access);
      memcpy(bytes, &f, sizeof(f) - (i % 7 == 0 ? 8 : 0));
    }
    len = hostile_next(&seed) % sizeof(bytes) + 1;
    k = hostile_next(&seed) % 4;
    raw_send(s, bytes, len, pool, k);
  }
  honest_send(c, "honest");
  shmkit_conn_close(c);
  return 0;
}

/* A peer that shuts down its sending side and stays alive has ended the
 * stream: what it sent arrives, in order, then SHMKIT_ECLOSED, every time
 * (not SHMKIT_EPROTO, which a caller would retry at once, forever). */
TEST_IMPL(conn_peer_half_closed) {
  shmkit_process *p;
  shmkit_conn *a = test_conn_child("half_close_peer", NULL, &p);
  shmkit_msg m;
  int code, sig;

  expect_message(a, "one");
  expect_message(a, "two");
  expect_message(a, "three");
  memset(&m, 0, sizeof(m));
  ASSERT_ERR(shmkit_conn_recv(a, &m, 30000), SHMKIT_ECLOSED);
  ASSERT_ERR(shmkit_conn_recv(a, &m, 30000), SHMKIT_ECLOSED);
  ASSERT_ERR(shmkit_conn_recv(a, &m, -1), SHMKIT_ECLOSED);
  ASSERT_ERR(shmkit_process_wait(p, 0, &code, &sig), SHMKIT_ETIMEDOUT);
  ASSERT_OK(shmkit_process_kill(p));
  ASSERT_OK(shmkit_process_wait(p, 30000, &code, &sig));
  shmkit_process_close(p);
  shmkit_conn_close(a);
  return 0;
}

CHILD_IMPL(half_close_peer) {
  shmkit_conn *c = child_conn(argc, argv);

  ASSERT_OK(shmkit_conn_send(c, "one", 4, NULL, 0, 30000));
  ASSERT_OK(shmkit_conn_send(c, "two", 4, NULL, 0, 30000));
  ASSERT_OK(shmkit_conn_send(c, "three", 6, NULL, 0, 30000));
  ASSERT_EQ(shutdown((int)shmkit_conn_handle(c), SHUT_WR), 0);
  for (;;) test_sleep_ms(1000); /* until killed */
}

/* An empty datagram in the middle of a stream is garbage, not the end:
 * everything the peer queued before it exited still arrives, in order,
 * then SHMKIT_ECLOSED. */
TEST_IMPL(conn_empty_then_message) {
  shmkit_process *p;
  shmkit_conn *a = test_conn_child("empty_between", NULL, &p);
  shmkit_msg m;

  /* Everything is queued and the peer is gone before we read. */
  reap_ok(p);
  expect_message(a, "first");
  memset(&m, 0, sizeof(m));
  ASSERT_ERR(shmkit_conn_recv(a, &m, 30000), SHMKIT_EPROTO);
  expect_message(a, "second");
  ASSERT_ERR(shmkit_conn_recv(a, &m, 30000), SHMKIT_ECLOSED);
  ASSERT_ERR(shmkit_conn_recv(a, &m, 30000), SHMKIT_ECLOSED);
  shmkit_conn_close(a);
  return 0;
}

CHILD_IMPL(empty_between) {
  shmkit_conn *c = child_conn(argc, argv);

  ASSERT_OK(shmkit_conn_send(c, "first", 6, NULL, 0, 30000));
  raw_send((int)shmkit_conn_handle(c), "", 0, NULL, 0);
  ASSERT_OK(shmkit_conn_send(c, "second", 7, NULL, 0, 30000));
  shmkit_conn_close(c);
  return 0;
}

/* A receiver out of descriptors (RLIMIT_NOFILE) is told so, SHMKIT_EMFILE,
 * not that its peer lied (SHMKIT_EPROTO): the system drops the message
 * with the descriptors it could not install, the others are closed, and
 * the connection goes on. With no slot free, and with one (one descriptor
 * of two installed). */
TEST_IMPL(conn_recv_out_of_descriptors) {
  shmkit_region *r, *two[2];
  shmkit_conn *a, *b;
  struct rlimit old, low;
  int dups[4096], ndups, n, fd;

  ASSERT_OK(shmkit_conn_pair(&a, &b));
  ASSERT_OK(shmkit_region_create(&r, 4096, 0));
  two[0] = two[1] = r;
  n = test_open_handles();
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &old), 0);
  for (int spare = 0; spare < 2; spare++) {
    ASSERT_OK(shmkit_conn_send(a, "lost", 5, two, 2, 30000));
    /* Every descriptor slot below the limit taken, but `spare`. */
    low = old;
    low.rlim_cur = (rlim_t)n + 8;
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
    for (ndups = 0; (fd = dup(0)) >= 0; ndups++) dups[ndups] = fd;
    ASSERT_EQ(errno, EMFILE);
    for (int i = 0; i < spare; i++) close(dups[--ndups]);
    {
      char buf[16];
      shmkit_msg m;
      ASSERT_ERR(recv_msg(b, &m, buf, sizeof(buf), 30000), SHMKIT_EMFILE);
      ASSERT_EQ(m.count, 0);
      ASSERT_NULL(m.regions[0]);
    }
    while (ndups > 0) close(dups[--ndups]);
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &old), 0);
    ASSERT_EQ(test_open_handles(), n);
    /* The connection still works. */
    ASSERT_OK(shmkit_conn_send(a, "kept", 5, two, 2, 30000));
    {
      char buf[16];
      shmkit_msg m;
      ASSERT_OK(recv_msg(b, &m, buf, sizeof(buf), 30000));
      ASSERT_STR_EQ(buf, "kept");
      ASSERT_EQ(m.count, 2);
      close_msg(&m);
    }
  }
  shmkit_region_close(r);
  shmkit_conn_close(a);
  shmkit_conn_close(b);
  return 0;
}

/* Descriptors sent and not yet received count against the sender's user
 * (Linux: more in flight than its RLIMIT_NOFILE, unless it has
 * CAP_SYS_RESOURCE), and a send past that fails with SHMKIT_EMFILE, as
 * documented, with nothing sent. In a child, with a low limit; as root,
 * one set to nobody, since root is exempt. */
TEST_IMPL(conn_send_too_many_in_flight) {
  const char *args[] = {geteuid() == 0 ? "setuid" : "none", NULL};
  test_proc p;

  test_spawn(&p, "inflight_sender", args, SHMKIT_INVALID_HANDLE);
  ASSERT_EQ(test_wait(&p, 30000), 0);
  return 0;
}

CHILD_IMPL(inflight_sender) {
  shmkit_region *r, *many[SHMKIT_MSG_REGIONS_MAX];
  shmkit_conn *a, *b;
  struct rlimit low;
  char buf[16];
  shmkit_msg m;
  int err = 0, sent = 0, got = 0;

  ASSERT_EQ(argc, 1);
  if (strcmp(argv[0], "setuid") == 0) test_become_nobody();
  ASSERT_OK(shmkit_conn_pair(&a, &b));
  ASSERT_OK(shmkit_region_create(&r, 4096, 0));
  for (int i = 0; i < SHMKIT_MSG_REGIONS_MAX; i++) many[i] = r;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &low), 0);
  low.rlim_cur = 40;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  /* 16 more in flight each time: past 40 well before the socket's buffer
   * is full. */
  while (sent < 100 && (err = shmkit_conn_send(a, "x", 2, many,
                                               SHMKIT_MSG_REGIONS_MAX, 0)) == 0)
    sent++;
  ASSERT_ERR(err, SHMKIT_EMFILE);
  ASSERT(sent >= 2);
  /* What was sent before arrives; then nothing more. */
  while ((err = recv_msg(b, &m, buf, sizeof(buf), 0)) == 0) {
    ASSERT_EQ(m.count, SHMKIT_MSG_REGIONS_MAX);
    close_msg(&m);
    got++;
  }
  ASSERT_ERR(err, SHMKIT_ETIMEDOUT);
  ASSERT_EQ(got, sent);
  shmkit_region_close(r);
  shmkit_conn_close(a);
  shmkit_conn_close(b);
  return 0;
}

/* What is not a file at all, sent as a region, is refused at once: a FIFO
 * (which blocks whoever opens it, not whoever holds it) and sockets. */
TEST_IMPL(conn_region_not_a_file) {
  shmkit_process *p;
  shmkit_conn *a = test_conn_child("odd_files_peer", NULL, &p);
  int n = test_open_handles();

  expect_refused(a, SHMKIT_ENOTSHM, n, "a FIFO");
  expect_refused(a, SHMKIT_ENOTSHM, n, "a connected socket");
  expect_refused(a, SHMKIT_ENOTSHM, n, "a listening socket");
  reap_ok(p);
  shmkit_conn_close(a);
  return 0;
}

CHILD_IMPL(odd_files_peer) {
  char path[64];
  shmkit_conn *c = child_conn(argc, argv);
  shmkit__frame f;
  int s, fifo, sv[2], l;

  s = (int)shmkit_conn_handle(c);
  snprintf(path, sizeof(path), "/tmp/shmkit-fifo-%ld", (long)getpid());
  ASSERT_EQ(mkfifo(path, 0600), 0);
  fifo = open(path, O_RDWR | O_CLOEXEC); /* Linux: does not wait */
  ASSERT(fifo >= 0);
  unlink(path);
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  l = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  ASSERT(l >= 0);
  {
    struct sockaddr_un a;
    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    snprintf(a.sun_path, sizeof(a.sun_path), "/tmp/shmkit-sock-%ld",
             (long)getpid());
    ASSERT_EQ(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
    unlink(a.sun_path);
  }
  ASSERT_EQ(listen(l, 1), 0);
  good_frame(&f, 0, 1, 4096, SHMKIT_READ_ONLY);
  raw_send(s, &f, sizeof(f), &fifo, 1);
  raw_send(s, &f, sizeof(f), &sv[0], 1);
  raw_send(s, &f, sizeof(f), &l, 1);
  close(fifo);
  close(sv[0]);
  close(sv[1]);
  close(l);
  shmkit_conn_close(c);
  return 0;
}

#ifdef __linux__
/* A minimal FUSE file system, served by hand over /dev/fuse: one regular
 * file "f" (node 2) whose attributes are never given (GETATTR on it is
 * left unanswered, so fstat() of it waits forever). Everything else a
 * receiver of it needs (lookup, open, flush, release) is answered. */
static void fuse_serve(void *arg) {
  static char buf[1 << 17];
  int fd = *(int *)arg;

  for (;;) {
    struct fuse_in_header *in = (struct fuse_in_header *)buf;
    struct {
      struct fuse_out_header h;
      union {
        struct fuse_init_out init;
        struct fuse_entry_out entry;
        struct fuse_open_out open;
        struct fuse_attr_out attr;
      } u;
    } out;
    size_t len = sizeof(out.h);
    ssize_t n = read(fd, buf, sizeof(buf));

    if (n < 0 && (errno == EINTR || errno == ENOENT)) continue;
    if (n < (ssize_t)sizeof(*in)) return; /* unmounted */
    memset(&out, 0, sizeof(out));
    out.h.unique = in->unique;
    switch (in->opcode) {
    case FUSE_INIT:
      out.u.init.major = FUSE_KERNEL_VERSION;
      out.u.init.minor = FUSE_KERNEL_MINOR_VERSION;
      out.u.init.max_readahead =
          ((struct fuse_init_in *)(in + 1))->max_readahead;
      out.u.init.max_write = 4096;
      len += sizeof(out.u.init);
      break;
    case FUSE_LOOKUP:
      out.u.entry.nodeid = 2;
      out.u.entry.generation = 1;
      out.u.entry.attr.ino = 2;
      out.u.entry.attr.mode = S_IFREG | 0600;
      out.u.entry.attr.size = 4096;
      out.u.entry.attr.nlink = 1;
      len += sizeof(out.u.entry);
      break;
    case FUSE_GETATTR:
      if (in->nodeid != 1) continue; /* the file's: never answered */
      out.u.attr.attr.ino = 1;
      out.u.attr.attr.mode = S_IFDIR | 0700;
      out.u.attr.attr.nlink = 2;
      len += sizeof(out.u.attr);
      break;
    case FUSE_OPEN:
      out.u.open.fh = 1;
      len += sizeof(out.u.open);
      break;
    case FUSE_FLUSH:
    case FUSE_RELEASE:
      break;
    case FUSE_FORGET:
    case FUSE_BATCH_FORGET:
    case FUSE_INTERRUPT:
      continue; /* no answer expected */
    default:
      out.h.error = -ENOSYS;
      break;
    }
    out.h.len = (uint32_t)len;
    if (write(fd, &out, len) < 0 && errno == ENODEV) return;
  }
}
#endif

/* A peer that serves a FUSE file system can send one of its files as a
 * region and never answer what the file system is asked about it: no
 * check of a received handle may ask the file system (fstat would wait
 * forever). Linux refuses such a file before (F_GET_SEALS, answered by
 * the kernel); the portable path cannot (shmkit.h says so). Needs root,
 * to mount a FUSE file system by hand. */
TEST_IMPL(conn_region_on_fuse) {
  shmkit_process *p;
  shmkit_conn *a;
  int n;

  if (!test_linux_ext()) {
    printf("skipped: the portable path asks fstat (documented limit)\n");
    return TEST_SKIP;
  }
  if (geteuid() != 0 || access("/dev/fuse", R_OK | W_OK) != 0) {
    printf("skipped: mounting a FUSE file system by hand needs root\n");
    return TEST_SKIP;
  }
  a = test_conn_child("fuse_peer", NULL, &p);
  n = test_open_handles();
  expect_refused(a, SHMKIT_ENOTSHM, n,
                 "a file on FUSE (a hang here is the bug)");
  ASSERT_OK(shmkit_conn_send(a, "done", 5, NULL, 0, 30000));
  reap_ok(p);
  shmkit_conn_close(a);
  return 0;
}

CHILD_IMPL(fuse_peer) {
#ifdef __linux__
  char dir[64], file[80], opts[128], buf[8];
  shmkit_conn *c;
  shmkit__frame f;
  shmkit_msg m;
  test_thread t;
  int dev, fd;

  c = child_conn(argc, argv);
  snprintf(dir, sizeof(dir), "/tmp/shmkit-fuse-XXXXXX");
  ASSERT(mkdtemp(dir) != NULL);
  /* A mount namespace of its own: the mount goes with this process,
   * however it ends. */
  ASSERT_EQ(unshare(CLONE_NEWNS), 0);
  ASSERT_EQ(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
  dev = open("/dev/fuse", O_RDWR | O_CLOEXEC);
  ASSERT(dev >= 0);
  snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0",
           dev);
  ASSERT_EQ(mount("shmkit", dir, "fuse.shmkit", MS_NOSUID | MS_NODEV, opts), 0);
  test_thread_start(&t, fuse_serve, &dev);
  snprintf(file, sizeof(file), "%s/f", dir);
  fd = open(file, O_RDONLY | O_CLOEXEC);
  ASSERT(fd >= 0);
  good_frame(&f, 0, 1, 4096, SHMKIT_READ_ONLY);
  raw_send((int)shmkit_conn_handle(c), &f, sizeof(f), &fd, 1);
  close(fd);
  ASSERT_OK(recv_msg(c, &m, buf, sizeof(buf), 60000));
  /* Unmounted and no longer open, the file system ends, and its server
   * reads ENODEV. */
  ASSERT_EQ(umount2(dir, MNT_DETACH), 0);
  test_thread_join(&t);
  rmdir(dir);
  close(dev);
  shmkit_conn_close(c);
  return 0;
#else
  (void)argc;
  (void)argv;
  return 1;
#endif
}
