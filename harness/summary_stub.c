/* TEMPORARY minimal implementation of summary.h, so that the runner can be
 * built and tested before wt-report's summary.c lands. Delete this file when
 * harness/summary.c is merged (the two would define the same functions). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metric_names.h"
#include "summary.h"

typedef struct VarRow {
    char name[64];
    int ok, failed;
    int64_t frames, wall_ns;
    double r_sum, px_sum;
    int r_n, px_n;
    double r_min;
    char why[512];
} VarRow;

typedef struct Acc {
    AuhStore *s;
    VarRow rows[64];
    int n;
    double threshold;
    AuStatus st;
    AuError *err;
} Acc;

static int visit(const AuhJobRow *row, void *ctx)
{
    Acc *a = ctx;
    VarRow *v = NULL;
    for (int i = 0; i < a->n; i++)
        if (!strcmp(a->rows[i].name, row->variant))
            v = &a->rows[i];
    if (!v) {
        if (a->n == 64)
            return 0;
        v = &a->rows[a->n++];
        memset(v, 0, sizeof(*v));
        snprintf(v->name, sizeof(v->name), "%s", row->variant);
        v->r_min = INFINITY;
    }
    AuhJob job;
    if ((a->st = auh_store_load_job(a->s, row->id, &job, a->err)))
        return 1;
    size_t wl = strlen(v->why);
    if (job.failed) {
        v->failed++;
        snprintf(v->why + wl, sizeof(v->why) - wl, "%s%s/%s failed: %s", wl ? "; " : "", job.dataset, job.item,
                 job.error ? job.error : "");
    } else {
        v->ok++;
        v->frames += (int64_t)job.n_frames;
        v->wall_ns += job.wall_ns;
        for (size_t m = 0; m < job.n_metrics; m++) {
            double x = job.metrics[m].value;
            if (!strcmp(job.metrics[m].name, AUH_M_AU_MEAN_R) && !isnan(x)) {
                v->r_sum += x;
                v->r_n++;
                if (x < v->r_min)
                    v->r_min = x;
                if (x < a->threshold)
                    snprintf(v->why + wl, sizeof(v->why) - wl, "%s%s/%s AU accuracy %.4f < %.4f", wl ? "; " : "",
                             job.dataset, job.item, x, a->threshold);
            }
            if (!strcmp(job.metrics[m].name, AUH_M_LMK_MEAN_PX) && !isnan(x)) {
                v->px_sum += x;
                v->px_n++;
            }
        }
    }
    auh_job_free(&job);
    return 0;
}

static AuStatus collect(AuhStore *s, int64_t run_id, double threshold, Acc *a, AuError *err)
{
    memset(a, 0, sizeof(*a));
    a->s = s;
    a->threshold = threshold;
    a->err = err;
    AuStatus st = auh_store_list_jobs(s, run_id, visit, a, err);
    return st ? st : a->st;
}

AuStatus auh_summary_print_table(AuhStore *s, int64_t run_id, FILE *out, AuError *err)
{
    Acc *a = malloc(sizeof(*a));
    if (!a)
        return au_error_set(err, AU_ERR_NOMEM, "out of memory");
    AuStatus st = collect(s, run_id, 0, a, err);
    if (!st) {
        fprintf(out, "%-10s %5s %6s %8s %9s %10s\n", "variant", "jobs", "failed", "frames", "FPS", "AU r");
        for (int i = 0; i < a->n; i++) {
            VarRow *v = &a->rows[i];
            double fps = v->wall_ns > 0 ? (double)v->frames * 1e9 / (double)v->wall_ns : NAN;
            fprintf(out, "%-10s %5d %6d %8lld %9.1f %10.4f\n", v->name, v->ok + v->failed, v->failed,
                    (long long)v->frames, fps, v->r_n ? v->r_sum / v->r_n : NAN);
        }
    }
    free(a);
    return st;
}

AuStatus auh_gate_run(AuhStore *s, int64_t run_id, double threshold, FILE *out, int *n_failed, AuError *err)
{
    Acc *a = malloc(sizeof(*a));
    if (!a)
        return au_error_set(err, AU_ERR_NOMEM, "out of memory");
    AuStatus st = collect(s, run_id, threshold, a, err);
    *n_failed = 0;
    if (!st) {
        for (int i = 0; i < a->n; i++) {
            VarRow *v = &a->rows[i];
            if (!strcmp(v->name, AUH_VARIANT_OPENFACE))
                continue;
            if (v->why[0]) {
                fprintf(out, "gate %.2f: %s FAIL: %s\n", threshold, v->name, v->why);
                (*n_failed)++;
            } else {
                fprintf(out, "gate %.2f: %s PASS\n", threshold, v->name);
            }
        }
    }
    free(a);
    return st;
}
