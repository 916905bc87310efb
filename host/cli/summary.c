/*
 * summary.c - the few lines a person reads after a sweep (see output.h):
 * the verdict, the backend and time, and the most drifted features with
 * their strongest figures. Written when the report itself goes to files.
 */
#include <math.h>

#include "output.h"

static void print_value(FILE *out, const char *label, double v) {
  if (isfinite(v)) {
    fprintf(out, "  %s %-9.4g", label, v);
  } else {
    fprintf(out, "  %s %-9s", label, "-");
  }
}

void output_summary(const sweep_report *r, FILE *out, size_t top) {
  const drift_dataset_result *d = &r->dataset;
  fprintf(out, "%s: %zu of %zu features drifted (%.1f%%)\n",
          d->drift ? "DATASET DRIFT" : "no dataset drift", d->n_drifted, d->n_features,
          d->share_drifted * 100);
  fprintf(out, "%llu reference rows, %llu current rows; %s backend; %.2f s\n",
          (unsigned long long)r->inputs[0].rows, (unsigned long long)r->inputs[1].rows, r->backend,
          r->seconds);
  size_t n = d->n_drifted < top ? d->n_drifted : top;
  if (n == 0) return;
  fprintf(out, "top drifted features:\n");
  for (size_t i = 0; i < n; i++) {
    const feature_report *f = &r->features[i];
    const drift_feature_result *res = &f->result;
    char drifted[256];
    report_stat_list(res->drifted, ",", drifted, sizeof drifted);
    fprintf(out, "  %-28s %-11s", f->column->name,
            f->column->kind == DRIFT_FEATURE_CATEGORICAL ? "categorical" : "numeric");
    print_value(out, "psi", (res->computed >> DRIFT_STAT_PSI) & 1 ? res->psi : NAN);
    print_value(out, "ks_d", (res->computed >> DRIFT_STAT_KS) & 1 ? res->ks_d : NAN);
    print_value(out, "chi2_p", (res->computed >> DRIFT_STAT_CHI2) & 1 ? res->chi2_p : NAN);
    fprintf(out, "  [%s]\n", drifted);
  }
}
