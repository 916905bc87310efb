/*
 * reader_npy.c - NumPy .npy arrays streamed in chunks of rows.
 *
 * Reads format versions 1 to 3 holding a 1-D or 2-D array of float32 or
 * float64 (either byte order) in C or Fortran order; columns are named
 * f0 .. fN-1 (a 1-D array is one column, f0). Each chunk is converted to
 * float32, column-major: C order reads the chunk's rows in one go and
 * transposes them tile by tile, Fortran order reads each column's stretch
 * with one seek.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "reader.h"

typedef struct npy_reader {
  reader base;
  uint64_t n_rows;
  int item_size; /* 4 or 8 */
  int swap;      /* stored in the other byte order than the host's */
  int fortran;
  uint64_t data_offset;
  unsigned char *raw; /* the chunk as stored */
  float *values;      /* the chunk, float32 column-major */
} npy_reader;

static int host_is_little(void) {
  const uint16_t one = 1;
  return *(const unsigned char *)&one == 1;
}

static uint64_t read_le(const unsigned char *p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

/* The text after 'key': in the header dict, or NULL. */
static const char *dict_value(const char *header, const char *key) {
  char quoted[32];
  snprintf(quoted, sizeof quoted, "'%s'", key);
  const char *p = strstr(header, quoted);
  if (p == NULL) return NULL;
  p = strchr(p + strlen(quoted), ':');
  if (p == NULL) return NULL;
  p++;
  while (*p == ' ') p++;
  return p;
}

static int parse_descr(npy_reader *n, const char *header) {
  const char *v = dict_value(header, "descr");
  char descr[16] = {0};
  if (v != NULL && (*v == '\'' || *v == '"')) {
    size_t len = strcspn(v + 1, "'\"");
    if (len < sizeof descr) memcpy(descr, v + 1, len); /* descr is zeroed: stays terminated */
  }
  int little = descr[0] == '<' || (descr[0] == '=' && host_is_little());
  int big = descr[0] == '>' || (descr[0] == '=' && !host_is_little());
  if ((little || big) && descr[1] == 'f' &&
      (strcmp(descr + 2, "4") == 0 || strcmp(descr + 2, "8") == 0)) {
    n->item_size = descr[2] - '0';
    n->swap = little != host_is_little();
    return 0;
  }
  cli_error("%s: unsupported dtype '%s': expected float32 or float64 ('<f4', '<f8')", n->base.path,
            descr);
  return CLI_USAGE;
}

/* numpy writes headers of a few hundred bytes; np.load refuses over 10,000. */
#define NPY_MAX_HEADER 65536
/* Columns of one table: far past any feature table, short of what would
 * only exhaust memory naming them. */
#define NPY_MAX_COLUMNS (1 << 24)

static int parse_shape(npy_reader *n, const char *header, size_t *n_columns) {
  const char *v = dict_value(header, "shape");
  uint64_t dims[2];
  int n_dims = 0;
  if (v != NULL && *v == '(') {
    v++;
    for (;;) {
      while (*v == ' ' || *v == ',') v++;
      if (*v < '0' || *v > '9' || n_dims == 2) break;
      char *end;
      dims[n_dims++] = strtoull(v, &end, 10);
      v = end;
    }
  }
  if (v == NULL || *v != ')' || n_dims == 0) {
    cli_error("%s: expected a 1-D or 2-D array (shape (rows,) or (rows, columns))", n->base.path);
    return CLI_USAGE;
  }
  /* A shape a file could hold: at least one column, and a byte count that
   * fits 64 bits (check_size then compares it with the file). */
  uint64_t cols = n_dims == 2 ? dims[1] : 1;
  if (cols == 0 || cols > NPY_MAX_COLUMNS || dims[0] > UINT64_MAX / 8 / cols) {
    cli_error("%s: shape (%llu, %llu): expected 1..%d columns and a size a file can hold",
              n->base.path, (unsigned long long)dims[0], (unsigned long long)cols,
              NPY_MAX_COLUMNS);
    return CLI_USAGE;
  }
  n->n_rows = dims[0];
  n->base.rows_total = dims[0];
  *n_columns = (size_t)cols;
  return 0;
}

static int read_header(npy_reader *n, size_t *n_columns) {
  unsigned char pre[12];
  FILE *f = n->base.file;
  if (fread(pre, 1, 10, f) != 10 || pre[6] < 1 || pre[6] > 3) {
    cli_error("%s: unsupported .npy format version", n->base.path);
    return CLI_USAGE;
  }
  int len_bytes = pre[6] == 1 ? 2 : 4;
  if (len_bytes == 4 && fread(pre + 10, 1, 2, f) != 2) {
    cli_error("%s: truncated .npy header", n->base.path);
    return CLI_USAGE;
  }
  size_t header_len = (size_t)read_le(pre + 8, len_bytes);
  /* numpy writes a few hundred bytes; np.load refuses headers over 10,000
   * by default. A larger length is a damaged file, never an allocation. */
  if (header_len > NPY_MAX_HEADER) {
    cli_error("%s: .npy header of %zu bytes; expected at most %d (a damaged file?)",
              n->base.path, header_len, NPY_MAX_HEADER);
    return CLI_USAGE;
  }
  char *header = cli_malloc(header_len + 1);
  int status = 0;
  if (fread(header, 1, header_len, f) != header_len) {
    cli_error("%s: truncated .npy header", n->base.path);
    status = CLI_USAGE;
  } else {
    header[header_len] = '\0';
    const char *order = dict_value(header, "fortran_order");
    n->fortran = order != NULL && strncmp(order, "True", 4) == 0;
    status = parse_descr(n, header);
    if (status == 0) status = parse_shape(n, header, n_columns);
  }
  free(header);
  n->data_offset = 8 + (uint64_t)len_bytes + header_len;
  return status;
}

static int check_size(const npy_reader *n, size_t n_columns) {
  uint64_t need = n->data_offset + n->n_rows * n_columns * (uint64_t)n->item_size;
  if (n->base.bytes_total != 0 && n->base.bytes_total < need) {
    cli_error(
        "%s: truncated: the header promises %llu x %zu values (%llu bytes), the file "
        "has %llu bytes",
        n->base.path, (unsigned long long)n->n_rows, n_columns, (unsigned long long)need,
        (unsigned long long)n->base.bytes_total);
    return CLI_USAGE;
  }
  return 0;
}

static float decode(const npy_reader *n, const unsigned char *p) {
  unsigned char b[8] = {0};
  for (int i = 0; i < n->item_size; i++) b[i] = n->swap ? p[n->item_size - 1 - i] : p[i];
  if (n->item_size == 4) {
    float f;
    memcpy(&f, b, 4);
    return f;
  }
  double d;
  memcpy(&d, b, 8);
  return (float)d;
}

static int read_exact(npy_reader *n, void *dst, size_t bytes) {
  if (fread(dst, 1, bytes, n->base.file) != bytes) {
    cli_error("%s: read failed at row %llu: %s", n->base.path,
              (unsigned long long)n->base.rows_done + 1,
              ferror(n->base.file) ? strerror(errno) : "unexpected end of file");
    return CLI_USAGE;
  }
  return 0;
}

/* Rows per tile of the C-order transpose: a tile's rows of every column
 * stay in the caches while each column's stretch of the tile is written. */
#define TRANSPOSE_ROWS 64

/* Transposes rows [r0, r1) of the chunk into column-major float32. Native
 * float32, the common case, is copied as is; other types go through
 * decode. */
static void transpose_rows(npy_reader *n, size_t rows, size_t r0, size_t r1) {
  size_t cols = n->base.n_columns, item = (size_t)n->item_size;
  if (item == 4 && !n->swap) {
    const float *raw = (const float *)(const void *)n->raw;
    for (size_t c = 0; c < cols; c++) {
      float *dst = n->values + c * rows;
      for (size_t r = r0; r < r1; r++) dst[r] = raw[r * cols + c];
    }
    return;
  }
  for (size_t c = 0; c < cols; c++)
    for (size_t r = r0; r < r1; r++)
      n->values[c * rows + r] = decode(n, n->raw + (r * cols + c) * item);
}

static int read_c_order(npy_reader *n, size_t rows) {
  int status = read_exact(n, n->raw, rows * n->base.n_columns * (size_t)n->item_size);
  for (size_t r = 0; r < rows && status == 0; r += TRANSPOSE_ROWS)
    transpose_rows(n, rows, r, r + TRANSPOSE_ROWS < rows ? r + TRANSPOSE_ROWS : rows);
  return status;
}

static int read_fortran_order(npy_reader *n, size_t rows) {
  size_t cols = n->base.n_columns, item = (size_t)n->item_size;
  for (size_t c = 0; c < cols; c++) {
    uint64_t at = n->data_offset + ((uint64_t)c * n->n_rows + n->base.rows_done) * item;
    if (fseeko(n->base.file, (off_t)at, SEEK_SET) != 0) {
      cli_error("%s: cannot seek: %s", n->base.path, strerror(errno));
      return CLI_USAGE;
    }
    int status = read_exact(n, n->raw, rows * item);
    if (status != 0) return status;
    for (size_t r = 0; r < rows; r++) n->values[c * rows + r] = decode(n, n->raw + r * item);
  }
  return 0;
}

static int npy_next(reader *r, table_chunk *chunk) {
  npy_reader *n = (npy_reader *)r;
  uint64_t left = n->n_rows - r->rows_done;
  size_t rows = left < r->chunk_rows ? (size_t)left : r->chunk_rows;
  if (rows == 0) return 0;
  if (n->values == NULL) {
    n->values = cli_malloc(r->chunk_rows * r->n_columns * sizeof *n->values);
    size_t raw_rows = n->fortran ? r->chunk_rows : r->chunk_rows * r->n_columns;
    n->raw = cli_malloc(raw_rows * (size_t)n->item_size);
  }
  int status = n->fortran ? read_fortran_order(n, rows) : read_c_order(n, rows);
  if (status != 0) return status;
  r->bytes_done = n->data_offset + (r->rows_done + rows) * r->n_columns * (uint64_t)n->item_size;
  chunk->n_rows = rows;
  chunk->values = n->values;
  return 0;
}

static int npy_rewind(reader *r) {
  npy_reader *n = (npy_reader *)r;
  if (fseeko(r->file, (off_t)n->data_offset, SEEK_SET) != 0) {
    cli_error("%s: cannot seek: %s", r->path, strerror(errno));
    return CLI_USAGE;
  }
  r->bytes_done = n->data_offset;
  return 0;
}

static void npy_close(reader *r) {
  npy_reader *n = (npy_reader *)r;
  reader_base_free(r);
  free(n->raw);
  free(n->values);
  free(n);
}

static const reader_ops npy_ops = {"npy", npy_next, npy_rewind, npy_close};

int reader_npy_open(const char *path, FILE *file, size_t chunk_rows, reader **out) {
  npy_reader *n = cli_calloc(1, sizeof *n);
  reader_base_init(&n->base, &npy_ops, path, file, chunk_rows);
  size_t n_columns = 0;
  int status = read_header(n, &n_columns);
  if (status == 0) status = check_size(n, n_columns);
  if (status == 0) {
    char **names = cli_malloc((n_columns ? n_columns : 1) * sizeof *names);
    for (size_t c = 0; c < n_columns; c++) {
      char name[32];
      snprintf(name, sizeof name, "f%zu", c);
      names[c] = cli_strdup(name);
    }
    status = reader_set_columns(&n->base, names, n_columns);
  }
  if (status == 0) status = npy_rewind(&n->base);
  if (status != 0) {
    npy_close(&n->base);
    return status;
  }
  *out = &n->base;
  return 0;
}
