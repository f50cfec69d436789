/* Metrics against hand-computed answers (the arithmetic is in the comments)
 * and against figures computed independently (Python) from the real
 * reference outputs. */
#include "autest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "openface_csv.h"
#include "pts.h"

#define EPS 1e-12

/* |a - b| <= eps (eps 0: exactly equal), with both values in the message. */
#define assert_near(a, b, eps)                                                                                   \
    do {                                                                                                         \
        double a_ = (a), b_ = (b);                                                                               \
        if (!(fabs(a_ - b_) <= (eps)))                                                                           \
            fail_msg("%s = %.17g, expected %.17g (+-%g)", #a, a_, b_, (double)(eps));                            \
    } while (0)

static void test_pearson_mae(void **state)
{
    (void)state;
    /* x = 1 2 3 4, y = 2 4 5 9: means 2.5 and 5; deviations -1.5 -0.5 0.5 1.5 and
     * -3 -1 0 4; sxy = 4.5 + 0.5 + 0 + 6 = 11, sxx = 5, syy = 9 + 1 + 0 + 16 = 26;
     * r = 11 / sqrt(130) = 0.96476... */
    const double x[] = {1, 2, 3, 4}, y[] = {2, 4, 5, 9};
    assert_near(auh_pearson(x, y, 4, NULL), 11.0 / sqrt(130.0), EPS);
    assert_near(auh_pearson(y, x, 4, NULL), 11.0 / sqrt(130.0), EPS);
    /* Without the last pair: x = 1 2 3, y = 2 4 5; means 2, 11/3; deviations
     * -1 0 1 and -5/3 1/3 4/3; sxy = 5/3 + 4/3 = 3, sxx = 2, syy = 42/9;
     * r = 3 / sqrt(2 * 42 / 9) = 3 / sqrt(28/3) = 0.98198... */
    const unsigned char use[] = {1, 1, 1, 0};
    assert_near(auh_pearson(x, y, 4, use), 3.0 / sqrt(28.0 / 3.0), EPS);
    /* y = -2x + 1 is a perfect negative relation */
    const double yn[] = {-1, -3, -5, -7};
    assert_near(auh_pearson(x, yn, 4, NULL), -1.0, EPS);
    /* constant series (0.1 three times: its float mean is not exactly 0.1) and
     * fewer than two pairs have no r */
    const double c[] = {0.1, 0.1, 0.1, 0.1};
    assert_true(isnan(auh_pearson(x, c, 4, NULL)));
    assert_true(isnan(auh_pearson(c, x, 4, NULL)));
    assert_true(isnan(auh_pearson(x, y, 1, NULL)));
    const unsigned char one[] = {0, 1, 0, 0};
    assert_true(isnan(auh_pearson(x, y, 4, one)));
    assert_true(auh_series_constant(c, 4, NULL));
    assert_false(auh_series_constant(x, 4, NULL));
    assert_true(auh_series_constant(x, 4, one));
    /* MAE: |1-2| + |2-4| + |3-5| + |4-9| = 1 + 2 + 2 + 5 = 10, / 4 = 2.5; without the
     * last pair 5 / 3 */
    assert_near(auh_mae(x, y, 4, NULL), 2.5, EPS);
    assert_near(auh_mae(x, y, 4, use), 5.0 / 3.0, EPS);
    assert_true(isnan(auh_mae(x, y, 0, NULL)));
}

static void test_median(void **state)
{
    (void)state;
    double a[] = {3, 1, 2}, b[] = {4, 1, 3, 2}, c[] = {1, INFINITY, INFINITY};
    assert_near(auh_median_inplace(a, 3), 2.0, 0);
    assert_near(auh_median_inplace(b, 4), 2.5, 0); /* (2 + 3) / 2 */
    assert_true(isinf(auh_median_inplace(c, 3)));
    assert_true(isnan(auh_median_inplace(a, 0)));
}

static void test_au_intensity(void **state)
{
    (void)state;
    /* 4 frames x 3 AUs (frame-major):
     *   AU A: pred 1 2 3 4, label 2 4 5 9 -> r = 11/sqrt(130), MAE 2.5 (above)
     *   AU B: label constant 1 -> left out; pred 0 1 0 1, MAE (1+0+1+0)/4 = 0.5
     *   AU C: label 0 1 2 3, pred constant 0.5 -> r = 0;
     *         MAE (0.5 + 0.5 + 1.5 + 2.5) / 4 = 1.25
     * mean r = (11/sqrt(130) + 0) / 2 */
    const double pred[] = {1, 0, 0.5, 2, 1, 0.5, 3, 0, 0.5, 4, 1, 0.5};
    const double label[] = {2, 1, 0, 4, 1, 1, 5, 1, 2, 9, 1, 3};
    AuhAuIntensityAccuracy a;
    AuError err = {0};
    assert_int_equal(auh_au_intensity_accuracy(pred, label, 4, 3, NULL, &a, &err), AU_OK);
    assert_int_equal(a.n_aus, 3);
    assert_int_equal(a.n_frames, 4);
    assert_near(a.r[0], 11.0 / sqrt(130.0), EPS);
    assert_true(isnan(a.r[1]));
    assert_int_equal(a.left_out[1], 1);
    assert_int_equal(a.left_out[0] + a.left_out[2], 0);
    assert_int_equal(a.n_left_out, 1);
    assert_near(a.r[2], 0.0, 0);
    assert_near(a.mae[0], 2.5, EPS);
    assert_near(a.mae[1], 0.5, EPS);
    assert_near(a.mae[2], 1.25, EPS);
    assert_near(a.mean_r, 11.0 / sqrt(130.0) / 2.0, EPS);
    /* frames where both succeed: dropping frame 4 gives r_A = 3/sqrt(28/3) (above);
     * C's label 0 1 2 still varies and pred is still constant: r = 0 */
    const unsigned char use[] = {1, 1, 1, 0};
    assert_int_equal(auh_au_intensity_accuracy(pred, label, 4, 3, use, &a, &err), AU_OK);
    assert_int_equal(a.n_frames, 3);
    assert_near(a.r[0], 3.0 / sqrt(28.0 / 3.0), EPS);
    assert_near(a.mean_r, 3.0 / sqrt(28.0 / 3.0) / 2.0, EPS);
    /* every AU constant in the labels: no mean */
    const double flat[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    assert_int_equal(auh_au_intensity_accuracy(pred, flat, 4, 3, NULL, &a, &err), AU_OK);
    assert_int_equal(a.n_left_out, 3);
    assert_true(isnan(a.mean_r));
    assert_int_equal(auh_au_intensity_accuracy(pred, label, 4, AUH_METRICS_MAX_AUS + 1, NULL, &a, &err), AU_ERR_ARG);
}

static void test_au_presence(void **state)
{
    (void)state;
    /* 5 frames x 2 AUs. AU A: pred 1 0.5 0.49 0 0.7 -> present 1 1 0 0 1 (>= 0.5),
     * label 1 0 0 1 1: TP = frames 1,5 = 2; FP = frame 2 = 1; FN = frame 4 = 1;
     * TN = frame 3 = 1. Agreement (2 + 1) / 5 = 0.6; F1 = 2*2 / (2*2 + 1 + 1) = 2/3.
     * AU B: never present on either side: F1 undefined, agreement 1.
     * Means: agreement (0.6 + 1) / 2 = 0.8; F1 2/3 (B left out). */
    const double pred[] = {1, 0, 0.5, 0, 0.49, 0, 0, 0, 0.7, 0};
    const double label[] = {1, 0, 0, 0, 0, 0, 1, 0, 1, 0};
    AuhAuPresenceAccuracy p;
    AuError err = {0};
    assert_int_equal(auh_au_presence_accuracy(pred, label, 5, 2, NULL, &p, &err), AU_OK);
    assert_int_equal(p.tp[0], 2);
    assert_int_equal(p.fp[0], 1);
    assert_int_equal(p.fn[0], 1);
    assert_int_equal(p.tn[0], 1);
    assert_near(p.agreement[0], 0.6, EPS);
    assert_near(p.f1[0], 2.0 / 3.0, EPS);
    assert_true(isnan(p.f1[1]));
    assert_int_equal(p.f1_undefined[1], 1);
    assert_int_equal(p.n_f1_undefined, 1);
    assert_near(p.agreement[1], 1.0, 0);
    assert_near(p.mean_agreement, 0.8, EPS);
    assert_near(p.mean_f1, 2.0 / 3.0, EPS);
    /* without frame 4 (the FN): TP 2, FP 1, FN 0, TN 1 -> agreement 3/4, F1 4/5 */
    const unsigned char use[] = {1, 1, 1, 0, 1};
    assert_int_equal(auh_au_presence_accuracy(pred, label, 5, 2, use, &p, &err), AU_OK);
    assert_near(p.agreement[0], 0.75, EPS);
    assert_near(p.f1[0], 0.8, EPS);
}

/* A 68-point face: every point at (20 + i, 50), except the outer eye corners
 * 36 at (30, 40) and 45 at (40, 40): inter-ocular distance 10. */
static void make_face(double *xy)
{
    for (int i = 0; i < 68; i++) {
        xy[i] = 20 + i;
        xy[68 + i] = 50;
    }
    xy[36] = 30;
    xy[68 + 36] = 40;
    xy[45] = 40;
    xy[68 + 45] = 40;
}

static void test_landmarks(void **state)
{
    (void)state;
    double label[4][136], pred[4][136];
    for (int f = 0; f < 4; f++) {
        make_face(label[f]);
        make_face(pred[f]);
    }
    /* frame 0: point 0 off by (3, 4) -> 5 px, point 1 off by (6, 8) -> 10 px:
     * mean error 15/68 px, squared sum 25 + 100 = 125, NME 15/68/10 = 15/680 */
    pred[0][0] += 3;
    pred[0][68] += 4;
    pred[0][1] += 6;
    pred[0][69] += 8;
    /* frame 1: every point off by (3, 4): 5 px each, squared sum 68 * 25 = 1700, NME 0.5 */
    for (int i = 0; i < 68; i++) {
        pred[1][i] += 3;
        pred[1][68 + i] += 4;
    }
    assert_near(auh_lmk_interocular_outer(label[0], 68), 10.0, EPS);
    assert_true(isnan(auh_lmk_interocular_outer(label[0], 51)));
    assert_near(auh_lmk_mean_error(pred[0], label[0], 68), 15.0 / 68.0, EPS);
    assert_near(auh_lmk_sq_error_sum(pred[0], label[0], 68), 125.0, EPS);
    assert_near(auh_lmk_nme(pred[0], label[0], 68), 15.0 / 680.0, EPS);
    assert_near(auh_lmk_nme(pred[1], label[1], 68), 0.5, EPS);

    /* summary: frame 0 and 1 used, frame 2 skipped, frame 3 missed by the predictor.
     *   mean px  = (15/68 + 5) / 2
     *   RMSE     = sqrt((125 + 1700) / (2 * 68)) = sqrt(1825 / 136)
     *   mean NME = (15/680 + 0.5) / 2
     *   counted NMEs {15/680, 0.5, +inf}: median 0.5; failures (> 0.08) 2/3;
     *   AUC@0.08 = max(0, 0.08 - 15/680) / (3 * 0.08) = (1 - 15/54.4) / 3 */
    const unsigned char use[] = {AUH_USE, AUH_USE, AUH_USE_SKIP, AUH_USE_AS_FAILURE};
    AuhLandmarkSummary s;
    double px[4], nme[4];
    AuError err = {0};
    assert_int_equal(auh_landmark_summary(&pred[0][0], &label[0][0], 4, 68, use, AUH_NME_THRESHOLD, &s, px, nme, &err),
                     AU_OK);
    assert_int_equal(s.n_used, 2);
    assert_int_equal(s.n_failed, 1);
    assert_near(s.mean_px, (15.0 / 68.0 + 5.0) / 2.0, EPS);
    assert_near(s.rmse_px, sqrt(1825.0 / 136.0), EPS);
    assert_near(s.mean_nme, (15.0 / 680.0 + 0.5) / 2.0, EPS);
    assert_near(s.median_nme, 0.5, EPS);
    assert_near(s.failure_rate, 2.0 / 3.0, EPS);
    assert_near(s.auc, (1.0 - 15.0 / 54.4) / 3.0, EPS);
    assert_near(px[1], 5.0, EPS);
    assert_near(nme[0], 15.0 / 680.0, EPS);
    assert_true(isnan(px[2]) && isnan(nme[3]));
}

static void test_ced_auc(void **state)
{
    (void)state;
    /* errors 0.02 0.04 0.06 0.10:
     *   CED(0.04) = 2/4 (<= counts), CED(0.05) = 2/4, CED(0.1) = 1
     *   AUC@0.08 = ((0.08-0.02) + (0.08-0.04) + (0.08-0.06) + 0) / (4 * 0.08)
     *            = 0.12 / 0.32 = 0.375
     *   failure rate (> 0.08) = 1/4; an error of exactly 0.08 is not a failure */
    const double e[] = {0.02, 0.04, 0.06, 0.10};
    assert_near(auh_ced_at(e, 4, 0.04), 0.5, 0);
    assert_near(auh_ced_at(e, 4, 0.05), 0.5, 0);
    assert_near(auh_ced_at(e, 4, 0.10), 1.0, 0);
    assert_near(auh_auc_at(e, 4, 0.08), 0.375, EPS);
    assert_near(auh_failure_rate(e, 4, 0.08), 0.25, 0);
    const double edge[] = {0.08, NAN};
    assert_near(auh_failure_rate(edge, 2, 0.08), 0.5, 0);
    /* the exact area agrees with a fine trapezoid over the sampled curve */
    enum { STEPS = 8000 };
    double *c = malloc((STEPS + 1) * sizeof(double));
    assert_non_null(c);
    auh_ced_curve(e, 4, 0.08, STEPS, c);
    assert_near(c[0], 0.0, 0);
    assert_near(c[STEPS], 0.75, 0);
    double area = 0;
    for (int k = 0; k < STEPS; k++)
        area += 0.5 * (c[k] + c[k + 1]) / STEPS;
    assert_near(area, 0.375, 1e-4);
    free(c);
}

static void test_speed(void **state)
{
    (void)state;
    /* 300 frames in 2 s = 150 FPS; 288 frames in 5.39 s = 53.43... FPS */
    assert_near(auh_fps(300, 2000000000), 150.0, EPS);
    assert_near(auh_fps(288, 5390000000), 288.0 / 5.39, 1e-9);
    assert_true(isnan(auh_fps(10, 0)));
    /* 8 calls totalling 1000 ns: 125 ns each */
    assert_near(auh_mean_ns(1000, 8), 125.0, 0);
    assert_true(isnan(auh_mean_ns(1000, 0)));
    /* stages of 250 and 750 ns in a 2000 ns frame loop: 12.5% and 37.5% */
    const int64_t t[] = {250, 750};
    double share[2];
    auh_timing_shares(t, 2, 2000, share);
    assert_near(share[0], 0.125, 0);
    assert_near(share[1], 0.375, 0);
}

/* OpenFace C++ landmarks on the 224 LFPW-test crops against the human labels
 * (1 subtracted, 0-based like OpenFace), taking per image the detected face
 * with the lowest NME. Expected figures from an independent Python script
 * (math.dist over the same files): mean NME 0.05146182190599717, median
 * 0.03892886123347606 (mean of the 112th and 113th of 224), failures 19/224,
 * exact AUC 0.4654920307995759. The reference README's rounded "3.900%" and
 * "0.466" come from the upper middle value (0.0389960) and a trapezoid over
 * the CED sampled every 0.001 (0.4657087), which this test also reproduces. */
static void test_reference_300w(void **state)
{
    (void)state;
    enum { N = 224 };
    double *pred = malloc(N * 136 * sizeof(double)), *label = malloc(N * 136 * sizeof(double));
    assert_non_null(pred);
    assert_non_null(label);
    char dir[1024];
    autest_path(dir, sizeof(dir), "datasets/300w_lfpw_test_crops");
    int n = 0;
    /* the files are numbered 0001.. with gaps */
    for (int num = 1; num <= 1000 && n < N; num++) {
        char pts_path[1200], csv_path[1200];
        snprintf(pts_path, sizeof(pts_path), "%s/lfpw_test_image_%04d.pts", dir, num);
        FILE *f = fopen(pts_path, "r");
        if (!f)
            continue;
        fclose(f);
        char rel[128];
        snprintf(rel, sizeof(rel), "openface/reference/300w_lfpw_test_crops/lfpw_test_image_%04d.csv", num);
        autest_path(csv_path, sizeof(csv_path), rel);
        AuhPts pts;
        AuhOfCsv csv;
        AuError err = {0};
        if (auh_pts_read(&pts, pts_path, &err) || auh_of_csv_read(&csv, csv_path, &err))
            fail_msg("%s", err.msg);
        double *l = label + (size_t)n * 136, *p = pred + (size_t)n * 136;
        for (int i = 0; i < 68; i++) {
            l[i] = pts.x[i] - 1;
            l[68 + i] = pts.y[i] - 1;
        }
        double best = INFINITY;
        assert_true(csv.n_rows >= 1);
        for (size_t row = 0; row < csv.n_rows; row++) {
            double cand[136];
            for (int i = 0; i < 68; i++) {
                cand[i] = auh_of_csv_landmark_x(&csv, row, i);
                cand[68 + i] = auh_of_csv_landmark_y(&csv, row, i);
            }
            double e = auh_lmk_nme(cand, l, 68);
            if (e < best) {
                best = e;
                memcpy(p, cand, sizeof(cand));
            }
        }
        auh_pts_free(&pts);
        auh_of_csv_free(&csv);
        n++;
    }
    assert_int_equal(n, N);
    AuhLandmarkSummary s;
    double nme[N];
    AuError err = {0};
    assert_int_equal(auh_landmark_summary(pred, label, N, 68, NULL, AUH_NME_THRESHOLD, &s, NULL, nme, &err), AU_OK);
    assert_int_equal(s.n_used, N);
    assert_near(s.mean_nme, 0.05146182190599717, 1e-12);
    assert_near(s.median_nme, 0.03892886123347606, 1e-12);
    assert_near(s.failure_rate, 19.0 / 224.0, 1e-15);
    assert_near(s.auc, 0.4654920307995759, 1e-12);
    /* the README's rounding conventions */
    double curve[81], area = 0;
    auh_ced_curve(nme, N, 0.08, 80, curve);
    for (int k = 0; k < 80; k++)
        area += 0.5 * (curve[k] + curve[k + 1]) * 0.001;
    assert_near(area / 0.08, 0.4657087053571428, 1e-12);
    /* upper middle of the sorted NMEs (Python: sorted(nmes)[112]) */
    auh_median_inplace(nme, N);
    assert_near(nme[N / 2], 0.03899603259905866, 1e-12);
    free(pred);
    free(label);
}

/* Column j of the AU table of a reference CSV. */
static double *au_table(const AuhOfCsv *csv, int first_col, int n_aus)
{
    double *t = malloc(csv->n_rows * (size_t)n_aus * sizeof(double));
    assert_non_null(t);
    for (size_t r = 0; r < csv->n_rows; r++)
        for (int j = 0; j < n_aus; j++)
            t[r * (size_t)n_aus + (size_t)j] = auh_of_csv_get(csv, r, first_col + j);
    return t;
}

/* Real AU series. Python over default.csv: Pearson(AU01_r, AU02_r) =
 * 0.00545366428642659, mean |AU01_r - AU02_r| = 0.10586805555555556;
 * changeLighting.csv has AU10_r constant, default.csv has AU04_c, AU09_c and
 * AU28_c always 0. */
static void test_reference_aus(void **state)
{
    (void)state;
    char p[1024];
    AuhOfCsv csv;
    AuError err = {0};
    autest_path(p, sizeof(p), "openface/reference/default.csv");
    if (auh_of_csv_read(&csv, p, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(csv.n_rows, 288);
    int c1 = auh_of_csv_column(&csv, "AU01_r"), c2 = auh_of_csv_column(&csv, "AU02_r");
    assert_true(c1 >= 0 && c2 == c1 + 1);
    double *r = au_table(&csv, csv.col_au_reg0, 17), *c = au_table(&csv, csv.col_au_class0, 18);
    double a1[288], a2[288];
    for (int i = 0; i < 288; i++) {
        a1[i] = r[i * 17 + 0];
        a2[i] = r[i * 17 + 1];
    }
    assert_near(auh_pearson(a1, a2, 288, NULL), 0.00545366428642659, 1e-13);
    assert_near(auh_mae(a1, a2, 288, NULL), 0.10586805555555556, 1e-13);
    /* the reference against itself: every r is 1 */
    AuhAuIntensityAccuracy ia;
    assert_int_equal(auh_au_intensity_accuracy(r, r, 288, 17, NULL, &ia, &err), AU_OK);
    assert_int_equal(ia.n_left_out, 0);
    assert_near(ia.mean_r, 1.0, 1e-12);
    AuhAuPresenceAccuracy pa;
    assert_int_equal(auh_au_presence_accuracy(c, c, 288, 18, NULL, &pa, &err), AU_OK);
    assert_near(pa.mean_agreement, 1.0, 0);
    assert_near(pa.mean_f1, 1.0, 0);
    assert_int_equal(pa.n_f1_undefined, 3);
    assert_true(pa.f1_undefined[2] && pa.f1_undefined[6] && pa.f1_undefined[16]); /* AU04, AU09, AU28 */
    free(r);
    free(c);
    auh_of_csv_free(&csv);

    autest_path(p, sizeof(p), "openface/reference/changeLighting.csv");
    if (auh_of_csv_read(&csv, p, &err))
        fail_msg("%s", err.msg);
    r = au_table(&csv, csv.col_au_reg0, 17);
    assert_int_equal(auh_au_intensity_accuracy(r, r, csv.n_rows, 17, NULL, &ia, &err), AU_OK);
    assert_int_equal(ia.n_left_out, 1);
    assert_int_equal(ia.left_out[7], 1); /* AU10_r, 8th of the sorted intensity AUs */
    assert_near(ia.mean_r, 1.0, 1e-12);
    free(r);
    auh_of_csv_free(&csv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pearson_mae),  cmocka_unit_test(test_median), cmocka_unit_test(test_au_intensity),
        cmocka_unit_test(test_au_presence),  cmocka_unit_test(test_landmarks), cmocka_unit_test(test_ced_auc),
        cmocka_unit_test(test_speed),        cmocka_unit_test(test_reference_300w),
        cmocka_unit_test(test_reference_aus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
