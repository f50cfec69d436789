/* Run progress on stderr. On a terminal: one line redrawn in place (a bar of
 * jobs done / total, the running job, its frames and FPS, the run's ETA), with
 * each finished job printed above it. Otherwise: one plain line per finished
 * job, nothing redrawn (logs, CI, SLURM output files). */
#ifndef AUH_PROGRESS_H
#define AUH_PROGRESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct AuhProgress {
    FILE *out;
    int tty;
    size_t n_jobs, n_done, n_failed;
    int64_t last_draw_ns;
    int drawn; /* a bar is on the current line */
    char last[512]; /* its text: an unchanged bar is not redrawn */
} AuhProgress;

/* What the runner knows at a redraw. */
typedef struct AuhProgressState {
    const char *current;   /* running job, e.g. "baseline default", or NULL */
    int n_running;
    int64_t frames, total; /* of the current job (total 0: unknown) */
    double fps;            /* of the current job; NaN unknown */
    double eta_s;          /* of the run; NaN unknown */
} AuhProgressState;

/* A finished job as the plain line reports it. */
typedef struct AuhJobOutcome {
    const char *variant, *dataset, *item;
    int failed;
    const char *error;
    int64_t frames;
    double fps, au_mean_r, lmk_mean_px, lmk_mean_nme; /* NaN: not shown */
    double seconds;                                   /* job wall time, model loading included */
} AuhJobOutcome;

void auh_progress_init(AuhProgress *p, FILE *out, int tty, size_t n_jobs);
/* Redraws the bar (terminal only; at most 10 times a second unless force). */
void auh_progress_draw(AuhProgress *p, const AuhProgressState *s, int force);
/* Counts the job done and prints its line. */
void auh_progress_job_done(AuhProgress *p, const AuhJobOutcome *o);
/* Clears the bar. */
void auh_progress_end(AuhProgress *p);

/* The bar's text for a line of `width` columns (pure; exposed for tests). */
void auh_progress_format_bar(char *buf, size_t n, int width, size_t done, size_t total, const AuhProgressState *s);
/* The finished job's line, without newline (pure; exposed for tests). */
void auh_progress_format_job(char *buf, size_t n, size_t done, size_t total, const AuhJobOutcome *o);
/* "42 s", "3:07", "1:02:03"; "?" for NaN. */
void auh_format_duration(double seconds, char *buf, size_t n);

#endif
