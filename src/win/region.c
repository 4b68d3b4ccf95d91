/* Windows regions and views: file mappings backed by the paging file
 * (CreateFileMapping with INVALID_HANDLE_VALUE), both halves of the 64-bit
 * size filled in, views with MapViewOfFile. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "win.h"
#include "sys.h"

/* What the kernel32 API lacks: a section's size, a handle's type and its
 * granted access. ntdll is in every process; these are looked up once. */
typedef LONG(NTAPI *query_object_fn)(HANDLE, int, void *, ULONG, ULONG *);
typedef LONG(NTAPI *query_section_fn)(HANDLE, int, void *, ULONG, ULONG *);

typedef struct {
  void *base;
  ULONG attributes;
  LARGE_INTEGER size;
} section_basic_info; /* SECTION_BASIC_INFORMATION */

typedef struct {
  ULONG attributes;
  ACCESS_MASK granted;
  ULONG handles, pointers;
  ULONG reserved[10];
} object_basic_info; /* PUBLIC_OBJECT_BASIC_INFORMATION */

/* Windows wants this exact length (Wine takes any larger one). */
_Static_assert(sizeof(object_basic_info) == 56, "ObjectBasicInformation");

typedef struct {
  USHORT length, maximum;
  wchar_t *buffer;
} unicode_string;

static query_object_fn query_object;
static query_section_fn query_section;

static BOOL CALLBACK load_ntdll(INIT_ONCE *once, void *arg, void **ctx) {
  HMODULE nt = GetModuleHandleW(L"ntdll.dll");
  (void)once, (void)arg, (void)ctx;
  if (nt != NULL) {
    query_object =
        (query_object_fn)(void (*)(void))GetProcAddress(nt, "NtQueryObject");
    query_section =
        (query_section_fn)(void (*)(void))GetProcAddress(nt, "NtQuerySection");
  }
  return TRUE;
}

static void ntdll(void) {
  static INIT_ONCE once = INIT_ONCE_STATIC_INIT;
  InitOnceExecuteOnce(&once, load_ntdll, NULL, NULL);
}

#define STATUS_INVALID_HANDLE_ ((LONG)0xC0000008)

/* Owner-only (the user and OWNER RIGHTS): the 0600 of POSIX. */
#define SDDL_NAMED "D:P(A;;0xF001F;;;%s)(A;;0xF001F;;;OW)"
/* Anonymous sections get an unguessable name only so that Windows applies
 * this descriptor: nobody may open or re-duplicate them for more than
 * reading and querying, so a FILE_MAP_READ duplicate cannot be upgraded to
 * write access by its holder. The creator's own handle has all access: it
 * was granted at creation. OW keeps the owner from rewriting the DACL. */
#define SDDL_ANON "D:P(A;;0x5;;;%s)(A;;0x5;;;OW)"

static int create(const wchar_t *name, const char *sddl, uint64_t size,
                  HANDLE *out) {
  SECURITY_ATTRIBUTES sa;
  HANDLE h;
  DWORD e;
  int err;

  if ((err = shmkit__win_security(sddl, &sa)) != 0) return err;
  /* Both halves: a high half of 0 would cut sizes to 32 bits. */
  h = sys_CreateFileMappingW(INVALID_HANDLE_VALUE, &sa, PAGE_READWRITE,
                             (DWORD)(size >> 32), (DWORD)size, name);
  e = GetLastError();
  LocalFree(sa.lpSecurityDescriptor);
  /* The arguments are checked: an invalid one can only be the size, beyond
   * what a section can be (Wine says so; Windows says out of memory). */
  if (h == NULL && e == ERROR_INVALID_PARAMETER) return SHMKIT_E2BIG;
  /* Sections share their namespace with events, mutexes, semaphores and
   * the like; Windows documents ERROR_INVALID_HANDLE for a name one of those
   * holds. The name is taken. */
  if (h == NULL && e == ERROR_INVALID_HANDLE && name != NULL)
    return SHMKIT_EEXIST;
  if (h == NULL) return shmkit__win_error(e);
  if (e == ERROR_ALREADY_EXISTS) { /* opened someone else's: not ours */
    CloseHandle(h);
    return SHMKIT_EEXIST;
  }
  *out = h;
  return 0;
}

static wchar_t *object_name(const char *prefix, const char *name, int *err) {
  char full[64];
  snprintf(full, sizeof(full), "%s%s", prefix, name);
  return shmkit__utf16(full, err);
}

int shmkit__os_create(uint64_t size, unsigned flags, shmkit_handle *out) {
  unsigned char rnd[8];
  char name[40];
  HANDLE h;
  int err;

  /* Sections are committed against the paging file at once (SEC_COMMIT,
   * the default), SHMKIT_SPARSE or not: a SEC_RESERVE section would fault
   * on first touch in every process it is handed to (shmkit__os_check
   * refuses such sections). */
  (void)flags;
  for (int attempt = 0; attempt < 16; attempt++) {
    wchar_t *w;
    if ((err = shmkit__win_random(rnd, sizeof(rnd))) != 0) return err;
    snprintf(name, sizeof(name), "shmkit.%02x%02x%02x%02x%02x%02x%02x%02x",
             rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
    if ((w = object_name("Local\\", name, &err)) == NULL) return err;
    err = create(w, SDDL_ANON, size, &h);
    free(w);
    if (err != SHMKIT_EEXIST) break;
  }
  if (err != 0) return err;
  *out = (shmkit_handle)h;
  return 0;
}

/* 1 if this process may create objects in Global\ (the privilege is held
 * and enabled, as it is for administrators and services). */
static int may_create_global(void) {
  PRIVILEGE_SET set;
  HANDLE token;
  BOOL held = FALSE;

  if (!sys_OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token)) return 0;
  set.PrivilegeCount = 1;
  set.Control = PRIVILEGE_SET_ALL_NECESSARY;
  set.Privilege[0].Attributes = 0;
  if (!sys_LookupPrivilegeValueW(NULL, L"SeCreateGlobalPrivilege",
                                 &set.Privilege[0].Luid) ||
      !sys_PrivilegeCheck(token, &set, &held))
    held = FALSE;
  CloseHandle(token);
  return held != FALSE;
}

static const char *namespace_of(unsigned flags) {
  return (flags & SHMKIT_GLOBAL) ? "Global\\" : "Local\\";
}

int shmkit__os_create_named(const char *name, uint64_t size, unsigned flags,
                            shmkit_handle *out) {
  wchar_t *w;
  HANDLE h;
  int err;

  if ((w = object_name(namespace_of(flags), name, &err)) == NULL) return err;
  err = create(w, SDDL_NAMED, size, &h);
  free(w);
  /* Denied in Global\: say which of the two reasons it is. */
  if (err == SHMKIT_EACCES && (flags & SHMKIT_GLOBAL) && !may_create_global())
    return SHMKIT_EPERM;
  if (err != 0) return err;
  *out = (shmkit_handle)h;
  return 0;
}

int shmkit__os_open_named(const char *name, int access, unsigned scope,
                          shmkit_handle *out, uint64_t *size) {
  DWORD want = SECTION_QUERY | FILE_MAP_READ |
               (access == SHMKIT_READ_WRITE ? FILE_MAP_WRITE : 0);
  wchar_t *w;
  HANDLE h;
  int err;

  if ((w = object_name(namespace_of(scope), name, &err)) == NULL) return err;
  h = sys_OpenFileMappingW(want, FALSE, w);
  /* A section another program made may grant the mapping rights and not
   * SECTION_QUERY, which only reads the size: shmkit__os_check measures it
   * without. */
  if (h == NULL && GetLastError() == ERROR_ACCESS_DENIED)
    h = sys_OpenFileMappingW(want & ~(DWORD)SECTION_QUERY, FALSE, w);
  /* The name is another kind of object's (see create()): Wine 8 says so
   * with ERROR_INVALID_HANDLE here too. */
  if (h == NULL && GetLastError() == ERROR_INVALID_HANDLE)
    err = SHMKIT_ENOTSHM;
  else
    err = h == NULL ? shmkit__win_last_error() : 0;
  free(w);
  if (err != 0) return err;
  if ((err = shmkit__os_check((shmkit_handle)h, access, size)) != 0) {
    CloseHandle(h);
    return err;
  }
  *out = (shmkit_handle)h;
  return 0;
}

int shmkit__os_remove_named(const char *name) {
  (void)name; /* a Windows name lives exactly as long as its object */
  return SHMKIT_ENOTSUP;
}

/* 1 if a view of `h` that ends at byte `end` can be mapped: Microsoft
 * documents for MapViewOfFile that all bytes of a view must be within the
 * section's maximum size. The view starts at `from`, an offset the
 * allocation granularity divides, to keep each probe small. */
static int fits(HANDLE h, DWORD view, uint64_t from, uint64_t end) {
  void *p = sys_MapViewOfFile(h, view, (DWORD)(from >> 32), (DWORD)from,
                              (SIZE_T)(end - from));
  if (p == NULL) return 0;
  UnmapViewOfFile(p);
  return 1;
}

/* The size of a section whose handle lacks SECTION_QUERY, as other programs
 * hand sections over (DuplicateHandle with FILE_MAP_READ alone), from what
 * Microsoft documents for MapViewOfFile: a length of 0 maps from the offset
 * to the end of the section, VirtualQuery gives a view's size, and a view
 * must lie within the section's maximum size.
 *
 * First the whole section is mapped, with the view access that `access`
 * needs (the handle was checked for that right), and the regions
 * VirtualQuery reports inside that one view are added up: VirtualQuery
 * reports runs of pages of the same state and protection, so a section
 * made with SEC_RESERVE and partly committed is several runs, all counted.
 * That is whole pages. A run still reserved (MEM_RESERVE) refuses the
 * section, as its SEC_RESERVE attribute does in shmkit__os_check: those
 * pages are not memory yet (see there). A section backed by the paging file is
 * whole pages; one backed by a file is as long as it was made (the file's
 * length if 0 was given), so the view's last page may reach past its end: views
 * ending inside that page find the exact end (at most 12 of them for 4 KiB
 * pages), the size NtQuerySection reports for it (under Wine 8). */
static int mapped_size(HANDLE h, int access, uint64_t *size) {
  DWORD view = access == SHMKIT_READ_WRITE ? FILE_MAP_WRITE : FILE_MAP_READ;
  MEMORY_BASIC_INFORMATION mbi;
  SYSTEM_INFO si;
  uint64_t total = 0, lo, hi, from;
  char *base, *at;
  int reserved = 0;

  base = sys_MapViewOfFile(h, view, 0, 0, 0);
  if (base == NULL) return shmkit__win_last_error();
  for (at = base; sys_VirtualQuery(at, &mbi, sizeof(mbi)) == sizeof(mbi) &&
                  mbi.AllocationBase == base && mbi.RegionSize > 0;
       at += mbi.RegionSize) {
    if (mbi.State == MEM_RESERVE) reserved = 1;
    total += mbi.RegionSize;
  }
  UnmapViewOfFile(base);
  if (reserved) return SHMKIT_ENOTSHM;
  GetSystemInfo(&si);
  if (total < si.dwPageSize) return SHMKIT_EIO;
  /* The end is in (lo, hi]; a view that ends at hi usually fits. */
  lo = total - si.dwPageSize;
  hi = total;
  from = lo & ~(uint64_t)(si.dwAllocationGranularity - 1);
  if (!fits(h, view, from, hi)) {
    hi--;
    while (lo < hi) {
      uint64_t mid = lo + (hi - lo + 1) / 2;
      if (fits(h, view, from, mid))
        lo = mid;
      else
        hi = mid - 1;
    }
    /* Not even one byte of the last page: not a size, a failing system. */
    if (hi == total - si.dwPageSize) return SHMKIT_EIO;
  }
  *size = hi;
  return 0;
}

int shmkit__os_check(shmkit_handle handle, int access, uint64_t *size) {
  union {
    unicode_string name;
    char bytes[512];
  } type;
  object_basic_info basic;
  section_basic_info section;
  HANDLE h = (HANDLE)handle;
  DWORD flags;
  ACCESS_MASK need;
  LONG st;

  /* The kernel ignores the two low bits of a handle value, so 5, 6 and 7
   * name handle 4: two regions would own one handle, and closing one would
   * close the other's. A value that is not a multiple of 4 is refused. */
  if (handle == 0 || handle == SHMKIT_INVALID_HANDLE || (handle & 3) != 0)
    return SHMKIT_EBADF;
  /* ERROR_INVALID_HANDLE (SHMKIT_EBADF) for a value that is no handle. */
  if (!sys_GetHandleInformation(h, &flags)) return shmkit__win_last_error();
  ntdll();
  if (query_object == NULL || query_section == NULL) return SHMKIT_ENOTSUP;
  /* Neither query below needs any access right to the object: Microsoft's
   * NtQueryObject page lists none for ObjectTypeInformation or
   * ObjectBasicInformation, and a FILE_MAP_READ-only handle answers both
   * (tests/test-win.c). */
  st = sys_NtQueryObject(query_object, h, 2 /* ObjectTypeInformation */, &type,
                         sizeof(type), NULL);
  if (st == STATUS_INVALID_HANDLE_) return SHMKIT_EBADF;
  if (st < 0 || type.name.buffer == NULL ||
      type.name.length != 7 * sizeof(wchar_t) ||
      memcmp(type.name.buffer, L"Section", 7 * sizeof(wchar_t)) != 0)
    return SHMKIT_ENOTSHM;
  if (sys_NtQueryObject(query_object, h, 0 /* ObjectBasicInformation */, &basic,
                        sizeof(basic), NULL) < 0)
    return SHMKIT_EIO;
  /* A writable view (FILE_MAP_WRITE) needs SECTION_MAP_WRITE, a read-only
   * one (FILE_MAP_READ) SECTION_MAP_READ: the headers define the FILE_MAP_
   * rights as those SECTION_ bits. */
  need = access == SHMKIT_READ_WRITE ? SECTION_MAP_WRITE : SECTION_MAP_READ;
  if ((basic.granted & need) != need) return SHMKIT_EACCES;
  /* SECTION_QUERY reads the size without mapping anything; without it, a
   * whole view says how large the section is. */
  if ((basic.granted & SECTION_QUERY) == 0) return mapped_size(h, access, size);
  if (sys_NtQuerySection(query_section, h, 0 /* SectionBasicInformation */,
                         &section, sizeof(section), NULL) < 0)
    return SHMKIT_EIO;
  /* A section made with SEC_RESERVE has no memory behind its pages until
   * its maker commits them (VirtualAlloc on a view): on Windows, the first
   * touch of such a page is an access violation, which a receiver cannot
   * expect of a region. Not a region shmkit can use. (shmkit's own
   * sections are SEC_COMMIT, SHMKIT_SPARSE included.) */
  if (section.attributes & SEC_RESERVE) return SHMKIT_ENOTSHM;
  *size = (uint64_t)section.size.QuadPart;
  return 0;
}

int shmkit__os_set_private(shmkit_handle h) {
  if (!sys_SetHandleInformation((HANDLE)h, HANDLE_FLAG_INHERIT, 0))
    return shmkit__win_last_error();
  return 0;
}

int shmkit__os_dup_readonly(shmkit_handle h, const char *name,
                            shmkit_handle *out) {
  HANDLE self = GetCurrentProcess(), ro;

  (void)name;
  /* A subset of the handle's own access: no access check, so this works
   * for anonymous sections, whose descriptor refuses any upgrade. A region
   * adopted from a FILE_MAP_READ-only handle has no SECTION_QUERY to pass
   * on: asking for it is checked against the section's descriptor, which
   * may refuse it. The copy does without: its size is the region's, and a
   * process it is handed to measures it without (shmkit__os_check). */
  if (!sys_DuplicateHandle(self, (HANDLE)h, self, &ro,
                           SECTION_QUERY | FILE_MAP_READ, FALSE, 0) &&
      (GetLastError() != ERROR_ACCESS_DENIED ||
       !sys_DuplicateHandle(self, (HANDLE)h, self, &ro, FILE_MAP_READ, FALSE,
                            0)))
    return shmkit__win_last_error();
  *out = (shmkit_handle)ro;
  return 0;
}

void shmkit__os_close(shmkit_handle h) {
  CloseHandle((HANDLE)h);
}

int shmkit__os_seals(shmkit_handle h, unsigned add) {
  (void)h, (void)add;
  return SHMKIT_ENOTSUP;
}

size_t shmkit__os_granularity(void) {
  SYSTEM_INFO si;
  GetSystemInfo(&si);
  return si.dwAllocationGranularity;
}

int shmkit__os_map(shmkit_handle h, uint64_t offset, size_t length, int access,
                   void **base) {
  void *p = sys_MapViewOfFile(
      (HANDLE)h, access == SHMKIT_READ_WRITE ? FILE_MAP_WRITE : FILE_MAP_READ,
      (DWORD)(offset >> 32), (DWORD)offset, length);
  if (p == NULL) return shmkit__win_last_error();
  *base = p;
  return 0;
}

void shmkit__os_unmap(void *base, size_t length) {
  (void)length;
  UnmapViewOfFile(base);
}
