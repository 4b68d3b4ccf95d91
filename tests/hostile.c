/* The platform-independent half of the hostile peer (hostile.h). */
#include "hostile.h"

uint32_t hostile_next(uint32_t *seed) {
  *seed ^= *seed << 13;
  *seed ^= *seed >> 17;
  *seed ^= *seed << 5;
  return *seed;
}

void hostile_noise(uint32_t *seed, char *bytes, size_t size) {
  for (size_t j = 0; j < size; j++) bytes[j] = (char)(hostile_next(seed) >> 7);
}

void good_frame(shmkit__frame *f, uint32_t payload, uint32_t count,
                uint64_t size, uint32_t access) {
  memset(f, 0, sizeof(*f));
  f->magic = SHMKIT__FRAME_MAGIC;
  f->version = SHMKIT__FRAME_VERSION;
  f->size = payload;
  f->count = count;
  for (uint32_t i = 0; i < count && i < SHMKIT_MSG_REGIONS_MAX; i++) {
    f->regions[i].size = size;
    f->regions[i].access = access;
  }
}

void hostile_send_frame(hostile *h, shmkit__frame *f) {
  hostile_name(h, f);
  hostile_write(h, f, sizeof(*f), f->count);
}

void hostile_send_shape_lies(hostile *h) {
  char bytes[sizeof(shmkit__frame) + 64];
  shmkit__frame f;

  good_frame(&f, 100, 1, 4096, SHMKIT_READ_ONLY);
  hostile_name(h, &f);
  memset(bytes, 0, sizeof(bytes));
  memcpy(bytes, &f, sizeof(f));
  hostile_write(h, bytes, sizeof(f) + 50, 1);
  good_frame(&f, 0, 1, 4096, SHMKIT_READ_ONLY);
  hostile_name(h, &f);
  f.regions[3].size = 1;
  hostile_write(h, &f, sizeof(f), 1);
  good_frame(&f, 0, 0, 0, 0);
  f.count = SHMKIT_MSG_REGIONS_MAX + 1;
  hostile_write(h, &f, sizeof(f), 0);
  hostile_write(h, "", 0, 0);
}

void expect_shape_lies(shmkit_conn *c, int handles) {
  expect_refused(c, SHMKIT_EPROTO, handles, "payload length that lies");
  expect_refused(c, SHMKIT_EPROTO, handles,
                 "a region slot past count not empty");
  expect_refused(c, SHMKIT_EPROTO, handles, "count past the maximum");
  expect_refused(c, SHMKIT_EPROTO, handles, "empty");
}

void honest_send(shmkit_conn *c, const char *text) {
  shmkit_region *r = region_with(text);

  ASSERT_OK(shmkit_conn_send(c, text, strlen(text) + 1, &r, 1, 30000));
  shmkit_region_close(r);
}

void expect_honest(shmkit_conn *c, const char *text) {
  char buf[256];
  shmkit_msg m;

  ASSERT_OK(recv_msg(c, &m, buf, sizeof(buf), 30000));
  ASSERT_EQ(m.size, strlen(text) + 1);
  ASSERT_STR_EQ(buf, text);
  ASSERT_EQ(m.count, 1);
  expect_text(m.regions[0], text);
  close_msg(&m);
}

void expect_refused(shmkit_conn *c, int want, int handles, const char *what) {
  char buf[256];
  shmkit_msg m;
  int err = recv_msg(c, &m, buf, sizeof(buf), 30000), open;

  if (err != want)
    FAIL("%s: got %s, want %s", what,
         err == 0 ? "a message" : shmkit_err_name(err), shmkit_err_name(want));
  ASSERT_EQ(m.count, 0);
  for (int i = 0; i < SHMKIT_MSG_REGIONS_MAX; i++) ASSERT_NULL(m.regions[i]);
  if ((open = test_open_handles()) != handles)
    FAIL("%s: %d handles open after it, want %d", what, open, handles);
}

void expect_random(shmkit_conn *c, int rounds, int handles, int also) {
  for (int i = 0; i < rounds; i++) {
    char buf[64];
    shmkit_msg m;
    int err = recv_msg(c, &m, buf, sizeof(buf), 30000);

    if (err == 0)
      close_msg(&m);
    else if (err != SHMKIT_EPROTO && err != SHMKIT_ENOTSHM &&
             err != SHMKIT_ETOOSMALL && err != SHMKIT_EACCES &&
             err != SHMKIT_E2BIG && err != also)
      FAIL("random message %d: %s", i, shmkit_err_name(err));
    ASSERT_EQ(test_open_handles(), handles);
  }
}

void expect_peer_ended(shmkit_conn *c, shmkit_process *p, int handles) {
  char buf[64];
  shmkit_msg m;
  int code, sig;

  ASSERT_OK(shmkit_process_wait(p, 30000, &code, &sig));
  ASSERT_EQ(code, 0);
  ASSERT_ERR(recv_msg(c, &m, buf, sizeof(buf), 30000), SHMKIT_ECLOSED);
  ASSERT_EQ(test_open_handles(), handles);
}
