/* GazeAnalysis::EstimateGaze and GetGazeAngle (core/gaze.c) against
 * OpenFace's own values: every EstimateGaze call of both videos
 * (reference/intermediates/<video>/gaze_internal.csv, one row per eye and
 * frame, with the pupil, ray, eyeball centre, axis and gaze it computed) fed
 * with the inputs OpenFace had (its pose from the same rows, its 3D face
 * landmarks from pose_shape3d.csv and its 3D eye landmarks from gaze.csv),
 * and the gaze angles of gaze.csv. The CSVs print float32 values with %.9g,
 * so they read back exactly, and every value is required to match bit for
 * bit. Plus hand-computed cases for the geometry and OpenFace's
 * no-intersection answer. */
#include "autest.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gaze.h"
#include "refcsv.h"

static const char *const VIDEOS[] = {"changeLighting", "default"};

static void load_csv(RefCsv *c, const char *dir, const char *file)
{
    char rel[512], path[1024];
    snprintf(rel, sizeof(rel), "openface/reference/intermediates/%s/%s", dir, file);
    autest_path(path, sizeof(path), rel);
    autest_require_file(path);
    refcsv_load(c, path);
}

static int find_frame(const RefCsv *c, int frame)
{
    int fc = refcsv_col_req(c, "frame");
    for (int r = 0; r < c->n_rows; r++)
        if ((int)refcsv_num(c, r, fc) == frame)
            return r;
    fail_msg("frame %d not found", frame);
    return -1;
}

/* A float32 cell (printed with %.9g: the conversion gives the float back). */
static float cell_f(const RefCsv *c, int row, const char *name)
{
    return (float)refcsv_get(c, row, name);
}

typedef struct Count {
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

static void test_estimate_gaze_videos(void **state)
{
    (void)state;
    static const char *const stage[5] = {"pupil", "ray", "eyeball", "axis", "gaze"};
    static const char *const pose_col[6] = {"pose_Tx", "pose_Ty", "pose_Tz", "pose_Rx", "pose_Ry", "pose_Rz"};
    Count k[5] = {{0}}, ka = {0}, kc = {0};
    long calls = 0;
    for (int v = 0; v < 2; v++) {
        RefCsv gi, gz, ps;
        load_csv(&gi, VIDEOS[v], "gaze_internal.csv");
        load_csv(&gz, VIDEOS[v], "gaze.csv");
        load_csv(&ps, VIDEOS[v], "pose_shape3d.csv");
        int eye_col = refcsv_col_req(&gi, "eye");
        AuGazeEye pair[2];
        int have[2] = {0, 0}, pair_frame = -1;
        char cn[48];
        for (int r = 0; r < gi.n_rows; r++) {
            int frame = (int)refcsv_get(&gi, r, "frame");
            const char *eye = refcsv_str(&gi, r, eye_col);
            int left = !strcmp(eye, "left");
            assert_true(left || !strcmp(eye, "right"));
            int pr = find_frame(&ps, frame), gr = find_frame(&gz, frame);
            /* EstimateGaze runs only on successful frames. */
            assert_int_equal((int)refcsv_get(&gz, gr, "success"), 1);
            float pose[6], face[3 * 68], eye3d[3 * 28];
            for (int j = 0; j < 6; j++)
                pose[j] = cell_f(&gi, r, pose_col[j]);
            for (int j = 0; j < 3; j++)
                for (int i = 0; i < 68; i++) {
                    snprintf(cn, sizeof(cn), "%c_%d", "XYZ"[j], i);
                    face[j * 68 + i] = cell_f(&ps, pr, cn);
                }
            /* gaze.csv: the left eye's 28 points, then the right eye's. */
            for (int j = 0; j < 3; j++)
                for (int i = 0; i < 28; i++) {
                    snprintf(cn, sizeof(cn), "eye_lmk_%c_%d", "XYZ"[j], i + (left ? 0 : 28));
                    eye3d[j * 28 + i] = cell_f(&gz, gr, cn);
                }
            AuGazeEye o;
            au_gaze_estimate_eye(eye3d, 28, face, 68, pose, left, &o);
            const float *got[5] = {o.pupil, o.ray, o.eyeball, o.axis, o.gaze};
            for (int s = 0; s < 5; s++)
                for (int j = 0; j < 3; j++) {
                    snprintf(cn, sizeof(cn), "%s_%c", stage[s], "xyz"[j]);
                    count(&k[s], got[s][j], cell_f(&gi, r, cn));
                }
            /* The CSV's gaze_0 (left) / gaze_1 (right) are the same vectors. */
            for (int j = 0; j < 3; j++) {
                snprintf(cn, sizeof(cn), "gaze_%d_%c", left ? 0 : 1, "xyz"[j]);
                count(&kc, o.gaze[j], cell_f(&gz, gr, cn));
            }
            calls++;
            if (frame != pair_frame)
                have[0] = have[1] = 0;
            pair_frame = frame;
            pair[left ? 0 : 1] = o;
            have[left ? 0 : 1] = 1;
            if (have[0] && have[1]) {
                float ang[2];
                au_gaze_angle(pair[0].gaze, pair[1].gaze, ang);
                count(&ka, ang[0], cell_f(&gz, gr, "gaze_angle_x"));
                count(&ka, ang[1], cell_f(&gz, gr, "gaze_angle_y"));
                have[0] = have[1] = 0;
            }
        }
        refcsv_free(&gi);
        refcsv_free(&gz);
        refcsv_free(&ps);
    }
    /* 88 + 288 frames, two eyes each */
    assert_int_equal(calls, 2 * (88 + 288));
    for (int s = 0; s < 5; s++) {
        print_message("  %-8s %ld of %ld values bit-exact (max |diff| %.3g)\n", stage[s], k[s].exact, k[s].n, k[s].max);
        assert_int_equal(k[s].exact, k[s].n);
    }
    print_message("  gaze.csv %ld of %ld values bit-exact (max |diff| %.3g)\n", kc.exact, kc.n, kc.max);
    assert_int_equal(kc.exact, kc.n);
    print_message("  angles   %ld of %ld values bit-exact (max |diff| %.3g)\n", ka.exact, ka.n, ka.max);
    assert_int_equal(ka.n, 2 * (88 + 288));
    assert_int_equal(ka.exact, ka.n);
}

/* A frontal head (zero rotation), the pupil straight ahead of an eyeball
 * centred at (0, 0, 300): every step is exact in float. The eye corners
 * (0, 3.5, 293) +- (5, 0, 0) average to (0, 3.5, 293); adding the rotated
 * offset (0, -3.5, 7) gives (0, 0, 300). The camera ray (0, 0, 1) meets the
 * 12 mm sphere first at z = 288 (a = 1, b = -600, c = 300^2 - 144, disc
 * = 576, t = (600 - 24) / 2), so the axis is (0, 0, -12) and the gaze
 * (0, 0, -1), looking straight into the camera. */
static void set_face_corners(float *face, int a, int b)
{
    memset(face, 0, 3 * 68 * sizeof(float));
    face[a] = -5, face[b] = 5;
    face[68 + a] = face[68 + b] = 3.5f;
    face[136 + a] = face[136 + b] = 293;
}

static void test_estimate_gaze_frontal(void **state)
{
    (void)state;
    float face[3 * 68], eye[3 * 28], pose[6] = {1, 2, 300, 0, 0, 0};
    for (int i = 0; i < 28; i++) {
        /* the 8 iris points around the pupil (0, 0, 288); the others far away */
        float dx = i < 8 ? (float)((i % 4) - 1.5) : 1000, dy = i < 8 ? (i < 4 ? 1.0f : -1.0f) : 1000;
        eye[i] = dx, eye[28 + i] = dy, eye[56 + i] = i < 8 ? 288 : -1000;
    }
    for (int left = 0; left < 2; left++) {
        /* each eye uses its own corners: 36/39 (left), 42/45 (right) */
        set_face_corners(face, left ? 36 : 42, left ? 39 : 45);
        AuGazeEye o;
        au_gaze_estimate_eye(eye, 28, face, 68, pose, left, &o);
        const float want_pupil[3] = {0, 0, 288}, want_ray[3] = {0, 0, 1}, want_ball[3] = {0, 0, 300},
                    want_axis[3] = {0, 0, -12}, want_gaze[3] = {0, 0, -1};
        for (int j = 0; j < 3; j++) {
            assert_true(o.pupil[j] == want_pupil[j]);
            assert_true(o.ray[j] == want_ray[j]);
            assert_true(o.eyeball[j] == want_ball[j]);
            assert_true(o.axis[j] == want_axis[j]);
            assert_true(o.gaze[j] == want_gaze[j]);
        }
        /* the other eye's corners are zero: the centre moves to (0, -3.5, 7) */
        au_gaze_estimate_eye(eye, 28, face, 68, pose, !left, &o);
        assert_true(o.eyeball[0] == 0 && o.eyeball[1] == -3.5f && o.eyeball[2] == 7);
    }
}

/* A pupil far to the side: the camera ray misses the eyeball sphere and
 * OpenFace's RaySphereIntersect returns the point (0, 0, -1), so the axis is
 * (0, 0, -1) - (0, 0, 300) and the gaze (0, 0, -1). */
static void test_estimate_gaze_ray_misses(void **state)
{
    (void)state;
    float face[3 * 68], eye[3 * 28], pose[6] = {0};
    set_face_corners(face, 36, 39);
    for (int i = 0; i < 28; i++)
        eye[i] = 300, eye[28 + i] = 0, eye[56 + i] = 1;
    AuGazeEye o;
    au_gaze_estimate_eye(eye, 28, face, 68, pose, 1, &o);
    assert_true(o.axis[0] == 0 && o.axis[1] == 0 && o.axis[2] == -301);
    assert_true(o.gaze[0] == 0 && o.gaze[1] == 0 && o.gaze[2] == -1);
}

/* GetGazeAngle of (0.6, 0, -0.8) and (0.2, 0.3, -0.9): the mean (0.4, 0.15,
 * -0.85) in float, then atan2 in double of the floats, rounded to float.
 * Expected values from Python: struct-rounded float32 inputs, math.atan2,
 * rounded to float32 and printed with %.9g. */
static void test_gaze_angle(void **state)
{
    (void)state;
    const float g0[3] = {0.6f, 0.0f, -0.8f}, g1[3] = {0.2f, 0.3f, -0.9f};
    float a[2];
    au_gaze_angle(g0, g1, a);
    assert_true(a[0] == 0.439842582f);
    assert_true(a[1] == 0.174672201f);
    /* looking straight into the camera: both angles 0 */
    const float s[3] = {0, 0, -1};
    au_gaze_angle(s, s, a);
    assert_true(a[0] == 0 && a[1] == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_estimate_gaze_videos),
        cmocka_unit_test(test_estimate_gaze_frontal),
        cmocka_unit_test(test_estimate_gaze_ray_misses),
        cmocka_unit_test(test_gaze_angle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
