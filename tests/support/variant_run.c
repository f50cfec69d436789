#include "variant_run.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "sysinfo.h"
#include "video.h"

void auv_run_free(AuvRun *run)
{
    free(run->au_reg);
    free(run->landmarks);
    free(run->success);
    memset(run, 0, sizeof(*run));
}

/* Grows the per-frame arrays to hold at least n frames. */
static AuStatus reserve(AuvRun *run, size_t *cap, size_t n, AuError *err)
{
    if (n <= *cap)
        return AU_OK;
    size_t c = *cap ? 2 * *cap : 256;
    while (c < n)
        c *= 2;
    float *l = realloc(run->landmarks, c * 2 * AU_N_LANDMARKS * sizeof(float));
    if (l)
        run->landmarks = l;
    unsigned char *s = realloc(run->success, c);
    if (s)
        run->success = s;
    if (!l || !s)
        return au_error_set(err, AU_ERR_NOMEM, "out of memory");
    *cap = c;
    return AU_OK;
}

AuStatus auv_run_video(const AuVariantApi *api, const AuModelSet *models, const char *path, AuvRun *run,
                       AuError *err)
{
    memset(run, 0, sizeof(*run));
    AuVideo *video = NULL;
    AuTracker *tracker = NULL;
    AuFrame frame = {0};
    size_t cap = 0;
    AuTrackerOptions opts;
    api->tracker_options_default(&opts);
    AuStatus st = au_video_open(&video, path, err);
    if (!st)
        st = api->tracker_create(&tracker, models, &opts, err);
    if (st)
        goto done;
    const int64_t t0 = auh_monotonic_ns();
    for (;;) {
        st = au_video_read(video, &frame, err);
        if (st == AU_ERR_EOF) {
            st = AU_OK;
            break;
        }
        if (st)
            goto done;
        AuInputFrame in = {frame.bgr.width, frame.bgr.height, frame.bgr.data,    frame.bgr.stride,
                           frame.gray.data, frame.gray.stride, frame.frame_number, frame.timestamp};
        AuFrameResult r;
        if ((st = api->tracker_process(tracker, &in, &r, err)) || (st = reserve(run, &cap, run->n_frames + 1, err)))
            goto done;
        memcpy(run->landmarks + run->n_frames * 2 * AU_N_LANDMARKS, r.landmarks, sizeof(r.landmarks));
        run->success[run->n_frames] = (unsigned char)(r.success != 0);
        run->n_frames++;
    }
    run->loop_ns = auh_monotonic_ns() - t0;
    run->n_stages = api->tracker_timings(tracker, run->stages, AUV_MAX_STAGES);
    if (run->n_stages > AUV_MAX_STAGES)
        run->n_stages = AUV_MAX_STAGES;
    if ((st = api->tracker_finish(tracker, err)))
        goto done;
    for (int i = 0; i < AU_N_AU_REG; i++) {
        const char *name = api->tracker_au_reg_name(tracker, i);
        if (!name)
            break;
        snprintf(run->au_reg_names[i], AUV_AU_NAME_MAX, "%s", name);
        run->n_au_reg = i + 1;
    }
    run->au_reg = malloc((run->n_frames ? run->n_frames : 1) * (size_t)run->n_au_reg * sizeof(double));
    if (!run->au_reg) {
        st = au_error_set(err, AU_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t f = 0; f < run->n_frames; f++) {
        double reg[AU_N_AU_REG], cls[AU_N_AU_CLASS];
        if ((st = api->tracker_final_aus(tracker, f, reg, cls, err)))
            goto done;
        memcpy(run->au_reg + f * (size_t)run->n_au_reg, reg, (size_t)run->n_au_reg * sizeof(double));
    }
done:
    if (st) {
        au_error_prefix(err, "%s (variant %s): ", path, api->name);
        auv_run_free(run);
    }
    if (tracker)
        api->tracker_free(tracker);
    au_frame_free(&frame);
    au_video_close(video);
    return st;
}

AuStatus auv_score(const AuvRun *run, const AuhOfCsv *ref, AuvScore *score, AuError *err)
{
    memset(score, 0, sizeof(*score));
    if (ref->n_rows != run->n_frames)
        return au_error_set(err, AU_ERR_FORMAT, "the reference has %zu rows, the run %zu frames", ref->n_rows,
                            run->n_frames);
    const size_t n = run->n_frames;
    const int na = run->n_au_reg;
    double *label = malloc((n ? n : 1) * (size_t)(na ? na : 1) * sizeof(double));
    unsigned char *use = malloc(n ? n : 1);
    if (!label || !use) {
        free(label);
        free(use);
        return au_error_set(err, AU_ERR_NOMEM, "out of memory");
    }
    AuStatus st = AU_OK;
    double lmk_sum = 0;
    for (size_t f = 0; f < n && !st; f++) {
        use[f] = run->success[f] && auh_of_csv_success(ref, f) == 1 ? AUH_USE : AUH_USE_SKIP;
        for (int a = 0; a < na; a++) {
            char col[AUV_AU_NAME_MAX + 4];
            snprintf(col, sizeof(col), "%s_r", run->au_reg_names[a]);
            const double v = auh_of_csv_au(ref, f, col);
            if (isnan(v))
                st = au_error_set(err, AU_ERR_FORMAT, "the reference has no column %s", col);
            label[f * (size_t)na + (size_t)a] = v;
        }
        if (use[f] == AUH_USE) {
            double pred[2 * AU_N_LANDMARKS], lab[2 * AU_N_LANDMARKS];
            for (int i = 0; i < AU_N_LANDMARKS; i++) {
                pred[i] = run->landmarks[f * 2 * AU_N_LANDMARKS + (size_t)i];
                pred[i + AU_N_LANDMARKS] = run->landmarks[f * 2 * AU_N_LANDMARKS + AU_N_LANDMARKS + (size_t)i];
                lab[i] = auh_of_csv_landmark_x(ref, f, i);
                lab[i + AU_N_LANDMARKS] = auh_of_csv_landmark_y(ref, f, i);
            }
            lmk_sum += auh_lmk_mean_error(pred, lab, AU_N_LANDMARKS);
            score->n_frames_used++;
        }
    }
    AuhAuIntensityAccuracy acc;
    if (!st)
        st = auh_au_intensity_accuracy(run->au_reg, label, n, na, use, &acc, err);
    if (!st) {
        score->au_r = acc.mean_r;
        score->n_au_used = acc.n_aus - acc.n_left_out;
        score->lmk_px = score->n_frames_used ? lmk_sum / (double)score->n_frames_used : NAN;
    }
    free(label);
    free(use);
    return st;
}
