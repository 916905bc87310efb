/*
 * checkpoint_file.h - the checkpoint file: a header, one section per model
 * (opaque bytes, checkpoint_model.h) and a trailer, each guarded by a
 * CRC-32C, written beside the database and published atomically.
 *
 * Layout (little-endian):
 *   header  "DRIFTCKP", u32 format version, u32 0, i64 created (Unix ns),
 *           u64 the log's last sequence when the checkpoint began, u32 CRC
 *           of the 32 bytes before it, u32 0;
 *   section u32 "MSEC", u32 CRC of the payload, u64 payload length, payload,
 *           zero bytes up to a multiple of 8 (so every payload starts at a
 *           multiple of 8 in the file, and what a payload aligns within it
 *           is aligned in memory when the file is mapped);
 *   trailer u32 "DEND", u32 CRC of the 16 bytes after it, u64 sections,
 *           u64 bytes before the trailer.
 * A file is valid only whole: a missing trailer (a writer killed
 * mid-way), a CRC mismatch, another version or bytes after the trailer make
 * dd_ckpt_file_open refuse it, saying why.
 *
 * Publishing: the writer writes PATH.tmp, fsyncs it, renames PATH (the
 * previous checkpoint, if any) to PATH.prev, renames PATH.tmp to PATH and
 * fsyncs the directory. A kill at any point leaves PATH or PATH.prev (or
 * both) whole: the reader tries PATH, then PATH.prev.
 *
 * Reading maps the file privately: once verified, the mapping is writable
 * (pages are copied only where written, never back to the file) and
 * shared, counted, by whoever keeps pointers into it (windows restored
 * without copying their kept values); it is unmapped when the last holder
 * lets go. The checkpointer never rewrites a published file in place (it
 * renames new ones over it), so a mapping stays valid while held; the disk
 * space of a file renamed away is freed when its mapping goes.
 *
 * Knows files and bytes only: never the engine, the store or the models.
 * Never prints: failures come back in err.
 */
#ifndef DRIFTD_CHECKPOINT_FILE_H
#define DRIFTD_CHECKPOINT_FILE_H

#include <stddef.h>
#include <stdint.h>

/* 2: sections hold the windows' multivariate samples and the class
 * probabilities; 3: sections start at multiples of 8. Files of another
 * version are refused: a whole-log replay. */
#define DD_CKPT_FORMAT_VERSION 3

typedef struct dd_ckpt_writer dd_ckpt_writer;

/* Starts PATH.tmp (truncating a leftover one). NULL with err on failure. */
dd_ckpt_writer *dd_ckpt_writer_open(const char *path, int64_t created_ns, uint64_t log_seq,
                                    char *err, size_t errcap);
/* Appends one section. 0, or -1 with err (the writer must then be
 * aborted). */
int dd_ckpt_writer_section(dd_ckpt_writer *w, const void *bytes, size_t len, char *err,
                           size_t errcap);
/* Writes the trailer, makes the file durable and publishes it as PATH;
 * frees the writer either way. 0, or -1 with err (PATH is then unchanged
 * or PATH.prev holds the previous checkpoint). *bytes gets the file size. */
int dd_ckpt_writer_publish(dd_ckpt_writer *w, uint64_t *bytes, char *err, size_t errcap);
/* Removes PATH.tmp and frees the writer. Accepts NULL. */
void dd_ckpt_writer_abort(dd_ckpt_writer *w);

/* The mapping of a checkpoint file, counted by its holders. hold and
 * release take the mapping as void * so they can serve as callbacks. */
typedef struct dd_ckpt_map dd_ckpt_map;
void dd_ckpt_map_hold(void *map);
void dd_ckpt_map_release(void *map); /* the last release unmaps */
int dd_ckpt_map_holders(const dd_ckpt_map *map);

/* A checkpoint read and verified whole, mapped privately. */
typedef struct dd_ckpt_file {
  dd_ckpt_map *map; /* the file's own reference; dd_ckpt_file_close drops it */
  void *base;
  size_t len;
  int writable; /* the mapping could be made writable: sections may be lent */
  int64_t created_ns;
  uint64_t log_seq;
  size_t n_sections;
  uint8_t **sections; /* into the mapping, each at a multiple of 8 from its start */
  size_t *lens;
} dd_ckpt_file;

/* Opens and verifies path. 0; 1 when there is no such file; -1 with err
 * when it is unreadable, partial or corrupt. */
int dd_ckpt_file_open(const char *path, dd_ckpt_file *out, char *err, size_t errcap);
void dd_ckpt_file_close(dd_ckpt_file *f);

#endif /* DRIFTD_CHECKPOINT_FILE_H */
