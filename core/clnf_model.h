/* A CLNF landmark model as OpenFace's CLNF::Read loads it from a main list
 * file (model/main_clnf_general.txt):
 *
 *   LandmarkDetector clnf_general.txt          -> Read_CLNF: PDM, Triangulations,
 *                                                 PatchesCCNF (one line per scale)
 *   LandmarkDetector_part <main_*.txt> <name> <main_idx part_idx>...
 *                                              -> a part model (a CLNF of its own,
 *                                                 loaded from its own main file)
 *   FaceDetConversion haarAlign.txt            -> OpenFace 2.2 ignores this line;
 *                                                 here its path is kept and the
 *                                                 3x4 matrix parsed (see below)
 *   DetectionValidator <file>                  -> only the resolved path is kept;
 *                                                 the validator has its own loader
 *
 * Paths are relative to the listing file's folder. Lines with other keywords
 * are ignored, as in OpenFace. Also here: the triangulation loaders
 * (tris_68.txt, and the single-matrix form of AU_predictors/tris_68_full.txt)
 * and OpenFace's FaceModelParameters, with the per-part values CLNF::Read sets. */
#ifndef AU_CLNF_MODEL_H
#define AU_CLNF_MODEL_H

#include "ccnf.h"
#include "error.h"
#include "mat.h"
#include "pdm.h"

#define AU_CLNF_PATH_MAX 1024
#define AU_CLNF_MAX_WINDOWS 8
#define AU_CLNF_PART_NAME_MAX 64

/* ---- triangulations ---- */

/* A triangulation file as Read_CLNF reads it: SkipComments, an integer count,
 * then per view SkipComments and an OpenFace text matrix (k x 3, int). */
typedef struct AuTris {
    int n_views;
    AuMat *tris; /* n_views matrices, AU_MAT_S32, k x 3 point indices */
} AuTris;

AuStatus au_tris_load(AuTris *t, const char *path, AuError *err);
void au_tris_free(AuTris *t);
/* The FaceAnalyser form (AU_predictors/tris_68_full.txt): a single OpenFace
 * text matrix with no count and no comments, k x 3 int. Note it is not the
 * format of tris_68.txt, which has a count and comment lines. */
AuStatus au_tris_load_single(AuMat *m, const char *path, AuError *err);

/* ---- fitting parameters ---- */

typedef enum AuLandmarkDetectorKind {
    AU_DETECTOR_CLM = 0,
    AU_DETECTOR_CLNF = 1,
    AU_DETECTOR_CECLM = 2,
} AuLandmarkDetectorKind;

/* OpenFace's FaceModelParameters, the fields that steer fitting. float where
 * OpenFace has float. Window lists are indexed by scale; 0 = skip the scale. */
typedef struct AuClnfParams {
    int num_optimisation_iteration;
    int limit_pose;
    int validate_detections;
    float validation_boundary;
    int n_window_sizes_small, window_sizes_small[AU_CLNF_MAX_WINDOWS];
    int n_window_sizes_init, window_sizes_init[AU_CLNF_MAX_WINDOWS];
    int n_window_sizes_current, window_sizes_current[AU_CLNF_MAX_WINDOWS];
    float face_template_scale;
    int use_face_template;
    float sigma;
    float reg_factor;    /* weight of the regularisation */
    float weight_factor; /* NU-RLMS weighting; 0 = plain RLMS */
    int multi_view;
    AuLandmarkDetectorKind detector;
    int reinit_video_every;
    int refine_hierarchical;
    int refine_parameters;
    /* Not OpenFace's: place the part models from the main fit by their PDMs
     * without fitting them (as OpenFace does for faces too small for the
     * parts); the tracker sets it on fits config.h AU_CFG_PARTS_EVERY skips. */
    int place_parts_only;
    /* Not OpenFace's: 1 = fit with OpenFace's iteration count, shape-change
     * stop, response windows and cold CalcParams starts whatever the
     * variant's knobs (config.h) say. The tracker sets it for still images:
     * there detection takes most of the time, so the knobs' trade of
     * accuracy for video speed would buy nothing. */
    int openface_fit;
} AuClnfParams;

/* FaceModelParameters::init() followed by the model-file rule of its
 * argument constructor: a model_location whose stem is main_ceclm_general
 * (OpenFace's default) multiplies sigma by 1.5 and reg_factor by 0.9;
 * main_clnf_general and main_clm_general only set the detector kind.
 * model_location may be NULL (same as OpenFace's default). */
void au_clnf_params_init(AuClnfParams *p, const char *model_location);
/* The parameters CLNF::Read gives a part model named part_name: built from
 * FaceModelParameters with OpenFace's default model location, validation,
 * hierarchical refinement and parameter refinement off, then the per-name
 * windows, reg_factor, sigma and weight_factor (inner, left_eye_28,
 * right_eye_28, left_eye, right_eye, mouth, brow; other names keep the rest). */
void au_clnf_params_for_part(AuClnfParams *p, const char *part_name);

/* ---- the model ---- */

typedef struct AuClnfPointMap {
    int main_index; /* point index in the parent model */
    int part_index; /* point index in the part model */
} AuClnfPointMap;

typedef struct AuClnfModel AuClnfModel;

typedef struct AuClnfPart {
    char name[AU_CLNF_PART_NAME_MAX];
    AuClnfModel *model;   /* the part's own CLNF, loaded from its main file */
    int n_map;
    AuClnfPointMap *map;  /* in file order */
    AuClnfParams params;  /* as CLNF::Read sets them for this part */
} AuClnfPart;

struct AuClnfModel {
    char main_path[AU_CLNF_PATH_MAX]; /* the list file this model was loaded from */
    char clnf_path[AU_CLNF_PATH_MAX]; /* its LandmarkDetector file */
    AuPdm pdm;
    AuTris tris;          /* n_views == 0 when the model has no Triangulations line */
    int n_scales;
    AuCcnf *scales;       /* one per PatchesCCNF line, in file order */
    int n_parts;
    AuClnfPart *parts;    /* in file order (OpenFace merges them back in this order) */
    int eye_model;        /* OpenFace's eye_model: a left_eye_28 / right_eye_28 part exists */
    char validator_path[AU_CLNF_PATH_MAX];          /* "" when no DetectionValidator line */
    char face_det_conversion_path[AU_CLNF_PATH_MAX]; /* "" when no FaceDetConversion line */
    AuMat face_det_conversion;                       /* AU_MAT_F64 as read; empty when no line */
};

/* Loads main_txt_path and everything it names except the validator. m need
 * not be initialised; on failure it is left zeroed and the message names the
 * file (and line or byte offset) at fault. */
AuStatus au_clnf_model_load(AuClnfModel *m, const char *main_txt_path, AuError *err);
void au_clnf_model_free(AuClnfModel *m);

/* The CCNF file whose sigma components OpenFace uses for every scale: the last
 * one read (Patch_experts keeps only the last file's). NULL if no scale. */
const AuCcnf *au_clnf_sigma_source(const AuClnfModel *m);

#endif
