/* Creates a named region, posts a message in it, and waits for the reply
 * that named_reader writes into the same memory:
 *
 *   named_writer demo & named_reader demo
 */
#include <stdio.h>
#include <string.h>

#include "board.h"
#include "shmkit.h"

int main(int argc, char **argv) {
  const char *name = argc > 1 ? argv[1] : "shmkit-demo";
  shmkit_region *region;
  shmkit_view *view;
  struct board *b;
  int err, waited;

  setvbuf(stdout, NULL, _IONBF, 0); /* lines in the order they happen */

  err = shmkit_region_create_named(&region, name, sizeof(struct board), 0);
  if (err == SHMKIT_EEXIST) {
    fprintf(stderr, "writer: \"%s\" exists; remove it or pick another name\n",
            name);
    return 1;
  }
  if (err != 0) {
    fprintf(stderr, "writer: create \"%s\": %s\n", name, shmkit_strerror(err));
    return 1;
  }
  printf("writer: created region \"%s\" (%llu bytes)\n", name,
         (unsigned long long)shmkit_region_size(region));

  err = shmkit_view_map(&view, region, 0, sizeof(struct board),
                        SHMKIT_READ_WRITE);
  if (err != 0) {
    fprintf(stderr, "writer: map: %s\n", shmkit_strerror(err));
    shmkit_region_remove(name);
    shmkit_region_close(region);
    return 1;
  }
  b = shmkit_view_data(view);
  snprintf(b->message, sizeof(b->message), "hello from writer, through \"%s\"",
           name);
  atomic_store_explicit(&b->state, BOARD_POSTED, memory_order_release);
  printf("writer: posted \"%s\"\n", b->message);

  for (waited = 0; waited < 10000; waited += 10) {
    if (atomic_load_explicit(&b->state, memory_order_acquire) == BOARD_REPLIED)
      break;
    pause_ms(10);
  }
  if (waited < 10000)
    printf("writer: reader replied \"%s\"\n", b->reply);
  else
    fprintf(stderr, "writer: no reply within 10 s\n");

  /* A POSIX name outlives its creator until removed. */
  shmkit_region_remove(name);
  shmkit_view_unmap(view);
  shmkit_region_close(region);
  return waited < 10000 ? 0 : 1;
}
