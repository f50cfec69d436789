/* au_running_median_track (the simd variant's running median): reading the
 * median by moving from the previous median bin must give OpenFace's full
 * scan's medians bit for bit, after every update, whatever the sequence of
 * adds, non-adds (failed frames), the count == 1 copy, resets, values
 * outside the range and NaN. Checked against a scanning twin fed the same
 * descriptors, on random walks that move the median up and down, on a
 * spiky distribution, and on the reference HOG of changeLighting.wmv. */
#include "autest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "refhog.h"
#include "running_median.h"

static uint32_t rng(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static double rng_unit(uint32_t *s)
{
    return (double)(rng(s) >> 8) / (double)(1u << 24);
}

/* One update on both, then the same medians. */
static void update_both(AuRunningMedian *scan, AuRunningMedian *track, const double *d, int add, int step)
{
    au_running_median_update(scan, d, add);
    au_running_median_update(track, d, add);
    if (memcmp(scan->median, track->median, sizeof(double) * (size_t)scan->dim)) {
        for (int i = 0; i < scan->dim; i++)
            if (memcmp(&scan->median[i], &track->median[i], sizeof(double)))
                fail_msg("step %d (add %d, count %d): dimension %d: tracked median %.17g, scanned %.17g", step, add,
                         scan->count, i, track->median[i], scan->median[i]);
    }
}

static void make_pair(AuRunningMedian *scan, AuRunningMedian *track, int dim, int bins, double lo, double hi)
{
    AuError err = {0};
    if (au_running_median_init(scan, dim, bins, lo, hi, &err) || au_running_median_init(track, dim, bins, lo, hi, &err) ||
        au_running_median_track(track, &err) || au_running_median_track(track, &err) /* idempotent */)
        fail_msg("%s", err.msg);
    assert_non_null(track->median_bin);
    assert_null(scan->median_bin);
}

static void test_random_walks(void **state)
{
    (void)state;
    enum { DIM = 64, STEPS = 600 };
    AuRunningMedian scan, track;
    make_pair(&scan, &track, DIM, 1000, -0.005, 1.0);
    uint32_t seed = 20240601;
    double d[DIM], centre[DIM];
    for (int i = 0; i < DIM; i++)
        centre[i] = rng_unit(&seed);
    for (int step = 0; step < STEPS; step++) {
        /* drifting centres so the median travels; every 7th frame failed
         * (not added), a reset half way, values past both ends, one NaN */
        for (int i = 0; i < DIM; i++) {
            centre[i] += 0.03 * (rng_unit(&seed) - 0.5) + (step < STEPS / 3 ? 0.002 : -0.002);
            d[i] = centre[i] + 0.2 * (rng_unit(&seed) - 0.5);
        }
        d[step % DIM] = step % 11 == 0 ? 1.7 : step % 13 == 0 ? -0.3 : d[step % DIM];
        if (step == 100)
            d[5] = NAN;
        if (step == STEPS / 2) {
            au_running_median_reset(&scan);
            au_running_median_reset(&track);
        }
        update_both(&scan, &track, d, step % 7 != 3, step);
    }
    au_running_median_free(&scan);
    au_running_median_free(&track);
    assert_null(track.median_bin);
}

/* Few distinct values: many equal counts, empty bins between, the median on
 * the edge of a bin that empties and refills. */
static void test_spiky(void **state)
{
    (void)state;
    enum { DIM = 16 };
    AuRunningMedian scan, track;
    make_pair(&scan, &track, DIM, 10000, -60.0, 60.0);
    uint32_t seed = 7;
    double d[DIM];
    /* a failed frame first: count 0, then the count == 1 copy */
    for (int i = 0; i < DIM; i++)
        d[i] = 3.0 * i;
    update_both(&scan, &track, d, 0, -2);
    update_both(&scan, &track, d, 1, -1);
    update_both(&scan, &track, d, 0, 0);
    for (int step = 1; step < 400; step++) {
        for (int i = 0; i < DIM; i++) {
            static const double levels[] = {-59.0, -10.0, 0.0, 0.006, 25.0, 59.9};
            d[i] = levels[rng(&seed) % 6];
        }
        update_both(&scan, &track, d, rng(&seed) % 5 != 0, step);
    }
    au_running_median_free(&scan);
    au_running_median_free(&track);
}

/* OpenFace's own HOG descriptors of changeLighting.wmv on its schedule. */
static void test_reference_hog(void **state)
{
    (void)state;
    char path[1024];
    autest_path(path, sizeof(path), "openface/reference/changeLighting_hog_aligned/changeLighting.hog");
    autest_require_file(path);
    RefHog hog;
    refhog_load(&hog, path);
    const int dim = hog.len;
    AuRunningMedian scan, track;
    make_pair(&scan, &track, dim, AU_RUNNING_MEDIAN_HOG_BINS, AU_RUNNING_MEDIAN_HOG_MIN, AU_RUNNING_MEDIAN_HOG_MAX);
    double *d = malloc(sizeof(double) * (size_t)dim);
    assert_non_null(d);
    for (int f = 0; f < hog.n_frames; f++) {
        for (int i = 0; i < dim; i++)
            d[i] = refhog_frame(&hog, f)[i];
        if (f % 2 == 0) /* frames_tracking odd */
            update_both(&scan, &track, d, hog.success[f] > 0, f);
    }
    free(d);
    refhog_free(&hog);
    au_running_median_free(&scan);
    au_running_median_free(&track);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_walks),
        cmocka_unit_test(test_spiky),
        cmocka_unit_test(test_reference_hog),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
