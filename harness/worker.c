/* One job, run and committed in this process (worker.h). */
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evaluate.h"
#include "fault.h"
#include "metric_names.h"
#include "metrics.h"
#include "store.h"
#include "sysinfo.h"
#include "variant.h"
#include "video.h"

#define MAX_STAGES 64
#define PROGRESS_INTERVAL_NS 50000000LL /* at most 20 progress messages a second */

typedef struct Worker {
    const AuhWorkerConfig *cfg;
    const AuhJobSpec *spec;
    AuhFaultAction fault;
    int64_t last_progress_ns;
} Worker;

static void send_msg(const Worker *w, const AuhWorkerMsg *m)
{
    if (w->cfg->progress_fd < 0)
        return;
    if (m->kind == AUH_MSG_DONE) {
        /* the outcome must arrive: block until the runner reads */
        int fl = fcntl(w->cfg->progress_fd, F_GETFL);
        if (fl >= 0)
            fcntl(w->cfg->progress_fd, F_SETFL, fl & ~O_NONBLOCK);
    }
    /* One write of less than PIPE_BUF bytes is atomic; a full pipe (a runner
     * that is not reading) drops progress rather than stalling the job. */
    ssize_t r;
    do
        r = write(w->cfg->progress_fd, m, sizeof(*m));
    while (r < 0 && errno == EINTR);
}

static void progress(Worker *w, int64_t frames, int64_t total, int64_t t0)
{
    int64_t now = auh_monotonic_ns();
    if (now - w->last_progress_ns < PROGRESS_INTERVAL_NS && frames != total)
        return;
    w->last_progress_ns = now;
    AuhWorkerMsg m = {0};
    m.kind = AUH_MSG_PROGRESS;
    m.frames = frames;
    m.total = total;
    m.fps = auh_fps((uint64_t)frames, now - t0);
    m.au_mean_r = m.lmk_mean_px = m.lmk_mean_nme = NAN;
    send_msg(w, &m);
}

/* Mid-job fault point: after half of the expected frames (at least one). */
static void fault_point(const Worker *w, int64_t done, int64_t total)
{
    if ((w->fault == AUH_FAULT_CRASH || w->fault == AUH_FAULT_KILL) && done == (total / 2 > 0 ? total / 2 : 1))
        auh_fault_fire(w->fault);
}

static void fire_in_commit(void *ctx)
{
    auh_fault_fire(*(const AuhFaultAction *)ctx);
}

/* AU names the tracker reports, in its (CSV) order. */
static int au_names(const AuVariantApi *api, const AuTracker *t, int is_class, const char **names)
{
    int n = 0, max = is_class ? AU_N_AU_CLASS : AU_N_AU_REG;
    while (n < max) {
        const char *s = is_class ? api->tracker_au_class_name(t, n) : api->tracker_au_reg_name(t, n);
        if (!s)
            break;
        names[n++] = s;
    }
    return n;
}

static AuStatus add_timings(AuhJob *job, const AuVariantApi *api, const AuTracker *t, AuError *err)
{
    AuStageTiming tm[MAX_STAGES];
    int n = api->tracker_timings(t, tm, MAX_STAGES);
    if (n > MAX_STAGES)
        n = MAX_STAGES;
    for (int i = 0; i < n; i++) {
        if (!tm[i].name)
            continue;
        AuStatus st = auh_job_add_timing(job, tm[i].name, (int64_t)tm[i].calls, (int64_t)tm[i].total_ns, err);
        if (st)
            return st;
    }
    return AU_OK;
}

/* AUH_M_CPU_FPS and AUH_M_HOST_STEAL of a frame loop between two samples
 * (not stored when unknown). */
static AuStatus set_load_metrics(AuhJob *job, uint64_t frames, const AuhCpuSample *a, const AuhCpuSample *b,
                                 AuError *err)
{
    AuStatus st = AU_OK;
    if (a->process_cpu_ns >= 0 && b->process_cpu_ns > a->process_cpu_ns)
        st = auh_job_set_metric(job, AUH_M_CPU_FPS, auh_fps(frames, b->process_cpu_ns - a->process_cpu_ns), err);
    const double steal = auh_cpu_steal_share(a, b);
    if (!st && isfinite(steal))
        st = auh_job_set_metric(job, AUH_M_HOST_STEAL, steal, err);
    return st;
}

static AuhJobInfo base_info(const AuhJobSpec *spec)
{
    AuhJobInfo info = {spec->variant,
                       spec->dataset->name,
                       spec->item->id,
                       auh_item_kind_name(spec->item->kind),
                       spec->item->rel,
                       spec->item->labels_rel,
                       NULL,
                       NULL,
                       0,
                       0,
                       0,
                       NULL,
                       NULL};
    return info;
}

static AuInputFrame input_of(const AuFrame *f)
{
    AuInputFrame in = {f->bgr.width,  f->bgr.height, f->bgr.data,     f->bgr.stride,
                       f->gray.data,  f->gray.stride, f->frame_number, f->timestamp};
    return in;
}

/* Online per-frame values kept until the AUs are final. */
typedef struct VideoFrame {
    int64_t frame_number;
    double timestamp, confidence;
    int success;
} VideoFrame;

static AuStatus run_video(Worker *w, const AuVariantApi *api, const AuModelSet *models, AuhJob *job, AuError *err)
{
    const AuhJobSpec *spec = w->spec;
    int64_t max_frames = w->cfg->max_frames;
    AuTracker *t = NULL;
    AuVideo *v = NULL;
    AuFrame f = {0};
    VideoFrame *meta = NULL;
    float *lmk = NULL;
    size_t n = 0, cap = 0;
    AuTrackerOptions topts;
    api->tracker_options_default(&topts);
    AuStatus st = api->tracker_create(&t, models, &topts, err);
    if (!st)
        st = au_video_open(&v, spec->item->path, err);
    if (st)
        goto done;
    int64_t total = au_video_frame_count(v);
    if (max_frames > 0 && (total <= 0 || total > max_frames))
        total = max_frames;
    AuFrameResult r;
    AuhCpuSample cpu0, cpu1;
    auh_cpu_sample(&cpu0);
    int64_t t0 = auh_monotonic_ns();
    while (max_frames <= 0 || (int64_t)n < max_frames) {
        if ((st = au_video_read(v, &f, err)))
            break;
        AuInputFrame in = input_of(&f);
        if ((st = api->tracker_process(t, &in, &r, err)))
            break;
        if (n == cap) {
            size_t nc = cap ? 2 * cap : 256;
            VideoFrame *nm = realloc(meta, nc * sizeof(*nm));
            if (nm)
                meta = nm;
            float *nl = nm ? realloc(lmk, nc * 2 * AU_N_LANDMARKS * sizeof(float)) : NULL;
            if (!nl) {
                st = au_error_set(err, AU_ERR_NOMEM, "out of memory at frame %zu", n + 1);
                break;
            }
            lmk = nl;
            cap = nc;
        }
        meta[n] = (VideoFrame){r.frame_number, r.timestamp, r.confidence, r.success};
        memcpy(lmk + n * 2 * AU_N_LANDMARKS, r.landmarks, sizeof(r.landmarks));
        n++;
        progress(w, (int64_t)n, total, t0);
        fault_point(w, (int64_t)n, total);
    }
    int64_t wall = auh_monotonic_ns() - t0;
    auh_cpu_sample(&cpu1);
    if (st == AU_ERR_EOF || (st == AU_OK && max_frames > 0))
        st = AU_OK;
    else
        goto done;
    if ((st = api->tracker_finish(t, err)))
        goto done;
    const char *rn[AU_N_AU_REG], *cn[AU_N_AU_CLASS];
    AuhJobInfo info = base_info(spec);
    info.n_landmarks = AU_N_LANDMARKS;
    info.n_au_r = au_names(api, t, 0, rn);
    info.n_au_c = au_names(api, t, 1, cn);
    info.au_r_names = rn;
    info.au_c_names = cn;
    if ((st = auh_job_init(job, &info, err)))
        goto done;
    for (size_t i = 0; i < n; i++) {
        double reg[AU_N_AU_REG], cls[AU_N_AU_CLASS];
        if ((st = api->tracker_final_aus(t, i, reg, cls, err)))
            goto done;
        AuhFrameRecord rec = {(int)meta[i].frame_number + 1,
                              0,
                              NULL,
                              meta[i].timestamp,
                              meta[i].success,
                              meta[i].confidence,
                              lmk + i * 2 * AU_N_LANDMARKS,
                              info.n_au_r ? reg : NULL,
                              info.n_au_c ? cls : NULL};
        if ((st = auh_job_add_frame(job, &rec, err)))
            goto done;
    }
    job->wall_ns = wall;
    if ((st = add_timings(job, api, t, err)) ||
        (st = auh_job_set_metric(job, AUH_M_FPS, auh_fps(n, wall), err)) ||
        (st = set_load_metrics(job, n, &cpu0, &cpu1, err)) ||
        (st = auh_job_set_metric(job, AUH_M_FRAMES_UNREADABLE, (double)au_video_decode_errors(v), err)))
        goto done;
done:
    free(meta);
    free(lmk);
    au_frame_free(&f);
    au_video_close(v);
    if (t)
        api->tracker_free(t);
    return st;
}

static int has_image_api(const AuVariantApi *api)
{
    return api->struct_size >= offsetof(AuVariantApi, tracker_process_image) + sizeof(api->tracker_process_image) &&
           api->tracker_process_image;
}

static AuStatus run_images(Worker *w, const AuVariantApi *api, const AuModelSet *models, const AuhItemLabels *labels,
                           AuhJob *job, AuError *err)
{
    const AuhManifestItem *item = w->spec->item;
    size_t n = item->n_images;
    if (w->cfg->max_frames > 0 && (size_t)w->cfg->max_frames < n)
        n = (size_t)w->cfg->max_frames;
    if (!has_image_api(api))
        return au_error_set(err, AU_ERR_UNSUPPORTED, "variant '%s' has no still-image entry point (ABI struct of %u bytes)",
                            w->spec->variant, (unsigned)api->struct_size);
    AuTracker *t = NULL;
    AuTrackerOptions topts;
    api->tracker_options_default(&topts);
    topts.static_aus = 1; /* images: static AU models (au.h) */
    AuStatus st = api->tracker_create(&t, models, &topts, err);
    if (st)
        return st;
    const char *rn[AU_N_AU_REG], *cn[AU_N_AU_CLASS];
    AuhJobInfo info = base_info(w->spec);
    info.n_landmarks = AU_N_LANDMARKS;
    info.n_au_r = au_names(api, t, 0, rn);
    info.n_au_c = au_names(api, t, 1, cn);
    info.au_r_names = rn;
    info.au_c_names = cn;
    if ((st = auh_job_init(job, &info, err))) {
        api->tracker_free(t);
        return st;
    }
    AuFrame f = {0};
    AuhCpuSample cpu0, cpu1;
    auh_cpu_sample(&cpu0);
    int64_t unreadable = 0, t0 = auh_monotonic_ns();
    for (size_t i = 0; i < n && !st; i++) {
        const AuhImageEntry *e = &item->images[i];
        AuhFrameRecord rec = {(int)i + 1, 0, e->name, NAN, 0, 0.0, NULL, NULL, NULL};
        AuVideo *v = NULL;
        AuError derr = {0};
        AuStatus dst = au_video_open(&v, e->image, &derr);
        if (!dst)
            dst = au_video_read(v, &f, &derr);
        au_video_close(v);
        if (dst == AU_ERR_DECODE || dst == AU_ERR_EOF || dst == AU_ERR_FORMAT) {
            unreadable++; /* an undecodable image is a frame without a face, as a skipped video frame */
        } else if (dst) {
            *err = derr;
            st = dst;
            break;
        } else {
            AuInputFrame in = input_of(&f);
            in.frame_number = (int64_t)i;
            in.timestamp = 0;
            const AuFrameResult *faces = NULL;
            int n_faces = 0;
            if ((st = api->tracker_process_image(t, &in, &faces, &n_faces, err)))
                break;
            if (n_faces > 0) {
                const float *lm[64];
                int nf = n_faces < 64 ? n_faces : 64;
                for (int k = 0; k < nf; k++)
                    lm[k] = faces[k].landmarks;
                const double *label = i < labels->n && labels->success[i]
                                          ? labels->lmk + i * 2 * (size_t)labels->n_points
                                          : NULL;
                int pick = auh_pick_face(lm, nf, AU_N_LANDMARKS, label,
                                         labels->n_points == AU_N_LANDMARKS ? labels->n_points : 0);
                const AuFrameResult *fr = &faces[pick];
                /* A detected face is a prediction, validated or not: FaceLandmarkImg
                 * writes every face it fits (its CSV has no success column), and
                 * OpenFace's rows and the 300-W figures count them all; the
                 * validator's verdict stays in the confidence. */
                rec.success = 1;
                rec.confidence = fr->confidence;
                rec.landmarks = fr->landmarks;
                rec.au_r = info.n_au_r ? fr->au_reg : NULL;
                rec.au_c = info.n_au_c ? fr->au_class : NULL;
            }
        }
        if (!st)
            st = auh_job_add_frame(job, &rec, err);
        progress(w, (int64_t)i + 1, (int64_t)n, t0);
        fault_point(w, (int64_t)i + 1, (int64_t)n);
    }
    job->wall_ns = auh_monotonic_ns() - t0;
    auh_cpu_sample(&cpu1);
    if (!st && ((st = add_timings(job, api, t, err)) ||
                (st = auh_job_set_metric(job, AUH_M_FPS, auh_fps(n, job->wall_ns), err)) ||
                (st = set_load_metrics(job, n, &cpu0, &cpu1, err)) ||
                (st = auh_job_set_metric(job, AUH_M_FRAMES_UNREADABLE, (double)unreadable, err))))
        (void)0;
    au_frame_free(&f);
    api->tracker_free(t);
    return st;
}

static AuStatus run_variant(Worker *w, const AuhItemLabels *labels, AuhJob *job, AuError *err)
{
    AuhVariant v;
    AuStatus st = auh_variant_open(&v, w->spec->variant, err);
    if (st)
        return st;
    AuModelSet *models = NULL;
    if (!(st = v.api->model_set_load(&models, w->cfg->models_dir, err))) {
        if (w->spec->item->kind == AUH_ITEM_VIDEO)
            st = run_video(w, v.api, models, job, err);
        else
            st = run_images(w, v.api, models, labels, job, err);
        v.api->model_set_free(models);
    }
    auh_variant_close(&v);
    return st;
}

static AuStatus run_openface(Worker *w, const AuhItemLabels *labels, AuhJob *job, AuError *err)
{
    double fps = NAN;
    AuStatus st = auh_openface_job_build(job, &w->cfg->openface, w->spec->dataset, w->spec->item, labels,
                                         w->cfg->max_frames, &fps, err);
    if (st)
        return st;
    fault_point(w, 1, 1);
    /* wall_ns stands for OpenFace's loop time, so FPS aggregates like any
     * variant's; 0 when its speed is unknown. */
    job->wall_ns = fps > 0 ? (int64_t)llround((double)job->n_frames / fps * 1e9) : 0;
    const int timed = w->cfg->openface.binary && w->spec->item->kind == AUH_ITEM_VIDEO;
    if ((st = auh_job_set_metric(job, AUH_M_OPENFACE_TIMED, timed, err)))
        return st;
    return auh_job_set_metric(job, AUH_M_FPS, fps > 0 ? fps : NAN, err);
}

static double job_metric(const AuhJob *job, const char *name)
{
    for (size_t i = 0; i < job->n_metrics; i++)
        if (!strcmp(job->metrics[i].name, name))
            return job->metrics[i].value;
    return NAN;
}

AuStatus auh_worker_run(const AuhWorkerConfig *cfg, const AuhJobSpec *spec, int *failed, AuError *err)
{
    Worker w = {cfg, spec, auh_fault_for(cfg->fault, spec->variant, spec->item->id), 0};
    AuhStore store = {0};
    AuStatus st = auh_store_open(&store, cfg->db_path, err);
    if (st)
        return st;
    if (w.fault == AUH_FAULT_KILL_COMMIT) {
        store.before_commit = fire_in_commit;
        store.before_commit_ctx = &w.fault;
    }
    AuhJob job;
    memset(&job, 0, sizeof(job));
    AuError jerr = {0};
    double started = auh_wall_time();
    AuhItemLabels labels;
    AuStatus jst = auh_labels_load(&labels, spec->item, &jerr);
    if (!jst) {
        if (!strcmp(spec->variant, AUH_VARIANT_OPENFACE))
            jst = run_openface(&w, &labels, &job, &jerr);
        else
            jst = run_variant(&w, &labels, &job, &jerr);
    }
    if (!jst && (jst = auh_evaluate_job(&job, &labels, cfg->max_frames, &jerr)))
        au_error_prefix(&jerr, "evaluating against %s: ", spec->item->labels_rel ? spec->item->labels_rel : "labels");
    auh_labels_free(&labels);
    if (jst) {
        if (!job.variant) {
            AuhJobInfo info = base_info(spec);
            if ((st = auh_job_init(&job, &info, err)))
                goto done;
        }
        if ((st = auh_job_set_failed(&job, jerr.msg[0] ? jerr.msg : au_status_name(jst), err)))
            goto done;
    }
    job.started_at = started;
    job.ended_at = auh_wall_time();
    if ((st = auh_store_commit_job(&store, cfg->run_id, &job, err)))
        goto done;
    if (failed)
        *failed = job.failed;
    AuhWorkerMsg m = {0};
    m.kind = AUH_MSG_DONE;
    m.failed = job.failed;
    m.frames = (int64_t)job.n_frames;
    m.total = spec->expected_frames;
    m.fps = job_metric(&job, AUH_M_FPS);
    m.au_mean_r = job_metric(&job, AUH_M_AU_MEAN_R);
    m.lmk_mean_px = job_metric(&job, AUH_M_LMK_MEAN_PX);
    m.lmk_mean_nme = job_metric(&job, AUH_M_LMK_MEAN_NME);
    if (job.failed && job.error)
        snprintf(m.error, sizeof(m.error), "%s", job.error);
    send_msg(&w, &m);
    if (w.fault == AUH_FAULT_KILL_AFTER)
        auh_fault_fire(w.fault);
done:
    auh_job_free(&job);
    auh_store_close(&store);
    return st;
}
