/* Small dense linear algebra as OpenCV 4.6 computes it inside OpenFace.
 *
 * OpenFace does its PDM fitting and pose estimation with OpenCV matrix
 * expressions (cv::gemm, cv::solve, cv::SVD, cv::norm, cv::determinant). For
 * the small sizes involved OpenCV does not call LAPACK/BLAS (its LAPACK HAL
 * declines matrices under 100 rows for gemm/Cholesky and under 25 for SVD)
 * but runs its own C++ kernels, whose float/double mix and summation order
 * are reproduced here operation for operation, so that the results match
 * OpenFace's to the last bit where the inputs do. Each function names the
 * OpenCV routine it stands for.
 *
 * Arithmetic order matters: this file must be compiled without contraction
 * of a*b+c into FMA (GCC's default for ISO C, -std=c11, is -ffp-contract=off;
 * OpenCV's baseline build for x86-64 has no FMA either). */
#ifndef AU_LINALG_H
#define AU_LINALG_H

/* Largest n for the stack-buffer routines below (SVD, SVD solve). */
#define AU_CV_MAX_DIM 16

/* hal::SVD32f / JacobiSVDImpl_<float> (eps FLT_EPSILON*2, minval FLT_MIN):
 * one-sided Jacobi on the n rows (length m, m >= n) of At, row stride astep.
 * On return the rows of At are the left singular vectors (U transposed), W
 * the n singular values in decreasing order and Vt (n x n, row stride vstep)
 * the right singular vectors; Vt may be NULL (then At is not normalised).
 * n <= AU_CV_MAX_DIM. */
void au_cv_jacobi_svd_f32(float *At, int astep, float *W, float *Vt, int vstep, int m, int n);
/* hal::SVD64f (eps DBL_EPSILON*10, minval DBL_MIN), same layout. */
void au_cv_jacobi_svd_f64(double *At, int astep, double *W, double *Vt, int vstep, int m, int n);

/* cv::SVD::compute(A, W, U, Vt) on a square n x n row-major matrix, the way
 * cv::_SVDcompute arranges it (Jacobi on A transposed, U = result
 * transposed). n <= AU_CV_MAX_DIM. */
void au_cv_svd_square_f32(const float *A, int n, float *W, float *U, float *Vt);
void au_cv_svd_square_f64(const double *A, int n, double *W, double *U, double *Vt);

/* cv::solve(A, b, x, DECOMP_CHOLESKY) for float n x n (row-major) and one
 * right-hand side: hal::Cholesky32f (OpenCV's CholImpl, double accumulators
 * with float products). scratch holds n*n floats. Returns 1, or 0 when A is
 * not positive definite, in which case x is all zeros as cv::solve leaves it. */
int au_cv_solve_cholesky_f32(const float *A, int n, const float *b, float *x, float *scratch);

/* cv::solve(A, b, x, DECOMP_SVD) for a double n x n system with one
 * right-hand side (JacobiSVD of A transposed, then SVBkSb). n <= AU_CV_MAX_DIM. */
void au_cv_solve_svd_f64(const double *A, int n, const double *b, double *x);

/* cv::determinant of a row-major 2x2 / 3x3 float matrix: OpenCV's det2/det3
 * macros, which promote the products to double. */
double au_cv_det2_f32(const float *M);
double au_cv_det3_f32(const float *M);
double au_cv_det3_f64(const double *M);

/* cv::norm(v, NORM_L2) of a continuous float / double array: sum of squares
 * in double, unrolled by four as normL2Sqr does. */
double au_cv_norm_l2_f32(const float *v, int n);
double au_cv_norm_l2_f64(const double *v, int n);

/* cv::gemm(A, x, alpha, c, beta, y) on OpenCV's own kernel (matrices with
 * fewer than 100 rows) where x is a float column vector: y[i] =
 * float((dot(A_i, x) * alpha) + c[i] * beta), the dot product in double with
 * four interleaved partial sums (GEMMSingleMul, "A * Bt" branch). c may be
 * NULL (beta ignored). A is rows x cols with row stride lda. alpha and beta
 * must be float values (cv::gemm rounds them to float). */
void au_cv_gemv_f32(const float *A, int rows, int cols, int lda, const float *x, double alpha, const float *c,
                    double beta, float *y);

/* cv::gemm(A, B) of two row-major 3x3 float matrices (cv::Mat operands):
 * OpenCV's special case for inner dimension 3 sums the three products in float. */
void au_cv_matmul3_f32(const float *A, const float *B, float *C);

#endif
