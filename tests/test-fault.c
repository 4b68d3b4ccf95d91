/* Fault injection (built with SHMKIT_FAULT_INJECTION): each public function
 * is walked through each of the system calls it makes, failing in turn: the
 * first call in one round, the second in the next, until a round makes
 * fewer calls than the one armed. In every round the function must either
 * fail with a code its documentation names (or one the header's
 * conventions allow every call that asks the system for something:
 * SHMKIT_ENOMEM, SHMKIT_EMFILE, SHMKIT_EIO) or succeed and work (some
 * failures are survivable by design), and leave no descriptor or mapping
 * behind; a sanitizer build's leak checker finds memory left behind. */
#include <stdio.h>
#include <stdlib.h>

#include "../src/internal.h"
#include "fault.h"
#include "task.h"

static int allowed(const fault_case *c, int err) {
  if (err == SHMKIT_ENOMEM || err == SHMKIT_EMFILE || err == SHMKIT_EIO)
    return 1;
  for (const int *d = c->documented; *d != 0; d++)
    if (*d == err) return 1;
  return 0;
}

/* Shared mappings: what a leaked view would leave. Private ones come and
 * go with the allocator (a sanitizer's above all), so they are not
 * counted. */
static int mappings(void) {
  return test_mapping_count(1);
}

/* What the walk writes into each output before the call: an address no
 * call returns. An output is read and written as a void *: object pointers
 * have one representation on every platform shmkit builds for. */
static char poison;

static void poison_outputs(const fault_case *c) {
  void *v = &poison;
  for (int i = 0; i < 2 && c->out[i] != NULL; i++)
    memcpy(c->out[i], &v, sizeof(v));
}

/* After round k (0: no fault) of c->call returned err: "on failure,
 * out-parameters are set to NULL", on success each holds what the call
 * made; then the case's own check, and its release. */
static void finish(const fault_case *c, void *ctx, long k, const char *call,
                   int err) {
  for (int i = 0; i < 2 && c->out[i] != NULL; i++) {
    void *v;
    memcpy(&v, c->out[i], sizeof(v));
    if (err != 0 && v != NULL)
      FAIL("%s, call %ld (%s) failing: output %d is not NULL", c->what, k, call,
           i);
    if (err == 0 && (v == NULL || v == &poison))
      FAIL("%s, call %ld (%s) failing: succeeded without filling output %d",
           c->what, k, call != NULL ? call : "none", i);
  }
  if (c->check != NULL) c->check(ctx, err);
  c->release(ctx);
}

void walk(const fault_case *c, void *ctx) {
  int failed = 0, survived = 0;
  long k;

  /* Once without a fault first: what a library or the system sets up once
   * per process (Windows opens the session's object directory at the
   * first named object) is not a leak of the call under test. */
  c->setup(ctx);
  poison_outputs(c);
  ASSERT_OK(c->call(ctx));
  finish(c, ctx, 0, NULL, 0);
  for (k = 1;; k++) {
    int handles0 = test_open_handles(), maps0 = mappings();
    int handles, maps, err;
    const char *call;

    c->setup(ctx);
    handles = test_open_handles();
    maps = mappings();
    poison_outputs(c);
    shmkit__fault_arm(k, 0);
    err = c->call(ctx);
    call = shmkit__fault_fired();
    shmkit__fault_arm(0, 0);
    if (getenv("SHMKIT_FAULT_VERBOSE") != NULL)
      printf("%s: call %ld (%s) failing: %s\n", c->what, k,
             call != NULL ? call : "none", shmkit_err_name(err));
    if (call == NULL) { /* the call made fewer than k system calls */
      if (err != 0)
        FAIL("%s: %s with no failure injected", c->what, shmkit_err_name(err));
      finish(c, ctx, k, call, 0);
      break;
    }
    if (err > 0) FAIL("%s: returned %d", c->what, err);
    if (err != 0) {
      failed++;
      if (!allowed(c, err))
        FAIL("%s, call %ld (%s) failing: undocumented %s", c->what, k, call,
             shmkit_err_name(err));
      if (test_open_handles() != handles || mappings() != maps)
        FAIL("%s, call %ld (%s) failing: %d descriptors and %d mappings "
             "before, %d and %d after",
             c->what, k, call, handles, maps, test_open_handles(), mappings());
    } else {
      survived++;
    }
    finish(c, ctx, k, call, err);
    if (test_open_handles() != handles0 || mappings() != maps0)
      FAIL("%s, call %ld (%s) failing: left %d descriptors and %d mappings "
           "where there were %d and %d",
           c->what, k, call, test_open_handles(), mappings(), handles0, maps0);
  }
  /* A walk that injected nothing proves nothing: the calls must go
   * through the backend's table. */
  if (k == 1) FAIL("%s: made no system call through the table", c->what);
  printf("%s: %ld system calls, %d failures reported, %d survived\n", c->what,
         k - 1, failed, survived);
}

/* ---- regions */

typedef struct region_ctx {
  shmkit_region *r, *out;
  shmkit_view *v;
  char name[32]; /* empty for an anonymous region */
  unsigned flags;
} region_ctx;

static void nothing(void *p) {
  region_ctx *c = p;
  c->r = c->out = NULL;
  c->v = NULL;
  c->name[0] = '\0';
}

/* A name stands while a region made under it does (a failed create leaves
 * none, see named_check). */
static void region_release(void *p) {
  region_ctx *c = p;
  int named = c->name[0] != '\0' && (c->r != NULL || c->out != NULL);

  shmkit_view_unmap(c->v);
  shmkit_region_close(c->out);
  shmkit_region_close(c->r);
  if (named) test_forget_name(c->name);
}

static void out_works(void *p, int err) {
  region_ctx *c = p;
  if (err == 0) ASSERT(shmkit_region_size(c->out) >= 4096);
}

static int create_anon(void *p) {
  region_ctx *c = p;
  return shmkit_region_create(&c->out, 1 << 20, c->flags);
}

static const int create_errors[] = {SHMKIT_EINVAL, SHMKIT_E2BIG, SHMKIT_ENOSPC,
                                    0};

TEST_IMPL(fault_region_create) {
  region_ctx c = {0};
  fault_case fc = {
      "shmkit_region_create", nothing,       create_anon, out_works,
      region_release,         create_errors, {&c.out}};

  walk(&fc, &c);
  c.flags = SHMKIT_SPARSE;
  fc.what = "shmkit_region_create(SPARSE)";
  walk(&fc, &c);
  return 0;
}

static void named_setup(void *p) {
  region_ctx *c = p;
  nothing(p);
  test_name(c->name, "fault");
}

static int create_named(void *p) {
  region_ctx *c = p;
  return shmkit_region_create_named(&c->out, c->name, 1 << 20, 0);
}

static void named_check(void *p, int err) {
  region_ctx *c = p;
  out_works(p, err);
  /* "If the call fails, the name is not left behind." */
  if (err != 0)
    ASSERT_ERR(shmkit_region_open(&c->out, c->name, SHMKIT_READ_ONLY),
               SHMKIT_ENOENT);
}

static const int create_named_errors[] = {
    SHMKIT_EINVAL, SHMKIT_E2BIG,  SHMKIT_ENOSPC, SHMKIT_ENAME,
    SHMKIT_EEXIST, SHMKIT_EACCES, SHMKIT_EPERM,  0};

static void existing_setup(void *p) {
  region_ctx *c = p;
  named_setup(p);
  ASSERT_OK(shmkit_region_create_named(&c->r, c->name, 1 << 20, 0));
}

static int open_named(void *p) {
  region_ctx *c = p;
  return shmkit_region_open(&c->out, c->name, SHMKIT_READ_WRITE);
}

static const int open_errors[] = {SHMKIT_ENAME,
                                  SHMKIT_ENOENT,
                                  SHMKIT_EACCES,
                                  SHMKIT_ENOTSHM,
                                  SHMKIT_EINVAL,
                                  SHMKIT_EAGAIN,
                                  0};

static int dup_region(void *p) {
  region_ctx *c = p;
  return shmkit_region_dup_readonly(&c->out, c->r);
}

static const int dup_errors[] = {SHMKIT_EINVAL, SHMKIT_ENOTSUP, SHMKIT_ENOENT,
                                 0};

TEST_IMPL(fault_region_named) {
  region_ctx c = {0};
  fault_case create = {"shmkit_region_create_named",
                       named_setup,
                       create_named,
                       named_check,
                       region_release,
                       create_named_errors,
                       {&c.out}};
  fault_case open = {
      "shmkit_region_open", existing_setup, open_named, out_works,
      region_release,       open_errors,    {&c.out}};
  fault_case dup = {"shmkit_region_dup_readonly (named)",
                    existing_setup,
                    dup_region,
                    out_works,
                    region_release,
                    dup_errors,
                    {&c.out}};

  walk(&create, &c);
  walk(&open, &c);
  walk(&dup, &c);
  return 0;
}

static void anon_setup(void *p) {
  region_ctx *c = p;
  nothing(p);
  ASSERT_OK(shmkit_region_create(&c->r, 3 << 16, 0));
}

static int map_view(void *p) {
  region_ctx *c = p;
  return shmkit_view_map(&c->v, c->r, 70000, 5000, SHMKIT_READ_WRITE);
}

static void view_works(void *p, int err) {
  region_ctx *c = p;
  if (err == 0) ((char *)shmkit_view_data(c->v))[4999] = 1;
}

static const int map_errors[] = {SHMKIT_EINVAL, SHMKIT_ERANGE, SHMKIT_EACCES,
                                 SHMKIT_EPERM, 0};

static int token_back(void *p) {
  region_ctx *c = p;
  shmkit_handle h = test_dup_handle(shmkit_region_handle(c->r));
  char token[SHMKIT_TOKEN_MAX];
  int err;

  snprintf(token, sizeof(token), "shmkit1:%lld:%llu:rw", (long long)h,
           (unsigned long long)shmkit_region_size(c->r));
  err = shmkit_region_from_token(&c->out, token);
  if (err != 0) test_close_handle(h); /* still ours on failure */
  return err;
}

static const int token_errors[] = {SHMKIT_ETOKEN,    SHMKIT_EBADF,
                                   SHMKIT_ENOTSHM,   SHMKIT_EACCES,
                                   SHMKIT_ETOOSMALL, 0};

static int freeze_anon(void *p) {
  region_ctx *c = p;
  return shmkit_region_freeze(&c->out, c->r);
}

static const int freeze_errors[] = {SHMKIT_EINVAL,
                                    SHMKIT_EACCES,
                                    SHMKIT_EBUSY,
                                    SHMKIT_EPERM,
                                    SHMKIT_ENOTSUP,
                                    SHMKIT_ENOENT,
                                    0};

TEST_IMPL(fault_region_use) {
  region_ctx c = {0};
  fault_case map = {"shmkit_view_map", anon_setup, map_view, view_works,
                    region_release,    map_errors, {&c.v}};
  fault_case token = {"shmkit_region_from_token",
                      anon_setup,
                      token_back,
                      out_works,
                      region_release,
                      token_errors,
                      {&c.out}};
  fault_case dup = {"shmkit_region_dup_readonly",
                    anon_setup,
                    dup_region,
                    out_works,
                    region_release,
                    dup_errors,
                    {&c.out}};
  fault_case freeze = {
      "shmkit_region_freeze", anon_setup,    freeze_anon, out_works,
      region_release,         freeze_errors, {&c.out}};

  walk(&map, &c);
  walk(&token, &c);
  if (test_can(CAP_RO_ANON)) {
    walk(&dup, &c);
    walk(&freeze, &c);
  }
  return 0;
}

/* ---- processes */

typedef struct spawn_ctx {
  shmkit_region *r;
  shmkit_process *p;
  size_t which; /* what shmkit_process_wait_any reports */
} spawn_ctx;

static void spawn_setup(void *p) {
  spawn_ctx *c = p;
  c->p = NULL;
  c->which = 7;
  ASSERT_OK(shmkit_region_create(&c->r, 4096, 0));
}

static int spawn_call(void *p) {
  spawn_ctx *c = p;
  const char *argv[] = {test_self_path(), "--child", "exit_with", "3", NULL};
  shmkit_spawn_options o = {0};

  o.file = test_self_path();
  o.argv = argv;
  o.regions = &c->r;
  o.region_count = 1;
  o.flags = SHMKIT_SPAWN_CLOSE_OTHERS;
  return shmkit_spawn(&c->p, &o);
}

/* A child that was started, whatever the call under test said of it, ran
 * and exited with 3. */
static void spawn_release(void *p) {
  spawn_ctx *c = p;
  int code = -1, sig = -1;

  if (c->p != NULL) {
    ASSERT_OK(shmkit_process_wait(c->p, 60000, &code, &sig));
    ASSERT_EQ(code, 3);
    ASSERT_EQ(sig, 0);
    shmkit_process_close(c->p);
  }
  shmkit_region_close(c->r);
}

static const int spawn_errors[] = {SHMKIT_ENOENT,
                                   SHMKIT_EACCES,
                                   SHMKIT_ENOEXEC,
                                   SHMKIT_EINVAL,
                                   SHMKIT_ENOTSUP,
                                   SHMKIT_EAGAIN,
                                   0};

/* A child that has been started and is left to end by itself. */
static void started_setup(void *p) {
  spawn_setup(p);
  ASSERT_OK(spawn_call(p));
}

static int wait_any_call(void *p) {
  spawn_ctx *c = p;
  return shmkit_process_wait_any(&c->p, 1, 60000, &c->which);
}

static void waited(void *p, int err) {
  spawn_ctx *c = p;
  if (err == 0) ASSERT_EQ(c->which, 0);
}

static const int wait_any_errors[] = {SHMKIT_EINVAL, SHMKIT_ETIMEDOUT, 0};

TEST_IMPL(fault_spawn) {
  spawn_ctx c = {0};
  fault_case fc = {"shmkit_spawn", spawn_setup,  spawn_call, NULL,
                   spawn_release,  spawn_errors, {&c.p}};
  /* wait_any reads c.p, it does not fill it */
  fault_case any = {"shmkit_process_wait_any",
                    started_setup,
                    wait_any_call,
                    waited,
                    spawn_release,
                    wait_any_errors,
                    {NULL}};

  walk(&fc, &c);
  walk(&any, &c);
  return 0;
}

/* ---- connections */

/* The calls of two connections' lives, each made on what the ones before
 * it in its life made: a pair's (PAIR to RECV) and an endpoint's (LISTEN
 * to ACCEPT). A case fails the call `at` with the ones before it done. */
enum { PAIR, REGION, SEND, RECV, LISTEN, CONNECT, ACCEPT };

typedef struct conn_ctx {
  int at;
  shmkit_conn *a, *b, *l;
  shmkit_region *r;
  shmkit_msg m;
  char buf[64], name[32];
} conn_ctx;

static int conn_step(conn_ctx *c, int step) {
  switch (step) {
  case PAIR:
    return shmkit_conn_pair(&c->a, &c->b);
  case REGION:
    return shmkit_region_create(&c->r, 8192, 0);
  case SEND:
    return shmkit_conn_send(c->a, "hi", 3, &c->r, 1, 5000);
  case RECV:
    return shmkit_conn_recv(c->b, &c->m, 5000);
  case LISTEN:
    return shmkit_listen(&c->l, c->name);
  case CONNECT:
    return shmkit_connect(&c->a, c->name, 5000);
  default:
    return shmkit_accept(&c->b, c->l, 0);
  }
}

static void conn_setup(void *p) {
  conn_ctx *c = p;
  int step = c->at < LISTEN ? PAIR : LISTEN;

  c->a = c->b = c->l = NULL;
  c->r = NULL;
  memset(&c->m, 0, sizeof(c->m));
  c->m.data = c->buf;
  c->m.capacity = sizeof(c->buf);
  test_name(c->name, "fault");
  for (; step < c->at; step++) ASSERT_OK(conn_step(c, step));
}

static int conn_call(void *p) {
  conn_ctx *c = p;
  return conn_step(c, c->at);
}

static void conn_release(void *p) {
  conn_ctx *c = p;
  shmkit_msg_close(&c->m);
  shmkit_region_close(c->r);
  shmkit_conn_close(c->a);
  shmkit_conn_close(c->b);
  shmkit_conn_close(c->l);
}

static void paired(void *p, int err) {
  conn_ctx *c = p;
  if (err != 0) return;
  ASSERT_OK(shmkit_conn_send(c->a, NULL, 0, NULL, 0, -1));
  ASSERT_OK(shmkit_conn_recv(c->b, &c->m, -1));
}

/* What was sent arrives; what failed to be sent does not. */
static void sent(void *p, int err) {
  conn_ctx *c = p;
  if (err == 0) {
    ASSERT_OK(shmkit_conn_recv(c->b, &c->m, 5000));
    ASSERT_EQ(c->m.count, 1);
  } else {
    ASSERT_ERR(shmkit_conn_recv(c->b, &c->m, 0), SHMKIT_ETIMEDOUT);
  }
}

/* "On failure msg->count is 0." */
static void received(void *p, int err) {
  conn_ctx *c = p;
  if (err != 0) {
    ASSERT_EQ(c->m.count, 0);
    return;
  }
  ASSERT_EQ(c->m.count, 1);
  ASSERT_EQ(shmkit_region_size(c->m.regions[0]), 8192);
}

static const int pair_errors[] = {SHMKIT_EINVAL, 0};
static const int send_errors[] = {SHMKIT_E2BIG, SHMKIT_EINVAL, SHMKIT_ECLOSED,
                                  SHMKIT_ETIMEDOUT, 0};
static const int recv_errors[] = {SHMKIT_EPROTO,    SHMKIT_ENOTSHM,
                                  SHMKIT_EACCES,    SHMKIT_ETOOSMALL,
                                  SHMKIT_E2BIG,     SHMKIT_ECLOSED,
                                  SHMKIT_EPERM,     SHMKIT_EINVAL,
                                  SHMKIT_ETIMEDOUT, 0};

TEST_IMPL(fault_conn_messages) {
  conn_ctx c = {0};
  fault_case pair = {"shmkit_conn_pair", conn_setup,  conn_call,   paired,
                     conn_release,       pair_errors, {&c.a, &c.b}};
  fault_case send = {"shmkit_conn_send", conn_setup,  conn_call, sent,
                     conn_release,       send_errors, {NULL}};
  fault_case recv = {"shmkit_conn_recv", conn_setup,  conn_call, received,
                     conn_release,       recv_errors, {NULL}};

  c.at = PAIR;
  walk(&pair, &c);
  c.at = SEND;
  walk(&send, &c);
  c.at = RECV;
  walk(&recv, &c);
  return 0;
}

static void listened(void *p, int err) {
  conn_ctx *c = p;
  if (err == 0) {
    ASSERT_OK(shmkit_connect(&c->a, c->name, 5000));
    ASSERT_OK(shmkit_accept(&c->b, c->l, 5000));
  }
  shmkit_conn_close(c->l);
  /* Nothing of a failed listen stays in the way of the next one. */
  ASSERT_OK(shmkit_listen(&c->l, c->name));
}

static void connected(void *p, int err) {
  conn_ctx *c = p;
  if (err == 0) ASSERT_OK(shmkit_accept(&c->b, c->l, 5000));
}

static const int listen_errors[] = {SHMKIT_ENAME, SHMKIT_EEXIST, SHMKIT_EACCES,
                                    SHMKIT_ENOSPC, 0};
static const int connect_errors[] = {SHMKIT_ENAME,  SHMKIT_ENOENT,
                                     SHMKIT_EACCES, SHMKIT_ETIMEDOUT,
                                     SHMKIT_ENOSPC, 0};
static const int accept_errors[] = {SHMKIT_ETIMEDOUT, SHMKIT_EINVAL, 0};

TEST_IMPL(fault_conn_endpoints) {
  conn_ctx c = {0};
  fault_case listen = {"shmkit_listen", conn_setup,    conn_call, listened,
                       conn_release,    listen_errors, {&c.l}};
  fault_case connect = {"shmkit_connect", conn_setup,     conn_call, connected,
                        conn_release,     connect_errors, {&c.a}};
  fault_case accept = {"shmkit_accept", conn_setup,    conn_call, NULL,
                       conn_release,    accept_errors, {&c.b}};

  c.at = LISTEN;
  walk(&listen, &c);
  c.at = CONNECT;
  walk(&connect, &c);
  c.at = ACCEPT;
  walk(&accept, &c);
  return 0;
}
