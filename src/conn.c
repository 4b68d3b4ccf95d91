/* Connections: endpoint rules, the same-user policy, framing, and the checks
 * every received region goes through. The backend moves bytes and handles.
 */
#include <stdatomic.h>
#include <stdio.h>
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

struct shmkit_conn {
  shmkit_handle handle;
  int listener;                    /* 1: accepts, never sends or receives */
  shmkit__listener os;             /* listener: what the backend must remove */
  char name[SHMKIT__NAME_MAX + 1]; /* listener: its endpoint */
  shmkit_peer peer;                /* connected end: who is there */
  shmkit__conn_os *os_state;       /* connected end: the backend's */
  conn_link *link; /* a pair's end: shared with the other end, or NULL */
  int side;        /* a pair's end: its index in link->end */
};

static int conn_new(shmkit_conn **out, shmkit_handle h, int listener) {
  shmkit_conn *c = calloc(1, sizeof(*c));

  if (c == NULL) return SHMKIT_ENOMEM;
  c->handle = h;
  c->listener = listener;
  c->peer.pid = -1;
  c->peer.uid = -1;
  *out = c;
  return 0;
}

/* Takes up a new connected end: reads its peer and, with `same_user`,
 * refuses one of another user. Closes the handle on failure. */
static int conn_connected(shmkit_conn **out, shmkit_handle h, int same_user) {
  char me[SHMKIT_USER_MAX];
  int64_t uid;
  int err;

  if ((err = conn_new(out, h, 0)) != 0) {
    shmkit__os_close(h);
    return err;
  }
  if ((err = shmkit__os_conn_open(h, &(*out)->peer, &(*out)->os_state)) != 0) {
    shmkit__os_close(h);
    free(*out);
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
  shmkit_handle h;
  int err;

  if (out == NULL) return SHMKIT_EINVAL;
  *out = NULL;
  if ((err = shmkit__name_check(endpoint)) != 0) return err;
  if ((err = conn_new(out, SHMKIT_INVALID_HANDLE, 1)) != 0) return err;
  if ((err = shmkit__os_listen(endpoint, &h, &(*out)->os)) != 0) {
    free(*out);
    *out = NULL;
    return err;
  }
  (*out)->handle = h;
  strcpy((*out)->name, endpoint);
  return 0;
}

int shmkit_accept(shmkit_conn *listener, shmkit_conn **out, int timeout_ms) {
  int64_t deadline = 0, left = -1;
  shmkit_handle h;
  int err;

  if (out == NULL) return SHMKIT_EINVAL;
  *out = NULL;
  if (listener == NULL || !listener->listener || timeout_ms < -1)
    return SHMKIT_EINVAL;
  if (timeout_ms >= 0) deadline = shmkit__os_now_ms() + timeout_ms;
  /* A process of another user may reach an endpoint (Linux abstract
   * sockets have no permissions): it is turned away, and we wait on, but
   * only until the deadline, however many strangers keep coming. A client
   * gone before we could see who it was is not waited for either. */
  for (;;) {
    if (timeout_ms >= 0) {
      left = deadline - shmkit__os_now_ms();
      if (left < 0) left = 0;
    }
    err = shmkit__os_accept(listener->name, &listener->handle, (int)left, &h);
    if (err != 0) return err;
    err = conn_connected(out, h, 1);
    if (err != SHMKIT_EACCES && err != SHMKIT_ECLOSED) return err;
    /* Refused: with no time left, a stranger always queued must not keep
     * us here. */
    if (timeout_ms >= 0 && shmkit__os_now_ms() >= deadline)
      return SHMKIT_ETIMEDOUT;
  }
}

int shmkit_connect(shmkit_conn **out, const char *endpoint, int timeout_ms) {
  shmkit_handle h;
  int err;

  if (out == NULL) return SHMKIT_EINVAL;
  *out = NULL;
  if ((err = shmkit__name_check(endpoint)) != 0) return err;
  if (timeout_ms < -1) return SHMKIT_EINVAL;
  if ((err = shmkit__os_connect(endpoint, timeout_ms, &h)) != 0) return err;
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
  if (other != NULL && shmkit__os_conn_repeer(other->os_state, pid, proc) == 0)
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
  if (c->listener)
    shmkit__os_unlisten(c->name, c->handle, &c->os);
  else
    shmkit__os_conn_close(c->handle, c->os_state);
  free(c);
}

int shmkit_conn_send(shmkit_conn *c, const void *data, size_t size,
                     shmkit_region *const *regions, size_t count,
                     int timeout_ms) {
  shmkit_handle handles[SHMKIT_MSG_REGIONS_MAX];
  shmkit__frame f;

  if (c == NULL || c->listener || (size != 0 && data == NULL) ||
      (count != 0 && regions == NULL) || timeout_ms < -1)
    return SHMKIT_EINVAL;
  if (size > SHMKIT_MSG_MAX || count > SHMKIT_MSG_REGIONS_MAX)
    return SHMKIT_E2BIG;
  for (size_t i = 0; i < count; i++) {
    if (regions[i] == NULL) return SHMKIT_EINVAL;
    handles[i] = regions[i]->handle;
  }
  shmkit__frame_encode(&f, size, regions, count);
  return shmkit__os_send(c->handle, c->os_state, &f, data, size, handles, count,
                         timeout_ms);
}

int shmkit_conn_recv(shmkit_conn *c, shmkit_msg *msg, int timeout_ms) {
  shmkit_handle handles[SHMKIT_MSG_REGIONS_MAX];
  shmkit__frame f;
  size_t got, payload, count = 0, i;
  int truncated, err;

  if (msg == NULL) return SHMKIT_EINVAL;
  msg->size = 0;
  msg->count = 0;
  memset(msg->regions, 0, sizeof(msg->regions));
  if (c == NULL || c->listener || (msg->capacity != 0 && msg->data == NULL) ||
      timeout_ms < -1)
    return SHMKIT_EINVAL;
  err = shmkit__os_recv(c->handle, c->os_state, &f, &got, msg->data,
                        msg->capacity, &payload, &truncated, handles, &count,
                        timeout_ms);
  if (err != 0) return err;

  err = shmkit__frame_decode(&f, got, payload, truncated, count, msg->capacity);
  if (err == SHMKIT_E2BIG) msg->size = f.size;
  /* Each region is checked as a token's would be: the handle must back
   * what the frame claims. The first that does not ends the message. */
  for (i = 0; err == 0 && i < count; i++)
    err = shmkit__region_adopt(&msg->regions[i], handles[i],
                               (int)f.regions[i].access, f.regions[i].size, 1);
  if (err != 0) {
    for (size_t k = 0; k < count; k++) {
      if (msg->regions[k] != NULL)
        shmkit_region_close(msg->regions[k]);
      else
        shmkit__os_close(handles[k]);
      msg->regions[k] = NULL;
    }
    return err;
  }
  msg->size = f.size;
  msg->count = count;
  return 0;
}

shmkit_handle shmkit_conn_handle(const shmkit_conn *c) {
  return c->handle;
}

shmkit_handle shmkit__conn_handle(const shmkit_conn *c) {
  return c->listener ? SHMKIT_INVALID_HANDLE : c->handle;
}

int shmkit_conn_peer(const shmkit_conn *c, shmkit_peer *peer) {
  if (c == NULL || peer == NULL || c->listener) return SHMKIT_EINVAL;
  /* A pair's end: spawning with the other end may change it meanwhile. */
  if (c->link != NULL) link_lock(c->link);
  *peer = c->peer;
  if (c->link != NULL) link_unlock(c->link);
  return 0;
}

int shmkit_conn_token(const shmkit_conn *c, char *buf, size_t buf_size) {
  int len;

  if (c == NULL || buf == NULL || c->listener || c->handle < 0)
    return SHMKIT_EINVAL;
  len = snprintf(buf, buf_size, "shmkit1:%llu:conn",
                 (unsigned long long)c->handle);
  if (len < 0) return SHMKIT_EINVAL;
  return (size_t)len < buf_size ? len : SHMKIT_E2BIG;
}

int shmkit_conn_from_token(shmkit_conn **out, const char *token) {
  shmkit_handle h;
  int err;

  if (out == NULL) return SHMKIT_EINVAL;
  *out = NULL;
  if ((err = shmkit__token_parse_conn(token, &h)) != 0) return err;
  if ((err = shmkit__os_conn_check(h)) != 0) return err;
  if ((err = conn_new(out, h, 0)) != 0) return err;
  /* On failure the handle stays the caller's, as a token's region does. */
  if ((err = shmkit__os_set_private(h)) != 0 ||
      (err = shmkit__os_conn_open(h, &(*out)->peer, &(*out)->os_state)) != 0) {
    free(*out);
    *out = NULL;
    return err;
  }
  return 0;
}

int shmkit_conn_from_env(shmkit_conn **out, const char *name) {
  const char *value;

  if (out == NULL) return SHMKIT_EINVAL;
  *out = NULL;
  if (name == NULL || name[0] == '\0' || strchr(name, '=') != NULL)
    return SHMKIT_EINVAL;
  if ((value = getenv(name)) == NULL) return SHMKIT_ENOENT;
  return shmkit_conn_from_token(out, value);
}

int shmkit_region_pull(shmkit_region **out, int64_t pid, shmkit_handle remote,
                       int access) {
  shmkit_handle h;
  int err;

  if (out == NULL) return SHMKIT_EINVAL;
  *out = NULL;
  if (pid <= 0 || remote < 0) return SHMKIT_EINVAL;
  if ((err = shmkit__access_check(access)) != 0) return err;
  if ((err = shmkit__os_pull(pid, remote, access, &h)) != 0) return err;
  if ((err = shmkit__region_adopt(out, h, access, 0, 1)) != 0)
    shmkit__os_close(h); /* ours: pidfd_getfd made a new handle */
  return err;
}
