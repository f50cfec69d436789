/* Running one variant library (harness/variant.h) on one video and scoring it
 * against OpenFace's reference CSV; shared by tests/test_variants.c and the
 * benchmark tool tests/bench_variants.c.
 *
 * Timing follows DESIGN.md's FPS definition: the frame loop, decoding
 * included (frames / wall seconds from the first read to the last processed
 * frame), without model loading and without the end-of-video AU
 * post-processing (OpenFace's "tracking loop" figure in
 * data/openface/reference/README.md is the same span). The decoder is the
 * harness's own (the static core), the same for every variant. */
#ifndef AUTEST_VARIANT_RUN_H
#define AUTEST_VARIANT_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "au/au_variant.h"
#include "openface_csv.h"

#define AUV_MAX_STAGES 32
#define AUV_AU_NAME_MAX 16

typedef struct AuvRun {
    size_t n_frames;
    int n_au_reg;
    char au_reg_names[AU_N_AU_REG][AUV_AU_NAME_MAX]; /* "AU01", ... in CSV order */
    double *au_reg;           /* n_frames x n_au_reg: final (post-processed) intensities */
    float *landmarks;         /* n_frames x 2*AU_N_LANDMARKS: all x then all y */
    unsigned char *success;   /* n_frames */
    int64_t loop_ns;          /* frame loop wall time, decoding included */
    int n_stages;
    AuStageTiming stages[AUV_MAX_STAGES]; /* the tracker's stage timers after the loop */
} AuvRun;

/* Runs api (with its models, loaded by the same api) on the video at path. */
AuStatus auv_run_video(const AuVariantApi *api, const AuModelSet *models, const char *path, AuvRun *run,
                       AuError *err);
/* Accepts a zeroed run. */
void auv_run_free(AuvRun *run);

typedef struct AuvScore {
    double au_r;          /* mean Pearson r over the intensity AUs (harness/metrics.h, the gate metric) */
    int n_au_used;        /* AUs in that mean (labels not constant) */
    double lmk_px;        /* mean point-to-point landmark error in pixels against the reference */
    size_t n_frames_used; /* frames where both succeed */
} AuvScore;

/* The run against OpenFace's CSV of the same video (same number of rows). */
AuStatus auv_score(const AuvRun *run, const AuhOfCsv *ref, AuvScore *score, AuError *err);

#endif
