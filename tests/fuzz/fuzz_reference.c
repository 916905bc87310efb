/*
 * fuzz_reference.c - libFuzzer harness: UploadReference's checks and
 * profile build (reference.c). The input is split into chunks at each
 * 0xFF 0xFE 0xFD marker; each chunk is decoded as a ReferenceChunk and
 * added to a fresh builder for a fresh model, and when every chunk passes,
 * the profile is built.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_model.h"
#include "models/reference.h"

static drift_context *ctx;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  drift_context_options o;
  drift_context_options_init(&o);
  o.backend = DRIFT_BACKEND_CPU;
  o.threads = 1;
  if (drift_context_create(&o, &ctx) != DRIFT_OK) abort();
  return 0;
}

static const uint8_t marker[3] = {0xff, 0xfe, 0xfd};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  dd_model *m = fuzz_model_create();
  dd_refbuild *b = m ? dd_refbuild_create(m) : NULL;
  if (!b) abort();
  dd_err err;
  int ok = 1;
  const uint8_t *p = data, *end = data + size;
  while (ok) {
    const uint8_t *next = p;
    while (next + 3 <= end && memcmp(next, marker, 3) != 0) next++;
    if (next + 3 > end) next = end;
    Driftd__V1__ReferenceChunk *c =
        driftd__v1__reference_chunk__unpack(NULL, (size_t)(next - p), p);
    ok = c && dd_refbuild_add(b, c, "chunk", &err) == 0;
    if (c) driftd__v1__reference_chunk__free_unpacked(c, NULL);
    if (next == end) break;
    p = next + 3;
  }
  if (ok) dd_refbuild_finish(b, ctx, NULL, &err);
  dd_refbuild_free(b);
  dd_model_unref(m);
  return 0;
}
