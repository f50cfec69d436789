/* OpenFace's face alignment for AUs: FaceAnalysis::AlignFaceMask
 * (lib/local/FaceAnalyser/src/Face_utils.cpp), as FaceAnalyser::AddNextFrame
 * calls it (rigid points, sim_scale 0.7, 112x112).
 *
 *  1. The similarity (scaled rotation) that maps the 24 rigid landmarks
 *     (extract_rigid_points: outline 1-4 and 12-15, nose 27-29 and 31-35, eye
 *     corners and lower lids 36, 39-42, 45-47) onto sim_scale x the PDM mean
 *     shape: Utilities::AlignShapesWithScale (rotation.h).
 *  2. The 2x3 warp [A | -A (tx, ty) + (w/2, h/2)], (tx, ty) the PDM
 *     translation of the face (params_global[4..5] from CalcParams).
 *  3. cv::warpAffine(frame, w x h, INTER_LINEAR, border 0) (imgproc.h).
 *  4. The landmarks moved by the warp, the eyebrows (17-26) and the contour
 *     ends (0, 16) lifted by (30 / 0.7) * sim_scale pixels, and the pixel
 *     mask of their triangulation (AU_predictors/tris_68_full.txt) over the
 *     output grid (PAW with bounds 0, 0, w-1, h-1); pixels outside are 0.
 *
 * Float arithmetic as OpenFace's (float matrices; OpenCV's gemm accumulates
 * in double where it does), so warp, mask and pixels are OpenFace's exactly.
 * The context's buffers are made once in au_face_align_init; nothing is
 * allocated per frame. The mask comes from the PAW's scan conversion (paw.h)
 * and the warp from the DSP table's warp_affine_u8, both exact.
 *
 * Verified on changeLighting.wmv (tests/test_face_align.c): warp, mask,
 * pixels and the FHOG of all 88 aligned faces are OpenFace's exactly. */
#ifndef AU_FACE_ALIGN_H
#define AU_FACE_ALIGN_H

#include "error.h"
#include "image.h"
#include "mat.h"
#include "paw.h"
#include "pdm.h"

struct AuDsp;

#define AU_ALIGN_POINTS 68        /* AlignFaceMask indexes the 68-point layout */
#define AU_ALIGN_RIGID_POINTS 24  /* extract_rigid_points */

typedef struct AuFaceAlign {
    double sim_scale;
    int width, height;
    /* sim_scale * mean shape at the rigid points, (x, y) per point. */
    float dst_rigid[2 * AU_ALIGN_RIGID_POINTS];
    float src_rigid[2 * AU_ALIGN_RIGID_POINTS];
    float scratch[6 * AU_ALIGN_RIGID_POINTS]; /* AlignShapesWithScale's */
    /* The last frame's warp (image -> aligned face), row-major 2x3, float as
     * OpenFace's cv::Matx23f. */
    float warp[6];
    /* The last frame's destination landmarks (2 x 68: xs then ys, eyebrows
     * lifted) and its PAW, whose pixel_mask is the face mask. */
    float dst_landmarks[2 * AU_ALIGN_POINTS];
    AuPaw paw;
    /* The DSP table whose warp_affine_u8 au_face_align uses (the caller's,
     * set after au_face_align_init, which leaves it NULL: then
     * au_warp_affine_u8, the C version; all versions give the same bytes). */
    const struct AuDsp *dsp;
} AuFaceAlign;

/* pdm: the FaceAnalyser's 68-point PDM (AU_predictors/In-the-wild_aligned_PDM_68.txt);
 * tris: k x 3 AU_MAT_S32 (au_tris_load_single of tris_68_full.txt). Neither is
 * kept. OpenFace: sim_scale 0.7, 112 x 112. */
AuStatus au_face_align_init(AuFaceAlign *a, const AuPdm *pdm, const AuMat *tris, double sim_scale, int width,
                            int height, AuError *err);
/* Accepts a zeroed or partially initialised context; leaves it zeroed. */
void au_face_align_free(AuFaceAlign *a);

/* Steps 1-2 only: the 2x3 warp for the landmarks (2 x 68: xs then ys) and
 * params_global (scale, rx, ry, rz, tx, ty), into a->warp. */
void au_face_align_warp_matrix(AuFaceAlign *a, const float *landmarks, const float params_global[6]);

/* Step 4 only, for a->warp: a->dst_landmarks and the mask in a->paw. */
void au_face_align_mask(AuFaceAlign *a, const float *landmarks);

/* The whole of AlignFaceMask: frame (BGR or gray u8, any size) into out,
 * which the caller allocates at width x height with the frame's channels. */
AuStatus au_face_align(AuFaceAlign *a, const AuImageU8 *frame, const float *landmarks, const float params_global[6],
                       AuImageU8 *out, AuError *err);

#endif
