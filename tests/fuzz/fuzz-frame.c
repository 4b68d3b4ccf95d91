/* libFuzzer target for the message frame decoder: whatever a hostile peer
 * sends (header bytes, payload length, descriptor count, truncation), the
 * decoder must not crash, and what it accepts must be self-consistent. The
 * first input byte is the descriptor count, the second the flags (bit 0:
 * truncated), the third the receive capacity in KiB; the rest is the
 * message, which is also read as an acknowledgement and as a hello
 * (Windows' control messages) the same way. Run:
 * build-fuzz/bin/shmkit-fuzz-frame tests/fuzz/corpus-frame */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/internal.h"
#include "../../src/win/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  shmkit__frame f;
  shmkit__ack a;
  shmkit__hello h;
  size_t handles, capacity, got, payload;
  int truncated, err;

  if (size < 3) return 0;
  handles = data[0] % (SHMKIT_MSG_REGIONS_MAX + 2);
  truncated = data[1] & 1;
  capacity = (size_t)data[2] * 1024;
  data += 3;
  size -= 3;
  memset(&f, 0, sizeof(f));
  got = size < sizeof(f) ? size : sizeof(f);
  memcpy(&f, data, got);
  memset(&a, 0, sizeof(a));
  memcpy(&a, data, size < sizeof(a) ? size : sizeof(a));
  if (shmkit__ack_decode(&a, size) == 0) {
    if (size != sizeof(a) || a.count == 0 || a.count > SHMKIT_MSG_REGIONS_MAX)
      abort();
    for (uint32_t i = a.count; i < SHMKIT_MSG_REGIONS_MAX; i++)
      if (a.handles[i] != 0) abort();
  }
  memset(&h, 0, sizeof(h));
  memcpy(&h, data, size < sizeof(h) ? size : sizeof(h));
  if (shmkit__hello_decode(&h, size) == 0 &&
      (size != sizeof(h) || (h.flags & ~SHMKIT__HELLO_PULLS) != 0 ||
       h.zero != 0))
    abort();
  payload = size - got;
  if (truncated) payload = capacity; /* as recvmsg reports it */

  err = shmkit__frame_decode(&f, got, payload, truncated, handles, capacity);
  if (err != 0 && err != SHMKIT_EPROTO && err != SHMKIT_E2BIG &&
      err != SHMKIT_EVERSION)
    abort();
  /* A newer version is exactly: the magic, and a higher version number in
   * the six bytes that never move; whatever follows them. */
  if ((err == SHMKIT_EVERSION) != (got >= 6 && f.magic == SHMKIT__FRAME_MAGIC &&
                                   f.version > SHMKIT__FRAME_VERSION))
    abort();
  if (err == SHMKIT_E2BIG && !(truncated && f.size > capacity)) abort();
  if (err == 0) {
    if (truncated || got != sizeof(f) || f.count != handles ||
        f.count > SHMKIT_MSG_REGIONS_MAX || f.size != payload ||
        f.size > SHMKIT_MSG_MAX)
      abort();
    for (uint32_t i = 0; i < f.count; i++)
      if (f.regions[i].size == 0 || f.regions[i].size > SHMKIT__SIZE_MAX ||
          (f.regions[i].access != SHMKIT_READ_ONLY &&
           f.regions[i].access != SHMKIT_READ_WRITE))
        abort();
  }
  return 0;
}
