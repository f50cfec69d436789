/* Face alignment for AUs (AlignFaceMask) against OpenFace on changeLighting.wmv:
 *  - the 2x3 warp of every frame (fa_align.csv) from OpenFace's final
 *    landmarks (clnf_frames.csv) and the FaceAnalyser's params_global
 *    (fa_params.csv);
 *  - the aligned, masked 112x112 faces OpenFace wrote
 *    (changeLighting_aligned/frame_det_00_NNNNNN.bmp) from the decoded frames,
 *    with the C warp and the CPU's DSP table's on alternate frames;
 *  - the chain aligned face -> FHOG against OpenFace's changeLighting.hog and
 *    the fa_hog.f64 dump, and with params_global from our own CalcParams;
 *  - a synthetic face (the mean shape itself), bad arguments. */
#include "autest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmp.h"
#include "clnf_model.h"
#include "cpu.h"
#include "dsp.h"
#include "face_align.h"
#include "fhog.h"
#include "pdm.h"
#include "refcsv.h"
#include "refhog.h"
#include "video.h"

#define INTER_DIR "openface/reference/intermediates/changeLighting/"
#define ALIGNED_DIR "openface/reference/changeLighting_hog_aligned/"
#define N_FRAMES 88
#define HOG_LEN 4464

typedef struct Fixture {
    AuPdm pdm;
    AuMat tris;
    AuFaceAlign fa;
    RefCsv frames, params, align;
} Fixture;

static int setup(void **state)
{
    Fixture *f = calloc(1, sizeof(*f));
    char path[1024];
    AuError err = {0};
    autest_path(path, sizeof(path), "openface/models/AU_predictors/In-the-wild_aligned_PDM_68.txt");
    autest_require_file(path);
    assert_int_equal(au_pdm_load(&f->pdm, path, &err), AU_OK);
    autest_path(path, sizeof(path), "openface/models/AU_predictors/tris_68_full.txt");
    assert_int_equal(au_tris_load_single(&f->tris, path, &err), AU_OK);
    assert_int_equal(au_face_align_init(&f->fa, &f->pdm, &f->tris, 0.7, 112, 112, &err), AU_OK);
    refcsv_load(&f->frames, autest_path(path, sizeof(path), INTER_DIR "clnf_frames.csv"));
    refcsv_load(&f->params, autest_path(path, sizeof(path), INTER_DIR "fa_params.csv"));
    refcsv_load(&f->align, autest_path(path, sizeof(path), INTER_DIR "fa_align.csv"));
    /* Every frame of changeLighting succeeds, so the three files align row by row. */
    assert_int_equal(f->frames.n_rows, N_FRAMES);
    assert_int_equal(f->params.n_rows, N_FRAMES);
    assert_int_equal(f->align.n_rows, N_FRAMES);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    Fixture *f = *state;
    refcsv_free(&f->frames);
    refcsv_free(&f->params);
    refcsv_free(&f->align);
    au_face_align_free(&f->fa);
    au_mat_free(&f->tris);
    au_pdm_free(&f->pdm);
    free(f);
    return 0;
}

static void row_landmarks(const Fixture *f, int row, float *lm)
{
    double v[136];
    refcsv_vec(&f->frames, row, "x_", 68, v);
    refcsv_vec(&f->frames, row, "y_", 68, v + 68);
    for (int i = 0; i < 136; i++)
        lm[i] = (float)v[i];
}

static void row_params(const Fixture *f, int row, float *g)
{
    static const char *names[6] = {"p_scale", "p_rx", "p_ry", "p_rz", "p_tx", "p_ty"};
    for (int k = 0; k < 6; k++)
        g[k] = (float)refcsv_get(&f->params, row, names[k]);
}

static const char *warp_cols[6] = {"warp_00", "warp_01", "warp_02", "warp_10", "warp_11", "warp_12"};

/* The warp of all 88 frames, bit for bit (the CSV's %.9g floats read back exactly). */
static void test_warp_matrix_matches_openface(void **state)
{
    Fixture *f = *state;
    double max_diff = 0;
    long n_diff = 0;
    for (int r = 0; r < N_FRAMES; r++) {
        assert_int_equal((int)refcsv_get(&f->frames, r, "frame"), r + 1);
        assert_int_equal((int)refcsv_get(&f->params, r, "frame"), r + 1);
        assert_int_equal((int)refcsv_get(&f->align, r, "frame"), r + 1);
        float lm[136], g[6];
        row_landmarks(f, r, lm);
        row_params(f, r, g);
        /* fa_align's tx, ty are fa_params' translation. */
        assert_true(g[4] == (float)refcsv_get(&f->align, r, "tx"));
        assert_true(g[5] == (float)refcsv_get(&f->align, r, "ty"));
        au_face_align_warp_matrix(&f->fa, lm, g);
        for (int k = 0; k < 6; k++) {
            /* %.9g: exact once read back as float. */
            double d = fabs((double)f->fa.warp[k] - (double)(float)refcsv_get(&f->align, r, warp_cols[k]));
            n_diff += d != 0;
            max_diff = d > max_diff ? d : max_diff;
        }
    }
    printf("warp matrices: %ld of %d values differ, max diff %g\n", n_diff, 6 * N_FRAMES, max_diff);
    assert_int_equal(n_diff, 0);
    /* Frame 1 by hand from fa_align.csv: a scaled rotation (equal diagonal,
     * opposite off-diagonal), scale ~0.476. */
    float lm[136], g[6];
    row_landmarks(f, 0, lm);
    row_params(f, 0, g);
    au_face_align_warp_matrix(&f->fa, lm, g);
    assert_true(f->fa.warp[0] == 0.47621417f);
    assert_true(f->fa.warp[2] == -98.8313446f);
    assert_true(f->fa.warp[5] == -54.0237732f);
}

/* With params_global from our own CalcParams (pdm.h) instead of the dump,
 * the warps are still OpenFace's. */
static void test_warp_from_own_calc_params(void **state)
{
    Fixture *f = *state;
    AuError err = {0};
    AuPdmWork w;
    assert_int_equal(au_pdm_work_init(&w, &f->pdm, &err), AU_OK);
    float *local = malloc(sizeof(float) * (size_t)f->pdm.n_modes);
    long n_diff = 0;
    for (int r = 0; r < N_FRAMES; r++) {
        float lm[136], g[6];
        row_landmarks(f, r, lm);
        au_pdm_params_from_landmarks(&f->pdm, lm, NULL, g, local, &w);
        au_face_align_warp_matrix(&f->fa, lm, g);
        for (int k = 0; k < 6; k++)
            n_diff += f->fa.warp[k] != (float)refcsv_get(&f->align, r, warp_cols[k]);
    }
    assert_int_equal(n_diff, 0);
    free(local);
    au_pdm_work_free(&w);
}

/* The synthetic face: the landmarks are 0.7 x the mean shape moved by (tx, ty)
 * = (300, 200). The similarity is then the identity (up to float rounding of
 * the normalisations) and the warp a translation by (56 - tx, 56 - ty), so
 * the aligned face is the frame window around (300, 200). */
static void test_synthetic_mean_face(void **state)
{
    Fixture *f = *state;
    AuError err = {0};
    const float *mean = au_mat_f32(&f->pdm.mean_shape);
    float lm[136];
    for (int i = 0; i < 68; i++) {
        lm[i] = mean[i] * 0.7f + 300.0f;
        lm[i + 68] = mean[i + 68] * 0.7f + 200.0f;
    }
    float g[6] = {0.7f, 0, 0, 0, 300.0f, 200.0f};
    au_face_align_warp_matrix(&f->fa, lm, g);
    const float *W = f->fa.warp;
    assert_true(fabsf(W[0] - 1) < 1e-6f && fabsf(W[4] - 1) < 1e-6f);
    assert_true(fabsf(W[1]) < 1e-6f && fabsf(W[3]) < 1e-6f);
    assert_true(fabsf(W[2] - (56 - 300)) < 1e-3f && fabsf(W[5] - (56 - 200)) < 1e-3f);

    /* A frame whose pixel (x, y) holds (x mod 256, y mod 256, 7). */
    AuImageU8 frame, out;
    assert_int_equal(au_image_u8_alloc(&frame, 640, 480, 3, &err), AU_OK);
    for (int y = 0; y < 480; y++)
        for (int x = 0; x < 640; x++) {
            uint8_t *px = au_image_u8_row(&frame, y) + 3 * x;
            px[0] = (uint8_t)(x & 255);
            px[1] = (uint8_t)(y & 255);
            px[2] = 7;
        }
    assert_int_equal(au_image_u8_alloc(&out, 112, 112, 3, &err), AU_OK);
    assert_int_equal(au_face_align(&f->fa, &frame, lm, g, &out, &err), AU_OK);
    int inside = 0;
    for (int y = 0; y < 112; y++)
        for (int x = 0; x < 112; x++) {
            const uint8_t *px = au_image_u8_row(&out, y) + 3 * x;
            if (!f->fa.paw.pixel_mask[y * 112 + x]) {
                assert_true(px[0] == 0 && px[1] == 0 && px[2] == 0);
                continue;
            }
            inside++;
            /* Source position x + 244 +- a tiny offset: rounded to 1/32 px it is exact. */
            assert_int_equal(px[0], (x + 244) & 255);
            assert_int_equal(px[1], y + 144);
            assert_int_equal(px[2], 7);
        }
    /* The mask covers the face, not the corners: the square's corners are out,
     * its centre (the nose) in. */
    assert_true(inside > 112 * 112 / 2 && inside < 112 * 112);
    assert_int_equal(f->fa.paw.pixel_mask[0], 0);
    assert_int_equal(f->fa.paw.pixel_mask[111], 0);
    assert_int_equal(f->fa.paw.pixel_mask[56 * 112 + 56], 1);
    /* The lifted eyebrow points: 0.7 x mean + (56, 56) - 30 (up to rounding). */
    for (int i = 17; i <= 26; i++)
        assert_true(fabsf(f->fa.dst_landmarks[68 + i] - (mean[68 + i] * 0.7f + 56.0f - 30.0f)) < 1e-3f);
    assert_true(fabsf(f->fa.dst_landmarks[68 + 30] - (mean[68 + 30] * 0.7f + 56.0f)) < 1e-3f);
    au_image_u8_free(&frame);
    au_image_u8_free(&out);
}

/* The aligned faces and their FHOG from the decoded frames. */
static void test_aligned_faces_and_hog_match_openface(void **state)
{
    Fixture *f = *state;
    char path[1024];
    AuError err = {0};
    AuVideo *v;
    assert_int_equal(au_video_open(&v, autest_path(path, sizeof(path), "openface/videos/changeLighting.wmv"), &err),
                     AU_OK);
    RefHog hog;
    refhog_load(&hog, autest_path(path, sizeof(path), ALIGNED_DIR "changeLighting.hog"));
    assert_int_equal(hog.n_frames, N_FRAMES);
    assert_int_equal(hog.len, HOG_LEN);
    size_t n_dump;
    double *dump = refcsv_load_f64(autest_path(path, sizeof(path), INTER_DIR "fa_hog.f64"), &n_dump);
    assert_int_equal(n_dump, 3 * HOG_LEN);
    AuFhog fh;
    assert_int_equal(au_fhog_init(&fh, 112, 112, 3, 8, &err), AU_OK);
    float *h = malloc(sizeof(float) * HOG_LEN);
    AuFrame fr = {0};
    AuImageU8 out;
    assert_int_equal(au_image_u8_alloc(&out, 112, 112, 3, &err), AU_OK);
    long px_diff = 0, mask_diff = 0, hog_diff = 0, dump_diff = 0;
    int max_px = 0;
    double max_hog = 0;
    /* odd frames warp with this CPU's DSP table (the tracker's: AVX2 where
     * there is one), even frames with the C version */
    unsigned cpu = 0;
    assert_int_equal(au_cpu_flags(&cpu, &err), AU_OK);
    AuDsp dsp;
    au_dsp_init(&dsp, cpu);
    for (int r = 0; r < N_FRAMES; r++) {
        assert_int_equal(au_video_read(v, &fr, &err), AU_OK);
        float lm[136], g[6];
        row_landmarks(f, r, lm);
        row_params(f, r, g);
        f->fa.dsp = r % 2 ? &dsp : NULL;
        assert_int_equal(au_face_align(&f->fa, &fr.bgr, lm, g, &out, &err), AU_OK);

        char rel[256];
        snprintf(rel, sizeof(rel), ALIGNED_DIR "changeLighting_aligned/frame_det_00_%06d.bmp", r + 1);
        AuImageU8 ref;
        assert_int_equal(autest_bmp_read(autest_path(path, sizeof(path), rel), &ref, &err), AU_OK);
        assert_int_equal(ref.width, 112);
        assert_int_equal(ref.channels, 3);
        for (int y = 0; y < 112; y++) {
            const uint8_t *a = au_image_u8_row(&out, y), *b = au_image_u8_row(&ref, y);
            for (int x = 0; x < 112; x++) {
                int black = !b[3 * x] && !b[3 * x + 1] && !b[3 * x + 2];
                /* Outside the mask the reference is black; inside, a black
                 * pixel would be a (here absent) black face pixel. */
                mask_diff += black == f->fa.paw.pixel_mask[y * 112 + x];
                for (int c = 0; c < 3; c++) {
                    int d = abs((int)a[3 * x + c] - (int)b[3 * x + c]);
                    px_diff += d != 0;
                    max_px = d > max_px ? d : max_px;
                }
            }
        }
        au_image_u8_free(&ref);

        assert_int_equal(au_fhog_run(&fh, &out, h, &err), AU_OK);
        const float *rh = refhog_frame(&hog, r);
        for (int i = 0; i < HOG_LEN; i++) {
            double d = fabs((double)h[i] - rh[i]);
            hog_diff += d != 0;
            max_hog = d > max_hog ? d : max_hog;
            if (r < 3)
                dump_diff += (double)h[i] != dump[(size_t)r * HOG_LEN + (size_t)i];
        }
    }
    printf("aligned faces: %ld of %d values differ (max %d), mask differs at %ld pixels; "
           "HOG: %ld of %d values differ (max %g), fa_hog.f64 frames 1-3: %ld differ\n",
           px_diff, N_FRAMES * 112 * 112 * 3, max_px, mask_diff, hog_diff, N_FRAMES * HOG_LEN, max_hog, dump_diff);
    f->fa.dsp = NULL;
    assert_int_equal(mask_diff, 0);
    assert_int_equal(px_diff, 0);
    /* The re-targeted PAW equals a freshly constructed one for the last frame. */
    AuPaw fresh;
    assert_int_equal(au_paw_init_bounds(&fresh, f->fa.dst_landmarks, 68, au_mat_s32(&f->tris), f->tris.rows, 0, 0,
                                        111, 111, &err),
                     AU_OK);
    assert_memory_equal(fresh.pixel_mask, f->fa.paw.pixel_mask, 112 * 112);
    assert_memory_equal(fresh.triangle_id, f->fa.paw.triangle_id, sizeof(int) * 112 * 112);
    assert_memory_equal(fresh.alpha, f->fa.paw.alpha, sizeof(float) * 3 * (size_t)f->tris.rows);
    au_paw_free(&fresh);
    assert_int_equal(hog_diff, 0);
    assert_int_equal(dump_diff, 0);
    free(h);
    free(dump);
    au_fhog_free(&fh);
    au_image_u8_free(&out);
    au_frame_free(&fr);
    refhog_free(&hog);
    au_video_close(v);
}

static void test_bad_arguments(void **state)
{
    Fixture *f = *state;
    AuError err = {0};
    AuFaceAlign fa;
    /* A triangulation naming a point the 68-point shape lacks. */
    int bad[3] = {0, 1, 68};
    AuMat bad_tris = {1, 3, AU_MAT_S32, bad};
    assert_int_equal(au_face_align_init(&fa, &f->pdm, &bad_tris, 0.7, 112, 112, &err), AU_ERR_ARG);
    assert_non_null(strstr(err.msg, "point 68"));
    au_face_align_free(&fa);
    AuMat wrong_type = {1, 3, AU_MAT_F64, bad};
    assert_int_equal(au_face_align_init(&fa, &f->pdm, &wrong_type, 0.7, 112, 112, &err), AU_ERR_ARG);
    assert_int_equal(au_face_align_init(&fa, &f->pdm, &f->tris, 0.7, 0, 112, &err), AU_ERR_ARG);
    AuPdm small = f->pdm;
    small.n_points = 66;
    assert_int_equal(au_face_align_init(&fa, &small, &f->tris, 0.7, 112, 112, &err), AU_ERR_ARG);
    assert_non_null(strstr(err.msg, "66"));
    au_face_align_free(&fa);

    /* Output of the wrong size or channel count. */
    AuImageU8 frame, out;
    assert_int_equal(au_image_u8_alloc(&frame, 64, 48, 3, &err), AU_OK);
    memset(frame.data, 9, frame.stride * 48);
    assert_int_equal(au_image_u8_alloc(&out, 112, 112, 1, &err), AU_OK);
    float lm[136] = {0}, g[6] = {0};
    assert_int_equal(au_face_align(&f->fa, &frame, lm, g, &out, &err), AU_ERR_ARG);
    assert_non_null(strstr(err.msg, "112x112x1"));
    au_image_u8_free(&out);
    /* Degenerate landmarks (all equal) must not crash: the result is some
     * image (NaN warp: OpenCV's saturate_cast gives INT_MIN positions -> border). */
    assert_int_equal(au_image_u8_alloc(&out, 112, 112, 3, &err), AU_OK);
    for (int i = 0; i < 136; i++)
        lm[i] = 5.0f;
    assert_int_equal(au_face_align(&f->fa, &frame, lm, g, &out, &err), AU_OK);
    au_image_u8_free(&out);
    au_image_u8_free(&frame);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_warp_matrix_matches_openface),
        cmocka_unit_test(test_warp_from_own_calc_params),
        cmocka_unit_test(test_synthetic_mean_face),
        cmocka_unit_test(test_aligned_faces_and_hog_match_openface),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
