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
 * To add a kernel: add a member in the group of its
 * stage below, write its C reference in dsp.c, assign it in au_dsp_init_c,
 * and document the data layout and the arithmetic (float vs double, order of
 * operations) that OpenFace uses, so that SIMD versions know what they must
 * preserve; add its check to tests/test_checkdsp.c. */
#ifndef AU_DSP_H
#define AU_DSP_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "fhog.h"
#include "image.h"

typedef struct AuDsp AuDsp;

/* Arguments of ccnf_neurons: one CCNF expert on one area of interest. */
typedef struct AuCcnfNeuronArgs {
    const float *src;      /* the AOI: (resp_h + patch_h - 1) x (resp_w + patch_w - 1) floats */
    ptrdiff_t src_stride;  /* floats between AOI rows */
    int patch_w, patch_h;  /* the expert's support */
    int resp_w, resp_h;    /* response positions */
    const float *weights;  /* n_neurons x (1 + patch_w*patch_h): OpenFace's weight_matrix (bias, then
                            * the norm-weighted weights in im2col order, xx * patch_h + yy) */
    const double *two_alpha; /* n_neurons: 2 alpha of each neuron, 0 for a neuron OpenFace skips */
    int n_neurons;
    /* work space: im2col (1 + patch_w*patch_h) x n_pos, pre n_neurons x n_pos,
     * scratch au_dsp_ccnf_scratch_floats (all 64-byte aligned) */
    float *im2col, *pre, *scratch;
    /* the table whose ccnf_im2col_norm and ccnf_sigmoid_acc the C reference composes */
    const AuDsp *dsp;
} AuCcnfNeuronArgs;

struct AuDsp {
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

    /* Steps 1-3 of the CCNF response (ccnf_response.h) for one expert:
     * acc[p] = sum over the neurons i with two_alpha[i] != 0, in order, of
     * two_alpha[i] / (1 + exp(-(weights_i . [1, normalised patch at p]))),
     * positions x-major (p = x * resp_h + y) as OpenFace's im2col. The C
     * reference is OpenFace's ResponseOpenBlas: a->dsp->ccnf_im2col_norm,
     * OpenBLAS sgemm with OpenFace's arguments, a->dsp->ccnf_sigmoid_acc per
     * neuron (bit-exact with the C table). Fast versions (au_dsp_init_fast)
     * skip the im2col: with the AOI centred on one of its pixels, w . (x -
     * mean) / norm = (w . x - mean * sum(w)) / norm, the patch sums of x and
     * x^2 from separable box sums in double, w . x as one correlation per
     * neuron with FMA, and the sigmoid in float with a polynomial exp.
     * Tolerance: |acc - acc_ref| <= 2e-5 * sum of two_alpha (checkdsp). */
    void (*ccnf_neurons)(float *acc, const AuCcnfNeuronArgs *a);

    /* Step 4, the CCNF edge potentials: out[j] = sum over i < n of
     * sigma[j * n + i] * vec[i] (the n x n Sigma, row-major, times vec;
     * Sigma is symmetric, so this is also OpenFace's vec^T Sigma). C
     * reference: OpenBLAS sgemm with ResponseOpenBlas's arguments (which read
     * Sigma column-major). Fast versions: FMA dot products, |out - out_ref|
     * <= 1e-5 * sum over i of |sigma[j * n + i] * vec[i]| (checkdsp). */
    void (*ccnf_sigma_matvec)(float *out, const float *vec, const float *sigma, int n);

    /* ---- CLNF fitting ---- */

    /* The area of interest of one landmark: cv::warpAffine(src, dst, M,
     * dst size, WARP_INVERSE_MAP | INTER_LINEAR) with a constant 0 border,
     * M the 2x3 map from dst to src pixels. C reference:
     * au_warp_affine_f32 (OpenCV's fixed-point coordinates and 1/32
     * interpolation table, bit-exact). SIMD versions are bit-exact too. */
    AuStatus (*warp_affine_f32)(const AuImageF32 *src, AuImageF32 *dst, const double M[6], AuError *err);
    /* The same area of interest sampled from the 8-bit gray image itself
     * (au_warp_affine_gray_f32): identical values, without a float copy
     * of the frame (the CLNF of the fast variants uses it). */
    AuStatus (*warp_affine_gray_f32)(const AuImageU8 *src, AuImageF32 *dst, const double M[6], AuError *err);

    /* The KDE mean shift of one landmark: AuMeanShiftKernel of
     * mean_shift.h (sums in float, row by row). Fast versions sum in
     * another order: |out - out_ref| <= 1e-4 pixels (checkdsp). */
    void (*mean_shift)(const float *response, const float *kde_row, int window, float dx, float dy, float out[2]);

    /* The Gauss-Newton Hessian of NU-RLMS: H (np x np, row-major) +=
     * J^T (W J), J the 2n x np Jacobian and Jwt = (W J)^T (np x 2n), both
     * row-major. C reference: OpenBLAS sgemm with OpenFace's arguments. Fast
     * versions (W diagonal, so H symmetric) compute the upper triangle with
     * FMA and mirror it: |H - H_ref| <= 1e-5 * sum over k of |J[k][i] *
     * Jwt[j][k]| (checkdsp). */
    void (*gn_hessian)(float *H, const float *J, const float *Jwt, int np, int n2);

    /* The Gauss-Newton right-hand side rhs = Jwt v (np rows of 2n). C
     * reference: au_cv_gemv_f32 (OpenCV's gemm kernel, double sums). Fast
     * versions: float FMA, |rhs - rhs_ref| <= 1e-5 * sum over k of |Jwt[i][k]
     * v[k]| (checkdsp). */
    void (*gn_rhs)(float *rhs, const float *Jwt, const float *v, int np, int n2);

    /* Solves A x = b for the symmetric positive definite n x n A (row-major)
     * by Cholesky; L is n x n scratch. Returns 0 (x = 0) when A is not
     * positive definite. C reference: au_cv_solve_cholesky_f32 (OpenCV's
     * cv::solve(DECOMP_CHOLESKY)). Fast versions: float FMA dot products,
     * |x - x_ref| <= 1e-4 * (|x_ref|_max + 1e-3) on well-conditioned systems
     * (checkdsp). */
    int (*chol_solve)(const float *A, int n, const float *b, float *x, float *L);

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
    /* vecmat_f64 with the weights stored as float, sums in double: the AU
     * models' weights are the largest read of every frame (4702 features x
     * 35 models, 1.3 MB in double) and float halves it. Not OpenFace's
     * arithmetic (the weights' float rounding, 6e-8 relative): only the
     * fast variants' predictor uses it (au_predictor_use_dsp). The C version
     * is the plain loop; the SIMD one (fast table) adds FMA. */
    void (*vecmat_f64_w32)(double *out, const double *x, const float *w, ptrdiff_t w_stride, int n, int m);

    /* ---- image conversion (frame -> CLNF input) ---- */

    /* n BGR pixels to gray as OpenCV 4.6's cv::cvtColor(COLOR_BGR2GRAY) on 8
     * bits: (3735 B + 19235 G + 9798 R + 16384) >> 15 (integers: SIMD
     * versions are exact). */
    void (*bgr_to_gray_u8)(uint8_t *gray, const uint8_t *bgr, int n);
    /* One row of n pixels of a limited-range BT.601 YUV 4:2:0 frame (y: n
     * bytes, u and v: (n + 1) / 2 bytes, pixel x takes chroma x / 2) to BGR24
     * and gray in one pass: the BGR bytes of FFmpeg 5.1's unscaled SSSE3
     * converter (the one OpenCV's sws_scale call reaches for YUV420P with
     * an even height), then bgr_to_gray_u8's gray. Its arithmetic, in 16-bit
     * lanes as the SSSE3 code (pmulhw = (a * b) >> 16, rounding down):
     *   yt = ((8 Y - 128) * 9539) >> 16,  ut = 8 U - 1024,  vt = 8 V - 1024
     *   B = sat(yt + ((ut * 16525) >> 16))
     *   G = sat(yt + ((ut * -3209) >> 16) + ((vt * -6660) >> 16))
     *   R = sat(yt + ((vt * 13075) >> 16))
     * with swscale's default coefficients (ff_yuv2rgb_c_init_tables: 255/219
     * luma gain, ITU-R 601 chroma, 13-bit fixed point). The caller (video.c)
     * compares it with swscale's output once per conversion context and
     * falls back to swscale if they differ anywhere. Integers: exact. */
    void (*yuv420_to_bgr_gray_u8)(uint8_t *bgr, uint8_t *gray, const uint8_t *y, const uint8_t *u, const uint8_t *v,
                                  int n);
    /* n 8-bit values to float (exact), as Mat::convertTo(CV_32F). */
    void (*u8_to_f32)(float *dst, const uint8_t *src, int n);

    /* ---- AU face alignment (AlignFaceMask) ---- */

    /* cv::warpAffine(src, dst, M, dst size, INTER_LINEAR | flags,
     * BORDER_CONSTANT 0) on 8-bit images (the 112x112x3 aligned face from
     * the BGR frame, flags 0): au_warp_affine_u8's contract (imgproc.h),
     * which is the C reference: OpenCV's fixed-point source positions (1/32
     * pixel) and 15-bit integer weights, (sum + 2^14) >> 15. Integer
     * arithmetic throughout: SIMD versions are bit-exact. */
    AuStatus (*warp_affine_u8)(const AuImageU8 *src, AuImageU8 *dst, const double M[6], int flags, AuError *err);
};

/* The C reference of AuDsp.yuv420_to_bgr_gray_u8 (the SIMD versions convert
 * a row's last pixels with it). */
void au_yuv420_to_bgr_gray_u8_c(uint8_t *bgr, uint8_t *gray, const uint8_t *y, const uint8_t *u, const uint8_t *v,
                                int n);

/* Floats of scratch ccnf_im2col_norm and ccnf_neurons need (any version):
 * the AOI, and patch_h copies of its rows as (resp_w + patch_w - 1) x resp_h
 * blocks plus 32 floats, in which SIMD versions read every patch pixel of 8
 * consecutive positions as one contiguous vector, and per-position sums.
 * Increases with each argument, so the largest sizes give a buffer for all
 * smaller ones. */
size_t au_dsp_ccnf_scratch_floats(int patch_w, int patch_h, int resp_w, int resp_h);

/* Fills every member with the C reference implementation. */
void au_dsp_init_c(AuDsp *dsp);

/* The C references, then the SIMD versions cpu_flags (AuCpuFlag bits from
 * au_cpu_flags) allow, on x86-64 builds with GCC or clang: those that are
 * bit-exact, or within 1 float ulp where stated (the CCNF sigmoid's exp). */
void au_dsp_init(AuDsp *dsp, unsigned cpu_flags);

/* au_dsp_init, then the faster versions whose contract above states a
 * tolerance (reordered float sums, FMA, polynomial exp): the simd variant's
 * table (config.h, AU_CFG_SIMD=2). */
void au_dsp_init_fast(AuDsp *dsp, unsigned cpu_flags);

#endif
