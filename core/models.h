/* The whole OpenFace model set the pipeline needs, loaded once from a folder in
 * OpenFace's layout (the folder that holds model/ and AU_predictors/, e.g. an
 * OpenFace build's bin/). Read-only after loading, so one AuModels can be
 * shared by trackers on several threads. */
#ifndef AU_MODELS_H
#define AU_MODELS_H

#include "au_model.h"
#include "clnf_model.h"
#include "error.h"
#include "mat.h"
#include "mtcnn_model.h"
#include "pdm.h"
#include "validator_model.h"

typedef struct AuModels {
    char dir[1024];
    AuClnfModel clnf;            /* model/main_clnf_general.txt and its parts */
    AuValidatorModel validator;  /* the CNN detection validator named by the CLNF model */
    AuMtcnnModel mtcnn;          /* model/mtcnn_detector/MTCNN_detector.txt */
    AuAuModels au_dynamic;       /* AU_predictors/main_dynamic_svms.txt (video default) */
    AuAuModels au_static;        /* AU_predictors/main_static_svms.txt (images, -au_static) */
    AuPdm au_pdm;                /* the FaceAnalyser's own PDM copy */
    AuMat au_tris;               /* AU_predictors/tris_68_full.txt (for the alignment mask) */
} AuModels;

/* Loads every model from models_dir. On failure everything loaded so far is
 * freed and the message names the file at fault. */
AuStatus au_models_load(AuModels *m, const char *models_dir, AuError *err);
void au_models_free(AuModels *m);

#endif
