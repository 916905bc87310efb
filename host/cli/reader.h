/*
 * reader.h - tables read from files in chunks of rows, whatever the format.
 *
 * A reader streams a file with a header of column names through a chunk of
 * at most chunk_rows rows at a time, so files larger than memory pass
 * through. Text formats (CSV) hand out NUL-terminated cells, binary formats
 * (.npy) hand out float32 values; the caller converts either into engine
 * batches (batch.c). Readers print their own errors, naming file, line and
 * column, and never decide what a column means.
 */
#ifndef DRIFT_CLI_READER_H
#define DRIFT_CLI_READER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* One chunk of rows. Exactly one of the two layouts is filled. */
typedef struct table_chunk {
  size_t n_rows;
  /* Text layout, row-major: the cell (row r, column c) is the NUL-terminated
   * string text + cell[r * n_columns + c]; quoted[...] says whether it was
   * written in quotes; line[r] is the 1-based line where row r starts. */
  const char *text;
  const uint32_t *cell;
  const unsigned char *quoted;
  const uint64_t *line;
  /* Binary layout, column-major: column c is values + c * n_rows. */
  const float *values;
  uint64_t first_row; /* 0-based index of the chunk's first data row */
} table_chunk;

typedef struct reader reader;

/* What each format implements. Each returns a CLI_* status (0 = success);
 * next returns a chunk with n_rows 0 at the end of the file. */
typedef struct reader_ops {
  const char *format; /* "csv", "npy" */
  int (*next)(reader *r, table_chunk *chunk);
  int (*rewind)(reader *r);
  void (*close)(reader *r);
} reader_ops;

/* The part every format shares; a format embeds it first in its struct. */
struct reader {
  const reader_ops *ops;
  char *path;
  FILE *file;
  size_t chunk_rows; /* rows per chunk; may be changed before the first next */
  size_t n_columns;
  char **columns;           /* column names, owned */
  struct dictionary *names; /* column name -> index */
  uint64_t bytes_total;     /* size of the file, 0 if unknown */
  uint64_t bytes_done;      /* bytes consumed so far */
  uint64_t rows_done;       /* data rows handed out so far */
  uint64_t rows_total;      /* data rows in the file when its header says (.npy), else 0 */
};

/* Opens path, recognising .npy by its magic bytes and taking anything else
 * as CSV, and reads the header. */
int reader_open(const char *path, size_t chunk_rows, reader **out);
int reader_next(reader *r, table_chunk *chunk);
/* Goes back to the first data row. */
int reader_rewind(reader *r);
void reader_close(reader *r);
const char *reader_format(const reader *r);
/* Index of the column named name, or -1. */
long reader_find_column(const reader *r, const char *name);

/* For the formats: fills the shared part (opens the file, sizes it). */
int reader_base_init(reader *r, const reader_ops *ops, const char *path, FILE *file,
                     size_t chunk_rows);
void reader_base_free(reader *r);
/* Sets the column names (takes ownership of names); fails on duplicates. */
int reader_set_columns(reader *r, char **names, size_t n);

int reader_csv_open(const char *path, FILE *file, size_t chunk_rows, reader **out);
int reader_npy_open(const char *path, FILE *file, size_t chunk_rows, reader **out);

#endif /* DRIFT_CLI_READER_H */
