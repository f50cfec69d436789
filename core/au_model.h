/* OpenFace's Action Unit models, loaded as its FaceAnalyser::Read does.
 *
 * The entry point is a top-level file such as AU_predictors/main_dynamic_svms.txt
 * (OpenFace's video default) or main_static_svms.txt (its image default). Each line
 * is "<Module> <relative path>":
 *   AUPredictor   a list of AU model files (AU_all_best.txt / AU_all_static.txt),
 *                 one "<relative .dat path> <AU name>" per line
 *   PDM           the PDM used for the geometry descriptor (In-the-wild_aligned_PDM_68.txt)
 *   Triangulation the mask triangulation of the aligned face (tris_68_full.txt)
 * Paths are relative to the folder of the file that names them.
 *
 * Each .dat starts with an int32 regressor type and is added to one of four groups
 * (OpenFace's AU_SVR_static_appearance_lin_regressors, ..._dynamic_..., AU_SVM_static_
 * appearance_lin, AU_SVM_dynamic_appearance_lin). All four are linear models on the
 * feature vector x = [HOG 4464 | geometry 238] (4702 values for the shipped models):
 *   score = (x - means [- running median for dynamic models]) . weights + bias
 * SVR scores are AU intensities; an SVM outputs pos_class when score > 0, else
 * neg_class. OpenFace orders its outputs by group: static models (in list order)
 * first, then dynamic ones; its CSV writer sorts names alphabetically. Both orders
 * are exposed here.
 *
 * All numbers are double: OpenFace reads them into cv::Mat_<double> and predicts in
 * double. The PDM and triangulation are only located here (their resolved paths);
 * their own loaders read them. */
#ifndef AU_AU_MODEL_H
#define AU_AU_MODEL_H

#include "error.h"

#define AU_AU_NAME_MAX 32
#define AU_AU_PATH_MAX 1024
/* How many AUPredictor lines one top-level file may have (OpenFace accumulates them). */
#define AU_AU_MAX_LISTS 8

/* The int32 at the start of each .dat: OpenFace's FaceAnalyser::RegressorType.
 * Types 2, 3, 6 and 7 exist in the enum but OpenFace never reads them. */
typedef enum AuAuRegressorType {
    AU_REGRESSOR_SVR_STATIC = 0,  /* SVR_appearance_static_linear */
    AU_REGRESSOR_SVR_DYNAMIC = 1, /* SVR_appearance_dynamic_linear: + cutoff */
    AU_REGRESSOR_SVM_STATIC = 4,  /* SVM_linear_stat: + pos/neg class */
    AU_REGRESSOR_SVM_DYNAMIC = 5, /* SVM_linear_dyn: + pos/neg class */
} AuAuRegressorType;

/* The four model groups, in the order OpenFace concatenates their outputs within
 * one kind (static before dynamic). */
typedef enum AuAuGroupId {
    AU_GROUP_SVR_STATIC = 0,
    AU_GROUP_SVR_DYNAMIC = 1,
    AU_GROUP_SVM_STATIC = 2,
    AU_GROUP_SVM_DYNAMIC = 3,
    AU_GROUP_COUNT = 4,
} AuAuGroupId;

/* One AU model (one .dat file). */
typedef struct AuAuModel {
    char name[AU_AU_NAME_MAX]; /* as written in the list file, e.g. "AU01" */
    AuAuRegressorType type;
    AuAuGroupId group;
    int dynamic;      /* 1: subtracts the person's running median (dynamic models) */
    int presence;     /* 1: SVM (presence), 0: SVR (intensity) */
    int feature_dim;  /* length of means and weights (4702 for the shipped models) */
    /* The group's means: OpenFace keeps the means of the first file read into a
     * group and only warns when a later file's differ; means_differ records that. */
    const double *means;
    const double *weights; /* the support vector, feature_dim values (row of the group's matrix) */
    double bias;
    /* Dynamic SVR only: the quantile of the person's sorted predictions that the
     * offline post-processing subtracts. -1 (OpenFace's "no cutoff") otherwise. */
    double cutoff;
    /* SVM only: value output for score > 0 and for score <= 0 (0 for SVR). */
    double pos_class, neg_class;
    int means_differ;            /* this file's means differ from the group's (> 1e-5) */
    char path[AU_AU_PATH_MAX];   /* resolved .dat path */
    int list_index;              /* which AUPredictor list named it (index into au_list_paths) */
    int list_line;               /* 1-based line in that list */
} AuAuModel;

/* A group's models in read order, with their weights in one contiguous matrix so a
 * prediction kernel can run one matrix-vector product per group as OpenFace does. */
typedef struct AuAuGroup {
    int count;
    int capacity;
    int feature_dim;
    double *means;   /* feature_dim: the first file's means */
    double *weights; /* count x feature_dim, row-major: row k = models[k].weights */
    AuAuModel *models;
} AuAuGroup;

typedef struct AuAuModels {
    char main_path[AU_AU_PATH_MAX];
    char au_list_paths[AU_AU_MAX_LISTS][AU_AU_PATH_MAX]; /* resolved AUPredictor lists */
    int n_au_lists;
    char pdm_path[AU_AU_PATH_MAX];           /* resolved PDM line (exists; not parsed here) */
    char triangulation_path[AU_AU_PATH_MAX]; /* resolved Triangulation line (exists; not parsed here) */
    AuAuGroup groups[AU_GROUP_COUNT];
    /* Alphabetical (CSV) order: *_sorted[k] is the OpenFace-order index of the k-th name. */
    int *intensity_sorted;
    int *presence_sorted;
} AuAuModels;

/* Loads everything main_svms_txt_path names. Errors name the file and line or byte
 * offset at fault; an error inside a listed file is prefixed with the list file and
 * line that named it. On failure m is left freed (zeroed). */
AuStatus au_au_models_load(AuAuModels *m, const char *main_svms_txt_path, AuError *err);
/* Frees a loaded, partially loaded or zeroed struct and zeroes it. */
void au_au_models_free(AuAuModels *m);

/* Intensity (SVR) models in OpenFace's output order: static group, then dynamic. */
int au_au_models_intensity_count(const AuAuModels *m);
const AuAuModel *au_au_models_intensity(const AuAuModels *m, int i);
const char *au_au_models_intensity_name(const AuAuModels *m, int i);
/* Presence (SVM) models in OpenFace's output order: static group, then dynamic. */
int au_au_models_presence_count(const AuAuModels *m);
const AuAuModel *au_au_models_presence(const AuAuModels *m, int i);
const char *au_au_models_presence_name(const AuAuModels *m, int i);
/* OpenFace-order index of the k-th AU in alphabetical (CSV column) order. */
int au_au_models_intensity_sorted_index(const AuAuModels *m, int k);
int au_au_models_presence_sorted_index(const AuAuModels *m, int k);
/* OpenFace-order index of the model with this name, or -1. */
int au_au_models_intensity_find(const AuAuModels *m, const char *name);
int au_au_models_presence_find(const AuAuModels *m, const char *name);
/* True when any model subtracts the running median (the dynamic set). */
int au_au_models_has_dynamic(const AuAuModels *m);

#endif
