/* The per-video pipeline behind au.h: OpenFace's FeatureExtraction loop for
 * one face.
 *
 * Landmarks follow LandmarkDetector::DetectLandmarksInVideo
 * (lib/local/LandmarkDetector/src/LandmarkDetectorFunc.cpp): while tracking,
 * CLNF::DetectLandmarks from the previous frame's parameters with the small
 * windows (0 9 7 0) after a validated frame, the initial ones (11 9 7 5)
 * otherwise; a face detection when not tracking (every 12th frame) or after a
 * failed validation (every 2nd frame), followed by DetectLandmarksInImage's
 * multi-hypothesis fit (11 head rotations, the highest model likelihood
 * kept); a failed re-detection restores the previous estimate.
 * The AUs follow FaceAnalyser::AddNextFrame: CalcParams on the analyser's PDM,
 * AlignFaceMask, FHOG, running medians, SVR/SVM; the offline post-processing
 * runs in au_tracker_finish.
 *
 * Detection, validation, pose, 3D landmarks and gaze are OpenFace's too
 * (mtcnn.c, validator.c, face_outputs.c, gaze.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "au/au.h"
#include "clnf.h"
#include "config.h"
#include "cpu.h"
#include "dsp.h"
#include "face_align.h"
#include "face_analyser.h"
#include "fhog.h"
#include "face_outputs.h"
#include "imgproc.h"
#include "models.h"
#include "mtcnn.h"
#include "profile.h"
#include "tracker_internal.h"
#include "validator.h"

struct AuModelSet {
    AuModels m;
    AuClnfParams params; /* FaceModelParameters for main_clnf_general.txt */
};

AuStatus au_model_set_load(AuModelSet **out, const char *models_dir, AuError *err)
{
    *out = NULL;
    AuModelSet *s = calloc(1, sizeof(*s));
    if (!s)
        return au_error_set(err, AU_ERR_NOMEM, "out of memory");
    AuStatus st = au_models_load(&s->m, models_dir, err);
    if (st) {
        free(s);
        return st;
    }
    au_clnf_params_init(&s->params, s->m.clnf.main_path);
    /* Computed once here (OpenFace does it lazily on first use) so the set is
     * read-only afterwards and can be shared between threads. */
    if ((st = au_clnf_prepare_sigmas(&s->m.clnf, &s->params, err))) {
        au_model_set_free(s);
        return st;
    }
    *out = s;
    return AU_OK;
}

void au_model_set_free(AuModelSet *s)
{
    if (!s)
        return;
    au_models_free(&s->m);
    free(s);
}

/* The state DetectLandmarksInImageMultiHypBasic keeps for the best
 * hypothesis, and DetectLandmarksInVideo restores on a failed re-detection. */
typedef struct ClnfSnapshot {
    float global[6];
    float *local, *landmarks, *lhoods;
    float model_likelihood;
    double certainty;
    int success;
} ClnfSnapshot;

struct AuTracker {
    const AuModelSet *ms;
    AuTrackerOptions opts;
    AuDsp dsp;
    AuClnf clnf;
    AuClnfParams params;
    int tracking_initialised;
    int detection_success;
    int failures_in_a_row;
    double detection_certainty;
    int override_pending, override_found;
    AuRectF override_box;
    ClnfSnapshot *snaps;  /* [0] main, [1..n_parts] parts; best-hypothesis store */
    ClnfSnapshot *saved;  /* same layout; the estimate before a re-detection */
    int n_snaps;
    AuImageF32 grayf;
    const AuImageU8 *frame_bgr;  /* the frame being processed (for the detector) */
    const AuImageU8 *frame_gray; /* (for the validator) */
    AuValidator validator;
    AuMtcnn mtcnn;
    AuPdmWork main_work, au_work;
    AuFaceOutputs outputs; /* pose, 3D shape, eye landmarks, gaze */
    AuFaceAlign align;
    AuImageU8 aligned;
    AuFhog fhog;
    float *hog;
    AuFaceAnalyser fa;
    int finished;
    AuFaceAnalyserOutput final;
    size_t n_frames;
    AuProfile prof;
    /* Still-image mode (au_tracker_process_image). */
    AuPredictor img_pred;      /* the static AU models (FaceAnalyser after OptimizeForImages) */
    double *img_hog, *img_geom; /* the face's descriptors as the predictor takes them */
    double *img_reg, *img_class; /* predictions in OpenFace's order */
    AuRectF *img_boxes;        /* this image's MTCNN boxes */
    AuFrameResult *img_faces;  /* this image's results, handed out to the caller */
    int img_cap;
    /* frame skipping (config.h AU_CFG_FRAME_SKIP): frames since the last
     * fit, the landmarks of the fit before it and how far apart, and the
     * landmarks' mean motion per frame between those two fits */
    int since_fit, fit_gap;
    float prev_fit_landmarks[2 * AU_N_LANDMARKS];
    double fit_motion;
    float fit_vel[2]; /* mean landmark motion per frame between the last two fits (x, y) */
    /* AU_CFG_WARM_CALCPARAMS: the analyser PDM's last parameters (scale 0: none) */
    float au_warm_global[6], au_warm_local[AU_N_PDM_MODES];
    /* AU_CFG_AU_PARAMS_FROM_FIT: the analyser's PDM is the main model's */
    int au_pdm_is_main;
    /* AU_CFG_VALIDATE_EVERY: tracked fits since the last validation */
    int since_validation;
    /* AU_CFG_PARTS_EVERY: tracked fits since the parts were last fitted */
    int since_parts;
};

void au_tracker_options_default(AuTrackerOptions *o)
{
    memset(o, 0, sizeof(*o));
}

void au_tracker_override_detection(AuTracker *t, int found, const AuRectF *box)
{
    t->override_pending = 1;
    t->override_found = found;
    if (box)
        t->override_box = *box;
}

static AuStatus snap_alloc(ClnfSnapshot *s, const AuClnf *c, AuError *err)
{
    s->local = calloc((size_t)c->m + 1, sizeof(float));
    s->landmarks = calloc(2 * (size_t)c->n, sizeof(float));
    s->lhoods = calloc((size_t)c->n, sizeof(float));
    if (!s->local || !s->landmarks || !s->lhoods)
        return au_error_set(err, AU_ERR_NOMEM, "out of memory");
    return AU_OK;
}

static void snap_free(ClnfSnapshot *s)
{
    free(s->local);
    free(s->landmarks);
    free(s->lhoods);
}

static void snap_take(ClnfSnapshot *s, const AuClnf *c)
{
    memcpy(s->global, c->params_global, sizeof(s->global));
    memcpy(s->local, c->params_local, sizeof(float) * (size_t)c->m);
    memcpy(s->landmarks, c->landmarks, sizeof(float) * 2 * (size_t)c->n);
    memcpy(s->lhoods, c->landmark_likelihoods, sizeof(float) * (size_t)c->n);
    s->model_likelihood = c->model_likelihood;
}

static void snap_restore(const ClnfSnapshot *s, AuClnf *c)
{
    memcpy(c->params_global, s->global, sizeof(s->global));
    memcpy(c->params_local, s->local, sizeof(float) * (size_t)c->m);
    memcpy(c->landmarks, s->landmarks, sizeof(float) * 2 * (size_t)c->n);
    memcpy(c->landmark_likelihoods, s->lhoods, sizeof(float) * (size_t)c->n);
    c->model_likelihood = s->model_likelihood;
}

static AuClnf *snap_model(AuTracker *t, int i)
{
    return i == 0 ? &t->clnf : &t->clnf.parts[i - 1];
}

AuStatus au_tracker_create(AuTracker **out, const AuModelSet *ms, const AuTrackerOptions *opts, AuError *err)
{
    *out = NULL;
    AuTracker *t = calloc(1, sizeof(*t));
    if (!t)
        return au_error_set(err, AU_ERR_NOMEM, "out of memory");
    t->ms = ms;
    if (opts)
        t->opts = *opts;
    t->params = ms->params;
    t->failures_in_a_row = -1;
    const AuModels *m = &ms->m;
    AuStatus st;
#if AU_CFG_SIMD
    /* the SIMD kernels this CPU has (AU_CPU_MASK may restrict them) */
    unsigned cpu_flags = 0;
    if ((st = au_cpu_flags(&cpu_flags, err)))
        goto fail;
    if (AU_CFG_SIMD >= 2)
        au_dsp_init_fast(&t->dsp, cpu_flags);
    else
        au_dsp_init(&t->dsp, cpu_flags);
#else
    au_dsp_init_c(&t->dsp);
#endif
    t->au_pdm_is_main = AU_CFG_AU_PARAMS_FROM_FIT && au_pdm_same(&m->au_pdm, &m->clnf.pdm);
    if ((st = au_clnf_init(&t->clnf, &m->clnf, &t->dsp, err)))
        goto fail;
    au_clnf_set_profile(&t->clnf, &t->prof);
    au_mtcnn_init(&t->mtcnn, &m->mtcnn);
    au_validator_init(&t->validator, &m->validator);
    t->n_snaps = 1 + m->clnf.n_parts;
    t->snaps = calloc((size_t)t->n_snaps, sizeof(ClnfSnapshot));
    t->saved = calloc((size_t)t->n_snaps, sizeof(ClnfSnapshot));
    if (!t->snaps || !t->saved) {
        st = au_error_set(err, AU_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (int i = 0; i < t->n_snaps; i++)
        if ((st = snap_alloc(&t->snaps[i], snap_model(t, i), err)) ||
            (st = snap_alloc(&t->saved[i], snap_model(t, i), err)))
            goto fail;
    if ((st = au_face_outputs_init(&t->outputs, &m->clnf, err)))
        goto fail;
    if (t->outputs.n_eye_points > AU_N_EYE_LANDMARKS) {
        st = au_error_set(err, AU_ERR_UNSUPPORTED, "%s: the eye parts have %d points; the results hold %d",
                          m->clnf.main_path, t->outputs.n_eye_points, AU_N_EYE_LANDMARKS);
        goto fail;
    }
    if ((st = au_pdm_work_init(&t->main_work, &m->clnf.pdm, err)) ||
        (st = au_pdm_work_init(&t->au_work, &m->au_pdm, err)) ||
        (st = au_face_align_init(&t->align, &m->au_pdm, &m->au_tris, 0.7, 112, 112, err)) ||
        (st = au_image_u8_alloc(&t->aligned, 112, 112, 3, err)) ||
        (st = au_fhog_init(&t->fhog, 112, 112, 3, 8, err)) ||
        (st = au_face_analyser_init(&t->fa, t->opts.static_aus ? &m->au_static : &m->au_dynamic, &m->au_pdm,
                                    !t->opts.static_aus, err)))
        goto fail;
    t->fhog.row_fn = t->dsp.fhog_row;
    t->align.dsp = &t->dsp;
#if AU_CFG_SIMD
    if ((st = au_predictor_use_dsp(&t->fa.predictor, &t->dsp, AU_CFG_SIMD >= 2, err)))
        goto fail;
    /* CalcParams of the AU alignment through the table too */
    t->au_work.dsp = &t->dsp;
#endif
#if AU_CFG_SIMD >= 2
    /* running medians read from the previous median bin (same values) */
    if ((st = au_running_median_track(&t->fa.hog_median, err)) ||
        (st = au_running_median_track(&t->fa.geom_median, err)))
        goto fail;
#endif
    t->hog = malloc(sizeof(float) * (size_t)au_fhog_size(&t->fhog));
    if (!t->hog) {
        st = au_error_set(err, AU_ERR_NOMEM, "out of memory");
        goto fail;
    }
    *out = t;
    return AU_OK;
fail:
    au_tracker_free(t);
    return st;
}

void au_tracker_free(AuTracker *t)
{
    if (!t)
        return;
    au_clnf_free(&t->clnf);
    for (int i = 0; i < t->n_snaps; i++) {
        if (t->snaps)
            snap_free(&t->snaps[i]);
        if (t->saved)
            snap_free(&t->saved[i]);
    }
    free(t->snaps);
    free(t->saved);
    au_image_f32_free(&t->grayf);
    au_mtcnn_free(&t->mtcnn);
    au_validator_free(&t->validator);
    au_pdm_work_free(&t->main_work);
    au_pdm_work_free(&t->au_work);
    au_face_outputs_free(&t->outputs);
    au_face_align_free(&t->align);
    au_image_u8_free(&t->aligned);
    au_fhog_free(&t->fhog);
    free(t->hog);
    au_face_analyser_free(&t->fa);
    au_predictor_free(&t->img_pred);
    free(t->img_hog);
    free(t->img_geom);
    free(t->img_reg);
    free(t->img_class);
    free(t->img_boxes);
    free(t->img_faces);
    if (t->finished)
        au_face_analyser_output_free(&t->final);
    free(t);
}

/* CLNF::DetectLandmarks including its validation step. tracking: a fit
 * from the last frame's estimate (not a detection's hypothesis), which
 * AU_CFG_VALIDATE_EVERY may leave unvalidated. */
static AuStatus detect_landmarks(AuTracker *t, int tracking, int *success, AuError *err)
{
    int fit_success = 0;
    AuStatus st = au_clnf_detect_landmarks(&t->clnf, &t->grayf, &t->params, &fit_success, err);
    if (st)
        return st;
    if (AU_CFG_VALIDATE_EVERY > 1 && tracking && t->params.validate_detections && fit_success &&
        t->detection_success && t->since_validation + 1 < AU_CFG_VALIDATE_EVERY) {
        /* the last validation passed: its confidence stands for this fit */
        t->since_validation++;
        *success = t->detection_success;
        return AU_OK;
    }
    t->since_validation = 0;
    if (t->params.validate_detections && fit_success) {
        double rot[3] = {t->clnf.params_global[1], t->clnf.params_global[2], t->clnf.params_global[3]};
        double cert;
        uint64_t t0 = au_profile_now_ns();
        st = au_validator_check(&t->validator, rot, t->frame_gray, t->clnf.landmarks, t->clnf.n, &cert, err);
        au_profile_add(&t->prof, AU_STAGE_VALIDATE, t0);
        if (st)
            return st;
        /* Check returns a float */
        t->detection_certainty = (float)cert;
        t->detection_success = (float)cert > t->params.validation_boundary;
    } else {
        t->detection_success = fit_success;
        t->detection_certainty = fit_success ? 1.0 : 0.0;
    }
    *success = t->detection_success;
    return AU_OK;
}

static void set_windows(AuClnfParams *p, const int *w, int n)
{
    p->n_window_sizes_current = n;
    memcpy(p->window_sizes_current, w, sizeof(int) * (size_t)n);
}

/* DetectLandmarksInImage with multi_view: every rotation hypothesis from the
 * box, the one with the highest model likelihood kept (main and parts). */
static AuStatus detect_in_image(AuTracker *t, const AuRectF *box, int *success, AuError *err)
{
    static const float hyps[11][3] = {{0, 0, 0},       {0, -0.5236f, 0}, {0, 0.5236f, 0},   {0, -0.96f, 0},
                                      {0, 0.96f, 0},   {0, 0, 0.5236f},  {0, 0, -0.5236f},  {0, -1.57f, 0},
                                      {0, 1.57f, 0},   {0, -1.22f, 0.698f}, {0, 1.22f, -0.698f}};
    int n_hyp = t->params.multi_view ? 11 : 1;
    set_windows(&t->params, t->params.window_sizes_init, t->params.n_window_sizes_init);
    float best_lhood = 0;
    double best_cert = 0;
    int best_success = 0;
    for (int h = 0; h < n_hyp; h++) {
        for (int i = 0; i < t->n_snaps; i++) {
            AuClnf *c = snap_model(t, i);
            memset(c->params_local, 0, sizeof(float) * (size_t)c->m);
        }
        float g[6];
        au_pdm_params_from_bbox(&t->ms->m.clnf.pdm, box, t->clnf.params_local, hyps[h], g, &t->main_work);
        au_clnf_set_params(&t->clnf, g, t->clnf.params_local);
        int s = 0;
        AuStatus st = detect_landmarks(t, 0, &s, err);
        if (st)
            return st;
        if (h == 0 || best_lhood < t->clnf.model_likelihood) {
            best_lhood = t->clnf.model_likelihood;
            best_cert = t->detection_certainty;
            best_success = s;
            for (int i = 0; i < t->n_snaps; i++)
                snap_take(&t->snaps[i], snap_model(t, i));
        }
        if (AU_CFG_HYPOTHESIS_ACCEPT < 1 && s && t->detection_certainty >= AU_CFG_HYPOTHESIS_ACCEPT)
            break; /* config.h: good enough, the other rotations are not tried */
    }
    for (int i = 0; i < t->n_snaps; i++)
        snap_restore(&t->snaps[i], snap_model(t, i));
    t->clnf.model_likelihood = best_lhood;
    t->detection_success = best_success;
    t->detection_certainty = best_cert;
    *success = best_success;
    return AU_OK;
}

static AuStatus find_face(AuTracker *t, int *found, AuRectF *box, AuError *err)
{
    if (t->override_pending) {
        t->override_pending = 0;
        *found = t->override_found;
        *box = t->override_box;
        return AU_OK;
    }
    float confidence;
    return au_mtcnn_detect_single(&t->mtcnn, t->frame_bgr, found, box, &confidence, err);
}

/* LandmarkDetector::DetectLandmarksInVideo. */
static AuStatus detect_in_video(AuTracker *t, int *result, AuError *err)
{
    AuStatus st;
    int initial_detection = !t->tracking_initialised;
    if (t->tracking_initialised) {
        if (!t->detection_success)
            set_windows(&t->params, t->params.window_sizes_init, t->params.n_window_sizes_init);
        else
            set_windows(&t->params, t->params.window_sizes_small, t->params.n_window_sizes_small);
        int track_success = 0;
        if (AU_CFG_PARTS_EVERY > 1) {
            t->params.place_parts_only = t->detection_success && t->since_parts + 1 < AU_CFG_PARTS_EVERY;
            t->since_parts = t->params.place_parts_only ? t->since_parts + 1 : 0;
        }
        st = detect_landmarks(t, 1, &track_success, err);
        t->params.place_parts_only = 0;
        if (st)
            return st;
        t->failures_in_a_row = track_success ? -1 : t->failures_in_a_row + 1;
    }
    int every = t->params.reinit_video_every;
    if ((!t->tracking_initialised && (t->failures_in_a_row + 1) % (every * 6) == 0) ||
        (t->tracking_initialised && !t->detection_success && every > 0 && t->failures_in_a_row % every == 0)) {
        int found = 0;
        AuRectF box;
        uint64_t t0 = au_profile_now_ns();
        st = find_face(t, &found, &box, err);
        au_profile_add(&t->prof, AU_STAGE_DETECT, t0);
        if (st)
            return st;
        if (found) {
            t->tracking_initialised = 1;
            for (int i = 0; i < t->n_snaps; i++)
                snap_take(&t->saved[i], snap_model(t, i));
            memset(t->clnf.params_local, 0, sizeof(float) * (size_t)t->clnf.m);
            int s = 0;
            t->params.multi_view = 1;
            st = detect_in_image(t, &box, &s, err);
            t->params.multi_view = 0;
            if (st)
                return st;
            if (!initial_detection && !s) {
                /* Restore the previous estimate (the main model only, as
                 * OpenFace; detection_success stays the failed detection's). */
                snap_restore(&t->saved[0], &t->clnf);
                *result = 0;
                return AU_OK;
            }
            t->failures_in_a_row = -1;
            *result = 1;
            return AU_OK;
        }
    }
    if (!t->tracking_initialised)
        t->failures_in_a_row++;
    if (t->failures_in_a_row > 100)
        t->tracking_initialised = 0;
    *result = t->detection_success;
    return AU_OK;
}


/* Whether this frame skips CLNF (config.h AU_CFG_FRAME_SKIP): only while
 * tracking holds with a validated last fit whose landmarks moved at most
 * AU_CFG_SKIP_MAX_MOTION pixels per frame since the fit before, never when a
 * detection is due. On a skipped frame the last fit's parameters stay, or
 * (AU_CFG_SKIP_EXTRAPOLATE) its translation moves on at the rate of the last
 * two fits. */
static int skip_fit(AuTracker *t, int *gap)
{
    const int skipped = t->since_fit; /* frames skipped since the last fit */
    if (AU_CFG_FRAME_SKIP <= 1 || !t->tracking_initialised || !t->detection_success || t->override_pending ||
        t->fit_gap == 0 || t->fit_motion > AU_CFG_SKIP_MAX_MOTION || skipped + 1 >= AU_CFG_FRAME_SKIP) {
        t->since_fit = 0;
        *gap = skipped + 1; /* frames from the last fit to this one */
        return 0;
    }
    t->since_fit = skipped + 1;
    if (AU_CFG_SKIP_EXTRAPOLATE) {
        float g[6];
        memcpy(g, t->clnf.params_global, sizeof(g));
        g[4] += t->fit_vel[0];
        g[5] += t->fit_vel[1];
        au_clnf_set_params(&t->clnf, g, t->clnf.params_local);
    }
    return 1;
}

/* After a fit: how far the landmarks moved per frame since the previous fit. */
static void note_fit(AuTracker *t, int gap)
{
    const int n = t->clnf.n < AU_N_LANDMARKS ? t->clnf.n : AU_N_LANDMARKS;
    double sum = 0, sx = 0, sy = 0;
    for (int i = 0; i < n; i++) {
        const double dx = t->clnf.landmarks[i] - t->prev_fit_landmarks[i];
        const double dy = t->clnf.landmarks[i + n] - t->prev_fit_landmarks[i + n];
        sum += hypot(dx, dy);
        sx += dx;
        sy += dy;
    }
    t->fit_motion = t->fit_gap > 0 && gap > 0 ? sum / n / gap : INFINITY;
    t->fit_vel[0] = gap > 0 ? (float)(sx / n / gap) : 0;
    t->fit_vel[1] = gap > 0 ? (float)(sy / n / gap) : 0;
    t->fit_gap = gap;
    memcpy(t->prev_fit_landmarks, t->clnf.landmarks, sizeof(float) * 2 * (size_t)n);
}

/* FaceAnalyser::AddNextFrame's CalcParams: the AU analyser PDM's parameters
 * for this frame's landmarks. The knobs (config.h) shorten it: a skipped
 * frame's landmarks are the last ones moved as a whole, and CalcParams is
 * translation-equivariant, so its result is the last one moved the same
 * way (AU_CFG_WARM_CALCPARAMS); a fitted frame's landmarks are the main
 * model's shape for its own parameters, the same PDM
 * (AU_CFG_AU_PARAMS_FROM_FIT). */
static void au_analyser_params(AuTracker *t, int skipped, const float skip_shift[2], float g[6], float *local)
{
    const AuPdm *pdm = &t->ms->m.au_pdm;
    const AuClnf *c = &t->clnf;
    const size_t local_bytes = sizeof(float) * (size_t)pdm->n_modes;
    if (AU_CFG_WARM_CALCPARAMS && skipped && t->au_warm_global[0] > 0) {
        memcpy(g, t->au_warm_global, 6 * sizeof(float));
        memcpy(local, t->au_warm_local, local_bytes);
        g[4] += skip_shift[0];
        g[5] += skip_shift[1];
    } else if (AU_CFG_AU_PARAMS_FROM_FIT && !skipped && t->au_pdm_is_main) {
        memcpy(g, c->params_global, 6 * sizeof(float));
        memcpy(local, c->params_local, local_bytes);
    } else if (AU_CFG_WARM_CALCPARAMS) {
        au_pdm_params_from_landmarks_warm(pdm, c->landmarks, NULL, t->au_warm_global, t->au_warm_local, g, local,
                                          &t->au_work);
    } else {
        au_pdm_params_from_landmarks(pdm, c->landmarks, NULL, g, local, &t->au_work);
    }
    if (AU_CFG_WARM_CALCPARAMS) {
        memcpy(t->au_warm_global, g, 6 * sizeof(float));
        memcpy(t->au_warm_local, local, local_bytes);
    }
}

AuStatus au_tracker_process(AuTracker *t, const AuInputFrame *in, AuFrameResult *r, AuError *err)
{
    if (t->finished)
        return au_error_set(err, AU_ERR_ARG, "tracker already finished; create a new one for the next video");
    if (!in->bgr || !in->gray || in->width <= 0 || in->height <= 0)
        return au_error_set(err, AU_ERR_ARG, "frame %lld: empty image", (long long)in->frame_number);
    AuStatus st;
    if (t->grayf.width != in->width || t->grayf.height != in->height) {
        au_image_f32_free(&t->grayf);
        if ((st = au_image_f32_alloc(&t->grayf, in->width, in->height, err)))
            return st;
    }
    AuImageU8 gray = {in->width, in->height, 1, in->gray_stride, (uint8_t *)in->gray};
    AuImageU8 bgr = {in->width, in->height, 3, in->bgr_stride, (uint8_t *)in->bgr};
    t->frame_bgr = &bgr;
    t->frame_gray = &gray;

    int success = 0, gap = 1, skipped = 0;
    float skip_shift[2] = {0, 0}; /* how far skip_fit moved the landmarks */
    if (AU_CFG_FRAME_SKIP > 1) {
        skip_shift[0] = t->clnf.params_global[4];
        skip_shift[1] = t->clnf.params_global[5];
    }
    if (AU_CFG_FRAME_SKIP > 1 && skip_fit(t, &gap)) {
        /* this frame keeps the last fit (and its validation) */
        success = t->detection_success;
        skipped = 1;
        skip_shift[0] = t->clnf.params_global[4] - skip_shift[0];
        skip_shift[1] = t->clnf.params_global[5] - skip_shift[1];
    } else {
#if AU_CFG_PREDICT_START
        if (t->tracking_initialised && t->detection_success && t->fit_gap > 0 && !t->override_pending &&
            t->fit_motion <= 50.0 && t->fit_motion >= AU_CFG_PREDICT_MIN_MOTION) {
            /* config.h: the start moves on at the last two fits' rate (only
             * when those were two tracked fits: fit_motion is infinite after
             * the first, and a jump of more than 50 px per frame is a
             * re-detection, not motion) */
            float g[6];
            memcpy(g, t->clnf.params_global, sizeof(g));
            g[4] += t->fit_vel[0];
            g[5] += t->fit_vel[1];
            au_clnf_set_params(&t->clnf, g, t->clnf.params_local);
        }
#endif
#if AU_CFG_SIMD >= 2
        /* CLNF samples the 8-bit frame itself: the same values, no float copy */
        au_clnf_set_gray8(&t->clnf, &gray);
        st = detect_in_video(t, &success, err);
        au_clnf_set_gray8(&t->clnf, NULL);
        if (st)
            return st;
#else
        /* the float image CLNF samples (only fitted frames need it) */
        for (int y = 0; y < in->height; y++)
            t->dsp.u8_to_f32(au_image_f32_row(&t->grayf, y), au_image_u8_row(&gray, y), in->width);
        if ((st = detect_in_video(t, &success, err)))
            return st;
#endif
        if (AU_CFG_FRAME_SKIP > 1 || AU_CFG_PREDICT_START)
            note_fit(t, success ? gap : 0);
    }

    memset(r, 0, sizeof(*r));
    r->frame_number = in->frame_number;
    r->timestamp = in->timestamp;
    r->success = success;
    r->confidence = t->detection_certainty;
    const AuModels *m = &t->ms->m;
    const AuClnf *c = &t->clnf;
    memcpy(r->landmarks, c->landmarks, sizeof(r->landmarks));
    memcpy(r->params_global, c->params_global, sizeof(r->params_global));
    memcpy(r->params_local, c->params_local, sizeof(r->params_local));
    /* FeatureExtraction's per-frame outputs (face_outputs.h): pose, 3D
     * landmarks and eye landmarks on every frame, gaze on successful ones. */
    AuCamera cam = au_camera_intrinsics(in->width, in->height, (float)t->opts.fx, (float)t->opts.fy,
                                        (float)t->opts.cx, (float)t->opts.cy);
    uint64_t t0 = au_profile_now_ns();
    au_face_pose(&t->outputs, c, &cam, r->pose);
    au_face_shape3d(&t->outputs, c, &cam, r->landmarks_3d);
    au_face_eye_landmarks(&t->outputs, c, r->eye_landmarks);
    au_face_eye_landmarks_3d(&t->outputs, c, &cam, r->eye_landmarks_3d);
    if (success) {
        AuGazeEye eyes[2];
        au_face_gaze(&t->outputs, c, &cam, r->pose, r->landmarks_3d, eyes, r->gaze_angle);
        memcpy(r->gaze_dir0, eyes[0].gaze, sizeof(r->gaze_dir0));
        memcpy(r->gaze_dir1, eyes[1].gaze, sizeof(r->gaze_dir1));
    }
    t0 = au_profile_add(&t->prof, AU_STAGE_GAZE, t0);

    /* FaceAnalyser::AddNextFrame */
    float g[6], local[AU_N_PDM_MODES];
    if (success) {
        au_analyser_params(t, skipped, skip_shift, g, local);
        if ((st = au_face_align(&t->align, &bgr, c->landmarks, g, &t->aligned, err)))
            return st;
        t0 = au_profile_add(&t->prof, AU_STAGE_ALIGN, t0);
        if ((st = au_fhog_run(&t->fhog, &t->aligned, t->hog, err)))
            return st;
        t0 = au_profile_add(&t->prof, AU_STAGE_FHOG, t0);
    }
    if ((st = au_face_analyser_add_frame(&t->fa, success ? t->hog : NULL, success ? local : NULL, success,
                                         in->timestamp, err)))
        return st;
    au_profile_add(&t->prof, AU_STAGE_AU_PREDICT, t0);
    const AuAuModels *am = t->opts.static_aus ? &m->au_static : &m->au_dynamic;
    const double *on_r = au_face_analyser_online_intensities(&t->fa);
    const double *on_c = au_face_analyser_online_presences(&t->fa);
    for (int k = 0; k < AU_N_AU_REG && k < au_au_models_intensity_count(am); k++)
        r->au_reg[k] = on_r ? on_r[au_au_models_intensity_sorted_index(am, k)] : 0;
    for (int k = 0; k < AU_N_AU_CLASS && k < au_au_models_presence_count(am); k++)
        r->au_class[k] = on_c ? on_c[au_au_models_presence_sorted_index(am, k)] : 0;
    t->n_frames++;
    return AU_OK;
}

AuStatus au_tracker_finish(AuTracker *t, AuError *err)
{
    if (t->finished)
        return AU_OK;
    uint64_t t0 = au_profile_now_ns();
    AuStatus st = au_face_analyser_finish(&t->fa, &t->final, err);
    if (st)
        return st;
    au_profile_add(&t->prof, AU_STAGE_POSTPROCESS, t0);
    t->finished = 1;
    return AU_OK;
}

AuStatus au_tracker_final_aus(const AuTracker *t, size_t i, double au_reg[AU_N_AU_REG],
                              double au_class[AU_N_AU_CLASS], AuError *err)
{
    if (!t->finished)
        return au_error_set(err, AU_ERR_ARG, "final AUs asked for before au_tracker_finish");
    if (i >= (size_t)t->final.n_frames)
        return au_error_set(err, AU_ERR_ARG, "frame %zu out of range (%d frames)", i, t->final.n_frames);
    for (int k = 0; k < AU_N_AU_REG; k++)
        au_reg[k] = k < t->final.n_intensity ? t->final.intensity[i * (size_t)t->final.n_intensity + (size_t)k] : 0;
    for (int k = 0; k < AU_N_AU_CLASS; k++)
        au_class[k] = k < t->final.n_presence ? t->final.presence[i * (size_t)t->final.n_presence + (size_t)k] : 0;
    return AU_OK;
}

const char *au_tracker_au_reg_name(const AuTracker *t, int i)
{
    const AuAuModels *am = t->opts.static_aus ? &t->ms->m.au_static : &t->ms->m.au_dynamic;
    if (i < 0 || i >= au_au_models_intensity_count(am))
        return NULL;
    return au_au_models_intensity_name(am, au_au_models_intensity_sorted_index(am, i));
}

const char *au_tracker_au_class_name(const AuTracker *t, int i)
{
    const AuAuModels *am = t->opts.static_aus ? &t->ms->m.au_static : &t->ms->m.au_dynamic;
    if (i < 0 || i >= au_au_models_presence_count(am))
        return NULL;
    return au_au_models_presence_name(am, au_au_models_presence_sorted_index(am, i));
}

int au_tracker_timings(const AuTracker *t, AuStageTiming *out, int n)
{
    for (int i = 0; i < AU_STAGE_COUNT && i < n; i++) {
        out[i].name = au_stage_name((AuStage)i);
        out[i].calls = t->prof.calls[i];
        out[i].total_ns = t->prof.ns[i];
    }
    return AU_STAGE_COUNT;
}

/* FaceAnalyser::PredictStaticAUsAndComputeFeatures on the face the CLNF
 * state holds: CalcParams of the landmarks on the analyser's PDM,
 * AlignFaceMask, FHOG, the geometry descriptor, the static SVR/SVM models
 * (no running median), intensities clipped to [0, 5]. Results in the CSV's
 * alphabetical order. FaceLandmarkImg calls it whether or not the fit
 * succeeded. */
static AuStatus predict_static_aus(AuTracker *t, const AuImageU8 *bgr, AuFrameResult *r, uint64_t *t0, AuError *err)
{
    const AuModels *m = &t->ms->m;
    float g[6], local[AU_N_PDM_MODES];
    au_pdm_params_from_landmarks(&m->au_pdm, t->clnf.landmarks, NULL, g, local, &t->au_work);
    AuStatus st = au_face_align(&t->align, bgr, t->clnf.landmarks, g, &t->aligned, err);
    if (st)
        return st;
    *t0 = au_profile_add(&t->prof, AU_STAGE_ALIGN, *t0);
    if ((st = au_fhog_run(&t->fhog, &t->aligned, t->hog, err)))
        return st;
    *t0 = au_profile_add(&t->prof, AU_STAGE_FHOG, *t0);
    /* OpenFace's descriptor is a Mat_<double> copy of dlib's float FHOG. */
    for (int i = 0; i < AU_FACE_ANALYSER_HOG_LEN; i++)
        t->img_hog[i] = (double)t->hog[i];
    au_geom_descriptor(&m->au_pdm, local, t->img_geom);
    au_predict_intensities(&t->img_pred, t->img_hog, t->img_geom, NULL, NULL, t->img_reg);
    au_predict_presences(&t->img_pred, t->img_hog, t->img_geom, NULL, NULL, t->img_class);
    const AuAuModels *am = &m->au_static;
    for (int k = 0; k < AU_N_AU_REG && k < t->img_pred.n_intensity; k++) {
        double v = t->img_reg[au_au_models_intensity_sorted_index(am, k)];
        r->au_reg[k] = v < 0 ? 0 : v > 5 ? 5 : v;
    }
    for (int k = 0; k < AU_N_AU_CLASS && k < t->img_pred.n_presence; k++)
        r->au_class[k] = t->img_class[au_au_models_presence_sorted_index(am, k)];
    *t0 = au_profile_add(&t->prof, AU_STAGE_AU_PREDICT, *t0);
    return AU_OK;
}

static AuStatus image_capacity(AuTracker *t, int n, AuError *err)
{
    if (n <= t->img_cap)
        return AU_OK;
    AuRectF *b = realloc(t->img_boxes, sizeof(*b) * (size_t)n);
    if (b)
        t->img_boxes = b;
    AuFrameResult *f = realloc(t->img_faces, sizeof(*f) * (size_t)n);
    if (f)
        t->img_faces = f;
    if (!b || !f)
        return au_error_set(err, AU_ERR_NOMEM, "out of memory for %d faces", n);
    t->img_cap = n;
    return AU_OK;
}

/* FaceLandmarkImg's loop over one image (exe/FaceLandmarkImg/FaceLandmarkImg.cpp):
 * DetectFacesMTCNN (every face, no selection), then per face
 * DetectLandmarksInImage(box) with FaceLandmarkImg's parameters, which are
 * FaceModelParameters' defaults (multi_view off: the single hypothesis
 * (0, 0, 0); windows 11 9 7 5; parts; validator), GetPose with the image's
 * own intrinsics (ImageCapture::SetCameraIntrinsics per image), gaze
 * (EstimateGaze whatever the detection's outcome, unlike FeatureExtraction)
 * and PredictStaticAUsAndComputeFeatures. The static AU models are used
 * whatever opts.static_aus says (FaceAnalyserParameters::OptimizeForImages).
 * The fits reuse the tracker's CLNF state, as FaceLandmarkImg reuses one
 * model: a tracker that has processed images should not go on tracking a
 * video. */
/* The still-image state (static AU predictor and its buffers), made on the
 * first image, so that trackers of videos never build it. */
static AuStatus image_state_init(AuTracker *t, AuError *err)
{
    if (t->img_hog)
        return AU_OK;
    const AuModels *m = &t->ms->m;
    AuStatus st = au_predictor_init(&t->img_pred, &m->au_static, AU_FACE_ANALYSER_HOG_LEN,
                                    au_geom_descriptor_size(&m->au_pdm), err);
    if (st)
        return st;
    t->img_geom = malloc(sizeof(double) * (size_t)au_geom_descriptor_size(&m->au_pdm));
    t->img_reg = calloc((size_t)t->img_pred.n_intensity + 1, sizeof(double));
    t->img_class = calloc((size_t)t->img_pred.n_presence + 1, sizeof(double));
    t->img_hog = malloc(sizeof(double) * AU_FACE_ANALYSER_HOG_LEN); /* last: it marks the state as made */
    if (!t->img_hog || !t->img_geom || !t->img_reg || !t->img_class) {
        au_predictor_free(&t->img_pred);
        free(t->img_hog);
        free(t->img_geom);
        free(t->img_reg);
        free(t->img_class);
        t->img_hog = t->img_geom = t->img_reg = t->img_class = NULL;
        return au_error_set(err, AU_ERR_NOMEM, "out of memory");
    }
    return AU_OK;
}

AuStatus au_tracker_process_image(AuTracker *t, const AuInputFrame *in, const AuFrameResult **faces, int *n_faces,
                                  AuError *err)
{
    *faces = NULL;
    *n_faces = 0;
    if (!in->bgr || !in->gray || in->width <= 0 || in->height <= 0)
        return au_error_set(err, AU_ERR_ARG, "image %lld: empty image", (long long)in->frame_number);
    AuStatus st;
    if ((st = image_state_init(t, err)))
        return st;
    if (t->grayf.width != in->width || t->grayf.height != in->height) {
        au_image_f32_free(&t->grayf);
        if ((st = au_image_f32_alloc(&t->grayf, in->width, in->height, err)))
            return st;
    }
    AuImageU8 gray = {in->width, in->height, 1, in->gray_stride, (uint8_t *)in->gray};
    AuImageU8 bgr = {in->width, in->height, 3, in->bgr_stride, (uint8_t *)in->bgr};
    au_gray_u8_to_f32(&gray, &t->grayf);
    t->frame_bgr = &bgr;
    t->frame_gray = &gray;

    /* FaceDetectorMTCNN::DetectFaces with OpenFace's defaults (min face 60,
     * thresholds 0.6 / 0.7 / 0.7), the colour image in. */
    const AuMtcnnBox *boxes;
    int n = 0;
    uint64_t t0 = au_profile_now_ns();
    st = au_mtcnn_detect(&t->mtcnn, &bgr, 60, 0.6f, 0.7f, 0.7f, &boxes, &n, err);
    t0 = au_profile_add(&t->prof, AU_STAGE_DETECT, t0);
    if (st)
        return st;
    if (n == 0)
        return AU_OK;
    if ((st = image_capacity(t, n, err)))
        return st;
    for (int i = 0; i < n; i++)
        t->img_boxes[i] = (AuRectF){boxes[i].x, boxes[i].y, boxes[i].w, boxes[i].h};

    AuCamera cam = au_camera_intrinsics(in->width, in->height, (float)t->opts.fx, (float)t->opts.fy,
                                        (float)t->opts.cx, (float)t->opts.cy);
    t->params.multi_view = t->ms->params.multi_view;
    for (int i = 0; i < n; i++) {
        AuFrameResult *r = &t->img_faces[i];
        int success = 0;
        /* OpenFace's fit whatever the variant (AuClnfParams.openface_fit) */
        t->params.openface_fit = 1;
        st = detect_in_image(t, &t->img_boxes[i], &success, err);
        t->params.openface_fit = 0;
        if (st)
            return st;
        memset(r, 0, sizeof(*r));
        r->frame_number = in->frame_number;
        r->timestamp = in->timestamp;
        r->success = success;
        r->confidence = t->detection_certainty;
        const AuClnf *c = &t->clnf;
        memcpy(r->landmarks, c->landmarks, sizeof(r->landmarks));
        memcpy(r->params_global, c->params_global, sizeof(r->params_global));
        memcpy(r->params_local, c->params_local, sizeof(r->params_local));
        t0 = au_profile_now_ns();
        au_face_pose(&t->outputs, c, &cam, r->pose);
        au_face_shape3d(&t->outputs, c, &cam, r->landmarks_3d);
        au_face_eye_landmarks(&t->outputs, c, r->eye_landmarks);
        au_face_eye_landmarks_3d(&t->outputs, c, &cam, r->eye_landmarks_3d);
        AuGazeEye eyes[2];
        if (au_face_gaze(&t->outputs, c, &cam, r->pose, r->landmarks_3d, eyes, r->gaze_angle)) {
            memcpy(r->gaze_dir0, eyes[0].gaze, sizeof(r->gaze_dir0));
            memcpy(r->gaze_dir1, eyes[1].gaze, sizeof(r->gaze_dir1));
        } else {
            /* FaceLandmarkImg's initial values when there is no eye model */
            r->gaze_dir0[2] = r->gaze_dir1[2] = -1;
        }
        t0 = au_profile_add(&t->prof, AU_STAGE_GAZE, t0);
        if ((st = predict_static_aus(t, &bgr, r, &t0, err)))
            return st;
    }
    t->frame_bgr = NULL;
    t->frame_gray = NULL;
    *faces = t->img_faces;
    *n_faces = n;
    return AU_OK;
}
