/* The per-person running median of a descriptor, as OpenFace's
 * FaceAnalyser::UpdateRunningMedian keeps it: one histogram of num_bins bins
 * over [min_val, max_val] per descriptor dimension, and the median read back
 * as the centre of the first bin whose cumulative count reaches
 * (count + 1) / 2 (integer division).
 *
 * OpenFace keeps two: HOG (AU_RUNNING_MEDIAN_HOG_*: 1000 bins over
 * [-0.005, 1], negative medians then set to 0 by the caller,
 * au_running_median_clamp_negative) and geometry (AU_RUNNING_MEDIAN_GEOM_*:
 * 10000 bins over [-60, 60]). The face analyser calls the update on every
 * second frame (frames_tracking odd) and adds the descriptor to the histogram
 * only on successful frames; see au_running_median_update for what happens on
 * the other calls, which matters for faithfulness.
 *
 * Memory: dim x num_bins ints, as OpenFace (HOG 4464 x 1000 = 17.9 MB,
 * geometry 238 x 10000 = 9.5 MB per tracked person).
 * Cost: the median is re-read by scanning every dimension's histogram up to
 * the median bin, as OpenFace does (a few ms per update for the HOG). */
#ifndef AU_RUNNING_MEDIAN_H
#define AU_RUNNING_MEDIAN_H

#include "error.h"

#define AU_RUNNING_MEDIAN_HOG_BINS 1000
#define AU_RUNNING_MEDIAN_HOG_MIN (-0.005)
#define AU_RUNNING_MEDIAN_HOG_MAX 1.0
#define AU_RUNNING_MEDIAN_GEOM_BINS 10000
#define AU_RUNNING_MEDIAN_GEOM_MIN (-60.0)
#define AU_RUNNING_MEDIAN_GEOM_MAX 60.0
/* Largest histogram accepted (dim x num_bins counts, 1 GB of ints). */
#define AU_RUNNING_MEDIAN_MAX_CELLS (1LL << 28)

typedef struct AuRunningMedian {
    int dim;
    int num_bins;
    double min_val, max_val;
    double length; /* |max_val - min_val| */
    /* Bin index of a value x: (int)fma(x, bin_scale, bin_offset), clamped to
     * [0, num_bins - 1]. These are the coefficients OpenCV's MatExpr turns
     * OpenFace's (x - min_val) * num_bins / length into (see the .c). */
    double bin_scale, bin_offset;
    int count;    /* descriptors added to the histogram (OpenFace's hist_count) */
    int *hist;    /* dim x num_bins counts, row-major */
    double *median; /* dim values */
    /* au_running_median_track: per dimension, the bin the median was last
     * read from and the count below it (NULL: OpenFace's full scan) */
    int *median_bin, *below;
} AuRunningMedian;

/* Prepares an empty median of dim values with num_bins bins over
 * [min_val, max_val] (min_val < max_val, finite; dim, num_bins >= 1). */
AuStatus au_running_median_init(AuRunningMedian *rm, int dim, int num_bins, double min_val, double max_val,
                                AuError *err);
/* Accepts a zeroed or partially initialised struct; leaves it zeroed. */
void au_running_median_free(AuRunningMedian *rm);
/* Back to the state after init (OpenFace's FaceAnalyser::Reset for the medians). */
void au_running_median_reset(AuRunningMedian *rm);

/* OpenFace's UpdateRunningMedian(histogram, hist_count, median, descriptor, add, ...):
 * - if add, the descriptor's bins are counted and count increments;
 * - then, if count == 1, the median becomes this descriptor (even when add is
 *   0, e.g. a failed frame after a single successful update), otherwise it is
 *   re-read from the histogram for every dimension; with count == 0 (no
 *   successful frame yet) that is the centre of bin 0 everywhere.
 * A NaN value is counted in bin 0 (OpenFace's cast of NaN is undefined). */
void au_running_median_update(AuRunningMedian *rm, const double *descriptor, int add);

/* From now on, re-read the median by moving from the previous median bin
 * (counting what is added below it) instead of scanning each histogram from
 * bin 0: the same bin, so the same medians bit for bit, in time that does
 * not grow with the median's bin (the simd variant's; OpenFace scans). */
AuStatus au_running_median_track(AuRunningMedian *rm, AuError *err);

/* OpenFace's hog_desc_median.setTo(0, hog_desc_median < 0), applied after each
 * HOG update. */
void au_running_median_clamp_negative(AuRunningMedian *rm);

/* Bin index the histogram counts value in (exposed for tests). */
int au_running_median_bin(const AuRunningMedian *rm, double value);

#endif
