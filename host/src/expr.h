/*
 * expr.h - the metric expression language inside the engine: the syntax
 * tree the parser builds (expr_parse.c), the types the checker gives it
 * (expr_check.c), and the compiled metric (expr_compile.c) that expr_eval.c
 * runs. The public face is drift_expr.h; docs/metrics.md the grammar.
 *
 * Three stages, each failing with a 1-based position and what was expected
 * there (drift__expr_err). Nothing here touches a backend: expr_eval.c
 * hands the row program to one through the ops table.
 */
#ifndef DRIFT_EXPR_H
#define DRIFT_EXPR_H

#include <stddef.h>
#include <stdint.h>

#include "drift/drift.h"
#include "expr_ops.h"

#define DRIFT__EXPR_MAX_NODES 512
#define DRIFT__EXPR_MAX_AGGS 16
#define DRIFT__EXPR_MAX_ARGS 3

typedef enum drift__node_kind {
  DRIFT__N_NUM,    /* num */
  DRIFT__N_STR,    /* str */
  DRIFT__N_NAME,   /* str: a column or feature name, resolved by the checker */
  DRIFT__N_UNARY,  /* op, args[0] */
  DRIFT__N_BINARY, /* op, args[0], args[1] */
  DRIFT__N_CALL    /* str: the function, args, where (-1: none) */
} drift__node_kind;

/* What a name resolves to. */
typedef enum drift__ref_kind {
  DRIFT__REF_NONE = 0,
  DRIFT__REF_COL, /* ref: drift__expr_col */
  DRIFT__REF_SEGMENT,
  DRIFT__REF_FEATURE /* ref: feature index */
} drift__ref_kind;

typedef enum drift__type { DRIFT__T_NUM, DRIFT__T_BOOL, DRIFT__T_STR } drift__type;
/* Where a value lives: a literal, per row, or per window (an aggregate). */
typedef enum drift__level { DRIFT__L_CONST, DRIFT__L_ROW, DRIFT__L_AGG } drift__level;

typedef enum drift__agg_kind {
  DRIFT__AGG_SUM,
  DRIFT__AGG_MEAN,
  DRIFT__AGG_COUNT,
  DRIFT__AGG_RATIO,
  DRIFT__AGG_QUANTILE,
  DRIFT__AGG_AUC
} drift__agg_kind;

typedef struct drift__node {
  drift__node_kind kind;
  size_t pos;    /* 1-based position of the node's first character */
  size_t op_pos; /* BINARY: of its operator; CALL: of its 'where' */
  int op;        /* drift__expr_op for UNARY, BINARY */
  double num;
  char *str; /* owned */
  int n_args;
  int args[DRIFT__EXPR_MAX_ARGS];
  int where; /* CALL: the aggregate's own filter, -1 when none */
  /* set by the checker */
  drift__type type;
  drift__level level;
  drift__ref_kind ref_kind;
  int ref;
  int func;       /* CALL: index into the function table */
  int uses_label; /* the subtree reads label or label_lag */
  int slot;       /* aggregate CALL: its accumulator slot */
} drift__node;

typedef struct drift__ast {
  drift__node *nodes;
  int n_nodes;
  int cap;
  int root;
  int where;        /* top-level filter, -1 when none */
  size_t where_pos; /* 1-based position of the top-level 'where' */
} drift__ast;

typedef struct drift__expr_err {
  size_t position;
  char expected[192];
  char found[96];
} drift__expr_err;

/* Parses text into ast (owned by the caller: drift__ast_free). 0, or -1
 * with err set (-2: out of memory). */
int drift__expr_parse(const char *text, drift__ast *ast, drift__expr_err *err);
void drift__ast_free(drift__ast *ast);

/* Resolves names and gives every node a type and level; numbers the
 * aggregates (slot). 0, or -1 with err set. */
int drift__expr_check(drift__ast *ast, drift_expr_mode mode, const char *const *features,
                      size_t n_features, drift__expr_err *err);

/* One aggregate's accumulator: which output columns of the row program
 * feed it (mask, then one or two values). */
typedef struct drift__agg {
  drift__agg_kind kind;
  double q; /* quantile */
  uint32_t out_mask;
  uint32_t out_a;
  uint32_t out_b;
} drift__agg;

struct drift_expr {
  drift_expr_mode mode;
  drift__expr_ins row[DRIFT__EXPR_MAX_CODE];
  size_t n_row;
  size_t n_outs;
  drift__expr_ins scalar[DRIFT__EXPR_MAX_CODE]; /* AGGREGATE: over SLOTs */
  size_t n_scalar;
  drift__agg aggs[DRIFT__EXPR_MAX_AGGS];
  size_t n_aggs;
  char *strings[DRIFT__EXPR_MAX_STRINGS]; /* owned */
  size_t n_strings;
  size_t n_features;
};

/* Compiles a checked tree into m (zeroed by the caller). 0, or -1 with err
 * set (too complex). */
int drift__expr_compile(const drift__ast *ast, drift_expr *m, drift__expr_err *err);

/* The checker's function table: a CALL's aggregate kind (-1: a row or
 * scalar function) and its instruction (-1: clip, built of min and max). */
int drift__expr_func_agg(int func);
int drift__expr_func_op(int func);

/* An instruction's mnemonic, for the disassembler. */
const char *drift__expr_op_name(int op);

#endif /* DRIFT_EXPR_H */
