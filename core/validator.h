/* OpenFace's CNN landmark detection validator (DetectionValidator::Check and
 * CheckCNN in LandmarkDetectionValidator.cpp): the view nearest the head
 * rotation; the face inside the landmarks' box (+-3 px) piecewise-affine
 * warped onto the view's 60x60 reference shape (PAW::Warp: per-triangle affine
 * maps, cv::remap bilinear); the masked pixels normalised locally (mean, std)
 * and globally (the view's mean and std images); the view's CNN; and the
 * arg-max of its 30 output bins turned into a certainty in [0, 1] in steps of
 * 1/30 (0.98333 for the best bin). */
#ifndef AU_VALIDATOR_H
#define AU_VALIDATOR_H

#include "cnn.h"
#include "error.h"
#include "image.h"
#include "paw.h"
#include "validator_model.h"

typedef struct AuValidator {
    const AuValidatorModel *model;
    AuCnnWork work;
    AuImageF32 roi, warped;
    AuPaw *paws;       /* one per view, built on first use (warp buffers are per tracker) */
    float *local;      /* landmarks relative to the crop */
    float *input;
    size_t local_cap, input_cap;
} AuValidator;

void au_validator_init(AuValidator *v, const AuValidatorModel *model);
void au_validator_free(AuValidator *v);

/* Certainty for the landmarks (2n: all x, then all y) found in the gray
 * frame, with the head rotation (rx, ry, rz radians). */
AuStatus au_validator_check(AuValidator *v, const double rotation[3], const AuImageU8 *gray, const float *landmarks,
                            int n_landmarks, double *certainty, AuError *err);

#endif
