/* The Windows backend's control messages: their layout and their strict
 * decoders. Plain C, so that the frame fuzz target reads them on any
 * system (tests/fuzz/fuzz-frame.c); docs/protocol.md has them byte by
 * byte. */
#ifndef SHMKIT_WIN_WIRE_H
#define SHMKIT_WIN_WIRE_H

#include "../internal.h"

/* Besides messages, a Windows connection carries two kinds of control
 * message, each shorter than any message so that none is taken for
 * another: a hello, the first thing each end writes, saying whether it
 * takes regions out of its peer (pull) or needs them put into it (push);
 * and an acknowledgement, by which the receiver of pulled regions tells
 * the sender which of the handle values it has taken, so the sender can
 * close its copies in flight. */
#define SHMKIT__ACK_MAGIC   0x414b4853u /* "SHKA" in little-endian */
#define SHMKIT__HELLO_MAGIC 0x484b4853u /* "SHKH" in little-endian */

typedef struct shmkit__ack {
  uint32_t magic; /* SHMKIT__ACK_MAGIC */
  uint32_t count; /* 1 .. SHMKIT_MSG_REGIONS_MAX; slots past it 0 */
  uint64_t handles[SHMKIT_MSG_REGIONS_MAX];
} shmkit__ack;

/* The hello's flag: this end pulls regions out of its peer. Without it,
 * the peer must push them, or cannot send regions at all. */
#define SHMKIT__HELLO_PULLS 1u

typedef struct shmkit__hello {
  uint32_t magic; /* SHMKIT__HELLO_MAGIC */
  uint32_t flags; /* SHMKIT__HELLO_PULLS or 0 */
  uint32_t pid;   /* the writer's process id: a hello written for an end
                     before it was handed to a child is not the child's */
  uint32_t zero;  /* reserved, 0 */
} shmkit__hello;

/* Check a received acknowledgement or hello of `got` bytes: 0 or
 * SHMKIT_EPROTO. */
int shmkit__ack_decode(const shmkit__ack *a, size_t got);
int shmkit__hello_decode(const shmkit__hello *h, size_t got);

#endif /* SHMKIT_WIN_WIRE_H */
