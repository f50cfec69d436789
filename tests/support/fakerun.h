/* A realistic results database for the table / gate / report tests, built
 * through the store API until real runs exist: one run with the variants
 * baseline, simd, fast and OpenFace C++'s rows ("openface") on the default
 * dataset's two videos and an image set.
 *
 * Per-job numbers (the tests hand-compute aggregates from these):
 *
 *  variant   item                  frames  wall s  FPS    lmk px  NME     AU r    presence
 *  baseline  default               288     9.6     30     0.05    0.0005  0.9998  0.998
 *  baseline  changeLighting        88      3.2     27.5   0.07    0.0007  0.9995  0.997
 *  baseline  300w_lfpw_test_crops  40      2.0     20     3.10    0.031   -       -
 *  simd      default               288     3.2     90     0.05    0.0005  0.9998  0.998
 *  simd      changeLighting        88      1.1     80     0.07    0.0007  0.9995  0.997
 *  simd      300w_lfpw_test_crops  40      0.5     80     3.10    0.031   -       -
 *  fast      default               288     1.6     180    1.80    0.018   0.95    0.94
 *  fast      changeLighting        88      0.55    160    2.10    0.021   0.93    0.95
 *  fast      300w_lfpw_test_crops  40      0.25    160    4.50    0.045   -       -
 *  openface  default               288     (fps metric 41.3, wall_ns 0)   0 0 1 1
 *  openface  changeLighting        88      (fps metric 33.5, wall_ns 0)   0 0 1 1
 *
 * FAKERUN_FAILING_JOB: simd's changeLighting job failed after 40 frames with
 * the error FAKERUN_ERROR (its numbers above are then not stored).
 * FAKERUN_BELOW_GATE: fast's AU r on default is 0.87 instead of 0.95.
 *
 * Stage timings: stage k's total_ns = share[variant][k] * wall_ns (the shares
 * are fakerun_stage_share), calls = frames, except detect and postprocess
 * (1 call per video; detect once per image on the image set). OpenFace's rows
 * have none.
 *
 * Frames are realistic: the videos' frames are OpenFace's reference CSV
 * (the item's labels, read from the data folder) plus seeded noise whose
 * size follows the table; lmk_px / nme are computed from them; the image
 * set's per-image NME is drawn around the job's NME (fast misses image 7).
 * The metrics are the table's constants, not recomputed from the noise. */
#ifndef FAKERUN_H
#define FAKERUN_H

#include <stdint.h>

enum { FAKERUN_FAILING_JOB = 1u, FAKERUN_BELOW_GATE = 2u };

#define FAKERUN_ERROR "changeLighting.wmv: frame 41: decoding failed: Invalid data found when processing input"
#define FAKERUN_N_IMAGES 40
#define FAKERUN_DATASET "default"

/* Stage names in core/profile.h order and each variant's share of the
 * frame-loop wall time (0: baseline, 1: simd, 2: fast). */
#define FAKERUN_N_STAGES 13
extern const char *const fakerun_stage_names[FAKERUN_N_STAGES];
extern const double fakerun_stage_share[3][FAKERUN_N_STAGES];

/* Adds run `run_key` started at started_at (Unix s, ended 60 s later) to the
 * database at db_path (created when missing). Fails the test on any error.
 * Returns the run id. */
int64_t fakerun_build(const char *db_path, const char *run_key, double started_at, unsigned flags);

#endif
