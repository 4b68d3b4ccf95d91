/* Connects to seal_server, receives its region, and trusts it only after
 * checking what the system says about it: read-only, sealed against
 * shrinking (no SIGBUS under us), growing and writing (nobody changes it),
 * and as large as expected. */
#include <stdio.h>
#include <string.h>

#define SEAL_ROLE "client"
#include "seal.h"

int main(int argc, char **argv) {
  const char *endpoint = argc > 1 ? argv[1] : SEAL_ENDPOINT;
  const unsigned need = SEAL_PROMISED;
  char text[16];
  shmkit_msg msg = SHMKIT_MSG_INIT(text, sizeof(text));
  shmkit_conn *c;
  shmkit_view *view;
  shmkit_region *r;
  unsigned seals = 0;
  int err;

  setvbuf(stdout, NULL, _IONBF, 0);
  /* The server may still be starting: the timeout covers waiting for it
   * to listen too. */
  if ((err = shmkit_connect(&c, endpoint, 10000)) != 0)
    return fail("connect", err);

  err = shmkit_conn_recv(c, &msg, 10000);
  shmkit_conn_close(c);
  if (err != 0) return fail("receive", err);
  if (msg.count != 1) {
    fprintf(stderr, "client: expected one region, got %zu\n", msg.count);
    shmkit_msg_close(&msg);
    return 1;
  }
  r = msg.regions[0];

  err = shmkit_region_seals(r, &seals);
  printf("client: got a %s region of %llu bytes, seals 0x%x\n",
         shmkit_region_access(r) == SHMKIT_READ_ONLY ? "read-only" : "writable",
         (unsigned long long)shmkit_region_size(r), seals);
  if (err != 0 || (seals & need) != need || shmkit_region_size(r) < SEAL_SIZE) {
    fprintf(stderr, "client: not sealed as promised; not using it\n");
    shmkit_region_close(r);
    return 1;
  }
  if ((err = shmkit_view_map(&view, r, 0, SEAL_SIZE, SHMKIT_READ_ONLY)) != 0) {
    shmkit_region_close(r);
    return fail("map", err);
  }
  printf("client: checked; it says \"%.*s\"\n",
         (int)strnlen(shmkit_view_data(view), 200),
         (char *)shmkit_view_data(view));
  shmkit_view_unmap(view);
  shmkit_region_close(r);
  return 0;
}
