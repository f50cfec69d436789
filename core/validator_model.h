/* The landmark detection validator (model/detection_validation/validator_cnn.txt,
 * a binary file despite its name), loaded as OpenFace's DetectionValidator::Read
 * and PAW::Read do:
 *
 *   int32 validator_type (3 = CNN; OpenFace supports no other), int32 n_views
 *   n_views orientations: ReadMatBin 3x1 double, degrees (pitch, yaw, roll)
 *   per view: ReadMatBin mean image (1 x n_pixels, double)
 *             ReadMatBin standard deviations (1 x n_pixels, double)
 *             the CNN layer list (validator dialect, see cnn_weights.h)
 *             the piecewise affine warp (PAW::Read):
 *               int32 number_of_pixels, double min_x, double min_y,
 *               ReadMatBin destination landmarks (2n x 1 double: xs then ys),
 *               ReadMatBin triangulation (t x 3 int32, landmark indices),
 *               ReadMatBin triangle_id (h x w int32, -1 outside the face),
 *               ReadMatBin pixel_mask (h x w, any type, converted to u8),
 *               ReadMatBin alpha, beta (t x 3 double)
 *
 * Everything is converted as OpenFace converts it at load: orientations to
 * radians (double), mean and standard deviation images, landmarks, alpha, beta
 * and min_x/min_y to float, the mask to u8 (saturating). PAW::Read derives
 * nothing else from the data: it only allocates the per-warp workspaces
 * (map_x, map_y: h x w float; coefficients: t x 6 float) and copies the
 * destination landmarks as the initial source landmarks. Those are mutable
 * state of a warp in progress and belong to the caller of the warp, not to the
 * shared read-only model, so they are not allocated here.
 *
 * Consistency is checked at load so the validator can never index outside its
 * arrays: number_of_pixels equals the mask's nonzero count and the mean and
 * standard deviation lengths, triangulation indices name landmarks, every
 * masked pixel has a valid triangle, and the CNN fits the h x w warped image
 * (one map in). */
#ifndef AU_VALIDATOR_MODEL_H
#define AU_VALIDATOR_MODEL_H

#include <stdint.h>

#include "cnn_weights.h"
#include "error.h"

#define AU_VALIDATOR_MAX_VIEWS 64
#define AU_VALIDATOR_MAX_WARP_SIZE 4096 /* pixels per side of the warped image */

/* The piecewise affine warp's fixed data (OpenFace's PAW after Read). */
typedef struct AuValidatorPaw {
    int number_of_pixels; /* pixels inside the mask */
    /* Top-left of the warped image in the destination frame; read as double,
     * kept as float as OpenFace's PAW stores them. */
    float min_x, min_y;
    int n_landmarks;
    float *destination_landmarks; /* 2*n_landmarks: all xs, then all ys */
    int n_triangles;
    int *triangulation; /* n_triangles x 3, row-major, landmark indices */
    int height, width;  /* of the warped image (mask, triangle_id) */
    int *triangle_id;   /* height x width, row-major: triangle per pixel, -1 outside */
    uint8_t *pixel_mask; /* height x width, row-major: nonzero inside the face */
    float *alpha;        /* n_triangles x 3, row-major */
    float *beta;         /* n_triangles x 3, row-major */
} AuValidatorPaw;

typedef struct AuValidatorView {
    double orientation[3]; /* radians: (file degrees * M_PI) * (1.0 / 180.0), as OpenCV computes it */
    int n_pixels;
    /* Per-pixel global normalisation, float as OpenFace converts them;
     * n_pixels each, in the order of the masked pixels taken column by column
     * (NormaliseWarpedToVector walks the transposed mask). */
    float *mean;
    float *standard_deviation;
    AuCnn cnn;
    AuValidatorPaw paw;
} AuValidatorView;

typedef struct AuValidatorModel {
    int validator_type; /* always 3 (CNN) once loaded */
    int n_views;
    AuValidatorView *views;
} AuValidatorModel;

/* Loads the whole validator. Errors name the file and byte offset. On failure
 * m is left empty (freeing it is harmless). */
AuStatus au_validator_model_load(AuValidatorModel *m, const char *validator_path, AuError *err);

/* Frees everything; accepts a zeroed or partially loaded model. */
void au_validator_model_free(AuValidatorModel *m);

#endif
