/*
 * context.c - creating and destroying a context: choosing its backend.
 *
 * A context owns one backend instance (CPU, or CUDA plus a CPU twin for
 * per-batch fallback) and the last-error message. It is used by one thread
 * at a time.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

void drift_context_options_init(drift_context_options *opts) {
  if (opts == NULL) return;
  memset(opts, 0, sizeof *opts);
  opts->backend = DRIFT_BACKEND_AUTO;
  opts->threads = 0;
  opts->device = 0;
  opts->cpu_fallback = 1;
}

/* DRIFT_BACKEND=cpu|cuda|auto overrides AUTO. Anything else is an error, so
 * that a typo does not silently pick another backend. */
static drift_status backend_from_env(drift_backend_kind *kind) {
  const char *env = getenv("DRIFT_BACKEND");
  if (env == NULL || env[0] == '\0' || strcasecmp(env, "auto") == 0) return DRIFT_OK;
  if (strcasecmp(env, "cpu") == 0) {
    *kind = DRIFT_BACKEND_CPU;
    return DRIFT_OK;
  }
  if (strcasecmp(env, "cuda") == 0) {
    *kind = DRIFT_BACKEND_CUDA;
    return DRIFT_OK;
  }
  return drift__fail(NULL, DRIFT_INVALID_ARGUMENT,
                     "environment DRIFT_BACKEND: \"%s\", expected cpu, cuda or auto", env);
}

/* DRIFT_CUDA_FALLBACK=0 turns the per-batch CPU fallback off whatever the
 * options say, so that a device failure surfaces as an error (tests on a
 * GPU machine); 1 or unset leaves the option in charge. */
static drift_status fallback_from_env(int *cpu_fallback) {
  const char *env = getenv("DRIFT_CUDA_FALLBACK");
  if (env == NULL || env[0] == '\0' || strcmp(env, "1") == 0) return DRIFT_OK;
  if (strcmp(env, "0") == 0) {
    *cpu_fallback = 0;
    return DRIFT_OK;
  }
  return drift__fail(NULL, DRIFT_INVALID_ARGUMENT,
                     "environment DRIFT_CUDA_FALLBACK: \"%s\", expected 0 or 1", env);
}

static drift_status open_cuda(drift_context *ctx, const drift_context_options *o, int required) {
  char err[DRIFT__ERR_CAP] = "";
#ifdef DRIFT_HAVE_CUDA
  drift_status s = drift__cuda_backend_create(o->device, &ctx->primary, err);
#else
  (void)o;
  drift_status s = DRIFT_UNSUPPORTED;
  strcpy(err, "this build of libdrift has no CUDA backend (built with DRIFT_CUDA=OFF)");
#endif
  if (s == DRIFT_OK) {
    ctx->kind = DRIFT_BACKEND_CUDA;
    return DRIFT_OK;
  }
  if (required) return drift__fail(NULL, s, "backend cuda: %s", err);
  return s;
}

drift_status drift_context_create(const drift_context_options *opts, drift_context **out) {
  if (out == NULL) return drift__fail(NULL, DRIFT_INVALID_ARGUMENT, "out: NULL");
  *out = NULL;
  drift_context_options o;
  drift_context_options_init(&o);
  if (opts != NULL) o = *opts;
  if (o.backend != DRIFT_BACKEND_AUTO && o.backend != DRIFT_BACKEND_CPU &&
      o.backend != DRIFT_BACKEND_CUDA)
    return drift__fail(NULL, DRIFT_INVALID_ARGUMENT,
                       "opts->backend: %d, expected DRIFT_BACKEND_AUTO, _CPU or _CUDA",
                       (int)o.backend);
  if (o.threads < 0 || o.threads > 4096)
    return drift__fail(NULL, DRIFT_INVALID_ARGUMENT, "opts->threads: %d, expected 0..4096",
                       o.threads);
  if (o.device < 0)
    return drift__fail(NULL, DRIFT_INVALID_ARGUMENT, "opts->device: %d, expected >= 0", o.device);
  if (o.backend == DRIFT_BACKEND_AUTO) {
    drift_status s = backend_from_env(&o.backend);
    if (s != DRIFT_OK) return s;
  }
  {
    drift_status s = fallback_from_env(&o.cpu_fallback);
    if (s != DRIFT_OK) return s;
  }

  drift_context *ctx = calloc(1, sizeof *ctx);
  if (ctx == NULL) return drift__fail(NULL, DRIFT_OUT_OF_MEMORY, "context: out of memory");
  ctx->magic = DRIFT__CONTEXT_MAGIC;
  ctx->cpu_fallback = o.cpu_fallback != 0;

  char err[DRIFT__ERR_CAP] = "";
  drift_status s = DRIFT_UNSUPPORTED;
  if (o.backend != DRIFT_BACKEND_CPU) {
    s = open_cuda(ctx, &o, o.backend == DRIFT_BACKEND_CUDA);
    if (s != DRIFT_OK && o.backend == DRIFT_BACKEND_CUDA) {
      free(ctx);
      return s;
    }
  }
  if (s == DRIFT_OK) {
    s = drift__cpu_backend_create(o.threads, &ctx->cpu, err);
    ctx->has_cpu_twin = s == DRIFT_OK;
  } else {
    s = drift__cpu_backend_create(o.threads, &ctx->primary, err);
    ctx->kind = DRIFT_BACKEND_CPU;
  }
  if (s != DRIFT_OK) {
    if (ctx->kind == DRIFT_BACKEND_CUDA) ctx->primary.destroy(ctx->primary.state);
    free(ctx);
    return drift__fail(NULL, s, "backend cpu: %s", err);
  }
  *out = ctx;
  return DRIFT_OK;
}

drift_status drift__context_install_device(drift_context *ctx, const drift__backend *device) {
  drift_status s = drift__check_ctx(ctx);
  if (s != DRIFT_OK) return s;
  if (device == NULL || ctx->has_cpu_twin)
    return drift__fail(ctx, DRIFT_INVALID_ARGUMENT,
                       "install device: %s, expected a backend and a CPU context",
                       device == NULL ? "no backend" : "context already has a device");
  ctx->cpu = ctx->primary;
  ctx->primary = *device;
  ctx->has_cpu_twin = 1;
  ctx->kind = device->kind;
  return DRIFT_OK;
}

void drift_context_destroy(drift_context *ctx) {
  if (ctx == NULL || ctx->magic != DRIFT__CONTEXT_MAGIC) return;
  ctx->primary.destroy(ctx->primary.state);
  if (ctx->has_cpu_twin) ctx->cpu.destroy(ctx->cpu.state);
  ctx->magic = 0;
  free(ctx);
}

drift_backend_kind drift_context_backend(const drift_context *ctx) {
  if (ctx == NULL || ctx->magic != DRIFT__CONTEXT_MAGIC) return DRIFT_BACKEND_AUTO;
  return ctx->kind;
}

drift_status drift_device_memory(int device, uint64_t *free_bytes, uint64_t *total_bytes) {
  if (free_bytes == NULL || total_bytes == NULL)
    return drift__fail(NULL, DRIFT_INVALID_ARGUMENT, "free_bytes, total_bytes: NULL");
#ifdef DRIFT_HAVE_CUDA
  char err[DRIFT__ERR_CAP] = "";
  drift_status s = drift__cuda_memory(device, free_bytes, total_bytes, err);
  if (s != DRIFT_OK) return drift__fail(NULL, s, "%s", err);
  return DRIFT_OK;
#else
  return drift__fail(NULL, DRIFT_UNSUPPORTED, "device %d: this build has no CUDA backend", device);
#endif
}

drift_status drift_context_get_stats(drift_context *ctx, drift_context_stats *out) {
  drift_status s = drift__check_ctx(ctx);
  if (s != DRIFT_OK) return s;
  if (out == NULL) return drift__fail(ctx, DRIFT_INVALID_ARGUMENT, "out: NULL");
  *out = ctx->stats;
  return DRIFT_OK;
}
