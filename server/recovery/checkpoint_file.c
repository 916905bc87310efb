/*
 * checkpoint_file.c - writing, publishing and verifying checkpoint files,
 * and the shared mapping a verified file is read through
 * (checkpoint_file.h).
 */
#include "recovery/checkpoint_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/crc32c.h"

#define MAGIC_FILE "DRIFTCKP"
#define MAGIC_SECTION 0x4345534du /* "MSEC" */
#define MAGIC_END 0x444e4544u     /* "DEND" */
#define HEADER_BYTES 40 /* 36 used, padded so that sections start at multiples of 8 */
#define SECTION_HEAD 16
#define TRAILER_BYTES 24

/* Zero bytes after a section's payload, up to a multiple of 8. */
static size_t pad8(uint64_t len) {
  return (size_t)((8 - len % 8) % 8);
}

struct dd_ckpt_map {
  void *base;
  size_t len;
  atomic_int refs;
};

void dd_ckpt_map_hold(void *map) {
  atomic_fetch_add(&((dd_ckpt_map *)map)->refs, 1);
}

int dd_ckpt_map_holders(const dd_ckpt_map *map) {
  return atomic_load(&((dd_ckpt_map *)map)->refs);
}

void dd_ckpt_map_release(void *map) {
  dd_ckpt_map *m = map;
  if (atomic_fetch_sub(&m->refs, 1) != 1) return;
  munmap(m->base, m->len);
  free(m);
}

struct dd_ckpt_writer {
  char path[PATH_MAX];
  char tmp[PATH_MAX + 8];
  FILE *f;
  uint64_t bytes, sections;
};

static void le32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void le64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t rd32(const uint8_t *p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) v |= (uint32_t)p[i] << (8 * i);
  return v;
}
static uint64_t rd64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
  return v;
}

static int put(dd_ckpt_writer *w, const void *bytes, size_t n, char *err, size_t errcap) {
  if (n > 0 && fwrite(bytes, 1, n, w->f) != n) {
    snprintf(err, errcap, "%s: write: %s", w->tmp, strerror(errno));
    return -1;
  }
  w->bytes += n;
  return 0;
}

dd_ckpt_writer *dd_ckpt_writer_open(const char *path, int64_t created_ns, uint64_t log_seq,
                                    char *err, size_t errcap) {
  dd_ckpt_writer *w = calloc(1, sizeof *w);
  if (!w) {
    snprintf(err, errcap, "out of memory");
    return NULL;
  }
  snprintf(w->path, sizeof w->path, "%s", path);
  snprintf(w->tmp, sizeof w->tmp, "%s.tmp", path);
  if (!(w->f = fopen(w->tmp, "wb"))) {
    snprintf(err, errcap, "%s: %s", w->tmp, strerror(errno));
    free(w);
    return NULL;
  }
  setvbuf(w->f, NULL, _IOFBF, 1 << 20);
  uint8_t h[HEADER_BYTES] = {0};
  memcpy(h, MAGIC_FILE, 8);
  le32(h + 8, DD_CKPT_FORMAT_VERSION);
  le64(h + 16, (uint64_t)created_ns);
  le64(h + 24, log_seq);
  le32(h + 32, dd_crc32c(0, h, 32));
  if (put(w, h, sizeof h, err, errcap)) {
    dd_ckpt_writer_abort(w);
    return NULL;
  }
  return w;
}

int dd_ckpt_writer_section(dd_ckpt_writer *w, const void *bytes, size_t len, char *err,
                           size_t errcap) {
  uint8_t h[SECTION_HEAD];
  le32(h, MAGIC_SECTION);
  le32(h + 4, dd_crc32c(0, bytes, len));
  le64(h + 8, len);
  static const uint8_t zeros[8] = {0};
  if (put(w, h, sizeof h, err, errcap) || put(w, bytes, len, err, errcap) ||
      put(w, zeros, pad8(len), err, errcap))
    return -1;
  w->sections++;
  return 0;
}

/* fsync of the directory holding path, so the renames are durable. */
static int sync_dir(const char *path) {
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash == dir)
    slash[1] = 0;
  else if (slash)
    *slash = 0;
  else
    snprintf(dir, sizeof dir, ".");
  int fd = open(dir, O_RDONLY);
  if (fd < 0) return -1;
  int rc = fsync(fd);
  close(fd);
  return rc;
}

int dd_ckpt_writer_publish(dd_ckpt_writer *w, uint64_t *bytes, char *err, size_t errcap) {
  uint8_t t[TRAILER_BYTES];
  le32(t, MAGIC_END);
  le64(t + 8, w->sections);
  le64(t + 16, w->bytes);
  le32(t + 4, dd_crc32c(0, t + 8, 16));
  int rc = put(w, t, sizeof t, err, errcap);
  if (rc == 0 && (fflush(w->f) != 0 || fsync(fileno(w->f)) != 0)) {
    snprintf(err, errcap, "%s: flush: %s", w->tmp, strerror(errno));
    rc = -1;
  }
  if (rc) {
    dd_ckpt_writer_abort(w);
    return -1;
  }
  fclose(w->f);
  w->f = NULL;
  char prev[PATH_MAX + 8];
  snprintf(prev, sizeof prev, "%s.prev", w->path);
  if (rename(w->path, prev) != 0 && errno != ENOENT) {
    snprintf(err, errcap, "%s -> %s: %s", w->path, prev, strerror(errno));
    rc = -1;
  } else if (rename(w->tmp, w->path) != 0) {
    snprintf(err, errcap, "%s -> %s: %s", w->tmp, w->path, strerror(errno));
    rc = -1;
  } else if (sync_dir(w->path) != 0) {
    snprintf(err, errcap, "fsync of the directory of %s: %s", w->path, strerror(errno));
    rc = -1;
  }
  if (bytes) *bytes = w->bytes;
  if (rc) unlink(w->tmp);
  free(w);
  return rc;
}

void dd_ckpt_writer_abort(dd_ckpt_writer *w) {
  if (!w) return;
  if (w->f) fclose(w->f);
  unlink(w->tmp);
  free(w);
}

/* ----------------------------------------------------------------- reader */

static int bad(dd_ckpt_file *f, char *err, size_t errcap, const char *path, const char *why) {
  snprintf(err, errcap, "%s: %s", path, why);
  dd_ckpt_file_close(f);
  return -1;
}

/* Walks the sections, checking each CRC, up to the trailer. */
static int verify(dd_ckpt_file *f, const char *path, char *err, size_t errcap) {
  uint8_t *p = f->base;
  size_t at = HEADER_BYTES, cap = 0;
  for (;;) {
    if (f->len - at < 4) return bad(f, err, errcap, path, "partial (no trailer)");
    uint32_t magic = rd32(p + at);
    if (magic == MAGIC_END) break;
    if (magic != MAGIC_SECTION || f->len - at < SECTION_HEAD)
      return bad(f, err, errcap, path, "partial or corrupt (bad section header)");
    uint64_t len = rd64(p + at + 8);
    if (len > f->len - at - SECTION_HEAD || pad8(len) > f->len - at - SECTION_HEAD - len)
      return bad(f, err, errcap, path, "partial (section cut)");
    uint8_t *body = p + at + SECTION_HEAD;
    if (dd_crc32c(0, body, (size_t)len) != rd32(p + at + 4)) {
      char why[96];
      snprintf(why, sizeof why, "corrupt (CRC mismatch in section %zu)", f->n_sections);
      return bad(f, err, errcap, path, why);
    }
    if (f->n_sections == cap) {
      cap = cap ? 2 * cap : 64;
      uint8_t **s = realloc(f->sections, cap * sizeof *s);
      size_t *l = realloc(f->lens, cap * sizeof *l);
      if (s) f->sections = s;
      if (l) f->lens = l;
      if (!s || !l) return bad(f, err, errcap, path, "out of memory");
    }
    f->sections[f->n_sections] = body;
    f->lens[f->n_sections++] = (size_t)len;
    at += SECTION_HEAD + (size_t)len + pad8(len);
  }
  if (f->len - at != TRAILER_BYTES || rd32(p + at + 4) != dd_crc32c(0, p + at + 8, 16) ||
      rd64(p + at + 8) != f->n_sections || rd64(p + at + 16) != at)
    return bad(f, err, errcap, path, "corrupt trailer");
  return 0;
}

int dd_ckpt_file_open(const char *path, dd_ckpt_file *f, char *err, size_t errcap) {
  memset(f, 0, sizeof *f);
  int fd = open(path, O_RDONLY);
  if (fd < 0) {
    if (errno == ENOENT) return 1;
    snprintf(err, errcap, "%s: %s", path, strerror(errno));
    return -1;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    snprintf(err, errcap, "%s: %s", path, strerror(errno));
    close(fd);
    return -1;
  }
  if (st.st_size < HEADER_BYTES + TRAILER_BYTES) {
    close(fd);
    snprintf(err, errcap, "%s: partial (%lld bytes)", path, (long long)st.st_size);
    return -1;
  }
  f->len = (size_t)st.st_size;
  /* Read-only while populated: populating a writable private mapping would
   * copy every page. */
#ifdef MAP_POPULATE /* every page is read: fault them in at once */
  void *base = mmap(NULL, f->len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
#else
  void *base = mmap(NULL, f->len, PROT_READ, MAP_PRIVATE, fd, 0);
#endif
  close(fd);
  if (base == MAP_FAILED) return bad(f, err, errcap, path, strerror(errno));
  if (!(f->map = malloc(sizeof *f->map))) {
    munmap(base, f->len);
    return bad(f, err, errcap, path, "out of memory");
  }
  f->map->base = f->base = base;
  f->map->len = f->len;
  atomic_init(&f->map->refs, 1);
  const uint8_t *h = f->base;
  if (memcmp(h, MAGIC_FILE, 8) != 0 || rd32(h + 32) != dd_crc32c(0, h, 32))
    return bad(f, err, errcap, path, "not a checkpoint, or its header is corrupt");
  if (rd32(h + 8) != DD_CKPT_FORMAT_VERSION) {
    char why[96];
    snprintf(why, sizeof why, "format version %u, this driftd reads %d", rd32(h + 8),
             DD_CKPT_FORMAT_VERSION);
    return bad(f, err, errcap, path, why);
  }
  f->created_ns = (int64_t)rd64(h + 16);
  f->log_seq = rd64(h + 24);
  if (verify(f, path, err, errcap)) return -1;
  /* Private and now writable: pages are copied only where written. */
  f->writable = mprotect(f->base, f->len, PROT_READ | PROT_WRITE) == 0;
  return 0;
}

void dd_ckpt_file_close(dd_ckpt_file *f) {
  if (f->map) dd_ckpt_map_release(f->map);
  free(f->sections);
  free(f->lens);
  memset(f, 0, sizeof *f);
}
