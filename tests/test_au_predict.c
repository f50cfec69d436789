/* Per-frame AU prediction against OpenFace's internal values
 * (intermediates/<video>/fa_geom.csv and au_online.csv), fed with the inputs
 * OpenFace used: params_local from fa_params.csv, HOG from changeLighting.hog
 * (or fa_hog.f64 for default's frames 1-3) and OpenFace's running medians
 * (fa_hog_median.f64, fa_geom_median.csv), so that this stage is checked on
 * its own. Plus the summation-order rules and the bad-dimension error. */
#include "autest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "au_model.h"
#include "au_predict.h"
#include "pdm.h"
#include "refcsv.h"
#include "refhog.h"
#include "running_median.h"

#define HOG_LEN 4464
#define GEOM_LEN 238
#define N_MODES 34

typedef struct Fixture {
    AuAuModels models;
    AuPdm pdm;
} Fixture;

static int setup(void **state)
{
    Fixture *fx = calloc(1, sizeof(*fx));
    char path[1024];
    AuError err = {0};
    if (au_au_models_load(&fx->models, autest_path(path, sizeof(path), "openface/models/AU_predictors/main_dynamic_svms.txt"),
                          &err) ||
        au_pdm_load(&fx->pdm, autest_path(path, sizeof(path), "openface/models/AU_predictors/In-the-wild_aligned_PDM_68.txt"),
                    &err)) {
        fprintf(stderr, "%s\n", err.msg);
        au_au_models_free(&fx->models);
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    Fixture *fx = *state;
    au_au_models_free(&fx->models);
    au_pdm_free(&fx->pdm);
    free(fx);
    return 0;
}

static const char *ref_path(char *buf, size_t n, const char *video, const char *file)
{
    char rel[256];
    snprintf(rel, sizeof(rel), "openface/reference/intermediates/%s/%s", video, file);
    return autest_path(buf, n, rel);
}

/* params_local of one fa_params.csv row, as the float32 values OpenFace held. */
static void row_params(const RefCsv *c, int row, float *out)
{
    double d[N_MODES];
    refcsv_vec(c, row, "p_", N_MODES, d);
    for (int k = 0; k < N_MODES; k++)
        out[k] = (float)d[k];
}

static void check_geom(const Fixture *fx, const char *video, int n_frames)
{
    char path[1024];
    RefCsv params, geom;
    refcsv_load(&params, ref_path(path, sizeof(path), video, "fa_params.csv"));
    refcsv_load(&geom, ref_path(path, sizeof(path), video, "fa_geom.csv"));
    assert_int_equal(params.n_rows, n_frames);
    assert_int_equal(geom.n_rows, n_frames);
    assert_int_equal(au_geom_descriptor_size(&fx->pdm), GEOM_LEN);
    float p[N_MODES];
    double g[GEOM_LEN], ref[GEOM_LEN];
    double max_diff = 0;
    long mismatches = 0;
    for (int f = 0; f < n_frames; f++) {
        assert_int_equal((int)refcsv_get(&params, f, "frame"), f + 1);
        assert_int_equal((int)refcsv_get(&geom, f, "success"), 1);
        row_params(&params, f, p);
        au_geom_descriptor(&fx->pdm, p, g);
        refcsv_vec(&geom, f, "g_", GEOM_LEN, ref);
        for (int i = 0; i < GEOM_LEN; i++) {
            double d = fabs(g[i] - ref[i]);
            if (d > max_diff)
                max_diff = d;
            mismatches += g[i] != ref[i];
        }
    }
    print_message("%s geometry descriptor, %d frames x 238: max |diff| %.3g, %ld values differ\n", video, n_frames,
                  max_diff, mismatches);
    assert_int_equal(mismatches, 0);
    /* Failed frames: all zeros. */
    au_geom_descriptor(&fx->pdm, NULL, g);
    for (int i = 0; i < GEOM_LEN; i++)
        assert_true(g[i] == 0.0);
    refcsv_free(&geom);
    refcsv_free(&params);
}

static void test_geom_changeLighting(void **state) { check_geom(*state, "changeLighting", 88); }
static void test_geom_default(void **state) { check_geom(*state, "default", 288); }

/* au_online.csv's column order is OpenFace's output order: check the names. */
static void check_names(const AuAuModels *m, const RefCsv *online)
{
    int ni = au_au_models_intensity_count(m), np = au_au_models_presence_count(m);
    assert_int_equal(ni, 17);
    assert_int_equal(np, 18);
    assert_int_equal(online->n_cols, 2 + ni + np);
    char name[64];
    for (int i = 0; i < ni; i++) {
        snprintf(name, sizeof(name), "%s_r", au_au_models_intensity_name(m, i));
        assert_string_equal(online->names[2 + i], name);
    }
    for (int i = 0; i < np; i++) {
        snprintf(name, sizeof(name), "%s_c", au_au_models_presence_name(m, i));
        assert_string_equal(online->names[2 + ni + i], name);
    }
}

typedef struct Diffs {
    double max_r;
    long mism_r, mism_c;
} Diffs;

static void compare_frame(const RefCsv *online, int row, const double *r, int ni, const double *c, int np, Diffs *d)
{
    for (int i = 0; i < ni; i++) {
        double ref = refcsv_num(online, row, 2 + i);
        double diff = fabs(r[i] - ref);
        if (diff > d->max_r)
            d->max_r = diff;
        d->mism_r += r[i] != ref;
    }
    for (int i = 0; i < np; i++)
        d->mism_c += c[i] != refcsv_num(online, row, 2 + ni + i);
}

/* Every frame and AU of changeLighting, given OpenFace's medians. */
static void test_online_changeLighting(void **state)
{
    Fixture *fx = *state;
    char path[1024];
    RefHog hog;
    refhog_load(&hog, autest_path(path, sizeof(path), "openface/reference/changeLighting_hog_aligned/changeLighting.hog"));
    RefCsv geom, gmed, online;
    refcsv_load(&geom, ref_path(path, sizeof(path), "changeLighting", "fa_geom.csv"));
    refcsv_load(&gmed, ref_path(path, sizeof(path), "changeLighting", "fa_geom_median.csv"));
    refcsv_load(&online, ref_path(path, sizeof(path), "changeLighting", "au_online.csv"));
    size_t n_med;
    double *hmed = refcsv_load_f64(ref_path(path, sizeof(path), "changeLighting", "fa_hog_median.f64"), &n_med);
    assert_int_equal(n_med, (size_t)88 * HOG_LEN);
    assert_int_equal(online.n_rows, 88);
    check_names(&fx->models, &online);

    AuPredictor pred;
    AuError err = {0};
    if (au_predictor_init(&pred, &fx->models, HOG_LEN, GEOM_LEN, &err))
        fail_msg("%s", err.msg);
    double h[HOG_LEN], g[GEOM_LEN], gm[GEOM_LEN], r[17], c[18];
    Diffs d = {0};
    for (int f = 0; f < 88; f++) {
        for (int i = 0; i < HOG_LEN; i++)
            h[i] = (double)refhog_frame(&hog, f)[i];
        refcsv_vec(&geom, f, "g_", GEOM_LEN, g);
        refcsv_vec(&gmed, f, "g_", GEOM_LEN, gm);
        au_predict_intensities(&pred, h, g, hmed + (size_t)f * HOG_LEN, gm, r);
        au_predict_presences(&pred, h, g, hmed + (size_t)f * HOG_LEN, gm, c);
        compare_frame(&online, f, r, 17, c, 18, &d);
    }
    print_message("changeLighting online AUs, 88 frames: intensities max |diff| %.3g (%ld of 1496 differ), "
                  "presences %ld of 1584 differ\n",
                  d.max_r, d.mism_r, d.mism_c);
    assert_int_equal(d.mism_r, 0);
    assert_int_equal(d.mism_c, 0);
    /* Spot value from au_online.csv frame 1 (shell: sed -n 2p | cut -d, -f3): AU04_r. */
    assert_string_equal(au_au_models_intensity_name(&fx->models, 0), "AU04");
    assert_true(refcsv_num(&online, 0, 2) == 0.71119997589147721);

    au_predictor_free(&pred);
    free(hmed);
    refcsv_free(&online);
    refcsv_free(&gmed);
    refcsv_free(&geom);
    refhog_free(&hog);
}

/* default.wmv: HOG exists for frames 1-3 only (fa_hog.f64), and no per-frame
 * HOG median; frames 1-3 need only HOG frames 1 and 3 for the median, so the
 * running median module supplies it. */
static void test_online_default_first_frames(void **state)
{
    Fixture *fx = *state;
    char path[1024];
    RefCsv geom, gmed, online, frames;
    refcsv_load(&geom, ref_path(path, sizeof(path), "default", "fa_geom.csv"));
    refcsv_load(&gmed, ref_path(path, sizeof(path), "default", "fa_geom_median.csv"));
    refcsv_load(&online, ref_path(path, sizeof(path), "default", "au_online.csv"));
    refcsv_load(&frames, ref_path(path, sizeof(path), "default", "fa_frames.csv"));
    size_t n_hog;
    double *hogs = refcsv_load_f64(ref_path(path, sizeof(path), "default", "fa_hog.f64"), &n_hog);
    assert_int_equal(n_hog, (size_t)3 * HOG_LEN);
    assert_int_equal(online.n_rows, 288);
    check_names(&fx->models, &online);

    AuPredictor pred;
    AuRunningMedian hmed;
    AuError err = {0};
    if (au_predictor_init(&pred, &fx->models, HOG_LEN, GEOM_LEN, &err) ||
        au_running_median_init(&hmed, HOG_LEN, AU_RUNNING_MEDIAN_HOG_BINS, AU_RUNNING_MEDIAN_HOG_MIN,
                               AU_RUNNING_MEDIAN_HOG_MAX, &err))
        fail_msg("%s", err.msg);
    double g[GEOM_LEN], gm[GEOM_LEN], r[17], c[18];
    Diffs d = {0};
    for (int f = 0; f < 3; f++) {
        assert_int_equal((long)refcsv_get(&frames, f, "hog_offset"), (long)f * HOG_LEN);
        const double *h = hogs + (size_t)f * HOG_LEN;
        if (f % 2 == 0) { /* frames_tracking = f + 1 odd */
            au_running_median_update(&hmed, h, 1);
            au_running_median_clamp_negative(&hmed);
        }
        refcsv_vec(&geom, f, "g_", GEOM_LEN, g);
        refcsv_vec(&gmed, f, "g_", GEOM_LEN, gm);
        au_predict_intensities(&pred, h, g, hmed.median, gm, r);
        au_predict_presences(&pred, h, g, hmed.median, gm, c);
        compare_frame(&online, f, r, 17, c, 18, &d);
    }
    print_message("default online AUs, frames 1-3: intensities max |diff| %.3g (%ld differ), presences %ld differ\n",
                  d.max_r, d.mism_r, d.mism_c);
    assert_int_equal(d.mism_r, 0);
    assert_int_equal(d.mism_c, 0);
    au_running_median_free(&hmed);
    au_predictor_free(&pred);
    free(hogs);
    refcsv_free(&frames);
    refcsv_free(&online);
    refcsv_free(&gmed);
    refcsv_free(&geom);
}

/* OpenCV's gemm sums a one-model group in four interleaved partial sums and
 * a larger group sequentially. Values chosen so the two orders differ:
 * x = (1, 1, 1, 1, 1e16), weights 1: sequential 4 + 1e16 = 1e16 + 4 exactly;
 * four partial sums give ((1e16 + 1) + 1) + 1 with each step rounding back
 * to 1e16 (ties to even at spacing 2). */
static void test_summation_order(void **state)
{
    (void)state;
    double means[5] = {0}, w[10], work[5], scores[2];
    double hog[5] = {1, 1, 1, 1, 1e16};
    for (int i = 0; i < 10; i++)
        w[i] = 1.0;
    AuAuModel models[2];
    memset(models, 0, sizeof(models));
    models[0].bias = 0.5;
    models[1].bias = 0.0;
    AuAuGroup g = {.count = 1, .capacity = 2, .feature_dim = 5, .means = means, .weights = w, .models = models};
    au_predict_group_scores(&g, hog, 5, NULL, 0, NULL, NULL, work, scores);
    assert_true(scores[0] == 1e16);
    g.count = 2;
    au_predict_group_scores(&g, hog, 5, NULL, 0, NULL, NULL, work, scores);
    assert_true(scores[0] == 1e16 + 4);
    assert_true(scores[1] == 1e16 + 4);
    /* Median subtraction: (x - means) - median, HOG only when feature_dim == hog_len. */
    double med[5] = {1, 1, 1, 1, 1e16};
    au_predict_group_scores(&g, hog, 5, NULL, 0, med, NULL, work, scores);
    assert_true(scores[0] == 0.5);
    assert_true(scores[1] == 0.0);
}

/* Models that take a different feature count than the descriptors: an error
 * naming the model file. */
static void test_bad_dimensions(void **state)
{
    Fixture *fx = *state;
    AuPredictor pred;
    AuError err = {0};
    assert_int_equal(au_predictor_init(&pred, &fx->models, 100, GEOM_LEN, &err), AU_ERR_FORMAT);
    assert_non_null(strstr(err.msg, ".dat"));
    assert_non_null(strstr(err.msg, "4702"));
    assert_null(pred.work);
    assert_int_equal(au_predictor_init(&pred, &fx->models, 0, GEOM_LEN, &err), AU_ERR_ARG);
    au_predictor_free(&pred);
    /* HOG-only models (feature_dim == hog_len) are accepted. */
    assert_int_equal(au_predictor_init(&pred, &fx->models, 4702, 17, &err), AU_OK);
    au_predictor_free(&pred);
}

/* The static model set (images, -au_static) loads into a predictor too:
 * everything static, no median needed. */
static void test_static_set(void **state)
{
    (void)state;
    char path[1024];
    AuAuModels m;
    AuError err = {0};
    if (au_au_models_load(&m, autest_path(path, sizeof(path), "openface/models/AU_predictors/main_static_svms.txt"), &err))
        fail_msg("%s", err.msg);
    AuPredictor pred;
    assert_int_equal(au_predictor_init(&pred, &m, HOG_LEN, GEOM_LEN, &err), AU_OK);
    assert_int_equal(pred.n_intensity, 17);
    assert_int_equal(pred.n_presence, 18);
    assert_false(au_au_models_has_dynamic(&m));
    double h[HOG_LEN] = {0}, g[GEOM_LEN] = {0}, r[17], c[18];
    au_predict_intensities(&pred, h, g, NULL, NULL, r);
    au_predict_presences(&pred, h, g, NULL, NULL, c);
    for (int i = 0; i < 18; i++)
        assert_true(c[i] == 0.0 || c[i] == 1.0);
    au_predictor_free(&pred);
    au_au_models_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_geom_changeLighting),
        cmocka_unit_test(test_geom_default),
        cmocka_unit_test(test_online_changeLighting),
        cmocka_unit_test(test_online_default_first_frames),
        cmocka_unit_test(test_summation_order),
        cmocka_unit_test(test_bad_dimensions),
        cmocka_unit_test(test_static_set),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
