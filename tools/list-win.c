/* Windows: the named sections of this session's object directory
 * (\Sessions\<id>\BaseNamedObjects, which Local\ names are in) and of
 * \BaseNamedObjects (Global\), read with NtOpenDirectoryObject and
 * NtQueryDirectoryObject from ntdll, loaded at run time. Windows says
 * nothing cheap about who holds a section, so holders are not listed; a
 * size is the section's, read by opening it (only names that follow
 * shmkit's rules, read-only). */
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "list.h"
#include "tool.h"

typedef struct {
  USHORT Length, MaximumLength;
  PWSTR Buffer;
} nt_string;

typedef struct {
  ULONG Length;
  HANDLE RootDirectory;
  nt_string *ObjectName;
  ULONG Attributes;
  PVOID SecurityDescriptor, SecurityQualityOfService;
} nt_attributes;

typedef struct {
  nt_string Name, TypeName;
} nt_dir_entry;

typedef LONG(NTAPI *open_dir_fn)(HANDLE *, ACCESS_MASK, nt_attributes *);
typedef LONG(NTAPI *query_dir_fn)(HANDLE, PVOID, ULONG, BOOLEAN, BOOLEAN,
                                  ULONG *, ULONG *);
typedef LONG(NTAPI *close_fn)(HANDLE);

#define DIRECTORY_QUERY_ 0x0001

static int utf8(const WCHAR *w, size_t n, char *out, size_t size) {
  int k = WideCharToMultiByte(CP_UTF8, 0, w, (int)n, out, (int)size - 1, NULL,
                              NULL);
  if (k <= 0) return -1;
  out[k] = 0;
  return 0;
}

/* shmkit's anonymous sections: "shmkit." and 16 hex digits. */
static int shmkit_anon(const char *name) {
  return strlen(name) == 23 && strncmp(name, "shmkit.", 7) == 0 &&
         strspn(name + 7, "0123456789abcdef") == 16;
}

static int scan_dir(list_result *r, const WCHAR *path, int global, int named,
                    int anonymous) {
  HMODULE nt = GetModuleHandleW(L"ntdll.dll");
  open_dir_fn open_dir;
  query_dir_fn query_dir;
  close_fn close_h;
  nt_string s;
  nt_attributes a;
  HANDLE dir;
  ULONG ctx = 0, len;
  union {
    nt_dir_entry e;
    unsigned char bytes[4096];
  } buf;

  if (nt == NULL) return SHMKIT_ENOTSUP;
  open_dir =
      (open_dir_fn)(void (*)(void))GetProcAddress(nt, "NtOpenDirectoryObject");
  query_dir = (query_dir_fn)(void (*)(void))GetProcAddress(
      nt, "NtQueryDirectoryObject");
  close_h = (close_fn)(void (*)(void))GetProcAddress(nt, "NtClose");
  if (open_dir == NULL || query_dir == NULL || close_h == NULL)
    return SHMKIT_ENOTSUP;
  s.Length = (USHORT)(wcslen(path) * sizeof(WCHAR));
  s.MaximumLength = s.Length;
  s.Buffer = (PWSTR)path;
  memset(&a, 0, sizeof(a));
  a.Length = sizeof(a);
  a.ObjectName = &s;
  a.Attributes = 0x40; /* OBJ_CASE_INSENSITIVE */
  if (open_dir(&dir, DIRECTORY_QUERY_, &a) < 0) return SHMKIT_EACCES;
  /* One entry per call: the context says where the next one is. */
  while (query_dir(dir, &buf, sizeof(buf), TRUE, ctx == 0, &ctx, &len) >= 0) {
    char name[512], type[64];
    list_object o, *v;
    int anon;

    if (utf8(buf.e.Name.Buffer, buf.e.Name.Length / sizeof(WCHAR), name,
             sizeof(name)) != 0 ||
        utf8(buf.e.TypeName.Buffer, buf.e.TypeName.Length / sizeof(WCHAR), type,
             sizeof(type)) != 0 ||
        strcmp(type, "Section") != 0)
      continue;
    anon = shmkit_anon(name);
    if ((anon && !anonymous) || (!anon && !named)) continue;
    list_object_init(&o, anon ? LIST_SHMKIT_ANON : LIST_NAMED);
    o.global = global;
    {
      const char *base;
      unsigned flags;
      shmkit_region *reg;
      if (!anon && tool_check_name(name, &base, &flags) == 0 &&
          shmkit_region_open(&reg, name,
                             SHMKIT_READ_ONLY |
                                 (global ? (int)SHMKIT_GLOBAL : 0)) == 0) {
        o.size = (int64_t)shmkit_region_size(reg);
        shmkit_region_close(reg);
      }
    }
    if ((o.name = _strdup(name)) == NULL) break;
    if ((v = realloc(r->objs, (r->n + 1) * sizeof(*v))) == NULL) {
      free(o.name);
      break;
    }
    r->objs = v;
    r->objs[r->n++] = o;
  }
  close_h(dir);
  return 0;
}

int list_scan(list_result *out, int named, int anonymous) {
  WCHAR path[64];
  DWORD session = 0;
  int err;

  memset(out, 0, sizeof(*out));
  if (!ProcessIdToSessionId(GetCurrentProcessId(), &session))
    return SHMKIT_ENOTSUP;
  swprintf(path, 64, L"\\Sessions\\%lu\\BaseNamedObjects",
           (unsigned long)session);
  if ((err = scan_dir(out, path, 0, named, anonymous)) != 0) {
    list_free(out);
    return err;
  }
  /* Global\: listed where this process may; nothing otherwise. */
  if (session != 0 || wcscmp(path, L"\\BaseNamedObjects") != 0)
    scan_dir(out, L"\\BaseNamedObjects", 1, named, 0);
  return 0;
}

void list_user_name(int64_t uid, char *buf, size_t size) {
  snprintf(buf, size, "%lld", (long long)uid);
}

int64_t list_euid(void) {
  return -1;
}
