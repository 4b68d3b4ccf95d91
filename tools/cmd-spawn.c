/* shmkit spawn: starts any program with a region it inherits, its token
 * where an argument is "{}" or in an environment variable, and exits with
 * the program's status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef _WIN32
#  include <signal.h>
#endif

#include "tool.h"

/* A failure before the program started: the name this command made for it
 * (NULL: none) goes too, as nobody will use it. Returns `status`. */
static int undo(const char *made_name, int status) {
  if (made_name != NULL) shmkit_region_remove(made_name);
  return status;
}

int cmd_spawn(const tool_cmd *cmd, int argc, char **argv) {
  const char *region_s = NULL, *open_s = NULL, *env_s = NULL, *name_s = NULL;
  const char *pos[1], *base = NULL, *named = NULL;
  unsigned flags = 0;
  char buf[200];
  int npos, status, readonly = 0, sparse = 0, rest, err, code = 0, sig = 0;
  int substituted = 0;
  const tool_opt opts[] = {{"--region", &region_s, NULL},
                           {"--open", &open_s, NULL},
                           {"--env", &env_s, NULL},
                           {"--name", &name_s, NULL},
                           {"--readonly", NULL, &readonly},
                           {"--sparse", NULL, &sparse},
                           {NULL, NULL, NULL}};
  shmkit_region *made = NULL, *given = NULL;
  shmkit_spawn_options so;
  shmkit_process *p;
  char token[SHMKIT_TOKEN_MAX], *env_entry = NULL;
  const char **child_argv, *env_set[2] = {NULL, NULL};
  uint64_t size = 0;

  if (tool_parse(cmd, argc, argv, opts, pos, 0, &npos, 2, &rest, &status))
    return status;
  if ((region_s != NULL) == (open_s != NULL))
    return tool_usage(cmd, "needs one of --region SIZE or --open NAME");
  if (rest >= argc || argv[rest][0] == 0)
    return tool_usage(cmd, "needs a PROGRAM after --");
  if (region_s &&
      (status = tool_size_arg(cmd, "size", region_s, 1, &size)) != TOOL_OK)
    return status;
  if ((sparse || name_s) && !region_s)
    return tool_usage(cmd, "--sparse and --name go with --region");
  if (env_s && (env_s[0] == 0 || strchr(env_s, '=') != NULL))
    return tool_usage(cmd, "bad variable name '%s'",
                      tool_shown(env_s, buf, sizeof(buf)));
  if ((open_s || name_s) &&
      (status = tool_name_arg(cmd, open_s ? open_s : name_s, &base, &flags)) !=
          TOOL_OK)
    return status;
  for (int i = rest; i < argc; i++)
    if (strcmp(argv[i], "{}") == 0) substituted = 1;
  if (!substituted && !env_s)
    return tool_usage(cmd, "nothing tells the program its token: put {} "
                           "among its arguments, or use --env VAR");
  if (open_s) {
    err = shmkit_region_open(&given, base,
                             (readonly ? SHMKIT_READ_ONLY : SHMKIT_READ_WRITE) |
                                 (int)flags);
    if (err != 0) return tool_fail(cmd, err, "%s", open_s);
  } else if (name_s) {
    /* A named region, for others to open while the program runs (on
     * Windows the name lives exactly that long; on POSIX until removed). */
    err = shmkit_region_create_named(&made, base, size,
                                     (sparse ? SHMKIT_SPARSE : 0) | flags);
    if (err != 0) return tool_fail(cmd, err, "%s", name_s);
    named = base;
  } else {
    err = shmkit_region_create(&made, size, sparse ? SHMKIT_SPARSE : 0);
    if (err != 0) return tool_fail(cmd, err, "a region of %s", region_s);
  }
  if (made) {
    if (readonly) {
      /* The child gets a copy it cannot write through. */
      err = shmkit_region_dup_readonly(&given, made);
      if (err != 0) {
        shmkit_region_close(made);
        return undo(named, tool_fail(cmd, err, "a read-only copy"));
      }
    } else {
      given = made;
      made = NULL;
    }
  }
  if ((err = shmkit_region_token(given, token, sizeof(token))) != 0) {
    shmkit_region_close(given);
    shmkit_region_close(made);
    return undo(named, tool_fail(cmd, err, "token"));
  }
  child_argv = calloc((size_t)(argc - rest) + 1, sizeof(*child_argv));
  if (env_s) {
    size_t n = strlen(env_s) + 1 + strlen(token) + 1;
    if ((env_entry = malloc(n)) != NULL)
      snprintf(env_entry, n, "%s=%s", env_s, token);
    env_set[0] = env_entry;
  }
  if (child_argv == NULL || (env_s && env_entry == NULL)) {
    free(child_argv);
    free(env_entry);
    shmkit_region_close(given);
    shmkit_region_close(made);
    return undo(named, tool_fail(cmd, SHMKIT_ENOMEM, "arguments"));
  }
  for (int i = rest; i < argc; i++)
    child_argv[i - rest] = strcmp(argv[i], "{}") == 0 ? token : argv[i];
  memset(&so, 0, sizeof(so));
  so.file = argv[rest];
  so.argv = child_argv;
  so.env_set = env_s ? env_set : NULL;
  so.regions = &given;
  so.region_count = 1;
  if (strchr(so.file, '/') == NULL
#ifdef _WIN32
      && strchr(so.file, '\\') == NULL
#endif
  )
    so.flags |= SHMKIT_SPAWN_SEARCH_PATH;
  err = shmkit_spawn(&p, &so);
  free(child_argv);
  free(env_entry);
  /* The child has its own handle now: ours would only keep the region
   * alive longer and show this process among its holders. */
  shmkit_region_close(given);
  shmkit_region_close(made);
  if (err != 0) return undo(named, tool_fail(cmd, err, "%s", argv[rest]));
#ifndef _WIN32
  /* As a shell does: a Ctrl-C is the child's to handle; this process waits
   * to report how it ended. */
  signal(SIGINT, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
#endif
  err = shmkit_process_wait(p, -1, &code, &sig);
  shmkit_process_close(p);
  if (err != 0) return tool_fail(cmd, err, "waiting for %s", argv[rest]);
  if (sig > 0) return 128 + sig;
  return code;
}
