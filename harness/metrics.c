#include "metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* All arithmetic in double: the inputs are OpenFace's double AU values and
 * float landmarks widened to double; the metrics are summaries, not part of
 * the pipeline being reproduced. */

#define SELECTED(use, i) (!(use) || (use)[i] != AUH_USE_SKIP)

int auh_series_constant(const double *x, size_t n, const unsigned char *use)
{
    int have = 0;
    double first = 0;
    for (size_t i = 0; i < n; i++) {
        if (!SELECTED(use, i))
            continue;
        if (!have) {
            first = x[i];
            have = 1;
        } else if (x[i] != first) {
            return 0;
        }
    }
    return 1;
}

double auh_pearson(const double *x, const double *y, size_t n, const unsigned char *use)
{
    /* Constancy is tested on the values themselves: a mean of equal values
     * need not equal them in floating point, so the deviations of a constant
     * series can be tiny non-zeros rather than exact zeros. */
    if (auh_series_constant(x, n, use) || auh_series_constant(y, n, use))
        return NAN;
    double sx = 0, sy = 0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (!SELECTED(use, i))
            continue;
        sx += x[i];
        sy += y[i];
        m++;
    }
    double mx = sx / (double)m, my = sy / (double)m;
    double sxy = 0, sxx = 0, syy = 0;
    for (size_t i = 0; i < n; i++) {
        if (!SELECTED(use, i))
            continue;
        double dx = x[i] - mx, dy = y[i] - my;
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    double r = sxy / sqrt(sxx * syy);
    if (r > 1)
        r = 1;
    if (r < -1)
        r = -1;
    return r;
}

double auh_mae(const double *x, const double *y, size_t n, const unsigned char *use)
{
    double s = 0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (!SELECTED(use, i))
            continue;
        s += fabs(x[i] - y[i]);
        m++;
    }
    return m ? s / (double)m : NAN;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double auh_median_inplace(double *values, size_t n)
{
    if (n == 0)
        return NAN;
    qsort(values, n, sizeof(*values), cmp_double);
    if (n % 2)
        return values[n / 2];
    double a = values[n / 2 - 1], b = values[n / 2];
    if (isinf(a) && isinf(b))
        return a == b ? a : NAN;
    return 0.5 * (a + b);
}

static AuStatus check_aus(int n_aus, AuError *err)
{
    if (n_aus < 0 || n_aus > AUH_METRICS_MAX_AUS)
        return au_error_set(err, AU_ERR_ARG, "%d AUs (at most %d)", n_aus, AUH_METRICS_MAX_AUS);
    return AU_OK;
}

/* Column j of a frame-major table into col (n_frames). */
static void gather(const double *table, size_t n_frames, int n_cols, int j, double *col)
{
    for (size_t i = 0; i < n_frames; i++)
        col[i] = table[i * (size_t)n_cols + (size_t)j];
}

static size_t count_used(size_t n, const unsigned char *use)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        m += SELECTED(use, i);
    return m;
}

AuStatus auh_au_intensity_accuracy(const double *pred, const double *label, size_t n_frames, int n_aus,
                                   const unsigned char *use, AuhAuIntensityAccuracy *out, AuError *err)
{
    memset(out, 0, sizeof(*out));
    AuStatus st = check_aus(n_aus, err);
    if (st)
        return st;
    out->n_aus = n_aus;
    out->n_frames = count_used(n_frames, use);
    out->mean_r = NAN;
    double *p = malloc((n_frames ? n_frames : 1) * 2 * sizeof(double));
    if (!p)
        return au_error_set(err, AU_ERR_NOMEM, "out of memory for %zu frames", n_frames);
    double *l = p + n_frames;
    double sum = 0;
    int n_in = 0;
    for (int j = 0; j < n_aus; j++) {
        gather(pred, n_frames, n_aus, j, p);
        gather(label, n_frames, n_aus, j, l);
        out->mae[j] = auh_mae(p, l, n_frames, use);
        if (auh_series_constant(l, n_frames, use)) {
            out->left_out[j] = 1;
            out->n_left_out++;
            out->r[j] = NAN;
            continue;
        }
        double r = auh_series_constant(p, n_frames, use) ? 0.0 : auh_pearson(p, l, n_frames, use);
        out->r[j] = r;
        sum += r;
        n_in++;
    }
    if (n_in)
        out->mean_r = sum / n_in;
    free(p);
    return AU_OK;
}

AuStatus auh_au_presence_accuracy(const double *pred, const double *label, size_t n_frames, int n_aus,
                                  const unsigned char *use, AuhAuPresenceAccuracy *out, AuError *err)
{
    memset(out, 0, sizeof(*out));
    AuStatus st = check_aus(n_aus, err);
    if (st)
        return st;
    out->n_aus = n_aus;
    out->n_frames = count_used(n_frames, use);
    out->mean_agreement = out->mean_f1 = NAN;
    double sum_agree = 0, sum_f1 = 0;
    int n_f1 = 0;
    for (int j = 0; j < n_aus; j++) {
        size_t tp = 0, fp = 0, fn = 0, tn = 0;
        for (size_t i = 0; i < n_frames; i++) {
            if (!SELECTED(use, i))
                continue;
            int a = pred[i * (size_t)n_aus + (size_t)j] >= 0.5;
            int b = label[i * (size_t)n_aus + (size_t)j] >= 0.5;
            tp += a && b;
            fp += a && !b;
            fn += !a && b;
            tn += !a && !b;
        }
        out->tp[j] = tp;
        out->fp[j] = fp;
        out->fn[j] = fn;
        out->tn[j] = tn;
        out->agreement[j] = out->n_frames ? (double)(tp + tn) / (double)out->n_frames : NAN;
        sum_agree += out->agreement[j];
        size_t denom = 2 * tp + fp + fn;
        if (denom == 0) {
            out->f1[j] = NAN;
            out->f1_undefined[j] = 1;
            out->n_f1_undefined++;
        } else {
            out->f1[j] = (double)(2 * tp) / (double)denom;
            sum_f1 += out->f1[j];
            n_f1++;
        }
    }
    if (n_aus > 0 && out->n_frames)
        out->mean_agreement = sum_agree / n_aus;
    if (n_f1)
        out->mean_f1 = sum_f1 / n_f1;
    return AU_OK;
}

double auh_lmk_mean_error(const double *pred, const double *label, int n_points)
{
    if (n_points <= 0)
        return NAN;
    double s = 0;
    for (int i = 0; i < n_points; i++)
        s += hypot(pred[i] - label[i], pred[n_points + i] - label[n_points + i]);
    return s / n_points;
}

double auh_lmk_sq_error_sum(const double *pred, const double *label, int n_points)
{
    double s = 0;
    for (int i = 0; i < n_points; i++) {
        double dx = pred[i] - label[i], dy = pred[n_points + i] - label[n_points + i];
        s += dx * dx + dy * dy;
    }
    return s;
}

double auh_lmk_interocular_outer(const double *label, int n_points)
{
    if (n_points != 68)
        return NAN;
    return hypot(label[AUH_LMK_OUTER_EYE_LEFT] - label[AUH_LMK_OUTER_EYE_RIGHT],
                 label[68 + AUH_LMK_OUTER_EYE_LEFT] - label[68 + AUH_LMK_OUTER_EYE_RIGHT]);
}

double auh_lmk_nme(const double *pred, const double *label, int n_points)
{
    double d = auh_lmk_interocular_outer(label, n_points);
    if (!(d > 0))
        return NAN;
    return auh_lmk_mean_error(pred, label, n_points) / d;
}

double auh_ced_at(const double *errors, size_t n, double t)
{
    if (n == 0)
        return NAN;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += errors[i] <= t; /* false for NaN */
    return (double)k / (double)n;
}

void auh_ced_curve(const double *errors, size_t n, double max, int n_steps, double *fractions)
{
    for (int k = 0; k <= n_steps; k++)
        fractions[k] = auh_ced_at(errors, n, n_steps > 0 ? max * k / n_steps : max);
}

double auh_auc_at(const double *errors, size_t n, double threshold)
{
    if (n == 0 || !(threshold > 0))
        return NAN;
    /* integral over [0, T] of 1[e_i <= t] dt = max(0, T - e_i) for e_i >= 0 */
    double s = 0;
    for (size_t i = 0; i < n; i++)
        if (errors[i] < threshold) /* false for NaN and +inf */
            s += threshold - (errors[i] > 0 ? errors[i] : 0);
    return s / ((double)n * threshold);
}

double auh_failure_rate(const double *errors, size_t n, double threshold)
{
    if (n == 0)
        return NAN;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += !(errors[i] <= threshold);
    return (double)k / (double)n;
}

AuStatus auh_landmark_summary(const double *pred, const double *label, size_t n_frames, int n_points,
                              const unsigned char *use, double threshold, AuhLandmarkSummary *out,
                              double *per_frame_px, double *per_frame_nme, AuError *err)
{
    memset(out, 0, sizeof(*out));
    out->threshold = threshold;
    out->mean_px = out->rmse_px = out->mean_nme = out->median_nme = out->auc = out->failure_rate = NAN;
    if (n_points <= 0)
        return au_error_set(err, AU_ERR_ARG, "%d landmarks", n_points);
    double *nmes = malloc((n_frames ? n_frames : 1) * sizeof(double));
    if (!nmes)
        return au_error_set(err, AU_ERR_NOMEM, "out of memory for %zu frames", n_frames);
    size_t stride = 2 * (size_t)n_points, n_counted = 0;
    double sum_px = 0, sum_sq = 0, sum_nme = 0;
    size_t n_nme = 0;
    for (size_t i = 0; i < n_frames; i++) {
        unsigned u = use ? use[i] : AUH_USE;
        double px = NAN, nme = NAN;
        if (u == AUH_USE) {
            const double *p = pred + i * stride, *l = label + i * stride;
            px = auh_lmk_mean_error(p, l, n_points);
            nme = auh_lmk_nme(p, l, n_points);
            sum_px += px;
            sum_sq += auh_lmk_sq_error_sum(p, l, n_points);
            out->n_used++;
            if (!isnan(nme)) {
                sum_nme += nme;
                n_nme++;
            }
            nmes[n_counted++] = nme;
        } else if (u == AUH_USE_AS_FAILURE) {
            out->n_failed++;
            nmes[n_counted++] = INFINITY;
        }
        if (per_frame_px)
            per_frame_px[i] = px;
        if (per_frame_nme)
            per_frame_nme[i] = nme;
    }
    if (out->n_used) {
        out->mean_px = sum_px / (double)out->n_used;
        out->rmse_px = sqrt(sum_sq / ((double)out->n_used * n_points));
    }
    if (n_nme)
        out->mean_nme = sum_nme / (double)n_nme;
    /* NME is undefined without the 68-point eye corners: then no CED. */
    if (n_counted && n_nme == out->n_used) {
        out->auc = auh_auc_at(nmes, n_counted, threshold);
        out->failure_rate = auh_failure_rate(nmes, n_counted, threshold);
        out->median_nme = auh_median_inplace(nmes, n_counted);
    }
    free(nmes);
    return AU_OK;
}

double auh_fps(uint64_t frames, int64_t wall_ns)
{
    return wall_ns > 0 ? (double)frames * 1e9 / (double)wall_ns : NAN;
}

double auh_mean_ns(int64_t total_ns, int64_t calls)
{
    return calls > 0 ? (double)total_ns / (double)calls : NAN;
}

void auh_timing_shares(const int64_t *total_ns, size_t n, int64_t frame_ns, double *share)
{
    for (size_t i = 0; i < n; i++)
        share[i] = frame_ns > 0 ? (double)total_ns[i] / (double)frame_ns : NAN;
}
