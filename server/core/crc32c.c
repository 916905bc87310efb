/*
 * crc32c.c - CRC-32C with the SSE4.2 instruction or a byte table
 * (crc32c.h).
 *
 * The crc32 instruction has a latency of three cycles and a throughput of
 * one, so one chain of it runs at a third of the instruction's speed. Long
 * inputs are therefore cut into three consecutive parts whose CRCs run as
 * three independent chains in one loop; the first part's CRC is then moved
 * past the second part (and the result past the third) with a "zeros"
 * operator, the CRC of appending that many zero bytes, which is linear in
 * the register and so a lookup in four byte tables (Mark Adler's method,
 * zlib's crc32_combine). The tables are built once, for two part lengths.
 */
#include "core/crc32c.h"

#include <pthread.h>
#include <string.h>

#define POLY 0x82F63B78u /* 0x1EDC6F41 reflected */

static uint32_t table[256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_init(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ POLY : c >> 1;
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

/* ------------------------------------------------- the zeros operators */

#define LONG_PART 8192 /* bytes per chain on inputs of 3 * LONG_PART or more */
#define SHORT_PART 256 /* then on what is left, down to 3 * SHORT_PART */

/* A 32 x 32 matrix over GF(2), one column per bit, times a vector. */
static uint32_t gf2_times(const uint32_t *mat, uint32_t vec) {
  uint32_t sum = 0;
  for (; vec; vec >>= 1, mat++)
    if (vec & 1) sum ^= *mat;
  return sum;
}

static void gf2_square(uint32_t *square, const uint32_t *mat) {
  for (int n = 0; n < 32; n++) square[n] = gf2_times(mat, mat[n]);
}

/* The operator that appends len zero bytes: the product of the operators
 * of 1, 2, 4, ... bytes for the bits set in len (each one the square of
 * the one before). */
static void zeros_op(uint32_t *out, size_t len) {
  uint32_t a[32], b[32], acc[32];
  a[0] = POLY; /* one zero bit */
  for (int n = 1; n < 32; n++) a[n] = 1u << (n - 1);
  for (int n = 0; n < 32; n++) acc[n] = 1u << n; /* no zeros: the identity */
  gf2_square(b, a); /* two zero bits */
  gf2_square(a, b); /* four */
  uint32_t *cur = a, *next = b;
  for (; len; len >>= 1) {
    gf2_square(next, cur); /* 8, 16, 32, ... zero bits */
    uint32_t *t = cur;
    cur = next;
    next = t;
    if (len & 1) {
      uint32_t prod[32];
      for (int n = 0; n < 32; n++) prod[n] = gf2_times(cur, acc[n]);
      memcpy(acc, prod, sizeof acc);
    }
  }
  memcpy(out, acc, sizeof acc);
}

static uint32_t long_zeros[4][256], short_zeros[4][256];
static pthread_once_t zeros_once = PTHREAD_ONCE_INIT;

static void zeros_table(uint32_t zeros[4][256], size_t len) {
  uint32_t op[32];
  zeros_op(op, len);
  for (uint32_t n = 0; n < 256; n++)
    for (int k = 0; k < 4; k++) zeros[k][n] = gf2_times(op, n << (8 * k));
}

static void zeros_init(void) {
  zeros_table(long_zeros, LONG_PART);
  zeros_table(short_zeros, SHORT_PART);
}

/* The register crc moved past the zeros the table was built for. */
static uint32_t shift(const uint32_t zeros[4][256], uint32_t crc) {
  return zeros[0][crc & 0xff] ^ zeros[1][(crc >> 8) & 0xff] ^ zeros[2][(crc >> 16) & 0xff] ^
         zeros[3][crc >> 24];
}

/* ------------------------------------------------------- the hardware */

static inline uint64_t load64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

/* Three chains over the parts [p, p + part), [p + part, p + 2 part) and
 * [p + 2 part, p + 3 part), combined into c continued over all of them. */
__attribute__((target("sse4.2"))) static uint64_t crc_three(uint64_t c, const uint8_t *p,
                                                            size_t part,
                                                            const uint32_t zeros[4][256]) {
  uint64_t c1 = 0, c2 = 0;
  for (const uint8_t *end = p + part; p < end; p += 8) {
    c = __builtin_ia32_crc32di(c, load64(p));
    c1 = __builtin_ia32_crc32di(c1, load64(p + part));
    c2 = __builtin_ia32_crc32di(c2, load64(p + 2 * part));
  }
  c = shift(zeros, (uint32_t)c) ^ (uint32_t)c1;
  return shift(zeros, (uint32_t)c) ^ (uint32_t)c2;
}

__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t c, const uint8_t *p, size_t n) {
  for (; n > 0 && ((uintptr_t)p & 7) != 0; n--, p++) c = __builtin_ia32_crc32qi(c, *p);
  uint64_t c64 = c;
  if (n >= 3 * SHORT_PART) pthread_once(&zeros_once, zeros_init);
  for (; n >= 3 * LONG_PART; n -= 3 * LONG_PART, p += 3 * LONG_PART)
    c64 = crc_three(c64, p, LONG_PART, long_zeros);
  for (; n >= 3 * SHORT_PART; n -= 3 * SHORT_PART, p += 3 * SHORT_PART)
    c64 = crc_three(c64, p, SHORT_PART, short_zeros);
  for (; n >= 8; n -= 8, p += 8) c64 = __builtin_ia32_crc32di(c64, load64(p));
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
