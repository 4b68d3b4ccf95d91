/* The whole system, end to end: a parent creates shared memory without a
 * file, writes a message in it, and starts itself as a child that inherits
 * the region and is told where it is by a token, first on its command line,
 * then in an environment variable. The child maps the region, reads the
 * message, writes a reply, closes its handle and exits; the parent prints
 * both.
 *
 *   parent_child                      the parent
 *   parent_child --child TOKEN        a child told on its command line
 *   parent_child --child-env          a child told in SHMKIT_DEMO_REGION
 */
#include <stdio.h>
#include <string.h>

#include "shmkit.h"

#define ENV_NAME "SHMKIT_DEMO_REGION"
#define SIZE     4096
#define REPLY_AT 2048 /* the child's reply, after the parent's message */

static int fail(const char *who, const char *what, int err) {
  fprintf(stderr, "%s: %s: %s\n", who, what, shmkit_strerror(err));
  return 1;
}

static int child(const char *token) {
  shmkit_region *region;
  shmkit_view *view;
  char *mem;
  int err;

  /* The token is input from outside: shmkit checks that the handle is open,
   * is shared memory, allows the access and is as big as claimed. */
  if (token != NULL) {
    printf("  child:  token from my command line: %s\n", token);
    err = shmkit_region_from_token(&region, token);
  } else {
    printf("  child:  token from $%s\n", ENV_NAME);
    err = shmkit_region_from_env(&region, ENV_NAME);
  }
  if (err != 0) return fail("child", "region from token", err);
  err = shmkit_view_map(&view, region, 0, SIZE, SHMKIT_READ_WRITE);
  if (err != 0) {
    shmkit_region_close(region);
    return fail("child", "map", err);
  }
  mem = shmkit_view_data(view);
  /* Memory another process writes: read at most what fits. */
  printf("  child:  read \"%.*s\"\n", (int)strnlen(mem, REPLY_AT - 1), mem);
  snprintf(mem + REPLY_AT, SIZE - REPLY_AT, "hello back from child %s",
           token != NULL ? "(argv)" : "(env)");
  printf("  child:  wrote my reply, closing my handle (the memory stays)\n");
  shmkit_region_close(region);
  shmkit_view_unmap(view);
  return 0;
}

/* Starts this program as a child that inherits `region` and nothing else. */
static int run_child(const char *self, shmkit_region *region, int via_env) {
  char token[SHMKIT_TOKEN_MAX], env[SHMKIT_TOKEN_MAX + sizeof(ENV_NAME)];
  const char *argv_cmd[] = {self, "--child", token, NULL};
  const char *argv_env[] = {self, "--child-env", NULL};
  const char *env_set[] = {env, NULL};
  shmkit_spawn_options o;
  shmkit_process *p;
  int err, code, sig;

  if ((err = shmkit_region_token(region, token, sizeof(token))) != 0)
    return fail("parent", "token", err);
  snprintf(env, sizeof(env), "%s=%s", ENV_NAME, token);
  memset(&o, 0, sizeof(o));
  o.file = self;
  o.argv = via_env ? argv_env : argv_cmd;
  o.env_set = via_env ? env_set : NULL;
  o.regions = &region;
  o.region_count = 1;
  /* A bare name (no '/') is looked up in PATH, as a shell would. */
  o.flags = strchr(self, '/') == NULL && strchr(self, '\\') == NULL
                ? SHMKIT_SPAWN_SEARCH_PATH
                : 0;
  printf("parent: starting a child with token %s %s\n", token,
         via_env ? "in $" ENV_NAME : "on its command line");
  if ((err = shmkit_spawn(&p, &o)) != 0) return fail("parent", "spawn", err);
  err = shmkit_process_wait(p, 30000, &code, &sig);
  shmkit_process_close(p);
  if (err != 0) return fail("parent", "wait", err);
  if (code != 0) { /* only exit(0) gives 0: a crash's code is -signal */
    fprintf(stderr, "parent: child failed (exit %d, signal %d)\n", code, sig);
    return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  shmkit_region *region;
  shmkit_view *view;
  char *mem;
  int err, failed = 0;

  setvbuf(stdout, NULL, _IONBF, 0); /* parent and child lines in order */
  if (argc == 3 && strcmp(argv[1], "--child") == 0) return child(argv[2]);
  if (argc == 2 && strcmp(argv[1], "--child-env") == 0) return child(NULL);

  if ((err = shmkit_region_create(&region, SIZE, 0)) != 0)
    return fail("parent", "create", err);
  printf("parent: created an anonymous region of %d bytes (handle %lld)\n",
         SIZE, (long long)shmkit_region_handle(region));
  if ((err = shmkit_view_map(&view, region, 0, SIZE, SHMKIT_READ_WRITE))) {
    shmkit_region_close(region);
    return fail("parent", "map", err);
  }
  mem = shmkit_view_data(view);

  for (int via_env = 0; via_env <= 1 && !failed; via_env++) {
    snprintf(mem, REPLY_AT, "hello from parent, message %d", via_env + 1);
    memset(mem + REPLY_AT, 0, SIZE - REPLY_AT);
    printf("parent: wrote \"%s\"\n", mem);
    failed = run_child(argv[0], region, via_env);
    if (!failed)
      printf("parent: the child replied \"%.*s\"\n\n",
             (int)strnlen(mem + REPLY_AT, SIZE - REPLY_AT - 1), mem + REPLY_AT);
  }
  shmkit_view_unmap(view);
  shmkit_region_close(region);
  if (!failed) printf("parent: done; both children saw my memory\n");
  return failed;
}
