/* shmkit_spawn: the child inherits exactly the listed regions, finds them
 * through tokens on its command line or in its environment, and the process
 * object waits, kills and reports. */
#include <stdatomic.h>
#include <stdlib.h>

#include "task.h"

#define ENV_TOKEN "SHMKIT_TEST_REGION"

TEST_IMPL(spawn_inherits_exactly) {
  shmkit_region *a, *b, *c, *rep;
  shmkit_view *v;
  shmkit_process *p;
  char tok[SHMKIT_TOKEN_MAX], *list;
  const char *args[] = {tok, NULL};
  int leaky[2];

  ASSERT_OK(shmkit_region_create(&a, 100, 0));
  ASSERT_OK(shmkit_region_create(&b, 100, 0));
  ASSERT_OK(shmkit_region_create(&c, 100, 0)); /* not listed */
  ASSERT_OK(shmkit_region_create(&rep, 4096, 0));
  list = report(rep, &v);
  token_of(rep, tok);
  /* A descriptor this program opened without close-on-exec. */
  ASSERT_EQ(test_make_leaky_pair(leaky), 0);
  {
    shmkit_region *listed[] = {a, b, rep};
    p = spawn_child("list_handles", args, listed, 3, 0, NULL);
    reap_ok(p);
  }
  ASSERT(handle_listed(list, shmkit_region_handle(a)));
  ASSERT(handle_listed(list, shmkit_region_handle(b)));
  ASSERT(handle_listed(list, shmkit_region_handle(rep)));
  ASSERT(!handle_listed(list, shmkit_region_handle(c)));
  /* Documented: on POSIX, like any exec, what the program left inheritable
   * goes too; on Windows the handle list keeps it out. */
  ASSERT_EQ(handle_listed(list, leaky[0]), test_can(CAP_LEAKY_INHERIT));
  ASSERT_EQ(handle_listed(list, leaky[1]), test_can(CAP_LEAKY_INHERIT));
  /* The listed handles stay close-on-exec in the parent. */
  ASSERT_EQ(test_inheritable(shmkit_region_handle(a)), 0);
  ASSERT_EQ(test_inheritable(shmkit_region_handle(rep)), 0);

  /* With SHMKIT_SPAWN_CLOSE_OTHERS: standard handles and the list only. */
  memset(list, 0, 4096);
  {
    shmkit_region *listed[] = {rep, b};
    p = spawn_child("list_handles", args, listed, 2, SHMKIT_SPAWN_CLOSE_OTHERS,
                    NULL);
    reap_ok(p);
  }
  if (!(handle_listed(list, shmkit_region_handle(b)) &&
        handle_listed(list, shmkit_region_handle(rep)) &&
        !handle_listed(list, leaky[0]) &&
        !handle_listed(list, shmkit_region_handle(a)) &&
        (!test_can(CAP_EXACT_HANDLES) ||
         (handle_listed(list, 0) && handle_listed(list, 1) &&
          handle_listed(list, 2) && handle_count(list) == 5))))
    FAIL("child's handles: \"%s\"; want 0 1 2 %lld %lld", list,
         (long long)shmkit_region_handle(b),
         (long long)shmkit_region_handle(rep));

  test_close_leaky_pair(leaky);
  shmkit_view_unmap(v);
  shmkit_region_close(a);
  shmkit_region_close(b);
  shmkit_region_close(c);
  shmkit_region_close(rep);
  return 0;
}

CHILD_IMPL(list_handles) {
  shmkit_region *r;
  shmkit_view *v;
  char list[2048];

  ASSERT_EQ(argc, 1);
  test_list_handles(list, sizeof(list)); /* before shmkit opens anything */
  ASSERT_OK(shmkit_region_from_token(&r, argv[0]));
  ASSERT_OK(shmkit_view_map(&v, r, 0, 4096, SHMKIT_READ_WRITE));
  strcpy(shmkit_view_data(v), list);
  shmkit_view_unmap(v);
  shmkit_region_close(r);
  return 0;
}

/* The page the parent and token_peer share: a flag each, and two texts
 * placed across a granularity line. */
struct page {
  _Atomic int go;   /* parent sets 1 once it closed its handle */
  _Atomic int done; /* the child sets 1 once it replied and closed */
};

static void wait_flag(_Atomic int *flag) {
  for (int i = 0; i < 30000 && atomic_load(flag) == 0; i++) test_sleep_ms(1);
  ASSERT_EQ(atomic_load(flag), 1);
}

/* The child finds the region from its command line or its
 * environment, uses it after the parent closed its own handle, and drops
 * its reference when it closes. */
static void hand_down(int via_env) {
  const size_t g = shmkit_granularity();
  shmkit_region *r;
  shmkit_view *v;
  shmkit_process *p;
  struct page *pg;
  char tok[SHMKIT_TOKEN_MAX], env[SHMKIT_TOKEN_MAX + 32];
  const char *args_argv[] = {"argv", tok, NULL};
  const char *args_env[] = {"env", NULL};
  const char *env_set[] = {env, NULL};
  char *base;

  ASSERT_OK(shmkit_region_create(&r, 3 * g, 0));
  ASSERT_OK(shmkit_view_map(&v, r, 0, 3 * g, SHMKIT_READ_WRITE));
  base = shmkit_view_data(v);
  pg = (struct page *)base;
  strcpy(base + g - 3, "from the parent");
  token_of(r, tok);
  snprintf(env, sizeof(env), ENV_TOKEN "=%s", tok);
  p = spawn_child("token_peer", via_env ? args_env : args_argv, &r, 1, 0,
                  via_env ? env_set : NULL);
  shmkit_region_close(r); /* the child's handle keeps the object */
  atomic_store(&pg->go, 1);
  wait_flag(&pg->done);
  ASSERT_STR_EQ(base + 2 * g - 2, "from the child");
  reap_ok(p);
  shmkit_view_unmap(v);
}

TEST_IMPL(spawn_token_argv) {
  hand_down(0);
  return 0;
}

TEST_IMPL(spawn_token_env) {
  hand_down(1);
  return 0;
}

CHILD_IMPL(token_peer) {
  const size_t g = shmkit_granularity();
  shmkit_region *r;
  shmkit_view *v;
  struct page *pg;
  char *base;
  shmkit_handle h;
  int before;

  ASSERT(argc >= 1);
  if (strcmp(argv[0], "env") == 0) {
    ASSERT_OK(shmkit_region_from_env(&r, ENV_TOKEN));
  } else {
    ASSERT_EQ(argc, 2);
    ASSERT_OK(shmkit_region_from_token(&r, argv[1]));
  }
  ASSERT_EQ(shmkit_region_size(r), 3 * g);
  ASSERT_EQ(shmkit_region_access(r), SHMKIT_READ_WRITE);
  ASSERT_EQ(test_inheritable(shmkit_region_handle(r)), 0); /* not passed on */
  ASSERT_OK(shmkit_view_map(&v, r, 0, 3 * g, SHMKIT_READ_WRITE));
  base = shmkit_view_data(v);
  pg = (struct page *)base;
  wait_flag(&pg->go); /* the parent has closed its handle by now */
  ASSERT_STR_EQ(base + g - 3, "from the parent");
  strcpy(base + 2 * g - 2, "from the child");
  h = shmkit_region_handle(r);
  before = test_open_handles();
  shmkit_region_close(r); /* drop our reference */
  ASSERT_EQ(test_open_handles(), before - 1);
  ASSERT(!handle_listed(test_list_handles((char[1024]){0}, 1024), h));
  atomic_store(&pg->done, 1);
  shmkit_view_unmap(v);
  return 0;
}

/* Arguments reach the child exactly as given, however they are made: on
 * Windows they travel as one command line that CreateProcessW gets (in a
 * writable copy: CreateProcessW may write into it) and the child splits
 * again. */
static const char *const tricky[] = {"",
                                     "a b",
                                     "quote\"inside",
                                     "back\\slash",
                                     "trail\\",
                                     "\\\\\"",
                                     "tab\there",
                                     "new\nline",
                                     "  lead",
                                     "\"\"",
                                     "*?<>|&^%",
                                     "a\\\\b c\\",
                                     "caf\xc3\xa9 \xe2\x82\xac",
                                     NULL};
#define TRICKY_ASCII 12 /* the first 12 are ASCII */

TEST_IMPL(spawn_argv_roundtrip) {
  shmkit_process *p;

  ASSERT_OK(spawn_runner(&p, NULL, "argv_check", tricky, NULL));
  reap_ok(p);
  return 0;
}

CHILD_IMPL(argv_check) {
  char **sys;
  int n = test_system_argv(&sys), count = 0;

  while (tricky[count] != NULL) count++;
  /* The C runtime's split (its argv is not UTF-8 on Windows: ASCII only). */
  ASSERT_EQ(argc, count);
  for (int i = 0; i < TRICKY_ASCII; i++) ASSERT_STR_EQ(argv[i], tricky[i]);
  /* The system's split, UTF-8 included. */
  ASSERT_EQ(n, count + 3);
  for (int i = 0; i < count; i++) ASSERT_STR_EQ(sys[i + 3], tricky[i]);
  return 0;
}

/* A read-only token gives a child that cannot write, however it asks. */
TEST_IMPL(spawn_readonly_token) {
  shmkit_region *r, *ro;
  shmkit_view *v;
  shmkit_process *p;
  char tok[SHMKIT_TOKEN_MAX], name[32], rw_claim[SHMKIT_TOKEN_MAX];
  const char *args[] = {tok, rw_claim, NULL};

  if (test_can(CAP_RO_ANON)) {
    ASSERT_OK(shmkit_region_create(&r, 4096, 0));
  } else {
    ASSERT_OK(shmkit_region_create_named(&r, test_name(name, "rot"), 4096, 0));
  }
  ASSERT_OK(shmkit_view_map(&v, r, 0, 4096, SHMKIT_READ_WRITE));
  strcpy(shmkit_view_data(v), "read me");
  ASSERT_OK(shmkit_region_dup_readonly(&ro, r));
  token_of(ro, tok);
  ASSERT(strstr(tok, ":r") != NULL && strstr(tok, ":rw") == NULL);
  /* The same handle, with a token that lies about its access. */
  snprintf(rw_claim, sizeof(rw_claim), "shmkit1:%lld:4096:rw",
           (long long)shmkit_region_handle(ro));
  p = spawn_child("readonly_token_peer", args, &ro, 1, 0, NULL);
  reap_ok(p);
  ASSERT_STR_EQ((char *)shmkit_view_data(v), "read me");
  if (!test_can(CAP_RO_ANON)) test_forget_name(name);
  shmkit_view_unmap(v);
  shmkit_region_close(ro);
  shmkit_region_close(r);
  return 0;
}

CHILD_IMPL(readonly_token_peer) {
  shmkit_region *r;
  shmkit_view *v;

  ASSERT_EQ(argc, 2);
  ASSERT_ERR(shmkit_region_from_token(&r, argv[1]), SHMKIT_EACCES);
  ASSERT_OK(shmkit_region_from_token(&r, argv[0]));
  ASSERT_EQ(shmkit_region_access(r), SHMKIT_READ_ONLY);
  ASSERT_ERR(shmkit_view_map(&v, r, 0, 4096, SHMKIT_READ_WRITE), SHMKIT_EACCES);
  ASSERT_OK(shmkit_view_map(&v, r, 0, 4096, SHMKIT_READ_ONLY));
  ASSERT_STR_EQ((char *)shmkit_view_data(v), "read me");
  ASSERT_EQ(test_try_map_writable(shmkit_region_handle(r), 4096), 0);
  shmkit_view_unmap(v);
  shmkit_region_close(r);
  return 0;
}

/* Tokens that lie reach a real child, which must refuse each with the
 * documented error and still be alive to say so. */
TEST_IMPL(spawn_lying_tokens) {
  shmkit_region *r;
  shmkit_process *p;
  char small[64], closed[64], pipe_tok[64], file_tok[64];
  int leaky[2];
  shmkit_handle file;
  const char *args[] = {small,    "SHMKIT_ETOOSMALL", closed,   "SHMKIT_EBADF",
                        pipe_tok, "SHMKIT_ENOTSHM",   file_tok, NULL,
                        NULL};

  ASSERT_OK(shmkit_region_create(&r, 4096, 0));
  ASSERT_EQ(test_make_leaky_pair(leaky), 0); /* the child gets these */
  file = test_make_leaky_file();
  snprintf(small, sizeof(small), "shmkit1:%lld:4097:rw",
           (long long)shmkit_region_handle(r));
  snprintf(closed, sizeof(closed), "shmkit1:%d:4096:rw", 900);
  snprintf(pipe_tok, sizeof(pipe_tok), "shmkit1:%d:1:r", leaky[0]);
  snprintf(file_tok, sizeof(file_tok), "shmkit1:%lld:1:r", (long long)file);
  /* A regular file passes the type check only where the system cannot tell
   * (the portable path: documented in shmkit_region_adopt). */
  args[7] = test_can(CAP_TYPE_CHECK) ? "SHMKIT_ENOTSHM" : "OK";
  if (!test_can(CAP_LEAKY_INHERIT)) /* Windows: unlisted, so not there */
    args[5] = args[7] = "SHMKIT_EBADF";
  p = spawn_child("expect_token_errors", args, &r, 1, 0, NULL);
  reap_ok(p);
  test_close_leaky_pair(leaky);
  test_close_handle(file);
  shmkit_region_close(r);
  return 0;
}

CHILD_IMPL(expect_token_errors) {
  static const char *const garbage[] = {"shmkit1:3:4096:rw x", "shmkit1:3",
                                        "shmkit1:99999999999999999999:1:r"};
  shmkit_region *r;

  for (int i = 0; i + 1 < argc; i += 2) {
    int err = shmkit_region_from_token(&r, argv[i]);
    const char *got = err == 0 ? "OK" : shmkit_err_name(err);
    if (strcmp(got, argv[i + 1]) != 0)
      FAIL("token \"%s\": got %s, want %s", argv[i], got, argv[i + 1]);
    if (err == 0) shmkit_region_close(r);
  }
  for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++)
    ASSERT_ERR(shmkit_region_from_token(&r, garbage[i]), SHMKIT_ETOKEN);
  return 0;
}

/* Spawn failures are errors from shmkit_spawn, never an exit status. */
TEST_IMPL(spawn_errors) {
  shmkit_spawn_options o;
  shmkit_process *p = (shmkit_process *)&p;
  shmkit_region *null_region = NULL;
  const char *bad_env[] = {"=x", NULL};
  const char *const bad_base[] = {"", "SHMKIT_T_A", "=x"};
  const char *exit0[] = {test_self_path(), "--child", "exit_with", "0", NULL};
  char path[4200];
  int before = test_open_handles();

  memset(&o, 0, sizeof(o));
  ASSERT_ERR(shmkit_spawn(&p, NULL), SHMKIT_EINVAL);
  ASSERT_NULL(p);
  ASSERT_ERR(shmkit_spawn(NULL, &o), SHMKIT_EINVAL);
  ASSERT_ERR(shmkit_spawn(&p, &o), SHMKIT_EINVAL); /* no file */
  o.file = test_self_path();
  o.flags = 0x100;
  ASSERT_ERR(shmkit_spawn(&p, &o), SHMKIT_EINVAL);
  o.flags = 0;
  o.env_set = bad_env;
  ASSERT_ERR(shmkit_spawn(&p, &o), SHMKIT_EINVAL);
  o.env_set = NULL;
  /* env entries are NAME=value: not empty, not a name alone. (A child
   * that starts all the same only exits.) */
  o.argv = exit0;
  for (size_t i = 0; i < sizeof(bad_base) / sizeof(bad_base[0]); i++) {
    const char *env[] = {"SHMKIT_T_A=1", bad_base[i], NULL};
    o.env = env;
    ASSERT_ERR(shmkit_spawn(&p, &o), SHMKIT_EINVAL);
  }
  o.env = NULL;
  o.argv = NULL;
  o.regions = &null_region;
  o.region_count = 1;
  ASSERT_ERR(shmkit_spawn(&p, &o), SHMKIT_EINVAL);
  o.regions = NULL;
  ASSERT_ERR(shmkit_spawn(&p, &o), SHMKIT_EINVAL);
  o.region_count = 0;

  o.file = "/nonexistent/shmkit-no-such-program";
  ASSERT_ERR(shmkit_spawn(&p, &o), SHMKIT_ENOENT);
  ASSERT_NULL(p);
  /* A PATH of one empty directory of ours: a PATH with a directory this
   * user may not search (root's, seen by a user that kept it) makes the
   * search fail with EACCES, as execvp does. */
  test_temp_dir(path, sizeof(path));
  ASSERT_EQ(test_setenv("PATH", path), 0);
  o.file = "shmkit-no-such-program-anywhere";
  o.flags = SHMKIT_SPAWN_SEARCH_PATH;
  ASSERT_ERR(shmkit_spawn(&p, &o), SHMKIT_ENOENT);
  o.flags = 0;
  test_remove(path);
  if (test_can(CAP_EXEC_BIT)) {
    o.file = test_make_file(path, sizeof(path), "noexec", "#!/bin/sh\n", 0);
    ASSERT_ERR(shmkit_spawn(&p, &o), SHMKIT_EACCES);
    test_remove(path);
  }
  o.file = test_make_file(path, sizeof(path), "garbage",
                          "\x01\x02 this is no program\n", 1);
  ASSERT_ERR(shmkit_spawn(&p, &o), SHMKIT_ENOEXEC);
  test_remove(path);
  test_temp_dir(path, sizeof(path));
  o.file = path; /* a directory: POSIX says EACCES; Wine its own code */
  if (test_can(CAP_EXEC_BIT))
    ASSERT_ERR(shmkit_spawn(&p, &o), SHMKIT_EACCES);
  else
    ASSERT(shmkit_spawn(&p, &o) < 0);
  ASSERT_NULL(p);
  test_remove(path);
  o.file = test_self_path();
  o.cwd = "/nonexistent/shmkit-no-such-dir";
  ASSERT_ERR(shmkit_spawn(&p, &o), SHMKIT_ENOENT);
  ASSERT_NULL(p);
  ASSERT_EQ(test_open_handles(), before);
  return 0;
}
