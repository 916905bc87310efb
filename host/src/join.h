/*
 * join.h - the inside of a drift_join, shared by join.c (ingest: id tables,
 * entries, expiry) and join_windows.c (event-time windows, queries, dirty
 * keys). Nothing outside host/src sees it.
 *
 * State of a join:
 *   pending   ids of predictions held (waiting, or labelled and kept until
 *             their TTL to recognise a second label), an id table whose
 *             slots map to entries of `preds`;
 *   early     ids of labels that came before their prediction, likewise
 *             mapping to entries of `early_entries`;
 *   windows   per window size, event-time window and subgroup, an SLI
 *             accumulator (sli.h), found through a hash map of windows.
 * The id tables are the backend's (join_ops.h); everything else lives here.
 */
#ifndef DRIFT_JOIN_H
#define DRIFT_JOIN_H

#include "internal.h"
#include "sli.h"

#define DRIFT__JOIN_MAGIC 0x6a6f696eu /* "join" */
#define DRIFT__NO_REF UINT32_MAX

enum { DRIFT__ENTRY_FREE = 0, DRIFT__ENTRY_PENDING = 1, DRIFT__ENTRY_LABELLED = 2 };

/* A held prediction (ts: event time, value: score, label: predicted) or an
 * early label (ts: feedback time, value: target, label: the label). */
typedef struct drift__entry {
  double ts;
  double arrival;
  float value;
  int32_t label;
  int32_t subgroup;
  uint32_t slot;
  uint8_t state;
  int32_t tag;   /* prediction: the caller's tag (drift_join_window_rows) */
  float truth;   /* prediction, once labelled: the label or the target */
} drift__entry;

/* Entries addressed by index, with a free list; indices stay valid. */
typedef struct drift__entry_pool {
  drift__entry *e;
  size_t hw;  /* entries [0, hw) have been handed out at least once */
  size_t cap;
  uint32_t *free_list;
  size_t n_free;
} drift__entry_pool;

/* An id table (join_ops.h) with the slot -> entry map beside it. A slot's
 * ref is DRIFT__NO_REF when empty, deleted, or holding an id an interrupted
 * batch placed but never claimed (such an id reads as absent). */
typedef struct drift__id_table {
  drift__join_table t;
  uint32_t *ref;
  size_t used; /* slots not EMPTY */
  size_t live; /* slots with a ref */
} drift__id_table;

/* One subgroup's accumulator in one window. */
typedef struct drift__group {
  int32_t subgroup;
  int dirty;
  drift__sli_acc acc;
} drift__group;

/* One window of one size: its groups sorted by subgroup. */
typedef struct drift__window {
  int64_t start;
  int size_index;
  int dirty; /* the ALL key is in the dirty list */
  uint64_t held; /* held predictions (pending or labelled) with event time in it */
  drift__group **groups;
  size_t n_groups;
  size_t cap_groups;
} drift__window;

/* A dirty key: group NULL means the window's ALL total. */
typedef struct drift__dirty {
  drift__window *window;
  drift__group *group;
} drift__dirty;

struct drift_join {
  uint32_t magic;
  drift_context *ctx;
  drift_join_config cfg;
  drift__sli_config sli;
  drift__id_table pending;
  drift__entry_pool preds;
  drift__id_table early;
  drift__entry_pool early_entries;
  /* windows: open-addressing map of window pointers */
  drift__window **wmap;
  size_t wmap_cap;
  size_t n_windows;
  size_t n_groups;
  drift__group *last_group[DRIFT_JOIN_MAX_WINDOW_SIZES]; /* lookup cache per size */
  drift__window *last_window[DRIFT_JOIN_MAX_WINDOW_SIZES];
  drift__dirty *dirty;
  size_t n_dirty;
  size_t cap_dirty;
  /* per-batch scratch, grown as needed */
  uint32_t *slots;
  uint32_t *probe;
  uint64_t *ids;
  size_t *rows;
  size_t scratch_cap;
  drift_join_stats stats;
  double horizon; /* sealing: event times before it are not joined; -inf when off */
};

/* join.c: checks the handle and its context (clearing the message). */
drift_status drift__check_join(drift_join *j);

/* join_windows.c */
/* The group of (size index k, the window holding event time ts, subgroup),
 * created if needed, and its window in *window; NULL when out of memory. */
drift__group *drift__join_group(drift_join *j, int k, double ts, int32_t subgroup,
                                drift__window **window);
/* Puts the group's key, and its window's ALL key, in the dirty list (room
 * for every key is reserved when windows and groups are created). */
void drift__join_mark_dirty(drift_join *j, drift__window *w, drift__group *g);
void drift__join_windows_free(drift_join *j);
/* The existing window of size index k holding event time ts, or NULL. */
drift__window *drift__join_find_window(const drift_join *j, int k, double ts);
/* Frees the windows that end at or before the horizon, hold no prediction
 * and have no untaken change; returns the accumulators freed. */
uint64_t drift__join_drop_sealed(drift_join *j);

/* join_batch.c: batch validation; the message names the field and row. */
drift_status drift__join_check_predictions(const drift_join *j, const drift_prediction_batch *b);
drift_status drift__join_check_feedback(const drift_join *j, const drift_feedback_batch *b);
/* The predicted label of prediction row i of a valid batch. */
int32_t drift__join_predicted(const drift_join *j, const drift_prediction_batch *b, size_t i);

#endif /* DRIFT_JOIN_H */
