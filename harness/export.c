/* Export of a run's jobs (export.h). */
#include "export.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct JobIds {
    int64_t *ids;
    size_t n, cap;
    int oom;
} JobIds;

static int collect(const AuhJobRow *row, void *ctx)
{
    JobIds *j = ctx;
    if (j->n == j->cap) {
        size_t nc = j->cap ? 2 * j->cap : 64;
        int64_t *p = realloc(j->ids, nc * sizeof(*p));
        if (!p) {
            j->oom = 1;
            return 1;
        }
        j->ids = p;
        j->cap = nc;
    }
    j->ids[j->n++] = row->id;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* The shortest of %.15g / %.17g that reads back as v (41.3, not
 * 41.299999999999997). */
static void put_number(FILE *f, double v)
{
    char buf[40];
    snprintf(buf, sizeof(buf), "%.15g", v);
    if (strtod(buf, NULL) != v)
        snprintf(buf, sizeof(buf), "%.17g", v);
    fputs(buf, f);
}

static void json_number(FILE *f, double v)
{
    if (isfinite(v))
        put_number(f, v);
    else
        fputs("null", f);
}

/* CSV field: quoted when it holds a comma, quote or newline. */
static void csv_string(FILE *f, const char *s)
{
    s = s ? s : "";
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static double metric_of(const AuhJob *job, const char *name)
{
    for (size_t i = 0; i < job->n_metrics; i++)
        if (!strcmp(job->metrics[i].name, name))
            return job->metrics[i].value;
    return NAN;
}

AuStatus auh_export_run(AuhStore *s, int64_t run_id, const char *path, AuhExportFormat format, AuError *err)
{
    JobIds ids = {0};
    AuStatus st = auh_store_list_jobs(s, run_id, collect, &ids, err);
    if (!st && ids.oom)
        st = au_error_set(err, AU_ERR_NOMEM, "out of memory");
    if (st) {
        free(ids.ids);
        return st;
    }
    /* Metric names: the union over the jobs, sorted (the CSV's columns). */
    char **names = NULL;
    size_t n_names = 0, cap_names = 0;
    AuhJob job;
    memset(&job, 0, sizeof(job));
    for (size_t i = 0; i < ids.n && !st; i++) {
        if ((st = auh_store_load_job(s, ids.ids[i], &job, err)))
            break;
        for (size_t m = 0; m < job.n_metrics && !st; m++) {
            int seen = 0;
            for (size_t k = 0; k < n_names && !seen; k++)
                seen = !strcmp(names[k], job.metrics[m].name);
            if (seen)
                continue;
            if (n_names == cap_names) {
                size_t nc = cap_names ? 2 * cap_names : 64;
                char **p = realloc(names, nc * sizeof(*p));
                if (!p) {
                    st = au_error_set(err, AU_ERR_NOMEM, "out of memory");
                    break;
                }
                names = p;
                cap_names = nc;
            }
            if (!(names[n_names] = strdup(job.metrics[m].name)))
                st = au_error_set(err, AU_ERR_NOMEM, "out of memory");
            else
                n_names++;
        }
        auh_job_free(&job);
    }
    if (!st && n_names)
        qsort(names, n_names, sizeof(*names), cmp_str);
    FILE *f = NULL;
    if (!st && !(f = fopen(path, "w")))
        st = au_error_set(err, AU_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    if (!st && format == AUH_EXPORT_CSV) {
        fputs("variant,dataset,item,status,error,frames,wall_s", f);
        for (size_t k = 0; k < n_names; k++) {
            fputc(',', f);
            csv_string(f, names[k]);
        }
        fputc('\n', f);
    } else if (!st) {
        fputs("[\n", f);
    }
    for (size_t i = 0; i < ids.n && !st; i++) {
        if ((st = auh_store_load_job(s, ids.ids[i], &job, err)))
            break;
        double wall_s = job.wall_ns > 0 ? 1e-9 * (double)job.wall_ns : NAN;
        if (format == AUH_EXPORT_CSV) {
            csv_string(f, job.variant);
            fputc(',', f);
            csv_string(f, job.dataset);
            fputc(',', f);
            csv_string(f, job.item);
            fprintf(f, ",%s,", job.failed ? "failed" : "ok");
            csv_string(f, job.error);
            fprintf(f, ",%zu,", job.n_frames);
            if (isfinite(wall_s))
                fprintf(f, "%.9g", wall_s);
            for (size_t k = 0; k < n_names; k++) {
                double v = metric_of(&job, names[k]);
                fputc(',', f);
                if (isfinite(v))
                    put_number(f, v);
            }
            fputc('\n', f);
        } else {
            fputs(i ? ",\n  {\"variant\": " : "  {\"variant\": ", f);
            json_string(f, job.variant);
            fputs(", \"dataset\": ", f);
            json_string(f, job.dataset);
            fputs(", \"item\": ", f);
            json_string(f, job.item);
            fprintf(f, ", \"status\": \"%s\", \"error\": ", job.failed ? "failed" : "ok");
            if (job.error)
                json_string(f, job.error);
            else
                fputs("null", f);
            fprintf(f, ", \"frames\": %zu, \"wall_s\": ", job.n_frames);
            json_number(f, wall_s);
            fputs(", \"metrics\": {", f);
            for (size_t m = 0; m < job.n_metrics; m++) {
                fputs(m ? ", " : "", f);
                json_string(f, job.metrics[m].name);
                fputs(": ", f);
                json_number(f, job.metrics[m].value);
            }
            fputs("}}", f);
        }
        auh_job_free(&job);
    }
    if (!st && format == AUH_EXPORT_JSON)
        fputs(ids.n ? "\n]\n" : "]\n", f);
    if (f && fclose(f) != 0 && !st)
        st = au_error_set(err, AU_ERR_IO, "%s: write error: %s", path, strerror(errno));
    for (size_t k = 0; k < n_names; k++)
        free(names[k]);
    free(names);
    free(ids.ids);
    return st;
}
