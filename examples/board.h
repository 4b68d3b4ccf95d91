/* The layout the named_writer and named_reader examples share: a message and
 * a reply in one region, and a state word that says whose turn it is. */
#ifndef SHMKIT_EXAMPLE_BOARD_H
#define SHMKIT_EXAMPLE_BOARD_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "pause.h"

enum { BOARD_EMPTY, BOARD_POSTED, BOARD_REPLIED };

/* Lives in shared memory. The writer fills `message`, then stores
 * BOARD_POSTED to `state` (release); the reader loads `state` (acquire),
 * reads `message`, fills `reply`, then stores BOARD_REPLIED (release); the
 * writer loads it (acquire) and reads `reply`. Each side reads the other's
 * text only after the acquire, so it never sees a half-written one. */
struct board {
  _Atomic uint32_t state; /* BOARD_...: written by both, in turn */
  char message[124];      /* written by the writer, read by the reader */
  char reply[128];        /* written by the reader, read by the writer */
};

/* An address-free atomic is what makes `state` work across processes. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "state must be lock-free");
_Static_assert(sizeof(struct board) == 256, "layout shared by two programs");
_Static_assert(offsetof(struct board, message) == 4, "layout");
_Static_assert(offsetof(struct board, reply) == 128, "layout");

#endif
