/* Face alignment for AUs against OpenFace: the warp of every frame of
 * changeLighting (fa_align.csv), the aligned masked faces OpenFace wrote
 * (the changeLighting_aligned BMPs), and the FHOG of our aligned faces against
 * OpenFace's .hog, starting from OpenFace's final landmarks of each frame
 * (clnf_frames.csv) and the decoded frames. */
#include "autest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmp.h"
#include "face_align.h"
#include "fhog.h"
#include "models.h"
#include "pdm.h"
#include "refcsv.h"
#include "refhog.h"
#include "video.h"

static void test_align_changelighting(void **state)
{
    (void)state;
    char path[2048], dir[1024];
    AuError err = {0};
    AuPdm pdm;
    AuMat tris;
    assert_int_equal(au_pdm_load(&pdm, autest_path(path, sizeof(path), "openface/models/AU_predictors/In-the-wild_aligned_PDM_68.txt"), &err), AU_OK);
    assert_int_equal(au_tris_load_single(&tris, autest_path(path, sizeof(path), "openface/models/AU_predictors/tris_68_full.txt"), &err), AU_OK);
    AuPdmWork w;
    assert_int_equal(au_pdm_work_init(&w, &pdm, &err), AU_OK);
    AuFaceAlign fa;
    assert_int_equal(au_face_align_init(&fa, &pdm, &tris, 0.7, 112, 112, &err), AU_OK);
    AuFhog fh;
    assert_int_equal(au_fhog_init(&fh, 112, 112, 3, 8, &err), AU_OK);

    RefCsv frames, align;
    refcsv_load(&frames, autest_path(path, sizeof(path), "openface/reference/intermediates/changeLighting/clnf_frames.csv"));
    refcsv_load(&align, autest_path(path, sizeof(path), "openface/reference/intermediates/changeLighting/fa_align.csv"));
    RefHog hog;
    refhog_load(&hog, autest_path(path, sizeof(path), "openface/reference/changeLighting_hog_aligned/changeLighting.hog"));
    autest_path(dir, sizeof(dir), "openface/reference/changeLighting_hog_aligned/changeLighting_aligned");

    AuVideo *v;
    assert_int_equal(au_video_open(&v, autest_path(path, sizeof(path), "openface/videos/changeLighting.wmv"), &err), AU_OK);
    AuFrame f = {0};
    AuImageU8 out;
    assert_int_equal(au_image_u8_alloc(&out, 112, 112, 3, &err), AU_OK);
    float *h = malloc(sizeof(float) * 4464);
    double max_warp = 0, max_hog = 0;
    long px_diff = 0, n_frames = 0;
    for (int row = 0; row < frames.n_rows; row++) {
        assert_int_equal(au_video_read(v, &f, &err), AU_OK);
        float lm[136], g[6], local[34];
        double tmp[68];
        refcsv_vec(&frames, row, "x_", 68, tmp);
        for (int i = 0; i < 68; i++)
            lm[i] = (float)tmp[i];
        refcsv_vec(&frames, row, "y_", 68, tmp);
        for (int i = 0; i < 68; i++)
            lm[68 + i] = (float)tmp[i];
        au_pdm_params_from_landmarks(&pdm, lm, NULL, g, local, &w);
        assert_int_equal(au_face_align(&fa, &f.bgr, lm, g, &out, &err), AU_OK);
        static const char *wc[6] = {"warp_00", "warp_01", "warp_02", "warp_10", "warp_11", "warp_12"};
        for (int k = 0; k < 6; k++) {
            double d = fabs((double)fa.warp[k] - refcsv_get(&align, row, wc[k]));
            if (d > max_warp)
                max_warp = d;
        }
        AuImageU8 ref;
        snprintf(path, sizeof(path), "%s/frame_det_00_%06d.bmp", dir, row + 1);
        assert_int_equal(autest_bmp_read(path, &ref, &err), AU_OK);
        for (size_t i = 0; i < (size_t)112 * 112 * 3; i++)
            px_diff += ref.data[i] != out.data[i];
        au_image_u8_free(&ref);
        assert_int_equal(au_fhog_run(&fh, &out, h, &err), AU_OK);
        const float *rh = refhog_frame(&hog, row);
        for (int i = 0; i < 4464; i++) {
            double d = fabs((double)h[i] - rh[i]);
            if (d > max_hog)
                max_hog = d;
        }
        n_frames++;
    }
    printf("changeLighting alignment over %ld frames: max warp diff %.3g, differing pixels %ld of %ld, max HOG diff %.3g\n",
           n_frames, max_warp, px_diff, n_frames * 112 * 112 * 3, max_hog);
    assert_int_equal(n_frames, 88);
    assert_true(max_warp < 1e-6);
    assert_int_equal(px_diff, 0);
    assert_true(max_hog == 0.0);

    free(h);
    au_image_u8_free(&out);
    au_frame_free(&f);
    au_video_close(v);
    refhog_free(&hog);
    refcsv_free(&frames);
    refcsv_free(&align);
    au_fhog_free(&fh);
    au_face_align_free(&fa);
    au_pdm_work_free(&w);
    au_mat_free(&tris);
    au_pdm_free(&pdm);
}

static void test_paw_mask_square(void **state)
{
    (void)state;
    /* Two triangles covering the square [1,3]x[1,3] of a 5x5 grid: pixel
     * centres on the edges count as inside (sameSide uses >= 0). */
    float shape[8] = {1, 3, 3, 1, /* x */ 1, 1, 3, 3 /* y */};
    int t[6] = {0, 1, 2, 0, 2, 3};
    AuMat tris = {2, 3, AU_MAT_S32, t};
    unsigned char mask[25];
    au_paw_mask(shape, 4, &tris, 0, 0, 5, 5, mask);
    for (int y = 0; y < 5; y++)
        for (int x = 0; x < 5; x++)
            assert_int_equal(mask[y * 5 + x], x >= 1 && x <= 3 && y >= 1 && y <= 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paw_mask_square),
        cmocka_unit_test(test_align_changelighting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
