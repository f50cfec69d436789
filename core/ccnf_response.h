/* The response map of one CCNF patch expert, as OpenFace's
 * CCNF_patch_expert::ResponseOpenBlas computes it, and the view selection of
 * Patch_experts::GetViewIdx.
 *
 * Per landmark, Patch_experts::Response warps an area of interest (AOI) of
 * (window + height - 1) x (window + width - 1) float pixels around the
 * landmark into the reference frame (cv::warpAffine, done elsewhere) and
 * hands it to the expert of the current view. The expert then, all in float:
 *   1. im2col with per-patch contrast normalisation and a bias input
 *      (dsp->ccnf_im2col_norm), one column per response position;
 *   2. every neuron's pre-activation at once: one OpenBLAS sgemm of the
 *      weight matrix (bias and norm_weights folded in at load) with it;
 *   3. sum over neurons with alpha > 1e-4 of 2 alpha * sigmoid
 *      (dsp->ccnf_sigmoid_acc);
 *   4. multiplication by the expert's Sigma for the window (the CCNF's edge
 *      potentials), a second sgemm;
 *   5. if the minimum is negative, subtract it so that the map is >= 0.
 * Both sgemm calls have OpenFace's operand layout and arguments, so with the
 * same OpenBLAS build the results are bit-identical.
 *
 * Nothing is allocated per call: the scratch memory is an AuCcnfWorkspace,
 * one per thread. The model (AuCcnf, with its Sigmas prepared by
 * au_ccnf_prepare_sigmas) and the AuDsp table are read-only and shared. */
#ifndef AU_CCNF_RESPONSE_H
#define AU_CCNF_RESPONSE_H

#include <stddef.h>

#include "ccnf.h"
#include "dsp.h"
#include "error.h"

/* Scratch buffers for au_ccnf_response, sized for the largest window, patch
 * and neuron count it will be used with. One allocation, 64-byte aligned
 * sub-buffers. */
typedef struct AuCcnfWorkspace {
    int max_window;               /* largest response window (responses are window x window) */
    int max_patch_w, max_patch_h; /* largest expert width and height */
    int max_neurons;              /* largest number of neurons of an expert */
    float *im2col;  /* (1 + max_patch_w*max_patch_h) x max_window^2: normalised patches, a column per position */
    float *pre;     /* max_neurons x max_window^2: neuron pre-activations (sgemm output) */
    float *acc;     /* max_window^2: sigmoid sum, positions x-major as OpenFace's im2col */
    float *vec;     /* max_window^2: the same, row-major (y-major), fed to the Sigma product */
    float *scratch; /* au_dsp_ccnf_scratch_floats for the largest sizes: the im2col kernel's */
    void *block;    /* the allocation holding all of the above */
} AuCcnfWorkspace;

/* ws need not be initialised; on failure it is left zeroed. */
AuStatus au_ccnf_workspace_init(AuCcnfWorkspace *ws, int max_window, int max_patch_w, int max_patch_h,
                                int max_neurons, AuError *err);
/* A workspace for every expert of the n_scales CCNF files in scales and
 * windows up to max_window. */
AuStatus au_ccnf_workspace_init_for(AuCcnfWorkspace *ws, const AuCcnf *scales, int n_scales, int max_window,
                                    AuError *err);
/* Accepts a zeroed or failed workspace. */
void au_ccnf_workspace_free(AuCcnfWorkspace *ws);

/* AOI size OpenFace warps for an expert and a response window. */
static inline int au_ccnf_aoi_width(const AuCcnfExpert *e, int window) { return window + e->width - 1; }
static inline int au_ccnf_aoi_height(const AuCcnfExpert *e, int window) { return window + e->height - 1; }

/* The window x window response (row-major: element [i][j] is the response to
 * a displacement of (j - (window-1)/2, i - (window-1)/2) reference pixels) of
 * expert e to aoi, an au_ccnf_aoi_height x au_ccnf_aoi_width float image with
 * rows aoi_stride floats apart. sigma is the expert's window^2 x window^2
 * Sigma for this window (row-major); NULL takes the one cached in e by
 * au_ccnf_prepare_sigmas. An empty expert (invisible landmark) gives zeros,
 * as in OpenFace. Fails with AU_ERR_ARG when there is no Sigma, or the
 * window, the expert or aoi_stride do not fit the workspace. Thread-safe for
 * distinct workspaces. */
AuStatus au_ccnf_response(const AuDsp *dsp, AuCcnfWorkspace *ws, const AuCcnfExpert *e, const float *sigma,
                          const float *aoi, ptrdiff_t aoi_stride, int window, float *response, AuError *err);

/* Patch_experts::GetViewIdx: the view whose centre (pitch, yaw, roll) is
 * nearest, in squared Euclidean distance, to the rotation in
 * params_global = [scale, rx, ry, rz, tx, ty] (OpenFace's Vec6f; radians);
 * the first view on ties. Float arithmetic as OpenFace: each difference is
 * taken in double and rounded to float, the distance summed in float. */
int au_ccnf_view_index(const AuCcnf *c, const float params_global[6]);

#endif
