/* MTCNN detection against OpenFace: the final boxes (after OpenFace's
 * landmark-fitting correction) on frame 1 of both reference videos and on
 * three 300-W images, and the single-face choice of the video detector. */
#include "autest.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "models.h"
#include "mtcnn.h"
#include "refcsv.h"
#include "video.h"

static AuMtcnnModel g_model;

static int setup(void **state)
{
    (void)state;
    char path[1024];
    AuError err = {0};
    if (au_mtcnn_model_load(&g_model, autest_path(path, sizeof(path), "openface/models/model/mtcnn_detector/MTCNN_detector.txt"), &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    au_mtcnn_model_free(&g_model);
    return 0;
}

/* Compares the detections on the first frame of input with the `final` rows
 * of mtcnn_boxes.csv for that frame/image. */
static void check(const char *input_rel, const char *ref_dir, int frame)
{
    char path[2048];
    AuError err = {0};
    AuVideo *v;
    assert_int_equal(au_video_open(&v, autest_path(path, sizeof(path), input_rel), &err), AU_OK);
    AuFrame f = {0};
    assert_int_equal(au_video_read(v, &f, &err), AU_OK);
    AuMtcnn d;
    au_mtcnn_init(&d, &g_model);
    const AuMtcnnBox *faces;
    int n;
    assert_int_equal(au_mtcnn_detect(&d, &f.bgr, 60, 0.6f, 0.7f, 0.7f, &faces, &n, &err), AU_OK);
    RefCsv ref;
    snprintf(path, sizeof(path), "%s/openface/reference/intermediates/%s/mtcnn_boxes.csv", autest_data_dir(), ref_dir);
    refcsv_load(&ref, path);
    int c_stage = refcsv_col_req(&ref, "stage"), c_frame = refcsv_col_req(&ref, "frame");
    int n_ref = 0;
    double max_box = 0, max_score = 0;
    for (int r = 0; r < ref.n_rows; r++) {
        if (strcmp(refcsv_str(&ref, r, c_stage), "final") || (int)refcsv_num(&ref, r, c_frame) != frame)
            continue;
        assert_true(n_ref < n);
        const AuMtcnnBox *b = &faces[n_ref];
        double dx = fabs(b->x - refcsv_get(&ref, r, "x")), dy = fabs(b->y - refcsv_get(&ref, r, "y"));
        double dw = fabs(b->w - refcsv_get(&ref, r, "w")), dh = fabs(b->h - refcsv_get(&ref, r, "h"));
        double m = fmax(fmax(dx, dy), fmax(dw, dh));
        max_box = fmax(max_box, m);
        max_score = fmax(max_score, fabs(b->score - refcsv_get(&ref, r, "score")));
        n_ref++;
    }
    printf("%s: %d faces (OpenFace %d), max box diff %.3g px, max score diff %.3g\n", input_rel, n, n_ref, max_box,
           max_score);
    assert_int_equal(n, n_ref);
    assert_true(max_box < 1e-3);
    assert_true(max_score < 1e-6);
    refcsv_free(&ref);
    au_mtcnn_free(&d);
    au_frame_free(&f);
    au_video_close(v);
}

static void test_videos(void **state)
{
    (void)state;
    check("openface/videos/changeLighting.wmv", "changeLighting", 1);
    check("openface/videos/default.wmv", "default", 1);
}

static void test_images(void **state)
{
    (void)state;
    char rel[128];
    for (int i = 1; i <= 3; i++) {
        snprintf(rel, sizeof(rel), "datasets/300w_lfpw_test_crops/lfpw_test_image_%04d.jpg", i);
        check(rel, "images", i);
    }
}

static void test_no_face(void **state)
{
    (void)state;
    AuImageU8 img;
    AuError err = {0};
    assert_int_equal(au_image_u8_alloc(&img, 320, 240, 3, &err), AU_OK);
    memset(img.data, 128, img.stride * 240);
    AuMtcnn d;
    au_mtcnn_init(&d, &g_model);
    int found = 1;
    AuRectF box;
    float conf;
    assert_int_equal(au_mtcnn_detect_single(&d, &img, &found, &box, &conf, &err), AU_OK);
    assert_int_equal(found, 0);
    au_mtcnn_free(&d);
    au_image_u8_free(&img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_videos),
        cmocka_unit_test(test_images),
        cmocka_unit_test(test_no_face),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
