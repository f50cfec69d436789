/* Per-frame AU prediction as OpenFace's FaceAnalyser does it: the geometry
 * descriptor, and the linear SVR (intensity) and SVM (presence) models of
 * au_model.h applied to the feature vector [HOG | geometry]
 * (FaceAnalyser::PredictCurrentAUs / PredictCurrentAUsClass and the Predict
 * functions of SVR_static_lin_regressors, SVR_dynamic_lin_regressors,
 * SVM_static_lin and SVM_dynamic_lin).
 *
 * Output order is OpenFace's: the static group's models in list order, then
 * the dynamic group's (au_au_models_intensity_name / _presence_name give the
 * names; au_au_models_*_sorted_index the CSV's alphabetical order).
 *
 * All arithmetic is double, as OpenFace's cv::Mat_<double>, in the summation
 * order of the code paths OpenFace ends up in (OpenCV 4.6's own GEMM for the
 * model scores; OpenBLAS 0.3.21's AVX-512 kernel for the geometry, see
 * au_predict.c), so results are bit-identical to the reference run's
 * (checked against the reference intermediates). */
#ifndef AU_AU_PREDICT_H
#define AU_AU_PREDICT_H

#include "au_model.h"
#include "error.h"
#include "pdm.h"

/* Length of the geometry descriptor for this PDM: 3n + m (238 for 68 points, 34 modes). */
int au_geom_descriptor_size(const AuPdm *pdm);

/* OpenFace's geometry descriptor of one frame (FaceAnalyser::AddNextFrame):
 * out[0 .. 3n-1] = princ_comp * params_local, computed in double from the
 * float PDM (X offsets of the n points, then Y, then Z), and
 * out[3n .. 3n+m-1] = params_local (m floats widened to double).
 * params_local == NULL gives the failed-frame descriptor, all zeros. */
void au_geom_descriptor(const AuPdm *pdm, const float *params_local, double *out);

/* Scores of one model group (au_model.h) on one feature vector:
 * scores[k] = (x - means [- median]) . weights_k + bias_k, with
 * x = [hog | geom] when the group's feature_dim is hog_len + geom_len, or
 * x = hog alone when it is hog_len (OpenFace's two Predict paths), and the
 * median [hog_median | geom_median] subtracted only when median is given.
 * work holds feature_dim doubles. Raw scores, before the SVMs' class mapping. */
void au_predict_group_scores(const AuAuGroup *g, const double *hog, int hog_len, const double *geom, int geom_len,
                             const double *hog_median, const double *geom_median, double *work, double *scores);

typedef struct AuDsp AuDsp;

/* Predicts every intensity and presence AU of a model set on one frame. */
typedef struct AuPredictor {
    const AuAuModels *models; /* not owned */
    int hog_len, geom_len;
    int n_intensity, n_presence;
    int max_dim;    /* largest group feature_dim */
    int max_group;  /* largest group count */
    double *work;   /* max_dim doubles */
    double *scores; /* max_group doubles */
    /* au_predictor_use_dsp: the table's vecmat_f64 on feature-major copies
     * of the weights (NULL: the plain loops) */
    const AuDsp *dsp;
    double *weights_fm[AU_GROUP_COUNT]; /* feature_dim x count, or NULL */
    float *weights_fm32[AU_GROUP_COUNT]; /* the same in float when the table has vecmat_f64_w32 */
} AuPredictor;

/* Checks that every group's feature_dim is hog_len or hog_len + geom_len
 * (OpenFace would fail inside OpenCV otherwise) and allocates the buffers. */
AuStatus au_predictor_init(AuPredictor *p, const AuAuModels *models, int hog_len, int geom_len, AuError *err);
/* Accepts a zeroed or partially initialised struct; leaves it zeroed. */
void au_predictor_free(AuPredictor *p);
/* Computes the groups' scores of more than one model with dsp->vecmat_f64
 * (the SIMD table's: bit-identical to the plain loop, see dsp.h) on
 * feature-major copies of the weights made here; with float_weights, on
 * float copies through dsp->vecmat_f64_w32 instead (not bit-exact; the fast
 * variants). dsp must outlive p. */
AuStatus au_predictor_use_dsp(AuPredictor *p, const AuDsp *dsp, int float_weights, AuError *err);

/* PredictCurrentAUs: n_intensity raw SVR outputs (unclipped), OpenFace order.
 * The dynamic group subtracts [hog_median | geom_median]. */
void au_predict_intensities(AuPredictor *p, const double *hog, const double *geom, const double *hog_median,
                            const double *geom_median, double *out);
/* PredictCurrentAUsClass: n_presence values, each the model's pos_class when
 * its score is > 0, else its neg_class (1 / 0 for the shipped models). */
void au_predict_presences(AuPredictor *p, const double *hog, const double *geom, const double *hog_median,
                          const double *geom_median, double *out);

#endif
