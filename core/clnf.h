/* CLNF landmark fitting as OpenFace 2.2 does it
 * (lib/local/LandmarkDetector/src/LandmarkDetectorModel.cpp and
 * Patch_experts.cpp):
 *
 *   au_clnf_detect_landmarks  = CLNF::DetectLandmarks without the validator:
 *                               Fit, then the hierarchical part models
 *                               (inner face, eyes) and a PDM re-fit of the
 *                               merged points;
 *   au_clnf_fit               = CLNF::Fit: for each scale with a non-zero
 *                               window, the patch responses, then a rigid and
 *                               a non-rigid NU-RLMS pass, with OpenFace's
 *                               per-scale reg_factor / sigma / weight_factor;
 *   au_clnf_response          = Patch_experts::Response: reference shape,
 *                               image <-> reference similarity, each visible
 *                               landmark's area of interest warped and fed
 *                               to its CCNF expert;
 *   au_clnf_nu_rlms           = CLNF::NU_RLMS: regularised Gauss-Newton on
 *                               the KDE mean shifts.
 *
 * Precision follows OpenFace: float parameters and shapes; OpenCV's own
 * kernels for the small matrix products (double accumulation), OpenBLAS
 * sgemm for the Hessian (same call as OpenFace), OpenCV's float Cholesky
 * for the solve.
 *
 * An AuClnf is the per-tracker state of one CLNF model and its parts (what
 * OpenFace keeps in a CLNF object: parameters, landmarks, likelihoods, the
 * KDE tables) plus every workspace the fit needs, allocated at init; fitting
 * allocates nothing except a KDE table the first time a window size is used
 * (as OpenFace). The model is read-only and may be shared between AuClnf
 * instances on several threads once its Sigmas are prepared
 * (au_clnf_prepare_sigmas). */
#ifndef AU_CLNF_H
#define AU_CLNF_H

#include "ccnf_response.h"
#include "clnf_model.h"
#include "dsp.h"
#include "error.h"
#include "image.h"
#include "mean_shift.h"
#include "profile.h"

/* Largest response window the fit accepts (OpenFace's models use 3..11). */
#define AU_CLNF_MAX_WINDOW 21

/* Per-scale fitting values (OpenFace's tmp_parameters in CLNF::Fit). */
typedef struct AuClnfScaleParams {
    float reg_factor;
    float sigma;
    float weight_factor;
} AuClnfScaleParams;

/* What one NU_RLMS pass did; given to the pass hook and returned by
 * au_clnf_nu_rlms. */
typedef struct AuClnfPassInfo {
    const char *model_name; /* "main" or the part's name */
    int scale, window, view;
    double patch_scaling;
    AuClnfScaleParams sp;
    int rigid;
    int iters;      /* parameter updates done (at most num_optimisation_iteration) */
    int early_stop; /* 1 if the loop ended because the shape moved < 0.01 */
    int has_loglhood;
    float loglhood; /* when has_loglhood */
    const float *params_global; /* 6, after the pass */
    const float *params_local;  /* m */
    int n_points, n_modes;
} AuClnfPassInfo;

/* One NU_RLMS iteration; given to the iteration hook. */
typedef struct AuClnfIterInfo {
    const char *model_name;
    int scale, rigid, compute_lhood, iter;
    double shape_change; /* L2 distance to the previous iteration's shape; NAN at iteration 0 */
    int stopped;         /* 1: this call only records that the loop stopped (nothing else valid) */
    int n_points, n_params;
    const float *dxs, *dys; /* n: positions in the response windows */
    const float *ms_ref;    /* 2n: KDE mean shifts, reference frame (x then y) */
    const float *ms_img;    /* 2n: in the image frame, invisible landmarks zeroed */
    const float *update;    /* n_params (6 rigid, 6 + m non-rigid) */
    const float *params_global; /* 6, after the update and clamp */
    const float *params_local;  /* m */
} AuClnfIterInfo;

/* Optional observers (tests, diagnostics). Called synchronously. */
typedef struct AuClnfHooks {
    void *user;
    void (*on_iteration)(void *user, const AuClnfIterInfo *info);
    void (*on_pass)(void *user, const AuClnfPassInfo *info);
    /* At the entry of au_clnf_fit, with the parameters it starts from. */
    void (*on_fit_start)(void *user, const char *model_name, const float *params_global, const float *params_local,
                         int n_modes);
} AuClnfHooks;

/* The responses of one scale (Patch_experts::Response output). */
typedef struct AuClnfResponses {
    int window, scale, view;
    float sim_img_to_ref[4]; /* 2x2 row-major */
    float sim_ref_to_img[4];
    const float *const *maps; /* n pointers, window x window each; NULL when invisible */
    const int *visible;       /* n flags of the view */
} AuClnfResponses;

typedef struct AuClnfWork AuClnfWork; /* private workspaces */

typedef struct AuClnf AuClnf;
struct AuClnf {
    const AuClnfModel *model;
    char name[AU_CLNF_PART_NAME_MAX]; /* "main" or the part's name (in hook records) */
    const AuDsp *dsp;
    AuProfile *profile; /* optional stage timing (NULL = off) */
    AuClnfHooks hooks;
    int n, m; /* points, modes */

    /* State, as OpenFace's CLNF members. */
    float params_global[6]; /* scale, rx, ry, rz, tx, ty */
    float *params_local;    /* m */
    float *landmarks;       /* 2n: detected_landmarks, all x then all y */
    float *landmark_likelihoods; /* n: from the last likelihood pass (-1e8 for invisible) */
    float model_likelihood;
    int view_used;
    int parts_used; /* the last au_clnf_detect_landmarks fitted at least one part */

    /* Part models (model->n_parts), with their OpenFace parameters. */
    AuClnf *parts;
    AuClnfParams *part_params;

    AuKdeTable kde[AU_CLNF_MAX_WINDOW + 1]; /* OpenFace's kde_resp_precalc, by window size */
    AuClnfWork *work;
    /* When set (au_clnf_set_gray8), the areas of interest are sampled from
     * this 8-bit image (dsp->warp_affine_gray_f32: the same values) and the
     * float image passed to the fits is not read. */
    const AuImageU8 *gray8;
};

/* Sets (or, with NULL, clears) the 8-bit source of c and its parts. */
void au_clnf_set_gray8(AuClnf *c, const AuImageU8 *gray8);

/* Computes and caches, in model and its parts, every CCNF Sigma the given
 * parameters can ask for (each scale's window of window_sizes_init, _small
 * and _current; the parts' own windows). Call once after loading, before
 * sharing the model; fitting needs them. */
AuStatus au_clnf_prepare_sigmas(AuClnfModel *model, const AuClnfParams *params, AuError *err);

/* Sets up the state and workspaces for model (and its parts). c need not be
 * initialised; on failure it is left zeroed. dsp: the kernel table to use
 * (NULL = C reference). The state starts as OpenFace's CLNF constructor
 * leaves it: params_global (1,0,0,0,0,0), params_local 0, landmarks 0,
 * model_likelihood -10. */
AuStatus au_clnf_init(AuClnf *c, const AuClnfModel *model, const AuDsp *dsp, AuError *err);
/* Frees an initialised, zeroed or partially initialised context; leaves it zeroed. */
void au_clnf_free(AuClnf *c);
/* Sets the hooks of c and all its parts. */
void au_clnf_set_hooks(AuClnf *c, const AuClnfHooks *hooks);
/* Sets the stage-timing profile of c (NULL = off). The part models' time,
 * responses included, is counted as AU_STAGE_PARTS only. */
void au_clnf_set_profile(AuClnf *c, AuProfile *profile);

/* Sets the parameters (local may be NULL = zeros) and recomputes landmarks. */
void au_clnf_set_params(AuClnf *c, const float global[6], const float *local);

/* The scale-adapted parameters CLNF::Fit uses at scale (refine_parameters),
 * or params' own values when refine_parameters is off. */
AuClnfScaleParams au_clnf_scale_params(const AuClnf *c, const AuClnfParams *params, int scale);

/* Patch_experts::Response at the current parameters: the view, similarity
 * transforms and the response map of every visible landmark at window
 * size `window` and scale `scale`. The maps live in c's workspace until the
 * next call. */
AuStatus au_clnf_response(AuClnf *c, const AuImageF32 *gray, int window, int scale, AuClnfResponses *out,
                          AuError *err);

/* CLNF::NU_RLMS: one rigid or non-rigid pass from (global, local) on the
 * responses r, around base_shape (2n: the shape the responses were computed
 * at). Updates global and local in place. info (optional) receives the pass
 * summary; the likelihoods go to c->landmark_likelihoods when
 * compute_lhood. */
AuStatus au_clnf_nu_rlms(AuClnf *c, const AuClnfResponses *r, const float *base_shape, int rigid, int compute_lhood,
                         const AuClnfParams *params, const AuClnfScaleParams *sp, float global[6], float *local,
                         AuClnfPassInfo *info, AuError *err);

/* CLNF::Fit on the float gray image (values 0..255) from the current
 * parameters with the given window sizes (one per scale, 0 = skip; n_windows
 * may be shorter or longer than the model's scales). *fit_success = 0 when
 * the face scale falls below 0.25 (OpenFace's "face too small"). Landmarks
 * are recomputed from the fitted parameters. */
AuStatus au_clnf_fit(AuClnf *c, const AuImageF32 *gray, const int *window_sizes, int n_windows,
                     const AuClnfParams *params, int *fit_success, AuError *err);

/* CLNF::DetectLandmarks up to the validator: Fit with
 * params->window_sizes_current, landmarks, and when
 * params->refine_hierarchical the part models (each part fitted when the
 * face scale exceeds 0.9 x its first patch scaling, from CalcParams of the
 * main landmarks mapped to it; then the parts' points overwrite the main
 * ones in part order and the main parameters are a CalcParams of the merged
 * points). *fit_success as from au_clnf_fit. Validation
 * (params->validate_detections) is the caller's. */
AuStatus au_clnf_detect_landmarks(AuClnf *c, const AuImageF32 *gray, const AuClnfParams *params, int *fit_success,
                                  AuError *err);

#endif
