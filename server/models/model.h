/*
 * model.h - a driftd model: its schema, profile and
 * event-time tumbling windows (one series per configured window size), with
 * cached comparison results per window, and the registry of all models.
 * Implemented by model.c (a model and its lifecycle), model_spec.h/.c (the
 * spec's checks), model_windows.c (windows and comparisons) and registry.c.
 *
 * A model is reference-counted: lookups return a reference the caller drops
 * with dd_model_unref, so a model deleted while a call uses it stays valid
 * until that call ends. Everything that changes after creation (the profile
 * and learned dictionaries once, windows and counters often) is guarded by
 * model->lock; the batcher holds the same lock around window appends.
 *
 * Knows the engine (drift.h) and the decoded API messages; never gRPC calls,
 * never the store.
 */
#ifndef DRIFTD_MODEL_H
#define DRIFTD_MODEL_H

#include <grpc/status.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "drift/drift.h"
#include "drift/drift_multivariate.h"
#include "driftd/v1/drift.pb-c.h"
#include "core/err.h"
#include "core/strmap.h"

#define DD_MODEL_ID_MAX 128

/* Limits from the configuration that models enforce. */
typedef struct dd_limits {
  size_t max_features;
  size_t max_categories; /* per feature, given or learned (0: no limit) */
  size_t max_spec_bytes; /* the spec's encoded size (0: no limit) */
  uint64_t max_rows_per_window;
  uint64_t max_kept_values;
  size_t max_windows;
  uint64_t max_reference_rows;
  int64_t retention_s;
  int64_t sli_seal_s;      /* 0: the model's label TTL plus its largest window */
  int64_t producer_ttl_s;  /* exactly-once sequences kept this long idle (0: for ever) */
  size_t mv_sample_rows;    /* rows of a window's multivariate sample (0: none) */
  size_t mv_reference_rows; /* rows of the reference's multivariate sample */
} dd_limits;

typedef struct dd_feature {
  const char *name;       /* owned by the model's spec */
  drift_feature_kind kind;
  size_t slot;            /* column among the numeric or the categorical features */
  size_t n_categories;    /* categorical: dictionary size (0 until learned) */
  char **categories;      /* the dictionary (owned) */
  dd_strmap dict;         /* category name -> code */
} dd_feature;

/* The model's outputs monitored as columns beside the features
 * (outputs.h): what each column holds per row. */
typedef enum dd_output_source {
  DD_OUTPUT_SCORE,      /* binary: the score P(class 1), numeric */
  DD_OUTPUT_PREDICTED,  /* binary, multiclass: the predicted label, categorical */
  DD_OUTPUT_CONFIDENCE, /* multiclass: the top-class probability, numeric */
  DD_OUTPUT_PREDICTION  /* regression: the predicted value, numeric */
} dd_output_source;

#define DD_MAX_OUTPUTS 2

typedef struct dd_output {
  const char *name;       /* reserved name ("output.score"), static */
  drift_feature_kind kind;
  dd_output_source source;
  size_t slot;            /* column among the output numeric or categorical columns */
} dd_output;

/* The output columns and their own profile (features and outputs are
 * compared separately, so outputs never move a feature's result or the
 * dataset verdict). n == 0: the reference carried no scores nor predicted
 * labels, and the model monitors no outputs. */
typedef struct dd_outputs {
  size_t n, n_numeric, n_categorical;
  dd_output cols[DD_MAX_OUTPUTS];
  drift_profile *profile;
} dd_outputs;

/* A comparison with the reference, valid for window version `version` and
 * statistics `stats`. */
typedef struct dd_compare_cache {
  uint64_t version;
  drift_stat_set stats;
  drift_feature_result *results;
  drift_dataset_result dataset;
} dd_compare_cache;

/* One window of one series. */
typedef struct dd_slot {
  int64_t start;          /* seconds since the epoch, a multiple of the size */
  drift_window *win;
  drift_window *out_win;  /* the output columns' window; NULL without outputs */
  int keeps_values;
  int pending;            /* appends in flight: the window may not be replaced */
  uint64_t version;       /* bumped by every append */
  dd_compare_cache features, outputs;
  /* The window's numeric rows sampled for multivariate drift (mv_sample.h),
   * fed by dd_model_append_done; NULL until the first rows (or when the
   * model has no multivariate reference). Its result against the
   * reference, cached for mv_version (mv_known: 1 computed, -1 too few
   * rows). */
  struct dd_mv_sample *mv;
  uint64_t mv_version;
  int mv_known;
  drift_mv_result mv_result;
} dd_slot;

typedef struct dd_series {
  uint32_t seconds;
  dd_slot **slots;        /* sorted by start; each slot stays where it is allocated */
  size_t n, cap;
} dd_series;

typedef struct dd_model {
  char id[DD_MODEL_ID_MAX + 1];
  atomic_int refs;
  pthread_mutex_t lock;
  Driftd__V1__ModelSpec *spec; /* decoded (protobuf-c default allocator), read-only */
  double created_at;
  size_t n_features, n_numeric, n_categorical;
  dd_feature *features;
  dd_strmap by_name;
  drift_compare_options compare; /* from the spec's DriftConfig */
  int n_bins;
  dd_limits limits;
  /* Set once, under lock, when the reference is built; read-only after. */
  drift_profile *profile;
  dd_outputs outputs;     /* installed with the profile */
  Driftd__V1__ReferenceSummary *reference; /* decoded copy (default allocator) */
  /* Installed with the profile, read-only after (either may be NULL): the
   * numeric features' multivariate reference (drift_mv_reference_fit on a
   * sample of the reference's rows, reference.c), and each feature's
   * relevance to the model (mutual information with the reference's labels,
   * else its scores; n_features values). */
  drift_mv_reference *mv_reference;
  uint64_t mv_reference_rows;
  double *relevance;
  dd_series *series;      /* one per window size, ascending */
  size_t n_series;
  uint64_t n_predictions, n_feedback;
  int uploading;          /* a reference upload is in progress */
  /* A model's life against its writers: streams hold it shared while a
   * batch or chunk goes to the store and the engine; DeleteModel takes it
   * exclusively to retire the model, so no write of a stream opened before
   * the delete lands after it, under the id a re-created model may reuse. */
  pthread_rwlock_t life;
  int retired;            /* under life: set once by dd_model_retire */
  struct dd_labels *labels; /* label join and estimators (labels.h); own lock */
  struct dd_producers *producers; /* exactly-once sequences (producers.h); own lock */
  /* Bumped whenever the windows or the label join change (dd_model_touch):
   * the alert loop re-evaluates a model whose count moved. */
  atomic_uint_fast64_t changes;
  /* Rows this model has in the batcher's queue now (its share is capped:
   * handlers_logs.c, model_queue_share). */
  atomic_size_t queued_rows;
  /* The last measurement of the model's state (state_budget.h). */
  atomic_uint_fast64_t state_bytes;
  atomic_int_fast64_t state_measured_ns;
  /* The reference's SLI per SliMetric, computed once from the estimator
   * (sli_series.c) under the label state's lock, which guards these. */
  double reference_sli[16];
  unsigned char reference_sli_known[16];
  /* The last window estimate sli_series.c computed, kept while the window's
   * counts stay the same (the estimate depends on nothing else); under the
   * label state's lock. */
  struct {
    int valid;
    int64_t size, start;
    int metric;
    uint64_t n_predictions, n_labelled, n_expired;
    drift_estimate_result res;
  } estimate_cache;
} dd_model;

/* Checks a model id: 1..128 characters of [A-Za-z0-9._-]. */
int dd_model_id_check(const char *field, const char *id, dd_err *err);

/* Validates spec (a CreateModelRequest's) and builds a model with one
 * reference held by the caller. NULL on failure with err set
 * (INVALID_ARGUMENT or RESOURCE_EXHAUSTED). spec is copied. */
dd_model *dd_model_create(const char *id, const Driftd__V1__ModelSpec *spec, double created_at,
                          const dd_limits *limits, dd_err *err);
/* Begins a write of m's data (a logged batch, a reference chunk): 0 with m
 * held shared until dd_model_write_end, or -1 (nothing held) when m was
 * retired, with err NOT_FOUND naming it. */
int dd_model_write_begin(dd_model *m, dd_err *err);
void dd_model_write_end(dd_model *m);
/* Retires m once the writes in flight have ended: later write_begin calls
 * fail. DeleteModel calls it after taking m out of the registry and before
 * deleting its data from the store. */
void dd_model_retire(dd_model *m);
void dd_model_ref(dd_model *m);
void dd_model_unref(dd_model *m);

/* Replaces a categorical feature's dictionary with copies of names. 0, or
 * -1 when out of memory. */
int dd_feature_set_dictionary(dd_feature *f, char *const *names, size_t n);

/* The feature of a column: by name, else by index. -1 with err set. */
long dd_model_column_feature(const dd_model *m, const Driftd__V1__FeatureColumn *col,
                             const char *field, dd_err *err);
/* The feature index of a name, or -1. */
long dd_model_feature_index(const dd_model *m, const char *name);

/* Notes that the model's windows or label join changed: bumps m->changes
 * and wakes the alert loop (changes.h). Any thread, no lock held needed. */
void dd_model_touch(dd_model *m);

/* 1 once the reference's profile is installed. */
int dd_model_ready(dd_model *m);

/* The series of a window size (0: the smallest); NULL with err set. */
dd_series *dd_model_series(dd_model *m, uint32_t seconds, dd_err *err);

/* ------------------------------------------------------------- windows */

/* Frees a window slot and what it holds (model_windows.c; model.c frees a
 * model's slots with it). */
void dd_slot_free(dd_slot *slot);

/* Rows decoded from a prediction batch, laid out for the engine. */
typedef struct dd_rows {
  size_t n;
  const double *timestamps;
  const float *numeric;       /* n_numeric columns of n */
  const int32_t *categorical; /* n_categorical columns of n */
  const float *out_numeric;   /* outputs.n_numeric columns of n */
  const int32_t *out_categorical; /* outputs.n_categorical columns of n */
} dd_rows;

/* One window append of a prepared batch: a view of the rows that fall in
 * one window of one series, for its features' window or its outputs'. */
typedef struct dd_append {
  dd_slot *slot;         /* pinned (slot->pending) until dd_model_append_done */
  drift_window *win;
  const drift_profile *profile; /* the profile of win */
  drift_batch batch;
} dd_append;

/* Appends per window: 2 when the model monitors outputs, else 1. */
size_t dd_model_appends_per_window(const dd_model *m);

/* Splits rows into per-window appends: finds or creates the windows (under
 * the lock), pins them, and gathers rows that fall in windows other than
 * the batch's only one into memory from alloc (the caller's arena, freed by
 * the caller after dd_model_append_done). *out gets up to
 * dd_model_appends_per_window(m) * n_series * rows.n appends.
 * RESOURCE_EXHAUSTED when a window would pass max_rows_per_window (nothing
 * changes then). */
typedef void *(*dd_alloc_fn)(void *arg, size_t n);
int dd_model_append_prepare(dd_model *m, drift_context *ctx, const dd_rows *rows,
                            dd_alloc_fn alloc, void *alloc_arg, dd_append **out, size_t *n_out,
                            dd_err *err);
/* Unpins the windows of the appends and counts the rows; ok = 0 when the
 * engine failed them. */
void dd_model_append_done(dd_model *m, dd_append *appends, size_t n, size_t rows, int ok);

/* Compares a slot with the reference (cached per version and statistics).
 * Under the model's lock. Returns the n_features results, owned by the slot
 * (valid until the lock is released), or NULL with err set. */
const drift_feature_result *dd_model_compare_reference(dd_model *m, drift_context *ctx,
                                                       dd_slot *slot, drift_stat_set stats,
                                                       drift_dataset_result *dataset,
                                                       dd_err *err);
/* Likewise for the output columns: m->outputs.n results (their dataset
 * result counts outputs only). m must monitor outputs. */
const drift_feature_result *dd_model_compare_outputs(dd_model *m, drift_context *ctx,
                                                     dd_slot *slot, drift_stat_set stats,
                                                     drift_dataset_result *dataset, dd_err *err);

/* The multivariate drift of a slot against the model's multivariate
 * reference (cached per window version). Under the model's lock. 1 with
 * *out set; 0 when there is none (no multivariate reference, or fewer than
 * 2 rows sampled); -1 with err set. */
int dd_model_multivariate(dd_model *m, drift_context *ctx, dd_slot *slot, drift_mv_result *out,
                          dd_err *err);

/* The value of statistic `stat` (a drift_stat) in a comparison result. */
double dd_stat_value(const drift_feature_result *r, int stat);

/* ------------------------------------------------------------- registry */

typedef struct dd_registry {
  pthread_rwlock_t lock;
  dd_model **models;  /* sorted by id */
  size_t n, cap;
  size_t max_models;  /* 0: no limit; set after init */
} dd_registry;

void dd_registry_init(dd_registry *r);
void dd_registry_free(dd_registry *r);
/* Adds m (taking a reference of its own); ALREADY_EXISTS when the id is
 * taken. */
int dd_registry_add(dd_registry *r, dd_model *m, dd_err *err);
/* A reference to the model, or NULL with NOT_FOUND in err (err may be NULL). */
dd_model *dd_registry_get(dd_registry *r, const char *id, dd_err *err);
/* Removes the model; returns the registry's reference, or NULL. */
dd_model *dd_registry_remove(dd_registry *r, const char *id);
/* References to the models with id > after (NULL: all), in id order, at
 * most limit (0: all). The caller unrefs each and frees the array. */
dd_model **dd_registry_list(dd_registry *r, const char *after, size_t limit, size_t *n);

#endif /* DRIFTD_MODEL_H */
