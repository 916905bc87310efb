/*
 * isa.c - which instruction set the CPU backend's vector kernels use.
 *
 * The library is built for baseline x86-64, so the kernels that profit from
 * wider vectors (the numeric histogram) come in several variants compiled
 * with per-function target attributes, and this file picks one at run time:
 * the widest the processor supports (AVX-512, then AVX2, then scalar),
 * unless the environment variable DRIFT_CPU_ISA names another
 * (scalar|avx2|avx512; a variant the processor lacks falls back to the best
 * one it has). The choice is made once, on first use, and is the same for
 * every thread. Tests force each variant in turn through
 * drift__cpu_isa_force. Never prints, never fails.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"

static atomic_int chosen = -1; /* a drift__cpu_isa once chosen */

int drift__cpu_isa_supported(drift__cpu_isa isa) {
  switch (isa) {
    case DRIFT__ISA_SCALAR: return 1;
#if DRIFT__HAVE_X86_VARIANTS
    case DRIFT__ISA_AVX2:
      __builtin_cpu_init();
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi2") &&
             __builtin_cpu_supports("popcnt");
    case DRIFT__ISA_AVX512:
      __builtin_cpu_init();
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("popcnt");
#endif
    default: return 0;
  }
}

/* The best supported variant at or below `want`. */
static drift__cpu_isa best_up_to(drift__cpu_isa want) {
  for (int isa = (int)want; isa > DRIFT__ISA_SCALAR; isa--)
    if (drift__cpu_isa_supported((drift__cpu_isa)isa)) return (drift__cpu_isa)isa;
  return DRIFT__ISA_SCALAR;
}

static drift__cpu_isa from_environment(void) {
  const char *env = getenv("DRIFT_CPU_ISA");
  if (env != NULL && strcmp(env, "scalar") == 0) return DRIFT__ISA_SCALAR;
  if (env != NULL && strcmp(env, "avx2") == 0) return best_up_to(DRIFT__ISA_AVX2);
  return best_up_to(DRIFT__ISA_AVX512);
}

drift__cpu_isa drift__cpu_isa_active(void) {
  int isa = atomic_load_explicit(&chosen, memory_order_relaxed);
  if (isa < 0) {
    int expected = -1;
    isa = (int)from_environment();
    /* Two threads racing here compute the same answer; the first one wins. */
    if (!atomic_compare_exchange_strong(&chosen, &expected, isa)) isa = expected;
  }
  return (drift__cpu_isa)isa;
}

drift__cpu_isa drift__cpu_isa_force(drift__cpu_isa isa) {
  drift__cpu_isa got = isa == DRIFT__ISA_AUTO ? from_environment() : best_up_to(isa);
  atomic_store(&chosen, (int)got);
  return got;
}

const char *drift__cpu_isa_name(drift__cpu_isa isa) {
  switch (isa) {
    case DRIFT__ISA_SCALAR: return "scalar";
    case DRIFT__ISA_AVX2: return "avx2";
    case DRIFT__ISA_AVX512: return "avx512";
    default: return "auto";
  }
}
