/* The DSP function table: the hot inner kernels of the pipeline behind
 * function pointers, in the manner of dav1d's and FFmpeg's DSP contexts.
 *
 * au_dsp_init_c fills every member with the portable C reference. SIMD
 * versions are added later by overriding members after a CPU check; each must
 * give the same results as its C reference (tests/checkdsp compares them) to
 * the precision stated on the member. Kernels take plain pointers and sizes,
 * allocate nothing and keep no state, so one table is shared read-only by all
 * threads.
 *
 * To add a kernel (FHOG cells, SVR dot products, mean-shift KDE, ...): add a
 * member in the group of its stage below, write its C reference in dsp.c,
 * assign it in au_dsp_init_c, and document the data layout and the
 * arithmetic (float vs double, order of operations) that OpenFace uses, so
 * that SIMD versions know what they must preserve. */
#ifndef AU_DSP_H
#define AU_DSP_H

#include <stddef.h>

typedef struct AuDsp {
    /* ---- CCNF patch experts (CCNF_patch_expert::ResponseOpenBlas) ---- */

    /* OpenFace's im2colContrastNormBias, written transposed, i.e. straight
     * into the (1 + patch_w*patch_h) x n_pos matrix that ResponseOpenBlas
     * hands to sgemm (n_pos = resp_w * resp_h):
     *   dst[0 * n_pos + p]                     = 1 (the bias input)
     *   dst[(1 + xx*patch_h + yy) * n_pos + p] = normalised src[(y+yy)*src_stride + x+xx]
     * for the patch at response position (x, y), p = x * resp_h + y (positions
     * are x-major, as OpenFace's im2col rows). src is the
     * (resp_h + patch_h - 1) x (resp_w + patch_w - 1) AOI; scratch holds at
     * least as many floats (the kernel's own use, e.g. a transposed copy).
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
     * exp() (keep it within a few float ulps of resp). */
    void (*ccnf_sigmoid_acc)(float *resp, const float *pre, int n, double two_alpha);
} AuDsp;

/* Fills every member with the C reference implementation. */
void au_dsp_init_c(AuDsp *dsp);

#endif
