/* What a run's results say, read back from the store: the per-variant table
 * printed at the end of a run (and by `auharness report`), and the accuracy
 * gate (`auharness gate`, and the verdicts `--all-variants` prints).
 *
 * Aggregation over a run's jobs of one variant: FPS = total frames / total
 * frame-loop wall seconds; speed-up = FPS / baseline's FPS (and / OpenFace
 * C++'s, the jobs of variant AUH_VARIANT_OPENFACE); landmark error, NME, AU
 * accuracy and presence agreement = means over the items that define them.
 * Gate: a variant passes when its AU accuracy (metric AUH_M_AU_MEAN_R) is at
 * least the threshold on every item with AU labels; a failed job fails it. */
#ifndef AUH_SUMMARY_H
#define AUH_SUMMARY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"
#include "store.h"

#define AUH_GATE_DEFAULT 0.90

/* Prints the per-variant table of the run to out. */
AuStatus auh_summary_print_table(AuhStore *s, int64_t run_id, FILE *out, AuError *err);

/* Judges every variant of the run against threshold; prints one verdict line
 * per variant to out (PASS / FAIL and, for a failure, each item and why).
 * *n_failed receives the number of failing variants. */
AuStatus auh_gate_run(AuhStore *s, int64_t run_id, double threshold, FILE *out, int *n_failed, AuError *err);

/* ---- the aggregation as data (the table, the gate, the report and the plots
 * all read this) ----
 *
 * Details of the definitions:
 * - Only jobs with status 'ok' enter the numbers; failed jobs are counted.
 * - A job's FPS is its stored metric AUH_M_FPS when there is one (OpenFace's
 *   rows carry a measured or given fps and may have no frame-loop time),
 *   else n_frames / wall. Its time is then n_frames / FPS, so a variant's FPS
 *   (total frames / total time) is the frame-weighted harmonic mean.
 * - Speed-ups compare matching items only: the items where both variants have
 *   an ok job with an FPS, each side's total frames / total time over those
 *   items. A variant that failed or skipped an item is thus not credited
 *   with the reference's slower (or faster) item, and OpenFace C++ rows that
 *   exist only for the videos compare with the variants' videos.
 * - An item "has AU labels" when any job of the run for it stored the metric
 *   AUH_M_AU_MEAN_R (even as NULL, i.e. undefined). Every gated variant must
 *   have an ok job with a defined AU accuracy >= threshold on each such item;
 *   a missing job or an undefined accuracy fails the gate too (no evidence
 *   is not a pass). */

typedef struct AuhSumMetric {
    char *name;
    double value;   /* NaN: stored as NULL */
} AuhSumMetric;

typedef struct AuhSumStage {
    char *name;
    int64_t calls, total_ns;
} AuhSumStage;

typedef struct AuhJobSummary {
    int64_t id;
    char *variant, *dataset, *item, *item_kind, *input, *labels, *host, *cpu, *error;
    int failed;          /* status 'failed' */
    int is_video;        /* item_kind "video" */
    double started_at, ended_at;
    int64_t wall_ns, n_frames;
    double fps;          /* see above; NaN when undefined */
    double time_s;       /* n_frames / fps: the time the FPS stands for (NaN when undefined) */
    int fps_from_metric; /* fps came from the metric (else from wall_ns) */
    size_t n_metrics;
    AuhSumMetric *metrics; /* sorted by name */
    size_t n_stages;
    AuhSumStage *stages;   /* sorted by name */
    size_t variant_index, item_index;
} AuhJobSummary;

typedef struct AuhItemSummary {
    char *dataset, *item;
    char *label;         /* item, or dataset/item when the run has several datasets */
    int is_video;
    int has_au_labels;   /* see above */
    char *labels;        /* the labels path of the first job that has one (relative to the data folder) */
} AuhItemSummary;

typedef struct AuhVariantSummary {
    char *name;
    int is_baseline, is_openface;
    int gated;                    /* every variant but OpenFace C++'s rows */
    size_t n_jobs, n_failed;
    int64_t frames;               /* over ok jobs with an FPS */
    double time_s;
    double fps;                   /* frames / time_s; NaN when no job has one */
    double x_baseline, x_openface; /* speed-ups over matching items; NaN when none match */
    /* means over the ok jobs that define each metric (NaN when none) and how many */
    double lmk_mean_px, lmk_mean_nme, au_mean_r, presence_agreement;
    int n_lmk_items, n_nme_items, n_au_items, n_presence_items;
    double au_min_r;              /* worst item (NaN when none) */
    size_t au_min_item;           /* its item index */
    int passed;                   /* gated variants: the gate's verdict */
    size_t n_gate_failures;
    /* per-stage totals over ok jobs, indexed like AuhRunSummary.stages */
    int64_t *stage_calls, *stage_ns;
    int64_t wall_ns;              /* frame-loop wall time over ok jobs (the shares' denominator) */
} AuhVariantSummary;

typedef struct AuhGateFailure {
    size_t variant;
    size_t item;     /* item index, or (size_t)-1 for a variant-wide reason */
    char *reason;    /* e.g. "default AU accuracy 0.87 < 0.90" */
} AuhGateFailure;

typedef struct AuhRunSummary {
    int64_t run_id;
    char *run_key, *git_revision, *compiler, *flags, *cpu, *host, *command;
    double started_at, ended_at; /* ended_at NaN while unfinished */
    double threshold;
    size_t n_jobs;
    AuhJobSummary *jobs;         /* commit order */
    size_t n_items;
    AuhItemSummary *items;       /* first-appearance order */
    size_t n_variants;
    AuhVariantSummary *variants; /* baseline first, then first-appearance order, OpenFace last */
    long baseline, openface;     /* variant indices, -1 when absent */
    size_t *job_of;              /* n_items x n_variants: job index, or (size_t)-1 */
    size_t n_stages;
    char **stages;               /* core/profile.h order, then other names alphabetically */
    size_t n_gate_failures;
    AuhGateFailure *gate_failures;
    int n_failed_variants;       /* gated variants that fail */
    /* host load over the frame loops of the jobs that recorded it, means
     * weighted by loop time (NaN when no job has it): the share of the wall
     * time the worker was on a core (its CPU time / wall time, i.e. FPS /
     * AUH_M_CPU_FPS; 1 on a quiet machine) and its lowest; the share of all
     * CPUs' time stolen by the hypervisor (AUH_M_HOST_STEAL) and its highest */
    double cpu_share_mean, cpu_share_min;
    double host_steal_mean, host_steal_max;
} AuhRunSummary;

#define AUH_NO_INDEX ((size_t)-1)

/* Reads the run's jobs, metrics and timings (not frames) and computes the
 * aggregates and the gate. Free with auh_run_summary_free (also after a
 * failure). */
AuStatus auh_run_summary_load(AuhStore *s, int64_t run_id, double threshold, AuhRunSummary *out, AuError *err);
void auh_run_summary_free(AuhRunSummary *rs);

/* The job of a variant on an item, or NULL. */
const AuhJobSummary *auh_run_summary_job(const AuhRunSummary *rs, size_t item, size_t variant);
/* A metric of a job: NaN when absent or NULL; *present (may be NULL) says
 * whether the row exists. */
double auh_job_metric(const AuhJobSummary *job, const char *name, int *present);
/* Speed-up of variant a over variant b on their matching items (see above). */
double auh_run_summary_speedup(const AuhRunSummary *rs, size_t a, size_t b);

/* The aligned table and the verdict lines, from a loaded summary. The table
 * ends with a line on the host's load (auh_run_summary_write_host_load)
 * when the jobs recorded it. */
void auh_run_summary_write_table(const AuhRunSummary *rs, FILE *out);
/* "host load: ..." (one line), nothing when no job recorded it. */
void auh_run_summary_write_host_load(const AuhRunSummary *rs, FILE *out);
void auh_run_summary_write_gate(const AuhRunSummary *rs, FILE *out);
/* The overall line ("gate: PASS: ..." or "gate: FAIL: ... <variants>");
 * returns the exit status it stands for: 0 pass, 1 fail (a failing variant,
 * or no variant to judge). */
int auh_run_summary_write_verdict(const AuhRunSummary *rs, FILE *out);

/* The table's cells, for other renderings (the report's Markdown and HTML):
 * variant, FPS, x baseline, x OpenFace, lmk px, NME %, AU r, presence,
 * failed (failed/total jobs), gate (PASS / FAIL / reference). */
#define AUH_SUMMARY_TABLE_COLS 10
extern const char *const auh_summary_table_head[AUH_SUMMARY_TABLE_COLS];
void auh_run_summary_table_row(const AuhRunSummary *rs, size_t variant, char cells[AUH_SUMMARY_TABLE_COLS][64]);

/* Run selection for the commands: spec = a run id (digits) or a run key;
 * NULL or "" = the most recently started run. Errors name what was not
 * found. */
AuStatus auh_summary_resolve_run(AuhStore *s, const char *spec, int64_t *run_id, AuError *err);

/* Shortest decimal rendering of value with at least min_decimals decimals
 * that does not print equal to the threshold when value != threshold (so a
 * verdict never reads "0.90 < 0.90"). */
void auh_format_vs_threshold(double value, double threshold, int min_decimals, char *buf, size_t n);
/* The threshold with 2 decimals, or as many more as it needs to read back
 * exactly ("0.90", "0.9996"). */
void auh_format_threshold(double threshold, char *buf, size_t n);

#endif
