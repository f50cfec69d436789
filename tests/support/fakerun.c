/* See fakerun.h. */
#include "fakerun.h"

#include "autest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metric_names.h"
#include "metrics.h"
#include "openface_csv.h"
#include "store.h"

const char *const fakerun_stage_names[FAKERUN_N_STAGES] = {
    "decode", "detect", "response", "meanshift", "update", "parts", "validate",
    "align",  "fhog",   "median",   "au_predict", "gaze", "postprocess",
};

/* Plausible profiles: the baseline spends most of its time in the patch
 * responses; SIMD shrinks those, so decoding's share grows; fast also skips
 * half the fits. */
const double fakerun_stage_share[3][FAKERUN_N_STAGES] = {
    {0.04, 0.03, 0.42, 0.10, 0.12, 0.10, 0.05, 0.015, 0.04, 0.02, 0.025, 0.01, 0.005},
    {0.12, 0.06, 0.25, 0.10, 0.15, 0.10, 0.06, 0.03, 0.04, 0.03, 0.03, 0.02, 0.01},
    {0.18, 0.10, 0.18, 0.08, 0.10, 0.08, 0.06, 0.04, 0.05, 0.03, 0.03, 0.02, 0.01},
};

enum { V_BASELINE, V_SIMD, V_FAST, V_OPENFACE, N_VARIANTS };
enum { I_DEFAULT, I_LIGHTING, I_IMAGES, N_ITEMS };

static const char *const variant_names[N_VARIANTS] = {"baseline", "simd", "fast", "openface"};
static const char *const item_names[N_ITEMS] = {"default", "changeLighting", "300w_lfpw_test_crops"};
static const char *const item_inputs[N_ITEMS] = {"openface/videos/default.wmv", "openface/videos/changeLighting.wmv",
                                                 "datasets/300w_lfpw_test_crops"};
static const char *const item_labels[N_ITEMS] = {"openface/reference/default.csv",
                                                 "openface/reference/changeLighting.csv",
                                                 "datasets/300w_lfpw_test_crops"};
static const int item_frames[N_ITEMS] = {288, 88, FAKERUN_N_IMAGES};

typedef struct JobSpec {
    double wall_s;           /* 0: OpenFace's given fps */
    double fps_given;
    double lmk_px, nme, au_r, presence;
    double noise_px, noise_au; /* per-frame noise (sd) for the frames */
} JobSpec;

/* The table of fakerun.h. */
static const JobSpec specs[N_VARIANTS][N_ITEMS] = {
    {{9.6, 0, 0.05, 0.0005, 0.9998, 0.998, 0.06, 0.004},
     {3.2, 0, 0.07, 0.0007, 0.9995, 0.997, 0.08, 0.005},
     {2.0, 0, 3.10, 0.031, NAN, NAN, 0, 0}},
    {{3.2, 0, 0.05, 0.0005, 0.9998, 0.998, 0.06, 0.004},
     {1.1, 0, 0.07, 0.0007, 0.9995, 0.997, 0.08, 0.005},
     {0.5, 0, 3.10, 0.031, NAN, NAN, 0, 0}},
    {{1.6, 0, 1.80, 0.018, 0.95, 0.94, 2.0, 0.12},
     {0.55, 0, 2.10, 0.021, 0.93, 0.95, 2.3, 0.14},
     {0.25, 0, 4.50, 0.045, NAN, NAN, 0, 0}},
    {{0, 41.3, 0, 0, 1, 1, 0, 0}, {0, 33.5, 0, 0, 1, 1, 0, 0}, {0, 0, NAN, NAN, NAN, NAN, 0, 0}},
};

/* Seeded normal noise (xorshift + Box-Muller): the same database every time. */
typedef struct Rng {
    uint32_t s;
} Rng;

static double uniform(Rng *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 17;
    r->s ^= r->s << 5;
    return ((double)r->s + 0.5) / 4294967296.0;
}

static double gauss(Rng *r)
{
    double u = uniform(r), v = uniform(r);
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

static void ok(AuStatus st, const AuError *err)
{
    if (st)
        fail_msg("fakerun: %s", err->msg);
}

static void metric(AuhJob *job, const char *name, double v)
{
    AuError err = {0};
    ok(auh_job_set_metric(job, name, v, &err), &err);
}

static void add_timings(AuhJob *job, int variant, int item)
{
    AuError err = {0};
    for (int k = 0; k < FAKERUN_N_STAGES; k++) {
        int64_t ns = (int64_t)llround(fakerun_stage_share[variant][k] * (double)job->wall_ns);
        int64_t calls = item_frames[item];
        if (!strcmp(fakerun_stage_names[k], "postprocess"))
            calls = item == I_IMAGES ? 0 : 1;
        else if (!strcmp(fakerun_stage_names[k], "detect") && item != I_IMAGES)
            calls = 1;
        if (calls)
            ok(auh_job_add_timing(job, fakerun_stage_names[k], calls, ns, &err), &err);
    }
}

/* Frames of a video job: the reference CSV plus noise. */
static void video_frames(AuhJob *job, const AuhOfCsv *ref, const JobSpec *sp, int n_frames, Rng *rng)
{
    AuError err = {0};
    int n_r = ref->layout.n_au_reg, n_c = ref->layout.n_au_class;
    float lm[2 * 68];
    double lab[2 * 68], pred[2 * 68], au_r[AUH_OF_MAX_AUS], au_c[AUH_OF_MAX_AUS];
    for (int f = 0; f < n_frames; f++) {
        size_t row = (size_t)f;
        for (int i = 0; i < 68; i++) {
            lab[i] = auh_of_csv_landmark_x(ref, row, i);
            lab[68 + i] = auh_of_csv_landmark_y(ref, row, i);
        }
        /* a slow drift plus jitter, as tracking error looks */
        double drift = sp->noise_px * 0.8 * sin(f / 23.0);
        for (int i = 0; i < 136; i++) {
            pred[i] = lab[i] + drift + sp->noise_px * 0.6 * gauss(rng);
            lm[i] = (float)pred[i];
        }
        for (int a = 0; a < n_r; a++) {
            double v = auh_of_csv_get(ref, row, ref->col_au_reg0 + a) + sp->noise_au * gauss(rng);
            au_r[a] = sp->noise_au > 0 ? fmin(5, fmax(0, v)) : auh_of_csv_get(ref, row, ref->col_au_reg0 + a);
        }
        for (int a = 0; a < n_c; a++) {
            double v = auh_of_csv_get(ref, row, ref->col_au_class0 + a);
            au_c[a] = uniform(rng) < 1 - sp->presence ? 1 - v : v;
        }
        AuhFrameRecord rec = {
            .frame = f + 1,
            .face = 0,
            .name = NULL,
            .timestamp = auh_of_csv_timestamp(ref, row),
            .success = 1,
            .confidence = 0.98,
            .landmarks = lm,
            .au_r = au_r,
            .au_c = au_c,
        };
        ok(auh_job_add_frame(job, &rec, &err), &err);
        AuhJobFrame *jf = &job->frames[job->n_frames - 1];
        for (int i = 0; i < 136; i++)
            pred[i] = lm[i];
        jf->lmk_px = auh_lmk_mean_error(pred, lab, 68);
        jf->nme = auh_lmk_nme(pred, lab, 68);
    }
}

static void image_frames(AuhJob *job, const JobSpec *sp, int variant, Rng *rng)
{
    AuError err = {0};
    for (int f = 0; f < FAKERUN_N_IMAGES; f++) {
        char name[64];
        snprintf(name, sizeof(name), "lfpw_test_image_%04d.jpg", f + 1);
        int missed = variant == V_FAST && f == 6;
        AuhFrameRecord rec = {.frame = f + 1, .name = name, .timestamp = NAN, .success = !missed,
                              .confidence = missed ? NAN : 0.9};
        ok(auh_job_add_frame(job, &rec, &err), &err);
        AuhJobFrame *jf = &job->frames[job->n_frames - 1];
        if (missed)
            continue;
        /* log-normal around the job's NME, one hard image beyond 0.08 */
        double nme = f == 12 ? 0.11 : sp->nme * exp(0.35 * gauss(rng) - 0.06);
        jf->nme = nme;
        jf->lmk_px = nme * 100.0; /* crops with ~100 px outer inter-ocular distance */
    }
}

static void per_au_metrics(AuhJob *job, const AuhOfCsv *ref, const JobSpec *sp, int item)
{
    int n = ref->layout.n_au_reg, n_def = 0;
    /* per-AU r spread symmetrically around the job's mean so their mean is it */
    double spread = fmin(0.08, 0.9 * (1 - sp->au_r));
    for (int a = 0; a < n; a++) {
        char name[64];
        int left_out = item == I_LIGHTING && !strcmp(ref->layout.au_reg[a], "AU10");
        snprintf(name, sizeof(name), "%s%s", AUH_M_AU_R_PREFIX, ref->layout.au_reg[a]);
        if (left_out) {
            metric(job, name, NAN);
            continue;
        }
        int k = n_def++;
        int n_used = item == I_LIGHTING ? n - 1 : n;
        double d = n_used > 1 ? spread * (2.0 * k / (n_used - 1) - 1) : 0;
        /* alternate the sign so the low values are not all the first AUs */
        metric(job, name, sp->au_r + (k % 2 ? -d : d));
        snprintf(name, sizeof(name), "%s%s", AUH_M_AU_MAE_PREFIX, ref->layout.au_reg[a]);
        metric(job, name, sp->noise_au * 0.8 * (1 + 0.1 * (a % 3)));
    }
    metric(job, AUH_M_AU_LEFT_OUT, item == I_LIGHTING ? 1 : 0);
}

int64_t fakerun_build(const char *db_path, const char *run_key, double started_at, unsigned flags)
{
    AuError err = {0};
    AuhStore st;
    ok(auh_store_open(&st, db_path, &err), &err);
    AuhRunInfo info = {
        .run_key = run_key,
        .git_revision = "3f2d2ae0c1b9e8f7a6d5c4b3a2918f7e6d5c4b3a",
        .compiler = "GNU 12.2.0",
        .flags = "-O2 -Wall -Wextra",
        .cpu = "Intel(R) Xeon(R) CPU @ 2.20GHz",
        .host = "fakehost",
        .command = "auharness --all-variants",
        .started_at = started_at,
    };
    int64_t run_id;
    ok(auh_store_begin_run(&st, &info, &run_id, NULL, &err), &err);

    AuhOfCsv refs[2];
    for (int i = 0; i < 2; i++) {
        char path[2048];
        autest_path(path, sizeof(path), item_labels[i]);
        autest_require_file(path);
        ok(auh_of_csv_read(&refs[i], path, &err), &err);
        assert_int_equal((int)refs[i].n_rows, item_frames[i]);
    }
    const char *au_r_names[AUH_OF_MAX_AUS], *au_c_names[AUH_OF_MAX_AUS];
    for (int a = 0; a < refs[0].layout.n_au_reg; a++)
        au_r_names[a] = refs[0].layout.au_reg[a];
    for (int a = 0; a < refs[0].layout.n_au_class; a++)
        au_c_names[a] = refs[0].layout.au_class[a];

    Rng rng = {0x2545F491u};
    for (int v = 0; v < N_VARIANTS; v++)
        for (int it = 0; it < N_ITEMS; it++) {
            if (v == V_OPENFACE && it == I_IMAGES)
                continue; /* OpenFace's fps is known for the videos only */
            JobSpec sp = specs[v][it];
            if ((flags & FAKERUN_BELOW_GATE) && v == V_FAST && it == I_DEFAULT)
                sp.au_r = 0.87;
            int video = it != I_IMAGES;
            AuhJobInfo ji = {
                .variant = variant_names[v],
                .dataset = FAKERUN_DATASET,
                .item = item_names[it],
                .item_kind = video ? "video" : "images",
                .input = item_inputs[it],
                .labels = item_labels[it],
                .host = "fakehost",
                .cpu = "Intel(R) Xeon(R) CPU @ 2.20GHz",
                .n_landmarks = video ? 68 : 0,
                .n_au_r = video ? refs[0].layout.n_au_reg : 0,
                .n_au_c = video ? refs[0].layout.n_au_class : 0,
                .au_r_names = au_r_names,
                .au_c_names = au_c_names,
            };
            AuhJob job;
            ok(auh_job_init(&job, &ji, &err), &err);
            job.started_at = started_at + 1 + 10 * (v * N_ITEMS + it);
            int failing = (flags & FAKERUN_FAILING_JOB) && v == V_SIMD && it == I_LIGHTING;
            int n_frames = failing ? 40 : item_frames[it];
            job.wall_ns = (int64_t)llround(sp.wall_s * 1e9 * n_frames / item_frames[it]);
            job.ended_at = job.started_at + (sp.wall_s > 0 ? sp.wall_s : n_frames / sp.fps_given) + 0.3;
            if (video)
                video_frames(&job, &refs[it], &sp, n_frames, &rng);
            else
                image_frames(&job, &sp, v, &rng);
            if (failing) {
                ok(auh_job_set_failed(&job, FAKERUN_ERROR, &err), &err);
            } else {
                if (v != V_OPENFACE)
                    add_timings(&job, v, it);
                metric(&job, AUH_M_FPS, sp.wall_s > 0 ? n_frames / sp.wall_s : sp.fps_given);
                metric(&job, AUH_M_FRAMES, n_frames);
                int missed = v == V_FAST && !video;
                metric(&job, AUH_M_FRAMES_SUCCESS, n_frames - missed);
                metric(&job, AUH_M_LMK_MEAN_PX, sp.lmk_px);
                metric(&job, AUH_M_LMK_MEDIAN_PX, sp.lmk_px * 0.9);
                metric(&job, AUH_M_LMK_RMSE_PX, sp.lmk_px * 1.2);
                metric(&job, AUH_M_LMK_MEAN_NME, sp.nme);
                metric(&job, AUH_M_LMK_MEDIAN_NME, sp.nme * 0.9);
                metric(&job, AUH_M_LMK_MISSED, missed);
                if (!video) {
                    metric(&job, AUH_M_LMK_AUC, 1 - sp.nme / 0.08 - 0.02);
                    metric(&job, AUH_M_LMK_FAILURE_RATE, (1.0 + missed) / FAKERUN_N_IMAGES);
                } else {
                    metric(&job, AUH_M_AU_MEAN_R, sp.au_r);
                    per_au_metrics(&job, &refs[it], &sp, it);
                    metric(&job, AUH_M_PRESENCE_AGREEMENT, sp.presence);
                    metric(&job, AUH_M_PRESENCE_F1, sp.presence - 0.05);
                }
            }
            ok(auh_store_commit_job(&st, run_id, &job, &err), &err);
            auh_job_free(&job);
        }
    ok(auh_store_end_run(&st, run_id, started_at + 60, &err), &err);
    auh_of_csv_free(&refs[0]);
    auh_of_csv_free(&refs[1]);
    auh_store_close(&st);
    return run_id;
}
