#include "gaze.h"

#include <math.h>

#include "rotation.h"

void au_gaze_estimate(const float *eye3d, int n_eye, const float *face3d, const float pose[6], int left,
                      float gaze[3])
{
    float R[9];
    au_euler_to_rot_f(pose + 3, R);
    /* GetPupilPosition: cv::mean of iris points 0-7 (double sums), as float */
    float pupil[3];
    for (int c = 0; c < 3; c++) {
        double s = 0;
        for (int i = 0; i < 8; i++)
            s += eye3d[c * n_eye + i];
        pupil[c] = (float)(s / 8);
    }
    double pn = sqrt((double)pupil[0] * pupil[0] + (double)pupil[1] * pupil[1] + (double)pupil[2] * pupil[2]);
    float ray[3];
    for (int c = 0; c < 3; c++)
        ray[c] = (float)(pupil[c] / pn);
    int a = left ? 36 : 42, b = left ? 39 : 45;
    static const float offset[3] = {0.0f, -3.5f, 7.0f};
    float centre[3];
    for (int c = 0; c < 3; c++) {
        /* rotMat * offset: OpenCV sums the three float products in float */
        float rot = R[3 * c] * offset[0] + R[3 * c + 1] * offset[1] + R[3 * c + 2] * offset[2];
        centre[c] = (face3d[c * 68 + a] + face3d[c * 68 + b]) / 2.0f + rot;
    }
    /* RaySphereIntersect from the camera origin, radius 12 */
    float dx = ray[0], dy = ray[1], dz = ray[2];
    float cx = centre[0], cy = centre[1], cz = centre[2], r = 12.0f;
    float x0 = 0, y0 = 0, z0 = 0;
    float A = dx * dx + dy * dy + dz * dz;
    float B = 2 * dx * (x0 - cx) + 2 * dy * (y0 - cy) + 2 * dz * (z0 - cz);
    float C = cx * cx + cy * cy + cz * cz + x0 * x0 + y0 * y0 + z0 * z0 + -2 * (cx * x0 + cy * y0 + cz * z0) - r * r;
    float hit[3];
    if (B * B - 4 * A * C < 0) {
        hit[0] = 0;
        hit[1] = 0;
        hit[2] = -1;
    } else {
        float t = (float)((-B - sqrt((double)(B * B - 4 * A * C))) / 2 * A);
        for (int c = 0; c < 3; c++)
            hit[c] = 0.0f + ray[c] * t;
    }
    float axis[3];
    for (int c = 0; c < 3; c++)
        axis[c] = hit[c] - centre[c];
    double an = sqrt((double)axis[0] * axis[0] + (double)axis[1] * axis[1] + (double)axis[2] * axis[2]);
    for (int c = 0; c < 3; c++)
        gaze[c] = (float)(axis[c] / an);
}

void au_gaze_angle(const float g0[3], const float g1[3], float angle[2])
{
    float g[3];
    for (int c = 0; c < 3; c++)
        g[c] = (g0[c] + g1[c]) / 2;
    angle[0] = (float)atan2((double)g[0], (double)-g[2]);
    angle[1] = (float)atan2((double)g[1], (double)-g[2]);
}
