/* AVX2 + FMA versions of the DSP kernels whose contract (dsp.h) states a
 * tolerance instead of bit-exactness: au_dsp_init_fast installs them (the
 * simd variant). They reorder float sums, fuse multiply-adds and use a
 * polynomial exp; tests/test_checkdsp.c checks each against its C reference
 * within the stated bound, on random inputs, and benchmarks both.
 *
 * Function-level target attributes as in dsp_avx2.c: the file needs no
 * compiler flags and au_dsp_init_avx2_fast runs on any x86-64 CPU. */
#include "dsp_avx2.h"

#if AU_DSP_HAVE_AVX2

#include <float.h>
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "cpu.h"

#define FMA __attribute__((target("avx2,fma")))
#define INLINE static inline __attribute__((always_inline))

static const int32_t mask_src[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

/* lane mask of the first n (0..8) float lanes */
INLINE FMA __m256i first_lanes(int n)
{
    return _mm256_loadu_si256((const __m256i *)(mask_src + 8 - (n < 0 ? 0 : n > 8 ? 8 : n)));
}

INLINE FMA float hsum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

INLINE FMA double hsum_pd(__m256d v)
{
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

/* exp(t) in float: t = n ln2 + r (|r| <= ln2/2, ln2 in two parts), e^r by
 * its Taylor polynomial of degree 7 (truncation below 2e-8 relative), times
 * 2^n in the exponent field; t clamped to [-87, 88] (normal results). About
 * 1 float ulp. */
INLINE FMA __m256 exp_ps(__m256 t)
{
    t = _mm256_min_ps(_mm256_max_ps(t, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(t, _mm256_set1_ps(1.44269504f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145752f), t);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.42860677e-06f), r);
    __m256 p = _mm256_set1_ps(1.0f / 5040);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

/* ---- CCNF neurons (steps 1-3 of the response) ---- */

/* Positions per register block (vectors) and neurons per block: 2 x 4
 * accumulators, 2 loads and a broadcast stay well inside the 16 registers. */
#define NEUR_PV 2
#define NEUR_NB 4

/* Positions are row-major here (p = y * resp_w + x), so that tap (xx, yy) of
 * consecutive positions is contiguous in shifted copies of the AOI rows:
 * sh[xx][v * resp_w + x] = AOI(x + xx, v) - centre, and tap (xx, yy) at p is
 * sh[xx][yy * resp_w + p]. (The caller's x-major order is restored at the
 * end.) corr[n][v] = sum over the taps of W_n[tap] x(tap, p0 + 8v ..) for NN
 * neurons and NV vectors; the epilogue turns each neuron's correlation into
 * its sigmoid and adds it to acc (row-major) in neuron order. */
INLINE FMA void neurons_block(float *acc, const float *sh, ptrdiff_t sh_n, int resp_w, int patch_w, int patch_h,
                              const float *w, int k, const float *wsum, const double *two_alpha, const float *mean,
                              const float *scale, ptrdiff_t p0, ptrdiff_t n_pos, int NN, int NV)
{
    /* fully unrolled (NN and NV are constants): the accumulators stay in registers */
    __m256 c[NEUR_NB][NEUR_PV];
#pragma GCC unroll 4
    for (int n = 0; n < NN; n++)
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++)
            c[n][v] = _mm256_setzero_ps();
    for (int xx = 0; xx < patch_w; xx++) {
        const float *col = sh + xx * sh_n + p0;
        const float *wt = w + 1 + xx * patch_h; /* im2col order: tap 1 + xx * patch_h + yy */
        for (int yy = 0; yy < patch_h; yy++) {
            const float *src = col + (ptrdiff_t)yy * resp_w;
            __m256 d[NEUR_PV];
#pragma GCC unroll 2
            for (int v = 0; v < NV; v++)
                d[v] = _mm256_loadu_ps(src + 8 * v);
#pragma GCC unroll 4
            for (int n = 0; n < NN; n++) {
                const __m256 wv = _mm256_broadcast_ss(wt + (ptrdiff_t)n * k + yy);
#pragma GCC unroll 2
                for (int v = 0; v < NV; v++)
                    c[n][v] = _mm256_fmadd_ps(wv, d[v], c[n][v]);
            }
        }
    }
    const __m256 one = _mm256_set1_ps(1.0f);
#pragma GCC unroll 4
    for (int n = 0; n < NN; n++) {
        if (two_alpha[n] == 0.0)
            continue;
        const __m256 bias = _mm256_set1_ps(w[(ptrdiff_t)n * k]), ws = _mm256_set1_ps(wsum[n]);
        const __m256 ta = _mm256_set1_ps((float)two_alpha[n]);
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++) {
            const ptrdiff_t p = p0 + 8 * v;
            if (p >= n_pos)
                break;
            /* bias + (w . x - mean * sum(w)) * scale */
            const __m256 m = _mm256_loadu_ps(mean + p), s = _mm256_loadu_ps(scale + p);
            const __m256 pre = _mm256_fmadd_ps(_mm256_fnmadd_ps(m, ws, c[n][v]), s, bias);
            const __m256 e = exp_ps(_mm256_sub_ps(_mm256_setzero_ps(), pre));
            const __m256 sig = _mm256_div_ps(ta, _mm256_add_ps(one, e));
            _mm256_storeu_ps(acc + p, _mm256_add_ps(_mm256_loadu_ps(acc + p), sig));
        }
    }
}

/* the constant (NN, NV) instances */
#define NEURONS_CASE(nn, nv)                                                                                           \
    neurons_block(accr, sh, sh_n, rw, pw, ph, w, k, wsum + n0, two_alpha + n0, mean, scale, p0, n_pos, nn, nv)

/* The shifted rows, the patch means and scales, a zeroed row-major
 * accumulator: what both correlation loops (AVX2, AVX-512) start from. */
typedef struct NeuronsPrep {
    const float *sh;
    ptrdiff_t sh_n, n_pos;
    const float *mean, *scale;
    float *accr; /* n_pos + 32 floats, zero */
} NeuronsPrep;

static FMA void neurons_prepare(const AuCcnfNeuronArgs *a, NeuronsPrep *out)
{
    const int pw = a->patch_w, ph = a->patch_h, rw = a->resp_w, rh = a->resp_h;
    const int aoi_w = rw + pw - 1, aoi_h = rh + ph - 1;
    const ptrdiff_t n_pos = (ptrdiff_t)rw * rh, sh_n = (ptrdiff_t)aoi_h * rw, stride = a->src_stride;
    const float *src = a->src;

    /* scratch (au_dsp_ccnf_scratch_floats): sh (pw x sh_n + 32), then the
     * row sums as doubles (2 x sh_n + 8), then mean, scale and the
     * row-major accumulator (n_pos + 32 each), all 32-byte aligned */
    float *sh = a->scratch;
    size_t off = ((size_t)pw * (size_t)sh_n + 32 + 7) & ~(size_t)7;
    double *r1 = (double *)(void *)(a->scratch + off);
    double *r2 = r1 + ((sh_n + 7) & ~(ptrdiff_t)7);
    off += 2 * (size_t)((sh_n + 7) & ~(ptrdiff_t)7) * 2;
    const size_t vec_n = ((size_t)n_pos + 32 + 7) & ~(size_t)7;
    float *mean = a->scratch + off, *scale = mean + vec_n, *accr = scale + vec_n;

    /* the shifted rows, centred on the AOI's middle pixel: small magnitudes
     * keep the float correlation and the patch sums accurate */
    const __m256 centre = _mm256_set1_ps(src[(ptrdiff_t)(aoi_h / 2) * stride + aoi_w / 2]);
    const __m256i tail = first_lanes(rw % 8);
    for (int xx = 0; xx < pw; xx++)
        for (int v = 0; v < aoi_h; v++) {
            const float *s = src + (ptrdiff_t)v * stride + xx;
            float *d = sh + xx * sh_n + (ptrdiff_t)v * rw;
            int x = 0;
            for (; x + 8 <= rw; x += 8)
                _mm256_storeu_ps(d + x, _mm256_sub_ps(_mm256_loadu_ps(s + x), centre));
            if (x < rw)
                _mm256_maskstore_ps(d + x, tail, _mm256_sub_ps(_mm256_maskload_ps(s + x, tail), centre));
        }
    memset(sh + pw * sh_n, 0, 32 * sizeof(float));

    /* patch sums of x and x^2, in double: along the rows (sum over xx of the
     * shifted copies), then down the columns (sum over yy of rows yy apart) */
    /* four independent groups of 4 at a time: the adds are latency-bound chains */
    for (ptrdiff_t i = 0; i < sh_n; i += 16) {
        __m256d s1[4], s2[4];
        __m128i m4[4];
        for (int g = 0; g < 4; g++) {
            const ptrdiff_t left = sh_n - i - 4 * g;
            m4[g] = _mm256_castsi256_si128(first_lanes(left < 0 ? 0 : left > 4 ? 4 : (int)left));
            s1[g] = s2[g] = _mm256_setzero_pd();
        }
        for (int xx = 0; xx < pw; xx++) {
            const float *row = sh + xx * sh_n + i;
            for (int g = 0; g < 4; g++) {
                const __m256d x = _mm256_cvtps_pd(_mm_maskload_ps(row + 4 * g, m4[g]));
                s1[g] = _mm256_add_pd(s1[g], x);
                s2[g] = _mm256_fmadd_pd(x, x, s2[g]);
            }
        }
        for (int g = 0; g < 4 && i + 4 * g < sh_n; g++) {
            _mm256_storeu_pd(r1 + i + 4 * g, s1[g]);
            _mm256_storeu_pd(r2 + i + 4 * g, s2[g]);
        }
    }
    const __m256d inv_count = _mm256_set1_pd(1.0 / (double)(pw * ph));
    for (ptrdiff_t p = 0; p < n_pos; p += 4) {
        __m256d s1 = _mm256_setzero_pd(), s2 = _mm256_setzero_pd();
        for (int yy = 0; yy < ph; yy++) {
            s1 = _mm256_add_pd(s1, _mm256_loadu_pd(r1 + (ptrdiff_t)yy * rw + p));
            s2 = _mm256_add_pd(s2, _mm256_loadu_pd(r2 + (ptrdiff_t)yy * rw + p));
        }
        const __m256d mu = _mm256_mul_pd(s1, inv_count);
        const __m256 var = _mm256_castps128_ps256(_mm256_cvtpd_ps(_mm256_fnmadd_pd(s1, mu, s2)));
        /* OpenFace divides by 1 when the patch is flat */
        const __m256 sc = _mm256_blendv_ps(_mm256_set1_ps(1.0f), _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_sqrt_ps(var)),
                                           _mm256_cmp_ps(var, _mm256_setzero_ps(), _CMP_GT_OQ));
        _mm_storeu_ps(mean + p, _mm256_cvtpd_ps(mu));
        _mm_storeu_ps(scale + p, _mm256_castps256_ps128(sc));
    }
    for (ptrdiff_t i = n_pos; i < n_pos + 32; i++)
        mean[i] = scale[i] = accr[i] = 0.0f;
    for (ptrdiff_t i = 0; i < n_pos; i++)
        accr[i] = 0.0f;
    out->sh = sh;
    out->sh_n = sh_n;
    out->n_pos = n_pos;
    out->mean = mean;
    out->scale = scale;
    out->accr = accr;
}

/* sum(w) over the patch weights of each of n neurons (rows of k) */
static FMA void weight_sums(const float *w, int k, int n, float *wsum)
{
    for (int i = 0; i < n; i++) {
        __m256 s = _mm256_setzero_ps();
        const float *wr = w + (ptrdiff_t)i * k + 1;
        int t = 0;
        for (; t + 8 <= k - 1; t += 8)
            s = _mm256_add_ps(s, _mm256_loadu_ps(wr + t));
        float sum = hsum(s);
        for (; t < k - 1; t++)
            sum += wr[t];
        wsum[i] = sum;
    }
}

/* acc (x-major) from the row-major accumulator */
static void neurons_store(float *acc, const float *accr, int rw, int rh)
{
    for (int y = 0; y < rh; y++)
        for (int x = 0; x < rw; x++)
            acc[(ptrdiff_t)x * rh + y] = accr[(ptrdiff_t)y * rw + x];
}

static FMA void ccnf_neurons_fast(float *acc, const AuCcnfNeuronArgs *a)
{
    const int pw = a->patch_w, ph = a->patch_h, rw = a->resp_w, rh = a->resp_h, k = 1 + pw * ph;
    NeuronsPrep np;
    neurons_prepare(a, &np);
    const float *sh = np.sh, *mean = np.mean, *scale = np.scale;
    const ptrdiff_t sh_n = np.sh_n, n_pos = np.n_pos;
    float *accr = np.accr;

    /* sum(w) per neuron; the sums run in blocks of positions, neurons inside */
    float wsum_buf[64];
    const int n_neur = a->n_neurons;
    for (int n_base = 0; n_base < n_neur; n_base += 64) {
        const int nb = n_neur - n_base < 64 ? n_neur - n_base : 64;
        const float *wbase = a->weights + (ptrdiff_t)n_base * k;
        weight_sums(wbase, k, nb, wsum_buf);
        for (ptrdiff_t p0 = 0; p0 < n_pos; p0 += 8 * NEUR_PV) {
            const int nv = (n_pos - p0 + 7) / 8 < NEUR_PV ? (int)((n_pos - p0 + 7) / 8) : NEUR_PV;
            for (int n0 = 0; n0 < nb; n0 += NEUR_NB) {
                const int nn = nb - n0 < NEUR_NB ? nb - n0 : NEUR_NB;
                const float *w = wbase + (ptrdiff_t)n0 * k;
                const float *wsum = wsum_buf;
                const double *two_alpha = a->two_alpha + n_base;
                switch (nn * 4 + nv) {
                case 4 * 4 + 2: NEURONS_CASE(4, 2); break;
                case 4 * 4 + 1: NEURONS_CASE(4, 1); break;
                case 3 * 4 + 2: NEURONS_CASE(3, 2); break;
                case 3 * 4 + 1: NEURONS_CASE(3, 1); break;
                case 2 * 4 + 2: NEURONS_CASE(2, 2); break;
                case 2 * 4 + 1: NEURONS_CASE(2, 1); break;
                case 1 * 4 + 2: NEURONS_CASE(1, 2); break;
                default: NEURONS_CASE(1, 1); break;
                }
            }
        }
    }
    /* x-major, as OpenFace's im2col orders the positions */
    neurons_store(acc, accr, rw, rh);
}

/* The same correlation with AVX-512: 16 positions per vector, two vectors
 * by up to 8 neurons in the 32 registers, the weights broadcast from memory
 * into the FMAs. */
#define AVX512 __attribute__((target("avx512f,avx512vl,avx2,fma")))
#define N512_PV 2
#define N512_NB 8

INLINE AVX512 __m512 exp_ps512(__m512 t)
{
    t = _mm512_min_ps(_mm512_max_ps(t, _mm512_set1_ps(-87.0f)), _mm512_set1_ps(88.0f));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(t, _mm512_set1_ps(1.44269504f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145752f), t);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.42860677e-06f), r);
    __m512 p = _mm512_set1_ps(1.0f / 5040);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    const __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(p, _mm512_castsi512_ps(e));
}

INLINE AVX512 void neurons_block512(float *acc, const float *sh, ptrdiff_t sh_n, int resp_w, int patch_w, int patch_h,
                                    const float *w, int k, const float *wsum, const double *two_alpha,
                                    const float *mean, const float *scale, ptrdiff_t p0, ptrdiff_t n_pos, int NN,
                                    int NV)
{
    __m512 c[N512_NB][N512_PV];
#pragma GCC unroll 8
    for (int n = 0; n < NN; n++)
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++)
            c[n][v] = _mm512_setzero_ps();
    for (int xx = 0; xx < patch_w; xx++) {
        const float *col = sh + xx * sh_n + p0;
        const float *wt = w + 1 + xx * patch_h;
        for (int yy = 0; yy < patch_h; yy++) {
            const float *src = col + (ptrdiff_t)yy * resp_w;
            __m512 d[N512_PV];
#pragma GCC unroll 2
            for (int v = 0; v < NV; v++)
                d[v] = _mm512_loadu_ps(src + 16 * v);
#pragma GCC unroll 8
            for (int n = 0; n < NN; n++) {
                const __m512 wv = _mm512_set1_ps(wt[(ptrdiff_t)n * k + yy]);
#pragma GCC unroll 2
                for (int v = 0; v < NV; v++)
                    c[n][v] = _mm512_fmadd_ps(wv, d[v], c[n][v]);
            }
        }
    }
    const __m512 one = _mm512_set1_ps(1.0f);
#pragma GCC unroll 8
    for (int n = 0; n < NN; n++) {
        if (two_alpha[n] == 0.0)
            continue;
        const __m512 bias = _mm512_set1_ps(w[(ptrdiff_t)n * k]), ws = _mm512_set1_ps(wsum[n]);
        const __m512 ta = _mm512_set1_ps((float)two_alpha[n]);
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++) {
            const ptrdiff_t p = p0 + 16 * v;
            if (p >= n_pos)
                break;
            const __m512 m = _mm512_loadu_ps(mean + p), sc = _mm512_loadu_ps(scale + p);
            const __m512 pre = _mm512_fmadd_ps(_mm512_fnmadd_ps(m, ws, c[n][v]), sc, bias);
            const __m512 e = exp_ps512(_mm512_sub_ps(_mm512_setzero_ps(), pre));
            const __m512 sig = _mm512_div_ps(ta, _mm512_add_ps(one, e));
            _mm512_storeu_ps(acc + p, _mm512_add_ps(_mm512_loadu_ps(acc + p), sig));
        }
    }
}

#define NEURONS512_CASE(nn, nv)                                                                                        \
    neurons_block512(accr, sh, sh_n, rw, pw, ph, w, k, wsum_buf + n0, two_alpha + n0, mean, scale, p0, n_pos, nn, nv)

static AVX512 void ccnf_neurons_fast512(float *acc, const AuCcnfNeuronArgs *a)
{
    const int pw = a->patch_w, ph = a->patch_h, rw = a->resp_w, rh = a->resp_h, k = 1 + pw * ph;
    NeuronsPrep np;
    neurons_prepare(a, &np);
    const float *sh = np.sh, *mean = np.mean, *scale = np.scale;
    const ptrdiff_t sh_n = np.sh_n, n_pos = np.n_pos;
    float *accr = np.accr;
    float wsum_buf[64];
    for (int n_base = 0; n_base < a->n_neurons; n_base += 64) {
        const int nb = a->n_neurons - n_base < 64 ? a->n_neurons - n_base : 64;
        const float *wbase = a->weights + (ptrdiff_t)n_base * k;
        const double *two_alpha = a->two_alpha + n_base;
        weight_sums(wbase, k, nb, wsum_buf);
        for (ptrdiff_t p0 = 0; p0 < n_pos; p0 += 16 * N512_PV) {
            const int nv = n_pos - p0 > 16 ? 2 : 1;
            for (int n0 = 0; n0 < nb; n0 += N512_NB) {
                const int nn = nb - n0 < N512_NB ? nb - n0 : N512_NB;
                const float *w = wbase + (ptrdiff_t)n0 * k;
                switch (nn * 2 + nv - 1) {
                case 8 * 2 + 1: NEURONS512_CASE(8, 2); break;
                case 8 * 2: NEURONS512_CASE(8, 1); break;
                case 7 * 2 + 1: NEURONS512_CASE(7, 2); break;
                case 7 * 2: NEURONS512_CASE(7, 1); break;
                case 6 * 2 + 1: NEURONS512_CASE(6, 2); break;
                case 6 * 2: NEURONS512_CASE(6, 1); break;
                case 5 * 2 + 1: NEURONS512_CASE(5, 2); break;
                case 5 * 2: NEURONS512_CASE(5, 1); break;
                case 4 * 2 + 1: NEURONS512_CASE(4, 2); break;
                case 4 * 2: NEURONS512_CASE(4, 1); break;
                case 3 * 2 + 1: NEURONS512_CASE(3, 2); break;
                case 3 * 2: NEURONS512_CASE(3, 1); break;
                case 2 * 2 + 1: NEURONS512_CASE(2, 2); break;
                case 2 * 2: NEURONS512_CASE(2, 1); break;
                case 1 * 2 + 1: NEURONS512_CASE(1, 2); break;
                default: NEURONS512_CASE(1, 1); break;
                }
            }
        }
    }
    neurons_store(acc, accr, rw, rh);
}

/* ---- CCNF Sigma product ---- */

/* out[j] = sigma row j . vec: four rows at a time share the loads of vec. */
static FMA void ccnf_sigma_matvec_fast(float *out, const float *vec, const float *sigma, int n)
{
    const __m256i last = first_lanes(n - 8 * ((n - 1) / 8));
    int j = 0;
    for (; j + 4 <= n; j += 4) {
        const float *r = sigma + (ptrdiff_t)j * n;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
        int i = 0;
        for (; i + 8 < n; i += 8) {
            const __m256 x = _mm256_loadu_ps(vec + i);
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(r + i), x, a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(r + n + i), x, a1);
            a2 = _mm256_fmadd_ps(_mm256_loadu_ps(r + 2 * n + i), x, a2);
            a3 = _mm256_fmadd_ps(_mm256_loadu_ps(r + 3 * n + i), x, a3);
        }
        const __m256 x = _mm256_maskload_ps(vec + i, last);
        a0 = _mm256_fmadd_ps(_mm256_maskload_ps(r + i, last), x, a0);
        a1 = _mm256_fmadd_ps(_mm256_maskload_ps(r + n + i, last), x, a1);
        a2 = _mm256_fmadd_ps(_mm256_maskload_ps(r + 2 * n + i, last), x, a2);
        a3 = _mm256_fmadd_ps(_mm256_maskload_ps(r + 3 * n + i, last), x, a3);
        /* the four horizontal sums at once */
        const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
        _mm_storeu_ps(out + j, _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
    }
    for (; j < n; j++) {
        const float *r = sigma + (ptrdiff_t)j * n;
        __m256 a0 = _mm256_setzero_ps();
        int i = 0;
        for (; i + 8 < n; i += 8)
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(r + i), _mm256_loadu_ps(vec + i), a0);
        a0 = _mm256_fmadd_ps(_mm256_maskload_ps(r + i, last), _mm256_maskload_ps(vec + i, last), a0);
        out[j] = hsum(a0);
    }
}

/* ---- KDE mean shift ---- */

/* The window^2 products response x kernel as one flat run of vectors; each
 * element's column jj and row ii come from its index (exact in float). */
static FMA void mean_shift_fast(const float *response, const float *kde_row, int window, float dx, float dy,
                                float out[2])
{
    const int n = window * window;
    const __m256 wf = _mm256_set1_ps((float)window), inv_w = _mm256_set1_ps(1.0f / (float)window);
    __m256 idx = _mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256 eight = _mm256_set1_ps(8.0f), half = _mm256_set1_ps(0.5f);
    __m256 sum = _mm256_setzero_ps(), mx = _mm256_setzero_ps(), my = _mm256_setzero_ps();
    for (int i = 0; i < n; i += 8) {
        __m256 v;
        if (i + 8 <= n) {
            v = _mm256_mul_ps(_mm256_loadu_ps(response + i), _mm256_loadu_ps(kde_row + i));
        } else {
            const __m256i mk = first_lanes(n - i);
            v = _mm256_mul_ps(_mm256_maskload_ps(response + i, mk), _mm256_maskload_ps(kde_row + i, mk));
        }
        /* ii = floor((idx + 0.5) / window), jj = idx - ii * window */
        const __m256 ii = _mm256_floor_ps(_mm256_mul_ps(_mm256_add_ps(idx, half), inv_w));
        const __m256 jj = _mm256_fnmadd_ps(ii, wf, idx);
        sum = _mm256_add_ps(sum, v);
        mx = _mm256_fmadd_ps(v, jj, mx);
        my = _mm256_fmadd_ps(v, ii, my);
        idx = _mm256_add_ps(idx, eight);
    }
    const float s = hsum(sum);
    out[0] = hsum(mx) / s - dx;
    out[1] = hsum(my) / s - dy;
}

/* ---- Gauss-Newton products ---- */

/* A 4 x 16 tile of R = Jwt J (rows i0.., columns j0..): per k, the 16
 * values of J row k times the 4 values Jwt[i0..i0+3][k]. rows/cols: the
 * tile's valid part (the rest is computed from zero padding or masked). */
INLINE FMA void hessian_tile(float *tile, const float *J, const float *Jwt, int np, int n2, int i0, int rows, int j0,
                             int cols)
{
    const __m256i m0 = first_lanes(cols), m1 = first_lanes(cols - 8);
    __m256 a00 = _mm256_setzero_ps(), a01 = _mm256_setzero_ps(), a10 = _mm256_setzero_ps(), a11 = _mm256_setzero_ps();
    __m256 a20 = _mm256_setzero_ps(), a21 = _mm256_setzero_ps(), a30 = _mm256_setzero_ps(), a31 = _mm256_setzero_ps();
    const float *w0 = Jwt + (ptrdiff_t)i0 * n2;
    const float *w1 = rows > 1 ? w0 + n2 : w0, *w2 = rows > 2 ? w0 + 2 * n2 : w0, *w3 = rows > 3 ? w0 + 3 * n2 : w0;
    const float *jr = J + j0;
    if (cols >= 16) {
        for (int k = 0; k < n2; k++, jr += np) {
            const __m256 x0 = _mm256_loadu_ps(jr), x1 = _mm256_loadu_ps(jr + 8);
            __m256 b = _mm256_broadcast_ss(w0 + k);
            a00 = _mm256_fmadd_ps(b, x0, a00), a01 = _mm256_fmadd_ps(b, x1, a01);
            b = _mm256_broadcast_ss(w1 + k);
            a10 = _mm256_fmadd_ps(b, x0, a10), a11 = _mm256_fmadd_ps(b, x1, a11);
            b = _mm256_broadcast_ss(w2 + k);
            a20 = _mm256_fmadd_ps(b, x0, a20), a21 = _mm256_fmadd_ps(b, x1, a21);
            b = _mm256_broadcast_ss(w3 + k);
            a30 = _mm256_fmadd_ps(b, x0, a30), a31 = _mm256_fmadd_ps(b, x1, a31);
        }
    } else {
        for (int k = 0; k < n2; k++, jr += np) {
            const __m256 x0 = _mm256_maskload_ps(jr, m0), x1 = _mm256_maskload_ps(jr + 8, m1);
            __m256 b = _mm256_broadcast_ss(w0 + k);
            a00 = _mm256_fmadd_ps(b, x0, a00), a01 = _mm256_fmadd_ps(b, x1, a01);
            b = _mm256_broadcast_ss(w1 + k);
            a10 = _mm256_fmadd_ps(b, x0, a10), a11 = _mm256_fmadd_ps(b, x1, a11);
            b = _mm256_broadcast_ss(w2 + k);
            a20 = _mm256_fmadd_ps(b, x0, a20), a21 = _mm256_fmadd_ps(b, x1, a21);
            b = _mm256_broadcast_ss(w3 + k);
            a30 = _mm256_fmadd_ps(b, x0, a30), a31 = _mm256_fmadd_ps(b, x1, a31);
        }
    }
    _mm256_storeu_ps(tile, a00), _mm256_storeu_ps(tile + 8, a01);
    _mm256_storeu_ps(tile + 16, a10), _mm256_storeu_ps(tile + 24, a11);
    _mm256_storeu_ps(tile + 32, a20), _mm256_storeu_ps(tile + 40, a21);
    _mm256_storeu_ps(tile + 48, a30), _mm256_storeu_ps(tile + 56, a31);
}

/* R is symmetric (W diagonal): the tiles on and above the diagonal, each
 * value added to H at (i, j) and (j, i). */
static FMA void gn_hessian_fast(float *H, const float *J, const float *Jwt, int np, int n2)
{
    float tile[64];
    for (int i0 = 0; i0 < np; i0 += 4) {
        const int rows = np - i0 < 4 ? np - i0 : 4;
        for (int j0 = i0 & ~3; j0 < np; j0 += 16) {
            const int cols = np - j0 < 16 ? np - j0 : 16;
            hessian_tile(tile, J, Jwt, np, n2, i0, rows, j0, cols);
            for (int r = 0; r < rows; r++) {
                const int i = i0 + r;
                for (int c = j0 > i ? 0 : i - j0; c < cols; c++) {
                    const int j = j0 + c;
                    H[(ptrdiff_t)i * np + j] += tile[r * 16 + c];
                    if (j != i)
                        H[(ptrdiff_t)j * np + i] += tile[r * 16 + c];
                }
            }
        }
    }
}

static FMA void gn_rhs_fast(float *rhs, const float *Jwt, const float *v, int np, int n2)
{
    for (int i = 0; i < np; i++) {
        const float *row = Jwt + (ptrdiff_t)i * n2;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        int k = 0;
        for (; k + 16 <= n2; k += 16) {
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(row + k), _mm256_loadu_ps(v + k), a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(row + k + 8), _mm256_loadu_ps(v + k + 8), a1);
        }
        for (; k < n2; k += 8) {
            const __m256i mk = first_lanes(n2 - k);
            a0 = _mm256_fmadd_ps(_mm256_maskload_ps(row + k, mk), _mm256_maskload_ps(v + k, mk), a0);
        }
        rhs[i] = hsum(_mm256_add_ps(a0, a1));
    }
}

/* ---- Cholesky solve ---- */

/* A = L L^T, built column by column as U = L^T (row j of U = column j of L,
 * contiguous), 8 rows of a column at a time: U[j][i] = (A[j][i] - sum over
 * k < j of U[k][i] U[k][j]) / U[j][j] (A symmetric, so its row j is its
 * column j). Then L y = b by columns (axpy on rows of U) and U x = y by rows
 * (dot products). Float with FMA; a pivot below FLT_EPSILON fails as in
 * OpenCV. The factor goes to L (as U, row-major). */
static FMA int chol_solve_fast(const float *A, int n, const float *b, float *x, float *L)
{
    float *U = L;
    for (int j = 0; j < n; j++) {
        float *uj = U + (ptrdiff_t)j * n;
        const float *aj = A + (ptrdiff_t)j * n;
        /* the diagonal: A[j][j] - sum over k < j of U[k][j]^2 */
        float d = aj[j];
        for (int k = 0; k < j; k++) {
            const float u = U[(ptrdiff_t)k * n + j];
            d = fmaf(-u, u, d);
        }
        if (!(d >= FLT_EPSILON)) {
            memset(x, 0, (size_t)n * sizeof(float));
            return 0;
        }
        const float dj = sqrtf(d);
        uj[j] = dj;
        const __m256 inv = _mm256_set1_ps(1.0f / dj);
        for (int i = j + 1; i < n; i += 8) {
            const __m256i mk = first_lanes(n - i);
            __m256 s = _mm256_maskload_ps(aj + i, mk);
            for (int k = 0; k < j; k++) {
                const float *uk = U + (ptrdiff_t)k * n;
                s = _mm256_fnmadd_ps(_mm256_broadcast_ss(uk + j), _mm256_maskload_ps(uk + i, mk), s);
            }
            _mm256_maskstore_ps(uj + i, mk, _mm256_mul_ps(s, inv));
        }
    }
    /* L y = b: y[k] = b'[k] / U[k][k], then b'[i] -= U[k][i] y[k] for i > k */
    memcpy(x, b, (size_t)n * sizeof(float));
    for (int k = 0; k < n; k++) {
        const float *uk = U + (ptrdiff_t)k * n;
        const float yk = x[k] / uk[k];
        x[k] = yk;
        const __m256 yv = _mm256_set1_ps(yk);
        for (int i = k + 1; i < n; i += 8) {
            const __m256i mk = first_lanes(n - i);
            _mm256_maskstore_ps(x + i, mk, _mm256_fnmadd_ps(yv, _mm256_maskload_ps(uk + i, mk), _mm256_maskload_ps(x + i, mk)));
        }
    }
    /* U x = y: x[i] = (y[i] - U[i][i+1..] . x[i+1..]) / U[i][i] */
    for (int i = n - 1; i >= 0; i--) {
        const float *ui = U + (ptrdiff_t)i * n;
        __m256 s = _mm256_setzero_ps();
        for (int k = i + 1; k < n; k += 8) {
            const __m256i mk = first_lanes(n - k);
            s = _mm256_fmadd_ps(_mm256_maskload_ps(ui + k, mk), _mm256_maskload_ps(x + k, mk), s);
        }
        x[i] = (x[i] - hsum(s)) / ui[i];
    }
    return 1;
}

/* ---- AU scores from float weights ---- */

/* nv (1..6, a constant after inlining) 4-double accumulators kept in
 * registers across one pass over the n rows; the last group of each row is
 * a masked load of its remaining outputs, so nothing past the row's m
 * values is read. */
INLINE FMA void w32_pass(double *out, const double *x, const float *w, ptrdiff_t w_stride, int n, int nv, int mb)
{
    const __m128i tail = _mm256_castsi256_si128(first_lanes(mb - 4 * (nv - 1)));
    __m256d a0 = _mm256_setzero_pd(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
    for (int k = 0; k < n; k++, w += w_stride) {
        const __m256d xk = _mm256_set1_pd(x[k]);
#define W32_GROUP(v, acc)                                                                                             \
    if (nv > v)                                                                                                        \
        acc = _mm256_fmadd_pd(                                                                                         \
            xk, _mm256_cvtps_pd(nv - 1 == v ? _mm_maskload_ps(w + 4 * v, tail) : _mm_loadu_ps(w + 4 * v)), acc);
        W32_GROUP(0, a0)
        W32_GROUP(1, a1)
        W32_GROUP(2, a2)
        W32_GROUP(3, a3)
        W32_GROUP(4, a4)
        W32_GROUP(5, a5)
#undef W32_GROUP
    }
    double buf[24];
    _mm256_storeu_pd(buf, a0);
    _mm256_storeu_pd(buf + 4, a1);
    _mm256_storeu_pd(buf + 8, a2);
    _mm256_storeu_pd(buf + 12, a3);
    _mm256_storeu_pd(buf + 16, a4);
    _mm256_storeu_pd(buf + 20, a5);
    memcpy(out, buf, (size_t)mb * sizeof(double));
}

/* Up to 24 outputs per pass over the weights, more in blocks of 24. */
static FMA void vecmat_f64_w32_fast(double *out, const double *x, const float *w, ptrdiff_t w_stride, int n, int m)
{
    for (int j0 = 0; j0 < m; j0 += 24) {
        const int mb = m - j0 < 24 ? m - j0 : 24, nv = (mb + 3) / 4;
        switch (nv) {
        case 1: w32_pass(out + j0, x, w + j0, w_stride, n, 1, mb); break;
        case 2: w32_pass(out + j0, x, w + j0, w_stride, n, 2, mb); break;
        case 3: w32_pass(out + j0, x, w + j0, w_stride, n, 3, mb); break;
        case 4: w32_pass(out + j0, x, w + j0, w_stride, n, 4, mb); break;
        case 5: w32_pass(out + j0, x, w + j0, w_stride, n, 5, mb); break;
        default: w32_pass(out + j0, x, w + j0, w_stride, n, 6, mb); break;
        }
    }
}

void au_dsp_init_avx2_fast(AuDsp *dsp, unsigned cpu_flags)
{
    if ((cpu_flags & (AU_CPU_AVX2 | AU_CPU_FMA)) != (AU_CPU_AVX2 | AU_CPU_FMA))
        return;
    dsp->ccnf_neurons = ccnf_neurons_fast;
    dsp->vecmat_f64_w32 = vecmat_f64_w32_fast;
    dsp->ccnf_sigma_matvec = ccnf_sigma_matvec_fast;
    dsp->mean_shift = mean_shift_fast;
    dsp->gn_hessian = gn_hessian_fast;
    dsp->gn_rhs = gn_rhs_fast;
    dsp->chol_solve = chol_solve_fast;
    if (cpu_flags & AU_CPU_AVX512)
        dsp->ccnf_neurons = ccnf_neurons_fast512;
}

#else
/* nothing to build on this target (ISO C wants a declaration per file) */
typedef int au_dsp_avx2_fast_unavailable;

#endif
