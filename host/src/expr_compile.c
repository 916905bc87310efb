/*
 * expr_compile.c - checked syntax tree to bytecode (expr.h, expr_ops.h).
 *
 * A metric becomes two programs. The row program runs once per row on the
 * backend and, for each aggregate, STOREs a mask column (1 when the row
 * counts: the aggregate's own `where`, the metric's `where`, a label present
 * when the aggregate reads label or label_lag, and every argument a number)
 * and its value columns. The scalar program runs once per window on the
 * host, over the aggregates' values (SLOT), and leaves the metric in
 * register 0. A segmentation has a row program only, storing its value.
 *
 * Registers are allocated as a stack: a node's value goes to register r and
 * its operands use r and r + 1 up, so depth bounds the register count.
 */
#include <stdio.h>
#include <string.h>

#include "expr.h"
#include "internal.h"

typedef struct compiler {
  const drift__ast *ast;
  drift_expr *m;
  drift__expr_ins *code;
  size_t *n_code;
  drift__expr_err *err;
  int failed;
} compiler;

static void too_complex(compiler *c, const drift__node *n, const char *what) {
  if (c->failed) return;
  c->failed = 1;
  c->err->position = n ? n->pos : 0;
  snprintf(c->err->expected, sizeof c->err->expected, "a simpler expression (%s)", what);
  snprintf(c->err->found, sizeof c->err->found, "more");
}

static void emit(compiler *c, const drift__node *n, int op, int dst, int a, int b, uint32_t arg,
                 double k) {
  if (c->failed) return;
  if (*c->n_code >= DRIFT__EXPR_MAX_CODE) {
    too_complex(c, n, "at most 1024 instructions");
    return;
  }
  if (dst >= DRIFT__EXPR_REGS || a >= DRIFT__EXPR_REGS || b >= DRIFT__EXPR_REGS) {
    too_complex(c, n, "nested at most 30 deep");
    return;
  }
  drift__expr_ins *i = &c->code[(*c->n_code)++];
  i->op = (uint8_t)op;
  i->dst = (uint8_t)dst;
  i->a = (uint8_t)a;
  i->b = (uint8_t)b;
  i->arg = arg;
  i->k = k;
}

static uint32_t intern(compiler *c, const drift__node *n, const char *s) {
  drift_expr *m = c->m;
  for (size_t i = 0; i < m->n_strings; i++)
    if (strcmp(m->strings[i], s) == 0) return (uint32_t)i;
  if (m->n_strings >= DRIFT__EXPR_MAX_STRINGS) {
    too_complex(c, n, "at most 32 distinct strings");
    return 0;
  }
  m->strings[m->n_strings] = drift__strdup(s);
  if (m->strings[m->n_strings] == NULL) {
    too_complex(c, n, "out of memory");
    return 0;
  }
  return (uint32_t)m->n_strings++;
}

static void gen(compiler *c, int id, int r);

static void gen_call(compiler *c, const drift__node *n, int r) {
  int agg = drift__expr_func_agg(n->func);
  if (agg >= 0) { /* only in the scalar program: the row program fed it */
    emit(c, n, DRIFT__EOP_SLOT, r, 0, 0, (uint32_t)n->slot, 0.0);
    return;
  }
  if (strcmp(n->str, "clip") == 0) {
    gen(c, n->args[0], r);
    gen(c, n->args[1], r + 1);
    emit(c, n, DRIFT__EOP_MAX, r, r, r + 1, 0, 0.0);
    gen(c, n->args[2], r + 1);
    emit(c, n, DRIFT__EOP_MIN, r, r, r + 1, 0, 0.0);
    return;
  }
  int op = drift__expr_func_op(n->func);
  gen(c, n->args[0], r);
  if (n->n_args == 2) {
    gen(c, n->args[1], r + 1);
    emit(c, n, op, r, r, r + 1, 0, 0.0);
  } else {
    emit(c, n, op, r, r, 0, 0, 0.0);
  }
  if (strcmp(n->str, "is_missing") == 0) emit(c, n, DRIFT__EOP_NOT, r, r, 0, 0, 0.0);
}

static void gen(compiler *c, int id, int r) {
  const drift__node *n = &c->ast->nodes[id];
  switch (n->kind) {
    case DRIFT__N_NUM:
      emit(c, n, DRIFT__EOP_CONST, r, 0, 0, 0, n->num);
      return;
    case DRIFT__N_STR: /* only inside a segment comparison, handled there */
      return;
    case DRIFT__N_NAME:
      if (n->ref_kind == DRIFT__REF_FEATURE)
        emit(c, n, DRIFT__EOP_LOAD_FEAT, r, 0, 0, (uint32_t)n->ref, 0.0);
      else
        emit(c, n, DRIFT__EOP_LOAD_COL, r, 0, 0, (uint32_t)n->ref, 0.0);
      return;
    case DRIFT__N_CALL:
      gen_call(c, n, r);
      return;
    case DRIFT__N_UNARY:
      gen(c, n->args[0], r);
      emit(c, n, n->op, r, r, 0, 0, 0.0);
      return;
    case DRIFT__N_BINARY: {
      const drift__node *a = &c->ast->nodes[n->args[0]];
      const drift__node *b = &c->ast->nodes[n->args[1]];
      if (a->type == DRIFT__T_STR) { /* segment ==/!= "text" */
        const drift__node *s = a->kind == DRIFT__N_STR ? a : b;
        emit(c, n, DRIFT__EOP_SEG_EQ, r, 0, 0, intern(c, s, s->str), 0.0);
        if (n->op == DRIFT__EOP_NE) emit(c, n, DRIFT__EOP_NOT, r, r, 0, 0, 0.0);
        return;
      }
      gen(c, n->args[0], r);
      gen(c, n->args[1], r + 1);
      emit(c, n, n->op, r, r, r + 1, 0, 0.0);
      return;
    }
  }
}

/* Appends to the mask in register 0 (r: a free register): mask &= r. */
static void and_mask(compiler *c, const drift__node *n, int r) {
  emit(c, n, DRIFT__EOP_AND, 0, 0, r, 0, 0.0);
}

/* The row code of one aggregate: its value columns and its mask. */
static void gen_aggregate(compiler *c, const drift__node *n) {
  drift_expr *m = c->m;
  const drift__ast *ast = c->ast;
  drift__agg *g = &m->aggs[n->slot];
  g->kind = (drift__agg_kind)drift__expr_func_agg(n->func);
  int uses_label = n->uses_label || (ast->where >= 0 && ast->nodes[ast->where].uses_label);
  g->out_mask = (uint32_t)m->n_outs++;
  emit(c, n, DRIFT__EOP_CONST, 0, 0, 0, 0, 1.0);
  if (n->where >= 0) {
    gen(c, n->where, 1);
    and_mask(c, n, 1);
  }
  if (ast->where >= 0) {
    gen(c, ast->where, 1);
    and_mask(c, n, 1);
  }
  if (uses_label) {
    emit(c, n, DRIFT__EOP_LOAD_COL, 1, 0, 0, DRIFT__COL_LABEL, 0.0);
    emit(c, n, DRIFT__EOP_ISNUM, 1, 1, 0, 0, 0.0);
    and_mask(c, n, 1);
  }
  int n_values = g->kind == DRIFT__AGG_COUNT                                ? 0
                 : g->kind == DRIFT__AGG_RATIO || g->kind == DRIFT__AGG_AUC ? 2
                                                                            : 1;
  if (g->kind == DRIFT__AGG_COUNT && n->n_args == 1) { /* count(cond) */
    gen(c, n->args[0], 1);
    and_mask(c, n, 1);
  }
  if (g->kind == DRIFT__AGG_QUANTILE) g->q = ast->nodes[n->args[1]].num;
  for (int v = 0; v < n_values; v++) {
    uint32_t out = (uint32_t)m->n_outs++;
    if (v == 0)
      g->out_a = out;
    else
      g->out_b = out;
    gen(c, n->args[v], 1);
    emit(c, n, DRIFT__EOP_STORE, 0, 1, 0, out, 0.0);
    emit(c, n, DRIFT__EOP_ISNUM, 1, 1, 0, 0, 0.0);
    and_mask(c, n, 1);
  }
  emit(c, n, DRIFT__EOP_STORE, 0, 0, 0, g->out_mask, 0.0);
  if (m->n_outs > DRIFT__EXPR_MAX_OUTS) too_complex(c, n, "fewer aggregates");
}

static void gen_aggregates(compiler *c, int id) {
  const drift__node *n = &c->ast->nodes[id];
  if (n->kind == DRIFT__N_CALL && n->slot >= 0) {
    gen_aggregate(c, n);
    return;
  }
  for (int i = 0; i < n->n_args; i++) gen_aggregates(c, n->args[i]);
}

static void count_aggs(const drift__ast *ast, int id, size_t *n) {
  const drift__node *node = &ast->nodes[id];
  if (node->kind == DRIFT__N_CALL && node->slot >= 0) {
    if ((size_t)node->slot + 1 > *n) *n = (size_t)node->slot + 1;
    return;
  }
  for (int i = 0; i < node->n_args; i++) count_aggs(ast, node->args[i], n);
}

int drift__expr_compile(const drift__ast *ast, drift_expr *m, drift__expr_err *err) {
  compiler c = {ast, m, m->row, &m->n_row, err, 0};
  const drift__node *root = &ast->nodes[ast->root];
  if (m->mode == DRIFT_EXPR_ROW) {
    gen(&c, ast->root, 0);
    emit(&c, root, DRIFT__EOP_STORE, 0, 0, 0, 0, 0.0);
    m->n_outs = 1;
    return c.failed ? -1 : 0;
  }
  count_aggs(ast, ast->root, &m->n_aggs);
  gen_aggregates(&c, ast->root);
  c.code = m->scalar;
  c.n_code = &m->n_scalar;
  gen(&c, ast->root, 0);
  return c.failed ? -1 : 0;
}

const char *drift__expr_op_name(int op) {
  static const char *const kNames[] = {
#define DRIFT__EXPR_OP_NAME_(name, text) text,
      DRIFT__EXPR_OP_MAP(DRIFT__EXPR_OP_NAME_)
#undef DRIFT__EXPR_OP_NAME_
  };
  return op >= 0 && op < DRIFT__EOP_COUNT ? kNames[op] : "?";
}
