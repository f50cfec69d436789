/* OpenFace's offline AU post-processing steps (see au_postprocess.h). */
#include "au_postprocess.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

AuStatus au_descriptor_store_init(AuDescriptorStore *s, int hog_len, int geom_len, int max_frames, AuError *err)
{
    memset(s, 0, sizeof(*s));
    if (hog_len < 1 || geom_len < 0 || max_frames < 0)
        return au_error_set(err, AU_ERR_ARG, "descriptor store: invalid sizes %d (HOG), %d (geometry), %d frames",
                            hog_len, geom_len, max_frames);
    s->hog_len = hog_len;
    s->geom_len = geom_len;
    s->max_frames = max_frames;
    return AU_OK;
}

void au_descriptor_store_free(AuDescriptorStore *s)
{
    free(s->hog);
    free(s->geom);
    free(s->frame);
    memset(s, 0, sizeof(*s));
}

void au_descriptor_store_reset(AuDescriptorStore *s) { s->count = 0; }

static AuStatus store_grow(AuDescriptorStore *s, AuError *err)
{
    int cap = s->capacity ? s->capacity * 2 : 64;
    if (cap > s->max_frames)
        cap = s->max_frames;
    float *hog = realloc(s->hog, (size_t)cap * (size_t)s->hog_len * sizeof(float));
    if (hog)
        s->hog = hog;
    double *geom = realloc(s->geom, (size_t)cap * (size_t)(s->geom_len > 0 ? s->geom_len : 1) * sizeof(double));
    if (geom)
        s->geom = geom;
    int *frame = realloc(s->frame, (size_t)cap * sizeof(int));
    if (frame)
        s->frame = frame;
    if (!hog || !geom || !frame)
        return au_error_set(err, AU_ERR_NOMEM, "descriptor store: out of memory for %d frames", cap);
    s->capacity = cap;
    return AU_OK;
}

AuStatus au_descriptor_store_add(AuDescriptorStore *s, int frame, const float *hog, const double *geom, AuError *err)
{
    if (s->count >= s->max_frames)
        return AU_OK;
    if (s->count == s->capacity) {
        AuStatus st = store_grow(s, err);
        if (st)
            return st;
    }
    memcpy(s->hog + (size_t)s->count * (size_t)s->hog_len, hog, (size_t)s->hog_len * sizeof(float));
    if (s->geom_len > 0)
        memcpy(s->geom + (size_t)s->count * (size_t)s->geom_len, geom, (size_t)s->geom_len * sizeof(double));
    s->frame[s->count] = frame;
    s->count++;
    return AU_OK;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    /* NaN sorts last so that the order is total (std::sort would be undefined). */
    if (isnan(x) || isnan(y))
        return isnan(x) - isnan(y);
    return (x > y) - (x < y);
}

AuStatus au_postprocess_offset(const double *values, const unsigned char *success, int n, double cutoff,
                               double *offset, AuError *err)
{
    *offset = 0.0;
    if (cutoff == -1.0)
        return AU_OK;
    if (!(cutoff >= 0.0 && cutoff < 1.0))
        return au_error_set(err, AU_ERR_ARG, "AU post-processing: cutoff %.17g is outside [0, 1)", cutoff);
    int n_valid = 0;
    for (int f = 0; f < n; f++)
        n_valid += success[f] != 0;
    if (n_valid == 0)
        return AU_OK;
    double *good = malloc((size_t)n_valid * sizeof(double));
    if (!good)
        return au_error_set(err, AU_ERR_NOMEM, "AU post-processing: out of memory for %d values", n_valid);
    int k = 0;
    for (int f = 0; f < n; f++)
        if (success[f])
            good[k++] = values[f];
    qsort(good, (size_t)n_valid, sizeof(double), cmp_double);
    /* OpenFace: au_good.at((int)((double)au_good.size() * cutoff)). */
    *offset = good[(int)((double)n_valid * cutoff)];
    free(good);
    return AU_OK;
}

void au_postprocess_shift_clamp(double *values, const unsigned char *success, int n, double offset)
{
    for (int f = 0; f < n; f++) {
        if (!success[f]) {
            values[f] = 0.0;
            continue;
        }
        /* OpenFace multiplies by a scaling of 1 here, which changes nothing. */
        double v = values[f] - offset;
        if (v < 0.0)
            v = 0.0;
        if (v > 5.0)
            v = 5.0;
        values[f] = v;
    }
}

/* Moving average over window (odd) frames from a copy, frames half .. n-half-1,
 * summed in order from 0 as OpenFace does. */
static void moving_average(double *values, int n, int window, double *scratch)
{
    const int half = (window - 1) / 2;
    if (n <= 2 * half)
        return;
    memcpy(scratch, values, (size_t)n * sizeof(double));
    for (int i = half; i < n - half; i++) {
        double sum = 0.0;
        for (int w = -half; w <= half; w++)
            sum += scratch[i + w];
        values[i] = sum / (double)window;
    }
}

void au_postprocess_smooth_intensity(double *values, int n, double *scratch)
{
    moving_average(values, n, 3, scratch);
}

void au_postprocess_smooth_presence(double *values, int n, double *scratch)
{
    const int half = 3;
    if (n <= 2 * half)
        return;
    moving_average(values, n, 7, scratch);
    for (int i = half; i < n - half; i++)
        values[i] = values[i] < 0.5 ? 0.0 : 1.0;
}
