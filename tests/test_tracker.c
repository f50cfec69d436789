/* The whole per-video pipeline (au.h) on both reference videos, from
 * OpenFace's own MTCNN box on the detection frame (our detector is checked on
 * its own): the tracking schedule, every fit with its hierarchical parts,
 * pose, and the AUs after post-processing, frame by frame against OpenFace's
 * full-precision landmarks (clnf_frames.csv) and its CSV. */
#include "autest.h"

#include <cblas.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "au/au.h"
#include "openface_csv.h"
#include "refcsv.h"
#include "tracker_internal.h"
#include "video.h"

static AuModelSet *g_models; /* loaded once for the group (Sigma preparation takes ~1 s) */

static int setup(void **state)
{
    (void)state;
    openblas_set_num_threads(1);
    char path[1024];
    AuError err = {0};
    if (au_model_set_load(&g_models, autest_path(path, sizeof(path), "openface/models"), &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    au_model_set_free(g_models);
    return 0;
}

static void run_video(const char *name, int use_openface_box)
{
    char path[2048];
    AuError err = {0};
    RefCsv frames, sel, gz;
    snprintf(path, sizeof(path), "%s/openface/reference/intermediates/%s/gaze.csv", autest_data_dir(), name);
    refcsv_load(&gz, path);
    double max_gaze = 0, max_eye3d = 0;
    snprintf(path, sizeof(path), "%s/openface/reference/intermediates/%s/clnf_frames.csv", autest_data_dir(), name);
    refcsv_load(&frames, path);
    snprintf(path, sizeof(path), "%s/openface/reference/intermediates/%s/mtcnn_select.csv", autest_data_dir(), name);
    refcsv_load(&sel, path);
    AuhOfCsv ref;
    snprintf(path, sizeof(path), "%s/openface/reference/%s.csv", autest_data_dir(), name);
    if (auh_of_csv_read(&ref, path, &err))
        fail_msg("%s", err.msg);

    AuTracker *t;
    assert_int_equal(au_tracker_create(&t, g_models, NULL, &err), AU_OK);
    AuVideo *v;
    snprintf(path, sizeof(path), "%s/openface/videos/%s.wmv", autest_data_dir(), name);
    assert_int_equal(au_video_open(&v, path, &err), AU_OK);
    AuFrame f = {0};
    AuFrameResult r;
    double max_lm = 0, sum_lm = 0, max_pose_t = 0, max_pose_r = 0;
    int n = 0, sel_row = 0;
    int c_tx = auh_of_csv_column(&ref, "pose_Tx"), c_rx = auh_of_csv_column(&ref, "pose_Rx");
    while (au_video_read(v, &f, &err) == AU_OK) {
        /* OpenFace's MTCNN box for the frames where it ran its detector. */
        if (use_openface_box && sel_row < sel.n_rows && (int)refcsv_get(&sel, sel_row, "frame") == n + 1) {
            AuRectF box = {(float)refcsv_get(&sel, sel_row, "x"), (float)refcsv_get(&sel, sel_row, "y"),
                           (float)refcsv_get(&sel, sel_row, "w"), (float)refcsv_get(&sel, sel_row, "h")};
            au_tracker_override_detection(t, 1, &box);
            sel_row++;
        }
        AuInputFrame in = {f.bgr.width, f.bgr.height, f.bgr.data, f.bgr.stride, f.gray.data, f.gray.stride,
                           f.frame_number, f.timestamp};
        if (au_tracker_process(t, &in, &r, &err))
            fail_msg("frame %d: %s", n + 1, err.msg);
        assert_int_equal(r.success, (int)refcsv_get(&frames, n, "returned_success"));
        /* the CNN validator's certainty (OpenFace's CSV confidence) */
        assert_true(fabs(r.confidence - refcsv_get(&frames, n, "detection_certainty")) < 1e-6);
        double frame_err = 0;
        for (int i = 0; i < 68; i++) {
            char cx[16], cy[16];
            snprintf(cx, sizeof(cx), "x_%d", i);
            snprintf(cy, sizeof(cy), "y_%d", i);
            double dx = r.landmarks[i] - refcsv_get(&frames, n, cx);
            double dy = r.landmarks[68 + i] - refcsv_get(&frames, n, cy);
            double d = sqrt(dx * dx + dy * dy);
            frame_err += d / 68;
            if (d > max_lm)
                max_lm = d;
        }
        sum_lm += frame_err;
        static const char *gcols[6] = {"gaze_0_x", "gaze_0_y", "gaze_0_z", "gaze_1_x", "gaze_1_y", "gaze_1_z"};
        for (int k = 0; k < 6; k++) {
            double ours = k < 3 ? r.gaze_dir0[k] : r.gaze_dir1[k - 3];
            max_gaze = fmax(max_gaze, fabs(ours - (float)refcsv_get(&gz, n, gcols[k])));
        }
        for (int i = 0; i < 56; i++) {
            char cn[32];
            static const char *axes = "XYZ";
            for (int k = 0; k < 3; k++) {
                snprintf(cn, sizeof(cn), "eye_lmk_%c_%d", axes[k], i);
                max_eye3d = fmax(max_eye3d, fabs(r.eye_landmarks_3d[3 * i + k] - (float)refcsv_get(&gz, n, cn)));
            }
        }
        for (int k = 0; k < 3; k++) {
            double dt = fabs(r.pose[k] - auh_of_csv_get(&ref, (size_t)n, c_tx + k));
            double dr = fabs(r.pose[3 + k] - auh_of_csv_get(&ref, (size_t)n, c_rx + k));
            max_pose_t = dt > max_pose_t ? dt : max_pose_t;
            max_pose_r = dr > max_pose_r ? dr : max_pose_r;
        }
        n++;
    }
    assert_int_equal(n, frames.n_rows);
    assert_int_equal(au_tracker_finish(t, &err), AU_OK);
    long differ = 0, cells = 0;
    double max_au = 0;
    for (int fr = 0; fr < n; fr++) {
        double reg[AU_N_AU_REG], cls[AU_N_AU_CLASS];
        assert_int_equal(au_tracker_final_aus(t, (size_t)fr, reg, cls, &err), AU_OK);
        for (int k = 0; k < AU_N_AU_REG + AU_N_AU_CLASS; k++) {
            char col[32], txt[32];
            int is_reg = k < AU_N_AU_REG;
            snprintf(col, sizeof(col), "%s_%s",
                     is_reg ? au_tracker_au_reg_name(t, k) : au_tracker_au_class_name(t, k - AU_N_AU_REG),
                     is_reg ? "r" : "c");
            snprintf(txt, sizeof(txt), "%.2f", is_reg ? reg[k] : cls[k - AU_N_AU_REG]);
            int c = auh_of_csv_column(&ref, col);
            assert_true(c >= 0);
            double dau = fabs(strtod(txt, NULL) - auh_of_csv_get(&ref, (size_t)fr, c));
            differ += dau > 1e-9;
            max_au = dau > max_au ? dau : max_au;
            cells++;
        }
    }
    printf("%s: gaze vectors max diff %.3g, 3D eye landmarks max diff %.3g mm\n", name, max_gaze, max_eye3d);
    /* gaze.csv prints float32 with %.9g: compared as floats, the values
     * match bit for bit (tests/test_gaze.c, test_face_outputs.c) */
    assert_true(max_gaze == 0);
    assert_true(max_eye3d == 0);
    refcsv_free(&gz);
    printf("%s (%s): %d frames; landmarks vs OpenFace: mean %.3g px, max %.3g px; pose max |dT| %.3g mm (CSV 1 decimal), "
           "max |dR| %.3g rad (CSV 3 decimals); AU cells differing from OpenFace's CSV: %ld of %ld (max %.2f)\n",
           name, use_openface_box ? "OpenFace's MTCNN box" : "our MTCNN", n, sum_lm / n, max_lm, max_pose_t, max_pose_r, differ, cells, max_au);
    if (use_openface_box) {
        /* Same input box: the same computation, to float rounding. */
        assert_true(max_lm < 0.01);
        assert_true(max_pose_t <= 0.05 + 1e-6);
        assert_true(max_pose_r <= 0.0005 + 1e-6);
        assert_int_equal(differ, 0);
    } else {
        /* Our MTCNN's box differs from OpenFace's by ~1e-5 px (test_mtcnn);
         * tracking carries that on, far inside the fidelity targets (mean
         * landmark error <= 1 px; AUs r >= 0.98). */
        assert_true(sum_lm / n < 0.1);
        assert_true(max_lm < 1.0);
        assert_true(max_au <= 0.1);
    }
    au_frame_free(&f);
    au_video_close(v);
    au_tracker_free(t);
    auh_of_csv_free(&ref);
    refcsv_free(&frames);
    refcsv_free(&sel);
}

static void test_tracker_changelighting(void **state)
{
    (void)state;
    run_video("changeLighting", 1);
    run_video("changeLighting", 0);
}

static void test_tracker_default(void **state)
{
    (void)state;
    run_video("default", 1);
    run_video("default", 0);
}

/* A video with no face: every frame fails, as OpenFace's rows with success 0. */
static void test_no_face(void **state)
{
    (void)state;
    AuTracker *t;
    AuError err = {0};
    assert_int_equal(au_tracker_create(&t, g_models, NULL, &err), AU_OK);
    static unsigned char bgr[160 * 120 * 3], gray[160 * 120];
    memset(bgr, 90, sizeof(bgr));
    memset(gray, 90, sizeof(gray));
    AuFrameResult r;
    for (int i = 0; i < 14; i++) {
        AuInputFrame in = {160, 120, bgr, 480, gray, 160, i, i / 30.0};
        assert_int_equal(au_tracker_process(t, &in, &r, &err), AU_OK);
        assert_int_equal(r.success, 0);
    }
    assert_int_equal(au_tracker_finish(t, &err), AU_OK);
    double reg[AU_N_AU_REG], cls[AU_N_AU_CLASS];
    assert_int_equal(au_tracker_final_aus(t, 13, reg, cls, &err), AU_OK);
    for (int k = 0; k < AU_N_AU_REG; k++)
        assert_true(reg[k] == 0.0);
    au_tracker_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tracker_changelighting),
        cmocka_unit_test(test_tracker_default),
        cmocka_unit_test(test_no_face),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
