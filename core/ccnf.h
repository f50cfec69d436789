/* CCNF patch experts of one scale of a CLNF model, as OpenFace's
 * Patch_experts::Read_CCNF_patch_experts and CCNF_patch_expert::Read load them
 * from a binary file (named *.txt all the same).
 *
 * File layout (little-endian):
 *   f64 patch_scaling; i32 n_views;
 *   n_views x ReadMatBin view centre (3x1 f64, degrees: pitch, yaw, roll);
 *   n_views x ReadMatBin visibility (n x 1 i32, non-zero = visible);
 *   i32 n_windows; n_windows x { i32 window_size; i32 n_components;
 *                                n_components x ReadMatBin (ws^2 x ws^2 f32) };
 *   n_views x n experts, view-major: i32 5; i32 width; i32 height; i32 n_neurons;
 *     n_neurons == 0: i32 (unused) - an empty expert (landmark invisible there);
 *     else n_neurons x { i32 2; i32 neuron_type; f64 norm_weights; f64 bias;
 *                        f64 alpha; ReadMatBin weights (f32) },
 *          then (n_windows > 0 ? n_components of window 0 : 0) x f64 beta,
 *          then f64 patch_confidence.
 *
 * What OpenFace derives at load is derived here too: view centres in radians
 * and each expert's combined weight matrix. OpenFace computes the Sigma
 * matrices (CCNF_patch_expert::ComputeSigmas) lazily, at the first response
 * for a window size, from the sigma components of the LAST CCNF file the
 * model read (Patch_experts keeps only those). au_ccnf_compute_sigma is that
 * computation; au_ccnf_prepare_sigmas caches it per expert before a model is
 * shared read-only between threads. */
#ifndef AU_CCNF_H
#define AU_CCNF_H

#include "error.h"
#include "mat.h"

/* Window sizes whose Sigma one expert can cache (OpenFace's files have 4-6). */
#define AU_CCNF_MAX_SIGMAS 8

typedef struct AuCcnfNeuron {
    int neuron_type;     /* 0 = raw intensity (the only type OpenFace's CLNF uses) */
    double norm_weights; /* scaling of the weights */
    double bias;
    double alpha;        /* weight of this neuron in the CCNF; OpenFace skips alpha <= 1e-4 */
    AuMat weights;       /* AU_MAT_F32, height x width (rows x cols), as in the file */
} AuCcnfNeuron;

typedef struct AuCcnfExpert {
    int width, height;     /* support region of the expert (11 x 11 in OpenFace's models) */
    int n_neurons;         /* 0 = empty expert: the landmark is invisible in this view */
    AuCcnfNeuron *neurons;
    int n_betas;
    double *betas;         /* edge-potential weights, one per sigma component */
    double patch_confidence;
    /* OpenFace's weight_matrix, built at load: n_neurons x (1 + h*w) f32;
     * row i = [ (float)bias_i, weights_i^T flattened (column-major order of
     * weights_i) * (float)norm_weights_i ]. */
    AuMat weight_matrix;
    /* Cached Sigmas (OpenFace's window_sizes / Sigmas), see au_ccnf_prepare_sigmas. */
    int n_sigmas;
    int sigma_window[AU_CCNF_MAX_SIGMAS];
    AuMat sigma[AU_CCNF_MAX_SIGMAS]; /* AU_MAT_F32, ws^2 x ws^2 */
} AuCcnfExpert;

/* The similarity (edge) components for one response window size. */
typedef struct AuCcnfSigmaComponents {
    int window_size;
    int n_components;
    AuMat *components; /* AU_MAT_F32, ws^2 x ws^2 each */
} AuCcnfSigmaComponents;

typedef struct AuCcnf {
    double patch_scaling; /* reference-shape scale the experts were trained at */
    int n_views;
    int n_points;
    double (*centers)[3]; /* n_views view orientations in radians: (c * M_PI) * (1/180) as OpenCV's Vec3d ops */
    int *visibility;      /* n_views x n_points, view-major, as stored (non-zero = visible) */
    int n_windows;
    AuCcnfSigmaComponents *windows;
    AuCcnfExpert *experts; /* n_views x n_points, view-major */
} AuCcnf;

/* Loads one CCNF patch-expert file. c need not be initialised; on failure it
 * is left zeroed and the message names the file and byte offset. Rejected
 * beyond what OpenFace checks (files it would crash on or misread): wrong
 * matrix types or shapes, a visible landmark with an empty expert, neurons of
 * differing sizes or not matching the expert's width/height, window sizes that
 * differ in their number of sigma components. */
AuStatus au_ccnf_load(AuCcnf *c, const char *path, AuError *err);
void au_ccnf_free(AuCcnf *c);

static inline const AuCcnfExpert *au_ccnf_expert(const AuCcnf *c, int view, int point)
{
    return &c->experts[(size_t)view * (size_t)c->n_points + (size_t)point];
}

static inline int au_ccnf_visible(const AuCcnf *c, int view, int point)
{
    return c->visibility[(size_t)view * (size_t)c->n_points + (size_t)point] != 0;
}

/* OpenFace's look-up in Patch_experts::Response: the (last) window whose
 * components are non-empty and ws^2 rows; NULL when none (Sigma is then
 * computed without edge terms). */
const AuCcnfSigmaComponents *au_ccnf_find_sigma_components(const AuCcnf *c, int window_size);

/* CCNF_patch_expert::ComputeSigmas for one expert and window size, into out
 * (ws^2 x ws^2 floats, row-major): SigmaInv = 2 (sum(alpha) I + sum_b (float)beta_b C_b),
 * Sigma = inv(SigmaInv) as cv::invert(DECOMP_CHOLESKY) does it on OpenCV 4.6
 * with LAPACK: OpenCV's own float Cholesky below 100 rows, LAPACK sposv from
 * 100 rows (window 11 and up). A failed factorisation gives zeros, as in
 * OpenCV. comps may be NULL (no components). Fails with AU_ERR_ARG if the
 * expert is empty, comps do not fit window_size, or comps has more
 * components than the expert has betas. */
AuStatus au_ccnf_compute_sigma(const AuCcnfExpert *e, const AuCcnfSigmaComponents *comps, int window_size,
                               float *out, AuError *err);

/* Computes and caches the Sigma for window_size in every expert of c whose
 * landmark is visible in its view (those OpenFace computes) and that does not
 * have it yet, with the components that components_src (the
 * model's last CCNF scale, as in OpenFace) holds for that window. Call before
 * sharing the model between threads. */
AuStatus au_ccnf_prepare_sigmas(AuCcnf *c, const AuCcnf *components_src, int window_size, AuError *err);

/* The cached Sigma of an expert for a window size, or NULL. */
const AuMat *au_ccnf_expert_sigma(const AuCcnfExpert *e, int window_size);

#endif
