/* The face analyser's whole AU chain on changeLighting, fed with exactly what
 * OpenFace's FaceAnalyser computed (HOG from changeLighting.hog, params_local
 * from fa_params.csv): the online values of every frame (au_online.csv), every
 * offline stage (au_offline_*.csv) and the AU columns of OpenFace's CSV
 * (changeLighting.csv, 2 decimals). default.wmv has HOG for frames 1-3 only,
 * so its full chain waits for the whole pipeline (its stages are checked in
 * test_au_postprocess.c and test_au_predict.c). Plus failed frames, reset,
 * the static mode, the re-prediction limit and bad models. */
#include "autest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "face_analyser.h"
#include "fhog.h"
#include "image.h"
#include "refcsv.h"
#include "refhog.h"

#define HOG_LEN 4464
#define N_FRAMES 88
#define N_MODES 34

typedef struct Fixture {
    AuAuModels models;
    AuPdm pdm;
    RefHog hog;
    RefCsv params;    /* fa_params.csv */
    RefCsv of_csv;    /* changeLighting.csv */
    float *p;         /* N_FRAMES x N_MODES params_local */
    double *ts;       /* N_FRAMES timestamps */
} Fixture;

static const char *ref_path(char *buf, size_t n, const char *file)
{
    char rel[256];
    snprintf(rel, sizeof(rel), "openface/reference/intermediates/changeLighting/%s", file);
    return autest_path(buf, n, rel);
}

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
    refhog_load(&fx->hog, autest_path(path, sizeof(path), "openface/reference/changeLighting_hog_aligned/changeLighting.hog"));
    refcsv_load(&fx->params, ref_path(path, sizeof(path), "fa_params.csv"));
    refcsv_load(&fx->of_csv, autest_path(path, sizeof(path), "openface/reference/changeLighting.csv"));
    if (fx->hog.n_frames != N_FRAMES || fx->hog.len != HOG_LEN || fx->params.n_rows != N_FRAMES ||
        fx->of_csv.n_rows != N_FRAMES)
        return -1;
    fx->p = malloc(sizeof(float) * N_FRAMES * N_MODES);
    fx->ts = malloc(sizeof(double) * N_FRAMES);
    double d[N_MODES];
    for (int f = 0; f < N_FRAMES; f++) {
        refcsv_vec(&fx->params, f, "p_", N_MODES, d);
        for (int k = 0; k < N_MODES; k++)
            fx->p[f * N_MODES + k] = (float)d[k];
        fx->ts[f] = refcsv_get(&fx->of_csv, f, "timestamp");
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    Fixture *fx = *state;
    au_au_models_free(&fx->models);
    au_pdm_free(&fx->pdm);
    refhog_free(&fx->hog);
    refcsv_free(&fx->params);
    refcsv_free(&fx->of_csv);
    free(fx->p);
    free(fx->ts);
    free(fx);
    return 0;
}

static void init_ok(AuFaceAnalyser *fa, const Fixture *fx, int dynamic)
{
    AuError err = {0};
    if (au_face_analyser_init(fa, &fx->models, &fx->pdm, dynamic, &err))
        fail_msg("%s", err.msg);
}

static void add_ok(AuFaceAnalyser *fa, const float *hog, const float *p, int success, double ts)
{
    AuError err = {0};
    if (au_face_analyser_add_frame(fa, hog, p, success, ts, &err))
        fail_msg("%s", err.msg);
}

static void finish_ok(AuFaceAnalyser *fa, AuFaceAnalyserOutput *out)
{
    AuError err = {0};
    if (au_face_analyser_finish(fa, out, &err))
        fail_msg("%s", err.msg);
}

typedef struct Cmp {
    double max;
    long mism;
} Cmp;

static void cmp(Cmp *c, double a, double b)
{
    double d = fabs(a - b);
    if (d > c->max)
        c->max = d;
    c->mism += a != b;
}

/* An out matrix (frames x n, CSV order) against a CSV with columns <name><suffix>. */
static Cmp cmp_stage(const AuFaceAnalyserOutput *out, const double *m, int n, const char **names, const char *suffix,
                     const char *file)
{
    char path[1024], col[64];
    RefCsv c;
    refcsv_load(&c, ref_path(path, sizeof(path), file));
    assert_int_equal(c.n_rows, out->n_frames);
    Cmp r = {0};
    for (int k = 0; k < n; k++) {
        snprintf(col, sizeof(col), "%s%s", names[k], suffix);
        int ci = refcsv_col_req(&c, col);
        for (int f = 0; f < out->n_frames; f++)
            cmp(&r, m[(size_t)f * (size_t)n + (size_t)k], refcsv_num(&c, f, ci));
    }
    refcsv_free(&c);
    return r;
}

static void run_reference(AuFaceAnalyser *fa, const Fixture *fx, Cmp *online_r, Cmp *online_c)
{
    char path[1024];
    RefCsv online;
    refcsv_load(&online, ref_path(path, sizeof(path), "au_online.csv"));
    const int ni = fa->n_intensity, np = fa->n_presence;
    for (int f = 0; f < N_FRAMES; f++) {
        add_ok(fa, refhog_frame(&fx->hog, f), fx->p + f * N_MODES, fx->hog.success[f] > 0, fx->ts[f]);
        const double *r = au_face_analyser_online_intensities(fa);
        const double *c = au_face_analyser_online_presences(fa);
        for (int i = 0; i < ni; i++)
            cmp(online_r, r[i], refcsv_num(&online, f, 2 + i));
        for (int i = 0; i < np; i++)
            cmp(online_c, c[i], refcsv_num(&online, f, 2 + ni + i));
    }
    refcsv_free(&online);
}

/* The whole chain on changeLighting, every stage. */
static void test_changeLighting_chain(void **state)
{
    Fixture *fx = *state;
    AuFaceAnalyser fa;
    init_ok(&fa, fx, 1);
    assert_null(au_face_analyser_online_intensities(&fa));
    assert_int_equal(fa.n_intensity, 17);
    assert_int_equal(fa.n_presence, 18);
    Cmp on_r = {0}, on_c = {0};
    run_reference(&fa, fx, &on_r, &on_c);
    assert_int_equal(fa.store.count, N_FRAMES);
    AuFaceAnalyserOutput out;
    finish_ok(&fa, &out);
    assert_int_equal(out.n_frames, N_FRAMES);
    assert_string_equal(out.intensity_names[0], "AU01");
    assert_string_equal(out.intensity_names[16], "AU45");
    assert_string_equal(out.presence_names[16], "AU28");

    Cmp rep = cmp_stage(&out, out.intensity_repredicted, 17, out.intensity_names, "_r", "au_offline_reg_repredicted.csv");
    Cmp shf = cmp_stage(&out, out.intensity_shifted, 17, out.intensity_names, "_r", "au_offline_reg_shifted.csv");
    Cmp fin = cmp_stage(&out, out.intensity, 17, out.intensity_names, "_r", "au_offline_reg_final.csv");
    Cmp crep = cmp_stage(&out, out.presence_repredicted, 18, out.presence_names, "_c", "au_offline_class_repredicted.csv");
    Cmp cfin = cmp_stage(&out, out.presence, 18, out.presence_names, "_c", "au_offline_class_final.csv");
    char path[1024];
    RefCsv offs;
    refcsv_load(&offs, ref_path(path, sizeof(path), "au_offline_offsets.csv"));
    Cmp off = {0};
    for (int k = 0; k < 17; k++) {
        assert_string_equal(refcsv_str(&offs, k, 0), out.intensity_names[k]);
        cmp(&off, out.intensity_offsets[k], refcsv_get(&offs, k, "offset"));
    }
    refcsv_free(&offs);

    /* OpenFace's CSV: the final values printed with 2 decimals (std::fixed,
     * setprecision(2), the same conversion as %.2f). */
    long csv_mism = 0;
    char buf[64], col[64];
    for (int k = 0; k < 17 + 18; k++) {
        int is_r = k < 17;
        const char *name = is_r ? out.intensity_names[k] : out.presence_names[k - 17];
        snprintf(col, sizeof(col), "%s_%s", name, is_r ? "r" : "c");
        int ci = refcsv_col_req(&fx->of_csv, col);
        for (int f = 0; f < N_FRAMES; f++) {
            double v = is_r ? out.intensity[f * 17 + k] : out.presence[f * 18 + (k - 17)];
            snprintf(buf, sizeof(buf), "%.2f", v);
            csv_mism += strcmp(buf, refcsv_str(&fx->of_csv, f, ci)) != 0;
        }
    }
    for (int f = 0; f < N_FRAMES; f++) {
        assert_true(out.success[f] == 1);
        assert_true(out.timestamps[f] == fx->ts[f]);
    }

    print_message("changeLighting chain, 88 frames: online intensities max |diff| %.3g (%ld differ), online "
                  "presences %ld differ; re-predicted %.3g (%ld), offsets %.3g (%ld), shifted %.3g (%ld), final %.3g "
                  "(%ld); presences re-predicted %ld, final %ld differ; CSV AU columns: %ld of %d differ\n",
                  on_r.max, on_r.mism, on_c.mism, rep.max, rep.mism, off.max, off.mism, shf.max, shf.mism, fin.max,
                  fin.mism, crep.mism, cfin.mism, csv_mism, 35 * N_FRAMES);
    assert_int_equal(on_r.mism + on_c.mism, 0);
    assert_int_equal(rep.mism + off.mism + shf.mism + fin.mism, 0);
    assert_int_equal(crep.mism + cfin.mism, 0);
    assert_int_equal(csv_mism, 0);

    /* finish leaves the analyser as it was: a second call gives the same. */
    AuFaceAnalyserOutput again;
    finish_ok(&fa, &again);
    assert_memory_equal(again.intensity, out.intensity, sizeof(double) * 17 * N_FRAMES);
    assert_memory_equal(again.presence, out.presence, sizeof(double) * 18 * N_FRAMES);
    au_face_analyser_output_free(&again);

    /* Reset and run again: identical (OpenFace's Reset between videos). */
    au_face_analyser_reset(&fa);
    Cmp r2 = {0}, c2 = {0};
    run_reference(&fa, fx, &r2, &c2);
    assert_int_equal(r2.mism + c2.mism, 0);
    finish_ok(&fa, &again);
    assert_memory_equal(again.intensity, out.intensity, sizeof(double) * 17 * N_FRAMES);
    au_face_analyser_output_free(&again);

    au_face_analyser_output_free(&out);
    au_face_analyser_free(&fa);
    au_face_analyser_free(&fa);
}

/* OpenFace gives a failed frame the FHOG of a black aligned face; it is all
 * zeros, which is what a NULL HOG stands for. */
static void test_black_face_hog(void **state)
{
    (void)state;
    AuFhog fh;
    AuImageU8 img;
    AuError err = {0};
    if (au_fhog_init(&fh, 112, 112, 3, 8, &err) || au_image_u8_alloc(&img, 112, 112, 3, &err))
        fail_msg("%s", err.msg);
    for (int y = 0; y < 112; y++)
        memset(au_image_u8_row(&img, y), 0, 112 * 3);
    assert_int_equal(au_fhog_size(&fh), HOG_LEN);
    float *h = malloc(sizeof(float) * HOG_LEN);
    if (au_fhog_run(&fh, &img, h, &err))
        fail_msg("%s", err.msg);
    for (int i = 0; i < HOG_LEN; i++)
        assert_true(h[i] == 0.0f);
    free(h);
    au_image_u8_free(&img);
    au_fhog_free(&fh);
}

/* Failed frames: zero AUs online and offline, kept out of the histograms,
 * the store and the offsets. changeLighting with frames 1, 2, 10-14 and 88
 * marked failed (frame 1 failing exercises the empty-median path). */
static void test_failed_frames(void **state)
{
    Fixture *fx = *state;
    AuFaceAnalyser fa;
    init_ok(&fa, fx, 1);
    int n_ok = 0;
    for (int f = 0; f < N_FRAMES; f++) {
        int ok = !(f <= 1 || (f >= 9 && f <= 13) || f == 87);
        n_ok += ok;
        /* A failed frame's HOG: NULL (all zeros) or zeros explicitly. */
        static const float zeros[HOG_LEN];
        add_ok(&fa, ok ? refhog_frame(&fx->hog, f) : (f % 2 ? zeros : NULL), ok ? fx->p + f * N_MODES : NULL, ok,
               fx->ts[f]);
        const double *r = au_face_analyser_online_intensities(&fa);
        const double *c = au_face_analyser_online_presences(&fa);
        if (!ok) {
            for (int i = 0; i < 17; i++)
                assert_true(r[i] == 0.0);
            for (int i = 0; i < 18; i++)
                assert_true(c[i] == 0.0);
        }
        if (f == 0) {
            /* Nothing added yet: every HOG median value is bin 0's centre
             * (-0.0044975), clamped to 0; geometry bin 0's centre. */
            assert_int_equal(fa.hog_median.count, 0);
            assert_true(fa.hog_median.median[0] == 0.0);
            assert_true(fa.geom_median.median[0] == -60.0 + 0.5 * 120.0 / 10000);
        }
    }
    assert_int_equal(fa.frames_tracking, N_FRAMES);
    assert_int_equal(fa.frames_tracking_succ, n_ok);
    assert_int_equal(fa.store.count, n_ok);
    assert_int_equal(fa.store.frame[0], 2);
    /* Median updates on odd frame counts (even 0-based f) with a successful frame. */
    int added = 0;
    for (int f = 0; f < N_FRAMES; f += 2)
        added += !(f <= 1 || (f >= 9 && f <= 13) || f == 87);
    assert_int_equal(fa.hog_median.count, added);
    assert_int_equal(fa.geom_median.count, added);

    AuFaceAnalyserOutput out;
    finish_ok(&fa, &out);
    for (int f = 0; f < N_FRAMES; f++) {
        int ok = out.success[f];
        for (int k = 0; k < 17; k++) {
            double v = out.intensity_shifted[f * 17 + k];
            assert_true(v >= 0.0 && v <= 5.0);
            if (!ok) {
                assert_true(v == 0.0);
                assert_true(out.intensity_repredicted[f * 17 + k] == 0.0);
            }
        }
        for (int k = 0; k < 18; k++)
            if (!ok)
                assert_true(out.presence_repredicted[f * 18 + k] == 0.0);
    }
    /* Offsets use successful frames only: recompute AU01's by hand. */
    double good[N_FRAMES];
    int n = 0;
    for (int f = 0; f < N_FRAMES; f++)
        if (out.success[f])
            good[n++] = out.intensity_repredicted[f * 17 + 0];
    assert_int_equal(n, n_ok);
    for (int i = 1; i < n; i++) /* insertion sort */
        for (int j = i; j > 0 && good[j - 1] > good[j]; j--) {
            double t = good[j];
            good[j] = good[j - 1];
            good[j - 1] = t;
        }
    const AuAuModel *au01 = au_au_models_intensity(&fx->models, au_au_models_intensity_sorted_index(&fx->models, 0));
    assert_string_equal(au01->name, "AU01");
    assert_true(out.intensity_offsets[0] == good[(int)(n * au01->cutoff)]);
    au_face_analyser_output_free(&out);

    /* A successful frame needs its HOG and params. */
    AuError err = {0};
    assert_int_equal(au_face_analyser_add_frame(&fa, NULL, fx->p, 1, 0.0, &err), AU_ERR_ARG);
    assert_non_null(strstr(err.msg, "HOG"));
    assert_int_equal(au_face_analyser_add_frame(&fa, refhog_frame(&fx->hog, 0), NULL, 1, 0.0, &err), AU_ERR_ARG);
    assert_int_equal(fa.frames_tracking, N_FRAMES);
    au_face_analyser_free(&fa);
}

/* Only the first max_init_frames successful frames are re-predicted; the
 * later ones keep their online values. OpenFace's limit is 3000; it is
 * lowered on the store here so the test stays fast. */
static void test_reprediction_limit(void **state)
{
    Fixture *fx = *state;
    AuFaceAnalyser fa;
    init_ok(&fa, fx, 1);
    fa.store.max_frames = 10;
    for (int f = 0; f < N_FRAMES; f++)
        add_ok(&fa, refhog_frame(&fx->hog, f), fx->p + f * N_MODES, f != 4, fx->ts[f]);
    assert_int_equal(fa.store.count, 10);
    assert_int_equal(fa.store.frame[9], 10); /* frame index 4 failed */
    AuFaceAnalyserOutput out;
    finish_ok(&fa, &out);
    int changed_late = 0, changed_early = 0;
    for (int f = 0; f < N_FRAMES; f++)
        for (int k = 0; k < 17; k++) {
            int oi = au_au_models_intensity_sorted_index(&fx->models, k);
            double online = fa.intensity_hist[f * 17 + oi];
            if (f > 10)
                changed_late += out.intensity_repredicted[f * 17 + k] != online;
            else
                changed_early += out.intensity_repredicted[f * 17 + k] != online;
        }
    assert_int_equal(changed_late, 0);
    assert_true(changed_early > 0); /* the dynamic AUs of early frames move with the final median */
    au_face_analyser_output_free(&out);
    au_face_analyser_free(&fa);
}

/* dynamic = 0 (OpenFace's -au_static): no re-prediction, no offsets, but the
 * same clamping and smoothing. */
static void test_not_dynamic(void **state)
{
    Fixture *fx = *state;
    AuFaceAnalyser fa;
    init_ok(&fa, fx, 0);
    for (int f = 0; f < 20; f++)
        add_ok(&fa, refhog_frame(&fx->hog, f), fx->p + f * N_MODES, 1, fx->ts[f]);
    AuFaceAnalyserOutput out;
    finish_ok(&fa, &out);
    for (int k = 0; k < 17; k++) {
        assert_true(out.intensity_offsets[k] == 0.0);
        int oi = au_au_models_intensity_sorted_index(&fx->models, k);
        for (int f = 0; f < 20; f++) {
            double online = fa.intensity_hist[f * 17 + oi];
            assert_true(out.intensity_repredicted[f * 17 + k] == online);
            double want = online < 0 ? 0 : online > 5 ? 5 : online;
            assert_true(out.intensity_shifted[f * 17 + k] == want);
        }
    }
    au_face_analyser_output_free(&out);
    au_face_analyser_free(&fa);

    /* No frames at all: empty output, no error. */
    init_ok(&fa, fx, 1);
    finish_ok(&fa, &out);
    assert_int_equal(out.n_frames, 0);
    au_face_analyser_output_free(&out);
    au_face_analyser_free(&fa);
}

/* Model sets OpenFace could not finish with are refused at init. */
static void test_bad_models(void **state)
{
    Fixture *fx = *state;
    AuFaceAnalyser fa;
    AuError err = {0};
    AuAuModel *m = &fx->models.groups[AU_GROUP_SVR_DYNAMIC].models[0];
    double saved = m->cutoff;
    m->cutoff = 1.0;
    assert_int_equal(au_face_analyser_init(&fa, &fx->models, &fx->pdm, 1, &err), AU_ERR_FORMAT);
    assert_non_null(strstr(err.msg, ".dat"));
    assert_non_null(strstr(err.msg, "cutoff"));
    m->cutoff = saved;
    assert_null(fa.hog);

    int saved_modes = fx->pdm.n_modes;
    fx->pdm.n_modes = 20; /* geometry 224: the models' 4702 features no longer fit */
    assert_int_equal(au_face_analyser_init(&fa, &fx->models, &fx->pdm, 1, &err), AU_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "face analyser: "));
    assert_non_null(strstr(err.msg, "4702"));
    fx->pdm.n_modes = saved_modes;
    au_face_analyser_free(&fa);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_changeLighting_chain),
        cmocka_unit_test(test_black_face_hog),
        cmocka_unit_test(test_failed_frames),
        cmocka_unit_test(test_reprediction_limit),
        cmocka_unit_test(test_not_dynamic),
        cmocka_unit_test(test_bad_models),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
