/* shmkit: shared memory between processes, on Linux/POSIX and Windows.
 *
 * A *region* is a shared memory object of fixed size, created without a file
 * (Windows: a pagefile-backed file mapping; Linux: a memfd; other POSIX: an
 * shm object whose name is removed at once). A *view* maps part of a region
 * into this process at any offset and length. A region can be given a *name*
 * so that an unrelated process can open it.
 *
 * Conventions, for every function below:
 *
 *  - A function that can fail returns an int: 0 on success, a negative
 *    SHMKIT_E... code on failure, and nothing else; what it produces goes
 *    through out-parameters. shmkit_strerror() and shmkit_err_name() turn a
 *    code into text. Functions that cannot fail (getters such as
 *    shmkit_region_size()) return their value.
 *  - Argument order: a function that makes an object takes where to put it
 *    first (shmkit_region_create(&r, ...), shmkit_accept(&c, listener,
 *    ...)); every other function takes the object it acts on first, then
 *    what it reads, then where its results go.
 *  - On failure, out-parameters are set to NULL and nothing is left open:
 *    no descriptor, no handle, no mapping, no name.
 *  - Besides the codes each function lists, any call that asks the system
 *    for something may fail with SHMKIT_ENOMEM or SHMKIT_EMFILE (the system
 *    ran out of memory or of handles) and SHMKIT_EIO (a failure the system
 *    reported that has no better code). A test build makes each system
 *    call fail in turn to check this (tests/test-fault.c).
 *  - No function prints, aborts or exits on bad input.
 *  - Every descriptor or handle the library opens is close-on-exec
 *    (non-inheritable on Windows).
 *  - Objects may be used from several threads, but one object is not
 *    thread-safe: do not close a region while another thread uses it.
 *
 * Only <stddef.h> and <stdint.h> are needed; never <windows.h>.
 */
#ifndef SHMKIT_H
#define SHMKIT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(BUILDING_SHMKIT_SHARED)
#  define SHMKIT_EXTERN __declspec(dllexport)
#elif defined(_WIN32) && defined(SHMKIT_SHARED)
#  define SHMKIT_EXTERN __declspec(dllimport)
#elif defined(BUILDING_SHMKIT_SHARED) && defined(__GNUC__)
#  define SHMKIT_EXTERN __attribute__((visibility("default")))
#else
#  define SHMKIT_EXTERN
#endif

#define SHMKIT_VERSION_MAJOR 0
#define SHMKIT_VERSION_MINOR 1
#define SHMKIT_VERSION_PATCH 0

/* ---------------------------------------------------------------- errors */

/* The error codes. Their values are fixed and the same on every platform;
 * new codes are only ever appended. A code means the same wherever it comes
 * from (regions, names, views, tokens, processes, connections), so each
 * text is written for all of them; the documentation of each function says
 * what a code means there. */
#define SHMKIT_ERRNO_MAP(XX)                                                   \
  XX(EINVAL, -1, "invalid argument")                                           \
  XX(ENOMEM, -2, "not enough memory")                                          \
  XX(ENOSPC, -3, "no space left for shared memory")                            \
  XX(EEXIST, -4, "the name is already in use")                                 \
  XX(ENOENT, -5, "not found (no such name, file, process or variable)")        \
  XX(EACCES, -6, "permission denied")                                          \
  XX(ENAME, -7, "invalid name")                                                \
  XX(ERANGE, -8, "offset or length outside the region")                        \
  XX(E2BIG, -9, "too large (a size, a message or the arguments)")              \
  XX(EBADF, -10,                                                               \
     "not an open handle (a token's: not inherited? list it in the "           \
     "spawn options' regions or conns)")                                       \
  XX(ENOTSHM, -11, "not a shared memory object (or not a connection)")         \
  XX(ENOTSUP, -12, "not supported on this platform or build")                  \
  XX(EPERM, -13, "operation not permitted")                                    \
  XX(EBUSY, -14, "busy (writable views exist, or the file is in use)")         \
  XX(EMFILE, -15, "too many open handles")                                     \
  XX(EIO, -16, "unexpected system error")                                      \
  XX(EAGAIN, -17, "not ready yet, try again")                                  \
  XX(ETIMEDOUT, -18, "timed out")                                              \
  XX(ETOKEN, -19, "malformed token")                                           \
  XX(ETOOSMALL, -20, "region is smaller than claimed")                         \
  XX(ENOEXEC, -21, "not an executable program")                                \
  XX(ECLOSED, -22, "the peer closed the connection")                           \
  XX(EPROTO, -23, "malformed message from the peer")                           \
  XX(EVERSION, -24, "the peer speaks a newer protocol version")

typedef enum shmkit_errno {
#define SHMKIT_ERR_ENUM_(name, value, text) SHMKIT_##name = (value),
  SHMKIT_ERRNO_MAP(SHMKIT_ERR_ENUM_)
#undef SHMKIT_ERR_ENUM_
} shmkit_errno;

/* The text of an error code ("invalid argument"). Never NULL: 0 gives
 * "success", an unknown code "unknown error". The string is static. */
SHMKIT_EXTERN const char *shmkit_strerror(int err);

/* The name of an error code ("SHMKIT_EINVAL"). Never NULL: 0 gives
 * "SHMKIT_OK" (success; there is no constant of that name, success is 0),
 * an unknown code "SHMKIT_UNKNOWN". The string is static. */
SHMKIT_EXTERN const char *shmkit_err_name(int err);

/* ---------------------------------------------------------------- types */

/* A native handle: a file descriptor on POSIX, a HANDLE on Windows. */
typedef intptr_t shmkit_handle;
#define SHMKIT_INVALID_HANDLE ((shmkit_handle)-1)

/* Access to a region or a view. */
#define SHMKIT_READ_ONLY  1
#define SHMKIT_READ_WRITE 3

/* Flags for shmkit_region_create() and shmkit_region_create_named(). */

/* Do not reserve the memory at creation. By default the whole size is
 * reserved (Linux: fallocate) so that running out of memory is an error from
 * the create call; a sparse region takes memory page by page as it is first
 * written, and a write may then fail with SIGBUS (POSIX) when memory is
 * exhausted. Use it for large regions that are mostly unused. Windows
 * ignores it: a pagefile-backed section is charged against the commit limit
 * when it is created. */
#define SHMKIT_SPARSE 0x1u

/* The machine-wide namespace, for shmkit_region_create_named() and, ORed
 * into `access`, shmkit_region_open(). Windows: "Global\NAME" instead of
 * "Local\NAME", seen from every session (services and other logons);
 * creating there needs SeCreateGlobalPrivilege (administrators and services
 * have it), and without it the create fails with SHMKIT_EPERM; opening needs
 * no privilege. POSIX has one namespace: the flag is accepted and changes
 * nothing. */
#define SHMKIT_GLOBAL 0x100u

typedef struct shmkit_region shmkit_region;
typedef struct shmkit_view shmkit_view;
typedef struct shmkit_conn shmkit_conn;

/* ---------------------------------------------------------------- regions */

/* Creates an anonymous region of `size` bytes (1 to 2^63-1), zero-filled,
 * readable and writable. Nobody else can open it for writing until its
 * handle is handed over (for reading neither, but on Windows: below).
 * `flags` is 0 or SHMKIT_SPARSE.
 *
 * Linux: a memfd (close-on-exec, sealing allowed, not executable). Other POSIX
 * systems, and Linux when built with SHMKIT_PORTABLE: shm_open of an
 * unguessable name, removed at once (POSIX has no object without a name: a
 * process killed in the instant between the two calls leaves an empty
 * object "/shmkit.<16 hex digits>" of its user behind, which nothing
 * removes). Windows: a pagefile-backed section;
 * one without a name has no security descriptor to refuse an upgrade of a
 * read-only duplicate, so shmkit gives each an unguessable
 * "Local\\shmkit.<random>" name and a descriptor that allows nobody more
 * than reading; processes of the same user (that directory can be listed)
 * could open it for reading.
 *
 * Fails with SHMKIT_EINVAL (out NULL, size 0, unknown flag), SHMKIT_E2BIG
 * (size beyond 2^63-1 or what the system can address), SHMKIT_ENOSPC (the
 * shared memory file system is full) or SHMKIT_ENOMEM (not enough memory),
 * SHMKIT_EMFILE. The caller owns *out and releases it with
 * shmkit_region_close(). */
SHMKIT_EXTERN int shmkit_region_create(shmkit_region **out, uint64_t size,
                                       unsigned flags);

/* Names.
 *
 * A name is 1 to 30 characters, each a letter A-Z a-z, a digit 0-9, '.', '_'
 * or '-', and does not start with '.'. Names are case-sensitive. These rules
 * are the same on every platform (30 is the longest name macOS accepts), so a
 * name that works on one works on all. shmkit adds the platform's decoration:
 * on POSIX the object is "/NAME" (shm_open), on Windows "Local\NAME"
 * ("Global\NAME" with SHMKIT_GLOBAL). Anything else fails with
 * SHMKIT_ENAME.
 *
 * A named region is visible to every process of the same user (POSIX mode
 * 0600, whatever the umask), so a name is not a secret: prefer anonymous
 * regions handed over by inheritance or over a connection.
 *
 * What opening a name checks (POSIX). Any user can make an object under any
 * name first, and the owner of an object can read and write it and shrink
 * it under its views; so shmkit_region_open() takes only an object that
 * belongs to this user (its owner is the effective uid; root is no
 * exception) and that no other user may open (no group or other bits in its
 * mode), and refuses anything else with SHMKIT_EACCES. It never blocks: a
 * FIFO, socket or symbolic link at the name is refused at once, and so is a
 * name something is mounted on (Linux 5.6 and later: a FUSE server, which
 * a user may mount on a file of its own there, could hold the open for
 * ever; the portable path cannot tell). When
 * shmkit_region_create_named() fails with SHMKIT_EEXIST, opening the name
 * instead is safe in that sense; it may still be another process of this
 * user's. */

/* Creates a region with a name, exclusively: fails with SHMKIT_EEXIST if the
 * name exists (on Windows also when an event, mutex or other such object
 * holds it: they share the namespace of sections). Otherwise as
 * shmkit_region_create(); `flags` may also have SHMKIT_GLOBAL
 * (SHMKIT_EPERM: the Windows privilege it needs). The name stays
 * until shmkit_region_remove() (POSIX; a POSIX name outlives its creator) or
 * until the last handle to the region is closed (Windows). If the call fails,
 * the name is not left behind. */
SHMKIT_EXTERN int shmkit_region_create_named(shmkit_region **out,
                                             const char *name, uint64_t size,
                                             unsigned flags);

/* Opens the region with that name, with `access` SHMKIT_READ_ONLY or
 * SHMKIT_READ_WRITE, ORed with SHMKIT_GLOBAL for a region created so. Its
 * size is read from the system. Fails with
 * SHMKIT_ENAME, SHMKIT_ENOENT, SHMKIT_EACCES (the object does not allow that
 * access; POSIX: or it is not this user's alone, see "What opening a name
 * checks" above), SHMKIT_ENOTSHM (POSIX: a FIFO, socket, symbolic link,
 * mount point or other non-shared-memory object at the name, refused
 * without blocking;
 * Windows: another kind of object holds the name), SHMKIT_EINVAL,
 * SHMKIT_EMFILE, SHMKIT_ENOMEM, and
 * SHMKIT_EAGAIN when the object exists but has no size yet: on POSIX a name
 * exists from the moment it is created, and its creator sizes it just after,
 * so a process that opens it in between must try again. A
 * region created by another program with the native API and the decorated
 * name (shm_open("/NAME") on POSIX) opens the same way. */
SHMKIT_EXTERN int shmkit_region_open(shmkit_region **out, const char *name,
                                     int access);

/* Removes a name, so that it can no longer be opened (POSIX shm_unlink). The
 * memory stays while handles or views of it exist. Fails with SHMKIT_ENAME,
 * SHMKIT_ENOENT, SHMKIT_EACCES; on Windows always with SHMKIT_ENOTSUP, where
 * a name lives exactly as long as its object (the last handle and view). */
SHMKIT_EXTERN int shmkit_region_remove(const char *name);

/* Takes a native handle (a descriptor on POSIX) the caller already has, for
 * example one a parent passed down or another library made, and makes a
 * region of it. The handle is checked with the system, never trusted: it must
 * be open (else SHMKIT_EBADF), be a shared memory object (else
 * SHMKIT_ENOTSHM; on Linux: a file on tmpfs, which includes memfds, but not
 * one on hugetlbfs nor a memfd made with MFD_HUGETLB, which map only at huge
 * page offsets while a view must be possible at any offset; on other POSIX
 * systems and SHMKIT_PORTABLE builds: a regular file, whatever its file
 * system; on Windows: a section, including one backed by a file), and
 * allow `access` (else SHMKIT_EACCES).
 * SHMKIT_READ_WRITE also fails with SHMKIT_EPERM for a region sealed
 * against writes (SHMKIT_SEAL_WRITE or SHMKIT_SEAL_FUTURE_WRITE): nobody can
 * map it writable; adopt it read-only. The size is read from the system.
 *
 * On Windows, the handle another program may pass: a section handle (one
 * backed by a file too) valid in this process (inherited, or duplicated
 * into it with DuplicateHandle), given by its value (a multiple of 4: the
 * kernel ignores the two low bits, so any other value is an alias of
 * another handle, SHMKIT_EBADF; connection tokens likewise), with
 * FILE_MAP_READ (SECTION_MAP_READ) for SHMKIT_READ_ONLY, FILE_MAP_WRITE
 * (SECTION_MAP_WRITE) for SHMKIT_READ_WRITE. SECTION_QUERY is not needed.
 * A SHMKIT_READ_WRITE region also makes read-only views with FILE_MAP_READ:
 * Microsoft documents FILE_MAP_WRITE as enough for them, Wine wants
 * FILE_MAP_READ too, so pass both (or FILE_MAP_ALL_ACCESS). The size is the
 * section's: whole pages for one backed by the paging file; for one backed by a
 * file, the size it was created with (the file's length if that was 0). With
 * SECTION_QUERY the system reports it; without, shmkit maps the whole section
 * once to measure it. A section made with SEC_RESERVE is not memory until
 * its maker commits each page (touching one before is an access violation),
 * so it is refused with SHMKIT_ENOTSHM (without SECTION_QUERY: one with any
 * page not committed); likewise in tokens, messages and pull mode.
 *
 * On success the region owns the handle (shmkit_region_close() closes it) and
 * has made it close-on-exec. On failure the caller still owns it. */
SHMKIT_EXTERN int shmkit_region_adopt(shmkit_region **out, shmkit_handle handle,
                                      int access);

/* Makes a new, read-only region for the same memory: a new handle that does
 * not allow writing. A process that holds only that handle cannot map the
 * region writable, resize it or seal it.
 *
 * Linux: a new read-only descriptor of the same object (through
 * /proc/self/fd). Other POSIX systems, and SHMKIT_PORTABLE builds: possible
 * only for a named region whose name still refers to it (else
 * SHMKIT_ENOTSUP, or SHMKIT_ENOENT if the name was removed).
 *
 * How far it holds: on Linux a process of the same user that has the
 * read-only descriptor can reopen the object writable through /proc; a
 * process of another user cannot, because making the copy makes the
 * object's mode owner-only. Only the object's owner (or root) can change its
 * mode: for an object of another user (an adopted or received one) that
 * other users may open, the copy fails with SHMKIT_EPERM and the mode stays
 * as it was. When the
 * receiver is not trusted, also seal the region against writes
 * (SHMKIT_SEAL_WRITE or SHMKIT_SEAL_FUTURE_WRITE): the kernel enforces seals
 * on every handle.
 *
 * Fails with SHMKIT_EINVAL (NULL), SHMKIT_EPERM (above), SHMKIT_ENOTSUP,
 * SHMKIT_ENOENT, SHMKIT_EMFILE, SHMKIT_ENOMEM. The caller owns *out; the
 * original region is unchanged (but for the mode, above). */
SHMKIT_EXTERN int shmkit_region_dup_readonly(shmkit_region **out,
                                             const shmkit_region *region);

/* Closes the region's handle. Views already mapped stay valid: the memory
 * lives until the last handle and the last view of it, in every process, are
 * gone. Closing does not remove a name. NULL is ignored. */
SHMKIT_EXTERN void shmkit_region_close(shmkit_region *region);

/* The region's size in bytes: as created, or as read from the system for a
 * region opened, adopted, received or taken from a token, and read again by
 * shmkit_region_seals() once the region is sealed against shrinking. Windows
 * reports a section's size rounded up to the page (4 KiB), so such a region may
 * be larger there than its creator asked for; the extra bytes are zero. */
SHMKIT_EXTERN uint64_t shmkit_region_size(const shmkit_region *region);

/* SHMKIT_READ_ONLY or SHMKIT_READ_WRITE. */
SHMKIT_EXTERN int shmkit_region_access(const shmkit_region *region);

/* The region's name, or NULL for an anonymous or adopted region. */
SHMKIT_EXTERN const char *shmkit_region_name(const shmkit_region *region);

/* The native handle (a descriptor on POSIX). It still belongs to the region:
 * do not close it; duplicate it to keep it beyond shmkit_region_close(). */
SHMKIT_EXTERN shmkit_handle shmkit_region_handle(const shmkit_region *region);

/* ---------------------------------------------------------------- seals */

/* Seals (Linux memfd seals). Once set, a seal cannot be removed, and it holds
 * for every handle of the region in every process, so a receiver can check
 * that the sender cannot shrink the memory under it (SIGBUS) or write to it.
 */
#define SHMKIT_SEAL_SHRINK 0x1u /* the size can never shrink */
#define SHMKIT_SEAL_GROW   0x2u /* the size can never grow */
/* Nobody can write any more. Fails with SHMKIT_EBUSY while a writable view
 * of the region exists in any process. */
#define SHMKIT_SEAL_WRITE 0x4u
/* No new writable view can be made and nobody can write() to it, but
 * writable views that already exist keep writing (Linux 5.1 and later). */
#define SHMKIT_SEAL_FUTURE_WRITE 0x8u
/* No seal can be added any more. */
#define SHMKIT_SEAL_SEAL 0x10u

/* Adds `seals` (a combination of SHMKIT_SEAL_...) to the region. Needs a
 * read-write region. Fails with SHMKIT_EINVAL (unknown bit, 0),
 * SHMKIT_EACCES (read-only region), SHMKIT_EPERM (SHMKIT_SEAL_SEAL is set),
 * SHMKIT_EBUSY (SHMKIT_SEAL_WRITE while writable views exist),
 * SHMKIT_ENOTSUP (Windows, other POSIX systems and SHMKIT_PORTABLE builds
 * have no seals). On Linux only memfds (anonymous regions) can be sealed:
 * other tmpfs objects, named regions included, are born with
 * SHMKIT_SEAL_SEAL, so shmkit_region_seals() reports it and this call fails
 * with SHMKIT_EPERM. */
SHMKIT_EXTERN int shmkit_region_seal(shmkit_region *region, unsigned seals);

/* Reads the region's seals, a combination of SHMKIT_SEAL_..., into *seals.
 * When they hold SHMKIT_SEAL_SHRINK, the region's size is read again too
 * (shmkit_region_size() gives it from then on): a sender may have shrunk
 * the memory after handing it over and before sealing it, and nobody can
 * after. So a receiver checks the seals first, then the size, then maps.
 * Fails with SHMKIT_EINVAL (NULL) or SHMKIT_ENOTSUP where sealing does not
 * exist. */
SHMKIT_EXTERN int shmkit_region_seals(const shmkit_region *region,
                                      unsigned *seals);

/* Freezes the region and makes a read-only copy to hand out, in one call:
 * seals it against writes, shrinking and growing (SHMKIT_SEAL_WRITE,
 * SHMKIT_SEAL_SHRINK, SHMKIT_SEAL_GROW), then makes *out as
 * shmkit_region_dup_readonly() does. Fill the memory and unmap every
 * writable view first (Linux refuses the write seal while one exists:
 * SHMKIT_EBUSY); read-only views may stay.
 *
 * What it guarantees: whoever gets the copy can neither write nor resize
 * the memory, on every system. Where seals exist (Linux memfds: anonymous
 * regions) nobody can any more, this region included, and a receiver can
 * check it (shmkit_region_seals()). Where they do not (Windows, other POSIX
 * systems, SHMKIT_PORTABLE) the region itself still writes: do not keep
 * writable views of memory you freeze there. Fails with SHMKIT_EINVAL
 * (NULL), SHMKIT_EACCES (a read-only region), SHMKIT_EBUSY (above),
 * SHMKIT_EPERM (Linux: a named region, born sealed against new seals), and
 * what shmkit_region_dup_readonly() fails with (SHMKIT_ENOTSUP: an
 * anonymous region on other POSIX systems); a failure after the seals
 * were added leaves them on the region. The caller owns *out. */
SHMKIT_EXTERN int shmkit_region_freeze(shmkit_region **out,
                                       shmkit_region *region);

/* ---------------------------------------------------------------- views */

/* Maps `length` bytes of the region, starting at byte `offset`, into this
 * process, with `access` SHMKIT_READ_ONLY or SHMKIT_READ_WRITE. A length of
 * 0 maps from `offset` to the end of the region (shmkit_view_map(&v, r, 0,
 * 0, ...) maps all of it; shmkit_view_size() says how much). Any offset and
 * length are allowed: shmkit maps from the page (POSIX) or allocation
 * granularity (Windows, 64 KiB) boundary below `offset` and points the view's
 * data at the byte asked for.
 *
 * Fails with SHMKIT_EINVAL (NULL, bad access), SHMKIT_ERANGE (offset +
 * length beyond the region's size, or overflowing; an offset at or past the
 * end), SHMKIT_E2BIG (length 0 and the rest of the region does not fit
 * this process's address space: 32-bit systems), SHMKIT_EACCES
 * (a writable view of a read-only region), SHMKIT_EPERM (a writable view of a
 * region sealed against writes), SHMKIT_ENOMEM (no address space).
 *
 * A view does not depend on its region: it stays valid after
 * shmkit_region_close(). Writes through a view are seen at once through every
 * other view of the same memory, in every process. The caller owns *out and
 * releases it with shmkit_view_unmap(). */
SHMKIT_EXTERN int shmkit_view_map(shmkit_view **out, shmkit_region *region,
                                  uint64_t offset, size_t length, int access);

/* Unmaps the view and frees it. Its data must not be used afterwards. NULL is
 * ignored. */
SHMKIT_EXTERN void shmkit_view_unmap(shmkit_view *view);

/* The first byte of the view: the byte at `offset` in the region. */
SHMKIT_EXTERN void *shmkit_view_data(const shmkit_view *view);

/* The view's length, as asked for. */
SHMKIT_EXTERN size_t shmkit_view_size(const shmkit_view *view);

/* ---------------------------------------------------------------- tokens */

/* A token carries a region to a child that inherited its handle (see
 * shmkit_spawn()), as text on its command line or in an environment
 * variable. The format, version 1, is plain ASCII:
 *
 *   shmkit1:<handle>:<size>:<access>
 *
 * <handle> is the handle value in decimal (a descriptor number on POSIX, the
 * HANDLE's value on Windows; the same in parent and child because the child
 * inherited it), <size> the region's size in bytes in decimal, 1 to 2^63-1,
 * and <access> "r" (read-only) or "rw" (shmkit_region_token() writes "r"
 * for a region sealed against writes, which nobody can map writable).
 * Numbers have no sign, no leading
 * zeros (0 is "0"), no spaces. Nothing may follow. Example:
 * "shmkit1:5:4096:rw". A token is at most SHMKIT_TOKEN_MAX bytes with its
 * terminating NUL. The version is part of the prefix: a token of any other
 * version ("shmkit2:...") is not one of this format, SHMKIT_ETOKEN
 * (docs/protocol.md, "Versions"). */
#define SHMKIT_TOKEN_MAX 64

/* Writes the region's token into buf, NUL-terminated. Fails with
 * SHMKIT_EINVAL (NULL) or SHMKIT_E2BIG (buf_size too small; a buffer of
 * SHMKIT_TOKEN_MAX is always enough). The token names the handle
 * this process has; it means something only to a process that inherited that
 * handle. */
SHMKIT_EXTERN int shmkit_region_token(const shmkit_region *region, char *buf,
                                      size_t buf_size);

/* Makes a region of the handle a token names, in the process that inherited
 * it. The token is parsed strictly (else SHMKIT_ETOKEN), then the handle is
 * checked with the system as shmkit_region_adopt() does: open (else
 * SHMKIT_EBADF), shared memory (else SHMKIT_ENOTSHM), allowing the claimed
 * access (else SHMKIT_EACCES; SHMKIT_EPERM for "rw" when the region is
 * sealed against writes), and at least the claimed size (else
 * SHMKIT_ETOOSMALL). The region's size is the system's; its access is the
 * token's. On success the region owns the handle; on failure it is left as
 * it was.
 *
 * On Windows another program may write the token itself for a section
 * handle the child inherited: "r" needs FILE_MAP_READ, "rw" FILE_MAP_WRITE
 * (and FILE_MAP_READ for read-only views), no SECTION_QUERY; the <size> is
 * at most the section's size as shmkit_region_adopt() reads it. */
SHMKIT_EXTERN int shmkit_region_from_token(shmkit_region **out,
                                           const char *token);

/* shmkit_region_from_token() on the value of the environment variable
 * `name`; SHMKIT_ENOENT if it is not set. */
SHMKIT_EXTERN int shmkit_region_from_env(shmkit_region **out, const char *name);

/* ---------------------------------------------------------------- processes */

typedef struct shmkit_process shmkit_process;

/* Flags for shmkit_spawn_options.flags. */

/* Look `file` up in the PATH of this process (not of the child's
 * environment) when it has no '/' (as execvp does). Windows: as
 * SearchPathW does, with ".exe" added: the program's own directory and the
 * current directory come before PATH. */
#define SHMKIT_SPAWN_SEARCH_PATH 0x1u
/* Close, in the child, every descriptor except 0, 1, 2 and the listed
 * regions' handles, including those this program opened without
 * close-on-exec. POSIX: where the C library can
 * (posix_spawn_file_actions_addclosefrom_np: glibc 2.34 and later); else
 * SHMKIT_ENOTSUP. Windows: every spawn already works so (the child gets
 * copies of the standard handles and the listed ones, nothing else). */
#define SHMKIT_SPAWN_CLOSE_OTHERS 0x2u

typedef struct shmkit_spawn_options {
  /* The program: a path, or with SHMKIT_SPAWN_SEARCH_PATH a name. */
  const char *file;
  /* The arguments, argv[0] first, NULL-terminated. NULL means {file, NULL}. */
  const char *const *argv;
  /* The environment, "NAME=value" strings with NAME not empty,
   * NULL-terminated; of entries that name one variable the last counts.
   * NULL means this process's environment, as the system keeps it. */
  const char *const *env;
  /* Changes on top of that environment, NULL-terminated: "NAME=value" sets
   * or replaces NAME, "NAME" alone removes it; the last change of a name
   * counts. NULL for none. */
  const char *const *env_set;
  /* The child's working directory; NULL for this process's. */
  const char *cwd;
  /* The regions the child inherits, at the same handle value as here.
   * Nothing else that shmkit opened reaches the child. */
  shmkit_region *const *regions;
  size_t region_count;
  /* Connections the child inherits the same way (shmkit_conn_token()). */
  shmkit_conn *const *conns;
  size_t conn_count;
  unsigned flags; /* SHMKIT_SPAWN_... */
} shmkit_spawn_options;

/* Starts a program. The child inherits exactly the listed regions' handles,
 * at the same values, so their tokens (shmkit_region_token()) are valid in
 * it; the handles stay close-on-exec here, so no other child gets them.
 *
 * What else the child inherits: standard input, output and error, and on
 * POSIX, as with any posix_spawn/exec, every descriptor this program opened
 * without close-on-exec, unless SHMKIT_SPAWN_CLOSE_OTHERS. Not this
 * program's signal setup (POSIX): the child starts with no signal blocked
 * and every signal at its default action, those this program ignores and
 * those the C library keeps for itself (glibc's 32 and 33) included.
 * Windows: nothing
 * else (PROC_THREAD_ATTRIBUTE_HANDLE_LIST); the listed handles are made
 * inheritable for the call only, as are the copies of the standard
 * handles, so a CreateProcess with bInheritHandles made by another thread at
 * that instant could get them too; and two threads must not spawn with the
 * same region at once there (one may clear its inheritable flag while the
 * other still needs it).
 *
 * A failure to start is an error from this call, never an exit status to
 * interpret: SHMKIT_ENOENT (no such program, or no such working directory),
 * SHMKIT_EACCES (not executable, or a directory), SHMKIT_ENOEXEC (not a
 * program format the system runs), SHMKIT_E2BIG (POSIX: the arguments and
 * environment together exceed what the system takes, ARG_MAX, or one
 * argument is longer than it takes), SHMKIT_EINVAL (NULL file or options,
 * an env entry not NAME=value, an env_set entry with no NAME, a string that
 * is not UTF-8 (Windows), a region NULL), SHMKIT_ENOTSUP, SHMKIT_ENOMEM,
 * SHMKIT_EMFILE. The caller owns *out; see shmkit_process_close().
 *
 * Windows: argv is joined into one command line with the quoting that
 * CommandLineToArgvW and the C runtime undo, so the child sees the argv
 * given; strings are UTF-8 here and UTF-16 to the system. argv[0] is read
 * there by a rule of its own, with no escapes: one holding a double quote
 * cannot be carried and fails with SHMKIT_EINVAL. A .bat or .cmd
 * program runs under cmd.exe, which parses the line its own way: each
 * argument (argv[0] too) is put in double quotes, which %1 in the script
 * shows, and one that holds a character no quoting protects from cmd.exe
 * (a double quote, %, !, a carriage return or a line feed) fails with
 * SHMKIT_EINVAL before anything starts. A command line
 * longer than CreateProcessW takes (32,767 UTF-16 characters with its
 * terminating NUL, counted as quoted) fails with SHMKIT_E2BIG, before
 * anything starts. The environment block has no documented limit there and
 * none is applied. Names there are one variable's when they differ only in
 * case, as Windows compares them (beyond ASCII too: U+00C4, U+00E4), so of
 * "A=1" and "a=2" the later counts, spelled as given; the block is sorted
 * as CreateProcessW requires. Names that begin with '=' (cmd.exe's
 * "=C:=C:\dir") are not inherited and cannot be given: their NAME reads as
 * empty. */
SHMKIT_EXTERN int shmkit_spawn(shmkit_process **out,
                               const shmkit_spawn_options *options);

/* Waits up to `timeout_ms` (-1: forever, 0: just look) for the process to
 * end. Returns 0 once it has ended, with its exit code in *exit_code and the
 * number of the signal that ended it in *term_signal; either pointer may be
 * NULL. SHMKIT_ETIMEDOUT if it still runs (the pointers are left as they
 * were); SHMKIT_EINVAL (NULL process, timeout below -1). Once ended, every
 * later call returns the same.
 *
 * *exit_code is 0 only for a process that exited with status 0, on every
 * platform, so a crash never reads as success even with term_signal NULL:
 *  - POSIX: a process that exited gives its status, 0..255, and
 *    *term_signal 0; one ended by a signal (a crash, shmkit_process_kill())
 *    gives the signal's number negated (SIGSEGV: -11) and *term_signal the
 *    number. A negative exit code is always a signal.
 *  - Windows: the exit code as the system keeps it (GetExitCodeProcess), a
 *    DWORD read as an int, and *term_signal 0: there are no signals. A
 *    crash gives the exception's code, which reads negative
 *    (0xC0000005, an access violation: -1073741819); a program may exit
 *    with any code, negative ones included. */
SHMKIT_EXTERN int shmkit_process_wait(shmkit_process *process, int timeout_ms,
                                      int *exit_code, int *term_signal);

/* The most processes shmkit_process_wait_any() takes at once, on every
 * platform (what one Windows wait takes). */
#define SHMKIT_WAIT_ANY_MAX 64

/* Waits up to `timeout_ms` (-1: forever, 0: just look) for any of
 * procs[0..count) to end. Returns 0 with *which the index of one that has
 * ended, and collects its status, so that shmkit_process_wait(procs[*which],
 * 0, ...) then returns at once with it; a process already waited for
 * counts as ended, at once, so take the one reported out of the array
 * before waiting again. Where several have ended, which one is reported is
 * not said. Fails with SHMKIT_ETIMEDOUT while none has ended, SHMKIT_EINVAL
 * (procs or which NULL, a NULL entry, a process listed twice, count 0 or
 * above SHMKIT_WAIT_ANY_MAX, timeout below -1); *which is set only on
 * success.
 * POSIX: the processes must not be reaped by other code of this program
 * (SIGCHLD ignored, a waitpid(-1) loop), as for shmkit_process_wait(). */
SHMKIT_EXTERN int shmkit_process_wait_any(shmkit_process *const *procs,
                                          size_t count, int timeout_ms,
                                          size_t *which);

/* Ends the process at once (POSIX: SIGKILL, so shmkit_process_wait() then
 * reports exit code -SIGKILL and signal SIGKILL; Windows: TerminateProcess,
 * exit code 1). 0 if it has already ended. Wait for it afterwards to collect
 * its status. */
SHMKIT_EXTERN int shmkit_process_kill(shmkit_process *process);

/* A handle that tells when the process ends, for an event loop: Linux a
 * pidfd (Linux 5.3 and later), which poll() reports readable once the
 * process has ended; Windows the process HANDLE, signaled once it has
 * ended. SHMKIT_INVALID_HANDLE where there is none (other POSIX systems,
 * SHMKIT_PORTABLE, an older Linux kernel, a NULL process): wait with
 * shmkit_process_wait() there. It stays readable (signaled) after the
 * status is collected. The process object owns it: do not close it, and do
 * not use it after shmkit_process_close(); collect the status with
 * shmkit_process_wait() (waitpid on the pidfd's process would take it from
 * shmkit). */
SHMKIT_EXTERN shmkit_handle
shmkit_process_handle(const shmkit_process *process);

/* The process id. */
SHMKIT_EXTERN int64_t shmkit_process_pid(const shmkit_process *process);

/* Releases the object. It does not end the process: wait for it first. A
 * process closed while it still runs is left running, and on POSIX its exit
 * status is never collected (it stays a zombie until this process ends).
 * NULL is ignored. */
SHMKIT_EXTERN void shmkit_process_close(shmkit_process *process);

/* ---------------------------------------------------------------- connections
 */

/* A connection is a local, message-oriented link between two processes of
 * the same user that carries regions along with a message: the handle
 * travels into the other process with the message that tells it what it
 * is. POSIX: a Unix domain socket (SOCK_SEQPACKET) and
 * SCM_RIGHTS. Windows: a message-mode named pipe and DuplicateHandle.
 *
 * Endpoints. An endpoint name follows the rules of region names (1 to 30
 * characters of A-Z a-z 0-9 . _ -, not starting with '.'). An endpoint
 * belongs to the user that listens on it: shmkit_connect() reaches only a
 * listener of the same user (it fails with SHMKIT_EACCES if another user
 * holds the name), and shmkit_accept() hands out only connections from
 * processes of the same user, closing the others. A peer the system reports
 * as the overflow uid (Linux: /proc/sys/kernel/overflowuid, 65534 by
 * default: any user it cannot map into this user namespace) is never taken
 * for the same user, so a process that runs as that uid (a rootless
 * container with USER nobody) can connect to no one (SHMKIT_EACCES) and
 * accepts no one; shmkit_conn_pair() is not affected. Linux: the abstract
 * socket namespace ("\0shmkit.<uid>.<name>"; nothing on disk). Other POSIX
 * systems and SHMKIT_PORTABLE: a socket file /tmp/shmkit-<uid>/<name>, mode
 * 0600 in a directory of mode 0700, and a lock file .lock.<name> beside it
 * that says the endpoint is in use, both removed when the listener closes.
 *
 * Windows: "\\.\pipe\shmkit.<SID>.<name>", a message-mode named pipe
 * that only this user may open and remote clients may not, "in use" while
 * a listener holds its lock, %LOCALAPPDATA%\shmkit\ep-<name>.lock (a file
 * that holds the listener's pid and goes when the listener closes or dies;
 * only this user can create it). Endpoint names are case-insensitive there,
 * as pipe names are. shmkit_connect() takes a pipe only if the process
 * that made it holds that lock, so a process that makes the pipe name
 * first is not taken for the listener. A process of the same user at a
 * lower integrity level (a sandbox: Low, AppContainer) is not taken for
 * the user: shmkit_accept() and shmkit_connect() each refuse a peer below
 * their own level, so an endpoint joins two processes of one level. A
 * sandbox gets a pair's end from the process that starts it instead (see
 * "How regions travel on Windows": regions are pushed to it). Nothing can
 * tell a listener from another process of the same user and level, which
 * can do all it does.
 *
 * How regions travel on Windows (docs/architecture.md has the details). A
 * region is duplicated into the receiver by whichever side may open the
 * other with PROCESS_DUP_HANDLE, with the region's access and no more:
 *  - pull, between processes of one user and integrity level: the receiver
 *    takes it out of the sender, which keeps a copy until the receiver has
 *    taken it. Those copies are read back on the sender's next send or
 *    receive; at most 1024 wait at a time (a send past that waits for the
 *    peer, then fails with SHMKIT_EBUSY); shmkit_conn_close() gives the
 *    peer up to 5 seconds to take them; a sender that dies first takes
 *    them with it (the receiver gets SHMKIT_ECLOSED for that message).
 *  - push, to a receiver that may not open its sender (a sandboxed child
 *    given a pair's end): the sender puts it into the receiver, which
 *    cannot make a read-only region writable. The receiver takes pushed
 *    regions only from a sender the system lets open it (else
 *    SHMKIT_EPERM), and none from a sender it can open itself
 *    (SHMKIT_EPROTO). A sender that dies or times out after part of a
 *    message went, or a receiver that closes with such messages unread,
 *    leaves handles in the receiver.
 * Where neither may open the other, a send with regions fails with
 * SHMKIT_EPERM; regions sent on an end handed on to another process than
 * the one the system reports (other than a pair's end handed to a child by
 * shmkit_spawn()) fail with SHMKIT_EPERM at the receiver.
 *
 * Timeouts are in milliseconds: -1 waits forever, 0 does not wait. */

/* The largest payload of one message, and the most regions it carries. */
#define SHMKIT_MSG_MAX         65536
#define SHMKIT_MSG_REGIONS_MAX 16

/* Starts listening on an endpoint. Fails with SHMKIT_ENAME, SHMKIT_EEXIST
 * (someone listens on it already; Windows: or another process made the
 * pipe's name first, or connections an earlier listener of the name
 * accepted are still open), SHMKIT_EACCES (Windows: also no LOCALAPPDATA
 * for the lock), SHMKIT_EMFILE, SHMKIT_ENOMEM, SHMKIT_ENOSPC (the portable
 * path: no room for the endpoint's directory or socket file). Close it
 * with shmkit_conn_close(). */
SHMKIT_EXTERN int shmkit_listen(shmkit_conn **out, const char *endpoint);

/* Waits for the next connection from a process of the same user (Windows:
 * at this process's integrity level or above; a client below it is turned
 * away like another user's). Fails
 * with SHMKIT_ETIMEDOUT, SHMKIT_EINVAL (not a listener), SHMKIT_EMFILE.
 * The timeout bounds the whole call, however many connections of other
 * users (or gone before they could be seen) it turns away meanwhile. A
 * listener running as the overflow uid (see "Endpoints") turns every
 * connection away, and so ends in SHMKIT_ETIMEDOUT. */
SHMKIT_EXTERN int shmkit_accept(shmkit_conn **out, shmkit_conn *listener,
                                int timeout_ms);

/* Connects to an endpoint. The timeout covers the whole call, including
 * a listener that does not exist yet: while nobody listens, the call looks
 * again (after pauses that grow from 2 to 50 ms) until a listener is there
 * or the time is up, so a client started with its server needs no loop of
 * its own; -1 waits for a listener forever, and 0 looks once and fails at
 * once. Fails with SHMKIT_ENAME, SHMKIT_ENOENT (nobody listened, at the
 * last look, made when the time is up; Windows: also when a pipe of that
 * name exists but nobody holds the endpoint's lock), SHMKIT_EACCES (the
 * listener is another user's, or
 * this process or the listener is reported as the overflow uid; Windows:
 * or the pipe reached was not made by the process holding the lock, or the
 * listener runs at a lower integrity level than this process),
 * SHMKIT_ETIMEDOUT (the listener did not take the connection in time),
 * SHMKIT_ENOSPC (the portable path: no room for this user's endpoint
 * directory). */
SHMKIT_EXTERN int shmkit_connect(shmkit_conn **out, const char *endpoint,
                                 int timeout_ms);

/* Two connected ends, for a parent and the child it hands one to
 * (shmkit_spawn_options.conns and shmkit_conn_token()). Each end's peer is
 * this process until shmkit_spawn() hands one end to a child; the other
 * end's peer is then that child (and on Windows, where regions are taken
 * out of the peer's process, that is where they are taken from). Hand the
 * ends of one pair to two different children and, on Windows, neither can
 * take the other's regions: give each child a pair of its own with the
 * parent instead. */
SHMKIT_EXTERN int shmkit_conn_pair(shmkit_conn **a, shmkit_conn **b);

/* Closes a connection or a listener (and removes its socket file). NULL is
 * ignored. Windows: if regions sent on the connection have not been taken
 * yet, first waits up to 5 seconds for the peer to take them (see "How
 * regions travel on Windows"); it returns as soon as they are, or the peer
 * closes or dies. */
SHMKIT_EXTERN void shmkit_conn_close(shmkit_conn *conn);

/* Sends one message: `size` bytes (0 to SHMKIT_MSG_MAX) and `count` regions
 * (0 to SHMKIT_MSG_REGIONS_MAX), which arrive together and whole. The
 * regions stay the caller's; the peer gets handles of its own, with the
 * same access (a read-only region arrives read-only) and seals; a region
 * sealed against writes with shmkit_region_seal() (SHMKIT_SEAL_WRITE,
 * SHMKIT_SEAL_FUTURE_WRITE) is announced, and arrives, read-only, since
 * nobody can write it. (A region whose memory was sealed some other way, by
 * another process or through another region object, is still announced
 * as it was opened, and a receiver refuses to take it writable: send it
 * read-only, shmkit_region_dup_readonly().) Fails with
 * SHMKIT_E2BIG, SHMKIT_EINVAL, SHMKIT_ECLOSED (the peer is gone),
 * SHMKIT_ETIMEDOUT (the peer does not read; Windows: or, with regions, has
 * not yet taken up its end and said how it takes them), SHMKIT_EBUSY
 * (Windows: 1024 regions sent are still not taken), SHMKIT_EPERM (Windows:
 * neither process may open the other; see "How regions travel on
 * Windows"), SHMKIT_EMFILE (Linux: this
 * user has more handles sent and not yet received than its RLIMIT_NOFILE,
 * and is not privileged; nothing was sent, and the handles come back as
 * receivers read them). */
SHMKIT_EXTERN int shmkit_conn_send(shmkit_conn *conn, const void *data,
                                   size_t size, shmkit_region *const *regions,
                                   size_t count, int timeout_ms);

/* A message as shmkit_conn_recv() hands it over. Ready it once with
 * SHMKIT_MSG_INIT; the same message then takes one receive after another
 * (each sets size, count and regions anew; data and capacity stay), as
 * long as the regions of the last are closed (shmkit_msg_close()) or kept
 * before the next receive, which would otherwise forget them. */
typedef struct shmkit_msg {
  void *data;      /* in: where the payload goes */
  size_t capacity; /* in: room at data */
  size_t size;     /* out: the payload's size */
  size_t count;    /* out: how many regions arrived */
  /* out: the regions, new objects the caller owns and closes; already
   * checked as tokens are: shared memory, the access and at least the size
   * the sender announced. */
  shmkit_region *regions[SHMKIT_MSG_REGIONS_MAX];
} shmkit_msg;

/* A message ready to receive at most `capacity` bytes into `buf`, with
 * nothing in it yet:
 *     char buf[256];
 *     shmkit_msg m = SHMKIT_MSG_INIT(buf, sizeof buf); */
/* (clang-format would spread the braces over six lines.) */
/* clang-format off */
#define SHMKIT_MSG_INIT(buf, capacity) {(buf), (capacity), 0, 0, {NULL}}
/* clang-format on */

/* Closes every region the message holds (regions[0..count); a NULL one is
 * skipped) and sets each slot to NULL and count to 0, so that the message
 * is ready for the next receive. To keep a region, take it and set its
 * slot to NULL first. The payload stays. NULL is ignored. */
SHMKIT_EXTERN void shmkit_msg_close(shmkit_msg *msg);

/* Receives the next message, whole, into `msg` (its data and capacity:
 * see SHMKIT_MSG_INIT). When the payload is shorter than `capacity`, a 0
 * byte is written after it, so that a text payload can be used as a
 * string; msg->size does not count it. On failure msg->count is 0 and
 * nothing is left open. Everything in it comes from another
 * process and is checked before it is handed over; a message that fails a
 * check is discarded, every handle that came with it closed, and the call
 * fails with SHMKIT_EPROTO (a malformed frame: lengths or counts that lie,
 * more or fewer handles than announced, truncated control data),
 * SHMKIT_EVERSION (a frame of a newer protocol version than this library
 * speaks: the peer must send version 1 to it; docs/protocol.md,
 * "Versions"), SHMKIT_ENOTSHM, SHMKIT_EACCES or SHMKIT_ETOOSMALL (a region that
 * is not what the frame says), SHMKIT_EPERM (a region claimed writable that is
 * sealed against writes: shmkit_conn_send() sends such a region read-only),
 * or SHMKIT_E2BIG (a payload larger than `capacity`;
 * msg->size says how large), or SHMKIT_EMFILE (POSIX: this process is out
 * of descriptors, at its RLIMIT_NOFILE or the system's limit: the system drops
 * the message, and every handle it could install is closed; the message is
 * lost). The connection stays usable after each of these. Also SHMKIT_ECLOSED
 * (the peer closed, died, or shut down its sending side (POSIX shutdown()),
 * after every message it sent before has arrived; every later call returns it
 * again; on Windows also: the sender died before its regions could be taken,
 * and the message is dropped), SHMKIT_ETIMEDOUT, and on Windows SHMKIT_EPERM
 * (regions sent by another process than the one at the other end, or by a
 * sender this process may not take handles from). On Windows a peer that
 * floods the connection keeps a receive at most a bounded batch of its
 * messages past the timeout.
 *
 * POSIX: a received handle is checked without asking its file system
 * where the system allows it (Linux: anything but a tmpfs or hugetlbfs
 * file is refused by fcntl(F_GET_SEALS), which the kernel answers itself).
 * The portable path (SHMKIT_PORTABLE, other systems) has no such check:
 * it calls fstat(), which, for a file of a FUSE file system the peer
 * serves, waits for the peer's answer, past `timeout_ms` and forever if it
 * never comes. And on Linux too, closing a refused handle of a FUSE file
 * waits for that file system's answer to the close (FUSE FLUSH), which the
 * peer may withhold in the same way. Against a peer that can mount a FUSE file
 * system, receive in a thread that may block. Windows likewise: a handle a
 * peer names that is not a section is looked at and closed, and closing a
 * file of a file system served in user mode (WinFsp, ProjFS) by the peer
 * waits for that file system. */
SHMKIT_EXTERN int shmkit_conn_recv(shmkit_conn *conn, shmkit_msg *msg,
                                   int timeout_ms);

/* Who is at the other end, as the system says (never as the peer says). */
#define SHMKIT_USER_MAX 192
typedef struct shmkit_peer {
  int64_t pid; /* its process id; -1 where the system cannot tell */
  int64_t uid; /* POSIX: its user id; -1 on Windows */
  /* The user as text: the uid in decimal on POSIX, the SID on Windows. */
  char user[SHMKIT_USER_MAX];
} shmkit_peer;

/* Fills *peer for a connected end (Linux: SO_PEERCRED, at connection time;
 * Windows: the process id the pipe records and that process's user SID).
 * SHMKIT_EINVAL for a listener. */
SHMKIT_EXTERN int shmkit_conn_peer(const shmkit_conn *conn, shmkit_peer *peer);

/* The native handle of a connection or a listener. It still belongs to
 * it: do not close it, read from it or write to it.
 *
 * POSIX: a socket descriptor, to wait on with the system's poll() (or an
 * event loop), for reading only:
 *  - a listener's is readable when a connection is waiting: the next
 *    shmkit_accept() will not wait for one (it may still turn away one of
 *    another user; poll again if it times out);
 *  - a connection's is readable when a message is there (the next
 *    shmkit_conn_recv() will not wait for one), or the end (it returns
 *    SHMKIT_ECLOSED).
 * Windows: nothing to wait on for readiness. A connection's is the pipe
 * handle, opened for overlapped I/O, which is not signaled when a message
 * is there; a listener's is the pipe instance waiting for the next client,
 * a different handle after each shmkit_accept() (that instance becomes the
 * connection), or SHMKIT_INVALID_HANDLE when none could be made. Wait in
 * shmkit_accept() and shmkit_conn_recv() instead, in a thread of their own
 * if need be. */
SHMKIT_EXTERN shmkit_handle shmkit_conn_handle(const shmkit_conn *conn);

/* Writes a connection's token, "shmkit1:<handle>:conn", for a child that
 * inherits it (shmkit_spawn_options.conns), as shmkit_region_token() does;
 * SHMKIT_EINVAL for a listener. */
SHMKIT_EXTERN int shmkit_conn_token(const shmkit_conn *conn, char *buf,
                                    size_t buf_size);

/* Takes the connection a token names, in the child: parsed strictly
 * (SHMKIT_ETOKEN), then checked to be an open (SHMKIT_EBADF) connection
 * handle of the right kind (SHMKIT_ENOTSHM otherwise). From the
 * environment variable `name`: SHMKIT_ENOENT if it is not set. */
SHMKIT_EXTERN int shmkit_conn_from_token(shmkit_conn **out, const char *token);
SHMKIT_EXTERN int shmkit_conn_from_env(shmkit_conn **out, const char *name);

/* Pull mode: takes a copy of handle `remote` of process `pid`, without its
 * help (Linux 5.6: pidfd_getfd), and checks it as a token's (shared memory,
 * `access`; the size is the system's). The system allows it only where this
 * process could trace that one (same user and a permissive
 * kernel.yama.ptrace_scope, or a parent and its child, or CAP_SYS_PTRACE):
 * else SHMKIT_EPERM. SHMKIT_ENOENT: no such process; SHMKIT_EBADF: no such
 * handle there; SHMKIT_ENOTSUP: not Linux 5.6, or SHMKIT_PORTABLE.
 * Windows: DuplicateHandle out of the process, where this one may open it
 * with PROCESS_DUP_HANDLE (else SHMKIT_EPERM). */
SHMKIT_EXTERN int shmkit_region_pull(shmkit_region **out, int64_t pid,
                                     shmkit_handle remote, int access);

/* ---------------------------------------------------------------- channels
 *
 * A channel carries messages one way, from its sender to its receiver,
 * through a ring in a region both map: a single-producer, single-consumer
 * queue of messages of 1 to max_message bytes, each kept whole. While both
 * sides are awake no system call is made per message; a side that must
 * wait spins briefly, then sleeps in the kernel, and the other side wakes
 * it only when it has said that it sleeps. Two channels, each on a
 * connection of its own, make a duplex link.
 *
 * A channel rides on a connection, its *link*: the creator sends the region
 * over it, and from then on the channel owns it and uses it to wake a
 * sleeper that cannot be woken otherwise and to learn that the peer is
 * gone (closed, crashed or killed: the link hangs up, without any
 * heartbeat). So a channel reaches another process exactly as a
 * connection does:
 *  - a child: shmkit_conn_pair(), one end listed in
 *    shmkit_spawn_options.conns and its token on the command line or in the
 *    environment; the parent creates the channel on its end, the child
 *    calls shmkit_channel_from_token() or shmkit_channel_from_env();
 *  - by name: shmkit_listen() and shmkit_accept() on one side,
 *    shmkit_connect() on the other (the endpoint's name is the channel's);
 *  - any other connection, both sides agreeing which one creates.
 *
 * Everything the peer can write (the whole region) is read once, checked
 * and never trusted: a ring that breaks the rules (docs/protocol.md,
 * "Channels") makes every later call fail with SHMKIT_EPROTO, never a crash,
 * a hang or an access outside the ring. (On Linux the ring is sealed
 * against shrinking, and an unsealed one refused; on systems without
 * seals, a peer that truncates the object makes the next access fault:
 * README, "What shmkit cannot stop".) A message's bytes are the peer's to
 * change at any time, even while this side reads them: copy what you must
 * check before you act on it.
 *
 * Timeouts, as everywhere: 0 tries once, -1 waits forever, below -1 is
 * SHMKIT_EINVAL. A call that
 * would wait on a closed or dead peer returns SHMKIT_ECLOSED within a
 * second (at once after a clean close); a receiver first gets every message
 * committed before. A channel is used by one thread at a time. */
typedef struct shmkit_channel shmkit_channel;

/* Which side of the channel the creator is. */
#define SHMKIT_CHANNEL_SEND 1
#define SHMKIT_CHANNEL_RECV 2

/* The ring's capacity is a power of two from 4 KiB to 2 GiB. */
#define SHMKIT_CHANNEL_CAPACITY_MIN 4096u
#define SHMKIT_CHANNEL_CAPACITY_MAX 2147483648u

/* Creates a channel on the connection `link`: a ring of at least
 * `capacity` bytes (rounded up to a power of two from 4 KiB, at most
 * SHMKIT_CHANNEL_CAPACITY_MAX; the region is 256 bytes more) that carries
 * messages of 1 to `max_message` bytes (at most a quarter of the rounded
 * capacity; 0: that quarter), this side being `role`. Sends the channel's
 * region over `link` (it waits, up to `timeout_ms`, only where the
 * connection must; see shmkit_conn_send()) and from then on owns `link`:
 * do not use or close it yourself (a message of yours on it breaks the
 * channel at the peer). On failure it is still the caller's. The sender
 * may send at once: messages wait in the ring until the other side
 * attaches. Fails with SHMKIT_EINVAL (NULL out or link, a bad role, a
 * listener), SHMKIT_E2BIG (a capacity or max_message too large), and what
 * shmkit_region_create() and shmkit_conn_send() fail with. Windows:
 * closing a channel whose peer never attached waits up to 5 seconds, as
 * closing a connection with a region still in flight does. */
SHMKIT_EXTERN int shmkit_channel_create(shmkit_channel **out, shmkit_conn *link,
                                        int role, size_t capacity,
                                        size_t max_message, int timeout_ms);

/* The other side: receives the channel the peer created on `link` (up to
 * `timeout_ms`), checks all of it against the region the system reports,
 * and then owns `link`. On failure `link` is still the caller's; the
 * message that did not check is consumed. Fails with SHMKIT_EINVAL (NULL
 * out or link, a listener), what shmkit_conn_recv() fails with
 * (SHMKIT_ETIMEDOUT: no offer in time; SHMKIT_ECLOSED), SHMKIT_EPROTO
 * (not a channel's offer, or its region or header breaks a rule; the checks
 * are listed in order in docs/protocol.md) and SHMKIT_EVERSION (a newer
 * offer or layout). */
SHMKIT_EXTERN int shmkit_channel_attach(shmkit_channel **out, shmkit_conn *link,
                                        int timeout_ms);

/* shmkit_conn_from_token() (or _from_env()), then shmkit_channel_attach():
 * the child's side of a channel its parent created on the other end of a
 * pair. On failure nothing is left open, the inherited connection
 * included. From the environment variable `name`: SHMKIT_ENOENT if it is
 * not set. */
SHMKIT_EXTERN int shmkit_channel_from_token(shmkit_channel **out,
                                            const char *token, int timeout_ms);
SHMKIT_EXTERN int shmkit_channel_from_env(shmkit_channel **out,
                                          const char *name, int timeout_ms);

/* Sends a copy of size bytes (1 to max_message) at data, waiting for room
 * up to timeout_ms. SHMKIT_E2BIG past max_message, SHMKIT_EINVAL for 0,
 * NULL data, a receiver, or while a reservation is open; SHMKIT_ETIMEDOUT:
 * no room in time; SHMKIT_ECLOSED: the receiver is gone, even where there
 * is room (what it did not take is lost); SHMKIT_EPROTO: the channel broke
 * a rule, for good. A message of 64 KiB or more is written into the ring
 * by memcpy() or around this thread's caches (x86: non-temporal stores),
 * whichever the channel measured to be faster for its size between the two
 * processes; around the caches, what it wrote does not stay in them. */
SHMKIT_EXTERN int shmkit_channel_send(shmkit_channel *ch, const void *data,
                                      size_t size, int timeout_ms);

/* Receives the next message into buf (room for `capacity` bytes), its
 * length in *size, waiting for one up to timeout_ms. SHMKIT_E2BIG: the
 * message is longer than capacity (*size says how long); it stays, for a
 * call with more room. SHMKIT_ETIMEDOUT: nothing in time; SHMKIT_ECLOSED:
 * the sender is gone and every message it committed was received;
 * SHMKIT_EINVAL: NULL size, NULL buf with a capacity, a sender;
 * SHMKIT_EPROTO: the channel broke a rule, for good. A call that gets
 * past those checks also releases the messages peeked at before it
 * (their pointers are no longer valid); their room goes back with the
 * room of what it receives, and at the latest before it waits, since the
 * sender may need it for the message waited for. */
SHMKIT_EXTERN int shmkit_channel_recv(shmkit_channel *ch, void *buf,
                                      size_t capacity, size_t *size,
                                      int timeout_ms);

/* Zero-copy sending: reserves room for a message of `size` bytes (1 to
 * max_message) in the ring, contiguous, 16-byte aligned, waiting for it up
 * to timeout_ms, and points *data at it; nothing is visible to the
 * receiver until shmkit_channel_commit(). One reservation at a time. A
 * reservation that must wait first publishes what was committed with
 * SHMKIT_CHANNEL_MORE. Fails as shmkit_channel_send() does, but for a
 * receiver that was killed while there is room: that the commit says. */
SHMKIT_EXTERN int shmkit_channel_reserve(shmkit_channel *ch, size_t size,
                                         void **data, int timeout_ms);

/* Flag for shmkit_channel_commit(): keep the message with the ones to
 * publish together, at the next commit without it or the next flush. */
#define SHMKIT_CHANNEL_MORE 1u

/* Ends the reservation as a message of `size` bytes (1 to what was
 * reserved) and publishes it, with every message committed before with
 * SHMKIT_CHANNEL_MORE, in one store (and one wake-up, if the receiver
 * sleeps). With SHMKIT_CHANNEL_MORE, it is kept for later. SHMKIT_EINVAL:
 * no reservation, a size out of range, an unknown flag, a receiver;
 * SHMKIT_ECLOSED: the receiver was found gone after the message was
 * committed (the link is asked then, so that the question never delays a
 * message): nobody will read it. */
SHMKIT_EXTERN int shmkit_channel_commit(shmkit_channel *ch, size_t size,
                                        unsigned flags);

/* Publishes what was committed with SHMKIT_CHANNEL_MORE. A sender that
 * must wait for room publishes first, by itself, and so does closing.
 * SHMKIT_EINVAL for a receiver; SHMKIT_EPROTO once the channel broke. */
SHMKIT_EXTERN int shmkit_channel_flush(shmkit_channel *ch);

/* Zero-copy receiving: points *data at the next message not yet peeked
 * at, in the ring (16-byte aligned), and says its length, waiting for one
 * up to timeout_ms. It stays there, and its room is not given back to the
 * sender, until shmkit_channel_release(). The bytes are the sender's to
 * change (a hostile one may): copy what you check. Messages peeked at hold
 * their room, even across shmkit_channel_arm(), and a peek that must wait
 * gives back only what was received before: a receiver that waits for
 * more while it holds a full ring waits for nothing. Fails as
 * shmkit_channel_recv() does. */
SHMKIT_EXTERN int shmkit_channel_peek(shmkit_channel *ch, const void **data,
                                      size_t *size, int timeout_ms);

/* Gives back every message peeked at so far, in one store; their pointers
 * are no longer valid. SHMKIT_EINVAL for a sender; SHMKIT_EPROTO once the
 * channel broke. */
SHMKIT_EXTERN int shmkit_channel_release(shmkit_channel *ch);

/* Asks for shmkit_channel_handle() to become ready when this side can go
 * on: a receiver, when a message is there; a sender, when there is room for
 * a message of max_message bytes; both, when the peer is gone. Returns 1
 * if that is so already (do not wait), 0 once asked (wait on the handle;
 * when it is ready, call recv or send (peek, reserve) with timeout 0 until
 * SHMKIT_ETIMEDOUT, then arm again), or an error. A sender publishes what
 * it committed with SHMKIT_CHANNEL_MORE first; a receiver gives back the
 * room of what it received, but not of messages peeked at and not
 * released. The peer then pays one message
 * on the link to wake this side, once; a side that never arms costs its peer
 * nothing. A typical loop:
 *     for (;;) {
 *       while (shmkit_channel_recv(ch, buf, sizeof buf, &n, 0) == 0)
 *         use(buf, n);
 *       (stop on SHMKIT_ECLOSED or another error)
 *       if (shmkit_channel_arm(ch) == 0)
 *         poll for shmkit_channel_handle(ch), with the other handles;
 *     } */
SHMKIT_EXTERN int shmkit_channel_arm(shmkit_channel *ch);

/* What to wait on for a channel, with the system's wait or an event loop,
 * after shmkit_channel_arm() returned 0; the same handle for the channel's
 * life. It still belongs to the channel: do not close it, read it, write
 * it or reset it. It stays ready until the next shmkit_channel_arm() (use
 * it level-triggered: epoll without EPOLLET). It may also be ready when
 * the channel is not (a wake-up meant for an earlier wait): then a call
 * with timeout 0 finds nothing, and shmkit_channel_arm() asks again.
 *  - POSIX: the link's socket, to poll() (or epoll, kqueue) for reading.
 *  - Windows: an event, for WaitForMultipleObjects() and the like, set
 *    when a message arrives on the link or the link ends (a zero-byte read
 *    on the link's pipe, started by shmkit_channel_arm()). */
SHMKIT_EXTERN shmkit_handle shmkit_channel_handle(const shmkit_channel *ch);

/* How many times a side that must wait looks again, busy, before it
 * sleeps: 0 sleeps at once, (unsigned)-1 never sleeps (busy-polls, for the
 * lowest latency, a core per waiting side), SHMKIT_CHANNEL_SPIN_DEFAULT
 * (what a channel starts with) shmkit_channel_spin_default()'s count. */
#define SHMKIT_CHANNEL_SPIN_DEFAULT ((unsigned)-2)
SHMKIT_EXTERN void shmkit_channel_set_spin(shmkit_channel *ch, unsigned spins);

/* The default spin: as many looks as take about 40 us on this processor,
 * measured the first time it is asked (2048 looks, 40 to 80 us), the same
 * count after that, for the life of the process, in every thread. A fixed count
 * would spin for very different times: a look is mostly the processor's spin
 * hint, about 1 ns on ARM (`yield`), 20 on AMD's Zen, 40 on Intel since
 * Skylake (`pause`). 40 us is longer than a sleep and its wake-up (about
 * 10 us each on a virtual machine), so that a peer that answers within a
 * round trip finds this side still awake, and no system call is made. */
SHMKIT_EXTERN unsigned shmkit_channel_spin_default(void);

/* The longest message the channel carries, as its creator set it: what a
 * receiver's buffer needs. 0 for NULL. */
SHMKIT_EXTERN size_t shmkit_channel_max_message(const shmkit_channel *ch);

/* Closes this side: the peer sees SHMKIT_ECLOSED at once (a receiver
 * after the messages committed before, those held with
 * SHMKIT_CHANNEL_MORE included: closing publishes them). An open
 * reservation is dropped. Closes the link and unmaps the ring. NULL is ignored.
 */
SHMKIT_EXTERN void shmkit_channel_close(shmkit_channel *ch);

/* ---------------------------------------------------------------- misc */

/* The alignment the system needs for a mapping's offset: the page size on
 * POSIX, the allocation granularity (64 KiB) on Windows. shmkit handles it;
 * callers only need it to place data so that views waste nothing. */
SHMKIT_EXTERN size_t shmkit_granularity(void);

#ifdef __cplusplus
}
#endif

#endif /* SHMKIT_H */
