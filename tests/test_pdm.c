/* PDM loader on OpenFace's real PDM files, plus malformed inputs.
 * Expected values were read independently from the text files with a Python
 * one-off (split on whitespace, skip '#' lines, take the three matrices) and
 * are compared as (float) of the decimal in the file, which is what OpenFace
 * holds after its convertTo(CV_32F). */
#include "autest.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "pdm.h"

static float mean_at(const AuPdm *p, int i) { return au_mat_f32(&p->mean_shape)[i]; }
static float pc_at(const AuPdm *p, int r, int c) { return au_mat_f32(&p->princ_comp)[r * p->n_modes + c]; }
static float ev_at(const AuPdm *p, int i) { return au_mat_f32(&p->eigen_values)[i]; }

static void load_ok(AuPdm *p, const char *rel)
{
    char path[1024];
    autest_path(path, sizeof(path), rel);
    autest_require_file(path);
    AuError err = {0};
    AuStatus st = au_pdm_load(p, path, &err);
    if (st)
        fail_msg("%s", err.msg);
}

static void check_shapes(const AuPdm *p, int n, int m)
{
    assert_int_equal(p->n_points, n);
    assert_int_equal(p->n_modes, m);
    assert_int_equal(p->mean_shape.rows, 3 * n);
    assert_int_equal(p->mean_shape.cols, 1);
    assert_int_equal(p->mean_shape.type, AU_MAT_F32);
    assert_int_equal(p->princ_comp.rows, 3 * n);
    assert_int_equal(p->princ_comp.cols, m);
    assert_int_equal(p->princ_comp.type, AU_MAT_F32);
    assert_int_equal(p->eigen_values.rows, 1);
    assert_int_equal(p->eigen_values.cols, m);
    assert_int_equal(p->eigen_values.type, AU_MAT_F32);
}

static void test_main_pdm(void **state)
{
    (void)state;
    AuPdm p;
    load_ok(&p, "openface/models/model/pdms/In-the-wild_aligned_PDM_68.txt");
    check_shapes(&p, 68, 34);
    assert_true(mean_at(&p, 0) == (float)-73.393523);
    assert_true(mean_at(&p, 203) == (float)-20.328022);
    assert_true(pc_at(&p, 0, 0) == (float)-0.007395);
    assert_true(pc_at(&p, 1, 2) == (float)0.037127);
    assert_true(pc_at(&p, 203, 33) == (float)-0.084883);
    assert_true(ev_at(&p, 0) == (float)826.213804);
    assert_true(ev_at(&p, 5) == (float)184.418561);
    assert_true(ev_at(&p, 33) == (float)0.582660);
    au_pdm_free(&p);
    assert_null(p.mean_shape.data);
    au_pdm_free(&p); /* freeing twice is harmless */

    /* The AU predictors' copy is the same file. */
    AuPdm q;
    load_ok(&p, "openface/models/model/pdms/In-the-wild_aligned_PDM_68.txt");
    load_ok(&q, "openface/models/AU_predictors/In-the-wild_aligned_PDM_68.txt");
    check_shapes(&q, 68, 34);
    assert_memory_equal(p.princ_comp.data, q.princ_comp.data, 204 * 34 * sizeof(float));
    au_pdm_free(&p);
    au_pdm_free(&q);
}

static void test_part_pdms(void **state)
{
    (void)state;
    AuPdm p;
    load_ok(&p, "openface/models/model/model_inner/pdms/pdm_51_inner.txt");
    check_shapes(&p, 51, 32);
    assert_true(mean_at(&p, 0) == (float)-61.487065);
    assert_true(mean_at(&p, 152) == (float)-13.062554);
    assert_true(pc_at(&p, 1, 2) == (float)0.041189);
    assert_true(ev_at(&p, 0) == (float)440.568563);
    assert_true(ev_at(&p, 31) == (float)0.307398);
    au_pdm_free(&p);

    load_ok(&p, "openface/models/model/model_eye/pdms/pdm_28_l_eye_3D_closed.txt");
    check_shapes(&p, 28, 10);
    assert_true(mean_at(&p, 0) == (float)-5.513861);
    assert_true(mean_at(&p, 83) == (float)0.629133);
    assert_true(pc_at(&p, 0, 0) == (float)0.167881);
    assert_true(ev_at(&p, 5) == (float)1.381999);
    au_pdm_free(&p);

    load_ok(&p, "openface/models/model/model_eye/pdms/pdm_28_eye_3D_closed.txt");
    check_shapes(&p, 28, 10);
    assert_true(mean_at(&p, 0) == (float)-6.346689);
    assert_true(pc_at(&p, 83, 9) == (float)-0.013208);
    au_pdm_free(&p);
}

static AuStatus load_and_free(const char *path, void *ctx, AuError *err)
{
    (void)ctx;
    AuPdm p;
    AuStatus st = au_pdm_load(&p, path, err);
    if (st == AU_OK) {
        assert_true(p.n_points > 0); /* whatever was accepted is consistent */
        assert_int_equal(p.mean_shape.rows, 3 * p.n_points);
        assert_int_equal(p.princ_comp.rows, 3 * p.n_points);
        assert_int_equal(p.eigen_values.cols, p.n_modes);
    } else {
        assert_null(p.mean_shape.data); /* failure leaves the struct zeroed */
        assert_null(p.princ_comp.data);
    }
    au_pdm_free(&p);
    return st;
}

/* au_pdm_same: the FaceAnalyser's copy of the main PDM is the same model
 * (AU_CFG_AU_PARAMS_FROM_FIT relies on it); one changed value, or another
 * model, is not. */
static void test_same_model(void **state)
{
    (void)state;
    AuPdm main_pdm, au_copy, inner;
    load_ok(&main_pdm, "openface/models/model/pdms/In-the-wild_aligned_PDM_68.txt");
    load_ok(&au_copy, "openface/models/AU_predictors/In-the-wild_aligned_PDM_68.txt");
    load_ok(&inner, "openface/models/model/model_inner/pdms/pdm_51_inner.txt");
    assert_true(au_pdm_same(&main_pdm, &au_copy));
    assert_false(au_pdm_same(&main_pdm, &inner));
    float *pc = au_mat_f32(&au_copy.princ_comp);
    pc[17] = nextafterf(pc[17], 1e9f);
    assert_false(au_pdm_same(&main_pdm, &au_copy));
    pc[17] = au_mat_f32(&main_pdm.princ_comp)[17];
    assert_true(au_pdm_same(&main_pdm, &au_copy));
    au_mat_f32(&au_copy.eigen_values)[33] += 1;
    assert_false(au_pdm_same(&main_pdm, &au_copy));
    au_pdm_free(&main_pdm);
    au_pdm_free(&au_copy);
    au_pdm_free(&inner);
}

static void test_truncated_and_corrupted(void **state)
{
    (void)state;
    char src[1024], dir[512], dst[1024];
    /* the eye PDM is the smallest real one (9 KB) */
    autest_path(src, sizeof(src), "openface/models/model/model_eye/pdms/pdm_28_l_eye_3D_closed.txt");
    autest_require_file(src);
    autest_mkdtemp(dir, sizeof(dir));
    snprintf(dst, sizeof(dst), "%s/pdm_28_l_eye_3D_closed.txt", dir);
    autest_copy_file(src, dst);
    autest_check_truncations(dst, dst, load_and_free, NULL, 25, 1);
    int rejected = autest_check_corruptions(dst, dst, load_and_free, NULL, 30, 3, 1234);
    assert_true(rejected > 0);
    autest_rmtree(dir);
}

static AuStatus load_text(const char *dir, const char *text, AuPdm *p, AuError *err)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/pdm.txt", dir);
    autest_write_file(path, text, strlen(text));
    return au_pdm_load(p, path, err);
}

static void test_malformed(void **state)
{
    (void)state;
    char dir[512];
    autest_mkdtemp(dir, sizeof(dir));
    AuPdm p;
    AuError err = {0};

    /* a minimal valid file: 1 point, 2 modes, comments and blank lines */
    const char *good = "# mean\n3\n1\n6\n1.5\n-2\n3\n\n# pcs\n3 2 6\n1 2\n3 4\n5 6\n# ev\n1 2 6\n10 20";
    assert_int_equal(load_text(dir, good, &p, &err), AU_OK);
    assert_int_equal(p.n_points, 1);
    assert_int_equal(p.n_modes, 2);
    assert_true(mean_at(&p, 1) == -2.0f);
    assert_true(pc_at(&p, 2, 1) == 6.0f);
    assert_true(ev_at(&p, 1) == 20.0f);
    au_pdm_free(&p);

    /* eigenvalues stored as a column are accepted and kept as a row */
    assert_int_equal(load_text(dir, "3 1 6 1 2 3\n3 2 6 1 2 3 4 5 6\n2 1 6 7 8", &p, &err), AU_OK);
    assert_int_equal(p.eigen_values.rows, 1);
    assert_int_equal(p.eigen_values.cols, 2);
    au_pdm_free(&p);

    struct {
        const char *text, *expect;
    } bad[] = {
        {"4 1 6 1 2 3 4\n4 1 6 1 2 3 4\n1 1 6 1", "expected 3n x 1"},
        {"3 1 6 1 2 3\n6 1 6 1 2 3 4 5 6\n1 1 6 1", "principal components are 6x1"},
        {"3 1 6 1 2 3\n3 2 6 1 2 3 4 5 6\n1 3 6 1 2 3", "eigenvalues are 1x3"},
        {"3 1 6 1 2 1e39\n3 1 6 1 2 3\n1 1 6 1", "out of float range"},
        {"3 1 6 1 2 x\n3 1 6 1 2 3\n1 1 6 1", "'x'"},
        {"3 1 17 1 2 3\n", "unsupported matrix type 17"},
        {"# only a comment\n", "unexpected end of file"},
        {"", "unexpected end of file"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&err, 0, sizeof(err));
        AuStatus st = load_text(dir, bad[i].text, &p, &err);
        if (st != AU_ERR_FORMAT || !strstr(err.msg, bad[i].expect) || !strstr(err.msg, "pdm.txt"))
            fail_msg("case %zu: status %d, message '%s', expected '%s'", i, (int)st, err.msg, bad[i].expect);
        assert_null(p.mean_shape.data);
    }

    char missing[1024];
    snprintf(missing, sizeof(missing), "%s/no_such_pdm.txt", dir);
    assert_int_equal(au_pdm_load(&p, missing, &err), AU_ERR_IO);
    assert_non_null(strstr(err.msg, "no_such_pdm.txt"));
    autest_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_main_pdm),
        cmocka_unit_test(test_part_pdms),
        cmocka_unit_test(test_same_model),
        cmocka_unit_test(test_truncated_and_corrupted),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
