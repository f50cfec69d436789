/* OpenFace's gaze estimate (lib/local/GazeAnalyser/src/GazeEstimation.cpp):
 * per eye, the pupil is the mean of the eye model's 8 iris points in camera
 * space; the eyeball centre is the middle of the eye corners of the face shape
 * plus R * (0, -3.5, 7) mm; the gaze is the unit vector from the eyeball
 * centre to where the camera ray through the pupil meets the 12 mm eyeball.
 * The angles are atan2 of the mean of both eyes' vectors. Float arithmetic
 * as OpenFace. */
#ifndef AU_GAZE_H
#define AU_GAZE_H

/* eye3d: the eye model's camera-space shape (3n: all X, all Y, all Z, n >= 8);
 * face3d: the 68-point face's camera-space shape (3*68); pose: GetPose's
 * [Tx Ty Tz Rx Ry Rz]; left: 1 for the left eye (corners 36, 39), 0 for the
 * right (42, 45). */
void au_gaze_estimate(const float *eye3d, int n_eye, const float *face3d, const float pose[6], int left,
                      float gaze[3]);
void au_gaze_angle(const float g0[3], const float g1[3], float angle[2]);

#endif
