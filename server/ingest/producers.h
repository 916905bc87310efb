/*
 * producers.h - exactly-once ingest in memory: per model, the last committed
 * sequence of each (log kind, producer), and which producers have a batch in
 * flight.
 *
 * A client that tags its batches with a producer id and increasing sequence
 * numbers may resend after a failure: the server applies a batch only when
 * its sequence is above the producer's last committed one, and acknowledges
 * the others without applying them. The store keeps the same sequences,
 * written in the transaction of the log record (store.h,
 * dd_store_log_append_once), and start-up loads them back here.
 *
 * A claim serializes one producer's batches: a second batch of a producer
 * whose batch is in flight (say a retry racing the stream it replaces) waits
 * for the first to commit or fail, then is judged against the outcome. So a
 * batch is never applied twice, even from two connections at once.
 *
 * Thread safety: every function may be called from any thread; one mutex per
 * table.
 */
#ifndef DRIFTD_PRODUCERS_H
#define DRIFTD_PRODUCERS_H

#include <stddef.h>
#include <stdint.h>

typedef struct dd_producers dd_producers;
typedef struct dd_producer_entry dd_producer_entry;

/* A held claim: the entry is busy until dd_producers_release. */
typedef struct dd_producer_claim {
  dd_producer_entry *e;
  uint64_t seq;
} dd_producer_claim;

/* A table whose entries idle for longer than ttl_s are forgotten (0: kept
 * for ever). The store forgets its copies after ttl_s too; this table waits
 * twice as long, so it never takes for new a sequence the store still
 * holds. NULL when out of memory. */
dd_producers *dd_producers_new(int64_t ttl_s);
void dd_producers_free(dd_producers *p);

/* Loads a stored sequence at start-up (the larger of two loads wins). 0, or
 * -1 when out of memory. */
int dd_producers_load(dd_producers *p, int kind, const char *producer, uint64_t last_seq,
                      int64_t updated_ns);

typedef enum dd_producer_verdict {
  DD_PRODUCER_NEW = 0,       /* claimed: apply, then dd_producers_release */
  DD_PRODUCER_DUPLICATE = 1, /* seq at or below the last committed: skip */
  DD_PRODUCER_NOMEM = -1
} dd_producer_verdict;

/* Judges (kind, producer, seq), waiting while another batch of the same
 * producer is in flight. On DD_PRODUCER_NEW the caller holds *c and must
 * release it; *last (may be NULL) gets the last committed sequence. */
dd_producer_verdict dd_producers_claim(dd_producers *p, int kind, const char *producer,
                                       uint64_t seq, int64_t now_ns, dd_producer_claim *c,
                                       uint64_t *last);

/* Ends a claim: committed means the batch is in the log with its sequence,
 * which becomes the producer's last. */
void dd_producers_release(dd_producers *p, dd_producer_claim *c, int committed, int64_t now_ns);

/* Entries held now (for tests and stats). */
size_t dd_producers_count(dd_producers *p);

#endif /* DRIFTD_PRODUCERS_H */
