/* realpath() is XSI, not in the plain POSIX 2008 profile the build selects. */
#define _XOPEN_SOURCE 700
#include "store.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sysinfo.h"

/* ---- schema ---- */

static const char SCHEMA_V1[] =
    "CREATE TABLE runs ("
    " id INTEGER PRIMARY KEY,"
    " run_key TEXT NOT NULL UNIQUE,"
    " git_revision TEXT NOT NULL,"
    " compiler TEXT NOT NULL,"
    " flags TEXT NOT NULL,"
    " cpu TEXT NOT NULL,"
    " host TEXT NOT NULL,"
    " command TEXT NOT NULL,"
    " started_at REAL NOT NULL,"
    " ended_at REAL);"
    "CREATE TABLE jobs ("
    " id INTEGER PRIMARY KEY,"
    " run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " variant TEXT NOT NULL,"
    " dataset TEXT NOT NULL,"
    " item TEXT NOT NULL,"
    " item_kind TEXT NOT NULL CHECK (item_kind IN ('video', 'images')),"
    " input TEXT NOT NULL,"
    " labels TEXT,"
    " host TEXT NOT NULL,"
    " cpu TEXT NOT NULL,"
    " status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),"
    " error TEXT,"
    " started_at REAL NOT NULL,"
    " ended_at REAL NOT NULL,"
    " wall_ns INTEGER NOT NULL,"
    " n_frames INTEGER NOT NULL,"
    " n_landmarks INTEGER NOT NULL,"
    " au_r_names TEXT NOT NULL,"
    " au_c_names TEXT NOT NULL,"
    " UNIQUE (run_id, variant, dataset, item));"
    "CREATE TABLE frames ("
    " job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
    " frame INTEGER NOT NULL,"
    " face INTEGER NOT NULL,"
    " name TEXT,"
    " timestamp REAL,"
    " success INTEGER NOT NULL,"
    " confidence REAL,"
    " landmarks BLOB,"
    " au_r BLOB,"
    " au_c BLOB,"
    " PRIMARY KEY (job_id, frame, face)) WITHOUT ROWID;"
    "CREATE TABLE timings ("
    " job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
    " stage TEXT NOT NULL,"
    " calls INTEGER NOT NULL,"
    " total_ns INTEGER NOT NULL,"
    " PRIMARY KEY (job_id, stage)) WITHOUT ROWID;"
    "CREATE TABLE metrics ("
    " job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
    " name TEXT NOT NULL,"
    " value REAL,"
    " PRIMARY KEY (job_id, name)) WITHOUT ROWID;";

/* Version 2: the per-frame landmark error of the evaluation (pixels and NME
 * against the item's labels), so reports plot CEDs and errors over frames
 * without re-reading label files. NULL where undefined. */
static const char SCHEMA_V2[] =
    "ALTER TABLE frames ADD COLUMN lmk_px REAL;"
    "ALTER TABLE frames ADD COLUMN nme REAL;";

/* Future versions append a step here (never edit a released one). */
static const AuhMigration MIGRATIONS[] = {
    {1, SCHEMA_V1},
    {2, SCHEMA_V2},
};

const AuhMigration *auh_store_migrations(int *n_steps)
{
    *n_steps = (int)(sizeof(MIGRATIONS) / sizeof(MIGRATIONS[0]));
    return MIGRATIONS;
}

/* ---- helpers ---- */

static AuStatus status_of(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_NOMEM: return AU_ERR_NOMEM;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
    case SQLITE_FORMAT:
    case SQLITE_SCHEMA:
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH: return AU_ERR_FORMAT;
    default: return AU_ERR_IO;
    }
}

static AuStatus db_fail(sqlite3 *db, const char *name, int rc, AuError *err, const char *what)
{
    return au_error_set(err, status_of(rc), "%s: %s: %s", name, what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

static AuStatus sfail(AuhStore *s, int rc, AuError *err, const char *what)
{
    return db_fail(s->db, s->path, rc, err, what);
}

static AuStatus prepare_db(sqlite3 *db, const char *name, const char *sql, sqlite3_stmt **st, AuError *err)
{
    int rc = sqlite3_prepare_v2(db, sql, -1, st, NULL);
    if (rc != SQLITE_OK) {
        *st = NULL;
        return db_fail(db, name, rc, err, "preparing a statement");
    }
    return AU_OK;
}

static AuStatus prepare(AuhStore *s, const char *sql, sqlite3_stmt **st, AuError *err)
{
    return prepare_db(s->db, s->path, sql, st, err);
}

/* Runs a statement without results (BEGIN, COMMIT, ...). */
static AuStatus run_db(sqlite3 *db, const char *name, const char *sql, AuError *err)
{
    sqlite3_stmt *st;
    AuStatus r = prepare_db(db, name, sql, &st, err);
    if (r)
        return r;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    }
    if (rc != SQLITE_DONE)
        r = db_fail(db, name, rc, err, sql);
    sqlite3_finalize(st);
    return r;
}

static AuStatus run_sql(AuhStore *s, const char *sql, AuError *err)
{
    return run_db(s->db, s->path, sql, err);
}

static void rollback(sqlite3 *db)
{
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

/* SQLite would turn NaN into NULL anyway; doing it explicitly documents it. */
static void bind_real_or_null(sqlite3_stmt *st, int i, double v)
{
    if (isnan(v))
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_double(st, i, v);
}

static double column_real_or_nan(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

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

static const char *col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

/* Little-endian encodings, written byte by byte so the blobs are the same on
 * every host. */
static void put_f32(unsigned char *p, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    for (int k = 0; k < 4; k++)
        p[k] = (unsigned char)(u >> (8 * k));
}

static float get_f32(const unsigned char *p)
{
    uint32_t u = 0;
    for (int k = 0; k < 4; k++)
        u |= (uint32_t)p[k] << (8 * k);
    float v;
    memcpy(&v, &u, 4);
    return v;
}

static void put_f64(unsigned char *p, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    for (int k = 0; k < 8; k++)
        p[k] = (unsigned char)(u >> (8 * k));
}

static double get_f64(const unsigned char *p)
{
    uint64_t u = 0;
    for (int k = 0; k < 8; k++)
        u |= (uint64_t)p[k] << (8 * k);
    double v;
    memcpy(&v, &u, 8);
    return v;
}

/* ---- open / migrate ---- */

static AuStatus user_version(sqlite3 *db, const char *name, int *v, AuError *err)
{
    sqlite3_stmt *st;
    AuStatus r = prepare_db(db, name, "PRAGMA user_version", &st, err);
    if (r)
        return r;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *v = sqlite3_column_int(st, 0);
    else
        r = db_fail(db, name, rc, err, "reading user_version");
    sqlite3_finalize(st);
    return r;
}

AuStatus auh_store_migrate(sqlite3 *db, const char *name, const AuhMigration *steps, int n_steps, AuError *err)
{
    for (int i = 0; i < n_steps; i++)
        if (steps[i].to_version != i + 1)
            return au_error_set(err, AU_ERR_ARG, "%s: migration step %d goes to version %d (expected %d)", name, i,
                                steps[i].to_version, i + 1);
    /* IMMEDIATE: two processes opening a new database at once must not both
     * create the schema; the second waits and then sees the new version. */
    AuStatus r = run_db(db, name, "BEGIN IMMEDIATE", err);
    if (r)
        return r;
    int v = 0;
    if ((r = user_version(db, name, &v, err)))
        goto fail;
    if (v > n_steps) {
        r = au_error_set(err, AU_ERR_UNSUPPORTED,
                         "%s: schema version %d is newer than this auharness understands (%d); use a newer auharness",
                         name, v, n_steps);
        goto fail;
    }
    if (v == 0) {
        /* A version-0 file must be empty: anything else belongs to another program. */
        sqlite3_stmt *st;
        if ((r = prepare_db(db, name, "SELECT count(*) FROM sqlite_schema WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'", &st, err)))
            goto fail;
        int rc = sqlite3_step(st);
        int n_tables = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
        if (rc != SQLITE_ROW)
            r = db_fail(db, name, rc, err, "reading the schema");
        sqlite3_finalize(st);
        if (r)
            goto fail;
        if (n_tables > 0) {
            r = au_error_set(err, AU_ERR_FORMAT,
                             "%s: not an auharness database (user_version 0 but it has %d tables)", name, n_tables);
            goto fail;
        }
    }
    for (int i = v; i < n_steps; i++) {
        char *msg = NULL;
        int rc = sqlite3_exec(db, steps[i].sql, NULL, NULL, &msg);
        if (rc != SQLITE_OK) {
            r = au_error_set(err, status_of(rc), "%s: migrating to schema version %d: %s", name, steps[i].to_version,
                             msg ? msg : sqlite3_errstr(rc));
            sqlite3_free(msg);
            goto fail;
        }
        /* PRAGMA takes no bound parameters; the value is our own integer. */
        char sql[64];
        snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", steps[i].to_version);
        if ((r = run_db(db, name, sql, err)))
            goto fail;
    }
    if ((r = run_db(db, name, "COMMIT", err)))
        goto fail;
    return AU_OK;
fail:
    rollback(db);
    return r;
}

void auh_store_close(AuhStore *s)
{
    if (!s)
        return;
    if (s->db) {
        rollback(s->db);
        sqlite3_close_v2(s->db);
    }
    s->db = NULL;
}

AuStatus auh_store_open(AuhStore *s, const char *path, AuError *err)
{
    memset(s, 0, sizeof(*s));
    if (strlen(path) >= sizeof(s->path))
        return au_error_set(err, AU_ERR_ARG, "database path too long: %s", path);
    snprintf(s->path, sizeof(s->path), "%s", path);
    int rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        AuStatus r = sfail(s, rc, err, "cannot open");
        auh_store_close(s);
        return r;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, AUH_STORE_BUSY_TIMEOUT_MS);
    AuStatus r = AU_OK;
    sqlite3_stmt *st = NULL;
    /* The first read of the file tells a non-database apart. Switching a
     * new file to WAL needs an exclusive lock, and when two processes create
     * the database at once SQLite can answer SQLITE_BUSY here without
     * waiting (the busy handler is not called for it), so the switch is
     * retried for as long as the busy timeout. */
    if ((r = prepare(s, "PRAGMA journal_mode = WAL", &st, err)))
        goto fail;
    const int64_t deadline = auh_monotonic_ns() + (int64_t)AUH_STORE_BUSY_TIMEOUT_MS * 1000000;
    while ((rc = sqlite3_step(st)) != SQLITE_ROW && ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) &&
           auh_monotonic_ns() < deadline) {
        sqlite3_reset(st);
        sqlite3_sleep(5);
    }
    if (rc != SQLITE_ROW) {
        r = sfail(s, rc, err, "setting WAL mode");
        goto fail;
    }
    if (strcmp(col_text(st, 0), "wal")) {
        r = au_error_set(err, AU_ERR_IO, "%s: cannot use WAL mode (journal mode is '%s')", s->path, col_text(st, 0));
        goto fail;
    }
    sqlite3_finalize(st);
    st = NULL;
    /* NORMAL is durable against a killed process in WAL mode (only a power
     * cut can lose the last transactions) and much faster than FULL. */
    if ((r = run_sql(s, "PRAGMA synchronous = NORMAL", err)) || (r = run_sql(s, "PRAGMA foreign_keys = ON", err)))
        goto fail;
    if ((r = auh_store_migrate(s->db, s->path, MIGRATIONS, (int)(sizeof(MIGRATIONS) / sizeof(MIGRATIONS[0])), err)))
        goto fail;
    return AU_OK;
fail:
    sqlite3_finalize(st);
    auh_store_close(s);
    return r;
}

AuStatus auh_store_schema_version(AuhStore *s, int *version, AuError *err)
{
    return user_version(s->db, s->path, version, err);
}

/* ---- runs ---- */

AuStatus auh_store_begin_run(AuhStore *s, const AuhRunInfo *info, int64_t *run_id, int *existed, AuError *err)
{
    *run_id = 0;
    if (existed)
        *existed = 0;
    if (!info->run_key || !info->run_key[0])
        return au_error_set(err, AU_ERR_ARG, "%s: a run needs a non-empty run key", s->path);
    AuStatus r = run_sql(s, "BEGIN IMMEDIATE", err);
    if (r)
        return r;
    sqlite3_stmt *st = NULL;
    if ((r = prepare(s, "SELECT id FROM runs WHERE run_key = ?1", &st, err)))
        goto fail;
    sqlite3_bind_text(st, 1, info->run_key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *run_id = sqlite3_column_int64(st, 0);
    else if (rc != SQLITE_DONE) {
        r = sfail(s, rc, err, "looking up the run");
        goto fail;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (*run_id) {
        if (existed)
            *existed = 1;
        if ((r = prepare(s, "UPDATE runs SET started_at = min(started_at, ?2), ended_at = NULL WHERE id = ?1", &st,
                         err)))
            goto fail;
        sqlite3_bind_int64(st, 1, *run_id);
        sqlite3_bind_double(st, 2, info->started_at);
    } else {
        if ((r = prepare(s,
                         "INSERT INTO runs (run_key, git_revision, compiler, flags, cpu, host, command, started_at)"
                         " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                         &st, err)))
            goto fail;
        sqlite3_bind_text(st, 1, info->run_key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, info->git_revision ? info->git_revision : "unknown", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, info->compiler ? info->compiler : "unknown", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, info->flags ? info->flags : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, info->cpu ? info->cpu : "unknown", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, info->host ? info->host : "unknown", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, info->command ? info->command : "", -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 8, info->started_at);
    }
    rc = sqlite3_step(st);
    if (rc != SQLITE_DONE) {
        r = sfail(s, rc, err, "recording the run");
        goto fail;
    }
    if (!*run_id)
        *run_id = sqlite3_last_insert_rowid(s->db);
    sqlite3_finalize(st);
    st = NULL;
    if ((r = run_sql(s, "COMMIT", err)))
        goto fail;
    return AU_OK;
fail:
    sqlite3_finalize(st);
    rollback(s->db);
    *run_id = 0;
    return r;
}

AuStatus auh_store_end_run(AuhStore *s, int64_t run_id, double ended_at, AuError *err)
{
    sqlite3_stmt *st;
    AuStatus r = prepare(s, "UPDATE runs SET ended_at = max(coalesce(ended_at, ?2), ?2) WHERE id = ?1", &st, err);
    if (r)
        return r;
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_double(st, 2, ended_at);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        r = sfail(s, rc, err, "ending the run");
    else if (sqlite3_changes(s->db) != 1)
        r = au_error_set(err, AU_ERR_ARG, "%s: no run with id %lld", s->path, (long long)run_id);
    sqlite3_finalize(st);
    return r;
}

static AuStatus one_run(AuhStore *s, const char *sql, const char *key, int64_t *run_id, char *key_out,
                        size_t key_size, AuError *err)
{
    *run_id = 0;
    if (key_out && key_size)
        key_out[0] = '\0';
    sqlite3_stmt *st;
    AuStatus r = prepare(s, sql, &st, err);
    if (r)
        return r;
    if (key)
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *run_id = sqlite3_column_int64(st, 0);
        if (key_out && key_size)
            snprintf(key_out, key_size, "%s", col_text(st, 1));
    } else if (rc != SQLITE_DONE) {
        r = sfail(s, rc, err, "looking up runs");
    }
    sqlite3_finalize(st);
    return r;
}

AuStatus auh_store_find_run(AuhStore *s, const char *run_key, int64_t *run_id, AuError *err)
{
    return one_run(s, "SELECT id, run_key FROM runs WHERE run_key = ?1", run_key, run_id, NULL, 0, err);
}

AuStatus auh_store_latest_unfinished_run(AuhStore *s, int64_t *run_id, char *key, size_t key_size, AuError *err)
{
    return one_run(s,
                   "SELECT id, run_key FROM runs WHERE ended_at IS NULL"
                   " ORDER BY started_at DESC, id DESC LIMIT 1",
                   NULL, run_id, key, key_size, err);
}

AuStatus auh_store_list_runs(AuhStore *s, int (*fn)(const AuhRunRow *row, void *ctx), void *ctx, AuError *err)
{
    sqlite3_stmt *st;
    AuStatus r = prepare(s,
                         "SELECT r.id, r.run_key, r.git_revision, r.compiler, r.flags, r.cpu, r.host, r.command,"
                         " r.started_at, r.ended_at, (SELECT count(*) FROM jobs j WHERE j.run_id = r.id)"
                         " FROM runs r ORDER BY r.started_at, r.id",
                         &st, err);
    if (r)
        return r;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        AuhRunRow row = {
            sqlite3_column_int64(st, 0), col_text(st, 1), col_text(st, 2), col_text(st, 3),
            col_text(st, 4), col_text(st, 5), col_text(st, 6), col_text(st, 7),
            sqlite3_column_double(st, 8), column_real_or_nan(st, 9), sqlite3_column_int64(st, 10),
        };
        if (fn(&row, ctx)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    if (rc != SQLITE_DONE)
        r = sfail(s, rc, err, "listing runs");
    sqlite3_finalize(st);
    return r;
}

/* ---- jobs in memory ---- */

void auh_job_free(AuhJob *job)
{
    if (!job)
        return;
    free(job->variant);
    free(job->dataset);
    free(job->item);
    free(job->item_kind);
    free(job->input);
    free(job->labels);
    free(job->host);
    free(job->cpu);
    free(job->error);
    free(job->au_r_names);
    free(job->au_c_names);
    for (size_t i = 0; i < job->n_frames; i++)
        free(job->frames[i].name);
    free(job->frames);
    free(job->landmarks);
    free(job->au_r);
    free(job->au_c);
    for (size_t i = 0; i < job->n_timings; i++)
        free(job->timings[i].stage);
    free(job->timings);
    for (size_t i = 0; i < job->n_metrics; i++)
        free(job->metrics[i].name);
    free(job->metrics);
    memset(job, 0, sizeof(*job));
}

static AuStatus set_names(char (**dst)[AUH_STORE_AU_NAME_MAX], const char *const *names, int n, AuError *err)
{
    *dst = NULL;
    if (n == 0)
        return AU_OK;
    if (!names)
        return au_error_set(err, AU_ERR_ARG, "%d AU names expected, got none", n);
    *dst = calloc((size_t)n, sizeof(**dst));
    if (!*dst)
        return au_error_set(err, AU_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        size_t len = names[i] ? strlen(names[i]) : 0;
        if (len == 0 || len >= AUH_STORE_AU_NAME_MAX || strchr(names[i], ','))
            return au_error_set(err, AU_ERR_ARG, "bad AU name '%s' (1-%d characters, no comma)",
                                names[i] ? names[i] : "(null)", AUH_STORE_AU_NAME_MAX - 1);
        memcpy((*dst)[i], names[i], len + 1);
    }
    return AU_OK;
}

AuStatus auh_job_init(AuhJob *job, const AuhJobInfo *info, AuError *err)
{
    memset(job, 0, sizeof(*job));
    if (!info->variant || !info->dataset || !info->item || !info->input || !info->item_kind)
        return au_error_set(err, AU_ERR_ARG, "a job needs variant, dataset, item, item kind and input");
    if (strcmp(info->item_kind, "video") && strcmp(info->item_kind, "images"))
        return au_error_set(err, AU_ERR_ARG, "item kind '%s' (expected video or images)", info->item_kind);
    if (info->n_landmarks < 0 || info->n_landmarks > 100000 || info->n_au_r < 0 || info->n_au_r > 1000 ||
        info->n_au_c < 0 || info->n_au_c > 1000)
        return au_error_set(err, AU_ERR_ARG, "job sizes out of range: %d landmarks, %d + %d AUs", info->n_landmarks,
                            info->n_au_r, info->n_au_c);
    AuhSysInfo sys;
    if (!info->host || !info->cpu)
        auh_sysinfo_get(&sys);
    job->variant = dup_str(info->variant);
    job->dataset = dup_str(info->dataset);
    job->item = dup_str(info->item);
    job->item_kind = dup_str(info->item_kind);
    job->input = dup_str(info->input);
    job->labels = dup_str(info->labels);
    job->host = dup_str(info->host ? info->host : sys.host);
    job->cpu = dup_str(info->cpu ? info->cpu : sys.cpu);
    if (!job->variant || !job->dataset || !job->item || !job->item_kind || !job->input ||
        (info->labels && !job->labels) || !job->host || !job->cpu) {
        auh_job_free(job);
        return au_error_set(err, AU_ERR_NOMEM, "out of memory");
    }
    job->n_landmarks = info->n_landmarks;
    job->n_au_r = info->n_au_r;
    job->n_au_c = info->n_au_c;
    AuStatus r = set_names(&job->au_r_names, info->au_r_names, info->n_au_r, err);
    if (!r)
        r = set_names(&job->au_c_names, info->au_c_names, info->n_au_c, err);
    if (r)
        auh_job_free(job);
    return r;
}

static AuStatus grow_frames(AuhJob *job, size_t need, AuError *err)
{
    if (need <= job->cap_frames)
        return AU_OK;
    size_t cap = job->cap_frames ? job->cap_frames * 2 : 256;
    while (cap < need)
        cap *= 2;
    AuhJobFrame *f = realloc(job->frames, cap * sizeof(*f));
    if (!f)
        return au_error_set(err, AU_ERR_NOMEM, "out of memory for %zu frames", cap);
    job->frames = f;
    size_t nl = 2 * (size_t)job->n_landmarks;
    if (nl) {
        float *p = realloc(job->landmarks, cap * nl * sizeof(*p));
        if (!p)
            return au_error_set(err, AU_ERR_NOMEM, "out of memory for %zu frames", cap);
        job->landmarks = p;
    }
    if (job->n_au_r) {
        double *p = realloc(job->au_r, cap * (size_t)job->n_au_r * sizeof(*p));
        if (!p)
            return au_error_set(err, AU_ERR_NOMEM, "out of memory for %zu frames", cap);
        job->au_r = p;
    }
    if (job->n_au_c) {
        double *p = realloc(job->au_c, cap * (size_t)job->n_au_c * sizeof(*p));
        if (!p)
            return au_error_set(err, AU_ERR_NOMEM, "out of memory for %zu frames", cap);
        job->au_c = p;
    }
    job->cap_frames = cap;
    return AU_OK;
}

AuStatus auh_job_add_frame(AuhJob *job, const AuhFrameRecord *f, AuError *err)
{
    if ((f->landmarks && !job->n_landmarks) || (f->au_r && !job->n_au_r) || (f->au_c && !job->n_au_c))
        return au_error_set(err, AU_ERR_ARG, "frame %d has values the job was not set up for", f->frame);
    AuStatus r = grow_frames(job, job->n_frames + 1, err);
    if (r)
        return r;
    size_t i = job->n_frames;
    AuhJobFrame *d = &job->frames[i];
    memset(d, 0, sizeof(*d));
    if (f->name && !(d->name = dup_str(f->name)))
        return au_error_set(err, AU_ERR_NOMEM, "out of memory");
    d->frame = f->frame;
    d->face = f->face;
    d->success = f->success != 0;
    d->timestamp = f->timestamp;
    d->confidence = f->confidence;
    d->lmk_px = NAN;
    d->nme = NAN;
    size_t nl = 2 * (size_t)job->n_landmarks;
    if (f->landmarks) {
        memcpy(job->landmarks + i * nl, f->landmarks, nl * sizeof(float));
        d->has_landmarks = 1;
    }
    if (f->au_r) {
        memcpy(job->au_r + i * (size_t)job->n_au_r, f->au_r, (size_t)job->n_au_r * sizeof(double));
        d->has_au_r = 1;
    }
    if (f->au_c) {
        memcpy(job->au_c + i * (size_t)job->n_au_c, f->au_c, (size_t)job->n_au_c * sizeof(double));
        d->has_au_c = 1;
    }
    job->n_frames++;
    return AU_OK;
}

AuStatus auh_job_add_timing(AuhJob *job, const char *stage, int64_t calls, int64_t total_ns, AuError *err)
{
    for (size_t i = 0; i < job->n_timings; i++) {
        if (!strcmp(job->timings[i].stage, stage)) {
            job->timings[i].calls += calls;
            job->timings[i].total_ns += total_ns;
            return AU_OK;
        }
    }
    AuhTiming *t = realloc(job->timings, (job->n_timings + 1) * sizeof(*t));
    if (!t)
        return au_error_set(err, AU_ERR_NOMEM, "out of memory");
    job->timings = t;
    char *name = dup_str(stage);
    if (!name)
        return au_error_set(err, AU_ERR_NOMEM, "out of memory");
    t[job->n_timings++] = (AuhTiming){name, calls, total_ns};
    return AU_OK;
}

AuStatus auh_job_set_metric(AuhJob *job, const char *name, double value, AuError *err)
{
    for (size_t i = 0; i < job->n_metrics; i++) {
        if (!strcmp(job->metrics[i].name, name)) {
            job->metrics[i].value = value;
            return AU_OK;
        }
    }
    AuhMetric *m = realloc(job->metrics, (job->n_metrics + 1) * sizeof(*m));
    if (!m)
        return au_error_set(err, AU_ERR_NOMEM, "out of memory");
    job->metrics = m;
    char *n = dup_str(name);
    if (!n)
        return au_error_set(err, AU_ERR_NOMEM, "out of memory");
    m[job->n_metrics++] = (AuhMetric){n, value};
    return AU_OK;
}

AuStatus auh_job_set_failed(AuhJob *job, const char *message, AuError *err)
{
    free(job->error);
    job->error = dup_str(message ? message : "failed");
    job->failed = 1;
    if (!job->error)
        return au_error_set(err, AU_ERR_NOMEM, "out of memory");
    return AU_OK;
}

/* "AU01,AU02" into a malloc'ed string. */
static char *join_names(char (*names)[AUH_STORE_AU_NAME_MAX], int n)
{
    size_t len = 1;
    for (int i = 0; i < n; i++)
        len += strlen(names[i]) + 1;
    char *s = malloc(len), *w = s;
    if (!s)
        return NULL;
    *w = '\0';
    for (int i = 0; i < n; i++) {
        size_t l = strlen(names[i]);
        if (i)
            *w++ = ',';
        memcpy(w, names[i], l + 1);
        w += l;
    }
    return s;
}

static AuStatus split_names(const char *text, int expected_n, char (**dst)[AUH_STORE_AU_NAME_MAX], int *n_out,
                            const char *what, AuError *err)
{
    *dst = NULL;
    *n_out = 0;
    if (!text[0])
        return AU_OK;
    int n = 1;
    for (const char *p = text; *p; p++)
        n += *p == ',';
    (void)expected_n;
    *dst = calloc((size_t)n, sizeof(**dst));
    if (!*dst)
        return au_error_set(err, AU_ERR_NOMEM, "out of memory");
    const char *p = text;
    for (int i = 0; i < n; i++) {
        size_t l = strcspn(p, ",");
        if (l == 0 || l >= AUH_STORE_AU_NAME_MAX)
            return au_error_set(err, AU_ERR_FORMAT, "bad %s list '%s'", what, text);
        memcpy((*dst)[i], p, l);
        (*dst)[i][l] = '\0';
        p += l + (p[l] == ',');
    }
    *n_out = n;
    return AU_OK;
}

/* ---- committing ---- */

static AuStatus insert_metrics(AuhStore *s, int64_t job_id, const AuhMetric *m, size_t n, AuError *err)
{
    sqlite3_stmt *st;
    AuStatus r = prepare(s, "INSERT INTO metrics (job_id, name, value) VALUES (?1, ?2, ?3)", &st, err);
    for (size_t i = 0; i < n && !r; i++) {
        sqlite3_bind_int64(st, 1, job_id);
        sqlite3_bind_text(st, 2, m[i].name, -1, SQLITE_STATIC);
        bind_real_or_null(st, 3, m[i].value);
        int rc = sqlite3_step(st);
        if (rc != SQLITE_DONE)
            r = sfail(s, rc, err, "writing metrics");
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return r;
}

/* Looks up the job's identity: *id = 0 when absent, *ok = status 'ok'. */
static AuStatus find_job(AuhStore *s, int64_t run_id, const char *variant, const char *dataset, const char *item,
                         int64_t *id, int *ok, AuError *err)
{
    *id = 0;
    *ok = 0;
    sqlite3_stmt *st;
    AuStatus r = prepare(s,
                         "SELECT id, status = 'ok' FROM jobs WHERE run_id = ?1 AND variant = ?2 AND dataset = ?3"
                         " AND item = ?4",
                         &st, err);
    if (r)
        return r;
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_text(st, 2, variant, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, dataset, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, item, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        *ok = sqlite3_column_int(st, 1);
    } else if (rc != SQLITE_DONE) {
        r = sfail(s, rc, err, "looking up a job");
    }
    sqlite3_finalize(st);
    return r;
}

static AuStatus delete_job(AuhStore *s, int64_t job_id, AuError *err)
{
    sqlite3_stmt *st;
    AuStatus r = prepare(s, "DELETE FROM jobs WHERE id = ?1", &st, err);
    if (r)
        return r;
    sqlite3_bind_int64(st, 1, job_id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        r = sfail(s, rc, err, "replacing a failed job");
    sqlite3_finalize(st);
    return r;
}

static AuStatus insert_frames(AuhStore *s, int64_t job_id, const AuhJob *job, AuError *err)
{
    size_t nl = 2 * (size_t)job->n_landmarks;
    size_t blob_size = nl * 4;
    if ((size_t)job->n_au_r * 8 > blob_size)
        blob_size = (size_t)job->n_au_r * 8;
    if ((size_t)job->n_au_c * 8 > blob_size)
        blob_size = (size_t)job->n_au_c * 8;
    unsigned char *lmk = malloc(blob_size ? blob_size : 1), *aur = malloc(blob_size ? blob_size : 1),
                  *auc = malloc(blob_size ? blob_size : 1);
    sqlite3_stmt *st = NULL;
    AuStatus r = AU_OK;
    if (!lmk || !aur || !auc)
        r = au_error_set(err, AU_ERR_NOMEM, "out of memory");
    if (!r)
        r = prepare(s,
                    "INSERT INTO frames (job_id, frame, face, name, timestamp, success, confidence, landmarks, au_r,"
                    " au_c, lmk_px, nme) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                    &st, err);
    for (size_t i = 0; i < job->n_frames && !r; i++) {
        const AuhJobFrame *f = &job->frames[i];
        sqlite3_bind_int64(st, 1, job_id);
        sqlite3_bind_int(st, 2, f->frame);
        sqlite3_bind_int(st, 3, f->face);
        bind_text_or_null(st, 4, f->name);
        bind_real_or_null(st, 5, f->timestamp);
        sqlite3_bind_int(st, 6, f->success);
        bind_real_or_null(st, 7, f->confidence);
        if (f->has_landmarks) {
            for (size_t k = 0; k < nl; k++)
                put_f32(lmk + 4 * k, job->landmarks[i * nl + k]);
            sqlite3_bind_blob(st, 8, lmk, (int)(nl * 4), SQLITE_STATIC);
        } else {
            sqlite3_bind_null(st, 8);
        }
        if (f->has_au_r) {
            for (int k = 0; k < job->n_au_r; k++)
                put_f64(aur + 8 * k, job->au_r[i * (size_t)job->n_au_r + (size_t)k]);
            sqlite3_bind_blob(st, 9, aur, job->n_au_r * 8, SQLITE_STATIC);
        } else {
            sqlite3_bind_null(st, 9);
        }
        if (f->has_au_c) {
            for (int k = 0; k < job->n_au_c; k++)
                put_f64(auc + 8 * k, job->au_c[i * (size_t)job->n_au_c + (size_t)k]);
            sqlite3_bind_blob(st, 10, auc, job->n_au_c * 8, SQLITE_STATIC);
        } else {
            sqlite3_bind_null(st, 10);
        }
        bind_real_or_null(st, 11, f->lmk_px);
        bind_real_or_null(st, 12, f->nme);
        int rc = sqlite3_step(st);
        if (rc != SQLITE_DONE) {
            r = sfail(s, rc, err, "writing frames");
            au_error_prefix(err, "frame %d (face %d): ", f->frame, f->face);
        }
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    free(lmk);
    free(aur);
    free(auc);
    return r;
}

static AuStatus insert_job_row(AuhStore *s, int64_t run_id, const AuhJob *job, int64_t *job_id, AuError *err)
{
    char *rn = join_names(job->au_r_names, job->n_au_r), *cn = join_names(job->au_c_names, job->n_au_c);
    sqlite3_stmt *st = NULL;
    AuStatus r = AU_OK;
    if (!rn || !cn)
        r = au_error_set(err, AU_ERR_NOMEM, "out of memory");
    if (!r)
        r = prepare(s,
                    "INSERT INTO jobs (run_id, variant, dataset, item, item_kind, input, labels, host, cpu, status,"
                    " error, started_at, ended_at, wall_ns, n_frames, n_landmarks, au_r_names, au_c_names)"
                    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
                    &st, err);
    if (!r) {
        sqlite3_bind_int64(st, 1, run_id);
        sqlite3_bind_text(st, 2, job->variant, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, job->dataset, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, job->item, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, job->item_kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, job->input, -1, SQLITE_STATIC);
        bind_text_or_null(st, 7, job->labels);
        sqlite3_bind_text(st, 8, job->host, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 9, job->cpu, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 10, job->failed ? "failed" : "ok", -1, SQLITE_STATIC);
        bind_text_or_null(st, 11, job->error);
        sqlite3_bind_double(st, 12, job->started_at);
        sqlite3_bind_double(st, 13, job->ended_at);
        sqlite3_bind_int64(st, 14, job->wall_ns);
        sqlite3_bind_int64(st, 15, (sqlite3_int64)job->n_frames);
        sqlite3_bind_int(st, 16, job->n_landmarks);
        sqlite3_bind_text(st, 17, rn, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 18, cn, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc != SQLITE_DONE)
            r = sfail(s, rc, err, "writing the job");
        else
            *job_id = sqlite3_last_insert_rowid(s->db);
    }
    sqlite3_finalize(st);
    free(rn);
    free(cn);
    return r;
}

AuStatus auh_store_commit_job(AuhStore *s, int64_t run_id, AuhJob *job, AuError *err)
{
    AuStatus r = run_sql(s, "BEGIN IMMEDIATE", err);
    if (r)
        return r;
    int64_t old_id, job_id = 0;
    int old_ok;
    sqlite3_stmt *st = NULL;
    if ((r = find_job(s, run_id, job->variant, job->dataset, job->item, &old_id, &old_ok, err)))
        goto fail;
    if (old_id && old_ok) {
        r = au_error_set(err, AU_ERR_ARG, "%s: run %lld already has job %s / %s / %s", s->path, (long long)run_id,
                         job->variant, job->dataset, job->item);
        goto fail;
    }
    if (old_id && (r = delete_job(s, old_id, err)))
        goto fail;
    if ((r = insert_job_row(s, run_id, job, &job_id, err)) || (r = insert_frames(s, job_id, job, err)))
        goto fail;
    if ((r = prepare(s, "INSERT INTO timings (job_id, stage, calls, total_ns) VALUES (?1, ?2, ?3, ?4)", &st, err)))
        goto fail;
    for (size_t i = 0; i < job->n_timings; i++) {
        sqlite3_bind_int64(st, 1, job_id);
        sqlite3_bind_text(st, 2, job->timings[i].stage, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, job->timings[i].calls);
        sqlite3_bind_int64(st, 4, job->timings[i].total_ns);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
            r = sfail(s, rc, err, "writing timings");
            goto fail;
        }
    }
    sqlite3_finalize(st);
    st = NULL;
    if ((r = insert_metrics(s, job_id, job->metrics, job->n_metrics, err)))
        goto fail;
    if (s->before_commit)
        s->before_commit(s->before_commit_ctx);
    if ((r = run_sql(s, "COMMIT", err)))
        goto fail;
    job->id = job_id;
    job->run_id = run_id;
    return AU_OK;
fail:
    sqlite3_finalize(st);
    rollback(s->db);
    return r;
}

AuStatus auh_store_job_done(AuhStore *s, int64_t run_id, const char *variant, const char *dataset,
                            const char *item, int *done, AuError *err)
{
    int64_t id;
    int ok;
    AuStatus r = find_job(s, run_id, variant, dataset, item, &id, &ok, err);
    *done = !r && id && ok;
    return r;
}

AuStatus auh_store_list_jobs(AuhStore *s, int64_t run_id, int (*fn)(const AuhJobRow *row, void *ctx), void *ctx,
                             AuError *err)
{
    sqlite3_stmt *st;
    AuStatus r = prepare(s,
                         "SELECT id, run_id, variant, dataset, item, item_kind, status, started_at, ended_at,"
                         " wall_ns, n_frames FROM jobs WHERE ?1 = 0 OR run_id = ?1 ORDER BY id",
                         &st, err);
    if (r)
        return r;
    sqlite3_bind_int64(st, 1, run_id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        AuhJobRow row = {
            sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1), col_text(st, 2), col_text(st, 3),
            col_text(st, 4), col_text(st, 5), col_text(st, 6), sqlite3_column_double(st, 7),
            sqlite3_column_double(st, 8), sqlite3_column_int64(st, 9), sqlite3_column_int64(st, 10),
        };
        if (fn(&row, ctx)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    if (rc != SQLITE_DONE)
        r = sfail(s, rc, err, "listing jobs");
    sqlite3_finalize(st);
    return r;
}

/* ---- loading ---- */

static AuStatus load_job_row(AuhStore *s, int64_t job_id, AuhJob *job, AuError *err)
{
    sqlite3_stmt *st;
    AuStatus r = prepare(s,
                         "SELECT run_id, variant, dataset, item, item_kind, input, labels, host, cpu, status, error,"
                         " started_at, ended_at, wall_ns, n_landmarks, au_r_names, au_c_names FROM jobs WHERE id = ?1",
                         &st, err);
    if (r)
        return r;
    sqlite3_bind_int64(st, 1, job_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        sqlite3_finalize(st);
        return au_error_set(err, AU_ERR_ARG, "%s: no job with id %lld", s->path, (long long)job_id);
    }
    if (rc != SQLITE_ROW) {
        r = sfail(s, rc, err, "reading a job");
        sqlite3_finalize(st);
        return r;
    }
    job->id = job_id;
    job->run_id = sqlite3_column_int64(st, 0);
    job->variant = dup_str(col_text(st, 1));
    job->dataset = dup_str(col_text(st, 2));
    job->item = dup_str(col_text(st, 3));
    job->item_kind = dup_str(col_text(st, 4));
    job->input = dup_str(col_text(st, 5));
    int has_labels = sqlite3_column_type(st, 6) != SQLITE_NULL;
    job->labels = has_labels ? dup_str(col_text(st, 6)) : NULL;
    job->host = dup_str(col_text(st, 7));
    job->cpu = dup_str(col_text(st, 8));
    job->failed = strcmp(col_text(st, 9), "ok") != 0;
    int has_error = sqlite3_column_type(st, 10) != SQLITE_NULL;
    job->error = has_error ? dup_str(col_text(st, 10)) : NULL;
    job->started_at = sqlite3_column_double(st, 11);
    job->ended_at = sqlite3_column_double(st, 12);
    job->wall_ns = sqlite3_column_int64(st, 13);
    job->n_landmarks = sqlite3_column_int(st, 14);
    if (!job->variant || !job->dataset || !job->item || !job->item_kind || !job->input || !job->host || !job->cpu ||
        (has_labels && !job->labels) || (has_error && !job->error))
        r = au_error_set(err, AU_ERR_NOMEM, "out of memory");
    if (!r)
        r = split_names(col_text(st, 15), 0, &job->au_r_names, &job->n_au_r, "au_r_names", err);
    if (!r)
        r = split_names(col_text(st, 16), 0, &job->au_c_names, &job->n_au_c, "au_c_names", err);
    if (!r && (job->n_landmarks < 0 || job->n_landmarks > 100000))
        r = au_error_set(err, AU_ERR_FORMAT, "%s: job %lld: n_landmarks %d", s->path, (long long)job_id,
                         job->n_landmarks);
    sqlite3_finalize(st);
    return r;
}

static AuStatus blob_size_error(AuhStore *s, int64_t job_id, int frame, const char *what, int got, size_t want,
                                AuError *err)
{
    return au_error_set(err, AU_ERR_FORMAT, "%s: job %lld frame %d: %s blob has %d bytes, expected %zu", s->path,
                        (long long)job_id, frame, what, got, want);
}

static AuStatus load_frames(AuhStore *s, int64_t job_id, AuhJob *job, AuError *err)
{
    sqlite3_stmt *st;
    AuStatus r = prepare(s,
                         "SELECT frame, face, name, timestamp, success, confidence, landmarks, au_r, au_c, lmk_px, nme"
                         " FROM frames WHERE job_id = ?1 ORDER BY frame, face",
                         &st, err);
    if (r)
        return r;
    sqlite3_bind_int64(st, 1, job_id);
    size_t nl = 2 * (size_t)job->n_landmarks;
    int rc = SQLITE_DONE;
    while (!r && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if ((r = grow_frames(job, job->n_frames + 1, err)))
            break;
        size_t i = job->n_frames;
        AuhJobFrame *f = &job->frames[i];
        memset(f, 0, sizeof(*f));
        job->n_frames++;
        f->frame = sqlite3_column_int(st, 0);
        f->face = sqlite3_column_int(st, 1);
        if (sqlite3_column_type(st, 2) != SQLITE_NULL && !(f->name = dup_str(col_text(st, 2)))) {
            r = au_error_set(err, AU_ERR_NOMEM, "out of memory");
            break;
        }
        f->timestamp = column_real_or_nan(st, 3);
        f->success = sqlite3_column_int(st, 4);
        f->confidence = column_real_or_nan(st, 5);
        f->lmk_px = column_real_or_nan(st, 9);
        f->nme = column_real_or_nan(st, 10);
        if (sqlite3_column_type(st, 6) != SQLITE_NULL) {
            const unsigned char *b = sqlite3_column_blob(st, 6);
            int n = sqlite3_column_bytes(st, 6);
            if ((size_t)n != nl * 4 || nl == 0) {
                r = blob_size_error(s, job_id, f->frame, "landmarks", n, nl * 4, err);
                break;
            }
            for (size_t k = 0; k < nl; k++)
                job->landmarks[i * nl + k] = get_f32(b + 4 * k);
            f->has_landmarks = 1;
        }
        if (sqlite3_column_type(st, 7) != SQLITE_NULL) {
            const unsigned char *b = sqlite3_column_blob(st, 7);
            int n = sqlite3_column_bytes(st, 7);
            if (n != job->n_au_r * 8 || n == 0) {
                r = blob_size_error(s, job_id, f->frame, "au_r", n, (size_t)job->n_au_r * 8, err);
                break;
            }
            for (int k = 0; k < job->n_au_r; k++)
                job->au_r[i * (size_t)job->n_au_r + (size_t)k] = get_f64(b + 8 * k);
            f->has_au_r = 1;
        }
        if (sqlite3_column_type(st, 8) != SQLITE_NULL) {
            const unsigned char *b = sqlite3_column_blob(st, 8);
            int n = sqlite3_column_bytes(st, 8);
            if (n != job->n_au_c * 8 || n == 0) {
                r = blob_size_error(s, job_id, f->frame, "au_c", n, (size_t)job->n_au_c * 8, err);
                break;
            }
            for (int k = 0; k < job->n_au_c; k++)
                job->au_c[i * (size_t)job->n_au_c + (size_t)k] = get_f64(b + 8 * k);
            f->has_au_c = 1;
        }
    }
    if (!r && rc != SQLITE_DONE)
        r = sfail(s, rc, err, "reading frames");
    sqlite3_finalize(st);
    return r;
}

static AuStatus load_timings_metrics(AuhStore *s, int64_t job_id, AuhJob *job, AuError *err)
{
    sqlite3_stmt *st;
    AuStatus r = prepare(s, "SELECT stage, calls, total_ns FROM timings WHERE job_id = ?1 ORDER BY stage", &st, err);
    if (r)
        return r;
    sqlite3_bind_int64(st, 1, job_id);
    int rc = SQLITE_DONE;
    while (!r && (rc = sqlite3_step(st)) == SQLITE_ROW)
        r = auh_job_add_timing(job, col_text(st, 0), sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2), err);
    if (!r && rc != SQLITE_DONE)
        r = sfail(s, rc, err, "reading timings");
    sqlite3_finalize(st);
    if (r)
        return r;
    if ((r = prepare(s, "SELECT name, value FROM metrics WHERE job_id = ?1 ORDER BY name", &st, err)))
        return r;
    sqlite3_bind_int64(st, 1, job_id);
    while (!r && (rc = sqlite3_step(st)) == SQLITE_ROW)
        r = auh_job_set_metric(job, col_text(st, 0), column_real_or_nan(st, 1), err);
    if (!r && rc != SQLITE_DONE)
        r = sfail(s, rc, err, "reading metrics");
    sqlite3_finalize(st);
    return r;
}

AuStatus auh_store_load_job(AuhStore *s, int64_t job_id, AuhJob *job, AuError *err)
{
    memset(job, 0, sizeof(*job));
    /* One read transaction: a consistent snapshot even while others write. */
    AuStatus r = run_sql(s, "BEGIN", err);
    if (r)
        return r;
    if (!(r = load_job_row(s, job_id, job, err)) && !(r = load_frames(s, job_id, job, err)))
        r = load_timings_metrics(s, job_id, job, err);
    rollback(s->db);
    if (r)
        auh_job_free(job);
    return r;
}

AuStatus auh_store_put_metrics(AuhStore *s, int64_t job_id, const AuhMetric *metrics, size_t n, AuError *err)
{
    AuStatus r = run_sql(s, "BEGIN IMMEDIATE", err);
    if (r)
        return r;
    sqlite3_stmt *st;
    if ((r = prepare(s, "DELETE FROM metrics WHERE job_id = ?1", &st, err)))
        goto fail;
    sqlite3_bind_int64(st, 1, job_id);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        r = sfail(s, rc, err, "replacing metrics");
        goto fail;
    }
    if ((r = insert_metrics(s, job_id, metrics, n, err)) || (r = run_sql(s, "COMMIT", err)))
        goto fail;
    return AU_OK;
fail:
    rollback(s->db);
    return r;
}

/* ---- merge ---- */

/* Runs an INSERT ... SELECT that copies the rows of one source job. */
static AuStatus copy_rows(AuhStore *s, const char *sql, int64_t dst_job, int64_t src_job, int64_t *n, AuError *err)
{
    sqlite3_stmt *st;
    AuStatus r = prepare(s, sql, &st, err);
    if (r)
        return r;
    sqlite3_bind_int64(st, 1, dst_job);
    sqlite3_bind_int64(st, 2, src_job);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        r = sfail(s, rc, err, "merging rows");
    else if (n)
        *n += sqlite3_changes(s->db);
    sqlite3_finalize(st);
    return r;
}

static AuStatus merge_job(AuhStore *s, int64_t dst_run, int64_t src_job, AuhMergeStats *stats, AuError *err)
{
    sqlite3_stmt *st;
    AuStatus r = prepare(s, "SELECT variant, dataset, item, status = 'ok' FROM src.jobs WHERE id = ?1", &st, err);
    if (r)
        return r;
    sqlite3_bind_int64(st, 1, src_job);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        r = sfail(s, rc, err, "reading a source job");
        sqlite3_finalize(st);
        return r;
    }
    int64_t old_id;
    int old_ok, src_ok = sqlite3_column_int(st, 3);
    r = find_job(s, dst_run, col_text(st, 0), col_text(st, 1), col_text(st, 2), &old_id, &old_ok, err);
    sqlite3_finalize(st);
    if (r)
        return r;
    /* Keep what is there unless the source has a success where we have a failure. */
    if (old_id && (old_ok || !src_ok)) {
        stats->jobs_skipped++;
        return AU_OK;
    }
    if (old_id && (r = delete_job(s, old_id, err)))
        return r;
    if ((r = prepare(s,
                     "INSERT INTO main.jobs (run_id, variant, dataset, item, item_kind, input, labels, host, cpu,"
                     " status, error, started_at, ended_at, wall_ns, n_frames, n_landmarks, au_r_names, au_c_names)"
                     " SELECT ?1, variant, dataset, item, item_kind, input, labels, host, cpu, status, error,"
                     " started_at, ended_at, wall_ns, n_frames, n_landmarks, au_r_names, au_c_names"
                     " FROM src.jobs WHERE id = ?2",
                     &st, err)))
        return r;
    sqlite3_bind_int64(st, 1, dst_run);
    sqlite3_bind_int64(st, 2, src_job);
    rc = sqlite3_step(st);
    int64_t dst_job = sqlite3_last_insert_rowid(s->db);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return sfail(s, rc, err, "merging a job");
    stats->jobs_added++;
    if ((r = copy_rows(s,
                       "INSERT INTO main.frames (job_id, frame, face, name, timestamp, success, confidence,"
                       " landmarks, au_r, au_c, lmk_px, nme) SELECT ?1, frame, face, name, timestamp, success,"
                       " confidence, landmarks, au_r, au_c, lmk_px, nme FROM src.frames WHERE job_id = ?2",
                       dst_job, src_job, &stats->frames_added, err)))
        return r;
    if ((r = copy_rows(s,
                       "INSERT INTO main.timings (job_id, stage, calls, total_ns)"
                       " SELECT ?1, stage, calls, total_ns FROM src.timings WHERE job_id = ?2",
                       dst_job, src_job, NULL, err)))
        return r;
    return copy_rows(s,
                     "INSERT INTO main.metrics (job_id, name, value) SELECT ?1, name, value FROM src.metrics"
                     " WHERE job_id = ?2",
                     dst_job, src_job, NULL, err);
}

/* Maps one source run onto the destination (joining a run of the same key). */
static AuStatus merge_run(AuhStore *s, int64_t src_run, int64_t *dst_run, AuhMergeStats *stats, AuError *err)
{
    sqlite3_stmt *st;
    AuStatus r = prepare(s,
                         "SELECT d.id FROM main.runs d JOIN src.runs x ON x.run_key = d.run_key WHERE x.id = ?1",
                         &st, err);
    if (r)
        return r;
    sqlite3_bind_int64(st, 1, src_run);
    int rc = sqlite3_step(st);
    *dst_run = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return sfail(s, rc, err, "matching runs");
    if (*dst_run) {
        /* Shards of one run: it started with the first and ended with the last
         * (unfinished if any part is). */
        r = prepare(s,
                    "UPDATE main.runs SET started_at = min(started_at, (SELECT started_at FROM src.runs WHERE id = ?2)),"
                    " ended_at = CASE WHEN ended_at IS NULL OR (SELECT ended_at FROM src.runs WHERE id = ?2) IS NULL"
                    " THEN NULL ELSE max(ended_at, (SELECT ended_at FROM src.runs WHERE id = ?2)) END WHERE id = ?1",
                    &st, err);
        if (r)
            return r;
        sqlite3_bind_int64(st, 1, *dst_run);
        sqlite3_bind_int64(st, 2, src_run);
        stats->runs_joined++;
    } else {
        r = prepare(s,
                    "INSERT INTO main.runs (run_key, git_revision, compiler, flags, cpu, host, command, started_at,"
                    " ended_at) SELECT run_key, git_revision, compiler, flags, cpu, host, command, started_at,"
                    " ended_at FROM src.runs WHERE id = ?1",
                    &st, err);
        if (r)
            return r;
        sqlite3_bind_int64(st, 1, src_run);
        stats->runs_added++;
    }
    rc = sqlite3_step(st);
    if (!*dst_run)
        *dst_run = sqlite3_last_insert_rowid(s->db);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return sfail(s, rc, err, "merging a run");
    return AU_OK;
}

/* Every id of a query (one int64 column) into a malloc'ed array. */
static AuStatus collect_ids(AuhStore *s, const char *sql, int64_t bind, int64_t **ids, size_t *n, AuError *err)
{
    *ids = NULL;
    *n = 0;
    sqlite3_stmt *st;
    AuStatus r = prepare(s, sql, &st, err);
    if (r)
        return r;
    if (bind)
        sqlite3_bind_int64(st, 1, bind);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            int64_t *p = realloc(*ids, cap * sizeof(*p));
            if (!p) {
                r = au_error_set(err, AU_ERR_NOMEM, "out of memory");
                break;
            }
            *ids = p;
        }
        (*ids)[(*n)++] = sqlite3_column_int64(st, 0);
    }
    if (!r && rc != SQLITE_DONE)
        r = sfail(s, rc, err, "listing ids");
    sqlite3_finalize(st);
    if (r) {
        free(*ids);
        *ids = NULL;
        *n = 0;
    }
    return r;
}

AuStatus auh_store_merge(AuhStore *s, const char *src_path, AuhMergeStats *stats_out, AuError *err)
{
    AuhMergeStats stats = {0};
    if (stats_out)
        *stats_out = stats;
    /* Same file? Merging a database into itself would double nothing (jobs
     * are skipped) but the ATTACH would fight over locks. */
    char *a = realpath(s->path, NULL), *b = realpath(src_path, NULL);
    int same = a && b && !strcmp(a, b);
    int src_missing = !b;
    free(a);
    free(b);
    if (src_missing)
        return au_error_set(err, AU_ERR_IO, "%s: cannot merge: no such file", src_path);
    if (same)
        return au_error_set(err, AU_ERR_ARG, "%s: cannot merge a database into itself", src_path);
    /* Validates the source (SQLite? ours? not newer?) and migrates it if older. */
    AuhStore src;
    AuStatus r = auh_store_open(&src, src_path, err);
    if (r)
        return au_error_prefix(err, "cannot merge: ");
    auh_store_close(&src);

    sqlite3_stmt *st;
    if ((r = prepare(s, "ATTACH DATABASE ?1 AS src", &st, err)))
        return r;
    sqlite3_bind_text(st, 1, src_path, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return sfail(s, rc, err, "attaching the source database");

    int64_t *runs = NULL, *jobs = NULL;
    size_t n_runs = 0, n_jobs = 0;
    if ((r = run_sql(s, "BEGIN IMMEDIATE", err)))
        goto done;
    if ((r = collect_ids(s, "SELECT id FROM src.runs ORDER BY started_at, id", 0, &runs, &n_runs, err)))
        goto done;
    for (size_t i = 0; i < n_runs && !r; i++) {
        int64_t dst_run;
        if ((r = merge_run(s, runs[i], &dst_run, &stats, err)))
            break;
        free(jobs);
        if ((r = collect_ids(s, "SELECT id FROM src.jobs WHERE run_id = ?1 ORDER BY id", runs[i], &jobs, &n_jobs,
                             err)))
            break;
        for (size_t j = 0; j < n_jobs && !r; j++)
            r = merge_job(s, dst_run, jobs[j], &stats, err);
    }
    if (!r)
        r = run_sql(s, "COMMIT", err);
done:
    if (r) {
        rollback(s->db);
        au_error_prefix(err, "merging %s: ", src_path);
    }
    free(runs);
    free(jobs);
    /* DETACH needs no transaction open; a failure here loses nothing. */
    if (prepare(s, "DETACH DATABASE src", &st, NULL) == AU_OK) {
        sqlite3_step(st);
        sqlite3_finalize(st);
    }
    if (!r && stats_out)
        *stats_out = stats;
    return r;
}
