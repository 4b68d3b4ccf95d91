/* The contract every backend (src/posix, src/win) implements.
 *
 * The portable code (the .c files in src/) has already checked its arguments:
 * names are valid (1-30 characters, see shmkit.h), sizes are in 1..2^63-1,
 * access is SHMKIT_READ_ONLY or SHMKIT_READ_WRITE, offsets are aligned to
 * shmkit__os_granularity(). Each function returns 0 or a negative SHMKIT_E...
 * code; no OS error code crosses this line. On failure an out-parameter is
 * left untouched and nothing is left open. Backends allocate only their
 * two objects, a listener (shmkit__listener_os) and a connected end
 * (shmkit__conn_os), which are opaque to the portable code. */
#ifndef SHMKIT_PLATFORM_H
#define SHMKIT_PLATFORM_H

#include "internal.h"

/* Creates an anonymous region of `size` bytes, reserved unless `flags` has
 * SHMKIT_SPARSE. The handle is close-on-exec and readable and writable. */
int shmkit__os_create(uint64_t size, unsigned flags, shmkit_handle *out);

/* Creates the named region exclusively (SHMKIT_EEXIST if it exists), owner
 * only, sized and reserved as above, in the namespace `flags` says
 * (SHMKIT_GLOBAL or not). On failure the name does not exist. */
int shmkit__os_create_named(const char *name, uint64_t size, unsigned flags,
                            shmkit_handle *out);

/* Opens the named region with `access`, and reads its size. `scope` is 0
 * or SHMKIT_GLOBAL, as create_named's flags may have it. */
int shmkit__os_open_named(const char *name, int access, unsigned scope,
                          shmkit_handle *out, uint64_t *size);

/* Removes the name. */
int shmkit__os_remove_named(const char *name);

/* Checks that `h` is an open shared memory object that allows `access`, and
 * reads its size. Does not take ownership. */
int shmkit__os_check(shmkit_handle h, int access, uint64_t *size);

/* Makes `h` close-on-exec (non-inheritable). */
int shmkit__os_set_private(shmkit_handle h);

/* Opens a new read-only handle to the object behind `h`. `name` is the
 * region's name or NULL; a backend that cannot reopen an object otherwise may
 * reopen it by name, and must then check that the name still refers to the
 * same object. */
int shmkit__os_dup_readonly(shmkit_handle h, const char *name,
                            shmkit_handle *out);

/* Closes a handle. */
void shmkit__os_close(shmkit_handle h);

/* Adds the seals in `add` (SHMKIT_SEAL_..., none when 0), then returns the
 * seals now on the object (>= 0). SHMKIT_ENOTSUP where the system or the
 * object has no seals. */
int shmkit__os_seals(shmkit_handle h, unsigned add);

/* The offset alignment of a mapping; a power of two. */
size_t shmkit__os_granularity(void);

/* Maps `length` bytes at the aligned `offset` with `access`. */
int shmkit__os_map(shmkit_handle h, uint64_t offset, size_t length, int access,
                   void **base);

/* Unmaps what shmkit__os_map() mapped. */
void shmkit__os_unmap(void *base, size_t length);

/* A monotonic clock in milliseconds, from an arbitrary start: for
 * deadlines that span several backend calls. */
int64_t shmkit__os_now_ms(void);

/* Sleeps about `ms` milliseconds (1 to 1000), or less if a signal comes:
 * for a retry that has nothing to wait on (a connect while nobody listens).
 * Cannot fail. */
void shmkit__os_sleep_ms(int ms);

/* ---- processes */

/* What shmkit_spawn() hands the backend, checked and complete. */
typedef struct shmkit__spawn {
  const char *file;
  char *const *argv;            /* NULL-terminated, never NULL */
  char *const *envp;            /* the child's whole environment */
  const char *cwd;              /* NULL: this process's */
  const shmkit_handle *handles; /* what the child inherits, nothing else */
  size_t handle_count;
  unsigned flags; /* SHMKIT_SPAWN_... */
} shmkit__spawn;

/* This process's environment, "NAME=value" strings, NULL-terminated, for
 * the caller to release with shmkit__os_environ_free() (POSIX: environ
 * itself, nothing to release; Windows: a UTF-8 copy). */
int shmkit__os_environ(char ***out);
void shmkit__os_environ_free(char **env);

/* 1 if the names a[0..na) and b[0..nb) (UTF-8, not empty) are one
 * environment variable's as the system matches them (Windows: ignoring
 * case, beyond ASCII too), 0 if not, or an error (SHMKIT_EINVAL: a name the
 * system cannot carry). */
int shmkit__os_env_same_name(const char *a, size_t na, const char *b,
                             size_t nb);

/* Starts the child, or fails with the reason it could not start. *proc is
 * what the backend waits on (a pidfd, a process HANDLE), or
 * SHMKIT_INVALID_HANDLE where there is none. */
int shmkit__os_spawn(const shmkit__spawn *s, int64_t *pid, shmkit_handle *proc);

/* Waits up to timeout_ms (-1: forever) for the child to end and collects
 * its status: 0, or SHMKIT_ETIMEDOUT while it runs. Called at most once
 * with success. */
int shmkit__os_wait(int64_t pid, shmkit_handle proc, int timeout_ms,
                    int *exit_code, int *term_signal);

/* Waits up to timeout_ms (-1: forever, 0: just look) for any of the
 * children pids[i] (procs[i]: what shmkit__os_spawn() returned for it),
 * count of them, 1 to SHMKIT_WAIT_ANY_MAX, none waited for yet, to end,
 * without collecting a status: 0 with *which the index of one that has
 * ended, so that shmkit__os_wait() on it with timeout 0 succeeds; or
 * SHMKIT_ETIMEDOUT. */
int shmkit__os_wait_any(const int64_t *pids, const shmkit_handle *procs,
                        size_t count, int timeout_ms, size_t *which);

/* Ends a child that has not been waited for. */
int shmkit__os_kill(int64_t pid, shmkit_handle proc);

/* Releases what shmkit__os_spawn() returned in *proc. */
void shmkit__os_process_close(shmkit_handle proc);

/* ---- connections
 *
 * Handles are close-on-exec; every wait is bounded by timeout_ms (-1:
 * forever). Handles that arrive with a message or by pull are close-on-exec
 * already. */

/* A listener and a connected end, as each backend keeps them. */
typedef struct shmkit__listener_os shmkit__listener_os;
typedef struct shmkit__conn_os shmkit__conn_os;

/* This process's user as text (shmkit_peer.user), and numerically where
 * there is such a thing (-1 elsewhere). SHMKIT_EACCES if the system cannot
 * tell this user's processes from others' (POSIX: we run as the overflow
 * uid, which the system reports for every user it cannot map). */
int shmkit__os_self_user(char user[SHMKIT_USER_MAX], int64_t *uid);

/* Listens on the endpoint `name` of this user: SHMKIT_EEXIST if in use. */
int shmkit__os_listen(const char *name, shmkit__listener_os **out);
/* Closes a listener and removes what shmkit__os_listen() made. */
void shmkit__os_unlisten(shmkit__listener_os *l);
/* What a caller may poll for the next connection. It may change with each
 * accept (Windows: the listening pipe instance becomes the connection). */
shmkit_handle shmkit__os_listener_handle(const shmkit__listener_os *l);
/* Waits for the next connection. */
int shmkit__os_accept(shmkit__listener_os *l, int timeout_ms,
                      shmkit_handle *out);
/* SHMKIT_ENOENT when nobody listens. */
int shmkit__os_connect(const char *name, int timeout_ms, shmkit_handle *out);
int shmkit__os_conn_pair(shmkit_handle out[2]);
/* Checks that `h` is an open connected end of shmkit's kind. */
int shmkit__os_conn_check(shmkit_handle h);

/* Takes up the new connected end `h`: reads its peer as the system knows it
 * and makes *out, which owns h from then on. On failure h is still the
 * caller's. */
int shmkit__os_conn_open(shmkit_handle h, shmkit_peer *peer,
                         shmkit__conn_os **out);

/* The connected end's handle; it still belongs to the end. */
shmkit_handle shmkit__os_conn_handle(const shmkit__conn_os *c);

/* Closes the end. Windows: regions still in flight are first left to the
 * peer to take, for a bounded time. */
void shmkit__os_conn_close(shmkit__conn_os *c);

/* The peer of the end is now the child `pid` (`proc`: what
 * shmkit__os_spawn() returned for it): the other end of a pair was handed
 * to it. A backend whose handles travel with the message (POSIX) has
 * nothing to follow. */
int shmkit__os_conn_repeer(shmkit__conn_os *c, int64_t pid, shmkit_handle proc);

/* One message as it goes out: the header, the payload and the handles. */
typedef struct shmkit__send {
  const shmkit__frame *frame;
  const void *data;
  size_t size;
  const shmkit_handle *handles;
  size_t count;
} shmkit__send;

/* One message as it comes in. In: where the payload goes. Out: the header
 * (`got` bytes of it), the payload (`payload` bytes, at most `capacity`;
 * `truncated` if more was sent) and up to SHMKIT_MSG_REGIONS_MAX handles
 * (`count`), which the caller then owns. */
typedef struct shmkit__recv {
  void *data;
  size_t capacity;
  shmkit__frame frame;
  size_t got, payload;
  int truncated;
  shmkit_handle handles[SHMKIT_MSG_REGIONS_MAX];
  size_t count;
} shmkit__recv;

/* Sends one message, whole. */
int shmkit__os_send(shmkit__conn_os *c, const shmkit__send *m, int timeout_ms);

/* Receives one message. A message whose control data was cut or is not
 * only handles is discarded, with every handle that came with it closed:
 * SHMKIT_EPROTO. SHMKIT_ECLOSED at the end. */
int shmkit__os_recv(shmkit__conn_os *c, shmkit__recv *m, int timeout_ms);

/* Copies handle `remote` out of process `pid` (pull mode), with no more
 * than `access` where the system can narrow a copy (Windows). */
int shmkit__os_pull(int64_t pid, shmkit_handle remote, int access,
                    shmkit_handle *out);

/* ---- channels (channel.c) */

/* A clock in milliseconds that costs next to nothing to read (Linux:
 * CLOCK_MONOTONIC_COARSE), exact to a few milliseconds: for the checks a
 * channel makes at most every so often on its fast path. */
int64_t shmkit__os_coarse_ms(void);

/* Sleeps while the 32-bit word at `addr`, in shared memory, still holds
 * `expected`, for at most timeout_ms (1 to 1000): 0 when woken, when the word
 * differs, or for no reason (the caller looks again); SHMKIT_ETIMEDOUT.
 * SHMKIT_ENOTSUP, at once, where the system has no such wait or denies it
 * to this thread (a seccomp filter, whatever its errno): channels then
 * sleep on their link. */
int shmkit__os_word_wait(uint32_t *addr, uint32_t expected, int timeout_ms);

/* Wakes every process sleeping on the word: 0, or SHMKIT_ENOTSUP where the
 * system has no such wake or denies it to this thread. */
int shmkit__os_word_wake(uint32_t *addr);

/* A monotonic clock in nanoseconds, for timing what takes microseconds. */
int64_t shmkit__os_now_ns(void);

/* What to wait on, with the system's own wait, for the next message or the
 * end on a connected end, readied anew by each call; it stays the end's.
 * POSIX: the socket, to poll for reading. Windows: an event, set when a
 * zero-byte read (started here unless one is under way) completes, which
 * it does when a message arrives or the pipe ends; made with the end. */
shmkit_handle shmkit__os_conn_watch(shmkit__conn_os *c);

#endif /* SHMKIT_PLATFORM_H */
