/*
 * state_budget.c - measuring models' state and the caps on it
 * (state_budget.h).
 */
#include "models/state_budget.h"

#include <stdio.h>
#include <time.h>

#include "labels/labels.h"
#include "models/mv_sample.h"

#define STALE_NS 200000000 /* 200 ms */

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

uint64_t dd_model_state_bytes(dd_model *m) {
  uint64_t b = 0;
  pthread_mutex_lock(&m->lock);
  for (size_t s = 0; s < m->n_series; s++)
    for (size_t i = 0; i < m->series[s].n; i++) {
      const dd_slot *slot = m->series[s].slots[i];
      b += drift_window_bytes(slot->win) + drift_window_bytes(slot->out_win) +
           dd_mv_sample_bytes(slot->mv);
    }
  pthread_mutex_unlock(&m->lock);
  drift_join_stats st;
  if (dd_labels_stats(m, &st) == 0) b += st.bytes;
  return b;
}

static void fmt_bytes(char *out, size_t cap, uint64_t b) {
  if (b >= (uint64_t)1 << 30)
    snprintf(out, cap, "%.2f GiB", (double)b / (double)((uint64_t)1 << 30));
  else
    snprintf(out, cap, "%.1f MiB", (double)b / (double)(1 << 20));
}

int dd_budget_admit(dd_budget *b, dd_model *m, const char *field, dd_err *err) {
  if (!b->max_model_bytes && !b->max_server_bytes) return 0;
  int64_t now = mono_ns();
  int64_t last = atomic_load(&m->state_measured_ns);
  if (now - last >= STALE_NS && atomic_compare_exchange_strong(&m->state_measured_ns, &last, now)) {
    uint64_t bytes = dd_model_state_bytes(m);
    uint64_t before = atomic_exchange(&m->state_bytes, bytes);
    atomic_fetch_add(&b->total, bytes - before); /* wraps back for a smaller size */
  }
  uint64_t mine = atomic_load(&m->state_bytes), all = atomic_load(&b->total);
  char have[32], cap[32];
  if (b->max_model_bytes && mine >= b->max_model_bytes) {
    fmt_bytes(have, sizeof have, mine);
    fmt_bytes(cap, sizeof cap, b->max_model_bytes);
    return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED,
                   "%s: model \"%s\" holds %s of windows and label join (max_model_bytes %s); "
                   "fewer windows (max_windows, retention_s) or kept values (max_kept_values) "
                   "bring it down, or raise the cap",
                   field, m->id, have, cap);
  }
  if (b->max_server_bytes && all >= b->max_server_bytes) {
    fmt_bytes(have, sizeof have, all);
    fmt_bytes(cap, sizeof cap, b->max_server_bytes);
    return dd_fail(err, GRPC_STATUS_RESOURCE_EXHAUSTED,
                   "%s: the server holds %s of model state (max_server_bytes %s); retry later "
                   "or raise the cap",
                   field, have, cap);
  }
  return 0;
}

void dd_budget_forget(dd_budget *b, dd_model *m) {
  atomic_fetch_sub(&b->total, atomic_exchange(&m->state_bytes, 0));
}
