/* The DSP function table: the hot inner kernels of the pipeline behind
 * function pointers, in the manner of dav1d's and FFmpeg's DSP contexts.
 *
 * au_dsp_init_c fills every member with the portable C reference;
 * au_dsp_init does the same and then overrides members with the SIMD versions
 * the given CPU flags allow (au_cpu_flags in cpu.h; one file per ISA:
 * dsp_avx2.c). Each SIMD version gives the same results as its C reference
 * to the precision stated on the member (bit for bit unless a tolerance is
 * stated); tests/test_checkdsp.c compares every one of them. Kernels take
 * plain pointers and sizes, allocate nothing and keep no state, so one table
 * is shared read-only by all threads.
 *
 * To add a kernel (mean-shift KDE, ...): add a member in the group of its
 * stage below, write its C reference in dsp.c, assign it in au_dsp_init_c,
 * and document the data layout and the arithmetic (float vs double, order of
 * operations) that OpenFace uses, so that SIMD versions know what they must
 * preserve; add its check to tests/test_checkdsp.c. */
#ifndef AU_DSP_H
#define AU_DSP_H

#include <stddef.h>
#include <stdint.h>

#include "fhog.h"

typedef struct AuDsp {
    /* ---- CCNF patch experts (CCNF_patch_expert::ResponseOpenBlas) ---- */

    /* OpenFace's im2colContrastNormBias, written transposed, i.e. straight
     * into the (1 + patch_w*patch_h) x n_pos matrix that ResponseOpenBlas
     * hands to sgemm (n_pos = resp_w * resp_h):
     *   dst[0 * n_pos + p]                     = 1 (the bias input)
     *   dst[(1 + xx*patch_h + yy) * n_pos + p] = normalised src[(y+yy)*src_stride + x+xx]
     * for the patch at response position (x, y), p = x * resp_h + y (positions
     * are x-major, as OpenFace's im2col rows). src is the
     * (resp_h + patch_h - 1) x (resp_w + patch_w - 1) AOI; scratch holds
     * au_dsp_ccnf_scratch_floats(patch_w, patch_h, resp_w, resp_h) floats
     * (the kernel's own use: copies of the AOI laid out for its loops).
     * Normalisation per position, in float as OpenFace: sum over the patch
     * row by row (yy outer, xx inner); mean = sum / (float)(patch_w*patch_h);
     * sum of the squares of the centred pixels in dst row order (column-major
     * patch order); norm = sqrtf(sum_sq), 1 if 0; output (pixel - mean) *
     * (float)(1.0 / norm) (the reciprocal in double). SIMD versions must be
     * bit-exact: vectorise across positions, never across the patch (that
     * would reorder the float sums), and do not fuse multiply-adds. */
    void (*ccnf_im2col_norm)(float *dst, float *scratch, const float *src, ptrdiff_t src_stride, int patch_w,
                             int patch_h, int resp_w, int resp_h);

    /* One neuron's share of the CCNF response: for p < n,
     *   resp[p] = (float)((double)resp[p] + two_alpha / (1.0 + exp(-(double)pre[p])))
     * where pre is the neuron's row of the sgemm output (bias and
     * norm_weights already folded into the weights) and two_alpha = 2.0 *
     * alpha in double, as ResponseOpenBlas does (double sigmoid, float
     * accumulator). The double exp is what makes the result bit-identical
     * to OpenFace's: expf instead changes 98% of the reference maps (by up to
     * 2.4e-7 of the peak). SIMD versions may differ by the error of their
     * exp(): tests/test_checkdsp.c allows 1 float ulp of resp. (The AVX2+FMA
     * version's exp is within 1 double ulp of glibc's, so its results are
     * identical unless a double sum falls within that of a float rounding
     * boundary: none did in checkdsp or in the 2120 reference maps.) */
    void (*ccnf_sigmoid_acc)(float *resp, const float *pre, int n, double two_alpha);

    /* ---- FHOG (dlib's extract_fhog_features) ---- */

    /* Gradient, orientation bin and magnitude of one row of pixels: the
     * AuFhogRowFn contract in fhog.h (identical bins and magnitudes). An
     * AuFhog context starts with au_fhog_row_c; set ctx.row_fn = dsp->fhog_row
     * after au_fhog_init to use the table's. */
    AuFhogRowFn fhog_row;

    /* ---- AU prediction (SVR / SVM: (x - means [- median]) . weights) ---- */

    /* The row vector x (n) times the n x m matrix w (rows w_stride doubles
     * apart), in double, as OpenCV 4.6's cv::gemm computes it for
     * SVR_*_lin_regressors::Predict's (x - means) * support_vectors (a 1 x n
     * row, n <= 10000: GEMMSingleMul): out[j] = sum over k < n of
     * x[k] * w[k * w_stride + j], one sequential sum per output in
     * increasing k, every product rounded before its add (no fused
     * multiply-add), starting from 0. OpenFace then adds the bias in one
     * more rounding (out[j] * 1 + bias * 1). This reproduces OpenFace's AU
     * scores bit for bit (tests/test_checkdsp.c checks au_online.csv); SIMD
     * versions are bit-exact too, vectorising across outputs j. w is
     * OpenFace's support_vectors layout: feature-major, one column per
     * model. (For a one-column matrix, m = 1, OpenCV takes another path,
     * four interleaved partial sums added as ((s0 + s1) + s2) + s3, which
     * this does not reproduce; the shipped model sets have 6 to 18 models
     * per group.) */
    void (*vecmat_f64)(double *out, const double *x, const double *w, ptrdiff_t w_stride, int n, int m);

    /* ---- image conversion (frame -> CLNF input) ---- */

    /* n BGR pixels to gray as OpenCV 4.6's cv::cvtColor(COLOR_BGR2GRAY) on 8
     * bits: (3735 B + 19235 G + 9798 R + 16384) >> 15 (integers: SIMD
     * versions are exact). */
    void (*bgr_to_gray_u8)(uint8_t *gray, const uint8_t *bgr, int n);
    /* n 8-bit values to float (exact), as Mat::convertTo(CV_32F). */
    void (*u8_to_f32)(float *dst, const uint8_t *src, int n);
} AuDsp;

/* Floats of scratch ccnf_im2col_norm needs (any version): the AOI, and
 * patch_h copies of its rows as (resp_w + patch_w - 1) x resp_h blocks plus
 * 8 floats, in which SIMD versions read every patch pixel of 8 consecutive
 * positions as one contiguous vector. Increases with each argument, so the
 * largest sizes give a buffer for all smaller ones. */
size_t au_dsp_ccnf_scratch_floats(int patch_w, int patch_h, int resp_w, int resp_h);

/* Fills every member with the C reference implementation. */
void au_dsp_init_c(AuDsp *dsp);

/* The C references, then the SIMD versions cpu_flags (AuCpuFlag bits from
 * au_cpu_flags) allow, on x86-64 builds with GCC or clang. */
void au_dsp_init(AuDsp *dsp, unsigned cpu_flags);

#endif
