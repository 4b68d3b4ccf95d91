/* shmkit_spawn: the child inherits exactly the listed regions, finds them
 * through tokens on its command line or in its environment, and the process
 * object waits, kills and reports. */
#include <stdatomic.h>
#include <stdlib.h>

#include "task.h"

#define ENV_TOKEN "SHMKIT_TEST_REGION"

/* Starts `--child NAME args...` through shmkit_spawn. */
static shmkit_process *spawn_child(const char *child, const char *const *args,
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

static void token_of(shmkit_region *r, char buf[SHMKIT_TOKEN_MAX]) {
  ASSERT(shmkit_region_token(r, buf, SHMKIT_TOKEN_MAX) > 0);
}

/* 1 if the handle list "0 1 2 7 " has `h`. */
static int has(const char *list, shmkit_handle h) {
  char item[32];
  size_t n = (size_t)snprintf(item, sizeof(item), "%lld ", (long long)h);
  for (const char *p = list; *p != '\0'; p = strchr(p, ' ') + 1)
    if (strncmp(p, item, n) == 0) return 1;
  return 0;
}

static int count(const char *list) {
  int n = 0;
  for (; *list != '\0'; list++) n += *list == ' ';
  return n;
}

/* A report region: the child writes text into it; the parent reads it. */
static char *report(shmkit_region *r, shmkit_view **v) {
  ASSERT_OK(shmkit_view_map(v, r, 0, 4096, SHMKIT_READ_WRITE));
  return shmkit_view_data(*v);
}

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
  ASSERT(has(list, shmkit_region_handle(a)));
  ASSERT(has(list, shmkit_region_handle(b)));
  ASSERT(has(list, shmkit_region_handle(rep)));
  ASSERT(!has(list, shmkit_region_handle(c)));
  /* Documented: on POSIX, like any exec, what the program left inheritable
   * goes too; on Windows the handle list keeps it out. */
  ASSERT_EQ(has(list, leaky[0]), test_can(CAP_LEAKY_INHERIT));
  ASSERT_EQ(has(list, leaky[1]), test_can(CAP_LEAKY_INHERIT));
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
  if (!(has(list, shmkit_region_handle(b)) &&
        has(list, shmkit_region_handle(rep)) && !has(list, leaky[0]) &&
        !has(list, shmkit_region_handle(a)) &&
        (!test_can(CAP_EXACT_HANDLES) ||
         (has(list, 0) && has(list, 1) && has(list, 2) && count(list) == 5))))
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
  ASSERT(!has(test_list_handles((char[1024]){0}, 1024), h));
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
  ASSERT_OK(shmkit_region_dup_readonly(r, &ro));
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

/* Runs `--child NAME TOKEN` with the given environment and directory; the
 * child writes its answer into a region, which is compared with `want`. */
static void child_reports(const char *name, const char *const *env,
                          const char *const *env_set, const char *cwd,
                          const char *want) {
  shmkit_region *rep;
  shmkit_view *v;
  shmkit_spawn_options o;
  shmkit_process *p;
  char tok[SHMKIT_TOKEN_MAX];
  const char *argv[] = {test_self_path(), "--child", name, tok, NULL};

  ASSERT_OK(shmkit_region_create(&rep, 4096, 0));
  token_of(rep, tok);
  memset(&o, 0, sizeof(o));
  o.file = test_self_path();
  o.argv = argv;
  o.env = env;
  o.env_set = env_set;
  o.cwd = cwd;
  o.regions = &rep;
  o.region_count = 1;
  ASSERT_OK(shmkit_spawn(&p, &o));
  reap_ok(p);
  ASSERT_STR_EQ(report(rep, &v), want);
  shmkit_view_unmap(v);
  shmkit_region_close(rep);
}

static void env_case(const char *const *env, const char *const *env_set,
                     const char *want) {
  child_reports("env_report", env, env_set, NULL, want);
}

TEST_IMPL(spawn_environment) {
  ASSERT_EQ(test_setenv("SHMKIT_T_A", "inherited"), 0);
  ASSERT_EQ(test_setenv("SHMKIT_T_GONE", "x"), 0);
  /* Inherit. */
  env_case(NULL, NULL, "A=inherited B=- GONE=x D=-");
  /* Replace. */
  {
    const char *env[] = {"SHMKIT_T_B=only", NULL};
    env_case(env, NULL, "A=- B=only GONE=- D=-");
  }
  /* Add, override, remove; the last change of a name wins. */
  {
    const char *set[] = {"SHMKIT_T_A=over",  "SHMKIT_T_B=new", "SHMKIT_T_GONE",
                         "SHMKIT_T_D=first", "SHMKIT_T_D=",    NULL};
    env_case(NULL, set, "A=over B=new GONE=- D=");
  }
  {
    const char *env[] = {"SHMKIT_T_D=1", NULL};
    const char *set[] = {"SHMKIT_T_D", "SHMKIT_T_D=again", NULL};
    env_case(env, set, "A=- B=- GONE=- D=again");
  }
  /* In env too, the last entry of a name counts. */
  {
    const char *env[] = {"SHMKIT_T_B=1", "SHMKIT_T_D=x", "SHMKIT_T_B=2", NULL};
    env_case(env, NULL, "A=- B=2 GONE=- D=x");
  }
  return 0;
}

CHILD_IMPL(env_report) {
  static const char *const names[] = {"A", "B", "GONE", "D"};
  shmkit_region *r;
  shmkit_view *v;
  char *out;
  size_t n = 0;

  ASSERT_EQ(argc, 1);
  ASSERT_OK(shmkit_region_from_token(&r, argv[0]));
  out = report(r, &v);
  for (size_t i = 0; i < 4; i++) {
    char var[32];
    const char *val;
    snprintf(var, sizeof(var), "SHMKIT_T_%s", names[i]);
    val = getenv(var);
    n += (size_t)snprintf(out + n, 4096 - n, "%s%s=%s", i ? " " : "", names[i],
                          val != NULL ? val : "-");
  }
  shmkit_view_unmap(v);
  shmkit_region_close(r);
  return 0;
}

TEST_IMPL(spawn_cwd_and_path) {
  shmkit_spawn_options o;
  shmkit_process *p;
  char dir[4096];
  const char *const *sh = test_shell_exit7();
  int code, sig;

  test_temp_dir(dir, sizeof(dir));
  child_reports("cwd_report", NULL, NULL, dir, dir);
  test_remove(dir);

  /* PATH search finds the shell; without it, its bare name is a path that
   * does not exist here. */
  memset(&o, 0, sizeof(o));
  o.file = sh[0];
  o.argv = sh;
  o.flags = SHMKIT_SPAWN_SEARCH_PATH;
  ASSERT_OK(shmkit_spawn(&p, &o));
  ASSERT_OK(shmkit_process_wait(p, 30000, &code, &sig));
  ASSERT_EQ(code, 7);
  ASSERT_EQ(sig, 0);
  shmkit_process_close(p);
  o.flags = 0;
  ASSERT_ERR(shmkit_spawn(&p, &o), SHMKIT_ENOENT);
  return 0;
}

CHILD_IMPL(cwd_report) {
  shmkit_region *r;
  shmkit_view *v;

  ASSERT_EQ(argc, 1);
  ASSERT_OK(shmkit_region_from_token(&r, argv[0]));
  test_getcwd(report(r, &v), 4096);
  shmkit_view_unmap(v);
  shmkit_region_close(r);
  return 0;
}

TEST_IMPL(process_wait_kill) {
  const char *args[] = {NULL};
  shmkit_process *p;
  int code = -1, sig = -1;

  p = spawn_child("sleep", args, NULL, 0, 0, NULL);
  ASSERT_ERR(shmkit_process_wait(p, 0, &code, &sig), SHMKIT_ETIMEDOUT);
  ASSERT_ERR(shmkit_process_wait(p, 50, &code, &sig), SHMKIT_ETIMEDOUT);
  ASSERT_EQ(code, -1); /* untouched while it runs */
  ASSERT_ERR(shmkit_process_wait(p, -2, &code, &sig), SHMKIT_EINVAL);
  ASSERT_OK(shmkit_process_kill(p));
  ASSERT_OK(shmkit_process_wait(p, -1, &code, &sig));
  ASSERT_EQ(sig, test_kill_signal());
  ASSERT_EQ(code, test_kill_exit_code());
  /* Ended: the same answer again, and kill is a no-op. */
  code = sig = -1;
  ASSERT_OK(shmkit_process_wait(p, 0, &code, &sig));
  ASSERT_EQ(sig, test_kill_signal());
  ASSERT_OK(shmkit_process_kill(p));
  ASSERT_OK(shmkit_process_wait(p, 0, NULL, NULL));
  shmkit_process_close(p);
  shmkit_process_close(NULL);
  ASSERT_ERR(shmkit_process_kill(NULL), SHMKIT_EINVAL);
  ASSERT_ERR(shmkit_process_wait(NULL, 0, NULL, NULL), SHMKIT_EINVAL);
  return 0;
}

CHILD_IMPL(sleep) {
  (void)argc;
  (void)argv;
  test_sleep_ms(60000);
  return 0;
}

TEST_IMPL(process_exit_status) {
  const char *args42[] = {"42", NULL};
  shmkit_process *p;
  int code = -1, sig = -1;

  p = spawn_child("exit_with", args42, NULL, 0, 0, NULL);
  ASSERT_OK(shmkit_process_wait(p, 30000, &code, &sig));
  ASSERT_EQ(code, 42);
  ASSERT_EQ(sig, 0);
  shmkit_process_close(p);
  /* Ended by a signal it sent itself (POSIX) or its own exit code 3. */
  p = spawn_child("die", NULL, NULL, 0, 0, NULL);
  ASSERT_OK(shmkit_process_wait(p, 30000, &code, &sig));
  test_check_died(code, sig);
  shmkit_process_close(p);
  return 0;
}

CHILD_IMPL(exit_with) {
  ASSERT_EQ(argc, 1);
  return atoi(argv[0]);
}

CHILD_IMPL(die) {
  (void)argc;
  (void)argv;
  test_die();
  return 0;
}

/* 1,000 spawns (250 under Wine), each child checking it got exactly the listed
 * handles, and the parent's handle count the same at the end. */
TEST_IMPL(spawn_leak_cycles) {
  shmkit_region *r[2];
  char t0[SHMKIT_TOKEN_MAX], t1[SHMKIT_TOKEN_MAX];
  const char *args[] = {t0, t1, NULL};
  int before, maps;
  long rss;

  ASSERT_OK(shmkit_region_create(&r[0], 4096, 0));
  ASSERT_OK(shmkit_region_create(&r[1], 4096, 0));
  token_of(r[0], t0);
  token_of(r[1], t1);
  /* One spawn first: what the C library sets up at its first spawn is no
   * leak of the thousandth. */
  reap_ok(spawn_child("exact_handles", args, r, 2, SHMKIT_SPAWN_CLOSE_OTHERS,
                      NULL));
  before = test_open_handles();
  maps = test_mapping_count(0);
  rss = test_rss_kb();
  for (int i = 0; i < test_spawn_cycles(); i++) {
    shmkit_process *p = spawn_child("exact_handles", args, r, 2,
                                    SHMKIT_SPAWN_CLOSE_OTHERS, NULL);
    reap_ok(p);
  }
  ASSERT_EQ(test_open_handles(), before);
  printf("mappings %d -> %d, resident %ld -> %ld KiB\n", maps,
         test_mapping_count(0), rss, test_rss_kb());
  /* A sanitizer's allocator maps and keeps memory of its own (test-soak.c
   * says how); elsewhere the counts come back, resident memory within what
   * the allocator keeps for reuse. */
  if (!SHMKIT_TEST_SANITIZED) {
    ASSERT_EQ(test_mapping_count(0), maps);
    if (rss >= 0) ASSERT(test_rss_kb() - rss < 4096);
  }
  shmkit_region_close(r[0]);
  shmkit_region_close(r[1]);
  return 0;
}

CHILD_IMPL(exact_handles) {
  char list[1024];
  shmkit_region *r;

  ASSERT_EQ(argc, 2);
  test_list_handles(list, sizeof(list));
  if (test_can(CAP_EXACT_HANDLES) && count(list) != 5)
    FAIL("child's handles: %s", list);
  for (int i = 0; i < 2; i++) {
    ASSERT_OK(shmkit_region_from_token(&r, argv[i]));
    ASSERT(has(list, shmkit_region_handle(r)));
    shmkit_region_close(r);
  }
  if (test_can(CAP_EXACT_HANDLES)) ASSERT_EQ(test_open_handles(), 3);
  return 0;
}
