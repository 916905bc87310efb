/*
 * alert_payload.c - one alert state as Alertmanager's v2 API wants it
 * (alertmanager.h): labels (alertname, model, rule, kind, severity),
 * annotations (summary, description with the evidence, dashboard link),
 * startsAt, endsAt and generatorURL, as a JSON object.
 *
 * Only formats text: no network, no locks. Labels carry nothing that
 * changes within an episode, so Alertmanager keys one alert per
 * (model, rule) and the startsAt of the episode ties re-sends together.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alerts/alertmanager.h"

typedef struct buf {
  char *p;
  size_t n, cap;
  int oom;
} buf;

static void put(buf *b, const char *s, size_t len) {
  if (b->oom) return;
  if (b->n + len + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 512;
    while (cap < b->n + len + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
      b->oom = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, s, len);
  b->n += len;
  b->p[b->n] = 0;
}

static void puts_(buf *b, const char *s) {
  put(b, s, strlen(s));
}

static void printf_(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void printf_(buf *b, const char *fmt, ...) {
  char tmp[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n > 0) put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* A JSON string literal of s. */
static void json_str(buf *b, const char *s) {
  puts_(b, "\"");
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    if (*c == '"' || *c == '\\') {
      char esc[3] = {'\\', (char)*c, 0};
      puts_(b, esc);
    } else if (*c < 0x20) {
      printf_(b, "\\u%04x", *c);
    } else {
      put(b, (const char *)c, 1);
    }
  }
  puts_(b, "\"");
}

static void json_field(buf *b, const char *key, const char *value, int comma) {
  if (comma) puts_(b, ",");
  json_str(b, key);
  puts_(b, ":");
  json_str(b, value);
}

/* RFC 3339 in UTC with milliseconds. */
static void rfc3339(double t, char *out, size_t cap) {
  time_t s = (time_t)floor(t);
  long ms = (long)floor((t - (double)s) * 1000.0);
  if (ms > 999) ms = 999;
  if (ms < 0) ms = 0;
  struct tm tm;
  gmtime_r(&s, &tm);
  size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
  if (n + 6 > cap) return;
  char tail[6] = {
      '.', (char)('0' + ms / 100), (char)('0' + ms / 10 % 10), (char)('0' + ms % 10), 'Z', 0};
  memcpy(out + n, tail, sizeof tail);
}

/* An enum value's name, lower case, without its prefix ("ALERT_KIND_SLO_BREACH"
 * -> "slo_breach"), as the Python client names them. */
static void short_name(const ProtobufCEnumDescriptor *d, int value, const char *prefix, char *out,
                       size_t cap) {
  const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(d, value);
  const char *name = v ? v->name : "unspecified";
  if (strncmp(name, prefix, strlen(prefix)) == 0) name += strlen(prefix);
  snprintf(out, cap, "%s", name);
  for (char *c = out; *c; c++)
    if (*c >= 'A' && *c <= 'Z') *c = (char)(*c - 'A' + 'a');
}

static void describe(buf *b, const dd_alert_entry *e) {
  const dd_alert_evidence *ev = &e->ev;
  if (!e->has_evidence) {
    printf_(b, "no window of the rule's size is held");
    return;
  }
  char from[40], to[40];
  rfc3339((double)ev->window_start, from, sizeof from);
  rfc3339((double)ev->window_start + ev->window_seconds, to, sizeof to);
  if (e->kind == DRIFTD__V1__ALERT_KIND__ALERT_KIND_SLO_BREACH) {
    for (size_t i = 0; i < ev->n_slos; i++) {
      const dd_alert_slo *s = &ev->slos[i];
      char metric[48];
      short_name(&driftd__v1__sli_metric__descriptor, (int)s->metric, "SLI_METRIC_", metric,
                 sizeof metric);
      printf_(b, "%s%s %.6g", i ? "; " : "", metric, s->value);
      if (!isnan(s->min)) printf_(b, " (min %.6g)", s->min);
      if (!isnan(s->max)) printf_(b, " (max %.6g)", s->max);
      printf_(b, " %s%s", s->met ? "met" : "breached", s->estimated ? ", estimated" : "");
    }
    if (ev->n_slos) puts_(b, "; ");
  }
  const char *op = e->kind == DRIFTD__V1__ALERT_KIND__ALERT_KIND_DATA_QUALITY ? ">=" : ">";
  printf_(b,
          "value %.6g vs threshold %.6g (fires when value %s threshold) on window [%s, %s) "
          "with %llu rows, %u in a row",
          ev->value, ev->threshold,
          e->kind == DRIFTD__V1__ALERT_KIND__ALERT_KIND_SLO_BREACH ? "breaches the SLO" : op, from,
          to, (unsigned long long)ev->n_rows, ev->run);
}

char *dd_alertmanager_alert_json(const dd_alert_entry *e, const char *external_url, double resend_s,
                                 double now) {
  buf b = {0};
  char kind[48], link[512], ts[40], text[512];
  short_name(&driftd__v1__alert_kind__descriptor, (int)e->kind, "ALERT_KIND_", kind, sizeof kind);
  snprintf(link, sizeof link, "%s/models/%s", external_url, e->model);
  puts_(&b, "{\"labels\":{");
  json_field(&b, "alertname", e->rule, 0);
  json_field(&b, "model", e->model, 1);
  json_field(&b, "rule", e->rule, 1);
  json_field(&b, "kind", kind, 1);
  json_field(&b, "severity", e->severity, 1);
  puts_(&b, "},\"annotations\":{");
  snprintf(text, sizeof text, "%s: rule \"%s\" of model \"%s\" is %s", kind, e->rule, e->model,
           e->status == DD_ALERT_FIRING ? "firing" : "resolved");
  json_field(&b, "summary", text, 0);
  buf d = {0};
  describe(&d, e);
  json_field(&b, "description", d.p && !d.oom ? d.p : "", 1);
  free(d.p);
  json_field(&b, "dashboard", link, 1);
  puts_(&b, "}");
  rfc3339(e->started_at, ts, sizeof ts);
  json_field(&b, "startsAt", ts, 1);
  if (e->status == DD_ALERT_RESOLVED) {
    rfc3339(e->ended_at, ts, sizeof ts);
    json_field(&b, "endsAt", ts, 1);
  } else if (resend_s > 0) {
    rfc3339(now + 4 * resend_s, ts, sizeof ts);
    json_field(&b, "endsAt", ts, 1);
  }
  json_field(&b, "generatorURL", link, 1);
  puts_(&b, "}");
  if (b.oom) {
    free(b.p);
    return NULL;
  }
  return b.p;
}
