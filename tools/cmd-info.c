/* shmkit info NAME | PID:FD: what a region is, who holds it, and, when its
 * first bytes are a channel's header (docs/protocol.md, "Channels"), the
 * channel's state. The region is mapped read-only and its header copied
 * once; every field is checked as a receiver checks it, never trusted. */
#include <stdio.h>
#include <string.h>

#ifndef _WIN32
#  include <sys/stat.h>
#  include <unistd.h>
#endif

#include "list.h"
#include "tool.h"

#define CH_MAGIC   0x434b4853u
#define CH_HEADER  256u
#define CH_VERSION 2u
#define CH_CAP_MIN 4096ull
#define CH_CAP_MAX 2147483648ull

typedef struct side {
  uint32_t sleep, closed, nowake;
  const char *alive; /* "yes", "no", "unknown" */
} side;

typedef struct channel {
  int found; /* the magic is there */
  unsigned version;
  const char *problem; /* NULL: the header checks */
  uint64_t capacity, max_message, head, tail;
  side sender, receiver;
} channel;

static uint32_t u32_at(const unsigned char *h, size_t at) {
  uint32_t v;
  memcpy(&v, h + at, sizeof(v));
  return v;
}

static uint64_t u64_at(const unsigned char *h, size_t at) {
  uint64_t v;
  memcpy(&v, h + at, sizeof(v));
  return v;
}

static size_t copy_window(void *ctx, unsigned char *p, size_t n, uint64_t at) {
  const volatile unsigned char *from = p; /* read once each, in order */
  unsigned char *h = ctx;

  for (size_t i = 0; i < n; i++) h[at + i] = from[i];
  return n;
}

/* Copies the first min(size, 256) bytes of the region once. 0, or a shmkit
 * error, or TOOL_SHRANK if the region shrank under the copy. */
static int copy_header(shmkit_region *r, unsigned char *h, size_t *n) {
  uint64_t size = shmkit_region_size(r), done;

  *n = size < CH_HEADER ? (size_t)size : CH_HEADER;
  memset(h, 0, CH_HEADER);
  return tool_walk(r, 0, *n, SHMKIT_READ_ONLY, copy_window, h, &done);
}

static int power_of_two(uint64_t x) {
  return x != 0 && (x & (x - 1)) == 0;
}

/* Whether each side lives, from its closed flag and the processes that map
 * the region (a side maps the whole region for the channel's life): a side
 * that set its flag closed; otherwise, with as many mapping processes as
 * sides that did not close, each may be one of them, "yes"; with none,
 * "no" (it ended without closing: killed or crashed); with fewer, one of
 * them is gone and which one cannot be told, "unknown"; and "unknown"
 * where holders cannot be listed or some of this user's processes could
 * not be looked into. */
static void alive(channel *c, const list_object *o, const list_result *r) {
  size_t mappers = 0, open_sides = 0;
  side *s[2] = {&c->sender, &c->receiver};

  for (size_t i = 0; o && i < o->nholders; i++)
    if (o->holders[i].mapped) mappers++;
  for (int i = 0; i < 2; i++)
    if (s[i]->closed == 0) open_sides++;
  for (int i = 0; i < 2; i++) {
    if (s[i]->closed != 0)
      s[i]->alive = "no";
    else if (o == NULL || !r->holders_known)
      s[i]->alive = "unknown";
    else if (mappers >= open_sides)
      s[i]->alive = "yes";
    else if (mappers == 0 && r->unreadable == 0)
      s[i]->alive = "no";
    else
      s[i]->alive = "unknown";
  }
}

static void decode(channel *c, const unsigned char *h, size_t n,
                   uint64_t size) {
  memset(c, 0, sizeof(*c));
  if (n < 8 || u32_at(h, 0) != CH_MAGIC) return;
  c->found = 1;
  c->version = (unsigned)(u32_at(h, 4) & 0xffff);
  if (c->version != CH_VERSION) {
    c->problem = c->version > CH_VERSION ? "a newer layout version"
                 : c->version == 1       ? "layout version 1, no longer spoken"
                                         : "version 0";
    return;
  }
  if (n < CH_HEADER) {
    c->problem = "the region is smaller than a channel's header";
    return;
  }
  c->capacity = u64_at(h, 8);
  c->max_message = u64_at(h, 16);
  c->head = u64_at(h, 64);
  c->tail = u64_at(h, 128);
  c->receiver.sleep = u32_at(h, 192);
  c->sender.sleep = u32_at(h, 196);
  c->sender.closed = u32_at(h, 208);
  c->receiver.closed = u32_at(h, 212);
  c->sender.nowake = u32_at(h, 216);
  c->receiver.nowake = u32_at(h, 220);
  if ((u32_at(h, 4) >> 16) != 0 || u64_at(h, 24) != CH_HEADER)
    c->problem = "flags or ring offset not as in layout version 2";
  else if (!power_of_two(c->capacity) || c->capacity < CH_CAP_MIN ||
           c->capacity > CH_CAP_MAX)
    c->problem = "capacity not a power of two from 4096 to 2^31";
  else if (c->max_message < 1 || c->max_message > c->capacity / 4)
    c->problem = "max message not from 1 to a quarter of the capacity";
  else if (CH_HEADER + c->capacity > size)
    c->problem = "the ring runs past the region's end";
  else if (c->tail > c->head || c->head - c->tail > c->capacity)
    c->problem = "head and tail inconsistent (fill beyond the capacity)";
  else if ((c->head | c->tail) & 15)
    c->problem = "head or tail not at a record's start";
}

static const char *sleep_name(uint32_t s) {
  return s == 0 ? "awake" : s == 1 ? "on_word" : s == 2 ? "on_link" : "other";
}

static const char *state_name(const channel *c) {
  if (c->problem) return "broken";
  if (c->sender.closed && c->receiver.closed) return "closed";
  if (c->sender.closed) return "sender_closed";
  if (c->receiver.closed) return "receiver_closed";
  return "open";
}

static void side_text(const char *label, const side *s) {
  printf("  %-9s %s, %s, alive: %s%s\n", label, sleep_name(s->sleep),
         s->closed ? "closed" : "not closed", s->alive,
         s->nowake ? ", cannot wake a word" : "");
}

static void side_json(const side *s) {
  printf("{\"sleep\":\"%s\",\"closed\":%s,\"alive\":\"%s\","
         "\"wakes_word\":%s}",
         sleep_name(s->sleep), s->closed ? "true" : "false", s->alive,
         s->nowake ? "false" : "true");
}

static void channel_text(const channel *c) {
  if (!c->found) {
    puts("channel:  no (no channel header at offset 0)");
    return;
  }
  printf("channel:  layout version %u, %s", c->version, state_name(c));
  if (c->problem) printf(" (%s)", c->problem);
  putchar('\n');
  if (c->version != CH_VERSION || c->capacity == 0) return;
  printf("  capacity  %llu bytes, max message %llu\n",
         (unsigned long long)c->capacity, (unsigned long long)c->max_message);
  if (c->tail <= c->head && c->head - c->tail <= c->capacity)
    printf("  fill      %llu bytes (head %llu, tail %llu)\n",
           (unsigned long long)(c->head - c->tail), (unsigned long long)c->head,
           (unsigned long long)c->tail);
  else
    printf("  fill      ? (head %llu, tail %llu)\n",
           (unsigned long long)c->head, (unsigned long long)c->tail);
  side_text("sender", &c->sender);
  side_text("receiver", &c->receiver);
}

static void channel_json(const channel *c) {
  int first = 1;
  if (!c->found) {
    fputs("null", stdout);
    return;
  }
  putchar('{');
  json_field_u64("version", c->version, &first);
  json_field_str("state", state_name(c), &first);
  json_field_str("problem", c->problem, &first);
  if (c->version == CH_VERSION && c->capacity != 0) {
    json_field_u64("capacity", c->capacity, &first);
    json_field_u64("max_message", c->max_message, &first);
    json_field_u64("head", c->head, &first);
    json_field_u64("tail", c->tail, &first);
    json_field_known("fill",
                     c->tail <= c->head && c->head - c->tail <= c->capacity
                         ? (int64_t)(c->head - c->tail)
                         : -1,
                     &first);
    json_key("sender", &first);
    side_json(&c->sender);
    json_key("receiver", &first);
    side_json(&c->receiver);
  }
  putchar('}');
}

int cmd_info(const tool_cmd *cmd, int argc, char **argv) {
  const char *pos[1], *base = NULL;
  int npos, status, json = 0, err, have_meta, shrank = 0;
  const tool_opt opts[] = {{"--json", NULL, &json}, {NULL, NULL, NULL}};
  list_result lr;
  list_object *o = NULL, meta;
  shmkit_region *r = NULL;
  unsigned flags = 0;
  int64_t pid = 0;
  int fd = -1, open_err = 0;
  unsigned char header[CH_HEADER];
  size_t hn = 0;
  channel ch;
  char user[64], when[64], seal_text[80];

  if (tool_parse(cmd, argc, argv, opts, pos, 1, &npos, 0, NULL, &status))
    return status;
  if (npos < 1) return tool_usage(cmd, "needs a NAME or PID:FD");
  memset(&meta, 0, sizeof(meta));
  if (tool_parse_pidfd(pos[0], &pid, &fd) == 0) {
    shmkit_handle h;
    if ((err = list_pidfd(&lr, pid, fd, &h)) != 0)
      return tool_fail(cmd, err, "%s", pos[0]);
    if ((err = shmkit_region_adopt(&r, h, SHMKIT_READ_ONLY)) != 0) {
#ifndef _WIN32
      close((int)h);
#endif
      list_free(&lr);
      return tool_fail(cmd, err, "%s", pos[0]);
    }
    o = &lr.objs[0];
  } else {
    char buf[200];
    if (tool_check_name(pos[0], &base, &flags) != 0)
      return tool_usage(cmd, "bad name '%s' (a NAME: %s; or PID:FD)",
                        tool_shown(pos[0], buf, sizeof(buf)), TOOL_NAME_RULES);
    err = list_named(&lr, base, flags);
    if (err == 0)
      o = &lr.objs[0];
    else if (err != SHMKIT_ENOTSUP && err != SHMKIT_ENOENT)
      return tool_fail(cmd, err, "%s", pos[0]);
    else
      memset(&lr, 0, sizeof(lr));
    open_err = shmkit_region_open(&r, base, SHMKIT_READ_ONLY | (int)flags);
    if (open_err != 0 && o == NULL) {
      list_free(&lr);
      return tool_fail(cmd, open_err, "%s", pos[0]);
    }
  }
  have_meta = o != NULL;
  if (o == NULL) {
    /* No listing here: what the region itself tells. */
    list_object_init(&meta, LIST_NAMED);
    meta.name = (char *)pos[0];
    meta.size = r ? (int64_t)shmkit_region_size(r) : -1;
#ifndef _WIN32
    {
      struct stat st;
      if (r && fstat((int)shmkit_region_handle(r), &st) == 0) {
        meta.uid = st.st_uid;
        meta.mode = st.st_mode & 07777;
      }
    }
#endif
    o = &meta;
  }
  if (r) {
    unsigned seals;
    if (shmkit_region_seals(r, &seals) == 0)
      o->seals = seals;
    else
      o->seals = list_seals(shmkit_region_handle(r));
    if ((err = copy_header(r, header, &hn)) < 0) {
      shmkit_region_close(r);
      list_free(&lr);
      return tool_fail(cmd, err, "%s: map", pos[0]);
    }
    shrank = err == TOOL_SHRANK;
    if (!shrank) decode(&ch, header, hn, shmkit_region_size(r));
    o->size = (int64_t)shmkit_region_size(r);
  }
  if (!r || shrank) memset(&ch, 0, sizeof(ch));
  if (ch.found) alive(&ch, have_meta ? o : NULL, &lr);
  if (o->uid >= 0) list_user_name(o->uid, user, sizeof(user));
  show_time(o->created, when, sizeof(when));

  if (json) {
    int first = 1;
    putchar('{');
    json_field_str("name",
                   pid ? (o->kind == LIST_NAMED ? o->name : NULL) : pos[0],
                   &first);
    json_field_str("label", o->name, &first);
    json_field_str("kind", show_kind(o->kind), &first);
    json_field_known("pid", pid ? pid : -1, &first);
    json_field_known("fd", pid ? fd : -1, &first);
    show_owner_json(o, &first);
    show_created_json(o, &first);
    json_key("seals", &first);
    show_seals_json(o->seals);
    json_key("holders", &first);
    show_holders_json(o, have_meta ? &lr : &(list_result){0});
    json_field_u64("unreadable_processes", lr.unreadable, &first);
    json_field_bool("readable", r && !shrank, &first);
    json_key("channel", &first);
    channel_json(&ch);
    puts("}");
  } else {
    fputs("name:     ", stdout);
    text_str(stdout, o->name);
    if (pid)
      printf(" (%s, held by %lld at fd %d)", show_kind(o->kind), (long long)pid,
             fd);
    putchar('\n');
    if (o->size >= 0) printf("size:     %lld\n", (long long)o->size);
    if (o->uid >= 0)
      printf("owner:    %s (uid %lld)\n", user, (long long)o->uid);
    if (o->mode >= 0) printf("mode:     %04o\n", (unsigned)o->mode);
    if (o->created >= 0) printf("created:  %s (%s)\n", when, o->created_from);
    show_seals_text(o->seals, seal_text, sizeof(seal_text));
    printf("seals:    %s\nholders:  ", seal_text);
    show_holders_text(o, have_meta ? &lr : &(list_result){0});
    putchar('\n');
    if (lr.unreadable)
      printf("          (%zu of your processes could not be looked into)\n",
             lr.unreadable);
    if (!r)
      printf("contents: not readable (%s)\n", shmkit_strerror(open_err));
    else if (shrank)
      puts("contents: the region shrank while it was read");
    else
      channel_text(&ch);
  }
  shmkit_region_close(r);
  list_free(&lr);
  return TOOL_OK;
}
