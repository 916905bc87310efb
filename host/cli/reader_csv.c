/*
 * reader_csv.c - CSV tables (RFC 4180) streamed in chunks of rows.
 *
 * The first record names the columns. Fields are separated by commas;
 * a field in double quotes may hold commas, newlines and "" for a quote.
 * Lines end in LF or CRLF; blank lines are skipped; a UTF-8 byte order mark
 * is ignored. Each chunk copies its unquoted cells, NUL-terminated, into one
 * arena, so a chunk costs about its text plus five bytes a cell. Errors name
 * the file and the line. The reader never interprets a cell's content.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "reader.h"

#define CSV_BUFFER_BYTES (1u << 20)
/* A chunk ends early once its arena passes this, so offsets fit 32 bits. */
#define CSV_ARENA_LIMIT ((size_t)1 << 31)

typedef struct csv_reader {
  reader base;
  /* input */
  char *buf;
  size_t buf_len, buf_pos;
  uint64_t buf_offset;  /* file offset of buf[0] */
  uint64_t line;        /* 1-based line of the next byte */
  uint64_t data_offset; /* file offset of the first data record */
  uint64_t data_line;
  /* the chunk being built */
  char *text;
  size_t text_len, text_cap;
  uint32_t *cell;
  unsigned char *quoted;
  uint64_t *row_line;
  size_t rows_cap;
  /* the record being parsed */
  uint32_t *fields;
  unsigned char *fields_quoted;
  size_t n_fields, fields_cap;
} csv_reader;

enum { RECORD_END = 0, RECORD_OK = 1 };

static int next_byte(csv_reader *c) {
  if (c->buf_pos == c->buf_len) {
    c->buf_offset += c->buf_len;
    c->buf_len = fread(c->buf, 1, CSV_BUFFER_BYTES, c->base.file);
    c->buf_pos = 0;
    c->base.bytes_done = c->buf_offset;
    if (c->buf_len == 0) return EOF;
  }
  return (unsigned char)c->buf[c->buf_pos++];
}

static void unread_byte(csv_reader *c) {
  c->buf_pos--;
}

static uint64_t offset_now(const csv_reader *c) {
  return c->buf_offset + c->buf_pos;
}

static void put_char(csv_reader *c, char ch) {
  if (c->text_len == c->text_cap) {
    c->text_cap = c->text_cap ? c->text_cap * 2 : 1u << 16;
    c->text = cli_realloc(c->text, c->text_cap);
  }
  c->text[c->text_len++] = ch;
}

static void end_field(csv_reader *c, size_t start, int quoted) {
  put_char(c, '\0');
  if (c->n_fields == c->fields_cap) {
    c->fields_cap = c->fields_cap ? c->fields_cap * 2 : 64;
    c->fields = cli_realloc(c->fields, c->fields_cap * sizeof *c->fields);
    c->fields_quoted = cli_realloc(c->fields_quoted, c->fields_cap);
  }
  c->fields[c->n_fields] = (uint32_t)start;
  c->fields_quoted[c->n_fields++] = (unsigned char)quoted;
}

/* Reads a quoted field's content after its opening quote; returns the byte
 * after the closing quote. */
static int read_quoted(csv_reader *c, uint64_t start_line, int *status) {
  for (;;) {
    int ch = next_byte(c);
    if (ch == EOF) {
      cli_error("%s:%llu: field %zu: quoted field never closed", c->base.path,
                (unsigned long long)start_line, c->n_fields + 1);
      *status = CLI_USAGE;
      return EOF;
    }
    if (ch == '"') {
      ch = next_byte(c);
      if (ch != '"') return ch;
    }
    if (ch == '\n') c->line++;
    put_char(c, (char)ch);
  }
}

/* Parses one record into c->fields (offsets into c->text). Returns
 * RECORD_OK, RECORD_END at the end of the file, or a CLI_* error. */
static int read_record(csv_reader *c, uint64_t *record_line) {
  for (;;) {
    size_t text_mark = c->text_len;
    c->n_fields = 0;
    *record_line = c->line;
    int ch = next_byte(c);
    if (ch == EOF) return RECORD_END;
    for (;;) {
      size_t start = c->text_len;
      int quoted = ch == '"';
      if (quoted) {
        int status = 0;
        ch = read_quoted(c, *record_line, &status);
        if (status != 0) return status;
        if (ch != ',' && ch != '\n' && ch != '\r' && ch != EOF) {
          cli_error("%s:%llu: field %zu: unexpected character '%c' after a closing quote",
                    c->base.path, (unsigned long long)c->line, c->n_fields + 1, ch);
          return CLI_USAGE;
        }
      } else {
        while (ch != ',' && ch != '\n' && ch != '\r' && ch != EOF) {
          put_char(c, (char)ch);
          ch = next_byte(c);
        }
      }
      end_field(c, start, quoted);
      if (ch == ',') {
        ch = next_byte(c);
        continue;
      }
      if (ch == '\r') {
        ch = next_byte(c);
        if (ch != '\n' && ch != EOF) unread_byte(c);
      }
      if (ch != EOF) c->line++;
      break;
    }
    int blank = c->n_fields == 1 && !c->fields_quoted[0] && c->text[c->fields[0]] == '\0';
    if (!blank) return RECORD_OK;
    c->text_len = text_mark;
  }
}

static int read_header(csv_reader *c) {
  uint64_t line;
  int ch = next_byte(c);
  int bom = ch == 0xEF && next_byte(c) == 0xBB && next_byte(c) == 0xBF;
  if (!bom) {
    c->buf_pos = 0;
    c->buf_offset = 0;
  }
  int status = read_record(c, &line);
  if (status == RECORD_END) {
    cli_error("%s: empty file; expected a header row naming the columns", c->base.path);
    return CLI_USAGE;
  }
  if (status != RECORD_OK) return status;
  char **names = cli_malloc(c->n_fields * sizeof *names);
  for (size_t i = 0; i < c->n_fields; i++) {
    char generated[32]; /* an unnamed column is column_<its 1-based position> */
    const char *name = c->text + c->fields[i];
    if (name[0] == '\0') {
      snprintf(generated, sizeof generated, "column_%zu", i + 1);
      name = generated;
    }
    names[i] = cli_strdup(name);
  }
  c->text_len = 0;
  c->data_offset = offset_now(c);
  c->data_line = c->line;
  return reader_set_columns(&c->base, names, c->n_fields);
}

static void reserve_rows(csv_reader *c, size_t rows) {
  if (rows <= c->rows_cap) return;
  size_t cap = c->rows_cap ? c->rows_cap * 2 : 64;
  if (cap < rows) cap = rows;
  if (cap > c->base.chunk_rows) cap = c->base.chunk_rows;
  size_t n_cols = c->base.n_columns;
  c->cell = cli_realloc(c->cell, cap * n_cols * sizeof *c->cell);
  c->quoted = cli_realloc(c->quoted, cap * n_cols);
  c->row_line = cli_realloc(c->row_line, cap * sizeof *c->row_line);
  c->rows_cap = cap;
}

static int csv_next(reader *r, table_chunk *chunk) {
  csv_reader *c = (csv_reader *)r;
  size_t n_cols = r->n_columns;
  size_t rows = 0;
  c->text_len = 0;
  while (rows < r->chunk_rows && c->text_len < CSV_ARENA_LIMIT) {
    uint64_t line;
    int status = read_record(c, &line);
    if (status == RECORD_END) break;
    if (status != RECORD_OK) return status;
    if (c->n_fields != n_cols) {
      cli_error("%s:%llu: expected %zu fields (as in the header), found %zu", r->path,
                (unsigned long long)line, n_cols, c->n_fields);
      return CLI_USAGE;
    }
    reserve_rows(c, rows + 1);
    memcpy(c->cell + rows * n_cols, c->fields, n_cols * sizeof *c->fields);
    memcpy(c->quoted + rows * n_cols, c->fields_quoted, n_cols);
    c->row_line[rows++] = line;
  }
  r->bytes_done = offset_now(c);
  chunk->n_rows = rows;
  chunk->text = c->text;
  chunk->cell = c->cell;
  chunk->quoted = c->quoted;
  chunk->line = c->row_line;
  return 0;
}

static int csv_rewind(reader *r) {
  csv_reader *c = (csv_reader *)r;
  if (fseeko(r->file, (off_t)c->data_offset, SEEK_SET) != 0) {
    cli_error("%s: cannot seek: %s", r->path, strerror(errno));
    return CLI_USAGE;
  }
  c->buf_len = c->buf_pos = 0;
  c->buf_offset = c->data_offset;
  c->line = c->data_line;
  r->bytes_done = c->data_offset;
  return 0;
}

static void csv_close(reader *r) {
  csv_reader *c = (csv_reader *)r;
  reader_base_free(r);
  free(c->buf);
  free(c->text);
  free(c->cell);
  free(c->quoted);
  free(c->row_line);
  free(c->fields);
  free(c->fields_quoted);
  free(c);
}

static const reader_ops csv_ops = {"csv", csv_next, csv_rewind, csv_close};

int reader_csv_open(const char *path, FILE *file, size_t chunk_rows, reader **out) {
  csv_reader *c = cli_calloc(1, sizeof *c);
  reader_base_init(&c->base, &csv_ops, path, file, chunk_rows);
  c->buf = cli_malloc(CSV_BUFFER_BYTES);
  c->line = 1;
  int status = read_header(c);
  if (status != 0) {
    csv_close(&c->base);
    return status;
  }
  *out = &c->base;
  return 0;
}
