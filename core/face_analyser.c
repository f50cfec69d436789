/* OpenFace's FaceAnalyser AU pipeline for one video (see face_analyser.h). */
#include "face_analyser.h"

#include <stdlib.h>
#include <string.h>

void au_face_analyser_free(AuFaceAnalyser *fa)
{
    au_predictor_free(&fa->predictor);
    au_running_median_free(&fa->hog_median);
    au_running_median_free(&fa->geom_median);
    au_descriptor_store_free(&fa->store);
    free(fa->intensity_hist);
    free(fa->presence_hist);
    free(fa->success);
    free(fa->timestamps);
    free(fa->hog);
    free(fa->geom);
    memset(fa, 0, sizeof(*fa));
}

AuStatus au_face_analyser_init(AuFaceAnalyser *fa, const AuAuModels *models, const AuPdm *pdm, int dynamic,
                               AuError *err)
{
    memset(fa, 0, sizeof(*fa));
    AuStatus st;
    fa->models = models;
    fa->pdm = pdm;
    fa->dynamic = dynamic != 0;
    fa->hog_len = AU_FACE_ANALYSER_HOG_LEN;
    fa->geom_len = au_geom_descriptor_size(pdm);
    /* A cutoff OpenFace cannot index with would make it throw at the end of
     * the video; refuse the model set up front instead. */
    const AuAuGroup *dyn = &models->groups[AU_GROUP_SVR_DYNAMIC];
    for (int k = 0; k < dyn->count; k++) {
        double c = dyn->models[k].cutoff;
        if (c != -1.0 && !(c >= 0.0 && c < 1.0))
            return au_error_set(err, AU_ERR_FORMAT, "%s: cutoff %.17g is neither -1 nor in [0, 1)",
                                dyn->models[k].path, c);
    }
    if ((st = au_predictor_init(&fa->predictor, models, fa->hog_len, fa->geom_len, err)) ||
        (st = au_running_median_init(&fa->hog_median, fa->hog_len, AU_RUNNING_MEDIAN_HOG_BINS,
                                     AU_RUNNING_MEDIAN_HOG_MIN, AU_RUNNING_MEDIAN_HOG_MAX, err)) ||
        (st = au_running_median_init(&fa->geom_median, fa->geom_len, AU_RUNNING_MEDIAN_GEOM_BINS,
                                     AU_RUNNING_MEDIAN_GEOM_MIN, AU_RUNNING_MEDIAN_GEOM_MAX, err)) ||
        (st = au_descriptor_store_init(&fa->store, fa->hog_len, fa->geom_len, AU_POSTPROCESS_MAX_INIT_FRAMES,
                                       err))) {
        au_face_analyser_free(fa);
        au_error_prefix(err, "face analyser: ");
        return st;
    }
    fa->n_intensity = fa->predictor.n_intensity;
    fa->n_presence = fa->predictor.n_presence;
    fa->hog = malloc((size_t)fa->hog_len * sizeof(double));
    fa->geom = malloc((size_t)fa->geom_len * sizeof(double));
    if (!fa->hog || !fa->geom) {
        au_face_analyser_free(fa);
        return au_error_set(err, AU_ERR_NOMEM, "face analyser: out of memory");
    }
    return AU_OK;
}

void au_face_analyser_reset(AuFaceAnalyser *fa)
{
    au_running_median_reset(&fa->hog_median);
    au_running_median_reset(&fa->geom_median);
    au_descriptor_store_reset(&fa->store);
    fa->frames_tracking = 0;
    fa->frames_tracking_succ = 0;
}

static AuStatus grow_history(AuFaceAnalyser *fa, AuError *err)
{
    if (fa->frames_tracking < fa->capacity)
        return AU_OK;
    if (fa->capacity > (1 << 28))
        return au_error_set(err, AU_ERR_NOMEM, "face analyser: too many frames (%d)", fa->frames_tracking);
    int cap = fa->capacity ? fa->capacity * 2 : 256;
    /* Each array is kept when its realloc fails, so free() still sees it. */
    double *r = realloc(fa->intensity_hist, (size_t)cap * (size_t)(fa->n_intensity ? fa->n_intensity : 1) * sizeof(double));
    if (r)
        fa->intensity_hist = r;
    double *c = realloc(fa->presence_hist, (size_t)cap * (size_t)(fa->n_presence ? fa->n_presence : 1) * sizeof(double));
    if (c)
        fa->presence_hist = c;
    unsigned char *s = realloc(fa->success, (size_t)cap);
    if (s)
        fa->success = s;
    double *t = realloc(fa->timestamps, (size_t)cap * sizeof(double));
    if (t)
        fa->timestamps = t;
    if (!r || !c || !s || !t)
        return au_error_set(err, AU_ERR_NOMEM, "face analyser: out of memory for %d frames", cap);
    fa->capacity = cap;
    return AU_OK;
}

AuStatus au_face_analyser_add_frame(AuFaceAnalyser *fa, const float *hog, const float *params_local, int success,
                                    double timestamp, AuError *err)
{
    success = success != 0;
    if (success && (!hog || !params_local))
        return au_error_set(err, AU_ERR_ARG, "face analyser: frame %d succeeded but has no %s",
                            fa->frames_tracking + 1, hog ? "params_local" : "HOG");
    AuStatus st = grow_history(fa, err);
    if (st)
        return st;
    const int f = fa->frames_tracking;
    for (int i = 0; i < fa->hog_len; i++)
        fa->hog[i] = hog ? (double)hog[i] : 0.0;
    au_geom_descriptor(fa->pdm, success ? params_local : NULL, fa->geom);
    /* Kept for the re-prediction with the final medians: the first
     * max_init_frames successful frames (the store ignores the rest). Done
     * first so that running out of memory leaves the analyser unchanged. */
    if (success && (st = au_descriptor_store_add(&fa->store, f, hog, fa->geom, err)))
        return st;

    fa->frames_tracking++;
    if (success)
        fa->frames_tracking_succ++;
    /* OpenFace's "small speedup": the medians only on odd frame counts. A
     * failed frame's descriptors are passed too: they are not counted, but
     * UpdateRunningMedian can still copy them (see running_median.h). */
    if (fa->frames_tracking % 2 == 1) {
        au_running_median_update(&fa->hog_median, fa->hog, success);
        au_running_median_clamp_negative(&fa->hog_median);
        au_running_median_update(&fa->geom_median, fa->geom, success);
    }

    double *r = fa->intensity_hist + (size_t)f * (size_t)fa->n_intensity;
    double *c = fa->presence_hist + (size_t)f * (size_t)fa->n_presence;
    if (success) {
        au_predict_intensities(&fa->predictor, fa->hog, fa->geom, fa->hog_median.median, fa->geom_median.median, r);
        au_predict_presences(&fa->predictor, fa->hog, fa->geom, fa->hog_median.median, fa->geom_median.median, c);
    } else {
        /* OpenFace predicts, then sets every AU of a failed frame to 0. */
        memset(r, 0, (size_t)fa->n_intensity * sizeof(double));
        memset(c, 0, (size_t)fa->n_presence * sizeof(double));
    }
    fa->success[f] = (unsigned char)success;
    fa->timestamps[f] = timestamp;
    return AU_OK;
}

const double *au_face_analyser_online_intensities(const AuFaceAnalyser *fa)
{
    return fa->frames_tracking ? fa->intensity_hist + (size_t)(fa->frames_tracking - 1) * (size_t)fa->n_intensity : NULL;
}

const double *au_face_analyser_online_presences(const AuFaceAnalyser *fa)
{
    return fa->frames_tracking ? fa->presence_hist + (size_t)(fa->frames_tracking - 1) * (size_t)fa->n_presence : NULL;
}

void au_face_analyser_output_free(AuFaceAnalyserOutput *out)
{
    free(out->intensity_names);
    free(out->presence_names);
    free(out->success);
    free(out->timestamps);
    free(out->intensity_repredicted);
    free(out->intensity_offsets);
    free(out->intensity_shifted);
    free(out->presence_repredicted);
    free(out->intensity);
    free(out->presence);
    memset(out, 0, sizeof(*out));
}

/* OpenFace-order rows of src (n_frames x n) into alphabetical-order columns
 * of dst: dst[f * n + k] = src[f * n + sorted(k)]. */
static void to_csv_order(const double *src, double *dst, int n_frames, int n, const int *sorted)
{
    for (int f = 0; f < n_frames; f++)
        for (int k = 0; k < n; k++)
            dst[(size_t)f * (size_t)n + (size_t)k] = src[(size_t)f * (size_t)n + (size_t)sorted[k]];
}

static void get_column(const double *m, int n_frames, int n, int k, double *col)
{
    for (int f = 0; f < n_frames; f++)
        col[f] = m[(size_t)f * (size_t)n + (size_t)k];
}

static void set_column(double *m, int n_frames, int n, int k, const double *col)
{
    for (int f = 0; f < n_frames; f++)
        m[(size_t)f * (size_t)n + (size_t)k] = col[f];
}

AuStatus au_face_analyser_finish(AuFaceAnalyser *fa, AuFaceAnalyserOutput *out, AuError *err)
{
    memset(out, 0, sizeof(*out));
    const int nf = fa->frames_tracking, ni = fa->n_intensity, np = fa->n_presence;
    const size_t ri = (size_t)nf * (size_t)ni, rp = (size_t)nf * (size_t)np;
    out->n_frames = nf;
    out->n_intensity = ni;
    out->n_presence = np;
    /* +1 keeps every size non-zero, so NULL always means out of memory. */
    out->intensity_names = calloc((size_t)ni + 1, sizeof(char *));
    out->presence_names = calloc((size_t)np + 1, sizeof(char *));
    out->success = malloc((size_t)nf + 1);
    out->timestamps = malloc(((size_t)nf + 1) * sizeof(double));
    out->intensity_repredicted = malloc((ri + 1) * sizeof(double));
    out->intensity_offsets = calloc((size_t)ni + 1, sizeof(double));
    out->intensity_shifted = malloc((ri + 1) * sizeof(double));
    out->presence_repredicted = malloc((rp + 1) * sizeof(double));
    out->intensity = malloc((ri + 1) * sizeof(double));
    out->presence = malloc((rp + 1) * sizeof(double));
    double *reg = malloc((ri + 1) * sizeof(double));
    double *cls = malloc((rp + 1) * sizeof(double));
    double *col = malloc(((size_t)nf + 1) * sizeof(double));
    double *scratch = malloc(((size_t)nf + 1) * sizeof(double));
    int *sorted_i = malloc(((size_t)ni + 1) * sizeof(int));
    int *sorted_p = malloc(((size_t)np + 1) * sizeof(int));
    AuStatus st = AU_OK;
    if (!out->intensity_names || !out->presence_names || !out->success || !out->timestamps ||
        !out->intensity_repredicted || !out->intensity_offsets || !out->intensity_shifted ||
        !out->presence_repredicted || !out->intensity || !out->presence || !reg || !cls || !col || !scratch ||
        !sorted_i || !sorted_p) {
        st = au_error_set(err, AU_ERR_NOMEM, "face analyser: out of memory for the results of %d frames", nf);
        goto done;
    }
    if (nf > 0) {
        memcpy(out->success, fa->success, (size_t)nf);
        memcpy(out->timestamps, fa->timestamps, (size_t)nf * sizeof(double));
        memcpy(reg, fa->intensity_hist, ri * sizeof(double));
        memcpy(cls, fa->presence_hist, rp * sizeof(double));
    }

    /* PostprocessPredictions: the stored frames again, with the final medians. */
    if (fa->dynamic) {
        const AuDescriptorStore *s = &fa->store;
        for (int k = 0; k < s->count; k++) {
            const float *h = s->hog + (size_t)k * (size_t)s->hog_len;
            for (int i = 0; i < fa->hog_len; i++)
                fa->hog[i] = (double)h[i];
            const double *g = s->geom + (size_t)k * (size_t)s->geom_len;
            const int f = s->frame[k];
            au_predict_intensities(&fa->predictor, fa->hog, g, fa->hog_median.median, fa->geom_median.median,
                                   reg + (size_t)f * (size_t)ni);
            au_predict_presences(&fa->predictor, fa->hog, g, fa->hog_median.median, fa->geom_median.median,
                                 cls + (size_t)f * (size_t)np);
        }
    }

    for (int k = 0; k < ni; k++) {
        sorted_i[k] = au_au_models_intensity_sorted_index(fa->models, k);
        out->intensity_names[k] = au_au_models_intensity_name(fa->models, sorted_i[k]);
    }
    for (int k = 0; k < np; k++) {
        sorted_p[k] = au_au_models_presence_sorted_index(fa->models, k);
        out->presence_names[k] = au_au_models_presence_name(fa->models, sorted_p[k]);
    }
    to_csv_order(reg, out->intensity_repredicted, nf, ni, sorted_i);
    to_csv_order(cls, out->presence_repredicted, nf, np, sorted_p);

    /* ExtractAllPredictionsOfflineReg: offsets of the dynamic SVRs with a
     * cutoff (only in dynamic mode), shift and clamp, 3-frame smoothing. */
    for (int k = 0; k < ni; k++) {
        const AuAuModel *m = au_au_models_intensity(fa->models, sorted_i[k]);
        get_column(out->intensity_repredicted, nf, ni, k, col);
        double offset = 0.0;
        if (fa->dynamic && m->group == AU_GROUP_SVR_DYNAMIC &&
            (st = au_postprocess_offset(col, fa->success, nf, m->cutoff, &offset, err)))
            goto done;
        out->intensity_offsets[k] = offset;
        au_postprocess_shift_clamp(col, fa->success, nf, offset);
        set_column(out->intensity_shifted, nf, ni, k, col);
        au_postprocess_smooth_intensity(col, nf, scratch);
        set_column(out->intensity, nf, ni, k, col);
    }
    /* ExtractAllPredictionsOfflineClass: 7-frame smoothing and threshold. */
    for (int k = 0; k < np; k++) {
        get_column(out->presence_repredicted, nf, np, k, col);
        au_postprocess_smooth_presence(col, nf, scratch);
        set_column(out->presence, nf, np, k, col);
    }

done:
    free(reg);
    free(cls);
    free(col);
    free(scratch);
    free(sorted_i);
    free(sorted_p);
    if (st)
        au_face_analyser_output_free(out);
    return st;
}
