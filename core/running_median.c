/* OpenFace's histogram running median (FaceAnalyser::UpdateRunningMedian). */
#include "running_median.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__)
#define PREFETCH_W(p) __builtin_prefetch((p), 1)
#else
#define PREFETCH_W(p) ((void)(p))
#endif

/* The bin centres are a separately rounded product and sum in OpenFace's
 * SSE3 build: no fused multiply-adds here (the one fma that OpenCV does use
 * is written out explicitly below). See fhog.c for why these pragmas. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

AuStatus au_running_median_init(AuRunningMedian *rm, int dim, int num_bins, double min_val, double max_val,
                                AuError *err)
{
    memset(rm, 0, sizeof(*rm));
    if (dim < 1 || num_bins < 1 || !isfinite(min_val) || !isfinite(max_val) || !(min_val < max_val))
        return au_error_set(err, AU_ERR_ARG,
                            "running median: invalid size %d x %d bins or range [%.17g, %.17g]", dim, num_bins,
                            min_val, max_val);
    if ((long long)dim * num_bins > AU_RUNNING_MEDIAN_MAX_CELLS)
        return au_error_set(err, AU_ERR_ARG, "running median: %d x %d bins is too large (at most %lld)", dim,
                            num_bins, (long long)AU_RUNNING_MEDIAN_MAX_CELLS);
    rm->dim = dim;
    rm->num_bins = num_bins;
    rm->min_val = min_val;
    rm->max_val = max_val;
    rm->length = fabs(max_val - min_val);
    /* OpenFace writes (descriptor - min_val) * (double)num_bins / length.
     * OpenCV's MatExpr folds that into one affine map: it starts from
     * alpha = 1, shift = -min_val, multiplies both by num_bins, then by
     * 1 / length (its operator/ multiplies by the reciprocal), and evaluates
     * Mat::convertTo(alpha, shift), whose AVX2 kernel (the one OpenCV
     * dispatches to on this machine kind) is a fused multiply-add. For the
     * HOG this is immaterial: fused, unfused and the literal formula give the
     * same bin for every float32 in [0, 1] (checked exhaustively). For the
     * double geometry values they can differ by one bin in rare last-bit
     * cases (none on a 1e-5 grid over [-60, 60], none in the reference runs). */
    const double inv_length = 1.0 / rm->length;
    rm->bin_scale = 1.0 * (double)num_bins * inv_length;
    rm->bin_offset = -min_val * (double)num_bins * inv_length;
    rm->hist = calloc((size_t)dim * (size_t)num_bins, sizeof(int));
    rm->median = calloc((size_t)dim, sizeof(double));
    if (!rm->hist || !rm->median) {
        au_running_median_free(rm);
        return au_error_set(err, AU_ERR_NOMEM, "running median: out of memory for %d x %d bins", dim, num_bins);
    }
    return AU_OK;
}

void au_running_median_free(AuRunningMedian *rm)
{
    free(rm->hist);
    free(rm->median);
    free(rm->median_bin);
    free(rm->below);
    memset(rm, 0, sizeof(*rm));
}

AuStatus au_running_median_track(AuRunningMedian *rm, AuError *err)
{
    if (rm->median_bin)
        return AU_OK;
    rm->median_bin = calloc((size_t)rm->dim, sizeof(int));
    rm->below = calloc((size_t)rm->dim, sizeof(int));
    if (!rm->median_bin || !rm->below) {
        free(rm->median_bin);
        free(rm->below);
        rm->median_bin = rm->below = NULL;
        return au_error_set(err, AU_ERR_NOMEM, "running median: out of memory for %d dimensions", rm->dim);
    }
    /* bin 0 with nothing below it is a valid start for any histogram: the
     * next read moves up from there */
    return AU_OK;
}

void au_running_median_reset(AuRunningMedian *rm)
{
    if (rm->hist)
        memset(rm->hist, 0, (size_t)rm->dim * (size_t)rm->num_bins * sizeof(int));
    if (rm->median)
        memset(rm->median, 0, (size_t)rm->dim * sizeof(double));
    if (rm->median_bin)
        memset(rm->median_bin, 0, (size_t)rm->dim * sizeof(int));
    if (rm->below)
        memset(rm->below, 0, (size_t)rm->dim * sizeof(int));
    rm->count = 0;
}

int au_running_median_bin(const AuRunningMedian *rm, double value)
{
    double b = fma(value, rm->bin_scale, rm->bin_offset);
    /* OpenFace caps with setTo(num_bins - 1, > num_bins - 1) and setTo(0, < 0)
     * before truncating to int. NaN passes both tests there and its int cast
     * is undefined; it is counted in bin 0 here. */
    if (b > (double)(rm->num_bins - 1))
        b = (double)(rm->num_bins - 1);
    if (!(b >= 0.0))
        b = 0.0;
    return (int)b;
}

/* The tracked read of dimension i: the first bin whose cumulative count
 * reaches cutoff, from the last one (below: the count under it), walking up
 * while the count through it falls short and down while the count below it
 * already reaches cutoff. */
static inline void walk_median(AuRunningMedian *rm, int i, const int *h, int below, int cutoff, double bin_width,
                               double half_bin)
{
    const int nb = rm->num_bins;
    int j = rm->median_bin[i];
    while (j < nb - 1 && below + h[j] < cutoff)
        below += h[j++];
    while (j > 0 && below >= cutoff)
        below -= h[--j];
    rm->median_bin[i] = j;
    rm->below[i] = below;
    if (below + h[j] >= cutoff)
        rm->median[i] = rm->min_val + (double)j * bin_width + half_bin;
}

void au_running_median_update(AuRunningMedian *rm, const double *descriptor, int add)
{
    const int dim = rm->dim, nb = rm->num_bins;
    if (add && rm->median_bin && rm->count >= 1) {
        /* The tracked read fused with the add, dimension by dimension: the
         * same counts and the same walk from the last median bin as the two
         * loops below, but each histogram row (4464 of them, 18 MB for HOG)
         * comes from memory once per frame instead of twice. */
        rm->count++;
        const int cutoff = (rm->count + 1) / 2;
        const double bin_width = rm->length / (double)nb;
        const double half_bin = 0.5 * rm->length / (double)nb;
        /* The rows are far apart in memory and the walks' branches are
         * unpredictable, so the loads of later rows would not overlap: ask
         * for the two lines a row will need (its new bin, its median bin) a
         * few dimensions ahead. */
        enum { AHEAD = 12 };
        for (int i = 0; i < dim; i++) {
            if (i + AHEAD < dim) {
                const int *ha = rm->hist + (size_t)(i + AHEAD) * (size_t)nb;
                PREFETCH_W(ha + au_running_median_bin(rm, descriptor[i + AHEAD]));
                PREFETCH_W(ha + rm->median_bin[i + AHEAD]);
            }
            int *h = rm->hist + (size_t)i * (size_t)nb;
            const int b = au_running_median_bin(rm, descriptor[i]);
            h[b]++;
            walk_median(rm, i, h, rm->below[i] + (b < rm->median_bin[i]), cutoff, bin_width, half_bin);
        }
        return;
    }
    /* OpenFace first sets the median to the descriptor when the histogram is
     * created; every path below overwrites every value, so that is skipped. */
    if (add) {
        for (int i = 0; i < dim; i++) {
            const int b = au_running_median_bin(rm, descriptor[i]);
            rm->hist[(size_t)i * (size_t)nb + (size_t)b]++;
            if (rm->below && b < rm->median_bin[i])
                rm->below[i]++;
        }
        rm->count++;
    }
    if (rm->count == 1) {
        memcpy(rm->median, descriptor, (size_t)dim * sizeof(double));
        return;
    }
    const int cutoff = (rm->count + 1) / 2;
    const double bin_width = rm->length / (double)nb;
    const double half_bin = 0.5 * rm->length / (double)nb;
    if (rm->median_bin) {
        for (int i = 0; i < dim; i++)
            walk_median(rm, i, rm->hist + (size_t)i * (size_t)nb, rm->below[i], cutoff, bin_width, half_bin);
        return;
    }
    for (int i = 0; i < dim; i++) {
        const int *h = rm->hist + (size_t)i * (size_t)nb;
        int cum = 0;
        for (int j = 0; j < nb; j++) {
            cum += h[j];
            if (cum >= cutoff) {
                rm->median[i] = rm->min_val + (double)j * bin_width + half_bin;
                break;
            }
        }
    }
}

void au_running_median_clamp_negative(AuRunningMedian *rm)
{
    for (int i = 0; i < rm->dim; i++)
        if (rm->median[i] < 0.0)
            rm->median[i] = 0.0;
}
