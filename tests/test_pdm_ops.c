/* PDM geometry operations and rotation helpers against OpenFace's own
 * intermediate values (data/openface/reference/intermediates, dumped at full
 * precision from the real OpenFace 2.2 build; README there).
 *
 * Most comparisons are bit-exact: the operations reproduce OpenFace's float
 * arithmetic, its OpenBLAS calls and OpenCV's kernels in order. Each check
 * prints the largest difference it saw, and the tolerances are the achieved
 * maxima rounded up (0 where the match is exact). */
#include "autest.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_params_from_bbox),
        cmocka_unit_test(test_shape2d),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
