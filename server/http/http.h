/*
 * http.h - what the HTTP side's route files share (http_server.c routes to
 * them): the request with its engine context and arena, the response being
 * built, query parameters, and errors as JSON documents.
 *
 * Route files: http_metrics.c (/metrics), http_api.c (/api/v1/...),
 * http_pages.c (/, /models/{id}, /static/...). Each fills a dd_http_resp;
 * http_server.c sends it. Internal to server/.
 */
#ifndef DRIFTD_HTTP_H
#define DRIFTD_HTTP_H

#include <stddef.h>

#include "app.h"
#include "http/http_buf.h"

struct MHD_Connection;

typedef struct dd_http_req {
  dd_app *app;
  drift_context *ctx; /* this thread's engine context */
  dd_arena *arena;    /* reset after each request */
  struct MHD_Connection *conn;
  const char *path; /* decoded, without the query string */
  const struct dd_token *token; /* the caller's (auth.h); NULL: auth off */
} dd_http_req;

typedef struct dd_http_resp {
  unsigned status;  /* HTTP status; 200 unless set */
  const char *type; /* Content-Type */
  dd_buf body;      /* the body, or: */
  const void *data; /* a body in static storage (assets) */
  size_t len;
  const char *cache; /* Cache-Control; default no-store */
  const char *authenticate; /* WWW-Authenticate (401 answers) */
} dd_http_resp;

/* 1 when the request's token may see the model; else 0 with a 403 answer
 * in out (out may be NULL: a filter, nothing answered). */
int dd_http_model_allowed(const dd_http_req *r, const char *model, dd_http_resp *out);

/* Keeps the models of ms[0..n) the request's token may see (in order),
 * unrefs the others; returns how many are kept. */
size_t dd_http_filter_models(const dd_http_req *r, dd_model **ms, size_t n);

/* A query parameter (decoded), NULL when absent. */
const char *dd_http_arg(const dd_http_req *r, const char *name);

/* Replaces the response with a JSON error: {"error": message, "parameter":
 * param} (param may be NULL). */
void dd_http_error(dd_http_resp *out, unsigned status, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

void dd_http_metrics(dd_http_req *r, dd_http_resp *out);
/* path: what follows "/api/v1". */
void dd_http_api(dd_http_req *r, const char *path, dd_http_resp *out);
/* 1 when path is a page or asset (out filled), 0 when not found. */
int dd_http_pages(dd_http_req *r, dd_http_resp *out);

#endif /* DRIFTD_HTTP_H */
