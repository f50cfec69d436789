/* The AU part of OpenFace's FaceAnalyser for one video (one person): feed
 * every frame's FHOG descriptor and PDM local parameters in order
 * (FaceAnalyser::AddNextFrame with online = false, as FeatureExtraction runs
 * on a video file), read the online AU values of each frame, and at the end
 * run the offline post-processing (FaceAnalyser::PostprocessOutputFile) to
 * get the values OpenFace writes to its CSV.
 *
 * Per frame: frames_tracking counts every frame; on odd counts the HOG and
 * geometry running medians are updated (a successful frame's descriptors are
 * added); the intensity and presence models predict from
 * [HOG | geometry] and, for the dynamic models, the current medians; failed
 * frames get 0 for every AU. The first 3000 successful frames' descriptors
 * are kept for the offline re-prediction (au_postprocess.h).
 *
 * Memory: the two running medians (27 MB, running_median.h), the stored
 * descriptors (up to 59 MB, au_postprocess.h), and per frame the online
 * values, success flag and timestamp (about 300 bytes a frame, as OpenFace
 * keeps them for the whole video).
 *
 * The HOG and params come from elsewhere: the similarity-aligned, masked
 * 112x112 face (AlignFaceMask) through au_fhog_run, and PDM CalcParams on the
 * detected landmarks with the AU models' PDM. */
#ifndef AU_FACE_ANALYSER_H
#define AU_FACE_ANALYSER_H

#include "au_model.h"
#include "au_postprocess.h"
#include "au_predict.h"
#include "error.h"
#include "pdm.h"
#include "running_median.h"

/* OpenFace's FHOG of the 112x112 aligned face: 12 x 12 cells x 31. */
#define AU_FACE_ANALYSER_HOG_LEN 4464

typedef struct AuFaceAnalyser {
    const AuAuModels *models; /* not owned */
    const AuPdm *pdm;         /* not owned */
    int dynamic;              /* OpenFace's FaceAnalyserParameters dynamic: offline re-prediction and offsets */
    int hog_len, geom_len;
    int n_intensity, n_presence;
    AuPredictor predictor;
    AuRunningMedian hog_median, geom_median;
    AuDescriptorStore store;
    int frames_tracking;      /* frames fed so far */
    int frames_tracking_succ; /* successful frames so far */
    int capacity;             /* frames the history arrays hold */
    double *intensity_hist;   /* frames_tracking x n_intensity, OpenFace order, online values (0 on failure) */
    double *presence_hist;    /* frames_tracking x n_presence */
    unsigned char *success;   /* frames_tracking flags */
    double *timestamps;       /* frames_tracking values */
    double *hog;              /* current frame's HOG as double */
    double *geom;             /* current frame's geometry descriptor */
} AuFaceAnalyser;

/* models: a loaded AU model set (main_dynamic_svms.txt for OpenFace's video
 * default); pdm: the PDM it names (AU_predictors/In-the-wild_aligned_PDM_68.txt);
 * dynamic: 1 as OpenFace's default, 0 as with -au_static (no re-prediction, no
 * offsets). Both must outlive the analyser. Fails when the models' feature
 * count is not 4464 or 4464 + geometry, or a dynamic SVR's cutoff is neither
 * -1 nor in [0, 1) (OpenFace would throw at the end of the video). */
AuStatus au_face_analyser_init(AuFaceAnalyser *fa, const AuAuModels *models, const AuPdm *pdm, int dynamic,
                               AuError *err);
/* Accepts a zeroed or partially initialised struct; leaves it zeroed. */
void au_face_analyser_free(AuFaceAnalyser *fa);
/* Starts a new video (OpenFace's FaceAnalyser::Reset), keeping allocations. */
void au_face_analyser_reset(AuFaceAnalyser *fa);

/* One frame. hog: AU_FACE_ANALYSER_HOG_LEN floats; params_local: pdm->n_modes
 * floats. On a failed frame (success 0) OpenFace computes the HOG of a black
 * aligned face, which is all zeros: pass that or NULL; params_local is
 * ignored (may be NULL). The HOG may still enter the running median on a
 * failed frame (see au_running_median_update). Fails (AU_ERR_ARG) when a
 * successful frame lacks hog or params_local, or when out of memory; the
 * analyser is then unchanged. */
AuStatus au_face_analyser_add_frame(AuFaceAnalyser *fa, const float *hog, const float *params_local, int success,
                                    double timestamp, AuError *err);

/* The last frame's online values in OpenFace's order (static models, then
 * dynamic; au_au_models_intensity_name / _presence_name): intensities are raw,
 * unclipped SVR outputs, presences pos/neg class values, all 0 on a failed
 * frame. This is what OpenFace passes to its recorder before post-processing.
 * NULL before the first frame. */
const double *au_face_analyser_online_intensities(const AuFaceAnalyser *fa);
const double *au_face_analyser_online_presences(const AuFaceAnalyser *fa);

/* The offline results, AUs in alphabetical order (the CSV's column order),
 * rows = frames: value [f * n + a]. */
typedef struct AuFaceAnalyserOutput {
    int n_frames;
    int n_intensity, n_presence;
    const char **intensity_names; /* n_intensity names ("AU01"), pointing into the models */
    const char **presence_names;
    unsigned char *success;       /* n_frames */
    double *timestamps;           /* n_frames */
    /* Intermediate stages, as the reference intermediates name them: */
    double *intensity_repredicted; /* au_offline_reg_repredicted */
    double *intensity_offsets;     /* au_offline_offsets: n_intensity values */
    double *intensity_shifted;     /* au_offline_reg_shifted */
    double *presence_repredicted;  /* au_offline_class_repredicted */
    /* Final values, what OpenFace's CSV holds (before its 2-decimal printing): */
    double *intensity;             /* au_offline_reg_final (the CSV's _r) */
    double *presence;              /* au_offline_class_final (the CSV's _c) */
} AuFaceAnalyserOutput;

/* OpenFace's PostprocessOutputFile on everything fed so far. The analyser is
 * left unchanged (finish may be called again, e.g. after more frames); out is
 * allocated here and freed with au_face_analyser_output_free. */
AuStatus au_face_analyser_finish(AuFaceAnalyser *fa, AuFaceAnalyserOutput *out, AuError *err);
void au_face_analyser_output_free(AuFaceAnalyserOutput *out);

#endif
