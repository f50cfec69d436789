/* The AU half of the pipeline end to end on every frame of both reference
 * videos: decoded frame + OpenFace's final landmarks of that frame
 * (clnf_frames.csv, full precision) -> FaceAnalyser CalcParams -> alignment
 * and mask -> FHOG -> running medians, SVR/SVM -> offline post-processing,
 * compared with the AU columns of OpenFace's CSV. This checks the default
 * video's full AU chain, which the per-stage dumps cannot (they hold HOG for
 * its first 3 frames only). */
#include "autest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "face_align.h"
#include "face_analyser.h"
#include "fhog.h"
#include "models.h"
#include "openface_csv.h"
#include "refcsv.h"
#include "video.h"

static void run_video(const char *name)
{
    char path[2048];
    AuError err = {0};
    AuModels m;
    AuStatus st = au_models_load(&m, autest_path(path, sizeof(path), "openface/models"), &err);
    if (st)
        fail_msg("%s", err.msg);
    AuPdmWork w;
    AuFaceAlign al;
    AuFhog fh;
    AuFaceAnalyser fa;
    assert_int_equal(au_pdm_work_init(&w, &m.au_pdm, &err), AU_OK);
    assert_int_equal(au_face_align_init(&al, &m.au_pdm, &m.au_tris, 0.7, 112, 112, &err), AU_OK);
    assert_int_equal(au_fhog_init(&fh, 112, 112, 3, 8, &err), AU_OK);
    assert_int_equal(au_face_analyser_init(&fa, &m.au_dynamic, &m.au_pdm, 1, &err), AU_OK);

    RefCsv frames;
    snprintf(path, sizeof(path), "%s/openface/reference/intermediates/%s/clnf_frames.csv", autest_data_dir(), name);
    refcsv_load(&frames, path);
    AuhOfCsv ref;
    snprintf(path, sizeof(path), "%s/openface/reference/%s.csv", autest_data_dir(), name);
    if (auh_of_csv_read(&ref, path, &err))
        fail_msg("%s", err.msg);
    assert_int_equal((int)ref.n_rows, frames.n_rows);

    AuVideo *v;
    snprintf(path, sizeof(path), "%s/openface/videos/%s.wmv", autest_data_dir(), name);
    assert_int_equal(au_video_open(&v, path, &err), AU_OK);
    AuFrame f = {0};
    AuImageU8 face;
    assert_int_equal(au_image_u8_alloc(&face, 112, 112, 3, &err), AU_OK);
    float hog[4464];
    for (int row = 0; row < frames.n_rows; row++) {
        assert_int_equal(au_video_read(v, &f, &err), AU_OK);
        int success = (int)refcsv_get(&frames, row, "returned_success");
        float lm[136], g[6], local[34];
        double tmp[68];
        refcsv_vec(&frames, row, "x_", 68, tmp);
        for (int i = 0; i < 68; i++)
            lm[i] = (float)tmp[i];
        refcsv_vec(&frames, row, "y_", 68, tmp);
        for (int i = 0; i < 68; i++)
            lm[68 + i] = (float)tmp[i];
        if (success) {
            au_pdm_params_from_landmarks(&m.au_pdm, lm, NULL, g, local, &w);
            assert_int_equal(au_face_align(&al, &f.bgr, lm, g, &face, &err), AU_OK);
            assert_int_equal(au_fhog_run(&fh, &face, hog, &err), AU_OK);
        }
        assert_int_equal(au_face_analyser_add_frame(&fa, success ? hog : NULL, success ? local : NULL, success,
                                                    f.timestamp, &err),
                         AU_OK);
    }
    AuFaceAnalyserOutput out;
    assert_int_equal(au_face_analyser_finish(&fa, &out, &err), AU_OK);
    assert_int_equal(out.n_frames, frames.n_rows);
    long cells = 0, differ = 0;
    double max_diff = 0;
    char col[64];
    for (int a = 0; a < out.n_intensity + out.n_presence; a++) {
        int is_reg = a < out.n_intensity;
        int k = is_reg ? a : a - out.n_intensity;
        snprintf(col, sizeof(col), "%s_%s", is_reg ? out.intensity_names[k] : out.presence_names[k], is_reg ? "r" : "c");
        int c = auh_of_csv_column(&ref, col);
        if (c < 0)
            fail_msg("reference CSV has no column %s", col);
        for (int fr = 0; fr < out.n_frames; fr++) {
            double ours = is_reg ? out.intensity[(size_t)fr * out.n_intensity + k]
                                 : out.presence[(size_t)fr * out.n_presence + k];
            char txt[32];
            snprintf(txt, sizeof(txt), "%.2f", ours); /* the CSV's format */
            double printed = strtod(txt, NULL);
            double d = fabs(printed - auh_of_csv_get(&ref, (size_t)fr, c));
            differ += d > 1e-9;
            if (d > max_diff)
                max_diff = d;
            cells++;
        }
    }
    printf("%s: AU chain from OpenFace's landmarks: %ld of %ld AU cells differ from OpenFace's CSV, max diff %.2f\n",
           name, differ, cells, max_diff);
    assert_int_equal(differ, 0);

    au_face_analyser_output_free(&out);
    au_image_u8_free(&face);
    au_frame_free(&f);
    au_video_close(v);
    auh_of_csv_free(&ref);
    refcsv_free(&frames);
    au_face_analyser_free(&fa);
    au_fhog_free(&fh);
    au_face_align_free(&al);
    au_pdm_work_free(&w);
    au_models_free(&m);
}

static void test_chain_changelighting(void **state)
{
    (void)state;
    run_video("changeLighting");
}

static void test_chain_default(void **state)
{
    (void)state;
    run_video("default");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_changelighting),
        cmocka_unit_test(test_chain_default),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
