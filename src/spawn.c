/* shmkit_spawn(): the options are checked and the child's environment is
 * put together here; the backend starts the process. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "platform.h"

struct shmkit_process {
  int64_t pid;
  shmkit_handle proc; /* the backend's: pidfd, process HANDLE, or none */
  int ended;          /* 1 once the status below is collected */
  int exit_code;
  int term_signal;
};

/* The length of an entry's name: up to '=' or the end. */
static size_t name_len(const char *entry) {
  return strcspn(entry, "=");
}

/* 1 if the entries name one variable, 0 if not, or an error. */
static int same_name(const char *a, const char *b) {
  return shmkit__os_env_same_name(a, name_len(a), b, name_len(b));
}

/* 1 if an entry of list[from..] names the same variable as `entry`, 0 if
 * none does, or an error. */
static int named_later(const char *entry, const char *const *list,
                       size_t from) {
  for (; list[from] != NULL; from++) {
    int same = same_name(entry, list[from]);
    if (same != 0) return same;
  }
  return 0;
}

/* The child's environment: the base (given or ours) without what env_set
 * changes, then env_set's assignments; of the entries that name one
 * variable, in the given base or in env_set, the last counts. Our own
 * environment goes as the system keeps it. The array points into the
 * callers' strings; only the array is allocated. */
static int build_env(const shmkit_spawn_options *o, char **ours, char ***out) {
  const char *const *base = o->env != NULL ? o->env : (const char *const *)ours;
  const char *const *set = o->env_set;
  size_t nbase = 0, nset = 0, n = 0;
  char **env;
  int err = 0, later;

  for (; base[nbase] != NULL; nbase++)
    if (o->env != NULL &&
        (name_len(base[nbase]) == 0 || base[nbase][name_len(base[nbase])] == 0))
      return SHMKIT_EINVAL; /* not NAME=value */
  if (set != NULL)
    for (; set[nset] != NULL; nset++)
      if (name_len(set[nset]) == 0) return SHMKIT_EINVAL;
  if ((env = malloc((nbase + nset + 1) * sizeof(*env))) == NULL)
    return SHMKIT_ENOMEM;
  for (size_t i = 0; i < nbase && err == 0; i++) {
    later = set != NULL ? named_later(base[i], set, 0) : 0;
    if (later == 0 && o->env != NULL) later = named_later(base[i], base, i + 1);
    if (later < 0) err = later;
    if (later == 0) env[n++] = (char *)base[i];
  }
  for (size_t i = 0; i < nset && err == 0; i++) {
    if (set[i][name_len(set[i])] != '=') continue; /* a removal */
    if ((later = named_later(set[i], set, i + 1)) < 0) err = later;
    if (later == 0) env[n++] = (char *)set[i];
  }
  if (err != 0) {
    free(env);
    return err;
  }
  env[n] = NULL;
  *out = env;
  return 0;
}

int shmkit_spawn(shmkit_process **out, const shmkit_spawn_options *o) {
  const unsigned all = SHMKIT_SPAWN_SEARCH_PATH | SHMKIT_SPAWN_CLOSE_OTHERS;
  shmkit__spawn s;
  shmkit_handle *handles = NULL;
  shmkit_process *p;
  char *default_argv[2];
  char **env = NULL, **ours = NULL;
  size_t nhandles;
  int err;

  if (out == NULL) return SHMKIT_EINVAL;
  *out = NULL;
  if (o == NULL || o->file == NULL || o->file[0] == '\0' ||
      (o->flags & ~all) != 0 || (o->region_count != 0 && o->regions == NULL) ||
      (o->conn_count != 0 && o->conns == NULL))
    return SHMKIT_EINVAL;
  for (size_t i = 0; i < o->region_count; i++)
    if (o->regions[i] == NULL) return SHMKIT_EINVAL;
  for (size_t i = 0; i < o->conn_count; i++)
    if (o->conns[i] == NULL || shmkit__conn_handle(o->conns[i]) < 0)
      return SHMKIT_EINVAL;
  nhandles = o->region_count + o->conn_count;

  if ((p = malloc(sizeof(*p))) == NULL) return SHMKIT_ENOMEM;
  if (nhandles != 0 &&
      (handles = malloc(nhandles * sizeof(*handles))) == NULL) {
    err = SHMKIT_ENOMEM;
    goto done;
  }
  for (size_t i = 0; i < o->region_count; i++)
    handles[i] = o->regions[i]->handle;
  for (size_t i = 0; i < o->conn_count; i++)
    handles[o->region_count + i] = shmkit__conn_handle(o->conns[i]);
  if (o->env == NULL && (err = shmkit__os_environ(&ours)) != 0) goto done;
  if ((err = build_env(o, ours, &env)) != 0) goto done;

  default_argv[0] = (char *)o->file;
  default_argv[1] = NULL;
  s.file = o->file;
  s.argv = o->argv != NULL ? (char *const *)o->argv : default_argv;
  s.envp = env;
  s.cwd = o->cwd;
  s.handles = handles;
  s.handle_count = nhandles;
  s.flags = o->flags;
  err = shmkit__os_spawn(&s, &p->pid, &p->proc);
  if (err == 0)
    for (size_t i = 0; i < o->conn_count; i++)
      shmkit__conn_spawned((shmkit_conn *)o->conns[i], p->pid, p->proc);

done:
  free(env);
  shmkit__os_environ_free(ours);
  free(handles);
  if (err != 0) {
    free(p);
    return err;
  }
  p->ended = 0;
  p->exit_code = 0;
  p->term_signal = 0;
  *out = p;
  return 0;
}

/* Collects the status if the process has ended within timeout_ms. */
static int collect(shmkit_process *p, int timeout_ms) {
  int err;

  if (p->ended) return 0;
  err = shmkit__os_wait(p->pid, p->proc, timeout_ms, &p->exit_code,
                        &p->term_signal);
  if (err == 0) p->ended = 1;
  return err;
}

int shmkit_process_wait(shmkit_process *p, int timeout_ms, int *exit_code,
                        int *term_signal) {
  int err;

  if (p == NULL || timeout_ms < -1) return SHMKIT_EINVAL;
  if ((err = collect(p, timeout_ms)) != 0) return err;
  if (exit_code != NULL) *exit_code = p->exit_code;
  if (term_signal != NULL) *term_signal = p->term_signal;
  return 0;
}

int shmkit_process_wait_any(shmkit_process *const *procs, size_t count,
                            int timeout_ms, size_t *which) {
  int64_t pids[SHMKIT_WAIT_ANY_MAX];
  shmkit_handle handles[SHMKIT_WAIT_ANY_MAX];
  int64_t deadline = shmkit__os_now_ms() + timeout_ms;
  int left = timeout_ms, err;
  size_t i;

  if (procs == NULL || which == NULL || count == 0 ||
      count > SHMKIT_WAIT_ANY_MAX || timeout_ms < -1)
    return SHMKIT_EINVAL;
  for (i = 0; i < count; i++) {
    if (procs[i] == NULL) return SHMKIT_EINVAL;
    /* Refused everywhere, as a Windows wait refuses one handle twice. */
    for (size_t j = 0; j < i; j++)
      if (procs[j] == procs[i]) return SHMKIT_EINVAL;
  }
  /* One already waited for has ended: the backend must not wait on it (on
   * POSIX its pid may be another process's by now). */
  for (i = 0; i < count; i++)
    if (procs[i]->ended) {
      *which = i;
      return 0;
    }
  for (i = 0; i < count; i++) {
    pids[i] = procs[i]->pid;
    handles[i] = procs[i]->proc;
  }
  for (;;) {
    if ((err = shmkit__os_wait_any(pids, handles, count, left, &i)) != 0)
      return err;
    /* The backend saw it end, so this does not wait; should it still run
     * (which no backend does), wait again for what is left. */
    err = collect(procs[i], 0);
    if (err == 0) *which = i;
    if (err != SHMKIT_ETIMEDOUT) return err;
    if (timeout_ms >= 0) {
      int64_t rest = deadline - shmkit__os_now_ms();
      if (rest <= 0) return SHMKIT_ETIMEDOUT;
      left = (int)rest;
    }
  }
}

int shmkit_process_kill(shmkit_process *p) {
  if (p == NULL) return SHMKIT_EINVAL;
  return p->ended ? 0 : shmkit__os_kill(p->pid, p->proc);
}

int64_t shmkit_process_pid(const shmkit_process *p) {
  return p->pid;
}

shmkit_handle shmkit_process_handle(const shmkit_process *p) {
  return p != NULL ? p->proc : SHMKIT_INVALID_HANDLE;
}

void shmkit_process_close(shmkit_process *p) {
  if (p == NULL) return;
  shmkit__os_process_close(p->proc);
  free(p);
}
