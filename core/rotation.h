/* Rotation and shape-alignment helpers as OpenFace 2.2 has them
 * (lib/local/Utilities/include/RotationHelpers.h, PDM::Orthonormalise) and as
 * the OpenCV calls inside them compute (cv::Rodrigues, cv::SVD, cv::gemm).
 *
 * Conventions: 3x3 and 2x2 matrices are row-major arrays. Euler angles are
 * OpenFace's (pitch, yaw, roll) = (rx, ry, rz) with R = Rx * Ry * Rz.
 * Precision follows OpenFace: its helpers take and return float (cv::Vec3f,
 * cv::Matx33f); cv::Rodrigues works in double inside and rounds its result
 * to float. The *_d variants of the Euler conversions are the same formulas
 * in double for callers that hold doubles (OpenFace 2.2 itself only has the
 * float versions). */
#ifndef AU_ROTATION_H
#define AU_ROTATION_H

/* Utilities::Euler2RotationMatrix. */
void au_euler_to_rot_f(const float euler[3], float R[9]);
void au_euler_to_rot_d(const double euler[3], double R[9]);
/* Utilities::RotationMatrix2Euler (through a quaternion). */
void au_rot_to_euler_f(const float R[9], float euler[3]);
void au_rot_to_euler_d(const double R[9], double euler[3]);

/* cv::Rodrigues, rotation vector -> matrix, computed in double. */
void au_axis_angle_to_rot_d(const double axis_angle[3], double R[9]);
/* Same with its 3x9 Jacobian dR/dr (row i: derivative of the 9 entries of R
 * with respect to r_i), as cv::Rodrigues returns it. */
void au_axis_angle_to_rot_jac_d(const double axis_angle[3], double R[9], double J[27]);
/* cv::Rodrigues, rotation matrix -> vector (the matrix is first made
 * orthonormal by an SVD), computed in double. */
void au_rot_to_axis_angle_d(const double R[9], double axis_angle[3]);
/* OpenFace's float wrappers: Utilities::AxisAngle2RotationMatrix,
 * RotationMatrix2AxisAngle, Euler2AxisAngle, AxisAngle2Euler. */
void au_axis_angle_to_rot_f(const float axis_angle[3], float R[9]);
void au_rot_to_axis_angle_f(const float R[9], float axis_angle[3]);
void au_euler_to_axis_angle_f(const float euler[3], float axis_angle[3]);
void au_axis_angle_to_euler_f(const float axis_angle[3], float euler[3]);

/* PDM::Orthonormalise: R <- U * diag(1, 1, det(U*Vt)) * Vt from cv::SVD of R,
 * in float. */
void au_orthonormalise_f(float R[9]);

/* Utilities::AlignShapesKabsch2D: the 2x2 rotation R (no reflection) that
 * best maps the n points `from` onto `to` (both n x 2 row-major, x then y per
 * point, already mean-normalised). */
void au_align_kabsch2d_f(const float *from, const float *to, int n, float R[4]);
/* Utilities::AlignShapesWithScale: the 2x2 scaled rotation A = s*R mapping
 * src onto dst (n x 2 each) after removing their means and scales.
 * scratch holds 6n floats. */
void au_align_with_scale_f(const float *src, const float *dst, int n, float A[4], float *scratch);

/* LandmarkDetector::GetPose: head pose [Tx, Ty, Tz, Rx, Ry, Rz] (mm, radians,
 * Euler angles) in camera coordinates, from the PDM's object-space 3D shape
 * (shape3d, 3n: all X, then Y, then Z, as CalcShape3D gives it), the 2D
 * landmarks (2n: all x, then y) and params_global (its scale, rotation and
 * translation start cv::solvePnP's iterative Levenberg-Marquardt refinement,
 * which is reproduced here). Returns all zeros when scale is 0, as OpenFace
 * does. scratch holds 19n doubles. */
void au_pose_from_shape(const float *shape3d, const float *landmarks, int n, const float params_global[6], float fx,
                        float fy, float cx, float cy, float pose[6], double *scratch);

#endif
