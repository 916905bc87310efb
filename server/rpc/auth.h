/*
 * auth.h - who may call what: bearer tokens from a token file, each with a
 * role (read, write, admin) and the model-id prefixes it may touch; checked
 * on every gRPC call (the authorize hook of rpc.h) and every HTTP request of
 * the side port.
 *
 * The token file has one token per line, four fields separated by blanks:
 *
 *     # name       role   models          token
 *     ingest-fraud write  fraud-,churn-   9f8e7d6c5b4a39281706f5e4d3c2b1a0
 *     grafana      read   *               0a1b2c3d4e5f60718293a4b5c6d7e8f9
 *
 * name: 1..64 characters of [A-Za-z0-9._-], for logs and messages; role:
 * read (queries, watches, stats), write (read + logging predictions and
 * feedback, uploading references), admin (write + creating and deleting
 * models, and any method without a lower level); models: "*" or a
 * comma-separated list of id prefixes; token: 16..256 printable characters
 * other than blanks. Blank lines and lines starting with '#' are skipped.
 * Names and tokens are unique.
 *
 * Clients send "authorization: Bearer <token>" (gRPC metadata or HTTP
 * header); the HTTP side port also takes HTTP Basic credentials with the
 * token as the password, so a browser can log in. Tokens are compared in
 * time independent of their content.
 *
 * With no token file (auth off) every check passes. Read-only after load.
 */
#ifndef DRIFTD_AUTH_H
#define DRIFTD_AUTH_H

#include <stddef.h>

#include "rpc/rpc.h"

typedef struct dd_token {
  char name[65];
  dd_access role;      /* DD_ACCESS_READ, _WRITE or _ADMIN */
  int all_models;      /* models "*" */
  char **prefixes;
  size_t n_prefixes;
  char *secret;
  size_t secret_len;
} dd_token;

typedef struct dd_auth {
  dd_token *tokens;
  size_t n;
} dd_auth;

/* Reads the token file. 0, or -1 with a message naming the line in err.
 * *world_readable gets whether others than the owner may read the file. */
int dd_auth_load(const char *path, dd_auth **out, int *world_readable, char *err, size_t errcap);
void dd_auth_free(dd_auth *a);

/* The token an authorization value names: "Bearer <token>", or, when
 * allow_basic, "Basic <base64 of user:token>". NULL with *why set when
 * there is none or it is unknown. */
const dd_token *dd_auth_header(const dd_auth *a, const char *value, int allow_basic,
                               const char **why);

/* Whether t (NULL: auth off) may call a method needing `need`. */
int dd_token_may(const dd_token *t, dd_access need);
/* Whether t (NULL: auth off) may touch the model. */
int dd_token_model_ok(const dd_token *t, const char *model);
/* "read", "write", "admin" or "public". */
const char *dd_access_name(dd_access a);

/* The gRPC authorize hook (rpc.h): arg is the dd_auth. */
int dd_auth_call(void *arg, dd_call *call);
/* In handlers: 0 when the call's token may touch the model, else the call
 * fails PERMISSION_DENIED naming the field and -1. */
int dd_auth_model(dd_call *call, const char *model, const char *field);
/* The call's token (NULL: auth off). */
const dd_token *dd_auth_token(const dd_call *call);

#endif /* DRIFTD_AUTH_H */
