/* The run: every selected variant on every item of the selected datasets,
 * each (variant, item) pair one job in a forked worker process (worker.h),
 * up to `jobs` at once, results in the SQLite store (store.h).
 *
 * Job list: for each dataset in the order given, for each item in manifest
 * order, the variants in table order (auh_variant_name), then the OpenFace
 * C++ row (variant "openface", openface_job.h) when the item has openface=.
 * The list depends only on the datasets and variants, so its indices are
 * stable: --shard K/N runs the jobs whose index % N == K - 1.
 *
 * Containment: a worker that dies (signal) or exits without committing its
 * job is recorded by the runner as a failed job ("worker killed by signal 11
 * (SIGSEGV)"); the run goes on. Workers die with the runner (Linux
 * PR_SET_PDEATHSIG), so a killed run leaves no orphan writing to the store.
 *
 * Resume: the run's key identifies it across processes. Jobs the run already
 * has with status 'ok' are skipped, so --resume (the latest unfinished run of
 * the database), or running again with the same --run-key, completes exactly
 * the missing and failed jobs. Shards of one run share a key and so merge.
 *
 * At the end: the per-variant table (auh_summary_print_table) and the gate
 * verdicts (auh_gate_run) on stdout. The run's exit status says whether the
 * run completed (0), not whether the variants pass: `auharness gate` is the
 * command whose exit status gates. */
#ifndef AUH_RUN_H
#define AUH_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "manifest.h"
#include "openface_job.h"
#include "worker.h"

#define AUH_RUN_MAX_VARIANTS 64
#define AUH_RUN_MAX_DATASETS 64
#define AUH_RUN_KEY_MAX 256

typedef enum AuhProgressMode { AUH_PROGRESS_AUTO = 0, AUH_PROGRESS_BAR, AUH_PROGRESS_LINES } AuhProgressMode;

typedef struct AuhRunOptions {
    const char *variants[AUH_RUN_MAX_VARIANTS]; /* names in table order */
    int n_variants;
    const char *datasets[AUH_RUN_MAX_DATASETS]; /* manifest files or study folders */
    int n_datasets;
    const char *data_dir;
    const char *models_dir;
    const char *db_path;
    int jobs;                 /* worker processes at once, >= 1 */
    int resume;               /* complete the latest unfinished run (or --run-key's) */
    int shard_k, shard_n;     /* 1-based shard K of N; N = 0: no sharding */
    const char *run_key;      /* NULL: a new key (or the resumed run's) */
    double gate;
    int no_openface;          /* leave out the OpenFace C++ rows */
    AuhOpenfaceConfig openface;
    int64_t max_frames;       /* > 0: first frames / images of each item only */
    const char *export_json, *export_csv;
    const char *command;      /* the command line, for the record */
    AuhProgressMode progress;
    int quiet_table;          /* do not print the table and verdicts */
    const char *report_dir;   /* non-NULL: write the report (report.h) under this folder at the end */
} AuhRunOptions;

/* The planned jobs of a run (every job, before shard and resume filters). */
typedef struct AuhPlan {
    AuhManifest *datasets;
    int n_datasets;
    AuhJobSpec *jobs;
    size_t n_jobs;
} AuhPlan;

/* Loads the datasets and lists the jobs. Errors name the manifest and line,
 * or the argument at fault. */
AuStatus auh_plan_build(AuhPlan *plan, const AuhRunOptions *o, AuError *err);
void auh_plan_free(AuhPlan *plan);
/* Does shard k of n (1-based) run job `index`? n = 0: every job. */
int auh_shard_selects(size_t index, int k, int n);

/* Runs; returns the process exit status (0: the run completed, whatever its
 * jobs' outcome; 1: it could not run or complete). Messages go to stderr,
 * the table to stdout. *run_id (may be NULL) receives the run's id. */
int auh_run(const AuhRunOptions *o, int64_t *run_id);

#endif
