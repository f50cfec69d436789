/* OpenCV 4.6 image primitives reproduced bit for bit; see imgproc.h.
 *
 * Floating-point evaluation order matters: every float expression below is
 * written in the order OpenCV evaluates it, and the build uses ISO C mode
 * (-std=c11), in which GCC does not contract a*b+c into FMA, matching
 * OpenCV's SSE2-baseline build. */
#include "imgproc.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define INTER_BITS 5
#define INTER_TAB_SIZE (1 << INTER_BITS)
#define AB_BITS 10 /* MAX(10, INTER_BITS) */
#define AB_SCALE (1 << AB_BITS)
#define INTER_REMAP_COEF_BITS 15
#define INTER_RESIZE_COEF_BITS 11
#define INTER_RESIZE_COEF_SCALE (1 << INTER_RESIZE_COEF_BITS)

/* ---- small OpenCV semantics helpers -------------------------------------------- */

/* cvRound(double) / saturate_cast<int>(double): round half to even; values that
 * do not fit (and NaN) give INT_MIN, as the SSE2 conversion does. */
static int cv_round_d(double v)
{
    double r = nearbyint(v);
    if (!(r >= -2147483648.0 && r <= 2147483647.0))
        return INT_MIN;
    return (int)r;
}

static int cv_round_f(float v) { return cv_round_d((double)v); }

static short sat_short(int v) { return (short)(v < SHRT_MIN ? SHRT_MIN : v > SHRT_MAX ? SHRT_MAX : v); }

/* Arithmetic right shift (OpenCV relies on it for negative coordinates). */
static int asr(int v, int n) { return v >= 0 ? v >> n : ~(~v >> n); }

/* int addition that wraps like the machine instead of being undefined. */
static int wrap_add(int a, int b) { return (int)(unsigned)((unsigned)a + (unsigned)b); }

static uint8_t sat_u8(int v) { return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v); }

/* ---- images ------------------------------------------------------------------- */

AuStatus au_image_f32c_alloc(AuImageF32C *img, int width, int height, int channels, AuError *err)
{
    memset(img, 0, sizeof(*img));
    if (width <= 0 || height <= 0 || width > 32768 || height > 32768 || channels < 1 || channels > 4)
        return au_error_set(err, AU_ERR_ARG, "invalid float image %dx%d with %d channels", width, height, channels);
    img->stride = (size_t)width * (size_t)channels;
    img->data = malloc(sizeof(float) * img->stride * (size_t)height);
    if (!img->data)
        return au_error_set(err, AU_ERR_NOMEM, "cannot allocate float image %dx%dx%d", width, height, channels);
    img->width = width;
    img->height = height;
    img->channels = channels;
    return AU_OK;
}

void au_image_f32c_free(AuImageF32C *img)
{
    if (img) {
        free(img->data);
        memset(img, 0, sizeof(*img));
    }
}

void au_bgr_to_gray_u8(const AuImageU8 *bgr, AuImageU8 *gray)
{
    /* OpenCV 4.6 computes 8-bit BGR2GRAY in 15-bit fixed point (its vector
     * and scalar paths alike): BY15 = 3735, GY15 = 19235, RY15 = 9798 (sum
     * 2^15), rounding constant 2^14. Checked against cv2.cvtColor for all 2^24
     * colours; the 14-bit table (1868, 9617, 4899) differs for some. */
    for (int y = 0; y < bgr->height; y++) {
        const uint8_t *s = au_image_u8_row(bgr, y);
        uint8_t *d = au_image_u8_row(gray, y);
        for (int x = 0; x < bgr->width; x++, s += 3)
            d[x] = (uint8_t)((s[0] * 3735 + s[1] * 19235 + s[2] * 9798 + (1 << 14)) >> 15);
    }
}

void au_gray_u8_to_f32(const AuImageU8 *src, AuImageF32 *dst)
{
    for (int y = 0; y < src->height; y++) {
        const uint8_t *s = au_image_u8_row(src, y);
        float *d = au_image_f32_row(dst, y);
        for (int x = 0; x < src->width; x++)
            d[x] = (float)s[x];
    }
}

void au_image_u8_to_f32c(const AuImageU8 *src, AuImageF32C *dst)
{
    size_t n = (size_t)src->width * (size_t)src->channels;
    for (int y = 0; y < src->height; y++) {
        const uint8_t *s = au_image_u8_row(src, y);
        float *d = au_image_f32c_row(dst, y);
        for (size_t i = 0; i < n; i++)
            d[i] = (float)s[i];
    }
}

float au_sample_bilinear_f32(const AuImageF32 *img, double x, double y)
{
    double fx0 = floor(x), fy0 = floor(y);
    if (!(fx0 > -2.0 && fx0 < (double)img->width && fy0 > -2.0 && fy0 < (double)img->height))
        return 0.0f;
    int x0 = (int)fx0, y0 = (int)fy0;
    double ax = x - fx0, ay = y - fy0;
    double v[4] = {0, 0, 0, 0};
    for (int k = 0; k < 4; k++) {
        int xx = x0 + (k & 1), yy = y0 + (k >> 1);
        if (xx >= 0 && yy >= 0 && xx < img->width && yy < img->height)
            v[k] = au_image_f32_row(img, yy)[xx];
    }
    return (float)((1 - ay) * ((1 - ax) * v[0] + ax * v[1]) + ay * ((1 - ax) * v[2] + ax * v[3]));
}

/* ---- resize (INTER_LINEAR) ------------------------------------------------------ */

/* Horizontal tables of OpenCV's resize for one axis: source index and the two
 * float weights per destination index, with the left clamp (sx < 0) applied;
 * *xmax is the first index whose right neighbour is outside. */
static void resize_x_table(int sw, int dw, double scale, int *ofs, float *alpha, int *xmax)
{
    *xmax = dw;
    for (int dx = 0; dx < dw; dx++) {
        float fx = (float)((dx + 0.5) * scale - 0.5);
        int sx = (int)floorf(fx);
        fx -= (float)sx;
        if (sx < 0) {
            fx = 0;
            sx = 0;
        }
        if (sx + 1 >= sw) {
            if (*xmax > dx)
                *xmax = dx;
            if (sx >= sw - 1) {
                fx = 0;
                sx = sw - 1;
            }
        }
        ofs[dx] = sx;
        alpha[2 * dx] = 1.f - fx;
        alpha[2 * dx + 1] = fx;
    }
}

/* Vertical table: OpenCV does not clamp fy; it clips the row indices instead. */
static void resize_y_table(int dh, double scale, int *ofs, float *beta)
{
    for (int dy = 0; dy < dh; dy++) {
        float fy = (float)((dy + 0.5) * scale - 0.5);
        int sy = (int)floorf(fy);
        fy -= (float)sy;
        ofs[dy] = sy;
        beta[2 * dy] = 1.f - fy;
        beta[2 * dy + 1] = fy;
    }
}

static int clip_row(int y, int h) { return y < 0 ? 0 : y >= h ? h - 1 : y; }

/* OpenCV's scale factors: inv = dst/src, scale = 1/inv; "area fast" when the
 * scale is an integer (within DBL_EPSILON). */
static int resize_is_half(int sw, int sh, int dw, int dh, double *scale_x, double *scale_y)
{
    double inv_x = (double)dw / sw, inv_y = (double)dh / sh;
    *scale_x = 1. / inv_x;
    *scale_y = 1. / inv_y;
    int ix = cv_round_d(*scale_x), iy = cv_round_d(*scale_y);
    int fast = fabs(*scale_x - ix) < 2.220446049250313e-16 && fabs(*scale_y - iy) < 2.220446049250313e-16;
    return fast && ix == 2 && iy == 2;
}

static AuStatus resize_f32_generic(const float *src, size_t sstride, int sw, int sh, float *dst, size_t dstride,
                                   int dw, int dh, int cn, AuError *err)
{
    if (sw == dw && sh == dh) {
        for (int y = 0; y < sh; y++)
            memcpy(dst + (size_t)y * dstride, src + (size_t)y * sstride, sizeof(float) * (size_t)sw * (size_t)cn);
        return AU_OK;
    }
    double scale_x, scale_y;
    if (resize_is_half(sw, sh, dw, dh, &scale_x, &scale_y)) {
        /* INTER_LINEAR at exactly half size is OpenCV's INTER_AREA fast path:
         * the mean of each 2x2 block, sum * 0.25f. */
        for (int dy = 0; dy < dh; dy++) {
            const float *s0 = src + (size_t)(2 * dy) * sstride, *s1 = s0 + sstride;
            float *d = dst + (size_t)dy * dstride;
            /* OpenCV's vector code (1 channel: the first dw/4*4 pixels; 4
             * channels: all) adds the two row sums; its scalar code (the rest)
             * adds left to right. Checked against cv2.resize. */
            int vec_end = cn == 1 ? dw / 4 * 4 : cn == 4 ? dw : 0;
            for (int dx = 0; dx < dw; dx++)
                for (int k = 0; k < cn; k++) {
                    int o = 2 * dx * cn + k;
                    float sum = dx < vec_end ? (s0[o] + s0[o + cn]) + (s1[o] + s1[o + cn])
                                             : ((s0[o] + s0[o + cn]) + s1[o]) + s1[o + cn];
                    d[dx * cn + k] = sum * 0.25f;
                }
        }
        return AU_OK;
    }
    size_t rowlen = (size_t)dw * (size_t)cn;
    int *xofs = malloc(sizeof(int) * (size_t)dw);
    int *yofs = malloc(sizeof(int) * (size_t)dh);
    float *alpha = malloc(sizeof(float) * 2 * (size_t)dw);
    float *beta = malloc(sizeof(float) * 2 * (size_t)dh);
    float *rows = malloc(sizeof(float) * 2 * rowlen);
    if (!xofs || !yofs || !alpha || !beta || !rows) {
        free(xofs), free(yofs), free(alpha), free(beta), free(rows);
        return au_error_set(err, AU_ERR_NOMEM, "resize: out of memory for %dx%d", dw, dh);
    }
    int xmax;
    resize_x_table(sw, dw, scale_x, xofs, alpha, &xmax);
    resize_y_table(dh, scale_y, yofs, beta);
    int have[2] = {-1, -1};
    for (int dy = 0; dy < dh; dy++) {
        int sy[2] = {clip_row(yofs[dy], sh), clip_row(yofs[dy] + 1, sh)};
        for (int r = 0; r < 2; r++) {
            float *buf = rows + (size_t)r * rowlen;
            if (have[r] == sy[r])
                continue;
            if (r == 0 && have[1] == sy[0]) { /* reuse the row computed as the lower one */
                memcpy(buf, rows + rowlen, sizeof(float) * rowlen);
                have[0] = sy[0];
                continue;
            }
            const float *s = src + (size_t)sy[r] * sstride;
            /* s[sx] * alpha0 + s[sx + cn] * alpha1 up to xmax, then the
             * edge pixel; 3 channels (MTCNN's images) unrolled */
            if (cn == 3) {
                for (int dx = 0; dx < xmax; dx++) {
                    const float *p = s + 3 * xofs[dx];
                    float a0 = alpha[2 * dx], a1 = alpha[2 * dx + 1];
                    float *b = buf + 3 * dx;
                    b[0] = p[0] * a0 + p[3] * a1;
                    b[1] = p[1] * a0 + p[4] * a1;
                    b[2] = p[2] * a0 + p[5] * a1;
                }
            } else {
                for (int dx = 0; dx < xmax; dx++) {
                    int sx = xofs[dx] * cn;
                    for (int k = 0; k < cn; k++)
                        buf[dx * cn + k] = s[sx + k] * alpha[2 * dx] + s[sx + k + cn] * alpha[2 * dx + 1];
                }
            }
            for (int dx = xmax; dx < dw; dx++) {
                int sx = xofs[dx] * cn;
                for (int k = 0; k < cn; k++)
                    buf[dx * cn + k] = s[sx + k];
            }
            have[r] = sy[r];
        }
        float b0 = beta[2 * dy], b1 = beta[2 * dy + 1];
        const float *r0 = rows, *r1 = rows + rowlen;
        float *d = dst + (size_t)dy * dstride;
        for (size_t x = 0; x < rowlen; x++)
            d[x] = r0[x] * b0 + r1[x] * b1;
    }
    free(xofs), free(yofs), free(alpha), free(beta), free(rows);
    return AU_OK;
}

AuStatus au_resize_linear_f32c(const AuImageF32C *src, AuImageF32C *dst, AuError *err)
{
    if (!src->data || !dst->data || src->channels != dst->channels || src->channels < 1 || src->channels > 4)
        return au_error_set(err, AU_ERR_ARG, "resize: images missing or channel counts differ (%d vs %d)",
                            src->channels, dst->channels);
    return resize_f32_generic(src->data, src->stride, src->width, src->height, dst->data, dst->stride, dst->width,
                              dst->height, src->channels, err);
}

AuStatus au_resize_linear_f32(const AuImageF32 *src, AuImageF32 *dst, AuError *err)
{
    if (!src->data || !dst->data)
        return au_error_set(err, AU_ERR_ARG, "resize: image not allocated");
    return resize_f32_generic(src->data, src->stride, src->width, src->height, dst->data, dst->stride, dst->width,
                              dst->height, 1, err);
}

AuStatus au_resize_linear_u8(const AuImageU8 *src, AuImageU8 *dst, AuError *err)
{
    if (!src->data || !dst->data || src->channels != dst->channels)
        return au_error_set(err, AU_ERR_ARG, "resize: images missing or channel counts differ");
    int cn = src->channels, sw = src->width, sh = src->height, dw = dst->width, dh = dst->height;
    if (sw == dw && sh == dh) {
        for (int y = 0; y < sh; y++)
            memcpy(au_image_u8_row(dst, y), au_image_u8_row(src, y), (size_t)sw * (size_t)cn);
        return AU_OK;
    }
    double scale_x, scale_y;
    if (resize_is_half(sw, sh, dw, dh, &scale_x, &scale_y)) {
        /* INTER_AREA fast path; OpenCV's vector code rounds (sum + 2) >> 2 for
         * 1, 3 and 4 channels, its scalar code cvRound(sum * 0.25f) otherwise. */
        for (int dy = 0; dy < dh; dy++) {
            const uint8_t *s0 = au_image_u8_row(src, 2 * dy), *s1 = s0 + src->stride;
            uint8_t *d = au_image_u8_row(dst, dy);
            for (int dx = 0; dx < dw; dx++)
                for (int k = 0; k < cn; k++) {
                    int o = 2 * dx * cn + k;
                    int sum = s0[o] + s0[o + cn] + s1[o] + s1[o + cn];
                    d[dx * cn + k] = cn == 2 ? sat_u8(cv_round_f((float)sum * 0.25f)) : (uint8_t)((sum + 2) >> 2);
                }
        }
        return AU_OK;
    }
    size_t rowlen = (size_t)dw * (size_t)cn;
    int *xofs = malloc(sizeof(int) * (size_t)dw);
    int *yofs = malloc(sizeof(int) * (size_t)dh);
    float *alpha = malloc(sizeof(float) * 2 * (size_t)dw);
    float *beta = malloc(sizeof(float) * 2 * (size_t)dh);
    int *rows = malloc(sizeof(int) * 2 * rowlen);
    short *ialpha = malloc(sizeof(short) * 2 * (size_t)dw);
    if (!xofs || !yofs || !alpha || !beta || !rows || !ialpha) {
        free(xofs), free(yofs), free(alpha), free(beta), free(rows), free(ialpha);
        return au_error_set(err, AU_ERR_NOMEM, "resize: out of memory for %dx%d", dw, dh);
    }
    int xmax;
    resize_x_table(sw, dw, scale_x, xofs, alpha, &xmax);
    resize_y_table(dh, scale_y, yofs, beta);
    for (int i = 0; i < 2 * dw; i++)
        ialpha[i] = sat_short(cv_round_f(alpha[i] * INTER_RESIZE_COEF_SCALE));
    for (int dy = 0; dy < dh; dy++) {
        int sy[2] = {clip_row(yofs[dy], sh), clip_row(yofs[dy] + 1, sh)};
        for (int r = 0; r < 2; r++) {
            int *buf = rows + (size_t)r * rowlen;
            const uint8_t *s = au_image_u8_row(src, sy[r]);
            for (int dx = 0; dx < dw; dx++) {
                int sx = xofs[dx] * cn;
                for (int k = 0; k < cn; k++)
                    buf[dx * cn + k] = dx < xmax ? s[sx + k] * ialpha[2 * dx] + s[sx + k + cn] * ialpha[2 * dx + 1]
                                                 : s[sx + k] * INTER_RESIZE_COEF_SCALE;
            }
        }
        int b0 = sat_short(cv_round_f(beta[2 * dy] * INTER_RESIZE_COEF_SCALE));
        int b1 = sat_short(cv_round_f(beta[2 * dy + 1] * INTER_RESIZE_COEF_SCALE));
        const int *r0 = rows, *r1 = rows + rowlen;
        uint8_t *d = au_image_u8_row(dst, dy);
        /* OpenCV's vertical pass for 8 bits is VResizeLinearVec_32s8u's
         * arithmetic at every position (row ends included, as cv2.resize
         * shows): the high 16 bits of (S >> 4) * beta for each row, then
         * (sum + 2) >> 2 saturated. It can differ by one from the exact
         * (S0 b0 + S1 b1 + 2^21) >> 22. */
        for (int x = 0; x < (int)rowlen; x++) {
            int p0 = asr(asr(r0[x], 4) * b0, 16);
            int p1 = asr(asr(r1[x], 4) * b1, 16);
            d[x] = sat_u8(asr(p0 + p1 + 2, 2));
        }
    }
    free(xofs), free(yofs), free(alpha), free(beta), free(rows), free(ialpha);
    return AU_OK;
}

/* ---- bilinear warps ------------------------------------------------------------- */

/* OpenCV's bilinear weight tables, indexed by (fy * 32 + fx) with fx, fy the
 * 1/32 fractions: w0 = (1-fy)(1-fx), w1 = (1-fy) fx, w2 = fy (1-fx), w3 = fy fx.
 * The float products are exact; the 8-bit table is the same scaled by 2^15. */
static void bilinear_weights_f32(int a, float w[4])
{
    float fx = (float)(a & (INTER_TAB_SIZE - 1)) * (1.f / INTER_TAB_SIZE);
    float fy = (float)(a >> INTER_BITS) * (1.f / INTER_TAB_SIZE);
    float x0 = 1.f - fx, y0 = 1.f - fy;
    w[0] = y0 * x0;
    w[1] = y0 * fx;
    w[2] = fy * x0;
    w[3] = fy * fx;
}

static void bilinear_weights_i16(int a, int w[4])
{
    int fx = a & (INTER_TAB_SIZE - 1), fy = a >> INTER_BITS;
    /* (v * 2^15) for v = products of multiples of 1/32: exact integers summing to 2^15. */
    w[0] = (INTER_TAB_SIZE - fy) * (INTER_TAB_SIZE - fx) * 32;
    w[1] = (INTER_TAB_SIZE - fy) * fx * 32;
    w[2] = fy * (INTER_TAB_SIZE - fx) * 32;
    w[3] = fy * fx * 32;
}

/* remapBilinear with BORDER_CONSTANT 0 for one float pixel at integer (sx, sy)
 * (already saturated to short) with table index a. */
static float remap_px_f32(const AuImageF32 *src, int sx, int sy, int a)
{
    int W = src->width, H = src->height;
    if (sx >= W || sx + 1 < 0 || sy >= H || sy + 1 < 0)
        return 0.0f;
    float w[4];
    bilinear_weights_f32(a, w);
    const float *r0 = sy >= 0 ? au_image_f32_row(src, sy) : NULL;
    const float *r1 = sy + 1 < H ? au_image_f32_row(src, sy + 1) : NULL;
    int in0 = sx >= 0, in1 = sx + 1 < W;
    float v0 = r0 && in0 ? r0[sx] : 0.f;
    float v1 = r0 && in1 ? r0[sx + 1] : 0.f;
    float v2 = r1 && in0 ? r1[sx] : 0.f;
    float v3 = r1 && in1 ? r1[sx + 1] : 0.f;
    return v0 * w[0] + v1 * w[1] + v2 * w[2] + v3 * w[3];
}

/* remap_px_f32 reading an 8-bit gray image: float(u8) is exact, so the
 * same products and sum. */
static float remap_px_gray_f32(const AuImageU8 *src, int sx, int sy, int a)
{
    int W = src->width, H = src->height;
    if (sx >= W || sx + 1 < 0 || sy >= H || sy + 1 < 0)
        return 0.0f;
    float w[4];
    bilinear_weights_f32(a, w);
    const uint8_t *r0 = sy >= 0 ? au_image_u8_row(src, sy) : NULL;
    const uint8_t *r1 = sy + 1 < H ? au_image_u8_row(src, sy + 1) : NULL;
    int in0 = sx >= 0, in1 = sx + 1 < W;
    float v0 = r0 && in0 ? (float)r0[sx] : 0.f;
    float v1 = r0 && in1 ? (float)r0[sx + 1] : 0.f;
    float v2 = r1 && in0 ? (float)r1[sx] : 0.f;
    float v3 = r1 && in1 ? (float)r1[sx + 1] : 0.f;
    return v0 * w[0] + v1 * w[1] + v2 * w[2] + v3 * w[3];
}

static void remap_px_u8(const AuImageU8 *src, int sx, int sy, int a, uint8_t *d)
{
    int W = src->width, H = src->height, cn = src->channels;
    if (sx >= W || sx + 1 < 0 || sy >= H || sy + 1 < 0) {
        for (int k = 0; k < cn; k++)
            d[k] = 0;
        return;
    }
    int w[4];
    bilinear_weights_i16(a, w);
    const uint8_t *r0 = sy >= 0 ? au_image_u8_row(src, sy) : NULL;
    const uint8_t *r1 = sy + 1 < H ? au_image_u8_row(src, sy + 1) : NULL;
    int in0 = sx >= 0, in1 = sx + 1 < W;
    for (int k = 0; k < cn; k++) {
        int v0 = r0 && in0 ? r0[sx * cn + k] : 0;
        int v1 = r0 && in1 ? r0[(sx + 1) * cn + k] : 0;
        int v2 = r1 && in0 ? r1[sx * cn + k] : 0;
        int v3 = r1 && in1 ? r1[(sx + 1) * cn + k] : 0;
        int v = v0 * w[0] + v1 * w[1] + v2 * w[2] + v3 * w[3];
        d[k] = sat_u8((v + (1 << (INTER_REMAP_COEF_BITS - 1))) >> INTER_REMAP_COEF_BITS);
    }
}

/* The inverse map as cv::warpAffine builds it (in double) when
 * WARP_INVERSE_MAP is not given. */
static void warp_matrix(const double M0[6], int flags, double M[6])
{
    memcpy(M, M0, 6 * sizeof(double));
    if (!(flags & AU_WARP_INVERSE_MAP)) {
        double D = M[0] * M[4] - M[1] * M[3];
        D = D != 0 ? 1. / D : 0;
        double A11 = M[4] * D, A22 = M[0] * D;
        M[0] = A11;
        M[1] *= -D;
        M[3] *= -D;
        M[4] = A22;
        double b1 = -M[0] * M[2] - M[1] * M[5];
        double b2 = -M[3] * M[2] - M[4] * M[5];
        M[2] = b1;
        M[5] = b2;
    }
}

/* Per-column offsets adelta/bdelta of cv::warpAffine: round(M0 x 1024), round(M3 x 1024). */
static AuStatus warp_deltas(const double M[6], int dw, int **delta, AuError *err)
{
    int *d = malloc(sizeof(int) * 2 * (size_t)dw);
    if (!d)
        return au_error_set(err, AU_ERR_NOMEM, "warpAffine: out of memory for width %d", dw);
    for (int x = 0; x < dw; x++) {
        d[x] = cv_round_d(M[0] * x * AB_SCALE);
        d[dw + x] = cv_round_d(M[3] * x * AB_SCALE);
    }
    *delta = d;
    return AU_OK;
}

/* Source cell and 1/32 table index of destination (x, y) for row starts X0/Y0:
 * exactly WarpAffineInvoker's fixed-point arithmetic. */
static inline void warp_cell(int X0, int Y0, int adelta, int bdelta, int *sx, int *sy, int *a)
{
    int X = asr(wrap_add(X0, adelta), AB_BITS - INTER_BITS);
    int Y = asr(wrap_add(Y0, bdelta), AB_BITS - INTER_BITS);
    *sx = sat_short(asr(X, INTER_BITS));
    *sy = sat_short(asr(Y, INTER_BITS));
    *a = (Y & (INTER_TAB_SIZE - 1)) * INTER_TAB_SIZE + (X & (INTER_TAB_SIZE - 1));
}

static inline void warp_row_start(const double M[6], int y, int *X0, int *Y0)
{
    const int round_delta = AB_SCALE / INTER_TAB_SIZE / 2;
    *X0 = wrap_add(cv_round_d((M[1] * y + M[2]) * AB_SCALE), round_delta);
    *Y0 = wrap_add(cv_round_d((M[4] * y + M[5]) * AB_SCALE), round_delta);
}

/* cv::warpAffine into a float image from a float image (f32) or an 8-bit
 * gray one (u8): one of the two is set. */
static AuStatus warp_affine_to_f32(const AuImageF32 *f32, const AuImageU8 *u8, AuImageF32 *dst, const double M0[6],
                                   int flags, AuError *err)
{
    double M[6];
    warp_matrix(M0, flags, M);
    int *delta;
    AuStatus s = warp_deltas(M, dst->width, &delta, err);
    if (s != AU_OK)
        return s;
    for (int y = 0; y < dst->height; y++) {
        int X0, Y0;
        warp_row_start(M, y, &X0, &Y0);
        float *d = au_image_f32_row(dst, y);
        for (int x = 0; x < dst->width; x++) {
            int sx, sy, a;
            warp_cell(X0, Y0, delta[x], delta[dst->width + x], &sx, &sy, &a);
            d[x] = f32 ? remap_px_f32(f32, sx, sy, a) : remap_px_gray_f32(u8, sx, sy, a);
        }
    }
    free(delta);
    return AU_OK;
}

AuStatus au_warp_affine_f32(const AuImageF32 *src, AuImageF32 *dst, const double M0[6], int flags, AuError *err)
{
    if (!src->data || !dst->data || src->width <= 0 || src->height <= 0)
        return au_error_set(err, AU_ERR_ARG, "warpAffine: image not allocated");
    return warp_affine_to_f32(src, NULL, dst, M0, flags, err);
}

AuStatus au_warp_affine_gray_f32(const AuImageU8 *src, AuImageF32 *dst, const double M0[6], int flags, AuError *err)
{
    if (!src->data || !dst->data || src->width <= 0 || src->height <= 0 || src->channels != 1)
        return au_error_set(err, AU_ERR_ARG, "warpAffine: gray image not allocated or not one channel");
    return warp_affine_to_f32(NULL, src, dst, M0, flags, err);
}

AuStatus au_warp_affine_u8_ref(const AuImageU8 *src, AuImageU8 *dst, const double M0[6], int flags, AuError *err)
{
    if (!src->data || !dst->data || src->width <= 0 || src->height <= 0 || src->channels != dst->channels)
        return au_error_set(err, AU_ERR_ARG, "warpAffine: images missing or channel counts differ");
    double M[6];
    warp_matrix(M0, flags, M);
    int *delta;
    AuStatus s = warp_deltas(M, dst->width, &delta, err);
    if (s != AU_OK)
        return s;
    int cn = src->channels;
    for (int y = 0; y < dst->height; y++) {
        int X0, Y0;
        warp_row_start(M, y, &X0, &Y0);
        uint8_t *d = au_image_u8_row(dst, y);
        for (int x = 0; x < dst->width; x++) {
            int sx, sy, a;
            warp_cell(X0, Y0, delta[x], delta[dst->width + x], &sx, &sy, &a);
            remap_px_u8(src, sx, sy, a, d + (size_t)x * (size_t)cn);
        }
    }
    free(delta);
    return AU_OK;
}

/* ---- the 8-bit warp, fast: the same arithmetic, organised for speed -------------- */

void au_warp_affine_map(const double M[6], int flags, double inv[6]) { warp_matrix(M, flags, inv); }

void au_warp_affine_deltas(const double M[6], int dw, int *adelta, int *bdelta)
{
    for (int x = 0; x < dw; x++) {
        adelta[x] = cv_round_d(M[0] * x * AB_SCALE);
        bdelta[x] = cv_round_d(M[3] * x * AB_SCALE);
    }
}

void au_warp_affine_row_start(const double M[6], int y, int *X0, int *Y0) { warp_row_start(M, y, X0, Y0); }

int au_warp_u8_fast_ok(const AuImageU8 *src)
{
    /* positions stay short-range, and byte offsets fit in int */
    return src->width <= SHRT_MAX && src->height <= SHRT_MAX &&
           (double)src->stride * (double)src->height < 2147483647.0;
}

void au_warp_affine_u8_span(const AuImageU8 *src, uint8_t *d, int X0, int Y0, const int *adelta, const int *bdelta,
                            int x_begin, int x_end)
{
    const int cn = src->channels;
    /* with width and height <= SHRT_MAX (au_warp_u8_fast_ok), a cell with
     * its 2x2 neighbourhood inside the image has unsaturated coordinates */
    const unsigned sx_max = (unsigned)src->width - 1, sy_max = (unsigned)src->height - 1;
    const size_t stride = src->stride;
    for (int x = x_begin; x < x_end; x++) {
        const int X = asr(wrap_add(X0, adelta[x]), AB_BITS - INTER_BITS);
        const int Y = asr(wrap_add(Y0, bdelta[x]), AB_BITS - INTER_BITS);
        const int sx = asr(X, INTER_BITS), sy = asr(Y, INTER_BITS);
        uint8_t *o = d + (size_t)x * (size_t)cn;
        if ((unsigned)sx < sx_max && (unsigned)sy < sy_max) {
            /* OpenCV's weights are 32 x the products of the 1/32 fractions:
             * sum = 32 S with S = (32 - fy) h0 + fy h1, h = (32 - fx) left
             * + fx right, so (sum + 2^14) >> 15 = (S + 2^9) >> 10 exactly
             * (and at most 255: no saturation) */
            const int fx = X & (INTER_TAB_SIZE - 1), fy = Y & (INTER_TAB_SIZE - 1);
            const int gx = INTER_TAB_SIZE - fx, gy = INTER_TAB_SIZE - fy;
            const uint8_t *p0 = src->data + (size_t)sy * stride + (size_t)sx * (size_t)cn, *p1 = p0 + stride;
            if (cn == 3) {
                /* the 12 bytes read before any store (o may alias src for the compiler) */
                const int a0 = p0[0], a1 = p0[1], a2 = p0[2], b0 = p0[3], b1 = p0[4], b2 = p0[5];
                const int c0 = p1[0], c1 = p1[1], c2 = p1[2], d0 = p1[3], d1 = p1[4], d2 = p1[5];
                o[0] = (uint8_t)((gy * (gx * a0 + fx * b0) + fy * (gx * c0 + fx * d0) + (1 << 9)) >> 10);
                o[1] = (uint8_t)((gy * (gx * a1 + fx * b1) + fy * (gx * c1 + fx * d1) + (1 << 9)) >> 10);
                o[2] = (uint8_t)((gy * (gx * a2 + fx * b2) + fy * (gx * c2 + fx * d2) + (1 << 9)) >> 10);
                continue;
            }
            for (int k = 0; k < cn; k++) {
                const int h0 = gx * p0[k] + fx * p0[k + cn], h1 = gx * p1[k] + fx * p1[k + cn];
                o[k] = (uint8_t)((gy * h0 + fy * h1 + (1 << 9)) >> 10);
            }
        } else {
            const int a = (Y & (INTER_TAB_SIZE - 1)) * INTER_TAB_SIZE + (X & (INTER_TAB_SIZE - 1));
            remap_px_u8(src, sat_short(asr(X, INTER_BITS)), sat_short(asr(Y, INTER_BITS)), a, o);
        }
    }
}

/* Destination widths whose column tables live on the stack. */
#define WARP_STACK_W 1024

AuStatus au_warp_affine_u8(const AuImageU8 *src, AuImageU8 *dst, const double M0[6], int flags, AuError *err)
{
    if (!src->data || !dst->data || src->width <= 0 || src->height <= 0 || src->channels != dst->channels)
        return au_error_set(err, AU_ERR_ARG, "warpAffine: images missing or channel counts differ");
    if (!au_warp_u8_fast_ok(src) || dst->width > WARP_STACK_W)
        return au_warp_affine_u8_ref(src, dst, M0, flags, err);
    double M[6];
    warp_matrix(M0, flags, M);
    int adelta[WARP_STACK_W], bdelta[WARP_STACK_W];
    au_warp_affine_deltas(M, dst->width, adelta, bdelta);
    for (int y = 0; y < dst->height; y++) {
        int X0, Y0;
        warp_row_start(M, y, &X0, &Y0);
        au_warp_affine_u8_span(src, au_image_u8_row(dst, y), X0, Y0, adelta, bdelta, 0, dst->width);
    }
    return AU_OK;
}

AuStatus au_remap_linear_f32(const AuImageF32 *src, AuImageF32 *dst, const float *map_x, const float *map_y,
                             AuError *err)
{
    if (!src->data || !dst->data || !map_x || !map_y || src->width <= 0 || src->height <= 0)
        return au_error_set(err, AU_ERR_ARG, "remap: image or map missing");
    for (int y = 0; y < dst->height; y++) {
        const float *mx = map_x + (size_t)y * (size_t)dst->width;
        const float *my = map_y + (size_t)y * (size_t)dst->width;
        float *d = au_image_f32_row(dst, y);
        for (int x = 0; x < dst->width; x++) {
            /* Float maps become 1/32 fixed point: cvRound(v * 32). */
            int sx = cv_round_f(mx[x] * (float)INTER_TAB_SIZE);
            int sy = cv_round_f(my[x] * (float)INTER_TAB_SIZE);
            int a = (sy & (INTER_TAB_SIZE - 1)) * INTER_TAB_SIZE + (sx & (INTER_TAB_SIZE - 1));
            d[x] = remap_px_f32(src, sat_short(asr(sx, INTER_BITS)), sat_short(asr(sy, INTER_BITS)), a);
        }
    }
    return AU_OK;
}
