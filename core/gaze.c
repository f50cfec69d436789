#include "gaze.h"

#include <math.h>

#include "rotation.h"

/* A float value as stored: the volatile round trip keeps the compiler from
 * reusing the double it was rounded from. GCC 12.2 at -O3 (the project's
 * Release flags) does exactly that for the pupil below: its SLP vectoriser
 * feeds the unrounded double mean into the norm and the division, which
 * moved about one ray component in six by an ulp and, through the
 * ill-conditioned sphere intersection, gaze by up to 2e-5. */
static float stored_float(float v)
{
    volatile float s = v;
    return s;
}

/* cv::norm(const cv::Point3f &): std::sqrt of the squares summed in double. */
static double norm3_d(const float v[3])
{
    return sqrt((double)v[0] * v[0] + (double)v[1] * v[1] + (double)v[2] * v[2]);
}

void au_gaze_estimate_eye(const float *eye3d, int n_eye, const float *face3d, int n_face, const float pose[6],
                          int left, AuGazeEye *out)
{
    /* cv::Vec6f pose -> cv::Vec3f Euler angles -> cv::Matx33f rotation. */
    float R[9];
    au_euler_to_rot_f(pose + 3, R);

    /* GetPupilPosition: cv::mean of each column of the 8 iris rows. The rows
     * of a column are not contiguous, so OpenCV's sum runs element by
     * element into a double accumulator; the mean is that sum times 1/8,
     * then cv::Point3f rounds it to float. */
    for (int c = 0; c < 3; c++) {
        double s = 0;
        for (int i = 0; i < 8; i++)
            s += eye3d[c * n_eye + i];
        out->pupil[c] = stored_float((float)(s * (1. / 8)));
    }
    /* pupil / norm(pupil): cv::Point3f / double divides in double and rounds. */
    double pn = norm3_d(out->pupil);
    for (int c = 0; c < 3; c++)
        out->ray[c] = (float)(out->pupil[c] / pn);

    /* (P[a] + P[b]) / 2.0f + (cv::Mat(R) * offset).t(): OpenCV evaluates the
     * sum of the two rows as addWeighted(0.5, 0.5) in float, which is the
     * rounded (P[a] + P[b]) / 2 exactly; the transposed product is its own
     * cv::gemm (GEMMSingleMul: float products accumulated in double, one
     * rounding to float); the two 1x3 results are added in float. */
    int a = left ? 36 : 42, b = left ? 39 : 45;
    static const float offset[3] = {0.0f, -3.5f, 7.0f};
    for (int c = 0; c < 3; c++) {
        float mid = (face3d[c * n_face + a] + face3d[c * n_face + b]) * 0.5f;
        double rot = (double)R[3 * c] * offset[0] + (double)R[3 * c + 1] * offset[1] + (double)R[3 * c + 2] * offset[2];
        out->eyeball[c] = mid + (float)rot;
    }

    /* RaySphereIntersect(origin (0,0,0), ray, eyeball, 12): float
     * coefficients; the unqualified sqrt there is the C library's double
     * sqrt, so t = (-b - sqrt(disc)) / 2 * a (sic: times a, which is ~1) is
     * evaluated in double and rounded to float. The origin's zero terms of
     * OpenFace's formulas are left out: adding or multiplying those zeros
     * changes no value. */
    const float *d = out->ray, *e = out->eyeball;
    const float r = 12.0f;
    float qa = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
    float qb = 2 * d[0] * (0 - e[0]) + 2 * d[1] * (0 - e[1]) + 2 * d[2] * (0 - e[2]);
    float qc = e[0] * e[0] + e[1] * e[1] + e[2] * e[2] - r * r;
    float disc = qb * qb - 4 * qa * qc;
    float hit[3];
    if (disc < 0) {
        /* no intersection: OpenFace returns the point (0, 0, -1) */
        hit[0] = 0;
        hit[1] = 0;
        hit[2] = -1;
    } else {
        float t = (float)((-qb - sqrt((double)disc)) / 2 * qa);
        for (int c = 0; c < 3; c++)
            hit[c] = d[c] * t; /* cv::Point3f * float, in float */
    }
    for (int c = 0; c < 3; c++)
        out->axis[c] = hit[c] - e[c];
    double an = norm3_d(out->axis);
    for (int c = 0; c < 3; c++)
        out->gaze[c] = (float)(out->axis[c] / an);
}

void au_gaze_angle(const float g0[3], const float g1[3], float angle[2])
{
    /* (g0 + g1) / 2 on cv::Point3f: float sum, float division by the int 2;
     * atan2 of two floats is the double atan2 there (result stored in a
     * double, then returned as cv::Vec2f). */
    float g[3];
    for (int c = 0; c < 3; c++)
        g[c] = (g0[c] + g1[c]) / 2;
    angle[0] = (float)atan2((double)g[0], (double)-g[2]);
    angle[1] = (float)atan2((double)g[1], (double)-g[2]);
}
