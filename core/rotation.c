#include "rotation.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "linalg.h"

/* OpenFace's helpers call sin/cos/asin/atan2 on float arguments without
 * std::, which in its build resolves to the double functions: the argument is
 * widened, the result rounded back to float. (sinf/cosf differ from that in
 * the last bit for some angles; the reference values match the double
 * functions bit for bit and not the float ones.) */
#define OF_SIN(x) ((float)sin((double)(x)))
#define OF_COS(x) ((float)cos((double)(x)))
#define OF_ASIN(x) ((float)asin((double)(x)))
#define OF_ATAN2(y, x) ((float)atan2((double)(y), (double)(x)))

void au_euler_to_rot_f(const float e[3], float R[9])
{
    float s1 = OF_SIN(e[0]), s2 = OF_SIN(e[1]), s3 = OF_SIN(e[2]);
    float c1 = OF_COS(e[0]), c2 = OF_COS(e[1]), c3 = OF_COS(e[2]);
    R[0] = c2 * c3;
    R[1] = -c2 * s3;
    R[2] = s2;
    R[3] = c1 * s3 + c3 * s1 * s2;
    R[4] = c1 * c3 - s1 * s2 * s3;
    R[5] = -c2 * s1;
    R[6] = s1 * s3 - c1 * c3 * s2;
    R[7] = c3 * s1 + c1 * s2 * s3;
    R[8] = c1 * c2;
}

void au_euler_to_rot_d(const double e[3], double R[9])
{
    double s1 = sin(e[0]), s2 = sin(e[1]), s3 = sin(e[2]);
    double c1 = cos(e[0]), c2 = cos(e[1]), c3 = cos(e[2]);
    R[0] = c2 * c3;
    R[1] = -c2 * s3;
    R[2] = s2;
    R[3] = c1 * s3 + c3 * s1 * s2;
    R[4] = c1 * c3 - s1 * s2 * s3;
    R[5] = -c2 * s1;
    R[6] = s1 * s3 - c1 * c3 * s2;
    R[7] = c3 * s1 + c1 * s2 * s3;
    R[8] = c1 * c2;
}

void au_rot_to_euler_f(const float R[9], float e[3])
{
    float q0 = (float)sqrt(1 + R[0] + R[4] + R[8]) / 2.0f;
    float q1 = (R[7] - R[5]) / (4.0f * q0);
    float q2 = (R[2] - R[6]) / (4.0f * q0);
    float q3 = (R[3] - R[1]) / (4.0f * q0);
    /* Clamped because rounding can push |t1| just over 1. */
    float t1 = 2.0f * (q0 * q2 + q1 * q3);
    if (t1 > 1)
        t1 = 1.0f;
    if (t1 < -1)
        t1 = -1.0f;
    float yaw = OF_ASIN(t1);
    float pitch = OF_ATAN2(2.0f * (q0 * q1 - q2 * q3), q0 * q0 - q1 * q1 - q2 * q2 + q3 * q3);
    float roll = OF_ATAN2(2.0f * (q0 * q3 - q1 * q2), q0 * q0 + q1 * q1 - q2 * q2 - q3 * q3);
    e[0] = pitch;
    e[1] = yaw;
    e[2] = roll;
}

void au_rot_to_euler_d(const double R[9], double e[3])
{
    double q0 = sqrt(1 + R[0] + R[4] + R[8]) / 2.0;
    double q1 = (R[7] - R[5]) / (4.0 * q0);
    double q2 = (R[2] - R[6]) / (4.0 * q0);
    double q3 = (R[3] - R[1]) / (4.0 * q0);
    double t1 = 2.0 * (q0 * q2 + q1 * q3);
    if (t1 > 1)
        t1 = 1.0;
    if (t1 < -1)
        t1 = -1.0;
    e[1] = asin(t1);
    e[0] = atan2(2.0 * (q0 * q1 - q2 * q3), q0 * q0 - q1 * q1 - q2 * q2 + q3 * q3);
    e[2] = atan2(2.0 * (q0 * q3 - q1 * q2), q0 * q0 + q1 * q1 - q2 * q2 - q3 * q3);
}

/* cvRodrigues2, vector -> matrix, optionally with the 3x9 Jacobian. */
static void rodrigues_vec_to_mat(const double rv[3], double R[9], double *J)
{
    double rx = rv[0], ry = rv[1], rz = rv[2];
    double theta = sqrt(rx * rx + ry * ry + rz * rz);
    if (theta < DBL_EPSILON) {
        static const double Id[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
        memcpy(R, Id, sizeof(Id));
        if (J) {
            memset(J, 0, 27 * sizeof(double));
            J[5] = J[15] = J[19] = -1;
            J[7] = J[11] = J[21] = 1;
        }
        return;
    }
    double c = cos(theta), s = sin(theta), c1 = 1. - c;
    double itheta = theta ? 1. / theta : 0.;
    rx *= itheta;
    ry *= itheta;
    rz *= itheta;
    const double rrt[9] = {rx * rx, rx * ry, rx * rz, rx * ry, ry * ry, ry * rz, rx * rz, ry * rz, rz * rz};
    const double r_x[9] = {0, -rz, ry, rz, 0, -rx, -ry, rx, 0};
    static const double Id[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    /* R = cos(theta)*I + (1 - cos(theta))*r*r^T + sin(theta)*[r]_x, element by element as cv::Matx sums it. */
    for (int k = 0; k < 9; k++)
        R[k] = (c * Id[k] + c1 * rrt[k]) + s * r_x[k];
    if (J) {
        const double drrt[27] = {rx + rx, ry, rz, ry, 0, 0, rz, 0,  0,  0,  rx, 0,  rx, ry + ry,
                                 rz,      0,  rz, 0,  0, 0, rx, 0, 0, ry, rx, ry, rz + rz};
        static const double d_r_x_[27] = {0, 0, 0, 0, 0, -1, 0, 1, 0, 0,  0, 1, 0, 0,
                                          0, -1, 0, 0, 0, -1, 0, 1, 0, 0, 0, 0, 0};
        for (int i = 0; i < 3; i++) {
            double ri = i == 0 ? rx : i == 1 ? ry : rz;
            double a0 = -s * ri, a1 = (s - 2 * c1 * itheta) * ri, a2 = c1 * itheta;
            double a3 = (c - s * itheta) * ri, a4 = s * itheta;
            for (int k = 0; k < 9; k++)
                J[i * 9 + k] = a0 * Id[k] + a1 * rrt[k] + a2 * drrt[i * 9 + k] + a3 * r_x[k] + a4 * d_r_x_[i * 9 + k];
        }
    }
}

void au_axis_angle_to_rot_d(const double axis_angle[3], double R[9]) { rodrigues_vec_to_mat(axis_angle, R, NULL); }

void au_axis_angle_to_rot_jac_d(const double axis_angle[3], double R[9], double J[27])
{
    rodrigues_vec_to_mat(axis_angle, R, J);
}

void au_rot_to_axis_angle_d(const double Rin[9], double out[3])
{
    for (int k = 0; k < 9; k++) {
        /* cvRodrigues2 rejects entries outside [-100, 100] (and NaN) with a zero vector. */
        if (!(Rin[k] >= -100 && Rin[k] <= 100)) {
            out[0] = out[1] = out[2] = 0;
            return;
        }
    }
    double W[3], U[9], Vt[9], R[9];
    au_cv_svd_square_f64(Rin, 3, W, U, Vt);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            double s = 0;
            for (int k = 0; k < 3; k++)
                s += U[i * 3 + k] * Vt[k * 3 + j];
            R[i * 3 + j] = s;
        }
    double rx = R[7] - R[5], ry = R[2] - R[6], rz = R[3] - R[1];
    double s = sqrt((rx * rx + ry * ry + rz * rz) * 0.25);
    double c = (R[0] + R[4] + R[8] - 1) * 0.5;
    c = c > 1. ? 1. : c < -1. ? -1. : c;
    double theta = acos(c);
    if (s < 1e-5) {
        if (c > 0) {
            rx = ry = rz = 0;
        } else {
            /* Rotation by (nearly) pi: the axis from the diagonal. */
            double t = (R[0] + 1) * 0.5;
            rx = sqrt(t > 0. ? t : 0.);
            t = (R[4] + 1) * 0.5;
            ry = sqrt(t > 0. ? t : 0.) * (R[1] < 0 ? -1. : 1.);
            t = (R[8] + 1) * 0.5;
            rz = sqrt(t > 0. ? t : 0.) * (R[2] < 0 ? -1. : 1.);
            if (fabs(rx) < fabs(ry) && fabs(rx) < fabs(rz) && (R[5] > 0) != (ry * rz > 0))
                rz = -rz;
            theta /= sqrt(rx * rx + ry * ry + rz * rz);
            rx *= theta;
            ry *= theta;
            rz *= theta;
        }
    } else {
        double vth = 1 / (2 * s);
        vth *= theta;
        rx *= vth;
        ry *= vth;
        rz *= vth;
    }
    out[0] = rx;
    out[1] = ry;
    out[2] = rz;
}

void au_axis_angle_to_rot_f(const float axis_angle[3], float R[9])
{
    double r[3] = {axis_angle[0], axis_angle[1], axis_angle[2]}, Rd[9];
    rodrigues_vec_to_mat(r, Rd, NULL);
    for (int k = 0; k < 9; k++)
        R[k] = (float)Rd[k];
}

void au_rot_to_axis_angle_f(const float R[9], float axis_angle[3])
{
    double Rd[9], r[3];
    for (int k = 0; k < 9; k++)
        Rd[k] = R[k];
    au_rot_to_axis_angle_d(Rd, r);
    for (int k = 0; k < 3; k++)
        axis_angle[k] = (float)r[k];
}

void au_euler_to_axis_angle_f(const float euler[3], float axis_angle[3])
{
    float R[9];
    au_euler_to_rot_f(euler, R);
    au_rot_to_axis_angle_f(R, axis_angle);
}

void au_axis_angle_to_euler_f(const float axis_angle[3], float euler[3])
{
    float R[9];
    au_axis_angle_to_rot_f(axis_angle, R);
    au_rot_to_euler_f(R, euler);
}

void au_orthonormalise_f(float R[9])
{
    float W[3], U[9], Vt[9], X[9], Wm[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1}, UW[9];
    au_cv_svd_square_f32(R, 3, W, U, Vt);
    au_cv_matmul3_f32(U, Vt, X);
    /* W(2,2) = det(U*Vt): +-1 up to rounding, which flips a reflection into a rotation. */
    Wm[8] = (float)au_cv_det3_f32(X);
    au_cv_matmul3_f32(U, Wm, UW);
    au_cv_matmul3_f32(UW, Vt, R);
}

/* cv::gemm(A, B, 1, noArray(), 0, D, GEMM_1_T) for A, B n x 2 float: the 2x2
 * matrix A^T B. OpenCV's own kernel sums each entry in double, in point
 * order; from 100 rows on its LAPACK HAL hands it to cblas_sgemm. */
static void gemm_at_b_n2(const float *A, const float *B, int n, float D[4])
{
    if (n >= 100) {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, 2, 2, n, 1.0f, A, 2, B, 2, 0.0f, D, 2);
        return;
    }
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            double s = 0;
            for (int k = 0; k < n; k++)
                s += (double)A[k * 2 + i] * B[k * 2 + j];
            D[i * 2 + j] = (float)s;
        }
}

/* 2x2 products as cv::gemm computes them (double sums of two terms). */
static void gemm2_at_b(const float *A, const float *B, float D[4]) /* A^T B */
{
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
            D[i * 2 + j] = (float)((double)A[i] * B[j] + (double)A[2 + i] * B[2 + j]);
}
static void gemm2_a_bt(const float *A, const float *B, float D[4]) /* A B^T */
{
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
            D[i * 2 + j] = (float)((double)A[i * 2] * B[j * 2] + (double)A[i * 2 + 1] * B[j * 2 + 1]);
}
static void gemm2_at_bt(const float *A, const float *B, float D[4]) /* A^T B^T */
{
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
            D[i * 2 + j] = (float)((double)A[i] * B[j * 2] + (double)A[2 + i] * B[j * 2 + 1]);
}

void au_align_kabsch2d_f(const float *from, const float *to, int n, float R[4])
{
    float M[4], W[2], U[4], Vt[4], T[4], T1[4];
    gemm_at_b_n2(from, to, n, M);
    au_cv_svd_square_f32(M, 2, W, U, Vt);
    /* corr = diag(1, sign(det(V U^T))) keeps a rotation, never a reflection. */
    gemm2_at_bt(Vt, U, T);
    double d = au_cv_det2_f32(T);
    float corr[4] = {1, 0, 0, d > 0 ? 1.0f : -1.0f};
    gemm2_at_b(Vt, corr, T1);
    gemm2_a_bt(T1, U, R);
}

/* cv::mean of one column of an n x 2 float matrix: a double sum in row
 * order times 1/n. */
static float mean_col(const float *P, int n, int col)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += P[i * 2 + col];
    return (float)(s * (n ? 1. / n : 0.));
}

/* cv::sum of a continuous float array as OpenCV 4.6 computes it on the
 * reference machine kind: sum is dispatched to AVX-512 there, so sixteen
 * float lanes are widened into sixteen double accumulators, the lanes are
 * added in order, then the tail is summed in groups of four (in float) and
 * one by one. (On an AVX2-only CPU OpenCV would use eight lanes; this was
 * checked bit for bit against the system's OpenCV 4.6 here.) */
#define CV_SUM_LANES 16
static double cv_sum_f32(const float *v, int len)
{
    double acc[CV_SUM_LANES] = {0};
    int x = 0;
    for (; x <= len - CV_SUM_LANES; x += CV_SUM_LANES)
        for (int l = 0; l < CV_SUM_LANES; l++)
            acc[l] += v[x + l];
    double s = 0;
    for (int l = 0; l < CV_SUM_LANES; l++)
        s += acc[l];
    for (; x <= len - 4; x += 4)
        s += v[x] + v[x + 1] + v[x + 2] + v[x + 3];
    for (; x < len; x++)
        s += v[x];
    return s;
}

void au_align_with_scale_f(const float *src, const float *dst, int n, float A[4], float *scratch)
{
    float *sn = scratch, *dn = scratch + 2 * n, *sq = scratch + 4 * n;
    float msx = mean_col(src, n, 0), msy = mean_col(src, n, 1);
    float mdx = mean_col(dst, n, 0), mdy = mean_col(dst, n, 1);
    for (int i = 0; i < n; i++) {
        sn[2 * i] = src[2 * i] - msx;
        sn[2 * i + 1] = src[2 * i + 1] - msy;
        dn[2 * i] = dst[2 * i] - mdx;
        dn[2 * i + 1] = dst[2 * i + 1] - mdy;
    }
    /* cv::pow(x, 2) is x*x in float, then cv::sum over the n x 2 matrix. */
    for (int i = 0; i < 2 * n; i++)
        sq[i] = sn[i] * sn[i];
    float s_src = (float)sqrt(cv_sum_f32(sq, 2 * n) / n);
    for (int i = 0; i < 2 * n; i++)
        sq[i] = dn[i] * dn[i];
    float s_dst = (float)sqrt(cv_sum_f32(sq, 2 * n) / n);
    /* Mat / s is a scale by (float)(1/s). */
    float inv_src = (float)(1. / s_src), inv_dst = (float)(1. / s_dst);
    for (int i = 0; i < 2 * n; i++) {
        sn[i] = sn[i] * inv_src;
        dn[i] = dn[i] * inv_dst;
    }
    float s = s_dst / s_src;
    float R[4];
    au_align_kabsch2d_f(sn, dn, n, R);
    for (int k = 0; k < 4; k++)
        A[k] = s * R[k];
}

/* cvProjectPoints2 without distortion: err = projection - m (interleaved
 * x, y per point) and, when J is given, the 2n x 6 Jacobian with respect to
 * (r, t). With zero distortion coefficients OpenCV's distortion and tilt
 * terms reduce exactly to the identity, so they are left out. */
static void project_points(const double *M, const double *m, int n, const double param[6], double fx, double fy,
                           double cx, double cy, double *err, double *J)
{
    double R[9], dRdr[27];
    const double *t = param + 3;
    rodrigues_vec_to_mat(param, R, dRdr);
    for (int i = 0; i < n; i++) {
        double X = M[3 * i], Y = M[3 * i + 1], Z = M[3 * i + 2];
        double x = R[0] * X + R[1] * Y + R[2] * Z + t[0];
        double y = R[3] * X + R[4] * Y + R[5] * Z + t[1];
        double z = R[6] * X + R[7] * Y + R[8] * Z + t[2];
        z = z ? 1. / z : 1;
        x *= z;
        y *= z;
        err[2 * i] = (x * fx + cx) - m[2 * i];
        err[2 * i + 1] = (y * fy + cy) - m[2 * i + 1];
        if (!J)
            continue;
        double *Jx = J + (size_t)(2 * i) * 6, *Jy = Jx + 6;
        for (int j = 0; j < 3; j++) {
            double dx0dr = X * dRdr[j * 9] + Y * dRdr[j * 9 + 1] + Z * dRdr[j * 9 + 2];
            double dy0dr = X * dRdr[j * 9 + 3] + Y * dRdr[j * 9 + 4] + Z * dRdr[j * 9 + 5];
            double dz0dr = X * dRdr[j * 9 + 6] + Y * dRdr[j * 9 + 7] + Z * dRdr[j * 9 + 8];
            Jx[j] = fx * (z * (dx0dr - x * dz0dr));
            Jy[j] = fy * (z * (dy0dr - y * dz0dr));
        }
        double dxdt[3] = {z, 0, -x * z}, dydt[3] = {0, z, -y * z};
        for (int j = 0; j < 3; j++) {
            Jx[3 + j] = fx * dxdt[j];
            Jy[3 + j] = fy * dydt[j];
        }
    }
}

/* cvNorm(a, b, CV_RELATIVE_L2). */
static double rel_norm6(const double *a, const double *b)
{
    double s = 0;
    int i = 0;
    for (; i <= 6 - 4; i += 4) {
        double v0 = a[i] - b[i], v1 = a[i + 1] - b[i + 1], v2 = a[i + 2] - b[i + 2], v3 = a[i + 3] - b[i + 3];
        s += v0 * v0 + v1 * v1 + v2 * v2 + v3 * v3;
    }
    for (; i < 6; i++) {
        double v = a[i] - b[i];
        s += v * v;
    }
    return sqrt(s) / (au_cv_norm_l2_f64(b, 6) + DBL_EPSILON);
}

/* CvLevMarq::step(): param = prev - solve(JtJ with diagonal * (1 + lambda), JtErr) by SVD. */
static void lm_step(const double JtJ[36], const double JtErr[6], int lambda_lg10, const double prev[6],
                    double param[6])
{
    double lambda = exp(lambda_lg10 * log(10.));
    double A[36], x[6];
    memcpy(A, JtJ, sizeof(A));
    for (int i = 0; i < 6; i++)
        A[i * 7] *= 1. + lambda;
    au_cv_solve_svd_f64(A, 6, JtErr, x);
    for (int i = 0; i < 6; i++)
        param[i] = prev[i] - x[i];
}

/* JtJ (cvMulTransposed: MulTransposedR, each entry a double sum in row order,
 * upper triangle mirrored) and JtErr (cvGEMM with A transposed: OpenCV's own
 * kernel below 100 rows, cblas_dgemm from 100 rows on). */
static void lm_normal_equations(const double *J, const double *err, int rows, double JtJ[36], double JtErr[6])
{
    for (int i = 0; i < 6; i++)
        for (int j = i; j < 6; j++) {
            double s = 0;
            for (int k = 0; k < rows; k++)
                s += J[k * 6 + i] * J[k * 6 + j];
            JtJ[i * 6 + j] = JtJ[j * 6 + i] = s;
        }
    if (rows >= 100) {
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, 6, 1, rows, 1.0, J, 6, err, 1, 0.0, JtErr, 1);
        return;
    }
    for (int i = 0; i < 6; i++) {
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int k = 0;
        for (; k <= rows - 4; k += 4) {
            s0 += J[k * 6 + i] * err[k];
            s1 += J[(k + 1) * 6 + i] * err[k + 1];
            s2 += J[(k + 2) * 6 + i] * err[k + 2];
            s3 += J[(k + 3) * 6 + i] * err[k + 3];
        }
        for (; k < rows; k++)
            s0 += J[k * 6 + i] * err[k];
        JtErr[i] = (s0 + s1 + s2 + s3) * 1.0;
    }
}

void au_pose_from_shape(const float *shape3d, const float *landmarks, int n, const float pg[6], float fx, float fy,
                        float cx, float cy, float pose[6], double *scratch)
{
    if (n <= 0 || pg[0] == 0) {
        memset(pose, 0, 6 * sizeof(float));
        return;
    }
    /* Initial estimate: depth from the weak-perspective scale, the rotation as is. */
    float Z = fx / pg[0];
    float X = (float)(((double)(pg[4] - cx) * (1.0 / fx)) * Z);
    float Y = (float)(((double)(pg[5] - cy) * (1.0 / fy)) * Z);
    double *M = scratch, *m = M + 3 * n, *err = m + 2 * n, *J = err + 2 * n;
    for (int i = 0; i < n; i++) {
        M[3 * i] = shape3d[i];
        M[3 * i + 1] = shape3d[i + n];
        M[3 * i + 2] = shape3d[i + 2 * n];
        m[2 * i] = landmarks[i];
        m[2 * i + 1] = landmarks[i + n];
    }
    /* cv::solvePnP(SOLVEPNP_ITERATIVE, useExtrinsicGuess) = cvFindExtrinsicCameraParams2's
     * CvLevMarq loop: at most 20 iterations, stop when the relative parameter change is
     * below FLT_EPSILON; lambda = 10^lambda_lg10 starts at 1e-3. */
    double param[6] = {pg[1], pg[2], pg[3], X, Y, Z}, prev[6], JtJ[36], JtErr[6];
    int lambda_lg10 = -3, iters = 0, rows = 2 * n;
    double prev_err_norm = DBL_MAX, err_norm;
    project_points(M, m, n, param, fx, fy, cx, cy, err, J);
    for (;;) {
        lm_normal_equations(J, err, rows, JtJ, JtErr);
        memcpy(prev, param, sizeof(prev));
        lm_step(JtJ, JtErr, lambda_lg10, prev, param);
        if (iters == 0)
            prev_err_norm = au_cv_norm_l2_f64(err, rows);
        project_points(M, m, n, param, fx, fy, cx, cy, err, NULL);
        for (;;) {
            err_norm = au_cv_norm_l2_f64(err, rows);
            if (err_norm > prev_err_norm && ++lambda_lg10 <= 16) {
                lm_step(JtJ, JtErr, lambda_lg10, prev, param);
                project_points(M, m, n, param, fx, fy, cx, cy, err, NULL);
                continue;
            }
            break;
        }
        lambda_lg10 = lambda_lg10 - 1 > -16 ? lambda_lg10 - 1 : -16;
        if (++iters >= 20 || rel_norm6(param, prev) < FLT_EPSILON)
            break;
        prev_err_norm = err_norm;
        project_points(M, m, n, param, fx, fy, cx, cy, err, J);
    }
    float rvec[3] = {(float)param[0], (float)param[1], (float)param[2]}, euler[3];
    au_axis_angle_to_euler_f(rvec, euler);
    pose[0] = (float)param[3];
    pose[1] = (float)param[4];
    pose[2] = (float)param[5];
    pose[3] = euler[0];
    pose[4] = euler[1];
    pose[5] = euler[2];
}
