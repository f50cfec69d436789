/* The report of a run (see report.h): one walk over the sections writes the
 * Markdown and the HTML side by side, so the two never say different things. */
#include "report.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data_dir.h"
#include "metric_names.h"
#include "metrics.h"
#include "summary.h"
#include "sysinfo.h"

/* Verbatim from DESIGN.md ("Harness", metric definitions); the report shows
 * exactly these words. */
const char auh_metric_definitions[] =
    "Metric definitions (exact, shown in every report):\n"
    "- FPS: frames / wall seconds of the frame loop (decode included), per job; whole-process too.\n"
    "- Per-function time: calls, total and mean ns, share of frame time, per named stage.\n"
    "- Landmark error: per frame, mean point-to-point distance over the 68 points in pixels,\n"
    "  on frames where both prediction and label succeed; also RMSE, and NME normalised by\n"
    "  the outer inter-ocular distance (points 36 and 45, 0-based); for image sets the CED\n"
    "  curve, AUC@0.08 and failure rate at NME > 0.08 (300-W convention).\n"
    "- AU accuracy (the gate metric): mean Pearson r over the 17 intensity AUs against the\n"
    "  labels, on frames where both succeed; an AU constant in the labels is left out of the\n"
    "  mean and listed. Also per-AU r and MAE, presence agreement and F1 over the 18 presence AUs.\n"
    "- Gate: a variant passes when its AU accuracy is at least 0.90 (configurable) on every\n"
    "  dataset item with AU labels; the report and exit status say which failed and why.\n";

int auh_parse_threshold(const char *text, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !(v >= -1 && v <= 1))
        return -1;
    *out = v;
    return 0;
}

AuStatus auh_open_results_db(AuhStore *s, const char *path, AuError *err)
{
    memset(s, 0, sizeof(*s));
    struct stat st;
    if (stat(path, &st) != 0)
        return au_error_set(err, AU_ERR_IO, "%s: no results database there (%s); run auharness first or give --db FILE",
                            path, strerror(errno));
    return auh_store_open(s, path, err);
}

AuStatus auh_open_results_run(AuhStore *s, const char *path, const char *spec, int64_t *run_id, AuError *err)
{
    AuStatus st = auh_open_results_db(s, path, err);
    if (st)
        return st;
    if ((st = auh_summary_resolve_run(s, spec, run_id, err)))
        auh_store_close(s);
    return st;
}

/* ---- the two renderings ---- */

typedef struct Doc {
    FILE *md, *html;
} Doc;

static void html_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* Markdown table cell: a pipe would end the cell, a newline the row. */
static void md_cell(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            fputs("\\|", f);
        else if (*s == '\n' || *s == '\r')
            fputc(' ', f);
        else
            fputc(*s, f);
    }
}

static void doc_h(Doc *d, int level, const char *id, const char *text)
{
    fprintf(d->md, "\n%.*s %s\n\n", level, "######", text);
    fprintf(d->html, "<h%d id=\"%s\">", level, id);
    html_text(d->html, text);
    fprintf(d->html, "</h%d>\n", level);
}

static void doc_vp(Doc *d, const char *cls, const char *fmt, va_list ap)
{
    char *text = NULL;
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, fmt, aq);
    va_end(aq);
    if (n < 0 || !(text = malloc((size_t)n + 1)))
        return;
    vsnprintf(text, (size_t)n + 1, fmt, ap);
    fprintf(d->md, "%s\n\n", text);
    fprintf(d->html, "<p%s%s%s>", cls ? " class=\"" : "", cls ? cls : "", cls ? "\"" : "");
    html_text(d->html, text);
    fprintf(d->html, "</p>\n");
    free(text);
}

static void doc_p(Doc *d, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void doc_p(Doc *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    doc_vp(d, NULL, fmt, ap);
    va_end(ap);
}

static void doc_note(Doc *d, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void doc_note(Doc *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    doc_vp(d, "note", fmt, ap);
    va_end(ap);
}

static void doc_pre(Doc *d, const char *text)
{
    fprintf(d->md, "```\n%s%s```\n\n", text, text[0] && text[strlen(text) - 1] == '\n' ? "" : "\n");
    fprintf(d->html, "<pre>");
    html_text(d->html, text);
    fprintf(d->html, "</pre>\n");
}

#define MAX_COLS 48
#define CELL 600

typedef struct Row {
    int n;
    char cell[MAX_COLS][CELL];
} Row;

static void row_reset(Row *r)
{
    r->n = 0;
}

static void row_add(Row *r, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void row_add(Row *r, const char *fmt, ...)
{
    if (r->n >= MAX_COLS)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->cell[r->n++], CELL, fmt, ap);
    va_end(ap);
}

static void row_num(Row *r, double v, int decimals, const char *suffix)
{
    if (isfinite(v))
        row_add(r, "%.*f%s", decimals, v, suffix);
    else
        row_add(r, "-");
}

/* align: one of 'l' / 'r' per column (missing: 'r', first column 'l'). */
static void doc_table_begin(Doc *d, const Row *head, const char *align)
{
    fputs("|", d->md);
    for (int c = 0; c < head->n; c++) {
        fputc(' ', d->md);
        md_cell(d->md, head->cell[c]);
        fputs(" |", d->md);
    }
    fputs("\n|", d->md);
    for (int c = 0; c < head->n; c++) {
        char a = c < (int)strlen(align) ? align[c] : (c ? 'r' : 'l');
        fputs(a == 'r' ? "---:|" : ":---|", d->md);
    }
    fputc('\n', d->md);
    fputs("<div class=\"tw\"><table>\n<thead><tr>", d->html);
    for (int c = 0; c < head->n; c++) {
        fputs("<th>", d->html);
        html_text(d->html, head->cell[c]);
        fputs("</th>", d->html);
    }
    fputs("</tr></thead>\n<tbody>\n", d->html);
}

static void doc_table_row(Doc *d, const Row *row, const char *align)
{
    fputs("|", d->md);
    for (int c = 0; c < row->n; c++) {
        fputc(' ', d->md);
        md_cell(d->md, row->cell[c]);
        fputs(" |", d->md);
    }
    fputc('\n', d->md);
    fputs("<tr>", d->html);
    for (int c = 0; c < row->n; c++) {
        const char *t = row->cell[c];
        char a = c < (int)strlen(align) ? align[c] : (c ? 'r' : 'l');
        const char *cls = !strncmp(t, "PASS", 4)                            ? "pass"
                          : !strncmp(t, "FAIL", 4) || !strncmp(t, "failed", 6) ? "fail"
                          : a == 'r'                                         ? "num"
                                                                             : NULL;
        if (cls)
            fprintf(d->html, "<td class=\"%s\">", cls);
        else
            fputs("<td>", d->html);
        html_text(d->html, t);
        fputs("</td>", d->html);
    }
    fputs("</tr>\n", d->html);
}

static void doc_table_end(Doc *d)
{
    fputc('\n', d->md);
    fputs("</tbody></table></div>\n", d->html);
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void put_base64(FILE *f, const unsigned char *p, size_t n)
{
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
        fputc(B64[v >> 18], f);
        fputc(B64[(v >> 12) & 63], f);
        fputc(B64[(v >> 6) & 63], f);
        fputc(B64[v & 63], f);
    }
    if (i < n) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0);
        fputc(B64[v >> 18], f);
        fputc(B64[(v >> 12) & 63], f);
        fputc(i + 1 < n ? B64[(v >> 6) & 63] : '=', f);
        fputc('=', f);
    }
}

static int read_whole(const char *path, unsigned char **data, size_t *n)
{
    *data = NULL;
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t cap = 0;
    unsigned char buf[65536];
    size_t got;
    while ((got = fread(buf, 1, sizeof(buf), f)) > 0) {
        if (*n + got > cap) {
            cap = (*n + got) * 2;
            unsigned char *p = realloc(*data, cap);
            if (!p) {
                fclose(f);
                free(*data);
                *data = NULL;
                return -1;
            }
            *data = p;
        }
        memcpy(*data + *n, buf, got);
        *n += got;
    }
    int bad = ferror(f);
    fclose(f);
    return bad ? -1 : 0;
}

static void doc_plot(Doc *d, const char *report_dir, const AuhPlot *p)
{
    fprintf(d->md, "### %s\n\n", p->title);
    fprintf(d->html, "<figure id=\"plot-%s\">\n<figcaption><b>", p->name);
    html_text(d->html, p->title);
    fprintf(d->html, "</b></figcaption>\n");
    if (p->written) {
        fprintf(d->md, "![%s](plots/%s.png)\n\n(SVG: [plots/%s.svg](plots/%s.svg); data and gnuplot script:"
                       " plots/%s.dat, plots/%s.gp)\n\n",
                p->title, p->name, p->name, p->name, p->name, p->name);
        char path[2048];
        unsigned char *data = NULL;
        size_t n = 0;
        snprintf(path, sizeof(path), "%s/plots/%s.svg", report_dir, p->name);
        const char *mime = "image/svg+xml";
        if (read_whole(path, &data, &n)) {
            snprintf(path, sizeof(path), "%s/plots/%s.png", report_dir, p->name);
            mime = "image/png";
            if (read_whole(path, &data, &n))
                n = 0;
        }
        if (n) {
            /* a data URI keeps the page self-contained, and an <img> isolates
             * each SVG's element ids from the others' */
            fprintf(d->html, "<img alt=\"");
            html_text(d->html, p->title);
            fprintf(d->html, "\" src=\"data:%s;base64,", mime);
            put_base64(d->html, data, n);
            fprintf(d->html, "\">\n");
        } else
            fprintf(d->html, "<p class=\"warn\">plot file missing: plots/%s.svg</p>\n", p->name);
        free(data);
    } else {
        fprintf(d->md, "Not drawn: %s\n\n", p->error);
        fprintf(d->html, "<p class=\"warn\">Not drawn: ");
        html_text(d->html, p->error);
        fprintf(d->html, "</p>\n");
    }
    if (p->note[0]) {
        fprintf(d->md, "%s\n\n", p->note);
        fprintf(d->html, "<p class=\"note\">");
        html_text(d->html, p->note);
        fprintf(d->html, "</p>\n");
    }
    fprintf(d->html, "</figure>\n");
}

/* ---- sections ---- */

static void fmt_time(double t, char *buf, size_t n)
{
    if (isfinite(t))
        auh_format_utc(t, buf, n);
    else
        snprintf(buf, n, "(unfinished)");
}

static size_t n_au_items(const AuhRunSummary *rs)
{
    size_t n = 0;
    for (size_t i = 0; i < rs->n_items; i++)
        n += rs->items[i].has_au_labels != 0;
    return n;
}

static void section_head(Doc *d, const AuhRunSummary *rs)
{
    char title[512], t0[64], t1[64], thr[64];
    auh_format_threshold(rs->threshold, thr, sizeof(thr));
    snprintf(title, sizeof(title), "auharness report: run %s", rs->run_key);
    fmt_time(rs->started_at, t0, sizeof(t0));
    fmt_time(rs->ended_at, t1, sizeof(t1));
    fprintf(d->md, "# %s\n\n", title);
    fprintf(d->html, "<h1>");
    html_text(d->html, title);
    fprintf(d->html, "</h1>\n");
    doc_p(d, "Run %s (id %lld) at git revision %s, started %s, ended %s: %zu jobs (%zu variants on %zu items, %zu with"
             " AU labels). Gate: AU accuracy >= %s on every item with AU labels, and no failed job.",
          rs->run_key, (long long)rs->run_id, rs->git_revision, t0, t1, rs->n_jobs, rs->n_variants, rs->n_items,
          n_au_items(rs), thr);
    fprintf(d->md, "Sections: Summary, Gate, Plots, Per-item results, Per-AU accuracy, Per-function time, OpenFace"
                   " C++ comparison, Environment, Metric definitions.\n\n");
    fprintf(d->html, "<nav><a href=\"#summary\">Summary</a> <a href=\"#gate\">Gate</a> <a href=\"#plots\">Plots</a>"
                     " <a href=\"#items\">Per-item results</a> <a href=\"#per-au\">Per-AU accuracy</a>"
                     " <a href=\"#stages\">Per-function time</a> <a href=\"#openface\">OpenFace C++</a>"
                     " <a href=\"#environment\">Environment</a> <a href=\"#definitions\">Metric definitions</a>"
                     "</nav>\n");
}

static void section_summary(Doc *d, const AuhRunSummary *rs)
{
    doc_h(d, 2, "summary", "Summary");
    Row *row = calloc(1, sizeof(Row));
    if (!row)
        return;
    for (int c = 0; c < AUH_SUMMARY_TABLE_COLS; c++)
        row_add(row, "%s", auh_summary_table_head[c]);
    const char *align = "lrrrrrrrrl";
    doc_table_begin(d, row, align);
    char cells[AUH_SUMMARY_TABLE_COLS][64];
    for (size_t v = 0; v < rs->n_variants; v++) {
        auh_run_summary_table_row(rs, v, cells);
        row_reset(row);
        for (int c = 0; c < AUH_SUMMARY_TABLE_COLS; c++)
            row_add(row, "%s", cells[c]);
        doc_table_row(d, row, align);
    }
    doc_table_end(d);
    free(row);
    doc_note(d, "FPS: total frames / total frame-loop seconds over the variant's finished jobs. x baseline, x"
                " OpenFace: the same ratio against baseline / OpenFace C++ on the items both finished. lmk px, NME %%:"
                " mean over items of the per-item mean landmark error (videos and image sets together; per item"
                " below). AU r: mean over items with AU labels of the per-item AU accuracy (the gate judges each"
                " item, not this mean). presence: mean presence agreement. failed: failed / all jobs.");
    for (size_t i = 0; i < rs->n_jobs; i++)
        if (rs->jobs[i].failed)
            doc_p(d, "Failed job: %s on %s: %s", rs->jobs[i].variant, rs->items[rs->jobs[i].item_index].label,
                  rs->jobs[i].error ? rs->jobs[i].error : "(no message)");
}

static void section_gate(Doc *d, const AuhRunSummary *rs)
{
    doc_h(d, 2, "gate", "Gate");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return;
    auh_run_summary_write_gate(rs, f);
    auh_run_summary_write_verdict(rs, f);
    fclose(f);
    doc_pre(d, buf ? buf : "");
    free(buf);
    doc_note(d, "auharness gate %s exits with status 0 when every variant passes and 1 otherwise.", rs->run_key);
}

static void section_plots(Doc *d, const char *dir, const AuhPlotSet *set)
{
    doc_h(d, 2, "plots", "Plots");
    if (set->error[0])
        doc_note(d, "%s", set->error);
    for (size_t i = 0; i < set->n_plots; i++)
        doc_plot(d, dir, &set->plots[i]);
    for (size_t i = 0; i < set->n_skipped; i++)
        doc_note(d, "Not drawn, no data: %s.", set->skipped[i]);
}

static double item_speedup(const AuhRunSummary *rs, size_t item, size_t v, long ref)
{
    if (ref < 0)
        return NAN;
    const AuhJobSummary *a = auh_run_summary_job(rs, item, v), *b = auh_run_summary_job(rs, item, (size_t)ref);
    if (!a || !b || a->failed || b->failed || !(a->fps > 0) || !(b->fps > 0))
        return NAN;
    return a->fps / b->fps;
}

static void section_items(Doc *d, const AuhRunSummary *rs)
{
    doc_h(d, 2, "items", "Per-item results");
    Row *row = calloc(1, sizeof(Row));
    if (!row)
        return;
    /* speed and landmarks: every job */
    static const char *const head[] = {"variant", "item", "kind", "status", "frames", "FPS", "x baseline",
                                       "x OpenFace", "lmk px", "RMSE px", "NME %", "AUC@0.08", "fail % (NME>0.08)"};
    const char *align = "llllrrrrrrrrr";
    doc_h(d, 3, "items-speed", "Speed and landmark error");
    for (size_t c = 0; c < sizeof(head) / sizeof(head[0]); c++)
        row_add(row, "%s", head[c]);
    doc_table_begin(d, row, align);
    for (size_t v = 0; v < rs->n_variants; v++)
        for (size_t i = 0; i < rs->n_items; i++) {
            const AuhJobSummary *j = auh_run_summary_job(rs, i, v);
            if (!j)
                continue;
            row_reset(row);
            row_add(row, "%s", rs->variants[v].name);
            row_add(row, "%s", rs->items[i].label);
            row_add(row, "%s", j->is_video ? "video" : "images");
            row_add(row, "%s", j->failed ? "failed" : "ok");
            row_add(row, "%lld", (long long)j->n_frames);
            if (j->failed) {
                for (int k = 0; k < 8; k++)
                    row_add(row, "-");
                doc_table_row(d, row, align);
                continue;
            }
            row_num(row, j->fps, 1, "");
            row_num(row, item_speedup(rs, i, v, rs->baseline), 2, "x");
            row_num(row, item_speedup(rs, i, v, rs->openface), 2, "x");
            row_num(row, auh_job_metric(j, AUH_M_LMK_MEAN_PX, NULL), 2, "");
            row_num(row, auh_job_metric(j, AUH_M_LMK_RMSE_PX, NULL), 2, "");
            row_num(row, 100 * auh_job_metric(j, AUH_M_LMK_MEAN_NME, NULL), 2, "");
            row_num(row, auh_job_metric(j, AUH_M_LMK_AUC, NULL), 3, "");
            row_num(row, 100 * auh_job_metric(j, AUH_M_LMK_FAILURE_RATE, NULL), 1, "");
            doc_table_row(d, row, align);
        }
    doc_table_end(d);
    doc_note(d, "x baseline / x OpenFace per item: the job's FPS over the reference's FPS on the same item. '-':"
                " undefined (no labels of that kind, no reference job, or the job failed).");
    for (size_t i = 0; i < rs->n_jobs; i++)
        if (rs->jobs[i].failed)
            doc_p(d, "Failed job: %s on %s after %lld frames: %s", rs->jobs[i].variant,
                  rs->items[rs->jobs[i].item_index].label, (long long)rs->jobs[i].n_frames,
                  rs->jobs[i].error ? rs->jobs[i].error : "(no message)");

    /* AU accuracy: the jobs of items with AU labels */
    if (n_au_items(rs)) {
        static const char *const head2[] = {"variant", "item", "AU r (gate metric)", "AUs left out",
                                            "presence agreement", "presence F1"};
        const char *align2 = "llrrrr";
        doc_h(d, 3, "items-au", "AU accuracy");
        row_reset(row);
        for (size_t c = 0; c < sizeof(head2) / sizeof(head2[0]); c++)
            row_add(row, "%s", head2[c]);
        doc_table_begin(d, row, align2);
        for (size_t v = 0; v < rs->n_variants; v++)
            for (size_t i = 0; i < rs->n_items; i++) {
                const AuhJobSummary *j = auh_run_summary_job(rs, i, v);
                if (!j || !rs->items[i].has_au_labels)
                    continue;
                row_reset(row);
                row_add(row, "%s", rs->variants[v].name);
                row_add(row, "%s", rs->items[i].label);
                if (j->failed) {
                    row_add(row, "failed");
                    for (int k = 0; k < 3; k++)
                        row_add(row, "-");
                    doc_table_row(d, row, align2);
                    continue;
                }
                double r = auh_job_metric(j, AUH_M_AU_MEAN_R, NULL);
                char val[64];
                auh_format_vs_threshold(r, rs->threshold, 4, val, sizeof(val));
                if (rs->variants[v].gated && !(r >= rs->threshold))
                    row_add(row, "FAIL %s", val);
                else
                    row_add(row, "%s", isfinite(r) ? val : "-");
                row_num(row, auh_job_metric(j, AUH_M_AU_LEFT_OUT, NULL), 0, "");
                row_num(row, auh_job_metric(j, AUH_M_PRESENCE_AGREEMENT, NULL), 3, "");
                row_num(row, auh_job_metric(j, AUH_M_PRESENCE_F1, NULL), 3, "");
                doc_table_row(d, row, align2);
            }
        doc_table_end(d);
    }
    free(row);
}

static void section_per_au(Doc *d, const AuhRunSummary *rs)
{
    doc_h(d, 2, "per-au", "Per-AU accuracy");
    Row *row = calloc(1, sizeof(Row));
    if (!row)
        return;
    size_t plen = strlen(AUH_M_AU_R_PREFIX);
    int any = 0;
    for (size_t i = 0; i < rs->n_items; i++) {
        if (!rs->items[i].has_au_labels)
            continue;
        /* the AUs: union of the per-AU metrics of this item's jobs, by name */
        char aus[AUH_METRICS_MAX_AUS][AUH_STORE_AU_NAME_MAX];
        size_t n_aus = 0;
        size_t vcols[MAX_COLS / 2];
        size_t nv = 0;
        for (size_t v = 0; v < rs->n_variants; v++) {
            const AuhJobSummary *j = auh_run_summary_job(rs, i, v);
            if (!j || j->failed)
                continue;
            if (nv < MAX_COLS / 2 - 1)
                vcols[nv++] = v;
            for (size_t m = 0; m < j->n_metrics; m++) {
                const char *nm = j->metrics[m].name;
                if (strncmp(nm, AUH_M_AU_R_PREFIX, plen) || strlen(nm + plen) >= AUH_STORE_AU_NAME_MAX)
                    continue;
                size_t k = 0;
                while (k < n_aus && strcmp(aus[k], nm + plen))
                    k++;
                if (k == n_aus && n_aus < AUH_METRICS_MAX_AUS)
                    snprintf(aus[n_aus++], AUH_STORE_AU_NAME_MAX, "%s", nm + plen);
            }
        }
        if (!n_aus || !nv)
            continue;
        for (size_t a = 1; a < n_aus; a++)
            for (size_t k = a; k > 0 && strcmp(aus[k - 1], aus[k]) > 0; k--) {
                char t[AUH_STORE_AU_NAME_MAX];
                memcpy(t, aus[k], sizeof(t));
                memcpy(aus[k], aus[k - 1], sizeof(t));
                memcpy(aus[k - 1], t, sizeof(t));
            }
        any = 1;
        char title[256];
        snprintf(title, sizeof(title), "%s: Pearson r and MAE per intensity AU", rs->items[i].label);
        char id[300];
        snprintf(id, sizeof(id), "per-au-%zu", i);
        doc_h(d, 3, id, title);
        row_reset(row);
        row_add(row, "AU");
        for (size_t c = 0; c < nv; c++) {
            row_add(row, "%s r", rs->variants[vcols[c]].name);
            row_add(row, "%s MAE", rs->variants[vcols[c]].name);
        }
        doc_table_begin(d, row, "l");
        char left_out[1024] = "";
        for (size_t a = 0; a < n_aus; a++) {
            row_reset(row);
            row_add(row, "%s", aus[a]);
            int all_undef = 1;
            for (size_t c = 0; c < nv; c++) {
                const AuhJobSummary *j = auh_run_summary_job(rs, i, vcols[c]);
                char name[96];
                snprintf(name, sizeof(name), "%s%s", AUH_M_AU_R_PREFIX, aus[a]);
                int present;
                double r = auh_job_metric(j, name, &present);
                if (present && !isfinite(r))
                    row_add(row, "left out");
                else
                    row_num(row, r, 4, "");
                if (isfinite(r))
                    all_undef = 0;
                snprintf(name, sizeof(name), "%s%s", AUH_M_AU_MAE_PREFIX, aus[a]);
                row_num(row, auh_job_metric(j, name, NULL), 3, "");
            }
            if (all_undef && strlen(left_out) + strlen(aus[a]) + 3 < sizeof(left_out))
                snprintf(left_out + strlen(left_out), sizeof(left_out) - strlen(left_out), "%s%s",
                         left_out[0] ? ", " : "", aus[a]);
            doc_table_row(d, row, "l");
        }
        doc_table_end(d);
        if (left_out[0])
            doc_note(d, "Left out of the AU accuracy on %s (constant in the labels, so r is undefined): %s.",
                     rs->items[i].label, left_out);
    }
    if (!any)
        doc_p(d, "No item of this run has AU labels.");
    free(row);
}

static void section_stages(Doc *d, const AuhRunSummary *rs)
{
    doc_h(d, 2, "stages", "Per-function time");
    size_t vcols[MAX_COLS], nv = 0;
    for (size_t v = 0; v < rs->n_variants; v++) {
        int64_t sum = 0;
        for (size_t k = 0; k < rs->n_stages; k++)
            sum += rs->variants[v].stage_ns[k];
        if (sum > 0 && nv < (MAX_COLS - 1) / 2)
            vcols[nv++] = v;
    }
    if (!nv) {
        doc_p(d, "No job of this run recorded stage timings.");
        return;
    }
    Row *row = calloc(1, sizeof(Row));
    if (!row)
        return;
    doc_p(d, "Time per frame and share of the frame-loop time of each named stage (core/profile.h), over each"
             " variant's finished jobs.");
    row_add(row, "stage");
    for (size_t c = 0; c < nv; c++) {
        row_add(row, "%s ms/frame", rs->variants[vcols[c]].name);
        row_add(row, "%s share", rs->variants[vcols[c]].name);
    }
    doc_table_begin(d, row, "l");
    for (size_t k = 0; k <= rs->n_stages + 1; k++) {
        row_reset(row);
        row_add(row, "%s", k < rs->n_stages ? rs->stages[k] : k == rs->n_stages ? "other (in no stage)"
                                                                                   : "frame loop (wall)");
        for (size_t c = 0; c < nv; c++) {
            const AuhVariantSummary *v = &rs->variants[vcols[c]];
            int64_t sum = 0;
            for (size_t m = 0; m < rs->n_stages; m++)
                sum += v->stage_ns[m];
            double ns = k < rs->n_stages ? (double)v->stage_ns[k]
                        : k == rs->n_stages ? (v->wall_ns > sum ? (double)(v->wall_ns - sum) : 0)
                                            : (double)v->wall_ns;
            row_num(row, v->frames > 0 ? ns * 1e-6 / (double)v->frames : NAN, 3, "");
            row_num(row, v->wall_ns > 0 ? 100 * ns / (double)v->wall_ns : NAN, 1, "%");
        }
        doc_table_row(d, row, "l");
    }
    doc_table_end(d);
    for (size_t c = 0; c < nv; c++) {
        const AuhVariantSummary *v = &rs->variants[vcols[c]];
        char title[256], id[64];
        snprintf(title, sizeof(title), "%s: calls and time per stage", v->name);
        snprintf(id, sizeof(id), "stages-%zu", vcols[c]);
        doc_h(d, 3, id, title);
        row_reset(row);
        row_add(row, "stage");
        row_add(row, "calls");
        row_add(row, "total ms");
        row_add(row, "mean \u00b5s per call");
        row_add(row, "share of frame time");
        doc_table_begin(d, row, "l");
        double shares[256];
        size_t ns = rs->n_stages < 256 ? rs->n_stages : 256;
        auh_timing_shares(v->stage_ns, ns, v->wall_ns, shares);
        for (size_t k = 0; k < ns; k++) {
            if (!v->stage_calls[k] && !v->stage_ns[k])
                continue;
            row_reset(row);
            row_add(row, "%s", rs->stages[k]);
            row_add(row, "%lld", (long long)v->stage_calls[k]);
            row_num(row, (double)v->stage_ns[k] * 1e-6, 1, "");
            row_num(row, auh_mean_ns(v->stage_ns[k], v->stage_calls[k]) * 1e-3, 1, "");
            row_num(row, 100 * shares[k], 1, "%");
            doc_table_row(d, row, "l");
        }
        doc_table_end(d);
    }
    free(row);
}

static void section_openface(Doc *d, const AuhRunSummary *rs)
{
    doc_h(d, 2, "openface", "OpenFace C++ comparison");
    if (rs->openface < 0) {
        doc_p(d, "This run has no OpenFace C++ rows (variant '%s'): give the runner OpenFace's output and speed"
                 " (--openface PATH to run it, or --openface-fps) to compare with it.",
              AUH_VARIANT_OPENFACE);
        return;
    }
    size_t of = (size_t)rs->openface;
    const AuhVariantSummary *ov = &rs->variants[of];
    doc_p(d, "OpenFace C++'s own results are the jobs of variant '%s': their frames are OpenFace's CSV output, scored"
             " against the same labels as every variant. Overall %.1f FPS over %lld frames. FPS source per item:"
             " 'timed in this run' when --openface ran its FeatureExtraction here (tracking loop, single-threaded,"
             " side by side with the variants), else 'given' (--openface-fps, or by default its single-threaded FPS"
             " measured on a quiet reference machine; then the ratios move with this host's load).",
          AUH_VARIANT_OPENFACE, ov->fps, (long long)ov->frames);
    Row *row = calloc(1, sizeof(Row));
    if (!row)
        return;
    row_add(row, "item");
    row_add(row, "frames");
    row_add(row, "OpenFace FPS");
    row_add(row, "FPS source");
    row_add(row, "lmk px");
    row_add(row, "NME %%");
    row_add(row, "AU r");
    row_add(row, "presence");
    size_t vcols[MAX_COLS], nv = 0;
    for (size_t v = 0; v < rs->n_variants && nv < MAX_COLS - 9; v++)
        if (rs->variants[v].gated) {
            vcols[nv++] = v;
            row_add(row, "%s x", rs->variants[v].name);
        }
    doc_table_begin(d, row, "l");
    for (size_t i = 0; i < rs->n_items; i++) {
        const AuhJobSummary *j = auh_run_summary_job(rs, i, of);
        if (!j)
            continue;
        row_reset(row);
        row_add(row, "%s", rs->items[i].label);
        row_add(row, "%lld", (long long)j->n_frames);
        if (j->failed) {
            row_add(row, "failed: %s", j->error ? j->error : "(no message)");
            doc_table_row(d, row, "l");
            continue;
        }
        row_num(row, j->fps, 1, "");
        if (auh_job_metric(j, AUH_M_OPENFACE_TIMED, NULL) == 1)
            row_add(row, "timed in this run (%.2f s loop)", (double)j->wall_ns * 1e-9);
        else if (j->fps_from_metric)
            row_add(row, "given (--openface-fps or the reference machine)");
        else
            row_add(row, "-");
        row_num(row, auh_job_metric(j, AUH_M_LMK_MEAN_PX, NULL), 2, "");
        row_num(row, 100 * auh_job_metric(j, AUH_M_LMK_MEAN_NME, NULL), 2, "");
        row_num(row, auh_job_metric(j, AUH_M_AU_MEAN_R, NULL), 4, "");
        row_num(row, auh_job_metric(j, AUH_M_PRESENCE_AGREEMENT, NULL), 3, "");
        for (size_t c = 0; c < nv; c++)
            row_num(row, item_speedup(rs, i, vcols[c], rs->openface), 2, "x");
        doc_table_row(d, row, "l");
    }
    doc_table_end(d);
    free(row);
    doc_note(d, "'<variant> x': the variant's FPS over OpenFace C++'s on that item. Where an item's labels are"
                " OpenFace C++'s own output (the default dataset's videos), OpenFace's accuracy is 1 by"
                " construction and the variants' accuracy is agreement with OpenFace C++.");
}

static void section_environment(Doc *d, const AuhRunSummary *rs)
{
    doc_h(d, 2, "environment", "Environment");
    Row *row = calloc(1, sizeof(Row));
    if (!row)
        return;
    row_add(row, "fact");
    row_add(row, "value");
    doc_table_begin(d, row, "ll");
    char t0[64], t1[64], now[64];
    fmt_time(rs->started_at, t0, sizeof(t0));
    fmt_time(rs->ended_at, t1, sizeof(t1));
    auh_format_utc(auh_wall_time(), now, sizeof(now));
    const char *kv[][2] = {
        {"run key", rs->run_key},     {"git revision", rs->git_revision}, {"compiler", rs->compiler},
        {"flags", rs->flags},         {"CPU", rs->cpu},                   {"host", rs->host},
        {"command", rs->command},     {"started (UTC)", t0},              {"ended (UTC)", t1},
    };
    for (size_t k = 0; k < sizeof(kv) / sizeof(kv[0]); k++) {
        row_reset(row);
        row_add(row, "%s", kv[k][0]);
        row_add(row, "%s", kv[k][1] ? kv[k][1] : "?");
        doc_table_row(d, row, "ll");
    }
    row_reset(row);
    row_add(row, "run id");
    row_add(row, "%lld", (long long)rs->run_id);
    doc_table_row(d, row, "ll");
    if (isfinite(rs->cpu_share_mean)) {
        row_reset(row);
        row_add(row, "host load");
        row_add(row, "workers on a core %.0f%% of their frame loops' wall time (CPU time / wall time, lowest job %.0f%%;"
                     " 100%% on a quiet machine; wall-clock FPS drops with it)",
                100 * rs->cpu_share_mean, 100 * rs->cpu_share_min);
        doc_table_row(d, row, "ll");
    }
    if (isfinite(rs->host_steal_mean)) {
        row_reset(row);
        row_add(row, "CPU steal");
        row_add(row, "%.1f%% of the machine's CPU time during the frame loops, up to %.1f%% in one job (given to other"
                     " guests by the hypervisor)",
                100 * rs->host_steal_mean, 100 * rs->host_steal_max);
        doc_table_row(d, row, "ll");
    }
    if (isfinite(rs->ended_at) && isfinite(rs->started_at)) {
        row_reset(row);
        row_add(row, "duration");
        row_add(row, "%.1f s", rs->ended_at - rs->started_at);
        doc_table_row(d, row, "ll");
    }
    /* jobs that ran elsewhere (sharded runs merged from several machines) */
    for (size_t i = 0; i < rs->n_jobs; i++) {
        const AuhJobSummary *j = &rs->jobs[i];
        int seen = 0;
        for (size_t k = 0; k < i; k++)
            if (!strcmp(rs->jobs[k].host ? rs->jobs[k].host : "", j->host ? j->host : "") &&
                !strcmp(rs->jobs[k].cpu ? rs->jobs[k].cpu : "", j->cpu ? j->cpu : ""))
                seen = 1;
        if (seen)
            continue;
        size_t n = 0;
        for (size_t k = i; k < rs->n_jobs; k++)
            if (!strcmp(rs->jobs[k].host ? rs->jobs[k].host : "", j->host ? j->host : "") &&
                !strcmp(rs->jobs[k].cpu ? rs->jobs[k].cpu : "", j->cpu ? j->cpu : ""))
                n++;
        row_reset(row);
        row_add(row, "jobs on host");
        row_add(row, "%s (%s): %zu job%s", j->host ? j->host : "?", j->cpu ? j->cpu : "?", n, n == 1 ? "" : "s");
        doc_table_row(d, row, "ll");
    }
    row_reset(row);
    row_add(row, "report written");
    row_add(row, "%s by auharness %s", now, auh_build_git_revision());
    doc_table_row(d, row, "ll");
    doc_table_end(d);
    free(row);
}

static void section_definitions(Doc *d)
{
    doc_h(d, 2, "definitions", "Metric definitions");
    /* Markdown: the text as it is (it is a Markdown list already). */
    fprintf(d->md, "%s\n", auh_metric_definitions);
    /* HTML: the same words; each "- " line starts an item and the indented
     * lines continue it. */
    const char *p = auh_metric_definitions;
    const char *nl = strchr(p, '\n');
    fprintf(d->html, "<div class=\"defs\"><p>");
    fwrite(p, 1, (size_t)(nl - p), d->html);
    fprintf(d->html, "</p>\n<ul>\n");
    p = nl + 1;
    int open = 0;
    while (*p) {
        nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char line[512];
        snprintf(line, sizeof(line), "%.*s", (int)len, p);
        if (!strncmp(line, "- ", 2)) {
            fprintf(d->html, "%s<li>", open ? "</li>\n" : "");
            html_text(d->html, line + 2);
            open = 1;
        } else {
            fputc('\n', d->html);
            html_text(d->html, line);
        }
        p += len + (nl ? 1 : 0);
    }
    fprintf(d->html, "%s</ul></div>\n", open ? "</li>\n" : "");
}

static const char CSS[] =
    "body{font-family:'DejaVu Sans',system-ui,-apple-system,'Segoe UI',Arial,sans-serif;margin:0 auto;"
    "max-width:1180px;padding:16px 24px 48px;color:#1d1d1d;line-height:1.45;font-size:15px}"
    "h1{font-size:1.6em;margin:.4em 0}h2{font-size:1.3em;border-bottom:2px solid #ddd;padding-bottom:.2em;"
    "margin-top:1.8em}h3{font-size:1.08em;margin-top:1.4em}"
    "nav a{margin-right:1em;font-size:.92em}"
    ".tw{overflow-x:auto;margin:.6em 0 1em}"
    "table{border-collapse:collapse;font-size:.9em}th,td{border:1px solid #d4d4d4;padding:3px 8px;"
    "vertical-align:top}th{background:#f0f0f0;text-align:left}tbody tr:nth-child(even){background:#fafafa}"
    "td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
    "td.pass{color:#116611;font-weight:bold}td.fail{color:#b00000;font-weight:bold}"
    "pre{background:#f6f6f6;border:1px solid #ddd;padding:8px 10px;overflow-x:auto;font-size:.9em}"
    "figure{margin:1.2em 0 2em}figure img{max-width:100%;height:auto;border:1px solid #e2e2e2}"
    "figcaption{margin-bottom:.4em}.note{color:#555;font-size:.9em}.warn{color:#a04000;font-weight:bold}"
    ".defs{background:#fbfbf4;border:1px solid #e4e4c8;padding:4px 14px}"
    ".defs li{white-space:pre-line;margin:.3em 0}";

static AuStatus mkdir_one(const char *path, AuError *err)
{
    if (mkdir(path, 0777) && errno != EEXIST)
        return au_error_set(err, AU_ERR_IO, "%s: cannot create folder: %s", path, strerror(errno));
    return AU_OK;
}

static void safe_component(char *out, size_t n, const char *s)
{
    size_t k = 0;
    for (; *s && k + 1 < n; s++) {
        char c = *s;
        int okc = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                  c == '-' || c == '_';
        out[k++] = okc ? c : '_';
    }
    out[k] = '\0';
    if (!out[0] || !strcmp(out, ".") || !strcmp(out, ".."))
        snprintf(out, n, "run");
}

AuStatus auh_report_write(AuhStore *s, int64_t run_id, const AuhReportOptions *opt, AuhReportResult *res,
                          AuError *err)
{
    memset(res, 0, sizeof(*res));
    AuhRunSummary rs;
    AuStatus r = auh_run_summary_load(s, run_id, opt->threshold, &rs, err);
    if (r)
        return r;
    AuhPlotSet plots;
    memset(&plots, 0, sizeof(plots));
    Doc d = {NULL, NULL};
    const char *root = opt->out_dir && opt->out_dir[0] ? opt->out_dir : "reports";
    char comp[256], plot_dir[1300];
    safe_component(comp, sizeof(comp), rs.run_key ? rs.run_key : "run");
    snprintf(res->dir, sizeof(res->dir), "%s/%s", root, comp);
    snprintf(res->md, sizeof(res->md), "%s/report.md", res->dir);
    snprintf(res->html, sizeof(res->html), "%s/report.html", res->dir);
    snprintf(plot_dir, sizeof(plot_dir), "%s/plots", res->dir);
    if ((r = mkdir_one(root, err)) || (r = mkdir_one(res->dir, err)))
        goto done;
    AuhPlotOptions po = {
        .dir = plot_dir,
        .data_dir = opt->data_dir,
        .gnuplot = opt->gnuplot,
        .run_gnuplot = opt->plots,
    };
    if ((r = auh_plots_make(s, &rs, &po, &plots, err)))
        goto done;
    res->n_plots = (int)plots.n_plots;
    res->n_plots_failed = plots.n_failed;
    res->n_plots_skipped = (int)plots.n_skipped;
    snprintf(res->plot_error, sizeof(res->plot_error), "%s", plots.n_failed ? plots.error : "");
    res->n_failed_variants = rs.n_failed_variants;

    d.md = fopen(res->md, "w");
    if (!d.md) {
        r = au_error_set(err, AU_ERR_IO, "%s: cannot write: %s", res->md, strerror(errno));
        goto done;
    }
    d.html = fopen(res->html, "w");
    if (!d.html) {
        r = au_error_set(err, AU_ERR_IO, "%s: cannot write: %s", res->html, strerror(errno));
        goto done;
    }
    fprintf(d.html, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
    html_text(d.html, "auharness report: run ");
    html_text(d.html, rs.run_key ? rs.run_key : "?");
    fprintf(d.html, "</title>\n<style>%s</style>\n</head>\n<body>\n", CSS);
    section_head(&d, &rs);
    section_summary(&d, &rs);
    section_gate(&d, &rs);
    section_plots(&d, res->dir, &plots);
    section_items(&d, &rs);
    section_per_au(&d, &rs);
    section_stages(&d, &rs);
    section_openface(&d, &rs);
    section_environment(&d, &rs);
    section_definitions(&d);
    fprintf(d.html, "</body>\n</html>\n");
done:
    if (d.md) {
        int bad = ferror(d.md);
        if (fclose(d.md) || bad)
            if (!r)
                r = au_error_set(err, AU_ERR_IO, "%s: write error", res->md);
    }
    if (d.html) {
        int bad = ferror(d.html);
        if (fclose(d.html) || bad)
            if (!r)
                r = au_error_set(err, AU_ERR_IO, "%s: write error", res->html);
    }
    auh_plot_set_free(&plots);
    auh_run_summary_free(&rs);
    return r;
}
