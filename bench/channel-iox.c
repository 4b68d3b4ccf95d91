/* The channel benchmark's iceoryx peer, where its C binding was found at
 * configure time: iox-roudi started for the run under a supervisor, a
 * publisher and a subscriber each way, and their cycles in both processes.
 * Without it, the note that says why. */
#define _GNU_SOURCE /* memfd_create */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "channel.h"

#ifdef SHMKIT_BENCH_ICEORYX
#  include "iceoryx_binding_c/log.h"
#  include "iceoryx_binding_c/publisher.h"
#  include "iceoryx_binding_c/runtime.h"
#  include "iceoryx_binding_c/subscriber.h"
#  include "iceoryx_binding_c/wait_set.h"
#endif

char iceoryx_note[256];
int iceoryx_ok;

#ifdef SHMKIT_BENCH_ICEORYX
#  ifndef SHMKIT_BENCH_IOX_ROUDI
#    define SHMKIT_BENCH_IOX_ROUDI "iox-roudi"
#  endif
static pid_t roudi_pid = -1;
static iox_pub_storage_t pub_storage;
static iox_sub_storage_t sub_storage;
static iox_ws_storage_t ws_storage;
static iox_pub_t iox_pub;
static iox_sub_t iox_sub;
static iox_ws_t iox_ws;
int iox_opened;

/* RouDi's memory: 128-byte chunks for the 8 and 64-byte messages. */
static const char roudi_config[] = "[general]\nversion = 1\n\n[[segment]]\n\n"
                                   "[[segment.mempool]]\nsize = 128\n"
                                   "count = 4096\n";

/* The last line RouDi wrote, for a note. */
static void roudi_last_line(int log, char *out, size_t n) {
  char buf[4096];
  ssize_t got = pread(log, buf, sizeof(buf) - 1, 0);
  char *line, *end;
  size_t len;

  snprintf(out, n, "no output");
  if (got <= 0) return;
  buf[got] = '\0';
  while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == ' '))
    buf[--got] = '\0';
  line = strrchr(buf, '\n');
  line = line != NULL ? line + 1 : buf;
  /* Its colours are escape sequences: keep them out of the note. */
  for (end = line; *end != '\0'; end++)
    if ((unsigned char)*end < 0x20) *end = ' ';
  len = strlen(line) < n ? strlen(line) : n - 1;
  memcpy(out, line, len);
  out[len] = '\0';
}

/* Starts iox-roudi with a configuration of ours and waits until it says
 * that it is ready; NULL, or why not in `why`. */
static const char *roudi_start(char *why, size_t n) {
  int cfg = memfd_create("roudi-config", 0);
  int log = memfd_create("roudi-log", MFD_CLOEXEC);
  char path[64], last[200];
  int status;

  if (cfg < 0 || log < 0) die_errno("memfd_create");
  write_full(cfg, roudi_config, sizeof(roudi_config) - 1);
  snprintf(path, sizeof(path), "/proc/self/fd/%d", cfg);
  fflush(NULL);
  if ((roudi_pid = fork()) < 0) die_errno("fork");
  if (roudi_pid == 0) {
    /* Not on the measured CPU alone, and gone when we are. */
    sched_setaffinity(0, sizeof(all_cpus), &all_cpus);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    dup2(log, 1);
    dup2(log, 2);
    execlp(SHMKIT_BENCH_IOX_ROUDI, "iox-roudi", "-c", path, "-m", "off", "-l",
           "info", (char *)NULL);
    _exit(127);
  }
  close(cfg);
  for (int i = 0; i < 1000; i++) {
    char buf[8192];
    ssize_t got = pread(log, buf, sizeof(buf) - 1, 0);

    if (got > 0) {
      buf[got] = '\0';
      if (strstr(buf, "RouDi is ready for clients") != NULL) {
        close(log);
        return NULL;
      }
    }
    if (waitpid(roudi_pid, &status, WNOHANG) == roudi_pid) {
      roudi_pid = -1;
      roudi_last_line(log, last, sizeof(last));
      if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        snprintf(why, n, "%s could not be started", SHMKIT_BENCH_IOX_ROUDI);
      else
        snprintf(why, n, "iox-roudi ended at start (%s)", last);
      close(log);
      return why;
    }
    usleep(10000);
  }
  roudi_last_line(log, last, sizeof(last));
  snprintf(why, n, "iox-roudi not ready after 10 s (%s)", last);
  close(log);
  return why;
}

static void roudi_stop(void) {
  int status;

  if (roudi_pid <= 0) return;
  kill(roudi_pid, SIGTERM);
  for (int i = 0; i < 500; i++) {
    if (waitpid(roudi_pid, &status, WNOHANG) == roudi_pid) {
      roudi_pid = -1;
      return;
    }
    usleep(10000);
  }
  kill(roudi_pid, SIGKILL);
  waitpid(roudi_pid, &status, 0);
  roudi_pid = -1;
}

/* iox-roudi forgets a process only when the process unregisters, which
 * iceoryx does at exit; and at its own end it sends SIGTERM to every
 * process it still knows. So RouDi lives in a supervisor: it starts RouDi,
 * forks the process that measures (returning there), waits for it to end,
 * then stops RouDi and ends as the worker did. Returns in this process,
 * with iceoryx_note saying why, if RouDi did not start. */
static int roudi_running; /* in the worker that supervise() forked */

void supervise(char *why, size_t n) {
  pid_t worker;
  int status;

  if (roudi_start(why, n) != NULL) return;
  fflush(NULL);
  if ((worker = fork()) < 0) die_errno("fork");
  if (worker == 0) {
    roudi_pid = -1; /* the supervisor's */
    roudi_running = 1;
    return;
  }
  /* ^C reaches the worker too: stop RouDi after it, then end the same. */
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  while (waitpid(worker, &status, 0) < 0)
    if (errno != EINTR) break;
  roudi_stop();
  if (WIFSIGNALED(status)) {
    signal(WTERMSIG(status), SIG_DFL);
    raise(WTERMSIG(status));
  }
  _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}

/* This process's publisher on `out` and subscriber on `in`, a wait set
 * on the subscriber, and waits until both are connected to the peer's. */
void iox_open(const char *who, const char *out, const char *in) {
  iox_pub_options_t po;
  iox_sub_options_t so;
  char name[64], instance[32];

  iox_set_loglevel(Iceoryx_LogLevel_Warn);
  snprintf(name, sizeof(name), "shmkit-bench-channel-%s-%ld", who,
           (long)getpid());
  snprintf(instance, sizeof(instance), "%ld", (long)main_pid);
  iox_runtime_init(name);
  iox_pub_options_init(&po);
  po.historyCapacity = 0;
  po.subscriberTooSlowPolicy = ConsumerTooSlowPolicy_WAIT_FOR_CONSUMER;
  iox_pub = iox_pub_init(&pub_storage, "shmkit-bench", instance, out, &po);
  iox_sub_options_init(&so);
  so.queueCapacity = 256;
  so.queueFullPolicy = QueueFullPolicy_BLOCK_PRODUCER;
  iox_sub = iox_sub_init(&sub_storage, "shmkit-bench", instance, in, &so);
  iox_ws = iox_ws_init(&ws_storage);
  iox_opened = 1;
  if (iox_ws_attach_subscriber_state(iox_ws, iox_sub, SubscriberState_HAS_DATA,
                                     0, NULL) != WaitSetResult_SUCCESS)
    die("iox_ws_attach_subscriber_state failed");
}

/* Waits (up to 10 s) until both of this process's ports see the peer's. */
int iox_connected(void) {
  for (int i = 0; i < 1000; i++) {
    if (iox_sub_get_subscription_state(iox_sub) == SubscribeState_SUBSCRIBED &&
        iox_pub_has_subscribers(iox_pub))
      return 1;
    usleep(10000);
  }
  return 0;
}

void iox_close(void) {
  if (iox_pub == NULL) return;
  iox_ws_deinit(iox_ws);
  iox_sub_deinit(iox_sub);
  iox_pub_deinit(iox_pub);
  iox_runtime_shutdown();
  iox_pub = NULL;
}

static void iox_send(size_t size) {
  unsigned spins = 0;
  void *p;
  enum iox_AllocationResult r;

  while ((r = iox_pub_loan_chunk(iox_pub, &p, (uint32_t)size)) !=
         AllocationResult_SUCCESS) {
    if (r != AllocationResult_RUNNING_OUT_OF_CHUNKS)
      die("iox_pub_loan_chunk failed");
    spin_pause(&spins);
  }
  memcpy(p, msgbuf, size);
  iox_pub_publish_chunk(iox_pub, p);
}

/* Takes the next sample, busy-polling or in the wait set, and copies it
 * out. */
static void iox_recv(size_t size, int wait) {
  unsigned spins = 0;
  const void *p;
  enum iox_ChunkReceiveResult r;

  while ((r = iox_sub_take_chunk(iox_sub, &p)) != ChunkReceiveResult_SUCCESS) {
    if (r != ChunkReceiveResult_NO_CHUNK_AVAILABLE)
      die("iox_sub_take_chunk failed");
    if (wait) {
      iox_notification_info_t info[2];
      uint64_t missed;
      struct timespec t = {1, 0};
      if (iox_ws_timed_wait(iox_ws, t, info, 2, &missed) == 0) peer_check();
    } else {
      spin_pause(&spins);
    }
  }
  memcpy(rcvbuf, p, size);
  iox_sub_release_chunk(iox_sub, p);
}

/* ---------------------------------------------------------------- cycles */

void cycle_iox_rt_busy(void *unused) {
  (void)unused;
  iox_send(cur.size);
  iox_recv(cur.size, 0);
}

void cycle_iox_rt_wait(void *unused) {
  (void)unused;
  iox_send(cur.size);
  iox_recv(cur.size, 1);
}

void cycle_iox_tp(void *unused) {
  (void)unused;
  iox_send(cur.size);
}

/* ---------------------------------------------------------------- peer */

void serve_iox(enum kind kind, long iters) {
  if (kind == K_IOX_SETUP) {
    iox_open("peer", "down", "up");
    if (!iox_connected()) die("iceoryx: the parent's ports not seen");
    return;
  }
  for (long i = 0; i < iters; i++) {
    iox_recv(cur.size, kind == K_IOX_RT_WAIT);
    if (kind != K_IOX_TP) iox_send(cur.size);
  }
}
#endif /* SHMKIT_BENCH_ICEORYX */

void start_iceoryx(void) {
#ifdef SHMKIT_BENCH_ICEORYX
  struct side setup_side = {K_IOX_SETUP, 0, S8};

  if (!roudi_running) {
    if (iceoryx_note[0] == '\0')
      snprintf(iceoryx_note, sizeof(iceoryx_note),
               "not needed by the cases run");
    return;
  }
  iox_open("parent", "up", "down");
  peer_go(&setup_side, 0);
  if (!iox_connected()) die("iceoryx: the peer's ports not seen");
  peer_done();
  iceoryx_ok = 1;
#else
  snprintf(iceoryx_note, sizeof(iceoryx_note),
           "not built (iceoryx's C binding was not found at configure time)");
#endif
}
