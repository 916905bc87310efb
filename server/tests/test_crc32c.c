/*
 * test_crc32c.c - dd_crc32c against published check values (the CRC
 * catalogue's "123456789", RFC 3720's iSCSI vectors) and against a bitwise
 * CRC-32C written here from the polynomial, on random buffers of every
 * length around the three-chain thresholds, at every alignment, and in
 * pieces (a CRC continued over a split input equals the CRC of the whole).
 */
#include <stdint.h>

#include "check.h"
#include "core/crc32c.h"

/* One bit at a time from the reflected polynomial: slow, independent. */
static uint32_t crc_bitwise(uint32_t crc, const uint8_t *p, size_t n) {
  uint32_t c = ~crc;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
  }
  return ~c;
}

static void published_vectors(void) {
  CHECK(dd_crc32c(0, "123456789", 9) == 0xE3069283u, "check value: %08x",
        dd_crc32c(0, "123456789", 9));
  uint8_t b[32];
  memset(b, 0, sizeof b);
  CHECK(dd_crc32c(0, b, 32) == 0x8A9136AAu, "32 zeros: %08x", dd_crc32c(0, b, 32));
  memset(b, 0xff, sizeof b);
  CHECK(dd_crc32c(0, b, 32) == 0x62A8AB43u, "32 x 0xff: %08x", dd_crc32c(0, b, 32));
  for (int i = 0; i < 32; i++) b[i] = (uint8_t)i;
  CHECK(dd_crc32c(0, b, 32) == 0x46DD794Eu, "0..31: %08x", dd_crc32c(0, b, 32));
  for (int i = 0; i < 32; i++) b[i] = (uint8_t)(31 - i);
  CHECK(dd_crc32c(0, b, 32) == 0x113FDB5Cu, "31..0: %08x", dd_crc32c(0, b, 32));
}

static void matches_bitwise(void) {
  const size_t cap = 3 * 8192 * 2 + 4096;
  uint8_t *buf = malloc(cap + 8);
  if (buf == NULL) {
    CHECK(buf != NULL, "out of memory");
    return;
  }
  uint64_t s = 0x9e3779b97f4a7c15ull;
  for (size_t i = 0; i < cap + 8; i++) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    buf[i] = (uint8_t)(s >> 56);
  }
  /* Lengths around each threshold (3 x 256, 3 x 8192 and twice that), at
   * every alignment of the start. */
  const size_t around[] = {0, 1, 7, 8, 9, 255, 767, 768, 769, 775, 1536, 4095,
                           24575, 24576, 24577, 24583, 24576 + 768, 49152, 49160, cap};
  for (size_t a = 0; a < sizeof around / sizeof around[0]; a++)
    for (size_t off = 0; off < 8; off++) {
      size_t n = around[a];
      uint32_t want = crc_bitwise(0, buf + off, n), got = dd_crc32c(0, buf + off, n);
      CHECK(got == want, "length %zu at offset %zu: %08x, expected %08x", n, off, got, want);
    }
  /* Continued over pieces. */
  for (size_t cut = 0; cut <= cap; cut += 997) {
    uint32_t whole = crc_bitwise(0, buf, cap);
    uint32_t parts = dd_crc32c(dd_crc32c(0, buf, cut), buf + cut, cap - cut);
    CHECK(parts == whole, "split at %zu: %08x, expected %08x", cut, parts, whole);
  }
  free(buf);
}

TEST_MAIN({"published_vectors", published_vectors}, {"matches_bitwise", matches_bitwise})
