/* CLNF fitting, after OpenFace 2.2's CLNF::DetectLandmarks, CLNF::Fit,
 * CLNF::NU_RLMS, CLNF::GetWeightMatrix and Patch_experts::Response
 * (LandmarkDetectorModel.cpp, Patch_experts.cpp). Written from those
 * functions' behaviour; each numerical step keeps OpenFace's types and the
 * arithmetic of the OpenCV / OpenBLAS routine it calls:
 *   - shapes, parameters, Jacobians, mean shifts: float;
 *   - small products (offsets into the response windows, the mean shifts
 *     rotated back to the image, J^T W m, the regularisation of the
 *     right-hand side): OpenCV's own gemm kernel, double accumulation;
 *   - the Hessian J^T W J + reg: OpenBLAS sgemm with OpenFace's arguments;
 *   - the solve: cv::solve(DECOMP_CHOLESKY), OpenCV's float Cholesky;
 *   - the shape-change test: cv::norm (double);
 *   - per-scale parameters: double, stored as float. */
#include "clnf.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "imgproc.h"
#include "linalg.h"
#include "pdm.h"
#include "rotation.h"

/* Bit-exactness with OpenFace's build (SSE, no FMA) needs a*b+c rounded twice. */
#pragma GCC optimize("fp-contract=off")

/* The shape-change stop, in pixels (L2 over all 2n coordinates): OpenFace's
 * 0.01 unless a variant sets another (config.h); OpenFace's always for an
 * openface_fit (AuClnfParams). */
#define CLNF_SHAPE_CHANGE_STOP AU_CFG_SHAPE_CHANGE_STOP
#define OPENFACE_SHAPE_CHANGE_STOP 0.01

_Static_assert(AU_CFG_CLNF_ITERATIONS >= 1, "AU_CFG_CLNF_ITERATIONS must be at least 1");
_Static_assert(AU_CFG_FRAME_SKIP >= 1, "AU_CFG_FRAME_SKIP must be at least 1");

/* The response window a fit uses for OpenFace's window size `window`
 * (config.h, AU_CFG_SEARCH_RADIUS): the same at OpenFace's 1.5; else the
 * window nearest to window x AU_CFG_SEARCH_RADIUS / 1.5 (ties to the
 * smaller, never larger than window) among those the model's CCNF file has
 * Sigma components for, or among the odd sizes from 3 when its components
 * are empty (the eye models: there every window is alike). No candidate:
 * the window stays. variants/README.md tabulates the result. */
static int search_window(const AuClnfModel *m, int window, int openface_fit)
{
    const double ratio = (double)AU_CFG_SEARCH_RADIUS / 1.5;
    if (ratio == 1.0 || window <= 0 || openface_fit)
        return window;
    const AuCcnf *src = au_clnf_sigma_source(m);
    int with_components = 0;
    for (int k = 0; src && k < src->n_windows; k++)
        with_components |= src->windows[k].n_components > 0;
    const double want = (double)window * ratio;
    int best = window;
    double best_d = INFINITY;
    for (int w = 1; w <= window; w++) {
        int ok = 0;
        if (with_components) {
            for (int k = 0; k < src->n_windows; k++)
                ok |= src->windows[k].window_size == w && src->windows[k].n_components > 0;
        } else {
            ok = w >= 3 && w % 2 == 1;
        }
        const double d = fabs((double)w - want);
        if (ok && d < best_d) { /* w increases: a tie keeps the smaller */
            best = w;
            best_d = d;
        }
    }
    return best;
}

struct AuClnfWork {
    int max_aoi_w, max_aoi_h;
    float *resp;       /* n * max_window^2 */
    const float **maps; /* n */
    float *shape, *prev_shape, *base_shape, *ref_shape; /* 2n each */
    float *img2d, *ref2d; /* n x 2 interleaved */
    float *align_scratch; /* 4n */
    float *J;   /* 2n x (6+m) */
    float *Jwt; /* (6+m) x 2n */
    float *H;   /* (6+m)^2 */
    float *chol_scratch; /* (6+m)^2 */
    float *rhs, *upd;    /* 6+m */
    float *reg;          /* 6+m: diagonal of the regularisation */
    float *weights;      /* 2n: diagonal of the weight matrix */
    float *ms, *ms_img;  /* 2n */
    float *dxs, *dys;    /* n */
    float *diff;         /* 2n */
    float *shape3d;      /* 3n: scratch of the PDM shape routines */
    AuPdmWork pdmw;      /* scratch of PDM::CalcParams */
    float *part_locs;    /* 2 * (largest part n) */
    AuImageF32 aoi;
    AuCcnfWorkspace ccnf;
    AuDsp dsp_c; /* the C reference table when the caller gives none */
    void *block;
};

/* ------------------------------------------------------------------------ */
/* small helpers                                                             */

/* The workspace is one 64-byte-aligned block cut into arrays; the same
 * sequence of cuts first measures the block (base NULL), then assigns. */
typedef struct Carver {
    char *base;
    size_t off;
} Carver;

static void *carve(Carver *c, size_t bytes)
{
    void *r = c->base ? c->base + c->off : NULL;
    c->off += (bytes + 63) & ~(size_t)63;
    return r;
}

static float *carve_f(Carver *c, size_t count) { return carve(c, count * sizeof(float)); }

/* Matx22f::inv(DECOMP_LU): determinant in float, its reciprocal, four
 * products. A singular matrix gives zeros (OpenCV returns Matx::zeros()). */
static void inv2x2_f(const float a[4], float b[4])
{
    float d = a[0] * a[3] - a[1] * a[2];
    if (d == 0) {
        b[0] = b[1] = b[2] = b[3] = 0;
        return;
    }
    d = 1 / d;
    b[3] = a[0] * d;
    b[0] = a[3] * d;
    b[1] = -a[1] * d;
    b[2] = -a[2] * d;
}

/* (x, y) * S^T for each point with OpenCV's gemm kernel ("A * Bt", inner
 * dimension 2): each output the double sum of two exact products, rounded
 * to float. x and y are separate arrays of n; out likewise. */
static void transform_points_2x2(const float S[4], const float *x, const float *y, int n, float *ox, float *oy)
{
    for (int i = 0; i < n; i++) {
        double s0 = (double)x[i] * (double)S[0];
        s0 += (double)y[i] * (double)S[1];
        double s1 = (double)x[i] * (double)S[2];
        s1 += (double)y[i] * (double)S[3];
        ox[i] = (float)s0;
        oy[i] = (float)s1;
    }
}

/* ------------------------------------------------------------------------ */
/* sigmas, init, free                                                        */

/* The Sigmas of the windows a fit may use for these OpenFace windows: the
 * variant's (search_window), and OpenFace's own for openface_fit fits
 * (init: still images start from detections). */
static AuStatus prepare_model_windows(AuClnfModel *m, const int *windows, int n_windows, int init, AuError *err)
{
    const AuCcnf *src = au_clnf_sigma_source(m);
    for (int s = 0; s < m->n_scales && s < n_windows; s++)
        for (int openface = 0; openface <= init; openface++) {
            const int window = search_window(m, windows[s], openface);
            if (window <= 0)
                continue;
            AuStatus st = au_ccnf_prepare_sigmas(&m->scales[s], src, window, err);
            if (st)
                return au_error_prefix(err, "%s: scale %d, window %d: ", m->clnf_path, s, window);
        }
    return AU_OK;
}

AuStatus au_clnf_prepare_sigmas(AuClnfModel *model, const AuClnfParams *params, AuError *err)
{
    AuStatus st;
    if ((st = prepare_model_windows(model, params->window_sizes_init, params->n_window_sizes_init, 1, err)) ||
        (st = prepare_model_windows(model, params->window_sizes_small, params->n_window_sizes_small, 0, err)) ||
        (st = prepare_model_windows(model, params->window_sizes_current, params->n_window_sizes_current, 0, err)))
        return st;
    for (int p = 0; p < model->n_parts; p++) {
        const AuClnfParams *pp = &model->parts[p].params;
        AuClnfModel *pm = model->parts[p].model;
        /* CLNF::DetectLandmarks fits parts with their window_sizes_init */
        if ((st = prepare_model_windows(pm, pp->window_sizes_init, pp->n_window_sizes_init, 1, err)) ||
            (st = prepare_model_windows(pm, pp->window_sizes_current, pp->n_window_sizes_current, 0, err)))
            return st;
    }
    return AU_OK;
}

static int max_int(int a, int b) { return a > b ? a : b; }

static void work_free(AuClnfWork *w)
{
    if (!w)
        return;
    au_image_f32_free(&w->aoi);
    au_pdm_work_free(&w->pdmw);
    au_ccnf_workspace_free(&w->ccnf);
    free(w->block);
    free(w);
}

static AuStatus work_alloc(AuClnfWork **out, const AuClnfModel *model, AuError *err)
{
    *out = NULL;
    AuClnfWork *w = calloc(1, sizeof(*w));
    if (!w)
        return au_error_set(err, AU_ERR_NOMEM, "%s: out of memory for the fit workspace", model->main_path);
    const int n = model->pdm.n_points, m = model->pdm.n_modes, np = 6 + m;
    int max_part_n = 0;
    for (int p = 0; p < model->n_parts; p++)
        max_part_n = max_int(max_part_n, model->parts[p].model->pdm.n_points);
    int max_pw = 1, max_ph = 1;
    for (int s = 0; s < model->n_scales; s++)
        for (int e = 0; e < model->scales[s].n_views * model->scales[s].n_points; e++) {
            max_pw = max_int(max_pw, model->scales[s].experts[e].width);
            max_ph = max_int(max_ph, model->scales[s].experts[e].height);
        }
    w->max_aoi_w = AU_CLNF_MAX_WINDOW + max_pw - 1;
    w->max_aoi_h = AU_CLNF_MAX_WINDOW + max_ph - 1;

    const size_t nn = (size_t)n, wsq = (size_t)AU_CLNF_MAX_WINDOW * AU_CLNF_MAX_WINDOW;
    Carver cv = {NULL, 0};
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            cv.base = aligned_alloc(64, cv.off);
            if (!cv.base) {
                free(w);
                return au_error_set(err, AU_ERR_NOMEM, "%s: out of memory for the fit workspace",
                                    model->main_path);
            }
            memset(cv.base, 0, cv.off);
            w->block = cv.base;
            cv.off = 0;
        }
        w->resp = carve_f(&cv, nn * wsq);
        w->maps = carve(&cv, nn * sizeof(*w->maps));
        w->shape = carve_f(&cv, 2 * nn);
        w->prev_shape = carve_f(&cv, 2 * nn);
        w->base_shape = carve_f(&cv, 2 * nn);
        w->ref_shape = carve_f(&cv, 2 * nn);
        w->img2d = carve_f(&cv, 2 * nn);
        w->ref2d = carve_f(&cv, 2 * nn);
        w->align_scratch = carve_f(&cv, 4 * nn);
        w->J = carve_f(&cv, 2 * nn * (size_t)np);
        w->Jwt = carve_f(&cv, 2 * nn * (size_t)np);
        w->H = carve_f(&cv, (size_t)np * (size_t)np);
        w->chol_scratch = carve_f(&cv, (size_t)np * (size_t)np);
        w->rhs = carve_f(&cv, (size_t)np);
        w->upd = carve_f(&cv, (size_t)np);
        w->reg = carve_f(&cv, (size_t)np);
        w->weights = carve_f(&cv, 2 * nn);
        w->ms = carve_f(&cv, 2 * nn);
        w->ms_img = carve_f(&cv, 2 * nn);
        w->dxs = carve_f(&cv, nn);
        w->dys = carve_f(&cv, nn);
        w->diff = carve_f(&cv, 2 * nn);
        w->shape3d = carve_f(&cv, 3 * nn);
        w->part_locs = carve_f(&cv, 2 * (size_t)max_part_n + 2);
    }

    AuStatus st = au_image_f32_alloc(&w->aoi, w->max_aoi_w, w->max_aoi_h, err);
    if (!st)
        st = au_pdm_work_init(&w->pdmw, &model->pdm, err);
    if (!st)
        st = au_ccnf_workspace_init_for(&w->ccnf, model->scales, model->n_scales, AU_CLNF_MAX_WINDOW, err);
    if (st) {
        work_free(w);
        return au_error_prefix(err, "%s: ", model->main_path);
    }
    *out = w;
    return AU_OK;
}

void au_clnf_free(AuClnf *c)
{
    if (!c)
        return;
    if (c->parts) {
        for (int p = 0; c->model && p < c->model->n_parts; p++)
            au_clnf_free(&c->parts[p]);
        free(c->parts);
    }
    free(c->part_params);
    for (int w = 0; w <= AU_CLNF_MAX_WINDOW; w++)
        au_kde_table_free(&c->kde[w]);
    work_free(c->work);
    free(c->params_local);
    free(c->landmarks);
    free(c->landmark_likelihoods);
    memset(c, 0, sizeof(*c));
}

void au_clnf_set_params(AuClnf *c, const float global[6], const float *local)
{
    memcpy(c->params_global, global, 6 * sizeof(float));
    if (local)
        memcpy(c->params_local, local, (size_t)c->m * sizeof(float));
    else
        memset(c->params_local, 0, (size_t)c->m * sizeof(float));
    au_pdm_shape2d(&c->model->pdm, c->params_local, c->params_global, c->landmarks, c->work->shape3d);
}

AuStatus au_clnf_init(AuClnf *c, const AuClnfModel *model, const AuDsp *dsp, AuError *err)
{
    memset(c, 0, sizeof(*c));
    if (!model || model->n_scales < 1 || model->pdm.n_points < 1)
        return au_error_set(err, AU_ERR_ARG, "CLNF fit: model not loaded");
    for (int s = 0; s < model->n_scales; s++)
        if (model->scales[s].n_points != model->pdm.n_points)
            return au_error_set(err, AU_ERR_ARG, "%s: scale %d has %d experts per view, the PDM %d points",
                                model->clnf_path, s, model->scales[s].n_points, model->pdm.n_points);
    c->model = model;
    c->n = model->pdm.n_points;
    c->m = model->pdm.n_modes;
    snprintf(c->name, sizeof(c->name), "main");
    AuStatus st = AU_OK;
    c->params_local = calloc((size_t)c->m + 1, sizeof(float));
    c->landmarks = calloc(2 * (size_t)c->n, sizeof(float));
    c->landmark_likelihoods = calloc((size_t)c->n, sizeof(float));
    if (!c->params_local || !c->landmarks || !c->landmark_likelihoods) {
        st = au_error_set(err, AU_ERR_NOMEM, "%s: out of memory", model->main_path);
        goto fail;
    }
    if ((st = work_alloc(&c->work, model, err)))
        goto fail;
    if (dsp) {
        c->dsp = dsp;
        c->work->pdmw.dsp = dsp; /* CalcParams' steps through the same table */
    } else {
        au_dsp_init_c(&c->work->dsp_c);
        c->dsp = &c->work->dsp_c;
    }
    /* CLNF::Read / Reset: the state a fresh model starts from */
    c->params_global[0] = 1;
    c->model_likelihood = -10;
    if (model->n_parts > 0) {
        c->parts = calloc((size_t)model->n_parts, sizeof(*c->parts));
        c->part_params = calloc((size_t)model->n_parts, sizeof(*c->part_params));
        if (!c->parts || !c->part_params) {
            st = au_error_set(err, AU_ERR_NOMEM, "%s: out of memory", model->main_path);
            goto fail;
        }
        for (int p = 0; p < model->n_parts; p++) {
            const AuClnfPart *part = &model->parts[p];
            for (int k = 0; k < part->n_map; k++)
                if (part->map[k].main_index < 0 || part->map[k].main_index >= c->n || part->map[k].part_index < 0 ||
                    part->map[k].part_index >= part->model->pdm.n_points) {
                    st = au_error_set(err, AU_ERR_ARG, "%s: part %s maps point %d to %d, out of range",
                                      model->main_path, part->name, part->map[k].main_index,
                                      part->map[k].part_index);
                    goto fail;
                }
            if ((st = au_clnf_init(&c->parts[p], part->model, dsp, err))) {
                au_error_prefix(err, "part %s: ", part->name);
                goto fail;
            }
            snprintf(c->parts[p].name, sizeof(c->parts[p].name), "%s", part->name);
            c->part_params[p] = part->params;
        }
    }
    return AU_OK;
fail:
    au_clnf_free(c);
    return st;
}

void au_clnf_set_hooks(AuClnf *c, const AuClnfHooks *hooks)
{
    if (hooks)
        c->hooks = *hooks;
    else
        memset(&c->hooks, 0, sizeof(c->hooks));
    for (int p = 0; c->parts && p < c->model->n_parts; p++)
        au_clnf_set_hooks(&c->parts[p], hooks);
}

void au_clnf_set_profile(AuClnf *c, AuProfile *profile)
{
    /* The parts' whole time goes to AU_STAGE_PARTS (stages do not overlap),
     * so the parts themselves do not count their responses and updates. */
    c->profile = profile;
    for (int p = 0; c->parts && p < c->model->n_parts; p++)
        au_clnf_set_profile(&c->parts[p], NULL);
}

/* ------------------------------------------------------------------------ */
/* per-scale parameters                                                      */

AuClnfScaleParams au_clnf_scale_params(const AuClnf *c, const AuClnfParams *params, int scale)
{
    AuClnfScaleParams sp = {params->reg_factor, params->sigma, params->weight_factor};
    if (!params->refine_parameters)
        return sp;
    int scale_max = scale >= 2 ? 2 : scale;
    if (scale_max >= c->model->n_scales)
        scale_max = c->model->n_scales - 1;
    /* OpenFace: float members, double expressions (log of the double patch scaling) */
    const double l = log(c->model->scales[scale_max].patch_scaling / 0.25) / log(2.0);
    sp.reg_factor = (float)((double)params->reg_factor - 15 * l);
    if (sp.reg_factor <= 0)
        sp.reg_factor = 0.001f;
    sp.sigma = (float)((double)params->sigma + 0.25 * l);
    sp.weight_factor = (float)((double)params->weight_factor + 2 * (double)params->weight_factor * l);
    return sp;
}

/* ------------------------------------------------------------------------ */
/* Patch_experts::Response                                                   */

AuStatus au_clnf_response(AuClnf *c, const AuImageF32 *gray, int window, int scale, AuClnfResponses *out,
                          AuError *err)
{
    AuClnfWork *w = c->work;
    const AuClnfModel *model = c->model;
    const int n = c->n;
    if (scale < 0 || scale >= model->n_scales)
        return au_error_set(err, AU_ERR_ARG, "%s: scale %d out of range (%d scales)", model->main_path, scale,
                            model->n_scales);
    if (window < 1 || window > AU_CLNF_MAX_WINDOW)
        return au_error_set(err, AU_ERR_ARG, "%s: window size %d out of range 1..%d", model->main_path, window,
                            AU_CLNF_MAX_WINDOW);
    uint64_t t0 = c->profile ? au_profile_now_ns() : 0;
    const AuCcnf *ccnf = &model->scales[scale];
    const int view = au_ccnf_view_index(ccnf, c->params_global);

    /* current landmarks and the reference shape at the experts' scale */
    float *lmk = w->base_shape;
    au_pdm_shape2d(&model->pdm, c->params_local, c->params_global, lmk, w->shape3d);
    const float ref_global[6] = {(float)ccnf->patch_scaling, 0, 0, 0, 0, 0};
    au_pdm_shape2d(&model->pdm, c->params_local, ref_global, w->ref_shape, w->shape3d);
    for (int i = 0; i < n; i++) {
        w->img2d[2 * i] = lmk[i];
        w->img2d[2 * i + 1] = lmk[i + n];
        w->ref2d[2 * i] = w->ref_shape[i];
        w->ref2d[2 * i + 1] = w->ref_shape[i + n];
    }
    au_align_with_scale_f(w->img2d, w->ref2d, n, out->sim_img_to_ref, w->align_scratch);
    inv2x2_f(out->sim_img_to_ref, out->sim_ref_to_img);
    const float a1 = out->sim_ref_to_img[0];
    const float b1 = -out->sim_ref_to_img[1];

    const int *vis = ccnf->visibility + (size_t)view * (size_t)n;
    const size_t wsq = (size_t)window * (size_t)window;
    for (int i = 0; i < n; i++) {
        w->maps[i] = NULL;
        if (!vis[i])
            continue;
        const AuCcnfExpert *e = au_ccnf_expert(ccnf, view, i);
        const int aoi_w = au_ccnf_aoi_width(e, window), aoi_h = au_ccnf_aoi_height(e, window);
        if (aoi_w > w->max_aoi_w || aoi_h > w->max_aoi_h)
            return au_error_set(err, AU_ERR_ARG, "%s: area of interest %dx%d exceeds the workspace",
                                model->main_path, aoi_w, aoi_h);
        /* OpenFace's float expression, with the width used for both offsets */
        const float ca = a1 * ((float)aoi_w - 1.0f) / 2.0f;
        const float cb = b1 * ((float)aoi_w - 1.0f) / 2.0f;
        const double M[6] = {a1, -b1, lmk[i] - ca + cb, b1, a1, lmk[i + n] - ca - cb};
        AuImageF32 aoi = w->aoi;
        aoi.width = aoi_w;
        aoi.height = aoi_h;
        AuStatus st = c->gray8 ? c->dsp->warp_affine_gray_f32(c->gray8, &aoi, M, err)
                               : c->dsp->warp_affine_f32(gray, &aoi, M, err);
        if (st)
            return au_error_prefix(err, "%s: landmark %d: ", model->main_path, i);
        float *r = w->resp + (size_t)i * wsq;
        st = au_ccnf_response(c->dsp, &w->ccnf, e, NULL, aoi.data, (ptrdiff_t)aoi.stride, window, r, err);
        if (st)
            return au_error_prefix(err, "%s: scale %d, view %d, landmark %d: ", model->main_path, scale, view, i);
        w->maps[i] = r;
    }
    out->window = window;
    out->scale = scale;
    out->view = view;
    out->maps = w->maps;
    out->visible = vis;
    if (c->profile)
        au_profile_add(c->profile, AU_STAGE_RESPONSE, t0);
    return AU_OK;
}

/* ------------------------------------------------------------------------ */
/* CLNF::NU_RLMS                                                             */

static const AuKdeTable *kde_table(AuClnf *c, int window, float sigma, AuError *err)
{
    AuKdeTable *t = &c->kde[window];
    /* OpenFace caches the table by window size only: the sigma of its first
     * use stays (its models use each window with one sigma). */
    if (!t->values && au_kde_table_build(t, window, au_kde_a_from_sigma(sigma), err))
        return NULL;
    return t;
}

AuStatus au_clnf_nu_rlms(AuClnf *c, const AuClnfResponses *r, const float *base_shape, int rigid, int compute_lhood,
                         const AuClnfParams *params, const AuClnfScaleParams *sp, float global[6], float *local,
                         AuClnfPassInfo *info, AuError *err)
{
    AuClnfWork *w = c->work;
    const AuClnfModel *model = c->model;
    const AuPdm *pdm = &model->pdm;
    const int n = c->n, m = c->m, np = rigid ? 6 : 6 + m, nn2 = 2 * n;
    const int window = r->window;
    if (window < 1 || window > AU_CLNF_MAX_WINDOW)
        return au_error_set(err, AU_ERR_ARG, "%s: window size %d out of range 1..%d", model->main_path, window,
                            AU_CLNF_MAX_WINDOW);
    if (r->scale < 0 || r->scale >= model->n_scales || r->view < 0 || r->view >= model->scales[r->scale].n_views)
        return au_error_set(err, AU_ERR_ARG, "%s: scale %d / view %d out of range", model->main_path, r->scale,
                            r->view);
    if (params->num_optimisation_iteration < 1)
        return au_error_set(err, AU_ERR_ARG, "%s: num_optimisation_iteration %d < 1", model->main_path,
                            params->num_optimisation_iteration);
    /* OpenFace's count, capped by the variant's (config.h) */
    const int max_iter = params->num_optimisation_iteration < AU_CFG_CLNF_ITERATIONS || params->openface_fit
                             ? params->num_optimisation_iteration
                             : AU_CFG_CLNF_ITERATIONS;
    const double shape_change_stop = params->openface_fit ? OPENFACE_SHAPE_CHANGE_STOP : CLNF_SHAPE_CHANGE_STOP;
    const AuKdeTable *kde = kde_table(c, window, sp->sigma, err);
    if (!kde)
        return au_error_prefix(err, "%s: ", model->main_path);
    const AuCcnf *ccnf = &model->scales[r->scale];
    const int *vis = r->visible;

    /* regularisation: 0 on the rigid parameters, reg_factor / eigenvalue on
     * the modes (float division, as cv::Mat(reg_factor / E)) */
    float *reg = w->reg;
    memset(reg, 0, (size_t)np * sizeof(float));
    if (!rigid) {
        const float *E = au_mat_f32(&pdm->eigen_values);
        for (int i = 0; i < m; i++)
            reg[6 + i] = sp->reg_factor / E[i];
    }
    /* CLNF::GetWeightMatrix: weight_factor x the CCNF patch confidences, else identity */
    const float *weights = NULL;
    if (sp->weight_factor > 0) {
        for (int i = 0; i < n; i++) {
            const float conf = (float)au_ccnf_expert(ccnf, r->view, i)->patch_confidence;
            w->weights[i] = w->weights[i + n] = sp->weight_factor * conf;
        }
        weights = w->weights;
    }

    float *shape = w->shape, *prev = w->prev_shape, *J = w->J, *Jwt = w->Jwt;
    float *dxs = w->dxs, *dys = w->dys, *ms = w->ms, *ms_img = w->ms_img;
    const float half = (float)((window - 1) / 2); /* integer division, as OpenFace */
    int iters = 0, early_stop = 0;
    uint64_t t0 = c->profile ? au_profile_now_ns() : 0;

    for (int iter = 0; iter < max_iter; iter++) {
        au_pdm_shape2d(pdm, local, global, shape, w->shape3d);
        double change = NAN;
        if (iter > 0) {
            for (int i = 0; i < nn2; i++)
                w->diff[i] = shape[i] - prev[i];
            change = au_cv_norm_l2_f32(w->diff, nn2);
            if (change < shape_change_stop) {
                early_stop = 1;
                if (c->hooks.on_iteration) {
                    AuClnfIterInfo it = {c->name, r->scale, rigid, compute_lhood, iter, change, 1, n, np,
                                         NULL, NULL, NULL, NULL, NULL, global, local};
                    c->hooks.on_iteration(c->hooks.user, &it);
                }
                break;
            }
        }
        memcpy(prev, shape, (size_t)nn2 * sizeof(float));

        if (rigid)
            au_pdm_rigid_jacobian(pdm, local, global, weights, J, Jwt, w->shape3d);
        else
            au_pdm_jacobian(pdm, local, global, weights, J, Jwt, w->shape3d);

        /* positions in the response windows: (shape - base) * img_to_ref^T + (window-1)/2 */
        for (int i = 0; i < nn2; i++)
            w->diff[i] = shape[i] - base_shape[i];
        transform_points_2x2(r->sim_img_to_ref, w->diff, w->diff + n, n, dxs, dys);
        for (int i = 0; i < n; i++) {
            dxs[i] = dxs[i] + half;
            dys[i] = dys[i] + half;
        }
        if (c->profile)
            t0 = au_profile_add(c->profile, AU_STAGE_UPDATE, t0);
        au_mean_shift_kde(kde, r->maps, vis, n, dxs, dys, ms, c->dsp->mean_shift);
        if (c->profile)
            t0 = au_profile_add(c->profile, AU_STAGE_MEANSHIFT, t0);

        /* back to the image frame; invisible landmarks out of the system */
        transform_points_2x2(r->sim_ref_to_img, ms, ms + n, n, ms_img, ms_img + n);
        for (int i = 0; i < n; i++) {
            if (vis[i])
                continue;
            memset(J + (size_t)i * np, 0, (size_t)np * sizeof(float));
            memset(J + (size_t)(i + n) * np, 0, (size_t)np * sizeof(float));
            for (int k = 0; k < np; k++) {
                Jwt[(size_t)k * nn2 + i] = 0;
                Jwt[(size_t)k * nn2 + i + n] = 0;
            }
            ms_img[i] = 0;
            ms_img[i + n] = 0;
        }

        /* J^T W m (cv::gemm), minus reg * local on the modes (folded into the
         * same gemm by OpenCV's expression: c - r*l rounded once) */
        c->dsp->gn_rhs(w->rhs, Jwt, ms_img, np, nn2);
        if (!rigid)
            for (int i = 0; i < m; i++)
                w->rhs[6 + i] = (float)((double)w->rhs[6 + i] - (double)reg[6 + i] * (double)local[i]);

        /* Hessian = reg + J^T W J: OpenFace's sgemm_ call, column-major view */
        float *H = w->H;
        memset(H, 0, (size_t)np * (size_t)np * sizeof(float));
        for (int i = 0; i < np; i++)
            H[(size_t)i * np + i] = reg[i];
        c->dsp->gn_hessian(H, J, Jwt, np, nn2);

        c->dsp->chol_solve(H, np, w->rhs, w->upd, w->chol_scratch);
        au_pdm_update_params(pdm, w->upd, np, local, global);
        au_pdm_clamp(pdm, local, global);
        iters++;
        if (c->hooks.on_iteration) {
            AuClnfIterInfo it = {c->name, r->scale, rigid, compute_lhood, iter, change, 0, n, np,
                                 dxs, dys, ms, ms_img, w->upd, global, local};
            c->hooks.on_iteration(c->hooks.user, &it);
        }
    }

    float loglhood = 0;
    if (compute_lhood) {
        double n_visible = 0;
        for (int i = 0; i < n; i++) {
            c->landmark_likelihoods[i] = -1e8f;
            n_visible += vis[i];
        }
        for (int i = 0; i < n; i++) {
            if (!vis[i])
                continue;
            const float sum = au_kde_likelihood(r->maps[i], window, dxs[i], dys[i], sp->sigma);
            c->landmark_likelihoods[i] = sum;
            loglhood = (float)((double)loglhood + log((double)sum + 1e-8));
        }
        loglhood = (float)((double)loglhood / n_visible);
    }
    if (c->profile)
        au_profile_add(c->profile, AU_STAGE_UPDATE, t0);

    AuClnfPassInfo pi = {c->name, r->scale, window, r->view, ccnf->patch_scaling, *sp, rigid, iters, early_stop,
                         compute_lhood, loglhood, global, local, n, m};
    if (info)
        *info = pi;
    if (c->hooks.on_pass)
        c->hooks.on_pass(c->hooks.user, &pi);
    return AU_OK;
}

/* ------------------------------------------------------------------------ */
/* CLNF::Fit                                                                 */

void au_clnf_set_gray8(AuClnf *c, const AuImageU8 *gray8)
{
    c->gray8 = gray8;
    for (int p = 0; c->parts && p < c->model->n_parts; p++)
        au_clnf_set_gray8(&c->parts[p], gray8);
}

AuStatus au_clnf_fit(AuClnf *c, const AuImageF32 *gray, const int *window_sizes, int n_windows,
                     const AuClnfParams *params, int *fit_success, AuError *err)
{
    const AuClnfModel *model = c->model;
    const int num_scales = model->n_scales;
    *fit_success = 1;
    if (c->hooks.on_fit_start)
        c->hooks.on_fit_start(c->hooks.user, c->name, c->params_global, c->params_local, c->m);
    for (int scale = 0; scale < num_scales; scale++) {
        const int window = search_window(model, scale < n_windows ? window_sizes[scale] : 0, params->openface_fit);
        if (window == 0)
            continue;
        AuClnfResponses r;
        AuStatus st = au_clnf_response(c, gray, window, scale, &r, err);
        if (st)
            return st;
        const AuClnfScaleParams sp = au_clnf_scale_params(c, params, scale);
        /* the responses were computed around the current shape */
        const float *base = c->work->base_shape;
        c->view_used = r.view;
        if ((st = au_clnf_nu_rlms(c, &r, base, 1, 0, params, &sp, c->params_global, c->params_local, NULL, err)))
            return st;
        const int next_window = scale + 1 < n_windows ? window_sizes[scale + 1] : 0;
        const int last = scale == num_scales - 1 || next_window == 0 || c->params_global[0] < 0.30;
        AuClnfPassInfo pi;
        if ((st = au_clnf_nu_rlms(c, &r, base, 0, last, params, &sp, c->params_global, c->params_local, &pi, err)))
            return st;
        if (last)
            c->model_likelihood = pi.loglhood;
        /* OpenFace: faces under ~30 px across cannot be tracked */
        if (c->params_global[0] < 0.25) {
            *fit_success = 0;
            break;
        }
    }
    au_pdm_shape2d(&model->pdm, c->params_local, c->params_global, c->landmarks, c->work->shape3d);
    return AU_OK;
}

/* ------------------------------------------------------------------------ */
/* CLNF::DetectLandmarks (without the validator)                             */

AuStatus au_clnf_detect_landmarks(AuClnf *c, const AuImageF32 *gray, const AuClnfParams *params, int *fit_success,
                                  AuError *err)
{
    const AuClnfModel *model = c->model;
    const int n = c->n;
    AuStatus st = au_clnf_fit(c, gray, params->window_sizes_current, params->n_window_sizes_current, params,
                              fit_success, err);
    if (st)
        return st;
    c->parts_used = 0;
    if (!params->refine_hierarchical || model->n_parts == 0)
        return AU_OK;

    uint64_t t0 = c->profile ? au_profile_now_ns() : 0;
    int parts_used = 0;
    for (int p = 0; p < model->n_parts; p++) {
        const AuClnfPart *part = &model->parts[p];
        AuClnf *pc = &c->parts[p];
        const int pn = pc->n;
        /* Not fitted this time, and every point of the part is a main-model
         * point (the inner face): placing it would give nothing the main
         * fit has not (its landmarks are only merged back when fitted). */
        if (params->place_parts_only && part->n_map >= pn)
            continue;
        float *locs = c->work->part_locs;
        memset(locs, 0, 2 * (size_t)pn * sizeof(float));
        for (int k = 0; k < part->n_map; k++) {
            locs[part->map[k].part_index] = c->landmarks[part->map[k].main_index];
            locs[part->map[k].part_index + pn] = c->landmarks[part->map[k].main_index + n];
        }
        /* unmapped points stay (0,0): CalcParams leaves them out */
        const float no_rotation[3] = {0, 0, 0};
        if (AU_CFG_WARM_CALCPARAMS && !params->openface_fit)
            /* the part's last fit as the other start */
            au_pdm_params_from_landmarks_warm(&part->model->pdm, locs, no_rotation, pc->params_global,
                                              pc->params_local, pc->params_global, pc->params_local, &pc->work->pdmw);
        else
            au_pdm_params_from_landmarks(&part->model->pdm, locs, no_rotation, pc->params_global, pc->params_local,
                                         &pc->work->pdmw);
        if (!params->place_parts_only && c->params_global[0] > 0.9 * part->model->scales[0].patch_scaling) {
            parts_used = 1;
            AuClnfParams *pp = &c->part_params[p];
            pp->openface_fit = params->openface_fit;
            pp->n_window_sizes_current = pp->n_window_sizes_init;
            memcpy(pp->window_sizes_current, pp->window_sizes_init, sizeof(pp->window_sizes_current));
            int part_success;
            if ((st = au_clnf_detect_landmarks(pc, gray, pp, &part_success, err)))
                return au_error_prefix(err, "part %s: ", part->name);
        } else {
            au_pdm_shape2d(&part->model->pdm, pc->params_local, pc->params_global, pc->landmarks, pc->work->shape3d);
        }
    }
    if (parts_used) {
        for (int p = 0; p < model->n_parts; p++) {
            const AuClnfPart *part = &model->parts[p];
            const AuClnf *pc = &c->parts[p];
            for (int k = 0; k < part->n_map; k++) {
                c->landmarks[part->map[k].main_index] = pc->landmarks[part->map[k].part_index];
                c->landmarks[part->map[k].main_index + n] = pc->landmarks[part->map[k].part_index + pc->n];
            }
        }
        const float no_rotation[3] = {0, 0, 0};
        if (AU_CFG_WARM_CALCPARAMS && !params->openface_fit)
            /* the main fit before the parts moved some of its points */
            au_pdm_params_from_landmarks_warm(&model->pdm, c->landmarks, no_rotation, c->params_global,
                                              c->params_local, c->params_global, c->params_local, &c->work->pdmw);
        else
            au_pdm_params_from_landmarks(&model->pdm, c->landmarks, no_rotation, c->params_global, c->params_local,
                                         &c->work->pdmw);
        au_pdm_shape2d(&model->pdm, c->params_local, c->params_global, c->landmarks, c->work->shape3d);
    }
    c->parts_used = parts_used;
    if (c->profile)
        au_profile_add(c->profile, AU_STAGE_PARTS, t0);
    return AU_OK;
}
