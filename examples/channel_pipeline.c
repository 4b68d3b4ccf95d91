/* A stream of frames through a channel, from a parent to the child it
 * starts. The parent makes a pair of connections, starts itself as the
 * consumer with one end (its token on the command line), creates a channel
 * on its own end, and sends 10,000 frames of 1 to 4096 bytes: by copy, and
 * every other one written in place in the ring (zero-copy). Then it sends
 * the checksum of everything it sent. The child reads each frame in place,
 * sums it, and exits 0 only if its sum is the parent's.
 *
 *   channel_pipeline                    the parent (it starts the child)
 *   channel_pipeline --consumer TOKEN   the child
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "shmkit.h"

#define FRAMES    10000
#define FRAME_MAX 4096
#define RING      65536 /* messages of up to a quarter of it, 16 KiB */

static int fail(const char *who, const char *what, int err) {
  fprintf(stderr, "%s: %s: %s\n", who, what, shmkit_strerror(err));
  return 1;
}

/* Frame i: its size, and its bytes. */
static size_t frame_size(unsigned i) {
  return 1 + (size_t)(i * 2654435761u % FRAME_MAX);
}

static void frame_fill(unsigned char *p, size_t n, unsigned i) {
  for (size_t j = 0; j < n; j++) p[j] = (unsigned char)(i * 7 + j);
}

/* FNV-1a over each frame's length and bytes, so that where one frame ends
 * and the next begins counts too. */
#define SUM_START UINT64_C(14695981039346656037)
#define SUM_PRIME UINT64_C(1099511628211)

static uint64_t sum_add(uint64_t h, const unsigned char *p, size_t n) {
  for (int k = 0; k < 4; k++) h = (h ^ ((n >> (8 * k)) & 0xff)) * SUM_PRIME;
  for (size_t j = 0; j < n; j++) h = (h ^ p[j]) * SUM_PRIME;
  return h;
}

static int consumer(const char *token) {
  shmkit_channel *ch;
  uint64_t sum = SUM_START, theirs;
  unsigned long long bytes = 0;
  size_t n;
  int err;

  /* The parent creates the channel on its end; this takes ours and checks
   * everything the parent wrote before using it. */
  if ((err = shmkit_channel_from_token(&ch, token, 10000)) != 0)
    return fail("consumer", "attach", err);
  for (unsigned i = 0; i < FRAMES; i++) {
    const void *frame;
    /* In place: the frame stays in the ring until it is released. */
    if ((err = shmkit_channel_peek(ch, &frame, &n, 10000)) != 0) break;
    sum = sum_add(sum, frame, n);
    bytes += n;
    if ((err = shmkit_channel_release(ch)) != 0) break;
  }
  /* The last message is the parent's checksum. Copied, because what we act
   * on must not change under us (the ring is the parent's to write). */
  if (err == 0)
    err = shmkit_channel_recv(ch, &theirs, sizeof(theirs), &n, 10000);
  if (err == 0 && n != sizeof(theirs)) err = SHMKIT_EPROTO;
  shmkit_channel_close(ch);
  if (err != 0) return fail("consumer", "receive", err);
  printf("consumer: %d frames, %llu bytes, checksum %016llx: %s\n", FRAMES,
         bytes, (unsigned long long)sum,
         sum == theirs ? "matches the producer's" : "DIFFERS");
  return sum == theirs ? 0 : 1;
}

/* Starts this program as the consumer, handing it `end` and nothing else. */
static int start_consumer(const char *self, shmkit_conn *end,
                          shmkit_process **p) {
  char token[SHMKIT_TOKEN_MAX];
  const char *argv[] = {self, "--consumer", token, NULL};
  shmkit_spawn_options o;
  int err;

  if ((err = shmkit_conn_token(end, token, sizeof(token))) != 0) return err;
  memset(&o, 0, sizeof(o));
  o.file = self;
  o.argv = argv;
  o.conns = &end;
  o.conn_count = 1;
  /* A bare name (no '/') is looked up in PATH, as a shell would. */
  if (strchr(self, '/') == NULL && strchr(self, '\\') == NULL)
    o.flags = SHMKIT_SPAWN_SEARCH_PATH;
  return shmkit_spawn(p, &o);
}

/* Sends every frame, then the checksum. */
static int produce(shmkit_channel *ch) {
  static unsigned char buf[FRAME_MAX];
  uint64_t sum = SUM_START;
  int err = 0;

  for (unsigned i = 0; i < FRAMES && err == 0; i++) {
    size_t n = frame_size(i);
    void *p;
    if (i % 2 == 0) { /* by copy */
      frame_fill(buf, n, i);
      sum = sum_add(sum, buf, n);
      err = shmkit_channel_send(ch, buf, n, 10000);
    } else if ((err = shmkit_channel_reserve(ch, n, &p, 10000)) == 0) {
      frame_fill(p, n, i); /* written where the consumer will read it */
      sum = sum_add(sum, p, n);
      err = shmkit_channel_commit(ch, n, 0);
    }
  }
  if (err == 0) err = shmkit_channel_send(ch, &sum, sizeof(sum), 10000);
  if (err == 0)
    printf("producer: %d frames sent, checksum %016llx\n", FRAMES,
           (unsigned long long)sum);
  return err;
}

int main(int argc, char **argv) {
  shmkit_conn *mine, *theirs;
  shmkit_channel *ch;
  shmkit_process *child;
  int err, code = 1;

  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc == 3 && strcmp(argv[1], "--consumer") == 0) return consumer(argv[2]);

  if ((err = shmkit_conn_pair(&mine, &theirs)) != 0)
    return fail("producer", "pair", err);
  err = start_consumer(argv[0], theirs, &child);
  /* The child's end is the child's alone: when it ends, the channel sees
   * its link's end, even if it was killed. */
  shmkit_conn_close(theirs);
  if (err != 0) {
    shmkit_conn_close(mine);
    return fail("producer", "spawn", err);
  }
  /* The channel takes `mine` over and sends its ring to the child. */
  err = shmkit_channel_create(&ch, mine, SHMKIT_CHANNEL_SEND, RING, 0, 10000);
  if (err != 0) {
    shmkit_conn_close(mine);
    fail("producer", "create", err);
  } else {
    if ((err = produce(ch)) != 0) fail("producer", "send", err);
    shmkit_channel_close(ch); /* the consumer still gets every frame */
  }
  if ((err = shmkit_process_wait(child, 30000, &code, NULL)) != 0)
    fail("producer", "wait", err);
  shmkit_process_close(child);
  return code != 0;
}
