/*
 * sli_custom.h - user-defined metrics beside the built-in SLIs in a GetSLI
 * answer: the stored series points of the model's metrics of the queried
 * window size (metric_jobs.c writes them), attached to each window's
 * overall entry as SubgroupSli.custom.
 */
#ifndef DRIFTD_SLI_CUSTOM_H
#define DRIFTD_SLI_CUSTOM_H

#include "core/arena.h"
#include "models/model.h"
#include "store/store.h"

/* Attaches the custom values to resp's windows (memory from a). -1 with err
 * set (UNAVAILABLE) when the store fails. */
int dd_sli_custom_attach(dd_store *store, const dd_model *m, int64_t size,
                         Driftd__V1__GetSLIResponse *resp, dd_arena *a, dd_err *err);

#endif /* DRIFTD_SLI_CUSTOM_H */
