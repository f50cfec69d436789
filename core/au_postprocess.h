/* OpenFace's offline AU post-processing, run once at the end of a video
 * (FaceAnalyser::PostprocessOutputFile, which calls
 * ExtractAllPredictionsOfflineReg and ExtractAllPredictionsOfflineClass):
 *
 * 1. PostprocessPredictions (dynamic models only): the first up to 3000
 *    successful frames are predicted again with the final running medians.
 *    Their descriptors are kept for that in an AuDescriptorStore.
 * 2. Intensities: per dynamic SVR with a cutoff, offset =
 *    sorted(values of successful frames)[(int)(n_valid * cutoff)]
 *    (au_postprocess_offset); values - offset, clamped to [0, 5], and 0 on
 *    failed frames (au_postprocess_shift_clamp); then a 3-frame moving
 *    average that leaves the first and last frame as they are
 *    (au_postprocess_smooth_intensity).
 * 3. Presences: a 7-frame moving average thresholded at 0.5 (< 0.5 -> 0,
 *    else 1), the first and last 3 frames left as they are
 *    (au_postprocess_smooth_presence). Failed frames hold 0 from the online
 *    pass and take part in the average.
 *
 * The per-AU series here are one AU's values over all frames, in double as
 * OpenFace keeps them. face_analyser.h strings the steps together. */
#ifndef AU_AU_POSTPROCESS_H
#define AU_AU_POSTPROCESS_H

#include "error.h"

/* OpenFace's max_init_frames: how many successful frames are re-predicted. */
#define AU_POSTPROCESS_MAX_INIT_FRAMES 3000

/* The descriptors of the first max_frames successful frames.
 * Memory: the HOG is kept as float (OpenFace holds it as double, but every
 * value is a float32 from dlib's FHOG, so nothing is lost) and the geometry
 * as double: (4464 * 4 + 238 * 8) bytes = 19.8 KB a frame, so at most 59 MB
 * for 3000 frames (OpenFace: 113 MB). Storage grows as frames arrive, so a
 * short video holds only what it has. */
typedef struct AuDescriptorStore {
    int max_frames;
    int hog_len, geom_len;
    int count, capacity;
    float *hog;   /* count x hog_len */
    double *geom; /* count x geom_len */
    int *frame;   /* 0-based index of each stored frame among all frames */
} AuDescriptorStore;

/* max_frames >= 0 (AU_POSTPROCESS_MAX_INIT_FRAMES for OpenFace's behaviour). */
AuStatus au_descriptor_store_init(AuDescriptorStore *s, int hog_len, int geom_len, int max_frames, AuError *err);
/* Accepts a zeroed or partially initialised struct; leaves it zeroed. */
void au_descriptor_store_free(AuDescriptorStore *s);
/* Forgets every stored frame (keeps the allocation). */
void au_descriptor_store_reset(AuDescriptorStore *s);
/* Stores one successful frame's descriptors; does nothing once max_frames are
 * stored. Fails only when out of memory. */
AuStatus au_descriptor_store_add(AuDescriptorStore *s, int frame, const float *hog, const double *geom, AuError *err);

/* The cutoff offset of one dynamic SVR: values[f] over the frames with
 * success[f], sorted ascending, element (int)(n_valid * cutoff); 0 when no
 * frame succeeded or cutoff is -1 (OpenFace's "no cutoff"). A cutoff outside
 * [0, 1) (where OpenFace's vector::at throws) is AU_ERR_ARG. */
AuStatus au_postprocess_offset(const double *values, const unsigned char *success, int n, double cutoff,
                               double *offset, AuError *err);
/* values[f] = clamp(values[f] - offset, 0, 5) on successful frames, 0 on failed ones. */
void au_postprocess_shift_clamp(double *values, const unsigned char *success, int n, double offset);
/* 3-frame moving average of frames 1 .. n-2 (sum of the three, divided by 3),
 * from a copy of the input (scratch: n doubles). */
void au_postprocess_smooth_intensity(double *values, int n, double *scratch);
/* 7-frame moving average of frames 3 .. n-4, then < 0.5 -> 0, else 1; the
 * first and last 3 values are left unthresholded as OpenFace does
 * (scratch: n doubles). */
void au_postprocess_smooth_presence(double *values, int n, double *scratch);

#endif
