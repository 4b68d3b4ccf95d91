/* What a channel asks of the processor rather than of the system: the
 * spin hint, prefetches, and stores that go around this core's caches.
 * The processor's #ifs are here, so that no other file needs one. */
#include <stdint.h>
#include <string.h>

#if defined(__SSE2__) || defined(_M_X64)
#  include <emmintrin.h>
#  define HAVE_SSE2 1
#endif
#ifdef _MSC_VER
#  include <intrin.h>
#endif

#include "internal.h"

void shmkit__cpu_relax(void) {
#if defined(__GNUC__) && (defined(__i386__) || defined(__x86_64__))
  __builtin_ia32_pause();
#elif defined(__GNUC__) && defined(__aarch64__)
  __asm__ __volatile__("yield");
#elif defined(_MSC_VER) && (defined(_M_IX86) || defined(_M_X64))
  _mm_pause();
#elif defined(_MSC_VER) && defined(_M_ARM64)
  __yield();
#endif
}

void shmkit__cpu_prefetch(const void *p, size_t n) {
  const char *c = p;

  for (size_t i = 0; i < n; i += 64) {
#ifdef HAVE_SSE2
    _mm_prefetch(c + i, _MM_HINT_T0);
#elif defined(__GNUC__)
    __builtin_prefetch(c + i);
#endif
  }
}

int shmkit__cpu_copy_around(void *dst, const void *src, size_t n) {
#ifdef HAVE_SSE2
  unsigned char *d = dst;
  const unsigned char *s = src;
  /* Up to a 16-byte boundary as any copy, the stores need it. */
  size_t i = (16 - ((uintptr_t)d & 15)) & 15;

  if (i > n) i = n;
  memcpy(d, s, i);
  /* A line at a time: four 16-byte stores the processor combines. */
  for (; i + 64 <= n; i += 64) {
    __m128i a = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
    __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(s + i + 16));
    __m128i c = _mm_loadu_si128((const __m128i *)(const void *)(s + i + 32));
    __m128i e = _mm_loadu_si128((const __m128i *)(const void *)(s + i + 48));
    _mm_stream_si128((__m128i *)(void *)(d + i), a);
    _mm_stream_si128((__m128i *)(void *)(d + i + 16), b);
    _mm_stream_si128((__m128i *)(void *)(d + i + 32), c);
    _mm_stream_si128((__m128i *)(void *)(d + i + 48), e);
  }
  memcpy(d + i, s + i, n - i);
  /* These stores are not ordered with later ones: the fence makes a store
   * after the call (a record's mark) seen after them. */
  _mm_sfence();
  return 0;
#else
  (void)dst, (void)src, (void)n;
  return SHMKIT_ENOTSUP;
#endif
}
