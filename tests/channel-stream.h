/* What the channel tests with real processes share (test-channel-proc.c,
 * test-channel-peer.c): a stream of messages that both sides can check
 * without telling each other anything but a seed, a board where a child
 * says how far it got, and the child that plays the other side
 * (channel_peer). */
#ifndef SHMKIT_TEST_CHANNEL_STREAM_H
#define SHMKIT_TEST_CHANNEL_STREAM_H

#include <stdatomic.h>

#include "task.h"

/* ---- a stream: message `seq` is a slice of a template made from the
 * seed, its length and place chosen from (seed, seq) alone, so that a
 * receiver knows what each message must be, and a lost, repeated or
 * reordered one shows. Which calls carry it (copy or in place, one at a
 * time or in batches) is each side's own choice, from its own generator. */
typedef struct stream {
  uint64_t seed;
  size_t max;                 /* the channel's max_message */
  unsigned char *tmpl;        /* 2 * max bytes made from the seed */
  unsigned char *buf;         /* max bytes, to receive into */
  uint64_t rng;               /* this side's choices of calls */
  int wait_ms;                /* the timeout of every call that waits */
  uint64_t count;             /* messages committed (sender) or received */
  uint64_t sum;               /* checksum over them, in order */
  _Atomic uint64_t *progress; /* NULL, or where to count them for others */
} stream;

void stream_init(stream *s, uint64_t seed, size_t max, int wait_ms);
void stream_free(stream *s);

/* Sends messages count.. until `n` are committed (and published), mixing
 * send, reserve/commit, batches with SHMKIT_CHANNEL_MORE ended by a commit
 * or a flush (the last batch always by a flush); returns 0, or the first
 * error. */
int stream_send(stream *s, shmkit_channel *ch, uint64_t n);

/* Receives and checks messages, mixing recv, a recv into too small a
 * buffer first, and several peeks released at once, until a call fails;
 * returns that error (SHMKIT_ECLOSED after the sender's end). A message
 * that is not what it must be fails the test. */
int stream_recv(stream *s, shmkit_channel *ch);

/* ---- the board: a page both processes map, for what a child says outside
 * the channel under test. */
enum {
  BOARD_STARTED = 1,  /* the child has its channel */
  BOARD_STOPPED = 2,  /* it did what it was asked and waits to be killed */
  BOARD_CLOSED = 3,   /* it closed its channel */
  BOARD_FINISHED = 4, /* it received the end; count and sum are final */
};

typedef struct board {
  _Atomic uint64_t count;    /* how many messages so far */
  _Atomic uint64_t sum;      /* a receiver's checksum, once finished */
  _Atomic uint32_t state;    /* BOARD_... */
  _Atomic uint32_t go;       /* set by the parent: the child may go on */
  _Atomic int64_t closed_us; /* test_now_us() as the child closed */
} board;

/* A new board (a new one for each child: the last one's state must not
 * count), its region and its view; board_drop() unmaps and closes them. */
board *board_new(shmkit_region **r, shmkit_view **v);
void board_drop(shmkit_region *r, shmkit_view *v);

/* Waits (up to 30 s) until the child says `state`. */
void board_wait(const board *b, uint32_t state);

/* ---- the child: `--child channel_peer HOW WHERE ACTION N SEED MAX CAP
 * SPIN`, its board's token in CHPROC_BOARD.
 *  HOW/WHERE: "arg TOKEN" (the link's token), "env -" (the token in
 *  CHPROC_LINK), "connect NAME" or "listen NAME" (it accepts one and
 *  creates the channel, of CAP bytes, with ACTION's role).
 *  ACTION: what it does with the channel (test-channel-proc.c). */
typedef struct peer_plan {
  const char *how, *where, *action;
  uint64_t n, seed;
  size_t max, cap;
  unsigned spin; /* for shmkit_channel_set_spin() */
} peer_plan;

/* Starts channel_peer with the board and, if not NULL, `link` (its token
 * goes where plan->how says). */
shmkit_process *peer_spawn(const peer_plan *plan, shmkit_region *board_r,
                           shmkit_conn *link);

/* A pair: starts the child with one end and returns the other. */
shmkit_conn *peer_pair(peer_plan *plan, shmkit_region *board_r,
                       shmkit_process **p);

/* What a test with one child holds: the child's board, the child, and
 * this side's channel. */
typedef struct peer_run {
  shmkit_region *br;
  shmkit_view *bv;
  board *b;
  shmkit_process *p;
  shmkit_channel *ch;
} peer_run;

/* A new board and the child started with one end of a pair (peer_pair);
 * returns the other end, for the caller to make the channel of. */
shmkit_conn *peer_begin(peer_run *r, peer_plan *plan);

/* peer_begin(), then r->ch created on our end with `role`, the plan's cap
 * and max, and 30 s for the child to attach. */
void peer_start(peer_run *r, peer_plan *plan, int role);

/* Drops the board; the channel and the child are the caller's. */
void peer_end(peer_run *r);

/* How many messages a long stream carries in this build: `full` in an
 * optimized native build, a tenth of it under a sanitizer or unoptimized,
 * a fiftieth on Windows (tested under Wine, where each wake-up is a round
 * trip to wineserver). SHMKIT_CHPROC_N sets it. */
uint64_t stream_scaled(uint64_t full);

/* Waits for the child, which must have been killed (not failed). */
void reap_killed(shmkit_process *p);

/* A seed: SHMKIT_CHPROC_SEED, else new each run; printed. */
uint64_t chproc_seed(void);

/* The next of a splitmix64 sequence. */
uint64_t mix_next(uint64_t *state);

#endif /* SHMKIT_TEST_CHANNEL_STREAM_H */
