/*
 * pvalue_cache.c - a process-wide cache of two-sample KS p-values, keyed by
 * the exact arguments (D's bits, n1, n2) of drift__ks_2samp_p.
 *
 * An exact p-value at 10,000 rows a side costs up to milliseconds, and the
 * same window is often compared again with nothing changed in a feature
 * (another statistic set, an alert rule and a query over one window, many
 * features with equal D at equal sizes); the cache answers those at the
 * cost of a lock and a hash. Since drift__ks_2samp_p is a pure function of
 * its arguments, a cached answer is the computed one, bit for bit.
 *
 * Direct-mapped, CACHE_SLOTS entries (about 160 KB): a new key replaces
 * whatever its slot held, so the size is bounded with no eviction policy.
 * One mutex guards the table; it is never held while a p-value is being
 * computed. Safe from any thread.
 */
#include <pthread.h>
#include <string.h>

#include "pvalue.h"

#define CACHE_SLOTS 4096 /* a power of two */

typedef struct ks_entry {
  uint64_t d_bits, n1, n2;
  double p;
  drift_ks_method method;
  int used;
} ks_entry;

static ks_entry table[CACHE_SLOTS];
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t slot_of(uint64_t d_bits, uint64_t n1, uint64_t n2) {
  uint64_t h = d_bits * 0x9e3779b97f4a7c15ull;
  h ^= (n1 + 0x632be59bd9b4e019ull) * 0xbf58476d1ce4e5b9ull;
  h ^= (n2 + 0x85157af5ull) * 0x94d049bb133111ebull;
  h ^= h >> 29;
  return (size_t)(h & (CACHE_SLOTS - 1));
}

double drift__ks_2samp_p_cached(double d, uint64_t n1, uint64_t n2, drift_ks_method *method) {
  uint64_t bits;
  memcpy(&bits, &d, sizeof bits);
  size_t slot = slot_of(bits, n1, n2);
  pthread_mutex_lock(&table_lock);
  ks_entry e = table[slot];
  pthread_mutex_unlock(&table_lock);
  if (e.used && e.d_bits == bits && e.n1 == n1 && e.n2 == n2) {
    if (method != NULL) *method = e.method;
    return e.p;
  }
  drift_ks_method m;
  double p = drift__ks_2samp_p(d, n1, n2, &m);
  if (method != NULL) *method = m;
  ks_entry fresh = {bits, n1, n2, p, m, 1};
  pthread_mutex_lock(&table_lock);
  table[slot] = fresh;
  pthread_mutex_unlock(&table_lock);
  return p;
}
