#include "ccnf.h"

#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_io.h"

/* M_PI is not in strict C11. */
static const double AU_PI = 3.14159265358979323846;

/* Largest response window accepted for a Sigma (ws^2 x ws^2 floats). */
#define AU_CCNF_MAX_WINDOW 64

/* Smallest encodings, used to reject counts that the rest of the file cannot
 * hold before allocating for them. */
#define MIN_VIEW_BYTES (12 + 3 * 8 + 12 + 4)  /* centre mat + visibility mat with one row */
#define MIN_EXPERT_BYTES 20                   /* marker, width, height, 0 neurons, padding int */
#define MIN_NEURON_BYTES (4 + 4 + 3 * 8 + 12) /* marker, type, 3 doubles, empty mat header */

/* Appends " (context)" to the message already in err. */
static AuStatus add_context(AuError *err, AuStatus code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static AuStatus add_context(AuError *err, AuStatus code, const char *fmt, ...)
{
    if (!err)
        return code;
    char ctx[128], old[AU_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof(ctx), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    return au_error_set(err, code, "%s (%s)", old, ctx);
}

/* Reads an i32 count and checks it against what the remaining bytes can hold. */
static AuStatus read_count(AuReader *r, int *out, int min, size_t bytes_each, const char *what)
{
    size_t start = r->pos;
    int32_t v;
    AuStatus st = au_bin_i32(r, &v, what);
    if (st)
        return st;
    size_t room = bytes_each ? au_bin_remaining(r) / bytes_each : (size_t)INT32_MAX;
    if (v < min || (size_t)v > room) {
        r->pos = start;
        return au_reader_fail_offset(r, AU_ERR_FORMAT, "%s is %d, expected %d..%zu", what, (int)v, min,
                                     room < (size_t)INT32_MAX ? room : (size_t)INT32_MAX);
    }
    *out = (int)v;
    return AU_OK;
}

/* au_bin_mat plus an expected type and, where given (>= 0), shape. */
static AuStatus read_mat_checked(AuReader *r, AuMat *m, AuMatType type, int rows, int cols, const char *what)
{
    size_t start = r->pos;
    AuStatus st = au_bin_mat(r, m, what);
    if (st)
        return st;
    if (m->type != type || (rows >= 0 && m->rows != rows) || (cols >= 0 && m->cols != cols)) {
        int got_r = m->rows, got_c = m->cols, got_t = (int)m->type;
        au_mat_free(m);
        r->pos = start;
        return au_reader_fail_offset(r, AU_ERR_FORMAT, "%s is a %dx%d matrix of type %d, expected %dx%d of type %d",
                                     what, got_r, got_c, got_t, rows, cols, (int)type);
    }
    return AU_OK;
}

static AuStatus read_marker(AuReader *r, int expected, const char *what)
{
    size_t start = r->pos;
    int32_t v;
    AuStatus st = au_bin_i32(r, &v, what);
    if (st)
        return st;
    if (v != expected) {
        r->pos = start;
        return au_reader_fail_offset(r, AU_ERR_FORMAT, "%s is %d, expected %d", what, (int)v, expected);
    }
    return AU_OK;
}

/* OpenFace's weight_matrix: row i = [bias_i, (weights_i^T flattened) * norm_weights_i]. */
static AuStatus build_weight_matrix(AuCcnfExpert *e, AuError *err)
{
    int h = e->height, w = e->width, cols = 1 + h * w;
    AuStatus st = au_mat_alloc(&e->weight_matrix, e->n_neurons, cols, AU_MAT_F32, err);
    if (st)
        return st;
    for (int i = 0; i < e->n_neurons; i++) {
        const AuCcnfNeuron *n = &e->neurons[i];
        const float *src = au_mat_f32(&n->weights);
        float *row = au_mat_f32(&e->weight_matrix) + (size_t)i * (size_t)cols;
        /* float arithmetic as cv::Mat::convertTo(alpha = norm_weights) on floats */
        float scale = (float)n->norm_weights;
        row[0] = (float)n->bias;
        for (int c = 0; c < w; c++)
            for (int y = 0; y < h; y++)
                row[1 + c * h + y] = src[y * w + c] * scale;
    }
    return AU_OK;
}

static AuStatus read_expert(AuReader *r, AuCcnfExpert *e, int n_betas, int visible)
{
    AuStatus st;
    int32_t width, height;
    if ((st = read_marker(r, 5, "patch expert type marker")) || (st = au_bin_i32(r, &width, "patch expert width")) ||
        (st = au_bin_i32(r, &height, "patch expert height")))
        return st;
    e->width = width;
    e->height = height;
    int n_neurons = 0;
    if ((st = read_count(r, &n_neurons, 0, MIN_NEURON_BYTES, "number of neurons")))
        return st;
    if (n_neurons == 0) {
        int32_t unused;
        if ((st = au_bin_i32(r, &unused, "empty patch expert padding")))
            return st;
        if (visible) {
            r->pos -= 8;
            return au_reader_fail_offset(r, AU_ERR_FORMAT, "empty patch expert for a landmark marked visible");
        }
        return AU_OK;
    }
    if (width < 1 || height < 1 || width > 1024 || height > 1024) {
        r->pos -= 8;
        return au_reader_fail_offset(r, AU_ERR_FORMAT, "patch expert size %dx%d out of range", (int)width,
                                     (int)height);
    }
    e->neurons = calloc((size_t)n_neurons, sizeof(*e->neurons));
    if (!e->neurons)
        return au_reader_fail_offset(r, AU_ERR_NOMEM, "cannot allocate %d neurons", n_neurons);
    e->n_neurons = n_neurons;
    for (int i = 0; i < n_neurons; i++) {
        AuCcnfNeuron *n = &e->neurons[i];
        int32_t type;
        if ((st = read_marker(r, 2, "neuron type marker")) || (st = au_bin_i32(r, &type, "neuron type")) ||
            (st = au_bin_f64(r, &n->norm_weights, "neuron norm_weights")) ||
            (st = au_bin_f64(r, &n->bias, "neuron bias")) || (st = au_bin_f64(r, &n->alpha, "neuron alpha")) ||
            (st = read_mat_checked(r, &n->weights, AU_MAT_F32, e->height, e->width, "neuron weights")))
            return add_context(r->err, st, "neuron %d", i);
        n->neuron_type = type;
    }
    if (n_betas > 0) {
        e->betas = calloc((size_t)n_betas, sizeof(double));
        if (!e->betas)
            return au_reader_fail_offset(r, AU_ERR_NOMEM, "cannot allocate betas");
        e->n_betas = n_betas;
        for (int b = 0; b < n_betas; b++)
            if ((st = au_bin_f64(r, &e->betas[b], "beta")))
                return st;
    }
    if ((st = au_bin_f64(r, &e->patch_confidence, "patch confidence")))
        return st;
    return build_weight_matrix(e, r->err);
}

static AuStatus read_windows(AuReader *r, AuCcnf *c)
{
    AuStatus st;
    int n_windows = 0;
    if ((st = read_count(r, &n_windows, 0, 8, "number of window sizes")))
        return st;
    if (n_windows == 0)
        return AU_OK;
    c->windows = calloc((size_t)n_windows, sizeof(*c->windows));
    if (!c->windows)
        return au_reader_fail_offset(r, AU_ERR_NOMEM, "cannot allocate %d windows", n_windows);
    c->n_windows = n_windows;
    for (int w = 0; w < n_windows; w++) {
        AuCcnfSigmaComponents *win = &c->windows[w];
        size_t start = r->pos;
        int32_t ws;
        if ((st = au_bin_i32(r, &ws, "window size")))
            return st;
        if (ws < 1 || ws > AU_CCNF_MAX_WINDOW) {
            r->pos = start;
            return au_reader_fail_offset(r, AU_ERR_FORMAT, "window size %d out of range 1..%d", (int)ws,
                                         AU_CCNF_MAX_WINDOW);
        }
        win->window_size = ws;
        start = r->pos;
        int nc = 0;
        if ((st = read_count(r, &nc, 0, 12, "number of sigma components")))
            return st;
        /* Each expert stores as many betas as window 0 has components, and
         * ComputeSigmas pairs beta b with component b of whatever window is
         * used: differing counts would read past the betas in OpenFace. */
        if (w > 0 && nc != c->windows[0].n_components) {
            r->pos = start;
            return au_reader_fail_offset(r, AU_ERR_FORMAT,
                                         "window %d has %d sigma components, window %d has %d", (int)ws, nc,
                                         c->windows[0].window_size, c->windows[0].n_components);
        }
        if (nc == 0)
            continue;
        win->components = calloc((size_t)nc, sizeof(AuMat));
        if (!win->components)
            return au_reader_fail_offset(r, AU_ERR_NOMEM, "cannot allocate %d sigma components", nc);
        win->n_components = nc;
        for (int s = 0; s < nc; s++)
            if ((st = read_mat_checked(r, &win->components[s], AU_MAT_F32, ws * ws, ws * ws, "sigma component")))
                return add_context(r->err, st, "window %d, component %d", (int)ws, s);
    }
    return AU_OK;
}

static AuStatus read_ccnf(AuReader *r, AuCcnf *c)
{
    AuStatus st;
    size_t start = r->pos;
    if ((st = au_bin_f64(r, &c->patch_scaling, "patch scaling")))
        return st;
    if (!(c->patch_scaling > 0)) {
        r->pos = start;
        return au_reader_fail_offset(r, AU_ERR_FORMAT, "patch scaling %g is not positive", c->patch_scaling);
    }
    int n_views = 0;
    if ((st = read_count(r, &n_views, 1, MIN_VIEW_BYTES, "number of views")))
        return st;
    c->centers = calloc((size_t)n_views, sizeof(*c->centers));
    if (!c->centers)
        return au_reader_fail_offset(r, AU_ERR_NOMEM, "cannot allocate %d view centres", n_views);
    c->n_views = n_views;
    for (int v = 0; v < n_views; v++) {
        AuMat m;
        start = r->pos;
        if ((st = au_bin_mat(r, &m, "view centre")))
            return add_context(r->err, st, "view %d", v);
        if (m.type != AU_MAT_F64 || au_mat_count(&m) != 3 || (m.rows != 1 && m.cols != 1)) {
            int mr = m.rows, mc = m.cols, mt = (int)m.type;
            au_mat_free(&m);
            r->pos = start;
            return au_reader_fail_offset(r, AU_ERR_FORMAT,
                                         "view %d centre is a %dx%d matrix of type %d, expected 3x1 of type 6", v, mr,
                                         mc, mt);
        }
        /* centers[i] * M_PI / 180.0 on a cv::Vec3d: OpenCV scales by alpha, then by 1./180. */
        for (int k = 0; k < 3; k++)
            c->centers[v][k] = (au_mat_f64(&m)[k] * AU_PI) * (1.0 / 180.0);
        au_mat_free(&m);
    }
    for (int v = 0; v < n_views; v++) {
        AuMat m;
        if ((st = read_mat_checked(r, &m, AU_MAT_S32, v == 0 ? -1 : c->n_points, 1, "visibility")))
            return add_context(r->err, st, "view %d", v);
        if (v == 0) {
            if (m.rows < 1) {
                au_mat_free(&m);
                return au_reader_fail_offset(r, AU_ERR_FORMAT, "visibility of view 0 has no landmarks");
            }
            c->n_points = m.rows;
            c->visibility = calloc((size_t)n_views * (size_t)m.rows, sizeof(int));
            if (!c->visibility) {
                au_mat_free(&m);
                return au_reader_fail_offset(r, AU_ERR_NOMEM, "cannot allocate visibilities");
            }
        }
        memcpy(c->visibility + (size_t)v * (size_t)c->n_points, m.data, (size_t)c->n_points * sizeof(int));
        au_mat_free(&m);
    }
    if ((st = read_windows(r, c)))
        return st;

    size_t n_experts = (size_t)n_views * (size_t)c->n_points;
    if (n_experts > au_bin_remaining(r) / MIN_EXPERT_BYTES)
        return au_reader_fail_offset(r, AU_ERR_FORMAT, "truncated: %d views x %d landmarks of patch experts need at "
                                     "least %zu bytes, %zu left", n_views, c->n_points, n_experts * MIN_EXPERT_BYTES,
                                     au_bin_remaining(r));
    c->experts = calloc(n_experts, sizeof(*c->experts));
    if (!c->experts)
        return au_reader_fail_offset(r, AU_ERR_NOMEM, "cannot allocate %zu patch experts", n_experts);
    int n_betas = c->n_windows > 0 ? c->windows[0].n_components : 0;
    for (int v = 0; v < n_views; v++)
        for (int j = 0; j < c->n_points; j++) {
            size_t idx = (size_t)v * (size_t)c->n_points + (size_t)j;
            if ((st = read_expert(r, &c->experts[idx], n_betas, c->visibility[idx] != 0)))
                return add_context(r->err, st, "view %d, landmark %d", v, j);
        }
    return AU_OK;
}

AuStatus au_ccnf_load(AuCcnf *c, const char *path, AuError *err)
{
    memset(c, 0, sizeof(*c));
    AuReader r;
    AuStatus st = au_reader_open(&r, path, err);
    if (st)
        return st;
    st = read_ccnf(&r, c);
    au_reader_close(&r);
    if (st)
        au_ccnf_free(c);
    return st;
}

static void expert_free(AuCcnfExpert *e)
{
    for (int i = 0; i < e->n_neurons; i++)
        au_mat_free(&e->neurons[i].weights);
    free(e->neurons);
    free(e->betas);
    au_mat_free(&e->weight_matrix);
    for (int s = 0; s < e->n_sigmas; s++)
        au_mat_free(&e->sigma[s]);
}

void au_ccnf_free(AuCcnf *c)
{
    if (!c)
        return;
    if (c->experts) {
        size_t n = (size_t)c->n_views * (size_t)c->n_points;
        for (size_t i = 0; i < n; i++)
            expert_free(&c->experts[i]);
    }
    free(c->experts);
    for (int w = 0; w < c->n_windows; w++) {
        for (int s = 0; s < c->windows[w].n_components; s++)
            au_mat_free(&c->windows[w].components[s]);
        free(c->windows[w].components);
    }
    free(c->windows);
    free(c->centers);
    free(c->visibility);
    memset(c, 0, sizeof(*c));
}

const AuCcnfSigmaComponents *au_ccnf_find_sigma_components(const AuCcnf *c, int window_size)
{
    const AuCcnfSigmaComponents *found = NULL;
    /* OpenFace keeps the last match, and compares ws^2 with the rows. */
    for (int w = 0; w < c->n_windows; w++)
        if (c->windows[w].n_components > 0 && c->windows[w].components[0].rows == window_size * window_size)
            found = &c->windows[w];
    return found;
}

/* OpenCV 4.6's CholImpl<float> (used by cv::invert for n < 100): L L^T
 * factorisation with double accumulators of float products, inverse
 * diagonal stored, then forward and back substitution on b. a is destroyed. */
#define CHOL_MAX_RHS 100 /* OpenCV's Cholesky path: n < 100 */

static int cholesky_solve_opencv(float *a, int m, float *b, int n)
{
    if (n > CHOL_MAX_RHS)
        return 0;
    float *L = a;
    int i, j, k;
    double s;
    for (i = 0; i < m; i++) {
        for (j = 0; j < i; j++) {
            s = a[i * m + j];
            for (k = 0; k < j; k++)
                s -= (double)(L[i * m + k] * L[j * m + k]);
            L[i * m + j] = (float)(s * L[j * m + j]);
        }
        s = a[i * m + i];
        for (k = 0; k < j; k++) {
            double t = L[i * m + k];
            s -= t * t;
        }
        if (s < FLT_EPSILON)
            return 0;
        L[i * m + i] = (float)(1. / sqrt(s));
    }
    /* The substitutions run over all right-hand sides at once: each column
     * j gets the same operations in the same order as OpenCV's per-column
     * loops (so the same bits), but the rows of b are read contiguously and
     * the compiler can vectorise across j. */
    double acc[CHOL_MAX_RHS];
    for (i = 0; i < m; i++) {
        for (j = 0; j < n; j++)
            acc[j] = b[i * n + j];
        for (k = 0; k < i; k++) {
            const float lik = L[i * m + k];
            const float *bk = b + k * n;
            for (j = 0; j < n; j++)
                acc[j] -= (double)(lik * bk[j]);
        }
        for (j = 0; j < n; j++)
            b[i * n + j] = (float)(acc[j] * L[i * m + i]);
    }
    for (i = m - 1; i >= 0; i--) {
        for (j = 0; j < n; j++)
            acc[j] = b[i * n + j];
        for (k = m - 1; k > i; k--) {
            const float lki = L[k * m + i];
            const float *bk = b + k * n;
            for (j = 0; j < n; j++)
                acc[j] -= (double)(lki * bk[j]);
        }
        for (j = 0; j < n; j++)
            b[i * n + j] = (float)(acc[j] * L[i * m + i]);
    }
    return 1;
}

AuStatus au_ccnf_compute_sigma(const AuCcnfExpert *e, const AuCcnfSigmaComponents *comps, int window_size,
                               float *out, AuError *err)
{
    if (e->n_neurons == 0)
        return au_error_set(err, AU_ERR_ARG, "Sigma of an empty patch expert");
    if (window_size < 1 || window_size > AU_CCNF_MAX_WINDOW)
        return au_error_set(err, AU_ERR_ARG, "window size %d out of range 1..%d", window_size, AU_CCNF_MAX_WINDOW);
    int n = window_size * window_size;
    int n_comp = comps ? comps->n_components : 0;
    if (n_comp > 0 && (comps->components[0].rows != n || comps->components[0].cols != n))
        return au_error_set(err, AU_ERR_ARG, "sigma components are %dx%d, window %d needs %dx%d",
                            comps->components[0].rows, comps->components[0].cols, window_size, n, n);
    if (n_comp > e->n_betas)
        return au_error_set(err, AU_ERR_ARG, "%d sigma components but the expert has %d betas", n_comp, e->n_betas);

    size_t nn = (size_t)n * (size_t)n;
    float *a = malloc(nn * sizeof(float));
    if (!a)
        return au_error_set(err, AU_ERR_NOMEM, "cannot allocate a %dx%d Sigma", n, n);

    /* sum_alphas is a float accumulating double alphas, as in ComputeSigmas */
    float sum_alphas = 0;
    for (int i = 0; i < e->n_neurons; i++)
        sum_alphas = (float)((double)sum_alphas + e->neurons[i].alpha);

    /* q2 = q2 + (float)beta_b * C_b is cv::scaleAdd, fused multiply-add in
     * OpenCV's AVX2/AVX-512 kernels (the reference machine has both). */
    memset(a, 0, nn * sizeof(float));
    for (int b = 0; b < n_comp; b++) {
        const float *cb = au_mat_f32(&comps->components[b]);
        float beta = (float)e->betas[b];
        for (size_t i = 0; i < nn; i++)
            a[i] = fmaf(cb[i], beta, a[i]);
    }
    /* SigmaInv = 2 * (sum_alphas * I + q2), in float (the doubling is exact). */
    for (int i = 0; i < n; i++)
        a[(size_t)i * n + i] += sum_alphas;
    for (size_t i = 0; i < nn; i++)
        a[i] *= 2.0f;

    int ok;
    if (n < 100) {
        for (size_t i = 0; i < nn; i++)
            out[i] = 0.0f;
        for (int i = 0; i < n; i++)
            out[(size_t)i * n + i] = 1.0f;
        ok = cholesky_solve_opencv(a, n, out, n);
    } else {
        /* OpenCV's LAPACK hal: sposv('L') on the row-major matrix read as
         * column-major, identity right-hand side, result transposed back. */
        float *x = calloc(nn, sizeof(float));
        if (!x) {
            free(a);
            return au_error_set(err, AU_ERR_NOMEM, "cannot allocate a %dx%d Sigma", n, n);
        }
        for (int i = 0; i < n; i++)
            x[(size_t)i * n + i] = 1.0f;
        lapack_int info = LAPACKE_sposv_work(LAPACK_COL_MAJOR, 'L', n, n, a, n, x, n);
        ok = info == 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                out[(size_t)i * n + j] = x[(size_t)j * n + i];
        free(x);
    }
    if (!ok) /* cv::invert sets the result to zero when the factorisation fails */
        memset(out, 0, nn * sizeof(float));
    free(a);
    return AU_OK;
}

const AuMat *au_ccnf_expert_sigma(const AuCcnfExpert *e, int window_size)
{
    for (int s = 0; s < e->n_sigmas; s++)
        if (e->sigma_window[s] == window_size)
            return &e->sigma[s];
    return NULL;
}

AuStatus au_ccnf_prepare_sigmas(AuCcnf *c, const AuCcnf *components_src, int window_size, AuError *err)
{
    if (window_size < 1 || window_size > AU_CCNF_MAX_WINDOW)
        return au_error_set(err, AU_ERR_ARG, "window size %d out of range 1..%d", window_size, AU_CCNF_MAX_WINDOW);
    const AuCcnfSigmaComponents *comps = au_ccnf_find_sigma_components(components_src ? components_src : c,
                                                                        window_size);
    for (int v = 0; v < c->n_views; v++)
        for (int j = 0; j < c->n_points; j++) {
            size_t idx = (size_t)v * (size_t)c->n_points + (size_t)j;
            AuCcnfExpert *e = &c->experts[idx];
            /* OpenFace computes Sigmas only for the landmarks visible in a view */
            if (!c->visibility[idx] || au_ccnf_expert_sigma(e, window_size))
                continue;
            if (e->n_sigmas == AU_CCNF_MAX_SIGMAS)
                return au_error_set(err, AU_ERR_ARG, "more than %d window sizes prepared", AU_CCNF_MAX_SIGMAS);
            AuMat *s = &e->sigma[e->n_sigmas];
            int n = window_size * window_size;
            AuStatus st = au_mat_alloc(s, n, n, AU_MAT_F32, err);
            if (st)
                return st;
            st = au_ccnf_compute_sigma(e, comps, window_size, au_mat_f32(s), err);
            if (st) {
                au_mat_free(s);
                return add_context(err, st, "view %d, landmark %d", v, j);
            }
            e->sigma_window[e->n_sigmas++] = window_size;
        }
    return AU_OK;
}
