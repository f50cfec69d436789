/* Weights of OpenFace's small CNNs (the MTCNN face detector's PNet/RNet/ONet and
 * the CNN of the landmark detection validator), as loaded from OpenFace's binary
 * layer lists. Both files use one layer encoding:
 *
 *   int32 network_depth, then per layer an int32 layer code and its data
 *   conv:  int32 in_maps, int32 out_maps, float32 bias[out_maps],
 *          then in_maps * out_maps kernels, input-map major (kernel [in][out]),
 *          each a ReadMatBin matrix (int32 rows, cols, type=CV_32F, floats)
 *   fully connected: ReadMatBin bias (out x 1), ReadMatBin weights (in x out)
 *   MTCNN only: max pooling int32 kernel_x, kernel_y, stride_x, stride_y;
 *               PReLU ReadMatBin slopes (n x 1)
 *
 * The two readers give the codes different meanings (CNN::Read and
 * DetectionValidator::Read):
 *
 *   code | MTCNN (CNN::Read)        | validator (DetectionValidator::Read)
 *   -----+--------------------------+-------------------------------------
 *    0   | convolution              | convolution
 *    1   | max pooling (parameters) | max pooling 2x2, stride 2 (no data)
 *    2   | fully connected          | fully connected
 *    3   | PReLU (slopes)           | ReLU (no data)
 *    4   | sigmoid (no data)        | sigmoid (no data)
 *
 * so the loader maps them to one AuCnnLayerKind. OpenFace silently keeps any
 * other code and skips it at inference (reading no data for it); here an
 * unknown code is rejected, because it can only mean a corrupt file.
 *
 * All weights are float: OpenFace holds them in cv::Mat_<float> and runs the
 * networks in single precision (sgemm). */
#ifndef AU_CNN_WEIGHTS_H
#define AU_CNN_WEIGHTS_H

#include <stddef.h>

#include "error.h"
#include "model_io.h"

/* Sanity limits, far above the real models (largest: 128 maps, 3x3 kernels,
 * 14 layers), so that a corrupt count is rejected before anything is allocated. */
#define AU_CNN_MAX_LAYERS 256
#define AU_CNN_MAX_MAPS 4096
#define AU_CNN_MAX_KERNEL 64
#define AU_CNN_MAX_POOL_WINDOW 64

typedef enum AuCnnLayerKind {
    AU_CNN_CONV = 0,
    AU_CNN_MAX_POOL,
    AU_CNN_FULLY_CONNECTED,
    AU_CNN_PRELU,
    AU_CNN_RELU,
    AU_CNN_SIGMOID,
} AuCnnLayerKind;

/* Which reader's meaning of the layer codes applies. */
typedef enum AuCnnDialect {
    AU_CNN_DIALECT_MTCNN = 0,
    AU_CNN_DIALECT_VALIDATOR,
} AuCnnDialect;

typedef struct AuCnnConv {
    int in_maps, out_maps;
    int kernel_h, kernel_w; /* every kernel of a layer has the same size */
    /* The kernels as cross-correlation templates (OpenFace's convolution never
     * flips them), laid out [out][in][kernel_h][kernel_w], row-major: the order
     * of OpenFace's kernels_rearr (MTCNN's cnn_convolutional_layers), which a
     * direct or FFT convolution per output map reads contiguously. The file
     * stores them [in][out]; the validator keeps that order in its
     * cnn_convolutional_layers but only ever reads [0][0]'s size from it. */
    float *kernels;
    float *bias; /* [out_maps] */
    /* OpenFace's precomputed weight matrix for its im2col + sgemm convolution
     * (cnn_convolutional_layers_weights), which both networks use at inference:
     * (in_maps*kernel_h*kernel_w + 1) rows x out_maps columns, row-major.
     * Row in*kh*kw + x*kh + y, column k holds kernel[k][in](y, x): each kernel is
     * flattened column by column, matching im2col_multimap, whose column
     * x*height + y + in*kh*kw holds input pixel (y, x) of map in. The last row
     * holds the biases, multiplied by im2col's trailing column of ones. Kept
     * in OpenFace's layout so that an inference can use the same im2col + GEMM
     * formulation (the same products summed over the same K dimension; the
     * order of additions inside the GEMM is the BLAS's own). */
    float *im2col_weights;
} AuCnnConv;

typedef struct AuCnnMaxPool {
    /* Validator layers carry no data: OpenFace always pools 2x2 with stride 2.
     * Output size per axis: (int)roundf((float)(in - kernel) / stride) + 1
     * (OpenFace's "caffe style" rounding), windows clipped at the border. */
    int kernel_x, kernel_y, stride_x, stride_y;
} AuCnnMaxPool;

typedef struct AuCnnFullyConnected {
    int in, out;
    /* out rows x in columns, row-major: the matrix OpenFace multiplies the input
     * by (out = W * x + b). The file stores its transpose (in x out); MTCNN
     * transposes at load, the validator at every call, so both apply this one.
     * When OpenFace flattens several maps into one input column it takes them
     * map by map, each map column by column (it transposes every map first),
     * so input index = map * h * w + x * h + y. */
    float *weights;
    float *bias; /* [out] */
} AuCnnFullyConnected;

typedef struct AuCnnPrelu {
    int n;         /* one slope per input map (or per row of a single-map vector) */
    float *slopes; /* y = x >= 0 ? x : x * slope */
} AuCnnPrelu;

typedef struct AuCnnLayer {
    AuCnnLayerKind kind;
    int file_code;      /* the layer code as stored in the file */
    size_t file_offset; /* byte offset of the layer code, for messages */
    AuCnnConv conv;
    AuCnnMaxPool pool;
    AuCnnFullyConnected fc;
    AuCnnPrelu prelu;
} AuCnnLayer;

/* Shape of the maps between layers: maps of h x w. A single-map column vector
 * (OpenFace's fully connected output when it flattens) is 1 map of out x 1, the
 * output of a fully connected layer on a single column is 1 map of 1 x out. */
typedef struct AuCnnShape {
    int maps, h, w;
} AuCnnShape;

typedef struct AuCnn {
    int n_layers;
    AuCnnLayer *layers;
    /* Filled by au_cnn_check_shapes: the input it was checked with and the
     * resulting output shape. */
    AuCnnShape input, output;
} AuCnn;

/* Reads network_depth and the layers at r's position, as dialect d. name (e.g.
 * "PNet") goes into messages. On failure cnn holds what was read so far (free
 * it with au_cnn_free). */
AuStatus au_cnn_read(AuReader *r, AuCnnDialect d, const char *name, AuCnn *cnn);

/* Walks an input of shape `input` through the layers as OpenFace's inference
 * would and checks every layer fits (conv in_maps equal to the maps coming in,
 * kernels and pooling windows no larger than the maps, fully connected inputs
 * equal to OpenFace's flattened size, one PReLU slope per map or row), so
 * that inference never reads outside its arrays. Stores input and output in
 * cnn. Messages name path, the layer and its byte offset. */
AuStatus au_cnn_check_shapes(AuCnn *cnn, AuCnnShape input, const char *path, const char *name, AuError *err);

/* Name of a layer kind, for messages and tests. */
const char *au_cnn_layer_kind_name(AuCnnLayerKind kind);

/* Frees everything; accepts a zeroed or partially read cnn. */
void au_cnn_free(AuCnn *cnn);

#endif
