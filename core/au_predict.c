/* OpenFace's per-frame AU prediction (see au_predict.h). */
#include "au_predict.h"

#include <stdlib.h>
#include <string.h>

#include "dsp.h"

/* OpenCV's GEMM rounds every product and sum separately (its GEMM is built
 * for the baseline SSE CPU): no fused multiply-adds. See fhog.c. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

int au_geom_descriptor_size(const AuPdm *pdm) { return 3 * pdm->n_points + pdm->n_modes; }

/* The dot product the way OpenCV's GEMMSingleMul computes one output of
 * A * B^T (its "A * Bt" path, which gemm takes whenever the result has one
 * column): four interleaved partial sums, the remainder added to the first,
 * then ((s0 + s1) + s2) + s3. */
static double dot_gemm_bt(const double *a, const double *b, int n)
{
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int k = 0;
    for (; k <= n - 4; k += 4) {
        s0 += a[k] * b[k];
        s1 += a[k + 1] * b[k + 1];
        s2 += a[k + 2] * b[k + 2];
        s3 += a[k + 3] * b[k + 3];
    }
    for (; k < n; k++)
        s0 += a[k] * b[k];
    return s0 + s1 + s2 + s3;
}

/* One output of princ_comp_d * params^T as OpenFace's build computes it.
 * princ_comp has 204 >= 100 rows, so OpenCV 4.6 (built with LAPACK) hands the
 * product to cblas_dgemm, and OpenBLAS 0.3.21 on the reference machine
 * (AVX-512) runs its SkylakeX "small matrix" kernel (dgemm_small_kernel_tn):
 * eight vector lanes, lane l accumulating the products k = l, l + 8, ...
 * in order, then the lanes reduced as ((l0 + l1) + (l2 + l3)) +
 * ((l4 + l5) + (l6 + l7)). The products of two floats are exact in double,
 * so its fused multiply-adds round like separate ones and only this order
 * matters. OpenBLAS takes that kernel when m * n <= 1200 and k >= 32 (its
 * dgemm_small_kernel_permit for the transposed-A case): true for the AU PDM,
 * 204 x 34; other PDM shapes would take other paths, not reproduced here.
 * OpenFace on a CPU without AVX-512 would get other OpenBLAS kernels and
 * differ in the last bits; 4 interleaved or sequential sums differ from the
 * reference run in about 1 value in 2 (by up to 7e-15). */
static double dot_openblas_small_f32(const float *a, const float *b, int n)
{
    double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int k = 0; k < n; k++)
        lane[k & 7] += (double)a[k] * (double)b[k];
    return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

void au_geom_descriptor(const AuPdm *pdm, const float *params_local, double *out)
{
    const int rows = 3 * pdm->n_points, m = pdm->n_modes;
    if (!params_local) {
        /* OpenFace zeroes the params of a failed frame, so both parts are 0. */
        memset(out, 0, (size_t)(rows + m) * sizeof(double));
        return;
    }
    /* locs = princ_comp_d * params^T (widened to double, as OpenFace). */
    const float *pc = au_mat_f32(&pdm->princ_comp);
    for (int r = 0; r < rows; r++)
        out[r] = dot_openblas_small_f32(pc + (size_t)r * (size_t)m, params_local, m);
    for (int k = 0; k < m; k++)
        out[rows + k] = (double)params_local[k];
}

/* work = x - means [- median], as OpenFace's Predict functions. */
static void centred_features(const AuAuGroup *g, const double *hog, int hog_len, const double *geom, int geom_len,
                             const double *hog_median, const double *geom_median, double *work)
{
    const int dim = g->feature_dim;
    /* x - means, then - median: OpenCV evaluates (input - means - run_med)
     * as two element-wise subtractions in that order. */
    const int with_geom = dim != hog_len;
    for (int d = 0; d < hog_len; d++)
        work[d] = hog[d] - g->means[d];
    if (with_geom)
        for (int d = 0; d < geom_len; d++)
            work[hog_len + d] = geom[d] - g->means[hog_len + d];
    if (hog_median) {
        for (int d = 0; d < hog_len; d++)
            work[d] -= hog_median[d];
        if (with_geom)
            for (int d = 0; d < geom_len; d++)
                work[hog_len + d] -= geom_median[d];
    }
}

void au_predict_group_scores(const AuAuGroup *g, const double *hog, int hog_len, const double *geom, int geom_len,
                             const double *hog_median, const double *geom_median, double *work, double *scores)
{
    const int dim = g->feature_dim, count = g->count;
    if (count <= 0)
        return;
    centred_features(g, hog, hog_len, geom, geom_len, hog_median, geom_median, work);
    /* (1 x dim) * (dim x count) + biases through cv::gemm. With more than one
     * model OpenCV's GEMMSingleMul sums each column sequentially, then adds
     * the bias; with one model gemm switches to its A * B^T path. */
    for (int k = 0; k < count; k++) {
        const double *w = g->weights + (size_t)k * (size_t)dim;
        double s;
        if (count == 1) {
            s = dot_gemm_bt(work, w, dim);
        } else {
            s = 0.0;
            for (int d = 0; d < dim; d++)
                s += work[d] * w[d];
        }
        scores[k] = s + g->models[k].bias;
    }
}

void au_predictor_free(AuPredictor *p)
{
    free(p->work);
    free(p->scores);
    for (int gi = 0; gi < AU_GROUP_COUNT; gi++) {
        free(p->weights_fm[gi]);
        free(p->weights_fm32[gi]);
    }
    memset(p, 0, sizeof(*p));
}

AuStatus au_predictor_use_dsp(AuPredictor *p, const AuDsp *dsp, int float_weights, AuError *err)
{
    for (int gi = 0; gi < AU_GROUP_COUNT; gi++) {
        const AuAuGroup *g = &p->models->groups[gi];
        if (g->count < 2 || p->weights_fm[gi] || p->weights_fm32[gi])
            continue; /* one model: OpenCV's A * B^T path, kept as it is */
        const size_t dim = (size_t)g->feature_dim, count = (size_t)g->count;
        if (float_weights) {
            float *wf = malloc(dim * count * sizeof(float));
            if (!wf)
                return au_error_set(err, AU_ERR_NOMEM, "AU predictor: out of memory for %zu x %zu weights", dim,
                                    count);
            for (size_t k = 0; k < count; k++)
                for (size_t d = 0; d < dim; d++)
                    wf[d * count + k] = (float)g->weights[k * dim + d];
            p->weights_fm32[gi] = wf;
            continue;
        }
        double *w = malloc(dim * count * sizeof(double));
        if (!w)
            return au_error_set(err, AU_ERR_NOMEM, "AU predictor: out of memory for %zu x %zu weights", dim, count);
        for (size_t k = 0; k < count; k++)
            for (size_t d = 0; d < dim; d++)
                w[d * count + k] = g->weights[k * dim + d];
        p->weights_fm[gi] = w;
    }
    p->dsp = dsp;
    return AU_OK;
}

/* One group's scores, through the DSP table when the predictor has one. */
static void group_scores(AuPredictor *p, int gi, const double *hog, const double *geom, const double *hog_median,
                         const double *geom_median)
{
    const AuAuGroup *g = &p->models->groups[gi];
    if (p->dsp && p->weights_fm32[gi]) {
        centred_features(g, hog, p->hog_len, geom, p->geom_len, hog_median, geom_median, p->work);
        p->dsp->vecmat_f64_w32(p->scores, p->work, p->weights_fm32[gi], g->count, g->feature_dim, g->count);
        for (int k = 0; k < g->count; k++)
            p->scores[k] = p->scores[k] + g->models[k].bias;
        return;
    }
    if (!p->dsp || !p->weights_fm[gi]) {
        au_predict_group_scores(g, hog, p->hog_len, geom, p->geom_len, hog_median, geom_median, p->work, p->scores);
        return;
    }
    centred_features(g, hog, p->hog_len, geom, p->geom_len, hog_median, geom_median, p->work);
    /* the same sums as the loop above: each output in feature order, no FMA */
    p->dsp->vecmat_f64(p->scores, p->work, p->weights_fm[gi], g->count, g->feature_dim, g->count);
    for (int k = 0; k < g->count; k++)
        p->scores[k] = p->scores[k] + g->models[k].bias;
}

AuStatus au_predictor_init(AuPredictor *p, const AuAuModels *models, int hog_len, int geom_len, AuError *err)
{
    memset(p, 0, sizeof(*p));
    if (hog_len < 1 || geom_len < 0)
        return au_error_set(err, AU_ERR_ARG, "AU predictor: invalid descriptor lengths %d (HOG) and %d (geometry)",
                            hog_len, geom_len);
    p->models = models;
    p->hog_len = hog_len;
    p->geom_len = geom_len;
    p->max_dim = 1;
    p->max_group = 1;
    for (int gi = 0; gi < AU_GROUP_COUNT; gi++) {
        const AuAuGroup *g = &models->groups[gi];
        if (g->count == 0)
            continue;
        if (g->feature_dim != hog_len && g->feature_dim != hog_len + geom_len)
            return au_error_set(err, AU_ERR_FORMAT,
                                "%s: the models take %d features, but HOG has %d and HOG + geometry %d",
                                g->models[0].path, g->feature_dim, hog_len, hog_len + geom_len);
        if (g->feature_dim > p->max_dim)
            p->max_dim = g->feature_dim;
        if (g->count > p->max_group)
            p->max_group = g->count;
    }
    p->n_intensity = au_au_models_intensity_count(models);
    p->n_presence = au_au_models_presence_count(models);
    p->work = malloc((size_t)p->max_dim * sizeof(double));
    p->scores = malloc((size_t)p->max_group * sizeof(double));
    if (!p->work || !p->scores) {
        au_predictor_free(p);
        return au_error_set(err, AU_ERR_NOMEM, "AU predictor: out of memory");
    }
    return AU_OK;
}

/* The static group then the dynamic group of one kind, into out. */
static void predict_kind(AuPredictor *p, AuAuGroupId stat, AuAuGroupId dyn, int presence, const double *hog,
                         const double *geom, const double *hog_median, const double *geom_median, double *out)
{
    const AuAuGroupId ids[2] = {stat, dyn};
    int n = 0;
    for (int i = 0; i < 2; i++) {
        const AuAuGroup *g = &p->models->groups[ids[i]];
        const int dynamic = ids[i] == dyn;
        group_scores(p, ids[i], hog, geom, dynamic ? hog_median : NULL, dynamic ? geom_median : NULL);
        for (int k = 0; k < g->count; k++) {
            if (presence)
                out[n++] = p->scores[k] > 0 ? g->models[k].pos_class : g->models[k].neg_class;
            else
                out[n++] = p->scores[k];
        }
    }
}

void au_predict_intensities(AuPredictor *p, const double *hog, const double *geom, const double *hog_median,
                            const double *geom_median, double *out)
{
    predict_kind(p, AU_GROUP_SVR_STATIC, AU_GROUP_SVR_DYNAMIC, 0, hog, geom, hog_median, geom_median, out);
}

void au_predict_presences(AuPredictor *p, const double *hog, const double *geom, const double *hog_median,
                          const double *geom_median, double *out)
{
    predict_kind(p, AU_GROUP_SVM_STATIC, AU_GROUP_SVM_DYNAMIC, 1, hog, geom, hog_median, geom_median, out);
}
