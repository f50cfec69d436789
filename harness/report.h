/* The report of a run: <out>/<run key>/report.md and a self-contained
 * report.html (inline CSS, the plots inlined as SVG data URIs, nothing
 * fetched), with the plots' files in <out>/<run key>/plots/.
 *
 * Contents: the per-variant table and the gate's verdicts; the plots; per
 * variant and item the FPS, landmark metrics and AU accuracy; per-AU r and
 * MAE; per-stage time and share of the frame time; the OpenFace C++
 * comparison (where its FPS comes from and its own accuracy against the
 * labels); the environment (git revision, compiler, flags, CPU, host and times
 * of the run); and the metric definitions, verbatim from DESIGN.md. */
#ifndef AUH_REPORT_H
#define AUH_REPORT_H

#include <stdint.h>

#include "error.h"
#include "plot.h"
#include "store.h"

/* DESIGN.md's "Metric definitions" list, verbatim (heading line included). */
extern const char auh_metric_definitions[];

typedef struct AuhReportOptions {
    const char *out_dir;  /* reports root (default "reports"); the report goes to out_dir/<run key>/ */
    const char *data_dir; /* data folder of the jobs' label paths; NULL: auh_data_dir() */
    const char *gnuplot;  /* NULL: $AUHARNESS_GNUPLOT, else "gnuplot" */
    double threshold;     /* gate threshold */
    int plots;            /* 0: write the plots' data and scripts but do not run gnuplot */
} AuhReportOptions;

typedef struct AuhReportResult {
    char dir[1200];       /* out_dir/<run key> */
    char md[1300], html[1300];
    int n_plots, n_plots_failed, n_plots_skipped;
    char plot_error[512]; /* the first plot failure, "" when every plot was drawn */
    int n_failed_variants; /* the gate's verdict */
} AuhReportResult;

/* Writes the report of run_id. Plot failures (e.g. no gnuplot) do not fail
 * it: they are said in the report and in res. */
AuStatus auh_report_write(AuhStore *s, int64_t run_id, const AuhReportOptions *opt, AuhReportResult *res,
                          AuError *err);

/* Opens an existing results database (never creates one: a mistyped path is
 * an error that names it). */
AuStatus auh_open_results_db(AuhStore *s, const char *path, AuError *err);
/* auh_open_results_db, then the run `spec` names (auh_summary_resolve_run);
 * on failure nothing stays open. */
AuStatus auh_open_results_run(AuhStore *s, const char *path, const char *spec, int64_t *run_id, AuError *err);
/* Parses a gate threshold in [-1, 1]; 0 on success. */
int auh_parse_threshold(const char *text, double *out);

#endif
