/*
 * bench_segments.c - a prototype of the acknowledged log as append-only
 * segment files, measured the way bench_store measures the SQLite log: 1,
 * 4 and 16 appenders, 1 MiB and 4 KiB records, each append returning only
 * once its record is written (and, at FULL, on disk).
 *
 * The appender: each record is framed as a 32-byte header (magic, payload
 * length, sequence, arrival time, CRC32C of header and payload) followed by
 * the payload as given. Appenders compute their record's CRC on their own
 * thread, queue the record and sleep; one writer thread takes everything
 * queued, writes it with writev (header and payload straight from the
 * appenders' buffers, no copy in user space), then at FULL one fdatasync
 * for the group, and wakes the group (group commit). NORMAL writes to the
 * page cache only, which survives a killed process, as SQLite's NORMAL in
 * WAL mode does; FULL also survives a power loss. A segment rolls over at
 * 256 MiB.
 *
 * Prints appends/s, MB/s, the mean group and the process CPU (user + system)
 * per MB appended, the figure that bench_store prints for SQLite.
 *
 *   bench_segments [dir] [MiB per run]     (defaults: $TMPDIR or /tmp, 256)
 */
#define _GNU_SOURCE /* writev, fdatasync */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "bench_clock.h"
#include "core/crc32c.h"

#define SEGMENT_BYTES ((uint64_t)256 << 20)
#define RECORD_MAGIC 0x444c4f47u /* "DLOG" */
#define MAX_IOV 1024

/* ------------------------------------------------------- the appender */

typedef struct record_header {
  uint32_t magic;
  uint32_t len;
  uint64_t seq;
  int64_t arrival_ns;
  uint32_t crc; /* CRC32C of the header with crc = 0, then the payload */
  uint32_t pad_;
} record_header;

typedef struct pending {
  record_header h;
  const void *bytes;
  struct pending *next;
  int done, status;
  pthread_cond_t cv;
} pending;

typedef struct seglog {
  const char *dir;
  int full; /* fdatasync each group */
  int fd;
  unsigned segment;
  uint64_t seg_bytes, next_seq;
  pthread_mutex_t mu;
  pthread_cond_t wake;
  pending *head, *tail;
  int closing;
  uint64_t groups, records;
  pthread_t writer;
} seglog;

static int open_segment(seglog *l) {
  char path[1100];
  snprintf(path, sizeof path, "%s/seg-%d-%06u.log", l->dir, (int)getpid(), l->segment);
  if (l->fd >= 0) close(l->fd);
  l->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
  l->seg_bytes = 0;
  return l->fd < 0 ? -1 : 0;
}

static void remove_segments(seglog *l) {
  char path[1100];
  for (unsigned i = 0; i <= l->segment; i++) {
    snprintf(path, sizeof path, "%s/seg-%d-%06u.log", l->dir, (int)getpid(), i);
    unlink(path);
  }
}

/* Writes the whole iovec array, resuming after short writes. */
static int write_all(int fd, struct iovec *iov, int n) {
  while (n > 0) {
    ssize_t w = writev(fd, iov, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    while (n > 0 && (size_t)w >= iov->iov_len) {
      w -= (ssize_t)iov->iov_len;
      iov++;
      n--;
    }
    if (n > 0) {
      iov->iov_base = (char *)iov->iov_base + w;
      iov->iov_len -= (size_t)w;
    }
  }
  return 0;
}

/* Writes one group (sequences given here, CRCs finished here over the
 * header: the payload's part was computed by the appender). */
static int write_group(seglog *l, pending *first) {
  struct iovec iov[MAX_IOV];
  int n = 0, rc = 0;
  for (pending *p = first; p && rc == 0; p = p->next) {
    if (l->seg_bytes >= SEGMENT_BYTES) {
      if (n) rc = write_all(l->fd, iov, n);
      n = 0;
      if (rc == 0 && l->full) rc = fdatasync(l->fd);
      l->segment++;
      if (rc == 0) rc = open_segment(l);
    }
    p->h.seq = ++l->next_seq;
    uint32_t payload_crc = p->h.crc;
    p->h.crc = 0;
    p->h.crc = dd_crc32c(payload_crc, (const unsigned char *)&p->h, sizeof p->h);
    iov[n++] = (struct iovec){&p->h, sizeof p->h};
    iov[n++] = (struct iovec){(void *)p->bytes, p->h.len};
    l->seg_bytes += sizeof p->h + p->h.len;
    if (n == MAX_IOV) {
      rc = write_all(l->fd, iov, n);
      n = 0;
    }
  }
  if (rc == 0 && n) rc = write_all(l->fd, iov, n);
  if (rc == 0 && l->full) rc = fdatasync(l->fd);
  return rc;
}

static void *writer_main(void *arg) {
  seglog *l = arg;
  pthread_mutex_lock(&l->mu);
  for (;;) {
    while (!l->head && !l->closing) pthread_cond_wait(&l->wake, &l->mu);
    if (!l->head) break;
    pending *first = l->head;
    l->head = l->tail = NULL;
    pthread_mutex_unlock(&l->mu);
    int rc = write_group(l, first);
    pthread_mutex_lock(&l->mu);
    l->groups++;
    for (pending *p = first, *next; p; p = next) {
      next = p->next; /* p may vanish once done is set */
      l->records++;
      p->status = rc;
      p->done = 1;
      pthread_cond_signal(&p->cv);
    }
  }
  pthread_mutex_unlock(&l->mu);
  return NULL;
}

/* Appends one record and returns once the group holding it is written. */
static int seglog_append(seglog *l, int64_t arrival_ns, const void *bytes, uint32_t len) {
  pending p = {.h = {.magic = RECORD_MAGIC, .len = len, .arrival_ns = arrival_ns}, .bytes = bytes};
  p.h.crc = dd_crc32c(0, bytes, len); /* on the appender's thread */
  pthread_cond_init(&p.cv, NULL);
  pthread_mutex_lock(&l->mu);
  if (l->tail)
    l->tail->next = &p;
  else
    l->head = &p;
  l->tail = &p;
  pthread_cond_signal(&l->wake);
  while (!p.done) pthread_cond_wait(&p.cv, &l->mu);
  pthread_mutex_unlock(&l->mu);
  pthread_cond_destroy(&p.cv);
  return p.status;
}

static int seglog_open(seglog *l, const char *dir, int full) {
  memset(l, 0, sizeof *l);
  l->dir = dir;
  l->full = full;
  l->fd = -1;
  pthread_mutex_init(&l->mu, NULL);
  pthread_cond_init(&l->wake, NULL);
  if (open_segment(l)) return -1;
  return pthread_create(&l->writer, NULL, writer_main, l);
}

static void seglog_close(seglog *l) {
  pthread_mutex_lock(&l->mu);
  l->closing = 1;
  pthread_cond_signal(&l->wake);
  pthread_mutex_unlock(&l->mu);
  pthread_join(l->writer, NULL);
  close(l->fd);
  remove_segments(l);
  pthread_mutex_destroy(&l->mu);
  pthread_cond_destroy(&l->wake);
}

/* ---------------------------------------------------------- the bench */

typedef struct run_arg {
  seglog *log;
  int count;
  uint32_t len;
  const unsigned char *buf;
  int failures;
} run_arg;

static void *append_loop(void *arg) {
  run_arg *a = arg;
  for (int i = 0; i < a->count; i++)
    if (seglog_append(a->log, wall_ns(), a->buf, a->len) != 0) a->failures++;
  return NULL;
}

/* One configuration; prints a table row. */
static int run(const char *dir, int full, uint32_t len, int threads, size_t budget) {
  seglog l;
  if (seglog_open(&l, dir, full)) {
    fprintf(stderr, "open a segment in %s: %s\n", dir, strerror(errno));
    return 1;
  }
  int per = (int)(budget / len / (size_t)threads);
  int cap = full ? 4000 : 20000; /* small records: a bounded count, as bench_store */
  if (per > cap / threads) per = cap / threads;
  if (per < 1) per = 1;
  unsigned char *buf = malloc(len);
  for (uint32_t i = 0; i < len; i++) buf[i] = (unsigned char)(i * 2654435761u >> 13);
  pthread_t th[16];
  run_arg args[16];
  double c0 = cpu_s(), t0 = mono_s();
  for (int t = 0; t < threads; t++) {
    args[t] = (run_arg){&l, per, len, buf, 0};
    pthread_create(&th[t], NULL, append_loop, &args[t]);
  }
  int failures = 0;
  for (int t = 0; t < threads; t++) {
    pthread_join(th[t], NULL);
    failures += args[t].failures;
  }
  double dt = mono_s() - t0, cpu = cpu_s() - c0;
  double n = (double)per * threads, mb = n * (double)len / 1e6;
  printf("%-6s %9u %7d %11.0f %9.1f %8.2f %10.2f %8.0f%s\n", full ? "FULL" : "NORMAL", len, threads,
         n / dt, mb / dt, n / (double)(l.groups ? l.groups : 1), 1e3 * cpu / mb, n,
         failures ? "  (failures)" : "");
  fflush(stdout);
  free(buf);
  seglog_close(&l);
  return failures != 0;
}

int main(int argc, char **argv) {
  const char *tmp = getenv("TMPDIR");
  const char *dir = argc > 1 ? argv[1] : tmp && *tmp ? tmp : "/tmp";
  size_t budget = (size_t)(argc > 2 ? atoi(argv[2]) : 256) << 20;
  static const uint32_t sizes[] = {1u << 20, 4096};
  static const int threads[] = {1, 4, 16};
  printf("%-6s %9s %7s %11s %9s %8s %10s %8s\n", "sync", "record", "threads", "appends/s", "MB/s",
         "group", "cpu ms/MB", "records");
  int bad = 0;
  for (int full = 0; full <= 1; full++)
    for (size_t si = 0; si < 2; si++)
      for (size_t ti = 0; ti < 3; ti++) bad |= run(dir, full, sizes[si], threads[ti], budget);
  return bad;
}
