/* FeatureExtraction's per-frame outputs from a fitted CLNF (core/face_outputs.c)
 * against OpenFace's own values (reference/intermediates, README there):
 * the CLNF state OpenFace ended each frame with (main model: clnf_frames.csv
 * or, for the still images, image_faces.csv; eye part models: the row of
 * clnf_calls_<eye>.csv of the call OpenFace kept, i.e. the chosen
 * hypothesis of multihyp.csv on a detection frame) is loaded into an AuClnf,
 * and the outputs must reproduce
 *   - pose_shape3d.csv: GetPose and CLNF::GetShape (pose_*, X/Y/Z_*),
 *   - gaze.csv: the 2D and 3D eye landmarks and, on successful frames, the
 *     gaze vectors and angles,
 *   - gaze_internal.csv: every EstimateGaze intermediate,
 * all bit for bit (the CSVs print float32 with %.9g, which reads back
 * exactly). The still images (499x513, 372x373 and 512x513 pixels) also
 * check the camera-intrinsics rule, through GetPose and the gaze, on frame
 * sizes other than 640x480. */
#include "autest.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "clnf.h"
#include "clnf_model.h"
#include "face_outputs.h"
#include "refcsv.h"

#define MAIN_MODEL "openface/models/model/main_clnf_general.txt"

static void load_csv(RefCsv *c, const char *dir, const char *file)
{
    char rel[512], path[1024];
    snprintf(rel, sizeof(rel), "openface/reference/intermediates/%s/%s", dir, file);
    autest_path(path, sizeof(path), rel);
    autest_require_file(path);
    refcsv_load(c, path);
}

static float cell_f(const RefCsv *c, int row, const char *name)
{
    return (float)refcsv_get(c, row, name);
}

/* Row of c whose integer column col equals value (the first, or the last
 * when last is set); -1 if none. */
static int find_row(const RefCsv *c, const char *col, int value, int last)
{
    int k = refcsv_col_req(c, col), found = -1;
    for (int r = 0; r < c->n_rows; r++)
        if ((int)refcsv_num(c, r, k) == value) {
            found = r;
            if (!last)
                break;
        }
    return found;
}

/* Loads p_scale..p_ty, p_0..p_{m-1}, x_0..x_{n-1}, y_0..y_{n-1} of a row into c. */
static void set_state(AuClnf *c, const RefCsv *csv, int row)
{
    static const char *const g[6] = {"p_scale", "p_rx", "p_ry", "p_rz", "p_tx", "p_ty"};
    char cn[32];
    for (int j = 0; j < 6; j++)
        c->params_global[j] = cell_f(csv, row, g[j]);
    for (int j = 0; j < c->m; j++) {
        snprintf(cn, sizeof(cn), "p_%d", j);
        c->params_local[j] = cell_f(csv, row, cn);
    }
    for (int i = 0; i < c->n; i++) {
        snprintf(cn, sizeof(cn), "x_%d", i);
        c->landmarks[i] = cell_f(csv, row, cn);
        snprintf(cn, sizeof(cn), "y_%d", i);
        c->landmarks[i + c->n] = cell_f(csv, row, cn);
    }
}

typedef struct Fixture {
    AuClnfModel model;
    AuClnf clnf;
    AuFaceOutputs fo;
} Fixture;

static int setup(void **state)
{
    static Fixture f;
    memset(&f, 0, sizeof(f));
    char path[1024];
    autest_path(path, sizeof(path), MAIN_MODEL);
    autest_require_file(path);
    AuError err = {0};
    if (au_clnf_model_load(&f.model, path, &err) || au_clnf_init(&f.clnf, &f.model, NULL, &err) ||
        au_face_outputs_init(&f.fo, &f.model, &err)) {
        print_error("%s\n", err.msg);
        return -1;
    }
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    Fixture *f = *state;
    au_face_outputs_free(&f->fo);
    au_clnf_free(&f->clnf);
    au_clnf_model_free(&f->model);
    return 0;
}

typedef struct Count {
    const char *what;
    long n, exact;
    double max;
} Count;

static void count(Count *k, float got, float want)
{
    k->n++;
    k->exact += got == want;
    double d = fabs((double)got - want);
    if (!(d <= k->max))
        k->max = isnan(d) ? INFINITY : d;
}

static void report_exact(const Count *k)
{
    print_message("  %-28s %ld of %ld values bit-exact (max |diff| %.3g)\n", k->what, k->exact, k->n, k->max);
    assert_true(k->n > 0);
    assert_int_equal(k->exact, k->n);
}

/* Loads the eye parts' final state of (frame) from clnf_calls_<eye>.csv:
 * the kept hypothesis's call when multihyp.csv has one for the frame, else
 * the frame's last call. */
static void set_eye_states(Fixture *f, RefCsv eyes[2], const RefCsv *mh, int frame)
{
    int call = -1;
    int call_col = refcsv_col_req(mh, "call"), chosen_col = refcsv_col_req(mh, "chosen");
    int frame_col = refcsv_col_req(mh, "frame");
    for (int r = 0; r < mh->n_rows; r++)
        if ((int)refcsv_num(mh, r, frame_col) == frame && (int)refcsv_num(mh, r, chosen_col) == 1)
            call = (int)refcsv_num(mh, r, call_col);
    for (int e = 0; e < 2; e++) {
        int row = call >= 0 ? find_row(&eyes[e], "call", call, 0) : find_row(&eyes[e], "frame", frame, 1);
        assert_true(row >= 0);
        assert_int_equal((int)refcsv_get(&eyes[e], row, "frame"), frame);
        set_state(&f->clnf.parts[f->fo.eye_parts[e]], &eyes[e], row);
    }
}

static void compare_gaze_internal(const RefCsv *gi, int frame, const AuGazeEye eyes[2], const float pose[6],
                                  Count *k_stage, Count *k_pose)
{
    static const char *const stage[5] = {"pupil", "ray", "eyeball", "axis", "gaze"};
    static const char *const pose_col[6] = {"pose_Tx", "pose_Ty", "pose_Tz", "pose_Rx", "pose_Ry", "pose_Rz"};
    int frame_col = refcsv_col_req(gi, "frame"), eye_col = refcsv_col_req(gi, "eye"), seen = 0;
    char cn[32];
    for (int r = 0; r < gi->n_rows; r++) {
        if ((int)refcsv_num(gi, r, frame_col) != frame)
            continue;
        int e = strcmp(refcsv_str(gi, r, eye_col), "left") == 0 ? 0 : 1;
        const float *got[5] = {eyes[e].pupil, eyes[e].ray, eyes[e].eyeball, eyes[e].axis, eyes[e].gaze};
        for (int s = 0; s < 5; s++)
            for (int j = 0; j < 3; j++) {
                snprintf(cn, sizeof(cn), "%s_%c", stage[s], "xyz"[j]);
                count(k_stage, got[s][j], cell_f(gi, r, cn));
            }
        /* EstimateGaze's own GetPose (cv::Vec6f) */
        for (int j = 0; j < 6; j++)
            count(k_pose, pose[j], cell_f(gi, r, pose_col[j]));
        seen++;
    }
    assert_int_equal(seen, 2);
}

static void test_videos(void **state)
{
    Fixture *f = *state;
    static const char *const videos[2] = {"changeLighting", "default"};
    static const int n_frames[2] = {88, 288};
    /* FeatureExtraction on these 640x480 videos: fx = fy = 500, cx = 320, cy = 240 */
    AuCamera cam = au_camera_intrinsics(640, 480, -1, -1, -1, -1);
    assert_true(cam.fx == 500 && cam.fy == 500 && cam.cx == 320 && cam.cy == 240);
    Count k_pose = {"GetPose", 0, 0, 0}, k_shape = {"GetShape X/Y/Z", 0, 0, 0},
          k_eye2 = {"eye landmarks 2D", 0, 0, 0}, k_eye3 = {"eye landmarks 3D", 0, 0, 0},
          k_gaze = {"gaze vectors and angles", 0, 0, 0}, k_stage = {"EstimateGaze intermediates", 0, 0, 0},
          k_gpose = {"EstimateGaze's pose", 0, 0, 0};
    static const char *const pose_col[6] = {"pose_Tx", "pose_Ty", "pose_Tz", "pose_Rx", "pose_Ry", "pose_Rz"};
    float pose[6], xyz[3 * 68], eye2[2 * 56], eye3[3 * 56], ang[2];
    char cn[32];
    for (int v = 0; v < 2; v++) {
        RefCsv fr, ps, gz, gi, mh, eyes[2];
        load_csv(&fr, videos[v], "clnf_frames.csv");
        load_csv(&ps, videos[v], "pose_shape3d.csv");
        load_csv(&gz, videos[v], "gaze.csv");
        load_csv(&gi, videos[v], "gaze_internal.csv");
        load_csv(&mh, videos[v], "multihyp.csv");
        load_csv(&eyes[0], videos[v], "clnf_calls_left_eye_28.csv");
        load_csv(&eyes[1], videos[v], "clnf_calls_right_eye_28.csv");
        assert_int_equal(fr.n_rows, n_frames[v]);
        for (int r = 0; r < fr.n_rows; r++) {
            int frame = (int)refcsv_get(&fr, r, "frame");
            set_state(&f->clnf, &fr, r);
            set_eye_states(f, eyes, &mh, frame);
            int pr = find_row(&ps, "frame", frame, 0), gr = find_row(&gz, "frame", frame, 0);
            assert_true(pr >= 0 && gr >= 0);

            au_face_pose(&f->fo, &f->clnf, &cam, pose);
            for (int j = 0; j < 6; j++)
                count(&k_pose, pose[j], cell_f(&ps, pr, pose_col[j]));
            au_face_shape3d(&f->fo, &f->clnf, &cam, xyz);
            for (int j = 0; j < 3; j++)
                for (int i = 0; i < 68; i++) {
                    snprintf(cn, sizeof(cn), "%c_%d", "XYZ"[j], i);
                    count(&k_shape, xyz[j * 68 + i], cell_f(&ps, pr, cn));
                }
            assert_int_equal(au_face_eye_landmarks(&f->fo, &f->clnf, eye2), 56);
            assert_int_equal(au_face_eye_landmarks_3d(&f->fo, &f->clnf, &cam, eye3), 56);
            assert_int_equal((int)refcsv_get(&gz, gr, "n_eye_lmk"), 56);
            for (int i = 0; i < 56; i++) {
                for (int j = 0; j < 2; j++) {
                    snprintf(cn, sizeof(cn), "eye_lmk_%c_%d", "xy"[j], i);
                    count(&k_eye2, eye2[2 * i + j], cell_f(&gz, gr, cn));
                }
                for (int j = 0; j < 3; j++) {
                    snprintf(cn, sizeof(cn), "eye_lmk_%c_%d", "XYZ"[j], i);
                    count(&k_eye3, eye3[3 * i + j], cell_f(&gz, gr, cn));
                }
            }
            /* gaze only on successful frames (all of them in these videos) */
            assert_int_equal((int)refcsv_get(&fr, r, "returned_success"), 1);
            AuGazeEye ge[2];
            assert_int_equal(au_face_gaze(&f->fo, &f->clnf, &cam, pose, xyz, ge, ang), 1);
            for (int e = 0; e < 2; e++)
                for (int j = 0; j < 3; j++) {
                    snprintf(cn, sizeof(cn), "gaze_%d_%c", e, "xyz"[j]);
                    count(&k_gaze, ge[e].gaze[j], cell_f(&gz, gr, cn));
                }
            count(&k_gaze, ang[0], cell_f(&gz, gr, "gaze_angle_x"));
            count(&k_gaze, ang[1], cell_f(&gz, gr, "gaze_angle_y"));
            compare_gaze_internal(&gi, frame, ge, pose, &k_stage, &k_gpose);
        }
        refcsv_free(&fr);
        refcsv_free(&ps);
        refcsv_free(&gz);
        refcsv_free(&gi);
        refcsv_free(&mh);
        refcsv_free(&eyes[0]);
        refcsv_free(&eyes[1]);
    }
    report_exact(&k_pose);
    report_exact(&k_shape);
    report_exact(&k_eye2);
    report_exact(&k_eye3);
    report_exact(&k_gaze);
    report_exact(&k_stage);
    report_exact(&k_gpose);
}

/* FaceLandmarkImg on three 300-W crops: the camera is derived per image from
 * its size (sizes from `file` on the JPEGs; expected intrinsics computed in
 * Python with float32 rounding at each step). */
static void test_images(void **state)
{
    Fixture *f = *state;
    static const struct {
        int w, h;
        float fx, cx, cy;
    } img[3] = {{499, 513, 462.109375f, 249.5f, 256.5f},
                {372, 373, 339.583313f, 186.0f, 186.5f},
                {512, 513, 467.1875f, 256.0f, 256.5f}};
    RefCsv faces, gi, mh, eyes[2];
    load_csv(&faces, "images", "image_faces.csv");
    load_csv(&gi, "images", "gaze_internal.csv");
    load_csv(&mh, "images", "multihyp.csv");
    load_csv(&eyes[0], "images", "clnf_calls_left_eye_28.csv");
    load_csv(&eyes[1], "images", "clnf_calls_right_eye_28.csv");
    assert_int_equal(faces.n_rows, 3);
    Count k_stage = {"EstimateGaze intermediates", 0, 0, 0}, k_pose = {"EstimateGaze's pose", 0, 0, 0};
    float pose[6], xyz[3 * 68], ang[2];
    for (int r = 0; r < 3; r++) {
        int image = (int)refcsv_get(&faces, r, "image");
        AuCamera cam = au_camera_intrinsics(img[image - 1].w, img[image - 1].h, -1, -1, -1, -1);
        assert_true(cam.fx == img[image - 1].fx && cam.fy == img[image - 1].fx);
        assert_true(cam.cx == img[image - 1].cx && cam.cy == img[image - 1].cy);
        set_state(&f->clnf, &faces, r);
        set_eye_states(f, eyes, &mh, image);
        au_face_pose(&f->fo, &f->clnf, &cam, pose);
        au_face_shape3d(&f->fo, &f->clnf, &cam, xyz);
        AuGazeEye ge[2];
        assert_int_equal(au_face_gaze(&f->fo, &f->clnf, &cam, pose, xyz, ge, ang), 1);
        compare_gaze_internal(&gi, image, ge, pose, &k_stage, &k_pose);
        /* With the 640x480 camera instead, the pose is not OpenFace's. */
        AuCamera wrong = au_camera_intrinsics(640, 480, -1, -1, -1, -1);
        float pose_wrong[6];
        au_face_pose(&f->fo, &f->clnf, &wrong, pose_wrong);
        assert_true(pose_wrong[2] != pose[2]);
    }
    report_exact(&k_stage);
    report_exact(&k_pose);
    refcsv_free(&faces);
    refcsv_free(&gi);
    refcsv_free(&mh);
    refcsv_free(&eyes[0]);
    refcsv_free(&eyes[1]);
}

static void test_camera_intrinsics(void **state)
{
    (void)state;
    /* Expected values: Python, float32 rounding at each step of
     * 500 * (w / 640), 500 * (h / 480), their mean, w / 2, h / 2. */
    AuCamera c = au_camera_intrinsics(1280, 720, 0, 0, 0, 0);
    assert_true(c.fx == 875 && c.fy == 875 && c.cx == 640 && c.cy == 360);
    c = au_camera_intrinsics(720, 1280, -1, -1, -1, -1);
    assert_true(c.fx == 947.916687f && c.fy == 947.916687f && c.cx == 360 && c.cy == 640);
    /* given values are kept, each pair on its own */
    c = au_camera_intrinsics(640, 480, 800, 810, -1, -1);
    assert_true(c.fx == 800 && c.fy == 810 && c.cx == 320 && c.cy == 240);
    c = au_camera_intrinsics(640, 480, 0, 0, 300.5f, 200.25f);
    assert_true(c.fx == 500 && c.fy == 500 && c.cx == 300.5f && c.cy == 200.25f);
    /* a half-given pair counts as not given */
    c = au_camera_intrinsics(640, 480, 800, -1, 100, 0);
    assert_true(c.fx == 500 && c.fy == 500 && c.cx == 320 && c.cy == 240);
}

/* The context found the two eye parts of main_clnf_general.txt in part
 * order (inner, left_eye_28, right_eye_28). */
static void test_eye_parts(void **state)
{
    Fixture *f = *state;
    assert_int_equal(f->fo.n_points, 68);
    assert_int_equal(f->fo.n_eye_parts, 2);
    assert_int_equal(f->fo.eye_parts[0], 1);
    assert_int_equal(f->fo.eye_parts[1], 2);
    assert_int_equal(f->fo.n_eye_points, 56);
    assert_int_equal(f->fo.gaze_part[0], 1);
    assert_int_equal(f->fo.gaze_part[1], 2);
}

/* Models with fewer parts, as shallow copies of the loaded one: without
 * eye parts OpenFace's eye_model is false, no gaze is computed (zeros) and
 * there are no eye landmarks; with only the left eye, the right gaze
 * vector is (0, 0, 0) and the angle is taken from (left + 0) / 2. */
static void test_missing_eye_parts(void **state)
{
    Fixture *f = *state;
    AuError err = {0};
    RefCsv fr, mh, eyes[2];
    load_csv(&fr, "changeLighting", "clnf_frames.csv");
    load_csv(&mh, "changeLighting", "multihyp.csv");
    load_csv(&eyes[0], "changeLighting", "clnf_calls_left_eye_28.csv");
    load_csv(&eyes[1], "changeLighting", "clnf_calls_right_eye_28.csv");
    set_state(&f->clnf, &fr, 4);
    set_eye_states(f, eyes, &mh, (int)refcsv_get(&fr, 4, "frame"));
    AuCamera cam = au_camera_intrinsics(640, 480, -1, -1, -1, -1);
    float pose[6], xyz[3 * 68], ang[2], eye2[2 * 56], eye3[3 * 56];
    AuGazeEye full[2], ge[2];
    au_face_pose(&f->fo, &f->clnf, &cam, pose);
    au_face_shape3d(&f->fo, &f->clnf, &cam, xyz);
    au_face_gaze(&f->fo, &f->clnf, &cam, pose, xyz, full, ang);

    /* only the inner part */
    AuClnfModel m = f->model;
    m.n_parts = 1;
    m.eye_model = 0;
    AuFaceOutputs fo;
    assert_int_equal(au_face_outputs_init(&fo, &m, &err), AU_OK);
    assert_int_equal(fo.n_eye_parts, 0);
    assert_int_equal(fo.gaze_part[0], -1);
    assert_int_equal(fo.gaze_part[1], -1);
    assert_int_equal(au_face_eye_landmarks(&fo, &f->clnf, eye2), 0);
    assert_int_equal(au_face_eye_landmarks_3d(&fo, &f->clnf, &cam, eye3), 0);
    ang[0] = ang[1] = 7;
    assert_int_equal(au_face_gaze(&fo, &f->clnf, &cam, pose, xyz, ge, ang), 0);
    for (int e = 0; e < 2; e++)
        for (int j = 0; j < 3; j++)
            assert_true(ge[e].gaze[j] == 0 && ge[e].pupil[j] == 0);
    assert_true(ang[0] == 0 && ang[1] == 0);
    au_face_outputs_free(&fo);

    /* inner and left eye */
    m.n_parts = 2;
    m.eye_model = 1;
    assert_int_equal(au_face_outputs_init(&fo, &m, &err), AU_OK);
    assert_int_equal(fo.n_eye_points, 28);
    assert_int_equal(fo.gaze_part[0], 1);
    assert_int_equal(fo.gaze_part[1], -1);
    assert_int_equal(au_face_eye_landmarks_3d(&fo, &f->clnf, &cam, eye3), 28);
    assert_int_equal(au_face_gaze(&fo, &f->clnf, &cam, pose, xyz, ge, ang), 1);
    float half[3], want[2];
    for (int j = 0; j < 3; j++) {
        assert_true(ge[0].gaze[j] == full[0].gaze[j]);
        assert_true(ge[1].gaze[j] == 0);
        half[j] = 0;
    }
    au_gaze_angle(full[0].gaze, half, want);
    assert_true(ang[0] == want[0] && ang[1] == want[1]);
    au_face_outputs_free(&fo);
    au_face_outputs_free(&fo); /* freeing twice is harmless: it leaves a zeroed context */

    refcsv_free(&fr);
    refcsv_free(&mh);
    refcsv_free(&eyes[0]);
    refcsv_free(&eyes[1]);
}

/* Models the outputs cannot serve are refused with a message, and the
 * context is left zeroed (nothing leaks; ASan checks). */
static void test_bad_models(void **state)
{
    Fixture *f = *state;
    AuError err = {0};
    AuFaceOutputs fo;

    AuClnfModel m = f->model;
    m.pdm.n_points = 40; /* fewer points than the 68-point layout's eye corners need */
    assert_int_equal(au_face_outputs_init(&fo, &m, &err), AU_ERR_ARG);
    assert_non_null(strstr(err.msg, "40 points"));
    assert_null(fo.eye_parts);
    assert_null(fo.part_work);

    /* an eye part with fewer than the 8 iris points: a copy of the part list
     * whose right eye points at a model with a 6-point PDM */
    AuClnfPart parts[3];
    memcpy(parts, f->model.parts, sizeof(parts));
    AuClnfModel small_eye = *f->model.parts[2].model;
    small_eye.pdm.n_points = 6;
    parts[2].model = &small_eye;
    m = f->model;
    m.parts = parts;
    memset(&err, 0, sizeof(err));
    assert_int_equal(au_face_outputs_init(&fo, &m, &err), AU_ERR_ARG);
    assert_non_null(strstr(err.msg, "right_eye_28"));
    assert_null(fo.part_work);
    assert_null(fo.face3d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_camera_intrinsics),
        cmocka_unit_test(test_eye_parts),
        cmocka_unit_test(test_videos),
        cmocka_unit_test(test_images),
        cmocka_unit_test(test_missing_eye_parts),
        cmocka_unit_test(test_bad_models),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
