/* MTCNN face detection as OpenFace's FaceDetectorMTCNN::DetectFaces does it
 * (lib/local/LandmarkDetector/src/FaceDetectorMTCNN.cpp): an image pyramid
 * from 12/min_face down by 0.709, PNet heat maps thresholded at t1 with
 * per-scale (IoU 0.5) and cross-scale (IoU 0.7) non-maximum suppression, box
 * regression and squaring, RNet on 24x24 crops (t2), ONet on 48x48 crops (t3),
 * a final NMS on overlap/min-area, and OpenFace's correction of the box to sit
 * tightly on the 68 landmarks. Plus DetectSingleFaceMTCNN's choice of one face
 * (the widest box). The context owns every buffer. */
#ifndef AU_MTCNN_H
#define AU_MTCNN_H

#include "cnn.h"
#include "error.h"
#include "image.h"
#include "imgproc.h"
#include "mtcnn_model.h"
#include "pdm.h"

typedef struct AuMtcnnBox {
    float x, y, w, h;
    float score;
} AuMtcnnBox;

typedef struct AuMtcnn {
    const AuMtcnnModel *model;
    AuCnnWork work;
    AuImageF32C img;     /* the frame as float BGR */
    AuImageF32C pyr;     /* one pyramid level */
    AuImageF32C crop, crop_rs;
    size_t pyr_cap, crop_cap; /* floats allocated behind pyr.data, crop.data */
    float *planes;       /* network input: RGB maps */
    size_t planes_cap;
    AuMtcnnBox *boxes, *corr;
    int n_boxes, cap_boxes;
    int *order;
} AuMtcnn;

void au_mtcnn_init(AuMtcnn *d, const AuMtcnnModel *model);
void au_mtcnn_free(AuMtcnn *d);

/* Every face in the BGR frame, best first as OpenFace returns them. *faces
 * points into d (valid until the next call). min_face 60, t1 0.6, t2 = t3 0.7
 * are OpenFace's defaults. */
AuStatus au_mtcnn_detect(AuMtcnn *d, const AuImageU8 *bgr, int min_face, float t1, float t2, float t3,
                         const AuMtcnnBox **faces, int *n_faces, AuError *err);

/* DetectSingleFaceMTCNN without a preference: the widest detected face. */
AuStatus au_mtcnn_detect_single(AuMtcnn *d, const AuImageU8 *bgr, int *found, AuRectF *box, float *confidence,
                                AuError *err);

#endif
