/* The wire protocol as docs/protocol.md states it, and only so: the frames
 * here are bytes at the offsets the document gives, written the way a
 * program in another language would write them, with nothing taken from
 * src/ (no private struct, no private constant). If the document and the
 * library part ways, these tests fail. */
#include <stdlib.h>

#ifdef _WIN32
#  include <windows.h>
#else
#  include <sys/socket.h>
#  include <sys/uio.h>
#endif

#include "task.h"

/* docs/protocol.md, "The frame": a 16-byte head, then 16 slots of 24
 * bytes, then the payload. */
#define MAGIC     0x4b4d4853u /* "SHMK" */
#define HEAD_SIZE 400
#define SLOT(i)   (16 + 24 * (i))

/* docs/protocol.md, "Control messages (Windows)". */
#define HELLO_MAGIC 0x484b4853u /* "SHKH" */
#define ACK_MAGIC   0x414b4853u /* "SHKA" */

/* Little-endian, as the document says every machine shmkit runs on today
 * stores its integers (the machine's order). */
static void put(unsigned char *at, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; i++) at[i] = (unsigned char)(value >> (8 * i));
}

static int little_endian(void) {
  const uint16_t one = 1;
  return *(const unsigned char *)&one == 1;
}

/* A message of `version` with `text` as its payload and, if r is not
 * NULL, r as its one region with `access`: how the region is named is the
 * platform's (docs/protocol.md, "Region slots"). Returns its length. */
static size_t build(unsigned char *msg, unsigned version, const char *text,
                    shmkit_region *r, unsigned access) {
  size_t len = strlen(text);

  memset(msg, 0, HEAD_SIZE);
  put(msg + 0, MAGIC, 4);
  put(msg + 4, version, 2);
  put(msg + 8, len, 4);
  put(msg + 12, r != NULL, 4);
  if (r != NULL) {
    put(msg + SLOT(0), shmkit_region_size(r), 8);
#ifdef _WIN32 /* pull: our handle value, and our pid as its origin */
    put(msg + SLOT(0) + 8, (uint64_t)shmkit_region_handle(r), 8);
    put(msg + SLOT(0) + 20, (uint64_t)test_self_pid(), 4);
#endif /* POSIX: the descriptor travels beside the frame; both stay 0 */
    put(msg + SLOT(0) + 16, access, 4);
  }
  memcpy(msg + HEAD_SIZE, text, len);
  return HEAD_SIZE + len;
}

/* Writes one message on the end `c` past every check of the library, with
 * r's handle beside it (POSIX; a Windows frame names it itself). */
static void raw_send(shmkit_conn *c, const unsigned char *msg, size_t len,
                     shmkit_region *r) {
#ifdef _WIN32
  HANDLE pipe = (HANDLE)shmkit_conn_handle(c);
  OVERLAPPED io = {0};
  DWORD n = 0;

  (void)r;
  io.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL); /* the pipe overlaps */
  ASSERT(io.hEvent != NULL);
  if (!WriteFile(pipe, msg, (DWORD)len, NULL, &io))
    ASSERT_EQ(GetLastError(), ERROR_IO_PENDING);
  ASSERT(GetOverlappedResult(pipe, &io, &n, TRUE));
  CloseHandle(io.hEvent);
  ASSERT_EQ(n, len);
#else
  union { /* one descriptor's worth of SCM_RIGHTS, aligned for cmsghdr */
    struct cmsghdr head;
    char bytes[CMSG_SPACE(sizeof(int))];
  } ctl;
  struct iovec iov = {(void *)msg, len};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
  int fd = r != NULL ? (int)shmkit_region_handle(r) : -1;

  memset(&ctl, 0, sizeof(ctl));
  if (fd >= 0) {
    m.msg_control = ctl.bytes;
    m.msg_controllen = sizeof(ctl.bytes);
    ctl.head.cmsg_level = SOL_SOCKET;
    ctl.head.cmsg_type = SCM_RIGHTS;
    ctl.head.cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(&ctl.head), &fd, sizeof(fd));
  }
  ASSERT_EQ(sendmsg((int)shmkit_conn_handle(c), &m, 0), len);
#endif
}

#ifdef _WIN32
static uint64_t get(const unsigned char *at, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; i--) v = v << 8 | at[i];
  return v;
}

/* Reads the next message the end `c`'s peer wrote, raw, into buf. */
static size_t raw_read(shmkit_conn *c, unsigned char *buf, size_t size) {
  HANDLE pipe = (HANDLE)shmkit_conn_handle(c);
  OVERLAPPED io = {0};
  DWORD n = 0;

  io.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
  ASSERT(io.hEvent != NULL);
  if (!ReadFile(pipe, buf, (DWORD)size, NULL, &io))
    ASSERT_EQ(GetLastError(), ERROR_IO_PENDING);
  ASSERT(GetOverlappedResult(pipe, &io, &n, TRUE));
  CloseHandle(io.hEvent);
  return n;
}

/* What the receiving end `a` wrote to us (its peer, b) as the document
 * says: its hello first (it pulls, and it is this process), then, once it
 * has taken the region we named by `value`, an acknowledgement of it. */
static void check_control(shmkit_conn *b, uint64_t value) {
  unsigned char buf[512];

  ASSERT_EQ(raw_read(b, buf, sizeof(buf)), 16);
  ASSERT_EQ(get(buf, 4), HELLO_MAGIC);
  ASSERT_EQ(get(buf + 4, 4), 1); /* PULLS */
  ASSERT_EQ(get(buf + 8, 4), test_self_pid());
  ASSERT_EQ(get(buf + 12, 4), 0);
  ASSERT_EQ(raw_read(b, buf, sizeof(buf)), 8 + 8 * SHMKIT_MSG_REGIONS_MAX);
  ASSERT_EQ(get(buf, 4), ACK_MAGIC);
  ASSERT_EQ(get(buf + 4, 4), 1);
  ASSERT_EQ(get(buf + 8, 8), value);
  for (int i = 1; i < SHMKIT_MSG_REGIONS_MAX; i++)
    ASSERT_EQ(get(buf + 8 + 8 * i, 8), 0);
}
#endif

static unsigned char msg[HEAD_SIZE + 256];

/* Both ends of a pair: raw frames go in at b, shmkit reads them at a. */
typedef struct ends {
  shmkit_conn *a, *b;
  char data[64];
  shmkit_msg m;
} ends;

static void ends_open(ends *e) {
  memset(e, 0, sizeof(*e));
  ASSERT_OK(shmkit_conn_pair(&e->a, &e->b));
  e->m.data = e->data;
  e->m.capacity = sizeof(e->data);
}

static int recv_a(ends *e) {
  return shmkit_conn_recv(e->a, &e->m, 5000);
}

static void ends_close(ends *e) {
  shmkit_conn_close(e->a);
  shmkit_conn_close(e->b);
}

TEST_IMPL(protocol_frame_from_doc) {
  static const char text[] = "built from docs/protocol.md";
  shmkit_region *r;
  shmkit_view *v;
  ends e;

  if (!little_endian()) return TEST_SKIP; /* the bytes below are LE */
  ends_open(&e);
  r = region_with("shared");
  raw_send(e.b, msg, build(msg, 1, text, r, SHMKIT_READ_ONLY), r);
  ASSERT_OK(recv_a(&e));
  ASSERT_EQ(e.m.size, strlen(text));
  ASSERT(memcmp(e.data, text, e.m.size) == 0);
  ASSERT_EQ(e.m.count, 1);
  ASSERT_EQ(shmkit_region_access(e.m.regions[0]), SHMKIT_READ_ONLY);
  ASSERT(shmkit_region_size(e.m.regions[0]) >= 4096);
  ASSERT_OK(shmkit_view_map(&v, e.m.regions[0], 0, 7, SHMKIT_READ_ONLY));
  ASSERT_STR_EQ(shmkit_view_data(v), "shared"); /* the very same memory */
  shmkit_view_unmap(v);
#ifdef _WIN32
  check_control(e.b, (uint64_t)shmkit_region_handle(r));
#endif
  shmkit_region_close(e.m.regions[0]);
  shmkit_region_close(r);
  ends_close(&e);
  return 0;
}

/* docs/protocol.md, "Versions": a frame with the magic and a higher version
 * is SHMKIT_EVERSION, whatever else it holds; what it brought is closed
 * and the connection goes on. */
TEST_IMPL(protocol_newer_version) {
  shmkit_region *r;
  int before;
  ends e;

  if (!little_endian()) return TEST_SKIP;
  ends_open(&e);
  r = region_with("newer");
  before = test_open_handles();
  raw_send(e.b, msg, build(msg, 2, "v2", r, SHMKIT_READ_ONLY), r);
  ASSERT_ERR(recv_a(&e), SHMKIT_EVERSION);
  ASSERT_EQ(e.m.count, 0);
  ASSERT_EQ(test_open_handles(), before);
  /* Nothing past the first six bytes is read: a newer header may be of
   * any length, and any field may mean something else. */
  build(msg, 0xffff, "", NULL, 0);
  put(msg + 6, 0xffff, 2);
  put(msg + 12, 0xffffffffu, 4);
  raw_send(e.b, msg, HEAD_SIZE, NULL);
  ASSERT_ERR(recv_a(&e), SHMKIT_EVERSION);
  raw_send(e.b, msg, 6, NULL);
  ASSERT_ERR(recv_a(&e), SHMKIT_EVERSION);
  /* Still a connection: version 1 goes through. */
  raw_send(e.b, msg, build(msg, 1, "v1", NULL, 0), NULL);
  ASSERT_OK(recv_a(&e));
  ASSERT_EQ(e.m.size, 2);
  shmkit_region_close(r);
  ends_close(&e);
  return 0;
}

/* What is not the magic and a higher version stays garbage:
 * SHMKIT_EPROTO, so that a newer peer is never mistaken for a broken
 * one, nor a broken one for a newer one. */
TEST_IMPL(protocol_garbage_is_not_a_version) {
  size_t len;
  ends e;

  if (!little_endian()) return TEST_SKIP;
  ends_open(&e);
  len = build(msg, 0, "v0", NULL, 0); /* there never was a version 0 */
  raw_send(e.b, msg, len, NULL);
  ASSERT_ERR(recv_a(&e), SHMKIT_EPROTO);
  build(msg, 2, "v2", NULL, 0);
  put(msg, MAGIC ^ 0x20, 4); /* "sHMK" */
  raw_send(e.b, msg, len, NULL);
  ASSERT_ERR(recv_a(&e), SHMKIT_EPROTO);
  build(msg, 2, "", NULL, 0);
  raw_send(e.b, msg, 5, NULL); /* the version cut off */
  ASSERT_ERR(recv_a(&e), SHMKIT_EPROTO);
  len = build(msg, 1, "v1", NULL, 0);
  put(msg + 6, 1, 2); /* the reserved field */
  raw_send(e.b, msg, len, NULL);
  ASSERT_ERR(recv_a(&e), SHMKIT_EPROTO);
  len = build(msg, 1, "v1", NULL, 0);
  put(msg + 8, 3, 4); /* a size that lies */
  raw_send(e.b, msg, len, NULL);
  ASSERT_ERR(recv_a(&e), SHMKIT_EPROTO);
  ends_close(&e);
  return 0;
}

/* docs/protocol.md, "Tokens": written from the grammar, taken; a token of
 * another version is not one of this format. */
TEST_IMPL(protocol_token_from_doc) {
  shmkit_region *r, *got = NULL;
  shmkit_conn *c = NULL;
  shmkit_handle h;
  char t[SHMKIT_TOKEN_MAX];

  r = region_with("token");
  h = test_dup_handle(shmkit_region_handle(r));
  snprintf(t, sizeof(t), "shmkit1:%lld:%d:r", (long long)h, 4096);
  ASSERT_OK(shmkit_region_from_token(&got, t)); /* now owns h */
  ASSERT_EQ(shmkit_region_access(got), SHMKIT_READ_ONLY);
  shmkit_region_close(got);
  t[6] = '2';
  ASSERT_ERR(shmkit_region_from_token(&got, t), SHMKIT_ETOKEN);
  ASSERT_ERR(shmkit_region_from_token(&got, "shmkit10:3:4096:r"),
             SHMKIT_ETOKEN);
  ASSERT_NULL(got);
  ASSERT_ERR(shmkit_conn_from_token(&c, "shmkit2:3:conn"), SHMKIT_ETOKEN);
  ASSERT_NULL(c);
  shmkit_region_close(r);
  return 0;
}
