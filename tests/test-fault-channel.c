/* Fault injection for channels (see test-fault.c): making a channel and
 * attaching to one, each system call failing in turn, fail with a code the
 * header names and leave nothing open; when they succeed, a message goes
 * through. */
#include "fault.h"
#include "task.h"

typedef struct channel_ctx {
  shmkit_conn *a, *b;
  shmkit_channel *tx, *rx;
} channel_ctx;

static void pair_setup(void *p) {
  channel_ctx *c = p;
  ASSERT_OK(shmkit_conn_pair(&c->a, &c->b));
  c->tx = c->rx = NULL;
}

static int create_call(void *p) {
  channel_ctx *c = p;
  return shmkit_channel_create(&c->tx, c->a, SHMKIT_CHANNEL_SEND, 4096, 0,
                               5000);
}

/* Once both ends are there (the receiving one attached here if the case
 * did not), a message goes from tx to rx. */
static void channel_works(void *p, int err) {
  channel_ctx *c = p;
  char buf[8];
  size_t n;

  if (err != 0) return;
  if (c->rx == NULL) ASSERT_OK(shmkit_channel_attach(&c->rx, c->b, 5000));
  ASSERT_OK(shmkit_channel_send(c->tx, "hi", 3, 5000));
  ASSERT_OK(shmkit_channel_recv(c->rx, buf, sizeof(buf), &n, 5000));
  ASSERT_EQ(n, 3);
  ASSERT_STR_EQ(buf, "hi");
}

/* A channel owns its link; a link with none (the call failed) is still
 * ours. */
static void channel_release(void *p) {
  channel_ctx *c = p;
  if (c->tx != NULL)
    shmkit_channel_close(c->tx);
  else
    shmkit_conn_close(c->a);
  if (c->rx != NULL)
    shmkit_channel_close(c->rx);
  else
    shmkit_conn_close(c->b);
}

static void offered_setup(void *p) {
  pair_setup(p);
  ASSERT_OK(create_call(p));
}

static int attach_call(void *p) {
  channel_ctx *c = p;
  return shmkit_channel_attach(&c->rx, c->b, 5000);
}

static const int create_errors[] = {SHMKIT_EINVAL,    SHMKIT_E2BIG,
                                    SHMKIT_ENOSPC,    SHMKIT_ECLOSED,
                                    SHMKIT_ETIMEDOUT, 0};
static const int attach_errors[] = {SHMKIT_EINVAL,    SHMKIT_EPROTO,
                                    SHMKIT_EVERSION,  SHMKIT_ENOTSHM,
                                    SHMKIT_EACCES,    SHMKIT_ETOOSMALL,
                                    SHMKIT_EPERM,     SHMKIT_ECLOSED,
                                    SHMKIT_ETIMEDOUT, 0};

TEST_IMPL(fault_channel) {
  channel_ctx c = {0};
  fault_case create = {
      "shmkit_channel_create", pair_setup,    create_call, channel_works,
      channel_release,         create_errors, {&c.tx}};
  fault_case attach = {
      "shmkit_channel_attach", offered_setup, attach_call, channel_works,
      channel_release,         attach_errors, {&c.rx}};

  walk(&create, &c);
  walk(&attach, &c);
  return 0;
}
