/*
 * fuzz_requests.c - libFuzzer harness: every request message driftd
 * decodes, from arbitrary bytes. The first byte picks the message type;
 * the rest goes through the NUL check of string fields (wire_check.h) and
 * protobuf-c's decoder, as rpc.c and the handlers do before anything else.
 */
#include <stddef.h>
#include <stdint.h>

#include "driftd/v1/drift.pb-c.h"
#include "grpc/health/v1/health.pb-c.h"
#include "rpc/wire_check.h"

static const ProtobufCMessageDescriptor *const requests[] = {
    &driftd__v1__create_model_request__descriptor, &driftd__v1__list_models_request__descriptor,
    &driftd__v1__get_model_request__descriptor,    &driftd__v1__delete_model_request__descriptor,
    &driftd__v1__reference_chunk__descriptor,      &driftd__v1__prediction_batch__descriptor,
    &driftd__v1__feedback_batch__descriptor,       &driftd__v1__get_drift_request__descriptor,
    &driftd__v1__get_data_quality_request__descriptor, &driftd__v1__get_slirequest__descriptor,
    &driftd__v1__get_alerts_request__descriptor,   &driftd__v1__get_server_stats_request__descriptor,
    &grpc__health__v1__health_check_request__descriptor,
    &driftd__v1__watch_alerts_request__descriptor,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  const ProtobufCMessageDescriptor *d = requests[data[0] % (sizeof requests / sizeof *requests)];
  char path[256];
  dd_wire_find_nul(d, data + 1, size - 1, path, sizeof path);
  ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, size - 1, data + 1);
  if (m) protobuf_c_message_free_unpacked(m, NULL);
  return 0;
}
