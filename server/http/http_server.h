/*
 * http_server.h - driftd's HTTP side port: read-only pages, a JSON API and
 * the Prometheus /metrics exposition, served by GNU libmicrohttpd in the
 * same process as the gRPC server.
 *
 * Started by main.c after the store is restored (http_listen; "off" keeps
 * it closed) and stopped before the gRPC server shuts down and the store
 * closes. Requests run on libmicrohttpd's own thread pool (http_threads),
 * each thread with an engine context of its own, never on gRPC threads.
 */
#ifndef DRIFTD_HTTP_SERVER_H
#define DRIFTD_HTTP_SERVER_H

#include <stddef.h>

struct dd_app;
typedef struct dd_http dd_http;

/* Listens on app->cfg.http_listen. NULL with a message in err on failure;
 * NULL with err empty when the setting is "off". */
dd_http *dd_http_start(struct dd_app *app, char *err, size_t errcap);

/* Stops accepting, waits for requests in progress, frees. NULL is fine. */
void dd_http_stop(dd_http *h);

#endif /* DRIFTD_HTTP_SERVER_H */
