/*
 * alertmanager.c - the Alertmanager sender (alertmanager.h): a bounded
 * queue of formatted alerts and one thread that posts them with libcurl,
 * retrying with exponential backoff.
 *
 * The queue's mutex is never held across a post; a post in flight is
 * aborted at stop through curl's progress callback.
 */
#include "alerts/alertmanager.h"

#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"

#define BATCH_MAX 64

typedef struct item {
  char *json;
  struct item *next;
} item;

struct dd_alertmanager {
  dd_alertmanager_options o;
  char url[1100];
  char external_url[1024];
  pthread_t thread;
  atomic_int stop;

  pthread_mutex_t mu; /* guards the queue, the counters and cv */
  pthread_cond_t cv;
  item *head, *tail;
  size_t n;
  dd_alertmanager_stats stats;
};

void dd_alertmanager_options_init(dd_alertmanager_options *o) {
  memset(o, 0, sizeof *o);
  o->queue_cap = 1024;
  o->connect_timeout_ms = 2000;
  o->timeout_ms = 10000;
  o->backoff_s = 0.25;
  o->max_backoff_s = 8;
  o->max_attempts = 8;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ----------------------------------------------------------------- queue */

void dd_alertmanager_enqueue(dd_alertmanager *am, const dd_alert_entry *e, double now) {
  if (!am) return;
  item *it = malloc(sizeof *it);
  char *json = dd_alertmanager_alert_json(e, am->external_url, am->o.resend_s, now);
  pthread_mutex_lock(&am->mu);
  if (!it || !json) {
    am->stats.dropped++;
    pthread_mutex_unlock(&am->mu);
    free(it);
    free(json);
    return;
  }
  it->json = json;
  it->next = NULL;
  if (am->n == am->o.queue_cap) { /* full: the oldest goes */
    item *old = am->head;
    am->head = old->next;
    if (!am->head) am->tail = NULL;
    am->n--;
    am->stats.dropped++;
    free(old->json);
    free(old);
  }
  if (am->tail)
    am->tail->next = it;
  else
    am->head = it;
  am->tail = it;
  am->n++;
  pthread_cond_signal(&am->cv);
  pthread_mutex_unlock(&am->mu);
}

/* Takes up to BATCH_MAX alerts; under the lock. */
static item *take(dd_alertmanager *am, size_t *n) {
  item *first = am->head, *last = NULL;
  size_t k = 0;
  for (item *it = am->head; it && k < BATCH_MAX; it = it->next) {
    last = it;
    k++;
  }
  if (!last) return NULL;
  am->head = last->next;
  if (!am->head) am->tail = NULL;
  last->next = NULL;
  am->n -= k;
  *n = k;
  return first;
}

static void free_items(item *it) {
  while (it) {
    item *next = it->next;
    free(it->json);
    free(it);
    it = next;
  }
}

/* ------------------------------------------------------------------ post */

typedef enum post_result { POST_OK, POST_RETRY, POST_REFUSED } post_result;

static int abort_at_stop(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un) {
  (void)dt, (void)dn, (void)ut, (void)un;
  return atomic_load(&((dd_alertmanager *)arg)->stop) ? 1 : 0;
}

static size_t discard(char *p, size_t size, size_t n, void *arg) {
  (void)p, (void)arg;
  return size * n;
}

static char *body_of(const item *batch) {
  size_t len = 3;
  for (const item *it = batch; it; it = it->next) len += strlen(it->json) + 1;
  char *body = malloc(len);
  if (!body) return NULL;
  size_t n = 0;
  body[n++] = '[';
  for (const item *it = batch; it; it = it->next) {
    if (it != batch) body[n++] = ',';
    size_t l = strlen(it->json);
    memcpy(body + n, it->json, l);
    n += l;
  }
  body[n++] = ']';
  body[n] = 0;
  return body;
}

static post_result post(dd_alertmanager *am, CURL *curl, const char *body) {
  struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
  curl_easy_reset(curl);
  curl_easy_setopt(curl, CURLOPT_URL, am->url);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, am->o.connect_timeout_ms);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, am->o.timeout_ms);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, abort_at_stop);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, am);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
  CURLcode rc = curl_easy_perform(curl);
  long code = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    if (!atomic_load(&am->stop))
      DD_WARN("alertmanager: POST %s: %s", am->url, curl_easy_strerror(rc));
    return POST_RETRY;
  }
  if (code >= 200 && code < 300) return POST_OK;
  DD_WARN("alertmanager: POST %s: HTTP %ld", am->url, code);
  /* Alertmanager refuses a bad payload with 400: posting it again will
   * not help. Everything else (5xx, 429, a proxy's answer) may pass later. */
  return code >= 400 && code < 500 && code != 429 && code != 408 ? POST_REFUSED : POST_RETRY;
}

/* Sleeps up to s seconds, or until stop. */
static void pause_for(dd_alertmanager *am, double s) {
  double until = now_s() + s;
  struct timespec ts = {.tv_sec = (time_t)floor(until),
                        .tv_nsec = (long)((until - floor(until)) * 1e9)};
  pthread_mutex_lock(&am->mu);
  while (!atomic_load(&am->stop) && pthread_cond_timedwait(&am->cv, &am->mu, &ts) == 0 &&
         now_s() < until) {
  }
  pthread_mutex_unlock(&am->mu);
}

static void deliver(dd_alertmanager *am, CURL *curl, item *batch, size_t n) {
  char *body = body_of(batch);
  post_result r = body ? POST_RETRY : POST_REFUSED;
  double backoff = am->o.backoff_s;
  for (int attempt = 1; body && !atomic_load(&am->stop); attempt++) {
    r = post(am, curl, body);
    if (r == POST_OK) break;
    pthread_mutex_lock(&am->mu);
    am->stats.posts_failed++;
    pthread_mutex_unlock(&am->mu);
    if (r == POST_REFUSED || attempt >= am->o.max_attempts) break;
    pause_for(am, backoff);
    backoff = fmin(2 * backoff, am->o.max_backoff_s);
  }
  pthread_mutex_lock(&am->mu);
  if (r == POST_OK)
    am->stats.sent += n;
  else
    am->stats.dropped += n;
  pthread_mutex_unlock(&am->mu);
  free(body);
}

static void *sender_main(void *arg) {
  dd_alertmanager *am = arg;
  CURL *curl = curl_easy_init();
  pthread_mutex_lock(&am->mu);
  while (!atomic_load(&am->stop)) {
    if (am->n == 0) {
      pthread_cond_wait(&am->cv, &am->mu);
      continue;
    }
    size_t n = 0;
    item *batch = take(am, &n);
    pthread_mutex_unlock(&am->mu);
    if (curl) {
      deliver(am, curl, batch, n);
    } else {
      DD_ERROR("alertmanager: no curl handle; %zu alerts dropped", n);
      pthread_mutex_lock(&am->mu);
      am->stats.dropped += n;
      pthread_mutex_unlock(&am->mu);
    }
    free_items(batch);
    pthread_mutex_lock(&am->mu);
  }
  pthread_mutex_unlock(&am->mu);
  curl_easy_cleanup(curl);
  return NULL;
}

/* ------------------------------------------------------------ lifecycle */

dd_alertmanager *dd_alertmanager_start(const dd_alertmanager_options *o, char *err, size_t errcap) {
  if (!o->url || !o->url[0] || strlen(o->url) >= 1024 || !o->external_url ||
      strlen(o->external_url) >= 1024) {
    snprintf(err, errcap, "alertmanager: url and external_url: expected 1..1023 bytes");
    return NULL;
  }
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    snprintf(err, errcap, "alertmanager: libcurl does not initialise");
    return NULL;
  }
  dd_alertmanager *am = calloc(1, sizeof *am);
  if (!am) {
    curl_global_cleanup();
    snprintf(err, errcap, "alertmanager: out of memory");
    return NULL;
  }
  am->o = *o;
  if (am->o.queue_cap == 0) am->o.queue_cap = 1;
  size_t ul = strlen(o->url);
  while (ul > 0 && o->url[ul - 1] == '/') ul--;
  snprintf(am->url, sizeof am->url, "%.*s/api/v2/alerts", (int)ul, o->url);
  size_t el = strlen(o->external_url);
  while (el > 0 && o->external_url[el - 1] == '/') el--;
  snprintf(am->external_url, sizeof am->external_url, "%.*s", (int)el, o->external_url);
  am->o.url = am->url;
  am->o.external_url = am->external_url;
  pthread_mutex_init(&am->mu, NULL);
  pthread_cond_init(&am->cv, NULL);
  if (pthread_create(&am->thread, NULL, sender_main, am) != 0) {
    snprintf(err, errcap, "alertmanager: cannot start the sender thread");
    pthread_cond_destroy(&am->cv);
    pthread_mutex_destroy(&am->mu);
    free(am);
    curl_global_cleanup();
    return NULL;
  }
  return am;
}

void dd_alertmanager_stop(dd_alertmanager *am) {
  if (!am) return;
  pthread_mutex_lock(&am->mu);
  atomic_store(&am->stop, 1);
  pthread_cond_broadcast(&am->cv);
  pthread_mutex_unlock(&am->mu);
  pthread_join(am->thread, NULL);
  free_items(am->head);
  pthread_cond_destroy(&am->cv);
  pthread_mutex_destroy(&am->mu);
  free(am);
  curl_global_cleanup();
}

void dd_alertmanager_get_stats(dd_alertmanager *am, dd_alertmanager_stats *out) {
  memset(out, 0, sizeof *out);
  if (!am) return;
  pthread_mutex_lock(&am->mu);
  *out = am->stats;
  out->queued = am->n;
  pthread_mutex_unlock(&am->mu);
}
