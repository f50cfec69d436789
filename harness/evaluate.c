/* Evaluation of a job against its item's labels (evaluate.h). All arithmetic
 * in double (see metrics.c): these are summaries, not part of the pipeline. */
#include "evaluate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metric_names.h"
#include "metrics.h"
#include "pts.h"

void auh_labels_free(AuhItemLabels *l)
{
    free(l->frame);
    free(l->success);
    free(l->lmk);
    if (l->has_csv)
        auh_of_csv_free(&l->csv);
    memset(l, 0, sizeof(*l));
}

static AuStatus labels_alloc(AuhItemLabels *l, size_t n, int n_points, AuError *err)
{
    l->n = n;
    l->n_points = n_points;
    size_t nn = n ? n : 1;
    l->frame = calloc(nn, sizeof(int));
    l->success = calloc(nn, 1);
    l->lmk = calloc(nn * 2 * (size_t)(n_points > 0 ? n_points : 1), sizeof(double));
    if (!l->frame || !l->success || !l->lmk)
        return au_error_set(err, AU_ERR_NOMEM, "out of memory for %zu labels", n);
    return AU_OK;
}

static AuStatus load_video_labels(AuhItemLabels *l, const AuhManifestItem *item, AuError *err)
{
    AuStatus st = auh_of_csv_read(&l->csv, item->labels, err);
    if (st)
        return st;
    l->has_csv = 1;
    int n_points = l->csv.col_x0 >= 0 && l->csv.col_y0 >= 0 ? l->csv.layout.n_landmarks : 0;
    if ((st = labels_alloc(l, l->csv.n_rows, n_points, err)))
        return st;
    if (l->csv.col_frame < 0)
        return au_error_set(err, AU_ERR_FORMAT, "%s: label file has no 'frame' column", item->labels);
    for (size_t r = 0; r < l->csv.n_rows; r++) {
        l->frame[r] = auh_of_csv_frame(&l->csv, r);
        /* A file without a success column labels every row. */
        l->success[r] = l->csv.col_success < 0 || auh_of_csv_success(&l->csv, r) == 1;
        double *p = l->lmk + r * 2 * (size_t)(n_points > 0 ? n_points : 1);
        for (int i = 0; i < n_points; i++) {
            p[i] = auh_of_csv_landmark_x(&l->csv, r, i);
            p[n_points + i] = auh_of_csv_landmark_y(&l->csv, r, i);
        }
    }
    return AU_OK;
}

static AuStatus load_image_labels(AuhItemLabels *l, const AuhManifestItem *item, AuError *err)
{
    int n_points = 0;
    AuStatus st = AU_OK;
    /* The point count is the first label file's; every other must agree. */
    for (size_t i = 0; i < item->n_images && !n_points; i++) {
        if (!item->images[i].labels)
            continue;
        AuhPts pts = {0};
        if ((st = auh_pts_read(&pts, item->images[i].labels, err)))
            return st;
        n_points = pts.n_points;
        auh_pts_free(&pts);
    }
    if ((st = labels_alloc(l, n_points ? item->n_images : 0, n_points, err)))
        return st;
    for (size_t i = 0; i < l->n; i++) {
        l->frame[i] = (int)i + 1;
        const char *path = item->images[i].labels;
        if (!path)
            continue;
        AuhPts pts = {0};
        if ((st = auh_pts_read(&pts, path, err)))
            return st;
        if (pts.n_points != n_points) {
            st = au_error_set(err, AU_ERR_FORMAT, "%s: %d points where %s has %d", path, pts.n_points,
                              item->images[0].labels, n_points);
            auh_pts_free(&pts);
            return st;
        }
        /* 300-W coordinates are 1-based, OpenFace's 0-based (pts.h). */
        double *p = l->lmk + i * 2 * (size_t)n_points;
        for (int k = 0; k < n_points; k++) {
            p[k] = pts.x[k] - 1.0;
            p[n_points + k] = pts.y[k] - 1.0;
        }
        l->success[i] = 1;
        auh_pts_free(&pts);
    }
    return AU_OK;
}

AuStatus auh_labels_load(AuhItemLabels *l, const AuhManifestItem *item, AuError *err)
{
    memset(l, 0, sizeof(*l));
    AuStatus st = AU_OK;
    if (item->kind == AUH_ITEM_VIDEO && item->labels)
        st = load_video_labels(l, item, err);
    else if (item->kind == AUH_ITEM_IMAGES && item->labels)
        st = load_image_labels(l, item, err);
    if (st)
        auh_labels_free(l);
    return st;
}

int auh_pick_face(const float *const *landmarks, int n_faces, int n_points, const double *label, int label_points)
{
    if (n_faces <= 0)
        return -1;
    if (!label || label_points <= 0 || n_points <= 0)
        return 0;
    double lx = 0, ly = 0;
    for (int k = 0; k < label_points; k++) {
        lx += label[k];
        ly += label[label_points + k];
    }
    lx /= label_points;
    ly /= label_points;
    int best = 0;
    double best_d = INFINITY;
    for (int f = 0; f < n_faces; f++) {
        double fx = 0, fy = 0;
        for (int k = 0; k < n_points; k++) {
            fx += landmarks[f][k];
            fy += landmarks[f][n_points + k];
        }
        fx /= n_points;
        fy /= n_points;
        double d = (fx - lx) * (fx - lx) + (fy - ly) * (fy - ly);
        if (d < best_d) {
            best_d = d;
            best = f;
        }
    }
    return best;
}

/* Scratch arrays of one evaluation, freed together. */
typedef struct EvalScratch {
    long *job_index;      /* label entry -> job frame index, -1 when none */
    unsigned char *use;
    double *pred, *label; /* entries x width */
    double *px, *nme;
    double *sorted;
    int *au_job, *au_col; /* matched AUs: job index, label column */
} EvalScratch;

static void scratch_free(EvalScratch *s)
{
    free(s->job_index);
    free(s->use);
    free(s->pred);
    free(s->label);
    free(s->px);
    free(s->nme);
    free(s->sorted);
    free(s->au_job);
    free(s->au_col);
}

static AuStatus set_metric_named(AuhJob *job, const char *prefix, const char *name, double v, AuError *err)
{
    char key[128];
    snprintf(key, sizeof(key), "%s%s", prefix, name);
    return auh_job_set_metric(job, key, v, err);
}

static AuStatus eval_landmarks(AuhJob *job, const AuhItemLabels *l, size_t n_in, EvalScratch *s, AuError *err)
{
    int np = l->n_points;
    size_t w = 2 * (size_t)np;
    if (job->n_landmarks != np)
        return au_error_set(err, AU_ERR_FORMAT, "labels have %d landmarks per frame, the job %d", np,
                            job->n_landmarks);
    size_t n_lab = 0;
    for (size_t e = 0; e < n_in; e++) {
        if (!l->success[e]) {
            s->use[e] = AUH_USE_SKIP;
            continue;
        }
        n_lab++;
        memcpy(s->label + e * w, l->lmk + e * w, w * sizeof(double));
        long j = s->job_index[e];
        if (j >= 0 && job->frames[j].success && job->frames[j].has_landmarks) {
            const float *p = job->landmarks + (size_t)j * w;
            for (size_t k = 0; k < w; k++)
                s->pred[e * w + k] = p[k];
            s->use[e] = AUH_USE;
        } else {
            s->use[e] = AUH_USE_AS_FAILURE;
        }
    }
    if (!n_lab)
        return AU_OK;
    AuhLandmarkSummary sum;
    AuStatus st = auh_landmark_summary(s->pred, s->label, n_in, np, s->use, AUH_NME_THRESHOLD, &sum, s->px, s->nme, err);
    if (st)
        return st;
    size_t n_px = 0;
    for (size_t e = 0; e < n_in; e++) {
        if (s->use[e] != AUH_USE)
            continue;
        AuhJobFrame *f = &job->frames[s->job_index[e]];
        f->lmk_px = s->px[e];
        f->nme = s->nme[e];
        s->sorted[n_px++] = s->px[e];
    }
    double median_px = auh_median_inplace(s->sorted, n_px);
    if ((st = auh_job_set_metric(job, AUH_M_LMK_MEAN_PX, sum.mean_px, err)) ||
        (st = auh_job_set_metric(job, AUH_M_LMK_MEDIAN_PX, median_px, err)) ||
        (st = auh_job_set_metric(job, AUH_M_LMK_RMSE_PX, sum.rmse_px, err)) ||
        (st = auh_job_set_metric(job, AUH_M_LMK_MEAN_NME, sum.mean_nme, err)) ||
        (st = auh_job_set_metric(job, AUH_M_LMK_MEDIAN_NME, sum.median_nme, err)) ||
        (st = auh_job_set_metric(job, AUH_M_LMK_AUC, sum.auc, err)) ||
        (st = auh_job_set_metric(job, AUH_M_LMK_FAILURE_RATE, sum.failure_rate, err)) ||
        (st = auh_job_set_metric(job, AUH_M_LMK_MISSED, (double)sum.n_failed, err)))
        return st;
    return AU_OK;
}

/* Intensity (is_class 0) or presence (1) AUs of the job against the label
 * CSV's columns of the same names. */
static AuStatus eval_aus(AuhJob *job, const AuhItemLabels *l, size_t n_in, int is_class, EvalScratch *s, AuError *err)
{
    int n_job = is_class ? job->n_au_c : job->n_au_r;
    char(*names)[AUH_STORE_AU_NAME_MAX] = is_class ? job->au_c_names : job->au_r_names;
    int k = 0;
    for (int a = 0; a < n_job && k < AUH_METRICS_MAX_AUS; a++) {
        char col[AUH_STORE_AU_NAME_MAX + 4];
        snprintf(col, sizeof(col), "%s_%c", names[a], is_class ? 'c' : 'r');
        int c = auh_of_csv_column(&l->csv, col);
        if (c < 0)
            continue;
        s->au_job[k] = a;
        s->au_col[k] = c;
        k++;
    }
    if (!k)
        return AU_OK;
    size_t n_use = 0;
    for (size_t e = 0; e < n_in; e++) {
        long j = s->job_index[e];
        int ok = l->success[e] && j >= 0 && job->frames[j].success &&
                 (is_class ? job->frames[j].has_au_c : job->frames[j].has_au_r);
        s->use[e] = ok ? AUH_USE : AUH_USE_SKIP;
        if (!ok)
            continue;
        n_use++;
        const double *p = (is_class ? job->au_c : job->au_r) + (size_t)j * (size_t)n_job;
        for (int a = 0; a < k; a++) {
            s->pred[e * (size_t)k + (size_t)a] = p[s->au_job[a]];
            s->label[e * (size_t)k + (size_t)a] = auh_of_csv_get(&l->csv, e, s->au_col[a]);
        }
    }
    if (!n_use)
        return AU_OK;
    AuStatus st;
    if (!is_class) {
        AuhAuIntensityAccuracy acc;
        if ((st = auh_au_intensity_accuracy(s->pred, s->label, n_in, k, s->use, &acc, err)))
            return st;
        if ((st = auh_job_set_metric(job, AUH_M_AU_MEAN_R, acc.mean_r, err)) ||
            (st = auh_job_set_metric(job, AUH_M_AU_LEFT_OUT, (double)acc.n_left_out, err)))
            return st;
        for (int a = 0; a < k; a++)
            if ((st = set_metric_named(job, AUH_M_AU_R_PREFIX, names[s->au_job[a]], acc.r[a], err)) ||
                (st = set_metric_named(job, AUH_M_AU_MAE_PREFIX, names[s->au_job[a]], acc.mae[a], err)))
                return st;
    } else {
        AuhAuPresenceAccuracy acc;
        if ((st = auh_au_presence_accuracy(s->pred, s->label, n_in, k, s->use, &acc, err)))
            return st;
        if ((st = auh_job_set_metric(job, AUH_M_PRESENCE_AGREEMENT, acc.mean_agreement, err)) ||
            (st = auh_job_set_metric(job, AUH_M_PRESENCE_F1, acc.mean_f1, err)))
            return st;
        for (int a = 0; a < k; a++)
            if ((st = set_metric_named(job, AUH_M_PRESENCE_F1_PREFIX, names[s->au_job[a]], acc.f1[a], err)))
                return st;
    }
    return AU_OK;
}

AuStatus auh_evaluate_job(AuhJob *job, const AuhItemLabels *l, int64_t frame_limit, AuError *err)
{
    size_t n_success = 0;
    int max_frame = 0;
    for (size_t i = 0; i < job->n_frames; i++) {
        n_success += job->frames[i].success != 0;
        if (job->frames[i].frame > max_frame)
            max_frame = job->frames[i].frame;
    }
    AuStatus st;
    if ((st = auh_job_set_metric(job, AUH_M_FRAMES, (double)job->n_frames, err)) ||
        (st = auh_job_set_metric(job, AUH_M_FRAMES_SUCCESS, (double)n_success, err)))
        return st;
    /* Label entries in scope: the first n_in (labels are in frame order; a
     * --max-frames run stops at frame_limit). */
    size_t n_in = 0;
    while (n_in < l->n && (frame_limit <= 0 || l->frame[n_in] <= frame_limit))
        n_in++;
    if (!n_in)
        return AU_OK;
    int width = 2 * l->n_points;
    if (width < AUH_METRICS_MAX_AUS)
        width = AUH_METRICS_MAX_AUS;
    EvalScratch s = {0};
    /* frame number -> job frame (face 0) */
    long *by_frame = calloc((size_t)max_frame + 1, sizeof(long));
    s.job_index = malloc(n_in * sizeof(long));
    s.use = calloc(n_in, 1);
    s.pred = calloc(n_in * (size_t)width, sizeof(double));
    s.label = calloc(n_in * (size_t)width, sizeof(double));
    s.px = calloc(n_in, sizeof(double));
    s.nme = calloc(n_in, sizeof(double));
    s.sorted = calloc(n_in, sizeof(double));
    s.au_job = calloc(AUH_METRICS_MAX_AUS, sizeof(int));
    s.au_col = calloc(AUH_METRICS_MAX_AUS, sizeof(int));
    if (!by_frame || !s.job_index || !s.use || !s.pred || !s.label || !s.px || !s.nme || !s.sorted || !s.au_job ||
        !s.au_col) {
        free(by_frame);
        scratch_free(&s);
        return au_error_set(err, AU_ERR_NOMEM, "out of memory evaluating %zu frames", n_in);
    }
    for (int f = 0; f <= max_frame; f++)
        by_frame[f] = -1;
    for (size_t i = 0; i < job->n_frames; i++)
        if (job->frames[i].face == 0 && job->frames[i].frame >= 1)
            by_frame[job->frames[i].frame] = (long)i;
    for (size_t e = 0; e < n_in; e++) {
        int f = l->frame[e];
        s.job_index[e] = f >= 1 && f <= max_frame ? by_frame[f] : -1;
    }
    free(by_frame);
    st = AU_OK;
    if (l->n_points > 0)
        st = eval_landmarks(job, l, n_in, &s, err);
    if (!st && l->has_csv)
        st = eval_aus(job, l, n_in, 0, &s, err);
    if (!st && l->has_csv)
        st = eval_aus(job, l, n_in, 1, &s, err);
    scratch_free(&s);
    return st;
}
