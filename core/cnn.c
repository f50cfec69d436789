#include "cnn.h"

#include "linalg.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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

static int grow(float **p, size_t *cap, size_t n)
{
    if (n <= *cap)
        return 0;
    float *q = realloc(*p, n * sizeof(float));
    if (!q)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

/* convolution_direct_blas: im2col_multimap rows are output positions (y major,
 * then x), columns x*kh + y + in*kh*kw, then a 1 for the bias; out = im2col * W
 * computed with the same column-major sgemm call as OpenFace. */
static int conv_layer(const AuCnnConv *c, AuCnnWork *w, const float *in, AuCnnShape s, float *out, AuCnnShape *os)
{
    int kh = c->kernel_h, kw = c->kernel_w;
    int yB = s.h - kh + 1, xB = s.w - kw + 1;
    int K = c->in_maps * kh * kw + 1;
    size_t rows = (size_t)yB * (size_t)xB;
    if (grow(&w->im2col, &w->im2col_cap, rows * (size_t)K) || grow(&w->tmp, &w->tmp_cap, rows * (size_t)c->out_maps))
        return -1;
    float *M = w->im2col;
    int stride = kh * kw;
    /* Row by row of outputs; within a row, one column of M at a time, filled
     * from a contiguous run of the input (the same values in the same
     * places as one output position at a time, with long inner loops). */
    for (int i = 0; i < yB; i++) {
        float *Mrow = M + (size_t)i * (size_t)xB * (size_t)K;
        for (int m = 0; m < c->in_maps; m++)
            for (int yy = 0; yy < kh; yy++) {
                const float *Mi = in + ((size_t)m * (size_t)s.h + (size_t)(i + yy)) * (size_t)s.w;
                for (int xx = 0; xx < kw; xx++) {
                    float *col = Mrow + (size_t)(xx * kh + yy + m * stride);
                    const float *src = Mi + xx;
                    for (int j = 0; j < xB; j++)
                        col[(size_t)j * (size_t)K] = src[j];
                }
            }
        for (int j = 0; j < xB; j++)
            Mrow[(size_t)j * (size_t)K + (size_t)(K - 1)] = 1.0f;
    }
    cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, c->out_maps, (int)rows, K, 1.0f, c->im2col_weights,
                c->out_maps, M, K, 0.0f, w->tmp, c->out_maps);
    /* out.t(): map k is column k of the rows x out result (read row by row,
     * each value to its map) */
    for (size_t r = 0; r < rows; r++) {
        const float *t = w->tmp + r * (size_t)c->out_maps;
        for (int k = 0; k < c->out_maps; k++)
            out[(size_t)k * rows + r] = t[k];
    }
    os->maps = c->out_maps;
    os->h = yB;
    os->w = xB;
    return 0;
}

static void max_pool(const AuCnnMaxPool *p, const float *in, AuCnnShape s, float *out, AuCnnShape *os)
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
        case AU_CNN_CONV: rc = conv_layer(&L->conv, w, cur, s, dst, &ns); break;
        case AU_CNN_MAX_POOL: max_pool(&L->pool, cur, s, dst, &ns); break;
        case AU_CNN_FULLY_CONNECTED:
            if (s.maps > 1 ? (s.maps != L->fc.in && (size_t)s.maps * (size_t)s.h * (size_t)s.w != (size_t)L->fc.in)
                           : (size_t)s.h * (size_t)s.w != (size_t)L->fc.in)
                return au_error_set(err, AU_ERR_ARG, "CNN layer %d: input %dx%dx%d does not fit the fully connected layer",
                                    l, s.maps, s.h, s.w);
            rc = fully_connected(&L->fc, w, cur, s, dst, &ns);
            break;
        case AU_CNN_PRELU: {
            size_t hw = (size_t)s.h * (size_t)s.w;
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
