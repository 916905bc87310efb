/*
 * progress.c - the progress bar (see progress.h).
 *
 * Redraws one line in place with a carriage return and an erase-to-end
 * escape; never writes to stdout, which may carry the results.
 */
#define _POSIX_C_SOURCE 200809L
#include "progress.h"

#include <stdio.h>
#include <unistd.h>

#include "cli.h"

#define PROGRESS_WIDTH 24
#define PROGRESS_INTERVAL_S 0.1

int progress_wanted(int quiet) {
  return !quiet && isatty(STDERR_FILENO);
}

void progress_begin(progress *p, int enabled, const char *label, const reader *r) {
  p->enabled = enabled;
  p->label = label;
  p->reader = r;
  p->started = cli_now();
  p->last_draw = 0;
}

/* "1.23M" style: three significant digits and an SI suffix. */
static void format_count(char *out, size_t cap, double v) {
  static const char suffix[] = {' ', 'k', 'M', 'G', 'T'};
  int i = 0;
  while (v >= 1000 && i < 4) v /= 1000, i++;
  snprintf(out, cap, i ? "%.3g%c" : "%.0f", v, suffix[i]);
}

static void format_duration(char *out, size_t cap, double s) {
  long t = (long)(s + 0.5);
  if (s < 60) {
    snprintf(out, cap, "%.1fs", s);
  } else if (t >= 3600) {
    snprintf(out, cap, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
  } else {
    snprintf(out, cap, "%ld:%02ld", t / 60, t % 60);
  }
}

static void draw(const progress *p, double now, int final) {
  const reader *r = p->reader;
  double elapsed = now - p->started;
  double share = r->bytes_total ? (double)r->bytes_done / (double)r->bytes_total : 0;
  if (share > 1) share = 1;
  char bar[PROGRESS_WIDTH + 1];
  int filled = (int)(share * PROGRESS_WIDTH);
  for (int i = 0; i < PROGRESS_WIDTH; i++) bar[i] = i < filled ? '#' : '.';
  bar[PROGRESS_WIDTH] = '\0';
  char rows[16], rate[16], eta[32];
  format_count(rows, sizeof rows, (double)r->rows_done);
  format_count(rate, sizeof rate, elapsed > 0 ? (double)r->rows_done / elapsed : 0);
  if (final) {
    format_duration(eta, sizeof eta, elapsed);
  } else if (share > 0) {
    format_duration(eta, sizeof eta, elapsed * (1 - share) / share);
  } else {
    snprintf(eta, sizeof eta, "?");
  }
  fprintf(stderr, "\r%-22s [%s] %5.1f%%  %s rows  %s rows/s  %s %s\033[K", p->label, bar,
          share * 100, rows, rate, final ? "in" : "ETA", eta);
  if (final) fputc('\n', stderr);
  fflush(stderr);
}

void progress_update(progress *p) {
  if (!p->enabled) return;
  double now = cli_now();
  if (now - p->last_draw < PROGRESS_INTERVAL_S) return;
  p->last_draw = now;
  draw(p, now, 0);
}

void progress_end(progress *p) {
  if (p->enabled) draw(p, cli_now(), 1);
}
