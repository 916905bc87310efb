/*
 * period.c - calendar periods of a time column (see period.h).
 *
 * Dates become day numbers since 1970-01-01 with the civil-from-days
 * algorithm of Howard Hinnant's "chrono-compatible low-level date
 * algorithms" (proleptic Gregorian calendar). A week's key counts weeks
 * from Monday 1969-12-29, a month's counts months from January of year 0.
 */
#include "period.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const unit_names[] = {"day", "week", "month"};

const char *period_unit_name(period_unit u) {
  return unit_names[u];
}

int period_unit_parse(const char *name, period_unit *out) {
  for (int i = 0; i < 3; i++) {
    if (strcmp(name, unit_names[i]) == 0) {
      *out = (period_unit)i;
      return 0;
    }
  }
  return -1;
}

static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = floor_div(y, 400);
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d) {
  z += 719468;
  int64_t era = floor_div(z, 146097);
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

static int64_t key_of_day(int64_t day, period_unit u) {
  if (u == PERIOD_DAY) return day;
  if (u == PERIOD_WEEK) return floor_div(day + 3, 7);
  int64_t y;
  int m, d;
  civil_from_days(day, &y, &m, &d);
  return y * 12 + (m - 1);
}

int64_t period_key_seconds(double seconds, period_unit u) {
  return key_of_day((int64_t)floor(seconds / 86400.0), u);
}

/* Reads exactly n digits. */
static int digits(const char **p, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    char ch = (*p)[i];
    if (ch < '0' || ch > '9') return -1;
    v = v * 10 + (ch - '0');
  }
  *p += n;
  *out = v;
  return 0;
}

/* [T| ]HH:MM[:SS[.fff]] as seconds into the day; an absent time is 0. */
static int time_of_day(const char **p, int *seconds) {
  int h = 0, mi = 0, s = 0;
  *seconds = 0;
  if (**p != 'T' && **p != ' ') return 0;
  (*p)++;
  if (digits(p, 2, &h) != 0 || *(*p)++ != ':' || digits(p, 2, &mi) != 0) return -1;
  if (**p == ':') {
    (*p)++;
    if (digits(p, 2, &s) != 0) return -1;
    if (**p == '.') {
      (*p)++;
      while (**p >= '0' && **p <= '9') (*p)++;
    }
  }
  if (h > 23 || mi > 59 || s > 60) return -1;
  *seconds = h * 3600 + mi * 60 + s;
  return 0;
}

/* Z, +HH:MM, -HH:MM, +HHMM or nothing, as seconds east of UTC. */
static int utc_offset(const char **p, int *offset) {
  int h = 0, m = 0;
  *offset = 0;
  if (**p == 'Z') {
    (*p)++;
    return 0;
  }
  if (**p != '+' && **p != '-') return 0;
  int sign = *(*p)++ == '-' ? -1 : 1;
  if (digits(p, 2, &h) != 0) return -1;
  if (**p == ':') (*p)++;
  if (digits(p, 2, &m) != 0) return -1;
  *offset = sign * (h * 3600 + m * 60);
  return 0;
}

static int parse_date_time(const char *text, int64_t *seconds) {
  const char *p = text;
  int y, m, d, tod, offset;
  if (digits(&p, 4, &y) != 0 || *p++ != '-' || digits(&p, 2, &m) != 0 || *p++ != '-' ||
      digits(&p, 2, &d) != 0 || m < 1 || m > 12 || d < 1 || d > 31) {
    return -1;
  }
  if (time_of_day(&p, &tod) != 0 || utc_offset(&p, &offset) != 0 || *p != '\0') return -1;
  *seconds = days_from_civil(y, m, d) * 86400 + tod - offset;
  return 0;
}

int period_key_text(const char *text, period_unit u, int64_t *key) {
  int64_t seconds;
  if (parse_date_time(text, &seconds) == 0) {
    *key = key_of_day(floor_div(seconds, 86400), u);
    return 0;
  }
  char *end;
  double v = strtod(text, &end);
  if (end == text || *end != '\0' || !isfinite(v)) return -1;
  *key = period_key_seconds(v, u);
  return 0;
}

static void format_day(int64_t day, char *out) {
  int64_t y;
  int m, d;
  civil_from_days(day, &y, &m, &d);
  snprintf(out, 16, "%04lld-%02d-%02d", (long long)y, m, d);
}

void period_describe(int64_t key, period_unit u, char *label, char *first, char *last) {
  int64_t start, end;
  if (u == PERIOD_DAY) {
    start = end = key;
  } else if (u == PERIOD_WEEK) {
    start = key * 7 - 3;
    end = start + 6;
  } else {
    int64_t y = floor_div(key, 12);
    int m = (int)(key - y * 12) + 1;
    start = days_from_civil(y, m, 1);
    end = (m == 12 ? days_from_civil(y + 1, 1, 1) : days_from_civil(y, m + 1, 1)) - 1;
  }
  format_day(start, first);
  format_day(end, last);
  if (u == PERIOD_MONTH) {
    snprintf(label, 16, "%.7s", first);
  } else {
    snprintf(label, 16, "%s", first);
  }
}
