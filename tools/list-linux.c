/* Linux: named regions are the files of /dev/shm (shm_open's directory);
 * who holds what comes from /proc: /proc/PID/fd (descriptors) and
 * /proc/PID/maps (mappings), matched to objects by device and inode.
 * Only processes this user may look into are seen (its own, or all for
 * root); the others hold nothing as far as this file can tell. */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "list.h"

#define SHM_DIR "/dev/shm"

/* One descriptor or mapping of a /dev/shm file or memfd by one process. */
typedef struct hit {
  int64_t pid;
  char dir[48]; /* /proc/PID, or a thread's /proc/PID/task/TID: live_dir() */
  char program[64];
  int fd; /* -1: a mapping */
  uint64_t dev, ino;
  int64_t size;   /* from the descriptor; -1 for a mapping */
  char *path;     /* the link or the maps path */
  char range[40]; /* a mapping's addresses, its name in map_files */
} hit;

typedef struct hits {
  hit *v;
  size_t n, cap;
  size_t unreadable;
  char **roots; /* where /dev/shm's files show: shm_roots() */
  size_t nroots;
} hits;

static int add_hit(hits *h, const hit *one) {
  if (h->n == h->cap) {
    size_t cap = h->cap ? h->cap * 2 : 64;
    hit *v = realloc(h->v, cap * sizeof(*v));
    if (v == NULL) return SHMKIT_ENOMEM;
    h->v = v;
    h->cap = cap;
  }
  h->v[h->n] = *one;
  if ((h->v[h->n].path = strdup(one->path)) == NULL) return SHMKIT_ENOMEM;
  h->n++;
  return 0;
}

static void free_hits(hits *h) {
  for (size_t i = 0; i < h->n; i++) free(h->v[i].path);
  for (size_t i = 0; i < h->nroots; i++) free(h->roots[i]);
  free(h->v);
  free(h->roots);
}

/* What the tool stats or opens is wherever a process points a descriptor,
 * or whatever is at a name: a user may mount FUSE on a file or directory of
 * its own in /dev/shm (fusermount), or hold a file of one, and a server
 * that does not answer would hold a stat() or an open() of it for ever.
 * So every stat here takes what the kernel already has (statx with
 * AT_STATX_DONT_SYNC, which FUSE answers without its server, since Linux
 * 4.11; older kernels, and a sandbox that denies statx, get fstatat), and
 * only a file of /dev/shm's file system, or a memfd, counts or is opened.
 * A struct stat, for the fields the tool reads, and *btime (if not NULL):
 * the birth time, or -1 where the file system keeps none. */
static int cached_stat(int dir, const char *path, int flags, struct stat *st,
                       int64_t *btime) {
#ifdef STATX_BASIC_STATS
  struct statx sx;

  if (btime != NULL) *btime = -1;
  if (statx(dir, path, flags | AT_STATX_DONT_SYNC,
            STATX_BASIC_STATS | STATX_BTIME, &sx) != 0)
    return errno == ENOSYS || errno == EPERM ? fstatat(dir, path, st, flags)
                                             : -1;
  memset(st, 0, sizeof(*st));
  st->st_dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
  st->st_ino = sx.stx_ino;
  st->st_mode = sx.stx_mode;
  st->st_uid = sx.stx_uid;
  st->st_size = (off_t)sx.stx_size;
  st->st_ctim.tv_sec = sx.stx_ctime.tv_sec;
  if (btime != NULL && (sx.stx_mask & STATX_BTIME))
    *btime = sx.stx_btime.tv_sec;
  return 0;
#else
  if (btime != NULL) *btime = -1;
  return fstatat(dir, path, st, flags);
#endif
}

/* The devices of shared memory: /dev/shm's file system, and memfds' (from a
 * memfd of our own; 0 where none could be made), learned once. */
static dev_t shm_dev, memfd_dev;

static void learn_devices(void) {
  static int known;
  struct stat own;
  int fd = -1;

  if (known) return;
  known = 1;
  if (stat(SHM_DIR, &own) == 0) shm_dev = own.st_dev;
#ifdef MFD_CLOEXEC
  fd = memfd_create("shmkit-tool", MFD_CLOEXEC);
#endif
  if (fd >= 0) {
    if (fstat(fd, &own) == 0) memfd_dev = own.st_dev;
    close(fd);
  }
}

/* 1 if a file of device dev, at path (a /proc link, or a maps line's
 * path), may be shared memory: on /dev/shm's file system, or a memfd by
 * its link (whose text no file of a mount can take: it is no path). */
static int shm_device(dev_t dev, const char *path) {
  learn_devices();
  return (shm_dev != 0 && dev == shm_dev) || strncmp(path, "/memfd:", 7) == 0;
}

/* 1 if st is a regular file of /dev/shm's file system or a memfd, by its
 * device alone: what may be opened. */
static int shm_file(const struct stat *st) {
  learn_devices();
  return S_ISREG(st->st_mode) && ((shm_dev != 0 && st->st_dev == shm_dev) ||
                                  (memfd_dev != 0 && st->st_dev == memfd_dev));
}

/* A mountinfo field in place: its octal escapes (\040 a space...) undone. */
static void unescape(char *s) {
  char *o = s;

  for (; *s; s++, o++) {
    if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
        s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
      *o = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
      s += 3;
    } else {
      *o = *s;
    }
  }
  *o = 0;
}

/* Where the files of /dev/shm show in a process's /proc links: /dev/shm,
 * and, when /dev/shm is the root of a mount, every other mount of the same
 * file system (a bind mount, a chroot's /dev/shm), since a process that
 * holds a name through one of those holds it as much. Read from our own
 * mountinfo: a link is written as this process sees the file. */
static int shm_roots(hits *h) {
  struct stat st;
  char *line = NULL, root[8] = "";
  size_t cap = 0;
  FILE *f;
  int err = 0;

  if ((h->roots = malloc(sizeof(*h->roots))) == NULL ||
      (h->roots[0] = strdup(SHM_DIR)) == NULL)
    return SHMKIT_ENOMEM;
  h->nroots = 1;
  if (stat(SHM_DIR, &st) != 0 ||
      (f = fopen("/proc/self/mountinfo", "r")) == NULL)
    return 0;
  /* Two passes: /dev/shm's own mount first, whose root must be its file
   * system's, then the others of its device. */
  for (int pass = 0; pass < 2 && err == 0; pass++) {
    rewind(f);
    while (err == 0 && getline(&line, &cap, f) > 0) {
      unsigned maj, min;
      int r = -1, m = -1, me = -1, re = -1;

      if (sscanf(line, "%*u %*u %u:%u %n%*s%n %n%*s%n", &maj, &min, &r, &re, &m,
                 &me) < 2 ||
          me < 0 || makedev(maj, min) != st.st_dev)
        continue;
      line[re] = line[me] = 0;
      unescape(line + r);
      unescape(line + m);
      if (pass == 0) {
        if (strcmp(line + m, SHM_DIR) == 0)
          snprintf(root, sizeof(root), "%s", line + r);
      } else if (strcmp(root, "/") == 0 && strcmp(line + m, SHM_DIR) != 0) {
        char **v = realloc(h->roots, (h->nroots + 1) * sizeof(*v));
        if (v == NULL || (v[h->nroots] = strdup(line + m)) == NULL) {
          if (v != NULL) h->roots = v;
          err = SHMKIT_ENOMEM;
          break;
        }
        h->roots = v;
        h->nroots++;
      }
    }
  }
  free(line);
  fclose(f);
  return err;
}

/* The paths a shared memory object shows in /proc: under one of the roots
 * of /dev/shm's files, or a memfd. */
static int interesting(const hits *h, const char *path) {
  if (strncmp(path, "/memfd:", 7) == 0) return 1;
  for (size_t i = 0; i < h->nroots; i++) {
    size_t n = strlen(h->roots[i]);
    if (strncmp(path, h->roots[i], n) == 0 &&
        (path[n] == '/' || strcmp(h->roots[i], "/") == 0))
      return 1;
  }
  return 0;
}

static void read_comm(int64_t pid, char *buf, size_t size) {
  char path[64];
  FILE *f;

  snprintf(path, sizeof(path), "/proc/%lld/comm", (long long)pid);
  buf[0] = 0;
  if ((f = fopen(path, "r")) == NULL) return;
  if (fgets(buf, (int)size, f) != NULL) buf[strcspn(buf, "\n")] = 0;
  fclose(f);
}

/* The kernel's PF_EXITING, in the flags of /proc/.../stat: set as a
 * thread starts to exit, before it lets go of its memory and files. */
#define TASK_EXITING 0x4u

/* Whether the thread whose /proc directory is `dir` has exited or is
 * exiting: it holds nothing any more, or will not for long, and once its
 * memory is gone its files there are root's and cannot be read. */
static int exited(const char *dir) {
  char path[96], buf[512], *close_paren, state;
  unsigned flags;
  size_t n;
  FILE *f;

  snprintf(path, sizeof(path), "%s/stat", dir);
  if ((f = fopen(path, "r")) == NULL) return 1;
  n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = 0;
  /* "pid (comm) S ppid pgrp session tty tpgid flags ...": the comm may
   * hold anything, ')' included. */
  if ((close_paren = strrchr(buf, ')')) == NULL ||
      sscanf(close_paren + 1, " %c %*d %*d %*d %*d %*d %u", &state, &flags) !=
          2)
    return 0;
  return state == 'Z' || state == 'X' || (flags & TASK_EXITING) != 0;
}

/* Where to read process pid's descriptors and mappings, into dir: /proc/PID;
 * or, where its first thread has exited while others run on (the first
 * then shows neither, to root too), one of the others' /proc/PID/task/TID,
 * which shares them. 0; or -1 if every thread has exited. */
static int live_dir(int64_t pid, char *dir, size_t size) {
  char path[64];
  struct dirent *e;
  DIR *d;

  snprintf(dir, size, "/proc/%lld", (long long)pid);
  if (!exited(dir)) return 0;
  snprintf(path, sizeof(path), "/proc/%lld/task", (long long)pid);
  if ((d = opendir(path)) == NULL) return -1;
  while ((e = readdir(d)) != NULL) {
    if (!isdigit((unsigned char)e->d_name[0])) continue;
    snprintf(dir, size, "/proc/%lld/task/%.10s", (long long)pid, e->d_name);
    if (!exited(dir)) {
      closedir(d);
      return 0;
    }
  }
  closedir(d);
  return -1;
}

static int scan_fds(hits *h, int64_t pid, const char *dir, const char *comm,
                    int own) {
  char path[96], link[4096];
  struct dirent *e;
  struct stat st;
  DIR *d;
  int err = 0;

  snprintf(path, sizeof(path), "%s/fd", dir);
  if ((d = opendir(path)) == NULL) {
    if (errno == EACCES && own && !exited(dir)) h->unreadable++;
    return 0;
  }
  while (err == 0 && (e = readdir(d)) != NULL) {
    ssize_t n;
    hit one;
    char *end;
    long fd = strtol(e->d_name, &end, 10);

    if (!isdigit((unsigned char)e->d_name[0]) || *end != 0) continue;
    n = readlinkat(dirfd(d), e->d_name, link, sizeof(link) - 1);
    if (n < 0) continue;
    link[n] = 0;
    if (!interesting(h, link)) continue;
    if (cached_stat(dirfd(d), e->d_name, 0, &st, NULL) != 0 ||
        !S_ISREG(st.st_mode) || !shm_device(st.st_dev, link))
      continue;
    memset(&one, 0, sizeof(one));
    one.pid = pid;
    snprintf(one.dir, sizeof(one.dir), "%s", dir);
    snprintf(one.program, sizeof(one.program), "%s", comm);
    one.fd = (int)fd;
    one.dev = st.st_dev;
    one.ino = st.st_ino;
    one.size = st.st_size;
    one.path = link;
    err = add_hit(h, &one);
  }
  closedir(d);
  return err;
}

static int scan_maps(hits *h, int64_t pid, const char *dir, const char *comm) {
  char path[96], line[4096 + 256];
  FILE *f;
  int err = 0;

  snprintf(path, sizeof(path), "%s/maps", dir);
  if ((f = fopen(path, "r")) == NULL) return 0;
  while (err == 0 && fgets(line, sizeof(line), f) != NULL) {
    unsigned maj, min;
    unsigned long long ino, start, end;
    size_t len = strcspn(line, "\n");
    int at = -1, c;
    hit one;

    /* A longer line than any path holds: its end, which any user can
     * choose (a path of deep directories), must not read as a line of its
     * own, so it goes unread, and the line with it. */
    if (line[len] != '\n' && len == sizeof(line) - 1) {
      while ((c = getc(f)) != EOF && c != '\n') continue;
      continue;
    }
    line[len] = 0;
    if (sscanf(line, "%llx-%llx %*s %*x %x:%x %llu %n", &start, &end, &maj,
               &min, &ino, &at) < 5 ||
        at < 0 || !interesting(h, line + at) ||
        !shm_device(makedev(maj, min), line + at))
      continue;
    memset(&one, 0, sizeof(one));
    one.pid = pid;
    snprintf(one.dir, sizeof(one.dir), "%s", dir);
    snprintf(one.program, sizeof(one.program), "%s", comm);
    one.fd = -1;
    one.dev = makedev(maj, min);
    one.ino = ino;
    one.size = -1;
    one.path = line + at;
    snprintf(one.range, sizeof(one.range), "%llx-%llx", start, end);
    err = add_hit(h, &one);
  }
  fclose(f);
  return err;
}

/* Every descriptor and mapping of a shared memory object in every process
 * this user may look into, but this one. */
static int scan_proc(hits *h) {
  struct dirent *e;
  DIR *d;
  int err = 0;
  int64_t self = getpid();
  uid_t euid = geteuid();

  memset(h, 0, sizeof(*h));
  if ((err = shm_roots(h)) != 0) {
    free_hits(h);
    return err;
  }
  if ((d = opendir("/proc")) == NULL) {
    free_hits(h);
    return SHMKIT_ENOTSUP;
  }
  while (err == 0 && (e = readdir(d)) != NULL) {
    char comm[64], path[64], dir[48]; /* as a hit's */
    struct stat st;
    char *end;
    long long pid = strtoll(e->d_name, &end, 10);

    if (!isdigit((unsigned char)e->d_name[0]) || *end != 0 || pid == self)
      continue;
    snprintf(path, sizeof(path), "/proc/%lld", pid);
    if (stat(path, &st) != 0) continue;                 /* gone meanwhile */
    if (live_dir(pid, dir, sizeof(dir)) != 0) continue; /* it holds nothing */
    read_comm(pid, comm, sizeof(comm));
    err = scan_fds(h, pid, dir, comm, st.st_uid == euid);
    if (err == 0) err = scan_maps(h, pid, dir, comm);
  }
  closedir(d);
  if (err != 0) free_hits(h);
  return err;
}

static void add_holders(list_object *o, const hits *h) {
  for (size_t i = 0; i < h->n; i++) {
    const hit *x = &h->v[i];
    list_holder *k = NULL;

    if (x->dev != o->dev || x->ino != o->ino) continue;
    for (size_t j = 0; j < o->nholders; j++)
      if (o->holders[j].pid == x->pid) k = &o->holders[j];
    if (k == NULL) {
      list_holder *v =
          realloc(o->holders, (o->nholders + 1) * sizeof(*o->holders));
      if (v == NULL) continue; /* seen as fewer holders: no worse */
      o->holders = v;
      k = &o->holders[o->nholders++];
      memset(k, 0, sizeof(*k));
      k->pid = x->pid;
      snprintf(k->program, sizeof(k->program), "%s", x->program);
    }
    if (x->fd < 0)
      k->mapped = 1;
    else {
      if (k->nfds < LIST_FDS_MAX) k->fds[k->nfds] = x->fd;
      k->nfds++;
    }
  }
}

static int push(list_result *r, list_object *o) {
  list_object *v = realloc(r->objs, (r->n + 1) * sizeof(*v));
  if (v == NULL) {
    free(o->name);
    free(o->holders);
    return SHMKIT_ENOMEM;
  }
  r->objs = v;
  r->objs[r->n++] = *o;
  return 0;
}

/* Fills o from a file of /dev/shm (dirfd d, name), with its birth time
 * where the file system keeps one. 0, or -1 if it is no regular file of
 * /dev/shm's own (a mount point, say: cached_stat()). */
static int describe(int d, const char *name, list_object *o) {
  struct stat st;
  int64_t born;

  list_object_init(o, LIST_NAMED);
  if (cached_stat(d, name, AT_SYMLINK_NOFOLLOW, &st, &born) != 0 ||
      !shm_file(&st))
    return -1;
  o->size = st.st_size;
  o->uid = st.st_uid;
  o->mode = st.st_mode & 07777;
  o->dev = st.st_dev;
  o->ino = st.st_ino;
  o->created = born >= 0 ? born : st.st_ctime;
  o->created_from = born >= 0 ? "btime" : "ctime";
  return 0;
}

static int scan_named(list_result *r, const hits *h, const char *only) {
  struct dirent *e;
  DIR *d;
  int err = 0;

  if ((d = opendir(SHM_DIR)) == NULL)
    return errno == ENOENT ? 0 : SHMKIT_EACCES;
  while (err == 0 && (e = readdir(d)) != NULL) {
    list_object o;

    if (e->d_name[0] == '.' &&
        (e->d_name[1] == 0 || (e->d_name[1] == '.' && e->d_name[2] == 0)))
      continue;
    if (only != NULL && strcmp(e->d_name, only) != 0) continue;
    if (describe(dirfd(d), e->d_name, &o) != 0) continue;
    if ((o.name = strdup(e->d_name)) == NULL) {
      err = SHMKIT_ENOMEM;
      break;
    }
    add_holders(&o, h);
    err = push(r, &o);
  }
  closedir(d);
  return err;
}

/* Kernel seals to shmkit's bits. */
static int64_t seals_of(int fd) {
#ifdef F_GET_SEALS
  int k = fcntl(fd, F_GET_SEALS);
  int64_t s = 0;

  if (k < 0) return -1;
  if (k & F_SEAL_SHRINK) s |= SHMKIT_SEAL_SHRINK;
  if (k & F_SEAL_GROW) s |= SHMKIT_SEAL_GROW;
  if (k & F_SEAL_WRITE) s |= SHMKIT_SEAL_WRITE;
#  ifdef F_SEAL_FUTURE_WRITE
  if (k & F_SEAL_FUTURE_WRITE) s |= SHMKIT_SEAL_FUTURE_WRITE;
#  endif
  if (k & F_SEAL_SEAL) s |= SHMKIT_SEAL_SEAL;
  return s;
#else
  (void)fd;
  return -1;
#endif
}

/* Opens, read-only, the shared memory file a link of /proc leads to (of
 * /dev/shm's file system, or a memfd: shm_file()), and nothing else. What
 * a process holds is its own choice, and it can point a descriptor at a
 * device it may not open itself (O_PATH): opened as such with our rights,
 * a device would act (a tape rewinds, a terminal becomes ours), a FUSE
 * file would wait for its server, and the process can swap what the
 * number holds between our look and our open. So the link is taken with
 * O_PATH, which opens nothing of the object's own; that very object is
 * checked, then opened through our own descriptor. -1 with errno set
 * (ENOTSUP: no such file). */
static int open_regular(const char *path) {
  char self[48];
  struct stat st;
  int p = open(path, O_PATH | O_CLOEXEC), fd = -1, saved;

  if (p < 0) return -1;
  if (cached_stat(p, "", AT_EMPTY_PATH, &st, NULL) != 0 || !shm_file(&st)) {
    saved = ENOTSUP;
  } else {
    snprintf(self, sizeof(self), "/proc/self/fd/%d", p);
    fd = open(self, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    saved = errno;
  }
  close(p);
  errno = saved;
  return fd;
}

/* Opens what the process of /proc directory `dir` holds at fd, if it is a
 * regular file (open_regular()). */
static int open_fd_in(const char *dir, int fd) {
  char path[96];
  snprintf(path, sizeof(path), "%s/fd/%d", dir, fd);
  return open_regular(path);
}

/* Opens the object of a hit, read-only: a descriptor through its
 * directory's fd; a mapping through its map_files, which the kernel
 * opens only for a caller with CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE
 * (-1 otherwise). */
static int open_hit(const hit *x) {
  char path[128];

  if (x->fd >= 0) return open_fd_in(x->dir, x->fd);
  snprintf(path, sizeof(path), "%s/map_files/%s", x->dir, x->range);
  return open_regular(path);
}

/* "/memfd:NAME (deleted)" -> kind and label. */
static int anon_kind(const char *path, char *label, size_t size) {
  static const char deleted[] = " (deleted)";
  size_t n = strlen(path), dl = sizeof(deleted) - 1;
  const char *base;

  if (n >= dl && strcmp(path + n - dl, deleted) == 0)
    n -= dl;
  else if (strncmp(path, "/memfd:", 7) != 0)
    return -1; /* a named object, still linked */
  if (strncmp(path, "/memfd:", 7) == 0) {
    snprintf(label, size, "%.*s", (int)n - 1, path + 1);
    return LIST_MEMFD;
  }
  snprintf(label, size, "%.*s", (int)n, path);
  base = path + sizeof(SHM_DIR);
  if (n - sizeof(SHM_DIR) == 23 && strncmp(base, "shmkit.", 7) == 0 &&
      strspn(base + 7, "0123456789abcdef") >= 16)
    return LIST_SHMKIT_ANON;
  return LIST_DELETED;
}

static int scan_anon(list_result *r, const hits *h, uid_t euid) {
  int err = 0;

  for (size_t i = 0; err == 0 && i < h->n; i++) {
    const hit *x = &h->v[i];
    char label[4096], path[64];
    list_object o;
    struct stat st;
    int kind, done = 0;

    for (size_t j = 0; j < r->n; j++)
      if (r->objs[j].dev == x->dev && r->objs[j].ino == x->ino) done = 1;
    if (done || (kind = anon_kind(x->path, label, sizeof(label))) < 0) continue;
    snprintf(path, sizeof(path), "/proc/%lld", (long long)x->pid);
    if (euid != 0 && (stat(path, &st) != 0 || st.st_uid != euid)) continue;
    list_object_init(&o, kind);
    o.dev = x->dev;
    o.ino = x->ino;
    /* Size, owner, mode and seals from the first descriptor or mapping of
     * it that opens. */
    for (size_t j = 0; o.size < 0 && j < h->n; j++) {
      int fd;
      if (h->v[j].dev != x->dev || h->v[j].ino != x->ino ||
          (fd = open_hit(&h->v[j])) < 0)
        continue;
      if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_dev == x->dev &&
          st.st_ino == x->ino) {
        o.size = st.st_size;
        o.uid = st.st_uid;
        o.mode = st.st_mode & 07777;
        o.seals = seals_of(fd);
      }
      close(fd);
    }
    if ((o.name = strdup(label)) == NULL) return SHMKIT_ENOMEM;
    add_holders(&o, h);
    err = push(r, &o);
  }
  return err;
}

int list_scan(list_result *out, int named, int anonymous) {
  hits h;
  int err;

  memset(out, 0, sizeof(*out));
  out->holders_known = 1;
  if ((err = scan_proc(&h)) != 0) return err;
  out->unreadable = h.unreadable;
  if (named) err = scan_named(out, &h, NULL);
  if (err == 0 && anonymous) err = scan_anon(out, &h, geteuid());
  free_hits(&h);
  if (err != 0) list_free(out);
  return err;
}

int list_named(list_result *out, const char *name, unsigned flags) {
  hits h;
  int err;

  (void)flags; /* one namespace */
  memset(out, 0, sizeof(*out));
  out->holders_known = 1;
  if ((err = scan_proc(&h)) != 0) return err;
  out->unreadable = h.unreadable;
  err = scan_named(out, &h, name);
  free_hits(&h);
  if (err == 0 && out->n == 0) err = SHMKIT_ENOENT;
  if (err != 0) list_free(out);
  return err;
}

int list_pidfd(list_result *out, int64_t pid, int fd, shmkit_handle *handle) {
  char dir[48], path[96], link[4096];
  list_object o;
  struct stat st;
  hits h;
  ssize_t n;
  int err, mine;

  memset(out, 0, sizeof(*out));
  out->holders_known = 1;
  if (live_dir(pid, dir, sizeof(dir)) != 0) return SHMKIT_ENOENT;
  snprintf(path, sizeof(path), "%s/fd/%d", dir, fd);
  if ((n = readlink(path, link, sizeof(link) - 1)) < 0)
    return errno == EACCES || errno == EPERM ? SHMKIT_EACCES : SHMKIT_ENOENT;
  link[n] = 0;
  if ((mine = open_fd_in(dir, fd)) < 0)
    return errno == EACCES || errno == EPERM ? SHMKIT_EACCES
           : errno == ENOTSUP                ? SHMKIT_ENOTSHM
                                             : SHMKIT_ENOENT;
  if (fstat(mine, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(mine);
    return SHMKIT_ENOTSHM;
  }
  if ((err = scan_proc(&h)) != 0) {
    close(mine);
    return err;
  }
  memset(&o, 0, sizeof(o));
  {
    char label[4096];
    int kind = anon_kind(link, label, sizeof(label));
    o.kind = kind < 0 ? LIST_NAMED : kind;
    o.name = strdup(kind < 0 && strncmp(link, SHM_DIR "/", 9) == 0
                        ? link + 9
                        : (kind < 0 ? link : label));
  }
  o.size = st.st_size;
  o.uid = st.st_uid;
  o.mode = st.st_mode & 07777;
  o.created = -1;
  o.seals = seals_of(mine);
  o.dev = st.st_dev;
  o.ino = st.st_ino;
  out->unreadable = h.unreadable;
  if (o.name == NULL) err = SHMKIT_ENOMEM;
  if (err == 0) add_holders(&o, &h);
  free_hits(&h);
  if (err == 0) err = push(out, &o);
  if (err != 0) {
    close(mine);
    list_free(out);
    return err;
  }
  *handle = mine;
  return 0;
}

int list_recheck(const list_object *o) {
  list_result now;
  int err;

  if ((err = list_named(&now, o->name, 0)) != 0) return err;
  if (now.objs[0].dev != o->dev || now.objs[0].ino != o->ino)
    err = SHMKIT_EEXIST;
  else if (now.objs[0].nholders != 0 || now.unreadable != 0)
    err = SHMKIT_EBUSY;
  list_free(&now);
  return err;
}

int64_t list_seals(shmkit_handle h) {
  return seals_of((int)h);
}
