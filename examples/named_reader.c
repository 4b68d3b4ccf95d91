/* Opens the region named_writer created, reads its message, and writes a
 * reply into the same memory. Waits up to 10 s for the writer to create it. */
#include <stdio.h>
#include <string.h>

#include "board.h"
#include "shmkit.h"

int main(int argc, char **argv) {
  const char *name = argc > 1 ? argv[1] : "shmkit-demo";
  shmkit_region *region = NULL;
  shmkit_view *view;
  struct board *b;
  int err, waited = 0;

  setvbuf(stdout, NULL, _IONBF, 0); /* lines in the order they happen */

  /* The writer may not have made it yet (ENOENT) or not sized it yet
   * (EAGAIN): wait for both, then for the message. */
  while (((err = shmkit_region_open(&region, name, SHMKIT_READ_WRITE)) ==
              SHMKIT_ENOENT ||
          err == SHMKIT_EAGAIN) &&
         waited < 10000) {
    pause_ms(10);
    waited += 10;
  }
  if (err != 0) {
    fprintf(stderr, "reader: open \"%s\": %s\n", name, shmkit_strerror(err));
    return 1;
  }
  /* The size comes from the system: never map more than is there. */
  if (shmkit_region_size(region) < sizeof(struct board)) {
    fprintf(stderr, "reader: \"%s\" is too small\n", name);
    shmkit_region_close(region);
    return 1;
  }
  err = shmkit_view_map(&view, region, 0, sizeof(struct board),
                        SHMKIT_READ_WRITE);
  shmkit_region_close(region); /* the view keeps the memory alive */
  if (err != 0) {
    fprintf(stderr, "reader: map: %s\n", shmkit_strerror(err));
    return 1;
  }
  b = shmkit_view_data(view);
  while (atomic_load_explicit(&b->state, memory_order_acquire) !=
             BOARD_POSTED &&
         waited < 10000) {
    pause_ms(10);
    waited += 10;
  }
  if (waited >= 10000) {
    fprintf(stderr, "reader: no message within 10 s\n");
    shmkit_view_unmap(view);
    return 1;
  }
  /* The writer's text is memory another program can write: bound it. */
  printf("reader: opened \"%s\", read \"%.*s\"\n", name,
         (int)strnlen(b->message, sizeof(b->message)), b->message);
  snprintf(b->reply, sizeof(b->reply), "hello back from reader");
  atomic_store_explicit(&b->state, BOARD_REPLIED, memory_order_release);
  printf("reader: replied\n");
  shmkit_view_unmap(view);
  return 0;
}
