/*
 * http_server.c - the HTTP side port on libmicrohttpd (http_server.h):
 * listening, the thread pool with one engine context per thread, routing,
 * methods, and sending what the route files built.
 *
 * Only GET and HEAD are served (405 with Allow otherwise); paths are routed
 * by exact prefix, never mapped to files, so no path reaches the
 * filesystem except the configured Chart.js file (http_pages.c).
 */
#include "http/http_server.h"

#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/auth.h"
#include "http/http.h"
#include "http/http_json.h"
#include "core/log.h"

struct dd_http {
  struct MHD_Daemon *daemon;
  dd_app *app;
  pthread_key_t key; /* per request thread: its thread_state */
};

typedef struct thread_state {
  drift_context *ctx;
  dd_arena arena;
} thread_state;

static void thread_state_free(void *p) {
  thread_state *t = p;
  drift_context_destroy(t->ctx);
  dd_arena_free(&t->arena);
  free(t);
}

/* This thread's state, created on its first request. */
static thread_state *thread_state_get(dd_http *h) {
  thread_state *t = pthread_getspecific(h->key);
  if (t) return t;
  if (!(t = calloc(1, sizeof *t))) return NULL;
  drift_context_options o = h->app->engine;
  o.threads = 1; /* requests run side by side on the pool; the engine call stays single-threaded */
  if (drift_context_create(&o, &t->ctx) != DRIFT_OK) {
    DD_ERROR("http: no engine context: %s", drift_last_error(NULL));
    free(t);
    return NULL;
  }
  dd_arena_init(&t->arena);
  pthread_setspecific(h->key, t);
  return t;
}

/* ------------------------------------------------------------- helpers */

const char *dd_http_arg(const dd_http_req *r, const char *name) {
  return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

void dd_http_error(dd_http_resp *out, unsigned status, const char *param, const char *fmt, ...) {
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  dd_buf_free(&out->body);
  out->data = NULL;
  out->status = status;
  out->type = "application/json";
  dd_json j;
  dd_json_init(&j, &out->body);
  dd_json_object(&j);
  dd_json_key(&j, "error");
  dd_json_string(&j, msg);
  if (param) {
    dd_json_key(&j, "parameter");
    dd_json_string(&j, param);
  }
  dd_json_end_object(&j);
  dd_buf_puts(&out->body, "\n");
}

int dd_http_model_allowed(const dd_http_req *r, const char *model, dd_http_resp *out) {
  if (dd_token_model_ok(r->token, model)) return 1;
  if (out)
    dd_http_error(out, 403, NULL, "model \"%s\" is not among token \"%s\"'s models", model,
                  r->token->name);
  return 0;
}

size_t dd_http_filter_models(const dd_http_req *r, dd_model **ms, size_t n) {
  size_t kept = 0;
  for (size_t i = 0; i < n; i++) {
    if (dd_http_model_allowed(r, ms[i]->id, NULL))
      ms[kept++] = ms[i];
    else
      dd_model_unref(ms[i]);
  }
  return kept;
}

/* -------------------------------------------------------------- routing */

static void route(dd_http_req *r, dd_http_resp *out) {
  const char *p = r->path;
  if (strcmp(p, "/metrics") == 0)
    dd_http_metrics(r, out);
  else if (strncmp(p, "/api/v1", 7) == 0 && (p[7] == '/' || p[7] == 0))
    dd_http_api(r, p + 7, out);
  else if (!dd_http_pages(r, out))
    dd_http_error(out, 404, NULL, "no page at %s", p);
}

static enum MHD_Result send_response(struct MHD_Connection *c, dd_http_resp *out, int allow) {
  struct MHD_Response *resp;
  if (out->data) {
    resp = MHD_create_response_from_buffer(out->len, (void *)out->data, MHD_RESPMEM_PERSISTENT);
  } else {
    size_t len;
    char *body = dd_buf_take(&out->body, &len);
    resp = MHD_create_response_from_buffer(len, body ? body : (void *)"",
                                           body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp) free(body);
  }
  if (!resp) return MHD_NO;
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, out->type);
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
                          out->cache ? out->cache : "no-store");
  MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
  if (allow) MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
  if (out->authenticate)
    MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, out->authenticate);
  enum MHD_Result rc = MHD_queue_response(c, out->status, resp);
  MHD_destroy_response(resp);
  return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **state) {
  dd_http *h = cls;
  (void)version;
  (void)upload_data;
  static int first_call;
  if (*state == NULL) { /* headers only: answer once the body (if any) is in */
    *state = &first_call;
    return MHD_YES;
  }
  if (*upload_size) { /* a body on a read-only port: ignored, the method decides */
    *upload_size = 0;
    return MHD_YES;
  }
  dd_http_resp out = {.status = 200, .type = "text/plain; charset=utf-8"};
  dd_buf_init(&out.body);
  int get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
  thread_state *t = get ? thread_state_get(h) : NULL;
  const dd_token *token = NULL;
  const char *why = NULL;
  if (h->app->auth)
    token = dd_auth_header(h->app->auth,
                           MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                       MHD_HTTP_HEADER_AUTHORIZATION),
                           1, &why);
  if (h->app->auth && !token) {
    /* Browsers ask for credentials on Basic; the password is the token. */
    dd_http_error(&out, 401, NULL, "%s", why);
    out.authenticate = "Basic realm=\"driftd\", charset=\"UTF-8\"";
  } else if (!get) {
    dd_http_error(&out, 405, NULL, "method %s: this port is read-only; expected GET or HEAD",
                  method);
  } else if (!t) {
    dd_http_error(&out, 503, NULL, "no engine context for this request");
  } else {
    dd_http_req r = {
        .app = h->app, .ctx = t->ctx, .arena = &t->arena, .conn = c, .path = url, .token = token};
    route(&r, &out);
    dd_arena_reset(&t->arena);
  }
  if (out.body.failed) {
    dd_buf_free(&out.body);
    dd_http_error(&out, 500, NULL, "out of memory building the answer");
  }
  enum MHD_Result rc = send_response(c, &out, !get);
  dd_buf_free(&out.body);
  return rc;
}

/* -------------------------------------------------------------- lifetime */

static int resolve(const char *listen, struct sockaddr_storage *sa, int *v6, char *err,
                   size_t errcap) {
  char host[256];
  const char *colon = strrchr(listen, ':');
  if (!colon || colon == listen || !colon[1] || (size_t)(colon - listen) >= sizeof host) {
    snprintf(err, errcap, "http_listen: \"%s\"; expected host:port or off", listen);
    return -1;
  }
  memcpy(host, listen, (size_t)(colon - listen));
  host[colon - listen] = 0;
  char *h = host;
  if (h[0] == '[' && h[strlen(h) - 1] == ']') { /* [::1] */
    h[strlen(h) - 1] = 0;
    h++;
  }
  struct addrinfo hints = {
      .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
  struct addrinfo *ai = NULL;
  int rc = getaddrinfo(h, colon + 1, &hints, &ai);
  if (rc || !ai) {
    snprintf(err, errcap, "http_listen: \"%s\": %s", listen, gai_strerror(rc));
    return -1;
  }
  memcpy(sa, ai->ai_addr, ai->ai_addrlen);
  *v6 = ai->ai_family == AF_INET6;
  freeaddrinfo(ai);
  return 0;
}

dd_http *dd_http_start(dd_app *app, char *err, size_t errcap) {
  err[0] = 0;
  if (strcmp(app->cfg.http_listen, "off") == 0) return NULL;
  struct sockaddr_storage sa;
  int v6 = 0;
  if (resolve(app->cfg.http_listen, &sa, &v6, err, errcap)) return NULL;
  dd_http *h = calloc(1, sizeof *h);
  if (!h || pthread_key_create(&h->key, thread_state_free)) {
    free(h);
    snprintf(err, errcap, "http: out of memory");
    return NULL;
  }
  h->app = app;
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | (v6 ? MHD_USE_IPv6 : 0);
  if (app->tls_cert_pem) {
    /* The gRPC port's certificate. Client certificates are not asked for
     * here: the side port relies on the tokens. */
    h->daemon = MHD_start_daemon(
        flags | MHD_USE_TLS, 0, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)app->cfg.http_threads,
        MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_HTTPS_MEM_KEY, app->tls_key_pem,
        MHD_OPTION_HTTPS_MEM_CERT, app->tls_cert_pem, MHD_OPTION_END);
  } else {
    h->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR,
                                 (struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE,
                                 (unsigned)app->cfg.http_threads, MHD_OPTION_CONNECTION_TIMEOUT,
                                 30u, MHD_OPTION_END);
  }
  if (!h->daemon) {
    snprintf(err, errcap, "http: cannot listen on %s (address in use or not available)",
             app->cfg.http_listen);
    pthread_key_delete(h->key);
    free(h);
    return NULL;
  }
  return h;
}

void dd_http_stop(dd_http *h) {
  if (!h) return;
  MHD_stop_daemon(h->daemon); /* joins the pool: each thread's state is freed as it exits */
  pthread_key_delete(h->key);
  free(h);
}
