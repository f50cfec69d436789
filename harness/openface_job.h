/* The rows that stand for OpenFace C++ itself (variant AUH_VARIANT_OPENFACE):
 * one job per item with `openface=` in its manifest line, whose frames are
 * OpenFace's own output, evaluated against the labels like any variant and
 * never gated.
 *
 * Frames: for a video, the rows of the item's OpenFace CSV (or, with
 * --openface PATH, of the CSV that FeatureExtraction writes in this run);
 * for an image set, per image NAME.csv of the openface= folder (FaceLandmarkImg
 * output), the face nearest the labelled one; an image without a CSV or
 * without a face row is a frame without success.
 *
 * Speed: OpenFace's FPS cannot be read from a CSV, so it is either given
 * (--openface-fps) or measured (--openface PATH). The default is the
 * single-threaded tracking-loop FPS that data/openface/reference/README.md
 * measured for OpenFace 2.2 on the reference machine, per sample video
 * (matched by the video's file name): default.wmv 41.3, changeLighting.wmv
 * 33.5; other items have no FPS unless given. The job's wall_ns is
 * frames / FPS, so FPS aggregates like any variant's (0 when unknown).
 *
 * Measuring (--openface PATH, a FeatureExtraction binary; video items only):
 * it runs from its own folder (where OpenFace finds model/ and AU_predictors/)
 * as the reference was produced,
 *   PATH -f VIDEO -out_dir TMP -mloc model/main_clnf_general.txt -2Dfp -3Dfp -pdmparams -pose -aus -gaze
 * single-threaded (OPENBLAS_NUM_THREADS=1 OPENCV_FOR_THREADS_NUM=1), and its
 * FPS is frames / the time between its "Starting tracking" and "Closing output
 * recorder" lines (the tracking loop, as the reference README measures it);
 * when it prints neither, the whole process's wall time. */
#ifndef AUH_OPENFACE_JOB_H
#define AUH_OPENFACE_JOB_H

#include <stdint.h>

#include "error.h"
#include "evaluate.h"
#include "manifest.h"
#include "store.h"

#define AUH_OPENFACE_FPS_MAX 64

typedef struct AuhOpenfaceFps {
    char item[AUH_ITEM_ID_MAX]; /* item name, "" = every item */
    double fps;
} AuhOpenfaceFps;

typedef struct AuhOpenfaceConfig {
    const char *binary;          /* FeatureExtraction to measure, or NULL */
    int n_fps;                   /* --openface-fps values, later ones win */
    AuhOpenfaceFps fps[AUH_OPENFACE_FPS_MAX];
} AuhOpenfaceConfig;

/* Parses a --openface-fps value, "FPS" (every item) or "ITEM=FPS[,ITEM=FPS...]",
 * into cfg. Errors name the value. */
AuStatus auh_openface_fps_parse(AuhOpenfaceConfig *cfg, const char *value, AuError *err);
/* Given FPS for the item (the last matching --openface-fps, else the default
 * table by the video's file name); NaN when unknown. */
double auh_openface_fps_for(const AuhOpenfaceConfig *cfg, const AuhManifestItem *item);
/* The binary exists and is an executable regular file (error names it). */
AuStatus auh_openface_check_binary(const char *path, AuError *err);

/* Builds the job's frames (initialising job) from OpenFace's output for the
 * item; at most max_frames frames when > 0. *fps receives the FPS to record
 * (measured or given, NaN when unknown). labels: for picking faces in image
 * sets. A failure leaves job initialised or zeroed (auh_job_free either way). */
AuStatus auh_openface_job_build(AuhJob *job, const AuhOpenfaceConfig *cfg, const AuhManifest *dataset,
                                const AuhManifestItem *item, const AuhItemLabels *labels, int64_t max_frames,
                                double *fps, AuError *err);

/* Runs FeatureExtraction on video (see above) writing into out_dir; *csv
 * (malloc'ed) receives the CSV's path and *loop_s the timed seconds. */
AuStatus auh_openface_run_binary(const char *binary, const char *video, const char *out_dir, char **csv,
                                 double *loop_s, AuError *err);

#endif
