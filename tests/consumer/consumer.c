/* The smallest real use of an installed shmkit: exits 0 only if a region can
 * be created, mapped, written and read back. */
#include <stdio.h>
#include <string.h>

#include <shmkit.h>

int main(void) {
  shmkit_region *r;
  shmkit_view *v;
  int err;

  if ((err = shmkit_region_create(&r, 4096, 0)) != 0 ||
      (err = shmkit_view_map(&v, r, 100, 10, SHMKIT_READ_WRITE)) != 0) {
    fprintf(stderr, "consumer: %s\n", shmkit_strerror(err));
    return 1;
  }
  memcpy(shmkit_view_data(v), "installed", 10);
  err = strcmp(shmkit_view_data(v), "installed");
  shmkit_view_unmap(v);
  shmkit_region_close(r);
  printf("consumer: %s\n", err == 0 ? "ok" : "mismatch");
  return err == 0 ? 0 : 1;
}
