#include "ccnf_response.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Limits that keep every size computation far from overflow. */
#define MAX_WINDOW 64
#define MAX_PATCH (64 * 64)
#define MAX_NEURONS 1024

/* Sub-buffers start on 64-byte boundaries (16 floats), for SIMD kernels. */
#define ALIGN_FLOATS 16
#define ALIGN_BYTES 64

static size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

AuStatus au_ccnf_workspace_init(AuCcnfWorkspace *ws, int max_window, int max_patch_w, int max_patch_h,
                                int max_neurons, AuError *err)
{
    memset(ws, 0, sizeof(*ws));
    if (max_window < 1 || max_window > MAX_WINDOW)
        return au_error_set(err, AU_ERR_ARG, "CCNF workspace: window %d out of range 1..%d", max_window, MAX_WINDOW);
    if (max_patch_w < 1 || max_patch_h < 1 || max_patch_w * max_patch_h > MAX_PATCH)
        return au_error_set(err, AU_ERR_ARG, "CCNF workspace: patch %dx%d out of range (at most %d pixels)",
                            max_patch_w, max_patch_h, MAX_PATCH);
    if (max_neurons < 1 || max_neurons > MAX_NEURONS)
        return au_error_set(err, AU_ERR_ARG, "CCNF workspace: %d neurons out of range 1..%d", max_neurons,
                            MAX_NEURONS);
    size_t n_pos = (size_t)max_window * (size_t)max_window;
    size_t patch = (size_t)max_patch_w * (size_t)max_patch_h;
    size_t sz_im2col = round_up((1 + patch) * n_pos, ALIGN_FLOATS);
    size_t sz_pre = round_up((size_t)max_neurons * n_pos, ALIGN_FLOATS);
    size_t sz_vec = round_up(n_pos, ALIGN_FLOATS);
    size_t sz_scratch =
        round_up(au_dsp_ccnf_scratch_floats(max_patch_w, max_patch_h, max_window, max_window), ALIGN_FLOATS);
    size_t total = (sz_im2col + sz_pre + 2 * sz_vec + sz_scratch) * sizeof(float);
    float *block = aligned_alloc(ALIGN_BYTES, round_up(total, ALIGN_BYTES));
    if (!block)
        return au_error_set(err, AU_ERR_NOMEM, "CCNF workspace: cannot allocate %zu bytes", total);
    ws->block = block;
    ws->im2col = block;
    ws->pre = ws->im2col + sz_im2col;
    ws->acc = ws->pre + sz_pre;
    ws->vec = ws->acc + sz_vec;
    ws->scratch = ws->vec + sz_vec;
    ws->max_patch_w = max_patch_w;
    ws->max_patch_h = max_patch_h;
    ws->max_window = max_window;
    ws->max_neurons = max_neurons;
    return AU_OK;
}

AuStatus au_ccnf_workspace_init_for(AuCcnfWorkspace *ws, const AuCcnf *scales, int n_scales, int max_window,
                                    AuError *err)
{
    int pw = 1, ph = 1, neurons = 1;
    for (int s = 0; s < n_scales; s++) {
        const AuCcnf *c = &scales[s];
        size_t n = (size_t)c->n_views * (size_t)c->n_points;
        for (size_t i = 0; i < n; i++) {
            const AuCcnfExpert *e = &c->experts[i];
            if (e->n_neurons == 0)
                continue;
            if (e->width > pw)
                pw = e->width;
            if (e->height > ph)
                ph = e->height;
            if (e->n_neurons > neurons)
                neurons = e->n_neurons;
        }
    }
    return au_ccnf_workspace_init(ws, max_window, pw, ph, neurons, err);
}

void au_ccnf_workspace_free(AuCcnfWorkspace *ws)
{
    if (!ws)
        return;
    free(ws->block);
    memset(ws, 0, sizeof(*ws));
}

AuStatus au_ccnf_response(const AuDsp *dsp, AuCcnfWorkspace *ws, const AuCcnfExpert *e, const float *sigma,
                          const float *aoi, ptrdiff_t aoi_stride, int window, float *response, AuError *err)
{
    if (window < 1 || window > ws->max_window)
        return au_error_set(err, AU_ERR_ARG, "CCNF response: window %d out of the workspace's range 1..%d", window,
                            ws->max_window);
    const int n_pos = window * window;
    if (e->n_neurons == 0) {
        /* ResponseOpenBlas on an empty expert: a zero map */
        memset(response, 0, (size_t)n_pos * sizeof(float));
        return AU_OK;
    }
    const int pw = e->width, ph = e->height, n_neurons = e->n_neurons;
    if (pw > ws->max_patch_w || ph > ws->max_patch_h || n_neurons > ws->max_neurons)
        return au_error_set(err, AU_ERR_ARG,
                            "CCNF response: a %dx%d expert with %d neurons exceeds the workspace (%dx%d, %d neurons)",
                            pw, ph, n_neurons, ws->max_patch_w, ws->max_patch_h, ws->max_neurons);
    if (aoi_stride < window + pw - 1)
        return au_error_set(err, AU_ERR_ARG, "CCNF response: AOI stride %td is below its width %d", aoi_stride,
                            window + pw - 1);
    if (!sigma) {
        const AuMat *cached = au_ccnf_expert_sigma(e, window);
        if (!cached)
            return au_error_set(err, AU_ERR_ARG, "CCNF response: no Sigma prepared for window %d", window);
        sigma = au_mat_f32(cached);
    }

    /* 1-3. im2col with contrast normalisation, the neurons' sgemm, the
     * alpha-weighted sigmoid sum (neurons in order, tiny alphas skipped): the
     * table's ccnf_neurons, OpenFace's ResponseOpenBlas in the C table. */
    double two_alpha[MAX_NEURONS];
    for (int i = 0; i < n_neurons; i++)
        two_alpha[i] = e->neurons[i].alpha > 1e-4 ? 2.0 * e->neurons[i].alpha : 0.0;
    const AuCcnfNeuronArgs args = {aoi,       aoi_stride, pw,     ph,      window,      window, au_mat_f32(&e->weight_matrix),
                                   two_alpha, n_neurons,  ws->im2col, ws->pre, ws->scratch, dsp};
    dsp->ccnf_neurons(ws->acc, &args);

    /* acc is x-major (position x * window + y); OpenFace transposes it to
     * the row-major map before the Sigma product. */
    for (int x = 0; x < window; x++)
        for (int y = 0; y < window; y++)
            ws->vec[y * window + x] = ws->acc[x * window + y];

    /* 4. response = Sigma * vec (ResponseOpenBlas's second sgemm in the C table) */
    dsp->ccnf_sigma_matvec(response, ws->vec, sigma, n_pos);

    /* 5. no negative responses: subtract the minimum when it is below 0 (in float) */
    float lo = response[0];
    for (int i = 1; i < n_pos; i++)
        if (response[i] < lo)
            lo = response[i];
    if (lo < 0.0f)
        for (int i = 0; i < n_pos; i++)
            response[i] -= lo;
    return AU_OK;
}

int au_ccnf_view_index(const AuCcnf *c, const float params_global[6])
{
    int idx = 0;
    float best = 0.0f;
    for (int i = 0; i < c->n_views; i++) {
        /* float = float - double in OpenFace: difference in double, then rounded */
        float v1 = (float)((double)params_global[1] - c->centers[i][0]);
        float v2 = (float)((double)params_global[2] - c->centers[i][1]);
        float v3 = (float)((double)params_global[3] - c->centers[i][2]);
        float d = v1 * v1 + v2 * v2 + v3 * v3;
        if (i == 0 || d < best) {
            best = d;
            idx = i;
        }
    }
    return idx;
}
