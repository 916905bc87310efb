/*
 * log_segments.h - the acknowledged log's payload bytes as append-only
 * segment files, one directory per model: <store>.log/<model row id>/
 * <segment number>.seg. Each record is a 32-byte frame header (magic,
 * payload length, sequence, arrival time, kind, CRC32C of the payload and
 * the header) followed by the payload. Records of 64 KiB or more start at
 * a multiple of 4096 bytes and are written with O_DIRECT, zero-padded to
 * the next multiple (dd_seg_frame_end), from the caller's buffer when it has
 * room for the frame around the payload; readers go by the index's offsets.
 *
 * The store (store_sqlite.c) keeps the index (which segment and offset hold
 * which sequence) in SQLite and drives this module from its one writer
 * thread: during a group's transaction it plans each record (dd_seglog_plan
 * gives the segment and offset the record will take), before COMMIT it
 * writes the planned frames (dd_seglog_flush: pwritev per run of one
 * segment, one O_DIRECT write per run of large frames, fdatasync per
 * touched file when full_sync), and after the
 * transaction either forgets the group's undo state (dd_seglog_commit) or
 * cuts every touched segment back to where the group began
 * (dd_seglog_abort). Only the writer thread calls the dd_seglog_* writer
 * functions. Readers use a dd_seg_reader of their own, on any thread.
 *
 * No SQLite, no printing: failures come back as -1 with a message.
 */
#ifndef DRIFTD_LOG_SEGMENTS_H
#define DRIFTD_LOG_SEGMENTS_H

#include <stddef.h>
#include <stdint.h>

#define DD_SEG_HEADER_BYTES 32u
#define DD_SEG_DIRECT_ALIGN 4096u /* large frames' alignment and padding */
#define DD_SEG_MAX_PAYLOAD 0xffffffe0u

typedef struct dd_seglog dd_seglog;

/* Opens (creating when absent) the segment directory dir. segment_bytes:
 * a segment is closed for appends once it holds this many bytes. */
int dd_seglog_open(const char *dir, int full_sync, uint64_t segment_bytes, dd_seglog **out,
                   char *err, size_t errcap);
void dd_seglog_close(dd_seglog *l);
const char *dd_seglog_dir(const dd_seglog *l);

/* Plans one record of model_id in the current group: *segment and *offset
 * get where its frame will be written. payload_crc: dd_crc32c(0, bytes,
 * len), computed by the caller (on the appender's thread). bytes must stay
 * valid until dd_seglog_flush returns. in_place: bytes - DD_SEG_HEADER_BYTES
 * is a multiple of DD_SEG_DIRECT_ALIGN, and the header's room before bytes
 * and the bytes after bytes + len up to the next such multiple may be
 * overwritten until dd_seglog_flush returns: a large frame is then laid out
 * and written there, not copied (the payload itself is only read). */
int dd_seglog_plan(dd_seglog *l, int64_t model_id, uint64_t seq, int kind, int64_t arrival_ns,
                   const void *bytes, uint32_t len, uint32_t payload_crc, int in_place,
                   uint64_t *segment, uint64_t *offset, char *err, size_t errcap);
/* Writes every planned frame (and fdatasyncs when full_sync). */
int dd_seglog_flush(dd_seglog *l, char *err, size_t errcap);
/* The group committed: forgets its undo state. */
void dd_seglog_commit(dd_seglog *l);
/* The group did not commit: truncates each touched segment to its size at
 * the group's start and removes segments the group created. */
void dd_seglog_abort(dd_seglog *l);

/* Removes every segment of the model (after its deletion committed). */
int dd_seglog_drop_model(dd_seglog *l, int64_t model_id, char *err, size_t errcap);
/* Removes one segment no index row refers to any more (after pruning). */
int dd_seglog_drop_segment(dd_seglog *l, int64_t model_id, uint64_t segment, char *err,
                           size_t errcap);

/* ------------------------------------------------------ start-up checks */

/* Calls fn for each model directory under dir (its row id). */
typedef int (*dd_seg_id_fn)(void *arg, int64_t id);
int dd_seg_each_model(const char *dir, dd_seg_id_fn fn, void *arg, char *err, size_t errcap);
/* Calls fn for each segment file of the model (its number, any order). */
int dd_seg_each_segment(const char *dir, int64_t model_id, dd_seg_id_fn fn, void *arg, char *err,
                        size_t errcap);
/* Where the frame at offset with a payload of len bytes ends in its file:
 * a large frame (written directly, log_segments.c) may be followed by zero
 * padding up to the next multiple of 4096, which belongs to it. */
uint64_t dd_seg_frame_end(uint64_t offset, uint32_t len);

/* Size of a segment file; -1 when absent or unreadable. */
int64_t dd_seg_size(const char *dir, int64_t model_id, uint64_t segment);
int dd_seg_truncate(const char *dir, int64_t model_id, uint64_t segment, uint64_t size, char *err,
                    size_t errcap);
int dd_seg_unlink(const char *dir, int64_t model_id, uint64_t segment, char *err, size_t errcap);
/* Removes a model's whole directory. */
int dd_seg_remove_model(const char *dir, int64_t model_id, char *err, size_t errcap);
/* "<dir>/<model_id>/<segment>.seg" into buf. */
void dd_seg_path(char *buf, size_t cap, const char *dir, int64_t model_id, uint64_t segment);

/* --------------------------------------------------------------- reading */

typedef struct dd_seg_reader {
  const char *dir;
  int fd;
  int64_t model_id;
  uint64_t segment;
  unsigned char *buf;
  size_t cap;
} dd_seg_reader;

enum { DD_SEG_READ_OK = 0, DD_SEG_READ_IO = -1, DD_SEG_READ_MISSING = -2, DD_SEG_READ_BAD = -3 };

void dd_seg_reader_init(dd_seg_reader *r, const char *dir);
void dd_seg_reader_free(dd_seg_reader *r);
/* Reads and checks the frame at (segment, offset): its magic, length,
 * sequence and CRC32C must match. *payload points into the reader's buffer
 * until the next read. Returns DD_SEG_READ_OK, _MISSING (no such file),
 * _BAD (torn or corrupt frame: the message names segment and offset) or
 * _IO. */
int dd_seg_read(dd_seg_reader *r, int64_t model_id, uint64_t segment, uint64_t offset,
                uint32_t len, uint64_t seq, const void **payload, char *err, size_t errcap);

#endif /* DRIFTD_LOG_SEGMENTS_H */
