/*
 * auth.c - the token file, the bearer and basic header forms, and the
 * per-call and per-model checks (auth.h).
 */
#include "rpc/auth.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/log.h"
#include "core/names.h"

#define LINE_MAX_ 4096

static int name_char(unsigned char c) { return dd_name_char(c, "._-"); }

const char *dd_access_name(dd_access a) {
  switch (a) {
    case DD_ACCESS_READ:
      return "read";
    case DD_ACCESS_WRITE:
      return "write";
    case DD_ACCESS_PUBLIC:
      return "public";
    default:
      return "admin";
  }
}

static void token_free(dd_token *t) {
  for (size_t i = 0; i < t->n_prefixes; i++) free(t->prefixes[i]);
  free(t->prefixes);
  if (t->secret) memset(t->secret, 0, t->secret_len);
  free(t->secret);
}

void dd_auth_free(dd_auth *a) {
  if (!a) return;
  for (size_t i = 0; i < a->n; i++) token_free(&a->tokens[i]);
  free(a->tokens);
  free(a);
}

/* Splits the models field into t's prefixes. */
static int parse_models(dd_token *t, char *models, char *err, size_t errcap, const char *where) {
  if (strcmp(models, "*") == 0) {
    t->all_models = 1;
    return 0;
  }
  size_t n = 1;
  for (const char *c = models; *c; c++) n += *c == ',';
  t->prefixes = calloc(n, sizeof *t->prefixes);
  if (!t->prefixes) {
    snprintf(err, errcap, "%s: out of memory", where);
    return -1;
  }
  char *save = NULL;
  for (char *p = strtok_r(models, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
    for (const char *c = p; *c; c++)
      if (!name_char((unsigned char)*c)) {
        snprintf(err, errcap, "%s: models: prefix \"%s\" has '%c'; expected * or prefixes of "
                 "[A-Za-z0-9._-] separated by commas", where, p, *c);
        return -1;
      }
    if (!(t->prefixes[t->n_prefixes++] = strdup(p))) {
      snprintf(err, errcap, "%s: out of memory", where);
      return -1;
    }
  }
  if (t->n_prefixes == 0) {
    snprintf(err, errcap, "%s: models: empty; expected * or prefixes separated by commas", where);
    return -1;
  }
  return 0;
}

static int parse_line(dd_auth *a, char *line, char *err, size_t errcap, const char *where) {
  char *save = NULL;
  char *f[5];
  int n = 0;
  for (char *p = strtok_r(line, " \t\r\n", &save); p && n < 5; p = strtok_r(NULL, " \t\r\n", &save))
    f[n++] = p;
  if (n == 0 || f[0][0] == '#') return 0;
  if (n != 4) {
    snprintf(err, errcap, "%s: %d fields; expected 4: name role models token", where, n);
    return -1;
  }
  dd_token *t = &a->tokens[a->n];
  memset(t, 0, sizeof *t);
  size_t nl = strlen(f[0]);
  int name_ok = nl >= 1 && nl <= 64;
  for (const char *c = f[0]; *c && name_ok; c++) name_ok = name_char((unsigned char)*c);
  if (!name_ok) {
    snprintf(err, errcap, "%s: name \"%.64s\": expected 1..64 characters of [A-Za-z0-9._-]", where,
             f[0]);
    return -1;
  }
  memcpy(t->name, f[0], nl + 1);
  if (strcmp(f[1], "read") == 0)
    t->role = DD_ACCESS_READ;
  else if (strcmp(f[1], "write") == 0)
    t->role = DD_ACCESS_WRITE;
  else if (strcmp(f[1], "admin") == 0)
    t->role = DD_ACCESS_ADMIN;
  else {
    snprintf(err, errcap, "%s: role \"%.32s\"; expected read, write or admin", where, f[1]);
    return -1;
  }
  size_t tl = strlen(f[3]);
  int tok_ok = tl >= 16 && tl <= 256;
  for (const char *c = f[3]; *c && tok_ok; c++) tok_ok = *c > ' ' && *c < 0x7f;
  if (!tok_ok) {
    snprintf(err, errcap, "%s: token of %zu characters; expected 16..256 printable characters "
             "(e.g. openssl rand -hex 32)", where, tl);
    return -1;
  }
  for (size_t i = 0; i < a->n; i++) {
    if (strcmp(a->tokens[i].name, t->name) == 0) {
      snprintf(err, errcap, "%s: name \"%s\" used twice", where, t->name);
      return -1;
    }
    if (a->tokens[i].secret_len == tl && memcmp(a->tokens[i].secret, f[3], tl) == 0) {
      snprintf(err, errcap, "%s: token of \"%s\" is also the token of \"%s\"", where, t->name,
               a->tokens[i].name);
      return -1;
    }
  }
  a->n++; /* from here token_free cleans it up with the rest */
  if (!(t->secret = strdup(f[3]))) {
    snprintf(err, errcap, "%s: out of memory", where);
    return -1;
  }
  t->secret_len = tl;
  return parse_models(t, f[2], err, errcap, where);
}

int dd_auth_load(const char *path, dd_auth **out, int *world_readable, char *err, size_t errcap) {
  *out = NULL;
  FILE *f = fopen(path, "r");
  if (!f) {
    snprintf(err, errcap, "auth_tokens: %s: %s", path, strerror(errno));
    return -1;
  }
  struct stat st;
  *world_readable = fstat(fileno(f), &st) == 0 && (st.st_mode & 077) != 0;
  dd_auth *a = calloc(1, sizeof *a);
  size_t cap = 16;
  if (a) a->tokens = calloc(cap, sizeof *a->tokens);
  if (!a || !a->tokens) {
    snprintf(err, errcap, "auth_tokens: out of memory");
    free(a);
    fclose(f);
    return -1;
  }
  char line[LINE_MAX_];
  int lineno = 0, rc = 0;
  while (rc == 0 && fgets(line, sizeof line, f)) {
    lineno++;
    char where[512];
    snprintf(where, sizeof where, "auth_tokens: %.400s line %d", path, lineno);
    if (!strchr(line, '\n') && !feof(f)) {
      snprintf(err, errcap, "%s: longer than %d bytes", where, LINE_MAX_ - 2);
      rc = -1;
      break;
    }
    if (a->n == cap) {
      dd_token *nt = realloc(a->tokens, 2 * cap * sizeof *nt);
      if (!nt) {
        snprintf(err, errcap, "auth_tokens: out of memory");
        rc = -1;
        break;
      }
      a->tokens = nt;
      cap *= 2;
    }
    rc = parse_line(a, line, err, errcap, where);
  }
  fclose(f);
  if (rc == 0 && a->n == 0) {
    snprintf(err, errcap, "auth_tokens: %s holds no token; expected lines of: name role models "
             "token", path);
    rc = -1;
  }
  if (rc) {
    dd_auth_free(a);
    return -1;
  }
  *out = a;
  return 0;
}

/* Compares in time that depends on the lengths only. */
static int same_secret(const dd_token *t, const char *s, size_t len) {
  if (t->secret_len != len) return 0;
  unsigned char diff = 0;
  for (size_t i = 0; i < len; i++) diff |= (unsigned char)(t->secret[i] ^ s[i]);
  return diff == 0;
}

static const dd_token *find(const dd_auth *a, const char *s, size_t len) {
  const dd_token *hit = NULL;
  for (size_t i = 0; i < a->n; i++) /* no early exit */
    if (same_secret(&a->tokens[i], s, len)) hit = &a->tokens[i];
  return hit;
}

static int b64_value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

/* Decodes base64 into out (cap bytes); its length, or -1. */
static long b64_decode(const char *in, char *out, size_t cap) {
  size_t n = 0;
  unsigned acc = 0;
  int bits = 0;
  for (const char *c = in; *c && *c != '='; c++) {
    int v = b64_value((unsigned char)*c);
    if (v < 0) return -1;
    acc = (acc << 6) | (unsigned)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (n >= cap) return -1;
      out[n++] = (char)((acc >> bits) & 0xff);
    }
  }
  return (long)n;
}

const dd_token *dd_auth_header(const dd_auth *a, const char *value, int allow_basic,
                               const char **why) {
  if (!value || !*value) {
    *why = "no authorization; expected \"authorization: Bearer <token>\"";
    return NULL;
  }
  const dd_token *t = NULL;
  if (strncasecmp(value, "Bearer ", 7) == 0) {
    const char *s = value + 7;
    while (*s == ' ') s++;
    t = find(a, s, strlen(s));
  } else if (allow_basic && strncasecmp(value, "Basic ", 6) == 0) {
    char buf[600];
    long n = b64_decode(value + 6, buf, sizeof buf);
    const char *colon = n > 0 ? memchr(buf, ':', (size_t)n) : NULL;
    if (colon) t = find(a, colon + 1, (size_t)(buf + n - (colon + 1)));
    memset(buf, 0, sizeof buf);
  } else {
    *why = allow_basic ? "authorization: expected \"Bearer <token>\" or Basic credentials with "
                         "the token as the password"
                       : "authorization: expected \"Bearer <token>\"";
    return NULL;
  }
  if (!t) *why = "unknown token";
  return t;
}

int dd_token_may(const dd_token *t, dd_access need) {
  if (!t || need == DD_ACCESS_PUBLIC) return 1;
  return t->role <= need; /* ADMIN (0) < WRITE < READ */
}

int dd_token_model_ok(const dd_token *t, const char *model) {
  if (!t || t->all_models) return 1;
  for (size_t i = 0; i < t->n_prefixes; i++)
    if (strncmp(model, t->prefixes[i], strlen(t->prefixes[i])) == 0) return 1;
  return 0;
}

int dd_auth_call(void *arg, dd_call *call) {
  const dd_auth *a = arg;
  const dd_method *m = dd_call_method(call);
  if (m->access == DD_ACCESS_PUBLIC) return 0;
  const char *why = NULL;
  const dd_token *t = dd_auth_header(a, dd_call_authorization(call), 0, &why);
  if (!t) {
    dd_call_fail(call, GRPC_STATUS_UNAUTHENTICATED, "%s: %s", m->path, why);
    return -1;
  }
  if (!dd_token_may(t, m->access)) {
    dd_call_fail(call, GRPC_STATUS_PERMISSION_DENIED,
                 "%s needs role %s; token \"%s\" has role %s", m->path,
                 dd_access_name(m->access), t->name, dd_access_name(t->role));
    return -1;
  }
  dd_call_set_principal(call, t);
  return 0;
}

const dd_token *dd_auth_token(const dd_call *call) { return dd_call_principal(call); }

int dd_auth_model(dd_call *call, const char *model, const char *field) {
  const dd_token *t = dd_auth_token(call);
  if (dd_token_model_ok(t, model)) return 0;
  char list[256] = "";
  size_t used = 0;
  for (size_t i = 0; i < t->n_prefixes && used < sizeof list - 1; i++)
    used += (size_t)snprintf(list + used, sizeof list - used, "%s%s*", i ? ", " : "",
                             t->prefixes[i]);
  dd_call_fail(call, GRPC_STATUS_PERMISSION_DENIED,
               "%s: model \"%s\" is not among token \"%s\"'s models (%s)", field, model, t->name,
               list);
  return -1;
}
