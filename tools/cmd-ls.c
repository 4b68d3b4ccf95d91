/* shmkit ls and reap: the named regions (and with --all the anonymous ones
 * this user's processes hold), who holds each, and the removal of names no
 * process holds any more. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "list.h"
#include "tool.h"

static int by_name(const void *a, const void *b) {
  const list_object *x = a, *y = b;
  if (x->kind != y->kind) return x->kind - y->kind;
  return strcmp(x->name, y->name);
}

/* An orphan: a name no process holds open or maps, as far as this user
 * can see, whose holders could be seen at all: this user's (or any, for
 * root, who sees every process). */
static int orphan(const list_object *o, const list_result *r, int64_t euid) {
  return r->holders_known && o->kind == LIST_NAMED && o->nholders == 0 &&
         (o->uid == euid || euid == 0);
}

static void object_json(const list_object *o, const list_result *r,
                        int64_t euid) {
  int first = 1, named = o->kind == LIST_NAMED;

  putchar('{');
  json_field_str(named ? "name" : "label", o->name, &first);
  if (named)
    json_field_bool("global", o->global, &first);
  else
    json_field_str("kind", show_kind(o->kind), &first);
  show_owner_json(o, &first);
  if (named) {
    show_created_json(o, &first);
  } else {
    json_key("seals", &first);
    show_seals_json(o->seals);
  }
  json_key("holders", &first);
  show_holders_json(o, r);
  if (named) json_field_bool("orphan", orphan(o, r, euid), &first);
  putchar('}');
}

static void named_text(const list_object *o, const list_result *r) {
  char user[64], when[64], size[32], mode[16];
  size_t w = strlen(o->name) + (o->global ? 7 : 0);

  if (o->uid >= 0)
    list_user_name(o->uid, user, sizeof(user));
  else
    snprintf(user, sizeof(user), "-");
  show_time(o->created, when, sizeof(when));
  if (o->size >= 0)
    show_size((uint64_t)o->size, size, sizeof(size));
  else
    snprintf(size, sizeof(size), "-");
  if (o->mode >= 0)
    snprintf(mode, sizeof(mode), "%04o", (unsigned)o->mode & 07777u);
  else
    snprintf(mode, sizeof(mode), "-");
  if (o->global) fputs("Global\\", stdout);
  text_str(stdout, o->name);
  printf("%*s %6s  %-8s %4s  %-19s  ", w < 24 ? (int)(24 - w) : 0, "", size,
         user, mode, when);
  show_holders_text(o, r);
  putchar('\n');
}

int cmd_ls(const tool_cmd *cmd, int argc, char **argv) {
  int npos, status, all = 0, orphans = 0, json = 0, err, first = 1;
  const tool_opt opts[] = {{"--all", NULL, &all},
                           {"--orphans", NULL, &orphans},
                           {"--json", NULL, &json},
                           {NULL, NULL, NULL}};
  const char *pos[1];
  list_result r;
  int64_t euid = list_euid();
  size_t shown = 0;

  if (tool_parse(cmd, argc, argv, opts, pos, 0, &npos, 0, NULL, &status))
    return status;
  if (all && orphans)
    return tool_usage(cmd, "--all and --orphans do not go together");
  if ((err = list_scan(&r, 1, all)) != 0) return tool_fail(cmd, err, "listing");
  if (orphans && !r.holders_known) {
    list_free(&r);
    return tool_fail(cmd, SHMKIT_ENOTSUP,
                     "who holds a region cannot be listed here, so neither "
                     "can orphans");
  }
  if (r.n > 1) qsort(r.objs, r.n, sizeof(*r.objs), by_name);
  if (r.unreadable && (orphans || !json))
    fprintf(stderr,
            "shmkit ls: %zu of your processes could not be looked into: "
            "what they hold is not shown\n",
            r.unreadable);
  if (json) {
    putchar('{');
    json_key("regions", &first);
    putchar('[');
    for (size_t i = 0; i < r.n; i++) {
      const list_object *o = &r.objs[i];
      if (o->kind != LIST_NAMED || (orphans && !orphan(o, &r, euid))) continue;
      if (shown++) putchar(',');
      object_json(o, &r, euid);
    }
    putchar(']');
    json_key("anonymous", &first);
    if (!all) {
      fputs("null", stdout);
    } else {
      putchar('[');
      shown = 0;
      for (size_t i = 0; i < r.n; i++) {
        if (r.objs[i].kind == LIST_NAMED) continue;
        if (shown++) putchar(',');
        object_json(&r.objs[i], &r, euid);
      }
      putchar(']');
    }
    json_key("holders_known", &first);
    fputs(r.holders_known ? "true" : "false", stdout);
    json_key("unreadable_processes", &first);
    printf("%zu", r.unreadable);
    puts("}");
    list_free(&r);
    return TOOL_OK;
  }
  printf("%-24s %6s  %-8s %4s  %-19s  %s\n", "NAME", "SIZE", "OWNER", "MODE",
         "CREATED", "HOLDERS (pid (program) fds, mapped)");
  for (size_t i = 0; i < r.n; i++) {
    const list_object *o = &r.objs[i];
    if (o->kind != LIST_NAMED || (orphans && !orphan(o, &r, euid))) continue;
    named_text(o, &r);
  }
  if (all) {
    printf("\n%-30s %-7s %6s  %-24s %s\n", "ANONYMOUS", "KIND", "SIZE", "SEALS",
           "HOLDERS");
    for (size_t i = 0; i < r.n; i++) {
      const list_object *o = &r.objs[i];
      char size[32], seals[80];
      int w;
      if (o->kind == LIST_NAMED) continue;
      if (o->size >= 0)
        show_size((uint64_t)o->size, size, sizeof(size));
      else
        snprintf(size, sizeof(size), "-");
      text_str(stdout, o->name);
      w = (int)strlen(o->name);
      printf("%*s %-7s %6s  ", w < 30 ? 30 - w : 0, "", show_kind(o->kind),
             size);
      show_seals_text(o->seals, seals, sizeof(seals));
      printf("%-24s ", seals);
      show_holders_text(o, &r);
      putchar('\n');
    }
  }
  list_free(&r);
  return TOOL_OK;
}

int cmd_reap(const tool_cmd *cmd, int argc, char **argv) {
  int npos, status, dry = 0, json = 0, err, failed = 0;
  const char *older_s = NULL, **pos;
  const tool_opt opts[] = {{"--dry-run", NULL, &dry},
                           {"--older-than", &older_s, NULL},
                           {"--json", NULL, &json},
                           {NULL, NULL, NULL}};
  uint64_t older = 0;
  list_result r;
  int64_t euid = list_euid(), now = list_now();
  size_t nremoved = 0, nskipped = 0;
  const char **why = NULL;
  int *act = NULL;
  char buf[200];

  if ((pos = calloc((size_t)argc + 1, sizeof(*pos))) == NULL)
    return tool_fail(cmd, SHMKIT_ENOMEM, "arguments");
  /* status: -1 while the arguments are good. */
  if (tool_parse(cmd, argc, argv, opts, pos, argc, &npos, 0, NULL, &status) ==
      0)
    status = -1;
  if (status < 0 && older_s && tool_parse_duration(older_s, &older) != 0)
    status = tool_usage(cmd,
                        "bad duration '%s' (digits with an optional s, m, h "
                        "or d)",
                        tool_shown(older_s, buf, sizeof(buf)));
  for (int i = 0; status < 0 && i < npos; i++) {
    const char *base;
    unsigned flags;
    if (tool_name_arg(cmd, pos[i], &base, &flags) != TOOL_OK)
      status = TOOL_USAGE;
  }
  if (status >= 0) {
    free(pos);
    return status;
  }
  if ((err = list_scan(&r, 1, 0)) != 0) {
    free(pos);
    return tool_fail(cmd, err, "listing");
  }
  if (!r.holders_known) {
    list_free(&r);
    free(pos);
    return tool_fail(cmd, SHMKIT_ENOTSUP,
                     "who holds a region cannot be listed here");
  }
  if (r.n > 1) qsort(r.objs, r.n, sizeof(*r.objs), by_name);
  if ((why = calloc(r.n + 1, sizeof(*why))) == NULL ||
      (act = calloc(r.n + 1, sizeof(*act))) == NULL) {
    free(why);
    free(pos);
    list_free(&r);
    return tool_fail(cmd, SHMKIT_ENOMEM, "listing");
  }
  /* Decide and act first, then print: each name once. */
  for (size_t i = 0; i < r.n; i++) {
    const list_object *o = &r.objs[i];
    const char *base;
    unsigned flags;
    int64_t age = o->created >= 0 ? now - o->created : 0;

    /* Only this user's, root included: root's reap is root's names. */
    if (o->kind != LIST_NAMED || o->nholders != 0 || o->uid != euid) continue;
    if ((uint64_t)(age < 0 ? 0 : age) < older) continue;
    if (npos > 0) {
      int listed = 0;
      for (int k = 0; k < npos; k++)
        if (strcmp(pos[k], o->name) == 0) listed = 1;
      if (!listed) continue;
    }
    act[i] = 1;
    if (tool_check_name(o->name, &base, &flags) != 0) {
      why[i] = "not a shmkit name (remove it by hand)";
      act[i] = 2;
    } else if (!dry && (err = list_recheck(o)) != 0) {
      /* Looked at again just before the removal: a name made again, or
       * opened, since the scan is left alone. */
      why[i] = err == SHMKIT_EBUSY
                   ? (r.unreadable ? "some of your processes could not be "
                                     "looked into"
                                   : "held by a process now")
               : err == SHMKIT_EEXIST ? "made again since the scan"
               : err == SHMKIT_ENOENT ? "removed by someone else meanwhile"
                                      : shmkit_strerror(err);
      act[i] = 2;
    } else if (!dry && (err = shmkit_region_remove(base)) != 0) {
      tool_fail(cmd, err, "%s", o->name);
      act[i] = 3;
      failed = 1;
    }
  }
  if (json) printf("{\"dry_run\":%s,\"removed\":[", dry ? "true" : "false");
  for (size_t i = 0; i < r.n; i++) {
    const list_object *o = &r.objs[i];
    int64_t age = o->created >= 0 ? now - o->created : 0;
    if (act[i] != 1) continue;
    if (json) {
      printf("%s{\"name\":", nremoved++ ? "," : "");
      json_str(o->name);
      printf(",\"size\":%lld,\"age\":%lld}", (long long)o->size,
             (long long)age);
    } else {
      fputs(dry ? "would remove " : "removed ", stdout);
      text_str(stdout, o->name);
      printf(" (%lld bytes, created %lld s ago)\n", (long long)o->size,
             (long long)age);
    }
  }
  if (json) fputs("],\"skipped\":[", stdout);
  for (size_t i = 0; i < r.n; i++) {
    if (act[i] != 2) continue;
    if (json) {
      printf("%s{\"name\":", nskipped++ ? "," : "");
      json_str(r.objs[i].name);
      fputs(",\"reason\":", stdout);
      json_str(why[i]);
      putchar('}');
    } else {
      fputs("skipped ", stdout);
      text_str(stdout, r.objs[i].name);
      printf(": %s\n", why[i]);
    }
  }
  free(why);
  free(act);
  free(pos);
  if (json) puts("]}");
  list_free(&r);
  return failed ? TOOL_FAIL : TOOL_OK;
}
