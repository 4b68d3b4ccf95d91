/* The second way: a region handed to a process that did not inherit
 * it, along with a message that tells it what it is.
 *
 *   handoff            (starts itself as the client; nothing is inherited)
 *
 * The server listens on an endpoint and starts a client that knows only the
 * endpoint's name. The client connects; the server sends it a region with a
 * message; the client writes its answer into the region and says "done".
 * On Linux the handle travels with SCM_RIGHTS; on Windows the client
 * duplicates it out of the server (shmkit.h: "How regions travel on
 * Windows"). Either way, the client checks it before using it. */
#include <stdio.h>
#include <string.h>

#include "shmkit.h"

#define SIZE 4096

static int fail(const char *who, const char *what, int err) {
  fprintf(stderr, "%s: %s: %s\n", who, what, shmkit_strerror(err));
  return 1;
}

static int client(const char *endpoint) {
  char text[32];
  shmkit_msg msg = SHMKIT_MSG_INIT(text, sizeof(text));
  shmkit_conn *c;
  shmkit_view *view;
  int err;

  if ((err = shmkit_connect(&c, endpoint, 10000)) != 0)
    return fail("client", "connect", err);
  if ((err = shmkit_conn_recv(c, &msg, 10000)) != 0)
    return fail("client", "receive", err);
  if (msg.count != 1 || shmkit_region_size(msg.regions[0]) < SIZE) {
    fprintf(stderr, "client: not the region promised\n");
    shmkit_msg_close(&msg);
    return 1;
  }
  printf("client: got \"%s\" and a region of %llu bytes\n", text,
         (unsigned long long)shmkit_region_size(msg.regions[0]));
  err = shmkit_view_map(&view, msg.regions[0], 0, SIZE, SHMKIT_READ_WRITE);
  if (err != 0) return fail("client", "map", err);
  printf("client: it says \"%s\"\n", (char *)shmkit_view_data(view));
  strcpy(shmkit_view_data(view), "and the client wrote this back");
  shmkit_view_unmap(view);
  shmkit_msg_close(&msg);
  err = shmkit_conn_send(c, "done", 5, NULL, 0, 10000);
  shmkit_conn_close(c);
  return err != 0 ? fail("client", "send", err) : 0;
}

int main(int argc, char **argv) {
  const char *endpoint = "shmkit-handoff-demo";
  char text[8];
  shmkit_msg msg = SHMKIT_MSG_INIT(text, sizeof(text));
  const char *child_argv[] = {argv[0], "--client", endpoint, NULL};
  shmkit_spawn_options o;
  shmkit_process *child;
  shmkit_conn *listener, *c;
  shmkit_region *region;
  shmkit_view *view;
  shmkit_peer peer;
  int err, code = -1;

  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc == 3 && strcmp(argv[1], "--client") == 0) return client(argv[2]);

  if ((err = shmkit_region_create(&region, SIZE, 0)) != 0)
    return fail("server", "create", err);
  if ((err = shmkit_view_map(&view, region, 0, SIZE, SHMKIT_READ_WRITE)))
    return fail("server", "map", err);
  strcpy(shmkit_view_data(view), "written by the server");

  /* One run at a time: a second one is told the endpoint is in use. */
  if ((err = shmkit_listen(&listener, endpoint)) != 0)
    return fail("server", "listen", err);
  memset(&o, 0, sizeof(o)); /* inherits no region, no connection */
  o.file = argv[0];
  o.argv = child_argv;
  if ((err = shmkit_spawn(&child, &o)) != 0)
    return fail("server", "spawn", err);
  if ((err = shmkit_accept(&c, listener, 10000)) != 0)
    return fail("server", "accept", err);
  shmkit_conn_peer(c, &peer);
  printf("server: pid %lld connected (the child is %lld)\n",
         (long long)peer.pid, (long long)shmkit_process_pid(child));

  if ((err = shmkit_conn_send(c, "here it is", 11, &region, 1, 10000)) != 0)
    return fail("server", "send", err);
  shmkit_region_close(region); /* the client has its own handle now */
  if ((err = shmkit_conn_recv(c, &msg, 10000)) != 0)
    return fail("server", "receive", err);
  printf("server: the client said \"%s\"; the region now says \"%s\"\n", text,
         (char *)shmkit_view_data(view));
  shmkit_conn_close(c);
  shmkit_conn_close(listener);
  shmkit_view_unmap(view);
  shmkit_process_wait(child, 10000, &code, NULL);
  shmkit_process_close(child);
  return code;
}
