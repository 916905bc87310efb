/*
 * changes.c - the change counter and its condition variable (changes.h).
 */
#include "core/changes.h"

#include <math.h>
#include <pthread.h>
#include <time.h>

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static uint64_t g_count;

void dd_changes_bump(void) {
  pthread_mutex_lock(&g_mu);
  g_count++;
  pthread_cond_broadcast(&g_cv);
  pthread_mutex_unlock(&g_mu);
}

uint64_t dd_changes_count(void) {
  pthread_mutex_lock(&g_mu);
  uint64_t n = g_count;
  pthread_mutex_unlock(&g_mu);
  return n;
}

uint64_t dd_changes_wait(uint64_t seen, double deadline) {
  struct timespec ts;
  double whole = floor(deadline);
  ts.tv_sec = (time_t)whole;
  ts.tv_nsec = (long)((deadline - whole) * 1e9);
  if (ts.tv_nsec >= 1000000000L) ts.tv_nsec = 999999999L;
  pthread_mutex_lock(&g_mu);
  int rc = 0;
  while (g_count == seen && rc == 0) rc = pthread_cond_timedwait(&g_cv, &g_mu, &ts);
  uint64_t n = g_count;
  pthread_mutex_unlock(&g_mu);
  return n;
}
