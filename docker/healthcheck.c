/*
 * healthcheck.c - the container's health probe: one grpc.health.v1.Health
 * Check call to a driftd, exit 0 when it answers SERVING.
 *
 * Usage: driftd-healthcheck [TARGET [SERVICE]]
 *   TARGET   host:port, default 127.0.0.1:50051
 *   SERVICE  the service name to ask about, default "" (the whole server)
 * Exit status: 0 SERVING, 1 anything else (not serving, unknown service,
 * an error or no answer within DRIFTD_HEALTH_TIMEOUT_S seconds, default 3),
 * 2 for bad arguments.
 * One line on stdout says what it saw.
 *
 * TLS, for a driftd started with tls_cert: DRIFTD_HEALTH_TLS_CA names the
 * PEM file of the CA that signed the server's certificate; with mutual TLS,
 * DRIFTD_HEALTH_TLS_CERT and DRIFTD_HEALTH_TLS_KEY name the probe's own
 * certificate and key; DRIFTD_HEALTH_TLS_NAME overrides the name checked
 * against the server's certificate (say, when it names a DNS name and the
 * probe dials 127.0.0.1). Health checks need no token.
 *
 * Built with gRPC's C core only: the request and the response are the two
 * one-field messages of health.proto, encoded and decoded here by hand
 * (HealthCheckRequest{string service = 1}, HealthCheckResponse{ServingStatus
 * status = 1}), so the image needs no protobuf library for it. Not part of
 * driftd: it only speaks the public health protocol.
 */
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SERVING_STATUS_SERVING = 1, MAX_SERVICE_NAME = 127 };

static const char *const status_names[] = {"UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"};

/* HealthCheckRequest: field 1 (service), length-delimited, omitted when empty. */
static size_t encode_request(const char *service, uint8_t *out) {
  size_t n = strlen(service);
  if (n == 0) return 0;
  out[0] = (1 << 3) | 2;
  out[1] = (uint8_t)n; /* n < 128: a one-byte varint */
  memcpy(out + 2, service, n);
  return n + 2;
}

static int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v) {
  *v = 0;
  for (int shift = 0; shift < 64 && *p < end; shift += 7) {
    uint8_t b = *(*p)++;
    *v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) return 0;
  }
  return -1;
}

/* HealthCheckResponse: the status is field 1 (varint), 0 when absent; other
 * fields are skipped as protobuf allows. Returns -1 for a malformed message. */
static int decode_status(const uint8_t *p, size_t n, uint64_t *status) {
  const uint8_t *end = p + n;
  *status = 0;
  while (p < end) {
    uint64_t key, v;
    if (read_varint(&p, end, &key) != 0) return -1;
    switch (key & 7) {
      case 0:
        if (read_varint(&p, end, &v) != 0) return -1;
        if (key >> 3 == 1) *status = v;
        break;
      case 1:
        if ((size_t)(end - p) < 8) return -1;
        p += 8;
        break;
      case 5:
        if ((size_t)(end - p) < 4) return -1;
        p += 4;
        break;
      case 2:
        if (read_varint(&p, end, &v) != 0 || v > (uint64_t)(end - p)) return -1;
        p += v;
        break;
      default:
        return -1;
    }
  }
  return 0;
}

/* The whole of a small file, NUL-terminated, or NULL (message on stdout). */
static char *slurp(const char *what, const char *path) {
  FILE *f = fopen(path, "rb");
  char *buf = f ? malloc(1 << 20) : NULL;
  size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
  if (f) fclose(f);
  if (!buf || n == 0) {
    printf("%s: cannot read %s\n", what, path);
    free(buf);
    return NULL;
  }
  buf[n] = 0;
  return buf;
}

/* Plaintext, or TLS when DRIFTD_HEALTH_TLS_CA is set; NULL on a bad file. */
static grpc_channel_credentials *credentials(void) {
  const char *ca = getenv("DRIFTD_HEALTH_TLS_CA");
  if (!ca || !*ca) return grpc_insecure_credentials_create();
  const char *cert = getenv("DRIFTD_HEALTH_TLS_CERT"), *key = getenv("DRIFTD_HEALTH_TLS_KEY");
  char *ca_pem = slurp("DRIFTD_HEALTH_TLS_CA", ca);
  char *cert_pem = cert && *cert ? slurp("DRIFTD_HEALTH_TLS_CERT", cert) : NULL;
  char *key_pem = key && *key ? slurp("DRIFTD_HEALTH_TLS_KEY", key) : NULL;
  grpc_channel_credentials *creds = NULL;
  if (ca_pem && !cert_pem == !key_pem) {
    grpc_ssl_pem_key_cert_pair pair = {key_pem, cert_pem};
    creds = grpc_ssl_credentials_create(ca_pem, cert_pem ? &pair : NULL, NULL, NULL);
  } else if (ca_pem) {
    printf("DRIFTD_HEALTH_TLS_CERT and DRIFTD_HEALTH_TLS_KEY go together\n");
  }
  free(ca_pem);
  free(cert_pem);
  free(key_pem);
  return creds;
}

typedef struct {
  grpc_metadata_array initial_md, trailing_md;
  grpc_byte_buffer *response;
  grpc_status_code status;
  grpc_slice details;
} call_result;

/* One unary Check call; 0 when the call completed (result->status tells how). */
static int check(const char *target, const char *service, int timeout_s, call_result *r) {
  uint8_t req[2 + MAX_SERVICE_NAME];
  grpc_slice req_slice =
      grpc_slice_from_copied_buffer((const char *)req, encode_request(service, req));
  grpc_byte_buffer *request = grpc_raw_byte_buffer_create(&req_slice, 1);
  grpc_slice_unref(req_slice);

  grpc_channel_credentials *creds = credentials();
  if (!creds) {
    grpc_byte_buffer_destroy(request);
    return -1;
  }
  const char *name = getenv("DRIFTD_HEALTH_TLS_NAME");
  grpc_arg arg = {.type = GRPC_ARG_STRING,
                  .key = (char *)GRPC_SSL_TARGET_NAME_OVERRIDE_ARG,
                  .value.string = (char *)name};
  grpc_channel_args args = {name && *name ? 1 : 0, &arg};
  grpc_channel *channel = grpc_channel_create(target, creds, &args);
  grpc_channel_credentials_release(creds);
  grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
  gpr_timespec deadline =
      gpr_time_add(gpr_now(GPR_CLOCK_REALTIME), gpr_time_from_seconds(timeout_s, GPR_TIMESPAN));
  grpc_slice method = grpc_slice_from_static_string("/grpc.health.v1.Health/Check");
  grpc_call *call = grpc_channel_create_call(channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq, method,
                                             NULL, deadline, NULL);

  grpc_op ops[6];
  memset(ops, 0, sizeof ops);
  ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
  ops[1].op = GRPC_OP_SEND_MESSAGE;
  ops[1].data.send_message.send_message = request;
  ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
  ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
  ops[3].data.recv_initial_metadata.recv_initial_metadata = &r->initial_md;
  ops[4].op = GRPC_OP_RECV_MESSAGE;
  ops[4].data.recv_message.recv_message = &r->response;
  ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
  ops[5].data.recv_status_on_client.trailing_metadata = &r->trailing_md;
  ops[5].data.recv_status_on_client.status = &r->status;
  ops[5].data.recv_status_on_client.status_details = &r->details;

  int rc = -1;
  void *tag = (void *)1;
  if (grpc_call_start_batch(call, ops, 6, tag, NULL) == GRPC_CALL_OK) {
    grpc_event ev = grpc_completion_queue_pluck(cq, tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    if (ev.type == GRPC_OP_COMPLETE && ev.success) rc = 0;
  }

  grpc_call_unref(call);
  grpc_completion_queue_shutdown(cq);
  while (grpc_completion_queue_pluck(cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
         GRPC_QUEUE_SHUTDOWN) {
  }
  grpc_completion_queue_destroy(cq);
  grpc_channel_destroy(channel);
  grpc_byte_buffer_destroy(request);
  return rc;
}

static int report(const char *target, const call_result *r) {
  if (r->status != GRPC_STATUS_OK) {
    char *details = grpc_slice_to_c_string(r->details);
    printf("%s: health check failed: status %d: %s\n", target, (int)r->status, details);
    gpr_free(details);
    return 1;
  }
  if (!r->response) {
    printf("%s: health check failed: no response message\n", target);
    return 1;
  }
  grpc_byte_buffer_reader reader;
  if (!grpc_byte_buffer_reader_init(&reader, r->response)) {
    printf("%s: health check failed: unreadable response\n", target);
    return 1;
  }
  grpc_slice all = grpc_byte_buffer_reader_readall(&reader);
  grpc_byte_buffer_reader_destroy(&reader);
  uint64_t status;
  int bad = decode_status(GRPC_SLICE_START_PTR(all), GRPC_SLICE_LENGTH(all), &status);
  grpc_slice_unref(all);
  if (bad) {
    printf("%s: health check failed: malformed HealthCheckResponse\n", target);
    return 1;
  }
  printf("%s: %s\n", target, status < 4 ? status_names[status] : "unknown status");
  return status == SERVING_STATUS_SERVING ? 0 : 1;
}

int main(int argc, char **argv) {
  const char *target = argc > 1 ? argv[1] : "127.0.0.1:50051";
  const char *service = argc > 2 ? argv[2] : "";
  const char *timeout_env = getenv("DRIFTD_HEALTH_TIMEOUT_S");
  int timeout_s = timeout_env ? atoi(timeout_env) : 3;
  if (argc > 3 || strlen(service) > MAX_SERVICE_NAME || timeout_s <= 0) {
    fprintf(stderr,
            "usage: driftd-healthcheck [TARGET [SERVICE]] (SERVICE up to %d bytes; "
            "DRIFTD_HEALTH_TIMEOUT_S > 0)\n",
            MAX_SERVICE_NAME);
    return 2;
  }

  grpc_init();
  call_result r;
  memset(&r, 0, sizeof r);
  grpc_metadata_array_init(&r.initial_md);
  grpc_metadata_array_init(&r.trailing_md);
  int code;
  if (check(target, service, timeout_s, &r) != 0) {
    printf("%s: health check failed: the call did not complete\n", target);
    code = 1;
  } else {
    code = report(target, &r);
  }
  grpc_metadata_array_destroy(&r.initial_md);
  grpc_metadata_array_destroy(&r.trailing_md);
  grpc_byte_buffer_destroy(r.response);
  grpc_slice_unref(r.details);
  grpc_shutdown();
  return code;
}
