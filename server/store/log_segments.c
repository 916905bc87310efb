/*
 * log_segments.c - the acknowledged log's payloads in append-only segment
 * files with CRC32C framing (see log_segments.h): the writer's plan, flush,
 * commit and abort steps, segment removal, the start-up listing helpers and
 * the checked reader.
 */
#define _GNU_SOURCE /* pwritev, fdatasync */

#include "store/log_segments.h"

#include "core/crc32c.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define FRAME_MAGIC 0x444c4f47u /* "DLOG" */
#define MAX_IOV 1024

/* Direct writes. A frame of DIRECT_MIN_PAYLOAD bytes or more starts at a
 * multiple of DIRECT_ALIGN and is written with O_DIRECT, zero-padded to the
 * next multiple, from an aligned staging buffer or, for a payload planned
 * in place, from the caller's buffer around it: no copy into freshly
 * allocated page-cache pages (the bulk of a buffered write's cost on a
 * machine whose memory is full of cache) and no dirty pages left for
 * writeback. The padding costs at most 1/16 of such a frame. Smaller frames
 * are written through the page cache where the previous frame ends. The
 * index gives every frame's offset, so readers never see the padding; the
 * next frame starts after it (dd_seg_frame_end). Where the file system
 * refuses O_DIRECT, the same padded frames go through the page cache from
 * then on, so the layout never depends on the file system. */
#define DIRECT_ALIGN DD_SEG_DIRECT_ALIGN
#define DIRECT_MIN_PAYLOAD (64u << 10)
#define DIRECT_STAGE_BYTES ((size_t)8 << 20) /* one write's worth of frames */

/* ------------------------------------------------------------- frames */

typedef struct frame_header {
  uint32_t magic;
  uint32_t len;
  uint64_t seq;
  int64_t arrival_ns;
  uint32_t kind;
  uint32_t crc; /* CRC32C of the payload, continued over this header with crc = 0 */
} frame_header;

_Static_assert(sizeof(frame_header) == DD_SEG_HEADER_BYTES, "frame header is 32 bytes");

static uint32_t frame_crc(frame_header h, uint32_t payload_crc) {
  h.crc = 0;
  return dd_crc32c(payload_crc, &h, sizeof h);
}

/* ------------------------------------------------------------- paths */

void dd_seg_path(char *buf, size_t cap, const char *dir, int64_t model_id, uint64_t segment) {
  snprintf(buf, cap, "%s/%lld/%08llu.seg", dir, (long long)model_id, (unsigned long long)segment);
}

static void model_dir(char *buf, size_t cap, const char *dir, int64_t model_id) {
  snprintf(buf, cap, "%s/%lld", dir, (long long)model_id);
}

static int sys_fail(char *err, size_t errcap, const char *what, const char *path) {
  snprintf(err, errcap, "%s %s: %s", what, path, strerror(errno));
  return -1;
}

/* fsync of a directory, so a created or removed entry survives power loss. */
static int sync_dir(const char *path) {
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -1;
  int rc = fsync(fd);
  close(fd);
  return rc;
}

/* Parses a decimal name with an optional suffix; 0 when it is not one. */
static int parse_number(const char *name, const char *suffix, uint64_t *out) {
  const char *p = name;
  uint64_t v = 0;
  if (*p < '0' || *p > '9') return 0;
  for (; *p >= '0' && *p <= '9'; p++) {
    if (v > (UINT64_MAX - 9) / 10) return 0;
    v = v * 10 + (uint64_t)(*p - '0');
  }
  if (strcmp(p, suffix) != 0) return 0;
  *out = v;
  return 1;
}

static int each_entry(const char *path, const char *suffix, dd_seg_id_fn fn, void *arg, char *err,
                      size_t errcap) {
  DIR *d = opendir(path);
  if (d == NULL) {
    if (errno == ENOENT) return 0;
    return sys_fail(err, errcap, "listing", path);
  }
  int rc = 0;
  struct dirent *e;
  while (rc == 0 && (e = readdir(d)) != NULL) {
    uint64_t v;
    if (parse_number(e->d_name, suffix, &v) && v <= INT64_MAX) rc = fn(arg, (int64_t)v);
  }
  closedir(d);
  return rc;
}

int dd_seg_each_model(const char *dir, dd_seg_id_fn fn, void *arg, char *err, size_t errcap) {
  return each_entry(dir, "", fn, arg, err, errcap);
}

int dd_seg_each_segment(const char *dir, int64_t model_id, dd_seg_id_fn fn, void *arg, char *err,
                        size_t errcap) {
  char path[PATH_MAX];
  model_dir(path, sizeof path, dir, model_id);
  return each_entry(path, ".seg", fn, arg, err, errcap);
}

int64_t dd_seg_size(const char *dir, int64_t model_id, uint64_t segment) {
  char path[PATH_MAX];
  dd_seg_path(path, sizeof path, dir, model_id, segment);
  struct stat st;
  return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

int dd_seg_truncate(const char *dir, int64_t model_id, uint64_t segment, uint64_t size, char *err,
                    size_t errcap) {
  char path[PATH_MAX];
  dd_seg_path(path, sizeof path, dir, model_id, segment);
  if (truncate(path, (off_t)size) != 0) return sys_fail(err, errcap, "truncating", path);
  return 0;
}

int dd_seg_unlink(const char *dir, int64_t model_id, uint64_t segment, char *err, size_t errcap) {
  char path[PATH_MAX];
  dd_seg_path(path, sizeof path, dir, model_id, segment);
  if (unlink(path) != 0 && errno != ENOENT) return sys_fail(err, errcap, "removing", path);
  return 0;
}

typedef struct rm_args {
  const char *dir;
  int64_t model_id;
  char *err;
  size_t errcap;
} rm_args;

static int rm_one(void *arg, int64_t seg) {
  rm_args *a = arg;
  return dd_seg_unlink(a->dir, a->model_id, (uint64_t)seg, a->err, a->errcap);
}

int dd_seg_remove_model(const char *dir, int64_t model_id, char *err, size_t errcap) {
  rm_args a = {dir, model_id, err, errcap};
  if (dd_seg_each_segment(dir, model_id, rm_one, &a, err, errcap) != 0) return -1;
  char path[PATH_MAX];
  model_dir(path, sizeof path, dir, model_id);
  if (rmdir(path) != 0 && errno != ENOENT) return sys_fail(err, errcap, "removing", path);
  return 0;
}

/* ------------------------------------------------------------- writer */

/* The append position of one model: its current segment and size, the
 * open descriptor of fd_segment, and where the group in progress began. */
typedef struct seg_writer {
  int64_t model_id;
  uint64_t segment, size; /* size: where the last frame (with its padding) ends */
  int fd;
  int fd_direct; /* fd has O_DIRECT set */
  uint64_t fd_segment;
  int touched;
  uint64_t start_segment, start_size;
} seg_writer;

typedef struct planned {
  size_t writer;
  uint64_t segment, offset;
  frame_header h;
  const void *bytes;
  int direct;   /* large: aligned, padded, written with O_DIRECT where possible */
  int in_place; /* direct, framed in the room around bytes (dd_seglog_plan) */
} planned;

struct dd_seglog {
  char *dir;
  int full_sync;
  uint64_t segment_bytes;
  seg_writer *w;
  size_t n_w, cap_w;
  planned *p;
  size_t n_p, cap_p;
  int direct;           /* large frames go direct (until the file system refuses) */
  unsigned char *stage; /* DIRECT_ALIGN-aligned staging of direct frames */
  size_t stage_cap;
};

const char *dd_seglog_dir(const dd_seglog *l) { return l->dir; }

int dd_seglog_open(const char *dir, int full_sync, uint64_t segment_bytes, dd_seglog **out,
                   char *err, size_t errcap) {
  *out = NULL;
  if (mkdir(dir, 0755) != 0 && errno != EEXIST) return sys_fail(err, errcap, "creating", dir);
  dd_seglog *l = calloc(1, sizeof *l);
  if (l == NULL || (l->dir = strdup(dir)) == NULL) {
    free(l);
    snprintf(err, errcap, "segments: out of memory");
    return -1;
  }
  l->full_sync = full_sync;
  l->segment_bytes = segment_bytes ? segment_bytes : 1;
  l->direct = 1;
  *out = l;
  return 0;
}

void dd_seglog_close(dd_seglog *l) {
  if (l == NULL) return;
  for (size_t i = 0; i < l->n_w; i++)
    if (l->w[i].fd >= 0) close(l->w[i].fd);
  free(l->w);
  free(l->p);
  free(l->stage);
  free(l->dir);
  free(l);
}

typedef struct max_args {
  uint64_t max;
} max_args;

static int note_max(void *arg, int64_t seg) {
  max_args *a = arg;
  if ((uint64_t)seg > a->max) a->max = (uint64_t)seg;
  return 0;
}

/* The model's writer, set up from its directory the first time. */
static int writer_of(dd_seglog *l, int64_t model_id, size_t *idx, char *err, size_t errcap) {
  for (size_t i = 0; i < l->n_w; i++)
    if (l->w[i].model_id == model_id) {
      *idx = i;
      return 0;
    }
  if (l->n_w == l->cap_w) {
    size_t cap = l->cap_w ? 2 * l->cap_w : 16;
    seg_writer *w = realloc(l->w, cap * sizeof *w);
    if (w == NULL) {
      snprintf(err, errcap, "segments: out of memory");
      return -1;
    }
    l->w = w;
    l->cap_w = cap;
  }
  char path[PATH_MAX];
  model_dir(path, sizeof path, l->dir, model_id);
  if (mkdir(path, 0755) == 0) {
    if (l->full_sync && sync_dir(l->dir) != 0) return sys_fail(err, errcap, "syncing", l->dir);
  } else if (errno != EEXIST) {
    return sys_fail(err, errcap, "creating", path);
  }
  max_args m = {0};
  if (dd_seg_each_segment(l->dir, model_id, note_max, &m, err, errcap) != 0) return -1;
  seg_writer *w = &l->w[l->n_w];
  memset(w, 0, sizeof *w);
  w->model_id = model_id;
  w->fd = -1;
  if (m.max == 0) {
    w->segment = 1;
    w->size = 0;
  } else {
    int64_t size = dd_seg_size(l->dir, model_id, m.max);
    if (size < 0) {
      dd_seg_path(path, sizeof path, l->dir, model_id, m.max);
      return sys_fail(err, errcap, "reading the size of", path);
    }
    w->segment = m.max;
    w->size = (uint64_t)size;
  }
  *idx = l->n_w++;
  return 0;
}

static uint64_t align_up(uint64_t v) {
  return (v + DIRECT_ALIGN - 1) & ~(uint64_t)(DIRECT_ALIGN - 1);
}

uint64_t dd_seg_frame_end(uint64_t offset, uint32_t len) {
  uint64_t end = offset + DD_SEG_HEADER_BYTES + len;
  return len >= DIRECT_MIN_PAYLOAD ? align_up(end) : end;
}

int dd_seglog_plan(dd_seglog *l, int64_t model_id, uint64_t seq, int kind, int64_t arrival_ns,
                   const void *bytes, uint32_t len, uint32_t payload_crc, int in_place,
                   uint64_t *segment, uint64_t *offset, char *err, size_t errcap) {
  if (len > DD_SEG_MAX_PAYLOAD) {
    snprintf(err, errcap, "record of %u bytes: too large for a segment", len);
    return -1;
  }
  size_t wi;
  if (writer_of(l, model_id, &wi, err, errcap) != 0) return -1;
  if (l->n_p == l->cap_p) {
    size_t cap = l->cap_p ? 2 * l->cap_p : 256;
    planned *p = realloc(l->p, cap * sizeof *p);
    if (p == NULL) {
      snprintf(err, errcap, "segments: out of memory");
      return -1;
    }
    l->p = p;
    l->cap_p = cap;
  }
  seg_writer *w = &l->w[wi];
  if (!w->touched) {
    w->touched = 1;
    w->start_segment = w->segment;
    w->start_size = w->size;
  }
  if (w->size >= l->segment_bytes) { /* roll over */
    w->segment++;
    w->size = 0;
  }
  planned *p = &l->p[l->n_p++];
  p->writer = wi;
  p->segment = w->segment;
  p->direct = len >= DIRECT_MIN_PAYLOAD;
  p->in_place = p->direct && in_place;
  p->offset = p->direct ? align_up(w->size) : w->size;
  p->h = (frame_header){FRAME_MAGIC, len, seq, arrival_ns, (uint32_t)kind, 0};
  p->h.crc = frame_crc(p->h, payload_crc);
  p->bytes = bytes;
  w->size = p->offset + DD_SEG_HEADER_BYTES + len;
  if (p->direct) w->size = align_up(w->size); /* the padding is written with the frame */
  *segment = p->segment;
  *offset = p->offset;
  return 0;
}

/* The descriptor of the writer's segment `segment`, opening (creating) it
 * and closing the previous one (synced first when full_sync). */
static int writer_fd(dd_seglog *l, seg_writer *w, uint64_t segment, char *err, size_t errcap) {
  if (w->fd >= 0 && w->fd_segment == segment) return w->fd;
  char path[PATH_MAX];
  if (w->fd >= 0) {
    if (l->full_sync && fdatasync(w->fd) != 0) {
      dd_seg_path(path, sizeof path, l->dir, w->model_id, w->fd_segment);
      return sys_fail(err, errcap, "syncing", path);
    }
    close(w->fd);
    w->fd = -1;
  }
  dd_seg_path(path, sizeof path, l->dir, w->model_id, segment);
  struct stat st;
  int created = stat(path, &st) != 0;
  int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return sys_fail(err, errcap, "opening", path);
  if (created && l->full_sync) {
    model_dir(path, sizeof path, l->dir, w->model_id);
    if (sync_dir(path) != 0) {
      close(fd);
      return sys_fail(err, errcap, "syncing", path);
    }
  }
  w->fd = fd;
  w->fd_direct = 0;
  w->fd_segment = segment;
  return fd;
}

/* Sets or clears O_DIRECT on the writer's descriptor. */
static int set_direct(seg_writer *w, int on) {
  if (w->fd_direct == on) return 0;
  int flags = fcntl(w->fd, F_GETFL);
  if (flags < 0 || fcntl(w->fd, F_SETFL, on ? flags | O_DIRECT : flags & ~O_DIRECT) != 0)
    return -1;
  w->fd_direct = on;
  return 0;
}

static int write_run(int fd, struct iovec *iov, int n, uint64_t offset) {
  while (n > 0) {
    ssize_t got = pwritev(fd, iov, n, (off_t)offset);
    if (got < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    offset += (uint64_t)got;
    while (n > 0 && (size_t)got >= iov->iov_len) {
      got -= (ssize_t)iov->iov_len;
      iov++;
      n--;
    }
    if (n > 0) {
      iov->iov_base = (char *)iov->iov_base + got;
      iov->iov_len -= (size_t)got;
    }
  }
  return 0;
}

static int write_fail(dd_seglog *l, const seg_writer *w, uint64_t segment, char *err,
                      size_t errcap) {
  char path[PATH_MAX];
  dd_seg_path(path, sizeof path, l->dir, w->model_id, segment);
  return sys_fail(err, errcap, "writing", path);
}

/* Writes the buffered frames from p[i] on that continue its run (one
 * writer, one segment, contiguous): the index after them, or -1. */
static long flush_buffered(dd_seglog *l, size_t i, char *err, size_t errcap) {
  struct iovec iov[MAX_IOV];
  planned *first = &l->p[i];
  seg_writer *w = &l->w[first->writer];
  int n = 0;
  size_t j = i;
  while (j < l->n_p && n + 2 <= MAX_IOV && !l->p[j].direct && l->p[j].writer == first->writer &&
         l->p[j].segment == first->segment) {
    iov[n++] = (struct iovec){&l->p[j].h, sizeof l->p[j].h};
    iov[n++] = (struct iovec){(void *)l->p[j].bytes, l->p[j].h.len};
    j++;
  }
  if (set_direct(w, 0) != 0 || write_run(w->fd, iov, n, first->offset) != 0)
    return write_fail(l, w, first->segment, err, errcap);
  return (long)j;
}

static uint64_t padded(const planned *p) {
  return align_up(DD_SEG_HEADER_BYTES + (uint64_t)p->h.len);
}

/* Writes the direct frames from p[i] on that continue its run (each starts
 * where the previous one's padding ends), up to DIRECT_STAGE_BYTES (at
 * least one frame) and MAX_IOV frames, with one O_DIRECT pwritev; buffered
 * when the file system refuses. A frame planned in place is framed in the
 * room around its payload (the header before it, zeros after it) and
 * written from there; the others are copied, framed, into the staging
 * buffer. The index after them, or -1. */
static long flush_direct(dd_seglog *l, size_t i, char *err, size_t errcap) {
  planned *first = &l->p[i];
  seg_writer *w = &l->w[first->writer];
  size_t j = i;
  uint64_t total = 0, staged = 0;
  while (j < l->n_p && j - i < MAX_IOV && l->p[j].direct && l->p[j].writer == first->writer &&
         l->p[j].segment == first->segment && l->p[j].offset == first->offset + total &&
         (j == i || total + padded(&l->p[j]) <= DIRECT_STAGE_BYTES)) {
    if (!l->p[j].in_place) staged += padded(&l->p[j]);
    total += padded(&l->p[j++]);
  }
  if (staged > l->stage_cap) {
    void *b = NULL;
    if (posix_memalign(&b, DIRECT_ALIGN, (size_t)staged) != 0) {
      snprintf(err, errcap, "segments: out of memory staging %llu bytes",
               (unsigned long long)staged);
      return -1;
    }
    free(l->stage);
    l->stage = b;
    l->stage_cap = (size_t)staged;
  }
  struct iovec iov[MAX_IOV], again[MAX_IOV];
  int n = 0;
  unsigned char *at = l->stage;
  for (size_t k = i; k < j; k++) {
    const planned *p = &l->p[k];
    size_t used = DD_SEG_HEADER_BYTES + p->h.len, pad = (size_t)padded(p);
    unsigned char *frame;
    if (p->in_place) { /* the room around the payload is ours (dd_seglog_plan) */
      frame = (unsigned char *)(uintptr_t)p->bytes - DD_SEG_HEADER_BYTES;
    } else {
      frame = at;
      at += pad;
      memcpy(frame + DD_SEG_HEADER_BYTES, p->bytes, p->h.len);
    }
    memcpy(frame, &p->h, sizeof p->h);
    memset(frame + used, 0, pad - used);
    if (n > 0 && (unsigned char *)iov[n - 1].iov_base + iov[n - 1].iov_len == frame)
      iov[n - 1].iov_len += pad;
    else
      iov[n++] = (struct iovec){frame, pad};
  }
  memcpy(again, iov, (size_t)n * sizeof *iov); /* write_run advances iov */
  if (l->direct) {
    if (set_direct(w, 1) == 0 && write_run(w->fd, iov, n, first->offset) == 0) return (long)j;
    if (errno != EINVAL) return write_fail(l, w, first->segment, err, errcap);
    /* No O_DIRECT here: the same bytes through the page cache, and every
     * later frame too. */
    l->direct = 0;
  }
  if (set_direct(w, 0) != 0 || write_run(w->fd, again, n, first->offset) != 0)
    return write_fail(l, w, first->segment, err, errcap);
  return (long)j;
}

int dd_seglog_flush(dd_seglog *l, char *err, size_t errcap) {
  size_t i = 0;
  while (i < l->n_p) {
    planned *first = &l->p[i];
    seg_writer *w = &l->w[first->writer];
    if (writer_fd(l, w, first->segment, err, errcap) < 0) return -1;
    long j = first->direct ? flush_direct(l, i, err, errcap) : flush_buffered(l, i, err, errcap);
    if (j < 0) return -1;
    i = (size_t)j;
  }
  if (l->full_sync)
    for (size_t k = 0; k < l->n_w; k++) {
      seg_writer *w = &l->w[k];
      if (w->touched && w->fd >= 0 && fdatasync(w->fd) != 0) {
        char path[PATH_MAX];
        dd_seg_path(path, sizeof path, l->dir, w->model_id, w->fd_segment);
        return sys_fail(err, errcap, "syncing", path);
      }
    }
  return 0;
}

void dd_seglog_commit(dd_seglog *l) {
  for (size_t k = 0; k < l->n_w; k++) l->w[k].touched = 0;
  l->n_p = 0;
}

void dd_seglog_abort(dd_seglog *l) {
  char err[8];
  for (size_t k = 0; k < l->n_w; k++) {
    seg_writer *w = &l->w[k];
    if (!w->touched) continue;
    if (w->fd >= 0 && w->fd_segment != w->start_segment) {
      close(w->fd);
      w->fd = -1;
    }
    for (uint64_t s = w->start_segment + 1; s <= w->segment; s++)
      dd_seg_unlink(l->dir, w->model_id, s, err, sizeof err);
    if (dd_seg_size(l->dir, w->model_id, w->start_segment) > (int64_t)w->start_size)
      dd_seg_truncate(l->dir, w->model_id, w->start_segment, w->start_size, err, sizeof err);
    w->segment = w->start_segment;
    w->size = w->start_size;
    w->touched = 0;
  }
  l->n_p = 0;
}

static void forget_writer(dd_seglog *l, size_t k) {
  if (l->w[k].fd >= 0) close(l->w[k].fd);
  l->w[k] = l->w[--l->n_w];
}

int dd_seglog_drop_model(dd_seglog *l, int64_t model_id, char *err, size_t errcap) {
  for (size_t k = 0; k < l->n_w; k++)
    if (l->w[k].model_id == model_id) {
      forget_writer(l, k);
      break;
    }
  if (dd_seg_remove_model(l->dir, model_id, err, errcap) != 0) return -1;
  if (l->full_sync) sync_dir(l->dir);
  return 0;
}

int dd_seglog_drop_segment(dd_seglog *l, int64_t model_id, uint64_t segment, char *err,
                           size_t errcap) {
  for (size_t k = 0; k < l->n_w; k++) {
    seg_writer *w = &l->w[k];
    if (w->model_id != model_id || w->segment != segment) continue;
    /* The current segment: the next append starts the following one. */
    if (w->fd >= 0) close(w->fd);
    w->fd = -1;
    w->segment = segment + 1;
    w->size = 0;
  }
  return dd_seg_unlink(l->dir, model_id, segment, err, errcap);
}

/* ------------------------------------------------------------- reader */

void dd_seg_reader_init(dd_seg_reader *r, const char *dir) {
  memset(r, 0, sizeof *r);
  r->dir = dir;
  r->fd = -1;
}

void dd_seg_reader_free(dd_seg_reader *r) {
  if (r->fd >= 0) close(r->fd);
  free(r->buf);
  r->fd = -1;
  r->buf = NULL;
  r->cap = 0;
}

int dd_seg_read(dd_seg_reader *r, int64_t model_id, uint64_t segment, uint64_t offset,
                uint32_t len, uint64_t seq, const void **payload, char *err, size_t errcap) {
  char path[PATH_MAX];
  dd_seg_path(path, sizeof path, r->dir, model_id, segment);
  if (r->fd < 0 || r->model_id != model_id || r->segment != segment) {
    if (r->fd >= 0) close(r->fd);
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
      int missing = errno == ENOENT;
      sys_fail(err, errcap, "opening", path);
      return missing ? DD_SEG_READ_MISSING : DD_SEG_READ_IO;
    }
    r->model_id = model_id;
    r->segment = segment;
  }
  size_t need = DD_SEG_HEADER_BYTES + (size_t)len;
  if (need > r->cap) {
    unsigned char *b = realloc(r->buf, need);
    if (b == NULL) {
      snprintf(err, errcap, "segments: out of memory reading %zu bytes", need);
      return DD_SEG_READ_IO;
    }
    r->buf = b;
    r->cap = need;
  }
  size_t got = 0;
  while (got < need) {
    ssize_t n = pread(r->fd, r->buf + got, need - got, (off_t)(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      sys_fail(err, errcap, "reading", path);
      return DD_SEG_READ_IO;
    }
    if (n == 0) break;
    got += (size_t)n;
  }
  if (got < need) {
    snprintf(err, errcap, "segment %s offset %llu: torn record (%zu of %zu bytes)", path,
             (unsigned long long)offset, got, need);
    return DD_SEG_READ_BAD;
  }
  frame_header h;
  memcpy(&h, r->buf, sizeof h);
  const char *why = NULL;
  if (h.magic != FRAME_MAGIC)
    why = "no frame header";
  else if (h.len != len)
    why = "length differs from the index";
  else if (h.seq != seq)
    why = "sequence differs from the index";
  else if (frame_crc(h, dd_crc32c(0, r->buf + sizeof h, len)) != h.crc)
    why = "CRC32C mismatch";
  if (why != NULL) {
    snprintf(err, errcap, "segment %s offset %llu (sequence %llu): %s", path,
             (unsigned long long)offset, (unsigned long long)seq, why);
    return DD_SEG_READ_BAD;
  }
  *payload = r->buf + sizeof h;
  return DD_SEG_READ_OK;
}
