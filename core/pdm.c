#include "pdm.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp.h"
#include "linalg.h"
#include "model_io.h"
#include "rotation.h"

/* One matrix as PDM::Read reads it: SkipComments, ReadMat into a double matrix,
 * convertTo(CV_32F). */
static AuStatus read_float_mat(AuReader *r, AuMat *out, const char *what)
{
    AuMat raw;
    au_text_skip_comments(r);
    AuStatus st = au_text_mat(r, &raw, what);
    if (st)
        return st;
    st = au_mat_convert(&raw, AU_MAT_F32, out, r->err);
    au_mat_free(&raw);
    if (st) {
        au_error_prefix(r->err, "%s: %s: ", r->path, what);
        return st;
    }
    size_t n = au_mat_count(out);
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(au_mat_f32(out)[i])) {
            au_mat_free(out);
            return au_reader_fail_line(r, AU_ERR_FORMAT, "%s: value %zu is out of float range", what, i);
        }
    }
    return AU_OK;
}

AuStatus au_pdm_load(AuPdm *p, const char *path, AuError *err)
{
    memset(p, 0, sizeof(*p));
    AuReader r;
    AuStatus st = au_reader_open(&r, path, err);
    if (st)
        return st;

    int line_mean, line_pc, line_ev;
    line_mean = r.line;
    if ((st = read_float_mat(&r, &p->mean_shape, "PDM mean shape")))
        goto fail;
    line_pc = r.line;
    if ((st = read_float_mat(&r, &p->princ_comp, "PDM principal components")))
        goto fail;
    line_ev = r.line;
    if ((st = read_float_mat(&r, &p->eigen_values, "PDM eigenvalues")))
        goto fail;

    /* OpenFace does not check the shapes; it would index out of bounds later.
     * Reject inconsistent files here, naming the file. */
    const AuMat *ms = &p->mean_shape, *pc = &p->princ_comp, *ev = &p->eigen_values;
    if (ms->cols != 1 || ms->rows < 3 || ms->rows % 3 != 0) {
        st = au_error_set(err, AU_ERR_FORMAT, "%s:%d: PDM mean shape is %dx%d, expected 3n x 1", path, line_mean,
                          ms->rows, ms->cols);
        goto fail;
    }
    if (pc->rows != ms->rows || pc->cols < 1) {
        st = au_error_set(err, AU_ERR_FORMAT, "%s:%d: PDM principal components are %dx%d, expected %d x m", path,
                          line_pc, pc->rows, pc->cols, ms->rows);
        goto fail;
    }
    if (!((ev->rows == 1 && ev->cols == pc->cols) || (ev->cols == 1 && ev->rows == pc->cols))) {
        st = au_error_set(err, AU_ERR_FORMAT, "%s:%d: PDM eigenvalues are %dx%d, expected %d values", path, line_ev,
                          ev->rows, ev->cols, pc->cols);
        goto fail;
    }
    /* Keep one orientation (1 x m, as in OpenFace's files) for the users. */
    p->eigen_values.rows = 1;
    p->eigen_values.cols = pc->cols;
    p->n_points = ms->rows / 3;
    p->n_modes = pc->cols;
    au_reader_close(&r);
    return AU_OK;

fail:
    au_reader_close(&r);
    au_pdm_free(p);
    return st;
}

void au_pdm_free(AuPdm *p)
{
    if (!p)
        return;
    au_mat_free(&p->mean_shape);
    au_mat_free(&p->princ_comp);
    au_mat_free(&p->eigen_values);
    memset(p, 0, sizeof(*p));
}

static int same_mat(const AuMat *a, const AuMat *b)
{
    return a->rows == b->rows && a->cols == b->cols && a->type == b->type &&
           (!a->data ? !b->data : b->data && !memcmp(a->data, b->data, au_mat_count(a) * au_mat_elem_size(a->type)));
}

int au_pdm_same(const AuPdm *a, const AuPdm *b)
{
    return a->n_points == b->n_points && a->n_modes == b->n_modes && same_mat(&a->mean_shape, &b->mean_shape) &&
           same_mat(&a->princ_comp, &b->princ_comp) && same_mat(&a->eigen_values, &b->eigen_values);
}

/* ---- Geometry operations ---------------------------------------------- */

/* The PDM as the operations see it. PDM::CalcParams(landmarks) swaps in a
 * PDM restricted to the visible landmarks, so everything below works on a
 * view that is either the whole model or that subset. */
typedef struct PdmView {
    int n, m;
    const float *mean; /* 3n */
    const float *pc;   /* 3n x m */
    const float *ev;   /* m */
} PdmView;

static PdmView view_of(const AuPdm *p)
{
    PdmView v = {p->n_points, p->n_modes, au_mat_f32(&p->mean_shape), au_mat_f32(&p->princ_comp),
                 au_mat_f32(&p->eigen_values)};
    return v;
}

/* PDM::CalcShape3D. OpenFace calls sgemm_ as a row vector times princ_comp^T
 * (column-major M=1, N=3n, K=m, beta=1 onto a copy of the mean); the same
 * call is made here so that OpenBLAS sums in the same order. */
static void shape3d_v(const PdmView *v, const float *local, float *out)
{
    memcpy(out, v->mean, (size_t)3 * v->n * sizeof(float));
    if (v->m > 0)
        cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, 1, 3 * v->n, v->m, 1.0f, local, 1, v->pc, v->m, 1.0f,
                    out, 1);
}

/* M + V * loc as cv::gemm evaluates it inside CalcParams: cblas_sgemm from
 * 100 rows on (the same call as above once OpenBLAS has turned the row-major
 * request around), OpenCV's own kernel below. */
static void shape3d_cvgemm(const PdmView *v, const float *local, float *out)
{
    if (3 * v->n >= 100 || v->m == 0) {
        shape3d_v(v, local, out);
        return;
    }
    au_cv_gemv_f32(v->pc, 3 * v->n, v->m, v->m, local, 1.0, v->mean, 1.0, out);
}

static void shape2d_from3d(int n, const float *s3, const float g[6], float *out)
{
    float R[9];
    au_euler_to_rot_f(g + 1, R);
    float s = g[0], tx = g[4], ty = g[5];
    for (int i = 0; i < n; i++) {
        float X = s3[i], Y = s3[i + n], Z = s3[i + 2 * n];
        out[i] = s * (R[0] * X + R[1] * Y + R[2] * Z) + tx;
        out[i + n] = s * (R[3] * X + R[4] * Y + R[5] * Z) + ty;
    }
}

void au_pdm_shape3d(const AuPdm *p, const float *params_local, float *out)
{
    PdmView v = view_of(p);
    shape3d_v(&v, params_local, out);
}

void au_pdm_shape2d(const AuPdm *p, const float *params_local, const float params_global[6], float *out,
                    float *shape3d)
{
    PdmView v = view_of(p);
    shape3d_v(&v, params_local, shape3d);
    shape2d_from3d(v.n, shape3d, params_global, out);
}

void au_shape2d_bounds(const float *s, int n, float *min_x, float *max_x, float *min_y, float *max_y)
{
    float a = 0, b = 0, c = 0, d = 0;
    for (int i = 0; i < n; i++) {
        float x = s[i];
        if (i == 0 || x < a)
            a = x;
        if (i == 0 || x > b)
            b = x;
    }
    for (int i = 0; i < n; i++) {
        float y = s[n + i];
        if (i == 0 || y < c)
            c = y;
        if (i == 0 || y > d)
            d = y;
    }
    *min_x = a;
    *max_x = b;
    *min_y = c;
    *max_y = d;
}

static void bbox_v(const PdmView *v, const float g[6], const float *local, AuRectF *out, float *s3, float *s2)
{
    shape3d_v(v, local, s3);
    shape2d_from3d(v->n, s3, g, s2);
    float min_x, max_x, min_y, max_y;
    au_shape2d_bounds(s2, v->n, &min_x, &max_x, &min_y, &max_y);
    out->x = min_x;
    out->y = min_y;
    out->width = fabsf(min_x - max_x);
    out->height = fabsf(min_y - max_y);
}

void au_pdm_bbox(const AuPdm *p, const float params_global[6], const float *params_local, AuRectF *out,
                 AuPdmWork *w)
{
    PdmView v = view_of(p);
    bbox_v(&v, params_global, params_local, out, w->shape3d, w->shape2d);
}

void au_pdm_params_from_bbox(const AuPdm *p, const AuRectF *bbox, const float *params_local, const float rotation[3],
                             float out_global[6], AuPdmWork *w)
{
    PdmView v = view_of(p);
    int n = v.n;
    const float zero[3] = {0, 0, 0};
    const float *rot = rotation ? rotation : zero;
    float R[9];
    shape3d_v(&v, params_local, w->shape3d);
    au_euler_to_rot_f(rot, R);
    /* Mat(R) * shape (3 x n): cv::gemm's inner-dimension-3 case, float sums.
     * cv::minMaxLoc then reports the extremes as double. */
    double min_x = 0, max_x = 0, min_y = 0, max_y = 0;
    const float *X = w->shape3d, *Y = X + n, *Z = Y + n;
    for (int i = 0; i < n; i++) {
        float x = R[0] * X[i] + R[1] * Y[i] + R[2] * Z[i];
        float y = R[3] * X[i] + R[4] * Y[i] + R[5] * Z[i];
        if (i == 0 || x < min_x)
            min_x = x;
        if (i == 0 || x > max_x)
            max_x = x;
        if (i == 0 || y < min_y)
            min_y = y;
        if (i == 0 || y > max_y)
            max_y = y;
    }
    float width = (float)fabs(min_x - max_x);
    float height = (float)fabs(min_y - max_y);
    float scaling = ((bbox->width / width) + (bbox->height / height)) / 2.0f;
    float tx = bbox->x + bbox->width / 2;
    float ty = bbox->y + bbox->height / 2;
    /* min/max are double here, so this correction is computed in double. */
    tx = (float)(tx - scaling * (min_x + max_x) / 2.0f);
    ty = (float)(ty - scaling * (min_y + max_y) / 2.0f);
    out_global[0] = scaling;
    out_global[1] = rot[0];
    out_global[2] = rot[1];
    out_global[3] = rot[2];
    out_global[4] = tx;
    out_global[5] = ty;
}

/* PDM::ComputeJacobian / ComputeRigidJacobian on a view: cols = 6 (rigid) or
 * 6 + m. Jt receives J^T, weighted by `weights` when apply_weights. */
static void jacobian_v(const PdmView *v, const float *local, const float g[6], int cols, const float *weights,
                       int apply_weights, float *J, float *Jt, float *s3)
{
    int n = v->n, m = v->m;
    float s = g[0], R[9];
    shape3d_v(v, local, s3);
    au_euler_to_rot_f(g + 1, R);
    float r11 = R[0], r12 = R[1], r13 = R[2], r21 = R[3], r22 = R[4], r23 = R[5];
    for (int i = 0; i < n; i++) {
        float X = s3[i], Y = s3[i + n], Z = s3[i + 2 * n];
        float *Jx = J + (size_t)i * cols, *Jy = J + (size_t)(i + n) * cols;
        /* Rotation columns from the small-angle form R * [1 -wz wy; wz 1 -wx; -wy wx 1]. */
        Jx[0] = (X * r11 + Y * r12 + Z * r13);
        Jy[0] = (X * r21 + Y * r22 + Z * r23);
        Jx[1] = (s * (Y * r13 - Z * r12));
        Jy[1] = (s * (Y * r23 - Z * r22));
        Jx[2] = (-s * (X * r13 - Z * r11));
        Jy[2] = (-s * (X * r23 - Z * r21));
        Jx[3] = (s * (X * r12 - Y * r11));
        Jy[3] = (s * (X * r22 - Y * r21));
        Jx[4] = 1.0f;
        Jy[4] = 0.0f;
        Jx[5] = 0.0f;
        Jy[5] = 1.0f;
        if (cols > 6) {
            const float *Vx = v->pc + (size_t)i * m, *Vy = v->pc + (size_t)(i + n) * m,
                        *Vz = v->pc + (size_t)(i + 2 * n) * m;
            for (int j = 0; j < m; j++) {
                Jx[6 + j] = (s * (r11 * Vx[j] + r12 * Vy[j] + r13 * Vz[j]));
                Jy[6 + j] = (s * (r21 * Vx[j] + r22 * Vy[j] + r23 * Vz[j]));
            }
        }
    }
    int rows = 2 * n;
    for (int r = 0; r < rows; r++) {
        float wr = apply_weights ? weights[r] : 1.0f;
        for (int c = 0; c < cols; c++)
            Jt[(size_t)c * rows + r] = apply_weights ? J[(size_t)r * cols + c] * wr : J[(size_t)r * cols + c];
    }
}

void au_pdm_rigid_jacobian(const AuPdm *p, const float *params_local, const float params_global[6],
                           const float *weights, float *J, float *Jtw, float *shape3d)
{
    PdmView v = view_of(p);
    /* OpenFace always multiplies the rigid Jacobian by W (identity when no weights). */
    jacobian_v(&v, params_local, params_global, 6, weights, weights != NULL, J, Jtw, shape3d);
}

void au_pdm_jacobian(const AuPdm *p, const float *params_local, const float params_global[6], const float *weights,
                     float *J, float *Jtw, float *shape3d)
{
    PdmView v = view_of(p);
    int apply = 0;
    if (weights) {
        /* cv::trace(W) != W.rows: the diagonal summed pairwise in float into a double. */
        int rows = 2 * v.n, i = 0;
        double tr = 0;
        for (; i <= rows - 2; i += 2)
            tr += weights[i] + weights[i + 1];
        for (; i < rows; i++)
            tr += weights[i];
        apply = tr != rows;
    }
    jacobian_v(&v, params_local, params_global, 6 + v.m, weights, apply, J, Jtw, shape3d);
}

static void update_params_m(int m, const float *d, int n_delta, float *local, float g[6])
{
    g[0] += d[0];
    g[4] += d[4];
    g[5] += d[5];
    float R1[9], R2[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1}, R3[9];
    au_euler_to_rot_f(g + 1, R1);
    R2[7] = d[1];
    R2[5] = -d[1];
    R2[2] = d[2];
    R2[6] = -d[2];
    R2[3] = d[3];
    R2[1] = -d[3];
    au_orthonormalise_f(R2);
    /* cv::Matx33f product: float sums. */
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            float s = 0;
            for (int k = 0; k < 3; k++)
                s += R1[i * 3 + k] * R2[k * 3 + j];
            R3[i * 3 + j] = s;
        }
    float aa[3], e[3];
    au_rot_to_axis_angle_f(R3, aa);
    au_axis_angle_to_euler_f(aa, e);
    if (isnan(e[0]) || isnan(e[1]) || isnan(e[2]))
        e[0] = e[1] = e[2] = 0; /* OpenFace's "temporary fix to numerical instability" */
    g[1] = e[0];
    g[2] = e[1];
    g[3] = e[2];
    if (n_delta > 6)
        for (int i = 0; i < m; i++)
            local[i] = local[i] + d[6 + i];
}

void au_pdm_update_params(const AuPdm *p, const float *delta, int n_delta, float *params_local,
                          float params_global[6])
{
    update_params_m(p->n_modes, delta, n_delta, params_local, params_global);
}

void au_pdm_clamp(const AuPdm *p, float *params_local, float params_global[6])
{
    (void)params_global;
    const float *ev = au_mat_f32(&p->eigen_values);
    const float n_sigmas = 3;
    for (int i = 0; i < p->n_modes; i++) {
        /* sqrt of a float is the double sqrt in OpenFace's build (see rotation.c),
         * so the product is formed in double and rounded once. */
        float v = (float)(n_sigmas * sqrt((double)ev[i]));
        if (fabsf(params_local[i]) > v)
            params_local[i] = params_local[i] > 0.0 ? v : -v;
    }
}

/* curr_shape_2D = scaling * shape3D^T * R_2D^T + translation as OpenCV's gemm
 * computes it (each coordinate a double sum of three products, times the
 * scale, rounded to float) followed by a float add. */
static void project_cvgemm(int n, const float *s3, float scaling, const float R[9], float tx, float ty, float *out)
{
    for (int i = 0; i < n; i++) {
        double X = s3[i], Y = s3[i + n], Z = s3[i + 2 * n];
        double sx = 0, sy = 0;
        sx += X * R[0];
        sx += Y * R[1];
        sx += Z * R[2];
        sy += X * R[3];
        sy += Y * R[4];
        sy += Z * R[5];
        out[i] = (float)(sx * scaling) + tx;
        out[i + n] = (float)(sy * scaling) + ty;
    }
}

static float resid_norm(const float *a, const float *b, int len, float *tmp)
{
    for (int i = 0; i < len; i++)
        tmp[i] = a[i] - b[i];
    return (float)au_cv_norm_l2_f32(tmp, len);
}

/* warm_global/warm_local: NULL for OpenFace's start (the landmarks' box, no
 * shape); else a second candidate start, taken when its residual is the
 * smaller (au_pdm_params_from_landmarks_warm). */
static void params_from_landmarks(const AuPdm *p, const float *lm, const float rotation[3],
                                  const float *warm_global, const float *warm_local, float out_global[6],
                                  float *out_local, AuPdmWork *w)
{
    int n_all = p->n_points, m = p->n_modes, nv = 0;
    const float *mean = au_mat_f32(&p->mean_shape), *pc = au_mat_f32(&p->princ_comp);
    for (int i = 0; i < n_all; i++)
        nv += lm[i] != 0;
    if (nv == 0) {
        memset(out_global, 0, 6 * sizeof(float));
        memset(out_local, 0, (size_t)m * sizeof(float));
        return;
    }
    /* The PDM restricted to the visible points (rows in X, Y, Z block order). */
    PdmView v = view_of(p);
    if (nv < n_all) {
        int r = 0;
        for (int i = 0; i < 3 * n_all; i++) {
            if (lm[i % n_all] == 0)
                continue;
            w->mean_vis[r] = mean[i];
            memcpy(w->pc_vis + (size_t)r * m, pc + (size_t)i * m, (size_t)m * sizeof(float));
            r++;
        }
        v.n = nv;
        v.mean = w->mean_vis;
        v.pc = w->pc_vis;
    }
    int n = nv, k = 0, cols = 6 + m, rows = 2 * n;
    for (int i = 0; i < 2 * n_all; i++)
        if (lm[i % n_all] != 0)
            w->lm_vis[k++] = lm[i];
    const float *L = w->lm_vis;

    /* Initial global parameters from the landmarks' box against the model's own box. */
    float min_x, max_x, min_y, max_y;
    au_shape2d_bounds(L, n, &min_x, &max_x, &min_y, &max_y);
    float width = fabsf(min_x - max_x), height = fabsf(min_y - max_y);
    AuRectF model_bbox;
    const float unit[6] = {1, 0, 0, 0, 0, 0};
    memset(w->loc, 0, (size_t)m * sizeof(float));
    bbox_v(&v, unit, w->loc, &model_bbox, w->shape3d, w->shape2d);
    float scaling = ((width / model_bbox.width) + (height / model_bbox.height)) / 2.0f;
    float rot[3] = {0, 0, 0};
    if (rotation)
        memcpy(rot, rotation, sizeof(rot));
    float R[9];
    au_euler_to_rot_f(rot, R);
    float tx = (min_x + max_x) / 2.0f, ty = (min_y + max_y) / 2.0f;
    float *loc = w->loc;
    float g[6] = {scaling, rot[0], rot[1], rot[2], tx, ty};

    float *s3 = w->shape3d, *s2 = w->shape2d;
    shape3d_cvgemm(&v, loc, s3);
    for (int i = 0; i < n; i++) {
        s2[i] = scaling * (R[0] * s3[i] + R[1] * s3[i + n] + R[2] * s3[i + 2 * n]) + tx;
        s2[i + n] = scaling * (R[3] * s3[i] + R[4] * s3[i + n] + R[5] * s3[i + 2 * n]) + ty;
    }
    float curr_error = resid_norm(s2, L, rows, w->resid);
    int warm_kept = 0;
    if (warm_global && warm_local && warm_global[0] > 0) {
        /* The warm start: kept only when it already fits the landmarks better,
         * so a stale one (after a re-detection, say) costs one evaluation. */
        float wR[9];
        au_euler_to_rot_f(warm_global + 1, wR);
        shape3d_cvgemm(&v, warm_local, s3);
        project_cvgemm(n, s3, warm_global[0], wR, warm_global[4], warm_global[5], s2);
        float warm_error = resid_norm(s2, L, rows, w->resid);
        if (warm_error < curr_error) {
            warm_kept = 1;
            curr_error = warm_error;
            memcpy(loc, warm_local, (size_t)m * sizeof(float));
            memcpy(g, warm_global, sizeof(g));
            scaling = g[0];
            memcpy(rot, g + 1, sizeof(rot));
            memcpy(R, wR, sizeof(R));
            tx = g[4];
            ty = g[5];
        }
    }

    /* Regularisation: 1/eigenvalue on the non-rigid diagonal, nothing on the rigid part. */
    for (int j = 0; j < m; j++)
        w->reg[j] = 1.0f / v.ev[j];
    memset(w->regd, 0, 6 * sizeof(float));
    memcpy(w->regd + 6, w->reg, (size_t)m * sizeof(float));
    /* OpenFace stops at the third step that improves the fit by less than
     * 0.1%, judging each step with the new global parameters but the
     * previous step's shape. From a warm start that was kept, a step is
     * judged by its whole result (new shape too) and the first such step
     * stops: the start is already close, so 1-2 steps instead of 3-4
     * (test_pdm_ops measures the residuals against the cold start). */
    int not_improved_in = 0, give_up_after = 3;
    if (warm_kept)
        give_up_after = 1;
    for (int it = 0; it < 1000; it++) {
        shape3d_cvgemm(&v, loc, s3);
        project_cvgemm(n, s3, scaling, R, tx, ty, s2);
        for (int i = 0; i < rows; i++)
            w->resid[i] = L[i] - s2[i];
        jacobian_v(&v, loc, g, cols, NULL, 0, w->J, w->Jt, w->shape3d_b);
        /* J^T r (OpenCV's kernel), then minus reg * loc (cv::gemm with alpha -1,
         * beta 1: a double difference rounded once). */
        if (w->dsp)
            w->dsp->gn_rhs(w->rhs, w->Jt, w->resid, cols, rows);
        else
            au_cv_gemv_f32(w->Jt, cols, rows, rows, w->resid, 1.0, NULL, 0.0, w->rhs);
        for (int j = 0; j < m; j++) {
            double prod = (double)w->reg[j] * loc[j];
            w->rhs[6 + j] = (float)(prod * -1.0 + (double)w->rhs[6 + j] * 1.0);
        }
        if (w->dsp) {
            /* au_pdm_solve_step through the table */
            memset(w->hess, 0, (size_t)cols * cols * sizeof(float));
            for (int j = 0; j < cols; j++)
                w->hess[(size_t)j * cols + j] = w->regd[j];
            w->dsp->gn_hessian(w->hess, w->J, w->Jt, cols, rows);
            w->dsp->chol_solve(w->hess, cols, w->rhs, w->delta, w->chol);
        } else {
            au_pdm_solve_step(w->J, w->Jt, rows, cols, w->regd, w->rhs, w->delta, w->hess, w->chol);
        }
        for (int j = 0; j < cols; j++)
            w->delta[j] = 0.75f * w->delta[j]; /* damped step */
        update_params_m(m, w->delta, cols, loc, g);
        scaling = g[0];
        rot[0] = g[1];
        rot[1] = g[2];
        rot[2] = g[3];
        tx = g[4];
        ty = g[5];
        au_euler_to_rot_f(rot, R);
        /* OpenFace measures the new error with the new global parameters but
         * the 3D shape of the previous local parameters. */
        if (warm_kept)
            shape3d_cvgemm(&v, loc, s3);
        project_cvgemm(n, s3, scaling, R, tx, ty, s2);
        float error = resid_norm(s2, L, rows, w->resid);
        if (0.999 * curr_error < error) {
            not_improved_in++;
            if (not_improved_in == give_up_after)
                break;
        }
        curr_error = error;
    }
    memcpy(out_global, g, sizeof(g));
    memcpy(out_local, loc, (size_t)m * sizeof(float));
}

void au_pdm_params_from_landmarks(const AuPdm *p, const float *lm, const float rotation[3], float out_global[6],
                                  float *out_local, AuPdmWork *w)
{
    params_from_landmarks(p, lm, rotation, NULL, NULL, out_global, out_local, w);
}

void au_pdm_params_from_landmarks_warm(const AuPdm *p, const float *lm, const float rotation[3],
                                       const float warm_global[6], const float *warm_local, float out_global[6],
                                       float *out_local, AuPdmWork *w)
{
    params_from_landmarks(p, lm, rotation, warm_global, warm_local, out_global, out_local, w);
}

void au_pdm_solve_step(const float *J, const float *Jt, int rows, int cols, const float *reg, const float *rhs,
                       float *delta, float *hess, float *chol)
{
    memset(hess, 0, (size_t)cols * cols * sizeof(float));
    if (reg)
        for (int j = 0; j < cols; j++)
            hess[(size_t)j * cols + j] = reg[j];
    /* OpenFace: sgemm_("N", "N", &J.cols, &J_w_t.rows, &J_w_t.cols, 1, J, &J.cols, J_w_t, &J_w_t.cols, 1,
     * Hessian, &J.cols), i.e. column-major C (cols x cols) += J^T J. */
    cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, cols, cols, rows, 1.0f, J, cols, Jt, rows, 1.0f, hess,
                cols);
    au_cv_solve_cholesky_f32(hess, cols, rhs, delta, chol);
}

void au_pdm_pose(const AuPdm *p, const float *params_local, const float params_global[6], const float *landmarks,
                 float fx, float fy, float cx, float cy, float pose[6], AuPdmWork *w)
{
    au_pdm_shape3d(p, params_local, w->shape3d);
    au_pose_from_shape(w->shape3d, landmarks, p->n_points, params_global, fx, fy, cx, cy, pose, w->dbuf);
}

void au_pdm_camera_shape3d(const AuPdm *p, const float *params_local, const float params_global[6],
                           const float *landmarks, float fx, float fy, float cx, float cy, float *out,
                           AuPdmWork *w)
{
    int n = p->n_points;
    float R[9];
    au_pdm_shape3d(p, params_local, w->shape3d);
    au_euler_to_rot_f(params_global + 1, R);
    float Zavg = fx / params_global[0];
    const float *s3 = w->shape3d;
    for (int i = 0; i < n; i++) {
        /* shape3d^T * R^T through OpenCV's gemm kernel: only the Z column is used. */
        double z = 0;
        z += (double)s3[i] * R[6];
        z += (double)s3[i + n] * R[7];
        z += (double)s3[i + 2 * n] * R[8];
        float Z = Zavg + (float)z;
        out[i] = Z * ((landmarks[i] - cx) / fx);
        out[i + n] = Z * ((landmarks[i + n] - cy) / fy);
        out[i + 2 * n] = Z;
    }
}

AuStatus au_pdm_work_init(AuPdmWork *w, const AuPdm *p, AuError *err)
{
    memset(w, 0, sizeof(*w));
    size_t n = (size_t)p->n_points, m = (size_t)p->n_modes, cols = 6 + m;
    size_t sizes[] = {3 * n, 3 * n * m, 2 * n, 3 * n, 3 * n, 2 * n, 2 * n, 2 * n * cols, 2 * n * cols, cols,
                      cols * cols, cols * cols, cols, m, m, cols};
    float **views[] = {&w->mean_vis, &w->pc_vis, &w->lm_vis, &w->shape3d, &w->shape3d_b, &w->shape2d, &w->resid,
                       &w->J, &w->Jt, &w->rhs, &w->hess, &w->chol, &w->delta, &w->loc, &w->reg, &w->regd};
    size_t total = 0;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        total += sizes[i];
    w->fbuf = malloc(total * sizeof(float));
    w->dbuf = malloc(19 * n * sizeof(double));
    if (!w->fbuf || !w->dbuf) {
        au_pdm_work_free(w);
        return au_error_set(err, AU_ERR_NOMEM, "PDM workspace: out of memory (%zu floats)", total);
    }
    float *f = w->fbuf;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        *views[i] = f;
        f += sizes[i];
    }
    w->n_points = p->n_points;
    w->n_modes = p->n_modes;
    return AU_OK;
}

void au_pdm_work_free(AuPdmWork *w)
{
    if (!w)
        return;
    free(w->fbuf);
    free(w->dbuf);
    memset(w, 0, sizeof(*w));
}
