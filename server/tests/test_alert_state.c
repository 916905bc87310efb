/*
 * test_alert_state.c - the alert state table and the Alertmanager payload
 * on constructed verdicts (no engine, no network).
 *
 * Oracles: the transition table written out by hand (INACTIVE -> PENDING ->
 * FIRING -> RESOLVED and back), a state stored as bytes and loaded into a
 * fresh table (what a restart does), and the JSON an Alertmanager accepts,
 * checked field by field as text.
 */
#include <math.h>
#include <string.h>

#include "alerts/alert_state.h"
#include "alerts/alertmanager.h"
#include "check.h"

/* A model with two rules, built by hand: the table reads only its id and
 * its spec's rule list. */
typedef struct fixture {
  Driftd__V1__AlertRule rules[2];
  Driftd__V1__AlertRule *rule_ptrs[2];
  Driftd__V1__ModelSpec spec;
  dd_model m;
} fixture;

static void fixture_init(fixture *f, const char *id) {
  memset(f, 0, sizeof *f);
  for (int i = 0; i < 2; i++) {
    driftd__v1__alert_rule__init(&f->rules[i]);
    f->rule_ptrs[i] = &f->rules[i];
  }
  f->rules[0].name = "x0-\"ks\"";
  f->rules[0].kind = DRIFTD__V1__ALERT_KIND__ALERT_KIND_FEATURE_DRIFT;
  f->rules[0].severity = "critical";
  f->rules[1].name = "dataset";
  f->rules[1].kind = DRIFTD__V1__ALERT_KIND__ALERT_KIND_DATASET_DRIFT;
  f->rules[1].severity = "";
  driftd__v1__model_spec__init(&f->spec);
  f->spec.alerts = f->rule_ptrs;
  f->spec.n_alerts = 2;
  snprintf(f->m.id, sizeof f->m.id, "%s", id);
  f->m.spec = &f->spec;
}

/* Rule r's verdict at one latest window (met, fired), or none held. */
static dd_alert_window g_win;
static dd_alert_eval verdict(fixture *f, int r, int held, int met, int fired, double value) {
  dd_alert_eval e = {.rule = &f->rules[r], .window_seconds = 3600, .consecutive = 2};
  g_win = (dd_alert_window){.start = 7200,
                            .n_rows = 300,
                            .value = value,
                            .threshold = 0.3,
                            .met = met,
                            .run = (uint32_t)met + (uint32_t)fired,
                            .fired = fired};
  e.windows = &g_win;
  e.n = held ? 1 : 0;
  e.latest = held ? &g_win : NULL;
  return e;
}

static dd_alert_change observe(dd_alert_table *t, fixture *f, int r, int held, int met, int fired,
                               double now, double resend_s) {
  dd_alert_eval e = verdict(f, r, held, met, fired, met ? 0.6 : 0.1);
  dd_alert_change ch;
  CHECK(dd_alert_table_observe(t, &f->m, &e, now, resend_s, &ch) == 0, "observe failed");
  dd_alert_entry_clear(&ch.entry);
  return ch;
}

static dd_alert_entry one(dd_alert_table *t, const char *model, int r) {
  dd_alert_entry *es = NULL, out;
  size_t n = 0;
  memset(&out, 0, sizeof out);
  CHECK(dd_alert_state_snapshot(t, model, 0, &es, &n) == 0 && n == 2, "snapshot of %zu", n);
  if (n == 2) {
    out = es[r];
    out.ev.slos = NULL;
    out.ev.n_slos = 0;
  }
  dd_alert_state_snapshot_free(es, n);
  return out;
}

static void transitions_follow_the_latest_window(void) {
  fixture f;
  fixture_init(&f, "m");
  dd_alert_table *t = dd_alert_table_create();
  dd_alert_change ch = observe(t, &f, 0, 1, 0, 0, 100, 0);
  observe(t, &f, 1, 0, 0, 0, 100, 0);
  CHECK(!ch.transitioned && one(t, "m", 0).status == DD_ALERT_INACTIVE, "inactive at first");
  ch = observe(t, &f, 0, 1, 1, 0, 110, 0);
  dd_alert_entry e = one(t, "m", 0);
  CHECK(ch.transitioned && !ch.notify && e.status == DD_ALERT_PENDING && e.since == 110,
        "pending: status %d since %g", e.status, e.since);
  ch = observe(t, &f, 0, 1, 1, 1, 120, 0);
  e = one(t, "m", 0);
  CHECK(ch.transitioned && ch.notify && e.status == DD_ALERT_FIRING && e.episode == 1 &&
            e.started_at == 120 && e.since == 120,
        "firing: status %d episode %llu", e.status, (unsigned long long)e.episode);
  CHECK(e.has_evidence && e.ev.window_start == 7200 && e.ev.n_rows == 300 && e.ev.value == 0.6,
        "evidence");
  ch = observe(t, &f, 0, 1, 1, 0, 130, 0); /* met, run broken: stays firing */
  CHECK(!ch.transitioned && one(t, "m", 0).status == DD_ALERT_FIRING, "firing kept while met");
  ch = observe(t, &f, 0, 1, 0, 0, 140, 0);
  e = one(t, "m", 0);
  CHECK(ch.transitioned && ch.notify && e.status == DD_ALERT_RESOLVED && e.ended_at == 140 &&
            e.started_at == 120,
        "resolved: status %d ended %g", e.status, e.ended_at);
  ch = observe(t, &f, 0, 1, 0, 0, 150, 0);
  CHECK(!ch.transitioned && !ch.notify && one(t, "m", 0).status == DD_ALERT_RESOLVED,
        "resolved stays resolved");
  ch = observe(t, &f, 0, 1, 1, 1, 160, 0);
  e = one(t, "m", 0);
  CHECK(e.status == DD_ALERT_FIRING && e.episode == 2 && e.started_at == 160 && e.ended_at == 0,
        "second episode: %llu", (unsigned long long)e.episode);
  ch = observe(t, &f, 0, 0, 0, 0, 170, 0); /* the window went away */
  CHECK(
      ch.transitioned && one(t, "m", 0).status == DD_ALERT_RESOLVED && !one(t, "m", 0).has_evidence,
      "no window resolves");
  CHECK(strcmp(one(t, "m", 1).severity, "warning") == 0, "default severity");
  dd_alert_table_destroy(t);
}

static void firing_is_resent_after_resend_s(void) {
  fixture f;
  fixture_init(&f, "m");
  dd_alert_table *t = dd_alert_table_create();
  CHECK(observe(t, &f, 0, 1, 1, 1, 100, 60).notify, "entering firing notifies");
  CHECK(!observe(t, &f, 0, 1, 1, 1, 130, 60).notify, "re-sent too early");
  CHECK(observe(t, &f, 0, 1, 1, 1, 161, 60).notify, "not re-sent after 60 s");
  CHECK(!observe(t, &f, 0, 1, 1, 1, 170, 60).notify, "re-sent twice");
  dd_alert_table_destroy(t);
}

/* A stored state, loaded into a fresh table, goes on as if nothing
 * happened: the same episode and start while the rule still fires. */
static void stored_state_resumes_its_episode(void) {
  fixture f;
  fixture_init(&f, "m");
  dd_alert_table *t = dd_alert_table_create();
  observe(t, &f, 0, 1, 1, 1, 100, 0);
  dd_alert_entry *es = NULL;
  size_t n = 0;
  dd_alert_state_snapshot(t, "m", 1, &es, &n);
  CHECK(n == 1, "firing_only: %zu", n);
  dd_arena a;
  dd_arena_init(&a);
  Driftd__V1__RuleAlertState *msg = dd_alert_entry_message(&es[0], &a);
  size_t len = driftd__v1__rule_alert_state__get_packed_size(msg);
  uint8_t *bytes = malloc(len);
  driftd__v1__rule_alert_state__pack(msg, bytes);
  dd_alert_state_snapshot_free(es, n);
  dd_alert_table *u = dd_alert_table_create();
  CHECK(dd_alert_table_load(u, bytes, len) == 0, "load");
  CHECK(dd_alert_table_load(u, "\xff\xff", 2) == -1, "garbage loaded");
  dd_alert_change ch;
  dd_alert_eval e = verdict(&f, 0, 1, 1, 1, 0.7);
  dd_alert_table_observe(u, &f.m, &e, 500, 60, &ch);
  CHECK(!ch.transitioned && ch.notify, "restart: transitioned %d, notify %d", ch.transitioned,
        ch.notify);
  CHECK(ch.entry.episode == 1 && ch.entry.started_at == 100 && ch.entry.since == 100 &&
            ch.entry.ev.value == 0.7,
        "restart: episode %llu started %g", (unsigned long long)ch.entry.episode,
        ch.entry.started_at);
  dd_alert_entry_clear(&ch.entry);
  free(bytes);
  dd_arena_free(&a);
  dd_alert_table_destroy(u);
  dd_alert_table_destroy(t);
}

static void snapshot_filters_orders_and_forgets(void) {
  fixture a, b;
  fixture_init(&a, "b-model");
  fixture_init(&b, "a-model");
  dd_alert_table *t = dd_alert_table_create();
  observe(t, &a, 1, 1, 0, 0, 1, 0);
  observe(t, &a, 0, 1, 1, 1, 1, 0);
  observe(t, &b, 1, 1, 1, 1, 1, 0);
  observe(t, &b, 0, 1, 0, 0, 1, 0);
  dd_alert_entry *es = NULL;
  size_t n = 0;
  dd_alert_state_snapshot(t, NULL, 0, &es, &n);
  CHECK(n == 4 && strcmp(es[0].model, "a-model") == 0 && strcmp(es[0].rule, "x0-\"ks\"") == 0 &&
            strcmp(es[1].rule, "dataset") == 0 && strcmp(es[2].model, "b-model") == 0,
        "order: %zu states", n);
  dd_alert_state_snapshot_free(es, n);
  uint64_t v = dd_alert_table_version(t);
  dd_alert_table_forget(t, "a-model");
  CHECK(dd_alert_table_version(t) != v, "forgetting changed no version");
  dd_alert_state_snapshot(t, NULL, 1, &es, &n);
  CHECK(n == 1 && strcmp(es[0].model, "b-model") == 0, "after forget: %zu", n);
  dd_alert_state_snapshot_free(es, n);
  dd_alert_table_destroy(t);
}

static void payload_is_alertmanager_json(void) {
  fixture f;
  fixture_init(&f, "m");
  dd_alert_table *t = dd_alert_table_create();
  dd_alert_eval e = verdict(&f, 0, 1, 1, 1, 0.5);
  dd_alert_change ch;
  dd_alert_table_observe(t, &f.m, &e, 1700000000.25, 60, &ch);
  char *json = dd_alertmanager_alert_json(&ch.entry, "http://dash:8080", 60, 1700000000.25);
  CHECK(json != NULL, "no json");
  const char *want[] = {"\"alertname\":\"x0-\\\"ks\\\"\"",
                        "\"model\":\"m\"",
                        "\"kind\":\"feature_drift\"",
                        "\"severity\":\"critical\"",
                        "\"startsAt\":\"2023-11-14T22:13:20.250Z\"",
                        "\"endsAt\":\"2023-11-14T22:17:20.250Z\"",
                        "\"dashboard\":\"http://dash:8080/models/m\"",
                        "\"generatorURL\":\"http://dash:8080/models/m\"",
                        "value 0.5 vs threshold 0.3"};
  for (size_t i = 0; json && i < sizeof want / sizeof want[0]; i++)
    CHECK(strstr(json, want[i]) != NULL, "%s missing from %s", want[i], json);
  free(json);
  dd_alert_entry_clear(&ch.entry);
  dd_alert_table_destroy(t);
}

TEST_MAIN(TEST(transitions_follow_the_latest_window), TEST(firing_is_resent_after_resend_s),
          TEST(stored_state_resumes_its_episode), TEST(snapshot_filters_orders_and_forgets),
          TEST(payload_is_alertmanager_json))
