/* PDM geometry operations and rotation helpers against OpenFace's own
 * intermediate values (data/openface/reference/intermediates, dumped at full
 * precision from the real OpenFace 2.2 build; README there).
 *
 * Most comparisons are bit-exact: the operations reproduce OpenFace's float
 * arithmetic, its OpenBLAS calls and OpenCV's kernels in order. Each check
 * prints the largest difference it saw, and the tolerances are the achieved
 * maxima rounded up (0 where the match is exact). */
#include "autest.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linalg.h"
#include "pdm.h"
#include "refcsv.h"
#include "rotation.h"

#define MAIN_PDM "openface/models/model/pdms/In-the-wild_aligned_PDM_68.txt"
#define AU_PDM "openface/models/AU_predictors/In-the-wild_aligned_PDM_68.txt"
#define INNER_PDM "openface/models/model/model_inner/pdms/pdm_51_inner.txt"
#define LEYE_PDM "openface/models/model/model_eye/pdms/pdm_28_l_eye_3D_closed.txt"
#define REYE_PDM "openface/models/model/model_eye/pdms/pdm_28_eye_3D_closed.txt"

static const char *const VIDEOS[] = {"changeLighting", "default"};

/* Largest absolute difference seen by one check, and how many values matched bit for bit. */
typedef struct Diff {
    const char *what;
    double max;
    long n, exact;
} Diff;

static void diff_add(Diff *d, double got, double want)
{
    double e = fabs(got - want);
    if (!(e <= d->max))
        d->max = isnan(e) ? INFINITY : (e > d->max ? e : d->max);
    d->n++;
    d->exact += got == want;
}

static void diff_report(const Diff *d, double tol)
{
    print_message("  %-44s max |diff| %.3g over %ld values (%ld exact), tolerance %.3g\n", d->what, d->max, d->n,
                  d->exact, tol);
    assert_true(d->n > 0);
    if (!(d->max <= tol))
        fail_msg("%s: max |diff| %.9g exceeds %.3g", d->what, d->max, tol);
}

static void load_pdm(AuPdm *p, const char *rel)
{
    char path[1024];
    autest_path(path, sizeof(path), rel);
    autest_require_file(path);
    AuError err = {0};
    if (au_pdm_load(p, path, &err))
        fail_msg("%s", err.msg);
}

static void load_csv(RefCsv *c, const char *dir, const char *file)
{
    char rel[512], path[1024];
    snprintf(rel, sizeof(rel), "openface/reference/intermediates/%s/%s", dir, file);
    autest_path(path, sizeof(path), rel);
    autest_require_file(path);
    refcsv_load(c, path);
}

/* Columns "<prefix>0".."<prefix>(n-1)" of a row as floats (the CSVs print
 * float32 values with %.9g, so the conversion is exact). */
static void row_f(const RefCsv *c, int row, const char *prefix, int n, float *out)
{
    double tmp[256];
    assert_true(n <= 256);
    refcsv_vec(c, row, prefix, n, tmp);
    for (int i = 0; i < n; i++)
        out[i] = (float)tmp[i];
}

static void row_params(const RefCsv *c, int row, float g[6], float *local, int m)
{
    static const char *const names[6] = {"p_scale", "p_rx", "p_ry", "p_rz", "p_tx", "p_ty"};
    for (int k = 0; k < 6; k++)
        g[k] = (float)refcsv_get(c, row, names[k]);
    if (local)
        row_f(c, row, "p_", m, local);
}

/* x_0..x_{n-1} then y_0..y_{n-1}. */
static void row_shape(const RefCsv *c, int row, int n, float *xy)
{
    row_f(c, row, "x_", n, xy);
    row_f(c, row, "y_", n, xy + n);
}

static int str_is(const RefCsv *c, int row, const char *col, const char *v)
{
    return strcmp(refcsv_str(c, row, refcsv_col_req(c, col)), v) == 0;
}

/* ---- Initialisation from the face box ---------------------------------- */

static void test_params_from_bbox(void **state)
{
    (void)state;
    AuPdm p;
    AuPdmWork w;
    AuError err = {0};
    load_pdm(&p, MAIN_PDM);
    assert_int_equal(au_pdm_work_init(&w, &p, &err), AU_OK);
    int n = p.n_points, m = p.n_modes;
    float *local = calloc((size_t)m, sizeof(float)), *shape = malloc(2 * n * sizeof(float)),
          *ref = malloc(2 * n * sizeof(float)), *s3 = malloc(3 * n * sizeof(float));
    Diff dg = {"CalcParams(bbox) global params", 0, 0, 0}, ds = {"CalcShape2D of them (px)", 0, 0, 0};
    const char *dirs[] = {"changeLighting", "default", "images"};
    for (int d = 0; d < 3; d++) {
        RefCsv c;
        load_csv(&c, dirs[d], "init_from_bbox.csv");
        for (int r = 0; r < c.n_rows; r++) {
            AuRectF box = {(float)refcsv_get(&c, r, "bbox_x"), (float)refcsv_get(&c, r, "bbox_y"),
                           (float)refcsv_get(&c, r, "bbox_w"), (float)refcsv_get(&c, r, "bbox_h")};
            /* The hypotheses are cv::Vec3d, converted to cv::Vec3f by the call. */
            float rot[3] = {(float)refcsv_get(&c, r, "rot_x"), (float)refcsv_get(&c, r, "rot_y"),
                            (float)refcsv_get(&c, r, "rot_z")};
            float g[6], want_g[6];
            au_pdm_params_from_bbox(&p, &box, local, rot, g, &w);
            row_params(&c, r, want_g, NULL, 0);
            for (int k = 0; k < 6; k++)
                diff_add(&dg, g[k], want_g[k]);
            au_pdm_shape2d(&p, local, g, shape, s3);
            row_shape(&c, r, n, ref);
            for (int i = 0; i < 2 * n; i++)
                diff_add(&ds, shape[i], ref[i]);
        }
        refcsv_free(&c);
    }
    diff_report(&dg, 0);
    diff_report(&ds, 0);
    free(local);
    free(shape);
    free(ref);
    free(s3);
    au_pdm_work_free(&w);
    au_pdm_free(&p);
}

/* ---- CalcShape2D of the fitted parameters ------------------------------ */

static void check_shape2d_rows(const AuPdm *p, const RefCsv *c, const char *stage_col, const char *stage, Diff *d)
{
    int n = p->n_points, m = p->n_modes;
    float g[6], *local = malloc(m * sizeof(float)), *shape = malloc(2 * n * sizeof(float)),
                *ref = malloc(2 * n * sizeof(float)), *s3 = malloc(3 * n * sizeof(float));
    for (int r = 0; r < c->n_rows; r++) {
        if (stage_col && !str_is(c, r, stage_col, stage))
            continue;
        row_params(c, r, g, local, m);
        if (g[0] == 0)
            continue; /* failed frames carry no fit */
        au_pdm_shape2d(p, local, g, shape, s3);
        row_shape(c, r, n, ref);
        for (int i = 0; i < 2 * n; i++)
            diff_add(d, shape[i], ref[i]);
    }
    free(local);
    free(shape);
    free(ref);
    free(s3);
}

static void test_shape2d(void **state)
{
    (void)state;
    AuPdm p;
    load_pdm(&p, MAIN_PDM);
    Diff d = {"CalcShape2D, clnf_frames + clnf_fit_main (px)", 0, 0, 0};
    for (int v = 0; v < 2; v++) {
        RefCsv c;
        load_csv(&c, VIDEOS[v], "clnf_frames.csv");
        check_shape2d_rows(&p, &c, NULL, NULL, &d);
        refcsv_free(&c);
        load_csv(&c, VIDEOS[v], "clnf_fit_main.csv");
        check_shape2d_rows(&p, &c, NULL, NULL, &d);
        refcsv_free(&c);
    }
    diff_report(&d, 0);
    au_pdm_free(&p);

    /* The part models' PDMs (51 and 28 points), on their own fit rows. */
    const char *pdms[] = {INNER_PDM, LEYE_PDM, REYE_PDM};
    const char *files[] = {"clnf_fit_inner.csv", "clnf_fit_left_eye_28.csv", "clnf_fit_right_eye_28.csv"};
    Diff dp = {"CalcShape2D, part models' fit rows (px)", 0, 0, 0};
    for (int k = 0; k < 3; k++) {
        load_pdm(&p, pdms[k]);
        RefCsv c;
        load_csv(&c, "changeLighting", files[k]);
        check_shape2d_rows(&p, &c, NULL, NULL, &dp);
        refcsv_free(&c);
        au_pdm_free(&p);
    }
    diff_report(&dp, 0);
}


/* ---- One RLMS iteration: Jacobians, the solve, the update, the clamp ----
 *
 * nurlms_iters_main.csv has, per iteration of CLNF::NU_RLMS on frames 1-3,
 * the mean shift projected on the Jacobian (msimg_*), the solved increment
 * (update_*) and the parameters after UpdateModelParameters + Clamp (p_*).
 * The parameters before an iteration are the previous row's, or the call's
 * init row in clnf_fit_main.csv. From them this recomputes
 *   update = solve(reg + J^T J, J^T msimg - reg * p_local)
 * with the (rigid or full) Jacobian, landmarks the view does not see removed
 * as NU_RLMS does, and the regularisation of clnf_fit_main.csv, then applies
 * the recorded update and compares the parameters. */

typedef struct CallInfo {
    int call;
    float init_g[6], init_l[64];
} CallInfo;

static int find_row(const RefCsv *c, int col_call, int call, const char *stage_col, const char *stage, int scale)
{
    int cs = refcsv_col(c, "scale"), cst = stage_col ? refcsv_col_req(c, stage_col) : -1;
    for (int r = 0; r < c->n_rows; r++) {
        if ((int)refcsv_num(c, r, col_call) != call)
            continue;
        if (stage && strcmp(refcsv_str(c, r, cst), stage) != 0)
            continue;
        if (scale >= 0 && (int)refcsv_num(c, r, cs) != scale)
            continue;
        return r;
    }
    return -1;
}

static void test_rlms_iterations(void **state)
{
    (void)state;
    AuPdm p;
    load_pdm(&p, MAIN_PDM);
    int n = p.n_points, m = p.n_modes, nn = 2 * n;
    const float *ev = au_mat_f32(&p.eigen_values);
    float *J = malloc(sizeof(float) * nn * (6 + m)), *Jt = malloc(sizeof(float) * nn * (6 + m));
    float *s3 = malloc(sizeof(float) * 3 * n), ms[2 * 68], rhs[64], delta[64], hess[64 * 64], chol[64 * 64];
    float reg[64];
    Diff du = {"NU_RLMS update from msimg", 0, 0, 0}, dp = {"UpdateModelParameters+Clamp params", 0, 0, 0};
    long n_rigid = 0, n_nonrigid = 0, n_invisible = 0;
    for (int v = 0; v < 2; v++) {
        RefCsv it, fit, idx;
        load_csv(&it, VIDEOS[v], "nurlms_iters_main.csv");
        load_csv(&fit, VIDEOS[v], "clnf_fit_main.csv");
        load_csv(&idx, VIDEOS[v], "patch_response_index.csv");
        int c_call = refcsv_col_req(&it, "call"), f_call = refcsv_col_req(&fit, "call"),
            i_call = refcsv_col_req(&idx, "call");
        float g[6], loc[64];
        int cur_call = -1;
        for (int r = 0; r < it.n_rows; r++) {
            int call = (int)refcsv_num(&it, r, c_call);
            int scale = (int)refcsv_get(&it, r, "scale");
            if (call != cur_call) {
                int fr = find_row(&fit, f_call, call, "stage", "init", -1);
                assert_true(fr >= 0);
                row_params(&fit, fr, g, loc, m);
                cur_call = call;
            }
            if ((int)refcsv_get(&it, r, "stopped") == 1)
                continue;
            int rigid = str_is(&it, r, "pass", "rigid");
            int cols = rigid ? 6 : 6 + m;
            /* Visibility of each landmark in this call's view at this scale. */
            int vis[68];
            int cvis = refcsv_col_req(&idx, "visible"), clm = refcsv_col_req(&idx, "landmark"),
                csc = refcsv_col_req(&idx, "scale");
            int found = 0;
            for (int k = 0; k < idx.n_rows; k++) {
                if ((int)refcsv_num(&idx, k, i_call) != call || (int)refcsv_num(&idx, k, csc) != scale)
                    continue;
                vis[(int)refcsv_num(&idx, k, clm)] = (int)refcsv_num(&idx, k, cvis);
                found++;
            }
            assert_int_equal(found, n);
            row_f(&it, r, "msimg_x_", n, ms);
            row_f(&it, r, "msimg_y_", n, ms + n);
            if (rigid)
                au_pdm_rigid_jacobian(&p, loc, g, NULL, J, Jt, s3);
            else
                au_pdm_jacobian(&p, loc, g, NULL, J, Jt, s3);
            for (int i = 0; i < n; i++) {
                if (vis[i])
                    continue;
                n_invisible++;
                for (int k = 0; k < cols; k++) {
                    J[i * cols + k] = J[(i + n) * cols + k] = 0;
                    Jt[k * nn + i] = Jt[k * nn + i + n] = 0;
                }
            }
            au_cv_gemv_f32(Jt, cols, nn, nn, ms, 1.0, NULL, 0.0, rhs);
            memset(reg, 0, sizeof(reg));
            if (!rigid) {
                int fr = find_row(&fit, f_call, call, "stage", "nonrigid", scale);
                assert_true(fr >= 0);
                float reg_factor = (float)refcsv_get(&fit, fr, "reg_factor");
                for (int j = 0; j < m; j++) {
                    reg[6 + j] = reg_factor / ev[j];
                    rhs[6 + j] = (float)((double)reg[6 + j] * loc[j] * -1.0 + rhs[6 + j]);
                }
            }
            au_pdm_solve_step(J, Jt, nn, cols, reg, rhs, delta, hess, chol);
            float want[64];
            row_f(&it, r, "update_", cols, want);
            for (int k = 0; k < cols; k++)
                diff_add(&du, delta[k], want[k]);
            /* Apply the recorded update. */
            au_pdm_update_params(&p, want, cols, loc, g);
            au_pdm_clamp(&p, loc, g);
            float wg[6], wl[64];
            row_params(&it, r, wg, wl, m);
            for (int k = 0; k < 6; k++)
                diff_add(&dp, g[k], wg[k]);
            for (int k = 0; k < m; k++)
                diff_add(&dp, loc[k], wl[k]);
            memcpy(g, wg, sizeof(g));
            memcpy(loc, wl, sizeof(float) * m);
            if (rigid)
                n_rigid++;
            else
                n_nonrigid++;
        }
        refcsv_free(&it);
        refcsv_free(&fit);
        refcsv_free(&idx);
    }
    print_message("  %ld rigid and %ld non-rigid iterations, %ld invisible landmark rows removed\n", n_rigid,
                  n_nonrigid, n_invisible);
    assert_true(n_rigid > 100 && n_nonrigid > 100 && n_invisible > 0);
    diff_report(&du, 0);
    diff_report(&dp, 0);
    free(J);
    free(Jt);
    free(s3);
    au_pdm_free(&p);
}

/* The Jacobian columns against central differences of CalcShape2D, moving
 * each parameter through UpdateModelParameters (the rotation columns are
 * derivatives with respect to a small rotation composed on the right, not
 * the Euler angles, so only this pairing is consistent). Weights: each row
 * of Jtw is the Jacobian column times the row's weight. */
static void test_jacobian_finite_differences(void **state)
{
    (void)state;
    AuPdm p;
    load_pdm(&p, MAIN_PDM);
    int n = p.n_points, m = p.n_modes, nn = 2 * n, cols = 6 + m;
    RefCsv c;
    load_csv(&c, "default", "clnf_frames.csv");
    float *J = malloc(sizeof(float) * nn * cols), *Jt = malloc(sizeof(float) * nn * cols);
    float *Jr = malloc(sizeof(float) * nn * 6), *Jrt = malloc(sizeof(float) * nn * 6);
    float *s3 = malloc(sizeof(float) * 3 * n), *sp = malloc(sizeof(float) * nn), *sm = malloc(sizeof(float) * nn);
    float *wts = malloc(sizeof(float) * nn);
    double worst = 0;
    for (int r = 0; r < c.n_rows; r += 37) {
        float g[6], loc[64];
        row_params(&c, r, g, loc, m);
        au_pdm_jacobian(&p, loc, g, NULL, J, Jt, s3);
        au_pdm_rigid_jacobian(&p, loc, g, NULL, Jr, Jrt, s3);
        for (int k = 0; k < cols; k++) {
            /* Steps large enough to dominate float rounding of ~300 px coordinates. */
            float h = k == 0 ? 1e-3f : k < 4 ? 1e-3f : k < 6 ? 0.5f : 0.5f;
            float d[64] = {0}, gp[6], gm[6], lp[64], lm[64];
            memcpy(gp, g, sizeof(gp));
            memcpy(gm, g, sizeof(gm));
            memcpy(lp, loc, sizeof(float) * m);
            memcpy(lm, loc, sizeof(float) * m);
            d[k] = h;
            au_pdm_update_params(&p, d, cols, lp, gp);
            d[k] = -h;
            au_pdm_update_params(&p, d, cols, lm, gm);
            au_pdm_shape2d(&p, lp, gp, sp, s3);
            au_pdm_shape2d(&p, lm, gm, sm, s3);
            double colmax = 0, errmax = 0;
            for (int i = 0; i < nn; i++) {
                double fd = ((double)sp[i] - sm[i]) / (2.0 * h);
                double jv = J[i * cols + k];
                colmax = fmax(colmax, fabs(jv));
                errmax = fmax(errmax, fabs(fd - jv));
                assert_true(Jt[k * nn + i] == J[i * cols + k]);
                if (k < 6)
                    assert_true(Jr[i * 6 + k] == J[i * cols + k] && Jrt[k * nn + i] == J[i * cols + k]);
            }
            double rel = errmax / (colmax > 1 ? colmax : 1);
            worst = fmax(worst, rel);
            if (rel > 2e-3)
                fail_msg("row %d column %d: |FD - J| = %g against column max %g", r, k, errmax, colmax);
        }
    }
    print_message("  Jacobian vs central differences: worst relative error %.3g (tolerance 2e-3)\n", worst);

    /* Weighted Jacobians: non-uniform weights scale the rows of Jtw; weights
     * that sum to 2n (here all ones) leave ComputeJacobian unweighted. */
    float g[6], loc[64];
    row_params(&c, 0, g, loc, m);
    au_pdm_jacobian(&p, loc, g, NULL, J, Jt, s3);
    for (int i = 0; i < nn; i++)
        wts[i] = 0.5f + (float)(i % 7);
    float *Jw = malloc(sizeof(float) * nn * cols), *Jwt = malloc(sizeof(float) * nn * cols);
    au_pdm_jacobian(&p, loc, g, wts, Jw, Jwt, s3);
    au_pdm_rigid_jacobian(&p, loc, g, wts, Jr, Jrt, s3);
    for (int i = 0; i < nn; i++)
        for (int k = 0; k < cols; k++) {
            assert_true(Jw[i * cols + k] == J[i * cols + k]);
            assert_true(Jwt[k * nn + i] == J[i * cols + k] * wts[i]);
            if (k < 6)
                assert_true(Jrt[k * nn + i] == J[i * cols + k] * wts[i]);
        }
    for (int i = 0; i < nn; i++)
        wts[i] = 1.0f;
    au_pdm_jacobian(&p, loc, g, wts, Jw, Jwt, s3);
    assert_memory_equal(Jwt, Jt, sizeof(float) * nn * cols);
    free(Jw);
    free(Jwt);
    free(J);
    free(Jt);
    free(Jr);
    free(Jrt);
    free(s3);
    free(sp);
    free(sm);
    free(wts);
    refcsv_free(&c);
    au_pdm_free(&p);
}

/* ---- CalcParams from landmarks ----------------------------------------- */

/* FaceAnalyser::AddNextFrame: CalcParams on the AU predictors' PDM from the
 * frame's final 68 landmarks (clnf_frames.csv). */
static void test_params_from_landmarks_fa(void **state)
{
    (void)state;
    AuPdm p;
    AuPdmWork w;
    AuError err = {0};
    load_pdm(&p, AU_PDM);
    assert_int_equal(au_pdm_work_init(&w, &p, &err), AU_OK);
    int n = p.n_points, m = p.n_modes;
    Diff dg = {"FaceAnalyser CalcParams: global", 0, 0, 0}, dl = {"FaceAnalyser CalcParams: local", 0, 0, 0};
    float lm[136], g[6], loc[64], wg[6], wl[64];
    for (int v = 0; v < 2; v++) {
        RefCsv fa, fr;
        load_csv(&fa, VIDEOS[v], "fa_params.csv");
        load_csv(&fr, VIDEOS[v], "clnf_frames.csv");
        int ff = refcsv_col_req(&fr, "frame");
        for (int r = 0; r < fa.n_rows; r++) {
            int frame = (int)refcsv_get(&fa, r, "frame");
            int k = find_row(&fr, ff, frame, NULL, NULL, -1);
            assert_true(k >= 0);
            row_shape(&fr, k, n, lm);
            au_pdm_params_from_landmarks(&p, lm, NULL, g, loc, &w);
            row_params(&fa, r, wg, wl, m);
            for (int j = 0; j < 6; j++)
                diff_add(&dg, g[j], wg[j]);
            for (int j = 0; j < m; j++)
                diff_add(&dl, loc[j], wl[j]);
        }
        refcsv_free(&fa);
        refcsv_free(&fr);
    }
    diff_report(&dg, 0);
    diff_report(&dl, 0);
    au_pdm_work_free(&w);
    au_pdm_free(&p);
}

/* Root-mean-square distance of the PDM's 2D shape for (g, loc) from lm. */
static double fit_rms(const AuPdm *p, const float g[6], const float *loc, const float *lm)
{
    int n = p->n_points;
    float s2[136], s3[204];
    au_pdm_shape2d(p, loc, g, s2, s3);
    double sum = 0;
    for (int i = 0; i < 2 * n; i++)
        sum += ((double)s2[i] - lm[i]) * ((double)s2[i] - lm[i]);
    return sqrt(sum / n);
}

/* au_pdm_params_from_landmarks_warm as the fast variants track with it: each
 * frame warm-started from the previous frame's result, on both videos'
 * final landmarks. The fit must be as good as OpenFace's cold start (within
 * 1% of its residual, or 0.01 px) and the parameters close to it; a start
 * that fits worse than the cold one (none, or a wild one) gives exactly the
 * cold result. */
static void test_params_from_landmarks_warm(void **state)
{
    (void)state;
    AuPdm p;
    AuPdmWork w;
    AuError err = {0};
    load_pdm(&p, AU_PDM);
    assert_int_equal(au_pdm_work_init(&w, &p, &err), AU_OK);
    int n = p.n_points, m = p.n_modes;
    assert_true(n == 68 && m <= 64);
    float lm[136], g[6], loc[64], cg[6], cl[64], prev_g[6] = {0}, prev_l[64] = {0};
    double worst_ratio = 0, max_dscale = 0, max_dt = 0;
    long frames = 0, kept_cold = 0;
    for (int v = 0; v < 2; v++) {
        RefCsv fr;
        load_csv(&fr, VIDEOS[v], "clnf_frames.csv");
        memset(prev_g, 0, sizeof(prev_g));
        for (int r = 0; r < fr.n_rows; r++) {
            row_shape(&fr, r, n, lm);
            au_pdm_params_from_landmarks(&p, lm, NULL, cg, cl, &w);
            au_pdm_params_from_landmarks_warm(&p, lm, NULL, prev_g, prev_l, g, loc, &w);
            double cold = fit_rms(&p, cg, cl, lm), warm = fit_rms(&p, g, loc, lm);
            assert_true(warm <= cold * 1.01 + 0.01);
            if (cold > 0 && warm / cold > worst_ratio)
                worst_ratio = warm / cold;
            if (fabs(g[0] - cg[0]) / cg[0] > max_dscale)
                max_dscale = fabs(g[0] - cg[0]) / cg[0];
            for (int j = 4; j < 6; j++)
                if (fabs(g[j] - cg[j]) > max_dt)
                    max_dt = fabs(g[j] - cg[j]);
            kept_cold += !memcmp(g, cg, sizeof(g));
            memcpy(prev_g, g, sizeof(g));
            memcpy(prev_l, loc, sizeof(float) * (size_t)m);
            frames++;
        }
        refcsv_free(&fr);
    }
    print_message("  warm CalcParams over %ld frames: residual at most %.4f x the cold start's, scale within %.2g, "
                  "translation within %.3g px; cold start identical on %ld frames\n",
                  frames, worst_ratio, max_dscale, max_dt, kept_cold);
    assert_true(frames > 300);
    assert_true(max_dscale < 1e-3);
    assert_true(max_dt < 0.05);

    /* no start, and a wild one: exactly OpenFace's cold result */
    const float none[6] = {0, 0, 0, 0, 0, 0}, wild[6] = {50.0f, 1.0f, -1.0f, 0.5f, -4000.0f, 9000.0f};
    au_pdm_params_from_landmarks(&p, lm, NULL, cg, cl, &w);
    au_pdm_params_from_landmarks_warm(&p, lm, NULL, none, prev_l, g, loc, &w);
    assert_memory_equal(g, cg, sizeof(g));
    assert_memory_equal(loc, cl, sizeof(float) * (size_t)m);
    au_pdm_params_from_landmarks_warm(&p, lm, NULL, wild, prev_l, g, loc, &w);
    assert_memory_equal(g, cg, sizeof(g));
    assert_memory_equal(loc, cl, sizeof(float) * (size_t)m);
    au_pdm_work_free(&w);
    au_pdm_free(&p);
}

/* CLNF::DetectLandmarks' hierarchical block:
 *  - main_final = CalcShape2D(CalcParams(main_merged)) on the main PDM (no
 *    starting rotation: OpenFace passes none);
 *  - each part model starts from CalcParams(part_input) on its own PDM, with
 *    the unmapped points left at (0, 0) and so missing (the eyes get 6 of 28
 *    points): the starting parameters are the init row of clnf_fit_<part>. */
static void test_params_from_landmarks_hierarchical(void **state)
{
    (void)state;
    const char *models[] = {"main", "inner", "left_eye_28", "right_eye_28"};
    const char *pdms[] = {MAIN_PDM, INNER_PDM, LEYE_PDM, REYE_PDM};
    const char *fits[] = {NULL, "clnf_fit_inner.csv", "clnf_fit_left_eye_28.csv", "clnf_fit_right_eye_28.csv"};
    const char *dirs[] = {"changeLighting", "default", "images"};
    for (int k = 0; k < 4; k++) {
        AuPdm p;
        AuPdmWork w;
        AuError err = {0};
        load_pdm(&p, pdms[k]);
        assert_int_equal(au_pdm_work_init(&w, &p, &err), AU_OK);
        int n = p.n_points, m = p.n_modes;
        char what_g[96], what_s[96];
        snprintf(what_g, sizeof(what_g), "hierarchical CalcParams, %s: params", models[k]);
        snprintf(what_s, sizeof(what_s), "hierarchical CalcParams, %s: shape (px)", models[k]);
        Diff dg = {what_g, 0, 0, 0}, ds = {what_s, 0, 0, 0};
        float lm[136], g[6], loc[64], wg[6], wl[64], shape[136], want[136], s3[204];
        long n_missing = 0;
        for (int d = 0; d < 3; d++) {
            RefCsv h, fit;
            load_csv(&h, dirs[d], "hierarchical.csv");
            if (fits[k])
                load_csv(&fit, dirs[d], fits[k]);
            int hc = refcsv_col_req(&h, "call"), fc = fits[k] ? refcsv_col_req(&fit, "call") : -1;
            for (int r = 0; r < h.n_rows; r++) {
                if (!str_is(&h, r, "model", models[k]))
                    continue;
                const char *stage = k == 0 ? "main_merged" : "part_input";
                if (!str_is(&h, r, "stage", stage))
                    continue;
                assert_int_equal((int)refcsv_get(&h, r, "n_points"), n);
                row_shape(&h, r, n, lm);
                for (int i = 0; i < n; i++)
                    n_missing += lm[i] == 0;
                au_pdm_params_from_landmarks(&p, lm, NULL, g, loc, &w);
                int call = (int)refcsv_num(&h, r, hc);
                if (k == 0) {
                    /* main_final is the next row of the same call. */
                    int f = r + 1;
                    assert_true(f < h.n_rows && str_is(&h, f, "stage", "main_final"));
                    assert_int_equal((int)refcsv_num(&h, f, hc), call);
                    au_pdm_shape2d(&p, loc, g, shape, s3);
                    row_shape(&h, f, n, want);
                    for (int i = 0; i < 2 * n; i++)
                        diff_add(&ds, shape[i], want[i]);
                } else {
                    int f = find_row(&fit, fc, call, "stage", "init", -1);
                    if (f < 0)
                        continue; /* part not fitted on this call: no init row */
                    row_params(&fit, f, wg, wl, m);
                    for (int j = 0; j < 6; j++)
                        diff_add(&dg, g[j], wg[j]);
                    for (int j = 0; j < m; j++)
                        diff_add(&dg, loc[j], wl[j]);
                    au_pdm_shape2d(&p, loc, g, shape, s3);
                    row_shape(&fit, f, n, want);
                    for (int i = 0; i < 2 * n; i++)
                        diff_add(&ds, shape[i], want[i]);
                }
            }
            refcsv_free(&h);
            if (fits[k])
                refcsv_free(&fit);
        }
        if (k >= 2)
            assert_true(n_missing > 0); /* the eyes' unmapped points were exercised */
        if (k > 0)
            diff_report(&dg, 0);
        diff_report(&ds, 0);
        au_pdm_work_free(&w);
        au_pdm_free(&p);
    }
}

/* ---- AlignShapesWithScale ---------------------------------------------- */

/* Patch_experts::Response: sim_img_to_ref = AlignShapesWithScale(image
 * shape, reference shape) over the 68 landmarks of each call and scale. */
static void test_align_patch_similarity(void **state)
{
    (void)state;
    Diff d = {"AlignShapesWithScale img_to_ref (68 points)", 0, 0, 0};
    float img[136], ref[136], A[4], scratch[6 * 68];
    static const char *const names[4] = {"img_to_ref_00", "img_to_ref_01", "img_to_ref_10", "img_to_ref_11"};
    for (int v = 0; v < 2; v++) {
        RefCsv c;
        load_csv(&c, VIDEOS[v], "patch_response_index.csv");
        int cl = refcsv_col_req(&c, "landmark"), cx = refcsv_col_req(&c, "lmk_x"), cy = refcsv_col_req(&c, "lmk_y"),
            rx = refcsv_col_req(&c, "ref_x"), ry = refcsv_col_req(&c, "ref_y");
        for (int r = 0; r + 68 <= c.n_rows; r += 68) {
            for (int i = 0; i < 68; i++) {
                assert_int_equal((int)refcsv_num(&c, r + i, cl), i);
                img[2 * i] = (float)refcsv_num(&c, r + i, cx);
                img[2 * i + 1] = (float)refcsv_num(&c, r + i, cy);
                ref[2 * i] = (float)refcsv_num(&c, r + i, rx);
                ref[2 * i + 1] = (float)refcsv_num(&c, r + i, ry);
            }
            au_align_with_scale_f(img, ref, 68, A, scratch);
            for (int k = 0; k < 4; k++)
                diff_add(&d, A[k], (float)refcsv_get(&c, r, names[k]));
        }
        refcsv_free(&c);
    }
    diff_report(&d, 0);
}

/* FaceAnalyser's AlignFaceMask: the 2x2 part of the warp is
 * AlignShapesWithScale over the 24 rigid points of the landmarks against
 * 0.7 * the AU PDM's mean shape. */
static void test_align_face_rigid_points(void **state)
{
    (void)state;
    static const int rigid[24] = {1, 2, 3, 4, 12, 13, 14, 15, 27, 28, 29, 31, 32, 33, 34, 35, 36, 39, 40, 41, 42, 45, 46, 47};
    static const char *const names[4] = {"warp_00", "warp_01", "warp_10", "warp_11"};
    AuPdm p;
    load_pdm(&p, AU_PDM);
    const float *mean = au_mat_f32(&p.mean_shape);
    int n = p.n_points;
    float src[48], dst[48], lm[136], A[4], scratch[6 * 24];
    for (int i = 0; i < 24; i++) {
        /* Mat * 0.7 is a float scale by (float)0.7. */
        dst[2 * i] = mean[rigid[i]] * (float)0.7;
        dst[2 * i + 1] = mean[rigid[i] + n] * (float)0.7;
    }
    Diff d = {"AlignShapesWithScale, AU alignment (24 pts)", 0, 0, 0};
    for (int v = 0; v < 2; v++) {
        RefCsv al, fr;
        load_csv(&al, VIDEOS[v], "fa_align.csv");
        load_csv(&fr, VIDEOS[v], "clnf_frames.csv");
        int ff = refcsv_col_req(&fr, "frame");
        for (int r = 0; r < al.n_rows; r++) {
            int k = find_row(&fr, ff, (int)refcsv_get(&al, r, "frame"), NULL, NULL, -1);
            assert_true(k >= 0);
            row_shape(&fr, k, n, lm);
            for (int i = 0; i < 24; i++) {
                src[2 * i] = lm[rigid[i]];
                src[2 * i + 1] = lm[rigid[i] + n];
            }
            au_align_with_scale_f(src, dst, 24, A, scratch);
            for (int j = 0; j < 4; j++)
                diff_add(&d, A[j], (float)refcsv_get(&al, r, names[j]));
        }
        refcsv_free(&al);
        refcsv_free(&fr);
    }
    diff_report(&d, 0);
    au_pdm_free(&p);
}

/* ---- Pose and camera-space shape --------------------------------------- */

/* GetPose (solvePnP refinement of the weak-perspective estimate) and
 * CLNF::GetShape against pose_shape3d.csv, with FeatureExtraction's camera
 * (fx = fy = 500, cx = 320, cy = 240), from clnf_frames' parameters and
 * landmarks; and the pose against the output CSV's pose_* columns (printed
 * with 1 decimal for T, 3 for R). */
static void test_pose_and_camera_shape(void **state)
{
    (void)state;
    AuPdm p;
    AuPdmWork w;
    AuError err = {0};
    load_pdm(&p, MAIN_PDM);
    assert_int_equal(au_pdm_work_init(&w, &p, &err), AU_OK);
    int n = p.n_points, m = p.n_modes;
    Diff dt = {"GetPose translation (mm)", 0, 0, 0}, dr = {"GetPose rotation (rad)", 0, 0, 0},
         ds = {"GetShape camera-space 3D (mm)", 0, 0, 0}, dct = {"pose T vs output CSV (printed %.1f)", 0, 0, 0},
         dcr = {"pose R vs output CSV (printed %.3f)", 0, 0, 0};
    static const char *const pn[6] = {"pose_Tx", "pose_Ty", "pose_Tz", "pose_Rx", "pose_Ry", "pose_Rz"};
    float g[6], loc[64], lm[136], pose[6], xyz[204], want[204];
    for (int v = 0; v < 2; v++) {
        RefCsv ps, fr, out;
        load_csv(&ps, VIDEOS[v], "pose_shape3d.csv");
        load_csv(&fr, VIDEOS[v], "clnf_frames.csv");
        char rel[256], path[1024];
        snprintf(rel, sizeof(rel), "openface/reference/%s.csv", VIDEOS[v]);
        autest_path(path, sizeof(path), rel);
        refcsv_load(&out, path);
        int ff = refcsv_col_req(&fr, "frame"), of = refcsv_col(&out, "frame");
        if (of < 0)
            of = refcsv_col_req(&out, " frame");
        for (int r = 0; r < ps.n_rows; r++) {
            int frame = (int)refcsv_get(&ps, r, "frame");
            int k = find_row(&fr, ff, frame, NULL, NULL, -1);
            assert_true(k >= 0);
            row_params(&fr, k, g, loc, m);
            row_shape(&fr, k, n, lm);
            au_pdm_pose(&p, loc, g, lm, 500, 500, 320, 240, pose, &w);
            for (int j = 0; j < 6; j++)
                diff_add(j < 3 ? &dt : &dr, pose[j], refcsv_get(&ps, r, pn[j]));
            au_pdm_camera_shape3d(&p, loc, g, lm, 500, 500, 320, 240, xyz, &w);
            row_f(&ps, r, "X_", n, want);
            row_f(&ps, r, "Y_", n, want + n);
            row_f(&ps, r, "Z_", n, want + 2 * n);
            for (int i = 0; i < 3 * n; i++)
                diff_add(&ds, xyz[i], want[i]);
            int o = find_row(&out, of, frame, NULL, NULL, -1);
            assert_true(o >= 0);
            for (int j = 0; j < 6; j++) {
                char name[32];
                snprintf(name, sizeof(name), "%s", pn[j]);
                int col = refcsv_col(&out, name);
                if (col < 0) {
                    snprintf(name, sizeof(name), " %s", pn[j]);
                    col = refcsv_col_req(&out, name);
                }
                diff_add(j < 3 ? &dct : &dcr, pose[j], refcsv_num(&out, o, col));
            }
        }
        refcsv_free(&ps);
        refcsv_free(&fr);
        refcsv_free(&out);
    }
    diff_report(&dt, 0);
    diff_report(&dr, 0);
    diff_report(&ds, 0);
    /* Half a unit of the last printed digit (plus float noise in the printing). */
    diff_report(&dct, 0.05 + 1e-6);
    diff_report(&dcr, 0.0005 + 1e-9);
    au_pdm_work_free(&w);
    au_pdm_free(&p);
}

/* ---- Rotation helpers and OpenCV kernels: known answers and properties ---
 * The hard-coded expectations were produced by the system's OpenCV 4.6
 * (python3-opencv, the same build OpenFace used) with cv2.Rodrigues,
 * cv2.SVDecomp/gemm/determinant and cv2.solve, printed with %.9g / %.17g. */

static void test_rotation_known_answers(void **state)
{
    (void)state;
    const float r[3] = {0.1f, -0.2f, 0.3f};
    const float R_cv[9] = {0.935754776f, -0.302932739f, -0.180540085f, 0.283164978f, 0.950580597f,
                           -0.12733458f, 0.210191712f,  0.0680313185f, 0.975290298f};
    float R[9], back[3];
    au_axis_angle_to_rot_f(r, R);
    assert_memory_equal(R, R_cv, sizeof(R));
    au_rot_to_axis_angle_f(R, back);
    const float back_cv[3] = {0.100000001f, -0.200000003f, 0.300000042f};
    assert_memory_equal(back, back_cv, sizeof(back));

    /* PDM::Orthonormalise of UpdateModelParameters' small-rotation matrix. */
    const float d[3] = {0.01f, -0.02f, 0.015f};
    float R2[9] = {1, -d[2], d[1], d[2], 1, -d[0], -d[1], d[0], 1};
    au_orthonormalise_f(R2);
    const float orth_cv[9] = {0.999687612f, -0.0150944591f, -0.0199178159f, 0.0148946941f, 0.999837518f,
                              -0.0101462007f, 0.0200676918f, 0.0098465085f, 0.999750078f};
    assert_memory_equal(R2, orth_cv, sizeof(R2));

    /* Euler <-> matrix round trips (float as OpenFace, and double). */
    for (int k = 0; k < 50; k++) {
        float e[3] = {0.9f * sinf(0.7f * k), 1.2f * cosf(1.3f * k), 1.5f * sinf(0.37f * k + 1)}, Rf[9], e2[3], aa[3];
        au_euler_to_rot_f(e, Rf);
        double det = au_cv_det3_f32(Rf);
        assert_true(fabs(det - 1) < 1e-6);
        au_rot_to_euler_f(Rf, e2);
        for (int j = 0; j < 3; j++)
            assert_true(fabsf(e2[j] - e[j]) < 2e-5f);
        au_euler_to_axis_angle_f(e, aa);
        au_axis_angle_to_euler_f(aa, e2);
        for (int j = 0; j < 3; j++)
            assert_true(fabsf(e2[j] - e[j]) < 2e-5f);
        double ed[3] = {e[0], e[1], e[2]}, Rd[9], ed2[3];
        au_euler_to_rot_d(ed, Rd);
        au_rot_to_euler_d(Rd, ed2);
        for (int j = 0; j < 3; j++) {
            assert_true(fabs(ed2[j] - ed[j]) < 1e-12);
            assert_true(fabs(Rd[j] - Rf[j]) < 1e-6);
        }
    }
    /* Zero rotation vector: identity, and the Jacobian OpenCV gives there. */
    double z[3] = {0, 0, 0}, Rz[9], Jz[27];
    au_axis_angle_to_rot_jac_d(z, Rz, Jz);
    assert_true(Rz[0] == 1 && Rz[4] == 1 && Rz[8] == 1 && Rz[1] == 0);
    assert_true(Jz[5] == -1 && Jz[7] == 1 && Jz[11] == 1 && Jz[15] == -1 && Jz[19] == -1 && Jz[21] == 1);
    /* A rotation by pi takes the special branch of cv::Rodrigues. */
    double Rpi[9] = {-1, 0, 0, 0, -1, 0, 0, 0, 1}, rpi[3];
    au_rot_to_axis_angle_d(Rpi, rpi);
    assert_true(fabs(rpi[0]) < 1e-12 && fabs(rpi[1]) < 1e-12 && fabs(fabs(rpi[2]) - 3.14159265358979323846) < 1e-12);
    /* Out-of-range input: a zero vector, as cv::Rodrigues returns. */
    double Rbad[9] = {1, 0, 0, 0, 1, 0, 0, 0, NAN};
    au_rot_to_axis_angle_d(Rbad, rpi);
    assert_true(rpi[0] == 0 && rpi[1] == 0 && rpi[2] == 0);
}

static void test_linalg_known_answers(void **state)
{
    (void)state;
    /* cv::solve(DECOMP_CHOLESKY) on a block-diagonal SPD 6x6. */
    const float A3[9] = {4, 2, 0.6f, 2, 5, 1, 0.6f, 1, 3};
    float A[36] = {0}, b[6] = {1, 2, 3, 1, 2, 3}, x[6], scratch[36];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            A[i * 6 + j] = A[(i + 3) * 6 + j + 3] = A3[i * 3 + j];
    assert_int_equal(au_cv_solve_cholesky_f32(A, 6, b, x, scratch), 1);
    const float x_cv[6] = {0.0044843033f, 0.212556049f, 0.928251147f, 0.0044843033f, 0.212556049f, 0.928251147f};
    assert_memory_equal(x, x_cv, sizeof(x));
    /* Not positive definite: failure and a zero solution, as cv::solve. */
    A[0] = -1;
    assert_int_equal(au_cv_solve_cholesky_f32(A, 6, b, x, scratch), 0);
    for (int i = 0; i < 6; i++)
        assert_true(x[i] == 0);

    /* cv::solve(DECOMP_SVD) in double (the pose refinement's step). */
    const double Ad[36] = {4, 1, 0, 0, 0, 0.5, 1, 3, 0.2, 0, 0, 0, 0, 0.2, 2, 0.1, 0, 0,
                           0, 0, 0.1, 5, 1, 0,   0, 0, 0,   1, 6, 0.3, 0.5, 0, 0, 0, 0.3, 7};
    const double bd[6] = {1, 2, 3, 4, 5, 6};
    const double xd_cv[6] = {0.0037296463234650079, 0.57134755645961599, 1.4111384214884255,
                             0.63453645731223629,   0.68620387128997529, 0.82746771649303941};
    double xd[6];
    au_cv_solve_svd_f64(Ad, 6, bd, xd);
    assert_memory_equal(xd, xd_cv, sizeof(xd));

    /* A rank-deficient SVD completes U with OpenCV's seeded random vectors;
     * the result must still be orthonormal (and matched cv2.SVDecomp bit for
     * bit when checked). */
    const float Z[9] = {1, 2, 3, 2, 4, 6, 1, 1, 1};
    float W[3], U[9], Vt[9];
    au_cv_svd_square_f32(Z, 3, W, U, Vt);
    assert_true(W[2] < 1e-6f && W[0] >= W[1] && W[1] >= W[2]);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            double dot = 0;
            for (int k = 0; k < 3; k++)
                dot += (double)U[k * 3 + i] * U[k * 3 + j];
            assert_true(fabs(dot - (i == j)) < 1e-6);
        }
    /* Reconstruction U W Vt. */
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            double v = 0;
            for (int k = 0; k < 3; k++)
                v += (double)U[i * 3 + k] * W[k] * Vt[k * 3 + j];
            assert_true(fabs(v - Z[i * 3 + j]) < 1e-5);
        }
    /* cv::norm and cv::gemm's special 3x3 case. */
    const float v4[5] = {3, 4, 0, 0, 12};
    assert_true(au_cv_norm_l2_f32(v4, 5) == 13.0);
    float y[3];
    const float xv[3] = {1, 2, 3}, c[3] = {1, 1, 1};
    au_cv_gemv_f32(A3, 3, 3, 3, xv, 1.0, c, 2.0, y);
    assert_true(y[0] == 4 + 4 + 1.8f + 2 && y[1] == 2 + 10 + 3 + 2 && y[2] == 0.6f + 2 + 9 + 2);
}

static void test_alignment_properties(void **state)
{
    (void)state;
    enum { N = 30 };
    float src[2 * N], dst[2 * N], A[4], scratch[6 * N];
    const float th = 0.3f, sc = 2.0f;
    for (int i = 0; i < N; i++) {
        float x = 100 + 40 * sinf(i * 0.9f), y = 80 + 30 * cosf(i * 1.7f);
        src[2 * i] = x;
        src[2 * i + 1] = y;
        dst[2 * i] = sc * (cosf(th) * x - sinf(th) * y) + 17;
        dst[2 * i + 1] = sc * (sinf(th) * x + cosf(th) * y) - 5;
    }
    au_align_with_scale_f(src, dst, N, A, scratch);
    assert_true(fabsf(A[0] - sc * cosf(th)) < 1e-5f && fabsf(A[1] + sc * sinf(th)) < 1e-5f);
    assert_true(fabsf(A[2] - sc * sinf(th)) < 1e-5f && fabsf(A[3] - sc * cosf(th)) < 1e-5f);
    /* A mirrored target: Kabsch returns a rotation (det +1), never the reflection. */
    float from[2 * N], to[2 * N], R[4];
    for (int i = 0; i < N; i++) {
        from[2 * i] = src[2 * i] - 100;
        from[2 * i + 1] = src[2 * i + 1] - 80;
        to[2 * i] = -from[2 * i];
        to[2 * i + 1] = from[2 * i + 1];
    }
    au_align_kabsch2d_f(from, to, N, R);
    assert_true(fabs(au_cv_det2_f32(R) - 1) < 1e-6);
    /* 100+ points go through OpenBLAS as in OpenCV; same answer up to rounding. */
    enum { M = 120 };
    float big_s[2 * M], big_d[2 * M], A2[4], scratch2[6 * M];
    for (int i = 0; i < M; i++) {
        big_s[2 * i] = src[2 * (i % N)] + i * 0.01f;
        big_s[2 * i + 1] = src[2 * (i % N) + 1] - i * 0.02f;
        float x = big_s[2 * i], y = big_s[2 * i + 1];
        big_d[2 * i] = sc * (cosf(th) * x - sinf(th) * y);
        big_d[2 * i + 1] = sc * (sinf(th) * x + cosf(th) * y);
    }
    au_align_with_scale_f(big_s, big_d, M, A2, scratch2);
    assert_true(fabsf(A2[0] - sc * cosf(th)) < 1e-5f && fabsf(A2[2] - sc * sinf(th)) < 1e-5f);
}

/* Edge cases and consistency of the PDM operations on the main model. */
static void test_pdm_ops_edges(void **state)
{
    (void)state;
    AuPdm p;
    AuPdmWork w;
    AuError err = {0};
    load_pdm(&p, MAIN_PDM);
    assert_int_equal(au_pdm_work_init(&w, &p, &err), AU_OK);
    int n = p.n_points, m = p.n_modes;
    const float *ev = au_mat_f32(&p.eigen_values);

    /* Clamp: to exactly +-3 sqrt(eigenvalue), inside values untouched. */
    float loc[64], g[6] = {1, 0, 0, 0, 0, 0};
    for (int j = 0; j < m; j++)
        loc[j] = (j % 3 == 0 ? 10.f : j % 3 == 1 ? -10.f : 0.01f) * sqrtf(ev[j]);
    au_pdm_clamp(&p, loc, g);
    for (int j = 0; j < m; j++) {
        float lim = (float)(3.0f * sqrt((double)ev[j]));
        if (j % 3 == 0)
            assert_true(loc[j] == lim);
        else if (j % 3 == 1)
            assert_true(loc[j] == -lim);
        else
            assert_true(loc[j] == 0.01f * sqrtf(ev[j]));
    }
    assert_true(g[0] == 1 && g[1] == 0 && g[4] == 0);

    /* CalcParams(bbox) with no rotation, then CalcBoundingBox: the same centre,
     * and the scale is the mean of the two box-to-model ratios, so those
     * ratios average to 1 against the returned box. */
    memset(loc, 0, sizeof(loc));
    AuRectF box = {120.5f, 80.25f, 210.0f, 190.0f}, out;
    float gb[6];
    au_pdm_params_from_bbox(&p, &box, loc, NULL, gb, &w);
    au_pdm_bbox(&p, gb, loc, &out, &w);
    assert_true(fabsf(out.x + out.width / 2 - (box.x + box.width / 2)) < 1e-3f);
    assert_true(fabsf(out.y + out.height / 2 - (box.y + box.height / 2)) < 1e-3f);
    assert_true(fabsf((box.width / out.width + box.height / out.height) / 2 - 1) < 1e-5f);

    /* CalcParams(landmarks) of a model shape recovers it closely (not
     * exactly: the fit is regularised towards the mean shape and stops once
     * it improves by less than 0.1% three times). */
    float shape[136], s3[204], gf[6], lf[64], truth_g[6] = {1.3f, 0.1f, -0.2f, 0.05f, 300.f, 220.f};
    for (int j = 0; j < m; j++)
        loc[j] = 0.5f * sqrtf(ev[j]) * (j % 2 ? 1 : -1);
    au_pdm_shape2d(&p, loc, truth_g, shape, s3);
    au_pdm_params_from_landmarks(&p, shape, NULL, gf, lf, &w);
    float refit[136];
    au_pdm_shape2d(&p, lf, gf, refit, s3);
    double worst = 0;
    for (int i = 0; i < 2 * n; i++)
        worst = fmax(worst, fabs(refit[i] - shape[i]));
    print_message("  CalcParams(landmarks) of a model shape: worst refit error %.3g px\n", worst);
    assert_true(worst < 0.5);
    assert_true(fabsf(gf[0] - truth_g[0]) < 1e-2f && fabsf(gf[4] - truth_g[4]) < 0.5f);

    /* With one landmark missing the fit still uses the rest. */
    float miss[136];
    memcpy(miss, shape, sizeof(miss));
    miss[30] = 0;
    au_pdm_params_from_landmarks(&p, miss, NULL, gf, lf, &w);
    au_pdm_shape2d(&p, lf, gf, refit, s3);
    assert_true(fabsf(refit[30] - shape[30]) < 1.0f);

    /* No landmark at all: zeros instead of OpenFace's uninitialised read. */
    float none[136] = {0};
    au_pdm_params_from_landmarks(&p, none, NULL, gf, lf, &w);
    for (int j = 0; j < 6; j++)
        assert_true(gf[j] == 0);
    for (int j = 0; j < m; j++)
        assert_true(lf[j] == 0);

    /* Pose with zero scale: zeros, as GetPose. */
    float pose[6] = {1, 1, 1, 1, 1, 1}, g0[6] = {0, 0, 0, 0, 0, 0};
    au_pdm_pose(&p, lf, g0, shape, 500, 500, 320, 240, pose, &w);
    for (int j = 0; j < 6; j++)
        assert_true(pose[j] == 0);

    /* A NaN rotation update falls back to zero angles, as OpenFace's fix. */
    float gn[6] = {1, 0.1f, 0.2f, 0.3f, 0, 0}, dn[6] = {0, NAN, 0, 0, 0, 0};
    au_pdm_update_params(&p, dn, 6, lf, gn);
    assert_true(gn[1] == 0 && gn[2] == 0 && gn[3] == 0);

    au_pdm_work_free(&w);
    au_pdm_work_free(&w); /* twice is harmless */
    AuPdmWork zero;
    memset(&zero, 0, sizeof(zero));
    au_pdm_work_free(&zero);
    au_pdm_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_params_from_bbox),
        cmocka_unit_test(test_shape2d),
        cmocka_unit_test(test_rlms_iterations),
        cmocka_unit_test(test_jacobian_finite_differences),
        cmocka_unit_test(test_params_from_landmarks_fa),
        cmocka_unit_test(test_params_from_landmarks_hierarchical),
        cmocka_unit_test(test_align_patch_similarity),
        cmocka_unit_test(test_align_face_rigid_points),
        cmocka_unit_test(test_pose_and_camera_shape),
        cmocka_unit_test(test_rotation_known_answers),
        cmocka_unit_test(test_linalg_known_answers),
        cmocka_unit_test(test_alignment_properties),
        cmocka_unit_test(test_pdm_ops_edges),
        cmocka_unit_test(test_params_from_landmarks_warm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
