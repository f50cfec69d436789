/* The KDE mean shift of OpenFace's CLNF (CLNF::NonVectorisedMeanShift_precalc_kde)
 * and the landmark likelihood of CLNF::NU_RLMS.
 *
 * For a landmark at (dx, dy) inside its window x window patch-expert response
 * R (reference-frame pixels; (0,0) = top-left response cell), the mean shift is
 *   ms = sum_ij R[i][j] K(i,j) (j, i) / sum_ij R[i][j] K(i,j) - (dx, dy),
 *   K(i,j) = exp(a ((dy - i)^2 + (dx - j)^2)),  a = -0.5 / sigma^2.
 * OpenFace does not evaluate K at (dx, dy): it tabulates K on a 0.1-pixel grid
 * per window size (kde_resp_precalc) and uses the row of the nearest grid
 * point. This module does the same, with OpenFace's float arithmetic:
 *   - the table is built for the first sigma a window size is used with, and
 *     OpenFace keeps it for the model's lifetime whatever sigma later calls
 *     pass (the cache is keyed by window size only). Its models use each
 *     window size with a single sigma, so this never matters there; callers
 *     that want OpenFace's behaviour build one table per window size once.
 *   - the table's exp is the double exp of the float argument, rounded to
 *     float: OpenFace's exp(float) resolves to ::exp(double) there (expf
 *     differs from OpenFace's dumps in 4 of 50,000 values; double exp matches
 *     all of them bit for bit).
 *   - accumulation is sequential in float, row by row (GCC does not reorder
 *     float reductions without -ffast-math), so results are bit-identical.
 *
 * The per-landmark loop is a hot kernel; AuMeanShiftKernel is its clean C
 * reference signature (a DSP-table candidate). */
#ifndef AU_MEAN_SHIFT_H
#define AU_MEAN_SHIFT_H

#include "error.h"

/* OpenFace's grid step of the KDE table (float step_size = 0.1). */
#define AU_KDE_STEP 0.1f

/* The precalculated KDE for one response window size. */
typedef struct AuKdeTable {
    int window;   /* response window size (resp_size) */
    float a;      /* -0.5 / sigma^2 the table was built with */
    int n_grid;   /* grid points per axis used for indexing: (int)(window / 0.1f + 0.5) */
    int n_rows;   /* rows: (int)((window / 0.1f)^2) as OpenFace allocates them */
    float *values; /* n_rows x window^2; row (x * n_grid + y) holds K for dx = x*0.1f, dy = y*0.1f */
} AuKdeTable;

/* Builds the table for window and a (OpenFace's float a = -0.5/(sigma*sigma)).
 * t need not be initialised; on failure it is left zeroed. */
AuStatus au_kde_table_build(AuKdeTable *t, int window, float a, AuError *err);
/* Frees a built or zeroed table; leaves it zeroed. */
void au_kde_table_free(AuKdeTable *t);

/* OpenFace's float a for a sigma: -0.5 / (sigma * sigma) computed in double
 * from the float square, stored as float. */
float au_kde_a_from_sigma(float sigma);

/* The table row OpenFace uses for a landmark at (*dx, *dy): clamps dx and dy
 * to [0, window - 0.1f] in place (the clamped values enter the mean shift) and
 * returns the row of the nearest grid point. */
const float *au_kde_table_row(const AuKdeTable *t, float *dx, float *dy);

/* The mean shift of one landmark: response and kde_row are window x window
 * (row-major, row = y), (dx, dy) the clamped position. out[0] = x shift,
 * out[1] = y shift, in reference-frame pixels. C reference of the hot kernel. */
typedef void (*AuMeanShiftKernel)(const float *response, const float *kde_row, int window, float dx, float dy,
                                  float out[2]);
void au_mean_shift_kernel_c(const float *response, const float *kde_row, int window, float dx, float dy,
                            float out[2]);

/* NonVectorisedMeanShift_precalc_kde for n landmarks. responses[i] is landmark
 * i's window x window response (ignored when visible[i] == 0); dxs, dys the
 * positions; out (2n): x shifts then y shifts, 0 for invisible landmarks.
 * kernel NULL = au_mean_shift_kernel_c. */
void au_mean_shift_kde(const AuKdeTable *t, const float *const *responses, const int *visible, int n,
                       const float *dxs, const float *dys, float *out, AuMeanShiftKernel kernel);

/* The landmark likelihood of CLNF::NU_RLMS (compute_lhood): sum_ij R[i][j] *
 * exp(-0.5 ((dy-i)^2 + (dx-j)^2) / sigma^2), the exponential in double and the
 * product and sum in float, at the unclamped (dx, dy), without the table. */
float au_kde_likelihood(const float *response, int window, float dx, float dy, float sigma);

#endif
