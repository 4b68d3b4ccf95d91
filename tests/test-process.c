/* What a started child sees of its environment and directory, and the
 * process object: waiting, killing, exit statuses, and spawns by the
 * thousand without a handle or mapping left behind. */
#include <stdlib.h>

#include "task.h"

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
  const char *cargs[] = {tok, NULL};

  ASSERT_OK(shmkit_region_create(&rep, 4096, 0));
  token_of(rep, tok);
  memset(&o, 0, sizeof(o));
  o.env = env;
  o.env_set = env_set;
  o.cwd = cwd;
  o.regions = &rep;
  o.region_count = 1;
  ASSERT_OK(spawn_runner(&p, NULL, name, cargs, &o));
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

  r = child_region(argc, argv, 1);
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

  r = child_region(argc, argv, 1);
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
  ASSERT_NE(code, 0); /* a killed process never reads as a success */
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

/* A crash, read by a caller that looks at the exit code alone (the signal
 * pointer NULL, as allowed), is never 0, the code of success. */
TEST_IMPL(process_crash_not_success) {
  shmkit_process *p;
  int code = 0, sig = -1;

  p = spawn_child("crash", NULL, NULL, 0, 0, NULL);
  ASSERT_OK(shmkit_process_wait(p, 30000, &code, NULL));
  ASSERT_NE(code, 0);
  ASSERT_EQ(code, test_crash_exit_code());
  code = 0;
  ASSERT_OK(shmkit_process_wait(p, 0, &code, &sig));
  ASSERT_EQ(code, test_crash_exit_code());
  ASSERT_EQ(sig, test_crash_signal());
  shmkit_process_close(p);
  /* A signal it sent itself (test_die), too. */
  p = spawn_child("die", NULL, NULL, 0, 0, NULL);
  code = 0;
  ASSERT_OK(shmkit_process_wait(p, 30000, &code, NULL));
  ASSERT_NE(code, 0);
  shmkit_process_close(p);
  return 0;
}

CHILD_IMPL(crash) {
  (void)argc;
  (void)argv;
  test_crash();
  return 0; /* not reached: the parent sees exit code 0, its failure */
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
  if (test_can(CAP_EXACT_HANDLES) && handle_count(list) != 5)
    FAIL("child's handles: %s", list);
  for (int i = 0; i < 2; i++) {
    ASSERT_OK(shmkit_region_from_token(&r, argv[i]));
    ASSERT(handle_listed(list, shmkit_region_handle(r)));
    shmkit_region_close(r);
  }
  if (test_can(CAP_EXACT_HANDLES)) ASSERT_EQ(test_open_handles(), 3);
  return 0;
}
