/* OpenFace's face alignment for AUs (FaceAnalysis::AlignFaceMask in
 * lib/local/FaceAnalyser/src/Face_utils.cpp): a similarity warp of the frame
 * that maps the 24 rigid landmarks onto sim_scale x the PDM mean shape,
 * centred on the face's PDM translation, then a mask that keeps only pixels
 * inside the triangulation of the warped landmarks (with the eyebrow row and
 * the two outer contour points moved up to include more of the forehead).
 * Output: 112x112 BGR u8 at sim_scale 0.7 for AUs. */
#ifndef AU_FACE_ALIGN_H
#define AU_FACE_ALIGN_H

#include "error.h"
#include "image.h"
#include "mat.h"
#include "pdm.h"

#define AU_ALIGN_RIGID_POINTS 24

typedef struct AuFaceAlign {
    const AuPdm *pdm;
    const AuMat *tris;   /* n_tris x 3 int (tris_68_full.txt) */
    double sim_scale;
    int width, height;
    float *dst_rigid;    /* 2 * 24: sim_scale * mean shape at the rigid points */
    float *scratch;      /* AlignShapesWithScale scratch + point buffers */
    float warp[6];       /* the last warp (image -> aligned), float as OpenFace's Matx23f */
} AuFaceAlign;

AuStatus au_face_align_init(AuFaceAlign *a, const AuPdm *pdm, const AuMat *tris, double sim_scale, int width,
                            int height, AuError *err);
void au_face_align_free(AuFaceAlign *a);

/* Aligns and masks the BGR (or gray) frame into out (allocated by the caller
 * with a->width x a->height and the frame's channels). landmarks: 2n (all x,
 * then all y) as detected; params_global: the FaceAnalyser's CalcParams of
 * those landmarks (its translation centres the face). */
AuStatus au_face_align(AuFaceAlign *a, const AuImageU8 *frame, const float *landmarks, const float params_global[6],
                       AuImageU8 *out, AuError *err);

/* The PAW pixel mask of a triangulated shape over a w x h grid whose pixel
 * (x, y) is the point (x + min_x, y + min_y): 1 where the pixel centre lies in
 * some triangle (OpenFace's PAW constructor with its findTriangle search,
 * including its last-triangle guess). shape: 2n (all x, then all y). */
void au_paw_mask(const float *shape, int n, const AuMat *tris, float min_x, float min_y, int w, int h,
                 unsigned char *mask);

#endif
