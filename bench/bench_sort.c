/*
 * bench_sort.c - the CPU backend's sort op alone: one segment of float32
 * values read from a raw file, sorted again and again from the same input,
 * with the wall and CPU time of each sort. bench/sort/bench_sort.py writes
 * the files, runs this program once per instruction set (DRIFT_CPU_ISA=scalar
 * is the radix sort, avx512 the vectorised quicksort) and times NumPy's sort
 * on the same values in the same run.
 *
 *   bench_sort FILE.f32 REPS [OUT.f32]
 *
 * Prints one JSON line: n, the instruction set used, and per sort the best
 * and median wall and CPU nanoseconds per value. OUT, when given, receives
 * the sorted values of the last repetition (the driver compares them with
 * NumPy's). The backend runs with one thread, the caller's, and CPU time is
 * that thread's (the process's would count the BLAS library's idle threads).
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../host/cpu/cpu.h"
#include "backend.h"
#include "bench_clock.h"

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *x, int n) {
  qsort(x, (size_t)n, sizeof *x, cmp_double);
  return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

static double least(const double *x, int n) {
  double m = x[0];
  for (int i = 1; i < n; i++) m = x[i] < m ? x[i] : m;
  return m;
}

static double thread_cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: bench_sort FILE.f32 REPS [OUT.f32]\n");
    return 2;
  }
  int reps = atoi(argv[2]);
  FILE *f = fopen(argv[1], "rb");
  if (f == NULL || reps < 1 || fseek(f, 0, SEEK_END) != 0) {
    fprintf(stderr, "bench_sort: cannot read %s\n", argv[1]);
    return 1;
  }
  size_t n = (size_t)ftell(f) / sizeof(float);
  rewind(f);
  float *in = malloc(n * sizeof *in + 1), *v = malloc(n * sizeof *v + 1);
  double *wall = malloc((size_t)reps * sizeof *wall), *cpu = malloc((size_t)reps * sizeof *cpu);
  if (in == NULL || v == NULL || wall == NULL || cpu == NULL || fread(in, sizeof *in, n, f) != n) {
    fprintf(stderr, "bench_sort: cannot read %zu values\n", n);
    return 1;
  }
  fclose(f);
  drift__backend be;
  char err[DRIFT__ERR_CAP] = "";
  if (drift__cpu_backend_create(1, &be, err) != DRIFT_OK) {
    fprintf(stderr, "bench_sort: %s\n", err);
    return 1;
  }
  size_t off[2] = {0, n};
  drift__sort_job job = {v, off, 1};
  for (int r = 0; r < reps; r++) {
    memcpy(v, in, n * sizeof *v);
    double w0 = mono_s(), c0 = thread_cpu_s();
    drift_status st = be.sort(be.state, &job, err);
    cpu[r] = (thread_cpu_s() - c0) * 1e9 / (double)(n ? n : 1);
    wall[r] = (mono_s() - w0) * 1e9 / (double)(n ? n : 1);
    if (st != DRIFT_OK) {
      fprintf(stderr, "bench_sort: %s\n", err);
      return 1;
    }
  }
  if (argc > 3) {
    FILE *o = fopen(argv[3], "wb");
    if (o == NULL || fwrite(v, sizeof *v, n, o) != n || fclose(o) != 0) {
      fprintf(stderr, "bench_sort: cannot write %s\n", argv[3]);
      return 1;
    }
  }
  printf("{\"n\": %zu, \"isa\": \"%s\", \"reps\": %d, \"wall_ns_best\": %.3f, "
         "\"wall_ns_median\": %.3f, \"cpu_ns_best\": %.3f, \"cpu_ns_median\": %.3f}\n",
         n, drift__cpu_isa_name(drift__cpu_isa_active()), reps, least(wall, reps),
         median(wall, reps), least(cpu, reps), median(cpu, reps));
  be.destroy(be.state);
  free(in);
  free(v);
  free(wall);
  free(cpu);
  return 0;
}
