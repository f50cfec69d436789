#include "cnn.h"

#include "linalg.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

void au_cnn_work_free(AuCnnWork *w)
{
    if (!w)
        return;
    free(w->buf[0]);
    free(w->buf[1]);
    free(w->im2col);
    free(w->tmp);
    memset(w, 0, sizeof(*w));
}

/* Work buffers never need their old contents: free + malloc instead of
 * realloc (which would copy them). */
static int grow(float **p, size_t *cap, size_t n)
{
    if (n <= *cap)
        return 0;
    free(*p);
    *p = malloc(n * sizeof(float));
    if (!*p) {
        *cap = 0;
        return -1;
    }
    *cap = n;
    return 0;
}

/* The element-wise layer that directly follows a convolution, applied while
 * its output is transposed into maps (the values are those the separate
 * layer computes from the stored convolution output). */
typedef struct ConvActivation {
    int kind;            /* AU_CNN_CONV (none), AU_CNN_PRELU or AU_CNN_RELU */
    const float *slopes; /* PReLU: one per map, for maps < n_slopes */
    int n_slopes;
} ConvActivation;

static inline float activate(float v, int kind, float slope)
{
    if (kind == AU_CNN_PRELU)
        return v >= 0 ? v : v * slope;
    if (kind == AU_CNN_RELU)
        return v > 0 ? v : 0;
    return v;
}

static int map_kind(ConvActivation act, int k)
{
    return act.kind == AU_CNN_PRELU && k >= act.n_slopes ? AU_CNN_CONV : act.kind;
}

#if defined(__SSE2__)
/* The scalar activate() on four values: the same comparison selects between
 * the same two results (v, v * slope or 0), NaN and -0 included. */
static inline __m128 activate4(__m128 v, int kind, __m128 slope)
{
    if (kind == AU_CNN_PRELU) {
        __m128 ge = _mm_cmpge_ps(v, _mm_setzero_ps());
        return _mm_or_ps(_mm_and_ps(ge, v), _mm_andnot_ps(ge, _mm_mul_ps(v, slope)));
    }
    if (kind == AU_CNN_RELU)
        return _mm_and_ps(_mm_cmpgt_ps(v, _mm_setzero_ps()), v);
    return v;
}
#endif

/* out[k * rows + r] = activation_k(T[r * nm + k]): OpenFace's out.t() of the
 * sgemm result followed by the element-wise layer. */
static void transpose_activate(const float *T, size_t rows, int nm, ConvActivation act, float *out)
{
    size_t r = 0;
#if defined(__SSE2__)
    /* 4 x 4 blocks transposed in registers */
    for (; r + 4 <= rows; r += 4) {
        const float *t = T + r * (size_t)nm;
        int k = 0;
        for (; k + 4 <= nm; k += 4) {
            int kind = map_kind(act, k);
            if (map_kind(act, k + 3) != kind)
                break;
            __m128 a0 = _mm_loadu_ps(t + k), a1 = _mm_loadu_ps(t + (size_t)nm + (size_t)k);
            __m128 a2 = _mm_loadu_ps(t + 2 * (size_t)nm + (size_t)k), a3 = _mm_loadu_ps(t + 3 * (size_t)nm + (size_t)k);
            _MM_TRANSPOSE4_PS(a0, a1, a2, a3);
            float *o = out + (size_t)k * rows + r;
            if (kind == AU_CNN_PRELU) {
                _mm_storeu_ps(o, activate4(a0, kind, _mm_set1_ps(act.slopes[k])));
                _mm_storeu_ps(o + rows, activate4(a1, kind, _mm_set1_ps(act.slopes[k + 1])));
                _mm_storeu_ps(o + 2 * rows, activate4(a2, kind, _mm_set1_ps(act.slopes[k + 2])));
                _mm_storeu_ps(o + 3 * rows, activate4(a3, kind, _mm_set1_ps(act.slopes[k + 3])));
            } else {
                __m128 z = _mm_setzero_ps();
                _mm_storeu_ps(o, activate4(a0, kind, z));
                _mm_storeu_ps(o + rows, activate4(a1, kind, z));
                _mm_storeu_ps(o + 2 * rows, activate4(a2, kind, z));
                _mm_storeu_ps(o + 3 * rows, activate4(a3, kind, z));
            }
        }
        for (; k < nm; k++) {
            int kind = map_kind(act, k);
            float slope = kind == AU_CNN_PRELU ? act.slopes[k] : 0;
            float *o = out + (size_t)k * rows + r;
            for (size_t i = 0; i < 4; i++)
                o[i] = activate(t[i * (size_t)nm + (size_t)k], kind, slope);
        }
    }
#endif
    for (; r < rows; r++) {
        const float *t = T + r * (size_t)nm;
        for (int k = 0; k < nm; k++) {
            int kind = map_kind(act, k);
            out[(size_t)k * rows + r] = activate(t[k], kind, kind == AU_CNN_PRELU ? act.slopes[k] : 0);
        }
    }
}

/* im2col_multimap, one row (output position) at a time, written
 * contiguously: row i*xB + j holds, at column m*kh*kw + x*kh + y, input pixel
 * (i + y, j + x) of map m, then a 1 for the bias. The fixed-size kernels get
 * their own loops so that the compiler unrolls them. */
#define IM2COL_ROWS(KH, KW)                                                                                       \
    for (int i = 0; i < yB; i++)                                                                                  \
        for (int j = 0; j < xB; j++) {                                                                            \
            float *row = M + ((size_t)i * (size_t)xB + (size_t)j) * (size_t)K;                                    \
            const float *base = in + (size_t)i * (size_t)s.w + (size_t)j;                                         \
            for (int m = 0; m < c->in_maps; m++, base += plane)                                                   \
                for (int xx = 0; xx < (KW); xx++)                                                                 \
                    for (int yy = 0; yy < (KH); yy++)                                                             \
                        *row++ = base[(size_t)yy * (size_t)s.w + (size_t)xx];                                     \
            *row = 1.0f;                                                                                          \
        }

/* convolution_direct_blas: out = im2col * W computed with the same
 * column-major sgemm call as OpenFace, then out.t() (map k is column k of
 * the rows x out_maps result) with the following activation applied. */
static int conv_layer(const AuCnnConv *c, AuCnnWork *w, const float *in, AuCnnShape s, float *out, AuCnnShape *os,
                      ConvActivation act)
{
    int kh = c->kernel_h, kw = c->kernel_w;
    int yB = s.h - kh + 1, xB = s.w - kw + 1;
    int K = c->in_maps * kh * kw + 1;
    size_t rows = (size_t)yB * (size_t)xB;
    size_t plane = (size_t)s.h * (size_t)s.w;
    if (grow(&w->im2col, &w->im2col_cap, rows * (size_t)K) || grow(&w->tmp, &w->tmp_cap, rows * (size_t)c->out_maps))
        return -1;
    float *M = w->im2col;
    if (kh == 3 && kw == 3) {
        IM2COL_ROWS(3, 3)
    } else if (kh == 2 && kw == 2) {
        IM2COL_ROWS(2, 2)
    } else {
        IM2COL_ROWS(kh, kw)
    }
    cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, c->out_maps, (int)rows, K, 1.0f, c->im2col_weights,
                c->out_maps, M, K, 0.0f, w->tmp, c->out_maps);
    transpose_activate(w->tmp, rows, c->out_maps, act, out);
    os->maps = c->out_maps;
    os->h = yB;
    os->w = xB;
    return 0;
}

/* Max pooling as OpenFace's max_pooling: windows of kernel_x x kernel_y every
 * stride, clipped at the border, caffe-style output size; positions no window
 * starts at stay 0. OpenFace scans a window column by column, top to bottom,
 * from -FLT_MAX, keeping a value only when it is greater: the result is the
 * first element (in that order) of the maximum value, NaNs skipped, -FLT_MAX
 * when all are -inf. Taking, for each column, the first maximum of its
 * window rows (same scan), then the first maximum of those column results
 * from left to right, gives that same element, so the column maxima of an
 * output row are computed once and shared by the overlapping windows. */
static inline float first_max(float v, float best)
{
    return v > best ? v : best;
}

/* colmax[x] = first maximum of rows[0..ny)[x], from -FLT_MAX: never NaN, never
 * below -FLT_MAX. */
static void column_max(const float *restrict r0, size_t W, int ny, float *restrict colmax)
{
    if (ny == 3) {
        const float *restrict r1 = r0 + W, *restrict r2 = r1 + W;
        for (size_t x = 0; x < W; x++)
            colmax[x] = first_max(r2[x], first_max(r1[x], first_max(r0[x], -FLT_MAX)));
    } else if (ny == 2) {
        const float *restrict r1 = r0 + W;
        for (size_t x = 0; x < W; x++)
            colmax[x] = first_max(r1[x], first_max(r0[x], -FLT_MAX));
    } else {
        for (size_t x = 0; x < W; x++)
            colmax[x] = first_max(r0[x], -FLT_MAX);
        for (int yi = 1; yi < ny; yi++) {
            const float *restrict r = r0 + (size_t)yi * W;
            for (size_t x = 0; x < W; x++)
                colmax[x] = first_max(r[x], colmax[x]);
        }
    }
}

static int max_pool(const AuCnnMaxPool *p, AuCnnWork *w, const float *in, AuCnnShape s, float *out, AuCnnShape *os)
{
    int kx = p->kernel_x, sx = p->stride_x;
    int out_x = (int)roundf((float)(s.w - kx) / (float)sx) + 1;
    int out_y = (int)roundf((float)(s.h - p->kernel_y) / (float)p->stride_y) + 1;
    size_t W = (size_t)s.w;
    /* windows [x, x + kx) entirely inside */
    int n_full = s.w >= kx ? (s.w - kx) / sx + 1 : 0;
    if (n_full > out_x)
        n_full = out_x;
    if (grow(&w->tmp, &w->tmp_cap, W))
        return -1;
    float *colmax = w->tmp;
    for (int m = 0; m < s.maps; m++) {
        const float *im = in + (size_t)m * (size_t)s.h * W;
        float *om = out + (size_t)m * (size_t)out_y * (size_t)out_x;
        for (int yo = 0; yo < out_y; yo++) {
            int y = yo * p->stride_y;
            float *orow = om + (size_t)yo * (size_t)out_x;
            if (y >= s.h) {
                for (int xo = 0; xo < out_x; xo++)
                    orow[xo] = 0.0f;
                continue;
            }
            int ny = s.h - y < p->kernel_y ? s.h - y : p->kernel_y;
            column_max(im + (size_t)y * W, W, ny, colmax);
            /* colmax >= -FLT_MAX, so the window's scan can start from its
             * first column */
            int xo = 0;
            if (kx == 3)
                for (; xo < n_full; xo++) {
                    const float *c = colmax + (size_t)xo * (size_t)sx;
                    orow[xo] = first_max(c[2], first_max(c[1], c[0]));
                }
            else if (kx == 2)
                for (; xo < n_full; xo++) {
                    const float *c = colmax + (size_t)xo * (size_t)sx;
                    orow[xo] = first_max(c[1], c[0]);
                }
            for (; xo < out_x; xo++) {
                int x = xo * sx;
                if (x >= s.w) {
                    orow[xo] = 0.0f;
                    continue;
                }
                int nx = s.w - x < kx ? s.w - x : kx;
                float best = -FLT_MAX;
                for (int xi = 0; xi < nx; xi++)
                    best = first_max(colmax[x + xi], best);
                orow[xo] = best;
            }
        }
    }
    os->maps = s.maps;
    os->h = out_y;
    os->w = out_x;
    return 0;
}

/* fully_connected: with several maps, either per pixel (as many maps as the
 * layer's inputs: out map k = sum_m W[k][m] * map m + b[k]) or flattened map by
 * map, each map transposed (column by column), into one column; a single map
 * (a column vector) is multiplied directly and the result is a row. OpenCV's
 * float gemm accumulates in double. */
static int fully_connected(const AuCnnFullyConnected *fc, AuCnnWork *w, const float *in, AuCnnShape s, float *out,
                           AuCnnShape *os)
{
    size_t hw = (size_t)s.h * (size_t)s.w;
    if (s.maps > 1 && s.maps == fc->in) {
        /* Per pixel: acc = 0, then + W[k][m] * map m for m = 0, 1, ... in
         * double, as OpenFace's loop; a block of pixels at a time so that
         * the maps are read contiguously. */
        enum { BLOCK = 64 };
        double acc[BLOCK];
        for (int k = 0; k < fc->out; k++) {
            const float *wk = fc->weights + (size_t)k * (size_t)fc->in;
            for (size_t p0 = 0; p0 < hw; p0 += BLOCK) {
                size_t n = hw - p0 < BLOCK ? hw - p0 : BLOCK;
                for (size_t i = 0; i < n; i++)
                    acc[i] = 0;
                for (int m = 0; m < fc->in; m++) {
                    double wm = (double)wk[m];
                    const float *x = in + (size_t)m * hw + p0;
                    for (size_t i = 0; i < n; i++)
                        acc[i] += wm * (double)x[i];
                }
                float *o = out + (size_t)k * hw + p0;
                for (size_t i = 0; i < n; i++)
                    o[i] = (float)acc[i] + fc->bias[k];
            }
        }
        os->maps = fc->out;
        os->h = s.h;
        os->w = s.w;
        return 0;
    }
    const float *x = in;
    if (s.maps > 1) {
        if (grow(&w->tmp, &w->tmp_cap, (size_t)s.maps * hw))
            return -1;
        float *t = w->tmp;
        for (int m = 0; m < s.maps; m++)
            for (int c = 0; c < s.w; c++)
                for (int r = 0; r < s.h; r++)
                    t[(size_t)m * hw + (size_t)c * (size_t)s.h + (size_t)r] = in[(size_t)m * hw + (size_t)r * (size_t)s.w + (size_t)c];
        x = t;
    }
    /* weights * x + biases is cv::gemm(W, x, 1, b, 1): from 100 output rows
     * OpenCV's LAPACK HAL runs it as sgemm on a copy of the biases, below
     * that OpenCV's own kernel (double sums). */
    if (fc->out >= 100) {
        memcpy(out, fc->bias, sizeof(float) * (size_t)fc->out);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, fc->out, 1, fc->in, 1.0f, fc->weights, fc->in, x, 1,
                    1.0f, out, 1);
    } else {
        au_cv_gemv_f32(fc->weights, fc->out, fc->in, fc->in, x, 1.0, fc->bias, 1.0, out);
    }
    os->maps = 1;
    if (s.maps > 1) { /* a column: out x 1 */
        os->h = fc->out;
        os->w = 1;
    } else { /* (W x + b)^T: a row, 1 x out */
        os->h = 1;
        os->w = fc->out;
    }
    return 0;
}

AuStatus au_cnn_forward(const AuCnn *cnn, AuCnnWork *w, const float *in, AuCnnShape s, const float **out,
                        AuCnnShape *out_shape, AuError *err)
{
    const float *cur = in;
    int which = 0;
    for (int l = 0; l < cnn->n_layers; l++) {
        const AuCnnLayer *L = &cnn->layers[l];
        AuCnnShape ns = s;
        /* Upper bound of the output size of this layer. */
        size_t need = (size_t)s.maps * (size_t)s.h * (size_t)s.w;
        if (L->kind == AU_CNN_CONV)
            need = (size_t)L->conv.out_maps * (size_t)s.h * (size_t)s.w;
        else if (L->kind == AU_CNN_FULLY_CONNECTED)
            need = (size_t)L->fc.out * ((size_t)s.h * (size_t)s.w + 1);
        if (L->kind == AU_CNN_CONV && (L->conv.in_maps != s.maps || L->conv.kernel_h > s.h || L->conv.kernel_w > s.w))
            return au_error_set(err, AU_ERR_ARG, "CNN layer %d: input %dx%dx%d does not fit the convolution", l, s.maps,
                                s.h, s.w);
        if (grow(&w->buf[which], &w->cap[which], need ? need : 1))
            return au_error_set(err, AU_ERR_NOMEM, "out of memory in CNN inference");
        float *dst = w->buf[which];
        int rc = 0;
        switch (L->kind) {
        case AU_CNN_CONV: {
            /* a PReLU (on several maps) or ReLU right after is applied by the
             * convolution as it stores its output */
            ConvActivation act = {AU_CNN_CONV, NULL, 0};
            const AuCnnLayer *next = l + 1 < cnn->n_layers ? &cnn->layers[l + 1] : NULL;
            if (next && next->kind == AU_CNN_PRELU && L->conv.out_maps > 1)
                act = (ConvActivation){AU_CNN_PRELU, next->prelu.slopes, next->prelu.n};
            else if (next && next->kind == AU_CNN_RELU)
                act = (ConvActivation){AU_CNN_RELU, NULL, 0};
            rc = conv_layer(&L->conv, w, cur, s, dst, &ns, act);
            if (act.kind != AU_CNN_CONV)
                l++;
            break;
        }
        case AU_CNN_MAX_POOL: rc = max_pool(&L->pool, w, cur, s, dst, &ns); break;
        case AU_CNN_FULLY_CONNECTED:
            if (s.maps > 1 ? (s.maps != L->fc.in && (size_t)s.maps * (size_t)s.h * (size_t)s.w != (size_t)L->fc.in)
                           : (size_t)s.h * (size_t)s.w != (size_t)L->fc.in)
                return au_error_set(err, AU_ERR_ARG, "CNN layer %d: input %dx%dx%d does not fit the fully connected layer",
                                    l, s.maps, s.h, s.w);
            rc = fully_connected(&L->fc, w, cur, s, dst, &ns);
            break;
        case AU_CNN_PRELU: {
            /* several maps: one slope per map (maps beyond the slopes are
             * copied); one map: one slope per row */
            size_t hw = (size_t)s.h * (size_t)s.w;
            if (s.maps > 1) {
                for (int m = 0; m < s.maps; m++) {
                    const float *src = cur + (size_t)m * hw;
                    float *d = dst + (size_t)m * hw;
                    if (m < L->prelu.n) {
                        float slope = L->prelu.slopes[m];
                        for (size_t i = 0; i < hw; i++)
                            d[i] = activate(src[i], AU_CNN_PRELU, slope);
                    } else {
                        memcpy(d, src, sizeof(float) * hw);
                    }
                }
            } else {
                for (int r = 0; r < s.h; r++) {
                    const float *src = cur + (size_t)r * (size_t)s.w;
                    float *d = dst + (size_t)r * (size_t)s.w;
                    if (r < L->prelu.n) {
                        float slope = L->prelu.slopes[r];
                        for (int c = 0; c < s.w; c++)
                            d[c] = activate(src[c], AU_CNN_PRELU, slope);
                    } else {
                        memcpy(d, src, sizeof(float) * (size_t)s.w);
                    }
                }
            }
            break;
        }
        case AU_CNN_RELU:
            for (size_t i = 0; i < need; i++)
                dst[i] = cur[i] > 0 ? cur[i] : 0;
            break;
        case AU_CNN_SIGMOID:
            for (size_t i = 0; i < need; i++)
                dst[i] = 1.0f / (1.0f + expf(-cur[i]));
            break;
        }
        if (rc)
            return au_error_set(err, AU_ERR_NOMEM, "out of memory in CNN inference");
        cur = dst;
        s = ns;
        which ^= 1;
    }
    *out = cur;
    *out_shape = s;
    return AU_OK;
}
