/*
 * rpc.c - the gRPC C core loop behind driftd (rpc.h).
 *
 * Each worker thread owns a completion queue with one posted request per
 * registered method plus a catch-all request (unknown methods would hang
 * without it). A call stays on the worker whose queue took it. Its state
 * machine: RECV_CLOSE_ON_SERVER posted at once (it completes when the call
 * is over, normally or cancelled); the request payload (unary, watch) or one
 * RECV_MESSAGE at a time (client streams); then SEND_INITIAL_METADATA with
 * the reply message in one batch, and SEND_STATUS_FROM_SERVER in its own
 * batch once that completed (a status batched with a receive and no initial
 * metadata hangs in core 1.51). The call is freed when no batch is pending.
 *
 * Never blocks a worker on anything but the handlers it calls.
 */
#include "rpc/rpc.h"

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc_posix.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "rpc/listener.h"
#include "core/log.h"
#include "rpc/wire_check.h"

/* The longest x-model-id header taken: model ids are at most 128 bytes. */
#define MAX_MODEL_HEADER 128
/* The request metadata one call may carry. gRPC core 1.51 answers a header
 * block over this limit by failing every call on the same connection, so
 * the limit sits far above any header a client needs (a 1 MB x-model-id
 * fails its own call only, refused by MAX_MODEL_HEADER). */
#define MAX_METADATA_BYTES (4 << 20)
/* The longest authorization header kept (tokens are at most 256 bytes;
 * Basic credentials a little more). */
#define MAX_AUTHORIZATION 4096

typedef struct dd_tag dd_tag;
struct dd_tag {
  void (*fn)(dd_tag *tag, int ok);
};

typedef struct worker {
  dd_server *srv;
  int index;
  grpc_completion_queue *cq;
  pthread_t thread;
  dd_arena arena;
  uint8_t *buf; /* reusable copy of the current message: DD_RPC_MSG_ALIGN-aligned */
  size_t buf_cap; /* a multiple of DD_RPC_MSG_ALIGN */
  const uint8_t *room_msg; /* the message gathered into buf (dd_call_message_room) */
  void *data;   /* from worker_init */
} worker;

/* One posted request for a call of `method` (-1: catch-all). */
typedef struct posted {
  dd_tag tag;
  worker *w;
  int method;
  grpc_call *call;
  gpr_timespec deadline;
  grpc_metadata_array md;
  grpc_byte_buffer *payload;
  grpc_call_details details;
} posted;

struct dd_server {
  grpc_server *server;
  dd_server_options opts;
  dd_listener *listener;              /* the plaintext port's accept loop */
  grpc_server_credentials *fd_creds;  /* insecure, for its connections */
  worker *workers;
  void **handles; /* per method, from grpc_server_register_method */
  atomic_int shutting_down;
  atomic_uint_least64_t calls;
  atomic_int live; /* calls begun and not yet freed (their batches may still start) */
  /* Finished calls by method (n_methods: unknown ones) and status code:
   * (n_methods + 1) * DD_RPC_CODES counters. */
  atomic_uint_least64_t *by_code;
  dd_tag shutdown_tag;
  pthread_mutex_t mu; /* guards shutdown_done and the watch list */
  pthread_cond_t cv;
  int shutdown_done;
  dd_call *watches;   /* live watch calls */
};

struct dd_call {
  worker *w;
  const dd_method *m; /* NULL: unknown method */
  grpc_call *call;
  char *model_header;
  char *authorization;
  const void *principal;
  pthread_mutex_t mu; /* guards the fields below (watch pushes come from other threads) */
  int pending;        /* batches started and not completed */
  int closed;         /* RECV_CLOSE_ON_SERVER completed */
  int cancelled;      /* written by core on close */
  int answered;
  int md_sent;
  int sending;        /* a SEND_MESSAGE batch is in flight */
  int final;          /* the answer is being sent: the status follows it */
  grpc_byte_buffer *recv_buf;
  grpc_byte_buffer *send_buf; /* reply, or the watch message in flight */
  grpc_byte_buffer *next_buf; /* watch: the next message to push */
  grpc_status_code code;
  grpc_slice details;
  int has_details;
  void *state;        /* client stream state while open */
  dd_call *watch_next;
  dd_call *watch_prev;
  dd_tag t_close, t_recv, t_send, t_status;
};

/* ------------------------------------------------------------- utilities */

#define CONTAINER(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* The smallest multiple of DD_RPC_MSG_ALIGN that holds a message of len
 * bytes after DD_RPC_MSG_HEAD of headroom. */
static size_t room_for(size_t len) {
  return (DD_RPC_MSG_HEAD + len + DD_RPC_MSG_ALIGN - 1) & ~(size_t)(DD_RPC_MSG_ALIGN - 1);
}

/* Grows the worker's buffer to hold a message of need bytes after the
 * headroom, keeping the first keep bytes of the message. */
static int grow_buf(worker *w, size_t need, size_t keep) {
  if (room_for(need) <= w->buf_cap) return 0;
  size_t cap = w->buf_cap ? w->buf_cap : DD_RPC_MSG_ALIGN;
  while (cap < room_for(need)) cap *= 2;
  void *nb = NULL;
  if (posix_memalign(&nb, DD_RPC_MSG_ALIGN, cap) != 0) return -1;
  if (keep) memcpy((uint8_t *)nb + DD_RPC_MSG_HEAD, w->buf + DD_RPC_MSG_HEAD, keep);
  free(w->buf);
  w->buf = nb;
  w->buf_cap = cap;
  return 0;
}

/* The bytes of a received message: the slice itself when the message is
 * one uncompressed slice (valid while bb is), else a copy in the worker's
 * reusable buffer (protobuf-c decodes from contiguous memory), gathered
 * after DD_RPC_MSG_HEAD bytes of headroom (dd_call_message_room). */
static int read_message(worker *w, grpc_byte_buffer *bb, const uint8_t **data, size_t *len) {
  w->room_msg = NULL;
  if (bb->type == GRPC_BB_RAW && bb->data.raw.compression == GRPC_COMPRESS_NONE &&
      bb->data.raw.slice_buffer.count == 1) {
    /* Through the buffer's own slice: a small slice holds its bytes inline,
     * so a copy of the struct would point into this stack frame. */
    const grpc_slice *s = &bb->data.raw.slice_buffer.slices[0];
    *data = GRPC_SLICE_START_PTR(*s);
    *len = GRPC_SLICE_LENGTH(*s);
    return 0;
  }
  /* The wire length: the whole message uncompressed, a first guess else. */
  if (grow_buf(w, grpc_byte_buffer_length(bb), 0)) return -1;
  grpc_byte_buffer_reader reader;
  if (!grpc_byte_buffer_reader_init(&reader, bb)) return -1;
  size_t n = 0;
  grpc_slice s;
  int rc = 0;
  while (grpc_byte_buffer_reader_next(&reader, &s)) {
    size_t sl = GRPC_SLICE_LENGTH(s);
    if (grow_buf(w, n + sl, n)) {
      rc = -1;
      grpc_slice_unref(s);
      break;
    }
    memcpy(w->buf + DD_RPC_MSG_HEAD + n, GRPC_SLICE_START_PTR(s), sl);
    n += sl;
    grpc_slice_unref(s);
  }
  grpc_byte_buffer_reader_destroy(&reader);
  *data = w->buf + DD_RPC_MSG_HEAD;
  *len = n;
  if (rc == 0) w->room_msg = *data;
  return rc;
}

static grpc_byte_buffer *pack(const ProtobufCMessage *msg) {
  size_t n = protobuf_c_message_get_packed_size(msg);
  grpc_slice s = grpc_slice_malloc(n);
  protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(s));
  grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
  grpc_slice_unref(s);
  return bb;
}

/* -------------------------------------------------------- call lifecycle */

static void call_free(dd_call *c) {
  dd_server *srv = c->w->srv;
  if (c->recv_buf) grpc_byte_buffer_destroy(c->recv_buf);
  if (c->send_buf) grpc_byte_buffer_destroy(c->send_buf);
  if (c->next_buf) grpc_byte_buffer_destroy(c->next_buf);
  if (c->has_details) grpc_slice_unref(c->details);
  grpc_call_unref(c->call);
  pthread_mutex_destroy(&c->mu);
  free(c->model_header);
  free(c->authorization);
  free(c);
  atomic_fetch_sub(&srv->live, 1);
}

/* Starts a batch with c->mu held; pending counts it. */
static void start_locked(dd_call *c, const grpc_op *ops, size_t n, dd_tag *tag) {
  c->pending++;
  grpc_call_error e = grpc_call_start_batch(c->call, ops, n, tag, NULL);
  if (e != GRPC_CALL_OK) {
    c->pending--;
    DD_ERROR("rpc: grpc_call_start_batch failed (%d) on %s", (int)e,
             c->m ? c->m->path : "unknown method");
  }
}

/* Ends one completed batch: frees the call when it was the last. */
static void batch_done(dd_call *c) {
  pthread_mutex_lock(&c->mu);
  int last = --c->pending == 0;
  pthread_mutex_unlock(&c->mu);
  if (last) call_free(c);
}

static void on_status(dd_tag *t, int ok) { batch_done(CONTAINER(t, dd_call, t_status)); }

static void count_status(dd_call *c) {
  dd_server *srv = c->w->srv;
  size_t method = c->m ? (size_t)(c->m - srv->opts.methods) : srv->opts.n_methods;
  size_t code = (size_t)c->code < DD_RPC_CODES ? (size_t)c->code : GRPC_STATUS_UNKNOWN;
  atomic_fetch_add_explicit(&srv->by_code[method * DD_RPC_CODES + code], 1, memory_order_relaxed);
}

static void send_status_locked(dd_call *c) {
  count_status(c);
  grpc_op op;
  memset(&op, 0, sizeof op);
  op.op = GRPC_OP_SEND_STATUS_FROM_SERVER;
  op.data.send_status_from_server.status = c->code;
  op.data.send_status_from_server.status_details = c->has_details ? &c->details : NULL;
  start_locked(c, &op, 1, &c->t_status);
}

static void send_message_locked(dd_call *c) {
  grpc_op ops[2];
  size_t n = 0;
  memset(ops, 0, sizeof ops);
  if (!c->md_sent) {
    ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
    c->md_sent = 1;
  }
  if (c->send_buf) {
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n++].data.send_message.send_message = c->send_buf;
  }
  c->sending = 1;
  start_locked(c, ops, n, &c->t_send);
}

/* Asks a server stream's handler for its next message and sends it, or
 * ends the stream with its status. On the call's worker. */
static void stream_step(dd_call *c) {
  int more = c->m->server_next(c, c->state);
  dd_arena_reset(&c->w->arena);
  pthread_mutex_lock(&c->mu);
  if (more && c->send_buf && !c->answered) {
    send_message_locked(c);
    pthread_mutex_unlock(&c->mu);
    return;
  }
  pthread_mutex_unlock(&c->mu);
  c->m->server_free(c->state);
  c->state = NULL;
  if (!c->answered) {
    c->answered = 1;
    c->code = GRPC_STATUS_OK;
  }
  pthread_mutex_lock(&c->mu);
  c->final = 1;
  if (c->send_buf) { /* a message sent with a failure: dropped */
    grpc_byte_buffer_destroy(c->send_buf);
    c->send_buf = NULL;
  }
  if (c->md_sent) send_status_locked(c);
  else send_message_locked(c); /* metadata, then the status (on_send) */
  pthread_mutex_unlock(&c->mu);
}

static void on_send(dd_tag *t, int ok) {
  dd_call *c = CONTAINER(t, dd_call, t_send);
  if (c->m && c->m->kind == DD_RPC_SERVER_STREAM && !c->final) {
    pthread_mutex_lock(&c->mu);
    c->sending = 0;
    if (c->send_buf) grpc_byte_buffer_destroy(c->send_buf);
    c->send_buf = NULL;
    int gone = !ok || c->closed;
    pthread_mutex_unlock(&c->mu);
    if (gone) { /* the client went away: nothing more can reach it */
      c->m->server_free(c->state);
      c->state = NULL;
    } else {
      stream_step(c);
    }
    batch_done(c);
    return;
  }
  pthread_mutex_lock(&c->mu);
  c->sending = 0;
  if (c->send_buf) {
    grpc_byte_buffer_destroy(c->send_buf);
    c->send_buf = NULL;
  }
  if (!c->final) { /* a watch message */
    if (ok && !c->closed && c->next_buf) {
      c->send_buf = c->next_buf;
      c->next_buf = NULL;
      send_message_locked(c);
    }
  } else {
    send_status_locked(c);
  }
  pthread_mutex_unlock(&c->mu);
  batch_done(c);
}

/* Sends the answer: metadata and message, then the status. */
static void send_answer(dd_call *c) {
  if (!c->answered) dd_call_fail(c, GRPC_STATUS_INTERNAL, "the handler gave no answer");
  pthread_mutex_lock(&c->mu);
  c->final = 1;
  if (c->sending) { /* a watch message is in flight: drop it from the queue */
    if (c->next_buf) grpc_byte_buffer_destroy(c->next_buf);
    c->next_buf = NULL;
  }
  send_message_locked(c);
  pthread_mutex_unlock(&c->mu);
}

static void watch_unlink(dd_call *c) {
  dd_server *srv = c->w->srv;
  pthread_mutex_lock(&srv->mu);
  if (c->watch_prev) c->watch_prev->watch_next = c->watch_next;
  else if (srv->watches == c) srv->watches = c->watch_next;
  if (c->watch_next) c->watch_next->watch_prev = c->watch_prev;
  c->watch_next = c->watch_prev = NULL;
  pthread_mutex_unlock(&srv->mu);
}

static void on_close(dd_tag *t, int ok) {
  dd_call *c = CONTAINER(t, dd_call, t_close);
  if (c->m && c->m->kind == DD_RPC_WATCH) {
    watch_unlink(c);
    if (c->m->watch_stop) c->m->watch_stop(c);
  }
  pthread_mutex_lock(&c->mu);
  c->closed = 1;
  pthread_mutex_unlock(&c->mu);
  if (c->cancelled) DD_DEBUG("rpc: %s cancelled", c->m ? c->m->path : "call");
  batch_done(c);
}

static void post_recv(dd_call *c) {
  grpc_op op;
  memset(&op, 0, sizeof op);
  op.op = GRPC_OP_RECV_MESSAGE;
  op.data.recv_message.recv_message = &c->recv_buf;
  pthread_mutex_lock(&c->mu);
  start_locked(c, &op, 1, &c->t_recv);
  pthread_mutex_unlock(&c->mu);
}

/* Refuses (answers) a request whose string fields hold a NUL byte: 1 when
 * refused. */
static int refuse_nul(dd_call *c, const uint8_t *data, size_t len) {
  char path[256];
  if (!c->m->request || !dd_wire_find_nul(c->m->request, data, len, path, sizeof path)) return 0;
  dd_call_fail(c, GRPC_STATUS_INVALID_ARGUMENT,
               "%s: contains a NUL byte; expected text without NUL bytes", path);
  return 1;
}

static void on_recv(dd_tag *t, int ok) {
  dd_call *c = CONTAINER(t, dd_call, t_recv);
  worker *w = c->w;
  const dd_method *m = c->m;
  grpc_byte_buffer *bb = c->recv_buf;
  c->recv_buf = NULL;
  if (!ok) { /* cancelled or broken: no answer can reach the client */
    m->stream_abort(c->state);
    c->state = NULL;
  } else if (!bb) { /* the client half-closed: the stream is complete */
    m->stream_end(c, c->state);
    c->state = NULL;
    dd_arena_reset(&w->arena);
    send_answer(c);
  } else {
    const uint8_t *data;
    size_t len;
    int failed;
    if (read_message(w, bb, &data, &len)) {
      dd_call_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory reading a message");
      failed = 1;
    } else {
      failed = refuse_nul(c, data, len) || m->stream_message(c, c->state, data, len) != 0;
    }
    dd_arena_reset(&w->arena);
    if (failed) {
      m->stream_abort(c->state);
      c->state = NULL;
      send_answer(c);
    } else {
      post_recv(c);
    }
  }
  if (bb) grpc_byte_buffer_destroy(bb);
  batch_done(c);
}

/* ------------------------------------------------------------- requests */

static void post_request(worker *w, int method);

static void begin_call(posted *p) {
  worker *w = p->w;
  dd_server *srv = w->srv;
  dd_call *c = calloc(1, sizeof *c);
  if (!c) {
    grpc_call_cancel_with_status(p->call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory", NULL);
    grpc_call_unref(p->call);
    return;
  }
  atomic_fetch_add(&srv->calls, 1);
  atomic_fetch_add(&srv->live, 1);
  c->w = w;
  c->call = p->call;
  c->m = p->method >= 0 ? &srv->opts.methods[p->method] : NULL;
  pthread_mutex_init(&c->mu, NULL);
  c->t_close.fn = on_close;
  c->t_recv.fn = on_recv;
  c->t_send.fn = on_send;
  c->t_status.fn = on_status;
  size_t header_len = 0;
  for (size_t i = 0; i < p->md.count; i++) {
    if (grpc_slice_str_cmp(p->md.metadata[i].key, "x-model-id") == 0) {
      size_t n = GRPC_SLICE_LENGTH(p->md.metadata[i].value);
      header_len = n;
      if (n > MAX_MODEL_HEADER) continue; /* refused below, never copied */
      free(c->model_header);
      c->model_header = malloc(n + 1);
      if (c->model_header) {
        memcpy(c->model_header, GRPC_SLICE_START_PTR(p->md.metadata[i].value), n);
        c->model_header[n] = 0;
      }
    } else if (grpc_slice_str_cmp(p->md.metadata[i].key, "authorization") == 0) {
      /* A longer one is kept empty: no token is that long. */
      size_t n = GRPC_SLICE_LENGTH(p->md.metadata[i].value);
      if (n > MAX_AUTHORIZATION) n = 0;
      free(c->authorization);
      c->authorization = malloc(n + 1);
      if (c->authorization) {
        memcpy(c->authorization, GRPC_SLICE_START_PTR(p->md.metadata[i].value), n);
        c->authorization[n] = 0;
      }
    }
  }

  grpc_op op;
  memset(&op, 0, sizeof op);
  op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
  op.data.recv_close_on_server.cancelled = &c->cancelled;
  pthread_mutex_lock(&c->mu);
  c->pending = 1; /* held by begin_call until the end of this function */
  start_locked(c, &op, 1, &c->t_close);
  pthread_mutex_unlock(&c->mu);

  if (header_len > MAX_MODEL_HEADER) {
    dd_call_fail(c, GRPC_STATUS_INVALID_ARGUMENT,
                 "x-model-id: %zu bytes; expected a model id of at most %d bytes", header_len,
                 MAX_MODEL_HEADER);
    send_answer(c);
  } else if (!c->m) {
    char *method = grpc_slice_to_c_string(p->details.method);
    DD_DEBUG("rpc: unknown method %s", method);
    dd_call_fail(c, GRPC_STATUS_UNIMPLEMENTED, "unknown method %s", method);
    gpr_free(method);
    send_answer(c);
  } else if (srv->opts.authorize && srv->opts.authorize(srv->opts.authorize_arg, c)) {
    send_answer(c);
  } else if (c->m->kind == DD_RPC_CLIENT_STREAM) {
    c->state = c->m->stream_open(c);
    dd_arena_reset(&w->arena);
    if (!c->state) send_answer(c);
    else post_recv(c);
  } else {
    const uint8_t *data = NULL;
    size_t len = 0;
    if (!p->payload) {
      dd_call_fail(c, GRPC_STATUS_INVALID_ARGUMENT, "%s: the request carried no message",
                   c->m->path);
    } else if (read_message(w, p->payload, &data, &len)) {
      dd_call_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory reading the request");
    } else if (refuse_nul(c, data, len)) {
      /* answered */
    } else if (c->m->kind == DD_RPC_UNARY) {
      c->m->unary(c, data, len);
    } else if (c->m->kind == DD_RPC_SERVER_STREAM) {
      c->state = c->m->server_start(c, data, len);
      dd_arena_reset(&w->arena);
      if (c->state) stream_step(c);
    } else {
      pthread_mutex_lock(&srv->mu);
      c->watch_next = srv->watches;
      if (srv->watches) srv->watches->watch_prev = c;
      srv->watches = c;
      pthread_mutex_unlock(&srv->mu);
      c->m->watch_start(c, data, len);
    }
    dd_arena_reset(&w->arena);
    int streaming = c->m->kind == DD_RPC_SERVER_STREAM && (c->state || c->final);
    if (!streaming && (c->m->kind == DD_RPC_UNARY || c->answered)) send_answer(c);
  }
  batch_done(c);
}

static void on_request(dd_tag *t, int ok) {
  posted *p = CONTAINER(t, posted, tag);
  worker *w = p->w;
  if (ok && !atomic_load(&w->srv->shutting_down)) post_request(w, p->method);
  if (ok) begin_call(p);
  grpc_metadata_array_destroy(&p->md);
  if (p->method < 0) grpc_call_details_destroy(&p->details);
  if (p->payload) grpc_byte_buffer_destroy(p->payload);
  free(p);
}

static void post_request(worker *w, int method) {
  dd_server *srv = w->srv;
  posted *p = calloc(1, sizeof *p);
  if (!p) {
    DD_ERROR("rpc: out of memory posting a request");
    return;
  }
  p->tag.fn = on_request;
  p->w = w;
  p->method = method;
  grpc_metadata_array_init(&p->md);
  grpc_call_error e;
  if (method < 0) {
    grpc_call_details_init(&p->details);
    e = grpc_server_request_call(srv->server, &p->call, &p->details, &p->md, w->cq, w->cq,
                                 &p->tag);
  } else {
    int with_payload = srv->opts.methods[method].kind != DD_RPC_CLIENT_STREAM;
    e = grpc_server_request_registered_call(srv->server, srv->handles[method], &p->call,
                                            &p->deadline, &p->md,
                                            with_payload ? &p->payload : NULL, w->cq, w->cq,
                                            &p->tag);
  }
  if (e != GRPC_CALL_OK) {
    DD_ERROR("rpc: posting a request failed (%d)", (int)e);
    grpc_metadata_array_destroy(&p->md);
    if (method < 0) grpc_call_details_destroy(&p->details);
    free(p);
  }
}

/* --------------------------------------------------------------- workers */

static void *worker_main(void *arg) {
  worker *w = arg;
  dd_server *srv = w->srv;
  if (srv->opts.worker_init) w->data = srv->opts.worker_init(srv->opts.app, w->index);
  for (;;) {
    grpc_event ev = grpc_completion_queue_next(w->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    if (ev.type == GRPC_QUEUE_SHUTDOWN) break;
    if (ev.type != GRPC_OP_COMPLETE) continue;
    dd_tag *t = ev.tag;
    t->fn(t, ev.success);
  }
  if (srv->opts.worker_fini) srv->opts.worker_fini(srv->opts.app, w->data);
  return NULL;
}

/* The accept loop's hand-off: the connection becomes a gRPC transport. */
static void hand_off(void *arg, int fd) {
  dd_server *srv = arg;
  grpc_server_add_channel_from_fd(srv->server, fd, srv->fd_creds);
}

void dd_server_connections(dd_server *srv, uint64_t *accepted, uint64_t *refused,
                           uint64_t *open) {
  dd_listener_stats st;
  dd_listener_get_stats(srv ? srv->listener : NULL, &st);
  *accepted = st.accepted;
  *refused = st.refused;
  *open = st.open;
}

static void on_shutdown(dd_tag *t, int ok) {
  dd_server *srv = CONTAINER(t, dd_server, shutdown_tag);
  pthread_mutex_lock(&srv->mu);
  srv->shutdown_done = 1;
  pthread_cond_broadcast(&srv->cv);
  pthread_mutex_unlock(&srv->mu);
}

dd_server *dd_server_start(const dd_server_options *opts, char *err, size_t errcap) {
  dd_server *srv = calloc(1, sizeof *srv);
  if (!srv) {
    snprintf(err, errcap, "out of memory");
    return NULL;
  }
  srv->opts = *opts;
  int listen_fd = -1; /* the plaintext port, bound below (listener.h) */
  pthread_mutex_init(&srv->mu, NULL);
  pthread_cond_init(&srv->cv, NULL);
  srv->shutdown_tag.fn = on_shutdown;

  grpc_arg args[5];
  memset(args, 0, sizeof args);
  args[0].type = GRPC_ARG_INTEGER;
  args[0].key = (char *)GRPC_ARG_ALLOW_REUSEPORT;
  args[0].value.integer = 0;
  args[1].type = GRPC_ARG_INTEGER;
  args[1].key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
  args[1].value.integer = (int)opts->max_message_bytes;
  args[2].type = GRPC_ARG_INTEGER;
  args[2].key = (char *)GRPC_ARG_MAX_SEND_MESSAGE_LENGTH;
  args[2].value.integer = -1;
  args[3].type = GRPC_ARG_INTEGER;
  args[3].key = (char *)GRPC_ARG_MAX_METADATA_SIZE;
  args[3].value.integer = MAX_METADATA_BYTES;
  args[4].type = GRPC_ARG_INTEGER;
  args[4].key = (char *)GRPC_ARG_MAX_CONCURRENT_STREAMS;
  args[4].value.integer = opts->max_streams_per_connection;
  grpc_channel_args chargs = {opts->max_streams_per_connection > 0 ? 5 : 4, args};
  srv->server = grpc_server_create(&chargs, NULL);

  srv->handles = calloc(opts->n_methods ? opts->n_methods : 1, sizeof *srv->handles);
  srv->workers = calloc((size_t)opts->threads, sizeof *srv->workers);
  srv->by_code = calloc((opts->n_methods + 1) * DD_RPC_CODES, sizeof *srv->by_code);
  if (!srv->handles || !srv->workers || !srv->by_code) {
    snprintf(err, errcap, "out of memory");
    goto fail;
  }
  for (size_t i = 0; i < opts->n_methods; i++) {
    grpc_server_register_method_payload_handling ph =
        opts->methods[i].kind == DD_RPC_CLIENT_STREAM ? GRPC_SRM_PAYLOAD_NONE
                                                      : GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER;
    srv->handles[i] = grpc_server_register_method(srv->server, opts->methods[i].path, NULL, ph, 0);
  }
  for (int i = 0; i < opts->threads; i++) {
    srv->workers[i].srv = srv;
    srv->workers[i].index = i;
    srv->workers[i].cq = grpc_completion_queue_create_for_next(NULL);
    dd_arena_init(&srv->workers[i].arena);
    grpc_server_register_completion_queue(srv->server, srv->workers[i].cq, NULL);
  }
  /* Plaintext: driftd's own accept loop (listener.h) feeds gRPC, which in
   * 1.51 would stop accepting for good after EMFILE and cannot cap
   * connections. TLS: gRPC's listener (its fd hand-off is plaintext only). */
  if (!(opts->tls_cert_pem && opts->tls_key_pem)) {
    int unsupported = 0;
    listen_fd = dd_listener_bind(opts->listen, &unsupported, err, errcap);
    if (listen_fd < 0 && !unsupported) goto fail;
  }
  grpc_server_credentials *creds;
  if (listen_fd >= 0) {
    creds = NULL;
  } else if (opts->tls_cert_pem && opts->tls_key_pem) {
    grpc_ssl_pem_key_cert_pair pair = {opts->tls_key_pem, opts->tls_cert_pem};
    creds = grpc_ssl_server_credentials_create_ex(
        opts->tls_client_ca_pem, &pair, 1,
        opts->tls_client_ca_pem ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE,
        NULL);
  } else {
    creds = grpc_insecure_server_credentials_create();
  }
  if (listen_fd < 0 && !creds) {
    snprintf(err, errcap, "cannot build the TLS credentials (see the log above)");
    goto fail;
  }
  if (creds) {
    int port = grpc_server_add_http2_port(srv->server, opts->listen, creds);
    grpc_server_credentials_release(creds);
    if (port == 0) {
      snprintf(err, errcap, "cannot listen on %s (address in use or invalid)", opts->listen);
      goto fail;
    }
  }
  grpc_server_start(srv->server);
  for (int i = 0; i < opts->threads; i++) {
    worker *w = &srv->workers[i];
    for (size_t m = 0; m < opts->n_methods; m++) post_request(w, (int)m);
    post_request(w, -1);
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
      /* Threads already started are stopped by the shutdown path. */
      snprintf(err, errcap, "cannot start worker thread %d", i);
      srv->opts.threads = i;
      for (int j = i; j < opts->threads; j++) {
        grpc_completion_queue_shutdown(srv->workers[j].cq);
      }
      if (listen_fd >= 0) close(listen_fd);
      dd_server_shutdown(srv, 0);
      return NULL;
    }
  }
  if (listen_fd >= 0) {
    srv->fd_creds = grpc_insecure_server_credentials_create();
    dd_listener_options lo = {.max_connections = opts->max_connections,
                              .reserve_fds = 64,
                              .hand_off = hand_off,
                              .arg = srv};
    srv->listener = dd_listener_start(listen_fd, &lo, err, errcap); /* owns listen_fd */
    if (!srv->listener) {
      dd_server_shutdown(srv, 0);
      return NULL;
    }
  }
  return srv;

fail:
  if (listen_fd >= 0) close(listen_fd);
  if (srv->workers) {
    for (int i = 0; i < opts->threads; i++) {
      if (!srv->workers[i].cq) continue;
      grpc_completion_queue_shutdown(srv->workers[i].cq);
      while (grpc_completion_queue_next(srv->workers[i].cq, gpr_inf_future(GPR_CLOCK_REALTIME),
                                        NULL)
                 .type != GRPC_QUEUE_SHUTDOWN) {
      }
    }
  }
  grpc_server_destroy(srv->server);
  if (srv->workers)
    for (int i = 0; i < opts->threads; i++) {
      if (!srv->workers[i].cq) continue;
      grpc_completion_queue_destroy(srv->workers[i].cq);
      dd_arena_free(&srv->workers[i].arena);
    }
  free(srv->workers);
  free(srv->handles);
  free(srv->by_code);
  pthread_mutex_destroy(&srv->mu);
  pthread_cond_destroy(&srv->cv);
  free(srv);
  return NULL;
}

static void wait_shutdown(dd_server *srv, int grace_s) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += grace_s;
  pthread_mutex_lock(&srv->mu);
  while (!srv->shutdown_done) {
    if (pthread_cond_timedwait(&srv->cv, &srv->mu, &until) != 0) break;
  }
  int done = srv->shutdown_done;
  pthread_mutex_unlock(&srv->mu);
  if (done) return;
  DD_WARN("shutdown: calls still running after %d s; cancelling them", grace_s);
  grpc_server_cancel_all_calls(srv->server);
  pthread_mutex_lock(&srv->mu);
  while (!srv->shutdown_done) pthread_cond_wait(&srv->cv, &srv->mu);
  pthread_mutex_unlock(&srv->mu);
}

/* The server's shutdown completes once its channels are gone, but a call
 * the grace cut short may still be finishing on a worker (its handler
 * ends, then sends its status): a batch started after its queue shut down
 * would abort the process. The workers keep polling until every call is
 * freed; a handler stuck past 30 s is reported and not waited for. */
static void wait_calls_freed(dd_server *srv) {
  for (int waited_ms = 0; atomic_load(&srv->live) > 0; waited_ms += 2) {
    if (waited_ms >= 30000) {
      DD_ERROR("shutdown: %d calls still not finished after 30 s", atomic_load(&srv->live));
      return;
    }
    usleep(2000);
  }
}

/* Gives the watches' last messages (NOT_SERVING, a final alert state) up to
 * a second to leave before the watches are cancelled: a cancel aborts a
 * send still in flight, and the client would never see it. */
static void flush_watches(dd_server *srv) {
  for (int waited_ms = 0; waited_ms < 1000; waited_ms += 5) {
    int busy = 0;
    pthread_mutex_lock(&srv->mu);
    for (dd_call *c = srv->watches; c && !busy; c = c->watch_next) {
      pthread_mutex_lock(&c->mu);
      busy = c->sending || c->next_buf;
      pthread_mutex_unlock(&c->mu);
    }
    pthread_mutex_unlock(&srv->mu);
    if (!busy) return;
    usleep(5000);
  }
}

void dd_server_shutdown(dd_server *srv, int grace_s) {
  if (!srv) return;
  dd_listener_stop(srv->listener); /* no connection is handed to gRPC after this */
  srv->listener = NULL;
  atomic_store(&srv->shutting_down, 1);
  grpc_server_shutdown_and_notify(srv->server, srv->workers[0].cq, &srv->shutdown_tag);
  /* Watches never end by themselves: end them now. */
  flush_watches(srv);
  pthread_mutex_lock(&srv->mu);
  for (dd_call *c = srv->watches; c; c = c->watch_next)
    grpc_call_cancel_with_status(c->call, GRPC_STATUS_UNAVAILABLE, "driftd is shutting down",
                                 NULL);
  pthread_mutex_unlock(&srv->mu);
  wait_shutdown(srv, grace_s);
  wait_calls_freed(srv);
  for (int i = 0; i < srv->opts.threads; i++) grpc_completion_queue_shutdown(srv->workers[i].cq);
  for (int i = 0; i < srv->opts.threads; i++) pthread_join(srv->workers[i].thread, NULL);
  grpc_server_destroy(srv->server);
  if (srv->fd_creds) grpc_server_credentials_release(srv->fd_creds);
  for (int i = 0; i < srv->opts.threads; i++) {
    grpc_completion_queue_destroy(srv->workers[i].cq);
    dd_arena_free(&srv->workers[i].arena);
    free(srv->workers[i].buf);
  }
  free(srv->workers);
  free(srv->handles);
  free(srv->by_code);
  pthread_mutex_destroy(&srv->mu);
  pthread_cond_destroy(&srv->cv);
  free(srv);
}

uint64_t dd_server_calls(const dd_server *srv) {
  return atomic_load(&((dd_server *)srv)->calls);
}

uint64_t dd_server_calls_by_code(const dd_server *srv, size_t method, int code) {
  if (method > srv->opts.n_methods || code < 0 || code >= DD_RPC_CODES) return 0;
  return atomic_load_explicit(&srv->by_code[method * DD_RPC_CODES + (size_t)code],
                              memory_order_relaxed);
}

size_t dd_server_n_methods(const dd_server *srv) { return srv->opts.n_methods; }

const char *dd_server_method_path(const dd_server *srv, size_t method) {
  return method < srv->opts.n_methods ? srv->opts.methods[method].path : NULL;
}

/* ----------------------------------------------------------- for handlers */

void *dd_call_app(const dd_call *call) { return call->w->srv->opts.app; }
void *dd_call_worker_data(const dd_call *call) { return call->w->data; }
dd_arena *dd_call_arena(dd_call *call) { return &call->w->arena; }
int dd_call_message_room(const dd_call *call, const uint8_t *msg) {
  return msg != NULL && msg == call->w->room_msg;
}
const dd_method *dd_call_method(const dd_call *call) { return call->m; }
const char *dd_call_model_header(const dd_call *call) { return call->model_header; }
const char *dd_call_authorization(const dd_call *call) { return call->authorization; }
void dd_call_set_principal(dd_call *call, const void *principal) { call->principal = principal; }
const void *dd_call_principal(const dd_call *call) { return call->principal; }
int dd_call_answered(const dd_call *call) { return call->answered; }

void dd_call_reply(dd_call *c, const ProtobufCMessage *msg) {
  if (c->answered) return;
  c->answered = 1;
  c->code = GRPC_STATUS_OK;
  c->send_buf = pack(msg);
}

void dd_call_fail(dd_call *c, grpc_status_code code, const char *fmt, ...) {
  if (c->answered) return;
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  c->answered = 1;
  c->code = code;
  c->details = grpc_slice_from_copied_string(msg);
  c->has_details = 1;
  DD_DEBUG("rpc: %s -> status %d: %s", c->m ? c->m->path : "unknown", (int)code, msg);
}

void dd_call_stream_send(dd_call *c, const ProtobufCMessage *msg) {
  pthread_mutex_lock(&c->mu);
  if (c->send_buf) grpc_byte_buffer_destroy(c->send_buf);
  c->send_buf = pack(msg);
  pthread_mutex_unlock(&c->mu);
}

int dd_call_push(dd_call *c, const ProtobufCMessage *msg) {
  grpc_byte_buffer *bb = pack(msg);
  pthread_mutex_lock(&c->mu);
  if (c->closed || c->final) {
    pthread_mutex_unlock(&c->mu);
    grpc_byte_buffer_destroy(bb);
    return -1;
  }
  if (c->sending) {
    if (c->next_buf) grpc_byte_buffer_destroy(c->next_buf);
    c->next_buf = bb;
  } else {
    c->send_buf = bb;
    send_message_locked(c);
  }
  pthread_mutex_unlock(&c->mu);
  return 0;
}
