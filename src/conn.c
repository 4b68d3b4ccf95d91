/* Connections: endpoint rules, the same-user policy, framing, and the checks
 * every received region goes through. The backend moves bytes and handles.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "platform.h"

/* What the two ends of a pair made here share while both are open: when one
 * is handed to a child, the other's peer becomes that child. The two ends
 * are two objects, which two threads may use at once (shmkit.h), so each
 * end reaches the other only through this link and under its lock, and the
 * last end to close frees it. */
typedef struct conn_link {
  atomic_int refs;     /* ends that still point here: 2, then 1 */
  atomic_flag busy;    /* held while end[] is read or changed */
  shmkit_conn *end[2]; /* NULL once that end is closed */
} conn_link;

/* The lock is held for a few instructions and a system call at most (the
 * backend's repeer), so a spin is enough and needs nothing but C11. */
static void link_lock(conn_link *l) {
  while (atomic_flag_test_and_set_explicit(&l->busy, memory_order_acquire)) {
  }
}

static void link_unlock(conn_link *l) {
  atomic_flag_clear_explicit(&l->busy, memory_order_release);
}

/* A listener (`lis`) or a connected end (`os`): exactly one is set. */
struct shmkit_conn {
  shmkit__listener_os *lis;
  shmkit__conn_os *os;
  shmkit_peer peer; /* connected end: who is there */
  conn_link *link;  /* a pair's end: shared with the other end, or NULL */
  int side;         /* a pair's end: its index in link->end */
};

/* Takes up the connected end `h`: on failure `h` is still the caller's. */
static int conn_open(shmkit_conn **out, shmkit_handle h) {
  shmkit_conn *c = calloc(1, sizeof(*c));
  int err;

  if (c == NULL) return SHMKIT_ENOMEM;
  c->peer.pid = -1;
  c->peer.uid = -1;
  if ((err = shmkit__os_conn_open(h, &c->peer, &c->os)) != 0) {
    free(c);
    return err;
  }
  *out = c;
  return 0;
}

/* Takes up a new connected end: reads its peer and, with `same_user`,
 * refuses one of another user. Closes the handle on failure. */
static int conn_connected(shmkit_conn **out, shmkit_handle h, int same_user) {
  char me[SHMKIT_USER_MAX];
  int64_t uid;
  int err;

  if ((err = conn_open(out, h)) != 0) {
    shmkit__os_close(h);
    *out = NULL;
    return err;
  }
  if (same_user && ((err = shmkit__os_self_user(me, &uid)) != 0 ||
                    strcmp(me, (*out)->peer.user) != 0)) {
    shmkit_conn_close(*out);
    *out = NULL;
    return err != 0 ? err : SHMKIT_EACCES;
  }
  return 0;
}

int shmkit_listen(shmkit_conn **out, const char *endpoint) {
  shmkit_conn *c;
  int err;

  if (out == NULL) return SHMKIT_EINVAL;
  *out = NULL;
  if ((err = shmkit__name_check(endpoint)) != 0) return err;
  if ((c = calloc(1, sizeof(*c))) == NULL) return SHMKIT_ENOMEM;
  if ((err = shmkit__os_listen(endpoint, &c->lis)) != 0) {
    free(c);
    return err;
  }
  *out = c;
  return 0;
}

/* The deadline of a wait of `timeout_ms` (-1: forever) that starts now. */
static int64_t deadline_of(int timeout_ms) {
  return timeout_ms < 0 ? -1 : shmkit__os_now_ms() + timeout_ms;
}

/* What is left of a wait until `deadline`: -1 (no deadline), else 0 or
 * more. */
static int left_until(int64_t deadline) {
  int64_t left;

  if (deadline < 0) return -1;
  left = deadline - shmkit__os_now_ms();
  return left > 0 ? (int)left : 0;
}

int shmkit_accept(shmkit_conn **out, shmkit_conn *listener, int timeout_ms) {
  int64_t deadline;
  shmkit_handle h;
  int err;

  if (out == NULL) return SHMKIT_EINVAL;
  *out = NULL;
  if (listener == NULL || listener->lis == NULL || timeout_ms < -1)
    return SHMKIT_EINVAL;
  deadline = deadline_of(timeout_ms);
  /* A process of another user may reach an endpoint (Linux abstract
   * sockets have no permissions): it is turned away, and we wait on, but
   * only until the deadline, however many strangers keep coming. A client
   * gone before we could see who it was is not waited for either. */
  for (;;) {
    err = shmkit__os_accept(listener->lis, left_until(deadline), &h);
    if (err != 0) return err;
    err = conn_connected(out, h, 1);
    if (err != SHMKIT_EACCES && err != SHMKIT_ECLOSED) return err;
    /* Refused: with no time left, a stranger always queued must not keep
     * us here. */
    if (left_until(deadline) == 0) return SHMKIT_ETIMEDOUT;
  }
}

/* The pauses between two looks for a listener that is not there yet: short
 * at first, so that one that is starting is found at once, then longer, so
 * that a long wait costs little. */
#define CONNECT_PAUSE_FIRST_MS 2
#define CONNECT_PAUSE_MAX_MS   50

int shmkit_connect(shmkit_conn **out, const char *endpoint, int timeout_ms) {
  int64_t deadline;
  int pause = CONNECT_PAUSE_FIRST_MS, left, err;
  shmkit_handle h;

  if (out == NULL) return SHMKIT_EINVAL;
  *out = NULL;
  if ((err = shmkit__name_check(endpoint)) != 0) return err;
  if (timeout_ms < -1) return SHMKIT_EINVAL;
  deadline = deadline_of(timeout_ms);
  /* Until a listener exists there is nothing to wait on (no socket, no
   * pipe): look again after a pause, on every platform alike, until the
   * deadline; the last look is at the deadline. */
  while ((err = shmkit__os_connect(endpoint, left_until(deadline), &h)) ==
         SHMKIT_ENOENT) {
    if ((left = left_until(deadline)) == 0) return SHMKIT_ENOENT;
    shmkit__os_sleep_ms(left > 0 && left < pause ? left : pause);
    pause = pause * 2 > CONNECT_PAUSE_MAX_MS ? CONNECT_PAUSE_MAX_MS : pause * 2;
  }
  if (err != 0) return err;
  /* Whoever holds the name must be us: a name squatted by another user
   * would otherwise receive what we send. */
  return conn_connected(out, h, 1);
}

int shmkit_conn_pair(shmkit_conn **a, shmkit_conn **b) {
  shmkit_handle h[2];
  conn_link *link;
  int err;

  if (a == NULL || b == NULL) return SHMKIT_EINVAL;
  *a = *b = NULL;
  if ((link = calloc(1, sizeof(*link))) == NULL) return SHMKIT_ENOMEM;
  if ((err = shmkit__os_conn_pair(h)) != 0) {
    free(link);
    return err;
  }
  if ((err = conn_connected(a, h[0], 0)) != 0) {
    shmkit__os_close(h[1]);
    free(link);
    return err;
  }
  if ((err = conn_connected(b, h[1], 0)) != 0) {
    shmkit_conn_close(*a);
    *a = NULL;
    free(link);
    return err;
  }
  atomic_init(&link->refs, 2);
  atomic_flag_clear(&link->busy);
  link->end[0] = *a;
  link->end[1] = *b;
  (*a)->link = (*b)->link = link;
  (*b)->side = 1;
  return 0;
}

void shmkit__conn_spawned(shmkit_conn *c, int64_t pid, shmkit_handle proc) {
  conn_link *link = c->link;
  shmkit_conn *other;

  if (link == NULL) return;
  /* Only what the system said changes: the child's pid, from spawning it.
   * A backend that cannot follow keeps the old peer, which is still true
   * of who made the pair. The other end cannot be closed meanwhile. */
  link_lock(link);
  other = link->end[!c->side];
  if (other != NULL && shmkit__os_conn_repeer(other->os, pid, proc) == 0)
    other->peer.pid = pid;
  link_unlock(link);
}

void shmkit_conn_close(shmkit_conn *c) {
  if (c == NULL) return;
  if (c->link != NULL) {
    conn_link *link = c->link;
    link_lock(link);
    link->end[c->side] = NULL;
    link_unlock(link);
    if (atomic_fetch_sub(&link->refs, 1) == 1) free(link);
  }
  if (c->lis != NULL)
    shmkit__os_unlisten(c->lis);
  else
    shmkit__os_conn_close(c->os);
  free(c);
}

int shmkit_conn_send(shmkit_conn *c, const void *data, size_t size,
                     shmkit_region *const *regions, size_t count,
                     int timeout_ms) {
  shmkit_handle handles[SHMKIT_MSG_REGIONS_MAX];
  shmkit__frame f;
  shmkit__send m;

  if (c == NULL || c->lis != NULL || (size != 0 && data == NULL) ||
      (count != 0 && regions == NULL) || timeout_ms < -1)
    return SHMKIT_EINVAL;
  if (size > SHMKIT_MSG_MAX || count > SHMKIT_MSG_REGIONS_MAX)
    return SHMKIT_E2BIG;
  for (size_t i = 0; i < count; i++) {
    if (regions[i] == NULL) return SHMKIT_EINVAL;
    handles[i] = regions[i]->handle;
  }
  shmkit__frame_encode(&f, size, regions, count);
  m.frame = &f;
  m.data = data;
  m.size = size;
  m.handles = handles;
  m.count = count;
  return shmkit__os_send(c->os, &m, timeout_ms);
}

int shmkit_conn_recv(shmkit_conn *c, shmkit_msg *msg, int timeout_ms) {
  shmkit__recv m;
  size_t i;
  int err;

  if (msg == NULL) return SHMKIT_EINVAL;
  msg->size = 0;
  msg->count = 0;
  memset(msg->regions, 0, sizeof(msg->regions));
  if (c == NULL || c->lis != NULL ||
      (msg->capacity != 0 && msg->data == NULL) || timeout_ms < -1)
    return SHMKIT_EINVAL;
  m.data = msg->data;
  m.capacity = msg->capacity;
  if ((err = shmkit__os_recv(c->os, &m, timeout_ms)) != 0) return err;

  err = shmkit__frame_decode(&m.frame, m.got, m.payload, m.truncated, m.count,
                             msg->capacity);
  if (err == SHMKIT_E2BIG) msg->size = m.frame.size;
  /* Each region is checked as a token's would be: the handle must back
   * what the frame claims. The first that does not ends the message. */
  for (i = 0; err == 0 && i < m.count; i++)
    err = shmkit__region_adopt(&msg->regions[i], m.handles[i],
                               (int)m.frame.regions[i].access,
                               m.frame.regions[i].size, 1);
  if (err != 0) {
    for (size_t k = 0; k < m.count; k++) {
      if (msg->regions[k] != NULL)
        shmkit_region_close(msg->regions[k]);
      else
        shmkit__os_close(m.handles[k]);
      msg->regions[k] = NULL;
    }
    return err;
  }
  msg->size = m.frame.size;
  msg->count = m.count;
  /* Room to spare: a 0 after the payload lets a text payload be used as a
   * string (shmkit.h); the size still excludes it. */
  if (msg->size < msg->capacity) ((char *)msg->data)[msg->size] = '\0';
  return 0;
}

void shmkit_msg_close(shmkit_msg *msg) {
  if (msg == NULL) return;
  /* A region the caller kept is NULL in its slot: it is the caller's. */
  for (size_t i = 0; i < msg->count && i < SHMKIT_MSG_REGIONS_MAX; i++) {
    shmkit_region_close(msg->regions[i]);
    msg->regions[i] = NULL;
  }
  msg->count = 0;
}

shmkit_handle shmkit_conn_handle(const shmkit_conn *c) {
  return c->lis != NULL ? shmkit__os_listener_handle(c->lis)
                        : shmkit__os_conn_handle(c->os);
}

shmkit_handle shmkit__conn_handle(const shmkit_conn *c) {
  return c->lis != NULL ? SHMKIT_INVALID_HANDLE : shmkit__os_conn_handle(c->os);
}

shmkit_handle shmkit__conn_watch(shmkit_conn *c) {
  return c->lis != NULL ? SHMKIT_INVALID_HANDLE : shmkit__os_conn_watch(c->os);
}

int shmkit_conn_peer(const shmkit_conn *c, shmkit_peer *peer) {
  if (c == NULL || peer == NULL || c->lis != NULL) return SHMKIT_EINVAL;
  /* A pair's end: spawning with the other end may change it meanwhile. */
  if (c->link != NULL) link_lock(c->link);
  *peer = c->peer;
  if (c->link != NULL) link_unlock(c->link);
  return 0;
}

int shmkit_conn_token(const shmkit_conn *c, char *buf, size_t buf_size) {
  if (c == NULL || buf == NULL || c->lis != NULL) return SHMKIT_EINVAL;
  return shmkit__token_format_conn(shmkit__os_conn_handle(c->os), buf,
                                   buf_size) < 0
             ? SHMKIT_E2BIG
             : 0;
}

int shmkit_conn_from_token(shmkit_conn **out, const char *token) {
  shmkit_handle h;
  int err;

  if (out == NULL) return SHMKIT_EINVAL;
  *out = NULL;
  if ((err = shmkit__token_parse_conn(token, &h)) != 0) return err;
  if ((err = shmkit__os_conn_check(h)) != 0) return err;
  /* On failure the handle stays the caller's, as a token's region does. */
  if ((err = shmkit__os_set_private(h)) != 0) return err;
  return conn_open(out, h);
}

int shmkit_conn_from_env(shmkit_conn **out, const char *name) {
  const char *value = NULL;
  int err = shmkit__token_from_env(name, out, &value);

  if (err != 0 && out != NULL) *out = NULL;
  return err != 0 ? err : shmkit_conn_from_token(out, value);
}
