/* libaucore public API: OpenFace 2.2's facial Action Unit pipeline (CLNF model).
 *
 * Shape of use (the harness and any embedding program):
 *   au_model_set_load(&models, "/path/with/model+AU_predictors", &err);   once, read-only, shareable
 *   au_tracker_create(&t, models, &opts, &err);                           one per video / person
 *   for each frame: au_tracker_process(t, &frame, &result, &err);         online results
 *   au_tracker_finish(t, &err);                                           offline AU post-processing
 *   au_tracker_postprocessed_aus(t, i, au_r, au_c);                       final AUs of frame i
 *   au_tracker_free(t); au_model_set_free(models);
 * Errors are returned with a message naming the file or value at fault; the
 * library never exits or prints. Two trackers on two threads never interfere. */
#ifndef AU_AU_H
#define AU_AU_H

#include <stddef.h>
#include <stdint.h>

#include "au/au_error.h"

#define AU_API_VERSION 1

#define AU_N_LANDMARKS 68
#define AU_N_EYE_LANDMARKS 56 /* 28 per eye, left then right */
#define AU_N_PDM_MODES 34
#define AU_N_AU_REG 17
#define AU_N_AU_CLASS 18

typedef struct AuModelSet AuModelSet;
typedef struct AuTracker AuTracker;

/* One input frame: 8-bit BGR (3 channels) and its gray version (1 channel), as
 * the decoder delivers them (core's AuFrame provides both). */
typedef struct AuInputFrame {
    int width, height;
    const uint8_t *bgr;  size_t bgr_stride;
    const uint8_t *gray; size_t gray_stride;
    int64_t frame_number; /* 0-based */
    double timestamp;     /* seconds */
} AuInputFrame;

typedef struct AuTrackerOptions {
    double fx, fy, cx, cy; /* camera intrinsics; 0 = OpenFace's defaults from the frame size */
    int static_aus;        /* 1: static AU models only (OpenFace -au_static / images) */
} AuTrackerOptions;

/* Everything FeatureExtraction writes for one frame, online (before the
 * end-of-video AU post-processing). Landmarks are OpenFace's layout: all x then
 * all y (2D); all X, all Y, all Z (3D). AUs are in CSV (alphabetical) order:
 * au_tracker_au_reg_name / _class_name. */
typedef struct AuFrameResult {
    int64_t frame_number;
    double timestamp;
    int success;
    double confidence;
    float landmarks[2 * AU_N_LANDMARKS];
    float landmarks_3d[3 * AU_N_LANDMARKS];
    float pose[6];         /* Tx Ty Tz (mm) Rx Ry Rz (rad) */
    float params_global[6];
    float params_local[AU_N_PDM_MODES];
    float gaze_dir0[3], gaze_dir1[3], gaze_angle[2];
    float eye_landmarks[2 * AU_N_EYE_LANDMARKS];    /* (x, y) pairs */
    float eye_landmarks_3d[3 * AU_N_EYE_LANDMARKS]; /* (X, Y, Z) triplets */
    double au_reg[AU_N_AU_REG];
    double au_class[AU_N_AU_CLASS];
} AuFrameResult;

/* Timing of named pipeline stages since the tracker was created. */
typedef struct AuStageTiming {
    const char *name;
    uint64_t calls;
    uint64_t total_ns;
} AuStageTiming;

AuStatus au_model_set_load(AuModelSet **models, const char *models_dir, AuError *err);
void au_model_set_free(AuModelSet *models);

void au_tracker_options_default(AuTrackerOptions *opts);
AuStatus au_tracker_create(AuTracker **tracker, const AuModelSet *models, const AuTrackerOptions *opts, AuError *err);
AuStatus au_tracker_process(AuTracker *tracker, const AuInputFrame *frame, AuFrameResult *result, AuError *err);
/* Offline post-processing over every frame processed so far (as OpenFace's
 * PostprocessOutputFile at the end of a video). */
AuStatus au_tracker_finish(AuTracker *tracker, AuError *err);
/* Final (post-processed) AUs of the i-th processed frame, after finish. */
AuStatus au_tracker_final_aus(const AuTracker *tracker, size_t i, double au_reg[AU_N_AU_REG],
                              double au_class[AU_N_AU_CLASS], AuError *err);
const char *au_tracker_au_reg_name(const AuTracker *tracker, int i);
const char *au_tracker_au_class_name(const AuTracker *tracker, int i);
/* Fills up to n entries; returns the number of stages. */
int au_tracker_timings(const AuTracker *tracker, AuStageTiming *out, int n);
void au_tracker_free(AuTracker *tracker);

/* Still-image mode (OpenFace's FaceLandmarkImg): every face MTCNN finds in the
 * image, each fitted by CLNF from its box (DetectLandmarksInImage, with the
 * multi-hypothesis rotations), in MTCNN's order, with pose, gaze and static
 * AUs (FaceAnalyser::PredictStaticAUsAndComputeFeatures). The tracker should
 * be created with static_aus = 1; it keeps no state between images except its
 * stage timings. *faces points into the tracker (valid until the next call or
 * au_tracker_free); *n_faces may be 0 (no face: not an error). */
AuStatus au_tracker_process_image(AuTracker *tracker, const AuInputFrame *image, const AuFrameResult **faces,
                                  int *n_faces, AuError *err);

#endif
