/* Connections and strangers: another user, or a process the kernel can
 * only call the overflow uid, can neither reach our endpoint, nor pass for
 * its listener, nor keep our accept waiting past its deadline. POSIX. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "task.h"

/* The address of user `uid`'s endpoint `name`, as shmkit makes it. */
static socklen_t endpoint_of(struct sockaddr_un *a, unsigned long uid,
                             const char *name) {
  memset(a, 0, sizeof(*a));
  a->sun_family = AF_UNIX;
  if (test_linux_ext()) { /* abstract: a leading NUL, no trailing one */
    int n = snprintf(a->sun_path + 1, sizeof(a->sun_path) - 1, "shmkit.%lu.%s",
                     uid, name);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
  }
  snprintf(a->sun_path, sizeof(a->sun_path), "/tmp/shmkit-%lu/%s", uid, name);
  return (socklen_t)sizeof(*a);
}

/* Another user can neither get a connection to our endpoint, nor pass for
 * its listener, nor pull from us. Needs root, to start a process of another
 * user. */
TEST_IMPL(conn_other_user) {
  char name[32], pidtext[24];
  const char *args[] = {name, pidtext, NULL};
  shmkit_conn *l, *s, *c = (shmkit_conn *)&c;
  int ready[2];
  test_proc p;
  char byte;

  if (geteuid() != 0) {
    printf("skipped: only root can start a process of another user\n");
    return TEST_SKIP;
  }
  test_name(name, "priv");
  snprintf(pidtext, sizeof(pidtext), "%ld", (long)getpid());

  /* A stranger that reaches our socket is turned away by accept. */
  ASSERT_OK(shmkit_listen(&l, name));
  test_spawn(&p, "stranger_connects", args, SHMKIT_INVALID_HANDLE);
  ASSERT_EQ(test_wait(&p, 30000), 0);
  ASSERT_ERR(shmkit_accept(&s, l, 200), SHMKIT_ETIMEDOUT);
  shmkit_conn_close(l);

  /* A stranger that takes our endpoint's name first is not believed. */
  ASSERT_EQ(pipe(ready), 0);
  args[1] = NULL;
  {
    char fdtext[16];
    const char *sargs[] = {name, fdtext, NULL};
    snprintf(fdtext, sizeof(fdtext), "%d", ready[1]);
    test_spawn(&p, "stranger_squats", sargs, ready[1]);
  }
  close(ready[1]);
  ASSERT_EQ(read(ready[0], &byte, 1), 1);
  close(ready[0]);
  if (test_linux_ext()) {
    ASSERT_ERR(shmkit_connect(&c, name, 1000), SHMKIT_EACCES);
    ASSERT_NULL(c);
    ASSERT_ERR(shmkit_listen(&l, name), SHMKIT_EEXIST);
  } else { /* it could not: our directory is ours alone */
    ASSERT_EQ(byte, 'n');
  }
  kill((pid_t)p.id, SIGKILL);
  test_wait(&p, 30000);
  return 0;
}

CHILD_IMPL(stranger_connects) {
  struct sockaddr_un a;
  socklen_t len;
  shmkit_region *r;
  int fd;

  ASSERT_EQ(argc, 2);
  len = endpoint_of(&a, 0, argv[0]);
  test_become_nobody();
  fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
  ASSERT(fd >= 0);
  if (test_linux_ext()) { /* abstract sockets have no permissions */
    ASSERT_EQ(connect(fd, (struct sockaddr *)&a, len), 0);
  } else {
    ASSERT_EQ(connect(fd, (struct sockaddr *)&a, len), -1);
    ASSERT_EQ(errno, EACCES);
  }
  close(fd);
  ASSERT_ERR(shmkit_region_pull(&r, atoll(argv[1]), 0, SHMKIT_READ_ONLY),
             test_linux_ext() ? SHMKIT_EPERM : SHMKIT_ENOTSUP);
  return 0;
}

CHILD_IMPL(stranger_squats) {
  struct sockaddr_un a;
  socklen_t len;
  int fd, ready;
  char ok = 'y';

  ASSERT_EQ(argc, 2);
  ready = atoi(argv[1]);
  len = endpoint_of(&a, 0, argv[0]);
  test_become_nobody();
  fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
  ASSERT(fd >= 0);
  if (bind(fd, (struct sockaddr *)&a, len) != 0 || listen(fd, 8) != 0) ok = 'n';
  if (test_linux_ext()) ASSERT_EQ(ok, 'y');
  ASSERT_EQ(write(ready, &ok, 1), 1);
  for (;;) { /* answer whoever comes, until killed */
    int c = accept(fd, NULL, NULL);
    if (c >= 0) close(c);
    if (ok == 'n') test_sleep_ms(1000);
  }
}

/* Becomes a process whose peers the kernel reports as the overflow uid:
 * "setuid" becomes nobody (65534 on Debian, also the overflow uid);
 * "userns" enters a new user namespace with no uid mapped, where every
 * process outside it, and this one, is reported as the overflow uid.
 * Returns 0, or -1 if the system does not allow it here. */
static int become_overflow(const char *mode) {
  if (strcmp(mode, "setuid") == 0) {
    test_become_nobody();
    return 0;
  }
  ASSERT_STR_EQ(mode, "userns");
  return unshare(CLONE_NEWUSER) == 0 ? 0 : -1;
}

/* Two processes that each see the other as the overflow uid (the user the
 * kernel names everyone it cannot map into a namespace) cannot tell
 * whether they are the same user: neither the listener nor the connecting
 * process may take the other for one of its own. */
static int overflow_pair(const char *mode) {
  char name[32], fdtext[16];
  const char *largs[] = {mode, fdtext, name, NULL};
  const char *cargs[] = {mode, name, NULL};
  test_proc l, c;
  int sv[2];
  char byte;

  test_name(name, mode);
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  snprintf(fdtext, sizeof(fdtext), "%d", sv[1]);
  test_spawn(&l, "refusing_listener", largs, sv[1]);
  close(sv[1]);
  ASSERT_EQ(read(sv[0], &byte, 1), 1);
  if (byte == 's') { /* no user namespace for us here */
    close(sv[0]);
    ASSERT_EQ(test_wait(&l, 30000), 0);
    return TEST_SKIP;
  }
  ASSERT_EQ(byte, 'y');
  test_spawn(&c, "overflow_connector", cargs, SHMKIT_INVALID_HANDLE);
  ASSERT_EQ(test_wait(&c, 30000), 0);
  /* The refused connection waits in the listener's queue: now it may look. */
  ASSERT_EQ(write(sv[0], "g", 1), 1);
  ASSERT_EQ(test_wait(&l, 30000), 0);
  close(sv[0]);
  return 0;
}

TEST_IMPL(conn_overflow_uid) {
  int ran = 0;

  /* A new user namespace needs no privilege on most Linux systems, and
   * the abstract socket namespace reaches across it (not socket files: an
   * unmapped user cannot create one). */
  if (test_linux_ext() && overflow_pair("userns") == 0) ran = 1;
  if (geteuid() == 0 && overflow_pair("setuid") == 0) ran = 1;
  if (!ran) {
    printf("skipped: needs root or an unprivileged user namespace\n");
    return TEST_SKIP;
  }
  return 0;
}

/* Listens on argv[2] as argv[0] says ("userns", "setuid": see
 * become_overflow), tells the parent on descriptor argv[1] ('y', or 's' if
 * it could not become that user), waits for its go, and then must see no
 * connection for 300 ms: whoever comes is refused, and refusals do not keep
 * the accept waiting past its timeout. */
CHILD_IMPL(refusing_listener) {
  shmkit_conn *l, *c = (shmkit_conn *)&c;
  int fd;
  char byte;

  ASSERT_EQ(argc, 3);
  fd = atoi(argv[1]);
  if (become_overflow(argv[0]) != 0) {
    ASSERT_EQ(write(fd, "s", 1), 1);
    return 0;
  }
  ASSERT_OK(shmkit_listen(&l, argv[2]));
  ASSERT_EQ(write(fd, "y", 1), 1);
  ASSERT_EQ(read(fd, &byte, 1), 1);
  ASSERT_ERR(shmkit_accept(&c, l, 300), SHMKIT_ETIMEDOUT);
  ASSERT_NULL(c);
  shmkit_conn_close(l);
  return 0;
}

CHILD_IMPL(overflow_connector) {
  shmkit_conn *c = (shmkit_conn *)&c;

  ASSERT_EQ(argc, 2);
  ASSERT_EQ(become_overflow(argv[0]), 0);
  ASSERT_ERR(shmkit_connect(&c, argv[1], 30000), SHMKIT_EACCES);
  ASSERT_NULL(c);
  return 0;
}

/* shmkit_accept()'s timeout is a deadline: a stranger who keeps connecting
 * (each connection refused) does not keep it waiting past it. The
 * stranger floods until it is killed, so an accept that restarts its
 * timeout never returns, and the runner's timeout ends the test. A
 * stranger is either another user (root: one set to nobody) or anyone
 * seen from a listener in a user namespace of its own (overflow uid). */
TEST_IMPL(conn_accept_deadline) {
  char name[32], uidtext[24], fdtext[16], byte;
  const char *fargs[] = {NULL, name, uidtext, NULL};
  const char *largs[] = {"userns", fdtext, name, NULL};
  shmkit_conn *l, *c = (shmkit_conn *)&c;
  test_proc f, lp;
  int ran = 0, sv[2];

  if (!test_linux_ext()) { /* a stranger cannot reach a socket file here */
    printf("skipped: strangers reach only abstract sockets\n");
    return TEST_SKIP;
  }
  if (geteuid() == 0) {
    test_name(name, "dl-root");
    snprintf(uidtext, sizeof(uidtext), "0");
    fargs[0] = "setuid";
    ASSERT_OK(shmkit_listen(&l, name));
    test_spawn(&f, "flood_connect", fargs, SHMKIT_INVALID_HANDLE);
    ASSERT_ERR(shmkit_accept(&c, l, 300), SHMKIT_ETIMEDOUT);
    ASSERT_NULL(c);
    kill((pid_t)f.id, SIGKILL);
    test_wait(&f, 30000);
    shmkit_conn_close(l);
    ran = 1;
  }

  test_name(name, "dl-ns");
  snprintf(uidtext, sizeof(uidtext), "65534");
  fargs[0] = "none";
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  snprintf(fdtext, sizeof(fdtext), "%d", sv[1]);
  test_spawn(&lp, "refusing_listener", largs, sv[1]);
  close(sv[1]);
  ASSERT_EQ(read(sv[0], &byte, 1), 1);
  if (byte == 'y') {
    test_spawn(&f, "flood_connect", fargs, SHMKIT_INVALID_HANDLE);
    ASSERT_EQ(write(sv[0], "g", 1), 1);
    ASSERT_EQ(test_wait(&lp, 600000), 0); /* the runner's timeout first */
    kill((pid_t)f.id, SIGKILL);
    test_wait(&f, 30000);
    ran = 1;
  } else {
    ASSERT_EQ(test_wait(&lp, 30000), 0);
  }
  close(sv[0]);
  if (!ran) {
    printf("skipped: needs root or an unprivileged user namespace\n");
    return TEST_SKIP;
  }
  return 0;
}

/* Connects to uid argv[2]'s endpoint argv[1] and closes, again and again,
 * until killed; argv[0] "setuid" first becomes nobody. */
CHILD_IMPL(flood_connect) {
  struct sockaddr_un a;
  socklen_t len;

  ASSERT_EQ(argc, 3);
  len = endpoint_of(&a, strtoul(argv[2], NULL, 10), argv[1]);
  if (strcmp(argv[0], "setuid") == 0) test_become_nobody();
  for (;;) {
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    ASSERT(fd >= 0);
    if (connect(fd, (struct sockaddr *)&a, len) != 0) test_sleep_ms(1);
    close(fd);
  }
}
