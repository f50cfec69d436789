/* Metrics on per-frame results: pure functions on arrays (no I/O, no state).
 * Definitions (DESIGN.md "Harness"; shown in every report):
 *
 * - FPS: frames / wall seconds of the frame loop.
 * - Per-function share: a stage's total ns / the frame loop's wall ns.
 * - Landmark error per frame: mean point-to-point Euclidean distance over the
 *   points (pixels); RMSE: root of the mean squared distance over all points
 *   of all used frames; NME: the per-frame mean error divided by the labels'
 *   outer inter-ocular distance, |l36 - l45| (0-based points; the outer eye
 *   corners of the iBUG 68 mark-up).
 * - CED(t): fraction of frames with NME <= t. AUC@T (300-W convention): the
 *   area under CED from 0 to T divided by T, computed exactly: the CED is a
 *   step function, so the area is sum_i max(0, T - e_i) / (N T). Failure
 *   rate: fraction with NME > T (T = 0.08).
 * - Pearson r on frames where both prediction and label succeed. An AU whose
 *   label is constant over those frames has no defined r: it is left out of
 *   the mean and listed. A prediction that is constant while the labels vary
 *   has r = 0 (it explains none of the variation; leaving it out would reward
 *   a model that outputs nothing).
 * - Presence (_c): present when the value is >= 0.5. Agreement: fraction of
 *   frames where prediction and label agree. F1 = 2TP / (2TP + FP + FN); when
 *   neither side has a positive frame F1 is undefined, left out of the mean
 *   and listed (agreement is then 1).
 *
 * Arrays of several values per frame are frame-major: landmarks are
 * [frame][x0..x(n-1), y0..y(n-1)] (OpenFace's order), AUs [frame][au].
 * A `use` mask (NULL = every frame) selects frames: AUH_USE_SKIP leaves a frame
 * out, AUH_USE counts it; for landmark summaries AUH_USE_AS_FAILURE counts a
 * labelled frame the prediction missed as NME = +inf (in CED, AUC, median and
 * failure rate; not in the pixel means, which need a prediction). */
#ifndef AUH_METRICS_H
#define AUH_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define AUH_NME_THRESHOLD 0.08
#define AUH_METRICS_MAX_AUS 64
/* 0-based outer eye corners of the 68-point iBUG mark-up */
#define AUH_LMK_OUTER_EYE_LEFT 36
#define AUH_LMK_OUTER_EYE_RIGHT 45

enum { AUH_USE_SKIP = 0, AUH_USE = 1, AUH_USE_AS_FAILURE = 2 };

/* ---- scalar series ---- */

/* 1 when every selected x is equal (or fewer than 2 are selected). */
int auh_series_constant(const double *x, size_t n, const unsigned char *use);
/* Pearson r of the selected pairs (two-pass, clamped to [-1, 1]). NaN when x
 * or y is constant or fewer than 2 pairs are selected. */
double auh_pearson(const double *x, const double *y, size_t n, const unsigned char *use);
/* Mean |x - y| of the selected pairs; NaN when none. */
double auh_mae(const double *x, const double *y, size_t n, const unsigned char *use);
/* Median of values (sorted in place, NaNs not allowed); NaN when n == 0. */
double auh_median_inplace(double *values, size_t n);

/* ---- AUs ---- */

typedef struct AuhAuIntensityAccuracy {
    int n_aus;
    size_t n_frames;                             /* frames used */
    double r[AUH_METRICS_MAX_AUS];               /* NaN for AUs left out */
    double mae[AUH_METRICS_MAX_AUS];
    unsigned char left_out[AUH_METRICS_MAX_AUS]; /* 1: label constant over the frames used */
    int n_left_out;
    double mean_r;                               /* over the AUs not left out; NaN if none */
} AuhAuIntensityAccuracy;

/* pred, label: n_frames x n_aus. */
AuStatus auh_au_intensity_accuracy(const double *pred, const double *label, size_t n_frames, int n_aus,
                                   const unsigned char *use, AuhAuIntensityAccuracy *out, AuError *err);

typedef struct AuhAuPresenceAccuracy {
    int n_aus;
    size_t n_frames;
    double agreement[AUH_METRICS_MAX_AUS];
    double f1[AUH_METRICS_MAX_AUS];                 /* NaN when undefined */
    unsigned char f1_undefined[AUH_METRICS_MAX_AUS];
    int n_f1_undefined;
    size_t tp[AUH_METRICS_MAX_AUS], fp[AUH_METRICS_MAX_AUS], fn[AUH_METRICS_MAX_AUS], tn[AUH_METRICS_MAX_AUS];
    double mean_agreement;                          /* NaN when no frame is used */
    double mean_f1;                                 /* over AUs with a defined F1; NaN if none */
} AuhAuPresenceAccuracy;

AuStatus auh_au_presence_accuracy(const double *pred, const double *label, size_t n_frames, int n_aus,
                                  const unsigned char *use, AuhAuPresenceAccuracy *out, AuError *err);

/* ---- landmarks (one frame: x0..x(n-1), y0..y(n-1)) ---- */

double auh_lmk_mean_error(const double *pred, const double *label, int n_points);
/* Sum over points of the squared distance. */
double auh_lmk_sq_error_sum(const double *pred, const double *label, int n_points);
/* |label[36] - label[45]|; NaN unless n_points == 68. */
double auh_lmk_interocular_outer(const double *label, int n_points);
/* Mean error / outer inter-ocular distance of the labels; NaN when undefined. */
double auh_lmk_nme(const double *pred, const double *label, int n_points);

/* ---- error distributions ---- */

/* CED(t) = fraction of errors <= t (NaN errors count as never <= t). */
double auh_ced_at(const double *errors, size_t n, double t);
/* CED at n_steps + 1 thresholds k * max / n_steps, k = 0..n_steps. */
void auh_ced_curve(const double *errors, size_t n, double max, int n_steps, double *fractions);
/* Exact area under CED over [0, threshold] / threshold (see above). */
double auh_auc_at(const double *errors, size_t n, double threshold);
/* Fraction of errors > threshold (NaN and +inf count as failures). */
double auh_failure_rate(const double *errors, size_t n, double threshold);

typedef struct AuhLandmarkSummary {
    size_t n_used;       /* frames with a prediction (AUH_USE) */
    size_t n_failed;     /* frames counted as missed (AUH_USE_AS_FAILURE) */
    double mean_px;      /* mean over used frames of the per-frame mean error */
    double rmse_px;      /* sqrt(sum of squared distances / (n_used * n_points)) */
    double mean_nme;     /* over used frames */
    double median_nme;   /* over used and missed frames (missed = +inf) */
    double auc;          /* AUC@threshold over used and missed */
    double failure_rate; /* NME > threshold over used and missed */
    double threshold;
} AuhLandmarkSummary;

/* pred, label: n_frames x 2*n_points. per_frame_px / per_frame_nme (optional,
 * n_frames each) receive the per-frame values, NaN for frames not used. */
AuStatus auh_landmark_summary(const double *pred, const double *label, size_t n_frames, int n_points,
                              const unsigned char *use, double threshold, AuhLandmarkSummary *out,
                              double *per_frame_px, double *per_frame_nme, AuError *err);

/* ---- speed ---- */

/* frames / seconds; NaN when wall_ns <= 0. */
double auh_fps(uint64_t frames, int64_t wall_ns);
/* total_ns / calls; NaN when calls == 0. */
double auh_mean_ns(int64_t total_ns, int64_t calls);
/* share[i] = total_ns[i] / frame_ns (NaN when frame_ns <= 0). */
void auh_timing_shares(const int64_t *total_ns, size_t n, int64_t frame_ns, double *share);

#endif
