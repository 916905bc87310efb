/*
 * checkpoint_model.h - one model's section of a checkpoint: everything the
 * log replay rebuilds for it (its windows per series with their
 * multivariate samples, its prediction and feedback counters, its label
 * state: segment names, expiry tick, join and class probabilities),
 * with the log position it covers and what identifies the model it was
 * taken from (id, creation time, a CRC of its spec).
 *
 * Layout (little-endian): u32 section version, u32 id length, id, f64
 * created_at, u32 spec CRC, u64 covered log sequence, u64 predictions, u64
 * feedback rows, u64 rows of the windows' multivariate samples (0: not
 * sampled), u32 numeric features, u32 series; per series u32 seconds, u64
 * windows, per window i64 start, u8 keeps values, u64 length + zero bytes
 * up to a multiple of 8 from the section's start + drift_window_save
 * bytes, u8 has outputs, [the same for the output window], u8 has a
 * multivariate sample, [u64 rows seen, u64 generator state, u64 rows kept,
 * per numeric feature the kept rows' f32 values]; f64 expiry tick, u64
 * segments, per segment u32 length + name; u64 length + drift_join_save
 * bytes (0: no join); u8 has class probabilities, [u32 classes, u64
 * sequence number of the oldest row, u64 rows, per row f64 arrival +
 * classes f32]. Every count is checked against the bytes left and the
 * model before anything is allocated for it.
 * The reference, profiles and estimators are not in it: start-up rebuilds
 * them from the stored reference before it applies a section.
 *
 * Knows the models and the engine; never the store or files.
 */
#ifndef DRIFTD_CHECKPOINT_MODEL_H
#define DRIFTD_CHECKPOINT_MODEL_H

#include "models/model.h"

#define DD_CKPT_MODEL_VERSION 3 /* 3: window snapshots aligned to 8 */

/* m's section, covering the log up to covered_seq, into a malloc'ed buffer
 * (*out, *len; the caller frees). The caller holds m->life exclusively (no
 * batch of m in flight); this takes m->lock, then the label state's lock,
 * each while it copies. -1 with err on failure. */
int dd_ckpt_model_encode(dd_model *m, drift_context *ctx, uint64_t covered_seq, uint8_t **out,
                         size_t *len, dd_err *err);

/* The model id of a section, into id (DD_MODEL_ID_MAX + 1 bytes); -1 when
 * the section is not one this driftd reads. */
int dd_ckpt_model_id(const uint8_t *bytes, size_t len, char *id);

/* Where a section's bytes live when they may be lent to the windows
 * restored from it: writable memory, kept until its last holder releases
 * it. hold runs once for each window that keeps its values there, release
 * once for each hold (when the window lets them go). */
typedef struct dd_ckpt_lender {
  void (*hold)(void *arg);
  void (*release)(void *arg);
  void *arg;
} dd_ckpt_lender;

/* Installs a section into m, just restored from its record and reference
 * and not yet fed any batch: all or nothing. lend: the section's bytes may
 * hold the windows' kept values in place (NULL: they are copied). 0 with
 * *covered_seq set; -1 with err (m unchanged) when the section is of
 * another model (re-created under the same id, or with another spec),
 * another reference (the windows' bins differ), another join config, or
 * does not decode. */
int dd_ckpt_model_apply(dd_model *m, drift_context *ctx, const uint8_t *bytes, size_t len,
                        const dd_ckpt_lender *lend, uint64_t *covered_seq, dd_err *err);

#endif /* DRIFTD_CHECKPOINT_MODEL_H */
