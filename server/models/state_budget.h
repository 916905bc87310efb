/*
 * state_budget.h - caps on the memory the models' state may hold: each
 * model's windows (counts, moments, kept values) and label join
 * (max_model_bytes), and all models together (max_server_bytes).
 *
 * A model's size is measured from the engine (drift_window_bytes, the
 * join's stats) at most every 200 ms, when one of its batches comes in, and
 * the server's total is the sum of the last measurements. A batch that
 * arrives while its model, or the server, is at or past its cap is refused
 * whole with RESOURCE_EXHAUSTED naming the cap, before anything of it is
 * logged; other models go on. Old windows leave memory by max_windows and
 * retention_s, joined labels by the label TTL, which is what brings a model
 * back under its cap.
 */
#ifndef DRIFTD_STATE_BUDGET_H
#define DRIFTD_STATE_BUDGET_H

#include <stdatomic.h>
#include <stdint.h>

#include "models/model.h"

typedef struct dd_budget {
  uint64_t max_model_bytes;  /* 0: no cap */
  uint64_t max_server_bytes; /* 0: no cap */
  atomic_uint_fast64_t total; /* sum of the models' last measurements */
} dd_budget;

/* Measures m when its last measurement is stale, then checks both caps. 0
 * to go on; -1 with err RESOURCE_EXHAUSTED naming field and the cap. */
int dd_budget_admit(dd_budget *b, dd_model *m, const char *field, dd_err *err);

/* Takes a deleted model's last measurement out of the total. */
void dd_budget_forget(dd_budget *b, dd_model *m);

/* m's state in bytes, measured now (windows and join, under their locks). */
uint64_t dd_model_state_bytes(dd_model *m);

#endif /* DRIFTD_STATE_BUDGET_H */
