/* The MTCNN face detector's three networks, loaded as OpenFace's
 * FaceDetectorMTCNN::Read and CNN::Read do: model/mtcnn_detector/MTCNN_detector.txt
 * holds lines "<module> <file>" (module PNet, RNet or ONet, file relative to the
 * .txt's folder); each file is a binary layer list (see cnn_weights.h).
 *
 * The networks take three maps in RGB order (OpenFace splits the BGR image and
 * reverses the channels). Each is checked at load against the input OpenFace
 * gives it: PNet a 12x12 window (its face support; larger images just give a
 * larger heat map, its last fully connected layer runs per pixel and must give
 * at least 6 maps: 2 scores, 4 box corrections), RNet 24x24 and ONet 48x48 crops
 * (at least 6 outputs: 2 scores, 4 corrections). */
#ifndef AU_MTCNN_MODEL_H
#define AU_MTCNN_MODEL_H

#include "cnn_weights.h"
#include "error.h"

/* Input sizes FaceDetectorMTCNN::DetectFaces uses (face_support, resize sizes). */
#define AU_MTCNN_PNET_SIZE 12
#define AU_MTCNN_RNET_SIZE 24
#define AU_MTCNN_ONET_SIZE 48

typedef struct AuMtcnnModel {
    AuCnn pnet, rnet, onet;
} AuMtcnnModel;

/* Loads all three networks. Fails (naming the .txt and the network file) when a
 * network line is missing, repeated or names a file that cannot be read or is
 * malformed. Lines naming other modules are ignored, as OpenFace does. On
 * failure m is left empty (nothing to free, though freeing is harmless). */
AuStatus au_mtcnn_model_load(AuMtcnnModel *m, const char *mtcnn_txt_path, AuError *err);

/* Frees everything; accepts a zeroed or partially loaded model. */
void au_mtcnn_model_free(AuMtcnnModel *m);

#endif
