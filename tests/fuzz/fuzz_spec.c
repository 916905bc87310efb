/*
 * fuzz_spec.c - libFuzzer harness: CreateModel's checks of a model spec
 * (model.c, outputs.c, alert_rules.c), from an arbitrary CreateModelRequest.
 * A spec that passes builds a model, which is then released.
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_model.h"
#include "models/outputs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Driftd__V1__CreateModelRequest *r = driftd__v1__create_model_request__unpack(NULL, size, data);
  if (!r) return 0;
  dd_err err;
  if (dd_outputs_check_names(r->spec, &err) == 0) {
    dd_model *m = dd_model_create(r->model_id, r->spec, 0, fuzz_limits(), &err);
    if (m) dd_model_unref(m);
  }
  driftd__v1__create_model_request__free_unpacked(r, NULL);
  return 0;
}
