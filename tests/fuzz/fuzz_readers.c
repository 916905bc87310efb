/*
 * fuzz_readers.c - libFuzzer harness: the `drift sweep` file readers (CSV
 * and .npy, host/cli) over arbitrary bytes. The bytes become an in-memory
 * file; reader_open picks the format by its magic bytes as it does for a
 * path, and every chunk is read to the end, then once more after a rewind.
 * Small chunks make the chunk boundaries part of what is fuzzed.
 */
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cli.h"
#include "reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int fd = memfd_create("fuzz-input", 0);
  if (fd < 0) return 0;
  if (size && write(fd, data, size) != (ssize_t)size) {
    close(fd);
    return 0;
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  reader *r;
  if (reader_open(path, 7, &r) == 0) {
    table_chunk chunk;
    for (int pass = 0; pass < 2; pass++) {
      while (reader_next(r, &chunk) == 0 && chunk.n_rows > 0) {
      }
      if (reader_rewind(r)) break;
    }
    reader_close(r);
  }
  close(fd);
  return 0;
}
