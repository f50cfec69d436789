/* OpenFace's gaze estimate (lib/local/GazeAnalyser/src/GazeEstimation.cpp,
 * GazeAnalysis::EstimateGaze and GetGazeAngle).
 *
 * Per eye: the pupil is the mean of the eye model's first 8 points (the iris
 * outline) in camera space; the eyeball centre is the middle of the face
 * model's two corners of that eye plus R * (0, -3.5, 7) mm, R the head
 * rotation; the gaze is the unit vector from the eyeball centre to where the
 * camera ray through the pupil first meets a 12 mm sphere around that
 * centre. The gaze angles are atan2 of the mean of the two eyes' vectors.
 *
 * Arithmetic as OpenFace's (float cv::Point3f / cv::Matx33f values; the
 * norms and cv::mean in double; OpenCV's expression evaluation for the
 * eyeball centre); the choices are documented at each step in gaze.c. */
#ifndef AU_GAZE_H
#define AU_GAZE_H

/* Every intermediate of one EstimateGaze call (gaze_internal.csv's
 * columns), in camera coordinates (mm). */
typedef struct AuGazeEye {
    float pupil[3];   /* GetPupilPosition: mean of eye points 0-7 */
    float ray[3];     /* pupil / |pupil| */
    float eyeball[3]; /* (P[a] + P[b]) / 2 + R * (0, -3.5, 7) */
    float axis[3];    /* ray-sphere intersection minus the eyeball centre */
    float gaze[3];    /* axis / |axis|: the CSV's gaze_0_* / gaze_1_* */
} AuGazeEye;

/* GazeAnalysis::EstimateGaze for one eye.
 * eye3d:  the eye part model's CLNF::GetShape (3 * n_eye floats: all X, all
 *         Y, all Z), n_eye >= 8;
 * face3d: the main model's CLNF::GetShape (3 * n_face: all X, all Y, all Z),
 *         n_face >= 46 (the 68-point layout: eye corners 36, 39 and 42, 45);
 * pose:   LandmarkDetector::GetPose, [Tx Ty Tz Rx Ry Rz] (only the Euler
 *         angles are used);
 * left:   1 for the left eye (left_eye_28, corners 36 and 39), 0 for the
 *         right (right_eye_28, corners 42 and 45). */
void au_gaze_estimate_eye(const float *eye3d, int n_eye, const float *face3d, int n_face, const float pose[6],
                          int left, AuGazeEye *out);

/* GazeAnalysis::GetGazeAngle: (atan2(g.x, -g.z), atan2(g.y, -g.z)) of the
 * mean g of the two gaze vectors, in radians (float, as cv::Vec2f). */
void au_gaze_angle(const float g0[3], const float g1[3], float angle[2]);

#endif
