/* A short sleep for the examples, on both platforms. */
#ifndef SHMKIT_EXAMPLE_PAUSE_H
#define SHMKIT_EXAMPLE_PAUSE_H

#ifdef _WIN32
#  include <windows.h>
static void pause_ms(int ms) {
  Sleep((DWORD)ms);
}
#else
#  include <time.h>
static void pause_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}
#endif

#endif
