/*
 * bench_store.c - throughput of the store's acknowledged log: appends/s and
 * MB/s with 1, 4 and 16 concurrent appenders, each append returning only
 * once its record is committed.
 *
 * Group commit (the default) is measured beside one record per
 * transaction (max_group_records = 1), with synchronous NORMAL (durable
 * against a process crash) and FULL (fsync per commit). A plain C program:
 * the appenders are threads blocked in the store, which a per-iteration
 * benchmark framework does not model well. Prints the process CPU (user +
 * system) per MB appended beside the throughput. Each configuration runs
 * with both log backends, one after the other: SQLite blobs, then segment
 * files (the default), so the two are compared under the same load.
 *
 *   bench_store [dir] [MiB per run] [all|group] [sqlite-first|segments-first]
 *     (defaults: $TMPDIR or /tmp, 256, all, sqlite-first; group leaves out
 *     the runs with one record per transaction; alternate the order between
 *     runs, as the page cache's writeback of one run's bytes slows the
 *     next)
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench_clock.h"
#include "store/store.h"

typedef struct run_arg {
  dd_store *store;
  int count;
  size_t len;
  const unsigned char *buf;
  int failures;
} run_arg;

static void *append_loop(void *arg) {
  run_arg *a = arg;
  for (int i = 0; i < a->count; i++)
    if (dd_store_log_append(a->store, "m", DD_LOG_PREDICTION, wall_ns(), a->buf, a->len, NULL) !=
        DD_STORE_OK)
      a->failures++;
  return NULL;
}

static void remove_files(const char *path) {
  static const char *const suffix[] = {"", "-wal", "-shm"};
  char p[1100];
  for (size_t i = 0; i < 3; i++) {
    snprintf(p, sizeof p, "%s%s", path, suffix[i]);
    unlink(p);
  }
  snprintf(p, sizeof p, "%s.log", path); /* emptied by the model's deletion */
  rmdir(p);
}

/* One configuration; prints a table row. */
static int run(const char *dir, dd_store_log_backend backend, dd_store_sync sync, int grouped,
               size_t len, int threads, size_t budget) {
  char path[1024];
  snprintf(path, sizeof path, "%s/bench_store_%d.db", dir, (int)getpid());
  remove_files(path);
  dd_store_options o;
  dd_store_options_init(&o);
  o.synchronous = sync;
  o.log_backend = backend;
  if (!grouped) o.max_group_records = 1;
  dd_store *s = NULL;
  char err[256];
  if (dd_store_open(path, &o, &s, err, sizeof err) != DD_STORE_OK) {
    fprintf(stderr, "open %s: %s\n", path, err);
    return 1;
  }
  dd_store_model_put(s, "m", "", 0);
  int per = (int)(budget / len / (size_t)threads);
  int cap = sync == DD_STORE_SYNC_FULL ? 4000 : 20000; /* small records: bounded count */
  if (per > cap / threads) per = cap / threads;
  if (per < 1) per = 1;
  unsigned char *buf = malloc(len);
  for (size_t i = 0; i < len; i++) buf[i] = (unsigned char)(i * 2654435761u >> 13);
  pthread_t th[16];
  run_arg args[16];
  double c0 = cpu_s(), t0 = mono_s();
  for (int t = 0; t < threads; t++) {
    args[t] = (run_arg){s, per, len, buf, 0};
    pthread_create(&th[t], NULL, append_loop, &args[t]);
  }
  int failures = 0;
  for (int t = 0; t < threads; t++) {
    pthread_join(th[t], NULL);
    failures += args[t].failures;
  }
  double dt = mono_s() - t0, cpu = cpu_s() - c0;
  dd_store_stats st;
  dd_store_get_stats(s, &st);
  double n = (double)per * threads, mb = n * (double)len / 1e6;
  printf("%-8s %-6s %-7s %9zu %7d %11.0f %9.1f %8.2f %10.2f %8.0f%s\n",
         backend == DD_STORE_LOG_SQLITE ? "sqlite" : "segments",
         sync == DD_STORE_SYNC_FULL ? "FULL" : "NORMAL", grouped ? "group" : "single", len, threads,
         n / dt, mb / dt, st.mean_group, 1e3 * cpu / mb, n, failures ? "  (failures)" : "");
  fflush(stdout);
  free(buf);
  dd_store_model_delete(s, "m"); /* removes its segments */
  dd_store_close(s);
  remove_files(path);
  return failures != 0;
}

int main(int argc, char **argv) {
  const char *tmp = getenv("TMPDIR");
  const char *dir = argc > 1 ? argv[1] : tmp && *tmp ? tmp : "/tmp";
  size_t budget = (size_t)(argc > 2 ? atoi(argv[2]) : 256) << 20;
  int only_group = argc > 3 && strcmp(argv[3], "group") == 0;
  int seg_first = argc > 4 && strcmp(argv[4], "segments-first") == 0;
  static const size_t sizes[] = {(size_t)1 << 20, 4096};
  static const int threads[] = {1, 4, 16};
  printf("%-8s %-6s %-7s %9s %7s %11s %9s %8s %10s %8s\n", "log", "sync", "commit", "record", "threads",
         "appends/s", "MB/s", "group", "cpu ms/MB", "records");
  int bad = 0;
  for (int sync = DD_STORE_SYNC_NORMAL; sync <= DD_STORE_SYNC_FULL; sync++)
    for (size_t si = 0; si < 2; si++)
      for (int grouped = 1; grouped >= only_group; grouped--)
        for (size_t ti = 0; ti < 3; ti++)
          for (int k = 0; k < 2; k++) {
            int b = (k == 0) != seg_first ? DD_STORE_LOG_SQLITE : DD_STORE_LOG_SEGMENTS;
            bad |= run(dir, (dd_store_log_backend)b, (dd_store_sync)sync, grouped, sizes[si],
                       threads[ti], budget);
          }
  return bad;
}
