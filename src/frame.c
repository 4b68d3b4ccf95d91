/* The message frame: encoding, and the strict check of a received one. This
 * is what a hostile peer controls, so the decoder is fuzzed
 * (tests/fuzz/fuzz-frame.c). */
#include <stddef.h>
#include <string.h>

#include "internal.h"

/* The layout two processes agree on, whatever their compilers. */
_Static_assert(sizeof(shmkit__frame_region) == 24, "frame region layout");
_Static_assert(offsetof(shmkit__frame_region, access) == 16, "layout");
_Static_assert(offsetof(shmkit__frame, size) == 8, "frame layout");
_Static_assert(offsetof(shmkit__frame, regions) == 16, "frame layout");
_Static_assert(sizeof(shmkit__frame) == 16 + 24 * SHMKIT_MSG_REGIONS_MAX,
               "frame layout");

void shmkit__frame_encode(shmkit__frame *f, size_t size,
                          shmkit_region *const *regions, size_t count) {
  memset(f, 0, sizeof(*f));
  f->magic = SHMKIT__FRAME_MAGIC;
  f->version = SHMKIT__FRAME_VERSION;
  f->size = (uint32_t)size;
  f->count = (uint32_t)count;
  for (size_t i = 0; i < count; i++) {
    f->regions[i].size = regions[i]->size;
    f->regions[i].access = (uint32_t)shmkit__region_claim(regions[i], 0);
  }
}

static int region_ok(const shmkit__frame_region *r) {
  /* handle and origin are the backend's to check (Windows); POSIX ignores
   * them: its handles come with the message itself. */
  return r->size != 0 && r->size <= SHMKIT__SIZE_MAX &&
         (r->access == SHMKIT_READ_ONLY || r->access == SHMKIT_READ_WRITE);
}

static int slot_empty(const shmkit__frame_region *r) {
  return r->size == 0 && r->handle == 0 && r->access == 0 && r->origin == 0;
}

/* The versioning rule (docs/protocol.md, "Versions"): the magic and the
 * version, the first six bytes, are where they are in every version, and
 * nothing else is. So a frame that has them and a higher version is told
 * apart from garbage before any other field is read: a newer version may
 * have changed every one of them, the header's length included. */
_Static_assert(offsetof(shmkit__frame, magic) == 0 &&
                   offsetof(shmkit__frame, version) == 4,
               "the magic and the version never move");

int shmkit__frame_decode(const shmkit__frame *f, size_t got, size_t payload,
                         int truncated, size_t handles, size_t capacity) {
  if (got >= offsetof(shmkit__frame, zero) && f->magic == SHMKIT__FRAME_MAGIC &&
      f->version > SHMKIT__FRAME_VERSION)
    return SHMKIT_EVERSION;
  if (got != sizeof(*f) || f->magic != SHMKIT__FRAME_MAGIC ||
      f->version != SHMKIT__FRAME_VERSION || f->zero != 0 ||
      f->size > SHMKIT_MSG_MAX || f->count > SHMKIT_MSG_REGIONS_MAX ||
      f->count != handles)
    return SHMKIT_EPROTO;
  for (size_t i = 0; i < SHMKIT_MSG_REGIONS_MAX; i++)
    if (i < f->count ? !region_ok(&f->regions[i]) : !slot_empty(&f->regions[i]))
      return SHMKIT_EPROTO;
  if (truncated) /* more came than fit: honest only if the header says so */
    return f->size > capacity && payload == capacity ? SHMKIT_E2BIG
                                                     : SHMKIT_EPROTO;
  return payload == f->size ? 0 : SHMKIT_EPROTO;
}
