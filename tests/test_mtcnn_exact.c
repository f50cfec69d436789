/* Bit-exactness of the optimised CNN forward pass, pyramid resize and MTCNN
 * detection.
 *
 * 1. au_cnn_forward against a frozen, straightforward copy of the forward
 *    pass as it was before the speed work (ref_* below: im2col one output
 *    position at a time, the same sgemm call, separate PReLU pass), on every
 *    MTCNN network and every validator view, with random inputs of many sizes
 *    through one reused workspace: outputs must be identical bit for bit.
 * 2. au_resize_linear_f32c against a frozen copy of the resize on the sizes
 *    MTCNN asks for (pyramid levels of a 640x480 frame, crops to 24 and 48),
 *    1 and 3 channels.
 * 3. Known answers: every MTCNN box and score (hex floats) on frame 1 of both
 *    reference videos and on 20 300-W images, and the validator certainty for
 *    OpenFace's frame-1 landmarks and the 300-W labels, as computed by the
 *    code before the speed work (AU_MTCNN_EXACT_DUMP=1 prints the table). */
#include "autest.h"

#include <cblas.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"
#include "imgproc.h"
#include "imread.h"
#include "linalg.h"
#include "mtcnn.h"
#include "mtcnn_model.h"
#include "pts.h"
#include "refcsv.h"
#include "validator.h"
#include "validator_model.h"
#include "video.h"

static AuMtcnnModel g_mtcnn;
static AuValidatorModel g_val;

static int setup(void **state)
{
    (void)state;
    char path[1024];
    AuError err = {0};
    if (au_mtcnn_model_load(&g_mtcnn, autest_path(path, sizeof(path), "openface/models/model/mtcnn_detector/MTCNN_detector.txt"),
                            &err) ||
        au_validator_model_load(&g_val,
                                autest_path(path, sizeof(path), "openface/models/model/detection_validation/validator_cnn.txt"),
                                &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    au_mtcnn_model_free(&g_mtcnn);
    au_validator_model_free(&g_val);
    return 0;
}

/* ---- frozen reference forward pass -------------------------------------------- */

static void ref_conv(const AuCnnConv *c, const float *in, AuCnnShape s, float *out, AuCnnShape *os)
{
    int kh = c->kernel_h, kw = c->kernel_w;
    int yB = s.h - kh + 1, xB = s.w - kw + 1;
    int K = c->in_maps * kh * kw + 1;
    size_t rows = (size_t)yB * (size_t)xB;
    float *M = malloc(sizeof(float) * rows * (size_t)K);
    float *T = malloc(sizeof(float) * rows * (size_t)c->out_maps);
    assert_non_null(M);
    assert_non_null(T);
    /* im2col_multimap: row i*xB + j, column x*kh + y + m*kh*kw, then a 1 */
    for (int i = 0; i < yB; i++)
        for (int j = 0; j < xB; j++) {
            float *row = M + ((size_t)i * (size_t)xB + (size_t)j) * (size_t)K;
            for (int m = 0; m < c->in_maps; m++)
                for (int yy = 0; yy < kh; yy++)
                    for (int xx = 0; xx < kw; xx++)
                        row[xx * kh + yy + m * kh * kw] =
                            in[((size_t)m * (size_t)s.h + (size_t)(i + yy)) * (size_t)s.w + (size_t)(j + xx)];
            row[K - 1] = 1.0f;
        }
    cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, c->out_maps, (int)rows, K, 1.0f, c->im2col_weights,
                c->out_maps, M, K, 0.0f, T, c->out_maps);
    for (size_t r = 0; r < rows; r++)
        for (int k = 0; k < c->out_maps; k++)
            out[(size_t)k * rows + r] = T[r * (size_t)c->out_maps + (size_t)k];
    free(M);
    free(T);
    os->maps = c->out_maps;
    os->h = yB;
    os->w = xB;
}

static void ref_pool(const AuCnnMaxPool *p, const float *in, AuCnnShape s, float *out, AuCnnShape *os)
{
    int out_x = (int)roundf((float)(s.w - p->kernel_x) / (float)p->stride_x) + 1;
    int out_y = (int)roundf((float)(s.h - p->kernel_y) / (float)p->stride_y) + 1;
    for (int m = 0; m < s.maps; m++) {
        const float *im = in + (size_t)m * (size_t)s.h * (size_t)s.w;
        float *om = out + (size_t)m * (size_t)out_y * (size_t)out_x;
        for (size_t i = 0; i < (size_t)out_y * (size_t)out_x; i++)
            om[i] = 0.0f;
        for (int x = 0; x < s.w; x += p->stride_x) {
            int max_x = s.w < x + p->kernel_x ? s.w : x + p->kernel_x;
            int xo = x / p->stride_x;
            if (xo >= out_x)
                continue;
            for (int y = 0; y < s.h; y += p->stride_y) {
                int yo = y / p->stride_y;
                if (yo >= out_y)
                    continue;
                int max_y = s.h < y + p->kernel_y ? s.h : y + p->kernel_y;
                float best = -FLT_MAX;
                for (int xi = x; xi < max_x; xi++)
                    for (int yi = y; yi < max_y; yi++) {
                        float v = im[(size_t)yi * (size_t)s.w + (size_t)xi];
                        if (v > best)
                            best = v;
                    }
                om[(size_t)yo * (size_t)out_x + (size_t)xo] = best;
            }
        }
    }
    os->maps = s.maps;
    os->h = out_y;
    os->w = out_x;
}

static void ref_fc(const AuCnnFullyConnected *fc, const float *in, AuCnnShape s, float *out, AuCnnShape *os)
{
    size_t hw = (size_t)s.h * (size_t)s.w;
    if (s.maps > 1 && s.maps == fc->in) {
        for (int k = 0; k < fc->out; k++)
            for (size_t p = 0; p < hw; p++) {
                double acc = 0;
                for (int m = 0; m < fc->in; m++)
                    acc += (double)fc->weights[(size_t)k * (size_t)fc->in + (size_t)m] * (double)in[(size_t)m * hw + p];
                out[(size_t)k * hw + p] = (float)acc + fc->bias[k];
            }
        os->maps = fc->out;
        os->h = s.h;
        os->w = s.w;
        return;
    }
    float *t = malloc(sizeof(float) * (size_t)s.maps * hw);
    assert_non_null(t);
    for (int m = 0; m < s.maps; m++)
        for (int c = 0; c < s.w; c++)
            for (int r = 0; r < s.h; r++)
                t[(size_t)m * hw + (size_t)c * (size_t)s.h + (size_t)r] = in[(size_t)m * hw + (size_t)r * (size_t)s.w + (size_t)c];
    const float *x = s.maps > 1 ? t : in;
    if (fc->out >= 100) {
        memcpy(out, fc->bias, sizeof(float) * (size_t)fc->out);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, fc->out, 1, fc->in, 1.0f, fc->weights, fc->in, x, 1,
                    1.0f, out, 1);
    } else {
        au_cv_gemv_f32(fc->weights, fc->out, fc->in, fc->in, x, 1.0, fc->bias, 1.0, out);
    }
    free(t);
    os->maps = 1;
    os->h = s.maps > 1 ? fc->out : 1;
    os->w = s.maps > 1 ? 1 : fc->out;
}

/* Returns a malloc'ed copy of the output maps. */
static float *ref_forward(const AuCnn *cnn, const float *in, AuCnnShape s, AuCnnShape *os)
{
    size_t n = (size_t)s.maps * (size_t)s.h * (size_t)s.w;
    float *cur = malloc(sizeof(float) * n);
    assert_non_null(cur);
    memcpy(cur, in, sizeof(float) * n);
    for (int l = 0; l < cnn->n_layers; l++) {
        const AuCnnLayer *L = &cnn->layers[l];
        size_t need = (size_t)s.maps * (size_t)s.h * (size_t)s.w;
        if (L->kind == AU_CNN_CONV)
            need = (size_t)L->conv.out_maps * (size_t)s.h * (size_t)s.w;
        else if (L->kind == AU_CNN_FULLY_CONNECTED)
            need = (size_t)L->fc.out * ((size_t)s.h * (size_t)s.w + 1);
        float *dst = malloc(sizeof(float) * (need ? need : 1));
        assert_non_null(dst);
        AuCnnShape ns = s;
        size_t hw = (size_t)s.h * (size_t)s.w;
        switch (L->kind) {
        case AU_CNN_CONV: ref_conv(&L->conv, cur, s, dst, &ns); break;
        case AU_CNN_MAX_POOL: ref_pool(&L->pool, cur, s, dst, &ns); break;
        case AU_CNN_FULLY_CONNECTED: ref_fc(&L->fc, cur, s, dst, &ns); break;
        case AU_CNN_PRELU:
            memcpy(dst, cur, sizeof(float) * (size_t)s.maps * hw);
            if (s.maps > 1) {
                for (int m = 0; m < s.maps && m < L->prelu.n; m++)
                    for (size_t i = 0; i < hw; i++) {
                        float v = dst[(size_t)m * hw + i];
                        dst[(size_t)m * hw + i] = v >= 0 ? v : v * L->prelu.slopes[m];
                    }
            } else {
                for (int r = 0; r < L->prelu.n && r < s.h; r++)
                    for (int c = 0; c < s.w; c++) {
                        float v = dst[(size_t)r * (size_t)s.w + (size_t)c];
                        dst[(size_t)r * (size_t)s.w + (size_t)c] = v >= 0 ? v : v * L->prelu.slopes[r];
                    }
            }
            break;
        case AU_CNN_RELU:
            for (size_t i = 0; i < need; i++)
                dst[i] = cur[i] > 0 ? cur[i] : 0;
            break;
        case AU_CNN_SIGMOID:
            for (size_t i = 0; i < need; i++)
                dst[i] = 1.0f / (1.0f + expf(-cur[i]));
            break;
        }
        free(cur);
        cur = dst;
        s = ns;
    }
    *os = s;
    return cur;
}

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;

static float rnd(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (float)((double)(g_rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

/* ---- frozen reference resize (core/imgproc.c at b38ae86) ------------------------ */

static int ref_cv_round_d(double v)
{
    double r = nearbyint(v);
    if (!(r >= -2147483648.0 && r <= 2147483647.0))
        return INT_MIN;
    return (int)r;
}

static void ref_resize_x_table(int sw, int dw, double scale, int *ofs, float *alpha, int *xmax)
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
static void ref_resize_y_table(int dh, double scale, int *ofs, float *beta)
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

static int ref_clip_row(int y, int h) { return y < 0 ? 0 : y >= h ? h - 1 : y; }

/* OpenCV's scale factors: inv = dst/src, scale = 1/inv; "area fast" when the
 * scale is an integer (within DBL_EPSILON). */
static int ref_resize_is_half(int sw, int sh, int dw, int dh, double *scale_x, double *scale_y)
{
    double inv_x = (double)dw / sw, inv_y = (double)dh / sh;
    *scale_x = 1. / inv_x;
    *scale_y = 1. / inv_y;
    int ix = ref_cv_round_d(*scale_x), iy = ref_cv_round_d(*scale_y);
    int fast = fabs(*scale_x - ix) < 2.220446049250313e-16 && fabs(*scale_y - iy) < 2.220446049250313e-16;
    return fast && ix == 2 && iy == 2;
}

static AuStatus ref_resize_f32_generic(const float *src, size_t sstride, int sw, int sh, float *dst, size_t dstride,
                                   int dw, int dh, int cn, AuError *err)
{
    if (sw == dw && sh == dh) {
        for (int y = 0; y < sh; y++)
            memcpy(dst + (size_t)y * dstride, src + (size_t)y * sstride, sizeof(float) * (size_t)sw * (size_t)cn);
        return AU_OK;
    }
    double scale_x, scale_y;
    if (ref_resize_is_half(sw, sh, dw, dh, &scale_x, &scale_y)) {
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
    ref_resize_x_table(sw, dw, scale_x, xofs, alpha, &xmax);
    ref_resize_y_table(dh, scale_y, yofs, beta);
    int have[2] = {-1, -1};
    for (int dy = 0; dy < dh; dy++) {
        int sy[2] = {ref_clip_row(yofs[dy], sh), ref_clip_row(yofs[dy] + 1, sh)};
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
            for (int dx = 0; dx < dw; dx++) {
                int sx = xofs[dx] * cn;
                for (int k = 0; k < cn; k++) {
                    if (dx < xmax)
                        buf[dx * cn + k] = s[sx + k] * alpha[2 * dx] + s[sx + k + cn] * alpha[2 * dx + 1];
                    else
                        buf[dx * cn + k] = s[sx + k];
                }
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

static void test_resize_matches_reference(void **state)
{
    (void)state;
    /* pyramid levels of a 640x480 frame with min_face 60 (12/60 * 0.709^i),
     * a half-size case, crops resized to 24 and 48, upscaling, 1 and 3
     * channels */
    const int cases[][4] = {{640, 480, 128, 96}, {640, 480, 91, 69}, {640, 480, 65, 49}, {640, 480, 46, 35},
                            {640, 480, 33, 25},  {640, 480, 23, 18}, {640, 480, 17, 13}, {128, 96, 64, 48},
                            {151, 151, 24, 24},  {97, 97, 48, 48},   {20, 20, 24, 24},  {31, 17, 48, 48},
                            {49, 49, 48, 48},    {24, 24, 24, 24},   {13, 29, 7, 5}};
    int bad = 0;
    for (int cn = 1; cn <= 3; cn += 2)
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            AuImageF32C a, b;
            AuError err = {0};
            assert_int_equal(au_image_f32c_alloc(&a, cases[i][0], cases[i][1], cn, &err), AU_OK);
            assert_int_equal(au_image_f32c_alloc(&b, cases[i][2], cases[i][3], cn, &err), AU_OK);
            size_t n = a.stride * (size_t)a.height, nb = b.stride * (size_t)b.height;
            for (size_t k = 0; k < n; k++)
                a.data[k] = (float)(int)(rnd() * 128.0f + 128.0f);
            float *ref = malloc(sizeof(float) * nb);
            assert_non_null(ref);
            assert_int_equal(au_resize_linear_f32c(&a, &b, &err), AU_OK);
            assert_int_equal(ref_resize_f32_generic(a.data, a.stride, a.width, a.height, ref, b.stride, b.width, b.height,
                                                    cn, &err),
                             AU_OK);
            if (memcmp(ref, b.data, sizeof(float) * nb)) {
                fprintf(stderr, "resize %dx%d -> %dx%d, %d channels: differs\n", cases[i][0], cases[i][1], cases[i][2],
                        cases[i][3], cn);
                bad++;
            }
            free(ref);
            au_image_f32c_free(&a);
            au_image_f32c_free(&b);
        }
    assert_int_equal(bad, 0);
}

/* ---- 1. CNN forward vs reference ------------------------------------------------ */

/* One forward pass through w (reused across calls) compared with the
 * reference; returns 1 when identical. */
static int same_forward(const AuCnn *cnn, AuCnnWork *w, AuCnnShape s, const char *what)
{
    size_t n = (size_t)s.maps * (size_t)s.h * (size_t)s.w;
    float *in = malloc(sizeof(float) * n);
    assert_non_null(in);
    for (size_t i = 0; i < n; i++)
        in[i] = rnd();
    AuError err = {0};
    const float *out;
    AuCnnShape os, ros;
    assert_int_equal(au_cnn_forward(cnn, w, in, s, &out, &os, &err), AU_OK);
    float *ref = ref_forward(cnn, in, s, &ros);
    int ok = os.maps == ros.maps && os.h == ros.h && os.w == ros.w &&
             !memcmp(out, ref, sizeof(float) * (size_t)os.maps * (size_t)os.h * (size_t)os.w);
    if (!ok)
        fprintf(stderr, "%s %dx%dx%d: output differs from the reference\n", what, s.maps, s.h, s.w);
    free(ref);
    free(in);
    return ok;
}

static void test_cnn_forward_matches_reference(void **state)
{
    (void)state;
    AuCnnWork w = {0};
    int bad = 0;
    /* PNet on pyramid-like sizes, large to small and back (buffers reused). */
    const int sizes[][2] = {{12, 12}, {217, 289}, {154, 205}, {13, 17}, {109, 145}, {77, 103}, {55, 73},
                            {39, 52},  {28, 37},   {20, 26},   {14, 19}, {300, 400}, {12, 13}};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        AuCnnShape s = {3, sizes[i][0], sizes[i][1]};
        bad += !same_forward(&g_mtcnn.pnet, &w, s, "PNet");
    }
    for (int i = 0; i < 4; i++) {
        AuCnnShape r = {3, 24, 24}, o = {3, 48, 48};
        bad += !same_forward(&g_mtcnn.rnet, &w, r, "RNet");
        bad += !same_forward(&g_mtcnn.onet, &w, o, "ONet");
    }
    au_cnn_work_free(&w);
    /* every validator view on 60x60 inputs, sharing one workspace */
    for (int v = 0; v < g_val.n_views; v++) {
        AuCnnShape s = {1, g_val.views[v].paw.height, g_val.views[v].paw.width};
        bad += !same_forward(&g_val.views[v].cnn, &w, s, "validator");
        bad += !same_forward(&g_val.views[v].cnn, &w, s, "validator");
    }
    au_cnn_work_free(&w);
    assert_int_equal(bad, 0);
}

/* Max pooling alone on maps full of ties between -0 and +0, NaNs and
 * infinities (where the order of the window scan shows), several window
 * shapes, strides and sizes, including windows clipped at the border and
 * kernels smaller than the stride. */
static void test_max_pool_special_values(void **state)
{
    (void)state;
    const float special[] = {0.0f, -0.0f, NAN, INFINITY, -INFINITY, -FLT_MAX, 1.0f, -1.0f};
    const int shapes[][4] = {{3, 3, 2, 2}, {2, 2, 2, 2}, {3, 3, 1, 1}, {1, 1, 2, 2}, {3, 2, 2, 3}, {4, 4, 3, 3}};
    const int sizes[][2] = {{1, 1}, {2, 3}, {5, 5}, {6, 7}, {11, 12}, {22, 22}, {23, 9}};
    AuCnnWork w = {0};
    int bad = 0;
    for (size_t si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++)
        for (size_t zi = 0; zi < sizeof(sizes) / sizeof(sizes[0]); zi++) {
            AuCnnLayer layer;
            memset(&layer, 0, sizeof(layer));
            layer.kind = AU_CNN_MAX_POOL;
            layer.pool.kernel_y = shapes[si][0];
            layer.pool.kernel_x = shapes[si][1];
            layer.pool.stride_y = shapes[si][2];
            layer.pool.stride_x = shapes[si][3];
            AuCnn net = {1, &layer, {0, 0, 0}, {0, 0, 0}};
            AuCnnShape s = {3, sizes[zi][0], sizes[zi][1]};
            if (s.h < layer.pool.kernel_y || s.w < layer.pool.kernel_x)
                continue;
            size_t n = (size_t)s.maps * (size_t)s.h * (size_t)s.w;
            float *in = malloc(sizeof(float) * n);
            assert_non_null(in);
            for (int trial = 0; trial < 20; trial++) {
                for (size_t i = 0; i < n; i++) {
                    unsigned r = (unsigned)(rnd() * 1000.0f + 1000.0f);
                    /* mostly zeros of both signs, sometimes the rest */
                    in[i] = r % 3 ? special[r % 2] : special[r % 8];
                }
                AuError err = {0};
                const float *out;
                AuCnnShape os, ros;
                assert_int_equal(au_cnn_forward(&net, &w, in, s, &out, &os, &err), AU_OK);
                float *ref = ref_forward(&net, in, s, &ros);
                assert_int_equal(os.h, ros.h);
                assert_int_equal(os.w, ros.w);
                bad += memcmp(out, ref, sizeof(float) * (size_t)os.maps * (size_t)os.h * (size_t)os.w) != 0;
                free(ref);
            }
            free(in);
        }
    au_cnn_work_free(&w);
    assert_int_equal(bad, 0);
}

/* ---- 3. known answers ------------------------------------------------------------- */

/* Known answers, one line per input: "name n_faces x y w h score ..." for
 * MTCNN and "name certainty" for the validator, floats as %a. Generated with
 * AU_MTCNN_EXACT_DUMP=1 from the code before the speed work (commit b38ae86). */
static const char *const k_known[] = {
#include "mtcnn_exact_known.inc"
};

static int g_dump;
static int g_mismatch;
static size_t g_line;

static void emit(const char *line)
{
    if (g_dump) {
        printf("\"%s\",\n", line);
        return;
    }
    size_t n_known = sizeof(k_known) / sizeof(k_known[0]);
    if (g_line >= n_known || strcmp(k_known[g_line], line)) {
        fprintf(stderr, "line %zu: got      %s\n          expected %s\n", g_line, line,
                g_line < n_known ? k_known[g_line] : "(nothing)");
        g_mismatch++;
    }
    g_line++;
}

static void detect_line(AuMtcnn *d, const AuImageU8 *bgr, const char *name)
{
    AuError err = {0};
    const AuMtcnnBox *f;
    int n;
    assert_int_equal(au_mtcnn_detect(d, bgr, 60, 0.6f, 0.7f, 0.7f, &f, &n, &err), AU_OK);
    char line[4096];
    int len = snprintf(line, sizeof(line), "%s %d", name, n);
    for (int i = 0; i < n && len < (int)sizeof(line) - 200; i++)
        len += snprintf(line + len, sizeof(line) - (size_t)len, " %a %a %a %a %a", (double)f[i].x, (double)f[i].y,
                        (double)f[i].w, (double)f[i].h, (double)f[i].score);
    emit(line);
}

static void validate_line(AuValidator *v, const AuImageU8 *bgr, const float *lm, const double rot[3], const char *name)
{
    AuImageU8 gray;
    AuError err = {0};
    assert_int_equal(au_image_u8_alloc(&gray, bgr->width, bgr->height, 1, &err), AU_OK);
    au_bgr_to_gray_u8(bgr, &gray);
    double cert;
    assert_int_equal(au_validator_check(v, rot, &gray, lm, 68, &cert, &err), AU_OK);
    char line[256];
    snprintf(line, sizeof(line), "%s val %.0f %.0f %a", name, rot[0] * 100, rot[1] * 100, cert);
    emit(line);
    au_image_u8_free(&gray);
}

static void test_known_answers(void **state)
{
    (void)state;
    g_dump = getenv("AU_MTCNN_EXACT_DUMP") != NULL;
    g_mismatch = 0;
    g_line = 0;
    AuMtcnn d;
    au_mtcnn_init(&d, &g_mtcnn); /* one detector for every input, as the tracker reuses it */
    AuValidator v;
    au_validator_init(&v, &g_val);
    char path[2048];
    AuError err = {0};
    const char *videos[] = {"default", "changeLighting"};
    for (int i = 0; i < 2; i++) {
        char rel[256];
        snprintf(rel, sizeof(rel), "openface/videos/%s.wmv", videos[i]);
        AuVideo *vid;
        assert_int_equal(au_video_open(&vid, autest_path(path, sizeof(path), rel), &err), AU_OK);
        AuFrame fr = {0};
        assert_int_equal(au_video_read(vid, &fr, &err), AU_OK);
        detect_line(&d, &fr.bgr, videos[i]);
        /* OpenFace's frame-1 landmarks and head pose from its output CSV */
        RefCsv ref;
        snprintf(path, sizeof(path), "%s/openface/reference/%s.csv", autest_data_dir(), videos[i]);
        refcsv_load(&ref, path);
        double x[68], y[68];
        float lm[136];
        refcsv_vec(&ref, 0, "x_", 68, x);
        refcsv_vec(&ref, 0, "y_", 68, y);
        for (int k = 0; k < 68; k++) {
            lm[k] = (float)x[k];
            lm[68 + k] = (float)y[k];
        }
        double rot[3] = {refcsv_get(&ref, 0, "pose_Rx"), refcsv_get(&ref, 0, "pose_Ry"), refcsv_get(&ref, 0, "pose_Rz")};
        validate_line(&v, &fr.bgr, lm, rot, videos[i]);
        refcsv_free(&ref);
        au_frame_free(&fr);
        au_video_close(vid);
    }
    /* 20 300-W images (every 11th of the 224), with their labelled landmarks
     * under three head rotations (three validator views) */
    AuImageU8 img = {0};
    for (int i = 1; i <= 210; i += 11) {
        char rel[256];
        snprintf(rel, sizeof(rel), "datasets/300w_lfpw_test_crops/lfpw_test_image_%04d.jpg", i);
        assert_int_equal(au_jpeg_read_bgr(autest_path(path, sizeof(path), rel), &img, &err), AU_OK);
        detect_line(&d, &img, rel + 30);
        snprintf(rel, sizeof(rel), "datasets/300w_lfpw_test_crops/lfpw_test_image_%04d.pts", i);
        AuhPts pts;
        assert_int_equal(auh_pts_read(&pts, autest_path(path, sizeof(path), rel), &err), AU_OK);
        float lm[136];
        for (int k = 0; k < 68; k++) {
            lm[k] = (float)(pts.x[k] - 1);
            lm[68 + k] = (float)(pts.y[k] - 1);
        }
        const double rots[3][3] = {{0, 0, 0}, {0, 0.5, 0}, {0.1, -0.8, 0}};
        for (int r = 0; r < 3; r++)
            validate_line(&v, &img, lm, rots[r], rel + 30);
        auh_pts_free(&pts);
    }
    au_image_u8_free(&img);
    au_validator_free(&v);
    au_mtcnn_free(&d);
    if (!g_dump) {
        assert_int_equal(g_line, sizeof(k_known) / sizeof(k_known[0]));
        assert_int_equal(g_mismatch, 0);
    }
}

/* AU_MTCNN_BENCH=<video name>: instead of the tests, one detection with a
 * fresh detector (as at the start of a video) and one validation on frame 1
 * of that reference video, for instruction counts:
 *   OPENBLAS_NUM_THREADS=1 AU_MTCNN_BENCH=default valgrind --tool=callgrind \
 *     --toggle-collect=au_mtcnn_detect build/tests/test_mtcnn_exact
 * (--toggle-collect=au_validator_check for the validation) */
static int bench(const char *video)
{
    if (setup(NULL))
        return 1;
    char rel[256], path[2048];
    AuError err = {0};
    snprintf(rel, sizeof(rel), "openface/videos/%s.wmv", video);
    AuVideo *vid;
    AuFrame fr = {0};
    if (au_video_open(&vid, autest_path(path, sizeof(path), rel), &err) || au_video_read(vid, &fr, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    AuMtcnn d;
    au_mtcnn_init(&d, &g_mtcnn);
    const AuMtcnnBox *f;
    int n = 0;
    if (au_mtcnn_detect(&d, &fr.bgr, 60, 0.6f, 0.7f, 0.7f, &f, &n, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    printf("%s: %d faces\n", video, n);
    /* one validation of OpenFace's frame-1 landmarks */
    RefCsv ref;
    snprintf(path, sizeof(path), "%s/openface/reference/%s.csv", autest_data_dir(), video);
    refcsv_load(&ref, path);
    double x[68], y[68];
    float lm[136];
    refcsv_vec(&ref, 0, "x_", 68, x);
    refcsv_vec(&ref, 0, "y_", 68, y);
    for (int k = 0; k < 68; k++) {
        lm[k] = (float)x[k];
        lm[68 + k] = (float)y[k];
    }
    double rot[3] = {refcsv_get(&ref, 0, "pose_Rx"), refcsv_get(&ref, 0, "pose_Ry"), refcsv_get(&ref, 0, "pose_Rz")};
    refcsv_free(&ref);
    AuImageU8 gray;
    AuValidator v;
    au_validator_init(&v, &g_val);
    double cert = 0;
    if (au_image_u8_alloc(&gray, fr.bgr.width, fr.bgr.height, 1, &err))
        return 1;
    au_bgr_to_gray_u8(&fr.bgr, &gray);
    if (au_validator_check(&v, rot, &gray, lm, 68, &cert, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    printf("%s: validator certainty %.6f\n", video, cert);
    au_validator_free(&v);
    au_image_u8_free(&gray);
    au_mtcnn_free(&d);
    au_frame_free(&fr);
    au_video_close(vid);
    teardown(NULL);
    return 0;
}

int main(void)
{
    const char *b = getenv("AU_MTCNN_BENCH");
    if (b)
        return bench(b);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cnn_forward_matches_reference),
        cmocka_unit_test(test_max_pool_special_values),
        cmocka_unit_test(test_resize_matches_reference),
        cmocka_unit_test(test_known_answers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
