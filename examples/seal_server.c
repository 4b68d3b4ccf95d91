/* Serves one sealed, read-only region to every client that connects:
 *
 *   seal_server ENDPOINT [CLIENTS]   (then: seal_client ENDPOINT)
 *
 * The region is written once, then sealed so nobody, the server included,
 * can resize it or write to it again; each client gets a read-only handle
 * with its message, and can check those promises itself (seal_client.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEAL_ROLE "server"
#include "seal.h"

int main(int argc, char **argv) {
  const char *endpoint = argc > 1 ? argv[1] : SEAL_ENDPOINT;
  int clients = argc > 2 ? atoi(argv[2]) : 1, err, served;
  unsigned seals;
  shmkit_region *region, *ro;
  shmkit_conn *listener;
  shmkit_view *view;

  setvbuf(stdout, NULL, _IONBF, 0);
  if ((err = shmkit_region_create(&region, SEAL_SIZE, 0)) != 0)
    return fail("create", err);
  if ((err = shmkit_view_map(&view, region, 0, SEAL_SIZE, SHMKIT_READ_WRITE)))
    return fail("map", err);
  snprintf(shmkit_view_data(view), SEAL_SIZE,
           "the table of contents, fixed forever at %d bytes", SEAL_SIZE);
  /* No writable view may exist when writes are sealed. */
  shmkit_view_unmap(view);
  /* Sealed against shrinking, growing and writing, and a read-only copy. */
  if ((err = shmkit_region_freeze(&ro, region)) != 0)
    return fail("freeze", err);
  if ((err = shmkit_region_seals(ro, &seals)) != 0 ||
      (seals & SEAL_PROMISED) != SEAL_PROMISED)
    return fail("seals (Linux memfds only)", err != 0 ? err : SHMKIT_ENOTSUP);
  printf("server: region sealed (no shrink, no grow, no write), read-only "
         "copy ready\n");

  if ((err = shmkit_listen(&listener, endpoint)) != 0)
    return fail("listen", err);
  printf("server: listening on \"%s\" for %d client(s)\n", endpoint, clients);
  for (served = 0; served < clients; served++) {
    shmkit_conn *c;
    shmkit_peer peer;

    if ((err = shmkit_accept(&c, listener, 10000)) != 0) {
      fail("accept", err);
      break;
    }
    shmkit_conn_peer(c, &peer);
    printf("server: client pid %lld (user %s) connected\n", (long long)peer.pid,
           peer.user);
    err = shmkit_conn_send(c, "contents", 9, &ro, 1, 10000);
    if (err != 0) fail("send", err);
    shmkit_conn_close(c);
  }
  shmkit_conn_close(listener);
  shmkit_region_close(ro);
  shmkit_region_close(region);
  return served == clients ? 0 : 1;
}
