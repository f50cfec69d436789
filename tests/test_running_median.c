/* The histogram running median against OpenFace's own medians
 * (intermediates/<video>/fa_hog_median.f64, fa_geom_median.csv and
 * fa_final_median_*.csv), fed with exactly the descriptors OpenFace used
 * (changeLighting.hog, fa_geom.csv) on OpenFace's schedule (update when
 * frames_tracking is odd, add only successful frames), plus the corner cases
 * of UpdateRunningMedian that the videos do not reach. */
#include "autest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "refcsv.h"
#include "refhog.h"
#include "running_median.h"

#define HOG_LEN 4464
#define GEOM_LEN 238

static void init_ok(AuRunningMedian *rm, int dim, int bins, double lo, double hi)
{
    AuError err = {0};
    if (au_running_median_init(rm, dim, bins, lo, hi, &err))
        fail_msg("%s", err.msg);
}

static void init_hog(AuRunningMedian *rm)
{
    init_ok(rm, HOG_LEN, AU_RUNNING_MEDIAN_HOG_BINS, AU_RUNNING_MEDIAN_HOG_MIN, AU_RUNNING_MEDIAN_HOG_MAX);
}

static void init_geom(AuRunningMedian *rm)
{
    init_ok(rm, GEOM_LEN, AU_RUNNING_MEDIAN_GEOM_BINS, AU_RUNNING_MEDIAN_GEOM_MIN, AU_RUNNING_MEDIAN_GEOM_MAX);
}

static const char *ref_path(char *buf, size_t n, const char *video, const char *file)
{
    char rel[256];
    snprintf(rel, sizeof(rel), "openface/reference/intermediates/%s/%s", video, file);
    return autest_path(buf, n, rel);
}

/* Bins and bin centres on hand-computed values. */
static void test_bins(void **state)
{
    (void)state;
    AuRunningMedian rm;
    init_hog(&rm);
    /* (x + 0.005) * 1000 / 1.005: 0 -> 4.975 (bin 4); 0.2 -> 203.98 (203);
     * 0.995 -> 995.02 (995); 1 -> 1000 (capped at 999); below -0.005 -> 0. */
    assert_int_equal(au_running_median_bin(&rm, 0.0), 4);
    assert_int_equal(au_running_median_bin(&rm, 0.2), 203);
    assert_int_equal(au_running_median_bin(&rm, 0.995), 995);
    assert_int_equal(au_running_median_bin(&rm, 1.0), 999);
    assert_int_equal(au_running_median_bin(&rm, 7.0), 999);
    assert_int_equal(au_running_median_bin(&rm, -0.5), 0);
    assert_int_equal(au_running_median_bin(&rm, NAN), 0);
    au_running_median_free(&rm);

    init_geom(&rm);
    /* (x + 60) * 10000 / 120: 0 -> 5000; -60 -> 0; 59.99 -> 9999.17 (9999); 1e9 -> 9999. */
    assert_int_equal(au_running_median_bin(&rm, 0.0), 5000);
    assert_int_equal(au_running_median_bin(&rm, -60.0), 0);
    assert_int_equal(au_running_median_bin(&rm, 59.99), 9999);
    assert_int_equal(au_running_median_bin(&rm, 1e9), 9999);
    assert_int_equal(au_running_median_bin(&rm, -1e9), 0);
    au_running_median_free(&rm);
}

/* UpdateRunningMedian's sequence on a 1-dimensional geometry-like median,
 * including the calls without adding (failed frames). */
static void test_update_rules(void **state)
{
    (void)state;
    AuRunningMedian rm;
    init_ok(&rm, 1, 10000, -60.0, 60.0);
    double d;
    /* Nothing added (a failed first frame): count 0 -> cutoff 0, bin 0's centre. */
    d = 3.0;
    au_running_median_update(&rm, &d, 0);
    assert_int_equal(rm.count, 0);
    assert_true(rm.median[0] == -60.0 + 0.0 * (120.0 / 10000) + 0.5 * 120.0 / 10000);
    d = 4.0;
    au_running_median_update(&rm, &d, 0);
    assert_true(rm.median[0] == -60.0 + 0.5 * 120.0 / 10000);
    /* One descriptor added: the median is that descriptor itself. */
    d = 1.0;
    au_running_median_update(&rm, &d, 1);
    assert_int_equal(rm.count, 1);
    assert_true(rm.median[0] == 1.0);
    /* Count still 1 and a failed frame's descriptor comes in: OpenFace copies it. */
    d = 0.0;
    au_running_median_update(&rm, &d, 0);
    assert_true(rm.median[0] == 0.0);
    /* Two added (1.0 in bin 5083, 2.0 in bin 5166): cutoff (2+1)/2 = 1, the lower bin's centre. */
    d = 2.0;
    au_running_median_update(&rm, &d, 1);
    assert_int_equal(rm.count, 2);
    assert_true(rm.median[0] == -60.0 + 5083.0 * (120.0 / 10000) + 0.5 * 120.0 / 10000);
    /* Three added (5.0 in bin 5416): cutoff 2, the middle one. */
    d = 5.0;
    au_running_median_update(&rm, &d, 1);
    assert_true(rm.median[0] == -60.0 + 5166.0 * (120.0 / 10000) + 0.5 * 120.0 / 10000);
    /* Reset returns to the initial state. */
    au_running_median_reset(&rm);
    assert_int_equal(rm.count, 0);
    d = -7.0;
    au_running_median_update(&rm, &d, 1);
    assert_true(rm.median[0] == -7.0);
    au_running_median_free(&rm);
    au_running_median_free(&rm); /* twice is harmless */
}

static void test_clamp_negative(void **state)
{
    (void)state;
    AuRunningMedian rm;
    init_ok(&rm, 3, 1000, -0.005, 1.0);
    double d[3] = {-0.001, 0.0, 0.5};
    au_running_median_update(&rm, d, 1);
    au_running_median_clamp_negative(&rm);
    assert_true(rm.median[0] == 0.0);
    assert_true(rm.median[1] == 0.0);
    assert_true(rm.median[2] == 0.5);
    au_running_median_free(&rm);
}

static void test_init_errors(void **state)
{
    (void)state;
    AuRunningMedian rm;
    AuError err = {0};
    assert_int_equal(au_running_median_init(&rm, 0, 10, 0, 1, &err), AU_ERR_ARG);
    assert_non_null(strstr(err.msg, "running median"));
    assert_int_equal(au_running_median_init(&rm, 1, 0, 0, 1, &err), AU_ERR_ARG);
    assert_int_equal(au_running_median_init(&rm, 1, 10, 1, 1, &err), AU_ERR_ARG);
    assert_int_equal(au_running_median_init(&rm, 1, 10, 0, INFINITY, &err), AU_ERR_ARG);
    assert_int_equal(au_running_median_init(&rm, 1 << 30, 1 << 30, 0, 1, &err), AU_ERR_ARG);
    assert_null(rm.hist);
    au_running_median_free(&rm);
}

/* OpenFace's update schedule from fa_frames.csv: frames_tracking odd. */
static int schedule_update(const RefCsv *frames, int row)
{
    int ft = (int)refcsv_get(frames, row, "frames_tracking");
    int recomputed = (int)refcsv_get(frames, row, "median_recomputed");
    assert_int_equal(ft, row + 1);
    assert_int_equal(recomputed, ft % 2 == 1);
    return recomputed;
}

/* HOG median of changeLighting after every frame against fa_hog_median.f64. */
static void test_hog_median_changeLighting(void **state)
{
    (void)state;
    char path[1024];
    RefHog hog;
    refhog_load(&hog, autest_path(path, sizeof(path), "openface/reference/changeLighting_hog_aligned/changeLighting.hog"));
    assert_int_equal(hog.n_frames, 88);
    assert_int_equal(hog.len, HOG_LEN);
    RefCsv frames;
    refcsv_load(&frames, ref_path(path, sizeof(path), "changeLighting", "fa_frames.csv"));
    assert_int_equal(frames.n_rows, 88);
    size_t n_med;
    double *ref_med = refcsv_load_f64(ref_path(path, sizeof(path), "changeLighting", "fa_hog_median.f64"), &n_med);
    assert_int_equal(n_med, (size_t)88 * HOG_LEN);

    AuRunningMedian rm;
    init_hog(&rm);
    double desc[HOG_LEN];
    double max_diff = 0;
    long mismatches = 0;
    for (int f = 0; f < 88; f++) {
        int success = (int)refcsv_get(&frames, f, "success");
        assert_true(success == (hog.success[f] > 0));
        for (int i = 0; i < HOG_LEN; i++)
            desc[i] = (double)refhog_frame(&hog, f)[i];
        if (schedule_update(&frames, f)) {
            au_running_median_update(&rm, desc, success);
            au_running_median_clamp_negative(&rm);
        }
        assert_int_equal(rm.count, (int)refcsv_get(&frames, f, "hog_hist_count"));
        long off = (long)refcsv_get(&frames, f, "hog_median_offset");
        assert_int_equal(off, (long)f * HOG_LEN);
        for (int i = 0; i < HOG_LEN; i++) {
            double d = fabs(rm.median[i] - ref_med[off + i]);
            if (d > max_diff)
                max_diff = d;
            if (rm.median[i] != ref_med[off + i])
                mismatches++;
        }
    }
    print_message("changeLighting HOG median, 88 frames x 4464: max |diff| %.3g, %ld values differ\n", max_diff,
                  mismatches);
    assert_int_equal(mismatches, 0);

    /* The final median, as the offline re-prediction uses it. */
    RefCsv fin;
    refcsv_load(&fin, ref_path(path, sizeof(path), "changeLighting", "fa_final_median_hog.csv"));
    assert_int_equal((int)refcsv_get(&fin, 0, "n"), HOG_LEN);
    double final_ref[HOG_LEN];
    refcsv_vec(&fin, 0, "h_", HOG_LEN, final_ref);
    assert_memory_equal(final_ref, rm.median, sizeof(final_ref));
    /* Spot values of the final median, read from the CSV with a shell one-liner:
     * h_0 = 0.16635249999999996 (bin 170's centre), h_14 = 0 (clamped). */
    assert_true(rm.median[0] == 0.16635249999999996);
    assert_true(rm.median[14] == 0.0);

    refcsv_free(&fin);
    au_running_median_free(&rm);
    free(ref_med);
    refcsv_free(&frames);
    refhog_free(&hog);
}

/* Geometry median after every frame against fa_geom_median.csv. */
static void check_geom_median(const char *video, int n_frames)
{
    char path[1024];
    RefCsv geom, med, frames, fin;
    refcsv_load(&geom, ref_path(path, sizeof(path), video, "fa_geom.csv"));
    refcsv_load(&med, ref_path(path, sizeof(path), video, "fa_geom_median.csv"));
    refcsv_load(&frames, ref_path(path, sizeof(path), video, "fa_frames.csv"));
    refcsv_load(&fin, ref_path(path, sizeof(path), video, "fa_final_median_geom.csv"));
    assert_int_equal(geom.n_rows, n_frames);
    assert_int_equal(med.n_rows, n_frames);
    assert_int_equal(frames.n_rows, n_frames);

    AuRunningMedian rm;
    init_geom(&rm);
    double desc[GEOM_LEN], ref[GEOM_LEN];
    double max_diff = 0;
    long mismatches = 0;
    for (int f = 0; f < n_frames; f++) {
        int success = (int)refcsv_get(&geom, f, "success");
        refcsv_vec(&geom, f, "g_", GEOM_LEN, desc);
        if (schedule_update(&frames, f))
            au_running_median_update(&rm, desc, success);
        assert_int_equal(rm.count, (int)refcsv_get(&frames, f, "geom_hist_count"));
        refcsv_vec(&med, f, "g_", GEOM_LEN, ref);
        for (int i = 0; i < GEOM_LEN; i++) {
            double d = fabs(rm.median[i] - ref[i]);
            if (d > max_diff)
                max_diff = d;
            if (rm.median[i] != ref[i])
                mismatches++;
        }
    }
    print_message("%s geometry median, %d frames x 238: max |diff| %.3g, %ld values differ\n", video, n_frames,
                  max_diff, mismatches);
    assert_int_equal(mismatches, 0);
    assert_int_equal((int)refcsv_get(&fin, 0, "n"), GEOM_LEN);
    refcsv_vec(&fin, 0, "g_", GEOM_LEN, ref);
    assert_memory_equal(ref, rm.median, sizeof(ref));
    au_running_median_free(&rm);
    refcsv_free(&fin);
    refcsv_free(&frames);
    refcsv_free(&med);
    refcsv_free(&geom);
}

static void test_geom_median_changeLighting(void **state)
{
    (void)state;
    check_geom_median("changeLighting", 88);
}

static void test_geom_median_default(void **state)
{
    (void)state;
    check_geom_median("default", 288);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bins),
        cmocka_unit_test(test_update_rules),
        cmocka_unit_test(test_clamp_negative),
        cmocka_unit_test(test_init_errors),
        cmocka_unit_test(test_hog_median_changeLighting),
        cmocka_unit_test(test_geom_median_changeLighting),
        cmocka_unit_test(test_geom_median_default),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
