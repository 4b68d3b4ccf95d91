/* libFuzzer target for the token parser: no input may crash it, and every
 * token it accepts must be in the one canonical form, so formatting what it
 * parsed gives back the very same text. Build with -DSHMKIT_FUZZ=ON (clang),
 * run: build-fuzz/bin/shmkit-fuzz-token tests/fuzz/corpus-token */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char text[256], again[SHMKIT_TOKEN_MAX];
  shmkit__token t;
  int n;

  if (size >= sizeof(text)) return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  if (shmkit__token_parse(text, &t) != 0) return 0;

  if (t.handle < 0 || t.size == 0 || t.size > SHMKIT__SIZE_MAX ||
      (t.access != SHMKIT_READ_ONLY && t.access != SHMKIT_READ_WRITE))
    abort();
  n = shmkit__token_format(&t, again, sizeof(again));
  if (n < 0 || (size_t)n != strlen(text) || strcmp(again, text) != 0) abort();
  return 0;
}
