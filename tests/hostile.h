/* A hostile peer: a child that writes raw messages past every check of
 * the library, and the parent that expects each lie refused with nothing
 * left open. What tells one platform from the other is only how a message
 * is written and how it names its regions: test-conn-posix.c and
 * test-conn-win.c each define struct hostile, hostile_write() and
 * hostile_name(); everything else is here (hostile.c). */
#ifndef SHMKIT_TEST_HOSTILE_H
#define SHMKIT_TEST_HOSTILE_H

#include "../src/internal.h"
#include "task.h"

/* The child's raw end of the connection (per platform). */
typedef struct hostile hostile;

/* Writes `len` bytes of `buf` as one message. `regions` is how many
 * handles of the child's good region go with it where handles travel
 * beside the message (POSIX descriptors); Windows ignores it, a frame
 * names its regions by value (hostile_name). Per platform. */
void hostile_write(hostile *h, const void *buf, size_t len, uint32_t regions);

/* Names the child's good region in every region slot of `f` up to its
 * count, as the platform's frames do (POSIX: nothing to name). Per
 * platform. */
void hostile_name(hostile *h, shmkit__frame *f);

/* xorshift32: the same messages on every run and with every compiler. */
uint32_t hostile_next(uint32_t *seed);

/* Fills `size` bytes with noise from `seed`. */
void hostile_noise(uint32_t *seed, char *bytes, size_t size);

/* A header as the library would write it, for `count` regions of `size`
 * bytes, naming nothing. */
void good_frame(shmkit__frame *f, uint32_t payload, uint32_t count,
                uint64_t size, uint32_t access);

/* good_frame() named by hostile_name() and written with its regions. */
void hostile_send_frame(hostile *h, shmkit__frame *f);

/* The lies about a message's shape that every platform refuses alike, in
 * this order: a payload length that lies, a region slot past the count
 * not empty, a count past the maximum, an empty message. The parent
 * expects them with expect_shape_lies(). */
void hostile_send_shape_lies(hostile *h);
void expect_shape_lies(shmkit_conn *c, int handles);

/* A region that holds `text`, sent with `text` as the payload; the parent
 * expects it with expect_honest(). */
void honest_send(shmkit_conn *c, const char *text);
void expect_honest(shmkit_conn *c, const char *text);

/* Expects the next message, the child's `what`, to fail with `want`, and
 * no more than `handles` handles open after it. */
void expect_refused(shmkit_conn *c, int want, int handles, const char *what);

/* Receives `rounds` random messages: whatever each yields (a message, or
 * one of the refusals a lie can earn, or `also`), nothing crashes or stays
 * open. */
void expect_random(shmkit_conn *c, int rounds, int handles, int also);

/* The child `p` exited with status 0, after which the connection is at its
 * end, and `handles` handles are open. */
void expect_peer_ended(shmkit_conn *c, shmkit_process *p, int handles);

#endif /* SHMKIT_TEST_HOSTILE_H */
