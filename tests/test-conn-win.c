/* Windows connections against a hostile peer that writes raw pipe messages
 * naming handle values: each value is pulled out of the sender and checked,
 * never taken as one of the receiver's own handles. */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <stdlib.h>

#include "../src/win/wire.h"
#include "hostile.h"

/* A value the child holds no handle at (it checks): handle values are
 * handed out lowest first, and this is the highest the receiver accepts. */
#define UNHELD_VALUE 0x7ffffffcu

/* Our region is still ours: its handle open, a view of it works, and what
 * we wrote there is there. */
static void check_mine(shmkit_region *mine) {
  shmkit_view *v;
  DWORD flags;

  ASSERT(GetHandleInformation((HANDLE)shmkit_region_handle(mine), &flags));
  ASSERT_OK(shmkit_view_map(&v, mine, 0, 4096, SHMKIT_READ_WRITE));
  ASSERT_STR_EQ((char *)shmkit_view_data(v), "the parent's own");
  shmkit_view_unmap(v);
}

/* The same of one of our handles of that region, by its value alone. */
static void check_value(uint64_t value) {
  HANDLE h = (HANDLE)(uintptr_t)value;
  DWORD flags;
  char *p;

  ASSERT(GetHandleInformation(h, &flags));
  p = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 4096);
  ASSERT(p != NULL);
  ASSERT_STR_EQ(p, "the parent's own");
  UnmapViewOfFile(p);
}

/* Receives a message of text and no regions. */
static void recv_text(shmkit_conn *c, char *buf, size_t size) {
  shmkit_msg m;

  ASSERT_OK(recv_msg(c, &m, buf, size, 30000));
  ASSERT_EQ(m.count, 0);
  ASSERT(m.size > 0 && buf[m.size - 1] == '\0');
}

static uint64_t value_of(HANDLE h) {
  return (uint64_t)(uintptr_t)h;
}

/* Each lie a message can tell about its regions, from a real other process;
 * every handle pulled for a refused message is closed, and the connection
 * goes on. The child also names one of OUR handle values: a receiver that
 * took values as its own (as a push design must) would adopt, and then
 * close, our region. */
TEST_IMPL(conn_hostile_frames) {
  shmkit_process *p;
  shmkit_region *mine;
  shmkit_view *v;
  shmkit_conn *a;
  HANDLE extra[64];
  char list[4096], value[48];
  uint64_t ours;
  int n, nextra = 0;

  ASSERT_OK(shmkit_region_create(&mine, 4096, 0));
  ASSERT_OK(shmkit_view_map(&v, mine, 0, 4096, SHMKIT_READ_WRITE));
  strcpy(shmkit_view_data(v), "the parent's own");
  shmkit_view_unmap(v);
  a = test_conn_child("hostile_pipe_peer", NULL, &p);
  /* Read by the library in the child, with our hello before it: the
   * child's raw reads below would skip the hello, and its own honest
   * sends need to know how we take regions. */
  ASSERT_OK(shmkit_conn_send(a, "start", 6, NULL, 0, 30000));
  /* The child may name one of our values only where it holds no handle,
   * or it would hand us its own object there. It starts with the same
   * handles we did, so our region's value is often one of its own too:
   * then duplicates of our handle, each on a new value, until one is not.
   * It has sent us every value it holds, having made all it needs. */
  recv_text(a, list, sizeof(list));
  ours = (uint64_t)shmkit_region_handle(mine);
  while (handle_listed(list, (shmkit_handle)ours)) {
    ASSERT(nextra < 64);
    extra[nextra] = (HANDLE)test_dup_handle(shmkit_region_handle(mine));
    ours = value_of(extra[nextra++]);
  }
  snprintf(value, sizeof(value), "%llu %llu", (unsigned long long)ours,
           (unsigned long long)shmkit_region_handle(mine));
  n = test_open_handles();
  ASSERT_OK(shmkit_conn_send(a, value, strlen(value) + 1, NULL, 0, 30000));

  expect_refused(a, SHMKIT_EPROTO, n, "shorter than a header");
  expect_refused(a, SHMKIT_EPROTO, n, "bad magic");
  expect_refused(a, SHMKIT_EPROTO, n, "handle value 0");
  expect_refused(a, SHMKIT_EPROTO, n, "a value the child does not hold");
  expect_refused(a, SHMKIT_EPROTO, n, "(HANDLE)-1: the process itself");
  expect_refused(a, SHMKIT_EPROTO, n, "(HANDLE)-2: the thread itself");
  /* Windows ignores a value's low two bits: it would take the section. */
  expect_refused(a, SHMKIT_EPROTO, n, "a section's value + 2");
  /* The point of pulling: our value names nothing in the child. */
  expect_refused(a, SHMKIT_EPROTO, n, "the value of OUR region's handle");
  /* Pushed values are taken only from a peer we cannot pull from: this
   * one would have us adopt our own handle. */
  expect_refused(a, SHMKIT_EPROTO, n, "OUR region's value, said to be pushed");
  /* Frames the strict check rejects, naming a section the child holds:
   * nothing is taken out of the child, so nothing is acknowledged (the
   * child counts). */
  expect_refused(a, SHMKIT_EVERSION, n, "a newer version");
  expect_refused(a, SHMKIT_EPROTO, n, "the reserved field set");
  check_value(ours);
  check_mine(mine);
  /* Until now the child made no handle, so that none of its own could
   * take our region's value before we had tried it. */
  ASSERT_OK(shmkit_conn_send(a, "go", 3, NULL, 0, 30000));
  expect_refused(a, SHMKIT_ENOTSHM, n, "an event as a region");
  expect_refused(a, SHMKIT_ETOOSMALL, n, "4096 bytes claimed as 1 MiB");
  expect_refused(a, SHMKIT_EACCES, n, "read-only claimed read-write");
  expect_refused(a, SHMKIT_ENOTSHM, n, "a good region, then an event");
  expect_refused(a, SHMKIT_EPROTO, n, "a good region, then an unheld value");
  expect_refused(a, SHMKIT_EPERM, n,
                 "a region said to come from another process");
  expect_shape_lies(a, n);
  /* A forged acknowledgement naming our values is read and dropped: it
   * could end only transfers of ours in flight, and there are none. */
  expect_honest(a, "after the forged ack");
  check_value(ours);
  check_mine(mine);
  ASSERT_EQ(test_open_handles(), n);

  /* Random messages: whatever each yields, nothing crashes or stays open. */
  expect_random(a, 300, n, SHMKIT_EPERM);
  /* And then an honest message still comes through. The child waits for
   * our word before it exits: the values in the messages before were
   * pulled out of it, so it had to be there. */
  expect_honest(a, "honest");
  ASSERT_OK(shmkit_conn_send(a, "done", 5, NULL, 0, 30000));
  expect_peer_ended(a, p, n);
  check_value(ours);
  check_mine(mine);
  shmkit_process_close(p);
  shmkit_conn_close(a);
  while (nextra > 0) CloseHandle(extra[--nextra]);
  shmkit_region_close(mine);
  return 0;
}

/* ---- the child */

/* Whether this process has a handle at `value`. */
static int holds(uint64_t value) {
  DWORD flags;
  return GetHandleInformation((HANDLE)(uintptr_t)value, &flags);
}

struct hostile {
  HANDLE pipe;    /* the child's end */
  HANDLE ev;      /* for overlapped writes, made before any value is chosen */
  uint64_t value; /* what hostile_name() names: one of the child's sections */
};

/* Writes one message of `len` bytes past every check of the library. The
 * pipe is overlapped, so the write needs an OVERLAPPED; `ev` is made once,
 * before the values are chosen, so that writing makes no handle. */
static void raw_write(HANDLE pipe, HANDLE ev, const void *buf, size_t len) {
  OVERLAPPED io;
  DWORD n;

  memset(&io, 0, sizeof(io));
  io.hEvent = ev;
  if (!WriteFile(pipe, buf, (DWORD)len, NULL, &io) &&
      GetLastError() != ERROR_IO_PENDING)
    FAIL("WriteFile: %lu", (unsigned long)GetLastError());
  if (!GetOverlappedResult(pipe, &io, &n, TRUE))
    FAIL("WriteFile: %lu", (unsigned long)GetLastError());
  ASSERT_EQ(n, len);
}

void hostile_write(hostile *h, const void *buf, size_t len, uint32_t regions) {
  (void)regions; /* a frame names its regions by value */
  raw_write(h->pipe, h->ev, buf, len);
}

/* Names `value` in every region slot up to the count, as sent by us. */
static void name_value(shmkit__frame *f, uint64_t value) {
  for (uint32_t i = 0; i < f->count && i < SHMKIT_MSG_REGIONS_MAX; i++) {
    f->regions[i].handle = value;
    f->regions[i].origin = GetCurrentProcessId();
  }
}

void hostile_name(hostile *h, shmkit__frame *f) {
  name_value(f, h->value);
}

/* A header as the library would write it, for `count` regions of `size`
 * bytes, all named by `value`. */
static void named_frame(shmkit__frame *f, uint32_t payload, uint32_t count,
                        uint64_t size, uint32_t access, uint64_t value) {
  good_frame(f, payload, count, size, access);
  name_value(f, value);
}

/* A message of text, as shmkit_conn_send() would write it, but without
 * making a handle. */
static void raw_send_text(HANDLE pipe, HANDLE ev, const char *text) {
  union {
    shmkit__frame f;
    char bytes[sizeof(shmkit__frame) + 4096];
  } msg;
  size_t len = strlen(text) + 1;

  ASSERT(len <= sizeof(msg.bytes) - sizeof(msg.f));
  good_frame(&msg.f, (uint32_t)len, 0, 0, 0);
  memcpy(msg.bytes + sizeof(msg.f), text, len);
  raw_write(pipe, ev, &msg, sizeof(msg.f) + len);
}

/* Reads the parent's next message of text, skipping its control messages
 * (hello, acknowledgements: all shorter than a header), without making a
 * handle. Returns how many acknowledgements it skipped. */
static int raw_recv_text(HANDLE pipe, HANDLE ev, char *text, size_t size) {
  union {
    shmkit__frame f;
    char bytes[sizeof(shmkit__frame) + 64];
  } msg;
  OVERLAPPED io;
  DWORD n;
  int acks = -1;

  do {
    acks++;
    memset(&io, 0, sizeof(io));
    io.hEvent = ev;
    if (!ReadFile(pipe, &msg, sizeof(msg), NULL, &io) &&
        GetLastError() != ERROR_IO_PENDING)
      FAIL("ReadFile: %lu", (unsigned long)GetLastError());
    if (!GetOverlappedResult(pipe, &io, &n, TRUE))
      FAIL("ReadFile: %lu", (unsigned long)GetLastError());
    if (n == sizeof(shmkit__hello)) acks--;
  } while (n < sizeof(msg.f));
  ASSERT(n > sizeof(msg.f) && n - sizeof(msg.f) <= size);
  ASSERT_EQ(msg.f.magic, SHMKIT__FRAME_MAGIC);
  ASSERT_EQ(msg.f.count, 0);
  ASSERT_EQ(msg.f.size, n - sizeof(msg.f));
  memcpy(text, msg.bytes + sizeof(msg.f), msg.f.size);
  ASSERT(text[msg.f.size - 1] == '\0');
  return acks;
}

/* A value for a random message: mostly one of our sections or our event,
 * else garbage. Never a value we do not hold but could later: the parent
 * acknowledges every value a message names, taken or not, and an
 * acknowledgement lands whichever copy of ours is in flight at that value
 * when it arrives, so a later honest message of ours would lose its
 * region. (One call to next() per statement, so that every compiler draws
 * the same values.) */
static uint64_t pick(uint32_t *seed, const uint64_t good[4], HANDLE pipe,
                     HANDLE ev) {
  uint32_t kind = hostile_next(seed), x = hostile_next(seed);

  if (kind % 4 != 0) return good[x % 4];
  switch (kind / 4 % 8) {
  case 0:
    return 0;
  case 1:
    return value_of((HANDLE)-1);
  case 2:
    return value_of(x % 2 ? pipe : ev); /* held, not sections */
  case 3:
    return (x | 0x10000000u) & 0x7ffffffc; /* far past any we will hold */
  case 4:
    return (uint64_t)x << 32 | hostile_next(seed);
  case 5:
    return good[x % 4] + 1 + x / 4 % 3; /* low bits set */
  case 6:
    return UNHELD_VALUE;
  default:
    return x | 0x80000000u; /* just past the values handles have */
  }
}

CHILD_IMPL(hostile_pipe_peer) {
  HANDLE self = GetCurrentProcess(), pipe, ev, event, ro;
  shmkit_region *sec, *sec2;
  shmkit_conn *c = child_conn(argc, argv);
  shmkit__frame f;
  hostile h;
  uint64_t theirs, region, good[4];
  uint32_t seed = 12345;
  char bytes[sizeof(shmkit__frame) + 80], text[4096], *end;

  {
    char start[8];
    shmkit_msg m;
    ASSERT_OK(recv_msg(c, &m, start, sizeof(start), 30000));
    ASSERT_STR_EQ(start, "start");
  }
  pipe = (HANDLE)shmkit_conn_handle(c);
  /* Every handle the messages name or the writes need, made now. */
  ev = CreateEventW(NULL, TRUE, FALSE, NULL);
  event = CreateEventW(NULL, TRUE, FALSE, NULL);
  ASSERT(ev != NULL && event != NULL);
  ASSERT_OK(shmkit_region_create(&sec, 4096, 0));
  ASSERT_OK(shmkit_region_create(&sec2, 8192, 0));
  /* Read-only as a FILE_MAP_READ duplicate; shmkit's anonymous sections
   * refuse to be re-duplicated for more, which is what makes it so. */
  ASSERT(DuplicateHandle(self, (HANDLE)shmkit_region_handle(sec), self, &ro,
                         SECTION_QUERY | FILE_MAP_READ, FALSE, 0));
  h.pipe = pipe;
  h.ev = ev;
  h.value = shmkit_region_handle(sec);
  /* From here until the parent has tried its value, no new handle: one
   * could land on that value. */
  raw_send_text(pipe, ev, test_list_handles(text, sizeof(text)));
  raw_recv_text(pipe, ev, text, sizeof(text));
  theirs = strtoull(text, &end, 10);
  region = strtoull(end, NULL, 10);
  if (holds(theirs)) /* cannot be: it was not in the list */
    FAIL("setup: the parent's value %llu is ours too",
         (unsigned long long)theirs);
  ASSERT(!holds(UNHELD_VALUE));

  /* The messages, in the order the parent expects them (its labels say
   * what each is). */
  hostile_write(&h, "tiny", 4, 0);
  named_frame(&f, 0, 1, 4096, SHMKIT_READ_WRITE, shmkit_region_handle(sec));
  f.magic ^= 1;
  hostile_write(&h, &f, sizeof(f), 0);
  named_frame(&f, 0, 1, 4096, SHMKIT_READ_WRITE, 0);
  hostile_write(&h, &f, sizeof(f), 0);
  named_frame(&f, 0, 1, 4096, SHMKIT_READ_WRITE, UNHELD_VALUE);
  hostile_write(&h, &f, sizeof(f), 0);
  named_frame(&f, 0, 1, 4096, SHMKIT_READ_WRITE, value_of((HANDLE)-1));
  hostile_write(&h, &f, sizeof(f), 0);
  named_frame(&f, 0, 1, 4096, SHMKIT_READ_WRITE, value_of((HANDLE)-2));
  hostile_write(&h, &f, sizeof(f), 0);
  named_frame(&f, 0, 1, 4096, SHMKIT_READ_WRITE, shmkit_region_handle(sec) | 2);
  hostile_write(&h, &f, sizeof(f), 0);
  named_frame(&f, 0, 1, 4096, SHMKIT_READ_WRITE, theirs);
  hostile_write(&h, &f, sizeof(f), 0);
  f.regions[0].origin = 0; /* "pushed: yours already" */
  hostile_write(&h, &f, sizeof(f), 0);
  named_frame(&f, 0, 1, 4096, SHMKIT_READ_WRITE, shmkit_region_handle(sec));
  f.version++;
  hostile_write(&h, &f, sizeof(f), 0);
  named_frame(&f, 0, 1, 4096, SHMKIT_READ_WRITE, shmkit_region_handle(sec));
  f.zero = 1;
  hostile_write(&h, &f, sizeof(f), 0);
  /* None of the above named a region the parent could take. */
  ASSERT_EQ(raw_recv_text(pipe, ev, text, sizeof(text)), 0);
  ASSERT_STR_EQ(text, "go");

  named_frame(&f, 0, 1, 4096, SHMKIT_READ_ONLY, value_of(event));
  hostile_write(&h, &f, sizeof(f), 0);
  named_frame(&f, 0, 1, 1 << 20, SHMKIT_READ_WRITE, shmkit_region_handle(sec));
  hostile_write(&h, &f, sizeof(f), 0);
  named_frame(&f, 0, 1, 4096, SHMKIT_READ_WRITE, value_of(ro));
  hostile_write(&h, &f, sizeof(f), 0);
  named_frame(&f, 0, 2, 4096, SHMKIT_READ_ONLY, shmkit_region_handle(sec));
  f.regions[1].handle = value_of(event);
  hostile_write(&h, &f, sizeof(f), 0);
  named_frame(&f, 0, 2, 4096, SHMKIT_READ_ONLY, shmkit_region_handle(sec));
  f.regions[1].handle = UNHELD_VALUE;
  hostile_write(&h, &f, sizeof(f), 0);
  named_frame(&f, 0, 1, 4096, SHMKIT_READ_ONLY, shmkit_region_handle(sec));
  f.regions[0].origin += 4; /* another process than the pipe says */
  hostile_write(&h, &f, sizeof(f), 0);
  hostile_send_shape_lies(&h);
  {
    shmkit__ack a;
    memset(&a, 0, sizeof(a));
    a.magic = SHMKIT__ACK_MAGIC;
    a.count = SHMKIT_MSG_REGIONS_MAX;
    /* The parent's handles of its region, and random values. */
    a.handles[0] = theirs;
    a.handles[1] = region;
    for (int i = 2; i < SHMKIT_MSG_REGIONS_MAX; i++)
      a.handles[i] = hostile_next(&seed) & 0x7ffffffc;
    hostile_write(&h, &a, sizeof(a), 0);
  }
  honest_send(c, "after the forged ack");

  /* Random messages: half a good header around random fields, naming our
   * sections and event or garbage, half noise. */
  good[0] = shmkit_region_handle(sec);
  good[1] = shmkit_region_handle(sec2);
  good[2] = value_of(ro);
  good[3] = value_of(event);
  for (int i = 0; i < 300; i++) {
    size_t len;
    hostile_noise(&seed, bytes, sizeof(bytes));
    if (i % 2 == 0) {
      uint32_t payload = hostile_next(&seed) % 80,
               count = hostile_next(&seed) % 4;
      uint64_t size = hostile_next(&seed) % 8192;
      uint32_t access =
          hostile_next(&seed) % 2 ? SHMKIT_READ_WRITE : SHMKIT_READ_ONLY;
      named_frame(&f, payload, count, size, access, 0);
      for (uint32_t k = 0; k < count; k++) {
        f.regions[k].handle = pick(&seed, good, pipe, ev);
        if (hostile_next(&seed) % 8 == 0)
          f.regions[k].origin = hostile_next(&seed);
      }
      memcpy(bytes, &f, sizeof(f) - (i % 10 == 0 ? 8 : 0));
      len = hostile_next(&seed) % 4 != 0
                ? sizeof(f) + payload
                : hostile_next(&seed) % sizeof(bytes) + 1;
    } else {
      len = hostile_next(&seed) % sizeof(bytes) + 1;
    }
    hostile_write(&h, bytes, len, 0);
  }
  honest_send(c, "honest");
  {
    char buf[16];
    shmkit_msg m;
    ASSERT_OK(recv_msg(c, &m, buf, sizeof(buf), 30000));
    ASSERT_STR_EQ(buf, "done");
  }
  CloseHandle(ro);
  CloseHandle(event);
  CloseHandle(ev);
  shmkit_region_close(sec2);
  shmkit_region_close(sec);
  shmkit_conn_close(c);
  return 0;
}
