/* Private declarations shared by the portable files. */
#ifndef SHMKIT_INTERNAL_H
#define SHMKIT_INTERNAL_H

#include "shmkit.h"

/* The longest name (shmkit.h: "Names"), without a terminating NUL. */
#define SHMKIT__NAME_MAX 30

/* The largest region size: what a signed 64-bit file offset can hold. */
#define SHMKIT__SIZE_MAX ((uint64_t)INT64_MAX)

struct shmkit_region {
  shmkit_handle handle; /* owned; closed by shmkit_region_close() */
  uint64_t size;        /* read from the system, never from a caller */
  int access;           /* SHMKIT_READ_ONLY or SHMKIT_READ_WRITE */
  int write_sealed;     /* 1 once shmkit_region_seal() sealed it against
                           writes: a message then announces it read-only */
  char name[SHMKIT__NAME_MAX + 1]; /* "" for an anonymous or adopted region */
};

/* A parsed token (shmkit.h: "tokens"). */
typedef struct shmkit__token {
  shmkit_handle handle;
  uint64_t size; /* 1 .. SHMKIT__SIZE_MAX */
  int access;    /* SHMKIT_READ_ONLY or SHMKIT_READ_WRITE */
} shmkit__token;

/* Parses a NUL-terminated token strictly: 0 or SHMKIT_ETOKEN. */
int shmkit__token_parse(const char *s, shmkit__token *t);

/* Writes a token into buf; returns its length, or SHMKIT_E2BIG. */
int shmkit__token_format(const shmkit__token *t, char *buf, size_t n);

/* shmkit_region_adopt(), and also fails with SHMKIT_ETOOSMALL if the object
 * is smaller than `min_size`. `is_private`: the backend made the handle
 * close-on-exec already (MSG_CMSG_CLOEXEC, pidfd_getfd), so it is not asked
 * again; a system call per received region is a tenth of a message. */
int shmkit__region_adopt(shmkit_region **out, shmkit_handle handle, int access,
                         uint64_t min_size, int is_private);

/* The access a region is handed over with: its own, but SHMKIT_READ_ONLY
 * for one sealed against writes, since a receiver refuses to take such a
 * region writable (shmkit__os_check: SHMKIT_EPERM). `ask`: ask the system
 * for the seals (a token); else trust what shmkit_region_seal() recorded
 * (a message, where a system call per region costs a tenth of it). */
int shmkit__region_claim(const shmkit_region *r, int ask);

/* Parses a connection token, "shmkit1:<handle>:conn": 0 or SHMKIT_ETOKEN;
 * writes one, as shmkit__token_format(). */
int shmkit__token_parse_conn(const char *s, shmkit_handle *handle);
int shmkit__token_format_conn(shmkit_handle h, char *buf, size_t n);

/* The token in environment variable `name`, for a _from_env function whose
 * out parameter is `out`: SHMKIT_EINVAL for a NULL `out` or a name that
 * cannot be one, SHMKIT_ENOENT if it is not set. */
int shmkit__token_from_env(const char *name, const void *out,
                           const char **value);

/* ---- the message frame (frame.c)
 *
 * Every message is one fixed-size header followed by the payload. The header
 * is written and read by two processes of the same machine, so it is in the
 * machine's byte order; its layout is fixed by the static assertions in
 * frame.c. Everything in a received header is untrusted. */
#define SHMKIT__FRAME_MAGIC   0x4b4d4853u /* "SHMK" in little-endian */
#define SHMKIT__FRAME_VERSION 1

typedef struct shmkit__frame_region {
  uint64_t size;   /* the region's size as the sender knows it */
  uint64_t handle; /* Windows: the handle value in the sender; POSIX: 0 */
  uint32_t access; /* SHMKIT_READ_ONLY or SHMKIT_READ_WRITE */
  uint32_t origin; /* Windows: the sender's process id; POSIX: 0 */
} shmkit__frame_region;

typedef struct shmkit__frame {
  uint32_t magic;   /* SHMKIT__FRAME_MAGIC */
  uint16_t version; /* SHMKIT__FRAME_VERSION */
  uint16_t zero;    /* reserved, 0 */
  uint32_t size;    /* payload bytes after the header, <= SHMKIT_MSG_MAX */
  uint32_t count;   /* regions, <= SHMKIT_MSG_REGIONS_MAX; slots past it 0 */
  shmkit__frame_region regions[SHMKIT_MSG_REGIONS_MAX];
} shmkit__frame;

/* Fills a header for `size` payload bytes and these regions. */
void shmkit__frame_encode(shmkit__frame *f, size_t size,
                          shmkit_region *const *regions, size_t count);

/* Checks a received header: `got` header bytes arrived, then `payload`
 * payload bytes, with `handles` handles; `truncated` if the message did not
 * fit `capacity` payload bytes. 0, SHMKIT_EPROTO, SHMKIT_EVERSION (a
 * frame of a newer version: nothing past its version was read), or
 * SHMKIT_E2BIG for a well-formed message whose payload is larger than
 * `capacity`. */
int shmkit__frame_decode(const shmkit__frame *f, size_t got, size_t payload,
                         int truncated, size_t handles, size_t capacity);

/* A connected end's handle, or SHMKIT_INVALID_HANDLE for a listener (which
 * cannot be inherited). */
shmkit_handle shmkit__conn_handle(const shmkit_conn *c);

/* shmkit__os_conn_watch() for a connected end; SHMKIT_INVALID_HANDLE for
 * a listener. */
shmkit_handle shmkit__conn_watch(shmkit_conn *c);

/* Tells a connected end it was handed to the child `pid` (shmkit_spawn). */
void shmkit__conn_spawned(shmkit_conn *c, int64_t pid, shmkit_handle proc);

/* ---- channels (channel.c) */

/* For the tests: how a channel's sender copies messages of 64 KiB and
 * more into the ring: 0 as it measures, 1 by memcpy(), 2 around the
 * caches (where the processor can). */
void shmkit__channel_copy_way(shmkit_channel *ch, int way);

/* The default spin's count (shmkit_channel_spin_default()) for a sample of
 * looks timed at best_ns: the looks that take 40 µs, from 64 to 2^20; a
 * clock that saw no time (0 or less) counts 20 ns a look. */
unsigned shmkit__channel_spin_looks(int64_t best_ns);

/* ---- the processor (cpu.c) */

/* Tells the processor that this thread spins (x86: pause), so that it
 * spends less power and lets its sibling hyperthread run. */
void shmkit__cpu_relax(void);

/* Asks for the n bytes at p to be brought into this core's cache, where
 * the processor takes such a hint; it faults on nothing. */
void shmkit__cpu_prefetch(const void *p, size_t n);

/* Copies n bytes to dst with stores that go around this core's caches
 * (x86: non-temporal), for memory another core reads next, then fences
 * them: a store after the call is seen after them. 0; or SHMKIT_ENOTSUP,
 * having copied nothing, where the processor has no such stores. */
int shmkit__cpu_copy_around(void *dst, const void *src, size_t n);

/* ---- fault injection (fault.c; only in SHMKIT_FAULT_INJECTION builds)
 *
 * The backends ask shmkit__fault() before each system call: it returns 0,
 * or the error the call is to fail with (`err`, the call's usual one,
 * unless the test chose another). shmkit__fault_arm(n, err) makes the n-th
 * call from now fail (0: none); shmkit__fault_fired() names the call that
 * failed since, or is NULL. */
int shmkit__fault(const char *call, int err);
void shmkit__fault_arm(long nth, int err);
const char *shmkit__fault_fired(void);

/* Returns 0 if `name` follows the rules of shmkit.h, else SHMKIT_ENAME. */
int shmkit__name_check(const char *name);

/* Returns 0 if `access` is SHMKIT_READ_ONLY or SHMKIT_READ_WRITE. */
int shmkit__access_check(int access);

#endif /* SHMKIT_INTERNAL_H */
