/* Forward inference of OpenFace's small CNNs (CNN::Inference in
 * FaceDetectorMTCNN.cpp and the helpers of CNN_utils.cpp): convolution as
 * im2col + sgemm with OpenFace's weight layout and call, max pooling with its
 * caffe-style output size, PReLU, ReLU, sigmoid, and fully connected layers
 * with OpenFace's two flattening rules. Maps are h x w float, row-major.
 * A workspace holds every intermediate buffer and grows only when an input
 * is larger than any before. */
#ifndef AU_CNN_H
#define AU_CNN_H

#include <stddef.h>

#include "cnn_weights.h"
#include "error.h"

typedef struct AuCnnWork {
    float *buf[2];   /* ping-pong activations: maps * h * w floats */
    size_t cap[2];
    float *im2col;   /* rows x (in*kh*kw + 1) */
    size_t im2col_cap;
    float *tmp;      /* sgemm output / flattening scratch */
    size_t tmp_cap;
} AuCnnWork;

void au_cnn_work_free(AuCnnWork *w);

/* Runs cnn on `maps` input maps of h x w (map-major, row-major each). On
 * success *out points to the output maps (inside w, valid until the next
 * call) and *out_shape gives their shape. */
AuStatus au_cnn_forward(const AuCnn *cnn, AuCnnWork *w, const float *in, AuCnnShape in_shape, const float **out,
                        AuCnnShape *out_shape, AuError *err);

#endif
