/* KDE mean shift and landmark likelihood as OpenFace's CLNF computes them
 * (LandmarkDetectorModel.cpp: NonVectorisedMeanShift_precalc_kde, NU_RLMS).
 * Every operation keeps OpenFace's types: float products and sums, int loop
 * counters converted to float, the "+ 0.5" of the rounding in double. */
#include "mean_shift.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Bit-exactness with OpenFace's build (SSE, no FMA) needs a*b+c rounded twice. */
#pragma GCC optimize("fp-contract=off")

float au_kde_a_from_sigma(float sigma)
{
    float sigma_sq = sigma * sigma;
    return (float)(-0.5 / (double)sigma_sq);
}

AuStatus au_kde_table_build(AuKdeTable *t, int window, float a, AuError *err)
{
    memset(t, 0, sizeof(*t));
    if (window < 1 || window > 64)
        return au_error_set(err, AU_ERR_ARG, "KDE table: window size %d out of range 1..64", window);

    const float step = AU_KDE_STEP;
    /* OpenFace: rows = (int)((resp_size / step_size) * (resp_size / step_size)),
     * loops "x < resp_size / step_size", index stride (int)(resp_size / step_size + 0.5). */
    const float q = (float)window / step;
    const int n_rows = (int)(q * q);
    int n_loop = 0;
    while ((float)n_loop < q)
        n_loop++;
    const int n_grid = (int)((double)q + 0.5);
    if (n_loop * n_loop != n_rows || n_grid != n_loop)
        return au_error_set(err, AU_ERR_ARG, "KDE table: window %d gives an inconsistent grid (%d rows, %d x %d loop)",
                            window, n_rows, n_loop, n_loop);

    const size_t row_len = (size_t)window * (size_t)window;
    float *v = malloc((size_t)n_rows * row_len * sizeof(float));
    if (!v)
        return au_error_set(err, AU_ERR_NOMEM, "KDE table: out of memory for window %d", window);

    float *it = v;
    for (int x = 0; x < n_loop; x++) {
        const float dx = (float)x * step;
        for (int y = 0; y < n_loop; y++) {
            const float dy = (float)y * step;
            for (int ii = 0; ii < window; ii++) {
                const float di = dy - (float)ii;
                const float vx = di * di;
                for (int jj = 0; jj < window; jj++) {
                    const float dj = dx - (float)jj;
                    const float vy = dj * dj;
                    /* exp(float) in OpenFace's file is ::exp(double) */
                    *it++ = (float)exp((double)(a * (vx + vy)));
                }
            }
        }
    }
    t->window = window;
    t->a = a;
    t->n_grid = n_grid;
    t->n_rows = n_rows;
    t->values = v;
    return AU_OK;
}

void au_kde_table_free(AuKdeTable *t)
{
    if (!t)
        return;
    free(t->values);
    memset(t, 0, sizeof(*t));
}

const float *au_kde_table_row(const AuKdeTable *t, float *dx, float *dy)
{
    const float step = AU_KDE_STEP;
    const float hi = (float)t->window - step;
    float x = *dx, y = *dy;
    if (x < 0)
        x = 0;
    if (y < 0)
        y = 0;
    if (x > hi)
        x = hi;
    if (y > hi)
        y = hi;
    /* NaN positions (never produced by a sane fit) fall through the compares;
     * map them to the grid origin instead of indexing out of bounds. */
    if (!(x == x))
        x = 0;
    if (!(y == y))
        y = 0;
    *dx = x;
    *dy = y;
    const int col = (int)((double)(y / step) + 0.5);
    const int row = (int)((double)(x / step) + 0.5);
    return t->values + ((size_t)row * (size_t)t->n_grid + (size_t)col) * (size_t)t->window * (size_t)t->window;
}

void au_mean_shift_kernel_c(const float *response, const float *kde_row, int window, float dx, float dy,
                            float out[2])
{
    float mx = 0.0f, my = 0.0f, sum = 0.0f;
    const float *p = response;
    const float *k = kde_row;
    for (int ii = 0; ii < window; ii++) {
        for (int jj = 0; jj < window; jj++) {
            const float v = (*p++) * (*k++);
            sum += v;
            mx += v * (float)jj;
            my += v * (float)ii;
        }
    }
    out[0] = mx / sum - dx;
    out[1] = my / sum - dy;
}

void au_mean_shift_kde(const AuKdeTable *t, const float *const *responses, const int *visible, int n,
                       const float *dxs, const float *dys, float *out, AuMeanShiftKernel kernel)
{
    if (!kernel)
        kernel = au_mean_shift_kernel_c;
    for (int i = 0; i < n; i++) {
        if (!visible[i]) {
            out[i] = 0.0f;
            out[i + n] = 0.0f;
            continue;
        }
        float dx = dxs[i], dy = dys[i];
        const float *row = au_kde_table_row(t, &dx, &dy);
        float ms[2];
        kernel(responses[i], row, t->window, dx, dy, ms);
        out[i] = ms[0];
        out[i + n] = ms[1];
    }
}

float au_kde_likelihood(const float *response, int window, float dx, float dy, float sigma)
{
    const float sigma_sq = sigma * sigma;
    float sum = 0.0f;
    const float *p = response;
    for (int ii = 0; ii < window; ii++) {
        const float di = dy - (float)ii;
        const float vx = di * di;
        for (int jj = 0; jj < window; jj++) {
            const float dj = dx - (float)jj;
            const float vy = dj * dj;
            float v = *p++;
            v = (float)((double)v * exp(-0.5 * (double)(vx + vy) / (double)sigma_sq));
            sum += v;
        }
    }
    return sum;
}
