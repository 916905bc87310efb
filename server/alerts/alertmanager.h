/*
 * alertmanager.h - delivery of alert states to Prometheus Alertmanager's v2
 * API (POST <url>/api/v2/alerts, a JSON array of alerts): FIRING states
 * with their episode's startsAt (stable across restarts, so Alertmanager
 * sees the same alert) and RESOLVED ones with endsAt. Grouping, silences,
 * inhibition and repeats are Alertmanager's job.
 *
 * dd_alertmanager_enqueue formats the alert and queues it; a sender thread
 * of its own posts the queue in batches with libcurl (connect and request
 * timeouts), retrying a failed post with exponential backoff. Nothing here
 * ever blocks its caller on the network: a full queue drops its oldest
 * alert (a FIRING state is re-sent by the alert loop anyway). Knows the
 * alert state entries and libcurl; never gRPC, models or the store.
 */
#ifndef DRIFTD_ALERTMANAGER_H
#define DRIFTD_ALERTMANAGER_H

#include <stddef.h>
#include <stdint.h>

#include "alerts/alert_state.h"

typedef struct dd_alertmanager dd_alertmanager;

typedef struct dd_alertmanager_options {
  const char *url;          /* Alertmanager's base URL, http(s)://host:port[/prefix] */
  const char *external_url; /* driftd's dashboard base URL, for links */
  double resend_s;          /* the alert loop's re-send interval: a FIRING
                               alert's endsAt is 4 x this ahead, so
                               Alertmanager resolves it by itself should
                               driftd stop sending (0: no endsAt) */
  size_t queue_cap;         /* alerts waiting at most; default 1024 */
  long connect_timeout_ms;  /* default 2000 */
  long timeout_ms;          /* whole request; default 10000 */
  double backoff_s;         /* first retry delay, doubled per retry; default 0.25 */
  double max_backoff_s;     /* default 8 */
  int max_attempts;         /* posts of one batch before it is dropped; default 8 */
} dd_alertmanager_options;

void dd_alertmanager_options_init(dd_alertmanager_options *o);

/* Starts the sender thread. NULL with a message in err on failure. */
dd_alertmanager *dd_alertmanager_start(const dd_alertmanager_options *o, char *err, size_t errcap);

/* Stops the sender (aborting a post in flight) and frees it; alerts still
 * queued are dropped. Accepts NULL. */
void dd_alertmanager_stop(dd_alertmanager *am);

/* Queues the alert of entry e (FIRING or RESOLVED) as of time now. Never
 * blocks on the network; any thread. */
void dd_alertmanager_enqueue(dd_alertmanager *am, const dd_alert_entry *e, double now);

typedef struct dd_alertmanager_stats {
  uint64_t sent;         /* alerts in posts Alertmanager accepted */
  uint64_t posts_failed; /* failed posts, each retry counted */
  uint64_t dropped;      /* alerts given up (retries spent, refused, full queue) */
  uint64_t queued;       /* alerts waiting now */
} dd_alertmanager_stats;

/* A consistent copy of the counters (zeros for NULL), for GetServerStats and
 * /metrics. */
void dd_alertmanager_get_stats(dd_alertmanager *am, dd_alertmanager_stats *out);

/* The JSON object of one alert as posted (malloc'ed, NULL when out of
 * memory); exposed for tests and logs. */
char *dd_alertmanager_alert_json(const dd_alert_entry *e, const char *external_url, double resend_s,
                                 double now);

#endif /* DRIFTD_ALERTMANAGER_H */
