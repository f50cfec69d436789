#include "dsp.h"

#include <math.h>

/* The float arithmetic below must not be contracted into fused multiply-adds:
 * OpenFace's build (-O3 -msse3) has none. GCC does not contract in ISO C mode
 * (-std=c11, the project's setting), and no compiler does without FMA in the
 * target ISA; a build that adds -mfma must also pass -ffp-contract=off. */

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

void au_dsp_init_c(AuDsp *dsp)
{
    dsp->ccnf_im2col_norm = ccnf_im2col_norm_c;
    dsp->ccnf_sigmoid_acc = ccnf_sigmoid_acc_c;
}
