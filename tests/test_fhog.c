/* FHOG against OpenFace's own output: the aligned faces OpenFace wrote for
 * changeLighting.wmv (-simalign) and the FHOG it computed from the same images
 * (-hogalign). Plus the BMP test reader, synthetic images and bad arguments. */
#include "autest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmp.h"
#include "cpu.h"
#include "dsp.h"
#include "fhog.h"

#define REF_DIR "openface/reference/changeLighting_hog_aligned/"
#define N_FRAMES 88
#define HOG_N (12 * 12 * 31)

static const char *aligned_path(char *buf, size_t n, int frame)
{
    char rel[256];
    snprintf(rel, sizeof(rel), REF_DIR "changeLighting_aligned/frame_det_00_%06d.bmp", frame);
    return autest_path(buf, n, rel);
}

/* Reads frame (0-based) of OpenFace's .hog file: int32 cols, rows, channels,
 * float32 success, then the values. */
static void read_ref_hog(const unsigned char *data, size_t size, int frame, float *vals)
{
    const size_t rec = 16 + (size_t)HOG_N * 4;
    assert_true(size >= rec * (size_t)(frame + 1));
    const unsigned char *p = data + rec * (size_t)frame;
    int32_t hdr[3];
    float success;
    memcpy(hdr, p, 12);
    memcpy(&success, p + 12, 4);
    assert_int_equal(hdr[0], 12);
    assert_int_equal(hdr[1], 12);
    assert_int_equal(hdr[2], 31);
    assert_true(success == 1.0f);
    memcpy(vals, p + 16, (size_t)HOG_N * 4);
}

static void test_bmp_reader(void **state)
{
    (void)state;
    char path[1024];
    aligned_path(path, sizeof(path), 1);
    autest_require_file(path);
    AuImageU8 img;
    AuError err = {0};
    assert_int_equal(autest_bmp_read(path, &img, &err), AU_OK);
    assert_int_equal(img.width, 112);
    assert_int_equal(img.height, 112);
    assert_int_equal(img.channels, 3);
    /* Pixel (x=56, y=40) of frame 1, bytes B, G, R. Obtained with
     * python3: d=open(f,'rb').read(); o=54+(111-40)*336+56*3; d[o:o+3]
     * (the file is bottom-up, 336 bytes per row). */
    const uint8_t *px = au_image_u8_row(&img, 40) + 56 * 3;
    assert_int_equal(px[0], 33);
    assert_int_equal(px[1], 63);
    assert_int_equal(px[2], 97);
    /* The corner is outside the face mask: black. */
    assert_int_equal(au_image_u8_row(&img, 0)[0], 0);
    au_image_u8_free(&img);

    assert_int_equal(autest_bmp_read("/nonexistent/x.bmp", &img, &err), AU_ERR_IO);
    assert_non_null(strstr(err.msg, "/nonexistent/x.bmp"));
}

/* An 8-bit gray-palette BMP (as OpenCV writes gray images), top-down, 3x2
 * pixels: rows are padded to 4 bytes. */
static void test_bmp_8bit(void **state)
{
    (void)state;
    unsigned char f[14 + 40 + 256 * 4 + 2 * 4];
    memset(f, 0, sizeof(f));
    f[0] = 'B';
    f[1] = 'M';
    const uint32_t off = 14 + 40 + 256 * 4;
    memcpy(f + 10, &off, 4); /* little-endian host */
    f[14] = 40;
    f[18] = 3; /* width 3 */
    const int32_t h = -2; /* top-down */
    memcpy(f + 22, &h, 4);
    f[26] = 1;
    f[28] = 8;
    for (int i = 0; i < 256; i++)
        memset(f + 54 + 4 * i, i, 3);
    const unsigned char px[8] = {10, 20, 30, 0, 40, 50, 60, 0};
    memcpy(f + off, px, 8);
    AuImageU8 img;
    AuError err = {0};
    assert_int_equal(autest_bmp_decode("g.bmp", f, sizeof(f), &img, &err), AU_OK);
    assert_int_equal(img.channels, 1);
    assert_int_equal(img.width, 3);
    assert_int_equal(img.height, 2);
    assert_int_equal(au_image_u8_row(&img, 0)[2], 30);
    assert_int_equal(au_image_u8_row(&img, 1)[0], 40);
    au_image_u8_free(&img);
    /* A coloured palette entry gives a BGR image. */
    f[54 + 4 * 40] = 7;
    assert_int_equal(autest_bmp_decode("g.bmp", f, sizeof(f), &img, &err), AU_OK);
    assert_int_equal(img.channels, 3);
    assert_int_equal(au_image_u8_row(&img, 1)[0], 7);
    assert_int_equal(au_image_u8_row(&img, 1)[1], 40);
    au_image_u8_free(&img);
    /* Cut inside the pixel rows. */
    assert_int_equal(autest_bmp_decode("g.bmp", f, sizeof(f) - 1, &img, &err), AU_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "g.bmp"));
}

static AuStatus load_bmp(const char *path, void *ctx, AuError *err)
{
    (void)ctx;
    AuImageU8 img;
    AuStatus st = autest_bmp_read(path, &img, err);
    au_image_u8_free(&img);
    return st;
}

static void test_bmp_bad_input(void **state)
{
    (void)state;
    char src[1024], dir[256], dst[1300];
    aligned_path(src, sizeof(src), 1);
    autest_mkdtemp(dir, sizeof(dir));
    snprintf(dst, sizeof(dst), "%s/face.bmp", dir);
    autest_copy_file(src, dst);
    autest_check_truncations(dst, dst, load_bmp, NULL, 12, 0);
    autest_check_corruptions(dst, dst, load_bmp, NULL, 20, 4, 7);
    autest_rmtree(dir);

    /* In-memory headers: wrong signature, unsupported depth. */
    unsigned char hdr[54] = {'B', 'M'};
    hdr[14] = 40;
    hdr[18] = 4;
    hdr[22] = 4;
    hdr[26] = 1;
    hdr[28] = 32;
    AuImageU8 img;
    AuError err = {0};
    assert_int_equal(autest_bmp_decode("m.bmp", hdr, sizeof(hdr), &img, &err), AU_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "m.bmp: byte offset 28"));
    hdr[0] = 'X';
    assert_int_equal(autest_bmp_decode("m.bmp", hdr, sizeof(hdr), &img, &err), AU_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "m.bmp"));
}

/* Every aligned face of changeLighting against OpenFace's FHOG. */
static void test_known_answer_openface(void **state)
{
    (void)state;
    char path[1024];
    autest_path(path, sizeof(path), REF_DIR "changeLighting.hog");
    autest_require_file(path);
    unsigned char *hog_data;
    size_t hog_size;
    assert_int_equal(autest_read_file(path, &hog_data, &hog_size), 0);
    assert_int_equal(hog_size, (size_t)N_FRAMES * (16 + HOG_N * 4));

    AuFhog fhog;
    AuError err = {0};
    assert_int_equal(au_fhog_init(&fhog, 112, 112, 3, 8, &err), AU_OK);
    assert_int_equal(fhog.rows, 12);
    assert_int_equal(fhog.cols, 12);
    assert_int_equal(au_fhog_size(&fhog), HOG_N);

    /* the C row kernel, and the DSP table's for this CPU if it differs
     * (AU_CPU_MASK applies) */
    unsigned cpu;
    if (au_cpu_flags(&cpu, &err) != AU_OK)
        fail_msg("%s", err.msg);
    AuDsp dsp;
    au_dsp_init(&dsp, cpu);
    assert_true(fhog.row_fn == au_fhog_row_c);
    const AuFhogRowFn row_fns[2] = {au_fhog_row_c, dsp.fhog_row};
    const int n_row_fns = dsp.fhog_row != au_fhog_row_c ? 2 : 1;

    static float ref[HOG_N], got[HOG_N];
    for (int r = 0; r < n_row_fns; r++) {
        fhog.row_fn = row_fns[r];
        double max_diff = 0.0, sum_diff = 0.0;
        long n_exact = 0, n_total = 0;
        for (int frame = 0; frame < N_FRAMES; frame++) {
            read_ref_hog(hog_data, hog_size, frame, ref);
            AuImageU8 img;
            aligned_path(path, sizeof(path), frame + 1);
            if (autest_bmp_read(path, &img, &err) != AU_OK)
                fail_msg("%s", err.msg);
            assert_int_equal(au_fhog_run(&fhog, &img, got, &err), AU_OK);
            au_image_u8_free(&img);
            for (int i = 0; i < HOG_N; i++) {
                double d = fabs((double)got[i] - (double)ref[i]);
                if (d > max_diff)
                    max_diff = d;
                sum_diff += d;
                n_exact += got[i] == ref[i];
                n_total++;
            }
        }
        print_message("fhog (%s row kernel) vs OpenFace: %d frames, max |diff| %.3g, mean |diff| %.3g, %ld of %ld "
                      "values identical\n",
                      r ? "SIMD" : "C", N_FRAMES, max_diff, sum_diff / (double)n_total, n_exact, n_total);
        /* dlib's float arithmetic is reproduced exactly, so every value is bit
         * identical (a changed summation order alone gives differences of ~3e-8,
         * a changed channel tie rule ~3e-2). */
        assert_true(max_diff == 0.0);
        assert_int_equal(n_exact, n_total);
    }
    au_fhog_free(&fhog);
    free(hog_data);
}

/* A few values of frame 1 on their own, read from changeLighting.hog with
 * python3 struct.unpack('<4464f', d[16:16 + 4464 * 4]) and printed with repr. */
static void test_frame1_values(void **state)
{
    (void)state;
    char path[1024];
    aligned_path(path, sizeof(path), 1);
    AuImageU8 img;
    AuError err = {0};
    if (autest_bmp_read(path, &img, &err) != AU_OK)
        fail_msg("%s", err.msg);
    static float got[HOG_N];
    int rows = 0, cols = 0;
    assert_int_equal(au_fhog_compute(&img, 8, got, HOG_N, &rows, &cols, &err), AU_OK);
    au_image_u8_free(&img);
    assert_int_equal(rows, 12);
    assert_int_equal(cols, 12);
    assert_true(got[0] == 0.10584139823913574f);  /* cell (0,0), bin 0 */
    assert_true(got[1] == 0.4000000059604645f);   /* clamped in all 4 blocks: 4 x 0.1 */
    assert_true(got[27] == 0.17506693303585052f); /* texture feature of block (1,1) */
    assert_true(got[30] == 0.21612043678760529f);
    /* value 4463: cell (11,11), feature 30 */
    assert_true(got[HOG_N - 1] == 0.0007472618017345667f);
    /* value (5 * 12 + 7) * 31 + 20: cell (5,7), insensitive bin 2 */
    assert_true(got[(5 * 12 + 7) * 31 + 20] == 0.036895498633384705f);
}

/* Gray image with a smooth, non-trivial pattern (no exact orientation ties). */
static void fill_pattern(AuImageU8 *img, int seed)
{
    for (int y = 0; y < img->height; y++) {
        uint8_t *row = au_image_u8_row(img, y);
        for (int x = 0; x < img->width; x++) {
            double v = 128.0 + 60.0 * sin(0.23 * x + 0.11 * y + seed) + 50.0 * cos(0.07 * x * y / 8.0 - 0.31 * y) +
                       10.0 * sin(1.7 * x - 0.9 * y + 0.5 * seed);
            for (int c = 0; c < img->channels; c++)
                row[x * img->channels + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
}

/* Felzenszwalb HOG written plainly (double accumulation, bounds-checked votes,
 * the textbook 0.5 * sum min(h / |block|, 0.2) form) for gray images: checks
 * cell geometry, borders and the output layout on sizes the reference does not
 * cover. Orientation uses dlib's float dot products, which is its definition. */
static void naive_fhog(const AuImageU8 *img, int cs, double *out, int *rows_out, int *cols_out)
{
    static const float dx[9] = {1.0000f, 0.9397f, 0.7660f, 0.500f, 0.1736f, -0.1736f, -0.5000f, -0.7660f, -0.9397f};
    static const float dy[9] = {0.0000f, 0.3420f, 0.6428f, 0.8660f, 0.9848f, 0.9848f, 0.8660f, 0.6428f, 0.3420f};
    int cr = (int)((double)img->height / cs + 0.5), cc = (int)((double)img->width / cs + 0.5);
    double *hist = calloc((size_t)cr * cc * 18, sizeof(double));
    double *energy = calloc((size_t)cr * cc, sizeof(double));
    assert_non_null(hist);
    assert_non_null(energy);
    int vr = (cr * cs < img->height ? cr * cs : img->height) - 1;
    int vc = (cc * cs < img->width ? cc * cs : img->width) - 1;
    for (int y = 1; y < vr; y++) {
        for (int x = 1; x < vc; x++) {
            const uint8_t *p = au_image_u8_row(img, y);
            int gx = p[x + 1] - p[x - 1];
            int gy = au_image_u8_row(img, y + 1)[x] - au_image_u8_row(img, y - 1)[x];
            float best = 0;
            int bo = 0;
            for (int o = 0; o < 9; o++) {
                float d = dx[o] * (float)gx + dy[o] * (float)gy;
                if (d > best) {
                    best = d;
                    bo = o;
                } else if (-d > best) {
                    best = -d;
                    bo = o + 9;
                }
            }
            double v = sqrt((double)(gx * gx + gy * gy));
            double xp = (x + 0.5) / cs - 0.5, yp = (y + 0.5) / cs - 0.5;
            int ix = (int)floor(xp), iy = (int)floor(yp);
            double wx1 = xp - ix, wy1 = yp - iy;
            for (int a = 0; a < 2; a++)
                for (int b = 0; b < 2; b++) {
                    int r = iy + a, c = ix + b;
                    if (r >= 0 && r < cr && c >= 0 && c < cc)
                        hist[((size_t)r * cc + c) * 18 + bo] += (a ? wy1 : 1 - wy1) * (b ? wx1 : 1 - wx1) * v;
                }
        }
    }
    for (int i = 0; i < cr * cc; i++)
        for (int o = 0; o < 9; o++) {
            double s = hist[(size_t)i * 18 + o] + hist[(size_t)i * 18 + o + 9];
            energy[i] += s * s;
        }
    int rows = cr - 2, cols = cc - 2;
    for (int y = 0; y < rows; y++)
        for (int x = 0; x < cols; x++) {
            const double *h = hist + ((size_t)(y + 1) * cc + (x + 1)) * 18;
            double inv[4];
            for (int k = 0; k < 4; k++) {
                /* blocks whose top-left cell is (y+1, x+1), (y, x+1), (y+1, x), (y, x) */
                int r = y + (k == 0 || k == 2), c = x + (k < 2);
                double e = energy[(size_t)r * cc + c] + energy[(size_t)r * cc + c + 1] +
                           energy[(size_t)(r + 1) * cc + c] + energy[(size_t)(r + 1) * cc + c + 1];
                inv[k] = 1.0 / sqrt(e + 0.0001);
            }
            double *f = out + ((size_t)y * cols + x) * 31;
            double t[4] = {0, 0, 0, 0};
            for (int o = 0; o < 27; o++) {
                double hv = o < 18 ? h[o] : h[o - 18] + h[o - 9];
                double acc = 0;
                for (int k = 0; k < 4; k++) {
                    double m = fmin(hv * inv[k], 0.2);
                    acc += m;
                    if (o < 18)
                        t[k] += m;
                }
                f[o] = 0.5 * acc;
            }
            for (int k = 0; k < 4; k++)
                f[27 + k] = 0.2357 * t[k];
        }
    *rows_out = rows;
    *cols_out = cols;
    free(hist);
    free(energy);
}

static void test_against_plain_implementation(void **state)
{
    (void)state;
    static const int sizes[][3] = {{112, 112, 8}, {100, 84, 6}, {61, 47, 4}, {24, 24, 8}, {45, 90, 9}, {37, 29, 5}};
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        int w = sizes[k][0], h = sizes[k][1], cs = sizes[k][2];
        AuImageU8 img;
        AuError err = {0};
        assert_int_equal(au_image_u8_alloc(&img, w, h, 1, &err), AU_OK);
        fill_pattern(&img, (int)k);
        AuFhog fhog;
        assert_int_equal(au_fhog_init(&fhog, w, h, 1, cs, &err), AU_OK);
        int n = au_fhog_size(&fhog);
        float *got = malloc(sizeof(float) * (size_t)n);
        double *want = malloc(sizeof(double) * (size_t)n);
        assert_non_null(got);
        assert_non_null(want);
        assert_int_equal(au_fhog_run(&fhog, &img, got, &err), AU_OK);
        int rows, cols;
        naive_fhog(&img, cs, want, &rows, &cols);
        assert_int_equal(rows, fhog.rows);
        assert_int_equal(cols, fhog.cols);
        double max_diff = 0, sum = 0;
        for (int i = 0; i < n; i++) {
            double d = fabs((double)got[i] - want[i]);
            max_diff = d > max_diff ? d : max_diff;
            sum += want[i];
        }
        if (max_diff > 1e-6)
            fail_msg("%dx%d cell %d: max |diff| %g against the plain implementation", w, h, cs, max_diff);
        assert_true(sum > 0.1 * n); /* the pattern has texture everywhere */

        /* The same image as BGR with equal channels gives the same features. */
        AuImageU8 bgr;
        assert_int_equal(au_image_u8_alloc(&bgr, w, h, 3, &err), AU_OK);
        fill_pattern(&bgr, (int)k);
        AuFhog fhog3;
        assert_int_equal(au_fhog_init(&fhog3, w, h, 3, cs, &err), AU_OK);
        float *got3 = malloc(sizeof(float) * (size_t)n);
        assert_non_null(got3);
        assert_int_equal(au_fhog_run(&fhog3, &bgr, got3, &err), AU_OK);
        assert_memory_equal(got, got3, sizeof(float) * (size_t)n);
        /* Reusing the context gives the same result again. */
        assert_int_equal(au_fhog_run(&fhog3, &bgr, got3, &err), AU_OK);
        assert_memory_equal(got, got3, sizeof(float) * (size_t)n);

        free(got);
        free(got3);
        free(want);
        au_fhog_free(&fhog);
        au_fhog_free(&fhog3);
        au_image_u8_free(&img);
        au_image_u8_free(&bgr);
    }
}

/* The orientation table against dlib's scan written as dlib writes it
 * (if dot > best ... else if -dot > best ...), and against the angle: every
 * nonzero gradient lies within 10 degrees (plus the 4-digit vectors' slack) of
 * its bin's direction b * 20 degrees. */
static void test_orientation_table(void **state)
{
    (void)state;
    static const float dx[9] = {1.0000f, 0.9397f, 0.7660f, 0.500f, 0.1736f, -0.1736f, -0.5000f, -0.7660f, -0.9397f};
    static const float dy[9] = {0.0000f, 0.3420f, 0.6428f, 0.8660f, 0.9848f, 0.9848f, 0.8660f, 0.6428f, 0.3420f};
    uint8_t *table = malloc(AU_FHOG_ORIENT_SIZE);
    assert_non_null(table);
    au_fhog_orientation_table(table);
    const double pi = 3.14159265358979323846;
    for (int gy = -255; gy <= 255; gy++) {
        for (int gx = -255; gx <= 255; gx++) {
            float best = 0;
            int bo = 0;
            for (int o = 0; o < 9; o++) {
                float d = dx[o] * (float)gx + dy[o] * (float)gy;
                if (d > best) {
                    best = d;
                    bo = o;
                } else if (-d > best) {
                    best = -d;
                    bo = o + 9;
                }
            }
            const int got = table[AU_FHOG_ORIENT_INDEX(gx, gy)];
            if (got != bo)
                fail_msg("gradient (%d, %d): table bin %d, dlib's scan %d", gx, gy, got, bo);
            if (gx == 0 && gy == 0)
                continue;
            double diff = fabs(atan2((double)gy, (double)gx) - bo * pi / 9.0);
            diff = fmin(diff, 2 * pi - diff);
            if (diff > pi / 18.0 + 1e-3)
                fail_msg("gradient (%d, %d) at %.3f rad is in bin %d", gx, gy, atan2((double)gy, (double)gx), bo);
        }
    }
    assert_int_equal(table[AU_FHOG_ORIENT_INDEX(0, 0)], 0);
    assert_int_equal(table[AU_FHOG_ORIENT_INDEX(10, 0)], 0);
    assert_int_equal(table[AU_FHOG_ORIENT_INDEX(-10, 0)], 9);
    /* Straight down (+y, image rows grow downwards) ties between bins 4 and 5
     * (x components +-0.1736): the first wins. Straight up: 4 + 9. */
    assert_int_equal(table[AU_FHOG_ORIENT_INDEX(0, 10)], 4);
    assert_int_equal(table[AU_FHOG_ORIENT_INDEX(0, -10)], 13);
    assert_int_equal(table[AU_FHOG_ORIENT_INDEX(100, 100)], 2); /* 45 degrees: bin 2 (40) */
    free(table);
}

/* A flat image has no gradient: every feature is 0. */
static void test_flat_image(void **state)
{
    (void)state;
    AuImageU8 img;
    AuError err = {0};
    assert_int_equal(au_image_u8_alloc(&img, 112, 112, 3, &err), AU_OK);
    memset(img.data, 77, img.stride * 112);
    static float out[HOG_N];
    out[5] = -1.0f;
    assert_int_equal(au_fhog_compute(&img, 8, out, HOG_N, NULL, NULL, &err), AU_OK);
    for (int i = 0; i < HOG_N; i++)
        assert_true(out[i] == 0.0f);
    au_image_u8_free(&img);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    AuFhog fhog;
    AuError err = {0};
    assert_int_equal(au_fhog_init(&fhog, 16, 16, 3, 8, &err), AU_ERR_ARG); /* 2x2 cells: dlib gives nothing */
    assert_non_null(strstr(err.msg, "16x16"));
    au_fhog_free(&fhog);
    assert_int_equal(au_fhog_init(&fhog, 112, 112, 4, 8, &err), AU_ERR_ARG);
    assert_int_equal(au_fhog_init(&fhog, 112, 112, 3, 1, &err), AU_ERR_ARG); /* dlib has a separate cell-size-1 path */
    au_fhog_free(&fhog);
    memset(&fhog, 0, sizeof(fhog));
    au_fhog_free(&fhog);

    AuImageU8 img;
    assert_int_equal(au_image_u8_alloc(&img, 100, 112, 3, &err), AU_OK);
    memset(img.data, 0, img.stride * 112);
    assert_int_equal(au_fhog_init(&fhog, 112, 112, 3, 8, &err), AU_OK);
    static float out[HOG_N];
    assert_int_equal(au_fhog_run(&fhog, &img, out, &err), AU_ERR_ARG);
    assert_non_null(strstr(err.msg, "100x112x3"));
    au_fhog_free(&fhog);
    assert_int_equal(au_fhog_compute(&img, 8, out, 10, NULL, NULL, &err), AU_ERR_ARG);
    assert_non_null(strstr(err.msg, "10 floats"));
    au_image_u8_free(&img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bmp_reader),
        cmocka_unit_test(test_bmp_8bit),
        cmocka_unit_test(test_bmp_bad_input),
        cmocka_unit_test(test_known_answer_openface),
        cmocka_unit_test(test_frame1_values),
        cmocka_unit_test(test_against_plain_implementation),
        cmocka_unit_test(test_orientation_table),
        cmocka_unit_test(test_flat_image),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
