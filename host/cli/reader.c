/*
 * reader.c - opening a table file and what all formats share (see reader.h).
 *
 * Recognises the format by content, not by name: a file starting with the
 * .npy magic is NumPy, anything else is CSV.
 */
#define _POSIX_C_SOURCE 200809L
#include "reader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "dictionary.h"

static const char npy_magic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

int reader_open(const char *path, size_t chunk_rows, reader **out) {
  *out = NULL;
  struct stat st;
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
    cli_error("%s: is a directory, expected a CSV or .npy file", path);
    return CLI_USAGE;
  }
  FILE *file = fopen(path, "rb");
  if (file == NULL) {
    cli_error("%s: cannot open: %s", path, strerror(errno));
    return CLI_USAGE;
  }
  char magic[sizeof npy_magic];
  size_t got = fread(magic, 1, sizeof magic, file);
  if (fseeko(file, 0, SEEK_SET) != 0) {
    cli_error("%s: cannot seek: %s (inputs must be regular files)", path, strerror(errno));
    fclose(file);
    return CLI_USAGE;
  }
  if (got == sizeof magic && memcmp(magic, npy_magic, sizeof magic) == 0) {
    return reader_npy_open(path, file, chunk_rows, out);
  }
  return reader_csv_open(path, file, chunk_rows, out);
}

int reader_base_init(reader *r, const reader_ops *ops, const char *path, FILE *file,
                     size_t chunk_rows) {
  r->ops = ops;
  r->path = cli_strdup(path);
  r->file = file;
  r->chunk_rows = chunk_rows;
  struct stat st;
  if (fstat(fileno(file), &st) == 0 && S_ISREG(st.st_mode)) r->bytes_total = (uint64_t)st.st_size;
  return 0;
}

void reader_base_free(reader *r) {
  if (r->file != NULL) fclose(r->file);
  for (size_t i = 0; i < r->n_columns; i++) free(r->columns[i]);
  free(r->columns);
  dictionary_destroy(r->names);
  free(r->path);
}

int reader_set_columns(reader *r, char **names, size_t n) {
  r->columns = names;
  r->n_columns = n;
  r->names = dictionary_create();
  for (size_t i = 0; i < n; i++) {
    if ((size_t)dictionary_add(r->names, names[i]) != i) {
      cli_error("%s: column %zu: duplicate column name \"%s\"", r->path, i + 1, names[i]);
      return CLI_USAGE;
    }
  }
  return 0;
}

long reader_find_column(const reader *r, const char *name) {
  return r->names == NULL ? -1 : (long)dictionary_find(r->names, name);
}

int reader_next(reader *r, table_chunk *chunk) {
  memset(chunk, 0, sizeof *chunk);
  chunk->first_row = r->rows_done;
  int status = r->ops->next(r, chunk);
  if (status == 0) r->rows_done += chunk->n_rows;
  return status;
}

int reader_rewind(reader *r) {
  r->rows_done = 0;
  return r->ops->rewind(r);
}

void reader_close(reader *r) {
  if (r != NULL) r->ops->close(r);
}

const char *reader_format(const reader *r) {
  return r->ops->format;
}
