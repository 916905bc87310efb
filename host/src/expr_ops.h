/*
 * expr_ops.h - the bytecode of compiled metric expressions and the backend
 * op that runs it over rows (included from backend.h). The compiler
 * (expr_compile.c) writes it; the CPU backend (host/cpu/expr.c), the CUDA
 * backend (kernels/expr.cu) and the scalar stage of the engine
 * (expr_eval.c) run it, all through drift__expr_apply below, so every
 * backend computes each instruction with the same arithmetic.
 *
 * A program is a list of instructions over a small register file of
 * doubles, run once per row: loads (a column, a feature, a constant, a
 * segment test), arithmetic, comparisons and logic, and STORE, which
 * writes a register to an output column. Comparisons and logic give 1 or 0;
 * a comparison with NaN is 0 except != (IEEE). Nothing here allocates or
 * knows about accumulators: the engine reduces the output columns.
 */
#ifndef DRIFT_EXPR_OPS_H
#define DRIFT_EXPR_OPS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#define DRIFT__EXPR_REGS 32
#define DRIFT__EXPR_MAX_CODE 1024
#define DRIFT__EXPR_MAX_OUTS 64
#define DRIFT__EXPR_MAX_STRINGS 32

/* Row columns a LOAD_COL reads. */
typedef enum drift__expr_col {
  DRIFT__COL_SCORE = 0,
  DRIFT__COL_PREDICTED = 1,
  DRIFT__COL_LABEL = 2,
  DRIFT__COL_LAG = 3,
  DRIFT__COL_COUNT = 4
} drift__expr_col;

#define DRIFT__EXPR_OP_MAP(XX)                                              \
  XX(CONST, "const")    /* r[dst] = k */                                    \
  XX(LOAD_COL, "col")   /* r[dst] = column arg (NaN when absent) */         \
  XX(LOAD_FEAT, "feat") /* r[dst] = feature arg (float) */                  \
  XX(SEG_EQ, "seg_eq")  /* r[dst] = segment code == string arg's code */    \
  XX(SLOT, "slot")      /* r[dst] = aggregate arg's value (scalar stage) */ \
  XX(STORE, "store")    /* out[arg] = r[a] */                               \
  XX(NEG, "neg")                                                            \
  XX(NOT, "not")                                                            \
  XX(ABS, "abs")                                                            \
  XX(SQRT, "sqrt")                                                          \
  XX(LOG, "log")                                                            \
  XX(EXP, "exp")                                                            \
  XX(FLOOR, "floor")                                                        \
  XX(ISNUM, "isnum") /* 1 unless NaN */                                     \
  XX(ADD, "add")                                                            \
  XX(SUB, "sub")                                                            \
  XX(MUL, "mul")                                                            \
  XX(DIV, "div")                                                            \
  XX(POW, "pow")                                                            \
  XX(MIN, "min") /* fmin: NaN only when both are */                         \
  XX(MAX, "max")                                                            \
  XX(LT, "lt")                                                              \
  XX(LE, "le")                                                              \
  XX(GT, "gt")                                                              \
  XX(GE, "ge")                                                              \
  XX(EQ, "eq")                                                              \
  XX(NE, "ne")                                                              \
  XX(AND, "and")                                                            \
  XX(OR, "or")

typedef enum drift__expr_op {
#define DRIFT__EXPR_OP_ENUM_(name, text) DRIFT__EOP_##name,
  DRIFT__EXPR_OP_MAP(DRIFT__EXPR_OP_ENUM_)
#undef DRIFT__EXPR_OP_ENUM_
      DRIFT__EOP_COUNT
} drift__expr_op;

/* One instruction: r[dst] = op(r[a], r[b]); loads and STORE use arg, CONST
 * uses k. */
typedef struct drift__expr_ins {
  uint8_t op;
  uint8_t dst;
  uint8_t a;
  uint8_t b;
  uint32_t arg;
  double k;
} drift__expr_ins;

#if defined(__CUDACC__)
#define DRIFT__EXPR_FN static __host__ __device__ __forceinline__
#else
#define DRIFT__EXPR_FN static inline
#endif

/* The arithmetic of the unary and binary ops (every backend calls this). */
DRIFT__EXPR_FN double drift__expr_apply(int op, double a, double b) {
  switch (op) {
    case DRIFT__EOP_NEG:
      return -a;
    case DRIFT__EOP_NOT:
      return a != 0.0 ? 0.0 : 1.0;
    case DRIFT__EOP_ABS:
      return fabs(a);
    case DRIFT__EOP_SQRT:
      return sqrt(a);
    case DRIFT__EOP_LOG:
      return log(a);
    case DRIFT__EOP_EXP:
      return exp(a);
    case DRIFT__EOP_FLOOR:
      return floor(a);
    case DRIFT__EOP_ISNUM:
      return a != a ? 0.0 : 1.0;
    case DRIFT__EOP_ADD:
      return a + b;
    case DRIFT__EOP_SUB:
      return a - b;
    case DRIFT__EOP_MUL:
      return a * b;
    case DRIFT__EOP_DIV:
      return a / b;
    case DRIFT__EOP_POW:
      return pow(a, b);
    case DRIFT__EOP_MIN:
      return fmin(a, b);
    case DRIFT__EOP_MAX:
      return fmax(a, b);
    case DRIFT__EOP_LT:
      return a < b ? 1.0 : 0.0;
    case DRIFT__EOP_LE:
      return a <= b ? 1.0 : 0.0;
    case DRIFT__EOP_GT:
      return a > b ? 1.0 : 0.0;
    case DRIFT__EOP_GE:
      return a >= b ? 1.0 : 0.0;
    case DRIFT__EOP_EQ:
      return a == b ? 1.0 : 0.0;
    case DRIFT__EOP_NE:
      return a != b ? 1.0 : 0.0;
    case DRIFT__EOP_AND:
      return (a != 0.0 && b != 0.0) ? 1.0 : 0.0;
    case DRIFT__EOP_OR:
      return (a != 0.0 || b != 0.0) ? 1.0 : 0.0;
    default:
      return NAN;
  }
}

/* Runs the row program over n_rows rows.
 *   cols[c]     DRIFT__COL_COUNT double columns, each NULL (reads NaN);
 *   features    column-major floats, feature f at features + f * ld;
 *   segment     codes (NULL: none); seg_codes[s] the code of the program's
 *               string s in this batch's dictionary (-2 when absent, which
 *               no row carries);
 *   out         n_outs double columns of n_rows, column o at out + o *
 *               n_rows, written by STORE.
 * The program was checked by the compiler: registers < DRIFT__EXPR_REGS,
 * every arg in range. Row r's outputs depend on row r alone. */
typedef struct drift__expr_job {
  const drift__expr_ins *code;
  size_t n_code;
  size_t n_rows;
  const double *cols[DRIFT__COL_COUNT];
  const float *features;
  size_t ld;
  size_t n_features;
  const int32_t *segment;
  const int32_t *seg_codes;
  size_t n_strings;
  double *out;
  size_t n_outs;
} drift__expr_job;

/* Runs `code` over row `row` of job (loads read its columns, STORE writes
 * its out), with slots[] the aggregates' values for SLOT (scalar stage;
 * NULL in the row program). Returns register 0 (the scalar stage's result).
 * Shared by the CPU and CUDA backends and the host's scalar stage. */
DRIFT__EXPR_FN double drift__expr_run_row(const drift__expr_ins *code, size_t n_code,
                                          const drift__expr_job *job, size_t row,
                                          const double *slots) {
  double r[DRIFT__EXPR_REGS];
  r[0] = NAN;
  for (size_t i = 0; i < n_code; i++) {
    const drift__expr_ins *in = &code[i];
    switch (in->op) {
      case DRIFT__EOP_CONST:
        r[in->dst] = in->k;
        break;
      case DRIFT__EOP_LOAD_COL: {
        const double *col = job->cols[in->arg];
        r[in->dst] = col != NULL ? col[row] : NAN;
        break;
      }
      case DRIFT__EOP_LOAD_FEAT:
        r[in->dst] = job->features != NULL ? (double)job->features[in->arg * job->ld + row] : NAN;
        break;
      case DRIFT__EOP_SEG_EQ: {
        int32_t s = job->segment != NULL ? job->segment[row] : -1;
        r[in->dst] = (s >= 0 && s == job->seg_codes[in->arg]) ? 1.0 : 0.0;
        break;
      }
      case DRIFT__EOP_SLOT:
        r[in->dst] = slots[in->arg];
        break;
      case DRIFT__EOP_STORE:
        job->out[in->arg * job->n_rows + row] = r[in->a];
        break;
      default:
        r[in->dst] = drift__expr_apply(in->op, r[in->a], r[in->b]);
        break;
    }
  }
  return r[0];
}

#endif /* DRIFT_EXPR_OPS_H */
