#include "linalg.h"

#include <assert.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* OpenCV's own hypot (lapack.cpp), not libm's: the Jacobi rotation angles
 * depend on its rounding. */
static double cv_hypot(double a, double b)
{
    a = fabs(a);
    b = fabs(b);
    if (a > b) {
        b /= a;
        return a * sqrt(1 + b * b);
    }
    if (b > 0) {
        a /= b;
        return b * sqrt(1 + a * a);
    }
    return 0;
}

/* cv::RNG(0x12345678).next(): multiply-with-carry. Only used to complete the
 * basis when a singular value is zero (rank-deficient input). */
static uint32_t cv_rng_next(uint64_t *state)
{
    *state = (uint64_t)(uint32_t)*state * 4164903690u + (uint32_t)(*state >> 32);
    return (uint32_t)*state;
}

/* The float and double Jacobi SVDs differ only in the element type T, the
 * tolerance and minval; written once as a macro body so both follow OpenCV's
 * template line for line. */
#define JACOBI_SVD_BODY(T, EPS, MINVAL)                                                                            \
    double W[AU_CV_MAX_DIM];                                                                                        \
    const T eps = (EPS);                                                                                            \
    const double minval = (MINVAL);                                                                                 \
    int max_iter = m > 30 ? m : 30;                                                                                 \
    T c, s;                                                                                                         \
    double sd;                                                                                                      \
    assert(n <= AU_CV_MAX_DIM);                                                                                     \
    for (int i = 0; i < n; i++) {                                                                                   \
        sd = 0;                                                                                                     \
        for (int k = 0; k < m; k++) {                                                                               \
            T t = At[i * astep + k];                                                                                \
            sd += (double)t * t;                                                                                    \
        }                                                                                                           \
        W[i] = sd;                                                                                                  \
        if (Vt) {                                                                                                   \
            for (int k = 0; k < n; k++)                                                                             \
                Vt[i * vstep + k] = 0;                                                                              \
            Vt[i * vstep + i] = 1;                                                                                  \
        }                                                                                                           \
    }                                                                                                               \
    for (int iter = 0; iter < max_iter; iter++) {                                                                   \
        int changed = 0;                                                                                            \
        for (int i = 0; i < n - 1; i++) {                                                                           \
            for (int j = i + 1; j < n; j++) {                                                                       \
                T *Ai = At + i * astep, *Aj = At + j * astep;                                                       \
                double a = W[i], p = 0, b = W[j];                                                                   \
                for (int k = 0; k < m; k++)                                                                         \
                    p += (double)Ai[k] * Aj[k];                                                                     \
                if (fabs(p) <= eps * sqrt((double)a * b))                                                           \
                    continue;                                                                                       \
                p *= 2;                                                                                             \
                double beta = a - b, gamma = cv_hypot(p, beta);                                                     \
                if (beta < 0) {                                                                                     \
                    double delta = (gamma - beta) * 0.5;                                                            \
                    s = (T)sqrt(delta / gamma);                                                                     \
                    c = (T)(p / (gamma * s * 2));                                                                   \
                } else {                                                                                            \
                    c = (T)sqrt((gamma + beta) / (gamma * 2));                                                      \
                    s = (T)(p / (gamma * c * 2));                                                                   \
                }                                                                                                   \
                a = b = 0;                                                                                          \
                for (int k = 0; k < m; k++) {                                                                       \
                    T t0 = c * Ai[k] + s * Aj[k];                                                                   \
                    T t1 = -s * Ai[k] + c * Aj[k];                                                                  \
                    Ai[k] = t0;                                                                                     \
                    Aj[k] = t1;                                                                                     \
                    a += (double)t0 * t0;                                                                           \
                    b += (double)t1 * t1;                                                                           \
                }                                                                                                   \
                W[i] = a;                                                                                           \
                W[j] = b;                                                                                           \
                changed = 1;                                                                                        \
                if (Vt) {                                                                                           \
                    /* OpenCV's SIMD givens computes b*c - a*s, the same value. */                                  \
                    T *Vi = Vt + i * vstep, *Vj = Vt + j * vstep;                                                   \
                    for (int k = 0; k < n; k++) {                                                                   \
                        T t0 = c * Vi[k] + s * Vj[k];                                                               \
                        T t1 = -s * Vi[k] + c * Vj[k];                                                              \
                        Vi[k] = t0;                                                                                 \
                        Vj[k] = t1;                                                                                 \
                    }                                                                                               \
                }                                                                                                   \
            }                                                                                                       \
        }                                                                                                           \
        if (!changed)                                                                                               \
            break;                                                                                                  \
    }                                                                                                               \
    for (int i = 0; i < n; i++) {                                                                                   \
        sd = 0;                                                                                                     \
        for (int k = 0; k < m; k++) {                                                                               \
            T t = At[i * astep + k];                                                                                \
            sd += (double)t * t;                                                                                    \
        }                                                                                                           \
        W[i] = sqrt(sd);                                                                                            \
    }                                                                                                               \
    for (int i = 0; i < n - 1; i++) {                                                                               \
        int j = i;                                                                                                  \
        for (int k = i + 1; k < n; k++)                                                                             \
            if (W[j] < W[k])                                                                                        \
                j = k;                                                                                              \
        if (i != j) {                                                                                               \
            double tw = W[i];                                                                                       \
            W[i] = W[j];                                                                                            \
            W[j] = tw;                                                                                              \
            if (Vt) {                                                                                               \
                for (int k = 0; k < m; k++) {                                                                       \
                    T t = At[i * astep + k];                                                                        \
                    At[i * astep + k] = At[j * astep + k];                                                          \
                    At[j * astep + k] = t;                                                                          \
                }                                                                                                   \
                for (int k = 0; k < n; k++) {                                                                       \
                    T t = Vt[i * vstep + k];                                                                        \
                    Vt[i * vstep + k] = Vt[j * vstep + k];                                                          \
                    Vt[j * vstep + k] = t;                                                                          \
                }                                                                                                   \
            }                                                                                                       \
        }                                                                                                           \
    }                                                                                                               \
    for (int i = 0; i < n; i++)                                                                                     \
        Wout[i] = (T)W[i];                                                                                          \
    if (!Vt)                                                                                                        \
        return;                                                                                                     \
    uint64_t rng = 0x12345678u;                                                                                     \
    for (int i = 0; i < n; i++) {                                                                                   \
        sd = W[i];                                                                                                  \
        for (int ii = 0; ii < 100 && sd <= minval; ii++) {                                                          \
            /* A zero singular value: complete the basis with a random vector made orthogonal to the previous     \
             * ones, as OpenCV does. */                                                                             \
            const T val0 = (T)(1. / m);                                                                             \
            for (int k = 0; k < m; k++)                                                                             \
                At[i * astep + k] = (cv_rng_next(&rng) & 256) != 0 ? val0 : -val0;                                  \
            for (int it = 0; it < 2; it++) {                                                                        \
                for (int j = 0; j < i; j++) {                                                                       \
                    sd = 0;                                                                                         \
                    for (int k = 0; k < m; k++)                                                                     \
                        sd += At[i * astep + k] * At[j * astep + k];                                                \
                    T asum = 0;                                                                                     \
                    for (int k = 0; k < m; k++) {                                                                   \
                        T t = (T)(At[i * astep + k] - sd * At[j * astep + k]);                                      \
                        At[i * astep + k] = t;                                                                      \
                        asum += (T)fabs((double)t);                                                                 \
                    }                                                                                               \
                    asum = asum > eps * 100 ? 1 / asum : 0;                                                         \
                    for (int k = 0; k < m; k++)                                                                     \
                        At[i * astep + k] *= asum;                                                                  \
                }                                                                                                   \
            }                                                                                                       \
            sd = 0;                                                                                                 \
            for (int k = 0; k < m; k++) {                                                                           \
                T t = At[i * astep + k];                                                                            \
                sd += (double)t * t;                                                                                \
            }                                                                                                       \
            sd = sqrt(sd);                                                                                          \
        }                                                                                                           \
        s = (T)(sd > minval ? 1 / sd : 0.);                                                                         \
        for (int k = 0; k < m; k++)                                                                                 \
            At[i * astep + k] *= s;                                                                                 \
    }

void au_cv_jacobi_svd_f32(float *At, int astep, float *Wout, float *Vt, int vstep, int m, int n)
{
    JACOBI_SVD_BODY(float, FLT_EPSILON * 2, FLT_MIN)
}

void au_cv_jacobi_svd_f64(double *At, int astep, double *Wout, double *Vt, int vstep, int m, int n)
{
    JACOBI_SVD_BODY(double, DBL_EPSILON * 10, DBL_MIN)
}

void au_cv_svd_square_f32(const float *A, int n, float *W, float *U, float *Vt)
{
    float At[AU_CV_MAX_DIM * AU_CV_MAX_DIM];
    assert(n <= AU_CV_MAX_DIM);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            At[j * n + i] = A[i * n + j];
    au_cv_jacobi_svd_f32(At, n, W, Vt, n, n, n);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            U[i * n + j] = At[j * n + i];
}

void au_cv_svd_square_f64(const double *A, int n, double *W, double *U, double *Vt)
{
    double At[AU_CV_MAX_DIM * AU_CV_MAX_DIM];
    assert(n <= AU_CV_MAX_DIM);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            At[j * n + i] = A[i * n + j];
    au_cv_jacobi_svd_f64(At, n, W, Vt, n, n, n);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            U[i * n + j] = At[j * n + i];
}

int au_cv_solve_cholesky_f32(const float *A, int n, const float *b, float *x, float *L)
{
    /* cv::solve copies A (the factor overwrites the copy) and b into x. */
    memcpy(L, A, (size_t)n * n * sizeof(float));
    memcpy(x, b, (size_t)n * sizeof(float));
    double s;
    for (int i = 0; i < n; i++) {
        int j;
        for (j = 0; j < i; j++) {
            s = L[i * n + j];
            for (int k = 0; k < j; k++)
                s -= L[i * n + k] * L[j * n + k]; /* float product, double sum, as CholImpl<float> */
            L[i * n + j] = (float)(s * L[j * n + j]);
        }
        s = L[i * n + i];
        for (int k = 0; k < j; k++) {
            double t = L[i * n + k];
            s -= t * t;
        }
        if (s < FLT_EPSILON) {
            memset(x, 0, (size_t)n * sizeof(float));
            return 0;
        }
        L[i * n + i] = (float)(1. / sqrt(s)); /* the diagonal holds inverse square roots */
    }
    for (int i = 0; i < n; i++) {
        s = x[i];
        for (int k = 0; k < i; k++)
            s -= L[i * n + k] * x[k];
        x[i] = (float)(s * L[i * n + i]);
    }
    for (int i = n - 1; i >= 0; i--) {
        s = x[i];
        for (int k = n - 1; k > i; k--)
            s -= L[k * n + i] * x[k];
        x[i] = (float)(s * L[i * n + i]);
    }
    return 1;
}

void au_cv_solve_svd_f64(const double *A, int n, const double *b, double *x)
{
    double a[AU_CV_MAX_DIM * AU_CV_MAX_DIM], v[AU_CV_MAX_DIM * AU_CV_MAX_DIM], w[AU_CV_MAX_DIM];
    assert(n <= AU_CV_MAX_DIM);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            a[j * n + i] = A[i * n + j];
    au_cv_jacobi_svd_f64(a, n, w, v, n, n, n);
    /* SVBkSb with u = a (rows are the left singular vectors), v = Vt, nb = 1. */
    double threshold = 0;
    for (int i = 0; i < n; i++) {
        x[i] = 0;
        threshold += w[i];
    }
    threshold *= DBL_EPSILON * 2;
    for (int i = 0; i < n; i++) {
        double wi = w[i];
        if (fabs(wi) <= threshold)
            continue;
        wi = 1 / wi;
        double s = 0;
        for (int j = 0; j < n; j++)
            s += a[i * n + j] * b[j];
        s *= wi;
        for (int j = 0; j < n; j++)
            x[j] = x[j] + s * v[i * n + j];
    }
}

double au_cv_det2_f32(const float *M) { return (double)M[0] * M[3] - (double)M[1] * M[2]; }

double au_cv_det3_f32(const float *M)
{
    return M[0] * ((double)M[4] * M[8] - (double)M[5] * M[7]) - M[1] * ((double)M[3] * M[8] - (double)M[5] * M[6]) +
           M[2] * ((double)M[3] * M[7] - (double)M[4] * M[6]);
}

double au_cv_det3_f64(const double *M)
{
    return M[0] * (M[4] * M[8] - M[5] * M[7]) - M[1] * (M[3] * M[8] - M[5] * M[6]) +
           M[2] * (M[3] * M[7] - M[4] * M[6]);
}

double au_cv_norm_l2_f32(const float *v, int n)
{
    double s = 0;
    int i = 0;
    for (; i <= n - 4; i += 4) {
        double v0 = v[i], v1 = v[i + 1], v2 = v[i + 2], v3 = v[i + 3];
        s += v0 * v0 + v1 * v1 + v2 * v2 + v3 * v3;
    }
    for (; i < n; i++) {
        double t = v[i];
        s += t * t;
    }
    return sqrt(s);
}

double au_cv_norm_l2_f64(const double *v, int n)
{
    double s = 0;
    int i = 0;
    for (; i <= n - 4; i += 4) {
        double v0 = v[i], v1 = v[i + 1], v2 = v[i + 2], v3 = v[i + 3];
        s += v0 * v0 + v1 * v1 + v2 * v2 + v3 * v3;
    }
    for (; i < n; i++)
        s += v[i] * v[i];
    return sqrt(s);
}

void au_cv_gemv_f32(const float *A, int rows, int cols, int lda, const float *x, double alpha, const float *c,
                    double beta, float *y)
{
    if (cols >= 2 && cols <= 4 && cols == rows) {
        /* gemmImpl's special case for inner dimension 2..4 (flags 0): float sums. */
        for (int i = 0; i < rows; i++) {
            const float *a = A + (size_t)i * lda;
            float t = a[0] * x[0] + a[1] * x[1];
            if (cols > 2)
                t = t + a[2] * x[2];
            if (cols > 3)
                t = t + a[3] * x[3];
            y[i] = (float)(t * alpha + (c ? c[i] : 0.f) * (c ? beta : 0.));
        }
        return;
    }
    for (int i = 0; i < rows; i++) {
        const float *a = A + (size_t)i * lda;
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int k = 0;
        for (; k <= cols - 4; k += 4) {
            s0 += (double)a[k] * x[k];
            s1 += (double)a[k + 1] * x[k + 1];
            s2 += (double)a[k + 2] * x[k + 2];
            s3 += (double)a[k + 3] * x[k + 3];
        }
        for (; k < cols; k++)
            s0 += (double)a[k] * x[k];
        s0 = (s0 + s1 + s2 + s3) * alpha;
        y[i] = c ? (float)(s0 + (double)c[i] * beta) : (float)s0;
    }
}

void au_cv_matmul3_f32(const float *A, const float *B, float *C)
{
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            C[i * 3 + j] = A[i * 3] * B[j] + A[i * 3 + 1] * B[3 + j] + A[i * 3 + 2] * B[6 + j];
}
