/*
 * crc32c.c - CRC-32C with the SSE4.2 instruction or a byte table
 * (crc32c.h).
 */
#include "core/crc32c.h"

#include <pthread.h>
#include <string.h>

static uint32_t table[256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_init(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    table[i] = c;
  }
}

static uint32_t crc_table(uint32_t c, const uint8_t *p, size_t n) {
  pthread_once(&table_once, table_init);
  for (size_t i = 0; i < n; i++) c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return c;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_HW_CRC 1
__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t c, const uint8_t *p, size_t n) {
  uint64_t c64 = c;
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t v;
    memcpy(&v, p, 8);
    c64 = __builtin_ia32_crc32di(c64, v);
  }
  c = (uint32_t)c64;
  for (; n > 0; n--, p++) c = __builtin_ia32_crc32qi(c, *p);
  return c;
}
#endif

uint32_t dd_crc32c(uint32_t crc, const void *bytes, size_t n) {
  uint32_t c = ~crc;
#ifdef HAVE_HW_CRC
  if (__builtin_cpu_supports("sse4.2")) return ~crc_hw(c, bytes, n);
#endif
  return ~crc_table(c, bytes, n);
}
