/*
 * expr_parse.c - the tokenizer and recursive-descent parser of metric
 * expressions (expr.h): text in, syntax tree out, or the position of the
 * first error and what the grammar expected there.
 *
 * Precedence, loosest first: or; and; not; comparisons (one per operand
 * pair, not chained); + -; * /; unary minus; ^ (right-associative, so
 * -x ^ 2 is -(x ^ 2)); calls, names, literals and parentheses. A `where`
 * closes an aggregate's argument list (mean(x where c)) or follows the whole
 * metric. The parser knows no names or types: the checker resolves them.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expr.h"
#include "internal.h"

typedef enum tok_kind {
  TK_END,
  TK_NUM,
  TK_STR,
  TK_NAME,
  TK_OP, /* text holds the operator */
  TK_BAD
} tok_kind;

typedef struct token {
  tok_kind kind;
  size_t pos; /* 0-based offset */
  size_t len;
  double num;
} token;

typedef struct parser {
  const char *text;
  token tok;
  drift__ast *ast;
  drift__expr_err *err;
  int failed; /* -1 error, -2 out of memory */
  int depth;
} parser;

#define MAX_DEPTH 64

static const char *const kOps[] = {"==", "!=", "<=", ">=", "<", ">", "+",
                                   "-",  "*",  "/",  "^",  "(", ")", ","};

/* ------------------------------------------------------------ tokens */

static void lex(parser *p, size_t at) {
  const char *s = p->text;
  while (s[at] == ' ' || s[at] == '\t' || s[at] == '\n' || s[at] == '\r') at++;
  token t = {TK_END, at, 0, 0.0};
  char c = s[at];
  if (c == 0) {
    p->tok = t;
    return;
  }
  if (isdigit((unsigned char)c) || (c == '.' && isdigit((unsigned char)s[at + 1]))) {
    char *end;
    errno = 0;
    t.num = strtod(s + at, &end);
    t.kind = TK_NUM;
    t.len = (size_t)(end - (s + at));
    if (isalpha((unsigned char)*end) || *end == '_') t.kind = TK_BAD; /* 12abc */
  } else if (isalpha((unsigned char)c) || c == '_') {
    size_t n = 0;
    while (isalnum((unsigned char)s[at + n]) || s[at + n] == '_' || s[at + n] == '.') n++;
    t.kind = TK_NAME;
    t.len = n;
  } else if (c == '"' || c == '\'') {
    size_t n = 1;
    while (s[at + n] != 0 && s[at + n] != c) n++;
    t.kind = s[at + n] == c ? TK_STR : TK_BAD;
    t.len = s[at + n] == c ? n + 1 : n;
  } else {
    t.kind = TK_BAD;
    t.len = 1;
    for (size_t i = 0; i < sizeof kOps / sizeof kOps[0]; i++) {
      size_t n = strlen(kOps[i]);
      if (strncmp(s + at, kOps[i], n) == 0) {
        t.kind = TK_OP;
        t.len = n;
        break;
      }
    }
  }
  p->tok = t;
}

static void advance(parser *p) {
  lex(p, p->tok.pos + p->tok.len);
}

static int is_op(const parser *p, const char *op) {
  return p->tok.kind == TK_OP && p->tok.len == strlen(op) &&
         strncmp(p->text + p->tok.pos, op, p->tok.len) == 0;
}

static int is_word(const parser *p, const char *w) {
  return p->tok.kind == TK_NAME && p->tok.len == strlen(w) &&
         strncmp(p->text + p->tok.pos, w, p->tok.len) == 0;
}

static void describe_token(const parser *p, char *out, size_t cap) {
  const token *t = &p->tok;
  if (t->kind == TK_END) {
    snprintf(out, cap, "the end of the expression");
  } else if (t->kind == TK_BAD && (p->text[t->pos] == '"' || p->text[t->pos] == '\'')) {
    snprintf(out, cap, "a string without its closing quote");
  } else {
    int n = t->len > 40 ? 40 : (int)t->len;
    snprintf(out, cap, "'%.*s'", n, p->text + t->pos);
  }
}

/* Records the first error: at the current token, expecting `expected`. */
static int fail_at_token(parser *p, const char *expected) {
  if (p->failed) return -1;
  p->failed = -1;
  p->err->position = p->tok.pos + 1;
  snprintf(p->err->expected, sizeof p->err->expected, "%s", expected);
  describe_token(p, p->err->found, sizeof p->err->found);
  return -1;
}

/* ------------------------------------------------------------- nodes */

static int new_node(parser *p, drift__node_kind kind, size_t pos) {
  drift__ast *a = p->ast;
  if (a->n_nodes >= DRIFT__EXPR_MAX_NODES) {
    if (!p->failed) {
      p->failed = -1;
      p->err->position = pos + 1;
      snprintf(p->err->expected, sizeof p->err->expected, "a shorter expression (at most %d terms)",
               DRIFT__EXPR_MAX_NODES);
      snprintf(p->err->found, sizeof p->err->found, "more");
    }
    return -1;
  }
  if (a->n_nodes == a->cap) {
    int cap = a->cap ? a->cap * 2 : 32;
    drift__node *n = realloc(a->nodes, (size_t)cap * sizeof *n);
    if (n == NULL) {
      p->failed = -2;
      return -1;
    }
    a->nodes = n;
    a->cap = cap;
  }
  drift__node *n = &a->nodes[a->n_nodes];
  memset(n, 0, sizeof *n);
  n->kind = kind;
  n->pos = pos + 1;
  n->where = -1;
  n->slot = -1;
  return a->n_nodes++;
}

static int node_text(parser *p, int id, size_t from, size_t len) {
  char *s = malloc(len + 1);
  if (s == NULL) {
    p->failed = -2;
    return -1;
  }
  memcpy(s, p->text + from, len);
  s[len] = 0;
  p->ast->nodes[id].str = s;
  return 0;
}

static int binary(parser *p, int op, size_t pos, int lhs, int rhs) {
  if (lhs < 0 || rhs < 0) return -1;
  int id = new_node(p, DRIFT__N_BINARY, p->ast->nodes[lhs].pos - 1);
  if (id < 0) return -1;
  drift__node *n = &p->ast->nodes[id];
  n->op_pos = pos + 1;
  n->op = op;
  n->n_args = 2;
  n->args[0] = lhs;
  n->args[1] = rhs;
  return id;
}

static int unary(parser *p, int op, size_t pos, int arg) {
  if (arg < 0) return -1;
  int id = new_node(p, DRIFT__N_UNARY, pos);
  if (id < 0) return -1;
  p->ast->nodes[id].op = op;
  p->ast->nodes[id].n_args = 1;
  p->ast->nodes[id].args[0] = arg;
  return id;
}

/* ----------------------------------------------------------- grammar */

static int parse_or(parser *p);
static int parse_unary(parser *p);

static int parse_call(parser *p, size_t name_pos, size_t name_len) {
  int id = new_node(p, DRIFT__N_CALL, name_pos);
  if (id < 0 || node_text(p, id, name_pos, name_len) < 0) return -1;
  advance(p); /* '(' */
  if (!is_op(p, ")") && !is_word(p, "where")) {
    for (;;) {
      if (p->ast->nodes[id].n_args == DRIFT__EXPR_MAX_ARGS)
        return fail_at_token(p, "')' (functions take at most 3 arguments)");
      int arg = parse_or(p);
      if (arg < 0) return -1;
      drift__node *n = &p->ast->nodes[id];
      n->args[n->n_args++] = arg;
      if (!is_op(p, ",")) break;
      advance(p);
    }
  }
  if (is_word(p, "where")) {
    p->ast->nodes[id].op_pos = p->tok.pos + 1;
    advance(p);
    int w = parse_or(p);
    if (w < 0) return -1;
    p->ast->nodes[id].where = w;
  }
  if (!is_op(p, ")")) {
    char what[96];
    snprintf(what, sizeof what, "',', 'where' or ')' to close %.*s(", (int)name_len,
             p->text + name_pos);
    return fail_at_token(p, what);
  }
  advance(p);
  return id;
}

static int parse_primary(parser *p) {
  token t = p->tok;
  if (t.kind == TK_NUM) {
    int id = new_node(p, DRIFT__N_NUM, t.pos);
    if (id < 0) return -1;
    p->ast->nodes[id].num = t.num;
    advance(p);
    return id;
  }
  if (t.kind == TK_STR) {
    int id = new_node(p, DRIFT__N_STR, t.pos);
    if (id < 0 || node_text(p, id, t.pos + 1, t.len - 2) < 0) return -1;
    advance(p);
    return id;
  }
  if (t.kind == TK_NAME && !is_word(p, "and") && !is_word(p, "or") && !is_word(p, "not") &&
      !is_word(p, "where")) {
    advance(p);
    if (is_op(p, "(")) return parse_call(p, t.pos, t.len);
    int id = new_node(p, DRIFT__N_NAME, t.pos);
    if (id < 0 || node_text(p, id, t.pos, t.len) < 0) return -1;
    return id;
  }
  if (is_op(p, "(")) {
    advance(p);
    int id = parse_or(p);
    if (id < 0) return -1;
    if (!is_op(p, ")")) return fail_at_token(p, "')' to close '('");
    advance(p);
    return id;
  }
  return fail_at_token(p, "a number, a string, a column, a function call or '('");
}

static int parse_power(parser *p) {
  int lhs = parse_primary(p);
  if (lhs < 0 || !is_op(p, "^")) return lhs;
  size_t pos = p->tok.pos;
  advance(p);
  return binary(p, DRIFT__EOP_POW, pos, lhs, parse_unary(p));
}

static int parse_unary(parser *p) {
  if (is_op(p, "-")) {
    size_t pos = p->tok.pos;
    advance(p);
    if (++p->depth > MAX_DEPTH) return fail_at_token(p, "fewer nested operators");
    int id = unary(p, DRIFT__EOP_NEG, pos, parse_unary(p));
    p->depth--;
    return id;
  }
  return parse_power(p);
}

static int parse_mul(parser *p) {
  int lhs = parse_unary(p);
  while (lhs >= 0 && (is_op(p, "*") || is_op(p, "/"))) {
    int op = is_op(p, "*") ? DRIFT__EOP_MUL : DRIFT__EOP_DIV;
    size_t pos = p->tok.pos;
    advance(p);
    lhs = binary(p, op, pos, lhs, parse_unary(p));
  }
  return lhs;
}

static int parse_add(parser *p) {
  int lhs = parse_mul(p);
  while (lhs >= 0 && (is_op(p, "+") || is_op(p, "-"))) {
    int op = is_op(p, "+") ? DRIFT__EOP_ADD : DRIFT__EOP_SUB;
    size_t pos = p->tok.pos;
    advance(p);
    lhs = binary(p, op, pos, lhs, parse_mul(p));
  }
  return lhs;
}

static int comparison_op(const parser *p) {
  static const struct {
    const char *text;
    int op;
  } kCmp[] = {{"==", DRIFT__EOP_EQ}, {"!=", DRIFT__EOP_NE}, {"<=", DRIFT__EOP_LE},
              {">=", DRIFT__EOP_GE}, {"<", DRIFT__EOP_LT},  {">", DRIFT__EOP_GT}};
  for (size_t i = 0; i < sizeof kCmp / sizeof kCmp[0]; i++)
    if (is_op(p, kCmp[i].text)) return kCmp[i].op;
  return -1;
}

static int parse_cmp(parser *p) {
  int lhs = parse_add(p);
  int op = comparison_op(p);
  if (lhs < 0 || op < 0) return lhs;
  size_t pos = p->tok.pos;
  advance(p);
  int id = binary(p, op, pos, lhs, parse_add(p));
  if (id >= 0 && comparison_op(p) >= 0)
    return fail_at_token(p, "'and' or 'or' between comparisons (they do not chain)");
  return id;
}

static int parse_not(parser *p) {
  if (is_word(p, "not")) {
    size_t pos = p->tok.pos;
    advance(p);
    if (++p->depth > MAX_DEPTH) return fail_at_token(p, "fewer nested operators");
    int id = unary(p, DRIFT__EOP_NOT, pos, parse_not(p));
    p->depth--;
    return id;
  }
  return parse_cmp(p);
}

static int parse_and(parser *p) {
  int lhs = parse_not(p);
  while (lhs >= 0 && is_word(p, "and")) {
    size_t pos = p->tok.pos;
    advance(p);
    lhs = binary(p, DRIFT__EOP_AND, pos, lhs, parse_not(p));
  }
  return lhs;
}

static int parse_or(parser *p) {
  if (++p->depth > MAX_DEPTH) return fail_at_token(p, "fewer nested parentheses or calls");
  int lhs = parse_and(p);
  while (lhs >= 0 && is_word(p, "or")) {
    size_t pos = p->tok.pos;
    advance(p);
    lhs = binary(p, DRIFT__EOP_OR, pos, lhs, parse_and(p));
  }
  p->depth--;
  return lhs;
}

void drift__ast_free(drift__ast *ast) {
  if (ast == NULL) return;
  for (int i = 0; i < ast->n_nodes; i++) free(ast->nodes[i].str);
  free(ast->nodes);
  memset(ast, 0, sizeof *ast);
}

int drift__expr_parse(const char *text, drift__ast *ast, drift__expr_err *err) {
  memset(ast, 0, sizeof *ast);
  ast->root = ast->where = -1;
  memset(err, 0, sizeof *err);
  parser p = {.text = text, .ast = ast, .err = err};
  lex(&p, 0);
  if (p.tok.kind == TK_END) {
    fail_at_token(&p, "an expression");
    return -1;
  }
  ast->root = parse_or(&p);
  if (ast->root >= 0 && is_word(&p, "where")) {
    ast->where_pos = p.tok.pos + 1;
    advance(&p);
    ast->where = parse_or(&p);
    if (ast->where < 0) ast->root = -1;
  }
  if (ast->root >= 0 && p.tok.kind != TK_END) {
    fail_at_token(&p, ast->where >= 0 ? "an operator or the end of the expression"
                                      : "an operator, 'where' or the end of the expression");
  }
  return p.failed;
}
