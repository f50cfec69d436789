/* The whole model set loads from OpenFace's layout, its parts agree with each
 * other as OpenFace assumes, and a missing piece is named. */
#include "autest.h"

#include <stdio.h>
#include <string.h>

#include "models.h"

static void test_load_all(void **state)
{
    (void)state;
    char dir[1024];
    autest_path(dir, sizeof(dir), "openface/models");
    AuModels m;
    AuError err = {0};
    AuStatus st = au_models_load(&m, dir, &err);
    if (st)
        fail_msg("%s", err.msg);
    assert_int_equal(m.clnf.pdm.n_points, 68);
    assert_int_equal(m.clnf.n_scales, 3);
    assert_int_equal(m.clnf.n_parts, 3);
    /* FaceAnalyser's PDM is a copy of the landmark model's (README of the reference) */
    assert_int_equal(m.au_pdm.n_points, 68);
    assert_int_equal(m.au_pdm.n_modes, m.clnf.pdm.n_modes);
    assert_memory_equal(m.au_pdm.mean_shape.data, m.clnf.pdm.mean_shape.data, 3 * 68 * sizeof(float));
    assert_memory_equal(m.au_pdm.princ_comp.data, m.clnf.pdm.princ_comp.data, 3 * 68 * 34 * sizeof(float));
    /* tris_68_full.txt: 111 triangles of 3 vertex indices */
    assert_int_equal(m.au_tris.cols, 3);
    assert_int_equal(m.au_tris.rows, 111);
    assert_int_equal(au_au_models_intensity_count(&m.au_dynamic), 17);
    assert_int_equal(au_au_models_presence_count(&m.au_dynamic), 18);
    assert_int_equal(au_au_models_intensity_count(&m.au_static), 17);
    au_models_free(&m);
}

static void test_missing_piece_named(void **state)
{
    (void)state;
    char src[1024], tmp[1024], victim[2048];
    autest_path(src, sizeof(src), "openface/models");
    autest_mkdtemp(tmp, sizeof(tmp));
    autest_copy_tree(src, tmp);
    const char *pieces[] = {"model/mtcnn_detector/ONet.dat", "model/detection_validation/validator_cnn.txt",
                            "AU_predictors/tris_68_full.txt", "AU_predictors/svm_combined/AU_28_static.dat",
                            "model/model_eye/main_clnf_synth_right.txt"};
    for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
        snprintf(victim, sizeof(victim), "%s/%s", tmp, pieces[i]);
        char moved[2100];
        snprintf(moved, sizeof(moved), "%s.away", victim);
        assert_int_equal(rename(victim, moved), 0);
        AuModels m;
        AuError err = {0};
        assert_int_not_equal(au_models_load(&m, tmp, &err), AU_OK);
        const char *base = strrchr(pieces[i], '/') + 1;
        if (!strstr(err.msg, base))
            fail_msg("missing %s: error does not name it: %s", pieces[i], err.msg);
        assert_int_equal(rename(moved, victim), 0);
    }
    autest_rmtree(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_all),
        cmocka_unit_test(test_missing_piece_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
