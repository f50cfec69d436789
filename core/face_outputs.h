/* What FeatureExtraction writes per frame from a fitted CLNF model, besides
 * the 2D landmarks, parameters and AUs (exe/FeatureExtraction.cpp and the
 * LandmarkDetector / GazeAnalyser functions it calls):
 *
 *   au_camera_intrinsics    SequenceCapture / ImageCapture::SetCameraIntrinsics
 *   au_face_pose            LandmarkDetector::GetPose          (pose_T*, pose_R*)
 *   au_face_shape3d         CLNF::GetShape(fx, fy, cx, cy)      (X_*, Y_*, Z_*)
 *   au_face_eye_landmarks   CalculateAllEyeLandmarks            (eye_lmk_x_*, eye_lmk_y_*)
 *   au_face_eye_landmarks_3d Calculate3DEyeLandmarks            (eye_lmk_X_*, _Y_*, _Z_*)
 *   au_face_gaze            GazeAnalysis::EstimateGaze for both eyes and
 *                           GetGazeAngle                        (gaze_0_*, gaze_1_*, gaze_angle_*)
 *
 * FeatureExtraction computes the gaze only when the frame's detection
 * succeeded and the model has an eye part (CLNF::eye_model), and writes
 * zeros otherwise; everything else it writes on every frame, from whatever
 * state the model holds. Numerics as OpenFace (float state; the PDM
 * operations and GetPose as core/pdm.c reproduces them, the gaze as
 * core/gaze.c). */
#ifndef AU_FACE_OUTPUTS_H
#define AU_FACE_OUTPUTS_H

#include "clnf.h"
#include "error.h"
#include "gaze.h"
#include "pdm.h"

/* Camera intrinsics in pixels (OpenFace keeps them as float). */
typedef struct AuCamera {
    float fx, fy, cx, cy;
} AuCamera;

/* SetCameraIntrinsics for a width x height frame: a focal pair with fx or
 * fy unset (<= 0; OpenFace's "not given" is -1) becomes
 * fx = fy = (500 * (width / 640) + 500 * (height / 480)) / 2 (float), and a
 * centre pair with cx or cy unset becomes (width / 2, height / 2). Given
 * values are kept. OpenFace decides each pair on fx (resp. cx) alone; a
 * half-given pair is not meaningful and is treated as unset here. For
 * images OpenFace applies the rule per image (ImageCapture), for videos once
 * from the first frame's size (SequenceCapture). */
AuCamera au_camera_intrinsics(int width, int height, float fx, float fy, float cx, float cy);

/* Per-model context: the eye parts' indices and the PDM workspaces and
 * scratch the functions below use (nothing is allocated per call). One
 * context per thread. */
typedef struct AuFaceOutputs {
    const AuClnfModel *model;
    int n_points;     /* main model points (68) */
    int n_eye_parts;  /* parts named left_eye_28 or right_eye_28 */
    int *eye_parts;   /* their part indices, in part order */
    int n_eye_points; /* their points in total (56) */
    /* The part EstimateGaze uses for the left (0) and right (1) eye: the
     * last part named left_eye_28 / right_eye_28; -1 when there is none. */
    int gaze_part[2];
    AuPdmWork main_work;
    AuPdmWork *part_work; /* per part; initialised for the eye parts only */
    float *face3d;        /* 3 * n_points */
    float *eye3d;         /* 3 * the largest eye part's points */
} AuFaceOutputs;

/* fo need not be initialised; on failure it is left zeroed. */
AuStatus au_face_outputs_init(AuFaceOutputs *fo, const AuClnfModel *model, AuError *err);
/* Frees an initialised, zeroed or partially initialised context; leaves it zeroed. */
void au_face_outputs_free(AuFaceOutputs *fo);

/* In all of these c is the CLNF state of fo's model (main parameters,
 * landmarks and its parts' states), as the last detection left it. */

/* LandmarkDetector::GetPose: [Tx Ty Tz (mm), Rx Ry Rz (rad)] in camera
 * space; all zeros when the scale is 0. */
void au_face_pose(AuFaceOutputs *fo, const AuClnf *c, const AuCamera *cam, float pose[6]);

/* CLNF::GetShape of the main model: 3 * n_points floats, all X, all Y, all Z (mm). */
void au_face_shape3d(AuFaceOutputs *fo, const AuClnf *c, const AuCamera *cam, float *xyz);

/* CalculateAllEyeLandmarks: the 2D landmarks of each eye part in part
 * order, as (x, y) pairs (2 * n_eye_points floats). Returns n_eye_points. */
int au_face_eye_landmarks(const AuFaceOutputs *fo, const AuClnf *c, float *xy);

/* Calculate3DEyeLandmarks: CLNF::GetShape of each eye part in part order,
 * as (X, Y, Z) triplets (3 * n_eye_points floats). Returns n_eye_points. */
int au_face_eye_landmarks_3d(AuFaceOutputs *fo, const AuClnf *c, const AuCamera *cam, float *xyz);

/* EstimateGaze(left), EstimateGaze(right) and GetGazeAngle. pose and
 * face3d are au_face_pose and au_face_shape3d of the same state and camera
 * (EstimateGaze computes exactly these itself; passing them saves doing it
 * twice more). An eye without its part gets the zero gaze vector, as
 * OpenFace. eyes[0] is the left eye (gaze_0), eyes[1] the right (gaze_1);
 * both are always written. Returns 0 and writes zeros when the model has
 * no eye part (OpenFace's eye_model is false and it does not call
 * EstimateGaze), 1 otherwise. */
int au_face_gaze(AuFaceOutputs *fo, const AuClnf *c, const AuCamera *cam, const float pose[6], const float *face3d,
                 AuGazeEye eyes[2], float angle[2]);

#endif
