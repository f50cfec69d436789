/* gnuplot plots of a run (see plot.h). Each plot: <name>.dat (the numbers,
 * tab-separated, blocks separated by two blank lines), <name>.gp (a script
 * that draws the same body into <name>.png with pngcairo and <name>.svg), and
 * <name>.log (gnuplot's messages). */
#include "plot.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "data_dir.h"
#include "metric_names.h"
#include "metrics.h"
#include "openface_csv.h"

/* pngcairo sizes fonts in points at 72 dpi over the pixel canvas and svg in
 * user units (px), so the same size looks a third smaller in the SVG: each
 * terminal gets its own sizes, and the bodies refer to TITLE_FONT and
 * LABEL_FONT (gnuplot variables) instead of sizes. */
static const struct {
    const char *term, *ext;
    int base, title, label;
} TERMS[2] = {
    {"pngcairo", ".png", 11, 14, 11},
    {"svg", ".svg", 14, 18, 14},
};

typedef struct Ctx {
    const AuhRunSummary *rs;
    AuhStore *store;
    const char *dir, *data_dir, *gnuplot;
    int run_gnuplot;
    int gnuplot_missing;
    AuhPlotSet *set;
    AuError *err;
} Ctx;

/* ---- small helpers ---- */

static AuStatus nomem(AuError *err)
{
    return au_error_set(err, AU_ERR_NOMEM, "out of memory");
}

static AuStatus mkdir_p(const char *path, AuError *err)
{
    char buf[2048];
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
        return au_error_set(err, AU_ERR_ARG, "path too long: %s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0777) && errno != EEXIST)
            return au_error_set(err, AU_ERR_IO, "%s: cannot create folder: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0777) && errno != EEXIST)
        return au_error_set(err, AU_ERR_IO, "%s: cannot create folder: %s", buf, strerror(errno));
    return AU_OK;
}

/* A gnuplot single-quoted string: no escapes but '' for a quote. */
static void put_gp_string(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'')
            fputc('\'', f);
        if (*s == '\n' || *s == '\r')
            fputc(' ', f);
        else
            fputc(*s, f);
    }
    fputc('\'', f);
}

/* A double-quoted field of a data file; gnuplot has no escapes there, so
 * quotes and blanks that would split it are replaced. */
static void put_data_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++)
        fputc(*s == '"' || *s == '\n' || *s == '\r' || *s == '\t' ? '_' : *s, f);
    fputc('"', f);
}

static void put_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.9g", v);
    else
        fputs("?", f); /* `set datafile missing '?'` in every script */
}

/* File-name-safe copy: [A-Za-z0-9._-], others become '_'. */
static void safe_name(char *out, size_t n, const char *s)
{
    size_t k = 0;
    for (; *s && k + 1 < n; s++) {
        char c = *s;
        int okc = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                  c == '-' || c == '_';
        out[k++] = okc ? c : '_';
    }
    out[k] = '\0';
}

/* Colours: fixed per known variant so a variant looks the same in every plot
 * and every report; red is kept for the gate line. */
static unsigned variant_rgb(const char *name, size_t index)
{
    static const struct {
        const char *name;
        unsigned rgb;
    } known[] = {
        {"baseline", 0x1f77b4}, {"simd", 0x2ca02c},  {"iter", 0x9467bd},     {"radius12", 0x8c564b},
        {"skip2", 0xe377c2},    {"fast", 0xff7f0e},  {AUH_VARIANT_OPENFACE, 0x444444},
    };
    static const unsigned others[] = {0x17becf, 0xbcbd22, 0x7f7f7f, 0x393b79, 0x637939, 0x8c6d31};
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (!strcmp(name, known[i].name))
            return known[i].rgb;
    return others[index % (sizeof(others) / sizeof(others[0]))];
}

static void put_rgb(FILE *f, unsigned rgb)
{
    fprintf(f, "rgb '#%06x'", rgb);
}

static const unsigned stage_rgb[] = {0x4e79a7, 0xf28e2b, 0xe15759, 0x76b7b2, 0x59a14f, 0xedc948, 0xb07aa1,
                                     0xff9da7, 0x9c755f, 0x1b9e77, 0xd95f02, 0x7570b3, 0x66a61e, 0xe7298a,
                                     0xa6761d, 0x1f78b4};

const char *auh_plot_gnuplot_program(const char *configured)
{
    if (configured && configured[0])
        return configured;
    const char *e = getenv("AUHARNESS_GNUPLOT");
    return e && e[0] ? e : "gnuplot";
}

int auh_plot_run_program(const char *program, const char *dir, const char *script, const char *log)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        /* child: only async-signal-safe calls until exec */
        if (chdir(dir) != 0)
            _exit(126);
        int in = open("/dev/null", O_RDONLY);
        int out = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0666);
        if (in < 0 || out < 0)
            _exit(126);
        dup2(in, 0);
        dup2(out, 1);
        dup2(out, 2);
        close(in);
        close(out);
        char *const args[] = {(char *)program, (char *)script, NULL};
        execvp(program, args);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return -1;
}

static int file_nonempty(const char *dir, const char *name, const char *ext)
{
    char path[2048];
    snprintf(path, sizeof(path), "%s/%s%s", dir, name, ext);
    struct stat st;
    return stat(path, &st) == 0 && st.st_size > 0;
}

/* Last non-empty line of a log (gnuplot puts the error there). */
static void last_log_line(const char *dir, const char *name, char *out, size_t n)
{
    char path[2048];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    out[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof(line), f)) {
        size_t l = strlen(line);
        while (l && (line[l - 1] == '\n' || line[l - 1] == '\r' || line[l - 1] == ' '))
            line[--l] = '\0';
        if (l && strspn(line, " ^") != l)
            snprintf(out, n, "%s", line);
    }
    fclose(f);
}

static AuStatus skip_plot(Ctx *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static AuStatus skip_plot(Ctx *c, const char *fmt, ...)
{
    char (*p)[256] = realloc(c->set->skipped, (c->set->n_skipped + 1) * sizeof(*p));
    if (!p)
        return nomem(c->err);
    c->set->skipped = p;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p[c->set->n_skipped], sizeof(p[0]), fmt, ap);
    va_end(ap);
    c->set->n_skipped++;
    return AU_OK;
}

static FILE *open_out(Ctx *c, const char *name, const char *ext)
{
    char path[2048];
    snprintf(path, sizeof(path), "%s/%s%s", c->dir, name, ext);
    FILE *f = fopen(path, "w");
    if (!f)
        au_error_set(c->err, AU_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    return f;
}

static AuStatus close_out(Ctx *c, FILE *f, const char *name, const char *ext)
{
    int bad = ferror(f);
    if (fclose(f) || bad)
        return au_error_set(c->err, AU_ERR_IO, "%s/%s%s: write error", c->dir, name, ext);
    return AU_OK;
}

/* Writes the script (body drawn as PNG, then as SVG), runs gnuplot, and
 * records the plot. The body may refer to its data as `<name>.dat`. */
static AuStatus finish_plot(Ctx *c, const char *name, int width, int height, const char *body, const char *title,
                            const char *note)
{
    AuhPlot *p = realloc(c->set->plots, (c->set->n_plots + 1) * sizeof(*p));
    if (!p)
        return nomem(c->err);
    c->set->plots = p;
    AuhPlot *pl = &p[c->set->n_plots++];
    memset(pl, 0, sizeof(*pl));
    snprintf(pl->name, sizeof(pl->name), "%s", name);
    snprintf(pl->title, sizeof(pl->title), "%s", title);
    snprintf(pl->note, sizeof(pl->note), "%s", note ? note : "");

    FILE *f = open_out(c, name, ".gp");
    if (!f)
        return c->err->code;
    fprintf(f, "# %s\n# Generated by auharness report; run `gnuplot %s.gp` in this folder to redraw.\n", title, name);
    fprintf(f, "set encoding utf8\nset datafile missing '?'\nset datafile separator tab\n");
    for (int t = 0; t < 2; t++) {
        fprintf(f, "\nreset\nset datafile missing '?'\nset datafile separator tab\n");
        fprintf(f, "set terminal %s size %d,%d font 'DejaVu Sans,%d' noenhanced background rgb 'white'\n",
                TERMS[t].term, width, height, TERMS[t].base);
        fprintf(f, "TITLE_FONT = 'DejaVu Sans,%d'\nLABEL_FONT = 'DejaVu Sans,%d'\n", TERMS[t].title,
                TERMS[t].label);
        fprintf(f, "set output '%s%s'\n", name, TERMS[t].ext);
        fprintf(f, "set border lw 1.2 lc rgb '#333333'\nset grid ytics lc rgb '#d8d8d8' lw 1 dt 1\n");
        fprintf(f, "set tics nomirror\nset key box lc rgb '#bbbbbb' opaque\n");
        fputs(body, f);
        fprintf(f, "set output\n");
    }
    AuStatus r = close_out(c, f, name, ".gp");
    if (r)
        return r;
    if (!c->run_gnuplot) {
        snprintf(pl->error, sizeof(pl->error), "plots not drawn (--no-plots)");
        c->set->n_failed++;
        return AU_OK;
    }
    if (c->gnuplot_missing) {
        snprintf(pl->error, sizeof(pl->error), "%s", c->set->error);
        c->set->n_failed++;
        return AU_OK;
    }
    char script[256], log[256];
    snprintf(script, sizeof(script), "%s.gp", name);
    snprintf(log, sizeof(log), "%s.log", name);
    char png[200], svg[200];
    snprintf(png, sizeof(png), "%s/%s.png", c->dir, name);
    snprintf(svg, sizeof(svg), "%s/%s.svg", c->dir, name);
    remove(png);
    remove(svg);
    int st = auh_plot_run_program(c->gnuplot, c->dir, script, log);
    if (st == 127 || st == 126) {
        c->gnuplot_missing = 1;
        snprintf(c->set->error, sizeof(c->set->error),
                 "gnuplot could not be run ('%s' not found; install the gnuplot-nox package, as scripts/setup.sh does,"
                 " or set AUHARNESS_GNUPLOT): plots not drawn; their data and scripts are in %s",
                 c->gnuplot, c->dir);
        snprintf(pl->error, sizeof(pl->error), "%s", c->set->error);
        c->set->n_failed++;
        return AU_OK;
    }
    if (st != 0 || !file_nonempty(c->dir, name, ".png") || !file_nonempty(c->dir, name, ".svg")) {
        char last[400];
        last_log_line(c->dir, log, last, sizeof(last));
        snprintf(pl->error, sizeof(pl->error), "gnuplot failed on %s/%s (status %d)%s%s", c->dir, script, st,
                 last[0] ? ": " : "", last);
        if (!c->set->error[0])
            snprintf(c->set->error, sizeof(c->set->error), "%s", pl->error);
        c->set->n_failed++;
        return AU_OK;
    }
    pl->written = 1;
    return AU_OK;
}

/* A body in memory (open_memstream); *buf is freed by the caller. */
typedef struct Body {
    char *buf;
    size_t len;
    FILE *f;
} Body;

static AuStatus body_open(Ctx *c, Body *b)
{
    b->buf = NULL;
    b->len = 0;
    b->f = open_memstream(&b->buf, &b->len);
    return b->f ? AU_OK : nomem(c->err);
}

static AuStatus body_close(Ctx *c, Body *b)
{
    if (!b->f)
        return AU_OK;
    int bad = ferror(b->f);
    fclose(b->f);
    b->f = NULL;
    return bad || !b->buf ? nomem(c->err) : AU_OK;
}

static void body_free(Body *b)
{
    if (b->f)
        fclose(b->f);
    free(b->buf);
    b->buf = NULL;
    b->f = NULL;
}

static void put_title(FILE *f, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void put_title(FILE *f, const char *fmt, ...)
{
    char t[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t, sizeof(t), fmt, ap);
    va_end(ap);
    fputs("set title ", f);
    put_gp_string(f, t);
    fputs(" font TITLE_FONT\n", f);
}

static void put_label_cmd(FILE *f, const char *cmd, const char *text)
{
    fprintf(f, "set %s ", cmd);
    put_gp_string(f, text);
    fputc('\n', f);
}

/* A key under the plot, clear of the x label: gnuplot does not reserve room
 * for both, so the bottom margin is set for the key's rows (3 per row). */
static void key_below(FILE *f, int n_entries)
{
    int rows = (n_entries + 2) / 3;
    fprintf(f, "set key below horizontal maxcols 3\nset bmargin %d\n", 5 + rows);
}

static double nice_max(double v)
{
    if (!(v > 0))
        return 1;
    double e = pow(10, floor(log10(v)));
    double steps[] = {1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10};
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
        if (steps[i] * e >= v)
            return steps[i] * e;
    return 10 * e;
}

/* ---- 1. FPS per variant ---- */

static AuStatus plot_fps(Ctx *c)
{
    const AuhRunSummary *rs = c->rs;
    size_t n = 0;
    double ymax = 0;
    for (size_t v = 0; v < rs->n_variants; v++)
        if (!rs->variants[v].is_openface && isfinite(rs->variants[v].fps)) {
            n++;
            ymax = fmax(ymax, rs->variants[v].fps);
        }
    if (!n)
        return skip_plot(c, "FPS per variant: no variant has a finished job with a frame-loop time");
    double of = rs->openface >= 0 ? rs->variants[rs->openface].fps : NAN;
    if (isfinite(of))
        ymax = fmax(ymax, of);
    FILE *d = open_out(c, "fps", ".dat");
    if (!d)
        return c->err->code;
    fprintf(d, "# x\tvariant\tfps\tcolour\tlabel\n");
    size_t x = 0;
    for (size_t v = 0; v < rs->n_variants; v++) {
        const AuhVariantSummary *vs = &rs->variants[v];
        if (vs->is_openface || !isfinite(vs->fps))
            continue;
        char label[128];
        if (isfinite(vs->x_baseline) && !vs->is_baseline)
            snprintf(label, sizeof(label), "%.1f (%.2fx)", vs->fps, vs->x_baseline);
        else
            snprintf(label, sizeof(label), "%.1f", vs->fps);
        /* a variant with failed jobs is measured on fewer items: say so under its bar */
        char nm[200];
        if (vs->n_failed)
            snprintf(nm, sizeof(nm), "%s (%zu failed)", vs->name, vs->n_failed);
        else
            snprintf(nm, sizeof(nm), "%s", vs->name);
        fprintf(d, "%zu\t", x++);
        put_data_string(d, nm);
        fprintf(d, "\t");
        put_num(d, vs->fps);
        fprintf(d, "\t%u\t", variant_rgb(vs->name, v));
        put_data_string(d, label);
        fputc('\n', d);
    }
    AuStatus r = close_out(c, d, "fps", ".dat");
    if (r)
        return r;
    Body b;
    if ((r = body_open(c, &b)))
        return r;
    put_title(b.f, "Speed per variant (run %s)", rs->run_key);
    put_label_cmd(b.f, "ylabel", "FPS (frames / frame-loop s)");
    put_label_cmd(b.f, "xlabel", "variant (label: FPS and speed-up over baseline)");
    fprintf(b.f, "set style fill solid 0.85 border lc rgb '#333333'\nset boxwidth 0.6\n");
    fprintf(b.f, "set yrange [0:%g]\nset xrange [-0.6:%g]\nset key top left\n", nice_max(ymax * 1.15),
            (double)n - 0.4);
    fprintf(b.f, "plot 'fps.dat' using 1:3:4:xtic(2) with boxes lc rgb variable notitle, \\\n"
                 "     '' using 1:3:5 with labels offset 0,0.9 font LABEL_FONT notitle");
    if (isfinite(of)) {
        char t[128];
        snprintf(t, sizeof(t), "OpenFace C++: %.1f FPS", of);
        fprintf(b.f, ", \\\n     %.9g with lines lw 2.5 dt 2 lc rgb '#444444' title ", of);
        put_gp_string(b.f, t);
    }
    fputc('\n', b.f);
    if (!(r = body_close(c, &b)))
        r = finish_plot(c, "fps", 1000, 560, b.buf, "FPS per variant",
                        isfinite(of) ? "Bars: each variant's FPS over its finished jobs (total frames / total frame-loop"
                                       " time). Dashed line: OpenFace C++ on its items."
                                     : "Bars: each variant's FPS over its finished jobs (total frames / total frame-loop"
                                       " time). This run has no OpenFace C++ rows.");
    body_free(&b);
    return r;
}

/* ---- 2. speed-up against AU accuracy ---- */

static AuStatus plot_speedup_accuracy(Ctx *c)
{
    const AuhRunSummary *rs = c->rs;
    if (rs->baseline < 0)
        return skip_plot(c, "speed-up against AU accuracy: the run has no baseline variant");
    size_t n = 0;
    double xmax = 1, ymin = rs->threshold, ymax = rs->threshold;
    for (size_t v = 0; v < rs->n_variants; v++) {
        const AuhVariantSummary *vs = &rs->variants[v];
        if (!isfinite(vs->x_baseline) || !isfinite(vs->au_min_r))
            continue;
        n++;
        xmax = fmax(xmax, vs->x_baseline);
        ymin = fmin(ymin, vs->au_min_r);
        ymax = fmax(ymax, fmax(vs->au_mean_r, vs->au_min_r));
    }
    if (!n)
        return skip_plot(c, "speed-up against AU accuracy: no variant has both a speed-up and an AU accuracy");
    FILE *d = open_out(c, "speedup_accuracy", ".dat");
    if (!d)
        return c->err->code;
    int k_label = 0;
    fprintf(d, "# variant\tspeedup_over_baseline\tau_r_worst_item\tau_r_mean\tcolour\tlabel_dy\n");
    for (size_t v = 0; v < rs->n_variants; v++) {
        const AuhVariantSummary *vs = &rs->variants[v];
        if (!isfinite(vs->x_baseline) || !isfinite(vs->au_min_r))
            continue;
        put_data_string(d, vs->name);
        fputc('\t', d);
        put_num(d, vs->x_baseline);
        fputc('\t', d);
        put_num(d, vs->au_min_r);
        fputc('\t', d);
        put_num(d, vs->au_mean_r);
        /* labels alternate above and below their points so that variants at
         * similar speed-ups and accuracies do not overwrite each other */
        fprintf(d, "\t%u\t%d\n", variant_rgb(vs->name, v), k_label++ % 2 ? -1 : 1);
    }
    AuStatus r = close_out(c, d, "speedup_accuracy", ".dat");
    if (r)
        return r;
    /* y range: from a little under the worst point (or the gate) to 1 */
    double lo = floor((ymin - 0.02) * 50) / 50, hi = fmin(1.0, ymax);
    if (hi - lo < 0.05)
        lo = hi - 0.05;
    hi += 0.08 * (hi - lo); /* room for the labels above the points at r = 1 */
    Body b;
    if ((r = body_open(c, &b)))
        return r;
    char thr[64];
    auh_format_threshold(rs->threshold, thr, sizeof(thr));
    put_title(b.f, "Speed-up against AU accuracy (gate: AU r >= %s on every item)", thr);
    put_label_cmd(b.f, "xlabel", "speed-up over baseline (x, on matching items)");
    put_label_cmd(b.f, "ylabel", "AU accuracy (mean Pearson r over AUs)");
    fprintf(b.f, "set xrange [0:%g]\nset yrange [%g:%g]\nset grid xtics ytics lc rgb '#d8d8d8'\n",
            nice_max(xmax * 1.25), lo, hi);
    key_below(b.f, 3);
    fprintf(b.f, "set ytics format '%%.2f'\n");
    fprintf(b.f, "plot %.9g with lines lw 2 dt 2 lc rgb '#d62728' title 'gate: AU r = %s', \\\n", rs->threshold, thr);
    fprintf(b.f, "     'speedup_accuracy.dat' using 2:3:5 with points pt 7 ps 2.2 lc rgb variable notitle, \\\n"
                 "     '' using 2:4:5 with points pt 6 ps 2.2 lw 2 lc rgb variable notitle, \\\n"
                 "     '' using 2:($3 + $6 * %g):1 with labels center font LABEL_FONT notitle, \\\n"
                 "     NaN with points pt 7 ps 1.8 lc rgb '#555555' title 'worst item (what the gate judges)', \\\n"
                 "     NaN with points pt 6 ps 1.8 lw 2 lc rgb '#555555' title 'mean over items'\n",
            0.045 * (hi - lo));
    if (!(r = body_close(c, &b)))
        r = finish_plot(c, "speedup_accuracy", 1000, 640, b.buf, "Speed-up against AU accuracy",
                        "Each variant at its speed-up over baseline (matching items). Filled: its worst item's AU"
                        " accuracy, which the gate judges; open: the mean over items. Dashed red: the gate.");
    body_free(&b);
    return r;
}

/* ---- 3. per-frame time by stage ---- */

static AuStatus plot_stages(Ctx *c)
{
    const AuhRunSummary *rs = c->rs;
    size_t n = 0;
    for (size_t v = 0; v < rs->n_variants; v++) {
        int64_t sum = 0;
        for (size_t k = 0; k < rs->n_stages; k++)
            sum += rs->variants[v].stage_ns[k];
        if (sum > 0 && rs->variants[v].frames > 0)
            n++;
    }
    if (!n || !rs->n_stages)
        return skip_plot(c, "per-stage time: no job has stage timings");
    FILE *d = open_out(c, "stages", ".dat");
    if (!d)
        return c->err->code;
    fprintf(d, "variant");
    for (size_t k = 0; k < rs->n_stages; k++)
        fprintf(d, "\t%s", rs->stages[k]);
    fprintf(d, "\tother\ttotal\tlabel\tx\n");
    size_t row_x = 0;
    double ymax = 0;
    for (size_t v = 0; v < rs->n_variants; v++) {
        const AuhVariantSummary *vs = &rs->variants[v];
        int64_t sum = 0;
        for (size_t k = 0; k < rs->n_stages; k++)
            sum += vs->stage_ns[k];
        if (!(sum > 0 && vs->frames > 0))
            continue;
        double per = 1e-6 / (double)vs->frames; /* ns -> ms per frame */
        put_data_string(d, vs->name);
        for (size_t k = 0; k < rs->n_stages; k++) {
            fputc('\t', d);
            put_num(d, (double)vs->stage_ns[k] * per);
        }
        double other = vs->wall_ns > sum ? (double)(vs->wall_ns - sum) * per : 0;
        double total = fmax((double)vs->wall_ns, (double)sum) * per;
        ymax = fmax(ymax, total);
        fputc('\t', d);
        put_num(d, other);
        fputc('\t', d);
        put_num(d, total);
        char label[64];
        snprintf(label, sizeof(label), "%.1f ms", total);
        fputc('\t', d);
        put_data_string(d, label);
        fprintf(d, "\t%zu\n", row_x++);
    }
    AuStatus r = close_out(c, d, "stages", ".dat");
    if (r)
        return r;
    Body b;
    if ((r = body_open(c, &b)))
        return r;
    put_title(b.f, "Per-frame time by stage");
    put_label_cmd(b.f, "ylabel", "milliseconds per frame");
    put_label_cmd(b.f, "xlabel", "variant (label: frame-loop time per frame)");
    fprintf(b.f, "set style data histograms\nset style histogram rowstacked\n"
                 "set style fill solid 0.9 border lc rgb '#ffffff'\nset boxwidth 0.6\n"
                 "set key outside right top vertical noopaque title 'stage'\nset yrange [0:%g]\n",
            nice_max(ymax * 1.12));
    size_t nc = rs->n_stages;
    fprintf(b.f, "plot ");
    for (size_t k = 0; k <= nc; k++) {
        fprintf(b.f, "%s'stages.dat' using %zu%s title columnheader(%zu) lc ", k ? ", \\\n     " : "", k + 2,
                k ? "" : ":xtic(1)", k + 2);
        if (k == nc)
            fprintf(b.f, "rgb '#cfcfcf'");
        else
            put_rgb(b.f, stage_rgb[k % (sizeof(stage_rgb) / sizeof(stage_rgb[0]))]);
    }
    fprintf(b.f, ", \\\n     '' using %zu:%zu:%zu with labels offset 0,0.8 notitle\n", nc + 5, nc + 3, nc + 4);
    if (!(r = body_close(c, &b)))
        r = finish_plot(c, "stages", 1100, 600, b.buf, "Per-frame time by stage",
                        "Each variant's stage totals over its finished jobs divided by its frames; 'other' is the"
                        " frame-loop time no stage accounts for. The segments' heights are the stages' shares of"
                        " the frame time.");
    body_free(&b);
    return r;
}

/* ---- 4. per-AU accuracy ---- */

typedef struct AuList {
    size_t n;
    char names[AUH_METRICS_MAX_AUS][AUH_STORE_AU_NAME_MAX];
} AuList;

static void au_list_collect(const AuhRunSummary *rs, AuList *l)
{
    l->n = 0;
    size_t plen = strlen(AUH_M_AU_R_PREFIX);
    for (size_t j = 0; j < rs->n_jobs; j++)
        for (size_t m = 0; m < rs->jobs[j].n_metrics; m++) {
            const char *nm = rs->jobs[j].metrics[m].name;
            if (strncmp(nm, AUH_M_AU_R_PREFIX, plen) || strlen(nm + plen) >= AUH_STORE_AU_NAME_MAX)
                continue;
            size_t k = 0;
            while (k < l->n && strcmp(l->names[k], nm + plen))
                k++;
            if (k == l->n && l->n < AUH_METRICS_MAX_AUS)
                snprintf(l->names[l->n++], AUH_STORE_AU_NAME_MAX, "%s", nm + plen);
        }
    /* sorted by name, as OpenFace orders its AU columns */
    for (size_t i = 1; i < l->n; i++)
        for (size_t k = i; k > 0 && strcmp(l->names[k - 1], l->names[k]) > 0; k--) {
            char t[AUH_STORE_AU_NAME_MAX];
            memcpy(t, l->names[k], sizeof(t));
            memcpy(l->names[k], l->names[k - 1], sizeof(t));
            memcpy(l->names[k - 1], t, sizeof(t));
        }
}

/* Mean over the variant's ok jobs of metric prefix+au (NaN when none). */
static double variant_au_mean(const AuhRunSummary *rs, size_t v, const char *prefix, const char *au)
{
    char name[96];
    snprintf(name, sizeof(name), "%s%s", prefix, au);
    double s = 0;
    int n = 0;
    for (size_t j = 0; j < rs->n_jobs; j++) {
        if (rs->jobs[j].variant_index != v || rs->jobs[j].failed)
            continue;
        double x = auh_job_metric(&rs->jobs[j], name, NULL);
        if (isfinite(x)) {
            s += x;
            n++;
        }
    }
    return n ? s / n : NAN;
}

static AuStatus plot_au_accuracy(Ctx *c)
{
    const AuhRunSummary *rs = c->rs;
    AuList aus;
    au_list_collect(rs, &aus);
    if (!aus.n)
        return skip_plot(c, "per-AU accuracy: no job has per-AU Pearson r (no item with AU labels)");
    size_t cols[256], nv = 0;
    for (size_t v = 0; v < rs->n_variants && nv < 256; v++) {
        int any = 0;
        for (size_t a = 0; a < aus.n; a++)
            if (isfinite(variant_au_mean(rs, v, AUH_M_AU_R_PREFIX, aus.names[a])))
                any = 1;
        if (any)
            cols[nv++] = v;
    }
    if (!nv)
        return skip_plot(c, "per-AU accuracy: every per-AU r is undefined");
    FILE *d = open_out(c, "au_accuracy", ".dat");
    if (!d)
        return c->err->code;
    fprintf(d, "AU");
    for (size_t i = 0; i < nv; i++) {
        fputc('\t', d);
        put_data_string(d, rs->variants[cols[i]].name);
    }
    fputc('\n', d);
    double ymin = 1;
    for (size_t a = 0; a < aus.n; a++) {
        put_data_string(d, aus.names[a]);
        for (size_t i = 0; i < nv; i++) {
            double x = variant_au_mean(rs, cols[i], AUH_M_AU_R_PREFIX, aus.names[a]);
            if (isfinite(x))
                ymin = fmin(ymin, x);
            fputc('\t', d);
            put_num(d, x);
        }
        fputc('\n', d);
    }
    AuStatus r = close_out(c, d, "au_accuracy", ".dat");
    if (r)
        return r;
    double lo = fmax(-1, floor((ymin - 0.02) * 20) / 20);
    if (lo > 0.95)
        lo = 0.95;
    Body b;
    if ((r = body_open(c, &b)))
        return r;
    put_title(b.f, "Per-AU accuracy (Pearson r against the labels, mean over items)");
    put_label_cmd(b.f, "ylabel", "Pearson r");
    put_label_cmd(b.f, "xlabel", "intensity AU");
    fprintf(b.f, "set style data histograms\nset style histogram clustered gap 1\n"
                 "set style fill solid 0.85 border lc rgb '#333333'\nset yrange [%g:1.0]\n"
                 "set key outside right top vertical title 'variant'\n",
            lo);
    fprintf(b.f, "plot ");
    for (size_t i = 0; i < nv; i++) {
        fprintf(b.f, "%s'au_accuracy.dat' using %zu%s title columnheader(%zu) lc ", i ? ", \\\n     " : "", i + 2,
                i ? "" : ":xtic(1)", i + 2);
        put_rgb(b.f, variant_rgb(rs->variants[cols[i]].name, cols[i]));
    }
    fputc('\n', b.f);
    if (!(r = body_close(c, &b)))
        r = finish_plot(c, "au_accuracy", 1200, 560, b.buf, "Per-AU accuracy",
                        "Pearson r of each intensity AU against the labels, averaged over the items where it is"
                        " defined. An AU constant in an item's labels has no r there (left out, listed in the"
                        " per-AU tables). The y axis starts above 0 to separate close values.");
    body_free(&b);
    return r;
}

/* ---- 5. CED over the image sets, 6-7. over frames of each video ---- */

/* Per-frame values of one job, loaded on demand. */
static AuStatus load_job(Ctx *c, const AuhJobSummary *j, AuhJob *job)
{
    AuStatus r = auh_store_load_job(c->store, j->id, job, c->err);
    if (r)
        au_error_prefix(c->err, "plots: ");
    return r;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static AuStatus plot_ced(Ctx *c)
{
    const AuhRunSummary *rs = c->rs;
    int any_item = 0;
    for (size_t i = 0; i < rs->n_items; i++)
        if (!rs->items[i].is_video && rs->items[i].labels)
            any_item = 1;
    if (!any_item)
        return skip_plot(c, "landmark CED: the run has no image-set item with landmark labels");
    FILE *d = open_out(c, "ced", ".dat");
    if (!d)
        return c->err->code;
    AuStatus r = AU_OK;
    Body b = {0};
    size_t n_blocks = 0;
    char (*titles)[160] = calloc(rs->n_variants + 1, sizeof(*titles));
    size_t *block_variant = calloc(rs->n_variants + 1, sizeof(size_t));
    if (!titles || !block_variant) {
        r = nomem(c->err);
        goto done;
    }
    fprintf(d, "# CED per variant over the image-set items: NME, fraction of images with NME <= it\n");
    for (size_t v = 0; v < rs->n_variants && !r; v++) {
        double *e = NULL;
        size_t n = 0, cap = 0;
        for (size_t i = 0; i < rs->n_items && !r; i++) {
            const AuhJobSummary *j = auh_run_summary_job(rs, i, v);
            if (rs->items[i].is_video || !j || j->failed || !j->labels)
                continue;
            AuhJob job;
            if ((r = load_job(c, j, &job)))
                break;
            for (size_t f = 0; f < job.n_frames; f++) {
                if (n == cap) {
                    cap = cap ? 2 * cap : 256;
                    double *p = realloc(e, cap * sizeof(double));
                    if (!p) {
                        r = nomem(c->err);
                        break;
                    }
                    e = p;
                }
                /* a labelled image without a prediction counts as a failure */
                e[n++] = isfinite(job.frames[f].nme) ? job.frames[f].nme : INFINITY;
            }
            auh_job_free(&job);
        }
        if (!r && n) {
            size_t n_finite = 0;
            for (size_t k = 0; k < n; k++)
                n_finite += isfinite(e[k]) != 0;
            if (n_finite) {
                double auc = auh_auc_at(e, n, AUH_NME_THRESHOLD), fr = auh_failure_rate(e, n, AUH_NME_THRESHOLD);
                qsort(e, n, sizeof(double), cmp_double);
                fprintf(d, "# %s\n0\t0\n", rs->variants[v].name);
                for (size_t k = 0; k < n && isfinite(e[k]); k++)
                    fprintf(d, "%.9g\t%.9g\n", e[k], (double)(k + 1) / (double)n);
                fprintf(d, "1\t%.9g\n\n\n", (double)n_finite / (double)n);
                snprintf(titles[n_blocks], sizeof(titles[0]), "%s: AUC@%.2f %.3f, failures %.1f%% (%zu images)",
                         rs->variants[v].name, AUH_NME_THRESHOLD, auc, 100 * fr, n);
                block_variant[n_blocks++] = v;
            }
        }
        free(e);
    }
    if (r) {
        fclose(d);
        goto done;
    }
    if ((r = close_out(c, d, "ced", ".dat")))
        goto done;
    if (!n_blocks) {
        r = skip_plot(c, "landmark CED: no image-set job has per-image NME");
        goto done;
    }
    if ((r = body_open(c, &b)))
        goto done;
    put_title(b.f, "Landmark CED over the image sets");
    put_label_cmd(b.f, "xlabel", "NME (mean point error / outer inter-ocular distance)");
    put_label_cmd(b.f, "ylabel", "fraction of images with NME <= x");
    fprintf(b.f, "set xrange [0:0.1]\nset yrange [0:1]\nset grid xtics ytics lc rgb '#d8d8d8'\n"
                 "set key bottom right\nset arrow from %g, graph 0 to %g, graph 1 nohead dt 2 lw 1.5 lc rgb "
                 "'#888888'\nset label 'NME 0.08 (300-W)' at %g, graph 1 center offset 0,0.7 tc rgb '#666666'\n",
            AUH_NME_THRESHOLD, AUH_NME_THRESHOLD, AUH_NME_THRESHOLD);
    fprintf(b.f, "plot ");
    for (size_t k = 0; k < n_blocks; k++) {
        size_t v = block_variant[k];
        fprintf(b.f, "%s'ced.dat' index %zu using 1:2 with steps lw %s lc ", k ? ", \\\n     " : "", k,
                rs->variants[v].is_openface ? "2 dt 2" : "2.5");
        put_rgb(b.f, variant_rgb(rs->variants[v].name, v));
        fputs(" title ", b.f);
        put_gp_string(b.f, titles[k]);
    }
    fputc('\n', b.f);
    if (!(r = body_close(c, &b)))
        r = finish_plot(c, "ced", 1000, 600, b.buf, "Landmark CED (image sets)",
                        "Cumulative error distribution of the per-image NME over every image-set item; images"
                        " without a prediction count as failures (the curve never reaches them).");
done:
    body_free(&b);
    free(titles);
    free(block_variant);
    return r;
}

static int au_index(const AuhJob *job, const char *au)
{
    for (int k = 0; k < job->n_au_r; k++)
        if (!strcmp(job->au_r_names[k], au))
            return k;
    return -1;
}

/* Landmark error and one AU over the frames of a video item. */
static AuStatus plot_video_item(Ctx *c, size_t item)
{
    const AuhRunSummary *rs = c->rs;
    const AuhItemSummary *it = &rs->items[item];
    char safe[128], lmk_name[160], au_name[200];
    safe_name(safe, sizeof(safe), it->label);
    snprintf(lmk_name, sizeof(lmk_name), "lmk_%s", safe);

    /* which AU: AU12 (lip corner puller, the smile) when the jobs have it */
    char au[AUH_STORE_AU_NAME_MAX] = "";
    AuStatus r = AU_OK;
    AuhJob *jobs = calloc(rs->n_variants, sizeof(AuhJob));
    int *loaded = calloc(rs->n_variants, sizeof(int));
    FILE *dl = NULL, *da = NULL;
    Body b = {0};
    AuhOfCsv labels;
    memset(&labels, 0, sizeof(labels));
    int have_labels = 0;
    char label_note[700] = "";
    if (!jobs || !loaded) {
        r = nomem(c->err);
        goto done;
    }
    for (size_t v = 0; v < rs->n_variants && !r; v++) {
        const AuhJobSummary *j = auh_run_summary_job(rs, item, v);
        if (!j || j->failed)
            continue;
        if ((r = load_job(c, j, &jobs[v])))
            break;
        loaded[v] = 1;
        if (!au[0] && jobs[v].n_au_r) {
            snprintf(au, sizeof(au), "%s", au_index(&jobs[v], "AU12") >= 0 ? "AU12" : jobs[v].au_r_names[0]);
        }
    }
    if (r)
        goto done;

    /* landmark error over frames */
    int any_lmk = 0;
    for (size_t v = 0; v < rs->n_variants; v++)
        for (size_t f = 0; loaded[v] && f < jobs[v].n_frames; f++)
            if (isfinite(jobs[v].frames[f].lmk_px))
                any_lmk = 1;
    if (any_lmk) {
        if (!(dl = open_out(c, lmk_name, ".dat"))) {
            r = c->err->code;
            goto done;
        }
        fprintf(dl, "# landmark error per frame (px) of %s; one block per variant\n", it->label);
        if ((r = body_open(c, &b)))
            goto done;
        put_title(b.f, "Landmark error over frames: %s", it->label);
        put_label_cmd(b.f, "xlabel", "frame");
        put_label_cmd(b.f, "ylabel", "landmark error (px, mean over the 68 points)");
        int n_keys = 0;
        for (size_t v = 0; v < rs->n_variants; v++)
            n_keys += loaded[v];
        key_below(b.f, n_keys);
        fprintf(b.f, "set yrange [0:*]\nplot ");
        size_t block = 0;
        int first_line = 1;
        for (size_t v = 0; v < rs->n_variants; v++) {
            if (!loaded[v])
                continue;
            double s = 0;
            size_t n = 0;
            fprintf(dl, "# %s\n", rs->variants[v].name);
            for (size_t f = 0; f < jobs[v].n_frames; f++) {
                double e = jobs[v].frames[f].lmk_px;
                fprintf(dl, "%d\t", jobs[v].frames[f].frame);
                put_num(dl, e);
                fputc('\n', dl);
                if (isfinite(e)) {
                    s += e;
                    n++;
                }
            }
            fprintf(dl, "\n\n");
            if (!n) {
                block++;
                continue;
            }
            char t[200];
            snprintf(t, sizeof(t), "%s (mean %.2f px)", rs->variants[v].name, s / (double)n);
            fprintf(b.f, "%s'%s.dat' index %zu using 1:2 with lines lw %s lc ", first_line ? "" : ", \\\n     ",
                    lmk_name, block, rs->variants[v].is_openface ? "2 dt 2" : "1.8");
            put_rgb(b.f, variant_rgb(rs->variants[v].name, v));
            fputs(" title ", b.f);
            put_gp_string(b.f, t);
            first_line = 0;
            block++;
        }
        fputc('\n', b.f);
        if ((r = close_out(c, dl, lmk_name, ".dat"))) {
            dl = NULL;
            goto done;
        }
        dl = NULL;
        char title[256];
        snprintf(title, sizeof(title), "Landmark error over frames: %s", it->label);
        if (!(r = body_close(c, &b)))
            r = finish_plot(c, lmk_name, 1100, 560, b.buf, title,
                            "Per-frame mean point-to-point distance to the labels over the 68 points, on frames where"
                            " prediction and labels succeed (gaps elsewhere).");
        body_free(&b);
        if (r)
            goto done;
    } else if ((r = skip_plot(c, "landmark error over frames of %s: no per-frame landmark error stored", it->label)))
        goto done;

    /* one AU over frames against the labels */
    if (!au[0]) {
        r = skip_plot(c, "AU over frames of %s: no job stored AU intensities", it->label);
        goto done;
    }
    if (it->labels) {
        char path[2048];
        snprintf(path, sizeof(path), "%s/%s", c->data_dir, it->labels);
        AuError lerr = {0};
        if (auh_of_csv_read(&labels, path, &lerr) == AU_OK)
            have_labels = 1;
        else
            snprintf(label_note, sizeof(label_note), " The labels could not be read (%s), so only the predictions"
                     " are drawn.", lerr.msg);
    }
    char col[64];
    snprintf(col, sizeof(col), "%s_r", au);
    int label_col = have_labels ? auh_of_csv_column(&labels, col) : -1;
    if (have_labels && label_col < 0)
        snprintf(label_note, sizeof(label_note), " The labels have no %s column.", col);
    char safe_au[64];
    safe_name(safe_au, sizeof(safe_au), au);
    snprintf(au_name, sizeof(au_name), "au_%s_%s", safe_au, safe);
    if (!(da = open_out(c, au_name, ".dat"))) {
        r = c->err->code;
        goto done;
    }
    fprintf(da, "# %s intensity per frame of %s: block 0 the labels, then one block per variant\n", au, it->label);
    fprintf(da, "# labels\n");
    if (label_col >= 0)
        for (size_t row = 0; row < labels.n_rows; row++) {
            fprintf(da, "%d\t", auh_of_csv_frame(&labels, row));
            put_num(da, auh_of_csv_get(&labels, row, label_col));
            fputc('\n', da);
        }
    else
        fprintf(da, "0\t?\n");
    fprintf(da, "\n\n");
    if ((r = body_open(c, &b)))
        goto done;
    put_title(b.f, "%s intensity over frames: %s", au, it->label);
    put_label_cmd(b.f, "xlabel", "frame");
    char yl[96];
    snprintf(yl, sizeof(yl), "%s intensity (0-5)", au);
    put_label_cmd(b.f, "ylabel", yl);
    int n_keys = label_col >= 0;
    for (size_t v = 0; v < rs->n_variants; v++)
        n_keys += loaded[v] && au_index(&jobs[v], au) >= 0;
    key_below(b.f, n_keys);
    fprintf(b.f, "set yrange [0:*]\nplot ");
    int first = 1;
    if (label_col >= 0) {
        char t[300];
        snprintf(t, sizeof(t), "labels (%s)", it->labels);
        fprintf(b.f, "'%s.dat' index 0 using 1:2 with lines lw 5 lc rgb '#bbbbbb' title ", au_name);
        put_gp_string(b.f, t);
        first = 0;
    }
    size_t block = 1;
    for (size_t v = 0; v < rs->n_variants; v++) {
        if (!loaded[v])
            continue;
        int k = au_index(&jobs[v], au);
        fprintf(da, "# %s\n", rs->variants[v].name);
        for (size_t f = 0; f < jobs[v].n_frames; f++) {
            fprintf(da, "%d\t", jobs[v].frames[f].frame);
            put_num(da, k >= 0 && jobs[v].frames[f].has_au_r ? jobs[v].au_r[f * (size_t)jobs[v].n_au_r + (size_t)k]
                                                              : NAN);
            fputc('\n', da);
        }
        fprintf(da, "\n\n");
        if (k >= 0) {
            const AuhJobSummary *j = auh_run_summary_job(rs, item, v);
            char mname[96], t[200];
            snprintf(mname, sizeof(mname), "%s%s", AUH_M_AU_R_PREFIX, au);
            double rr = auh_job_metric(j, mname, NULL);
            char rtxt[32];
            auh_format_vs_threshold(rr, 1.0, 3, rtxt, sizeof(rtxt)); /* never a "1.000" that is not 1 */
            if (isfinite(rr))
                snprintf(t, sizeof(t), "%s (r = %s)", rs->variants[v].name, rtxt);
            else
                snprintf(t, sizeof(t), "%s", rs->variants[v].name);
            fprintf(b.f, "%s'%s.dat' index %zu using 1:2 with lines lw %s lc ", first ? "" : ", \\\n     ", au_name,
                    block, rs->variants[v].is_openface ? "2 dt 2" : "1.6");
            put_rgb(b.f, variant_rgb(rs->variants[v].name, v));
            fputs(" title ", b.f);
            put_gp_string(b.f, t);
            first = 0;
        }
        block++;
    }
    fputc('\n', b.f);
    r = close_out(c, da, au_name, ".dat");
    da = NULL;
    if (r)
        goto done;
    if (first) {
        r = skip_plot(c, "%s over frames of %s: nothing to draw", au, it->label);
        goto done;
    }
    char title[256], note[768];
    snprintf(title, sizeof(title), "%s intensity over frames: %s", au, it->label);
    snprintf(note, sizeof(note),
             "The variants' %s intensity per frame (after post-processing) against the labels (wide grey line); r"
             " in the key is the stored per-AU Pearson r.%s",
             au, label_note);
    if (!(r = body_close(c, &b)))
        r = finish_plot(c, au_name, 1100, 560, b.buf, title, note);
done:
    if (dl)
        fclose(dl);
    if (da)
        fclose(da);
    body_free(&b);
    auh_of_csv_free(&labels);
    for (size_t v = 0; jobs && v < rs->n_variants; v++)
        if (loaded && loaded[v])
            auh_job_free(&jobs[v]);
    free(jobs);
    free(loaded);
    return r;
}

/* ---- 8-9. history across runs ---- */

typedef struct RunIds {
    size_t n, cap;
    int64_t *ids;
} RunIds;

static int collect_run(const AuhRunRow *row, void *ctx)
{
    RunIds *ri = ctx;
    if (ri->n == ri->cap) {
        size_t cap = ri->cap ? 2 * ri->cap : 16;
        int64_t *p = realloc(ri->ids, cap * sizeof(*p));
        if (!p)
            return 1;
        ri->ids = p;
        ri->cap = cap;
    }
    ri->ids[ri->n++] = row->id;
    return 0;
}

#define HISTORY_MAX_RUNS 40

static AuStatus plot_history(Ctx *c)
{
    RunIds ri = {0};
    AuStatus r = auh_store_list_runs(c->store, collect_run, &ri, c->err);
    if (r) {
        free(ri.ids);
        return r;
    }
    /* the runs up to and including this one, the last HISTORY_MAX_RUNS */
    size_t end = 0;
    while (end < ri.n && ri.ids[end] != c->rs->run_id)
        end++;
    end = end < ri.n ? end + 1 : ri.n;
    size_t start = end > HISTORY_MAX_RUNS ? end - HISTORY_MAX_RUNS : 0, n_runs = end - start;
    AuhRunSummary *sums = calloc(n_runs + 1, sizeof(AuhRunSummary));
    char (*names)[128] = NULL;
    size_t n_names = 0;
    FILE *d[2] = {NULL, NULL};
    Body b = {0};
    if (!sums) {
        r = nomem(c->err);
        goto done;
    }
    for (size_t i = 0; i < n_runs && !r; i++)
        r = auh_run_summary_load(c->store, ri.ids[start + i], c->rs->threshold, &sums[i], c->err);
    if (r)
        goto done;
    /* every variant name in order of first appearance */
    names = calloc(1, sizeof(*names));
    for (size_t i = 0; i < n_runs && names; i++)
        for (size_t v = 0; v < sums[i].n_variants; v++) {
            size_t k = 0;
            while (k < n_names && strcmp(names[k], sums[i].variants[v].name))
                k++;
            if (k < n_names)
                continue;
            char (*p)[128] = realloc(names, (n_names + 1) * sizeof(*p));
            if (!p) {
                r = nomem(c->err);
                goto done;
            }
            names = p;
            snprintf(names[n_names++], sizeof(names[0]), "%s", sums[i].variants[v].name);
        }
    if (!names) {
        r = nomem(c->err);
        goto done;
    }
    if (!n_names) {
        r = skip_plot(c, "history: no run has jobs");
        goto done;
    }
    static const char *const stems[2] = {"history_fps", "history_au"};
    for (int p = 0; p < 2 && !r; p++) {
        if (!(d[p] = open_out(c, stems[p], ".dat"))) {
            r = c->err->code;
            goto done;
        }
        fprintf(d[p], "# %s per variant across runs: run index, value, run key\n", p ? "AU accuracy" : "FPS");
        if ((r = body_open(c, &b)))
            goto done;
        if (p == 0) {
            put_title(b.f, "FPS across runs");
            put_label_cmd(b.f, "ylabel", "frames per second");
            fprintf(b.f, "set yrange [0:*]\n");
        } else {
            put_title(b.f, "AU accuracy across runs (worst item per variant)");
            put_label_cmd(b.f, "ylabel", "AU accuracy (mean Pearson r), worst item");
        }
        put_label_cmd(b.f, "xlabel", "run (oldest to newest)");
        fprintf(b.f, "set xrange [0.5:%g]\nset key outside right top vertical\nset xtics rotate by -30 left (",
                (double)n_runs + 0.5);
        for (size_t i = 0; i < n_runs; i++) {
            char key[40];
            snprintf(key, sizeof(key), "%.24s", sums[i].run_key ? sums[i].run_key : "?");
            fprintf(b.f, "%s", i ? ", " : "");
            put_gp_string(b.f, key);
            fprintf(b.f, " %zu", i + 1);
        }
        fprintf(b.f, ")\nset bmargin 7\nplot ");
        int first = 1;
        if (p == 1) {
            char thr[64];
            auh_format_threshold(c->rs->threshold, thr, sizeof(thr));
            fprintf(b.f, "%.9g with lines lw 2 dt 2 lc rgb '#d62728' title 'gate %s'", c->rs->threshold, thr);
            first = 0;
        }
        for (size_t k = 0; k < n_names; k++) {
            fprintf(d[p], "# %s\n", names[k]);
            int n_pts = 0;
            for (size_t i = 0; i < n_runs; i++)
                for (size_t v = 0; v < sums[i].n_variants; v++) {
                    const AuhVariantSummary *vs = &sums[i].variants[v];
                    double y = p ? vs->au_min_r : vs->fps;
                    if (strcmp(vs->name, names[k]) || !isfinite(y))
                        continue;
                    fprintf(d[p], "%zu\t%.9g\t", i + 1, y);
                    put_data_string(d[p], sums[i].run_key ? sums[i].run_key : "");
                    fputc('\n', d[p]);
                    n_pts++;
                }
            fprintf(d[p], "\n\n");
            if (!n_pts)
                continue;
            fprintf(b.f, "%s'%s.dat' index %zu using 1:2 with linespoints lw 2 pt 7 ps 1.4 lc ",
                    first ? "" : ", \\\n     ", stems[p], k);
            put_rgb(b.f, variant_rgb(names[k], k));
            fputs(" title ", b.f);
            put_gp_string(b.f, names[k]);
            first = 0;
        }
        fputc('\n', b.f);
        r = close_out(c, d[p], stems[p], ".dat");
        d[p] = NULL;
        if (!r)
            r = body_close(c, &b);
        if (r)
            goto done;
        if (first)
            r = skip_plot(c, "%s: no run has values", stems[p]);
        else
            r = finish_plot(c, stems[p], 1100, 560, b.buf, p ? "AU accuracy across runs" : "FPS across runs",
                            p ? "Each variant's worst-item AU accuracy (what the gate judges) in every run of the"
                                " database up to this one, oldest first."
                              : "Each variant's FPS in every run of the database up to this one, oldest first (runs"
                                " on other machines are not comparable; see each run's CPU).");
        body_free(&b);
    }
done:
    for (int p = 0; p < 2; p++)
        if (d[p])
            fclose(d[p]);
    body_free(&b);
    for (size_t i = 0; sums && i < n_runs; i++)
        auh_run_summary_free(&sums[i]);
    free(sums);
    free(names);
    free(ri.ids);
    return r;
}

/* ---- entry ---- */

void auh_plot_set_free(AuhPlotSet *set)
{
    if (!set)
        return;
    free(set->plots);
    free(set->skipped);
    memset(set, 0, sizeof(*set));
}

AuStatus auh_plots_make(AuhStore *s, const AuhRunSummary *rs, const AuhPlotOptions *opt, AuhPlotSet *out,
                        AuError *err)
{
    memset(out, 0, sizeof(*out));
    Ctx c = {
        .rs = rs,
        .store = s,
        .dir = opt->dir,
        .data_dir = opt->data_dir ? opt->data_dir : auh_data_dir(),
        .gnuplot = auh_plot_gnuplot_program(opt->gnuplot),
        .run_gnuplot = opt->run_gnuplot,
        .set = out,
        .err = err,
    };
    AuStatus r = mkdir_p(opt->dir, err);
    if (!r)
        r = plot_fps(&c);
    if (!r)
        r = plot_speedup_accuracy(&c);
    if (!r)
        r = plot_stages(&c);
    if (!r)
        r = plot_au_accuracy(&c);
    if (!r)
        r = plot_ced(&c);
    for (size_t i = 0; i < rs->n_items && !r; i++)
        if (rs->items[i].is_video)
            r = plot_video_item(&c, i);
    if (!r)
        r = plot_history(&c);
    if (!r && !opt->run_gnuplot)
        snprintf(out->error, sizeof(out->error), "plots not drawn (--no-plots); their data and scripts are in %s",
                 opt->dir);
    return r;
}
