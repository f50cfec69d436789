/* One job of a run: one variant on one dataset item, in the calling process
 * (the runner calls it in a forked worker). It opens the variant
 * (auh_variant_open), runs the item through v.api, evaluates the results
 * against the item's labels (evaluate.h) and commits the job to the store
 * through its own connection. A job that fails (the variant does not load,
 * the video does not decode, the pipeline returns an error) is committed with
 * status 'failed' and the error; only a store failure is returned.
 *
 * Video items: every frame through api->tracker_process, then
 * api->tracker_finish (OpenFace's offline AU post-processing); stored AUs are
 * the final ones (api->tracker_final_aus). wall_ns is the frame loop, decoding
 * included, post-processing excluded (as OpenFace's own tracking-loop figure,
 * "Starting tracking" to "Closing output recorder", excludes it).
 * Image items: each image decoded and run through api->tracker_process_image
 * (static AUs); frame = 1-based image index, name = file name, and face 0 is
 * the detected face nearest the labelled one (or the first). success = a face
 * was detected (as FaceLandmarkImg writes every fitted face, validated or not;
 * the validator's certainty is the confidence).
 * Variant AUH_VARIANT_OPENFACE: OpenFace C++'s own output (openface_job.h). */
#ifndef AUH_WORKER_H
#define AUH_WORKER_H

#include <stdint.h>

#include "error.h"
#include "manifest.h"
#include "openface_job.h"

typedef struct AuhJobSpec {
    size_t index;                /* position in the run's full job list (--shard selects by it) */
    const char *variant;         /* a variant name or AUH_VARIANT_OPENFACE */
    const AuhManifest *dataset;
    const AuhManifestItem *item;
    int64_t expected_frames;     /* for progress; 0 when unknown */
} AuhJobSpec;

typedef struct AuhWorkerConfig {
    const char *db_path;
    int64_t run_id;
    const char *models_dir;
    int64_t max_frames;          /* > 0: only the first frames / images of each item */
    AuhOpenfaceConfig openface;
    int progress_fd;             /* pipe for AuhWorkerMsg, -1 for none */
    const char *fault;           /* AUHARNESS_FAULT (fault.h), or NULL */
} AuhWorkerConfig;

/* ERROR: the worker could not commit its job (e.g. the disk is full); the
 * runner records the job as failed with this message. */
enum { AUH_MSG_PROGRESS = 1, AUH_MSG_DONE = 2, AUH_MSG_ERROR = 3 };

/* What a worker tells the runner through its pipe: progress while running,
 * then once the job is committed, its outcome. Smaller than PIPE_BUF, so each
 * write is atomic. */
typedef struct AuhWorkerMsg {
    int32_t kind;
    int32_t failed;        /* DONE: the job was committed as 'failed' */
    int64_t frames, total; /* frames done, expected (0: unknown) */
    double fps, au_mean_r, lmk_mean_px, lmk_mean_nme; /* NaN when undefined */
    char error[512];
} AuhWorkerMsg;

/* Runs and commits the job. AU_OK when the job was committed, whatever its
 * status; *failed (may be NULL) says whether it was committed as failed. */
AuStatus auh_worker_run(const AuhWorkerConfig *cfg, const AuhJobSpec *spec, int *failed, AuError *err);

#endif
