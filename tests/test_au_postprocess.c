/* The offline post-processing steps against OpenFace's own intermediates:
 * from au_offline_reg_repredicted.csv (the input of the steps) to
 * au_offline_offsets.csv, au_offline_reg_shifted.csv and
 * au_offline_reg_final.csv, and from au_offline_class_repredicted.csv to
 * au_offline_class_final.csv, on both videos; plus hand-computed corner
 * cases and the bounded descriptor store. The whole chain from HOG and params
 * (re-prediction included) is in test_face_analyser.c. */
#include "autest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "au_model.h"
#include "au_postprocess.h"
#include "refcsv.h"

static const char *ref_path(char *buf, size_t n, const char *video, const char *file)
{
    char rel[256];
    snprintf(rel, sizeof(rel), "openface/reference/intermediates/%s/%s", video, file);
    return autest_path(buf, n, rel);
}

static void column(const RefCsv *c, const char *name, double *out)
{
    int k = refcsv_col_req(c, name);
    for (int r = 0; r < c->n_rows; r++)
        out[r] = refcsv_num(c, r, k);
}

static void update_max(double *max_diff, long *mism, const double *a, const double *b, int n)
{
    for (int i = 0; i < n; i++) {
        double d = fabs(a[i] - b[i]);
        if (d > *max_diff)
            *max_diff = d;
        *mism += a[i] != b[i];
    }
}

static void check_video(const char *video, int n_frames)
{
    char path[1024];
    AuAuModels m;
    AuError err = {0};
    if (au_au_models_load(&m, autest_path(path, sizeof(path), "openface/models/AU_predictors/main_dynamic_svms.txt"), &err))
        fail_msg("%s", err.msg);
    RefCsv rep, offs, shifted, fin, crep, cfin;
    refcsv_load(&rep, ref_path(path, sizeof(path), video, "au_offline_reg_repredicted.csv"));
    refcsv_load(&offs, ref_path(path, sizeof(path), video, "au_offline_offsets.csv"));
    refcsv_load(&shifted, ref_path(path, sizeof(path), video, "au_offline_reg_shifted.csv"));
    refcsv_load(&fin, ref_path(path, sizeof(path), video, "au_offline_reg_final.csv"));
    refcsv_load(&crep, ref_path(path, sizeof(path), video, "au_offline_class_repredicted.csv"));
    refcsv_load(&cfin, ref_path(path, sizeof(path), video, "au_offline_class_final.csv"));
    assert_int_equal(rep.n_rows, n_frames);
    assert_int_equal(offs.n_rows, 17);
    assert_int_equal(crep.n_rows, n_frames);

    unsigned char *success = malloc((size_t)n_frames);
    double *vals = malloc(sizeof(double) * (size_t)n_frames);
    double *ref = malloc(sizeof(double) * (size_t)n_frames);
    double *scratch = malloc(sizeof(double) * (size_t)n_frames);
    for (int f = 0; f < n_frames; f++)
        success[f] = (unsigned char)refcsv_get(&rep, f, "success");

    double max_off = 0, max_shift = 0, max_fin = 0;
    long mism_off = 0, mism_shift = 0, mism_fin = 0, mism_cls = 0;
    char name[64];
    for (int k = 0; k < 17; k++) {
        /* Alphabetical order, as the CSVs. */
        int oi = au_au_models_intensity_sorted_index(&m, k);
        const AuAuModel *model = au_au_models_intensity(&m, oi);
        assert_string_equal(refcsv_str(&offs, k, 0), model->name);
        int dyn = (int)refcsv_get(&offs, k, "dynamic_model");
        assert_int_equal(dyn, model->group == AU_GROUP_SVR_DYNAMIC);
        if (dyn)
            assert_true(refcsv_get(&offs, k, "cutoff") == model->cutoff);
        assert_int_equal((int)refcsv_get(&offs, k, "n_valid_frames"), n_frames);

        snprintf(name, sizeof(name), "%s_r", model->name);
        column(&rep, name, vals);
        double offset = 0;
        if (dyn && au_postprocess_offset(vals, success, n_frames, model->cutoff, &offset, &err))
            fail_msg("%s", err.msg);
        double ref_off = refcsv_get(&offs, k, "offset");
        update_max(&max_off, &mism_off, &offset, &ref_off, 1);

        au_postprocess_shift_clamp(vals, success, n_frames, offset);
        column(&shifted, name, ref);
        update_max(&max_shift, &mism_shift, vals, ref, n_frames);

        au_postprocess_smooth_intensity(vals, n_frames, scratch);
        column(&fin, name, ref);
        update_max(&max_fin, &mism_fin, vals, ref, n_frames);
    }
    for (int k = 0; k < 18; k++) {
        const char *au = au_au_models_presence_name(&m, au_au_models_presence_sorted_index(&m, k));
        snprintf(name, sizeof(name), "%s_c", au);
        assert_string_equal(crep.names[2 + k], name);
        column(&crep, name, vals);
        au_postprocess_smooth_presence(vals, n_frames, scratch);
        column(&cfin, name, ref);
        double unused = 0;
        update_max(&unused, &mism_cls, vals, ref, n_frames);
    }
    print_message("%s post-processing from OpenFace's re-predicted values: offsets max |diff| %.3g (%ld differ), "
                  "shifted %.3g (%ld differ), final %.3g (%ld differ), presences %ld of %d differ\n",
                  video, max_off, mism_off, max_shift, mism_shift, max_fin, mism_fin, mism_cls, 18 * n_frames);
    assert_int_equal(mism_off, 0);
    assert_int_equal(mism_shift, 0);
    assert_int_equal(mism_fin, 0);
    assert_int_equal(mism_cls, 0);

    free(success);
    free(vals);
    free(ref);
    free(scratch);
    refcsv_free(&rep);
    refcsv_free(&offs);
    refcsv_free(&shifted);
    refcsv_free(&fin);
    refcsv_free(&crep);
    refcsv_free(&cfin);
    au_au_models_free(&m);
}

static void test_changeLighting(void **state)
{
    (void)state;
    check_video("changeLighting", 88);
}

static void test_default(void **state)
{
    (void)state;
    check_video("default", 288);
}

/* Offsets by hand: successful frames only, sorted, element (int)(n * cutoff). */
static void test_offset_rules(void **state)
{
    (void)state;
    AuError err = {0};
    const double v[6] = {5.0, -1.0, 3.0, 100.0, 2.0, 4.0};
    const unsigned char ok[6] = {1, 1, 1, 0, 1, 1}; /* valid: 5 -1 3 2 4 -> -1 2 3 4 5 */
    double off = 99;
    assert_int_equal(au_postprocess_offset(v, ok, 6, 0.0, &off, &err), AU_OK);
    assert_true(off == -1.0);
    assert_int_equal(au_postprocess_offset(v, ok, 6, 0.5, &off, &err), AU_OK); /* (int)2.5 = 2 */
    assert_true(off == 3.0);
    assert_int_equal(au_postprocess_offset(v, ok, 6, 0.99, &off, &err), AU_OK); /* (int)4.95 = 4 */
    assert_true(off == 5.0);
    assert_int_equal(au_postprocess_offset(v, ok, 6, -1.0, &off, &err), AU_OK); /* no cutoff */
    assert_true(off == 0.0);
    const unsigned char none[6] = {0};
    off = 99;
    assert_int_equal(au_postprocess_offset(v, none, 6, 0.5, &off, &err), AU_OK);
    assert_true(off == 0.0);
    assert_int_equal(au_postprocess_offset(v, ok, 6, 1.0, &off, &err), AU_ERR_ARG);
    assert_non_null(strstr(err.msg, "cutoff"));
    assert_int_equal(au_postprocess_offset(v, ok, 6, -0.5, &off, &err), AU_ERR_ARG);
    assert_int_equal(au_postprocess_offset(v, ok, 6, NAN, &off, &err), AU_ERR_ARG);
}

static void test_shift_and_smooth_rules(void **state)
{
    (void)state;
    double scratch[16];
    double v[5] = {1.0, 7.5, -3.0, 2.5, 0.75};
    const unsigned char ok[5] = {1, 1, 1, 0, 1};
    au_postprocess_shift_clamp(v, ok, 5, 0.5);
    assert_true(v[0] == 0.5 && v[1] == 5.0 && v[2] == 0.0 && v[3] == 0.0 && v[4] == 0.25);
    /* 3-frame average: ends kept, middle (a + b + c) / 3. */
    au_postprocess_smooth_intensity(v, 5, scratch);
    assert_true(v[0] == 0.5);
    assert_true(v[1] == (0.5 + 5.0 + 0.0) / 3);
    assert_true(v[2] == (5.0 + 0.0 + 0.0) / 3);
    assert_true(v[3] == (0.0 + 0.0 + 0.25) / 3);
    assert_true(v[4] == 0.25);
    /* Fewer than 3 frames: unchanged (OpenFace's loop does nothing for 1-2 and
     * is undefined for 0). */
    double two[2] = {1, 2};
    au_postprocess_smooth_intensity(two, 2, scratch);
    assert_true(two[0] == 1 && two[1] == 2);
    au_postprocess_smooth_intensity(two, 0, scratch);

    /* Presences: 7-frame average >= 0.5 -> 1; first and last 3 untouched. */
    double c[10] = {1, 1, 1, 1, 0, 0, 0, 0, 1, 1};
    au_postprocess_smooth_presence(c, 10, scratch);
    /* i=3: 1111000 -> 4/7 -> 1; i=4: 1110000 -> 3/7 -> 0; i=5: 1100001 -> 3/7 -> 0; i=6: 1000011 -> 3/7 -> 0 */
    const double want[10] = {1, 1, 1, 1, 0, 0, 0, 0, 1, 1};
    assert_memory_equal(c, want, sizeof(want));
    double c2[7] = {0, 0, 1, 1, 1, 0, 0};
    au_postprocess_smooth_presence(c2, 7, scratch); /* only i=3: 3/7 -> 0 */
    const double want2[7] = {0, 0, 1, 0, 1, 0, 0};
    assert_memory_equal(c2, want2, sizeof(want2));
    double c3[6] = {1, 1, 1, 0, 0, 0};
    au_postprocess_smooth_presence(c3, 6, scratch); /* too short: unchanged */
    const double want3[6] = {1, 1, 1, 0, 0, 0};
    assert_memory_equal(c3, want3, sizeof(want3));
    /* Exactly 0.5 is a 1 (OpenFace: < 0.5 -> 0). A 7-frame average cannot be
     * 0.5, so check with non-binary values: 3.5 / 7 == 0.5. */
    double c4[7] = {0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5};
    au_postprocess_smooth_presence(c4, 7, scratch);
    assert_true(c4[3] == 1.0);
    assert_true(c4[0] == 0.5);
}

/* The store keeps the first max_frames frames and ignores later ones. */
static void test_descriptor_store(void **state)
{
    (void)state;
    AuDescriptorStore s;
    AuError err = {0};
    assert_int_equal(au_descriptor_store_init(&s, 3, 2, 70, &err), AU_OK);
    float h[3];
    double g[2];
    for (int f = 0; f < 100; f++) {
        h[0] = (float)f;
        h[1] = h[2] = (float)-f;
        g[0] = f * 0.5;
        g[1] = -f * 0.25;
        assert_int_equal(au_descriptor_store_add(&s, 2 * f, h, g, &err), AU_OK);
    }
    assert_int_equal(s.count, 70);
    assert_true(s.capacity >= 70 && s.capacity <= 70); /* grows 64 -> capped at 70 */
    assert_int_equal(s.frame[69], 138);
    assert_true(s.hog[69 * 3] == 69.0f);
    assert_true(s.geom[69 * 2 + 1] == -69 * 0.25);
    au_descriptor_store_reset(&s);
    assert_int_equal(s.count, 0);
    assert_int_equal(au_descriptor_store_add(&s, 5, h, g, &err), AU_OK);
    assert_int_equal(s.frame[0], 5);
    au_descriptor_store_free(&s);
    au_descriptor_store_free(&s);

    assert_int_equal(au_descriptor_store_init(&s, 0, 2, 10, &err), AU_ERR_ARG);
    assert_int_equal(au_descriptor_store_init(&s, 3, 2, -1, &err), AU_ERR_ARG);
    /* max_frames 0: nothing stored, nothing allocated. */
    assert_int_equal(au_descriptor_store_init(&s, 3, 2, 0, &err), AU_OK);
    assert_int_equal(au_descriptor_store_add(&s, 0, h, g, &err), AU_OK);
    assert_int_equal(s.count, 0);
    assert_null(s.hog);
    au_descriptor_store_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_changeLighting),
        cmocka_unit_test(test_default),
        cmocka_unit_test(test_offset_rules),
        cmocka_unit_test(test_shift_and_smooth_rules),
        cmocka_unit_test(test_descriptor_store),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
