/* What the public API cannot tell: which named regions exist, which
 * anonymous ones processes hold, and who holds each. One implementation per
 * system: list-linux.c (/dev/shm and /proc), list-win.c (the object
 * directory of the session), list-none.c (other systems: nothing). */
#ifndef SHMKIT_TOOL_LIST_H
#define SHMKIT_TOOL_LIST_H

#include <stddef.h>
#include <stdint.h>

#include "shmkit.h"

/* A process that holds an object: open (its descriptors) or mapped. */
#define LIST_FDS_MAX 8
typedef struct list_holder {
  int64_t pid;
  char program[64]; /* Linux: /proc/PID/comm */
  int fds[LIST_FDS_MAX];
  size_t nfds; /* how many descriptors (only the first 8 are kept) */
  int mapped;  /* 1 if it maps the object */
} list_holder;

/* Kinds of object. */
#define LIST_NAMED                                                             \
  0 /* a name (POSIX: a file of /dev/shm; Windows: a section) */
#define LIST_MEMFD       1 /* Linux: a memfd */
#define LIST_SHMKIT_ANON 2 /* shmkit's anonymous object without memfd */
#define LIST_DELETED     3 /* another /dev/shm object whose name was removed */

typedef struct list_object {
  char *name;      /* the name; an anonymous object's label (memfd:NAME) */
  int kind;        /* LIST_... */
  int global;      /* Windows: in Global\ (the machine's namespace) */
  int64_t size;    /* -1: unknown */
  int64_t uid;     /* -1: unknown */
  int mode;        /* permission bits; -1: unknown */
  int64_t created; /* seconds since 1970; -1: unknown */
  const char *created_from; /* "btime" or "ctime"; NULL if unknown */
  int64_t seals; /* SHMKIT_SEAL_... bits; -1: unknown or none exist */
  uint64_t dev, ino;
  list_holder *holders;
  size_t nholders;
} list_object;

typedef struct list_result {
  list_object *objs;
  size_t n;
  /* Holders can be listed on this system (Linux). */
  int holders_known;
  /* Processes of this user whose descriptors could not be read: what they
   * hold is not seen. */
  size_t unreadable;
} list_result;

/* Fills *out with the named objects (`named`) and the anonymous ones this
 * user's processes hold (`anonymous`), each with its holders. 0, or a
 * shmkit error (SHMKIT_ENOTSUP where there is nothing to list with). */
int list_scan(list_result *out, int named, int anonymous);

/* The one named object `name` (flags: SHMKIT_GLOBAL), in out->objs[0]:
 * SHMKIT_ENOENT if it does not exist. */
int list_named(list_result *out, const char *name, unsigned flags);

/* Linux: the object process `pid` holds at descriptor `fd`, in
 * out->objs[0], and a read-only descriptor of it of our own in *handle
 * (the caller owns it). SHMKIT_ENOTSUP elsewhere. */
int list_pidfd(list_result *out, int64_t pid, int fd, shmkit_handle *handle);

/* For reap, just before removing: 0 if `name` still names the object o
 * describes and no process holds it; else a shmkit error
 * (SHMKIT_EBUSY: held now; SHMKIT_EEXIST: another object has the name;
 * SHMKIT_ENOENT: gone). */
int list_recheck(const list_object *o);

/* The seals of a handle as the system reports them (Linux: also in the
 * portable build, where the library does not ask); -1 where unknown. */
int64_t list_seals(shmkit_handle h);

/* The user's name for a uid, into buf; the number if it has none. */
void list_user_name(int64_t uid, char *buf, size_t size);

/* This process's effective user; -1 where there is none (Windows). */
int64_t list_euid(void);

/* Seconds since 1970, now. */
int64_t list_now(void);

/* Zeroes *o as an object of that kind of which nothing is known yet:
 * size, uid, mode, creation time and seals unknown (-1). */
void list_object_init(list_object *o, int kind);

void list_free(list_result *r);

/* Output shared by ls and info (show.c). */
const char *show_kind(int kind); /* "named", "memfd", "shmkit", "deleted" */
void show_holders_text(const list_object *o, const list_result *r);
void show_holders_json(const list_object *o, const list_result *r);
/* "shrink,grow", "none" or "unknown", into buf. */
void show_seals_text(int64_t seals, char *buf, size_t size);
void show_seals_json(int64_t seals);
/* ,"size","uid","owner","mode" and ,"created","created_from" of o. */
void show_owner_json(const list_object *o, int *first);
void show_created_json(const list_object *o, int *first);
void show_time(int64_t t, char *buf, size_t size); /* local, or "-" */
void show_size(uint64_t size, char *buf, size_t size_of_buf); /* 4.0M */

#endif
