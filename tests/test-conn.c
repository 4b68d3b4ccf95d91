/* Connections: regions travel with messages, whole, checked on arrival. */
#include <stdatomic.h>
#include <stdlib.h>

#include "../src/internal.h"
#include "task.h"

/* A region and a read-only handle of it, made the way both builds can: by
 * name, opened again read-only, the name then removed. */
static void rw_and_ro(shmkit_region **rw, shmkit_region **ro, const char *text,
                      uint64_t size) {
  char name[32];
  shmkit_view *v;

  ASSERT_OK(shmkit_region_create_named(rw, test_name(name, "rwro"), size, 0));
  ASSERT_OK(shmkit_region_open(ro, name, SHMKIT_READ_ONLY));
  test_forget_name(name);
  ASSERT_OK(shmkit_view_map(&v, *rw, 0, (size_t)size, SHMKIT_READ_WRITE));
  strcpy(shmkit_view_data(v), text);
  shmkit_view_unmap(v);
}

TEST_IMPL(conn_pair_messages) {
  shmkit_conn *a, *b;
  shmkit_region *rw, *ro, *regions[2];
  shmkit_view *v;
  char buf[256];
  shmkit_msg m;
  int before;

  ASSERT_OK(shmkit_conn_pair(&a, &b));
  rw_and_ro(&rw, &ro, "writable", 5000);
  regions[0] = rw;
  regions[1] = ro;
  before = test_open_handles();

  /* Boundaries are kept: three messages, three receptions. */
  ASSERT_OK(shmkit_conn_send(a, "one", 4, regions, 2, 1000));
  ASSERT_OK(shmkit_conn_send(a, "", 0, NULL, 0, 1000));
  ASSERT_OK(shmkit_conn_send(a, "three", 6, &ro, 1, 1000));

  ASSERT_OK(recv_msg(b, &m, buf, sizeof(buf), 1000));
  ASSERT_EQ(m.size, 4);
  ASSERT_STR_EQ(buf, "one");
  ASSERT_EQ(m.count, 2);
  ASSERT_NE(shmkit_region_handle(m.regions[0]), shmkit_region_handle(rw));
  ASSERT_EQ(shmkit_region_size(m.regions[0]), test_system_size(5000));
  ASSERT_EQ(shmkit_region_access(m.regions[0]), SHMKIT_READ_WRITE);
  ASSERT_EQ(test_inheritable(shmkit_region_handle(m.regions[0])), 0);
  ASSERT_STR_EQ(text_of(m.regions[0], &v), "writable");
  shmkit_view_unmap(v);
  /* A read-only region arrives read-only. */
  ASSERT_EQ(shmkit_region_access(m.regions[1]), SHMKIT_READ_ONLY);
  ASSERT_ERR(shmkit_view_map(&v, m.regions[1], 0, 1, SHMKIT_READ_WRITE),
             SHMKIT_EACCES);
  ASSERT_EQ(test_try_map_writable(shmkit_region_handle(m.regions[1]), 5000), 0);
  ASSERT_STR_EQ(text_of(m.regions[1], &v), "writable");
  shmkit_view_unmap(v);
  close_msg(&m);

  ASSERT_OK(shmkit_conn_recv(b, &m, 1000));
  ASSERT_EQ(m.size, 0);
  ASSERT_EQ(m.count, 0);
  ASSERT_OK(shmkit_conn_recv(b, &m, 1000));
  ASSERT_STR_EQ(buf, "three");
  ASSERT_EQ(m.count, 1);
  close_msg(&m);
  /* Windows: the sender holds a copy of each region until the receiver
   * says it took it, and lets go when it reads that, on its next call. */
  ASSERT_ERR(shmkit_conn_recv(a, &m, 0), SHMKIT_ETIMEDOUT);
  ASSERT_EQ(test_open_handles(), before);

  /* Seals are the object's: they arrive with it (Linux memfds). */
  if (test_linux_ext()) {
    shmkit_region *sealed = region_with("sealed");
    ASSERT_OK(shmkit_region_seal(sealed, SHMKIT_SEAL_SHRINK | SHMKIT_SEAL_GROW |
                                             SHMKIT_SEAL_FUTURE_WRITE));
    ASSERT_OK(shmkit_conn_send(a, "s", 2, &sealed, 1, 1000));
    ASSERT_OK(shmkit_conn_recv(b, &m, 1000));
    ASSERT_EQ(seals_of(m.regions[0]),
              SHMKIT_SEAL_SHRINK | SHMKIT_SEAL_GROW | SHMKIT_SEAL_FUTURE_WRITE);
    /* Nobody can write it any more: it travels, and arrives, read-only. */
    ASSERT_EQ(shmkit_region_access(m.regions[0]), SHMKIT_READ_ONLY);
    ASSERT_ERR(shmkit_view_map(&v, m.regions[0], 0, 1, SHMKIT_READ_WRITE),
               SHMKIT_EACCES);
    close_msg(&m);
    shmkit_region_close(sealed);
  }
  ASSERT_EQ(test_open_handles(), before);

  /* Nothing more: a timeout, not a hang. */
  ASSERT_ERR(shmkit_conn_recv(b, &m, 0), SHMKIT_ETIMEDOUT);
  ASSERT_ERR(shmkit_conn_recv(b, &m, 30), SHMKIT_ETIMEDOUT);

  /* A payload larger than the buffer: its size is told, the message and its
   * regions dropped, and the next message comes through. */
  {
    static char big[SHMKIT_MSG_MAX];
    memset(big, 'x', sizeof(big));
    ASSERT_OK(shmkit_conn_send(a, big, 300, regions, 2, 1000));
    ASSERT_OK(shmkit_conn_send(a, "after", 6, NULL, 0, 1000));
    ASSERT_ERR(shmkit_conn_recv(b, &m, 1000), SHMKIT_E2BIG);
    ASSERT_EQ(m.size, 300);
    ASSERT_EQ(m.count, 0);
    ASSERT_ERR(shmkit_conn_recv(a, &m, 0), SHMKIT_ETIMEDOUT); /* as above */
    ASSERT_EQ(test_open_handles(), before);
    ASSERT_OK(shmkit_conn_recv(b, &m, 1000));
    ASSERT_STR_EQ(buf, "after");
    /* The largest message goes through whole. */
    ASSERT_OK(shmkit_conn_send(a, big, SHMKIT_MSG_MAX, NULL, 0, 1000));
    ASSERT_OK(recv_msg(b, &m, big, sizeof(big), 1000));
    ASSERT_EQ(m.size, SHMKIT_MSG_MAX);
    ASSERT_ERR(shmkit_conn_send(a, big, SHMKIT_MSG_MAX + 1, NULL, 0, 1000),
               SHMKIT_E2BIG);
  }
  {
    shmkit_region *many[SHMKIT_MSG_REGIONS_MAX + 1];
    for (int i = 0; i <= SHMKIT_MSG_REGIONS_MAX; i++) many[i] = rw;
    ASSERT_OK(shmkit_conn_send(a, NULL, 0, many, SHMKIT_MSG_REGIONS_MAX, 1000));
    ASSERT_OK(recv_msg(b, &m, buf, sizeof(buf), 1000));
    ASSERT_EQ(m.count, SHMKIT_MSG_REGIONS_MAX);
    close_msg(&m);
    ASSERT_ERR(
        shmkit_conn_send(a, NULL, 0, many, SHMKIT_MSG_REGIONS_MAX + 1, 1000),
        SHMKIT_E2BIG);
  }
  ASSERT_ERR(shmkit_conn_send(a, NULL, 5, NULL, 0, 0), SHMKIT_EINVAL);
  ASSERT_ERR(shmkit_conn_send(NULL, "x", 1, NULL, 0, 0), SHMKIT_EINVAL);
  ASSERT_ERR(shmkit_conn_recv(b, NULL, 0), SHMKIT_EINVAL);

  /* The peer closes: both directions say so. */
  shmkit_conn_close(a);
  ASSERT_ERR(shmkit_conn_recv(b, &m, 1000), SHMKIT_ECLOSED);
  ASSERT_ERR(shmkit_conn_send(b, "x", 1, NULL, 0, 1000), SHMKIT_ECLOSED);
  shmkit_conn_close(b);
  shmkit_region_close(rw);
  shmkit_region_close(ro);
  return 0;
}

TEST_IMPL(conn_listen_connect) {
  char name[32];
  shmkit_conn *l, *l2 = (shmkit_conn *)&l2, *c, *s;
  shmkit_peer peer;
  char me[SHMKIT_USER_MAX];
  shmkit_msg m;
  char buf[16];

  test_name(name, "ep");
  ASSERT_OK(shmkit_listen(&l, name));
  ASSERT_ERR(shmkit_listen(&l2, name), SHMKIT_EEXIST);
  ASSERT_NULL(l2);
  ASSERT_ERR(shmkit_accept(&s, l, 0), SHMKIT_ETIMEDOUT);
  ASSERT_ERR(shmkit_accept(&s, l, 30), SHMKIT_ETIMEDOUT);
  ASSERT_OK(shmkit_connect(&c, name, 1000));
  ASSERT_OK(shmkit_accept(&s, l, 1000));

  ASSERT_OK(shmkit_conn_peer(s, &peer));
  test_self_user(me, sizeof(me));
  ASSERT_STR_EQ(peer.user, me);
  if (test_can(CAP_PEER_PID))
    ASSERT_EQ(peer.pid, test_self_pid());
  else
    ASSERT_EQ(peer.pid, -1); /* documented: the portable path cannot tell */
  ASSERT_OK(shmkit_conn_peer(c, &peer));
  ASSERT_STR_EQ(peer.user, me);
  ASSERT_ERR(shmkit_conn_peer(l, &peer), SHMKIT_EINVAL);

  ASSERT_OK(shmkit_conn_send(c, "ping", 5, NULL, 0, 1000));
  ASSERT_OK(recv_msg(s, &m, buf, sizeof(buf), 1000));
  ASSERT_STR_EQ(buf, "ping");
  ASSERT_ERR(shmkit_conn_send(l, "x", 1, NULL, 0, 0), SHMKIT_EINVAL);
  {
    shmkit_conn *x;
    ASSERT_ERR(shmkit_accept(&x, s, 0), SHMKIT_EINVAL);
    ASSERT_NULL(x);
  }

  shmkit_conn_close(c);
  shmkit_conn_close(s);
  shmkit_conn_close(l);
  /* The endpoint is gone with its listener, and can be listened on again. */
  ASSERT_ERR(shmkit_connect(&c, name, 100), SHMKIT_ENOENT);
  ASSERT_NULL(c);
  ASSERT_OK(shmkit_listen(&l, name));
  shmkit_conn_close(l);
  ASSERT_ERR(shmkit_listen(&l, "bad/name"), SHMKIT_ENAME);
  ASSERT_ERR(shmkit_connect(&c, "", 0), SHMKIT_ENAME);
  ASSERT_ERR(shmkit_connect(&c, name, -5), SHMKIT_EINVAL);
  return 0;
}

/* Any process, by endpoint name: a child connects, sends a region it made,
 * and gets a read-only one back. */
TEST_IMPL(conn_two_processes) {
  char name[32];
  const char *args[] = {name, NULL};
  shmkit_conn *l, *s;
  shmkit_region *ro, *mine;
  shmkit_peer peer;
  test_proc p;

  test_name(name, "svc");
  ASSERT_OK(shmkit_listen(&l, name));
  test_spawn(&p, "conn_client", args, SHMKIT_INVALID_HANDLE);
  ASSERT_OK(shmkit_accept(&s, l, 30000));
  ASSERT_OK(shmkit_conn_peer(s, &peer));
  if (test_can(CAP_PEER_PID)) ASSERT(peer.pid > 0);

  ASSERT_OK(recv_one(s, "here is my region", "made by the child"));

  rw_and_ro(&mine, &ro, "the parent's, read-only", 4096);
  ASSERT_OK(shmkit_conn_send(s, "yours", 6, &ro, 1, 30000));
  ASSERT_EQ(test_wait(&p, 30000), 0);
  shmkit_region_close(ro);
  shmkit_region_close(mine);
  shmkit_conn_close(s);
  shmkit_conn_close(l);
  return 0;
}

CHILD_IMPL(conn_client) {
  shmkit_conn *c;
  shmkit_region *r;
  shmkit_view *v;
  shmkit_msg m;
  char buf[64];

  ASSERT_EQ(argc, 1);
  ASSERT_OK(shmkit_connect(&c, argv[0], 30000));
  r = region_sized_with("made by the child", 100);
  ASSERT_OK(shmkit_conn_send(c, "here is my region", 18, &r, 1, 30000));
  shmkit_region_close(r);
  ASSERT_OK(recv_msg(c, &m, buf, sizeof(buf), 30000));
  ASSERT_STR_EQ(buf, "yours");
  ASSERT_EQ(m.count, 1);
  ASSERT_EQ(shmkit_region_access(m.regions[0]), SHMKIT_READ_ONLY);
  ASSERT_ERR(shmkit_view_map(&v, m.regions[0], 0, 1, SHMKIT_READ_WRITE),
             SHMKIT_EACCES);
  ASSERT_STR_EQ(text_of(m.regions[0], &v), "the parent's, read-only");
  shmkit_view_unmap(v);
  close_msg(&m);
  shmkit_conn_close(c);
  return 0;
}

/* A parent keeps sending regions to a worker it started with one end of a
 * pair, passed by token like a region. */
TEST_IMPL(conn_inherited_pair) {
  shmkit_conn *a, *b;
  shmkit_spawn_options o;
  shmkit_process *p;
  shmkit_msg m;
  char tok[SHMKIT_TOKEN_MAX], buf[64];
  const char *cargs[] = {tok, NULL};

  ASSERT_OK(shmkit_conn_pair(&a, &b));
  ASSERT_OK(shmkit_conn_token(b, tok, sizeof(tok)));
  ASSERT(strstr(tok, ":conn") != NULL);
  memset(&o, 0, sizeof(o));
  o.conns = &b;
  o.conn_count = 1;
  o.flags = SHMKIT_SPAWN_CLOSE_OTHERS;
  ASSERT_OK(spawn_runner(&p, NULL, "conn_worker", cargs, &o));
  shmkit_conn_close(b);
  {
    /* Handed to the child, the other end's peer is the child. */
    shmkit_peer peer;
    ASSERT_OK(shmkit_conn_peer(a, &peer));
    ASSERT_EQ(peer.pid, shmkit_process_pid(p));
  }

  for (int i = 0; i < 5; i++) {
    char text[32];
    shmkit_region *r;
    snprintf(text, sizeof(text), "job %d", i);
    r = region_with(text);
    ASSERT_OK(shmkit_conn_send(a, text, strlen(text) + 1, &r, 1, 30000));
    shmkit_region_close(r);
    ASSERT_OK(recv_msg(a, &m, buf, sizeof(buf), 30000));
    snprintf(text, sizeof(text), "done %d", i);
    ASSERT_STR_EQ(buf, text);
  }
  shmkit_conn_close(a); /* the worker sees the end and exits */
  reap_ok(p);
  return 0;
}

CHILD_IMPL(conn_worker) {
  shmkit_conn *c = child_conn(argc, argv);
  shmkit_msg m;
  shmkit_view *v;
  char buf[64];
  int err, n = 0, handles;

  handles = test_open_handles();
  while ((err = recv_msg(c, &m, buf, sizeof(buf), 30000)) == 0) {
    char reply[32];
    ASSERT_EQ(m.count, 1);
    ASSERT_STR_EQ(text_of(m.regions[0], &v), buf); /* region says the same */
    shmkit_view_unmap(v);
    close_msg(&m);
    snprintf(reply, sizeof(reply), "done %d", n++);
    ASSERT_OK(shmkit_conn_send(c, reply, strlen(reply) + 1, NULL, 0, 30000));
  }
  ASSERT_ERR(err, SHMKIT_ECLOSED);
  ASSERT_EQ(n, 5);
  ASSERT_EQ(test_open_handles(), handles); /* every region received closed */
#ifndef _WIN32
  ASSERT_EQ(handles, 4); /* stdio and the connection: nothing else came */
#endif
  shmkit_conn_close(c);
  return 0;
}

TEST_IMPL(conn_token_checks) {
  shmkit_conn *a, *b, *x = (shmkit_conn *)&x, *l;
  shmkit_region *r;
  char t[96], name[32];
  static const char *const garbage[] = {"shmkit1:3:conn ",   "shmkit1:3:con",
                                        "shmkit1:03:conn",   "shmkit1::conn",
                                        "shmkit1:3:4096:rw", "shmkit1:-3:conn",
                                        "shmkit2:3:conn",    ""};

  for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++)
    ASSERT_ERR(shmkit_conn_from_token(&x, garbage[i]), SHMKIT_ETOKEN);
  ASSERT_NULL(x);
  ASSERT_ERR(shmkit_conn_from_token(&x, "shmkit1:900:conn"), SHMKIT_EBADF);
  /* A region's handle is not a connection. */
  ASSERT_OK(shmkit_region_create(&r, 100, 0));
  snprintf(t, sizeof(t), "shmkit1:%lld:conn",
           (long long)shmkit_region_handle(r));
  ASSERT_ERR(shmkit_conn_from_token(&x, t), SHMKIT_ENOTSHM);
  shmkit_region_close(r);
  /* A listener has no token. */
  ASSERT_OK(shmkit_listen(&l, test_name(name, "tokl")));
  ASSERT_ERR(shmkit_conn_token(l, t, sizeof(t)), SHMKIT_EINVAL);
  shmkit_conn_close(l);
  ASSERT_OK(shmkit_conn_pair(&a, &b));
  ASSERT_ERR(shmkit_conn_token(a, t, 5), SHMKIT_E2BIG);
  x = (shmkit_conn *)&x;
  ASSERT_ERR(shmkit_conn_from_env(&x, "SHMKIT_TEST_SURELY_UNSET"),
             SHMKIT_ENOENT);
  ASSERT_NULL(x);
  ASSERT_ERR(shmkit_conn_from_env(NULL, "SHMKIT_TEST_SURELY_UNSET"),
             SHMKIT_EINVAL);
  shmkit_conn_close(a);
  shmkit_conn_close(b);
  return 0;
}

/* An endpoint name that looks like what another endpoint keeps beside its
 * own (a lock file, on the portable path) is an endpoint of its own: it
 * neither disturbs that one nor lets a second listener take it over. */
TEST_IMPL(conn_endpoint_names_apart) {
  char name[32], other[40];
  shmkit_conn *x, *x2 = (shmkit_conn *)&x2, *y, *c, *s;
  const char *suffixes[] = {".lock", ".lck", "-lock", NULL};

  test_name(name, "apart");
  ASSERT_OK(shmkit_listen(&x, name));
  for (int i = 0; suffixes[i] != NULL; i++) {
    snprintf(other, sizeof(other), "%s%s", name, suffixes[i]);
    ASSERT_OK(shmkit_listen(&y, other));
    ASSERT_ERR(shmkit_listen(&x2, name), SHMKIT_EEXIST);
    ASSERT_NULL(x2);
    shmkit_conn_close(y);
    ASSERT_ERR(shmkit_listen(&x2, name), SHMKIT_EEXIST);
    ASSERT_NULL(x2);
  }
  /* And the first listener still takes connections. */
  ASSERT_OK(shmkit_connect(&c, name, 30000));
  ASSERT_OK(shmkit_accept(&s, x, 30000));
  ASSERT_OK(shmkit_conn_send(c, "hi", 3, NULL, 0, 30000));
  {
    char buf[8];
    shmkit_msg m;
    ASSERT_OK(recv_msg(s, &m, buf, sizeof(buf), 30000));
    ASSERT_STR_EQ(buf, "hi");
  }
  shmkit_conn_close(c);
  shmkit_conn_close(s);
  shmkit_conn_close(x);
  /* Once closed, the name is free again. */
  ASSERT_OK(shmkit_listen(&x, name));
  shmkit_conn_close(x);
  return 0;
}

/* The frame decoder itself refuses a count past SHMKIT_MSG_REGIONS_MAX,
 * even with as many handles as the count says and every slot well formed:
 * the callers index their arrays of SHMKIT_MSG_REGIONS_MAX by it. */
TEST_IMPL(frame_decode_count_max) {
  shmkit__frame f;

  memset(&f, 0, sizeof(f));
  f.magic = SHMKIT__FRAME_MAGIC;
  f.version = SHMKIT__FRAME_VERSION;
  for (int i = 0; i < SHMKIT_MSG_REGIONS_MAX; i++) {
    f.regions[i].size = 4096;
    f.regions[i].access = SHMKIT_READ_WRITE;
  }
  f.count = SHMKIT_MSG_REGIONS_MAX;
  ASSERT_OK(shmkit__frame_decode(&f, sizeof(f), 0, 0, f.count, 0));
  f.count = SHMKIT_MSG_REGIONS_MAX + 1;
  ASSERT_ERR(shmkit__frame_decode(&f, sizeof(f), 0, 0, f.count, 0),
             SHMKIT_EPROTO);
  f.count = UINT32_MAX;
  ASSERT_ERR(shmkit__frame_decode(&f, sizeof(f), 0, 0, f.count, 0),
             SHMKIT_EPROTO);
  return 0;
}
