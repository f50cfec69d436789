/* The per-variant table and the accuracy gate, from a run in the store (see
 * summary.h for the definitions). Reads with its own prepared statements; the
 * frames are never loaded here, so this stays cheap on long videos. */
#include "summary.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "metric_names.h"
#include "profile.h"

/* ---- small helpers ---- */

static char *dup_str(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static AuStatus nomem(AuError *err)
{
    return au_error_set(err, AU_ERR_NOMEM, "out of memory");
}

static AuStatus db_error(AuhStore *s, AuError *err, const char *what)
{
    return au_error_set(err, AU_ERR_IO, "%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
}

static AuStatus prepare(AuhStore *s, const char *sql, sqlite3_stmt **st, AuError *err)
{
    if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK) {
        *st = NULL;
        return db_error(s, err, "preparing a query");
    }
    return AU_OK;
}

static double col_real_or_nan(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

/* Copies a text column (NULL stays NULL); *ok = 0 on allocation failure. */
static char *col_dup(sqlite3_stmt *st, int i, int *ok)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return NULL;
    const unsigned char *t = sqlite3_column_text(st, i);
    char *d = dup_str(t ? (const char *)t : "");
    if (!d)
        *ok = 0;
    return d;
}

static char *str_printf(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
static char *str_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (!s)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

static int cmp_metric(const void *a, const void *b)
{
    return strcmp(((const AuhSumMetric *)a)->name, ((const AuhSumMetric *)b)->name);
}

static int cmp_stage(const void *a, const void *b)
{
    return strcmp(((const AuhSumStage *)a)->name, ((const AuhSumStage *)b)->name);
}

double auh_job_metric(const AuhJobSummary *job, const char *name, int *present)
{
    AuhSumMetric key = {(char *)name, 0};
    const AuhSumMetric *m =
        job->n_metrics ? bsearch(&key, job->metrics, job->n_metrics, sizeof(*m), cmp_metric) : NULL;
    if (present)
        *present = m != NULL;
    return m ? m->value : NAN;
}

const AuhJobSummary *auh_run_summary_job(const AuhRunSummary *rs, size_t item, size_t variant)
{
    if (item >= rs->n_items || variant >= rs->n_variants)
        return NULL;
    size_t j = rs->job_of[item * rs->n_variants + variant];
    return j == AUH_NO_INDEX ? NULL : &rs->jobs[j];
}

/* ---- freeing ---- */

static void job_free(AuhJobSummary *j)
{
    free(j->variant);
    free(j->dataset);
    free(j->item);
    free(j->item_kind);
    free(j->input);
    free(j->labels);
    free(j->host);
    free(j->cpu);
    free(j->error);
    for (size_t i = 0; i < j->n_metrics; i++)
        free(j->metrics[i].name);
    free(j->metrics);
    for (size_t i = 0; i < j->n_stages; i++)
        free(j->stages[i].name);
    free(j->stages);
}

void auh_run_summary_free(AuhRunSummary *rs)
{
    if (!rs)
        return;
    free(rs->run_key);
    free(rs->git_revision);
    free(rs->compiler);
    free(rs->flags);
    free(rs->cpu);
    free(rs->host);
    free(rs->command);
    for (size_t i = 0; i < rs->n_jobs; i++)
        job_free(&rs->jobs[i]);
    free(rs->jobs);
    for (size_t i = 0; i < rs->n_items; i++) {
        free(rs->items[i].dataset);
        free(rs->items[i].item);
        free(rs->items[i].label);
        free(rs->items[i].labels);
    }
    free(rs->items);
    for (size_t i = 0; i < rs->n_variants; i++) {
        free(rs->variants[i].name);
        free(rs->variants[i].stage_calls);
        free(rs->variants[i].stage_ns);
    }
    free(rs->variants);
    free(rs->job_of);
    for (size_t i = 0; i < rs->n_stages; i++)
        free(rs->stages[i]);
    free(rs->stages);
    for (size_t i = 0; i < rs->n_gate_failures; i++)
        free(rs->gate_failures[i].reason);
    free(rs->gate_failures);
    memset(rs, 0, sizeof(*rs));
}

/* ---- loading ---- */

static AuStatus load_run_row(AuhStore *s, int64_t run_id, AuhRunSummary *rs, AuError *err)
{
    sqlite3_stmt *st;
    AuStatus r = prepare(s,
                         "SELECT run_key, git_revision, compiler, flags, cpu, host, command, started_at, ended_at"
                         " FROM runs WHERE id = ?1",
                         &st, err);
    if (r)
        return r;
    sqlite3_bind_int64(st, 1, run_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        int ok = 1;
        rs->run_key = col_dup(st, 0, &ok);
        rs->git_revision = col_dup(st, 1, &ok);
        rs->compiler = col_dup(st, 2, &ok);
        rs->flags = col_dup(st, 3, &ok);
        rs->cpu = col_dup(st, 4, &ok);
        rs->host = col_dup(st, 5, &ok);
        rs->command = col_dup(st, 6, &ok);
        rs->started_at = col_real_or_nan(st, 7);
        rs->ended_at = col_real_or_nan(st, 8);
        if (!ok)
            r = nomem(err);
    } else if (rc == SQLITE_DONE)
        r = au_error_set(err, AU_ERR_ARG, "%s: no run with id %lld", s->path, (long long)run_id);
    else
        r = db_error(s, err, "reading the run");
    sqlite3_finalize(st);
    return r;
}

static AuStatus load_jobs(AuhStore *s, int64_t run_id, AuhRunSummary *rs, AuError *err)
{
    sqlite3_stmt *st;
    AuStatus r = prepare(s,
                         "SELECT id, variant, dataset, item, item_kind, input, labels, host, cpu, status, error,"
                         " started_at, ended_at, wall_ns, n_frames FROM jobs WHERE run_id = ?1 ORDER BY id",
                         &st, err);
    if (r)
        return r;
    sqlite3_bind_int64(st, 1, run_id);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (rs->n_jobs == cap) {
            cap = cap ? 2 * cap : 32;
            AuhJobSummary *p = realloc(rs->jobs, cap * sizeof(*p));
            if (!p) {
                r = nomem(err);
                break;
            }
            rs->jobs = p;
        }
        AuhJobSummary *j = &rs->jobs[rs->n_jobs++];
        memset(j, 0, sizeof(*j));
        int ok = 1;
        j->id = sqlite3_column_int64(st, 0);
        j->variant = col_dup(st, 1, &ok);
        j->dataset = col_dup(st, 2, &ok);
        j->item = col_dup(st, 3, &ok);
        j->item_kind = col_dup(st, 4, &ok);
        j->input = col_dup(st, 5, &ok);
        j->labels = col_dup(st, 6, &ok);
        j->host = col_dup(st, 7, &ok);
        j->cpu = col_dup(st, 8, &ok);
        const unsigned char *status = sqlite3_column_text(st, 9);
        j->failed = !status || strcmp((const char *)status, "ok") != 0;
        j->error = col_dup(st, 10, &ok);
        j->started_at = col_real_or_nan(st, 11);
        j->ended_at = col_real_or_nan(st, 12);
        j->wall_ns = sqlite3_column_int64(st, 13);
        j->n_frames = sqlite3_column_int64(st, 14);
        if (!ok || !j->variant || !j->dataset || !j->item || !j->item_kind) {
            r = nomem(err);
            break;
        }
        j->is_video = !strcmp(j->item_kind, "video");
    }
    if (!r && rc != SQLITE_DONE)
        r = db_error(s, err, "reading jobs");
    sqlite3_finalize(st);
    return r;
}

static AuhJobSummary *job_by_id(AuhRunSummary *rs, int64_t id)
{
    /* jobs are in id order */
    size_t lo = 0, hi = rs->n_jobs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (rs->jobs[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < rs->n_jobs && rs->jobs[lo].id == id ? &rs->jobs[lo] : NULL;
}

/* Metrics (stage = 0) or timings (stage = 1) of every job of the run. */
static AuStatus load_rows(AuhStore *s, int64_t run_id, int stage, AuhRunSummary *rs, AuError *err)
{
    sqlite3_stmt *st;
    AuStatus r = prepare(s,
                         stage ? "SELECT t.job_id, t.stage, t.calls, t.total_ns FROM timings t JOIN jobs j"
                                 " ON j.id = t.job_id WHERE j.run_id = ?1 ORDER BY t.job_id, t.stage"
                               : "SELECT m.job_id, m.name, m.value FROM metrics m JOIN jobs j"
                                 " ON j.id = m.job_id WHERE j.run_id = ?1 ORDER BY m.job_id, m.name",
                         &st, err);
    if (r)
        return r;
    sqlite3_bind_int64(st, 1, run_id);
    AuhJobSummary *j = NULL;
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        if (!j || j->id != id) {
            j = job_by_id(rs, id);
            cap = 0;
            if (!j)
                continue;
        }
        size_t *n = stage ? &j->n_stages : &j->n_metrics;
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            void *p = stage ? realloc(j->stages, cap * sizeof(AuhSumStage))
                            : realloc(j->metrics, cap * sizeof(AuhSumMetric));
            if (!p) {
                r = nomem(err);
                break;
            }
            if (stage)
                j->stages = p;
            else
                j->metrics = p;
        }
        const unsigned char *name = sqlite3_column_text(st, 1);
        char *d = dup_str(name ? (const char *)name : "");
        if (!d) {
            r = nomem(err);
            break;
        }
        if (stage) {
            AuhSumStage *t = &j->stages[(*n)++];
            t->name = d;
            t->calls = sqlite3_column_int64(st, 2);
            t->total_ns = sqlite3_column_int64(st, 3);
        } else {
            AuhSumMetric *m = &j->metrics[(*n)++];
            m->name = d;
            m->value = col_real_or_nan(st, 2);
        }
    }
    if (!r && rc != SQLITE_DONE)
        r = db_error(s, err, stage ? "reading timings" : "reading metrics");
    sqlite3_finalize(st);
    /* SQL's ORDER BY uses the column's collation (BINARY = memcmp): the same
     * as strcmp for these names, but sort anyway so bsearch is always right. */
    for (size_t i = 0; i < rs->n_jobs; i++) {
        if (stage && rs->jobs[i].n_stages)
            qsort(rs->jobs[i].stages, rs->jobs[i].n_stages, sizeof(AuhSumStage), cmp_stage);
        if (!stage && rs->jobs[i].n_metrics)
            qsort(rs->jobs[i].metrics, rs->jobs[i].n_metrics, sizeof(AuhSumMetric), cmp_metric);
    }
    return r;
}

/* ---- aggregation ---- */

static AuStatus add_variant(AuhRunSummary *rs, const char *name, AuError *err)
{
    AuhVariantSummary *p = realloc(rs->variants, (rs->n_variants + 1) * sizeof(*p));
    if (!p)
        return nomem(err);
    rs->variants = p;
    AuhVariantSummary *v = &p[rs->n_variants];
    memset(v, 0, sizeof(*v));
    if (!(v->name = dup_str(name)))
        return nomem(err);
    rs->n_variants++;
    v->is_baseline = !strcmp(name, "baseline");
    v->is_openface = !strcmp(name, AUH_VARIANT_OPENFACE);
    v->gated = !v->is_openface;
    return AU_OK;
}

static long find_variant(const AuhRunSummary *rs, const char *name)
{
    for (size_t i = 0; i < rs->n_variants; i++)
        if (!strcmp(rs->variants[i].name, name))
            return (long)i;
    return -1;
}

static AuStatus collect_variants(AuhRunSummary *rs, AuError *err)
{
    AuStatus r;
    /* baseline first, others in first-appearance order, OpenFace last */
    for (size_t i = 0; i < rs->n_jobs; i++)
        if (!strcmp(rs->jobs[i].variant, "baseline")) {
            if ((r = add_variant(rs, "baseline", err)))
                return r;
            break;
        }
    for (size_t i = 0; i < rs->n_jobs; i++) {
        const char *v = rs->jobs[i].variant;
        if (strcmp(v, AUH_VARIANT_OPENFACE) && find_variant(rs, v) < 0 && (r = add_variant(rs, v, err)))
            return r;
    }
    for (size_t i = 0; i < rs->n_jobs; i++)
        if (!strcmp(rs->jobs[i].variant, AUH_VARIANT_OPENFACE)) {
            if ((r = add_variant(rs, AUH_VARIANT_OPENFACE, err)))
                return r;
            break;
        }
    rs->baseline = find_variant(rs, "baseline");
    rs->openface = find_variant(rs, AUH_VARIANT_OPENFACE);
    for (size_t i = 0; i < rs->n_jobs; i++)
        rs->jobs[i].variant_index = (size_t)find_variant(rs, rs->jobs[i].variant);
    return AU_OK;
}

static AuStatus collect_items(AuhRunSummary *rs, AuError *err)
{
    int several_datasets = 0;
    for (size_t i = 1; i < rs->n_jobs; i++)
        if (strcmp(rs->jobs[i].dataset, rs->jobs[0].dataset))
            several_datasets = 1;
    for (size_t i = 0; i < rs->n_jobs; i++) {
        AuhJobSummary *j = &rs->jobs[i];
        size_t k = 0;
        while (k < rs->n_items && (strcmp(rs->items[k].dataset, j->dataset) || strcmp(rs->items[k].item, j->item)))
            k++;
        if (k == rs->n_items) {
            AuhItemSummary *p = realloc(rs->items, (rs->n_items + 1) * sizeof(*p));
            if (!p)
                return nomem(err);
            rs->items = p;
            AuhItemSummary *it = &p[rs->n_items++];
            memset(it, 0, sizeof(*it));
            it->dataset = dup_str(j->dataset);
            it->item = dup_str(j->item);
            it->label = several_datasets ? str_printf("%s/%s", j->dataset, j->item) : dup_str(j->item);
            it->is_video = j->is_video;
            if (!it->dataset || !it->item || !it->label)
                return nomem(err);
        }
        j->item_index = k;
        AuhItemSummary *it = &rs->items[k];
        int present;
        auh_job_metric(j, AUH_M_AU_MEAN_R, &present);
        if (present)
            it->has_au_labels = 1;
        if (!it->labels && j->labels && !(it->labels = dup_str(j->labels)))
            return nomem(err);
    }
    if (rs->n_items && rs->n_variants) {
        rs->job_of = malloc(rs->n_items * rs->n_variants * sizeof(size_t));
        if (!rs->job_of)
            return nomem(err);
        for (size_t i = 0; i < rs->n_items * rs->n_variants; i++)
            rs->job_of[i] = AUH_NO_INDEX;
        for (size_t i = 0; i < rs->n_jobs; i++)
            rs->job_of[rs->jobs[i].item_index * rs->n_variants + rs->jobs[i].variant_index] = i;
    }
    return AU_OK;
}

static void job_speed(AuhJobSummary *j)
{
    int present;
    double fps = auh_job_metric(j, AUH_M_FPS, &present);
    j->fps_from_metric = present && isfinite(fps) && fps > 0;
    if (!j->fps_from_metric)
        fps = j->wall_ns > 0 && j->n_frames > 0 ? (double)j->n_frames / ((double)j->wall_ns * 1e-9) : NAN;
    j->fps = fps;
    j->time_s = isfinite(fps) && fps > 0 ? (double)j->n_frames / fps : NAN;
}

static int job_has_speed(const AuhJobSummary *j)
{
    return j && !j->failed && isfinite(j->time_s) && j->time_s > 0 && j->n_frames > 0;
}

double auh_run_summary_speedup(const AuhRunSummary *rs, size_t a, size_t b)
{
    double fa = 0, ta = 0, fb = 0, tb = 0;
    for (size_t i = 0; i < rs->n_items; i++) {
        const AuhJobSummary *ja = auh_run_summary_job(rs, i, a), *jb = auh_run_summary_job(rs, i, b);
        if (!job_has_speed(ja) || !job_has_speed(jb))
            continue;
        fa += (double)ja->n_frames;
        ta += ja->time_s;
        fb += (double)jb->n_frames;
        tb += jb->time_s;
    }
    if (ta <= 0 || tb <= 0)
        return NAN;
    return (fa / ta) / (fb / tb);
}

static int stage_rank(const char *name)
{
    for (int i = 0; i < AU_STAGE_COUNT; i++)
        if (!strcmp(name, au_stage_name((AuStage)i)))
            return i;
    return AU_STAGE_COUNT;
}

static int cmp_stage_order(const void *a, const void *b)
{
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    int rx = stage_rank(x), ry = stage_rank(y);
    if (rx != ry)
        return rx < ry ? -1 : 1;
    return strcmp(x, y);
}

static AuStatus collect_stages(AuhRunSummary *rs, AuError *err)
{
    size_t cap = 0;
    for (size_t i = 0; i < rs->n_jobs; i++)
        for (size_t k = 0; k < rs->jobs[i].n_stages; k++) {
            const char *name = rs->jobs[i].stages[k].name;
            size_t m = 0;
            while (m < rs->n_stages && strcmp(rs->stages[m], name))
                m++;
            if (m < rs->n_stages)
                continue;
            if (rs->n_stages == cap) {
                cap = cap ? 2 * cap : 16;
                char **p = realloc(rs->stages, cap * sizeof(*p));
                if (!p)
                    return nomem(err);
                rs->stages = p;
            }
            if (!(rs->stages[rs->n_stages] = dup_str(name)))
                return nomem(err);
            rs->n_stages++;
        }
    if (rs->n_stages)
        qsort(rs->stages, rs->n_stages, sizeof(char *), cmp_stage_order);
    return AU_OK;
}

static void mean_acc(double v, double *sum, int *n)
{
    if (isfinite(v)) {
        *sum += v;
        (*n)++;
    }
}

static AuStatus aggregate(AuhRunSummary *rs, AuError *err)
{
    for (size_t i = 0; i < rs->n_jobs; i++)
        job_speed(&rs->jobs[i]);
    for (size_t vi = 0; vi < rs->n_variants; vi++) {
        AuhVariantSummary *v = &rs->variants[vi];
        v->stage_calls = calloc(rs->n_stages + 1, sizeof(int64_t));
        v->stage_ns = calloc(rs->n_stages + 1, sizeof(int64_t));
        if (!v->stage_calls || !v->stage_ns)
            return nomem(err);
        double s_px = 0, s_nme = 0, s_au = 0, s_pr = 0;
        v->au_min_r = NAN;
        v->au_min_item = AUH_NO_INDEX;
        for (size_t i = 0; i < rs->n_jobs; i++) {
            const AuhJobSummary *j = &rs->jobs[i];
            if (j->variant_index != vi)
                continue;
            v->n_jobs++;
            if (j->failed) {
                v->n_failed++;
                continue;
            }
            if (job_has_speed(j)) {
                v->frames += j->n_frames;
                v->time_s += j->time_s;
            }
            v->wall_ns += j->wall_ns;
            mean_acc(auh_job_metric(j, AUH_M_LMK_MEAN_PX, NULL), &s_px, &v->n_lmk_items);
            mean_acc(auh_job_metric(j, AUH_M_LMK_MEAN_NME, NULL), &s_nme, &v->n_nme_items);
            double au = auh_job_metric(j, AUH_M_AU_MEAN_R, NULL);
            mean_acc(au, &s_au, &v->n_au_items);
            if (isfinite(au) && !(au >= v->au_min_r)) {
                v->au_min_r = au;
                v->au_min_item = j->item_index;
            }
            mean_acc(auh_job_metric(j, AUH_M_PRESENCE_AGREEMENT, NULL), &s_pr, &v->n_presence_items);
            for (size_t k = 0; k < j->n_stages; k++)
                for (size_t m = 0; m < rs->n_stages; m++)
                    if (!strcmp(rs->stages[m], j->stages[k].name)) {
                        v->stage_calls[m] += j->stages[k].calls;
                        v->stage_ns[m] += j->stages[k].total_ns;
                        break;
                    }
        }
        v->fps = v->time_s > 0 ? (double)v->frames / v->time_s : NAN;
        v->lmk_mean_px = v->n_lmk_items ? s_px / v->n_lmk_items : NAN;
        v->lmk_mean_nme = v->n_nme_items ? s_nme / v->n_nme_items : NAN;
        v->au_mean_r = v->n_au_items ? s_au / v->n_au_items : NAN;
        v->presence_agreement = v->n_presence_items ? s_pr / v->n_presence_items : NAN;
    }
    for (size_t vi = 0; vi < rs->n_variants; vi++) {
        AuhVariantSummary *v = &rs->variants[vi];
        v->x_baseline = rs->baseline >= 0 ? auh_run_summary_speedup(rs, vi, (size_t)rs->baseline) : NAN;
        v->x_openface = rs->openface >= 0 ? auh_run_summary_speedup(rs, vi, (size_t)rs->openface) : NAN;
    }
    return AU_OK;
}

/* ---- gate ---- */

void auh_format_vs_threshold(double value, double threshold, int min_decimals, char *buf, size_t n)
{
    if (!isfinite(value)) {
        snprintf(buf, n, "%s", isnan(value) ? "undefined" : value > 0 ? "inf" : "-inf");
        return;
    }
    /* more decimals until the printed number sits on the same side of the
     * threshold and of 1 (a perfect r) as the value: never "0.90 < 0.90" nor
     * a "1.000" that is not 1 */
    for (int d = min_decimals; d <= 9; d++) {
        snprintf(buf, n, "%.*f", d, value);
        double shown = strtod(buf, NULL);
        if ((shown >= threshold) == (value >= threshold) && (shown >= 1) == (value >= 1))
            return;
    }
}

void auh_format_threshold(double threshold, char *buf, size_t n)
{
    for (int d = 2; d <= 9; d++) {
        snprintf(buf, n, "%.*f", d, threshold);
        if (strtod(buf, NULL) == threshold)
            return;
    }
}

static AuStatus add_failure(AuhRunSummary *rs, size_t variant, size_t item, char *reason, AuError *err)
{
    if (!reason)
        return nomem(err);
    AuhGateFailure *p = realloc(rs->gate_failures, (rs->n_gate_failures + 1) * sizeof(*p));
    if (!p) {
        free(reason);
        return nomem(err);
    }
    rs->gate_failures = p;
    p[rs->n_gate_failures++] = (AuhGateFailure){variant, item, reason};
    rs->variants[variant].n_gate_failures++;
    return AU_OK;
}

static AuStatus judge(AuhRunSummary *rs, AuError *err)
{
    AuStatus r;
    char val[64], thr[64];
    auh_format_threshold(rs->threshold, thr, sizeof(thr));
    for (size_t vi = 0; vi < rs->n_variants; vi++) {
        AuhVariantSummary *v = &rs->variants[vi];
        if (!v->gated)
            continue;
        for (size_t it = 0; it < rs->n_items; it++) {
            const AuhItemSummary *item = &rs->items[it];
            const AuhJobSummary *j = auh_run_summary_job(rs, it, vi);
            if (j && j->failed) {
                r = add_failure(rs, vi, it,
                                str_printf("%s job failed: %s", item->label, j->error ? j->error : "(no message)"), err);
            } else if (!item->has_au_labels) {
                continue;
            } else if (!j) {
                r = add_failure(rs, vi, it, str_printf("%s has AU labels but no job of this variant", item->label),
                                err);
            } else {
                int present;
                double acc = auh_job_metric(j, AUH_M_AU_MEAN_R, &present);
                if (!present)
                    r = add_failure(rs, vi, it, str_printf("%s AU accuracy not evaluated", item->label), err);
                else if (!isfinite(acc))
                    r = add_failure(rs, vi, it,
                                    str_printf("%s AU accuracy undefined (no frame where both prediction and labels"
                                               " succeed, or every AU constant in the labels)",
                                               item->label),
                                    err);
                else if (acc < rs->threshold) {
                    auh_format_vs_threshold(acc, rs->threshold, 2, val, sizeof(val));
                    r = add_failure(rs, vi, it, str_printf("%s AU accuracy %s < %s", item->label, val, thr), err);
                } else
                    r = AU_OK;
            }
            if (r)
                return r;
        }
        v->passed = v->n_gate_failures == 0;
        if (!v->passed)
            rs->n_failed_variants++;
    }
    return AU_OK;
}

/* A loop-time-weighted mean and an extreme of one per-job figure. */
typedef struct LoadStat {
    double weight, sum, extreme;
} LoadStat;

static void load_stat_add(LoadStat *l, double value, double weight, int keep_max)
{
    if (!isfinite(value))
        return;
    l->weight += weight;
    l->sum += value * weight;
    if (isnan(l->extreme) || (keep_max ? value > l->extreme : value < l->extreme))
        l->extreme = value;
}

/* rs's host-load figures (summary.h) from the jobs' AUH_M_FPS, AUH_M_CPU_FPS
 * and AUH_M_HOST_STEAL. */
static void host_load(AuhRunSummary *rs)
{
    LoadStat share = {0, 0, NAN}, steal = {0, 0, NAN};
    for (size_t i = 0; i < rs->n_jobs; i++) {
        const AuhJobSummary *j = &rs->jobs[i];
        const double w = (double)j->wall_ns;
        if (j->failed || !(w > 0))
            continue;
        load_stat_add(&share, auh_job_metric(j, AUH_M_FPS, NULL) / auh_job_metric(j, AUH_M_CPU_FPS, NULL), w, 0);
        load_stat_add(&steal, auh_job_metric(j, AUH_M_HOST_STEAL, NULL), w, 1);
    }
    rs->cpu_share_mean = share.weight > 0 ? share.sum / share.weight : NAN;
    rs->cpu_share_min = share.extreme;
    rs->host_steal_mean = steal.weight > 0 ? steal.sum / steal.weight : NAN;
    rs->host_steal_max = steal.extreme;
}

AuStatus auh_run_summary_load(AuhStore *s, int64_t run_id, double threshold, AuhRunSummary *rs, AuError *err)
{
    memset(rs, 0, sizeof(*rs));
    rs->run_id = run_id;
    rs->threshold = threshold;
    rs->baseline = rs->openface = -1;
    rs->ended_at = NAN;
    if (!(threshold >= -1 && threshold <= 1))
        return au_error_set(err, AU_ERR_ARG, "gate threshold %g is not a correlation in [-1, 1]", threshold);
    /* One read transaction: a consistent snapshot while a run still writes.
     * A savepoint, so that a caller inside its own transaction can call this
     * too. */
    char *msg = NULL;
    if (sqlite3_exec(s->db, "SAVEPOINT auh_summary", NULL, NULL, &msg) != SQLITE_OK) {
        AuStatus r = au_error_set(err, AU_ERR_IO, "%s: starting a read: %s", s->path, msg ? msg : "?");
        sqlite3_free(msg);
        return r;
    }
    AuStatus r = load_run_row(s, run_id, rs, err);
    if (!r)
        r = load_jobs(s, run_id, rs, err);
    if (!r)
        r = load_rows(s, run_id, 0, rs, err);
    if (!r)
        r = load_rows(s, run_id, 1, rs, err);
    sqlite3_exec(s->db, "ROLLBACK TO auh_summary; RELEASE auh_summary", NULL, NULL, NULL);
    if (!r)
        r = collect_variants(rs, err);
    if (!r)
        r = collect_items(rs, err);
    if (!r)
        r = collect_stages(rs, err);
    if (!r)
        r = aggregate(rs, err);
    if (!r)
        r = judge(rs, err);
    if (r) {
        auh_run_summary_free(rs);
        return r;
    }
    host_load(rs);
    return AU_OK;
}

/* ---- the table ---- */

const char *const auh_summary_table_head[AUH_SUMMARY_TABLE_COLS] = {
    "variant", "FPS", "x baseline", "x OpenFace", "lmk px", "NME %", "AU r", "presence", "failed", "gate"};

static void fmt_num(char *buf, size_t n, double v, int decimals, const char *suffix)
{
    if (isfinite(v))
        snprintf(buf, n, "%.*f%s", decimals, v, suffix);
    else
        snprintf(buf, n, "-");
}

void auh_run_summary_table_row(const AuhRunSummary *rs, size_t vi, char cells[AUH_SUMMARY_TABLE_COLS][64])
{
    const AuhVariantSummary *v = &rs->variants[vi];
    snprintf(cells[0], 64, "%s", v->name);
    fmt_num(cells[1], 64, v->fps, 1, "");
    fmt_num(cells[2], 64, v->x_baseline, 2, "x");
    fmt_num(cells[3], 64, v->x_openface, 2, "x");
    fmt_num(cells[4], 64, v->lmk_mean_px, 2, "");
    fmt_num(cells[5], 64, 100 * v->lmk_mean_nme, 2, "");
    auh_format_vs_threshold(v->au_mean_r, rs->threshold, 3, cells[6], 64);
    if (!isfinite(v->au_mean_r))
        snprintf(cells[6], 64, "-");
    fmt_num(cells[7], 64, v->presence_agreement, 3, "");
    snprintf(cells[8], 64, "%zu/%zu", v->n_failed, v->n_jobs);
    snprintf(cells[9], 64, "%s", !v->gated ? "reference" : v->passed ? "PASS" : "FAIL");
}

void auh_run_summary_write_table(const AuhRunSummary *rs, FILE *out)
{
    enum { NC = AUH_SUMMARY_TABLE_COLS };
    int width[NC];
    for (int c = 0; c < NC; c++)
        width[c] = (int)strlen(auh_summary_table_head[c]);
    char cells[NC][64];
    for (size_t vi = 0; vi < rs->n_variants; vi++) {
        auh_run_summary_table_row(rs, vi, cells);
        for (int c = 0; c < NC; c++)
            if ((int)strlen(cells[c]) > width[c])
                width[c] = (int)strlen(cells[c]);
    }
    char thr[64];
    auh_format_threshold(rs->threshold, thr, sizeof(thr));
    fprintf(out, "run %s (id %lld): %zu jobs on %zu items; gate: AU accuracy >= %s on every item with AU labels\n",
            rs->run_key ? rs->run_key : "?", (long long)rs->run_id, rs->n_jobs, rs->n_items, thr);
    /* variant left-aligned, numbers right-aligned */
    for (int c = 0; c < NC; c++)
        fprintf(out, c ? "  %*s" : "%-*s", width[c], auh_summary_table_head[c]);
    fputc('\n', out);
    for (size_t vi = 0; vi < rs->n_variants; vi++) {
        auh_run_summary_table_row(rs, vi, cells);
        for (int c = 0; c < NC; c++)
            fprintf(out, c ? "  %*s" : "%-*s", width[c], cells[c]);
        fputc('\n', out);
    }
    for (size_t i = 0; i < rs->n_jobs; i++)
        if (rs->jobs[i].failed)
            fprintf(out, "failed job: %s on %s: %s\n", rs->jobs[i].variant, rs->items[rs->jobs[i].item_index].label,
                    rs->jobs[i].error ? rs->jobs[i].error : "(no message)");
    auh_run_summary_write_host_load(rs, out);
}

void auh_run_summary_write_host_load(const AuhRunSummary *rs, FILE *out)
{
    if (!isfinite(rs->cpu_share_mean))
        return;
    int measured_openface = 0;
    for (size_t i = 0; rs->openface >= 0 && i < rs->n_items; i++) {
        const AuhJobSummary *j = auh_run_summary_job(rs, i, (size_t)rs->openface);
        measured_openface |= j && !j->failed && auh_job_metric(j, AUH_M_OPENFACE_TIMED, NULL) == 1;
    }
    char steal[96] = "";
    if (isfinite(rs->host_steal_mean))
        snprintf(steal, sizeof(steal), ", the hypervisor gave other guests %.1f%% of the CPU time",
                 100 * rs->host_steal_mean);
    fprintf(out,
            "host load: the workers were on a core %.0f%% of their frame loops' wall time (lowest job %.0f%%)%s;"
            " neither shows other guests slowing the shared cores and memory. FPS is wall-clock time%s\n",
            100 * rs->cpu_share_mean, 100 * rs->cpu_share_min, steal,
            measured_openface ? ", OpenFace C++'s too: it was timed in this run, side by side"
                              : ": 'x OpenFace' divides by OpenFace C++'s FPS on a quiet machine, so a busy host lowers"
                                " it; --openface PATH times OpenFace in the same run");
}

void auh_run_summary_write_gate(const AuhRunSummary *rs, FILE *out)
{
    char val[64], thr[64];
    auh_format_threshold(rs->threshold, thr, sizeof(thr));
    for (size_t vi = 0; vi < rs->n_variants; vi++) {
        const AuhVariantSummary *v = &rs->variants[vi];
        if (!v->gated) {
            fprintf(out, "%s: reference (OpenFace C++, not gated)\n", v->name);
            continue;
        }
        if (v->passed) {
            int n_au = 0;
            for (size_t it = 0; it < rs->n_items; it++)
                if (rs->items[it].has_au_labels)
                    n_au++;
            if (!n_au)
                fprintf(out, "%s: PASS: no item with AU labels, no failed job\n", v->name);
            else {
                auh_format_vs_threshold(v->au_min_r, rs->threshold, 3, val, sizeof(val));
                fprintf(out, "%s: PASS: AU accuracy >= %s on all %d item%s with AU labels (lowest %s on %s)\n",
                        v->name, thr, n_au, n_au == 1 ? "" : "s", val,
                        v->au_min_item != AUH_NO_INDEX ? rs->items[v->au_min_item].label : "?");
            }
            continue;
        }
        for (size_t k = 0; k < rs->n_gate_failures; k++)
            if (rs->gate_failures[k].variant == vi)
                fprintf(out, "%s: FAIL: %s\n", v->name, rs->gate_failures[k].reason);
    }
}

int auh_run_summary_write_verdict(const AuhRunSummary *rs, FILE *out)
{
    char thr[64];
    auh_format_threshold(rs->threshold, thr, sizeof(thr));
    size_t n_gated = 0;
    for (size_t i = 0; i < rs->n_variants; i++)
        n_gated += rs->variants[i].gated != 0;
    if (rs->n_failed_variants) {
        fprintf(out, "gate: FAIL: %d of %zu variant%s failed (AU accuracy < %s on an item, or a failed job):",
                rs->n_failed_variants, n_gated, n_gated == 1 ? "" : "s", thr);
        for (size_t i = 0; i < rs->n_variants; i++)
            if (rs->variants[i].gated && !rs->variants[i].passed)
                fprintf(out, " %s", rs->variants[i].name);
        fputc('\n', out);
        return 1;
    }
    if (!n_gated) {
        fprintf(out, "gate: FAIL: the run has no variant to judge\n");
        return 1;
    }
    fprintf(out, "gate: PASS: %zu variant%s at AU accuracy >= %s on every item with AU labels\n", n_gated,
            n_gated == 1 ? "" : "s", thr);
    return 0;
}

AuStatus auh_summary_print_table(AuhStore *s, int64_t run_id, FILE *out, AuError *err)
{
    AuhRunSummary rs;
    AuStatus r = auh_run_summary_load(s, run_id, AUH_GATE_DEFAULT, &rs, err);
    if (r)
        return r;
    auh_run_summary_write_table(&rs, out);
    auh_run_summary_free(&rs);
    return AU_OK;
}

AuStatus auh_gate_run(AuhStore *s, int64_t run_id, double threshold, FILE *out, int *n_failed, AuError *err)
{
    if (n_failed)
        *n_failed = 0;
    AuhRunSummary rs;
    AuStatus r = auh_run_summary_load(s, run_id, threshold, &rs, err);
    if (r)
        return r;
    auh_run_summary_write_gate(&rs, out);
    if (n_failed)
        *n_failed = rs.n_failed_variants;
    auh_run_summary_free(&rs);
    return AU_OK;
}

/* ---- run selection ---- */

AuStatus auh_summary_resolve_run(AuhStore *s, const char *spec, int64_t *run_id, AuError *err)
{
    *run_id = 0;
    sqlite3_stmt *st;
    AuStatus r;
    if (!spec || !spec[0]) {
        if ((r = prepare(s, "SELECT id FROM runs ORDER BY started_at DESC, id DESC LIMIT 1", &st, err)))
            return r;
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            *run_id = sqlite3_column_int64(st, 0);
        else if (rc == SQLITE_DONE)
            r = au_error_set(err, AU_ERR_ARG, "%s: the database has no run yet", s->path);
        else
            r = db_error(s, err, "finding the latest run");
        sqlite3_finalize(st);
        return r;
    }
    int digits = 1;
    for (const char *p = spec; *p; p++)
        if (!isdigit((unsigned char)*p))
            digits = 0;
    /* A run key wins over an id: keys are what users type and see. */
    if ((r = prepare(s, "SELECT id FROM runs WHERE run_key = ?1", &st, err)))
        return r;
    sqlite3_bind_text(st, 1, spec, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *run_id = sqlite3_column_int64(st, 0);
    else if (rc != SQLITE_DONE)
        r = db_error(s, err, "finding the run");
    sqlite3_finalize(st);
    if (r || *run_id)
        return r;
    if (digits && strlen(spec) < 19) {
        if ((r = prepare(s, "SELECT id FROM runs WHERE id = ?1", &st, err)))
            return r;
        sqlite3_bind_int64(st, 1, strtoll(spec, NULL, 10));
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            *run_id = sqlite3_column_int64(st, 0);
        else if (rc != SQLITE_DONE)
            r = db_error(s, err, "finding the run");
        sqlite3_finalize(st);
        if (r || *run_id)
            return r;
    }
    return au_error_set(err, AU_ERR_ARG, "%s: no run with %s '%s'", s->path, digits ? "id or key" : "key", spec);
}
