#include "dsp.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "dsp_avx2.h"
#include "imgproc.h"
#include "linalg.h"
#include "mean_shift.h"

/* The float arithmetic below must not be contracted into fused multiply-adds:
 * OpenFace's build (-O3 -msse3) has none. GCC does not contract in ISO C mode
 * (-std=c11, the project's setting), and no compiler does without FMA in the
 * target ISA; the pragmas keep it so under a variant's -march=native
 * -ffp-contract=fast (except clang's -ffp-contract=fast, which ignores
 * them), as in fhog.c. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

/* Positions of one column of the response normalised together: their
 * running sums live in arrays of this size, and the inner loops run across
 * them (contiguous in both the transposed AOI and dst), which the compiler
 * may vectorise without changing any float result. */
#define IM2COL_BLOCK 64

static void ccnf_im2col_norm_c(float *restrict dst, float *restrict scratch, const float *restrict src,
                               ptrdiff_t src_stride, int patch_w, int patch_h, int resp_w, int resp_h)
{
    const ptrdiff_t n_pos = (ptrdiff_t)resp_w * resp_h;
    const int n_patch = patch_w * patch_h;
    const int aoi_w = resp_w + patch_w - 1, aoi_h = resp_h + patch_h - 1;
    const float count = (float)n_patch;
    float sum[IM2COL_BLOCK], sum_sq[IM2COL_BLOCK], mean[IM2COL_BLOCK], scale[IM2COL_BLOCK];

    /* the AOI transposed: pixel (column u, row v) at at[u * aoi_h + v], so that
     * the pixels a patch row contributes to a column of positions are contiguous */
    float *at = scratch;
    for (int v = 0; v < aoi_h; v++)
        for (int u = 0; u < aoi_w; u++)
            at[(ptrdiff_t)u * aoi_h + v] = src[(ptrdiff_t)v * src_stride + u];

    for (ptrdiff_t p = 0; p < n_pos; p++)
        dst[p] = 1.0f;
    for (int x = 0; x < resp_w; x++)
        for (int y0 = 0; y0 < resp_h; y0 += IM2COL_BLOCK) {
            /* positions (x, y0 + j), j < nb: dst columns x * resp_h + y0 + j */
            const int nb = resp_h - y0 < IM2COL_BLOCK ? resp_h - y0 : IM2COL_BLOCK;
            /* pixel (xx, yy) of the patch at (x, y0 + j) is patch_px(xx, yy)[j] */
#define patch_px(xx, yy) (at + (ptrdiff_t)(x + (xx)) * aoi_h + (yy) + y0)
            for (int j = 0; j < nb; j++)
                sum[j] = 0.0f;
            /* sum over the patch row by row (yy outer), as OpenFace */
            for (int yy = 0; yy < patch_h; yy++)
                for (int xx = 0; xx < patch_w; xx++) {
                    const float *s = patch_px(xx, yy);
                    for (int j = 0; j < nb; j++)
                        sum[j] += s[j];
                }
            for (int j = 0; j < nb; j++) {
                mean[j] = sum[j] / count;
                sum_sq[j] = 0.0f;
            }
            /* squares of the centred pixels in im2col order (column by column) */
            for (int xx = 0; xx < patch_w; xx++)
                for (int yy = 0; yy < patch_h; yy++) {
                    const float *s = patch_px(xx, yy);
                    for (int j = 0; j < nb; j++) {
                        float v = s[j] - mean[j];
                        sum_sq[j] += v * v;
                    }
                }
            for (int j = 0; j < nb; j++) {
                float norm = sqrtf(sum_sq[j]);
                if (norm == 0.0f)
                    norm = 1.0f;
                scale[j] = (float)(1.0 / norm); /* OpenFace: norm = 1.0 / norm, a double division */
            }
            /* OpenFace stores the centred pixel, then scales it: same floats */
            float *d = dst + n_pos + (ptrdiff_t)x * resp_h + y0;
            for (int xx = 0; xx < patch_w; xx++)
                for (int yy = 0; yy < patch_h; yy++, d += n_pos) {
                    const float *s = patch_px(xx, yy);
                    for (int j = 0; j < nb; j++)
                        d[j] = (s[j] - mean[j]) * scale[j];
                }
#undef patch_px
        }
}

static void ccnf_sigmoid_acc_c(float *resp, const float *pre, int n, double two_alpha)
{
    for (int p = 0; p < n; p++)
        resp[p] = (float)((double)resp[p] + two_alpha / (1.0 + exp(-(double)pre[p])));
}

/* ResponseOpenBlas's steps 1-3 with the given table's im2col and sigmoid. */
static void ccnf_neurons_c(float *acc, const AuCcnfNeuronArgs *a)
{
    const int n_pos = a->resp_w * a->resp_h, k = 1 + a->patch_w * a->patch_h;
    a->dsp->ccnf_im2col_norm(a->im2col, a->scratch, a->src, a->src_stride, a->patch_w, a->patch_h, a->resp_w,
                             a->resp_h);
    /* pre(n_neurons x n_pos) = weight_matrix(n_neurons x k) * im2col(k x n_pos),
     * as ResponseOpenBlas calls sgemm_: column-major M = n_pos, N = n_neurons,
     * K = k, A = the transposed im2col (lda n_pos), B = weight_matrix (ldb k). */
    cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n_pos, a->n_neurons, k, 1.0f, a->im2col, n_pos,
                a->weights, k, 0.0f, a->pre, n_pos);
    memset(acc, 0, (size_t)n_pos * sizeof(float));
    for (int i = 0; i < a->n_neurons; i++)
        if (a->two_alpha[i] != 0.0)
            a->dsp->ccnf_sigmoid_acc(acc, a->pre + (size_t)i * (size_t)n_pos, n_pos, a->two_alpha[i]);
}

static void ccnf_sigma_matvec_c(float *out, const float *vec, const float *sigma, int n)
{
    /* as ResponseOpenBlas calls sgemm_: column-major M = 1, N = K = n,
     * A = vec (lda 1), B = Sigma (ldb n) */
    cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, 1, n, n, 1.0f, vec, 1, sigma, n, 0.0f, out, 1);
}

static AuStatus warp_affine_gray_f32_c(const AuImageU8 *src, AuImageF32 *dst, const double M[6], AuError *err)
{
    return au_warp_affine_gray_f32(src, dst, M, AU_WARP_INVERSE_MAP, err);
}

static AuStatus warp_affine_f32_c(const AuImageF32 *src, AuImageF32 *dst, const double M[6], AuError *err)
{
    return au_warp_affine_f32(src, dst, M, AU_WARP_INVERSE_MAP, err);
}

static void gn_hessian_c(float *H, const float *J, const float *Jwt, int np, int n2)
{
    /* OpenFace's sgemm_ call in NU_RLMS, in the column-major view */
    cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, np, np, n2, 1.0f, J, np, Jwt, n2, 1.0f, H, np);
}

static void gn_rhs_c(float *rhs, const float *Jwt, const float *v, int np, int n2)
{
    au_cv_gemv_f32(Jwt, np, n2, n2, v, 1.0, NULL, 0.0, rhs);
}

static int chol_solve_c(const float *A, int n, const float *b, float *x, float *L)
{
    return au_cv_solve_cholesky_f32(A, n, b, x, L);
}

static void vecmat_f64_c(double *out, const double *x, const double *w, ptrdiff_t w_stride, int n, int m)
{
    /* four outputs at a time, as OpenCV's loop: independent sums, each in k order */
    int j = 0;
    for (; j + 4 <= m; j += 4) {
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        const double *wk = w + j;
        for (int k = 0; k < n; k++, wk += w_stride) {
            const double a = x[k];
            s0 += a * wk[0];
            s1 += a * wk[1];
            s2 += a * wk[2];
            s3 += a * wk[3];
        }
        out[j] = s0;
        out[j + 1] = s1;
        out[j + 2] = s2;
        out[j + 3] = s3;
    }
    for (; j < m; j++) {
        double s0 = 0;
        const double *wk = w + j;
        for (int k = 0; k < n; k++, wk += w_stride)
            s0 += x[k] * wk[0];
        out[j] = s0;
    }
}

static void bgr_to_gray_u8_c(uint8_t *gray, const uint8_t *bgr, int n)
{
    for (int i = 0; i < n; i++, bgr += 3)
        gray[i] = (uint8_t)((bgr[0] * 3735 + bgr[1] * 19235 + bgr[2] * 9798 + (1 << 14)) >> 15);
}

static inline uint8_t sat_u8(int v)
{
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

void au_yuv420_to_bgr_gray_u8_c(uint8_t *bgr, uint8_t *gray, const uint8_t *y, const uint8_t *u,
                                 const uint8_t *v, int n)
{
    uint8_t *px = bgr;
    for (int i = 0; i < n; i++, px += 3) {
        /* >> of a negative int is arithmetic with GCC and Clang (pmulhw's floor) */
        const int yt = ((8 * y[i] - 128) * 9539) >> 16;
        const int ut = 8 * u[i >> 1] - 1024, vt = 8 * v[i >> 1] - 1024;
        const int b = sat_u8(yt + ((ut * 16525) >> 16));
        const int g = sat_u8(yt + ((ut * -3209) >> 16) + ((vt * -6660) >> 16));
        const int r = sat_u8(yt + ((vt * 13075) >> 16));
        px[0] = (uint8_t)b;
        px[1] = (uint8_t)g;
        px[2] = (uint8_t)r;
    }
    bgr_to_gray_u8_c(gray, bgr, n);
}

static void u8_to_f32_c(float *dst, const uint8_t *src, int n)
{
    for (int i = 0; i < n; i++)
        dst[i] = (float)src[i];
}

size_t au_dsp_ccnf_scratch_floats(int patch_w, int patch_h, int resp_w, int resp_h)
{
    const size_t aoi_w = (size_t)resp_w + (size_t)patch_w - 1, aoi_h = (size_t)resp_h + (size_t)patch_h - 1;
    /* ccnf_im2col_norm: at, blk and padding; ccnf_neurons (fast): the shifted
     * rows (patch_w x aoi_h * resp_w + 32), two rows of doubles (2 x 2 x
     * (aoi_h * resp_w + 8)) and three n_pos + 40 float vectors, plus 8 for
     * the alignment of the doubles */
    const size_t n_pos = (size_t)resp_w * (size_t)resp_h, sh_n = aoi_h * (size_t)resp_w;
    const size_t im2col = aoi_w * aoi_h + (size_t)patch_h * aoi_w * (size_t)resp_h + 8;
    const size_t neurons = (size_t)patch_w * sh_n + 32 + 8 + 4 * (sh_n + 8) + 3 * (n_pos + 40);
    return im2col > neurons ? im2col : neurons;
}

static void vecmat_f64_w32_c(double *out, const double *x, const float *w, ptrdiff_t w_stride, int n, int m)
{
    for (int j = 0; j < m; j++) {
        double s = 0;
        for (int k = 0; k < n; k++)
            s += x[k] * (double)w[(ptrdiff_t)k * w_stride + j];
        out[j] = s;
    }
}

void au_dsp_init_c(AuDsp *dsp)
{
    dsp->ccnf_im2col_norm = ccnf_im2col_norm_c;
    dsp->ccnf_sigmoid_acc = ccnf_sigmoid_acc_c;
    dsp->ccnf_neurons = ccnf_neurons_c;
    dsp->ccnf_sigma_matvec = ccnf_sigma_matvec_c;
    dsp->warp_affine_f32 = warp_affine_f32_c;
    dsp->warp_affine_gray_f32 = warp_affine_gray_f32_c;
    dsp->mean_shift = au_mean_shift_kernel_c;
    dsp->gn_hessian = gn_hessian_c;
    dsp->gn_rhs = gn_rhs_c;
    dsp->chol_solve = chol_solve_c;
    dsp->fhog_row = au_fhog_row_c;
    dsp->vecmat_f64 = vecmat_f64_c;
    dsp->vecmat_f64_w32 = vecmat_f64_w32_c;
    dsp->bgr_to_gray_u8 = bgr_to_gray_u8_c;
    dsp->yuv420_to_bgr_gray_u8 = au_yuv420_to_bgr_gray_u8_c;
    dsp->u8_to_f32 = u8_to_f32_c;
    dsp->warp_affine_u8 = au_warp_affine_u8;
}

void au_dsp_init(AuDsp *dsp, unsigned cpu_flags)
{
    au_dsp_init_c(dsp);
#if AU_DSP_HAVE_AVX2
    au_dsp_init_avx2(dsp, cpu_flags);
#else
    (void)cpu_flags;
#endif
}

void au_dsp_init_fast(AuDsp *dsp, unsigned cpu_flags)
{
    au_dsp_init(dsp, cpu_flags);
#if AU_DSP_HAVE_AVX2
    au_dsp_init_avx2_fast(dsp, cpu_flags);
#endif
}
