/* The PAW's scan conversion (au_paw_set_destination) against the plain pixel
 * search it replaced (au_paw_set_destination_ref, OpenFace's findTriangle per
 * pixel with the previous pixel's triangle as the guess): identical
 * triangle_id, pixel_mask and number_of_pixels, on
 *  - AlignFaceMask's face shapes (the AU PDM's mean shape, 0.7 x, under
 *    random similarities and jitter, eyebrows lifted, often partly off the
 *    112 x 112 grid);
 *  - random shapes with random triangulations on random grids: coordinates
 *    on pixel centres, half pixels and thirds (exact edge hits), repeated
 *    vertices and collinear triples (degenerate triangles, whose sameSide
 *    tests pass everywhere so that the guess sticks), slivers, huge
 *    triangles, shapes off the grid, 1-pixel grids;
 *  - out-of-domain shapes (NaN, inf, beyond 1e6), where the search runs.
 *
 *   test_paw_scan           the checks (a ctest test)
 *   test_paw_scan --bench   the checks, then the time per face mask of both
 *                           (printed, never asserted) */
#include "autest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clnf_model.h"
#include "paw.h"
#include "pdm.h"

typedef struct Fixture {
    AuPdm pdm;
    AuMat tris;
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
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    Fixture *f = *state;
    au_mat_free(&f->tris);
    au_pdm_free(&f->pdm);
    free(f);
    return 0;
}

static uint32_t rng_next(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static float rng_float(uint32_t *s, float lo, float hi)
{
    return lo + (hi - lo) * (float)(rng_next(s) >> 8) / (float)(1u << 24);
}

/* Sets p's destination both ways and compares; returns what
 * au_paw_set_destination returned (1: scan conversion). */
static int check_same(AuPaw *p, const float *shape, const char *what, int trial)
{
    const size_t n_px = (size_t)p->width * (size_t)p->height;
    int *tid = malloc(sizeof(int) * n_px);
    uint8_t *mask = malloc(n_px);
    assert_non_null(tid);
    assert_non_null(mask);
    /* poison, so that an unwritten pixel shows */
    for (size_t i = 0; i < n_px; i++)
        p->triangle_id[i] = -7, p->pixel_mask[i] = 9;
    const int scanned = au_paw_set_destination(p, shape);
    memcpy(tid, p->triangle_id, sizeof(int) * n_px);
    memcpy(mask, p->pixel_mask, n_px);
    const int count = p->number_of_pixels;
    au_paw_set_destination_ref(p, shape);
    for (size_t i = 0; i < n_px; i++)
        if (tid[i] != p->triangle_id[i] || mask[i] != p->pixel_mask[i])
            fail_msg("%s trial %d (%dx%d grid at %g, %g): pixel (%zu, %zu) has triangle %d mask %d, the search "
                     "gives %d mask %d",
                     what, trial, p->width, p->height, (double)p->min_x, (double)p->min_y, i % (size_t)p->width,
                     i / (size_t)p->width, tid[i], mask[i], p->triangle_id[i], p->pixel_mask[i]);
    assert_int_equal(count, p->number_of_pixels);
    free(tid);
    free(mask);
    return scanned;
}

/* AlignFaceMask's destination: sim_scale x mean shape moved by a similarity,
 * plus jitter; the eyebrows and contour ends lifted by 30 px. */
static void face_shape(const Fixture *f, uint32_t *seed, float *shape, float spread)
{
    const float *mean = au_mat_f32(&f->pdm.mean_shape);
    const float ang = rng_float(seed, -0.5f, 0.5f) * spread, sc = 0.7f * rng_float(seed, 1 - 0.5f * spread, 1 + 0.8f * spread);
    const float tx = 56 + rng_float(seed, -40, 40) * spread, ty = 56 + rng_float(seed, -40, 40) * spread;
    const float c = cosf(ang) * sc, s = sinf(ang) * sc, jit = 3 * spread;
    static const int lifted[] = {0, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26};
    for (int i = 0; i < 68; i++) {
        const float x = mean[i], y = mean[i + 68];
        shape[i] = c * x - s * y + tx + rng_float(seed, -jit, jit);
        shape[i + 68] = s * x + c * y + ty + rng_float(seed, -jit, jit);
    }
    for (size_t k = 0; k < sizeof(lifted) / sizeof(lifted[0]); k++)
        shape[lifted[k] + 68] -= 30.0f;
}

static void test_face_masks(void **state)
{
    Fixture *f = *state;
    AuError err = {0};
    AuPaw p;
    float shape[136];
    const float *mean = au_mat_f32(&f->pdm.mean_shape);
    for (int i = 0; i < 136; i++)
        shape[i] = mean[i] * 0.7f + 56;
    assert_int_equal(au_paw_init_bounds(&p, shape, 68, au_mat_s32(&f->tris), f->tris.rows, 0, 0, 111, 111, &err),
                     AU_OK);
    assert_int_equal(p.width, 112);
    uint32_t seed = 1234;
    long pixels = 0;
    int n = 0;
    for (int trial = 0; trial < 1500; trial++, n++) {
        /* mostly faces as the pipeline aligns them, some far off */
        face_shape(f, &seed, shape, trial % 5 == 0 ? 2.5f : 0.3f);
        assert_int_equal(check_same(&p, shape, "face", trial), 1);
        pixels += p.number_of_pixels;
    }
    /* the faces cover about half the grid on average */
    assert_true(pixels / n > 112 * 112 / 4 && pixels / n < 112 * 112);
    print_message("face masks: %d identical (mean %ld pixels inside)\n", n, pixels / n);
    au_paw_free(&p);
}

/* A coordinate on a lattice that makes exact edge hits likely. */
static float lattice_coord(uint32_t *seed, float lo, float hi, int kind)
{
    const float v = rng_float(seed, lo, hi);
    switch (kind) {
    case 0:
        return roundf(v); /* pixel centres */
    case 1:
        return roundf(v * 2) / 2;
    case 2:
        return roundf(v * 3) / 3; /* inexact in float */
    default:
        return v;
    }
}

static void test_random_shapes(void **state)
{
    (void)state;
    uint32_t seed = 99;
    AuError err = {0};
    int n_scanned = 0, n_degenerate = 0, n_trials = 4000;
    for (int trial = 0; trial < n_trials; trial++) {
        const int n_pts = 3 + (int)(rng_next(&seed) % 30);
        /* sometimes more than 64 triangles over a row (the painted path) */
        const int n_tris = trial % 13 == 7 ? 100 + (int)(rng_next(&seed) % 100) : 1 + (int)(rng_next(&seed) % 40);
        const int gw = 1 + (int)(rng_next(&seed) % 48), gh = 1 + (int)(rng_next(&seed) % 48);
        const int kind = (int)(rng_next(&seed) % 4);
        /* grid origin: often integers, sometimes fractional or negative */
        /* far from 0 (up to 9e5, where floats are 1/16 apart and
         * (float)x + min_x rounds) in some trials */
        const float far = trial % 11 == 5 ? rng_float(&seed, 1e5f, 9e5f) : 0.0f;
        const float min_x = far + lattice_coord(&seed, -20, 20, (int)(rng_next(&seed) % 4));
        const float min_y = far + lattice_coord(&seed, -20, 20, (int)(rng_next(&seed) % 4));
        float shape[2 * 33];
        int tris[3 * 200];
        /* points over the grid and a margin around it (some off the grid) */
        const float span = trial % 7 == 0 ? 400.0f : 10.0f;
        for (int i = 0; i < n_pts; i++) {
            shape[i] = lattice_coord(&seed, min_x - span, min_x + gw + span, kind);
            shape[i + n_pts] = lattice_coord(&seed, min_y - span, min_y + gh + span, kind);
        }
        /* some collinear points: on a line through points 0 and 1 */
        if (trial % 3 == 0)
            for (int i = 2; i < n_pts; i += 3) {
                const float t = lattice_coord(&seed, -2, 3, kind);
                shape[i] = shape[0] + t * (shape[1] - shape[0]);
                shape[i + n_pts] = shape[n_pts] + t * (shape[n_pts + 1] - shape[n_pts]);
            }
        for (int t = 0; t < n_tris; t++)
            for (int c = 0; c < 3; c++)
                tris[3 * t + c] = (int)(rng_next(&seed) % (uint32_t)n_pts);
        /* repeated vertices: degenerate triangles */
        if (trial % 4 == 1) {
            tris[0] = tris[1];
            n_degenerate++;
        }
        AuPaw p;
        assert_int_equal(au_paw_init_bounds(&p, shape, n_pts, tris, n_tris, min_x, min_y, min_x + (float)(gw - 1),
                                            min_y + (float)(gh - 1), &err),
                         AU_OK);
        n_scanned += check_same(&p, shape, "random", trial);
        /* the same shape with the grid from its own bounding box */
        au_paw_free(&p);
        if (span < 100 && au_paw_init(&p, shape, n_pts, tris, n_tris, &err) == AU_OK) {
            n_scanned += check_same(&p, shape, "random auto-bounds", trial);
            au_paw_free(&p);
        }
    }
    assert_true(n_scanned >= n_trials);
    print_message("random shapes: %d trials identical (%d with a repeated vertex), %d scan conversions\n", n_trials,
                  n_degenerate, n_scanned);
}

/* Hand-made pathological cases. */
static void test_pathological(void **state)
{
    (void)state;
    AuError err = {0};
    AuPaw p;
    /* A degenerate triangle (all on the line y = x) first in index order,
     * then a proper one: once a pixel of the line's box meets the degenerate
     * triangle, its sameSide tests (all 0) keep it for every later pixel. */
    {
        float shape[12] = {12, 14, 16, 0, 8, 0, /* y */ 12, 14, 16, 0, 0, 8};
        int tris[6] = {0, 1, 2, 3, 4, 5};
        assert_int_equal(au_paw_init_bounds(&p, shape, 6, tris, 2, 0, 0, 19, 19, &err), AU_OK);
        assert_int_equal(check_same(&p, shape, "collinear", 0), 1);
        /* pixel (0, 0) is in triangle 1 only, (9, 0) in none; (12, 12)
         * finds the degenerate one, which then holds every pixel */
        assert_int_equal(p.triangle_id[0], 1);
        assert_int_equal(p.triangle_id[9], -1);
        assert_int_equal(p.triangle_id[12 * 20 + 11], -1);
        assert_int_equal(p.triangle_id[12 * 20 + 12], 0);
        assert_int_equal(p.triangle_id[13 * 20 + 0], 0);
        assert_int_equal(p.triangle_id[19 * 20 + 19], 0);
        au_paw_free(&p);
    }
    /* One triangle far larger than the grid; one point triangle; a sliver. */
    {
        float shape[9 * 2] = {-5e5f, 5e5f, 0, 3, 3, 3, 1, 9.99f, 1.01f, /* y */ -5e5f, -5e5f, 5e5f, 3, 3, 3, 1, 9.5f, 1};
        int tris[9] = {3, 4, 5, 6, 7, 8, 0, 1, 2};
        assert_int_equal(au_paw_init_bounds(&p, shape, 9, tris, 3, 0, 0, 11, 11, &err), AU_OK);
        assert_int_equal(check_same(&p, shape, "huge", 0), 1);
        assert_int_equal(p.number_of_pixels, 144);
        au_paw_free(&p);
    }
    /* 1 x 1 grid, a triangle with a vertex on the only pixel centre */
    {
        float shape[6] = {0.5f, 0.5f, 3, /* y */ 0.25f, 0.25f, 1};
        int tris[3] = {0, 1, 2};
        assert_int_equal(au_paw_init_bounds(&p, shape, 3, tris, 1, 0.5f, 0.25f, 0.5f, 0.25f, &err), AU_OK);
        assert_int_equal(p.width, 1);
        assert_int_equal(check_same(&p, shape, "1x1", 0), 1);
        au_paw_free(&p);
    }
    /* Out of the domain: the search runs (and so agrees trivially, without
     * crashing on NaN or overflowing products). */
    {
        float shape[6] = {1, 8, 4, /* y */ 1, 2, 9};
        int tris[3] = {0, 1, 2};
        assert_int_equal(au_paw_init_bounds(&p, shape, 3, tris, 1, 0, 0, 9, 9, &err), AU_OK);
        assert_int_equal(check_same(&p, shape, "plain", 0), 1);
        const float bad[4] = {NAN, INFINITY, 2e6f, -3e30f};
        for (int k = 0; k < 4; k++) {
            float s2[6];
            memcpy(s2, shape, sizeof(s2));
            s2[k % 2 ? 4 : 1] = bad[k];
            assert_int_equal(check_same(&p, s2, "out of domain", k), 0);
        }
        /* just inside the domain */
        float s3[6] = {-1e6f, 1e6f, 4, /* y */ -1e6f, -1e6f, 1e6f};
        assert_int_equal(check_same(&p, s3, "1e6", 0), 1);
        assert_int_equal(p.number_of_pixels, 100);
        au_paw_free(&p);
    }
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Time per face mask (112 x 112, OpenFace's 111 triangles) of both versions
 * over the same 64 shapes, the best of 5 runs. */
static void run_bench(const Fixture *f)
{
    AuError err = {0};
    AuPaw p;
    enum { N_SHAPES = 64 };
    float shapes[N_SHAPES][136];
    uint32_t seed = 5;
    for (int k = 0; k < N_SHAPES; k++)
        face_shape(f, &seed, shapes[k], 0.3f);
    if (au_paw_init_bounds(&p, shapes[0], 68, au_mat_s32(&f->tris), f->tris.rows, 0, 0, 111, 111, &err))
        fail_msg("%s", err.msg);
    double best[2] = {INFINITY, INFINITY};
    for (int run = 0; run < 5; run++)
        for (int v = 0; v < 2; v++) {
            const double t0 = now_ns();
            for (int r = 0; r < 20; r++)
                for (int k = 0; k < N_SHAPES; k++) {
                    if (v)
                        au_paw_set_destination(&p, shapes[k]);
                    else
                        au_paw_set_destination_ref(&p, shapes[k]);
                }
            const double t = (now_ns() - t0) / (20.0 * N_SHAPES);
            best[v] = t < best[v] ? t : best[v];
        }
    printf("PAW face mask 112x112, %d triangles: search %.1f us, scan conversion %.1f us, speed-up %.2fx\n",
           f->tris.rows, best[0] / 1e3, best[1] / 1e3, best[0] / best[1]);
    au_paw_free(&p);
}

int main(int argc, char **argv)
{
    const int bench = argc > 1 && !strcmp(argv[1], "--bench");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_face_masks),
        cmocka_unit_test(test_random_shapes),
        cmocka_unit_test(test_pathological),
    };
    int failed = cmocka_run_group_tests(tests, setup, teardown);
    if (failed || !bench)
        return failed;
    void *st;
    if (setup(&st))
        return 1;
    run_bench(st);
    teardown(&st);
    return 0;
}
