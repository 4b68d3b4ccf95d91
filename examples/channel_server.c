/* One server, many clients, each with a channel of its own, all served from
 * one poll() loop. The server listens on an endpoint; for each client that
 * connects it creates a channel on the connection (the server receives,
 * the client sends), prints what each client sends, and notices when one
 * goes, whether it closed or was killed.
 *
 *   channel_server ENDPOINT [CLIENTS]          serve (until CLIENTS have
 *                                              come and gone; default: ever)
 *   channel_server --client ENDPOINT TEXT...   send each TEXT, then leave
 *
 * For example: channel_server demo 2 &
 *              channel_server --client demo hello "and goodbye"
 *              channel_server --client demo "from another one"
 *
 * POSIX only: Windows has no handle to poll for a channel yet. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shmkit.h"

#define MAX_CLIENTS 16

struct client {
  shmkit_channel *ch;
  int id; /* 1 for the first client to come, 2 for the next... */
};

static int fail(const char *what, int err) {
  fprintf(stderr, "%s: %s\n", what, shmkit_strerror(err));
  return 1;
}

static int client(const char *endpoint, int count, char **texts) {
  shmkit_conn *c;
  shmkit_channel *ch;
  int err;

  /* The connect waits for the server to listen, up to its timeout. */
  if ((err = shmkit_connect(&c, endpoint, 10000)) != 0)
    return fail("client: connect", err);
  /* The server creates the channel: take it, checked. */
  if ((err = shmkit_channel_attach(&ch, c, 10000)) != 0) {
    shmkit_conn_close(c);
    return fail("client: attach", err);
  }
  for (int i = 0; i < count && err == 0; i++)
    err = shmkit_channel_send(ch, texts[i], strlen(texts[i]), 10000);
  shmkit_channel_close(ch); /* the server still gets what was sent */
  return err != 0 ? fail("client: send", err) : 0;
}

/* Takes the next connection and gives it a channel; 1 if it got one. */
static int welcome(shmkit_conn *listener, struct client *cl, int id) {
  shmkit_conn *c;
  shmkit_peer peer;
  int err;

  /* Readable, but a stranger's connection may have been turned away. */
  if (shmkit_accept(&c, listener, 0) != 0) return 0;
  shmkit_conn_peer(c, &peer); /* before the channel takes the connection */
  cl->id = id;
  err = shmkit_channel_create(&cl->ch, c, SHMKIT_CHANNEL_RECV, 4096, 0, 1000);
  if (err != 0) {
    shmkit_conn_close(c);
    fail("server: create", err);
    return 0;
  }
  printf("server: client %d connected", id);
  if (peer.pid >= 0) printf(" (pid %lld)", (long long)peer.pid); /* if known */
  printf("\n");
  return 1;
}

/* Prints everything the client has sent, then asks for its channel's
 * handle to be ready when there is more. 1 once the client is gone. */
static int serve(struct client *cl) {
  char text[1024]; /* a quarter of the ring: the largest message */
  size_t n;
  int err;

  for (;;) {
    while ((err = shmkit_channel_recv(cl->ch, text, sizeof(text), &n, 0)) == 0)
      printf("server: client %d says \"%.*s\"\n", cl->id, (int)n, text);
    if (err != SHMKIT_ETIMEDOUT) break;
    /* 0: nothing more yet, wait on the handle; 1: more came meanwhile. */
    if ((err = shmkit_channel_arm(cl->ch)) == 0) return 0;
    if (err < 0) break;
  }
  if (err == SHMKIT_ECLOSED)
    printf("server: client %d has gone\n", cl->id);
  else
    printf("server: client %d dropped: %s\n", cl->id, shmkit_strerror(err));
  shmkit_channel_close(cl->ch);
  return 1;
}

int main(int argc, char **argv) {
  struct client cl[MAX_CLIENTS];
  struct pollfd pfd[MAX_CLIENTS + 1];
  shmkit_conn *listener;
  int n = 0, gone = 0, came = 0, limit, err;

  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc >= 3 && strcmp(argv[1], "--client") == 0)
    return client(argv[2], argc - 3, argv + 3);
  if (argc < 2) {
    fprintf(stderr, "usage: %s ENDPOINT [CLIENTS]\n", argv[0]);
    return 2;
  }
  limit = argc > 2 ? atoi(argv[2]) : -1;
  if ((err = shmkit_listen(&listener, argv[1])) != 0)
    return fail("server: listen", err);
  printf("server: listening on \"%s\"\n", argv[1]);
  while (gone != limit) {
    /* The listener (while there is room), then each client's channel. */
    pfd[0].fd = n < MAX_CLIENTS ? (int)shmkit_conn_handle(listener) : -1;
    pfd[0].events = POLLIN;
    for (int i = 0; i < n; i++) {
      pfd[i + 1].fd = (int)shmkit_channel_handle(cl[i].ch);
      pfd[i + 1].events = POLLIN;
    }
    if (poll(pfd, (nfds_t)n + 1, -1) < 0) continue; /* a signal */
    for (int i = n - 1; i >= 0; i--) {
      if (pfd[i + 1].revents == 0 || !serve(&cl[i])) continue;
      cl[i] = cl[--n]; /* it has gone: the last one takes its place */
      gone++;
    }
    if ((pfd[0].revents & POLLIN) && welcome(listener, &cl[n], came + 1)) {
      came++;
      if (serve(&cl[n])) /* it may have come and gone already */
        gone++;
      else
        n++;
    }
  }
  shmkit_conn_close(listener);
  return 0;
}
