/* Regions: argument checks and ownership; the backend does the system calls.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "platform.h"

int shmkit__name_check(const char *name) {
  size_t n;

  if (name == NULL || name[0] == '\0' || name[0] == '.') return SHMKIT_ENAME;
  for (n = 0; name[n] != '\0'; n++) {
    char c = name[n];
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
             (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok || n == SHMKIT__NAME_MAX) return SHMKIT_ENAME;
  }
  return 0;
}

int shmkit__access_check(int access) {
  if (access != SHMKIT_READ_ONLY && access != SHMKIT_READ_WRITE)
    return SHMKIT_EINVAL;
  return 0;
}

static int size_check(uint64_t size, unsigned flags, unsigned allowed) {
  if (size == 0 || (flags & ~allowed) != 0) return SHMKIT_EINVAL;
  if (size > SHMKIT__SIZE_MAX) return SHMKIT_E2BIG;
  return 0;
}

static shmkit_region *region_alloc(shmkit_handle h, uint64_t size, int access,
                                   const char *name) {
  shmkit_region *r = malloc(sizeof(*r));

  if (r == NULL) return NULL;
  r->handle = h;
  r->size = size;
  r->access = access;
  r->write_sealed = 0;
  r->name[0] = '\0';
  if (name != NULL) strcpy(r->name, name); /* checked: <= SHMKIT__NAME_MAX */
  return r;
}

/* Wraps a handle the library just opened into a new region; closes it on
 * failure, so that nothing is left open. */
static int region_new(shmkit_region **out, shmkit_handle h, uint64_t size,
                      int access, const char *name) {
  if ((*out = region_alloc(h, size, access, name)) != NULL) return 0;
  shmkit__os_close(h);
  return SHMKIT_ENOMEM;
}

int shmkit_region_create(shmkit_region **out, uint64_t size, unsigned flags) {
  shmkit_handle h;
  int err;

  if (out == NULL) return SHMKIT_EINVAL;
  *out = NULL;
  if ((err = size_check(size, flags, SHMKIT_SPARSE)) != 0) return err;
  if ((err = shmkit__os_create(size, flags, &h)) != 0) return err;
  return region_new(out, h, size, SHMKIT_READ_WRITE, NULL);
}

int shmkit_region_create_named(shmkit_region **out, const char *name,
                               uint64_t size, unsigned flags) {
  shmkit_handle h;
  int err;

  if (out == NULL) return SHMKIT_EINVAL;
  *out = NULL;
  if ((err = shmkit__name_check(name)) != 0) return err;
  err = size_check(size, flags, SHMKIT_SPARSE | SHMKIT_GLOBAL);
  if (err != 0) return err;
  if ((err = shmkit__os_create_named(name, size, flags, &h)) != 0) return err;
  err = region_new(out, h, size, SHMKIT_READ_WRITE, name);
  /* The promise is "no name left behind on failure". */
  if (err != 0) shmkit__os_remove_named(name);
  return err;
}

int shmkit_region_open(shmkit_region **out, const char *name, int access) {
  unsigned scope = (unsigned)access & SHMKIT_GLOBAL;
  shmkit_handle h;
  uint64_t size;
  int err;

  if (out == NULL) return SHMKIT_EINVAL;
  *out = NULL;
  access &= ~(int)SHMKIT_GLOBAL;
  if ((err = shmkit__name_check(name)) != 0) return err;
  if ((err = shmkit__access_check(access)) != 0) return err;
  err = shmkit__os_open_named(name, access, scope, &h, &size);
  if (err != 0) return err;
  return region_new(out, h, size, access, name);
}

int shmkit_region_remove(const char *name) {
  int err = shmkit__name_check(name);
  return err != 0 ? err : shmkit__os_remove_named(name);
}

int shmkit_region_adopt(shmkit_region **out, shmkit_handle handle, int access) {
  if (out == NULL) return SHMKIT_EINVAL;
  *out = NULL;
  return shmkit__region_adopt(out, handle, access, 0, 0);
}

int shmkit__region_claim(const shmkit_region *r, int ask) {
  int seals;

  if (r->access != SHMKIT_READ_WRITE) return r->access;
  if (r->write_sealed) return SHMKIT_READ_ONLY;
  if (!ask) return SHMKIT_READ_WRITE;
  seals = shmkit__os_seals(r->handle, 0); /* SHMKIT_ENOTSUP: no seals here */
  if (seals > 0 && (seals & (SHMKIT_SEAL_WRITE | SHMKIT_SEAL_FUTURE_WRITE)))
    return SHMKIT_READ_ONLY;
  return SHMKIT_READ_WRITE;
}

int shmkit__region_adopt(shmkit_region **out, shmkit_handle handle, int access,
                         uint64_t min_size, int is_private) {
  shmkit_region *r;
  uint64_t size;
  int err;

  if ((err = shmkit__access_check(access)) != 0) return err;
  if ((err = shmkit__os_check(handle, access, &size)) != 0) return err;
  if (size < min_size) return SHMKIT_ETOOSMALL;
  /* Not region_new(): on failure the handle stays the caller's. */
  if ((r = region_alloc(handle, size, access, NULL)) == NULL)
    return SHMKIT_ENOMEM;
  if (!is_private && (err = shmkit__os_set_private(handle)) != 0) {
    free(r);
    return err;
  }
  *out = r;
  return 0;
}

int shmkit_region_dup_readonly(shmkit_region **out,
                               const shmkit_region *region) {
  const char *name;
  shmkit_handle h;
  int err;

  if (out == NULL) return SHMKIT_EINVAL;
  *out = NULL;
  if (region == NULL) return SHMKIT_EINVAL;
  name = region->name[0] != '\0' ? region->name : NULL;
  if ((err = shmkit__os_dup_readonly(region->handle, name, &h)) != 0)
    return err;
  return region_new(out, h, region->size, SHMKIT_READ_ONLY, name);
}

void shmkit_region_close(shmkit_region *region) {
  if (region == NULL) return;
  shmkit__os_close(region->handle);
  free(region);
}

uint64_t shmkit_region_size(const shmkit_region *region) {
  return region->size;
}

int shmkit_region_access(const shmkit_region *region) {
  return region->access;
}

const char *shmkit_region_name(const shmkit_region *region) {
  return region->name[0] != '\0' ? region->name : NULL;
}

shmkit_handle shmkit_region_handle(const shmkit_region *region) {
  return region->handle;
}

int shmkit_region_seal(shmkit_region *region, unsigned seals) {
  const unsigned all = SHMKIT_SEAL_SHRINK | SHMKIT_SEAL_GROW |
                       SHMKIT_SEAL_WRITE | SHMKIT_SEAL_FUTURE_WRITE |
                       SHMKIT_SEAL_SEAL;
  int now;

  if (region == NULL || seals == 0 || (seals & ~all) != 0) return SHMKIT_EINVAL;
  if (region->access != SHMKIT_READ_WRITE) return SHMKIT_EACCES;
  if ((now = shmkit__os_seals(region->handle, seals)) < 0) return now;
  if (now & (SHMKIT_SEAL_WRITE | SHMKIT_SEAL_FUTURE_WRITE))
    region->write_sealed = 1;
  return 0;
}

int shmkit_region_seals(const shmkit_region *region, unsigned *seals) {
  uint64_t size;
  int got, err;

  if (region == NULL || seals == NULL) return SHMKIT_EINVAL;
  if ((got = shmkit__os_seals(region->handle, 0)) < 0) return got;
  /* The size was read when the region came, and whoever sealed it may
   * have shrunk it in between; now that it cannot shrink, it is read
   * again, so that no view is made past the end (SIGBUS). The region is
   * never a const object: the const is the caller's promise not to
   * change it, and this is the library's own cache. Only the size is
   * wanted, so the check claims reading alone: a writable claim is
   * refused once the region is sealed against writes, its maker's too. */
  if ((got & SHMKIT_SEAL_SHRINK) != 0) {
    if ((err = shmkit__os_check(region->handle, SHMKIT_READ_ONLY, &size)) != 0)
      return err;
    ((shmkit_region *)region)->size = size;
  }
  *seals = (unsigned)got;
  return 0;
}

int shmkit_region_freeze(shmkit_region **out, shmkit_region *region) {
  const unsigned seals =
      SHMKIT_SEAL_SHRINK | SHMKIT_SEAL_GROW | SHMKIT_SEAL_WRITE;
  int err;

  if (out == NULL) return SHMKIT_EINVAL;
  *out = NULL;
  if (region == NULL) return SHMKIT_EINVAL;
  if (region->access != SHMKIT_READ_WRITE) return SHMKIT_EACCES;
  /* Where seals exist, nobody may change the memory from now on; where
   * they do not, the read-only copy alone is what the receiver gets. */
  err = shmkit_region_seal(region, seals);
  if (err != 0 && err != SHMKIT_ENOTSUP) return err;
  return shmkit_region_dup_readonly(out, region);
}

size_t shmkit_granularity(void) {
  return shmkit__os_granularity();
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
    shmkit__os_close(h); /* ours: the backend made a new handle */
  return err;
}
