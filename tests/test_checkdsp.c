/* checkdsp, after dav1d's checkasm: every kernel of the DSP table that has a
 * SIMD version on this CPU is run on seeded random inputs of several sizes
 * and compared with the C reference, bit for bit unless dsp.h states a
 * tolerance for it. Buffers are allocated to their exact sizes, so the ASan
 * build catches a kernel reading or writing past them.
 *
 *   test_checkdsp           the checks (a ctest test)
 *   test_checkdsp --bench   the checks, then ns per call of C and SIMD and
 *                           the speed-up (printed, never asserted)
 *
 * The levels are the tables au_dsp_init makes for each ISA (bit-exact
 * kernels), then au_dsp_init_fast's ("fast": the kernels with a stated
 * tolerance, the simd variant's table). AU_CPU_MASK (hex, see cpu.h) limits
 * the ISA levels tried. */
#include "autest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "au_model.h"
#include "cpu.h"
#include "dsp.h"
#include "fhog.h"
#include "image.h"
#include "imgproc.h"
#include "mean_shift.h"
#include "refcsv.h"

/* The reference sums computed here must not be fused either (variant flags
 * such as -march=native -ffp-contract=fast). */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

/* ---- ISA levels ---- */

typedef struct Level {
    const char *name;
    unsigned flags;
    int fast; /* au_dsp_init_fast instead of au_dsp_init */
} Level;

/* in increasing order: a kernel is new at the first level whose table has it */
static const Level levels[] = {
    {"avx2", AU_CPU_AVX2, 0},
    {"avx2+fma", AU_CPU_AVX2 | AU_CPU_FMA, 0},
    {"avx512", AU_CPU_AVX2 | AU_CPU_FMA | AU_CPU_AVX512, 0},
    {"fast", AU_CPU_AVX2 | AU_CPU_FMA, 1},
    {"fast512", AU_CPU_AVX2 | AU_CPU_FMA | AU_CPU_AVX512, 1},
};
#define N_LEVELS ((int)(sizeof(levels) / sizeof(levels[0])))

typedef struct State {
    unsigned cpu;         /* detected, masked by AU_CPU_MASK */
    AuDsp ref;            /* C */
    AuDsp tab[N_LEVELS];  /* au_dsp_init with each level's flags */
    int usable[N_LEVELS]; /* the CPU has the level's flags */
    uint8_t *orient;      /* FHOG orientation table */
} State;

static int setup(void **state)
{
    State *s = calloc(1, sizeof(*s));
    AuError err = {0};
    if (au_cpu_flags(&s->cpu, &err) != AU_OK) {
        print_error("%s\n", err.msg);
        free(s);
        return -1;
    }
    char buf[64];
    print_message("cpu flags: %s\n", au_cpu_flags_str(s->cpu, buf, sizeof(buf)));
    au_dsp_init_c(&s->ref);
    s->orient = malloc(AU_FHOG_ORIENT_SIZE);
    if (!s->orient) {
        free(s);
        return -1;
    }
    au_fhog_orientation_table(s->orient);
    for (int l = 0; l < N_LEVELS; l++) {
        s->usable[l] = (s->cpu & levels[l].flags) == levels[l].flags;
        if (levels[l].fast)
            au_dsp_init_fast(&s->tab[l], s->usable[l] ? levels[l].flags : 0);
        else
            au_dsp_init(&s->tab[l], s->usable[l] ? levels[l].flags : 0);
    }
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    State *s = *state;
    free(s->orient);
    free(s);
    return 0;
}

/* Whether the member at offset (of size bytes) in level l's table is a
 * version first installed at that level: the CPU has the level, and the
 * pointer is neither the C reference's nor that of any lower level the CPU
 * has. */
static int new_at_level(const State *s, int l, size_t offset, size_t size)
{
    const char *cur = (const char *)&s->tab[l] + offset;
    if (!s->usable[l] || !memcmp(cur, (const char *)&s->ref + offset, size))
        return 0;
    for (int k = 0; k < l; k++)
        if (s->usable[k] && !memcmp(cur, (const char *)&s->tab[k] + offset, size))
            return 0;
    return 1;
}
#define NEW_AT_LEVEL(s, l, member) new_at_level(s, l, offsetof(AuDsp, member), sizeof((s)->ref.member))

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

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    assert_non_null(p);
    return p;
}

/* The table's members, for the overview and the benchmark. */
#define MEMBER(m) #m, offsetof(AuDsp, m), sizeof(((AuDsp *)0)->m)
typedef struct Member {
    const char *name;
    size_t offset, size;
} Member;
static const Member members[] = {
    {MEMBER(ccnf_im2col_norm)}, {MEMBER(ccnf_sigmoid_acc)},  {MEMBER(fhog_row)},   {MEMBER(vecmat_f64)},
    {MEMBER(bgr_to_gray_u8)},   {MEMBER(u8_to_f32)},         {MEMBER(ccnf_neurons)}, {MEMBER(ccnf_sigma_matvec)},
    {MEMBER(warp_affine_f32)},  {MEMBER(mean_shift)},        {MEMBER(gn_hessian)}, {MEMBER(gn_rhs)},
    {MEMBER(chol_solve)},       {MEMBER(warp_affine_u8)},     {MEMBER(vecmat_f64_w32)},
    {MEMBER(warp_affine_gray_f32)}, {MEMBER(yuv420_to_bgr_gray_u8)},
};
enum {
    M_IM2COL, M_SIGMOID, M_FHOG, M_VECMAT, M_GRAY, M_F32, M_NEURONS, M_SIGMA, M_WARP, M_MEANSHIFT, M_HESSIAN,
    M_RHS, M_CHOL, M_WARP_U8, M_VECMAT_W32, M_WARP_GRAY, M_YUV
};

/* Which versions of each kernel these CPU flags give (the tests below check
 * each one that is not C); and no member may be left out of the list. */
static void test_overview(void **state)
{
    const State *s = *state;
    size_t total = 0;
    for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
        char line[128];
        int len = snprintf(line, sizeof(line), "%-18s c", members[i].name);
        for (int l = 0; l < N_LEVELS; l++)
            if (new_at_level(s, l, members[i].offset, members[i].size))
                len += snprintf(line + len, sizeof(line) - (size_t)len, " %s", levels[l].name);
        print_message("%s\n", line);
        total += members[i].size;
    }
    assert_int_equal(total, sizeof(AuDsp));
}

/* ---- ccnf_im2col_norm: bit-exact ---- */

typedef struct Im2colCase {
    int patch_w, patch_h, resp_w, resp_h, stride_pad;
    int kind; /* 0 random 0..255, 1 constant (norm 0), 2 few levels (equal pixels), 3 wide range with negatives */
} Im2colCase;

static const Im2colCase im2col_cases[] = {
    /* the model's experts (11x11) at OpenFace's windows */
    {11, 11, 11, 11, 0, 0},
    {11, 11, 9, 9, 3, 0},
    {11, 11, 7, 7, 0, 0},
    {11, 11, 5, 5, 1, 0},
    {11, 11, 3, 3, 0, 0},
    {11, 11, 1, 1, 0, 0},
    /* more positions per column than one vector, and than the C kernel's block of 64 */
    {5, 3, 9, 150, 1, 0},
    {3, 5, 17, 16, 0, 3},
    {11, 11, 15, 8, 2, 0},
    /* tiny AOIs, where full vectors would leave the scratch buffer */
    {1, 1, 1, 1, 0, 0},
    {1, 1, 3, 2, 0, 0},
    {2, 1, 1, 5, 0, 3},
    {1, 2, 7, 1, 0, 0},
    {2, 2, 2, 2, 0, 2},
    /* flat patches (norm 0: OpenFace divides by 1) and ties */
    {11, 11, 3, 3, 0, 1},
    {4, 4, 9, 9, 0, 2},
    {7, 9, 6, 13, 5, 3},
};

static void run_im2col_case(const AuDsp *ref, const AuDsp *dsp, const char *isa, const Im2colCase *c, uint32_t seed)
{
    const int aw = c->resp_w + c->patch_w - 1, ah = c->resp_h + c->patch_h - 1, stride = aw + c->stride_pad;
    const size_t k = 1 + (size_t)c->patch_w * c->patch_h, n_pos = (size_t)c->resp_w * c->resp_h;
    float *src = xmalloc(sizeof(float) * ((size_t)stride * (ah - 1) + aw)); /* the last row ends at aw */
    for (size_t i = 0; i < (size_t)stride * (ah - 1) + aw; i++) {
        switch (c->kind) {
        case 1:
            src[i] = 77.0f;
            break;
        case 2:
            src[i] = (float)(rng_next(&seed) % 3);
            break;
        case 3:
            src[i] = rng_float(&seed, -1e4f, 1e4f);
            break;
        default:
            src[i] = rng_float(&seed, 0.0f, 255.0f);
        }
    }
    float *want = xmalloc(sizeof(float) * k * n_pos), *got = xmalloc(sizeof(float) * k * n_pos);
    float *scratch = xmalloc(sizeof(float) * au_dsp_ccnf_scratch_floats(c->patch_w, c->patch_h, c->resp_w, c->resp_h));
    memset(want, 0xff, sizeof(float) * k * n_pos); /* NaNs: every element must be written */
    memset(got, 0xff, sizeof(float) * k * n_pos);
    ref->ccnf_im2col_norm(want, scratch, src, stride, c->patch_w, c->patch_h, c->resp_w, c->resp_h);
    dsp->ccnf_im2col_norm(got, scratch, src, stride, c->patch_w, c->patch_h, c->resp_w, c->resp_h);
    for (size_t i = 0; i < k * n_pos; i++)
        if (memcmp(&got[i], &want[i], sizeof(float)))
            fail_msg("ccnf_im2col_norm %s: patch %dx%d, %dx%d positions, stride %d: element %zu (row %zu, position "
                     "%zu): %.9g, C %.9g",
                     isa, c->patch_w, c->patch_h, c->resp_w, c->resp_h, stride, i, i / n_pos, i % n_pos, got[i],
                     want[i]);
    free(src);
    free(want);
    free(got);
    free(scratch);
}

static void test_ccnf_im2col_norm(void **state)
{
    const State *s = *state;
    for (int l = 0; l < N_LEVELS; l++) {
        if (!NEW_AT_LEVEL(s, l, ccnf_im2col_norm))
            continue;
        int n = 0;
        for (size_t i = 0; i < sizeof(im2col_cases) / sizeof(im2col_cases[0]); i++)
            for (uint32_t seed = 1; seed <= 3; seed++, n++)
                run_im2col_case(&s->ref, &s->tab[l], levels[l].name, &im2col_cases[i], seed * 7919u + (uint32_t)i);
        print_message("ccnf_im2col_norm %s: %d cases bit-exact\n", levels[l].name, n);
    }
}

/* ---- ccnf_sigmoid_acc: within 1 float ulp (the exp may differ) ---- */

/* distance in representable floats (same sign assumed, both finite) */
static long ulp_distance(float a, float b)
{
    int32_t ia, ib;
    memcpy(&ia, &a, 4);
    memcpy(&ib, &b, 4);
    if (ia < 0)
        ia = INT32_MIN - ia;
    if (ib < 0)
        ib = INT32_MIN - ib;
    return labs((long)ia - (long)ib);
}

static void test_ccnf_sigmoid_acc(void **state)
{
    const State *s = *state;
    static const int sizes[] = {1, 3, 7, 8, 9, 25, 49, 81, 121, 1000};
    /* pre-activations where exp's range or the float result's is at an edge:
     * 0, sigmoid saturation, float denormal results (t near 87..104), the
     * clamp at 708 and double overflow/underflow of exp */
    static const float edges[] = {0.0f,   -0.0f,   1e-30f, -1e-30f, 1.0f,     -1.0f,    17.0f,  -17.0f,
                                  36.7f,  -36.7f,  87.3f,  -87.3f,  95.0f,    -95.0f,   103.9f, -103.9f,
                                  120.0f, -120.0f, 707.9f, -707.9f, 708.5f,   -708.5f,  745.2f, -745.2f,
                                  800.0f, -800.0f, 3e38f,  -3e38f,  INFINITY, -INFINITY};
    for (int l = 0; l < N_LEVELS; l++) {
        if (!NEW_AT_LEVEL(s, l, ccnf_sigmoid_acc))
            continue;
        uint32_t seed = 12345;
        long n_values = 0, n_exact = 0, worst = 0;
        for (int trial = 0; trial < 40; trial++) {
            const int n = sizes[trial % (int)(sizeof(sizes) / sizeof(sizes[0]))];
            float *pre = xmalloc(sizeof(float) * (size_t)n), *want = xmalloc(sizeof(float) * (size_t)n),
                  *got = xmalloc(sizeof(float) * (size_t)n);
            const float range = trial < 10 ? 10.0f : trial < 20 ? 40.0f : trial < 30 ? 120.0f : 1000.0f;
            for (int i = 0; i < n; i++) {
                pre[i] = trial % 5 == 4 ? edges[rng_next(&seed) % (sizeof(edges) / sizeof(edges[0]))]
                                        : rng_float(&seed, -range, range);
                /* the accumulator: 0 (first neuron), or a running sum */
                want[i] = got[i] = trial % 3 == 0 ? 0.0f : rng_float(&seed, 0.0f, 20.0f);
            }
            const double two_alpha = 2.0 * (double)rng_float(&seed, 0.001f, 10.0f);
            s->ref.ccnf_sigmoid_acc(want, pre, n, two_alpha);
            s->tab[l].ccnf_sigmoid_acc(got, pre, n, two_alpha);
            for (int i = 0; i < n; i++) {
                const long d = ulp_distance(got[i], want[i]);
                if (!(isfinite(got[i]) && d <= 1))
                    fail_msg(
                        "ccnf_sigmoid_acc %s: n %d, element %d (pre %.9g, two_alpha %.17g): %.9g, C %.9g (%ld ulp)",
                        levels[l].name, n, i, pre[i], two_alpha, got[i], want[i], d);
                worst = d > worst ? d : worst;
                n_exact += d == 0;
                n_values++;
            }
            free(pre);
            free(want);
            free(got);
        }
        /* NaN in, NaN out, as the C reference */
        float pre_nan[9], acc_nan[9];
        for (int i = 0; i < 9; i++) {
            pre_nan[i] = i == 2 ? NAN : 1.0f;
            acc_nan[i] = 0.0f;
        }
        s->tab[l].ccnf_sigmoid_acc(acc_nan, pre_nan, 9, 1.0);
        assert_true(isnan(acc_nan[2]) && !isnan(acc_nan[1]));
        print_message("ccnf_sigmoid_acc %s: %ld values, %ld bit-exact, worst %ld float ulp (tolerance 1)\n",
                      levels[l].name, n_values, n_exact, worst);
        /* the exp is within a few double ulps, so a float result differs only
         * when the double sum lies that close to a float rounding boundary */
        assert_true(n_exact >= n_values - n_values / 1000);
    }
}

/* ---- fhog_row: identical bins and magnitudes ---- */

typedef struct RowBufs {
    uint8_t *rows[3]; /* prev, cur, next: exactly the pixels the kernel may read */
    uint8_t *bin[2];
    float *mag[2];
} RowBufs;

/* Runs C and SIMD on rows of (x0 + n + 1) pixels and compares the n bins
 * and magnitudes; those past n - n % 8 must be left alone by both. */
static void compare_fhog_row(const State *s, int l, const RowBufs *b, int channels, int x0, int n)
{
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < n; i++) {
            b->bin[k][i] = 0xee;
            b->mag[k][i] = -1.0f;
        }
    s->ref.fhog_row(b->rows[0], b->rows[1], b->rows[2], channels, x0, n, s->orient, b->bin[0], b->mag[0]);
    s->tab[l].fhog_row(b->rows[0], b->rows[1], b->rows[2], channels, x0, n, s->orient, b->bin[1], b->mag[1]);
    for (int i = 0; i < n; i++) {
        if (b->bin[0][i] != b->bin[1][i] || memcmp(&b->mag[0][i], &b->mag[1][i], sizeof(float)))
            fail_msg("fhog_row %s: %d channels, x0 %d, n %d: pixel %d: bin %d magnitude %.9g, C bin %d magnitude %.9g",
                     levels[l].name, channels, x0, n, i, b->bin[1][i], b->mag[1][i], b->bin[0][i], b->mag[0][i]);
    }
    for (int i = n - n % 8; i < n; i++)
        assert_true(b->bin[0][i] == 0xee && b->mag[0][i] == -1.0f);
}

static void alloc_row_bufs(RowBufs *b, int channels, int x0, int n)
{
    for (int r = 0; r < 3; r++)
        b->rows[r] = xmalloc((size_t)channels * (size_t)(x0 + n + 1));
    for (int k = 0; k < 2; k++) {
        b->bin[k] = xmalloc((size_t)n);
        b->mag[k] = xmalloc(sizeof(float) * (size_t)n);
    }
}

static void free_row_bufs(RowBufs *b)
{
    for (int r = 0; r < 3; r++)
        free(b->rows[r]);
    for (int k = 0; k < 2; k++) {
        free(b->bin[k]);
        free(b->mag[k]);
    }
}

static void test_fhog_row(void **state)
{
    const State *s = *state;
    for (int l = 0; l < N_LEVELS; l++) {
        if (!NEW_AT_LEVEL(s, l, fhog_row))
            continue;
        /* random rows: 104 is the 112-pixel face's vector part; n % 8 != 0
         * leaves a remainder both must ignore; levels 0..3 make channel ties */
        static const int widths[][2] = {{1, 8}, {1, 104}, {1, 200}, {1, 21}, {5, 16}, {1, 0}, {2, 67}};
        uint32_t seed = 99;
        int n_rows = 0;
        for (int ch = 1; ch <= 3; ch += 2)
            for (size_t w = 0; w < sizeof(widths) / sizeof(widths[0]); w++)
                for (int range = 0; range < 3; range++, n_rows++) {
                    const int x0 = widths[w][0], n = widths[w][1];
                    RowBufs b;
                    alloc_row_bufs(&b, ch, x0, n);
                    const unsigned mod = range == 0 ? 256 : range == 1 ? 4 : 2;
                    for (int r = 0; r < 3; r++)
                        for (int i = 0; i < ch * (x0 + n + 1); i++)
                            b.rows[r][i] = (uint8_t)(rng_next(&seed) % mod);
                    compare_fhog_row(s, l, &b, ch, x0, n);
                    free_row_bufs(&b);
                }

        /* every gradient (gx, gy) in [-255, 255]^2 once, on gray rows: pixel
         * 4j + 1 gets gx from cur[4j] and cur[4j + 2] (used by no other
         * checked pixel) and gy from prev/next; the pixels in between get
         * whatever these make */
        enum { W = 512, PER_ROW = W / 4 };
        RowBufs b;
        alloc_row_bufs(&b, 1, 1, W);
        long n_grad = 0;
        int gx = -255, gy = -255;
        while (gy <= 255) {
            memset(b.rows[0], 0, W + 2);
            memset(b.rows[1], 0, W + 2);
            memset(b.rows[2], 0, W + 2);
            for (int j = 0; j < PER_ROW && gy <= 255; j++) {
                const int px = 4 * j + 1; /* pixel index in the row */
                b.rows[1][px - 1] = (uint8_t)(gx < 0 ? -gx : 0);
                b.rows[1][px + 1] = (uint8_t)(gx < 0 ? 0 : gx);
                b.rows[0][px] = (uint8_t)(gy < 0 ? -gy : 0);
                b.rows[2][px] = (uint8_t)(gy < 0 ? 0 : gy);
                n_grad++;
                if (++gx > 255) {
                    gx = -255;
                    gy++;
                }
            }
            /* x0 = 1: kernel pixel i is row pixel i + 1 */
            compare_fhog_row(s, l, &b, 1, 1, W);
        }
        free_row_bufs(&b);
        assert_int_equal(n_grad, 511 * 511);
        print_message("fhog_row %s: %d random rows and all %ld gradients identical\n", levels[l].name, n_rows, n_grad);

        /* the whole FHOG with the SIMD row: identical features on random and smooth images */
        for (int ch = 1; ch <= 3; ch += 2) {
            AuImageU8 img;
            AuError err = {0};
            AuFhog a, c;
            assert_int_equal(au_image_u8_alloc(&img, 112, 112, ch, &err), AU_OK);
            for (int y = 0; y < 112; y++)
                for (int x = 0; x < 112 * ch; x++)
                    au_image_u8_row(&img, y)[x] =
                        (uint8_t)(ch == 1 ? rng_next(&seed)
                                          : 128 + 100 * sin(0.1 * x + 0.07 * y) + rng_next(&seed) % 8);
            assert_int_equal(au_fhog_init(&a, 112, 112, ch, 8, &err), AU_OK);
            assert_int_equal(au_fhog_init(&c, 112, 112, ch, 8, &err), AU_OK);
            c.row_fn = s->tab[l].fhog_row;
            float *fa = xmalloc(sizeof(float) * (size_t)au_fhog_size(&a));
            float *fc = xmalloc(sizeof(float) * (size_t)au_fhog_size(&c));
            assert_int_equal(au_fhog_run(&a, &img, fa, &err), AU_OK);
            assert_int_equal(au_fhog_run(&c, &img, fc, &err), AU_OK);
            assert_memory_equal(fa, fc, sizeof(float) * (size_t)au_fhog_size(&a));
            free(fa);
            free(fc);
            au_fhog_free(&a);
            au_fhog_free(&c);
            au_image_u8_free(&img);
        }
    }
}

/* ---- vecmat_f64_w32: the fast table's AU scores from float weights ---- */

/* The SIMD version (fast tables only) agrees with the C one within 1e-12 of
 * sum |x w| (FMA), on random shapes including every tail length; the
 * non-fast tables keep the C version. */
static void test_vecmat_f64_w32(void **state)
{
    const State *s = *state;
    AuDsp c_fast;
    au_dsp_init_fast(&c_fast, 0);
    assert_ptr_equal(c_fast.vecmat_f64_w32, s->ref.vecmat_f64_w32);
    for (int l = 0; l < N_LEVELS; l++)
        if (!levels[l].fast)
            assert_ptr_equal(s->tab[l].vecmat_f64_w32, s->ref.vecmat_f64_w32);
    uint32_t seed = 99;
    static const int ns[] = {1, 3, 64, 4464, 4702};
    double worst = 0;
    int n_cases = 0;
    for (int l = 0; l < N_LEVELS; l++) {
        if (!NEW_AT_LEVEL(s, l, vecmat_f64_w32))
            continue;
        for (size_t a = 0; a < sizeof(ns) / sizeof(ns[0]); a++)
            for (int m = 1; m <= 53; m += (m < 26 ? 1 : 9)) {
                const int n = ns[a], stride = m + (int)(rng_next(&seed) % 4);
                double *x = xmalloc(sizeof(double) * (size_t)n), want[64], got[64];
                float *w = xmalloc(sizeof(float) * (size_t)n * (size_t)stride + 64);
                /* x with all 53 bits (centred features are doubles), so that
                 * the products are inexact and FMA differs from mul + add */
                for (int k = 0; k < n; k++)
                    x[k] = rng_float(&seed, -2, 2) + 1e-8 * rng_float(&seed, -1, 1);
                for (size_t i = 0; i < (size_t)n * (size_t)stride; i++)
                    w[i] = rng_float(&seed, -1, 1);
                c_fast.vecmat_f64_w32(want, x, w, stride, n, m);
                s->tab[l].vecmat_f64_w32(got, x, w, stride, n, m);
                for (int j = 0; j < m; j++) {
                    double mag = 0;
                    for (int k = 0; k < n; k++)
                        mag += fabs(x[k] * w[(size_t)k * (size_t)stride + (size_t)j]);
                    const double e = fabs(got[j] - want[j]) / (mag > 0 ? mag : 1);
                    if (e > worst)
                        worst = e;
                    if (!(e <= 1e-12))
                        fail_msg("vecmat_f64_w32 %s: n %d m %d stride %d: output %d: %.17g, C %.17g", levels[l].name,
                                 n, m, stride, j, got[j], want[j]);
                }
                free(x);
                free(w);
                n_cases++;
            }
    }
    print_message("vecmat_f64_w32: %d cases, worst |diff| %.3g of sum |x w| (tolerance 1e-12)\n", n_cases, worst);
}

/* ---- vecmat_f64: bit-exact ---- */

static void test_vecmat_f64(void **state)
{
    const State *s = *state;
    /* n: features (4702 for the shipped AU models, 4464 HOG only); m:
     * models of a group, over 16 for a second pass; pad: row stride - m */
    static const int shapes[][3] = {{4702, 11, 0}, {4702, 6, 0}, {4464, 17, 0}, {238, 1, 3}, {0, 5, 0},
                                    {1, 1, 0},     {7, 4, 1},    {33, 16, 0},   {50, 35, 2}, {13, 3, 5}};
    uint32_t seed = 4242;
    for (int l = 0; l < N_LEVELS; l++) {
        if (!NEW_AT_LEVEL(s, l, vecmat_f64))
            continue;
        int n_cases = 0;
        for (size_t c = 0; c < sizeof(shapes) / sizeof(shapes[0]); c++)
            for (int kind = 0; kind < 2; kind++, n_cases++) {
                const int n = shapes[c][0], m = shapes[c][1], stride = m + shapes[c][2];
                /* exact sizes: the last row ends at column m */
                const size_t w_len = n ? (size_t)(n - 1) * stride + m : 0;
                double *x = xmalloc(sizeof(double) * (size_t)n), *w = xmalloc(sizeof(double) * w_len);
                double *want = xmalloc(sizeof(double) * (size_t)m), *got = xmalloc(sizeof(double) * (size_t)m);
                for (int i = 0; i < n; i++)
                    /* HOG-like values less a mean, or wide exponents (cancellation) */
                    x[i] = kind ? ldexp(rng_float(&seed, -1, 1), (int)(rng_next(&seed) % 40) - 20)
                                : rng_float(&seed, 0.0f, 0.4f) - 0.1;
                for (size_t i = 0; i < w_len; i++)
                    w[i] = rng_float(&seed, -0.05f, 0.05f);
                s->ref.vecmat_f64(want, x, w, stride, n, m);
                s->tab[l].vecmat_f64(got, x, w, stride, n, m);
                for (int j = 0; j < m; j++) {
                    /* the C reference is the plain sequential sum */
                    double seq = 0;
                    for (int k = 0; k < n; k++)
                        seq += x[k] * w[(size_t)k * stride + j];
                    assert_true(memcmp(&seq, &want[j], sizeof(double)) == 0);
                    if (memcmp(&got[j], &want[j], sizeof(double)))
                        fail_msg("vecmat_f64 %s: n %d m %d stride %d: output %d: %.17g, C %.17g", levels[l].name, n, m,
                                 stride, j, got[j], want[j]);
                }
                free(x);
                free(w);
                free(want);
                free(got);
            }
        print_message("vecmat_f64 %s: %d cases bit-exact\n", levels[l].name, n_cases);
    }
}

/* Against OpenFace itself: its online AU values (au_online.csv, frames 1-3
 * of changeLighting) recomputed from its own descriptors and running medians
 * as SVR_*_lin_regressors::Predict and SVM_*_lin::Predict do: per group,
 * ((x - means) - median) for dynamic models, x - means for static ones (the
 * differences in double, as cv::subtract), times the group's support
 * vectors, plus the bias. */
#define REF "openface/reference/intermediates/changeLighting/"

typedef struct AuGroupScores {
    int n_values, n_exact, n_class;
    double worst;
} AuGroupScores;

static void check_au_group(const State *s, const AuAuGroup *g, const double *x, const double *med, const RefCsv *online,
                           int row, AuGroupScores *r)
{
    if (g->count == 0)
        return;
    const int dim = g->feature_dim;
    double *centred = xmalloc(sizeof(double) * (size_t)dim);
    double *w = xmalloc(sizeof(double) * (size_t)dim * (size_t)g->count); /* support_vectors: dim x count */
    double *score = xmalloc(sizeof(double) * (size_t)g->count);
    for (int i = 0; i < dim; i++)
        centred[i] = g->models[0].dynamic ? (x[i] - g->means[i]) - med[i] : x[i] - g->means[i];
    for (int k = 0; k < g->count; k++)
        for (int i = 0; i < dim; i++)
            w[(size_t)i * g->count + k] = g->weights[(size_t)k * dim + i];
    for (int l = -1; l < N_LEVELS; l++) {
        if (l >= 0 && !NEW_AT_LEVEL(s, l, vecmat_f64))
            continue;
        (l < 0 ? &s->ref : &s->tab[l])->vecmat_f64(score, centred, w, g->count, dim, g->count);
        for (int k = 0; k < g->count; k++) {
            const AuAuModel *a = &g->models[k];
            char col[64];
            snprintf(col, sizeof(col), "%s_%s", a->name, a->presence ? "c" : "r");
            const double want = refcsv_get(online, row, col);
            const double v = score[k] + a->bias;
            if (a->presence) {
                /* only the class is recorded */
                if ((v > 0 ? a->pos_class : a->neg_class) != want)
                    fail_msg("vecmat_f64 %s: frame %d %s: score %.17g gives a class other than OpenFace's %g",
                             l < 0 ? "c" : levels[l].name, row + 1, col, v, want);
                r->n_class++;
                continue;
            }
            r->worst = fmax(r->worst, fabs(v - want));
            r->n_exact += v == want;
            r->n_values++;
        }
    }
    free(centred);
    free(w);
    free(score);
}

static void test_vecmat_f64_openface(void **state)
{
    const State *s = *state;
    char path[1024];
    AuError err = {0};
    AuAuModels m;
    autest_path(path, sizeof(path), "openface/models/AU_predictors/main_dynamic_svms.txt");
    autest_require_file(path);
    if (au_au_models_load(&m, path, &err) != AU_OK)
        fail_msg("%s", err.msg);
    RefCsv online, geom, geom_med, frames;
    refcsv_load(&online, autest_path(path, sizeof(path), REF "au_online.csv"));
    refcsv_load(&geom, autest_path(path, sizeof(path), REF "fa_geom.csv"));
    refcsv_load(&geom_med, autest_path(path, sizeof(path), REF "fa_geom_median.csv"));
    refcsv_load(&frames, autest_path(path, sizeof(path), REF "fa_frames.csv"));
    size_t n_hog, n_hog_med;
    double *hog = refcsv_load_f64(autest_path(path, sizeof(path), REF "fa_hog.f64"), &n_hog);
    double *hog_med = refcsv_load_f64(autest_path(path, sizeof(path), REF "fa_hog_median.f64"), &n_hog_med);

    enum { HOG = 4464, GEOM = 238, DIM = HOG + GEOM };
    double x[DIM], med[DIM];
    AuGroupScores r = {0, 0, 0, 0.0};
    for (int f = 0; f < 3; f++) {
        /* row f of each file is frame f + 1 */
        assert_int_equal((int)refcsv_get(&frames, f, "frame"), f + 1);
        assert_int_equal((int)refcsv_get(&geom, f, "frame"), f + 1);
        assert_int_equal((int)refcsv_get(&geom_med, f, "frame"), f + 1);
        assert_int_equal((int)refcsv_get(&online, f, "frame"), f + 1);
        const size_t ho = (size_t)refcsv_get(&frames, f, "hog_offset");
        const size_t hmo = (size_t)refcsv_get(&frames, f, "hog_median_offset");
        assert_true(ho + HOG <= n_hog && hmo + HOG <= n_hog_med);
        memcpy(x, hog + ho, sizeof(double) * HOG);
        memcpy(med, hog_med + hmo, sizeof(double) * HOG);
        refcsv_vec(&geom, f, "g_", GEOM, x + HOG);
        refcsv_vec(&geom_med, f, "g_", GEOM, med + HOG);
        for (int g = 0; g < AU_GROUP_COUNT; g++) {
            assert_true(m.groups[g].count == 0 || m.groups[g].feature_dim == DIM);
            check_au_group(s, &m.groups[g], x, med, &online, f, &r);
        }
    }
    print_message("vecmat_f64 vs OpenFace (frames 1-3): %d of %d AU intensities bit-identical (worst |diff| %.3g), "
                  "%d presence classes agree\n",
                  r.n_exact, r.n_values, r.worst, r.n_class);
    /* 17 intensities and 18 classes per frame, for C and each SIMD level */
    assert_true(r.n_values >= 3 * 17 && r.n_values % (3 * 17) == 0);
    assert_true(r.n_class >= 3 * 18);
    assert_int_equal(r.n_exact, r.n_values);
    free(hog);
    free(hog_med);
    refcsv_free(&online);
    refcsv_free(&geom);
    refcsv_free(&geom_med);
    refcsv_free(&frames);
    au_au_models_free(&m);
}

/* ---- image conversions: exact ---- */

static void test_image_conversion(void **state)
{
    const State *s = *state;
    for (int l = 0; l < N_LEVELS; l++) {
        if (NEW_AT_LEVEL(s, l, bgr_to_gray_u8)) {
            /* all 2^24 colours, in rows of 4099 pixels (an odd tail each time) */
            enum { N = 4099 };
            uint8_t *bgr = xmalloc(3 * N), *want = xmalloc(N), *got = xmalloc(N);
            for (uint32_t c0 = 0; c0 < (1u << 24); c0 += N) {
                const int n = (1u << 24) - c0 < N ? (int)((1u << 24) - c0) : N;
                for (int i = 0; i < n; i++) {
                    const uint32_t c = c0 + (uint32_t)i;
                    bgr[3 * i] = (uint8_t)c;
                    bgr[3 * i + 1] = (uint8_t)(c >> 8);
                    bgr[3 * i + 2] = (uint8_t)(c >> 16);
                }
                s->ref.bgr_to_gray_u8(want, bgr, n);
                s->tab[l].bgr_to_gray_u8(got, bgr, n);
                if (memcmp(want, got, (size_t)n))
                    for (int i = 0; i < n; i++)
                        if (want[i] != got[i])
                            fail_msg("bgr_to_gray_u8 %s: colour %06x: %d, C %d", levels[l].name, c0 + (unsigned)i,
                                     got[i], want[i]);
            }
            /* short rows: only the tail, or one vector and a tail */
            for (int n = 0; n <= 17; n++) {
                s->ref.bgr_to_gray_u8(want, bgr, n);
                s->tab[l].bgr_to_gray_u8(got, bgr, n);
                assert_memory_equal(want, got, (size_t)n);
            }
            free(bgr);
            free(want);
            free(got);
            print_message("bgr_to_gray_u8 %s: all 2^24 colours identical\n", levels[l].name);
        }
        if (NEW_AT_LEVEL(s, l, u8_to_f32)) {
            uint8_t src[300];
            float want[300], got[300];
            for (int i = 0; i < 300; i++)
                src[i] = (uint8_t)(i * 7 + 3);
            for (int n = 0; n <= 300; n += n < 20 ? 1 : 37) {
                memset(want, 0, sizeof(want));
                memset(got, 0, sizeof(got));
                s->ref.u8_to_f32(want, src, n);
                s->tab[l].u8_to_f32(got, src, n);
                assert_memory_equal(want, got, sizeof(want));
            }
            print_message("u8_to_f32 %s: identical\n", levels[l].name);
        }
    }
    for (int l = 0; l < N_LEVELS; l++) {
        if (!NEW_AT_LEVEL(s, l, yuv420_to_bgr_gray_u8))
            continue;
        /* every (Y, U, V): one row per chroma pair, each luma value on two
         * pixels (even and odd lanes), 512 + 5 pixels (a tail) */
        enum { N = 517 };
        uint8_t y[N], u[(N + 1) / 2], v[(N + 1) / 2], want[3 * N], got[3 * N], wg[N], gg[N];
        for (int i = 0; i < N; i++)
            y[i] = (uint8_t)(i < 512 ? i >> 1 : i * 37);
        for (int c = 0; c < 65536; c++) {
            memset(u, c & 255, sizeof(u));
            memset(v, c >> 8, sizeof(v));
            s->ref.yuv420_to_bgr_gray_u8(want, wg, y, u, v, N);
            s->tab[l].yuv420_to_bgr_gray_u8(got, gg, y, u, v, N);
            if (memcmp(want, got, sizeof(want)) || memcmp(wg, gg, sizeof(wg)))
                fail_msg("yuv420_to_bgr_gray_u8 %s: U %d V %d: differs from C", levels[l].name, c & 255, c >> 8);
        }
        /* chroma varying along the row, every length from 0 to 70 */
        uint32_t seed = 99;
        for (int i = 0; i < (N + 1) / 2; i++) {
            u[i] = (uint8_t)rng_next(&seed);
            v[i] = (uint8_t)rng_next(&seed);
        }
        for (int n = 0; n <= 70; n++) {
            memset(got, 0xAA, sizeof(got));
            memset(want, 0xAA, sizeof(want));
            s->ref.yuv420_to_bgr_gray_u8(want, wg, y, u, v, n);
            s->tab[l].yuv420_to_bgr_gray_u8(got, gg, y, u, v, n);
            assert_memory_equal(want, got, sizeof(want)); /* nothing written past 3n bytes */
            assert_memory_equal(wg, gg, (size_t)n);
        }
        print_message("yuv420_to_bgr_gray_u8 %s: all 2^24 (Y, U, V) identical\n", levels[l].name);
    }
    /* the C reference against bytes of FFmpeg 5.1's swscale (YUV420P ->
     * BGR24, 640x480 context, as OpenCV calls it; printed by a 20-line
     * sws_scale program): black, white, the limits
     * of limited range, saturated primaries; and its gray against
     * bgr_to_gray_u8 */
    {
        const uint8_t yy[] = {16, 235, 0, 255, 81, 145, 41};
        const uint8_t uu[] = {128, 128, 128, 128, 90, 54, 240};
        const uint8_t vv[] = {128, 128, 128, 128, 240, 34, 110};
        const uint8_t want[] = {0, 0, 0, 255, 255, 255, 0, 0, 0, 255, 255, 255, 0, 0, 253, 0, 254, 0, 254, 0, 0};
        for (int i = 0; i < 7; i++) {
            const uint8_t y2[2] = {yy[i], yy[i]};
            uint8_t bgr[6], gray[2], g2[2];
            s->ref.yuv420_to_bgr_gray_u8(bgr, gray, y2, &uu[i], &vv[i], 2);
            if (memcmp(bgr, want + 3 * i, 3))
                fail_msg("yuv420_to_bgr_gray_u8 C: Y %d U %d V %d: %d %d %d, swscale %d %d %d", yy[i], uu[i], vv[i],
                         bgr[0], bgr[1], bgr[2], want[3 * i], want[3 * i + 1], want[3 * i + 2]);
            s->ref.bgr_to_gray_u8(g2, bgr, 2);
            assert_memory_equal(gray, g2, 2);
        }
    }
    /* the C reference against known OpenCV values (cv2.cvtColor of these
     * BGR pixels gives 76, 150, 29, 255, 0, 128) */
    const uint8_t px[] = {0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 255, 0, 0, 0, 128, 128, 128};
    uint8_t g[6];
    s->ref.bgr_to_gray_u8(g, px, 6);
    assert_memory_equal(g, ((const uint8_t[]){76, 150, 29, 255, 0, 128}), 6);
}

/* ---- CCNF neurons and Sigma product: within the tolerances of dsp.h ---- */

typedef struct NeuronCase {
    int patch_w, patch_h, resp_w, resp_h, n_neurons, stride_pad;
    int kind; /* 0 random 0..255, 1 constant, 2 smooth image with noise, 3 few levels */
} NeuronCase;

static const NeuronCase neuron_cases[] = {
    {11, 11, 11, 11, 7, 0, 0}, {11, 11, 9, 9, 7, 3, 2}, {11, 11, 7, 7, 7, 0, 0}, {11, 11, 5, 5, 7, 1, 2},
    {11, 11, 3, 3, 7, 0, 0},   {11, 11, 1, 1, 7, 0, 2}, {11, 11, 15, 15, 7, 0, 2}, {11, 11, 9, 9, 1, 0, 0},
    {11, 11, 9, 9, 9, 0, 2},   {5, 3, 9, 17, 5, 1, 0},  {3, 5, 17, 16, 12, 0, 3}, {1, 1, 1, 1, 2, 0, 0},
    {2, 2, 2, 2, 3, 0, 3},     {11, 11, 3, 3, 7, 0, 1}, {11, 11, 9, 9, 70, 0, 2},
};

static float neuron_pixel(uint32_t *seed, int kind, int u, int v)
{
    switch (kind) {
    case 1:
        return 77.0f;
    case 2: /* a smooth gradient with camera-like noise, as the warped AOIs */
        return 90.0f + 3.0f * (float)u - 2.0f * (float)v + 8.0f * sinf(0.7f * (float)(u + 2 * v)) +
               rng_float(seed, -2.0f, 2.0f);
    case 3:
        return (float)(rng_next(seed) % 3);
    default:
        return rng_float(seed, 0.0f, 255.0f);
    }
}

static void run_neuron_case(const State *s, int l, const NeuronCase *c, uint32_t seed, double *worst_rel)
{
    const int aw = c->resp_w + c->patch_w - 1, ah = c->resp_h + c->patch_h - 1, stride = aw + c->stride_pad;
    const int k = 1 + c->patch_w * c->patch_h, n_pos = c->resp_w * c->resp_h, nn = c->n_neurons;
    float *src = xmalloc(sizeof(float) * ((size_t)stride * (ah - 1) + aw));
    for (int v = 0; v < ah; v++)
        for (int u = 0; u < aw; u++)
            src[(size_t)v * stride + u] = neuron_pixel(&seed, c->kind, u, v);
    /* weights of the magnitude of the models' (bias and norm weights folded in) */
    float *w = xmalloc(sizeof(float) * (size_t)nn * k);
    double *two_alpha = xmalloc(sizeof(double) * (size_t)nn);
    double alpha_sum = 0;
    for (int i = 0; i < nn; i++) {
        w[(size_t)i * k] = rng_float(&seed, -3.0f, 3.0f);
        for (int j = 1; j < k; j++)
            w[(size_t)i * k + j] = rng_float(&seed, -1.5f, 1.5f);
        two_alpha[i] = i % 4 == 3 ? 0.0 : 2.0 * (double)rng_float(&seed, 0.01f, 3.0f);
        alpha_sum += two_alpha[i];
    }
    float *im2col = xmalloc(sizeof(float) * (size_t)k * n_pos), *pre = xmalloc(sizeof(float) * (size_t)nn * n_pos);
    float *scratch = xmalloc(sizeof(float) * au_dsp_ccnf_scratch_floats(c->patch_w, c->patch_h, c->resp_w, c->resp_h));
    float *want = xmalloc(sizeof(float) * (size_t)n_pos), *got = xmalloc(sizeof(float) * (size_t)n_pos);
    AuCcnfNeuronArgs a = {src, stride, c->patch_w, c->patch_h, c->resp_w, c->resp_h, w, two_alpha, nn,
                          im2col, pre, scratch, &s->ref};
    memset(want, 0xff, sizeof(float) * (size_t)n_pos);
    memset(got, 0xff, sizeof(float) * (size_t)n_pos);
    s->ref.ccnf_neurons(want, &a);
    a.dsp = &s->tab[l];
    s->tab[l].ccnf_neurons(got, &a);
    const double tol = 2e-5 * alpha_sum;
    for (int p = 0; p < n_pos; p++) {
        const double d = fabs((double)got[p] - (double)want[p]);
        if (!(d <= tol))
            fail_msg("ccnf_neurons %s: patch %dx%d, %dx%d positions, %d neurons, kind %d: position %d: %.9g, C %.9g "
                     "(|diff| %.3g > %.3g)",
                     levels[l].name, c->patch_w, c->patch_h, c->resp_w, c->resp_h, nn, c->kind, p, got[p], want[p],
                     d, tol);
        *worst_rel = fmax(*worst_rel, d / alpha_sum);
    }
    free(src);
    free(w);
    free(two_alpha);
    free(im2col);
    free(pre);
    free(scratch);
    free(want);
    free(got);
}

static void test_ccnf_neurons(void **state)
{
    const State *s = *state;
    for (int l = 0; l < N_LEVELS; l++) {
        if (!NEW_AT_LEVEL(s, l, ccnf_neurons))
            continue;
        double worst = 0;
        int n = 0;
        for (size_t i = 0; i < sizeof(neuron_cases) / sizeof(neuron_cases[0]); i++)
            for (uint32_t seed = 1; seed <= 3; seed++, n++)
                run_neuron_case(s, l, &neuron_cases[i], seed * 104729u + (uint32_t)i, &worst);
        print_message("ccnf_neurons %s: %d cases, worst |diff| %.3g x sum(2 alpha) (tolerance 2e-5)\n", levels[l].name,
                      n, worst);
    }
}

static void test_ccnf_sigma_matvec(void **state)
{
    const State *s = *state;
    static const int sizes[] = {1, 9, 25, 49, 81, 121, 225, 7, 65, 130};
    for (int l = 0; l < N_LEVELS; l++) {
        if (!NEW_AT_LEVEL(s, l, ccnf_sigma_matvec))
            continue;
        uint32_t seed = 99;
        double worst = 0;
        for (size_t t = 0; t < sizeof(sizes) / sizeof(sizes[0]); t++) {
            const int n = sizes[t];
            float *vec = xmalloc(sizeof(float) * (size_t)n), *sig = xmalloc(sizeof(float) * (size_t)n * n);
            float *want = xmalloc(sizeof(float) * (size_t)n), *got = xmalloc(sizeof(float) * (size_t)n);
            for (int i = 0; i < n; i++)
                vec[i] = rng_float(&seed, 0.0f, 20.0f);
            for (int i = 0; i < n * n; i++)
                sig[i] = rng_float(&seed, -0.5f, 1.0f);
            s->ref.ccnf_sigma_matvec(want, vec, sig, n);
            s->tab[l].ccnf_sigma_matvec(got, vec, sig, n);
            for (int j = 0; j < n; j++) {
                double mag = 0;
                for (int i = 0; i < n; i++)
                    mag += fabs((double)vec[i] * sig[(size_t)j * n + i]);
                const double d = fabs((double)got[j] - want[j]);
                if (!(d <= 1e-5 * mag + 1e-30))
                    fail_msg("ccnf_sigma_matvec %s: n %d, output %d: %.9g, C %.9g", levels[l].name, n, j, got[j],
                             want[j]);
                worst = fmax(worst, d / (mag + 1e-30));
            }
            free(vec);
            free(sig);
            free(want);
            free(got);
        }
        print_message("ccnf_sigma_matvec %s: worst |diff| %.3g x sum |products| (tolerance 1e-5)\n", levels[l].name,
                      worst);
    }
}

/* ---- warp_affine_f32: bit-exact, inside the image and across its borders ---- */

static void test_warp_affine_f32(void **state)
{
    const State *s = *state;
    for (int l = 0; l < N_LEVELS; l++) {
        if (!NEW_AT_LEVEL(s, l, warp_affine_f32))
            continue;
        AuError err = {0};
        AuImageF32 img = {0}, want = {0}, got = {0};
        uint32_t seed = 4242;
        assert_int_equal(au_image_f32_alloc(&img, 97, 61, &err), AU_OK);
        for (int y = 0; y < img.height; y++)
            for (int x = 0; x < img.width; x++)
                au_image_f32_row(&img, y)[x] = rng_float(&seed, 0.0f, 255.0f);
        int n = 0;
        for (int trial = 0; trial < 300; trial++, n++) {
            const int dw = 1 + (int)(rng_next(&seed) % 30), dh = 1 + (int)(rng_next(&seed) % 30);
            assert_int_equal(au_image_f32_alloc(&want, dw, dh, &err), AU_OK);
            assert_int_equal(au_image_f32_alloc(&got, dw, dh, &err), AU_OK);
            /* a similarity as Patch_experts::Response builds them; a third
             * of the AOIs reach over the border */
            const double ang = rng_float(&seed, -0.6f, 0.6f), sc = rng_float(&seed, 0.5f, 2.5f);
            const double a1 = sc * cos(ang), b1 = sc * sin(ang);
            const float cx = trial % 3 == 0 ? rng_float(&seed, -10.0f, 107.0f) : rng_float(&seed, 25.0f, 72.0f);
            const float cy = trial % 3 == 0 ? rng_float(&seed, -10.0f, 71.0f) : rng_float(&seed, 25.0f, 36.0f);
            const double M[6] = {a1, -b1, cx - a1 * (dw - 1) / 2.0 + b1 * (dw - 1) / 2.0,
                                 b1, a1,  cy - a1 * (dw - 1) / 2.0 - b1 * (dw - 1) / 2.0};
            for (int y = 0; y < dh; y++)
                for (int x = 0; x < dw; x++)
                    au_image_f32_row(&want, y)[x] = au_image_f32_row(&got, y)[x] = NAN;
            assert_int_equal(s->ref.warp_affine_f32(&img, &want, M, &err), AU_OK);
            assert_int_equal(s->tab[l].warp_affine_f32(&img, &got, M, &err), AU_OK);
            for (int y = 0; y < dh; y++)
                if (memcmp(au_image_f32_row(&want, y), au_image_f32_row(&got, y), sizeof(float) * (size_t)dw))
                    fail_msg("warp_affine_f32 %s: trial %d, %dx%d, row %d differs", levels[l].name, trial, dw, dh, y);
            au_image_f32_free(&want);
            au_image_f32_free(&got);
        }
        au_image_f32_free(&img);
        print_message("warp_affine_f32 %s: %d warps bit-exact\n", levels[l].name, n);
    }
}

/* ---- warp_affine_u8: bit-exact, and the C version equals the per-pixel reference ---- */

static void fill_random_u8(AuImageU8 *img, uint32_t *seed)
{
    for (int y = 0; y < img->height; y++) {
        uint8_t *r = au_image_u8_row(img, y);
        for (int x = 0; x < img->width * img->channels; x++)
            r[x] = (uint8_t)(rng_next(seed) >> 24);
    }
}

/* ---- warp_affine_gray_f32: the float warp of the converted image, bit-exact ---- */

/* Every version (C included) against the C float warp of the image
 * converted to float, on sources whose last rows and columns are reached
 * (the 4-byte reads of the SIMD version), including one with no padding
 * (stride = width) so a read past the image would show under ASan or fault. */
static void test_warp_affine_gray_f32(void **state)
{
    const State *s = *state;
    AuError err = {0};
    uint32_t seed = 5151;
    static const int sizes[][2] = {{97, 61}, {640, 480}, {13, 7}, {5, 5}, {1, 1}};
    int n = 0;
    for (size_t z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
        AuImageU8 img = {0};
        AuImageF32 imgf = {0};
        assert_int_equal(au_image_u8_alloc(&img, sizes[z][0], sizes[z][1], 1, &err), AU_OK);
        assert_int_equal(au_image_f32_alloc(&imgf, sizes[z][0], sizes[z][1], &err), AU_OK);
        assert_true(img.stride == (size_t)img.width);
        fill_random_u8(&img, &seed);
        for (int y = 0; y < img.height; y++)
            for (int x = 0; x < img.width; x++)
                au_image_f32_row(&imgf, y)[x] = (float)au_image_u8_row(&img, y)[x];
        for (int trial = 0; trial < 200; trial++) {
            const int dw = 1 + (int)(rng_next(&seed) % 30), dh = 1 + (int)(rng_next(&seed) % 30);
            AuImageF32 want = {0}, got = {0};
            assert_int_equal(au_image_f32_alloc(&want, dw, dh, &err), AU_OK);
            assert_int_equal(au_image_f32_alloc(&got, dw, dh, &err), AU_OK);
            const double ang = rng_float(&seed, -0.6f, 0.6f), sc = rng_float(&seed, 0.5f, 2.5f);
            const double a1 = sc * cos(ang), b1 = sc * sin(ang);
            /* centres anywhere from off the image to its last pixels */
            const float cx = rng_float(&seed, -10.0f, (float)img.width + 10.0f);
            const float cy = rng_float(&seed, -10.0f, (float)img.height + 10.0f);
            const double M[6] = {a1, -b1, cx - a1 * (dw - 1) / 2.0 + b1 * (dw - 1) / 2.0,
                                 b1, a1,  cy - a1 * (dw - 1) / 2.0 - b1 * (dw - 1) / 2.0};
            assert_int_equal(s->ref.warp_affine_f32(&imgf, &want, M, &err), AU_OK);
            for (int l = -1; l < N_LEVELS; l++) {
                const AuDsp *t = l < 0 ? &s->ref : &s->tab[l];
                if (l >= 0 && !NEW_AT_LEVEL(s, l, warp_affine_gray_f32))
                    continue;
                for (int y = 0; y < dh; y++)
                    for (int x = 0; x < dw; x++)
                        au_image_f32_row(&got, y)[x] = NAN;
                assert_int_equal(t->warp_affine_gray_f32(&img, &got, M, &err), AU_OK);
                for (int y = 0; y < dh; y++)
                    if (memcmp(au_image_f32_row(&want, y), au_image_f32_row(&got, y), sizeof(float) * (size_t)dw))
                        fail_msg("warp_affine_gray_f32 %s: %dx%d source, trial %d, %dx%d, row %d differs",
                                 l < 0 ? "c" : levels[l].name, img.width, img.height, trial, dw, dh, y);
                n++;
            }
            au_image_f32_free(&want);
            au_image_f32_free(&got);
        }
        au_image_u8_free(&img);
        au_image_f32_free(&imgf);
    }
    print_message("warp_affine_gray_f32: %d warps identical to the float warp of the converted image\n", n);
}

/* A warp of one of several kinds for a src_w x src_h source and a dw x dh
 * output: AlignFaceMask's (a similarity mapping a face of the frame onto
 * the output, forward), the same partly or wholly off the source, inverse
 * maps, shears, degenerate (singular, huge, NaN) ones. */
static int random_warp_u8(uint32_t *seed, int kind, int src_w, int src_h, int dw, int dh, double M[6])
{
    const double ang = rng_float(seed, -3.2f, 3.2f), sc = rng_float(seed, 0.15f, 3.0f);
    const double c = sc * cos(ang), s = sc * sin(ang);
    /* the source point that lands on the output's centre */
    double cx = rng_float(seed, 0.0f, (float)src_w), cy = rng_float(seed, 0.0f, (float)src_h);
    switch (kind) {
    case 0: /* inside, as AlignFaceMask */
    case 1: /* anywhere near the source, often across its borders */
        if (kind == 1) {
            cx = rng_float(seed, -60.0f, (float)src_w + 60.0f);
            cy = rng_float(seed, -60.0f, (float)src_h + 60.0f);
        }
        M[0] = c, M[1] = -s, M[3] = s, M[4] = c;
        M[2] = dw / 2.0 - (c * cx - s * cy);
        M[5] = dh / 2.0 - (s * cx + c * cy);
        return 0;
    case 2: /* an inverse map with shear, near the source */
        M[0] = c, M[1] = rng_float(seed, -1.0f, 1.0f), M[3] = rng_float(seed, -1.0f, 1.0f), M[4] = s + 0.2;
        M[2] = cx - dw / 2.0, M[5] = cy - dh / 2.0;
        return AU_WARP_INVERSE_MAP;
    case 3: /* pure translations by fractions of 1/32 (edge weights) */
        M[0] = 1, M[1] = 0, M[3] = 0, M[4] = 1;
        M[2] = -floor(cx) + (double)(rng_next(seed) % 64) / 32.0 - 1.0;
        M[5] = -floor(cy) + (double)(rng_next(seed) % 64) / 32.0 - 1.0;
        return 0;
    default: { /* degenerate */
        const double bad[4] = {0.0, 1e12, NAN, 3e5};
        for (int i = 0; i < 6; i++)
            M[i] = rng_float(seed, -2.0f, 2.0f);
        M[rng_next(seed) % 6] = bad[rng_next(seed) % 4];
        return rng_next(seed) % 2 ? AU_WARP_INVERSE_MAP : 0;
    }
    }
}

static void test_warp_affine_u8(void **state)
{
    const State *s = *state;
    AuError err = {0};
    uint32_t seed = 777;
    /* sources: the video frame size, small ones, down to 1 x 1 */
    static const int sizes[][2] = {{640, 480}, {97, 61}, {13, 7}, {3, 3}, {2, 5}, {1, 1}, {4, 1}};
    int n = 0, n_levels = 0;
    for (int l = 0; l < N_LEVELS; l++)
        n_levels += NEW_AT_LEVEL(s, l, warp_affine_u8);
    for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++)
        for (int cn = 1; cn <= 3; cn += 2) {
            AuImageU8 src = {0};
            assert_int_equal(au_image_u8_alloc(&src, sizes[si][0], sizes[si][1], cn, &err), AU_OK);
            fill_random_u8(&src, &seed);
            const int trials = si == 0 ? 60 : 40;
            for (int trial = 0; trial < trials; trial++, n++) {
                /* outputs: the aligned face's 112 x 112, and odd widths for the row tails */
                const int dw = trial % 4 == 0 ? 112 : 1 + (int)(rng_next(&seed) % 40);
                const int dh = trial % 4 == 0 ? 112 : 1 + (int)(rng_next(&seed) % 12);
                double M[6];
                const int flags = random_warp_u8(&seed, trial % 5, src.width, src.height, dw, dh, M);
                AuImageU8 want = {0}, got = {0};
                assert_int_equal(au_image_u8_alloc(&want, dw, dh, cn, &err), AU_OK);
                assert_int_equal(au_image_u8_alloc(&got, dw, dh, cn, &err), AU_OK);
                assert_int_equal(au_warp_affine_u8_ref(&src, &want, M, flags, &err), AU_OK);
                for (int l = -1; l < N_LEVELS; l++) {
                    if (l >= 0 && !NEW_AT_LEVEL(s, l, warp_affine_u8))
                        continue;
                    const AuDsp *tab = l < 0 ? &s->ref : &s->tab[l];
                    memset(got.data, 0xa5, got.stride * (size_t)dh);
                    assert_int_equal(tab->warp_affine_u8(&src, &got, M, flags, &err), AU_OK);
                    for (int y = 0; y < dh; y++)
                        if (memcmp(au_image_u8_row(&want, y), au_image_u8_row(&got, y), (size_t)dw * (size_t)cn))
                            fail_msg("warp_affine_u8 %s: source %dx%dx%d, trial %d (kind %d), %dx%d, row %d differs",
                                     l < 0 ? "C" : levels[l].name, src.width, src.height, cn, trial, trial % 5, dw,
                                     dh, y);
                }
                au_image_u8_free(&want);
                au_image_u8_free(&got);
            }
            au_image_u8_free(&src);
        }
    print_message("warp_affine_u8: %d warps, C and %d SIMD version(s) equal to the per-pixel reference\n", n, n_levels);
}

/* ---- mean shift: within 1e-4 pixels ---- */

static void test_mean_shift(void **state)
{
    const State *s = *state;
    static const int windows[] = {3, 5, 7, 9, 11, 15};
    for (int l = 0; l < N_LEVELS; l++) {
        if (!NEW_AT_LEVEL(s, l, mean_shift))
            continue;
        uint32_t seed = 31337;
        double worst = 0;
        for (size_t wi = 0; wi < sizeof(windows) / sizeof(windows[0]); wi++) {
            const int w = windows[wi];
            AuKdeTable t;
            AuError err = {0};
            assert_int_equal(au_kde_table_build(&t, w, au_kde_a_from_sigma(1.5f + 0.1f * (float)wi), &err), AU_OK);
            float *resp = xmalloc(sizeof(float) * (size_t)w * w);
            for (int trial = 0; trial < 50; trial++) {
                for (int i = 0; i < w * w; i++)
                    resp[i] = trial % 5 == 0 ? rng_float(&seed, 0.0f, 1e-3f) : rng_float(&seed, 0.0f, 30.0f);
                float dx = rng_float(&seed, -1.0f, (float)w), dy = rng_float(&seed, -1.0f, (float)w);
                const float *row = au_kde_table_row(&t, &dx, &dy);
                float want[2], got[2];
                s->ref.mean_shift(resp, row, w, dx, dy, want);
                s->tab[l].mean_shift(resp, row, w, dx, dy, got);
                for (int c = 0; c < 2; c++) {
                    const double d = fabs((double)got[c] - want[c]);
                    if (!(d <= 1e-4))
                        fail_msg("mean_shift %s: window %d, trial %d: %.9g, C %.9g", levels[l].name, w, trial, got[c],
                                 want[c]);
                    worst = fmax(worst, d);
                }
            }
            free(resp);
            au_kde_table_free(&t);
        }
        print_message("mean_shift %s: worst |diff| %.3g px (tolerance 1e-4)\n", levels[l].name, worst);
    }
}

/* ---- Gauss-Newton products and the Cholesky solve ---- */

static void test_gauss_newton(void **state)
{
    const State *s = *state;
    static const int shapes[][2] = {{6, 136}, {40, 136}, {6, 102}, {36, 102}, {16, 56}, {1, 3}, {9, 7}, {50, 200}};
    for (int l = 0; l < N_LEVELS; l++) {
        const int do_h = NEW_AT_LEVEL(s, l, gn_hessian), do_r = NEW_AT_LEVEL(s, l, gn_rhs);
        if (!do_h && !do_r)
            continue;
        uint32_t seed = 2718;
        double worst_h = 0, worst_r = 0;
        for (size_t t = 0; t < sizeof(shapes) / sizeof(shapes[0]); t++) {
            const int np = shapes[t][0], n2 = shapes[t][1];
            float *J = xmalloc(sizeof(float) * (size_t)n2 * np), *Jwt = xmalloc(sizeof(float) * (size_t)np * n2);
            float *H0 = xmalloc(sizeof(float) * (size_t)np * np), *H1 = xmalloc(sizeof(float) * (size_t)np * np);
            float *v = xmalloc(sizeof(float) * (size_t)n2), *r0 = xmalloc(sizeof(float) * (size_t)np),
                  *r1 = xmalloc(sizeof(float) * (size_t)np);
            for (int k = 0; k < n2; k++) {
                /* a diagonal weight per coordinate (1 or a patch confidence) */
                const float wk = t % 2 ? 1.0f : rng_float(&seed, 0.5f, 3.0f);
                v[k] = rng_float(&seed, -3.0f, 3.0f);
                for (int i = 0; i < np; i++) {
                    const float j = rng_float(&seed, -50.0f, 50.0f);
                    J[(size_t)k * np + i] = j;
                    Jwt[(size_t)i * n2 + k] = wk * j;
                }
            }
            for (int i = 0; i < np * np; i++)
                H0[i] = H1[i] = 0;
            for (int i = 0; i < np; i++)
                H0[i * np + i] = H1[i * np + i] = i < 6 ? 0 : rng_float(&seed, 0.1f, 100.0f);
            if (do_h) {
                s->ref.gn_hessian(H0, J, Jwt, np, n2);
                s->tab[l].gn_hessian(H1, J, Jwt, np, n2);
                for (int i = 0; i < np; i++)
                    for (int j = 0; j < np; j++) {
                        double mag = 0;
                        for (int k = 0; k < n2; k++)
                            mag += fabs((double)J[(size_t)k * np + i] * Jwt[(size_t)j * n2 + k]);
                        const double d = fabs((double)H1[i * np + j] - H0[i * np + j]);
                        if (!(d <= 1e-5 * mag + 1e-3))
                            fail_msg("gn_hessian %s: %dx%d, element (%d, %d): %.9g, C %.9g", levels[l].name, np, n2, i,
                                     j, H1[i * np + j], H0[i * np + j]);
                        worst_h = fmax(worst_h, d / (mag + 1e-30));
                    }
            }
            if (do_r) {
                s->ref.gn_rhs(r0, Jwt, v, np, n2);
                s->tab[l].gn_rhs(r1, Jwt, v, np, n2);
                for (int i = 0; i < np; i++) {
                    double mag = 0;
                    for (int k = 0; k < n2; k++)
                        mag += fabs((double)Jwt[(size_t)i * n2 + k] * v[k]);
                    const double d = fabs((double)r1[i] - r0[i]);
                    if (!(d <= 1e-5 * mag + 1e-6))
                        fail_msg("gn_rhs %s: %dx%d, row %d: %.9g, C %.9g", levels[l].name, np, n2, i, r1[i], r0[i]);
                    worst_r = fmax(worst_r, d / (mag + 1e-30));
                }
            }
            free(J);
            free(Jwt);
            free(H0);
            free(H1);
            free(v);
            free(r0);
            free(r1);
        }
        print_message("gn_hessian / gn_rhs %s: worst |diff| %.3g / %.3g x sum |products| (tolerance 1e-5)\n",
                      levels[l].name, worst_h, worst_r);
    }
}

static void test_chol_solve(void **state)
{
    const State *s = *state;
    static const int sizes[] = {1, 2, 6, 7, 8, 9, 16, 36, 40, 61};
    for (int l = 0; l < N_LEVELS; l++) {
        if (!NEW_AT_LEVEL(s, l, chol_solve))
            continue;
        uint32_t seed = 161803;
        double worst = 0;
        for (size_t t = 0; t < sizeof(sizes) / sizeof(sizes[0]); t++) {
            const int n = sizes[t], m = n + 5;
            /* A = B^T B + diag: symmetric positive definite, as J^T J + reg */
            float *B = xmalloc(sizeof(float) * (size_t)m * n), *A = xmalloc(sizeof(float) * (size_t)n * n);
            float *b = xmalloc(sizeof(float) * (size_t)n), *x0 = xmalloc(sizeof(float) * (size_t)n),
                  *x1 = xmalloc(sizeof(float) * (size_t)n), *L = xmalloc(sizeof(float) * (size_t)n * n);
            for (int i = 0; i < m * n; i++)
                B[i] = rng_float(&seed, -10.0f, 10.0f);
            for (int i = 0; i < n; i++) {
                b[i] = rng_float(&seed, -100.0f, 100.0f);
                for (int j = 0; j < n; j++) {
                    double a = i == j ? 1.0 : 0.0;
                    for (int k = 0; k < m; k++)
                        a += (double)B[k * n + i] * B[k * n + j];
                    A[i * n + j] = (float)a;
                }
            }
            const int ok0 = s->ref.chol_solve(A, n, b, x0, L);
            const int ok1 = s->tab[l].chol_solve(A, n, b, x1, L);
            assert_int_equal(ok0, ok1);
            assert_true(ok0);
            double xmax = 0;
            for (int i = 0; i < n; i++)
                xmax = fmax(xmax, fabs((double)x0[i]));
            for (int i = 0; i < n; i++) {
                const double d = fabs((double)x1[i] - x0[i]);
                if (!(d <= 1e-4 * (xmax + 1e-3)))
                    fail_msg("chol_solve %s: n %d, x[%d]: %.9g, C %.9g", levels[l].name, n, i, x1[i], x0[i]);
                worst = fmax(worst, d / (xmax + 1e-3));
            }
            /* not positive definite: both give up and zero x */
            for (int i = 0; i < n * n; i++)
                A[i] = 0;
            A[0] = -1;
            assert_int_equal(s->ref.chol_solve(A, n, b, x0, L), 0);
            assert_int_equal(s->tab[l].chol_solve(A, n, b, x1, L), 0);
            for (int i = 0; i < n; i++)
                assert_true(x1[i] == 0.0f);
            free(B);
            free(A);
            free(b);
            free(x0);
            free(x1);
            free(L);
        }
        print_message("chol_solve %s: worst |diff| %.3g x max |x| (tolerance 1e-4)\n", levels[l].name, worst);
    }
}

/* ---- benchmark (--bench) ---- */

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

typedef struct BenchData {
    float *aoi, *im2col, *scratch, *pre, *resp;
    float *weights, *sigma, *vec, *kde, *J, *Jwt, *H, *H0, *L, *gx, *gv;
    double two_alpha[7];
    AuImageF32 img, aoi_img;
    AuImageU8 frame, face;
    const AuDsp *c_table;
    uint8_t *rows[3], *orient, *bin, *bgr, *gray;
    float *mag, *f32;
    double *va, *vb, *out;
    float *vbf; /* vb in float */
} BenchData;

typedef void (*bench_fn)(const AuDsp *dsp, BenchData *d);

static void bench_im2col_w11(const AuDsp *dsp, BenchData *d)
{
    dsp->ccnf_im2col_norm(d->im2col, d->scratch, d->aoi, 21, 11, 11, 11, 11);
}
static void bench_im2col_w9(const AuDsp *dsp, BenchData *d)
{
    dsp->ccnf_im2col_norm(d->im2col, d->scratch, d->aoi, 21, 11, 11, 9, 9);
}
static void bench_im2col_w7(const AuDsp *dsp, BenchData *d)
{
    dsp->ccnf_im2col_norm(d->im2col, d->scratch, d->aoi, 21, 11, 11, 7, 7);
}
static void bench_sigmoid(const AuDsp *dsp, BenchData *d) { dsp->ccnf_sigmoid_acc(d->resp, d->pre, 121, 0.7); }
static void bench_fhog_row_gray(const AuDsp *dsp, BenchData *d)
{
    dsp->fhog_row(d->rows[0], d->rows[1], d->rows[2], 1, 1, 104, d->orient, d->bin, d->mag);
}
static void bench_fhog_row_bgr(const AuDsp *dsp, BenchData *d)
{
    dsp->fhog_row(d->rows[0], d->rows[1], d->rows[2], 3, 1, 104, d->orient, d->bin, d->mag);
}
static void bench_vecmat(const AuDsp *dsp, BenchData *d) { dsp->vecmat_f64(d->out, d->va, d->vb, 11, 4702, 11); }
static void bench_vecmat_w32(const AuDsp *dsp, BenchData *d)
{
    dsp->vecmat_f64_w32(d->out, d->va, d->vbf, 11, 4702, 11);
}
static void bench_gray(const AuDsp *dsp, BenchData *d) { dsp->bgr_to_gray_u8(d->gray, d->bgr, 640); }
static void bench_f32(const AuDsp *dsp, BenchData *d) { dsp->u8_to_f32(d->f32, d->gray, 640); }
static void bench_yuv(const AuDsp *dsp, BenchData *d)
{
    dsp->yuv420_to_bgr_gray_u8(d->bgr, (uint8_t *)d->f32, d->gray, d->gray + 320, d->gray + 160, 640);
}
static void bench_neurons(const AuDsp *dsp, BenchData *d, int w)
{
    const AuCcnfNeuronArgs a = {d->aoi, 21, 11, 11, w, w, d->weights, d->two_alpha, 7, d->im2col, d->pre, d->scratch, dsp};
    dsp->ccnf_neurons(d->resp, &a);
}
static void bench_neurons_w9(const AuDsp *dsp, BenchData *d) { bench_neurons(dsp, d, 9); }
static void bench_neurons_w7(const AuDsp *dsp, BenchData *d) { bench_neurons(dsp, d, 7); }
static void bench_neurons_w3(const AuDsp *dsp, BenchData *d) { bench_neurons(dsp, d, 3); }
static void bench_sigma_w9(const AuDsp *dsp, BenchData *d) { dsp->ccnf_sigma_matvec(d->resp, d->vec, d->sigma, 81); }
static void bench_warp_19(const AuDsp *dsp, BenchData *d)
{
    const double M[6] = {0.98, -0.17, 200.3, 0.17, 0.98, 150.7};
    AuError err;
    dsp->warp_affine_f32(&d->img, &d->aoi_img, M, &err);
}
/* AlignFaceMask's warp: a 640x480 BGR frame's face (about 300 pixels wide,
 * turned by 0.1 rad) onto 112x112 */
static const double bench_face_warp[6] = {0.3716, 0.0373, -66.1, -0.0373, 0.3716, -41.2};
static void bench_warp_u8(const AuDsp *dsp, BenchData *d)
{
    AuError err;
    dsp->warp_affine_u8(&d->frame, &d->face, bench_face_warp, 0, &err);
}
static void bench_warp_u8_ref(const AuDsp *dsp, BenchData *d)
{
    (void)dsp;
    AuError err;
    au_warp_affine_u8_ref(&d->frame, &d->face, bench_face_warp, 0, &err);
}
static void bench_mean_shift_w9(const AuDsp *dsp, BenchData *d)
{
    float out[2];
    dsp->mean_shift(d->resp, d->kde, 9, 4.2f, 3.7f, out);
}
static void bench_hessian(const AuDsp *dsp, BenchData *d)
{
    memcpy(d->H, d->H0, sizeof(float) * 40 * 40);
    dsp->gn_hessian(d->H, d->J, d->Jwt, 40, 136);
}
static void bench_rhs(const AuDsp *dsp, BenchData *d) { dsp->gn_rhs(d->gx, d->Jwt, d->gv, 40, 136); }
static void bench_chol(const AuDsp *dsp, BenchData *d) { dsp->chol_solve(d->H0, 40, d->gv, d->gx, d->L); }

/* ns per call: the best of 5 runs of enough calls for ~20 ms */
static double time_fn(bench_fn fn, const AuDsp *dsp, BenchData *d)
{
    long reps = 1;
    for (;;) {
        double t0 = now_ns();
        for (long i = 0; i < reps; i++)
            fn(dsp, d);
        if (now_ns() - t0 > 2e6 || reps > (1L << 26))
            break;
        reps *= 2;
    }
    reps *= 10;
    double best = INFINITY;
    for (int run = 0; run < 5; run++) {
        double t0 = now_ns();
        for (long i = 0; i < reps; i++)
            fn(dsp, d);
        best = fmin(best, (now_ns() - t0) / (double)reps);
    }
    return best;
}

static void run_bench(const State *s)
{
    BenchData d;
    memset(&d, 0, sizeof(d));
    uint32_t seed = 7;
    d.aoi = xmalloc(sizeof(float) * 21 * 21);
    d.im2col = xmalloc(sizeof(float) * 122 * 121);
    d.scratch = xmalloc(sizeof(float) * au_dsp_ccnf_scratch_floats(11, 11, 11, 11));
    d.pre = xmalloc(sizeof(float) * 121 * 7);
    d.resp = xmalloc(sizeof(float) * 121);
    for (int i = 0; i < 21 * 21; i++)
        d.aoi[i] = rng_float(&seed, 0, 255);
    for (int i = 0; i < 121; i++) {
        d.pre[i] = rng_float(&seed, -10, 10);
        d.resp[i] = 0;
    }
    for (int r = 0; r < 3; r++) {
        d.rows[r] = xmalloc(3 * 112);
        for (int i = 0; i < 3 * 112; i++)
            d.rows[r][i] = (uint8_t)rng_next(&seed);
    }
    d.orient = xmalloc(AU_FHOG_ORIENT_SIZE);
    au_fhog_orientation_table(d.orient);
    d.bin = xmalloc(112);
    d.mag = xmalloc(sizeof(float) * 112);
    d.va = xmalloc(sizeof(double) * 4702);
    d.vb = xmalloc(sizeof(double) * 4702 * 11);
    d.out = xmalloc(sizeof(double) * 11);
    for (int i = 0; i < 4702; i++)
        d.va[i] = rng_float(&seed, -1, 1);
    d.vbf = xmalloc(sizeof(float) * 4702 * 11);
    for (int i = 0; i < 4702 * 11; i++)
        d.vbf[i] = (float)(d.vb[i] = rng_float(&seed, -1, 1));
    d.bgr = xmalloc(3 * 640);
    d.gray = xmalloc(640);
    d.f32 = xmalloc(sizeof(float) * 640);
    for (int i = 0; i < 3 * 640; i++)
        d.bgr[i] = (uint8_t)rng_next(&seed);
    for (int i = 0; i < 640; i++)
        d.gray[i] = (uint8_t)i;
    d.weights = xmalloc(sizeof(float) * 7 * 122);
    for (int i = 0; i < 7 * 122; i++)
        d.weights[i] = rng_float(&seed, -1, 1);
    for (int i = 0; i < 7; i++)
        d.two_alpha[i] = 0.5 + i;
    d.sigma = xmalloc(sizeof(float) * 81 * 81);
    d.vec = xmalloc(sizeof(float) * 81);
    for (int i = 0; i < 81 * 81; i++)
        d.sigma[i] = rng_float(&seed, -0.1f, 1);
    for (int i = 0; i < 81; i++)
        d.vec[i] = rng_float(&seed, 0, 10);
    AuError err = {0};
    if (au_image_f32_alloc(&d.img, 640, 480, &err) || au_image_f32_alloc(&d.aoi_img, 19, 19, &err))
        fail_msg("%s", err.msg);
    for (int y = 0; y < 480; y++)
        for (int x = 0; x < 640; x++)
            au_image_f32_row(&d.img, y)[x] = (float)((x * 7 + y * 13) % 256);
    if (au_image_u8_alloc(&d.frame, 640, 480, 3, &err) || au_image_u8_alloc(&d.face, 112, 112, 3, &err))
        fail_msg("%s", err.msg);
    fill_random_u8(&d.frame, &seed);
    AuKdeTable kt;
    if (au_kde_table_build(&kt, 9, au_kde_a_from_sigma(1.6f), &err))
        fail_msg("%s", err.msg);
    d.kde = xmalloc(sizeof(float) * 81);
    memcpy(d.kde, kt.values + 81 * 1234, sizeof(float) * 81);
    au_kde_table_free(&kt);
    d.J = xmalloc(sizeof(float) * 136 * 40);
    d.Jwt = xmalloc(sizeof(float) * 136 * 40);
    d.H = xmalloc(sizeof(float) * 40 * 40);
    d.H0 = xmalloc(sizeof(float) * 40 * 40);
    d.L = xmalloc(sizeof(float) * 40 * 40);
    d.gx = xmalloc(sizeof(float) * 136);
    d.gv = xmalloc(sizeof(float) * 136);
    for (int k = 0; k < 136; k++) {
        d.gv[k] = rng_float(&seed, -2, 2);
        for (int i = 0; i < 40; i++)
            d.J[k * 40 + i] = d.Jwt[i * 136 + k] = rng_float(&seed, -20, 20);
    }
    for (int i = 0; i < 40 * 40; i++)
        d.H0[i] = 0;
    for (int i = 0; i < 40; i++)
        d.H0[i * 40 + i] = 10;
    d.c_table = &s->ref;
    bench_hessian(&s->ref, &d);
    memcpy(d.H0, d.H, sizeof(float) * 40 * 40); /* positive definite, for the solve */

    static const struct {
        const char *name;
        bench_fn fn;
        int member; /* index in members[] */
    } benches[] = {
        {"ccnf_im2col_norm 11x11 w11", bench_im2col_w11, 0},
        {"ccnf_im2col_norm 11x11 w9", bench_im2col_w9, 0},
        {"ccnf_im2col_norm 11x11 w7", bench_im2col_w7, 0},
        {"ccnf_sigmoid_acc n121", bench_sigmoid, 1},
        {"fhog_row gray 104px", bench_fhog_row_gray, 2},
        {"fhog_row bgr 104px", bench_fhog_row_bgr, 2},
        {"vecmat_f64 4702x11", bench_vecmat, 3},
        {"bgr_to_gray_u8 640px", bench_gray, 4},
        {"yuv420_to_bgr_gray_u8 640px", bench_yuv, M_YUV},
        {"u8_to_f32 640px", bench_f32, M_F32},
        {"ccnf_neurons 11x11 w9 7n", bench_neurons_w9, M_NEURONS},
        {"ccnf_neurons 11x11 w7 7n", bench_neurons_w7, M_NEURONS},
        {"ccnf_neurons 11x11 w3 7n", bench_neurons_w3, M_NEURONS},
        {"ccnf_sigma_matvec 81", bench_sigma_w9, M_SIGMA},
        {"warp_affine_f32 19x19", bench_warp_19, M_WARP},
        {"mean_shift w9", bench_mean_shift_w9, M_MEANSHIFT},
        {"gn_hessian 40x136", bench_hessian, M_HESSIAN},
        {"gn_rhs 40x136", bench_rhs, M_RHS},
        {"chol_solve 40", bench_chol, M_CHOL},
        {"warp_affine_u8 112x112x3", bench_warp_u8, M_WARP_U8},
    };
    printf("%-28s %-9s %10s %10s %8s\n", "kernel", "isa", "C ns", "SIMD ns", "speed-up");
    for (size_t b = 0; b < sizeof(benches) / sizeof(benches[0]); b++) {
        const double t_c = time_fn(benches[b].fn, &s->ref, &d);
        int shown = 0;
        for (int l = 0; l < N_LEVELS; l++) {
            const Member *mb = &members[benches[b].member];
            if (!new_at_level(s, l, mb->offset, mb->size))
                continue;
            const double t = time_fn(benches[b].fn, &s->tab[l], &d);
            printf("%-28s %-9s %10.1f %10.1f %7.2fx\n", benches[b].name, levels[l].name, t_c, t, t_c / t);
            shown = 1;
        }
        if (!shown)
            printf("%-28s %-9s %10.1f %10s\n", benches[b].name, "-", t_c, "-");
    }
    {
        /* the fast table's float-weight scores against the double ones (C and best SIMD) */
        AuDsp c_fast;
        au_dsp_init_fast(&c_fast, 0);
        const AuDsp *best = &s->ref;
        for (int l = 0; l < N_LEVELS; l++)
            if (s->usable[l] && levels[l].fast)
                best = &s->tab[l];
        const double t_c = time_fn(bench_vecmat, &s->ref, &d), t_cw = time_fn(bench_vecmat_w32, &c_fast, &d);
        if (best->vecmat_f64_w32) {
            const double t_d = time_fn(bench_vecmat, best, &d), t_w = time_fn(bench_vecmat_w32, best, &d);
            printf("%-28s %-9s %10.1f %10.1f %7.2fx (float weights, SIMD vs double weights, SIMD; C %.1f / %.1f)\n",
                   "vecmat_f64_w32 4702x11", "fast", t_d, t_w, t_d / t_w, t_c, t_cw);
        }
    }
    {
        /* the 8-bit warp's C version (the table's) against the per-pixel one it replaced */
        const double t_ref = time_fn(bench_warp_u8_ref, &s->ref, &d), t_c = time_fn(bench_warp_u8, &s->ref, &d);
        printf("%-28s %-9s %10.1f %10.1f %7.2fx (per-pixel reference vs C)\n", "warp_affine_u8 112x112x3", "ref",
               t_ref, t_c, t_ref / t_c);
    }
    free(d.aoi);
    free(d.im2col);
    free(d.scratch);
    free(d.pre);
    free(d.resp);
    for (int r = 0; r < 3; r++)
        free(d.rows[r]);
    free(d.orient);
    free(d.bin);
    free(d.mag);
    free(d.va);
    free(d.vb);
    free(d.vbf);
    free(d.out);
    free(d.bgr);
    free(d.gray);
    free(d.f32);
    free(d.weights);
    free(d.sigma);
    free(d.vec);
    free(d.kde);
    free(d.J);
    free(d.Jwt);
    free(d.H);
    free(d.H0);
    free(d.L);
    free(d.gx);
    free(d.gv);
    au_image_f32_free(&d.img);
    au_image_f32_free(&d.aoi_img);
    au_image_u8_free(&d.frame);
    au_image_u8_free(&d.face);
}

int main(int argc, char **argv)
{
    int bench = argc > 1 && !strcmp(argv[1], "--bench");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_overview),         cmocka_unit_test(test_ccnf_im2col_norm),
        cmocka_unit_test(test_ccnf_sigmoid_acc), cmocka_unit_test(test_fhog_row),
        cmocka_unit_test(test_vecmat_f64),       cmocka_unit_test(test_vecmat_f64_openface),
        cmocka_unit_test(test_image_conversion), cmocka_unit_test(test_ccnf_neurons),
        cmocka_unit_test(test_ccnf_sigma_matvec), cmocka_unit_test(test_warp_affine_f32),
        cmocka_unit_test(test_mean_shift),       cmocka_unit_test(test_gauss_newton),
        cmocka_unit_test(test_chol_solve),       cmocka_unit_test(test_warp_affine_u8),
        cmocka_unit_test(test_vecmat_f64_w32),   cmocka_unit_test(test_warp_affine_gray_f32),
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
