/* The piecewise affine warp: hand-checkable shapes (edges, guesses, grid
 * sizes, exact affine sampling), bad arguments, and OpenFace's own warps: the
 * detection validator's PAWs (read from validator_cnn.txt) applied to the
 * gray frames of changeLighting.wmv with the landmarks of each validated
 * call, against the warped images OpenFace dumped (validator_warped.f32). */
#include "autest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imgproc.h"
#include "paw.h"
#include "refcsv.h"
#include "validator_model.h"
#include "video.h"

#define INTER_DIR "openface/reference/intermediates/changeLighting/"

/* Two triangles covering the square [1,3] x [1,3] of a 5x5 grid (bounds 0..4):
 * pixel centres on the edges are inside (sameSide's >= 0). */
static void test_mask_square(void **state)
{
    (void)state;
    float shape[8] = {1, 3, 3, 1, /* x */ 1, 1, 3, 3 /* y */};
    int tris[6] = {0, 1, 2, 0, 2, 3};
    AuPaw p;
    AuError err = {0};
    assert_int_equal(au_paw_init_bounds(&p, shape, 4, tris, 2, 0, 0, 4, 4, &err), AU_OK);
    assert_int_equal(p.width, 5);
    assert_int_equal(p.height, 5);
    for (int y = 0; y < 5; y++)
        for (int x = 0; x < 5; x++)
            assert_int_equal(p.pixel_mask[y * 5 + x], x >= 1 && x <= 3 && y >= 1 && y <= 3);
    assert_int_equal(p.number_of_pixels, 9);
    /* Triangle 0 is (1,1) (3,1) (3,3): above and on the diagonal. Pixel (1,1)
     * is first met with no guess, so the scan finds triangle 0. (1,2) lies
     * only in triangle 1. (2,2) is on the shared diagonal, reached from (1,2)
     * whose triangle 1 is the guess, so it stays 1; (3,2) is only in 0. */
    assert_int_equal(p.triangle_id[1 * 5 + 1], 0);
    assert_int_equal(p.triangle_id[2 * 5 + 1], 1);
    assert_int_equal(p.triangle_id[2 * 5 + 2], 1);
    assert_int_equal(p.triangle_id[2 * 5 + 3], 0);
    assert_int_equal(p.triangle_id[0], -1);
    /* Barycentric coefficients of triangle 0 (j=(1,1), k=(3,1), l=(3,3)):
     * c1 = 2, c2 = 2, c4 = 0, c3 = 2, c5 = 4; alpha = ((1*2 - 1*2)/4, 2/4,
     * -2/4), beta = ((1*0 - 1*2)/4, 0, 2/4). */
    assert_true(p.alpha[0] == 0.0f && p.alpha[1] == 0.5f && p.alpha[2] == -0.5f);
    assert_true(p.beta[0] == -0.5f && p.beta[1] == 0.0f && p.beta[2] == 0.5f);
    au_paw_free(&p);
}

/* The guess wins on shared edges; without a guess the lowest index wins. */
static void test_find_triangle_guess(void **state)
{
    (void)state;
    /* Triangles 0: (0,0) (2,0) (2,2); 1: (0,0) (2,2) (0,2), vertices then the bounding box. */
    float tp[20] = {0, 0, 2, 0, 2, 2, 2, 2, 0, 0, /**/ 0, 0, 2, 2, 0, 2, 2, 2, 0, 0};
    assert_int_equal(au_paw_find_triangle(tp, 2, 1, 1, -1), 0);
    assert_int_equal(au_paw_find_triangle(tp, 2, 1, 1, 1), 1);
    assert_int_equal(au_paw_find_triangle(tp, 2, 0.5f, 1.5f, 0), 1);
    assert_int_equal(au_paw_find_triangle(tp, 2, 1.5f, 0.5f, 1), 0);
    assert_int_equal(au_paw_find_triangle(tp, 2, 2.5f, 1, -1), -1);
    assert_int_equal(au_paw_find_triangle(tp, 2, -0.001f, 1, 0), -1);
    /* An out-of-range guess is ignored. */
    assert_int_equal(au_paw_find_triangle(tp, 2, 1, 1, 7), 0);
}

/* Grid from the shape's bounding box: min (0.5, -1.25), size
 * (int)(max - min + 1.5) = (int)(9.7 + 1.5) = 11 by (int)(3.25 + 1.5) = 4. */
static void test_auto_bounds(void **state)
{
    (void)state;
    float shape[6] = {0.5f, 10.2f, 3.0f, /* y */ -1.25f, 0.0f, 2.0f};
    int tris[3] = {0, 1, 2};
    AuPaw p;
    AuError err = {0};
    assert_int_equal(au_paw_init(&p, shape, 3, tris, 1, &err), AU_OK);
    assert_true(p.min_x == 0.5f && p.min_y == -1.25f);
    assert_int_equal(p.width, 11);
    assert_int_equal(p.height, 4);
    /* Pixel (0, 1) is the point (0.5, -0.25), on no triangle: the triangle's
     * left edge runs from (0.5, -1.25) to (3, 2). Pixel (2, 1) = (2.5, -0.25) is inside. */
    assert_int_equal(p.pixel_mask[1 * 11 + 0], 0);
    assert_int_equal(p.pixel_mask[1 * 11 + 2], 1);
    /* The vertex itself is inside. */
    assert_int_equal(p.pixel_mask[0], 1);
    au_paw_free(&p);
}

/* A pure affine warp (source = 2 x destination + (1, 3)) samples the image
 * at exact positions, so the result is the image value there. */
static void test_warp_affine_exact(void **state)
{
    (void)state;
    float dst_shape[6] = {0, 4, 0, /* y */ 0, 0, 4};
    float src_shape[6];
    for (int i = 0; i < 3; i++) {
        src_shape[i] = 2 * dst_shape[i] + 1;
        src_shape[i + 3] = 2 * dst_shape[i + 3] + 3;
    }
    int tris[3] = {0, 1, 2};
    AuPaw p;
    AuError err = {0};
    assert_int_equal(au_paw_init(&p, dst_shape, 3, tris, 1, &err), AU_OK);
    assert_int_equal(p.width, 5);
    AuImageF32 img, out;
    assert_int_equal(au_image_f32_alloc(&img, 16, 16, &err), AU_OK);
    for (int y = 0; y < 16; y++)
        for (int x = 0; x < 16; x++)
            au_image_f32_row(&img, y)[x] = (float)(100 * y + x);
    assert_int_equal(au_image_f32_alloc(&out, 5, 5, &err), AU_OK);
    assert_int_equal(au_paw_warp(&p, &img, src_shape, &out, &err), AU_OK);
    for (int y = 0; y < 5; y++)
        for (int x = 0; x < 5; x++) {
            float v = au_image_f32_row(&out, y)[x];
            if (x + y <= 4) {
                assert_true(p.map_x[y * 5 + x] == (float)(2 * x + 1));
                assert_true(p.map_y[y * 5 + x] == (float)(2 * y + 3));
                assert_true(v == (float)(100 * (2 * y + 3) + 2 * x + 1));
            } else {
                assert_true(p.map_x[y * 5 + x] == -1.0f);
                assert_true(v == 0.0f);
            }
        }
    /* The wrong output size is refused. */
    AuImageF32 small;
    assert_int_equal(au_image_f32_alloc(&small, 4, 5, &err), AU_OK);
    assert_int_equal(au_paw_warp(&p, &img, src_shape, &small, &err), AU_ERR_ARG);
    assert_non_null(strstr(err.msg, "4x5"));
    au_image_f32_free(&small);
    au_image_f32_free(&img);
    au_image_f32_free(&out);
    au_paw_free(&p);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    AuPaw p;
    AuError err = {0};
    float shape[6] = {0, 4, 0, 0, 0, 4};
    int bad_tris[3] = {0, 1, 3};
    assert_int_equal(au_paw_init(&p, shape, 3, bad_tris, 1, &err), AU_ERR_ARG);
    assert_non_null(strstr(err.msg, "point 3"));
    assert_null(p.pixel_mask);
    int tris[3] = {0, 1, 2};
    float nan_shape[6] = {0, NAN, 0, 0, 0, 4};
    assert_int_equal(au_paw_init(&p, nan_shape, 3, tris, 1, &err), AU_ERR_ARG);
    assert_non_null(strstr(err.msg, "point 1"));
    float huge[6] = {0, 1e9f, 0, 0, 0, 4};
    assert_int_equal(au_paw_init(&p, huge, 3, tris, 1, &err), AU_ERR_ARG);
    assert_int_equal(au_paw_init_bounds(&p, shape, 3, tris, 1, 5, 0, 2, 4, &err), AU_ERR_ARG);
    assert_non_null(strstr(err.msg, "width"));
    assert_int_equal(au_paw_init(&p, shape, 3, tris, 0, &err), AU_ERR_ARG);
    /* A masked pixel naming no triangle. */
    int tid[4] = {0, -1, 0, 1};
    uint8_t mask[4] = {1, 0, 1, 1};
    float ab[3] = {0, 0, 0};
    assert_int_equal(au_paw_init_precomputed(&p, shape, 3, tris, 1, 0, 0, 2, 2, tid, mask, ab, ab, &err), AU_ERR_ARG);
    assert_non_null(strstr(err.msg, "(1, 1)"));
    mask[3] = 0;
    assert_int_equal(au_paw_init_precomputed(&p, shape, 3, tris, 1, 0, 0, 2, 2, tid, mask, ab, ab, &err), AU_OK);
    assert_int_equal(p.number_of_pixels, 2);
    au_paw_free(&p);
    au_paw_free(&p); /* idempotent on a zeroed struct */
}

/* OpenFace's validator warps of changeLighting frames 1-3 (13 validations:
 * 11 detection hypotheses on frame 1 over views 0, 1, 3, 5, 6, then one
 * tracking call on each of frames 2 and 3). The input is Check's crop of the
 * gray frame, [min - 3, max + 3] of the landmarks truncated to int and
 * clamped, converted to float, with the landmarks shifted to it. */
static void test_validator_warps_match_openface(void **state)
{
    (void)state;
    char path[1024];
    AuError err = {0};
    AuValidatorModel vm;
    autest_path(path, sizeof(path), "openface/models/model/detection_validation/validator_cnn.txt");
    autest_require_file(path);
    assert_int_equal(au_validator_model_load(&vm, path, &err), AU_OK);
    RefCsv val, calls;
    refcsv_load(&val, autest_path(path, sizeof(path), INTER_DIR "validator.csv"));
    refcsv_load(&calls, autest_path(path, sizeof(path), INTER_DIR "clnf_calls_main.csv"));
    size_t n_ref;
    float *ref = refcsv_load_f32(autest_path(path, sizeof(path), INTER_DIR "validator_warped.f32"), &n_ref);
    AuVideo *v;
    assert_int_equal(au_video_open(&v, autest_path(path, sizeof(path), "openface/videos/changeLighting.wmv"), &err),
                     AU_OK);
    AuFrame fr = {0};
    int n_checked = 0, views_seen = 0;
    long n_values = 0, n_diff = 0;
    double max_diff = 0;
    for (int r = 0; r < val.n_rows; r++) {
        long off = (long)refcsv_get(&val, r, "warped_offset");
        if (off < 0)
            continue;
        int frame = (int)refcsv_get(&val, r, "frame");
        while (!fr.bgr.data || fr.frame_number + 1 < frame)
            assert_int_equal(au_video_read(v, &fr, &err), AU_OK);
        int call = (int)refcsv_get(&val, r, "call");
        int crow = -1;
        for (int i = 0; i < calls.n_rows; i++)
            if ((int)refcsv_get(&calls, i, "call") == call)
                crow = i;
        assert_true(crow >= 0);
        double xy[136];
        refcsv_vec(&calls, crow, "x_", 68, xy);
        refcsv_vec(&calls, crow, "y_", 68, xy + 68);
        float lm[136];
        float mnx = INFINITY, mxx = -INFINITY, mny = INFINITY, mxy = -INFINITY;
        for (int i = 0; i < 68; i++) {
            lm[i] = (float)xy[i];
            lm[i + 68] = (float)xy[i + 68];
            mnx = fminf(mnx, lm[i]);
            mxx = fmaxf(mxx, lm[i]);
            mny = fminf(mny, lm[i + 68]);
            mxy = fmaxf(mxy, lm[i + 68]);
        }
        int x0 = (int)(mnx - 3.0f), x1 = (int)(mxx + 3.0f), y0 = (int)(mny - 3.0f), y1 = (int)(mxy + 3.0f);
        x0 = x0 < 0 ? 0 : x0;
        y0 = y0 < 0 ? 0 : y0;
        x1 = x1 > fr.gray.width - 1 ? fr.gray.width - 1 : x1;
        y1 = y1 > fr.gray.height - 1 ? fr.gray.height - 1 : y1;
        /* The ROI OpenFace dumped. */
        assert_int_equal(x0, (int)refcsv_get(&val, r, "roi_min_x"));
        assert_int_equal(y0, (int)refcsv_get(&val, r, "roi_min_y"));
        assert_int_equal(x1, (int)refcsv_get(&val, r, "roi_max_x"));
        assert_int_equal(y1, (int)refcsv_get(&val, r, "roi_max_y"));
        for (int i = 0; i < 68; i++) {
            lm[i] = lm[i] - (float)x0;
            lm[i + 68] = lm[i + 68] - (float)y0;
        }
        AuImageF32 crop;
        assert_int_equal(au_image_f32_alloc(&crop, x1 - x0, y1 - y0, &err), AU_OK);
        for (int y = 0; y < crop.height; y++)
            for (int x = 0; x < crop.width; x++)
                au_image_f32_row(&crop, y)[x] = au_image_u8_row(&fr.gray, y0 + y)[x0 + x];

        int view = (int)refcsv_get(&val, r, "view");
        assert_true(view >= 0 && view < vm.n_views);
        views_seen |= 1 << view;
        const AuValidatorPaw *vp = &vm.views[view].paw;
        AuPaw p;
        assert_int_equal(au_paw_init_precomputed(&p, vp->destination_landmarks, vp->n_landmarks, vp->triangulation,
                                                 vp->n_triangles, vp->min_x, vp->min_y, vp->width, vp->height,
                                                 vp->triangle_id, vp->pixel_mask, vp->alpha, vp->beta, &err),
                         AU_OK);
        assert_int_equal(p.number_of_pixels, vp->number_of_pixels);
        assert_int_equal(p.width, (int)refcsv_get(&val, r, "warped_w"));
        assert_int_equal(p.height, (int)refcsv_get(&val, r, "warped_h"));
        AuImageF32 warped;
        assert_int_equal(au_image_f32_alloc(&warped, p.width, p.height, &err), AU_OK);
        assert_int_equal(au_paw_warp(&p, &crop, lm, &warped, &err), AU_OK);
        assert_true((size_t)off + (size_t)p.width * (size_t)p.height <= n_ref);
        for (int y = 0; y < p.height; y++)
            for (int x = 0; x < p.width; x++) {
                double d = fabs((double)au_image_f32_row(&warped, y)[x] - ref[off + y * p.width + x]);
                n_diff += d != 0;
                max_diff = d > max_diff ? d : max_diff;
                n_values++;
            }
        au_image_f32_free(&warped);
        au_image_f32_free(&crop);
        au_paw_free(&p);
        n_checked++;
    }
    printf("validator PAW warps: %d images, %ld values, %ld differ, max diff %g\n", n_checked, n_values, n_diff,
           max_diff);
    assert_int_equal(n_checked, 13);
    assert_int_equal(views_seen, (1 << 0) | (1 << 1) | (1 << 3) | (1 << 5) | (1 << 6));
    assert_int_equal(n_diff, 0);
    au_frame_free(&fr);
    au_video_close(v);
    free(ref);
    refcsv_free(&val);
    refcsv_free(&calls);
    au_validator_model_free(&vm);
}

/* The validator's PAWs were made by OpenFace's MATLAB code and stored in its
 * model file. Rebuilding them with the C++ bounds constructor from their
 * destination shape and grid gives the same mask and the same triangle for
 * every pixel (all 7 views), and the same barycentric coefficients up to the
 * float arithmetic (the largest difference measured is 7.6e-5 on constant
 * terms near 75, 10 float ulps, from cancellation in (y_j c2 - x_j c1) / c5). */
static void test_constructor_matches_validator_paws(void **state)
{
    (void)state;
    char path[1024];
    AuError err = {0};
    AuValidatorModel vm;
    autest_path(path, sizeof(path), "openface/models/model/detection_validation/validator_cnn.txt");
    autest_require_file(path);
    assert_int_equal(au_validator_model_load(&vm, path, &err), AU_OK);
    assert_int_equal(vm.n_views, 7);
    for (int i = 0; i < vm.n_views; i++) {
        const AuValidatorPaw *vp = &vm.views[i].paw;
        AuPaw p;
        assert_int_equal(au_paw_init_bounds(&p, vp->destination_landmarks, vp->n_landmarks, vp->triangulation,
                                            vp->n_triangles, vp->min_x, vp->min_y, vp->min_x + (float)(vp->width - 1),
                                            vp->min_y + (float)(vp->height - 1), &err),
                         AU_OK);
        assert_int_equal(p.width, vp->width);
        assert_int_equal(p.height, vp->height);
        assert_int_equal(p.number_of_pixels, vp->number_of_pixels);
        long mask_diff = 0, tri_diff = 0;
        for (int k = 0; k < p.width * p.height; k++) {
            mask_diff += (p.pixel_mask[k] != 0) != (vp->pixel_mask[k] != 0);
            tri_diff += vp->pixel_mask[k] && p.triangle_id[k] != vp->triangle_id[k];
        }
        double max_abs = 0, max_diff = 0;
        for (int k = 0; k < 3 * p.n_tris; k++) {
            max_abs = fmax(max_abs, fmax(fabs((double)vp->alpha[k]), fabs((double)vp->beta[k])));
            max_diff = fmax(max_diff, fabs((double)p.alpha[k] - vp->alpha[k]));
            max_diff = fmax(max_diff, fabs((double)p.beta[k] - vp->beta[k]));
        }
        printf("validator view %d: mask differs at %ld, triangle at %ld pixels; alpha/beta max diff %g (largest %g)\n",
               i, mask_diff, tri_diff, max_diff, max_abs);
        assert_int_equal(mask_diff, 0);
        assert_int_equal(tri_diff, 0);
        assert_true(max_diff <= 2e-6 * max_abs);
        au_paw_free(&p);
    }
    au_validator_model_free(&vm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mask_square),
        cmocka_unit_test(test_find_triangle_guess),
        cmocka_unit_test(test_auto_bounds),
        cmocka_unit_test(test_warp_affine_exact),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_validator_warps_match_openface),
        cmocka_unit_test(test_constructor_matches_validator_paws),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
