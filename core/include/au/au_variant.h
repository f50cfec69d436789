/* The variant entry point. Every variant (DESIGN.md "Variants") is the same
 * core sources compiled with different definitions (core/config.h) into its
 * own shared library, libaucore-<name>.so, that exports exactly one symbol,
 * AU_VARIANT_ENTRY_NAME, returning this table. The harness dlopen()s the
 * library (RTLD_LOCAL), calls the entry with the ABI version it was built
 * for, and only ever calls the pipeline through the table, so two variants
 * never share a symbol and a variant that crashes is contained in the worker
 * process running it.
 *
 * Versioning: abi_version changes whenever a member changes meaning or type;
 * members are only ever appended, and struct_size lets a newer harness see
 * which members an older library has. */
#ifndef AU_AU_VARIANT_H
#define AU_AU_VARIANT_H

#include <stddef.h>
#include <stdint.h>

#include "au/au.h"

#define AU_VARIANT_ABI_VERSION 1
#define AU_VARIANT_ENTRY_NAME "au_variant_entry_v1"

typedef struct AuVariantApi {
    uint32_t abi_version; /* AU_VARIANT_ABI_VERSION of the library */
    uint32_t struct_size; /* sizeof(AuVariantApi) of the library */
    const char *name;     /* "baseline", "simd", ... */
    const char *purpose;  /* one line, from the variant table */
    const char *definitions; /* the compile definitions it was built with, e.g. "AU_CFG_SIMD=1" */
    const char *config;      /* the resolved knobs, e.g. "simd=1 max_iter=5 radius=1.5 frame_skip=1" */

    AuStatus (*model_set_load)(AuModelSet **models, const char *models_dir, AuError *err);
    void (*model_set_free)(AuModelSet *models);
    void (*tracker_options_default)(AuTrackerOptions *opts);
    AuStatus (*tracker_create)(AuTracker **tracker, const AuModelSet *models, const AuTrackerOptions *opts,
                               AuError *err);
    AuStatus (*tracker_process)(AuTracker *tracker, const AuInputFrame *frame, AuFrameResult *result, AuError *err);
    AuStatus (*tracker_finish)(AuTracker *tracker, AuError *err);
    AuStatus (*tracker_final_aus)(const AuTracker *tracker, size_t i, double au_reg[AU_N_AU_REG],
                                  double au_class[AU_N_AU_CLASS], AuError *err);
    const char *(*tracker_au_reg_name)(const AuTracker *tracker, int i);
    const char *(*tracker_au_class_name)(const AuTracker *tracker, int i);
    int (*tracker_timings)(const AuTracker *tracker, AuStageTiming *out, int n);
    void (*tracker_free)(AuTracker *tracker);
    AuStatus (*tracker_process_image)(AuTracker *tracker, const AuInputFrame *image, const AuFrameResult **faces,
                                      int *n_faces, AuError *err);
} AuVariantApi;

/* The entry point: the table when abi_version is one this library speaks,
 * NULL otherwise. */
typedef const AuVariantApi *(*AuVariantEntryFn)(uint32_t abi_version);
const AuVariantApi *au_variant_entry_v1(uint32_t abi_version);

#endif
