/* Integration: `auharness extract` on still images (FaceLandmarkImg mode),
 * end to end through the program:
 * - -fdir on a folder of reference LFPW crops (one with two faces) and a
 *   file that is not an image: the bad file is named and fails on its own,
 *   every other image's CSV is byte-identical to OpenFace's own
 *   (`FaceLandmarkImg ... -2Dfp`), the exit status is 1;
 * - -f on a PNG (300-W indoor, full image) with every column group: the
 *   header FaceLandmarkImg writes by default and landmarks near the labels;
 * - an image without a face (a flat BMP): no CSV, as FaceLandmarkImg, and no
 *   failure; an unknown variant is refused. */
#include "autest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "metrics.h"
#include "openface_csv.h"
#include "pts.h"

static int run(const char *args, const char *log)
{
    char cmd[8192];
    snprintf(cmd, sizeof(cmd), "'%s' extract %s > '%s' 2>&1", AUHARNESS_BIN, args, log);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static char *read_text(const char *path)
{
    unsigned char *data;
    size_t n;
    if (autest_read_file(path, &data, &n))
        fail_msg("cannot read %s", path);
    char *s = malloc(n + 1);
    memcpy(s, data, n);
    s[n] = '\0';
    free(data);
    return s;
}

static void test_fdir_2dfp_byte_identical(void **state)
{
    (void)state;
    static const char *stems[] = {"lfpw_test_image_0001", "lfpw_test_image_0044" /* two faces */,
                                  "lfpw_test_image_0100", "lfpw_test_image_0200"};
    const int n = (int)(sizeof(stems) / sizeof(stems[0]));
    char tmp[1024], dir[1100], src[2048], dst[2048], args[4096], log[1100];
    autest_mkdtemp(tmp, sizeof(tmp));
    snprintf(dir, sizeof(dir), "%s/in", tmp);
    snprintf(log, sizeof(log), "%s/log.txt", tmp);
    char mk[1200];
    snprintf(mk, sizeof(mk), "mkdir -p '%s'", dir);
    assert_int_equal(system(mk), 0);
    for (int i = 0; i < n; i++) {
        snprintf(src, sizeof(src), "%s/datasets/300w_lfpw_test_crops/%s.jpg", autest_data_dir(), stems[i]);
        snprintf(dst, sizeof(dst), "%s/%s.jpg", dir, stems[i]);
        autest_require_file(src);
        assert_int_equal(symlink(src, dst), 0);
    }
    /* sorted first, so the images after it show the run goes on */
    snprintf(dst, sizeof(dst), "%s/aaa_not_an_image.jpg", dir);
    autest_write_file(dst, "this is not an image\n", 21);
    /* files without an image extension are not inputs (as ImageCapture) */
    snprintf(dst, sizeof(dst), "%s/notes.txt", dir);
    autest_write_file(dst, "ignored\n", 8);

    snprintf(args, sizeof(args), "-fdir '%s' -out_dir '%s/out' --models '%s/openface/models' -2Dfp", dir, tmp,
             autest_data_dir());
    int rc = run(args, log);
    char *text = read_text(log);
    if (rc != 1)
        fprintf(stderr, "%s", text);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(text, "aaa_not_an_image.jpg"));
    assert_non_null(strstr(text, "1 of 5 inputs failed"));
    assert_null(strstr(text, "notes.txt"));
    free(text);
    snprintf(dst, sizeof(dst), "%s/out/aaa_not_an_image.csv", tmp);
    assert_int_not_equal(access(dst, F_OK), 0);
    for (int i = 0; i < n; i++) {
        unsigned char *a, *b;
        size_t na, nb;
        snprintf(src, sizeof(src), "%s/openface/reference/300w_lfpw_test_crops/%s.csv", autest_data_dir(), stems[i]);
        snprintf(dst, sizeof(dst), "%s/out/%s.csv", tmp, stems[i]);
        assert_int_equal(autest_read_file(src, &a, &na), 0);
        assert_int_equal(autest_read_file(dst, &b, &nb), 0);
        if (na != nb || memcmp(a, b, na) != 0)
            fail_msg("%s differs from OpenFace's CSV (%zu vs %zu bytes)", dst, nb, na);
        free(a);
        free(b);
    }
    /* the same through -f, a missing file first */
    snprintf(args, sizeof(args), "-f '%s/missing.png' -f '%s/%s.jpg' -out_dir '%s/out2' -2Dfp", tmp, dir, stems[1],
             tmp);
    rc = run(args, log);
    text = read_text(log);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(text, "missing.png"));
    free(text);
    snprintf(dst, sizeof(dst), "%s/out2/%s.csv", tmp, stems[1]);
    autest_require_file(dst);
    autest_rmtree(tmp);
}

static void test_png_all_columns(void **state)
{
    (void)state;
    char tmp[1024], args[4096], log[1100], path[2048];
    autest_mkdtemp(tmp, sizeof(tmp));
    snprintf(log, sizeof(log), "%s/log.txt", tmp);
    snprintf(args, sizeof(args), "-f '%s/datasets/300w_indoor_sample/indoor_002.png' -out_dir '%s'", autest_data_dir(),
             tmp);
    int rc = run(args, log);
    if (rc) {
        char *text = read_text(log);
        fprintf(stderr, "%s", text);
        free(text);
    }
    assert_int_equal(rc, 0);
    snprintf(path, sizeof(path), "%s/indoor_002.csv", tmp);
    AuhOfCsv csv;
    AuError err = {0};
    if (auh_of_csv_read(&csv, path, &err))
        fail_msg("%s", err.msg);
    /* FaceLandmarkImg's default columns: face, confidence, 8 gaze, 280 eye
     * landmarks, 6 pose, 136 + 204 landmarks, 40 parameters, 17 + 18 AUs */
    assert_int_equal(csv.n_cols, 2 + 8 + 280 + 6 + 136 + 204 + 40 + 17 + 18);
    assert_int_equal(csv.layout.is_sequence, 0);
    assert_string_equal(csv.names[0], "face");
    assert_string_equal(csv.names[2], "gaze_0_x");
    assert_string_equal(csv.names[csv.n_cols - 1], "AU45_c");
    assert_int_equal((int)csv.n_rows, 1);
    /* a validated face close to the human labels (measured NME 0.042) */
    assert_true(auh_of_csv_confidence(&csv, 0) > 0.9);
    AuhPts pts = {0};
    snprintf(path, sizeof(path), "%s/datasets/300w_indoor_sample/indoor_002.pts", autest_data_dir());
    if (auh_pts_read(&pts, path, &err))
        fail_msg("%s", err.msg);
    double label[136], pred[136];
    for (int k = 0; k < 68; k++) {
        label[k] = pts.x[k] - 1;
        label[68 + k] = pts.y[k] - 1;
        pred[k] = auh_of_csv_landmark_x(&csv, 0, k);
        pred[68 + k] = auh_of_csv_landmark_y(&csv, 0, k);
    }
    double nme = auh_lmk_nme(pred, label, 68);
    printf("indoor_002.png: NME %.4f\n", nme);
    assert_true(nme < 0.06);
    /* static AUs: intensities clipped to [0, 5], presences 0 or 1 */
    for (int c = csv.col_au_reg0; c < csv.n_cols; c++) {
        double v = auh_of_csv_get(&csv, 0, c);
        assert_true(v >= 0 && v <= 5);
        if (c >= csv.col_au_class0)
            assert_true(v == 0 || v == 1);
    }
    auh_pts_free(&pts);
    auh_of_csv_free(&csv);
    autest_rmtree(tmp);
}

/* A 64 x 64 flat gray 24-bit BMP. */
static void write_flat_bmp(const char *path)
{
    enum { W = 64, H = 64, ROW = W * 3, SIZE = 54 + ROW * H };
    unsigned char *b = calloc(1, SIZE);
    b[0] = 'B';
    b[1] = 'M';
    uint32_t v[] = {SIZE, 0, 54, 40, W, H};
    int off[] = {2, 6, 10, 14, 18, 22};
    for (int i = 0; i < 6; i++)
        for (int k = 0; k < 4; k++)
            b[off[i] + k] = (unsigned char)(v[i] >> (8 * k));
    b[26] = 1;  /* planes */
    b[28] = 24; /* bits per pixel */
    memset(b + 54, 128, ROW * H);
    autest_write_file(path, b, SIZE);
    free(b);
}

static void test_no_face_and_bad_variant(void **state)
{
    (void)state;
    char tmp[1024], args[4096], log[1100], img[1100], path[2048];
    autest_mkdtemp(tmp, sizeof(tmp));
    snprintf(log, sizeof(log), "%s/log.txt", tmp);
    snprintf(img, sizeof(img), "%s/flat.bmp", tmp);
    write_flat_bmp(img);
    snprintf(args, sizeof(args), "-f '%s' -out_dir '%s/out'", img, tmp);
    assert_int_equal(run(args, log), 0);
    char *text = read_text(log);
    assert_non_null(strstr(text, "flat.bmp: no face detected"));
    free(text);
    snprintf(path, sizeof(path), "%s/out/flat.csv", tmp);
    assert_int_not_equal(access(path, F_OK), 0);
    snprintf(args, sizeof(args), "-f '%s' -out_dir '%s/out' --variant no_such_variant", img, tmp);
    assert_int_equal(run(args, log), 2);
    text = read_text(log);
    assert_non_null(strstr(text, "no_such_variant"));
    free(text);
    autest_rmtree(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fdir_2dfp_byte_identical),
        cmocka_unit_test(test_png_all_columns),
        cmocka_unit_test(test_no_face_and_bad_variant),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
