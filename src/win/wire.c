/* The strict decoders of the Windows control messages (wire.h). */
#include "wire.h"

_Static_assert(sizeof(shmkit__ack) == 8 + 8 * SHMKIT_MSG_REGIONS_MAX,
               "acknowledgement layout");
_Static_assert(sizeof(shmkit__hello) == 16, "hello layout");
_Static_assert(sizeof(shmkit__hello) < sizeof(shmkit__ack) &&
                   sizeof(shmkit__ack) < sizeof(shmkit__frame),
               "control messages are never messages, nor each other");

int shmkit__ack_decode(const shmkit__ack *a, size_t got) {
  if (got != sizeof(*a) || a->magic != SHMKIT__ACK_MAGIC || a->count == 0 ||
      a->count > SHMKIT_MSG_REGIONS_MAX)
    return SHMKIT_EPROTO;
  for (size_t i = a->count; i < SHMKIT_MSG_REGIONS_MAX; i++)
    if (a->handles[i] != 0) return SHMKIT_EPROTO;
  return 0;
}

int shmkit__hello_decode(const shmkit__hello *h, size_t got) {
  if (got != sizeof(*h) || h->magic != SHMKIT__HELLO_MAGIC ||
      (h->flags & ~SHMKIT__HELLO_PULLS) != 0 || h->zero != 0)
    return SHMKIT_EPROTO;
  return 0;
}
