/*
 * expr_check.c - the type checker of metric expressions (expr.h): resolves
 * names to columns and features, gives every node a type (number, boolean,
 * string) and a level (literal, per row, per window), and refuses what has
 * no meaning, naming the position and what was expected there.
 *
 * The rules (docs/metrics.md): arithmetic takes numbers; and/or/not take
 * booleans; a string may only be compared (== or !=) with segment; an
 * aggregate takes row expressions and gives a window value; a metric is a
 * window value (row values appear only inside aggregates); a segmentation is
 * a row value over the prediction's columns.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "expr.h"
#include "internal.h"

typedef struct func {
  const char *name;
  int min_args, max_args;
  int agg; /* drift__agg_kind, or -1 for a row/scalar function */
  int op;  /* row/scalar: the instruction (clip: -1) */
} func;

static const func kFuncs[] = {
    {"sum", 1, 1, DRIFT__AGG_SUM, -1},           {"mean", 1, 1, DRIFT__AGG_MEAN, -1},
    {"count", 0, 1, DRIFT__AGG_COUNT, -1},       {"ratio", 2, 2, DRIFT__AGG_RATIO, -1},
    {"quantile", 2, 2, DRIFT__AGG_QUANTILE, -1}, {"auc", 2, 2, DRIFT__AGG_AUC, -1},
    {"abs", 1, 1, -1, DRIFT__EOP_ABS},           {"sqrt", 1, 1, -1, DRIFT__EOP_SQRT},
    {"log", 1, 1, -1, DRIFT__EOP_LOG},           {"exp", 1, 1, -1, DRIFT__EOP_EXP},
    {"floor", 1, 1, -1, DRIFT__EOP_FLOOR},       {"min", 2, 2, -1, DRIFT__EOP_MIN},
    {"max", 2, 2, -1, DRIFT__EOP_MAX},           {"clip", 3, 3, -1, -1},
    {"is_missing", 1, 1, -1, DRIFT__EOP_ISNUM},
};
#define N_FUNCS (sizeof kFuncs / sizeof kFuncs[0])
#define FUNC_LIST                                                                    \
  "a function: sum, mean, count, ratio, quantile, auc, abs, sqrt, log, exp, floor, " \
  "min, max, clip, is_missing"

static const struct {
  const char *name;
  drift__ref_kind kind;
  int ref;
} kColumns[] = {{"score", DRIFT__REF_COL, DRIFT__COL_SCORE},
                {"predicted", DRIFT__REF_COL, DRIFT__COL_PREDICTED},
                {"label", DRIFT__REF_COL, DRIFT__COL_LABEL},
                {"label_lag", DRIFT__REF_COL, DRIFT__COL_LAG},
                {"segment", DRIFT__REF_SEGMENT, 0}};

typedef struct checker {
  drift__ast *ast;
  drift_expr_mode mode;
  const char *const *features;
  size_t n_features;
  drift__expr_err *err;
  int n_aggs;
  int in_agg; /* inside an aggregate's arguments */
} checker;

static const char *type_name(drift__type t) {
  return t == DRIFT__T_NUM ? "a number" : t == DRIFT__T_BOOL ? "a boolean" : "a string";
}

static int fail(checker *c, const drift__node *n, const char *found, const char *fmt, ...)
    DRIFT__PRINTF(4, 5);
static int fail(checker *c, const drift__node *n, const char *found, const char *fmt, ...) {
  c->err->position = n->pos;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->err->expected, sizeof c->err->expected, fmt, ap);
  va_end(ap);
  snprintf(c->err->found, sizeof c->err->found, "%s", found);
  return -1;
}

static void node_found(const drift__node *n, char *out, size_t cap) {
  if (n->kind == DRIFT__N_NAME)
    snprintf(out, cap, "'%s'", n->str);
  else if (n->kind == DRIFT__N_CALL)
    snprintf(out, cap, "%s(...)", n->str);
  else if (n->kind == DRIFT__N_STR)
    snprintf(out, cap, "the string \"%s\"", n->str);
  else
    snprintf(out, cap, "%s", n->level == DRIFT__L_AGG ? "an aggregate" : type_name(n->type));
}

static int check_node(checker *c, int id);

static int resolve_name(checker *c, drift__node *n) {
  for (size_t i = 0; i < sizeof kColumns / sizeof kColumns[0]; i++) {
    if (strcmp(n->str, kColumns[i].name) != 0) continue;
    n->ref_kind = kColumns[i].kind;
    n->ref = kColumns[i].ref;
    n->type = n->ref_kind == DRIFT__REF_SEGMENT ? DRIFT__T_STR : DRIFT__T_NUM;
    n->uses_label =
        n->ref_kind == DRIFT__REF_COL && (n->ref == DRIFT__COL_LABEL || n->ref == DRIFT__COL_LAG);
    return 0;
  }
  for (size_t f = 0; f < c->n_features; f++) {
    if (c->features[f] != NULL && strcmp(n->str, c->features[f]) == 0) {
      n->ref_kind = DRIFT__REF_FEATURE;
      n->ref = (int)f;
      n->type = DRIFT__T_NUM;
      return 0;
    }
  }
  char list[128] = "";
  size_t used = 0;
  for (size_t f = 0; f < c->n_features && used + 1 < sizeof list; f++) {
    int w = snprintf(list + used, sizeof list - used, "%s%s", f ? ", " : "", c->features[f]);
    if (w < 0) break;
    used += (size_t)w;
  }
  if (used >= sizeof list - 1) snprintf(list + sizeof list - 5, 5, "...");
  char found[96];
  node_found(n, found, sizeof found);
  if (c->n_features == 0)
    return fail(c, n, found, "a column (score, predicted, label, label_lag, segment)");
  return fail(c, n, found,
              "a column (score, predicted, label, label_lag, segment) or a feature (%s)", list);
}

/* Row level (or literal) for an aggregate's argument. */
static int want_row(checker *c, const drift__node *agg, const drift__node *arg) {
  if (arg->level != DRIFT__L_AGG) return 0;
  char found[96];
  node_found(arg, found, sizeof found);
  return fail(c, arg, found, "a row expression inside %s(), not an aggregate", agg->str);
}

static int want_type(checker *c, const drift__node *n, drift__type t, const char *where) {
  if (n->type == t || (t == DRIFT__T_NUM && n->type == DRIFT__T_BOOL && where == NULL)) return 0;
  char found[96];
  node_found(n, found, sizeof found);
  return fail(c, n, found, "%s%s%s", type_name(t), where ? " " : "", where ? where : "");
}

static int check_call(checker *c, int id) {
  drift__node *n = &c->ast->nodes[id];
  const func *f = NULL;
  for (size_t i = 0; i < N_FUNCS; i++)
    if (strcmp(n->str, kFuncs[i].name) == 0) f = &kFuncs[i];
  char found[96];
  if (f == NULL) {
    snprintf(found, sizeof found, "'%s'", n->str);
    return fail(c, n, found, FUNC_LIST);
  }
  n->func = (int)(f - kFuncs);
  if (n->n_args < f->min_args || n->n_args > f->max_args) {
    snprintf(found, sizeof found, "%d", n->n_args);
    if (f->min_args == f->max_args)
      return fail(c, n, found, "%d argument%s for %s()", f->min_args, f->min_args == 1 ? "" : "s",
                  f->name);
    return fail(c, n, found, "%d to %d arguments for %s()", f->min_args, f->max_args, f->name);
  }
  int is_agg = f->agg >= 0;
  if (is_agg) {
    if (c->mode == DRIFT_EXPR_ROW) {
      snprintf(found, sizeof found, "%s(...)", f->name);
      return fail(c, n, found, "a row expression (a segmentation has no aggregates)");
    }
    if (c->in_agg) {
      snprintf(found, sizeof found, "%s(...)", f->name);
      return fail(c, n, found, "a row expression inside an aggregate, not an aggregate");
    }
    c->in_agg = 1;
  } else if (n->where >= 0) {
    drift__node at = *n;
    at.pos = n->op_pos;
    snprintf(found, sizeof found, "'where' in %s()", f->name);
    return fail(c, &at, found, "'where' only inside an aggregate (sum, mean, count, ...)");
  }
  int uses_label = 0;
  for (int i = 0; i < n->n_args; i++) {
    if (check_node(c, n->args[i]) < 0) return -1;
    uses_label |= c->ast->nodes[n->args[i]].uses_label;
  }
  if (n->where >= 0) {
    if (check_node(c, n->where) < 0) return -1;
    const drift__node *w = &c->ast->nodes[n->where];
    if (want_type(c, w, DRIFT__T_BOOL, "(a condition) after 'where'") < 0) return -1;
    uses_label |= w->uses_label;
  }
  n = &c->ast->nodes[id];
  n->uses_label = uses_label;
  drift__level level = DRIFT__L_CONST;
  for (int i = 0; i < n->n_args; i++) {
    const drift__node *a = &c->ast->nodes[n->args[i]];
    if (is_agg) {
      if (want_row(c, n, a) < 0) return -1;
      int cond = f->agg == DRIFT__AGG_COUNT;
      if (want_type(c, a, cond ? DRIFT__T_BOOL : DRIFT__T_NUM,
                    cond ? "(a condition) in count()" : NULL) < 0)
        return -1;
    } else {
      if (want_type(c, a, DRIFT__T_NUM, NULL) < 0) return -1;
      if ((a->level == DRIFT__L_ROW && level == DRIFT__L_AGG) ||
          (a->level == DRIFT__L_AGG && level == DRIFT__L_ROW)) {
        node_found(a, found, sizeof found);
        return fail(c, a, found, "arguments of %s() all per row or all aggregates", f->name);
      }
      if (a->level > level) level = a->level;
    }
  }
  if (is_agg && f->agg == DRIFT__AGG_QUANTILE) {
    const drift__node *q = &c->ast->nodes[n->args[1]];
    if (q->kind != DRIFT__N_NUM || !(q->num >= 0.0 && q->num <= 1.0)) {
      node_found(q, found, sizeof found);
      if (q->kind == DRIFT__N_NUM) snprintf(found, sizeof found, "%g", q->num);
      return fail(c, q, found,
                  "a number from 0 to 1 (the quantile) as quantile()'s second "
                  "argument");
    }
  }
  if (is_agg) {
    if (c->n_aggs >= DRIFT__EXPR_MAX_AGGS) {
      snprintf(found, sizeof found, "more");
      return fail(c, n, found, "at most %d aggregates in one metric", DRIFT__EXPR_MAX_AGGS);
    }
    n->slot = c->n_aggs++;
    n->level = DRIFT__L_AGG;
    n->type = DRIFT__T_NUM;
    c->in_agg = 0;
  } else {
    n->level = level;
    n->type = f->op == DRIFT__EOP_ISNUM ? DRIFT__T_BOOL : DRIFT__T_NUM;
  }
  return 0;
}

/* Levels of two operands combine: a row value and a window value cannot. */
static int combine(checker *c, drift__node *n, const drift__node *a, const drift__node *b) {
  if ((a->level == DRIFT__L_ROW && b->level == DRIFT__L_AGG) ||
      (a->level == DRIFT__L_AGG && b->level == DRIFT__L_ROW)) {
    const drift__node *row = a->level == DRIFT__L_ROW ? a : b;
    char found[96];
    node_found(row, found, sizeof found);
    return fail(c, row, found,
                "an aggregate (sum, mean, count, ratio, quantile, auc) around this row value, "
                "since the other operand is one");
  }
  n->level = a->level > b->level ? a->level : b->level;
  n->uses_label = a->uses_label | b->uses_label;
  return 0;
}

static int check_segment_compare(checker *c, drift__node *n, const drift__node *a,
                                 const drift__node *b) {
  char found[96];
  const drift__node *seg = a->ref_kind == DRIFT__REF_SEGMENT ? a : b;
  const drift__node *other = seg == a ? b : a;
  if (seg->ref_kind != DRIFT__REF_SEGMENT || other->kind != DRIFT__N_STR) {
    const drift__node *bad = a->type == DRIFT__T_STR && a->ref_kind != DRIFT__REF_SEGMENT ? b : a;
    if (a->type == DRIFT__T_STR && b->type == DRIFT__T_STR) bad = b;
    node_found(bad, found, sizeof found);
    return fail(c, bad, found, "segment compared with a string literal (segment == \"eu\")");
  }
  if (n->op != DRIFT__EOP_EQ && n->op != DRIFT__EOP_NE) {
    drift__node at = *n;
    at.pos = n->op_pos;
    snprintf(found, sizeof found, "an ordering of strings");
    return fail(c, &at, found, "'==' or '!=' (segments are compared for equality only)");
  }
  n->type = DRIFT__T_BOOL;
  n->level = DRIFT__L_ROW;
  return 0;
}

static int check_node(checker *c, int id) {
  drift__node *n = &c->ast->nodes[id];
  switch (n->kind) {
    case DRIFT__N_NUM:
      n->type = DRIFT__T_NUM;
      n->level = DRIFT__L_CONST;
      return 0;
    case DRIFT__N_STR:
      n->type = DRIFT__T_STR;
      n->level = DRIFT__L_CONST;
      return 0;
    case DRIFT__N_NAME:
      n->level = DRIFT__L_ROW;
      return resolve_name(c, n);
    case DRIFT__N_CALL:
      return check_call(c, id);
    case DRIFT__N_UNARY: {
      if (check_node(c, n->args[0]) < 0) return -1;
      n = &c->ast->nodes[id];
      const drift__node *a = &c->ast->nodes[n->args[0]];
      int is_not = n->op == DRIFT__EOP_NOT;
      if (want_type(c, a, is_not ? DRIFT__T_BOOL : DRIFT__T_NUM, is_not ? "after 'not'" : NULL) < 0)
        return -1;
      n->type = a->type == DRIFT__T_BOOL && is_not ? DRIFT__T_BOOL : DRIFT__T_NUM;
      n->level = a->level;
      n->uses_label = a->uses_label;
      return 0;
    }
    case DRIFT__N_BINARY: {
      if (check_node(c, n->args[0]) < 0 || check_node(c, n->args[1]) < 0) return -1;
      n = &c->ast->nodes[id];
      const drift__node *a = &c->ast->nodes[n->args[0]];
      const drift__node *b = &c->ast->nodes[n->args[1]];
      if (combine(c, n, a, b) < 0) return -1;
      int op = n->op;
      if (a->type == DRIFT__T_STR || b->type == DRIFT__T_STR) {
        if (op >= DRIFT__EOP_LT && op <= DRIFT__EOP_NE) return check_segment_compare(c, n, a, b);
        const drift__node *s = a->type == DRIFT__T_STR ? a : b;
        char found[96];
        node_found(s, found, sizeof found);
        return fail(c, s, found, "a number (strings are only compared with segment)");
      }
      if (op == DRIFT__EOP_AND || op == DRIFT__EOP_OR) {
        const char *w = op == DRIFT__EOP_AND ? "beside 'and'" : "beside 'or'";
        if (want_type(c, a, DRIFT__T_BOOL, w) < 0 || want_type(c, b, DRIFT__T_BOOL, w) < 0)
          return -1;
        n->type = DRIFT__T_BOOL;
      } else if (op >= DRIFT__EOP_LT && op <= DRIFT__EOP_NE) {
        if (want_type(c, a, DRIFT__T_NUM, NULL) < 0 || want_type(c, b, DRIFT__T_NUM, NULL) < 0)
          return -1;
        n->type = DRIFT__T_BOOL;
      } else {
        if (want_type(c, a, DRIFT__T_NUM, "(arithmetic takes numbers)") < 0 ||
            want_type(c, b, DRIFT__T_NUM, "(arithmetic takes numbers)") < 0)
          return -1;
        n->type = DRIFT__T_NUM;
      }
      return 0;
    }
  }
  return -1;
}

/* A segmentation reads what is known when the prediction is made. */
static int check_no_label(checker *c, int id) {
  const drift__node *n = &c->ast->nodes[id];
  if (n->kind == DRIFT__N_NAME && n->uses_label) {
    char found[96];
    node_found(n, found, sizeof found);
    return fail(c, n, found,
                "a feature, score, predicted or segment (a segmentation cannot read labels)");
  }
  for (int i = 0; i < n->n_args; i++)
    if (check_no_label(c, n->args[i]) < 0) return -1;
  return 0;
}

int drift__expr_check(drift__ast *ast, drift_expr_mode mode, const char *const *features,
                      size_t n_features, drift__expr_err *err) {
  checker c = {ast, mode, features, n_features, err, 0, 0};
  if (check_node(&c, ast->root) < 0) return -1;
  drift__node *root = &ast->nodes[ast->root];
  char found[96];
  if (mode == DRIFT_EXPR_ROW) {
    if (ast->where >= 0) {
      drift__node at = ast->nodes[ast->where];
      at.pos = ast->where_pos;
      snprintf(found, sizeof found, "'where'");
      return fail(&c, &at, found, "the end of the expression (a segmentation takes no filter)");
    }
    if (root->type == DRIFT__T_STR) {
      node_found(root, found, sizeof found);
      return fail(&c, root, found, "a number or a condition (the group of each row)");
    }
    return check_no_label(&c, ast->root);
  }
  if (root->level != DRIFT__L_AGG) {
    node_found(root, found, sizeof found);
    return fail(&c, root, found,
                "an aggregate (sum, mean, count, ratio, quantile, auc): a metric is one value "
                "per window");
  }
  if (root->type != DRIFT__T_NUM && root->type != DRIFT__T_BOOL) {
    node_found(root, found, sizeof found);
    return fail(&c, root, found, "a number");
  }
  if (ast->where >= 0) {
    c.in_agg = 1; /* the filter is applied inside every aggregate */
    if (check_node(&c, ast->where) < 0) return -1;
    const drift__node *w = &ast->nodes[ast->where];
    if (w->level == DRIFT__L_AGG) {
      node_found(w, found, sizeof found);
      return fail(&c, w, found, "a row condition after 'where', not an aggregate");
    }
    if (want_type(&c, w, DRIFT__T_BOOL, "(a condition) after 'where'") < 0) return -1;
  }
  return 0;
}

int drift__expr_func_agg(int f) {
  return kFuncs[f].agg;
}
int drift__expr_func_op(int f) {
  return kFuncs[f].op;
}
