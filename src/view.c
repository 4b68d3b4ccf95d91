/* Views: the offset and length arithmetic that lets a caller map any byte
 * range, whatever alignment the system wants. */
#include <stdlib.h>

#include "internal.h"
#include "platform.h"

struct shmkit_view {
  void *data;  /* the byte at the offset asked for: base + (offset - aligned) */
  size_t size; /* the length asked for */
  void *base;  /* what the system mapped, at the aligned offset */
  size_t length; /* what the system mapped: size + (offset - aligned) */
};

int shmkit_view_map(shmkit_view **out, shmkit_region *region, uint64_t offset,
                    size_t length, int access) {
  shmkit_view *v;
  uint64_t aligned;
  size_t lead;
  int err;

  if (out == NULL) return SHMKIT_EINVAL;
  *out = NULL;
  if (region == NULL) return SHMKIT_EINVAL;
  if ((err = shmkit__access_check(access)) != 0) return err;
  if (access == SHMKIT_READ_WRITE && region->access != SHMKIT_READ_WRITE)
    return SHMKIT_EACCES;
  /* offset + length <= size, written so that neither side can overflow;
   * a length of 0 is the rest of the region, which must not be empty. */
  if (offset >= region->size || (length != 0 && length > region->size - offset))
    return SHMKIT_ERANGE;

  aligned = offset & ~(uint64_t)(shmkit__os_granularity() - 1);
  lead = (size_t)(offset - aligned); /* < granularity, fits a size_t */
  if (length == 0) {
    uint64_t rest = region->size - offset;
    if (rest > SIZE_MAX - lead) return SHMKIT_E2BIG; /* 32-bit systems */
    length = (size_t)rest;
  }
  if (length > SIZE_MAX - lead) return SHMKIT_ERANGE;

  if ((v = malloc(sizeof(*v))) == NULL) return SHMKIT_ENOMEM;
  v->length = lead + length;
  err = shmkit__os_map(region->handle, aligned, v->length, access, &v->base);
  if (err != 0) {
    free(v);
    return err;
  }
  v->data = (char *)v->base + lead;
  v->size = length;
  *out = v;
  return 0;
}

void shmkit_view_unmap(shmkit_view *view) {
  if (view == NULL) return;
  shmkit__os_unmap(view->base, view->length);
  free(view);
}

void *shmkit_view_data(const shmkit_view *view) {
  return view->data;
}

size_t shmkit_view_size(const shmkit_view *view) {
  return view->size;
}
