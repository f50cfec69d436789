#include "cnn_weights.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *au_cnn_layer_kind_name(AuCnnLayerKind kind)
{
    switch (kind) {
    case AU_CNN_CONV: return "convolution";
    case AU_CNN_MAX_POOL: return "max pooling";
    case AU_CNN_FULLY_CONNECTED: return "fully connected";
    case AU_CNN_PRELU: return "PReLU";
    case AU_CNN_RELU: return "ReLU";
    case AU_CNN_SIGMOID: return "sigmoid";
    }
    return "unknown";
}

void au_cnn_free(AuCnn *cnn)
{
    if (!cnn)
        return;
    for (int l = 0; l < cnn->n_layers && cnn->layers; l++) {
        AuCnnLayer *L = &cnn->layers[l];
        free(L->conv.kernels);
        free(L->conv.bias);
        free(L->conv.im2col_weights);
        free(L->fc.weights);
        free(L->fc.bias);
        free(L->prelu.slopes);
    }
    free(cnn->layers);
    memset(cnn, 0, sizeof(*cnn));
}

/* ---- raw pieces ---- */

/* n floats straight from the file buffer (one bounds check, one memcpy), then
 * rejects any non-finite value: OpenFace would accept it, but a NaN or Inf
 * weight only arises from corruption and would poison every later output. */
static AuStatus read_floats(AuReader *r, float *dst, size_t n, const char *what)
{
    if (n > au_bin_remaining(r) / 4)
        return au_reader_fail_offset(r, AU_ERR_FORMAT, "truncated: %s needs %zu bytes, %zu left", what, n * 4,
                                     au_bin_remaining(r));
    size_t start = r->pos;
    if (n)
        memcpy(dst, r->data + r->pos, n * 4); /* the files are little-endian, as are x86-64 and aarch64 */
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(dst[i])) {
            r->pos = start + i * 4;
            return au_reader_fail_offset(r, AU_ERR_FORMAT, "%s: value %zu is not a finite number", what, i);
        }
    }
    r->pos = start + n * 4;
    return AU_OK;
}

/* ReadMatBin's header (int32 rows, cols, OpenCV type) for a float matrix of
 * any size: OpenFace reads these into cv::Mat_<float> through a cv::Mat&, which
 * keeps the file's type, so any other type would be misread as floats. */
static AuStatus read_f32_header(AuReader *r, int32_t *rows, int32_t *cols, const char *what)
{
    size_t start = r->pos;
    int32_t type;
    AuStatus st;
    if ((st = au_bin_i32(r, rows, what)) || (st = au_bin_i32(r, cols, what)) || (st = au_bin_i32(r, &type, what)))
        return st;
    if (*rows < 1 || *cols < 1 || *rows > AU_MAT_MAX_DIM || *cols > AU_MAT_MAX_DIM || type != AU_MAT_F32) {
        r->pos = start;
        return au_reader_fail_offset(r, AU_ERR_FORMAT,
                                     "%s: invalid matrix header rows=%d cols=%d type=%d (expected a float matrix, type 5)",
                                     what, (int)*rows, (int)*cols, (int)type);
    }
    size_t bytes = (size_t)*rows * (size_t)*cols * 4;
    if (bytes > au_bin_remaining(r))
        return au_reader_fail_offset(r, AU_ERR_FORMAT, "truncated: %s matrix %dx%d needs %zu bytes, %zu left", what,
                                     (int)*rows, (int)*cols, bytes, au_bin_remaining(r));
    return AU_OK;
}

static AuStatus alloc_floats(AuReader *r, float **out, size_t n, const char *what)
{
    *out = malloc(n ? n * sizeof(float) : 1);
    if (!*out)
        return au_reader_fail_offset(r, AU_ERR_NOMEM, "%s: cannot allocate %zu floats", what, n);
    return AU_OK;
}

/* ---- layers ---- */

static AuStatus read_conv(AuReader *r, AuCnnConv *c, const char *what)
{
    AuStatus st;
    int32_t in, out;
    size_t counts_pos = r->pos;
    if ((st = au_bin_i32(r, &in, what)) || (st = au_bin_i32(r, &out, what)))
        return st;
    if (in < 1 || out < 1 || in > AU_CNN_MAX_MAPS || out > AU_CNN_MAX_MAPS) {
        r->pos = counts_pos;
        return au_reader_fail_offset(r, AU_ERR_FORMAT, "%s: invalid map counts: %d input maps, %d kernels (1..%d)",
                                     what, (int)in, (int)out, AU_CNN_MAX_MAPS);
    }
    size_t n_kernels = (size_t)in * (size_t)out;
    /* Biases, then every kernel needs at least its 12-byte header and one value. */
    size_t min_bytes = (size_t)out * 4 + n_kernels * 16;
    if (min_bytes > au_bin_remaining(r))
        return au_reader_fail_offset(r, AU_ERR_FORMAT,
                                     "truncated: %s with %d input maps and %d kernels needs at least %zu bytes, %zu left",
                                     what, (int)in, (int)out, min_bytes, au_bin_remaining(r));
    c->in_maps = in;
    c->out_maps = out;
    if ((st = alloc_floats(r, &c->bias, (size_t)out, what)) || (st = read_floats(r, c->bias, (size_t)out, what)))
        return st;

    /* The first kernel's header fixes the size of all: OpenFace takes the
     * kernel size for the im2col from kernel [0][0] alone. */
    size_t first_pos = r->pos;
    int32_t kh, kw;
    if ((st = read_f32_header(r, &kh, &kw, what)))
        return st;
    r->pos = first_pos;
    if (kh > AU_CNN_MAX_KERNEL || kw > AU_CNN_MAX_KERNEL)
        return au_reader_fail_offset(r, AU_ERR_FORMAT, "%s: kernel size %dx%d larger than %dx%d", what, (int)kh,
                                     (int)kw, AU_CNN_MAX_KERNEL, AU_CNN_MAX_KERNEL);
    size_t kk = (size_t)kh * (size_t)kw;
    size_t need = n_kernels * (12 + kk * 4);
    if (need > au_bin_remaining(r))
        return au_reader_fail_offset(r, AU_ERR_FORMAT, "truncated: %s: %zu kernels of %dx%d need %zu bytes, %zu left",
                                     what, n_kernels, (int)kh, (int)kw, need, au_bin_remaining(r));
    c->kernel_h = kh;
    c->kernel_w = kw;
    size_t k_rows = (size_t)in * kk; /* im2col weight rows, before the bias row */
    if ((st = alloc_floats(r, &c->kernels, n_kernels * kk, what)) ||
        (st = alloc_floats(r, &c->im2col_weights, (k_rows + 1) * (size_t)out, what)))
        return st;

    /* File order is [in][out]; store [out][in]. */
    for (int32_t i = 0; i < in; i++) {
        for (int32_t k = 0; k < out; k++) {
            size_t hdr_pos = r->pos;
            int32_t rows, cols;
            if ((st = read_f32_header(r, &rows, &cols, what)))
                return st;
            if (rows != kh || cols != kw) {
                r->pos = hdr_pos;
                return au_reader_fail_offset(r, AU_ERR_FORMAT,
                                             "%s: kernel %d of input map %d is %dx%d, the first kernel is %dx%d", what,
                                             (int)k, (int)i, (int)rows, (int)cols, (int)kh, (int)kw);
            }
            if ((st = read_floats(r, c->kernels + ((size_t)k * (size_t)in + (size_t)i) * kk, kk, what)))
                return st;
        }
    }

    /* OpenFace's weight matrix (see cnn_weights.h): row in*kh*kw + x*kh + y,
     * column k = kernel[k][in](y, x); bias row last. */
    float *W = c->im2col_weights;
    for (int32_t k = 0; k < out; k++) {
        for (int32_t i = 0; i < in; i++) {
            const float *ker = c->kernels + ((size_t)k * (size_t)in + (size_t)i) * kk;
            for (int32_t x = 0; x < kw; x++)
                for (int32_t y = 0; y < kh; y++)
                    W[((size_t)i * kk + (size_t)x * (size_t)kh + (size_t)y) * (size_t)out + (size_t)k] =
                        ker[(size_t)y * (size_t)kw + (size_t)x];
        }
        W[k_rows * (size_t)out + (size_t)k] = c->bias[k];
    }
    return AU_OK;
}

static AuStatus read_fully_connected(AuReader *r, AuCnnFullyConnected *fc, const char *what)
{
    AuStatus st;
    size_t hdr_pos = r->pos;
    int32_t b_rows, b_cols;
    if ((st = read_f32_header(r, &b_rows, &b_cols, what)))
        return st;
    if (b_cols != 1) {
        r->pos = hdr_pos;
        return au_reader_fail_offset(r, AU_ERR_FORMAT, "%s: bias is %dx%d, expected a column (n x 1)", what,
                                     (int)b_rows, (int)b_cols);
    }
    fc->out = b_rows;
    if ((st = alloc_floats(r, &fc->bias, (size_t)b_rows, what)) || (st = read_floats(r, fc->bias, (size_t)b_rows, what)))
        return st;

    hdr_pos = r->pos;
    int32_t w_rows, w_cols;
    if ((st = read_f32_header(r, &w_rows, &w_cols, what)))
        return st;
    if (w_cols != b_rows) {
        r->pos = hdr_pos;
        return au_reader_fail_offset(r, AU_ERR_FORMAT, "%s: weights are %dx%d but there are %d biases (expected %d columns)",
                                     what, (int)w_rows, (int)w_cols, (int)b_rows, (int)b_rows);
    }
    fc->in = w_rows;
    size_t n = (size_t)w_rows * (size_t)w_cols;
    float *tmp = NULL;
    if ((st = alloc_floats(r, &fc->weights, n, what)) || (st = alloc_floats(r, &tmp, n, what)) ||
        (st = read_floats(r, tmp, n, what))) {
        free(tmp);
        return st;
    }
    /* File: in x out; stored: out x in. */
    for (size_t i = 0; i < (size_t)w_rows; i++)
        for (size_t o = 0; o < (size_t)w_cols; o++)
            fc->weights[o * (size_t)w_rows + i] = tmp[i * (size_t)w_cols + o];
    free(tmp);
    return AU_OK;
}

static AuStatus read_prelu(AuReader *r, AuCnnPrelu *p, const char *what)
{
    AuStatus st;
    size_t hdr_pos = r->pos;
    int32_t rows, cols;
    if ((st = read_f32_header(r, &rows, &cols, what)))
        return st;
    if (cols != 1) {
        r->pos = hdr_pos;
        return au_reader_fail_offset(r, AU_ERR_FORMAT, "%s: slopes are %dx%d, expected a column (n x 1)", what,
                                     (int)rows, (int)cols);
    }
    p->n = rows;
    if ((st = alloc_floats(r, &p->slopes, (size_t)rows, what)))
        return st;
    return read_floats(r, p->slopes, (size_t)rows, what);
}

static AuStatus read_max_pool(AuReader *r, AuCnnMaxPool *p, const char *what)
{
    size_t start = r->pos;
    int32_t v[4];
    for (int i = 0; i < 4; i++) {
        AuStatus st = au_bin_i32(r, &v[i], what);
        if (st)
            return st;
    }
    for (int i = 0; i < 4; i++) {
        if (v[i] < 1 || v[i] > AU_CNN_MAX_POOL_WINDOW) {
            r->pos = start;
            return au_reader_fail_offset(r, AU_ERR_FORMAT,
                                         "%s: invalid pooling kernel %dx%d / stride %dx%d (each 1..%d)", what,
                                         (int)v[0], (int)v[1], (int)v[2], (int)v[3], AU_CNN_MAX_POOL_WINDOW);
        }
    }
    p->kernel_x = v[0];
    p->kernel_y = v[1];
    p->stride_x = v[2];
    p->stride_y = v[3];
    return AU_OK;
}

static int kind_of_code(AuCnnDialect d, int32_t code, AuCnnLayerKind *kind)
{
    switch (code) {
    case 0: *kind = AU_CNN_CONV; return 1;
    case 1: *kind = AU_CNN_MAX_POOL; return 1;
    case 2: *kind = AU_CNN_FULLY_CONNECTED; return 1;
    case 3: *kind = d == AU_CNN_DIALECT_MTCNN ? AU_CNN_PRELU : AU_CNN_RELU; return 1;
    case 4: *kind = AU_CNN_SIGMOID; return 1;
    }
    return 0;
}

AuStatus au_cnn_read(AuReader *r, AuCnnDialect d, const char *name, AuCnn *cnn)
{
    memset(cnn, 0, sizeof(*cnn));
    AuStatus st;
    char what[128];
    snprintf(what, sizeof(what), "%s network depth", name);
    size_t depth_pos = r->pos;
    int32_t depth;
    if ((st = au_bin_i32(r, &depth, what)))
        return st;
    if (depth < 1 || depth > AU_CNN_MAX_LAYERS) {
        r->pos = depth_pos;
        return au_reader_fail_offset(r, AU_ERR_FORMAT, "%s: invalid network depth %d (1..%d)", name, (int)depth,
                                     AU_CNN_MAX_LAYERS);
    }
    if ((size_t)depth * 4 > au_bin_remaining(r))
        return au_reader_fail_offset(r, AU_ERR_FORMAT, "truncated: %s has %d layers, only %zu bytes left", name,
                                     (int)depth, au_bin_remaining(r));
    cnn->layers = calloc((size_t)depth, sizeof(*cnn->layers));
    if (!cnn->layers)
        return au_reader_fail_offset(r, AU_ERR_NOMEM, "%s: cannot allocate %d layers", name, (int)depth);
    cnn->n_layers = depth;

    for (int l = 0; l < depth; l++) {
        AuCnnLayer *L = &cnn->layers[l];
        L->file_offset = r->pos;
        snprintf(what, sizeof(what), "%s layer %d type", name, l);
        int32_t code;
        if ((st = au_bin_i32(r, &code, what)))
            return st;
        if (!kind_of_code(d, code, &L->kind)) {
            r->pos = L->file_offset;
            return au_reader_fail_offset(r, AU_ERR_FORMAT, "%s layer %d: unknown layer type %d", name, l, (int)code);
        }
        L->file_code = code;
        snprintf(what, sizeof(what), "%s layer %d (%s)", name, l, au_cnn_layer_kind_name(L->kind));
        switch (L->kind) {
        case AU_CNN_CONV: st = read_conv(r, &L->conv, what); break;
        case AU_CNN_FULLY_CONNECTED: st = read_fully_connected(r, &L->fc, what); break;
        case AU_CNN_PRELU: st = read_prelu(r, &L->prelu, what); break;
        case AU_CNN_MAX_POOL:
            if (d == AU_CNN_DIALECT_MTCNN) {
                st = read_max_pool(r, &L->pool, what);
            } else {
                /* DetectionValidator::CheckCNN: max_pooling(..., 2, 2, 2, 2). */
                L->pool.kernel_x = L->pool.kernel_y = 2;
                L->pool.stride_x = L->pool.stride_y = 2;
            }
            break;
        case AU_CNN_RELU:
        case AU_CNN_SIGMOID: break;
        }
        if (st)
            return st;
    }
    return AU_OK;
}

/* ---- shape walk ---- */

static AuStatus shape_fail(AuError *err, const char *path, const AuCnnLayer *L, const char *name, int l,
                           const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;

static AuStatus shape_fail(AuError *err, const char *path, const AuCnnLayer *L, const char *name, int l,
                           const char *fmt, ...)
{
    char msg[AU_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return au_error_set(err, AU_ERR_FORMAT, "%s: byte offset %zu: %s layer %d (%s): %s", path, L->file_offset, name, l,
                        au_cnn_layer_kind_name(L->kind), msg);
}

/* OpenFace's max_pooling output size: round((float)(n - k) / s) + 1. */
static int pooled_size(int n, int k, int s)
{
    return (int)roundf((float)(n - k) / (float)s) + 1;
}

AuStatus au_cnn_check_shapes(AuCnn *cnn, AuCnnShape input, const char *path, const char *name, AuError *err)
{
    AuCnnShape s = input;
    cnn->input = input;
    for (int l = 0; l < cnn->n_layers; l++) {
        const AuCnnLayer *L = &cnn->layers[l];
        switch (L->kind) {
        case AU_CNN_CONV: {
            const AuCnnConv *c = &L->conv;
            if (c->in_maps != s.maps)
                return shape_fail(err, path, L, name, l, "takes %d input maps, the previous layer gives %d", c->in_maps,
                                  s.maps);
            if (c->kernel_h > s.h || c->kernel_w > s.w)
                return shape_fail(err, path, L, name, l, "kernel %dx%d larger than its %dx%d input", c->kernel_h,
                                  c->kernel_w, s.h, s.w);
            s.maps = c->out_maps;
            s.h = s.h - c->kernel_h + 1;
            s.w = s.w - c->kernel_w + 1;
            break;
        }
        case AU_CNN_MAX_POOL: {
            const AuCnnMaxPool *p = &L->pool;
            if (p->kernel_y > s.h || p->kernel_x > s.w)
                return shape_fail(err, path, L, name, l, "window %dx%d larger than its %dx%d input", p->kernel_y,
                                  p->kernel_x, s.h, s.w);
            s.h = pooled_size(s.h, p->kernel_y, p->stride_y);
            s.w = pooled_size(s.w, p->kernel_x, p->stride_x);
            break;
        }
        case AU_CNN_FULLY_CONNECTED: {
            /* CNN_utils fully_connected: with several maps it applies the layer
             * per pixel across maps when their count equals the layer's input
             * (PNet's last layer), else it flattens all maps into one column;
             * a single map must be a column of the input's length. */
            const AuCnnFullyConnected *fc = &L->fc;
            if (s.maps > 1 && fc->in == s.maps) {
                s.maps = fc->out;
            } else if (s.maps > 1) {
                long long flat = (long long)s.maps * s.h * s.w;
                if (flat != fc->in)
                    return shape_fail(err, path, L, name, l, "takes %d inputs, the previous layer gives %d maps of %dx%d",
                                      fc->in, s.maps, s.h, s.w);
                s.maps = 1;
                s.h = fc->out;
                s.w = 1;
            } else {
                if (s.w != 1 || s.h != fc->in)
                    return shape_fail(err, path, L, name, l, "takes a column of %d inputs, the previous layer gives %dx%d",
                                      fc->in, s.h, s.w);
                s.h = 1; /* OpenFace returns (W x + b) transposed: a row */
                s.w = fc->out;
            }
            break;
        }
        case AU_CNN_PRELU: {
            /* CNN_utils PReLU: one slope per map, or per row of a single map. */
            int per = s.maps > 1 ? s.maps : s.h;
            if (L->prelu.n != per)
                return shape_fail(err, path, L, name, l, "has %d slopes, the previous layer gives %d %s", L->prelu.n,
                                  per, s.maps > 1 ? "maps" : "rows");
            break;
        }
        case AU_CNN_RELU:
        case AU_CNN_SIGMOID: break;
        }
    }
    cnn->output = s;
    return AU_OK;
}
