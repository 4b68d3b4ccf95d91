/* Helpers the tests share (task.h): spawning the runner through shmkit,
 * receiving messages, regions that hold a text. Only shmkit's public API
 * and the runner, so that every platform's tests use the same ones. */
#include "task.h"

int spawn_runner(shmkit_process **p, const char *arg0, const char *child,
                 const char *const *args, const shmkit_spawn_options *o) {
  const char *argv[64];
  shmkit_spawn_options opts;
  int argc = 0;

  argv[argc++] = arg0 != NULL ? arg0 : test_self_path();
  argv[argc++] = "--child";
  argv[argc++] = child;
  while (args != NULL && *args != NULL) {
    /* A test that passes more is wrong, not unlucky: say so. */
    ASSERT(argc < 63);
    argv[argc++] = *args++;
  }
  argv[argc] = NULL;
  if (o != NULL)
    opts = *o;
  else
    memset(&opts, 0, sizeof(opts));
  opts.file = test_self_path();
  opts.argv = argv;
  return shmkit_spawn(p, &opts);
}

void reap_ok(shmkit_process *p) {
  int code = -1, sig = -1;

  ASSERT_OK(shmkit_process_wait(p, 60000, &code, &sig));
  ASSERT_EQ(sig, 0);
  ASSERT_EQ(code, 0);
  shmkit_process_close(p);
}

shmkit_conn *test_conn_child_args(const char *child, shmkit_region *region,
                                  const char *const *args, shmkit_process **p) {
  shmkit_conn *a, *b;
  shmkit_spawn_options o;
  char tok[SHMKIT_TOKEN_MAX], rtok[SHMKIT_TOKEN_MAX];
  const char *all[32];
  int n = 0;

  ASSERT_OK(shmkit_conn_pair(&a, &b));
  ASSERT_OK(shmkit_conn_token(b, tok, sizeof(tok)));
  memset(&o, 0, sizeof(o));
  o.conns = &b;
  o.conn_count = 1;
  all[n++] = tok;
  if (region != NULL) {
    ASSERT_OK(shmkit_region_token(region, rtok, sizeof(rtok)));
    all[n++] = rtok;
    o.regions = &region;
    o.region_count = 1;
  }
  while (args != NULL && *args != NULL) {
    ASSERT(n < 31);
    all[n++] = *args++;
  }
  all[n] = NULL;
  ASSERT_OK(spawn_runner(p, NULL, child, all, &o));
  shmkit_conn_close(b);
  return a;
}

shmkit_conn *test_conn_child(const char *child, shmkit_region *region,
                             shmkit_process **p) {
  return test_conn_child_args(child, region, NULL, p);
}

shmkit_conn *child_conn(int argc, char **argv) {
  shmkit_conn *c;

  ASSERT_EQ(argc, 1);
  ASSERT_OK(shmkit_conn_from_token(&c, argv[0]));
  return c;
}

int recv_msg(shmkit_conn *c, shmkit_msg *m, void *buf, size_t size,
             int timeout_ms) {
  shmkit_msg ready = SHMKIT_MSG_INIT(buf, size);

  *m = ready;
  return shmkit_conn_recv(c, m, timeout_ms);
}

void expect_message(shmkit_conn *c, const char *text) {
  char buf[256];
  shmkit_msg m;

  ASSERT_OK(recv_msg(c, &m, buf, sizeof(buf), 30000));
  ASSERT_EQ(m.count, 0);
  ASSERT_EQ(m.size, strlen(text) + 1);
  ASSERT_STR_EQ(buf, text);
}

void close_msg(shmkit_msg *m) {
  shmkit_msg_close(m);
}

shmkit_region *region_sized_with(const char *text, uint64_t size) {
  shmkit_region *r;
  shmkit_view *v;

  ASSERT(strlen(text) < size);
  ASSERT_OK(shmkit_region_create(&r, size, 0));
  ASSERT_OK(shmkit_view_map(&v, r, 0, (size_t)size, SHMKIT_READ_WRITE));
  strcpy(shmkit_view_data(v), text);
  shmkit_view_unmap(v);
  return r;
}

shmkit_region *region_with(const char *text) {
  return region_sized_with(text, 4096);
}

unsigned seals_of(const shmkit_region *r) {
  unsigned seals;

  ASSERT_OK(shmkit_region_seals(r, &seals));
  return seals;
}

void write_text(shmkit_region *r, const char *text) {
  shmkit_view *v;

  ASSERT_OK(shmkit_view_map(&v, r, 0, strlen(text) + 1, SHMKIT_READ_WRITE));
  strcpy(shmkit_view_data(v), text);
  shmkit_view_unmap(v);
}

void expect_text(shmkit_region *r, const char *text) {
  shmkit_view *v;

  ASSERT_OK(shmkit_view_map(&v, r, 0, strlen(text) + 1, SHMKIT_READ_ONLY));
  /* Within the view only: the region may say more after it. */
  if (memcmp(shmkit_view_data(v), text, strlen(text) + 1) != 0)
    FAIL("the region does not start with \"%s\"", text);
  shmkit_view_unmap(v);
}

char *text_of(shmkit_region *r, shmkit_view **v) {
  ASSERT_OK(shmkit_view_map(v, r, 0, (size_t)shmkit_region_size(r),
                            SHMKIT_READ_ONLY));
  return shmkit_view_data(*v);
}

/* Starts `--child NAME args...` through shmkit_spawn. */
shmkit_process *spawn_child(const char *child, const char *const *args,
                            shmkit_region *const *regions, size_t n,
                            unsigned flags, const char *const *env_set) {
  shmkit_spawn_options o;
  shmkit_process *p;

  memset(&o, 0, sizeof(o));
  o.env_set = env_set;
  o.regions = regions;
  o.region_count = n;
  o.flags = flags;
  ASSERT_OK(spawn_runner(&p, NULL, child, args, &o));
  ASSERT(shmkit_process_pid(p) > 0);
  return p;
}

void token_of(shmkit_region *r, char buf[SHMKIT_TOKEN_MAX]) {
  ASSERT_OK(shmkit_region_token(r, buf, SHMKIT_TOKEN_MAX));
}

shmkit_region *child_region(int argc, char **argv, int want) {
  shmkit_region *r;

  ASSERT_EQ(argc, want);
  ASSERT_OK(shmkit_region_from_token(&r, argv[0]));
  return r;
}

/* 1 if the handle list "0 1 2 7 " has `h`. */
int handle_listed(const char *list, shmkit_handle h) {
  char item[32];
  size_t n = (size_t)snprintf(item, sizeof(item), "%lld ", (long long)h);
  for (const char *p = list; *p != '\0'; p = strchr(p, ' ') + 1)
    if (strncmp(p, item, n) == 0) return 1;
  return 0;
}

int handle_count(const char *list) {
  int n = 0;
  for (; *list != '\0'; list++) n += *list == ' ';
  return n;
}

/* A report region: the child writes text into it; the parent reads it. */
char *report(shmkit_region *r, shmkit_view **v) {
  ASSERT_OK(shmkit_view_map(v, r, 0, 4096, SHMKIT_READ_WRITE));
  return shmkit_view_data(*v);
}

/* Receives the next message and returns what the receive did. If one
 * arrives, it must say `payload` and carry one region that says `text`
 * (text NULL: no message was expected), and its region is closed. */
int recv_one(shmkit_conn *c, const char *payload, const char *text) {
  char buf[64];
  shmkit_msg m;
  shmkit_view *v;
  int err;

  if ((err = recv_msg(c, &m, buf, sizeof(buf), 30000)) != 0) {
    ASSERT_EQ(m.count, 0);
    return err;
  }
  if (text == NULL) FAIL("a message, \"%s\", where none was expected", buf);
  ASSERT_STR_EQ(buf, payload);
  ASSERT_EQ(m.count, 1);
  ASSERT_STR_EQ(text_of(m.regions[0], &v), text);
  shmkit_view_unmap(v);
  close_msg(&m);
  return 0;
}

void leak_failures_named(const char *name, shmkit_region **r,
                         shmkit_region **ro) {
  shmkit_region *x;
  shmkit_view *v;
  int n = test_open_handles();

#define SAME() ASSERT_EQ(test_open_handles(), n)
  ASSERT_ERR(shmkit_region_create_named(&x, "bad/name", 1, 0), SHMKIT_ENAME);
  ASSERT_ERR(shmkit_region_open(&x, name, SHMKIT_READ_WRITE), SHMKIT_ENOENT);
  SAME();
  ASSERT_OK(shmkit_region_create_named(r, name, 4096, 0));
  n = test_open_handles();
  ASSERT_ERR(shmkit_region_create_named(&x, name, 4096, 0), SHMKIT_EEXIST);
  SAME();
  ASSERT_ERR(shmkit_view_map(&v, *r, 4096, 1, SHMKIT_READ_WRITE),
             SHMKIT_ERANGE);
  SAME();
  ASSERT_OK(shmkit_region_open(ro, name, SHMKIT_READ_ONLY));
  n = test_open_handles();
  ASSERT_ERR(shmkit_view_map(&v, *ro, 0, 1, SHMKIT_READ_WRITE), SHMKIT_EACCES);
  SAME();
  ASSERT_ERR(shmkit_region_seal(*ro, SHMKIT_SEAL_GROW), SHMKIT_EACCES);
  SAME();
#undef SAME
}
