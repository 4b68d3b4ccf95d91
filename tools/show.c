/* Output shared by ls and info: holders, seals, times, sizes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "list.h"
#include "tool.h"

const char *show_kind(int kind) {
  switch (kind) {
  case LIST_MEMFD:
    return "memfd";
  case LIST_SHMKIT_ANON:
    return "shmkit";
  case LIST_DELETED:
    return "deleted";
  default:
    return "named";
  }
}

void show_holders_text(const list_object *o, const list_result *r) {
  if (!r->holders_known) {
    fputs("unknown", stdout);
    return;
  }
  if (o->nholders == 0) fputs("none", stdout);
  for (size_t i = 0; i < o->nholders; i++) {
    const list_holder *h = &o->holders[i];
    printf("%s%lld (", i ? ", " : "", (long long)h->pid);
    text_str(stdout, h->program);
    putchar(')');
    for (size_t j = 0; j < h->nfds && j < LIST_FDS_MAX; j++)
      printf(" fd %d", h->fds[j]);
    if (h->nfds > LIST_FDS_MAX)
      printf(" and %zu more fds", h->nfds - LIST_FDS_MAX);
    if (h->mapped) fputs(" mapped", stdout);
  }
}

void show_holders_json(const list_object *o, const list_result *r) {
  if (!r->holders_known) {
    fputs("null", stdout);
    return;
  }
  putchar('[');
  for (size_t i = 0; i < o->nholders; i++) {
    const list_holder *h = &o->holders[i];
    printf("%s{\"pid\":%lld,\"program\":", i ? "," : "", (long long)h->pid);
    json_str(h->program);
    fputs(",\"fds\":[", stdout);
    for (size_t j = 0; j < h->nfds && j < LIST_FDS_MAX; j++)
      printf("%s%d", j ? "," : "", h->fds[j]);
    printf("],\"fd_count\":%zu,\"mapped\":%s}", h->nfds,
           h->mapped ? "true" : "false");
  }
  putchar(']');
}

static const struct {
  unsigned bit;
  const char *name;
} seal_names[] = {{SHMKIT_SEAL_SHRINK, "shrink"},
                  {SHMKIT_SEAL_GROW, "grow"},
                  {SHMKIT_SEAL_WRITE, "write"},
                  {SHMKIT_SEAL_FUTURE_WRITE, "future_write"},
                  {SHMKIT_SEAL_SEAL, "seal"}};

void show_seals_text(int64_t seals, char *buf, size_t size) {
  size_t k = 0;

  snprintf(buf, size, seals < 0 ? "unknown" : "none");
  for (size_t i = 0; seals > 0 && i < sizeof(seal_names) / sizeof(*seal_names);
       i++)
    if ((seals & seal_names[i].bit) && k < size)
      k += (size_t)snprintf(buf + k, size - k, "%s%s", k ? "," : "",
                            seal_names[i].name);
}

void show_seals_json(int64_t seals) {
  int any = 0;
  if (seals < 0) {
    fputs("null", stdout);
    return;
  }
  putchar('[');
  for (size_t i = 0; i < sizeof(seal_names) / sizeof(seal_names[0]); i++)
    if (seals & seal_names[i].bit) {
      printf("%s\"%s\"", any ? "," : "", seal_names[i].name);
      any = 1;
    }
  putchar(']');
}

void show_owner_json(const list_object *o, int *first) {
  char user[64];

  if (o->uid >= 0) list_user_name(o->uid, user, sizeof(user));
  json_field_known("size", o->size, first);
  json_field_known("uid", o->uid, first);
  json_field_str("owner", o->uid >= 0 ? user : NULL, first);
  json_key("mode", first);
  if (o->mode >= 0)
    printf("\"%04o\"", (unsigned)o->mode);
  else
    fputs("null", stdout);
}

void show_created_json(const list_object *o, int *first) {
  json_field_known("created", o->created, first);
  json_field_str("created_from", o->created_from, first);
}

void show_time(int64_t t, char *buf, size_t size) {
  time_t tt = (time_t)t;
  struct tm *tm = t >= 0 ? localtime(&tt) : NULL;

  if (tm == NULL || strftime(buf, size, "%Y-%m-%d %H:%M:%S", tm) == 0)
    snprintf(buf, size, "-");
}

void show_size(uint64_t size, char *buf, size_t n) {
  static const char units[] = "KMGTPE";
  double v = (double)size;
  int u = -1;

  if (size < 1024) {
    snprintf(buf, n, "%llu", (unsigned long long)size);
    return;
  }
  while (v >= 1024 && u < 5) {
    v /= 1024;
    u++;
  }
  snprintf(buf, n, v < 10 ? "%.1f%c" : "%.0f%c", v, units[u]);
}

int64_t list_now(void) {
  return (int64_t)time(NULL);
}

void list_object_init(list_object *o, int kind) {
  memset(o, 0, sizeof(*o));
  o->kind = kind;
  o->size = -1;
  o->uid = -1;
  o->mode = -1;
  o->created = -1;
  o->seals = -1;
}

void list_free(list_result *r) {
  for (size_t i = 0; i < r->n; i++) {
    free(r->objs[i].name);
    free(r->objs[i].holders);
  }
  free(r->objs);
  memset(r, 0, sizeof(*r));
}
