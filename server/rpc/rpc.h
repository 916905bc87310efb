/*
 * rpc.h - driftd's gRPC loop on the C core API: one completion queue and
 * thread per worker, registered methods, a catch-all for unknown methods,
 * and per-call state machines for unary, client-streaming and watch
 * (server-streaming, pushed) calls.
 *
 * Handlers run on the worker thread that owns the call, one step at a time
 * (a unary request, one stream message, the end of a stream), and answer
 * with dd_call_reply or dd_call_fail before returning from the last step.
 * Memory from dd_call_arena is valid until the step returns. The loop sends
 * the reply (initial metadata and message in one batch, the status in its
 * own), and frees the call once the client side has closed.
 *
 * This module knows gRPC and protobuf-c, nothing of models or the engine.
 */
#ifndef DRIFTD_RPC_H
#define DRIFTD_RPC_H

#include <grpc/grpc.h>
#include <grpc/status.h>
#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"

typedef struct dd_call dd_call;
typedef struct dd_server dd_server;

typedef enum dd_rpc_kind {
  DD_RPC_UNARY = 0,
  DD_RPC_CLIENT_STREAM = 1,
  DD_RPC_WATCH = 2, /* one request, then messages pushed until the client
                       cancels or the server shuts down */
  DD_RPC_SERVER_STREAM = 3 /* one request, then every message the handler
                              produces, in order, each sent before the next
                              is asked for (flow control) */
} dd_rpc_kind;

/* The access a method needs. What grants it is the authorize hook's
 * business; ADMIN is the zero value, so a method that names none is the
 * most guarded. */
typedef enum dd_access {
  DD_ACCESS_ADMIN = 0,
  DD_ACCESS_WRITE = 1,
  DD_ACCESS_READ = 2,
  DD_ACCESS_PUBLIC = 3 /* health checks: no credentials needed */
} dd_access;

typedef struct dd_method {
  const char *path; /* "/driftd.v1.Driftd/CreateModel" */
  dd_rpc_kind kind;
  dd_access access;
  /* UNARY: the request bytes; reply or fail. */
  void (*unary)(dd_call *call, const uint8_t *req, size_t len);
  /* CLIENT_STREAM: open returns the stream's state (malloc'd; NULL after
   * dd_call_fail); message returns 0 to go on, non-zero after dd_call_fail;
   * end (client half-closed) replies and frees the state; abort frees it
   * after a failure or a cancelled call. Exactly one of end/abort runs. */
  void *(*stream_open)(dd_call *call);
  int (*stream_message)(dd_call *call, void *state, const uint8_t *msg, size_t len);
  void (*stream_end)(dd_call *call, void *state);
  void (*stream_abort)(void *state);
  /* WATCH: start runs with the request (push the first message or fail);
   * stop runs once when the call ends, on any thread, after which no push
   * may be made on it. */
  void (*watch_start)(dd_call *call, const uint8_t *req, size_t len);
  void (*watch_stop)(dd_call *call);
  /* SERVER_STREAM: start runs with the request and returns the stream's
   * state (NULL after dd_call_fail). next runs on the call's worker once
   * the previous message went out: it sends one message with
   * dd_call_stream_send and returns 1, or returns 0 at the end (having
   * answered with dd_call_fail, or not: then the status is OK). free
   * releases the state: after the end, or when the client went away. */
  void *(*server_start)(dd_call *call, const uint8_t *req, size_t len);
  int (*server_next)(dd_call *call, void *state);
  void (*server_free)(void *state);
  /* The request message (each stream message for CLIENT_STREAM); when set,
   * a request with a NUL byte inside a string field is refused with
   * INVALID_ARGUMENT naming the field, before the handler sees it. */
  const ProtobufCMessageDescriptor *request;
} dd_method;

/* One handler file's methods, for the server's table: the array and its
 * length, counted by the compiler (DD_METHOD_GROUP over a static array). */
typedef struct dd_method_group {
  const dd_method *methods;
  size_t n;
} dd_method_group;
#define DD_METHOD_GROUP(arr) {(arr), sizeof(arr) / sizeof((arr)[0])}

typedef struct dd_server_options {
  const char *listen;          /* host:port */
  int threads;                 /* completion-queue threads */
  size_t max_message_bytes;    /* larger requests: RESOURCE_EXHAUSTED */
  int max_connections;         /* plaintext port: open connections at most,
                                 further ones refused with a GOAWAY naming
                                 the limit; 0: no cap but descriptors */
  int max_streams_per_connection; /* HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS: a
                                     connection's further calls wait for one
                                     of these to end; 0: gRPC's default */
  /* TLS: PEM contents (not paths). cert and key set: TLS; client_ca set
   * too: clients must present a certificate it signed (mTLS). */
  const char *tls_cert_pem, *tls_key_pem, *tls_client_ca_pem;
  /* Runs before every known method's handler: 0 to go on, non-zero after
   * dd_call_fail. NULL: every call goes on. */
  int (*authorize)(void *arg, dd_call *call);
  void *authorize_arg;
  const dd_method *methods;
  size_t n_methods;
  void *app;                   /* handed to handlers (dd_call_app) */
  /* Per worker thread, on that thread: data for its handlers (an engine
   * context, ...); fini releases it when the thread ends. */
  void *(*worker_init)(void *app, int index);
  void (*worker_fini)(void *app, void *data);
} dd_server_options;

/* Creates the server, binds (port sharing off), starts the workers. NULL on
 * failure with a message in err. */
dd_server *dd_server_start(const dd_server_options *opts, char *err, size_t errcap);

/* Stops accepting calls, lets in-flight calls finish for up to grace_s
 * seconds, cancels the rest, drains and joins the workers, and frees the
 * server. */
void dd_server_shutdown(dd_server *srv, int grace_s);

/* The plaintext port's connections: handed to gRPC since start, refused
 * (limits, descriptors), open now. Zeros on a TLS port (gRPC accepts). */
void dd_server_connections(dd_server *srv, uint64_t *accepted, uint64_t *refused,
                           uint64_t *open);

/* Calls started so far (all methods), for logs and tests. */
uint64_t dd_server_calls(const dd_server *srv);

/* gRPC status codes counted per method: 0 (OK) .. 16 (UNAUTHENTICATED). */
#define DD_RPC_CODES 17

/* Calls of a method (index into the options' methods; n_methods: calls of
 * unknown methods) that ended with status `code`, counted when the status is
 * sent. Any thread, while the server runs. */
uint64_t dd_server_calls_by_code(const dd_server *srv, size_t method, int code);
size_t dd_server_n_methods(const dd_server *srv);
/* The path of method i ("/driftd.v1.Driftd/GetSLI"); NULL past the end. */
const char *dd_server_method_path(const dd_server *srv, size_t method);

/* ------------------------------------------------------------ in handlers */

void *dd_call_app(const dd_call *call);
void *dd_call_worker_data(const dd_call *call);
dd_arena *dd_call_arena(dd_call *call);

/* Room around a received message, so that a handler can lay a record out
 * around it in place (the store's log writes its frames so, with no copy):
 * 1 when msg (the message the call's handler was given) starts
 * DD_RPC_MSG_HEAD bytes into a DD_RPC_MSG_ALIGN-aligned buffer that is
 * writable before it and after its end up to the next multiple of
 * DD_RPC_MSG_ALIGN, until the handler returns; 0 when the message is
 * gRPC's own slice (read-only, no room). */
#define DD_RPC_MSG_HEAD 32u
#define DD_RPC_MSG_ALIGN 4096u
int dd_call_message_room(const dd_call *call, const uint8_t *msg);
const dd_method *dd_call_method(const dd_call *call);
/* The x-model-id request header, NUL-terminated; NULL when absent. */
const char *dd_call_model_header(const dd_call *call);
/* The authorization request header (at most 4 KiB kept), NULL when absent. */
const char *dd_call_authorization(const dd_call *call);
/* Who the authorize hook found the caller to be (opaque; NULL before). */
void dd_call_set_principal(dd_call *call, const void *principal);
const void *dd_call_principal(const dd_call *call);

/* Answers OK with msg (packed now; msg may live in the arena). */
void dd_call_reply(dd_call *call, const ProtobufCMessage *msg);
/* Answers code with a formatted message. */
void dd_call_fail(dd_call *call, grpc_status_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* 1 once dd_call_reply or dd_call_fail was called. */
int dd_call_answered(const dd_call *call);

/* SERVER_STREAM calls, in server_next: the next message (packed now). */
void dd_call_stream_send(dd_call *call, const ProtobufCMessage *msg);

/* WATCH calls, any thread: sends msg (packed now) after those before it. A
 * message pushed while an earlier one is still being sent replaces any
 * other waiting one (watchers want the latest state). Returns 0, or -1 when
 * the call has ended. */
int dd_call_push(dd_call *call, const ProtobufCMessage *msg);

#endif /* DRIFTD_RPC_H */
