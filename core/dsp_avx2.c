/* AVX2 versions of the DSP kernels (see dsp.h for each contract).
 *
 * Every function carries a target attribute instead of the file being built
 * with -mavx2, so the rest of the library stays baseline x86-64 and
 * au_dsp_init_avx2 itself runs on any CPU. Exactness rests on three facts:
 *  - the vector instructions used (add, sub, mul, div, sqrt, conversions
 *    between float, double and int32) round exactly as the scalar C
 *    operations do (IEEE-754, round to nearest even, no flush to zero);
 *  - each lane runs the C reference's sequence of operations for one element
 *    (vectorised across positions / pixels / outputs, never across a sum
 *    the reference performs in order);
 *  - the bit-exact kernels are built for "avx2" without "fma", so the
 *    compiler cannot fuse a multiply into an add, and fp-contract is off for
 *    builds that add -mfma globally. Only ccnf_sigmoid_acc, whose contract
 *    allows its exp() to differ, uses FMA, explicitly. */
#include "dsp_avx2.h"

#if AU_DSP_HAVE_AVX2

#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "cpu.h"
#include "imgproc.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#define AVX2 __attribute__((target("avx2")))
#define AVX2_FMA __attribute__((target("avx2,fma")))

/* lane mask of the first nb (0..8) int32 lanes: load 8 from tail_mask_src + 8 - nb */
static const int32_t tail_mask_src[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

static inline AVX2 __m256i tail_mask(int nb) { return _mm256_loadu_si256((const __m256i *)(tail_mask_src + 8 - nb)); }

/* ---- CCNF im2col with contrast normalisation ---- */

/* Positions p = x * resp_h + y are handled 8 at a time (a vector v covers p
 * = 8v .. 8v + 7, across column boundaries), four vectors at once: each
 * lane's sums are sequential chains (the order the C reference fixes), so it
 * is the four independent chains that keep the adder busy.
 *
 * For that, pixel (xx, yy) of the patches of 8 consecutive positions must be
 * one contiguous vector. It is in blk[yy], the AOI rows yy .. yy + resp_h - 1
 * transposed into aoi_w columns of resp_h: blk[yy][u * resp_h + y] =
 * AOI(u, y + yy), so pixel (xx, yy) of the patch at (x, y) is
 * blk[yy][xx * resp_h + p]. */
#define IM2COL_BATCH 4

typedef struct Im2colVec {
    ptrdiff_t p0; /* first position */
    __m256i mask; /* positions below n_pos */
} Im2colVec;

static inline AVX2 void store_vec(float *p, __m256 v, __m256i mask, int masked)
{
    if (masked)
        _mm256_maskstore_ps(p, mask, v);
    else
        _mm256_storeu_ps(p, v);
}

/* Lane j of vector k runs the C reference's operations for position
 * v[k].p0 + j, in the same order: the sum row by row (yy outer), the mean as
 * one division, the squares column by column (xx outer) with each product
 * rounded before its add, sqrtf, 1 for a zero norm, the reciprocal in
 * double, and the centred pixel times it. Lanes past n_pos compute garbage
 * from the padding and are not stored (masked, constant at each call site,
 * is set for the batch holding the last vector). */
static inline __attribute__((always_inline)) AVX2 void im2col_batch(float *dst, const Im2colVec *v, const float *blk,
                                                                    ptrdiff_t blk_n, ptrdiff_t n_pos, int resp_h,
                                                                    int patch_w, int patch_h, __m256 count, int masked)
{
    __m256 sum[IM2COL_BATCH], mean[IM2COL_BATCH], sum_sq[IM2COL_BATCH], scale[IM2COL_BATCH];
    const float *src[IM2COL_BATCH];
    for (int k = 0; k < IM2COL_BATCH; k++) {
        sum[k] = _mm256_setzero_ps();
        src[k] = blk + v[k].p0;
    }
    for (int yy = 0; yy < patch_h; yy++)
        for (int xx = 0; xx < patch_w; xx++) {
            const ptrdiff_t off = yy * blk_n + (ptrdiff_t)xx * resp_h;
            for (int k = 0; k < IM2COL_BATCH; k++)
                sum[k] = _mm256_add_ps(sum[k], _mm256_loadu_ps(src[k] + off));
        }
    for (int k = 0; k < IM2COL_BATCH; k++) {
        mean[k] = _mm256_div_ps(sum[k], count);
        sum_sq[k] = _mm256_setzero_ps();
    }
    for (int xx = 0; xx < patch_w; xx++)
        for (int yy = 0; yy < patch_h; yy++) {
            const ptrdiff_t off = yy * blk_n + (ptrdiff_t)xx * resp_h;
            for (int k = 0; k < IM2COL_BATCH; k++) {
                const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(src[k] + off), mean[k]);
                sum_sq[k] = _mm256_add_ps(sum_sq[k], _mm256_mul_ps(d, d));
            }
        }
    const __m256 one = _mm256_set1_ps(1.0f);
    const __m256d one_d = _mm256_set1_pd(1.0);
    for (int k = 0; k < IM2COL_BATCH; k++) {
        __m256 norm = _mm256_sqrt_ps(sum_sq[k]);
        norm = _mm256_blendv_ps(norm, one, _mm256_cmp_ps(norm, _mm256_setzero_ps(), _CMP_EQ_OQ));
        /* (float)(1.0 / norm): widening is exact, one double division, one rounding */
        const __m128 lo = _mm256_cvtpd_ps(_mm256_div_pd(one_d, _mm256_cvtps_pd(_mm256_castps256_ps128(norm))));
        const __m128 hi = _mm256_cvtpd_ps(_mm256_div_pd(one_d, _mm256_cvtps_pd(_mm256_extractf128_ps(norm, 1))));
        scale[k] = _mm256_insertf128_ps(_mm256_castps128_ps256(lo), hi, 1);
    }
    float *row = dst + n_pos; /* dst row 1 + xx * patch_h + yy */
    for (int xx = 0; xx < patch_w; xx++)
        for (int yy = 0; yy < patch_h; yy++, row += n_pos) {
            const ptrdiff_t off = yy * blk_n + (ptrdiff_t)xx * resp_h;
            for (int k = 0; k < IM2COL_BATCH; k++) {
                const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(src[k] + off), mean[k]);
                store_vec(row + v[k].p0, _mm256_mul_ps(d, scale[k]), v[k].mask, masked);
            }
        }
}

static AVX2 void ccnf_im2col_norm_avx2(float *restrict dst, float *restrict scratch, const float *restrict src,
                                       ptrdiff_t src_stride, int patch_w, int patch_h, int resp_w, int resp_h)
{
    const ptrdiff_t n_pos = (ptrdiff_t)resp_w * resp_h;
    const int aoi_w = resp_w + patch_w - 1, aoi_h = resp_h + patch_h - 1;
    const ptrdiff_t blk_n = (ptrdiff_t)aoi_w * resp_h;
    const __m256 count = _mm256_set1_ps((float)(patch_w * patch_h));

    /* scratch: the AOI transposed (column u at at + u * aoi_h), then the
     * patch_h blocks, then 8 floats of padding (au_dsp_ccnf_scratch_floats) */
    float *at = scratch, *blk = scratch + (ptrdiff_t)aoi_w * aoi_h;
    for (int v = 0; v < aoi_h; v++)
        for (int u = 0; u < aoi_w; u++)
            at[(ptrdiff_t)u * aoi_h + v] = src[(ptrdiff_t)v * src_stride + u];
    /* blk[yy] column u is at column u from row yy: resp_h floats, copied 8 at
     * a time. A copy's lanes past resp_h land on the next column (copied
     * after) or, for the last one, in the padding; the lanes read past at's
     * end come from blk itself, only into such lanes. */
    for (int yy = 0; yy < patch_h; yy++)
        for (int u = 0; u < aoi_w; u++) {
            const float *s = at + (ptrdiff_t)u * aoi_h + yy;
            float *d = blk + yy * blk_n + (ptrdiff_t)u * resp_h;
            for (int y = 0; y < resp_h; y += 8)
                _mm256_storeu_ps(d + y, _mm256_loadu_ps(s + y));
        }

    ptrdiff_t p = 0;
    for (; p + 8 <= n_pos; p += 8)
        _mm256_storeu_ps(dst + p, _mm256_set1_ps(1.0f));
    for (; p < n_pos; p++)
        dst[p] = 1.0f;

    /* Vector v reads blk[yy] up to (patch_w - 1) * resp_h + 8v + 7, which is
     * at most 7 past blk[yy]'s end: into blk[yy + 1] or the padding. */
    const ptrdiff_t n_vec = (n_pos + 7) / 8;
    for (ptrdiff_t v0 = 0; v0 < n_vec; v0 += IM2COL_BATCH) {
        Im2colVec vec[IM2COL_BATCH];
        int masked = 0;
        for (int k = 0; k < IM2COL_BATCH; k++) {
            /* a short last batch repeats its last vector: the same values stored twice */
            const ptrdiff_t v = v0 + k < n_vec ? v0 + k : n_vec - 1;
            vec[k].p0 = 8 * v;
            const ptrdiff_t nb = n_pos - 8 * v < 8 ? n_pos - 8 * v : 8;
            vec[k].mask = tail_mask((int)nb);
            masked |= nb < 8;
        }
        if (masked)
            im2col_batch(dst, vec, blk, blk_n, n_pos, resp_h, patch_w, patch_h, count, 1);
        else
            im2col_batch(dst, vec, blk, blk_n, n_pos, resp_h, patch_w, patch_h, count, 0);
    }
}

/* ---- CCNF sigmoid accumulation ---- */

/* exp(t) for 4 doubles, with FMA: t = n ln2 + r, |r| <= ln2/2 (n rounded from
 * t / ln2, r from two fused steps with ln2 split in a double and its
 * remainder), exp(r) by its Taylor series to degree 13 (truncation error
 * below 1e-17 relative) in Horner form, times 2^n built in the exponent
 * field. Within 1 double ulp of glibc's exp (identical for 94% of 8 million
 * random arguments in [-708, 708]). t is clamped to
 * [-708, 708], where 2^n stays a normal double: beyond it the sigmoid
 * below is 1 or rounds to 0 in float either way. NaN stays NaN (the max/min
 * operand order returns t when it is NaN). */
static inline AVX2_FMA __m256d exp_pd(__m256d t)
{
    t = _mm256_max_pd(_mm256_set1_pd(-708.0), t);
    t = _mm256_min_pd(_mm256_set1_pd(708.0), t);
    const __m256d n = _mm256_round_pd(_mm256_mul_pd(t, _mm256_set1_pd(1.4426950408889634)),
                                      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256d r = _mm256_fnmadd_pd(n, _mm256_set1_pd(0x1.62e42fefa39efp-1), t);
    r = _mm256_fnmadd_pd(n, _mm256_set1_pd(0x1.abc9e3b39803fp-56), r);
    static const double inv_fact[14] = {
        1.0,        1.0,         1.0 / 2,      1.0 / 6,       1.0 / 24,       1.0 / 120,       1.0 / 720,
        1.0 / 5040, 1.0 / 40320, 1.0 / 362880, 1.0 / 3628800, 1.0 / 39916800, 1.0 / 479001600, 1.0 / 6227020800.0};
    __m256d poly = _mm256_set1_pd(inv_fact[13]);
    for (int k = 12; k >= 0; k--)
        poly = _mm256_fmadd_pd(poly, r, _mm256_set1_pd(inv_fact[k]));
    /* 2^n: n + (2^52 + 2^51 + 1023) puts n + 1023 in the low mantissa bits;
     * shifted up by 52 they are the exponent field of 2^n (n in [-1022, 1022]) */
    const __m256d biased = _mm256_add_pd(n, _mm256_set1_pd(6755399441055744.0 + 1023.0));
    const __m256d pow2n = _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_castpd_si256(biased), 52));
    return _mm256_mul_pd(poly, pow2n);
}

/* 4 positions of resp[p] = (float)((double)resp[p] + two_alpha / (1 + exp(-pre[p]))):
 * the widening, the add, the division and the final rounding are the C
 * reference's; only exp differs. */
static inline AVX2_FMA __m128 sigmoid_acc4(__m128 resp, __m128 pre, __m256d two_alpha)
{
    const __m256d e = exp_pd(_mm256_sub_pd(_mm256_setzero_pd(), _mm256_cvtps_pd(pre)));
    const __m256d sig = _mm256_div_pd(two_alpha, _mm256_add_pd(_mm256_set1_pd(1.0), e));
    return _mm256_cvtpd_ps(_mm256_add_pd(_mm256_cvtps_pd(resp), sig));
}

static AVX2_FMA void ccnf_sigmoid_acc_avx2_fma(float *resp, const float *pre, int n, double two_alpha)
{
    const __m256d ta = _mm256_set1_pd(two_alpha);
    int p = 0;
    for (; p + 8 <= n; p += 8) {
        const __m128 lo = sigmoid_acc4(_mm_loadu_ps(resp + p), _mm_loadu_ps(pre + p), ta);
        const __m128 hi = sigmoid_acc4(_mm_loadu_ps(resp + p + 4), _mm_loadu_ps(pre + p + 4), ta);
        _mm_storeu_ps(resp + p, lo);
        _mm_storeu_ps(resp + p + 4, hi);
    }
    for (; p < n; p++)
        resp[p] = (float)((double)resp[p] + two_alpha / (1.0 + exp(-(double)pre[p])));
}

/* ---- FHOG gradient row ---- */

/* 8 consecutive bytes widened to int32 lanes */
static inline AVX2 __m256i load8_epi32(const uint8_t *p)
{
    return _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p));
}

/* 8 BGR pixels (24 bytes, read exactly) split into their channels, each
 * widened to int32 lanes. */
static inline AVX2 void load8_bgr(const uint8_t *p, __m256i *b, __m256i *g, __m256i *r)
{
    const __m128i lo = _mm_loadu_si128((const __m128i *)p);        /* bytes 0..15 */
    const __m128i hi = _mm_loadl_epi64((const __m128i *)(p + 16)); /* bytes 16..23 */
    /* channel c of pixel k is byte 3k + c: from lo while 3k + c < 16, else
     * byte 3k + c - 16 of hi; -1 selects zero */
    const __m128i b_lo = _mm_setr_epi8(0, 3, 6, 9, 12, 15, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
    const __m128i b_hi = _mm_setr_epi8(-1, -1, -1, -1, -1, -1, 2, 5, -1, -1, -1, -1, -1, -1, -1, -1);
    const __m128i g_lo = _mm_setr_epi8(1, 4, 7, 10, 13, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
    const __m128i g_hi = _mm_setr_epi8(-1, -1, -1, -1, -1, 0, 3, 6, -1, -1, -1, -1, -1, -1, -1, -1);
    const __m128i r_lo = _mm_setr_epi8(2, 5, 8, 11, 14, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
    const __m128i r_hi = _mm_setr_epi8(-1, -1, -1, -1, -1, 1, 4, 7, -1, -1, -1, -1, -1, -1, -1, -1);
    *b = _mm256_cvtepu8_epi32(_mm_or_si128(_mm_shuffle_epi8(lo, b_lo), _mm_shuffle_epi8(hi, b_hi)));
    *g = _mm256_cvtepu8_epi32(_mm_or_si128(_mm_shuffle_epi8(lo, g_lo), _mm_shuffle_epi8(hi, g_hi)));
    *r = _mm256_cvtepu8_epi32(_mm_or_si128(_mm_shuffle_epi8(lo, r_lo), _mm_shuffle_epi8(hi, r_hi)));
}

/* 8 pixels at a time: gradients in int32 lanes, squared lengths in float
 * (integers below 2^24: exact, so the compares and the sqrt see the C
 * reference's values), and the bins looked up in the table by scalar loads.
 * (Computing the bins in SIMD, 9 dot products per pixel as the table was
 * built, is exact too but was slower than the C reference; AVX2 gathers
 * would read up to 3 bytes past the table.) */
static inline AVX2 __m256 sq_len_ps(__m256i dx, __m256i dy)
{
    const __m256 fx = _mm256_cvtepi32_ps(dx), fy = _mm256_cvtepi32_ps(dy);
    return _mm256_add_ps(_mm256_mul_ps(fx, fx), _mm256_mul_ps(fy, fy));
}

static AVX2 void fhog_row_avx2(const uint8_t *prev, const uint8_t *cur, const uint8_t *next, int channels, int x0,
                               int n, const uint8_t *orient, uint8_t *bin, float *mag)
{
    n -= n % 8;
    const size_t off = (size_t)channels * (size_t)x0;
    const uint8_t *p = prev + off, *c = cur + off, *q = next + off;
    for (int i = 0; i < n; i += 8) {
        __m256i gx, gy;
        __m256 len;
        if (channels == 1) {
            gx = _mm256_sub_epi32(load8_epi32(c + i + 1), load8_epi32(c + i - 1));
            gy = _mm256_sub_epi32(load8_epi32(q + i), load8_epi32(p + i));
            len = sq_len_ps(gx, gy);
        } else {
            __m256i b1, g1, r1, b0, g0, r0, bq, gq, rq, bp, gp, rp;
            load8_bgr(c + 3 * (i + 1), &b1, &g1, &r1);
            load8_bgr(c + 3 * (i - 1), &b0, &g0, &r0);
            load8_bgr(q + 3 * i, &bq, &gq, &rq);
            load8_bgr(p + 3 * i, &bp, &gp, &rp);
            const __m256i rx = _mm256_sub_epi32(r1, r0), ry = _mm256_sub_epi32(rq, rp);
            const __m256i gnx = _mm256_sub_epi32(g1, g0), gny = _mm256_sub_epi32(gq, gp);
            const __m256i bx = _mm256_sub_epi32(b1, b0), by = _mm256_sub_epi32(bq, bp);
            const __m256 rl = sq_len_ps(rx, ry), gl = sq_len_ps(gnx, gny), bl = sq_len_ps(bx, by);
            /* as dlib's vector path: green unless red is strictly longer,
             * then blue unless that is strictly longer */
            const __m256 red = _mm256_cmp_ps(rl, gl, _CMP_GT_OQ);
            const __m256i red_i = _mm256_castps_si256(red);
            const __m256i tx = _mm256_blendv_epi8(gnx, rx, red_i), ty = _mm256_blendv_epi8(gny, ry, red_i);
            const __m256 tl = _mm256_blendv_ps(gl, rl, red);
            const __m256 keep = _mm256_cmp_ps(tl, bl, _CMP_GT_OQ);
            const __m256i keep_i = _mm256_castps_si256(keep);
            gx = _mm256_blendv_epi8(bx, tx, keep_i);
            gy = _mm256_blendv_epi8(by, ty, keep_i);
            len = _mm256_blendv_ps(bl, tl, keep);
        }
        _mm256_storeu_ps(mag + i, _mm256_sqrt_ps(len)); /* sqrtf((float)len) */
        /* AU_FHOG_ORIENT_INDEX: (gy + 255) * 511 + gx + 255, with 511 y as 512 y - y */
        const __m256i gy0 = _mm256_add_epi32(gy, _mm256_set1_epi32(255));
        const __m256i idx = _mm256_add_epi32(_mm256_sub_epi32(_mm256_slli_epi32(gy0, 9), gy0),
                                             _mm256_add_epi32(gx, _mm256_set1_epi32(255)));
        int32_t ix[8];
        _mm256_storeu_si256((__m256i *)ix, idx);
        for (int k = 0; k < 8; k++)
            bin[i + k] = orient[ix[k]];
    }
}

/* ---- SVR / SVM scores: vector times matrix ---- */

/* Up to 16 outputs per pass, 4 per vector: lane j holds output j's sum, so
 * each lane adds its products in the C reference's (and OpenCV's) order,
 * k increasing, with mul and add as separate instructions (no FMA in this
 * function's target). The sums are chains of dependent adds whatever the
 * order, so it is the vectors side by side that give the speed. The last
 * vector of a pass is masked to the columns left (no read past w's last
 * row). */
static inline __attribute__((always_inline)) AVX2 void vecmat_pass(double *out, const double *x, const double *w,
                                                                   ptrdiff_t w_stride, int n, int n_vec, __m256i mask)
{
    __m256d acc[4];
    for (int v = 0; v < 4; v++)
        acc[v] = _mm256_setzero_pd();
    const double *wk = w;
    for (int k = 0; k < n; k++, wk += w_stride) {
        const __m256d a = _mm256_broadcast_sd(x + k);
        for (int v = 0; v < n_vec; v++) {
            const __m256d b = v == n_vec - 1 ? _mm256_maskload_pd(wk + 4 * v, mask) : _mm256_loadu_pd(wk + 4 * v);
            acc[v] = _mm256_add_pd(acc[v], _mm256_mul_pd(a, b));
        }
    }
    for (int v = 0; v < n_vec; v++) {
        if (v == n_vec - 1)
            _mm256_maskstore_pd(out + 4 * v, mask, acc[v]);
        else
            _mm256_storeu_pd(out + 4 * v, acc[v]);
    }
}

static AVX2 void vecmat_f64_avx2(double *out, const double *x, const double *w, ptrdiff_t w_stride, int n, int m)
{
    for (int j = 0; j < m; j += 16) {
        const int cols = m - j < 16 ? m - j : 16;
        const int n_vec = (cols + 3) / 4;
        /* int64 lanes below cols - 4 (n_vec - 1): from the int32 table, pairs */
        const int left = cols - 4 * (n_vec - 1);
        const __m256i mask = _mm256_cvtepi32_epi64(_mm_loadu_si128((const __m128i *)(tail_mask_src + 8 - left)));
        /* a constant vector count per call site, so the loops unroll */
        switch (n_vec) {
        case 1:
            vecmat_pass(out + j, x, w + j, w_stride, n, 1, mask);
            break;
        case 2:
            vecmat_pass(out + j, x, w + j, w_stride, n, 2, mask);
            break;
        case 3:
            vecmat_pass(out + j, x, w + j, w_stride, n, 3, mask);
            break;
        default:
            vecmat_pass(out + j, x, w + j, w_stride, n, 4, mask);
            break;
        }
    }
}

/* ---- warpAffine of a CLNF area of interest ---- */

/* OpenCV's cvRound of a double: nearest, ties to even (the default rounding
 * mode), INT_MIN outside the int range, as imgproc.c's. */
static int round_d(double v)
{
    const double r = nearbyint(v);
    return r >= -2147483648.0 && r <= 2147483647.0 ? (int)r : INT32_MIN;
}

/* Widest destination the vector path handles (AOIs are window + patch - 1). */
#define WARP_MAX_W 256

/* The per-column fixed-point deltas of a warp (dw + 8 entries, the tail
 * zero), and whether every source cell, with a one-pixel margin before and
 * `margin` pixels' room after (2 x 2 bilinear cell and wider reads), lies
 * inside the sw x sh image: the source cells of the four corners bound all
 * others to within a rounding unit, which the margin absorbs. */
static int warp_cells_inside(const double M[6], int dw, int dh, int sw, int sh, int margin, int32_t *adelta,
                             int32_t *bdelta)
{
    for (int x = 0; x < dw; x++) {
        adelta[x] = round_d(M[0] * x * 1024);
        bdelta[x] = round_d(M[3] * x * 1024);
    }
    for (int x = dw; x < dw + 8; x++)
        adelta[x] = bdelta[x] = 0;
    for (int cy = 0; cy < 2; cy++)
        for (int cx = 0; cx < 2; cx++) {
            const int y = cy ? dh - 1 : 0, x = cx ? dw - 1 : 0;
            const int X0 = (int)((unsigned)round_d((M[1] * y + M[2]) * 1024) + 16u);
            const int Y0 = (int)((unsigned)round_d((M[4] * y + M[5]) * 1024) + 16u);
            const int64_t X = ((int64_t)X0 + adelta[x]) >> 5, Y = ((int64_t)Y0 + bdelta[x]) >> 5;
            const int64_t sx = X >> 5, sy = Y >> 5;
            if (sx < 1 || sx > sw - margin || sy < 1 || sy > sh - margin)
                return 0;
        }
    return 1;
}

/* imgproc.c's warpAffine in 8 destination pixels at a time, bit-exact: the
 * same fixed-point source coordinates (row starts and per-column deltas
 * rounded from M x 1024 in double, shifted to 1/32 cells), the same float
 * weights (exact products of multiples of 1/32) and the same float sum
 * v0 w0 + v1 w1 + v2 w2 + v3 w3, left to right, without FMA. It takes the
 * vector path only when every source cell, with a one-pixel margin, lies
 * inside the image (then no border pixel is involved); anything else (and
 * offsets beyond int32) goes to the C reference. */
static AVX2 AuStatus warp_affine_f32_avx2(const AuImageF32 *src, AuImageF32 *dst, const double M[6], AuError *err)
{
    const int dw = dst->width, dh = dst->height, sw = src->width, sh = src->height;
    if (!src->data || !dst->data || sw <= 0 || sh <= 0 || dw <= 0 || dh <= 0 || dw > WARP_MAX_W ||
        (double)src->stride * (double)sh > 2147483647.0)
        return au_warp_affine_f32(src, dst, M, AU_WARP_INVERSE_MAP, err);
    int32_t adelta[WARP_MAX_W + 8], bdelta[WARP_MAX_W + 8];
    if (!warp_cells_inside(M, dw, dh, sw, sh, 3, adelta, bdelta))
        return au_warp_affine_f32(src, dst, M, AU_WARP_INVERSE_MAP, err);
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i stride = _mm256_set1_epi32((int)src->stride);
    const __m256 inv32 = _mm256_set1_ps(1.f / 32), one = _mm256_set1_ps(1.f);
    const __m256i m31 = _mm256_set1_epi32(31);
    for (int y = 0; y < dh; y++) {
        const __m256i X0 = _mm256_set1_epi32((int)((unsigned)round_d((M[1] * y + M[2]) * 1024) + 16u));
        const __m256i Y0 = _mm256_set1_epi32((int)((unsigned)round_d((M[4] * y + M[5]) * 1024) + 16u));
        float *d = au_image_f32_row(dst, y);
        for (int x = 0; x < dw; x += 8) {
            const __m256i X = _mm256_srai_epi32(_mm256_add_epi32(X0, _mm256_loadu_si256((const __m256i *)(adelta + x))), 5);
            const __m256i Y = _mm256_srai_epi32(_mm256_add_epi32(Y0, _mm256_loadu_si256((const __m256i *)(bdelta + x))), 5);
            const __m256i idx = _mm256_add_epi32(_mm256_mullo_epi32(_mm256_srai_epi32(Y, 5), stride), _mm256_srai_epi32(X, 5));
            const __m256 fx = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_and_si256(X, m31)), inv32);
            const __m256 fy = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_and_si256(Y, m31)), inv32);
            const __m256 x0 = _mm256_sub_ps(one, fx), y0 = _mm256_sub_ps(one, fy);
            const __m256 w0 = _mm256_mul_ps(y0, x0), w1 = _mm256_mul_ps(y0, fx);
            const __m256 w2 = _mm256_mul_ps(fy, x0), w3 = _mm256_mul_ps(fy, fx);
            /* lanes past dw: no read (masked gathers), no store */
            const __m256i valid = _mm256_cmpgt_epi32(_mm256_set1_epi32(dw - x), lane);
            const __m256 vm = _mm256_castsi256_ps(valid), zero = _mm256_setzero_ps();
            const float *p0 = src->data, *p1 = src->data + 1;
            const float *p2 = src->data + src->stride, *p3 = src->data + src->stride + 1;
            const __m256 v0 = _mm256_mask_i32gather_ps(zero, p0, idx, vm, 4);
            const __m256 v1 = _mm256_mask_i32gather_ps(zero, p1, idx, vm, 4);
            const __m256 v2 = _mm256_mask_i32gather_ps(zero, p2, idx, vm, 4);
            const __m256 v3 = _mm256_mask_i32gather_ps(zero, p3, idx, vm, 4);
            __m256 r = _mm256_add_ps(_mm256_mul_ps(v0, w0), _mm256_mul_ps(v1, w1));
            r = _mm256_add_ps(r, _mm256_mul_ps(v2, w2));
            r = _mm256_add_ps(r, _mm256_mul_ps(v3, w3));
            if (x + 8 <= dw)
                _mm256_storeu_ps(d + x, r);
            else
                _mm256_maskstore_ps(d + x, valid, r);
        }
    }
    return AU_OK;
}

/* warp_affine_f32_avx2 on the 8-bit gray image: the same cells, weights and
 * sums, the pixel values widened from bytes (exact). */
static AVX2 AuStatus warp_affine_gray_f32_avx2(const AuImageU8 *src, AuImageF32 *dst, const double M[6], AuError *err)
{
    const int dw = dst->width, dh = dst->height, sw = src->width, sh = src->height;
    if (!src->data || !dst->data || sw <= 0 || sh <= 0 || dw <= 0 || dh <= 0 || dw > WARP_MAX_W ||
        src->channels != 1 || (double)src->stride * (double)sh > 2147483647.0)
        return au_warp_affine_gray_f32(src, dst, M, AU_WARP_INVERSE_MAP, err);
    int32_t adelta[WARP_MAX_W + 8], bdelta[WARP_MAX_W + 8];
    /* one more column and row of margin than the float version: the 4-byte
     * reads of a cell a rounding unit further in must stay inside the buffer */
    if (!warp_cells_inside(M, dw, dh, sw, sh, 4, adelta, bdelta))
        return au_warp_affine_gray_f32(src, dst, M, AU_WARP_INVERSE_MAP, err);
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i stride = _mm256_set1_epi32((int)src->stride);
    const __m256 inv32 = _mm256_set1_ps(1.f / 32), one = _mm256_set1_ps(1.f);
    const __m256i m31 = _mm256_set1_epi32(31);
    for (int y = 0; y < dh; y++) {
        const __m256i X0 = _mm256_set1_epi32((int)((unsigned)round_d((M[1] * y + M[2]) * 1024) + 16u));
        const __m256i Y0 = _mm256_set1_epi32((int)((unsigned)round_d((M[4] * y + M[5]) * 1024) + 16u));
        float *d = au_image_f32_row(dst, y);
        for (int x = 0; x < dw; x += 8) {
            const __m256i X = _mm256_srai_epi32(_mm256_add_epi32(X0, _mm256_loadu_si256((const __m256i *)(adelta + x))), 5);
            const __m256i Y = _mm256_srai_epi32(_mm256_add_epi32(Y0, _mm256_loadu_si256((const __m256i *)(bdelta + x))), 5);
            const __m256i idx = _mm256_add_epi32(_mm256_mullo_epi32(_mm256_srai_epi32(Y, 5), stride), _mm256_srai_epi32(X, 5));
            const __m256 fx = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_and_si256(X, m31)), inv32);
            const __m256 fy = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_and_si256(Y, m31)), inv32);
            const __m256 x0 = _mm256_sub_ps(one, fx), y0 = _mm256_sub_ps(one, fy);
            const __m256 w0 = _mm256_mul_ps(y0, x0), w1 = _mm256_mul_ps(y0, fx);
            const __m256 w2 = _mm256_mul_ps(fy, x0), w3 = _mm256_mul_ps(fy, fx);
            /* lanes past dw: no read (masked gathers), no store */
            const __m256i valid = _mm256_cmpgt_epi32(_mm256_set1_epi32(dw - x), lane);
            /* one 4-byte gather per row gives both horizontal neighbours
             * (bytes 0 and 1); it reads two bytes more, still inside the
             * image by the margin (row sy + 1 is never the last) */
            const uint8_t *p0 = src->data, *p2 = src->data + src->stride;
            const __m256i zi = _mm256_setzero_si256(), m255 = _mm256_set1_epi32(255);
            const __m256i r0 = _mm256_mask_i32gather_epi32(zi, (const int *)(const void *)p0, idx, valid, 1);
            const __m256i r1 = _mm256_mask_i32gather_epi32(zi, (const int *)(const void *)p2, idx, valid, 1);
            const __m256 v0 = _mm256_cvtepi32_ps(_mm256_and_si256(r0, m255));
            const __m256 v1 = _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srli_epi32(r0, 8), m255));
            const __m256 v2 = _mm256_cvtepi32_ps(_mm256_and_si256(r1, m255));
            const __m256 v3 = _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srli_epi32(r1, 8), m255));
            __m256 r = _mm256_add_ps(_mm256_mul_ps(v0, w0), _mm256_mul_ps(v1, w1));
            r = _mm256_add_ps(r, _mm256_mul_ps(v2, w2));
            r = _mm256_add_ps(r, _mm256_mul_ps(v3, w3));
            if (x + 8 <= dw)
                _mm256_storeu_ps(d + x, r);
            else
                _mm256_maskstore_ps(d + x, valid, r);
        }
    }
    return AU_OK;
}

/* ---- the 8-bit warp (AU face alignment) ---- */

/* Widest destination the vector path handles (the aligned face is 112). */
#define WARP_U8_MAX_W 1024

/* imgproc.c's au_warp_affine_u8 for 3 channels, 8 destination pixels at a
 * time where all 8 cells and their 2x2 neighbourhoods (plus one byte, read
 * by the 4-byte gathers) lie inside the image; other blocks and the row's
 * tail go to au_warp_affine_u8_span, the C version. Same source positions
 * (the C tables, int32 adds and arithmetic shifts as in C) and the same
 * integer sum in separable form: per channel h = (32 - fx) left + fx right
 * (pmaddwd of byte pairs with (32 - fx, fx)), S = (32 - fy) h_top + fy h_bot
 * (pmaddwd of (h_top, h_bot) with (32 - fy, fy); h <= 8160 fits int16), out
 * = (S + 512) >> 10 (see au_warp_affine_u8_span: OpenCV's 15-bit sum is
 * 32 S). */
static AVX2 AuStatus warp_affine_u8_avx2(const AuImageU8 *src, AuImageU8 *dst, const double M0[6], int flags,
                                          AuError *err)
{
    const int dw = dst->width, dh = dst->height, sw = src->width, sh = src->height;
    if (!src->data || !dst->data || sw <= 0 || sh <= 0 || src->channels != 3 || dst->channels != 3 ||
        dw > WARP_U8_MAX_W || !au_warp_u8_fast_ok(src))
        return au_warp_affine_u8(src, dst, M0, flags, err);
    double M[6];
    au_warp_affine_map(M0, flags, M);
    int adelta[WARP_U8_MAX_W], bdelta[WARP_U8_MAX_W];
    au_warp_affine_deltas(M, dw, adelta, bdelta);
    const __m256i zero = _mm256_setzero_si256(), one_less = _mm256_set1_epi32(-1);
    const __m256i sx_max = _mm256_set1_epi32(sw - 3), sy_max = _mm256_set1_epi32(sh - 2);
    const __m256i stride = _mm256_set1_epi32((int)src->stride), m31 = _mm256_set1_epi32(31);
    const __m256i n32 = _mm256_set1_epi32(32), round = _mm256_set1_epi32(512);
    /* per 128-bit half: BGRX BGRX BGRX BGRX -> 12 bytes BGR, 4 zero */
    const __m256i drop_x = _mm256_setr_epi8(0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1, 0, 1, 2, 4, 5, 6,
                                            8, 9, 10, 12, 13, 14, -1, -1, -1, -1);
    const int *base = (const int *)src->data;
    const int *base_r = (const int *)(src->data + 3);
    const int *base_d = (const int *)(src->data + src->stride);
    const int *base_dr = (const int *)(src->data + src->stride + 3);
    for (int y = 0; y < dh; y++) {
        int X0, Y0;
        au_warp_affine_row_start(M, y, &X0, &Y0);
        uint8_t *d = au_image_u8_row(dst, y);
        const __m256i vx0 = _mm256_set1_epi32(X0), vy0 = _mm256_set1_epi32(Y0);
        int x = 0;
        for (; x + 8 <= dw; x += 8) {
            const __m256i X = _mm256_srai_epi32(_mm256_add_epi32(vx0, _mm256_loadu_si256((const __m256i *)(adelta + x))), 5);
            const __m256i Y = _mm256_srai_epi32(_mm256_add_epi32(vy0, _mm256_loadu_si256((const __m256i *)(bdelta + x))), 5);
            const __m256i sx = _mm256_srai_epi32(X, 5), sy = _mm256_srai_epi32(Y, 5);
            const __m256i out = _mm256_or_si256(
                _mm256_or_si256(_mm256_cmpgt_epi32(zero, sx), _mm256_cmpgt_epi32(sx, sx_max)),
                _mm256_or_si256(_mm256_cmpgt_epi32(zero, sy), _mm256_cmpgt_epi32(sy, sy_max)));
            if (!_mm256_testz_si256(out, one_less)) {
                au_warp_affine_u8_span(src, d, X0, Y0, adelta, bdelta, x, x + 8);
                continue;
            }
            const __m256i idx = _mm256_add_epi32(_mm256_mullo_epi32(sy, stride),
                                                 _mm256_add_epi32(sx, _mm256_add_epi32(sx, sx)));
            const __m256i fx = _mm256_and_si256(X, m31), fy = _mm256_and_si256(Y, m31);
            /* int16 pairs (32 - f, f) */
            const __m256i wx = _mm256_or_si256(_mm256_sub_epi32(n32, fx), _mm256_slli_epi32(fx, 16));
            const __m256i wy = _mm256_or_si256(_mm256_sub_epi32(n32, fy), _mm256_slli_epi32(fy, 16));
            /* BGR + one byte of the left / right pixel of the top / bottom row */
            const __m256i tl = _mm256_i32gather_epi32(base, idx, 1), tr = _mm256_i32gather_epi32(base_r, idx, 1);
            const __m256i bl = _mm256_i32gather_epi32(base_d, idx, 1), br = _mm256_i32gather_epi32(base_dr, idx, 1);
            /* per 128-bit half (pixels 0-3 low, 4-7 high): byte pairs
             * (left, right) of pixels 0,1 (lo) and 2,3 (hi) */
            const __m256i t_lo = _mm256_unpacklo_epi8(tl, tr), t_hi = _mm256_unpackhi_epi8(tl, tr);
            const __m256i b_lo = _mm256_unpacklo_epi8(bl, br), b_hi = _mm256_unpackhi_epi8(bl, br);
            /* pixel k (low half) and k + 4 (high half): 4 channels x int16 pair */
            __m256i res[4];
            const __m256i pt[4] = {_mm256_unpacklo_epi8(t_lo, zero), _mm256_unpackhi_epi8(t_lo, zero),
                                   _mm256_unpacklo_epi8(t_hi, zero), _mm256_unpackhi_epi8(t_hi, zero)};
            const __m256i pb[4] = {_mm256_unpacklo_epi8(b_lo, zero), _mm256_unpackhi_epi8(b_lo, zero),
                                   _mm256_unpacklo_epi8(b_hi, zero), _mm256_unpackhi_epi8(b_hi, zero)};
#define WARP_U8_PAIR(k, imm)                                                                                  \
    do {                                                                                                      \
        const __m256i wxk = _mm256_shuffle_epi32(wx, imm), wyk = _mm256_shuffle_epi32(wy, imm);               \
        const __m256i ht = _mm256_madd_epi16(pt[k], wxk), hb = _mm256_madd_epi16(pb[k], wxk);                 \
        const __m256i sum = _mm256_madd_epi16(_mm256_or_si256(ht, _mm256_slli_epi32(hb, 16)), wyk);           \
        res[k] = _mm256_srli_epi32(_mm256_add_epi32(sum, round), 10);                                         \
    } while (0)
            WARP_U8_PAIR(0, 0x00);
            WARP_U8_PAIR(1, 0x55);
            WARP_U8_PAIR(2, 0xaa);
            WARP_U8_PAIR(3, 0xff);
#undef WARP_U8_PAIR
            /* bytes BGRX of pixels 0-3 (low half), 4-7 (high half), then BGR */
            const __m256i px = _mm256_packus_epi16(_mm256_packs_epi32(res[0], res[1]), _mm256_packs_epi32(res[2], res[3]));
            const __m256i bgr = _mm256_shuffle_epi8(px, drop_x);
            if (x + 10 <= dw) {
                /* 16-byte stores whose last 4 bytes the next store rewrites */
                _mm_storeu_si128((__m128i *)(d + 3 * x), _mm256_castsi256_si128(bgr));
                _mm_storeu_si128((__m128i *)(d + 3 * x + 12), _mm256_extracti128_si256(bgr, 1));
            } else {
                uint8_t tmp[32];
                _mm_storeu_si128((__m128i *)tmp, _mm256_castsi256_si128(bgr));
                _mm_storeu_si128((__m128i *)(tmp + 12), _mm256_extracti128_si256(bgr, 1));
                memcpy(d + 3 * x, tmp, 24);
            }
        }
        if (x < dw)
            au_warp_affine_u8_span(src, d, X0, Y0, adelta, bdelta, x, dw);
    }
    return AU_OK;
}

/* ---- image conversion ---- */

/* 8 pixels per step: B,G pairs and R,1 pairs as int16 times (3735, 19235)
 * and (9798, 16384) with pmaddwd give the two halves of OpenCV's fixed-point
 * sum in int32 (no overflow: at most 255 * 32768 + 16384), exactly. */
/* 8 pixels per step: each 128-bit lane gets 4 pixels' bytes (the two lanes
 * loaded 12 bytes apart), one shuffle lays them out as int16 (B, G) pairs
 * and one as (R, 0) pairs (made (R, 1) for the rounding constant), and two
 * multiply-adds give OpenCV's 15-bit fixed-point sums in int32. */
static AVX2 void bgr_to_gray_u8_avx2(uint8_t *gray, const uint8_t *bgr, int n)
{
    const __m256i w_bg = _mm256_set1_epi32(3735 | (19235 << 16));
    const __m256i w_r1 = _mm256_set1_epi32(9798 | (16384 << 16));
    const __m256i one_hi = _mm256_set1_epi32(1 << 16);
    const __m256i bg_idx = _mm256_setr_epi8(0, -1, 1, -1, 3, -1, 4, -1, 6, -1, 7, -1, 9, -1, 10, -1, 0, -1, 1, -1, 3,
                                            -1, 4, -1, 6, -1, 7, -1, 9, -1, 10, -1);
    const __m256i r_idx = _mm256_setr_epi8(2, -1, -1, -1, 5, -1, -1, -1, 8, -1, -1, -1, 11, -1, -1, -1, 2, -1, -1, -1,
                                           5, -1, -1, -1, 8, -1, -1, -1, 11, -1, -1, -1);
    int i = 0;
    /* the upper lane reads bytes 3i + 12 .. 3i + 27: inside the row while
     * i + 10 <= n */
    for (; i + 10 <= n; i += 8) {
        const __m128i lo = _mm_loadu_si128((const __m128i *)(bgr + 3 * i));
        const __m128i hi = _mm_loadu_si128((const __m128i *)(bgr + 3 * i + 12));
        const __m256i v = _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1);
        const __m256i bg = _mm256_shuffle_epi8(v, bg_idx);
        const __m256i r1 = _mm256_or_si256(_mm256_shuffle_epi8(v, r_idx), one_hi);
        const __m256i sum = _mm256_add_epi32(_mm256_madd_epi16(bg, w_bg), _mm256_madd_epi16(r1, w_r1));
        const __m256i q = _mm256_srli_epi32(sum, 15);
        const __m128i w = _mm_packus_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
        _mm_storel_epi64((__m128i *)(gray + i), _mm_packus_epi16(w, w));
    }
    for (; i < n; i++)
        gray[i] = (uint8_t)((bgr[3 * i] * 3735 + bgr[3 * i + 1] * 19235 + bgr[3 * i + 2] * 9798 + (1 << 14)) >> 15);
}

/* Byte positions of B, G and R in each 16-byte third of 16 BGR24 pixels
 * (-1: zero), for pshufb from the 16 bytes of one channel. */
static const int8_t bgr24_from_planes[3][3][16] = {
    {{0, -1, -1, 1, -1, -1, 2, -1, -1, 3, -1, -1, 4, -1, -1, 5},
     {-1, 0, -1, -1, 1, -1, -1, 2, -1, -1, 3, -1, -1, 4, -1, -1},
     {-1, -1, 0, -1, -1, 1, -1, -1, 2, -1, -1, 3, -1, -1, 4, -1}},
    {{-1, -1, 6, -1, -1, 7, -1, -1, 8, -1, -1, 9, -1, -1, 10, -1},
     {5, -1, -1, 6, -1, -1, 7, -1, -1, 8, -1, -1, 9, -1, -1, 10},
     {-1, 5, -1, -1, 6, -1, -1, 7, -1, -1, 8, -1, -1, 9, -1, -1}},
    {{-1, 11, -1, -1, 12, -1, -1, 13, -1, -1, 14, -1, -1, 15, -1, -1},
     {-1, -1, 11, -1, -1, 12, -1, -1, 13, -1, -1, 14, -1, -1, 15, -1},
     {10, -1, -1, 11, -1, -1, 12, -1, -1, 13, -1, -1, 14, -1, -1, 15}},
};

static AVX2 inline __m256i bcast_mask(const int8_t m[16])
{
    return _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)m));
}

/* gray of 16 pixels whose B, G, R (16-bit lanes) are already in [0, 255]:
 * bgr_to_gray_u8's sum through two multiply-adds per pair of lanes */
static AVX2 inline __m256i gray16(__m256i b, __m256i g, __m256i r)
{
    const __m256i w_bg = _mm256_set1_epi32(3735 | (19235 << 16));
    const __m256i w_r1 = _mm256_set1_epi32(9798 | (1 << 16));
    const __m256i half = _mm256_set1_epi16(1 << 14);
    const __m256i lo = _mm256_add_epi32(_mm256_madd_epi16(_mm256_unpacklo_epi16(b, g), w_bg),
                                        _mm256_madd_epi16(_mm256_unpacklo_epi16(r, half), w_r1));
    const __m256i hi = _mm256_add_epi32(_mm256_madd_epi16(_mm256_unpackhi_epi16(b, g), w_bg),
                                        _mm256_madd_epi16(_mm256_unpackhi_epi16(r, half), w_r1));
    return _mm256_packs_epi32(_mm256_srli_epi32(lo, 15), _mm256_srli_epi32(hi, 15));
}

static AVX2 void yuv420_to_bgr_gray_u8_avx2(uint8_t *bgr, uint8_t *gray, const uint8_t *y, const uint8_t *u,
                                            const uint8_t *v, int n)
{
    const __m256i k_y = _mm256_set1_epi16(9539), y_off = _mm256_set1_epi16(128), c_off = _mm256_set1_epi16(1024);
    const __m256i k_ub = _mm256_set1_epi16(16525), k_ug = _mm256_set1_epi16(-3209);
    const __m256i k_vg = _mm256_set1_epi16(-6660), k_vr = _mm256_set1_epi16(13075);
    const __m256i lo_byte = _mm256_set1_epi16(0x00ff), zero = _mm256_setzero_si256();
    /* [even 0..7 | odd 0..7] -> pixel order, per 128-bit lane */
    const __m256i zip = _mm256_setr_epi8(0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15, 0, 8, 1, 9, 2, 10, 3,
                                         11, 4, 12, 5, 13, 6, 14, 7, 15);
    __m256i m[3][3];
    for (int k = 0; k < 3; k++)
        for (int c = 0; c < 3; c++)
            m[k][c] = bcast_mask(bgr24_from_planes[k][c]);
    int i = 0;
    /* 32 pixels per step: 16-bit lane j of the low (high) half holds pixels
     * 2j and 2j + 1 (16 + 2j, 17 + 2j) and their chroma, as swscale's
     * SSSE3 loop splits even and odd pixels */
    for (; i + 32 <= n; i += 32) {
        const __m256i yb = _mm256_loadu_si256((const __m256i *)(y + i));
        const __m256i ut = _mm256_subs_epi16(
            _mm256_slli_epi16(_mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(u + i / 2))), 3), c_off);
        const __m256i vt = _mm256_subs_epi16(
            _mm256_slli_epi16(_mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(v + i / 2))), 3), c_off);
        const __m256i ye =
            _mm256_mulhi_epi16(_mm256_sub_epi16(_mm256_slli_epi16(_mm256_and_si256(yb, lo_byte), 3), y_off), k_y);
        const __m256i yo = _mm256_mulhi_epi16(_mm256_sub_epi16(_mm256_slli_epi16(_mm256_srli_epi16(yb, 8), 3), y_off), k_y);
        const __m256i cb = _mm256_mulhi_epi16(ut, k_ub), cr = _mm256_mulhi_epi16(vt, k_vr);
        const __m256i cg = _mm256_adds_epi16(_mm256_mulhi_epi16(ut, k_ug), _mm256_mulhi_epi16(vt, k_vg));
        const __m256i c255 = lo_byte;
        const __m256i be = _mm256_min_epi16(_mm256_max_epi16(_mm256_adds_epi16(ye, cb), zero), c255);
        const __m256i bo = _mm256_min_epi16(_mm256_max_epi16(_mm256_adds_epi16(yo, cb), zero), c255);
        const __m256i ge = _mm256_min_epi16(_mm256_max_epi16(_mm256_adds_epi16(ye, cg), zero), c255);
        const __m256i go = _mm256_min_epi16(_mm256_max_epi16(_mm256_adds_epi16(yo, cg), zero), c255);
        const __m256i re = _mm256_min_epi16(_mm256_max_epi16(_mm256_adds_epi16(ye, cr), zero), c255);
        const __m256i ro = _mm256_min_epi16(_mm256_max_epi16(_mm256_adds_epi16(yo, cr), zero), c255);
        const __m256i gr = _mm256_shuffle_epi8(_mm256_packus_epi16(gray16(be, ge, re), gray16(bo, go, ro)), zip);
        _mm256_storeu_si256((__m256i *)(gray + i), gr);
        const __m256i b8 = _mm256_shuffle_epi8(_mm256_packus_epi16(be, bo), zip);
        const __m256i g8 = _mm256_shuffle_epi8(_mm256_packus_epi16(ge, go), zip);
        const __m256i r8 = _mm256_shuffle_epi8(_mm256_packus_epi16(re, ro), zip);
        __m256i o[3];
        for (int k = 0; k < 3; k++)
            o[k] = _mm256_or_si256(_mm256_or_si256(_mm256_shuffle_epi8(b8, m[k][0]), _mm256_shuffle_epi8(g8, m[k][1])),
                                   _mm256_shuffle_epi8(r8, m[k][2]));
        /* o[k] = third k of pixels 0-15 | third k of pixels 16-31 */
        uint8_t *d = bgr + 3 * i;
        _mm256_storeu_si256((__m256i *)d, _mm256_permute2x128_si256(o[0], o[1], 0x20));
        _mm256_storeu_si256((__m256i *)(d + 32), _mm256_permute2x128_si256(o[2], o[0], 0x30));
        _mm256_storeu_si256((__m256i *)(d + 64), _mm256_permute2x128_si256(o[1], o[2], 0x31));
    }
    if (i < n)
        au_yuv420_to_bgr_gray_u8_c(bgr + 3 * i, gray + i, y + i, u + i / 2, v + i / 2, n - i);
}

static AVX2 void u8_to_f32_avx2(float *dst, const uint8_t *src, int n)
{
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtepi32_ps(load8_epi32(src + i)));
    for (; i < n; i++)
        dst[i] = (float)src[i];
}

void au_dsp_init_avx2(AuDsp *dsp, unsigned cpu_flags)
{
    if (!(cpu_flags & AU_CPU_AVX2))
        return;
    dsp->ccnf_im2col_norm = ccnf_im2col_norm_avx2;
    dsp->fhog_row = fhog_row_avx2;
    dsp->vecmat_f64 = vecmat_f64_avx2;
    dsp->bgr_to_gray_u8 = bgr_to_gray_u8_avx2;
    dsp->yuv420_to_bgr_gray_u8 = yuv420_to_bgr_gray_u8_avx2;
    dsp->u8_to_f32 = u8_to_f32_avx2;
    dsp->warp_affine_f32 = warp_affine_f32_avx2;
    dsp->warp_affine_gray_f32 = warp_affine_gray_f32_avx2;
    dsp->warp_affine_u8 = warp_affine_u8_avx2;
    if (!(cpu_flags & AU_CPU_FMA))
        return;
    dsp->ccnf_sigmoid_acc = ccnf_sigmoid_acc_avx2_fma;
}

#else
/* nothing to build on this target (ISO C wants a declaration per file) */
typedef int au_dsp_avx2_unavailable;

#endif
