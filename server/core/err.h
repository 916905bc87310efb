/*
 * err.h - the failure every layer of driftd hands back to the gRPC and HTTP
 * edges: a gRPC status code and a message naming the field at fault and what
 * was expected. Includes nothing of driftd, so any module may use it.
 */
#ifndef DRIFTD_ERR_H
#define DRIFTD_ERR_H

#include <grpc/status.h>

typedef struct dd_err {
  grpc_status_code code;
  char msg[768];
} dd_err;

/* Sets e (may be NULL) and returns -1, so callers write
 * `return dd_fail(err, GRPC_STATUS_INVALID_ARGUMENT, "field: ...")`. */
int dd_fail(dd_err *e, grpc_status_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* DRIFTD_ERR_H */
