/*
 * drift_snapshot.h - saving a window or a label join into bytes and loading
 * it back, for a service that checkpoints its state instead of rebuilding it
 * from its whole log at every start.
 *
 * The library does no I/O: a save writes into memory the caller owns, after
 * a size query (two-phase, as drift_profile_edges); a load reads a buffer
 * the caller owns and builds a new handle. The format is versioned and
 * little-endian on every host: a magic number and a version open each
 * snapshot, so a snapshot of another kind or of another format version is
 * refused (DRIFT_INVALID_ARGUMENT, "snapshot: ..." naming what differs)
 * rather than misread. A loader checks everything it reads: lengths, sizes
 * against the profile or join config given, counts against each other
 * (a window's histograms, moments and kept values describe the same rows;
 * a join's tables, entries, windows and counters agree), values in their
 * ranges. Bytes that pass are a state the live API could have built; a
 * snapshot is not authenticated, so integrity against storage faults is the
 * caller's (a CRC over the bytes).
 *
 * Round trip: save(load(save(x))) is byte for byte save(x), and the loaded
 * handle answers every accessor (histograms, summaries, comparisons, SLI
 * queries, window rows, stats other than table_capacity and bytes) as x
 * does, and goes on from there as x would.
 *
 * Threads: a save reads the handle; no other thread may change it meanwhile
 * (the same rule as its other calls).
 */
#ifndef DRIFT_SNAPSHOT_H
#define DRIFT_SNAPSHOT_H

#include "drift/drift.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Format versions these functions write; a load accepts exactly these. */
#define DRIFT_WINDOW_SNAPSHOT_VERSION 2
#define DRIFT_JOIN_SNAPSHOT_VERSION 1

/* Writes the window's counts, moments and kept values (in their current
 * order, with whether they are sorted) and a fingerprint of its profile's
 * schema and bins into buf. Two-phase: with buf NULL, *n_out is the size;
 * with cap below it, DRIFT_BUFFER_TOO_SMALL and *n_out the size needed. */
DRIFT_API drift_status drift_window_save(drift_context *ctx, const drift_window *window, void *buf,
                                         size_t cap, size_t *n_out);

/* A new window over `profile` (finalized, outliving the window) holding
 * what the snapshot holds. Refused when the snapshot was taken over a
 * profile with another schema or other bins. *out is NULL on failure;
 * destroy with drift_window_destroy. */
DRIFT_API drift_status drift_window_load(drift_context *ctx, const drift_profile *profile,
                                         const void *buf, size_t len, drift_window **out);

/* drift_window_load that leaves the kept values in buf instead of copying
 * them, for a caller that maps its snapshots from a file: no copy, and no
 * fresh memory to fault in. buf must be writable (a private mapping will
 * do: a comparison may sort the values in place, and a load never writes)
 * and stay valid until release(release_arg) runs. On success release runs
 * exactly once: when the window is destroyed or copies its values out (its
 * first append or merge), or before this returns when the values were
 * copied anyway (not aligned for floats, a big-endian host, none kept). On
 * failure it does not run. */
DRIFT_API drift_status drift_window_load_borrowed(drift_context *ctx, const drift_profile *profile,
                                                  void *buf, size_t len,
                                                  void (*release)(void *arg), void *release_arg,
                                                  drift_window **out);

/* Writes the join's whole state: its config, the predictions and early
 * labels it holds (with their ids, arrival and event times, tags, labels),
 * the order of its entry pools, every window's SLI accumulators, the
 * dirty keys in order, the sealing horizon and the counters. Two-phase as
 * drift_window_save. */
DRIFT_API drift_status drift_join_save(const drift_join *join, void *buf, size_t cap,
                                       size_t *n_out);

/* A new join bound to ctx holding the snapshot's state. cfg: the config the
 * caller would create the join with; the snapshot's must equal it field by
 * field (else refused: state built under another config is not this join's,
 * e.g. another TTL or window sizes). The id tables are rebuilt at the saved
 * capacity (placement and tombstones are not kept: they change no answer).
 * *out is NULL on failure; destroy with drift_join_destroy. */
DRIFT_API drift_status drift_join_load(drift_context *ctx, const drift_join_config *cfg,
                                       const void *buf, size_t len, drift_join **out);

#ifdef __cplusplus
}
#endif
#endif /* DRIFT_SNAPSHOT_H */
