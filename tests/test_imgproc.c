/* Image primitives against OpenCV 4.6: OpenFace's own dumps where they exist
 * (patch-expert areas of interest = warpAffine of the float gray frame;
 * aligned faces = warpAffine of the BGR frame), hand-derived cases, and values
 * and hashes produced by cv2 4.6.0 (Debian 12's python3-opencv, the OpenCV
 * OpenFace was built with) on inputs these tests rebuild exactly. */
#include "autest.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/log.h>

#include "imgproc.h"
#include "video.h"

static uint64_t fnv_bytes(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* ---- CSV with a header line ------------------------------------------------------- */

typedef struct Csv {
    char **cols;
    int ncols;
    char *header;
} Csv;

static int split(char *line, char **out, int max)
{
    int n = 0;
    char *s = line;
    for (;;) {
        if (n < max)
            out[n] = s;
        n++;
        char *c = strchr(s, ',');
        if (!c)
            break;
        *c = '\0';
        s = c + 1;
    }
    char *nl = strpbrk(out[n - 1 < max ? n - 1 : max - 1], "\r\n");
    if (nl)
        *nl = '\0';
    return n;
}

static int col(const Csv *c, const char *name)
{
    for (int i = 0; i < c->ncols; i++)
        if (strcmp(c->cols[i], name) == 0)
            return i;
    fail_msg("column %s missing", name);
    return -1;
}

static FILE *csv_open(const char *path, Csv *c, char *hdr, size_t n)
{
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s", path);
    if (!fgets(hdr, (int)n, f))
        fail_msg("empty %s", path);
    c->cols = malloc(sizeof(char *) * 512);
    c->ncols = split(hdr, c->cols, 512);
    c->header = hdr;
    return f;
}

/* ---- decoded frames ------------------------------------------------------------------ */

/* Frames first..last (1-based) of changeLighting.wmv into frames[]. */
static void decode_frames(int last, AuFrame *frames)
{
    char p[1024];
    autest_path(p, sizeof(p), "openface/videos/changeLighting.wmv");
    autest_require_file(p);
    AuVideo *v;
    AuError err = {0};
    assert_int_equal(au_video_open(&v, p, &err), AU_OK);
    for (int i = 0; i < last; i++)
        assert_int_equal(au_video_read(v, &frames[i], &err), AU_OK);
    au_video_close(v);
}

/* ---- conversions ---------------------------------------------------------------------- */

static void test_bgr_to_gray_known_values(void **state)
{
    (void)state;
    /* cv2.cvtColor(BGR2GRAY) of these pixels: 18, 255, 76, 29, 150, 2. (49, 22, 0)
     * is where OpenCV's 15-bit table (18) and the 14-bit one (19) part:
     * 18.5001 exactly, 18.99 in 15 bits. */
    const uint8_t px[6][3] = {{49, 22, 0}, {255, 255, 255}, {0, 0, 255}, {255, 0, 0}, {0, 255, 0}, {1, 2, 3}};
    const uint8_t want[6] = {18, 255, 76, 29, 150, 2};
    AuImageU8 bgr, gray;
    AuError err = {0};
    assert_int_equal(au_image_u8_alloc(&bgr, 6, 1, 3, &err), AU_OK);
    assert_int_equal(au_image_u8_alloc(&gray, 6, 1, 1, &err), AU_OK);
    memcpy(bgr.data, px, sizeof(px));
    au_bgr_to_gray_u8(&bgr, &gray);
    for (int i = 0; i < 6; i++)
        assert_int_equal(gray.data[i], want[i]);
    au_image_u8_free(&bgr);
    au_image_u8_free(&gray);
}

static void test_u8_to_float(void **state)
{
    (void)state;
    AuImageU8 g;
    AuImageF32 f;
    AuImageF32C f3;
    AuError err = {0};
    assert_int_equal(au_image_u8_alloc(&g, 256, 2, 1, &err), AU_OK);
    for (int i = 0; i < 512; i++)
        g.data[i] = (uint8_t)(i & 255);
    assert_int_equal(au_image_f32_alloc(&f, 256, 2, &err), AU_OK);
    au_gray_u8_to_f32(&g, &f);
    for (int i = 0; i < 512; i++)
        assert_true(f.data[i] == (float)(i & 255));
    assert_int_equal(au_image_f32c_alloc(&f3, 256, 2, 1, &err), AU_OK);
    au_image_u8_to_f32c(&g, &f3);
    assert_true(f3.data[511] == 255.0f);
    AuImageF32C bad;
    assert_int_equal(au_image_f32c_alloc(&bad, 0, 2, 1, &err), AU_ERR_ARG);
    assert_null(bad.data);
    au_image_u8_free(&g);
    au_image_f32_free(&f);
    au_image_f32c_free(&f3);
}

static void test_sample_bilinear(void **state)
{
    (void)state;
    AuImageF32 im;
    AuError err = {0};
    assert_int_equal(au_image_f32_alloc(&im, 2, 2, &err), AU_OK);
    im.data[0] = 0, im.data[1] = 10, im.data[2] = 20, im.data[3] = 30;
    assert_true(au_sample_bilinear_f32(&im, 0.5, 0.5) == 15.0f);
    assert_true(au_sample_bilinear_f32(&im, 0.25, 0) == 2.5f);
    assert_true(au_sample_bilinear_f32(&im, 1, 1) == 30.0f);
    assert_true(au_sample_bilinear_f32(&im, 1.5, 0) == 5.0f); /* half of the zero border */
    assert_true(au_sample_bilinear_f32(&im, 1.5, 1) == 15.0f);
    assert_true(au_sample_bilinear_f32(&im, 5, 5) == 0.0f);
    au_image_f32_free(&im);
}

/* ---- resize ---------------------------------------------------------------------------- */

static void test_resize_float_hand_cases(void **state)
{
    (void)state;
    AuError err = {0};
    AuImageF32 s, d;
    /* 2x2 -> 3x3 with OpenCV's half-pixel centres: x = (dx + 0.5) * 2/3 - 0.5
     * = -1/6, 1/2, 7/6, clamped to pixel 0, the midpoint, pixel 1; the same
     * in y. [[0,10],[20,30]] -> [[0,5,10],[10,15,20],[20,25,30]] (cv2 agrees). */
    assert_int_equal(au_image_f32_alloc(&s, 2, 2, &err), AU_OK);
    assert_int_equal(au_image_f32_alloc(&d, 3, 3, &err), AU_OK);
    const float in[4] = {0, 10, 20, 30}, want[9] = {0, 5, 10, 10, 15, 20, 20, 25, 30};
    memcpy(s.data, in, sizeof(in));
    assert_int_equal(au_resize_linear_f32(&s, &d, &err), AU_OK);
    for (int i = 0; i < 9; i++)
        assert_true(d.data[i] == want[i]);
    au_image_f32_free(&d);

    /* OpenCV clamps the x weights at the border but not the y weights: the top
     * row of a 2 -> 3 row upscale mixes row 0 with itself as 1/6 + 5/6, which
     * is not exact in float. cv2: 99.1749649 -> 99.1749725 (row 0), 99.1749649
     * (row 2, weights 5/6 + 1/6 in the other order of rounding). */
    const float v = 99.1749649f;
    for (int i = 0; i < 4; i++)
        s.data[i] = v;
    assert_int_equal(au_image_f32_alloc(&d, 2, 3, &err), AU_OK);
    assert_int_equal(au_resize_linear_f32(&s, &d, &err), AU_OK);
    assert_true(d.data[0] == 99.1749725f);
    assert_true(d.data[4] == 99.1749649f);
    au_image_f32_free(&d);

    /* Exactly half size is OpenCV's INTER_AREA fast path; its vector code (1
     * channel, blocks of 4 output pixels) sums (a+b)+(c+d), its scalar code
     * ((a+b)+c)+d. cv2: 2x2 -> 1x1 gives 123.874367, 8x2 -> 4x1 gives 123.874359. */
    const float blk[4] = {21.423912f, 212.324265f, 200.710068f, 61.0392075f};
    memcpy(s.data, blk, sizeof(blk));
    assert_int_equal(au_image_f32_alloc(&d, 1, 1, &err), AU_OK);
    assert_int_equal(au_resize_linear_f32(&s, &d, &err), AU_OK);
    assert_true(d.data[0] == 123.874367f);
    au_image_f32_free(&d);
    au_image_f32_free(&s);
    assert_int_equal(au_image_f32_alloc(&s, 8, 2, &err), AU_OK);
    for (int x = 0; x < 8; x++) {
        s.data[x] = blk[x & 1];
        s.data[8 + x] = blk[2 + (x & 1)];
    }
    assert_int_equal(au_image_f32_alloc(&d, 4, 1, &err), AU_OK);
    assert_int_equal(au_resize_linear_f32(&s, &d, &err), AU_OK);
    for (int x = 0; x < 4; x++)
        assert_true(d.data[x] == 123.874359f);
    au_image_f32_free(&d);
    au_image_f32_free(&s);
}

static void test_resize_u8_hand_case(void **state)
{
    (void)state;
    /* 2x2 -> 3x3 of [[171,86],[146,38]]: the exact values are
     * [[171,128.5,86],[158.5,110.25,62],[146,92,38]]; OpenCV's 8-bit path
     * (11-bit weights, (S >> 4) * beta >> 16, (sum + 2) >> 2) gives 128 for
     * the first half and 159 for the second. cv2 agrees. */
    AuImageU8 s, d;
    AuError err = {0};
    assert_int_equal(au_image_u8_alloc(&s, 2, 2, 1, &err), AU_OK);
    assert_int_equal(au_image_u8_alloc(&d, 3, 3, 1, &err), AU_OK);
    const uint8_t in[4] = {171, 86, 146, 38}, want[9] = {171, 128, 86, 159, 110, 62, 146, 92, 38};
    memcpy(s.data, in, 4);
    assert_int_equal(au_resize_linear_u8(&s, &d, &err), AU_OK);
    for (int i = 0; i < 9; i++)
        assert_int_equal(d.data[i], want[i]);
    /* Half size, 3 channels: (sum + 2) >> 2 per 2x2 block. */
    AuImageU8 s3, d3;
    assert_int_equal(au_image_u8_alloc(&s3, 2, 2, 3, &err), AU_OK);
    assert_int_equal(au_image_u8_alloc(&d3, 1, 1, 3, &err), AU_OK);
    const uint8_t px[12] = {1, 0, 255, 2, 0, 255, 2, 1, 254, 1, 2, 254};
    memcpy(s3.data, px, 12);
    assert_int_equal(au_resize_linear_u8(&s3, &d3, &err), AU_OK);
    assert_int_equal(d3.data[0], 2);   /* 6 + 2 >> 2 */
    assert_int_equal(d3.data[1], 1);   /* 3 + 2 >> 2 */
    assert_int_equal(d3.data[2], 255); /* 1018 + 2 >> 2 */
    /* Channel counts must agree. */
    assert_int_equal(au_resize_linear_u8(&s, &d3, &err), AU_ERR_ARG);
    au_image_u8_free(&s);
    au_image_u8_free(&d);
    au_image_u8_free(&s3);
    au_image_u8_free(&d3);
}

/* MTCNN's first two pyramid levels of changeLighting frame 1 (BGR as float,
 * scale 12/60 * 0.709^i, sizes ceil(640 s) x ceil(480 s) = 128x96 and 91x69,
 * as in mtcnn_pnet_scales.csv). The FNV-1a 64 hashes of the float bytes and
 * the sums are those of cv2.resize on the same frame. */
static void test_resize_mtcnn_pyramid_matches_opencv(void **state)
{
    (void)state;
    AuFrame fr = {0};
    decode_frames(1, &fr);
    AuImageF32C src, dst;
    AuError err = {0};
    assert_int_equal(au_image_f32c_alloc(&src, 640, 480, 3, &err), AU_OK);
    au_image_u8_to_f32c(&fr.bgr, &src);
    const struct {
        int w, h;
        uint64_t hash;
        double sum;
        float px[3]; /* pixel (x 20, y 10) */
    } lv[2] = {
        {128, 96, 0x4aae5ca942da42efULL, 3571187.0, {186, 189, 179}},
        {91, 69, 0x0dea6cc18ec9067dULL, 1826343.17, {180, 182.703308f, 171.675827f}},
    };
    for (int i = 0; i < 2; i++) {
        double scale = (12.0 / 60.0) * pow(0.709, i);
        assert_int_equal((int)ceil(640 * scale), lv[i].w);
        assert_int_equal((int)ceil(480 * scale), lv[i].h);
        assert_int_equal(au_image_f32c_alloc(&dst, lv[i].w, lv[i].h, 3, &err), AU_OK);
        assert_int_equal(au_resize_linear_f32c(&src, &dst, &err), AU_OK);
        double sum = 0;
        for (size_t k = 0; k < dst.stride * (size_t)dst.height; k++)
            sum += dst.data[k];
        const float *p = au_image_f32c_row(&dst, 10) + 3 * 20;
        for (int c = 0; c < 3; c++)
            assert_true(p[c] == lv[i].px[c]);
        assert_true(fabs(sum - lv[i].sum) < 0.01);
        uint64_t h = fnv_bytes(dst.data, sizeof(float) * dst.stride * (size_t)dst.height);
        if (h != lv[i].hash)
            fail_msg("level %d: hash %016" PRIx64 ", cv2 %016" PRIx64, i, h, lv[i].hash);
        au_image_f32c_free(&dst);
    }
    au_image_f32c_free(&src);
    au_frame_free(&fr);
}

/* ---- warps ------------------------------------------------------------------------------- */

static void test_warp_hand_cases(void **state)
{
    (void)state;
    AuError err = {0};
    AuImageF32 s, d;
    assert_int_equal(au_image_f32_alloc(&s, 4, 1, &err), AU_OK);
    const float in[4] = {10, 20, 40, 80};
    memcpy(s.data, in, sizeof(in));
    assert_int_equal(au_image_f32_alloc(&d, 4, 1, &err), AU_OK);

    /* Inverse map x_src = x + 0.5: half-way weights. */
    const double half[6] = {1, 0, 0.5, 0, 1, 0};
    assert_int_equal(au_warp_affine_f32(&s, &d, half, AU_WARP_INVERSE_MAP, &err), AU_OK);
    assert_true(d.data[0] == 15 && d.data[1] == 30 && d.data[2] == 60);
    assert_true(d.data[3] == 40); /* 80/2 + half of the zero border */

    /* A shift of 0.01 px is below the 1/32 grid: round(0.01 * 1024) + 16 = 26,
     * 26 >> 5 = 0, so OpenCV returns the pixels unchanged (exact bilinear would
     * give 10.1, 20.2, ...). */
    const double tiny[6] = {1, 0, 0.01, 0, 1, 0};
    assert_int_equal(au_warp_affine_f32(&s, &d, tiny, AU_WARP_INVERSE_MAP, &err), AU_OK);
    for (int i = 0; i < 4; i++)
        assert_true(d.data[i] == in[i]);
    /* 0.02 px rounds to 1/32: 10 * 31/32 + 20 / 32 = 10.3125. */
    const double small[6] = {1, 0, 0.02, 0, 1, 0};
    assert_int_equal(au_warp_affine_f32(&s, &d, small, AU_WARP_INVERSE_MAP, &err), AU_OK);
    assert_true(d.data[0] == 10.3125f);

    /* Forward map x_dst = x_src + 1 is inverted by warpAffine: x_src = x - 1. */
    const double fwd[6] = {1, 0, 1, 0, 1, 0};
    assert_int_equal(au_warp_affine_f32(&s, &d, fwd, 0, &err), AU_OK);
    assert_true(d.data[0] == 0 && d.data[1] == 10 && d.data[3] == 40);
    /* Far outside: all zero. */
    const double away[6] = {1, 0, 1000, 0, 1, -50};
    assert_int_equal(au_warp_affine_f32(&s, &d, away, AU_WARP_INVERSE_MAP, &err), AU_OK);
    for (int i = 0; i < 4; i++)
        assert_true(d.data[i] == 0);
    au_image_f32_free(&d);
    au_image_f32_free(&s);
}

/* OpenFace's patch-expert inputs of changeLighting frames 1-3: every AOI in
 * patch_aoi.f32 is cv::warpAffine(gray as float, warp_*, (aoi_w, aoi_h),
 * WARP_INVERSE_MAP | INTER_LINEAR). The matrices are float32 (Matx23f),
 * printed with %.9g, widened to double as OpenCV does. */
static void test_warp_affine_float_matches_openface_aoi(void **state)
{
    (void)state;
    char ipath[1024], apath[1024];
    autest_path(ipath, sizeof(ipath), "openface/reference/intermediates/changeLighting/patch_response_index.csv");
    autest_path(apath, sizeof(apath), "openface/reference/intermediates/changeLighting/patch_aoi.f32");
    autest_require_file(ipath);
    autest_require_file(apath);
    unsigned char *aoi_bytes;
    size_t aoi_size;
    assert_int_equal(autest_read_file(apath, &aoi_bytes, &aoi_size), 0);
    const float *aoi = (const float *)aoi_bytes;
    size_t n_aoi_floats = aoi_size / sizeof(float);

    AuFrame frames[3];
    memset(frames, 0, sizeof(frames));
    decode_frames(3, frames);
    AuImageF32 gray[3];
    AuError err = {0};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(au_image_f32_alloc(&gray[i], 640, 480, &err), AU_OK);
        au_gray_u8_to_f32(&frames[i].gray, &gray[i]);
    }

    Csv c;
    char hdr[4096], line[4096];
    FILE *f = csv_open(ipath, &c, hdr, sizeof(hdr));
    int cf = col(&c, "frame"), cw = col(&c, "aoi_w"), ch = col(&c, "aoi_h"), co = col(&c, "aoi_offset");
    int cm[6] = {col(&c, "warp_00"), col(&c, "warp_01"), col(&c, "warp_02"),
                 col(&c, "warp_10"), col(&c, "warp_11"), col(&c, "warp_12")};
    char *fields[512];
    int checked = 0, mismatching = 0;
    double maxdiff = 0;
    AuImageF32 out = {0};
    while (fgets(line, sizeof(line), f)) {
        split(line, fields, 512);
        long off = strtol(fields[co], NULL, 10);
        if (off < 0)
            continue;
        int frame = atoi(fields[cf]), w = atoi(fields[cw]), h = atoi(fields[ch]);
        assert_true(frame >= 1 && frame <= 3);
        assert_true((size_t)off + (size_t)w * (size_t)h <= n_aoi_floats);
        double M[6];
        for (int k = 0; k < 6; k++)
            M[k] = (double)strtof(fields[cm[k]], NULL);
        if (out.width != w || out.height != h) {
            au_image_f32_free(&out);
            assert_int_equal(au_image_f32_alloc(&out, w, h, &err), AU_OK);
        }
        assert_int_equal(au_warp_affine_f32(&gray[frame - 1], &out, M, AU_WARP_INVERSE_MAP, &err), AU_OK);
        int bad = 0;
        for (int k = 0; k < w * h; k++) {
            double dd = fabs((double)out.data[k] - (double)aoi[off + k]);
            if (dd > maxdiff)
                maxdiff = dd;
            bad += memcmp(&out.data[k], &aoi[off + k], sizeof(float)) != 0;
        }
        mismatching += bad != 0;
        checked++;
    }
    fclose(f);
    if (mismatching)
        fail_msg("%d of %d AOIs differ from OpenFace's (max abs diff %g)", mismatching, checked, maxdiff);
    assert_int_equal(checked, 2120);
    au_image_f32_free(&out);
    for (int i = 0; i < 3; i++) {
        au_image_f32_free(&gray[i]);
        au_frame_free(&frames[i]);
    }
    free(c.cols);
    free(aoi_bytes);
}

/* OpenFace's aligned faces (changeLighting_aligned/frame_det_00_NNNNNN.bmp, 112x112) are
 * cv::warpAffine(BGR frame, warp, 112x112, INTER_LINEAR) with fa_align.csv's
 * matrices, then masked to the face: every unmasked (non-zero) pixel must be
 * ours exactly. */
static void test_warp_affine_u8_matches_openface_aligned_faces(void **state)
{
    (void)state;
    char apath[1024], vpath[1024];
    autest_path(apath, sizeof(apath), "openface/reference/intermediates/changeLighting/fa_align.csv");
    autest_path(vpath, sizeof(vpath), "openface/videos/changeLighting.wmv");
    autest_require_file(apath);
    Csv c;
    char hdr[4096], line[4096];
    FILE *f = csv_open(apath, &c, hdr, sizeof(hdr));
    int cf = col(&c, "frame");
    int cm[6] = {col(&c, "warp_00"), col(&c, "warp_01"), col(&c, "warp_02"),
                 col(&c, "warp_10"), col(&c, "warp_11"), col(&c, "warp_12")};
    AuVideo *v;
    AuError err = {0};
    assert_int_equal(au_video_open(&v, vpath, &err), AU_OK);
    AuFrame fr = {0}, bmp = {0};
    AuImageU8 out;
    assert_int_equal(au_image_u8_alloc(&out, 112, 112, 3, &err), AU_OK);
    char *fields[512];
    int frames = 0;
    long compared = 0, differing = 0, total = 0;
    while (fgets(line, sizeof(line), f)) {
        split(line, fields, 512);
        int frame = atoi(fields[cf]);
        while (fr.frame_number + 1 < frame || !fr.bgr.data)
            assert_int_equal(au_video_read(v, &fr, &err), AU_OK);
        assert_int_equal(fr.frame_number + 1, frame);
        double M[6];
        for (int k = 0; k < 6; k++)
            M[k] = (double)strtof(fields[cm[k]], NULL);
        assert_int_equal(au_warp_affine_u8(&fr.bgr, &out, M, 0, &err), AU_OK);
        char rel[256], bpath[1024];
        snprintf(rel, sizeof(rel),
                 "openface/reference/changeLighting_hog_aligned/changeLighting_aligned/frame_det_00_%06d.bmp", frame);
        autest_path(bpath, sizeof(bpath), rel);
        AuVideo *bv;
        assert_int_equal(au_video_open(&bv, bpath, &err), AU_OK);
        assert_int_equal(au_video_read(bv, &bmp, &err), AU_OK);
        au_video_close(bv);
        assert_int_equal(bmp.bgr.width, 112);
        for (int y = 0; y < 112; y++)
            for (int x = 0; x < 112 * 3; x++) {
                uint8_t ref = au_image_u8_row(&bmp.bgr, y)[x];
                total++;
                if (ref == 0)
                    continue; /* masked out (or a true 0) */
                compared++;
                differing += au_image_u8_row(&out, y)[x] != ref;
            }
        frames++;
    }
    fclose(f);
    assert_int_equal(frames, 88);
    assert_true(compared > total / 2); /* the face mask covers most of the square */
    if (differing)
        fail_msg("%ld of %ld unmasked aligned-face values differ from OpenFace's", differing, compared);
    au_image_u8_free(&out);
    au_frame_free(&fr);
    au_frame_free(&bmp);
    au_video_close(v);
    free(c.cols);
}

/* cv::remap(INTER_LINEAR) with float maps on a synthetic float image; maps
 * partly outside the image (BORDER_CONSTANT 0). Image, maps, hash and values
 * as computed with numpy/cv2 (maps in double, stored as float32). */
static void test_remap_float_matches_opencv(void **state)
{
    (void)state;
    const int sw = 37, sh = 29, dw = 23, dh = 19;
    AuImageF32 s, d;
    AuError err = {0};
    assert_int_equal(au_image_f32_alloc(&s, sw, sh, &err), AU_OK);
    assert_int_equal(au_image_f32_alloc(&d, dw, dh, &err), AU_OK);
    for (int y = 0; y < sh; y++)
        for (int x = 0; x < sw; x++)
            au_image_f32_row(&s, y)[x] = (float)(((x * 7 + y * 13) % 251) + 0.25 * ((x + y) % 4));
    float *mx = malloc(sizeof(float) * dw * dh), *my = malloc(sizeof(float) * dw * dh);
    for (int y = 0; y < dh; y++)
        for (int x = 0; x < dw; x++) {
            mx[y * dw + x] = (float)(-2.0 + x * 1.77 + y * 0.31 + 0.013 * x * y);
            my[y * dw + x] = (float)(-1.5 + y * 1.63 - x * 0.27 + 0.007 * x * x);
        }
    assert_int_equal(au_remap_linear_f32(&s, &d, mx, my, &err), AU_OK);
    int zeros = 0;
    for (int i = 0; i < dw * dh; i++)
        zeros += d.data[i] == 0;
    assert_true(au_image_f32_row(&d, 5)[7] == 153.4375f);
    assert_true(d.data[0] == 0);
    assert_int_equal(zeros, 104);
    uint64_t h = fnv_bytes(d.data, sizeof(float) * (size_t)dw * (size_t)dh);
    if (h != 0x149ece392a017600ULL)
        fail_msg("remap hash %016" PRIx64 " differs from cv2's 149ece392a017600", h);
    free(mx);
    free(my);
    au_image_f32_free(&s);
    au_image_f32_free(&d);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    AuError err = {0};
    AuImageF32 empty = {0}, d;
    assert_int_equal(au_image_f32_alloc(&d, 2, 2, &err), AU_OK);
    const double M[6] = {1, 0, 0, 0, 1, 0};
    assert_int_equal(au_warp_affine_f32(&empty, &d, M, 0, &err), AU_ERR_ARG);
    assert_int_equal(au_resize_linear_f32(&empty, &d, &err), AU_ERR_ARG);
    assert_int_equal(au_remap_linear_f32(&d, &d, NULL, NULL, &err), AU_ERR_ARG);
    AuImageU8 g, c3;
    assert_int_equal(au_image_u8_alloc(&g, 2, 2, 1, &err), AU_OK);
    assert_int_equal(au_image_u8_alloc(&c3, 2, 2, 3, &err), AU_OK);
    assert_int_equal(au_warp_affine_u8(&g, &c3, M, 0, &err), AU_ERR_ARG);
    /* A singular forward matrix inverts to zero (as OpenCV): every pixel maps
     * to source (0, 0). */
    const double sing[6] = {0, 0, 0, 0, 0, 0};
    g.data[0] = 7, g.data[1] = 1, g.data[2] = 2, g.data[3] = 3;
    AuImageU8 g2;
    assert_int_equal(au_image_u8_alloc(&g2, 2, 2, 1, &err), AU_OK);
    assert_int_equal(au_warp_affine_u8(&g, &g2, sing, 0, &err), AU_OK);
    for (int i = 0; i < 4; i++)
        assert_int_equal(g2.data[i], 7);
    au_image_u8_free(&g);
    au_image_u8_free(&g2);
    au_image_u8_free(&c3);
    au_image_f32_free(&d);
}

int main(void)
{
    av_log_set_level(AV_LOG_QUIET);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bgr_to_gray_known_values),
        cmocka_unit_test(test_u8_to_float),
        cmocka_unit_test(test_sample_bilinear),
        cmocka_unit_test(test_resize_float_hand_cases),
        cmocka_unit_test(test_resize_u8_hand_case),
        cmocka_unit_test(test_resize_mtcnn_pyramid_matches_opencv),
        cmocka_unit_test(test_warp_hand_cases),
        cmocka_unit_test(test_warp_affine_float_matches_openface_aoi),
        cmocka_unit_test(test_warp_affine_u8_matches_openface_aligned_faces),
        cmocka_unit_test(test_remap_float_matches_opencv),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
