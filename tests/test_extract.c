/* Integration: `auharness extract` on both reference videos, end to end (our
 * MTCNN, CLNF tracking, validator, AUs, post-processing, CSV writer), against
 * OpenFace C++'s CSVs: the same header and row count; every column equal as
 * printed, gaze included. */
#include "autest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openface_csv.h"

static void check(const char *tmp, const char *name)
{
    char ours[2048], ref[2048];
    snprintf(ours, sizeof(ours), "%s/%s.csv", tmp, name);
    snprintf(ref, sizeof(ref), "%s/openface/reference/%s.csv", autest_data_dir(), name);
    AuhOfCsv a, b;
    AuError err = {0};
    if (auh_of_csv_read(&a, ours, &err) || auh_of_csv_read(&b, ref, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(a.n_cols, b.n_cols);
    assert_int_equal((int)a.n_rows, (int)b.n_rows);
    long differ = 0;
    double max_gaze = 0;
    for (int c = 0; c < a.n_cols; c++) {
        assert_string_equal(a.names[c], b.names[c]);
        int is_gaze = !strncmp(a.names[c], "gaze_", 5);
        for (size_t r = 0; r < a.n_rows; r++) {
            double d = fabs(auh_of_csv_get(&a, r, c) - auh_of_csv_get(&b, r, c));
            if (is_gaze)
                max_gaze = fmax(max_gaze, d);
            else if (d > 1e-9) {
                if (differ < 5)
                    fprintf(stderr, "%s row %zu %s: %g vs %g\n", name, r + 1, a.names[c], auh_of_csv_get(&a, r, c),
                            auh_of_csv_get(&b, r, c));
                differ++;
            }
        }
    }
    printf("%s: %zu rows x %d columns; cells differing from OpenFace (gaze aside): %ld; max gaze diff %.2g\n", name,
           a.n_rows, a.n_cols, differ, max_gaze);
    assert_int_equal(differ, 0);
    assert_true(max_gaze <= 1e-9);
    auh_of_csv_free(&a);
    auh_of_csv_free(&b);
}

static void test_extract_videos(void **state)
{
    (void)state;
    char tmp[1024], cmd[8192];
    autest_mkdtemp(tmp, sizeof(tmp));
    snprintf(cmd, sizeof(cmd), "'%s' extract -f '%s/openface/videos/default.wmv' -f '%s/openface/videos/changeLighting.wmv' "
                               "-out_dir '%s' --models '%s/openface/models' > '%s/log.txt' 2>&1",
             AUHARNESS_BIN, autest_data_dir(), autest_data_dir(), tmp, autest_data_dir(), tmp);
    int rc = system(cmd);
    if (rc != 0) {
        snprintf(cmd, sizeof(cmd), "cat '%s/log.txt' >&2", tmp);
        (void)system(cmd);
        fail_msg("extract failed (status %d)", rc);
    }
    check(tmp, "default");
    check(tmp, "changeLighting");
    autest_rmtree(tmp);
}

/* OpenFace's output flags choose the column groups: -2Dfp -aus gives the
 * ids, the 2D landmarks and the post-processed AUs, each column equal to the
 * full reference CSV's. */
static void test_extract_video_flags(void **state)
{
    (void)state;
    char tmp[1024], cmd[8192], path[2048];
    autest_mkdtemp(tmp, sizeof(tmp));
    snprintf(cmd, sizeof(cmd), "'%s' extract -f '%s/openface/videos/changeLighting.wmv' -out_dir '%s' -2Dfp -aus "
                               "> '%s/log.txt' 2>&1",
             AUHARNESS_BIN, autest_data_dir(), tmp, tmp);
    assert_int_equal(system(cmd), 0);
    AuhOfCsv a, b;
    AuError err = {0};
    snprintf(path, sizeof(path), "%s/changeLighting.csv", tmp);
    if (auh_of_csv_read(&a, path, &err))
        fail_msg("%s", err.msg);
    snprintf(path, sizeof(path), "%s/openface/reference/changeLighting.csv", autest_data_dir());
    if (auh_of_csv_read(&b, path, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(a.n_cols, 5 + 136 + 17 + 18);
    assert_int_equal(a.col_gaze, -1);
    assert_int_equal(a.col_X0, -1);
    assert_int_equal(a.col_p0, -1);
    assert_int_equal((int)a.n_rows, (int)b.n_rows);
    for (int c = 0; c < a.n_cols; c++) {
        int cb = auh_of_csv_column(&b, a.names[c]);
        assert_true(cb >= 0);
        for (size_t r = 0; r < a.n_rows; r++)
            assert_true(auh_of_csv_get(&a, r, c) == auh_of_csv_get(&b, r, cb));
    }
    auh_of_csv_free(&a);
    auh_of_csv_free(&b);
    autest_rmtree(tmp);
}

static void test_extract_bad_inputs(void **state)
{
    (void)state;
    char tmp[1024], cmd[8192], bad[1100];
    autest_mkdtemp(tmp, sizeof(tmp));
    snprintf(bad, sizeof(bad), "%s/not_a_video.avi", tmp);
    autest_write_file(bad, "this is not a video\n", 20);
    /* one bad input fails its job, the good one is still written */
    snprintf(cmd, sizeof(cmd), "'%s' extract -f '%s' -f '%s/openface/videos/changeLighting.wmv' -out_dir '%s/out' "
                               "> '%s/log.txt' 2>&1",
             AUHARNESS_BIN, bad, autest_data_dir(), tmp, tmp);
    int rc = system(cmd);
    assert_int_not_equal(rc, 0);
    char path[2048];
    snprintf(path, sizeof(path), "%s/out/changeLighting.csv", tmp);
    autest_require_file(path);
    unsigned char *log;
    size_t n;
    snprintf(path, sizeof(path), "%s/log.txt", tmp);
    assert_int_equal(autest_read_file(path, &log, &n), 0);
    assert_non_null(strstr((char *)log, "not_a_video.avi"));
    free(log);
    /* a missing models folder names the file it looked for */
    snprintf(cmd, sizeof(cmd), "'%s' extract -f '%s' -out_dir '%s/out' --models /nonexistent > '%s/log2.txt' 2>&1",
             AUHARNESS_BIN, bad, tmp, tmp);
    assert_int_not_equal(system(cmd), 0);
    snprintf(path, sizeof(path), "%s/log2.txt", tmp);
    assert_int_equal(autest_read_file(path, &log, &n), 0);
    assert_non_null(strstr((char *)log, "/nonexistent/model/main_clnf_general.txt"));
    free(log);
    autest_rmtree(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_extract_videos),
        cmocka_unit_test(test_extract_video_flags),
        cmocka_unit_test(test_extract_bad_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
