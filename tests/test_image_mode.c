/* Still-image mode (au_tracker_process_image, OpenFace's FaceLandmarkImg):
 *
 * - known answers on the three images of the reference intermediates
 *   (image_faces.csv, gaze_internal.csv: OpenFace's full-precision
 *   parameters, landmarks, validator certainty and gaze per face);
 * - the first frame of each reference video as a still image: OpenFace's
 *   video detection kept hypothesis 0 there, which is the single hypothesis
 *   FaceLandmarkImg tries, so landmarks, pose, 3D shape, gaze and the AUs
 *   whose static model files both AU sets share must equal the video's
 *   frame-1 values (this is the only reference for the image AUs);
 * - the 224 LFPW test crops of 300-W: every labelled face found, NME against
 *   the human labels no worse than OpenFace's own (5.146%) + 0.1 points, and
 *   every face's landmarks against OpenFace's CSVs. Under AddressSanitizer a
 *   56-image subset (every 4th) keeps the run short.
 *
 * AU names: data/openface/models/AU_predictors/AU_all_static.txt and
 * AU_all_best.txt list the same .dat files for these AUs (by eye). */
#include "autest.h"

#include <cblas.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "au/au.h"
#include "metrics.h"
#include "openface_csv.h"
#include "pts.h"
#include "refcsv.h"
#include "sysinfo.h"
#include "video.h"

#if defined(__SANITIZE_ADDRESS__)
#define IMAGE_SUBSET 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define IMAGE_SUBSET 1
#endif
#endif
#ifndef IMAGE_SUBSET
#define IMAGE_SUBSET 0
#endif

static AuModelSet *g_models;
static AuTracker *g_tracker;

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
    AuTrackerOptions o;
    au_tracker_options_default(&o);
    o.static_aus = 1;
    if (au_tracker_create(&g_tracker, g_models, &o, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    au_tracker_free(g_tracker);
    au_model_set_free(g_models);
    return 0;
}

/* Decodes the first frame of path (an image or a video) and runs the image
 * mode on it. */
static void process_file(const char *path, AuFrame *f, const AuFrameResult **faces, int *n)
{
    AuError err = {0};
    AuVideo *v = NULL;
    if (au_video_open(&v, path, &err) || au_video_read(v, f, &err))
        fail_msg("%s", err.msg);
    AuInputFrame in = {f->bgr.width, f->bgr.height, f->bgr.data, f->bgr.stride, f->gray.data, f->gray.stride, 0, 0};
    if (au_tracker_process_image(g_tracker, &in, faces, n, &err))
        fail_msg("%s: %s", path, err.msg);
    au_video_close(v);
}

/* The intermediates print float32 values with %.9g, which identifies the
 * float but is not its exact decimal: compare as floats. */
static double max_diff_vec(const float *ours, const RefCsv *c, int row, const char *prefix, int n)
{
    double ref[256], m = 0;
    refcsv_vec(c, row, prefix, n, ref);
    for (int i = 0; i < n; i++)
        m = fmax(m, fabs((double)ours[i] - (float)ref[i]));
    return m;
}

/* Landmarks of a result against x_*, y_* of a reference row. */
static double max_diff_landmarks(const AuFrameResult *r, const RefCsv *c, int row)
{
    return fmax(max_diff_vec(r->landmarks, c, row, "x_", 68), max_diff_vec(r->landmarks + 68, c, row, "y_", 68));
}

static void test_intermediate_images(void **state)
{
    (void)state;
    char path[2048];
    RefCsv faces_ref, gaze_ref;
    refcsv_load(&faces_ref, autest_path(path, sizeof(path), "openface/reference/intermediates/images/image_faces.csv"));
    refcsv_load(&gaze_ref, autest_path(path, sizeof(path), "openface/reference/intermediates/images/gaze_internal.csv"));
    assert_int_equal(faces_ref.n_rows, 3);
    assert_int_equal(gaze_ref.n_rows, 6);
    AuFrame f = {0};
    for (int img = 0; img < 3; img++) {
        char rel[256];
        snprintf(rel, sizeof(rel), "datasets/300w_lfpw_test_crops/%s",
                 refcsv_str(&faces_ref, img, refcsv_col_req(&faces_ref, "name")));
        const AuFrameResult *faces;
        int n;
        process_file(autest_path(path, sizeof(path), rel), &f, &faces, &n);
        assert_int_equal(n, 1);
        const AuFrameResult *r = &faces[0];
        assert_int_equal(r->success, (int)refcsv_get(&faces_ref, img, "returned_success"));
        assert_true(fabs(r->confidence - refcsv_get(&faces_ref, img, "detection_certainty")) < 1e-7);
        static const char *gnames[6] = {"p_scale", "p_rx", "p_ry", "p_rz", "p_tx", "p_ty"};
        double dg = 0;
        for (int k = 0; k < 6; k++)
            dg = fmax(dg, fabs(r->params_global[k] - (float)refcsv_get(&faces_ref, img, gnames[k])));
        double dl = max_diff_vec(r->params_local, &faces_ref, img, "p_", 34);
        double dlm = max_diff_landmarks(r, &faces_ref, img);
        double dgz = 0;
        for (int eye = 0; eye < 2; eye++) {
            int row = 2 * img + eye;
            assert_int_equal((int)refcsv_get(&gaze_ref, row, "frame"), img + 1);
            assert_string_equal(refcsv_str(&gaze_ref, row, refcsv_col_req(&gaze_ref, "eye")), eye ? "right" : "left");
            const float *g = eye ? r->gaze_dir1 : r->gaze_dir0;
            dgz = fmax(dgz, fabs(g[0] - (float)refcsv_get(&gaze_ref, row, "gaze_x")));
            dgz = fmax(dgz, fabs(g[1] - (float)refcsv_get(&gaze_ref, row, "gaze_y")));
            dgz = fmax(dgz, fabs(g[2] - (float)refcsv_get(&gaze_ref, row, "gaze_z")));
            static const char *pose[6] = {"pose_Tx", "pose_Ty", "pose_Tz", "pose_Rx", "pose_Ry", "pose_Rz"};
            for (int k = 0; k < 6; k++)
                dgz = fmax(dgz, fabs(r->pose[k] - (float)refcsv_get(&gaze_ref, row, pose[k])));
        }
        printf("image %d: max |diff| params global %.3g local %.3g landmarks %.3g px, gaze+pose %.3g\n", img + 1, dg,
               dl, dlm, dgz);
        /* bit-exact: the CSV holds OpenFace's floats printed with %.9g */
        assert_true(dg == 0 && dl == 0 && dlm == 0 && dgz == 0);
        /* the AUs are within OpenFace's clipping and presence classes */
        for (int k = 0; k < AU_N_AU_REG; k++)
            assert_true(r->au_reg[k] >= 0 && r->au_reg[k] <= 5);
        for (int k = 0; k < AU_N_AU_CLASS; k++)
            assert_true(r->au_class[k] == 0 || r->au_class[k] == 1);
    }
    au_frame_free(&f);
    refcsv_free(&faces_ref);
    refcsv_free(&gaze_ref);
}

/* Frame 1 of a reference video as a still image against the video's frame 1. */
static void check_video_frame1(const char *name)
{
    char path[2048], rel[256];
    RefCsv frames, pose, gz, au;
    snprintf(rel, sizeof(rel), "openface/reference/intermediates/%s/clnf_frames.csv", name);
    refcsv_load(&frames, autest_path(path, sizeof(path), rel));
    snprintf(rel, sizeof(rel), "openface/reference/intermediates/%s/pose_shape3d.csv", name);
    refcsv_load(&pose, autest_path(path, sizeof(path), rel));
    snprintf(rel, sizeof(rel), "openface/reference/intermediates/%s/gaze.csv", name);
    refcsv_load(&gz, autest_path(path, sizeof(path), rel));
    snprintf(rel, sizeof(rel), "openface/reference/intermediates/%s/au_online.csv", name);
    refcsv_load(&au, autest_path(path, sizeof(path), rel));
    snprintf(rel, sizeof(rel), "openface/videos/%s.wmv", name);
    AuFrame f = {0};
    const AuFrameResult *faces;
    int n;
    process_file(autest_path(path, sizeof(path), rel), &f, &faces, &n);
    assert_int_equal(n, 1);
    const AuFrameResult *r = &faces[0];
    assert_int_equal(r->success, 1);
    assert_true(fabs(r->confidence - refcsv_get(&frames, 0, "detection_certainty")) < 1e-7);
    double dlm = max_diff_landmarks(r, &frames, 0);
    double dp = max_diff_vec(r->params_local, &frames, 0, "p_", 34);
    static const char *pn[6] = {"pose_Tx", "pose_Ty", "pose_Tz", "pose_Rx", "pose_Ry", "pose_Rz"};
    double dpose = 0;
    for (int k = 0; k < 6; k++)
        dpose = fmax(dpose, fabs(r->pose[k] - (float)refcsv_get(&pose, 0, pn[k])));
    double d3 = fmax(fmax(max_diff_vec(r->landmarks_3d, &pose, 0, "X_", 68),
                          max_diff_vec(r->landmarks_3d + 68, &pose, 0, "Y_", 68)),
                     max_diff_vec(r->landmarks_3d + 136, &pose, 0, "Z_", 68));
    static const char *gn[8] = {"gaze_0_x", "gaze_0_y", "gaze_0_z", "gaze_1_x",
                                "gaze_1_y", "gaze_1_z", "gaze_angle_x", "gaze_angle_y"};
    double dgaze = 0;
    for (int k = 0; k < 8; k++) {
        double ours = k < 3 ? r->gaze_dir0[k] : k < 6 ? r->gaze_dir1[k - 3] : r->gaze_angle[k - 6];
        dgaze = fmax(dgaze, fabs(ours - (float)refcsv_get(&gz, 0, gn[k])));
    }
    double deye = 0;
    for (int i = 0; i < 56; i++) {
        char cx[32], cy[32];
        snprintf(cx, sizeof(cx), "eye_lmk_x_%d", i);
        snprintf(cy, sizeof(cy), "eye_lmk_y_%d", i);
        deye = fmax(deye, fabs(r->eye_landmarks[2 * i] - (float)refcsv_get(&gz, 0, cx)));
        deye = fmax(deye, fabs(r->eye_landmarks[2 * i + 1] - (float)refcsv_get(&gz, 0, cy)));
    }
    /* The AUs whose static model is the same file in both sets, clipped to
     * [0, 5] as PredictStaticAUsAndComputeFeatures does. */
    static const char *shared_r[] = {"AU04", "AU06", "AU07", "AU10", "AU12", "AU14"};
    static const char *shared_c[] = {"AU04", "AU05", "AU06", "AU07", "AU10", "AU12", "AU14", "AU23"};
    double dau = 0;
    int n_checked = 0;
    for (int k = 0; k < AU_N_AU_REG; k++) {
        const char *nm = au_tracker_au_reg_name(g_tracker, k);
        for (size_t j = 0; j < sizeof(shared_r) / sizeof(shared_r[0]); j++)
            if (!strcmp(nm, shared_r[j])) {
                char col[32];
                snprintf(col, sizeof(col), "%s_r", nm);
                double v = refcsv_get(&au, 0, col);
                v = v < 0 ? 0 : v > 5 ? 5 : v;
                dau = fmax(dau, fabs(r->au_reg[k] - v));
                n_checked++;
            }
    }
    for (int k = 0; k < AU_N_AU_CLASS; k++) {
        const char *nm = au_tracker_au_class_name(g_tracker, k);
        for (size_t j = 0; j < sizeof(shared_c) / sizeof(shared_c[0]); j++)
            if (!strcmp(nm, shared_c[j])) {
                char col[32];
                snprintf(col, sizeof(col), "%s_c", nm);
                dau = fmax(dau, fabs(r->au_class[k] - refcsv_get(&au, 0, col)));
                n_checked++;
            }
    }
    printf("%s frame 1 as an image: max |diff| landmarks %.3g px, params %.3g, pose %.3g, 3D %.3g mm, gaze %.3g, "
           "eye landmarks %.3g, %d shared AUs %.3g\n",
           name, dlm, dp, dpose, d3, dgaze, deye, n_checked, dau);
    assert_int_equal(n_checked, 14);
    assert_true(dlm == 0 && dp == 0 && dpose == 0 && d3 == 0 && dgaze == 0 && deye == 0 && dau == 0);
    au_frame_free(&f);
    refcsv_free(&frames);
    refcsv_free(&pose);
    refcsv_free(&gz);
    refcsv_free(&au);
}

static void test_video_frame1_as_image(void **state)
{
    (void)state;
    check_video_frame1("default");
    check_video_frame1("changeLighting");
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Per-point mean distance between a result and a (0-based) label. */
static double mean_dist(const float *lm, const double *label)
{
    double s = 0;
    for (int i = 0; i < 68; i++)
        s += hypot(lm[i] - label[i], lm[68 + i] - label[68 + i]);
    return s / 68;
}

static void test_300w_lfpw(void **state)
{
    (void)state;
    char dir[1024], path[2048];
    autest_path(dir, sizeof(dir), "datasets/300w_lfpw_test_crops");
    DIR *d = opendir(dir);
    assert_non_null(d);
    char *names[512];
    int n_img = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len > 4 && !strcmp(e->d_name + len - 4, ".jpg")) {
            assert_true(n_img < 512);
            names[n_img++] = strdup(e->d_name);
        }
    }
    closedir(d);
    qsort(names, (size_t)n_img, sizeof(names[0]), cmp_str);
    assert_int_equal(n_img, 224);
    int step = IMAGE_SUBSET ? 4 : 1; /* 56 images under the sanitizer (about 6 s) */
    double nme_ours[224], nme_of[224], img_px_mean[224];
    double max_px = 0;
    long printed_differ = 0, printed_total = 0;
    int used = 0, n_faces_total = 0, n_faces_of = 0;
    AuFrame f = {0};
    uint64_t ns = 0;
    AuStageTiming before[32], after[32];
    int n_stages = au_tracker_timings(g_tracker, before, 32);
    assert_true(n_stages > 0 && n_stages <= 32);
    for (int i = 0; i < n_img; i += step) {
        char stem[256];
        snprintf(stem, sizeof(stem), "%.*s", (int)strlen(names[i]) - 4, names[i]);
        AuhPts pts = {0};
        AuError err = {0};
        snprintf(path, sizeof(path), "%s/%s.pts", dir, stem);
        if (auh_pts_read(&pts, path, &err))
            fail_msg("%s", err.msg);
        assert_int_equal(pts.n_points, 68);
        double label[136];
        for (int k = 0; k < 68; k++) {
            label[k] = pts.x[k] - 1;
            label[68 + k] = pts.y[k] - 1;
        }
        auh_pts_free(&pts);
        AuhOfCsv ref;
        snprintf(path, sizeof(path), "%s/openface/reference/300w_lfpw_test_crops/%s.csv", autest_data_dir(), stem);
        if (auh_of_csv_read(&ref, path, &err))
            fail_msg("%s", err.msg);

        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        const AuFrameResult *faces;
        int n;
        uint64_t t0 = auh_monotonic_ns();
        process_file(path, &f, &faces, &n);
        ns += auh_monotonic_ns() - t0;
        /* the same faces as OpenFace, in its order */
        if ((size_t)n != ref.n_rows)
            fail_msg("%s: %d faces, OpenFace %zu", stem, n, ref.n_rows);
        n_faces_total += n;
        n_faces_of += (int)ref.n_rows;
        double px_sum = 0;
        for (int k = 0; k < n; k++) {
            assert_int_equal(auh_of_csv_face_id(&ref, (size_t)k), k);
            assert_true(fabs(faces[k].confidence - auh_of_csv_confidence(&ref, (size_t)k)) <= 0.0005 + 1e-9);
            double s = 0;
            for (int p = 0; p < 68; p++) {
                double dd = hypot(faces[k].landmarks[p] - auh_of_csv_landmark_x(&ref, (size_t)k, p),
                                  faces[k].landmarks[68 + p] - auh_of_csv_landmark_y(&ref, (size_t)k, p));
                s += dd;
                max_px = fmax(max_px, dd);
                /* as OpenFace prints them: %.1f of the float */
                for (int axis = 0; axis < 2; axis++) {
                    char a[64], b[64];
                    double refv = axis ? auh_of_csv_landmark_y(&ref, (size_t)k, p)
                                       : auh_of_csv_landmark_x(&ref, (size_t)k, p);
                    snprintf(a, sizeof(a), "%.1f", (double)faces[k].landmarks[68 * axis + p]);
                    snprintf(b, sizeof(b), "%.1f", refv);
                    printed_differ += strcmp(a, b) != 0;
                    printed_total++;
                }
            }
            px_sum += s / 68;
        }
        img_px_mean[used] = px_sum / n;
        /* the face nearest the labels, ours and OpenFace's */
        int best = 0, best_of = 0;
        for (int k = 1; k < n; k++)
            if (mean_dist(faces[k].landmarks, label) < mean_dist(faces[best].landmarks, label))
                best = k;
        double of_lm[136], best_of_d = INFINITY;
        for (size_t k = 0; k < ref.n_rows; k++) {
            double lm[136];
            for (int p = 0; p < 68; p++) {
                lm[p] = auh_of_csv_landmark_x(&ref, k, p);
                lm[68 + p] = auh_of_csv_landmark_y(&ref, k, p);
            }
            double md = auh_lmk_mean_error(lm, label, 68);
            if (md < best_of_d) {
                best_of_d = md;
                best_of = (int)k;
                memcpy(of_lm, lm, sizeof(lm));
            }
        }
        (void)best_of;
        double ours[136];
        for (int p = 0; p < 136; p++)
            ours[p] = faces[best].landmarks[p];
        nme_ours[used] = auh_lmk_nme(ours, label, 68);
        /* the labelled face was detected: the nearest fitted face lies on it
         * (mean error below the eye-corner distance; OpenFace's worst
         * image here is at 0.38) */
        if (!(nme_ours[used] < 1.0))
            fail_msg("%s: no detected face on the labelled one (nearest NME %.3f)", stem, nme_ours[used]);
        nme_of[used] = auh_lmk_nme(of_lm, label, 68);
        used++;
        auh_of_csv_free(&ref);
    }
    au_frame_free(&f);
    for (int i = 0; i < n_img; i++)
        free(names[i]);

    /* the stage counters count the image mode as the video's: one
     * detection per image; per face one validation (one hypothesis), the
     * outputs, alignment, FHOG and AU prediction */
    au_tracker_timings(g_tracker, after, 32);
    for (int s = 0; s < n_stages; s++) {
        uint64_t calls = after[s].calls - before[s].calls;
        const char *nm = after[s].name;
        if (!strcmp(nm, "detect"))
            assert_int_equal(calls, used);
        if (!strcmp(nm, "validate") || !strcmp(nm, "gaze") || !strcmp(nm, "align") || !strcmp(nm, "fhog") ||
            !strcmp(nm, "au_predict"))
            assert_int_equal(calls, n_faces_total);
        if (!strcmp(nm, "response") || !strcmp(nm, "parts"))
            assert_true(calls >= (uint64_t)n_faces_total && after[s].total_ns > before[s].total_ns);
    }
    double sum_o = 0, sum_of = 0, sum_px = 0;
    int fail_o = 0, fail_of = 0;
    for (int i = 0; i < used; i++) {
        sum_o += nme_ours[i];
        sum_of += nme_of[i];
        sum_px += img_px_mean[i];
        fail_o += nme_ours[i] > AUH_NME_THRESHOLD;
        fail_of += nme_of[i] > AUH_NME_THRESHOLD;
    }
    double auc = auh_auc_at(nme_ours, (size_t)used, AUH_NME_THRESHOLD);
    qsort(img_px_mean, (size_t)used, sizeof(double), cmp_double);
    double med_px = used % 2 ? img_px_mean[used / 2] : 0.5 * (img_px_mean[used / 2 - 1] + img_px_mean[used / 2]);
    double mean_o = sum_o / used, mean_of = sum_of / used;
    printf("300-W LFPW test, %d images (%d faces; OpenFace %d): mean NME %.3f%% (OpenFace %.3f%%), failures at 0.08: "
           "%d (OpenFace %d), AUC@0.08 %.3f; landmarks vs OpenFace's CSV: per-image mean %.4f px, median %.4f px, "
           "max point %.4f px; coordinates printed differently: %ld of %ld; %.1f ms per image\n",
           used, n_faces_total, n_faces_of, 100 * mean_o, 100 * mean_of, fail_o, fail_of, auc, sum_px / used, med_px,
           max_px, printed_differ, printed_total, 1e-6 * (double)ns / used);
    if (!IMAGE_SUBSET) {
        assert_int_equal(used, 224);
        /* the metric reproduces the reference README's figure for OpenFace */
        assert_true(fabs(mean_of - 0.05146) < 5e-6);
    }
    assert_true(mean_o <= mean_of + 0.001);
    /* OpenFace's CSV prints 1 decimal: identical landmarks differ by at most
     * the rounding, 0.05 px per coordinate */
    assert_true(max_px <= 0.0708);
    /* and every coordinate prints as OpenFace's */
    assert_int_equal(printed_differ, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_intermediate_images),
        cmocka_unit_test(test_video_frame1_as_image),
        cmocka_unit_test(test_300w_lfpw),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
