/* The SQLite results store (default results/auharness.sqlite).
 *
 * Tables (schema version 2, in PRAGMA user_version):
 *   runs    one logical run: run_key (shared by the shards and resumes of a
 *           run), git revision, compiler, flags, CPU, host, command line,
 *           started_at / ended_at (Unix seconds, UTC; ended_at NULL while the
 *           run is unfinished).
 *   jobs    one variant on one dataset item: identity (run, variant, dataset,
 *           item; unique), input and label paths (relative to the data
 *           folder), host and CPU it ran on, status ('ok' / 'failed' + error),
 *           times, frame-loop wall_ns, frame count, number of landmarks and
 *           the AU names (comma-separated, in the order of the AU blobs).
 *   frames  per job and frame (and face): file name (image sets), timestamp,
 *           success, confidence, landmarks (BLOB of 2*n float32 little-endian:
 *           x0..x(n-1), y0..y(n-1) as OpenFace keeps them), au_r and au_c
 *           (BLOBs of float64 little-endian in the job's AU order). A NaN
 *           timestamp or confidence is stored as NULL.
 *   timings per job and named stage: calls and total_ns.
 *           lmk_px and nme (schema 2): the frame's landmark error against the
 *           labels (mean point-to-point px, NME), NULL where undefined.
 *   metrics per job and metric name: value (NULL when undefined, e.g. the
 *           Pearson r of an AU whose label is constant).
 *
 * Concurrency and durability: WAL journal, a 60 s busy timeout, and every
 * write is one BEGIN IMMEDIATE transaction, so several harness processes can
 * write one database at once and none loses a row. A job is written whole at
 * the end (auh_store_commit_job): a killed run keeps every finished job and
 * never a partial one, and --resume runs the jobs its run does not have.
 * Every statement is prepared; values are only ever bound. */
#ifndef AUH_STORE_H
#define AUH_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "error.h"

#define AUH_STORE_SCHEMA_VERSION 2
#define AUH_STORE_DEFAULT_PATH "results/auharness.sqlite"
#define AUH_STORE_BUSY_TIMEOUT_MS 60000
#define AUH_STORE_AU_NAME_MAX 32

typedef struct AuhStore {
    sqlite3 *db;
    char path[1024];
    /* Called inside auh_store_commit_job's transaction just before COMMIT
     * (tests kill the process here to check that a job is all or nothing). */
    void (*before_commit)(void *ctx);
    void *before_commit_ctx;
} AuhStore;

/* A schema migration step: SQL that takes the schema from to_version - 1 to
 * to_version. Steps are applied in one transaction together with the new
 * user_version, so a failed step leaves the database as it was. */
typedef struct AuhMigration {
    int to_version;
    const char *sql;
} AuhMigration;

/* Opens (creating when missing) and migrates to AUH_STORE_SCHEMA_VERSION.
 * Refuses files that are not SQLite, SQLite files of other programs (version
 * 0 with tables) and databases of a newer schema. */
AuStatus auh_store_open(AuhStore *s, const char *path, AuError *err);
/* Accepts a zeroed or failed store; idempotent. */
void auh_store_close(AuhStore *s);
/* Applies steps (to_version 1, 2, ... consecutive) above the database's
 * user_version. `name` is used in messages. Exposed for tests. */
AuStatus auh_store_migrate(sqlite3 *db, const char *name, const AuhMigration *steps, int n_steps, AuError *err);
/* The store's own migration steps (for tests: build an older database). */
const AuhMigration *auh_store_migrations(int *n_steps);
/* The database's PRAGMA user_version. */
AuStatus auh_store_schema_version(AuhStore *s, int *version, AuError *err);

/* ---- runs ---- */

typedef struct AuhRunInfo {
    const char *run_key; /* unique; shards and resumes of one run share it */
    const char *git_revision, *compiler, *flags, *cpu, *host;
    const char *command; /* command line, for the record */
    double started_at;   /* Unix seconds */
} AuhRunInfo;

/* Creates the run, or (same run_key: another shard, or --resume) reopens it:
 * its started_at becomes the earlier one and ended_at is cleared. *existed
 * (may be NULL) says which. */
AuStatus auh_store_begin_run(AuhStore *s, const AuhRunInfo *info, int64_t *run_id, int *existed, AuError *err);
/* Sets ended_at (the later of the stored one and this). */
AuStatus auh_store_end_run(AuhStore *s, int64_t run_id, double ended_at, AuError *err);
/* *run_id = 0 when no run has that key. */
AuStatus auh_store_find_run(AuhStore *s, const char *run_key, int64_t *run_id, AuError *err);
/* The most recently started run with ended_at NULL (a killed run); *run_id =
 * 0 when there is none. key (may be NULL) receives its run_key. */
AuStatus auh_store_latest_unfinished_run(AuhStore *s, int64_t *run_id, char *key, size_t key_size, AuError *err);

typedef struct AuhRunRow {
    int64_t id;
    const char *run_key, *git_revision, *compiler, *flags, *cpu, *host, *command;
    double started_at, ended_at; /* ended_at NaN while unfinished */
    int64_t n_jobs;
} AuhRunRow;
/* Calls fn for every run in start order; fn returns nonzero to stop. Strings
 * are valid during the call only. */
AuStatus auh_store_list_runs(AuhStore *s, int (*fn)(const AuhRunRow *row, void *ctx), void *ctx, AuError *err);

/* ---- jobs: built in memory, committed whole ---- */

typedef struct AuhJobInfo {
    const char *variant, *dataset, *item;
    const char *item_kind; /* "video" or "images" */
    const char *input;     /* relative to the data folder */
    const char *labels;    /* NULL when unlabelled */
    const char *host, *cpu; /* NULL: this machine's (auh_sysinfo_get) */
    int n_landmarks;       /* points per frame (68); 0: no landmarks stored */
    int n_au_r, n_au_c;
    const char *const *au_r_names; /* e.g. "AU01" (no commas) */
    const char *const *au_c_names;
} AuhJobInfo;

/* One frame as the runner reports it (arrays are copied). */
typedef struct AuhFrameRecord {
    int frame;               /* 1-based frame number; image sets: 1-based image index */
    int face;                /* 0 */
    const char *name;        /* image file name, or NULL */
    double timestamp;        /* seconds; NaN when none */
    int success;
    double confidence;
    const float *landmarks;  /* 2 * n_landmarks (x then y), or NULL */
    const double *au_r;      /* n_au_r, or NULL */
    const double *au_c;      /* n_au_c, or NULL */
} AuhFrameRecord;

typedef struct AuhJobFrame {
    int frame, face, success;
    char *name;
    double timestamp, confidence;
    /* Landmark error against the labels, set by the evaluation before the
     * job is committed: mean point-to-point px and NME (NaN: undefined,
     * stored as NULL). auh_job_add_frame sets both to NaN. */
    double lmk_px, nme;
    unsigned char has_landmarks, has_au_r, has_au_c;
} AuhJobFrame;

typedef struct AuhTiming {
    char *stage;
    int64_t calls, total_ns;
} AuhTiming;

typedef struct AuhMetric {
    char *name;
    double value; /* NaN: undefined (stored as NULL) */
} AuhMetric;

typedef struct AuhJob {
    int64_t id, run_id;         /* set by commit / load */
    char *variant, *dataset, *item, *item_kind, *input, *labels, *host, *cpu;
    int failed;                 /* 1: status 'failed' */
    char *error;                /* failure message, or NULL */
    double started_at, ended_at; /* Unix seconds */
    int64_t wall_ns;            /* wall time of the frame loop (decode included) */
    int n_landmarks, n_au_r, n_au_c;
    char (*au_r_names)[AUH_STORE_AU_NAME_MAX];
    char (*au_c_names)[AUH_STORE_AU_NAME_MAX];
    size_t n_frames, cap_frames;
    AuhJobFrame *frames;
    float *landmarks;           /* n_frames x 2*n_landmarks (valid where has_landmarks) */
    double *au_r, *au_c;        /* n_frames x n_au_r / n_au_c (valid where has_au_*) */
    size_t n_timings, n_metrics;
    AuhTiming *timings;
    AuhMetric *metrics;
} AuhJob;

AuStatus auh_job_init(AuhJob *job, const AuhJobInfo *info, AuError *err);
AuStatus auh_job_add_frame(AuhJob *job, const AuhFrameRecord *f, AuError *err);
/* Adds to the stage's counts (a stage named twice accumulates). */
AuStatus auh_job_add_timing(AuhJob *job, const char *stage, int64_t calls, int64_t total_ns, AuError *err);
/* Sets a metric (replacing one of the same name). */
AuStatus auh_job_set_metric(AuhJob *job, const char *name, double value, AuError *err);
/* Marks the job failed with a message (frames so far are kept). */
AuStatus auh_job_set_failed(AuhJob *job, const char *message, AuError *err);
/* Accepts a zeroed or partially built job. */
void auh_job_free(AuhJob *job);

/* Writes the job, its frames, timings and metrics in one transaction and sets
 * job->id and job->run_id. A job of the same identity already stored as 'ok'
 * is an error (AU_ERR_ARG); one stored as 'failed' is replaced. */
AuStatus auh_store_commit_job(AuhStore *s, int64_t run_id, AuhJob *job, AuError *err);
/* *done = 1 when the run has the job with status 'ok' (resume skips it). */
AuStatus auh_store_job_done(AuhStore *s, int64_t run_id, const char *variant, const char *dataset,
                            const char *item, int *done, AuError *err);

typedef struct AuhJobRow {
    int64_t id, run_id;
    const char *variant, *dataset, *item, *item_kind, *status;
    double started_at, ended_at;
    int64_t wall_ns, n_frames;
} AuhJobRow;
/* Calls fn for every committed job of the run (every run when run_id is 0)
 * in commit order; fn returns nonzero to stop. */
AuStatus auh_store_list_jobs(AuhStore *s, int64_t run_id, int (*fn)(const AuhJobRow *row, void *ctx), void *ctx,
                             AuError *err);
/* Reads a whole job back (frames in frame/face order, timings and metrics
 * by name). */
AuStatus auh_store_load_job(AuhStore *s, int64_t job_id, AuhJob *job, AuError *err);
/* Replaces the job's metrics with these (one transaction). */
AuStatus auh_store_put_metrics(AuhStore *s, int64_t job_id, const AuhMetric *metrics, size_t n, AuError *err);

/* ---- merge ---- */

typedef struct AuhMergeStats {
    int64_t runs_added, runs_joined; /* joined: same run_key already present */
    int64_t jobs_added, jobs_skipped; /* skipped: already present as 'ok' */
    int64_t frames_added;
} AuhMergeStats;

/* Copies every run, job, frame, timing and metric of the database at
 * src_path into s, with new ids, in one transaction. Runs with the same
 * run_key become one run (shards of one run merge into it); jobs already
 * present with status 'ok' are skipped, so merging is idempotent. An older
 * source is migrated first; a newer one is refused. stats may be NULL. */
AuStatus auh_store_merge(AuhStore *s, const char *src_path, AuhMergeStats *stats, AuError *err);

#endif
