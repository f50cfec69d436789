/* Run progress (progress.h). */
#include "progress.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "sysinfo.h"

#define REDRAW_INTERVAL_NS 100000000LL

void auh_format_duration(double s, char *buf, size_t n)
{
    if (!isfinite(s) || s < 0) {
        snprintf(buf, n, "?");
        return;
    }
    long t = lround(s);
    if (t < 60)
        snprintf(buf, n, "%ld s", t);
    else if (t < 3600)
        snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
    else
        snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
}

/* Appends to buf at *len (bounded). */
static void put(char *buf, size_t n, size_t *len, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void put(char *buf, size_t n, size_t *len, const char *fmt, ...)
{
    if (*len >= n)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf + *len, n - *len, fmt, ap);
    va_end(ap);
    if (k > 0)
        *len = *len + (size_t)k < n ? *len + (size_t)k : n - 1;
}

void auh_progress_format_bar(char *buf, size_t n, int width, size_t done, size_t total, const AuhProgressState *s)
{
    size_t len = 0;
    buf[0] = '\0';
    const int cells = 20;
    int filled = total ? (int)((double)done / (double)total * cells) : 0;
    char bar[32];
    for (int i = 0; i < cells; i++)
        bar[i] = i < filled ? '#' : '-';
    bar[cells] = '\0';
    put(buf, n, &len, "[%s] %zu/%zu jobs", bar, done, total);
    if (s && s->current) {
        put(buf, n, &len, " | %s", s->current);
        if (s->n_running > 1)
            put(buf, n, &len, " (+%d)", s->n_running - 1);
        if (s->total > 0)
            put(buf, n, &len, " %lld/%lld", (long long)s->frames, (long long)s->total);
        else if (s->frames > 0)
            put(buf, n, &len, " %lld frames", (long long)s->frames);
        if (isfinite(s->fps))
            put(buf, n, &len, " %.1f fps", s->fps);
    }
    if (s && isfinite(s->eta_s)) {
        char d[32];
        auh_format_duration(s->eta_s, d, sizeof(d));
        put(buf, n, &len, " | ETA %s", d);
    }
    if (width > 1 && len >= (size_t)width)
        buf[width - 1] = '\0';
}

void auh_progress_format_job(char *buf, size_t n, size_t done, size_t total, const AuhJobOutcome *o)
{
    size_t len = 0;
    buf[0] = '\0';
    int w = snprintf(NULL, 0, "%zu", total);
    put(buf, n, &len, "[%*zu/%zu] %s %s/%s: ", w, done, total, o->variant, o->dataset, o->item);
    if (o->failed) {
        put(buf, n, &len, "FAILED: %s", o->error && o->error[0] ? o->error : "(no message)");
        return;
    }
    put(buf, n, &len, "ok, %lld frames", (long long)o->frames);
    if (isfinite(o->fps))
        put(buf, n, &len, ", %.1f fps", o->fps);
    if (isfinite(o->au_mean_r))
        put(buf, n, &len, ", AU r %.4f", o->au_mean_r);
    if (isfinite(o->lmk_mean_px))
        put(buf, n, &len, ", landmarks %.3f px", o->lmk_mean_px);
    if (isfinite(o->lmk_mean_nme))
        put(buf, n, &len, " (NME %.4f)", o->lmk_mean_nme);
    if (isfinite(o->seconds))
        put(buf, n, &len, " [%.1f s]", o->seconds);
}

void auh_progress_init(AuhProgress *p, FILE *out, int tty, size_t n_jobs)
{
    memset(p, 0, sizeof(*p));
    p->out = out;
    p->tty = tty;
    p->n_jobs = n_jobs;
}

static int term_width(FILE *f)
{
    struct winsize ws;
    if (ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10)
        return ws.ws_col;
    return 80;
}

void auh_progress_draw(AuhProgress *p, const AuhProgressState *s, int force)
{
    if (!p->tty)
        return;
    int64_t now = auh_monotonic_ns();
    if (!force && p->drawn && now - p->last_draw_ns < REDRAW_INTERVAL_NS)
        return;
    p->last_draw_ns = now;
    char line[512];
    auh_progress_format_bar(line, sizeof(line), term_width(p->out), p->n_done, p->n_jobs, s);
    if (p->drawn && !strcmp(line, p->last))
        return;
    memcpy(p->last, line, sizeof(line));
    fprintf(p->out, "\r\033[K%s", line);
    fflush(p->out);
    p->drawn = 1;
}

void auh_progress_job_done(AuhProgress *p, const AuhJobOutcome *o)
{
    p->n_done++;
    p->n_failed += o->failed != 0;
    char line[1024];
    auh_progress_format_job(line, sizeof(line), p->n_done, p->n_jobs, o);
    if (p->tty && p->drawn)
        fputs("\r\033[K", p->out);
    p->drawn = 0;
    fprintf(p->out, "%s\n", line);
    fflush(p->out);
}

void auh_progress_end(AuhProgress *p)
{
    if (p->tty && p->drawn)
        fputs("\r\033[K", p->out);
    p->drawn = 0;
    fflush(p->out);
}
